"""Searching the feasible set: :func:`optimize_mixture`, multistart SLSQP on the law's objective (global
for the convex Ye law, best of seeded starts otherwise; the ``max`` objective in epigraph form), or RegMix's
simulate-and-average-top-k (:mod:`.simulate`) for laws without a gradient; and the trust region (the fitted
range of each weight, or an L1 radius around the runs) that keeps the optimum where the law was fitted.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
from scipy.optimize import minimize

from .._validation import check_flag, check_is_fitted, check_random_state, renamed
from ..data import RunTable, distinct_rows
from ..data.hints import known_names
from ..errors import ExtrapolationWarning, FitError, InputError, user_stacklevel
from ..evals import warn_minimised_metrics
from ..fit import blas_on_one_thread
from ..laws._inputs import weights_in_order
from ..laws.base import MixingLaw
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
    FD_STEP,
    Z_CONVEX,
    Objective,
    _LawEval,
    _make_scalar,
    _objective_weights,
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

#: Starts for laws whose objective is not known to be convex.
DEFAULT_N_STARTS = 16
#: Search strategies: "auto" is "gradient" for differentiable laws, else "simulate".
SEARCHES = ("auto", "gradient", "simulate")
#: Runs used as anchors of the L1 trust region in gradient search (the best-predicted ones).
N_ANCHORS = 3
#: Branch and bound over the trust radius's balls (a convex objective) stops when the next ball's lower bound is
#: within this (relative to the best found) of it: SLSQP's own tolerance and a finite-difference gradient's error
#: lie well below it.
BOUND_TOL = 1e-9
#: Shares of the optimum below this (0.01 %) are set to 0 when that costs the objective less than
#: :data:`TINY_SHARE_COST` (relative): :func:`_drop_tiny_shares`.
TINY_SHARE = 1e-4
#: The largest relative rise of the objective that dropping the tiny shares may cost.
TINY_SHARE_COST = 1e-6


@dataclass
class _Free:
    """The free part of a mixture: the searches move only the weights not fixed, within their bounds, summing to
    what the fixed ones leave."""

    fixed_values: np.ndarray  # (M,) the fixed weights in place (0 where free)
    F: np.ndarray  # indices of the free weights
    lo: np.ndarray  # their lower bounds
    hi: np.ndarray  # their upper bounds
    rem: float  # their sum: 1 - the fixed weights
    limits: str = "the bounds"  # what set lo, hi and the fixed weights, as errors name it (_limits_said)

    def full(self, x: np.ndarray) -> np.ndarray:
        """The whole mixture with free weights ``x``."""
        r = self.fixed_values.copy()
        r[self.F] = x
        return r

    def full_rows(self, X: np.ndarray) -> np.ndarray:
        """:meth:`full` of each row of ``X``."""
        R = np.tile(self.fixed_values, (len(X), 1))
        R[:, self.F] = X
        return R

    def starts(self, n: int, offset: int, nat: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
        """Start points ``offset`` .. ``offset + n - 1``: the natural mixture first, then seeded Dirichlet draws,
        each projected on the feasible set."""
        out = []
        for k in range(offset, offset + n):
            y = nat[self.F] if k == 0 else rng.dirichlet(np.ones(self.F.size)) * self.rem
            out.append(project_box_simplex(y.astype(np.float64), self.lo, self.hi, self.rem))
        return out


def _check_scale_given(law: MixingLaw, model_params: Any, tokens: Any) -> None:
    """InputError (one line) when ``law`` takes a model size or token count it was fitted over a range of and none
    is given: its optimum depends on that scale. Found running `mixlaw optimize` on a sweep's exported run table
    (3 sizes x 5 checkpoints): the default auto law (and bimix, dz-*) stopped with "model_params is required: the
    law was fitted over a range of model_params", which named neither the cause nor a way out."""
    check_scale_given(law, model_params, tokens, getattr(law, "_n_range", None), getattr(law, "_d_range", None))


def check_scale_given(law: MixingLaw, model_params: Any, tokens: Any, n_range: Any, d_range: Any, *,
                      fitted: bool = True) -> None:
    """:func:`_check_scale_given` with the ranges given: the runs' (min, max) model size and token count (or None).
    ``fitted=False``: before the fit, so that ``optimize_runs`` stops at once (auto's cross-validation took 5
    minutes on Dai & Zheng's six-size sweep before it stopped here, as it always does there: auto takes the scale
    whichever member it chooses)."""
    verb = "was fitted" if fitted else "would be fitted"
    for what, uses, given, rng, key in (("model sizes", law.uses_model_params, model_params, n_range, "params"),
                                        ("token counts", law.uses_tokens, tokens, d_range, "tokens")):
        if uses and given is None and rng is not None and rng[0] != rng[1]:
            # Its own scale first: the runs of AutoScale's design (one row per run, tokens set by the mixture) have
            # no params column and no checkpoints, and were told only of --at-params / --final-step.
            raise InputError(f"{law._label} {verb} across the runs' {what} ({rng[0]:.4g} to {rng[1]:.4g}) and "
                             f"takes the scale as an input, so its optimum depends on it: give the scale to optimise "
                             f"at (mixlaw optimize --{key}; Python: {key}=), keep the rows of one scale "
                             "(e.g. the final checkpoints of the largest size: --at-params largest --final-step), "
                             "or optimise at a target scale with "
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
        table's ``params`` column elsewhere).
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
        search solves from the ``N_ANCHORS`` best-predicted runs with an L1-ball constraint each, and for a convex
        objective every other run's ball whose lower bound could beat the best found (branch and bound: global).
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
    rises with it), and the optimum is global again when no reachable ball passes it.

    Maximising a convex objective is not a convex problem, so ``maximize`` always uses the multistart (its
    optimum, for Ye's law, lies on a vertex of the feasible set).

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
    convex = not maximize and convex_law(law) and (name in ("mean", "total", "max")
                                               or name.startswith(("loss of", "weights=")))
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
    why = ("convex: the optimum is global" if convex else "convex in each ball" if "not proven global" in union
           else "not known to be convex: best of the starts")
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
        maximize=bool(maximize))


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
    ``prune`` (a convex objective) solves every ball whose lower bound could beat the best (:func:`_radius_solve`)."""
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
                                             prune=prune)
    return xs, objs, n_conv


def _drop_tiny_shares(r: np.ndarray, lo: np.ndarray, hi: np.ndarray, F: np.ndarray,
                      objective: Callable[[np.ndarray], float],
                      radius: tuple[np.ndarray | None, float] | None) -> tuple[np.ndarray, int]:
    """``r`` with its free shares below :data:`TINY_SHARE` set to 0 and the others scaled up to make up the sum,
    and how many were dropped; ``r`` itself when that leaves a bound (or the L1 ``radius`` of the runs) or costs
    the minimised ``objective`` more than :data:`TINY_SHARE_COST` relative.

    Why: SLSQP stops within its tolerance of a face of the simplex, so a share the objective wants at 0 can end at
    1e-7-1e-5 (Olmix's DCLM swarm, ye-pow on lambada: 5 of 24 domains at 7e-7 to 4e-5). A trainer config then
    names those domains and needs a data path for each, for a thousandth of a percent of the tokens."""
    tiny = np.zeros(len(r), dtype=bool)
    tiny[F] = (r[F] > 0) & (r[F] < TINY_SHARE) & (lo[F] <= 0)
    rest = np.zeros(len(r), dtype=bool)
    rest[F] = ~tiny[F] & (r[F] > 0)
    if not tiny.any() or not rest.any():
        return r, 0
    out = r.copy()
    out[tiny] = 0.0
    out[rest] *= (r[tiny].sum() + r[rest].sum()) / r[rest].sum()
    if np.any(out > hi + 1e-12) or np.any(out < lo - 1e-12):
        return r, 0
    if radius is not None and radius[0] is not None and nearest_run_l1(out, radius[0])[0] > radius[1] + 1e-9:
        return r, 0
    before, after = objective(r), objective(out)
    if not np.isfinite(after) or after > before + TINY_SHARE_COST * max(abs(before), 1e-12):
        return r, 0
    return out, int(tiny.sum())


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


def _radius_solve(ev: _LawEval, scalar: Callable[[np.ndarray], float], name: str, s: np.ndarray | None,
                  free: _Free, runs: np.ndarray, radius: float, balls: list[int] | None = None,
                  prune: bool = False) -> tuple[list[np.ndarray], list[float], int]:
    """SLSQP within an L1 ball around each of the :data:`N_ANCHORS` best-predicted runs; the union of balls is not
    convex, so each anchor is its own convex problem (for a convex law) and the best anchor wins. With ``prune`` (a
    convex objective) the other reachable balls follow by branch and bound: in increasing order of
    :func:`_ball_bounds`, each solved until the next bound is no lower than the best found (less
    :data:`BOUND_TOL`), so the best is the minimum over the whole union; ``balls`` receives how many were solved.

    The ball :math:`\\sum_j |r_j - w_{aj}| \\le \\rho` is written exactly, with one slack per free weight:
    :math:`t_j \\ge \\pm(r_j - w_{aj})`, :math:`\\sum_j t_j \\le \\rho` (linear, so SLSQP keeps it to rounding).
    A smoothed ball :math:`\\sum_j \\sqrt{(r_j - w_{aj})^2 + \\epsilon} \\le \\rho` lies strictly inside the
    true one: with :math:`\\rho` the distance from the run to the feasible set it met no feasible mixture, every
    anchor failed ('0 converged') and the anchor itself came back, not the best mixture on the ball's boundary.
    """
    full, F, lo, hi, rem = free.full, free.F, free.lo, free.hi, free.rem
    fixed_mask = np.ones(runs.shape[1], dtype=bool)
    fixed_mask[F] = False
    # One anchor per distinct mixture, in their content order (ties among anchors then break alike whatever the
    # table's order): a table's checkpoints (or sizes, or seeds) repeat each mixture, and repeats would fill the
    # N_ANCHORS best with copies of one ball.
    runs = runs[distinct_rows(runs)[0]]
    # Each run's anchor is the feasible mixture L1-nearest to it; a run whose nearest feasible mixture lies beyond
    # the radius has no feasible point in its ball and anchors nothing. (The anchors were the runs scaled and
    # projected onto the bounds: with --bounds code=0.1:0.2 the best-predicted runs lay outside them, their balls
    # held no feasible mixture, and the projected run came back as the optimum 0.21 from every run under
    # --trust-radius 0.1, though a run inside the bounds was there to anchor it.)
    nearest = [_l1_nearest_feasible(w[F], lo, hi, rem) for w in runs]
    anchors_free = np.array([x for x, _ in nearest])
    budgets = radius - np.abs(full(np.zeros(F.size))[fixed_mask][None, :] - runs[:, fixed_mask]).sum(axis=1)
    reach = np.array([d for _, d in nearest]) <= budgets + 1e-12
    if not reach.any():
        gap = float(np.min(np.array([d for _, d in nearest]) + radius - budgets))
        raise InputError(f"no mixture within {free.limits} lies within L1 {radius:g} of a run (the nearest lies "
                         f"{gap:.3g} from one): widen the radius (--trust-radius, trust_radius=) or "
                         + ("the bounds" if free.limits == "the bounds" else "loosen them"))
    with np.errstate(over="ignore", invalid="ignore"):
        Lr = ev.predict(free.full_rows(anchors_free))
    f_anchor = Lr @ s if s is not None else np.array([scalar(v) for v in Lr])
    f_rank = np.where(np.isfinite(f_anchor) & reach, f_anchor, np.inf)
    order = [a for a in np.argsort(f_rank, kind="stable") if reach[a]][:N_ANCHORS]
    # At least the anchor's own distance: a radius equal to it up to rounding (reach's 1e-12) is met there.
    dist = np.array([float(np.abs(anchors_free[a] - runs[a][F]).sum()) for a in range(len(runs))])
    budgets = np.maximum(budgets, dist)
    l1 = budgets + dist
    xs, objs, n_conv = [], [], 0

    def solve_ball(a: int) -> None:
        nonlocal n_conv
        wF = runs[a][F]
        solve = _solver(ev, scalar, name, s, free, extra=[_l1_ball(wF, float(budgets[a]))],
                        aux_start=lambda x, wF=wF: np.abs(x - wF))
        x, f, ok = solve(anchors_free[a])
        if nearest_run_l1(full(x), runs)[0] > radius + 1e-6:
            x, f, ok = anchors_free[a], float(f_anchor[a]), False  # solver left the ball: keep the anchor itself
        xs.append(x)
        objs.append(f)
        n_conv += int(ok)
        if not ok:
            failed.append(a)

    failed: list[int] = []
    for a in order:
        solve_ball(a)
    # Ye's capped loss is concave where an exponent passes the cap by Z_CONVEX: a ball that reaches it is solved,
    # never pruned (a linearisation there is no lower bound), and the result is not called global.
    safe = _cap_safe(ev, free, anchors_free, budgets + dist)
    if prune:
        # Branch and bound over the other balls (a convex objective, so every linearisation is a valid lower bound):
        # each ball's bound from the linearisation at its anchor, raised by that at the best mixture found (a
        # ball on its uphill side cannot beat it), solved in increasing order of bound until the next bound cannot
        # beat the best found.
        todo = [a for a in range(len(runs)) if reach[a] and a not in order]
        lower = np.full(len(runs), -np.inf)
        if todo:
            P = anchors_free[todo]
            lower[todo] = np.maximum(_linear_bounds(ev, s, free, P, l1[todo], safe[todo]),
                                     _monotone_bounds(ev, s, name, free, P, l1[todo]))
        seen = np.inf
        while todo:
            best, x_best = _best_found(xs, objs)
            if best < seen:
                seen = best
                if _cap_safe(ev, free, x_best[None, :], np.zeros(1))[0]:
                    # its cut holds on a safe ball too: the exponents' maxima on their hull are those on the ball
                    # or at x_best, all within the convex part
                    lower[todo] = np.maximum(lower[todo], _linear_bounds(ev, s, free, anchors_free[todo], l1[todo],
                                                                         safe[todo], at=x_best))
            a = min(todo, key=lambda k: (lower[k], k))
            if lower[a] >= best - BOUND_TOL * max(1.0, abs(best)):
                break
            todo.remove(a)
            order.append(a)
            solve_ball(a)
    open_balls = 0
    if prune and failed:
        # A ball whose SLSQP did not converge is not solved: its value is only an upper bound of its minimum, which
        # may lie below the best found (a linear law whose best ball stopped at its anchor said 1.050 'convex: the
        # optimum is global', its minimum 1.020). Proven only if its lower bound cannot beat the best either.
        # past Ye's exponent cap a linearisation bounds nothing (cap32): such a failed ball stays open
        best, x_best = _best_found(xs, objs)
        P = anchors_free[failed]
        low = _linear_bounds(ev, s, free, P, l1[failed], safe[failed])
        if _cap_safe(ev, free, x_best[None, :], np.zeros(1))[0]:
            low = np.maximum(low, _linear_bounds(ev, s, free, P, l1[failed], safe[failed], at=x_best))
        open_balls = int(np.sum(~(low >= best - BOUND_TOL * max(1.0, abs(best)))))
    if balls is not None:
        # [solved, in reach, not converged and not ruled out, every ball in reach within the convex part]
        balls[:] = [len(order), int(reach.sum()), open_balls, int(bool(np.all(safe[reach])))]
    return xs, objs, n_conv


def _best_found(xs: list[np.ndarray], objs: list[float]) -> tuple[float, np.ndarray]:
    """The smallest finite objective of the balls solved so far, and its free weights."""
    f = np.where(np.isfinite(objs), objs, np.inf)
    return float(np.min(f)), xs[int(np.argmin(f))]


def _linear_bounds(ev: _LawEval, s: np.ndarray | None, free: _Free, P: np.ndarray, l1: np.ndarray,
                   safe: np.ndarray, at: np.ndarray | None = None) -> np.ndarray:
    """Lower bounds of the objective on the balls around the free weights ``P`` (L1 ``l1``) from its linearisation at
    each ball's own anchor, or at the one point ``at`` (the best mixture found); -inf where ``safe`` is False (past
    Ye's exponent cap a linearisation bounds nothing). One helper for the branch and bound and its check of the balls
    that did not converge."""
    n = len(P)
    if at is None:
        cuts = [_cut(ev, s, free, p) for p in P]
        L, G, Q = np.array([c[0] for c in cuts]), np.array([c[1] for c in cuts]), P
    else:
        Lb, Gb = _cut(ev, s, free, at)
        L, G = np.broadcast_to(Lb, (n, *Lb.shape)), np.broadcast_to(Gb, (n, *Gb.shape))
        Q = np.broadcast_to(at, (n, at.size))
    return np.where(safe, _ball_bounds(L, G, Q, P, free, l1), -np.inf)


def _monotone_bounds(ev: _LawEval, s: np.ndarray | None, name: str, free: _Free, P: np.ndarray,
                     l1: np.ndarray) -> np.ndarray:
    r"""Lower bounds of the minimised objective over the feasible mixtures within L1 ``l1[b]`` of ``P[b]`` that need
    no convexity: Ye's loss rises with its exponent, capped or not, so each :math:`L_i \ge L_i(\min z_i)` there
    (:func:`_linear_min`), and :math:`s^\top L` (s >= 0) or :math:`\max_i L_i` is at least that of these. A ball
    reaching past the cap (:func:`_cap_safe`) is pruned by these alone. -inf for other laws."""
    if not ev.analytic:
        return np.full(len(P), -np.inf)
    Lmin = np.empty((len(P), ev.K))
    for i in range(ev.K):
        t = ev.T[i]
        z = float(t @ free.full(np.zeros(free.F.size))) + P @ t[free.F] + _linear_min(
            np.broadcast_to(t[free.F], P.shape), P, free.lo, free.hi, np.asarray(l1, dtype=float))
        Lmin[:, i] = z
    with np.errstate(over="ignore", invalid="ignore"):
        L = ev.c + np.exp(ev.log_k + ev._capped(Lmin)[0])
        out = L @ s if s is not None else L.max(axis=1) if name == "max" else np.full(len(P), -np.inf)
    return np.where(np.isfinite(out), out, -np.inf)


def _cap_safe(ev: _LawEval, free: _Free, P: np.ndarray, l1: np.ndarray) -> np.ndarray:
    r"""Per row b, whether every eval's exponent :math:`t_i^\top r` stays within :data:`Z_CONVEX` of its cap
    (:meth:`_LawEval.convex_on`) on the feasible mixtures within L1 ``l1[b]`` of the free weights ``P[b]``: its
    maximum there is :math:`t_i^\top p_b` less :func:`_linear_min` of :math:`-t_i` (exact). All True for laws
    without the cap."""
    ok = np.ones(len(P), dtype=bool)
    if not ev.analytic or not np.isfinite(ev.z_max).any():
        return ok
    for i in range(ev.K):
        t = ev.T[i]
        base = float(t @ free.full(np.zeros(free.F.size)))  # the fixed weights' part
        tF = np.broadcast_to(t[free.F], P.shape)
        top = base + P @ t[free.F] - _linear_min(-tF, P, free.lo, free.hi, np.asarray(l1, dtype=float))
        ok &= top <= ev.z_max[i] + Z_CONVEX
    return ok


def _cut(ev: _LawEval, s: np.ndarray | None, free: _Free, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The minimised objective's linearisation at the free weights ``q``: (values (k,), gradients (k, n)), k = 1
    for a linear objective :math:`s^\\top L` (gradient :math:`s^\\top J`), one row per eval for ``max``. The
    gradient is the law's analytic one (Ye) or :class:`_LawEval`'s finite differences (step ``FD_STEP``: exact to
    rounding for the affine ``linear``, to :math:`O(h^2)` for ``loglinear``; :data:`BOUND_TOL` covers it)."""
    with np.errstate(over="ignore", invalid="ignore"):
        L, J = ev.value_jac(free.full(q))
    G = J[:, free.F]
    if s is not None:
        L, G = np.array([s @ L]), (s @ G)[None, :]
    return L, G


def _linear_min(G: np.ndarray, P: np.ndarray, lo: np.ndarray, hi: np.ndarray, l1: np.ndarray) -> np.ndarray:
    r"""Per row b, the minimum of :math:`g_b^\top \delta` over :math:`\delta` with :math:`\sum_j \delta_j = 0`,
    :math:`\|\delta\|_1 \le l_b` and :math:`\ell \le p_b + \delta \le u` (``G``, ``P``: (B, n); ``l1``: (B,)):
    move mass from the weights of the largest :math:`g_j` (down to :math:`\ell_j`) to those of the smallest (up to
    :math:`u_j`) while it pays, at most :math:`l_b / 2` in all (a fractional knapsack: the greedy transfer is the
    linear program's optimum)."""
    iu, idn = np.argsort(G, axis=1, kind="stable"), np.argsort(-G, axis=1, kind="stable")
    cu = np.cumsum(np.take_along_axis(np.maximum(hi - P, 0.0), iu, 1), axis=1)
    cd = np.cumsum(np.take_along_axis(np.maximum(P - lo, 0.0), idn, 1), axis=1)
    mass = np.minimum(np.minimum(l1 / 2, cu[:, -1]), cd[:, -1])[:, None]
    T = np.sort(np.hstack([np.zeros_like(mass), mass, np.minimum(cu, mass), np.minimum(cd, mass)]), axis=1)
    mid = (T[:, :-1] + T[:, 1:])[:, :, None] / 2
    last = G.shape[1] - 1
    gu = np.take_along_axis(np.take_along_axis(G, iu, 1), np.minimum((cu[:, None, :] < mid).sum(-1), last), 1)
    gd = np.take_along_axis(np.take_along_axis(G, idn, 1), np.minimum((cd[:, None, :] < mid).sum(-1), last), 1)
    return np.sum(np.diff(T, axis=1) * np.minimum(gu - gd, 0.0), axis=1)


def _ball_bounds(L: np.ndarray, G: np.ndarray, Q: np.ndarray, P: np.ndarray, free: _Free,
                 l1: np.ndarray) -> np.ndarray:
    r"""Lower bounds of the (convex) minimised objective f over balls from linearisations: for ball b with anchor
    :math:`p_b` and a linearisation at :math:`q_b` (``L``: (B, k) values, ``G``: (B, k, n) gradients, ``Q``: (B, n)),
    :math:`f(x) \ge f_i(q_b) + g_i^\top (p_b - q_b) + g_i^\top (x - p_b)` for each convex part :math:`f_i \le f`
    (the objective itself, or each eval's loss of ``max``), the last term at least :func:`_linear_min` over the
    feasible mixtures within L1 ``l1`` of :math:`p_b` (the ball's radius plus the anchor's distance to its run, so
    the set holds the ball); bounds and fixed weights only shrink the ball, so the bound stays valid (weaker or
    equal). Rows with a non-finite part are -inf (solved, not pruned)."""
    out = np.full(len(P), -np.inf)
    for i in range(L.shape[1]):
        with np.errstate(invalid="ignore", over="ignore"):
            b = L[:, i] + np.einsum("bn,bn->b", G[:, i], P - Q) + _linear_min(G[:, i], P, free.lo, free.hi, l1)
        out = np.maximum(out, np.where(np.isfinite(b), b, -np.inf))
    bad = ~np.all(np.isfinite(L), axis=1) | ~np.all(np.isfinite(G), axis=(1, 2))
    out[bad] = -np.inf
    return out


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


def _l1_nearest_feasible(w: np.ndarray, lo: np.ndarray, hi: np.ndarray, rem: float) -> tuple[np.ndarray, float]:
    r"""The point of :math:`\{x: \ell \le x \le u, \sum x = s\}` (non-empty) L1-nearest to ``w``, and its distance.

    Clip ``w`` into the box, then move the excess (or deficit) of the sum onto the coordinates with room, each
    in proportion to it: every unit moved costs one unit of L1 (no coordinate that moves can move towards its
    ``w_j``), so the distance is the clipping's plus the sum's gap, the least any feasible point can have.
    """
    c = np.clip(w, lo, hi)
    e = float(c.sum() - rem)
    room = c - lo if e > 0 else hi - c
    if abs(e) > 0 and room.sum() > 0:
        c = c - np.sign(e) * room * min(1.0, abs(e) / float(room.sum()))
    return c, float(np.abs(c - w).sum())


def _l1_ball(wF: np.ndarray, budget: float) -> dict:
    """SLSQP's constraint :math:`\\sum_j |x_j - w_j| \\le b` in linear form over ``v = [x, (z), t]``, the last
    ``n`` entries ``t`` the slacks (:func:`_solver`'s ``aux_start``): t - (x - w) >= 0, t + (x - w) >= 0,
    b - sum(t) >= 0."""
    n = wF.size

    def fun(v: np.ndarray) -> np.ndarray:
        x, t = v[:n], v[v.size - n:]
        return np.concatenate([t - (x - wF), t + (x - wF), [budget - t.sum()]])

    def jac(v: np.ndarray) -> np.ndarray:
        J = np.zeros((2 * n + 1, v.size))
        eye = np.eye(n)
        J[:n, :n], J[n:2 * n, :n] = -eye, eye
        J[:n, v.size - n:] = J[n:2 * n, v.size - n:] = eye
        J[2 * n, v.size - n:] = -1.0
        return J

    return {"type": "ineq", "fun": fun, "jac": jac}


def _solver(ev: _LawEval, scalar: Callable[[np.ndarray], float], name: str, s: np.ndarray | None, free: _Free,
            extra: list[dict] | None = None, aux_start: Callable[[np.ndarray], np.ndarray] | None = None
            ) -> Callable[[np.ndarray], tuple[np.ndarray, float, bool]]:
    """One SLSQP run from x0 over the free weights; returns (feasible x, objective, converged). ``aux_start``:
    the ``extra`` constraints also take slack variables, appended last (bounds [0, inf), start ``aux_start(x0)``)."""
    full, F, lo, hi, rem = free.full, free.F, free.lo, free.hi, free.rem
    n = F.size
    n_aux = 0 if aux_start is None else n
    aux_bounds = [(0.0, None)] * n_aux

    def with_aux(v0: np.ndarray, x0: np.ndarray) -> np.ndarray:
        return v0 if aux_start is None else np.concatenate([v0, aux_start(x0)])
    eq = {"type": "eq", "fun": lambda x: np.array([x[:n].sum() - rem]),
          "jac": lambda x: np.concatenate([np.ones(n), np.zeros(x.size - n)])[None, :]}
    opts = {"maxiter": 1000, "ftol": 1e-13}

    if name == "max":
        # Epigraph: min z s.t. z - L_i(r) >= 0; smooth, and convex whenever every L_i is.
        def cons(v: np.ndarray) -> np.ndarray:
            return v[n] - ev.predict(full(v[:n])[None, :])[0]

        def cons_jac(v: np.ndarray) -> np.ndarray:
            _, J = ev.value_jac(full(v[:n]))
            return np.hstack([-J[:, F], np.ones((J.shape[0], 1)), np.zeros((J.shape[0], n_aux))])

        def run(x0: np.ndarray) -> tuple[np.ndarray, float, bool]:
            z0 = float(np.max(ev.predict(full(x0)[None, :])[0]))
            v0 = with_aux(np.append(x0, z0), x0)
            with np.errstate(over="ignore", invalid="ignore"):
                res = minimize(lambda v: v[n], v0, jac=lambda v: np.eye(1, v.size, n)[0], method="SLSQP",
                               bounds=list(zip(lo, hi, strict=True)) + [(None, None)] + aux_bounds,
                               constraints=[eq, {"type": "ineq", "fun": cons, "jac": cons_jac}, *(extra or [])],
                               options=opts)
            x = project_box_simplex(res.x[:n], lo, hi, rem)
            return x, scalar(ev.predict(full(x)[None, :])[0]), bool(res.success)

        return run

    if s is not None:
        def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
            L, J = ev.value_jac(full(x))
            return float(s @ L), (s @ J)[F]
    else:
        def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
            r = full(x)
            f0 = scalar(ev.predict(r[None, :])[0])
            g = np.empty(n)
            for k, j in enumerate(F):  # finite differences of a user callable, one coordinate at a time
                h = FD_STEP
                rp = r.copy()
                rp[j] += h
                if r[j] >= h:
                    rm = r.copy()
                    rm[j] -= h
                    g[k] = (scalar(ev.predict(rp[None, :])[0]) - scalar(ev.predict(rm[None, :])[0])) / (2 * h)
                else:
                    g[k] = (scalar(ev.predict(rp[None, :])[0]) - f0) / h
            return f0, g

    def safe(x: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(over="ignore", invalid="ignore"):
            f, g = fun(x)
        if not np.isfinite(f) or not np.all(np.isfinite(g)):
            return 1e30, np.zeros(n)
        return f, g

    def safe_v(v: np.ndarray) -> tuple[float, np.ndarray]:  # the slacks (last n_aux entries) are not in f
        f, g = safe(v[:n])
        return f, np.concatenate([g, np.zeros(n_aux)])

    def run(x0: np.ndarray) -> tuple[np.ndarray, float, bool]:
        res = minimize(safe_v, with_aux(x0, x0), jac=True, method="SLSQP",
                       bounds=list(zip(lo, hi, strict=True)) + aux_bounds, constraints=[eq, *(extra or [])],
                       options=opts)
        x = project_box_simplex(np.asarray(res.x[:n], dtype=np.float64), lo, hi, rem)
        f = safe(x)[0]
        return x, f, bool(res.success) and f < 1e29

    return run
