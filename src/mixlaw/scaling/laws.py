"""The scaling-law estimators: loss over training steps, model size, or both (DESIGN.md §6).

Three saturating power laws, fitted with the shared engine (:func:`mixlaw.fit.fit_model`: Huber with
:math:`\\delta = 10^{-3}` on log residuals, bounded Levenberg-Marquardt, analytic Jacobian):

.. math::

    L(S) = E + \\frac{B}{S^{\\beta}} \\qquad
    L(N) = E + \\frac{A}{N^{\\alpha}} \\qquad
    L(N, D) = E + \\frac{A}{N^{\\alpha}} + \\frac{B}{D^{\\beta}}

The coefficients A and B are fitted as ``log_A`` / ``log_B`` (they span many decades, and the log keeps them
positive). Starts come from a grid over the exponents: for fixed exponents the law is linear in
(E, A, B), so each grid point is one weighted least-squares solve, and the best few grid points start the
optimiser (Hoffmann et al. 2022's "grid of initialisations", made cheap). The nested pipeline fits hundreds
of step laws, so the defaults are one or two starts from that grid.

References
----------
Hoffmann et al., "Training Compute-Optimal Large Language Models", 2022, arXiv:2203.15556, §3.3 (approach 3).
Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952, §4 (step and size laws of the nested pipeline).
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np

from .._validation import check_is_fitted, check_random_state
from ..errors import ConvergenceWarning, InputError, user_stacklevel
from ..fit import HUBER_DELTA, FitResult, Param, Params, fit_model
from ..fit_report import MIN_CORREL, FitReport
from .batched import EXPONENT_BOUNDS, EXPONENT_GRID, LOG_COEF_BOUNDS, fit_curves, fit_shared_exponents
from .units import loss_unit, result_from_unit


class _PowerSum:
    """``L(x) = E + sum_k exp(log_c_k) x_k^{-a_k}``, the shared machinery of the three laws."""

    _coef_names: ClassVar[tuple[str, ...]] = ()
    _exp_names: ClassVar[tuple[str, ...]] = ()
    _input_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, loss: str = "huber", huber_delta: float = HUBER_DELTA, n_restarts: int = 2,
                 random_state: int | np.random.Generator | None = 0) -> None:
        self.loss, self.huber_delta, self.n_restarts, self.random_state = loss, huber_delta, n_restarts, random_state

    # ------------------------------------------------------------------ sklearn plumbing
    def get_params(self) -> dict[str, Any]:
        return {"loss": self.loss, "huber_delta": self.huber_delta, "n_restarts": self.n_restarts,
                "random_state": self.random_state}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_restarts={self.n_restarts})"

    @property
    def n_params(self) -> int:
        return 1 + 2 * len(self._coef_names)

    def _check_x(self, x: Any, what: str) -> np.ndarray:
        k = len(self._input_names)
        X = np.asarray(x, dtype=np.float64)
        X = X.reshape(-1, 1) if (k == 1 and X.ndim <= 1) else X
        if X.ndim == 1 and X.size == k:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != k:
            want = "(n,)" if k == 1 else f"(n, {k}) (columns {', '.join(self._input_names)})"
            raise InputError(f"{type(self).__name__}.{what}: x must have shape {want}; got {np.shape(x)}")
        if not np.all(np.isfinite(X)) or np.any(X <= 0):
            raise InputError(f"{type(self).__name__}.{what}: {', '.join(self._input_names)} must be finite and > 0")
        return X

    # ------------------------------------------------------------------ model
    @staticmethod
    def _model(X: np.ndarray) -> Any:
        logX = np.log(X)

        def model(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            jac = np.empty((X.shape[0], theta.size))
            pred = np.full(X.shape[0], theta[0])
            jac[:, 0] = 1.0
            for k in range(X.shape[1]):
                term = np.exp(theta[1 + 2 * k] - theta[2 + 2 * k] * logX[:, k])
                pred = pred + term
                jac[:, 1 + 2 * k] = term
                jac[:, 2 + 2 * k] = -term * logX[:, k]
            return pred, jac

        return model

    def _grid_starts(self, X: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
        """The ``n`` best exponent-grid points, each with (E, log c) from a weighted least-squares solve."""
        k = X.shape[1]
        logX = np.log(X)
        grids = np.meshgrid(*([EXPONENT_GRID] * k), indexing="ij")
        combos = np.column_stack([g.ravel() for g in grids])
        w = 1.0 / y  # relative residuals ~ log residuals near a fit
        found = []
        for a in combos:
            F = np.column_stack([np.ones_like(y)] + [np.exp(-a[j] * logX[:, j]) for j in range(k)])
            coef, *_ = np.linalg.lstsq(F * w[:, None], y * w, rcond=None)
            if np.any(coef[1:] <= 0) or coef[0] < 0:
                # Outside the law's domain (a term with a negative coefficient): refit with E = 0 pinned at
                # its bound when that is what pushed it out, else skip the grid point.
                if coef[0] < 0 and np.all(coef[1:] > 0):
                    c1, *_ = np.linalg.lstsq(F[:, 1:] * w[:, None], y * w, rcond=None)
                    if np.any(c1 <= 0):
                        continue
                    coef = np.concatenate([[0.0], c1])
                else:
                    continue
            pred = F @ coef
            sse = float(np.sum((pred * w - 1.0) ** 2))
            theta = [min(coef[0], float(y.max()))]
            for j in range(k):
                theta += [float(np.clip(np.log(coef[1 + j]), *LOG_COEF_BOUNDS)), float(a[j])]
            found.append((sse, theta))
        if not found:
            # Nothing on the grid is a valid law (e.g. losses rising with x): a neutral start, the engine decides.
            theta = [0.5 * float(y.min())]
            for j in range(k):
                theta += [float(np.log(0.5 * y.min()) + 0.3 * np.median(logX[:, j])), 0.3]
            return np.array([theta])
        found.sort(key=lambda t: t[0])
        return np.array([t[1] for t in found[:max(1, n)]])

    def _spec(self, y: np.ndarray, start: np.ndarray) -> Params:
        ps = [Param("E", float(start[0]), float(start[0]), 0.0, float(y.max()))]
        for j, (cn, en) in enumerate(zip(self._coef_names, self._exp_names, strict=True)):
            lc, a = float(start[1 + 2 * j]), float(start[2 + 2 * j])
            ps += [Param(cn, lc, lc, *LOG_COEF_BOUNDS), Param(en, a, a, *EXPONENT_BOUNDS)]
        return Params(ps)

    # ------------------------------------------------------------------ fit / predict
    def fit(self, x: Any, y: Any) -> _PowerSum:
        """Fit the law.

        Parameters
        ----------
        x : ndarray of shape (n,) (step and size laws) or (n, 2) (columns N, D)
            The scale variable(s), > 0.
        y : ndarray of shape (n,)
            Losses, finite and > 0.

        Returns
        -------
        self

        Raises
        ------
        InputError
            Bad shapes or values, or fewer points than the law's parameters.
        """
        X = self._check_x(x, "fit")
        y = np.asarray(y, dtype=np.float64).ravel()
        if y.size != X.shape[0]:
            raise InputError(f"{type(self).__name__}.fit: {X.shape[0]} x values but {y.size} losses")
        if not np.all(np.isfinite(y)) or np.any(y <= 0):
            raise InputError(f"{type(self).__name__}.fit: losses must be finite and > 0")
        n_distinct = len({tuple(r) for r in X})
        # The engine needs more observations than parameters (a residual degree of freedom).
        if n_distinct <= self.n_params:
            raise InputError(f"{type(self).__name__} has {self.n_params} parameters but got {n_distinct} distinct "
                             f"{'/'.join(self._input_names)} value(s); need at least {self.n_params + 1}")
        if not isinstance(self.n_restarts, (int, np.integer)) or self.n_restarts < 1:
            raise InputError(f"n_restarts must be a positive int; got {self.n_restarts!r}")
        # Fitted in the unit of the losses (:mod:`.units`: the engine's tests are absolute in E and log A / log B).
        unit = loss_unit(y)
        yf = y if unit == 1.0 else y / unit
        if X.shape[1] == 1:
            # One input: the vectorised grid search by variable projection of the batched stages.
            (res,) = fit_curves([X[:, 0]], [yf], names=(self._coef_names[0], self._exp_names[0]),
                                n_restarts=int(self.n_restarts), loss=self.loss, huber_delta=self.huber_delta,
                                labels=[type(self).__name__])
            if res.n_converged == 0:
                warnings.warn(f"{type(self).__name__}: {res.warnings[0]}", ConvergenceWarning,
                              stacklevel=user_stacklevel(2))
        else:
            starts = self._grid_starts(X, yf, int(self.n_restarts))
            spec = self._spec(yf, starts[0])
            res = fit_model(self._model(X), spec, yf, loss=self.loss, huber_delta=self.huber_delta,
                            rng=check_random_state(self.random_state), starts=starts, label=type(self).__name__)
        res = result_from_unit(res, unit)
        self.results_: FitResult = res
        self.params_: Params = res.params
        pred = self._model(X)(res.params.array())[0]
        self.residuals_ = pred / y - 1.0
        self.x_range_ = (X.min(axis=0), X.max(axis=0))
        return self

    def predict(self, x: Any) -> np.ndarray:
        """Predicted losses at ``x``, shape (n,)."""
        check_is_fitted(self)
        X = self._check_x(x, "predict")
        return self._model(X)(self.params_.array())[0]

    def __call__(self, x: Any) -> np.ndarray:
        return self.predict(x)

    def report(self, data: str = "") -> FitReport:
        """An lmfit-style report (statistics, parameters with bounds and stderr, warnings, correlations).

        ``str(report)`` for people, ``report.to_dict()`` for JSON; the same layout as the mixing laws'.
        """
        check_is_fitted(self)
        res = self.results_
        r = self.residuals_
        stats = {"n_obs": float(res.n_obs), "RMSE_rel": float(np.sqrt(np.mean(r ** 2))),
                 "MAPE": float(np.mean(np.abs(r))), "nfev": float(res.nfev), "fit_seconds": float(res.wall_time)}
        corr: list[tuple[str, str, float]] = []
        if res.correl is not None:
            names = [p.name for p in res.params.values() if p.vary]
            corr = [(names[a], names[b], float(res.correl[a, b])) for a in range(len(names))
                    for b in range(a + 1, len(names))
                    if np.isfinite(res.correl[a, b]) and abs(res.correl[a, b]) >= MIN_CORREL]
            corr.sort(key=lambda t: -abs(t[2]))
        return FitReport(law=type(self).__name__, targets=[self.formula], data=data, n_runs=int(res.n_obs),
                         n_domains=0, seed=self.random_state, method=res.method, n_starts=res.n_starts,
                         n_converged=res.n_converged, stats=stats, params=res.params.to_dict(),
                         warnings=list(res.warnings), correlations=corr)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable fitted coefficients, fit statistics and the residuals' summary."""
        check_is_fitted(self)
        r = np.abs(self.residuals_)
        return {"law": type(self).__name__, "formula": self.formula, "options": self.get_params(),
                "params": {p.name: p.value for p in self.params_.values()},
                "stderr": {p.name: p.stderr for p in self.params_.values()},
                "n_obs": self.results_.n_obs, "median_rel_residual": float(np.median(r)),
                "max_rel_residual": float(r.max()), "warnings": list(self.results_.warnings)}

    formula: ClassVar[str] = ""


class StepLaw(_PowerSum):
    """Loss against training steps, :math:`L(S) = E + B / S^{\\beta}`.

    Parameters
    ----------
    loss : {"huber", "mse"}, default="huber"
        Objective on log residuals (Huber with ``huber_delta``, Hoffmann et al. 2022).
    huber_delta : float, default=1e-3
    n_restarts : int, default=2
        Optimiser starts: the best points of a 25-value exponent grid (each with E and B solved by weighted
        least squares). One start is usually enough; two guard against a flat valley in beta.
    random_state : int or Generator, default=0

    Attributes
    ----------
    params_ : Params
        ``E``, ``log_B``, ``beta``.
    results_ : FitResult
    residuals_ : ndarray
        Relative residuals pred / y - 1 on the fitted points.
    E, B, beta : float
        Fitted values (``B = exp(log_B)``), as :func:`mixlaw.optimize.steps_to_match` reads them.

    References
    ----------
    Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952, §4 (step law of the nested pipeline);
    Hoffmann et al. 2022, arXiv:2203.15556 (fitting: Huber on log residuals, L-BFGS).

    Examples
    --------
    >>> import numpy as np
    >>> S = np.array([500, 1000, 2000, 4000, 8000.0])
    >>> law = StepLaw().fit(S, 2.0 + 30.0 / S ** 0.5)
    >>> round(float(law.predict([1e5])[0]), 4)
    2.0949
    """

    _coef_names = ("log_B",)
    _exp_names = ("beta",)
    _input_names = ("step",)
    formula = "L(S) = E + B / S^beta"

    @property
    def E(self) -> float:  # noqa: N802 - the paper's symbol
        check_is_fitted(self)
        return self.params_["E"].value

    @property
    def B(self) -> float:  # noqa: N802
        check_is_fitted(self)
        return float(np.exp(self.params_["log_B"].value))

    @property
    def beta(self) -> float:
        check_is_fitted(self)
        return self.params_["beta"].value


class SizeLaw(_PowerSum):
    """Loss against model size, :math:`L(N) = E + A / N^{\\alpha}`.

    Parameters
    ----------
    loss, huber_delta, n_restarts, random_state
        As :class:`StepLaw`.

    Attributes
    ----------
    params_ : Params
        ``E``, ``log_A``, ``alpha``.
    results_ : FitResult
    residuals_ : ndarray
    E, A, alpha : float

    References
    ----------
    Kaplan et al. 2020, arXiv:2001.08361; Ye et al. 2025, arXiv:2403.16952, §4 (size law of the nested
    pipeline); Hoffmann et al. 2022 (fitting).

    Examples
    --------
    >>> import numpy as np
    >>> N = np.array([1e7, 2e7, 4e7, 8e7])
    >>> law = SizeLaw().fit(N, 1.8 + 400.0 / N ** 0.34)
    >>> round(law.alpha, 4)
    0.34
    """

    _coef_names = ("log_A",)
    _exp_names = ("alpha",)
    _input_names = ("params",)
    formula = "L(N) = E + A / N^alpha"

    @property
    def E(self) -> float:  # noqa: N802
        check_is_fitted(self)
        return self.params_["E"].value

    @property
    def A(self) -> float:  # noqa: N802
        check_is_fitted(self)
        return float(np.exp(self.params_["log_A"].value))

    @property
    def alpha(self) -> float:
        check_is_fitted(self)
        return self.params_["alpha"].value


class ChinchillaLaw(_PowerSum):
    """Joint law in model size and data, :math:`L(N, D) = E + A / N^{\\alpha} + B / D^{\\beta}`.

    Fitted as in Hoffmann et al. (2022), approach 3: Huber loss (:math:`\\delta = 10^{-3}`) on
    :math:`\\log \\hat L - \\log L`, the engine from a grid of starts. Here the grid is over
    :math:`(\\alpha, \\beta)` (25 x 25 points), where E, A and B follow by weighted least squares; the best
    ``n_restarts`` grid points start the optimiser.

    Parameters
    ----------
    loss, huber_delta, random_state
        As :class:`StepLaw`.
    n_restarts : int, default=4

    Attributes
    ----------
    params_ : Params
        ``E``, ``log_A``, ``alpha``, ``log_B``, ``beta``.
    results_ : FitResult
    residuals_ : ndarray

    References
    ----------
    Hoffmann et al., "Training Compute-Optimal Large Language Models", 2022, arXiv:2203.15556, Eq. (2) and
    §3.3 (fitted E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28).

    Examples
    --------
    >>> import numpy as np
    >>> N, D = np.meshgrid([1e7, 4e7, 1.6e8, 6.4e8], [1e9, 4e9, 1.6e10])
    >>> X = np.column_stack([N.ravel(), D.ravel()])
    >>> y = 1.69 + 406.4 / X[:, 0] ** 0.34 + 410.7 / X[:, 1] ** 0.28
    >>> law = ChinchillaLaw().fit(X, y)
    >>> round(law.params_["alpha"].value, 3), round(law.params_["beta"].value, 3)
    (0.34, 0.28)
    """

    _coef_names = ("log_A", "log_B")
    _exp_names = ("alpha", "beta")
    _input_names = ("params", "tokens")
    formula = "L(N, D) = E + A / N^alpha + B / D^beta"

    def __init__(self, *, loss: str = "huber", huber_delta: float = HUBER_DELTA, n_restarts: int = 4,
                 random_state: int | np.random.Generator | None = 0) -> None:
        super().__init__(loss=loss, huber_delta=huber_delta, n_restarts=n_restarts, random_state=random_state)


def fit_shared_exponent(xs: list[np.ndarray], ys: list[np.ndarray], *, loss: str = "huber",
                        huber_delta: float = HUBER_DELTA, label: str = "shared exponent"
                        ) -> tuple[np.ndarray, np.ndarray, float, FitResult]:
    """Fit :math:`L_g(x) = E_g + A_g / x^{a}` to several curves at once, with one exponent ``a`` for all.

    Used when each curve has too few points for its own 3-parameter law (e.g. three model sizes): G curves
    with n_g points give sum n_g observations for 2G + 1 parameters. Sharing the exponent across mixtures is
    the usual finding for LM scaling exponents (Kaplan et al. 2020: the exponent depends little on the data
    distribution); the mixture moves E_g and A_g.

    Parameters
    ----------
    xs, ys : list of ndarray
        Scale values (> 0) and losses (> 0) of each curve; every curve needs >= 2 distinct x.

    Returns
    -------
    E : ndarray of shape (G,)
    log_A : ndarray of shape (G,)
    a : float
    result : FitResult

    Raises
    ------
    InputError
        A curve with fewer than 2 distinct x, or not more observations than parameters in all.
    """
    (out,) = fit_shared_exponents([(list(xs), list(ys))], loss=loss, huber_delta=huber_delta, labels=[label])
    if out[3].n_converged == 0:
        warnings.warn(f"{label}: {out[3].warnings[0]}", ConvergenceWarning, stacklevel=user_stacklevel(2))
    return out


__all__ = ["StepLaw", "SizeLaw", "ChinchillaLaw", "fit_shared_exponent"]
