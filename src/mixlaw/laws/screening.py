"""Screening out, after the first CV fold, a candidate law that is both far slower and clearly worse.

``--law auto`` / ``stack`` fit every candidate on every fold. On a big table one candidate can cost more
than all the others together: on Olmix DCLM (127 runs, 24 domains, 20 eval sets, objective "mean")
``mixlaw optimize --law auto`` spent 291 of 357 s in dz-eq1, which then scored worse than ye-exp. Its
remaining folds cannot change the choice when its first fold already loses clearly, so they are skipped.

Every candidate is fitted on the first fold, timed (CPU seconds of this process) and scored on the runs
that fold held out. A candidate ``c`` is screened out of the remaining folds when **both**

1. it is expensive: its fold-1 CPU time is at least :data:`COST_RATIO` times the median fold-1 time of all
   candidates, and at least :data:`MIN_SECONDS` (a fit that costs seconds is never worth skipping); and
2. it is clearly worse: on *every* scored column (eval set, or the objective), in at least
   :data:`CONFIDENCE` of :data:`N_BOOT` paired bootstrap resamples of the fold-1 held-out runs, its score
   :math:`S = (1 - \\rho) + \\tfrac12 (1 - R^2)` is above that of the candidate with the best fold-1 score on
   that column (the same resampled runs for both, so their shared noise cancels).

A screened candidate keeps a row in the CV table that says so and gives the numbers; it is never chosen
and never stacked. The only input that is not the data is the CPU time, and it can only drop a candidate
that the second (data-only, seeded) condition already shows losing, so a busy machine may change which
slow losers are skipped, not which law wins, unless full CV would reverse a fold-1 loss at
:data:`CONFIDENCE` on every column. ``screen=False`` on ``auto`` / ``stack`` turns screening off.

References
----------
Efron & Tibshirani, "An Introduction to the Bootstrap", 1993, ch. 16 (paired bootstrap comparisons);
Maron & Moore, "Hoeffding races", NIPS 1993 (dropping clearly losing models early in cross-validation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

#: A candidate is "expensive" at this multiple of the median fold-1 CPU time of all candidates ...
COST_RATIO = 10.0
#: ... and at least this many CPU seconds on fold 1 (the remaining folds would cost ~4x that).
MIN_SECONDS = 10.0
#: Paired bootstrap: resamples, and the fraction of them in which the candidate must lose on every column.
N_BOOT = 500
CONFIDENCE = 0.99


@dataclass(frozen=True)
class Screened:
    """Why one candidate was screened out: its fold-1 cost against the median, and the column it lost least
    clearly on (its score, the best's, and the fraction of resamples it lost)."""

    cost: float
    median_cost: float
    column: str
    score: float
    best: str
    best_score: float
    lost: float

    def message(self, n_folds: int) -> str:
        return (f"screened out after fold 1 of {n_folds}: {self.cost:.1f} CPU s there "
                f"({self.cost / max(self.median_cost, 1e-9):.0f}x the median candidate's {self.median_cost:.2g} s), "
                f"and clearly worse: fold-1 S {self.score:.3f} against {self.best}'s {self.best_score:.3f} on "
                f"{self.column!r}, worse in {100 * self.lost:.0f} % of {N_BOOT} paired bootstrap resamples "
                f"(its least clear loss of the columns)")


def _boot_scores(y: np.ndarray, p: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Score S of predictions ``p`` for ``y`` on every resample ``idx`` (B, m): shape (B,)."""
    yb, pb = y[idx], p[idx]
    ry, rp = stats.rankdata(yb, axis=1), stats.rankdata(pb, axis=1)
    ry -= ry.mean(axis=1, keepdims=True)
    rp -= rp.mean(axis=1, keepdims=True)
    den = np.sqrt((ry * ry).sum(axis=1) * (rp * rp).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(den > 0, (ry * rp).sum(axis=1) / den, 0.0)
        var = yb.var(axis=1)
        r2 = np.where(var > 0, 1.0 - ((pb - yb) ** 2).mean(axis=1) / var, np.nan)
    return (1.0 - rho) + 0.5 * np.where(np.isfinite(r2), 1.0 - r2, 0.0)


def screen(costs: Mapping[str, float], preds: Mapping[str, np.ndarray], y: np.ndarray,
           columns: Sequence[str], scores: Mapping[str, Sequence[float]],
           random_state: int = 0) -> dict[str, Screened]:
    """Candidates to drop after the first fold, with the reason for each.

    Parameters
    ----------
    costs : {candidate: CPU seconds of its fold-1 fit}
        Every candidate that fitted fold 1 (the median is over these).
    preds : {candidate: (m, C) predictions of the fold-1 held-out runs}
    y : (m, C) array
        Their truth, one column per scored column.
    columns : names of the C columns
    scores : {candidate: C fold-1 scores S}
        The point scores (the best per column is the lowest).
    random_state : int
        Seeds the bootstrap resamples.

    Returns
    -------
    dict of candidate to :class:`Screened`
    """
    if len(costs) < 2:
        return {}
    med = float(np.median(list(costs.values())))
    slow = [c for c, s in costs.items() if s >= max(COST_RATIO * med, MIN_SECONDS) and c in preds]
    if not slow:
        return {}
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    m = len(y)
    if m < 4:
        return {}
    idx = np.random.default_rng(random_state).integers(0, m, size=(N_BOOT, m))
    out: dict[str, Screened] = {}
    for c in slow:
        weakest: Screened | None = None
        for j, col in enumerate(columns):
            best = min((k for k in preds if np.isfinite(scores[k][j])), key=lambda k: scores[k][j], default=None)
            if best is None or best == c:
                weakest = None
                break
            sc = _boot_scores(y[:, j], np.asarray(preds[c])[:, j], idx)
            sb = _boot_scores(y[:, j], np.asarray(preds[best])[:, j], idx)
            lost = float(np.mean(sc > sb)) if np.all(np.isfinite(sc)) else 1.0
            if lost < CONFIDENCE:
                weakest = None
                break
            if weakest is None or lost < weakest.lost:
                weakest = Screened(float(costs[c]), med, col, float(scores[c][j]), best, float(scores[best][j]), lost)
        if weakest is not None:
            out[c] = weakest
    return out


__all__ = ["screen", "Screened", "COST_RATIO", "MIN_SECONDS", "N_BOOT", "CONFIDENCE"]
