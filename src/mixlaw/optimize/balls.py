"""The trust radius's branch and bound: the optimum within L1 ``trust_radius`` of some fitting run, over the union
of the runs' L1 balls (:func:`_radius_solve`, called by :func:`.search.optimize_mixture` when the best optimum of
its starts leaves the radius).

Why: each ball of a convex objective (Ye's law, ``linear``, ``loglinear``: :func:`.search.optimize_mixture`'s
Notes) is a convex problem, one SLSQP run solves it, but the union of balls is not convex, and solving only the
balls of the :data:`N_ANCHORS` best-predicted runs missed a lower optimum in another run's ball (review32d). So
every other ball in reach gets a lower bound of the objective on it: the objective's linearisation at the ball's
anchor, and at the best mixture found, minimised over the ball exactly (:func:`_linear_min`, a fractional knapsack;
:func:`_ball_bounds`); needing no convexity, each of Ye's losses at its smallest exponent there
(:func:`_monotone_bounds`); and, eval by eval, the tangent at the best mixture pulled into the ball of each eval that
stays convex on it (:func:`_pulled_bounds`). Balls are solved in increasing order of bound until the next bound
cannot beat the best found (less :data:`BOUND_TOL`): the best is then the minimum over the whole union, from a few
balls (RegMix's 512 runs, ye-exp on 4 evals, radius 0.3: 5). Past Ye's exponent cap (:func:`_cap_safe`; the
saturated exponential is concave there, cap32) a linearisation bounds nothing and a ball is solved from more starts
than its anchor, and a ball whose SLSQP did not converge is proven only by its lower bound (review32f).

References
----------
Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952, §4 (the law, convex in the mixture).
Land & Doig, "An Automatic Method of Solving Discrete Programming Problems", Econometrica 28(3), 1960 (branch
and bound).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..data import distinct_rows
from ..errors import InputError
from .objective import Z_CONVEX, _LawEval
from .simulate import nearest_run_l1
from .slsqp import _Free, _solver

#: Runs used as anchors of the L1 trust region in gradient search (the best-predicted ones).
N_ANCHORS = 3
#: Branch and bound over the trust radius's balls (a convex objective) stops when the next ball's lower bound is
#: within this (relative to the best found) of it: SLSQP's own tolerance and a finite-difference gradient's error
#: lie well below it.
BOUND_TOL = 1e-9


def _radius_solve(ev: _LawEval, scalar: Callable[[np.ndarray], float], name: str, s: np.ndarray | None,
                  free: _Free, runs: np.ndarray, radius: float, balls: list[int] | None = None,
                  prune: bool = False,
                  optima: Sequence[np.ndarray] = ()) -> tuple[list[np.ndarray], list[float], int]:
    """SLSQP within an L1 ball around each of the :data:`N_ANCHORS` best-predicted runs; the union of balls is not
    convex, so each anchor is its own convex problem (for a convex law) and the best anchor wins. With ``prune`` (a
    convex objective) the other reachable balls follow by branch and bound: in increasing order of
    :func:`_ball_bounds`, each solved until the next bound is no lower than the best found (less
    :data:`BOUND_TOL`), so the best is the minimum over the whole union; ``balls`` receives how many were solved.
    A ball past Ye's exponent cap (:func:`_cap_safe`: not convex there, so one start may stop at a local minimum) is
    solved from its anchor and from each of ``optima`` (the non-convex multistart's distinct optima, which left the
    radius) pulled toward the anchor into the ball (:func:`_into_ball`); the others from their anchor alone. Returns
    every start's (free weights, objective) and how many converged.

    The ball :math:`\\sum_j |r_j - w_{aj}| \\le \\rho` is written exactly, with one slack per free weight:
    :math:`t_j \\ge \\pm(r_j - w_{aj})`, :math:`\\sum_j t_j \\le \\rho` (linear, so SLSQP keeps it to rounding).
    A smoothed ball :math:`\\sum_j \\sqrt{(r_j - w_{aj})^2 + \\epsilon} \\le \\rho` lies strictly inside the
    true one: with :math:`\\rho` the distance from the run to the feasible set it met no feasible mixture, every
    anchor failed ('0 converged') and the anchor itself came back, not the best mixture on the ball's boundary.
    """
    full, F, lo, hi, rem = free.full, free.F, free.lo, free.hi, free.rem
    fixed_mask = np.ones(runs.shape[1], dtype=bool)
    fixed_mask[F] = False
    # One anchor per distinct mixture, in their content order (ties among anchors then break alike whatever the
    # table's order): a table's checkpoints (or sizes, or seeds) repeat each mixture, and repeats would fill the
    # N_ANCHORS best with copies of one ball.
    runs = runs[distinct_rows(runs)[0]]
    # Each run's anchor is the feasible mixture L1-nearest to it; a run whose nearest feasible mixture lies beyond
    # the radius has no feasible point in its ball and anchors nothing. (The anchors were the runs scaled and
    # projected onto the bounds: with --bounds code=0.1:0.2 the best-predicted runs lay outside them, their balls
    # held no feasible mixture, and the projected run came back as the optimum 0.21 from every run under
    # --trust-radius 0.1, though a run inside the bounds was there to anchor it.)
    nearest = [_l1_nearest_feasible(w[F], lo, hi, rem) for w in runs]
    anchors_free = np.array([x for x, _ in nearest])
    budgets = radius - np.abs(full(np.zeros(F.size))[fixed_mask][None, :] - runs[:, fixed_mask]).sum(axis=1)
    reach = np.array([d for _, d in nearest]) <= budgets + 1e-12
    if not reach.any():
        gap = float(np.min(np.array([d for _, d in nearest]) + radius - budgets))
        raise InputError(f"no mixture within {free.limits} lies within L1 {radius:g} of a run (the nearest lies "
                         f"{gap:.3g} from one): widen the radius (--trust-radius, trust_radius=) or "
                         + ("the bounds" if free.limits == "the bounds" else "loosen them"))
    with np.errstate(over="ignore", invalid="ignore"):
        Lr = ev.predict(free.full_rows(anchors_free))
    f_anchor = Lr @ s if s is not None else np.array([scalar(v) for v in Lr])
    f_rank = np.where(np.isfinite(f_anchor) & reach, f_anchor, np.inf)
    order = [a for a in np.argsort(f_rank, kind="stable") if reach[a]][:N_ANCHORS]
    # At least the anchor's own distance: a radius equal to it up to rounding (reach's 1e-12) is met there.
    dist = np.array([float(np.abs(anchors_free[a] - runs[a][F]).sum()) for a in range(len(runs))])
    budgets = np.maximum(budgets, dist)
    l1 = budgets + dist
    xs, objs, n_conv = [], [], 0
    # Ye's capped loss is concave where an exponent passes the cap by Z_CONVEX: a ball that reaches it is solved,
    # never pruned by a linearisation (there it is no lower bound), also from the multistart's optima (from its
    # anchor alone SLSQP stopped at a local minimum, 6.065, where its ball held 6.001), and the result is not called
    # global.
    safe = _cap_safe(ev, free, anchors_free, budgets + dist)
    multi: list[int] = []  # the balls also solved from the optima

    def solve_ball(a: int) -> None:
        nonlocal n_conv
        wF = runs[a][F]
        solve = _solver(ev, scalar, name, s, free, extra=[_l1_ball(wF, float(budgets[a]))],
                        aux_start=lambda x, wF=wF: np.abs(x - wF))
        starts = [anchors_free[a]]
        if prune and not safe[a] and len(optima):
            multi.append(a)
            starts += [_into_ball(y, anchors_free[a], wF, float(dist[a]), float(budgets[a])) for y in optima]
        best = (np.inf, False)
        for x0 in starts:
            x, f, ok = solve(x0)
            if nearest_run_l1(full(x), runs)[0] > radius + 1e-6:
                x, f, ok = anchors_free[a], float(f_anchor[a]), False  # solver left the ball: keep the anchor itself
            xs.append(x)
            objs.append(f)
            n_conv += int(ok)
            if not f >= best[0]:  # the ball's best start (a NaN never replaces a number)
                best = (f, ok)
        if not best[1]:
            failed.append(a)

    def _pulled(ks: list[int], x_best: np.ndarray) -> np.ndarray:  # _pulled_bounds at x_best pulled into each ball
        Q = np.array([_into_ball(x_best, anchors_free[k], runs[k][F], float(dist[k]), float(budgets[k])) for k in ks])
        return _pulled_bounds(ev, s, name, free, anchors_free[ks], l1[ks], Q)

    failed: list[int] = []
    for a in order:
        solve_ball(a)
    if prune:
        # Branch and bound over the other balls (a convex objective, so every linearisation is a valid lower bound):
        # each ball's bound from the linearisation at its anchor, raised by that at the best mixture found (a
        # ball on its uphill side cannot beat it) and by each eval's tangent at the best pulled into the ball
        # (_pulled_bounds), solved in increasing order of bound until the next bound cannot beat the best found.
        todo = [a for a in range(len(runs)) if reach[a] and a not in order]
        lower = np.full(len(runs), -np.inf)
        if todo:
            P = anchors_free[todo]
            lower[todo] = np.maximum(_linear_bounds(ev, s, free, P, l1[todo], safe[todo]),
                                     _monotone_bounds(ev, s, name, free, P, l1[todo]))
        seen = np.inf
        while todo:
            best, x_best = _best_found(xs, objs)
            if best < seen:
                seen = best
                lower[todo] = np.maximum(lower[todo], _pulled(todo, x_best))
                if _cap_safe(ev, free, x_best[None, :], np.zeros(1))[0]:
                    # its cut holds on a safe ball too: the exponents' maxima on their hull are those on the ball
                    # or at x_best, all within the convex part
                    lower[todo] = np.maximum(lower[todo], _linear_bounds(ev, s, free, anchors_free[todo], l1[todo],
                                                                         safe[todo], at=x_best))
            a = min(todo, key=lambda k: (lower[k], k))
            if lower[a] >= best - BOUND_TOL * max(1.0, abs(best)):
                break
            todo.remove(a)
            order.append(a)
            solve_ball(a)
    open_balls = 0
    if prune and failed:
        # A ball whose SLSQP did not converge is not solved: its value is only an upper bound of its minimum, which
        # may lie below the best found (a linear law whose best ball stopped at its anchor said 1.050 'convex: the
        # optimum is global', its minimum 1.020). Proven only if its lower bound cannot beat the best either.
        # past Ye's exponent cap a linearisation bounds nothing (cap32): such a failed ball is ruled out only by the
        # bounds that hold there (each loss at its smallest exponent, the tangents of the evals that stay convex)
        best, x_best = _best_found(xs, objs)
        P = anchors_free[failed]
        low = np.maximum.reduce([_linear_bounds(ev, s, free, P, l1[failed], safe[failed]),
                                 _monotone_bounds(ev, s, name, free, P, l1[failed]), _pulled(failed, x_best)])
        if _cap_safe(ev, free, x_best[None, :], np.zeros(1))[0]:
            low = np.maximum(low, _linear_bounds(ev, s, free, P, l1[failed], safe[failed], at=x_best))
        open_balls = int(np.sum(~(low >= best - BOUND_TOL * max(1.0, abs(best)))))
    if balls is not None:
        # [solved, in reach, not converged and not ruled out, every ball in reach within the convex part, solved
        # also from the multistart's optima (past the cap)]
        balls[:] = [len(order), int(reach.sum()), open_balls, int(bool(np.all(safe[reach]))), len(multi)]
    return xs, objs, n_conv


def _into_ball(y: np.ndarray, p: np.ndarray, wF: np.ndarray, dist: float, budget: float) -> np.ndarray:
    r"""The feasible free weights ``y`` moved toward the ball's anchor ``p`` (feasible, L1 ``dist`` <= ``budget`` from
    the run's ``wF``) until within L1 ``budget`` of ``wF``: the L1 distance is convex, so the point a share
    :math:`\lambda` of the way from ``p`` to ``y`` lies within :math:`(1 - \lambda)\,\mathrm{dist} + \lambda
    \|y - w_F\|_1` of ``wF``, and a convex combination of two feasible points is feasible."""
    d = float(np.abs(y - wF).sum())
    return y if d <= budget else p + (budget - dist) / (d - dist) * (y - p)


def _best_found(xs: list[np.ndarray], objs: list[float]) -> tuple[float, np.ndarray]:
    """The smallest finite objective of the balls' starts solved so far, and its free weights."""
    f = np.where(np.isfinite(objs), objs, np.inf)
    return float(np.min(f)), xs[int(np.argmin(f))]


def _linear_bounds(ev: _LawEval, s: np.ndarray | None, free: _Free, P: np.ndarray, l1: np.ndarray,
                   safe: np.ndarray, at: np.ndarray | None = None) -> np.ndarray:
    """Lower bounds of the objective on the balls around the free weights ``P`` (L1 ``l1``) from its linearisation at
    each ball's own anchor, or at the one point ``at`` (the best mixture found); -inf where ``safe`` is False (past
    Ye's exponent cap a linearisation bounds nothing). One helper for the branch and bound and its check of the balls
    that did not converge."""
    n = len(P)
    if at is None:
        cuts = [_cut(ev, s, free, p) for p in P]
        L, G, Q = np.array([c[0] for c in cuts]), np.array([c[1] for c in cuts]), P
    else:
        Lb, Gb = _cut(ev, s, free, at)
        L, G = np.broadcast_to(Lb, (n, *Lb.shape)), np.broadcast_to(Gb, (n, *Gb.shape))
        Q = np.broadcast_to(at, (n, at.size))
    return np.where(safe, _ball_bounds(L, G, Q, P, free, l1), -np.inf)


def _monotone_bounds(ev: _LawEval, s: np.ndarray | None, name: str, free: _Free, P: np.ndarray,
                     l1: np.ndarray) -> np.ndarray:
    r"""Lower bounds of the minimised objective over the feasible mixtures within L1 ``l1[b]`` of ``P[b]`` that need
    no convexity: Ye's loss rises with its exponent, capped or not, so each :math:`L_i \ge L_i(\min z_i)` there
    (:func:`_linear_min`), and :math:`s^\top L` (s >= 0) or :math:`\max_i L_i` is at least that of these. A ball
    reaching past the cap (:func:`_cap_safe`) is pruned by these alone. -inf for other laws."""
    if not ev.analytic:
        return np.full(len(P), -np.inf)
    zlo, _ = _exponent_range(ev, free, P, l1)
    with np.errstate(over="ignore", invalid="ignore"):
        L = ev.c + np.exp(ev.log_k + ev._capped(zlo)[0])
        out = L @ s if s is not None else L.max(axis=1) if name == "max" else np.full(len(P), -np.inf)
    return np.where(np.isfinite(out), out, -np.inf)


def _pulled_bounds(ev: _LawEval, s: np.ndarray | None, name: str, free: _Free, P: np.ndarray, l1: np.ndarray,
                   Q: np.ndarray) -> np.ndarray:
    r"""Lower bounds of the minimised objective over the feasible mixtures within L1 ``l1[b]`` of ``P[b]`` from a
    point ``Q[b]`` of each (the best mixture found pulled into the ball, :func:`_into_ball`, near where the ball's
    minimum lies when the best lies outside it), eval by eval: where an eval's exponent stays within
    :data:`Z_CONVEX` of its cap over the ball its loss is convex there and at least its tangent at ``Q[b]``; where
    it does not, at least its loss at its smallest exponent there (:func:`_monotone_bounds`). So a ball past the
    cap for one eval is still bounded through the others' tangents, and a convex ball through tangents near its
    minimum, not only at its anchor (where, on RegMix's 512 balls with ``--extrapolate``, every bound lay under the
    best found). -inf for laws other than Ye's analytic one and objectives other than :math:`s^\top L` and max."""
    n = len(P)
    if not ev.analytic or (s is None and name != "max"):
        return np.full(n, -np.inf)
    F, lo, hi, l1 = free.F, free.lo, free.hi, np.asarray(l1, dtype=float)
    zlo, zhi = _exponent_range(ev, free, P, l1)
    convex = zhi <= ev.z_max + Z_CONVEX  # (n, K); all True without a cap
    with np.errstate(over="ignore", invalid="ignore"):
        Lmin = ev.c + np.exp(ev.log_k + ev._capped(zlo)[0])
        z, dz = ev._capped(free.full_rows(Q) @ ev.T.T)
        e = np.exp(ev.log_k + z)
        Lq, G = ev.c + e, (e * dz)[:, :, None] * ev.T[None, :, F]  # (n, K), (n, K, |F|)
        if s is not None:
            Gs = np.einsum("k,bk,bkn->bn", s, convex, G)
            out = np.where(convex, Lq, Lmin) @ s + np.einsum("bn,bn->b", Gs, P - Q) + _linear_min(Gs, P, lo, hi, l1)
        else:
            out = np.full(n, -np.inf)
            for i in range(ev.K):
                tangent = Lq[:, i] + np.einsum("bn,bn->b", G[:, i], P - Q) + _linear_min(G[:, i], P, lo, hi, l1)
                out = np.maximum(out, np.where(convex[:, i], tangent, Lmin[:, i]))
    return np.where(np.isfinite(out), out, -np.inf)


def _cap_safe(ev: _LawEval, free: _Free, P: np.ndarray, l1: np.ndarray) -> np.ndarray:
    r"""Per row b, whether every eval's exponent :math:`t_i^\top r` stays within :data:`Z_CONVEX` of its cap
    (:meth:`_LawEval.convex_on`) on the feasible mixtures within L1 ``l1[b]`` of the free weights ``P[b]``: its
    maximum there is :math:`t_i^\top p_b` less :func:`_linear_min` of :math:`-t_i` (exact). All True for laws
    without the cap."""
    if not ev.analytic or not np.isfinite(ev.z_max).any():
        return np.ones(len(P), dtype=bool)
    return np.all(_exponent_range(ev, free, P, l1)[1] <= ev.z_max + Z_CONVEX, axis=1)


def _exponent_range(ev: _LawEval, free: _Free, P: np.ndarray, l1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Per row b and eval i, the smallest and largest of Ye's exponent :math:`t_i^\top r` over the feasible
    mixtures within L1 ``l1[b]`` of the free weights ``P[b]``: :math:`t_i^\top p_b` plus :func:`_linear_min` of
    :math:`t_i`, less that of :math:`-t_i` (exact); (B, K) each. The fixed weights' part is a constant. One helper
    for :func:`_cap_safe`, :func:`_monotone_bounds` and :func:`_pulled_bounds`."""
    F, l1 = free.F, np.asarray(l1, dtype=float)
    base = ev.T @ free.full(np.zeros(F.size))  # (K,) the fixed weights' part of each exponent
    zlo, zhi = np.empty((len(P), ev.K)), np.empty((len(P), ev.K))
    for i in range(ev.K):
        tF = np.broadcast_to(ev.T[i, F], P.shape)
        mid = base[i] + P @ ev.T[i, F]
        zlo[:, i] = mid + _linear_min(tF, P, free.lo, free.hi, l1)
        zhi[:, i] = mid - _linear_min(-tF, P, free.lo, free.hi, l1)
    return zlo, zhi


def _cut(ev: _LawEval, s: np.ndarray | None, free: _Free, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The minimised objective's linearisation at the free weights ``q``: (values (k,), gradients (k, n)), k = 1
    for a linear objective :math:`s^\\top L` (gradient :math:`s^\\top J`), one row per eval for ``max``. The
    gradient is the law's analytic one (Ye) or :class:`_LawEval`'s finite differences (step ``FD_STEP``: exact to
    rounding for the affine ``linear``, to :math:`O(h^2)` for ``loglinear``; :data:`BOUND_TOL` covers it)."""
    with np.errstate(over="ignore", invalid="ignore"):
        L, J = ev.value_jac(free.full(q))
    G = J[:, free.F]
    if s is not None:
        L, G = np.array([s @ L]), (s @ G)[None, :]
    return L, G


def _linear_min(G: np.ndarray, P: np.ndarray, lo: np.ndarray, hi: np.ndarray, l1: np.ndarray) -> np.ndarray:
    r"""Per row b, the minimum of :math:`g_b^\top \delta` over :math:`\delta` with :math:`\sum_j \delta_j = 0`,
    :math:`\|\delta\|_1 \le l_b` and :math:`\ell \le p_b + \delta \le u` (``G``, ``P``: (B, n); ``l1``: (B,)):
    move mass from the weights of the largest :math:`g_j` (down to :math:`\ell_j`) to those of the smallest (up to
    :math:`u_j`) while it pays, at most :math:`l_b / 2` in all (a fractional knapsack: the greedy transfer is the
    linear program's optimum)."""
    iu, idn = np.argsort(G, axis=1, kind="stable"), np.argsort(-G, axis=1, kind="stable")
    cu = np.cumsum(np.take_along_axis(np.maximum(hi - P, 0.0), iu, 1), axis=1)
    cd = np.cumsum(np.take_along_axis(np.maximum(P - lo, 0.0), idn, 1), axis=1)
    mass = np.minimum(np.minimum(l1 / 2, cu[:, -1]), cd[:, -1])[:, None]
    T = np.sort(np.hstack([np.zeros_like(mass), mass, np.minimum(cu, mass), np.minimum(cd, mass)]), axis=1)
    mid = (T[:, :-1] + T[:, 1:])[:, :, None] / 2
    last = G.shape[1] - 1
    gu = np.take_along_axis(np.take_along_axis(G, iu, 1), np.minimum((cu[:, None, :] < mid).sum(-1), last), 1)
    gd = np.take_along_axis(np.take_along_axis(G, idn, 1), np.minimum((cd[:, None, :] < mid).sum(-1), last), 1)
    return np.sum(np.diff(T, axis=1) * np.minimum(gu - gd, 0.0), axis=1)


def _ball_bounds(L: np.ndarray, G: np.ndarray, Q: np.ndarray, P: np.ndarray, free: _Free,
                 l1: np.ndarray) -> np.ndarray:
    r"""Lower bounds of the (convex) minimised objective f over balls from linearisations: for ball b with anchor
    :math:`p_b` and a linearisation at :math:`q_b` (``L``: (B, k) values, ``G``: (B, k, n) gradients, ``Q``: (B, n)),
    :math:`f(x) \ge f_i(q_b) + g_i^\top (p_b - q_b) + g_i^\top (x - p_b)` for each convex part :math:`f_i \le f`
    (the objective itself, or each eval's loss of ``max``), the last term at least :func:`_linear_min` over the
    feasible mixtures within L1 ``l1`` of :math:`p_b` (the ball's radius plus the anchor's distance to its run, so
    the set holds the ball); bounds and fixed weights only shrink the ball, so the bound stays valid (weaker or
    equal). Rows with a non-finite part are -inf (solved, not pruned)."""
    out = np.full(len(P), -np.inf)
    for i in range(L.shape[1]):
        with np.errstate(invalid="ignore", over="ignore"):
            b = L[:, i] + np.einsum("bn,bn->b", G[:, i], P - Q) + _linear_min(G[:, i], P, free.lo, free.hi, l1)
        out = np.maximum(out, np.where(np.isfinite(b), b, -np.inf))
    bad = ~np.all(np.isfinite(L), axis=1) | ~np.all(np.isfinite(G), axis=(1, 2))
    out[bad] = -np.inf
    return out


def _l1_nearest_feasible(w: np.ndarray, lo: np.ndarray, hi: np.ndarray, rem: float) -> tuple[np.ndarray, float]:
    r"""The point of :math:`\{x: \ell \le x \le u, \sum x = s\}` (non-empty) L1-nearest to ``w``, and its distance.

    Clip ``w`` into the box, then move the excess (or deficit) of the sum onto the coordinates with room, each
    in proportion to it: every unit moved costs one unit of L1 (no coordinate that moves can move towards its
    ``w_j``), so the distance is the clipping's plus the sum's gap, the least any feasible point can have.
    """
    c = np.clip(w, lo, hi)
    e = float(c.sum() - rem)
    room = c - lo if e > 0 else hi - c
    if abs(e) > 0 and room.sum() > 0:
        c = c - np.sign(e) * room * min(1.0, abs(e) / float(room.sum()))
    return c, float(np.abs(c - w).sum())


def _l1_ball(wF: np.ndarray, budget: float) -> dict:
    """SLSQP's constraint :math:`\\sum_j |x_j - w_j| \\le b` in linear form over ``v = [x, (z), t]``, the last
    ``n`` entries ``t`` the slacks (:func:`_solver`'s ``aux_start``): t - (x - w) >= 0, t + (x - w) >= 0,
    b - sum(t) >= 0."""
    n = wF.size

    def fun(v: np.ndarray) -> np.ndarray:
        x, t = v[:n], v[v.size - n:]
        return np.concatenate([t - (x - wF), t + (x - wF), [budget - t.sum()]])

    def jac(v: np.ndarray) -> np.ndarray:
        J = np.zeros((2 * n + 1, v.size))
        eye = np.eye(n)
        J[:n, :n], J[n:2 * n, :n] = -eye, eye
        J[:n, v.size - n:] = J[n:2 * n, v.size - n:] = eye
        J[2 * n, v.size - n:] = -1.0
        return J

    return {"type": "ineq", "fun": fun, "jac": jac}

