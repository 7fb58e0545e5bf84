"""The oracle base our strategies share (strategy only: no Keras here)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np
from keras_tuner.engine import trial as kt_trial

from keras_hpo.compat import remember_values
from keras_hpo.compat import set_seed_state
from keras_hpo.errors import SearchSpaceError
from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value
from keras_hpo.oracles.persistence import AtomicState
from keras_hpo.oracles.space import HyperGrid
from keras_hpo.oracles.space import active_values
from keras_hpo.oracles.space import values_key
from keras_hpo.oracles.tried import TriedConfigurations

__all__ = [
    "SearchOracle",
    "SeedThirdOracle",
    "check_count",
    "check_max_trials",
    "check_seed",
    "stop_reason",
]

#: Random proposals tried before a finite space is searched exhaustively.
_MAX_RANDOM_ATTEMPTS = 64


def stop_reason(oracle: Any) -> str:
    """Why an oracle (any keras-tuner oracle) answered that the search stops."""
    max_trials = oracle.max_trials
    if max_trials and len(oracle.trials) >= max_trials:
        if len(oracle.trials) > max_trials:  # resumed with a smaller budget
            return (
                f"max_trials: {max_trials} reached ({len(oracle.trials)} trials "
                "in the project)"
            )
        return f"max_trials: {max_trials} trials run"
    return "the search space is exhausted"


def check_seed(seed: Any) -> int:
    """Validates a seed; ``None`` draws one at random. ``0`` is a seed."""
    if seed is None:
        return random.SystemRandom().randint(1, 2**31 - 1)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise bad_type("seed", seed, "an int or None", "E.g. seed=42.")
    if seed < 0:
        raise bad_value("seed", seed, "must be non-negative", "E.g. seed=0.")
    return int(seed)


def check_count(argument: str, value: Any, minimum: int, example: int) -> int:
    """Validates a count argument: an int of at least ``minimum``.

    Args:
        argument: The argument's name, for the message.
        value: What was passed.
        minimum: The smallest value allowed.
        example: A good value, for the message's fix.

    Raises:
        TypeError: ``value`` is not an int (``bool`` included).
        ValueError: ``value`` is below ``minimum``.
    """
    fix = f"E.g. {argument}={example}."
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise bad_type(argument, value, "an int", fix)
    if value < minimum:
        raise bad_value(argument, value, f"must be at least {minimum}", fix)
    return int(value)


def check_max_trials(max_trials: Any, argument: str = "max_trials") -> int | None:
    """Validates ``max_trials``: a positive int, or ``None`` for no limit."""
    if max_trials is None:
        return None
    fix = f"E.g. {argument}=20."
    if isinstance(max_trials, bool) or not isinstance(max_trials, (int, np.integer)):
        raise bad_type(argument, max_trials, "an int or None", fix)
    if max_trials < 1:
        raise bad_value(argument, max_trials, "must be at least 1", fix)
    return int(max_trials)


class SearchOracle(AtomicState):
    """A keras-tuner ``Oracle`` with the guarantees our strategies share.

    * ``seed`` is honoured exactly (``seed=0`` is a seed; ``None`` draws one).
    * A configuration is never proposed twice: every proposal, running or
      finished (whatever its status), is remembered by its active values in
      the search space (`values_key`), and the memory is saved with the
      oracle's state.
    * Hyperparameters a trial declares while it runs (in ``run_trial`` or
      ``HyperModel.fit``, or a build's new branch) join its record when it
      ends. A hyperparameter that a trial neither had nor declared does not
      matter to it: every configuration that agrees with the trial on the
      names it knew runs the same code, so it counts as tried (`is_new`).
      The first trial of a space declared in ``run_trial`` is not run again
      with the defaults it chose, and a grid does not multiply a branch by
      the values of hyperparameters that only another branch declares.
    * A finite space is detected and the search stops when it is exhausted.
      Running trials may still declare hyperparameters: an oracle that
      `wait_for_running` (the grid) answers IDLE ("ask again") until none
      is running, as keras-tuner's grid does.
    * Concurrent workers see each other's pending trials in
      `pending_values`.

    Subclasses implement `propose`, which returns the next configuration or
    ``None`` when the strategy has nothing left to try.

    Args:
        objective: As for ``keras_tuner.Oracle``.
        max_trials: Maximum number of trials, ``None`` for no limit.
        hyperparameters: Optional ``keras_tuner.HyperParameters`` that
            declare (or override) the search space.
        allow_new_entries: As for ``keras_tuner.Oracle``.
        tune_new_entries: As for ``keras_tuner.Oracle``.
        seed: Random seed; ``None`` draws one at random.
        max_retries_per_trial: As for ``keras_tuner.Oracle``.
        max_consecutive_failed_trials: As for ``keras_tuner.Oracle``.
    """

    #: Whether proposals depend on the results so far (``False``: a search
    #: may draw many trials ahead, as fused trials do).
    adaptive = True

    def __init__(
        self,
        objective=None,
        max_trials: int | None = None,
        hyperparameters=None,
        allow_new_entries: bool = True,
        tune_new_entries: bool = True,
        seed: int | None = None,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
    ):
        seed = check_seed(seed)
        super().__init__(
            objective=objective,
            max_trials=check_max_trials(max_trials),
            hyperparameters=hyperparameters,
            allow_new_entries=allow_new_entries,
            tune_new_entries=tune_new_entries,
            seed=seed,
            max_retries_per_trial=check_count(
                "max_retries_per_trial", max_retries_per_trial, 0, 1
            ),
            max_consecutive_failed_trials=check_count(
                "max_consecutive_failed_trials", max_consecutive_failed_trials, 1, 3
            ),
        )
        # keras-tuner treats a falsy seed as "no seed"; we do not.
        self.seed = seed
        set_seed_state(self, seed)
        #: trial_id -> the values proposed for it, in proposal order.
        self.proposed: dict[str, dict[str, Any]] = {}
        self._grid_cache: tuple[str, HyperGrid | None] | None = None
        self._tried = TriedConfigurations(self.key)

    # -- what subclasses implement -------------------------------------------
    def propose(self, trial_id: str) -> dict[str, Any] | None:
        """Returns the values for a new trial, or ``None`` to stop.

        Args:
            trial_id: The new trial's ID.

        Returns:
            The active hyperparameter values, not yet tried.
        """
        raise NotImplementedError

    # -- keras-tuner's hook ----------------------------------------------------
    def populate_space(self, trial_id: str) -> dict[str, Any]:
        """Asks `propose` for values and records them (keras-tuner's hook)."""
        values = self.propose(trial_id)
        if values is None:
            # A running trial may still declare hyperparameters, and so open
            # configurations: an oracle that waits for them says "ask again"
            # (keras-tuner's grid does; its random and Bayesian stop).
            status = (
                kt_trial.TrialStatus.IDLE
                if self.wait_for_running and self.ongoing_trials
                else kt_trial.TrialStatus.STOPPED
            )
            return {"status": status, "values": None}
        if not self.is_new(values):
            raise RuntimeError(  # pragma: no cover - a strategy bug
                f"{type(self).__name__} proposed a configuration twice: {values}"
            )
        self.proposed[trial_id] = dict(values)
        self._tried.changed(trial_id)
        return {"status": kt_trial.TrialStatus.RUNNING, "values": values}

    def _record_values(self, trial: kt_trial.Trial) -> None:
        # keras-tuner's version first calls `ensure_active_values()`, which
        # drops a value whenever *another* entry of the same name is inactive
        # (the same knob in another sub-grid of a list of `param_grid`s), and
        # fills missing values with unseeded random draws. Our proposals hold
        # every active value already, so they are recorded as they are.
        remember_values(self, trial)
        # At the trial's end (keras-tuner calls this again then): the values
        # it declared while running join its record, which is what makes the
        # configurations it covers tried (see `is_new`).
        record = self.proposed.get(trial.trial_id)
        if record is not None:
            self.proposed[trial.trial_id] = {**record, **trial.hyperparameters.values}
            self._tried.changed(trial.trial_id)  # and it may be ending now

    # -- helpers for strategies ------------------------------------------------
    @property
    def num_proposed(self) -> int:
        """How many configurations this oracle has handed out."""
        return len(self.proposed)

    def key(self, values: dict[str, Any]) -> str:
        """The identity of a configuration in the current space."""
        return values_key(self.hyperparameters, values)

    def _signature(self) -> str:
        return repr(self.hyperparameters.get_config())

    #: Whether a running trial's record covers the configurations that only
    #: add hyperparameters to it (`is_new`). A grid waits to learn what the
    #: running trial declares rather than risk running it twice (keras-tuner's
    #: grid does); sampling strategies match a running trial exactly and do
    #: not keep workers waiting.
    wait_for_running = False

    def _update_tried(self) -> None:
        ended = self.end_order
        self._tried.update(
            self._signature(),
            self.proposed,
            lambda trial_id: self.wait_for_running or trial_id in ended,
        )

    def is_new(self, values: dict[str, Any]) -> bool:
        """Whether a configuration was never tried, nor is running.

        It was tried when an ended trial's record agrees with it on every
        name the record holds: a hyperparameter that trial neither had nor
        declared is one its code never reached, so this configuration runs
        the same code. A running trial's record is matched exactly, or as an
        ended one's when `wait_for_running` (see `keras_hpo.oracles.tried`).
        """
        return self.newness()(values)

    def newness(self) -> Callable[[dict[str, Any]], bool]:
        """`is_new` for many configurations in a row: the records as they are now.

        Brings the keys up to date once, so a strategy can test a whole grid
        or a batch of candidates for the price of their keys.
        """
        self._update_tried()
        tried = self._tried
        return lambda values: not tried.is_tried(values)

    def rng(self, *stream: int) -> np.random.Generator:
        """A generator determined by the seed and ``stream`` alone."""
        return np.random.default_rng([self.seed, *stream])

    def grid(self) -> HyperGrid | None:
        """All configurations of the space, or ``None`` if it is not finite.

        Recomputed only when the space changes.
        """
        signature = self._signature()
        if self._grid_cache is None or self._grid_cache[0] != signature:
            try:
                grid = HyperGrid(self.hyperparameters)
            except SearchSpaceError:
                grid = None
            self._grid_cache = (signature, grid)
        return self._grid_cache[1]

    def untried(self) -> list[dict[str, Any]] | None:
        """The configurations not yet proposed, for a finite space; else None."""
        grid = self.grid()
        if grid is None:
            return None
        is_new = self.newness()
        return [values for values in grid if is_new(values)]

    def random_new(self, sample, stream: int) -> dict[str, Any] | None:
        """Draws new configurations with ``sample(rng)`` until one is new.

        Falls back to a uniform pick among the untried configurations of a
        finite space, and returns ``None`` once that space is exhausted.

        Args:
            sample: A function of a ``numpy.random.Generator`` returning values.
            stream: Distinguishes this draw's random stream.

        Returns:
            New values, or ``None`` if the space is exhausted.
        """
        rng = self.rng(stream)
        is_new = self.newness()
        for _ in range(_MAX_RANDOM_ATTEMPTS):
            values = sample(rng)
            if is_new(values):
                return values
        remaining = self.untried()
        if remaining is None:
            return None  # a continuous space that keeps colliding: give up
        if not remaining:
            return None
        return remaining[int(rng.integers(len(remaining)))]

    def pending_values(self, exclude: str | None = None) -> list[dict[str, Any]]:
        """Values of the trials still running, other than ``exclude``."""
        return [
            active_values(self.hyperparameters, trial.hyperparameters.values)
            for trial in self.ongoing_trials.values()
            if trial.trial_id != exclude
        ]

    def completed_trials(self) -> list[kt_trial.Trial]:
        """Finished trials with a finite score, in the order they ended.

        Trials put into ``oracle.trials`` from outside (keras-tuner's tests
        and tools do, to seed a model) never went through ``end_trial``:
        they count too, after the others, in the order they were put there.
        """
        ended = set(self.end_order)
        trials = [self.trials[trial_id] for trial_id in self.end_order]
        trials += [t for tid, t in self.trials.items() if tid not in ended]
        return [
            t
            for t in trials
            if t.status == kt_trial.TrialStatus.COMPLETED
            and t.score is not None
            and np.isfinite(t.score)
        ]

    # -- state -------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """The oracle's state, our strategy memory included.

        ``proposed`` lists the IDs of the trials this strategy proposed, in
        order; their values are each trial's own (in its ``trial.json``), so
        ``oracle.json``, rewritten at each trial, does not grow with a copy
        of every configuration.
        """
        state = super().get_state()
        state["proposed"] = list(self.proposed)
        state["strategy"] = type(self).__name__
        return state

    def adopt(self, trial: kt_trial.Trial) -> None:
        """Remembers the values of a trial found on disk but not in the state."""
        self.proposed.setdefault(trial.trial_id, dict(trial.hyperparameters.values))
        self._tried.changed(trial.trial_id)

    def set_state(self, state: dict[str, Any]) -> None:
        """Restores `get_state`'s output, with the trials already in `trials`.

        As keras-tuner's, it expects the trials read first (``reload`` does):
        a proposed trial's values are its own. A state that holds the values
        themselves (saved by earlier versions of keras_hpo) is read as is.
        """
        super().set_state(state)
        self.seed = state["seed"]
        proposed = state.get("proposed", {})
        if isinstance(proposed, dict):
            self.proposed = {k: dict(v) for k, v in proposed.items()}
        else:
            # A trial not in `trials` has no values to recall: its record
            # covers only the empty configuration, and it still counts.
            self.proposed = {
                trial_id: dict(self.trials[trial_id].hyperparameters.values)
                if trial_id in self.trials
                else {}
                for trial_id in proposed
            }
        self._tried.forget()


class SeedThirdOracle(SearchOracle):
    """A `SearchOracle` whose arguments bind in keras-tuner's order, seed third.

    keras-tuner's ``RandomSearchOracle`` and ``GridSearchOracle`` take
    ``(objective, max_trials, seed, hyperparameters, ...)``, while its base
    ``Oracle`` (and `SearchOracle`) puts ``hyperparameters`` third: code
    written for keras-tuner's classes passes ``seed`` by position, so ours
    take it there too.
    """

    def __init__(
        self,
        objective=None,
        max_trials: int | None = None,
        seed: int | None = None,
        hyperparameters=None,
        allow_new_entries: bool = True,
        tune_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
    ):
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            hyperparameters=hyperparameters,
            allow_new_entries=allow_new_entries,
            tune_new_entries=tune_new_entries,
            seed=seed,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
        )
