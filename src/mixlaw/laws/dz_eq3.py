"""Dai & Zheng's capacity competition plus noise reduction (their Eq. 3), and a zero-safe variant.

.. math::

    L_i(h, N, D) = c_i\\, x_i^*(h, N)^{-b_i} + A_i (D h_i)^{-a_i} + E_i
    \\qquad\\text{(dz-eq3)}

    L_i(h, N, D) = c_i\\, x_i^*(h, N)^{-b_i} + A_i (D h_i + d_i)^{-a_i} + E_i
    \\qquad\\text{(dz-eq3-safe)}

with ``x*`` the capacity-competition allocation of :mod:`mixlaw.laws.dz_eq1` and ``D`` the training tokens in
billions (1 when unknown).

References
----------
Dai & Zheng, "Explaining Data Mixing Scaling Laws", Eq. (3); reference code
github.com/meiqwq/Explaining-Data-Mixing-Scaling-Laws, utils/fitting_algos/law2.py (fits and scores only
entries with h_i > 0). The offset ``d_i`` of the safe form is ours: it is the data-constrained form
``(r_i D + a_i)^(-b_i)`` of AutoScale-style laws, i.e. ``d_i`` tokens of domain i's knowledge the model gets
from the other domains, so a domain absent from the mixture has a finite loss.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import metrics
from ..errors import ExtrapolationWarning
from ..fit import Param
from .base import FitContext, register
from .dz_eq1 import B_INIT, E_INIT_FRAC, _CapacityLaw

#: Bounds: log A in [-12, 6] and a in [0.01, 2] (a > 0: more tokens never hurt).
LOG_A_BOUNDS = (-12.0, 6.0)
A_EXP_BOUNDS = (0.01, 2.0)
A_EXP_INIT = 0.3
#: Share of the excess loss L - E given to the data term at the start.
DATA_SHARE_INIT = 0.2


class _DZNoise(_CapacityLaw):
    """Eq. 3 machinery; ``_safe`` switches the offset ``d_i`` on."""

    uses_tokens = "optional"
    _safe = False

    def _n_extra(self) -> int:
        return 3 if self._safe else 2

    def _tokens(self, n: int, ctx: FitContext) -> np.ndarray:
        """D in billions of tokens; 1 when the law was fitted without token counts."""
        if self._d_range is None or ctx.tokens is None:
            return np.ones(n)
        return ctx.tokens / 1e9

    def _full_spec(self, W: np.ndarray, Y: np.ndarray, S: np.ndarray, ctx: FitContext, b0: float = B_INIT,
                   e_frac: float = E_INIT_FRAC) -> list[Param]:
        ps = self._base_spec(W, Y, S, b0, e_frac)
        m = self._match()
        D = self._tokens(W.shape[0], ctx)
        E0 = np.array([p.init for p in ps if p.name.startswith("E_")])
        excess = np.median(Y - E0, axis=0)
        Dh = D[:, None] * W[:, m]
        d0 = 0.01 * float(np.median(D))
        base = np.array([np.median(v[v > 0]) if np.any(v > 0) else 1.0 for v in Dh.T]) + (d0 if self._safe else 0.0)
        # The data term starts with DATA_SHARE_INIT of the excess at a typical token count; c gives up that share.
        la0 = np.log(DATA_SHARE_INIT * excess) + A_EXP_INIT * np.log(base)
        la0 = np.clip(la0, LOG_A_BOUNDS[0] + 0.5, LOG_A_BOUNDS[1] - 0.5)
        for j in m:
            p = ps[j]
            v = p.init + np.log(1 - DATA_SHARE_INIT)
            ps[j] = Param(p.name, v, v, p.min, p.max)
        ps += [Param(f"log_A_{t}", float(la0[i]), float(la0[i]), *LOG_A_BOUNDS) for i, t in enumerate(self.targets_)]
        ps += [Param(f"a_{t}", A_EXP_INIT, A_EXP_INIT, *A_EXP_BOUNDS) for t in self.targets_]
        if self._safe:
            ld0 = float(np.log(d0))
            lo, hi = float(np.log(1e-6 * np.median(D))), float(np.log(np.median(D)))
            ps += [Param(f"log_d_{t}", ld0, ld0, lo, hi) for t in self.targets_]
        return ps

    def _obs_mask(self, W: np.ndarray, ctx: FitContext) -> np.ndarray:
        if self._safe:
            return super()._obs_mask(W, ctx)
        # (D h_i)^(-a_i) diverges at h_i = 0: DZ fit (and score) Eq. 3 on entries with h_i > 0 only.
        return W[:, self._match()] > 0

    def _eval(self, W: np.ndarray, theta: np.ndarray, S: np.ndarray, ctx: FitContext, jac: bool,
              cache: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        M, K = W.shape[1], len(self.targets_)
        pred1, J1 = super()._eval(W, theta, S, ctx, jac, cache)
        o = 2 * M + K
        log_A, a = theta[o:o + K], theta[o + K:o + 2 * K]
        D = self._tokens(W.shape[0], ctx)
        Dh = D[:, None] * W[:, self._match()]
        if self._safe:
            d = np.exp(theta[o + 2 * K:o + 3 * K])
            base = Dh + d[None, :]
        else:
            base = Dh
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            logb = np.log(base)
            T = np.exp(log_A[None, :] - a[None, :] * logb)
        pred = pred1 + T
        if not jac:
            return pred, None
        J = J1
        k = np.arange(K)
        with np.errstate(invalid="ignore"):
            J[:, k, o + k] = T
            J[:, k, o + K + k] = -T * logb
            if self._safe:
                J[:, k, o + 2 * K + k] = -a[None, :] * T * d[None, :] / base
        return pred, J

    def _fit(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext) -> None:
        super()._fit(W, Y, ctx)
        self._train = (W, Y, ctx)

    def fit(self, *args: Any, **kwargs: Any) -> _DZNoise:
        super().fit(*args, **kwargs)
        W, Y, ctx = self._train
        del self._train
        if not self._safe:
            # The base class scores every entry; the plain form is +inf at h_i = 0, so score the fitted ones.
            mask = self._obs_mask(W, ctx)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExtrapolationWarning)
                pred = self._predict(W, ctx)[mask]
            y = Y[mask]
            aic, bic = metrics.aic_bic(np.log(pred) - np.log(y), self.n_params_)
            self.train_metrics_ = {"n_obs": float(y.size), "RMSE": metrics.rmse(y, pred), "MAPE": metrics.mre(y, pred),
                                   "R2": metrics.r2(y, pred), "AIC": aic, "BIC": bic}
        return self

    def _predict(self, W: np.ndarray, ctx: FitContext) -> np.ndarray:
        pred = super()._predict(W, ctx)
        if not self._safe:
            zero = W[:, self._match()] == 0
            if np.any(zero):
                pred[zero] = np.inf
                warnings.warn(f"{type(self).__name__} ({self.key}): (D h_i)^(-a_i) diverges where an eval set's "
                              f"own domain has weight 0; {int(zero.sum())} prediction(s) set to +inf. Use "
                              "'dz-eq3-safe' for finite predictions there.", ExtrapolationWarning, stacklevel=3)
        return pred


@register("dz-eq3")
class DZNoise(_DZNoise):
    """Dai & Zheng's Eq. 3: capacity competition plus a per-domain data (noise-reduction) term.

    Fitted on the (run, eval set) entries whose own domain has weight h_i > 0 (``train_metrics_`` too);
    ``predict`` returns ``+inf`` (with an :class:`~mixlaw.errors.ExtrapolationWarning`) where h_i = 0 —
    use ``dz-eq3-safe`` there.

    Parameters
    ----------
    loss, huber_delta, n_restarts, screen_iter, capacity_floor, n_ref, bounds, fixed, random_state
        As in :class:`~mixlaw.laws.dz_eq1.DZCapacity`.

    Attributes
    ----------
    params_ : Params
        ``log_c_<domain>``, ``b_<domain>`` (every training domain), ``E_<target>``, ``log_A_<target>``,
        ``a_<target>``.

    Notes
    -----
    Symbols: A_i -> ``exp(log_A_<eval i>)``, a_i -> ``a_<eval i>``, D -> ``tokens / 1e9`` (1 when no token
    counts were given); the rest as in dz-eq1.

    References
    ----------
    Dai & Zheng, "Explaining Data Mixing Scaling Laws", Eq. (3).
    """


@register("dz-eq3-safe")
class DZNoiseSafe(_DZNoise):
    """Eq. 3 with a fitted token offset, finite at h_i = 0: ``A_i (D h_i + d_i)^(-a_i)``.

    ``d_i > 0`` (in billions of tokens, fitted in log space) acts as the tokens' worth of domain i that the
    model sees through the other domains; it keeps the loss finite and fits every entry.

    Parameters
    ----------
    loss, huber_delta, n_restarts, screen_iter, capacity_floor, n_ref, bounds, fixed, random_state
        As in :class:`~mixlaw.laws.dz_eq1.DZCapacity`.

    Attributes
    ----------
    params_ : Params
        As dz-eq3 plus ``log_d_<target>``.

    References
    ----------
    Dai & Zheng, "Explaining Data Mixing Scaling Laws", Eq. (3), with the data-term offset of AutoScale-style
    laws (``(r_i D + a_i)^(-b_i)``).
    """

    _safe = True


__all__ = ["DZNoise", "DZNoiseSafe"]
