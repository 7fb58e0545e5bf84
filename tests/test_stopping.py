"""The stopping policies on hand-made curves (lower is better)."""

from __future__ import annotations

import math

import pytest

from keras_hpo.stopping import Curve
from keras_hpo.stopping import MedianStopping
from keras_hpo.stopping import SuccessiveHalving
from keras_hpo.stopping import best_so_far


def test_best_so_far_counts_finished_trials_beyond_their_last_epoch():
    assert best_so_far(Curve([3.0, 2.0, 2.5], finished=True), 2) == 2.0
    # A finished trial cut short by its own early stopping carries its best.
    assert best_so_far(Curve([3.0, 1.0], finished=True), 10) == 1.0
    # A running (or pruned) trial counts only where it got.
    assert best_so_far(Curve([3.0, 1.0], finished=False), 3) is None
    assert best_so_far(Curve([math.nan, 4.0], finished=True), 2) == 4.0
    assert best_so_far(Curve([math.nan], finished=True), 1) is None


def _finished(*curves):
    return {f"t{i}": Curve(list(c), finished=True) for i, c in enumerate(curves)}


def test_median_stopping_waits_for_min_trials_and_min_epochs():
    stopper = MedianStopping(min_trials=3, min_epochs=2)
    curves = _finished([1.0, 0.5], [1.0, 0.6])  # two finished only
    curves["bad"] = Curve([9.0, 9.0])
    assert not stopper.should_stop("bad", 2, curves)
    curves.update(_finished([1.0, 0.5], [1.0, 0.6], [1.0, 0.7]))
    assert not stopper.should_stop("bad", 1, curves)  # before min_epochs
    assert stopper.should_stop("bad", 2, curves)


def test_median_stopping_keeps_a_trial_at_or_better_than_the_median():
    stopper = MedianStopping(min_trials=3, min_epochs=1)
    curves = _finished([1.0, 0.5], [1.0, 0.6], [1.0, 0.7])
    curves["good"] = Curve([1.0, 0.6])
    assert not stopper.should_stop("good", 2, curves)
    curves["slightly_worse"] = Curve([1.0, 0.61])
    assert stopper.should_stop("slightly_worse", 2, curves)


def test_median_stopping_compares_early_stopped_trials_fairly():
    stopper = MedianStopping(min_trials=3, min_epochs=1)
    # Three trials stopped early at epoch 2 with good values: at epoch 5 they
    # still count with what they reached, so a trial at 0.8 is worse.
    curves = _finished([0.9, 0.3], [0.9, 0.4], [0.9, 0.5])
    curves["running"] = Curve([0.9, 0.85, 0.8, 0.8, 0.8])
    assert stopper.should_stop("running", 5, curves)


def test_successive_halving_rungs():
    stopper = SuccessiveHalving(min_epochs=1, reduction_factor=3)
    assert [e for e in range(1, 30) if stopper.is_rung(e)] == [1, 3, 9, 27]
    stopper = SuccessiveHalving(min_epochs=2, reduction_factor=2)
    assert [e for e in range(1, 20) if stopper.is_rung(e)] == [2, 4, 8, 16]


def test_successive_halving_keeps_the_top_third_at_a_rung():
    stopper = SuccessiveHalving(min_epochs=1, reduction_factor=3)
    curves = _finished([0.1], [0.2], [0.3], [0.4], [0.5])
    curves["new"] = Curve([0.15])
    # 6 trials at rung 1: the top 6 // 3 = 2 continue.
    assert not stopper.should_stop("new", 1, curves)
    curves["new"] = Curve([0.25])
    assert stopper.should_stop("new", 1, curves)
    # Not a rung: never stops.
    curves["new"] = Curve([0.25, 9.0])
    assert not stopper.should_stop("new", 2, curves)


def test_successive_halving_does_not_rank_fewer_than_reduction_factor_trials():
    stopper = SuccessiveHalving(min_epochs=1, reduction_factor=3)
    curves = {"first": Curve([0.5])}
    assert not stopper.should_stop("first", 1, curves)
    curves = _finished([0.5])
    curves["second"] = Curve([0.6])
    assert not stopper.should_stop("second", 1, curves)  # 2 < 3 at the rung
    curves.update(_finished([0.5], [0.4]))
    curves["third"] = Curve([0.6])
    assert stopper.should_stop("third", 1, curves)  # 3 at the rung: keep 1


@pytest.mark.parametrize(
    ("factory", "argument", "value"),
    [
        (lambda: MedianStopping(min_trials=0), "min_trials", "0"),
        (lambda: MedianStopping(min_epochs=1.5), "min_epochs", "1.5"),
        (lambda: SuccessiveHalving(min_epochs=0), "min_epochs", "0"),
        (lambda: SuccessiveHalving(reduction_factor=1), "reduction_factor", "1"),
        (lambda: SuccessiveHalving(reduction_factor="3"), "reduction_factor", "'3'"),
        # An infinite factor was taken, and then never stopped a trial.
        (
            lambda: SuccessiveHalving(reduction_factor=math.inf),
            "reduction_factor",
            "inf",
        ),
    ],
)
def test_bad_arguments_name_the_argument_and_value(factory, argument, value):
    with pytest.raises((ValueError, TypeError)) as info:
        factory()
    assert argument in str(info.value)
    assert value in str(info.value)


# -- TrialControl: the stopper asked from inside a training -------------------------


class _Model:
    stop_training = False


class _Always(MedianStopping):
    """Says stop at every epoch; remembers the curves it was shown."""

    def __init__(self):
        super().__init__()
        self.shown: list[tuple[int, list[float]]] = []

    def should_stop(self, trial_id, epochs, curves):
        self.shown.append((epochs, list(curves[trial_id].values)))
        return True


def _control(stopper):
    from keras_tuner import Objective

    from keras_hpo.tuners.control import TrialControl

    control = TrialControl("me", Objective("val_accuracy", "max"), stopper, dict)
    control.set_model(_Model())
    control.set_params({"epochs": 10})
    return control


def test_a_training_already_ended_by_its_early_stopping_is_not_pruned():
    # Early stopping runs before the control: a trial it ended was recorded
    # "pruned" (and its curve counted as unfinished) when the stopper agreed.
    stopper = _Always()
    control = _control(stopper)
    control.on_train_begin()
    control.model.stop_training = True
    control.on_epoch_end(3, {"loss": 0.5, "val_accuracy": 0.1})
    assert control.pruned_at is None and stopper.shown == []
    control.model.stop_training = False
    control.on_epoch_end(4, {"loss": 0.5, "val_accuracy": 0.1})
    assert control.pruned_at == 5


def test_a_resumed_training_is_judged_by_its_whole_curve():
    # Resumed at epoch 3 (checkpoint="every_epoch"), the stopper saw a curve
    # of one value at epoch 4, which also shifted what other workers saw.
    stopper = _Always()
    control = _control(stopper)
    control.start_from({"loss": [1.0, 0.9, 0.8], "val_accuracy": [0.5, 0.6, 0.7]})
    control.on_train_begin()
    control.on_epoch_end(3, {"loss": 0.7, "val_accuracy": 0.8})
    assert stopper.shown == [(4, [-0.5, -0.6, -0.7, -0.8])]
    assert control.values == [-0.5, -0.6, -0.7, -0.8]


def test_numpy_integers_are_taken_as_ints():
    # As every tuner argument takes them (a value read from a numpy grid).
    import numpy as np

    assert MedianStopping(min_trials=np.int64(5)).min_trials == 5
    halving = SuccessiveHalving(min_epochs=np.int64(2), reduction_factor=np.int64(3))
    assert repr(halving) == "SuccessiveHalving(min_epochs=2, reduction_factor=3)"


def test_a_dict_early_stopping_keeps_the_default_patience():
    # A dict without patience got Keras' patience=0 (stop at the first epoch
    # without improvement), not the documented default of 5.
    from keras_tuner import Objective

    from keras_hpo.tuners.options import make_early_stopping

    early = make_early_stopping({"min_delta": 0.01}, Objective("val_loss", "min"))
    assert (early.patience, early.min_delta, early.monitor) == (5, 0.01, "val_loss")
