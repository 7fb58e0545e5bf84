"""A trained Keras model seen as a fitted scikit-learn estimator.

scikit-learn's scorers (``get_scorer("f1_macro")``, ``make_scorer(...)``)
call ``predict``, ``predict_proba`` or ``decision_function`` on a fitted
estimator and ask whether it is a classifier. `FittedModel` answers them
for a Keras model whose task is known (a `HyperMLP`'s ``labels``), and
`predictions` / `probabilities` turn the model's outputs into what a
scikit-learn estimator returns. Used by the tuner's `predict`, `score` and
by `scoring=`; `estimator_predict`, `estimator_predict_proba` and
`estimator_score` answer scikit-learn's three calls for a tuner's best
estimator, a Keras model or a scikit-learn estimator, from a search or from
`keras_hpo.load`. It owns that translation only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.base import ClassifierMixin
from sklearn.base import RegressorMixin

from keras_hpo.tuners.data_checks import check_one_label_per_row
from keras_hpo.tuners.prediction_inputs import prediction_inputs

__all__ = [
    "FittedModel",
    "estimator_predict",
    "estimator_predict_proba",
    "estimator_score",
    "fitted_model",
    "predictions",
    "probabilities",
    "require_classifier",
]

CLASSIFYING = ("classification", "binary")


def predictions(outputs: Any, task: str | None) -> np.ndarray:
    """What scikit-learn's ``predict`` returns, from a model's outputs.

    Class labels for ``"classification"`` (the most probable class) and
    ``"binary"`` (1 where the probability is at least 0.5); one value per
    sample for a single regression target; else the outputs as they are.
    """
    outputs = np.asarray(outputs)
    if task == "classification":
        return outputs.argmax(axis=-1)
    if task == "binary":
        return (outputs.reshape(len(outputs), -1)[:, 0] >= 0.5).astype("int64")
    if task == "regression" and outputs.ndim == 2 and outputs.shape[1] == 1:
        return outputs[:, 0]
    return outputs


def require_classifier(task: str | None) -> None:
    """Refuses ``predict_proba`` for a task that does not classify.

    Raises:
        AttributeError: Naming the task (as scikit-learn's regressors have
            no ``predict_proba``).
    """
    if task not in CLASSIFYING:
        raise AttributeError(
            f"predict_proba is for classifiers; this model's task is {task!r}. "
            "Use predict(x)."
        )


def probabilities(outputs: Any, task: str | None) -> np.ndarray:
    """What scikit-learn's ``predict_proba`` returns: a column per class.

    Raises:
        AttributeError: If ``task`` does not classify.
    """
    require_classifier(task)
    outputs = np.asarray(outputs)
    if task == "binary":
        positive = outputs.reshape(len(outputs), -1)[:, :1]
        return np.hstack([1.0 - positive, positive])
    return outputs


class FittedModel(BaseEstimator):
    """A Keras model as a fitted scikit-learn estimator (for scorers).

    Args:
        model: The trained Keras model.
        task: ``"classification"``, ``"binary"``, ``"regression"`` or ``None``.
        num_classes: The number of classes of a classifier.
    """

    def __init__(self, model: Any = None, task: str | None = None, num_classes=None):
        self.model = model
        self.task = task
        self.num_classes = num_classes

    def _outputs(self, x: Any) -> np.ndarray:
        return np.asarray(
            self.model.predict(prediction_inputs(self.model, x), verbose=0)
        )

    def predict(self, x: Any) -> np.ndarray:
        """Labels or values, as `predictions`."""
        return predictions(self._outputs(x), self.task)

    def fit(self, x: Any, y: Any = None) -> FittedModel:
        """Refuses: the model was trained by the search, not by scikit-learn."""
        raise NotImplementedError("FittedModel wraps a model that is already trained")


class _FittedClassifier(ClassifierMixin, FittedModel):
    def predict_proba(self, x: Any) -> np.ndarray:
        """Class probabilities, as `probabilities`."""
        return probabilities(self._outputs(x), self.task)

    @property
    def classes_(self) -> np.ndarray:
        return np.arange(2 if self.task == "binary" else int(self.num_classes))


class _FittedRegressor(RegressorMixin, FittedModel):
    pass


def fitted_model(model: Any, task: str | None, num_classes: int | None) -> FittedModel:
    """``model`` as a fitted classifier or regressor, as its task says."""
    kind = _FittedClassifier if task in CLASSIFYING else _FittedRegressor
    return kind(model, task, num_classes)


def estimator_predict(
    model: Any, x: Any, task: str | None, sklearn: bool
) -> np.ndarray:
    """scikit-learn's ``predict`` of a best estimator (see `predictions`)."""
    if sklearn:
        return np.asarray(model.predict(x))
    return predictions(model.predict(prediction_inputs(model, x), verbose=0), task)


def estimator_predict_proba(
    model: Any, x: Any, task: str | None, sklearn: bool
) -> np.ndarray:
    """scikit-learn's ``predict_proba`` of a best estimator.

    Raises:
        AttributeError: If a Keras model's task does not classify, or the
            estimator has no ``predict_proba``.
    """
    if sklearn:
        return model.predict_proba(x)
    require_classifier(task)  # before predicting
    return probabilities(model.predict(prediction_inputs(model, x), verbose=0), task)


def estimator_score(
    model: Any,
    x: Any,
    y: Any,
    *,
    task: str | None,
    num_classes: int | None,
    sklearn: bool,
    scorer: Any = None,
    metric: str | None = None,
) -> float:
    """scikit-learn's ``score`` of a best estimator on ``(x, y)``.

    ``scorer(estimator, x, y)`` when given (the ranking ``scoring=``); a
    Keras metric the model compiled (``metric``, read from ``evaluate``);
    otherwise the estimator's own ``score``, or for a Keras model accuracy
    when it classifies and R^2 for a regression (``ClassifierMixin.score``
    and ``RegressorMixin.score``).

    Raises:
        TypeError: For a Keras model with none of these and no known task.
    """
    check_one_label_per_row(x, y)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if sklearn:
        return float(scorer(model, x, y) if scorer is not None else model.score(x, y))
    fitted = fitted_model(model, task, num_classes)
    if scorer is not None:
        return float(scorer(fitted, x, y))
    if metric is not None:
        logs = model.evaluate(
            prediction_inputs(model, x), y, verbose=0, return_dict=True
        )
        return float(logs[metric])
    if task is None:
        raise TypeError(
            "score(x, y) needs to know what the model predicts, and its "
            "hypermodel does not say (HyperMLP does). Pass scoring= to the "
            "tuner, or use best_estimator_.evaluate(x, y)."
        )
    return float(fitted.score(x, y))
