"""Linear regression of the loss on the mixture weights (a baseline), in closed form.

.. math:: L_i(r) = b_{i0} + \\sum_j b_{ij} r_j

Mixture weights sum to one, so the intercept is absorbed into the slopes (:math:`b_{i0} + \\sum_j b_{ij} r_j =
\\sum_j (b_{i0} + b_{ij}) r_j`): the law is fitted without an intercept and ``b_<domain>`` is the predicted loss
of training on that domain alone.

References
----------
Used as the linear baseline by Liu et al., "RegMix: Data Mixture as Regression for Language Model
Pre-training", ICLR 2025, arXiv:2407.01492 (§4, "Linear regression"), and, in log space, by Olmix
(:mod:`mixlaw.laws.loglinear`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import Interval, Options, Real, check_is_fitted
from ..data import distinct_rows
from ..errors import TooFewObservationsError
from ..fit import Param, Params
from .base import FitContext, MixingLaw, register

#: Ridge strengths ``alpha = "cv"`` tries besides 0, relative to the largest eigenvalue of ``W^T W / n`` (so that the
#: grid means the same shrinkage whatever the number of runs and domains): from barely any to ten times the data's
#: largest direction.
LOO_GRID = tuple(float(x) for x in np.logspace(-6, 1, 22))
#: Fewest runs ``alpha = "cv"`` chooses a strength from (leave-one-out of 2 runs fits 1 run).
MIN_LOO_RUNS = 3
#: A direction of W whose singular value is below this fraction of the largest is numerically absent, at alpha = 0
#: alike in the fit (:func:`least_squares`) and in the leave-one-out that scores it (:func:`loo_ridge`).
RANK_RCOND = 1e-6


def least_squares(W: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Ridge least squares without intercept, shrinking every coefficient towards the mean of ``y``.

    Minimises ``mean((W b - y)^2) + alpha * sum_j (b_j - mean(y))^2``. Shrinking towards ``mean(y)`` rather
    than 0 is what the penalty means here: a domain that the runs barely contain is predicted to give the
    average loss, not a loss of 0. At alpha = 0, the ridge's limit: ``mean(y)`` plus the least-norm solution for
    the deviation from it, over the directions of ``W`` above :data:`RANK_RCOND` of its largest singular value.

    Returns
    -------
    coef : ndarray of shape (n_domains,)
    stderr : ndarray of shape (n_domains,)
        Sandwich standard errors ``s^2 A^-1 W^T W A^-1`` (``A = W^T W + n alpha I``); NaN where ``A`` is
        singular or there are no residual degrees of freedom. A domain that is 0 in every run has NaN and the
        others the errors of the fit without it (at alpha = 0 its column made ``A`` singular, which blanked every
        domain's error). Its coefficient is ``mean(y)`` at any alpha: set by the penalty, not by data.
    """
    n, m = W.shape
    ybar = float(y.mean())
    if alpha > 0:
        A = W.T @ W + n * alpha * np.eye(m)
        coef = np.linalg.solve(A, W.T @ y + n * alpha * ybar * np.ones(m))
    else:
        # The ridge's limit as alpha -> 0: mean(y) plus the least-norm least-squares deviation from it. Where the runs
        # do not pin the coefficients (a domain 0 in every run; fewer distinct mixtures than domains, as with runs
        # repeated over seeds) lstsq(W, y)'s least-norm b shrank them towards 0, a loss of 0 (the log-linear law:
        # 1) for training on such a domain, which an optimiser of this law then chose; alpha="cv" picks 0 there.
        # With W of full column rank both are the one least-squares solution.
        # The directions RANK_RCOND cuts are those loo_ridge leaves out of alpha=0's score: lstsq's own cut-off
        # (1e-13 here) kept one at 6e-8 of the largest, two domains in a fixed ratio up to a 1e-7 jitter, and gave
        # them coefficients of +-1e4, which "cv" had chosen on the score of a fit without them.
        coef = ybar + np.linalg.lstsq(W, y - ybar * W.sum(axis=1), rcond=RANK_RCOND)[0]
        A = W.T @ W
    resid = W @ coef - y
    se = np.full(m, np.nan)
    # A is block-diagonal in on / off at any alpha (an all-zero column adds only n alpha to its own diagonal): the
    # off block's coefficient is mean(y) by the penalty alone, not measured, so its error stays NaN (a ridge gave 0).
    on = np.any(W != 0, axis=0)
    k = int(on.sum())
    A, Wo = A[np.ix_(on, on)], W[:, on]
    if n > k > 0 and np.linalg.cond(A) < 1e12:
        Ainv = np.linalg.inv(A)
        s2 = float(resid @ resid) / (n - k)
        se[on] = np.sqrt(np.clip(np.diag(Ainv @ (Wo.T @ Wo) @ Ainv) * s2, 0, None))
    return coef, se


def mixture_groups(X: np.ndarray) -> list[np.ndarray]:
    """Indices of the rows of ``X`` that repeat another row (a mixture run over several seeds, or drawn twice by a
    bootstrap), one array per repeated row of two or more, in the rows' content order. Rows are one mixture when
    equal to :data:`~mixlaw.data.ROW_DECIMALS` decimals (:func:`mixlaw.data.distinct_rows`), as in the
    cross-validation folds: compared exactly, seeds whose shares a script renormalised differed in the last bits
    and were left out one by one here (a copy left in predicting its twin) while the folds kept them together."""
    if len(X) < 2:
        return []
    _, inv = distinct_rows(X)
    counts = np.bincount(inv)
    return [np.flatnonzero(inv == k) for k in np.flatnonzero(counts > 1)]


def loo_residuals(U: np.ndarray, shrink: np.ndarray, resid: np.ndarray, groups: list[np.ndarray],
                  base: float = 0.0) -> np.ndarray | None:
    r"""Each run's residual predicted by the ridge refitted without its mixture, in closed form: for a run of its
    own :math:`r_i / (1 - H_{ii})`, for the runs ``g`` of one repeated mixture :math:`(I - H_{gg})^{-1} r_g` (so a
    copy left in does not predict its twin), with :math:`H = \mathrm{base} + U \operatorname{diag}(\mathrm{shrink})
    U^T` (``base``: 1/n with an unpenalised intercept). None where a run or mixture leaves no residual (the fit
    interpolates it)."""
    h = base + (U ** 2) @ shrink
    if np.any(h > 1 - 1e-9):
        return None
    out = resid / (1 - h)
    for g in groups:
        Ug = U[g]
        A = np.eye(len(g)) - base - (Ug * shrink) @ Ug.T
        if np.linalg.eigvalsh((A + A.T) / 2).min() < 1e-9:
            return None
        out[g] = np.linalg.solve(A, resid[g])
    return out


def loo_scan(U: np.ndarray, s2: np.ndarray, z: np.ndarray, groups: list[np.ndarray], lams: Sequence[float], *,
             base: float = 0.0, fixed_dof: float = 0.0) -> list[tuple[float, float]]:
    """For each ridge strength ``lams`` (added to the squared singular values ``s2`` of the thin SVD's ``U``), the
    mean squared leave-one-mixture-out residual of ``z`` (:func:`loo_residuals`; inf where a run keeps no residual
    or the fit no degree of freedom, tr H > n - 1) and tr H (``fixed_dof`` for unpenalised terms, an intercept's
    1, plus the shrunk directions'). Shared by :func:`loo_ridge` and loglinear-sat's ridge path."""
    n, Uz = len(z), U.T @ z
    out = []
    for lam in lams:
        shrink = s2 / (s2 + lam)
        dof = fixed_dof + float(shrink.sum())
        loo = loo_residuals(U, shrink, z - U @ (shrink * Uz), groups, base) if dof <= n - 1 else None
        out.append((float("inf") if loo is None else float(np.mean(loo ** 2)), dof))
    return out


def loo_ridge(W: np.ndarray, y: np.ndarray,
              grid: tuple[float, ...] = LOO_GRID) -> tuple[float, float, dict[float, float]]:
    r"""The ridge strength of :func:`least_squares` with the lowest leave-one-out error, in closed form.

    With :math:`z = y - \bar y` (the penalty shrinks towards :math:`\bar y`, and :math:`W \bar y 1 = \bar y`
    since the shares sum to 1), the fit is ridge regression of :math:`z` on :math:`W`; with the thin SVD
    :math:`W = U S V^T` its hat matrix is :math:`H = U \operatorname{diag}(s^2 / (s^2 + n\alpha)) U^T` and the
    leave-one-out residual of run i is :math:`(z_i - (Hz)_i) / (1 - H_{ii})` (the PRESS identity; :math:`\bar y`
    is kept at its full-data value). Runs of one mixture (seeds, or a bootstrap's copies) are left out together
    (:func:`loo_residuals`): left in, a copy predicts its twin, and the choice leans to too little shrinkage.
    Strengths: 0 and :data:`LOO_GRID` times the largest eigenvalue of
    :math:`W^T W / n`; a strength counts only where it leaves every run a residual (:math:`H_{ii} < 1`) and the fit
    a residual degree of freedom (:math:`\operatorname{tr} H \le n - 1`), so a table of fewer runs than domains
    gets a ridge, not an interpolation (0 counts only with more runs than independent mixtures).

    Returns
    -------
    alpha : float
        The strength with the lowest mean squared leave-one-out residual (the smallest of equals).
    dof : float
        Effective degrees of freedom at that strength, :math:`\operatorname{tr} H = \sum s^2 / (s^2 + n\alpha)`.
    scores : dict of float to float
        Mean squared leave-one-out residual of every strength tried (inf where it is not defined).
    """
    n = W.shape[0]
    z = y - y.mean()
    U, sv, _ = np.linalg.svd(W, full_matrices=False)
    s2 = sv ** 2
    rank = s2 > s2.max() * RANK_RCOND ** 2
    U, s2 = U[:, rank], s2[rank]
    alphas = (0.0, *(g * float(s2.max()) / n for g in grid))
    scan = loo_scan(U, s2, z, mixture_groups(W), [n * a for a in alphas])
    scores = {a: sc for a, (sc, _) in zip(alphas, scan, strict=True)}
    dofs = {a: dof for a, (_, dof) in zip(alphas, scan, strict=True)}
    best = min(scores, key=lambda a: (scores[a], a))
    return best, dofs[best], scores


class _LeastSquaresLaw(MixingLaw):
    """Shared code of the linear and log-linear baselines (``_log`` says which space)."""

    _log = False
    # least_squares' errors, not Gauss-Newton's (the report's header said so of every law)
    stderr_method = "ridge sandwich s² A⁻¹ WᵀW A⁻¹ of the losses"
    _parameter_constraints = {"alpha": [Interval(Real, 0, None, closed="left"), Options({"cv"})],
                              "random_state": ["random_state"]}

    def __init__(self, *, alpha: float | str = "cv", random_state: int | np.random.Generator | None = 0) -> None:
        self.alpha, self.random_state = alpha, random_state

    def _fit(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext) -> None:
        plist = []
        Z = np.log(Y) if self._log else Y
        self.alpha_: dict[str, float] = {}
        self.dof_: dict[str, float] = {}
        if self.alpha == "cv" and W.shape[0] < MIN_LOO_RUNS:
            raise TooFewObservationsError(
                f"law {self.key!r}: {W.shape[0]} run(s) are too few for alpha='cv', which chooses the ridge by "
                f"leave-one-out; need at least {MIN_LOO_RUNS} (or give alpha a number: alpha=0.0 / --law-option "
                "alpha=0)",
                n_obs=W.shape[0], n_params=MIN_LOO_RUNS - 1)
        for i, t in enumerate(ctx.targets):
            if self.alpha == "cv":
                self.alpha_[t], self.dof_[t], _ = loo_ridge(W, Z[:, i])
            else:
                self.alpha_[t] = float(self.alpha)
            coef, se = least_squares(W, Z[:, i], self.alpha_[t])
            for j, d in enumerate(ctx.domains):
                plist.append(Param(f"{t}.b_{d}", float(coef[j]), float(coef[j]),
                                   stderr=float(se[j]) if np.isfinite(se[j]) else None))
        self.params_ = Params(plist)
        # Closed form: no optimiser runs to report.
        self.results_ = {}

    def _get_state(self) -> dict[str, Any]:
        return {**super()._get_state(), "alpha": getattr(self, "alpha_", {}), "dof": getattr(self, "dof_", {})}

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self.alpha_ = {str(k): float(v) for k, v in (state.get("alpha") or {}).items()}
        self.dof_ = {str(k): float(v) for k, v in (state.get("dof") or {}).items()}

    def _extra_report_sections(self) -> list[tuple[str, str]]:
        if self.alpha != "cv":
            return []
        w = max(len(t) for t in self.alpha_)
        return [("Ridge strength by leave-one-out (alpha='cv'; effective degrees of freedom)",
                 "\n".join(f"    {t:<{w}}  alpha {a:.3g}  dof {self.dof_.get(t, float('nan')):.1f}"
                           for t, a in self.alpha_.items()))]

    def expected_param_names(self) -> list[str]:
        """The parameter names a fit of these domains and targets makes, in the vector's order:
        ``<target>.b_<domain>``. :meth:`coef` reads the vector by position, so a saved law is checked against it
        on load: a file whose ``domains`` or ``targets`` list was reordered loaded and predicted other mixtures'
        losses, or one eval's under another's name, without a word (hunt34c)."""
        check_is_fitted(self)
        return [f"{t}.b_{d}" for t in self.targets_ for d in self.domains_]

    def coef(self) -> np.ndarray:
        """Fitted coefficients, shape (n_targets, n_domains)."""
        check_is_fitted(self)
        return self.params_.array().reshape(len(self.targets_), len(self.domains_))

    def _predict(self, W: np.ndarray, ctx: FitContext) -> np.ndarray:
        Z = W @ self.coef().T
        return np.exp(Z) if self._log else Z


@register("linear")
class Linear(_LeastSquaresLaw):
    """Linear regression of each eval loss on the mixture weights: a ridge, its strength by leave-one-out per eval.

    .. math:: L_i(r) = \\sum_j b_{ij} r_j \\qquad (b_{i0} \\text{ absorbed: } \\textstyle\\sum_j r_j = 1)

    Parameters
    ----------
    alpha : float or "cv", default="cv"
        Ridge penalty ``alpha * sum_j (b_ij - mean(L_i))^2`` added to the mean squared error. ``"cv"``: per eval
        set, the strength with the lowest leave-one-out error, in closed form (:func:`loo_ridge`; 0 among them),
        which also fits a table of fewer runs than domains. ``0``: the plain least-squares baseline of RegMix's
        §4 (a tiny value, 1e-6, makes it unique when a domain is absent from every run). Measured 2026-12-06,
        mean Spearman over the 13 evals fitted on RegMix's train_1m, test_1m / 60m / 1B: 0.8333 / 0.8319 /
        0.7280 with "cv" against 0.8308 / 0.8293 / 0.7118 with 0 (log-linear: 0.8465 / 0.8447 / 0.7534 against
        0.8439 / 0.8421 / 0.7364).
    random_state : int, Generator or None, default=0
        Unused (the fit is closed form); accepted so every law takes the same arguments.

    Attributes
    ----------
    params_ : Params
        ``<target>.b_<domain>``: the loss predicted for training on that domain alone, with sandwich
        standard errors.
    alpha_ : dict of str to float
        The ridge strength used per eval set (``alpha``, or the leave-one-out choice).
    dof_ : dict of str to float
        With ``alpha="cv"``: the effective degrees of freedom per eval set (what the size check counts).

    Notes
    -----
    Symbols: r -> ``weights``, L_i -> ``losses[:, i]``, b_ij -> ``b_<domain j>``. The linear law cannot
    express diminishing returns, so it ranks mixtures near the fitted ones well and extrapolates poorly.

    References
    ----------
    Liu et al., "RegMix: Data Mixture as Regression for Language Model Pre-training", ICLR 2025,
    arXiv:2407.01492, §4 (linear regression baseline).

    Examples
    --------
    >>> import numpy as np
    >>> W = np.random.default_rng(0).dirichlet(np.ones(3), size=20)
    >>> law = Linear().fit(W, W @ np.array([3.0, 2.5, 4.0]))
    >>> np.round(law.coef(), 6).tolist()
    [[3.0, 2.5, 4.0]]
    """


__all__ = ["Linear", "least_squares", "loo_ridge", "loo_scan", "loo_residuals", "mixture_groups", "LOO_GRID"]
