"""From small proxy runs to target-scale losses: Ye's nested pipeline and a direct joint fit (DESIGN.md §6).

**Nested route** (Ye et al. 2025, §4). Rows with identical mixture weights form one *mixture*; rows of one
mixture at one model size form a training curve.

1. For each mixture, size and eval set, fit the step law :math:`L(S) = E + B/S^{\\beta}` over the curve's
   checkpoints and extrapolate to the target steps :math:`S^*`.
2. For each mixture and eval set, fit the size law :math:`L(N) = E + A/N^{\\alpha}` over the sizes'
   step-extrapolated losses and extrapolate to the target size :math:`N^*`.
3. Fit the mixing law (a registered key, default Ye's exponential law) on the predicted losses at
   :math:`(N^*, S^*)`; that law is what :func:`mixlaw.optimize.optimize_mixture` optimises.

**Direct route** (Dai & Zheng: a law that takes N as an input predicts the target size directly). When the
requested law takes model sizes (``uses_model_params``, e.g. ``dz-eq1``), it is fitted on every curve's final
checkpoint and predicts at :math:`N^*` (such laws have no step input, so the final checkpoints should be at
:math:`S^*`; a warning says when they are not). Otherwise mixlaw fits, per eval set, on *all* checkpoints of
all small runs the joint law

.. math::

    L_i(r, N, S) = E_i + \\frac{A_i}{N^{\\alpha_i}} + \\frac{B_i}{S^{\\beta_i}} + k_i e^{\\sum_j t_{ij} r_j}

(a Chinchilla-style scale part plus Ye's mixture term; the form of the synthetic world in the tests). At
fixed :math:`(N^*, S^*)` it *is* Ye's law with :math:`c_i = E_i + A_i/N^{*\\alpha_i} + B_i/S^{*\\beta_i}`,
which is returned as the mixing law. This is mixlaw's own choice, documented here: it assumes the mixture
effect does not change with scale, which Ye's nested route does not assume.

References
----------
Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952, §4 (nested scaling laws).
Dai & Zheng, "Explaining Data Mixing Scaling Laws", Eq. (1) (model size as an input).
Hoffmann et al. 2022, arXiv:2203.15556 (Huber fitting of the scale terms).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._validation import check_random_state
from .data import RunTable
from .errors import DataWarning, ExtrapolationWarning, InputError, MixlawWarning
from .fit import FitResult, Param, Params, fit_model
from .laws.base import MixingLaw, get_law, law_from_dict
from .laws.ye import T_BOUND
from .optimize import (
    Objective,
    OptimumResult,
    StepsToMatch,
    _make_scalar,
    _objective_weights,
    check_enough_runs,
    optimize_mixture,
)
from .scaling import ChinchillaLaw, SizeLaw, StepLaw, fit_shared_exponent

ROUTES = ("nested", "direct")
#: Mixtures are identified by their weights rounded to this many decimals (CSV round trips lose the last bits).
_WEIGHT_DECIMALS = 9


# ---------------------------------------------------------------------- result types
@dataclass
class StageQuality:
    """Fit quality of one pipeline stage: relative in-sample residuals |pred / y - 1| over all its fits.

    ``fits`` keeps every fit's own line (``label``: which curve / mixture / eval, ``n_points``,
    ``max_rel_residual``), so a bad number can be traced to the curve behind it; :meth:`worst` lists the
    worst-fitting ones.
    """

    name: str
    description: str
    n_fits: int
    n_points: int
    median_rel_residual: float
    max_rel_residual: float
    n_warnings: int
    seconds: float
    fits: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_residuals(cls, name: str, description: str, residuals: list[np.ndarray], n_warnings: int,
                       seconds: float, labels: list[str] | None = None) -> StageQuality:
        r = np.abs(np.concatenate([np.ravel(x) for x in residuals])) if residuals else np.array([np.nan])
        labels = labels if labels is not None else [f"fit {i}" for i in range(len(residuals))]
        assert len(labels) == len(residuals)
        fits = [{"label": lab, "n_points": int(np.size(x)),
                 "max_rel_residual": float(np.max(np.abs(x))) if np.size(x) else float("nan")}
                for lab, x in zip(labels, residuals, strict=True)]
        return cls(name, description, len(residuals), int(r.size), float(np.median(r)), float(np.max(r)),
                   n_warnings, seconds, fits)

    def worst(self, n: int = 3) -> list[dict[str, Any]]:
        """The ``n`` fits with the largest relative residual, worst first."""
        return sorted(self.fits, key=lambda f: -np.nan_to_num(f["max_rel_residual"], nan=np.inf))[:n]

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class PipelineResult:
    """Target-scale predictions of :func:`fit_pipeline`.

    Attributes
    ----------
    route : {"nested", "direct"}
    law : str
        Key of the mixing law (``"joint+ye-exp"`` for the direct route's joint law).
    target_params : float
    target_steps, target_tokens : float or None
        The target along the time axis: steps S*, or tokens D* when fitted with ``target_tokens``
        (each is filled in from the other when the table has a constant number of tokens per step).
    time_axis : {"step", "tokens"}
        The column the step law was fitted over.
    domains, targets : list of str
    mixtures : ndarray of shape (n_mixtures, n_domains)
        The distinct training mixtures.
    mixture_runs : list of str
        A run name of each mixture (its first row), for display.
    target_losses : ndarray of shape (n_mixtures, n_targets)
        Predicted losses at the target scale: stage 2's output (nested) or the direct law's prediction.
    stages : dict of str to StageQuality
        Fit quality of each stage, in order.
    mixing_law : MixingLaw
        Fitted law of the mixture at the target scale; pass it to :func:`mixlaw.optimize.optimize_mixture`
        (with ``model_params=target_params`` when ``predict_kwargs`` says so).
    predict_kwargs : dict
        Extra arguments :meth:`predict` passes to ``mixing_law.predict``.
    warnings : list of str
    law_at_time : callable, optional
        ``law_at_time(T) -> (mixing_law, predict_kwargs)``: the mixing law at (N*, T) for another step (or
        token) count T, from the same fitted stages; behind :meth:`predict`'s ``at`` and
        :func:`pipeline_steps_to_match`.
    """

    route: str
    law: str
    target_params: float
    target_steps: float | None
    domains: list[str]
    targets: list[str]
    mixtures: np.ndarray
    mixture_runs: list[str]
    target_losses: np.ndarray
    stages: dict[str, StageQuality]
    mixing_law: MixingLaw
    predict_kwargs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    target_tokens: float | None = None
    time_axis: str = "step"
    law_at_time: Callable[[float], tuple[MixingLaw, dict[str, Any]]] | None = field(default=None, repr=False)

    def predict(self, weights: Any, at: float | None = None) -> np.ndarray:
        """Predicted losses of mixtures at the target scale, shape (n, n_targets) (one row for a 1-D mixture).

        ``at``: predict at model size N* but another step (or token, per ``time_axis``) count instead of the
        target's; the stages are redone there from the same fits (nested: one size-law and one mixing-law fit).
        """
        W = np.asarray(weights, dtype=np.float64)
        law, kw = self.mixing_law, self.predict_kwargs
        if at is not None:
            if self.law_at_time is None:
                raise InputError(f"this {self.route} pipeline result cannot predict at another step count")
            if not (np.isfinite(at) and at > 0):
                raise InputError(f"at must be a positive step (or token) count; got {at!r}")
            law, kw = self.law_at_time(float(at))
        with warnings.catch_warnings():
            # N* (and D*) lie beyond the fitted runs by design; leaving the mixtures' range still warns.
            warnings.filterwarnings("ignore", r".*: (model_params|tokens) outside the fitted range",
                                    ExtrapolationWarning)
            out = law.predict(W if W.ndim == 2 else W[None, :], **kw)
        return np.asarray(out).reshape(-1, len(self.targets))

    def frame(self) -> pd.DataFrame:
        """Mixtures (``w:`` columns) and their predicted target-scale losses (``loss:`` columns)."""
        df = pd.DataFrame(self.mixtures, columns=[f"w:{d}" for d in self.domains])
        df.insert(0, "run", self.mixture_runs)
        for k, t in enumerate(self.targets):
            df[f"loss:{t}"] = self.target_losses[:, k]
        return df

    def to_dict(self) -> dict[str, Any]:
        return {"route": self.route, "law": self.law, "target_params": self.target_params,
                "target_steps": self.target_steps, "target_tokens": self.target_tokens, "time_axis": self.time_axis,
                "domains": self.domains, "targets": self.targets,
                "stages": {k: v.to_dict() for k, v in self.stages.items()},
                "mixtures": [{"run": r, "weights": dict(zip(self.domains, map(float, w), strict=True)),
                              "predicted": dict(zip(self.targets, map(float, y), strict=True))}
                             for r, w, y in zip(self.mixture_runs, self.mixtures, self.target_losses, strict=True)],
                "mixing_law": self.mixing_law.to_dict(), "warnings": list(self.warnings)}

    def __str__(self) -> str:
        at = [f"S* = {self.target_steps:.4g} steps"] if self.target_steps is not None else []
        at += [f"D* = {self.target_tokens:.4g} tokens"] if self.target_tokens is not None else []
        lines = [f"{self.route} pipeline -> N* = {self.target_params:.4g} params, {', '.join(at)} "
                 f"(mixing law {self.law})", "",
                 f"{'stage':<10} {'fits':>6} {'points':>7} {'median |rel res|':>17} {'max |rel res|':>14} "
                 f"{'warnings':>8} {'time':>7}"]
        for s in self.stages.values():
            lines.append(f"{s.name:<10} {s.n_fits:>6} {s.n_points:>7} {s.median_rel_residual:>17.3%} "
                         f"{s.max_rel_residual:>14.3%} {s.n_warnings:>8} {s.seconds:>6.2f}s")
        for s in self.stages.values():
            lines.append(f"  {s.name}: {s.description}")
            if s.n_fits > 1:
                lines.append("    worst: " + "; ".join(f"{f['label']} {f['max_rel_residual']:.2%}"
                                                      for f in s.worst(3)))
        lines += ["", "predicted target-scale losses:"]
        lines.append(self.frame().to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        if self.warnings:
            lines += ["", "warnings:"] + [f"  {w}" for w in self.warnings]
        return "\n".join(lines)


# ---------------------------------------------------------------------- entry point
def fit_pipeline(table: RunTable, *, target_params: float, target_steps: float | None = None,
                 target_tokens: float | None = None, route: str = "nested", law: str = "ye-exp", targets: Any = "all",
                 random_state: int | np.random.Generator | None = 0, law_options: dict[str, Any] | None = None,
                 shared_exponents: bool | str = "auto", fit_from: float = 0.0) -> PipelineResult:
    """Predict target-scale losses of every mixture in ``table`` and fit a mixing law on them.

    Parameters
    ----------
    table : RunTable
        Small runs at several model sizes (``params`` column) with several checkpoints each (``step``
        column); one row per (run, checkpoint).
    target_params : float
        Model size N* of the target run (same units as the ``params`` column), >= the largest size.
    target_steps : float, optional
        Training steps S* of the target run, >= the largest step in the table.
    target_tokens : float, optional
        Instead of ``target_steps``: training tokens D* of the target run (>= the largest in the table); the
        step law is then fitted over the ``tokens`` column, :math:`L(D) = E + B/D^{\beta}`. Give exactly one.
    route : {"nested", "direct"}, default="nested"
        Ye's nested step -> size -> mixture pipeline, or one law with N (and S) as inputs (module docstring).
    law : str, default="ye-exp"
        Registered mixing law. Nested route: fitted on the predicted target-scale losses. Direct route: used
        as is when it takes model sizes (``dz-eq1``), else the joint law with Ye's mixture term.
    targets : "all", str or list of str
        Eval sets to predict.
    random_state : int or Generator, default=0
    law_options : dict, optional
        Constructor options of the mixing law.
    shared_exponents : "auto", True or False, default="auto"
        Nested route. ``True``: one step exponent beta per (size, eval) shared by all mixtures' curves, and one
        size exponent alpha per eval shared by all mixtures (each curve keeps its own E and B / E and A):
        robust with few or noisy checkpoints. ``False``: every curve and mixture gets its own exponent (Ye),
        which needs >= 4 checkpoints per curve and >= 4 sizes. ``"auto"``: own exponents where the points allow
        it, shared where they do not.
    fit_from : float in [0, 1), default=0.0
        Drop each curve's (mixture at one size) checkpoints before this fraction of its last step (or token
        count) before fitting.
        The first part of a loss curve (warm-up, the fast initial drop) is not on the power law
        :math:`E + B/S^{\beta}` that the rest follows, yet it holds most of the curvature, so it decides the
        fitted exponent. Measured on mixlaw's own tiny proxy runs (``python bench/pipeline_crossscale.py
        [--fit-from 0.4]``: a third of the steps, extrapolated 3x in steps and 2.3x in size): nested route
        6.6 % -> 5.5 %, direct route 2.4 % -> 1.8 %. 0 keeps everything (Ye et al. fit the whole curve).

    Returns
    -------
    PipelineResult

    Raises
    ------
    InputError
        Missing ``step``/``params`` columns, a target smaller than the data, too few sizes (< 3) or
        checkpoints for the step and size laws' 3 parameters, or too few mixtures for the mixing law.

    Notes
    -----
    The engine needs more observations than parameters, so a curve gets its own step law only with >= 4
    checkpoints and a mixture its own size law only with >= 4 sizes. Curves with 2-3 checkpoints share the
    exponent beta per (size, eval) across mixtures; mixtures at exactly 3 sizes share alpha per eval
    (:func:`mixlaw.scaling.fit_shared_exponent`). Stage descriptions say which was used.
    """
    if route not in ROUTES:
        raise InputError(f"route must be one of {ROUTES}; got {route!r}")
    if not isinstance(table, RunTable):
        raise InputError(f"fit_pipeline needs a RunTable; got {type(table).__name__}")
    where = table.path or "run table"
    for col in ("params", "step"):
        if col not in table.frame.columns:
            raise InputError(f"{where}: the pipeline needs a {col!r} column (model size and checkpoint step of each "
                             "row)")
    if shared_exponents not in ("auto", True, False):
        raise InputError(f"shared_exponents must be 'auto', True or False; got {shared_exponents!r}")
    fit_from = _check_fit_from(fit_from)
    if (target_steps is None) == (target_tokens is None):
        raise InputError("give exactly one of target_steps and target_tokens (the target run's length)")
    axis = "step" if target_tokens is None else "tokens"
    if axis == "tokens" and "tokens" not in table.frame.columns:
        raise InputError(f"{where}: target_tokens needs a 'tokens' column (tokens seen at each checkpoint)")
    N_all = table.model_params
    T_all = table.steps if axis == "step" else table.tokens
    assert N_all is not None and T_all is not None
    raw = target_steps if axis == "step" else target_tokens
    try:
        Nt, Tt = float(target_params), float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"target_params and target_{axis.rstrip('s')}s must be numbers; got {target_params!r}, "
                         f"{raw!r}") from None
    if not (np.isfinite(Nt) and Nt >= N_all.max()):
        raise InputError(f"target_params={Nt:g} is smaller than the largest model in the data "
                         f"({N_all.max():g}); the pipeline extrapolates upwards only")
    if not (np.isfinite(Tt) and Tt >= T_all.max()):
        raise InputError(f"target_{axis.rstrip('s')}s={Tt:g} is smaller than the largest {axis.rstrip('s')} in the "
                         f"data ({T_all.max():g}); the pipeline extrapolates upwards only")
    names = table.resolve_targets(targets)
    msgs: list[str] = []
    keep = T_all > 0
    if not keep.all():
        msgs.append(f"{int((~keep).sum())} row(s) at {axis} <= 0 ignored (the step law needs S > 0)")
        table = table.subset(keep)
    if fit_from > 0:
        T = table.steps if axis == "step" else table.tokens
        assert T is not None
        # A curve is one mixture at one size (a run id may span sizes when the table is keyed that way).
        _, mix = _mixture_ids(table.weights)
        last = pd.Series(T).groupby([mix, table.model_params]).transform("max").to_numpy()
        late = T >= fit_from * last - 1e-9
        msgs.append(f"fit_from={fit_from:g}: {int((~late).sum())} early checkpoint(s) of {len(late)} left out")
        table = table.subset(late)
    rng = check_random_state(random_state)
    at = _Target(Nt, Tt, axis, _tokens_per_step(table))
    if route == "nested":
        out = _nested(table, at, law, names, rng, dict(law_options or {}), msgs, shared_exponents)
    else:
        out = _direct(table, at, law, names, rng, dict(law_options or {}), msgs)
    out.target_steps, out.target_tokens, out.time_axis = at.steps, at.tokens, axis
    return out


# ---------------------------------------------------------------------- decisions at the target scale
def optimize_pipeline(result: PipelineResult, *, objective: Objective = "mean",
                      natural: Any = None, steps_to_match: bool = True, span: float = 8.0,
                      random_state: int | np.random.Generator | None = 0, **constraints: Any) -> OptimumResult:
    """The optimal mixture of the pipeline's target-scale mixing law, with Ye's steps-to-match figures.

    Parameters
    ----------
    result : PipelineResult
    objective : see :func:`mixlaw.optimize.optimize_mixture`
    natural : mapping or sequence of float, optional
        The default mixture to compare with (and to match steps against). Default: the mean of the pipeline's
        mixtures.
    steps_to_match : bool, default=True
        Add :func:`pipeline_steps_to_match` figures (needs a result that predicts at other step counts).
    span : float, default=8.0
        Step grid of the steps-to-match curves: S*/span .. S* span.
    random_state : int or Generator, default=0
    **constraints
        ``bounds``, ``fixed``, ``tokens_available``, ``target_tokens``, ``max_epochs``, ``within_fitted_range``,
        ``n_starts`` of :func:`~mixlaw.optimize.optimize_mixture`.

    Returns
    -------
    OptimumResult
        With ``steps`` filled in when asked and possible.
    """
    if natural is None and constraints.get("tokens_available") is None:
        natural = result.mixtures.mean(axis=0)
    kw = {"model_params": result.target_params} if "model_params" in result.predict_kwargs else {}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r".*: (model_params|tokens) outside the fitted range", ExtrapolationWarning)
        opt = optimize_mixture(result.mixing_law, objective=objective, natural=natural, random_state=random_state,
                               **kw, **constraints)
    if steps_to_match and result.law_at_time is not None and result.target_steps is not None:
        default = np.array([opt.natural_weights[d] for d in result.domains])
        opt.steps = pipeline_steps_to_match(result, opt.weight_array(), default, objective=objective, span=span)
    return opt


@dataclass
class Backtest:
    """How well the pipeline extrapolated *within* the data: an empirical error bar for the real extrapolation.

    Attributes
    ----------
    kind : {"steps", "size"}
        ``steps``: every curve cut at its last step / ``ratio``, extrapolated back to its last step at the
        largest size. ``size``: the largest size held out, predicted from the smaller ones at its last step.
    description : str
    ratio : float
        Extrapolation factor tested (steps or model size).
    mre : float
        Mean of |predicted / measured - 1| over the held-out (mixture, eval) entries.
    max_rel_error : float
    mean_signed : float
        Mean of predicted / measured - 1 (> 0: the pipeline predicts too high).
    n : int
        Held-out entries.
    """

    kind: str
    description: str
    ratio: float
    mre: float
    max_rel_error: float
    mean_signed: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))

    def __str__(self) -> str:
        return (f"    {self.kind:<6} {self.ratio:>6.3g}x  MRE {self.mre:>7.2%}  max {self.max_rel_error:>7.2%}  "
                f"signed {self.mean_signed:>+7.2%}  ({self.n} entries: {self.description})")


def backtest_pipeline(table: RunTable, *, route: str = "nested", law: str = "ye-exp", targets: Any = "all",
                      step_ratio: float = 3.0, random_state: int | np.random.Generator | None = 0,
                      shared_exponents: bool | str = "auto", law_options: dict[str, Any] | None = None,
                      fit_from: float = 0.0) -> list[Backtest]:
    """Backtests of the pipeline inside the data, to read next to a real extrapolation.

    * **steps**: keep each run's checkpoints up to its last step / ``step_ratio``, fit the pipeline, predict
      the largest size's last step, and compare with the measured final losses (tests the step stage over
      the same factor);
    * **size** (with >= 4 model sizes): drop the largest size, fit on the others' whole curves, predict the
      largest size at its last step (tests the size stage; the factor is the ratio of the two largest sizes).

    The numbers bound what to expect, they do not guarantee it: a real extrapolation usually reaches further
    than the data allows to test. Runs whose last step differs from the longest run's are compared at their own
    last step only when the route can predict there.

    Parameters
    ----------
    table : RunTable
        The pipeline's runs (``params`` and ``step`` columns).
    route, law, targets, random_state, shared_exponents, law_options, fit_from
        As in :func:`fit_pipeline` (``fit_from`` applies to the cut curves).
    step_ratio : float, default=3.0
        Extrapolation factor of the steps backtest (> 1).

    Returns
    -------
    list of Backtest
        The backtests that the data allow (none with a single checkpoint per curve and 3 sizes).
    """
    if not step_ratio > 1:
        raise InputError(f"step_ratio must be > 1; got {step_ratio!r}")
    fit_from = _check_fit_from(fit_from)
    for col in ("params", "step"):
        if col not in table.frame.columns:
            raise InputError(f"{table.path or 'run table'}: the backtest needs a {col!r} column")
    N, S = table.model_params, table.steps
    assert N is not None and S is not None
    names = table.resolve_targets(targets)
    Y = table.losses(names)
    runs = table.runs
    last = {r: S[runs == r].max() for r in np.unique(runs)}
    run_last = np.array([last[r] for r in runs])
    sizes = np.unique(N)
    S_end = float(S.max())
    kw = dict(route=route, law=law, targets=names, random_state=random_state, shared_exponents=shared_exponents,
              law_options=law_options, fit_from=fit_from)
    out: list[Backtest] = []

    def score(kind: str, desc: str, ratio: float, fit_rows: np.ndarray, N_t: float) -> None:
        truth = np.flatnonzero((N == N_t) & (S == run_last) & (run_last == S_end))
        if truth.size == 0 or not fit_rows.any():
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MixlawWarning)
            try:
                res = fit_pipeline(table.subset(fit_rows), target_params=N_t, target_steps=S_end, **kw)
            except InputError:
                return  # too little data for this backtest
            own = dict(zip(map(tuple, np.round(res.mixtures, _WEIGHT_DECIMALS)), res.target_losses, strict=True))
            W_t = table.weights[truth]
            by_law = res.predict(W_t)
        pred = np.array([own.get(tuple(np.round(w, _WEIGHT_DECIMALS)), by_law[i]) for i, w in enumerate(W_t)])
        rel = pred / Y[truth] - 1.0
        out.append(Backtest(kind, desc, ratio, float(np.mean(np.abs(rel))), float(np.max(np.abs(rel))),
                            float(np.mean(rel)), int(rel.size)))

    score("steps", f"curves cut at their last step / {step_ratio:g}, largest size N = {sizes[-1]:g} predicted at "
          f"step {S_end:g}", step_ratio, S <= run_last / step_ratio + 1e-9, float(sizes[-1]))
    if sizes.size >= 4:
        score("size", f"N = {sizes[-1]:g} held out, predicted from {sizes.size - 1} smaller sizes at step {S_end:g}",
              float(sizes[-1] / sizes[-2]), N < sizes[-1], float(sizes[-1]))
    return out


def _crossing(logS: np.ndarray, f: np.ndarray, level: float) -> float:
    """First log-step where the curve ``f`` (on the grid ``logS``) comes down to ``level``; nan if it never does."""
    g = f - level
    if g[0] <= 0:
        return float("nan") if g[0] < 0 else float(logS[0])
    hit = np.flatnonzero(g <= 0)
    if hit.size == 0:
        return float("nan")
    i = hit[0]
    return float(logS[i - 1] + (logS[i] - logS[i - 1]) * g[i - 1] / (g[i - 1] - g[i]))


def pipeline_steps_to_match(result: PipelineResult, optimum: Any, default: Any, *, objective: Objective = "mean",
                            span: float = 8.0, n_grid: int = 13) -> StepsToMatch:
    r"""Ye's steps-to-match figures from the pipeline's own curves at the target size.

    The objective curves :math:`L_{opt}(S)` and :math:`L_{def}(S)` of both mixtures at :math:`N^*` are
    predicted on a log-spaced grid :math:`S^*/\text{span} \ldots S^* \cdot \text{span}`
    (:meth:`PipelineResult.predict` with ``at``: the fitted stages redone at each step count) and
    interpolated linearly in :math:`\log S`. Then

    .. math::

        L_{def}(S_{eq}) = L_{opt}(S^*), \qquad L_{opt}(S_{match}) = L_{def}(S^*),

    reported as the extra training :math:`S_{eq}/S^* - 1` the optimum is worth (Ye: +48 %) and the fraction
    :math:`S_{match}/S^*` of the steps at which the optimum reaches the default's final loss (Ye: 73 %).
    Unlike :func:`mixlaw.optimize.steps_to_match`, nothing is assumed about the optimum's curve: both come from
    the same fitted stages. A crossing outside the grid is ``nan`` (said in ``assumption``).

    Parameters
    ----------
    result : PipelineResult
        Fitted with a target step (or token) count.
    optimum, default : sequence of float
        The two mixtures, in ``result.domains`` order.
    objective : see :func:`mixlaw.optimize.optimize_mixture`
    span : float, default=8.0
    n_grid : int, default=13

    Returns
    -------
    StepsToMatch

    References
    ----------
    Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952, §4.
    """
    T = result.target_steps if result.time_axis == "step" else result.target_tokens
    if T is None or result.law_at_time is None:
        raise InputError("steps-to-match needs a pipeline result that predicts at other step counts "
                         "(nested route, or the direct route's joint law)")
    if not (span > 1 and n_grid >= 3):
        raise InputError(f"span must be > 1 and n_grid >= 3; got {span!r}, {n_grid!r}")
    name, s = _objective_weights(objective, list(result.targets))
    scalar = _make_scalar(name, s, objective)
    W = np.vstack([np.asarray(optimum, dtype=np.float64), np.asarray(default, dtype=np.float64)])
    grid = float(T) * np.exp(np.linspace(-np.log(span), np.log(span), n_grid))
    curves = np.array([[scalar(row) for row in (result.predict(W) if np.isclose(S, T) else result.predict(W, at=S))]
                       for S in grid])  # (n_grid, 2): optimum, default
    L_opt, L_def = (scalar(row) for row in result.predict(W))
    logS = np.log(grid)
    s_eq = _crossing(logS, curves[:, 1], L_opt)
    s_match = _crossing(logS, curves[:, 0], L_def)
    unit = "step" if result.time_axis == "step" else "token"
    notes = [f"both curves from the pipeline at N* on {n_grid} {unit} counts in [S*/{span:g}, {span:g} S*]"]
    if np.isnan(s_eq):
        notes.append(f"the default does not reach the optimum's loss within {span:g} S*")
    if np.isnan(s_match):
        notes.append(f"the optimum reaches the default's final loss before S*/{span:g} or never")
    S_eq = float(np.exp(s_eq)) if np.isfinite(s_eq) else float("nan")
    frac = float(np.exp(s_match)) / float(T) if np.isfinite(s_match) else float("nan")
    return StepsToMatch(target_steps=float(T), default_loss=float(L_def), optimum_loss=float(L_opt),
                        steps_fraction=frac, equivalent_steps=S_eq, extra_training=S_eq / float(T) - 1.0,
                        assumption="; ".join(notes))


@dataclass
class _Target:
    """The target scale: size N*, and the time axis value T* (steps or tokens, by ``axis``)."""

    params: float
    time: float
    axis: str
    tokens_per_step: float | None

    @property
    def steps(self) -> float | None:
        if self.axis == "step":
            return self.time
        return None if self.tokens_per_step is None else self.time / self.tokens_per_step

    @property
    def tokens(self) -> float | None:
        if self.axis == "tokens":
            return self.time
        return None if self.tokens_per_step is None else self.time * self.tokens_per_step

    @property
    def symbol(self) -> str:
        return "S" if self.axis == "step" else "D"


def _tokens_per_step(table: RunTable) -> float | None:
    """Tokens per optimiser step when the table has both columns and the ratio is one constant, else None."""
    S, D = table.steps, table.tokens
    if S is None or D is None or np.any(S <= 0):
        return None
    ratio = D / S
    return float(ratio[0]) if np.allclose(ratio, ratio[0], rtol=1e-9) else None


# ---------------------------------------------------------------------- grouping
def _check_fit_from(fit_from: Any) -> float:
    try:
        value = float(fit_from)
    except (TypeError, ValueError):
        raise InputError(f"fit_from must be a number in [0, 1); got {fit_from!r}") from None
    if not 0.0 <= value < 1.0:  # also rejects NaN
        raise InputError(f"fit_from must be in [0, 1) (a fraction of each curve's last step); got {value:g}")
    return value


def _mixture_ids(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct mixtures (n_mix, M), row -> mixture index)."""
    uniq, inv = np.unique(np.round(W, _WEIGHT_DECIMALS), axis=0, return_inverse=True)
    return uniq, inv.ravel()


def _first_runs(table: RunTable, inv: np.ndarray, n_mix: int) -> list[str]:
    runs = table.runs
    return [str(runs[np.flatnonzero(inv == m)[0]]) for m in range(n_mix)]


def _check_mixing_law(mixing: MixingLaw, n_mix: int) -> None:
    try:
        check_enough_runs(mixing)
    except InputError as err:
        raise InputError(f"{n_mix} mixtures: {err}") from None


# ---------------------------------------------------------------------- nested route
def _nested(table: RunTable, at: _Target, law: str, names: list[str], rng: np.random.Generator,
            law_options: dict[str, Any], msgs: list[str], shared: bool | str) -> PipelineResult:
    W, Y = table.weights, table.losses(names)
    N, S = table.model_params, (table.steps if at.axis == "step" else table.tokens)
    assert N is not None and S is not None
    Nt, St, sym = at.params, at.time, at.symbol
    mixes, inv = _mixture_ids(W)
    sizes = np.unique(N)
    if sizes.size < 3:
        raise InputError(f"the size law L(N) = E + A/N^alpha has 3 parameters; the data has {sizes.size} model "
                         f"size(s) ({', '.join(f'{v:g}' for v in sizes)}); need at least 3")
    K = len(names)
    first = _first_runs(table, inv, len(mixes))
    # Stage 1: step laws. A curve with >= 4 checkpoints gets its own law (Ye); curves with 2-3 checkpoints
    # (e.g. the first third of a short run) share one exponent beta per size and eval (fit_shared_exponent).
    t0 = time.perf_counter()
    # (E, log B, beta) of every curve's step law: stages 2-3 can then be redone at any other step count.
    laws1 = np.full((len(mixes), sizes.size, K, 3), np.nan)
    res1: list[np.ndarray] = []
    lab1: list[str] = []
    warn1 = n_shared1 = 0
    short: list[str] = []
    seed = int(rng.integers(2**31))
    for si, size in enumerate(sizes):
        pooled: list[tuple[int, np.ndarray]] = []
        for m in range(len(mixes)):
            rows = np.flatnonzero((inv == m) & (N == size))
            if rows.size == 0:
                continue
            n_ck = np.unique(S[rows]).size
            if n_ck < 2:
                short.append(f"{table.runs[rows[0]]} (N={size:g}: {n_ck} checkpoint)")
                continue
            if shared is True or (shared == "auto" and n_ck < 4):
                pooled.append((m, rows))
                continue
            if n_ck < 4:
                short.append(f"{table.runs[rows[0]]} (N={size:g}: {n_ck} checkpoints, own step law needs 4)")
                continue
            for k in range(K):
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    sl = StepLaw(random_state=seed).fit(S[rows], Y[rows, k])
                warn1 += len(caught) + len(sl.results_.warnings)
                res1.append(sl.residuals_)
                lab1.append(f"{table.runs[rows[0]]} N={size:g} {names[k]}")
                laws1[m, si, k] = (sl.E, np.log(sl.B), sl.beta)
        if len(pooled) >= 2:
            for k in range(K):
                xs, ys = [S[r] for _, r in pooled], [Y[r, k] for _, r in pooled]
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    Eg, lBg, beta, fr = fit_shared_exponent(xs, ys, label=f"step law (shared beta) N={size:g}")
                warn1 += len(caught) + len(fr.warnings)
                n_shared1 += len(pooled)
                for g, (m, r) in enumerate(pooled):
                    pred = Eg[g] + np.exp(lBg[g] - beta * np.log(S[r]))
                    res1.append(pred / Y[r, k] - 1.0)
                    lab1.append(f"{table.runs[r[0]]} N={size:g} {names[k]}")
                    laws1[m, si, k] = (Eg[g], lBg[g], beta)
        elif pooled:
            short.append(f"{table.runs[pooled[0][1][0]]} (N={size:g}: < 4 checkpoints, no other curve to share "
                         "beta with)")
    if not res1:
        raise InputError(f"the step law L({sym}) = E + B/{sym}^beta has 3 parameters; no training curve has 4 "
                         f"checkpoints, nor 2+ curves of one size with 2-3 checkpoints to share beta (e.g. {short[0]})")
    if short:
        msgs.append(f"{len(short)} curve(s) skipped, e.g. {short[0]}")
    how1 = "per mixture x size x eval" + (f" ({n_shared1} curve-evals with beta shared per size)" if n_shared1 else "")
    stage1 = StageQuality.from_residuals("step", f"L({sym}) = E + B/{sym}^beta {how1}, extrapolated to {sym}* = "
                                         f"{St:g}", res1, warn1, time.perf_counter() - t0, lab1)
    stages23 = _NestedStages23(laws1, sizes, mixes, first, names, table.domains, Nt, law, law_options, shared,
                               int(rng.integers(2**31)), sym, msgs)
    stage2, stage3, ok, target, mixing, kw = stages23.at(St, record=True)
    return PipelineResult("nested", law, Nt, at.steps, table.domains, names, mixes[ok],
                          [r for r, o in zip(first, ok, strict=True) if o], target,
                          {"step": stage1, "size": stage2, "mixture": stage3}, mixing, kw, msgs,
                          law_at_time=stages23.law)


class _NestedStages23:
    """Stages 2 (size law) and 3 (mixing law) of the nested route, redone at any step count from stage 1's laws.

    Stage 1 is fitted once; its step laws give every curve's loss at any :math:`S`, so the target-size curve
    of a mixture (steps-to-match) costs one size-law and one mixing-law fit per step count.
    """

    def __init__(self, laws1: np.ndarray, sizes: np.ndarray, mixes: np.ndarray, first: list[str], names: list[str],
                 domains: list[str], Nt: float, law: str, law_options: dict[str, Any], shared: bool | str, seed: int,
                 sym: str, msgs: list[str]) -> None:
        self.laws1, self.sizes, self.mixes, self.first, self.names = laws1, sizes, mixes, first, names
        self.domains, self.Nt, self.law_key, self.law_options = domains, Nt, law, law_options
        self.shared, self.seed, self.sym, self.msgs = shared, seed, sym, msgs
        self._cache: dict[float, tuple[MixingLaw, dict[str, Any]]] = {}

    def law(self, steps: float) -> tuple[MixingLaw, dict[str, Any]]:
        """The mixing law at (N*, ``steps``) and its predict keywords (cached per step count)."""
        key = float(steps)
        if key not in self._cache:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MixlawWarning)  # reported once, at the target steps
                *_, mixing, kw = self.at(key, record=False)
            self._cache[key] = (mixing, kw)
        return self._cache[key]

    def at(self, St: float, record: bool) -> tuple[StageQuality, StageQuality, np.ndarray, np.ndarray, MixingLaw,
                                                  dict[str, Any]]:
        laws1, sizes, mixes, first, names = self.laws1, self.sizes, self.mixes, self.first, self.names
        Nt, law, law_options, shared, sym, msgs = self.Nt, self.law_key, self.law_options, self.shared, self.sym, \
            self.msgs
        K = len(names)
        rng = np.random.default_rng(self.seed)
        seed = int(rng.integers(2**31))
        at_target_steps = laws1[..., 0] + np.exp(laws1[..., 1] - laws1[..., 2] * np.log(St))
        # Stage 2: size laws. Mixtures at >= 4 sizes get their own law; at exactly 3 sizes, alpha is shared
        # across those mixtures per eval (3 points cannot pin 3 parameters with a residual left).
        t0 = time.perf_counter()
        n_sizes = np.sum(np.isfinite(at_target_steps[:, :, 0]), axis=1)
        ok = n_sizes >= 3
        if not ok.any():
            raise InputError("the size law L(N) = E + A/N^alpha has 3 parameters; no mixture has training curves "
                             "at 3 or more model sizes")
        if not ok.all() and record:
            msg = f"{int((~ok).sum())} mixture(s) with curves at fewer than 3 sizes dropped"
            msgs.append(msg)
            warnings.warn(msg, DataWarning, stacklevel=3)
        target = np.full((len(mixes), K), np.nan)
        res2: list[np.ndarray] = []
        lab2: list[str] = []
        warn2 = 0
        if shared is False and np.any(n_sizes == 3):
            raise InputError("the size law L(N) = E + A/N^alpha has 3 parameters; with shared_exponents=False "
                             "every mixture needs curves at 4 or more sizes (or share alpha: "
                             "shared_exponents='auto')")
        own = np.flatnonzero(n_sizes >= 4) if shared is not True else np.array([], dtype=int)
        three = np.flatnonzero((n_sizes == 3) if shared is not True else ok)
        for m in own:
            have = np.isfinite(at_target_steps[m, :, 0])
            for k in range(K):
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    zl = SizeLaw(random_state=seed).fit(sizes[have], at_target_steps[m, have, k])
                warn2 += len(caught) + len(zl.results_.warnings)
                res2.append(zl.residuals_)
                lab2.append(f"{first[m]} {names[k]}")
                target[m, k] = zl.predict([Nt])[0]
        if three.size == 1 and n_sizes[three[0]] == 3:
            raise InputError("the size law L(N) = E + A/N^alpha has 3 parameters; with 3 model sizes mixlaw shares "
                             "alpha across mixtures, which needs 2 or more mixtures")
        if three.size:
            for k in range(K):
                haves = [np.isfinite(at_target_steps[m, :, k]) for m in three]
                xs = [sizes[h] for h in haves]
                ys = [at_target_steps[m, h, k] for m, h in zip(three, haves, strict=True)]
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    Eg, lAg, alpha, fr = fit_shared_exponent(xs, ys, label="size law (shared alpha)")
                warn2 += len(caught) + len(fr.warnings)
                for g, m in enumerate(three):
                    res2.append((Eg[g] + np.exp(lAg[g] - alpha * np.log(xs[g]))) / ys[g] - 1.0)
                    lab2.append(f"{first[m]} {names[k]}")
                    target[m, k] = Eg[g] + np.exp(lAg[g] - alpha * np.log(Nt))
        how2 = ("per mixture x eval" if not three.size else
                f"with alpha shared per eval across {three.size} mixture(s)"
                + (f", own alpha for {own.size}" if own.size else ""))
        stage2 = StageQuality.from_residuals("size", f"L(N) = E + A/N^alpha {how2} on stage-1 values, extrapolated "
                                             f"to N* = {Nt:g}", res2, warn2, time.perf_counter() - t0, lab2)
        mixes, target = mixes[ok], target[ok]
        # Stage 3: the mixing law at the target scale.
        t0 = time.perf_counter()
        opts = {"random_state": int(rng.integers(2**31)), **law_options}
        mixing = get_law(law, **opts)
        kw: dict[str, Any] = {}
        if mixing.uses_model_params:
            kw["model_params"] = np.full(len(mixes), Nt)
        if mixing.uses_tokens is True:
            raise InputError(f"law {law!r} needs training tokens per run; the nested pipeline predicts at one "
                             "scale, use a law without a token input")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            mixing.fit(mixes, target, domains=self.domains, targets=names, **kw)
        _check_mixing_law(mixing, len(mixes))
        pred = np.asarray(mixing.predict(mixes, **kw)).reshape(target.shape)
        warn3 = len(caught) + sum(len(r.warnings) for r in mixing.results_.values())
        stage3 = StageQuality.from_residuals("mixture", f"{law} on the {len(mixes)} mixtures' predicted losses at "
                                             f"(N*, {sym}*)", list((pred / target - 1.0).T), warn3,
                                             time.perf_counter() - t0, list(names))
        return stage2, stage3, ok, target, mixing, ({"model_params": Nt} if mixing.uses_model_params else {})


# ---------------------------------------------------------------------- direct route
def _direct(table: RunTable, at: _Target, law: str, names: list[str], rng: np.random.Generator,
            law_options: dict[str, Any], msgs: list[str]) -> PipelineResult:
    W, Y = table.weights, table.losses(names)
    N, S = table.model_params, (table.steps if at.axis == "step" else table.tokens)
    assert N is not None and S is not None
    Nt, St, sym = at.params, at.time, at.symbol
    mixes, inv = _mixture_ids(W)
    sizes = np.unique(N)
    probe = get_law(law, **law_options)
    if probe.uses_model_params:
        return _direct_registered(table, at, law, names, rng, law_options, msgs, mixes, inv)
    if sizes.size < 3:
        raise InputError(f"the direct joint law has a size term A/N^alpha (with E: 3 parameters); the data has "
                         f"{sizes.size} model size(s); need at least 3")
    if np.unique(S).size < 3:
        raise InputError(f"the direct joint law has a term B/{sym}^beta; the data has {np.unique(S).size} distinct "
                         f"{at.axis} value(s); need at least 3")
    if law != "ye-exp":
        msgs.append(f"law {law!r} takes no model size: the direct route used its joint law with Ye's mixture term")
    t0 = time.perf_counter()
    ref = int(np.argmax(mixes.mean(axis=0)))
    res: list[np.ndarray] = []
    nwarn = 0
    local = ["c", "log_k"] + [f"t_{d}" for d in table.domains]
    seed = int(rng.integers(2**31))
    thetas: list[np.ndarray] = []
    for k, t in enumerate(names):
        fr, extra = _fit_joint(W, N, S, Y[:, k], ref, seed, t)
        nwarn += extra + len(fr.warnings)
        res.append(np.exp(fr.residuals) - 1.0)
        thetas.append(fr.params.array())
    stage = StageQuality.from_residuals(
        "joint", f"L_i = E_i + A_i/N^alpha_i + B_i/{sym}^beta_i + k_i exp(t_i . r) per eval on all checkpoints",
        res, nwarn, time.perf_counter() - t0, list(names))
    w_range = [mixes.min(axis=0).tolist(), mixes.max(axis=0).tolist()]

    def at_time(T: float) -> tuple[MixingLaw, dict[str, Any]]:
        """Ye's law at (N*, T): c_i = E_i + A_i/N*^alpha_i + B_i/T^beta_i, the rest of the joint law as is."""
        rows_out: list[Param] = []
        for t, v in zip(names, thetas, strict=True):
            c = v[0] + np.exp(v[1] - v[2] * np.log(Nt)) + np.exp(v[3] - v[4] * np.log(T))
            rows_out += [Param(f"{t}.c", float(c), float(c), 0.0, np.inf),
                         Param(f"{t}.log_k", float(v[5]), float(v[5]), -30.0, 30.0)]
            rows_out += [Param(f"{t}.t_{d}", float(v[6 + j]), float(v[6 + j]), -T_BOUND, T_BOUND, vary=j != ref)
                         for j, d in enumerate(table.domains)]
        spec = {"law": "ye-exp", "options": {}, "domains": table.domains, "targets": names, "y_1d": False,
                "w_range": w_range, "n_range": None, "d_range": None,
                "params": {p.name: {"value": p.value, "init": p.init, "min": p.min, "max": p.max, "vary": p.vary,
                                    "stderr": None} for p in rows_out},
                "state": {"local_names": {t: local for t in names}}}
        return law_from_dict(spec), {}

    mixing, _ = at_time(St)
    target = np.asarray(mixing.predict(mixes)).reshape(len(mixes), len(names))
    return PipelineResult("direct", "joint+ye-exp", Nt, at.steps, table.domains, names, mixes,
                          _first_runs(table, inv, len(mixes)), target, {"joint": stage}, mixing, {}, msgs,
                          law_at_time=at_time)


def _fit_joint(W: np.ndarray, N: np.ndarray, S: np.ndarray, y: np.ndarray, ref: int, seed: int,
               label: str) -> tuple[FitResult, int]:
    """Fit ``E + A/N^a + B/S^b + exp(log_k + t.r)`` to one eval's losses; returns (result, #warnings)."""
    X = np.column_stack([N, S])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ch = ChinchillaLaw(n_restarts=2, random_state=seed).fit(X, y)
    E, la, a, lb, b = ch.params_.array()
    # Split the constant: half of E goes to the mixture term, whose shape comes from regressing
    # log(y - rest) on the weights (Ye's data-driven start).
    rest = 0.5 * E + np.exp(la - a * np.log(N)) + np.exp(lb - b * np.log(S))
    excess = np.clip(y - rest, 1e-3 * y, None)
    beta_w, *_ = np.linalg.lstsq(W, np.log(excess), rcond=None)
    lk = float(np.clip(beta_w[ref], -29, 29))
    tt = np.clip(beta_w - beta_w[ref], -T_BOUND + 1, T_BOUND - 1)
    ps = [Param("E", 0.5 * E, 0.5 * E, 0.0, float(y.max())),
          Param("log_A", la, la, -50.0, 120.0), Param("alpha", a, a, 1e-3, 4.0),
          Param("log_B", lb, lb, -50.0, 120.0), Param("beta", b, b, 1e-3, 4.0),
          Param("log_k", lk, lk, -30.0, 30.0)]
    ps += [Param(f"t{j}", 0.0 if j == ref else float(tt[j]), 0.0 if j == ref else float(tt[j]), -T_BOUND, T_BOUND,
                 vary=j != ref) for j in range(W.shape[1])]
    spec = Params(ps)
    logN, logS = np.log(N), np.log(S)

    def model(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tn = np.exp(theta[1] - theta[2] * logN)
        ts = np.exp(theta[3] - theta[4] * logS)
        e = np.exp(theta[5] + W @ theta[6:])
        jac = np.empty((y.size, theta.size))
        jac[:, 0] = 1.0
        jac[:, 1], jac[:, 2] = tn, -tn * logN
        jac[:, 3], jac[:, 4] = ts, -ts * logS
        jac[:, 5] = e
        jac[:, 6:] = e[:, None] * W
        return theta[0] + tn + ts + e, jac

    with warnings.catch_warnings(record=True) as caught2:
        warnings.simplefilter("always")
        fr = fit_model(model, spec, y, n_starts=3, rng=np.random.default_rng(seed), label=f"joint[{label}]")
    return fr, len(caught) + len(caught2)


def _direct_registered(table: RunTable, at: _Target, law: str, names: list[str], rng: np.random.Generator,
                       law_options: dict[str, Any], msgs: list[str], mixes: np.ndarray,
                       inv: np.ndarray) -> PipelineResult:
    """Direct route with a registered law that takes N (``dz-eq1``) and maybe D (``dz-eq3``).

    A law with a token input is fitted on every checkpoint (its D) and predicts at (N*, D*); a law without one
    sees only each curve's final checkpoint, so it predicts at the final checkpoints' length, not at S*.
    """
    N, S = table.model_params, table.steps
    assert N is not None and S is not None
    Nt = at.params
    probe = get_law(law, **law_options)
    with_tokens = bool(probe.uses_tokens) and table.tokens is not None and at.tokens is not None
    if with_tokens:
        rows = np.arange(len(table))
        how = f"{law} on all {len(rows)} checkpoints with N and D as inputs"
    else:
        key = np.column_stack([inv, N])
        rows = np.array([i for i in range(len(table))
                         if S[i] == S[(key[:, 0] == key[i, 0]) & (key[:, 1] == key[i, 1])].max()])
        how = f"{law} on {len(rows)} final checkpoints with N as input"
        T = S if at.axis == "step" else table.tokens
        assert T is not None
        if np.any(T[rows] != at.time):
            why = ("has no token input" if not probe.uses_tokens else
                   "needs tokens, and the table or the target has no token count")
            msg = (f"law {law!r} {why}: it was fitted on final checkpoints at {at.axis} "
                   f"{T[rows].min():g}-{T[rows].max():g} and predicts those, not {at.symbol}* = {at.time:g}")
            msgs.append(msg)
            warnings.warn(msg, ExtrapolationWarning, stacklevel=3)
    if np.unique(N[rows]).size < 2:
        raise InputError(f"the direct route with {law!r} needs runs at 2 or more model sizes")
    fin = table.subset(rows)
    t0 = time.perf_counter()
    mixing = get_law(law, **{"random_state": int(rng.integers(2**31)), **law_options})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mixing.fit(fin, targets=names)
        _check_mixing_law(mixing, len(rows))
        Yf = fin.losses(names)
        pred = np.asarray(mixing.predict(fin)).reshape(Yf.shape)
    nwarn = len(caught) + sum(len(r.warnings) for r in mixing.results_.values())
    ok = np.isfinite(pred)  # dz-eq3 is +inf where a domain is absent (h_i = 0): scored on h_i > 0 only
    stage = StageQuality.from_residuals("direct", how, [(pred / Yf - 1.0)[:, k][ok[:, k]] for k in range(len(names))],
                                        nwarn, time.perf_counter() - t0, list(names))
    kw: dict[str, Any] = {"model_params": Nt}
    if with_tokens:
        kw["tokens"] = at.tokens
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        target = np.asarray(mixing.predict(mixes, **kw)).reshape(len(mixes), len(names))
    return PipelineResult("direct", law, Nt, at.steps, table.domains, names, mixes, _first_runs(table, inv, len(mixes)),
                          target, {"direct": stage}, mixing, kw, msgs)


__all__ = ["fit_pipeline", "PipelineResult", "StageQuality", "ROUTES", "optimize_pipeline", "pipeline_steps_to_match",
           "backtest_pipeline", "Backtest"]
