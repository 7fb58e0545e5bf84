"""A fused model trains each slice exactly as the slice's own model would."""

from __future__ import annotations

import keras
import keras_tuner
import numpy as np
import pytest
from sklearn.datasets import load_digits

from keras_hpo import HyperMLP
from keras_hpo.fused import FusedMLP
from keras_hpo.fused import NotFusable
from keras_hpo.fused import read_mlp
from keras_hpo.fused import slice_rows
from keras_hpo.fused.model import XLA_MIN_PARAMS
from keras_hpo.fused.model import use_xla
from keras_hpo.fused.model import validation_batch_size
from keras_hpo.fused.planning import StepCost
from keras_hpo.fused.planning import plan_groups


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    x = (x / 16).astype("float32")
    return x[:1200], y[:1200], x[1200:], y[1200:]


def build(hypermodel, seed, **values):
    hp = keras_tuner.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    hp.values.update(values)
    keras.utils.set_random_seed(seed)
    return hypermodel.build(hp)


def mlp(**knobs):
    spec = dict(num_classes=10, input_shape=(64,), num_layers=2, units=32)
    spec.update(knobs)
    return HyperMLP(**spec)


# XLA (jit_compile=True) is what a large fused model uses on TensorFlow
# (`use_xla`); the other backends keep their own compilation.
XLA = [False, True] if keras.backend.backend() == "tensorflow" else [False]


@pytest.mark.parametrize("xla", XLA)
def test_one_slice_reproduces_the_unfused_training_per_epoch(digits, xla):
    # Same seed, same initial weights, same batches: only the order of the
    # float sums inside the matmuls (and, with XLA, its fused kernels)
    # differs, so the per-epoch metrics agree to float32 rounding (not bit
    # for bit).
    xt, yt, xv, yv = digits
    hypermodel = mlp(dropout=0.0, activation="tanh", learning_rate=1e-2)
    alone = build(hypermodel, 7)
    expected = alone.fit(
        xt, yt, validation_data=(xv, yv), epochs=3, batch_size=32, verbose=0
    ).history
    fused = FusedMLP.from_models([build(hypermodel, 7)])
    if xla:
        fused.compile_fused(jit_compile=True)
        assert fused.jit_compile is True
    got = fused.fit(
        xt, yt, validation_data=(xv, yv), epochs=3, batch_size=32, verbose=0
    ).history
    for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
        fused_name = name.replace("loss", "fused_loss").replace(
            "accuracy", "fused_accuracy"
        )
        column = [float(np.asarray(v)[0]) for v in got[fused_name]]
        np.testing.assert_allclose(column, expected[name], rtol=2e-5, atol=1e-6)
    # The same predictions are right: one more or fewer would move the
    # accuracy by 1/597; 1e-6 leaves room for float32 rounding of the mean
    # (JAX divides in float32).
    assert got["val_fused_accuracy"][-1][0] == pytest.approx(
        expected["val_accuracy"][-1], abs=1e-6
    )


def test_each_slice_predicts_as_its_own_model_with_mixed_widths_and_activations(
    digits,
):
    xt, yt, xv, _ = digits
    hypermodel = mlp(units=[16, 48], activation=["relu", "tanh", "gelu"])
    configs = [
        dict(units=16, activation="relu", dropout=0.0),
        dict(units=48, activation="tanh", dropout=0.3),
        dict(units=16, activation="gelu", dropout=0.1),
    ]
    models = [build(hypermodel, i, **c) for i, c in enumerate(configs)]
    fused = FusedMLP.from_models(models, seed=0)
    assert fused.widths == [48, 48]
    fused.fit(xt, yt, epochs=2, batch_size=64, verbose=0)
    out = fused.predict(xv, verbose=0)
    arrays = fused.numpy_weights()
    for k, config in enumerate(configs):
        fused.copy_to(k, models[k], arrays)
        alone = models[k].predict(xv, verbose=0)
        np.testing.assert_allclose(out[:, k], alone, rtol=1e-5, atol=1e-6)
        assert (out[:, k].argmax(1) == alone.argmax(1)).all()
        # Padded units of a narrow slice stay exactly zero after training.
        width = config["units"]
        assert not arrays[0][0][k, :, width:].any()
        assert not arrays[1][0][k, width:, :].any()


def test_flattened_and_standardised_inputs_fuse_exactly(digits):
    xt, yt, xv, _ = digits
    images = xt.reshape(-1, 8, 8) * 3.0 + 1.0
    hypermodel = HyperMLP(
        num_classes=10, num_layers=1, units=[8, 16], dropout=0.0, standardize=True
    ).adapt(images)
    models = [build(hypermodel, k, units=w) for k, w in enumerate((8, 16))]
    fused = FusedMLP.from_models(models)
    assert fused.mean is not None and fused.input_dim == 64
    fused.fit(images, yt, epochs=1, batch_size=64, verbose=0)
    out = fused.predict(xv.reshape(-1, 8, 8) * 3.0 + 1.0, verbose=0)
    for k, model in enumerate(models):
        fused.copy_to(k, model)
        alone = model.predict(xv.reshape(-1, 8, 8) * 3.0 + 1.0, verbose=0)
        np.testing.assert_allclose(out[:, k], alone, rtol=1e-5, atol=1e-6)


def test_a_slice_with_learning_rate_zero_does_not_move(digits):
    xt, yt, _, _ = digits
    hypermodel = mlp(dropout=0.0, learning_rate=1e-2)
    frozen, moving = build(hypermodel, 0), build(hypermodel, 1)
    frozen.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.0),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    fused = FusedMLP.from_models([frozen, moving])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(fused.rates), [0, 1e-2])
    before = [w.copy() for w, _ in fused.slice_arrays(0)]
    start = [w.copy() for w, _ in fused.slice_arrays(1)]
    fused.fit(xt, yt, epochs=2, batch_size=32, verbose=0)
    for old, (new, _) in zip(before, fused.slice_arrays(0), strict=True):
        np.testing.assert_array_equal(old, new)
    assert all(
        not np.array_equal(old, new)
        for old, (new, _) in zip(start, fused.slice_arrays(1), strict=True)
    )


def test_a_stopped_slice_stops_learning_and_leaves_the_loss(digits):
    xt, yt, _, _ = digits
    models = [build(mlp(dropout=0.0), k) for k in range(2)]
    fused = FusedMLP.from_models(models)
    fused.stop_slice(0)
    before = [w.copy() for w, _ in fused.slice_arrays(0)]
    history = fused.fit(xt, yt, epochs=1, batch_size=32, verbose=0).history
    for old, (new, _) in zip(before, fused.slice_arrays(0), strict=True):
        np.testing.assert_array_equal(old, new)
    # The total loss is the running slice's alone.
    assert history["loss"][0] == pytest.approx(history["fused_loss"][0][1], rel=1e-5)


def test_per_slice_learning_rates_match_each_slice_trained_alone(digits):
    xt, yt, _, _ = digits
    hypermodel = mlp(dropout=0.0, learning_rate=[1e-3, 3e-2], optimizer="adamw")
    rates = [1e-3, 3e-2]
    models = [build(hypermodel, 3, learning_rate=r) for r in rates]
    fused = FusedMLP.from_models(models)
    fused.fit(xt, yt, epochs=1, batch_size=32, shuffle=False, verbose=0)
    for k, rate in enumerate(rates):
        alone = build(hypermodel, 3, learning_rate=rate)
        alone.fit(xt, yt, epochs=1, batch_size=32, shuffle=False, verbose=0)
        for (w, b), layer in zip(
            fused.slice_arrays(k), ["dense_0", "dense_1", "output"], strict=True
        ):
            kernel, bias = alone.get_layer(layer).get_weights()
            # Float rounding of the batched matmuls differs from the plain
            # ones, and Adam's normalised steps can blow a rounding difference
            # in a near-zero gradient up to a visible one in a few weights
            # (seen on an AMD EPYC: 1 of 1,024 at 1e-4). A wrong learning rate
            # moves nearly every weight.
            for fused_w, alone_w in ((w, kernel), (b, bias)):
                close = np.isclose(fused_w, alone_w, rtol=1e-4, atol=1e-5)
                assert close.mean() >= 0.99, f"{layer}: {close.mean():.3f} close"
                np.testing.assert_allclose(fused_w, alone_w, rtol=0, atol=1e-3)


@pytest.mark.parametrize("optimizer", ["nadam", "rmsprop", "sgd"])
def test_every_optimizer_steps_each_slice_as_its_own_model(digits, optimizer):
    # On PyTorch, fused Nadam skipped its per-step state (_u_product stayed
    # 1): the first step divided by zero and every weight became NaN.
    xt, yt, _, _ = digits
    hypermodel = mlp(dropout=0.0, units=[8, 16], optimizer=optimizer)
    widths = [8, 16]
    models = [build(hypermodel, 5, units=u, learning_rate=1e-2) for u in widths]
    fused = FusedMLP.from_models(models)
    fused.fit(xt[:256], yt[:256], epochs=1, batch_size=32, shuffle=False, verbose=0)
    for k, units in enumerate(widths):
        alone = build(hypermodel, 5, units=units, learning_rate=1e-2)
        alone.fit(xt[:256], yt[:256], epochs=1, batch_size=32, shuffle=False, verbose=0)
        arrays = [a for pair in fused.slice_arrays(k) for a in pair]
        assert all(np.isfinite(a).all() for a in arrays)
        for fused_w, alone_w in zip(arrays, alone.get_weights(), strict=True):
            np.testing.assert_allclose(fused_w, alone_w, rtol=0, atol=1e-3)


def test_dropout_is_per_slice(digits):
    xt = digits[0][:256]
    hypermodel = mlp(dropout=[0.0, 0.5], activation="relu")
    models = [build(hypermodel, 0, dropout=r) for r in (0.0, 0.5)]
    fused = FusedMLP.from_models(models, seed=1)
    x = keras.ops.convert_to_tensor(xt)
    h0 = fused._first_layer(x)
    kept = keras.ops.convert_to_numpy(fused._hidden(h0, 0, training=True))
    plain = keras.ops.convert_to_numpy(fused._hidden(h0, 0, training=False))
    np.testing.assert_array_equal(kept[0], plain[0])  # rate 0: untouched
    alive = plain[1] > 0
    dropped = (kept[1][alive] == 0).mean()
    assert 0.45 < dropped < 0.55
    np.testing.assert_allclose(
        kept[1][alive & (kept[1] > 0)], 2 * plain[1][alive & (kept[1] > 0)], rtol=1e-6
    )


def test_compacting_keeps_the_running_slices_weights_and_optimizer_state(digits):
    xt, yt, xv, _ = digits
    hypermodel = mlp(units=[16, 32], dropout=0.0, learning_rate=[1e-3, 1e-2])
    models = [
        build(hypermodel, k, units=[16, 32, 32, 16][k], learning_rate=1e-2)
        for k in range(4)
    ]
    fused = FusedMLP.from_models(models)
    fused.fit(xt, yt, epochs=1, batch_size=64, shuffle=False, verbose=0)
    fused.stop_slice(1)
    fused.stop_slice(2)
    small = fused.subset([0, 3])
    assert small.size == 2 and small.widths == [16, 16]
    np.testing.assert_allclose(
        small.predict(xv, verbose=0),
        fused.predict(xv, verbose=0)[:, [0, 3]],
        rtol=1e-5,
        atol=1e-6,
    )
    fused.fit(xt, yt, epochs=1, batch_size=64, shuffle=False, verbose=0)
    small.fit(xt, yt, epochs=1, batch_size=64, shuffle=False, verbose=0)
    for new, old in ((0, 0), (1, 3)):
        for (a, b), (c, d) in zip(
            small.slice_arrays(new), fused.slice_arrays(old), strict=True
        ):
            np.testing.assert_allclose(a, c, rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(b, d, rtol=1e-4, atol=1e-6)


def test_each_slice_keeps_its_own_standardisation(digits):
    # cv= folds adapt to their own training rows: the slices' means and
    # variances differ, and each slice must standardise with its own, on
    # shared samples and on its own rows (use_rows) alike.
    xt, yt, xv, yv = digits
    rows = [np.arange(0, 400), np.arange(400, 1200)]
    hypermodel = mlp(dropout=0.0, standardize=True)
    models = []
    for k, own in enumerate(rows):
        hypermodel.adapt(xt[own] * (k + 1.0))  # clearly other statistics
        models.append(build(hypermodel, k))
    fused = FusedMLP.from_models(models)
    assert fused.mean.shape == (2, 64)
    out = fused.predict(xv, verbose=0)
    for k, model in enumerate(models):
        np.testing.assert_allclose(
            out[:, k], model.predict(xv, verbose=0), rtol=1e-5, atol=1e-6
        )
    x, y = np.concatenate([xt, xv]), np.concatenate([yt, yv])
    fused = FusedMLP.from_models(models)  # use_rows comes before any call
    fused.use_rows(x, y)
    held = [len(xt) + np.arange(0, 100), len(xt) + np.arange(100, 250)]
    outputs = fused.predict(slice_rows(held, len(x)), verbose=0)
    for k, own in enumerate(held):
        alone = models[k].predict(x[own], verbose=0)
        np.testing.assert_allclose(outputs[: len(own), k], alone, rtol=1e-5, atol=1e-6)
    # Compacting (after training) keeps each kept slice's statistics.
    table = slice_rows([np.arange(0, 400), np.arange(400, 1200)], len(x))
    fused.fit(table, table, epochs=1, batch_size=128, verbose=0)
    small = fused.subset([1])
    np.testing.assert_array_equal(small.mean, fused.mean[1])
    test = slice_rows([held[1]], len(x))
    np.testing.assert_allclose(
        small.predict(test, verbose=0)[:, 0],
        fused.predict(slice_rows(held, len(x)), verbose=0)[: len(held[1]), 1],
        rtol=1e-5,
        atol=1e-6,
    )
    plain = build(mlp(dropout=0.0), 0)
    with pytest.raises(NotFusable, match="some trials standardise"):
        FusedMLP.from_models([models[0], plain])


def test_models_that_are_not_plain_mlps_are_refused_with_the_reason():
    inputs = keras.Input((8,))
    x = keras.layers.Dense(4)(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    with pytest.raises(NotFusable, match="'bn' \\(BatchNormalization\\)"):
        read_mlp(model)
    clipped = mlp()
    m = build(clipped, 0)
    m.compile(
        keras.optimizers.Adam(clipnorm=1.0),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    with pytest.raises(NotFusable, match="clipnorm"):
        read_mlp(m)
    deep, shallow = build(mlp(num_layers=2), 0), build(mlp(num_layers=1), 0)
    with pytest.raises(NotFusable, match="number of layers"):
        FusedMLP.from_models([deep, shallow])
    # Settings a fused model would drop: it trained and recorded the plain
    # loss, a custom activation crashed the group, no hidden layer too.
    smoothed = build(mlp(), 0)
    smoothed.compile(
        "adam",
        keras.losses.SparseCategoricalCrossentropy(ignore_class=0),
        metrics=["accuracy"],
    )
    with pytest.raises(NotFusable, match="the loss sets {'ignore_class': 0}"):
        read_mlp(smoothed)
    binary = build(mlp(task="binary", num_classes=None), 0)
    binary.compile(
        "adam",
        "binary_crossentropy",
        metrics=[keras.metrics.BinaryAccuracy(threshold=0.7)],
    )
    with pytest.raises(NotFusable, match="metric 'binary_accuracy' sets {'threshold'"):
        read_mlp(binary)

    def scaled_tanh(x):
        return 1.7 * keras.ops.tanh(x)

    outputs = keras.layers.Dense(2, activation="softmax")(
        keras.layers.Dense(4, activation=scaled_tanh, name="own")(inputs)
    )
    custom = keras.Model(inputs, outputs)
    custom.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    with pytest.raises(NotFusable, match="'own' has an activation that keras.activa"):
        read_mlp(custom)
    linear = build(mlp(num_layers=0), 0)
    with pytest.raises(NotFusable, match="no hidden Dense layer"):
        read_mlp(linear)
    grid = keras.Input((8, 8))
    unflat = keras.Model(grid, keras.layers.Dense(2)(keras.layers.Dense(4)(grid)))
    unflat.compile("adam", "mse")
    with pytest.raises(NotFusable, match=r"shape \(8, 8\) reach a Dense layer with"):
        read_mlp(unflat)
    # Read as something else before: a Dropout after the output (dropped),
    # an inverting Normalization (read as standardising), a hidden softmax
    # (padded units entered its sum).

    def chain(*layers):
        x = inputs
        for layer in layers:
            x = layer(x)
        model = keras.Model(inputs, x)
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    dense = keras.layers.Dense
    with pytest.raises(NotFusable, match="a Dropout layer follows the output layer"):
        read_mlp(chain(dense(4), dense(2, "softmax"), keras.layers.Dropout(0.5)))
    inverted = keras.layers.Normalization(mean=0.5, variance=2.0, invert=True)
    with pytest.raises(NotFusable, match="Normalization layer '.*' inverts"):
        read_mlp(chain(inverted, dense(4), dense(2, "softmax")))
    with pytest.raises(NotFusable, match=r"activation \(softmax\) mixes its units"):
        read_mlp(chain(dense(4, "softmax"), dense(2, "softmax")))


def test_steps_per_epoch_trains_as_many_steps_as_a_model_alone(digits):
    # 16 steps per execution ran 16 steps of every epoch of 5 (35 steps
    # for 3 epochs, 15 alone): fused trials trained longer.
    xt, yt, _, _ = digits
    hypermodel = mlp(dropout=0.0, num_layers=1)
    for steps in (5, 12):  # 38 batches of 32 hold 3 epochs of 12
        alone = build(hypermodel, 0)
        alone.fit(xt, yt, batch_size=32, epochs=3, steps_per_epoch=steps, verbose=0)
        fused = FusedMLP.from_models([build(hypermodel, 1), build(hypermodel, 2)])
        fused.fit(xt, yt, batch_size=32, epochs=3, steps_per_epoch=steps, verbose=0)
        assert int(fused.optimizer.iterations) == int(alone.optimizer.iterations)
        assert int(fused.optimizer.iterations) == 3 * steps


def test_groups_bucket_by_key_and_auto_declines_padding_that_costs_more():
    keys = ["a", "b", "a", "a", "b", None]
    shapes = [(64, 32, 10)] * 6
    groups = plan_groups(keys, shapes, 2)
    assert groups == [[5], [0, 2], [3], [1, 4]]
    # Narrow and very wide layers: padding the narrow ones to 2048 costs far
    # more than the fixed per-step cost a fused group saves.
    cost = StepCost(fixed=1e-3, per_mac=2e-10)
    shapes = [(64, 16, 10), (64, 16, 10), (64, 2048, 10), (64, 24, 10)]
    auto = plan_groups(["k"] * 4, shapes, 32, auto=True, batch=32, cost=cost)
    assert auto == [[0, 1, 3], [2]]
    assert plan_groups(["k"] * 4, shapes, 32) == [[0, 1, 3, 2]]


def test_auto_costs_each_bucket_at_its_own_batch_size(monkeypatch, tmp_path):
    # fuse="auto" costed every bucket at batch 32: with batch_size=256 it
    # fused a 16- and a 1024-unit trial whose fused step is the slower.
    shapes = [(64, 16, 10), (64, 1024, 10)]
    assert plan_groups(["k"] * 2, shapes, 8, auto=True, batch=32) == [[0, 1]]
    assert plan_groups(["k"] * 2, shapes, 8, auto=True, batch=[256, 256]) == [
        [0],
        [1],
    ]
    # A key that does not fix the depth: trials of other depths never share.
    deep = [(64, 16, 10), (64, 16, 16, 10), (64, 32, 10)]
    assert plan_groups(["k"] * 3, deep, 8, auto=True) == [[0, 2], [1]]
    assert plan_groups(["k"] * 2, shapes, 8, auto=True, batch=np.int64(256)) == [
        [0],
        [1],
    ]
    with pytest.raises(ValueError, match="size must be at least 1, got 0"):
        plan_groups(["k"], shapes[:1], 0)
    with pytest.raises(ValueError, match="2 keys, 2 shapes and 1 batch sizes"):
        plan_groups(["k"] * 2, shapes, 2, batch=[32])
    # The tuner asks the hypermodel for each trial's batch size.
    import keras_hpo
    from keras_hpo.tuners import fusion

    seen = []

    def spy(keys, shapes, size, **kwargs):
        seen.append(kwargs["batch"])
        raise RuntimeError("planned")

    monkeypatch.setattr(fusion, "plan_groups", spy)
    tuner = keras_hpo.RandomSearch(
        mlp(num_layers=1, batch_size=[64, 256], learning_rate=[1e-3, 1e-2]),
        fuse="auto",
        max_trials=2,
        directory=tmp_path,
        verbose=0,
    )
    trials = [tuner.oracle.create_trial(f"t{i}") for i in range(2)]
    with pytest.raises(RuntimeError, match="planned"):
        tuner.run_fused(trials, (), {})
    assert seen == [[t.hyperparameters.values["batch_size"] for t in trials]]


@pytest.mark.slow
def test_sixteen_slices_score_as_their_configurations_trained_alone(digits):
    # A statistical check, not a cherry-picked one: 4 configurations x 4
    # seeds trained alone give each configuration's mean and seed-to-seed
    # spread; the same 16 (configuration, seed) pairs trained as one fused
    # model of K=16 must give, per configuration, a mean final validation
    # accuracy within 3 standard errors of the alone mean (plus 0.01 for
    # the accuracy's granularity on 597 validation samples).
    xt, yt, xv, yv = digits
    hypermodel = mlp(
        units=[16, 64],
        dropout=[0.0, 0.3],
        activation=["relu", "tanh"],
        learning_rate=[3e-3, 3e-2],
    )
    configs = [
        dict(units=16, dropout=0.0, activation="relu", learning_rate=3e-3),
        dict(units=64, dropout=0.3, activation="tanh", learning_rate=3e-3),
        dict(units=64, dropout=0.0, activation="relu", learning_rate=3e-2),
        dict(units=16, dropout=0.3, activation="tanh", learning_rate=3e-2),
    ]
    seeds = [11, 12, 13, 14]
    pairs = [(c, s) for c in range(4) for s in seeds]
    alone = {}
    for c, seed in pairs:
        model = build(hypermodel, seed, **configs[c])
        history = model.fit(
            xt, yt, validation_data=(xv, yv), epochs=4, batch_size=32, verbose=0
        ).history
        alone.setdefault(c, []).append(history["val_accuracy"][-1])
    models = [build(hypermodel, seed, **configs[c]) for c, seed in pairs]
    fused = FusedMLP.from_models(models, seed=0)
    history = fused.fit(
        xt, yt, validation_data=(xv, yv), epochs=4, batch_size=32, verbose=0
    ).history
    final = np.asarray(history["val_fused_accuracy"][-1])
    for c in range(4):
        together = final[[i for i, (cc, _) in enumerate(pairs) if cc == c]]
        mean, spread = np.mean(alone[c]), np.std(alone[c], ddof=1)
        bound = 3 * spread / np.sqrt(len(seeds)) + 0.01
        assert abs(together.mean() - mean) <= bound, (c, alone[c], together)


@pytest.mark.parametrize("xla", XLA)
def test_each_slice_trains_on_its_own_rows_as_its_own_model_would(digits, xla):
    # Slices of one configuration, each with its own rows (cross-validation
    # folds), of different sizes: 300, 200 and 250 rows, so two columns are
    # padded with -1. With shuffle=False and plain SGD each slice ends where
    # its own model ends after the same steps on its rows alone: a padded
    # row neither moves a slice nor counts in its mean loss.
    xt, yt, xv, yv = digits
    hypermodel = mlp(dropout=0.0, optimizer="sgd", learning_rate=0.1)
    rows = [np.arange(0, 300), np.arange(300, 500), np.arange(500, 750)]
    batch = 300  # one step per epoch: every slice has one batch of its rows
    fused = FusedMLP.from_models([build(hypermodel, k) for k in range(3)])
    if xla:
        fused.compile_fused(jit_compile=True)
    x, y = np.concatenate([xt, xv]), np.concatenate([yt, yv])
    fused.use_rows(x, y)  # one table: training and validation rows index it
    table = slice_rows(rows, len(x))
    assert table.shape == (300, 3) and (table[200:, 1] == -1).all()
    fused.fit(table, table, epochs=2, batch_size=batch, shuffle=False, verbose=0)
    for k, own in enumerate(rows):
        alone = build(hypermodel, k)
        alone.fit(x[own], y[own], epochs=2, batch_size=batch, shuffle=False, verbose=0)
        layers = ["dense_0", "dense_1", "output"]
        for (w, b), layer in zip(fused.slice_arrays(k), layers, strict=True):
            kernel, bias = alone.get_layer(layer).get_weights()
            np.testing.assert_allclose(w, kernel, rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(b, bias, rtol=1e-4, atol=1e-6)
    # Validation rows per slice: each slice's metrics are over its rows only.
    start = len(xt)
    held = [np.arange(0, 100), np.arange(100, 150), np.arange(0, 60)]
    test = slice_rows([start + own for own in held], len(x))
    logs = fused.evaluate(test, test, batch_size=64, verbose=0, return_dict=True)
    outputs = fused.predict(test, batch_size=64, verbose=0)
    for k, own in enumerate(held):
        predicted = outputs[: len(own), k].argmax(axis=-1)
        accuracy = float((predicted == yv[own]).mean())
        assert float(np.asarray(logs["fused_accuracy"])[k]) == pytest.approx(
            accuracy, abs=1e-6
        )
    with pytest.raises(ValueError, match="use_rows was called already"):
        fused.use_rows(x, y)


def test_a_large_fused_model_compiles_with_xla_on_tensorflow(digits):
    # 4 slices of 784-256-256-10: 1,070,120 trainable values, over
    # XLA_MIN_PARAMS; 4 of 64-32-32-10 stay with Keras' own choice.
    large = [
        build(mlp(input_shape=(784,), units=256, dropout=0.0), k) for k in range(4)
    ]
    fused = FusedMLP.from_models(large)
    params = sum(int(np.prod(v.shape)) for v in fused.trainable_variables)
    assert params == 4 * (784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10)
    assert use_xla(params) == (keras.backend.backend() == "tensorflow" or "auto")
    assert use_xla(XLA_MIN_PARAMS - 1) == "auto"
    plain = build(mlp(), 0)  # compiled with Keras' default, "auto"
    small = FusedMLP.from_models([build(mlp(), k) for k in range(4)])
    assert small.jit_compile == plain.jit_compile
    if keras.backend.backend() == "tensorflow":
        assert fused.jit_compile is True
        assert fused.steps_per_execution == small.steps_per_execution == 16
        x = np.random.default_rng(0).random((64, 784), dtype=np.float32)
        y = np.arange(64) % 10
        logs = fused.fit(x, y, epochs=1, batch_size=32, verbose=0).history
        assert np.isfinite(logs["fused_loss"][0]).all()


def test_a_fused_step_is_traced_once(digits, monkeypatch):
    # Its optimizer is built by compile_fused, not in the first step: on
    # TensorFlow a step that creates variables is traced a second time.
    xt, yt, _, _ = digits
    fused = FusedMLP.from_models([build(mlp(dropout=0.2), k) for k in range(3)])
    assert fused.optimizer.built
    traced = []
    step = FusedMLP.train_step

    def counted(self, *args):  # (data), or (state, data) on JAX
        traced.append(1)
        return step(self, *args)

    monkeypatch.setattr(FusedMLP, "train_step", counted)
    fused.fit(xt, yt, epochs=2, batch_size=32, verbose=0)
    if keras.backend.backend() == "tensorflow":
        assert len(traced) == 1


def test_validation_runs_at_a_larger_batch_with_the_same_metrics(digits):
    xt, yt, xv, yv = digits  # 597 validation samples
    assert validation_batch_size(None, 32, 784) == 512  # 668 would fit
    assert validation_batch_size(32, 32, 4096) == 128  # 2**24 floats
    assert validation_batch_size(1024, 32, 4096) == 1024  # never below
    fused = FusedMLP.from_models([build(mlp(dropout=0.0), k) for k in range(3)])
    fused.compile_fused(steps_per_execution=1)  # a batch event per step

    class Steps(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.test_steps = 0

        def on_test_batch_end(self, batch, logs=None):
            self.test_steps += 1

    steps = Steps()
    logs = fused.fit(
        xt,
        yt,
        validation_data=(xv, yv),
        epochs=1,
        batch_size=32,
        verbose=0,
        callbacks=[steps],
    ).history
    assert steps.test_steps == 2  # 512 + 85 samples, not 19 batches of 32
    again = fused.evaluate(xv, yv, batch_size=32, verbose=0, return_dict=True)
    for name in ("fused_loss", "fused_accuracy"):
        np.testing.assert_allclose(
            logs[f"val_{name}"][0], again[name], rtol=1e-5, atol=1e-6
        )
