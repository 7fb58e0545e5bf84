"""Search-space building blocks: one knob, many ways to give it.

Every tunable knob of a hypermodel accepts the same four forms:

* a fixed value: ``units=64``;
* a list, meaning a choice: ``activation=["relu", "tanh"]``;
* a ``(low, high)`` or ``(low, high, step)`` tuple, meaning a range;
* a keras-tuner hyperparameter object, e.g.
  ``keras_tuner.engine.hyperparameters.Int("units", 32, 256, step=32)``;
* a frozen ``scipy.stats`` distribution (``randint``, ``uniform``,
  ``loguniform``), as in scikit-learn's ``param_distributions``.

`Knob` validates the form once, at construction time, and turns it into a
keras-tuner hyperparameter template; `declare` registers that template on a
`keras_tuner.HyperParameters` when a model is built.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from keras_tuner.engine import hyperparameters as kt_hp

from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value

__all__ = [
    "HYPERPARAMETER_TYPES",
    "Knob",
    "declare",
    "from_distribution",
    "possible_values",
    "to_python",
]

#: keras-tuner's hyperparameter classes, as accepted in place of a value.
HYPERPARAMETER_TYPES = (
    kt_hp.Boolean,
    kt_hp.Choice,
    kt_hp.Fixed,
    kt_hp.Float,
    kt_hp.Int,
)


def to_python(value: Any) -> Any:
    """Converts NumPy scalars to the matching Python scalar; other values pass."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def declare(hp: kt_hp.HyperParameters, template: kt_hp.HyperParameter, name: str):
    """Registers a copy of ``template`` on ``hp`` under ``name``.

    The copy takes the conditions of the scope ``hp`` is in, so templates can be
    declared inside ``hp.conditional_scope(...)``.

    Args:
        hp: The hyperparameters of the trial being built.
        template: A keras-tuner hyperparameter object.
        name: The name to register it under.

    Returns:
        The trial's value of the hyperparameter, or ``None`` when inactive.
    """
    config = template.get_config()
    config.pop("conditions", None)
    config["name"] = name
    return getattr(hp, type(template).__name__)(**config)


def possible_values(template: kt_hp.HyperParameter) -> list[Any] | None:
    """Lists every value a discrete hyperparameter can take, in order.

    Args:
        template: A keras-tuner hyperparameter object.

    Returns:
        The values, or ``None`` for a continuous range (a ``Float`` without a
        step), which has no finite list.
    """
    if isinstance(template, kt_hp.Fixed):
        return [template.value]
    if isinstance(template, kt_hp.Boolean):
        return [False, True]
    if isinstance(template, kt_hp.Choice):
        return list(template.values)
    if isinstance(template, kt_hp.Int):
        if template.step is None:
            return list(range(template.min_value, template.max_value + 1))
        return sorted({int(v) for v in template.values})
    if isinstance(template, kt_hp.Float):
        if template.step is None:
            return None
        return _float_steps(template)
    raise TypeError(f"Unknown hyperparameter type: {type(template).__name__}")


def _float_steps(template: kt_hp.Float) -> list[float]:
    """The values of a stepped ``Float``, the upper bound included.

    keras-tuner counts them as ``(max - min) // step + 1``, which loses the
    top value to rounding (``0.5 // 0.1 == 4.0``); decimal arithmetic on the
    numbers as written does not.
    """
    low, high, step = (
        Decimal(repr(float(v)))
        for v in (template.min_value, template.max_value, template.step)
    )
    if template.sampling == "linear":
        count = int((high - low) / step) + 1
        return [float(low + i * step) for i in range(count)]
    values = []  # log: the step multiplies
    value = low
    while value <= high * Decimal("1.000000001"):
        values.append(float(value))
        value *= step
    if template.sampling == "reverse_log":
        values = [float(high + low - Decimal(repr(v))) for v in reversed(values)]
    return values


def from_distribution(name: str, dist: Any, argument: str) -> kt_hp.HyperParameter:
    """Converts a frozen ``scipy.stats`` distribution into a hyperparameter.

    ``randint(a, b)`` becomes ``Int(a, b - 1)`` (scipy's upper bound is
    exclusive), ``uniform(loc, scale)`` becomes ``Float(loc, loc + scale)`` and
    ``loguniform(a, b)`` becomes ``Float(a, b, sampling="log")``.

    Args:
        name: The hyperparameter's name.
        dist: A frozen scipy distribution.
        argument: The argument's name, for error messages.

    Returns:
        The keras-tuner hyperparameter.

    Raises:
        TypeError: For a distribution family other than the three above.
    """
    family = getattr(getattr(dist, "dist", None), "name", None)
    if family is None:  # the family itself (scipy.stats.randint), not frozen
        raise bad_type(
            argument,
            dist,
            "a frozen scipy.stats distribution (with its bounds)",
            "Call it with its bounds, e.g. scipy.stats.randint(1, 10) or "
            "scipy.stats.loguniform(1e-4, 1e-1).",
        )
    low, high = (to_python(v) for v in dist.support())
    if family == "randint":
        return kt_hp.Int(name, int(low), int(high))
    if family == "uniform":
        return kt_hp.Float(name, float(low), float(high))
    if family in ("loguniform", "reciprocal"):
        return kt_hp.Float(name, float(low), float(high), sampling="log")
    raise bad_type(
        argument,
        dist,
        "a list or a scipy.stats randint, uniform or loguniform distribution",
        "Other distributions have unbounded or non-uniform support that the "
        "strategies cannot encode; give a list or one of those three.",
    )


def _is_distribution(spec: Any) -> bool:
    return hasattr(spec, "dist") and hasattr(spec, "support") and hasattr(spec, "rvs")


def _range_step(spec: tuple, argument: str) -> int | float | None:
    """The step of a ``(low, high, step)`` range (``None`` without one)."""
    if len(spec) != 3:
        return None
    step = to_python(spec[2])
    if isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0:
        raise bad_value(
            argument,
            spec,
            "the step must be a positive number",
            "E.g. (0.0, 0.5, 0.1).",
        )
    return step


#: A ``param_grid`` or ``param_distributions`` entry in an argument's name
#: (``param_grid['units']``, ``param_grid[1]['units'][0]``: its first part).
_SKLEARN_KEY = re.compile(r"param_(?:grid|distributions)(?:\[\d+\])?\['[^']*'\]")


@dataclass(frozen=True)
class Knob:
    """One tunable setting of a hypermodel, and what values it may take.

    Args:
        name: The hyperparameter's name, e.g. ``"units"``.
        kind: ``int``, ``float`` or ``str``.
        low: Smallest valid value (numbers only), or ``None``.
        high: Largest valid value (numbers only), or ``None``.
        high_open: Whether ``high`` itself is excluded (dropout < 1).
        choices: The valid strings, for ``kind=str``.
        log: Whether a range is searched on a log scale by default.
        default: The value used when the knob is not tuned.
        example: An example of a valid setting, quoted in error messages.
    """

    name: str
    kind: type
    low: float | None = None
    high: float | None = None
    high_open: bool = False
    choices: tuple[str, ...] | None = None
    log: bool = False
    default: Any = None
    example: str = ""

    # -- validation of one value ---------------------------------------------
    def _example(self, argument: str) -> str:
        """The example a message gives for ``argument``.

        `example`, or in a ``param_grid`` / ``param_distributions`` (where a
        tuple is a list of values, not a range) the same values as a list
        under the argument's own name: ``param_grid['units']=[16, 512]``.
        """
        key = _SKLEARN_KEY.match(argument)
        if key is None or "=" not in self.example:
            return self.example
        values = self.example.split("=", 1)[1].replace("(", "[").replace(")", "]")
        return f"{key[0]}={values}"

    def _bounds_text(self) -> str:
        if self.kind is str:
            return "one of " + ", ".join(repr(c) for c in self.choices or ())
        upper = ")" if self.high_open else "]"
        high = "inf" if self.high is None else f"{self.high:g}"
        article = "an" if self.kind is int else "a"
        return f"{article} {self.kind.__name__} in [{self.low:g}, {high}{upper}"

    def check_value(self, value: Any, argument: str) -> Any:
        """Validates one value of the knob and returns it as a Python scalar.

        Args:
            value: The value to check.
            argument: The argument's name, for error messages.

        Returns:
            The value, converted from NumPy if needed.

        Raises:
            ConfigTypeError: If the value has the wrong type.
            ConfigError: If the value is out of bounds or an unknown name.
        """
        value = to_python(value)
        fix = f"Give {self._bounds_text()}, for example {self._example(argument)}."
        if self.kind is str:
            if not isinstance(value, str):
                raise bad_type(argument, value, "a string", fix)
            if self.choices is not None and value.lower() not in self.choices:
                raise bad_value(argument, value, f"unknown {self.name}", fix)
            return value.lower()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            article = "an" if self.kind is int else "a"
            raise bad_type(argument, value, f"{article} {self.kind.__name__}", fix)
        if self.kind is int and not float(value).is_integer():
            raise bad_type(argument, value, "a whole number", fix)
        if math.isnan(value) or math.isinf(value):
            raise bad_value(argument, value, "must be finite", fix)
        too_low = self.low is not None and value < self.low
        too_high = self.high is not None and (
            value >= self.high if self.high_open else value > self.high
        )
        if too_low or too_high:
            raise bad_value(argument, value, f"must be {self._bounds_text()}", fix)
        return self.kind(value)

    # -- turning a specification into a template -----------------------------
    def template(self, spec: Any, argument: str | None = None):
        """Validates a specification and returns a keras-tuner hyperparameter.

        Args:
            spec: A fixed value, a list, a ``(low, high[, step])`` tuple, a
                keras-tuner hyperparameter or a scipy distribution.
            argument: The argument's name in error messages (default: the
                knob's name).

        Returns:
            A keras-tuner hyperparameter named after the knob (a user's own
            hyperparameter object keeps its own name).

        Raises:
            ConfigError: For an empty list, a reversed range or a bad value.
            ConfigTypeError: For a specification of an unsupported type.
        """
        argument = argument or self.name
        if isinstance(spec, HYPERPARAMETER_TYPES):
            self._check_template(spec, argument)
            return spec
        if _is_distribution(spec):
            template = from_distribution(self.name, spec, argument)
            self._check_template(template, argument)
            return template
        if isinstance(spec, tuple):
            return self._range(spec, argument)
        if isinstance(spec, (list, np.ndarray)):
            return self._choice(list(spec), argument)
        if isinstance(spec, (set, dict)) or spec is None:
            raise bad_type(
                argument,
                spec,
                "a value, a list, a (low, high) tuple or a keras-tuner hyperparameter",
                f"For example {self._example(argument)}.",
            )
        return kt_hp.Fixed(self.name, self.check_value(spec, argument))

    def _choice(self, values: list[Any], argument: str) -> kt_hp.HyperParameter:
        if not values:
            raise bad_value(
                argument,
                values,
                "an empty list leaves nothing to try",
                f"Give at least one value, for example {self._example(argument)}.",
            )
        checked = [
            self.check_value(v, f"{argument}[{i}]") for i, v in enumerate(values)
        ]
        if len(set(checked)) != len(checked):
            raise bad_value(
                argument, values, "the list repeats a value", "List each value once."
            )
        if self.kind is float:
            checked = [float(v) for v in checked]
        if len(checked) == 1:
            return kt_hp.Fixed(self.name, checked[0])
        default = self.default if self.default in checked else None
        return kt_hp.Choice(self.name, checked, default=default)

    def _range(self, spec: tuple, argument: str) -> kt_hp.HyperParameter:
        if self.kind is str:
            raise bad_type(
                argument,
                spec,
                "a name or a list of names",
                f"A range makes no sense for {self.name}; give a list such as "
                f"{self._example(argument)}.",
            )
        if len(spec) not in (2, 3):
            raise bad_value(
                argument,
                spec,
                "a range is a (low, high) or (low, high, step) tuple",
                "Use a list for a set of choices, e.g. [32, 64, 128].",
            )
        low = self.check_value(spec[0], f"{argument}[0] (low)")
        high = self.check_value(spec[1], f"{argument}[1] (high)")
        if low > high:
            raise bad_value(
                argument,
                spec,
                f"low ({low:g}) is greater than high ({high:g})",
                f"Swap them: {argument}=({high:g}, {low:g}).",
            )
        step = _range_step(spec, argument)
        if self.kind is int and step is not None and float(step) != int(step):
            raise bad_value(
                argument,
                spec,
                f"the step of {self.name}, a whole number, must be whole",
                f"E.g. {argument}=({low:g}, {high:g}, {max(int(step), 1)}).",
            )
        default = self.default if low <= self.default <= high else None
        if low == high:
            return kt_hp.Fixed(self.name, self.kind(low))
        # A step always means an additive grid (units=(16, 512, 16) is 16, 32,
        # ...); without one, log-scale knobs are searched on a log scale.
        log = self.log and low > 0 and step is None
        sampling = "log" if log else "linear"
        if self.kind is int:
            return kt_hp.Int(
                self.name,
                low,
                high,
                step=None if step is None else int(step),
                sampling=sampling,
                default=default,
            )
        return kt_hp.Float(
            self.name,
            float(low),
            float(high),
            step=step,
            sampling=sampling,
            default=default,
        )

    def _check_template(self, template: kt_hp.HyperParameter, argument: str) -> None:
        """Checks the values a user's hyperparameter object allows."""
        numeric = isinstance(template, (kt_hp.Int, kt_hp.Float))
        if (self.kind is str and numeric) or (
            self.kind is int and isinstance(template, kt_hp.Float)
        ):
            raise bad_type(
                argument,
                template,
                f"a hyperparameter of {self.kind.__name__} values",
                f"For example {self._example(argument)}.",
            )
        if isinstance(template, (kt_hp.Int, kt_hp.Float)):
            self.check_value(template.min_value, f"{argument}.min_value")
            self.check_value(template.max_value, f"{argument}.max_value")
        else:
            values = possible_values(template) or []
            for i, value in enumerate(values):
                self.check_value(value, f"{argument}.values[{i}]")
                if self.kind is int and not isinstance(to_python(value), int):
                    raise bad_type(
                        f"{argument}.values[{i}]",
                        value,
                        f"an int ({self.name} is a whole number)",
                        f"For example {self._example(argument)}.",
                    )
