"""The fitting engine shared by every parametric law (DESIGN.md §4).

A law hands the engine a *model*: a function of the full parameter vector that returns the predicted
losses and their Jacobian. The engine fits

.. math::
    \\min_\\theta \\frac{1}{n} \\sum_o \\rho\\big(\\log \\hat L_o(\\theta) - \\log L_o\\big)
    + \\text{penalty}(\\theta)

with :math:`\\rho` the Huber loss (:math:`\\delta = 10^{-3}`, Hoffmann et al. 2022 approach 3; Ye et al. 2025
fit their mixing laws with Huber + L-BFGS) or the squared error, by bounded Levenberg-Marquardt on the
analytic Jacobian (:mod:`mixlaw._solver`) from a seeded multistart. :func:`fit_models` fits many independent
problems (a law's eval sets, every start of each) in one vectorised solve; :func:`fit_model` is one problem.
Every fit returns a :class:`FitResult`; a fit where no start converged says so with a
:class:`~mixlaw.errors.ConvergenceWarning`, and one where no start reached a finite objective raises
:class:`~mixlaw.errors.FitError`.
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from ._solver import BatchModel, SegmentJacobian, huber, penalty_hessian, solve_batch
from .errors import (
    ConvergenceWarning,
    FitError,
    InputError,
    InvalidParameterError,
    TooFewObservationsError,
    user_stacklevel,
)

#: Huber threshold on log-loss residuals (Hoffmann et al. 2022, approach 3; Besiroglu et al. 2024).
HUBER_DELTA = 1e-3

# The solver calls BLAS on tiny arrays every iteration; a multi-threaded OpenBLAS then spends
# milliseconds per call synchronising threads (measured 40-80x slower when the other core is busy), so every
# fit runs with BLAS limited to one thread.
_THREADPOOLS = ThreadpoolController()


def single_threaded_blas() -> Any:
    """Context manager limiting BLAS to one thread (see ``_THREADPOOLS``)."""
    return _THREADPOOLS.limit(limits=1, user_api="blas")


def blas_on_one_thread(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: ``fn`` runs inside :func:`single_threaded_blas` (for searches that, like the fits, call BLAS on
    tiny arrays many times: SLSQP's small QP solves)."""
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        with single_threaded_blas():
            return fn(*args, **kwargs)
    return run


Model = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
#: Largest Jacobian block (bytes) one batched solve holds; more rows are solved chunk by chunk.
BATCH_BYTES = 64e6


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
        # Plain Python floats and the constructor, not dataclasses.replace or per-element NumPy calls: the batched
        # stages build thousands of these per fit.
        vals = np.asarray(values, dtype=np.float64).tolist()
        ses = [None] * len(vals) if stderr is None else [
            v if math.isfinite(v) else None for v in np.asarray(stderr, dtype=np.float64).tolist()]
        return Params([Param(p.name, vals[i], p.init, p.min, p.max, p.vary, ses[i] if p.vary else None, p.note)
                       for i, p in enumerate(self._p.values())])

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
            try:
                ok = bool(np.isfinite(float(v))) and not isinstance(v, (bool, str))
            except (TypeError, ValueError):
                ok = False
            if not ok:  # NaN made every start's objective NaN and the fit said "check the data"
                raise InvalidParameterError(f"The 'fixed' parameter of {owner}: {name!r} must be a finite number; "
                                            f"got {v!r}")
            out[name] = replace(p, value=float(v), init=float(v), vary=False, note="fixed by user")
        return Params(list(out.values()))

    def to_dict(self, notes: bool = False) -> dict[str, Any]:
        """Each parameter's value, stderr, init, bounds and vary; with ``notes``, a held one's ``note`` too (why it
        is held: "reference domain", "fixed by user"), as a fit report and a saved law give it."""
        out = {p.name: {"value": p.value, "stderr": p.stderr, "init": p.init, "min": _num(p.min),
                        "max": _num(p.max), "vary": p.vary} for p in self._p.values()}
        for p in self._p.values() if notes else ():
            if not p.vary and p.note:
                out[p.name]["note"] = p.note
        return out

    def to_frame(self) -> Any:
        """The parameters as a pandas DataFrame, one row per name (the index): ``value``, ``stderr`` (NaN where
        unknown or fixed), ``init``, ``min``, ``max``, ``vary`` and ``note`` (lmfit's ``Parameters`` table)."""
        import pandas as pd

        rows = [{"value": p.value, "stderr": np.nan if p.stderr is None else p.stderr, "init": p.init, "min": p.min,
                 "max": p.max, "vary": p.vary, "note": p.note} for p in self._p.values()]
        return pd.DataFrame(rows, index=pd.Index(list(self._p), name="name"),
                            columns=["value", "stderr", "init", "min", "max", "vary", "note"])

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


# ---------------------------------------------------------------------- engine
def fit_model(model: Model, spec: Params, y: np.ndarray, *, loss: str = "huber", huber_delta: float = HUBER_DELTA,
              n_starts: int = 8, rng: np.random.Generator | None = None,
              starts: np.ndarray | None = None,
              penalty: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None,
              sample_weight: np.ndarray | None = None, max_iter: int = 500, label: str = "",
              warm_start: np.ndarray | None = None) -> FitResult:
    """Fit ``model`` to the observed losses ``y`` by multistart bounded Levenberg-Marquardt on log residuals.

    Parameters
    ----------
    model : callable
        ``model(theta) -> (pred, jac)``: predicted losses of shape (n_obs,) and their Jacobian of shape
        (n_obs, n_params) with respect to the full parameter vector (fixed parameters included), or a
        one-row :class:`mixlaw._solver.SegmentJacobian` when the Jacobian has that sparse pattern.
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
        ``penalty(theta) -> (value, gradient)`` added to the objective (e.g. a ridge on interactions); an
        optional ``hessian(theta)`` attribute gives its curvature (else central differences).
    max_iter : int
        Solver iterations per start (:func:`mixlaw._solver.solve_batch`).
    warm_start : ndarray of shape (n_params,), optional
        Try this full parameter vector alone first (a refit from a nearby optimum); the multistart runs only
        when it does not converge.

    Returns
    -------
    FitResult

    Raises
    ------
    FitError
        When no start reaches a finite objective.
    InputError
        When there are no more observations than free parameters (for a ridge, than the free parameters it leaves
        unpenalised: :func:`ridge_counted_params`).
    """
    (res,) = fit_models([model], [spec], [y], loss=loss, huber_delta=huber_delta, n_starts=n_starts, rng=rng,
                        starts=None if starts is None else [starts], penalties=[penalty],
                        sample_weights=None if sample_weight is None else [sample_weight], max_iter=max_iter,
                        labels=[label], warm_starts=None if warm_start is None else [warm_start], _warn=False)
    if res.n_converged == 0:
        warnings.warn(f"{label or 'fit'}: {res.warnings[0]}", ConvergenceWarning, stacklevel=user_stacklevel(2))
    return res


def fit_models(models: Sequence[Model] | None, specs: Sequence[Params], ys: Sequence[np.ndarray], *,
               loss: str = "huber", huber_delta: float = HUBER_DELTA, n_starts: int = 8,
               rng: np.random.Generator | None = None, starts: Sequence[np.ndarray | None] | None = None,
               penalties: Sequence[Callable[[np.ndarray], tuple[float, np.ndarray]] | None] | None = None,
               sample_weights: Sequence[np.ndarray | None] | None = None, max_iter: int = 500,
               labels: Sequence[str] | None = None, batch_model: BatchModel | None = None,
               warm_starts: Sequence[np.ndarray | None] | None = None, screen_iter: int | None = None,
               _warn: bool = True, warm_solver: Callable[..., Any] | None = None,
               stderr: bool = True,
               extra_starts: Sequence[Sequence[np.ndarray]] | None = None) -> list[FitResult]:
    """Fit several independent problems (e.g. one per eval set) in one vectorised solve.

    Every problem ``i`` is :func:`fit_model`'s ``(models[i], specs[i], ys[i])``; all must have the same
    number of parameters and of observations. Every start of every problem is one row of one
    :func:`mixlaw._solver.solve_batch` loop, so the cost is tens of array iterations instead of one Python
    optimiser run per problem and start. Random starts are drawn from ``rng`` problem by problem, in order.

    Parameters
    ----------
    models : list of callable, or None
        Per problem, ``model(theta) -> (pred, jac)`` as in :func:`fit_model`; ``None`` with ``batch_model``.
    batch_model : callable, optional
        ``batch_model(theta (r, p), problem (r,)) -> (pred (r, n), jac (r, n, p))``: all rows evaluated at
        once. Without it each row calls its problem's model.
    warm_starts : list of (ndarray or None), optional
        Per problem, a full parameter vector tried alone first; problems whose warm start does not converge
        then get their usual starts.
    warm_solver : callable, optional
        Solves the warm starts in place of this function's own solve, with ``_run``'s arguments and result: a
        bootstrap solves many replicates' warm starts in one batch (:mod:`mixlaw._bootstrap_warm`).
    screen_iter : int, optional
        Screen the starts: every start runs at most ``screen_iter`` iterations, then only each problem's best
        (lowest objective) goes on, up to ``max_iter``. For laws whose starts mostly crawl to ``max_iter``
        along flat ridges, where running all of them to the end costs ``n_starts`` times one start's work.
        None (the default): every start runs to ``max_iter``.
    stderr : bool, default=True
        Gauss-Newton standard errors and correlations of every fit. False: none (stderr None, ``correl`` None), for
        fits whose values alone are kept (a bootstrap replicate's refit, :mod:`mixlaw._bootstrap_replicate`): their
        inverse and condition number (an SVD a fit) were 4 % of a RegMix pile_cc bootstrap of ``ye-exp``.
    extra_starts : list of (list of ndarray), optional
        Per problem, full parameter vectors tried after its usual starts (the init and the random ones, drawn as
        without them): each row is solved on its own, so the usual starts end where they did, and the best of all
        is kept (the first on a tie).

    Returns
    -------
    list of FitResult, one per problem.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(0) if rng is None else rng
    P = len(specs)
    labels = list(labels) if labels is not None else [""] * P
    ys = [np.asarray(y, dtype=np.float64).ravel() for y in ys]
    n = ys[0].size
    p = len(specs[0])
    if any(y.size != n for y in ys) or any(len(s) != p for s in specs):
        raise InputError("fit_models: every problem needs the same number of observations and parameters")
    full0 = np.array([s.array("value") for s in specs])
    free = np.array([s.vary_mask for s in specs])
    lo, hi = np.array([s.array("min") for s in specs]), np.array([s.array("max") for s in specs])
    sw = np.ones((P, n)) if sample_weights is None else np.array(
        [np.ones(n) if w is None else np.asarray(w, dtype=np.float64) for w in sample_weights])
    sw = sw / sw.sum(axis=1, keepdims=True)
    n_obs, n_free = np.count_nonzero(sw, axis=1), free.sum(axis=1)
    pens = [None] * P if penalties is None else list(penalties)
    for i in np.flatnonzero(n_obs <= n_free):
        # A ridge identifies the block it penalises: only the free directions its curvature leaves flat must be
        # fitted by the observations (ridge_counted_params).
        flat = ridge_counted_params(pens[i], full0[i], free[i])
        if flat is None:
            raise TooFewObservationsError(
                f"{labels[i] or 'fit'}: {n_obs[i]} observations are too few to fit {n_free[i]} parameters; need at "
                f"least {n_free[i] + 1} (more runs, or fix some parameters)", n_obs=n_obs[i], n_params=n_free[i])
        if n_obs[i] <= flat:
            raise TooFewObservationsError(
                f"{labels[i] or 'fit'}: {n_obs[i]} observations are too few to fit the {flat} of its {n_free[i]} free "
                f"parameters that its penalty leaves unpenalised; need at least {flat + 1} (more runs, fix some "
                "parameters, or penalise them)", n_obs=n_obs[i], n_params=flat)
    x0s: list[list[np.ndarray]] = []
    for i, s in enumerate(specs):
        given = None if starts is None else starts[i]
        if given is not None:
            # Fixed parameters hold their value; free ones are clipped into the bounds (all starts at once).
            g = np.atleast_2d(np.asarray(given, dtype=np.float64))
            x0s.append(list(np.where(free[i], np.clip(g, lo[i], hi[i]), full0[i])))
            continue
        else:
            init = np.where(free[i], s.array("init"), full0[i])
            rows = [init]
            for _ in range(max(0, int(n_starts) - 1)):
                r = full0[i].copy()
                r[free[i]] = random_start(init[free[i]], lo[i][free[i]], hi[i][free[i]], rng)
                rows.append(r)
        x0s.append([np.where(free[i], np.clip(v, lo[i], hi[i]), full0[i]) for v in rows])
    for i, extra in enumerate(extra_starts or ()):
        x0s[i] += [np.where(free[i], np.clip(np.asarray(v, dtype=np.float64), lo[i], hi[i]), full0[i]) for v in extra]
    logy = np.log(np.array(ys))
    # Phase 1: warm starts alone; phase 2: the usual starts of every problem without a converged warm start.
    outcome: dict[int, tuple[list[np.ndarray], np.ndarray, np.ndarray, int, list[float], np.ndarray]] = {}
    todo = list(range(P))
    if warm_starts is not None:
        warm = [i for i in range(P) if warm_starts[i] is not None]
        wx = {i: [np.where(free[i], np.clip(np.asarray(warm_starts[i], dtype=np.float64), lo[i], hi[i]), full0[i])]
              for i in warm}
        got = (_run if warm_solver is None else warm_solver)(wx, models, batch_model, lo, hi, free, logy, sw, pens,
                                                             loss, huber_delta, max_iter)
        outcome.update({i: r for i, r in got.items() if r[3] > 0})
        todo = [i for i in range(P) if i not in outcome]
    if todo and screen_iter is not None and screen_iter < max_iter:
        scr = _run({i: x0s[i] for i in todo}, models, batch_model, lo, hi, free, logy, sw, pens, loss, huber_delta,
                   int(screen_iter))
        # The best start of each problem that has not converged goes on from where the screen left it.
        lead = {i: int(np.argmin(r[1])) for i, r in scr.items() if np.isfinite(r[1]).any()}
        going = {i: [scr[i][0][b]] for i, b in lead.items() if not scr[i][5][b]}
        more = _run(going, models, batch_model, lo, hi, free, logy, sw, pens, loss, huber_delta,
                    max_iter - int(screen_iter)) if going else {}
        for i, (th, fs, nf, nc, objs, cv) in scr.items():
            if i in more:
                b, (th2, fs2, nf2, nc2, objs2, _) = lead[i], more[i]
                th, fs, objs = list(th), fs.copy(), list(objs)
                th[b], fs[b], objs[b], nf, nc = th2[0], fs2[0], objs2[0], nf + nf2, nc + nc2
            outcome[i] = (th, fs, nf, nc, objs, cv)
    elif todo:
        outcome.update(_run({i: x0s[i] for i in todo}, models, batch_model, lo, hi, free, logy, sw, pens, loss,
                            huber_delta, max_iter))
    best = []
    for i in range(P):
        fs = outcome[i][1]
        finite = np.isfinite(fs)
        if not finite.any():
            raise FitError(f"{labels[i] or 'fit'}: no start reached a finite objective ({len(fs)} starts); "
                           "check the data or widen the bounds")
        best.append(int(np.argmin(np.where(finite, fs, np.inf))))
    full = np.array([outcome[i][0][b] for i, b in enumerate(best)])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if batch_model is not None:
            pred, jac = batch_model(full, np.arange(P))
        else:
            assert models is not None
            outs = [models[i](full[i]) for i in range(P)]
            pred, jac = np.array([o[0] for o in outs]), _stack_jac([o[1] for o in outs])
        if isinstance(jac, SegmentJacobian) and stderr:
            jac = jac.to_dense()
        resid = np.log(pred) - logy
    keep = sw > 0  # weight-0 observations (padding of batched curves of different lengths) are not fitted
    if stderr:
        se, correl = _gauss_newton_stderr(jac / pred[:, :, None], resid, keep, free)
    else:
        se, correl = np.full(full.shape, np.nan), [None] * P
    tol = 1e-6  # as at_bound, for every problem at once: only problems with a parameter at a bound look closer
    near = free & ((np.isfinite(lo) & (np.abs(full - lo) <= tol * (1 + np.abs(lo))))
                   | (np.isfinite(hi) & (np.abs(full - hi) <= tol * (1 + np.abs(hi)))))
    out = [_result(specs[i], full[i], float(outcome[i][1][best[i]]), resid[i][keep[i]], se[i], correl[i],
                   free[i], len(outcome[i][1]), outcome[i][3], outcome[i][4], int(outcome[i][2]), loss, huber_delta,
                   t0, labels[i], _warn, bool(near[i].any())) for i in range(P)]
    wall = time.perf_counter() - t0
    for r in out:
        r.wall_time = wall / P
    return out


def _run(x0s: dict[int, list[np.ndarray]], models: Sequence[Model] | None, batch_model: BatchModel | None,
         lo: np.ndarray, hi: np.ndarray, free: np.ndarray, logy: np.ndarray, sw: np.ndarray,
         pens: list[Any], loss: str, delta: float, max_iter: int
         ) -> dict[int, tuple[list[np.ndarray], np.ndarray, np.ndarray, int, list[float], np.ndarray]]:
    """One solve over every start of the given problems; per problem: (thetas, objectives, nfev, n_conv, objs,
    converged flags)."""
    prob = np.array([i for i, xs in x0s.items() for _ in xs], dtype=np.int64)
    theta0 = np.array([v for xs in x0s.values() for v in xs])

    R, n, p = theta0.shape[0], logy.shape[1], theta0.shape[1]
    # Rows are independent: solve them in chunks whose Jacobians stay within BATCH_BYTES (a 100k-run table
    # with 8 starts would otherwise hold several GB of Jacobians at once).
    step = max(1, min(R, int(BATCH_BYTES // max(1, 8 * n * p))))
    theta, f = np.empty_like(theta0), np.empty(R)
    conv, nfev = np.empty(R, dtype=bool), np.empty(R, dtype=np.int64)
    for a in range(0, R, step):
        part = prob[a:a + step]

        def model(th: np.ndarray, rows: np.ndarray, part: np.ndarray = part) -> tuple[np.ndarray, np.ndarray]:
            if batch_model is not None:
                return batch_model(th, part[rows])
            assert models is not None
            outs = [models[part[r]](t) for r, t in zip(rows, th, strict=True)]
            return np.array([o[0] for o in outs]), _stack_jac([o[1] for o in outs])

        with single_threaded_blas():
            sl = slice(a, a + step)
            theta[sl], f[sl], conv[sl], nfev[sl] = solve_batch(
                model, theta0[sl], lo[part], hi[part], free[part], logy[part], sw[part], loss=loss, delta=delta,
                penalties=[pens[i] for i in part], max_iter=max_iter)
    out = {}
    a = 0
    for i, xs in x0s.items():  # each problem's rows are contiguous, in x0s's order
        m = slice(a, a + len(xs))
        a += len(xs)
        fs = np.where(np.isfinite(f[m]) & (f[m] < 1e29), f[m], np.inf)
        out[i] = (list(theta[m]), fs, nfev[m].sum(), int(conv[m].sum()), f[m].tolist(), conv[m].copy())
    return out


def _stack_jac(jacs: list[Any]) -> Any:
    """One batch of Jacobians from the per-problem models' (dense arrays, or one-row SegmentJacobians)."""
    if isinstance(jacs[0], SegmentJacobian):
        return SegmentJacobian.stack(jacs)
    return np.array(jacs)


def _result(spec: Params, full: np.ndarray, best_f: float, resid: np.ndarray, stderr: np.ndarray,
            correl: np.ndarray | None, free: np.ndarray, n_starts: int, n_conv: int, objs: list[float], nfev: int,
            loss: str, huber_delta: float, t0: float, label: str, warn: bool, near_bound: bool = True) -> FitResult:
    params = spec.with_values(full, stderr)
    msgs = []
    if n_conv == 0:
        msgs.append(f"no start converged (best objective {best_f:.4g}); the result may not be a minimum")
    for prm in (params.values() if near_bound else ()):
        if prm.vary and at_bound(prm):
            msgs.append(bound_note(prm))
    method = (f"Levenberg-Marquardt (bounded), {f'huber(δ={huber_delta:g})' if loss == 'huber' else 'squared error'}"
              " on log loss")
    result = FitResult(params=params, objective=float(best_f), n_starts=n_starts, n_converged=n_conv,
                       start_objectives=objs, nfev=nfev, wall_time=time.perf_counter() - t0, method=method,
                       n_obs=resid.size, n_vary=int(free.sum()), residuals=resid, warnings=msgs, correl=correl)
    if n_conv == 0 and warn:
        warnings.warn(f"{label or 'fit'}: {msgs[0]}", ConvergenceWarning, stacklevel=user_stacklevel(4))
    return result


def pooling_penalty(strength: float, start: int) -> Callable[[np.ndarray], tuple[float, np.ndarray]] | None:
    """Partial pooling of the exponents ``theta[start:]`` toward their mean.

    ``strength * sum_j (g_j - mean(g))^2`` (objective units) and its gradient ``2 strength (g - mean(g))``
    (the mean's own derivative cancels because the deviations sum to 0); its Hessian
    ``2 strength (I - 11^T / m)`` on the exponents is the penalty's ``hessian`` attribute, so the solver's
    Gauss-Newton step sees the (large) curvature of a strong pooling. ``None`` when ``strength`` is 0.
    """
    lam = float(strength)
    if lam == 0.0:
        return None

    def penalty(theta: np.ndarray) -> tuple[float, np.ndarray]:
        dev = theta[start:] - theta[start:].mean()
        grad = np.zeros_like(theta)
        grad[start:] = 2 * lam * dev
        return lam * float(dev @ dev), grad

    cache: dict[int, np.ndarray] = {}  # the Hessian is constant: built once per size (solvers call it every step)

    def hessian(theta: np.ndarray) -> np.ndarray:
        if theta.size not in cache:
            m = theta.size - start
            H = np.zeros((theta.size, theta.size))
            H[start:, start:] = 2 * lam * (np.eye(m) - 1.0 / m)
            cache[theta.size] = H
        return cache[theta.size].copy()

    penalty.hessian = hessian  # type: ignore[attr-defined]
    penalty.quadratic = True  # type: ignore[attr-defined]  # exactly theta^T H theta / 2 (the solver batches it)
    return penalty


def ridge_counted_params(penalty: Any, theta: np.ndarray, free: np.ndarray) -> int | None:
    """Free parameters a ridge leaves unpenalised: what the observations must outnumber in its fit, or None when
    ``penalty`` is no ridge (then every free parameter counts).

    A ridge is a quadratic penalty marked ``identifies = True`` (a law's ``alpha > 0``,
    :class:`~mixlaw.laws._regularize.RidgeCVMixin`): the penalised least squares
    :math:`\\min_\\theta \\tfrac1n \\lVert r(\\theta) \\rVert^2 + \\theta^\\top H \\theta / 2` has a
    positive-definite Gauss-Newton matrix :math:`J^\\top J / n + H` wherever :math:`J` has full column rank on the
    null space of :math:`H` (Hoerl & Kennard 1970, ridge regression with p > n), so the count is the dimension of
    that null space within the free parameters: ye-pow's c, log k and the mean exponent (3 of 2M + 2, the t ridged
    and the exponents pooled), additive's E and mean log C plus its exponents unless they are pooled. Its
    Hessian is constant (``quadratic``), so it is read at ``theta``. Other penalties (the exponents' pooling alone,
    at ``alpha = 0``) count every free parameter, as before a ridge could fit fewer runs than parameters.
    """
    if penalty is None or not getattr(penalty, "identifies", False) or not getattr(penalty, "quadratic", False):
        return None
    H = penalty_hessian(penalty, np.asarray(theta, dtype=np.float64))[np.ix_(free, free)]
    ev = np.linalg.eigvalsh(0.5 * (H + H.T))
    top = float(np.max(np.abs(ev))) if ev.size else 0.0
    return int(free.sum()) - int(np.count_nonzero(ev > 1e-9 * top)) if top > 0 else int(free.sum())


def random_start(init: np.ndarray, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random start: uniform within finite bounds, else within init ± max(1, |init|)."""
    span = np.maximum(1.0, np.abs(init))
    a = np.where(np.isfinite(lo), lo, init - span)
    b = np.where(np.isfinite(hi), hi, init + span)
    # Keep starts away from huge bound boxes: at most init ± 3 spans.
    a = np.maximum(a, init - 3 * span)
    b = np.minimum(b, init + 3 * span)
    return rng.uniform(a, b)


def at_bound(p: Param) -> bool:
    tol = 1e-6
    return bool((np.isfinite(p.min) and abs(p.value - p.min) <= tol * (1 + abs(p.min)))
                or (np.isfinite(p.max) and abs(p.value - p.max) <= tol * (1 + abs(p.max))))


def bound_note(p: Param) -> str:
    """The fit report's words for a parameter at a bound (:func:`at_bound`): 'name at lower bound -30'."""
    lower = abs(p.value - p.min) <= abs(p.value - p.max)
    return f"{p.name} at {'lower' if lower else 'upper'} bound {p.min if lower else p.max:g}"


def _gauss_newton_stderr(dr: np.ndarray, resid: np.ndarray, keep: np.ndarray, free: np.ndarray
                         ) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """Standard errors from s^2 (J^T J)^-1 on the log residuals, for a batch of fits at once.

    ``dr`` (P, n, p) is the Jacobian of the log predictions, ``resid`` (P, n), ``keep`` (P, n) the fitted
    observations, ``free`` (P, p). NaN (and no correlation matrix) where the Jacobian is rank-deficient.

    A free parameter that no fitted prediction depends on (its column of ``dr`` is zero on the kept rows: the
    weight of a domain that is 0 in every run) is not identified: NaN for it, and the others' errors as if it
    were fixed. Why: it made ``J^T J`` singular, and one such domain in Olmix's update-5 swarm (``s2pdfv1:adult``,
    0 in all 64 runs) blanked the stderr of all 23 parameters of ``ye-exp``; now they equal those of the fit
    without that domain.
    """
    P, _, p_all = dr.shape
    full_se = np.full((P, p_all), np.nan)
    correl: list[np.ndarray | None] = [None] * P
    groups: dict[bytes, list[int]] = {}
    moves = np.any(np.where(keep[:, :, None], dr, 0.0) != 0, axis=1)  # (P, p); NaN counts as moving
    for i in range(P):
        groups.setdefault((free[i] & moves[i]).tobytes(), []).append(i)
    for idx in groups.values():
        f = free[idx[0]] & moves[idx[0]]
        J = np.where(keep[idx][:, :, None], dr[idx][:, :, f], 0.0)
        r = np.where(keep[idx], resid[idx], 0.0)
        n = keep[idx].sum(axis=1)
        p = int(f.sum())
        ok = (n > p) & (p > 0)
        with np.errstate(invalid="ignore", over="ignore"):
            jtj = np.matmul(np.swapaxes(J, 1, 2), J)
        ok &= np.all(np.isfinite(jtj), axis=(1, 2))
        if not ok.any():
            continue
        sel = np.flatnonzero(ok)
        ok[sel] = np.linalg.cond(jtj[sel]) <= 1e14
        sel = np.flatnonzero(ok)
        if not sel.size:
            continue
        try:
            inv = np.linalg.inv(jtj[sel])  # one batched inverse: the step stage has hundreds of fits
        except np.linalg.LinAlgError:  # a singular one among them: one at a time, skipping it
            inv = np.full((sel.size, p, p), np.nan)
            for j, a in enumerate(sel):
                try:
                    inv[j] = np.linalg.inv(jtj[a])
                except np.linalg.LinAlgError:
                    continue
        s2 = np.einsum("an,an->a", r[sel], r[sel]) / (n[sel] - p)
        cov = inv * s2[:, None, None]
        se = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0, None))
        with np.errstate(invalid="ignore", divide="ignore"):
            cor = cov / (se[:, :, None] * se[:, None, :])
        sub = f[free[idx[0]]]  # the identified ones among the free parameters (correlations are over the free)
        for j, a in enumerate(sel):
            if np.all(np.isfinite(inv[j])):
                full_se[idx[a], f] = se[j]
                correl[idx[a]] = cor[j] if sub.all() else _embed(cor[j], sub)
    return full_se, correl


def _embed(c: np.ndarray, sub: np.ndarray) -> np.ndarray:
    """The (q, q) matrix ``c`` of the ``sub`` entries among q, NaN in the rows and columns of the others."""
    out = np.full((sub.size, sub.size), np.nan)
    out[np.ix_(sub, sub)] = c
    return out


__all__ = ["Param", "Params", "FitResult", "fit_model", "fit_models", "huber", "HUBER_DELTA", "random_start",
           "pooling_penalty", "at_bound", "bound_note", "ridge_counted_params"]
