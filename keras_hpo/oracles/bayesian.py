"""Bayesian optimisation: a Gaussian process and expected improvement."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.stats import qmc
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process import kernels
from threadpoolctl import threadpool_limits

from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value
from keras_hpo.oracles.acquisition import log_expected_improvement
from keras_hpo.oracles.base import SearchOracle
from keras_hpo.oracles.space import UnitCube

__all__ = ["BayesianOracle"]


def _check_count(argument: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise bad_type(argument, value, "an int", f"E.g. {argument}={max(minimum, 8)}.")
    if value < minimum:
        raise bad_value(
            argument,
            value,
            f"must be at least {minimum}",
            f"E.g. {argument}={max(minimum, 8)}.",
        )
    return int(value)


class BayesianOracle(SearchOracle):
    """Gaussian-process Bayesian optimisation on a unit-cube encoding.

    How a suggestion is made:

    1. The first ``num_initial_points`` configurations come from a scrambled
       Sobol sequence (a quasi-random design that covers the cube evenly).
    2. Then a Gaussian process (Matern 5/2 kernel with one length scale per
       dimension, a signal variance and a noise term, all fitted by maximum
       marginal likelihood) is trained on the finished trials, encoded by
       `UnitCube` (log ranges in log space, integers snapped, choices
       one-hot). Trials still running elsewhere enter as pending points with
       the best value seen ("constant liar"), so concurrent workers get
       different suggestions.
    3. Candidates (uniform samples plus perturbations of the best trials) are
       snapped to valid configurations, those already tried or running are
       dropped, and the one with the highest expected improvement, computed
       in log space (`log_expected_improvement`), is proposed.

    Failed trials are never re-proposed but do not enter the model.

    Args:
        num_initial_points: Size of the quasi-random initial design. Defaults
            to twice the number of tunable dimensions, between 3 and 10, and
            at most half of ``max_trials``.
        xi: Exploration margin of expected improvement, in units of the
            standardised objective. Defaults to 0.01.
        num_candidates: Candidates scored per suggestion. Defaults to 1024.
        **kwargs: The arguments of `SearchOracle` (``objective``,
            ``max_trials``, ``hyperparameters``, ``seed``, ...).

    Example:
        >>> oracle = BayesianOracle(objective="val_accuracy", max_trials=30, seed=1)
    """

    def __init__(
        self,
        *args,
        num_initial_points: int | None = None,
        xi: float = 0.01,
        num_candidates: int = 1024,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        if num_initial_points is not None:
            num_initial_points = _check_count(
                "num_initial_points", num_initial_points, 1
            )
        if isinstance(xi, bool) or not isinstance(xi, (int, float)) or not xi >= 0:
            raise bad_value("xi", xi, "must be a number >= 0", "E.g. xi=0.01.")
        self.num_initial_points = num_initial_points
        self.xi = float(xi)
        self.num_candidates = _check_count("num_candidates", num_candidates, 16)

    # -- the initial design ----------------------------------------------------
    def initial_points(self, cube: UnitCube) -> int:
        """The number of quasi-random trials before the model takes over."""
        if self.num_initial_points is not None:
            return self.num_initial_points
        n = int(np.clip(2 * cube.dims, 3, 10))
        if self.max_trials:
            n = max(2, min(n, self.max_trials // 2))
        return n

    def _sobol_point(self, cube: UnitCube, index: int) -> np.ndarray:
        m = max(1, int(np.ceil(np.log2(index + 1))))
        sampler = qmc.Sobol(d=max(cube.dims, 1), scramble=True, seed=self.seed)
        return sampler.random_base2(m)[index][: cube.dims]

    # -- the model ---------------------------------------------------------------
    def _observations(self, cube: UnitCube) -> tuple[np.ndarray, np.ndarray]:
        trials = self.completed_trials()
        x = np.array([cube.encode(t.hyperparameters.values) for t in trials])
        y = np.array([float(t.score) for t in trials])
        if self.objective.direction == "max":
            y = -y
        return x.reshape(len(trials), cube.dims), y

    def _fit(self, x: np.ndarray, y: np.ndarray, dims: int) -> GaussianProcessRegressor:
        kernel = kernels.ConstantKernel(1.0, (1e-2, 1e2)) * kernels.Matern(
            length_scale=np.full(dims, 0.5), length_scale_bounds=(1e-2, 1e2), nu=2.5
        ) + kernels.WhiteKernel(1e-3, (1e-6, 1e-1))
        model = GaussianProcessRegressor(
            kernel=kernel,
            normalize_y=True,
            n_restarts_optimizer=2,
            random_state=self.seed % (2**32),
        )
        # The matrices are tiny: one BLAS thread is faster than many.
        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x, y)
        return model

    def _candidates(
        self, cube: UnitCube, rng: np.random.Generator, x: np.ndarray, y: np.ndarray
    ) -> np.ndarray:
        uniform = rng.random((self.num_candidates, cube.dims))
        best = x[np.argsort(y)[:5]]
        local = []
        for scale in (0.2, 0.05):
            picks = best[rng.integers(len(best), size=self.num_candidates // 4)]
            local.append(np.clip(picks + rng.normal(0, scale, picks.shape), 0, 1))
        return np.vstack([uniform, *local])

    def _model_point(self, cube: UnitCube, trial_id: str) -> dict[str, Any] | None:
        x, y = self._observations(cube)
        pending = [cube.encode(v) for v in self.pending_values(exclude=trial_id)]
        if pending:
            x = np.vstack([x, np.array(pending)])
            y = np.concatenate([y, np.full(len(pending), y.min())])
        model = self._fit(x, y, cube.dims)
        rng = self.rng(self.num_proposed, 1)
        tried = self.tried_keys()
        seen: set[str] = set()
        points, configs = [], []
        for point in self._candidates(cube, rng, x, y):
            values = cube.decode(point)
            key = self.key(values)
            if key in tried or key in seen:
                continue
            seen.add(key)
            configs.append(values)
            points.append(cube.encode(values))
        if not configs:
            return None
        with threadpool_limits(1):
            mean, std = model.predict(np.array(points), return_std=True)
        # `normalize_y` keeps mean and std in the units of y; EI's margin is in
        # standard deviations of the observations.
        scale = float(np.std(y)) or 1.0
        scores = log_expected_improvement(mean, std, float(y.min()), self.xi * scale)
        return configs[int(np.argmax(scores))]

    # -- the strategy ------------------------------------------------------------
    def propose(self, trial_id: str) -> dict[str, Any] | None:
        """The next configuration: quasi-random first, then by expected improvement."""
        cube = UnitCube(self.hyperparameters)
        if cube.dims == 0:
            return self.random_new(lambda rng: cube.decode(np.zeros(0)), 0)
        index = self.num_proposed
        observed = len(self.completed_trials())
        if index < self.initial_points(cube) or observed < 2:
            values = cube.decode(self._sobol_point(cube, index))
            if self.is_new(values):
                return values
        else:
            values = self._model_point(cube, trial_id)
            if values is not None:
                return values
        return self.random_new(lambda rng: cube.decode(rng.random(cube.dims)), index)

    def get_state(self) -> dict[str, Any]:
        """The oracle's state; the strategy's settings are saved for reference."""
        state = super().get_state()
        state["bayesian"] = {
            "num_initial_points": self.num_initial_points,
            "xi": self.xi,
            "num_candidates": self.num_candidates,
        }
        return state
