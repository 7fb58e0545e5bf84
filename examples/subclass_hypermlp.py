"""Subclassing HyperMLP: residual blocks, batch normalisation, a fit-time knob.

`HyperMLP` builds its model through public hooks (``input_block``,
``hidden_block``, ``output_head``, ``build_optimizer``, ``fit``). This example
overrides two of them:

* ``hidden_block`` reads the trial's width and activation with
  ``self.value(hp, "units", index)``, declares a new tunable hyperparameter
  ``hp.Boolean("batch_norm")`` right where it is used, and adds a residual
  connection (``Add``) whenever the block's input and output widths match;
* ``fit`` declares a fit-time hyperparameter, ``lr_decay``, and applies it with
  a ``LearningRateScheduler`` callback.

Hyperparameters declared inside hooks join the search space like the built-in
knobs: `RandomSearch` samples them and ``best_params_`` reports them.

The data is scikit-learn's digits (bundled, no download), split 60/20/20.

Run:
    python examples/subclass_hypermlp.py
    python examples/subclass_hypermlp.py --max-trials 4 --epochs 2 \
        --directory /tmp/runs

Prints one line per trial, ``best_params_``, ``best_score_`` and the layers of
the best model, and writes them (with every trial's layer types) to
``<directory>/<project-name>/example_result.json``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import keras_tuner  # noqa: E402

import keras_hpo  # noqa: E402

#: Per-epoch learning-rate multipliers that ``fit`` chooses from.
LR_DECAYS = [1.0, 0.9, 0.7]


class ResidualMLP(keras_hpo.HyperMLP):
    """`HyperMLP` with optional batch normalisation and residual connections.

    Each hidden block is ``Dense -> [BatchNormalization] -> activation ->
    [Dropout]``, plus an ``Add`` of the block's input when the widths match.
    ``batch_norm`` (a Boolean) is declared in `hidden_block` and ``lr_decay``
    in `fit`; all the `HyperMLP` arguments and knobs work as before.

    Example:
        >>> hypermodel = ResidualMLP(num_classes=10, num_layers=(2, 3))
        >>> tuner = keras_hpo.RandomSearch(hypermodel, max_trials=8, seed=0)
    """

    def hidden_block(self, hp: keras_tuner.HyperParameters, x, index: int):
        """One residual block (see the class docstring).

        Args:
            hp: The trial's hyperparameters.
            x: The previous block's output.
            index: The block's index, from 0.

        Returns:
            The block's output tensor.
        """
        units = self.value(hp, "units", index)
        batch_norm = hp.Boolean("batch_norm", default=True)
        h = keras.layers.Dense(units, use_bias=not batch_norm, name=f"dense_{index}")(x)
        if batch_norm:
            h = keras.layers.BatchNormalization(name=f"batch_norm_{index}")(h)
        h = keras.layers.Activation(
            self.value(hp, "activation"), name=f"activation_{index}"
        )(h)
        rate = self.value(hp, "dropout")
        if rate > 0:
            h = keras.layers.Dropout(rate, name=f"dropout_{index}")(h)
        if x.shape[-1] == units:
            h = keras.layers.Add(name=f"residual_{index}")([x, h])
        return h

    def fit(self, hp: keras_tuner.HyperParameters, model: keras.Model, *args, **kwargs):
        """Trains with a per-epoch learning-rate decay chosen by the search.

        Args:
            hp: The trial's hyperparameters.
            model: The model `build` returned.
            *args: Passed to ``model.fit``.
            **kwargs: Passed to ``model.fit``; a ``LearningRateScheduler`` is
                appended to ``callbacks`` when the decay is below 1.

        Returns:
            The ``History`` of ``model.fit``.
        """
        decay = hp.Choice("lr_decay", LR_DECAYS, default=1.0)
        if decay < 1.0:
            callbacks = list(kwargs.pop("callbacks", None) or [])
            callbacks.append(
                keras.callbacks.LearningRateScheduler(
                    lambda epoch, lr: lr * decay if epoch else lr
                )
            )
            kwargs["callbacks"] = callbacks
        return super().fit(hp, model, *args, **kwargs)


def layer_types(model: keras.Model) -> list[str]:
    """The class names of a model's layers, in order."""
    return [type(layer).__name__ for layer in model.layers]


def build_parser() -> argparse.ArgumentParser:
    """The example's command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-trials", type=int, default=10, help="trials")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per trial")
    parser.add_argument("--seed", type=int, default=0, help="seed of split and search")
    parser.add_argument("--directory", default="keras_hpo_examples")
    parser.add_argument("--project-name", default="subclass_hypermlp")
    parser.add_argument(
        "--overwrite", action="store_true", help="start afresh instead of resuming"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Runs a random search over the subclass and reports it.

    Args:
        argv: Command-line arguments; ``None`` reads ``sys.argv``.

    Returns:
        What was written to ``example_result.json``.
    """
    args = build_parser().parse_args(argv)

    from keras_hpo.datasets import load_digits

    data = load_digits(seed=args.seed)
    hypermodel = ResidualMLP(
        num_classes=data.num_classes,
        num_layers=(2, 3),  # from the second block on, widths match: residuals
        units=[32, 64, 128],  # 64 = the digits' 8x8 pixels: a residual at block 0
        dropout=[0.0, 0.1],
        activation=["relu", "gelu"],
        learning_rate=(1e-3, 1e-2),
    )
    tuner = keras_hpo.RandomSearch(
        hypermodel,
        max_trials=args.max_trials,
        seed=args.seed,
        directory=args.directory,
        project_name=args.project_name,
        overwrite=args.overwrite,
    )
    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=args.epochs,
    )

    best = tuner.best_model()
    counts = collections.Counter(layer_types(best))
    print(f"best_params_: {tuner.best_params_}")
    print(f"best_score_: {tuner.best_score_:.4f}")
    print(
        f"best model: {counts['Dense'] - 1} hidden Dense, "
        f"{counts['BatchNormalization']} BatchNormalization, "
        f"{counts['Add']} residual Add layers"
    )
    trials = []
    for result in tuner.results():
        # Only the best trials keep their weights (keep_top_k); to look at a
        # trial's architecture, building it from its hyperparameters is enough.
        hp = tuner.oracle.get_trial(result.trial_id).hyperparameters.copy()
        model = tuner.hypermodel.build(hp)
        trials.append(
            {
                "number": result.number,
                "trial_id": result.trial_id,
                "params": result.values,
                "score": result.score,
                "layers": layer_types(model),
            }
        )
    summary = {
        "max_trials": args.max_trials,
        "input_width": int(data.x_train.shape[1]),
        "lr_decays": LR_DECAYS,
        "trials": trials,
        "best_trial_id": tuner.best_trial_id_,
        "best_params": tuner.best_params_,
        "best_score": tuner.best_score_,
        "best_layers": layer_types(best),
    }
    path = os.path.join(tuner.project_dir, "example_result.json")
    with open(path, "w") as handle:
        json.dump(summary, handle, indent=1)
    print(f"Wrote {path}")
    return summary


if __name__ == "__main__":
    main()
