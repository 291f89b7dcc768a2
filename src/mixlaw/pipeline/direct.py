r"""The direct route: one law with model size (and steps) as inputs predicts the target scale in one fit.

Without a registered size-aware law, every eval gets the joint law of :mod:`.joint`,
:math:`L_i = E_i + A_i/N^{\alpha_i} + B_i/S^{\beta_i} + k_i e^{z_i(r)}`, fitted on all checkpoints of all
small runs (:func:`_direct`; without its size term for a steps-only target, without its step term for a
sizes-only one); at fixed :math:`(N^*, S^*)` it is Ye's mixing law (or its power-share form) with
:math:`c_i = E_i + A_i/N^{*\alpha_i} + B_i/S^{*\beta_i}`, which is returned as the mixing law. A registered law
that takes N (``dz-eq1``, maybe D: ``dz-eq3``) is fitted as is (:func:`_direct_registered`, Dai & Zheng Eq. 1).
Either fitted law, at any scale and saved: :mod:`.direct_scales`.

References
----------
Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952 (the joint law's parts: :mod:`.joint`).
Dai & Zheng, "Explaining Data Mixing Scaling Laws", ICML 2026, arXiv:2606.08167, Eq. (1) (model size as an
input).
"""

from __future__ import annotations

import time
import warnings
from functools import partial
from typing import Any

import numpy as np

from .._validation import validate_params
from ..data import RunTable
from ..errors import ExtrapolationWarning, InputError, MixlawWarning, user_stacklevel
from ..laws.base import available_laws, get_law, warm_clone
from ..scaling.units import loss_unit
from .direct_scales import _JointScales, _RegisteredScales
from .grouping import _first_runs, _mixture_ids
from .joint import (
    JOINT_GAMMA_POOLING,
    JOINT_LAWS,
    _fit_joint,
    _fit_joint_pow,
    _joint_width,
    _unseen_domains,
    _z_max,
)
from .result import (
    JOINT_SIZE_TERM,
    PipelineResult,
    StageQuality,
    _check_mixing_law,
    _Target,
    short_list,
    size_law_refusal,
    stage_warning_line,
)


def check_joint_steps(N: np.ndarray, T: np.ndarray, axis: str) -> None:
    """InputError (one line) when the joint law's step term cannot be fitted: it needs 3 distinct steps (or token
    counts, by ``axis``) in all, shared by every curve, not 3 per curve as the nested route's step laws. It names
    the recorded values that 3 or more sizes share, where the sizes-only pipeline can run instead."""
    values = np.unique(T)
    if values.size >= 3:
        return
    sym = "S" if axis == "step" else "D"
    shared = [v for v in values if np.unique(N[T == v]).size >= 3]
    tail = (f"a target {axis} equal to a recorded one ({' or '.join(f'{v:g}' for v in shared)}) extrapolates in "
            "model size alone" if shared else
            f"no {axis} value is recorded at 3 or more model sizes, so neither can it extrapolate in model size alone")
    raise InputError(f"the direct joint law's step term B/{sym}^beta needs 3 distinct {axis} values (shared by every "
                     f"curve) to extrapolate to another one; the data has {values.size} ({short_list(values)}); "
                     f"{tail}")


def _direct(table: RunTable, at: _Target, law: str, names: list[str], rng: np.random.Generator,
            law_options: dict[str, Any], msgs: list[str], warm: PipelineResult | None = None, *,
            steps_only: bool = False, sizes_only: bool = False) -> PipelineResult:
    """The direct route; ``warm``: a direct result of the same law and evals on nearby data (a jackknife or
    backtest refit), whose parameters start the fits (one start, the usual ones only if it does not converge).
    ``steps_only``: the table holds the target size alone; the joint law has no size term; ``sizes_only``: the
    table holds the target step alone, and the joint law has no step term (module docstring)."""
    W, Y = table.weights, table.losses(names)
    N, S = table.model_params, at.time_of(table)
    assert N is not None and S is not None
    Nt, St, sym = at.params, at.time, at.symbol
    mixes, inv = _mixture_ids(W)
    sizes = np.unique(N)
    probe = get_law(law, **law_options)
    if probe.uses_model_params:
        return _direct_registered(table, at, law, names, rng, law_options, msgs, mixes, inv, warm,
                                  sizes_only=sizes_only)
    if steps_only and sizes.size != 1:
        raise InputError(f"steps only: the table must hold one model size; it has {sizes.size}")
    if sizes.size < 3 and not steps_only:
        raise size_law_refusal(sizes, JOINT_SIZE_TERM, f"{sym} = {St:g}" if sizes_only else None)
    if sizes_only and np.unique(S).size != 1:
        raise InputError(f"sizes only: the table must hold one {at.axis} value; it has {np.unique(S).size}")
    if not sizes_only:
        check_joint_steps(N, S, at.axis)
    if law not in JOINT_LAWS:
        size_aware = [k for k in available_laws() if get_law(k).uses_model_params]
        raise InputError(f"law {law!r} takes no model size, so the direct route cannot fit it: it fits the joint "
                         f"law with Ye's mixture term (law='ye-exp' or 'ye-pow', --law on the command line) or a "
                         f"law with a model-size input ({', '.join(size_aware)}); use route='nested' (--route nested) "
                         f"for {law!r}")
    # The joint law is fitted here, not by the registered law: of that law's options only ye-pow's gamma_pooling
    # has a meaning in it; any other would be dropped without a word.
    unused = sorted(set(law_options) - ({"gamma_pooling"} if law == "ye-pow" else set()))
    if unused:
        msg = (f"law option(s) {', '.join(unused)} not used: the direct route fits its own joint law with the mixture "
               f"term of {law!r}, {'whose one option is gamma_pooling' if law == 'ye-pow' else 'which takes none'}")
        msgs.append(msg)
        warnings.warn(msg, MixlawWarning, stacklevel=user_stacklevel(3))
    validate_params(probe)  # as the law's own fit would: gamma_pooling "x", None or NaN must not reach the fit
    few = few_mixtures_line(law, mixes, pooled=law != "ye-pow" or float(probe.gamma_pooling) > 0)
    if few is not None:
        msgs.append(few)
        warnings.warn(few, MixlawWarning, stacklevel=user_stacklevel(3))
    pooling = float(probe.gamma_pooling) if law == "ye-pow" else JOINT_GAMMA_POOLING
    t0 = time.perf_counter()
    ref = int(np.argmax(mixes.mean(axis=0)))
    res: list[np.ndarray] = []
    nwarn: list[str] = []
    seed = int(rng.integers(2**31))
    thetas: list[np.ndarray] = []
    start = (warm.scales.thetas if warm is not None and isinstance(warm.scales, _JointScales)
             and warm.scales.law == law and warm.scales.ref == ref and list(warm.targets) == list(names)
             and warm.scales.thetas.shape[1] == _joint_width(law, W.shape[1])
             and warm.scales.steps_only == steps_only and warm.scales.sizes_only == sizes_only else None)
    for k, t in enumerate(names):
        only = {"steps_only": steps_only, "sizes_only": sizes_only}
        fit_one = (partial(_fit_joint, domains=table.domains, **only) if law == "ye-exp"
                   else partial(_fit_joint_pow, pooling=pooling, domains=table.domains, **only))
        fr, extra = fit_one(W, N, S, Y[:, k], ref, seed, t, None if start is None else start[k])
        # One joint law per eval: a note the fit did not raise with its label says which eval ('E at lower bound
        # 0' named none of them).
        nwarn += [m if m in extra else f"{t}: {m}" for m in _once(extra, fr.warnings)]
        res.append(np.exp(fr.residuals) - 1.0)
        thetas.append(fr.params.array())
    z = "t_i . r" if law == "ye-exp" else "sum_j t_ij r_j^gamma_ij"
    size_term = "" if steps_only else "A_i/N^alpha_i + "
    step_term = "" if sizes_only else f"B_i/{sym}^beta_i + "
    where = (f" at N = {sizes[0]:g} (steps only: no size term)" if steps_only else
             f" at {sym} = {St:g} (sizes only: no step term)" if sizes_only else "")
    stage = StageQuality.from_residuals(
        "joint", f"L_i = E_i + {size_term}{step_term}k_i exp({z}) per eval on all checkpoints{where}",
        res, len(nwarn), time.perf_counter() - t0, list(names))
    line = stage_warning_line("joint", nwarn)
    if line is not None:
        msgs.append(line)
    th = np.array(thetas)
    if law == "ye-pow":
        th = _unseen_domains(th, W)
    scales = _JointScales(th, list(table.domains), list(names), ref,
                          np.vstack([mixes.min(axis=0), mixes.max(axis=0)]), law=law,
                          z_max=None if law == "ye-exp" else _z_max(th, mixes),
                          size=float(sizes[0]) if steps_only else None, time=float(St) if sizes_only else None,
                          units=np.array([loss_unit(Y[:, k]) for k in range(len(names))]))
    mixing, _ = scales.law_at(Nt, St)
    target = np.asarray(mixing.predict(mixes)).reshape(len(mixes), len(names))
    return PipelineResult("direct", f"joint+{law}", Nt, at.steps, table.domains, names, mixes,
                          _first_runs(table, inv, len(mixes)), target, {"joint": stage}, mixing, {}, msgs,
                          tokens_per_step=at.tokens_per_step, scales=scales)


def few_mixtures_line(law: str, mixes: np.ndarray, pooled: bool = True) -> str | None:
    r"""The warning for a table with too few mixtures to determine the joint law's mixture term, else None.

    Across mixtures only the asymptote :math:`E_i + k_i e^{z_i(r)}` varies; with :math:`K` domains that vary it
    has :math:`K + 1` free parameters per eval under ye-exp (E's level, log k, K - 1 t's: r sums to 1), and
    :math:`M` mixtures fix at most :math:`M` of them. ye-pow's K gammas are counted as none: their partial pooling
    (``gamma_pooling``, a penalty) identifies them, as a ridge's block is not counted by ``fit_models``; counted
    in full (2K + 1) the trainer's 6 mixtures of 3 domains, whose direct ye-pow is within 1.25x of the best route
    (docs/pipeline.md), would be warned of. ``pooled=False`` (ye-pow with ``gamma_pooling=0``: no penalty,
    each gamma free) counts them: 2K + 1. The nested
    route's mixing law refuses fewer than its parameters + 1 observations (:func:`mixlaw.fit.fit_models`); the
    joint law fits anyway, since its checkpoints are many, so this says what that leaves undetermined. Measured
    (Dai & Zheng's SlimPajama, 7 domains, 5 of its mixtures at 122M-937M, target 2.718B): the jackknife's 80 %
    interval of one mixture's arxiv loss 1.61 was [0, 44.8], and ``--optimize`` claimed a 31.5 % gain (a
    wikipedia loss of 0.48 against the runs' 1.8 or more), both without a word."""
    few = few_mixtures_head(law, mixes, pooled)
    if few is None:
        return None
    head, p = few
    return (f"direct route: {head} ({p} parameters per eval with E's level: at least {p + 1} mixtures, one more "
            f"than its parameters, as a fit needs): the predictions of the table's own mixtures rest on their own "
            f"runs, but those of other mixtures, the optimum (--optimize, optimize_pipeline) and the jackknife "
            f"intervals are not determined by the runs. Run more mixtures, or merge domains")


def few_mixtures_head(law: str, mixes: np.ndarray, pooled: bool = True) -> tuple[str, int] | None:
    """':math:`M` mixtures are too few to determine the joint law's mixture term over :math:`K` domains' and the
    term's parameter count, or None (:func:`few_mixtures_line`, which says more; the optimum's warning says this)."""
    K = int(np.sum(np.ptp(mixes, axis=0) > 0)) if len(mixes) else 0
    # Unpooled, ye-pow's K exponents are free parameters of the mixture term as its K t's are.
    p = 2 * K + 1 if law == "ye-pow" and not pooled else K + 1
    M = len(mixes)
    if K < 2 or M > p:
        return None
    return f"{M} mixtures are too few to determine the joint law's mixture term over {K} domains", p


def _once(raised: list[str], noted: list[str]) -> list[str]:
    """A fit's warnings, each once: ``fit_model`` both raises a ConvergenceWarning '<label>: <note>' and keeps
    '<note>' in the result's warnings, which the stage line counted twice ('joint stage: 3 warning(s) ...:
    joint+ye-pow[web]: no start converged ...; no start converged ...; t_arxiv at upper bound 30'). The
    labelled one stays."""
    return raised + [m for m in noted if not any(r.endswith(f": {m}") for r in raised)]


def _direct_registered(table: RunTable, at: _Target, law: str, names: list[str], rng: np.random.Generator,
                       law_options: dict[str, Any], msgs: list[str], mixes: np.ndarray,
                       inv: np.ndarray, warm: PipelineResult | None = None, *,
                       sizes_only: bool = False) -> PipelineResult:
    """Direct route with a registered law that takes N (``dz-eq1``) and maybe D (``dz-eq3``).

    A law with a token input is fitted on every checkpoint (its D) and predicts at (N*, D*); a law without one
    sees only each curve's final checkpoint, so it predicts at the final checkpoints' length, not at S*.
    ``sizes_only``: the table holds the target step alone (one checkpoint per run); the result predicts there only.
    """
    N, S = table.model_params, at.time_of(table)  # the target's time axis: steps, or tokens when only those
    assert N is not None and S is not None
    Nt = at.params
    probe = get_law(law, **law_options)
    with_tokens = bool(probe.uses_tokens) and table.tokens is not None and at.tokens is not None
    if with_tokens:
        rows = np.arange(len(table))
        how = f"{law} on all {len(rows)} checkpoints with N and D as inputs"
    else:
        key = np.column_stack([inv, N])
        rows = np.array([i for i in range(len(table))
                         if S[i] == S[(key[:, 0] == key[i, 0]) & (key[:, 1] == key[i, 1])].max()])
        how = f"{law} on {len(rows)} final checkpoints with N as input"
        T = S
        if np.any(T[rows] != at.time):
            why = ("has no token input" if not probe.uses_tokens else
                   "needs tokens, and the table or the target has no token count")
            msg = (f"law {law!r} {why}: it was fitted on final checkpoints at {at.axis} "
                   f"{T[rows].min():g}-{T[rows].max():g} and predicts those, not {at.symbol}* = {at.time:g}")
            msgs.append(msg)
            warnings.warn(msg, ExtrapolationWarning, stacklevel=user_stacklevel(3))
    if np.unique(N[rows]).size < 2:
        raise InputError(f"the direct route with {law!r} needs runs at 2 or more model sizes"
                         + (" (at one size the direct route fits the joint law: law ye-exp or ye-pow)"
                            if np.unique(N).size == 1 else ""))
    fin = table.subset(rows)
    t0 = time.perf_counter()
    mixing = get_law(law, **{"random_state": int(rng.integers(2**31)), **law_options})
    if warm is not None and warm.law == law and list(warm.targets) == list(names):
        mixing = warm_clone(warm.mixing_law)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mixing.fit(fin, targets=names)
        _check_mixing_law(mixing, len(rows))
        Yf = fin.losses(names)
        pred = np.asarray(mixing.predict(fin)).reshape(Yf.shape)
    nwarn = _once([str(w.message) for w in caught], [m for r in mixing.results_.values() for m in r.warnings])
    line = stage_warning_line("direct", nwarn)
    if line is not None:
        msgs.append(line)
    ok = np.isfinite(pred)  # dz-eq3 is +inf where a domain is absent (h_i = 0): scored on h_i > 0 only
    stage = StageQuality.from_residuals("direct", how, [(pred / Yf - 1.0)[:, k][ok[:, k]] for k in range(len(names))],
                                        len(nwarn), time.perf_counter() - t0, list(names))
    kw: dict[str, Any] = {"model_params": Nt}
    if with_tokens:
        kw["tokens"] = at.tokens
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        target = np.asarray(mixing.predict(mixes, **kw)).reshape(len(mixes), len(names))
        flat = _no_gain_line(law, mixing, mixes, kw, target, float(N[rows].max()), names)
    if flat is not None:
        msgs.append(flat)
        warnings.warn(flat, ExtrapolationWarning, stacklevel=user_stacklevel(3))
    scales = _RegisteredScales(mixing, with_tokens, at.axis, at.tokens_per_step, at.time, sizes_only)
    return PipelineResult("direct", law, Nt, at.steps, table.domains, names, mixes, _first_runs(table, inv, len(mixes)),
                          target, {"direct": stage}, mixing, kw, msgs, tokens_per_step=at.tokens_per_step,
                          scales=scales)


def _no_gain_line(law: str, mixing: Any, mixes: np.ndarray, kw: dict[str, Any], target: np.ndarray,
                  largest: float, names: list[str]) -> str | None:
    """A line naming the (mixture, eval) entries that the law predicts no lower at N* than at the largest fitted
    size (None when there are none, or N* is not beyond that size).

    Why: in Dai & Zheng's laws a domain absent from the mixture (h_i = 0, or a share so small that its allocation
    sits at the floor) keeps the capacity floor H whatever N, and the data term does not take N, so the loss of
    its eval set does not fall with model size. Fitted on RegMix's 1M and 60M runs (17 domains, most shares 0) and
    read at 1B, dz-eq3-safe gave 18 % of the 1B runs' entries exactly their 60M prediction (MRE 66 % against the
    1B runs): a table of mostly-zero shares asks for what the law cannot say, and nothing but this line showed it."""
    if not kw["model_params"] > largest * (1 + 1e-9):
        return None
    at_largest = np.asarray(mixing.predict(mixes, **{**kw, "model_params": largest})).reshape(target.shape)
    flat = np.isfinite(target) & np.isfinite(at_largest) & (target >= at_largest * (1 - 1e-6))
    if not flat.any():
        return None
    per = flat.sum(axis=0)
    worst = ", ".join(f"{names[k]} {int(per[k])}" for k in np.argsort(-per, kind="stable")[:5] if per[k])
    more = ", ..." if (per > 0).sum() > 5 else ""
    # Only Dai & Zheng's own laws have the capacity floor alone to blame: a law that combines others (stack, auto,
    # gp-residual) is flat in N also where it leans on a member that takes no model size (review: stack of
    # linear and loglinear, 60 of 60 entries flat, and the line blamed the floor H).
    why = ("in Dai & Zheng's laws a domain absent from the mixture (or too small a share to leave the floor) keeps "
           "the capacity floor H at any model size, so its eval's loss does not fall with N" if law.startswith("dz-")
           else "its prediction there does not fall with N (a part of it that takes no model size, or a Dai & "
           "Zheng law's capacity floor H for a domain absent from the mixture, gives the same loss at any N)")
    return (f"law {law!r} predicts no lower loss at N* = {kw['model_params']:g} than at the largest fitted size "
            f"{largest:g} for {int(flat.sum())} of {flat.size} (mixture, eval) entries ({worst}{more}): "
            f"{why}; those predictions stay at the fitted sizes' level (a route with a size law, which needs 3 "
            "sizes, extrapolates them)")
