"""A trained Keras model seen as a fitted scikit-learn estimator.

scikit-learn's scorers (``get_scorer("f1_macro")``, ``make_scorer(...)``)
call ``predict``, ``predict_proba`` or ``decision_function`` on a fitted
estimator and ask whether it is a classifier. `FittedModel` answers them
for a Keras model whose task is known (a `HyperMLP`'s ``labels``), and
`predictions` / `probabilities` turn the model's outputs into what a
scikit-learn estimator returns. Used by the tuner's `predict`, `score` and
by `scoring=`. It owns that translation only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.base import ClassifierMixin
from sklearn.base import RegressorMixin

__all__ = [
    "FittedModel",
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
        return np.asarray(self.model.predict(x, verbose=0))

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
