"""Implicit domain aggregation for laws written per training domain (BiMix, AutoScale; DZ in dz_eq1.py).

Laws such as BiMix and AutoScale predict the loss on *domain i* from the share of domain i. An eval set that
is no training domain (a downstream benchmark, a held-out web crawl, a weighted total) is, following Ye et
al.'s implicit domain aggregation, a mixture of the training domains' laws,

.. math:: L_e(r) = \\sum_k s_k L_k(r), \\qquad s_k \\ge 0,\\ \\sum_k s_k = 1 .

When each domain law carries its own scale (``L_k = K_k f_k``) only the products ``s_k K_k`` are identifiable
from ``L_e``; this module fits them as ``w_k = exp(log_w_k)`` and reports ``s = w / sum(w)`` (the composition
under the convention that the domain laws share one scale ``sum(w)``), exactly as Ye et al.'s implicit law
collapses ``s_k k_k`` into one scale per component. Power-law components are written by their value at share 0
and their initial decay rate (:func:`shifted_power`), so that the exponential limit a sparse swarm's fit runs
toward is not a curved ridge, and their log rates are partially pooled (:class:`ExponentPoolingMixin`).

References
----------
Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952 (implicit domain aggregation).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError, TooFewObservationsError
from ..fit import pooling_penalty
from ._regularize import choose_pooling

#: Bounds of log c_k, the initial decay rate of a component (:func:`shifted_power`): from nearly flat to a
#: step (the component halves by a share of 7e-5).
RATE_BOUNDS = (float(np.log(1e-4)), float(np.log(1e4)))
#: Bounds of log w_k. A domain that does not matter drifts to the lower bound (w ~ 2e-9 of a loss unit).
LOG_W_BOUNDS = (-20.0, 5.0)


def shifted_power(X: np.ndarray, log_off: float, log_v: np.ndarray, log_rate: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``sum_k w_k (X_k + o)^(-e_k)`` written by each component's value at ``X_k = 0`` and its initial decay rate,

    .. math:: w_k (X_k + o)^{-e_k} = v_k \\exp\\big(-c_k\\, o \\log(1 + X_k / o)\\big),
              \\qquad e_k = c_k o, \\quad \\log w_k = \\log v_k + e_k \\log o,

    so that the limit :math:`o \\to \\infty` at fixed :math:`c_k`, Ye et al.'s exponential
    :math:`v_k e^{-c_k X_k}`, is a straight ray in :math:`(\\log o, \\log v, \\log c)` instead of the curved
    valley :math:`e_k \\propto o`, :math:`\\log w_k \\approx e_k \\log o + \\text{const}` that the
    solver crept along for thousands of iterations (Olmix DCLM), and a component that is a step in whether
    domain k is present at all (:math:`c_k \\to \\infty`) is a ray in :math:`\\log c_k` alone.

    Parameters
    ----------
    X : ndarray of shape (n, M)
        Non-negative per-domain amounts (shares, or tokens).
    log_off : float
        log o, the shared offset.
    log_v, log_rate : ndarray of shape (M,)

    Returns
    -------
    total : (n,)
    terms : (n, M)
        The components (also their derivatives with respect to ``log_v``).
    d_off : (n,)
        d total / d log o.
    d_rate : (n, M)
        d total / d log c_k.
    """
    total, terms, d_off, d_rate = shifted_power_batch(X, np.array([log_off], dtype=np.float64), log_v[None, :],
                                                      log_rate[None, :])
    return total[0], terms[0], d_off[0], d_rate[0]


def shifted_power_batch(X: np.ndarray, log_off: np.ndarray, log_v: np.ndarray, log_rate: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`shifted_power` for r parameter vectors at once: ``log_off`` (r,), ``log_v`` and ``log_rate`` (r, M);
    returns total (r, n), terms (r, n, M), d_off (r, n) and d_rate (r, n, M).

    Every element is computed by the same operations as one vector's (a law's solver evaluates all its rows in one
    call, with the numbers of row-by-row calls: BiMix's batched model).
    """
    o = np.exp(np.asarray(log_off, dtype=np.float64))[:, None, None]
    c = np.exp(log_rate)[:, None, :]
    Xb = X[None, :, :]
    L = o * np.log1p(Xb / o)  # o log(1 + X/o): X near 0, log-like beyond o
    cL = c * L  # once, for the terms and their derivative in log c
    terms = np.exp(log_v[:, None, :] - cL)
    dL = L - Xb * o / (o + Xb)  # d L / d log o
    return terms.sum(axis=2), terms, -(terms * c * dL).sum(axis=2), -terms * cL


def shifted_power_log_w(log_off: float, log_v: np.ndarray, log_rate: np.ndarray) -> np.ndarray:
    """The scale x share of each of :func:`shifted_power`'s components, log w_k, that :func:`composition` reads.

    For an offset o <= 1 this is the power law's own coefficient, :math:`\\log w_k = \\log v_k + e_k \\log o`
    (the domain laws compared where :math:`X_k + o = 1`). For o > 1, where the components approach the
    exponential :math:`v_k e^{-c_k X_k}` (o -> infinity), it is :math:`\\log v_k`, the exponential's own
    coefficient: comparing at :math:`X_k = 1 - o < 0` would let the steepest component take every share.
    The two agree at o = 1, so the composition is continuous in o.
    """
    return log_v + np.exp(log_rate + log_off) * min(float(log_off), 0.0)


def composition(log_w: np.ndarray) -> np.ndarray:
    """The implied composition s = w / sum(w) (sums to 1)."""
    w = np.exp(log_w - log_w.max())
    return w / w.sum()


def log_w_start(y: np.ndarray, base_mean: np.ndarray) -> np.ndarray:
    """Equal shares whose sum matches the mean loss: w_k = mean(y) / (M * base_mean_k)."""
    M = base_mean.size
    return np.clip(np.log(float(np.mean(y)) / (M * base_mean)), LOG_W_BOUNDS[0] + 1, LOG_W_BOUNDS[1] - 1)

#: Default ``pooling`` of BiMix / AutoScale (objective units per squared deviation of a log rate): weak next to
#: the fit term (~10 at 1 % error), so it binds only directions the data leave flat. Measured on Olmix DCLM
#: (first 5 evals, 5-fold CV, 8 starts; before this module's reparametrisation: 25 of 25 BiMix fits ended with
#: no start converged, CV Spearman 0.8725, MRE 0.0243): pooling 0 converges 19/25 but overfits (0.8408 /
#: 0.0292: components turn into steps), 0.01 converges 24/25 at 0.8773 / 0.0242, 1 25/25 at 0.8720 / 0.0237,
#: "cv" (per eval set from ALPHA_GRID by inner 5-fold CV) 25/25 at 0.8701 / 0.0242 for 4.6x the CPU time.
#: AutoScale: before 16/25 with none converged, 0.8742 / 0.0242; 0.01: 3/25, 0.8768 / 0.0247.
POOLING_DEFAULT = 0.01
#: Iterations every start of an implicit fit runs before only the best goes on (``fit_models(screen_iter=...)``).
SCREEN_ITER = 100


class ExponentPoolingMixin:
    """``pooling`` (float, or ``"cv"``: chosen per implicit eval set by :func:`choose_pooling`) for a
    per-domain law with implicit aggregation: partial pooling of an implicit eval set's per-domain log rates
    :math:`\\ell_k = \\log c_k` (the last M parameters of its spec; :func:`shifted_power`) toward their mean,

    .. math:: \\text{pooling} \\sum_k (\\ell_k - \\bar \\ell)^2 \\quad\\text{(objective units)}.

    Why: a component :math:`w_k (r_k + \\epsilon)^{-e_k}` with a large exponent is a step in whether domain k is
    in the mixture at all, :math:`w_k \\epsilon^{-e_k}` at :math:`r_k = 0` and ~0 elsewhere. When a table
    has mostly-zero shares (Olmix DCLM: 66-99 % of the runs leave each domain out) the fit prefers that step,
    and raising :math:`e_k` while lowering :math:`\\log w_k` by :math:`e_k \\log \\epsilon` keeps the step's
    height: a flat ridge the solver walks along to the exponent bound, ending at max_iter. With the
    components written by :func:`shifted_power`, the exponents pooled are the log rates :math:`\\log c_k`;
    the pooling gives the remaining flat directions (a rate that only a few runs with domain k determine)
    curvature, so the fit ends at a finite optimum. Matched (single-domain) eval sets have one exponent and
    are not pooled.
    """

    def _fit(self, W: np.ndarray, Y: np.ndarray, ctx: Any) -> None:
        implicit = [t for i, t in enumerate(ctx.targets) if self._matched(i, ctx) is None]  # type: ignore[attr-defined]
        self.pooling_cv_: dict[str, dict[float, float]] = {}
        if self.pooling == "cv" and implicit:  # type: ignore[attr-defined]
            try:
                self.pooling_, self.pooling_cv_ = choose_pooling(self, W, Y, ctx, implicit)
            except TooFewObservationsError as err:
                if W.shape[0] <= err.n_params:
                    raise  # all the runs are too few as well: more runs is the only fix
                raise TooFewObservationsError(
                    f"{err}; a fixed strength fits the {W.shape[0]} runs: pooling={POOLING_DEFAULT} "
                    f"(--law-option pooling={POOLING_DEFAULT})", n_obs=err.n_obs, n_params=err.n_params,
                    grows=err.grows) from err
        else:
            self.pooling_ = {t: float(self.pooling) if self.pooling != "cv" else 0.0  # type: ignore[attr-defined]
                             for t in implicit}
        # Every eval set implicit: screen the starts (fit_models(screen_iter=...)); matched fits are left as they were.
        self._screen = len(implicit) == len(ctx.targets)
        super()._fit(W, Y, ctx)  # type: ignore[misc]

    def _engine_kw(self) -> dict[str, Any]:
        kw = super()._engine_kw()  # type: ignore[misc]
        if getattr(self, "_screen", False):
            kw["screen_iter"] = SCREEN_ITER
        return kw

    def _before_one(self, W: np.ndarray, y: np.ndarray, i: int, ctx: Any) -> None:
        super()._before_one(W, y, i, ctx)  # type: ignore[misc]
        implicit = self._matched(i, ctx) is None  # type: ignore[attr-defined]
        self._pool_now = float(self.pooling_.get(ctx.targets[i], 0.0)) if implicit else 0.0
        self._n_domains = W.shape[1]

    def _get_state(self) -> dict[str, Any]:
        return {**super()._get_state(), "pooling": self.pooling_}  # type: ignore[misc]

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)  # type: ignore[misc]
        old = [t for t, names in self._local_names.items() if any(n.startswith("log_w_") for n in names)]  # type: ignore[attr-defined]
        if old:
            # Saved before the components were written by shifted_power (log_w_<d>, alpha_<d> / b_<d>): the
            # same numbers would now be read as log_v / log_rate and predict something else.
            raise InputError(f"{type(self).__name__}: eval set(s) {old} were saved by an older mixlaw "
                             "(implicit components as log_w/exponent); refit the law")
        self.pooling_ = {str(k): float(v) for k, v in state.get("pooling", {}).items()}

    def _penalty_one(self, spec: Any) -> Any:
        lam = float(getattr(self, "_pool_now", 0.0))
        return pooling_penalty(lam, start=len(spec) - self._n_domains) if lam else None


__all__ = ["shifted_power", "shifted_power_batch", "shifted_power_log_w", "composition", "log_w_start", "LOG_W_BOUNDS",
           "RATE_BOUNDS", "ExponentPoolingMixin", "POOLING_DEFAULT"]
