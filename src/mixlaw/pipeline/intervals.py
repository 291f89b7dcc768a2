r"""Prediction intervals at the target scale: backtest residuals (split-conformal) with a jackknife floor.

The error of a target-scale prediction has two parts, and each is measured where it can be:

* **extrapolation error** (a step or size law that bends the wrong way, a mixture effect that drifts with
  scale): a bootstrap of the fit cannot see it, because every resample extrapolates with the same wrong shape.
  The leave-scale-out backtest (:mod:`.auto`) measures it: its held-out signed relative residuals, their mean
  (the shared bias) scaled by the distance factor f (target distance over the backtest's) and their scatter
  beyond the checkpoint noise too, give the split-conformal half-width :math:`q_{ext,k}` of each eval
  (:mod:`.conformal`, whose docstring gives the scores and the quantile).
* **fit variance** (noise in the checkpoints, which mixtures were run): a delete-1 jackknife over mixtures
  refits the same route and law without one mixture (all its curves) at a time, for G mixtures drawn at random
  (all of them when there are no more than G), and gives the relative spread
  :math:`\sigma_b^2 = \frac{n-1}{G}\sum_{g} (\hat y_{(g)}/\hat y - \overline{\hat y_{(\cdot)}/\hat y})^2`
  of each prediction, n the number of mixtures (Efron & Tibshirani 1993, ch. 11; with G = n the usual
  jackknife variance up to the factor n/(n-1) of ``ddof``). It is the resampling estimate that suits few
  mixtures: a bootstrap resample of 6 mixtures holds about 4 distinct ones, too few for a 3-domain Ye law,
  while every jackknife refit keeps n - 1.

The half-width (relative to the prediction) is :math:`h = \max(q_{ext,k}, z_\ell \sigma_b)`, with
:math:`z_\ell` the normal quantile of the two-sided level. Not the two in quadrature: the backtest's residuals
already hold a fit's variance (the backtest's own fit, on fewer sizes and shorter curves than the real one), so
adding the jackknife's would count it twice; the jackknife is a floor where the target fit is less stable than
the backtest's. Exchangeability fails in known ways (the residuals of one table share one bias; a law chosen for
its small backtest error has an optimistic backtest; how the bias grows with distance depends on the world), so
the coverage is *measured*, by ``bench/interval_calibration.py`` (the worlds of
``bench/pipeline_selection.py``). The rule was chosen among the variants that bench prints (distance factor on
all of each residual, on none, its square root on all, on the bias only, on the bias and the scatter beyond the
noise; the jackknife in quadrature, as a floor, or left out) on worlds of seed block 1 (1000+), and verified on
the 52 worlds that ``bench/pipeline_selection.py`` reports (seed block 0, not used to choose): block 1 85 % (89
/ 83 / 90 / 80 % on the four families), block 0 87 % (80 / 86 / 94 / 89 %, mean half-width 2.3 %); the first
rule (ceil quantile x f on all of each residual, jackknife in quadrature) 92 % and 94 % (2.8 %). Scaling the
bias alone covered about as well there (83 % / 85 %), but on mixlaw's own trainer runs (``bench/pipeline_crossscale.py
--auto --fit-from 0.4``, 6 mixtures x 3 evals each, one table's entries sharing one fit; backtest partial, f =
3.4), where the scatter is not noise, it held 9/18 (v3) and 16/18 (v3_12m); this rule holds 14/18 and 17/18
(18/18 on v3_12m since the nested route shares its exponents by default, 2026-12-04).

**No backtest** (3 sizes, or curves of 3 checkpoints: nothing to hold out): each mixture's own size- or
step-law prediction error at the target stands in for :math:`q_{ext}` (:mod:`.law_spread`, whose docstring gives
the rules and their measured coverage): in quadrature with the jackknife for the size law,
:math:`\sqrt{(z_\ell \sigma_b)^2 + h_{size}^2}`, as a maximum for the step law, :math:`\max(z_\ell \sigma_b,
h_{step})`, and with both each part's own rule, the wider (:func:`relative_half_width`).

**At another scale** (:meth:`PredictionIntervals.at_scale`; ``PipelineResult.interval(W, params=N, steps=S)``,
``mixlaw predict --pipeline --params/--steps``): the same rule, redone at (N, S). The residuals are scaled by that
scale's distance factor, :math:`f(N, S) = \max\big(1, \frac{\log^+(N/N_L) + \log^+(S/S_L)}{\log(N_L/N_h) +
\log(S_L/S_c)}\big)` (:func:`.result.log_distance`: a ratio below 1 adds nothing), so inside the fitted range
the interval holds the backtest's own error, never less, and beyond the target more; the jackknife part is the
refits' spread at (N, S) (each refit's fitted stages, :attr:`PredictionIntervals.boot_scales`, read there). At
the target it gives the target's intervals. The no-backtest terms (:func:`~.law_spread.size_law_spread`,
:func:`~.law_spread.step_law_spread`) are each mixture's own prediction error at the target, from the runs: they are not
redone, and a line says so.

Layout: this module holds the rule that joins the parts (:func:`relative_half_width`), the intervals
(:class:`PredictionIntervals`, :func:`build_intervals`) and the jackknife refits (:func:`jackknife_mixtures`);
:mod:`.conformal` the backtest's extrapolation part (:func:`~.conformal.conformal_quantile`,
:func:`~.conformal.checkpoint_noise`, :func:`~.conformal.extrapolation_half_width`); :mod:`.law_spread` the
no-backtest terms (:class:`~.law_spread.SizeLawSpread`, :func:`~.law_spread.size_law_spread` and its kin).
Their names are importable from here too, where they lived until 2026-12-04.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import norm

from ..data import SAME_MIXTURE_ATOL, SAME_MIXTURE_RTOL
from ..errors import InputError, MixlawError, MixlawWarning, user_stacklevel
from ..laws.base import MixingLaw
from .conformal import checkpoint_noise, conformal_quantile, extrapolation_half_width  # noqa: F401  (re-exported)
from .grouping import _mixture_ids
from .law_spread import (  # noqa: F401  (re-exported: mixlaw.pipeline.intervals was their home)
    SizeLawSpread,
    final_size_law_spread,
    no_backtest_label,
    size_law_spread,
    step_law_spread,
    step_law_spread_at_size,
)
from .result import log_distance

#: Above this many targets the method line gives the range of their extrapolation errors, not each one.
NAMED_EVALS = 8


def relative_half_width(extrapolation: np.ndarray | float, sigma: np.ndarray, level: float,
                        size_law: np.ndarray | None = None, step_law: np.ndarray | None = None) -> np.ndarray:
    r"""The interval's relative half-width :math:`h = \max(q_{ext}, z_\ell \sigma_b)` (module docstring):
    ``extrapolation`` from :func:`~.conformal.extrapolation_half_width` (nan: no backtest, the jackknife alone),
    ``sigma`` the jackknife spreads, shape (n_mixtures, n_targets). ``size_law`` (no backtest, sizes only:
    :func:`~.law_spread.size_law_spread`'s half-widths, same shape) joins the jackknife in quadrature,
    :math:`\sqrt{(z_\ell \sigma_b)^2 + h_{size}^2}`: two separate parts of the error (alpha's and the mixing
    law's, each mixture's own points' and the target run's noise). ``step_law`` (no backtest, steps only:
    :func:`~.law_spread.step_law_spread`'s) joins it as a maximum, :math:`\max(z_\ell \sigma_b, h_{step})`
    (:mod:`.law_spread`: in quadrature it covered 86-91 %). With both (no backtest, multi-scale, target beyond the
    fitted sizes): :math:`\max(\sqrt{(z_\ell \sigma_b)^2 + h_{size}^2}, h_{step})`, each part's own rule, the wider."""
    q = np.nan_to_num(np.asarray(extrapolation, dtype=np.float64), nan=0.0)
    jack = norm.ppf(0.5 + level / 2) * np.asarray(sigma, dtype=np.float64)
    if size_law is not None:
        jack = np.hypot(jack, np.asarray(size_law, dtype=np.float64))
    if step_law is not None:
        jack = np.maximum(jack, np.asarray(step_law, dtype=np.float64))
    return np.maximum(q, jack)


@dataclass
class PredictionIntervals:
    """Intervals of the target-scale predictions at one nominal level (module docstring for the method).

    Attributes
    ----------
    level : float
        Nominal coverage, e.g. 0.8.
    lower, upper : ndarray of shape (n_mixtures, n_targets)
        Bounds for :attr:`PipelineResult.target_losses`.
    extrapolation : ndarray of shape (n_targets,)
        :math:`q_{ext}`, the relative half-width of the extrapolation error of each target column, from the
        backtest's residuals (:func:`~.conformal.extrapolation_half_width`; nan without a backtest).
    distance_factor : float
        f: target extrapolation distance over the backtest's (>= 1), applied to the residuals' mean and to
        their scatter beyond the checkpoint noise.
    noise : float
        :math:`\\sigma_n`, the relative checkpoint noise of the table (:func:`~.conformal.checkpoint_noise`; nan:
        unknown).
    boot_sigma : ndarray of shape (n_mixtures, n_targets)
        Relative jackknife spread of each prediction (0 without refits).
    n_boot, n_boot_failed : int
        Jackknife refits made and failed.
    method : str
        What the intervals contain and how they were built.
    contains : str
        What the half-width holds, in a few words: "backtest extrapolation error (conformal), max with the
        jackknife", "jackknife + size-law prediction sd (no backtest: 3 sizes)", "max of the jackknife and the
        step-law prediction sd (no backtest: 3 checkpoints)" or "jackknife alone (...): no extrapolation error".
    size_law : ndarray of shape (n_mixtures, n_targets), optional
        Without a backtest, in the sizes-only pipeline and in the multi-scale one for a target beyond the fitted
        sizes: the size law's prediction error at N* of each mixture (:func:`~.law_spread.size_law_spread`,
        :func:`~.law_spread.final_size_law_spread`), in quadrature with the jackknife; None otherwise.
    step_law : ndarray of shape (n_mixtures, n_targets), optional
        Without a backtest, in the steps-only pipeline and in the multi-scale one: the step law's prediction error
        at S* of each mixture (:func:`~.law_spread.step_law_spread`, :func:`~.law_spread.step_law_spread_at_size`),
        max with the jackknife (with the jackknife + :attr:`size_law` when both are given); None otherwise.
    mixtures : ndarray of shape (n_mixtures, n_domains), optional
        The mixtures of :attr:`lower` / :attr:`upper` (to find a mixture's own :attr:`size_law` in :meth:`at`).
    residuals : ndarray of shape (n, n_targets) or (n, 1), optional
        The backtest's signed relative residuals behind :attr:`extrapolation` (None without a backtest, or when
        they could not be scaled): :meth:`at_scale` scales them to another scale's distance.
    backtest_distance : float
        The backtest's extrapolation distance in log N + log S (:func:`.result.log_distance`; nan: none).
    edge : tuple of float
        (N_L, T_L): the largest fitted model size and the last step (or token count) of the table, from which a
        scale's extrapolation distance is measured (nan: unknown).
    boot_scales : list
        The jackknife refits' fitted scale models (``scales.law_at(N, T)``, as :attr:`PipelineResult.scales`):
        the jackknife part of :meth:`at_scale` at any model size and step.
    from_file : bool
        Read back from a saved pipeline (:func:`~.io.load_pipeline`): at the target :meth:`at` gives a saved
        mixture its own saved jackknife spread (:attr:`boot_sigma`, the spread around the target losses it was
        saved with), as it takes :attr:`size_law`. Any other mixture gets the refits' spread at its weights, as the
        fitted pipeline gives, when the file keeps the refits (:attr:`refits_kept`: files with a backtest since
        2026-12-04, whose ``state.jackknife`` holds them for :meth:`at_scale`, and files without one since
        2026-12-05, whose ``state.jackknife_laws`` holds their mixing laws); in a file saved before, the largest
        saved spread of each target (conservative where the jackknife part dominates: the rule ``mixlaw predict
        --pipeline`` applied to every file from 2026-12-03). :meth:`describe_at` says which.
    """

    level: float
    lower: np.ndarray
    upper: np.ndarray
    extrapolation: np.ndarray
    distance_factor: float
    boot_sigma: np.ndarray
    n_boot: int
    n_boot_failed: int
    method: str
    boot_laws: list[tuple[MixingLaw, dict[str, Any]]] = field(default_factory=list, repr=False)
    n_mixtures: int = 0
    noise: float = float("nan")
    size_law: np.ndarray | None = None
    mixtures: np.ndarray | None = field(default=None, repr=False)
    contains: str = ""
    step_law: np.ndarray | None = None
    residuals: np.ndarray | None = field(default=None, repr=False)
    backtest_distance: float = float("nan")
    edge: tuple[float, float] = (float("nan"), float("nan"))
    boot_scales: list[Any] = field(default_factory=list, repr=False)
    from_file: bool = False

    @property
    def z(self) -> float:
        return float(norm.ppf(0.5 + self.level / 2))

    def half_width(self, sigma: np.ndarray, size_law: np.ndarray | None = None,
                   step_law: np.ndarray | None = None) -> np.ndarray:
        """Relative half-width :math:`\\max(q_{ext}, z \\sigma_b)` for jackknife spreads ``sigma`` (with
        ``size_law`` in quadrature with the jackknife, ``step_law`` max with it, when given:
        :func:`relative_half_width`)."""
        return relative_half_width(self.extrapolation, sigma, self.level, size_law, step_law)

    def size_law_at(self, weights: np.ndarray) -> np.ndarray | None:
        """:attr:`size_law` of the mixtures ``weights``: its own row for a fitted mixture, for any other the
        largest of each target (a new mixture's prediction interpolates the fitted ones' target losses)."""
        W = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        return self._own_rows(self.size_law, self._own_index(W), len(W))

    def step_law_at(self, weights: np.ndarray) -> np.ndarray | None:
        """:attr:`step_law` of the mixtures ``weights``, taken as :meth:`size_law_at` takes :attr:`size_law`."""
        W = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        return self._own_rows(self.step_law, self._own_index(W), len(W))

    def _own_index(self, weights: np.ndarray) -> np.ndarray | None:
        """Each row of ``weights``' index in :attr:`mixtures` (-1: not one of them); None without them.

        A row is a pipeline mixture when every share is within the tolerance by which the fit merged rows into
        one mixture (:data:`~mixlaw.data.SAME_MIXTURE_ATOL` + :data:`~mixlaw.data.SAME_MIXTURE_RTOL` x the larger
        share: :func:`.grouping.merge_near_mixtures`): a merged mixture's rows, 1e-4 from its mean shares, were "not
        among the pipeline's own" at the 1e-7 used before. Why not rounding: a mixture read back from a CSV and
        renormalised moves by ~1e-9, which rounding to 9 decimals split from its saved twin whenever a share sat
        near a rounding edge (a file's own mixture summing to 1 - 1e-9 was described as a new one). Why a k-d
        tree: all pairwise distances took 5 s of CPU per call for 100k candidate mixtures against 512 saved ones
        (and predict made five calls); the tree's nearest mixture in the same max-share distance, then the
        tolerance checked exactly, takes 0.03 s."""
        if self.mixtures is None:
            return None
        M = np.asarray(self.mixtures, dtype=np.float64)
        W = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        out = np.full(len(W), -1, dtype=int)
        rows = np.flatnonzero(np.isfinite(W).all(axis=1))  # the tree refuses NaN; such a row is no mixture
        if not len(M) or W.shape[1] != M.shape[1] or not len(rows):
            return out
        bound = 2 * (SAME_MIXTURE_ATOL + SAME_MIXTURE_RTOL)  # above the tolerance of any share (<= 1)
        _, j = cKDTree(M).query(W[rows], p=np.inf, distance_upper_bound=bound)
        rows, j = rows[j < len(M)], j[j < len(M)]  # len(M): none within the bound
        hit = np.all(np.abs(W[rows] - M[j])
                     <= SAME_MIXTURE_ATOL + SAME_MIXTURE_RTOL * np.maximum(W[rows], M[j]), axis=1)
        out[rows[hit]] = j[hit]
        return out

    @staticmethod
    def _own_rows(per_mixture: np.ndarray | None, idx: np.ndarray | None, n: int) -> np.ndarray | None:
        """The rows of ``per_mixture`` at ``idx`` (:meth:`_own_index` of ``n`` mixtures), for -1 (or without an
        index) the largest of each target."""
        if per_mixture is None:
            return None
        if idx is None or not len(per_mixture):
            return np.broadcast_to(np.max(per_mixture, axis=0), (n, per_mixture.shape[1])).copy()
        return np.where((idx >= 0)[:, None], per_mixture[np.maximum(idx, 0)], np.max(per_mixture, axis=0))

    @property
    def refits_kept(self) -> bool:
        """Whether every jackknife refit's mixing law is here (:attr:`boot_laws`, as many as :attr:`n_boot` > 0):
        always when fitted; read back from a file, when it keeps ``state.jackknife`` (a backtest, since
        2026-12-04) or ``state.jackknife_laws`` (no backtest, since 2026-12-05)."""
        return self.n_boot > 0 and len(self.boot_laws) == self.n_boot

    def boot_spread(self, weights: np.ndarray, center: np.ndarray,
                    laws: list[tuple[MixingLaw, dict[str, Any]]] | None = None) -> np.ndarray:
        """Relative jackknife spread of the predictions at ``weights`` (rows) around ``center`` (``laws``: the
        refits' mixing laws at another scale; default :attr:`boot_laws`, at the target)."""
        laws = self.boot_laws if laws is None else laws
        G, n = len(laws), self.n_mixtures
        if G < 2:
            return np.zeros_like(center)
        preds = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MixlawWarning)
            for law, kw in laws:
                preds.append(np.asarray(law.predict(weights, **kw)).reshape(center.shape))
        rel = np.array(preds) / center
        return np.sqrt((n - 1) / G * np.sum((rel - rel.mean(axis=0)) ** 2, axis=0))

    def why_not_at_scale(self) -> str | None:
        """Why :meth:`at_scale` cannot build intervals at a scale other than the target (one line), or None."""
        if self.size_law is not None or self.step_law is not None:
            return ("no prediction intervals at another scale: these were fitted without a backtest, and their "
                    "size- or step-law term is each mixture's own prediction error at the target (N*, S*), from runs "
                    "the pipeline does not keep")
        if not np.isfinite(self.extrapolation).any():
            return ("no prediction intervals at another scale: no backtest residuals measure the extrapolation "
                    "error (the target's intervals are the jackknife alone)")
        if not (self.residuals is not None and np.isfinite(self.backtest_distance) and self.backtest_distance > 0
                and np.all(np.isfinite(self.edge)) and (self.n_boot == 0 or self.boot_scales)):
            return ("no prediction intervals at another scale: the intervals lack the backtest's residuals, its "
                    "distance or the jackknife refits' scale models (saved by an older mixlaw: refit and save)")
        return None

    def distance_factor_at(self, params: float, time: float) -> float:
        """The distance factor f at model size ``params`` and step (or token count) ``time``: that scale's
        distance from (N_L, T_L), :attr:`edge`, over the backtest's (:func:`.result.log_distance`), at least 1
        (inside the fitted range: the backtest's own error, not less)."""
        d = log_distance(float(params) / self.edge[0], float(time) / self.edge[1])
        return float(max(1.0, d / self.backtest_distance))

    def at_scale(self, weights: Any, center: np.ndarray, params: float, time: float
                 ) -> tuple[np.ndarray, np.ndarray, str]:
        r"""(lower, upper, a line saying how) for predictions ``center`` of mixtures ``weights`` at model size
        ``params`` and step (or token count, by the pipeline's time axis) ``time``, any scale.

        The rule of the target's intervals, redone at that scale: the backtest residuals scaled by that scale's
        distance factor (:meth:`distance_factor_at`; 1 inside the fitted range, so an interpolation gets the
        backtest's own error), max with the jackknife spread of the refits' predictions at that scale
        (:attr:`boot_scales`). InputError (one line, :meth:`why_not_at_scale`) where that cannot be done honestly:
        a pipeline without a backtest, whose terms are computed at the target from the runs.

        Intervals at other scales, measured coverage (nominal 80 %; ``bench/interval_calibration.py --at-scale``,
        2026-12-04): on the synthetic worlds fitted with their target (N*, S*), at sqrt(N_L N*), at the largest fitted
        size N_L and at 2 N* (each at S*) 88 / 87 / 87 % (seed block 1) and 85 / 88 / 86 % (block 0), the target's own
        87 / 87 %; with 3 fitted sizes (the backtest's time part only) 85 / 83 / 75 % against 79 % (block 1), 92 / 85 /
        95 % against 94 % (block 0). On real runs they over-cover at scales nearer than the backtest reached (f = 1
        there): Dai & Zheng's fitted up to 937M for 2.718B hold 158 / 160 losses of the 1.235B runs (99 %, mean
        half-width 2.6 % for an MRE of 0.40 %), Ye's at 1B, 20k 20 / 20 and 29 / 30 (``bench/dz_public_runs.py`` /
        ``bench/ye_public_runs.py --at-scale``): the backtest's fit, on fewer sizes and shorter curves, carries biases
        the full fit does not have that near. Letting f fall below 1 narrowed them (99 -> 96 %) but dropped the
        synthetic worlds at N_L to 78 % (67 % in a family): not adopted, so read them as on the safe side there."""
        why = self.why_not_at_scale()
        if why is not None:
            raise InputError(why)
        assert self.residuals is not None
        W = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        center = np.atleast_2d(np.asarray(center, dtype=np.float64))
        f = self.distance_factor_at(params, time)
        q = np.broadcast_to(extrapolation_half_width(self.residuals, f, self.level, self.noise),
                            (center.shape[1],)).copy()
        laws: list[tuple[MixingLaw, dict[str, Any]]] = []
        failed = 0
        for scales in self.boot_scales:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", MixlawWarning)
                    laws.append(scales.law_at(float(params), float(time)))
            except MixlawError:
                failed += 1
        h = relative_half_width(q, self.boot_spread(W, center, laws), self.level)
        # Beyond the edge but nearer than the backtest reached, f is 1 too: said so, since "1 at any scale up to the
        # largest fitted size" read as if this one (Ye's 5Mix fitted on 70M-410M, predicted at 1B and 20k steps:
        # 0.85 of the backtest's distance) were inside.
        d = log_distance(float(params) / self.edge[0], float(time) / self.edge[1])
        near = (f"; this scale lies beyond them at {d / self.backtest_distance:.2g}x the backtest's distance, within "
                "its reach, so 1 here too" if f == 1.0 and d > 0 else "")
        how = (f"{self.level:.0%} prediction intervals at this scale: each eval's backtest residuals x this scale's "
               f"distance factor {f:.3g} (the target's: {self.distance_factor:.3g}; it is 1 at any scale up to the "
               f"largest fitted size {self.edge[0]:g} and last checkpoint {self.edge[1]:g}, below the smallest fitted "
               f"ones too, where no backtest measured it{near}), max with the jackknife over mixtures at this scale "
               f"({len(laws)} refits"
               + (f", {failed} failed there" if failed else "") + ")")
        return (*interval_bounds(center, h), how)

    def at(self, weights: Any, center: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) for predictions ``center`` (n, n_targets) of new mixtures ``weights`` (n, n_domains), at
        the target. Read back from a file (:attr:`from_file`), the jackknife part of a pipeline's own mixture is its
        saved :attr:`boot_sigma` row; any other mixture's is the refits' spread at it (:meth:`boot_spread`, as
        fitted) where the file keeps them (:attr:`refits_kept`), else the largest saved spread of each target."""
        W = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        idx = self._own_index(W)  # once: the three per-mixture parts below read it
        if not self.from_file:
            sigma = self.boot_spread(W, center)
        else:
            sigma = self._own_rows(np.nan_to_num(self.boot_sigma, nan=0.0), idx, len(W))
            new = np.ones(len(W), dtype=bool) if idx is None else idx < 0
            if self.refits_kept and new.any():
                sigma[new] = self.boot_spread(W[new], np.atleast_2d(center)[new])
        h = self.half_width(sigma, self._own_rows(self.size_law, idx, len(W)),
                            self._own_rows(self.step_law, idx, len(W)))
        return interval_bounds(center, h)

    def describe_at(self, weights: Any, targets: list[str]) -> str:
        """One line saying how :meth:`at` builds the intervals of ``weights`` (``targets``: the target columns'
        names): for intervals read back from a file, which saved parts and rule (:func:`relative_half_width`), how
        many mixtures are not the pipeline's own (they get the saved refits' spread, or without them the largest
        saved spread), which targets have no extrapolation part, and the fit's own words (:attr:`contains`); else
        :attr:`method`."""
        if not self.from_file:
            return f"{self.level:.0%} prediction intervals: {self.method}"
        W = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        idx = self._own_index(W)
        outside = np.ones(len(W), bool) if idx is None else idx < 0
        new = int(np.sum(outside))
        # A run table passed as the mixtures file repeats each mixture at every size and step: count both, so that
        # 447 rows of 21 new mixtures do not read as 447 mixtures.
        distinct = len(_mixture_ids(W[outside])[0]) if new else 0
        rows = f"{new} mixture(s)" if distinct == new else f"{new} row(s) of {distinct} mixture(s)"
        size, step = self.size_law is not None, self.step_law is not None
        missing = [t for t, v in zip(targets, self.extrapolation, strict=True) if not np.isfinite(v)]
        how = (f"{self.level:.0%} prediction intervals rebuilt from the saved pipeline: "
               + ("max of (the jackknife spread and the saved size-law prediction error in quadrature) and the saved "
                  "step-law prediction error (no backtest)" if size and step
                  else "the jackknife spread and the saved size-law prediction error in quadrature (no backtest)"
                  if size else "max of the jackknife spread and the saved step-law prediction error (no backtest)"
                  if step else "max of each eval's saved extrapolation error and the jackknife spread")
               + ("" if not new else
                  f" ({rows} not among the pipeline's own get the spread of the {self.n_boot} saved "
                  "jackknife refits' predictions at them, as when fitted)" if self.refits_kept else
                  f" ({rows} not among the pipeline's own get the largest saved spread of each eval: the "
                  "jackknife refits are not saved, by a mixlaw older than 2026-12-05)")
               + (f"; the extrapolation error is NOT in the intervals of {', '.join(missing)} (none saved: the "
                  "jackknife spread alone)" if missing and not size and not step else ""))
        if self.contains:  # the fit's own words for its rule (files saved since 2026-12-04)
            how += f"; as fitted: {self.contains}"
        return how

    def to_dict(self) -> dict[str, Any]:
        # None, not NaN, where there was no backtest: saved pipelines are strict JSON.
        return {"level": self.level,
                "extrapolation": [float(q) if np.isfinite(q) else None for q in self.extrapolation],
                "distance_factor": self.distance_factor if np.isfinite(self.distance_factor) else None,
                "noise": self.noise if np.isfinite(self.noise) else None,
                "n_boot": self.n_boot, "n_boot_failed": self.n_boot_failed, "method": self.method,
                "contains": self.contains,
                "size_law": None if self.size_law is None else self.size_law.tolist(),
                "step_law": None if self.step_law is None else self.step_law.tolist(),
                "lower": self.lower.tolist(), "upper": self.upper.tolist(), "boot_sigma": self.boot_sigma.tolist(),
                # What at_scale needs (a saved pipeline's intervals at another scale; the refits' scale models are
                # in the saved file's state, too large for this summary).
                "residuals": None if self.residuals is None else
                [[float(v) if np.isfinite(v) else None for v in row] for row in self.residuals],
                "backtest_distance": self.backtest_distance if np.isfinite(self.backtest_distance) else None,
                "edge": [float(v) for v in self.edge] if np.all(np.isfinite(self.edge)) else None}


def build_intervals(center: np.ndarray, mixtures: np.ndarray, residuals: np.ndarray | None, distance_factor: float,
                    boot: list[Any], failed: list[str], level: float,
                    noise: float = float("nan"), size_law: SizeLawSpread | None = None,
                    step_law: SizeLawSpread | None = None, backtest_distance: float = float("nan"),
                    edge: tuple[float, float] = (float("nan"), float("nan")),
                    names: Sequence[str] | None = None) -> PredictionIntervals:
    """Combine the backtest residuals, shape (n,) or (n, n_columns), and the jackknife refits (results with
    ``mixing_law``/``predict_kwargs``) into intervals of ``center`` (n_mixtures, n_targets).

    A distance factor that is not finite (the backtest extrapolated over no distance) leaves the residuals out:
    the extrapolation error is then NOT in the intervals, which the method says and a :class:`MixlawWarning`
    repeats. Residual columns match the targets one to one (each target's interval from its own residuals), or there is
    one column for all of them; otherwise they are pooled into one. One column for several targets gives every
    target the same extrapolation width: the method says so and a :class:`MixlawWarning` is raised
    (:func:`fit_pipeline` passes each eval's own residuals, also when the backtest scored a weighted total).

    ``size_law`` (:func:`~.law_spread.size_law_spread`, :func:`~.law_spread.final_size_law_spread`) and ``step_law``
    (:func:`~.law_spread.step_law_spread`, :func:`~.law_spread.step_law_spread_at_size`) are used when there are no
    residuals (the sizes-only pipeline with 3 sizes, the steps-only one with curves of 3 checkpoints, the multi-scale
    one with both): the size law's prediction error joins the jackknife in quadrature, the step law's joins that as a
    maximum (:func:`relative_half_width`), and the method says which. A step term passed as ``size_law`` (its ``law``
    "step...") is taken as ``step_law``.

    ``backtest_distance`` and ``edge`` (:class:`PredictionIntervals`) and the refits' ``scales`` are kept for
    :meth:`PredictionIntervals.at_scale`, the same rule at another scale. ``names`` (one per target) label the
    per-target extrapolation errors in the method line."""
    if size_law is not None and size_law.law.startswith("step") and step_law is None:
        size_law, step_law = None, size_law
    n_t = center.shape[1]
    R = None if residuals is None or not np.size(residuals) else np.asarray(residuals, dtype=np.float64)
    shared, unscaled = "", ""
    if R is not None and not np.isfinite(distance_factor):
        why = "the backtest extrapolated over no distance" if distance_factor == np.inf else "unknown"
        unscaled = (f"distance factor {distance_factor:g} ({why}): the backtest's residuals cannot be scaled to the "
                    "target, so the extrapolation error is NOT in these intervals")
        warnings.warn(f"prediction intervals: {unscaled}", MixlawWarning, stacklevel=user_stacklevel(2))
        R = None
    if R is not None:
        R = R.reshape(-1, 1) if R.ndim < 2 else R
        if R.shape[1] not in (1, n_t):
            shared = f"{R.shape[1]} residual columns for {n_t} targets, pooled"
            R = R.reshape(-1, 1)
        elif R.shape[1] == 1 and n_t > 1:
            shared = f"one residual column for {n_t} targets"
        if shared:
            shared += ": no per-target residuals, every target gets the same extrapolation width"
            warnings.warn(f"prediction intervals: {shared}", MixlawWarning, stacklevel=user_stacklevel(2))
        q = np.broadcast_to(extrapolation_half_width(R, distance_factor, level, noise), (n_t,)).copy()
    else:
        q = np.full(n_t, np.nan)
    laws = [(b.mixing_law, b.predict_kwargs) for b in boot]
    parts = []
    has_bt = R is not None and bool(np.isfinite(q).any())
    # The size and step laws' prediction errors stand in for the extrapolation error only where no residuals can.
    use_size = (size_law is not None or step_law is not None) and not has_bt and not unscaled
    if has_bt:
        assert R is not None
        n = int(np.isfinite(R).sum(axis=0).min())
        small = (n + 1) * level >= n
        each = R.shape[1] > 1
        # Named: with 22 eval sets, 22 bare percentages said nothing of which eval set had which.
        label = list(names) if names is not None and len(names) == n_t else None
        shown = (", ".join(f"{k} {v:.2%}" for k, v in zip(label, q, strict=True)) if each and label
                 else " / ".join(f"{v:.2%}" for v in (q if each else q[:1])))
        if each and len(q) > NAMED_EVALS and np.isfinite(q).any():
            # One line still: 110 eval sets (Olmix's DCLM) made it ~2000 characters; each one is in the JSON.
            lo, hi = int(np.nanargmin(q)), int(np.nanargmax(q))
            ends = [f"{label[i]} {q[i]:.2%}" if label else f"{q[i]:.2%}" for i in (lo, hi)]
            shown = (f"{ends[0]} to {ends[1]}, median {np.nanmedian(q):.2%} over {len(q)} targets (each in the "
                     "JSON's intervals.extrapolation)")
        parts.append(f"extrapolation error {shown}{' (per target)' if each else ''}: conformal quantile of {n} "
                     f"backtest residual(s){' each' if each else ''}"
                     + (" (too few for this level: their max)" if small else "")
                     + f", their mean x distance factor {distance_factor:.3g}, their scatter beyond the checkpoint "
                     + (f"noise {noise:.2%}" if np.isfinite(noise) else "noise (unknown: all of it)") + " too")
        if shared:
            parts.append(shared)
        contains = "backtest extrapolation error (conformal), max with the jackknife"
    elif use_size:
        contains = no_backtest_label(size_law, step_law)
        if size_law is not None and step_law is not None:
            parts.append(f"{contains}: the larger of (a) {size_law.body(len(laws), step_too=True)} and (b) "
                         f"{step_law.body(len(laws))}")
        else:
            only = size_law if size_law is not None else step_law
            assert only is not None
            parts.append(only.describe(len(laws)))
    else:
        parts.append(unscaled or "jackknife alone (no backtest residuals): the extrapolation error is NOT in these "
                     "intervals")
        contains = ("jackknife alone (" + ("backtest residuals not scalable" if unscaled else "no backtest")
                    + "): no extrapolation error")
    if not use_size:
        parts.append(f"max with the jackknife over mixtures: {len(laws)} refits"
                     + (f" ({len(failed)} failed, e.g. {failed[0]})" if failed else ""))
    elif failed:
        parts.append(f"{len(failed)} jackknife refit(s) failed, e.g. {failed[0]}")
    out = PredictionIntervals(level, center.copy(), center.copy(), q, distance_factor, np.zeros_like(center),
                              len(laws), len(failed), "; ".join(parts), laws, n_mixtures=len(mixtures),
                              noise=float(noise),
                              size_law=size_law.half_width if use_size and size_law is not None else None,
                              mixtures=np.asarray(mixtures, dtype=np.float64), contains=contains,
                              step_law=step_law.half_width if use_size and step_law is not None else None,
                              residuals=R if has_bt else None, backtest_distance=float(backtest_distance),
                              edge=(float(edge[0]), float(edge[1])),
                              boot_scales=[b.scales for b in boot if getattr(b, "scales", None) is not None])
    out.boot_sigma = out.boot_spread(mixtures, center)
    h = out.half_width(out.boot_sigma, out.size_law, out.step_law)
    out.lower, out.upper = interval_bounds(center, h)
    return out


#: A relative half-width at or above this gets a warning: the lower bound is then at half the prediction or below
#: (clipped at 0 beyond 100 %), which says the interval is not a usable range for a loss.
WIDE_HALF_WIDTH = 0.5


def wide_bounds(center: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, tuple[int, int] | None]:
    """(mask of the intervals with a relative half-width of :data:`WIDE_HALF_WIDTH` or more, the widest one's
    (row, column) or None): the upper end is ``center (1 + h)``; the lower one is clipped at 0."""
    c = np.asarray(center, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(c > 0, np.asarray(upper, dtype=np.float64) / c - 1, 0.0)
    wide = np.isfinite(h) & (h >= WIDE_HALF_WIDTH)
    if not wide.any():
        return wide, None
    i, j = np.unravel_index(int(np.argmax(np.where(wide, h, -np.inf))), h.shape)
    return wide, (int(i), int(j))


def wide_line(center: np.ndarray, lower: np.ndarray, upper: np.ndarray, targets: Sequence[str],
              rows: Sequence[str]) -> tuple[str, tuple[int, int]] | None:
    """'prediction intervals: n of m interval(s) are wider than +/-50% of their prediction; the widest, <eval> of
    <row>, c [lo, hi]' and the widest one's (row, column), or None: ``rows`` names each row."""
    wide, at = wide_bounds(center, upper)
    if at is None:
        return None
    i, j = at
    return (f"prediction intervals: {int(wide.sum())} of {wide.size} interval(s) are wider than "
            f"+/-{WIDE_HALF_WIDTH:.0%} of their prediction; the widest, {targets[j]} of {rows[i]}, "
            f"{center[i, j]:.4g} [{lower[i, j]:.4g}, {upper[i, j]:.4g}]"), at


def wide_intervals_line(iv: PredictionIntervals, center: np.ndarray, targets: Sequence[str],
                        rows: Sequence[str] | None = None) -> str | None:
    """The warning for intervals with a relative half-width of :data:`WIDE_HALF_WIDTH` or more, naming the widest
    (mixture, eval) and what made it wide (the jackknife, the backtest's extrapolation error, or without a backtest
    the size or step law's prediction error: the largest part of :func:`relative_half_width`), else None.

    The jackknife part is each mixture's prediction when the mixing law is refitted without it: one mixture at a
    corner of the runs (a share of 0 where every other has more) can move 100 % or more. Measured on Ye et al.'s
    5Mix runs (27 mixtures, 70M-410M, 22 evals, 1B at 100k steps, nested ye-pow): the mixture with d4 = 0 got
    YoutubeSubtitles 1.91 [0.00, 4.63] (jackknife spread 111 %), with no word; on Dai & Zheng's SlimPajama cut to
    8 mixtures at 3 sizes, up to 167 %. ``rows`` names each mixture (:meth:`~.result.PipelineResult.mixture_rows`:
    its label and first run); without it, the rows of ``center`` by number."""
    rows = list(rows) if rows is not None else [f"row {i + 1}" for i in range(center.shape[0])]
    found = wide_line(center, iv.lower, iv.upper, targets, rows)
    if found is None:
        return None
    line, (i, j) = found
    jack = iv.z * float(np.nan_to_num(iv.boot_sigma[i, j]))
    q = float(iv.extrapolation[j]) if np.size(iv.extrapolation) > j and np.isfinite(iv.extrapolation[j]) else 0.0
    # Without a backtest the size or step law's prediction error stands in for the extrapolation error
    # (relative_half_width); a sizes-only pipeline whose 3 sizes made it wide was put down to the jackknife,
    # 'predicts it 0% away'.
    size = float(iv.size_law[i, j]) if iv.size_law is not None and iv.size_law.shape == center.shape else 0.0
    step = float(iv.step_law[i, j]) if iv.step_law is not None and iv.step_law.shape == center.shape else 0.0
    part = max((jack, 0), (size, 1), (step, 2), (q, 3))[1]
    law = "size" if part == 1 else "step"
    why = (f"the jackknife: the mixing law refitted without that mixture predicts it {iv.boot_sigma[i, j]:.0%} "
           "away (one standard deviation), so its prediction rests on its own runs and mixtures near it are "
           "poorly determined" if part == 0 else
           f"the {law} law's prediction error at the target ({max(size, step):.0%}; {iv.contains}): that mixture's "
           f"own {'sizes' if law == 'size' else 'checkpoints'} are too few or too noisy to extrapolate so far"
           if part in (1, 2) else
           f"the backtest's extrapolation error for {targets[j]} ({q:.0%} at the target's distance)")
    return f"{line}, from {why}"


def interval_bounds(center: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``center (1 -/+ h)`` with the lower bound kept at 0 or above: a loss is positive, and a relative half-width
    over 100 % (a backtest that missed by 131 %, times the distance factor) printed lo80 = -0.35 for a loss."""
    return center * np.maximum(1 - h, 0.0), center * (1 + h)


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
