"""Ye et al.'s implicit domain aggregation: a validation loss as an unknown mixture of K latent domains.

.. math:: L(r) = \\sum_{k=1}^{K} s_k \\Big[c_k + k_k \\exp\\Big(\\sum_j t_{kj} r_j\\Big)\\Big],
          \\qquad s \\in \\Delta^{K-1}

References
----------
Ye et al., "Data Mixing Laws: Optimizing Data Mixtures by Predicting Language Modeling Performance",
ICLR 2025, arXiv:2403.16952 (implicit domain aggregation).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from .._validation import Integral, Interval, check_is_fitted
from ..fit import HUBER_DELTA, Param, Params
from .base import FitContext, PerTargetLaw, register
from .saved import state_caps
from .ye import T_BOUND, UNSEEN_NOTE, _reference_index, saturate_exponent, ye_init

#: Target i's component slopes are spread by ``default_rng(START_SEED + i + SEED_STRIDE * random_state)``: the
#: default random_state 0 keeps the seeds 1234 + i that the starts always had (they ignored random_state before),
#: and the stride keeps two seeds' streams apart for up to 100003 targets.
START_SEED = 1234
SEED_STRIDE = 100_003


@register("ye-implicit")
class YeImplicit(PerTargetLaw):
    """Implicit domain aggregation (Ye et al.): each eval loss as a sum of K latent exponential laws.

    Parameters
    ----------
    n_components : int, default=3
        K, the number of latent domains. Ye et al. find over-estimating K harmless; extra components fit
        to small weights.
    n_restarts : int, default=4
        Optimiser starts per eval set (the data-driven start first, then seeded random ones).
    loss, huber_delta, bounds, fixed, random_state
        As in :class:`~mixlaw.laws.YeExponential`.
    reference : str, "auto" or None, default="auto"
        Training domain whose ``t_kj`` is fixed at 0 in every component (``"auto"`` or None: the one with the
        largest mean share).

    Attributes
    ----------
    params_ : Params
        ``<target>.c`` (the constant sum_k s_k c_k), ``<target>.log_k<k>`` and ``<target>.t<k>_<domain>``.
    z_max_ : dict of str to list of float
        Per eval set, each component's largest exponent :math:`\\sum_j t_{kj} r_j` over the fitting runs; a
        prediction's exponent saturates ``Z_HEADROOM`` above it (:func:`~mixlaw.laws.ye.saturate_exponent`).

    Notes
    -----
    Only the total loss is observed, so the per-component constants and scales are not separately
    identifiable: :math:`\\sum_k s_k c_k` collapses to one constant ``c`` and :math:`s_k k_k` to one scale
    :math:`\\exp(\\text{log\\_k}_k)`. The law is fitted in that identifiable form,

    .. math:: L(r) = c + \\sum_k \\exp\\big(\\text{log\\_k}_k + \\sum_j t_{kj} r_j\\big),

    and :meth:`composition` reports the implied latent shares :math:`s_k \\propto k_k` at the reference
    mixture. Components are exchangeable; after fitting they are ordered by decreasing scale so that
    results are reproducible.

    Predictions far outside the fitting runs: as in :class:`~mixlaw.laws.YeExponential`, each component's
    exponent saturates ``Z_HEADROOM`` (1 nat) above its largest value over the fitting runs, so that no
    component's term exceeds e times its largest value on the fitting runs; on the fitting runs (and wherever
    no exponent passes its largest fitted value) the law is unchanged. Without the cap a component's
    exponential term grew without bound: on 40 runs of 3 domains whose third never exceeded 35 % of a run
    (losses 2.78-6.37), ye-implicit predicted 197 for that domain alone and 59 at 80 % of it, against ye-exp's
    capped 14.1 and 13.9. A domain that no fitting run has takes each component's mean exponent
    (:meth:`_settle_unseen`).

    References
    ----------
    Ye et al., "Data Mixing Laws: Optimizing Data Mixtures by Predicting Language Modeling Performance",
    ICLR 2025, arXiv:2403.16952 (implicit domain aggregation).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W = rng.dirichlet(np.ones(3), size=60)
    >>> y = 1.0 + 0.8 * np.exp(W @ [0.0, -2.0, 1.0]) + 0.5 * np.exp(W @ [0.0, 1.5, -2.5])
    >>> law = YeImplicit(n_components=2).fit(W, y)
    >>> bool(np.allclose(law.predict(W), y, rtol=2e-3))
    True
    """

    loss_unit_params = {"c": 1}  # in the losses' unit (units.LossUnits._loss_unit)
    log_loss_unit_params = {"log_k*": 1}  # log_k0 .. log_k<K-1>
    _parameter_constraints = {**PerTargetLaw._parameter_constraints,
                              "n_components": [Interval(Integral, 1, None, closed="left")],
                              "reference": [str, None]}

    def __init__(self, *, n_components: int = 3, loss: str = "huber", huber_delta: float = HUBER_DELTA,
                 n_restarts: int = 4, reference: str | None = "auto",
                 bounds: dict[str, tuple[float, float]] | None = None, fixed: dict[str, float] | None = None,
                 random_state: int | np.random.Generator | None = 0) -> None:
        super().__init__(loss=loss, huber_delta=huber_delta, n_restarts=n_restarts, bounds=bounds, fixed=fixed,
                         random_state=random_state)
        self.n_components, self.reference = n_components, reference

    def _spec_one(self, W: np.ndarray, y: np.ndarray, i: int, ctx: FitContext) -> list[Param]:
        self._ref = _reference_index(W, ctx.domains, self.reference)
        K = self.n_components
        c0, lk0, t0 = ye_init(W, y, self._ref)
        ps = [Param("c", c0, c0, 0.0, float(y.max()))]
        # Split the single-exponential start into K components with spread slopes so they are not identical
        # (identical components have identical gradients and never separate).
        rng = self._start_rng(i)
        for k in range(K):
            lk = lk0 - np.log(K)
            ps.append(Param(f"log_k{k}", lk, lk, -30.0, 30.0))
        for k in range(K):
            tk = np.clip(t0 * (1 + 0.5 * (k - (K - 1) / 2)) + 0.3 * rng.standard_normal(t0.size),
                         -T_BOUND + 1, T_BOUND - 1)
            for j, d in enumerate(ctx.domains):
                if j == self._ref:
                    ps.append(Param(f"t{k}_{d}", 0.0, 0.0, -T_BOUND, T_BOUND, vary=False, note="reference domain"))
                else:
                    ps.append(Param(f"t{k}_{d}", float(tk[j]), float(tk[j]), -T_BOUND, T_BOUND))
        return ps

    def _start_rng(self, i: int) -> np.random.Generator:
        """The generator that spreads target ``i``'s K component slopes, from ``random_state`` (an int seed s
        gives ``default_rng(START_SEED + i + SEED_STRIDE * s)``: the default 0 draws the starts it always drew, from
        1234 + i; a Generator is drawn from, as the restarts draw from it)."""
        rs = self.random_state
        if isinstance(rs, np.random.Generator):
            return rs
        return np.random.default_rng(START_SEED + i + SEED_STRIDE * int(rs or 0))

    def _model_one(self, W: np.ndarray, i: int, ctx: FitContext) -> Any:
        K, M = self.n_components, W.shape[1]

        def model(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            c, lk, T = theta[0], theta[1:1 + K], theta[1 + K:].reshape(K, M)
            E = np.exp(lk[None, :] + W @ T.T)  # (n, K)
            jac = np.empty((W.shape[0], theta.size))
            jac[:, 0] = 1.0
            jac[:, 1:1 + K] = E
            jac[:, 1 + K:] = (E[:, :, None] * W[:, None, :]).reshape(W.shape[0], K * M)
            return c + E.sum(axis=1), jac

        return model

    def _model_batch(self, W: np.ndarray, ctx: FitContext) -> Any:
        K, M = self.n_components, W.shape[1]

        def model(theta: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            r, n = theta.shape[0], W.shape[0]
            T = theta[:, 1 + K:].reshape(r, K, M)
            E = np.exp(theta[:, None, 1:1 + K] + np.einsum("nm,rkm->rnk", W, T))  # (r, n, K)
            jac = np.empty((r, n, theta.shape[1]))
            jac[:, :, 0] = 1.0
            jac[:, :, 1:1 + K] = E
            jac[:, :, 1 + K:] = (E[:, :, :, None] * W[None, :, None, :]).reshape(r, n, K * M)
            return theta[:, :1] + E.sum(axis=2), jac

        return model

    def _fit(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext) -> None:
        super()._fit(W, Y, ctx)
        self._order_components()
        self._settle_unseen(W)
        K, M = self.n_components, W.shape[1]
        self.z_max_ = {t: [float(v) for v in (W @ self._values_for(t)[1 + K:].reshape(K, M).T).max(axis=0)]
                       for t in self.targets_}

    def _predict_one(self, W: np.ndarray, values: np.ndarray, i: int, ctx: FitContext) -> np.ndarray:
        # _model_one's prediction with each component's exponent saturated above its fitted range (class Notes).
        K, M = self.n_components, W.shape[1]
        T = values[1 + K:].reshape(K, M)
        hi = getattr(self, "z_max_", {}).get(self.targets_[i])
        out = np.full(W.shape[0], values[0])
        for k in range(K):
            out += np.exp(values[1 + k] + saturate_exponent(W @ T[k], None if hi is None else hi[k]))
        return out

    def _get_state(self) -> dict[str, Any]:
        return {**super()._get_state(), "z_max": self.z_max_}

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        # A law saved before the cap was added has no z_max: it predicts uncapped, as it did.
        self.z_max_ = state_caps(state, "z_max", self.targets_, self.n_components)

    def _settle_unseen(self, W: np.ndarray) -> None:
        """Give a domain that no fitting run has each component's mean exponent over the runs (as ye-exp does).

        Its column is 0 in every run, so nothing in the objective moves its t_kj: the fit kept its start, a spread
        of seeded random draws. On 40 runs of 4 domains with one never trained on (losses 2.44-3.01), that domain
        alone was predicted at 6.10; with the means, like the average run.
        """
        unseen = np.flatnonzero(~(W > 0).any(axis=0))
        if unseen.size == 0:
            return
        K, M = self.n_components, W.shape[1]
        params = dict(self.params_)
        for t in self.targets_:
            T = self._values_for(t)[1 + K:].reshape(K, M)
            mean_z = (W @ T.T).mean(axis=0)  # (K,)
            for k in range(K):
                for j in unseen:
                    p = params[f"{t}.t{k}_{self.domains_[j]}"]
                    if p.vary:  # a user's fixed= value stays
                        params[p.name] = replace(p, value=float(np.clip(mean_z[k], p.min, p.max)), stderr=None,
                                                 note=UNSEEN_NOTE)
        self.params_ = Params(list(params.values()))

    def _order_components(self) -> None:
        """Sort components by decreasing scale (they are exchangeable) so that output is reproducible."""
        K, M = self.n_components, len(self.domains_)
        plist = list(self.params_.values())
        for t in self.targets_:
            names = [f"{t}.{n}" for n in self._local_names[t]]
            idx = [next(a for a, p in enumerate(plist) if p.name == n) for n in names]
            vals = [plist[a] for a in idx]
            order = np.argsort([-vals[1 + k].value for k in range(K)], kind="stable")
            new = [vals[0]] + [vals[1 + k] for k in order]
            for k in order:
                new += vals[1 + K + k * M: 1 + K + (k + 1) * M]
            for a, p_old, p_new in zip(idx, vals, new, strict=False):
                plist[a] = type(p_new)(p_old.name, p_new.value, p_new.init, p_new.min, p_new.max, p_new.vary,
                                       p_new.stderr, p_new.note)
        self.params_ = Params(plist)

    def composition(self) -> dict[str, np.ndarray]:
        """Implied latent shares s_k per target: the components' scales k_k, normalised to sum to 1."""
        check_is_fitted(self)
        with self._as_fitted():  # the fitted K: set_params(n_components=2) after the fit cut the shares short
            K = self.n_components
        out = {}
        for t in self.targets_:
            k = np.exp(self._values_for(t)[1:1 + K])
            out[t] = k / k.sum()
        return out
