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

import numpy as np

from .._validation import Interval, Real
from ..fit import Param, Params
from .base import FitContext, MixingLaw, register


def least_squares(W: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Ridge least squares without intercept, shrinking every coefficient towards the mean of ``y``.

    Minimises ``mean((W b - y)^2) + alpha * sum_j (b_j - mean(y))^2``. Shrinking towards ``mean(y)`` rather
    than 0 is what the penalty means here: a domain that the runs barely contain is predicted to give the
    average loss, not a loss of 0.

    Returns
    -------
    coef : ndarray of shape (n_domains,)
    stderr : ndarray of shape (n_domains,)
        Sandwich standard errors ``s^2 A^-1 W^T W A^-1`` (``A = W^T W + n alpha I``); NaN where ``A`` is
        singular or there are no residual degrees of freedom. At alpha = 0 a domain that is 0 in every run has
        NaN and the others the errors of the fit without it (its column made ``A`` singular, which blanked every
        domain's error; the ridge pins it to ``mean(y)``, error 0). Its coefficient is ``mean(y)`` at any alpha.
    """
    n, m = W.shape
    ybar = float(y.mean())
    if alpha > 0:
        A = W.T @ W + n * alpha * np.eye(m)
        coef = np.linalg.solve(A, W.T @ y + n * alpha * ybar * np.ones(m))
    else:
        coef, *_ = np.linalg.lstsq(W, y, rcond=None)
        A = W.T @ W
        # A domain that is 0 in every run has no data: the minimum-norm solution gives it b = 0, a loss of 0 (the
        # log-linear law: 1) for training on it alone, which an optimiser of this law then chose. The ridge's
        # limit as alpha -> 0 (the mean of y) instead; every other coefficient is the same either way.
        coef[~np.any(W != 0, axis=0)] = ybar
    resid = W @ coef - y
    se = np.full(m, np.nan)
    on = np.any(W != 0, axis=0) if alpha == 0 else np.ones(m, dtype=bool)  # A: block-diagonal in on / off
    k = int(on.sum())
    A, Wo = A[np.ix_(on, on)], W[:, on]
    if n > k > 0 and np.linalg.cond(A) < 1e12:
        Ainv = np.linalg.inv(A)
        s2 = float(resid @ resid) / (n - k)
        se[on] = np.sqrt(np.clip(np.diag(Ainv @ (Wo.T @ Wo) @ Ainv) * s2, 0, None))
    return coef, se


class _LeastSquaresLaw(MixingLaw):
    """Shared code of the linear and log-linear baselines (``_log`` says which space)."""

    _log = False
    _parameter_constraints = {"alpha": [Interval(Real, 0, None, closed="left")], "random_state": ["random_state"]}

    def __init__(self, *, alpha: float = 0.0, random_state: int | np.random.Generator | None = 0) -> None:
        self.alpha, self.random_state = alpha, random_state

    def _fit(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext) -> None:
        plist = []
        Z = np.log(Y) if self._log else Y
        for i, t in enumerate(ctx.targets):
            coef, se = least_squares(W, Z[:, i], float(self.alpha))
            for j, d in enumerate(ctx.domains):
                plist.append(Param(f"{t}.b_{d}", float(coef[j]), float(coef[j]),
                                   stderr=float(se[j]) if np.isfinite(se[j]) else None))
        self.params_ = Params(plist)
        # Closed form: no optimiser runs to report.
        self.results_ = {}

    def coef(self) -> np.ndarray:
        """Fitted coefficients, shape (n_targets, n_domains)."""
        return self.params_.array().reshape(len(self.targets_), len(self.domains_))

    def _predict(self, W: np.ndarray, ctx: FitContext) -> np.ndarray:
        Z = W @ self.coef().T
        return np.exp(Z) if self._log else Z


@register("linear")
class Linear(_LeastSquaresLaw):
    """Linear regression of each eval loss on the mixture weights (closed-form least squares).

    .. math:: L_i(r) = \\sum_j b_{ij} r_j \\qquad (b_{i0} \\text{ absorbed: } \\textstyle\\sum_j r_j = 1)

    Parameters
    ----------
    alpha : float, default=0.0
        Ridge penalty ``alpha * sum_j (b_ij - mean(L_i))^2`` added to the mean squared error; a tiny value
        (1e-6) makes the fit unique when a domain is absent from every run.
    random_state : int, Generator or None, default=0
        Unused (the fit is closed form); accepted so every law takes the same arguments.

    Attributes
    ----------
    params_ : Params
        ``<target>.b_<domain>``: the loss predicted for training on that domain alone, with sandwich
        standard errors.

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


__all__ = ["Linear", "least_squares"]
