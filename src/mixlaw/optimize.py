"""The optimal mixture: minimise a fitted law's predicted objective over the simplex (DESIGN.md §7).

.. math::

    r^\\star = \\arg\\min_{r} \\; F\\big(L_1(r), \\dots, L_K(r)\\big)
    \\quad\\text{s.t.}\\quad \\sum_j r_j = 1,\\;\\; \\ell_j \\le r_j \\le u_j,\\;\\;
    r_j D \\le E_{\\max} T_j,\\;\\; r_j = f_j \\;(j \\in \\text{fixed})

with :math:`F` the mean, the sum, a non-negative weighted sum or the maximum of the per-eval predicted
losses (or a user callable), :math:`D` the target run's training tokens, :math:`T_j` the tokens available in
domain j and :math:`E_{\\max}` the repetitions allowed. The availability constraint is an upper bound
:math:`u_j \\leftarrow \\min(u_j, E_{\\max} T_j / D)`.

Also here: Ye et al.'s *steps-to-match* figures (:func:`steps_to_match`).

References
----------
Ye et al., "Data Mixing Laws: Optimizing Data Mixtures by Predicting Language Modeling Performance",
ICLR 2025, arXiv:2403.16952, §4 (optimised RedPajama mixture; 73 % of the steps, +48 % equivalent training).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize

from ._validation import check_is_fitted, check_random_state
from .errors import ExtrapolationWarning, InputError
from .laws.base import MixingLaw

#: A weight within this distance of a bound counts as "on the bound" (reported as an active constraint).
ACTIVE_TOL = 1e-7
#: Tolerance on sum(bounds) feasibility checks: rounding in user input, not a modelling slack.
FEAS_TOL = 1e-9
#: Repetitions allowed when --max-epochs is not given (Muennighoff et al. 2023: up to ~4 epochs cost little;
#: the same default as :func:`mixlaw.design.max_shares`).
DEFAULT_MAX_EPOCHS = 4.0
#: Starts for laws whose objective is not known to be convex.
DEFAULT_N_STARTS = 16
#: Finite-difference step on the weights (forward/central; the objective is smooth at this scale).
FD_STEP = 1e-6

Objective = str | Mapping[str, float] | Callable[[np.ndarray], float]


# ---------------------------------------------------------------------- results
@dataclass
class ActiveConstraint:
    """One constraint that binds at the optimum.

    ``kind`` is ``"zero"`` (r_j = 0), ``"lower bound"``, ``"upper bound"``, ``"availability"`` (the
    max_epochs x tokens / target_tokens cap) or ``"fixed"``.
    """

    domain: str
    kind: str
    value: float

    def to_dict(self) -> dict[str, Any]:
        return {"domain": self.domain, "kind": self.kind, "value": self.value}


@dataclass
class OptimumResult:
    """The optimal mixture and what it is predicted to achieve.

    Attributes
    ----------
    weights : dict of str to float
        The optimal mixture (domain order of the law), on the simplex and inside every bound.
    objective : float
        Predicted objective at ``weights`` (loss units, nats).
    losses : dict of str to float
        Predicted loss of every eval set at ``weights``.
    objective_name : str
        ``"mean"``, ``"total"``, ``"max"``, ``"weights"`` or ``"callable"``.
    active : list of ActiveConstraint
        Constraints binding at the optimum.
    lower, upper : dict of str to float
        Effective bounds (user bounds, fixed values and availability caps combined).
    natural_weights, natural_losses : dict of str to float
        The default mixture and its predicted losses.
    natural_objective : float
    natural_source : str
        ``"given"``, ``"token shares"`` or ``"uniform"``.
    natural_feasible : bool
        Whether the natural mixture satisfies the bounds (it is reported either way).
    convex : bool
        True when the objective is provably convex (Ye law, non-negative combination or max): the
        optimum is then global.
    method : str
    n_starts, n_converged : int
    start_objectives : list of float
    intervals : dict, optional
        Bootstrap percentile intervals, attached by :func:`mixlaw.bootstrap.bootstrap_law`.
    steps : StepsToMatch, optional
        Ye's steps-to-match figures, when a step law of the default mixture was given.
    """

    weights: dict[str, float]
    objective: float
    losses: dict[str, float]
    objective_name: str
    active: list[ActiveConstraint]
    lower: dict[str, float]
    upper: dict[str, float]
    natural_weights: dict[str, float]
    natural_objective: float
    natural_losses: dict[str, float]
    natural_source: str
    natural_feasible: bool
    convex: bool
    method: str
    n_starts: int
    n_converged: int
    start_objectives: list[float] = field(default_factory=list)
    law: str = ""
    intervals: dict[str, Any] | None = None
    steps: StepsToMatch | None = None

    @property
    def improvement(self) -> float:
        """Predicted objective of the natural mixture minus that of the optimum (> 0: the optimum is better)."""
        return self.natural_objective - self.objective

    def weight_array(self) -> np.ndarray:
        return np.array(list(self.weights.values()))

    def to_dict(self) -> dict[str, Any]:
        return {"law": self.law, "objective_name": self.objective_name, "objective": self.objective,
                "weights": dict(self.weights), "losses": dict(self.losses),
                "active": [a.to_dict() for a in self.active], "lower": dict(self.lower), "upper": dict(self.upper),
                "natural": {"source": self.natural_source, "feasible": self.natural_feasible,
                            "weights": dict(self.natural_weights), "objective": self.natural_objective,
                            "losses": dict(self.natural_losses)},
                "improvement": self.improvement, "convex": self.convex, "method": self.method,
                "n_starts": self.n_starts, "n_converged": self.n_converged,
                "start_objectives": list(self.start_objectives), "intervals": self.intervals,
                "steps_to_match": None if self.steps is None else self.steps.to_dict()}

    def __str__(self) -> str:
        iv = self.intervals or {}
        level = iv.get("level")
        wiv = iv.get("weights", {})
        lines = [f"[[Optimal mixture]]  law={self.law}  objective={self.objective_name}",
                 f"    method = {self.method}"]
        obj = f"    predicted objective = {self.objective:.5g}"
        if "objective" in iv:
            lo, hi = iv["objective"]
            obj += f"  [{lo:.5g}, {hi:.5g}] ({level:.0%} bootstrap, {iv.get('n_boot')} refits)"
        lines.append(obj)
        rel = self.improvement / self.natural_objective if self.natural_objective else float("nan")
        src = self.natural_source + ("" if self.natural_feasible else ", violates bounds")
        lines.append(f"    natural mixture ({src})"
                     f" = {self.natural_objective:.5g}   improvement = {self.improvement:.4g} ({rel:.2%})")
        active = {a.domain: a for a in self.active}
        lines.append("[[Weights]]")
        head = f"    {'domain':<20} {'optimum':>9} {'natural':>9}  {'bounds':<17} active"
        if wiv:
            head = f"    {'domain':<20} {'optimum':>9} {'interval':>19} {'natural':>9}  {'bounds':<17} active"
        lines.append(head)
        for d, w in self.weights.items():
            b = f"[{self.lower[d]:.4g}, {self.upper[d]:.4g}]"
            a = active[d].kind if d in active else ""
            if wiv:
                lo, hi = wiv[d]
                lines.append(f"    {d[:20]:<20} {w:>9.4f} [{lo:>7.4f}, {hi:>7.4f}] {self.natural_weights[d]:>9.4f}  "
                             f"{b:<17} {a}")
            else:
                lines.append(f"    {d[:20]:<20} {w:>9.4f} {self.natural_weights[d]:>9.4f}  {b:<17} {a}")
        liv = iv.get("losses", {})
        lines.append("[[Predicted losses]]")
        lines.append(f"    {'eval':<20} {'optimum':>9} {'natural':>9}" + (f" {'interval':>19}" if liv else ""))
        for t, v in self.losses.items():
            row = f"    {t[:20]:<20} {v:>9.4f} {self.natural_losses[t]:>9.4f}"
            if t in liv:
                row += f" [{liv[t][0]:>7.4f}, {liv[t][1]:>7.4f}]"
            lines.append(row)
        if self.steps is not None:
            lines.append("[[Steps to match (Ye et al. 2025)]]")
            lines.append(str(self.steps))
        return "\n".join(lines)


# ---------------------------------------------------------------------- law evaluation
class _LawEval:
    """Predicted per-eval losses L(r) (K,) and their Jacobian dL/dr (K, M) for one law."""

    def __init__(self, law: MixingLaw, model_params: Any = None, tokens: Any = None) -> None:
        self.law, self.mp, self.tk = law, model_params, tokens
        self.K = len(law.targets_)
        self.analytic = _is_ye(law)
        if self.analytic:
            vals = np.array([law._values_for(t) for t in law.targets_])  # (K, 2 + M): c, log_k, t_1..t_M
            self.c, self.log_k, self.T = vals[:, 0], vals[:, 1], vals[:, 2:]

    def predict(self, R: np.ndarray) -> np.ndarray:
        """(n, M) mixtures -> (n, K) losses."""
        if self.analytic:
            with np.errstate(over="ignore"):
                return self.c + np.exp(self.log_k + R @ self.T.T)
        n = R.shape[0]
        kw: dict[str, Any] = {}
        if self.law.uses_model_params and self.mp is not None:
            kw["model_params"] = np.broadcast_to(np.asarray(self.mp, dtype=np.float64), (n,))
        if self.law.uses_tokens and self.tk is not None:
            kw["tokens"] = np.broadcast_to(np.asarray(self.tk, dtype=np.float64), (n,))
        with warnings.catch_warnings():
            # The optimiser probes mixtures outside the fitted range by design; the final mixture is checked once.
            warnings.simplefilter("ignore", ExtrapolationWarning)
            out = np.asarray(self.law.predict(np.clip(R, 0.0, None), **kw), dtype=np.float64)
        return out.reshape(n, self.K)

    def value_jac(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.analytic:
            with np.errstate(over="ignore"):
                e = np.exp(self.log_k + self.T @ r)  # (K,)
            return self.c + e, e[:, None] * self.T
        # Finite differences through law.predict, one batched call: central where r_j >= h, forward at the
        # boundary (laws may reject negative weights).
        M = r.size
        h = FD_STEP
        plus = np.tile(r, (M, 1)) + h * np.eye(M)
        central = r >= h
        minus = np.tile(r, (M, 1)) - h * np.eye(M) * central[:, None]
        P = self.predict(np.vstack([r[None, :], plus, minus]))
        L0, Lp, Lm = P[0], P[1:M + 1], P[M + 1:]
        denom = np.where(central, 2 * h, h)[:, None]
        J = ((Lp - np.where(central[:, None], Lm, L0[None, :])) / denom).T  # (K, M)
        return L0, J


def _is_ye(law: MixingLaw) -> bool:
    from .laws.ye import YeExponential

    return isinstance(law, YeExponential)


# ---------------------------------------------------------------------- objective
def _objective_weights(objective: Objective, targets: list[str]) -> tuple[str, np.ndarray | None]:
    """Name and linear weights s (K,) of the objective; s is None for 'max' and callables."""
    K = len(targets)
    if callable(objective):
        return "callable", None
    if isinstance(objective, str):
        if objective == "mean":
            return "mean", np.full(K, 1.0 / K)
        if objective == "total":
            return "total", np.ones(K)
        if objective == "max":
            return "max", None
        if objective in targets:
            s = np.zeros(K)
            s[targets.index(objective)] = 1.0
            return f"loss of {objective}", s
        raise InputError(f"unknown objective {objective!r}; expected 'mean', 'total', 'max', an eval set "
                         f"({targets}), a mapping {{eval: weight}} or a callable")
    if isinstance(objective, Mapping):
        unknown = sorted(set(map(str, objective)) - set(targets))
        if unknown:
            raise InputError(f"objective weights name unknown eval set(s) {unknown}; the law predicts {targets}")
        s = np.array([float(objective.get(t, 0.0)) for t in targets])
        if not np.all(np.isfinite(s)) or np.any(s < 0) or s.sum() <= 0:
            raise InputError(f"objective weights must be finite, >= 0 and not all 0; got {dict(objective)}")
        return "weights", s
    raise InputError(f"objective must be 'mean', 'total', 'max', a mapping or a callable; got {objective!r}")


def _make_scalar(name: str, s: np.ndarray | None, objective: Objective) -> Callable[[np.ndarray], float]:
    if s is not None:
        return lambda L: float(s @ L)
    if name == "max":
        return lambda L: float(np.max(L))
    fn = objective
    assert callable(fn)
    return lambda L: float(fn(L))


# ---------------------------------------------------------------------- feasible set
def project_box_simplex(y: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: float = 1.0) -> np.ndarray:
    """Euclidean projection of ``y`` onto :math:`\\{x: \\ell \\le x \\le u, \\sum x = s\\}`.

    The projection is :math:`x_j = \\mathrm{clip}(y_j - \\lambda, \\ell_j, u_j)` with the one multiplier
    :math:`\\lambda` found by bisection (the sum is monotone in it); bounds hold exactly by construction.

    Examples
    --------
    >>> x = project_box_simplex(np.array([0.8, 0.8, 0.1]), np.zeros(3), np.array([1.0, 0.3, 1.0]))
    >>> np.round(x, 12), float(x.sum())
    (array([0.7, 0.3, 0. ]), 1.0)
    """
    a = float(np.min(y - hi)) - 1.0
    b = float(np.max(y - lo)) + 1.0
    for _ in range(200):  # 200 halvings of an O(1) bracket reach double precision
        mid = 0.5 * (a + b)
        if np.clip(y - mid, lo, hi).sum() > total:
            a = mid
        else:
            b = mid
        if b - a < 1e-17:
            break
    x = np.clip(y - 0.5 * (a + b), lo, hi)
    # Weights within rounding of a bound sit on it exactly (so r_j = 0 reads 0, not 1e-16).
    x = np.where(x - lo < 1e-14, lo, np.where(hi - x < 1e-14, hi, x))
    # Put the last rounding error on the coordinate with the most room, so the sum is exact to ~1 ulp.
    resid = total - x.sum()
    room = np.where(resid > 0, hi - x, x - lo)
    inside = (x > lo) & (x < hi)
    j = int(np.argmax(np.where(inside, room, -1.0))) if inside.any() else int(np.argmax(room))
    if room[j] >= abs(resid):
        x[j] += resid
    return x


@dataclass
class _Problem:
    domains: list[str]
    lo: np.ndarray          # effective lower bounds (M,)
    hi: np.ndarray          # effective upper bounds (M,)
    kind_lo: list[str]
    kind_hi: list[str]
    fixed: np.ndarray       # bool (M,)
    fixed_values: np.ndarray


def _constraints(domains: list[str], bounds: Mapping[str, Sequence[float]] | None, fixed: Mapping[str, float] | None,
                 tokens_available: Mapping[str, float] | None, target_tokens: float | None,
                 max_epochs: float | None, w_range: tuple[np.ndarray, np.ndarray] | None = None) -> _Problem:
    M = len(domains)
    lo, hi = np.zeros(M), np.ones(M)
    kind_lo, kind_hi = ["zero"] * M, ["upper bound"] * M
    for name, arg in (("bounds", bounds), ("fixed", fixed), ("tokens_available", tokens_available)):
        unknown = sorted(set(map(str, arg or {})) - set(domains))
        if unknown:
            raise InputError(f"{name}: unknown domain(s) {unknown}; the law's domains are {domains}")
    for d, b in (bounds or {}).items():
        try:
            lo_d, hi_d = (float(v) for v in b)
        except (TypeError, ValueError):
            raise InputError(f"bounds for {d!r} must be a pair (lo, hi); got {b!r}") from None
        if not (0.0 <= lo_d <= hi_d <= 1.0):
            raise InputError(f"bounds for {d!r} must satisfy 0 <= lo <= hi <= 1; got ({lo_d:g}, {hi_d:g})")
        j = domains.index(d)
        lo[j], hi[j] = lo_d, hi_d
        kind_lo[j] = "lower bound" if lo_d > 0 else "zero"
    if w_range is not None:
        # Keep the optimum where the law was fitted: an exponential law extrapolated far outside the sampled
        # shares is not evidence (RegMix's 1M runs never give philpapers more than 5.5 %).
        wl, wh = (np.asarray(v, dtype=np.float64) for v in w_range)
        kind_lo = ["fitted range" if t else k for t, k in zip(wl > lo, kind_lo, strict=True)]
        kind_hi = ["fitted range" if t else k for t, k in zip(wh < hi, kind_hi, strict=True)]
        lo, hi = np.maximum(lo, wl), np.minimum(hi, wh)
        bad = lo > hi + FEAS_TOL
        if np.any(bad):
            j = int(np.flatnonzero(bad)[0])
            raise InputError(f"domain {domains[j]!r}: bounds do not overlap the fitted range "
                             f"[{wl[j]:.4g}, {wh[j]:.4g}]")
    if target_tokens is not None:
        if tokens_available is None:
            raise InputError("target_tokens needs tokens_available (tokens per domain) to cap each domain's share")
        from .design import max_shares

        epochs = DEFAULT_MAX_EPOCHS if max_epochs is None else float(max_epochs)
        cap = max_shares(domains, tokens_available, float(target_tokens), epochs)
        tighter = cap < hi
        hi = np.where(tighter, cap, hi)
        kind_hi = ["availability" if t else k for t, k in zip(tighter, kind_hi, strict=True)]
        bad = lo > hi + FEAS_TOL
        if np.any(bad):
            j = int(np.flatnonzero(bad)[0])
            raise InputError(f"domain {domains[j]!r}: lower bound {lo[j]:g} exceeds its availability cap {hi[j]:.4g} "
                             f"({epochs:g} epochs x {float(tokens_available[domains[j]]):.4g} tokens / "
                             f"{float(target_tokens):.4g} target tokens)")
    elif max_epochs is not None and tokens_available is None:
        raise InputError("max_epochs needs tokens_available and target_tokens")
    is_fixed = np.zeros(M, dtype=bool)
    fval = np.zeros(M)
    for d, v in (fixed or {}).items():
        j = domains.index(d)
        v = float(v)
        if not (lo[j] - FEAS_TOL <= v <= hi[j] + FEAS_TOL):
            raise InputError(f"fixed weight {v:g} of {d!r} lies outside its bounds [{lo[j]:g}, {hi[j]:.4g}]")
        is_fixed[j], fval[j] = True, v
        lo[j] = hi[j] = v
        kind_lo[j] = kind_hi[j] = "fixed"
    rem = 1.0 - fval[is_fixed].sum()
    if rem < -FEAS_TOL:
        raise InputError(f"fixed weights sum to {1 - rem:.6g} > 1")
    free = ~is_fixed
    if not free.any():
        if abs(rem) > FEAS_TOL:
            raise InputError(f"every domain is fixed but the weights sum to {1 - rem:.6g}, not 1")
    else:
        if lo[free].sum() > rem + FEAS_TOL:
            raise InputError(f"infeasible bounds: lower bounds sum to {lo[free].sum():.6g}, more than the "
                             f"{rem:.6g} left to share (lower some bounds)")
        if hi[free].sum() < rem - FEAS_TOL:
            what = "upper bounds and availability caps" if target_tokens is not None else "upper bounds"
            raise InputError(f"infeasible bounds: {what} sum to {hi[free].sum():.6g}, less than the {rem:.6g} "
                             f"to share (raise some bounds{', --max-epochs' if target_tokens is not None else ''})")
    return _Problem(domains, lo, hi, kind_lo, kind_hi, is_fixed, fval)


# ---------------------------------------------------------------------- main entry point
def optimize_mixture(law: MixingLaw, *, objective: Objective = "mean",
                     bounds: Mapping[str, Sequence[float]] | None = None, fixed: Mapping[str, float] | None = None,
                     tokens_available: Mapping[str, float] | None = None, target_tokens: float | None = None,
                     max_epochs: float | None = None, n_starts: int | None = None,
                     natural: Mapping[str, float] | Sequence[float] | None = None,
                     model_params: float | None = None, tokens: float | None = None,
                     within_fitted_range: bool = False,
                     random_state: int | np.random.Generator | None = 0) -> OptimumResult:
    """Find the mixture that minimises a fitted law's predicted objective under constraints.

    Parameters
    ----------
    law : MixingLaw
        A fitted law; its ``targets_`` are the eval sets the objective combines.
    objective : {"mean", "total", "max"}, str, mapping or callable, default="mean"
        ``"mean"``: (1/K) sum_i L_i; ``"total"``: sum_i L_i; ``"max"``: max_i L_i (solved in epigraph form:
        min z s.t. L_i(r) <= z); an eval name: that eval's loss; ``{eval: s_i}``: sum_i s_i L_i with s_i >= 0
        (Ye's total loss of a validation set with known composition s); a callable ``f(losses) -> float``
        taking the per-eval losses, ndarray of shape (K,), in ``law.targets_`` order.
    bounds : dict of str to (float, float), optional
        ``{domain: (lo, hi)}``, 0 <= lo <= hi <= 1; other domains get (0, 1).
    fixed : dict of str to float, optional
        ``{domain: weight}`` held constant.
    tokens_available : dict of str to float, optional
        Tokens available per domain. Gives the natural mixture (token shares) and, with ``target_tokens``,
        the availability caps ``r_j <= max_epochs * tokens_j / target_tokens``.
    target_tokens : float, optional
        Training tokens of the target run.
    max_epochs : float, optional
        Repetitions allowed per domain; default 4 (Muennighoff et al. 2023) when ``target_tokens`` is given.
    n_starts : int, optional
        Optimiser starts. Default: 1 when the objective is convex (see Notes), else 16. Starts are the
        natural mixture, then seeded Dirichlet(1) draws, each projected onto the feasible set.
    natural : mapping or sequence of float, optional
        The default mixture to report beside the optimum. Default: token shares of ``tokens_available`` if
        given, else uniform (the CLI passes the mean mixture of the fitting runs).
    model_params, tokens : float, optional
        Model size and training tokens to predict at, for laws that take them.
    within_fitted_range : bool, default=False
        Also bound each weight by the smallest and largest share it had in the fitting runs (reported as
        ``"fitted range"`` when active), so the optimum never rests on extrapolation.
    random_state : int or Generator, default=0
        Seeds the Dirichlet starts.

    Returns
    -------
    OptimumResult

    Raises
    ------
    InputError
        Unknown domain or eval, bounds outside [0, 1] or lo > hi, infeasible constraints (lower bounds
        summing over 1, upper bounds and availability caps summing under 1), fixed weights outside their bounds.
    NotFittedError
        When ``law`` is not fitted.

    Notes
    -----
    **Why the Ye optimum is global.** For Ye's law :math:`L_i(r) = c_i + k_i \\exp(t_i^\\top r)` with
    :math:`k_i > 0` (mixlaw fits :math:`\\log k_i`, so this always holds), each :math:`L_i` is a positive
    multiple of the exponential of an affine function of r plus a constant, hence convex. A non-negative
    combination of convex functions (``mean``, ``total``, ``{eval: s_i >= 0}``) is convex, and so is the
    pointwise maximum (``max``). The feasible set (a box intersected with the hyperplane sum r = 1) is
    convex. Every KKT point of a convex problem is a global minimum, so SLSQP from a single start suffices;
    mixlaw still adds starts if that one does not converge.

    **Other laws** are not convex in general (e.g. DZ's capacity competition), so the default is 16 starts
    and the best is kept. Gradients: analytic for the Ye law; otherwise finite differences through
    ``law.predict`` (central, forward at a zero weight; step 1e-6), one batched ``predict`` call per
    gradient. Callables are differentiated the same way.

    The returned weights are finally projected onto the feasible set (a change of at most the solver's
    tolerance, ~1e-10), so bounds, caps and fixed values hold exactly and the weights sum to 1 to rounding.

    References
    ----------
    Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952, §4.

    Examples
    --------
    >>> import numpy as np
    >>> from mixlaw.laws import YeExponential
    >>> rng = np.random.default_rng(0)
    >>> W = rng.dirichlet(np.ones(3), size=40)
    >>> Y = np.column_stack([2 + np.exp(W @ [0.0, -2.0, 1.0]), 2 + np.exp(W @ [0.0, 1.0, -2.0])])
    >>> law = YeExponential().fit(W, Y, domains=["web", "code", "math"], targets=["web", "code"])
    >>> opt = optimize_mixture(law, objective="mean", bounds={"web": (0.2, 1.0)})
    >>> round(sum(opt.weights.values()), 12), opt.weights["web"] >= 0.2
    (1.0, True)
    """
    check_is_fitted(law)
    domains = list(law.domains_)
    targets = list(law.targets_)
    name, s = _objective_weights(objective, targets)
    scalar = _make_scalar(name, s, objective)
    prob = _constraints(domains, bounds, fixed, tokens_available, target_tokens, max_epochs,
                        law._w_range if within_fitted_range else None)
    ev = _LawEval(law, model_params, tokens)
    convex = ev.analytic and (name in ("mean", "total", "max", "weights") or name.startswith("loss of"))
    rng = check_random_state(random_state)
    if n_starts is not None and (not isinstance(n_starts, (int, np.integer)) or n_starts < 1):
        raise InputError(f"n_starts must be a positive int; got {n_starts!r}")
    n0 = int(n_starts) if n_starts is not None else (1 if convex else DEFAULT_N_STARTS)

    nat, nat_src = _natural(natural, tokens_available, domains)
    free = ~prob.fixed
    F = np.flatnonzero(free)
    rem = 1.0 - prob.fixed_values[prob.fixed].sum()
    lo_f, hi_f = prob.lo[F], prob.hi[F]

    def full(x: np.ndarray) -> np.ndarray:
        r = prob.fixed_values.copy()
        r[F] = x
        return r

    def starts(n: int, offset: int) -> list[np.ndarray]:
        out = []
        for k in range(offset, offset + n):
            y = nat[F] if k == 0 else rng.dirichlet(np.ones(F.size)) * rem
            out.append(project_box_simplex(y.astype(np.float64), lo_f, hi_f, rem))
        return out

    if F.size == 0:
        xs, objs, n_conv = [np.zeros(0)], [scalar(ev.predict(full(np.zeros(0))[None, :])[0])], 1
    else:
        solve = _solver(ev, scalar, name, s, full, F, lo_f, hi_f, rem)
        xs, objs, n_conv = [], [], 0
        for x0 in starts(n0, 0):
            x, f, ok = solve(x0)
            xs.append(x)
            objs.append(f)
            n_conv += int(ok)
        if convex and n_conv == 0 and n_starts is None:
            # A convex problem needs one converged start; try more before giving up on global optimality.
            for x0 in starts(DEFAULT_N_STARTS - 1, 1):
                x, f, ok = solve(x0)
                xs.append(x)
                objs.append(f)
                n_conv += int(ok)
    best = int(np.nanargmin(np.where(np.isfinite(objs), objs, np.inf)))
    r = full(xs[best])
    L = ev.predict(r[None, :])[0]
    f_best = scalar(L)
    lo_w, hi_w = law._w_range
    if np.any(r < lo_w - 1e-9) or np.any(r > hi_w + 1e-9):
        j = int(np.flatnonzero((r < lo_w - 1e-9) | (r > hi_w + 1e-9))[0])
        warnings.warn(f"optimal mixture leaves the fitted range for domain {domains[j]!r} "
                      f"({r[j]:.4g} not in [{lo_w[j]:.3g}, {hi_w[j]:.3g}]): the prediction extrapolates",
                      ExtrapolationWarning, stacklevel=2)
    active = _active(prob, r)
    Ln = ev.predict(nat[None, :])[0]
    nat_ok = bool(np.all(nat >= prob.lo - ACTIVE_TOL) and np.all(nat <= prob.hi + ACTIVE_TOL))
    solver = "SLSQP (epigraph form)" if name == "max" else "SLSQP"
    grad = "analytic gradient" if ev.analytic and name != "callable" else "finite-difference gradient"
    why = "convex: the optimum is global" if convex else "not known to be convex: best of the starts"
    method = f"{solver}, {grad}; {len(xs)} start(s), {n_conv} converged; {why}"
    return OptimumResult(
        weights=dict(zip(domains, map(float, r), strict=True)), objective=f_best,
        losses=dict(zip(targets, map(float, L), strict=True)), objective_name=name, active=active,
        lower=dict(zip(domains, map(float, prob.lo), strict=True)),
        upper=dict(zip(domains, map(float, prob.hi), strict=True)),
        natural_weights=dict(zip(domains, map(float, nat), strict=True)), natural_objective=scalar(Ln),
        natural_losses=dict(zip(targets, map(float, Ln), strict=True)), natural_source=nat_src,
        natural_feasible=nat_ok, convex=bool(convex), method=method, n_starts=len(xs), n_converged=n_conv,
        start_objectives=[float(o) for o in objs], law=law.key)


def _solver(ev: _LawEval, scalar: Callable[[np.ndarray], float], name: str, s: np.ndarray | None,
            full: Callable[[np.ndarray], np.ndarray], F: np.ndarray, lo: np.ndarray, hi: np.ndarray,
            rem: float) -> Callable[[np.ndarray], tuple[np.ndarray, float, bool]]:
    """One SLSQP run from x0 over the free weights; returns (feasible x, objective, converged)."""
    n = F.size
    eq = {"type": "eq", "fun": lambda x: np.array([x[:n].sum() - rem]),
          "jac": lambda x: np.concatenate([np.ones(n), np.zeros(x.size - n)])[None, :]}
    opts = {"maxiter": 1000, "ftol": 1e-13}

    if name == "max":
        # Epigraph: min z s.t. z - L_i(r) >= 0; smooth, and convex whenever every L_i is.
        def cons(v: np.ndarray) -> np.ndarray:
            return v[n] - ev.predict(full(v[:n])[None, :])[0]

        def cons_jac(v: np.ndarray) -> np.ndarray:
            _, J = ev.value_jac(full(v[:n]))
            return np.hstack([-J[:, F], np.ones((J.shape[0], 1))])

        def run(x0: np.ndarray) -> tuple[np.ndarray, float, bool]:
            z0 = float(np.max(ev.predict(full(x0)[None, :])[0]))
            v0 = np.append(x0, z0)
            with np.errstate(over="ignore", invalid="ignore"):
                res = minimize(lambda v: v[n], v0, jac=lambda v: np.eye(1, n + 1, n)[0], method="SLSQP",
                               bounds=list(zip(lo, hi, strict=True)) + [(None, None)],
                               constraints=[eq, {"type": "ineq", "fun": cons, "jac": cons_jac}], options=opts)
            x = project_box_simplex(res.x[:n], lo, hi, rem)
            return x, scalar(ev.predict(full(x)[None, :])[0]), bool(res.success)

        return run

    if s is not None:
        def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
            L, J = ev.value_jac(full(x))
            return float(s @ L), (s @ J)[F]
    else:
        def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
            r = full(x)
            f0 = scalar(ev.predict(r[None, :])[0])
            g = np.empty(n)
            for k, j in enumerate(F):  # finite differences of a user callable, one coordinate at a time
                h = FD_STEP
                rp = r.copy()
                rp[j] += h
                if r[j] >= h:
                    rm = r.copy()
                    rm[j] -= h
                    g[k] = (scalar(ev.predict(rp[None, :])[0]) - scalar(ev.predict(rm[None, :])[0])) / (2 * h)
                else:
                    g[k] = (scalar(ev.predict(rp[None, :])[0]) - f0) / h
            return f0, g

    def safe(x: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(over="ignore", invalid="ignore"):
            f, g = fun(x)
        if not np.isfinite(f) or not np.all(np.isfinite(g)):
            return 1e30, np.zeros(n)
        return f, g

    def run(x0: np.ndarray) -> tuple[np.ndarray, float, bool]:
        res = minimize(safe, x0, jac=True, method="SLSQP", bounds=list(zip(lo, hi, strict=True)), constraints=[eq],
                       options=opts)
        x = project_box_simplex(np.asarray(res.x, dtype=np.float64), lo, hi, rem)
        f = safe(x)[0]
        return x, f, bool(res.success) and f < 1e29

    return run


def _natural(natural: Mapping[str, float] | Sequence[float] | None, tokens_available: Mapping[str, float] | None,
             domains: list[str]) -> tuple[np.ndarray, str]:
    M = len(domains)
    if natural is not None:
        if isinstance(natural, Mapping):
            unknown = sorted(set(map(str, natural)) - set(domains))
            if unknown:
                raise InputError(f"natural mixture: unknown domain(s) {unknown}; the law's domains are {domains}")
            v = np.array([float(natural.get(d, 0.0)) for d in domains])
        else:
            v = np.asarray(natural, dtype=np.float64).ravel()
            if v.size != M:
                raise InputError(f"natural mixture: {v.size} weights for {M} domains")
        if not np.all(np.isfinite(v)) or np.any(v < 0) or abs(v.sum() - 1) > 0.01:
            raise InputError(f"natural mixture must be >= 0 and sum to 1 (± 0.01); got sum {v.sum():.6g}")
        return v / v.sum(), "given"
    if tokens_available is not None:
        missing = [d for d in domains if d not in tokens_available]
        if missing:
            raise InputError(f"tokens_available: no value for domain(s) {missing}")
        t = np.array([float(tokens_available[d]) for d in domains])
        if not np.all(np.isfinite(t)) or np.any(t <= 0):
            raise InputError("tokens_available must be finite and > 0 for every domain")
        return t / t.sum(), "token shares"
    return np.full(M, 1.0 / M), "uniform"


def _active(prob: _Problem, r: np.ndarray) -> list[ActiveConstraint]:
    out = []
    for j, d in enumerate(prob.domains):
        if prob.fixed[j]:
            out.append(ActiveConstraint(d, "fixed", float(r[j])))
        elif r[j] - prob.lo[j] <= ACTIVE_TOL:
            out.append(ActiveConstraint(d, prob.kind_lo[j], float(prob.lo[j])))
        elif prob.hi[j] - r[j] <= ACTIVE_TOL and prob.hi[j] < 1.0:
            out.append(ActiveConstraint(d, prob.kind_hi[j], float(prob.hi[j])))
    return out


# ---------------------------------------------------------------------- from a run table (CLI)
def check_enough_runs(law: MixingLaw) -> None:
    """Raise :class:`InputError` when a fitted law has no more runs than parameters per fitted problem."""
    for name, res in (getattr(law, "results_", {}) or {}).items():
        if res.n_obs <= res.n_vary:
            raise InputError(f"{res.n_obs} runs are too few for law {law.key!r}, which fits {res.n_vary} parameters "
                             f"for {name!r}: need at least {res.n_vary + 1} runs")


def optimize_runs(table: Any, *, law: str | MixingLaw = "ye-exp", targets: str | Sequence[str] = "all",
                  objective: Objective = "mean", n_boot: int = 0, n_jobs: int | None = None,
                  step_law: Any = None, target_steps: float | None = None,
                  random_state: int = 0, **constraints: Any) -> OptimumResult:
    """Fit ``law`` to a run table and return its optimal mixture (what ``mixlaw optimize`` runs).

    Parameters
    ----------
    table : RunTable
    law : str or MixingLaw, default="ye-exp"
    targets : str or list of str, default="all"
        Eval sets the law is fitted on and the objective combines.
    objective : see :func:`optimize_mixture`
    n_boot : int, default=0
        Bootstrap refits over runs for intervals on the weights and the predicted losses (0: none).
    n_jobs : int, optional
        Bootstrap worker processes.
    step_law, target_steps : optional
        The default mixture's step law ``(E, B, beta)`` and the target steps: adds Ye's steps-to-match
        figures for the objective (the law's predictions must then be at ``target_steps``).
    random_state : int, default=0
    **constraints
        ``bounds``, ``fixed``, ``tokens_available``, ``target_tokens``, ``max_epochs``, ``within_fitted_range``,
        ``n_starts``, ``natural`` as in :func:`optimize_mixture`. The natural mixture defaults to the token
        shares, else the mean mixture of the runs.

    Returns
    -------
    OptimumResult
    """
    from .laws.base import get_law

    est = get_law(law, random_state=random_state) if isinstance(law, str) else law
    names = table.resolve_targets(targets)
    opt_kw = dict(constraints)
    opt_kw["objective"] = objective
    opt_kw["random_state"] = random_state
    if opt_kw.get("natural") is None and opt_kw.get("tokens_available") is None:
        opt_kw["natural"] = table.weights.mean(axis=0)
    if (step_law is None) != (target_steps is None):
        raise InputError("steps-to-match needs both the default mixture's step law and the target steps")
    fitted = est.clone().fit(table, targets=names)
    check_enough_runs(fitted)  # before spending n_boot refits
    if n_boot:
        from .bootstrap import bootstrap_law

        result = bootstrap_law(est, table, names, n=n_boot, random_state=random_state, n_jobs=n_jobs,
                               optimize=opt_kw).optimum
    else:
        result = optimize_mixture(fitted, **opt_kw)
    if step_law is not None:
        result.steps = steps_to_match(step_law, result.objective, float(target_steps))  # type: ignore[arg-type]
    return result


# ---------------------------------------------------------------------- steps to match (Ye)
@dataclass
class StepsToMatch:
    """Ye's two figures for an optimised mixture against the default one.

    Attributes
    ----------
    target_steps : float
        Steps of the target run, S_T.
    default_loss : float
        The default mixture's final loss L_def(S_T).
    optimum_loss : float
        The optimised mixture's predicted loss at S_T.
    steps_fraction : float
        S_match / S_T: the fraction of the steps at which the optimised run reaches ``default_loss``
        (Ye: 0.73). ``nan`` if it never does within the model.
    equivalent_steps : float
        S_eq: the steps the default mixture needs to reach ``optimum_loss`` (``inf`` if never: the
        optimum is below the default's asymptote E).
    extra_training : float
        S_eq / S_T - 1 (Ye: +0.48).
    assumption : str
        How the optimised run's curve was obtained (given, or same E and beta as the default).
    """

    target_steps: float
    default_loss: float
    optimum_loss: float
    steps_fraction: float
    equivalent_steps: float
    extra_training: float
    assumption: str

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("target_steps", "default_loss", "optimum_loss", "steps_fraction",
                                              "equivalent_steps", "extra_training", "assumption")}

    def __str__(self) -> str:
        return (f"    default final loss {self.default_loss:.5g} at S={self.target_steps:.4g}; optimum "
                f"{self.optimum_loss:.5g}\n"
                f"    optimum reaches the default's final loss at {self.steps_fraction:.1%} of the steps\n"
                f"    optimum is worth {self.extra_training:+.1%} training of the default "
                f"(S_eq = {self.equivalent_steps:.4g})\n    ({self.assumption})")


def _step_params(law: Any, what: str) -> tuple[float, float, float]:
    """(E, B, beta) from a step law object (attributes or fitted ``params_``), a mapping or a triple."""
    if isinstance(law, Mapping):
        vals = (law.get("E"), law.get("B"), law.get("beta"))
    elif isinstance(law, (tuple, list)) and len(law) == 3:
        vals = tuple(law)
    else:
        vals = tuple(getattr(law, k, None) for k in ("E", "B", "beta"))
        if any(v is None for v in vals) and hasattr(law, "params_"):
            p = law.params_
            vals = tuple(p[k].value if k in p else None for k in ("E", "B", "beta"))
        if any(v is None for v in vals) and hasattr(law, "E_"):
            vals = (law.E_, law.B_, law.beta_)
    try:
        E, B, beta = (float(v) for v in vals)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{what}: expected a step law L(S) = E + B / S^beta with E, B, beta; got {law!r}") from None
    if not (np.isfinite(E) and B > 0 and beta > 0):
        raise InputError(f"{what}: need finite E, B > 0 and beta > 0; got E={E:g}, B={B:g}, beta={beta:g}")
    return E, B, beta


def steps_to_match(default_step_law: Any, optimum_loss: float, target_steps: float,
                   optimum_step_law: Any = None) -> StepsToMatch:
    """Ye's steps-to-match figures of an optimised mixture against the default.

    With the default mixture's step law :math:`L_{def}(S) = E + B / S^{\\beta}` and target steps
    :math:`S_T`:

    .. math::

        S_{eq} = \\Big(\\frac{B}{L_{opt} - E}\\Big)^{1/\\beta}, \\qquad
        \\text{extra} = S_{eq} / S_T - 1

    is the training of the default that the optimum is worth (Ye: +48 %), and the optimised run's step law
    :math:`L_{opt}(S) = E' + B' / S^{\\beta'}` reaches the default's final loss at

    .. math:: S_{match} = \\Big(\\frac{B'}{L_{def}(S_T) - E'}\\Big)^{1/\\beta'}

    reported as the fraction :math:`S_{match} / S_T` (Ye: 73 %).

    Parameters
    ----------
    default_step_law : object, mapping or (E, B, beta)
        Step law of the default mixture: an object with attributes ``E``, ``B``, ``beta`` (e.g.
        :class:`mixlaw.scaling.StepLaw`), or fitted ``params_`` with those names, a mapping or a triple.
    optimum_loss : float
        The optimised mixture's (predicted) loss at ``target_steps``.
    target_steps : float
        Steps of the target run, > 0.
    optimum_step_law : same types, optional
        The optimised run's own step law (from its checkpoints). Without it, the optimised curve is assumed
        to share the default's asymptote E and exponent beta, with B' set so that it passes through
        ``optimum_loss`` at S_T: then :math:`S_{match}/S_T = 1 / (1 + \\text{extra})` exactly. Ye measured the
        optimised run's curve (73 % vs 1/1.48 = 68 %), so pass it when you have it.

    Returns
    -------
    StepsToMatch

    Raises
    ------
    InputError
        A step law without E, B > 0, beta > 0, or target_steps <= 0.

    References
    ----------
    Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952, §4 (73 % of the steps, +48 %).

    Examples
    --------
    >>> r = steps_to_match((2.0, 10.0, 0.5), optimum_loss=2.0 + 10.0 / 20.0, target_steps=100.0)
    >>> round(r.extra_training, 6), round(r.steps_fraction, 6)
    (3.0, 0.25)
    """
    E, B, beta = _step_params(default_step_law, "default_step_law")
    S_T = float(target_steps)
    if not (np.isfinite(S_T) and S_T > 0):
        raise InputError(f"target_steps must be > 0; got {target_steps!r}")
    L_opt = float(optimum_loss)
    L_def = E + B / S_T ** beta
    S_eq = (B / (L_opt - E)) ** (1.0 / beta) if L_opt > E else math.inf
    if optimum_step_law is None:
        E2, beta2 = E, beta
        B2 = (L_opt - E) * S_T ** beta
        assumption = "optimised curve assumed to share the default's E and beta"
        if B2 <= 0:
            frac = math.nan
        else:
            frac = (B2 / (L_def - E2)) ** (1.0 / beta2) / S_T
    else:
        E2, B2, beta2 = _step_params(optimum_step_law, "optimum_step_law")
        assumption = "optimised curve from its own step law"
        frac = (B2 / (L_def - E2)) ** (1.0 / beta2) / S_T if L_def > E2 else math.nan
    return StepsToMatch(target_steps=S_T, default_loss=L_def, optimum_loss=L_opt, steps_fraction=float(frac),
                        equivalent_steps=float(S_eq), extra_training=float(S_eq / S_T - 1.0), assumption=assumption)


__all__ = ["optimize_mixture", "optimize_runs", "check_enough_runs", "OptimumResult", "ActiveConstraint",
           "project_box_simplex", "steps_to_match", "StepsToMatch"]
