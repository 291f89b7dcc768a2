"""The interface every law shares (scikit-learn estimator style): :class:`MixingLaw` and :class:`PerTargetLaw`.

``law = Law(**options); law.fit(weights, losses, ...); law.predict(weights, ...)``; fitted state ends in
``_``; ``law.report()`` is an lmfit-style fit report; ``to_dict()`` / :func:`law_from_dict` save and load.
This module owns fitting and prediction common to every law (fitted ranges and extrapolation warnings, warm
starts for refits); what ``fit`` is given is read and checked by :mod:`._fit_input`, how arrays,
frames, mappings and run tables are read by :mod:`._inputs`, losses far from order 1 fitted in a power of 10
(loss units) by the mixin :class:`.units.LossUnits`, and the parameter count and ``train_metrics_`` set after a
fit by the mixin :class:`._fit_stats.FitStatistics`; the registry (:mod:`.registry`) and the saved-law format
(:mod:`.saved`) live below it and are re-exported here, so ``from mixlaw.laws.base import get_law`` works.
Adding a law is one file: subclass :class:`MixingLaw` (or :class:`PerTargetLaw` when eval sets are fitted
independently), decorate it with :func:`register`, and import the module in ``laws/__init__.py``.
"""

from __future__ import annotations

import copy
import inspect
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from .._validation import Interval, Options, check_is_fitted, check_random_state, renamed
from ..data import (
    SAME_MIXTURE_ATOL,
    SAME_MIXTURE_RTOL,
    WEIGHT_TOL,
    RunTable,
    beyond_tol,
    note_left_out,
    scale_mismatch,
)
from ..errors import (
    ExtrapolationWarning,
    FitError,
    InputError,
    InvalidParameterError,
    LossRangeWarning,
    ScaleWarning,
    WeightRangeWarning,
    user_stacklevel,
)
from ..fit import HUBER_DELTA, FitResult, Param, Params, fit_models
from ..fit_report import FitReport, fit_warnings
from ._fit_input import FitContext, FitInput, check_losses, read_fit_input
from ._fit_stats import FitStatistics
from ._inputs import (
    _as_weights,
    _broadcast,
    _frame_as_table,
    _loss_names,
    check_rows_paired,
    table_weights_for,
    weights_in_order,
)
from .cv_table import NO_CANDIDATE_MARK
from .registry import _REGISTRY, available_laws, get_law, register
from .saved import LAW_SCHEMA_VERSION, LOSS_RANGE_FACTOR, law_from_dict, off_loss_range, state_bool
from .scale_inputs import scale_blind_message
from .units import LossUnits, PerTargetLossUnits

#: Iterations of a parametric law's Levenberg-Marquardt solve per start (the engine's default is 500). ye-pow at 39
#: domains creeps along the ridge toward its log-linear limit and needs ~630: on Marin Delphi's 280 runs (5 folds
#: x 9 evals) 14 of 45 fits ended at 500 with "no start converged" and none at 2000, at the same held-out
#: Spearman (0.9454 / 0.9451) and 1.4x the CPU; additive-ens 1 of 45 -> 0; ye-exp, bimix and every RegMix fit
#: converge well before either cap. A start that converges stops early, so the cap only costs where it is needed.
LAW_MAX_ITER = 2000


#: predict renormalises array rows whose sum is off 1 by more than this (and within the fit's weight_tol), as fit
#: does: well above the optimiser's finite-difference step (optimize.objective.FD_STEP, 1e-6), well below any
#: rounding a user's shares carry (3 decimals: up to 5e-3); rows off by less change a prediction by < 1e-4 relative.
PREDICT_RENORMALISE_FROM = 1e-4


class MixingLaw(FitStatistics, LossUnits, RegressorMixin, BaseEstimator):
    """Base class of every law: a scikit-learn regressor of losses on mixtures.

    ``sklearn.base.clone``, ``cross_val_score`` and ``GridSearchCV`` work on a law fitted to an array of
    mixtures ``X`` (n_runs, n_domains) and losses ``y`` (n_runs,): ``get_params`` / ``set_params`` come from
    :class:`sklearn.base.BaseEstimator`, the estimator tags say regressor, and :meth:`score` is R^2.

    Subclasses implement ``_fit(W, Y, ctx)`` (set ``params_`` and ``results_``) and
    ``_predict(W, ctx) -> ndarray of shape (n, n_targets)``, and may add report sections in
    ``_extra_report_sections()``.

    Attributes
    ----------
    params_ : Params
        Fitted coefficients.
    results_ : dict of str to FitResult
        One per independently fitted problem (per target, or ``"joint"``).
    domains_ : list of str
        Training domains in the order of the weight columns the law was fitted with.
    targets_ : list of str
        Evaluation sets predicted, in column order of ``predict``'s output.
    n_runs_ : int
        Runs (rows) the law was fitted on.
    n_features_in_ : int
        Number of weight columns (scikit-learn's name; ``len(domains_)``).
    fit_seconds_ : float
        Wall time of the fit.
    train_metrics_ : dict of str to float
        In-sample ``n_obs``, ``RMSE``, ``MAPE`` and ``R2`` (and ``AIC``, ``BIC`` where the parameters were
        fitted to the predicted columns; ``n_effective``, the free parameters with a leave-one-out ridge's tr H
        counted in place of its coefficients, for such a ridge or a meta-law with one as a member), as the report
        prints them.
    """

    key: ClassVar[str] = ""
    #: Takes the model size / tokens per run: True (required), "optional", or False (ignored).
    uses_model_params: ClassVar[bool | str] = False
    uses_tokens: ClassVar[bool | str] = False
    #: Targets are matched to the training domain of the same name (or ``eval_map``); the others use implicit
    #: aggregation over every training domain's law (DZ laws, BiMix, AutoScale).
    needs_matched_targets: ClassVar[bool] = False
    #: Predictions are smooth in the weights, so gradient search applies (False: piecewise constant, e.g. trees;
    #: the optimiser then samples mixtures instead).
    differentiable: ClassVar[bool] = True
    #: Parameters are ``<target>.<name>``, one independent problem per target (:class:`PerTargetLaw`); the
    #: saved-law loader checks the names against the targets.
    per_target_params: ClassVar[bool] = False
    #: All targets share one coupled problem (the DZ laws' shared skills): every parameter counts against the
    #: runs at once, not per target.
    coupled_targets: ClassVar[bool] = False
    #: The parameters are other laws' (auto, stack), each fitted and checked against its own losses: their sum is
    #: not checked against the runs (a stack of four 80-parameter laws on 187 runs x 9 evals is no overfit).
    members_checked: ClassVar[bool] = False
    #: How the standard errors of ``params_`` are computed, as the report's [[Params]] header says it; None: this
    #: law computes none (the header then says so, and points at bootstrap intervals).
    stderr_method: ClassVar[str | None] = "Gauss-Newton on log residuals"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "loss": [Options({"huber", "mse"})],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
        "n_restarts": [Interval(Integral, 1, None, closed="left")],
        "bounds": [dict, None],
        "fixed": [dict, None],
        "random_state": ["random_state"],
    }

    # ------------------------------------------------------------------ sklearn plumbing
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind == p.KEYWORD_ONLY]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor arguments, as passed (scikit-learn's ``get_params``; no law nests an estimator)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> MixingLaw:
        """Set constructor arguments (scikit-learn's ``set_params``); an unknown name is an error. On a fitted law
        they are the next fit's: ``predict``, ``to_dict`` and ``report`` keep the options it was fitted with."""
        for k, v in params.items():
            if k not in self._param_names():
                raise InvalidParameterError(f"{type(self).__name__} has no parameter {k!r} "
                                            f"(parameters: {', '.join(self._param_names())})")
            setattr(self, k, v)
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # Weights are mixtures (non-negative, rows on the simplex) and losses are positive: the common
        # sklearn checks that feed arbitrary reals do not apply.
        tags.input_tags.positive_only = True
        tags.target_tags.positive_only = True
        # losses of shape (n_runs, n_targets) fit one column per eval set (check_supervised_y_2d expected a
        # DataConversionWarning and a flattened y)
        tags.target_tags.multi_output = True
        tags.requires_fit = True
        return tags

    def _as_fitted(self) -> AbstractContextManager[None]:
        """The options the law was fitted with, for the length of a call that reads the fitted law (predict,
        to_dict, report); scikit-learn's rule: ``set_params`` after a fit sets the next fit's options. Why: a fitted
        dz-eq1 given ``n_ref=50`` predicted other losses from the same parameters (its model reads the option),
        to_dict saved the new option beside the old parameters, and a ye-implicit given ``n_components=2`` raised
        a reshape error at predict."""
        fitted = getattr(self, "_fit_options", None) or {}
        # `is` first: the optimiser's hot loop predicts tens of thousands of times with the options unchanged
        now = {k: getattr(self, k) for k, v in fitted.items()
               if getattr(self, k) is not v and not _same(getattr(self, k), v)}
        return self._options_set(now, fitted) if now else nullcontext()

    @contextmanager
    def _options_set(self, now: dict[str, Any], fitted: dict[str, Any]) -> Iterator[None]:
        for k in now:
            setattr(self, k, fitted[k])
        try:
            yield
        finally:
            for k, v in now.items():
                setattr(self, k, v)

    def clone(self) -> MixingLaw:
        """An unfitted copy with the same constructor arguments."""
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._options_text()})"

    def _options_text(self) -> str:
        """The constructor arguments that differ from their defaults, as the repr writes them (``"alpha=1.0"``;
        ``""`` for a law as registered)."""
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        return ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if not _same(defaults.get(k), v))

    # ------------------------------------------------------------------ fit / predict
    def fit(self, weights: Any, losses: Any = None, *, domains: Sequence[str] | None = None,
            targets: Sequence[str] | str | None = None, params: Any = None, tokens: Any = None,
            weight_tol: float = WEIGHT_TOL, model_params: Any = None) -> MixingLaw:
        """Fit the law.

        Parameters
        ----------
        weights : ndarray of shape (n_runs, n_domains), DataFrame, or RunTable
            Training mixtures (rows on the simplex). With a :class:`~mixlaw.data.RunTable` (or a DataFrame in its
            columns, ``w:<domain>``, ``loss:<eval>``), ``losses`` may be omitted and ``targets`` names the eval
            sets (default: all of them). A DataFrame of mixtures alone names the domains by its columns (without
            the ``w:`` prefix where they have it).
        losses : ndarray of shape (n_runs,) or (n_runs, n_targets)
            Validation losses (> 0). A 1-D array makes ``predict`` return 1-D. A pandas Series or DataFrame
            names the eval sets (its name or columns, ``loss:`` prefix dropped) unless ``targets`` is given. A NaN
            is a missing loss: an InputError, except for a law that fits each eval set on the rows that have it
            (:meth:`_fits_ragged`: ``auto`` / ``stack`` without an objective), which also takes a run
            table's rows that miss some eval (the others take its rows that have every target's loss), and for an
            eval that ``auto`` / ``stack``'s objective weighs 0, which is then not fitted (a DataWarning).
        domains, targets : list of str, optional
            Names of the weight columns and loss columns (laws that match eval sets to training domains
            need them). A RunTable, or a frame of ``w:<domain>`` columns, names its own domains: ``domains`` then
            orders them by name (other names are an InputError); a frame of plain columns is renamed by position.
        params, tokens : ndarray of shape (n_runs,), optional
            Model size N and training tokens D of each run, for laws that use them (the run table's ``params``
            and ``tokens`` columns). Given to a law with no such term (ye-exp, linear, ...), the value is ignored,
            with a :class:`~mixlaw.errors.ScaleWarning` saying so, as ``predict`` does.
        weight_tol : float, default=0.01
            An array of mixtures is held to a run table's rule (``--weight-tol``): rows whose weights sum to 1
            within this tolerance are renormalised (one :class:`~mixlaw.errors.DataWarning` when some row is off
            by more than rounding), and a row beyond it is refused, named by its index. A frame in the run table's
            columns is read as a RunTable with this tolerance; a RunTable was checked with its own ``weight_tol``
            when it was read.
        model_params : ndarray of shape (n_runs,), optional
            The older name of ``params`` (a silent alias; giving both is an InputError).

        Returns
        -------
        self
        """
        model_params = renamed("params", params, "model_params", model_params)
        # A fit that raises leaves the law unfitted: a refit refused for bad losses kept the old parameters with
        # the new call's 1-D flag, and predict returned the first of two eval sets' columns without a word.
        self._forget_fit()
        inp = read_fit_input(self, weights, losses, domains=domains, targets=targets, model_params=model_params,
                             tokens=tokens, weight_tol=weight_tol)
        W, Y = inp.W, inp.Y
        ctx = FitContext(inp.domains, inp.targets, inp.model_params, inp.tokens)
        self._check_fit_needs(ctx)
        self._warn_unused_scale(model_params, tokens, fitting=True)  # said once the input is known to be good
        self._remember_fit_input(inp, ctx)
        t0 = time.perf_counter()
        try:
            self._fit(W, Y, ctx)
        except BaseException as err:
            if isinstance(err, InputError) and inp.spread and self.members_checked:
                _note_scale_blind_candidates(err, getattr(self, "cv_", None), inp.source, inp.spread,
                                             inp.checkpoints)
            self._forget_fit()
            if isinstance(err, (InputError, FitError)) and not self._fits_ragged():
                note_left_out(err, inp.left_out, W.shape[0], inp.n_table)  # a ragged fit's errors name their rows
            raise
        self.fit_seconds_ = time.perf_counter() - t0
        if inp.fit_scale is not None and self.members_checked and hasattr(self, "members_"):
            # A meta-law takes N and D, but the member it chose may not (auto chose bimix, which takes no model
            # size, on every eval of Dai & Zheng's six-size sweep).
            why = scale_blind_message(inp.source, inp.spread,
                                      list({m[3].key: m[3] for m in self.members_}.values()), chooser=self.key,
                                      checkpoints=inp.checkpoints)
            if why:
                warnings.warn(why, ScaleWarning, stacklevel=user_stacklevel(2))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)
            pred = self._predict(W, ctx)
        self._check_identified(W, Y, ctx)
        self._set_train_metrics(W, Y, pred)
        return self

    def _check_fit_needs(self, ctx: FitContext) -> None:
        """Refuse a fit that lacks what this law needs: model sizes, tokens, the domains its eval_map names."""
        if self.uses_model_params is True and ctx.model_params is None:
            raise InputError(f"law {self.key!r} needs the model size of each run (a 'params' column)")
        if self.uses_tokens is True and ctx.tokens is None:
            raise InputError(f"law {self.key!r} needs the training tokens of each run (a 'tokens' column)")
        if self.needs_matched_targets:
            bad = {e: d for e, d in (getattr(self, "eval_map", None) or {}).items() if d not in ctx.domains}
            if bad:
                raise InputError(f"law {self.key!r}: eval_map sends {bad} to no training domain "
                                 f"(training domains: {ctx.domains})")

    def _remember_fit_input(self, inp: FitInput, ctx: FitContext) -> None:
        """Fitted state read from the input alone: names, counts, and the ranges predict warns outside of."""
        W = inp.W
        # a copy: a dict or list option the user changes in place after the fit is the next fit's too (a random
        # state is kept as given: predict draws nothing)
        self._fit_options = {k: v if k == "random_state" else copy.deepcopy(v) for k, v in self.get_params().items()}
        self._weight_tol = inp.weight_tol  # predict reads rows within it as fit does
        # The plain frame's own column names, which `domains=` may rename: predict of the same frame is read by
        # position (scikit-learn's feature_names_in_; it was refused as 'not the law's domains').
        self._frame_columns = inp.frame_columns
        self._y_1d = inp.y_1d
        self._rng = check_random_state(self.random_state if hasattr(self, "random_state") else 0)
        self.domains_, self.targets_ = inp.domains, inp.targets
        self._fit_scale = inp.fit_scale
        self._data_source = inp.source  # the table's file (or bundled name): what report() names as its data
        self.n_runs_ = W.shape[0]
        # The report's "(60 rows of 12 runs, ...)": n_runs_ counts rows, 5 checkpoints of each of 12 runs read "60
        # runs" (newuser4). Not saved: a loaded law reports its rows as before.
        self._n_run_ids = inp.n_ids if inp.n_ids is not None and inp.n_ids < W.shape[0] else None
        self.rows_left_out_ = inp.left_out  # per eval, the table's rows without its loss (not in n_runs_)
        self.n_features_in_ = W.shape[1]  # scikit-learn's name for the number of weight columns
        self._w_range = (W.min(axis=0), W.max(axis=0))
        # Only laws that take N / D remember their range (and warn when predicting outside it).
        if not self.uses_model_params:
            ctx.model_params = None
        if not self.uses_tokens:
            ctx.tokens = None
        self._n_range = None if ctx.model_params is None else (ctx.model_params.min(), ctx.model_params.max())
        self._d_range = None if ctx.tokens is None else (ctx.tokens.min(), ctx.tokens.max())

    def _fit_tol_kw(self) -> dict[str, Any]:
        """How predict and score read a frame of runs: at the row-sum tolerance the law was fitted with (0.01
        for a law fitted before it was kept, or loaded), named as the keyword of ``fit`` that set it."""
        tol = getattr(self, "_weight_tol", WEIGHT_TOL)
        return {"weight_tol": tol, "tol_option": f"the weight_tol= of fit (this law's: {tol:g})"}

    def predict(self, weights: Any, *, params: Any = None, tokens: Any = None, model_params: Any = None) -> np.ndarray:
        """Predicted losses.

        Parameters
        ----------
        weights : ndarray of shape (n, n_domains), DataFrame, or RunTable
            Mixtures, columns in the order of ``domains_``; a RunTable, or a DataFrame whose columns are named
            by domain (``w:<domain>`` or ``<domain>``), is read by name (InputError for a name that is not a
            domain); so are one mixture given as a pandas Series (``df.iloc[0]``: by its labels, as a one-row frame)
            and one given as a mapping ``{domain: share}`` (e.g. ``optimize_mixture(law).weights``;
            domains it leaves out have share 0, and its shares must sum to 1 within the fit's ``weight_tol``, as
            ``mixlaw predict --mixtures`` holds them: InputError otherwise). Rows summing to 1 within the fit's
            ``weight_tol`` are renormalised, as ``fit`` reads them; an array's or frame's rows farther off are used
            as given.
        params, tokens : float or ndarray of shape (n,), optional
            Model size N and training tokens D, for laws that take them; default: the (single) value seen in
            fitting. Given to a law whose fit has no such term (ye-exp, linear, ...; bimix fitted without tokens),
            the value is ignored, with a :class:`~mixlaw.errors.ScaleWarning` saying so.
        model_params : float or ndarray of shape (n,), optional
            The older name of ``params`` (a silent alias; giving both is an InputError).

        Returns
        -------
        ndarray of shape (n,) if fitted on 1-D losses, else (n, n_targets)
        """
        model_params = renamed("params", params, "model_params", model_params)
        check_is_fitted(self)
        self._warn_unused_scale(model_params, tokens)
        # A frame in the run table's columns is read at the fit's tolerance, as arrays are below: read at the
        # default 0.01, law.fit(df, weight_tol=0.05).predict(df) refused the row summing to 1.03 that fit read.
        weights, _, frame_scale = _frame_as_table(weights, for_fit=False, domains=self.domains_,
                                                  fitted_columns=getattr(self, "_frame_columns", None),
                                                  **self._fit_tol_kw())
        model_params = frame_scale.get("params") if model_params is None else model_params
        tokens = frame_scale.get("tokens") if tokens is None else tokens
        if isinstance(weights, RunTable):
            table = weights
            # Laws without N/D inputs predict at the scale they were fitted at: say so when the table is not.
            fitted_at = getattr(self, "_fit_scale", None)
            if fitted_at is not None and not (self.uses_model_params or self.uses_tokens):
                rng = getattr(self, "_w_range", None)
                ranges = None if rng is None else {d: (float(rng[0][j]), float(rng[1][j]))
                                                   for j, d in enumerate(self.domains_)}
                why = scale_mismatch(fitted_at, table, table.path or "the predicted runs", ranges)
                if why:
                    warnings.warn(why, ScaleWarning, stacklevel=user_stacklevel(2))
            model_params = table.model_params if model_params is None else model_params
            tokens = table.tokens if tokens is None else tokens
            weights = table_weights_for(table, self.domains_)
        W = _as_weights(weights, "weights")
        if W.shape[1] != len(self.domains_):
            raise InputError(f"weights have {W.shape[1]} columns; the law was fitted on {len(self.domains_)} "
                             f"domains {self.domains_}")
        # Rows within the fit's weight_tol of 1 (past rounding) are read as fit reads them, renormalised: fit(W, y)
        # fitted such rows as shares and predict(W) used them as given (linear on 40 noise-free runs x 1.005:
        # score(W, y) 0.886 instead of 1). Rows farther off are used as given (the range warning names percentages).
        W = self._renormalise_near(W)
        mp, tk = self._scale_inputs(model_params, tokens, W.shape[0])
        lo, hi = self._w_range
        # A share off the range by rounding only (what merge_near_mixtures reads as one mixture) is inside it: a
        # pipeline fits the mean shares of a mixture written two ways, and its own rows warned at 1e-9.
        w_min, w_max = W.min(axis=0), W.max(axis=0)
        below = lo - w_min - (SAME_MIXTURE_ATOL + SAME_MIXTURE_RTOL * lo)
        above = w_max - hi - (SAME_MIXTURE_ATOL + SAME_MIXTURE_RTOL * w_max)
        if np.any(below > 0) or np.any(above > 0):
            # The domain that leaves its range farthest first, with the weight given: 'predict --mixtures code=1'
            # named the first domain in order, 'web' ([0.0015, 0.59]), at 0 just below its range, not code at 1.
            far = np.maximum(below, above)
            out = [int(j) for j in np.argsort(-far, kind="stable") if far[j] > 0]
            j = out[0]
            w = W[:, j].min() if below[j] >= above[j] else W[:, j].max()
            also = ", ".join(repr(self.domains_[k]) for k in out[1:4]) + (" ..." if len(out) > 4 else "")
            # An array of percentages reaches predict unchecked (a table of them is refused with this hint): the
            # warning named a share of 50 and no cause.
            sums = W.sum(axis=1)
            pct = bool(np.all(np.abs(sums - 100.0) <= 100.0 * WEIGHT_TOL) and hi.max() <= 1.0 + WEIGHT_TOL)
            warnings.warn(f"{self._label}: mixture weights outside the fitted range for domain "
                          f"{self.domains_[j]!r} ({w:.3g}; fitted [{lo[j]:.3g}, {hi[j]:.3g}])"
                          + (f"; also {also}" if also else "")
                          + ("; every row sums to 100: the weights look like percentages; divide them by 100"
                             if pct else ""), WeightRangeWarning, stacklevel=user_stacklevel(2))
        for name, v, rng in (("params", mp, self._n_range), ("tokens", tk, self._d_range)):
            if v is not None and rng is not None and (v.min() < rng[0] * (1 - 1e-9) or v.max() > rng[1] * (1 + 1e-9)):
                warnings.warn(f"{self._label}: {name} outside the fitted range [{rng[0]:.4g}, {rng[1]:.4g}]",
                              ExtrapolationWarning, stacklevel=user_stacklevel(2))
        ctx = FitContext(self.domains_, self.targets_, mp, tk)
        with self._as_fitted():
            out = self._predict(W, ctx)
        self._check_loss_range(out)
        return out[:, 0] if self._y_1d else out

    def _warn_unused_scale(self, model_params: Any, tokens: Any, *, fitting: bool = False) -> None:
        """Warn (:class:`ScaleWarning`) when ``predict`` is given a model size or token count that this fit has no
        term for: a law that takes none (ye-exp, linear, lightgbm, ...), or one that takes it optionally but was
        fitted without it (bimix fitted without tokens); ``fitting``: when ``fit`` is given one that the law takes
        no term for. Such a value was ignored without a word: ``ye_exp.predict(W, params=1e9)`` returned the losses
        at the fitted scale, the same numbers as without it, and ``ye_exp.fit(W, y, params=N)`` fitted the losses
        as if of one scale (its warning of scale-blind fits reads a run table's spread, not these keywords).

        Checked here, at the public entries, on the keywords alone: a frame's or run table's own ``params`` /
        ``tokens`` columns are the runs' scale, not a request (their mismatch is :func:`scale_mismatch`'s), and
        the internal callers that pass the runs' sizes to any law (CV folds, a meta-law's members, bootstrap
        refits, the optimiser) pass them only to a law that uses them (:meth:`_scale_kw`), or ignore this warning
        with the other ExtrapolationWarnings."""
        for name, v, rng, uses, what in (("params", model_params, "_n_range", self.uses_model_params, "model size"),
                                         ("tokens", tokens, "_d_range", self.uses_tokens, "training tokens")):
            if v is None or (uses if fitting else getattr(self, rng) is not None):
                continue
            how = f"takes no {what}" if not uses else f"was fitted without {what.replace('size', 'sizes')}"
            does = ("fits the losses as if every run were of one scale (to fit across scales, use "
                    "mixlaw.fit_pipeline, or a law that takes it)" if fitting else
                    "predicts at the scale of the runs it was fitted on (to predict another scale, fit across "
                    "scales with mixlaw.fit_pipeline" + (f", or refit with {name}=" if uses else "") + ")")
            warnings.warn(f"{self._label} {how}: {name}= is ignored, and it {does}", ScaleWarning,
                          stacklevel=user_stacklevel(3))

    def _scale_kw(self, model_params: Any, tokens: Any) -> dict[str, Any]:
        """``fit``'s / ``predict``'s scale keywords for an internal caller that has the runs' sizes for any law:
        those this law has a term for, None for the others (which :meth:`_warn_unused_scale` would warn of)."""
        return {"model_params": model_params if self.uses_model_params else None,
                "tokens": tokens if self.uses_tokens else None}

    def _renormalise_near(self, W: np.ndarray) -> np.ndarray:
        """W with its rows off 1 by more than PREDICT_RENORMALISE_FROM but within the fit's weight_tol divided by
        their sums, as fit reads them (a copy when any is; W itself otherwise)."""
        off = np.abs(W.sum(axis=1) - 1.0)
        # Only rows off by more than PREDICT_RENORMALISE_FROM: the optimiser's finite-difference probes (1e-6 off
        # the simplex) must reach the law as given, or a gradient mixes renormalised and raw columns.
        near = (off > PREDICT_RENORMALISE_FROM) & ~beyond_tol(off, getattr(self, "_weight_tol", WEIGHT_TOL))
        if near.any():
            W = W.copy()
            W[near] /= W[near].sum(axis=1, keepdims=True)
        return W

    def _predict_unchecked(self, W: np.ndarray, model_params: Any = None, tokens: Any = None) -> np.ndarray:
        """:meth:`predict` of a finite, non-negative float64 array (n, n_domains) without its range checks,
        whose warnings are all :class:`ExtrapolationWarning` s: the optimiser's hot loop, which ignores those
        (it checks its final mixture once) and spent 3/4 of its time in predict's reading of its input rather
        than in the law (dz-eq1: 63,000 calls). Same renormalisation, N/D defaults and model, so the same
        numbers; always (n, n_targets)."""
        W = self._renormalise_near(W)
        mp, tk = self._scale_inputs(model_params, tokens, W.shape[0])
        with self._as_fitted():
            return self._predict(W, FitContext(self.domains_, self.targets_, mp, tk))

    def _scale_inputs(self, model_params: Any, tokens: Any, n: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """N and D for ``n`` rows (the fitted ones by default), or None for a law that does not take them."""
        mp = _broadcast(model_params, n, self._n_range, "params") if self.uses_model_params else None
        tk = _broadcast(tokens, n, self._d_range, "tokens") if self.uses_tokens else None
        return mp, tk

    def _forget_fit(self) -> None:
        """Delete the fitted state (``*_`` attributes): before a fit, and when one raises."""
        for name in [a for a in vars(self) if a.endswith("_") and not a.startswith("_")]:
            delattr(self, name)
        # A loaded law refitted is no longer the saved one: its report read "method = loaded from a saved file"
        # without nfev or fit time (linear, lightgbm and the other closed-form laws, whose results_ stay empty).
        vars(self).pop("_loaded", None)
        vars(self).pop("_fit_options", None)
        vars(self).pop("_saved_fit_warnings", None)

    @property
    def _label(self) -> str:
        """How warnings name the law: by the key a user typed (``law 'additive-ens'``), not the class name."""
        return f"law {self.key!r}" if self.key else type(self).__name__

    def _check_loss_range(self, out: np.ndarray) -> None:
        """Warn (:class:`LossRangeWarning`) when a prediction is not a positive loss within a factor
        ``LOSS_RANGE_FACTOR`` of the fitted ones: a law's form can diverge off its data (the additive law's
        ``E + 1/S`` when a mixture keeps only domains the fit gave no weight: 2e8 for a loss of 2.4 on a
        two-domain test mixture of Olmix's DCLM swarm), and such a number must not pass silently."""
        yr = getattr(self, "_y_range", None)
        if yr is None or out.size == 0:
            return
        lo, hi = yr
        bad = off_loss_range(out, yr)
        if bad.any():
            i, k = (int(v[0]) for v in np.nonzero(bad))
            warnings.warn(f"{self._label}: predicted loss {out[i, k]:.4g} for {self.targets_[k]!r} (mixture "
                          f"{i}) is far outside the fitted losses [{lo[k]:.4g}, {hi[k]:.4g}] ({int(bad.sum())} "
                          f"prediction(s) beyond {LOSS_RANGE_FACTOR:g}x): the law extrapolates off its data there",
                          LossRangeWarning, stacklevel=user_stacklevel(3))

    def score(self, weights: Any, losses: Any = None, sample_weight: Any = None, **kw: Any) -> float:
        """Coefficient of determination R^2 of the predictions, the mean over eval sets of each one's R^2 (higher
        is better).

        What ``GridSearchCV`` and ``cross_val_score`` maximise when no ``scoring`` is given, and the same number as
        their ``scoring="r2"``: ``sklearn.metrics.r2_score(losses, predictions, multioutput="uniform_average")``, as
        scikit-learn's ``RegressorMixin.score``. Per eval set: 1 for exact predictions, 0 for predicting that eval
        set's mean loss, negative for worse; a constant eval set scores 1.0 when predicted exactly and 0.0
        otherwise, not -inf; a prediction that is not finite (dz-eq3 at a zero share) scores -inf.

        Not pooled over every entry, as it was: the eval sets' own loss levels then counted as explained variance.
        On RegMix (fitted on train_1m, scored on test_1m, 13 eval sets) predicting each eval set's training mean
        scored 0.36 pooled (-0.01 averaged), linear 0.71 (0.62), ye-exp 0.95 (0.91); and ``cross_val_score``
        without ``scoring`` disagreed with ``scoring="r2"`` (0.64-0.68 against 0.59-0.60 over 4 folds of linear).

        Parameters
        ----------
        weights : ndarray of shape (n, n_domains), DataFrame or RunTable
            Mixtures, as :meth:`predict` reads them.
        losses : ndarray of shape (n,) or (n, n_targets), or DataFrame, optional
            Measured losses, columns in the order of ``targets_`` (a DataFrame whose columns name the targets,
            with or without ``loss:``, is read by name; losses named after other evals, a Series' name or a
            frame's columns, are an InputError, unless the law was fitted on unnamed losses). Omitted when
            ``weights`` is a RunTable (or a frame in its columns) that has the targets' losses:
            ``law.score(test_table)``. Checked as ``fit`` checks them: a NaN, infinite, zero or negative loss
            is an InputError.
        sample_weight : ndarray of shape (n,), optional
            Weight of each mixture (all of its eval sets).
        **kw
            ``params`` / ``tokens`` (or the older ``model_params``), passed to :meth:`predict`.

        Returns
        -------
        float
        """
        from sklearn.metrics import r2_score

        if losses is None:
            # law.score(test_table) raised "missing 1 required positional argument: 'losses'" though the table
            # holds them, as fit reads them from it.
            table = _frame_as_table(weights, for_fit=False, domains=getattr(self, "domains_", None),
                                    **self._fit_tol_kw())[0]
            if not isinstance(table, RunTable):
                raise InputError("score needs the measured losses (or a RunTable that has them)")
            check_is_fitted(self)
            missing = [t for t in self.targets_ if t not in table.evals]
            if missing:
                raise InputError(f"the table has no loss column for {missing} (its evals: {table.evals}): pass "
                                 "the losses")
            table = table.complete(self.targets_, doing="scoring")  # rows that have the losses
            losses = table.losses(self.targets_).reshape(len(table), -1)
            if self._y_1d:
                losses = losses[:, 0]
            weights = table
        check_rows_paired(weights, losses, "score")
        pred = np.asarray(self.predict(weights, **kw), dtype=np.float64)
        names = _loss_names(losses)
        if names is not None and names != self.targets_ and sorted(names) == sorted(self.targets_):
            # read by name, as fit names the evals: df[["loss:b", "loss:a"]] scored b's losses against a's predictions
            losses = losses.iloc[:, [names.index(t) for t in self.targets_]]
        elif names is not None and names != self.targets_ and self.targets_ != [f"y{i}" for i in
                                                                               range(len(self.targets_))]:
            # Other evals' names (a Series' name, a frame's columns) were read by position: df[["loss:y", "loss:z"]]
            # scored y's losses against x's predictions without a word, as fit refuses targets= that does not name
            # the losses given. A law fitted on unnamed losses (y0, y1, ...) has no names to match: by position.
            raise InputError(f"score: the losses are named {names}, not the law's eval sets {self.targets_}: give "
                             "the losses of those evals (a frame's columns are read by name), or arrays")
        try:
            y = np.asarray(losses, dtype=np.float64)
        except (TypeError, ValueError):  # a cell such as 'x' read "could not convert string to float" (hunt25)
            raise InputError("losses must be numbers, shape (n_runs,) or (n_runs, n_targets)") from None
        n = pred.shape[0]
        if y.size != pred.size or (y.ndim and y.shape[0] != n):
            # Flattened, losses of 4 runs against 5 predictions read 'operands could not be broadcast'.
            raise InputError(f"losses have shape {y.shape}; the law predicts shape {pred.shape} for these mixtures")
        # Fit's check: r2_score raised a bare ValueError 'Input contains NaN' (hunt25), and a negative or zero
        # loss, which fit refuses, scored a number without a word.
        check_losses(y.reshape(n, -1), table_hint="whose score leaves out the rows that miss a loss")
        sw = None
        if sample_weight is not None:
            sw = np.asarray(sample_weight, dtype=np.float64).ravel()
            if sw.size != n:
                raise InputError(f"sample_weight has {sw.size} values for {n} mixtures")
        if not np.all(np.isfinite(pred)):
            # dz-eq3 predicts inf at a zero share (Eq. 3 diverges there; predict warns): the worst score, as the
            # sum of squares gave, where r2_score raises 'Input contains infinity' and GridSearchCV drops the fold
            return float("-inf")
        # C order, as predict's: a run table's losses (column-major) summed in another order gave another last bit
        y = np.ascontiguousarray(y.reshape(pred.shape))
        return float(r2_score(y, np.ascontiguousarray(pred), sample_weight=sw, multioutput="uniform_average"))

    def _spare_targets(self, targets: Sequence[str]) -> list[str]:
        """The evals of ``targets`` this fit does not need in a row: none, but a meta-law's objective's evals of
        weight 0 (``--objective b``, ``{'a': 1, 'b': 0}``), which it does not fit (:meth:`MetaLaw._fit`)."""
        return []

    def _fits_ragged(self) -> bool:
        """Whether this fit takes each eval set's own rows: False, but for a meta-law (auto, stack) per eval set
        without an objective, whose members are fitted per group of eval sets measured on the same rows. Such a
        fit gets a run table whose eval misses some cells whole, the missing losses NaN in ``_fit``, instead of
        its rows that have every eval."""
        return False

    # ------------------------------------------------------------------ parameters / report / io
    def n_parameters_for(self, domains: Sequence[str], targets: Sequence[str], weights: Any = None) -> int | None:
        """Free parameters of the largest problem a fit on these training domains and eval sets would solve,
        known before fitting; None when the law cannot tell without fitting (the default).

        ``weights``, the runs' (n_runs, n_domains) mixtures, when the fit's form depends on the runs (dz-eq3's
        ``data_term="auto"`` shares its data term where the fitted entries are too few for one per domain):
        the count is then that of the form a fit on these runs takes; without them, of the option's form.
        Model selection uses it to drop a law that is too large for the runs without paying for its fit
        (:func:`mixlaw.laws.selection.cross_val_predict`); after a fit, ``results_`` holds the same count.
        """
        return None

    @property
    def parameters(self) -> Params:
        """The fitted coefficients (``params_``; ``.to_frame()`` for a table); NotFittedError before a fit."""
        check_is_fitted(self)
        return self.params_

    @property
    def n_params_(self) -> int:
        """Free (fitted, not held) parameters."""
        check_is_fitted(self)
        return int(sum(p.vary for p in self.params_.values()))

    def report(self, data: str = "") -> FitReport:
        """An lmfit-style report: statistics, parameters with bounds and stderr, warnings, correlations."""
        check_is_fitted(self)
        with self._as_fitted():
            return FitReport.from_law(self, data=data or getattr(self, "_data_source", None) or "")

    def extra_report_sections(self) -> list[tuple[str, str]]:
        """Extra (title, text) sections of the report, e.g. Ye's interaction matrix, read with the options the law
        was fitted with (:meth:`_as_fitted`), as :meth:`report` reads them: called directly after a ``set_params``,
        linear's read the new ``alpha`` and left out its ridge strengths, gp-residual's named the new base and
        inputs. A law gives its sections in :meth:`_extra_report_sections`."""
        with self._as_fitted():
            return self._extra_report_sections()

    def _extra_report_sections(self) -> list[tuple[str, str]]:
        return []

    def summary_report_sections(self) -> list[tuple[str, str]]:
        """Sections of a summary report (:meth:`FitReport.text`): when not empty, the report's default text shows
        these instead of every parameter (a meta-law on many eval sets); empty for most laws."""
        return []

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description: options (those of the fit), names, fitted coefficients and extra state."""
        check_is_fitted(self)
        with self._as_fitted():
            return self._to_dict()

    def _to_dict(self) -> dict[str, Any]:
        return {"law": self.key, "options": _jsonable(self.get_params()), "domains": self.domains_,
                "targets": self.targets_, "y_1d": self._y_1d,
                "w_range": [self._w_range[0].tolist(), self._w_range[1].tolist()],
                "n_range": None if self._n_range is None else [float(v) for v in self._n_range],
                "d_range": None if self._d_range is None else [float(v) for v in self._d_range],
                "y_range": None if getattr(self, "_y_range", None) is None
                else [np.asarray(v, dtype=np.float64).tolist() for v in self._y_range],
                # with why a parameter is held: a loaded ye-exp's report read "(fixed)" for "(fixed: reference
                # domain)", a fixed= one's for "(fixed by user)"
                "params": self.params_.to_dict(notes=True), "state": _jsonable(self._get_state()),
                "fit_scale": _jsonable(getattr(self, "_fit_scale", None)),
                "n_runs": None if getattr(self, "n_runs_", None) is None else int(self.n_runs_),
                # per eval, the rows without its loss that the fit did not use (a ragged auto's {"b": 24}): a loaded
                # law's report said only its n_runs, as if no eval had lost a row
                "rows_left_out": {str(k): int(v) for k, v in (getattr(self, "rows_left_out_", None) or {}).items()},
                # the fit's n_obs, RMSE, MAPE, R2, AIC, BIC: a loaded law's report read 'n_vary=8' alone, as if the
                # fit had none (null: not finite, an R2 of a constant eval set)
                "train_metrics": {str(k): float(v) if np.isfinite(v) else None
                                  for k, v in (getattr(self, "train_metrics_", None) or {}).items()},
                # the fit's warnings as its report lists them: a loaded law's report left out "no start converged"
                "fit_warnings": fit_warnings(self),
                # predict(df) / score(df) read rows at the fit's tolerance: a loaded law fitted at weight_tol=0.05
                # refused the rows summing to 1.03 that the same law before saving predicted
                "weight_tol": float(getattr(self, "_weight_tol", WEIGHT_TOL)),
                # the plain frame's own column names, which domains= may rename: predict reads that frame by position
                # (scikit-learn's feature_names_in_); a loaded law without them refused it, or, renamed to the same
                # names in another order, read it by name: other mixtures without a word (2.72 for 2.37)
                "frame_columns": None if getattr(self, "_frame_columns", None) is None
                else [str(c) for c in self._frame_columns]}

    def _output_losses(self, Y: np.ndarray) -> np.ndarray:
        """The losses ``predict`` reproduces, from the fitted ones (a law fitted to an objective predicts that)."""
        return Y

    def _get_state(self) -> dict[str, Any]:
        return {}

    def _set_state(self, state: dict[str, Any]) -> None:
        pass

    # ------------------------------------------------------------------ to implement
    def _fit(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext) -> None:
        raise NotImplementedError

    def _predict(self, W: np.ndarray, ctx: FitContext) -> np.ndarray:
        raise NotImplementedError

    def _target_domains(self, domains: Sequence[str], targets: Sequence[str]) -> list[int | None]:
        """Training-domain index matched to each target (``eval_map``, else the same name), None if implicit."""
        emap = getattr(self, "eval_map", None) or {}
        out: list[int | None] = []
        for t in targets:
            d = emap.get(t, t if t in domains else None)
            out.append(None if d is None else list(domains).index(d))
        return out

    # ------------------------------------------------------------------ helpers for parametric laws
    def _engine_kw(self) -> dict[str, Any]:
        return {"loss": self.loss, "huber_delta": self.huber_delta, "n_starts": self.n_restarts, "rng": self._rng,
                "max_iter": LAW_MAX_ITER}

    def _spec(self, params: list[Param]) -> Params:
        # The user's values are in the losses' unit; a law that fits in another (_loss_unit) runs in
        # ``_fitting_in(unit)``, which sets ``_unit_now``.
        unit = self._unit_now
        b, f = (self.bounds, self.fixed) if unit == 1.0 else self._overrides_in_unit(
            dict(self.bounds or {}), dict(self.fixed or {}), unit)
        return Params(params).apply_overrides(b, f, type(self).__name__)



class PerTargetLaw(PerTargetLossUnits, MixingLaw):
    """A law fitted independently on each target (eval set); parameter names are ``<target>.<name>``.

    Subclasses implement ``_spec_one(W, y, i, ctx) -> list[Param]``, ``_model_one(W, i, ctx)`` returning a
    model ``theta -> (pred, jac)`` over ``W``, and ``_predict_one(W, values, i, ctx) -> ndarray (n,)``.
    """

    per_target_params: ClassVar[bool] = True

    def __init__(self, *, loss: str = "huber", huber_delta: float = HUBER_DELTA, n_restarts: int = 8,
                 bounds: dict[str, tuple[float, float]] | None = None, fixed: dict[str, float] | None = None,
                 random_state: int | np.random.Generator | None = 0) -> None:
        self.loss, self.huber_delta, self.n_restarts = loss, huber_delta, n_restarts
        self.bounds, self.fixed, self.random_state = bounds, fixed, random_state

    def _fit(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext) -> None:
        # Every eval set is its own problem, but all are solved together (fit_models): one vectorised
        # Levenberg-Marquardt loop over every (eval set, start), not one optimiser run per eval set.
        # Each eval set is fitted in its own unit (1 for losses of order 1) and its parameters mapped back after.
        units = [self._loss_unit(Y[:, i]) for i in range(Y.shape[1])]
        self._set_unit_targets(ctx.targets)
        Y = Y / np.array(units)
        specs, labels = [], []
        self._local_names: dict[str, list[str]] = {}
        for i, t in enumerate(ctx.targets):
            with self._fitting_in(units[i]):  # _spec_prefixed reads the user's bounds and fixed values in it
                local = self._spec_one(W, Y[:, i], i, ctx)
                self._local_names[t] = [p.name for p in local]
                prefixed = [Param(f"{t}.{p.name}", p.value, p.init, p.min, p.max, p.vary, note=p.note)
                            for p in local]
                specs.append(self._spec_prefixed(prefixed))
            labels.append(f"{self.key}[{t}]")
        self._check_override_names(specs)
        if len({len(s) for s in specs}) == 1:
            groups = [list(range(len(specs)))]
        else:  # a law whose parameter count differs between eval sets: one solve per eval set
            groups = [[i] for i in range(len(specs))]
        warm = getattr(self, "_warm_start", None)
        kw = self._engine_kw()
        penalties, extras = [], []
        for i in range(len(specs)):
            self._before_one(W, Y[:, i], i, ctx)
            penalties.append(self._penalty_one(specs[i]))
            extras.append(self._extra_starts_one(W, Y[:, i], i, ctx, specs[i], penalties[-1]))
        out: dict[int, FitResult] = {}
        for grp in groups:
            batch = self._model_batch(W, ctx) if len(grp) == len(specs) else None
            res = fit_models([self._model_one(W, i, ctx) for i in grp], [specs[i] for i in grp],
                             [Y[:, i] for i in grp], labels=[labels[i] for i in grp],
                             penalties=[penalties[i] for i in grp], batch_model=batch,
                             warm_starts=None if warm is None else [_warm_vector(warm, specs[i], self._in_unit,
                                                                                 units[i]) for i in grp],
                             warm_solver=None if warm is None else getattr(self, "_warm_solver", None),
                             stderr=not getattr(self, "_values_only", False),
                             extra_starts=[extras[i] for i in grp] if any(extras) else None, **kw)
            out.update({i: self._result_from_unit(r, units[i]) for i, r in zip(grp, res, strict=True)})
        self.results_ = {t: out[i] for i, t in enumerate(ctx.targets)}
        self.params_ = Params([p for i in range(len(ctx.targets)) for p in out[i].params.values()])

    def _model_batch(self, W: np.ndarray, ctx: FitContext) -> Any:
        """Optional: ``f(theta (r, p), target (r,)) -> (pred (r, n), jac (r, n, p))`` for many rows at once.

        ``None`` (the default) evaluates ``_model_one`` row by row; laws whose model is the same function of
        the parameters for every eval set vectorise it here.
        """
        return None

    def _before_one(self, W: np.ndarray, y: np.ndarray, i: int, ctx: FitContext) -> None:
        """Hook run before target ``i``'s penalty is built: a law may set per-target state (a CV-chosen ridge)."""

    def _extra_starts_one(self, W: np.ndarray, y: np.ndarray, i: int, ctx: FitContext, spec: Params,
                          penalty: Any) -> list[np.ndarray]:
        """Starts of target ``i`` tried after its usual ones (``fit_models``' ``extra_starts``; ``y`` in the fitting
        unit, ``spec`` its parameters, ``penalty`` the one just built): none by default."""
        return []

    def _spec_prefixed(self, params: list[Param]) -> Params:
        # User bounds/fixed may name prefixed ("pile_cc.c") or bare ("c": every target) parameters.
        names = {p.name for p in params}
        # The eval's prefix is cut by its name (_bare_param_name), not at the first dot: for eval 'paloma.web' that
        # left 'web.c', and fixed={'c': 1.9} held c on the evals without a dot alone, silently (review27a).
        bare = {self._bare_param_name(p.name): p.name for p in params}
        b = {bare.get(k, k): v for k, v in (self.bounds or {}).items() if k in names or k in bare}
        f = {bare.get(k, k): v for k, v in (self.fixed or {}).items() if k in names or k in bare}
        # The user's values are in the losses' unit; the fit runs in ``_unit_now`` (_loss_unit, set by _fitting_in).
        b, f = self._overrides_in_unit(b, f, self._unit_now)
        return Params(params).apply_overrides(b, f, type(self).__name__)

    def _check_override_names(self, specs: list[Params]) -> None:
        """Raise for a ``bounds``/``fixed`` name that no eval set's parameter has (prefixed or bare).

        :meth:`_spec_prefixed` keeps, per eval set, only the names of that eval set's parameters, so a name of
        none was dropped without a word: ``--law-option 'bounds={"t_code": [-5, 5]}'`` (an example
        of docs/fit-and-predict.md) on runs without a ``code`` domain, or ``{"nonsense": ...}``, fitted as if no
        bound had been given.
        """
        names = {n for spec in specs for n in spec}
        bare = {n for local in self._local_names.values() for n in local}  # by eval name (_spec_prefixed)
        for kind, mapping in (("bounds", self.bounds), ("fixed", self.fixed)):
            unknown = [k for k in (mapping or {}) if k not in names and k not in bare]
            if unknown:
                known = sorted(bare)
                raise InvalidParameterError(
                    f"The '{kind}' parameter of {type(self).__name__} names unknown parameter(s) {unknown}; known "
                    f"(bare for every eval set, or '<eval>.<name>'): {known[:12]}{' ...' if len(known) > 12 else ''}")

    def _penalty_one(self, spec: Params) -> Any:
        return None

    def _values_for(self, target: str) -> np.ndarray:
        # Kept per fitted parameter set (Params is immutable; a refit or a load assigns new params_ / _local_names):
        # an optimiser predicts thousands of times, and looking the values up by name each time was 18 of the 85
        # CPU s that optimize's search took on 5 of Olmix DCLM's eval sets (49 parameters per eval set).
        cache = getattr(self, "_values_cache", None)
        if cache is None or cache[0] is not self.params_ or cache[1] is not self._local_names:
            cache = self._values_cache = (self.params_, self._local_names, {})
        v = cache[2].get(target)
        if v is None:
            v = cache[2][target] = np.array([self.params_[f"{target}.{n}"].value for n in self._local_names[target]])
        return v.copy()

    def _predict(self, W: np.ndarray, ctx: FitContext) -> np.ndarray:
        return np.column_stack([self._predict_one(W, self._values_for(t), i, ctx)
                                for i, t in enumerate(self.targets_)])

    def _get_state(self) -> dict[str, Any]:
        return {"local_names": self._local_names}

    def _set_state(self, state: dict[str, Any]) -> None:
        self._local_names = state["local_names"]

    def _check_bounds_known(self) -> None:
        pass

    def _spec_one(self, W: np.ndarray, y: np.ndarray, i: int, ctx: FitContext) -> list[Param]:
        raise NotImplementedError

    def _model_one(self, W: np.ndarray, i: int, ctx: FitContext) -> Any:
        raise NotImplementedError

    def _predict_one(self, W: np.ndarray, values: np.ndarray, i: int, ctx: FitContext) -> np.ndarray:
        return self._model_one(W, i, ctx)(values)[0]



# ---------------------------------------------------------------------- warm starts
def check_law_arg(law: Any, where: str) -> None:
    """Refuse in one line a ``law=`` that is neither a law key nor a :class:`MixingLaw`: ``fit_table(t, law=3)``
    stopped on "AttributeError: 'int' object has no attribute 'fit'" (optimize_runs, bootstrap_law likewise), where
    :func:`~mixlaw.design.active_design` said what it takes."""
    if not isinstance(law, str | MixingLaw):
        raise InputError(f"{where}: law must be a law key (e.g. 'ye-exp') or a MixingLaw; got {type(law).__name__} "
                         f"{law!r}"[:300])


def check_seed_reaches(law: Any, random_state: Any, where: str) -> None:
    """Refuse a ``random_state`` that a law given as an instance would not take: the seed configures laws given by
    key, and an instance is fitted with its own. ``fit_table(t, law=YePower(), random_state=5)`` and
    ``compare(train, tests, laws=[YePower()], random_state=5)`` fitted the instance's seed, 0, without a word. The
    instance's own seed, or the default 0, is no conflict."""
    if isinstance(law, str) or random_state == 0 or law.get_params().get("random_state") == random_state:
        return
    raise InputError(f"{where}: random_state={random_state!r} seeds a law given by key; the law given is an "
                     f"instance, {type(law).__name__}, fitted with its own "
                     f"(random_state={law.get_params().get('random_state')!r}): set it on the law "
                     "(law.set_params(random_state=...)) or give its key")


def warm_clone(fitted: MixingLaw) -> MixingLaw:
    """An unfitted copy of ``fitted`` whose next fit starts from ``fitted``'s parameters, with one start.

    Refits on resampled or held-out runs (bootstrap, cross-validation, backtests) land near the full-data
    optimum, so one start from it replaces the multistart; a fit whose warm start does not converge falls
    back to the law's usual seeded starts. Parameters are matched by name (a resample may change
    data-dependent starts and bounds; values are clipped into the new bounds).
    """
    check_is_fitted(fitted)
    # The options it was fitted with (its next fit's, set_params after the fit, are not the law being resampled):
    # bootstrap_law(law, fitted=law) refitted the replicates of ye-implicit with set_params(n_components=2) as K=2
    # around a K=3 point estimate.
    opts = getattr(fitted, "_fit_options", None)
    law = fitted.clone() if opts is None else type(fitted)(**{k: v if k == "random_state" else copy.deepcopy(v)
                                                               for k, v in opts.items()})
    law._warm_start = fitted.params_  # type: ignore[attr-defined]
    return law


def _warm_vector(warm: Params, spec: Params, in_unit: Any = None, unit: float = 1.0) -> np.ndarray:
    """The warm start's values for ``spec`` (its inits where the warm law lacks a name), in the fitting unit."""
    return np.array([(warm[n].value if in_unit is None else in_unit(n, warm[n].value, unit)) if n in warm
                     else p.init for n, p in spec.items()], dtype=np.float64)


# ---------------------------------------------------------------------- small helpers
def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return a is b


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.random.Generator):
        return None
    return x


def _note_scale_blind_candidates(err: InputError, cv: Any, source: str | None,
                                 spread: dict[str, tuple[int, float, float]], checkpoints: bool = True) -> None:
    """Append to a meta-law's "no candidate law can be cross-validated" error that the runs span several scales
    which its candidates do not take (:func:`~mixlaw.laws.scale_inputs.scale_blind_message`), when they do.

    Why: on ADMIRE-BayesOpt's IFT runs (Qwen2.5 0.5B / 3B / 7B in one table) every candidate fitted one surface
    over the three sizes and ranked bbh's held-out runs below chance (Spearman -0.09 to -0.16); the error said
    only that, and the scale warning comes after a successful fit, so the user was never told the cause."""
    if cv is None or not err.args or not str(err.args[0]).startswith(NO_CANDIDATE_MARK):
        return
    keys = dict.fromkeys(r.name.split("[")[0] for r in cv.rows)  # 'law[direct]': the law fitted on the objective
    why = scale_blind_message(source, spread, [_REGISTRY[k] for k in keys if k in _REGISTRY],
                              checkpoints=checkpoints)
    if why:
        err.args = (f"{err.args[0]}; {why}", *err.args[1:])


# The registry and the loader are re-exported: `from mixlaw.laws.base import get_law, law_from_dict, _REGISTRY`
# predates their modules; weights_in_order (._inputs) is imported from here by the pipeline and the bootstrap, and
# FitContext (._fit_input, below _fit_stats, which annotates with it) by every law.
__all__ = ["MixingLaw", "PerTargetLaw", "FitContext", "register", "get_law", "available_laws", "law_from_dict",
           "warm_clone", "check_law_arg", "weights_in_order", "LAW_SCHEMA_VERSION", "_REGISTRY", "state_bool"]
