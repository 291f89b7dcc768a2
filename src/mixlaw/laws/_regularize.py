"""Ridge strength chosen by inner K-fold cross-validation, for laws with many parameters per eval set.

Ye's exponential law has M + 2 parameters per eval set, the additive and power-share laws 2M + 1; at 39
training domains and a few hundred runs some of them are barely determined (a rare domain's t or C), and a
fixed ridge strength tuned on one dataset does not transfer. A law constructed with ``alpha="cv"`` picks, for
each eval set, the strength from :data:`ALPHA_GRID` whose refits on K-1 folds of the fitting runs predict the
held-out fold best (mean absolute log error, i.e. about the MRE), with folds shuffled by the law's
``random_state`` and dealt by the runs' content (:mod:`mixlaw.laws._folds`). The same law with a number for
``alpha`` is what ``GridSearchCV`` tunes from outside.

A ridge (``alpha > 0``) marks its penalty ``identifies``: the engine then fits an eval set with fewer runs than
coefficients, as long as the runs outnumber the free parameters the penalty leaves flat
(:func:`mixlaw.fit.ridge_counted_params`); the CV's refits on its folds do too, and on such tables it tries
:data:`SMALL_P_GRID`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._solver import penalty_hessian
from .._validation import check_random_state
from ..errors import ConvergenceWarning, ExtrapolationWarning, FitError, TooFewObservationsError, user_stacklevel
from ..fit import ridge_counted_params
from ._folds import deal_folds

#: Ridge strengths tried (objective units: the fit term is mean Huber(log residual) / delta^2, about 10 at 1 %
#: error). 0 is not in the grid: without a ridge, a law whose best fit is a step (a domain that helps at any
#: share, RegMix dm_mathematics) drives its coefficient to the bound; and every strength here is a ridge, so the
#: inner folds fit with fewer runs than coefficients (30 runs of Marin Delphi's 39 domains: 24 per fold against
#: ye-pow's 80 per eval set), counting what the ridge leaves flat (:func:`mixlaw.fit.ridge_counted_params`).
ALPHA_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
#: Strengths tried when the fitting runs are no more than an eval set's coefficients: ALPHA_GRID and stronger.
#: Why: the fit term is in units of delta^2 = 1e-6, so next to it ALPHA_GRID's strengths barely pull; with more
#: coefficients than runs every one of them interpolates the runs (effective dof 29.7-30.0 of 30 on Marin Delphi)
#: and the CV cannot tell them apart. Fixed strengths on 30 of Marin Delphi's runs (seed 0, uncheatable_obj,
#: held out on the other 250; bench/small_p_ridge.py's split): ye-pow Spearman 0.48 / 0.50 / 0.60 / 0.65 / 0.67 at
#: alpha 1 / 10 / 100 / 1e3 / 1e4, ye-exp 0.61 / 0.67 / 0.68 / 0.68 / 0.68 (loglinear 0.61). A table with more
#: runs than coefficients keeps ALPHA_GRID (its results unchanged).
SMALL_P_GRID = (*ALPHA_GRID, 10.0, 100.0, 1e3, 1e4)
#: Inner folds (5: every refit sees 80 % of the runs, as the outer 5-fold benches do).
N_FOLDS = 5


def choose_alpha(law: Any, W: np.ndarray, y: np.ndarray, domains: list[str], target: str,
                 rng: np.random.Generator, grid: tuple[float, ...] = ALPHA_GRID,
                 n_folds: int = N_FOLDS) -> tuple[float, dict[float, float]]:
    """The ridge strength of ``grid`` with the lowest K-fold held-out mean |log(pred / y)| for one eval set.

    Parameters
    ----------
    law : MixingLaw
        A law taking a numeric ``alpha``; cloned for every refit (with one optimiser start).
    W : ndarray of shape (n, M)
    y : ndarray of shape (n,)
    rng : Generator
        Shuffles the folds.

    Returns
    -------
    alpha : float
    scores : dict of float to float
        Held-out mean absolute log error per strength (inf where a fold failed: a ConvergenceWarning says so when
        every strength is inf, and the strongest is returned).

    Raises
    ------
    TooFewObservationsError
        A strength > 0 cannot fit the runs of an inner fold; the message names the folds dealt (``k - 1 of k``).
    """
    n = len(y)
    fold = deal_folds(n_folds, rng, W)  # by the runs' mixtures, not their order; a mixture's seeds together
    k = int(fold.max()) + 1
    scores: dict[float, float] = {}
    for a in grid:
        err = np.full(n, np.nan)
        for f in range(k):
            tr, va = fold != f, fold == f
            # One start per refit (the data-driven one): the refits rank strengths, the final fit uses them all.
            est = law.clone().set_params(alpha=float(a), n_restarts=1)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", (ConvergenceWarning, ExtrapolationWarning))
                    est.fit(W[tr], y[tr], domains=domains, targets=[target])
                    pred = np.asarray(est.predict(W[va])).ravel()
            except FitError:
                continue
            except TooFewObservationsError as exc:  # not 'err': that is the held-out errors' array
                # A strength of 0 is no ridge: on a fold with no more runs than parameters it cannot be fitted and
                # scores inf (ALPHA_GRID holds no 0; a caller's grid may). A ridge too few for the fold raises,
                # saying where its '12 observations' of a 16-run table come from: the folds dealt here (fewer than
                # n_folds when the runs hold fewer distinct mixtures).
                if a > 0:
                    raise TooFewObservationsError(
                        f"alpha='cv' refits the law on {k - 1} of {k} inner folds of the {n} runs: {exc}",
                        n_obs=exc.n_obs, n_params=exc.n_params, grows=exc.grows) from exc
                continue
            with np.errstate(divide="ignore", invalid="ignore"):
                err[va] = np.abs(np.log(pred / y[va]))
        ok = np.isfinite(err)
        scores[float(a)] = float(np.mean(err[ok])) if ok.all() else float("inf")
    best = min(scores, key=lambda a: (scores[a], -a))  # ties: the stronger ridge
    _warn_none_scored(law, "alpha", target, scores, best)
    return best, scores


def _warn_none_scored(law: Any, name: str, target: str, scores: dict[float, float], best: float) -> None:
    """Warn when every strength of the CV failed (inf): the tie-break then picks the strongest, by rule, not by
    any held-out error, which without a word read as the CV's choice."""
    if not all(np.isinf(v) for v in scores.values()):
        return
    key = getattr(law, "key", type(law).__name__)
    warnings.warn(f"law {key!r}, eval {target!r}: {name}='cv' (--law-option {name}=cv) scored no strength: each of "
                  f"{', '.join(f'{a:g}' for a in scores)} failed on some inner fold (a refit that did not converge, "
                  f"or a prediction that is not a positive number), so it took the strongest, {name}={best:g}; give "
                  f"{name} a number (--law-option {name}=...) to choose it", ConvergenceWarning,
                  stacklevel=user_stacklevel(3))


def choose_pooling(law: Any, W: np.ndarray, Y: np.ndarray, ctx: Any, targets: list[str],
                   grid: tuple[float, ...] = ALPHA_GRID,
                   n_folds: int = N_FOLDS) -> tuple[dict[str, float], dict[str, dict[float, float]]]:
    """Per eval set of ``targets``, the ``pooling`` strength of ``grid`` with the lowest K-fold held-out mean
    |log(pred / y)|, as :func:`choose_alpha` but with every eval set refitted together (one vectorised fit per
    strength and fold, not one per eval set: these laws solve all their eval sets in one loop).

    ``law`` takes a numeric ``pooling``; ``ctx`` is the fit's context (tokens and model sizes are split with
    the runs); the folds are shuffled by the law's ``random_state``. Raises TooFewObservationsError, naming the
    inner folds dealt (``k - 1 of k``), when the runs of an inner fold are too few for the law's parameters.
    """
    n = len(W)
    # Any integer seed (a NumPy one from a grid too) or Generator shuffles the folds; None gives seed 0's folds.
    # Dealt by the runs' rows (mixture, and size and tokens where the law takes them), not their order.
    fold = deal_folds(n_folds, check_random_state(law.random_state), W,
                      *(v for name, v in (("model_params", ctx.model_params), ("tokens", ctx.tokens))
                        if v is not None and getattr(law, f"uses_{name}")))
    k = int(fold.max()) + 1
    cols = [ctx.targets.index(t) for t in targets]
    Yt = Y[:, cols]
    scores: dict[str, dict[float, float]] = {t: {} for t in targets}
    for a in grid:
        err = np.full((n, len(targets)), np.nan)
        for f in range(k):
            tr, va = fold != f, fold == f
            extra = {"model_params": ctx.model_params, "tokens": ctx.tokens}
            kw = {name: None if v is None else v[tr] for name, v in extra.items()}
            pkw = {name: v[va] for name, v in extra.items() if v is not None and getattr(law, f"uses_{name}")}
            est = law.clone().set_params(pooling=float(a), n_restarts=1)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", (ConvergenceWarning, ExtrapolationWarning))
                    est.fit(W[tr], Yt[tr], domains=ctx.domains, targets=targets, **kw)
                    pred = np.asarray(est.predict(W[va], **pkw)).reshape(int(va.sum()), len(targets))
            except FitError:
                continue
            except TooFewObservationsError as exc:
                # Pooling identifies nothing (the engine counts every parameter against a fold's runs), so no
                # strength fits this fold: said with the folds dealt, where the bare '7 observations' of a 9-run
                # table read as a bug (choose_alpha says the same for its ridge).
                raise TooFewObservationsError(
                    f"pooling='cv' refits the law on {k - 1} of {k} inner folds of the {n} runs: {exc}",
                    n_obs=exc.n_obs, n_params=exc.n_params, grows=exc.grows) from exc
            with np.errstate(divide="ignore", invalid="ignore"):
                err[va] = np.abs(np.log(pred / Yt[va]))
        for j, t in enumerate(targets):
            ok = np.isfinite(err[:, j])
            scores[t][float(a)] = float(np.mean(err[ok, j])) if ok.all() else float("inf")
    best = {t: min(sc, key=lambda a, sc=sc: (sc[a], -a)) for t, sc in scores.items()}  # ties: the stronger
    for t, sc in scores.items():
        _warn_none_scored(law, "pooling", t, sc, best[t])
    return best, scores


class RidgeCVMixin:
    """``alpha`` (float or ``"cv"``) for a :class:`~mixlaw.laws.base.PerTargetLaw`: a penalty on the parameter
    block a law names with ``_ridge_block(M) -> (start, stop, centred)``: ``alpha * sum (theta - m)^2`` over
    ``theta[start:stop]``, with m = 0, or their mean when ``centred`` (shrinking toward a common value).

    Sets ``alpha_`` (strength per eval set) and ``cv_scores_`` (with ``"cv"``); the law's own penalty, if any,
    is added (``_own_penalty(spec)``).
    """

    def _fit(self, W: np.ndarray, Y: np.ndarray, ctx: Any) -> None:
        self.alpha_: dict[str, float] = {}
        self.cv_scores_: dict[str, dict[float, float]] = {}
        if self.alpha == "cv":
            for i, t in enumerate(ctx.targets):
                few = W.shape[0] <= self._n_coefficients(W.shape[1], t, ctx.targets)
                grid = SMALL_P_GRID if few else ALPHA_GRID
                # choose_alpha's error says the inner folds it dealt ('3 of 4 inner folds of the 16 runs').
                self.alpha_[t], self.cv_scores_[t] = choose_alpha(self, W, Y[:, i], ctx.domains, t, self._rng,
                                                                  grid=grid)
        else:
            self.alpha_ = {t: float(self.alpha) for t in ctx.targets}
        try:
            super()._fit(W, Y, ctx)
        except TooFewObservationsError as err:
            # Say what would fit these runs: the refusal named only more runs or fixed parameters (a user with 30 runs
            # of 39 domains did not learn that the ridge fits them).
            hint = self._few_runs_hint(any(a > 0 for a in self.alpha_.values()))
            if not hint:
                raise
            raise TooFewObservationsError(f"{err}; {hint}", n_obs=err.n_obs, n_params=err.n_params,
                                          grows=err.grows) from err
        self._ridge_flat: dict[str, int] = {}  # per eval set fitted below its coefficients: what its ridge leaves flat
        self._ridge_edf = self._effective_dof(W, ctx)

    def _n_coefficients(self, M: int, target: str, targets: list[str]) -> int:
        """Free coefficients of eval set ``target`` on ``M`` domains before fitting (the law's count per eval set,
        less the user's ``fixed`` names for it: bare, or ``<target>.<name>``): whether the runs are too few for
        them picks the CV's grid."""
        mine = [k for k in (self.fixed or {})
                if k.startswith(f"{target}.") or not any(k.startswith(f"{t}.") for t in targets)]
        return self._coefficients_per_eval(M) - len(mine)

    def _coefficients_per_eval(self, M: int) -> int:
        raise NotImplementedError

    def _few_runs_hint(self, ridged: bool) -> str:
        """What fits runs too few for the law's free parameters: without a ridge, a ridge (it then needs only more
        runs than what it leaves unpenalised); with one, nothing this law offers (more runs)."""
        return "" if ridged else "a ridge fits fewer runs than coefficients: alpha='cv' (--law-option alpha=cv)"

    def _before_one(self, W: np.ndarray, y: np.ndarray, i: int, ctx: Any) -> None:
        # The penalty of target i is built right after this, with this target's strength (all targets are
        # then solved together).
        self._alpha_now = self.alpha_[ctx.targets[i]]
        self._n_domains = W.shape[1]

    def _own_penalty(self, spec: Any) -> Any:
        return None

    def _penalty_one(self, spec: Any) -> Any:
        own = self._own_penalty(spec)
        alpha = float(getattr(self, "_alpha_now", 0.0))
        if not alpha:
            return own
        start, stop, centred = self._ridge_block(self._n_domains)

        def pen(theta: np.ndarray) -> tuple[float, np.ndarray]:
            v = theta[start:stop]
            dev = v - v.mean() if centred else v
            g = np.zeros_like(theta)
            g[start:stop] = 2 * alpha * dev  # centred: the mean's derivative cancels (deviations sum to 0)
            f = alpha * float(dev @ dev)
            if own is not None:
                f2, g2 = own(theta)
                f, g = f + f2, g + g2
            return f, g

        def hessian(theta: np.ndarray) -> np.ndarray:
            # Constant curvature of the ridge, so the solver's Gauss-Newton step sees it (no differences).
            m = stop - start
            H = np.zeros((theta.size, theta.size))
            H[start:stop, start:stop] = 2 * alpha * (np.eye(m) - (1.0 / m if centred else 0.0))
            return H if own is None else H + penalty_hessian(own, theta)

        pen.hessian = hessian  # type: ignore[attr-defined]
        pen.quadratic = own is None or bool(getattr(own, "quadratic", False))  # type: ignore[attr-defined]
        # The engine counts only the free parameters this penalty leaves flat against the runs
        # (mixlaw.fit.ridge_counted_params): a ridge fits 30 runs of 39 domains (ye-pow's 80 per eval set).
        pen.identifies = True  # type: ignore[attr-defined]
        return pen

    def _effective_dof(self, W: np.ndarray, ctx: Any) -> dict[str, float]:
        """Per eval set fitted with fewer runs than free parameters under a ridge (``alpha_ > 0``), the ridge's
        effective degrees of freedom :math:`\\operatorname{tr}[(A + H)^{-1} A]` over the free parameters, with
        :math:`A = J^\\top \\operatorname{diag}(w) J / (n \\delta^2)` the Gauss-Newton matrix of the fit's objective
        at its optimum (``w`` the Huber IRLS weights :math:`\\psi(r)/r`, 1 for ``loss="mse"``) and :math:`H` the
        penalty's Hessian: the trace of the hat matrix of the linearised penalised fit (Hastie, Tibshirani &
        Friedman 2009, Eq. 3.50). The report counts it (``n_vary=80 (effective 26.9)``: ye-pow, 30 runs), as loglinear's
        leave-one-out ridge counts its ``dof_``; an eval set with more runs than free parameters is not in it (its
        count and statistics stay the coefficients, as before a ridge could fit fewer runs)."""
        out: dict[str, float] = {}
        n = W.shape[0]
        for i, t in enumerate(ctx.targets):
            res = self.results_[t]
            free = res.params.vary_mask
            if n > int(free.sum()) or not self.alpha_.get(t):
                continue
            theta = res.params.array()
            pred, jac = self._model_one(W, i, ctx)(theta)
            jac = np.asarray(jac.to_dense() if hasattr(jac, "to_dense") else jac)[:, free] / pred[:, None]
            r = res.residuals
            delta = float(self.huber_delta)
            w = np.ones(n) if self.loss != "huber" else np.minimum(1.0, delta / np.maximum(np.abs(r), 1e-300))
            A = (jac * w[:, None]).T @ jac / (n * delta ** 2)
            self._alpha_now, self._n_domains = self.alpha_[t], W.shape[1]
            pen = self._penalty_one(res.params)
            self._ridge_flat[t] = int(ridge_counted_params(pen, theta, free) or 0)
            H = penalty_hessian(pen, theta)[np.ix_(free, free)]
            try:
                out[t] = float(np.trace(np.linalg.solve(A + H, A)))
            except np.linalg.LinAlgError:
                continue
        return out

    def _n_free_checked(self) -> int:
        # Eval sets fitted below their coefficient count under a ridge count its effective degrees of freedom
        # (_effective_dof); the others their free parameters.
        if not getattr(self, "_ridge_edf", None):
            return super()._n_free_checked()  # type: ignore[misc]
        return int(np.ceil(self._n_effective()))  # type: ignore[arg-type]

    def _n_free_of(self, target: str) -> int:
        """Free parameters of eval set ``target``, read from ``params_`` (its ``_local_names``), not ``results_``:
        a saved and loaded law has no ``results_``, and counting from them raised KeyError in its report when only
        some eval sets were fitted below their coefficients (the others' count looked up there)."""
        return sum(bool(self.params_[f"{target}.{n}"].vary) for n in self._local_names[target])  # type: ignore[attr-defined]

    def _n_size_checked(self) -> int:
        # What the engine checked (fit_models): an eval set fitted below its coefficients under a ridge needs more
        # runs than the free parameters its ridge leaves flat, not than its effective dof (near the runs when the
        # ridge is weak: 29.96 of 30 on Marin Delphi at alpha 0.1).
        flat = getattr(self, "_ridge_flat", None) or {}
        if not flat:
            return self._n_free_checked()
        return sum(flat[t] if t in flat else self._n_free_of(t) for t in self.targets_)

    def _n_effective(self) -> float | None:
        edf = getattr(self, "_ridge_edf", None) or {}
        if not edf:
            return super()._n_effective()  # type: ignore[misc]
        return float(sum(edf.values()) + sum(self._n_free_of(t) for t in self.targets_ if t not in edf))

    def _get_state(self) -> dict[str, Any]:
        return {**super()._get_state(), "alpha": self.alpha_, "edf": getattr(self, "_ridge_edf", None) or {}}

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self.alpha_ = {k: float(v) for k, v in state.get("alpha", {}).items()}
        self._ridge_edf = {k: float(v) for k, v in state.get("edf", {}).items()}


__all__ = ["choose_alpha", "choose_pooling", "RidgeCVMixin", "ALPHA_GRID", "SMALL_P_GRID", "N_FOLDS"]
