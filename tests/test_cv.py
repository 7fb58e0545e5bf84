"""cv=: k-fold cross-validation on every tuner, with scikit-learn's meanings."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV
from sklearn.model_selection import GroupKFold
from sklearn.model_selection import KFold
from sklearn.model_selection import LeaveOneGroupOut
from sklearn.model_selection import StratifiedKFold
from sklearn.tree import DecisionTreeClassifier
from tb_reading import read_logs

import keras_hpo

#: The issue's grid names units, activation, optimizer and learning rate;
#: two of them vary, to keep the default test run short.
GRID = {
    "units": [32],
    "activation": ["relu", "tanh"],
    "optimizer": ["adam"],
    "learning_rate": [1e-3],
}


@pytest.fixture(scope="module")
def digits_cv3(tmp_path_factory, digits):
    """A 2-trial grid on digits with cv=3 (2 epochs per fold)."""
    x, _, y, _ = digits
    tuner = keras_hpo.GridSearch(
        keras_hpo.HyperMLP(num_classes=10),
        param_grid=GRID,
        cv=3,
        directory=str(tmp_path_factory.mktemp("cv")),
        seed=1,
        verbose=0,
    )
    tuner.search(x, y, epochs=2)
    return tuner, x, y


def test_each_trial_trains_one_model_per_stratified_fold(digits_cv3):
    tuner, x, y = digits_cv3
    expected = list(StratifiedKFold(3).split(x, y))
    assert len(tuner.folds) == 3
    for (train, test), (want_train, want_test) in zip(
        tuner.folds.splits, expected, strict=True
    ):
        np.testing.assert_array_equal(train, want_train)
        np.testing.assert_array_equal(test, want_test)
    results = tuner.results()
    assert len(results) == 2
    for result in results:
        assert len(result.folds) == 3
        for fold in result.folds:
            # A fold's score is its best epoch's validation accuracy.
            curve = fold["history"]["val_accuracy"]
            assert fold["epochs_run"] == len(curve) == 2
            assert fold["score"] == max(curve)
            assert fold["best_epoch"] == int(np.argmax(curve))
            assert 0 < fold["score_seconds"] < fold["fit_seconds"]


def test_the_score_is_the_mean_of_the_folds_and_cv_results_say_so(digits_cv3):
    tuner, _, _ = digits_cv3
    table = tuner.cv_results_
    for row, result in enumerate(tuner.results()):
        scores = [fold["score"] for fold in result.folds]
        assert [table[f"split{k}_test_score"][row] for k in range(3)] == scores
        assert table["mean_test_score"][row] == pytest.approx(np.mean(scores), 1e-12)
        assert table["std_test_score"][row] == pytest.approx(np.std(scores), 1e-12)
        assert result.score == pytest.approx(np.mean(scores), 1e-12)
        times = [fold["fit_seconds"] for fold in result.folds]
        assert table["mean_fit_time"][row] == pytest.approx(np.mean(times))
    best = int(np.argmax(table["mean_test_score"]))
    assert table["rank_test_score"][best] == 1
    assert tuner.best_score_ == table["mean_test_score"][best]
    assert tuner.best_params_ == table["params"][best]
    assert "split3_test_score" not in table


def test_every_fold_has_its_own_tensorboard_runs(digits_cv3):
    tuner, _, _ = digits_cv3
    scalars, _ = read_logs(tuner.tensorboard_dir)
    for result in tuner.results():
        for k, fold in enumerate(result.folds, start=1):
            run = scalars[f"trial_{result.trial_id}/fold_{k}/validation"]
            values = [value for _, value in run["epoch_accuracy"]]
            assert values == pytest.approx(fold["history"]["val_accuracy"], 1e-6)


def test_cv_results_has_every_column_scikit_learn_has(digits_cv3):
    tuner, x, y = digits_cv3
    search = GridSearchCV(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": [2, 4]},
        cv=3,
    ).fit(x, y)
    theirs = {
        name.replace("param_max_depth", "param_units") for name in search.cv_results_
    }
    assert theirs <= set(tuner.cv_results_)


@pytest.mark.slow  # 9 s; an int cv= and its folds are checked in the default run
def test_splitters_and_index_pairs_are_used_as_given(tmp_path, tiny_classification):
    x, y = tiny_classification
    pairs = [
        (np.arange(0, 150), np.arange(150, 200)),
        (np.arange(50, 200), np.arange(50)),
    ]
    for name, cv, expected in (
        (
            "kfold",
            KFold(4, shuffle=True, random_state=0),
            KFold(4, shuffle=True, random_state=0).split(x),
        ),
        ("pairs", pairs, pairs),
    ):
        tuner = keras_hpo.RandomSearch(
            keras_hpo.HyperMLP(num_classes=3),
            max_trials=1,
            cv=cv,
            directory=str(tmp_path),
            project_name=name,
            verbose=0,
            tensorboard_dir=None,
            refit=False,
        )
        tuner.search(x, y, epochs=1)
        expected = list(expected)
        assert len(tuner.results()[0].folds) == len(expected)
        for (train, test), (want_train, want_test) in zip(
            tuner.folds.splits, expected, strict=True
        ):
            np.testing.assert_array_equal(train, want_train)
            np.testing.assert_array_equal(test, want_test)


def test_groups_reach_the_splitter_as_in_scikit_learn(tmp_path, tiny_classification):
    x, y = tiny_classification
    groups = np.arange(len(x)) % 4  # four patients, say
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=3),
        max_trials=1,
        cv=LeaveOneGroupOut(),
        directory=str(tmp_path),
        project_name="groups",
        verbose=0,
        tensorboard_dir=None,
        refit=False,
    )
    tuner.search(x, y, groups=groups, epochs=1)
    assert len(tuner.results()[0].folds) == 4
    for k, (train, test) in enumerate(tuner.folds.splits):
        assert set(groups[test]) == {k}  # one group held out per fold
        assert k not in set(groups[train])

    # GroupKFold without groups: said as such, with the fix.
    needs = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=3),
        max_trials=1,
        cv=GroupKFold(2),
        directory=str(tmp_path),
        project_name="no_groups",
        verbose=0,
    )
    with pytest.raises(ValueError, match=r"`cv`: splits by groups.*groups=\.\.\."):
        needs.search(x, y, epochs=1)
    with pytest.raises(ValueError, match=r"`groups`: not one group label per sample"):
        needs.search(x, y, groups=groups[:-1], epochs=1)
    plain = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=3),
        max_trials=1,
        directory=str(tmp_path),
        project_name="no_cv",
        verbose=0,
    )
    with pytest.raises(ValueError, match=r"`groups`: given to a search without cv="):
        plain.search(x, y, groups=groups, epochs=1)
    assert plain.results() == [] and needs.results() == []


class _Statistics(keras.callbacks.Callback):
    """Records the standardisation each trained model holds (class-wide, as
    the tuner deep-copies the callbacks it is given)."""

    seen: list[np.ndarray] = []

    def on_train_begin(self, logs=None):
        layer = self.model.get_layer("standardize")
        _Statistics.seen.append(keras.ops.convert_to_numpy(layer.mean).reshape(-1))


def _mean_of(model) -> np.ndarray:
    return keras.ops.convert_to_numpy(model.get_layer("standardize").mean).reshape(-1)


@pytest.mark.parametrize("fuse", [1, 4])
def test_each_fold_standardises_with_its_own_training_rows_only(
    tmp_path, tiny_classification, fuse
):
    # As GridSearchCV fits a Pipeline's scaler per fold: the scored rows
    # never feed the statistics. Rows 0-99 are shifted, so each fold's
    # training mean is far from the other fold's and from all rows'.
    x, y = tiny_classification
    x = x.copy()
    x[:100] += 50.0
    fold_means = [x[train].mean(axis=0) for train, _ in KFold(2).split(x)]
    _Statistics.seen = []
    tuner = keras_hpo.GridSearch(
        keras_hpo.HyperMLP(num_classes=3, standardize=True),
        param_grid={"units": [8, 16]},
        cv=KFold(2),
        fuse=fuse,
        keep_top_k=2,
        directory=str(tmp_path),
        verbose=0,
        tensorboard_dir=None,
    )
    # A callback of one's own makes trials train one by one: only then.
    callbacks = [_Statistics()] if fuse == 1 else []
    tuner.search(x, y, epochs=1, callbacks=callbacks)
    if fuse == 1:  # each fold's model, in the order they trained, then the refit
        assert len(_Statistics.seen) == 5
        wants = [*fold_means, *fold_means, x.mean(axis=0)]
        for seen, want in zip(_Statistics.seen, wants, strict=True):
            np.testing.assert_allclose(seen, want, atol=1e-4)
    else:
        assert [r.fused_with for r in tuner.results()] == [["0000", "0001"]] * 2
    # A kept trial's model keeps the statistics of the fold it trained on.
    for result in tuner.results():
        kept = _mean_of(tuner.load_model(tuner.oracle.get_trial(result.trial_id)))
        assert min(np.abs(kept - want).max() for want in fold_means) < 1e-4
    # Afterwards the hypermodel holds the search's (all rows'), as the refit.
    np.testing.assert_allclose(tuner.hypermodel._mean, x.mean(axis=0), atol=1e-4)
    np.testing.assert_allclose(_mean_of(tuner.best_estimator_), x.mean(0), atol=1e-4)


def test_a_validation_split_is_not_in_the_statistics(tmp_path, tiny_classification):
    x, y = tiny_classification
    x = x.copy()
    x[150:] += 50.0  # the rows validation_split=0.25 keeps to score
    _Statistics.seen = []
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=3, standardize=True),
        max_trials=1,
        directory=str(tmp_path),
        verbose=0,
        tensorboard_dir=None,
        refit=False,
    )
    tuner.search(x, y, validation_split=0.25, epochs=1, callbacks=[_Statistics()])
    np.testing.assert_allclose(_Statistics.seen[0], x[:150].mean(0), atol=1e-4)
    np.testing.assert_allclose(_mean_of(tuner.best_model()), x[:150].mean(0), atol=1e-4)


def test_a_regression_gets_unstratified_folds(tmp_path):
    # Integer targets would look like classes to scikit-learn; the
    # hypermodel's task decides (KFold, as for a regressor).
    x = np.arange(60, dtype="float32").reshape(-1, 1)
    y = x[:, 0] + 10
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(task="regression"),
        max_trials=1,
        cv=3,
        directory=str(tmp_path),
        verbose=0,
        tensorboard_dir=None,
        refit=False,
    )
    tuner.search(x, y, epochs=1)
    for (train, test), (want_train, want_test) in zip(
        tuner.folds.splits, KFold(3).split(x), strict=True
    ):
        np.testing.assert_array_equal(test, want_test)
        np.testing.assert_array_equal(train, want_train)


@pytest.mark.parametrize(
    ("cv", "error", "words"),
    [
        (1, ValueError, "cv=1"),
        (True, TypeError, "cv=True"),
        ("5", TypeError, "cv='5'"),
        ([(np.arange(3), np.arange(3, 5))], ValueError, "at least two"),
    ],
)
def test_bad_cv_is_refused_when_the_tuner_is_made(tmp_path, cv, error, words):
    with pytest.raises(error, match="cv") as info:
        keras_hpo.RandomSearch(
            keras_hpo.HyperMLP(num_classes=3),
            max_trials=1,
            cv=cv,
            directory=str(tmp_path),
        )
    assert words in str(info.value)
    assert "E.g. cv=5" in str(info.value)


def test_cv_with_validation_data_or_executions_is_refused(
    tmp_path, tiny_classification
):
    x, y = tiny_classification

    def tuner(cv=3, **kwargs):
        return keras_hpo.RandomSearch(
            keras_hpo.HyperMLP(num_classes=3),
            max_trials=1,
            cv=cv,
            directory=str(tmp_path),
            overwrite=True,
            verbose=0,
            **kwargs,
        )

    with pytest.raises(ValueError, match="validation_split=") as info:
        tuner().search(x, y, validation_split=0.2, epochs=1)
    assert "Pass either cv= or validation_split=" in str(info.value)
    with pytest.raises(ValueError, match="validation_data="):
        tuner().search(x, y, validation_data=(x, y), epochs=1)
    with pytest.raises(ValueError, match="executions_per_trial=2"):
        tuner(executions_per_trial=2)
    # More folds than samples: scikit-learn's reason, under cv's name.
    with pytest.raises(ValueError) as info:
        tuner(cv=300).search(x, y, epochs=1)
    message = str(info.value)
    assert message.startswith(
        "`cv`: cannot split these 200 samples: Cannot have number of splits "
        "n_splits=300 greater than the number of samples: n_samples=200. Received: "
        "cv=300 (of type int). "
    )
    assert message.endswith(
        "Pass fewer folds (cv=5 is scikit-learn's default), or more data."
    )


def test_resuming_with_other_folds_is_refused(tmp_path, tiny_classification):
    x, y = tiny_classification

    def search(cv):
        tuner = keras_hpo.RandomSearch(
            keras_hpo.HyperMLP(num_classes=3),
            max_trials=1,
            cv=cv,
            directory=str(tmp_path),
            project_name="p",
            verbose=0,
            tensorboard_dir=None,
            refit=False,
        )
        tuner.search(x, y, epochs=1)
        return tuner

    search(3)
    with pytest.raises(ValueError, match="the cv was '3 folds', now '4 folds'"):
        search(4)


def test_the_stopper_compares_a_fold_with_the_same_fold_and_pruning_ends_the_trial(
    tmp_path, digits
):
    x, _, y, _ = digits
    # A good learning rate, then a hopeless one (val_accuracy stays at chance).
    tuner = keras_hpo.GridSearch(
        keras_hpo.HyperMLP(num_classes=10),
        param_grid={"learning_rate": [0.05, 1e-12]},
        cv=2,
        stopper=keras_hpo.stopping.MedianStopping(min_trials=1, min_epochs=2),
        early_stopping=None,
        seed=0,
        directory=str(tmp_path),
        verbose=0,
        tensorboard_dir=None,
    )
    tuner.search(x, y, epochs=4)
    good, hopeless = tuner.results()
    assert [f["epochs_run"] for f in good.folds] == [4, 4]
    # Pruned in its first fold after 2 epochs: its second fold never ran.
    assert hopeless.status.value == "pruned"
    assert [f["epochs_run"] for f in hopeless.folds] == [2]
    assert hopeless.score == hopeless.folds[0]["score"]
    table = tuner.cv_results_
    assert np.isnan(table["split1_test_score"][1])
    assert table["rank_test_score"] == [1, 2]


def test_refit_trains_the_best_configuration_on_all_the_data_and_predicts(
    digits_cv3, digits
):
    tuner, x, _ = digits_cv3
    _, x_test, _, y_test = digits
    best = tuner.best_result()
    record = tuner.refitted.saved()
    assert record["trial_id"] == best.trial_id
    assert record["samples"] == len(x)  # every fold's rows
    chosen = [fold["best_epoch"] + 1 for fold in best.folds]
    assert record["epochs"] == round(np.mean(chosen))
    assert len(record["history"]["loss"]) == record["epochs"]

    labels = tuner.predict(x_test)
    assert labels.shape == (len(x_test),) and labels.dtype.kind == "i"
    assert tuner.score(x_test, y_test) == accuracy_score(y_test, labels)
    proba = tuner.predict_proba(x_test)
    assert proba.shape == (len(x_test), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(proba.argmax(axis=1), labels)
    assert tuner.best_estimator_ is not tuner.best_model()
    # scikit-learn's other fitted attributes.
    np.testing.assert_array_equal(tuner.classes_, np.arange(10))
    assert tuner.cv_results_["rank_test_score"][tuner.best_index_] == 1
    assert tuner.refit_time_ == record["seconds"] > 0

    # A tuner made again on the project has the refit model, from disk.
    again = keras_hpo.GridSearch(
        keras_hpo.HyperMLP(num_classes=10, input_shape=(64,)),
        param_grid=GRID,
        cv=3,
        directory=tuner.directory,
        seed=1,
        verbose=0,
    )
    np.testing.assert_array_equal(again.predict(x_test), labels)


@pytest.mark.slow  # 10 s; cv= refit is checked by the test above in the default run
def test_refit_joins_the_validation_data_and_refit_false_keeps_the_best_trial(
    tmp_path, tiny_classification, capsys
):
    x, y = tiny_classification
    for refit in (True, False):
        tuner = keras_hpo.RandomSearch(
            keras_hpo.HyperMLP(num_classes=3),
            max_trials=2,
            refit=refit,
            seed=2,
            directory=str(tmp_path),
            project_name=str(refit),
            tensorboard_dir=None,
        )
        tuner.search(x[:150], y[:150], validation_data=(x[150:], y[150:]), epochs=3)
        said = capsys.readouterr().out
        if refit:
            assert tuner.refitted.saved()["samples"] == 200
            best = tuner.best_result()
            epochs = best.best_epoch + 1
            assert (
                f"Refit trial {best.number}'s configuration on all 200 samples " in said
            )
            assert f"for {epochs} epoch{'s' if epochs != 1 else ''} (" in said
            assert tuner.best_estimator_ is not tuner.best_model()
        else:
            assert "Refit" not in said
            assert tuner.refitted.saved() is None
            assert tuner.best_estimator_ is tuner.best_model()
    with pytest.raises(ValueError, match="refit='yes'"):
        keras_hpo.RandomSearch(
            keras_hpo.HyperMLP(num_classes=3), refit="yes", directory=str(tmp_path)
        )
    with pytest.raises(TypeError, match="refit=1"):
        keras_hpo.RandomSearch(
            keras_hpo.HyperMLP(num_classes=3), refit=1, directory=str(tmp_path)
        )


SEEN: list[tuple[str, float]] = []


class Noted(keras.callbacks.Callback):
    """Notes each training it is in (deep copies share the list)."""

    def on_train_begin(self, logs=None):
        SEEN.append(("noted", round(float(self.model.optimizer.learning_rate), 6)))


class NotedStopping(keras.callbacks.EarlyStopping):
    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        SEEN.append(("stopping", 0.0))


def test_the_refit_trains_with_the_users_callbacks_but_not_early_stopping(
    tmp_path, tiny_classification
):
    # The refit dropped every search(callbacks=...): a learning-rate
    # schedule shaped the trials' training but not the refit's.
    x, y = tiny_classification
    SEEN.clear()
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=3, num_layers=1, units=8, learning_rate=1e-2),
        max_trials=1,
        seed=1,
        directory=str(tmp_path),
        tensorboard_dir=None,
        verbose=0,
    )
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch, rate: 0.0)
    tuner.search(
        x,
        y,
        validation_split=0.25,
        epochs=2,
        callbacks=[schedule, Noted(), NotedStopping(patience=5)],
    )
    assert tuner.refitted.saved() is not None
    assert SEEN == [("noted", 1e-2), ("stopping", 0.0), ("noted", 1e-2)]
    # The schedule set the refit's learning rate as it did the trial's.
    assert float(tuner.best_estimator_.optimizer.learning_rate) == 0.0


class Curves(keras.callbacks.Callback):
    """Makes each training's val_accuracy curve the next one of `CURVES`."""

    def on_train_begin(self, logs=None):
        self.curve = CURVES.pop(0) if CURVES else None  # the refit: none

    def on_epoch_end(self, epoch, logs=None):
        if self.curve is not None:
            logs["val_accuracy"] = self.curve[epoch]


CURVES: list[list[float]] = []


def test_several_executions_refit_and_show_the_mean_of_their_best_epochs(
    tmp_path, tiny_classification
):
    # The best epoch was the last execution's: the refit trained 4 epochs
    # where the executions chose 2 and 4 (mean 3).
    x, y = tiny_classification
    CURVES[:] = [[0.1, 0.9, 0.2, 0.3], [0.1, 0.2, 0.3, 0.9]]
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=3, num_layers=1, units=8),
        max_trials=1,
        executions_per_trial=2,
        early_stopping=None,
        directory=str(tmp_path),
        tensorboard_dir=None,
        verbose=0,
    )
    tuner.search(x, y, validation_split=0.25, epochs=4, callbacks=[Curves()])
    assert tuner.best_result().best_epoch == 2
    assert tuner.cv_results_["best_epoch"] == [3]
    assert tuner.refitted.saved()["epochs"] == 3


class FailsWithoutValidation(keras_hpo.HyperMLP):
    def fit(self, hp, model, *args, **kwargs):
        if "validation_split" not in kwargs and "validation_data" not in kwargs:
            raise ValueError("no validation rows in this training")
        return super().fit(hp, model, *args, **kwargs)


class ReadsValidation(keras.callbacks.Callback):
    """A user's callback that reads the validation logs (the refit has none)."""

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_accuracy"] > 2:
            self.model.stop_training = True


def test_a_kept_callback_that_breaks_the_refit_leaves_the_search_done(
    tmp_path, tiny_classification
):
    # The refit keeps the user's callbacks; one reading val_accuracy raised
    # a KeyError out of search() after every trial had run.
    x, y = tiny_classification
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=3, num_layers=1, units=8),
        max_trials=1,
        directory=str(tmp_path),
        tensorboard_dir=None,
        verbose=0,
    )
    with pytest.warns(RuntimeWarning, match=r"No refit \(KeyError: 'val_accuracy'\)"):
        tuner.search(
            x, y, validation_split=0.25, epochs=1, callbacks=[ReadsValidation()]
        )
    assert [r.status.value for r in tuner.results()] == ["completed"]
    assert tuner.refitted.saved() is None


def test_a_refit_that_fails_is_said_even_when_quiet(tmp_path, tiny_classification):
    # verbose=0 fell back to the best trial's model without a word.
    x, y = tiny_classification
    tuner = keras_hpo.RandomSearch(
        FailsWithoutValidation(num_classes=3, num_layers=1, units=8),
        max_trials=1,
        directory=str(tmp_path),
        tensorboard_dir=None,
        verbose=0,
    )
    with pytest.warns(RuntimeWarning, match=r"No refit \(no validation rows in th"):
        tuner.search(x, y, validation_split=0.25, epochs=1)
    assert tuner.refitted.saved() is None
    assert tuner.best_estimator_ is tuner.best_model()
