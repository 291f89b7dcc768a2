"""``gp-residual``: a parametric law plus a Gaussian process on its residuals, per eval set.

.. math:: \\log L_i(r) = \\log \\hat L^{\\mathrm{base}}_i(r) + g_i(r / s), \\qquad
          g_i \\sim \\mathcal{GP}\\big(0,\\; \\sigma_i^2 \\exp(-\\lVert x - x' \\rVert^2 / 2\\ell_i^2)
          + \\nu_i^2\\, \\delta_{xx'}\\big)

The base law (default ``loglinear-sat``) is fitted first; then, per eval set, a GP regression of its in-sample
log residuals (standardised) on the shares (divided by their overall standard deviation s) with a constant x
RBF kernel plus white noise, hyperparameters :math:`(\\sigma_i, \\ell_i, \\nu_i)` by maximum marginal likelihood
(Rasmussen & Williams, *Gaussian Processes for Machine Learning*, MIT Press 2006, §5.4). The prediction is the
GP's posterior mean, the same as scikit-learn's ``GaussianProcessRegressor`` with these hyperparameters (a
test checks it). When the residuals are noise the marginal likelihood puts their variance in :math:`\\nu_i` and
:math:`\\sigma_i / \\nu_i \\to 0`: the correction vanishes by itself and the law predicts as its base.

The marginal likelihood is maximised globally in the length scale, not from a start: for each length scale on a grid
(factors of 2 around the median distance between runs, then refined by Brent's method; the grid's are made once for
all eval sets, which share the runs) one eigendecomposition of the RBF matrix :math:`R = Q \\Lambda Q^\\top` makes
the likelihood of :math:`K = \\nu^2 (\\theta R + I)` a sum over eigenvalues; :math:`\\nu^2` has a closed form and
the signal-to-noise ratio :math:`\\theta` is a bounded 1-D search. The likelihood has two basins (a smooth surface
through the residuals, or flat: all noise), and scikit-learn's L-BFGS from one start missed the first on a bump of
0.06 in log L on 150 runs of 4 domains (as in tests/laws/test_residual_gp.py, seed 0); a second start found it, at
5x the CPU time of this search on RegMix's 512 runs.

Why (issue 10, Marin Delphi table9_obj): every separable law plateaus near Spearman 0.89 there, and a few runs
sit far off any of them (the most dolmino_synth_instruction); the Huber fit down-weights them, and the GP spreads
their residuals to neighbouring mixtures. A wrapper with a ``base`` option rather than an option of
``loglinear-sat``: the correction is one concept, whatever law it corrects, and the saved file nests the base's
own file.

References
----------
Rasmussen & Williams, *Gaussian Processes for Machine Learning*, MIT Press (2006), Eq. 2.25 (posterior mean) and
§5.4.1 (marginal likelihood). Kennedy & O'Hagan, "Bayesian calibration of computer models", JRSS B 63 (2001)
(a parametric model plus a GP discrepancy term).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from scipy.linalg import cho_factor, cho_solve, eigh
from scipy.optimize import minimize_scalar

from .._console import column_width, pad
from .._validation import Options
from ..errors import FitError, InputError
from ..fit import Param, Params, single_threaded_blas
from .base import FitContext, MixingLaw, law_from_dict, register
from .registry import _REGISTRY
from .selection import fit_law

#: Signal-to-noise variance ratio theta = sigma^2 / nu^2 searched: at the lower end the correction is 1e-6 of the
#: residuals' scale (none); the upper end keeps theta R + I well conditioned.
THETA_BOUNDS = (1e-6, 1e6)
#: Length scales tried first: the median distance between two fitting runs times 2^k (inputs in units of their
#: standard deviation; on Marin Delphi's 39 buckets the median is 8.2 and the fitted scales 0.9-3.5 over its 9 metrics).
LENGTH_FACTORS = 2.0 ** np.arange(-6, 5)
#: Absolute bounds of the length scale (in units of the inputs' standard deviation).
LENGTH_BOUNDS = (1e-3, 1e4)


@register("gp-residual")
class ResidualGP(MixingLaw):
    """A base law with a Gaussian-process correction of its residuals, one GP per eval set.

    ``log L_i(r) = log L_i^base(r) + g_i(r / s)``, ``g_i`` a GP with an RBF plus white-noise kernel whose
    hyperparameters maximise the marginal likelihood (Rasmussen & Williams 2006, §5.4); the module docstring
    (:mod:`mixlaw.laws.residual_gp`) gives the formula in full, the search and the references.

    Parameters
    ----------
    base : str, default="loglinear-sat"
        Key of the law corrected (any registered law but this one).
    base_options : dict, optional
        Constructor options of the base law (not ``random_state``: the law's own is passed on).
    inputs : {"shares", "sqrt"}, default="shares"
        The GP's inputs: the shares r, or sqrt(r) (which spreads small shares apart), divided by their overall
        standard deviation on the fitting runs.
    residuals : {"log", "plain"}, default="log"
        Correct log L (multiplicative; needs positive base predictions) or L itself (additive).
    random_state : int, Generator or None, default=0
        Passed to the base law (the GP's fit is deterministic).

    Attributes
    ----------
    base_ : MixingLaw
        The fitted base law.
    gp_ : dict of str to dict
        Per eval set: ``X`` (n_runs, n_domains) the GP's training inputs, ``alpha`` (n_runs,) its dual
        coefficients, ``y_mean`` / ``y_std`` the residuals' normalisation, and ``correction_rms`` (the RMS of the
        correction over the fitting runs, in units of the residuals).
    input_scale_ : float
        The standard deviation the inputs are divided by.
    params_ : Params
        The base's parameters as ``<base>:<name>``, then per eval set ``gp:<target>.amplitude``,
        ``gp:<target>.length_scale`` and ``gp:<target>.noise`` (standard deviations, in units of the standardised
        residuals).

    Notes
    -----
    .. math:: \\log L_i(r) = \\log \\hat L^{\\mathrm{base}}_i(r) + g_i(r / s), \\qquad
              g_i \\sim \\mathcal{GP}\\big(0,\\; \\sigma_i^2 \\exp(-\\lVert x - x' \\rVert^2 / 2\\ell_i^2)
              + \\nu_i^2\\, \\delta_{xx'}\\big)

    (with ``residuals="plain"``, :math:`L_i = \\hat L^{\\mathrm{base}}_i + g_i`).

    One length scale for all domains: one per domain (automatic relevance determination, scikit-learn's RBF with
    marginal likelihood) ranked Marin table9_obj worse, 0.8813 / 0.8781 / 0.8837 at outer seeds 0 / 1 / 2 against
    0.8990 / 0.9097 / 0.8988, at 4 CPU min a seed (39 length scales overfit the likelihood on 224 runs;
    bench/table9_probe.py). The RBF is also what the marginal likelihood picks there: against the RBF on sqrt(r)
    and Matern 1/2, 3/2, 5/2 on r it is the most likely on all 15 outer folds of seeds 0-2.

    Symbols: r -> ``weights``, s -> ``input_scale_``, sigma_i -> ``amplitude``, l_i -> ``length_scale``, nu_i ->
    ``noise``. The posterior mean is :math:`\\bar y + \\mathrm{sd}(y)\\, k(x, X)^\\top \\alpha` with
    :math:`\\alpha = (K + \\nu^2 I)^{-1} (y - \\bar y)/\\mathrm{sd}(y)`, recomputed from the saved inputs, dual
    coefficients and hyperparameters (no pickled estimator). Predictions are smooth in r (gradient search
    applies when the base's do).

    References
    ----------
    Rasmussen & Williams, *Gaussian Processes for Machine Learning*, MIT Press (2006), Eq. 2.25 and §5.4.1;
    Kennedy & O'Hagan, "Bayesian calibration of computer models", JRSS B 63 (2001).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W = rng.dirichlet(np.ones(3), size=80)
    >>> y = np.exp(0.3 * W[:, 0] - 0.1 * np.log(W[:, 1] + 0.02) + 0.05 * np.exp(-40 * (W[:, 2] - 0.5) ** 2))
    >>> law = ResidualGP(base="loglinear", inputs="shares").fit(W, y)
    >>> bool(np.mean(np.abs(law.predict(W) / y - 1)) < 0.01)
    True
    """

    stderr_method: ClassVar[str | None] = "the base law's own; none for the GP's"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "base": [str],
        "base_options": [dict, None],
        "inputs": [Options({"shares", "sqrt"})],
        "residuals": [Options({"log", "plain"})],
        "random_state": ["random_state"],
    }

    def __init__(self, *, base: str = "loglinear-sat", base_options: Mapping[str, Any] | None = None,
                 inputs: str = "shares", residuals: str = "log",
                 random_state: int | np.random.Generator | None = 0) -> None:
        self.base, self.base_options, self.inputs = base, base_options, inputs
        self.residuals, self.random_state = residuals, random_state

    # The base decides what else the law takes and whether its predictions are smooth.
    def _base_cls(self) -> Any:
        # A fitted law's is its fitted base's: set_params(base="linear") after a fit on dz-eq1 made predict drop
        # the model size the fitted base reads (predictions 0.35 off)
        law = getattr(self, "base_", None)
        if law is not None:
            return type(law)
        return _REGISTRY.get(self.base) if isinstance(self.base, str) else None

    @property
    def uses_model_params(self) -> bool | str:  # type: ignore[override]
        cls = self._base_cls()
        return False if cls is None else cls.uses_model_params

    @property
    def uses_tokens(self) -> bool | str:  # type: ignore[override]
        cls = self._base_cls()
        return False if cls is None else cls.uses_tokens

    @property
    def differentiable(self) -> bool:  # type: ignore[override]
        law = getattr(self, "base_", None)
        return bool(getattr(law if law is not None else self._base_cls(), "differentiable", True))

    # ------------------------------------------------------------------ fit / predict
    def _check_base(self) -> dict[str, Any]:
        if self.base == self.key or self._base_cls() is None:
            known = [k for k in _REGISTRY if k != self.key]
            raise InputError(f"law {self.key!r}: base {self.base!r} is not a law it can correct (known: "
                             f"{', '.join(known)})")
        opts = dict(self.base_options or {})
        if opts.get("objective") is not None:
            # auto/stack with an objective predict one 'objective' column: no per-eval residuals to correct.
            raise InputError(f"law {self.key!r}: base_options must not set objective (the GP corrects each eval "
                             f"set; for an objective give it to the meta-law: auto with candidates "
                             f"['{self.key}'], or mixlaw fit --law {self.key} --objective ...)")
        if "random_state" in opts:
            raise InputError(f"law {self.key!r}: base_options must not set random_state (the law's own "
                             f"random_state={self.random_state!r} is passed to the base)")
        return opts

    def _x(self, W: np.ndarray) -> np.ndarray:
        return np.sqrt(W) if self.inputs == "sqrt" else W

    def _fit(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext) -> None:
        opts = self._check_base()
        seed = self.random_state if isinstance(self.random_state, (int, np.integer)) else None
        if seed is None:  # a Generator: one draw seeds the base
            seed = int(self._rng.integers(0, 2**31 - 1))
        # Through fit_law: a bench's fit cache serves the base's fit when it was fitted alone on the same runs.
        self.base_ = fit_law(self.base, W, Y, domains=ctx.domains, targets=ctx.targets,
                             model_params=ctx.model_params, tokens=ctx.tokens, random_state=int(seed), **opts)
        P = self.base_._predict(W, ctx)
        if not np.all(np.isfinite(P)):
            # dz-eq3 is +inf where a run lacks a domain: no residual to learn from there.
            raise FitError(f"law {self.key!r}: base {self.base!r} predicts a non-finite loss on a fitting run, so "
                           f"its residuals are undefined (e.g. dz-eq3 on runs without a domain: use dz-eq3-safe)")
        if self.residuals == "log":
            if not np.all(P > 0):
                raise FitError(f"law {self.key!r}: base {self.base!r} predicts a loss <= 0 on a fitting run, so "
                               f"its log residuals are undefined (use residuals='plain')")
            R = np.log(Y) - np.log(P)
        else:
            R = Y - P
        X = self._x(W)
        sd = float(X.std())
        self.input_scale_ = sd if sd > 0 else 1.0
        # C order, as a loaded law's X (read from its list): a run table's column-major weights gave another
        # last bit in predict's distances, and the loaded law predicted 2.7e-15 off the fitted one (hunt34c).
        X = np.ascontiguousarray(X / self.input_scale_)
        med = _median_distance(X)
        D2 = _sqdist(X, X)
        self.gp_: dict[str, dict[str, Any]] = {}
        gp_params: list[Param] = []
        # The length-scale grid's eigendecompositions of D2, shared by the eval sets: only where there is more than one
        # to share them, and not on tables so large that the grid's 11 n x n eigenvector matrices would hold more
        # memory than the fit (the results are the same either way).
        grid_eig: EigCache | None = ({} if len(ctx.targets) > 1 and len(X) <= GRID_CACHE_MAX_RUNS else None)
        for i, t in enumerate(ctx.targets):
            # Residuals standardised (as scikit-learn's normalize_y): the hyperparameters are in their units.
            y_mean, y_std = float(R[:, i].mean()), float(R[:, i].std())
            y_std = y_std if y_std > 0 else 1.0
            z = (R[:, i] - y_mean) / y_std
            # One BLAS thread, as every mixlaw fit (fit.py): an eigendecomposition of RegMix's 512 runs takes 25 ms
            # on one thread and 0.14-0.97 s with the default threads when the other core is busy.
            with single_threaded_blas():
                amp2, length, noise2 = _max_marginal_likelihood(D2, z, med, grid_eig)
                K = amp2 * np.exp(-D2 / (2 * length ** 2)) + noise2 * np.eye(len(z))
                alpha = cho_solve(cho_factor(K, lower=True), z)
            self.gp_[t] = {"X": X, "alpha": alpha, "y_mean": y_mean, "y_std": y_std}
            gp_params += _gp_params(t, amp2, length, noise2, med)
        bparams = [Param(f"{self.base}:{p.name}", p.value, p.init, p.min, p.max, p.vary, p.stderr, note=p.note)
                   for p in self.base_.params_.values()]
        self.params_ = Params(bparams + gp_params)
        for t in ctx.targets:
            corr = self._correction(D2, t)
            self.gp_[t]["correction_rms"] = float(np.sqrt(np.mean(corr ** 2)))
        self.results_ = {f"{self.base}:{k}": r for k, r in (getattr(self.base_, "results_", {}) or {}).items()}

    def _hyper(self, t: str) -> tuple[float, float, float]:
        """(amplitude^2, length scale, noise^2) of eval set ``t``'s GP, from ``params_``."""
        p = self.params_
        return (p[f"gp:{t}.amplitude"].value ** 2, p[f"gp:{t}.length_scale"].value, p[f"gp:{t}.noise"].value ** 2)

    def _correction(self, D2: np.ndarray, t: str) -> np.ndarray:
        """The GP's posterior mean, in units of the residuals, at the inputs whose squared distances to the
        fitting runs' (every eval set's GP has the same ones) are ``D2``."""
        g = self.gp_[t]
        amp2, length, _ = self._hyper(t)
        return g["y_mean"] + g["y_std"] * (amp2 * np.exp(-D2 / (2 * length ** 2))) @ g["alpha"]

    def _predict(self, W: np.ndarray, ctx: FitContext) -> np.ndarray:
        with self.base_._as_fitted():  # the base's own fitted options, as its predict's
            P = np.asarray(self.base_._predict(W, ctx), dtype=np.float64)
        # One distance matrix for every eval set's GP (they share the fitting runs' inputs), not one per eval set.
        D2 = _sqdist(self._x(W) / self.input_scale_, next(iter(self.gp_.values()))["X"])
        C = np.column_stack([self._correction(D2, t) for t in self.targets_])
        return P * np.exp(C) if self.residuals == "log" else P + C

    def _count_grows_with_runs(self) -> bool:
        return self.base_._count_grows_with_runs()

    def _counts_its_parameters(self) -> bool:
        return self.base_._counts_its_parameters()

    def _n_free_checked(self) -> int:
        # The base's own count (a meta-law base counts its members against their own losses), plus the GP's
        # hyperparameters; the dual coefficients are the GP's posterior, not free parameters.
        gp = sum(p.vary for n, p in self.params_.items() if n.startswith("gp:"))
        own = 0 if getattr(self.base_, "members_checked", False) else self.base_._n_free_checked()
        return int(own + gp)

    def _n_effective(self) -> float | None:
        # The base's saving (a leave-one-out ridge base, its coefficients less its tr H) carries over: on 50 domains
        # x 60 runs the report read "n_vary=53  dof=7" for a base of 28 effective degrees of freedom.
        base = self.base_._n_effective()
        return None if base is None else float(self.n_params_ - (self.base_.n_params_ - base))

    # ------------------------------------------------------------------ io
    def _get_state(self) -> dict[str, Any]:
        # The inputs once (every eval set's GP has the same fitting runs), then each GP's numbers.
        X = next(iter(self.gp_.values()))["X"]
        return {"base": self.base_.to_dict(), "input_scale": self.input_scale_, "X": X.tolist(),
                "gp": {t: {"alpha": g["alpha"].tolist(), "y_mean": g["y_mean"], "y_std": g["y_std"],
                           "correction_rms": g["correction_rms"]} for t, g in self.gp_.items()}}

    def _set_state(self, state: dict[str, Any]) -> None:
        self._check_base()  # what fit refuses (base gp-residual, to any depth; an objective) a file cannot load
        self.base_ = law_from_dict(state["base"])
        if self.base_.key != self.base or self.base_.targets_ != self.targets_ or self.base_.domains_ != self.domains_:
            raise InputError(f"the nested base law ({self.base_.key!r}, targets {self.base_.targets_}) is not "
                             f"options.base {self.base!r} fitted to targets {self.targets_} and the same domains")
        self.input_scale_ = float(state["input_scale"])
        if not (np.isfinite(self.input_scale_) and self.input_scale_ > 0):
            raise InputError(f"input_scale must be a finite number > 0; got {state['input_scale']!r}")
        gp = dict(state["gp"])
        if set(gp) != set(self.targets_):
            raise InputError(f"gp must have one entry per target {self.targets_}; got {sorted(gp)}")
        M = len(self.domains_)
        X = np.asarray(state["X"], dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != M or X.shape[0] < 1 or not np.all(np.isfinite(X)):
            raise InputError(f"X must be (n_runs, {M}) finite numbers; got shape {X.shape}")
        self.gp_ = {}
        for t in self.targets_:
            g = gp[t]
            alpha = np.asarray(g["alpha"], dtype=np.float64)
            scal = {k: float(g[k]) for k in ("y_mean", "y_std", "correction_rms")}
            if alpha.shape != (X.shape[0],):
                raise InputError(f"gp[{t!r}]: alpha must have one number per row of X ({X.shape[0]}); got "
                                 f"{alpha.shape}")
            if not (np.all(np.isfinite(alpha)) and all(map(np.isfinite, scal.values())) and scal["y_std"] > 0):
                raise InputError(f"gp[{t!r}]: alpha, y_mean, y_std must be finite (y_std > 0)")
            if not all(v > 0 for v in self._hyper(t)):
                raise InputError(f"gp:{t}: amplitude, length scale and noise must be > 0")
            self.gp_[t] = {"X": X, "alpha": alpha, **scal}

    def _extra_report_sections(self) -> list[tuple[str, str]]:
        w = column_width(self.targets_)
        unit = "log L" if self.residuals == "log" else "L"
        rows = [f"{pad('eval', w)}  {'length':>8} {'signal':>8} {'noise':>8} {'corr rms':>9}  (signal, noise and the "
                f"correction's RMS on the fitting runs in units of {unit})"]
        for t in self.targets_:
            amp2, length, noise2 = self._hyper(t)
            g = self.gp_[t]
            rows.append(f"{pad(t, w)}  {length:>8.3g} {g['y_std'] * np.sqrt(amp2):>8.3g} "
                        f"{g['y_std'] * np.sqrt(noise2):>8.3g} {g['correction_rms']:>9.3g}")
        return [(f"Residual GP on {self.base} (RBF on the {self.inputs} + white noise)", "\n".join(rows))]


def _sqdist(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of A (n, M) and B (m, M): (n, m)."""
    return np.maximum((A ** 2).sum(1)[:, None] + (B ** 2).sum(1)[None, :] - 2 * A @ B.T, 0.0)


def _median_distance(X: np.ndarray) -> float:
    """Median Euclidean distance between two distinct rows of X (1 when all rows coincide)."""
    d = np.sqrt(_sqdist(X, X)[np.triu_indices(len(X), 1)])
    d = d[d > 0]
    return float(np.median(d)) if d.size else 1.0


#: The most runs whose length-scale grid's eigendecompositions a fit keeps for its eval sets: 11 matrices of 2000 x 2000
#: float64 are 350 MB (RegMix's 512 runs: 23 MB), and up to 2 of Brent's points per grid point that was an eval
#: set's best (:func:`_max_marginal_likelihood`).
GRID_CACHE_MAX_RUNS = 2000

#: Eigendecompositions of the RBF correlation matrix ``exp(-D2 / (2 length^2))`` by length scale, for one fit's
#: ``D2``: ``{length: (eigenvalues clipped at 0, eigenvectors)}`` (:func:`_max_marginal_likelihood`).
EigCache = dict[float, tuple[np.ndarray, np.ndarray]]


def _eig(D2: np.ndarray, length: float, cache: EigCache | None) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (clipped at 0) and eigenvectors of ``exp(-D2 / (2 length^2))``, from ``cache`` when it holds
    ``length``. The matrix depends on the runs and the length scale alone, not on the eval set's residuals."""
    hit = None if cache is None else cache.get(length)
    if hit is not None:
        return hit
    lam, Q = eigh(np.exp(-D2 / (2 * length ** 2)), driver="evd", check_finite=False)
    lam = np.clip(lam, 0.0, None)  # round-off below 0 in a positive semi-definite matrix
    if cache is not None:
        cache[length] = (lam, Q)
    return lam, Q


def _profile(D2: np.ndarray, z: np.ndarray, length: float,
             cache: EigCache | None = None) -> tuple[float, float, float]:
    """Best (negative log marginal likelihood, theta, nu^2) at one length scale, up to a constant.

    With :math:`R = Q \\Lambda Q^\\top` and :math:`K = \\nu^2 (\\theta R + I)`, :math:`-\\log p(z) = \\tfrac12
    \\sum_k \\tilde z_k^2 / (\\nu^2 v_k) + \\tfrac12 \\sum_k \\log(\\nu^2 v_k) + \\mathrm{const}`, :math:`v_k = \\theta
    \\lambda_k + 1`, :math:`\\tilde z = Q^\\top z`; its minimum over :math:`\\nu^2` is at :math:`\\nu^2 =
    \\overline{\\tilde z^2 / v}`, leaving a bounded 1-D search in :math:`\\log \\theta`.
    """
    lam, Q = _eig(D2, length, cache)
    zt2 = (Q.T @ z) ** 2
    n = len(z)

    def nll(log_theta: float) -> float:
        v = np.exp(log_theta) * lam + 1.0
        return float(0.5 * n * np.log(np.mean(zt2 / v)) + 0.5 * np.sum(np.log(v)))

    lo, hi = np.log(THETA_BOUNDS)
    res = minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-3})
    # The ends too: the bounded search can stop inside a shallow slope toward "no correction" (theta at its floor).
    f, lt = min((float(res.fun), float(res.x)), (nll(lo), lo), (nll(hi), hi))
    return f, float(np.exp(lt)), float(np.mean(zt2 / (np.exp(lt) * lam + 1.0)))


def _max_marginal_likelihood(D2: np.ndarray, z: np.ndarray, median: float,
                             grid_cache: EigCache | None = None) -> tuple[float, float, float]:
    """(amplitude^2, length scale, noise^2) maximising the marginal likelihood of z under RBF + white noise.

    Length scales on the grid ``median * LENGTH_FACTORS``, then Brent's method between the best one's neighbours.
    ``grid_cache``: the grid's eigendecompositions of this ``D2``, shared by every eval set's call (filled by the
    first). Why: the grid is the same for every eval set of a fit (same runs, same median), and its 11
    eigendecompositions were redone per eval set (13 on RegMix: 45 of gp-residual's 65 s of fold fits were
    ``eigh``). Brent's points depend on the residuals, so they are kept for this call (its last point is the one
    refitted at the end), but its first two, which depend on the bracket alone, go to ``grid_cache`` too.
    """
    if not np.any(z):
        # Residuals all 0 (a base that fits exactly, e.g. ye-exp on constant losses): the profiled noise is 0 and
        # K singular. Nothing to correct: the weakest signal, unit noise, so the dual coefficients are 0.
        return THETA_BOUNDS[0], float(np.clip(median, *LENGTH_BOUNDS)), 1.0
    grid = np.clip(median * LENGTH_FACTORS, *LENGTH_BOUNDS)
    fits = [_profile(D2, z, float(ell), grid_cache) for ell in grid]
    own: EigCache = {}
    tried: list[float] = []

    def at(ell: float) -> tuple[float, float, float]:
        tried.append(ell)
        return _profile(D2, z, ell, grid_cache if grid_cache is not None and ell in grid_cache else own)

    k = int(np.argmin([f[0] for f in fits]))
    best = (fits[k][0], float(grid[k]), fits[k][1], fits[k][2])
    lo, hi = np.log(grid[max(k - 1, 0)]), np.log(grid[min(k + 1, len(grid) - 1)])
    if hi > lo:
        res = minimize_scalar(lambda le: at(float(np.exp(le)))[0], bounds=(lo, hi), method="bounded",
                              options={"xatol": 0.01})
        ell = float(np.exp(res.x))
        f, theta, nu2 = at(ell)
        if f < best[0]:
            best = (f, ell, theta, nu2)
        if grid_cache is not None:
            # Brent's first two points are golden-section steps from the bracket's ends, so every eval set whose
            # best grid point is this one starts at the same two lengths: shared as the grid is (on RegMix's 13
            # evals, 25 of a fit's 102 eigh; at most 2 per grid point kept).
            grid_cache.update((t, own[t]) for t in tried[:2] if t in own)
    _, ell, theta, nu2 = best
    return theta * nu2, ell, nu2


def _gp_params(t: str, amp2: float, length: float, noise2: float, start: float) -> list[Param]:
    """The GP's hyperparameters as report parameters (standard deviations, not variances; init: the search's
    centre)."""
    return [Param(f"gp:{t}.amplitude", float(np.sqrt(amp2)), 1.0, 0.0, np.inf),
            Param(f"gp:{t}.length_scale", float(length), float(np.clip(start, *LENGTH_BOUNDS)), *LENGTH_BOUNDS),
            Param(f"gp:{t}.noise", float(np.sqrt(noise2)), 1.0, 0.0, np.inf)]


__all__ = ["ResidualGP"]
