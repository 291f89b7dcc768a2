"""The check a user can make of a pipeline's extrapolation: its predictions against losses the run table has at
the target scale but the fit did not see (a size held out with ``fit_up_to`` / ``fit_sizes``, or rows past the
fitted steps).

Why: the backtest estimates the error inside the fitted data; a size held out and predicted measures it
directly. ``mixlaw pipeline --fit-up-to`` left the held-out rows unused and said nothing of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import RunTable
from .result import SCALE_RTOL, PipelineResult

#: Two mixtures are the same when every weight agrees to this (as the routes group rows into mixtures).
SAME_WEIGHT_ATOL = 1e-6


def _same(a: np.ndarray, b: float) -> np.ndarray:
    return np.abs(a - b) <= SCALE_RTOL * abs(b)


def measured_at_target(result: PipelineResult, table: RunTable) -> np.ndarray:
    """(mixtures, targets) losses ``table`` holds at the target's (N*, S*) for the pipeline's mixtures (their mean
    over repeated rows), nan where it has none; matched by mixture weights, not by row order or run name."""
    out = np.full(result.target_losses.shape, np.nan)
    T = table.steps if result.time_axis == "step" else table.tokens
    N = table.model_params
    if T is None or N is None:
        return out
    at = np.flatnonzero(_same(N, result.target_params) & _same(T, result.target_time))
    have = [t for t in result.targets if t in table.evals]
    if not at.size or not have:
        return out
    Y = table.losses(have)
    cols = [result.targets.index(t) for t in have]
    for m, w in enumerate(result.mixtures):
        rows = at[np.all(np.abs(table.weights[at] - w) <= SAME_WEIGHT_ATOL, axis=1)]
        if rows.size:
            with np.errstate(all="ignore"):  # an eval missing in every such row stays nan
                out[m, cols] = np.nanmean(Y[rows], axis=0) if np.isfinite(Y[rows]).any() else np.nan
    return out


@dataclass
class TargetCheck:
    """The predictions at the target against the losses measured there: MRE, its max, and interval coverage."""

    n_mixtures: int
    n_losses: int
    mre: float
    max_error: float
    inside: int | None  # losses inside their prediction intervals (None: no intervals)
    level: float | None

    def __str__(self) -> str:
        line = (f"checked against the run table at the target (rows the fit did not use): {self.n_mixtures} "
                f"mixture(s), {self.n_losses} losses; MRE {self.mre:.2%} (max {self.max_error:.2%})")
        if self.inside is not None and self.level is not None:
            line += f"; {self.inside} of {self.n_losses} inside their {round(100 * self.level)} % intervals"
        return line

    def to_dict(self) -> dict[str, Any]:
        return {"n_mixtures": self.n_mixtures, "n_losses": self.n_losses, "mre": self.mre,
                "max_error": self.max_error, "inside_intervals": self.inside, "level": self.level}


def check_at_target(result: PipelineResult, table: RunTable, fitted_sizes: Any) -> TargetCheck | None:
    """:class:`TargetCheck` of ``result`` on ``table``'s rows at (N*, S*) (:func:`measured_at_target`), or None when
    the table has none of the pipeline's mixtures there, or when N* is one of ``fitted_sizes`` (its rows at S* were
    fitted: no check). ``table``: the one the user gave, held-out sizes included."""
    if any(_same(np.array([float(f)]), result.target_params)[0] for f in fitted_sizes):
        return None
    measured = measured_at_target(result, table)
    have = np.isfinite(measured)
    if not have.any():
        return None
    err = np.abs(result.target_losses[have] / measured[have] - 1)
    iv = result.intervals
    inside = None
    if iv is not None:
        inside = int(((measured[have] >= iv.lower[have]) & (measured[have] <= iv.upper[have])).sum())
    return TargetCheck(int(have.any(axis=1).sum()), int(have.sum()), float(np.mean(err)), float(np.max(err)),
                       inside, None if iv is None else float(iv.level))


__all__ = ["measured_at_target", "check_at_target", "TargetCheck"]
