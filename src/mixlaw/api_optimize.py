"""The optimal mixture as ``mixlaw optimize`` finds it: fitted on runs (:func:`optimize_runs`), from a fitted or
saved law without a refit (:func:`optimize_saved_law`), or at a pipeline's target scale (:func:`optimize_at_target`),
with what the optimum's report says beside it: what a meta-law chose (:func:`law_selection`), the best measured run,
and the law's error on the objective, cross-validated where the fit kept it (:func:`_law_error`), far from the runs
too (:func:`_far_error`).

The search itself (objective, constraints, trust region, gradient and simulation search) is :mod:`mixlaw.optimize`;
this module is the path from a table, a saved law or a pipeline to it. :mod:`mixlaw.api` re-exports its public names,
which the CLI calls.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ._validation import renamed, renamed_in
from .bootstrap import bootstrap_law, resampled_rows
from .data import RunTable, frame_as_table, note_left_out
from .errors import ChanceWarning, FitError, InputError, row_unit
from .evals import linear_objective, unweighted_gaps, warn_minimised_metrics
from .importers import read_any_runs
from .laws import get_law
from .laws.base import MixingLaw, check_law_arg
from .laws.scale_inputs import check_scale_taken, fitted_scale_cut, scale_cut
from .laws.selection import CV_JOBS, META_LAWS, OBJECTIVE
from .optimize import Objective, OptimumResult, _objective_weights, check_enough_runs, optimize_mixture, steps_to_match
from .optimize.constraints import _constraints
from .optimize.objective import objective_label
from .optimize.runs import best_measured_run, name_nearest_run, natural_at_scale
from .optimize.search import check_maximize, check_optimize_keywords, check_scale_given
from .optimize.simulate import run_spacing_l1
from .pipeline import PipelineResult, optimize_pipeline


def law_selection(law: MixingLaw) -> dict[str, Any] | None:
    """What a meta-law chose: ``choice`` (auto), ``weights`` (stack) and the ``cv`` table; None for other laws."""
    if not hasattr(law, "cv_"):
        return None
    out: dict[str, Any] = {"cv": law.cv_.to_dict()}
    if hasattr(law, "choice_"):
        out["choice"] = dict(law.choice_)
    if isinstance(getattr(law, "weights_", None), dict):
        out["weights"] = {c: dict(ws) for c, ws in law.weights_.items()}
    return out


def optimize_runs(table: Any, *, law: str | MixingLaw = "auto", targets: str | Sequence[str] = "all",
                  objective: Objective = "mean", n_boot: int = 0, n_jobs: int | str | None = None,
                  step_law: Any = None, target_steps: float | None = None, extrapolate: bool = False,
                  candidates: Sequence[str] | None = None, n_folds: int | None = None, maximize: bool = False,
                  random_state: int = 0, on_progress: Callable[[int], None] | None = None,
                  cv_folds: int | None = None, **constraints: Any) -> OptimumResult:
    """Fit ``law`` to a run table and return its optimal mixture (what ``mixlaw optimize`` runs).

    Parameters
    ----------
    table : RunTable, DataFrame or path
        The runs (a DataFrame in the run table's columns is read as ``RunTable(df)``); a path is read as
        ``--runs`` reads it (:func:`mixlaw.read_runs`).
    law : str or MixingLaw, default="auto"
        ``"auto"`` / ``"stack"`` with a linear objective (mean, total, an eval, weights) choose for the
        objective itself: per-eval laws aggregated, or one law fitted on the objective column (the CV picks).
    targets : str or list of str, default="all"
        Eval sets the law is fitted on and the objective combines.
    objective : see :func:`optimize_mixture`
    candidates : list of str, optional
        For ``auto`` / ``stack``: the laws to choose from (default: every suitable registered law).
    n_folds : int, optional
        For ``auto`` / ``stack``: folds of their cross-validation (default 5, or more when 5 leave a candidate
        too few training runs per fold: :func:`~mixlaw.laws.selection.cross_validate`); ``--cv-folds`` on the
        command line, ``n_folds=`` of the ``auto`` / ``stack`` laws.
    cv_folds : int, optional
        The older name of ``n_folds`` (a silent alias; giving both is an InputError).
    maximize : bool, default=False
        Maximise the objective: the eval sets are higher-is-better metrics (accuracy, pass@1, a score) stored
        in the loss columns (see :func:`optimize_mixture`, which also says why a flag and not negative weights).
    extrapolate : bool, default=False
        Allow the optimum outside the fitted range of each weight (the trust region otherwise: every weight
        between its smallest and largest share in the runs).
    n_boot : int, default=0
        Bootstrap refits over runs for intervals on the weights and the predicted losses (0: none).
    n_jobs : int or "auto", default="auto"
        Bootstrap worker processes (default: the usable CPUs, at most 8; :func:`~mixlaw.bootstrap.bootstrap_law`).
        Without a bootstrap: the worker processes predicting the simulate search's samples (a law without a
        gradient, lightgbm; default: those of :func:`~mixlaw.laws.selection.cv_workers`, else this process); the
        optimum does not depend on it.
    step_law, target_steps : optional
        The default mixture's step law ``(E, B, beta)`` and the target steps: adds Ye's steps-to-match
        figures for the objective (the law's predictions must then be at ``target_steps``).
    random_state : int, default=0
    on_progress : callable, optional
        Called with the number of bootstrap refits just finished (total ``n_boot``).
    **constraints
        ``bounds``, ``fixed``, ``tokens_available``, ``target_tokens``, ``max_epochs``, ``n_starts``,
        ``natural``, ``search``, ``n_samples``, ``top_k``, ``strength``, ``trust_radius`` as in
        :func:`optimize_mixture`, and ``params`` / ``tokens`` (``model_params``: the older name of ``params``).
        The natural mixture defaults to the token shares, else the mean mixture of the runs (of the runs measured
        at ``params`` / ``tokens``, within 1 %, where some were; else of every run, said so).

    Returns
    -------
    OptimumResult
    """
    check_law_arg(law, "optimize_runs")
    n_folds = renamed("n_folds", n_folds, "cv_folds", cv_folds)
    constraints = renamed_in(constraints, "params", "model_params")
    table = frame_as_table(table)  # a DataFrame in the run table's columns, as law.fit reads one
    if not isinstance(table, RunTable):
        # As fit_table (and --runs): a path stopped on "'str' object has no attribute 'resolve_targets'".
        table = read_any_runs(table)
    check_optimize_keywords(constraints, "optimize_runs")  # a typo, before the fit, not as a TypeError after it
    names, objective, objective_name, left_out, rows = _checked_request(table, targets, objective, constraints,
                                                                        maximize)
    n_table = len(table)
    full = table
    asked = objective  # a meta-law's objective becomes its one predicted column below
    est, objective = _law_for_objective(law, objective, names, candidates, n_folds, maximize, step_law,
                                        random_state)
    table, rows, ragged = _fitting_rows(table, names, est, n_boot, rows)
    opt_kw, own_runs, runs_mean = _optimizer_keywords(constraints, table, objective, maximize, random_state,
                                                      extrapolate)
    if (step_law is None) != (target_steps is None):
        raise InputError("steps-to-match needs both the default mixture's step law and the target steps")
    # Before the fit: a law that takes the scale, fitted across several, has no optimum without one (optimize_mixture
    # says so after the fit; auto, which takes both, after 5 minutes of cross-validation on Dai & Zheng's sweep).
    ranges = tuple(None if v is None or not v.size or not uses else (float(v.min()), float(v.max()))
                   for v, uses in ((table.model_params, est.uses_model_params), (table.tokens, est.uses_tokens)))
    check_scale_given(est, opt_kw.get("params"), opt_kw.get("tokens"), *ranges, fitted=False,
                      cut=scale_cut("params" in table.scale_spread(), table.has_checkpoints()))
    check_scale_taken(est, opt_kw.get("params"), opt_kw.get("tokens"), _OTHER_SCALE, ranges)
    with _chance_warnings_held() as held:
        fitted = _fit_once(est, table, full, names, n_boot, ragged, left_out, n_table)
    try:
        if n_boot:
            result = bootstrap_law(est, table, names, n_boot=n_boot, random_state=random_state, n_jobs=n_jobs,
                                   optimize=opt_kw, on_progress=on_progress, fitted=fitted).optimum
        else:
            # The simulate search's predictions on the workers asked for, else on the CV's (the CLI's --workers).
            result = optimize_mixture(fitted, **opt_kw, n_jobs=n_jobs if n_jobs is not None else CV_JOBS.get())
        _describe_optimum(result, fitted, table, names, asked, objective_name, maximize, runs_mean, own_runs,
                          at=_scale_asked(opt_kw))
    except BaseException:
        _replay(held)  # no optimum, no note: the fit's warning says it
        raise
    if not result.ranks_within_chance():  # else the optimum's note says it, beside the figures it qualifies
        _replay(held)
    if step_law is not None:
        result.steps = steps_to_match(step_law, result.objective, float(target_steps))  # type: ignore[arg-type]
    if left_out:  # rows of the table the user gave, not of its complete part
        result.rows_left_out = left_out
        if result.nearest_run is not None and own_runs:
            result.nearest_run = int(rows[result.nearest_run])
        if result.best_run is not None:
            result.best_run["row"] = int(rows[result.best_run["row"]])
    return result


def _checked_request(table: Any, targets: str | Sequence[str], objective: Objective, constraints: dict[str, Any],
                     maximize: bool) -> tuple[list[str], Objective, str, Any, np.ndarray]:
    """optimize_runs' checks of the targets, objective and constraints, before a fit that can take minutes."""
    names = table.resolve_targets(targets)
    # An eval missing in some runs: the law (one for every target) and the objective take the rows that have all,
    # but auto / stack per eval set (no linear objective) fit each eval on the rows that have it (below).
    left_out = table.rows_left_out(names)
    # Fail fast on bad constraints or objective names, before the (cross-validated) fit.
    _, s_obj = _objective_weights(objective, names)
    # A linear objective's evals of weight 0 enter neither the objective nor its fit: one that misses a loss in a
    # row the weighed evals have is left out of the fit rather than costing the row (--objective b kept only the
    # rows that had every eval).
    names, objective = unweighted_gaps(table, names, objective, s_obj)
    rows = table.complete_rows(names)
    _constraints(table.domains, constraints.get("bounds"), constraints.get("fixed"),
                 constraints.get("tokens_available"), constraints.get("target_tokens"), constraints.get("max_epochs"))
    objective_name = _objective_weights(objective, names)[0]
    check_maximize(objective_name, maximize)  # before an auto fit of minutes, not after it
    return names, objective, objective_name, left_out, rows


def _law_for_objective(law: str | MixingLaw, objective: Objective, names: list[str], candidates: Sequence[str] | None,
                       n_folds: int | None, maximize: bool, step_law: Any,
                       random_state: int) -> tuple[Any, Objective]:
    """The estimator and the objective it is optimised for (a meta-law on a linear objective predicts that column)."""
    linear = isinstance(objective, Mapping) or (isinstance(objective, str) and objective != "max")
    meta_kw: dict[str, Any] = {} if candidates is None else {"candidates": list(candidates)}
    if n_folds is not None:
        meta_kw["n_folds"] = n_folds
    if meta_kw and not (isinstance(law, str) and law in META_LAWS):
        raise InputError(f"candidates and CV folds apply to the laws that choose among others "
                         f"({', '.join(META_LAWS)}); got law {law!r}")
    if step_law is not None and maximize:
        raise InputError("steps-to-match reads the default mixture's loss curve E + B/S^beta; it does not apply to "
                         "a maximised metric (drop the step law or maximize)")
    if isinstance(law, str) and law in META_LAWS and linear:
        # The meta-law predicts the objective itself (chosen per-eval or direct by CV): optimise that column.
        if not maximize:  # said here: optimize_mixture sees only the one column, named 'objective'
            warn_minimised_metrics(list(linear_objective(objective, names)), stacklevel=2)
        return get_law(law, random_state=random_state, objective=objective, **meta_kw), OBJECTIVE
    if isinstance(law, str):
        return get_law(law, random_state=random_state, **meta_kw), objective
    return law, objective


def _fitting_rows(table: Any, names: list[str], est: Any, n_boot: int,
                  rows: np.ndarray) -> tuple[Any, np.ndarray, bool]:
    """The rows the law is fitted on and the optimum refers to; whether the law takes each eval's own rows."""
    # Fitted on the table as given when the law takes each eval's own rows (its fit says what it left out), and the
    # optimum's reference rows (natural mixture, nearest run) are then every row the fit used, those with some
    # target's loss; else the complete ones. A bootstrap resamples the complete rows.
    ragged = not n_boot and isinstance(est, MixingLaw) and est._fits_ragged()
    if ragged:
        rows = table.measured_rows(names)
        table = table if len(rows) == len(table) else table.subset(rows)
    elif n_boot and isinstance(est, MixingLaw):
        table = resampled_rows(table, names, est)  # a ragged law's line says what the bootstrap costs it
    else:
        table = table.complete(names)
    return table, rows, ragged


def _optimizer_keywords(constraints: dict[str, Any], table: Any, objective: Objective, maximize: bool,
                        random_state: int, extrapolate: bool) -> tuple[dict[str, Any], bool, str | None]:
    """optimize_mixture's keywords; whether the runs are the table's rows; where the natural mixture came from
    when it is the runs' mean (of those at the scale asked: :func:`~mixlaw.optimize.runs.natural_at_scale`), else
    None."""
    opt_kw = dict(constraints)
    opt_kw["objective"] = objective
    opt_kw["maximize"] = maximize
    opt_kw["random_state"] = random_state
    opt_kw.setdefault("within_fitted_range", not extrapolate)
    own_runs = "runs" not in opt_kw  # the table's rows: nearest_run indexes them
    opt_kw.setdefault("runs", table.weights)
    runs_mean = None
    if opt_kw.get("natural") is None and opt_kw.get("tokens_available") is None:
        opt_kw["natural"], runs_mean = natural_at_scale(table, table.weights, _scale_asked(opt_kw))
    return opt_kw, own_runs, runs_mean


@contextmanager
def _chance_warnings_held() -> Iterator[list[Any]]:
    """Warnings of the fit said as they come, but for auto's that its choice ranks within chance
    (:class:`~mixlaw.errors.ChanceWarning`), held in the list yielded: optimize's note on the optimum says the
    same, and said twice ('law 'auto' chose ye-exp ... within 2 standard errors of chance' on stderr, then 'note: a
    Spearman below 0.53 (2 standard errors of chance at 15 runs)' under the optimum) it read as two findings."""
    held: list[Any] = []
    failed = True
    try:
        with warnings.catch_warnings(record=True) as caught:
            yield held
        failed = False
    finally:
        for w in caught:  # a failed fit says them all
            if not failed and issubclass(w.category, ChanceWarning):
                held.append(w)
            else:
                _replay([w])


def _replay(caught: Sequence[Any]) -> None:
    """Say recorded warnings (``warnings.catch_warnings(record=True)``) as they were first raised."""
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


def _fit_once(est: Any, table: Any, full: Any, names: list[str], n_boot: int, ragged: bool, left_out: Any,
              n_table: int) -> Any:
    """The point fit (the bootstrap's too), refused with the rows left out named before any refit is spent."""
    try:
        if n_boot:
            # Fitted exactly as bootstrap_law fits its point estimate, which it then reuses instead of a second fit.
            fitted = est.clone().fit(table.weights, table.losses(names).reshape(len(table), -1),
                                     domains=table.domains, targets=names,
                                     **est._scale_kw(table.model_params, table.tokens))
        else:
            fitted = est.clone().fit(full if ragged else table, targets=names)
        check_enough_runs(fitted)  # before spending n_boot refits
    except (InputError, FitError) as err:
        if not ragged:  # a ragged fit's error names the rows of the evals it fitted
            note_left_out(err, left_out, len(table), n_table)
        raise
    return fitted


#: How :func:`~mixlaw.laws.scale_inputs.check_scale_taken` sends an optimum of a law fitted at one scale to another.
_OTHER_SCALE = "to optimise at another scale, use 'mixlaw pipeline --optimize' (--target-params / --target-tokens)"


def _scale_asked(kw: Mapping[str, Any]) -> dict[str, Any]:
    """The scale an optimum is read at (``params`` / ``tokens`` given, or the older ``model_params``): the runs its
    best measured run is chosen among (:func:`~mixlaw.optimize.runs.best_measured_run`)."""
    return {"params": kw.get("params", kw.get("model_params")), "tokens": kw.get("tokens")}


def _describe_optimum(result: OptimumResult, fitted: Any, table: Any, names: list[str], asked: Objective,
                      objective_name: str, maximize: bool, runs_mean: str | None, own_runs: bool,
                      at: Mapping[str, Any] | None = None) -> None:
    """What optimize_mixture cannot say of its optimum: the objective's label, the reference, runs and law error."""
    result.objective_name = objective_label(objective_name, maximize)
    if runs_mean:  # the user gave no natural mixture: say where the reference came from, not "given"
        result.natural_source = runs_mean
    # Once here, not in optimize_mixture: O(runs^2) and the bootstrap calls that once per replicate. The table's runs:
    # name_nearest_run's spacing, of those at the scale asked where some were measured there.
    result.line_unit = row_unit(table.path)
    if own_runs:
        name_nearest_run(result, table, table.weights, at)
    else:
        result.runs_spacing_l1 = run_spacing_l1(table.weights)
    result.selection = law_selection(fitted)
    if len(names) == 1 and list(result.losses) == [OBJECTIVE]:
        # A meta-law fitted for the objective of one eval set predicts that eval: named so ('objective' was the
        # only row of auto's predicted losses for --target hellaswag:rc::olmes, where a single law's row names it).
        result.losses = {names[0]: result.losses[OBJECTIVE]}
        if OBJECTIVE in result.natural_losses:
            result.natural_losses = {names[0]: result.natural_losses[OBJECTIVE]}
    result.law_error = _law_error(fitted, table, names, asked)
    if own_runs:
        result.best_run = best_measured_run(table, names, asked, maximize, fitted, at=at)


def optimize_saved_law(law: MixingLaw, table: RunTable | None = None, *, objective: Objective | None = None,
                       extrapolate: bool = False, maximize: bool = False, random_state: int = 0,
                       step_law: Any = None, target_steps: float | None = None,
                       **constraints: Any) -> OptimumResult:
    """The optimal mixture of a fitted (or loaded: :func:`~mixlaw.api.load_law`) law without refitting it: what ``mixlaw
    optimize --law law.json`` runs, so that a law fitted once (a stack's cross-validation takes minutes) is
    optimised under as many constraints as the user likes.

    The trust region is the weights' range in the law's fitting runs (saved with it) unless ``extrapolate``.
    ``table``, the runs (optional; its domains must be the law's), gives what ``optimize_runs`` reads from its
    own: the natural mixture (their mean, of those at ``params`` / ``tokens`` where some were measured there,
    unless ``natural`` or ``tokens_available`` is given), the optimum's
    nearest run, the best measured run and the law's error on them (where the table has the law's evals). Without
    it the natural mixture is uniform (or the token shares). ``objective`` (default None: the law's own, else
    ``"mean"``): a law fitted for an objective (``auto`` / ``stack`` with ``objective=``: one predicted column) is
    optimised for that objective, which ``objective`` must then leave at None or name the same. ``constraints`` as
    for :func:`optimize_runs` (``bounds``, ``fixed``, ``trust_radius``, ``search``, ``tokens_available``,
    ``params`` / ``tokens`` for a law across scales, ...); ``step_law`` and ``target_steps`` add Ye's
    steps-to-match figures, as for :func:`optimize_runs`.
    """
    if not isinstance(law, MixingLaw) or not hasattr(law, "targets_"):
        raise InputError("optimize_saved_law takes a fitted law (a saved one: load_law(path)); to fit one on runs, "
                         "use optimize_runs")
    check_optimize_keywords(constraints, "optimize_saved_law")
    # model_params: the older name of params, as optimize_runs reads it (the scale check below read params alone).
    constraints = renamed_in(constraints, "params", "model_params")
    names = [str(t) for t in law.targets_]
    objective, asked, law_objective, evals = _saved_law_objective(law, names, objective, maximize)
    objective_name = _objective_weights(objective, names)[0]  # an unknown eval named now, in the law's terms
    if (step_law is None) != (target_steps is None):
        raise InputError("steps-to-match needs both the default mixture's step law and the target steps")
    _check_saved_law_scale(law, constraints, table)
    check_maximize(objective_name, maximize)
    opt_kw: dict[str, Any] = {**constraints, "objective": objective, "maximize": maximize,
                              "random_state": random_state, "within_fitted_range": not extrapolate}
    W, rows = ((None, None) if table is None
               else _saved_law_runs(table, [str(d) for d in law.domains_], opt_kw, _scale_asked(constraints)))
    result = optimize_mixture(law, **opt_kw)
    result.objective_name = objective_label(objective_name if OBJECTIVE not in names
                                            else f"{law_objective or 'objective'} (the law's own)", maximize)
    if rows is not None:
        result.natural_source = rows
    result.selection = law_selection(law)
    if table is not None:
        _saved_law_run_figures(result, law, table, W, "runs" in constraints, names, evals, asked, maximize,
                               at=_scale_asked(constraints))
    if step_law is not None:
        result.steps = steps_to_match(step_law, result.objective, float(target_steps))  # type: ignore[arg-type]
    return result


def _saved_law_objective(law: MixingLaw, names: list[str], objective: Objective | None,
                         maximize: bool) -> tuple[Objective, Objective, Any, list[str]]:
    """What :func:`optimize_saved_law` minimises: (the objective over the law's columns ``names``, the objective
    as asked, the law's own objective or None, the evals it combines). A law fitted for an objective (one
    ``objective`` column) is optimised for that one, which ``objective`` must leave at None or name."""
    law_objective = law.get_params().get("objective") if OBJECTIVE in names else None
    if objective is None:  # not asked: the law's own (one fitted for an objective), else the mean of its evals
        objective = "mean" if law_objective is None else law_objective
    asked = objective
    # The evals the objective combines: the law's targets, or for a law fitted for an objective the evals it sums.
    evals = names if OBJECTIVE not in names else [str(e) for e in getattr(law, "evals_", None) or ()]
    if OBJECTIVE in names:
        # Fitted for its objective: that column is the one to minimise; another objective would need a refit.
        # An explicit "mean" too: 'optimize --law weighted.json --objective mean' minimised the weighted sum unsaid.
        if objective != OBJECTIVE and objective != (law_objective if law_objective is not None else "mean"):
            raise InputError(f"the law was fitted for the objective {law_objective!r} (one predicted column); "
                             f"--objective {objective!r} needs a law fitted per eval set or for that objective: "
                             "refit (mixlaw fit --objective ..., or optimize --runs ... --law KEY)")
        objective, asked = OBJECTIVE, law_objective if law_objective is not None else "mean"
        if evals and not maximize:
            # As optimize_runs says it: optimize_mixture sees one column, 'objective', not the accuracies it sums
            # (a law fitted with --objective mean on acc_* evals was minimised without a word).
            warn_minimised_metrics(list(linear_objective(asked, evals)), stacklevel=2)
    return objective, asked, law_objective, evals


def _check_saved_law_scale(law: MixingLaw, constraints: dict[str, Any], table: RunTable | None = None) -> None:
    """InputError for a law fitted across model sizes or token counts that it takes as inputs, with no ``params``
    / ``tokens`` given: its optimum depends on a scale (``optimize --law law.json --params / --tokens``); and for
    one given to a law not fitted across it, which would optimise at its own. The refit it advises cuts the rows
    only as the runs (``table``, else the law's own record of them) allow
    (:func:`~mixlaw.laws.scale_inputs.scale_cut`)."""
    at = _scale_asked(constraints)
    cut = (fitted_scale_cut(getattr(law, "_fit_scale", None)) if table is None
           else scale_cut("params" in table.scale_spread(), table.has_checkpoints()))
    refit = f"refit on one scale (mixlaw fit --runs RUNS {cut} --out law.json), " if cut else ""
    check_scale_taken(law, at["params"], at["tokens"], _OTHER_SCALE)
    for what, uses, key, rng in (("model sizes", law.uses_model_params, "params", getattr(law, "_n_range", None)),
                                 ("token counts", law.uses_tokens, "tokens", getattr(law, "_d_range", None))):
        if uses and constraints.get(key) is None and rng is not None and rng[0] != rng[1]:
            # optimize_mixture's line advises --at-params / --final-step, which --law law.json refuses (it shapes a
            # fit): the way out of a saved law is a refit on one scale, or the scale in Python.
            raise InputError(f"the saved {law._label} was fitted across its runs' {what} ({rng[0]:.4g} to "
                             f"{rng[1]:.4g}) and takes the scale as an input, so its optimum depends on one: give it "
                             f"(--{key}; Python: optimize_saved_law(..., {key}=)), {refit}or optimise at a target "
                             "scale with mixlaw pipeline --optimize")


def _saved_law_runs(table: RunTable, domains: list[str], opt_kw: dict[str, Any],
                    at: Mapping[str, Any] | None = None) -> tuple[np.ndarray, str | None]:
    """The runs' mixtures in the law's domain order, set in ``opt_kw`` as the optimiser's runs and (unless a
    natural mixture or token budget is given) their mean as the natural mixture, of the runs at the scale ``at``
    where some were measured there; and that mean's label, or None."""
    if sorted(table.domains) != sorted(domains):
        raise InputError(f"the runs' domains ({', '.join(table.domains)}) are not the law's "
                         f"({', '.join(domains)}): give the runs it was fitted on, or none")
    W = table.weights_for(domains)
    opt_kw.setdefault("runs", W)
    if opt_kw.get("natural") is None and opt_kw.get("tokens_available") is None:
        opt_kw["natural"], label = natural_at_scale(table, W, at)
        return W, label
    return W, None


def _saved_law_run_figures(result: OptimumResult, law: MixingLaw, table: RunTable, W: np.ndarray | None,
                           own_runs: bool, names: list[str], evals: list[str], asked: Objective,
                           maximize: bool, at: Mapping[str, Any] | None = None) -> None:
    """What the runs add to ``result``: their spacing, the optimum's nearest run by name (unless the caller gave
    its own ``runs``: ``own_runs``), the best measured run and the law's cross-validated error on them."""
    result.line_unit = row_unit(table.path)
    if not own_runs:
        name_nearest_run(result, table, W, at)  # and the spacing of the runs it is of
    else:
        result.runs_spacing_l1 = run_spacing_l1(W)
    if evals and all(e in table.evals for e in evals):  # the best measured run, of the evals it combines
        result.best_run = best_measured_run(table, evals, asked, maximize, law, at=at)
        one_eval = isinstance(asked, str) and asked in names  # a per-eval meta-law's CV row of that eval
        cv_error = _law_error(law, table, evals, asked) if OBJECTIVE in names or one_eval else None
        if cv_error is not None and "CV" in cv_error["source"]:  # an in-sample one needs the fitting runs
            result.law_error = cv_error


def optimize_at_target(result: PipelineResult, *, objective: Objective = "mean", natural: Any = None,
                       natural_source: str | None = None, extrapolate: bool = False, random_state: int = 0,
                       **constraints: Any) -> tuple[OptimumResult, tuple[np.ndarray, np.ndarray] | None]:
    """The optimal mixture at a fitted (or loaded) pipeline's target scale, with the defaults of ``mixlaw optimize``,
    and its losses' prediction interval (what ``mixlaw pipeline --optimize`` and ``mixlaw optimize --pipeline``
    print: one call, so that the two give the same optimum).

    The trust region is the fitted range of each weight unless ``extrapolate``; the pipeline's mixtures give the
    optimum's distance to the nearest one; a pipeline whose law was fitted on the weighted total (auto's
    ``on_total`` candidate) minimises that one column. ``natural`` defaults to the mean of the pipeline's mixtures
    (token shares with ``tokens_available``); ``natural_source`` says where it came from in the report.
    ``constraints``: ``bounds``, ``fixed``, ``trust_radius``, ``tokens_available``, ``target_tokens``,
    ``max_epochs`` of :func:`~mixlaw.pipeline.optimize_pipeline`. The interval is None for a pipeline without
    intervals."""
    # A loaded pipeline keeps auto's choice as its label (saved_selection): the same rule as a fitted one.
    on_total = (result.selection.chosen.on_total if result.selection is not None else
                result.saved_selection is not None and result.saved_selection.on_total)
    opt = optimize_pipeline(result, objective="total" if on_total else objective, natural=natural,
                            within_fitted_range=not extrapolate, runs=result.mixtures, random_state=random_state,
                            **constraints)
    if natural_source is not None:
        # Said as optimize says it, not "given" ('--default uniform' read "natural mixture (given)").
        opt.natural_source = natural_source
    return opt, result.interval(opt.weight_array())


def _law_error(law: MixingLaw, table: Any, names: list[str], objective: Any) -> dict[str, Any] | None:
    """The law's RMSE on the objective over the fitting runs: the chosen law's cross-validated one when a meta-law
    chose it for the objective (its ``cv_`` row), else the fit's in-sample one (which understates the error on new
    mixtures)."""
    cv, choice = getattr(law, "cv_", None), getattr(law, "choice_", None)
    chosen = choice.get(OBJECTIVE) if isinstance(choice, dict) else None
    column = OBJECTIVE
    if chosen is None and law.key == "stack" and list(getattr(law, "targets_", [])) == [OBJECTIVE]:
        # A stack for the objective has its own CV row, scored honestly (each fold's weights fitted on the other
        # folds): its in-sample RMSE read 0.0137 on Marin's table9_obj, where that row says 0.029.
        chosen = "stack"
    elif chosen is None and isinstance(objective, str) and cv is not None and (
            objective in names or (len(names) == 1 and objective in ("max", "mean", "total"))):
        # A meta-law fitted per eval (fit's default stack, saved and optimised for one of its evals) has that eval's
        # CV row: its error line was the in-sample RMSE, or none for a saved law. The max (mean, total) of one eval
        # is that eval: 'optimize --objective max' on one eval printed the in-sample RMSE 0.73 where the CV row
        # says 1.18 at a Spearman of 0.10, and so no note that the law ranks mixtures no better than chance.
        column = objective if objective in names else names[0]
        chosen = ("stack" if law.key == "stack" else choice.get(column) if isinstance(choice, dict) else None)
    if cv is not None and chosen is not None:
        row = next((r for r in cv.rows if r.target == column and r.name == chosen
                    and np.isfinite(r.metrics.get("rmse", np.nan))), None)
        if row is not None:
            rho = row.metrics.get("spearman", np.nan)
            what = ("the stack, its weights fitted without each fold" if chosen == "stack"
                    else "the chosen law")
            return {"rmse": float(row.metrics["rmse"]), "source": f"{cv.n_folds}-fold CV of {what}",
                    **({"spearman": float(rho), "n_runs": int(cv.n_runs)} if np.isfinite(rho) else {}),
                    **_far_error(law, chosen)}
    _, s = _objective_weights(objective, names, law)
    # A ragged fit's rows may miss a loss (NaN): its objective is measured on the rows that have every one.
    Y = table.losses(names, allow_missing=True).reshape(len(table), -1)
    truth = Y @ s if s is not None else Y.max(axis=1) if objective == "max" else None
    if truth is None:  # a callable objective: nothing to score it against
        return None
    measured = ~np.isnan(truth)
    if not measured.any():  # a ragged fit's evals measured on disjoint runs: no run to score the objective on
        return None
    if not measured.all():
        Y, truth, table = Y[measured], truth[measured], table.subset(measured)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        P = np.asarray(law.predict(table), dtype=float).reshape(len(table), -1)
    if P.shape[1] == 1 and Y.shape[1] > 1:  # a meta-law fitted on the objective column predicts it
        pred = P[:, 0]
    elif P.shape[1] == Y.shape[1]:
        pred = P @ s if s is not None else P.max(axis=1)
    else:
        return None
    e = float(np.sqrt(np.mean((pred - truth) ** 2)))
    return ({"rmse": e, "source": f"in-sample, on the {len(table)} fitting runs"
             + ("" if measured.all() else f" that have every loss (of {len(measured)})")}
            if np.isfinite(e) else None)


#: The held-out runs farthest from their fold's fitting runs whose error :func:`_far_error` reports (a quarter).
FAR_QUANTILE = 0.75


def _far_error(law: MixingLaw, chosen: str) -> dict[str, Any]:
    """``{"far": {"rmse", "l1": (lo, hi), "n"}}``: the chosen law's out-of-fold RMSE of the objective on the quarter
    of held-out runs farthest (in L1) from the runs their fold was fitted on, or {} when the fit kept no
    out-of-fold predictions (a loaded law, a ragged fit) or has fewer than 8 runs, and when the quarter is every
    run (ties at its edge: mixtures replicated across seeds, each held-out run's own mixture fitted on in another
    fold, read "on the 48 held-out runs farthest ... (L1 0.00-0.00)" with the whole CV's RMSE; a lattice's runs,
    every one 0.2 from its fold's runs).

    Why: an optimum lies farther from every run than the runs lie from one another (0.85-0.92 on Marin's Delphi
    swarm, whose runs lie 0.59 apart), and the error grows with that distance. On Delphi (5-fold CV) ye-pow's
    relative RMSE of uncheatable_obj rose from 0.0050 in the nearest quarter to 0.0074 in the farthest (L1
    0.63-0.78), and of table9_obj from 0.0107 to 0.0311; on Marin's 24 measured optimiser proposals (L1 0.31-1.05
    from the swarm) it was 0.0085 and 0.0537 (bench/marin_delphi_proposals.py). The whole-CV RMSE understates the
    error there; the far quarter's is the nearest measured figure, and still a lower bound beyond its distances."""
    oof, truth, d = (getattr(law, a, None) for a in ("cv_objective_oof_", "cv_objective_", "cv_distance_"))
    if oof is None or truth is None or d is None or chosen not in oof or len(d) < 8:
        return {}
    e = np.asarray(oof[chosen], dtype=np.float64) - truth
    # Distances within rounding of the quantile tie with it: a lattice's runs, all L1 0.2 from their folds' runs,
    # were split 29 "farthest" at 0.2 against 37 at 0.19999999999999998.
    far = d >= np.quantile(d, FAR_QUANTILE) - 1e-9
    if far.all():
        return {}
    rmse = float(np.sqrt(np.mean(e[far] ** 2)))
    if not np.isfinite(rmse):
        return {}
    return {"far": {"rmse": rmse, "l1": (float(d[far].min()), float(d[far].max())), "n": int(far.sum())}}


__all__ = ["optimize_runs", "optimize_saved_law", "optimize_at_target", "law_selection", "FAR_QUANTILE"]
