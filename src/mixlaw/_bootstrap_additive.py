"""Bootstrap replicates of the additive law (``additive``, ``additive-ens``) refitted as rows of one solve.

A replicate is the table with each run weighted by how often it was drawn, so the warm refits of a chunk of
replicates are rows of one vectorised :func:`~mixlaw._solver.solve_batch` (:func:`_batch_plan`,
:func:`_batched_chunk`); a replicate whose batched solve does not converge gets the one-by-one refit of
:mod:`mixlaw._bootstrap_replicate`, marked ``fallback``.

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
"""

from __future__ import annotations

from collections.abc import Sequence
from copy import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._bootstrap_replicate import _describe, _replicate, _resample
from ._solver import solve_batch
from .fit import Param, Params
from .laws.additive import ShukorAdditive, ShukorAdditiveEnsemble, unseen_values
from .laws.base import FitContext, MixingLaw, PerTargetLaw, warm_clone

#: A batched refit stops once the Gauss-Newton model predicts at most this fraction of the decrease the replicate
#: made from the point estimate still to come (``solve_batch(stop_decrement=...)``; why, in the module docstring).
REFIT_DECREMENT = 1e-6


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
