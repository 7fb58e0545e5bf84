"""Tabular inputs: a DataFrame's columns, preprocessed inside the model.

``HyperMLP(preprocessing="auto")`` takes a pandas DataFrame with numeric
and text (or categorical) columns and missing values, as scikit-learn users
would give a ``Pipeline`` of ``SimpleImputer``, ``StandardScaler`` and
``OneHotEncoder``. `TabularSchema.from_frame` reads the training data once
(`HyperMLP.adapt`): the numeric columns' medians, means and variances, and
each text column's categories. `TabularSchema.encode` builds the same steps
from Keras layers inside every model, so the model itself takes raw rows:

* numeric columns: missing values (NaN) filled with the training median
  (`FillMissing`), then standardised (``keras.layers.Normalization``);
* text columns: one-hot encoded (``keras.layers.StringLookup``) up to
  `MAX_ONE_HOT` categories; a missing value and a category not seen in
  training share one extra column. A column with more categories (up to
  `MAX_CATEGORIES`, a postcode, a product ID) gets a trained
  ``keras.layers.Embedding`` instead, `embedding_width` numbers per row.

A Keras model takes named columns as a dict of tensors; `model_inputs`
turns a DataFrame into that dict (text as ``tf.string`` tensors). The model
`HyperMLP` builds is a `TabularModel`, a functional ``keras.Model`` whose
``fit``, ``evaluate`` and ``predict`` call it, so
``best_estimator_.predict(raw_dataframe)`` works, also after
``keras.saving.load_model``. The text columns need TensorFlow's string
tensors: TensorFlow backend only (`TabularSchema.from_frame` refuses them on
JAX and PyTorch, naming the columns and the fix); numeric columns work on
every backend. This module owns the schema and the
layers; it must not train or choose hyperparameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import keras
import numpy as np

from keras_hpo.errors import Described
from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value

__all__ = [
    "FillMissing",
    "TabularModel",
    "TabularSchema",
    "embedding_width",
    "input_names",
    "is_frame",
    "model_inputs",
]

#: The most categories a text column is one-hot encoded with.
MAX_ONE_HOT = 1000
#: The most categories a text column may have (embedded above `MAX_ONE_HOT`).
MAX_CATEGORIES = 100_000
#: The widest embedding of a text column.
MAX_EMBEDDING = 50


#: The lookups' name for a missing value or an unseen category: Keras'
#: default, "[UNK]", is a category a table may hold (it was merged with
#: the unseen ones).
OOV_TOKEN = "\x00"


def embedding_width(categories: int) -> int:
    """Numbers per row of an embedded column: ``1.6 * n ** 0.56``, at most 50.

    The rule of thumb of fast.ai's tabular models (a power of the number
    of categories, capped), as a default that needs no tuning.
    """
    return max(1, min(MAX_EMBEDDING, round(1.6 * categories**0.56)))


def is_frame(data: Any) -> bool:
    """Whether ``data`` is a pandas DataFrame."""
    return all(hasattr(data, name) for name in ("columns", "iloc", "dtypes"))


@keras.saving.register_keras_serializable(package="keras_hpo")
class FillMissing(keras.layers.Layer):
    """Replaces NaN in each column by that column's fill value.

    Args:
        values: One fill value per column (the training medians).
        **kwargs: ``keras.layers.Layer`` arguments (``name``...).
    """

    def __init__(self, values: list[float], **kwargs):
        super().__init__(**kwargs)
        self.values = [float(v) for v in values]

    def call(self, x):
        """``x`` with NaN replaced column by column."""
        fill = keras.ops.convert_to_tensor(self.values, dtype=x.dtype)
        return keras.ops.where(keras.ops.isnan(x), fill, x)

    def compute_output_shape(self, input_shape):
        """The input's shape."""
        return input_shape

    def get_config(self) -> dict[str, Any]:
        """The layer's configuration (for saving)."""
        return {**super().get_config(), "values": self.values}


@keras.saving.register_keras_serializable(package="keras_hpo")
class TabularModel(keras.Model):
    """A functional model of named columns that also takes a DataFrame.

    Made as ``TabularModel(inputs, outputs)`` like ``keras.Model``; ``fit``
    (``x`` and ``validation_data``), ``evaluate`` and ``predict`` accept a
    pandas DataFrame with the columns it was built on (extra columns are
    ignored), as well as the dict of columns Keras takes. It saves and
    loads as any Keras model (``keras_hpo`` imported, which registers it).
    """

    def fit(self, x=None, y=None, *args, **kwargs):
        """``keras.Model.fit``, with DataFrames as the model's columns."""
        validation = kwargs.get("validation_data")
        if isinstance(validation, (tuple, list)) and validation:
            kwargs["validation_data"] = (
                model_inputs(self, validation[0]),
                *validation[1:],
            )
        return super().fit(model_inputs(self, x), y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """``keras.Model.evaluate``, with a DataFrame as the model's columns."""
        return super().evaluate(model_inputs(self, x), y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        """``keras.Model.predict``, with a DataFrame as the model's columns."""
        return super().predict(model_inputs(self, x), *args, **kwargs)


@dataclass
class TabularSchema:
    """The columns a tabular model takes and their training statistics.

    Attributes:
        numeric: Numeric column names, in the frame's order.
        categorical: Text column names, in the frame's order.
        medians: Each numeric column's median (fills its missing values).
        means: Each numeric column's mean, after filling.
        variances: Each numeric column's variance, after filling.
        vocabularies: Text column name -> its categories, sorted.
    """

    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    medians: list[float] = field(default_factory=list)
    means: list[float] = field(default_factory=list)
    variances: list[float] = field(default_factory=list)
    vocabularies: dict[str, list[str]] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """Every column the model takes."""
        return [*self.numeric, *self.categorical]

    @classmethod
    def from_frame(cls, frame: Any) -> TabularSchema:
        """Reads the columns and their statistics from training data.

        Numeric (and boolean) columns are numeric; text, categorical and
        other object columns are categories.

        Raises:
            TypeError: If ``frame`` is not a DataFrame, or a column name is
                not a string.
            ValueError: For a text column with no value at all or more than
                `MAX_CATEGORIES` categories, an infinite number, or two
                columns of one name.
        """
        if not is_frame(frame):
            raise bad_type(
                "x",
                frame,
                "a pandas DataFrame, as preprocessing='auto' reads named columns",
                "Pass pandas.DataFrame(x, columns=[...]); for a numeric array use "
                "HyperMLP(standardize=True) without preprocessing=.",
            )
        duplicated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        if duplicated:
            raise bad_value(
                "x",
                Described(f"a DataFrame with columns {list(frame.columns)}", frame),
                f"has more than one column named {', '.join(map(repr, duplicated))}",
                "Give each column its own name.",
            )
        schema = cls()
        for name in frame.columns:
            if not isinstance(name, str):
                raise bad_type(
                    "x",
                    name,
                    "a column named by a string",
                    "Name the DataFrame's columns.",
                )
            column = frame[name]
            if column.dtype.kind in "biuf":
                values = column.to_numpy(dtype="float64", na_value=np.nan)
                _check_finite(name, values, frame)
                # A column with no value here (in one fold's training rows
                # of a column filled later) becomes a constant 0, as
                # scikit-learn's SimpleImputer drops it: every fold's model
                # takes the same columns.
                empty = np.isnan(values).all()
                median = 0.0 if empty else float(np.nanmedian(values))
                filled = np.where(np.isnan(values), median, values)
                schema.numeric.append(name)
                schema.medians.append(median)
                schema.means.append(float(filled.mean()))
                # A constant column is left as it is, not divided by Keras'
                # 1e-7 floor (a 1 after a column of 0s became 1e7), as
                # scikit-learn's StandardScaler does.
                variance = float(filled.var())
                schema.variances.append(variance if variance > 0 else 1.0)
            else:
                categories = sorted({_text(v) for v in column} - {""})
                if not categories:
                    raise bad_value(
                        "x",
                        name,
                        "a text column with no value",
                        "Drop the column, or give some of its values.",
                    )
                if len(categories) > MAX_CATEGORIES:
                    raise bad_value(
                        "x",
                        name,
                        f"a text column with {len(categories)} categories, more "
                        f"than the {MAX_CATEGORIES} an embedding takes",
                        "Drop it (an ID column predicts nothing new), group its "
                        "rare values into one, or encode it as numbers yourself.",
                    )
                schema.categorical.append(name)
                schema.vocabularies[name] = categories
        if not schema.columns:
            raise bad_value("x", frame, "a DataFrame with no column", "Give columns.")
        backend = keras.backend.backend()
        if schema.categorical and backend != "tensorflow":
            raise bad_value(
                "x",
                f"text columns {schema.categorical} on KERAS_BACKEND={backend}",
                "text columns need the TensorFlow backend: the model reads them "
                "as TensorFlow string tensors",
                "Run with KERAS_BACKEND=tensorflow, or encode the text columns as "
                "numbers first (pandas.get_dummies(x), or x[c].astype('category')"
                ".cat.codes).",
            )
        return schema

    def inputs(self) -> dict[str, Any]:
        """One ``keras.Input`` per column (text columns as strings).

        The dict is keyed by the column names; an Input is named after its
        column unless Keras cannot take that name for a layer (a ``/``) or
        the model has a layer of that name (``output``, ``dense_0``...):
        then ``column_<i>``.
        """
        columns = [*self.numeric, *self.categorical]
        made = {}
        for index, name in enumerate(columns):
            layer = name if _usable_layer_name(name) else f"column_{index}"
            dtype = "string" if name in self.categorical else "float32"
            made[name] = keras.Input(shape=(1,), name=layer, dtype=dtype)
        return made

    def encode(self, inputs: dict[str, Any]) -> Any:
        """The preprocessed features: filled, standardised numbers; categories."""
        parts = []
        if self.numeric:
            numbers = [inputs[name] for name in self.numeric]
            x = (
                keras.layers.Concatenate(name="numeric")(numbers)
                if len(numbers) > 1
                else numbers[0]
            )
            x = FillMissing(self.medians, name="fill_missing")(x)
            parts.append(
                keras.layers.Normalization(
                    mean=self.means, variance=self.variances, name="standardize"
                )(x)
            )
        for index, name in enumerate(self.categorical):
            vocabulary = self.vocabularies[name]
            if len(vocabulary) <= MAX_ONE_HOT:
                parts.append(
                    keras.layers.StringLookup(
                        vocabulary=vocabulary,
                        output_mode="one_hot",
                        oov_token=OOV_TOKEN,
                        name=f"one_hot_{index}",
                    )(inputs[name])
                )
                continue
            # Index 0 is a missing value or an unseen category, as one-hot's.
            codes = keras.layers.StringLookup(
                vocabulary=vocabulary, oov_token=OOV_TOKEN, name=f"lookup_{index}"
            )(inputs[name])
            width = embedding_width(len(vocabulary))
            vectors = keras.layers.Embedding(
                len(vocabulary) + 1, width, name=f"embedding_{index}"
            )(codes)
            parts.append(
                keras.layers.Reshape((width,), name=f"embedded_{index}")(vectors)
            )
        if len(parts) == 1:
            return parts[0]
        return keras.layers.Concatenate(name="features")(parts)


#: Names of the layers a model of named columns may have besides its inputs.
_LAYER_NAMES = re.compile(
    r"(numeric|fill_missing|standardize|features|flatten|inputs|output"
    r"|column_\d+|(dense|dropout|one_hot|lookup|embedding|embedded)_\d+)"
)


def _usable_layer_name(name: str) -> bool:
    """Whether an Input can be named after this column."""
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9_.\-]*", name)) and not (
        _LAYER_NAMES.fullmatch(name)
    )


def _text(value: Any) -> str:
    """A category as text; missing values (None, NaN) as ``""``.

    A whole float is written as the int it equals: the categories 1, 2 of a
    column read as ``[1.0, 2.0, NaN]`` once a value is missing (pandas
    makes such a column float) are the training data's ``"1"`` and ``"2"``.
    """
    if value is None or value is getattr(_pandas(), "NA", object()):
        return ""
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return ""
        if np.isfinite(value) and float(value).is_integer():
            return str(int(value))
    return str(value)


def _check_finite(name: str, values: np.ndarray, frame: Any) -> None:
    """Refuses infinite values in a numeric column (missing ones are NaN)."""
    infinite = np.flatnonzero(np.isinf(values))
    if len(infinite):
        raise bad_value(
            "x",
            Described(
                f"column {name!r}, row {int(infinite[0])}: {values[infinite[0]]}", frame
            ),
            f"{len(infinite)} value(s) of column {name!r} are infinite",
            "Replace them with finite numbers, or leave the cells empty (a missing "
            "value is imputed).",
        )


def _pandas():
    import pandas  # noqa: PLC0415 - only for DataFrames, which import it

    return pandas


def model_inputs(model: Any, x: Any) -> Any:
    """``x`` as ``model`` takes it: a DataFrame as a dict of named columns.

    Anything else, and a DataFrame given to a model with one unnamed input,
    is returned as it is.

    Raises:
        ValueError: If the DataFrame lacks a column the model takes (the
            message lists them).
    """
    names = input_names(model)
    if not is_frame(x) or names is None:
        return x
    missing = [name for name in names if name not in x.columns]
    if missing:
        raise bad_value(
            "x",
            f"a DataFrame with columns {list(x.columns)}",
            f"lacks {', '.join(map(repr, missing))}, which the model takes",
            f"Pass the columns it was tuned on: {', '.join(names)}.",
        )
    arrays = {}
    for name, dtype in names.items():
        column = x[name]
        if dtype == "string":
            import tensorflow as tf  # noqa: PLC0415 - only text columns need it

            text = np.asarray([_text(v) for v in column], dtype=object)
            arrays[name] = tf.constant(text.reshape(-1, 1), dtype=tf.string)
        else:
            arrays[name] = _numbers(name, column).reshape(-1, 1)
            _check_finite(name, arrays[name].ravel(), x)
    return arrays


def _numbers(name: str, column: Any) -> np.ndarray:
    """A numeric column's values (missing ones NaN); refuses text by row."""
    try:
        return column.to_numpy(dtype="float32", na_value=np.nan)
    except (TypeError, ValueError):
        import pandas as pd  # noqa: PLC0415 - a DataFrame was given: pandas is there

        numbers = pd.to_numeric(column, errors="coerce")
        bad = np.flatnonzero(column.notna().to_numpy() & numbers.isna().to_numpy())
        row = int(bad[0]) if len(bad) else 0
        raise bad_value(
            "x",
            f"column {name!r}, row {row}: {column.iloc[row]!r}",
            f"{len(bad)} value(s) of column {name!r} are not numbers, and the "
            "model takes numbers there",
            "Fix those values, or leave the cells empty (a missing value is imputed).",
        ) from None


def input_names(model: Any) -> dict[str, str] | None:
    """A model's named inputs (name -> dtype), or ``None`` for one array input."""
    structure = getattr(model, "input", None)
    if not isinstance(structure, dict):
        return None
    return {name: str(tensor.dtype) for name, tensor in structure.items()}
