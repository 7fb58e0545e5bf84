"""One contract, every strategy: the promises each keras_hpo oracle keeps.

The oracles are driven directly through keras-tuner's protocol
(``create_trial`` / ``update_trial`` / ``end_trial``) with a cheap synthetic
objective: no Keras model is built or trained here.
"""

from __future__ import annotations

import json
import math

import keras_tuner
import pytest
from keras_tuner.engine import hyperparameters as kt_hp

from keras_hpo.oracles import BayesianOracle
from keras_hpo.oracles import GridOracle
from keras_hpo.oracles import RandomOracle

STRATEGIES = {
    "grid": (GridOracle, {}),
    "random": (RandomOracle, {}),
    # A short initial design, so that most trials come from the model.
    "bayesian": (BayesianOracle, {"num_initial_points": 4}),
}
ALL = sorted(STRATEGIES)
SEEDED = ["bayesian", "random"]

# keras-tuner's lock helper calls threading.currentThread() on every call.
pytestmark = pytest.mark.filterwarnings(
    "ignore::DeprecationWarning:keras_tuner.src.engine.oracle"
)


# -- search spaces -------------------------------------------------------------
def discrete_space() -> keras_tuner.HyperParameters:
    """Every kind of discrete hyperparameter; 2*3*2*2*3*3 = 216 combinations."""
    hp = keras_tuner.HyperParameters()
    hp.Int("layers", 1, 2)
    hp.Int("units", 16, 48, step=16)
    hp.Choice("activation", ["relu", "tanh"])
    hp.Boolean("bias")
    hp.Fixed("batch_size", 32)
    hp.Choice("optimizer", ["adam", "sgd"])
    with hp.conditional_scope("optimizer", ["sgd"]):
        hp.Choice("momentum", [0.0, 0.9])
    hp.Float("dropout", 0.0, 0.5, step=0.25)
    return hp


def mixed_space() -> keras_tuner.HyperParameters:
    """Continuous, stepped, categorical, fixed and conditional together."""
    hp = keras_tuner.HyperParameters()
    hp.Int("layers", 1, 4)
    hp.Int("units", 16, 128, step=16)
    hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    hp.Float("dropout", 0.0, 0.5, step=0.1)
    hp.Choice("activation", ["relu", "tanh", "gelu"])
    hp.Boolean("batch_norm")
    hp.Fixed("batch_size", 32)
    hp.Choice("optimizer", ["adam", "sgd"])
    with hp.conditional_scope("optimizer", ["sgd"]):
        hp.Float("momentum", 0.0, 0.9)
    return hp


def space_for(strategy: str) -> keras_tuner.HyperParameters:
    return discrete_space() if strategy == "grid" else mixed_space()


def six_product() -> keras_tuner.HyperParameters:
    hp = keras_tuner.HyperParameters()
    hp.Choice("activation", ["relu", "tanh", "gelu"])
    hp.Boolean("bias")
    return hp


def six_conditional() -> keras_tuner.HyperParameters:
    """adam x amsgrad (2) + sgd x momentum (3) + rmsprop (1) = 6."""
    hp = keras_tuner.HyperParameters()
    hp.Choice("optimizer", ["adam", "sgd", "rmsprop"])
    with hp.conditional_scope("optimizer", ["adam"]):
        hp.Boolean("amsgrad")
    with hp.conditional_scope("optimizer", ["sgd"]):
        hp.Choice("momentum", [0.0, 0.5, 0.9])
    return hp


def six_int_steps() -> keras_tuner.HyperParameters:
    hp = keras_tuner.HyperParameters()
    hp.Int("units", 16, 96, step=16)
    hp.Fixed("batch_size", 32)
    return hp


def six_float_steps() -> keras_tuner.HyperParameters:
    hp = keras_tuner.HyperParameters()
    hp.Float("dropout", 0.0, 0.5, step=0.1)
    return hp


#: Six-configuration spaces and their configurations, listed by hand.
SIX = {
    "product": (
        six_product,
        [
            {"activation": a, "bias": b}
            for a in ("relu", "tanh", "gelu")
            for b in (False, True)
        ],
    ),
    "conditional": (
        six_conditional,
        [
            {"optimizer": "adam", "amsgrad": False},
            {"optimizer": "adam", "amsgrad": True},
            {"optimizer": "sgd", "momentum": 0.0},
            {"optimizer": "sgd", "momentum": 0.5},
            {"optimizer": "sgd", "momentum": 0.9},
            {"optimizer": "rmsprop"},
        ],
    ),
    "int_steps": (
        six_int_steps,
        [{"units": u, "batch_size": 32} for u in (16, 32, 48, 64, 80, 96)],
    ),
    # 0.5 / 0.1 is 4.999... in floating point: the top value must not be lost.
    "float_steps": (
        six_float_steps,
        [{"dropout": d} for d in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)],
    ),
}


# -- driving an oracle ---------------------------------------------------------
def synthetic_score(values: dict) -> float:
    """A cheap objective (lower is better) that depends on every kind of value."""
    score = 0.0
    for name, value in sorted(values.items()):
        if isinstance(value, bool):
            score += 0.3 * value
        elif isinstance(value, int):
            score += 0.01 * value
        elif isinstance(value, float):
            score += (
                (math.log10(value) + 2.5) ** 2 if name == "learning_rate" else value
            )
        else:
            score += 0.1 * len(value)
    return score


def make_oracle(strategy: str, hp, directory, *, seed=0, max_trials=None, **extra):
    cls, defaults = STRATEGIES[strategy]
    oracle = cls(
        objective=keras_tuner.Objective("score", "min"),
        max_trials=max_trials,
        hyperparameters=hp,
        seed=seed,
        **{**defaults, **extra},
    )
    oracle._set_project_dir(str(directory), "p")
    oracle.verbose = 0
    return oracle


def finish(oracle, trial) -> None:
    oracle.update_trial(
        trial.trial_id, {"score": synthetic_score(trial.hyperparameters.values)}
    )
    trial.status = "COMPLETED"
    oracle.end_trial(trial)


def run(oracle, num_trials: int, *, concurrent: int = 1) -> tuple[list[dict], bool]:
    """Runs up to ``num_trials`` trials, ``concurrent`` of them pending at once.

    Each round creates ``concurrent`` trials for different tuner IDs before
    ending any of them.

    Returns:
        The values of every trial created, in creation order, and whether the
        oracle answered STOPPED. IDLE (a grid with nothing new while trials
        run: they may declare hyperparameters) ends a round early.
    """
    created: list[dict] = []
    stopped = False
    while len(created) < num_trials and not stopped:
        running = []
        for worker in range(min(concurrent, num_trials - len(created))):
            trial = oracle.create_trial(f"worker-{worker}")
            if trial.status == "IDLE":
                assert running, "IDLE with no trial running"
                break
            if trial.status == "STOPPED":
                stopped = True
                break
            assert trial.status == "RUNNING"
            running.append(trial)
            created.append(dict(trial.hyperparameters.values))
        for trial in running:
            finish(oracle, trial)
    return created, stopped


def key(values: dict) -> frozenset:
    return frozenset(values.items())


def check_values(hp: keras_tuner.HyperParameters, values: dict) -> None:
    """Asserts that ``values`` is a valid, fully typed configuration of ``hp``."""
    names = {h.name for h in hp.space}
    assert set(values) <= names, f"values outside the space: {values}"
    for h in hp.space:
        active = all(condition.is_active(values) for condition in h.conditions)
        if not active:
            assert h.name not in values, f"inactive {h.name!r} got a value: {values}"
            continue
        assert h.name in values, f"active {h.name!r} has no value: {values}"
        value = values[h.name]
        if isinstance(h, kt_hp.Fixed):
            assert value == h.value and type(value) is type(h.value)
        elif isinstance(h, kt_hp.Boolean):
            assert type(value) is bool
        elif isinstance(h, kt_hp.Choice):
            assert value in h.values
            assert type(value) is type(h.values[0])
        elif isinstance(h, kt_hp.Int):
            assert type(value) is int, (h.name, value)
            assert h.min_value <= value <= h.max_value, (h.name, value)
            if h.step is not None:
                assert (value - h.min_value) % h.step == 0, (h.name, value)
        elif isinstance(h, kt_hp.Float):
            assert type(value) is float, (h.name, value)
            assert h.min_value <= value <= h.max_value, (h.name, value)
            if h.step is not None:
                index = (value - h.min_value) / h.step
                assert abs(index - round(index)) < 1e-9, (h.name, value)
        else:  # pragma: no cover - the spaces above use only these types
            raise AssertionError(f"unexpected hyperparameter {h!r}")


# -- the contract --------------------------------------------------------------
@pytest.mark.parametrize("strategy", ALL)
def test_values_are_valid_and_typed(strategy, tmp_path):
    oracle = make_oracle(strategy, space_for(strategy), tmp_path)
    created, stopped = run(oracle, 16)
    assert len(created) == 16 and not stopped
    for values in created:
        check_values(space_for(strategy), values)
    # Both branches of the conditional are explored, so both were checked.
    assert {v["optimizer"] for v in created} == {"adam", "sgd"}
    assert any("momentum" in v for v in created)
    assert any("momentum" not in v for v in created)
    # The oracle's own records agree with what the trials were handed.
    for trial in oracle.trials.values():
        check_values(space_for(strategy), trial.hyperparameters.values)
        assert trial.status == "COMPLETED"


@pytest.mark.parametrize("strategy", SEEDED)
def test_log_range_is_searched_on_a_log_scale(strategy, tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    hp.Int("units", 1, 1000)
    # Bayesian: a long quasi-random design, so no model is involved here.
    extra = {"num_initial_points": 32} if strategy == "bayesian" else {}
    oracle = make_oracle(strategy, hp, tmp_path, **extra)
    created, _ = run(oracle, 32)
    # Log-uniform: half below the geometric midpoint 10**-2.5 (a linear scale
    # would put 3 % there), and every decade visited.
    below = sum(v["learning_rate"] < 10**-2.5 for v in created)
    assert 10 <= below <= 22
    decades = {math.floor(math.log10(v["learning_rate"])) for v in created}
    assert decades == {-4, -3, -2}


@pytest.mark.parametrize("strategy", ALL)
def test_same_seed_same_sequence(strategy, tmp_path):
    sequences = []
    for run_index in range(2):
        oracle = make_oracle(
            strategy, space_for(strategy), tmp_path / str(run_index), seed=1234
        )
        sequences.append(run(oracle, 8)[0])
    assert sequences[0] == sequences[1]
    assert len({key(v) for v in sequences[0]}) == 8


@pytest.mark.parametrize("strategy", SEEDED)
def test_seed_zero_is_a_seed(strategy, tmp_path):
    first = make_oracle(strategy, mixed_space(), tmp_path / "a", seed=0)
    second = make_oracle(strategy, mixed_space(), tmp_path / "b", seed=0)
    other = make_oracle(strategy, mixed_space(), tmp_path / "c", seed=1)
    assert first.seed == 0 and second.seed == 0 and other.seed == 1
    sequence = run(first, 6)[0]
    assert run(second, 6)[0] == sequence
    other_sequence = run(other, 6)[0]
    assert other_sequence != sequence
    # Not merely a permutation or a shifted copy: the first proposals differ.
    assert other_sequence[0] != sequence[0]


@pytest.mark.parametrize("concurrent", [1, 4])
@pytest.mark.parametrize("strategy", ALL)
def test_never_proposes_a_configuration_twice(strategy, concurrent, tmp_path):
    oracle = make_oracle(strategy, space_for(strategy), tmp_path)
    created, stopped = run(oracle, 16, concurrent=concurrent)
    assert len(created) == 16 and not stopped
    assert len({key(v) for v in created}) == 16


@pytest.mark.parametrize("strategy", ALL)
def test_pending_trials_are_never_duplicated(strategy, tmp_path):
    # Four workers hold trials at once, and none of them ends: every
    # suggestion must differ from the running ones.
    oracle = make_oracle(strategy, six_product(), tmp_path)
    trials = [oracle.create_trial(f"worker-{i}") for i in range(4)]
    assert [t.status for t in trials] == ["RUNNING"] * 4
    assert len({key(t.hyperparameters.values) for t in trials}) == 4
    assert len(oracle.ongoing_trials) == 4


@pytest.mark.parametrize("space", sorted(SIX))
@pytest.mark.parametrize("strategy", ALL)
def test_stops_exactly_when_a_finite_space_is_exhausted(strategy, space, tmp_path):
    build, expected = SIX[space]
    oracle = make_oracle(strategy, build(), tmp_path)
    created = []
    for _ in range(6):
        trial = oracle.create_trial("tuner0")
        assert trial.status == "RUNNING", f"stopped after {len(created)} trials"
        created.append(dict(trial.hyperparameters.values))
        finish(oracle, trial)
    for _ in range(2):  # and it stays stopped
        assert oracle.create_trial("tuner0").status == "STOPPED"
    assert len(oracle.trials) == 6
    assert len({key(v) for v in created}) == 6
    if space == "float_steps":
        assert sorted(v["dropout"] for v in created) == pytest.approx(
            [0.0, 0.1, 0.2, 0.3, 0.4, 0.5], abs=1e-12
        )
    else:
        assert {key(v) for v in created} == {key(v) for v in expected}
    for values in created:
        check_values(build(), values)


@pytest.mark.parametrize("strategy", ALL)
def test_stops_when_exhausted_with_trials_pending(strategy, tmp_path):
    build, expected = SIX["conditional"]
    oracle = make_oracle(strategy, build(), tmp_path)
    created, stopped = run(oracle, 100, concurrent=4)
    assert stopped
    assert len(created) == 6
    assert {key(v) for v in created} == {key(v) for v in expected}
    assert len(oracle.trials) == 6
    assert oracle.create_trial("late-worker").status == "STOPPED"


@pytest.mark.parametrize("strategy", ALL)
def test_max_trials_stops_the_search(strategy, tmp_path):
    oracle = make_oracle(strategy, space_for(strategy), tmp_path, max_trials=5)
    created, stopped = run(oracle, 100)
    assert stopped
    assert len(created) == 5
    assert len(oracle.trials) == 5


@pytest.mark.parametrize("strategy", ALL)
def test_continues_after_save_and_reload(strategy, tmp_path):
    straight = make_oracle(strategy, space_for(strategy), tmp_path / "straight")
    expected, _ = run(straight, 10)

    first = make_oracle(strategy, space_for(strategy), tmp_path / "resumed")
    before, _ = run(first, 5)
    first.save()
    del first
    second = make_oracle(strategy, space_for(strategy), tmp_path / "resumed")
    second.reload()
    assert len(second.trials) == 5
    assert second.seed == 0
    after, _ = run(second, 5)

    assert before + after == expected
    assert len({key(v) for v in before + after}) == 10
    assert len(second.trials) == 10


@pytest.mark.parametrize("strategy", ALL)
def test_a_kill_after_a_trial_started_reruns_it_and_changes_nothing_else(
    strategy, tmp_path
):
    # oracle.json is written when a trial ends, not when one starts (the
    # trial's own file records the start): a kill in between must leave a
    # search that reruns the started trial, under its ID, and then goes on
    # exactly as a search that was never killed.
    straight = make_oracle(strategy, space_for(strategy), tmp_path / "straight")
    expected, _ = run(straight, 10)

    first = make_oracle(strategy, space_for(strategy), tmp_path / "killed")
    before, _ = run(first, 4)
    state_file = tmp_path / "killed" / "p" / "oracle.json"
    saved = state_file.read_bytes()
    started = first.create_trial("worker-0")
    assert started.status == "RUNNING"
    # Only its trial.json was written, unless proposing changed the oracle's
    # own state (the Bayesian oracle's fitted kernel).
    assert (state_file.read_bytes() == saved) is not first.proposals_change_state
    del first  # killed: nothing else is written

    second = make_oracle(strategy, space_for(strategy), tmp_path / "killed")
    second.reload()
    again = second.create_trial("worker-7")
    assert again.trial_id == started.trial_id == "0004"
    assert again.hyperparameters.values == started.hyperparameters.values
    finish(second, again)
    after, _ = run(second, 5)
    assert before + [started.hyperparameters.values] + after == expected
    assert sorted(second.trials) == [f"{i:04d}" for i in range(10)]


@pytest.mark.parametrize("strategy", ALL)
def test_the_state_lists_proposals_by_id_and_reload_recalls_their_values(
    strategy, tmp_path
):
    # oracle.json is rewritten at each trial: it names each proposed trial
    # and the values come back from the trials' own files.
    first = make_oracle(strategy, space_for(strategy), tmp_path)
    run(first, 4)
    running = first.create_trial("worker-9")
    first.save()
    state = json.loads((tmp_path / "p" / "oracle.json").read_text())
    assert state["proposed"] == ["0000", "0001", "0002", "0003", "0004"]
    assert running.trial_id == "0004"
    second = make_oracle(strategy, space_for(strategy), tmp_path)
    second.reload()
    assert second.proposed == first.proposed
    assert len(second.proposed["0004"]) > 0
    assert second.proposed["0004"] == running.hyperparameters.values


def test_a_state_saved_with_the_proposed_values_resumes_as_before(tmp_path):
    # Earlier versions saved every proposal's values in oracle.json.
    straight = make_oracle("random", space_for("random"), tmp_path / "straight")
    expected, _ = run(straight, 8)
    first = make_oracle("random", space_for("random"), tmp_path / "old")
    before, _ = run(first, 4)
    first.save()
    path = tmp_path / "old" / "p" / "oracle.json"
    state = json.loads(path.read_text())
    state["proposed"] = {k: dict(v) for k, v in first.proposed.items()}
    path.write_text(json.dumps(state))
    second = make_oracle("random", space_for("random"), tmp_path / "old")
    second.reload()
    assert second.proposed == first.proposed
    after, _ = run(second, 4)
    assert before + after == expected


@pytest.mark.parametrize("strategy", ALL)
def test_reload_exhausts_a_finite_space_without_repeats(strategy, tmp_path):
    build, expected = SIX["product"]
    first = make_oracle(strategy, build(), tmp_path)
    before, _ = run(first, 4)
    first.save()
    second = make_oracle(strategy, build(), tmp_path)
    second.reload()
    after, stopped = run(second, 10)
    assert stopped
    assert len(after) == 2
    assert {key(v) for v in before + after} == {key(v) for v in expected}


def test_tried_configurations_key_only_the_records_that_changed():
    # A proposal must not cost more as trials accumulate: the records are
    # keyed again only when they change, or when the space does.
    from keras_hpo.oracles.tried import TriedConfigurations

    keyed = []

    def key_of(values):
        keyed.append(dict(values))
        return repr(sorted(values.items()))

    tried = TriedConfigurations(key_of)
    records = {str(i): {"a": i} for i in range(100)}
    ended = set(records)
    tried.update("space", records, ended.__contains__)
    assert len(keyed) == 100
    keyed.clear()
    records["100"] = {"a": 100}
    tried.changed("100")  # proposed, running: matched exactly
    tried.update("space", records, ended.__contains__)
    assert keyed == [{"a": 100}]
    assert tried.is_tried({"a": 100})
    assert not tried.is_tried({"a": 100, "b": 1})
    records["100"] = {"a": 100, "b": 0}  # it ended, having declared b=0
    ended.add("100")
    tried.changed("100")
    tried.update("space", records, ended.__contains__)
    assert tried.is_tried({"a": 100, "b": 0})
    assert not tried.is_tried({"a": 100, "b": 1})
    assert tried.is_tried({"a": 7, "b": 1})  # record 7 never reached b
    keyed.clear()
    tried.update("space", records, ended.__contains__)
    assert keyed == []  # nothing changed: nothing keyed
    tried.update("another space", records, ended.__contains__)
    assert len(keyed) == 101
