"""Whether another table is at the scale of the runs a law was fitted on (:func:`scale_mismatch`: model size,
tokens, or else the loss level, with a word when its mixtures leave the fitted shares), and a table's spread of
scales in words (:func:`describe_spread`); the table's model size an option names (:func:`match_size`,
:func:`sizes_up_to`). The summaries compared are :class:`~mixlaw.data.RunTable`'s
(:meth:`~mixlaw.data.RunTable.scale_summary`, :meth:`~mixlaw.data.RunTable.scale_spread`,
:meth:`~mixlaw.data.RunTable.weight_ranges`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InputError
from .schema import NEAREST_SIZE_RTOL, SAME_SIZE_RTOL
from .table import SCALE_RATIO, RunTable

_SCALE_WHAT = {"params": "model sizes", "tokens": "token counts", "step": "step counts"}


def describe_spread(spread: dict[str, tuple[int, float, float]]) -> str:
    """'6 model sizes (1.22e+08 to 2.72e+09) and 66 token counts (2e+09 to 1.04e+11)' for
    :meth:`RunTable.scale_spread`."""
    return " and ".join(f"{n} {_SCALE_WHAT[c]} ({lo:.3g} to {hi:.3g})" for c, (n, lo, hi) in spread.items())


def scale_mismatch(fitted: dict[str, Any], other: RunTable, label: str,
                   weight_ranges: dict[str, tuple[float, float]] | None = None,
                   evals: Sequence[str] | None = None) -> str | None:
    """Why ``other`` is not at the scale of the runs summarised in ``fitted`` (:meth:`RunTable.scale_summary`),
    or None.

    Different median model size or tokens (beyond :data:`SCALE_RATIO`) is a mismatch; unless both tables have
    both columns, a median loss outside the fitted runs' loss range on a shared eval set is one (a mixing law predicts
    losses at the scale it was fitted at, and a loss level it never saw is another scale or another setup).
    ``weight_ranges`` (the fitted runs' (min, max) share per domain, :meth:`RunTable.weight_ranges`): when the loss
    level is all there is and most of ``other``'s runs leave those ranges, the message says so, since mixtures
    beyond the fitted ones can reach that loss at the fitted scale. ``evals``: the eval sets the caller fits or
    scores, looked at first (the loss line names one of them when one is off).
    """
    theirs = other.scale_summary()
    why = []
    compared = set()
    for col, what in (("params", "model size"), ("tokens", "tokens")):
        a, b, span = fitted.get(col), theirs.get(col), fitted.get(f"{col}_range")
        if b and (a or span is not None):
            compared.add(col)
        if span is not None and b:
            # Fitted runs at several scales: another table is at their scale when its median is inside their
            # range (comparing medians said '6.8e+08 vs 3.1e+08' for two random splits of one multi-size sweep).
            lo, hi = span
            if not lo / SCALE_RATIO <= b <= hi * SCALE_RATIO:
                why.append(f"{what} {b:.3g}, outside the fitted runs' {lo:.3g} to {hi:.3g}")
        elif a and b and max(a, b) / min(a, b) > SCALE_RATIO:
            why.append(f"{what} {b:.3g} vs {a:.3g} in the fitted runs")
    # Both tables at the same model size and tokens: a median loss outside the fitted range is then a few
    # held-out runs beyond a few fitted ones (14 and 6 of Dai & Zheng's 122M runs, all at 2e10 tokens), not another
    # scale, and pointing to the pipeline would mislead.
    if not why and compared != {"params", "tokens"}:
        # The evals asked for first: compare --target pile_cc on RegMix's 1M runs against the 60M split named
        # 'arxiv', the table's first eval, though pile_cc's median (4.69) is as far outside its range (5.08-6.64).
        losses = fitted.get("losses", {})
        first = [e for e in (evals or ()) if e in losses]
        for e, (lo, _, hi) in [*((e, losses[e]) for e in first),
                               *((e, v) for e, v in losses.items() if e not in first)]:
            if e in theirs["losses"]:
                med = theirs["losses"][e][1]
                if not lo <= med <= hi:
                    why.append(f"median loss {med:.4g} on {e!r}, outside the fitted runs' range [{lo:.4g}, {hi:.4g}]")
                    break
    if not why:
        return None
    text = (f"{label}: {'; '.join(why)}. A mixing law predicts losses at the scale it was fitted at; to predict "
            "another model size or run length, fit across scales with `mixlaw pipeline` (or the API's "
            "fit_pipeline)")
    beyond = _beyond_weight_ranges(other, weight_ranges) if why[0].startswith("median loss") else None
    if beyond:
        # Marin's 13 measured optimiser proposals at its Delphi swarm's own scale (their median loss below the
        # swarm's best) were sent to the pipeline, with no word that their shares leave the swarm's (stack_edu_fim
        # 0.24 against at most 0.15).
        text += (f". Its mixtures also leave the fitted runs' shares ({beyond}): if these runs are at the fitted "
                 "scale (an optimiser's proposals, say), the loss level is the mixtures' own, and predicting them "
                 "is extrapolation in the weights, not in scale")
    return text


def _beyond_weight_ranges(other: RunTable, ranges: dict[str, tuple[float, float]] | None) -> str | None:
    """'9 of 13 runs; farthest: w:code 0.237, fitted 0 to 0.15' when at least half of ``other``'s runs have a share
    outside ``ranges`` (per domain; a domain ``ranges`` lacks counts as fitted at 0, a fitted domain ``other`` lacks
    as share 0 in its runs), else None."""
    if not ranges:
        return None
    W = other.weights
    out_rows = np.zeros(len(other), dtype=bool)
    far: tuple[float, str, float, float, float] | None = None
    cols = {d: W[:, j] for j, d in enumerate(other.domains)}
    for d in [*other.domains, *(d for d in ranges if d not in cols)]:
        lo, hi = ranges.get(d, (0.0, 0.0))
        tol = 1e-9 + 1e-6 * hi
        w = cols.get(d, np.zeros(len(other)))
        off = np.maximum(lo - tol - w, w - hi - tol)
        out_rows |= off > 0
        k = int(np.argmax(off))
        if off[k] > 0 and (far is None or off[k] > far[0]):
            far = (float(off[k]), d, float(w[k]), lo, hi)
    n = int(out_rows.sum())
    if far is None or 2 * n < len(other):
        return None
    return f"{n} of {len(other)} runs; farthest: w:{far[1]} {far[2]:.3g}, fitted {far[3]:.3g} to {far[4]:.3g}"


def exact_number(v: float) -> str:
    """``v`` as a message gives it to paste back: ``:g`` where that reads back as ``v`` (1.6e+08), else an
    integer's digits, else the shortest repr that does. Why: a size printed :.4g (233680 as 2.337e+05) and pasted
    back as ``--target-params`` was another scale than the table's runs there (the pipeline matches sizes within
    1e-9)."""
    x = float(v)
    short = f"{x:g}"
    if float(short) == x:
        return short
    return str(int(x)) if x.is_integer() and abs(x) < 1e16 else repr(x)


def match_size(sizes: Any, value: float, what: str) -> tuple[float, str | None]:
    """The model size of ``sizes`` (a table's) that ``value`` names, and a line saying which was taken when it is
    not ``value`` itself (None when it is).

    The nearest size within :data:`~mixlaw.data.NEAREST_SIZE_RTOL` (5 %, relative to the table's size) when it is
    the only one that near, or else the only one within :data:`~mixlaw.data.SAME_SIZE_RTOL` (1 %): ``100K`` names
    a table's 100096 and Pythia's "160M" its 162,322,944 (1.4 % off). A value with no size that near, or with
    several and none alone within 1 %, is an InputError (one line, starting with ``what``, e.g. ``"--at-params
    160M"``) that lists the table's sizes. Why: every option that names a size (``--at-params``, ``--fit-sizes``,
    ``--fit-up-to``) matched sizes exactly and refused ``100K`` for a table whose size is 100096.
    """
    sizes = np.unique(np.asarray(sizes, dtype=np.float64))
    v = float(value)
    listed = ", ".join(exact_number(s) for s in sizes)
    off = np.abs(sizes - v) / np.abs(sizes)
    exact = np.flatnonzero(off <= 1e-9)
    if exact.size:
        return float(sizes[exact[0]]), None
    near = np.flatnonzero(off <= NEAREST_SIZE_RTOL)
    same = np.flatnonzero(off <= SAME_SIZE_RTOL)
    if near.size == 1 or same.size == 1:
        taken = float(sizes[near[0]] if near.size == 1 else sizes[same[0]])
        return taken, (f"{what}: taking {exact_number(taken)}, the table's nearest model size "
                       f"({100 * abs(taken - v) / taken:.2g} % from {v:g})")
    if not near.size:
        raise InputError(f"{what}: {v:g} is not a model size of the table ({listed}), nor within "
                         f"{100 * NEAREST_SIZE_RTOL:g} % of one; give one of them as the 'params' column has it")
    raise InputError(f"{what}: {v:g} is within {100 * NEAREST_SIZE_RTOL:g} % of {near.size} of the table's model "
                     f"sizes ({', '.join(exact_number(s) for s in sizes[near])}); give one of them as the 'params' "
                     f"column has it (the table's sizes: {listed})")


def sizes_up_to(sizes: Any, top: float, what: str) -> tuple[np.ndarray, str | None]:
    """The model sizes of ``sizes`` up to ``top`` (``--fit-up-to``), and a line as :func:`match_size`'s.

    ``top`` names a size of the table as :func:`match_size` reads it (``100K`` keeps the table's 100096; "160M"
    Pythia's 162,322,944): every size up to that one. A ``top`` that names none (between two sizes, or near
    several) keeps the sizes up to ``top`` (1 + :data:`~mixlaw.data.SAME_SIZE_RTOL`). Empty when ``top`` is below
    them all."""
    sizes = np.unique(np.asarray(sizes, dtype=np.float64))
    try:
        edge, line = match_size(sizes, top, what)
    except InputError:
        edge, line = float(top) * (1 + SAME_SIZE_RTOL), None
    return sizes[sizes <= edge * (1 + 1e-9)], line
