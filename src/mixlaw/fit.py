"""The fitting engine shared by every parametric law (DESIGN.md §4).

A law hands the engine a *model*: a function of the full parameter vector that returns the predicted
losses and their Jacobian. The engine fits

.. math::
    \\min_\\theta \\frac{1}{n} \\sum_o \\rho\\big(\\log \\hat L_o(\\theta) - \\log L_o\\big)
    + \\text{penalty}(\\theta)

with :math:`\\rho` the Huber loss (:math:`\\delta = 10^{-3}`, Hoffmann et al. 2022 approach 3; Ye et al. 2025
fit their mixing laws with Huber + L-BFGS) or the squared error, using ``scipy.optimize.minimize`` with
L-BFGS-B, bounds, the analytic gradient :math:`J^\\top \\rho'(r)` and a seeded multistart. Every fit returns a
:class:`FitResult`; a fit where no start converged says so with a :class:`~mixlaw.errors.ConvergenceWarning`,
and one where no start reached a finite objective raises :class:`~mixlaw.errors.FitError`.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import ThreadpoolController

from .errors import ConvergenceWarning, FitError, InputError, InvalidParameterError

#: Huber threshold on log-loss residuals (Hoffmann et al. 2022, approach 3; Besiroglu et al. 2024).
HUBER_DELTA = 1e-3

# scipy's L-BFGS-B calls BLAS on tiny vectors every iteration; a multi-threaded OpenBLAS then spends
# milliseconds per call synchronising threads (measured 40-80x slower when the other core is busy), so every
# fit runs with BLAS limited to one thread.
_THREADPOOLS = ThreadpoolController()


def single_threaded_blas() -> Any:
    """Context manager limiting BLAS to one thread (see ``_THREADPOOLS``)."""
    return _THREADPOOLS.limit(limits=1, user_api="blas")


Model = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


# ---------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Param:
    """One named coefficient of a law (lmfit style).

    Parameters
    ----------
    name : str
    value : float
        Fitted value (equals ``init`` before fitting).
    init : float
        Starting value of the first optimiser start.
    min, max : float
        Bounds handed to the solver (never clipped after the fit).
    vary : bool
        False holds the parameter at ``value`` (a reference domain, or a user's ``fixed=``).
    stderr : float or None
        Standard error (Gauss-Newton or bootstrap) when known.
    """

    name: str
    value: float
    init: float
    min: float = -np.inf
    max: float = np.inf
    vary: bool = True
    stderr: float | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if not self.min < self.max:
            raise InvalidParameterError(f"parameter {self.name!r}: min={self.min} must be < max={self.max}")
        if self.vary and not (self.min <= self.init <= self.max):
            raise InvalidParameterError(
                f"parameter {self.name!r}: init={self.init} lies outside its bounds [{self.min}, {self.max}]")


class Params(Mapping[str, Param]):
    """An ordered mapping of name -> :class:`Param`."""

    def __init__(self, params: list[Param] | None = None) -> None:
        self._p: dict[str, Param] = {}
        for p in params or []:
            if p.name in self._p:
                raise ValueError(f"duplicate parameter name {p.name!r}")
            self._p[p.name] = p

    def __getitem__(self, key: str) -> Param:
        return self._p[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._p)

    def __len__(self) -> int:
        return len(self._p)

    def values(self) -> Any:  # type: ignore[override]
        return self._p.values()

    def array(self, attr: str = "value") -> np.ndarray:
        """The ``attr`` of every parameter, in order, as float64."""
        return np.array([getattr(p, attr) for p in self._p.values()], dtype=np.float64)

    @property
    def vary_mask(self) -> np.ndarray:
        return np.array([p.vary for p in self._p.values()], dtype=bool)

    def with_values(self, values: np.ndarray, stderr: np.ndarray | None = None) -> Params:
        out = []
        for i, p in enumerate(self._p.values()):
            se = None if stderr is None or not np.isfinite(stderr[i]) else float(stderr[i])
            out.append(replace(p, value=float(values[i]), stderr=se if p.vary else None))
        return Params(out)

    def apply_overrides(self, bounds: Mapping[str, tuple[float, float]] | None,
                        fixed: Mapping[str, float] | None, owner: str) -> Params:
        """Apply a user's ``bounds={name: (lo, hi)}`` and ``fixed={name: value}``; unknown names raise."""
        out = dict(self._p)
        for kind, mapping in (("bounds", bounds), ("fixed", fixed)):
            for name in mapping or {}:
                if name not in out:
                    raise InvalidParameterError(
                        f"The '{kind}' parameter of {owner} names an unknown parameter {name!r}; "
                        f"known: {list(out)[:12]}{' ...' if len(out) > 12 else ''}")
        for name, b in (bounds or {}).items():
            lo, hi = (float(v) for v in b)
            p = out[name]
            init = min(max(p.init, lo), hi) if lo < hi else p.init
            out[name] = Param(p.name, init, init, lo, hi, p.vary, note=p.note)
        for name, v in (fixed or {}).items():
            p = out[name]
            out[name] = replace(p, value=float(v), init=float(v), vary=False, note="fixed by user")
        return Params(list(out.values()))

    def to_dict(self) -> dict[str, Any]:
        return {p.name: {"value": p.value, "stderr": p.stderr, "init": p.init, "min": _num(p.min),
                         "max": _num(p.max), "vary": p.vary} for p in self._p.values()}

    def __repr__(self) -> str:
        return "Params(" + ", ".join(f"{p.name}={p.value:.4g}" for p in self._p.values()) + ")"


def _num(x: float) -> float | str:
    return x if np.isfinite(x) else ("inf" if x > 0 else "-inf")


# ---------------------------------------------------------------------- result
@dataclass
class FitResult:
    """What one fit did (lmfit's ``MinimizerResult``, reduced to what a reader needs).

    Attributes
    ----------
    params : Params
        Best parameters, with Gauss-Newton standard errors where the Jacobian allows.
    objective : float
        Best objective value (mean Huber/squared log residual, in units of delta^2).
    n_starts, n_converged : int
        Optimiser starts run, and how many ended with scipy's success flag and a finite objective.
    start_objectives : list of float
        Final objective of every start, in start order (deterministic).
    nfev : int
        Function evaluations over all starts.
    wall_time : float
        Seconds.
    warnings : list of str
        Non-convergence, parameters on a bound.
    """

    params: Params
    objective: float
    n_starts: int
    n_converged: int
    start_objectives: list[float]
    nfev: int
    wall_time: float
    method: str
    n_obs: int
    n_vary: int
    residuals: np.ndarray = field(repr=False)
    warnings: list[str] = field(default_factory=list)
    correl: np.ndarray | None = field(default=None, repr=False)

    @property
    def rmse_log(self) -> float:
        return float(np.sqrt(np.mean(self.residuals ** 2)))

    def to_dict(self) -> dict[str, Any]:
        return {"objective": self.objective, "n_starts": self.n_starts, "n_converged": self.n_converged,
                "nfev": self.nfev, "wall_time": self.wall_time, "method": self.method, "n_obs": self.n_obs,
                "n_vary": self.n_vary, "warnings": list(self.warnings), "params": self.params.to_dict()}


# ---------------------------------------------------------------------- objective
def huber(r: np.ndarray, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Huber loss and its derivative, elementwise: 0.5 r^2 inside |r| <= delta, linear outside."""
    a = np.abs(r)
    inside = a <= delta
    rho = np.where(inside, 0.5 * r * r, delta * (a - 0.5 * delta))
    psi = np.clip(r, -delta, delta)
    return rho, psi


def _objective_factory(model: Model, y: np.ndarray, full0: np.ndarray, free: np.ndarray, *, loss: str,
                       delta: float, penalty: Callable[[np.ndarray], tuple[float, np.ndarray]] | None,
                       sample_weight: np.ndarray | None, counter: list[int]
                       ) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    logy = np.log(y)
    n = y.size
    sw = np.ones(n) if sample_weight is None else sample_weight
    sw = sw / sw.sum()
    # Scale by 1/delta^2 so the objective is O(1) near a good fit: L-BFGS-B's gradient tolerance is absolute.
    scale = 1.0 / (delta * delta)

    def fun(theta_free: np.ndarray) -> tuple[float, np.ndarray]:
        counter[0] += 1
        full = full0.copy()
        full[free] = theta_free
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            pred, jac = model(full)
            if not np.all(np.isfinite(pred)) or np.any(pred <= 0):
                return 1e30, np.zeros_like(theta_free)
            r = np.log(pred) - logy
            dr = jac[:, free] / pred[:, None]
            if loss == "huber":
                rho, psi = huber(r, delta)
            else:
                rho, psi = 0.5 * r * r, r
            f = scale * float(sw @ rho)
            g = scale * (dr.T @ (sw * psi))
            if penalty is not None:
                pf, pg = penalty(full)
                f += pf
                g = g + pg[free]
        if not np.isfinite(f) or not np.all(np.isfinite(g)):
            return 1e30, np.zeros_like(theta_free)
        return f, g

    return fun


def fit_model(model: Model, spec: Params, y: np.ndarray, *, loss: str = "huber", huber_delta: float = HUBER_DELTA,
              n_starts: int = 8, rng: np.random.Generator | None = None,
              starts: np.ndarray | None = None,
              penalty: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None,
              sample_weight: np.ndarray | None = None, max_iter: int = 3000, label: str = "") -> FitResult:
    """Fit ``model`` to the observed losses ``y`` by multistart L-BFGS-B on log residuals.

    Parameters
    ----------
    model : callable
        ``model(theta) -> (pred, jac)``: predicted losses of shape (n_obs,) and their Jacobian of shape
        (n_obs, n_params) with respect to the full parameter vector (fixed parameters included).
    spec : Params
        Names, inits, bounds and which parameters vary.
    y : ndarray of shape (n_obs,)
        Observed losses, > 0.
    loss : {"huber", "mse"}
        Huber on log residuals (default) or plain squared log residuals.
    n_starts : int
        Starts: the spec's inits first, then ``n_starts - 1`` seeded random starts inside the bounds
        (or ``starts`` when given: an array of shape (n, n_params) of full parameter vectors).
    penalty : callable, optional
        ``penalty(theta) -> (value, gradient)`` added to the objective (e.g. a ridge on interactions).

    Returns
    -------
    FitResult

    Raises
    ------
    FitError
        When no start reaches a finite objective.
    InputError
        When there are no more observations than free parameters.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(0) if rng is None else rng
    y = np.asarray(y, dtype=np.float64).ravel()
    full0 = spec.array("value")
    free = spec.vary_mask
    lo, hi = spec.array("min")[free], spec.array("max")[free]
    init = spec.array("init")[free]
    if y.size <= int(free.sum()):
        raise InputError(f"{label or 'fit'}: {y.size} observations are too few to fit {int(free.sum())} parameters; "
                         f"need at least {int(free.sum()) + 1} (more runs, or fix some parameters)")
    counter = [0]
    fun = _objective_factory(model, y, full0, free, loss=loss, delta=huber_delta, penalty=penalty,
                             sample_weight=sample_weight, counter=counter)
    if starts is not None:
        x0s = [np.clip(np.asarray(s, dtype=np.float64)[free], lo, hi) for s in starts]
    else:
        x0s = [init] + [random_start(init, lo, hi, rng) for _ in range(max(0, n_starts - 1))]
    with single_threaded_blas():
        best_x, best_f, n_conv, objs = _multistart(fun, x0s, lo, hi, free, max_iter)
    if best_x is None or best_f >= 1e29:
        raise FitError(f"{label or 'fit'}: no start reached a finite objective ({len(x0s)} starts); "
                       "check the data or widen the bounds")
    full = full0.copy()
    full[free] = best_x
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        pred, jac = model(full)
    resid = np.log(pred) - np.log(y)
    stderr, correl = _gauss_newton_stderr(jac / pred[:, None], resid, free)
    params = spec.with_values(full, stderr)
    msgs = []
    if n_conv == 0:
        msgs.append(f"no start converged (best objective {best_f:.4g}); the result may not be a minimum")
    for p in params.values():
        if p.vary and _at_bound(p):
            side = "lower" if abs(p.value - p.min) <= abs(p.value - p.max) else "upper"
            msgs.append(f"{p.name} at {side} bound {p.min if side == 'lower' else p.max:g}")
    method = f"L-BFGS-B, {f'huber(δ={huber_delta:g})' if loss == 'huber' else 'squared error'} on log loss"
    result = FitResult(params=params, objective=float(best_f), n_starts=len(x0s), n_converged=n_conv,
                       start_objectives=objs, nfev=counter[0], wall_time=time.perf_counter() - t0, method=method,
                       n_obs=y.size, n_vary=int(free.sum()), residuals=resid, warnings=msgs, correl=correl)
    if n_conv == 0:
        warnings.warn(f"{label or 'fit'}: {msgs[0]}", ConvergenceWarning, stacklevel=2)
    return result


def _multistart(fun: Callable[[np.ndarray], tuple[float, np.ndarray]], x0s: list[np.ndarray], lo: np.ndarray,
                hi: np.ndarray, free: np.ndarray, max_iter: int) -> tuple[np.ndarray | None, float, int, list[float]]:
    """Run L-BFGS-B from every start; return the best point, its objective, #converged, every final objective."""
    best_x, best_f, n_conv, objs = None, np.inf, 0, []
    for x0 in x0s:
        if free.sum() == 0:
            f, _ = fun(x0)
            res_x, res_f, ok = x0, f, True
        else:
            res = minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=list(zip(lo, hi, strict=False)),
                           options={"maxiter": max_iter, "ftol": 1e-14, "gtol": 1e-9, "maxcor": 30})
            res_x, res_f = res.x, float(res.fun)
            # ABNORMAL line searches at a tiny gradient are a converged fit in practice; judge by the gradient.
            ok = bool(res.success) or (np.isfinite(res_f) and res_f < 1e29
                                       and float(np.max(np.abs(_projected_grad(fun, res.x, lo, hi)), initial=0))
                                       < 1e-4 * max(1.0, abs(res_f)))
        ok = ok and np.isfinite(res_f) and res_f < 1e29
        objs.append(float(res_f))
        n_conv += int(ok)
        if np.isfinite(res_f) and res_f < best_f:
            best_x, best_f = res_x, res_f
    return best_x, best_f, n_conv, objs


def pooling_penalty(strength: float, start: int) -> Callable[[np.ndarray], tuple[float, np.ndarray]] | None:
    """Partial pooling of the exponents ``theta[start:]`` toward their mean.

    ``strength * sum_j (g_j - mean(g))^2`` (objective units) and its gradient ``2 strength (g - mean(g))``
    (the mean's own derivative cancels because the deviations sum to 0). ``None`` when ``strength`` is 0.
    """
    lam = float(strength)
    if lam == 0.0:
        return None

    def penalty(theta: np.ndarray) -> tuple[float, np.ndarray]:
        dev = theta[start:] - theta[start:].mean()
        grad = np.zeros_like(theta)
        grad[start:] = 2 * lam * dev
        return lam * float(dev @ dev), grad

    return penalty


def random_start(init: np.ndarray, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random start: uniform within finite bounds, else within init ± max(1, |init|)."""
    span = np.maximum(1.0, np.abs(init))
    a = np.where(np.isfinite(lo), lo, init - span)
    b = np.where(np.isfinite(hi), hi, init + span)
    # Keep starts away from huge bound boxes: at most init ± 3 spans.
    a = np.maximum(a, init - 3 * span)
    b = np.minimum(b, init + 3 * span)
    return rng.uniform(a, b)


def _projected_grad(fun: Callable[[np.ndarray], tuple[float, np.ndarray]], x: np.ndarray, lo: np.ndarray,
                    hi: np.ndarray) -> np.ndarray:
    _, g = fun(x)
    g = g.copy()
    g[(x <= lo) & (g > 0)] = 0.0
    g[(x >= hi) & (g < 0)] = 0.0
    return g


def _at_bound(p: Param) -> bool:
    tol = 1e-6
    return bool((np.isfinite(p.min) and abs(p.value - p.min) <= tol * (1 + abs(p.min)))
                or (np.isfinite(p.max) and abs(p.value - p.max) <= tol * (1 + abs(p.max))))


def _gauss_newton_stderr(dr: np.ndarray, resid: np.ndarray, free: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray | None]:
    """Standard errors from s^2 (J^T J)^-1 on the log residuals; NaN where the Jacobian is rank-deficient."""
    full_se = np.full(free.size, np.nan)
    J = dr[:, free]
    n, p = J.shape
    if n <= p or p == 0:
        return full_se, None
    s2 = float(resid @ resid) / (n - p)
    try:
        jtj = J.T @ J
        if not np.all(np.isfinite(jtj)) or np.linalg.cond(jtj) > 1e14:
            return full_se, None
        cov = np.linalg.inv(jtj) * s2
    except np.linalg.LinAlgError:
        return full_se, None
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    full_se[free] = se
    with np.errstate(invalid="ignore", divide="ignore"):
        correl = cov / np.outer(se, se)
    return full_se, correl


__all__ = ["Param", "Params", "FitResult", "fit_model", "huber", "HUBER_DELTA", "random_start", "pooling_penalty"]
