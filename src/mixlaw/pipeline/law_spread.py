r"""Without a backtest, the size and step laws' own prediction error at the target stands in for the extrapolation
error: the no-backtest terms of :mod:`.intervals`.

**No backtest, sizes only.** Each run's loss at one step and 3 model sizes (the sizes-only pipeline): holding out
the largest size leaves 2, too few for the size law, so no residuals measure the extrapolation error, and the
jackknife alone held 52 of mixlaw's 108 trainer-run losses. Its missing part is measured on the table itself:
each mixture's own 3 points carry their noise 2-3x beyond the largest size, which leaving *another* mixture out
does not show. :func:`size_law_spread` gives the textbook prediction interval of the size law at N* for each
mixture (alpha shared, as the nested route fits it; residual variance :math:`\hat\sigma^2` of that fit, so a
misfit that differs between mixtures widens it; the target run's own noise in the "1"),
:math:`h_{size} = t_\nu \hat\sigma \sqrt{1 + h_*}`, and it joins the jackknife (alpha's and the mixing law's
share) in quadrature: :math:`h = \sqrt{(z_\ell \sigma_b)^2 + h_{size}^2}`, said by
:attr:`~.intervals.PredictionIntervals.contains` ("jackknife + size-law prediction sd (no backtest: 3 sizes)"). It
cannot hold a shape error common to every mixture (a bend in N that one alpha absorbs): 3 sizes do not show one. Chosen
with ``bench/interval_sizes_only.py`` (the worlds of ``bench/pipeline_selection.py`` read at their last step, 3
fitted sizes, target 2-3x the largest; in half of them a bend in N the size law does not model) on seed block 1,
among the spread of the auto candidates that can be fitted (half their range, z x their std, or their largest
distance from the prediction, in quadrature with the jackknife), the range of the predictions over the alphas
inside an 80 % likelihood-ratio bound, and this; verified on blocks 0, 2 and 3. Coverage / mean half-width,
blocks 1 / 0 / 2 / 3: jackknife alone 59 / 63 / 62 / 68 % (2.0 / 2.0 / 2.3 / 2.4 %); candidates' largest
deviation 70 / 74 / 72 / 76 %; alpha profile 74 / 76 / 72 / 78 %; this rule 82 / 85 / 81 / 85 % (2.9 / 2.8 / 3.1
/ 3.3 %), each family 74-90 %; on the trainer
runs (6 cuts of v3 and v3_12m, ``bench/pipeline_sizes_only.py``) 76 of 108 (70 %; mean half-width 4.0 %, 2.9 %
before): 80 % of v3's, 61 % of v3_12m's. With a fourth size the backtest runs and the rule above applies.

**No backtest, steps only.** Its mirror image: one model size, curves of 3 checkpoints (a time cut would leave 2, too
few for the step law), where the jackknife alone covered 64 / 66 / 63 / 58 % (seed blocks 1 / 0 / 2 / 3).
:func:`step_law_spread` gives the same textbook interval of each mixture's step law at S* (beta shared, as the nested
route fits it by default), and it joins the jackknife as a **maximum**, :math:`h = \max(z_\ell \sigma_b, h_{step})`,
said by :attr:`~.intervals.PredictionIntervals.contains` ("max of the jackknife and the step-law prediction sd (no
backtest: 3 checkpoints)"). Not in quadrature, unlike the size law's: with one size the mixing law is fitted on the
per-curve extrapolations themselves, so a mixture's own noise carried to S* is in part in the jackknife's spread as well
(leaving a mixture out moves the mixing law's fit at the others): the sum over-covered. Chosen with
``bench/interval_steps_only.py --checkpoints 3 --jackknife 8`` (the worlds of ``bench/pipeline_selection.py`` at their
largest size, each curve thinned to its first, middle and last checkpoint, target 1-3x the last; half of them with a
late bend or per-mixture exponents) on seed block 1 among the jackknife alone, the step-law term alone, in quadrature
and as a maximum; verified on blocks 0, 2 and 3. Coverage / mean half-width, blocks 1 / 0 / 2 / 3: this rule 85 / 82 /
83 / 81 % (1.9 / 1.7 / 2.0 / 1.9 %; families 83-88 / 79-85 / 80-91 / 78-84 %); in quadrature 91 / 87 / 89 / 86 %
(families up to 93 / 89 / 96 / 89 %); the step-law term alone 78 / 74 / 79 / 73 %. On the trainer runs (each size of v3
and v3_12m alone, a third or half of each curve from 0.4 of it thinned to 3 checkpoints, predicting the last step) 186
of 288 against the jackknife's 182: their noise is small and the jackknife dominates; v3's curves flatten after their
first third, which 3 early checkpoints do not show (25 of 72 on its thirds).

**No backtest, 3 sizes and curves of 3 checkpoints** (the multi-scale pipeline with nothing to hold out): each
extrapolated part's own rule, the wider. The step part: :func:`step_law_spread` on the curves at the fitted
size nearest N* (:func:`step_law_spread_at_size`: the largest, or the target's own), max with the jackknife as
in the steps-only pipeline. The size part, for a target that is not a fitted size: the sizes-only term,
:func:`size_law_spread` on each curve's last checkpoint (:func:`final_size_law_spread`), in quadrature with the
jackknife. So :math:`h = \max(\sqrt{(z_\ell \sigma_b)^2 + h_{size}^2}, h_{step})` beyond the fitted sizes
("max of the jackknife + size-law prediction sd at the last checkpoints and the step-law prediction sd at N =
... (no backtest: 3 sizes, 3 checkpoints)") and the steps-only rule :math:`\max(z_\ell \sigma_b, h_{step})`
at a fitted size ("max of the jackknife and the step-law prediction sd at the target's fitted size N = ..."),
where the size law extrapolates nothing and its term at the last checkpoints held none of the step
extrapolation. Measured with ``bench/interval_calibration.py --fit-sizes 3 --checkpoints 3 --jackknife 8``
(every world without its largest size, each curve thinned to 3 checkpoints; ``--target-at-fitted-size``: the
target the largest fitted size at the world's target step, 1-3x the last checkpoint), rule chosen on seed block
1, checked on blocks 0 / 2 / 3, coverage (mean half-width):

- target beyond the fitted sizes: jackknife alone 74 / 68 / 73 / 67 %; this rule 83 / 78 / 85 / 79 % (3.75 /
  3.45 / 3.74 / 3.89 %), the size term alone (the rule before) the same within one loss a block; families 75-88
  / 67-90 / 83-86 / 66-89 %. Adding the step law's term in quadrature over-covers (93-95 % in one family of
  blocks 1 / 2 / 3).
- target at a fitted size: jackknife alone 67 / 64 / 72 / 64 %; this rule 89 / 83 / 89 / 85 % (1.89 / 1.74 /
  1.96 / 2.12 %; families 83-92 / 78-87 / 86-90 / 82-90 %); the size term at the last checkpoints (before: the
  checkpoints' noise at N*, the same at any S*) 88 / 85 / 89 / 88 % (1.99 / 1.88 / 2.14 / 2.21 %), on these
  worlds mostly because their 0.3-1 % noise dominates the error; the size rule's max with the step term 91 /
  89 / 91 / 91 %. On mixlaw's trainer runs (``--runs``: v3 and v3_12m at their 3 largest sizes, 3 early
  checkpoints; scored, not used to choose) 45 of 72, the jackknife's (their checkpoints are nearly noiseless),
  against 51 for the rule before, whose size term also held the size law's misfit across the 3 sizes.

The families at 66-67 % beyond the fitted sizes (joint on block 0, per-mixture + alpha drift on block 3) miss
together: a world's entries share one signed error (a size exponent fitted on 3 sizes of noisy extrapolated
curves, or one that drifts with the step), which no per-mixture term shows; a world-level term (the other auto
candidates' distance from the chosen one) lifted them to 71-81 % but over-covered another family (93-95 %), and
was not adopted. With 3 sizes and longer curves the
backtest's time part runs, and its rule (f carries the size distance) already covers 79 / 94 / 90 / 84 %: a
size-law term there over-covers (86-98 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.stats import t as student_t

from ..scaling import EXPONENT_BOUNDS
from .grouping import _mixture_ids

#: Exponents the size-law profile searches (:func:`size_law_spread`): the bounds of the pipeline's own size law.
_PROFILE_GRID = np.geomspace(*EXPONENT_BOUNDS, 200)


@dataclass
class SizeLawSpread:
    r"""The size law's prediction error at N* from each mixture's own points (:func:`size_law_spread`).

    Attributes
    ----------
    half_width : ndarray of shape (n_mixtures, n_targets)
        :math:`t_{\nu} \hat\sigma_k \sqrt{1 + h_{*jk}}`, relative to the prediction.
    sigma : ndarray of shape (n_targets,)
        :math:`\hat\sigma_k`, the residual sd of the shared-alpha fit (lack of fit included).
    df : ndarray of shape (n_targets,)
        Its degrees of freedom :math:`\nu_k`.
    alpha : ndarray of shape (n_targets,)
        The profiled exponent.
    n_sizes : int
        Model sizes in the table (for the step law, :func:`step_law_spread`: the checkpoints of a curve).
    law : str
        "size" (:func:`size_law_spread`, in quadrature with the jackknife), "size-last" (the same on each curve's
        last checkpoint: :func:`final_size_law_spread`), "step" (:func:`step_law_spread`, max with it) or
        "step-at-size" (the same on the curves at one fitted size of a multi-scale table, the target's:
        :func:`step_law_spread_at_size`) or "step-nearest" (the same at the fitted size nearest a target that is
        not one of them; alone only where the size law's term cannot be fitted, e.g. 2 sizes).
    at_size : float
        For "step-at-size" / "step-nearest": the fitted model size whose curves it was read on (nan otherwise).
    """

    half_width: np.ndarray
    sigma: np.ndarray
    df: np.ndarray
    alpha: np.ndarray
    n_sizes: int
    law: str = "size"
    at_size: float = float("nan")

    @property
    def label(self) -> str:
        if self.law == "step":
            return f"max of the jackknife and the step-law prediction sd (no backtest: {self.n_sizes} checkpoints)"
        if self.law == "step-at-size":
            return (f"max of the jackknife and the step-law prediction sd at the target's fitted size N = "
                    f"{self.at_size:g} (no backtest: short curves, {self.n_sizes} checkpoints)")
        if self.law == "step-nearest":
            return (f"max of the jackknife and the step-law prediction sd at N = {self.at_size:g} (no backtest: short "
                    f"curves, {self.n_sizes} checkpoints): NOT the size extrapolation beyond it")
        if self.law == "size-last":
            return (f"jackknife + size-law prediction sd at the last checkpoints (no backtest: {self.n_sizes} sizes, "
                    "short curves)")
        return f"jackknife + size-law prediction sd (no backtest: {self.n_sizes} sizes)"

    def describe(self, n_refits: int) -> str:
        return f"{self.label}: {self.body(n_refits)}"

    def body(self, n_refits: int, step_too: bool = False) -> str:
        """What the term holds and how it joins the jackknife over ``n_refits`` refits (``step_too``: a size term
        beside a step term, which holds the step law's error beyond the last checkpoint)."""
        sd = " / ".join(f"{v:.2%}" for v in self.sigma)
        nu = " / ".join(f"{int(v)}" for v in self.df)
        if self.law.startswith("step"):
            at = "" if self.law == "step" else f" at N = {self.at_size:g}"
            return (f"the step law's prediction error at S* from each mixture's own checkpoints{at} (residual sd "
                    f"{sd} of the fit with beta shared per eval, its lack of fit included; t quantile of {nu} df) "
                    f"and the target run's own noise, max with the jackknife over mixtures ({n_refits} refits); "
                    f"NOT a shape error common to every curve (a late bend), which {self.n_sizes} checkpoints "
                    "cannot show")
        return (f"the size law's prediction error at N* from each mixture's own points (residual sd {sd} of the fit "
                f"with alpha shared per eval, its lack of fit included; t quantile of {nu} df) and the target run's "
                f"own noise, in quadrature with the jackknife over mixtures ({n_refits} refits); NOT a shape error "
                f"common to every mixture, which {self.n_sizes} sizes cannot show"
                + ("" if self.law != "size-last" else "; read at each curve's last checkpoint" + (
                    "" if step_too else ": NOT the step law's error beyond it")))


def no_backtest_label(size_law: SizeLawSpread | None, step_law: SizeLawSpread | None) -> str:
    """What a no-backtest interval holds, in a few words (:attr:`~.intervals.PredictionIntervals.contains`): one term's
    :attr:`SizeLawSpread.label`, or, with both, the rule that joins them (:func:`~.intervals.relative_half_width`)."""
    if size_law is None or step_law is None:
        only = size_law if step_law is None else step_law
        return "" if only is None else only.label
    at = "" if step_law.law == "step" else f" at N = {step_law.at_size:g}"
    return (f"max of the jackknife + size-law prediction sd at the last checkpoints and the step-law prediction sd"
            f"{at} (no backtest: {size_law.n_sizes} sizes, {step_law.n_sizes} checkpoints)")


def _size_fit(a: float, lx: np.ndarray, y: np.ndarray, w2: np.ndarray
              ) -> tuple[float, np.ndarray, np.ndarray]:
    """Weighted least squares of ``y = E + A x``, x = expm1(-a lx) / a, per row (mixture; padded with w2 = 0):
    (total weighted SSR, (E, A) of shape (2, G), (X^T W X)^-1 of shape (2, 2, G))."""
    x = np.expm1(-a * lx) / a
    s00, s01, s11 = w2.sum(axis=1), (w2 * x).sum(axis=1), (w2 * x * x).sum(axis=1)
    t0, t1 = (w2 * y).sum(axis=1), (w2 * x * y).sum(axis=1)
    det = s00 * s11 - s01 ** 2
    E, A = (s11 * t0 - s01 * t1) / det, (s00 * t1 - s01 * t0) / det
    ssr = float(np.sum(w2 * (y - E[:, None] - A[:, None] * x) ** 2))
    return ssr, np.array([E, A]), np.array([[s11, -s01], [-s01, s00]]) / det


def size_law_spread(table: Any, names: list[str], target_params: float, mixtures: np.ndarray,
                    level: float) -> SizeLawSpread | None:
    r"""The size law's prediction error at the target size, per mixture and eval: the sizes-only pipeline's
    interval term when it has no backtest (3 sizes: holding out the largest leaves 2).

    For each eval k the size law :math:`L = E_j + A_j x(N)`, :math:`x = ((N/N_0)^{-\alpha} - 1)/\alpha` (Ye's
    :math:`E + A/N^{\alpha}`, reparametrised so that a small alpha stays well conditioned), is fitted to the
    table's rows by relative least squares (weights :math:`1/y^2`), alpha shared by the mixtures and profiled over
    the pipeline's exponent bounds, :math:`E_j, A_j` per mixture (the nested route's shared-alpha size law, without
    its bounds on E and A). For a fixed alpha this is a linear regression per mixture, whose prediction at
    :math:`x_*` has the textbook prediction interval (Seber & Lee 2003, Linear Regression Analysis, §5.3):
    :math:`\hat y_* \pm t_{\nu}\, \hat\sigma_k \hat y_* \sqrt{1 + h_*}`, with
    :math:`h_* = v_*^T (X^T W X)^{-1} v_* / \hat y_*^2`, :math:`v_* = (1, x_*)`: the "1" is the target run's own
    noise, :math:`h_*` the fitted points' noise carried 2-3x beyond them, which the jackknife over mixtures
    does not see (leaving another mixture out leaves this mixture's own fit alone but for alpha).
    :math:`\hat\sigma_k^2 = S_{min}/\nu`, :math:`\nu = \sum_j (n_j - 2) - 1`, is the residual variance of the
    shared-alpha fit, so a misfit that differs between mixtures (each mixture its own exponent, a mixture effect
    that drifts with N) widens it; alpha's own uncertainty is left to the jackknife, which refits it without each
    mixture. What it cannot hold is a shape error common to every mixture (a bend in N that one alpha absorbs):
    no data at 3 sizes show it.

    Returns None when there are no degrees of freedom (every mixture at 2 sizes or fewer). Mixtures of
    ``mixtures`` without 2 sizes in the table get their eval's largest half-width."""
    return _law_spread(np.asarray(table.model_params, dtype=np.float64), table, names, target_params, mixtures,
                       level, "size")


def final_size_law_spread(table: Any, names: list[str], target_params: float, mixtures: np.ndarray, level: float,
                          axis: str = "step") -> SizeLawSpread | None:
    """:func:`size_law_spread` on each curve's last checkpoint (one row per mixture and size): the multi-scale
    pipeline's interval term when it has no backtest at all (3 sizes and curves of 3 checkpoints) and the target
    is not at a fitted size, in quadrature with the jackknife as in the sizes-only pipeline. It holds the size
    part of the extrapolation (each mixture's own points carried to N*), not the step part beyond the last
    checkpoint: that is :func:`step_law_spread_at_size`'s, which joins it as a maximum (module docstring)."""
    T = np.asarray(table.steps if axis == "step" else table.tokens, dtype=np.float64)
    N = np.asarray(table.model_params, dtype=np.float64)
    _, inv = _mixture_ids(table.weights)
    last = pd.Series(T).groupby([inv, N]).transform("max").to_numpy()
    sp = size_law_spread(table.subset(T == last), names, target_params, mixtures, level)
    if sp is not None:
        sp.law = "size-last"
    return sp


def step_law_spread(table: Any, names: list[str], target_time: float, mixtures: np.ndarray, level: float,
                    axis: str = "step", fit_from: float = 0.0) -> SizeLawSpread | None:
    r"""The step law's prediction error at the target step, per mixture and eval: the steps-only pipeline's
    interval term when it has no backtest (curves of 3 checkpoints: a time cut would leave 2).

    :func:`size_law_spread` with the step law :math:`L = E_j + B_j x(S)` in place of the size law (the same form,
    :math:`E + B/S^{\beta}`), fitted to each mixture's curve from ``fit_from`` x its last checkpoint (the
    pipeline's own window), beta shared by the mixtures as the nested route fits it by default: the prediction
    interval :math:`t_{\nu} \hat\sigma_k \sqrt{1 + h_*}` at :math:`S_*` (tokens with ``axis="tokens"``). The
    table is the steps-only pipeline's: one model size, one curve per mixture. It joins the jackknife as a
    maximum, not in quadrature (:func:`~.intervals.relative_half_width`; the choice is in the module docstring). A shape
    error common to every curve (a late bend that one beta absorbs) is not in it: 3 checkpoints do not show one.

    Returns None when there are no degrees of freedom (every curve at 2 checkpoints or fewer)."""
    T = np.asarray(table.steps if axis == "step" else table.tokens, dtype=np.float64)
    _, inv = _mixture_ids(table.weights)
    last = pd.Series(T).groupby(inv).transform("max").to_numpy()  # each row's curve's last checkpoint
    keep = T >= fit_from * last - 1e-9
    return _law_spread(np.where(keep, T, np.nan), table, names, target_time, mixtures, level, "step")


def step_law_spread_at_size(table: Any, names: list[str], target_params: float, target_time: float,
                            mixtures: np.ndarray, level: float, axis: str = "step", fit_from: float = 0.0
                            ) -> SizeLawSpread | None:
    """:func:`step_law_spread` on the curves at the fitted size nearest the target (in log N; the largest for a
    target beyond them, the target's own when it is a fitted size): the step part of the multi-scale pipeline's
    interval when it has no backtest at all (3 sizes and curves of 3 checkpoints). It joins the jackknife (and,
    for a target beyond the fitted sizes, the jackknife + :func:`final_size_law_spread` in quadrature) as a
    maximum, as the steps-only pipeline's term does; at a fitted size it is the steps-only pipeline's rule on that
    size's curves (module docstring). Its ``law`` says which: "step-at-size" (the target's own size) or
    "step-nearest" (the size extrapolation beyond it is not in it). Mixtures without a curve at that size get
    their eval's largest half-width; None without degrees of freedom."""
    N = np.asarray(table.model_params, dtype=np.float64)
    sizes = np.unique(N[np.isfinite(N) & (N > 0)])
    if not sizes.size or not (np.isfinite(target_params) and target_params > 0):
        return None
    at = float(sizes[np.argmin(np.abs(np.log(sizes / float(target_params))))])
    sp = step_law_spread(table.subset(N == at), names, target_time, mixtures, level, axis, fit_from)
    if sp is not None:
        sp.law = "step-at-size" if np.isclose(at, float(target_params), rtol=1e-9) else "step-nearest"
        sp.at_size = at
    return sp


def _law_spread(N: np.ndarray, table: Any, names: list[str], target_params: float, mixtures: np.ndarray,
                level: float, law: str) -> SizeLawSpread | None:
    """:func:`size_law_spread` / :func:`step_law_spread` on the scale values ``N`` (nan: a row left out)."""
    Y = np.asarray(table.losses(names), dtype=np.float64)
    uniq, inv = _mixture_ids(table.weights)
    row_of = {tuple(w): i for i, w in enumerate(uniq)}
    want = np.array([row_of.get(tuple(w), -1) for w in np.round(np.asarray(mixtures, dtype=np.float64), 9)])
    pos = np.isfinite(N) & (N > 0)
    N0 = float(np.exp(np.mean(np.log(N[pos])))) if np.any(pos) else 1.0
    K = len(names)
    out = np.full((len(mixtures), K), np.nan)
    sig, dfs, alphas = np.full(K, np.nan), np.zeros(K), np.full(K, np.nan)
    most = 0  # the most points of one mixture's curve (the step law's "checkpoints")
    for k in range(K):
        groups = [np.flatnonzero((inv == g) & np.isfinite(Y[:, k]) & np.isfinite(N) & (N > 0) & (Y[:, k] > 0))
                  for g in range(len(uniq))]
        fitted = [g for g, rows in enumerate(groups) if np.unique(N[rows]).size >= 2]
        df = sum(groups[g].size - 2 for g in fitted) - 1
        if not fitted or df < 1:
            continue
        L = max(groups[g].size for g in fitted)
        most = max(most, L)
        lx = np.zeros((len(fitted), L))
        yy = np.ones((len(fitted), L))
        w2 = np.zeros((len(fitted), L))
        for i, g in enumerate(fitted):
            r = groups[g]
            lx[i, :r.size], yy[i, :r.size], w2[i, :r.size] = np.log(N[r] / N0), Y[r, k], 1.0 / Y[r, k] ** 2
        with np.errstate(all="ignore"):
            ssr = np.array([_size_fit(a, lx, yy, w2)[0] for a in _PROFILE_GRID])
            ssr[~np.isfinite(ssr)] = np.inf
            b = int(np.argmin(ssr))
            lo, hi = np.log(_PROFILE_GRID[max(b - 1, 0)]), np.log(_PROFILE_GRID[min(b + 1, _PROFILE_GRID.size - 1)])
            best = minimize_scalar(lambda la, d=(lx, yy, w2): _size_fit(float(np.exp(la)), *d)[0], bounds=(lo, hi),
                                   method="bounded")
            a = float(np.exp(best.x)) if best.success and best.fun <= ssr[b] else float(_PROFILE_GRID[b])
            s, (E, A), M = _size_fit(a, lx, yy, w2)
        xt = np.expm1(-a * np.log(target_params / N0)) / a
        pred = E + A * xt
        hstar = np.where(pred > 0, (M[0, 0] + 2 * xt * M[0, 1] + xt ** 2 * M[1, 1]) / pred ** 2, np.nan)
        sigma = float(np.sqrt(s / df))
        h = float(student_t.ppf(0.5 + level / 2, df)) * sigma * np.sqrt(1 + np.maximum(hstar, 0.0))
        col = np.full(len(uniq), np.nan)
        col[fitted] = h
        mine = np.where(want >= 0, col[np.maximum(want, 0)], np.nan)
        out[:, k] = np.where(np.isfinite(mine), mine, np.nanmax(h) if np.isfinite(h).any() else np.nan)
        sig[k], dfs[k], alphas[k] = sigma, df, a
    if not np.isfinite(out).any():
        return None
    return SizeLawSpread(np.nan_to_num(out, nan=float(np.nanmax(out))), sig, dfs, alphas,
                         int(np.unique(N[np.isfinite(N)]).size) if law == "size" else most, law)
