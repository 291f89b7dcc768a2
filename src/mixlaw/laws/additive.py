"""Shukor et al.'s additive data mixing law, and an average of its free- and shared-exponent fits.

.. math:: L_i(r) = E_i + \\frac{1}{\\sum_j C_{ij} r_j^{\\gamma_{ij}}}

References
----------
Shukor et al., "Scaling Laws for Optimal Data Mixtures", 2025, arXiv:2507.09404 (the additive law at a
fixed model size and token budget).
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import numpy as np
from scipy.optimize import nnls

from .._validation import Interval, Options, Real
from ..errors import ConvergenceWarning, DataWarning, FitError, InvalidParameterError
from ..fit import HUBER_DELTA, Param, Params, pooling_penalty, random_start
from ._regularize import RidgeCVMixin
from .base import FitContext, MixingLaw, PerTargetLaw, law_from_dict, register

#: Exponent range: gamma in (0, 3] keeps r^gamma increasing and finite at r = 0.
GAMMA_BOUNDS = (0.01, 3.0)
#: log C range: C = e^-20 makes a domain's term negligible at any share, e^20 makes it dominate at r = 1e-8.
LOG_C_BOUNDS = (-20.0, 20.0)
_LC_START = (LOG_C_BOUNDS[0] + 1, LOG_C_BOUNDS[1] - 1)  # starts stay off the bounds
#: Start search (:func:`additive_start`): E as a fraction of the smallest loss (E must lie below every loss),
#: and one exponent shared by all domains, spanning GAMMA_BOUNDS on a log scale.
START_E_FRACTIONS = (0.0, 0.5, 0.75, 0.9, 0.97)
START_GAMMAS = (0.25, 0.5, 1.0, 2.0)
#: Rows the start search uses at most (evenly spaced through the table): a start only has to land in the
#: optimum's basin, and the search then costs the same at 100k runs as at 4k.
START_ROWS = 4096
#: A domain whose non-negative least-squares C is 0 starts at this fraction of the largest C, not at the
#: log C bound (where its term, and so its gradient, would vanish).
START_C_FLOOR = 1e-3
#: Tables with more than twice this many runs (or 40 per parameter, if more) run the multistart on that many
#: evenly spaced runs and then one start, from its optimum, on every run (see ``ShukorAdditive._fit``).
SUBSAMPLE_ROWS = 4096
#: Note on the C and gamma of a domain that no fitting run trains on (see :meth:`ShukorAdditive._settle_unseen`).
UNSEEN_NOTE = ("no fitting run has this domain: alone it is predicted like the average run (C = the runs' mean "
               "sum_j C_j r_j^gamma_j, gamma = the other domains' mean)")


def additive_start(W: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, float]:
    """Data-driven start ``(E, log C, gamma)`` for one eval set: the law linearised in C, on a grid of E and gamma.

    For fixed E and one exponent gamma for every domain, :math:`1 / (L - E) = \\sum_j C_j r_j^{\\gamma}` is
    linear in C. Each (E, gamma) of ``START_E_FRACTIONS x START_GAMMAS`` gets its non-negative least-squares
    C, with rows weighted by :math:`(L - E)^2 / L` (which turns a residual in :math:`1 / (L - E)` into the
    first-order residual in :math:`\\log L` that the fit minimises); the pair whose C gives the smallest mean
    :math:`|\\log \\hat L - \\log L|` is the start.

    Why: the earlier start (E = 0.9 min L, all C equal, gamma 0.5) is far from the optimum when domains differ,
    and at 50 domains Levenberg-Marquardt did not converge from it within 500 iterations (it did within
    3,000); from this start it converges in tens.
    """
    n, M = W.shape
    idx = spread_rows(n, START_ROWS)
    Ws, ys = W[idx], y[idx]
    pos = Ws > 0
    logw = np.log(np.where(pos, Ws, 1.0))
    best: tuple[float, float, np.ndarray, float] | None = None
    for q in START_E_FRACTIONS:
        e0 = q * float(y.min())  # the whole table's: E below every loss, not only the sampled ones
        z, wt = 1.0 / (ys - e0), (ys - e0) ** 2 / ys
        for g in START_GAMMAS:
            X = np.where(pos, np.exp(g * logw), 0.0)
            # NNLS on the triangular factor: same solution as on the weighted rows, at O(M^3) per active set.
            Q, R = np.linalg.qr(X * wt[:, None])
            try:
                C, _ = nnls(R, Q.T @ (z * wt), maxiter=50 * M)
            except RuntimeError:  # no active set within maxiter: try the next pair
                continue
            if not np.any(C > 0):
                continue
            with np.errstate(divide="ignore", invalid="ignore"):
                err = float(np.mean(np.abs(np.log((e0 + 1.0 / (X @ C)) / ys))))
            if np.isfinite(err) and (best is None or err < best[0]):
                best = (err, e0, C, g)
    if best is None:  # every pair failed
        return equal_c_start(W, y)
    _, e0, C, g = best
    return e0, np.log(np.maximum(C, START_C_FLOOR * C.max())), g


def equal_c_start(W: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, float]:
    """Start ``(E, log C, gamma)``: E = 0.9 min L, gamma 0.5 and one C for every domain, chosen so that
    :math:`1 / \\sum_j C r_j^{0.5}` matches the mean excess loss."""
    e0 = 0.9 * float(y.min())
    lc0 = float(np.log(1.0 / (float(np.mean(y - e0)) * float(np.mean((W ** 0.5).sum(axis=1))))))
    return e0, np.full(W.shape[1], lc0), 0.5


def spread_rows(n: int, k: int) -> np.ndarray:
    """``min(n, k)`` row indices evenly spaced over ``0 .. n-1`` (first and last included): deterministic, and
    a table sorted by anything is still covered end to end."""
    return np.unique(np.linspace(0, n - 1, min(n, k)).round().astype(np.int64))


def unseen_values(W: np.ndarray, values: np.ndarray, unseen: np.ndarray) -> tuple[float, float]:
    """``(log C, gamma)`` of the domains ``unseen`` (0 in every row of ``W``) for one eval set's fitted ``values``
    ``[E, log C_1..M, gamma_1..M]`` (:meth:`ShukorAdditive._settle_unseen`): log of the rows' mean
    :math:`\\sum_j C_j r_j^{\\gamma_j}`, and the other domains' mean gamma (1 when there are none). A bootstrap's
    batched refits (:mod:`mixlaw.bootstrap`) apply the same rule to each resample."""
    M = W.shape[1]
    pos = W > 0
    logw = np.log(np.where(pos, W, 1.0))
    log_c, g = values[1:1 + M], values[1 + M:]
    S = np.where(pos, np.exp(log_c[None, :] + g[None, :] * logw), 0.0).sum(axis=1)
    seen = np.setdiff1d(np.arange(M), unseen)
    return float(np.log(np.mean(S))), float(np.mean(g[seen])) if seen.size else 1.0


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
        inner 5-fold CV (:mod:`mixlaw.laws._regularize`), for many domains and few runs. With ``alpha > 0`` it
        fits fewer runs than its 2M + 1 coefficients if the runs outnumber what is left unpenalised: E, the mean
        log C and, unless ``gamma_pooling > 0`` pools them, all M exponents (:func:`mixlaw.fit.ridge_counted_params`;
        30 runs of 39 domains need ``gamma_pooling``); ``alpha=0`` refuses such a table.
    n_restarts : int, default=2
        Optimiser starts per eval set: the linearised start (:func:`additive_start`), then the equal-C start
        (:func:`equal_c_start`), then seeded random ones inside the bounds; 1 runs the linearised start alone.
    loss, huber_delta, bounds, fixed, random_state
        As in :class:`~mixlaw.laws.YeExponential`.

    Attributes
    ----------
    params_ : Params
        ``<target>.E``, ``<target>.log_C_<domain>`` (log C_ij) and ``<target>.gamma_<domain>``.
    subsample_rows_ : int or None
        On a table of more than ``2 * max(4096, 40 * n_params)`` runs, the starts were run on this many evenly
        spaced runs and the fit on all runs started from their best (``results_`` then counts that one start);
        ``None`` otherwise.
    alpha_ : dict of str to float
        Ridge strength used per eval set.
    cv_scores_ : dict of str to dict
        With ``alpha="cv"``: held-out mean |log error| of every strength tried, per eval set.

    Notes
    -----
    .. math:: L_i(r) = E_i + \\frac{1}{\\sum_j C_{ij} r_j^{\\gamma_{ij}}}

    Symbols: r -> ``weights``, E_i -> ``E``, C_ij -> ``exp(log_C_<domain j>)``, gamma_ij -> ``gamma_<domain j>``.
    ``r_j = 0`` is fine: the term vanishes (gamma > 0), so unlike power laws in r_i the law is finite on
    the whole simplex. A domain that never appears in the fitting runs has unidentified C and gamma
    (:meth:`_settle_unseen`): its C is the runs' mean of :math:`\\sum_j C_{ij} r_j^{\\gamma_{ij}}`, so that a
    mixture of only that domain is predicted like the average run (as the exponential laws give such a domain
    the runs' mean exponent), and its gamma the mean of the other domains' (where ``gamma_pooling`` > 0 puts it).

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

    loss_unit_params = {"E": 1}  # in the losses' unit (units.LossUnits._loss_unit)
    log_loss_unit_params = {"log_C_*": -1}  # C in 1 / loss
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
        # Two data-driven starts: the linearised fit (the spec's init) and equal C (the second start, kept
        # for _spec_prefixed). Each finds optima the other misses: at 50 domains only the first converges
        # within 500 iterations; on 3 domains with Dirichlet(0.5) shares the first ends in a worse local
        # minimum (objective 9.8 against 7.6, E 0.84 against the true 1.0; tests/laws/test_baselines.py).
        # A caller's warm refit (warm_clone: bootstrap, CV) starts from the full-data optimum; the linearised
        # search would cost about as much as the refit itself, so its fallback starts use equal C only. (A big
        # table's own subsample start, see _fit, keeps both.)
        warm = getattr(self, "_warm_start", None) is not None and getattr(self, "subsample_rows_", None) is None
        e0, lc0, g0 = equal_c_start(W, y) if warm else additive_start(W, y)
        e1, lc1, g1 = equal_c_start(W, y)
        self._second = np.concatenate([[e1], np.clip(lc1, *_LC_START), np.full(W.shape[1], g1)])
        ps = [Param("E", e0, e0, 0.0, float(y.max()))]
        ps += [Param(f"log_C_{d}", float(v), float(v), *LOG_C_BOUNDS)
               for d, v in zip(ctx.domains, np.clip(lc0, *_LC_START), strict=True)]
        ps += [Param(f"gamma_{d}", g0, g0, *GAMMA_BOUNDS) for d in ctx.domains]
        return ps

    def _spec_prefixed(self, params: list[Param]) -> Params:
        # The starts of this eval set, from its final spec (user bounds and fixed values applied): the two
        # data-driven ones, then n_restarts - 2 seeded random ones drawn as the engine draws them.
        spec = super()._spec_prefixed(params)
        init, lo, hi, free = spec.array("init"), spec.array("min"), spec.array("max"), spec.vary_mask
        rows = [init, np.where(free, np.clip(self._second, lo, hi), init)][:max(1, int(self.n_restarts))]
        for _ in range(int(self.n_restarts) - len(rows)):
            r = init.copy()
            r[free] = random_start(init[free], lo[free], hi[free], self._rng)
            rows.append(r)
        self._starts.append(np.array(rows))
        return spec

    def _engine_kw(self) -> dict[str, Any]:
        return {**super()._engine_kw(), "starts": self._starts}

    def _fit(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext) -> None:
        # Big tables: every start on a subsample, then Levenberg-Marquardt on all runs from the subsample's
        # optimum, which is close to the full one (its parameters differ by sampling error). A start far from
        # the optimum can need hundreds of iterations, each O(runs x params^2), so at 100k runs the random
        # starts alone took ~6x ye-exp's whole fit; here their cost does not grow with the runs. A polish
        # that does not converge falls back to every start on every run (fit_models' warm-start rule).
        self._starts: list[np.ndarray] = []  # filled per eval set by _spec_prefixed
        k = max(SUBSAMPLE_ROWS, 40 * (2 * W.shape[1] + 1))
        self.subsample_rows_ = None
        if W.shape[0] > 2 * k and getattr(self, "_warm_start", None) is None:
            idx = spread_rows(W.shape[0], k)
            sub = self.clone()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)  # the full fit says whether it converged
                    sub.fit(W[idx], Y[idx], domains=ctx.domains, targets=ctx.targets)
            except FitError:
                pass  # no usable subsample optimum: every start on every run
            else:
                self._warm_start = sub.params_
                self.subsample_rows_ = int(idx.size)
        try:
            super()._fit(W, Y, ctx)
        finally:
            if self.subsample_rows_ is not None:
                del self._warm_start  # this fit's own (a caller's warm_clone start stays)
        self._settle_unseen(W)

    def _settle_unseen(self, W: np.ndarray) -> None:
        """Give a domain that no fitting run has C = the runs' mean of :math:`\\sum_j C_j r_j^{\\gamma_j}` and
        gamma = the mean of the other domains' gammas (as ye-exp gives it the runs' mean exponent).

        Its column is 0 in every run, so nothing in the objective moves its log C or gamma: the fit kept its start
        (the linearised start's floor, ``START_C_FLOOR`` of the largest C). On 40 runs of 4 domains with one never
        trained on (losses 2.44-3.02), a held-out mixture with 21 % of that domain was predicted at 1.22 and the
        domain alone at 0.85 (additive-ens: 1.92 / 1.53). With C the runs' mean sum, the domain alone is predicted
        like the average run; gamma is where partial pooling of the exponents (``gamma_pooling`` > 0, as in
        additive-ens's shared member) puts it, the limit of that pooling as it goes to 0 in the free form.
        """
        unseen = np.flatnonzero(~(W > 0).any(axis=0))
        if unseen.size == 0:
            return
        params = dict(self.params_)
        for t in self.targets_:
            log_c, g = unseen_values(W, self._values_for(t), unseen)
            for j in unseen:
                d = self.domains_[j]
                for name, value in ((f"{t}.log_C_{d}", log_c), (f"{t}.gamma_{d}", g)):
                    p = params[name]
                    if p.vary:  # a user's fixed= value stays; within bounds, so that a warm refit can start there
                        params[name] = replace(p, value=float(np.clip(value, p.min, p.max)), stderr=None,
                                               note=UNSEEN_NOTE)
        self.params_ = Params(list(params.values()))

    def _own_penalty(self, spec: Any) -> Any:
        return pooling_penalty(self.gamma_pooling, start=1 + (len(spec) - 1) // 2)  # theta = [E, log_C, gamma]

    def _coefficients_per_eval(self, M: int) -> int:
        return 2 * M + 1  # E, log_C, gamma

    def _few_runs_hint(self, ridged: bool) -> str:
        # The ridge on log C leaves every exponent unpenalised: only pooling them brings the count to 2 (E, mean log C)
        # plus their mean.
        if self.gamma_pooling > 0:
            return super()._few_runs_hint(ridged)
        pool = "gamma_pooling=1 (--law-option gamma_pooling=1) pools the exponents"
        return (f"with alpha > 0, {pool}" if ridged else
                f"a ridge with pooled exponents fits fewer runs than coefficients: alpha='cv' and {pool.split(' (')[0]}"
                " (--law-option alpha=cv --law-option gamma_pooling=1)")

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

    def _predict_one(self, W: np.ndarray, values: np.ndarray, i: int, ctx: FitContext) -> np.ndarray:
        # _model_one's prediction by the same operations, without its Jacobian (an optimiser's finite differences
        # predict 2M + 1 mixtures per step, thousands of times).
        M = W.shape[1]
        pos = W > 0
        logw = np.log(np.where(pos, W, 1.0))
        P = np.where(pos, np.exp(values[1:1 + M][None, :] + values[1 + M:][None, :] * logw), 0.0)
        return values[0] + 1.0 / P.sum(axis=1)

    def _model_batch(self, W: np.ndarray, ctx: FitContext) -> Any:
        # W may also be a stack (B, n, M) of weight matrices, one per batch row (rows 0..B-1 of the solve), which
        # ``rows`` then picks (the model does not depend on the eval set): a bootstrap refits many resamples at once
        # on their own runs.
        n, M = W.shape[-2:]
        pos = W > 0
        lw = np.log(np.where(pos, W, 1.0))
        ab, keep, ones = ~pos, pos.astype(np.float64), np.ones(M)

        def pick(a: np.ndarray, rows: np.ndarray) -> np.ndarray:
            # A stack's rows, without a copy while every row is still being solved (rows is then 0..B-1).
            return a if a.ndim == 2 or rows.size == a.shape[0] else a[rows]

        def model(theta: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            log_c, g = theta[:, None, 1:1 + M], theta[:, None, 1 + M:]
            logw = pick(lw, rows)
            # The same operations as P = where(pos, exp(log_c + g log r), 0), Pi = P / S^2, in the same order, but
            # in place: one (r, n, M) array instead of eight, which cost more than the arithmetic when many rows
            # are solved at once (batched bootstrap refits).
            P = np.multiply(g, logw)
            np.add(log_c, P, out=P)
            np.exp(P, out=P)
            # Zero where r_j = 0 (there log r = 0, so P = C_j, finite unless log C > 709, i.e. user bounds beyond
            # LOG_C_BOUNDS): a product with the 0/1 mask is the same value as the masked copy at a tenth of its cost.
            if theta.shape[0] and np.max(theta[:, 1:1 + M]) < 700.0:
                np.multiply(P, pick(keep, rows), out=P)  # C_j r_j^gamma_j, (r, n, M)
            else:
                np.copyto(P, 0.0, where=pick(ab, rows))
            S = P @ ones  # the sum over domains (a third of P.sum(axis=2)'s time: BLAS)
            np.multiply(P, (-1.0 / (S * S))[:, :, None], out=P)  # -P / S^2, the derivative of 1 / S
            jac = np.empty((theta.shape[0], n, theta.shape[1]))
            jac[:, :, 0] = 1.0
            jac[:, :, 1:1 + M] = P
            np.multiply(P, logw, out=jac[:, :, 1 + M:])
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
        Both members' parameters, prefixed ``free:`` and ``shared:``. Against the fitted losses (a fit needs
        more losses than parameters) the shared member's exponents count once: 3M + 3 per eval set at M
        domains, not 2 (2M + 1).

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
        warm = getattr(self, "_warm_start", None)  # a refit (warm_clone): each member starts from its optimum
        for tag, m in zip(("free", "shared"), self.members_, strict=False):
            if warm is not None:
                m._warm_start = Params([replace(p, name=p.name.split(":", 1)[1]) for p in warm.values()
                                        if p.name.startswith(f"{tag}:")])
            with warnings.catch_warnings():
                # The ensemble's own fit says it once, by its name: each member said "law 'additive': the 20 runs
                # hold 5 distinct mixtures ..." again, twice beside additive-ens's line.
                warnings.filterwarnings("ignore", message=r"law 'additive': the \d+ runs hold", category=DataWarning)
                try:
                    m.fit(W, Y, domains=ctx.domains, targets=ctx.targets)
                except InvalidParameterError as err:
                    # Said by the member: "The 'fixed' parameter of ShukorAdditive names unknown parameter(s)
                    # ['free:pile_cc.E']", a class the user did not build, for a name params_ itself shows.
                    raise InvalidParameterError(
                        str(err).replace(f"of {type(m).__name__}", f"of {type(self).__name__}", 1)
                        + " (bounds= and fixed= apply to both members, named without params_'s 'free:' / "
                        "'shared:')") from None
            plist += [replace(p, name=f"{tag}:{p.name}") for p in m.params_.values()]
            results.update({f"{tag}:{k}": r for k, r in m.results_.items()})
        self.params_, self.results_ = Params(plist), results

    def _n_free_checked(self) -> int:
        # The shared member's exponents are one per eval set (shared_pooling pins them together), so they count
        # once: 2M + 1 + M + 2 per eval set. Counted as 2 (2M + 1), Olmix DCLM's 24 domains (98 parameters) were
        # refused on a 5-fold CV's 80-run folds, where the ensemble has 75.
        free, shared = self.members_
        n_gamma = sum(p.vary for p in shared.params_.values()
                      if any(p.name.startswith(f"{t}.gamma_") for t in self.targets_))
        return free.n_params_ + shared.n_params_ - max(0, n_gamma - len(self.targets_))

    def _predict(self, W: np.ndarray, ctx: FitContext) -> np.ndarray:
        return 0.5 * (self.members_[0]._predict(W, ctx) + self.members_[1]._predict(W, ctx))

    def _get_state(self) -> dict[str, Any]:
        return {"members": [m.to_dict() for m in self.members_]}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.members_ = [law_from_dict(d) for d in state["members"]]
