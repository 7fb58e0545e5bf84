"""After the search: hyperparameter importance, feature importance, ensembles.

Importance is checked where the answer is known (synthetic scores of known
dependence, no training) and against Optuna's fANOVA on the trials of a real
digits search; permutation importance on a table whose target depends on
two known columns; ensembles on the same digits search, from the tuner and
from disk, through ``model.save`` and ``keras.models.load_model``.
"""

from __future__ import annotations

import json
import math
import os
import shutil

import keras
import numpy as np
import pandas as pd
import pytest
from conftest import digits_tuner
from conftest import installed
from keras_hpo.callbacks.hparams import order_hyperparameters
from keras_hpo.callbacks.tensorboard import EXPERIMENT_FILES
from keras_tuner.engine import hyperparameters as kt_hp
from scipy.stats import spearmanr
from tb_reading import event_files
from tb_reading import hparams
from tb_reading import read_logs

import keras_hpo
from keras_hpo.analysis.ensemble import greedy_weights
from keras_hpo.analysis.importance import hyperparameter_importance
from keras_hpo.analysis.source import Trials
from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.results import TrialStatus


def space() -> list:
    hp = kt_hp.HyperParameters()
    hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    hp.Int("num_layers", 1, 3)
    hp.Int("units", 16, 512)
    hp.Choice("activation", ["relu", "tanh", "gelu"])
    hp.Float("dropout", 0.0, 0.5)
    with hp.conditional_scope("num_layers", [3]):
        hp.Int("units_2", 16, 512)
    return list(hp.space)


def synthetic(score, n: int = 80, seed: int = 0) -> Trials:
    """``n`` trials of random values in `space`, scored by ``score(values)``."""
    rng = np.random.default_rng(seed)
    results = []
    for i in range(n):
        values = {
            "learning_rate": float(10 ** rng.uniform(-4, -1)),
            "num_layers": int(rng.integers(1, 4)),
            "units": int(rng.integers(16, 513)),
            "activation": str(rng.choice(["relu", "tanh", "gelu"])),
            "dropout": float(rng.uniform(0, 0.5)),
        }
        if values["num_layers"] == 3:  # conditional: absent when inactive
            values["units_2"] = int(rng.integers(16, 513))
        results.append(
            TrialResult(
                trial_id=f"{i:04d}",
                number=i + 1,
                values=values,
                status=TrialStatus.COMPLETED,
                score=score(values) + rng.normal(0, 0.005),
            )
        )
    results.append(  # a failed trial counts for nothing
        TrialResult("fail", n + 1, dict(results[0].values), TrialStatus.FAILED)
    )
    return Trials(results, "val_accuracy", "max", space())


def bowl(values) -> float:
    """Best at learning_rate 3e-3, on a log scale."""
    return -((math.log10(values["learning_rate"]) + 2.5) ** 2)


def test_importance_of_an_objective_of_learning_rate_only():
    shares = hyperparameter_importance(synthetic(bowl))
    assert next(iter(shares)) == "learning_rate"
    assert shares["learning_rate"] > 0.8
    assert sum(shares.values()) == pytest.approx(1.0)
    assert set(shares) == {n for n in (h.name for h in space())}
    # Reproducible with a seed; another seed, another forest.
    assert hyperparameter_importance(synthetic(bowl)) == shares
    assert hyperparameter_importance(synthetic(bowl), seed=1) != shares


def test_importance_of_two_relevant_hyperparameters():
    def two(values):
        return bowl(values) + 0.8 * (values["activation"] == "tanh")

    shares = hyperparameter_importance(synthetic(two))
    top = list(shares)[:2]
    assert set(top) == {"learning_rate", "activation"}
    rest = [v for n, v in shares.items() if n not in top]
    assert min(shares["learning_rate"], shares["activation"]) > max(rest)


def test_importance_of_a_conditional_hyperparameter():
    # units_2 matters where it is active: its share must show it.
    def third(values):
        return -abs(values.get("units_2", 300) - 300) / 100

    shares = hyperparameter_importance(synthetic(third, n=120))
    assert next(iter(shares)) == "units_2"


def test_importance_refuses_too_few_trials_and_bad_arguments():
    two = synthetic(bowl, n=1)
    with pytest.raises(ValueError, match="at least 2 finished trials; this has 1"):
        hyperparameter_importance(two)
    with pytest.raises(keras_hpo.ConfigError, match="n_trees"):
        hyperparameter_importance(synthetic(bowl), n_trees=0)
    with pytest.raises(TypeError, match="search must be a keras_hpo tuner"):
        hyperparameter_importance([1, 2])
    constant = synthetic(lambda v: 0.5)
    for r in constant.results:
        r.score = 0.5 if r.ok else None
    assert set(hyperparameter_importance(constant).values()) == {0.0}


@pytest.fixture(scope="module")
def digits_search(finished_digits_search):
    return finished_digits_search


def optuna_importance(trials: Trials, seed: int, log_scale: bool) -> dict:
    """Optuna's fANOVA importances of the same trials."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    distributions, encode = {}, {}
    for hp in trials.space:
        if isinstance(hp, (kt_hp.Int, kt_hp.Float)):
            log = log_scale and hp.sampling == "log"
            low, high = (
                (math.log(hp.min_value), math.log(hp.max_value))
                if log
                else (
                    hp.min_value,
                    hp.max_value,
                )
            )
            distributions[hp.name] = optuna.distributions.FloatDistribution(low, high)
            encode[hp.name] = math.log if log else float
        elif isinstance(hp, kt_hp.Choice) and len(hp.values) > 1:
            distributions[hp.name] = optuna.distributions.CategoricalDistribution(
                hp.values
            )
            encode[hp.name] = lambda v: v
    study = optuna.create_study(direction="maximize")
    for result in trials.finished():
        params = {n: encode[n](v) for n, v in result.values.items() if n in encode}
        study.add_trial(
            optuna.trial.create_trial(
                params=params,
                distributions={n: distributions[n] for n in params},
                value=result.score,
            )
        )
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    return optuna.importance.get_param_importances(study, evaluator=evaluator)


@pytest.mark.skipif(not installed("optuna"), reason="optuna is not installed")
def test_importance_agrees_with_optuna_on_a_digits_search(digits_search):
    tuner, _ = digits_search
    trials = keras_hpo.analysis.trials_of(tuner)
    assert len(trials.finished()) == 12
    ours, theirs = {}, {}
    for seed in (0, 1, 2):
        shares = tuner.importance(seed=seed)
        assert shares == keras_hpo.load(tuner.project_dir).importance(seed=seed)
        # Optuna measures log-sampled hyperparameters on a linear scale; given
        # them on the log scale they are sampled on (as we measure them), the
        # two fANOVAs answer the same question.
        other = optuna_importance(trials, seed, log_scale=True)
        assert set(shares) == set(other)
        for name in shares:
            ours[name] = ours.get(name, 0.0) + shares[name] / 3
            theirs[name] = theirs.get(name, 0.0) + float(other[name]) / 3
    # Averaged over 3 forests each: the same two most important, every pair
    # that Optuna tells apart (shares more than 0.05 apart) in the same order,
    # and each share within 0.1 of Optuna's.
    names = sorted(ours, key=ours.get, reverse=True)
    rho = spearmanr([ours[n] for n in names], [theirs[n] for n in names])[0]
    print(f"ours {ours}\noptuna {theirs}\nSpearman {rho:.2f}")
    assert names[:2] == sorted(theirs, key=theirs.get, reverse=True)[:2]
    for a in names:
        for b in names:
            if theirs[a] - theirs[b] > 0.05:
                assert ours[a] > ours[b], (a, b)
        assert abs(ours[a] - theirs[a]) <= 0.1, a


def test_ensemble_of_the_top_three(digits_search, tmp_path):
    tuner, (x_test, y_test) = digits_search
    top = [r.trial_id for r in keras_hpo.analysis.trials_of(tuner).ranked()[:3]]
    model = tuner.ensemble(3)
    members = [tuner.load_model(tuner.oracle.get_trial(t)) for t in top]
    mean = np.mean([m.predict(x_test, verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(model.predict(x_test, verbose=0), mean, atol=1e-5)
    # Its record: members, and both scores on the search's validation data.
    record = json.loads(open(os.path.join(tuner.project_dir, "ensemble.json")).read())
    assert record == json.loads(json.dumps(tuner.ensemble_record_))
    assert record["members"] == top and record["method"] == "mean"
    assert record["scored_on"] == "the search's validation data"
    assert record["best_trial_score"] == pytest.approx(tuner.best_score_, abs=1e-6)
    assert 0.5 < record["score"] <= 1.0
    # Saved and loaded as an ordinary Keras model.
    path = str(tmp_path / "ensemble.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(x_test, verbose=0), model.predict(x_test, verbose=0), atol=1e-6
    )


def test_vote_ensemble_from_disk(digits_search, tmp_path):
    tuner, (x_test, y_test) = digits_search
    saved = keras_hpo.load(tuner.project_dir)
    model = saved.ensemble(3, "vote", validation_data=(x_test, y_test))
    votes = model.predict(x_test, verbose=0)
    members = [saved.trial_model(t) for t in saved.ensemble_record_["members"]]
    picks = np.stack([m.predict(x_test, verbose=0).argmax(-1) for m in members])
    majority = [np.bincount(p, minlength=10).max() for p in picks.T]
    np.testing.assert_allclose(votes.max(-1), np.array(majority) / 3, atol=1e-3)
    record = saved.ensemble_record_
    assert record["scored_on"] == "validation_data"
    accuracy = float(np.mean(votes.argmax(-1) == y_test))
    assert record["score"] == pytest.approx(accuracy)
    path = str(tmp_path / "vote.keras")
    model.save(path)
    np.testing.assert_allclose(
        keras.models.load_model(path).predict(x_test, verbose=0), votes, atol=1e-6
    )


def test_ensemble_refusals(digits_search):
    tuner, _ = digits_search
    with pytest.raises(keras_hpo.ConfigError, match="more than the 3 trials whose"):
        tuner.ensemble(4)
    with pytest.raises(keras_hpo.ConfigError, match="`method`.*'median'"):
        tuner.ensemble(2, "median")
    with pytest.raises(keras_hpo.ConfigError, match="`k`: must be >= 1"):
        tuner.ensemble(0)


def housing(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A table whose target depends on two of its six columns only."""
    rng = np.random.default_rng(seed)
    names = ["MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup"]
    table = pd.DataFrame(rng.normal(size=(rows, 6)).astype("float32"), columns=names)
    target = 2.0 * table["MedInc"] - 1.5 * table["AveOccup"]
    return table, (target + rng.normal(0, 0.05, rows)).to_numpy("float32")


def test_feature_importance_ranks_the_two_columns_the_target_uses(tmp_path):
    x, y = housing(400, 0)
    x_test, y_test = housing(200, 1)
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(
            task="regression", num_layers=1, units=32, learning_rate=1e-2
        ),
        max_trials=1,
        seed=0,
        directory=str(tmp_path),
        tensorboard_dir=None,
        verbose=0,
    )
    tuner.search(x.to_numpy(), y, validation_split=0.2, epochs=10)
    found = tuner.feature_importance(
        x_test.to_numpy(), y_test, feature_names=list(x_test.columns)
    )
    assert list(found)[:2] == ["MedInc", "AveOccup"]
    assert found["MedInc"]["mean"] > found["AveOccup"]["mean"] > 0.3
    assert all(found[n]["mean"] < 0.05 for n in list(found)[2:])
    # A DataFrame names its columns itself; from disk, the same answer.
    saved = keras_hpo.load(tuner.project_dir)
    found = saved.feature_importance(x_test, y_test, n_repeats=2)
    assert list(found)[:2] == ["MedInc", "AveOccup"]
    with pytest.raises(keras_hpo.ConfigError, match="`feature_names`"):
        tuner.feature_importance(x_test.to_numpy(), y_test, feature_names=["a"])
    # y shorter than x is named, not left to scikit-learn's "inconsistent numbers".
    short = "`y`: not one label per sample of x (200 samples). Received: y=150 labels"
    for search in (tuner, saved):
        for call in (search.feature_importance, search.score):
            with pytest.raises(keras_hpo.ConfigError) as info:
                call(x_test, y_test[:150])
            assert str(info.value).startswith(short)


def test_importance_orders_the_tensorboard_hparams_columns(
    digits_search, digits, tmp_path
):
    tuner, _ = digits_search
    log_dir = tuner.tensorboard_dir
    shares = tuner.importance()
    _, texts = read_logs(log_dir)
    table = texts["search"]["importance"][-1].splitlines()
    assert table[0] == "| rank | hyperparameter | share of variance (fANOVA) |"
    assert [row.split(" | ")[1] for row in table[2:]] == list(shares)
    # The experiment, written again at the end: its columns in the order of
    # importance, the file written at the search's start replaced
    # (TensorBoard keeps the first experiment it reads).
    experiment, sessions, _ = hparams(log_dir)
    space = tuner.oracle.get_space().space
    expected = [hp.name for hp in order_hyperparameters(space, list(shares))]
    assert [i.name for i in experiment.hparam_infos] == [*expected, "trial_status"]
    assert expected[: len(shares)] == list(shares)
    assert len(sessions) == 12
    root = [f for f in event_files(log_dir) if os.sep not in f]
    with open(os.path.join(log_dir, EXPERIMENT_FILES)) as handle:
        assert json.load(handle)["files"] == root and len(root) == 1

    # A copy with an event file that is not ours: nothing is replaced, and
    # the foreign file is left as it was.
    copy = tmp_path / "copy"
    shutil.copytree(tuner.directory, copy)
    logs = copy / "digits" / "tensorboard"
    foreign = logs / "events.out.tfevents.1.someone-else"
    foreign.write_bytes(b"not ours")
    x_train, _, y_train, _ = digits
    digits_tuner(str(copy)).search(x_train, y_train, validation_split=0.2, epochs=2)
    assert sorted(f for f in event_files(logs) if os.sep not in f) == sorted(
        [*root, foreign.name]
    )
    assert foreign.read_bytes() == b"not ours"


def test_greedy_weights_start_from_the_best_member_and_keep_what_improves_it():
    labels = np.array([0, 1, 2, 0, 1, 2])
    good = np.eye(3)[labels] * 0.8 + 0.2 / 3
    bad = np.full((6, 3), 1 / 3)
    for by in ("loss", "accuracy"):
        assert greedy_weights([good, bad, bad], labels, "classification", by=by) == [
            1,
            0,
            0,
        ]
        # Two members right on different halves: their average beats each alone.
        left, right = good.copy(), good.copy()
        left[3:], right[:3] = bad[3:], bad[:3]
        weights = greedy_weights([left, right], labels, "classification", by=by)
        assert weights == [0.5, 0.5]
    # The first member is where it starts, even when another is better.
    weights = greedy_weights([bad, good], labels, "classification")
    assert weights[0] > 0 and weights[1] > weights[0]
    values = np.array([1.0, 2.0, 3.0])
    assert greedy_weights(
        [values[:, None] + 1, values[:, None] - 1], values, "regression"
    ) == [0.5, 0.5]


def test_greedy_weights_by_accuracy_refuse_a_member_that_only_lowers_the_loss():
    labels = np.array([0, 0, 0, 0, 0, 0])
    # Right on every row, but barely: accuracy 1, cross-entropy -log(0.4).
    timid = np.tile([0.4, 0.3, 0.3], (6, 1))
    # Sure and right on five rows, sure and wrong on the last one.
    bold = np.tile([0.98, 0.01, 0.01], (6, 1))
    bold[5] = [0.01, 0.98, 0.01]
    # Their average has the lower cross-entropy but gets the last row wrong.
    assert greedy_weights([timid, bold], labels, "classification") != [1, 0]
    assert greedy_weights([timid, bold], labels, "classification", by="accuracy") == [
        1,
        0,
    ]
    # At equal accuracy, the lower cross-entropy wins.
    sure = np.tile([0.9, 0.05, 0.05], (6, 1))
    weights = greedy_weights([timid, sure], labels, "classification", by="accuracy")
    assert weights[1] > 0
    binary = np.array([1, 1, 0, 0])
    assert greedy_weights(
        [
            np.array([[0.6], [0.6], [0.4], [0.4]]),
            np.array([[0.9], [0.1], [0.1], [0.1]]),
        ],
        binary,
        "binary",
        by="accuracy",
    ) == [1, 0]


def test_greedy_weights_name_a_bad_criterion():
    labels = np.array([0, 1])
    with pytest.raises(
        ValueError, match=r"`by`: is not a criterion.*'loss' or 'accuracy'"
    ):
        greedy_weights([np.eye(2)], labels, "classification", by="f1")
    with pytest.raises(ValueError, match=r"`by`: needs classifiers.*regression"):
        greedy_weights([np.ones((2, 1))], labels, "regression", by="accuracy")


def test_greedy_ensemble_weights_the_members_on_the_validation_data(
    digits_search, tmp_path
):
    tuner, (x_test, y_test) = digits_search
    model = tuner.ensemble(3, "greedy")
    record = tuner.ensemble_record_
    weights = record["weights"]
    assert len(weights) == 3 and sum(weights) == pytest.approx(1.0)
    assert record["scored_on"] == "the search's validation data"
    # It starts from the best trial and keeps only what raises the accuracy
    # (or keeps it and lowers the loss), on the data it is scored on.
    assert weights[0] > 0 and record["selected_by"] == "accuracy"
    assert record["score"] >= record["best_trial_score"]
    members = [tuner.load_model(tuner.oracle.get_trial(t)) for t in record["members"]]
    expected = sum(
        w * m.predict(x_test, verbose=0) for w, m in zip(weights, members, strict=True)
    )
    np.testing.assert_allclose(model.predict(x_test, verbose=0), expected, atol=1e-5)
    path = str(tmp_path / "greedy.keras")
    model.save(path)
    np.testing.assert_allclose(
        keras.models.load_model(path).predict(x_test, verbose=0), expected, atol=1e-5
    )
    saved = keras_hpo.load(tuner.project_dir)
    with pytest.raises(keras_hpo.ConfigError, match="`validation_data`: is needed"):
        saved.ensemble(3, "greedy")
    saved.ensemble(3, "greedy", validation_data=(x_test, y_test))
    assert saved.ensemble_record_["selected_by"] == "accuracy"
    assert saved.ensemble_record_["weights"][0] > 0


def test_a_greedy_ensemble_needs_a_hypermodel_that_says_what_it_predicts(tmp_path):
    # A plain build function does not say whether its models classify or
    # regress, so there is no loss to choose the members' weights by.
    def build(hp):
        units = hp.Choice("units", [2, 3])
        model = keras.Sequential(
            [keras.Input((4,)), keras.layers.Dense(units), keras.layers.Dense(2)]
        )
        model.compile(optimizer="adam", loss="mse")
        return model

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype("float32")
    y = rng.normal(size=(40, 2)).astype("float32")
    tuner = keras_hpo.GridSearch(
        build, "val_loss", directory=tmp_path, verbose=0, refit=False
    )
    tuner.search(x, y, epochs=1, validation_split=0.25)
    with pytest.raises(
        keras_hpo.ConfigError,
        match=r"`method`: needs to know what the models predict.*'greedy'.*'mean'",
    ):
        tuner.ensemble(2, "greedy")
    # The mean needs no loss; it is not scored either (nothing says how).
    model = tuner.ensemble(2, "mean")
    members = tuner.get_best_models(2)
    expected = np.mean([m.predict(x, verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5)
    assert tuner.ensemble_record_["score"] is None
    assert "needs to know what the model predicts" in tuner.ensemble_record_["unscored"]
