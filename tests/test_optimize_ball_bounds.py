"""The trust radius's branch and bound (:mod:`mixlaw.optimize.balls`) rules a ball out by a lower bound of the
objective on it; a bound above the ball's minimum would prune the ball holding the optimum and call the result
global. Each bound, on random Ye evals (caps or none, crossed or not), fixed weights and bounds, mean, max and
weights: never above the objective at any sampled mixture of the ball (review33c: 3600 balls, none above)."""

from __future__ import annotations

import numpy as np
import pytest

from mixlaw.optimize import balls
from mixlaw.optimize.constraints import project_box_simplex
from mixlaw.optimize.objective import _LawEval
from mixlaw.optimize.slsqp import _Free


def _ye(rng: np.random.Generator, K: int, M: int) -> _LawEval:
    """Ye's c_i + k_i exp(sat(t_i . r)), its parameters drawn (k_i > 0: exp(log_k)); the cap on most evals."""
    ev = _LawEval.__new__(_LawEval)
    ev.analytic, ev.K = True, K
    ev.c, ev.log_k = rng.uniform(0.0, 3.0, K), rng.uniform(-1.0, 1.0, K)
    ev.T = rng.normal(0.0, rng.choice([1.0, 3.0, 8.0]), size=(K, M))
    ev.z_max = np.where(rng.random(K) < 0.7, rng.uniform(-1.0, 3.0, K), np.inf)
    return ev


def _ball(rng: np.random.Generator, p: np.ndarray, l1: float, free: _Free, n: int) -> np.ndarray:
    """Feasible free weights within L1 ``l1`` of ``p``: p moved along random zero-sum directions, a third of them
    as far as the ball, the bounds or the simplex let them (its boundary, where a concave part has its minimum)."""
    D = rng.dirichlet(np.full(p.size, 0.3), n) - rng.dirichlet(np.full(p.size, 0.3), n)
    D -= D.mean(axis=1, keepdims=True)
    D = D[np.abs(D).sum(axis=1) > 1e-6]
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(D > 0, (free.hi - p) / D, np.inf).min(axis=1)
        down = np.where(D < 0, (free.lo - p) / D, np.inf).min(axis=1)
    t = np.minimum(np.minimum(l1 / np.abs(D).sum(axis=1), up), down)
    t *= np.where(rng.random(len(D)) < 0.3, 1.0, rng.random(len(D)) ** 0.3)
    return p + t[:, None] * D


@pytest.mark.parametrize("seed", range(3))
def test_every_lower_bound_lies_below_the_ball(seed: int) -> None:
    rng = np.random.default_rng(seed)
    checked = capped = 0
    for _ in range(25):
        K, M = int(rng.integers(2, 5)), int(rng.integers(3, 7))
        ev = _ye(rng, K, M)
        fixed = np.zeros(M)
        F = np.arange(M)
        if rng.random() < 0.3:
            j = int(rng.integers(M))
            fixed[j] = 0.2
            F = np.delete(F, j)
        rem = 1.0 - fixed.sum()
        lo, hi = np.zeros(F.size), np.full(F.size, rem)
        if rng.random() < 0.4:
            lo, hi = rng.uniform(0.0, 0.1, F.size) * rem, rng.uniform(0.4, 1.0, F.size) * rem
        free = _Free(fixed, F, lo, hi, rem)
        P = np.array([project_box_simplex(rng.dirichlet(np.ones(F.size)) * rem, lo, hi, rem) for _ in range(4)])
        l1 = rng.uniform(0.02, 1.0, 4)
        Q = np.array([_ball(rng, p, r, free, 3)[0] for p, r in zip(P, l1, strict=True)])  # a point of each ball
        at = project_box_simplex(rng.dirichlet(np.ones(F.size)) * rem, lo, hi, rem)  # the best found, anywhere
        safe = balls._cap_safe(ev, free, P, l1)
        capped += int(np.sum(~safe))
        for s, name in ((np.full(K, 1.0 / K), "mean"), (None, "max"), (rng.dirichlet(np.ones(K)), "weights=")):
            bounds = {"pulled": balls._pulled_bounds(ev, s, name, free, P, l1, Q),
                      "monotone": balls._monotone_bounds(ev, s, name, free, P, l1),
                      "anchor": balls._linear_bounds(ev, s, free, P, l1, safe)}
            if balls._cap_safe(ev, free, at[None, :], np.zeros(1))[0]:  # as _radius_solve takes it
                bounds["best"] = balls._linear_bounds(ev, s, free, P, l1, safe, at=at)
            for b in range(len(P)):
                X = _ball(rng, P[b], float(l1[b]), free, 2000)
                with np.errstate(over="ignore", invalid="ignore"):
                    L = ev.predict(free.full_rows(X))
                    f = L @ s if s is not None else L.max(axis=1)
                low = float(np.nanmin(f))
                if not np.isfinite(low):
                    continue
                checked += 1
                for kind, bound in bounds.items():
                    assert bound[b] <= low + 1e-9 * max(1.0, abs(low)), (kind, name, b, bound[b], low)
    assert checked > 200 and capped > 0
