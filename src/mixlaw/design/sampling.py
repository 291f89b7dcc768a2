"""Proxy designs drawn before any run: Ye et al.'s double-diminishing proportions (per domain, shares halving
from the largest the token budget allows, combined and renormalised) and RegMix's Dirichlet sampler (draws
around a tempered prior with a random concentration, rejecting mixtures that would repeat a domain too
often), plus :func:`make_design`, the dispatch ``mixlaw design`` calls, and :func:`design_frame`, the table
every design is returned as.

References
----------
Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952 (double-diminishing proportions).
Liu et al., "RegMix: Data Mixture as Regression for Language Model Pre-training", ICLR 2025,
github.com/sail-sg/regmix, ``mixture_config/synthesize_mixture.py`` (Dirichlet scheme and its constants).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_random_state
from ..budget import TOKENS_AVAILABLE, check_domains, max_shares, per_domain
from ..data import WEIGHT_PREFIX
from ..errors import InputError

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
    doms = check_domains(domains)
    m = per_domain(max_share, doms, "max_share", default=1.0)
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
    doms = check_domains(domains)
    n = _check_n(n)
    rng = check_random_state(random_state)
    m = per_domain(max_share, doms, "max_share", default=1.0)
    assert m is not None
    levels = [halving_levels(float(mj), n_levels, include_zero) for mj in m]
    size = float(np.prod([len(lv) for lv in levels], dtype=np.float64))
    if size <= MAX_ENUMERATE:
        cands = double_diminishing_candidates(doms, max_share=m, n_levels=n_levels, include_zero=include_zero)
        if n > len(cands):
            raise InputError(f"n={n} is larger than the {len(cands)} distinct double-diminishing candidates for "
                             f"{len(doms)} domains with {n_levels} levels{_caps_words(doms, m)}")
        W = cands[np.sort(rng.choice(len(cands), size=n, replace=False))]
    else:
        W = _sample_grid(levels, m, n, rng)
    return design_frame(W, doms, prefix="dd", attrs={"method": "double-diminishing", "n_levels": int(n_levels),
                                                     "max_share": m.tolist()})


def _caps_words(domains: list[str], caps: np.ndarray) -> str:
    """How the double-diminishing refusal ends: the way out, and the max shares when they bind (hunt34b: caps from
    --tokens-available that summed to 1 left one mixture, and the refusal said "raise --levels", which adds none)."""
    if np.all(caps >= 1.0):
        return " (lower --n, or raise --levels)"
    named = ", ".join(f"{d} {c:.4g}" for d, c in zip(domains, caps, strict=True))
    more = "allow more of each domain (--tokens-available, --max-epochs, or a smaller --target-tokens)"
    if caps.sum() <= 1.0 + 1e-9:
        return (f": the max shares the token budget allows ({named}) sum to 1, so their own mixture is the only "
                f"one; {more}")
    return f" within the max shares the token budget allows ({named}): lower --n, raise --levels, or {more}"


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
        # The option named ('design --n 0' said "n must be a positive integer", as if of a keyword).
        raise InputError(f"n (--n) must be a positive integer (the number of mixtures); got {n!r}")
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
    doms = check_domains(domains)
    n = _check_n(n)
    rng = check_random_state(random_state)
    if not (0 < temperature <= 1):
        raise InputError(f"temperature must be in (0, 1]; got {temperature!r}")
    if not (0 < min_strength <= max_strength):
        raise InputError(f"need 0 < min_strength <= max_strength; got {min_strength!r}, {max_strength!r}")
    if not (0 <= minimum < 1.0 / len(doms)):
        raise InputError(f"minimum must be in [0, 1/n_domains); got {minimum!r}")
    tok = per_domain(tokens_available, doms, TOKENS_AVAILABLE)
    if tok is not None and target_tokens is None:
        raise InputError("tokens_available needs target_tokens (the training tokens of the target run)")
    if tok is None and target_tokens is not None:
        raise InputError("target_tokens needs tokens_available (tokens per domain)")
    caps = max_shares(doms, tok, target_tokens, max_epochs) if tok is not None else np.ones(len(doms))
    # Named as the command line has it: 'design --prior web=1,code=0' said "prior shares must be > 0; got {...}".
    p = per_domain(prior, doms, "prior (--prior)")
    if p is None:
        p = tok / tok.sum() if tok is not None else np.full(len(doms), 1.0 / len(doms))
    if np.any(p <= 0):
        bad = ", ".join(f"{d!r} {v:g}" for d, v in zip(doms, p.tolist(), strict=True) if v <= 0)
        raise InputError(f"prior (--prior): shares must be > 0 (a Dirichlet draw needs every domain); got {bad} (a "
                         "domain no run should train on: leave it out of --domains)")
    p = p / p.sum()
    given = p  # as the caller wrote it (normalised), for the error below
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
        if tok is None:
            # No caps (each 1): the draws repeat because the prior puts almost all its mass on a few domains
            # (prior a=1e-300,b=1 drew b alone); raising --max-epochs, as the caps' message said, changes nothing.
            shown = {d: float(f"{v:.3g}") for d, v in zip(doms, given.tolist(), strict=True)}
            raise InputError(f"only {len(found)} distinct Dirichlet mixtures in {20 * n_draws} draws around the "
                             f"prior {shown}; n={n} is too many: give the small shares of --prior (prior=) more "
                             "weight, or ask for fewer mixtures (--n, n=)")
        shown = dict(zip(doms, np.round(caps, 4).tolist(), strict=True))
        raise InputError(f"only {len(found)} distinct Dirichlet mixtures satisfy the epoch caps {shown}; "
                         f"n={n} is too many (raise --max-epochs (max_epochs=), or ask for fewer mixtures: --n, n=)")
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


# ---------------------------------------------------------------------- one entry point (CLI)
def make_design(domains: Sequence[str], *, method: str = "double-diminishing", n: int = 40,
                prior: Mapping[str, float] | None = None, tokens_available: Mapping[str, float] | None = None,
                target_tokens: float | None = None, max_epochs: float = 4.0, n_levels: int | None = None,
                random_state: int | np.random.Generator | None = 0) -> pd.DataFrame:
    """Dispatch to :func:`double_diminishing` or :func:`dirichlet_design` (what ``mixlaw design`` calls).

    For double-diminishing, a token budget (``tokens_available`` + ``target_tokens``) sets each domain's
    maximum share via :func:`max_shares`, and ``n_levels`` (default 5) the halving levels; ``prior`` applies to
    the Dirichlet method only, ``n_levels`` to double-diminishing only (each refused with the other).
    """
    doms = check_domains(domains)
    if n_levels is not None and method != "double-diminishing":
        # Silently ignored before: make_design(method="dirichlet", n_levels=3) drew the same design as without it.
        raise InputError("n_levels (--levels) applies to method 'double-diminishing' only")
    n_levels = 5 if n_levels is None else n_levels
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
