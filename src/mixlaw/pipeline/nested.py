r"""The nested route (Ye et al. 2025, §4): step law per curve, size law per mixture, mixing law at the target.

Stage 1 fits :math:`L(S) = E + B/S^{\beta}` over each curve's checkpoints (own exponent with >= 4 checkpoints,
beta shared per size otherwise), stage 2 fits :math:`L(N) = E + A/N^{\alpha}` per mixture on the step-extrapolated
losses (alpha shared across mixtures at exactly 3 sizes), stage 3 fits the registered mixing law on the predicted
losses at :math:`(N^*, S^*)`. Stages 2-3 can be redone at any other step count from stage 1's laws
(:class:`_NestedStages23`), which is what steps-to-match and ``PipelineResult.predict(at=...)`` use.

**Steps only** (a target at a fitted size, one size in the table: :mod:`.fitting`): stage 2 is not needed;
the mixing law is fitted on stage 1's step laws at :math:`S^*` (Ye et al. 2025: a step law per curve, then the
mixing law at the target step), and the result predicts at that size only, at any step count.

**Sizes only** (a target at the recorded step, one step in the table: :mod:`.fitting`): stage 1 is not needed;
stage 2 fits the size law on each mixture's recorded losses at that step (alpha shared per eval by default, as
above), and stage 3 the mixing law at :math:`N^*`; the result predicts at that step only, at any model size.
"""

from __future__ import annotations

import re
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..data import RunTable
from ..errors import DataWarning, InputError, MixlawError, MixlawWarning, user_stacklevel
from ..laws.base import MixingLaw, get_law, warm_clone
from ..laws.saved import LOSS_RANGE_FACTOR, beyond_loss_factor
from ..scaling import EXPONENT_BOUNDS, fit_curves, fit_shared_exponents
from . import _schema as sc
from .result import (
    PipelineResult,
    StageQuality,
    _check_mixing_law,
    _first_runs,
    _mixture_ids,
    _Target,
    check_fitted_scale,
    same_scale,
    size_law_refusal,
    stage_warning_line,
)

#: Checkpoints a curve needs for a step law of its own: one more than its three parameters (E, B, beta); with fewer
#: it shares beta with the other curves at its size (shared exponents) or is skipped.
OWN_LAW_CHECKPOINTS = 4


def _nested(table: RunTable, at: _Target, law: str, names: list[str], rng: np.random.Generator,
            law_options: dict[str, Any], msgs: list[str], shared: bool | str) -> PipelineResult:
    out = _nested_many(table, at, [law], names, rng, law_options, msgs, shared)[law]
    if isinstance(out, MixlawError):
        raise out
    return out


def _nested_many(table: RunTable, at: _Target, laws: list[str], names: list[str], rng: np.random.Generator,
                 law_options: dict[str, Any], msgs: list[str], shared: bool | str,
                 warm: dict[str, MixingLaw] | None = None, *,
                 steps_only: bool = False, sizes_only: bool = False) -> dict[str, PipelineResult | MixlawError]:
    """The nested route for several mixing laws: stages 1 and 2 (the step and size laws, most of the cost) are
    fitted once and shared; stage 3 per law.

    A law whose stage 3 fails maps to its error (the others still come back); a stage 1-2 failure raises.
    ``warm`` maps a law key to that law fitted on nearby data (a jackknife or backtest refit): its parameters
    start stage 3 (:func:`~mixlaw.laws.base.warm_clone`). ``steps_only``: the table holds the target size alone
    and stage 2 is skipped; ``sizes_only``: the table holds the target step alone and stage 1 is skipped (module
    docstring).
    """
    W, Y = table.weights, table.losses(names)
    N, S = table.model_params, at.time_of(table)
    assert N is not None and S is not None
    St, sym = at.time, at.symbol
    mixes, inv = _mixture_ids(W)
    sizes = np.unique(N)
    _check_scales(sizes, S, at, steps_only, sizes_only)
    kept = _without_mixtures_short_of_sizes(table, N, S, inv, len(mixes), steps_only, sizes_only, msgs)
    if kept is not None:
        table = kept
        W, Y = table.weights, table.losses(names)
        N, S = table.model_params, at.time_of(table)
        assert N is not None and S is not None
        mixes, inv = _mixture_ids(W)
    K = len(names)
    first = _first_runs(table, inv, len(mixes))
    if sizes_only:
        laws1 = _recorded_losses(Y, inv, N, sizes, len(mixes), K)
        rng.integers(2**31)  # the seed draw of stage 1, so that stages 2-3 draw theirs as with it
        return _stages23_results(table, at, laws, names, law_options, msgs, shared, warm, laws1, sizes, mixes,
                                 first, None, int(rng.integers(2**31)))
    # Stage 1: step laws. A curve with >= 4 checkpoints gets its own law (Ye); curves with 2-3 checkpoints
    # (e.g. the first third of a short run) share one exponent beta per size and eval (fit_shared_exponent).
    t0 = time.perf_counter()
    # Stage 1 needs no random choice (grid starts); the draw keeps the later stages' seeds as they were.
    rng.integers(2**31)
    run_ids = table.runs  # one conversion from the table, not one per label
    own, pooled_by_size, short = _curves_by_fit(run_ids, inv, N, S, sizes, len(mixes), shared)
    laws1, res1, lab1, n_shared1, warn1 = _fit_step_laws(own, pooled_by_size, S, Y, sizes, names, run_ids,
                                                         len(mixes))
    if not res1:
        raise InputError(f"the step law L({sym}) = E + B/{sym}^beta has 3 parameters; no training curve has 4 "
                         f"checkpoints, nor 2+ curves of one size with 2-3 checkpoints to share beta (e.g. {short[0]})")
    if short:
        msgs.append(f"{len(short)} curve(s) skipped, e.g. {short[0]}")
    how1 = "per mixture x size x eval" + (f" ({n_shared1} curve-evals with beta shared per size)" if n_shared1 else "")
    stage1 = StageQuality.from_residuals("step", f"L({sym}) = E + B/{sym}^beta {how1}, extrapolated to {sym}* = "
                                         f"{St:g}", res1, len(warn1), time.perf_counter() - t0, lab1)
    _record_warnings(msgs, "step", warn1)
    return _stages23_results(table, at, laws, names, law_options, msgs, shared, warm, laws1, sizes, mixes, first,
                             stage1, int(rng.integers(2**31)))


def _check_step_laws(laws1: np.ndarray, where: str, targets: list[str], *, sizes_only: bool) -> None:
    """A saved stage 1 (``laws1``: (E, log B, beta) per mixture x size x eval) within the bounds every step-law fit
    keeps (:func:`~mixlaw.scaling.fit_curves`, :func:`~mixlaw.scaling.fit_shared_exponents`): E >= 0 and beta in
    :data:`~mixlaw.scaling.EXPONENT_BOUNDS`; a curve without a law is three nulls. Sizes only: the recorded loss
    where E would be, positive or null. InputError naming the first entry (JSON path) and the bound; the file is
    untrusted: beta = -1e300 loaded, and its curve's inf at any other step count was dropped from stages 2-3
    without a word (log B is checked at the file's own steps: :meth:`_NestedStages23.check_values`)."""
    if sizes_only:
        bad = np.argwhere(laws1[..., 0] <= 0)  # False for NaN
        if bad.size:
            m, s, k = bad[0]
            raise InputError(f"{where}[{m}][{s}][{k}][0]: {targets[k]}'s recorded loss = {laws1[m, s, k, 0]:g}; "
                             "expected a positive loss or null")
        return
    have = np.isfinite(laws1)
    part = np.argwhere(have.any(axis=-1) & ~have.all(axis=-1))
    if part.size:
        m, s, k = part[0]
        raise InputError(f"{where}[{m}][{s}][{k}]: expected three numbers (E, log_B, beta) or three nulls (a curve "
                         "without a step law)")
    lo, hi = EXPONENT_BOUNDS
    for j, name, low, high in ((0, "E", 0.0, np.inf), (2, "beta", lo, hi)):
        bad = np.argwhere((laws1[..., j] < low) | (laws1[..., j] > high))  # False for NaN
        if bad.size:
            m, s, k = bad[0]
            raise InputError(f"{where}[{m}][{s}][{k}][{j}]: {targets[k]}'s {name} = {laws1[m, s, k, j]:.6g} lies "
                             f"outside [{low:g}, {high:g}], the bounds of the step law's fit")


def _leave_one_out_medians(values: np.ndarray) -> np.ndarray:
    """Each entry's median of the other finite entries of ``values`` (1-D; NaN where the entry is NaN or no other is
    finite), without a median per entry: in the sorted finite values ``a`` (n of them), the others of the one at
    position i are ``a[j + (j >= i)]`` for j < n - 1."""
    out = np.full(values.shape, np.nan)
    where = np.flatnonzero(np.isfinite(values))
    n = where.size
    if n < 2:
        return out
    order = np.argsort(values[where], kind="stable")
    a = values[where][order]
    i = np.arange(n)
    lo_j, hi_j = (n - 2) // 2, (n - 1) // 2  # the middle of n - 1 values: one index (odd), two (even)
    med = (a[lo_j + (lo_j >= i)] + a[hi_j + (hi_j >= i)]) / 2.0
    out[where[order]] = med
    return out


def _check_scales(sizes: np.ndarray, S: np.ndarray, at: _Target, steps_only: bool, sizes_only: bool) -> None:
    """Refuse a table whose sizes or steps do not fit the pipeline asked for, before any fit."""
    if steps_only and sizes.size != 1:
        raise InputError(f"steps only: the table must hold one model size; it has {sizes.size}")
    if sizes_only and np.unique(S).size != 1:
        raise InputError(f"sizes only: the table must hold one {at.axis} value; it has {np.unique(S).size}")
    if sizes.size < 3 and not steps_only:
        raise size_law_refusal(sizes, at_time=f"{at.symbol} = {at.time:g}" if sizes_only else None)


def _without_mixtures_short_of_sizes(table: RunTable, N: np.ndarray, S: np.ndarray, inv: np.ndarray, n_mix: int,
                                     steps_only: bool, sizes_only: bool, msgs: list[str]) -> RunTable | None:
    """The table without the mixtures a size law cannot use, said in a warning (None: every mixture is kept)."""
    # A mixture needs curves at >= 3 sizes for its size law: drop the others before fitting their step laws
    # (a curve needs >= 2 checkpoints to enter stage 1 at all; one, the recorded loss, when there is no stage 1).
    need = 1 if steps_only else 3
    curve_ok = pd.Series(S).groupby([inv, N]).transform("nunique").to_numpy() >= (1 if sizes_only else 2)
    n_sizes = pd.Series(np.where(curve_ok, N, np.nan)).groupby(inv).nunique().reindex(range(n_mix), fill_value=0)
    few = n_sizes.to_numpy() < need
    if not (few.any() and not few.all()):  # all: the stage that cannot run says why
        return None
    why = "without a curve of 2 or more checkpoints" if steps_only else "with curves at fewer than 3 sizes"
    first_row = int(np.flatnonzero(few[inv])[0])
    # Its sizes too: 'e.g. mix40_N1.22e+08' alone (Dai & Zheng's sweep, numbered runs) read as a run at one
    # size, not as a mixture trained at 122M and 310M only.
    has = np.unique(N[(inv == inv[first_row]) & curve_ok])
    where = "no curve" if not has.size else f"curves at {', '.join(f'{n:.4g}' for n in has)} only"
    # Sizes only: no step law is fitted ("dropped before the step fits" on ADMIRE's one-row-per-run sweep).
    msg = (f"{int(few.sum())} mixture(s) {why} dropped before the {'size' if sizes_only else 'step'} fits, e.g. "
           f"{table.runs[first_row]} ({where})")
    msgs.append(msg)
    warnings.warn(msg, DataWarning, stacklevel=user_stacklevel(3))
    return table.subset(~few[inv])


def _recorded_losses(Y: np.ndarray, inv: np.ndarray, N: np.ndarray, sizes: np.ndarray, n_mix: int,
                     K: int) -> np.ndarray:
    """Stage 1's table for a sizes-only pipeline, which fits no step law: the losses recorded at the one step."""
    # No stage 1: each (mixture, size) has its recorded losses at S* (several rows, e.g. seeds: their mean),
    # kept where the step laws' E would be (their B and beta stay NaN, never read).
    laws1 = np.full((n_mix, sizes.size, K, 3), np.nan)
    si_of = np.searchsorted(sizes, N)
    for k in range(K):
        laws1[..., k, 0] = pd.Series(Y[:, k]).groupby([inv, si_of]).mean().unstack().reindex(
            index=range(n_mix), columns=range(sizes.size)).to_numpy()
    return laws1


def _curves_by_fit(run_ids: Any, inv: np.ndarray, N: np.ndarray, S: np.ndarray, sizes: np.ndarray, n_mix: int,
                   shared: bool | str) -> tuple[list[tuple[int, int, np.ndarray]], list[list[tuple[int, np.ndarray]]],
                                                list[str]]:
    """Sort the curves into those with their own step law, those that share beta per size, and those skipped."""
    short: list[str] = []
    own: list[tuple[int, int, np.ndarray]] = []  # (size index, mixture, rows): curves with their own law
    pooled_by_size: list[list[tuple[int, np.ndarray]]] = []
    for si, size in enumerate(sizes):
        pooled: list[tuple[int, np.ndarray]] = []
        for m in range(n_mix):
            rows = np.flatnonzero((inv == m) & (N == size))
            if rows.size == 0:
                continue
            n_ck = np.unique(S[rows]).size
            if n_ck < 2:
                short.append(f"{run_ids[rows[0]]} (N={size:g}: {n_ck} checkpoint)")
                continue
            if shared is True or (shared == "auto" and n_ck < OWN_LAW_CHECKPOINTS):
                pooled.append((m, rows))
                continue
            if n_ck < OWN_LAW_CHECKPOINTS:
                short.append(f"{run_ids[rows[0]]} (N={size:g}: {n_ck} checkpoints, own step law needs "
                             f"{OWN_LAW_CHECKPOINTS})")
                continue
            own.append((si, m, rows))
        if len(pooled) == 1:
            # The only curve at its size shares beta with itself: with 4+ checkpoints it is fitted as its own
            # law. It was skipped, with "< 4 checkpoints" said of a curve of 5 (a largest size of one mixture).
            m, rows = pooled[0]
            n_ck = np.unique(S[rows]).size
            if n_ck >= OWN_LAW_CHECKPOINTS:
                own.append((si, m, rows))
            else:
                short.append(f"{run_ids[rows[0]]} (N={size:g}: {n_ck} checkpoints, the only curve at this size: "
                             f"no other curve to share beta with, and its own step law needs {OWN_LAW_CHECKPOINTS})")
        pooled_by_size.append(pooled if len(pooled) >= 2 else [])
    return own, pooled_by_size, short


def _fit_step_laws(own: list[tuple[int, int, np.ndarray]], pooled_by_size: list[list[tuple[int, np.ndarray]]],
                   S: np.ndarray, Y: np.ndarray, sizes: np.ndarray, names: list[str], run_ids: Any,
                   n_mix: int) -> tuple[np.ndarray, list[np.ndarray], list[str], int, list[str]]:
    """Stage 1's fits, batched: (E, log B, beta) per curve, and its residuals, labels, shared count and warnings."""
    K = len(names)
    # (E, log B, beta) of every curve's step law: stages 2-3 can then be redone at any other step count.
    laws1 = np.full((n_mix, sizes.size, K, 3), np.nan)
    res1: list[np.ndarray] = []
    lab1: list[str] = []
    n_shared1 = 0
    warn1: list[str] = []
    # Every own curve x eval in one batched fit (variable projection over beta, then one Levenberg-Marquardt
    # solve); every (size, eval) group of short curves in one batched shared-exponent fit.
    fits = fit_curves([S[r] for _, _, r in own for _ in range(K)], [Y[r, k] for _, _, r in own for k in range(K)],
                      labels=[f"step law {run_ids[r[0]]} N={sizes[si]:g} {names[k]}" for si, _, r in own
                              for k in range(K)]) if own else []
    groups = [(si, k) for si, pooled in enumerate(pooled_by_size) if pooled for k in range(K)]
    shared_fits = fit_shared_exponents(
        [([S[r] for _, r in pooled_by_size[si]], [Y[r, k] for _, r in pooled_by_size[si]]) for si, k in groups],
        labels=[f"step law (shared beta) N={sizes[si]:g}" for si, _ in groups]) if groups else []
    fit_at = {(si, m, k): fits[a * K + k] for a, (si, m, _) in enumerate(own) for k in range(K)}
    shared_at = dict(zip(groups, shared_fits, strict=True))
    for si, size in enumerate(sizes):
        for si_, m, rows in own:
            if si_ != si:
                continue
            for k in range(K):
                fr = fit_at[(si, m, k)]
                curve = f"{run_ids[rows[0]]} N={size:g} {names[k]}"
                warn1 += _curve_warnings(fr.warnings, [curve], curve, "log_B", "beta")
                res1.append(np.expm1(fr.residuals))
                lab1.append(curve)
                laws1[m, si, k] = fr.params.array()
        for k in range(K if pooled_by_size[si] else 0):
            Eg, lBg, beta, fr = shared_at[(si, k)]
            warn1 += _curve_warnings(fr.warnings, [f"{run_ids[r[0]]} N={size:g} {names[k]}"
                                                   for _, r in pooled_by_size[si]],
                                     f"N={size:g} {names[k]}", "log_B", "beta")
            n_shared1 += len(pooled_by_size[si])
            for g, (m, r) in enumerate(pooled_by_size[si]):
                pred = Eg[g] + np.exp(lBg[g] - beta * np.log(S[r]))
                res1.append(pred / Y[r, k] - 1.0)
                lab1.append(f"{run_ids[r[0]]} N={size:g} {names[k]}")
                laws1[m, si, k] = (Eg[g], lBg[g], beta)
    return laws1, res1, lab1, n_shared1, warn1


def _stages23_results(table: RunTable, at: _Target, laws: list[str], names: list[str], law_options: dict[str, Any],
                      msgs: list[str], shared: bool | str, warm: dict[str, MixingLaw] | None, laws1: np.ndarray,
                      sizes: np.ndarray, mixes: np.ndarray, first: list[str], stage1: StageQuality | None,
                      seed23: int) -> dict[str, PipelineResult | MixlawError]:
    """Stages 2-3 for each law from stage 1's laws (``stage1`` None: sizes only, ``laws1[..., 0]`` the recorded
    losses at the one step), one :class:`PipelineResult` (or the law's error) each."""
    Nt, St = at.params, at.time
    out: dict[str, PipelineResult | MixlawError] = {}
    size_cache: dict[tuple[float, float, int], tuple[StageQuality, np.ndarray, np.ndarray, list[str]]] = {}
    for law in laws:
        own_msgs = list(msgs)
        stages23 = _NestedStages23(laws1, sizes, mixes, first, names, table.domains, Nt, law, law_options, shared,
                                   seed23, at.symbol, own_msgs, size_cache, (warm or {}).get(law),
                                   time=St if stage1 is None else None)
        try:
            stage2, stage3, ok, target, mixing, kw = stages23.at(St, record=True)
        except MixlawError as err:
            if not isinstance(err, InputError) or "size law" in str(err):
                raise  # stage 2 is shared: it fails for every law
            out[law] = err
            continue
        stages = {"step": stage1, "size": stage2, "mixture": stage3}
        stages = {k: v for k, v in stages.items() if v is not None}
        out[law] = PipelineResult("nested", law, Nt, at.steps, table.domains, names, mixes[ok],
                                  [r for r, o in zip(first, ok, strict=True) if o], target, stages, mixing, kw,
                                  own_msgs, tokens_per_step=at.tokens_per_step, scales=stages23)
    return out


#: A shared-exponent fit's name for one curve's parameter at a bound: ``E5 at lower bound 0`` (its E or log A).
_CURVE_PARAM = re.compile(r"(E|log_A)(\d+) (at (?:lower|upper) bound .*)", re.S)


def _curve_warnings(messages: list[str], curves: list[str], group: str, coef: str, exponent: str) -> list[str]:
    """A shared-exponent fit's warnings, each curve's parameter named by its curve (``curves[g]``: 'm4-N2e+07
    N=2e+07 x: E at lower bound 0'), the shared exponent ``a`` by the group ('N=2e+07 x: beta at upper bound 4'),
    any other message the group's. The fit numbers its curves' E_g and A_g (``E5 at lower bound 0``): the curve's
    place in that fit, which no printed label shows; read as a mixture's or a run's number, it named another.

    A curve with its own law (``--shared-exponents no``, or ``auto`` where 4+ checkpoints or sizes allow) is a group
    of one: ``curves = [label]``, ``group = label``, its messages (``E at lower bound 0``, ``alpha at upper bound
    4``) each prefixed by it. Bare, as they were, Ye et al.'s 5Mix said "size stage: 139 warning(s) in its fits: E at
    lower bound 0 (x113); alpha at upper bound 4 (x26)" and named no curve."""
    out = []
    for m in messages:
        hit = _CURVE_PARAM.fullmatch(m)
        g = int(hit.group(2)) if hit else -1
        if hit and g < len(curves):
            out.append(f"{curves[g]}: {'E' if hit.group(1) == 'E' else coef} {hit.group(3)}")
        elif m.startswith("a at "):
            out.append(f"{group}: {exponent} {m[2:]}")
        else:
            out.append(f"{group}: {m}")
    return out


def _record_warnings(msgs: list[str], stage: str, messages: list[str]) -> None:
    line = stage_warning_line(stage, messages)
    if line is not None:
        msgs.append(line)


class _NestedStages23:
    """Stages 2 (size law) and 3 (mixing law) of the nested route, redone at any step count from stage 1's laws.

    Stage 1 is fitted once; its step laws give every curve's loss at any :math:`S`, so the target-size curve
    of a mixture (steps-to-match) costs one size-law and one mixing-law fit per step count. With one size
    (``sizes`` of length 1: the steps-only pipeline) there is no stage 2: the mixing law is fitted on the step
    laws' values at :math:`S`, and that size is the only one it predicts at. With one step count (``time``: the
    sizes-only pipeline) there is no stage 1: ``laws1[..., 0]`` holds the recorded losses at that step, stage 2
    fits the size law on them, and that step is the only one it predicts at.
    """

    def __init__(self, laws1: np.ndarray, sizes: np.ndarray, mixes: np.ndarray, first: list[str], names: list[str],
                 domains: list[str], Nt: float, law: str, law_options: dict[str, Any], shared: bool | str, seed: int,
                 sym: str, msgs: list[str],
                 size_cache: dict[tuple[float, float, int], tuple[StageQuality, np.ndarray, np.ndarray, list[str]]]
                 | None = None, warm: MixingLaw | None = None, *, time: float | None = None) -> None:
        self.laws1, self.sizes, self.mixes, self.first, self.names = laws1, sizes, mixes, first, names
        self.domains, self.Nt, self.law_key, self.law_options = domains, Nt, law, law_options
        self.shared, self.seed, self.sym, self.msgs = shared, seed, sym, msgs
        self._cache: dict[tuple[float, float], tuple[MixingLaw, dict[str, Any]]] = {}
        # Stage 2 does not depend on the mixing law: the instances of one fit (one per law) share this cache.
        self._size_cache = {} if size_cache is None else size_cache
        self.warm = warm
        self.time = time

    @property
    def steps_only(self) -> bool:
        return self.sizes.size == 1

    @property
    def sizes_only(self) -> bool:
        """Fitted at one step (or token) count, ``time``: no step laws, the recorded losses there."""
        return self.time is not None

    @property
    def size(self) -> float | None:
        """The one model size of a steps-only pipeline (None: several, with the size law)."""
        return float(self.sizes[0]) if self.steps_only else None

    def to_dict(self) -> dict[str, Any]:
        """The fitted stage-1 laws and the settings of stages 2-3, as strict JSON (NaN -> null)."""
        return {"kind": "nested", "step_laws": sc.jsonable_array(self.laws1), "sizes": self.sizes.tolist(),
                "mixtures": self.mixes.tolist(), "first_runs": list(self.first), "target_params": self.Nt,
                "law": self.law_key, "law_options": sc.plain(self.law_options), "shared_exponents": self.shared,
                "seed": self.seed, "symbol": self.sym, **({} if self.time is None else {"time": self.time})}

    @classmethod
    def from_dict(cls, d: Any, where: str, *, domains: list[str], targets: list[str], **_: Any) -> _NestedStages23:
        """Rebuild from :meth:`to_dict`, checking every field (the file is untrusted)."""
        sizes = sc.array(d, "sizes", where, (None,))
        mixes = sc.array(d, "mixtures", where, (None, len(domains)))
        laws1 = sc.array(d, "step_laws", where, (len(mixes), len(sizes), len(targets), 3), allow_nan=True)
        one = sc.number(d, "time", where, positive=True) if isinstance(d, dict) and "time" in d else None
        _check_step_laws(laws1, f"{where}.step_laws", targets, sizes_only=one is not None)
        if sizes.size in (0, 2) or np.any(sizes <= 0) or np.any(np.diff(sizes) <= 0):
            raise InputError(f"{where}.sizes: expected 3 or more increasing positive model sizes, or one (steps only)")
        target_params = float(sc.number(d, "target_params", where, positive=True) or 0.0)
        if sizes.size == 1 and not same_scale(target_params, sizes[0]):
            raise InputError(f"{where}.target_params: a pipeline fitted at one model size ({sizes[0]:g}) predicts at "
                             f"that size only; got {target_params:g}")
        shared = sc.field_of(d, "shared_exponents", where)
        if shared not in ("auto", True, False):
            raise InputError(f"{where}.shared_exponents: expected 'auto', true or false; got {shared!r}")
        seed = sc.number(d, "seed", where)
        if seed is None or not float(seed).is_integer() or not 0 <= seed < 2**32:
            raise InputError(f"{where}.seed: expected an integer in [0, 2^32)")
        law, options = sc.law_spec(d, where)
        # A sizes-only pipeline names its one step (or token) count (read above); a file without it has step laws.
        if one is not None and sizes.size < 3:
            raise InputError(f"{where}.time: a sizes-only pipeline needs 3 or more model sizes; got {sizes.size}")
        return cls(laws1, sizes, mixes, sc.strings(d, "first_runs", where, len(mixes)), targets, domains,
                   target_params, law, options, shared, int(seed), sc.string(d, "symbol", where, ("S", "D")), [],
                   time=one)

    def check_values(self, steps: list[float], where: str) -> None:
        """Every saved step law gives a finite, positive loss at each of ``steps`` (the file's own fitted steps:
        its smallest and its target), InputError naming the first that does not: its log B runs past what a float
        holds there (1e308 made the curve's value inf, and stages 2-3 dropped that curve without a word). Sizes
        only: nothing to check (no step law; the recorded losses are checked on load)."""
        if self.sizes_only:
            return
        for S in steps:
            with np.errstate(over="ignore", invalid="ignore"):
                v = self._values_at(S)
            bad = np.argwhere(np.all(np.isfinite(self.laws1), axis=-1) & ~(np.isfinite(v) & (v > 0)))
            if bad.size:
                m, s, k = bad[0]
                raise InputError(f"{where}.step_laws[{m}][{s}][{k}]: {self.names[k]}'s step law E + B/{self.sym}^beta "
                                 f"= {v[m, s, k]:g} at {self.sym} = {S:g}, a fitted {self.sym} of this pipeline; "
                                 f"expected a finite positive loss (log_B = {self.laws1[m, s, k, 1]:g})")

    def check_target_losses(self, St: float, losses: np.ndarray, where: str) -> None:
        """Every saved curve's loss at the target step ``St`` (its step law's value there, at most; sizes only: the
        recorded loss, both ways) lies within :data:`~mixlaw.laws.saved.LOSS_RANGE_FACTOR` of the losses the file
        holds for that eval at ``St``: ``losses`` (``state.target_losses``, stage 3's inputs, (n_kept_mixtures,
        n_targets)) and the median curve of each model size there (the curve's own size without it). InputError
        naming the first that does not (JSON path, mixture's first run, size, eval and the curve's E, log_B, beta).

        Why: the file is untrusted, and a step law's E or log_B edited to an absurd value within its bounds (E =
        1e300 in [0, inf)) loaded; stages 2-3 redone at any other scale then read it (``predict --pipeline --params
        3e7 --steps 1500`` moved by 1.5 % without a word). Why these references: stages 2-3 at the target read the
        curves at ``St``, so the saved target losses came from them, and a curve at a smaller size than the target
        lies above them by the size gap (a 1M proxy's loss 2-3x a 1B target's: Chinchilla's fit), which the median
        curves of the other sizes bridge; each size's median moves with fewer than half its curves edited, and the
        curve's own size leaves it out so that a size of one or two curves still has one reference. Mixing moves a
        loss by tens of percent at one size and step (:data:`~mixlaw.laws.saved.LOSS_RANGE_FACTOR`'s note)."""
        with np.errstate(over="ignore", invalid="ignore"):
            v = self._values_at(St)  # (mixtures, sizes, evals); NaN: no curve
        have = np.isfinite(self.laws1[..., 0]) if self.sizes_only else np.all(np.isfinite(self.laws1), axis=-1)
        fitted = np.where(have, v, np.nan)
        factor = LOSS_RANGE_FACTOR
        for k, name in enumerate(self.names):
            own = losses[:, k][np.isfinite(losses[:, k])]
            fk = fitted[:, :, k]
            medians = np.array([np.median(c[np.isfinite(c)]) if np.isfinite(c).any() else np.nan for c in fk.T])
            others = [np.r_[own, np.delete(medians, s)] for s in range(len(medians))]  # what every size reads
            lo = np.array([np.nanmin(o) if np.isfinite(o).any() else np.nan for o in others])
            hi = np.array([np.nanmax(o) if np.isfinite(o).any() else np.nan for o in others])
            loo = np.column_stack([_leave_one_out_medians(c) for c in fk.T])
            lo, hi = np.fmin(lo[None, :], loo), np.fmax(hi[None, :], loo)  # NaN: no reference at all
            # A step law only from above: its fit bounds E at 0 alone, and a curve of early noisy checkpoints
            # fitted there lies any way below the others far past its steps (0.70 at S = 1e5 against 2.24-4.42:
            # 5 of 16 fits of steps 10-160 at 5 % noise were refused); check_values keeps it positive.
            off = np.isnan(fk) | beyond_loss_factor(fk, lo, hi, below=self.sizes_only)
            bad = have[:, :, k] & np.isfinite(lo) & off
            if not bad.any():
                continue
            m, s = np.argwhere(bad)[0]
            x = v[m, s, k]
            at = f"{self.sym} = {St:g} (the target)"
            what = (f"{name}'s recorded loss = {x:.4g} at {at}" if self.sizes_only else
                    f"{name}'s step law E + B/{self.sym}^beta = {x:.4g} at {at} (E = {self.laws1[m, s, k, 0]:.4g},"
                    f" log_B = {self.laws1[m, s, k, 1]:.4g}, beta = {self.laws1[m, s, k, 2]:.4g})")
            held = (f"outside {factor:g}x the losses this file holds for {name} there, [{lo[m, s]:.4g}, "
                    f"{hi[m, s]:.4g}]" if self.sizes_only else
                    f"over {factor:g}x the largest loss this file holds for {name} there, {hi[m, s]:.4g}")
            raise InputError(f"{where}.step_laws[{m}][{s}][{k}]: mixture of run {self.first[m]} at N = "
                             f"{self.sizes[s]:g}: {what}, {held} (state.target_losses and each size's median "
                             "curve): edited? (refit)")

    def law(self, steps: float) -> tuple[MixingLaw, dict[str, Any]]:
        """The mixing law at (N*, ``steps``) and its predict keywords."""
        return self.law_at(self.Nt, steps)

    def law_at(self, params: float, steps: float) -> tuple[MixingLaw, dict[str, Any]]:
        """The mixing law at model size ``params`` and ``steps`` (or tokens) and its predict keywords (cached)."""
        check_fitted_scale(params, steps, size=self.size, time=self.time, sym=self.sym)
        key = (float(params), float(steps))
        if key not in self._cache:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MixlawWarning)  # reported once, at the target scale
                *_, mixing, kw = self.at(key[1], record=False, Nt=key[0])
            self._cache[key] = (mixing, kw)
        return self._cache[key]

    def at(self, St: float, record: bool, Nt: float | None = None) -> tuple[
            StageQuality | None, StageQuality, np.ndarray, np.ndarray, MixingLaw, dict[str, Any]]:
        mixes, names = self.mixes, self.names
        law, law_options, sym, msgs = self.law_key, self.law_options, self.sym, self.msgs
        Nt = self.Nt if Nt is None else Nt
        rng = np.random.default_rng(self.seed)
        seed = int(rng.integers(2**31))
        key = (float(St), float(Nt), seed)
        if key not in self._size_cache:
            self._size_cache[key] = self._size_stage(St, Nt, seed)
        stage2, ok, target, warn2 = self._size_cache[key]
        if not ok.all() and record:
            msg = (f"{int((~ok).sum())} mixture(s) without a step law at N = {self.sizes[0]:g} dropped"
                   if self.steps_only else
                   f"{int((~ok).sum())} mixture(s) dropped at the size stage: curves at fewer than 3 sizes, or the "
                   "only mixture at exactly 3 sizes (no other to share alpha with)")
            msgs.append(msg)
            warnings.warn(msg, DataWarning, stacklevel=user_stacklevel(4))
        mixes, target = mixes[ok], target[ok]
        # Stage 3: the mixing law at the target scale.
        t0 = time.perf_counter()
        opts = {"random_state": int(rng.integers(2**31)), **law_options}
        fresh = get_law(law, **opts)
        # The warm start is for the target-scale fit it came from (record=True), not other scales' laws.
        mixing = warm_clone(self.warm) if record and self.warm is not None and self.warm.key == fresh.key else fresh
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
        warn3 = [str(w.message) for w in caught] + [m for r in mixing.results_.values() for m in r.warnings]
        stage3 = StageQuality.from_residuals("mixture", f"{law} on the {len(mixes)} mixtures' predicted losses at "
                                             f"(N*, {sym}*)", list((pred / target - 1.0).T), len(warn3),
                                             time.perf_counter() - t0, list(names))
        if record:
            _record_warnings(msgs, "size", warn2)
            _record_warnings(msgs, "mixture", warn3)
        return stage2, stage3, ok, target, mixing, ({"model_params": Nt} if mixing.uses_model_params else {})

    def _size_stage(self, St: float, Nt: float, seed: int
                    ) -> tuple[StageQuality | None, np.ndarray, np.ndarray, list[str]]:
        """Stage 2 at (``Nt``, ``St``): its quality, the mixtures kept, their losses there, its warnings (steps
        only: no stage, the step laws' values at ``St``)."""
        at_St = self._values_at(St)
        if self.steps_only:
            ok = np.all(np.isfinite(at_St[:, 0, :]), axis=1)
            if not ok.any():
                raise InputError(f"no mixture has a step law at N = {self.sizes[0]:g}")
            return None, ok, at_St[:, 0, :], []
        # Stage 2: size laws. Mixtures at >= 4 sizes get their own law; at exactly 3 sizes, alpha is shared
        # across those mixtures per eval (3 points cannot pin 3 parameters with a residual left).
        t0 = time.perf_counter()
        ok, own, three = self._size_law_groups(np.sum(np.isfinite(at_St[:, :, 0]), axis=1))
        target = np.full((len(self.mixes), len(self.names)), np.nan)
        res_own, lab_own, warn_own = self._own_size_laws(at_St, own, Nt, target)
        res_three, lab_three, warn_three = self._shared_alpha_size_laws(at_St, three, Nt, target)
        warn2 = warn_own + warn_three
        how2 = ("per mixture x eval" if not three.size else
                f"with alpha shared per eval across {three.size} mixture(s)"
                + (f", own alpha for {own.size}" if own.size else ""))
        on = (f"the recorded losses at {self.sym} = {St:g} (sizes only: no step law)" if self.sizes_only
              else "stage-1 values")
        stage2 = StageQuality.from_residuals("size", f"L(N) = E + A/N^alpha {how2} on {on}, extrapolated "
                                             f"to N* = {Nt:g}", res_own + res_three, len(warn2),
                                             time.perf_counter() - t0, lab_own + lab_three)
        return stage2, ok, target, warn2

    def _values_at(self, St: float) -> np.ndarray:
        """Each (mixture, size, eval)'s loss at ``St``: its step law's value there (stage 1's output), or the
        recorded loss (sizes only: the table's one step, no step law); NaN where that curve has none."""
        laws1 = self.laws1
        return laws1[..., 0] if self.sizes_only else laws1[..., 0] + np.exp(laws1[..., 1] - laws1[..., 2] * np.log(St))

    def _size_law_groups(self, n_sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """From each mixture's number of sizes with a value: (the mixtures kept, those fitted with their own size
        law, those sharing alpha per eval), by ``shared`` (True: all share; False: each its own, 4+ sizes each;
        "auto": own at 4+ sizes, shared at 3). InputError where no mixture can be fitted."""
        shared = self.shared
        ok = n_sizes >= 3
        if not ok.any():
            raise InputError("the size law L(N) = E + A/N^alpha has 3 parameters; no mixture has training curves "
                             "at 3 or more model sizes")
        if shared is False and np.any(n_sizes == 3):
            raise InputError("the size law L(N) = E + A/N^alpha has 3 parameters; with shared_exponents=False "
                             "every mixture needs curves at 4 or more sizes (or share alpha: "
                             "shared_exponents='auto')")
        own = np.flatnonzero(n_sizes >= 4) if shared is not True else np.array([], dtype=int)
        three = np.flatnonzero((n_sizes == 3) if shared is not True else ok)
        if three.size == 1 and n_sizes[three[0]] == 3:
            if not own.size:
                raise InputError("the size law L(N) = E + A/N^alpha has 3 parameters; with 3 model sizes mixlaw "
                                 "shares alpha across mixtures, which needs 2 or more mixtures")
            # One mixture lost a curve (e.g. the only short curve of its size, with no other to share beta with)
            # while the others have 4+ sizes: drop it rather than fail the whole stage for every mixture.
            ok = ok.copy()
            ok[three[0]] = False
            three = three[:0]
        return ok, own, three

    def _own_size_laws(self, at_St: np.ndarray, own: np.ndarray, Nt: float, target: np.ndarray
                       ) -> tuple[list[np.ndarray], list[str], list[str]]:
        """A size law per mixture ``own`` x eval on its values ``at_St``, its value at ``Nt`` written into
        ``target``: (relative residuals, labels, warnings)."""
        sizes, first, names, K = self.sizes, self.first, self.names, len(self.names)
        haves = {int(m): np.isfinite(at_St[m, :, 0]) for m in own}
        fits = fit_curves([sizes[haves[m]] for m in own for _ in range(K)],
                          [at_St[m, haves[m], k] for m in own for k in range(K)],
                          names=("log_A", "alpha"), labels=[f"size law {first[m]} {names[k]}" for m in own
                                                             for k in range(K)]) if own.size else []
        res: list[np.ndarray] = []
        labels: list[str] = []
        warn: list[str] = []
        for a, m in enumerate(own):
            for k in range(K):
                fr = fits[a * K + k]
                curve = f"{first[m]} {names[k]}"
                warn += _curve_warnings(fr.warnings, [curve], curve, "log_A", "alpha")
                res.append(np.expm1(fr.residuals))
                labels.append(curve)
                E, log_a, alpha = fr.params.array()
                target[m, k] = E + np.exp(log_a - alpha * np.log(Nt))
        return res, labels, warn

    def _shared_alpha_size_laws(self, at_St: np.ndarray, three: np.ndarray, Nt: float, target: np.ndarray
                                ) -> tuple[list[np.ndarray], list[str], list[str]]:
        """Size laws of the mixtures ``three`` with one alpha per eval across them (each its own E and A), their
        values at ``Nt`` written into ``target``: (relative residuals, labels, warnings)."""
        res: list[np.ndarray] = []
        labels: list[str] = []
        warn: list[str] = []
        if not three.size:
            return res, labels, warn
        sizes, first, names = self.sizes, self.first, self.names
        problems = []
        for k in range(len(names)):
            hv = [np.isfinite(at_St[m, :, k]) for m in three]
            problems.append(([sizes[h] for h in hv], [at_St[m, h, k] for m, h in zip(three, hv, strict=True)]))
        shared_fits = fit_shared_exponents(problems, labels=["size law (shared alpha)"] * len(names))
        for k, ((xs, ys), (Eg, lAg, alpha, fr)) in enumerate(zip(problems, shared_fits, strict=True)):
            warn += _curve_warnings(fr.warnings, [f"{first[m]} {names[k]}" for m in three], names[k], "log_A",
                                    "alpha")
            for g, m in enumerate(three):
                res.append((Eg[g] + np.exp(lAg[g] - alpha * np.log(xs[g]))) / ys[g] - 1.0)
                labels.append(f"{first[m]} {names[k]}")
                target[m, k] = Eg[g] + np.exp(lAg[g] - alpha * np.log(Nt))
        return res, labels, warn
