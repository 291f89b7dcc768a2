"""The feasible set of mixtures: the simplex intersected with user bounds, fixed weights, availability
caps (max_epochs x tokens / target tokens) and the fitted range, with the exact Euclidean projection onto
it (:func:`project_box_simplex`). Also the natural mixture an optimum is compared against and the
labelling of constraints that bind at a solution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..budget import TOKENS_AVAILABLE, max_shares, per_domain
from ..data import WEIGHT_PREFIX, beyond_tol, known_names
from ..errors import InputError
from .result import ActiveConstraint

#: A weight within this distance of a bound counts as "on the bound" (reported as an active constraint). SLSQP stops
#: within its tolerance of a face, not on it: at 1e-7, RegMix's train_1m (optimize --law additive-ens --target
#: pile_cc --bounds github=5%:30% ...) printed github 0.0500 (0.0500022) beside its bounds [0.05, 0.2] with no word
#: that the bound binds.
ACTIVE_TOL = 1e-5
#: Tolerance on sum(bounds) feasibility checks: rounding in user input, not a modelling slack.
FEAS_TOL = 1e-9
#: How to lift the fitted-range bounds, in every spelling a caller may have used: optimize_mixture's keyword,
#: optimize_runs' and the command line's.
LIFT_RANGE = "within_fitted_range=False (extrapolate=True, --extrapolate) lifts it"
#: Repetitions allowed when --max-epochs is not given (Muennighoff et al. 2023: up to ~4 epochs cost little;
#: the same default as :func:`mixlaw.budget.max_shares`).
DEFAULT_MAX_EPOCHS = 4.0
#: Active-constraint kind of a domain held at 0 because no fitting run trained on it (:func:`_pin_untrained`).
UNTRAINED = "no run trains on it"


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


def _not_a_number(v: object) -> bool:
    """A string, bytes or bool where a share is due: float() would read '0.1' or True without a word."""
    return isinstance(v, (str, bytes, bool, np.bool_))


def _as_numbers(values: Sequence[object]) -> str:
    """' (give 0.1, not '0.1')' where every value is a string float() reads, else ''."""
    try:
        nums = [float(v) for v in values if isinstance(v, str)]
    except ValueError:
        return ""
    if len(nums) != len(values):
        return ""
    return f" (give {nums[0]:g}, not {values[0]!r})" if len(nums) == 1 else \
        f" (give ({', '.join(f'{x:g}' for x in nums)}), not strings)"


def _ends(b: object) -> tuple[object, ...] | None:
    """A bound's ends as a tuple (None when ``b`` is not iterable): read once, whatever iterable holds them."""
    try:
        return tuple(b)  # type: ignore[call-overload]
    except TypeError:
        return None


def _constraints(domains: list[str], bounds: Mapping[str, Sequence[float]] | None, fixed: Mapping[str, float] | None,
                 tokens_available: Mapping[str, float] | Sequence[float] | None, target_tokens: float | None,
                 max_epochs: float | None, w_range: tuple[np.ndarray, np.ndarray] | None = None) -> _Problem:
    M = len(domains)
    lo, hi = np.zeros(M), np.ones(M)
    kind_lo, kind_hi = ["zero"] * M, ["upper bound"] * M
    for name, arg in (("bounds", bounds), ("fixed", fixed)):
        if arg is not None and not isinstance(arg, Mapping):
            # A list of (lo, hi) pairs in domain order was read as domain names: "bounds: unknown domain(s)
            # ['(0, 1)', '(0.1, 0.2)']".
            shape = "(lo, hi)" if name == "bounds" else "weight"
            raise InputError(f"{name} must be a mapping {{domain: {shape}}} by domain name; got a "
                             f"{type(arg).__name__}")
        unknown = sorted(set(map(str, arg or {})) - set(domains))
        if unknown:
            # The option named too: 'optimize --bounds wbe=0:0.5' said "bounds: unknown domain(s) ['wbe']" (hunt30).
            raise InputError(f"{name} (--{name}): unknown domain(s) {unknown}; the law's domains are "
                             f"{known_names(unknown, domains)}")
    for d, b in (bounds or {}).items():
        # Read once into a tuple: a one-pass iterable (map(float, ...), a generator) was emptied by the string check
        # and then read as no pair, and a non-iterable (0.3, None) reached the message's own reading of it, which
        # raised a bare TypeError in place of this InputError.
        ends = b if isinstance(b, (str, bytes)) else _ends(b)
        try:
            if ends is None or isinstance(ends, (str, bytes)) or any(_not_a_number(v) for v in ends):
                # ('0.05', '0.3') was read as (0.05, 0.3) and the string '01' as (0, 1), silently; only '5%' was
                # refused. A number is what the CLI's --bounds parser hands over too.
                raise TypeError
            lo_d, hi_d = (float(v) for v in ends)
        except (TypeError, ValueError):
            # ('5%', '30%') read "must be a pair (lo, hi)", which it is: say that the ends are shares.
            pct = isinstance(b, (tuple, list)) and any(isinstance(v, str) and v.strip().endswith("%") for v in b)
            raise InputError(f"bounds (--bounds) for {d!r} must be a pair (lo, hi) of numbers, shares in [0, 1]; "
                             f"got {b!r}"
                             + (" (percentages are the command line's form: give 0.05, not '5%')" if pct
                                else _as_numbers(ends) if isinstance(ends, tuple) else "")) from None
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
                             f"[{wl[j]:.4g}, {wh[j]:.4g}] (the range of its weight in the runs; {LIFT_RANGE})")
    # A mapping or one count per domain in the law's domain order, read as the designs read it (per_domain): a list
    # was refused here while max_shares and dirichlet_design took one.
    tok = per_domain(tokens_available, domains, TOKENS_AVAILABLE)
    if target_tokens is not None:
        if tok is None:
            raise InputError("target_tokens needs tokens_available (tokens per domain) to cap each domain's share")
        epochs = DEFAULT_MAX_EPOCHS if max_epochs is None else float(max_epochs)
        cap = max_shares(domains, tok, float(target_tokens), epochs)
        tighter = cap < hi
        hi = np.where(tighter, cap, hi)
        kind_hi = ["availability" if t else k for t, k in zip(tighter, kind_hi, strict=True)]
        bad = lo > hi + FEAS_TOL
        if np.any(bad):
            j = int(np.flatnonzero(bad)[0])
            raise InputError(f"domain {domains[j]!r}: lower bound {lo[j]:g} exceeds its availability cap {hi[j]:.4g} "
                             f"({epochs:g} epochs x {tok[j]:.4g} tokens / "
                             f"{float(target_tokens):.4g} target tokens)")
    elif max_epochs is not None:
        # With the tokens alone (they set the natural mixture's shares) it capped nothing, without a word: no cap
        # is max_epochs x tokens / target_tokens without the target's tokens.
        raise InputError("max_epochs (--max-epochs) needs tokens_available (--tokens-available) and target_tokens "
                         "(--target-tokens): it caps each domain's share at max_epochs x its tokens / target_tokens")
    is_fixed = np.zeros(M, dtype=bool)
    fval = np.zeros(M)
    for d, v in (fixed or {}).items():
        j = domains.index(d)
        try:
            if _not_a_number(v):
                raise TypeError  # '0.1' was fixed at 0.1 silently (only '5%' was refused)
            v = float(v)
        except (TypeError, ValueError):
            # '5%' and None stopped on float()'s bare ValueError / TypeError (bounds said what to give).
            pct = isinstance(v, str) and v.strip().endswith("%")
            raise InputError(f"fixed (--fixed) weight of {d!r} must be a number, a share in [0, 1]; got {v!r}"
                             + (" (percentages are the command line's form: give 0.05, not '5%')" if pct
                                else _as_numbers([v]))) from None
        if not np.isfinite(v):
            raise InputError(f"fixed (--fixed) weight of {d!r} must be a finite share in [0, 1]; got {v!r}")
        if not (lo[j] - FEAS_TOL <= v <= hi[j] + FEAS_TOL):
            # Say which limit: --fixed c4=0.5 on Dai & Zheng's 122M runs said "outside its bounds [0.02, 0.4169]"
            # with no --bounds given; those were the runs' range of c4, which --extrapolate lifts.
            kind = kind_lo[j] if v < lo[j] else kind_hi[j]
            why = {"fitted range": f"the range of its weight in the fitted runs; {LIFT_RANGE}",
                   "availability": "its cap: max epochs x tokens available / target tokens"}.get(kind, kind)
            raise InputError(f"fixed weight {v:g} of {d!r} lies outside its bounds [{lo[j]:g}, {hi[j]:.4g}] "
                             f"({why})")
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


def _natural(natural: Mapping[str, float] | Sequence[float] | None,
             tokens_available: Mapping[str, float] | Sequence[float] | None, domains: list[str]
             ) -> tuple[np.ndarray, str]:
    M = len(domains)
    if isinstance(natural, pd.DataFrame):
        # A one-row frame (df.head(1), pd.DataFrame([shares])) is its row, read by column name below: flattened as
        # an array, in another column order than the law's domains, it gave each domain another's share.
        if len(natural) != 1:
            raise InputError(f"natural mixture: one mixture expected; got a frame of {len(natural)} rows")
        natural = natural.iloc[0]
    if isinstance(natural, pd.Series) and not isinstance(natural.index, pd.RangeIndex):
        # A Series labelled by domain (t.frame.filter(like="w:").mean(), df.iloc[0]) is read by its labels, as
        # tokens_available's and predict's are: as a sequence, in another order than the law's domains, it gave each
        # domain another's share without a word.
        natural = {str(k).removeprefix(WEIGHT_PREFIX): v for k, v in natural.items()}
    if natural is not None:
        if isinstance(natural, Mapping):
            unknown = sorted(set(map(str, natural)) - set(domains))
            if unknown:
                raise InputError(f"natural mixture: unknown domain(s) {unknown}; the law's domains are "
                                 f"{known_names(unknown, domains)}")
            v = np.array([float(natural.get(d, 0.0)) for d in domains])
        else:
            v = np.asarray(natural, dtype=np.float64).ravel()
            if v.size != M:
                raise InputError(f"natural mixture: {v.size} weights for {M} domains")
        if not np.all(np.isfinite(v)) or np.any(v < 0) or beyond_tol(abs(v.sum() - 1), 0.01):
            raise InputError(f"natural mixture must be >= 0 and sum to 1 (± 0.01); got sum {v.sum():.6g}")
        return v / v.sum(), "given"
    t = per_domain(tokens_available, domains, TOKENS_AVAILABLE)  # as _constraints reads it
    if t is not None:
        if np.any(t <= 0):
            raise InputError(f"{TOKENS_AVAILABLE}: tokens must be finite and > 0 for every domain")
        return t / t.sum(), "token shares"
    return np.full(M, 1.0 / M), "uniform"


def _pin_untrained(prob: _Problem, w_hi: np.ndarray, bounds: Mapping[str, Sequence[float]] | None,
                   fixed: Mapping[str, float] | None) -> list[str]:
    """Hold at 0 every domain no fitting run trained on (its largest share in the runs is 0) that ``bounds`` and
    ``fixed`` leave unnamed, and return those domains.

    The law never saw such a domain, so whatever share it gives one is its functional form speaking, not data:
    with the fitted range lifted (``--extrapolate``), loglinear put 100 % of RegMix's pile_cc optimum on europarl
    zeroed in every run. A user who wants it searched names it in ``bounds``."""
    named = set(map(str, bounds or {})) | set(map(str, fixed or {}))
    pinned = []
    for j, d in enumerate(prob.domains):
        if w_hi[j] <= 0.0 and d not in named and not prob.fixed[j] and prob.hi[j] > 0.0:
            prob.hi[j] = 0.0
            prob.kind_lo[j] = prob.kind_hi[j] = UNTRAINED
            pinned.append(d)
    free = ~prob.fixed
    rem = 1.0 - prob.fixed_values[prob.fixed].sum()
    if pinned and free.any() and prob.hi[free].sum() < rem - FEAS_TOL:
        raise InputError(f"infeasible bounds: with {pinned} held at 0 (no fitting run trains on them), the other "
                         f"domains' upper bounds sum to {prob.hi[free].sum():.6g}, less than the {rem:.6g} to "
                         "share (raise some bounds, or name those domains in bounds to search them)")
    return pinned


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
