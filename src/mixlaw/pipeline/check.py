"""The check a user can make of a pipeline's extrapolation: its predictions against losses the run table has at
the target scale but the fit did not see: a size held out with ``fit_up_to`` / ``fit_sizes`` (at a fitted size
every row was fitted, so there is no check).

Why: the backtest estimates the error inside the fitted data; a size held out and predicted measures it
directly. ``mixlaw pipeline --fit-up-to`` left the held-out rows unused and said nothing of them.

A mixture at the target that the pipeline fitted (same shares within the tolerance the fit merges mixtures by,
:data:`~mixlaw.data.SAME_MIXTURE_ATOL` + :data:`~mixlaw.data.SAME_MIXTURE_RTOL` x the share) is compared with its
row of the printed table (its own step and size laws on the nested route); any other mixture, as Ye et al.'s 1B
runs are, with :meth:`~.result.PipelineResult.predict` (the mixing law at the target) and its interval.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import LOSS_PREFIX, SAME_MIXTURE_ATOL, SAME_MIXTURE_RTOL, SAME_SIZE_RTOL, RunTable
from ..errors import ExtrapolationWarning, MixlawError, user_stacklevel
from .fitting import read_as_final_losses, read_as_one_size
from .grouping import merge_near_sizes
from .result import SCALE_RTOL, PipelineResult


def same_scale(a: np.ndarray, b: float) -> np.ndarray:
    """Which of the sizes (or steps) ``a`` are ``b``, as the pipeline compares scales (:data:`.result.SCALE_RTOL`)."""
    return np.abs(a - b) <= SCALE_RTOL * abs(b)


def same_size(a: np.ndarray, b: float) -> np.ndarray:
    """Which of the model sizes ``a`` are the size ``b``, as the fit merges sizes (:data:`~mixlaw.data.SAME_SIZE_RTOL`):
    held-out runs of 1.005e9 parameters are the runs of a target given as 1e9 (found by review: they got no check
    and no word; a size 1 % off moves a loss by ~0.05 %, far below an extrapolation's error)."""
    return np.abs(np.asarray(a, dtype=np.float64) - b) <= SAME_SIZE_RTOL * abs(b)


def same_mixture(W: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Which rows of ``W`` are the mixture ``w``, within the tolerance the fit merges mixtures by."""
    return np.all(np.abs(W - w) <= SAME_MIXTURE_ATOL + SAME_MIXTURE_RTOL * np.maximum(W, w), axis=1)


def _own_index(result: PipelineResult, W: np.ndarray) -> np.ndarray:
    """Each row of ``W``'s index among the pipeline's mixtures, -1 for none (the nearest within the tolerance)."""
    M = np.asarray(result.mixtures, dtype=np.float64)
    out = np.full(len(W), -1, dtype=int)
    for i, w in enumerate(W):
        hit = np.flatnonzero(same_mixture(M, w))
        if hit.size:
            out[i] = int(hit[np.argmin(np.abs(M[hit] - w).max(axis=1))])
    return out


@dataclass
class TargetRows:
    """The table's mixtures at (N*, S*): shares, measured losses (nan: no value), the pipeline's predictions and
    their interval bounds (None: no intervals), and each one's index among the pipeline's mixtures (-1: new)."""

    weights: np.ndarray
    measured: np.ndarray
    predicted: np.ndarray
    lower: np.ndarray | None
    upper: np.ndarray | None
    own: np.ndarray


def target_rows(result: PipelineResult, table: RunTable) -> TargetRows | None:
    """The mixtures ``table`` holds at the target's (N*, S*) with the pipeline's predictions (module docstring);
    repeated rows of one mixture (seeds) averaged. None when the table has no row there or none of the eval sets.
    Sizes within :data:`~mixlaw.data.SAME_SIZE_RTOL` of each other are one size, as the fit reads them (found by review:
    the rows of N* written 1.6004e8 where most read 1.6e8 were left out of the check)."""
    # a table of final losses, or of one model's checkpoints (no params column), as fitted
    table = read_as_one_size(read_as_final_losses(merge_near_sizes(table)[0], None, None)[0])[0]
    T = table.steps if result.time_axis == "step" else table.tokens
    N = table.model_params
    have = [t for t in result.targets if t in table.evals]
    if T is None or N is None or not have:
        return None
    at = np.flatnonzero(same_size(N, result.target_params) & same_scale(T, result.target_time))
    if not at.size:
        return None
    own_row = _own_index(result, table.weights[at])
    # One entry per pipeline mixture, and per distinct new mixture: rows within the tolerance the fit merges mixtures
    # by are one (found by review: rounded to 9 decimals, one new mixture's two seeds 5e-6 apart were two mixtures).
    keys: list[tuple[str, Any]] = []
    firsts: list[np.ndarray] = []  # each new mixture's first row
    for j, w in zip(own_row, table.weights[at], strict=True):
        if j >= 0:
            keys.append(("own", int(j)))
            continue
        hit = np.flatnonzero(same_mixture(np.array(firsts), w)) if firsts else np.array([], dtype=int)
        if not hit.size:
            firsts.append(w)
        keys.append(("new", int(hit[0]) if hit.size else len(firsts) - 1))
    groups: dict[Any, list[int]] = {}
    for r, key in zip(at, keys, strict=True):
        groups.setdefault(key, []).append(int(r))
    # The frame's cells, not table.losses(), which refuses a NaN cell (found by review: a table missing one loss at
    # the target stopped `mixlaw pipeline` after its fit); a loss missing here leaves that one cell unmeasured.
    Y = table.frame[[LOSS_PREFIX + t for t in have]].to_numpy(dtype=np.float64)
    cols = [result.targets.index(t) for t in have]
    K = len(result.targets)
    W = np.array([table.weights[rows].mean(axis=0) for rows in groups.values()])
    measured = np.full((len(groups), K), np.nan)
    for g, rows in enumerate(groups.values()):
        ok = np.isfinite(Y[rows])
        n = ok.sum(axis=0)  # the mean of the rows that have each loss; nan where none does
        measured[g, cols] = np.where(n > 0, np.where(ok, Y[rows], 0.0).sum(axis=0) / np.maximum(n, 1), np.nan)
    own = np.array([key[1] if key[0] == "own" else -1 for key in groups], dtype=int)
    predicted = np.empty((len(groups), K))
    lower = upper = None
    iv = result.intervals
    if iv is not None:
        lower, upper = np.full((len(groups), K), np.nan), np.full((len(groups), K), np.nan)
    mine = own >= 0
    predicted[mine] = result.target_losses[own[mine]]
    if iv is not None:
        lower[mine], upper[mine] = iv.lower[own[mine]], iv.upper[own[mine]]
    if (~mine).any():
        # Said as the check's: a bare "law 'ye-pow': mixture weights outside the fitted range for domain 'd0' (0.655;
        # fitted [0, 0.5])" came before the pipeline's report (Ye et al.'s RedPajama, its 1B run 999), naming
        # neither the mixture nor why a law was asked to predict it.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ExtrapolationWarning)
            predicted[~mine] = result.predict(W[~mine])
            if iv is not None:
                try:
                    lohi = result.interval(W[~mine])
                except MixlawError:  # no interval rule for new mixtures here: those stay nan (not counted inside)
                    lohi = None
                if lohi is not None:
                    lower[~mine], upper[~mine] = lohi
        for msg, cat in {str(w.message): w.category for w in caught}.items():  # the interval predicts them again
            warnings.warn(f"checked against the run table at the target: {len(W) - int(mine.sum())} mixture(s) there "
                          f"the pipeline did not fit, predicted by its mixing law: {msg}", cat,
                          stacklevel=user_stacklevel(2))
    return TargetRows(W, measured, predicted, lower, upper, own)


def measured_at_target(result: PipelineResult, table: RunTable) -> np.ndarray:
    """(pipeline mixtures, targets) losses ``table`` holds at (N*, S*), nan where it has none (:func:`target_rows`,
    the pipeline's own mixtures only)."""
    return own_measured(result, target_rows(result, table))


def own_measured(result: PipelineResult, rows: TargetRows | None) -> np.ndarray:
    """:func:`measured_at_target` from :func:`target_rows`' result, for a caller that already has it."""
    out = np.full(result.target_losses.shape, np.nan)
    if rows is not None:
        mine = rows.own >= 0
        out[rows.own[mine]] = rows.measured[mine]
    return out


@dataclass
class TargetCheck:
    """The predictions at the target against the losses measured there: MRE, its max, and interval coverage."""

    n_mixtures: int
    n_new: int  # of them, mixtures the pipeline did not fit (predicted by its mixing law)
    n_losses: int
    mre: float
    max_error: float
    inside: int | None  # losses inside their prediction intervals (None: no intervals)
    level: float | None
    #: auto's error estimate at the target (:attr:`~.selection.Selection.error_estimate`; None without one): the
    #: figure the MRE measured here checks.
    estimate: float | None = None
    #: losses that have an interval (a new mixture's can be missing where no rule builds one): ``inside`` counts
    #: among these (None: all of them, or no intervals)
    with_interval: int | None = None

    def __str__(self) -> str:
        new = f" ({self.n_new} not among the fitted mixtures: the mixing law's prediction)" if self.n_new else ""
        line = (f"checked against the run table at the target (rows the fit did not use): {self.n_mixtures} "
                f"mixture(s){new}, {self.n_losses} losses; MRE {self.mre:.2%} (max {self.max_error:.2%})")
        if self.estimate is not None:
            line += f" against auto's error estimate {self.estimate:.2%}"
        if self.inside is not None and self.level is not None:
            n = self.n_losses if self.with_interval is None else self.with_interval
            line += f"; {self.inside} of {n} inside their {round(100 * self.level)} % intervals"
            if n < self.n_losses:
                line += f" ({self.n_losses - n} without an interval)"
        return line

    def to_dict(self) -> dict[str, Any]:
        return {"n_mixtures": self.n_mixtures, "n_new_mixtures": self.n_new, "n_losses": self.n_losses,
                "mre": self.mre, "max_error": self.max_error, "inside_intervals": self.inside, "level": self.level,
                "error_estimate": self.estimate,
                "with_intervals": self.n_losses if self.with_interval is None else self.with_interval}


def fitted_sizes_of(result: PipelineResult, table: RunTable | None) -> list[float]:
    """The model sizes of ``table`` that ``result`` was fitted on, as far as the result records them: the nested
    route's sizes, a registered law's fitted range of N (a law that takes the model size), the one size of a
    steps-only pipeline, the joint law's sizes up to the largest fitted one its intervals keep; else (a joint law
    without intervals keeps none) every size of ``table``, which claims no row held out. A caller that held sizes
    out (``mixlaw pipeline --fit-up-to``) knows them and passes its own. ``table`` None (a saved pipeline's page
    without its runs): the sizes the result itself records (the steps-only size, the nested route's), else none.

    Why (found by review): taking every size but N* as fitted called a target at a fitted size (4 sizes, the size
    law read there) held out, and its own fitted rows 'rows the fit did not use' with an MRE of 0.00 %."""
    known = getattr(result.scales, "sizes", None)
    if table is None:
        return ([float(result.target_params)] if result.steps_only else [] if known is None
                else [float(s) for s in np.asarray(known, dtype=np.float64).ravel()])
    if table.model_params is None:
        return []
    sizes = np.unique(merge_near_sizes(table)[0].model_params)
    if result.steps_only:
        return [float(result.target_params)]
    if known is not None:  # the nested route's stages
        known = np.asarray(known, dtype=np.float64)
        return [float(s) for s in sizes if np.any(np.abs(known - s) <= SCALE_RTOL * s)]
    n_range = getattr(result.mixing_law, "_n_range", None)
    if n_range is not None:  # a law that takes the model size, fitted over that range
        lo, hi = (float(v) for v in n_range)
        return [float(s) for s in sizes if lo * (1 - SCALE_RTOL) <= s <= hi * (1 + SCALE_RTOL)]
    edge = float("nan") if result.intervals is None else float(result.intervals.edge[0])
    if np.isfinite(edge):
        # The joint law keeps no sizes, but its intervals keep the largest fitted one (a saved pipeline's too):
        # the sizes up to it (a size skipped by --fit-sizes below it counts as fitted: no false check).
        return [float(s) for s in sizes if s <= edge * (1 + SCALE_RTOL)]
    return [float(s) for s in sizes]


def check_at_target(result: PipelineResult, table: RunTable, fitted_sizes: Any) -> TargetCheck | None:
    """:class:`TargetCheck` of ``result`` on ``table``'s rows at (N*, S*) (:func:`target_rows`), or None when the
    table has none there, or when N* is one of ``fitted_sizes`` (its rows at S* were fitted: no check).
    ``table``: the one the user gave, held-out sizes included."""
    return check_of(result, held_out_rows(result, table, fitted_sizes))


def held_out_rows(result: PipelineResult, table: RunTable, fitted_sizes: Any) -> TargetRows | None:
    """:func:`target_rows` when N* is not one of ``fitted_sizes``, else None (its rows at S* were fitted): what
    :func:`check_at_target` checks, for a caller that also draws them (``mixlaw pipeline --report``)."""
    return None if target_was_fitted(result, fitted_sizes) else target_rows(result, table)


def target_was_fitted(result: PipelineResult, fitted_sizes: Any) -> bool:
    """Whether N* is one of ``fitted_sizes``: then its rows at S* were fitted, and there is nothing to check."""
    return any(same_size(np.array([float(f)]), result.target_params)[0] for f in fitted_sizes)


def check_of(result: PipelineResult, rows: TargetRows | None) -> TargetCheck | None:
    """:func:`check_at_target` from :func:`target_rows`' result (None: no row at the target), for a caller that
    already has it (the report page, which also draws those rows)."""
    if rows is None:
        return None
    have = np.isfinite(rows.measured)
    if not have.any():
        return None
    err = np.abs(rows.predicted[have] / rows.measured[have] - 1)
    inside = with_interval = None
    if rows.lower is not None and rows.upper is not None:
        inside = int(((rows.measured[have] >= rows.lower[have]) & (rows.measured[have] <= rows.upper[have])).sum())
        # Not counted as outside: a loss whose interval could not be built (review13: "X of n inside" counted it).
        with_interval = int((np.isfinite(rows.lower[have]) & np.isfinite(rows.upper[have])).sum())
    used = have.any(axis=1)
    sel = result.selection if result.selection is not None else result.saved_selection  # fitted, or loaded
    estimate = float(sel.error_estimate) if sel is not None and np.isfinite(sel.error_estimate) else None
    return TargetCheck(int(used.sum()), int((used & (rows.own < 0)).sum()), int(have.sum()), float(np.mean(err)),
                       float(np.max(err)), inside, None if result.intervals is None else float(result.intervals.level),
                       estimate, with_interval)


__all__ = ["same_scale", "same_size", "same_mixture", "target_rows", "TargetRows", "measured_at_target",
           "check_at_target", "TargetCheck", "fitted_sizes_of", "check_of", "own_measured", "target_was_fitted",
           "held_out_rows"]
