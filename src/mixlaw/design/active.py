"""Active design: the next ``k`` mixtures after some runs, by query-by-committee near the predicted optimum.

The committee is the law refitted on bootstrap resamples of the runs (:func:`mixlaw.bootstrap.bootstrap_law`);
candidates are drawn within an L1 radius of the optimum under the optimiser's constraints, and the ``k``
chosen greedily where the committee's predicted objective disagrees most, discounting candidates near runs
already made or already chosen (mixlaw's own method).

References
----------
Seung, Opper & Sompolinsky, "Query by committee", COLT 1992.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

from .._validation import check_random_state, renamed
from ..bootstrap import bootstrap_law
from ..data import RunTable, frame_as_table, note_left_out
from ..errors import ExtrapolationWarning, FitError, InputError, WeightRangeWarning, user_stacklevel
from ..evals import unweighted_gaps
from ..laws.base import MixingLaw, check_law_arg, get_law
from ..optimize import (
    _LawEval,
    _make_scalar,
    _objective_weights,
    check_enough_runs,
    optimize_mixture,
    project_box_simplex,
)
from ..optimize.objective import objective_label
from .sampling import _dedup, design_frame
from .select import _last_checkpoints

# Defaults sized to run in seconds on 2 cores (one Ye fit on ~20 runs and 2 evals takes ~0.05 s):
# 32 refits put the std of the ensemble std within ~13 % (1/sqrt(2(B-1))), enough to rank candidates whose
# disagreement differs by factors; 2000 candidates are ~45 per unit of L1 distance in 4 domains.
ACTIVE_N_BOOTSTRAP = 32
ACTIVE_N_CANDIDATES = 2000
#: L1 radius of the neighbourhood searched around the predicted optimum (2 is the simplex's diameter).
ACTIVE_RADIUS = 0.25
#: Proposals closer than this (L1) to a run or to each other would be near-replicates: a mixture 1 % of the
#: mass away from another one moves each loss by well under typical proxy-run noise.
ACTIVE_MIN_DISTANCE = 0.02


def _feasible_draws(lo: np.ndarray, hi: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` mixtures spread over ``{lo <= r <= hi, sum r = 1}``.

    The lower bounds are met exactly by ``r = lo + (1 - sum lo) * Dir(1)`` over the domains with room;
    upper bounds by rejection; draws still missing after a few rounds (tight upper bounds) are projected
    onto the set (:func:`mixlaw.optimize.project_box_simplex`), which puts them on its boundary.
    """
    room = np.flatnonzero(hi - lo > 1e-12)
    free = 1.0 - float(lo.sum())
    if room.size == 0 or free <= 0:
        return np.tile(lo, (n, 1))
    kept: list[np.ndarray] = []
    got = 0
    for _ in range(10):
        U = np.tile(lo, (4 * n, 1))
        U[:, room] += free * rng.dirichlet(np.ones(room.size), size=4 * n)
        U = U[np.all(U <= hi + 1e-12, axis=1)]
        kept.append(U)
        got += len(U)
        if got >= n:
            break
    U = np.vstack(kept)[:n]
    if len(U) < n:
        extra = rng.dirichlet(np.ones(lo.size), size=n - len(U))
        U = np.vstack([U, np.array([project_box_simplex(u, lo, hi) for u in extra])])
    return U


def _reduce_objective(L: np.ndarray, name: str, s: np.ndarray | None, objective: Any) -> np.ndarray:
    """Per-eval losses (..., K) -> the objective (...), as :func:`mixlaw.optimize.optimize_mixture` scores it."""
    if s is not None:
        return L @ s
    if name == "max":
        return L.max(axis=-1)
    scalar = _make_scalar(name, s, objective)
    return np.apply_along_axis(scalar, -1, L)


def _greedy_committee(A: np.ndarray, C: np.ndarray, k: int, noise_var: float,
                      min_distance: float) -> tuple[list[int], list[float]]:
    """Pick k columns of the centred ensemble A (B, n_cand) by conditioned variance; return them and their std.

    Conditioning is the square-root (ensemble Kalman) form of ``Sigma <- Sigma - s s^T / (s_p + noise)``
    with ``s = A^T a_p``: ``A <- (I - beta v v^T) A`` with ``v = a_p`` and ``beta`` solving
    ``(I - beta v v^T)^2 = I - v v^T / (|v|^2 + noise)``, so A stays (B, n_cand) and Sigma is never formed.
    """
    A = A.copy()
    eligible = np.ones(A.shape[1], dtype=bool)
    picks: list[int] = []
    picked_std: list[float] = []
    for _ in range(k):
        if not eligible.any():
            raise InputError(f"only {len(picks)} candidates are at least min_distance={min_distance:g} apart; "
                             f"cannot propose {k} (lower --n (k=), raise --radius (radius=) or n_candidates=, or lower "
                             "min_distance=)")
        var = np.sum(A * A, axis=0)
        i = int(np.argmax(np.where(eligible, var, -np.inf)))
        picks.append(i)
        picked_std.append(float(np.sqrt(var[i])))
        v = A[:, i].copy()
        vv = float(v @ v)
        if vv > 0:
            beta = (1.0 - np.sqrt(noise_var / (vv + noise_var))) / vv
            A -= beta * np.outer(v, v @ A)
        eligible &= np.abs(C - C[i]).sum(axis=1) > min_distance
    return picks, picked_std


def active_design(runs: RunTable, k: int, *, law: str | Any = "ye-exp", targets: str | Sequence[str] = "all",
                  objective: Any = "mean", n_boot: int | None = None,
                  n_candidates: int = ACTIVE_N_CANDIDATES, radius: float = ACTIVE_RADIUS,
                  min_distance: float = ACTIVE_MIN_DISTANCE, bounds: Mapping[str, Sequence[float]] | None = None,
                  within_fitted_range: bool = False, maximize: bool = False, n_jobs: int | str | None = None,
                  random_state: int | np.random.Generator | None = 0,
                  n_bootstrap: int | None = None) -> pd.DataFrame:
    r"""Propose the next ``k`` mixtures where a bootstrap ensemble of the law disagrees most near its optimum.

    Query-by-committee on a mixing law: the committee is the law refitted on bootstrap resamples of the
    runs, and it is asked about mixtures near the predicted optimum, the only region whose predictions decide
    which mixture is trained at scale.

    1. Fit ``law`` on ``runs`` and find its optimal mixture :math:`r^\star` under ``bounds``
       (:func:`mixlaw.optimize.optimize_mixture`, same ``objective``).
    2. Refit the law on ``n_boot`` resamples of the runs (:func:`mixlaw.bootstrap.bootstrap_law`),
       giving replicate objectives :math:`F_b(r)`, :math:`b = 1..B`.
    3. Draw ``n_candidates`` seeded mixtures around the optimum, :math:`r = r^\star + \lambda (u - r^\star)`
       with :math:`u` spread uniformly over the feasible set (Dirichlet(1) within the bounds) and
       :math:`\lambda = \min(1, \rho / \|u - r^\star\|_1)` with :math:`\rho \sim U(0, \texttt{radius})`, so
       :math:`\|r - r^\star\|_1 = \min(\rho, \|u - r^\star\|_1)` (uniform up to where tight bounds cut it short).
       The feasible set (a box intersected with the simplex) is convex, so every candidate honours the bounds
       and sums to 1. Candidates within ``min_distance`` (L1) of a run already in the table are dropped.
    4. Pick ``k`` candidates greedily. The first maximises the ensemble variance of the objective,

       .. math:: \sigma^2(r) = \frac{1}{B-1} \sum_b \big(F_b(r) - \bar F(r)\big)^2 ;

       after each pick :math:`r_p`, the ensemble covariance is conditioned on observing the objective there
       with noise variance :math:`\sigma_\epsilon^2` (a rank-one Kalman update of the empirical covariance
       :math:`\Sigma` of the replicates over the candidates),

       .. math:: \Sigma \leftarrow \Sigma - \frac{\Sigma_{\cdot p} \Sigma_{p \cdot}}{\Sigma_{pp} + \sigma_\epsilon^2},

       and the next pick maximises the conditioned variance :math:`\Sigma_{rr}`, among candidates farther
       than ``min_distance`` from every earlier pick. :math:`\sigma_\epsilon^2` is the mean squared residual
       of the objective of the point fit on the runs (how far a new run's observed objective is expected to
       sit from any law).

    **Why conditioning rather than a distance penalty.** Plain top-k by disagreement puts all k runs in one
    clump (the highest-variance spot and its neighbours); a fixed exclusion radius fixes that but has to be
    tuned to the number of domains, to k and to how fast the law bends. Conditioning lets the ensemble say
    which candidates a pick would inform: those whose replicate predictions move together with it (high
    correlation across replicates). A neighbour loses nearly all its variance; a distant mixture whose
    uncertainty comes from other coefficients (another domain's :math:`t_{ij}`) keeps it. It is the greedy
    batch rule of a Gaussian model whose covariance is the ensemble's, needs no length scale, and costs
    :math:`O(k \cdot n_\text{candidates} \cdot B)`. The hard ``min_distance`` only guarantees that no two
    proposals (or a proposal and an existing run) are near-replicates. It is not claimed to beat a
    well-chosen exclusion radius (an exploratory comparison, not kept, found them about even): the case for
    it is that there is no radius to choose.

    **Why near the optimum.** The committee disagrees most where the law extrapolates (the simplex's
    corners, far from the runs), but errors there do not move the chosen mixture. Searching the whole
    simplex (``radius=2``) put the proposals there and did worse than random runs (below), so the default
    neighbourhood is small.

    Parameters
    ----------
    runs : RunTable
        Runs so far (pilots). With a ``step`` column, each run's last step is used.
    k : int
        Mixtures to propose (>= 1).
    law : str or MixingLaw, default="ye-exp"
    targets : str or list of str, default="all"
        Eval sets the law is fitted on and the objective combines.
    objective : see :func:`mixlaw.optimize.optimize_mixture`, default="mean"
    n_boot : int, default=32
        Committee size (bootstrap refits over runs, >= 2; ``--bootstrap`` on the command line, ``n_boot`` as in
        :func:`~mixlaw.bootstrap.bootstrap_law`). The frame's ``attrs`` keep the key ``n_bootstrap``.
    n_candidates : int, default=2000
        Candidate mixtures drawn around the optimum (>= k).
    radius : float, default=0.25
        Largest L1 distance of a candidate from the predicted optimum (0.25 moves an eighth of the mass;
        2 covers the whole feasible set).
    min_distance : float, default=0.02
        Smallest L1 distance of a proposal from every run in the table and from the other proposals.
    bounds : dict of str to (float, float), optional
        ``{domain: (lo, hi)}`` for the optimum and every proposal.
    maximize : bool, default=False
        The eval sets are higher-is-better metrics: the proposals gather around the mixture that maximises the
        objective (the committee's disagreement, the criterion, does not depend on the direction).
    within_fitted_range : bool, default=False
        Keep the optimum (and so the proposals around it) within each domain's weight range in ``runs``, as
        ``mixlaw optimize``'s optimum is by default. Off by default: a law's optimum outside its data is an
        extrapolation, and runs proposed there test it, which is what the next refit needs when it is wrong (ye-exp
        on 40 RegMix pilots put its optimum at 91 % enron_emails, at most 1.9 % in the pilots) and gains the most
        when it is right: on the synthetic Ye worlds of ``bench/active_design_gain.py`` (well-specified, 10 random
        pilots), keeping the optimum inside the pilots' range cut active design's gain over random runs from
        0.67x to 0.71x of their error at the refitted optimum (3 domains) and from 0.77x to 0.87x (4 domains).
    n_jobs : int or "auto", default="auto"
        Worker processes for the bootstrap (default: the usable CPUs, at most 8:
        :func:`mixlaw.bootstrap.bootstrap_law`; 1 runs in-process). The result does not depend on it.
    random_state : int or Generator, default=0
        Seeds the law's multistart, the bootstrap resamples and the candidates.
    n_bootstrap : int, optional
        The older name of ``n_boot`` (a silent alias; giving both is an InputError).

    Returns
    -------
    pandas.DataFrame
        ``run`` (``act-000``, ...; skipping ids already in the table), ``w:<domain>`` and, per proposal,
        ``objective`` (the point-estimate law's prediction), ``objective_std`` (the ensemble std
        :math:`\sigma(r)`), ``objective_std_given_previous`` (the conditioned std that picked it) and
        ``l1_to_optimum``, in pick order. ``attrs`` holds the method, the optimum, the noise std and the
        settings.

    Raises
    ------
    InputError
        ``k < 1``, an unknown law or target, fewer runs than the law has coefficients per eval plus one (a ridge
        law, ``alpha > 0``: than the coefficients its ridge leaves unpenalised plus one),
        infeasible bounds, or fewer than ``k`` candidates left after the distance rules.
    FitError
        Fewer than 2 bootstrap refits succeeded.

    Notes
    -----
    What it does not do: it does not model the cost of a run, the scale step (it works on the law at the
    scale of ``runs``), or the noise of a run as mixture-dependent; it does not look for mixtures that
    would move the optimum's *location* (it reduces the ensemble's disagreement about the objective near
    the current optimum, which is what the predicted optimal loss rests on); the ensemble's disagreement is
    a bootstrap estimate, so with barely more runs than coefficients it is itself noisy. The objective's
    prediction at a proposal is the law's, not a measurement: train the proposals and refit.

    Cost: ``1 + n_boot`` fits of the law plus one optimisation; with Ye's law (8 starts), 10 runs and
    2 evals, about 3-5 s on 2 busy cores; ``law=YeExponential(n_restarts=2)`` gave the same proposals
    (to 1e-9) on the 5 worlds of the test below in ~0.8 s.

    **Measured** with ``python bench/active_design_gain.py`` (a known two-eval Ye law whose evals pull toward
    different domains, Dirichlet(1) pilots with 1 % log-noise, k=4 new runs; the law refitted on pilots + new
    runs and compared with the noiseless truth; each world averages 8 draws of the random runs and of the new
    runs' noise). Active / random Dirichlet(1) runs, error of the predicted objective at the refitted optimum
    and mean error within L1 0.25 of the true optimum:

    - 3 domains, 10 pilots, 60 worlds: 0.72x (smaller in 70 % of worlds, paired t = -5.3) and 0.74x
      (68 %, t = -5.2); regret 0.85x (t = -1.4);
    - 4 domains, 12 pilots, 40 worlds: 0.62x (80 %, t = -4.7) and 0.67x (80 %, t = -5.1); regret 0.41x.

    Most of this comes from *where* it looks, not from the disagreement ranking: k random mixtures from the
    same neighbourhood of the predicted optimum did as well on both errors (active / local-random 1.01x and
    1.00x in 3 domains, 0.96x and 0.94x in 4; not significant); the ranking's only, weak, gain is regret
    (0.72x and 0.71x, t = -1.8). The radius matters (3 domains, 20 worlds x 4 draws, ``--radius``): against
    Dirichlet runs, radius 1 gives 0.96x (no gain), 0.5 gives 0.82x, 0.25 (the default) 0.69x.

    References
    ----------
    Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952 (the law and its optimal mixture).
    Seung, Opper & Sompolinsky, "Query by committee", COLT 1992 (query where a committee disagrees).
    Efron & Tibshirani, "An Introduction to the Bootstrap", 1993 (the committee: bootstrap refits).
    The combination (bootstrap committee of a mixing law, queried near its optimum, batch-greedy with a
    rank-one update of the ensemble covariance) is mixlaw's, not the papers'.

    Examples
    --------
    >>> from mixlaw.data import RunTable
    >>> rng = np.random.default_rng(0)
    >>> W = rng.dirichlet(np.ones(3), size=16)
    >>> L = np.column_stack([2 + np.exp(W @ [0.0, -2.0, 1.0]), 2 + np.exp(W @ [0.0, 1.0, -2.0])])
    >>> t = RunTable(pd.DataFrame({"run": [f"p{i}" for i in range(16)], "w:a": W[:, 0], "w:b": W[:, 1],
    ...                            "w:c": W[:, 2], "loss:x": L[:, 0], "loss:y": L[:, 1]}))
    >>> d = active_design(t, 3, n_boot=8, n_candidates=200, random_state=0)
    >>> list(d.columns)[:4], len(d), bool(np.allclose(d[["w:a", "w:b", "w:c"]].sum(axis=1), 1.0))
    (['run', 'w:a', 'w:b', 'w:c'], 3, True)
    """
    n_boot = renamed("n_boot", n_boot, "n_bootstrap", n_bootstrap, default=ACTIVE_N_BOOTSTRAP)
    runs = frame_as_table(runs)  # a DataFrame in the run table's columns, as fit_pipeline and law.fit take one
    k, radius, min_distance = _checked_settings(runs, k, n_candidates, radius, min_distance)
    rng = check_random_state(random_state)
    seed = int(random_state) if isinstance(random_state, (int, np.integer)) else int(rng.integers(2**31))
    est, fitted, runs, all_runs, names, objective = _point_fit(runs, law, targets, objective, seed)
    predict_kw = _largest_scale(fitted, runs)
    opt = optimize_mixture(fitted, objective=objective, bounds=bounds, natural=runs.weights.mean(axis=0),
                           within_fitted_range=within_fitted_range, maximize=maximize, random_state=seed,
                           **predict_kw)
    domains = list(fitted.domains_)
    r_opt = opt.weight_array()
    W_runs = runs.weights_for(domains)
    W_all = all_runs.weights_for(domains)
    C = _candidates(opt, domains, W_all, k, int(n_candidates), radius, min_distance, rng)

    res = bootstrap_law(est, runs, names, n_boot=n_boot, random_state=seed, n_jobs=n_jobs, points=C)
    ok = _usable_refits(res, fitted)
    oname, s = _objective_weights(objective, list(fitted.targets_), fitted)  # ye-total: its composition
    F = _reduce_objective(res.predictions[ok], oname, s, objective)  # (B, n_cand)
    f_hat, noise_var = _point_objective(fitted, runs, names, C, W_runs, oname, s, objective, predict_kw)

    B = F.shape[0]
    A = (F - F.mean(axis=0)) / np.sqrt(B - 1)  # (B, n_cand): Sigma = A^T A, never formed
    var0 = np.sum(A * A, axis=0)
    # A floor on the noise keeps the update well-posed when the fit interpolates the runs (zero residuals).
    noise_var = max(noise_var, 1e-9 * float(var0.max()), 1e-300)
    picks, picked_std = _greedy_committee(A, C, k, noise_var, min_distance)

    P = C[picks]
    attrs = {"method": "active", "law": fitted.key, "targets": list(fitted.targets_),
             "objective": objective_label(oname, maximize),
             "maximize": bool(maximize),
             "optimum": {"weights": dict(opt.weights), "objective": float(opt.objective)},
             "n_bootstrap": int(res.n_boot), "n_failed": int(res.n_boot - ok.sum()), "n_candidates": int(len(C)),
             "radius": float(radius), "min_distance": float(min_distance), "noise_std": float(np.sqrt(noise_var)),
             "criterion": "greedy max ensemble variance of the objective, conditioned on earlier picks",
             "random_state": seed}
    frame = design_frame(P, domains, runs=_new_ids(all_runs, k), attrs=attrs)
    frame["objective"] = f_hat[picks]
    frame["objective_std"] = np.sqrt(var0[picks])
    frame["objective_std_given_previous"] = picked_std
    frame["l1_to_optimum"] = np.abs(P - r_opt).sum(axis=1)
    if not within_fitted_range:
        _warn_out_of_range(P, W_runs, domains)
    return frame


def _checked_settings(runs: Any, k: Any, n_candidates: Any, radius: Any, min_distance: Any) -> tuple[int, float, float]:
    """Refuse a bad argument before any fit is paid for; return ``k``, ``radius`` and ``min_distance`` as numbers."""
    if not isinstance(runs, RunTable):
        raise InputError(f"active_design needs a RunTable of runs so far, or a DataFrame in its columns; got "
                         f"{type(runs).__name__}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        # The option named as the command line has it ('k must be' answered 'design --method active --n 0').
        raise InputError(f"k (--n) must be a positive integer (the number of mixtures to propose); got {k!r}")
    k = int(k)
    if isinstance(n_candidates, bool) or not isinstance(n_candidates, (int, np.integer)) or n_candidates < k:
        raise InputError(f"n_candidates must be an integer >= k={k}; got {n_candidates!r}")
    try:
        radius, min_distance = float(radius), float(min_distance)
    except (TypeError, ValueError):
        raise InputError(f"radius and min_distance must be numbers; got {radius!r}, {min_distance!r}") from None
    if not (np.isfinite(radius) and radius > 0):
        raise InputError(f"radius (--radius) must be a positive number (L1 distance, at most 2 matters); got "
                         f"{radius!r}")
    if not (np.isfinite(min_distance) and min_distance >= 0):
        raise InputError(f"min_distance must be a number >= 0 (L1 distance); got {min_distance!r}")
    return k, radius, min_distance


def _point_fit(runs: RunTable, law: str | Any, targets: str | Sequence[str], objective: Any,
               seed: int) -> tuple[MixingLaw, MixingLaw, RunTable, RunTable, list[str], Any]:
    """Fit the law once on the runs that have every eval it needs: the committee's centre and the optimum's law."""
    runs = _last_checkpoints(runs)
    names = runs.resolve_targets(targets)
    # An eval the objective weighs 0 is not fitted: its missing losses cost no run (evals.unweighted_gaps).
    names, objective = unweighted_gaps(runs, names, objective, _objective_weights(objective, names)[1])
    est = get_law(law, random_state=seed) if isinstance(law, str) else law
    check_law_arg(est, "active_design")
    # A run missing a target's loss (a NaN cell): the law, the committee and the noise take the rows that have
    # every target; every run's mixture still counts for min_distance and its id is not reused.
    all_runs, left_out = runs, runs.rows_left_out(names)
    runs = runs.complete(names)
    try:
        fitted = est.clone().fit(runs, targets=names)
        check_enough_runs(fitted)  # before the refits: with no spare run the committee cannot disagree usefully
    except (InputError, FitError) as err:
        note_left_out(err, left_out, len(runs), len(all_runs))
        raise
    return est, fitted, runs, all_runs, names, objective


def _largest_scale(fitted: MixingLaw, runs: RunTable) -> dict[str, Any]:
    """The model size and tokens a scale-aware law predicts at: the largest among the runs."""
    predict_kw: dict[str, Any] = {}
    if fitted.uses_model_params and runs.model_params is not None:
        predict_kw["model_params"] = float(np.max(runs.model_params))
    if fitted.uses_tokens and runs.tokens is not None:
        predict_kw["tokens"] = float(np.max(runs.tokens))
    return predict_kw


def _candidates(opt: Any, domains: list[str], W_all: np.ndarray, k: int, n_candidates: int, radius: float,
                min_distance: float, rng: np.random.Generator) -> np.ndarray:
    """Step 3 of the docstring: seeded mixtures around the optimum, none within ``min_distance`` of a run."""
    r_opt = opt.weight_array()
    lo = np.array([opt.lower[d] for d in domains])
    hi = np.array([opt.upper[d] for d in domains])
    # Candidates: straight segments from the optimum toward points spread over the feasible set, at L1
    # distances uniform in (0, radius); the optimum itself is one more candidate.
    U = _feasible_draws(lo, hi, n_candidates - 1, rng)
    dist_u = np.abs(U - r_opt).sum(axis=1)
    rho = float(radius) * rng.random(len(U))
    lam = np.minimum(1.0, rho / np.maximum(dist_u, 1e-300))
    C = np.vstack([r_opt, r_opt + lam[:, None] * (U - r_opt)])
    C = np.clip(C, lo, hi)  # a convex combination of feasible points; this only removes ~1e-17 rounding
    far = cdist(C, W_all, "cityblock").min(axis=1) > min_distance
    C = _dedup(C[far]) if far.any() else C[far]
    if len(C) < k:
        raise InputError(f"only {len(C)} candidate mixtures lie farther than min_distance={min_distance:g} from "
                         f"the {len(W_all)} runs; cannot propose {k} (lower --n (k=), raise --radius (radius=) or "
                         "lower min_distance=)")
    return C


def _usable_refits(res: Any, fitted: MixingLaw) -> np.ndarray:
    """Mask of the bootstrap refits whose predictions are all finite; a committee needs at least 2 of them."""
    assert res.predictions is not None
    ok = np.isfinite(res.predictions).all(axis=(1, 2))  # an overflowing refit (inf) is as unusable as NaN
    if ok.sum() < 2:
        raise FitError(f"only {int(ok.sum())} of {res.n_boot} bootstrap refits of {fitted.key!r} succeeded; the "
                       "committee needs at least 2 (add runs or use a simpler law)")
    return ok


def _point_objective(fitted: MixingLaw, runs: RunTable, names: list[str], C: np.ndarray, W_runs: np.ndarray,
                     oname: str, s: np.ndarray | None, objective: Any,
                     predict_kw: dict[str, Any]) -> tuple[np.ndarray, float]:
    """The point fit's objective at the candidates, and the noise variance: its mean squared residual on the runs."""
    ev = _LawEval(fitted, **predict_kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)  # candidates may leave the runs' hull by design
        f_hat = _reduce_objective(ev.predict(C), oname, s, objective)
        f_fit = _reduce_objective(ev.predict(W_runs), oname, s, objective)
    f_obs = _reduce_objective(runs.losses(names).reshape(len(runs), -1), oname, s, objective)
    return f_hat, float(np.mean((f_obs - f_fit) ** 2))


def _new_ids(all_runs: RunTable, k: int) -> list[str]:
    """``act-000``, ``act-001``, ... skipping ids already in the table, so a later round never reuses one."""
    existing = set(np.asarray(all_runs.runs).astype(str))
    ids: list[str] = []
    j = 0
    while len(ids) < k:
        if f"act-{j:03d}" not in existing:
            ids.append(f"act-{j:03d}")
        j += 1
    return ids


#: How far (in share) a proposal must leave a domain's range in the runs to be named: optimiser-scale slack is not.
OUT_OF_RANGE = 0.01


def _warn_out_of_range(P: np.ndarray, W_runs: np.ndarray, domains: Sequence[str]) -> None:
    """One :class:`WeightRangeWarning` naming the domains the proposals take furthest outside the runs' range.

    Why: it was said only in the README. On Olmix's update-5 swarm (bimix, hellaswag) the 4 proposals put 0.28-0.33
    on s2pdfv1:entertainment, which no run had above 0.0107, and 'design' printed only "wrote 4 mixtures".
    """
    lo, hi = W_runs.min(axis=0), W_runs.max(axis=0)
    excess = np.maximum(P.max(axis=0) - hi, lo - P.min(axis=0))  # (M,)
    far = [int(j) for j in np.argsort(-excess) if excess[j] > OUT_OF_RANGE]
    if not far:
        return
    named = "; ".join(f"{domains[j]} {P[:, j].min():.3g}-{P[:, j].max():.3g}, runs {lo[j]:.3g}-{hi[j]:.3g}"
                      for j in far[:3])
    warnings.warn(f"active design: the proposals leave the runs' range of {len(far)} domain(s) ({named}"
                  f"{'; ...' if len(far) > 3 else ''}): they test the law's extrapolation there; "
                  "--within-fitted-range (within_fitted_range=True) keeps them inside", WeightRangeWarning,
                  stacklevel=user_stacklevel(3))
