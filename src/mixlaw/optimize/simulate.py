"""Gradient-free search by simulation (RegMix's recipe): sample many mixtures around the prior, predict them,
and average the top k.

.. math::

    r^{(s)} \\sim \\mathrm{Dirichlet}(c_s\\, \\pi), \\quad s = 1..S; \\qquad
    r^\\star = \\frac1k \\sum_{s \\in \\text{top-}k} r^{(s)}

with :math:`\\pi` the natural (prior) mixture and :math:`c_s` the concentration of sample s, log-uniform in
``strength`` (RegMix uses :math:`c = 1`, S = 100 000 and k = 128 in its ``regression.ipynb``; a range
mixes sparse and near-prior mixtures). Samples are projected onto the feasible set (bounds, fixed weights,
availability caps, the trust region); the feasible set is convex, so their average stays in it. This is the
search for laws without a useful gradient (tree ensembles are piecewise constant: SLSQP sees a zero
gradient and stops at its start), and any law can use it.

References
----------
Liu et al., "RegMix: Data Mixture as Regression for Language Model Pre-training", ICLR 2025,
arXiv:2407.01492, §3.3 ("simulate ... 1M ... average the top-100/128 mixtures").
"""

from __future__ import annotations

import multiprocessing
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from .._workers import resolve_workers, threads_stopped
from ..errors import InputError

#: Mixtures sampled (RegMix's notebook: 100 000; its paper: up to 1M).
DEFAULT_SAMPLES = 100_000
#: Best samples averaged (RegMix: 128).
DEFAULT_TOP_K = 128
#: Range of the Dirichlet concentration sum(alpha) (log-uniform): 1 is RegMix's sparse draw, 1000 stays near
#: the prior; together they cover what a run table of random mixtures spans.
DEFAULT_STRENGTH = (1.0, 1000.0)
#: Rows predicted per law call (bounds memory: some laws build (rows, M, K) arrays).
CHUNK = 8192


def project_rows(Y: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: float = 1.0, n_iter: int = 64) -> np.ndarray:
    """Row-wise Euclidean projection onto :math:`\\{x: \\ell \\le x \\le u, \\sum x = s\\}` (vectorised bisection).

    The same projection as :func:`mixlaw.optimize.project_box_simplex`, for many rows at once:
    :math:`x = \\mathrm{clip}(y - \\lambda, \\ell, u)` with one multiplier per row, found by bisection (64
    halvings of a bracket of width ~2 reach ~1e-19). Rows already inside the box are left as they are.
    """
    Y = np.asarray(Y, dtype=np.float64)
    out = Y.copy()
    bad = np.any(Y < lo, axis=1) | np.any(Y > hi, axis=1) | (np.abs(Y.sum(axis=1) - total) > 1e-12)
    if not bad.any():
        return out
    Z = Y[bad]
    a = (Z - hi).min(axis=1) - 1.0
    b = (Z - lo).max(axis=1) + 1.0
    for _ in range(n_iter):
        mid = 0.5 * (a + b)
        over = np.clip(Z - mid[:, None], lo, hi).sum(axis=1) > total
        a = np.where(over, mid, a)
        b = np.where(over, b, mid)
    out[bad] = np.clip(Z - 0.5 * (a + b)[:, None], lo, hi)
    return out


def sample_mixtures(prior: np.ndarray, n: int, rng: np.random.Generator,
                    strength: tuple[float, float] = DEFAULT_STRENGTH) -> np.ndarray:
    """``n`` Dirichlet(c * prior) draws, c log-uniform in ``strength``; (n, M), rows on the simplex."""
    lo_s, hi_s = (float(v) for v in strength)
    if not (0 < lo_s <= hi_s and np.isfinite(hi_s)):
        raise InputError(f"strength must be 0 < lo <= hi; got {strength!r}")
    p = np.maximum(np.asarray(prior, dtype=np.float64), 1e-6)  # Dirichlet needs alpha > 0
    p = p / p.sum()
    c = np.exp(rng.uniform(np.log(lo_s), np.log(hi_s), size=n))
    # Gamma draws: Dirichlet(alpha) = G / sum G with G_j ~ Gamma(alpha_j); tiny alphas underflow to 0 rows.
    G = rng.standard_gamma(c[:, None] * p[None, :])
    s = G.sum(axis=1, keepdims=True)
    bad = s[:, 0] <= 0
    G[bad] = p
    s[bad] = 1.0
    return G / s


#: What forked prediction workers inherit (:func:`_score_rows`): the objective and the sampled mixtures.
_ROWS: dict[str, Any] = {}


def _chunk_objective(start: int) -> tuple[np.ndarray, list[warnings.WarningMessage]]:
    """A forked worker's chunk of :data:`_ROWS`: its objective values and the warnings its prediction raised."""
    with warnings.catch_warnings(record=True) as caught:
        f = _ROWS["objective_rows"](_ROWS["R"][start:start + CHUNK])
    return f, list(caught)


def _score_rows(objective_rows: Callable[[np.ndarray], np.ndarray], R: np.ndarray,
                n_jobs: int | str | None) -> np.ndarray:
    """The objective of every row of ``R``, in chunks of :data:`CHUNK`: in this process, or on ``n_jobs`` forked
    workers that inherit the law (a row's prediction is the same wherever it is made, so the values are identical;
    the workers' warnings are raised again here, each once, from where they were raised).

    Why: a law without a gradient (lightgbm) is searched by simulation, and predicting RegMix's 100 000 mixtures was
    98 of the 426 s of ``mixlaw optimize --dataset regmix --objective mean`` (auto chose lightgbm per eval: 13
    boosters), on one core. Processes, not LightGBM's threads: LightGBM's OpenMP threads in a process that forks
    later (a CV, a bootstrap) may hang the child (LightGBM's FAQ)."""
    starts = list(range(0, len(R), CHUNK))
    workers = min(resolve_workers(n_jobs, default=1), len(starts))
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return np.concatenate([objective_rows(R[i:i + CHUNK]) for i in starts])
    _ROWS.update(objective_rows=objective_rows, R=R)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as ex:
            with threads_stopped():  # the first submit forks every worker (mixlaw._workers)
                done = ex.map(_chunk_objective, starts)
            parts = list(done)
    finally:
        _ROWS.clear()
    seen: dict[Any, int] = {}  # the warnings registry of this call: a warning of every chunk is said once
    for _, caught in parts:
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, registry=seen)
    return np.concatenate([f for f, _ in parts])


def simulate_search(objective_rows: Callable[[np.ndarray], np.ndarray], prior: np.ndarray, lo: np.ndarray,
                    hi: np.ndarray, total: float, rng: np.random.Generator, *, n_samples: int = DEFAULT_SAMPLES,
                    top_k: int = DEFAULT_TOP_K, strength: tuple[float, float] = DEFAULT_STRENGTH,
                    keep: Callable[[np.ndarray], np.ndarray] | None = None,
                    n_jobs: int | str | None = None, info: dict[str, Any] | None = None,
                    ) -> tuple[np.ndarray, np.ndarray, int]:
    """Sample, project, score and average: returns (x*, the top-k objective values, samples kept).

    Parameters
    ----------
    objective_rows : callable
        (n, m) free weights -> (n,) objective (NaN/inf for mixtures the law cannot score).
    prior : (m,) array
        Centre of the draws (free coordinates; rescaled to ``total``).
    lo, hi : (m,) arrays
        Bounds of the free coordinates; ``total`` their sum.
    keep : callable, optional
        (n, m) -> bool (n,): extra membership test (e.g. within an L1 radius of the runs); rejected samples
        are dropped, and a mean of the top samples that the test rejects (a union of L1 balls is not convex) is
        moved toward the best sample, to the last point of that segment the test keeps.
    info : dict, optional
        Filled with ``"toward_best"``: the share of the way from the mean to the best sample the result was moved
        (0: the mean itself).
    n_jobs : int or "auto", optional
        Forked worker processes predicting the samples (None or 1: this process; ``"auto"``: the usable CPUs, at
        most 8). The result does not depend on it.
    """
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise InputError(f"n_samples (--samples) must be a positive int; got {n_samples!r}")
    if not isinstance(top_k, (int, np.integer)) or not 1 <= top_k <= n_samples:
        raise InputError(f"top_k (--top-k) must be an int in [1, n_samples={n_samples}]; got {top_k!r}")
    prior = np.asarray(prior, dtype=np.float64)
    if prior.sum() <= 0:
        prior = np.ones_like(prior)
    R = sample_mixtures(prior / prior.sum(), int(n_samples), rng, strength) * total
    R = project_rows(R, lo, hi, total)
    if keep is not None:
        R = R[keep(R)]
        if len(R) < top_k:
            # The mean is over the top_k best of the mixtures kept, so fewer of them suffice: lowering top_k is the
            # most direct way out (it was not named), unless none is kept.
            lower = f"lower top_k (--top-k) to {len(R)} or fewer, " if len(R) else ""
            raise InputError(f"only {len(R)} of {n_samples} sampled mixtures lie in the trust region; need top_k="
                             f"{top_k} ({lower}raise n_samples (--samples), widen the radius (--trust-radius), or "
                             "extrapolate: within_fitted_range=False, extrapolate=True, --extrapolate)")
    f = _score_rows(objective_rows, R, n_jobs)
    f = np.where(np.isfinite(f), f, np.inf)
    if not np.isfinite(f).any():
        raise InputError("the law predicts no finite objective for any sampled mixture")
    top = np.argsort(f, kind="stable")[:top_k]
    top = top[np.isfinite(f[top])]
    x, moved = R[top].mean(axis=0), 0.0
    if keep is not None and not keep(x[None, :])[0]:
        # Each sample lies within the radius of some run, their mean need not: 'optimize --law additive --search
        # simulate --trust-radius 0.3' on Olmix's DCLM swarm returned a mixture 0.88 from every run (hunt31). Back
        # along the segment to the best sample (inside, as the mean is inside the box and simplex), by bisection.
        best, inside, outside = R[top[0]], 1.0, 0.0  # fractions of the way from the mean to the best sample
        for _ in range(40):
            t = 0.5 * (inside + outside)
            if keep((x + t * (best - x))[None, :])[0]:
                inside = t
            else:
                outside = t
        x, moved = x + inside * (best - x), inside
    if info is not None:
        info["toward_best"] = moved
    return x, f[top], len(R)


def nearest_run_l1(r: np.ndarray, runs: np.ndarray) -> tuple[float, int]:
    """L1 distance :math:`\\min_n \\lVert r - w_n \\rVert_1` from ``r`` to the nearest run, and that run's index."""
    d = np.abs(np.asarray(runs, dtype=np.float64) - np.asarray(r, dtype=np.float64)[None, :]).sum(axis=1)
    j = int(np.argmin(d))
    return float(d[j]), j


#: Mixtures whose nearest-neighbour distances estimate the runs' spacing (all of them below this many).
SPACING_SAMPLE = 2000


def run_spacing_l1(runs: np.ndarray) -> float | None:
    """Median over the distinct mixtures of the runs of the L1 distance to the nearest other one (None with fewer
    than 2).

    The scale against which :func:`nearest_run_l1` of an optimum reads: in a sparse or many-domain swarm
    (Olmix's 512 runs over 64 domains lie a median 0.82 apart) an optimum 0.9 from every run is as near the
    data as the runs are to each other; in a dense 7-domain sweep (0.27) it would be far outside them. Mixtures
    repeated at several sizes or checkpoints count once.
    """
    W = np.unique(np.round(np.asarray(runs, dtype=np.float64), 12), axis=0)
    if len(W) < 2:
        return None
    # The median of a seeded sample of SPACING_SAMPLE mixtures' nearest-neighbour distances (each against every
    # mixture), so a 100k-run table costs O(SPACING_SAMPLE n) and not O(n^2); blocks keep each (block, n, M)
    # array within 64 MB.
    rows = np.arange(len(W))
    if len(W) > SPACING_SAMPLE:
        rows = np.sort(np.random.default_rng(0).choice(len(W), SPACING_SAMPLE, replace=False))
    step = max(1, int(64e6 // (8 * W.size)))
    nn = np.empty(len(rows))
    for i in range(0, len(rows), step):
        q = rows[i:i + step]
        d = np.abs(W[q, None, :] - W[None, :, :]).sum(axis=2)
        d[np.arange(len(q)), q] = np.inf
        nn[i:i + step] = d.min(axis=1)
    return float(np.median(nn))


def within_radius(runs: np.ndarray, radius: float) -> Callable[[np.ndarray], np.ndarray]:
    """Membership test of the union of L1 balls of ``radius`` around the runs (rows of full mixtures)."""
    W = np.asarray(runs, dtype=np.float64)

    def keep(R: np.ndarray) -> np.ndarray:
        out = np.zeros(len(R), dtype=bool)
        for i in range(0, len(R), 512):
            block = R[i:i + 512]
            d = np.abs(block[:, None, :] - W[None, :, :]).sum(axis=2).min(axis=1)
            out[i:i + 512] = d <= radius
        return out

    return keep


__all__ = ["simulate_search", "sample_mixtures", "project_rows", "nearest_run_l1", "run_spacing_l1", "within_radius",
           "DEFAULT_SAMPLES", "DEFAULT_TOP_K", "DEFAULT_STRENGTH"]
