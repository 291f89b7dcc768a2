"""Log-linear regression of the loss on the mixture weights (Olmix's baseline), in closed form.

.. math:: \\log L_i(r) = b_{i0} + \\sum_j b_{ij} r_j

References
----------
Chen et al., "Olmix: A Framework for Data Mixing Throughout LM Development", 2026, arXiv:2602.12237
(Allen Institute for AI; code github.com/allenai/olmix): log-linear regression of per-domain losses on the
mixture, :math:`L = \\exp(b_0 + \\sum_j b_j r_j)`.
"""

from __future__ import annotations

from .base import register
from .linear import _LeastSquaresLaw


@register("loglinear")
class LogLinear(_LeastSquaresLaw):
    """Log-linear regression of each eval loss on the mixture weights: a ridge on log L, strength by leave-one-out.

    .. math:: \\log L_i(r) = \\sum_j b_{ij} r_j \\qquad (b_{i0} \\text{ absorbed: } \\textstyle\\sum_j r_j = 1)

    The same form as Ye et al.'s exponential law with its constant :math:`c_i` set to 0, which makes the fit a
    linear least-squares problem.

    Parameters
    ----------
    alpha : float or "cv", default="cv"
        Ridge penalty ``alpha * sum_j (b_ij - mean(log L_i))^2`` added to the mean squared log residual.
        ``"cv"``: per eval set, the strength with the lowest leave-one-out error, in closed form
        (:func:`mixlaw.laws.linear.loo_ridge`; 0 among them), which also fits a table of fewer runs than domains;
        ``0``: Olmix's plain log-linear regression. 5-fold CV Spearman on Marin Delphi's 280 runs (39 domains),
        "cv" against 0, on the 9 metrics of ``bench/marin_delphi.py``: higher on 7 (up to +0.009, wikipedia_en
        0.8562 / 0.8471), lower by at most 0.0006 on 2 (table9_obj 0.7683 / 0.7689).
    random_state : int, Generator or None, default=0
        Unused (closed form); accepted so every law takes the same arguments.

    Attributes
    ----------
    params_ : Params
        ``<target>.b_<domain>``: log of the loss predicted for training on that domain alone.

    Notes
    -----
    Symbols: r -> ``weights``, L_i -> ``losses[:, i]``, b_ij -> ``b_<domain j>``; Olmix's intercept b_0 is
    ``b_ij - b_ij'`` away from any slope and so is not a separate parameter.

    References
    ----------
    Chen et al., "Olmix: A Framework for Data Mixing Throughout LM Development", 2026, arXiv:2602.12237
    (log-linear mixture regression; github.com/allenai/olmix).

    Examples
    --------
    >>> import numpy as np
    >>> W = np.random.default_rng(0).dirichlet(np.ones(3), size=20)
    >>> law = LogLinear().fit(W, np.exp(W @ np.array([1.1, 0.9, 1.3])))
    >>> np.round(law.coef(), 6).tolist()
    [[1.1, 0.9, 1.3]]
    """

    _log = True
    stderr_method = "ridge sandwich s² A⁻¹ WᵀW A⁻¹ of the log losses"


__all__ = ["LogLinear"]
