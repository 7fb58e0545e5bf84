"""Training a group of trials as one fused model: the group runner.

`GroupRunner` is the sibling of `TrialRunner` for a group of trials whose
models fuse (see `keras_hpo.fused`). How a fused group trains, in order:

1. Each trial's own model is built, seeded by its plan, exactly as
   `TrialRunner` would build it (the first trial last, seeded as
   `TrialRunner` seeds it, so the group sees the batches that trial would
   see alone; the others with `seed_build`, which gives the same weights
   without resetting TensorFlow's global seed); the hypermodel's
   ``build_fused(models)`` turns them into one `FusedMLP` that starts from
   their weights.
2. Each trial gets the Keras callbacks it would get alone (the user's early
   stopping, `EpochRecorder`, `BestWeights`, `TrialControl`, the search
   callbacks' observers, as `TrialRunner.callbacks` makes them), attached to
   its own unfused model.
3. The fused model trains with the hypermodel's own ``fit`` and one
   `_SliceDispatch` callback. After every epoch it calls each running
   slice's callbacks with the slice's logs (``loss``, ``accuracy``,
   ``val_...``), having copied the slice's weights into its own model if
   one of them may read weights (`_reads_weights`); otherwise the model
   gets them once, when the slice ends, and `BestWeights` keeps its best
   epoch's from the fused arrays.
   A slice whose callbacks stop training (early stopping, pruning, a NaN
   loss) stops learning at once: its learning rate and its share of the
   loss become zero, its callbacks get ``on_train_end`` and its record ends
   there.
4. When at most half of the group still runs (and at least one slice has
   stopped), training pauses and goes on with a compacted model of the
   running slices only (weights and optimizer state carried over), so
   stopped slices cost nothing.
5. Each trial's outcome is made by `TrialRunner.conclude`, as an unfused
   trial's, from its own model(s), record(s) and best weights: results,
   checkpoints, TensorBoard and resume treat it like any other trial.

With ``cv=``, a slice is one fold of one trial: the group's model has
(trials x folds) slices, each seeded as that fold's unfused model, with
that fold's standardisation (its model is built after the hypermodel
adapted to the fold's training rows), that fold's callbacks
(``trial_<id>/fold_<k>`` runs, its own early stopping, the stopper
comparing it with the same fold of other trials),
and each trains and validates on its own fold's rows (`_FoldRows`,
`keras_hpo.fused.FusedMLP.use_rows`). A pruned fold stops its trial's other
folds at the same epoch (one by one, the folds after it would not run).

Only train, epoch and train-end hooks reach a slice's callbacks (no batch
hooks). Its ``fit_seconds`` is its share of the group's time in ``fit``
(the group's time times its epochs over all slices' epochs), and so is its
``score_seconds``.

It owns a group's training; it must not talk to the oracle, write results
or choose which trials form a group.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import keras
import numpy as np
from keras_tuner import errors as kt_errors

from keras_hpo.callbacks import EpochRecorder
from keras_hpo.callbacks import ValidationTimer
from keras_hpo.fused import slice_rows
from keras_hpo.tuners.adaptation import adapt_to
from keras_hpo.tuners.building import seed_build
from keras_hpo.tuners.checkpoint import BestWeights
from keras_hpo.tuners.folds import Folds
from keras_hpo.tuners.folds import all_training_data
from keras_hpo.tuners.outcome import TrialOutcome
from keras_hpo.tuners.outcome import outcome_of
from keras_hpo.tuners.runner import Training
from keras_hpo.tuners.runner import TrialPlan
from keras_hpo.tuners.runner import TrialRunner

__all__ = ["GroupRunner"]

_PREFIX = "fused_"


class _Slice:
    """One slice of a group (a trial, or a trial's fold): model, callbacks, record."""

    def __init__(
        self, runner: TrialRunner, plan: TrialPlan, fold: int, model, user_callbacks
    ):
        self.plan = plan
        self.model = model
        self.recorder = EpochRecorder()
        self.best = BestWeights(runner.objective)
        callbacks, self.control, self.early = runner.callbacks(
            plan, fold, self.recorder, self.best, user_callbacks
        )
        self.callbacks = keras.callbacks.CallbackList(
            callbacks, add_history=False, add_progbar=False, model=model
        )
        self.running = True
        #: ``(fused model, slot, its numpy_weights())`` after the last epoch.
        self.latest: tuple | None = None
        # Callbacks that read the model's weights get them every epoch;
        # otherwise the model gets them once, when the slice ends.
        self.reads_weights = any(
            _reads_weights(c) for c in callbacks if c is not self.best
        )
        if not self.reads_weights:
            self.best.take = self._take_latest

    def _take_latest(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Copies of the slice's (kernel, bias) pairs after the last epoch."""
        fused, slot, arrays = self.latest
        return [(w.copy(), b.copy()) for w, b in fused.slice_arrays(slot, arrays)]

    def end(self) -> None:
        """Ends its training; its model gets the weights it ended with."""
        self.running = False
        if not self.reads_weights and self.latest is not None:
            fused, slot, arrays = self.latest
            fused.copy_to(slot, self.model, arrays)
            if self.best.taken is not None:
                names = fused.specs[slot].layer_names
                self.best.weights = _weights_with(self.model, names, self.best.taken)
                self.best.taken = None
        self.callbacks.on_train_end()


def _reads_weights(callback: keras.callbacks.Callback) -> bool:
    """Whether a callback may read its model's weights while it trains.

    Yes, unless its class says ``reads_weights = False`` (keras_hpo's own
    callbacks do), or it is an ``EarlyStopping`` that restores no weights.
    """
    if isinstance(callback, keras.callbacks.EarlyStopping):
        return bool(callback.restore_best_weights)
    return bool(getattr(callback, "reads_weights", True))


def _weights_with(
    model: keras.Model, names: list[str], pairs: list[tuple[np.ndarray, np.ndarray]]
) -> list[np.ndarray]:
    """``model.get_weights()`` with the named Dense layers' (kernel, bias) given."""
    given = {}
    for name, (kernel, bias) in zip(names, pairs, strict=True):
        layer = model.get_layer(name)
        given[id(layer.kernel)], given[id(layer.bias)] = kernel, bias
    return [
        given[id(v)] if id(v) in given else np.array(keras.ops.convert_to_numpy(v))
        for v in model.weights
    ]


class _SliceDispatch(ValidationTimer):
    """Hands a fused model's epochs to each running slice's own callbacks.

    It times the fused model's validation (`ValidationTimer`), which the
    slices share.
    """

    def __init__(self, slices: list[_Slice], compact_at: float):
        super().__init__()
        self.slices = slices
        self.compact_at = compact_at
        self.index: list[int] = list(range(len(slices)))  # model slot -> slice
        self.started = False
        self.compact = False
        self.next_epoch = 0

    def set_params(self, params):
        super().set_params(params)
        for piece in self.slices:
            piece.callbacks.set_params(dict(params))

    def on_train_begin(self, logs=None):
        self.compact = False
        if not self.started:
            self.started = True
            for piece in self.slices:
                piece.callbacks.on_train_begin()

    def on_epoch_begin(self, epoch, logs=None):
        for piece in self._running():
            piece.callbacks.on_epoch_begin(epoch)

    def _running(self) -> list[_Slice]:
        return [self.slices[i] for i in self.index if self.slices[i].running]

    def on_epoch_end(self, epoch, logs=None):
        columns = _slice_columns(logs or {})
        arrays = self.model.numpy_weights()
        for slot, i in enumerate(self.index):
            piece = self.slices[i]
            if not piece.running:
                continue
            piece.latest = (self.model, slot, arrays)
            if piece.reads_weights:
                self.model.copy_to(slot, piece.model, arrays)
            piece.model.stop_training = False
            piece.callbacks.on_epoch_end(
                epoch, {name: float(column[slot]) for name, column in columns.items()}
            )
            if piece.model.stop_training:
                self.model.stop_slice(slot)
                piece.end()
        # A pruned fold prunes its trial: the trial's other folds stop too.
        pruned = {id(p.plan) for p in self.slices if p.control.pruned_at is not None}
        for slot, i in enumerate(self.index):
            piece = self.slices[i]
            if piece.running and id(piece.plan) in pruned:
                self.model.stop_slice(slot)
                piece.end()
        running = len(self._running())
        self.next_epoch = epoch + 1
        if running == 0:
            self.model.stop_training = True
        elif running <= self.compact_at * len(self.index) < len(self.index):
            self.compact = True
            self.model.stop_training = True


def _slice_columns(logs: dict) -> dict[str, np.ndarray]:
    """``fused_loss`` -> ``loss``, ``val_fused_loss`` -> ``val_loss``: per slice."""
    columns = {}
    for key, value in logs.items():
        for prefix, renamed in ((_PREFIX, ""), (f"val_{_PREFIX}", "val_")):
            if key.startswith(prefix):
                columns[renamed + key[len(prefix) :]] = np.asarray(value)
    return columns


class GroupRunner:
    """Trains trials as one fused model; returns each one's outcome.

    Args:
        runner: The `TrialRunner` its trials would otherwise train with
            (its hypermodel, build, objective, early stopping and stopper).
        compact_at: Compact the fused model when at most this share of its
            slices still runs. Defaults to 0.5.
    """

    def __init__(self, runner: TrialRunner, compact_at: float = 0.5):
        self.runner = runner
        self.compact_at = compact_at

    def run(
        self, plans: Sequence[TrialPlan], fit_args: tuple, fit_kwargs: dict
    ) -> list[TrialOutcome | Exception]:
        """Trains the plans' trials together.

        Returns:
            Per plan, its `TrialOutcome`, or the ``FailedTrialError`` (with
            the partial outcome) its trial failed with.

        Raises:
            NotFusable: If the hypermodel's ``build_fused`` refuses the
                group (nothing has trained yet: run the trials one by one).
        """
        runner = self.runner
        fit_kwargs = dict(fit_kwargs)
        user_callbacks = list(fit_kwargs.pop("callbacks", None) or [])
        folds = runner.folds
        slots = [
            (plan, fold)
            for plan in plans
            for fold in range(len(folds) if folds is not None else 1)
        ]
        models, failed = self._build(slots, fit_args, fit_kwargs)
        if failed:  # those trials fail alone, as one by one; the others fuse
            rest = [plan for plan in plans if id(plan) not in failed]
            trained = self.run(rest, fit_args, fit_kwargs) if rest else []
            found = dict(zip(map(id, rest), trained, strict=True))
            return [failed.get(id(plan)) or found[id(plan)] for plan in plans]
        fused = runner.hypermodel.build_fused(models, seed=plans[0].seed)
        slices = [
            _Slice(runner, plan, fold, model, user_callbacks)
            for (plan, fold), model in zip(slots, models, strict=True)
        ]
        data = None
        if folds is not None:  # each slice trains on its own fold's rows
            data = _FoldRows(folds, fused, fit_args, fit_kwargs, slots)
        dispatch = _SliceDispatch(slices, self.compact_at)
        start = time.perf_counter()
        epoch = int(fit_kwargs.get("initial_epoch") or 0)
        try:
            while True:
                args, kwargs = fit_args, fit_kwargs
                if data is not None:
                    args, kwargs = data.fit_arguments(dispatch.index)
                runner.hypermodel.fit(
                    plans[0].hyperparameters,
                    fused,
                    *args,
                    callbacks=[dispatch],
                    **dict(kwargs, initial_epoch=epoch),
                )
                if not dispatch.compact:
                    break
                keep = [
                    slot for slot, i in enumerate(dispatch.index) if slices[i].running
                ]
                dispatch.index = [dispatch.index[slot] for slot in keep]
                fused = fused.subset(keep, seed=plans[0].seed + dispatch.next_epoch)
                epoch = dispatch.next_epoch
        finally:  # also after an error: every slice's callbacks that began end
            for piece in slices:
                if piece.running and dispatch.started:
                    piece.end()
                piece.running = False
        seconds = time.perf_counter() - start
        epochs = sum(max(piece.recorder.epochs_run, 1) for piece in slices)
        group = [plan.trial_id for plan in plans]
        outcomes = []
        for plan in plans:
            pieces = [piece for piece in slices if piece.plan is plan]
            share = sum(max(p.recorder.epochs_run, 1) for p in pieces) / epochs
            outcome = self._outcome(pieces, seconds, epochs)
            partial = outcome_of(outcome) if isinstance(outcome, Exception) else outcome
            if partial is not None:
                partial.result.fused_with = list(group)
                partial.result.score_seconds = dispatch.validation_seconds * share
            outcomes.append(outcome)
        return outcomes

    def _build(
        self, slots: list[tuple[TrialPlan, int]], fit_args: tuple, fit_kwargs: dict
    ) -> tuple[list, dict[int, Exception]]:
        """Each slot's model, seeded as unfused; the errors of builds that failed.

        The first trial builds last, so the group trains on the batches
        (and the shuffling state) that trial would have trained on alone;
        each fold's model is seeded as its unfused training (seed + fold).

        Returns:
            The models (``None`` where a build failed) and ``id(plan)`` ->
            the error of each plan whose build failed (an oversized model:
            its trial fails alone, as it would one by one).
        """
        runner, folds = self.runner, self.runner.folds
        models: list = [None] * len(slots)
        failed: dict[int, Exception] = {}
        try:
            for index in [*range(1, len(slots)), 0]:
                plan, fold = slots[index]
                if id(plan) in failed:
                    continue
                if folds is not None:  # its statistics from its training rows
                    adapt_to(
                        runner.hypermodel,
                        *folds.fit_arguments(fold, fit_args, fit_kwargs),
                    )
                if index:  # its weights; the last build seeds fit's shuffling too
                    seed_build(plan.seed + fold)
                else:
                    keras.utils.set_random_seed(plan.seed + fold)
                try:
                    models[index] = runner.build(plan.hyperparameters)
                except Exception as err:  # noqa: BLE001 - fails that trial only
                    if isinstance(err, kt_errors.FatalError):
                        raise
                    failed[id(plan)] = err
        finally:
            if folds is not None:
                adapt_to(runner.hypermodel, fit_args, fit_kwargs)
        return models, failed

    def _outcome(
        self, pieces: list[_Slice], seconds: float, epochs: int
    ) -> TrialOutcome | Exception:
        """One trial's outcome from its slices (its folds, or itself).

        Each slice's ``fit_seconds`` is its share of the group's time (its
        epochs over all slices' epochs); the best weights are the best
        epoch's over the trial's folds, as when they train one by one.
        """
        runner = self.runner
        runs = [
            Training(
                piece.model,
                piece.recorder,
                piece.control,
                piece.early,
                seconds * max(piece.recorder.epochs_run, 1) / epochs,
            )
            for piece in pieces
        ]
        best = pieces[0].best
        for piece in pieces[1:]:
            if piece.best.best_value is not None and (
                best.best_value is None
                or runner.objective.better_than(piece.best.best_value, best.best_value)
            ):
                best = piece.best
        try:
            return runner.conclude(pieces[0].plan, runs, best)
        except kt_errors.FailedTrialError as err:
            return err


class _FoldRows:
    """The cross-validation folds of a fused group, as row indices per slice.

    The fused model holds the data once (`FusedMLP.use_rows`); ``fit`` gets
    a ``(rows, slices)`` table of each slice's training rows and one of its
    fold's test rows as ``validation_data`` (`keras_hpo.fused.slice_rows`).
    """

    def __init__(self, folds: Folds, fused, fit_args, fit_kwargs, slots):
        x, y, self.kwargs = all_training_data(fit_args, fit_kwargs)
        fused.use_rows(np.asarray(x), np.asarray(y))
        n = len(x)
        self.train = slice_rows([folds.splits[f][0] for _, f in slots], n)
        self.test = slice_rows([folds.splits[f][1] for _, f in slots], n)

    def fit_arguments(self, columns: list[int]) -> tuple[tuple, dict]:
        """``fit``'s arguments for the slices still in the model (in order)."""
        train, test = self.train[:, columns], self.test[:, columns]
        train = train[(train >= 0).any(axis=1)]  # rows no running slice uses
        test = test[(test >= 0).any(axis=1)]
        return (train, train), dict(self.kwargs, validation_data=(test, test))
