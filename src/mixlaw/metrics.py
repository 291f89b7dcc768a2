"""Prediction metrics (DESIGN.md §5): pure functions of true and predicted losses.

``MRE`` follows Dai & Zheng (2026): the mean of |Lhat - L| / L over all held-out (run, eval) entries.
Spearman is RegMix's headline (Liu et al. 2025). ``regret_at_k``: how much worse the true loss of the
law's top-ranked held-out run is than the true best.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if y.shape != p.shape:
        raise ValueError(f"y_true and y_pred shapes differ: {y.shape} vs {p.shape}")
    return y, p


def mre(y_true: Any, y_pred: Any) -> float:
    """Mean relative error, pooled over every entry: mean(|pred - true| / true)."""
    y, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(p - y) / y))


def rmse(y_true: Any, y_pred: Any) -> float:
    y, p = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((p - y) ** 2)))


def bias(y_true: Any, y_pred: Any) -> float:
    """Mean signed error mean(pred - true): > 0 when the law over-predicts the loss on average (calibration)."""
    y, p = _pair(y_true, y_pred)
    return float(np.mean(p - y))


def mae(y_true: Any, y_pred: Any) -> float:
    y, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(p - y)))


def r2(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination: of a 1-D input, over every entry; of an (n, K) input, the mean over its K eval
    columns of each one's (a NaN in ``y_true``, a loss not measured, left out of its column; a constant column left
    out of the mean), as :meth:`mixlaw.laws.base.MixingLaw.score`. Pooled over every entry, the eval sets' own loss
    levels counted as explained variance: linear on Marin Delphi's train split (uncheatable_obj, table9_obj) read
    R2=0.948 in its fit report, where each eval set's R2 is 0.823 and 0.725."""
    y, p = _pair(y_true, y_pred)
    if y.ndim == 2:
        # A column without two distinct measured losses has no R2 to average; a prediction that is NaN where a loss
        # was measured makes the mean NaN, as pooled (dropped with the constant columns, one eval set's NaN
        # predictions read R2 0.985, the other's alone, beside RMSE nan).
        cols = [r2(y[h, j], p[h, j]) for j in range(y.shape[1]) for h in [~np.isnan(y[:, j])]
                if h.any() and np.ptp(y[h, j]) > 0]
        return float(np.mean(cols)) if cols else float("nan")
    ss = np.sum((y - y.mean()) ** 2)
    return float(1 - np.sum((p - y) ** 2) / ss) if ss > 0 else float("nan")


def _per_column(fn: Any, y: np.ndarray, p: np.ndarray) -> float:
    """Mean of a per-eval statistic over columns (a 1-D input is one column)."""
    if y.ndim == 1:
        y, p = y[:, None], p[:, None]
    vals = []
    for j in range(y.shape[1]):
        if np.ptp(y[:, j]) == 0 or np.ptp(p[:, j]) == 0:
            vals.append(np.nan)
        else:
            vals.append(fn(y[:, j], p[:, j]))
    return float(np.nanmean(vals)) if not np.all(np.isnan(vals)) else float("nan")


def chance_spearman(n: int) -> float:
    """The Spearman that chance reaches at ``n`` runs: 2 standard errors of a rank correlation of unrelated
    predictions, ``2 / sqrt(n - 1)`` (nan under 3 runs). One rule for "better than chance" wherever an out-of-fold
    Spearman is read: ``optimize``'s note on the law's error, and ``auto``'s word on a law it chose below it (it
    chooses only above 0; 0.065 at 15 runs, where chance reaches 0.53, was chosen without a word)."""
    return 2.0 / float(np.sqrt(n - 1)) if n > 2 else float("nan")


def within_chance(rho: float, n: int) -> bool:
    """Whether an out-of-fold Spearman ``rho`` at ``n`` runs is below :func:`chance_spearman` (False under 3 runs).
    1e-9 of slack: a perfect ranking scored 0.9999999999999999 (Ye's 2Mix at 160M, 5 runs, where the bar is
    2/sqrt(4) = 1) was printed as Spearman 1.000 and still fell below the bar."""
    return n > 2 and rho < chance_spearman(n) - 1e-9


def spearman(y_true: Any, y_pred: Any) -> float:
    """Spearman rank correlation per eval column, averaged over columns."""
    y, p = _pair(y_true, y_pred)
    return _per_column(lambda a, b: stats.spearmanr(a, b).statistic, y, p)


def pearson(y_true: Any, y_pred: Any) -> float:
    """Pearson correlation per eval column, averaged over columns."""
    y, p = _pair(y_true, y_pred)
    return _per_column(lambda a, b: stats.pearsonr(a, b).statistic, y, p)


def regret_at_k(y_true: Any, y_pred: Any, k: int = 1, maximize: bool = False) -> float:
    """True loss of the best of the law's top-k held-out runs minus the true best loss (>= 0).

    With several eval columns, runs are ranked by their mean loss over the columns. ``maximize``: the columns are
    higher-is-better metrics (accuracy), so the top-k are the k highest predictions and the regret is the true best
    (highest) value minus the best of theirs; without it an accuracy table's regret was that of the k runs the law
    predicted worst, against the worst run (ADMIRE-BayesOpt's IFT accuracies, ``compare --json``).
    """
    y, p = _pair(y_true, y_pred)
    if y.ndim == 2:
        y, p = y.mean(axis=1), p.mean(axis=1)
    if maximize:
        top = np.argsort(-p, kind="stable")[:k]
        return float(y.max() - y[top].max())
    top = np.argsort(p, kind="stable")[:k]
    return float(y[top].min() - y.min())


def aic_bic(resid: np.ndarray, n_params: int) -> tuple[float, float]:
    """Gaussian AIC and BIC of residuals: n log(RSS/n) + 2p, n log(RSS/n) + p log n."""
    n = resid.size
    rss = float(np.sum(resid ** 2))
    ll = n * np.log(max(rss, 1e-300) / n)
    return float(ll + 2 * n_params), float(ll + n_params * np.log(n))


def all_metrics(y_true: Any, y_pred: Any, maximize: bool = False) -> dict[str, float]:
    """The leaderboard's metrics: spearman, pearson, mre, rmse, bias, r2, regret_at_1 (of the highest-predicted
    run against the highest with ``maximize``: :func:`regret_at_k`)."""
    return {"spearman": spearman(y_true, y_pred), "pearson": pearson(y_true, y_pred), "mre": mre(y_true, y_pred),
            "rmse": rmse(y_true, y_pred), "bias": bias(y_true, y_pred), "r2": r2(y_true, y_pred),
            "regret_at_1": regret_at_k(y_true, y_pred, 1, maximize=maximize)}


__all__ = ["mre", "rmse", "bias", "mae", "r2", "spearman", "pearson", "regret_at_k", "aic_bic", "all_metrics"]
