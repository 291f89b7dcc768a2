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
        U, implicit, pos = self._layout()
        D = self._tokens(W.shape[0], ctx)
        E0 = np.array([p.init for p in ps if p.name.startswith("E_")])
        # Excess loss of each term domain: its matched target's, else the median over the implicit targets.
        ex_t = np.median(Y - E0, axis=0)
        excess = np.full(U.size, float(np.median(ex_t[implicit])) if implicit else 0.0)
        for i, u in enumerate(pos):
            if u >= 0:
                excess[u] = ex_t[i]
        Dh = D[:, None] * W[:, U]
        d0 = 0.01 * float(np.median(D))
        base = np.array([np.median(v[v > 0]) if np.any(v > 0) else 1.0 for v in Dh.T]) + (d0 if self._safe else 0.0)
        # The data term starts with DATA_SHARE_INIT of the excess at a typical token count; c gives up that share.
        la0 = np.log(DATA_SHARE_INIT * excess) + A_EXP_INIT * np.log(base)
        la0 = np.clip(la0, LOG_A_BOUNDS[0] + 0.5, LOG_A_BOUNDS[1] - 0.5)
        for j in U:
            p = ps[j]
            v = p.init + np.log(1 - DATA_SHARE_INIT)
            ps[j] = Param(p.name, v, v, p.min, p.max)
        names = [self.domains_[j] for j in U]
        ps += [Param(f"log_A_{d}", float(la0[u]), float(la0[u]), *LOG_A_BOUNDS) for u, d in enumerate(names)]
        ps += [Param(f"a_{d}", A_EXP_INIT, A_EXP_INIT, *A_EXP_BOUNDS) for d in names]
        if self._safe:
            ld0 = float(np.log(d0))
            lo, hi = float(np.log(1e-6 * np.median(D))), float(np.log(np.median(D)))
            ps += [Param(f"log_d_{d}", ld0, ld0, lo, hi) for d in names]
        return ps + self._z_spec(W)

    def _zero_terms(self, W: np.ndarray) -> np.ndarray:
        """(n, K): True where a target's law has a term domain with h = 0 (where plain Eq. 3 diverges)."""
        U, _, pos = self._layout()
        Z = W[:, U] == 0
        return np.column_stack([Z[:, u] if u >= 0 else Z.any(axis=1) for u in pos])

    def _obs_mask(self, W: np.ndarray, ctx: FitContext) -> np.ndarray:
        if self._safe:
            return super()._obs_mask(W, ctx)
        # (D h_i)^(-a_i) diverges at h_i = 0: DZ fit (and score) Eq. 3 on entries with h_i > 0 only (an implicit
        # target on the runs where every domain is present).
        return ~self._zero_terms(W)

    def _extra_terms(self, W: np.ndarray, theta: np.ndarray, ctx: FitContext, jac: bool
                     ) -> tuple[np.ndarray | None, list[np.ndarray] | None]:
        M, K = W.shape[1], len(self.targets_)
        U = self._match()
        nu = U.size
        o = 2 * M + K
        log_A, a = theta[o:o + nu], theta[o + nu:o + 2 * nu]
        D = self._tokens(W.shape[0], ctx)
        Dh = D[:, None] * W[:, U]
        if self._safe:
            d = np.exp(theta[o + 2 * nu:o + 3 * nu])
            base = Dh + d[None, :]
        else:
            base = Dh
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            logb = np.log(base)
            T = np.exp(log_A[None, :] - a[None, :] * logb)
        if not jac:
            return T, None
        with np.errstate(invalid="ignore"):
            blocks = [T, -T * logb]
            if self._safe:
                blocks.append(-a[None, :] * T * d[None, :] / base)
        if not self._safe:
            # Entries with h = 0 are masked out of the fit; keep their (unused) derivatives finite so that the
            # composition's einsum does not spread NaN to observed entries.
            blocks = [np.where(np.isfinite(bk), bk, 0.0) for bk in blocks]
        return T, blocks

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
        with np.errstate(invalid="ignore"):
            pred = super()._predict(W, ctx)
        if not self._safe:
            zero = self._zero_terms(W)
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
    loss, huber_delta, n_restarts, screen_iter, capacity_floor, n_ref, eval_map, bounds, fixed, random_state
        As in :class:`~mixlaw.laws.dz_eq1.DZCapacity`.

    Attributes
    ----------
    params_ : Params
        ``log_c_<domain>``, ``b_<domain>`` (every training domain), ``E_<target>``, ``log_A_<domain>`` and
        ``a_<domain>`` for each term domain (the matched ones; all domains when some eval set is implicitly
        aggregated, which is then fitted on the runs where every domain is present), ``z_<target>|<domain>``.

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
    loss, huber_delta, n_restarts, screen_iter, capacity_floor, n_ref, eval_map, bounds, fixed, random_state
        As in :class:`~mixlaw.laws.dz_eq1.DZCapacity`.

    Attributes
    ----------
    params_ : Params
        As dz-eq3 plus ``log_d_<domain>``.

    References
    ----------
    Dai & Zheng, "Explaining Data Mixing Scaling Laws", Eq. (3), with the data-term offset of AutoScale-style
    laws (``(r_i D + a_i)^(-b_i)``).
    """

    _safe = True


__all__ = ["DZNoise", "DZNoiseSafe"]
