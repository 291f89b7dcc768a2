"""Decisions at the target scale: the optimal mixture of a pipeline result and Ye's steps-to-match figures.

:func:`optimize_pipeline` optimises the pipeline's target-scale mixing law; :func:`pipeline_steps_to_match`
compares the optimum's and the default's curves at N*, both predicted from the same fitted stages.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..errors import ExtrapolationWarning, HigherIsBetterWarning, InputError, MixlawWarning, user_stacklevel
from ..laws._inputs import weights_in_order
from ..laws.base import MixingLaw
from ..optimize import Objective, OptimumResult, StepsToMatch, _make_scalar, _objective_weights, optimize_mixture
from ..optimize.search import check_optimize_keywords
from ..optimize.simulate import run_spacing_l1
from .direct import few_mixtures_head
from .direct_scales import _RegisteredScales
from .result import PipelineResult


def optimize_pipeline(result: PipelineResult, *, objective: Objective = "mean",
                      natural: Any = None, steps_to_match: bool = True, span: float = 8.0,
                      random_state: int | np.random.Generator | None = 0, extrapolate: bool = False,
                      **constraints: Any) -> OptimumResult:
    """The optimal mixture of the pipeline's target-scale mixing law, with Ye's steps-to-match figures.

    Parameters
    ----------
    result : PipelineResult
    objective : see :func:`mixlaw.optimize.optimize_mixture`
    natural : mapping or sequence of float, optional
        The default mixture to compare with (and to match steps against). Default: the mean of the pipeline's
        mixtures.
    steps_to_match : bool, default=True
        Add :func:`pipeline_steps_to_match` figures (needs a result that predicts at other step counts: a
        sizes-only pipeline, fitted at one step, gets none).
    span : float, default=8.0
        Step grid of the steps-to-match curves: S*/span .. S* span.
    random_state : int or Generator, default=0
    extrapolate : bool, default=False
        Allow the optimum outside each weight's range in the pipeline's mixtures; by default it stays within it
        (``within_fitted_range=True`` of :func:`~mixlaw.optimize.optimize_mixture`, which also sets it), as
        ``mixlaw pipeline --optimize`` keeps it unless ``--extrapolate``.
    **constraints
        ``bounds``, ``fixed``, ``tokens_available``, ``target_tokens``, ``max_epochs``, ``within_fitted_range``,
        ``n_starts``, ``runs`` and ``trust_radius`` of :func:`~mixlaw.optimize.optimize_mixture` (with ``runs``, the
        result also reads the optimum's distance against their spacing). Not ``maximize``: the pipeline's step and
        size laws model losses that fall with scale.

    Returns
    -------
    OptimumResult
        With ``steps`` filled in when asked and possible.
    """
    # One warning per distinct message: with extrapolate=True the same WeightRangeWarning ('mixture weights outside
    # the fitted range for domain 'legal' (1; ...)') came 14 times, once per prediction of the optimum (the search,
    # the steps-to-match curves), on bench/data/crossscale_runs_v3.csv's nested linear pipeline.
    # Given again in ``finally``: a warning said before an error (an ExtrapolationWarning, then a FitError of the
    # steps-to-match or the interval) explains it, and was lost with the record when the work raised.
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # record each here; the user's filters apply when given again below
            return _optimize(result, objective, natural, steps_to_match, span, random_state, extrapolate,
                             constraints)
    finally:
        seen: set[tuple[str, type[Warning]]] = set()
        for w in caught:
            if not issubclass(w.category, MixlawWarning):
                # Another library's (a NumPy DeprecationWarning): given again where it was raised, so that the
                # filters that hid it there (Python's defaults show a DeprecationWarning in __main__ only) still do.
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            elif (str(w.message), w.category) not in seen:
                seen.add((str(w.message), w.category))
                warnings.warn(w.message, w.category, stacklevel=user_stacklevel(2))


def _optimize(result: PipelineResult, objective: Objective, natural: Any, steps_to_match: bool, span: float,
              random_state: int | np.random.Generator | None, extrapolate: bool,
              constraints: dict[str, Any]) -> OptimumResult:
    """:func:`optimize_pipeline`'s work, its warnings not yet merged."""
    if not isinstance(result, PipelineResult):
        # optimize_pipeline(law) stopped on "AttributeError: 'Linear' object has no attribute 'route'", as
        # save_pipeline(law) did before it said what it takes.
        hint = (": optimise a law with optimize_mixture(law) (or optimize_saved_law)"
                if isinstance(result, MixingLaw) else "")
        raise InputError(f"result: optimize_pipeline optimises a fit_pipeline result (a PipelineResult); got "
                         f"{type(result).__name__}{hint}")
    if constraints.get("maximize"):
        # Refused, not passed on: the metric would be extrapolated by laws that fall with scale (fit_pipeline warns),
        # its HigherIsBetterWarning is silenced below, and steps-to-match would read a falling loss curve.
        raise InputError("optimize_pipeline does not maximise: the pipeline's step and size laws extrapolate losses "
                         "that fall with scale; choose a higher-is-better metric's mixture at the runs' scale with "
                         "optimize_runs(maximize=True) ('mixlaw optimize --maximize')")
    if result.route == "direct" and result.law.startswith("joint+"):
        # Said again here: 'mixlaw optimize --pipeline' reads a saved file, whose fit's warnings are not shown, and
        # with too few mixtures the optimum is set by the law's bounds (Dai & Zheng's 7 domains, 5 mixtures: a
        # 31.5 % "gain").
        few = few_mixtures_head(result.law.split("+", 1)[1], result.mixtures)
        if few is not None:
            warnings.warn(f"optimum: {few[0]}, so this optimum and its "
                          "improvement are not determined by the runs (the pipeline's warning says more)",
                          MixlawWarning, stacklevel=2)
    if natural is None and constraints.get("tokens_available") is None:
        natural = result.mixtures.mean(axis=0)
    kw = {"params": result.target_params} if "model_params" in result.predict_kwargs else {}
    if "tokens" in result.predict_kwargs:
        # A law that takes the token count too (Dai & Zheng's Eq. 3, the direct route's dz-eq3-safe) is read at the
        # pipeline's D*: without it optimize_mixture refused, telling 'mixlaw pipeline --optimize' itself to use
        # 'mixlaw pipeline --optimize'.
        kw["tokens"] = result.predict_kwargs["tokens"]
    # The command's trust region: optimize_mixture's default (no range) put docs/pipeline.md's optimize_pipeline(res,
    # bounds=..., runs=runs, trust_radius=0.3) at legal 0.611 (fitted 0.024-0.494), where 'mixlaw pipeline --optimize'
    # with the same flags gave 0.494 (bench/data/crossscale_runs_v3.csv, nested linear).
    constraints.setdefault("within_fitted_range", not extrapolate)
    # The pipeline predicts at its own target scale ('params' given twice was a raw TypeError).
    check_optimize_keywords(constraints, "optimize_pipeline", taken=("objective", "natural", "random_state", *kw))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r".*: (params|tokens) outside the fitted range", ExtrapolationWarning)
        # fit_pipeline said it for the pipeline, which has no maximize: its laws model falling losses only.
        warnings.simplefilter("ignore", HigherIsBetterWarning)
        opt = optimize_mixture(result.mixing_law, objective=objective, natural=natural, random_state=random_state,
                               **kw, **constraints)
    # The law as the pipeline names it (its headline, the selection table): the direct route's joint law at N*, S*
    # printed 'law=ye-exp' in the optimum's header and --json, the mixing law's key, where 'joint+ye-exp' was fitted.
    opt.law = result.law
    runs = constraints.get("runs")
    if runs is not None:
        # The scale to read the optimum's distance to the nearest mixture against, as mixlaw optimize gives it:
        # without it the report never said when the optimum lay farther from every mixture than they lie apart
        # (Dai & Zheng's SlimPajama at 2.718B, three evals: 0.53 from the nearest of mixtures 0.26 apart). A RunTable
        # or frame is read by domain name, as optimize_mixture read it (and named the nearest run from the table).
        W_runs = runs if isinstance(runs, np.ndarray) else weights_in_order(runs, result.domains)
        opt.runs_spacing_l1 = run_spacing_l1(W_runs)
        if opt.nearest_run is not None and runs is result.mixtures:
            # A run of that mixture, which a reader can look up (a sweep's design name), not only its row.
            opt.nearest_run_name = result.mixture_runs[opt.nearest_run]
            # Its index among the pipeline's mixtures is no row of a table: the text read "row 5" for a run whose
            # rows start at 144. The name is what a reader looks up (a run spans checkpoints), and the same from a
            # saved pipeline, which has no table ('mixlaw optimize --pipeline' gives this optimum too).
            opt.nearest_run = None
    opt.improvement_interval = improvement_interval(result, opt, objective)
    # A pipeline fitted over tokens (a table with no step column) has no target_steps, only target_tokens; its
    # figures are read on the token axis (pipeline_steps_to_match takes either).
    target_time = result.target_steps if result.time_axis == "step" else result.target_tokens
    if (steps_to_match and result.law_at_time is not None and target_time is not None and not result.sizes_only
            and not _one_time(result)):
        default = np.array([opt.natural_weights[d] for d in result.domains])
        opt.steps = pipeline_steps_to_match(result, opt.weight_array(), default, objective=objective, span=span)
    elif steps_to_match:
        # The figures read both mixtures' loss curves over steps (or tokens) at N*; without them the section was
        # left out without a word ('pipeline --sizes-only --optimize', whose help promises the figures).
        unit, over = ("step", "steps") if result.time_axis == "step" else ("token count", "tokens")
        opt.steps_missing = (f"the pipeline was fitted at one {unit} (sizes only): no loss curve over {over} to read "
                             "them from" if result.sizes_only else
                             f"{result.law} takes N only and predicts its runs' final checkpoints: no loss curve "
                             f"over {over} to read them from" if _one_time(result) else
                             f"this pipeline result does not predict at other {unit}s")
    return opt


def _one_time(result: PipelineResult) -> bool:
    """Whether the result's law reads one step or token count only: the direct route's dz-eq1, which takes N alone
    and predicts its runs' final checkpoints (its steps-to-match curves raised 'has no token input here', so
    ``mixlaw pipeline --route direct --law dz-eq1 --optimize`` stopped after the optimum was found)."""
    return isinstance(result.scales, _RegisteredScales) and not result.scales.with_tokens


def optimum_interval_line(result: PipelineResult, opt: OptimumResult, interval: tuple[np.ndarray, np.ndarray]) -> str:
    """The optimum's predicted losses at the target with their prediction interval, one line: what ``mixlaw pipeline
    --optimize`` and ``mixlaw optimize --pipeline`` print and the report page shows under the optimum (the page had
    its own copy without the level, its brackets unexplained). ``interval`` is ``result.interval`` of the optimum."""
    pred = result.predict(opt.weight_array())[0]
    return (f"optimum's predicted losses at the target, {result.intervals.level:.0%} prediction interval: "
            + "; ".join(f"{t} {pred[k]:.4f} [{interval[0][0, k]:.4f}, {interval[1][0, k]:.4f}]"
                        for k, t in enumerate(result.targets)))


def improvement_interval(result: PipelineResult, opt: OptimumResult, objective: Objective) -> dict[str, Any] | None:
    r"""The optimum's improvement over the natural mixture, :math:`\Delta = f(w_{nat}) - f(w_{opt})` of the objective
    f, with an interval from the pipeline's jackknife over mixtures (:mod:`.intervals`): each refit without one
    mixture gives :math:`\Delta_{(g)}` at the same two mixtures, the spread is
    :math:`\sigma_\Delta^2 = \frac{n-1}{G}\sum_g (\Delta_{(g)} - \bar\Delta_{(\cdot)})^2` (as
    :meth:`~.intervals.PredictionIntervals.boot_spread` for a prediction), and the interval is
    :math:`\Delta \pm z_\ell \sigma_\Delta` at the intervals' level. It is the fitted mixing law's spread, not
    the extrapolation's: a bias shared by both mixtures cancels in a difference, one that differs between them
    does not and is not in it. None without jackknife refits (fewer than 2). Measured on null worlds (no mixture
    effect, 0.5 % checkpoint noise, 10 mixtures x 4 sizes x 5 steps; ``tests/test_pipeline_optimum_improvement.py``'s
    world, seeds 0-11, 8 refits): the interval reached 0 in 11 of 12, as an 80 % interval should in about 90 %.
    On Dai & Zheng's SlimPajama runs (target 2.718B, mean of 8 evals): 0.0038 with a spread of 0.0041."""
    iv = result.intervals
    if iv is None or len(iv.boot_laws) < 2:
        return None
    # The law's own targets, as optimize_mixture reads the objective (one column for a law fitted on the total).
    name, s = _objective_weights(objective, list(result.mixing_law.targets_), result.mixing_law)
    scalar = _make_scalar(name, s, objective)
    W = np.vstack([opt.weight_array(), [opt.natural_weights[d] for d in result.domains]])
    deltas = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixlawWarning)
        for law, kw in iv.boot_laws:
            P = np.asarray(law.predict(W, **kw), dtype=np.float64).reshape(2, -1)
            deltas.append(scalar(P[1]) - scalar(P[0]))
    d = np.asarray(deltas)
    if not np.all(np.isfinite(d)):
        return None
    G, n = d.size, iv.n_mixtures
    sd = float(np.sqrt((n - 1) / G * np.sum((d - d.mean()) ** 2)))
    half = iv.z * sd
    return {"level": iv.level, "lower": opt.improvement - half, "upper": opt.improvement + half,
            "source": f"jackknife over the mixtures, {G} refits: the mixing law's spread, not the extrapolation's"}


def _crossing(logS: np.ndarray, f: np.ndarray, level: float) -> float:
    """First log-step where the curve ``f`` (on the grid ``logS``) comes down to ``level``; nan if it never does."""
    g = f - level
    if g[0] <= 0:
        return float("nan") if g[0] < 0 else float(logS[0])
    hit = np.flatnonzero(g <= 0)
    if hit.size == 0:
        return float("nan")
    i = hit[0]
    return float(logS[i - 1] + (logS[i] - logS[i - 1]) * g[i - 1] / (g[i - 1] - g[i]))


def _one_mixture(weights: Any, domains: list[str], name: str) -> np.ndarray:
    """``weights`` as one row in ``domains``' order (:func:`~mixlaw.laws.base.weights_in_order`: an array in that
    order, a mapping, a Series or one-row frame by name); InputError naming ``name`` for more than one mixture."""
    W = np.atleast_2d(weights_in_order(weights, domains))
    if W.shape[0] != 1:
        raise InputError(f"{name}: one mixture expected; got {W.shape[0]} rows")
    return W[0]


def pipeline_steps_to_match(result: PipelineResult, optimum: Any, default: Any, *, objective: Objective = "mean",
                            span: float = 8.0, n_grid: int = 13) -> StepsToMatch:
    r"""Ye's steps-to-match figures from the pipeline's own curves at the target size.

    The objective curves :math:`L_{opt}(S)` and :math:`L_{def}(S)` of both mixtures at :math:`N^*` are
    predicted on a log-spaced grid :math:`S^*/\text{span} \ldots S^* \cdot \text{span}`
    (:meth:`PipelineResult.predict` with ``at``: the fitted stages redone at each step count) and
    interpolated linearly in :math:`\log S`. Then

    .. math::

        L_{def}(S_{eq}) = L_{opt}(S^*), \qquad L_{opt}(S_{match}) = L_{def}(S^*),

    reported as the extra training :math:`S_{eq}/S^* - 1` the optimum is worth (Ye: +48 %) and the fraction
    :math:`S_{match}/S^*` of the steps at which the optimum reaches the default's final loss (Ye: 73 %).
    Unlike :func:`mixlaw.optimize.steps_to_match`, nothing is assumed about the optimum's curve: both come from
    the same fitted stages. A crossing outside the grid is ``nan`` (said in ``assumption``).

    Parameters
    ----------
    result : PipelineResult
        Fitted with a target step (or token) count.
    optimum, default : sequence of float, mapping, Series or one-row DataFrame
        The two mixtures: an array in ``result.domains`` order, or read by domain name (``opt.weights``), as
        :meth:`PipelineResult.predict` reads them.
    objective : see :func:`mixlaw.optimize.optimize_mixture`
    span : float, default=8.0
    n_grid : int, default=13

    Returns
    -------
    StepsToMatch

    References
    ----------
    Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952, §4.
    """
    T = result.target_steps if result.time_axis == "step" else result.target_tokens
    if result.sizes_only:
        raise InputError("steps-to-match needs the loss curves at the target size: this pipeline was fitted at one "
                         f"{result.time_axis} value (sizes only) and has no step law")
    if T is None or result.law_at_time is None or _one_time(result):
        raise InputError("steps-to-match needs a pipeline result that predicts at other step counts "
                         "(nested route, or the direct route's joint law or dz-eq3; dz-eq1 takes N only)")
    if not (span > 1 and n_grid >= 3):
        raise InputError(f"span must be > 1 and n_grid >= 3; got {span!r}, {n_grid!r}")
    name, s = _objective_weights(objective, list(result.targets), result.mixing_law)
    scalar = _make_scalar(name, s, objective)
    # Read by domain name, as predict reads them: a Series (or one-row frame) in another column order was read by
    # position, its shares permuted without a word; opt.weights, a mapping, was a bare TypeError.
    W = np.vstack([_one_mixture(optimum, result.domains, "optimum"), _one_mixture(default, result.domains, "default")])
    grid = float(T) * np.exp(np.linspace(-np.log(span), np.log(span), n_grid))
    with warnings.catch_warnings():
        # The grid's own points below the smallest fitted step are no scale the user asked for: predict named each
        # 'steps=366.125 (--steps) is below the smallest fitted step' on 'pipeline --optimize' with no --steps
        # (hunt34b). A crossing read there is said in the notes below instead.
        warnings.filterwarnings("ignore", r".* is below the smallest fitted ", ExtrapolationWarning)
        curves = np.array([[scalar(row) for row in (result.predict(W) if np.isclose(S, T)
                                                    else result.predict(W, at=S))]
                           for S in grid])  # (n_grid, 2): optimum, default
    L_opt, L_def = (scalar(row) for row in result.predict(W))
    logS = np.log(grid)
    s_eq = _crossing(logS, curves[:, 1], L_opt)
    s_match = _crossing(logS, curves[:, 0], L_def)
    unit, sym = ("step", "S") if result.time_axis == "step" else ("token", "D")
    notes = [f"both curves from the pipeline at N* on {n_grid} {unit} counts in [{sym}*/{span:g}, {span:g} {sym}*]"]
    for s, who in ((s_match, "the optimum reaches the default's final loss"),
                   (s_eq, "the default reaches the optimum's loss")):
        below = result.below_fitted(None, float(np.exp(s))) if np.isfinite(s) else []
        if below:
            _, value, low, what, _ = below[0]
            notes.append(f"{who} at {sym} = {value:.4g}, below the smallest fitted {what} {low:g}: read off the step "
                         "law extrapolated downward")
    if np.isnan(s_eq):
        notes.append(f"the default does not reach the optimum's loss within {span:g} {sym}*")
    if np.isnan(s_match):
        notes.append(f"the optimum reaches the default's final loss before {sym}*/{span:g} or never")
    S_eq = float(np.exp(s_eq)) if np.isfinite(s_eq) else float("nan")
    frac = float(np.exp(s_match)) / float(T) if np.isfinite(s_match) else float("nan")
    return StepsToMatch(target_steps=float(T), default_loss=float(L_def), optimum_loss=float(L_opt),
                        steps_fraction=frac, equivalent_steps=S_eq, extra_training=S_eq / float(T) - 1.0,
                        assumption="; ".join(notes), unit=unit)
