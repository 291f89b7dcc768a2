"""Design of experiments: which proxy mixtures to train (DESIGN.md §8).

Four tools, each returning or consuming a *design*: a :class:`pandas.DataFrame` with a ``run`` column and one
``w:<domain>`` column per training domain, rows on the simplex, ready for ``mixlaw sweep``.

* :func:`double_diminishing` -- Ye et al.'s double-diminishing proportions: per domain the candidate shares
  halve from the maximum available share (``m, m/2, m/4, ...``, plus 0); candidate mixtures are combinations
  of those levels renormalised to the simplex and deduplicated; ``n`` of them are drawn (seeded).
* :func:`dirichlet_design` -- RegMix's sampler: Dirichlet draws around a prior (the natural token distribution,
  tempered), with a concentration ("strength") drawn per sample from a log-spaced grid, rejection of mixtures
  that would repeat a domain more than ``max_epochs`` times at the target token budget, deduplication.
* :func:`select_subset` / :func:`select_runs` -- Ye et al.'s subset selection: after training ``n`` candidates
  at the smallest scale, keep the ``k`` whose mixing-law fit predicts the other pilot runs best.
* :func:`active_design` -- the next ``k`` mixtures after some runs: query-by-committee near the predicted
  optimum, the committee being the law refitted on bootstrap resamples of the runs (mixlaw's own method).

References
----------
Ye et al., "Data Mixing Laws: Optimizing Data Mixtures by Predicting Language Modeling Performance",
ICLR 2025, arXiv:2403.16952 (double-diminishing proportions; 40 candidates at 70M, 20 selected).
Liu et al., "RegMix: Data Mixture as Regression for Language Model Pre-training", ICLR 2025,
github.com/sail-sg/regmix, ``mixture_config/synthesize_mixture.py`` (Dirichlet scheme and its constants).
Seung, Opper & Sompolinsky, "Query by committee", COLT 1992 (the idea behind :func:`active_design`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._validation import check_random_state
from .data import WEIGHT_PREFIX, RunTable
from .errors import InputError

#: Enumerate the double-diminishing grid when it has at most this many level combinations; sample it beyond.
MAX_ENUMERATE = 1_000_000
#: Renormalised candidates equal to this many decimals are the same mixture (dedup; float noise is ~1e-16).
DEDUP_DECIMALS = 12

# RegMix defaults (sail-sg/regmix, mixture_config/synthesize_mixture.py): prior tempered as p**0.5; strengths
# log-spaced in [0.1, 5] (15 values); shares below 2e-4 zeroed (at 1B proxy tokens that is >= 100 sequences
# per domain present); 100x oversampling before deduplication and the final draw.
REGMIX_TEMPERATURE = 0.5
REGMIX_MIN_STRENGTH = 0.1
REGMIX_MAX_STRENGTH = 5.0
REGMIX_N_STRENGTHS = 15
REGMIX_MINIMUM = 2e-4
REGMIX_SAMPLE_MULTIPLIER = 100


# ---------------------------------------------------------------------- helpers
def _check_domains(domains: Sequence[str]) -> list[str]:
    doms = [str(d).strip() for d in domains]
    if len(doms) < 2:
        raise InputError(f"a design needs at least two domains; got {doms}")
    if any(not d for d in doms):
        raise InputError("domain names must be non-empty")
    dup = sorted({d for d in doms if doms.count(d) > 1})
    if dup:
        raise InputError(f"duplicate domain name(s) {dup}")
    return doms


def _per_domain(values: Mapping[str, float] | Sequence[float] | np.ndarray | None, domains: list[str], name: str,
                default: float | None = None) -> np.ndarray | None:
    """A per-domain vector from a mapping (every domain required, none unknown) or a sequence in domain order."""
    if values is None:
        return None if default is None else np.full(len(domains), float(default))
    if isinstance(values, Mapping):
        unknown = sorted(set(values) - set(domains))
        if unknown:
            raise InputError(f"{name}: unknown domain(s) {unknown}; domains are {domains}")
        missing = [d for d in domains if d not in values]
        if missing:
            if default is None:
                raise InputError(f"{name}: no value for domain(s) {missing}")
            values = {**{d: default for d in missing}, **values}
        arr = np.array([float(values[d]) for d in domains], dtype=np.float64)
    else:
        arr = np.asarray(values, dtype=np.float64).ravel()
        if arr.size != len(domains):
            raise InputError(f"{name}: {arr.size} values for {len(domains)} domains")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name}: values must be finite; got {arr.tolist()}")
    return arr


def max_shares(domains: Sequence[str], tokens_available: Mapping[str, float] | Sequence[float],
               target_tokens: float, max_epochs: float = 4.0) -> np.ndarray:
    """Largest share of each domain that repeats it at most ``max_epochs`` times at ``target_tokens``.

    .. math:: m_j = \\min\\Big(1, \\frac{E_{\\max}\\, T_j}{D}\\Big)

    with :math:`T_j` the tokens available in domain j and :math:`D` the target run's training tokens.

    Parameters
    ----------
    domains : list of str
    tokens_available : mapping or sequence of float
        Tokens available per domain (> 0).
    target_tokens : float
        Training tokens of the run the design is for (> 0).
    max_epochs : float, default=4.0
        Repetitions allowed (4 epochs costs little: Muennighoff et al. 2023, "Scaling Data-Constrained LMs").

    Returns
    -------
    ndarray of shape (n_domains,)

    Examples
    --------
    >>> max_shares(["web", "code"], {"web": 1e12, "code": 1e9}, target_tokens=1e10, max_epochs=4)
    array([1. , 0.4])
    """
    doms = _check_domains(domains)
    tok = _per_domain(tokens_available, doms, "tokens_available")
    assert tok is not None
    if np.any(tok <= 0):
        got = dict(zip(doms, tok.tolist(), strict=True))
        raise InputError(f"tokens_available must be > 0 for every domain; got {got}")
    if not (np.isfinite(target_tokens) and target_tokens > 0):
        raise InputError(f"target_tokens must be a positive number; got {target_tokens!r}")
    if not (np.isfinite(max_epochs) and max_epochs > 0):
        raise InputError(f"max_epochs must be a positive number; got {max_epochs!r}")
    m = np.minimum(1.0, max_epochs * tok / float(target_tokens))
    if m.sum() < 1.0 - 1e-12:
        raise InputError(f"not enough tokens: at {max_epochs:g} epochs the domains supply at most "
                         f"{m.sum() * target_tokens:.4g} of the {target_tokens:.4g} target tokens "
                         "(raise --max-epochs or lower --target-tokens)")
    return m


def design_frame(weights: np.ndarray, domains: Sequence[str], *, prefix: str = "run",
                 runs: Sequence[str] | None = None, attrs: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Wrap mixtures as a design table: ``run`` then ``w:<domain>`` columns (what ``mixlaw sweep`` reads)."""
    W = np.asarray(weights, dtype=np.float64)
    ids = list(runs) if runs is not None else [f"{prefix}-{i:03d}" for i in range(W.shape[0])]
    frame = pd.DataFrame({"run": ids})
    for j, d in enumerate(domains):
        frame[WEIGHT_PREFIX + d] = W[:, j]
    frame.attrs.update(dict(attrs or {}))
    return frame


def _dedup(W: np.ndarray) -> np.ndarray:
    """Distinct rows (to DEDUP_DECIMALS), in lexicographic order so later seeded draws are reproducible."""
    if W.shape[0] == 0:
        return W
    # np.unique sorts the rounded rows lexicographically; idx points at one original row of each.
    _, idx = np.unique(np.round(W, DEDUP_DECIMALS), axis=0, return_index=True)
    return W[idx]


# ---------------------------------------------------------------------- (a) double-diminishing
def halving_levels(max_share: float, n_levels: int = 5, include_zero: bool = True) -> np.ndarray:
    """Ye's per-domain candidate shares: ``max_share / 2**i`` for ``i < n_levels`` (and 0), descending.

    Examples
    --------
    >>> halving_levels(1.0, 4)
    array([1.   , 0.5  , 0.25 , 0.125, 0.   ])
    """
    if not (np.isfinite(max_share) and 0 < max_share <= 1):
        raise InputError(f"max_share must be in (0, 1]; got {max_share!r}")
    if int(n_levels) < 1:
        raise InputError(f"n_levels must be >= 1; got {n_levels!r}")
    lv = float(max_share) / 2.0 ** np.arange(int(n_levels))
    return np.append(lv, 0.0) if include_zero else lv


def double_diminishing_candidates(domains: Sequence[str], *, max_share: Mapping[str, float] | Sequence[float]
                                  | None = None, n_levels: int = 5, include_zero: bool = True) -> np.ndarray:
    """Every distinct double-diminishing candidate mixture (the full grid, enumerated).

    Each domain j takes a level in :func:`halving_levels` ``(m_j, n_levels)``; every combination except
    all-zero is renormalised to sum to 1, then duplicates are removed (``(1/2, 1/2)`` and ``(1/4, 1/4)``
    are the same mixture). When ``max_share`` comes from a token budget (:func:`max_shares`), candidates
    whose renormalised share of some domain exceeds ``m_j`` are dropped: renormalisation can push a
    domain above its cap when the others are small.

    Parameters
    ----------
    domains : list of str
    max_share : mapping or sequence of float, optional
        Maximum available share per domain, in (0, 1] (default 1 for every domain).
    n_levels : int, default=5
        Number of non-zero levels per domain (m, m/2, ..., m/2**(n_levels-1)).
    include_zero : bool, default=True
        Whether a domain may be left out (level 0).

    Returns
    -------
    ndarray of shape (n_candidates, n_domains)
        Distinct mixtures in lexicographic order.

    Raises
    ------
    InputError
        When the grid has more than :data:`MAX_ENUMERATE` combinations (use :func:`double_diminishing`,
        which samples it).

    Examples
    --------
    >>> double_diminishing_candidates(["a", "b"], n_levels=2)
    array([[0.        , 1.        ],
           [0.33333333, 0.66666667],
           [0.5       , 0.5       ],
           [0.66666667, 0.33333333],
           [1.        , 0.        ]])
    """
    doms = _check_domains(domains)
    m = _per_domain(max_share, doms, "max_share", default=1.0)
    assert m is not None
    levels = [halving_levels(float(mj), n_levels, include_zero) for mj in m]
    size = int(np.prod([len(lv) for lv in levels], dtype=np.float64))
    if size > MAX_ENUMERATE:
        raise InputError(f"the double-diminishing grid has {size} combinations (> {MAX_ENUMERATE}); "
                         "sample it with double_diminishing(...) or lower n_levels")
    grid = np.array(list(itertools.product(*levels)), dtype=np.float64) if size <= 4096 else \
        np.stack(np.meshgrid(*levels, indexing="ij"), axis=-1).reshape(-1, len(doms))
    return _renormalise_grid(grid, m)


def _renormalise_grid(grid: np.ndarray, caps: np.ndarray) -> np.ndarray:
    s = grid.sum(axis=1)
    grid = grid[s > 0] / s[s > 0, None]
    grid = grid[np.all(grid <= caps + 1e-12, axis=1)]
    return _dedup(grid)


def double_diminishing(domains: Sequence[str], n: int, *, max_share: Mapping[str, float] | Sequence[float]
                       | None = None, n_levels: int = 5, include_zero: bool = True,
                       random_state: int | np.random.Generator | None = 0) -> pd.DataFrame:
    """Draw ``n`` distinct double-diminishing mixtures (Ye et al.).

    Per domain the candidate shares halve from the maximum available share,

    .. math:: r_j \\in \\{m_j,\\ m_j/2,\\ m_j/4,\\ \\dots,\\ m_j/2^{L-1},\\ 0\\},

    so that losses spread evenly over the exponential law's range (most of the law's curvature is near 0,
    which halving samples densely). Combinations are renormalised, :math:`r \\leftarrow r / \\sum_j r_j`,
    deduplicated, and ``n`` are drawn uniformly without replacement. Small grids are enumerated exactly
    (:func:`double_diminishing_candidates`); grids with more than :data:`MAX_ENUMERATE` combinations are
    sampled level-by-level until ``n`` distinct mixtures are found.

    Parameters
    ----------
    domains : list of str
    n : int
        Number of mixtures (Ye: 40 candidates at the smallest scale).
    max_share : mapping or sequence of float, optional
        Maximum available share per domain (see :func:`max_shares`); default 1.
    n_levels : int, default=5
    include_zero : bool, default=True
    random_state : int or Generator, default=0

    Returns
    -------
    pandas.DataFrame
        ``run`` (``dd-000``, ...) and ``w:<domain>`` columns.

    Raises
    ------
    InputError
        ``n`` exceeds the number of distinct candidates, or bad arguments.

    References
    ----------
    Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952 (mixture sampling: double-diminishing).

    Examples
    --------
    >>> d = double_diminishing(["web", "code", "books"], n=4, random_state=0)
    >>> list(d.columns), len(d)
    (['run', 'w:web', 'w:code', 'w:books'], 4)
    >>> bool(np.allclose(d.iloc[:, 1:].sum(axis=1), 1.0))
    True
    """
    doms = _check_domains(domains)
    n = _check_n(n)
    rng = check_random_state(random_state)
    m = _per_domain(max_share, doms, "max_share", default=1.0)
    assert m is not None
    levels = [halving_levels(float(mj), n_levels, include_zero) for mj in m]
    size = float(np.prod([len(lv) for lv in levels], dtype=np.float64))
    if size <= MAX_ENUMERATE:
        cands = double_diminishing_candidates(doms, max_share=m, n_levels=n_levels, include_zero=include_zero)
        if n > len(cands):
            raise InputError(f"n={n} is larger than the {len(cands)} distinct double-diminishing candidates for "
                             f"{len(doms)} domains with {n_levels} levels (lower --n or raise the number of levels)")
        W = cands[np.sort(rng.choice(len(cands), size=n, replace=False))]
    else:
        W = _sample_grid(levels, m, n, rng)
    return design_frame(W, doms, prefix="dd", attrs={"method": "double-diminishing", "n_levels": int(n_levels),
                                                     "max_share": m.tolist()})


def _sample_grid(levels: list[np.ndarray], caps: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw level combinations uniformly until ``n`` distinct renormalised mixtures (grid too large to list)."""
    found = np.empty((0, len(levels)))
    for _ in range(50):
        idx = np.stack([rng.integers(0, len(lv), size=4 * n) for lv in levels], axis=1)
        grid = np.stack([levels[j][idx[:, j]] for j in range(len(levels))], axis=1)
        found = _renormalise_grid(np.vstack([found, grid]), caps)
        if len(found) >= n:
            return found[np.sort(rng.choice(len(found), size=n, replace=False))]
    raise InputError(f"found only {len(found)} distinct double-diminishing mixtures within the caps; n={n} "
                     "is too many")


def _check_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n must be a positive integer; got {n!r}")
    return int(n)


# ---------------------------------------------------------------------- (b) Dirichlet around a prior
def _dirichlet_rows(alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One Dirichlet draw per row of ``alpha`` (n, M), stable for tiny concentrations.

    Gamma(a) = Gamma(a + 1) * U**(1/a) (Marsaglia & Tsang 2000, small-shape boost); working with its log
    and a softmax keeps draws finite when every ``a`` is ~1e-5 (gamma variates would underflow to 0).
    """
    log_g = np.log(rng.standard_gamma(alpha + 1.0)) + np.log(rng.random(alpha.shape)) / alpha
    log_g -= log_g.max(axis=1, keepdims=True)
    g = np.exp(log_g)
    return g / g.sum(axis=1, keepdims=True)


def dirichlet_design(domains: Sequence[str], n: int, *, prior: Mapping[str, float] | Sequence[float] | None = None,
                     tokens_available: Mapping[str, float] | Sequence[float] | None = None,
                     target_tokens: float | None = None, max_epochs: float = 4.0,
                     temperature: float = REGMIX_TEMPERATURE, min_strength: float = REGMIX_MIN_STRENGTH,
                     max_strength: float = REGMIX_MAX_STRENGTH, minimum: float = REGMIX_MINIMUM,
                     sample_multiplier: int = REGMIX_SAMPLE_MULTIPLIER,
                     random_state: int | np.random.Generator | None = 0) -> pd.DataFrame:
    """Draw ``n`` distinct mixtures from Dirichlets around a prior, within epoch caps (RegMix).

    For each sample a strength :math:`s` is drawn uniformly from 15 log-spaced values in
    ``[min_strength, max_strength]`` and

    .. math:: r \\sim \\mathrm{Dir}(s\\, \\tilde p), \\qquad \\tilde p_j \\propto p_j^{\\tau},

    where :math:`p` is the prior (default: the natural token distribution from ``tokens_available``, else
    uniform) and :math:`\\tau` the temperature (smaller flattens a skewed prior). Shares below ``minimum``
    are set to 0 and the row renormalised. With a token budget, a draw is rejected when some share exceeds
    :math:`m_j = \\min(1, E_{\\max} T_j / D)` (:func:`max_shares`), i.e. when the target run would repeat a
    domain more than ``max_epochs`` times. Draws are deduplicated (L1 distance <= 1e-5, as RegMix) and
    ``n`` are kept, uniformly at random.

    Parameters
    ----------
    domains : list of str
    n : int
    prior : mapping or sequence of float, optional
        Prior share per domain (> 0; renormalised). Default: token shares, or uniform.
    tokens_available : mapping or sequence of float, optional
        Tokens per domain; with ``target_tokens`` it sets the epoch caps.
    target_tokens : float, optional
        Training tokens of the target run. Required with ``tokens_available``.
    max_epochs : float, default=4.0
    temperature : float, default=0.5
    min_strength, max_strength : float, default=0.1, 5.0
    minimum : float, default=2e-4
        Shares below this are zeroed (0 disables).
    sample_multiplier : int, default=100
        Draws made per requested mixture before rejection and deduplication.
    random_state : int or Generator, default=0

    Returns
    -------
    pandas.DataFrame
        ``run`` (``dir-000``, ...) and ``w:<domain>`` columns.

    References
    ----------
    Liu et al., "RegMix", ICLR 2025; github.com/sail-sg/regmix ``mixture_config/synthesize_mixture.py``.

    Examples
    --------
    >>> d = dirichlet_design(["web", "code"], n=3, tokens_available={"web": 1e12, "code": 1e9},
    ...                      target_tokens=1e10, max_epochs=4, random_state=0)
    >>> bool((d["w:code"] <= 0.4).all())
    True
    """
    doms = _check_domains(domains)
    n = _check_n(n)
    rng = check_random_state(random_state)
    if not (0 < temperature <= 1):
        raise InputError(f"temperature must be in (0, 1]; got {temperature!r}")
    if not (0 < min_strength <= max_strength):
        raise InputError(f"need 0 < min_strength <= max_strength; got {min_strength!r}, {max_strength!r}")
    if not (0 <= minimum < 1.0 / len(doms)):
        raise InputError(f"minimum must be in [0, 1/n_domains); got {minimum!r}")
    tok = _per_domain(tokens_available, doms, "tokens_available")
    if tok is not None and target_tokens is None:
        raise InputError("tokens_available needs target_tokens (the training tokens of the target run)")
    if tok is None and target_tokens is not None:
        raise InputError("target_tokens needs tokens_available (tokens per domain)")
    caps = max_shares(doms, tok, float(target_tokens), max_epochs) if tok is not None else np.ones(len(doms))
    p = _per_domain(prior, doms, "prior")
    if p is None:
        p = tok / tok.sum() if tok is not None else np.full(len(doms), 1.0 / len(doms))
    if np.any(p <= 0):
        raise InputError(f"prior shares must be > 0; got {dict(zip(doms, p.tolist(), strict=True))}")
    p = p / p.sum()
    p = p**temperature / np.sum(p**temperature)
    strengths = np.logspace(np.log10(min_strength), np.log10(max_strength), REGMIX_N_STRENGTHS)
    found = np.empty((0, len(doms)))
    n_draws = max(1, int(sample_multiplier)) * n
    for _ in range(20):
        s = strengths[rng.integers(0, len(strengths), size=n_draws)]
        W = _dirichlet_rows(s[:, None] * p[None, :], rng)
        if minimum > 0:
            W = np.where(W < minimum, 0.0, W)
            W = W / W.sum(axis=1, keepdims=True)
        W = W[np.all(W <= caps + 1e-12, axis=1)]
        found = _dedup_l1(np.vstack([found, W]))
        if len(found) >= n:
            break
    if len(found) < n:
        shown = dict(zip(doms, np.round(caps, 4).tolist(), strict=True))
        raise InputError(f"only {len(found)} distinct Dirichlet mixtures satisfy the epoch caps {shown}; "
                         f"n={n} is too many (raise --max-epochs)")
    W = found[np.sort(rng.choice(len(found), size=n, replace=False))]
    return design_frame(W, doms, prefix="dir", attrs={"method": "dirichlet", "prior": p.tolist(),
                                                      "caps": caps.tolist(), "temperature": temperature})


def _dedup_l1(W: np.ndarray, threshold: float = 1e-5) -> np.ndarray:
    """RegMix's dedup: sort lexicographically, drop a row within L1 ``threshold`` of the last kept one."""
    if len(W) == 0:
        return W
    W = W[np.lexsort(W.T)]
    keep = [0]
    for i in range(1, len(W)):
        if np.abs(W[i] - W[keep[-1]]).sum() > threshold:
            keep.append(i)
    return W[keep]


# ---------------------------------------------------------------------- (c) subset selection
@dataclass
class SubsetSelection:
    """Result of :func:`select_subset`.

    Attributes
    ----------
    indices : ndarray of int
        Selected rows of the candidate table, ascending.
    score : float
        Criterion of the selected subset (see :func:`select_subset`).
    random_scores : ndarray
        Criterion of the random starting subsets, for comparison (what a random pick would give).
    n_evals : int
        Subsets scored.
    criterion : str
    """

    indices: np.ndarray
    score: float
    random_scores: np.ndarray
    n_evals: int
    criterion: str
    c: np.ndarray = field(default_factory=lambda: np.empty(0))

    def to_dict(self) -> dict[str, Any]:
        return {"indices": self.indices.tolist(), "score": self.score, "criterion": self.criterion,
                "n_evals": self.n_evals,
                "random_score_median": float(np.median(self.random_scores)),
                "random_score_best": float(np.min(self.random_scores))}


def _fit_floors(W: np.ndarray, Y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each target's floor c_i from one Ye fit on all pilot runs, kept strictly below the smallest loss."""
    import warnings

    from .errors import MixlawWarning
    from .laws.ye import YeExponential

    with warnings.catch_warnings():
        # c on its bound (0 or min loss) is still a usable floor for the linearisation below.
        warnings.simplefilter("ignore", MixlawWarning)
        # Two starts: the floor only anchors a linearisation, and each start costs a full engine fit.
        law = YeExponential(n_restarts=2, random_state=int(rng.integers(2**31))).fit(W, Y)
    c = np.array([law.params_[f"{t}.c"].value for t in law.targets_])
    return np.minimum(c, Y.min(axis=0) * (1 - 1e-6))


def _expected_scorer(W: np.ndarray, Y: np.ndarray, c: np.ndarray) -> Any:
    """Average prediction variance at the pilot mixtures of the law fitted on a subset (I-optimality).

    Linearise log L_i(r) = log(c_i + exp(b_i . r)) around the all-pilot fit: its gradient in (c_i, b_i) at
    mixture r_n is J_n = [1/L_n, (L_n - c_i)/L_n * r_n] (b_ij = log k_i + t_ij; rows sum to 1). With i.i.d.
    noise of variance s^2 on log-losses, a subset S fitted by least squares predicts log L at r_n with
    variance s^2 J_n^T (J_S^T J_S)^{-1} J_n; the criterion is its mean over the n pilot runs, per s^2.
    """
    Z = np.log(Y - c[None, :])
    beta, *_ = np.linalg.lstsq(W, Z, rcond=None)
    L = c[None, :] + np.exp(W @ beta)
    jacs = [np.hstack([1.0 / L[:, [i]], ((L[:, [i]] - c[i]) / L[:, [i]]) * W]) for i in range(Y.shape[1])]

    def score(sel: np.ndarray) -> float:
        total = 0.0
        for J in jacs:
            A = J[sel].T @ J[sel]
            try:
                C = np.linalg.cholesky(A)
            except np.linalg.LinAlgError:  # singular: the subset does not determine the law
                return float("inf")
            V = np.linalg.solve(C, J.T)  # mean_m g_m^T A^{-1} g_m = |C^{-1} G^T|_F^2 / n
            total += float(np.sum(V * V)) / J.shape[0]
        return total / len(jacs)

    return score


def _observed_scorer(W: np.ndarray, Y: np.ndarray, c: np.ndarray) -> Any:
    """Mean relative error on all pilot runs of Ye's law, linearised at floors c, fitted on the subset.

    With c_i fixed, log(L_i - c_i) = log k_i + sum_j t_ij r_j is linear in the weights (rows sum to 1, so
    log k_i folds into the coefficients), fitted by least squares in microseconds.
    """
    Z = np.log(Y - c[None, :])

    def score(sel: np.ndarray) -> float:
        beta, *_ = np.linalg.lstsq(W[sel], Z[sel], rcond=None)  # (M, K)
        pred = c[None, :] + np.exp(np.clip(W @ beta, -50, 50))
        return float(np.mean(np.abs(pred - Y) / Y))

    return score


def select_subset(weights: Any, losses: Any, k: int, *, criterion: str = "expected", n_restarts: int = 8,
                  max_evals: int = 20_000, random_state: int | np.random.Generator | None = 0) -> SubsetSelection:
    r"""Choose ``k`` of ``n`` pilot mixtures that pin down the mixing law best (Ye et al.'s subset selection).

    Ye et al. train ``n`` candidates at the smallest scale and keep "the subset that minimises the data
    mixing law fitting error" for the larger scales. We first fit Ye's law
    :math:`L_i(r) = c_i + k_i \exp(\sum_j t_{ij} r_j)` on all ``n`` pilot runs, then score a subset
    :math:`S` (``|S| = k``) by one of two criteria:

    ``"expected"`` (default): the expected fitting error of the law refitted on :math:`S`, i.e. the mean
    prediction variance of :math:`\log L` over all pilot mixtures (I-optimal design, per unit noise
    variance), from the law linearised at the all-pilot fit:

    .. math:: J(S) = \frac{1}{nK} \sum_{i=1}^{K} \sum_{m=1}^{n} g_{im}^\top (G_{iS}^\top G_{iS})^{-1} g_{im},
              \qquad g_{im} = \Big[\tfrac{1}{L_{im}},\ \tfrac{L_{im} - c_i}{L_{im}}\, r_m\Big].

    ``"observed"``: the mean relative error, on all ``n`` pilot runs, of the law fitted on :math:`S` with
    each floor :math:`c_i` held at its all-pilot value (which makes the law linear in
    :math:`\log(L_i - c_i)`, one small least-squares solve per subset).

    Measured on synthetic Ye worlds (4 domains, 40 double-diminishing pilots, 1 % log-noise; 8 worlds x 15
    random subsets; held-out MRE against the noiseless law on 300 Dirichlet mixtures; tests/test_design.py):
    keeping k=12, "expected" gives 0.78x the median random subset's error (beats 77 % of them), "observed"
    0.81x (69 %); keeping k=20, neither helps ("expected" 1.23x, "observed" 1.03x): with half the pilots kept,
    a random half already pins the law down. Scoring the error on the runs *left out* was worse than random
    (a noisy run moved into S no longer counts against S).

    Search: ``n_restarts`` random subsets, each improved by first-improvement swaps (exchange one selected
    and one unselected run while :math:`J` drops), within ``max_evals`` subset scores in all.

    Parameters
    ----------
    weights : ndarray of shape (n, n_domains)
    losses : ndarray of shape (n,) or (n, n_targets)
        Pilot-run losses (> 0) of every candidate.
    k : int
        Subset size; needs ``n_domains + 1 <= k < n`` (the law has ``n_domains + 1`` free coefficients
        per target).
    criterion : {"expected", "observed"}, default="expected"
    n_restarts : int, default=8
    max_evals : int, default=20000
    random_state : int or Generator, default=0

    Returns
    -------
    SubsetSelection

    References
    ----------
    Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952 (40 candidates at 70M, 20 selected).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> W = rng.dirichlet(np.ones(3), size=16)
    >>> y = 2.0 + np.exp(W @ np.array([0.0, -1.0, 0.5])) * (1 + 0.01 * rng.standard_normal(16))
    >>> sel = select_subset(W, y, 8, random_state=0)
    >>> len(sel.indices), bool(sel.score <= np.min(sel.random_scores))
    (8, True)
    """
    W = np.asarray(weights, dtype=np.float64)
    Y = np.asarray(losses, dtype=np.float64)
    Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
    if W.ndim != 2 or Y.ndim != 2 or Y.shape[0] != W.shape[0]:
        raise InputError(f"weights (n, n_domains) and losses (n,) or (n, K) must have the same n; got "
                         f"{W.shape} and {np.shape(losses)}")
    if not np.all(np.isfinite(Y)) or np.any(Y <= 0):
        raise InputError("pilot losses must be finite and > 0")
    n, M = W.shape
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise InputError(f"k must be an integer; got {k!r}")
    if k >= n:
        raise InputError(f"cannot select {k} of {n} pilot runs: --select must be smaller than the number of runs")
    if k < M + 1:
        raise InputError(f"cannot select {k} runs: Ye's law has {M + 1} coefficients per target for {M} domains, "
                         f"so the subset needs at least {M + 1} runs")
    if criterion not in ("expected", "observed"):
        raise InputError(f"unknown selection criterion {criterion!r}; use 'expected' or 'observed'")
    rng = check_random_state(random_state)
    c = _fit_floors(W, Y, rng)
    fn = (_expected_scorer if criterion == "expected" else _observed_scorer)(W, Y, c)

    evals = 0
    best_sel, best_score = None, np.inf
    random_scores = []
    for _ in range(max(1, int(n_restarts))):
        inside = np.zeros(n, dtype=bool)
        inside[rng.choice(n, size=k, replace=False)] = True
        cur = fn(np.flatnonzero(inside))
        evals += 1
        random_scores.append(cur)
        improved = True
        while improved and evals < max_evals:
            improved = False
            # Random visiting order: deterministic given the seed, with no bias toward low row numbers.
            for a in rng.permutation(np.flatnonzero(inside)):
                for b in rng.permutation(np.flatnonzero(~inside)):
                    inside[a], inside[b] = False, True
                    s = fn(np.flatnonzero(inside))
                    evals += 1
                    if s < cur - 1e-12 * max(1.0, abs(cur)):
                        cur, improved = s, True
                        break
                    inside[a], inside[b] = True, False
                    if evals >= max_evals:
                        break
                if improved or evals >= max_evals:
                    break
        if cur < best_score:
            best_sel, best_score = np.flatnonzero(inside), cur
    if best_sel is None:
        raise InputError(f"no subset of {k} pilot runs determines the law (the mixtures are too alike); "
                         "select more runs")
    return SubsetSelection(indices=best_sel, score=float(best_score), random_scores=np.asarray(random_scores),
                           n_evals=evals, criterion=criterion, c=c)


def _last_checkpoints(runs: RunTable) -> RunTable:
    """Keep the last ``step`` of every run (a table of checkpoints becomes a table of final losses)."""
    frame = runs.frame
    if "step" not in frame.columns:
        return runs
    last = frame.groupby("run")["step"].transform("max") == frame["step"]
    return runs.subset(last.to_numpy())


def select_runs(runs: RunTable, k: int, *, targets: str | Sequence[str] = "all", criterion: str = "expected",
                n_restarts: int = 8, max_evals: int = 20_000,
                random_state: int | np.random.Generator | None = 0) -> pd.DataFrame:
    """Select ``k`` of the pilot runs in a run table (:func:`select_subset`); return them as a design.

    The pilot table holds one row per run; with several checkpoints per run, the last ``step`` of each run
    is used (Ye select on final small-scale losses). Run ids are kept, so the design traces back to the
    pilots.

    Returns
    -------
    pandas.DataFrame
        ``run`` and ``w:<domain>`` of the selected runs; ``attrs["selection"]`` holds the criterion values.
    """
    runs = _last_checkpoints(runs)
    frame = runs.frame
    dup = frame["run"][frame["run"].duplicated()].unique().tolist()
    if dup:
        raise InputError(f"{runs.path or 'pilot table'}: run id(s) {dup[:5]} appear more than once; subset "
                         "selection needs one row per pilot run (add a 'step' column or drop repeats)")
    names = runs.resolve_targets(targets)
    sel = select_subset(runs.weights, runs.losses(names), k, criterion=criterion, n_restarts=n_restarts,
                        max_evals=max_evals, random_state=random_state)
    return design_frame(runs.weights[sel.indices], runs.domains, runs=frame["run"].astype(str).to_numpy()[sel.indices],
                        attrs={"method": "select", "targets": names, "selection": sel.to_dict()})


# ---------------------------------------------------------------------- (d) active design
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
    from .optimize import project_box_simplex

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
    from .optimize import _make_scalar

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
                             f"cannot propose {k} (raise radius or n_candidates, or lower min_distance)")
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
                  objective: Any = "mean", n_bootstrap: int = ACTIVE_N_BOOTSTRAP,
                  n_candidates: int = ACTIVE_N_CANDIDATES, radius: float = ACTIVE_RADIUS,
                  min_distance: float = ACTIVE_MIN_DISTANCE, bounds: Mapping[str, Sequence[float]] | None = None,
                  n_jobs: int | None = None, random_state: int | np.random.Generator | None = 0) -> pd.DataFrame:
    r"""Propose the next ``k`` mixtures where a bootstrap ensemble of the law disagrees most near its optimum.

    Query-by-committee on a mixing law: the committee is the law refitted on bootstrap resamples of the
    runs, and it is asked about mixtures near the predicted optimum, the only region whose predictions decide
    which mixture is trained at scale.

    1. Fit ``law`` on ``runs`` and find its optimal mixture :math:`r^\star` under ``bounds``
       (:func:`mixlaw.optimize.optimize_mixture`, same ``objective``).
    2. Refit the law on ``n_bootstrap`` resamples of the runs (:func:`mixlaw.bootstrap.bootstrap_law`),
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
    n_bootstrap : int, default=32
        Committee size (bootstrap refits over runs, >= 2).
    n_candidates : int, default=2000
        Candidate mixtures drawn around the optimum (>= k).
    radius : float, default=0.25
        Largest L1 distance of a candidate from the predicted optimum (0.25 moves an eighth of the mass;
        2 covers the whole feasible set).
    min_distance : float, default=0.02
        Smallest L1 distance of a proposal from every run in the table and from the other proposals.
    bounds : dict of str to (float, float), optional
        ``{domain: (lo, hi)}`` for the optimum and every proposal.
    n_jobs : int, optional
        Worker processes for the bootstrap (default: up to 2; 1 runs in-process). The result does not
        depend on it.
    random_state : int or Generator, default=0
        Seeds the law's multistart, the bootstrap resamples and the candidates.

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
        ``k < 1``, an unknown law or target, fewer runs than the law has coefficients per eval plus one,
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

    Cost: ``1 + n_bootstrap`` fits of the law plus one optimisation; with Ye's law (8 starts), 10 runs and
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
    >>> d = active_design(t, 3, n_bootstrap=8, n_candidates=200, random_state=0)
    >>> list(d.columns)[:4], len(d), bool(np.allclose(d[["w:a", "w:b", "w:c"]].sum(axis=1), 1.0))
    (['run', 'w:a', 'w:b', 'w:c'], 3, True)
    """
    import warnings

    from scipy.spatial.distance import cdist

    from .bootstrap import bootstrap_law
    from .errors import ExtrapolationWarning, FitError
    from .laws.base import MixingLaw, get_law
    from .optimize import _LawEval, _objective_weights, check_enough_runs, optimize_mixture

    if not isinstance(runs, RunTable):
        raise InputError(f"active_design needs a RunTable of runs so far; got {type(runs).__name__}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k must be a positive integer (the number of mixtures to propose); got {k!r}")
    k = int(k)
    if isinstance(n_candidates, bool) or not isinstance(n_candidates, (int, np.integer)) or n_candidates < k:
        raise InputError(f"n_candidates must be an integer >= k={k}; got {n_candidates!r}")
    try:
        radius, min_distance = float(radius), float(min_distance)
    except (TypeError, ValueError):
        raise InputError(f"radius and min_distance must be numbers; got {radius!r}, {min_distance!r}") from None
    if not (np.isfinite(radius) and radius > 0):
        raise InputError(f"radius must be a positive number (L1 distance, at most 2 matters); got {radius!r}")
    if not (np.isfinite(min_distance) and min_distance >= 0):
        raise InputError(f"min_distance must be a number >= 0 (L1 distance); got {min_distance!r}")
    rng = check_random_state(random_state)
    seed = int(random_state) if isinstance(random_state, (int, np.integer)) else int(rng.integers(2**31))
    runs = _last_checkpoints(runs)
    names = runs.resolve_targets(targets)
    est = get_law(law, random_state=seed) if isinstance(law, str) else law
    if not isinstance(est, MixingLaw):
        raise InputError(f"law must be a law key or a MixingLaw; got {type(law).__name__}")
    fitted = est.clone().fit(runs, targets=names)
    check_enough_runs(fitted)  # before the refits: with no spare run the committee cannot disagree usefully

    predict_kw: dict[str, Any] = {}
    if fitted.uses_model_params and runs.model_params is not None:
        predict_kw["model_params"] = float(np.max(runs.model_params))
    if fitted.uses_tokens and runs.tokens is not None:
        predict_kw["tokens"] = float(np.max(runs.tokens))
    opt = optimize_mixture(fitted, objective=objective, bounds=bounds, natural=runs.weights.mean(axis=0),
                           random_state=seed, **predict_kw)
    domains = list(fitted.domains_)
    r_opt = opt.weight_array()
    lo = np.array([opt.lower[d] for d in domains])
    hi = np.array([opt.upper[d] for d in domains])

    # Candidates: straight segments from the optimum toward points spread over the feasible set, at L1
    # distances uniform in (0, radius); the optimum itself is one more candidate.
    U = _feasible_draws(lo, hi, int(n_candidates) - 1, rng)
    dist_u = np.abs(U - r_opt).sum(axis=1)
    rho = float(radius) * rng.random(len(U))
    lam = np.minimum(1.0, rho / np.maximum(dist_u, 1e-300))
    C = np.vstack([r_opt, r_opt + lam[:, None] * (U - r_opt)])
    C = np.clip(C, lo, hi)  # a convex combination of feasible points; this only removes ~1e-17 rounding
    W_runs = runs.weights_for(domains)
    far = cdist(C, W_runs, "cityblock").min(axis=1) > min_distance
    C = _dedup(C[far]) if far.any() else C[far]
    if len(C) < k:
        raise InputError(f"only {len(C)} candidate mixtures lie farther than min_distance={min_distance:g} from "
                         f"the {len(W_runs)} runs; cannot propose {k} (raise radius or lower min_distance)")

    res = bootstrap_law(est, runs, names, n=n_bootstrap, random_state=seed, n_jobs=n_jobs, points=C)
    assert res.predictions is not None
    ok = np.isfinite(res.predictions).all(axis=(1, 2))  # an overflowing refit (inf) is as unusable as NaN
    if ok.sum() < 2:
        raise FitError(f"only {int(ok.sum())} of {res.n_boot} bootstrap refits of {fitted.key!r} succeeded; the "
                       "committee needs at least 2 (add runs or use a simpler law)")
    oname, s = _objective_weights(objective, list(fitted.targets_))
    F = _reduce_objective(res.predictions[ok], oname, s, objective)  # (B, n_cand)
    ev = _LawEval(fitted, **predict_kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)  # candidates may leave the runs' hull by design
        f_hat = _reduce_objective(ev.predict(C), oname, s, objective)
        f_fit = _reduce_objective(ev.predict(W_runs), oname, s, objective)
    f_obs = _reduce_objective(runs.losses(names).reshape(len(runs), -1), oname, s, objective)
    noise_var = float(np.mean((f_obs - f_fit) ** 2))

    B = F.shape[0]
    A = (F - F.mean(axis=0)) / np.sqrt(B - 1)  # (B, n_cand): Sigma = A^T A, never formed
    var0 = np.sum(A * A, axis=0)
    # A floor on the noise keeps the update well-posed when the fit interpolates the runs (zero residuals).
    noise_var = max(noise_var, 1e-9 * float(var0.max()), 1e-300)
    picks, picked_std = _greedy_committee(A, C, k, noise_var, min_distance)

    P = C[picks]
    existing = set(np.asarray(runs.runs).astype(str))
    ids: list[str] = []
    j = 0
    while len(ids) < k:
        if f"act-{j:03d}" not in existing:
            ids.append(f"act-{j:03d}")
        j += 1
    attrs = {"method": "active", "law": fitted.key, "targets": list(fitted.targets_), "objective": oname,
             "optimum": {"weights": dict(opt.weights), "objective": float(opt.objective)},
             "n_bootstrap": int(res.n_boot), "n_failed": int(res.n_boot - ok.sum()), "n_candidates": int(len(C)),
             "radius": float(radius), "min_distance": float(min_distance), "noise_std": float(np.sqrt(noise_var)),
             "criterion": "greedy max ensemble variance of the objective, conditioned on earlier picks",
             "random_state": seed}
    frame = design_frame(P, domains, runs=ids, attrs=attrs)
    frame["objective"] = f_hat[picks]
    frame["objective_std"] = np.sqrt(var0[picks])
    frame["objective_std_given_previous"] = picked_std
    frame["l1_to_optimum"] = np.abs(P - r_opt).sum(axis=1)
    return frame


def read_tokens_available(path: str) -> dict[str, float]:
    """Tokens per domain from a CSV with columns ``domain,tokens`` or a JSON object ``{domain: tokens}``."""
    import json
    from pathlib import Path

    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: no such file (expected a CSV domain,tokens or a JSON {{domain: tokens}})")
    if p.suffix.lower() == ".json":
        try:
            doc = json.loads(p.read_text())
        except json.JSONDecodeError as e:
            raise InputError(f"{path}: not valid JSON ({e})") from None
        if not isinstance(doc, dict):
            raise InputError(f"{path}: expected a JSON object {{domain: tokens}}")
        items = list(doc.items())
    else:
        frame = pd.read_csv(p)
        missing = [c for c in ("domain", "tokens") if c not in frame.columns]
        if missing:
            raise InputError(f"{path}: missing column(s) {missing}; expected domain,tokens")
        items = list(zip(frame["domain"].astype(str), frame["tokens"], strict=True))
    out: dict[str, float] = {}
    for i, (d, v) in enumerate(items):
        try:
            out[str(d)] = float(v)
        except (TypeError, ValueError):
            raise InputError(f"{path}:{i + 2}: tokens of domain {d!r} is not a number: {v!r}") from None
    return out


# ---------------------------------------------------------------------- one entry point (CLI)
def make_design(domains: Sequence[str], *, method: str = "double-diminishing", n: int = 40,
                prior: Mapping[str, float] | None = None, tokens_available: Mapping[str, float] | None = None,
                target_tokens: float | None = None, max_epochs: float = 4.0, n_levels: int = 5,
                random_state: int | np.random.Generator | None = 0) -> pd.DataFrame:
    """Dispatch to :func:`double_diminishing` or :func:`dirichlet_design` (what ``mixlaw design`` calls).

    For double-diminishing, a token budget (``tokens_available`` + ``target_tokens``) sets each domain's
    maximum share via :func:`max_shares`; ``prior`` applies to the Dirichlet method only.
    """
    doms = _check_domains(domains)
    if method == "double-diminishing":
        if prior is not None:
            raise InputError("--prior applies to --method dirichlet only")
        m = None
        if tokens_available is not None or target_tokens is not None:
            if tokens_available is None or target_tokens is None:
                raise InputError("give both --tokens-available and --target-tokens (or neither)")
            m = max_shares(doms, tokens_available, target_tokens, max_epochs)
        return double_diminishing(doms, n, max_share=m, n_levels=n_levels, random_state=random_state)
    if method == "dirichlet":
        return dirichlet_design(doms, n, prior=prior, tokens_available=tokens_available, target_tokens=target_tokens,
                                max_epochs=max_epochs, random_state=random_state)
    if method == "active":
        raise InputError("--method active proposes from the runs so far: call active_design(runs, k) "
                         "(CLI: --method active --runs PILOTS)")
    raise InputError(f"unknown design method {method!r}; use 'double-diminishing', 'dirichlet' or 'active'")


__all__ = ["halving_levels", "double_diminishing_candidates", "double_diminishing", "dirichlet_design",
           "max_shares", "select_subset", "select_runs", "SubsetSelection", "active_design", "design_frame",
           "make_design", "read_tokens_available"]
