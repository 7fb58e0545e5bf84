"""Refit: the best configuration trained again on all the training data.

As scikit-learn's search classes do with ``refit=True``, the search ends by
training the best trial's hyperparameters once more, on every sample it was
given (the training and validation data, or all ``cv=`` folds), for the
epochs its best trial chose (with ``cv=``, the mean over its folds of each
fold's best epoch, rounded), from the trial's seed, with no early stopping
or pruning (there is no validation data left to judge them by). The model is
`SearchTuner.best_estimator_`, and `predict`, `predict_proba` and `score`
use it. The whole model (``model.keras``: architecture, weights, compile
settings) and what it was trained on and what it predicts (``refit.json``:
the trial, epochs, samples, task, classes, scores) are written under
``<project>/refit/``, so a tuner made again on the project has it without
the data, and `keras_hpo.load` serves it without the hypermodel either.

A scikit-learn estimator (`SklearnHyperModel`) is refitted as
``GridSearchCV`` refits it: one ``fit`` of the best parameters on all the
data, pickled to ``<project>/refit/estimator.pkl`` (scikit-learn's own
persistence; load it only from a project you trust, as any pickle).

`Refit` owns that training and its files; `refit_after_search` is the step
a search ends with (it reads the tuner's best trial, like `loop` drives the
tuner). Neither chooses the best trial or runs a search.
"""

from __future__ import annotations

import functools
import os
import pickle
import time
import warnings
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from keras_hpo.callbacks import EpochRecorder
from keras_hpo.files import atomic_write
from keras_hpo.files import atomic_write_json
from keras_hpo.files import foreign_file
from keras_hpo.files import read_json
from keras_hpo.hypermodels.sklearn_estimator import SklearnHyperModel
from keras_hpo.tuners.adaptation import adapts
from keras_hpo.tuners.execution import own_training
from keras_hpo.tuners.folds import all_training_data
from keras_hpo.tuners.graph_memory import released_gradient_functions
from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.trial_callbacks import refit_callbacks
from keras_hpo.tuners.weights import load_weights

__all__ = [
    "ESTIMATOR_FILE",
    "MODEL_FILE",
    "RECORD_FILE",
    "Refit",
    "describe",
    "refit_after_search",
    "refit_epochs",
]

_FOLDER = "refit"
#: The refit Keras model, whole.
MODEL_FILE = "model.keras"
#: The refit scikit-learn estimator, pickled.
ESTIMATOR_FILE = "estimator.pkl"
#: What the refit was trained on and what it predicts.
RECORD_FILE = "refit.json"
#: Weights only, as projects of keras_hpo before ``model.keras`` have them.
_OLD_WEIGHTS = "model.weights.h5"


def refit_epochs(result: TrialResult) -> int:
    """The epochs a refit of ``result`` trains: what its best trial chose.

    Without ``cv=``, its best epoch (1-based); with ``cv=``, the mean of its
    folds' best epochs (1-based), rounded to the nearest (at least 1).
    """
    if result.folds:
        chosen = [
            f["best_epoch"] + 1 for f in result.folds if f.get("best_epoch") is not None
        ]
        if chosen:
            return max(1, round(float(np.mean(chosen))))
    return (result.best_epoch or 0) + 1


class Refit:
    """The refit model of a project: trains it, saves it, loads it.

    Args:
        project_dir: The search's project folder.
    """

    def __init__(self, project_dir: str):
        self.folder = os.path.join(project_dir, _FOLDER)
        self.model: keras.Model | None = None
        self.record: dict[str, Any] | None = None

    def saved(self) -> dict[str, Any] | None:
        """What the saved refit was trained from, or ``None``."""
        path = os.path.join(self.folder, RECORD_FILE)
        fix = "Delete the refit folder; the next search refits again."
        if self.record is None and os.path.exists(path):
            record = read_json(path, fix)
            if not isinstance(record, dict):
                raise foreign_file(path, "a keras_hpo refit record", fix)
            self.record = record
        return self.record

    def train(
        self,
        result: TrialResult,
        hp: Any,
        build: Callable[[Any], keras.Model],
        fit: Callable[..., Any],
        fit_args: tuple,
        fit_kwargs: dict,
        about: dict[str, Any] | None = None,
        adapt: Callable[[Any, Any], Any] | None = None,
    ) -> dict[str, Any]:
        """Trains ``result``'s configuration on all the data; saves it.

        Args:
            result: The best trial's result.
            hp: Its hyperparameters.
            build: ``build(hp) -> keras.Model``, a fresh model.
            fit: ``fit(hp, model, *args, **kwargs)``, the hypermodel's.
            fit_args: As given to ``search``.
            fit_kwargs: As given to ``search`` (validation data are
                dropped, and the callbacks `refit_callbacks` leaves out;
                ``epochs`` is the refit's).
            about: What it predicts (`describe`), kept in ``refit.json``.
            adapt: ``adapt(x, y)``, a data-aware hypermodel's: called with
                all the data before the model is built, so its statistics
                are all the data's (as a refit ``Pipeline``'s scaler).

        Returns:
            The refit's record: ``trial_id``, ``epochs``, ``samples`` and
            ``seconds``.
        """
        x, y, kwargs = all_training_data(fit_args, fit_kwargs)
        callbacks = refit_callbacks(kwargs.pop("callbacks", None) or [])
        kwargs["epochs"] = refit_epochs(result)
        if "epochs" in hp.values:  # a tuned epochs knob: the refit's, too
            hp.values["epochs"] = kwargs["epochs"]
        kwargs.setdefault("verbose", 0)
        start = time.perf_counter()
        if adapt is not None:
            adapt(x, y)
        keras.utils.set_random_seed(result.seed or 0)
        model = build(hp)
        recorder = EpochRecorder()
        with released_gradient_functions():
            fit(hp, model, x, y, callbacks=[*callbacks, recorder], **kwargs)
        # The traced train step is not needed to predict (Keras traces it
        # again if the model is trained further); dropping it frees its graph.
        if hasattr(model, "train_function"):
            model.train_function = None
        record = {
            "trial_id": result.trial_id,
            "epochs": kwargs["epochs"],
            "samples": _num_rows(x),
            "seconds": time.perf_counter() - start,
            "history": recorder.history,
            **(about or {}),
        }
        self._save(record, MODEL_FILE, model.save)
        self.model = model
        return record

    def train_estimator(
        self,
        result: TrialResult,
        hp: Any,
        build: Callable[[Any], Any],
        fit_args: tuple,
        fit_kwargs: dict,
        about: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Fits ``result``'s estimator on all the data; pickles it.

        Args:
            result: The best trial's result.
            hp: Its hyperparameters.
            build: ``build(hp)``: an unfitted estimator (the hypermodel's).
            fit_args: As given to ``search``.
            fit_kwargs: The estimator's ``fit`` parameters.
            about: What it predicts (`describe`), kept in ``refit.json``.

        Returns:
            The refit's record: ``trial_id``, ``samples`` and ``seconds``.
        """
        x, y, kwargs = all_training_data(fit_args, fit_kwargs)
        start = time.perf_counter()
        estimator = build(hp)
        estimator.fit(x, y, **kwargs)
        record = {
            "trial_id": result.trial_id,
            "samples": _num_rows(x),
            "seconds": time.perf_counter() - start,
            **(about or {}),
        }
        self._save(record, ESTIMATOR_FILE, functools.partial(_pickle, estimator))
        self.model = estimator
        return record

    def _save(self, record: dict, name: str, write: Callable[[str], None]) -> None:
        """Writes the model (``write(path)``) then ``refit.json``, atomically.

        The old ``refit.json`` goes first: a process killed before the new
        one is written leaves no record (the next search refits), never a
        record of one trial beside the model of another.
        """
        record["file"] = name
        os.makedirs(self.folder, exist_ok=True)
        if os.path.exists(os.path.join(self.folder, RECORD_FILE)):
            os.remove(os.path.join(self.folder, RECORD_FILE))
        for stale in (MODEL_FILE, ESTIMATOR_FILE, _OLD_WEIGHTS):
            if stale != name and os.path.exists(os.path.join(self.folder, stale)):
                os.remove(os.path.join(self.folder, stale))
        atomic_write(os.path.join(self.folder, name), write)
        atomic_write_json(os.path.join(self.folder, RECORD_FILE), record)
        self.record = record

    def load(
        self,
        trial_id: str | None = None,
        build: Callable[[], keras.Model] | None = None,
    ) -> Any | None:
        """The refit model of trial ``trial_id`` (from disk if need be), or ``None``.

        Args:
            trial_id: The trial it must be the refit of (``None``: any).
            build: ``build() -> keras.Model``, for a project of a keras_hpo
                that saved the refit's weights only.

        Returns:
            A Keras model or a scikit-learn estimator; ``None`` if there is
            no refit of that trial.

        Raises:
            ValueError: If the saved model cannot be read (the message
                names the file).
        """
        record = self.saved()
        if record is None:
            return None
        if trial_id is not None and record.get("trial_id") != trial_id:
            return None
        if self.model is None:
            self.model = self._read(record, build)
        return self.model

    def _read(self, record: dict, build: Callable[[], keras.Model] | None) -> Any:
        fix = "Delete the refit folder and run the search again to refit."
        name = record.get("file", _OLD_WEIGHTS)
        if name not in (MODEL_FILE, ESTIMATOR_FILE, _OLD_WEIGHTS):
            raise ValueError(
                f"{os.path.join(self.folder, RECORD_FILE)} names {name!r}, not a "
                f"file keras_hpo writes there. {fix}"
            )
        path = os.path.join(self.folder, name)
        if name == _OLD_WEIGHTS:
            if build is None:
                raise ValueError(
                    f"{path} holds weights only (a project of an older keras_hpo): "
                    "make the tuner again on the project to rebuild its model. " + fix
                )
            model = build()
            load_weights(model, path, fix=fix)
            return model
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} does not exist. {fix}")
        try:
            if name == ESTIMATOR_FILE:
                with open(path, "rb") as file:
                    return pickle.load(file)  # noqa: S301 - the project's own file
            return keras.saving.load_model(path)
        except Exception as err:  # noqa: BLE001 - zip, h5, pickle raise many kinds
            raise ValueError(
                f"{path} could not be loaded: it is damaged or was written by "
                f"other code ({type(err).__name__}: {err}). {fix}"
            ) from err


def _pickle(estimator: Any, path: str) -> None:
    with open(path, "wb") as file:
        pickle.dump(estimator, file)


def _num_rows(x: Any) -> int | None:
    shape = getattr(x, "shape", None)
    return int(shape[0]) if shape else None


def describe(tuner: Any) -> dict[str, Any]:
    """What a tuner's refit predicts and how it is scored, for ``refit.json``.

    `keras_hpo.load` reads it back: whether the search refits, the
    objective, the hypermodel's task and number of classes, and each
    ``scoring=`` score (its name, logged metric, direction, and the
    scikit-learn scorer name or Keras metric it was made from; a scorer
    callable cannot be saved by name).
    """
    labels = getattr(tuner.hypermodel, "labels", None)
    objective = tuner.oracle.objective
    # An estimator's default score (its own ``score`` method, named
    # "score") is no callable of the user's: `keras_hpo.load` calls it too.
    sklearn = isinstance(tuner.hypermodel, SklearnHyperModel)
    scoring = tuner.scoring
    return {
        # False: predictions come from the best trial's model, whatever an
        # earlier search with refit=True left in <project>/refit/.
        "refit": bool(getattr(tuner, "refit", True)),
        "objective": [objective.name, objective.direction],
        "task": labels[0] if labels is not None else None,
        "num_classes": getattr(tuner.hypermodel, "num_classes", None),
        "sklearn": sklearn,
        "scores": [
            {
                "name": score.name,
                "logged": score.logged,
                "direction": score.direction,
                "scorer": score.scorer_name,
                "callable": score.scorer is not None
                and score.scorer_name is None
                and not (sklearn and score.logged == "val_score"),
            }
            for score in (scoring.scores if scoring else ())
        ],
        "ranking": scoring.ranking.name if scoring else None,
    }


def refit_after_search(
    tuner: Any, fit_args: tuple, fit_kwargs: dict, new_trials: bool
) -> None:
    """Trains a tuner's best configuration on all the data, ending `search`.

    Skipped when no trial has a score, when the search ran no new trial and
    the saved refit is of the best trial already, or (with one line saying
    why) when trials train in a way the refit cannot repeat (an overridden
    ``run_trial``, data that cannot be joined with its validation data).
    """
    best = tuner.result_store.best()
    if best is None:
        return
    saved = tuner.refitted.saved()
    if not new_trials and saved and saved.get("trial_id") == best.trial_id:
        return
    why = own_training(tuner)
    if why is None and tuner.hypermodel is None:
        why = "there is no hypermodel"
    if why is None and isinstance(tuner.hypermodel, SklearnHyperModel):
        hp = tuner.oracle.get_trial(best.trial_id).hyperparameters.copy()
        record = tuner.refitted.train_estimator(
            best, hp, tuner.hypermodel.build, fit_args, fit_kwargs, describe(tuner)
        )
    elif why is None:
        hp = tuner.oracle.get_trial(best.trial_id).hyperparameters.copy()
        try:
            record = tuner.refitted.train(
                best,
                hp,
                tuner.build_model,
                tuner.hypermodel.fit,
                fit_args,
                fit_kwargs,
                describe(tuner),
                tuner.hypermodel.adapt if adapts(tuner.hypermodel) else None,
            )
        except Exception as err:  # noqa: BLE001 - the search ended: say it
            # Data that cannot be joined (ValueError), or a kept callback of
            # the user's that reads validation logs the refit has none of.
            why = (
                str(err) if type(err) is ValueError else f"{type(err).__name__}: {err}"
            )
    if why is not None:
        said = (
            f"No refit ({why}): best_estimator_ is the best trial's model. "
            "Pass refit=False to silence this."
        )
        if tuner.verbose:
            print(said, flush=True)
        else:  # quiet, but a refit asked for and not made is said
            warnings.warn(said, RuntimeWarning, stacklevel=3)
        return
    if not tuner.verbose:
        return
    epochs = ""
    if "epochs" in record:
        epochs = f" for {record['epochs']} epoch{'s' if record['epochs'] != 1 else ''}"
    print(
        f"Refit trial {best.number}'s configuration on all {record['samples']} "
        f"samples{epochs} ({record['seconds']:.1f}s): "
        "best_estimator_ and predict() use it",
        flush=True,
    )
