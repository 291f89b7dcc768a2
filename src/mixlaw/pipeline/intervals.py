r"""Prediction intervals at the target scale: backtest residuals (split-conformal) plus a jackknife over mixtures.

The error of a target-scale prediction has two parts, and each is measured where it can be:

* **extrapolation error** (a step or size law that bends the wrong way, a mixture effect that drifts with
  scale): a bootstrap of the fit cannot see it, because every resample extrapolates with the same wrong shape.
  The leave-scale-out backtest (:mod:`.auto`) measures it: its held-out relative residuals
  :math:`r_j = \hat y_j / y_j - 1` are *calibration scores* in the sense of split-conformal prediction (Vovk et
  al. 2005; Lei et al. 2018, JASA 113:1094): the :math:`\lceil (n+1)\,\ell \rceil`-th smallest :math:`|r_j|`
  bounds a new score with probability :math:`\ge \ell` when the scores are exchangeable. The target lies
  further than the backtest could reach, and an extrapolation's error grows roughly linearly with the distance
  in :math:`\log N + \log S`, so the quantile is multiplied by
  :math:`f = \max\big(1, \frac{\log(N^*/N_L) + \log(S^*/S_L)}{\log(N_L/N_h) + \log(S_L/S_c)}\big)`
  (target distance over the backtest's distance).
* **fit variance** (noise in the checkpoints, which mixtures were run): a delete-1 jackknife over mixtures
  refits the same route and law without one mixture (all its curves) at a time, for G mixtures drawn at random
  (all of them when there are no more than G), and gives the relative spread
  :math:`\sigma_b^2 = \frac{n-1}{G}\sum_{g} (\hat y_{(g)}/\hat y - \overline{\hat y_{(\cdot)}/\hat y})^2`
  of each prediction, n the number of mixtures (Efron & Tibshirani 1993, ch. 11; with G = n the usual
  jackknife variance up to the factor n/(n-1) of ``ddof``). It is the resampling estimate that suits few
  mixtures: a bootstrap resample of 6 mixtures holds about 4 distinct ones, too few for a 3-domain Ye law,
  while every jackknife refit keeps n - 1.

The half-width (relative to the prediction) is :math:`h = \sqrt{(f q_\ell)^2 + (z_\ell \sigma_b)^2}`, with
:math:`z_\ell` the normal quantile of the two-sided level: the two parts are independent to first order, so
their variances add. Exchangeability fails in two known ways, which is why the coverage is *measured*
(``bench/pipeline_selection.py``) rather than assumed: the backtest's residuals of one table share one bias
(they are correlated), and a law chosen for its small backtest error has an optimistic backtest. Measured
on 52 synthetic worlds (``bench/pipeline_selection.py``): nominal 80 % covered 94 % of the target runs' losses
(88-92 % on the lawful families, 97-98 % on the misspecified ones); on mixlaw's own trainer runs
(``bench/pipeline_crossscale.py --auto``) 18/18 and 14/18.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import norm

from ..errors import MixlawError, MixlawWarning
from ..laws.base import MixingLaw
from .result import _mixture_ids


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    r"""The split-conformal quantile: the :math:`\lceil (n+1)\,\ell \rceil`-th smallest score (the largest when that
    index passes n: too few scores for the level, said by :attr:`PredictionIntervals.method`)."""
    s = np.sort(np.abs(np.asarray(scores, dtype=np.float64).ravel()))
    s = s[np.isfinite(s)]
    if s.size == 0:
        return float("nan")
    k = int(np.ceil((s.size + 1) * level))
    return float(s[min(k, s.size) - 1])


@dataclass
class PredictionIntervals:
    """Intervals of the target-scale predictions at one nominal level (module docstring for the method).

    Attributes
    ----------
    level : float
        Nominal coverage, e.g. 0.8.
    lower, upper : ndarray of shape (n_mixtures, n_targets)
        Bounds for :attr:`PipelineResult.target_losses`.
    conformal_q : float
        Conformal quantile of the backtest's |relative residuals| (nan without a backtest).
    distance_factor : float
        f: target extrapolation distance over the backtest's (>= 1).
    boot_sigma : ndarray of shape (n_mixtures, n_targets)
        Relative jackknife spread of each prediction (0 without refits).
    n_boot, n_boot_failed : int
        Jackknife refits made and failed.
    method : str
    """

    level: float
    lower: np.ndarray
    upper: np.ndarray
    conformal_q: float
    distance_factor: float
    boot_sigma: np.ndarray
    n_boot: int
    n_boot_failed: int
    method: str
    boot_laws: list[tuple[MixingLaw, dict[str, Any]]] = field(default_factory=list, repr=False)
    n_mixtures: int = 0

    @property
    def z(self) -> float:
        return float(norm.ppf(0.5 + self.level / 2))

    def half_width(self, sigma: np.ndarray) -> np.ndarray:
        """Relative half-width :math:`\\sqrt{(f q)^2 + (z \\sigma_b)^2}` for bootstrap spreads ``sigma``."""
        q = 0.0 if not np.isfinite(self.conformal_q) else self.conformal_q * self.distance_factor
        return np.sqrt(q ** 2 + (self.z * np.asarray(sigma)) ** 2)

    def boot_spread(self, weights: np.ndarray, center: np.ndarray) -> np.ndarray:
        """Relative jackknife spread of the predictions at ``weights`` (rows) around ``center``."""
        G, n = len(self.boot_laws), self.n_mixtures
        if G < 2:
            return np.zeros_like(center)
        preds = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MixlawWarning)
            for law, kw in self.boot_laws:
                preds.append(np.asarray(law.predict(weights, **kw)).reshape(center.shape))
        rel = np.array(preds) / center
        return np.sqrt((n - 1) / G * np.sum((rel - rel.mean(axis=0)) ** 2, axis=0))

    def at(self, weights: Any, center: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) for predictions ``center`` (n, n_targets) of new mixtures ``weights`` (n, n_domains)."""
        W = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        h = self.half_width(self.boot_spread(W, center))
        return center * (1 - h), center * (1 + h)

    def to_dict(self) -> dict[str, Any]:
        # None, not NaN, where there was no backtest: saved pipelines are strict JSON.
        return {"level": self.level,
                "conformal_q": self.conformal_q if np.isfinite(self.conformal_q) else None,
                "distance_factor": self.distance_factor if np.isfinite(self.distance_factor) else None,
                "n_boot": self.n_boot, "n_boot_failed": self.n_boot_failed, "method": self.method,
                "lower": self.lower.tolist(), "upper": self.upper.tolist(), "boot_sigma": self.boot_sigma.tolist()}


def build_intervals(center: np.ndarray, mixtures: np.ndarray, residuals: np.ndarray | None, distance_factor: float,
                    boot: list[Any], failed: list[str], level: float) -> PredictionIntervals:
    """Combine the backtest residuals and the bootstrap refits (results with ``mixing_law``/``predict_kwargs``)."""
    q = conformal_quantile(residuals, level) if residuals is not None and np.size(residuals) else float("nan")
    laws = [(b.mixing_law, b.predict_kwargs) for b in boot]
    n = 0 if residuals is None else int(np.isfinite(np.asarray(residuals)).sum())
    parts = []
    if np.isfinite(q):
        small = int(np.ceil((n + 1) * level)) > n
        parts.append(f"split-conformal quantile {q:.3%} of {n} backtest |residuals|"
                     + (" (too few for this level: their max)" if small else "")
                     + f" x distance factor {distance_factor:.3g}")
    else:
        parts.append("no backtest residuals: the extrapolation error is NOT in these intervals")
    parts.append(f"jackknife over mixtures: {len(laws)} refits"
                 + (f" ({len(failed)} failed, e.g. {failed[0]})" if failed else ""))
    out = PredictionIntervals(level, center.copy(), center.copy(), q, distance_factor, np.zeros_like(center),
                              len(laws), len(failed), "; ".join(parts), laws, n_mixtures=len(mixtures))
    out.boot_sigma = out.boot_spread(mixtures, center)
    h = out.half_width(out.boot_sigma)
    out.lower, out.upper = center * (1 - h), center * (1 + h)
    return out


def jackknife_mixtures(fit: Any, table: Any, n_refits: int, seed: int) -> tuple[list[Any], list[str]]:
    """Refit ``fit(subtable, seed)`` without one mixture at a time, for ``n_refits`` mixtures drawn at random (all
    of them when there are no more); returns (results, why each failed refit failed)."""
    _, inv = _mixture_ids(table.weights)
    n_mix = int(inv.max()) + 1
    rng = np.random.default_rng(seed)
    out: list[Any] = []
    failed: list[str] = []
    for m in rng.permutation(n_mix)[:int(n_refits)]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MixlawWarning)
                out.append(fit(table.subset(inv != m), int(rng.integers(2**31))))
        except MixlawError as err:
            failed.append(f"{type(err).__name__}: {str(err).splitlines()[0]}")
    return out, failed
