r"""The extrapolation error of a target-scale prediction, from the leave-scale-out backtest's residuals
(split-conformal): the part of :mod:`.intervals` measured where a backtest runs.

The **extrapolation error** (a step or size law that bends the wrong way, a mixture effect that drifts with
scale): a bootstrap of the fit cannot see it, because every resample extrapolates with the same wrong shape.
The leave-scale-out backtest (:mod:`.auto`) measures it: its held-out signed relative residuals
:math:`r_{jk} = \hat y_{jk} / y_{jk} - 1` (mixture j, eval k) are *calibration scores* in the sense of
split-conformal prediction (Vovk et al. 2005; Lei et al. 2018, JASA 113:1094). They hold two things that do
not behave alike at a larger distance. Their mean :math:`\bar r_k` is the shared **bias** of extrapolating
eval k with the fitted shape, which grows roughly linearly with the distance in :math:`\log N + \log S`, so
it is multiplied by
:math:`f = \max\big(1, \frac{\log(N^*/N_L) + \log(S^*/S_L)}{\log(N_L/N_h) + \log(S_L/S_c)}\big)`
(target distance over the backtest's). The **scatter** :math:`r_{jk} - \bar r_k` (variance :math:`s_k^2`)
holds the held-out checkpoints' own noise, which the target run has as well and which no distance makes
larger, and mixture-specific extrapolation error, which grows like the bias. The noise variance
:math:`\sigma_n^2` is measured on the table itself (:func:`checkpoint_noise`: the pooled residual variance
of a step law fitted to every curve with 4 or more checkpoints), and only the scatter beyond it is scaled:
by :math:`g_k = \sqrt{(f^2 \max(s_k^2 - \sigma_n^2, 0) + \min(s_k^2, \sigma_n^2)) / s_k^2}`, between 1 (all
noise: synthetic worlds with 0.3-1 % noise) and f (none: mixlaw's EMA trainer runs, 0.1-0.2 %), f when
:math:`\sigma_n` cannot be measured (curves of 3 checkpoints). The scores are
:math:`s_{jk} = |f \bar r_k + g_k (r_{jk} - \bar r_k)|`, and :math:`q_{ext,k}` is their conformal quantile
(:func:`conformal_quantile`): the order statistic at position :math:`(n+1)\ell`, interpolated, whose
coverage is :math:`\ell` on average; the textbook :math:`\lceil (n+1)\ell \rceil`-th score covers at
least :math:`\ell`, which with the 6-10 held-out mixtures of a typical backtest is the largest or
second-largest score and 85 % on average for a nominal 80 %.

How it joins the jackknife, and the rule's measured coverage: :mod:`.intervals`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError, MixlawError, MixlawWarning
from ..scaling import fit_curves
from .grouping import _mixture_ids


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    r"""Split-conformal quantile of ``|scores|`` with coverage :math:`\ell` on average, not at least :math:`\ell`.

    For :math:`n` exchangeable continuous scores a new score falls below the :math:`k`-th smallest with
    probability exactly :math:`k/(n+1)`. The textbook rule takes :math:`k = \lceil (n+1)\ell \rceil`, whose
    coverage :math:`\lceil (n+1)\ell \rceil/(n+1)` overshoots with few scores: 86-89 % for a nominal 80 % at
    n = 6-8. Here the order statistic is interpolated linearly at the position :math:`p = (n+1)\ell` (the
    Hyndman & Fan 1996 type-6 quantile), so that the coverage is :math:`\ell` to first order. With
    :math:`p > n` (fewer than :math:`\ell/(1-\ell)` scores) it is the largest score, said by
    :attr:`~.intervals.PredictionIntervals.method`."""
    s = np.abs(np.asarray(scores, dtype=np.float64).ravel())
    s = np.sort(s[np.isfinite(s)])
    if s.size == 0:
        return float("nan")
    p = (s.size + 1) * level
    if p >= s.size:
        return float(s[-1])
    if p <= 1:
        return float(s[0])
    k = int(np.floor(p))
    return float(s[k - 1] + (p - k) * (s[k] - s[k - 1]))


def checkpoint_noise(table: Any, names: list[str], axis: str = "step", fit_from: float = 0.0) -> float:
    r"""Relative checkpoint-to-checkpoint noise :math:`\sigma_n` of the table's curves (nan when no curve has 4
    checkpoints).

    Every curve (one mixture at one size, one eval) with at least 4 checkpoints at or after ``fit_from`` x its
    last one gets its own step law :math:`E + B/S^{\beta}` (:func:`mixlaw.scaling.fit_curves`); the pooled
    :math:`\sigma_n^2 = \sum \mathrm{SSR} / \sum (n_c - 3)` of their log residuals is the noise variance (the
    pure-error estimate of a lack-of-fit test; a law that misfits the curves inflates it)."""
    N = table.model_params
    T = table.steps if axis == "step" else table.tokens
    Y = table.losses(names)
    _, mix = _mixture_ids(table.weights)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for _, rows in pd.Series(np.arange(len(T))).groupby([mix, N]):
        idx = rows.to_numpy()
        idx = idx[(T[idx] > 0) & (T[idx] >= fit_from * T[idx].max() - 1e-9)]
        if np.unique(T[idx]).size >= 4:
            for k in range(Y.shape[1]):
                xs.append(T[idx])
                ys.append(Y[idx, k])
    if not xs:
        return float("nan")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MixlawWarning)
            fits = fit_curves(xs, ys)
    except MixlawError:
        return float("nan")
    ssr = sum(float(np.sum(np.square(f.residuals))) for f in fits)
    return float(np.sqrt(ssr / sum(x.size - 3 for x in xs)))


def extrapolation_half_width(residuals: np.ndarray, distance_factor: float, level: float,
                             noise: float = float("nan")) -> np.ndarray:
    r"""Relative half-width of the extrapolation error at the target, per target column (module docstring).

    ``residuals``: the backtest's signed relative residuals :math:`r_{jk}` (held-out mixture j, eval k), shape
    (n,) or (n, n_targets). Each column's mean :math:`\bar r_k` (the shared bias of that eval's extrapolation)
    is scaled by the distance factor f; its scatter :math:`r_{jk} - \bar r_k`, of variance :math:`s_k^2`, by
    :math:`g_k = \sqrt{(f^2 \max(s_k^2 - \sigma_n^2, 0) + \min(s_k^2, \sigma_n^2)) / s_k^2}`: the part of it
    that is checkpoint noise (``noise``, :func:`checkpoint_noise`) stays, the rest grows like the bias (g = f when
    the noise is unknown). The scores are :math:`|f \bar r_k + g_k (r_{jk} - \bar r_k)|` and the half-width is
    their :func:`conformal_quantile`. Returns shape (n_columns,) (nan for a column without finite residuals).

    Raises :class:`InputError` for a distance factor that is not a finite number > 0: an infinite one (a backtest
    that extrapolated over no distance) leaves the residuals nothing to be scaled by, and any finite width would
    be made up; :func:`~.intervals.build_intervals` then leaves the extrapolation error out and says so."""
    try:
        f = float(distance_factor)
    except (TypeError, ValueError):
        f = float("nan")
    if not (np.isfinite(f) and f > 0):
        raise InputError(f"distance_factor must be a finite number > 0 (target distance over the backtest's); got "
                         f"{distance_factor!r}" + (": the backtest extrapolated over no distance, so its residuals "
                                                   "cannot be scaled to the target" if f == np.inf else ""))
    R = np.asarray(residuals, dtype=np.float64)
    R = R.reshape(-1, 1) if R.ndim < 2 else R
    out = np.full(R.shape[1], np.nan)
    for k in range(R.shape[1]):
        r = R[:, k][np.isfinite(R[:, k])]
        if not r.size:
            continue
        s2 = float(np.var(r, ddof=1)) if r.size > 1 else 0.0
        if not np.isfinite(noise):
            g = f
        elif s2 > 0:
            g = float(np.sqrt((f ** 2 * max(s2 - noise ** 2, 0.0) + min(s2, noise ** 2)) / s2))
        else:
            g = 1.0
        out[k] = conformal_quantile(f * r.mean() + g * (r - r.mean()), level)
    return out
