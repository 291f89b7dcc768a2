"""AutoScale-style law: a shifted power law in the tokens of the matched domain.

.. math:: L_i(r, D) = \\big(r_i D + a_i\\big)^{-b_i} + c_i

References
----------
Kang et al., "AutoScale: Scale-Aware Data Mixing for Pre-Training LLMs", 2024, arXiv:2407.20177, §3
(the per-domain loss as a power law in the amount of that domain's data, with an offset for the data the
other domains contribute).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._validation import Interval, Options, Real, check_is_fitted
from ..errors import DataWarning, user_stacklevel
from ..fit import HUBER_DELTA, Param
from ._aggregate import (
    LOG_W_BOUNDS,
    POOLING_DEFAULT,
    RATE_BOUNDS,
    ExponentPoolingMixin,
    composition,
    log_w_start,
    shifted_power,
    shifted_power_log_w,
)
from .base import FitContext, PerTargetLaw, register
from .bimix import CONSTANT_SHARE_NOTE

#: Unit of D: tokens are divided by this (billions), so a_i and the shares live on the same O(1) scale.
TOKEN_UNIT = 1e9
#: Exponent range for b_i.
B_BOUNDS = (1e-3, 5.0)
#: Range of the offset a_i (in units of r_i D, i.e. billions of tokens, or of r_i without tokens).
A_BOUNDS = (1e-6, 1e3)
#: Start of the exponents of an implicit (aggregated) eval set, and of its offset relative to the median x.
IMPLICIT_B_INIT = 0.2
IMPLICIT_A_FRAC = 0.1


@register("autoscale")
class AutoScale(ExponentPoolingMixin, PerTargetLaw):
    """AutoScale-style shifted power law in the matched domain's training tokens.

    .. math:: L_i(r, D) = k_i\\,\\big(x_i + a_i\\big)^{-b_i} + c_i, \\qquad x_i = r_i D / 10^9

    Parameters
    ----------
    eval_map : dict of str to str, optional
        ``{eval set: training domain}`` for matches that names do not give. An eval set that is no training
        domain and is not mapped uses implicit aggregation (Notes).
    pooling : float or "cv", default=0.01
        As in :class:`~mixlaw.laws.BiMix`: partial pooling of an implicit eval set's log rates.
    loss, huber_delta, n_restarts, bounds, fixed, random_state
        As in :class:`~mixlaw.laws.YeExponential`.

    Attributes
    ----------
    params_ : Params
        ``<target>.log_k`` (log k_i), ``<target>.log_a`` (log a_i), ``<target>.b`` and ``<target>.c``.
    pooling_ : dict of str to float
        Pooling strength used per implicitly aggregated eval set (matched eval sets are not pooled).
    pooling_cv_ : dict of str to dict
        With ``pooling="cv"``: held-out mean |log error| of every strength tried, per implicit eval set.

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

    **Implicit aggregation** (eval sets that are no training domain; Ye et al.'s implicit domain aggregation):
    the eval loss is a mixture of every training domain's law, :math:`L_e = \\sum_k s_k L_k`, which with one offset
    per eval set is

    .. math:: L_e(r, D) = c_e + \\sum_k w_k\\,(x_k + a_e)^{-b_k}, \\qquad w_k = s_k k_k,
              \\quad c_e = \\sum_k s_k c_k,

    fitted as :math:`w_k (x_k + a_e)^{-b_k} = v_k \\exp(-c_k a_e \\log(1 + x_k/a_e))`
    (:func:`~mixlaw.laws._aggregate.shifted_power`, :math:`c_k = b_k / a_e`), with parameters ``<eval>.log_a``,
    ``<eval>.c``, ``<eval>.log_v_<domain>`` and ``<eval>.log_rate_<domain>`` (log rates partially pooled,
    ``pooling``); :meth:`composition` gives :math:`s = w / \\sum w` (:mod:`mixlaw.laws._aggregate`).

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
    # In the losses' unit (units.LossUnits._loss_unit): c, and k (matched) or v_k (implicit) in log; a, b and the rates
    # are in tokens and shares.
    loss_unit_params = {"c": 1}
    log_loss_unit_params = {"log_k": 1, "log_v_*": 1}
    _parameter_constraints = {**PerTargetLaw._parameter_constraints, "eval_map": [dict, None],
                              "pooling": [Interval(Real, 0, None, closed="left"), Options({"cv"})]}

    def __init__(self, *, eval_map: dict[str, str] | None = None, pooling: float | str = POOLING_DEFAULT,
                 loss: str = "huber",
                 huber_delta: float = HUBER_DELTA, n_restarts: int = 8,
                 bounds: dict[str, tuple[float, float]] | None = None, fixed: dict[str, float] | None = None,
                 random_state: int | np.random.Generator | None = 0) -> None:
        super().__init__(loss=loss, huber_delta=huber_delta, n_restarts=n_restarts, bounds=bounds, fixed=fixed,
                         random_state=random_state)
        self.eval_map, self.pooling = eval_map, pooling

    def _matched(self, i: int, ctx: FitContext) -> int | None:
        return self._target_domains(ctx.domains, ctx.targets)[i]

    def _x(self, W: np.ndarray, i: int | None, ctx: FitContext) -> np.ndarray:
        """Tokens of the matched domain (n,), or of every domain (n, M) when ``i`` is None."""
        r = W if i is None else W[:, self._matched(i, ctx)]
        # A law fitted without tokens keeps D = 1 even if tokens are passed to predict (same units as fitted).
        if ctx.tokens is None or self._d_range is None:
            return r
        scale = ctx.tokens / TOKEN_UNIT
        return r * (scale if r.ndim == 1 else scale[:, None])

    def _spec_implicit(self, W: np.ndarray, y: np.ndarray, ctx: FitContext) -> list[Param]:
        X = self._x(W, None, ctx)
        a0 = float(np.clip(IMPLICIT_A_FRAC * np.median(X[X > 0]) if np.any(X > 0) else 1.0, *A_BOUNDS))
        c0 = 0.5 * float(y.min())
        lr0 = float(np.log(IMPLICIT_B_INIT / a0))  # rate = b / a
        _, terms, _, _ = shifted_power(X, float(np.log(a0)), np.zeros(X.shape[1]), np.full(X.shape[1], lr0))
        lv0 = log_w_start(y - c0, terms.mean(axis=0))
        ps = [Param("log_a", np.log(a0), np.log(a0), *np.log(A_BOUNDS)), Param("c", c0, c0, 0.0, float(y.min()))]
        ps += [Param(f"log_v_{d}", float(v), float(v), *LOG_W_BOUNDS) for d, v in zip(ctx.domains, lv0, strict=True)]
        ps += [Param(f"log_rate_{d}", lr0, lr0, *RATE_BOUNDS) for d in ctx.domains]
        return ps

    def _model_implicit(self, W: np.ndarray, ctx: FitContext) -> Any:
        X = self._x(W, None, ctx)
        M = W.shape[1]

        def model(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            total, terms, d_off, d_rate = shifted_power(X, theta[0], theta[2:2 + M], theta[2 + M:])
            jac = np.empty((W.shape[0], theta.size))
            jac[:, 0] = d_off
            jac[:, 1] = 1.0
            jac[:, 2:2 + M] = terms
            jac[:, 2 + M:] = d_rate
            return theta[1] + total, jac

        return model

    def composition(self) -> dict[str, np.ndarray]:
        """Implied composition s (over ``domains_``, sums to 1) of each implicitly aggregated eval set."""
        check_is_fitted(self)
        M = len(self.domains_)
        ctx = FitContext(self.domains_, self.targets_)
        out = {}
        for i, t in enumerate(self.targets_):
            if self._matched(i, ctx) is None:
                v = self._values_for(t)
                out[t] = composition(shifted_power_log_w(v[0], v[2:2 + M], v[2 + M:]))
        return out

    def _spec_one(self, W: np.ndarray, y: np.ndarray, i: int, ctx: FitContext) -> list[Param]:
        if self._matched(i, ctx) is None:
            return self._spec_implicit(W, y, ctx)
        x = self._x(W, i, ctx)
        ly_min = float(y.min())
        if np.ptp(x) <= 1e-9 * max(1.0, float(np.max(x))):  # rounding of one share (0.2 renormalised in each run)
            # Nothing in the runs moves the domain's tokens: k, a, b and c trade off freely, and the winning start
            # decided every prediction at another share (as in BiMix). b at its floor and c at 0: k is the level.
            warnings.warn(f"law {self.key!r}: {ctx.domains[self._matched(i, ctx)]!r}, the training domain of eval "
                          f"set {ctx.targets[i]!r}, has the same share ({W[0, self._matched(i, ctx)]:g}) in every "
                          f"fitting run, so its effect is not identified: b is held at {B_BOUNDS[0]:g} and c at 0 "
                          "(one loss at any share)", DataWarning, stacklevel=user_stacklevel(5))
            la0 = 0.0  # a = 1: (x + a)^-b stays finite and its log O(1) at any share
            b0 = B_BOUNDS[0]
            lk0 = float(np.mean(np.log(y)) + b0 * np.mean(np.log(x + 1.0)))
            return [Param("log_k", lk0, lk0, -30.0, 30.0),
                    Param("log_a", la0, la0, *np.log(A_BOUNDS), vary=False, note=CONSTANT_SHARE_NOTE),
                    Param("b", b0, b0, *B_BOUNDS, vary=False, note=CONSTANT_SHARE_NOTE),
                    Param("c", 0.0, 0.0, 0.0, ly_min, vary=False, note=CONSTANT_SHARE_NOTE)]
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
        if self._matched(i, ctx) is None:
            return self._model_implicit(W, ctx)
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
