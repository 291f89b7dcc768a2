"""Dai & Zheng's capacity-competition law (their Eq. 1), fitted jointly over all matched eval sets.

.. math::

    x^*(h, N) = \\arg\\min_{x:\\ \\sum_j x_j = N + (M-1)H,\\ x_j \\ge H} \\sum_{j=1}^{M} h_j c_j x_j^{-b_j},
    \\qquad L_i(h, N) = c_i\\, x_i^*(h, N)^{-b_i} + E_i

References
----------
Dai & Zheng, "Explaining Data Mixing Scaling Laws", ICML 2026, arXiv:2606.08167, Eq. (1) (capacity competition)
with the KKT solution of its allocation problem; reference code github.com/meiqwq/Explaining-Data-Mixing-Scaling-Laws,
utils/fitting_algos/law1.py (one model size: the whole budget ``sum_j x_j`` fixed at 200, its ``K``, floor H = 0.3, its
``MIN_X``; here N = 200, so the budget is N + (M-1)H, 204.8 at RegMix's 17 domains).
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import Integral, Interval, Real, check_is_fitted, renamed
from ..errors import ConvergenceWarning, DataWarning, InputError, TooFewObservationsError, user_stacklevel
from ..fit import HUBER_DELTA, FitResult, Param, Params, fit_models, random_start
from ._capacity import solve_allocation
from ._capacity_model import _CapacityModel
from .base import FitContext, MixingLaw, _warm_vector, register, state_bool
from .bimix import CONSTANT_SHARE_NOTE

#: Bounds of the shared parameters. log c in [-8, 8] and b in [0.01, 2] cover every fit seen on RegMix with
#: room to spare; b > 0 keeps the allocation problem convex (b = 0 makes x* undefined).
LOG_C_BOUNDS = (-8.0, 8.0)
B_BOUNDS = (0.01, 2.0)
#: Start values: b = 0.3 (typical fitted exponent), E_i = 0.7 min L_i (the irreducible part of the loss).
B_INIT = 0.3
E_INIT_FRAC = 0.7
#: Further data-driven starts (b, E/min L): the landscape is non-convex and flat along E_i vs (c_i, b_i) (small b
#: makes c x^-b nearly linear in log x, so E and c trade off); on RegMix 1B these starts lead after a few hundred
#: iterations, each on some of Eq. 1 / Eq. 3 / the safe form. Seeded random starts follow when more are asked.
ALT_INITS = ((0.15, 0.0), (0.05, 0.5), (0.6, 0.0), (0.15, 0.9))
#: Solver iterations of the final refinement (a cap; converged rows stop long before), and of a warm-started refit
#: (:func:`~.base.warm_clone`: bootstrap replicates, backtests). A law whose valleys need more sets ``_refine_iter``
#: (dz-eq3: :class:`~.dz_eq3.DZNoise`); a cold fit (``--law auto``'s CV folds are) gets that law's own cap.
MAX_ITER = 3000


#: A domain's share counts as the same in every fitting run when its spread is at most this (relative): the
#: rounding of one share (0.2 renormalised in each run), as in BiMix and AutoScale.
CONSTANT_SHARE_TOL = 1e-9
#: Note on the E of an eval set whose matched domain's terms are held (it carries the eval's level).
LEVEL_NOTE = "its domain's share is the same in every fitting run and it has no fitted entry: the eval's level"


#: Eval sets whose median losses differ by more than this factor get a DataWarning (:meth:`_CapacityLaw._fit`):
#: one c_j sets both eval set j's loss scale and domain j's demand for capacity, so the law is not the same law
#: on an eval set in another unit. RegMix's 13 eval sets span a factor 1.8, Marin's 9 metrics 1.5; one eval set
#: of three x 1e-3 moved the other two's predictions by 11 % (dz-eq1), x 1e-9 left its own off by 1.6e5x.
EVAL_SCALE_SPREAD = 100.0


#: Bounds of the composition logits z of an implicitly aggregated eval set (s = softmax(z)): s_k down to ~e^-40
#: of the largest share, i.e. 0 for any practical purpose.
Z_BOUNDS = (-20.0, 20.0)


#: Scales of the partial pooling (``pooling``): one e-fold for the log-coefficients, a typical exponent (B_INIT)
#: for the exponents.
POOL_SCALES = (("log_c_", 1.0), ("b_", B_INIT), ("log_A_", 1.0), ("a_", B_INIT), ("log_d_", 1.0))


def pooling_prior(spec: Params, n_obs: int, strength: float) -> Any:
    """Partial pooling of each per-domain block (log c, b, log A, a, log d) toward the block's mean.

    ``(strength / n_obs) * sum_blocks sum_j ((theta_j - mean_block) / scale_block)^2 / 2`` in the fit objective's
    units (mean Huber of log residuals over delta^2): each squared scale unit weighs as much as ``strength`` fitted
    entries with a log residual of delta. A Gaussian prior that the domains share a typical exponent and
    coefficient; it pulls the mean of no block, so it leaves the level the data fix alone and only curves the
    directions the data leave flat. Quadratic with a constant Hessian (the solver's fast path). None when
    ``strength`` is 0 or no block has two free parameters.
    """
    if strength <= 0:
        return None
    names, free = list(spec), spec.vary_mask
    Q = np.zeros((len(names), len(names)))
    for prefix, scale in POOL_SCALES:
        idx = np.array([i for i, nm in enumerate(names) if nm.startswith(prefix) and free[i]], dtype=int)
        if idx.size >= 2:
            Q[np.ix_(idx, idx)] += strength / n_obs / scale ** 2 * (np.eye(idx.size) - 1.0 / idx.size)
    if not Q.any():
        return None

    def penalty(theta: np.ndarray) -> tuple[float, np.ndarray]:
        g = Q @ theta
        return 0.5 * float(theta @ g), g

    penalty.hessian = lambda theta: Q  # type: ignore[attr-defined]
    penalty.quadratic = True  # type: ignore[attr-defined]
    return penalty


class _CapacityLaw(_CapacityModel, MixingLaw):
    """Shared machinery of the DZ laws: parameter layout, capacity solve, capacity-term Jacobian (the last two
    in :class:`~mixlaw.laws._capacity_model._CapacityModel`).

    The full parameter vector is ``[log c_1..log c_M, b_1..b_M, E_1..E_K, <extra per-term-domain blocks>,
    <z of each implicit target>]``. The *term domains* U are the domains whose loss law enters some target:
    the matched domains (in target order) when every target is matched, else all M domains. Each target is a
    composition of the term-domain laws: a one-hot row for a matched target, ``softmax(z)`` for an implicit one.
    """

    #: Iteration cap of a cold fit's final refinement (:data:`MAX_ITER`; a warm-started refit always has that).
    _refine_iter = MAX_ITER
    #: In the losses' unit (units.LossUnits._loss_unit): E_i, and c_j (log c_j + log unit). b_j and the allocation are
    #: not: x* depends on the ratios of the c_j alone (a common factor goes into the multiplier lambda).
    loss_unit_params = {"E_*": 1}
    log_loss_unit_params = {"log_c_*": 1}

    uses_model_params = "optional"
    coupled_targets = True
    needs_matched_targets = True
    #: Whether a fit with every (run, eval set) observed gives the solver run factors (:meth:`_factored_model`):
    #: the same Jacobian, products summed in another order. Eq. 1's RegMix CV moves by < 1e-8 with it. Eq. 3's fold
    #: fits end in flat valleys where rounding alone moves the CV (the losses scaled by 1 + 4e-16 moved
    #: dz-eq3-safe's CV Spearman on RegMix train_1m by up to 1.1e-4 and its RMSE by 3.6e-5); dz-eq3-safe takes the
    #: factors all the same (speed26: its CV moves by that noise, and its per-eval CV costs 1.4x less CPU), plain
    #: dz-eq3 (no auto candidate) keeps the segment products.
    _factored_jacobian = True
    _parameter_constraints = {**MixingLaw._parameter_constraints,
                              "capacity_floor": [Interval(Real, 0, None, closed="neither")],
                              "n_ref": [Interval(Real, 0, None, closed="neither")],
                              "screen_iter": [Interval(Integral, 1, None, closed="left")],
                              "floor_smoothness": [Interval(Real, 1, None, closed="left"), None],
                              "pooling": [Interval(Real, 0, None, closed="left")],
                              "eval_map": [dict, None]}

    def __init__(self, *, loss: str = "huber", huber_delta: float = HUBER_DELTA, n_restarts: int = 4,
                 screen_iter: int = 300, capacity_floor: float = 0.3, n_ref: float = 200.0,
                 floor_smoothness: float | None = None, pooling: float = 0.0,
                 eval_map: dict[str, str] | None = None,
                 bounds: dict[str, tuple[float, float]] | None = None, fixed: dict[str, float] | None = None,
                 random_state: int | np.random.Generator | None = 0) -> None:
        self.loss, self.huber_delta, self.n_restarts = loss, huber_delta, n_restarts
        self.screen_iter = screen_iter
        self.capacity_floor, self.n_ref = capacity_floor, n_ref
        self.floor_smoothness, self.pooling = floor_smoothness, pooling
        self.eval_map = eval_map
        self.bounds, self.fixed, self.random_state = bounds, fixed, random_state

    def _smooth(self) -> float | None:
        return None if self.floor_smoothness is None else float(self.floor_smoothness)

    # ------------------------------------------------------------------ inputs
    def _budget(self, n: int, M: int, ctx: FitContext, fitting: bool = False) -> np.ndarray:
        """S = N + (M-1) H per run; N in millions of parameters when sizes vary, else ``n_ref``. ``fitting``: the
        N are the fitting runs' (else the sizes to predict at), which the error below names."""
        H = float(self.capacity_floor)
        if self._n_varying and ctx.model_params is not None:
            N = ctx.model_params / 1e6
        else:
            # One model size: only H/N matters (the scale of x goes into c), so N is fixed as in DZ's code.
            N = np.full(n, float(self.n_ref))
        if np.any(N <= H):
            # Say which runs and the option to change: trainer proxies of 0.03-0.1M parameters all fell below the
            # default floor, and the bare message left a user with no way forward.
            if not fitting:  # the floor is the fitted law's: predicting at a smaller N needs a refit, not an option
                raise InputError(f"{self.key}: model size N must exceed the capacity floor H={H:g} the law was fitted "
                                 f"with (N in millions); got N = {float(np.min(N)):.4g} to predict at")
            raise InputError(f"{self.key}: model size N must exceed the capacity floor H={H:g} (N in millions); the "
                             f"smallest run has N = {float(np.min(N)):.4g}: set capacity_floor below it "
                             f"(--law-option capacity_floor={float(np.min(N)) / 10:.2g})")
        return N + (M - 1) * H

    def _match(self) -> np.ndarray:
        """The term domains U (indices into ``domains_``)."""
        return self._layout()[0]

    def _layout(self) -> tuple[np.ndarray, list[int], np.ndarray]:
        """(U, implicit target indices, pos): ``pos[i]`` is target i's position in U (-1 when implicit)."""
        # Every model evaluation asks for the layout (thousands per fit): cache it per (domains, targets, map).
        key = (tuple(self.domains_), tuple(self.targets_), tuple(sorted((self.eval_map or {}).items())))
        cached = getattr(self, "_layout_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        self._layout_cache = (key, self._compute_layout())
        return self._layout_cache[1]

    def _compute_layout(self, domains: Sequence[str] | None = None, targets: Sequence[str] | None = None
                        ) -> tuple[np.ndarray, list[int], np.ndarray]:
        """:meth:`_layout` of the fitted domains and targets, or of those given (before a fit)."""
        domains = self.domains_ if domains is None else domains
        tdom = self._target_domains(domains, self.targets_ if targets is None else targets)
        implicit = [i for i, j in enumerate(tdom) if j is None]
        U = np.arange(len(domains)) if implicit else np.array(list(dict.fromkeys(tdom)), dtype=int)
        pos = np.array([-1 if j is None else int(np.flatnonzero(U == j)[0]) for j in tdom], dtype=int)
        return U, implicit, pos

    def _z_offset(self, M: int) -> int:
        """Start of the implicit targets' z blocks in the parameter vector (after every other block)."""
        U, _, _ = self._layout()
        return 2 * M + len(self.targets_) + sum(self._extra_sizes(U.size))

    def _composition_matrix(self, theta: np.ndarray) -> np.ndarray:
        """Rows = targets, columns = term domains: one-hot for matched targets, softmax(z) for implicit ones."""
        U, implicit, pos = self._layout()
        K = len(self.targets_)
        A = np.zeros((K, U.size))
        matched = pos >= 0
        A[np.flatnonzero(matched), pos[matched]] = 1.0
        oz = self._z_offset(len(self.domains_))
        for a, i in enumerate(implicit):
            z = theta[oz + a * U.size: oz + (a + 1) * U.size]
            e = np.exp(z - z.max())
            A[i] = e / e.sum()
        return A

    def composition(self) -> dict[str, np.ndarray]:
        """Fitted composition s (over ``domains_``, sums to 1) of each implicitly aggregated eval set."""
        check_is_fitted(self)
        A = self._composition_matrix(self.params_.array("value"))
        _, implicit, _ = self._layout()
        return {self.targets_[i]: A[i].copy() for i in implicit}

    # ------------------------------------------------------------------ spec / model
    def _base_spec(self, W: np.ndarray, Y: np.ndarray, S: np.ndarray, b0: float = B_INIT,
                   e_frac: float = E_INIT_FRAC) -> list[Param]:
        M = W.shape[1]
        U, implicit, pos = self._layout()
        E0 = e_frac * Y.min(axis=0)
        # x* with equal c and b = b0, then c_i matching the observed excess loss (median over runs); an implicit
        # target starts as the uniform mixture of equal domain laws, so c matches its excess over mean_k x_k^-b0.
        x0, _, _ = solve_allocation(W, np.zeros(M), np.full(M, b0), S, float(self.capacity_floor),
                                   smooth=self._smooth())
        lc_all = np.zeros(M)
        known = np.zeros(M, dtype=bool)
        for i, u in enumerate(pos):
            if u >= 0:
                j = U[u]
                lc_all[j] = np.log(np.median((Y[:, i] - E0[i]) * x0[:, j] ** b0))
                known[j] = True
        if implicit:
            xb = np.mean(x0[:, U] ** -b0, axis=1)
            fill = float(np.median([np.log(np.median((Y[:, i] - E0[i]) / xb)) for i in implicit]))
        else:
            fill = float(np.median(lc_all[known]))
        lc_all[~known] = fill
        lc_all = np.clip(lc_all, LOG_C_BOUNDS[0] + 0.5, LOG_C_BOUNDS[1] - 0.5)
        ps = [Param(f"log_c_{d}", float(v), float(v), *LOG_C_BOUNDS)
              for d, v in zip(self.domains_, lc_all, strict=True)]
        ps += [Param(f"b_{d}", b0, b0, *B_BOUNDS) for d in self.domains_]
        # E_i <= min L_i: the capacity term is positive.
        ps += [Param(f"E_{t}", float(e), float(e), 0.0, float(Y[:, i].min()))
               for i, (t, e) in enumerate(zip(self.targets_, E0, strict=True))]
        return ps

    def _z_spec(self, W: np.ndarray) -> list[Param]:
        """Composition logits of the implicit targets: uniform start; the most-used domain is the reference."""
        U, implicit, _ = self._layout()
        use = W[:, U].mean(axis=0)
        inert = getattr(self, "_inert", None)
        if inert is not None and np.any(inert) and not np.all(inert):
            use = np.where(inert, -1.0, use)  # a held domain's z is held too (_hold_unidentified): not the reference
        ref = int(np.argmax(use))
        ps = []
        for i in implicit:
            t = self.targets_[i]
            for u, j in enumerate(U):
                d = self.domains_[j]
                if u == ref:
                    ps.append(Param(f"z_{t}|{d}", 0.0, 0.0, *Z_BOUNDS, vary=False, note="reference domain"))
                else:
                    ps.append(Param(f"z_{t}|{d}", 0.0, 0.0, *Z_BOUNDS))
        return ps

    def _n_extra(self) -> int:
        """Parameter blocks after the E block (0 for Eq1)."""
        return 0

    def _extra_shared(self) -> list[bool]:
        """Per extra block: True when it is one value shared by every term domain, else one parameter per term
        domain."""
        return [False] * self._n_extra()

    def _extra_sizes(self, nu: int, shared: list[bool] | None = None) -> list[int]:
        """Number of parameters of each extra block (``nu`` = number of term domains), with the blocks shared as
        ``shared`` says (default :meth:`_extra_shared`)."""
        return [1 if sh else nu for sh in (self._extra_shared() if shared is None else shared)]

    def n_parameters_for(self, domains: Sequence[str], targets: Sequence[str], weights: Any = None) -> int:
        """The joint fit's free parameters: ``2 M + K`` (log c and b of every domain, E of every eval set), the
        extra blocks per term domain, ``|U| - 1`` composition logits per implicit eval set, less ``fixed`` ones."""
        return self._n_parameters(domains, targets, self._extra_shared())

    def _n_parameters(self, domains: Sequence[str], targets: Sequence[str], shared: list[bool]) -> int:
        """:meth:`n_parameters_for` with the extra blocks shared as ``shared`` says."""
        tdom = self._target_domains(domains, targets)
        n_implicit = sum(j is None for j in tdom)
        nu = len(domains) if n_implicit else len(set(tdom))
        n = 2 * len(domains) + len(targets) + sum(self._extra_sizes(nu, shared)) + n_implicit * (nu - 1)
        return n - len(self.fixed or {})

    # ------------------------------------------------------------------ fit / predict
    def _prepare(self, W: np.ndarray, ctx: FitContext) -> None:
        mp = ctx.model_params
        self._n_varying = bool(mp is not None and mp.max() > mp.min() * (1 + 1e-12))

    def _fit(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext) -> None:
        # Losses far from order 1 (a metric x 1e-9) are fitted in one unit for every eval set (_loss_unit), the
        # parameters mapped back after: the eval sets share the c_j, whose ratios set the allocation, so the
        # unit cannot differ between them. Losses of order 1 are fitted as given (unit 1).
        self._warn_eval_scales(Y, ctx)
        unit = self._loss_unit(Y)
        with self._fitting_in(unit):  # _spec reads the user's bounds and fixed values in it
            self._fit_in_unit(W, Y / unit if unit != 1.0 else Y, ctx, unit)

    def _warn_eval_scales(self, Y: np.ndarray, ctx: FitContext) -> None:
        """A DataWarning when the eval sets' median losses differ by more than :data:`EVAL_SCALE_SPREAD` (eval sets
        in different units: one unit serves them all, and the law itself couples their scales)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an eval set without a finite loss: nan, skipped
            med = np.nanmedian(np.where(np.isfinite(Y), Y, np.nan), axis=0)
        ok = np.flatnonzero(np.isfinite(med) & (med > 0))
        if ok.size < 2:
            return
        lo, hi = ok[np.argmin(med[ok])], ok[np.argmax(med[ok])]
        if med[hi] > EVAL_SCALE_SPREAD * med[lo]:
            warnings.warn(f"law {self.key!r}: the eval sets' losses differ in scale by {med[hi] / med[lo]:.3g}x "
                          f"(median {med[lo]:.4g} for {ctx.targets[lo]!r}, {med[hi]:.4g} for {ctx.targets[hi]!r}); "
                          "the law shares each domain's c_j between its eval set's loss scale and its demand for "
                          "capacity, so eval sets in different units fit another law: give them in one unit "
                          "(nats) or fit them separately", DataWarning, stacklevel=user_stacklevel(3))

    def _fit_in_unit(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext, unit: float) -> None:
        """:meth:`_fit` on losses ``Y`` given in ``unit`` (the fitted parameters are in the losses' own unit)."""
        self._prepare(W, ctx)
        S = self._budget(W.shape[0], W.shape[1], ctx, fitting=True)
        self._find_unidentified(W, Y, ctx)
        spec = self._spec(self._full_spec(W, Y, S, ctx))
        mask = self._obs_mask(W, ctx)
        y = self._observed(Y, mask)
        n_free = int(np.count_nonzero(spec.vary_mask))
        if y.size <= n_free:  # before the pooling prior, which divides by y.size
            raise TooFewObservationsError(f"{self.key}: {y.size} observations are too few to fit {n_free} parameters; "
                                          f"need at least {n_free + 1}{self._few_obs_hint(mask)}",
                                          n_obs=y.size, n_params=n_free)
        pen = pooling_prior(spec, y.size, float(self.pooling))
        t0 = time.perf_counter()
        warm = getattr(self, "_warm_start", None)
        cap = MAX_ITER if warm is not None else self._refine_iter
        res = None
        if warm is not None:
            # A warm-started refit (warm_clone): the full-data optimum alone first; the usual starts only if it fails.
            vec = _warm_vector(warm, spec, self._in_unit, unit)
            res, ok = self._solve(W, S, ctx, mask, spec, y, vec[None, :], cap, pen)
            if not ok:
                res = None
        if res is None:
            # Every start is its own row of one batched solve (each with its own allocation cache) for
            # ``screen_iter`` iterations; the best is then run to convergence if it has not converged yet.
            starts = self._starts(spec, W, Y, S, ctx)
            scr, ok = self._solve(W, S, ctx, mask, spec, y, starts, int(self.screen_iter), pen)
            res = scr
            if not ok:
                fin, ok = self._solve(W, S, ctx, mask, spec, y, scr.params.array("value")[None, :], cap, pen)
                if fin.objective <= scr.objective:
                    res = dataclasses.replace(fin, n_starts=scr.n_starts, start_objectives=scr.start_objectives,
                                              n_converged=scr.n_converged + fin.n_converged,
                                              nfev=scr.nfev + fin.nfev)
        res = dataclasses.replace(self._result_from_unit(res, unit), wall_time=time.perf_counter() - t0)
        if res.n_converged == 0:
            res = dataclasses.replace(res, warnings=[res.warnings[0] + self._convergence_hint(), *res.warnings[1:]])
            warnings.warn(f"{self.key}: {res.warnings[0]}", ConvergenceWarning, stacklevel=user_stacklevel(3))
        self.results_: dict[str, FitResult] = {"joint": res}
        self.params_ = res.params

    def _convergence_hint(self) -> str:
        """What to try when no start converged (the end of the warning). Not the iteration cap: on Dai & Zheng's
        openhermes eval (implicit aggregation, 21 parameters from 48 runs at one size) every start stopped after
        22-184 of its 300 iterations, on a kink of the hard floor (5 runs with c4's capacity at H: the derivative
        in b_c4 is -8.3 on one side, -3.0 across) in a flat valley (b_c4, b_commoncrawl -> 0.02, E -> 0, two
        composition logits at -20). The soft floor alone crept on (3000 iterations at 122M); the pooling prior
        converged at 122M, 310M and 937M with a lower held-out RMSE (0.0183 -> 0.0162, 0.0183 -> 0.0166,
        0.0278 -> 0.0195)."""
        if float(self.pooling) == 0:
            return ("; try the law option pooling=100 (--law-option pooling=100 on fit, optimize, pipeline, continual, "
                    "and compare with --laws dz-eq1; report takes no law options): a partial-pooling prior on the "
                    "per-domain parameters, which curves the flat directions of a fit with few losses per parameter "
                    "(dz-eq3's default)")
        if self.floor_smoothness is None:
            return ("; try the law option floor_smoothness=32 (--law-option floor_smoothness=32 on fit, optimize, "
                    "pipeline, continual): a soft capacity floor, without the hard floor's kinks")
        return "; more runs, a stronger pooling or fixed parameters (fixed=) may help"

    def _solve(self, W: np.ndarray, S: np.ndarray, ctx: FitContext, mask: np.ndarray, spec: Params, y: np.ndarray,
               starts: np.ndarray, max_iter: int, pen: Any = None) -> tuple[FitResult, bool]:
        """All ``starts`` in one batched solve: the best start's result (every start counted), and whether the
        best start converged."""
        kw = {k: v for k, v in self._engine_kw().items() if k in ("loss", "huber_delta")}
        n = len(starts)
        res = fit_models([self._model(W, S, ctx, mask) for _ in range(n)], [spec] * n, [y] * n,
                         starts=[s[None, :] for s in starts], max_iter=max_iter, labels=[self.key] * n, _warn=False,
                         penalties=[pen] * n, **kw)
        best = min(range(n), key=lambda i: res[i].objective)
        return dataclasses.replace(res[best], n_starts=n, n_converged=sum(r.n_converged for r in res),
                                   start_objectives=[r.objective for r in res], nfev=sum(r.nfev for r in res),
                                   warnings=([] if any(r.n_converged for r in res) else res[best].warnings[:1])
                                   + [w for w in res[best].warnings if not w.startswith("no start")]
                                   ), res[best].n_converged > 0

    def _starts(self, spec: Params, W: np.ndarray, Y: np.ndarray, S: np.ndarray, ctx: FitContext) -> np.ndarray:
        """``n_restarts`` full parameter vectors: the default init, the ``ALT_INITS`` ones, then seeded random."""
        out = [spec.array("init")]
        free = spec.vary_mask
        lo, hi = spec.array("min")[free], spec.array("max")[free]
        for i in range(1, int(self.n_restarts)):
            if i - 1 < len(ALT_INITS):
                b0, e_frac = ALT_INITS[i - 1]
                start = self._spec(self._full_spec(W, Y, S, ctx, b0, e_frac)).array("init")
            else:
                start = spec.array("init")
                start[free] = random_start(start[free], lo, hi, self._rng)
            out.append(start)
        return np.array(out)

    def _full_spec(self, W: np.ndarray, Y: np.ndarray, S: np.ndarray, ctx: FitContext, b0: float = B_INIT,
                   e_frac: float = E_INIT_FRAC) -> list[Param]:
        return self._hold_unidentified(self._base_spec(W, Y, S, b0, e_frac) + self._z_spec(W))

    # ------------------------------------------------------------------ a domain with one share in every run
    def _find_unidentified(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext) -> None:
        """Find the training domains whose share is the same in every fitting run, decide which of their
        parameters are held (class Notes, "A domain with one share in every run") and say so in one
        :class:`~mixlaw.errors.DataWarning` per domain. Sets ``_held`` ({parameter: held value}), ``_level``
        ({E parameter: (start, upper bound, varies)}) and ``_inert`` (per term domain: every term of its law held).

        The share h_j enters Eq. 1 only through the domain's demand ``h_j b_j c_j`` in the allocation (how much
        capacity it takes from every other domain) and its own term ``c_j x_j^(-b_j)``. With h_j the same in every
        run nothing in the runs moves it, so the optimiser's leftovers decided every prediction at another share
        (40 runs, 'own' at 0 in each: 1.30 for 'own' alone and 1.41 at the uniform mixture, level 1.90; at 0.2:
        17280 at the other domains' vertices). Both vanish as c_j -> 0 (c_j = 0 itself is outside the law's
        log c), so log c_j is held at its lower bound and b_j at its floor (x_j ~ (h_j b_j c_j / lambda)^(1/(b_j+1))
        is then smallest): where the other domains' demand is not itself at the bounds the domain takes the capacity
        floor H at any share short of its vertex, so the others' allocation is that of the mixture without it
        (to rounding on the runs above); its own term is below e^-8 x H^-0.01 = 3.4e-4 and moves by at most
        c_j (H^-b_j - N^-b_j) ~ 2e-5 over every share; and E_j carries the eval's level. Not held
        when the share is above 0 and the runs have several model sizes: x_j then moves with N, which fits c_j
        and b_j (the N-scaling the law extrapolates), so only a warning says that other shares follow the law's
        form. Subclasses add their data terms (:meth:`_data_varies`, :meth:`_held_data`).
        """
        self._held: dict[str, float] = {}
        self._level: dict[str, tuple[float, float, bool]] = {}
        U, implicit, pos = self._layout()
        self._inert = np.zeros(U.size, dtype=bool)
        hi = W.max(axis=0)
        const = np.ptp(W, axis=0) <= CONSTANT_SHARE_TOL * np.maximum(1.0, hi)
        if not np.any(const):
            return
        data_varies = self._data_varies(W, ctx)
        mask = self._obs_mask(W, ctx)
        eval_of = {int(U[u]): self.targets_[i] for i, u in enumerate(pos) if u >= 0}
        for j in np.flatnonzero(const):
            d, share = self.domains_[j], float(W[0, j])
            t = eval_of.get(int(j))
            who = (f"{d!r}, the training domain of eval set {t!r}," if t is not None
                   else f"{d!r} (no eval set of its own)")
            head = f"law {self.key!r}: {who} has the same share ({share:g}) in every fitting run"
            u = int(np.flatnonzero(U == j)[0]) if j in U else -1
            cap = not (hi[j] > CONSTANT_SHARE_TOL and self._n_varying)  # else several sizes fit c_j, b_j
            held = []
            unit = self._unit_now  # the held values are in the fitting unit; said in the losses'
            if cap:
                self._held[f"log_c_{d}"], self._held[f"b_{d}"] = LOG_C_BOUNDS[0], B_BOUNDS[0]
                lc = self._in_unit(f"log_c_{d}", LOG_C_BOUNDS[0], unit, back=True)
                held.append(f"log_c_{d} at {lc:.4g} and b_{d} at {B_BOUNDS[0]:g} (the least demand for "
                            "capacity and the flattest own term that the bounds allow)")
            if u >= 0 and not data_varies[u]:
                data = self._held_data(W, ctx, d)
                if data:
                    self._held.update(data)
                    vals = [self._in_unit(k, v, unit, back=True) for k, v in data.items()]
                    held.append(f"{', '.join(data)} at {', '.join(f'{v:.3g}' for v in vals)} (no data term)")
                self._inert[u] = cap
            if t is not None and self._inert[u]:
                i = self.targets_.index(t)
                level = float(np.exp(np.median(np.log(Y[:, i]))))
                # Its own terms now add at most ~4e-4: E carries the level, so its bound E <= min L (a positive
                # capacity term) would sit below the level by the noise; an eval with no fitted entry (plain Eq. 3
                # at h = 0) holds E at the level of its losses.
                self._level[f"E_{t}"] = (level, float(Y[:, i].max()), bool(mask[:, i].any()))
                held.append(f"E_{t} carries the eval's level (one loss for {t!r} at any share of {d!r})")
            if implicit and u >= 0 and self._inert[u]:
                held.append("its composition logits at their lower bound (no part in any aggregated eval set)")
            sizes = (f"log_c_{d} and b_{d} are fitted from the model sizes alone, so their part of the predictions at "
                     f"other shares of {d!r} follows the law's form, not the runs")
            if held:
                warnings.warn(f"{head}, so its effect is not identified: {'; '.join(held)}; predictions at other "
                              f"shares of {d!r} are not determined by the runs{'' if cap else '; ' + sizes}",
                              DataWarning, stacklevel=user_stacklevel(4))
            else:
                warnings.warn(f"{head}: {sizes}", DataWarning, stacklevel=user_stacklevel(4))
        if implicit:
            for i in implicit:
                for u in np.flatnonzero(self._inert):
                    self._held[f"z_{self.targets_[i]}|{self.domains_[U[u]]}"] = Z_BOUNDS[0]

    def _data_varies(self, W: np.ndarray, ctx: FitContext) -> np.ndarray:
        """Per term domain, whether the runs move its data term (none in Eq. 1: all False)."""
        return np.zeros(self._layout()[0].size, dtype=bool)

    def _held_data(self, W: np.ndarray, ctx: FitContext, domain: str) -> dict[str, float]:
        """Held values of the data-term parameters of the term domain ``domain`` (none in Eq. 1)."""
        return {}

    def _hold_unidentified(self, ps: list[Param]) -> list[Param]:
        """``ps`` with the parameters :meth:`_find_unidentified` chose held, and the E they leave the level to."""
        held, level = getattr(self, "_held", {}), getattr(self, "_level", {})
        if not held and not level:
            return ps
        out = []
        for p in ps:
            if p.name in held:
                v = float(held[p.name])
                p = Param(p.name, v, v, min(p.min, v), max(p.max, v), vary=False, note=CONSTANT_SHARE_NOTE)
            elif p.name in level:
                v, top, varies = level[p.name]
                p = Param(p.name, v, v, p.min, max(p.max, top), vary=varies,
                          note="" if varies else LEVEL_NOTE)
            out.append(p)
        return out

    def _obs_mask(self, W: np.ndarray, ctx: FitContext) -> np.ndarray:
        return np.ones((W.shape[0], len(ctx.targets)), dtype=bool)

    def _few_obs_hint(self, mask: np.ndarray) -> str:
        """What to do when too few entries are fitted (the end of an error message)."""
        return " (more runs, or fix some parameters)"

    def _extra_terms(self, W: np.ndarray, theta: np.ndarray, ctx: FitContext, jac: bool
                     ) -> tuple[np.ndarray | None, list[np.ndarray] | None]:
        """Terms a subclass adds to each term domain's loss, (n, u), and their derivatives, one (n, u) array per
        parameter block (each block has one parameter per term domain). None for Eq1."""
        return None, None

    def _predict(self, W: np.ndarray, ctx: FitContext) -> np.ndarray:
        S = self._budget(W.shape[0], W.shape[1], ctx)
        pred, _ = self._eval(W, self.params_.array("value"), S, ctx, jac=False)
        return pred

    def allocation(self, weights: np.ndarray, *, params: Any = None, model_params: Any = None) -> np.ndarray:
        """The fitted capacity allocation x*(h, N), shape (n, M) (rows sum to N + (M-1) H), at model size
        ``params`` (``model_params``: its older name, a silent alias)."""
        model_params = renamed("params", params, "model_params", model_params)
        W = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        mp = None if model_params is None else np.broadcast_to(np.asarray(model_params, float), (W.shape[0],))
        ctx = FitContext(self.domains_, self.targets_, mp, None)
        M = W.shape[1]
        theta = self.params_.array("value")
        # the fitted n_ref, capacity_floor and floor_smoothness, as predict's: set_params(n_ref=50) after the fit
        # gave another allocation than the one the fitted law predicts with
        with self._as_fitted():
            S = self._budget(W.shape[0], W.shape[1], ctx)
            return solve_allocation(W, theta[:M], theta[M:2 * M], S, float(self.capacity_floor),
                                    smooth=self._smooth())[0]

    def _get_state(self) -> dict[str, Any]:
        return {"n_varying": self._n_varying}

    def _set_state(self, state: dict[str, Any]) -> None:
        self._n_varying = state_bool(state, "n_varying")

    def _extra_names(self, term_domains: list[str]) -> list[str]:
        """Names of the extra blocks' parameters, in their order in the vector (none for Eq. 1; :mod:`.dz_eq3`)."""
        return []

    def expected_param_names(self) -> list[str]:
        """The parameter names a fit of these domains and targets makes, in the vector's order: log c and b of every
        domain, E of every target, the extra blocks, the z logits of every implicit target. The model reads the
        vector by position (:meth:`_z_offset`), so a saved law is checked against it on load (hunt25: a saved
        dz-eq1 with ``log_c_arxiv`` deleted loaded and predicted up to 6.4x off)."""
        if not hasattr(self, "domains_"):
            check_is_fitted(self)  # NotFittedError, not "'DZCapacity' object has no attribute 'domains_'"
        U, implicit, _ = self._layout()
        term = [self.domains_[j] for j in U]
        return ([f"log_c_{d}" for d in self.domains_] + [f"b_{d}" for d in self.domains_]
                + [f"E_{t}" for t in self.targets_] + self._extra_names(term)
                + [f"z_{self.targets_[i]}|{d}" for i in implicit for d in term])


@register("dz-eq1")
class DZCapacity(_CapacityLaw):
    """Dai & Zheng's capacity-competition law (Eq. 1), one joint fit over all matched eval sets.

    Parameters
    ----------
    loss : {"huber", "mse"}, default="huber"
        Objective on log-loss residuals, pooled over every (run, eval set) entry.
    huber_delta : float, default=1e-3
    n_restarts : int, default=4
        Optimiser starts: the data-driven start, then data-driven ones with other (b, E) guesses
        (``ALT_INITS``), then seeded random ones inside the bounds. All run together (one batched
        Levenberg-Marquardt solve) for up to ``screen_iter`` iterations; the best is then run to convergence
        (up to 3000 iterations) if it has not converged yet.
    screen_iter : int, default=300
        Iterations per start before the best start is refined.
    capacity_floor : float, default=0.3
        The floor H on every domain's capacity (DZ's MIN_X), in millions of parameters.
    n_ref : float, default=200
        N used when all runs share one model size (only H/N matters then). DZ's law1.py fixes the budget
        ``sum_j x_j`` at 200 instead (its ``K``), which is N = 200 - (M-1)H here.
    floor_smoothness : float or None, default=None
        None: DZ's hard floor ``x_j = max(H, xr_j)``. A number k >= 1: the soft floor ``(H^k + xr_j^k)^(1/k)``
        (smooth in the parameters; the Eq. 3 laws default to it, see :mod:`mixlaw.laws.dz_eq3`).
    pooling : float, default=0
        Strength of a partial-pooling prior on the per-domain parameters (:func:`pooling_prior`; 0: none, as
        Eq. 1 converges without it on RegMix; the Eq. 3 laws default to 100).
    eval_map : dict of str to str, optional
        ``{eval set: training domain}`` for matches that names do not give. An eval set that is no training
        domain and is not mapped uses implicit aggregation (Notes).
    bounds, fixed : dict, optional
        Overrides by parameter name, e.g. ``{"b_pile_cc": (0.05, 1.0)}``.
    random_state : int or Generator, default=0

    Attributes
    ----------
    params_ : Params
        ``log_c_<domain>`` and ``b_<domain>`` for every training domain (the ones without an eval set still
        compete for capacity), ``E_<target>`` per eval set.

    Notes
    -----
    .. math::

        x^*(h, N) = \\arg\\min_{x:\\ \\sum_j x_j = N + (M-1)H,\\ x_j \\ge H} \\sum_{j=1}^{M} h_j c_j x_j^{-b_j},
        \\qquad L_i(h, N) = c_i\\, x_i^*(h, N)^{-b_i} + E_i

    Symbols: h -> ``weights``, c_j -> ``exp(log_c_<domain j>)``, b_j -> ``b_<domain j>``, E_i -> ``E_<eval i>``,
    N -> ``model_params / 1e6`` when the fitted runs have several model sizes, else ``n_ref``.
    x* comes from a vectorised KKT solve (bisection + Newton on log lambda) and the Jacobian from the implicit
    function theorem (:mod:`mixlaw.laws._capacity`), so the solver gets exact Jacobians.

    **Implicit aggregation** (eval sets that are no training domain; Ye et al.'s implicit domain aggregation):
    the eval loss is a mixture of the training domains' losses, :math:`L_e = \\sum_k s_k L_k` with
    :math:`s = \\text{softmax}(z_e)` on the simplex, i.e. :math:`L_e = E_e + \\sum_k s_k c_k x_k^{*-b_k}` (the
    :math:`\\sum_k s_k E_k` collapse into one :math:`E_e`). Here :math:`c_k` and :math:`b_k` are shared by every
    eval set and also set the allocation, so s is identifiable; :meth:`composition` returns it. Parameters
    ``z_<eval>|<domain>`` (the most-used domain's is fixed at 0).

    **Losses in any unit**: the eval sets share the c_j, so a joint fit has one loss unit. Losses whose median
    lies outside [1e-2, 1e3) (a metric x 1e-9) are fitted in the power of 10 that brings it into [1, 10) and the
    parameters mapped back (E_i x unit, log c_j + log unit; b_j and x* unchanged, since x* depends on the ratios of
    the c_j only), so they predict the same losses x 1e-9; losses of order 1 are fitted as given.

    **A domain with one share in every run** (0 in all: no run trains on it; or held fixed): the runs never move
    h_j, so nothing identifies how it acts, yet its demand ``h_j b_j c_j`` and its own term
    ``c_j x_j^{-b_j}`` set every prediction at another share of it. ``log_c_<domain>`` and ``b_<domain>`` are then
    held at their lower bounds (the least demand and the flattest term the law's bounds allow) and ``E_<eval>``
    carries the eval's level, with a :class:`~mixlaw.errors.DataWarning` that names the domain: the eval's
    prediction is its level at any share, and the other eval sets' are those of the mixture without it. Not held
    when the share is above 0 and the runs span several model sizes (x_j then moves with N, which fits c_j and
    b_j); the warning then says that other shares follow the law's form. Eq. 3 also holds the domain's data term
    where it vanishes unless the runs' tokens D h_j differ.

    References
    ----------
    Dai & Zheng, "Explaining Data Mixing Scaling Laws", ICML 2026, arXiv:2606.08167, Eq. (1).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W = rng.dirichlet(np.ones(3), size=30)
    >>> truth = DZCapacity().fit(W, 2 + W, domains=["a", "b", "c"], targets=["a", "b", "c"])
    >>> truth.predict(W).shape
    (30, 3)
    """


__all__ = ["DZCapacity"]
