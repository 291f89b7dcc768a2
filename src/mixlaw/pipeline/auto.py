"""``route="auto"``, ``law="auto"``: the pipeline chooses its route and mixing law by a leave-scale-out backtest.

Owns :func:`fit_pipeline` (the public entry point; one fixed route and law goes straight to
:func:`~.fitting.fit_route`), the **leave-scale-out split** (:func:`leave_scale_out_split`), which mimics the real
extrapolation inside the data: the largest fitted size is held out and every curve is cut before its late
part, so that the extrapolation ratios in :math:`\\log N` and :math:`\\log S` are as close as the data allow to
the target's (:math:`N^*/N_L`, :math:`S^*/S_L`), over the same window of each curve as the real fit
(``fit_from``); when both parts run, each is also held out alone (two more splits scoring the same held-out
entries). :func:`choose_simplest_within_noise` picks the simplest candidate the backtest cannot tell apart from
the best one (the one-standard-error rule), and :class:`Selection` lists every candidate's backtest errors with
the choice and the runner-up. Candidates are {nested, direct} x the mixing laws that suit the data (ye-exp,
ye-pow, additive-ens on the nested route; the joint law with Ye's mixture term on the direct one; ones with more
parameters than mixtures fail and say so), plus, when an ``objective``
that is a weighted sum of eval losses is given, the same routes with one law on that weighted total
(:func:`mixlaw.evals.add_weighted_total`). The chosen candidate is refitted on all the data and gets
prediction intervals (:mod:`.intervals`), whose jackknife refits start from its parameters (warm starts).

Why the rule and not the smallest backtest error: on 28 synthetic worlds of ``bench/pipeline_selection.py``
kept for development (``--seed 1``, not the reported ones) the smallest main-split error picked a candidate
within 1.2x of the best at the target in 64 % of worlds, the smallest split-averaged error in 75 %, the rule
in 89 %: with 6-10 mixtures and 0.3-1 % noise the backtest often ranks a flexible candidate first by chance.

The split lives in :mod:`.split`, the candidates' scoring and the choice rule in :mod:`.selection` (both
re-exported here, where they were first written).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._validation import check_random_state
from ..data import RunTable, frame_as_table
from ..errors import DataWarning, ExtrapolationWarning, InputError, MixlawError, MixlawWarning, user_stacklevel
from ..evals import TOTAL_NAME, add_weighted_total, linear_objective, warn_minimised_metrics
from .conformal import checkpoint_noise
from .direct import check_joint_steps
from .fitting import (
    MIN_SIZES,
    at_one_size,
    at_one_time,
    check_inputs,
    check_size_law,
    check_step_law,
    final_losses_noted,
    fit_candidates,
    fit_route,
    keep_fit_sizes,
    one_scale,
    read_as_final_losses,
    read_as_one_size,
)
from .grouping import merge_near_mixtures, merge_near_sizes, snap_target_size, snap_target_time
from .intervals import build_intervals, jackknife_mixtures, wide_intervals_line
from .joint import JOINT_LAWS
from .law_spread import final_size_law_spread, size_law_spread, step_law_spread, step_law_spread_at_size
from .result import (  # noqa: F401  (FAR_BELOW re-exported: its home was here)
    FAR_BELOW,
    ROUTES,
    PipelineResult,
    exact_number,
    far_below_line,
)
from .selection import (  # noqa: F401  (re-exported: mixlaw.pipeline.auto was their home)
    Candidate,
    Selection,
    _option_hint,
    backtest_candidates,
    choose_simplest_within_noise,
    paired_se,
    prediction_gap,
    select_candidate,
)
from .split import MIN_CHECKPOINTS, MIN_FIT_SIZES, ScaleSplit, leave_scale_out_split  # noqa: F401
from .tails import rising_evals_checked, rising_tail_line, rising_tails, rising_total_line

AUTO = "auto"
#: Mixing laws ``law="auto"`` tries on the nested route (the direct route's joint law has Ye's mixture term).
AUTO_LAWS = ("ye-exp", "ye-pow", "additive-ens")
#: Splits that hold out one part alone, scored next to the main split (both parts at once) when both ran.
EXTRA_PARTS: tuple[tuple[str, ...], ...] = (("time",), ("size",))


# ---------------------------------------------------------------------- entry point
def warn_extrapolated_metrics(names: list[str], stacklevel: int = 2) -> None:
    """Warn (:class:`~mixlaw.errors.HigherIsBetterWarning`) when eval sets the pipeline extrapolates read as
    higher-is-better metrics: its step and size laws (B, A > 0 in E + B/S^beta + A/N^alpha) fall with training, and
    it has no maximize. Also for the evals a ``--fit-total`` column sums, whose own name says nothing."""
    warn_minimised_metrics(names, stacklevel=stacklevel + 1, what="extrapolated as losses that fall with steps and "
                           "model size", fix="the pipeline's step and size laws cannot extrapolate a metric that "
                           "rises; choose its mixture at the runs' scale with 'mixlaw optimize --maximize'")


#: fit_pipeline's defaults of the intervals' options, by which it tells the ones a user gave (:func:`_unused_line`).
DEFAULT_LEVEL, DEFAULT_JACKKNIFE = 0.8, 8


def _unused_line(result: PipelineResult, why: str, *, objective: Any = None, level: float = DEFAULT_LEVEL,
                 n_jackknife: int = DEFAULT_JACKKNIFE) -> None:
    """Warn (and keep in ``result.warnings``) of each option given that the fit did not use, ``why`` saying why:
    route='nested', law='ye-exp' with objective=, level=0.95 or n_jackknife=3 gave the same result without a word."""
    unused = [name for name, given in (("objective", objective is not None), ("level", level != DEFAULT_LEVEL),
                                       ("n_jackknife", n_jackknife != DEFAULT_JACKKNIFE)) if given]
    if unused:
        line = f"{', '.join(unused)} not used: {why}"
        result.warnings.append(line)
        warnings.warn(line, MixlawWarning, stacklevel=user_stacklevel(3))


def fit_pipeline(table: RunTable, *, target_params: float | None = None, target_steps: float | None = None,
                 target_tokens: float | None = None, route: str = AUTO, law: str = AUTO, targets: Any = "all",
                 objective: Any = None, random_state: int | np.random.Generator | None = 0,
                 law_options: dict[str, Any] | None = None, shared_exponents: bool | str = True,
                 fit_from: float = 0.0, level: float = DEFAULT_LEVEL, n_jackknife: int = DEFAULT_JACKKNIFE,
                 intervals: bool | None = None, fit_all: bool = False,
                 steps_only: bool | None = None, sizes_only: bool | None = None, fit_sizes: Any = None,
                 fit_up_to: float | None = None) -> PipelineResult:
    r"""Predict target-scale losses of every mixture in ``table`` and fit a mixing law on them.

    With ``route="auto"`` or ``law="auto"`` (the defaults) the candidates (module docstring) are compared by a
    leave-scale-out backtest (:func:`leave_scale_out_split`); the simplest one within the backtest's noise of
    the smallest held-out error (:func:`choose_simplest_within_noise`) is refitted on all the data;
    :attr:`PipelineResult.selection` lists every candidate, the choice and the runner-up, and
    :attr:`PipelineResult.intervals` holds prediction intervals at ``level``.

    Parameters
    ----------
    table : RunTable, or a DataFrame in its columns
        Small runs at several model sizes (``params`` column) with several checkpoints each (``step``
        column); one row per (run, checkpoint). One model size is enough to extrapolate in steps alone.
    target_params : float, optional
        Model size N* of the target run (same units as the ``params`` column): usually beyond the largest size
        (extrapolation); inside the runs' range the same stages interpolate. A fitted size (relative tolerance
        1e-9) in a table of 1-2 sizes is extrapolated in steps alone (``steps_only``). Default: the table's one
        model size (InputError when it has several).
    target_steps : float, optional
        Training steps S* of the target run (beyond or inside the table's steps, as N*). A recorded step
        (relative tolerance 1e-9) in a table of 1-2 step values is extrapolated in model size alone
        (``sizes_only``). Default (with ``target_tokens`` None too): the table's one step (InputError when it has
        several).
    target_tokens : float, optional
        Instead of ``target_steps``: training tokens D* of the target run; the step law is then fitted over the
        ``tokens`` column, :math:`L(D) = E + B/D^{\beta}`. Give exactly one.
    route : {"auto", "nested", "direct"}, default="auto"
        Ye's nested step -> size -> mixture pipeline, one law with N (and S) as inputs (package docstring), or
        the one the backtest prefers.
    law : str, default="auto"
        Registered mixing law, or ``"auto"`` (ye-exp, ye-pow and additive-ens on the nested route, the joint law
        with ye-exp's mixture term on the direct one). Nested route: fitted on the predicted
        target-scale losses. Direct route: used as is when it takes model sizes (``dz-eq1``); ``ye-exp`` /
        ``ye-pow`` mean the joint law with that mixture term (:mod:`.joint`); any other law is refused (it has
        no model-size input to fit across sizes).
    targets : "all", str or list of str
        Eval sets to predict.
    objective : "mean", "total", an eval set or a mapping eval -> weight, optional
        The weighted sum of eval losses the user cares about. Given, the backtest scores every candidate on it
        and adds candidates that fit one law on that weighted total (the chosen pipeline then predicts the
        column ``objective`` only, when one of those wins); not when that total rises with training (an
        accuracy weighed in), which ``--fit-total`` refuses: a :class:`DataWarning` says they are left out. A fixed
        route and law without intervals have nothing to score it on: it is checked, and a warning says it is not
        used (as of ``level`` and ``n_jackknife`` given there, or with ``intervals=False``).
    random_state : int or Generator, default=0
    law_options : dict, optional
        Constructor options of the mixing law.
    shared_exponents : True, "auto" or False, default=True
        Nested route. ``True``: one step exponent beta per (size, eval) shared by all mixtures' curves, and one
        size exponent alpha per eval shared by all mixtures (each curve keeps its own E and B / E and A).
        ``False``: every curve and mixture gets its own exponent (Ye's pipeline), which needs >= 4 checkpoints
        per curve and >= 4 sizes. ``"auto"``: own exponents where the points allow it, shared where they do not.
        Why shared by default: the backtest's cut curves and held-out size leave too few points for own
        exponents, so it scores the shared fit; sharing at full data deploys the model the backtest scored.
        And it extrapolates better: the auto pipeline's target-scale MRE on the synthetic worlds of
        ``bench/pipeline_selection.py`` (4 seed blocks of 52) fell from 0.68 / 0.82 / 0.75 / 0.75 % to 0.65 /
        0.69 / 0.71 / 0.72 %; on Ye et al.'s public runs (``bench/ye_public_runs.py``, 1B from 70M-410M, at 20k
        steps / at the last step) 0.61 / 1.09 % -> 0.60 / 0.72 % on 5Mix, but 0.62 / 2.49 % -> 0.57 / 2.56 % on
        RedPajama (0.48 / 2.39 % before ye-exp predicted flat evals' constant; with the laws' 2000-iteration cap;
        it was 0.73 / 2.58 % -> 0.58 / 2.60 % before it); the nested
        route on mixlaw's own v3 runs from 5.04 to 4.67 % (v3_12m 3.45 to 3.38 %).
    fit_from : float in [0, 1), default=0.0
        Drop each curve's (mixture at one size) checkpoints before this fraction of its last step (or token
        count) before fitting.
        The first part of a loss curve (warm-up, the fast initial drop) is not on the power law
        :math:`E + B/S^{\beta}` that the rest follows, yet it holds most of the curvature, so it decides the
        fitted exponent. Measured on mixlaw's own tiny proxy runs (``python bench/pipeline_crossscale.py
        [--fit-from 0.4]``: a third of the steps, extrapolated 3x in steps and 2.3x in size): nested route
        6.6 % -> 5.5 %, direct route 2.4 % -> 1.8 %. 0 keeps everything (Ye et al. fit the whole curve).
    level : float in (0, 1), default=0.8
        Nominal coverage of the prediction intervals (``mixlaw pipeline``'s, which prints 80 % intervals and
        ``lo80:`` / ``hi80:`` columns). 0.8, not :func:`~mixlaw.bootstrap.bootstrap_law`'s 0.9, on purpose: these
        are intervals of the measured losses at the target scale, and their nominal-80 % coverage is what the
        backtests measured (docs/pipeline.md's results); the bootstrap's 90 % are intervals on one fitted
        law's parameters, predictions and optimum at the fitted scale.
    n_jackknife : int, default=8
        Jackknife refits (one mixture left out each) behind the intervals (0: intervals from the backtest
        residuals alone).
    intervals : bool, optional
        Compute intervals (needs the backtest). Default: with ``auto`` only; ``True`` with a fixed route and
        law runs that one candidate's backtest.
    fit_all : bool, default=False
        Also fit every candidate on all the data: :attr:`PipelineResult.alternatives` maps each candidate's
        label to its result (to compare the choice with the others at the target, as the bench does).
    steps_only : bool, optional
        Extrapolate in steps (or tokens) alone at the target size, a fitted one (:mod:`.fitting`): the nested
        route's step law per curve, then the mixing law at S*; the direct route's joint law without its size
        term; curves at other sizes left out (a line in the warnings says so); the backtest holds out the curves'
        late part only, and says the size part is not needed. Default (None): when the target is a fitted size
        and the table has fewer than 3 sizes (too few for the size law); with 3 or more the size law through
        every size is read at the target size.
    sizes_only : bool, optional
        The mirror image: extrapolate in model size alone at the target step (or token count), a recorded one
        (:mod:`.fitting`): the nested route's size law per mixture (alpha shared per eval by default) read at N*,
        then the mixing law there; the direct route's joint law without its step term; rows at other steps left
        out (a line says so); the backtest holds out the largest size only, and says the step part is not
        needed. Default (None): when the target step is a recorded one and the table has fewer than 3 step values
        (each run's final loss only); with 3 or more the step laws are read at that step. Excludes
        ``steps_only``.
    fit_sizes : list of float, optional
        Fit these model sizes of the table only (each one a value of its ``params`` column); the rows at other
        sizes are left out before anything is fitted, and a line in :attr:`PipelineResult.warnings` says so. The
        way to check an extrapolation on one's own runs: hold out the largest size, target it, compare.
        InputError for a size that is not in the table (the message lists them), or too few sizes left for the
        size law (3; 2 for a direct law that takes N) unless the target is one of them (steps only).
    fit_up_to : float, optional
        Instead of ``fit_sizes``: every model size up to this one (``bench/dz_public_runs.py --fit-up-to``).

    Returns
    -------
    PipelineResult

    Raises
    ------
    InputError
        A missing ``params`` column, or ``step`` column where a target step is given or a column named like one
        is there (a table with neither ``step`` nor ``tokens`` is read as each run's final loss, sizes only:
        :func:`~.fitting.read_as_final_losses`), a target that is not positive, too few sizes (< 3, with a target
        size that is not a fitted one) or checkpoints for the step and size laws' 3 parameters, or too few
        mixtures for the mixing law (with ``auto``: for every candidate, each one's reason in the message).

    Notes
    -----
    The engine needs more observations than parameters, so a curve gets its own step law only with >= 4
    checkpoints and a mixture its own size law only with >= 4 sizes. Curves with 2-3 checkpoints share the
    exponent beta per (size, eval) across mixtures; mixtures at exactly 3 sizes share alpha per eval
    (:func:`mixlaw.scaling.fit_shared_exponent`). Stage descriptions say which was used.

    A curve whose last checkpoint lies well above its earlier minimum (median over the evals: a late loss
    spike or divergence; more than 10x the table's checkpoint noise, at least 3 % and at most 15 %,
    :mod:`.tails`) is named, with the rows to leave out, in one :class:`DataWarning`
    and in :attr:`PipelineResult.warnings`; it is fitted as it is.

    An eval that rises with training, its last checkpoint above its first on 90 % or more of the curves (an
    accuracy in a ``loss:`` column; :func:`.tails.rising_evals`), is named in one :class:`DataWarning` and fitted
    as it is; when every eval to fit rises, InputError (the step and size laws fit falling losses).
    """
    if route not in (AUTO, *ROUTES):
        raise InputError(f"route must be one of {(AUTO, *ROUTES)}; got {route!r}")
    if not isinstance(law, str):
        raise InputError(f"law must be a registered law's key or 'auto'; got {law!r}")
    if not (isinstance(level, float | int) and 0 < level < 1):
        raise InputError(f"level must be in (0, 1); got {level!r}")
    if not (isinstance(n_jackknife, int | np.integer) and n_jackknife >= 0):
        raise InputError(f"n_jackknife must be an int >= 0; got {n_jackknife!r}")
    table = frame_as_table(table)  # a DataFrame in the run table's columns, as law.fit reads one
    if not isinstance(table, RunTable):
        raise InputError(f"the pipeline needs a RunTable (or a DataFrame in its columns); got {type(table).__name__}")
    # An eval missing at some checkpoints (NaN cells): every stage fits the rows that have all the targets.
    table, missing_line = table.complete_line(targets)
    table, final_line = read_as_final_losses(table, target_steps, target_tokens)
    table, one_size_line = read_as_one_size(table, target_params)
    for line in (missing_line, final_line, one_size_line):
        if line is not None:
            warnings.warn(line, DataWarning, stacklevel=user_stacklevel(2))
    # An error about the scales names S = 1 (FINAL_STEP) of a table with no step column: it says where that comes from
    # (a one-size table of final losses read "the runs at S = 1 (sizes only) have 1 model size(s)", its warning
    # unseen under the error).
    with final_losses_noted(final_line):
        # Sizes written two ways are one before the size filter reads them; mixtures are merged on the rows it keeps
        # (Ye et al.'s RedPajama writes one mixture two ways at 1B alone: --fit-up-to 410M needs no word of it), before
        # anything groups rows into mixtures (the backtest's split, the routes).
        table, sizes_line = merge_near_sizes(before := table)
        target_params, snap_line = snap_target_size(before, table, target_params)
        target_steps, target_tokens, time_line = snap_target_time(table, target_steps, target_tokens, target_params)
        for line in (sizes_line, snap_line, time_line):
            if line is not None:
                warnings.warn(line, DataWarning, stacklevel=user_stacklevel(2))
        # What fits across the kept sizes: a direct law that takes N fits 2 of them, anything else 3.
        takes_n = route == "direct" and law not in (*JOINT_LAWS, AUTO)
        table, kept_line = keep_fit_sizes(table, fit_sizes, fit_up_to, target_params=target_params, route=route,
                                          need=2 if takes_n else MIN_SIZES, registered=takes_n)
        table, merged_line = merge_near_mixtures(table)
        if merged_line is not None:
            warnings.warn(merged_line, DataWarning, stacklevel=user_stacklevel(2))
        # Said once here, on the curves as they enter the step law (a backtest refits them many times); fits unchanged.
        axis = "tokens" if target_tokens is not None or (target_steps is None and "step" not in table.frame) else "step"
        tail_line = rising_line = None
        if axis in table.frame:
            names = table.resolve_targets(targets)
            rising_line = rising_evals_checked(table, axis, names)
            if rising_line is not None:
                warnings.warn(rising_line, DataWarning, stacklevel=user_stacklevel(2))
            tail_line = rising_tail_line(rising_tails(table, axis, names), axis, table.path)
        if tail_line is not None:
            warnings.warn(tail_line, DataWarning, stacklevel=user_stacklevel(2))
        try:
            result = _fit_pipeline(table, target_params=target_params, target_steps=target_steps,
                                   target_tokens=target_tokens, route=route, law=law, targets=targets,
                                   objective=objective, random_state=random_state, law_options=law_options,
                                   shared_exponents=shared_exponents, fit_from=fit_from, level=level,
                                   n_jackknife=n_jackknife, intervals=intervals, fit_all=fit_all,
                                   steps_only=steps_only, sizes_only=sizes_only)
        except InputError as err:
            if kept_line is None or (target_params is not None and (target_steps, target_tokens) != (None, None)):
                raise
            raise InputError(f"{err}{held_out_target_hint(before, table, axis)}") from None
        for line in (rising_line, tail_line, merged_line, kept_line, time_line, snap_line, sizes_line, one_size_line,
                     final_line, missing_line):
            if line is not None:
                result.warnings.insert(0, line)
        result.final_losses = final_line is not None
        if route == "direct" and shared_exponents is not True:
            # The joint law fits its exponents per eval whatever this says: False gave the result of True, silently.
            line = (f"shared_exponents={shared_exponents!r} not used: the direct route fits one joint law per eval, "
                    "with no per-curve step or size laws whose exponents could be shared or not (route='nested')")
            result.warnings.append(line)
            warnings.warn(line, MixlawWarning, stacklevel=user_stacklevel(2))
        return result


def held_out_target_hint(full: RunTable, kept: RunTable, axis: str) -> str:
    """For a pipeline fitted on some sizes (``fit_sizes``/``fit_up_to``) without a full target: the sizes left out
    and their last step (or token count), the target that checks the extrapolation against them, or ''.

    Found holding out Dai & Zheng's 2.718B runs with --fit-up-to 1.235B and no --target-params: "the table has 5
    model sizes: give the target model size" named neither the size held out nor the tokens its runs reach."""
    N_all, N_kept = full.model_params, kept.model_params
    if N_all is None or N_kept is None or axis not in full.frame:
        return ""
    left = ~np.isin(N_all, np.unique(N_kept))
    if not left.any():
        return ""
    top = float(N_all[left].max())
    last = float(np.asarray(full.frame[axis], dtype=np.float64)[left & (N_all == top)].max())
    name, at, size = ("steps" if axis == "step" else "tokens"), exact_number(last), exact_number(top)
    return (f"; the largest size left out is {size}, its runs to {axis} {at}: target_params={size}, "
            f"target_{name}={at} (--target-params {size} --target-{name} {at}) checks the extrapolation against "
            "them")


def _fit_pipeline(table: RunTable, *, target_params: float | None, target_steps: float | None,
                  target_tokens: float | None, route: str, law: str, targets: Any, objective: Any,
                  random_state: int | np.random.Generator | None, law_options: dict[str, Any] | None,
                  shared_exponents: bool | str, fit_from: float, level: float, n_jackknife: int,
                  intervals: bool | None, fit_all: bool, steps_only: bool | None,
                  sizes_only: bool | None) -> PipelineResult:
    """:func:`fit_pipeline` on the table of the sizes to fit (arguments checked there)."""
    # Said once here, not in the stages (a backtest refits them many times).
    warn_extrapolated_metrics(table.resolve_targets(targets), stacklevel=3)
    fit_kw: dict[str, Any] = {"random_state": random_state, "law_options": law_options,
                              "shared_exponents": shared_exponents, "fit_from": fit_from}
    time_kw = {"target_steps": target_steps, "target_tokens": target_tokens}
    auto = AUTO in (route, law)
    if not auto and not intervals:
        if objective is not None:
            # Checked as auto checks it ('max', an eval not among the targets), though nothing here scores it.
            linear_objective(objective, table.resolve_targets(targets))
        fixed = fit_route(table, target_params=target_params, route=route, law=law, targets=targets, **time_kw,
                          **fit_kw, steps_only=steps_only, sizes_only=sizes_only)
        # As auto's below: a fixed route (--route nested --law ye-exp, intervals off by default) predicted 0.25
        # where the table's lowest is 0.52 (E = 0, 1000x beyond) with no word, auto's fit of the same law warned.
        _warn_far_below(fixed, table)
        _unused_line(fixed, f"a fixed route and law ({route!r}, {law!r}) without intervals has no backtest to score "
                     "an objective on and builds no intervals: intervals=True runs that candidate's backtest (or "
                     "route/law 'auto' compares the candidates); optimize_pipeline(objective=) optimises an objective",
                     objective=objective, level=level, n_jackknife=n_jackknife)
        return fixed
    # Validate the arguments and the table once (cheap errors first, the same messages as a fixed route's).
    Nt, target_time, axis, names, _ = check_inputs(table, target_params, target_steps, target_tokens, targets,
                                                   shared_exponents, fit_from)
    # A target at a fitted size: the steps-only pipeline on that size's curves, decided once here so that the
    # backtest's and the jackknife's refits stay steps-only (and a pipeline that needs its size law does not turn
    # steps-only in a backtest whose target, the largest size, is one it fits).
    time_kw = {"target_steps" if axis == "step" else "target_tokens": target_time}  # resolved: maybe the table's
    one_size, one_time = one_scale(table, Nt, axis, target_time, steps_only, sizes_only)
    left_out = None
    if one_size is not None:
        Nt = one_size
        table, left_out = at_one_size(table, one_size)
    if one_time is not None:  # the mirror image: a recorded step, extrapolated in model size alone
        target_time = one_time
        time_kw = {"target_steps" if axis == "step" else "target_tokens": one_time}
        table, left_out = at_one_time(table, axis, one_time)
    fit_kw["steps_only"], fit_kw["sizes_only"] = one_size is not None, one_time is not None
    # A direct candidate with a registered law that takes N fits final checkpoints as they are (no step law).
    registered = route != "nested" and law not in (*JOINT_LAWS, AUTO)
    # Before the backtest, whose reduced table would say it of itself (e.g. of its held-out size).
    if one_size is None:
        check_size_law(table, axis, one_time, registered, route)
    if one_time is None and not registered:
        # The joint law's step term: 3 step values in all, not 3 per curve. With the direct route among the
        # candidates (auto) that is all the data need; a nested candidate that cannot fit its step laws is then
        # set aside by its own fit, with its reason. When not even that holds, auto says the nested route's
        # sentence, which names the stricter need (and the sizes-only way out) as before.
        if route == "nested":
            check_step_law(table, axis)
        else:
            try:
                check_joint_steps(table.model_params, table.steps if axis == "step" else table.tokens, axis)
            except InputError:
                if route == AUTO:
                    check_step_law(table, axis)
                raise
    # Nonzero weights only; an eval set not among the targets is refused (evals.objective_weights).
    total = None if objective is None else linear_objective(objective, names)
    cands = _candidates(route, law, total)
    total_line = None
    if total is not None and any(on for _, _, on in cands):
        total_line = rising_total_line(table, total, axis)
        if total_line is not None:
            cands = [c for c in cands if not c[2]]
            warnings.warn(total_line, DataWarning, stacklevel=user_stacklevel(2))
    split = leave_scale_out_split(table, Nt, target_time, axis, fit_from=fit_from, route=route,
                                  registered=registered)
    if split.short_curves:
        warnings.warn(split.short_curves, DataWarning, stacklevel=user_stacklevel(2))
    if one_size is not None:
        split.not_needed.append(f"size part not needed: the target is at a fitted size (N = {one_size:g}), a "
                                "steps-only extrapolation")
    if one_time is not None:
        split.not_needed.append(f"{axis} part not needed: the target is at the recorded {axis} "
                                f"({'S' if axis == 'step' else 'D'} = {one_time:g}), a sizes-only extrapolation")
    extra = [sp for p in EXTRA_PARTS if split.size_ratio > 1 and split.time_ratio > 1
             for sp in [leave_scale_out_split(table, Nt, target_time, axis, fit_from=fit_from, parts=p,
                                              route=route, registered=registered)]]
    note = ""
    selection: Selection | None = None
    if split.truth_rows.size and split.fit_rows.any() and not (split.size_ratio == 1 and split.time_ratio == 1):
        selection = select_candidate(table, split, cands, names, total, fit_kw, extra)
        chosen = selection.chosen
        route_c, law_c, on_total = chosen.route, chosen.law, chosen.on_total
    else:
        route_c, law_c, on_total = cands[0]
    data = add_weighted_total(table, total) if on_total else table  # type: ignore[arg-type]
    tnames = [TOTAL_NAME] if on_total else names
    first: PipelineResult | None = None
    if selection is None:
        # Nothing compared the candidates, so nothing says the first can fit these data: the first that fits is
        # used (a table whose curves or mixtures suit only the direct route's shared exponents, e.g. different
        # mixtures at each size, or 2 checkpoints per curve at one size), each one that cannot saying why.
        first, (route_c, law_c, on_total), data, tnames, note = _first_that_fits(
            table, cands, total, names, split, target_params=Nt, time_kw=time_kw, fit_kw=fit_kw)
    others: dict[str, PipelineResult] = {}
    if fit_all:
        for flag in (False, True):
            pairs = [(r, lw) for r, lw, t in cands if t == flag]
            if not pairs:
                continue
            d, tn = (add_weighted_total(table, total), [TOTAL_NAME]) if flag and total else (table, names)
            fits = fit_candidates(d, target_params=Nt, candidates=pairs, targets=tn, **time_kw, **fit_kw)
            others.update({Candidate(r, lw, flag).label: v for (r, lw), v in fits.items()
                           if isinstance(v, PipelineResult)})
    label = Candidate(route_c, law_c, on_total).label
    result = (others[label] if label in others else first if first is not None
              else fit_route(data, target_params=Nt, route=route_c, law=law_c, targets=tnames, **time_kw, **fit_kw))
    result.alternatives = others
    if split.short_curves:
        result.warnings.append(split.short_curves)
    if total_line is not None:
        result.warnings.insert(0, total_line)
    if left_out is not None:
        result.warnings.insert(0, left_out)
    spread = step_spread = None
    if selection is None and intervals is not False:
        spread, step_spread = _no_backtest_spreads(data, tnames, Nt, target_time, result.mixtures, level, axis,
                                                   fit_from, one_size=one_size, one_time=one_time)
    noise = float("nan")
    if selection is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MixlawWarning)
            noise = checkpoint_noise(data, tnames, axis, fit_from)
        selection.noise = noise
        selection.runner_up_gap = _runner_up_gap(selection, result, others, table, names, total, Nt, time_kw, fit_kw)
        result.selection = selection
    else:
        result.warnings.append(note.replace("{intervals}", _intervals_words(spread, step_spread, one_size,
                                                                           one_time)))
    _warn_far_below(result, data)
    if intervals is False:
        _unused_line(result, "intervals=False builds no intervals", level=level, n_jackknife=n_jackknife)
        return result
    # check_random_state as the fits read it: np.int64(7) (a seed from np.arange) is seed 7, and a Generator draws
    # the seed (both drew the jackknife of seed 0, read as "not an int").
    seed = int(check_random_state(random_state).integers(2**31))

    def refit(sub: RunTable, s: int) -> PipelineResult:
        return fit_route(sub, target_params=Nt, route=route_c, law=law_c, targets=tnames, **time_kw,
                         **{**fit_kw, "random_state": s}, warm=result)

    jack, failed = jackknife_mixtures(refit, data, n_jackknife, seed) if n_jackknife else ([], [])
    # A per-eval law scored on a weighted total: each eval's interval from that eval's own backtest residuals
    # (the total's would give every eval the same width, whatever its own extrapolation error).
    resid = None if selection is None else (selection.chosen.residuals if selection.chosen.eval_residuals is None
                                            else selection.chosen.eval_residuals)
    factor = split.distance_factor if selection is not None else float("nan")
    # Outside the filter: what build_intervals warns about (residuals it cannot scale) must reach the user.
    result.intervals = build_intervals(result.target_losses, result.mixtures, resid, factor, jack, failed, level,
                                       noise=noise, size_law=spread, step_law=step_spread,
                                       backtest_distance=split.backtest_distance,
                                       edge=(split.held_params, split.held_time), names=list(result.targets))
    wide = wide_intervals_line(result.intervals, result.target_losses, list(result.targets), result.mixture_rows())
    if wide is not None:
        result.warnings.append(wide)
        warnings.warn(wide, MixlawWarning, stacklevel=user_stacklevel(2))
    return result


def far_below_table_line(result: PipelineResult, table: RunTable, low: np.ndarray | None = None) -> str | None:
    """The warning for target-scale predictions below :data:`~.result.FAR_BELOW` x the lowest loss of their eval
    anywhere in ``table`` (every size and checkpoint), naming the lowest one, else None.

    A larger model trained longer has a lower loss, but not by half: on every real sweep at hand the largest size's
    lowest loss of each eval is 0.79-0.99x the smaller sizes' lowest (Dai & Zheng, 122M-1.235B -> 2.718B: 0.83-0.97;
    Ye et al.'s RedPajama and 5Mix, 70M-410M -> 1B: 0.87-0.99 and 0.79-0.96; the trainer's v3, v4, v3_12m:
    0.95-0.97), and 0.64-0.89x the smallest size's alone (22x in size for Dai & Zheng). A fit whose asymptote E ran
    to its bound 0 carries a mixture there. Measured: Ye's 5Mix, 24 mixtures at 160M-410M, FreeLaw,
    100x in size and 30x in steps: mixture '0.25-0-0-0-0.75' predicted 0.113 where every loss in the table is 2.17
    or more (its size law's residual 24 %, E at 0), with no word but the fit's bound line. ``low``: the table's
    lowest losses (:func:`table_lowest`) where the caller has them."""
    low = table_lowest(result, table) if low is None else low
    if low is None:
        return None
    return far_below_line(result.target_losses, low, list(result.targets), result.mixture_rows(),
                          "target-scale prediction(s)",
                          "its step or size law has run to its bound (the stages' 'at lower bound' lines) or the "
                          "target is far beyond the runs; check that mixture's curves, leave it out, or target nearer")


def table_lowest(result: PipelineResult, table: RunTable) -> np.ndarray | None:
    """The lowest loss of each of ``result``'s targets in ``table`` (every size and checkpoint; NaN where an eval has
    none), or None where the table lacks them."""
    try:
        Y = table.losses(list(result.targets), allow_missing=True)
    except MixlawError:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmin(np.asarray(Y, dtype=np.float64).reshape(len(Y), -1), axis=0)


def _warn_far_below(result: PipelineResult, table: RunTable) -> None:
    """:func:`far_below_table_line`, kept in the result's warnings and raised; the table's lowest losses kept in the
    result (:attr:`~.result.PipelineResult.table_lowest`), for the same check at predict time (its smallest fitted
    scales, for predict's warning below them, are set where the routes fit: :func:`~.fitting.fit_candidates`)."""
    result.table_lowest = table_lowest(result, table)
    line = far_below_table_line(result, table, result.table_lowest)
    if line is not None:
        result.warnings.append(line)
        warnings.warn(line, MixlawWarning, stacklevel=user_stacklevel(3))
    # A target below the smallest fitted size (or step) reads the size (step) law downward, which no backtest
    # tests ('size 1x (target 0.00333x)') and no interval widens for: predict(params=) warned of it, the fit not
    # (hunt28: --target-params 1e5 of sizes 1e6-3e7, no word).
    line = result.target_below_line()
    if line is not None:
        result.warnings.append(line)
        warnings.warn(line, ExtrapolationWarning, stacklevel=user_stacklevel(3))


def _candidates(route: str, law: str, total: Any) -> list[tuple[str, str, bool]]:
    """(route, law, fitted on the weighted total) of every candidate the backtest compares."""
    routes = ROUTES if route == AUTO else (route,)
    laws = AUTO_LAWS if law == AUTO else (law,)
    cands: list[tuple[str, str, bool]] = []
    for r in routes:
        # The direct route's joint law has Ye's mixture term: one candidate, unless the user names ye-pow's
        # power-share form or a law that takes model sizes itself (dz-eq1). The power-share form is not an auto
        # candidate: on the 3-domain synthetic worlds of bench/pipeline_selection.py it made auto's choice no
        # better (target MRE 0.66 / 0.67 / 0.72 / 0.71 % against 0.65 / 0.69 / 0.71 / 0.72 %, seed blocks 0-3)
        # and the best candidate harder to match, and on Ye et al.'s runs and the trainer runs the backtest never
        # chose it (bench/ye_public_runs.py). Measured with the single-start fit that _fit_joint_pow replaced by
        # two starts (it sat at gamma ~ 1 on some evals); not rerun since.
        for lw in (laws if r == "nested" or law != AUTO else ("ye-exp",)):
            cands.append((r, lw, False))
    if total is not None and law == AUTO:
        cands += [(r, "ye-exp", True) for r in routes]
    return cands


def _first_that_fits(table: RunTable, cands: list[tuple[str, str, bool]], total: Any, names: list[str],
                     split: Any, *, target_params: float, time_kw: dict[str, Any],
                     fit_kw: dict[str, Any]) -> tuple[PipelineResult, tuple[str, str, bool], RunTable, list[str], str]:
    """With nothing to backtest on, the first candidate that fits (its result, (route, law, on total), the table
    and targets it was fitted on, and the note the result carries); an InputError naming each one's reason when
    none does."""
    Nt = target_params
    first: PipelineResult | None = None
    route_c = law_c = ""
    on_total = False
    data, tnames = table, names
    failed_by: dict[str, list[str]] = {}  # reason -> the candidates it stopped (named together)
    last: MixlawError | None = None
    for r, lw, t in cands:
        d, tn = (add_weighted_total(table, total), [TOTAL_NAME]) if t and total else (table, names)
        try:
            first = fit_route(d, target_params=Nt, route=r, law=lw, targets=tn, **time_kw, **fit_kw)
        except MixlawError as err:
            # A law's option hint with the route and law that take it, as the backtest table gives it.
            failed_by.setdefault(_option_hint(str(err).splitlines()[0], Candidate(r, lw, t)), []).append(
                Candidate(r, lw, t).label)
            last = err
            continue
        route_c, law_c, on_total, data, tnames = r, lw, t, d, tn
        break
    why = [f"{', '.join(labs)}: {reason}" for reason, labs in failed_by.items()]
    if first is None:
        if len(failed_by) == 1 and last is not None:
            raise last  # one reason stops every candidate: its own message, not a list of one
        held = "; ".join(split.skipped) or "nothing to hold out for a backtest"
        raise InputError(f"no pipeline candidate can fit these data ({held}): " + "; ".join(why))
    note = (f"no backtest possible ({'; '.join(split.skipped) or 'nothing to hold out'}): "
            f"{Candidate(route_c, law_c, on_total).label} used without comparison, and {{intervals}}"
            + "".join(f"; {w}" for w in why))
    return first, (route_c, law_c, on_total), data, tnames, note


def _no_backtest_spreads(data: RunTable, tnames: list[str], Nt: float, target_time: float, mixtures: Any,
                         level: float, axis: str, fit_from: float, *, one_size: float | None,
                         one_time: float | None) -> tuple[Any, Any]:
    """(size-law term, step-law term) of the intervals when nothing could be held out for a backtest.

    Sizes only without a backtest (3 sizes): the size law's own prediction error at N* joins the jackknife
    (law_spread.size_law_spread; measured by bench/interval_sizes_only.py), where the jackknife alone held 52 of
    108 of the trainer runs' losses. None without degrees of freedom (every mixture at 2 sizes). Its mirror
    image, steps only with curves of 3 checkpoints: the step law's, max with the jackknife (step_law_spread;
    bench/interval_steps_only.py --checkpoints 3: the jackknife alone held 58-66 % on synthetic worlds).
    Multi-scale with nothing to hold out (3 sizes, curves of 3 checkpoints): each extrapolated part's own term,
    the step law's on the curves at the fitted size nearest N*, and, unless N* is a fitted size (only the step
    is extrapolated: the steps-only rule), the size law's on the last checkpoints in quadrature with the
    jackknife; the wider (bench/interval_calibration.py --fit-sizes 3 --checkpoints 3 [--target-at-fitted-size]).
    """
    spread = step_spread = None
    if one_time is not None:
        spread = size_law_spread(data, tnames, Nt, mixtures, level)
    elif one_size is not None:
        step_spread = step_law_spread(data, tnames, target_time, mixtures, level, axis, fit_from)
    else:
        step_spread = step_law_spread_at_size(data, tnames, Nt, target_time, mixtures, level, axis, fit_from)
        if step_spread is None or not np.isclose(step_spread.at_size, Nt, rtol=1e-9):
            spread = final_size_law_spread(data, tnames, Nt, mixtures, level, axis)
    return spread, step_spread


def _intervals_words(spread: Any, step_spread: Any, one_size: float | None, one_time: float | None) -> str:
    """What the intervals of a pipeline without a backtest hold, for its note."""
    # Route-neutral words in the multi-scale case: the term is E + A/N^alpha fitted here to the last
    # checkpoints, whatever the route (the direct route has no "size law" of its own).
    at = "" if step_spread is None or one_size is not None else f" at N = {step_spread.at_size:g}"
    step_words = f"the step law's prediction error from the fitted checkpoints{at}"
    size_words = ("the size law's prediction error from the fitted sizes" if one_time is not None else
                  "the prediction error of E + A/N^alpha fitted to each mixture's last checkpoints (alpha shared)")
    held = " and ".join(w for w, sp in ((size_words, spread), (step_words, step_spread)) if sp is not None)
    if spread is None and step_spread is not None and step_spread.law == "step-nearest":
        held += " (NOT the size extrapolation beyond that size: no size-law term could be fitted)"
    return f"intervals hold {held}, not a measured extrapolation error" if held else \
        "intervals lack the extrapolation error"


def _runner_up_gap(selection: Selection, result: PipelineResult, fitted: dict[str, PipelineResult], table: RunTable,
                   names: list[str], total: dict[str, float] | None, Nt: float, time_kw: dict[str, Any],
                   fit_kw: dict[str, Any]) -> float:
    """Mean |chosen / runner-up - 1| of the two candidates' predictions at the target, over the table's mixtures and
    evals (on the weighted total when there is one, as the backtest scored them), each fitted on all the data
    (the runner-up's fit is taken from ``fitted``, fit_all's, when there); nan without a runner-up or when its
    fit fails. The error estimate's lower side (:attr:`.selection.Selection.error_estimate`), for one more fit
    of the whole table."""
    ru = selection.runner_up
    if ru is None:
        return float("nan")
    other = fitted.get(ru.label)
    if other is None:
        data, tn = (add_weighted_total(table, total), [TOTAL_NAME]) if ru.on_total and total else (table, names)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MixlawWarning)
                other = fit_route(data, target_params=Nt, route=ru.route, law=ru.law, targets=tn, **time_kw,
                                  **fit_kw)
        except MixlawError:
            return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixlawWarning)
        a, b = result.predict(result.mixtures), other.predict(result.mixtures)
    return prediction_gap(a, b, None if total is None else np.array([total.get(e, 0.0) for e in names]))
