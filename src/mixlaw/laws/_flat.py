"""Does an eval's loss depend on the mixture at all? An F-test of the log losses, linear in the shares.

A mixing law fitted on an eval whose losses do not follow the mixture still finds mixture effects: it fits the
spread of the losses, whatever its cause. Ye's exponential law does so with a step (log k at its lower bound,
large t: the excess loss k exp(t . r) vanishes on most runs and is fitted to a few), which predicts held-out
mixtures worse than the constant. The test here tells that case from a law that needs a step:

.. math:: F = \\frac{(RSS_0 - RSS_1) / (q - 1)}{RSS_1 / (n - q)}

with RSS_0 the squared deviations of log L from its mean, RSS_1 the residuals of log L regressed on the shares
(q = rank of the share matrix; the shares sum to 1, so the regression has its intercept), p = P(F_{q-1, n-q} > F).
log L linear in the shares is Ye's law linearised (Ye et al., ICLR 2025, Eq. 1, with c = 0), so a dependence that
law can express moves it.

Measured on Ye's public RedPajama runs (groups of Pile evals, ``bench/ye_public_runs.py``; 20 mixtures' predicted
1B losses in the nested pipeline): every fit of ye-exp that put log k on its lower bound had p >= 0.09 (subset_0 at
100k steps p = 0.96, its losses spanning 6 %), and leave-one-out the constant predicted those points with
1.93 % mean error against ye-exp's 2.44 %. Each of the group's 4 Pile evals follows the mixture (410M, 30k steps:
p <= 0.003), but their effects cancel in the weighted group; what is left of its 5 % spread recurs at 160M, 305M
and 410M (correlation 0.91-0.97 over the 20 mixtures), a property of the runs that the shares do not predict.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

#: Below this p-value the losses depend on the mixture (the usual 5 % level).
FLAT_P = 0.05


def mixture_dependence_pvalue(W: np.ndarray, y: np.ndarray) -> float | None:
    """p-value of the F-test above for losses ``y`` (n,) at shares ``W`` (n, M); None when there are too few runs
    for a residual (n <= rank of W) or the shares do not vary (rank 1). Constant losses: 1.0."""
    W, ly = np.asarray(W, dtype=np.float64), np.log(np.asarray(y, dtype=np.float64))
    n, q = len(ly), int(np.linalg.matrix_rank(W))
    if q < 2 or n <= q:
        return None
    beta, *_ = np.linalg.lstsq(W, ly, rcond=None)
    rss0 = float(np.sum((ly - ly.mean()) ** 2))
    rss1 = float(np.sum((ly - W @ beta) ** 2))
    if rss0 <= 1e-24 * n:  # constant losses (to rounding)
        return 1.0
    if rss1 <= 1e-12 * rss0:  # the shares explain everything
        return 0.0
    F = ((rss0 - rss1) / (q - 1)) / (rss1 / (n - q))
    return float(stats.f.sf(F, q - 1, n - q))
