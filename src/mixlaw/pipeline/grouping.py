"""How the pipeline's routes group a run table's rows into mixtures and model sizes.

Rows are one mixture when their weights agree to ``_WEIGHT_DECIMALS`` (:func:`_mixture_ids`), after
:func:`merge_near_mixtures` gave rows that differ by rounding only one mixture; model sizes within
:data:`SAME_SIZE_RTOL` of each other are one size (:func:`merge_near_sizes`, and :func:`snap_target_size` for the
target). The result types and the rest of what the routes share are in :mod:`.result`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data import (
    SAME_MIXTURE_ATOL,
    SAME_MIXTURE_RTOL,
    SAME_SIZE_RTOL,
    WEIGHT_PREFIX,
    RunTable,
    exact_number,
    match_size,
)
from ..errors import InputError

#: Mixtures are identified by their weights rounded to this many decimals (CSV round trips lose the last bits).
_WEIGHT_DECIMALS = 9


def _mixture_ids(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct mixtures (n_mix, M), row -> mixture index)."""
    uniq, inv = np.unique(np.round(W, _WEIGHT_DECIMALS), axis=0, return_inverse=True)
    return uniq, inv.ravel()


def merge_near_mixtures(table: RunTable) -> tuple[RunTable, str | None]:
    """Give rows whose mixtures differ by rounding only (:data:`SAME_MIXTURE_ATOL`, :data:`SAME_MIXTURE_RTOL`)
    one mixture, the mean of their shares, and a line saying so; the table as it is (and None) when none do.

    The routes group rows into mixtures by their weights (:func:`_mixture_ids`): the same mixture renormalised
    differently at each model size would be one mixture per size, each with no size law, and ``auto`` would
    fall back to the direct route without a word."""
    uniq, inv = _mixture_ids(table.weights)
    group = np.arange(len(uniq))
    # Each mixture is compared with those whose share of the most varied domain lies within the tolerance, found by
    # bisection (every call of fit_candidates merges: all pairs cost 0.84 s for 4000 mixtures of 17 domains).
    key = int(np.argmax(np.ptp(uniq, axis=0))) if len(uniq) else 0
    order = np.argsort(uniq[:, key], kind="stable")
    keys = uniq[order, key]
    for a in range(len(uniq)):
        if group[a] == a:
            x = uniq[a, key]
            lo = np.searchsorted(keys, x - SAME_MIXTURE_ATOL - SAME_MIXTURE_RTOL * x, side="left")
            hi = np.searchsorted(keys, x + (SAME_MIXTURE_ATOL + SAME_MIXTURE_RTOL * x) / (1 - SAME_MIXTURE_RTOL),
                                 side="right")
            idx = order[lo:hi]
            near = np.all(np.abs(uniq[idx] - uniq[a])
                          <= SAME_MIXTURE_ATOL + SAME_MIXTURE_RTOL * np.maximum(uniq[idx], uniq[a]), axis=1)
            group[idx[near & (group[idx] == idx)]] = a
    if np.all(group == np.arange(len(uniq))):
        return table, None
    merged = np.flatnonzero(group != np.arange(len(uniq)))
    rep = uniq.copy()
    for g in np.unique(group[merged]):
        rep[g] = uniq[group == g].mean(axis=0)
        rep[g] /= rep[g].sum()
    out = table.subset(slice(None))
    out.frame[[WEIGHT_PREFIX + d for d in table.domains]] = rep[group[inv]]
    gap = np.abs(uniq[merged] - uniq[group[merged]]).max(axis=1)
    i = int(merged[np.argmax(gap)])
    runs = table.runs
    pair = (str(runs[np.flatnonzero(inv == group[i])[0]]), str(runs[np.flatnonzero(inv == i)[0]]))
    n_groups = np.unique(group[merged]).size
    n_rows = int(np.isin(group[inv], group[merged]).sum())
    return out, (f"{n_groups} mixture(s) each appear with shares up to {gap.max():.2g} apart on different rows (e.g. "
                 f"runs {pair[0]!r} and {pair[1]!r}: rounded or renormalised differently at each size?): each read "
                 f"as one mixture, its shares averaged ({n_rows} rows)")


def merge_near_sizes(table: RunTable) -> tuple[RunTable, str | None]:
    """Give rows whose model sizes lie within :data:`SAME_SIZE_RTOL` of each other one size, the one most rows of
    the group have, and a line saying so; the table as it is (and None) when none do.

    The routes group rows into sizes by their exact ``params``: the same size written two ways was two sizes,
    each with a part of the mixtures, which changes which sizes the size law and the backtest see."""
    N = table.model_params
    if N is None:
        return table, None
    sizes, counts = np.unique(N, return_counts=True)
    new = sizes.copy()
    merged: list[tuple[float, ...]] = []
    start = 0
    for i in range(1, sizes.size + 1):
        if i < sizes.size and sizes[i] <= sizes[start] * (1 + SAME_SIZE_RTOL):
            continue
        if i - start > 1:
            keep = sizes[start + int(np.argmax(counts[start:i]))]  # the most rows; ties: the smallest
            new[start:i] = keep
            merged.append((float(keep), *(float(v) for v in sizes[start:i] if v != keep)))
        start = i
    if not merged:
        return table, None
    out = table.subset(slice(None))
    rows = new[np.searchsorted(sizes, N)] != N
    out.frame["params"] = new[np.searchsorted(sizes, N)]
    groups = "; ".join(f"{', '.join(exact_number(v) for v in g[1:])} as {exact_number(g[0])}" for g in merged[:3])
    return out, (f"model sizes within {100 * SAME_SIZE_RTOL:g} % of each other read as one size ({groups}"
                 f"{'; ...' if len(merged) > 3 else ''}: {int(rows.sum())} rows; one size written two ways, as a "
                 "rounded and an exact count?)")


def snap_target_size(before: RunTable, after: RunTable, target_params: Any) -> tuple[Any, str | None]:
    """``target_params`` moved to a size :func:`merge_near_sizes` merged (``before`` -> ``after``) when within
    :data:`SAME_SIZE_RTOL` of it, as the merge reads two sizes, and a line saying so; else, where no size of
    ``after`` lies within :data:`SAME_SIZE_RTOL` of it, to the size of ``after`` it names as the size options read
    one (:func:`~mixlaw.data.match_size`: the nearest within :data:`~mixlaw.data.NEAREST_SIZE_RTOL`, 5 %, when no
    other is that near), said too; as given (and None) otherwise: a target beyond the table's sizes.

    Why: ``--target-params 28400``, the minority spelling of 28368 in a table that writes it both ways, was no
    size of the merged table, so a one-size table refused it ("needs 3 model sizes to extrapolate"). And (found by
    review) docs/pipeline.md's check of an extrapolation on Pythia's sizes, ``--fit-sizes 70M,160M,410M
    --target-params 1B``, read each fitted size as the table's nearest but predicted at 1e9 exactly: the held-out
    runs of 1,011,781,632 parameters (1.2 % off, not one size to the check) got no check and no word."""
    N0, N1 = before.model_params, after.model_params
    try:
        t = float(target_params)
    except (TypeError, ValueError):
        return target_params, None
    if N0 is None or N1 is None or not np.isfinite(t) or t <= 0:
        return target_params, None
    merged = np.unique(N1[N0 != N1])
    near = merged[(merged <= t * (1 + SAME_SIZE_RTOL)) & (t <= merged * (1 + SAME_SIZE_RTOL)) & (merged != t)]
    if not near.size:
        sizes = np.unique(N1)
        if np.any(np.abs(sizes - t) <= SAME_SIZE_RTOL * sizes):
            return target_params, None  # one size with one of the table's already (the check reads its rows)
        size, line = snap_to_table(sizes, t, "target_params", "model size", "the size options read a size so")
        return (target_params, None) if line is None else (size, line)  # None: beyond the sizes, or near two
    size = float(near[np.argmin(np.abs(np.log(near / t)))])
    return size, (f"target_params {exact_number(t)} read as the table's size {exact_number(size)} (model sizes within "
                  f"{100 * SAME_SIZE_RTOL:g} % of each other are one size)")


def snap_to_table(values: Any, t: float, what: str, noun: str, why: str) -> tuple[float, str | None]:
    """``t`` moved to the one value of ``values`` it names as the size options name a table size
    (:func:`~mixlaw.data.match_size`: the nearest within :data:`~mixlaw.data.NEAREST_SIZE_RTOL`, 5 %, when no other
    is that near), and a line saying so (``what`` the option, ``noun`` what the values are, ``why`` the reason
    said); ``(t, None)`` when ``t`` is one of them already or names none (beyond them all, or near several)."""
    try:
        taken = match_size(values, t, what)[0]
    except InputError:
        return t, None
    if abs(taken - t) <= 1e-9 * abs(taken):
        return t, None
    return taken, (f"{what} {t:g} read as {exact_number(taken)}, the table's nearest {noun} "
                   f"({100 * abs(taken - t) / taken:.2g} % off; {why})")


def snap_target_time(table: RunTable, target_steps: Any, target_tokens: Any,
                     target_params: Any) -> tuple[Any, Any, str | None]:
    """``(target_steps, target_tokens)`` with the one given moved to the table's step (or token count) it names as
    :func:`snap_target_size` moves a model size (:func:`snap_to_table`), and a line saying so (None: unmoved). The
    values read are those of the rows at ``target_params`` (within :data:`SAME_SIZE_RTOL`, the check's same size);
    where the table has none there, the target is left as given (there is no run there to check it against, and the
    fitted sizes' lengths are no reason to move it); with no size given, all of the table's.

    Why: ``mixlaw pipeline --target-tokens 100B`` on runs of 1.048576e11 tokens predicted at 1e11 exactly, and the
    check against the held-out runs (which reads the target's tokens exactly, :data:`.result.SCALE_RTOL`) found no
    row there: the runs at the target went unchecked and unsaid, where ``--target-params`` names a size within 5 %."""
    if (target_steps is None) == (target_tokens is None):
        return target_steps, target_tokens, None  # the table's one value, or both (check_inputs refuses that)
    axis, given = ("step", target_steps) if target_tokens is None else ("tokens", target_tokens)
    try:
        t = float(given)
    except (TypeError, ValueError):
        return target_steps, target_tokens, None
    if axis not in table.frame.columns or not np.isfinite(t) or t <= 0:
        return target_steps, target_tokens, None
    T = table.frame[axis].to_numpy(dtype=np.float64)
    ok = np.isfinite(T) & (T > 0)
    N = table.model_params
    try:
        Nt = float(target_params)
    except (TypeError, ValueError):
        Nt = float("nan")
    if N is not None and np.isfinite(Nt) and Nt > 0:
        at = ok & (np.abs(N - Nt) <= SAME_SIZE_RTOL * Nt)
        if not at.any():
            # no run at the target size: nothing to check there, so the target is predicted where it was asked
            return target_steps, target_tokens, None
        ok = at
    if not ok.any():
        return target_steps, target_tokens, None
    what, noun = ("target_steps", "checkpoint step") if axis == "step" else ("target_tokens", "token count")
    value, line = snap_to_table(T[ok], t, what, noun, "as a target size is read")
    if line is None:
        return target_steps, target_tokens, None
    return (value, None, line) if axis == "step" else (None, value, line)


def _first_runs(table: RunTable, inv: np.ndarray, n_mix: int) -> list[str]:
    runs = table.runs
    return [str(runs[np.flatnonzero(inv == m)[0]]) for m in range(n_mix)]
