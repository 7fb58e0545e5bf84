"""Bayesian optimisation: a Gaussian process and expected improvement."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from keras_tuner.engine import hyperparameters as kt_hp
from keras_tuner.engine import trial as kt_trial
from scipy import optimize
from scipy.stats import qmc
from threadpoolctl import ThreadpoolController

from keras_hpo.errors import bad_value
from keras_hpo.oracles.acquisition import confidence_bound_gradient
from keras_hpo.oracles.acquisition import log_expected_improvement
from keras_hpo.oracles.acquisition import log_expected_improvement_gradient
from keras_hpo.oracles.base import SearchOracle
from keras_hpo.oracles.base import check_count
from keras_hpo.oracles.gp import GaussianProcess
from keras_hpo.oracles.gp import condition_gp
from keras_hpo.oracles.gp import default_theta
from keras_hpo.oracles.gp import fit_gp
from keras_hpo.oracles.local_search import climb
from keras_hpo.oracles.space import UnitCube
from keras_hpo.oracles.warping import power_transform

__all__ = ["BayesianOracle"]

#: Fits with up to this many observations also start from the priors' modes.
_FRESH_FITS = 20
#: After that, every this many observations.
_FRESH_EVERY = 5
#: Best candidates whose continuous coordinates are refined by L-BFGS-B ...
_REFINE_STARTS = 5
#: ... for at most this many steps each.
_REFINE_STEPS = 50


_CONTROLLER: list[ThreadpoolController] = []


def _one_thread():
    """A context that limits BLAS to one thread (the controller is built once)."""
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1)


def _continuous_columns(cube: UnitCube) -> np.ndarray:
    """Which columns of the cube hold an unconditional, unstepped Float."""
    free = []
    for hp in cube.space:
        width = UnitCube._width(hp)
        continuous = (
            isinstance(hp, kt_hp.Float) and hp.step is None and not hp.conditions
        )
        free.extend([continuous] * width)
    return np.array(free, dtype=bool)


class BayesianOracle(SearchOracle):
    """Gaussian-process Bayesian optimisation on a unit-cube encoding.

    How a suggestion is made:

    1. The first ``num_initial_points`` configurations come from a scrambled
       Sobol sequence (a quasi-random design that covers the cube evenly).
    2. Then a Gaussian process (`keras_hpo.oracles.gp`: Matern 5/2 kernel with
       one length scale per dimension, a signal variance and a noise term,
       fitted by maximum marginal likelihood under weak log-normal priors)
       is trained on the finished trials, encoded by `UnitCube` (log ranges
       in log space, integers snapped, choices one-hot). The scores are first
       warped by a fitted power transform (`warping.power_transform`), which
       keeps their order but pulls in outliers such as a network left at
       chance by a learning rate that is too high; without it such a trial
       set the model's scale and the search spent its model-based trials on
       the edges of the space (``warp_outputs=False`` turns it off; the
       ablation's measurements are in ``benchmarks/README.md``). Each fit
       starts from the previous one (saved with the oracle's state), and
       also from the priors' modes early on and every few trials, so the
       cost of a suggestion stays small as trials accumulate (measured by
       ``benchmarks/suggest_cost.py``, see ``benchmarks/README.md``).
       Trials still running elsewhere (other workers, a fused group) then
       enter the fitted model at its own predicted mean (the "kriging
       believer"): the kernel is fitted on finished trials only, and a
       running trial lowers the uncertainty around it, so concurrent trials
       get different suggestions without posing as new optima. (Giving them
       the best value seen, the "constant liar", made the model chase those
       pretend optima: 115x the sequential regret on Hartmann-6 with 4 in
       flight, see ``benchmarks/results/parallel_strategy.md``.)
    3. Candidates (uniform samples plus perturbations of the best trials) are
       snapped to valid configurations and scored by expected improvement,
       computed in log space (`log_expected_improvement`); the continuous
       coordinates of the best few are then refined by gradient steps
       (L-BFGS-B) on it. Integers, stepped floats, booleans and choices
       then take greedy discrete moves from the best few (a neighbouring
       value, another choice; `local_search.climb`), followed by gradient
       steps again; the best candidate never tried nor running is proposed.
       Without the discrete moves an integer can stay one or two units off
       the optimum that the continuous coordinates have already found.

    Failed trials (and NaN or infinite scores) are never re-proposed, and
    enter the model at the worst finite score, so their region is not
    tried again and again.

    Args:
        num_initial_points: Size of the quasi-random initial design. Defaults
            to twice the number of tunable dimensions, between 3 and 10, and
            at most half of ``max_trials``.
        alpha: keras-tuner's ``alpha``: the least noise variance of the
            Gaussian process, in units of the standardised scores (added to
            the kernel's diagonal). ``None`` (default): the noise is fitted
            freely (from 1e-9 up).
        beta: keras-tuner's ``beta``: with a number, candidates are chosen
            by keras-tuner's lower confidence bound, ``mean - beta * std``,
            instead of expected improvement (``xi`` is then unused).
            ``None`` (default): expected improvement.
        xi: Exploration margin of expected improvement, in standard
            deviations of the observed objective. Defaults to 0 (plain EI):
            a margin stops the search from refining a good optimum, as it
            asks for improvements larger than the margin.
        num_candidates: Candidates scored per suggestion. Defaults to 1024.
        warp_outputs: Warp the scores by a fitted power transform before
            the model sees them (see above). Defaults to True; False fits
            the standardised scores as they are.
        **kwargs: The arguments of `SearchOracle` (``objective``,
            ``max_trials``, ``hyperparameters``, ``seed``, ...).

    Example:
        >>> oracle = BayesianOracle(objective="val_accuracy", max_trials=30, seed=1)
    """

    #: Each fit starts from the last fitted kernel, kept in ``oracle.json``:
    #: a search resumed after a kill proposes what it would have unkilled.
    proposals_change_state = True

    def __init__(
        self,
        objective=None,
        max_trials: int | None = None,
        num_initial_points: int | None = None,
        alpha: float | None = None,
        beta: float | None = None,
        seed: int | None = None,
        hyperparameters=None,
        allow_new_entries: bool = True,
        tune_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
        *,
        xi: float = 0.0,
        num_candidates: int = 1024,
        warp_outputs: bool = True,
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
        for name, value in (("alpha", alpha), ("beta", beta)):
            if value is not None and not _finite_at_least_0(value):
                raise bad_value(
                    name,
                    value,
                    "must be None or a finite number >= 0",
                    f"E.g. {name}={1e-4 if name == 'alpha' else 2.6} "
                    "(keras-tuner's default), or leave it out.",
                )
        self.alpha = None if alpha is None else float(alpha)
        self.beta = None if beta is None else float(beta)
        if num_initial_points is not None:
            num_initial_points = check_count(
                "num_initial_points", num_initial_points, 1, 8
            )
        if not _finite_at_least_0(xi):
            raise bad_value("xi", xi, "must be a finite number >= 0", "E.g. xi=0.0.")
        self.num_initial_points = num_initial_points
        self.xi = float(xi)
        self.num_candidates = check_count("num_candidates", num_candidates, 16, 16)
        if not isinstance(warp_outputs, bool):
            raise bad_value(
                "warp_outputs",
                warp_outputs,
                "must be True or False",
                "E.g. warp_outputs=False to fit the scores unwarped.",
            )
        self.warp_outputs = warp_outputs
        #: The last fitted kernel hyperparameters (the next fit starts there).
        self._theta: np.ndarray | None = None

    # -- the initial design ----------------------------------------------------
    def initial_points(self, cube: UnitCube) -> int:
        """The number of quasi-random trials before the model takes over."""
        if self.num_initial_points is not None:
            return self.num_initial_points
        n = int(np.clip(2 * cube.dims, 3, 10))
        if self.max_trials:
            n = max(2, min(n, self.max_trials // 2))
        return n

    def _sobol_point(self, cube: UnitCube, index: int) -> np.ndarray:
        m = max(1, int(np.ceil(np.log2(index + 1))))
        sampler = qmc.Sobol(d=max(cube.dims, 1), scramble=True, seed=self.seed)
        return sampler.random_base2(m)[index][: cube.dims]

    # -- the model ---------------------------------------------------------------
    def _observations(self, cube: UnitCube) -> tuple[np.ndarray, np.ndarray]:
        """The ended trials' points and scores (lower is better).

        A trial that failed (a diverged training, a model too large) or
        scored NaN or infinity counts at the worst finite score: left out,
        its region looked unexplored, and expected improvement went back
        there trial after trial (a too-high learning rate diverging again).
        """
        trials = self.completed_trials()
        scored = {t.trial_id for t in trials}
        failed = [
            self.trials[trial_id]
            for trial_id in self.end_order
            if trial_id not in scored
            and self.trials[trial_id].status
            in (kt_trial.TrialStatus.COMPLETED, kt_trial.TrialStatus.FAILED)
            and self.trials[trial_id].hyperparameters.values
        ]
        y = np.array([float(t.score) for t in trials])
        if self.objective.direction == "max":
            y = -y
        worst = float(y.max()) if len(y) else 0.0
        y = np.concatenate([y, np.full(len(failed), worst)])
        x = np.array([cube.encode(t.hyperparameters.values) for t in trials + failed])
        return x.reshape(len(y), cube.dims), y

    def _fit(self, x: np.ndarray, y: np.ndarray, dims: int) -> GaussianProcess:
        """Fits the process, warm-started from the previous suggestion's kernel.

        A fresh start from the priors' modes runs as well for the first
        `_FRESH_FITS` observations and then every `_FRESH_EVERY`-th one; the
        better optimum is kept.
        """
        fresh = default_theta(dims)
        starts = []
        if self._theta is not None and len(self._theta) == len(fresh):
            starts.append(self._theta)
        if not starts or len(y) <= _FRESH_FITS or len(y) % _FRESH_EVERY == 0:
            starts.append(fresh)
        model = fit_gp(x, y, starts, noise_floor=self.alpha)
        self._theta = model.theta
        return model

    def _candidates(
        self, cube: UnitCube, rng: np.random.Generator, x: np.ndarray, y: np.ndarray
    ) -> np.ndarray:
        uniform = rng.random((self.num_candidates, cube.dims))
        best = x[np.argsort(y)[:5]]
        local = []
        for scale in (0.2, 0.05):
            picks = best[rng.integers(len(best), size=self.num_candidates // 4)]
            local.append(np.clip(picks + rng.normal(0, scale, picks.shape), 0, 1))
        return np.vstack([uniform, *local])

    def _refine(
        self,
        model: GaussianProcess,
        points: np.ndarray,
        free: np.ndarray,
        best: float,
        margin: float,
    ) -> np.ndarray:
        """Climbs log EI from each of ``points`` along the continuous dimensions.

        The climbs are independent but run as one L-BFGS-B problem (the sum of
        their log EI), so each step costs one batched prediction.
        """
        count, width = len(points), int(free.sum())

        def negative(flat: np.ndarray) -> tuple[float, np.ndarray]:
            full = points.copy()
            full[:, free] = flat.reshape(count, width)
            mean, std, d_mean, d_std = model.predict_with_gradient(full)
            if self.beta is not None:
                value, by_mean, by_std = confidence_bound_gradient(mean, std, self.beta)
            else:
                value, by_mean, by_std = log_expected_improvement_gradient(
                    mean, std, best, margin
                )
            grad = by_mean[:, None] * d_mean + by_std[:, None] * d_std
            return -float(value.sum()), -grad[:, free].ravel()

        result = optimize.minimize(
            negative,
            points[:, free].ravel(),
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * (count * width),
            options={"maxiter": _REFINE_STEPS},
        )
        refined = points.copy()
        refined[:, free] = np.clip(result.x.reshape(count, width), 0.0, 1.0)
        return refined

    def _model(
        self, cube: UnitCube, trial_id: str
    ) -> tuple[GaussianProcess, float, np.ndarray, np.ndarray]:
        """The process that scores candidates, with the finished trials.

        Returns:
            ``(model, best, x, y)``: the process fitted on the finished
            trials and conditioned on the running ones, the value to
            improve on, and the finished trials' encoded points and
            (warped) scores.
        """
        x, y = self._observations(cube)
        if self.warp_outputs:
            y = power_transform(y)
        model = self._fit(x, y, cube.dims)
        best = float(y.min())
        pending = [cube.encode(v) for v in self.pending_values(exclude=trial_id)]
        if pending:
            # Running trials count at the model's own prediction ("kriging
            # believer"): less uncertainty near them, the same kernel and mean.
            at = np.array(pending)
            guess, _ = model.predict(at)
            best = min(best, float(guess.min()))  # they are believed
            model = condition_gp(
                np.vstack([x, at]),
                np.concatenate([y, guess]),
                model.theta,
                model.y_mean,
                model.y_scale,
            )
        return model, best, x, y

    def _model_point(self, cube: UnitCube, trial_id: str) -> dict[str, Any] | None:
        model, best, x, y = self._model(cube, trial_id)
        # EI's margin is in standard deviations of the observations.
        margin = self.xi * (float(np.std(y)) or 1.0)

        def acquisition(points: np.ndarray) -> np.ndarray:
            mean, std = model.predict(points)
            if self.beta is not None:
                return confidence_bound_gradient(mean, std, self.beta)[0]
            return log_expected_improvement(mean, std, best, margin)

        free = _continuous_columns(cube)

        def snap(points: np.ndarray) -> np.ndarray:
            if free.all():  # only continuous ranges: snapping is clipping
                return np.clip(points, 0.0, 1.0 - 1e-9)
            return np.array([cube.snap(p) for p in points])

        rng = self.rng(self.num_proposed, 1)
        points = snap(self._candidates(cube, rng, x, y))
        scores = acquisition(points)
        if free.any():
            _, first = np.unique(scores, return_index=True)
            starts = first[np.argsort(-scores[first])][:_REFINE_STARTS]
            refined = self._refine(model, points[starts], free, best, margin)
            refined = snap(refined)
            points = np.vstack([refined, points])
            scores = np.concatenate([acquisition(refined), scores])
        if not free.all():
            # Discrete moves from the best candidates, then the continuous
            # coordinates again from where the moves ended.
            _, first = np.unique(scores, return_index=True)
            starts = first[np.argsort(-scores[first])][:_REFINE_STARTS]
            climbed, _ = climb(cube, points[starts], acquisition)
            if free.any():
                climbed = snap(self._refine(model, climbed, free, best, margin))
            points = np.vstack([climbed, points])
            scores = np.concatenate([acquisition(climbed), scores])
        # The best-scoring candidate that was never tried (or is not running).
        is_new = self.newness()
        for index in np.argsort(-scores, kind="stable"):
            values = cube.decode(points[index])
            if is_new(values):
                return values
        return None

    # -- the strategy ------------------------------------------------------------
    def propose(self, trial_id: str) -> dict[str, Any] | None:
        """The next configuration: quasi-random first, then by expected improvement."""
        cube = UnitCube(self.hyperparameters)
        if cube.dims == 0:
            return self.random_new(lambda rng: cube.decode(np.zeros(0)), 0)
        index = self.num_proposed
        observed = len(self.completed_trials())
        initial = self.initial_points(cube)
        # The initial design ends after its points, or once the oracle has as
        # many finished trials from elsewhere (put into `trials`, as
        # keras-tuner's tests and tools do): the model can start from those.
        if (index < initial and observed < initial) or observed < 2:
            values = cube.decode(self._sobol_point(cube, index))
            if self.is_new(values):
                return values
        else:
            # The matrices are small: one BLAS thread is faster than many.
            with _one_thread():
                values = self._model_point(cube, trial_id)
            if values is not None:
                return values
        return self.random_new(lambda rng: cube.decode(rng.random(cube.dims)), index)

    def get_state(self) -> dict[str, Any]:
        """The oracle's state; the strategy's settings are saved for reference."""
        state = super().get_state()
        state["bayesian"] = {
            "num_initial_points": self.num_initial_points,
            "xi": self.xi,
            "alpha": self.alpha,
            "beta": self.beta,
            "num_candidates": self.num_candidates,
            "warp_outputs": self.warp_outputs,
            "kernel": None if self._theta is None else self._theta.tolist(),
        }
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        """Restores `get_state`'s output, the last fitted kernel included."""
        super().set_state(state)
        kernel = state.get("bayesian", {}).get("kernel")
        self._theta = None if kernel is None else np.array(kernel, dtype=float)


def _finite_at_least_0(value: Any) -> bool:
    """Whether ``value`` is a finite real number >= 0 (numpy's too, no bool)."""
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, (bool, np.bool_))
        and math.isfinite(value)
        and value >= 0
    )
