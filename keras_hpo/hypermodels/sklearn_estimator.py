"""A scikit-learn estimator as a hypermodel: `SklearnHyperModel`.

Our strategy tuners take a scikit-learn estimator where they take a
`HyperMLP` (``GridSearch(RandomForestClassifier(), param_grid=...)``), as
``GridSearchCV`` and ``RandomizedSearchCV`` do. `as_hypermodel` wraps it in a
`SklearnHyperModel`, whose ``build(hp)`` is a clone of the estimator with a
trial's parameters set (``clone(estimator).set_params(**params)``, the values
cloned too, as scikit-learn does).

keras-tuner's ``Choice`` holds values of one type (int, float, str or bool),
while scikit-learn grids hold ``None``, tuples, mixed types
(``max_features=[0.5, "sqrt", None]``) and estimators. Such a list is encoded
as text labels (``"None"``, ``"(50,)"``, ``"StandardScaler()"``), which the
strategies, TensorBoard and the summary show; `SklearnHyperModel.decode`
turns a trial's values back into the estimator's, which ``best_params_`` and
``cv_results_`` report. The grid's keys are sorted, as scikit-learn's
``ParameterGrid`` sorts them, so a grid runs its combinations in
``GridSearchCV``'s order (ties in score are broken alike).

This module owns that wrapping; it must not train, score or split data
(`keras_hpo.tuners.estimator_runner` does).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras_tuner
import numpy as np
from sklearn.base import clone
from sklearn.base import is_classifier

from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value
from keras_hpo.search_space.knobs import to_python
from keras_hpo.search_space.sklearn_grid import SUBGRID
from keras_hpo.search_space.sklearn_grid import param_distributions_to_hyperparameters
from keras_hpo.search_space.sklearn_grid import param_grid_to_hyperparameters

__all__ = ["SklearnHyperModel", "as_hypermodel", "is_sklearn_estimator"]

_PLAIN = (bool, int, float, str)


def is_sklearn_estimator(obj: Any) -> bool:
    """Whether ``obj`` is a scikit-learn estimator (not a Keras hypermodel)."""
    return (
        not isinstance(obj, (type, keras_tuner.HyperModel))
        and callable(getattr(obj, "fit", None))
        and callable(getattr(obj, "get_params", None))
        and callable(getattr(obj, "set_params", None))
    )


def as_hypermodel(hypermodel: Any) -> Any:
    """A scikit-learn estimator wrapped as a `SklearnHyperModel`; else as given.

    Raises:
        ConfigTypeError: If given the class of an estimator or a hypermodel,
            not an instance (keras-tuner would call it as a build function).
    """
    if isinstance(hypermodel, type) and (
        issubclass(hypermodel, keras_tuner.HyperModel)
        or callable(getattr(hypermodel, "get_params", None))
    ):
        name = hypermodel.__name__
        raise bad_type(
            "hypermodel",
            hypermodel,
            "an instance (a hypermodel or a scikit-learn estimator), not a class",
            f"Pass {name}(...) instead of {name}.",
        )
    if is_sklearn_estimator(hypermodel):
        return SklearnHyperModel(hypermodel)
    return hypermodel


class SklearnHyperModel(keras_tuner.HyperModel):
    """A scikit-learn estimator whose parameters a search tunes.

    Our tuners make one from an estimator and their ``param_grid`` /
    ``param_distributions``. Given one of those itself, it declares that
    space in ``build`` like any keras-tuner hypermodel, so it runs on
    keras-tuner's own tuners too, ``keras_tuner.SklearnTuner`` with our
    oracles included, ``None``, tuples and estimators in the grid as well
    (the trial's hyperparameters hold their labels: `decode` them).

    Args:
        estimator: The estimator (left unfitted and unchanged: each trial
            fits a clone).
        param_grid: A scikit-learn grid to declare (see
            `keras_hpo.search_space.param_grid_to_hyperparameters`).
        param_distributions: Or scikit-learn distributions to declare.

    Raises:
        ValueError: If both are given, or a name is not the estimator's.

    Example:
        >>> from sklearn.tree import DecisionTreeClassifier
        >>> model = SklearnHyperModel(DecisionTreeClassifier())
        >>> model.encode("param_grid", {"max_depth": [None, 3]})
        {'max_depth': ['None', '3']}
        >>> model.decode({"max_depth": "None"})
        {'max_depth': None}
    """

    def __init__(
        self,
        estimator: Any,
        *,
        param_grid: Any = None,
        param_distributions: Any = None,
    ):
        super().__init__(name=type(estimator).__name__)
        self.estimator = estimator
        #: Hyperparameter name -> {label: the estimator's value}.
        self.labels_of: dict[str, dict[str, Any]] = {}
        #: The space ``build`` declares (``None``: the tuner's oracle has it).
        self.space: keras_tuner.HyperParameters | None = None
        if param_grid is not None and param_distributions is not None:
            raise bad_value(
                "param_distributions",
                param_distributions,
                "given together with param_grid",
                "Pass param_grid= for a grid, or param_distributions= to sample.",
            )
        if param_grid is not None:
            self.space = param_grid_to_hyperparameters(
                self.encode("param_grid", param_grid), open_names=True
            )
        elif param_distributions is not None:
            self.space = param_distributions_to_hyperparameters(
                self.encode("param_distributions", param_distributions),
                open_names=True,
            )

    @property
    def is_classifier(self) -> bool:
        """Whether the estimator classifies (an int ``cv`` then stratifies)."""
        return bool(is_classifier(self.estimator))

    def encode(self, argument: str, spec: Any) -> Any:
        """A ``param_grid`` / ``param_distributions`` that keras-tuner can hold.

        Names are checked against the estimator's parameters; keys are
        sorted (as ``ParameterGrid`` does); lists that keras-tuner's
        ``Choice`` cannot hold as they are become text labels, remembered
        for `decode`. Anything else is returned as given, for
        `keras_hpo.search_space` to check.

        Raises:
            ValueError: For a name the estimator does not have, or two
                values of one list that read alike.
        """
        if isinstance(spec, Mapping):
            names = sorted(spec, key=str)
            return {name: self._encoded(argument, name, spec[name]) for name in names}
        if isinstance(spec, (list, tuple)):
            return [
                self.encode(f"{argument}[{i}]", grid) for i, grid in enumerate(spec)
            ]
        return spec

    def _encoded(self, argument: str, name: Any, values: Any) -> Any:
        known = self.estimator.get_params(deep=True)
        if isinstance(name, str) and name != SUBGRID and name not in known:
            raise bad_value(
                argument,
                name,
                f"{name!r} is not a parameter of {type(self.estimator).__name__}",
                f"Use one of: {', '.join(sorted(known))}.",
            )
        if isinstance(values, np.ndarray):
            values = list(values)
        if not isinstance(values, (list, tuple)):
            return values
        values = [to_python(v) for v in values]
        if _holds_as_is(values):
            return values
        labels = [_label(v) for v in values]
        if len(set(labels)) < len(labels):
            labels = [repr(v) for v in values]
        if len(set(labels)) < len(labels):
            raise bad_value(
                f"{argument}[{name!r}]",
                values,
                "two of its values read alike, so a trial could not tell them apart",
                "Give each value once.",
            )
        # A list of grids may name a parameter in several of them: one table.
        table = self.labels_of.setdefault(name, {})
        for label, value in zip(labels, values, strict=True):
            if label in table and not _same_value(table[label], value):
                raise bad_value(
                    f"{argument}[{name!r}]",
                    values,
                    f"its value {label} reads as another value of {name!r} in "
                    "another grid, so a trial could not tell them apart",
                    "Give values that read differently (their repr).",
                )
            table.setdefault(label, value)
        return labels

    def decode(
        self, values: Mapping[str, Any], json_safe: bool = False
    ) -> dict[str, Any]:
        """A trial's values as the estimator takes them (labels turned back).

        The internal sub-grid index of a list of grids is left out; a value
        that is not a label is kept as it is.

        Args:
            values: Hyperparameter name -> value, as the oracle holds them.
            json_safe: Keep the label of a value JSON cannot hold (an
                estimator), for ``result.json``; `restore` turns it back.
        """
        decoded = {}
        for name, value in values.items():
            if name == SUBGRID:
                continue
            table = self.labels_of.get(name, {})
            if _hashable(value) and value in table:
                if not json_safe or _json_safe(table[value]):
                    value = table[value]
            decoded[name] = value
        return decoded

    def restore(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Values read from ``result.json``: the labels kept there turned back."""
        restored = dict(values)
        for name, value in values.items():
            table = self.labels_of.get(name, {})
            if isinstance(value, str) and not _json_safe(table.get(value)):
                restored[name] = table[value]
        return restored

    def build(self, hp: Any) -> Any:
        """An unfitted clone of the estimator with ``hp``'s active values set.

        With a ``param_grid`` or ``param_distributions`` of its own, it first
        declares that space in ``hp`` (as keras-tuner's tuners expect).
        """
        if self.space is not None:
            hp.merge(self.space, overwrite=False)
        values = {k: v for k, v in hp.values.items() if hp.is_active(k)}
        params = {k: clone(v, safe=False) for k, v in self.decode(values).items()}
        return clone(self.estimator).set_params(**params)

    def search_identity(self) -> dict[str, Any]:
        """What the scores mean: the estimator's class and fixed parameters.

        Saved with the search and compared on resume (see
        `keras_hpo.tuners.resume.search_identity`).
        """
        estimator = type(self.estimator)
        return {
            "estimator": f"{estimator.__module__}.{estimator.__qualname__}",
            "estimator_params": repr(self.estimator),
        }


def _same_value(a: Any, b: Any) -> bool:
    """Whether two grid values are one (estimators: same class and params)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    try:
        if a == b:
            return True
    except Exception:  # noqa: BLE001 - arrays and the like compare oddly
        pass
    return repr(a) == repr(b)


def _holds_as_is(values: Any) -> bool:
    """Whether keras-tuner keeps these values unchanged (one plain type)."""
    kinds = {type(v) for v in values}
    return len(kinds) == 1 and kinds.pop() in _PLAIN


def _label(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _json_safe(value: Any) -> bool:
    """Whether JSON holds ``value`` (tuples come back as lists)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_json_safe(v) for v in value)
    return False


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
