"""Bootstrap over runs: percentile intervals on fitted parameters, predictions and the optimal mixture.

Each replicate resamples the *runs* of the table with replacement (all rows of a run travel together, so
checkpoints of one run are never split), refits the law and records its parameters, its predictions at
the requested mixtures and, when asked, its optimal mixture. The interval at level :math:`1 - \\alpha` is the
percentile interval :math:`[q_{\\alpha/2}, q_{1-\\alpha/2}]` of the replicate values (Efron & Tibshirani
1993, ch. 13).

Cheap refits: every replicate starts from the full-data optimum with one start
(:func:`~mixlaw.laws.base.warm_clone`; the law's seeded multistart runs only when that start does not
converge), its optimal mixture is searched from the point-estimate optimum with one SLSQP start (the seeded
starts only when that one does not converge), and replicates run on a process pool (``n_jobs``, default
``"auto"``: the usable CPUs, as for the CV's fold fits, :mod:`mixlaw._workers`). For the additive law and
``additive-ens`` the warm refits of a chunk of replicates are one vectorised solve (a replicate is the table with each
run weighted by how often it was drawn; :func:`_batch_plan`); a replicate whose batched solve does not converge gets the
one-by-one refit above, and ``extra`` counts both (``batched_refits``, ``fallback_refits``). For ``ye-exp`` and
``ye-pow`` each replicate is its own fit whose warm-start solve is rows of one solve per chunk
(:mod:`mixlaw._bootstrap_warm`): the same optima to the solver's rounding (RegMix pile_cc, 200 replicates: parameters
within 2.3e-12 relative of one-by-one solves, 0.56x the CPU time). On RegMix Pile-CC, 200
replicates of additive-ens take 19x one fit
(bench/speed.py, 2 idle cores, 2026-12-04: 0.78 s against 0.041 s, 19.2x wall, 19.0x CPU, the point estimate given;
goal 20x; 24.1-24.9x wall before the solver's evaluation made fewer passes over the Jacobian).

How precisely a batched refit is solved (``REFIT_DECREMENT``): a replicate starts at the full-data optimum
:math:`\\theta_0` and ends at its own, :math:`\\theta_b`. Near it the objective is the quadratic
:math:`f(\\theta) \\approx f_b + \\tfrac12 \\|\\theta - \\theta_b\\|_H^2`, so the decrease the refit makes,
:math:`\\Delta_b = f(\\theta_0) - f_b`, is half the squared distance the replicate moves (in the metric of the
objective's curvature H), which is what its interval is made of, and the Gauss-Newton model's predicted further
decrease at the current point is half the squared distance still to go. A refit therefore stops once what is
left, that prediction over one minus the rate at which it shrank since the previous point (a geometric tail), is
at most :math:`\\varepsilon = 10^{-6}` of the decrease made so far, and the solver's gradient test passes: it is
then within :math:`\\sqrt\\varepsilon = 10^{-3}` of its own displacement from the point estimate. (The rate
matters: a refit creeping along a plateau predicts almost nothing left at every point while its decrements shrink
by only ~10 % a step, and can then drop into a lower valley; on RegMix all evals, stopping on the prediction
alone left 7 of 200 replicates up to 6 % of their decrease short.) A row that reaches the solver's own test first
(a kept step gaining under 1e-12 of f) ends there, and one that ends neither way falls back as before. Against
refits run to the solver's tolerance (200 replicates of additive-ens on RegMix; tests/test_bootstrap.py checks the
same on a synthetic table): on Pile-CC, replicate parameters moved by 0.004 of their bootstrap standard deviation
at the 99th percentile (at most 0.033), interval ends by at most 0.16 % (parameters) and 0.27 % (predictions) of
the interval's width, against a Monte-Carlo error of ~5 % of the width for a 5 % percentile of 200 replicates,
with 19 % fewer evaluations (9,558 against 11,869). On all 13 evals with ``optimize`` (mean): 16 % fewer
evaluations; predictions at most 0.10 sd, their interval ends 0.44 % of the width; parameters 0.0035 sd at the
99th percentile but up to 1.6 sd along flat directions of 10 replicates (interval ends up to 3.2 %); optimum
weights within 0.21 % of the width except 4 replicates whose optimal mixture jumps (up to 4.4 sd) for parameter
changes of 0.003-0.07 sd, a search that sensitive to any perturbation (interval ends up to 4.8 %).

Determinism: replicate b draws its runs from ``SeedSequence(random_state).spawn(n)[b]``, and the law is
refitted from the full-data optimum with its own fixed ``random_state``; batched chunks are fixed by ``n``
and the law, never by the workers, so results are identical whatever the number of workers.

Length: this module is ~810 lines, over the project's ~600, because about 50 of them are the docstring's
derivation and measurements of the refit stopping rule above; the code (resampling, batched and one-by-one
refits, intervals) is one concept and reads top to bottom.

References
----------
Efron & Tibshirani, "An Introduction to the Bootstrap", 1993. Besiroglu et al. 2024, "Chinchilla Scaling:
A replication attempt" (seeded bootstrap intervals on scaling-law fits).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import pickle
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from copy import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._bootstrap_warm import WarmBatch, warm_batched_chunk, warm_plan
from ._console import pad, repr_as_text
from ._solver import solve_batch
from ._validation import check_random_state, renamed
from ._workers import AUTO, resolve_workers, threads_stopped
from .data import RunTable, frame_as_table
from .errors import DataWarning, FitError, InputError, MixlawWarning, user_stacklevel
from .evals import objective_weights, unweighted_gaps
from .fit import BATCH_BYTES, Param, Params, single_threaded_blas
from .laws.additive import ShukorAdditive, ShukorAdditiveEnsemble, unseen_values
from .laws.base import FitContext, MixingLaw, PerTargetLaw, get_law, warm_clone, weights_in_order
from .optimize import _make_scalar, _objective_weights, optimize_mixture
from .optimize.search import check_optimize_keywords

#: Below this many replicates a process pool costs more (start-up, pickling) than it saves.
MIN_PARALLEL = 8
#: Rows (replicate x member x eval set) of one batched refit solve: enough to share the solver's per-iteration
#: Python work, few enough that its (rows, runs, parameters) arrays stay small (see ``_batched_chunk``). Each solve
#: ends in a tail of a few slow rows, iterations that cost ~0.5 ms of fixed work whatever their row count, so
#: fewer, larger solves pay fewer tails: additive-ens on RegMix pile_cc, 200 replicates on 2 workers, 0.82 s with
#: 32 (16 solves of 12-13 replicates) against 0.76 s with 64 (8 of 25); all 13 evals 13.1 s against 12.2 s.
BATCH_ROWS = 64
#: Batched chunks come in multiples of this many (see ``bootstrap_law``).
CHUNK_GRAIN = 8
#: A batched refit stops once the Gauss-Newton model predicts at most this fraction of the decrease the replicate
#: made from the point estimate still to come (``solve_batch(stop_decrement=...)``; why, in the module docstring).
REFIT_DECREMENT = 1e-6
#: What a refit on resampled or held-out data may raise and still count as a failed refit, not a crash: too
#: few distinct runs left for the law's parameter count, no start converging, a singular linear solve.
FIT_FAILURES = (FitError, InputError, np.linalg.LinAlgError, FloatingPointError)


@dataclass
class BootstrapResult:
    """Replicate values and percentile intervals.

    Attributes
    ----------
    law : MixingLaw
        The law fitted on all runs (the point estimate).
    n_boot, n_failed : int
        Replicates run, and how many failed to fit (left out of the intervals).
    level : float
        Nominal coverage of the intervals, e.g. 0.9.
    param_names : list of str
    params : ndarray of shape (n_boot, n_params)
        Replicate parameter values (NaN rows for failed replicates).
    points : ndarray of shape (n_points, n_domains) or None
        Mixtures predicted in every replicate.
    predictions : ndarray of shape (n_boot, n_points, n_targets) or None
    optimum : OptimumResult or None
        The optimum of the point-estimate law, with ``intervals`` filled in.
    optimum_weights : ndarray of shape (n_boot, n_domains) or None
        Each replicate's own optimal mixture.
    optimum_objective : ndarray of shape (n_boot,) or None
        Each replicate's predicted objective at *the point-estimate optimum* (the mixture one would train).
    seconds : float
    n_jobs : int
    extra : dict
        For laws refitted in batched solves (additive, additive-ens): ``batched_refits``, and
        ``fallback_refits``, the replicates refitted on their own (no converged batched solve, or too few runs).
    """

    law: MixingLaw
    n_boot: int
    n_failed: int
    level: float
    random_state: Any
    param_names: list[str]
    params: np.ndarray
    points: np.ndarray | None = None
    predictions: np.ndarray | None = None
    optimum: Any = None
    optimum_weights: np.ndarray | None = None
    optimum_objective: np.ndarray | None = None
    replicate_optimum_objective: np.ndarray | None = None
    seconds: float = 0.0
    n_jobs: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    def _q(self, a: np.ndarray, axis: int = 0) -> np.ndarray:
        alpha = 1.0 - self.level
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN column: interval is NaN, said as such
            return np.nanpercentile(a, [100 * alpha / 2, 100 * (1 - alpha / 2)], axis=axis)

    def param_intervals(self) -> dict[str, tuple[float, float]]:
        """``{name: (lo, hi)}`` for every parameter."""
        q = self._q(self.params)
        return {n: (float(q[0, i]), float(q[1, i])) for i, n in enumerate(self.param_names)}

    def prediction_intervals(self) -> np.ndarray:
        """Percentile intervals at :attr:`level` of the predicted losses at :attr:`points`.

        Returns
        -------
        ndarray of shape (n_points, n_targets, 2)
            ``[..., 0]`` the lower ends, ``[..., 1]`` the upper ends: ``lo, hi = res.prediction_intervals()[i, k]``
            for point i and target k (``law.targets_`` order). The lower and upper arrays of shape
            (n_points, n_targets), as :meth:`PipelineResult.interval <mixlaw.pipeline.PipelineResult.interval>`
            returns them, are ``lo, hi = np.moveaxis(res.prediction_intervals(), -1, 0)``.
        """
        if self.predictions is None:
            raise InputError("no points were predicted in this bootstrap (pass points=...)")
        q = self._q(self.predictions)
        return np.stack([q[0], q[1]], axis=-1)

    def to_frame(self) -> pd.DataFrame:
        """The parameters' intervals as a DataFrame, one row per parameter (the index): the point estimate
        ``value``, the replicates' percentile interval ``lo`` / ``hi`` at :attr:`level`, and ``vary`` (whether the
        point estimate fitted it: a replicate may hold another reference domain than the point estimate).
        Prediction intervals: :meth:`prediction_intervals`; the optimum's: ``optimum.to_frame()``."""
        pi = self.param_intervals()
        rows = [{"value": p.value, "lo": pi[n][0] if n in pi else np.nan, "hi": pi[n][1] if n in pi else np.nan,
                 "vary": p.vary} for n, p in self.law.params_.items()]
        return pd.DataFrame(rows, index=pd.Index(list(self.law.params_), name="name"),
                            columns=["value", "lo", "hi", "vary"])

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"n_boot": self.n_boot, "n_failed": self.n_failed, "level": self.level,
                               "random_state": self.random_state if isinstance(self.random_state, int) else None,
                               "seconds": self.seconds, "n_jobs": self.n_jobs,
                               "params": {k: list(v) for k, v in self.param_intervals().items()}}
        if self.predictions is not None:
            doc["predictions"] = self.prediction_intervals().tolist()
        if self.optimum is not None:
            doc["optimum"] = self.optimum.to_dict()
        return doc

    _repr_pretty_ = repr_as_text  # a notebook shows the report

    def __str__(self) -> str:
        lines = [f"[[Bootstrap]]  law={self.law.key}  {self.n_boot} refits over runs ({self.n_failed} failed), "
                 f"{self.level:.0%} percentile intervals, seed={self.random_state}, {self.n_jobs} worker(s), "
                 f"{self.seconds:.1f} s"]
        pi = self.param_intervals()
        for p in self.law.params_.values():
            if p.vary:
                lo, hi = pi[p.name]
                lines.append(f"    {pad(p.name, 32)} {p.value:>10.4g}  [{lo:.4g}, {hi:.4g}]")
        if self.optimum is not None:
            lines.append(str(self.optimum))
        return "\n".join(lines)


# ---------------------------------------------------------------------- workers
def _resample(task: dict[str, Any], b: int) -> np.ndarray:
    """The table rows of bootstrap sample b (whole runs, drawn with replacement from the seed for b)."""
    rng = np.random.default_rng(task["seeds"][b])
    groups = task["groups"]
    pick = rng.integers(0, len(groups), size=len(groups))
    return np.concatenate([groups[g] for g in pick])


def _replicate(task: dict[str, Any], b: int, warm_solver: Callable[..., Any] | None = None) -> dict[str, Any]:
    """Refit on bootstrap sample b; every random choice comes from the task's seed for b. ``warm_solver``: what
    solves the warm start (:func:`mixlaw.fit.fit_models`; a batched chunk's, :mod:`mixlaw._bootstrap_warm`)."""
    rows = _resample(task, b)
    law: MixingLaw = warm_clone(task["nominal"])
    if warm_solver is not None:
        law._warm_solver = warm_solver  # type: ignore[attr-defined]
    out: dict[str, Any] = {"ok": False}
    mp = None if task["model_params"] is None else task["model_params"][rows]
    tk = None if task["tokens"] is None else task["tokens"][rows]
    try:
        law.fit(task["W"][rows], task["Y"][rows], domains=task["domains"], targets=task["targets"],
                model_params=mp, tokens=tk)
    except FIT_FAILURES:
        return out
    out["params"] = np.array([law.params_[n].value if n in law.params_ else np.nan for n in task["names"]])
    return _describe(law, task, out)


def _describe(law: MixingLaw, task: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    """Add a refitted law's predictions at the task's points and its optimum to ``out`` (``ok`` when done)."""
    if task["points"] is not None:
        P = np.asarray(law.predict(task["points"], **task["predict_kw"]), dtype=np.float64)
        out["pred"] = P.reshape(task["points"].shape[0], -1)
    if task["optimize"] is not None:
        try:
            opt = _replicate_optimum(law, task)
        except (FitError, InputError):  # the nominal passed the same checks: a failed or constant refit
            return out
        out["opt_w"] = opt.weight_array()
        out["opt_f"] = opt.objective
        L = np.asarray(law.predict(task["nominal_w"][None, :], **task["predict_kw"]), dtype=np.float64).ravel()
        out["nominal_L"] = L
        out["nominal_f"] = task["scalar"](L) if task["scalar"] is not None else np.nan
    out["ok"] = True
    return out


def _replicate_optimum(law: MixingLaw, task: dict[str, Any]) -> Any:
    """A replicate's optimal mixture: one SLSQP start at the point-estimate optimum (the replicate's optimum lies
    near it), and the usual seeded starts only when that start does not converge or the search is not a
    gradient one (a simulation search is centred on the natural mixture, which must not move)."""
    kw = task["optimize"]
    gradient = kw.get("search", "auto") == "gradient" or (kw.get("search", "auto") == "auto"
                                                          and getattr(law, "differentiable", True))
    if gradient and kw.get("n_starts") is None and task["nominal_w"] is not None:
        opt = optimize_mixture(law, **{**kw, "natural": task["nominal_w"], "n_starts": 1})
        if opt.n_converged:
            return opt
    return optimize_mixture(law, **kw)


def _run_chunk(task: dict[str, Any], ids: Sequence[int]) -> list[tuple[int, dict[str, Any]]]:
    with single_threaded_blas(), warnings.catch_warnings():
        # Replicates refit on resampled data; their warnings (a parameter on a bound, extrapolation) are about
        # one resample, not the user's data, and would repeat n times.
        warnings.simplefilter("ignore", MixlawWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        if isinstance(task["plan"], WarmBatch):
            return warm_batched_chunk(task, ids, _replicate)
        if task["plan"] is not None:
            return _batched_chunk(task, ids)
        return [(b, _replicate(task, b)) for b in ids]


# ---------------------------------------------------------------------- batched refits
@dataclass
class _Plan:
    """A law whose warm refit is one Levenberg-Marquardt solve per (member, eval set), and what those solves share
    across replicates (see :func:`_batch_plan`)."""

    members: list[ShukorAdditive]
    ensemble: bool
    warm: list[list[np.ndarray]]  # per member and eval set: the point estimate's parameters


def _batch_plan(nominal: MixingLaw, targets: Sequence[str]) -> _Plan | None:
    """How to refit ``nominal`` for many replicates at once, or None (then every replicate refits on its own).

    A bootstrap replicate is a resample of the runs, i.e. the table with each run weighted by how often it was
    drawn: its objective ``sum_o rho(r_o) / n`` over resampled rows is ``sum_o count_o rho(r_o) / n`` over
    distinct ones. So the refits of many replicates are rows of one vectorised solve
    (:func:`mixlaw._solver.solve_batch`, which takes per-row weights, bounds and penalties).

    Planned for ``additive`` and ``additive-ens``: their warm refit is exactly that solve (one start, from the
    point estimate), and their fitted state besides the parameters does not depend on the data (Ye's law, for
    one, takes its reference domain from the resample). Bounds still come from each resample (E <= max loss; built
    once per distinct largest losses, :func:`_batched_chunk`).
    """
    if type(nominal) is ShukorAdditiveEnsemble:
        members = list(nominal.members_)
    elif type(nominal) is ShukorAdditive:
        members = [nominal]
    else:
        return None
    if any(type(m) is not ShukorAdditive or m.alpha == "cv" for m in members):
        return None  # a CV-chosen ridge is chosen again on every resample
    if len({(m.loss, m.huber_delta) for m in members}) != 1:
        return None
    if any(t not in m.results_ for m in members for t in targets):
        # A law loaded from its saved form (``fitted=``) keeps no fit results, whose parameter names the batched
        # solve reads (a KeyError naming the eval): its replicates refit one by one, from its parameters.
        return None
    names = [n for m in members for n in m.params_]
    flat = [n.split(":", 1)[1] for n in nominal.params_] if len(members) > 1 else list(nominal.params_)
    if flat != names:
        return None
    warm = [[np.array([m.params_[n].value for n in m.results_[t].params]) for t in targets] for m in members]
    return _Plan(members, nominal is not members[0], warm)


def _penalties(plan: _Plan, W: np.ndarray, Y: np.ndarray, ctx: FitContext) -> list[list[Any]]:
    """Per member and eval set, the penalty of its refits (built where they run: closures do not pickle). It
    depends on the member's strengths and the parameter count, not on the resample."""
    out = []
    for m in plan.members:
        scratch = warm_clone(m)
        scratch.alpha_ = dict(m.alpha_)
        p_m = []
        for i, t in enumerate(ctx.targets):
            scratch._before_one(W, Y[:, i], i, ctx)
            p_m.append(scratch._penalty_one(m.results_[t].params))
        out.append(p_m)
    return out


def _replicate_specs(scratch: ShukorAdditive, W: np.ndarray, Y: np.ndarray, ctx: FitContext,
                     units: np.ndarray | None = None) -> list[Params]:
    """The specs (bounds, fixed values) a warm refit of a member on the resampled ``W``, ``Y`` (in the fitting
    ``units``, one per eval set; default 1) would use: the law's own ``_spec_one`` and user overrides, as
    :meth:`PerTargetLaw._fit` builds them."""
    specs = []
    units = np.ones(len(ctx.targets)) if units is None else units
    scratch._set_unit_targets(ctx.targets)  # as PerTargetLaw._fit sets them
    for i, t in enumerate(ctx.targets):
        with scratch._fitting_in(float(units[i])):  # the user's values are read in it
            local = scratch._spec_one(W, Y[:, i], i, ctx)
            prefixed = [Param(f"{t}.{p.name}", p.value, p.init, p.min, p.max, p.vary, note=p.note) for p in local]
            specs.append(PerTargetLaw._spec_prefixed(scratch, prefixed))
    return specs


def _unit_affine(m: ShukorAdditive, t: str, unit: float) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)``: eval set ``t``'s parameter vector in the fitting unit ``unit`` is ``a * values + b``
    (:meth:`LossUnits._in_unit`, which is affine in the value, element by element)."""
    names = list(m.results_[t].params)
    b = np.array([m._in_unit(n, 0.0, unit) for n in names])
    return np.array([m._in_unit(n, 1.0, unit) for n in names]) - b, b


def _batched_chunk(task: dict[str, Any], ids: Sequence[int]) -> list[tuple[int, dict[str, Any]]]:
    """Refit replicates ``ids`` in one solve (see :func:`_batch_plan`); a replicate with a row that did not
    converge is refitted on its own (warm start, then the law's seeded multistart), marked ``fallback``.

    Rows are (replicate, member, eval set); a replicate's observations are its distinct runs (~63 % of the
    table) weighted by their draws, padded with weight-0 rows; every member is a :class:`ShukorAdditive`, whose
    batch model is the same function of the weights, so one model serves all rows.
    """
    plan: _Plan = task["plan"]
    W, Y = task["W"], task["Y"]
    ctx = FitContext(list(task["domains"]), list(task["targets"]))
    K, n_members = len(ctx.targets), len(plan.members)
    # Solved in the unit the law fits each eval set in (units.LossUnits._loss_unit), as a one-by-one refit is: in the
    # losses' own unit (x 1e9), log C sat near its bound -20 and the replicates' predictions moved 2.6 % off.
    units = np.array([plan.members[0]._loss_unit(Y[:, i]) for i in range(K)])
    affine = [[_unit_affine(m, t, float(units[i])) for i, t in enumerate(ctx.targets)] for m in plan.members]
    Y = Y / units
    scratch = [warm_clone(m) for m in plan.members]  # their _spec_one takes the warm-refit branch
    penalties = _penalties(plan, W, Y, ctx)
    problems: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Any]] = []  # start, lo, hi, free, penalty
    picks: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    fallback = []
    # Bounds and fixed values depend on which runs were drawn, not how often, and for the additive law only through
    # each eval set's largest loss (E <= it); the inits, which depend on more, are replaced by the warm start. So
    # replicates with the same largest losses (most of them: the worst run is drawn in ~63 % of resamples) share
    # them, and the law's spec (a tenth of a refit's time when built for each) is built once per distinct maxima.
    bounds: dict[bytes, list[list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]]] = {}
    for b in ids:
        rows = _resample(task, b)
        uniq, count = np.unique(rows, return_counts=True)
        key = Y[uniq].max(axis=0).tobytes()
        if key not in bounds:
            bounds[key] = [[(sp.vary_mask, sp.array("min"), sp.array("max"), sp.array("value")) for sp in ms]
                           for ms in (_replicate_specs(s, W[uniq], Y[uniq], ctx, units) for s in scratch)]
        specs = bounds[key]
        n_free = max(int(fr.sum()) for ms in specs for fr, *_ in ms)
        if rows.size <= n_free:  # too few runs: the law's own refit says so (and fails) as it always did
            fallback.append(b)
            continue
        picks[b] = (rows, uniq, count / rows.size)  # each drawn row counts 1/n, as in the resample
        for k, ms in enumerate(specs):
            for i, (fr, a, z, v) in enumerate(ms):
                # As fit_models starts a warm refit: free parameters clipped into the bounds, fixed ones held.
                warm = affine[k][i][0] * plan.warm[k][i] + affine[k][i][1]
                problems.append((np.where(fr, np.clip(warm, a, z), v), a, z, fr, penalties[k][i]))
    out: list[tuple[int, dict[str, Any]]] = []
    if picks:
        m = max(u.size for _, u, _ in picks.values())
        obs = np.array([np.pad(u, (0, m - u.size), mode="edge") for _, u, _ in picks.values()])  # (J, m)
        weight = np.array([np.pad(w, (0, m - w.size)) for _, _, w in picks.values()])
        per = n_members * K
        rep = np.repeat(np.arange(len(picks)), per)  # the replicate (weight matrix) of every row
        logy = np.log(Y[obs[rep], np.tile(np.arange(K), len(picks) * n_members)[:, None]])
        model = plan.members[0]._model_batch(W[obs[rep]], ctx)  # one weight matrix per row
        start, lo_, hi_, free_, pens = (list(v) for v in zip(*problems, strict=True))
        lo, hi, free = np.array(lo_), np.array(hi_), np.array(free_)
        theta, _, conv, _ = solve_batch(model, np.array(start), lo, hi, free, logy, weight[rep],
                                        loss=plan.members[0].loss, delta=float(plan.members[0].huber_delta),
                                        penalties=pens, stop_decrement=REFIT_DECREMENT)
        theta = theta.reshape(len(picks), n_members, K, -1)
        conv = conv.reshape(len(picks), per)
        for j, (b, (rows, uniq, _)) in enumerate(picks.items()):
            if not conv[j].all():
                fallback.append(b)
                continue
            _settle_unseen(theta[j], W[rows], ~(W[uniq] > 0).any(axis=0), lo, hi, free, j * per)
            for k in range(n_members):  # back to the losses' own unit
                for i in range(K):
                    theta[j, k, i] = (theta[j, k, i] - affine[k][i][1]) / affine[k][i][0]
            res: dict[str, Any] = {"ok": False, "batched": True, "params": theta[j].ravel()}
            if task["points"] is not None or task["optimize"] is not None:
                res = _describe(_replicate_law(task["nominal"], plan, theta[j], W[rows], rows.size), task, res)
            else:
                res["ok"] = True
            out.append((b, res))
    for b in fallback:
        out.append((b, {**_replicate(task, b), "fallback": True}))
    return sorted(out, key=lambda r: r[0])


def _settle_unseen(theta: np.ndarray, W: np.ndarray, unseen: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                   free: np.ndarray, first: int) -> None:
    """Give the domains ``unseen`` (mask of shape (n_domains,)) that a replicate's resample ``W`` lacks the
    values its one-by-one refit would (:meth:`ShukorAdditive._settle_unseen`), in place in its ``theta`` (members
    x eval sets x parameters), whose rows are ``first ..`` of the solve's ``lo``, ``hi`` and ``free``. The solve
    left them at the point estimate's, which came from the full table's runs, not this resample's."""
    if not unseen.any():
        return
    M, idx = W.shape[1], np.flatnonzero(unseen)
    cols = np.concatenate([1 + idx, 1 + M + idx])
    for r, v in enumerate(theta.reshape(-1, theta.shape[-1])):
        log_c, g = unseen_values(W, v, idx)
        row, want = first + r, np.repeat([log_c, g], idx.size)
        v[cols] = np.where(free[row, cols], np.clip(want, lo[row, cols], hi[row, cols]), v[cols])


def _replicate_law(nominal: MixingLaw, plan: _Plan, theta: np.ndarray, W: np.ndarray, n_runs: int) -> MixingLaw:
    """The point estimate with a replicate's parameters ``theta`` (members x eval sets x parameters) and its
    fitted range: what its predictions and optimum need (results and train metrics stay the point estimate's)."""
    w_range = (W.min(axis=0), W.max(axis=0))
    members = []
    for m, th in zip(plan.members, theta, strict=True):
        c = copy(m)
        c.params_, c._w_range, c.n_runs_ = m.params_.with_values(th.ravel()), w_range, n_runs
        members.append(c)
    if not plan.ensemble:
        return members[0]
    law = copy(nominal)
    law.members_ = members
    law.params_, law._w_range, law.n_runs_ = nominal.params_.with_values(theta.ravel()), w_range, n_runs
    return law


#: The task of the bootstrap in progress, inherited by forked workers (nothing large, and no user callable,
#: has to be pickled).
_TASK: dict[str, Any] = {}


def _run_chunk_inherited(ids: Sequence[int]) -> list[tuple[int, dict[str, Any]]]:
    return _run_chunk(_TASK, ids)


#: glibc's mallopt parameters (malloc.h) and the values a worker sets (see ``_keep_freed_memory``).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
WORKER_TRIM_BYTES, WORKER_MMAP_BYTES = 256 << 20, 32 << 20


def _keep_freed_memory() -> None:
    """Worker initializer: glibc keeps freed memory for the next allocation instead of handing it back to the OS.

    Each solver iteration allocates and frees the same arrays of (rows, runs, parameters), MBs in a batched
    refit; returned to the OS, they page-fault in again every iteration (~5 us a page on 2 shared cores: a third
    of a batched refit). The caller's process is left as it is; nothing happens without glibc's ``mallopt``.
    """
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_TRIM_THRESHOLD, WORKER_TRIM_BYTES)
    mallopt(M_MMAP_THRESHOLD, WORKER_MMAP_BYTES)


def _map_parallel(task: dict[str, Any], chunks: list[list[int]],
                  jobs: int) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    """Run the chunks on ``jobs`` processes, yielding each chunk's results as it is collected (in order):
    forked workers inherit the task; elsewhere it is pickled."""
    if "fork" in multiprocessing.get_all_start_methods():
        _TASK.clear()
        _TASK.update(task)
        try:
            with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"),
                                     initializer=_keep_freed_memory) as ex:
                # map submits every chunk now, and the first submit forks all the workers: with the progress
                # display's thread stopped (a fork of a multi-threaded process may deadlock).
                with threads_stopped():
                    done = ex.map(_run_chunk_inherited, chunks)
                yield from done
        finally:
            _TASK.clear()
        return
    try:
        pickle.dumps(task)
    except (pickle.PicklingError, AttributeError, TypeError):
        for c in chunks:  # e.g. a lambda objective on a spawn-only platform
            yield _run_chunk(task, c)
        return
    with ProcessPoolExecutor(max_workers=jobs, initializer=_keep_freed_memory) as ex:
        yield from ex.map(_run_chunk, [task] * len(chunks), chunks)


# ---------------------------------------------------------------------- entry point
def resampled_rows(table: RunTable, names: Sequence[str], law: MixingLaw, stacklevel: int = 2) -> RunTable:
    """The rows a bootstrap of ``law`` on the ``names`` evals resamples: those that have every one of their losses
    (:meth:`RunTable.complete`), whose warning says so. A law that fits each eval on its own rows (``auto`` /
    ``stack`` per eval set) does not do so under a bootstrap, whose replicates draw whole runs: its line names the
    rows that costs and says where each eval keeps its own (a fit without the bootstrap), where the plain line's
    hint said that auto and stack already did."""
    if not law._fits_ragged():
        return table.complete(names, stacklevel=stacklevel + 1)
    out, line = table.complete_line(names, doing=f"{law._label} with a bootstrap (--bootstrap, n_boot=): fitting",
                                    hint="its replicates resample whole runs, so each row needs every eval's loss; "
                                         "without a bootstrap it fits each eval on every row that has it")
    if line is not None:
        warnings.warn(line, DataWarning, stacklevel=user_stacklevel(stacklevel))
    return out


def bootstrap_law(law: MixingLaw | str, table: Any, targets: str | Sequence[str] | None = None,
                  n_boot: int | None = None, *,
                  random_state: int | np.random.Generator | None = 0, n_jobs: int | str | None = None,
                  points: Any = None, optimize: Mapping[str, Any] | None = None, level: float = 0.9,
                  law_options: Mapping[str, Any] | None = None,
                  on_progress: Callable[[int], None] | None = None,
                  fitted: MixingLaw | None = None, n: int | None = None) -> BootstrapResult:
    """Bootstrap a law over the runs of a table.

    Parameters
    ----------
    law : MixingLaw or str
        A law (fitted or not; it is refitted on the full table as the point estimate) or a registry key.
    table : RunTable, or a DataFrame in its columns
        The runs. Rows sharing a ``run`` id are resampled together.
    targets : str or list of str, optional
        Eval sets to fit. Default: those of ``law`` when it is fitted (and the table has them), else all of the
        table's (``"all"``).
    n_boot : int, default=200
        Replicates (:attr:`BootstrapResult.n_boot`; ``--bootstrap`` on the command line).
    random_state : int or Generator, default=0
        Seeds the resampling (replicate b uses ``SeedSequence(random_state).spawn(n_boot)[b]``).
    n_jobs : int or "auto", default="auto"
        Worker processes (``concurrent.futures.ProcessPoolExecutor``; ``--workers`` on the command line). None or
        ``"auto"``: the CPUs this process may use (its affinity mask and a container's cgroup CPU quota, which
        ``os.cpu_count()`` does not see), at most 8; 1 inside a worker process; the environment variable
        ``MIXLAW_CV_WORKERS`` overrides it (:func:`mixlaw._workers.resolve_workers`). 1 runs in-process. Results
        do not depend on it.
    points : ndarray of shape (n_points, n_domains) or DataFrame, optional
        Mixtures whose predicted losses get intervals: an array's columns in the table's domain order, a frame's
        read by name (``w:<domain>`` or the domain).
    optimize : dict, optional
        Keyword arguments of :func:`mixlaw.optimize.optimize_mixture`; then every replicate also finds its
        optimal mixture and the point-estimate optimum gets intervals on each weight, on its predicted
        objective and on each eval's predicted loss.
    level : float, default=0.9
        Nominal coverage of the percentile intervals. 0.9, not the pipeline's 0.8
        (:func:`~mixlaw.pipeline.fit_pipeline`), on purpose: these are intervals on a fitted law's parameters, its
        predictions at the fitted scale and its optimum (``mixlaw optimize --bootstrap`` prints them at 90 %),
        the uncertainty of the fit alone; the pipeline's are prediction intervals of measured target-scale
        losses, whose nominal-80 % coverage its backtests were measured at. The command line gives each its
        default and has no flag to change it.
    law_options : dict, optional
        Constructor options when ``law`` is a key (refused with a law instance, which is refitted as configured).
    on_progress : callable, optional
        Called with the number of replicates just finished (for a progress bar whose total is ``n_boot``).
    fitted : MixingLaw, optional
        ``law`` already fitted to this table and ``targets`` (a caller that fitted it first, e.g. to check the
        run count): used as the point estimate instead of fitting it again.
    n : int, optional
        The older name of ``n_boot`` (a silent alias; giving both is an InputError).

    Returns
    -------
    BootstrapResult

    Raises
    ------
    InputError
        n_boot < 2, level outside (0, 1), n_jobs not a count >= 1 or "auto", fewer than 2 runs, or a bad law key.

    Notes
    -----
    Percentile intervals (not bias-corrected); replicates that fail to fit are dropped and counted in
    ``n_failed``. The interval on the optimum's predicted objective is taken over the replicate laws
    evaluated at the point-estimate optimum, i.e. the uncertainty of the loss of the mixture one would
    actually train; ``replicate_optimum_objective`` holds each replicate's own optimum value.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from mixlaw.data import RunTable
    >>> rng = np.random.default_rng(0)
    >>> W = rng.dirichlet(np.ones(2), size=20)
    >>> y = 2 + np.exp(-W[:, 1]) + rng.normal(0, 0.01, 20)
    >>> t = RunTable(pd.DataFrame({"run": [f"r{i}" for i in range(20)], "w:a": W[:, 0], "w:b": W[:, 1],
    ...                            "loss:a": y}))
    >>> res = bootstrap_law("ye-exp", t, n_boot=20, n_jobs=1, points=np.array([[0.5, 0.5]]))
    >>> res.prediction_intervals().shape          # (points, targets, lo/hi)
    (1, 1, 2)
    >>> lo, hi = res.prediction_intervals()[0, 0]
    >>> bool(lo < 2 + np.exp(-0.5) < hi)
    True
    """
    n = renamed("n_boot", n_boot, "n", n, default=200)
    table = frame_as_table(table)  # a DataFrame in the run table's columns, as law.fit reads one
    if not isinstance(table, RunTable):
        raise InputError(f"bootstrap_law needs a RunTable (or a DataFrame in its columns); got {type(table).__name__}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise InputError(f"n_boot (--bootstrap: bootstrap replicates) must be an int >= 2; got {n!r}")
    # Before any fit: -1 stopped the bootstrap with numpy's bare "expected non-negative integer", 'x' with int()'s
    # ValueError and a RandomState with a TypeError, and 1.5 was silently truncated to the seed 1 (_entropy).
    check_random_state(random_state)
    if not (0.0 < float(level) < 1.0):
        raise InputError(f"level must be in (0, 1); got {level!r}")
    if optimize is not None:
        check_optimize_keywords(optimize, "bootstrap_law(optimize=)")
    # Before any fit. Not os.cpu_count(): a 2-CPU container quota on a 64-core host started 64 processes.
    jobs = resolve_workers(n_jobs, default=AUTO)
    if law_options and not isinstance(law, str):
        # bootstrap_law(fitted_law, t, law_options={"alpha": 5.0}) refitted the law as it was, options dropped.
        raise InputError(f"bootstrap_law: law_options {sorted(law_options)} configure a law given by key; the law "
                         f"given is an instance, {type(law).__name__}: set them on it (law.set_params(...)) or give "
                         "its key")
    base = get_law(law, **dict(law_options or {})) if isinstance(law, str) else law.clone()
    if targets is None:
        # bootstrap_law(law fitted on pile_cc, table) refitted every eval of the table (13 on RegMix): the point
        # estimate was another law than the one given, and its intervals another law's.
        fitted_on = list(getattr(law, "targets_", []) or [])
        targets = fitted_on if fitted_on and all(t in table.evals for t in fitted_on) else "all"
    names = table.resolve_targets(targets)
    if base._spare_targets(names):
        # auto / stack for an objective that weighs some evals 0: those that miss a loss in the weighed evals' rows
        # are not fitted (as its fit on a table does), so the rows are resampled; the law's objective without them.
        names, obj = unweighted_gaps(table, names, base.objective, objective_weights(base.objective, names))
        if obj is not base.objective:
            base.set_params(objective=obj)
    table = resampled_rows(table, names, base)  # the rows that have every target's loss (a NaN cell: missing)
    W, Y = table.weights, table.losses(names)
    Y = Y.reshape(len(table), -1)
    t0 = time.perf_counter()
    if fitted is not None:
        nominal = fitted
    else:
        nominal = base.clone().fit(W, Y, domains=table.domains, targets=names, model_params=table.model_params,
                                   tokens=table.tokens)
    run_ids = np.asarray(table.runs).astype(str)
    _, inverse = np.unique(run_ids, return_inverse=True)
    groups = [np.flatnonzero(inverse == g) for g in range(inverse.max() + 1)]
    if len(groups) < 2:
        raise InputError("bootstrap needs at least 2 runs")
    pts = None if points is None else np.atleast_2d(weights_in_order(points, table.domains))
    if pts is not None and pts.shape[1] != W.shape[1]:
        raise InputError(f"points have {pts.shape[1]} columns; the table has {W.shape[1]} domains")
    predict_kw: dict[str, Any] = {}
    if nominal.uses_model_params and table.model_params is not None:
        predict_kw["model_params"] = float(np.max(table.model_params))
    if nominal.uses_tokens and table.tokens is not None:
        predict_kw["tokens"] = float(np.max(table.tokens))
    opt_kw = None if optimize is None else dict(optimize)
    nominal_opt = None if opt_kw is None else optimize_mixture(nominal, **opt_kw)
    scalar = None
    if opt_kw is not None:
        oname, s = _objective_weights(opt_kw.get("objective", "mean"), list(nominal.targets_))
        scalar = _make_scalar(oname, s, opt_kw.get("objective", "mean"))
    names_p = list(nominal.params_)
    ss = np.random.SeedSequence(_entropy(random_state))
    task = {"law": base, "nominal": nominal, "W": W, "Y": Y, "domains": table.domains, "targets": names,
            "model_params": table.model_params if base.uses_model_params else None,
            "tokens": table.tokens if base.uses_tokens else None, "groups": groups, "seeds": ss.spawn(int(n)),
            "names": names_p, "points": pts, "predict_kw": predict_kw, "optimize": opt_kw,
            "nominal_w": None if nominal_opt is None else nominal_opt.weight_array(), "scalar": scalar,
            "plan": _batch_plan(nominal, names) or warm_plan(nominal, names)}
    ids = list(range(int(n)))
    plan = task["plan"]
    chunks = _chunks(plan, ids, len(names), len(table), jobs)
    if jobs == 1 or n < MIN_PARALLEL:
        jobs = 1
        parts: Iterator[list[tuple[int, dict[str, Any]]]] = (_run_chunk(task, c) for c in chunks)
    else:
        parts = _map_parallel(task, chunks, jobs)
    results = {}
    for part in parts:
        results.update(part)
        if on_progress is not None:
            on_progress(len(part))
    ok = [results[b]["ok"] for b in ids]
    P = np.full((n, len(names_p)), np.nan)
    for b in ids:
        if "params" in results[b]:
            P[b] = results[b]["params"]
    res = BootstrapResult(law=nominal, n_boot=int(n), n_failed=int(n - sum(ok)), level=float(level),
                          random_state=random_state, param_names=names_p, params=P, points=pts, n_jobs=jobs)
    if isinstance(plan, _Plan):
        res.extra["batched_refits"] = sum(bool(results[b].get("batched")) for b in ids)
        res.extra["fallback_refits"] = sum(bool(results[b].get("fallback")) for b in ids)
    if pts is not None:
        K = len(names)
        pred = np.full((n, pts.shape[0], K), np.nan)
        for b in ids:
            if results[b]["ok"]:
                pred[b] = results[b]["pred"]
        res.predictions = pred
    if nominal_opt is not None:
        _attach_optimum(res, nominal_opt, results, ids, float(level), W.shape[1], len(names))
    res.seconds = time.perf_counter() - t0
    return res


def _chunks(plan: Any, ids: list[int], n_targets: int, n_rows: int, jobs: int) -> list[list[int]]:
    """The replicates in the chunks the workers take: batched laws (``plan``) in fixed chunks of one solve each,
    others one by one (one process) or several chunks per worker."""
    n = len(ids)
    if plan is not None:
        # Fixed chunks of replicates, one solve each: the partition depends on n and the law, never on jobs.
        # Fewer replicates per solve on a large table: each row's Jacobian is (runs, parameters), and a solve's
        # Jacobians stay within the engine's BATCH_BYTES as a one-by-one fit's do. Solver rows and parameters per
        # replicate: a Ye law's own (one row per eval set, _bootstrap_warm), the additive members' otherwise.
        if isinstance(plan, WarmBatch):
            rows, p = plan.rows, plan.p
        else:
            rows = len(plan.members) * n_targets
            p = max(len(w) for ws in plan.warm for w in ws)
        size = max(1, min(BATCH_ROWS // rows, int(BATCH_BYTES // (8 * n_rows * p * rows))))
        # Chunks of equal size, and a multiple of CHUNK_GRAIN of them: every worker of a 1-, 2-, 4- or 8-core pool
        # gets the same share (17 chunks of 12 on 2 workers left one idle a twelfth; 7 of 29 an eighth).
        # At least CHUNK_GRAIN chunks: fewer, larger ones than the row cap asks for would leave workers idle.
        k = max(-(-len(ids) // size), CHUNK_GRAIN)
        k = min(-(-k // CHUNK_GRAIN) * CHUNK_GRAIN, len(ids))  # never more chunks than replicates (empty ones)
        return [c.tolist() for c in np.array_split(np.array(ids), k)]
    # Several chunks per worker balance uneven fit times (and move the progress bar); results are keyed
    # by replicate id, so the partition does not change them.
    return [[b] for b in ids] if jobs == 1 or n < MIN_PARALLEL else [ids[i::jobs * 8] for i in range(jobs * 8)]


def _attach_optimum(res: BootstrapResult, nominal_opt: Any, results: dict[int, dict[str, Any]], ids: list[int],
                    level: float, M: int, K: int) -> None:
    """The replicates' optima and their objective at the point estimate's optimum, as ``res`` and the optimum's
    ``intervals`` (percentile, at ``level``) hold them."""
    n = len(ids)
    ow, of, nf = np.full((n, M), np.nan), np.full(n, np.nan), np.full(n, np.nan)
    nl = np.full((n, K), np.nan)
    for b in ids:
        r = results[b]
        if r["ok"]:
            ow[b], of[b], nf[b], nl[b] = r["opt_w"], r["opt_f"], r["nominal_f"], r["nominal_L"]
    res.optimum_weights, res.replicate_optimum_objective, res.optimum_objective = ow, of, nf
    qw, qf, ql, qo = res._q(ow), res._q(nf), res._q(nl), res._q(of)
    nominal_opt.intervals = {
        "level": level, "n_boot": n, "n_failed": res.n_failed,
        "weights": {d: (float(qw[0, j]), float(qw[1, j])) for j, d in enumerate(res.law.domains_)},
        "objective": (float(qf[0]), float(qf[1])),
        "losses": {t: (float(ql[0, i]), float(ql[1, i])) for i, t in enumerate(res.law.targets_)},
        "replicate_optimum_objective": (float(qo[0]), float(qo[1]))}
    res.optimum = nominal_opt


def _entropy(random_state: int | np.random.Generator | None) -> int:
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63))
    return int(check_random_state(random_state).integers(0, 2**63)) if random_state is None else int(random_state)


__all__ = ["bootstrap_law", "BootstrapResult"]
