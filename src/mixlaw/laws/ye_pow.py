"""Ye et al.'s exponential mixing law in power-transformed shares (mixlaw's generalisation).

.. math:: L_i(r) = c_i + k_i \\exp\\Big(\\sum_j t_{ij}\\, r_j^{\\gamma_{ij}}\\Big)

With every :math:`\\gamma_{ij} = 1` this is Ye et al.'s exponential law. The power transform lets a domain's
effect saturate (diminishing returns, :math:`\\gamma < 1`), which the exponential in the raw share cannot
express: on RegMix the fitted exponents are 0.36-0.65 on every eval set.

References
----------
Ye et al., "Data Mixing Laws: Optimizing Data Mixtures by Predicting Language Modeling Performance",
ICLR 2025, arXiv:2403.16952 (the multi-domain exponential law of domain losses, which this generalises). The
power-share exponent is mixlaw's; the per-domain exponents with partial pooling follow the ``gamma_pooling`` of
:class:`~mixlaw.laws.ShukorAdditive` (Shukor et al., arXiv:2507.09404, use per-domain exponents
:math:`r_j^{\\gamma_{ij}}` in their additive law).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from .._console import matrix_text
from .._solver import objective_values
from .._validation import Interval, Options, Real, check_is_fitted
from ..fit import HUBER_DELTA, Param, Params, pooling_penalty
from ._regularize import RidgeCVMixin
from .base import FitContext, PerTargetLaw, register
from .saved import state_caps
from .ye import T_BOUND, UNSEEN_NOTE, saturate_exponent

#: Exponent range: gamma > 0 keeps r^gamma finite and increasing at r = 0; 1.5 is already convex.
GAMMA_BOUNDS = (0.05, 1.5)
#: Start of every exponent: the middle of the fitted range on RegMix's 13 eval sets (0.36-0.65).
GAMMA_INIT = 0.5


def power_shares(W: np.ndarray, gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """r_j^gamma_j and log r_j, both 0 where r_j = 0 (the term vanishes there for any gamma > 0)."""
    pos = W > 0
    logw = np.log(np.where(pos, W, 1.0))
    return np.where(pos, np.exp(gamma[None, :] * logw), 0.0), logw


@register("ye-pow")
class YePower(RidgeCVMixin, PerTargetLaw):
    """Ye's exponential law with each training share raised to a fitted power, one eval set at a time.

    On RegMix (fit on train_1m), target Pile-CC: Spearman 0.994 / 0.991 / 0.967 on test_1m / test_60m /
    test_1B and MRE 0.0055 on test_1m, against Ye's law's 0.962 / 0.957 / 0.986 and MRE 0.0122; pooled over
    all 13 eval sets 0.991 / 0.988 / 0.954 against 0.971 / 0.966 / 0.933 (bench/compare_laws.py; ``mixlaw compare
    --dataset regmix --target all``, 2026-12-04).

    Parameters
    ----------
    gamma_pooling : float, default=1.0
        Partial pooling of one eval set's exponents: the penalty
        ``gamma_pooling * sum_j (gamma_ij - mean_j gamma_ij)^2`` (objective units, where a good fit is
        O(1)). 0 leaves every exponent free; 1e4 pins them to one shared exponent. Pooling matters for
        rare domains, whose exponent the data barely determine.
    alpha : float or "cv", default=0.0
        Ridge penalty ``alpha * sum_j t_ij^2`` on the interactions (objective units); ``"cv"`` chooses it per
        eval set by inner 5-fold CV (:mod:`mixlaw.laws._regularize`), for many domains and few runs. With
        ``alpha > 0`` it fits fewer runs than its 2M + 2 coefficients: the runs need only outnumber what the ridge
        and the exponents' pooling leave unpenalised (c, log_k and the mean exponent: 3, or 2 + M at
        ``gamma_pooling=0``; :func:`mixlaw.fit.ridge_counted_params`); ``alpha=0`` refuses such a table.
    n_restarts : int, default=2
        Optimiser starts per eval set (the data-driven start first, then seeded random ones).
    loss, huber_delta, bounds, fixed, random_state
        As in :class:`~mixlaw.laws.YeExponential`.

    Attributes
    ----------
    params_ : Params
        ``<target>.c``, ``<target>.log_k`` (log k_i), ``<target>.t_<domain>`` and ``<target>.gamma_<domain>``.
    alpha_ : dict of str to float
        Ridge strength used per eval set.
    cv_scores_ : dict of str to dict
        With ``alpha="cv"``: held-out mean |log error| of every strength tried, per eval set.
    z_max_ : dict of str to float
        Per eval set, the largest exponent :math:`\\sum_j t_{ij} r_j^{\\gamma_{ij}}` over the fitting runs (see
        Notes).

    Notes
    -----
    .. math:: L_i(r) = c_i + k_i \\exp\\Big(\\sum_j t_{ij}\\, r_j^{\\gamma_{ij}}\\Big)

    Symbols: r -> ``weights``, c_i -> ``c``, k_i -> ``exp(log_k)``, t_ij -> ``t_<domain j>``,
    gamma_ij -> ``gamma_<domain j>``. ``t_ij < 0``: domain j helps eval set i.

    Identifiability: Ye's law needs a reference domain because :math:`\\sum_j r_j = 1` lets a common shift
    of the t_ij be absorbed by k_i. With exponents :math:`\\gamma \\ne 1`, :math:`\\sum_j r_j^{\\gamma_j}` is
    not constant, so every t_ij is free; as all exponents approach 1 the law approaches Ye's and that
    direction becomes flat again (the pooling penalty does not remove it; the fitted exponents on real data
    stay well below 1).

    Held-out mixtures: a domain absent from every fitting run has unidentified t and gamma. t = 0 is not
    neutral: the fitted t and log k drift together along the near-flat direction above (on Olmix's DCLM swarm,
    24 sparse domains, every t is near -21 and log k near +20), so a held-out run with 21 % of an unseen
    domain lost 21 % of its exponent and was predicted at 27 against a true 1.64. The fit sets such a domain's
    gamma to 1 and its t to the mean of the exponent ``sum_j t_ij r_j^gamma_ij`` over the fitting runs: a
    mixture of only that domain is predicted like the average run, and a small share of it changes the
    prediction little. As in :class:`~mixlaw.laws.YeExponential`, the exponent of a prediction saturates
    ``Z_HEADROOM`` above its largest fitted value (:func:`~mixlaw.laws.ye.saturate_exponent`), so that no
    mixture is predicted more than e times the largest fitted excess loss.

    References
    ----------
    Ye et al., "Data Mixing Laws: Optimizing Data Mixtures by Predicting Language Modeling Performance",
    ICLR 2025, arXiv:2403.16952 (the multi-domain exponential law of domain losses); the power transform is
    mixlaw's.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W = rng.dirichlet(np.ones(3), size=60)
    >>> y = 2.0 + 1.5 * np.exp(W ** 0.5 @ np.array([0.2, -1.0, 0.5]))
    >>> law = YePower().fit(W, y)
    >>> bool(np.allclose(law.predict(W), y, rtol=1e-3))
    True
    """

    loss_unit_params = {"c": 1}  # in the losses' unit (units.LossUnits._loss_unit)
    log_loss_unit_params = {"log_k": 1}
    _parameter_constraints = {**PerTargetLaw._parameter_constraints,
                              "gamma_pooling": [Interval(Real, 0, None, closed="left")],
                              "alpha": [Interval(Real, 0, None, closed="left"), Options({"cv"})]}

    def __init__(self, *, gamma_pooling: float = 1.0, alpha: float | str = 0.0, loss: str = "huber",
                 huber_delta: float = HUBER_DELTA, n_restarts: int = 2,
                 bounds: dict[str, tuple[float, float]] | None = None,
                 fixed: dict[str, float] | None = None, random_state: int | np.random.Generator | None = 0) -> None:
        super().__init__(loss=loss, huber_delta=huber_delta, n_restarts=n_restarts, bounds=bounds, fixed=fixed,
                         random_state=random_state)
        self.gamma_pooling, self.alpha = gamma_pooling, alpha

    def _spec_one(self, W: np.ndarray, y: np.ndarray, i: int, ctx: FitContext) -> list[Param]:
        # Data-driven start: c0 = 0.9 min(L); regress log(L - c0) on [1, r^0.5] (an intercept is needed: the
        # transformed shares do not sum to 1). Domains that never appear get t = 0 from the min-norm solution.
        M = W.shape[1]
        c0 = 0.9 * float(y.min())
        R, _ = power_shares(W, np.full(M, GAMMA_INIT))
        beta, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(y)), R]), np.log(y - c0), rcond=None)
        lk0 = float(np.clip(beta[0], -29.0, 29.0))
        t0 = np.clip(beta[1:], -T_BOUND + 1, T_BOUND - 1)
        # c <= max(L) as in YeExponential (Huber on noisy losses can put the best c above min(L)).
        ps = [Param("c", c0, c0, 0.0, float(y.max())), Param("log_k", lk0, lk0, -30.0, 30.0)]
        ps += [Param(f"t_{d}", float(t0[j]), float(t0[j]), -T_BOUND, T_BOUND) for j, d in enumerate(ctx.domains)]
        ps += [Param(f"gamma_{d}", GAMMA_INIT, GAMMA_INIT, *GAMMA_BOUNDS) for d in ctx.domains]
        return ps

    def _extra_starts_one(self, W: np.ndarray, y: np.ndarray, i: int, ctx: FitContext, spec: Params,
                          penalty: Any) -> list[np.ndarray]:
        """Under a ridge, also start at its limit (c = 0, every t = 0, log k = mean log L, the exponents at their
        init) where that point's penalised objective is below the data-driven start's.

        Why: the ridge prices each t_j by its effect on log L, which is k / (c + k) times t_j's own, so a strong
        ridge moves the optimum to c = 0 (its bound), where that factor is 1: at alpha = 1e4 on tests/laws/
        test_ridge_small_p's 16 runs every inner fold's optimum has c = 0 (objective 19.74 on fold 0, from this
        start in ~110 evaluations). From the data-driven c = 0.9 min L the solver crawls along the curved valley
        c + k = const toward it: it stopped at the 2002-evaluation cap in all 5 inner folds (c ~ 1.8-2.2, objective
        20.25; c ~ 0.01-0.6 still after 30002), at 1e3 in 4 of 5 (19.68 for the optimum's 15.77). An extra start,
        not a replacement: on 12 of RegMix's runs, where the fits have several minima, this start alone ended
        higher than the data-driven one in 11 of 80 inner-fold fits at alpha 10-1e4 (and lower in 10); the best of
        both is kept."""
        alpha = float((getattr(self, "alpha_", None) or {}).get(ctx.targets[i], 0.0))
        if alpha <= 0:
            return []
        M = W.shape[1]
        data = np.where(spec.vary_mask, spec.array("init"), spec.array("value"))
        limit = data.copy()
        limit[0], limit[1], limit[2:2 + M] = 0.0, float(np.mean(np.log(y))), 0.0
        model = self._model_one(W, i, ctx)

        def batch(theta: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            outs = [model(th) for th in theta]
            return np.array([o[0] for o in outs]), np.array([o[1] for o in outs])

        # The solver's own objective (uniform weights, as fit_models gives a law's runs): written out here, it
        # could drift from the one the starts are then solved on.
        f_limit, f_data = objective_values(batch, np.array([limit, data]), np.tile(np.log(y), (2, 1)),
                                           np.full((2, y.size), 1.0 / y.size), loss=self.loss,
                                           delta=self.huber_delta, penalties=[penalty, penalty])
        return [limit] if f_limit < f_data else []

    def _fit(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext) -> None:
        super()._fit(W, Y, ctx)
        M = W.shape[1]
        unseen = ~(W > 0).any(axis=0)
        if unseen.any():
            params = dict(self.params_)
            for t in ctx.targets:
                v = self._values_for(t)
                R, _ = power_shares(W, v[2 + M:])
                mean_z = float(np.mean(R @ v[2:2 + M]))
                for j in np.flatnonzero(unseen):
                    d = ctx.domains[j]
                    for name, value in ((f"{t}.t_{d}", mean_z), (f"{t}.gamma_{d}", 1.0)):
                        p = params[name]
                        if p.vary:  # a user's fixed= value stays; within bounds, so that a warm refit can start there
                            value = float(np.clip(value, p.min, p.max))
                            params[name] = replace(p, value=value, stderr=None, note=UNSEEN_NOTE)
            self.params_ = Params(list(params.values()))
        self.z_max_ = {}
        for t in ctx.targets:
            v = self._values_for(t)
            self.z_max_[t] = float(np.max(power_shares(W, v[2 + M:])[0] @ v[2:2 + M]))

    def _get_state(self) -> dict[str, Any]:
        return {**super()._get_state(), "z_max": self.z_max_}

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        # A law saved before the cap was added has no z_max: it predicts uncapped, as it did.
        self.z_max_ = state_caps(state, "z_max", self.targets_)

    def _predict_one(self, W: np.ndarray, values: np.ndarray, i: int, ctx: FitContext) -> np.ndarray:
        M = W.shape[1]
        lk, t, g = values[1], values[2:2 + M], values[2 + M:]
        z = saturate_exponent(power_shares(W, g)[0] @ t, getattr(self, "z_max_", {}).get(self.targets_[i]))
        return values[0] + np.exp(lk + z)

    def _own_penalty(self, spec: Any) -> Any:
        return pooling_penalty(self.gamma_pooling, start=2 + (len(spec) - 2) // 2)  # theta = [c, log_k, t, gamma]

    def _coefficients_per_eval(self, M: int) -> int:
        return 2 * M + 2  # c, log_k, t, gamma

    def _ridge_block(self, M: int) -> tuple[int, int, bool]:
        return 2, 2 + M, False  # the interactions t

    def _model_one(self, W: np.ndarray, i: int, ctx: FitContext) -> Any:
        M = W.shape[1]

        def model(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            c, lk, t, g = theta[0], theta[1], theta[2:2 + M], theta[2 + M:]
            R, logw = power_shares(W, g)
            e = np.exp(lk + R @ t)  # (n,)
            jac = np.empty((W.shape[0], theta.size))
            jac[:, 0] = 1.0
            jac[:, 1] = e
            jac[:, 2:2 + M] = e[:, None] * R
            jac[:, 2 + M:] = e[:, None] * t[None, :] * R * logw  # d r^g / dg = r^g log r (0 at r = 0)
            return c + e, jac

        return model

    def _model_batch(self, W: np.ndarray, ctx: FitContext) -> Any:
        # Every row of the solve in one call, with the numbers of _model_one's row-by-row calls (the same elementwise
        # operations in the same order; a stacked matmul with a column is each row's gemv). Row by row, the Python
        # calls and stacking were a fifth of this law's fit on Olmix DCLM (24 domains), and log r was recomputed at
        # every call.
        M = W.shape[1]
        pos = W > 0
        logw = np.log(np.where(pos, W, 1.0))

        def model(theta: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            t, g = theta[:, 2:2 + M], theta[:, 2 + M:]
            R = np.where(pos, np.exp(g[:, None, :] * logw), 0.0)  # r_j^gamma_j, (r, n, M)
            e = np.exp(theta[:, 1:2] + np.matmul(R, t[:, :, None])[:, :, 0])  # (r, n)
            jac = np.empty((theta.shape[0], W.shape[0], theta.shape[1]))
            jac[:, :, 0] = 1.0
            jac[:, :, 1] = e
            jac[:, :, 2:2 + M] = e[:, :, None] * R
            jac[:, :, 2 + M:] = e[:, :, None] * t[:, None, :] * R * logw
            return theta[:, :1] + e, jac

        return model

    def interactions(self) -> np.ndarray:
        """The fitted t_ij matrix, shape (n_targets, n_domains)."""
        check_is_fitted(self)
        M = len(self.domains_)
        return np.array([self._values_for(t)[2:2 + M] for t in self.targets_])

    def exponents(self) -> np.ndarray:
        """The fitted gamma_ij matrix, shape (n_targets, n_domains)."""
        check_is_fitted(self)
        M = len(self.domains_)
        return np.array([self._values_for(t)[2 + M:] for t in self.targets_])

    def _extra_report_sections(self) -> list[tuple[str, str]]:
        return [(f"{title}; rows: eval sets, columns: training domains", matrix_text(A, self.targets_, self.domains_))
                for title, A in (("Interactions t_ij (<0 helps, >0 conflicts)", self.interactions()),
                                 ("Share exponents gamma_ij (<1: diminishing returns)", self.exponents()))]
