"""Ye et al.'s exponential data mixing law, one eval set at a time.

.. math:: L_i(r) = c_i + k_i \\exp\\Big(\\sum_j t_{ij} r_j\\Big)

References
----------
Ye et al., "Data Mixing Laws: Optimizing Data Mixtures by Predicting Language Modeling Performance",
ICLR 2025, arXiv:2403.16952 (the multi-domain exponential law of domain losses).

Chen et al., "Aioli: A Unified Optimization Framework for Language Model Data Mixing", 2024, arXiv:2411.05735:
the "log-linear static" mixing law ``L_i(p) = c_i + b_i exp(-sum_j A_ij p_j)`` that Aioli's framework
parametrises is this law with ``k_i = b_i`` and ``t_ij = -A_ij``; fit it as ``ye-exp``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .._console import matrix_text
from .._solver import huber
from .._validation import Interval, Options, Real, check_is_fitted
from ..errors import InvalidParameterError
from ..fit import HUBER_DELTA, Param, Params, bound_note
from ._flat import FLAT_P, mixture_dependence_pvalue
from ._regularize import RidgeCVMixin
from .base import FitContext, PerTargetLaw, register
from .saved import state_caps

#: Headroom (nats) of the exponent above its largest fitted value before predictions saturate: a held-out mixture
#: can reach at most e times the largest fitted excess loss k exp(z).
Z_HEADROOM = 1.0


def saturate_exponent(z: np.ndarray, hi: float | None) -> np.ndarray:
    """``z`` unchanged up to ``hi``, then ``hi + Z_HEADROOM tanh((z - hi) / Z_HEADROOM)`` (smooth, < hi + Z_HEADROOM);
    ``hi`` None (a law saved before the cap): unchanged."""
    if hi is None:
        return z
    return np.where(z > hi, hi + Z_HEADROOM * np.tanh((z - hi) / Z_HEADROOM), z)

#: Bound on |t_ij r_j|: exp(30) covers any loss range seen in practice, and keeps the exponent finite. YeExponential
#: applies it at the domain's smallest positive share in the fitting runs, |t_ij| <= T_BOUND / min_runs r_j > 0.
T_BOUND = 30.0
#: Note on the t of a domain that no fitting run trains on (see :meth:`YeExponential._settle_unseen`).
UNSEEN_NOTE = "no fitting run has this domain: it acts as the runs' mean exponent per unit share"


def smallest_share(W: np.ndarray) -> np.ndarray:
    """Smallest positive share of each domain in the fitting runs (1 for a domain that never appears).

    Beyond |t_ij| = T_BOUND / smallest_share_j the term exp(t_ij r_j) is below e^-30 of its r_j = 0 value on every
    observed run with the domain: the data no longer tell such t apart, so this is where YeExponential bounds
    t_ij. A flat objective stops the optimiser before the bound; a bound on t itself (|t| <= 30) bound on RegMix
    dm_mathematics, which helps at any share (the fitted t is -330: the first 1 % of math does most of it).
    """
    pos = np.where(W > 0, W, np.inf).min(axis=0)
    return np.where(np.isfinite(pos), pos, 1.0)




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
class YeExponential(RidgeCVMixin, PerTargetLaw):
    """Ye et al.'s exponential mixing law, fitted independently on each eval set.

    Parameters
    ----------
    loss : {"huber", "mse"}, default="huber"
        Objective on log-loss residuals.
    huber_delta : float, default=1e-3
    n_restarts : int, default=8
        Optimiser starts per eval set (the data-driven start first, then seeded random ones).
    alpha : float or "cv", default=0.0
        Ridge penalty ``alpha * sum_j t_ij^2`` (objective units): t_ij is domain j's effect on the exponent at
        r_j = 1, so the ridge bounds what a prediction anywhere on the simplex can do. ``"cv"`` chooses it per
        eval set by inner 5-fold CV on the fitting runs from :data:`~mixlaw.laws._regularize.ALPHA_GRID`
        (``alpha_`` holds the choice); a number fixes it (what ``GridSearchCV`` tunes). With ``alpha > 0`` the law
        fits fewer runs than its M + 1 coefficients per eval set: the runs need only outnumber the two it leaves
        unpenalised (c, log_k; :func:`mixlaw.fit.ridge_counted_params`), ``"cv"`` then tries the stronger
        :data:`~mixlaw.laws._regularize.SMALL_P_GRID`, and the report counts the ridge's effective degrees of
        freedom. With ``alpha=0`` such a table is refused (:class:`~mixlaw.errors.TooFewObservationsError`).
    reference : str, "auto" or None, default="auto"
        The training domain whose ``t`` is fixed at 0. Mixture weights sum to 1, so a common shift of all
        ``t_ij`` is absorbed by ``k_i``: without a reference the law is not identifiable. ``"auto"`` (or None):
        the domain with the largest mean share in the fitting runs.
    bounds, fixed : dict, optional
        Per-parameter overrides: ``{"c": (0, 3)}`` applies to every target, ``{"pile_cc.c": ...}`` to one.
    random_state : int or Generator, default=0

    Attributes
    ----------
    params_ : Params
        ``<target>.c``, ``<target>.log_k`` (log of k_i) and ``<target>.t_<domain>``.
    alpha_ : dict of str to float
        Ridge strength used for each eval set.
    cv_scores_ : dict of str to dict
        With ``alpha="cv"``: held-out mean |log error| of every strength tried, per eval set.
    z_max_ : dict of str to float
        Per eval set, the largest exponent :math:`\\sum_j t_{ij} r_j` over the fitting runs; a prediction's
        exponent saturates ``Z_HEADROOM`` above it (:func:`saturate_exponent`).

    Notes
    -----
    .. math:: L_i(r) = c_i + k_i \\exp\\Big(\\sum_j t_{ij} r_j\\Big)

    The paper's symbols map to ours as: r -> ``weights``, L_i -> ``losses[:, i]``, c_i -> ``c``,
    k_i -> ``exp(log_k)``, t_ij -> ``t_<domain j>``. ``t_ij < 0``: domain j helps eval set i
    (facilitation); ``> 0``: conflict.

    Bounds: ``|t_ij| <= 30 / (smallest positive share of domain j)`` (:func:`smallest_share`), where the data stop
    telling t apart; a fixed bound ``|t_ij| <= 30`` on t itself was hit on RegMix dm_mathematics (issue 10). The
    ridge keeps large t that the fitting runs barely constrain in check: on Dai & Zheng's 43-run 1B split (seed
    3) an unpenalised t = 26 for nih_exporter, harmless over its fitted shares (<= 0.027), multiplied the
    predicted excess loss by 800 on a held-out run with 0.25 of it; CV sets how strongly.

    An eval whose losses do not depend on the mixture (F-test of :mod:`._flat`: log loss linear in the shares
    explains no more than chance) and whose fit ends on a bound predicts its constant loss, and the warning says
    the eval is flat (:meth:`_settle_flat`): on Ye's RedPajama runs a group of Pile evals spread 6 % without
    following the shares, and the unpenalised fit was a step (log_k at -30, t up to 74) that predicted held-out
    mixtures worse than the constant.

    References
    ----------
    Ye et al., "Data Mixing Laws: Optimizing Data Mixtures by Predicting Language Modeling Performance",
    ICLR 2025, arXiv:2403.16952 (the multi-domain exponential law of domain losses).

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

    loss_unit_params = {"c": 1}  # in the losses' unit (units.LossUnits._loss_unit)
    log_loss_unit_params = {"log_k": 1}
    _parameter_constraints = {**PerTargetLaw._parameter_constraints,
                              "alpha": [Interval(Real, 0, None, closed="left"), Options({"cv"})],
                              "reference": [str, None]}

    def __init__(self, *, loss: str = "huber", huber_delta: float = HUBER_DELTA, n_restarts: int = 8,
                 alpha: float | str = 0.0, reference: str | None = "auto",
                 bounds: dict[str, tuple[float, float]] | None = None, fixed: dict[str, float] | None = None,
                 random_state: int | np.random.Generator | None = 0) -> None:
        super().__init__(loss=loss, huber_delta=huber_delta, n_restarts=n_restarts, bounds=bounds, fixed=fixed,
                         random_state=random_state)
        self.alpha, self.reference = alpha, reference

    def _fit(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext) -> None:
        self._t_bound = T_BOUND / smallest_share(W)
        super()._fit(W, Y, ctx)
        for i, t in enumerate(ctx.targets):
            self._settle_flat(W, Y[:, i], t)
        self._settle_unseen(W, ctx)
        self.z_max_ = {t: float(np.max(W @ self._values_for(t)[2:])) for t in ctx.targets}

    def _settle_unseen(self, W: np.ndarray, ctx: FitContext) -> None:
        """Give a domain that no fitting run has the runs' mean exponent per unit share (as :class:`YePower`).

        Its column is 0 in every run, so nothing in the objective moves its t: the fit kept whichever start won,
        a seeded random draw. On 40 runs of 4 domains with one never trained on (losses 2.44-3.01), t = 2.6 from a
        random start predicted 3.31 for a held-out mixture with 21 % of that domain and 4.88 for it alone. The mean
        of ``sum_j t_ij r_j`` over the fitting runs predicts that domain alone like the average run.
        """
        unseen = np.flatnonzero(~(W > 0).any(axis=0))
        if unseen.size == 0:
            return
        params = dict(self.params_)
        for t in ctx.targets:
            mean_z = float(np.mean(W @ self._values_for(t)[2:]))
            for j in unseen:
                p = params[f"{t}.t_{ctx.domains[j]}"]
                if p.vary:  # a user's fixed= value stays
                    params[p.name] = dataclasses.replace(p, value=float(np.clip(mean_z, p.min, p.max)), stderr=None,
                                                         note=UNSEEN_NOTE)
        self.params_ = Params(list(params.values()))

    def _settle_flat(self, W: np.ndarray, y: np.ndarray, target: str) -> None:
        """An eval whose losses do not depend on the mixture, fitted as a step, predicts its constant loss.

        The step: log_k or a t on its bound (k exp(t . r) vanishes on most runs and is fitted to a few); or c at 0,
        the noise fitted log-linearly. When the F-test of :mod:`._flat` finds no dependence on the shares
        (p >= FLAT_P), the constant is the fit (c the losses' median in log, or mean for ``loss="mse"``; k -> 0:
        log_k at its lower bound; t = 0) and the warning says the eval is flat; when it finds one, the bound
        warning says the fit is a step (c at 0 alone keeps its plain bound warning: Ye's law without a floor). On Ye's
        RedPajama runs (nested pipeline) the constant lowered the 1B MRE at the last step from 2.41 to 2.34 %
        (shared exponents) and 2.39 to 2.18 % (own); a wider log_k bound or more starts lowered the objective and
        left it at 2.42 / 2.39 % (``bench/ye_public_runs.py``'s docstring).
        """
        res = self.results_[target]
        names = self._local_names[target]
        prm = [res.params[f"{target}.{n}"] for n in names]
        lk = prm[1]
        # The parameters the fit's bound warnings name, read from them: at_bound on the values in the losses' own
        # unit is absolute (1e-6), and at x 1e-9 found every c (2.5e-9) at its bound 0 (units.LossUnits._loss_unit).
        noted = set(res.warnings)
        on = [p for p in prm if p.vary and bound_note(p) in noted]
        if not on:
            return
        # Fitted under a ridge with no more runs than coefficients, the F-test has at most one residual dof per run
        # beyond the domains (1 at 40 runs of Marin Delphi's 39): it could not find the mixture in table9_obj and the
        # law predicted a constant (held-out Spearman undefined, RMSE 0.048 against the ridge fit's). No test then.
        pval = None if target in (getattr(self, "_ridge_flat", None) or {}) else mixture_dependence_pvalue(W, y)
        spread = 100 * float(np.ptp(y) / np.median(y))
        if pval is None or pval < FLAT_P or not (prm[0].vary and lk.vary):
            # c at 0 on an eval that follows the mixture is Ye's law without a floor (log-linear), not a step.
            step = [p for p in on if p is not prm[0]]
            if not step:
                return
            bound_msgs = {bound_note(p) for p in step}
            rest = [m for m in res.warnings if m not in bound_msgs]
            why = ("too few runs to test whether it depends on the mixture" if pval is None else
                   f"its losses depend on the mixture (F-test of log loss linear in the shares: p = {pval:.2g}; "
                   f"spread {spread:.2g} %)")
            msg = (f"{', '.join(sorted(bound_msgs))}: the fit is a step ({why}): k exp(t . r) vanishes on most "
                   "runs and is fitted to a few; a ridge (alpha='cv') keeps t finite")
            self.results_[target] = dataclasses.replace(res, warnings=[*rest, msg])
            return
        ly = np.log(y)
        # The constant prediction is c + exp(log_k) at t = 0: c takes the level less k's floor (a user's log_k
        # bound above -30 leaves a k that is not negligible). A level c's bounds or t's cannot reach (bounds set by
        # the user) keeps the unconstrained fit: clipped, the "constant" was c's bound, not the losses' level.
        level = float(np.exp(np.median(ly) if self.loss == "huber" else np.mean(ly)))
        c = level - float(np.exp(lk.min))
        if not (prm[0].min <= c <= prm[0].max) or any(p.vary and not p.min <= 0.0 <= p.max for p in prm[2:]):
            return
        bound_msgs = {bound_note(p) for p in on}
        rest = [m for m in res.warnings if m not in bound_msgs]
        values = {prm[0].name: c, lk.name: lk.min, **{p.name: 0.0 for p in prm[2:] if p.vary}}
        new = [dataclasses.replace(p, value=float(values[p.name]), stderr=None) if p.name in values else p
               for p in res.params.values()]
        resid = np.log(c + np.exp(lk.min)) - ly
        rho = huber(resid, self.huber_delta)[0] if self.loss == "huber" else 0.5 * resid ** 2
        msg = (f"{target}: this eval does not depend on the mixture within noise (F-test of log loss linear in the "
               f"shares: p = {pval:.2f} >= {FLAT_P:g}; its losses spread {spread:.2g} %, which the shares do not "
               f"explain): the law predicts its constant loss c = {c:.4g} (k -> 0: log_k at its lower bound "
               f"{lk.min:g}, t = 0), not the mixture effects of its unconstrained fit "
               f"({', '.join(sorted(bound_msgs))})")
        self.results_[target] = dataclasses.replace(
            res, params=Params(new), objective=float(np.mean(rho)) / self.huber_delta ** 2, residuals=resid,
            warnings=[*rest, msg], correl=None)
        self.params_ = Params([dataclasses.replace(p, value=float(values[p.name]), stderr=None)
                               if p.name in values else p for p in self.params_.values()])

    def _coefficients_per_eval(self, M: int) -> int:
        return M + 1  # c, log_k and t less the reference domain's

    def _ridge_block(self, M: int) -> tuple[int, int, bool]:
        return 2, 2 + M, False  # theta = [c, log_k, t_1..t_M]

    def _spec_one(self, W: np.ndarray, y: np.ndarray, i: int, ctx: FitContext) -> list[Param]:
        self._ref = _reference_index(W, ctx.domains, self.reference)
        c0, lk0, t0 = ye_init(W, y, self._ref)
        # c <= max(L), not min(L): with Huber on RegMix's noisy 1M losses the best c sits above min(L)
        # (Spearman on test_1m 0.962 vs 0.957 with c <= min(L)).
        ps = [Param("c", c0, c0, 0.0, float(y.max())), Param("log_k", lk0, lk0, -30.0, 30.0)]
        for j, d in enumerate(ctx.domains):
            hi = float(self._t_bound[j])
            if j == self._ref:
                ps.append(Param(f"t_{d}", 0.0, 0.0, -hi, hi, vary=False, note="reference domain"))
            else:
                t = float(np.clip(t0[j], -hi + 1, hi - 1))
                ps.append(Param(f"t_{d}", t, t, -hi, hi))
        return ps

    def _get_state(self) -> dict[str, Any]:
        return {**super()._get_state(), "z_max": self.z_max_}

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self.z_max_ = state_caps(state, "z_max", self.targets_)

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

    def _predict_one(self, W: np.ndarray, values: np.ndarray, i: int, ctx: FitContext) -> np.ndarray:
        c, lk, t = values[0], values[1], values[2:]
        z = saturate_exponent(W @ t, getattr(self, "z_max_", {}).get(self.targets_[i]))
        return c + np.exp(lk + z)

    def _model_batch(self, W: np.ndarray, ctx: FitContext) -> Any:
        def model(theta: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            e = np.exp(theta[:, 1:2] + theta[:, 2:] @ W.T)  # (r, n)
            jac = np.empty((theta.shape[0], W.shape[0], theta.shape[1]))
            jac[:, :, 0] = 1.0
            jac[:, :, 1] = e
            jac[:, :, 2:] = e[:, :, None] * W[None, :, :]
            return theta[:, :1] + e, jac

        return model

    def interactions(self) -> np.ndarray:
        """The fitted t_ij matrix, shape (n_targets, n_domains), reference column 0."""
        check_is_fitted(self)
        return np.array([self._values_for(t)[2:] for t in self.targets_])

    def _extra_report_sections(self) -> list[tuple[str, str]]:
        T = self.interactions()
        table = matrix_text(T, self.targets_, self.domains_)
        ref = self.domains_[self._ref] if hasattr(self, "_ref") else self.domains_[int(np.argmax(T[0] == 0))]
        # t_ij is identified only relative to the reference domain (its t is fixed at 0, absorbed by k_i).
        return [(f"Interactions t_ij  (rows: eval sets, columns: training domains; relative to the reference "
                 f"domain {ref!r}, t = 0: <0 lowers the eval loss more than {ref!r} does, >0 less)",
                 table)]
