"""Backtests of the pipeline inside the data: cut curves or hold out the largest size, refit, compare.

Owns :class:`Backtest` (one held-out comparison: its extrapolation ratio and errors) and
:func:`backtest_pipeline`, which reruns :func:`~mixlaw.pipeline.fitting.fit_route` on part of the table and
scores its predictions on the part left out: an empirical error bar for the real extrapolation.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..data import RunTable, frame_as_table
from ..errors import DataWarning, InputError, MixlawWarning, user_stacklevel
from .fitting import (
    at_one_size,
    at_one_time,
    fit_route,
    one_scale,
    read_as_final_losses,
    read_as_one_size,
    sizes_only_time,
    steps_only_size,
)
from .grouping import (
    _WEIGHT_DECIMALS,
    _mixture_ids,
    merge_near_mixtures,
    merge_near_sizes,
    snap_target_size,
    snap_target_time,
)
from .joint import JOINT_LAWS
from .result import (
    _check_fit_from,
    held_out_size_words,
    short_list,
)
from .split import leave_scale_out_split
from .tails import rising_evals_checked


@dataclass
class Backtest:
    """How well the pipeline extrapolated *within* the data: an empirical error bar for the real extrapolation.

    Attributes
    ----------
    kind : {"steps", "tokens", "size"}
        ``steps``: every curve cut at its last step / ``ratio``, extrapolated back to its last step at the
        largest size (``tokens``: the same over the ``tokens`` column, for a pipeline fitted in tokens).
        ``size``: the largest size held out, predicted from the smaller ones at its last step.
    description : str
    ratio : float
        Extrapolation factor tested (steps or model size).
    mre : float
        Mean of |predicted / measured - 1| over the held-out (mixture, eval) entries.
    max_rel_error : float
    mean_signed : float
        Mean of predicted / measured - 1 (> 0: the pipeline predicts too high).
    n : int
        Held-out entries.
    skipped : str or None
        Why this part could not run (too few checkpoints or sizes, or its fit failed); its numbers are then
        nan and 0, and the backtest as a whole is partial.
    not_needed : str or None
        Why the real extrapolation does not need this part (the size part of a steps-only pipeline, the steps
        part of a sizes-only one): its numbers are nan and 0, and the backtest is not partial for it.
    """

    kind: str
    description: str
    ratio: float
    mre: float
    max_rel_error: float
    mean_signed: float
    n: int
    skipped: str | None = None
    not_needed: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = dict(vars(self))
        # A part that did not run has nan errors; --json writes them as null with a reason, and the generic one
        # ("undefined for these data (e.g. ... a zero denominator)") misled: say that the part was not run, and why.
        why = (f"not needed: {self.not_needed}" if self.not_needed is not None
               else f"not run: {self.skipped}" if self.skipped is not None else None)
        if why is not None:
            for key in ("mre", "max_rel_error", "mean_signed"):
                out[f"{key}_reason"] = why
            if not np.isfinite(self.ratio):  # no ratio held out either ('size not needed' at a fitted size)
                out["ratio_reason"] = why
        return out

    def __str__(self) -> str:
        if self.not_needed is not None:
            return f"    {self.kind:<6} not needed: {self.not_needed}"
        if self.skipped is not None:
            return f"    {self.kind:<6} not run: {self.skipped} (the backtest is partial)"
        return (f"    {self.kind:<6} {self.ratio:>6.3g}x  MRE {self.mre:>7.2%}  max {self.max_rel_error:>7.2%}  "
                f"signed {self.mean_signed:>+7.2%}  ({self.n} entries: {self.description})")


def _cut_too_short(S: np.ndarray, mix: np.ndarray, N: np.ndarray, route: str, law: str, unit: str,
                   ratio: float) -> str | None:
    """Why curves cut at their last step / ``ratio`` cannot be fitted on ``route`` (None: they can): the nested
    route's step laws need 3 checkpoints per curve, the direct joint law 3 step values in all (a registered law
    that takes N fits final checkpoints, no step law)."""
    if route == "direct" and law not in JOINT_LAWS:
        return None
    values = np.unique(S)
    sym = "S" if unit == "step" else "D"
    if route == "direct":
        if values.size >= 3:
            return None
        return (f"cutting each curve at its last {unit} / {ratio:g} leaves {values.size} {unit} value(s) "
                f"({short_list(values)}); the direct joint law's step term needs 3")
    most = int(pd.Series(S).groupby([mix, N]).nunique().max())
    if most >= 3:
        return None
    return (f"cutting each curve at its last {unit} / {ratio:g} leaves at most {most} checkpoint(s) per curve "
            f"(at {short_list(values)}); the step law L({sym}) = E + B/{sym}^beta needs 3 per curve")


def backtest_pipeline(table: RunTable, *, route: str = "nested", law: str = "ye-exp", targets: Any = "all",
                      step_ratio: float | None = None, random_state: int | np.random.Generator | None = 0,
                      shared_exponents: bool | str = True, law_options: dict[str, Any] | None = None,
                      fit_from: float = 0.0, axis: str | None = None,
                      target_params: float | None = None, steps_only: bool | None = None,
                      target_time: float | None = None, sizes_only: bool | None = None,
                      check_rising: bool = True) -> list[Backtest]:
    """Backtests of the pipeline inside the data, to read next to a real extrapolation.

    * **steps**: keep each run's checkpoints up to its last step / r, fit the pipeline, predict the largest
      size's last step, and compare with the measured final losses (tests the step stage over r);
    * **size** (with >= 4 model sizes): hold out the largest size, fit on smaller sizes' whole curves, predict the
      largest size at its last step (tests the size stage over the ratio of the held-out size to the largest one
      fitted).

    With the target (``target_params`` and ``target_time``) and no ``step_ratio``, each part is the
    leave-scale-out split that ``route="auto"`` scores as that part "alone" (:func:`.split.leave_scale_out_split`):
    r the cut nearest in log to the target's S*/S_L that leaves every curve 3 checkpoints, and the fitted sizes
    the ones whose ratio to the held-out size is nearest N*/N_L. A part the target does not extrapolate over is
    "not needed". So the two never disagree on what can run: on Ye et al.'s 5Mix runs (tokens, nested route)
    a fixed 3x cut left the 410M curves 2 checkpoints and the part "not run", while auto scored it at 2.14x.
    Without the target, r is ``step_ratio`` (3 when None) and every smaller size is fitted.

    The numbers bound what to expect, they do not guarantee it: a real extrapolation usually reaches further
    than the data allows to test. Both parts score the largest size's runs that reach its longest run's last step,
    at that step (smaller sizes may train longer, as in Ye et al.'s 5Mix sweep: they stay in the fit).

    Parameters
    ----------
    table : RunTable, or a DataFrame in its columns
        The pipeline's runs (``params`` and ``step`` or ``tokens`` columns; a table with neither is read as each
        run's final loss, as :func:`~mixlaw.pipeline.fit_pipeline` reads it).
    route, law, targets, random_state, shared_exponents, law_options, fit_from
        As in :func:`fit_pipeline`. ``fit_from`` keeps the real fit's window: each curve's checkpoints before
        ``fit_from`` x its *whole* length are left out before cutting (applied to the cut curve it would move the
        window back into the fast initial drop that the real fit leaves out).
    step_ratio : float, optional
        Extrapolation factor of the steps backtest (> 1), a fixed cut; default: auto's split's (above), or 3
        without the target.
    axis : {"step", "tokens"}, optional
        The time axis the pipeline extrapolates over (``PipelineResult.time_axis``): the curves are cut and
        predicted in steps or in tokens. Default: ``step`` when the table has a ``step`` column, else ``tokens``
        (a sweep that logs tokens alone, as Dai & Zheng's).
    target_params : float, optional
    steps_only : bool, optional
        The pipeline's target size, and whether it is the steps-only pipeline (as in
        :func:`~mixlaw.pipeline.fit_pipeline`; a one-size table is): then the steps part runs at that size alone,
        and the size part is there as not needed. Without ``target_params`` (the default) the backtest is the
        size-law pipeline's on a table of several sizes.
    target_time : float, optional
    sizes_only : bool, optional
        The mirror image: the pipeline's target step (or token count, by ``axis``), and whether it is the
        sizes-only pipeline (a table of one step is): then the size part runs at that step alone, and the steps
        part is there as not needed.
    check_rising : bool, default True
        An eval that rises with training (an accuracy in a ``loss:`` column, :func:`.tails.rising_evals`) is named
        in one :class:`DataWarning`, and when every eval to score does, InputError: as
        :func:`~mixlaw.pipeline.fit_pipeline` says it. False: no check, for the backtest of a pipeline whose fit made
        it on the evals it read (``mixlaw pipeline --backtest``): a weighted total that ``route="auto"`` chose to fit
        is one column the fit did not check, and a sizes-only (steps-only) backtest reads its curves at one step
        (size), so the same evals came out refused, or named a second time in other counts.

    Returns
    -------
    list of Backtest
        Both parts, always: a part the data do not allow (a single checkpoint per curve, 3 sizes, a fit that
        fails on the reduced table) is there with ``skipped`` saying why, never left out silently.
    """
    if step_ratio is not None and not step_ratio > 1:
        raise InputError(f"step_ratio must be > 1; got {step_ratio!r}")
    fit_from = _check_fit_from(fit_from)
    table, axis, target_params, one, one_time = _as_the_pipeline_reads(table, targets, axis, target_params,
                                                                       steps_only, target_time, sizes_only)
    # As fit_pipeline says it, on the rows it fits: an accuracy in a loss: column was scored as a loss without a word.
    rising_line = rising_evals_checked(table, axis, table.resolve_targets(targets)) if check_rising else None
    if rising_line is not None:
        warnings.warn(rising_line, DataWarning, stacklevel=user_stacklevel(2))
    parts = _Parts.of(table, axis, targets, fit_from, one, one_time,
                      dict(route=route, law=law, random_state=random_state, shared_exponents=shared_exponents,
                           law_options=law_options))
    # auto's split of each part alone, when the target is known and no fixed cut is asked for (docstring).
    splits = {}
    if step_ratio is None and target_params is not None and target_time is not None:
        Nt = float(one if one is not None else target_params)
        Tt = float(one_time if one_time is not None else target_time)
        registered = route == "direct" and law not in JOINT_LAWS
        splits = {p: leave_scale_out_split(table, Nt, Tt, axis, fit_from=fit_from, parts=(p,), route=route,
                                           registered=registered) for p in ("time", "size")}
    # The size both parts predict: the split's, which leaves out a largest size of a few runs at the target.
    parts.held_N = float(parts.sizes[-1])
    if splits:
        parts.held_N, parts.S_end = splits["size"].held_params, splits["size"].held_time
    _steps_part(parts, splits, step_ratio, one_time, target_time)
    _size_part(parts, splits, one, target_params)
    return parts.out


def _as_the_pipeline_reads(table: RunTable | pd.DataFrame, targets: Any, axis: str | None,
                           target_params: float | None, steps_only: bool | None, target_time: float | None,
                           sizes_only: bool | None) -> tuple[RunTable, str, float | None, float | None, float | None]:
    """The table as fit_pipeline reads it (and its axis, target size, one size or time), so the refits see the same."""
    table = frame_as_table(table)  # a DataFrame in the run table's columns, as fit_pipeline reads one
    # The rows that have every target's loss, as fit_pipeline takes them (its warning said which were left out).
    table = table.subset(table.complete_rows(targets))
    # A table of final losses (no step or tokens column) as fit_pipeline reads it: one checkpoint per run.
    table = read_as_one_size(read_as_final_losses(table, None, None)[0])[0]  # one model's checkpoints: one size
    if axis is None:
        axis = "step" if "step" in table.frame.columns else "tokens"
    if axis not in ("step", "tokens"):
        raise InputError(f"axis must be 'step' or 'tokens'; got {axis!r}")
    for col in ("params", axis):
        if col not in table.frame.columns:
            raise InputError(f"{table.path or 'run table'}: the backtest needs a {col!r} column")
    # As fit_pipeline reads them (and says so; the CLI passes the table as read): rows that differ by rounding only
    # are one mixture, so that each is scored by its own stage-2 value, not by the mixing law's.
    before = merge_near_mixtures(table)[0]
    table = merge_near_sizes(before)[0]
    target_params = snap_target_size(before, table, target_params)[0]
    if target_time is not None:  # as fit_pipeline reads it (snap_target_time)
        snapped = snap_target_time(table, target_time if axis == "step" else None,
                                   target_time if axis == "tokens" else None, target_params)
        target_time = snapped[0] if axis == "step" else snapped[1]
    one = one_time = None
    T0 = table.steps if axis == "step" else table.tokens
    if table.model_params is not None and T0 is not None:
        several = target_params is None and np.unique(table.model_params).size > 1
        many = target_time is None and np.unique(T0).size > 1
        one = None if several else steps_only_size(table, target_params, steps_only)
        one_time = None if many else sizes_only_time(table, axis, target_time, sizes_only)
        if one is not None and one_time is not None:
            one_scale(table, target_params, axis, target_time, steps_only, sizes_only)  # says why: InputError
    if one is not None:
        table = at_one_size(table, one)[0]
    if one_time is not None:
        table = at_one_time(table, axis, one_time)[0]
    return table, axis, target_params, one, one_time


@dataclass
class _Parts:
    """What the two parts share (arrays, refit settings, ``out``), so each part can be a function of its own."""

    table: RunTable
    N: np.ndarray  # (n_rows,) model size
    S: np.ndarray  # (n_rows,) step or tokens, by axis
    Y: np.ndarray  # (n_rows, n_targets) losses
    mix: np.ndarray  # (n_rows,) mixture id
    run_last: np.ndarray  # (n_rows,) the last step of the row's curve (run at one size)
    window: np.ndarray  # (n_rows,) rows fit_from keeps
    sizes: np.ndarray  # the model sizes, ascending
    S_end: float  # the step (or token count) both parts predict at
    axis: str
    unit: str
    time_kind: str
    time_kw: str
    fit_from: float
    kw: dict[str, Any]  # fit_route's keywords
    held_N: float = float("nan")  # the size both parts predict
    out: list[Backtest] = field(default_factory=list)

    @classmethod
    def of(cls, table: RunTable, axis: str, targets: Any, fit_from: float, one: float | None,
           one_time: float | None, fit_kw: dict[str, Any]) -> _Parts:
        """The arrays of ``table`` (as read by :func:`_as_the_pipeline_reads`) both parts cut and score."""
        N, S = table.model_params, (table.steps if axis == "step" else table.tokens)
        unit, time_kind = ("step", "steps") if axis == "step" else ("token count", "tokens")
        time_kw = "target_steps" if axis == "step" else "target_tokens"
        assert N is not None and S is not None
        names = table.resolve_targets(targets)
        Y = table.losses(names)
        # A curve is a run at one model size: a sweep that names its runs by mixture alone ('m07' at 122M and at
        # 1.2B) must not cut its small runs at the large one's last token count / 3, which left them uncut.
        run_last = pd.Series(S).groupby([table.runs, N]).transform("max").to_numpy()
        sizes = np.unique(N)
        S_end = float(S[N == sizes[-1]].max())  # the held-out size's own last step (split.py says why)
        _, mix = _mixture_ids(table.weights)
        curve_last = pd.Series(S).groupby([mix, N]).transform("max").to_numpy()
        window = S >= fit_from * curve_last - 1e-9
        kw = dict(fit_kw, targets=names, fit_from=0.0, steps_only=one is not None, sizes_only=one_time is not None)
        return cls(table, N, S, Y, mix, run_last, window, sizes, S_end, axis, unit, time_kind, time_kw, fit_from, kw)

    def skip(self, kind: str, desc: str, ratio: float, why: str) -> None:
        """A part the data do not allow: there with its reason, never left out silently."""
        self.out.append(Backtest(kind, desc, ratio, float("nan"), float("nan"), float("nan"), 0, skipped=why))

    def not_needed(self, kind: str, desc: str, why: str) -> None:
        """A part the real extrapolation does not make."""
        self.out.append(Backtest(kind, desc, float("nan"), float("nan"), float("nan"), float("nan"), 0,
                                 not_needed=why))

    def score(self, kind: str, desc: str, ratio: float, fit_rows: np.ndarray, N_t: float) -> None:
        """Refit on ``fit_rows``, predict size ``N_t`` at ``S_end``, and score it on the runs that reach it."""
        N, S, unit, fit_from, S_end = self.N, self.S, self.unit, self.fit_from, self.S_end
        truth = np.flatnonzero((N == N_t) & (S == self.run_last) & (self.run_last == S_end))
        if truth.size == 0:
            return self.skip(kind, desc, ratio, f"no run at N = {N_t:g} reaches the last {unit} {S_end:g}")
        if not fit_rows.any():
            why = "no checkpoint is left to fit on"
            if fit_from > 0:
                why += (f" (fit_from = {fit_from:g} keeps each curve from {fit_from:g} x its last {unit}, as the real "
                        "fit does; a cut before that leaves nothing)")
            return self.skip(kind, desc, ratio, why)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MixlawWarning)
            try:
                res = fit_route(self.table.subset(fit_rows), target_params=N_t, **{self.time_kw: S_end}, **self.kw)
            except InputError as err:
                return self.skip(kind, desc, ratio, f"the reduced table cannot be fitted: {err}")
            own = dict(zip(map(tuple, np.round(res.mixtures, _WEIGHT_DECIMALS)), res.target_losses, strict=True))
            W_t = self.table.weights[truth]
            by_law = res.predict(W_t)
        pred = np.array([own.get(tuple(np.round(w, _WEIGHT_DECIMALS)), by_law[i]) for i, w in enumerate(W_t)])
        rel = pred / self.Y[truth] - 1.0
        self.out.append(Backtest(kind, desc, ratio, float(np.mean(np.abs(rel))), float(np.max(np.abs(rel))),
                                 float(np.mean(rel)), int(rel.size)))


def _steps_part(p: _Parts, splits: dict[str, Any], step_ratio: float | None, one_time: float | None,
                target_time: float | None) -> None:
    """The steps (or tokens) part: curves cut at their last step / r, the largest size predicted at its last step."""
    unit, time_kind, route, law = p.unit, p.time_kind, p.kw["route"], p.kw["law"]
    ratio = 3.0 if step_ratio is None else float(step_ratio)
    if one_time is not None:
        p.not_needed(time_kind, f"curves cut at their last {unit}", f"the target is at the recorded {unit} "
                     f"({one_time:g}), a sizes-only extrapolation")
    elif "time" in splits and splits["time"].skipped:
        p.skip(time_kind, f"curves cut at their last {unit}", float("nan"),
               splits["time"].skipped[0].removeprefix(f"{p.axis} part not run: "))
    elif "time" in splits and not splits["time"].time_ratio_target > 1 + 1e-9:
        p.not_needed(time_kind, f"curves cut at their last {unit}", f"the target {unit} ({target_time:g}) is not "
                     f"beyond the held-out size's last ({p.S_end:g})")
    elif "time" in splits and splits["time"].time_ratio == 1:
        want = splits["time"].time_ratio_target
        p.skip(time_kind, f"curves cut at their last {unit}", float("nan"),
               f"no cut the checkpoints offer is nearer the target's {want:.3g}x than no cut")
    else:
        if "time" in splits:
            ratio = splits["time"].time_ratio
            cut = splits["time"].fit_rows
            desc = (f"curves cut at their last {unit} / {ratio:.3g}, auto's cut for the target's "
                    f"{splits['time'].time_ratio_target:.3g}x")
        else:
            cut = p.window & (p.S <= p.run_last / ratio + 1e-9)
            desc = f"curves cut at their last {unit} / {ratio:g}"
        short = _cut_too_short(p.S[cut], p.mix[cut], p.N[cut], route, law, unit, ratio) if cut.any() else None
        if short is not None:  # said of the cut curves, not as the full table's refusal (its advice is the target's)
            p.skip(time_kind, desc, ratio, short)
        else:
            p.score(time_kind, f"{desc}, largest size N = {p.held_N:g} predicted at {unit} {p.S_end:g}", ratio,
                    cut, p.held_N)


def _size_part(p: _Parts, splits: dict[str, Any], one: float | None, target_params: float | None) -> None:
    """The size part: the largest size held out, predicted from the smaller ones at its last step."""
    sizes, unit, route, law = p.sizes, p.unit, p.kw["route"], p.kw["law"]
    if one is not None:
        p.not_needed("size", "largest size held out", f"the target is at a fitted size (N = {one:g}), a steps-only "
                     "extrapolation")
    elif "size" in splits and splits["size"].skipped:
        p.skip("size", "largest size held out", float(sizes[-1] / sizes[-2]) if sizes.size > 1 else float("nan"),
               splits["size"].skipped[0].removeprefix("size part not run: "))
    elif "size" in splits and not splits["size"].size_ratio_target > 1 + 1e-9:
        p.not_needed("size", "largest size held out", f"the target size ({target_params:g}) is not beyond the "
                     f"largest fitted one ({sizes[-1]:g})")
    elif "size" in splits:
        sp = splits["size"]
        fitted = np.unique(p.N[sp.fit_rows])
        p.score("size", f"N = {p.held_N:g} held out, predicted from {fitted.size} smaller sizes (up to "
                f"{fitted[-1]:g}; auto's choice for the target's {sp.size_ratio_target:.3g}x) at {unit} {p.S_end:g}",
                sp.size_ratio, sp.fit_rows, p.held_N)
    elif sizes.size < 4:
        p.skip("size", "largest size held out", float(sizes[-1] / sizes[-2]) if sizes.size > 1 else float("nan"),
               f"{sizes.size} model size(s); holding out the largest leaves {sizes.size - 1}, "
               f"{held_out_size_words(route, law not in JOINT_LAWS)}")
    else:
        p.score("size", f"N = {sizes[-1]:g} held out, predicted from {sizes.size - 1} smaller sizes at {unit} "
                f"{p.S_end:g}",
                float(sizes[-1] / sizes[-2]), p.window & (p.N < sizes[-1]), float(sizes[-1]))
