"""A small Gaussian process for Bayesian optimisation, in plain numpy.

The model behind `BayesianOracle`: a Matern 5/2 kernel with one length scale
per input dimension, a signal variance and a noise variance, on inputs in the
unit cube and standardised outputs. The kernel hyperparameters are fitted by
maximising the marginal likelihood times weak log-normal priors (a MAP
estimate), with analytic gradients and L-BFGS-B. Everything costs one
Cholesky factorisation of an ``n x n`` matrix per likelihood evaluation, so a
fit on 200 observations takes milliseconds, not the seconds of a general
purpose library with random restarts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy import optimize

__all__ = ["GaussianProcess", "default_theta", "fit_gp"]

_SQRT5 = np.sqrt(5.0)
#: Bounds of the log length scales, log signal variance and log noise variance.
_LOG_LENGTH_BOUNDS = (np.log(1e-2), np.log(1e2))
_LOG_SIGNAL_BOUNDS = (np.log(1e-2), np.log(1e2))
_LOG_NOISE_BOUNDS = (np.log(1e-9), np.log(1.0))
#: Means and standard deviations of the priors on those logs.
_LOG_SIGNAL_PRIOR = (0.0, 1.5)
_LOG_NOISE_PRIOR = (np.log(1e-6), 3.0)
_LOG_LENGTH_PRIOR_SD = 1.0
_JITTER = 1e-8


def _length_prior_mean(dims: int) -> float:
    # Longer length scales in more dimensions, where points lie further apart:
    # 0.35 in 2-d, 0.61 in 6-d (the unit cube's side is 1).
    return float(np.log(0.25) + 0.5 * np.log(dims))


def default_theta(dims: int) -> np.ndarray:
    """The starting point of a fit: the priors' modes.

    Args:
        dims: Number of input dimensions.

    Returns:
        ``[log length scales (dims), log signal variance, log noise variance]``.
    """
    return np.concatenate(
        [
            np.full(dims, _length_prior_mean(dims)),
            [_LOG_SIGNAL_PRIOR[0], _LOG_NOISE_PRIOR[0]],
        ]
    )


def _bounds(dims: int, noise_floor: float | None = None) -> list[tuple[float, float]]:
    noise = _LOG_NOISE_BOUNDS
    if noise_floor is not None:  # at least this much noise, standardised units
        low = min(max(np.log(noise_floor), noise[0]), noise[1])
        noise = (low, noise[1])
    return [_LOG_LENGTH_BOUNDS] * dims + [_LOG_SIGNAL_BOUNDS, noise]


def _matern(squared: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Matern 5/2 of squared scaled distances, and its derivative in them."""
    r = np.sqrt(np.maximum(squared, 0.0))
    decay = np.exp(-_SQRT5 * r)
    value = (1.0 + _SQRT5 * r + (5.0 / 3.0) * squared) * decay
    slope = -(5.0 / 6.0) * (1.0 + _SQRT5 * r) * decay  # d value / d squared
    return value, slope


def _squared_differences(x: np.ndarray) -> np.ndarray:
    """``(dims, n, n)``: squared differences of the inputs, per dimension."""
    return (x.T[:, :, None] - x.T[:, None, :]) ** 2


def _prior(dims: int) -> tuple[np.ndarray, np.ndarray]:
    means = np.concatenate(
        [
            np.full(dims, _length_prior_mean(dims)),
            [_LOG_SIGNAL_PRIOR[0]],
            [_LOG_NOISE_PRIOR[0]],
        ]
    )
    sds = np.concatenate(
        [
            np.full(dims, _LOG_LENGTH_PRIOR_SD),
            [_LOG_SIGNAL_PRIOR[1]],
            [_LOG_NOISE_PRIOR[1]],
        ]
    )
    return means, sds


def _neg_log_posterior(
    theta: np.ndarray, squared: np.ndarray, y: np.ndarray
) -> tuple[float, np.ndarray]:
    """Negative log marginal likelihood plus priors, and its gradient.

    Args:
        theta: Log length scales, log signal variance, log noise variance.
        squared: `_squared_differences` of the inputs.
        y: Standardised outputs.
    """
    dims, n, _ = squared.shape
    inverse_lengths2 = np.exp(-2.0 * theta[:dims])
    signal, noise = np.exp(theta[dims]), np.exp(theta[dims + 1])
    scaled = np.tensordot(inverse_lengths2, squared, axes=1)  # (n, n)
    value, slope = _matern(scaled)
    k_signal = signal * value
    k = k_signal + (noise + _JITTER) * np.eye(n)
    factor, info = linalg.lapack.dpotrf(k, lower=1, clean=1)
    if info != 0:
        return 1e25, np.zeros_like(theta)
    alpha = linalg.cho_solve((factor, True), y, check_finite=False)
    inverse, info = linalg.lapack.dpotri(factor, lower=1)
    if info != 0:
        return 1e25, np.zeros_like(theta)
    inverse = np.tril(inverse) + np.tril(inverse, -1).T
    nll = 0.5 * y @ alpha + np.log(np.diag(factor)).sum() + 0.5 * n * np.log(2 * np.pi)
    w = inverse - np.outer(alpha, alpha)  # d nll / d K = w / 2
    grad = np.empty_like(theta)
    # d K / d log length_j = -2 * signal * slope * squared_j / length_j^2
    grad[:dims] = -inverse_lengths2 * (squared.reshape(dims, -1) @ (w * slope).ravel())
    grad[:dims] *= signal
    grad[dims] = 0.5 * np.sum(w * k_signal)
    grad[dims + 1] = 0.5 * noise * np.trace(w)
    means, sds = _prior(dims)
    z = (theta - means) / sds
    return float(nll + 0.5 * np.sum(z**2)), grad + z / sds


@dataclass
class GaussianProcess:
    """A fitted Gaussian process; predictions are in the units of ``y``.

    Build one with `fit_gp`.

    Attributes:
        x: Training inputs, ``(n, dims)``.
        theta: Log length scales, log signal variance, log noise variance.
        y_mean: Mean of the training outputs (for standardising).
        y_scale: Standard deviation of the training outputs.
        factor: Lower Cholesky factor of the training covariance.
        alpha: The covariance's inverse times the standardised outputs.
        log_posterior: The fitted log marginal likelihood plus priors.
    """

    x: np.ndarray
    theta: np.ndarray
    y_mean: float
    y_scale: float
    factor: np.ndarray
    alpha: np.ndarray
    log_posterior: float

    @property
    def lengths(self) -> np.ndarray:
        """The length scales, one per input dimension."""
        return np.exp(self.theta[: self.x.shape[1]])

    @property
    def signal(self) -> float:
        """The signal variance, in standardised units."""
        return float(np.exp(self.theta[self.x.shape[1]]))

    @property
    def noise(self) -> float:
        """The noise variance, in standardised units."""
        return float(np.exp(self.theta[self.x.shape[1] + 1]))

    def _cross(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Covariances with the training inputs, and their slopes in r^2."""
        scaled_points = points / self.lengths
        scaled_x = self.x / self.lengths
        squared = (
            np.sum(scaled_points**2, axis=1)[:, None]
            + np.sum(scaled_x**2, axis=1)[None, :]
            - 2.0 * scaled_points @ scaled_x.T
        )
        value, slope = _matern(squared)
        return self.signal * value, self.signal * slope

    def predict(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation at ``points`` ``(m, dims)``."""
        cross, _ = self._cross(np.atleast_2d(points))
        mean = cross @ self.alpha
        v = linalg.solve_triangular(
            self.factor, cross.T, lower=True, check_finite=False
        )
        var = np.maximum(self.signal - np.einsum("ij,ij->j", v, v), 1e-12)
        return self.y_mean + self.y_scale * mean, self.y_scale * np.sqrt(var)

    def predict_with_gradient(
        self, points: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean, standard deviation and their gradients at ``points`` ``(m, dims)``.

        Returns:
            ``(mean (m,), std (m,), d mean / d x (m, dims), d std / d x (m, dims))``.
        """
        cross, slope = self._cross(points)
        diff = (points[:, None, :] - self.x[None, :, :]) / self.lengths**2
        d_cross = 2.0 * slope[:, :, None] * diff  # (m, n, dims): d k(x, x_i) / d x
        v = linalg.solve_triangular(
            self.factor, cross.T, lower=True, check_finite=False
        )
        w = linalg.solve_triangular(
            self.factor, v, lower=True, trans="T", check_finite=False
        )
        mean = cross @ self.alpha
        var = np.maximum(self.signal - np.einsum("nm,nm->m", v, v), 1e-12)
        std = np.sqrt(var)
        d_mean = np.einsum("mnd,n->md", d_cross, self.alpha)
        d_var = -2.0 * np.einsum("mnd,nm->md", d_cross, w)
        return (
            self.y_mean + self.y_scale * mean,
            self.y_scale * std,
            self.y_scale * d_mean,
            self.y_scale * d_var / (2.0 * std[:, None]),
        )


def fit_gp(
    x: np.ndarray,
    y: np.ndarray,
    starts: list[np.ndarray],
    *,
    max_iter: int = 200,
    noise_floor: float | None = None,
) -> GaussianProcess:
    """Fits the kernel hyperparameters by MAP from each start; keeps the best.

    Args:
        x: Inputs in the unit cube, ``(n, dims)``.
        y: Outputs, ``(n,)``; standardised inside.
        starts: Starting values of ``theta`` (see `default_theta`).
        max_iter: L-BFGS-B iterations per start.
        noise_floor: The least noise variance, in standardised units (as
            keras-tuner's ``alpha``, added to the kernel's diagonal of
            normalised outputs); ``None``: fitted from 1e-9 up.

    Returns:
        The fitted process.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    y_mean = float(np.mean(y))
    y_scale = float(np.std(y)) or 1.0
    target = (y - y_mean) / y_scale
    bounds = _bounds(x.shape[1], noise_floor)
    squared = _squared_differences(x)
    best = None
    for start in starts:
        start = np.clip(start, [b[0] for b in bounds], [b[1] for b in bounds])
        result = optimize.minimize(
            _neg_log_posterior,
            start,
            args=(squared, target),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": max_iter},
        )
        if best is None or result.fun < best.fun:
            best = result
    return condition_gp(x, y, best.x, y_mean, y_scale, -float(best.fun), squared)


def condition_gp(
    x: np.ndarray,
    y: np.ndarray,
    theta: np.ndarray,
    y_mean: float,
    y_scale: float,
    log_posterior: float = float("nan"),
    squared: np.ndarray | None = None,
) -> GaussianProcess:
    """A process with a given kernel, conditioned on ``(x, y)`` (no fitting).

    `fit_gp` ends here; the Bayesian oracle also uses it to add running
    trials at the model's own predicted mean (the "kriging believer"), so
    they lower the uncertainty around them without changing the kernel.

    Args:
        x: Inputs, ``(n, dims)``.
        y: Outputs, ``(n,)``, standardised with ``y_mean`` and ``y_scale``.
        theta: The kernel's hyperparameters (as `GaussianProcess.theta`).
        y_mean: The mean to standardise with.
        y_scale: The scale to standardise with.
        log_posterior: Recorded as is.
        squared: Precomputed `_squared_differences` of ``x``.

    Returns:
        The conditioned process.
    """
    x = np.asarray(x, dtype=float)
    target = (np.asarray(y, dtype=float) - y_mean) / y_scale
    if squared is None:
        squared = _squared_differences(x)
    dims = x.shape[1]
    scaled = np.tensordot(np.exp(-2.0 * theta[:dims]), squared, axes=1)
    k = np.exp(theta[dims]) * _matern(scaled)[0]
    k += (np.exp(theta[dims + 1]) + _JITTER) * np.eye(len(x))
    factor, info, jitter = None, 1, _JITTER
    while info != 0:  # the optimum is factorisable; this is a safety net
        factor, info = linalg.lapack.dpotrf(k, lower=1, clean=1)
        k += jitter * np.eye(len(x))
        jitter *= 10
    alpha = linalg.cho_solve((factor, True), target, check_finite=False)
    return GaussianProcess(
        x=x,
        theta=theta,
        y_mean=y_mean,
        y_scale=y_scale,
        factor=factor,
        alpha=alpha,
        log_posterior=log_posterior,
    )
