"""Searching the feasible set: :func:`optimize_mixture`, multistart SLSQP on the law's objective (global
for the convex Ye law, best of seeded starts otherwise; the ``max`` objective in epigraph form), or RegMix's
simulate-and-average-top-k (:mod:`.simulate`) for laws without a gradient; and the trust region (the fitted
range of each weight, or an L1 radius around the runs, searched by the branch and bound of :mod:`.balls`) that keeps
the optimum where the law was fitted. One SLSQP run: :mod:`.slsqp`.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Mapping, Sequence
from numbers import Real
from typing import Any

import numpy as np

from .._validation import check_flag, check_is_fitted, check_random_state, renamed
from ..data import RunTable
from ..data.hints import known_names
from ..errors import ExtrapolationWarning, FitError, InputError, user_stacklevel
from ..evals import warn_minimised_metrics
from ..fit import blas_on_one_thread
from ..laws._inputs import weights_in_order
from ..laws.base import MixingLaw
from ..laws.scale_inputs import fitted_scale_cut, scale_used
from .balls import _radius_solve
from .constraints import (
    ACTIVE_TOL,
    _active,
    _constraints,
    _natural,
    _pin_untrained,
    _Problem,
    project_box_simplex,
)
from .objective import (
    Objective,
    _LawEval,
    _make_scalar,
    _objective_weights,
    concave_law,
    convex_law,
    loss_decimals,
    objective_label,
    objective_text,
)
from .result import OptimumResult
from .runs import check_not_constant
from .simulate import (
    DEFAULT_SAMPLES,
    DEFAULT_STRENGTH,
    DEFAULT_TOP_K,
    nearest_run_l1,
    simulate_search,
    within_radius,
)
from .slsqp import _Free, _solver

#: Starts for laws whose objective is not known to be convex.
DEFAULT_N_STARTS = 16
#: Search strategies: "auto" is "gradient" for differentiable laws, else "simulate".
SEARCHES = ("auto", "gradient", "simulate")
#: Shares of the optimum below this (0.01 %) are set to 0 when that costs the objective less than
#: :data:`TINY_SHARE_COST` (relative): :func:`_drop_tiny_shares`.
TINY_SHARE = 1e-4
#: The largest relative rise of the objective that dropping the tiny shares may cost.
TINY_SHARE_COST = 1e-6


def _check_scale_given(law: MixingLaw, model_params: Any, tokens: Any) -> None:
    """InputError (one line) when ``law`` takes a model size or token count it was fitted over a range of and none
    is given: its optimum depends on that scale. Found running `mixlaw optimize` on a sweep's exported run table
    (3 sizes x 5 checkpoints): the default auto law (and bimix, dz-*) stopped with "model_params is required: the
    law was fitted over a range of model_params", which named neither the cause nor a way out."""
    check_scale_given(law, model_params, tokens, getattr(law, "_n_range", None), getattr(law, "_d_range", None),
                      cut=fitted_scale_cut(getattr(law, "_fit_scale", None)))


def check_scale_given(law: MixingLaw, model_params: Any, tokens: Any, n_range: Any, d_range: Any, *,
                      fitted: bool = True, cut: str | None) -> None:
    """:func:`_check_scale_given` with the ranges given: the runs' (min, max) model size and token count (or None).
    ``fitted=False``: before the fit, so that ``optimize_runs`` stops at once (auto's cross-validation took 5
    minutes on Dai & Zheng's six-size sweep before it stopped here, as it always does there: auto takes the scale
    whichever member it chooses). ``cut``: the options that keep the rows of one scale, of those the table has
    (:func:`~mixlaw.laws.scale_inputs.scale_cut`), offered when not None (on runs of one row each with no params
    column it offered ``--at-params largest --final-step``, which cut nothing)."""
    verb = "was fitted" if fitted else "would be fitted"
    keep = f"keep the rows of one scale (e.g. `{cut}`), " if cut else ""
    for what, uses, given, rng, key in (("model sizes", law.uses_model_params, model_params, n_range, "params"),
                                        ("token counts", law.uses_tokens, tokens, d_range, "tokens")):
        if uses and given is None and rng is not None and rng[0] != rng[1]:
            # Its own scale first: the runs of AutoScale's design (one row per run, tokens set by the mixture) have
            # no params column and no checkpoints, and were told only of --at-params / --final-step.
            raise InputError(f"{law._label} {verb} across the runs' {what} ({rng[0]:.4g} to {rng[1]:.4g}) and "
                             f"takes the scale as an input, so its optimum depends on it: give the scale to optimise "
                             f"at (mixlaw optimize --{key}; Python: {key}=), {keep}or optimise at a target scale with "
                             "`mixlaw pipeline --optimize` (or a saved one's: `mixlaw optimize --pipeline p.json`)")



def check_optimize_keywords(kw: Mapping[str, Any], caller: str, taken: Sequence[str] = ()) -> None:
    """Refuse, naming ``caller``, a keyword of ``kw`` that :func:`optimize_mixture` does not take or that ``caller``
    sets itself (``taken``). The callers that pass ``**constraints`` on to it (``optimize_runs``,
    ``optimize_saved_law``, ``optimize_pipeline``, ``bootstrap_law(optimize=)``) check first: a typo
    (``trust_radious=0.3``) reached ``optimize_mixture`` after the fit, perhaps minutes of cross-validation, as a
    raw ``TypeError: optimize_mixture() got an unexpected keyword argument``, naming a function the user never
    called."""
    own = [str(k) for k in kw if k in taken]
    if own:
        raise InputError(f"{caller} sets {', '.join(map(repr, own))} itself; drop {'it' if len(own) == 1 else 'them'}")
    # model_params: the older name of params (a silent alias), not offered.
    # n_jobs: set by each caller itself (optimize_runs from its own n_jobs; a bootstrap worker's search runs in it).
    known = [k for k in inspect.signature(optimize_mixture).parameters
             if k not in ("law", "model_params", "n_jobs", *taken)]
    bad = [str(k) for k in kw if k not in known and k != "model_params"]
    if bad:
        raise InputError(f"{caller} takes no keyword {', '.join(map(repr, bad))}; the keywords it passes to "
                         f"optimize_mixture are {known_names(bad, known, limit=len(known))}")


@blas_on_one_thread
def optimize_mixture(law: MixingLaw, *, objective: Objective = "mean",
                     bounds: Mapping[str, Sequence[float]] | None = None, fixed: Mapping[str, float] | None = None,
                     tokens_available: Mapping[str, float] | Sequence[float] | None = None,
                     target_tokens: float | None = None,
                     max_epochs: float | None = None, n_starts: int | None = None,
                     natural: Mapping[str, float] | Sequence[float] | None = None,
                     params: float | None = None, tokens: float | None = None,
                     within_fitted_range: bool = False, search: str = "auto",
                     n_samples: int = DEFAULT_SAMPLES, top_k: int = DEFAULT_TOP_K,
                     strength: tuple[float, float] = DEFAULT_STRENGTH, runs: np.ndarray | None = None,
                     trust_radius: float | None = None, maximize: bool = False,
                     random_state: int | np.random.Generator | None = 0,
                     model_params: float | None = None, n_jobs: int | str | None = None) -> OptimumResult:
    """Find the mixture that minimises (or, with ``maximize``, maximises) a fitted law's predicted objective under
    constraints.

    Parameters
    ----------
    law : MixingLaw
        A fitted law; its ``targets_`` are the eval sets the objective combines.
    objective : {"mean", "total", "max"}, str, mapping or callable, default="mean"
        ``"mean"``: (1/K) sum_i L_i; ``"total"``: sum_i L_i (ye-total's: sum_i s_i L_i, its ``composition_``
        s, as its ``predict_total``); ``"max"``: max_i L_i (solved in epigraph form:
        min z s.t. L_i(r) <= z); an eval name: that eval's loss; ``{eval: s_i}``: sum_i s_i L_i with s_i >= 0
        (Ye's total loss of a validation set with known composition s); a callable ``f(losses) -> float``
        taking the per-eval losses, ndarray of shape (K,), in ``law.targets_`` order.
    bounds : dict of str to (float, float), optional
        ``{domain: (lo, hi)}``, 0 <= lo <= hi <= 1; other domains get (0, 1).
    fixed : dict of str to float, optional
        ``{domain: weight}`` held constant.
    tokens_available : dict of str to float, or sequence of float, optional
        Tokens available per domain (a sequence: in the law's domain order, ``law.domains_``), as the designs take
        them (:func:`mixlaw.design.max_shares`). Gives the natural mixture (token shares) and, with ``target_tokens``,
        the availability caps ``r_j <= max_epochs * tokens_j / target_tokens``.
    target_tokens : float, optional
        Training tokens of the target run.
    max_epochs : float, optional
        Repetitions allowed per domain; default 4 (Muennighoff et al. 2023) when ``target_tokens`` is given.
    n_starts : int, optional
        Optimiser starts. Default: 1 when the objective is convex (see Notes), else 16. Starts are the
        natural mixture, then seeded Dirichlet(1) draws, each projected onto the feasible set.
    natural : mapping or sequence of float, optional
        The default mixture to report beside the optimum (a pandas Series labelled by domain, ``w:<domain>`` or
        ``<domain>``, is read by its labels, as a mapping). Default: token shares of ``tokens_available`` if
        given, else uniform (the CLI passes the mean mixture of the fitting runs).
    params, tokens : float, optional
        Model size N and training tokens D to predict at, for laws that take them (``--params`` / the run
        table's ``params`` column elsewhere). The result's ``scale`` holds those that enter the prediction; one
        that does not (a law fitted without it, or a meta-law none of whose members for the evals the objective
        weighs takes it) is in ``scale_unused``, with why, and the report says the optimum is the same at every
        value of it.
    within_fitted_range : bool, default=False
        Also bound each weight by the smallest and largest share it had in the fitting runs (reported as
        ``"fitted range"`` when active), so the optimum never rests on extrapolation.
    search : {"auto", "gradient", "simulate"}, default="auto"
        ``"gradient"``: multistart SLSQP. ``"simulate"``: RegMix's recipe (:mod:`mixlaw.optimize.simulate`):
        ``n_samples`` Dirichlet mixtures around the natural mixture, projected onto the feasible set, the mean
        of the ``top_k`` best. ``"auto"``: gradient unless the law is not differentiable (``law.differentiable``
        is False, e.g. LightGBM, whose piecewise-constant predictions give SLSQP a zero gradient).
    n_samples, top_k : int, default=100000, 128
        Simulation size and the number of best samples averaged (RegMix's values).
    strength : (float, float), default=(1, 1000)
        Range of the Dirichlet concentration (log-uniform); (1, 1) is RegMix's draw.
    runs : (n, M) array, RunTable or DataFrame, optional
        Mixtures of the fitting runs (an array's columns in the law's domain order; a table's or frame's read by
        domain name): the result reports the optimum's L1
        distance to the nearest one, and ``trust_radius`` needs them.
    trust_radius : float, optional
        Keep the optimum within this L1 distance of some run. Simulation drops samples outside; gradient
        search solves from the :data:`~mixlaw.optimize.balls.N_ANCHORS` best-predicted runs with an L1-ball
        constraint each, and for a convex objective every other run's ball whose lower bound could beat the best
        found (branch and bound, :mod:`mixlaw.optimize.balls`: global).
    maximize : bool, default=False
        Maximise the objective: for eval sets whose values are higher-is-better metrics (downstream accuracy,
        exact match, pass@1, a benchmark score) fitted in place of losses. Every search minimises the negated
        objective; the result reports the objective itself, and its ``improvement`` is the optimum's gain over
        the natural mixture (> 0: better). ``"max"`` (the worst loss) is refused: its counterpart for a metric,
        the worst score, is not implemented. Without it, a name that reads as such a metric (``hellaswag_acc``,
        ``pass@1``; :func:`mixlaw.evals.reads_higher_is_better`) warns (:class:`~mixlaw.errors.HigherIsBetterWarning`).
        A flag and not negative objective weights, because (1) a law fitted on the objective itself (``auto``,
        ``--fit-total``) needs a positive column, which a weighted sum of losses minus accuracies is not; (2)
        losses and accuracies are on different scales, so one signed sum of both has no natural weights; (3) the
        report then reads in the metric's own units. To trade a loss against an accuracy, optimise one of them
        and bound the other through the mixture's constraints, or turn the accuracy into an error rate
        (``1 - acc``), a loss.
    random_state : int or Generator, default=0
        Seeds the Dirichlet starts and samples.
    model_params : float, optional
        The older name of ``params`` (a silent alias; giving both is an InputError).
    n_jobs : int or "auto", optional
        Forked worker processes for the simulate search's predictions (None or 1, the default: this process;
        ``"auto"``: the usable CPUs, at most 8); the result does not depend on it. The gradient search ignores it.

    Returns
    -------
    OptimumResult

    Raises
    ------
    InputError
        Unknown domain or eval, bounds outside [0, 1] or lo > hi, infeasible constraints (lower bounds
        summing over 1, upper bounds and availability caps summing under 1), fixed weights outside their bounds.
    NotFittedError
        When ``law`` is not fitted.

    Warns
    -----
    HigherIsBetterWarning
        When minimising eval sets whose names read as higher-is-better metrics.

    Notes
    -----
    **Why the Ye optimum is global.** For Ye's law :math:`L_i(r) = c_i + k_i \\exp(t_i^\\top r)` with
    :math:`k_i > 0` (mixlaw fits :math:`\\log k_i`, so this always holds), each :math:`L_i` is a positive
    multiple of the exponential of an affine function of r plus a constant, hence convex. A non-negative
    combination of convex functions (``mean``, ``total``, ``{eval: s_i >= 0}``) is convex, and so is the
    pointwise maximum (``max``). The feasible set (a box intersected with the hyperplane sum r = 1) is
    convex. Every KKT point of a convex problem is a global minimum, so SLSQP from a single start suffices;
    mixlaw still adds starts if that one does not converge. The same holds of ``linear`` (each :math:`L_i` affine)
    and ``loglinear`` (:math:`\\exp` of an affine function).

    **The exponent's cap.** Ye's prediction saturates each exponent above the fitting runs' largest
    (:func:`~mixlaw.laws.ye.saturate_exponent`), and :math:`\\exp` of the saturated exponent is concave from
    :data:`~mixlaw.optimize.objective.Z_CONVEX` (0.44 nats) above it. Where the feasible set lets some eval's
    exponent pass that (:meth:`_LawEval.convex_on`: usually ``within_fitted_range=False``), the law is treated as not
    known to be convex (16 starts): one start stopped at a local minimum 18 % above the global one (cap32). With a
    trust radius the branch and bound bounds such a ball by each loss at its smallest exponent there (Ye's loss
    rises with it) and by the tangents of the evals whose exponent stays in its convex part there, and solves it
    from its anchor and from the starts' distinct optima pulled into it, and the optimum is global again when no
    reachable ball passes it.

    Maximising a convex objective is not a convex problem, so ``maximize`` uses the multistart (its optimum, for
    Ye's law, lies on a vertex of the feasible set), but for ``linear``: an affine prediction is concave too, and a
    non-negative combination of them (not their ``max``) maximised is a convex problem, solved from one start
    (:func:`~.objective.concave_law`; the method line says "concave").

    **Other laws** are not convex in general (e.g. DZ's capacity competition), so the default is 16 starts
    and the best is kept. Gradients: analytic for the Ye law; otherwise finite differences through
    ``law.predict`` (central, forward at a zero weight; step 1e-6), one batched ``predict`` call per
    gradient. Callables are differentiated the same way.

    The returned weights are finally projected onto the feasible set (a change of at most the solver's
    tolerance, ~1e-10), so bounds, caps and fixed values hold exactly and the weights sum to 1 to rounding.

    References
    ----------
    Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952, §4.

    Examples
    --------
    >>> import numpy as np
    >>> from mixlaw.laws import YeExponential
    >>> rng = np.random.default_rng(0)
    >>> W = rng.dirichlet(np.ones(3), size=40)
    >>> Y = np.column_stack([2 + np.exp(W @ [0.0, -2.0, 1.0]), 2 + np.exp(W @ [0.0, 1.0, -2.0])])
    >>> law = YeExponential().fit(W, Y, domains=["web", "code", "math"], targets=["web", "code"])
    >>> opt = optimize_mixture(law, objective="mean", bounds={"web": (0.2, 1.0)})
    >>> round(sum(opt.weights.values()), 12), opt.weights["web"] >= 0.2
    (1.0, True)
    """
    model_params = renamed("params", params, "model_params", model_params)
    if not isinstance(law, MixingLaw):
        # optimize_mixture("linear") said "This str instance is not fitted yet. Call 'fit' ...", as if a str could be.
        hint = {"str": ": a key is fitted by optimize_runs(table, law=key)",
                "PipelineResult": ": optimise a pipeline with optimize_pipeline(result)"}.get(type(law).__name__, "")
        raise InputError(f"law: optimize_mixture optimises a fitted law (a MixingLaw, as get_law(...).fit(...) "
                         f"returns); got {type(law).__name__}{hint}")
    check_is_fitted(law)
    check_not_constant(law)  # a constant model (also one loaded from a file) would return the first start
    _check_scale_given(law, model_params, tokens)
    domains = list(law.domains_)
    targets = list(law.targets_)
    name, s = _objective_weights(objective, targets, law)
    scalar = _make_scalar(name, s, objective)  # the objective itself: what the result reports
    check_maximize(name, maximize)
    if not maximize:
        # stacklevel 3: optimize_mixture runs inside blas_on_one_thread's wrapper, and the caller's line is one
        # frame further out (at 2 both warnings named fit.py's 'return fn(*args, **kwargs)')
        warn_minimised_metrics(targets if s is None else [t for t, v in zip(targets, s, strict=True) if v > 0],
                               stacklevel=3)
    # The searches only minimise: with maximize they see the negated objective (s -> -s, f -> -f). A weighted
    # objective is also divided by the power of 2 nearest its weights' sum, which leaves the argmin where it is and
    # 'mean', one eval set and weights summing to 1 bit for bit: SLSQP's stopping rule (ftol) is absolute, and on
    # weights=a:40000,b:60000 scaled by 25 (1e6 each) it stopped at its start, the natural mixture, as converged.
    # Objective values are multiplied back (exactly) before they are compared or reported.
    unit = 1.0 if s is None else float(2.0 ** np.round(np.log2(np.abs(s).sum())))
    sign = -1.0 if maximize else 1.0
    s_min = None if s is None else sign * s / unit

    def scalar_min(L: np.ndarray) -> float:
        return sign * scalar(L) / unit

    prob = _constraints(domains, bounds, fixed, tokens_available, target_tokens, max_epochs,
                        law._w_range if within_fitted_range else None)
    _pin_untrained(prob, law._w_range[1], bounds, fixed)
    ev = _LawEval(law, model_params, tokens)
    # The problem solved is convex when the objective minimised is: a non-negative combination (or max) of convex
    # predictions; maximised (its negation minimised), a non-negative combination of concave ones, never a max
    # (the max of affine losses is convex, and its maximum lies at a vertex).
    combination = name in ("mean", "total") or name.startswith(("loss of", "weights="))
    convex = (concave_law(law) and combination) if maximize else (convex_law(law) and (combination or name == "max"))
    shape = "concave" if maximize else "convex"
    # Ye's exponent saturates above the fitting runs' (saturate_exponent), concave there: neither one start nor the
    # branch and bound's linearisations hold where the feasible set reaches it.
    convex_form = convex
    capped = convex and not ev.convex_on(prob.lo, prob.hi)
    convex = convex and not capped
    rng = check_random_state(random_state)
    if n_starts is not None and (not isinstance(n_starts, (int, np.integer)) or n_starts < 1):
        raise InputError(f"n_starts must be a positive int; got {n_starts!r}")
    n0 = int(n_starts) if n_starts is not None else (1 if convex else DEFAULT_N_STARTS)

    nat, nat_src = _natural(natural, tokens_available, domains)
    F = np.flatnonzero(~prob.fixed)
    free = _Free(prob.fixed_values, F, prob.lo[F], prob.hi[F], 1.0 - prob.fixed_values[prob.fixed].sum(),
                 _limits_said(prob))
    if search not in SEARCHES:
        raise InputError(f"search must be one of {SEARCHES}; got {search!r}")
    if search == "auto":
        search = "gradient" if getattr(law, "differentiable", True) else "simulate"
    W_runs = None if runs is None else _check_runs(runs, domains)
    if trust_radius is not None:
        if W_runs is None:
            # 'optimize --law law.json --trust-radius 0.1' was told "(runs=)", a keyword it cannot give.
            raise InputError("trust_radius (--trust-radius) needs the fitting runs' mixtures (runs=; on the command "
                             "line with a saved law, --runs or --dataset)")
        # A string ('0.3') stopped on numpy's "ufunc 'isfinite' not supported for the input types".
        if isinstance(trust_radius, str | bool) or not (isinstance(trust_radius, Real)
                                                        and np.isfinite(trust_radius) and 0 < trust_radius <= 2):
            raise InputError(f"trust_radius (--trust-radius) is an L1 distance in (0, 2]; got {trust_radius!r}")
    radius = None if trust_radius is None else (W_runs, float(trust_radius))
    sim_note = union = ""
    if F.size == 0:
        xs, objs, n_conv = [np.zeros(0)], [scalar_min(ev.predict(free.full(np.zeros(0))[None, :])[0])], 1
    elif search == "simulate":
        info: dict[str, Any] = {}
        xs, objs, n_conv, ftop, n_kept = _simulate(ev, free, nat, rng, scalar_min, s_min, name, radius,
                                                   n_samples=n_samples, top_k=top_k, strength=strength,
                                                   n_jobs=n_jobs, info=info)
        ftop = sign * unit * ftop
        dec = loss_decimals(ftop)
        # The trust radius keeps only the draws near a run: '487 Dirichlet mixtures' read as if --samples 50000 had
        # been ignored (Marin's Delphi swarm, --trust-radius 0.2).
        kept, inside = ((f"{n_kept}", "") if n_kept == n_samples else
                        (f"{n_kept} of {n_samples}", " within the trust radius"))
        sim_note = (f"simulate (RegMix): {kept} Dirichlet mixtures around the natural one (strength "
                    f"{strength[0]:g}-{strength[1]:g}){inside}, mean of the top {len(ftop)} (their predicted objective "
                    f"{objective_text(float(ftop.min()), dec)}-{objective_text(float(ftop.max()), dec)})")
        if info.get("toward_best"):
            sim_note += (f", moved {_moved_text(info['toward_best'])} of the way to the best of them to stay within L1 "
                         f"{float(trust_radius):g} of a run (their mean lies farther)")
    else:
        balls: list[int] = []
        xs, objs, n_conv = _gradient(ev, free, nat, rng, scalar_min, s_min, name, radius, n0=n0,
                                     retry=convex and n_starts is None, balls=balls, prune=convex_form)
        if convex_form and balls and balls[3]:
            convex, capped = True, False  # every ball's problem convex, though the whole feasible set's is not
            # Each ball is convex, their union is not: solving only the best-predicted runs' balls missed a lower
            # optimum in another's (linear law, 5 runs, radius 0.4: 1.050 there, 1.021 in the run predicted worst;
            # review32d). Branch and bound solves every ball whose lower bound could beat the best found.
            union = (f" (branch and bound: solved {balls[0]} of the {balls[1]} runs' L1 balls in reach; the others' "
                     "lower bounds, by convexity, cannot beat it)")
            if balls[2]:
                convex = False
                union = (f" (branch and bound: solved {balls[0]} of the {balls[1]} runs' L1 balls in reach, but "
                         f"{balls[2]} of them did not converge and their lower bounds could beat it: not proven "
                         "global)")
        elif convex_form and balls:
            # Some ball passes Ye's cap: the counts as above (the line said only 'best of the starts'), those
            # balls' starts, and the bounds that ruled out the others (no convexity there).
            union = (f" (branch and bound: solved {balls[0]} of the {balls[1]} runs' L1 balls in reach, {balls[4]} of "
                     "them past the cap" + (", each from its anchor and the starts' optima" if balls[4] else "")
                     + (f", {balls[2]} not converged and not ruled out" if balls[2] else "")
                     + ("; the others' lower bounds cannot beat the best" if balls[0] < balls[1] else "") + ")")
    objs = [float(o) * unit for o in objs]
    best = int(np.nanargmin(np.where(np.isfinite(objs), objs, np.inf)))
    r, dropped = _drop_tiny_shares(free.full(xs[best]), prob.lo, prob.hi, F,
                                   lambda v: scalar_min(ev.predict(v[None, :])[0]), radius)
    L = ev.predict(r[None, :])[0]
    f_best = scalar(L)
    if not np.isfinite(f_best):
        # Every start NaN/inf (the solver reads them as 1e30): start 0 came back as the optimum, objective nan, without
        # a word (objective=lambda L: np.nan * L.mean() returned the uniform mixture; hunt25).
        if name == "callable":
            raise InputError(f"the objective callable returned {f_best!r} (not a finite number) at the best of the "
                             f"{len(objs)} starts (no start gave a finite one): it must map the per-eval losses to one "
                             "finite number")
        raise FitError(f"the predicted objective is not finite ({f_best!r}) at any of the {len(objs)} starts: the "
                       "law predicts no finite loss on this simplex (check its report, or bound the domains)")
    lo_w, hi_w = law._w_range
    if np.any(r < lo_w - 1e-9) or np.any(r > hi_w + 1e-9):
        j = int(np.flatnonzero((r < lo_w - 1e-9) | (r > hi_w + 1e-9))[0])
        warnings.warn(f"optimal mixture leaves the fitted range for domain {domains[j]!r} "
                      f"({r[j]:.4g} not in [{lo_w[j]:.3g}, {hi_w[j]:.3g}]): the prediction extrapolates",
                      ExtrapolationWarning, stacklevel=user_stacklevel(3))  # 3: see warn_minimised_metrics above
    active = _active(prob, r)
    Ln = ev.predict(nat[None, :])[0]
    nat_ok = bool(np.all(nat >= prob.lo - ACTIVE_TOL) and np.all(nat <= prob.hi + ACTIVE_TOL))
    solver = "SLSQP (epigraph form)" if name == "max" else "SLSQP"
    grad = "analytic gradient" if ev.analytic and name != "callable" else "finite-difference gradient"
    why = (f"{shape}: the optimum is global" if convex else f"{shape} in each ball" if "not proven global" in union
           else f"not known to be {shape}: best of the starts")
    if capped:
        why += (f" ({law.key}'s exponent of an eval saturates above the fitting runs' within the feasible set, where "
                "its loss is concave)")
    if trust_radius is not None and search == "gradient":
        why += f"; within L1 {float(trust_radius):g} of a run" + union
    method = sim_note or f"{solver}, {grad}; {len(xs)} start(s), {n_conv} converged; {why}"
    if not sim_note and F.size and _piecewise_constant(law):
        # search="gradient" asked for a tree law: 'optimize --law lightgbm --search gradient' on Olmix's DCLM swarm
        # said '16 start(s), 16 converged' of an optimum (1.481) worse than the one its sampling finds (1.4779):
        # finite differences of a piecewise-constant prediction are 0, so SLSQP stops where it starts.
        method += (f"; {law.key} is piecewise constant (trees): its finite-difference gradient is 0, so SLSQP does not "
                   "move from its starts; search='simulate' (--search simulate, its default) samples mixtures")
    if dropped:
        method += (f"; {dropped} share(s) under {TINY_SHARE:.2%} set to 0 (the solver's leftovers: a trainer "
                   "config would need a path for each)")
    if maximize:
        method = "maximised (the search minimises the negated objective); " + method
    near = None if W_runs is None else nearest_run_l1(r, W_runs)
    # The scale it was optimised at, as optimize_runs / optimize_saved_law said it (called here directly, the result
    # had none); a value the law's prediction does not take is said apart, not as if honoured.
    weighed = None if s is None else [t for t, w in zip(targets, s, strict=True) if w != 0]
    used, unused = scale_used(law, model_params, tokens, weighed)
    region = "fitted range" if within_fitted_range else "none (extrapolation allowed)"
    if trust_radius is not None:
        region = (region if within_fitted_range else "") + (" and " if within_fitted_range else "") + \
            f"L1 radius {float(trust_radius):g} of the runs"
    return OptimumResult(
        weights=dict(zip(domains, map(float, r), strict=True)), objective=f_best,
        losses=dict(zip(targets, map(float, L), strict=True)), objective_name=objective_label(name, maximize),
        active=active,
        lower=dict(zip(domains, map(float, prob.lo), strict=True)),
        upper=dict(zip(domains, map(float, prob.hi), strict=True)),
        natural_weights=dict(zip(domains, map(float, nat), strict=True)), natural_objective=scalar(Ln),
        natural_losses=dict(zip(targets, map(float, Ln), strict=True)), natural_source=nat_src,
        natural_feasible=nat_ok, convex=bool(convex and not sim_note), method=method, n_starts=len(xs),
        n_converged=n_conv,
        start_objectives=[sign * float(o) for o in objs], law=law.key, search=search, trust_region=region,
        nearest_run_l1=None if near is None else near[0], nearest_run=None if near is None else near[1],
        nearest_run_name=None if near is None else _run_name(runs, near[1]),
        maximize=bool(maximize), scale=used or None,
        scale_unused={k: {"value": float(v), "why": unused[k]} for k, v in (("params", model_params),
                                                                           ("tokens", tokens)) if k in unused} or None)


def _moved_text(share: float) -> str:
    """How far simulate's mean was moved toward the best sample, as the method line says it: a move of 0.3 % of the
    way read "moved 0%", and one of 99.6 % (the best sample near the radius's edge) "moved 100%", the best sample
    itself, which it is only at 1."""
    text = f"{share:.0%}"
    return "under 1%" if share < 0.01 else "over 99%" if share < 1 and text == "100%" else text


def _piecewise_constant(law: Any) -> bool:
    """Whether ``law`` predicts a piecewise-constant surface (trees: lightgbm, or auto choosing only such laws),
    on which SLSQP's finite-difference gradient is 0. Not every law without a gradient (``differentiable``): a
    gp-residual on a lightgbm base adds a smooth GP correction, and SLSQP moved from its starts there (natural 2.0109
    -> 2.0010, every start to the same optimum) while the note said it does not move (review31b)."""
    if getattr(law, "differentiable", True):
        return False
    members = getattr(law, "members_", None)
    if members is not None:
        return all(_piecewise_constant(m[3]) for m in members)
    return getattr(law, "base_", None) is None


def _simulate(ev: _LawEval, free: _Free, nat: np.ndarray, rng: np.random.Generator,
              scalar_min: Callable[[np.ndarray], float], s_min: np.ndarray | None, name: str,
              radius: tuple[np.ndarray, float] | None, *, n_samples: int, top_k: int,
              strength: tuple[float, float], n_jobs: int | str | None = None,
              info: dict[str, Any] | None = None) -> tuple[list[np.ndarray], list[float], int, np.ndarray, int]:
    """RegMix's search (:func:`.simulate.simulate_search`) on the minimised objective: ([x], [objective], 1, the
    top-k's objectives, how many draws were kept); ``info`` as for :func:`.simulate.simulate_search`."""
    def rows_objective(X: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            Lr = ev.predict(free.full_rows(X))
        if s_min is not None:
            return Lr @ s_min
        if name == "max":
            return Lr.max(axis=1)
        return np.array([scalar_min(v) for v in Lr])

    keep = None
    if radius is not None:
        inside = within_radius(radius[0], radius[1])

        def keep(X: np.ndarray) -> np.ndarray:
            return inside(free.full_rows(X))

    x, ftop, n_kept = simulate_search(rows_objective, nat[free.F], free.lo, free.hi, free.rem, rng,
                                      n_samples=n_samples, top_k=top_k, strength=strength, keep=keep,
                                      n_jobs=n_jobs, info=info)
    x = project_box_simplex(x, free.lo, free.hi, free.rem)  # the mean is feasible; this only removes rounding
    return [x], [scalar_min(ev.predict(free.full(x)[None, :])[0])], 1, ftop, n_kept


def _gradient(ev: _LawEval, free: _Free, nat: np.ndarray, rng: np.random.Generator,
              scalar_min: Callable[[np.ndarray], float], s_min: np.ndarray | None, name: str,
              radius: tuple[np.ndarray, float] | None, *, n0: int,
              retry: bool, balls: list[int] | None = None,
              prune: bool = False) -> tuple[list[np.ndarray], list[float], int]:
    """Multistart SLSQP from ``n0`` starts: (the starts' optima, their objectives, how many converged).
    ``retry``: a convex problem none of whose starts converged gets :data:`DEFAULT_N_STARTS` in all. With a
    trust ``radius`` whose best optimum leaves it, the search is redone within L1 balls around the runs, and
    ``balls`` (given) receives how many balls were solved and how many distinct runs' balls reach the feasible set;
    ``prune`` (a convex objective) solves every ball whose lower bound could beat the best
    (:func:`.balls._radius_solve`)."""
    solve = _solver(ev, scalar_min, name, s_min, free)
    xs, objs, n_conv = [], [], 0
    for x0 in free.starts(n0, 0, nat, rng):
        x, f, ok = solve(x0)
        xs.append(x)
        objs.append(f)
        n_conv += int(ok)
    if retry and n_conv == 0:
        # A convex problem needs one converged start; try more before giving up on global optimality.
        for x0 in free.starts(DEFAULT_N_STARTS - 1, 1, nat, rng):
            x, f, ok = solve(x0)
            xs.append(x)
            objs.append(f)
            n_conv += int(ok)
    if radius is not None:
        b0 = int(np.nanargmin(np.where(np.isfinite(objs), objs, np.inf)))
        if nearest_run_l1(free.full(xs[b0]), radius[0])[0] > radius[1] + 1e-9:
            xs, objs, n_conv = _radius_solve(ev, scalar_min, name, s_min, free, radius[0], radius[1], balls,
                                             prune=prune, optima=_distinct(xs, objs))
    return xs, objs, n_conv


def _distinct(xs: list[np.ndarray], objs: list[float], tol: float = 1e-4) -> list[np.ndarray]:
    """The starts' optima with a finite objective, best first, each at least L1 ``tol`` from every one before it
    (the balls past Ye's cap start from these too: :func:`.balls._radius_solve`)."""
    out: list[np.ndarray] = []
    for k in np.argsort(np.where(np.isfinite(objs), objs, np.inf), kind="stable"):
        if np.isfinite(objs[k]) and all(np.abs(xs[k] - x).sum() > tol for x in out):
            out.append(xs[k])
    return out


def _drop_tiny_shares(r: np.ndarray, lo: np.ndarray, hi: np.ndarray, F: np.ndarray,
                      objective: Callable[[np.ndarray], float],
                      radius: tuple[np.ndarray | None, float] | None) -> tuple[np.ndarray, int]:
    """``r`` with its free shares below :data:`TINY_SHARE` set to 0 and the others scaled up to make up the sum
    (in proportion, each up to its upper bound at most), and how many were dropped; ``r`` itself when that leaves a
    bound (or the L1 ``radius`` of the runs) or costs the minimised ``objective`` more than :data:`TINY_SHARE_COST`
    relative. When dropping them all costs more, the smallest are dropped: as many as the cost allows.

    Why: SLSQP stops within its tolerance of a face of the simplex, so a share the objective wants at 0 can end at
    1e-7-1e-5 (Olmix's DCLM swarm, ye-pow on lambada: 5 of 24 domains at 7e-7 to 4e-5). A trainer config then
    names those domains and needs a data path for each, for a thousandth of a percent of the tokens."""
    tiny = np.zeros(len(r), dtype=bool)
    tiny[F] = (r[F] > 0) & (r[F] < TINY_SHARE) & (lo[F] <= 0)
    rest = np.zeros(len(r), dtype=bool)
    rest[F] = ~tiny[F] & (r[F] > 0)
    if not tiny.any() or not rest.any():
        return r, 0
    before = objective(r)
    order = np.flatnonzero(tiny)[np.argsort(r[tiny], kind="stable")]
    # All of them first, then fewer, the smallest kept in (RegMix's train_1m, optimize --law additive-ens
    # --target pile_cc: the 7 leftovers, 1e-6 to 6e-5, cost 1.16e-6 relative together; the 6 smallest do not).
    for k in range(len(order), 0, -1):
        drop = np.zeros(len(r), dtype=bool)
        drop[order[:k]] = True
        out = _without(r, drop, rest | (tiny & ~drop), hi)
        if out is None:
            continue
        if radius is not None and radius[0] is not None and nearest_run_l1(out, radius[0])[0] > radius[1] + 1e-9:
            continue
        after = objective(out)
        if np.isfinite(after) and after <= before + TINY_SHARE_COST * max(abs(before), 1e-12):
            return out, k
    return r, 0


def _without(r: np.ndarray, drop: np.ndarray, keep: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
    """``r`` with the shares ``drop`` set to 0 and their mass given to the shares ``keep`` in proportion, but none
    past its upper bound ``hi`` (a share at its bound stays there and the others take its part: enron_emails at
    the top of its fitted range on RegMix's train_1m made a plain rescale overshoot it, and the drop was refused);
    None when they have not the room."""
    out = r.copy()
    out[drop] = 0.0
    left = r[drop].sum()
    grow = keep & (out < hi - 1e-12)
    for _ in range(len(r)):  # each pass either places the rest or fills one more share to its bound
        if left <= 1e-15 or not grow.any():
            break
        step = np.minimum(left * out[grow] / out[grow].sum(), hi[grow] - out[grow])
        out[grow] += step
        left -= step.sum()
        grow &= out < hi - 1e-12
    return None if left > 1e-12 or np.any(out > hi + 1e-12) else out


def check_maximize(objective_name: str, maximize: bool) -> None:
    """Refuse an objective that cannot be maximised (:func:`optimize_mixture`'s ``maximize``); callers that fit
    first (:func:`mixlaw.api.optimize_runs`) check before the fit."""
    check_flag(maximize, "maximize", "--maximize")
    if maximize and objective_name == "max":
        raise InputError("objective 'max' (the worst, i.e. largest, loss) cannot be maximised; with maximize=True "
                         "give 'mean', 'total', an eval set or weights")


def _run_name(runs: Any, row: int) -> str | None:
    """The ``run`` of row ``row`` of ``runs``: a RunTable's, or a frame's ``run`` column (a frame in the run table's
    columns, ``table.frame``: its nearest run was 'run row 1', where the table itself named it); None for an array."""
    if isinstance(runs, RunTable):
        return str(runs.runs[row])
    columns = getattr(runs, "columns", None)
    if columns is not None and "run" in columns:
        return str(runs["run"].iloc[row])
    return None


def _check_runs(runs: Any, domains: Sequence[str]) -> np.ndarray:
    """The fitting runs' mixtures as an (n, M) array in ``domains``' order: an array as it is, a RunTable or a
    DataFrame read by domain name (``runs=table`` raised numpy's "float() argument must be ... not 'RunTable'")."""
    M = len(domains)
    W = weights_in_order(runs, domains) if not isinstance(runs, np.ndarray) else np.asarray(runs, dtype=np.float64)
    if W.ndim != 2 or W.shape[1] != M or len(W) == 0 or not np.all(np.isfinite(W)):
        raise InputError(f"runs must be a finite (n_runs, {M}) array of mixtures; got shape {np.shape(runs)}")
    return W


def _limits_said(prob: _Problem) -> str:
    """What holds the mixture in, as an error names it: the bounds, the token budget's caps, the fitted range, the
    fixed weights (a radius that no run could reach within a token budget's caps said "the bounds", an option not
    given: review26a)."""
    kinds = set(prob.kind_lo) | set(prob.kind_hi)
    said = ["the bounds"] if "lower bound" in prob.kind_lo or any(
        k == "upper bound" and h < 1.0 for k, h in zip(prob.kind_hi, prob.hi, strict=True)) else []
    said += [text for kind, text in (("availability", "the token budget's caps (--tokens-available, --target-tokens, "
                                      "--max-epochs)"), ("fitted range", "the fitted range (--extrapolate lifts it)"))
             if kind in kinds]
    if prob.fixed.any():
        said.append("fixed weights (--fixed)" if said else "the fixed weights (--fixed)")
    return " and ".join(said) or "the bounds"


