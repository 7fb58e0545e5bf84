"""Expected improvement, computed in log space so it never underflows."""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = [
    "confidence_bound_gradient",
    "log_expected_improvement",
    "log_expected_improvement_gradient",
]

_SQRT_HALF_PI = np.sqrt(np.pi / 2)
_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


def _log_h(z: np.ndarray) -> np.ndarray:
    """log(phi(z) + z * Phi(z)), stable for every z (Ament et al., 2023)."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    log_phi = -0.5 * z**2 - _LOG_SQRT_2PI
    upper = z > -1.0
    zu = z[upper]
    out[upper] = np.log(np.exp(log_phi[upper]) + zu * special.ndtr(zu))
    lower = ~upper
    zl = z[lower]
    # phi(z) + z Phi(z) = phi(z) * (1 - |z| Phi(z)/phi(z)), with
    # Phi(z)/phi(z) = sqrt(pi/2) * erfcx(-z / sqrt(2)).
    ratio = np.abs(zl) * _SQRT_HALF_PI * special.erfcx(-zl / np.sqrt(2))
    tail = np.where(
        zl > -1e3,
        np.log1p(-np.minimum(ratio, 1 - 1e-16)),
        # asymptotic series: 1 - ratio = z^-2 (1 - 3 z^-2 + 15 z^-4 - ...)
        -2 * np.log(np.abs(zl)) + np.log1p(-3 / zl**2 + 15 / zl**4),
    )
    out[lower] = log_phi[lower] + tail
    return out


def log_expected_improvement(
    mean: np.ndarray, std: np.ndarray, best: float, xi: float = 0.0
) -> np.ndarray:
    """Log of the expected improvement over ``best``, for minimisation.

    ``EI = std * h((best - mean - xi) / std)`` with
    ``h(z) = phi(z) + z * Phi(z)``; the log is computed without forming EI, so
    candidates far from the incumbent still rank correctly instead of all
    collapsing to zero.

    Args:
        mean: Posterior means of the candidates.
        std: Posterior standard deviations (floored at 1e-12).
        best: The best (lowest) observed value.
        xi: Exploration margin subtracted from the improvement.

    Returns:
        ``log(EI)`` per candidate.
    """
    std = np.maximum(np.asarray(std, dtype=float), 1e-12)
    z = (best - np.asarray(mean, dtype=float) - xi) / std
    return np.log(std) + _log_h(z)


def log_expected_improvement_gradient(
    mean: np.ndarray, std: np.ndarray, best: float, xi: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``log(EI)`` and its derivatives in the mean and the standard deviation.

    With ``z = (best - mean - xi) / std``: ``d log EI / d mean = -Phi(z) /
    (std h(z))`` and ``d log EI / d std = phi(z) / (std h(z))``, both formed
    from logs so they stay finite where EI underflows.

    Args:
        mean: Posterior means.
        std: Posterior standard deviations (floored at 1e-12).
        best: The best (lowest) observed value.
        xi: Exploration margin subtracted from the improvement.

    Returns:
        ``(log EI, d log EI / d mean, d log EI / d std)``, each like ``mean``.
    """
    std = np.maximum(np.asarray(std, dtype=float), 1e-12)
    z = (best - np.asarray(mean, dtype=float) - xi) / std
    log_h = _log_h(z)
    log_phi = -0.5 * z**2 - _LOG_SQRT_2PI
    d_mean = -np.exp(special.log_ndtr(z) - log_h) / std
    d_std = np.exp(log_phi - log_h) / std
    return np.log(std) + log_h, d_mean, d_std


def confidence_bound_gradient(
    mean: np.ndarray, std: np.ndarray, beta: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lower confidence bound, negated to be maximised, and its derivatives.

    ``-(mean - beta * std)``: keras-tuner's acquisition (with its ``beta``),
    for minimisation; the larger ``beta``, the more a candidate's
    uncertainty counts.

    Args:
        mean: Posterior means.
        std: Posterior standard deviations.
        beta: Weight of the standard deviation (>= 0).

    Returns:
        ``(value, d value / d mean, d value / d std)``, each like ``mean``.
    """
    mean = np.asarray(mean, dtype=float)
    std = np.asarray(std, dtype=float)
    return beta * std - mean, -np.ones_like(mean), np.full_like(std, beta)
