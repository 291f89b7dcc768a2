"""One fixed route and law: :func:`fit_route` validates the table and target, then runs the nested or direct route.

Checks the ``params``/``step`` (or ``tokens``) columns, that the target lies at or beyond the data, applies
``fit_from`` (early checkpoints of each curve left out), and hands the cleaned table to the nested or direct
route (:mod:`.nested`, :mod:`.direct`). :func:`fit_candidates` does the same for several (route, law) pairs at
once, fitting the nested route's step laws once for all its mixing laws; :mod:`.auto` chooses among them.

**Steps only.** A target size N* equal to a fitted size (relative tolerance :data:`~.result.SCALE_RTOL`) needs no size
law: with fewer than 3 model sizes in the table (too few for the size law), or when asked (``steps_only=True``),
the pipeline extrapolates in steps (or tokens) alone at that size, on its curves only (:func:`steps_only_size`,
:func:`at_one_size`): the nested route is the step law per curve and the mixing law at S*, the direct route the
joint law without its size term (Ye et al. 2025: a step law, then the mixing law at the target step). Curves at
other sizes are left out, and a line says so. With 3 or more sizes the default keeps using them: the size law
through every size, read at the fitted size (interpolation: the same stages as any other target, so that
``predict(params=N, steps=S)`` of one fit and a fit at (N, S) agree).

**Sizes only**, the mirror image. A target step S* (or token count) equal to a recorded one needs no step law:
with fewer than 3 step values in the table (too few checkpoints for the step law: a sweep that records each run's
final loss only, every size trained for the same steps), or when asked (``sizes_only=True``), the pipeline
extrapolates in model size alone at that step, on its rows only (:func:`sizes_only_time`, :func:`at_one_time`):
the nested route is Ye's size law per mixture read at N* and the mixing law there, the direct route the joint law
without its step term. ``target_steps`` / ``target_tokens`` may then be left out (the table's one value). With 3
or more step values the default keeps the step laws (read at the recorded step). The two exclude each other: one
model size and one step leave nothing to extrapolate.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_random_state
from ..data import LOSS_PREFIX, SCALE_COLUMN_WORDS, WEIGHT_PREFIX, RunTable, exact_number, match_size, sizes_up_to
from ..errors import DataWarning, InputError, MixlawError, ScaleWarning, user_stacklevel
from .direct import _direct
from .grouping import _mixture_ids, merge_near_mixtures, merge_near_sizes
from .joint import JOINT_LAWS
from .nested import _nested_many
from .result import (
    ROUTES,
    SCALE_RTOL,
    TWO_SIZES_WAY,
    PipelineResult,
    _check_fit_from,
    _size_list,
    _Target,
    _tokens_per_step,
    scale_matches,
    short_list,
    size_fit_words,
    size_law_refusal,
    step_law_refusal,
)

#: The size law E + A/N^alpha has 3 parameters: with fewer sizes only a fitted size can be a target.
MIN_SIZES = 3
#: The step law E + B/S^beta has 3 parameters: with fewer step values only a recorded step can be a target.
MIN_STEPS = 3
#: A target this many times beyond the table's sizes (or steps, tokens), or as far below them, is more often a
#: unit mismatch (sizes in millions, 70 for 70M, against a target of 1e9) than a planned extrapolation: Ye et al.
#: extrapolate 2.4x in size and 3.3x in steps, Chinchilla-style fits ~100x; a power law read at 1000x says little.
FAR_TARGET = 1000.0


def far_target_lines(table: RunTable, target_params: float, axis: str, target_time: float) -> list[str]:
    """One line per scale (size, then steps or tokens) whose target lies more than :data:`FAR_TARGET` times beyond
    the table's largest value or below its smallest: the two are then probably in different units."""
    time_values = table.steps if axis == "step" else table.tokens
    scales = [("params", "model size", table.model_params, target_params, "70M or 7e7, not 70 for 70M"),
              (axis, f"{axis.rstrip('s')} count", time_values, target_time, "30k or 3e4, not 30 for 30k")]
    lines = []
    for column, what, values, target, example in scales:
        v = None if values is None else values[np.isfinite(values) & (values > 0)]
        if v is None or not v.size:
            continue
        lo, hi = float(v.min()), float(v.max())
        if lo / FAR_TARGET <= target <= FAR_TARGET * hi:
            continue
        how = (f"{target / hi:.3g}x the table's largest {what} ({hi:g})" if target > hi
               else f"1/{lo / target:.3g} of the table's smallest {what} ({lo:g})")
        lines.append(f"the target {what} {target:g} is {how}: is the '{column}' column in the target's unit (raw "
                     f"counts: {example})? A law read that far from its data says little")
    return lines


def steps_only_size(table: RunTable, target_params: float | None, steps_only: bool | None = None) -> float | None:
    """The fitted model size the steps-only pipeline runs at, or None (the pipeline with the size law).

    ``steps_only`` None: the target's size when it is a fitted one and the table has fewer than
    :data:`MIN_SIZES` sizes; True: the target's size, which must be a fitted one (else InputError); False: None.
    ``target_params`` None: the table's one size; a table with several sizes needs a target size (InputError).
    """
    N = table.model_params
    if N is None:
        return None
    sizes = np.unique(N)
    if target_params is None:
        if sizes.size == 1:
            return float(sizes[0])
        raise InputError(f"the table has {sizes.size} model sizes ({_size_list(sizes)}): give the target model "
                         "size (target_params=, --target-params on the command line; one of them extrapolates in "
                         "steps alone)")
    return _one_of(sizes, target_params, steps_only, MIN_SIZES,
                   lambda v: f"steps_only: the target size {v:g} is not a fitted size ({_size_list(sizes)}); the "
                   "steps-only pipeline extrapolates at one of them")


def keep_fit_sizes(table: RunTable, fit_sizes: Any = None, fit_up_to: Any = None, *,
                   target_params: float | None = None, need: int = MIN_SIZES, route: str = "nested",
                   registered: bool = False) -> tuple[RunTable, str | None]:
    """The rows of ``table`` at the model sizes to fit, and a line naming what was left out (None: nothing).

    ``fit_sizes``: the sizes to fit (each naming a model size of the table as :func:`~mixlaw.data.match_size` reads
    it: its nearest within 5 % when no other is that near, ``100K`` for 100096); ``fit_up_to``: every size up to
    this one (:func:`~mixlaw.data.sizes_up_to`: up to the size it names so); give at most one of the two; both
    None: the whole table. A size taken a little off the one given is said in the line. The way to check an
    extrapolation on one's own runs: hold out the largest size, predict it and compare. InputError (one line) for a
    size that names none of the table's (the line lists them), no size left, or fewer than ``need`` sizes (3 for the
    size law; 2 for a law that takes N, ``registered``) left while the target ``target_params`` is not one of them
    (a target at a kept size extrapolates in steps alone)."""
    if fit_sizes is None and fit_up_to is None:
        return table, None
    if fit_sizes is not None and fit_up_to is not None:
        raise InputError("give at most one of fit_sizes and fit_up_to (--fit-sizes / --fit-up-to): the sizes to fit, "
                         "or every size up to one")
    N = table.model_params
    if N is None:
        raise InputError(f"{table.path or 'run table'}: fit_sizes and fit_up_to need a 'params' column")
    sizes = np.unique(N)
    taken: list[tuple[float, float]] = []  # (given, the table's size it was read as) where they differ (match_size)
    if fit_sizes is not None:
        if isinstance(fit_sizes, str | bytes):
            # list('1e7,2e7') is its characters: the first one, '1', was reported as a size not in the table.
            raise InputError(f"fit_sizes must be a list of model sizes (numbers), e.g. [7e7, 1.6e8]; got the string "
                             f"{fit_sizes!r} (the command line's --fit-sizes takes '70M,160M')")
        asked = [fit_sizes] if isinstance(fit_sizes, int | float | np.number) else list(fit_sizes)
        if not asked:
            raise InputError("fit_sizes (--fit-sizes) is empty: name the model sizes to fit, e.g. 70M,160M,410M")
        kept: list[float] = []
        for v in asked:
            try:
                x = float(v)
            except (TypeError, ValueError):
                raise InputError(f"fit_sizes (--fit-sizes) must be model sizes; got {v!r}") from None
            size, line = match_size(sizes, x, "fit_sizes (--fit-sizes)")
            kept.append(size)
            if line is not None:
                taken.append((x, size))
        keep_sizes = np.unique(kept)
        what = "fit_sizes"
    else:
        try:
            top = float(fit_up_to)
        except (TypeError, ValueError):
            raise InputError(f"fit_up_to (--fit-up-to) must be a model size; got {fit_up_to!r}") from None
        if not (np.isfinite(top) and top > 0):
            # nan compares False with every size: it was reported as 'below every model size'.
            raise InputError(f"fit_up_to (--fit-up-to) must be a positive model size; got {fit_up_to!r}")
        keep_sizes, line = sizes_up_to(sizes, top, "fit_up_to (--fit-up-to)")
        if line is not None:
            taken.append((top, float(keep_sizes.max())))
        if not keep_sizes.size:
            raise InputError(f"fit_up_to (--fit-up-to) {top:g} is below every model size of the table "
                             f"({_size_list(sizes)}): nothing to fit")
        what = f"fit_up_to={top:g}"
    left = np.setdiff1d(sizes, keep_sizes)
    try:
        Nt = None if target_params is None else float(target_params)
    except (TypeError, ValueError):
        Nt = None  # check_inputs says what is wrong with it
    at_target = Nt is not None and bool(np.any(scale_matches(keep_sizes, Nt)))
    if keep_sizes.size < need and not at_target and not (Nt is None and keep_sizes.size == 1):
        to = "" if Nt is None else f" to N* = {Nt:g}"
        raise InputError(f"{what} keeps {keep_sizes.size} of the table's {sizes.size} model sizes "
                         f"({_size_list(keep_sizes)}): {size_fit_words(route, registered)} needs {need} to "
                         f"extrapolate{to}; keep {need} or more (a target equal to a kept size extrapolates in steps "
                         f"alone){f'; {TWO_SIZES_WAY}' if need > 2 and keep_sizes.size == 2 else ''}")
    said = ("" if not taken else f"; {', '.join(f'{v:g} read as {exact_number(t)}' for v, t in taken)}, the "
            f"table's nearest model size{'s' if len(taken) > 1 else ''}")
    if not left.size:
        return table, (f"{what}: every model size of the table kept{said}" if said else None)
    keep = np.isin(N, keep_sizes)
    return table.subset(keep), (f"{what}: fitted on {keep_sizes.size} of the table's {sizes.size} model sizes "
                                f"({_size_list(keep_sizes)}); {int((~keep).sum())} row(s) at "
                                f"{_size_list(left)} left out{said}")


def _one_of(values: np.ndarray, target: Any, asked: bool | None, minimum: int,
            not_one: Callable[[float], str]) -> float | None:
    """The value of ``values`` (sizes, or steps) that ``target`` is, for a one-scale pipeline, or None.

    ``asked`` None: only when there are fewer than ``minimum`` values (too few for the law across them); True:
    ``target`` must be one of them (else InputError ``not_one(target)``); False: None."""
    try:
        t = float(target)
    except (TypeError, ValueError):
        return None
    if asked is False or (asked is None and values.size >= minimum):
        return None
    hit = np.flatnonzero(scale_matches(values, t))
    if not hit.size:
        if asked:
            raise InputError(not_one(t))
        return None
    return float(values[hit[0]])


def at_one_size(table: RunTable, size: float) -> tuple[RunTable, str | None]:
    """The rows of ``table`` at model size ``size``, and a line naming what was left out (None: nothing)."""
    N = table.model_params
    assert N is not None
    keep = np.abs(N - size) <= SCALE_RTOL * abs(size)
    if keep.all():
        return table, None
    others = np.unique(N[~keep])
    _, inv = _mixture_ids(table.weights)
    n_curves = pd.Series(inv[~keep]).groupby(N[~keep]).nunique().sum()
    return table.subset(keep), (f"steps only: the target size N* = {size:g} is a fitted size, so the pipeline "
                                f"extrapolates in steps at that size alone; {int(n_curves)} curve(s) at the other "
                                f"size(s) ({_size_list(others)}) left out")


def _axis_words(axis: str) -> tuple[str, str]:
    """(symbol, unit) of the time axis: ("S", "step") or ("D", "token count")."""
    return ("S", "step") if axis == "step" else ("D", "token count")


def sizes_only_time(table: RunTable, axis: str, target_time: float | None,
                    sizes_only: bool | None = None) -> float | None:
    """The recorded step (or token count, by ``axis``) the sizes-only pipeline runs at, or None (step laws).

    The mirror of :func:`steps_only_size`. ``sizes_only`` None: the target's value when it is a recorded one and
    the table has fewer than :data:`MIN_STEPS` values; True: the target's, which must be recorded (else
    InputError); False: None. ``target_time`` None: the table's one value; several need a target (InputError).
    """
    T = table.steps if axis == "step" else table.tokens
    if T is None:
        return None
    values = np.unique(T[T > 0]) if np.any(T > 0) else np.unique(T)
    _, unit = _axis_words(axis)
    if target_time is None:
        if values.size == 1:
            return float(values[0])
        raise InputError(f"the table has {values.size} {unit} values ({short_list(values)}): give exactly one of "
                         "target_steps and target_tokens (--target-steps / --target-tokens: the target run's length; "
                         f"a recorded {unit} extrapolates in model size alone)")
    return _one_of(values, target_time, sizes_only, MIN_STEPS,
                   lambda v: f"sizes_only: the target {unit} {v:g} is not a recorded one ({short_list(values)}); the "
                   "sizes-only pipeline extrapolates in model size at one of them")


def at_one_time(table: RunTable, axis: str, time: float) -> tuple[RunTable, str | None]:
    """The rows of ``table`` at step (or token count) ``time``, and a line naming what was left out (None:
    nothing)."""
    T = table.steps if axis == "step" else table.tokens
    assert T is not None
    keep = np.abs(T - time) <= SCALE_RTOL * abs(time)
    if keep.all():
        return table, None
    sym, unit = _axis_words(axis)
    return table.subset(keep), (f"sizes only: the target {unit} {sym}* = {time:g} is a recorded one, so the "
                                f"pipeline extrapolates in model size at that {unit} alone; {int((~keep).sum())} "
                                f"checkpoint(s) at the other {unit}(s) ({short_list(np.unique(T[~keep]))}) left out")


def check_step_law(table: RunTable, axis: str) -> None:
    """InputError (one line) when no curve (one mixture at one size) has the 3 checkpoints on ``axis`` that the
    step law's 3 parameters need (beta shared across curves; 4 for a curve's own): each run's final loss only.
    It names the recorded steps that 3 or more sizes share, where the sizes-only pipeline can run instead."""
    T, N = (table.steps if axis == "step" else table.tokens), table.model_params
    assert T is not None and N is not None
    keep = T > 0
    _, mix = _mixture_ids(table.weights)
    most = int(pd.Series(T[keep]).groupby([mix[keep], N[keep]]).nunique().max()) if keep.any() else 0
    if most >= MIN_STEPS:
        return
    values = np.unique(T[keep])
    shared = np.array([v for v in values if np.unique(N[keep & (T == v)]).size >= MIN_SIZES])
    raise step_law_refusal(values, axis, most, shared)


def check_size_law(table: RunTable, axis: str, time: float | None, registered: bool, route: str = "nested"
                   ) -> None:
    """InputError (one line) when the table has too few model sizes for the size law or the direct joint law's size
    term (3), or, with a registered direct law that takes N (``registered``), for any fit across sizes (2). ``time``:
    the sizes-only step, named in the line (the runs at that step are the ones counted); ``route`` ("nested",
    "direct" or "auto"): the line names what fits across sizes on it (:func:`.result.size_fit_words`)."""
    sizes = np.unique(table.model_params)  # type: ignore[arg-type]
    need = 2 if registered else MIN_SIZES
    if sizes.size < need:
        raise size_law_refusal(sizes, size_fit_words(route, registered),
                               at_time=None if time is None else f"{_axis_words(axis)[0]} = {time:g}", need=need)


def one_scale(table: RunTable, Nt: float | None, axis: str, Tt: float | None, steps_only: bool | None,
              sizes_only: bool | None) -> tuple[float | None, float | None]:
    """(the steps-only size, the sizes-only step): at most one of them is not None (InputError when the table
    and the target leave nothing to extrapolate, or both were asked for)."""
    if steps_only and sizes_only:
        raise InputError("steps_only and sizes_only exclude each other: steps only extrapolates in steps at a fitted "
                         "model size, sizes only in model size at a recorded step; give one")
    size = None if sizes_only else steps_only_size(table, Nt, steps_only)
    time = None if steps_only else sizes_only_time(table, axis, Tt, sizes_only)
    if size is not None and time is not None:
        sym, unit = _axis_words(axis)
        raise InputError(f"the target (N = {size:g}, {sym} = {time:g}) is a fitted size at a recorded {unit}, and the "
                         f"table has too few sizes to extrapolate in size and too few {unit}s to extrapolate in "
                         f"{unit}s: nothing to extrapolate (fit the mixing law at that scale with 'mixlaw fit', or "
                         "add runs at 3 or more sizes or checkpoints)")
    return size, time


def fit_route(table: RunTable, *, target_params: float | None, target_steps: float | None = None,
              target_tokens: float | None = None, route: str = "nested", law: str = "ye-exp", targets: Any = "all",
              random_state: int | np.random.Generator | None = 0, law_options: dict[str, Any] | None = None,
              shared_exponents: bool | str = True, fit_from: float = 0.0,
              warm: PipelineResult | None = None, steps_only: bool | None = None,
              sizes_only: bool | None = None) -> PipelineResult:
    """:func:`~mixlaw.pipeline.fit_pipeline` with one fixed route and mixing law (its parameters, no ``auto``);
    ``warm``, ``steps_only`` and ``sizes_only`` as in :func:`fit_candidates`."""
    out = fit_candidates(table, target_params=target_params, target_steps=target_steps, target_tokens=target_tokens,
                         candidates=[(route, law)], targets=targets, random_state=random_state,
                         law_options=law_options, shared_exponents=shared_exponents, fit_from=fit_from,
                         warm=None if warm is None else {(route, law): warm}, steps_only=steps_only,
                         sizes_only=sizes_only)
    res = out[(route, law)]
    if isinstance(res, MixlawError):
        raise res
    return res


def fit_candidates(table: RunTable, *, target_params: float | None, target_steps: float | None = None,
                   target_tokens: float | None = None, candidates: list[tuple[str, str]], targets: Any = "all",
                   random_state: int | np.random.Generator | None = 0, law_options: dict[str, Any] | None = None,
                   shared_exponents: bool | str = True, fit_from: float = 0.0,
                   warm: dict[tuple[str, str], PipelineResult] | None = None, steps_only: bool | None = None,
                   sizes_only: bool | None = None) -> dict[tuple[str, str], PipelineResult | MixlawError]:
    """Fit every (route, law) of ``candidates``; a candidate that cannot be fitted maps to its error.

    Bad arguments and a table the pipeline cannot read at all still raise :class:`InputError`. The nested
    candidates share one stage 1 (their step laws are identical), so adding a mixing law costs its own fit only.
    ``warm`` maps a (route, law) to its result on nearby data (the jackknife's and the backtest's refits): the
    mixing law (nested) or joint law (direct) then starts from its parameters, one start, the usual multistart
    only when that does not converge.
    ``steps_only``: extrapolate in steps alone at the target size (module docstring); None (the default): when
    the target size is a fitted size and the table has fewer than 3 sizes (``target_params`` None: the table's
    one size). The backtests of a pipeline with the size law pass False (their target, the largest size, may be
    one they fit). ``sizes_only``, its mirror: extrapolate in model size alone at the target step (or token
    count); None: when it is a recorded one and the table has fewer than 3 of them (``target_steps`` and
    ``target_tokens`` None: the table's one value). With 1-2 recorded values and a target elsewhere, InputError
    (the nested route's step law needs 3 checkpoints per curve; the direct route's joint law, whose step term every
    curve shares, 3 step values in all).
    """
    for route, _ in candidates:
        if route not in ROUTES:
            raise InputError(f"route must be one of {ROUTES}; got {route!r}")
    Nt, Tt, axis, names, fit_from = check_inputs(table, target_params, target_steps, target_tokens, targets,
                                                 shared_exponents, fit_from)
    msgs: list[str] = far_target_lines(table, Nt, axis, Tt)
    for line in msgs:
        warnings.warn(line, ScaleWarning, stacklevel=user_stacklevel(3))
    for merge in (merge_near_mixtures, merge_near_sizes):
        table, line = merge(table)
        if line is not None:  # fit_pipeline has merged them and said so already; a direct call says it here
            msgs.append(line)
            warnings.warn(line, DataWarning, stacklevel=user_stacklevel(3))
    size, time = one_scale(table, Nt, axis, Tt, steps_only, sizes_only)
    # A registered law that takes N fits the final checkpoints as they are (no step law); the joint law shares its
    # step term across every curve, so it needs 3 step values in all, not 3 per curve (direct.py checks that).
    direct_n = [lw for r, lw in candidates if r == "direct" and lw not in JOINT_LAWS]
    routes = {r for r, _ in candidates}
    nested_error: InputError | None = None
    if time is not None:
        Tt = time
        table, line = at_one_time(table, axis, time)
        if line is not None:
            msgs.append(line)
    elif not direct_n and "nested" in routes:
        try:
            check_step_law(table, axis)
        except InputError as err:
            if routes == {"nested"}:
                raise
            # The direct joint law's step term, shared by every curve, may still fit (curves of 2 checkpoints at
            # staggered steps): the nested candidates fail alone, not the direct ones with them.
            nested_error = err
    if size is not None:
        Nt = size
        table, line = at_one_size(table, size)
        if line is not None:
            msgs.append(line)
    else:
        check_size_law(table, axis, time, bool(direct_n), next(iter(routes)) if len(routes) == 1 else "auto")
    N_all = table.model_params
    T_all = table.steps if axis == "step" else table.tokens
    assert N_all is not None and T_all is not None
    keep = T_all > 0
    if not keep.all():
        msgs.append(f"{int((~keep).sum())} row(s) at {axis} <= 0 ignored (the step law needs S > 0)")
        table = table.subset(keep)
    if fit_from > 0:
        T = table.steps if axis == "step" else table.tokens
        assert T is not None
        # A curve is one mixture at one size (a run id may span sizes when the table is keyed that way).
        _, mix = _mixture_ids(table.weights)
        last = pd.Series(T).groupby([mix, table.model_params]).transform("max").to_numpy()
        late = T >= fit_from * last - 1e-9
        msgs.append(f"fit_from={fit_from:g}: {int((~late).sum())} early checkpoint(s) of {len(late)} left out")
        table = table.subset(late)
        if time is None and not direct_n and "nested" in routes and nested_error is None:
            # The step law was checked on the whole curves above; the window can leave too few checkpoints, and
            # the nested fit then said so without naming the option that dropped them (--fit-from 0.99).
            try:
                check_step_law(table, axis)
            except InputError as err:
                raise InputError(f"{err} (fit_from={fit_from:g}, --fit-from, left out {int((~late).sum())} early "
                                 f"checkpoint(s) of {len(late)}: lower it)") from err
    rng = check_random_state(random_state)
    at = _Target(Nt, Tt, axis, _tokens_per_step(table))
    opts = dict(law_options or {})
    results: dict[tuple[str, str], PipelineResult | MixlawError] = {}
    nested_laws = list(dict.fromkeys(law for route, law in candidates if route == "nested"))
    if nested_laws and nested_error is not None:
        results.update({("nested", law): nested_error for law in nested_laws})
    elif nested_laws:
        try:
            warm_laws = {law: r.mixing_law for (route, law), r in (warm or {}).items()
                         if route == "nested" and isinstance(r, PipelineResult) and list(r.targets) == names}
            for law, res in _nested_many(table, at, nested_laws, names, rng, opts, list(msgs),
                                         shared_exponents, warm_laws, steps_only=size is not None,
                                         sizes_only=time is not None).items():
                results[("nested", law)] = res
        except MixlawError as err:
            results.update({("nested", law): err for law in nested_laws})
    for route, law in candidates:
        if route == "direct" and (route, law) not in results:
            try:
                results[(route, law)] = _direct(table, at, law, names, rng, opts, list(msgs),
                                                (warm or {}).get((route, law)), steps_only=size is not None,
                                                sizes_only=time is not None)
            except MixlawError as err:
                results[(route, law)] = err
    low = smallest_fitted(table, axis)  # the rows the routes fitted: fit_from's window, S > 0, one size / time
    for res in results.values():
        if isinstance(res, PipelineResult):
            res.target_steps, res.target_tokens, res.time_axis = at.steps, at.tokens, axis
            res.smallest_fitted = low.copy()
    return results


def smallest_fitted(table: RunTable, axis: str) -> np.ndarray:
    """The smallest model size and the smallest step (or token count, ``axis``) of the rows the routes fit, NaN where
    there is none (:attr:`~.result.PipelineResult.smallest_fitted`). Taken from the table as the routes fit it, not
    as fit_pipeline was given it: with fit_from=0.3 on steps 250-3000 the step laws fit 1000-3000, and the table's
    250 let predict(steps=500) read them downward without the warning (review27a)."""
    out = []
    for v in (table.model_params, table.steps if axis == "step" else table.tokens):
        v = np.asarray([] if v is None else v, dtype=np.float64)
        v = v[np.isfinite(v) & (v > 0)]
        out.append(float(v.min()) if v.size else float("nan"))
    return np.array(out)


def _named_like(table: RunTable, column: str) -> str:
    """For a missing ``column``: the table's columns whose names look like it, and the import that renames one."""
    like = [str(c) for c in table.frame.columns
            if str(c) not in ("run", column) and not str(c).startswith((WEIGHT_PREFIX, LOSS_PREFIX))
            and any(w in str(c).lower() for w in SCALE_COLUMN_WORDS[column])]
    if not like:
        return ""
    have = f"; the table has {', '.join(repr(c) for c in like)}: name one {column!r}"
    if table.path in (None, "DataFrame"):
        # A table built in Python (RunTable(df), read_runs_mapped(df, ...)) has no file to import: the hint was
        # 'mixlaw runs import TABLE --columns ...', a command for a file the user does not have.
        return f"{have}, e.g. RunTable(df.rename(columns={{{like[0]!r}: {column!r}}}))"
    return f"{have}, e.g. 'mixlaw runs import {table.path} --columns {column}={like[0]} --out runs.csv'"


#: The step a table with neither a ``step`` nor a ``tokens`` column is read at (:func:`read_as_final_losses`).
FINAL_STEP = 1.0


def read_as_final_losses(table: RunTable, target_steps: Any, target_tokens: Any) -> tuple[RunTable, str | None]:
    """A table of final losses (a ``params`` column but neither ``step`` nor ``tokens``, RegMix's layout) with no
    target step given: every row is its run's last checkpoint, one step (:data:`FINAL_STEP`) shared by all, so
    the pipeline extrapolates in model size alone (sizes only); and a line saying so. The table as it is (and
    None) otherwise: a target step without its column, or a column whose name looks like a step or token count
    ('iteration', 'n_tokens'), stays :func:`check_inputs`'s error, which names that column.

    Why not an error: a sweep that logged each run's final losses at several sizes is the commonest table there
    is, and reading it as one checkpoint is the only reading it allows. The target is then a run trained as the
    table's runs were (at the same steps, or the same tokens per parameter when the sizes were trained that way).
    """
    cols = set(table.frame.columns)
    if target_steps is not None or target_tokens is not None or "params" not in cols or cols & {"step", "tokens"}:
        return table, None
    if _named_like(table, "step") or _named_like(table, "tokens"):
        return table, None  # a column that looks like one ('iteration'): check_inputs' error names it
    out = table.subset(slice(None))
    out.frame["step"] = FINAL_STEP
    return out, (f"{table.path or 'run table'}: no 'step' or 'tokens' column: every row is read as its run's "
                 f"final loss, one checkpoint shared by all runs (S = {FINAL_STEP:g} below), so the pipeline "
                 "extrapolates in model size alone; the target is a run trained as these runs were (the same "
                 "steps, or the same tokens per parameter)")


#: The model size a table with a ``step`` (or ``tokens``) column but no ``params`` column is read at
#: (:func:`read_as_one_size`).
ONE_SIZE = 1.0


def read_as_one_size(table: RunTable, target_params: Any = None) -> tuple[RunTable, str | None]:
    """A table of one model's checkpoints (a ``step`` or ``tokens`` column but no ``params``: a fine-tuning or
    continued-pretraining sweep of one model) with no target size given: every row is that model's, one size
    (:data:`ONE_SIZE`) shared by all, so the pipeline extrapolates in steps alone; and a line saying so. The table
    as it is (and None) otherwise: a target size without the column, or a column whose name looks like a model
    size ('model_size', 'n_params'), stays :func:`check_inputs`'s error, which names that column.

    The mirror of :func:`read_as_final_losses`. Chen et al.'s BO sweep (LoRA fine-tunes of one 8B model, eval losses
    every 25 steps) fitted to step 300 with ``--target-steps 625`` stopped at "the pipeline needs a 'params' column
    (the model size of each row)": the one reading such a table allows is one size, which the user had to invent.
    """
    cols = set(table.frame.columns)
    if target_params is not None or "params" in cols or not cols & {"step", "tokens"}:
        return table, None
    if _named_like(table, "params"):
        return table, None
    out = table.subset(slice(None))
    out.frame["params"] = ONE_SIZE
    return out, (f"{table.path or 'run table'}: no 'params' column: every row is read as one model's checkpoint "
                 f"(N = {ONE_SIZE:g} below), so the pipeline extrapolates in steps alone at that model; a 'params' "
                 "column (its size, the same in every row) prints it instead")


@contextmanager
def final_losses_noted(line: str | None) -> Iterator[None]:
    """Re-raise an InputError from the block that names a step (S = 1, the step law) with a note that S =
    :data:`FINAL_STEP` is not a step of the table when :func:`read_as_final_losses` read it (``line`` not None);
    as it is otherwise (an unknown eval set's error needs no word of steps)."""
    try:
        yield
    except InputError as err:
        msg = err.args[0] if err.args and isinstance(err.args[0], str) else ""
        if line is not None and (f"S = {FINAL_STEP:g}" in msg or "step" in msg):
            err.args = (f"{err.args[0]} (S = {FINAL_STEP:g}: the table has no 'step' or 'tokens' column, so each "
                        "row was read as its run's final loss, all at one step)", *err.args[1:])
        raise


def check_inputs(table: Any, target_params: Any, target_steps: Any, target_tokens: Any, targets: Any,
                 shared_exponents: Any, fit_from: Any) -> tuple[float, float, str, list[str], float]:
    """Validate the pipeline's table and arguments: (N*, T*, time axis, eval names, fit_from), or InputError.

    ``target_params`` None is the table's one model size (InputError when it has several); ``target_steps`` and
    ``target_tokens`` both None, the table's one step (``step`` column, else ``tokens``; InputError when it has
    several)."""
    if not isinstance(table, RunTable):
        raise InputError(f"the pipeline needs a RunTable; got {type(table).__name__}")
    where = table.path or "run table"
    if "params" not in table.frame.columns:
        raise InputError(f"{where}: the pipeline needs a 'params' column (the model size of each row)"
                         f"{_named_like(table, 'params')}")
    if len(table.frame) == 0:
        raise InputError(f"{where}: the table has no rows; the pipeline needs checkpoints of runs (at 3 or more "
                         "model sizes to extrapolate in size, at one to extrapolate in steps)")
    if shared_exponents not in ("auto", True, False):
        raise InputError(f"shared_exponents must be 'auto', True or False; got {shared_exponents!r}")
    fit_from = _check_fit_from(fit_from)
    if target_steps is not None and target_tokens is not None:
        raise InputError("give exactly one of target_steps and target_tokens (the target run's length), not both")
    if target_steps is None and target_tokens is None:
        axis = "step" if "step" in table.frame.columns else "tokens"
        if axis not in table.frame.columns:
            raise InputError(f"{where}: the pipeline needs a 'step' or 'tokens' column (the checkpoint of each row)"
                             f"{_named_like(table, 'step') or _named_like(table, 'tokens')}")
    else:
        axis = "step" if target_tokens is None else "tokens"
    # Only the column of the target's axis is needed: a sweep that logs tokens alone (Dai & Zheng's SlimPajama
    # runs) extrapolates in tokens; one that logs steps alone, in steps.
    if axis == "tokens" and "tokens" not in table.frame.columns:
        # As for target_steps below: Ye et al.'s runs (a 'step' column) with --target-tokens 100B named neither
        # the table's 'step' nor the option that reads it.
        hint = (" (the table has 'step': give target_steps instead, --target-steps on the command line, or add a "
                "'tokens' column, each row's step x batch size x sequence length)"
                if "step" in table.frame.columns else _named_like(table, "tokens"))
        raise InputError(f"{where}: target_tokens needs a 'tokens' column (tokens seen at each checkpoint){hint}")
    if axis == "step" and "step" not in table.frame.columns:
        # Both spellings: `mixlaw pipeline --target-steps` reached this line, which named only the Python argument.
        # W&B's '_step' beside 'tokens' is named too: it may be the step column the user meant.
        like = _named_like(table, "step")
        hint = (" (the table has 'tokens': give target_tokens instead, --target-tokens on the command line"
                + like.replace("; the table has ", "; it also has ", 1) + ")"
                if "tokens" in table.frame.columns else like)
        raise InputError(f"{where}: target_steps needs a 'step' column (the checkpoint step of each row){hint}")
    raw = target_steps if axis == "step" else target_tokens
    if raw is None:
        raw = sizes_only_time(table, axis, None)  # the table's one step (or token count), or InputError
    if target_params is None:
        target_params = steps_only_size(table, None)  # the table's one size, or InputError
    try:
        Nt, Tt = float(target_params), float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"target_params and target_{axis.rstrip('s')}s must be numbers; got {target_params!r}, "
                         f"{raw!r}") from None
    # A target inside the runs' range is interpolation, as in PipelineResult.predict(params=, steps=).
    if not (np.isfinite(Nt) and Nt > 0):
        raise InputError(f"target_params must be a positive model size; got {Nt:g}")
    if not (np.isfinite(Tt) and Tt > 0):
        raise InputError(f"target_{axis.rstrip('s')}s must be a positive {axis.rstrip('s')} count; got {Tt:g}")
    names = table.resolve_targets(targets)
    return Nt, Tt, axis, names, fit_from
