"""AutoScale-style law: a shifted power law in the tokens of the matched domain.

.. math:: L_i(r, D) = \\big(r_i D + a_i\\big)^{-b_i} + c_i

References
----------
Kang et al., "AutoScale: Scale-Aware Data Mixing for Pre-Training LLMs", 2024, arXiv:2407.20177, §3
(the per-domain loss as a power law in the amount of that domain's data, with an offset for the data the
other domains contribute).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..fit import HUBER_DELTA, Param
from .base import FitContext, PerTargetLaw, register

#: Unit of D: tokens are divided by this (billions), so a_i and the shares live on the same O(1) scale.
TOKEN_UNIT = 1e9
#: Exponent range for b_i.
B_BOUNDS = (1e-3, 5.0)
#: Range of the offset a_i (in units of r_i D, i.e. billions of tokens, or of r_i without tokens).
A_BOUNDS = (1e-6, 1e3)


@register("autoscale")
class AutoScale(PerTargetLaw):
    """AutoScale-style shifted power law in the matched domain's training tokens.

    .. math:: L_i(r, D) = k_i\\,\\big(x_i + a_i\\big)^{-b_i} + c_i, \\qquad x_i = r_i D / 10^9

    Parameters
    ----------
    loss, huber_delta, n_restarts, bounds, fixed, random_state
        As in :class:`~mixlaw.laws.YeExponential`.

    Attributes
    ----------
    params_ : Params
        ``<target>.log_k`` (log k_i), ``<target>.log_a`` (log a_i), ``<target>.b`` and ``<target>.c``.

    Notes
    -----
    Symbol mapping: ``r_i`` is the weight of the training domain named like eval set ``i`` (matched
    targets); D is the run's training tokens in billions (``tokens / 1e9``; without tokens D = 1, so
    :math:`x_i = r_i`); :math:`a_i` is the effective amount of domain-i data that the *other* domains
    contribute (it keeps the law finite at :math:`r_i = 0`); :math:`c_i` is the irreducible loss.
    AutoScale writes the law without :math:`k_i`, which ties the scale of the power law to the unit of D;
    the free :math:`k_i` makes the fit independent of that unit. Fitted at one D (RegMix's 1M runs) the law
    is a function of :math:`r_i` alone, so a prediction at another D is an extrapolation in data size
    (an :class:`~mixlaw.errors.ExtrapolationWarning` says so).

    References
    ----------
    Kang et al., "AutoScale: Scale-Aware Data Mixing for Pre-Training LLMs", 2024, arXiv:2407.20177.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.random.default_rng(0).dirichlet(np.ones(3), size=60)
    >>> y = 0.8 * (W[:, 1] + 0.05) ** -0.4 + 2.0
    >>> law = AutoScale().fit(W, y, domains=["a", "b", "c"], targets=["b"])
    >>> bool(np.allclose(law.predict(W), y, rtol=1e-4))
    True
    """

    needs_matched_targets = True
    uses_tokens = "optional"

    def __init__(self, *, loss: str = "huber", huber_delta: float = HUBER_DELTA, n_restarts: int = 8,
                 bounds: dict[str, tuple[float, float]] | None = None, fixed: dict[str, float] | None = None,
                 random_state: int | np.random.Generator | None = 0) -> None:
        super().__init__(loss=loss, huber_delta=huber_delta, n_restarts=n_restarts, bounds=bounds, fixed=fixed,
                         random_state=random_state)

    def _x(self, W: np.ndarray, i: int, ctx: FitContext) -> np.ndarray:
        r = W[:, ctx.domains.index(ctx.targets[i])]
        # A law fitted without tokens keeps D = 1 even if tokens are passed to predict (same units as fitted).
        if ctx.tokens is None or self._d_range is None:
            return r
        return r * ctx.tokens / TOKEN_UNIT

    def _spec_one(self, W: np.ndarray, y: np.ndarray, i: int, ctx: FitContext) -> list[Param]:
        x = self._x(W, i, ctx)
        ly_min = float(y.min())
        # Data-driven start: on a grid of (a, c), log(L - c) = log k - b log(x + a) is linear least squares;
        # keep the pair with the smallest residual in loss units.
        scale = float(np.median(x[x > 0])) if np.any(x > 0) else 1.0
        best = None
        for a in scale * np.array([1e-3, 1e-2, 1e-1, 1.0]):
            for frac in (0.0, 0.5, 0.8, 0.95):
                c = frac * ly_min
                X = np.column_stack([np.ones_like(x), -np.log(x + a)])
                coef, *_ = np.linalg.lstsq(X, np.log(y - c), rcond=None)
                b = float(np.clip(coef[1], B_BOUNDS[0], B_BOUNDS[1]))
                pred = c + np.exp(coef[0] - b * np.log(x + a))
                sse = float(np.sum((np.log(pred) - np.log(y)) ** 2))
                if np.isfinite(sse) and (best is None or sse < best[0]):
                    best = (sse, a, c, float(coef[0]), b)
        _, a0, c0, lk0, b0 = best
        la0 = float(np.clip(np.log(a0), np.log(A_BOUNDS[0]), np.log(A_BOUNDS[1])))
        return [Param("log_k", lk0, lk0, -30.0, 30.0), Param("log_a", la0, la0, *np.log(A_BOUNDS)),
                Param("b", b0, b0, *B_BOUNDS), Param("c", c0, c0, 0.0, ly_min)]

    def _model_one(self, W: np.ndarray, i: int, ctx: FitContext) -> Any:
        x = self._x(W, i, ctx)

        def model(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            lk, la, b, c = theta
            a = np.exp(la)
            u = x + a
            p = np.exp(lk - b * np.log(u))  # k (x + a)^-b
            jac = np.empty((x.size, 4))
            jac[:, 0] = p
            jac[:, 1] = -b * a / u * p
            jac[:, 2] = -np.log(u) * p
            jac[:, 3] = 1.0
            return p + c, jac

        return model


__all__ = ["AutoScale"]
