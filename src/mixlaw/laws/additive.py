"""Shukor et al.'s additive data mixing law, and an average of its free- and shared-exponent fits.

.. math:: L_i(r) = E_i + \\frac{1}{\\sum_j C_{ij} r_j^{\\gamma_{ij}}}

References
----------
Shukor et al., "Scaling Laws for Optimal Data Mixtures", 2025, arXiv:2507.09404 (the additive law at a
fixed model size and token budget).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from .._validation import Interval, Options, Real
from ..fit import HUBER_DELTA, Param, Params, pooling_penalty
from ._regularize import RidgeCVMixin
from .base import FitContext, MixingLaw, PerTargetLaw, law_from_dict, register

#: Exponent range: gamma in (0, 3] keeps r^gamma increasing and finite at r = 0.
GAMMA_BOUNDS = (0.01, 3.0)


@register("additive")
class ShukorAdditive(RidgeCVMixin, PerTargetLaw):
    """Additive law: each training domain adds a power-law term to the inverse excess loss.

    Parameters
    ----------
    gamma_pooling : float, default=0.0
        Partial pooling of the exponents of one eval set: the penalty
        ``gamma_pooling * sum_j (gamma_ij - mean_j gamma_ij)^2`` (objective units) shrinks every exponent
        toward their common mean. 0 gives Shukor et al.'s free exponents; a large value one shared
        exponent (``additive-ens`` averages the two).
    alpha : float or "cv", default=0.0
        Shrinks the log coefficients of one eval set toward their mean,
        ``alpha * sum_j (log C_ij - mean_j log C_ij)^2`` (objective units); ``"cv"`` chooses it per eval set by
        inner 5-fold CV (:mod:`mixlaw.laws._regularize`), for many domains and few runs.
    loss, huber_delta, n_restarts, bounds, fixed, random_state
        As in :class:`~mixlaw.laws.YeExponential`.

    Attributes
    ----------
    params_ : Params
        ``<target>.E``, ``<target>.log_C_<domain>`` (log C_ij) and ``<target>.gamma_<domain>``.

    Notes
    -----
    Symbols: r -> ``weights``, E_i -> ``E``, C_ij -> ``exp(log_C_<domain j>)``, gamma_ij -> ``gamma_<domain j>``.
    ``r_j = 0`` is fine: the term vanishes (gamma > 0), so unlike power laws in r_i the law is finite on
    the whole simplex. A domain that never appears in the fitting runs has unidentified C and gamma; its
    parameters stay at their starts (and the report says so if they sit on a bound).

    References
    ----------
    Shukor et al., "Scaling Laws for Optimal Data Mixtures", 2025, arXiv:2507.09404.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W = rng.dirichlet(np.ones(3), size=60)
    >>> y = 2.0 + 1.0 / (W ** [0.5, 0.8, 0.3] @ [1.5, 0.7, 0.4])
    >>> law = ShukorAdditive().fit(W, y)
    >>> bool(np.allclose(law.predict(W), y, rtol=1e-3))
    True
    """

    _parameter_constraints = {**PerTargetLaw._parameter_constraints,
                              "gamma_pooling": [Interval(Real, 0, None, closed="left")],
                              "alpha": [Interval(Real, 0, None, closed="left"), Options({"cv"})]}

    def __init__(self, *, gamma_pooling: float = 0.0, alpha: float | str = 0.0, loss: str = "huber",
                 huber_delta: float = HUBER_DELTA, n_restarts: int = 2,
                 bounds: dict[str, tuple[float, float]] | None = None,
                 fixed: dict[str, float] | None = None, random_state: int | np.random.Generator | None = 0) -> None:
        super().__init__(loss=loss, huber_delta=huber_delta, n_restarts=n_restarts, bounds=bounds, fixed=fixed,
                         random_state=random_state)
        self.gamma_pooling, self.alpha = gamma_pooling, alpha

    def _spec_one(self, W: np.ndarray, y: np.ndarray, i: int, ctx: FitContext) -> list[Param]:
        # Start: E a little under the best loss; C_j equal, so that 1/sum_j C_j r_j^0.5 matches the mean excess.
        e0 = 0.9 * float(y.min())
        excess = float(np.mean(y - e0))
        s0 = float(np.mean((W ** 0.5).sum(axis=1)))
        lc0 = float(np.log(1.0 / (excess * s0)))
        ps = [Param("E", e0, e0, 0.0, float(y.max()))]
        ps += [Param(f"log_C_{d}", lc0, lc0, -20.0, 20.0) for d in ctx.domains]
        ps += [Param(f"gamma_{d}", 0.5, 0.5, *GAMMA_BOUNDS) for d in ctx.domains]
        return ps

    def _own_penalty(self, spec: Any) -> Any:
        return pooling_penalty(self.gamma_pooling, start=1 + (len(spec) - 1) // 2)  # theta = [E, log_C, gamma]

    def _ridge_block(self, M: int) -> tuple[int, int, bool]:
        return 1, 1 + M, True  # log C, shrunk toward their mean

    def _model_one(self, W: np.ndarray, i: int, ctx: FitContext) -> Any:
        M = W.shape[1]
        pos = W > 0
        logw = np.log(np.where(pos, W, 1.0))  # log r_j where r_j > 0; the term is 0 elsewhere

        def model(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            E, log_c, g = theta[0], theta[1:1 + M], theta[1 + M:]
            P = np.where(pos, np.exp(log_c[None, :] + g[None, :] * logw), 0.0)  # C_j r_j^gamma_j, (n, M)
            S = P.sum(axis=1)
            inv2 = 1.0 / (S * S)
            jac = np.empty((W.shape[0], theta.size))
            jac[:, 0] = 1.0
            jac[:, 1:1 + M] = -P * inv2[:, None]
            jac[:, 1 + M:] = -P * logw * inv2[:, None]
            return E + 1.0 / S, jac

        return model

    def _model_batch(self, W: np.ndarray, ctx: FitContext) -> Any:
        M = W.shape[1]
        pos = W > 0
        logw = np.log(np.where(pos, W, 1.0))

        def model(theta: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            log_c, g = theta[:, None, 1:1 + M], theta[:, None, 1 + M:]
            P = np.where(pos, np.exp(log_c + g * logw), 0.0)  # (r, n, M)
            S = P.sum(axis=2)
            Pi = P / (S * S)[:, :, None]
            jac = np.empty((theta.shape[0], W.shape[0], theta.shape[1]))
            jac[:, :, 0] = 1.0
            jac[:, :, 1:1 + M] = -Pi
            jac[:, :, 1 + M:] = -Pi * logw
            return theta[:, :1] + 1.0 / S, jac

        return model


@register("additive-ens")
class ShukorAdditiveEnsemble(MixingLaw):
    """Average of two additive fits: free exponents and one shared exponent per eval set (mixlaw's best on RegMix).

    .. math:: \\hat L_i(r) = \\tfrac12 \\big[\\hat L_i^{\\text{free}}(r) + \\hat L_i^{\\text{shared}}(r)\\big]

    Shukor et al.'s free exponents (one per eval set and training domain) rank held-out 1M-parameter runs
    best but transfer less well to larger models; a shared exponent (``gamma_pooling`` large) transfers well
    but fits less. Averaging the two predictions keeps most of both. On RegMix Pile-CC, fitted on
    train_1m: Spearman 0.992 / 0.991 / 0.986 on test_1m / test_60m / test_1B and MRE 0.0050 on test_1m,
    against 0.994 / 0.991 / 0.974 (free) and 0.987 / 0.987 / 0.991 (shared); shrinking the exponents
    toward their mean instead (``gamma_pooling=10``) gave 0.990 / 0.989 / 0.986, MRE 0.0057
    (bench/compare_laws.py).

    Parameters
    ----------
    shared_pooling : float, default=1e4
        ``gamma_pooling`` of the shared-exponent member (1e4 pins the exponents to within ~1e-3 of each other).
    loss, huber_delta, n_restarts, bounds, fixed, random_state
        Passed to both members (:class:`ShukorAdditive`).

    Attributes
    ----------
    members_ : list of ShukorAdditive
        The free-exponent and the shared-exponent fits.
    params_ : Params
        Both members' parameters, prefixed ``free:`` and ``shared:``.

    References
    ----------
    Shukor et al., "Scaling Laws for Optimal Data Mixtures", 2025, arXiv:2507.09404 (the law); the
    two-member average is mixlaw's.
    """

    _parameter_constraints = {**PerTargetLaw._parameter_constraints,
                              "shared_pooling": [Interval(Real, 0, None, closed="neither")]}

    def __init__(self, *, shared_pooling: float = 1e4, loss: str = "huber", huber_delta: float = HUBER_DELTA,
                 n_restarts: int = 2, bounds: dict[str, tuple[float, float]] | None = None,
                 fixed: dict[str, float] | None = None, random_state: int | np.random.Generator | None = 0) -> None:
        self.shared_pooling, self.loss = shared_pooling, loss
        self.huber_delta, self.n_restarts = huber_delta, n_restarts
        self.bounds, self.fixed, self.random_state = bounds, fixed, random_state

    def _fit(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext) -> None:
        opts = {"loss": self.loss, "huber_delta": self.huber_delta, "n_restarts": self.n_restarts,
                "bounds": self.bounds, "fixed": self.fixed, "random_state": self.random_state}
        self.members_ = [ShukorAdditive(gamma_pooling=0.0, **opts), ShukorAdditive(gamma_pooling=self.shared_pooling,
                                                                                   **opts)]
        plist, results = [], {}
        for tag, m in zip(("free", "shared"), self.members_, strict=False):
            m.fit(W, Y, domains=ctx.domains, targets=ctx.targets)
            plist += [replace(p, name=f"{tag}:{p.name}") for p in m.params_.values()]
            results.update({f"{tag}:{k}": r for k, r in m.results_.items()})
        self.params_, self.results_ = Params(plist), results

    def _predict(self, W: np.ndarray, ctx: FitContext) -> np.ndarray:
        return 0.5 * (self.members_[0]._predict(W, ctx) + self.members_[1]._predict(W, ctx))

    def _get_state(self) -> dict[str, Any]:
        return {"members": [m.to_dict() for m in self.members_]}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.members_ = [law_from_dict(d) for d in state["members"]]
