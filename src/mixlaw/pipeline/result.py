"""Pipeline result types and the helpers every route shares.

Owns :class:`PipelineResult` (target-scale predictions, the fitted mixing law, per-stage fit quality), its
:class:`StageQuality` lines, the target scale :class:`_Target` (size N* and steps or tokens T*), and the scale
checks and refusal lines the routes share; how rows are grouped into mixtures and model sizes is in
:mod:`.grouping`. The route modules build on these.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._console import frame_text, repr_as_text
from ..data import RunTable
from ..errors import ExtrapolationWarning, InputError, ScaleWarning, user_stacklevel
from ..laws.base import MixingLaw, weights_in_order
from ..optimize import check_enough_runs
from .grouping import (  # noqa: F401  (re-exported: nested.py imports _first_runs, _mixture_ids from here; exact_number's home was here)
    SAME_SIZE_RTOL,
    _first_runs,
    _mixture_ids,
    exact_number,
)

ROUTES = ("nested", "direct")
#: A target size (or step) within this relative distance of a fitted size (a recorded step) is that one: the
#: steps-only and sizes-only pipelines' tolerance (:mod:`.fitting`), by which their predictions and saved files
#: are checked too.
SCALE_RTOL = 1e-9
#: A scale asked of :meth:`PipelineResult.predict` this many times from the target (or as far below it) is more often a
#: unit slip (70 for 70M) than a plan: :data:`~mixlaw.pipeline.fitting.FAR_TARGET`'s rule, read from the target, which
#: the fit held within it of the table (the result keeps no table).
FAR_SCALE = 1000.0
#: A prediction below this fraction of the lowest loss of its eval in the fitted table gets a warning
#: (:func:`far_below_line`; why 0.5: :func:`mixlaw.pipeline.auto.far_below_table_line`).
FAR_BELOW = 0.5


def far_below_line(P: np.ndarray, low: np.ndarray, targets: list[str], rows: list[str], what: str,
                   advice: str, table: str = "the table") -> str | None:
    """The warning for predictions ``P`` (n, n_targets) below :data:`FAR_BELOW` x ``low``, the lowest loss of each
    target in the fitted table, naming the lowest one by its row's label in ``rows``, else None. ``what`` names the
    predictions ("target-scale prediction(s)"), ``table`` the table, ``advice`` ends the line. A loss does not halve
    with scale (:func:`mixlaw.pipeline.auto.far_below_table_line` gives the measurements)."""
    P = np.asarray(P, dtype=np.float64).reshape(-1, len(targets))
    low = np.asarray(low, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(np.isfinite(P) & (low > 0), P / low, np.inf)
    bad = ratio < FAR_BELOW
    if not bad.any():
        return None
    i, j = np.unravel_index(int(np.argmin(ratio)), ratio.shape)
    return (f"{int(bad.sum())} of {bad.size} {what} lie below {FAR_BELOW:g}x the lowest loss of their eval in "
            f"{table}: {targets[j]} of {rows[i]} {P[i, j]:.4g}, the table's lowest {low[j]:.4g}. A loss does not halve "
            f"with scale: {advice}")


# ---------------------------------------------------------------------- result types
@dataclass
class StageQuality:
    """Fit quality of one pipeline stage: relative in-sample residuals |pred / y - 1| over all its fits.

    ``fits`` keeps every fit's own line (``label``: which curve / mixture / eval, ``n_points``,
    ``max_rel_residual``), so a bad number can be traced to the curve behind it; :meth:`worst` lists the
    worst-fitting ones.
    """

    name: str
    description: str
    n_fits: int
    n_points: int
    median_rel_residual: float
    max_rel_residual: float
    n_warnings: int
    seconds: float
    fits: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_residuals(cls, name: str, description: str, residuals: list[np.ndarray], n_warnings: int,
                       seconds: float, labels: list[str] | None = None) -> StageQuality:
        r = np.abs(np.concatenate([np.ravel(x) for x in residuals])) if residuals else np.array([np.nan])
        labels = labels if labels is not None else [f"fit {i}" for i in range(len(residuals))]
        assert len(labels) == len(residuals)
        fits = [{"label": lab, "n_points": int(np.size(x)),
                 "max_rel_residual": float(np.max(np.abs(x))) if np.size(x) else float("nan")}
                for lab, x in zip(labels, residuals, strict=True)]
        return cls(name, description, len(residuals), int(r.size), float(np.median(r)), float(np.max(r)),
                   n_warnings, seconds, fits)

    def worst(self, n: int = 3) -> list[dict[str, Any]]:
        """The ``n`` fits with the largest relative residual, worst first."""
        return sorted(self.fits, key=lambda f: -np.nan_to_num(f["max_rel_residual"], nan=np.inf))[:n]

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class PipelineResult:
    """Target-scale predictions of :func:`fit_pipeline`.

    Attributes
    ----------
    route : {"nested", "direct"}
    law : str
        Key of the mixing law (``"joint+ye-exp"`` / ``"joint+ye-pow"`` for the direct route's joint law).
    target_params : float
    target_steps, target_tokens : float or None
        The target along the time axis: steps S*, or tokens D* when fitted with ``target_tokens``
        (each is filled in from the other when the table has a constant number of tokens per step).
    time_axis : {"step", "tokens"}
        The column the step law was fitted over.
    domains, targets : list of str
    mixtures : ndarray of shape (n_mixtures, n_domains)
        The distinct training mixtures.
    mixture_runs : list of str
        A run name of each mixture (its first row), to trace it back to the table; rows are labelled by
        :func:`mixture_label` (the weights), since a mixture spans one run per model size.
    target_losses : ndarray of shape (n_mixtures, n_targets)
        Predicted losses at the target scale: stage 2's output (nested) or the direct law's prediction.
    stages : dict of str to StageQuality
        Fit quality of each stage, in order.
    mixing_law : MixingLaw
        Fitted law of the mixture at the target scale; pass it to :func:`mixlaw.optimize.optimize_mixture`
        (with ``model_params=target_params`` when ``predict_kwargs`` says so).
    predict_kwargs : dict
        Extra arguments :meth:`predict` passes to ``mixing_law.predict``.
    warnings : list of str
    tokens_per_step : float or None
        Tokens per optimiser step when the table has both columns and the ratio is constant: converts
        ``steps=`` and ``tokens=`` of :meth:`predict` into each other.
    scales : object, optional
        The route's fitted scale model: ``scales.law_at(N, T) -> (mixing_law, predict_kwargs)`` gives the mixing
        law at any model size N and step (or token) count T from the same fitted stages, and
        ``scales.to_dict()`` saves it (:func:`mixlaw.pipeline.save_pipeline`). Behind :meth:`predict`.
    law_at_time : callable, optional
        ``law_at_time(T) -> (mixing_law, predict_kwargs)``: ``scales.law_at`` at N* (filled in from ``scales``);
        used by :func:`pipeline_steps_to_match`.
    selection : Selection, optional
        With ``route``/``law`` ``"auto"``: every candidate's leave-scale-out backtest error, the choice and the
        runner-up (:mod:`mixlaw.pipeline.auto`).
    intervals : PredictionIntervals, optional
        Prediction intervals of :attr:`target_losses` (:mod:`mixlaw.pipeline.intervals`).
    saved_selection : SavedSelection, optional
        A loaded pipeline's auto choice as its file keeps it (:class:`mixlaw.pipeline.io.SavedSelection`: each
        candidate's backtest errors, the choice, the error estimate; :attr:`selection` is None after loading).
    alternatives : dict of str to PipelineResult
        With ``fit_all=True``: every auto candidate fitted on all the data, by label.
    table_lowest : ndarray of shape (n_targets,), optional
        The lowest loss of each target in the table fitted (every size and checkpoint), for the check that a
        prediction is not below :data:`FAR_BELOW` x it (:func:`far_below_line`), which ``fit_pipeline`` makes at the
        target and :func:`mixlaw.api.predict_pipeline_table` (``mixlaw predict --pipeline``) at any scale; kept in a
        saved file. None: not known (a file saved before it was kept), no check.
    smallest_fitted : ndarray of shape (2,), optional
        The smallest model size and the smallest step (or token count, per :attr:`time_axis`) of the table fitted
        (NaN where it has none), for the warning that :meth:`predict` at a smaller ``params`` / ``steps`` /
        ``tokens`` extrapolates the size or step law downward; kept in a saved file. None: not known (a file saved
        before it was kept), no warning.
    fit_total : dict, optional
        Fitted on one weighted total (``mixlaw pipeline --fit-total``: the one target ``objective``): the
        ``--objective`` as given (``"name"``) and the weights of the evals it sums (``"weights"``, ``{eval: w}``),
        which name the objective of ``mixlaw optimize --pipeline``; kept in a saved file. None: the evals were
        fitted each (or a file saved before it was kept).
    """

    route: str
    law: str
    target_params: float
    target_steps: float | None
    domains: list[str]
    targets: list[str]
    mixtures: np.ndarray
    mixture_runs: list[str]
    target_losses: np.ndarray
    stages: dict[str, StageQuality]
    mixing_law: MixingLaw
    predict_kwargs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    target_tokens: float | None = None
    time_axis: str = "step"
    law_at_time: Callable[[float], tuple[MixingLaw, dict[str, Any]]] | None = field(default=None, repr=False)
    tokens_per_step: float | None = None
    scales: Any = field(default=None, repr=False)
    selection: Any = None
    intervals: Any = None
    saved_selection: Any = None
    alternatives: dict[str, Any] = field(default_factory=dict, repr=False)
    #: Fitted on a table of final losses (no step or tokens column, :func:`.fitting.read_as_final_losses`): its
    #: one step, S* = 1, is a stand-in, and the headline says "each run's end" instead.
    final_losses: bool = False
    table_lowest: np.ndarray | None = field(default=None, repr=False)
    smallest_fitted: np.ndarray | None = field(default=None, repr=False)
    fit_total: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def steps_only(self) -> bool:
        """Fitted at one model size, the target's: extrapolated in steps (or tokens) alone, no size law; it
        predicts at that size only (:mod:`.fitting`)."""
        return bool(getattr(self.scales, "steps_only", False))

    @property
    def sizes_only(self) -> bool:
        """Fitted at one step (or token) count, the target's: extrapolated in model size alone, no step law; it
        predicts at that step count only (:mod:`.fitting`)."""
        return bool(getattr(self.scales, "sizes_only", False))

    def interval(self, weights: Any, *, params: float | None = None, steps: float | None = None,
                 tokens: float | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """(lower, upper) of the predicted losses of ``weights`` (any mixtures, e.g. the optimum), or None (no
        intervals): two ndarrays of shape (n, n_targets), like :meth:`predict`'s (one row for a 1-D mixture), at
        :attr:`intervals`' ``level`` (default 0.8). :meth:`BootstrapResult.prediction_intervals
        <mixlaw.bootstrap.BootstrapResult.prediction_intervals>` stacks its two ends on a last axis instead, shape (n,
        n_targets, 2): ``np.stack(result.interval(W), axis=-1)`` gives that layout here. ``lo, hi = result.interval(W);
        lo[i, k]`` is mixture i's lower end for ``result.targets[k]``. ``params``, ``steps`` or ``tokens``, as in
        :meth:`predict`: at that scale, by the same rule redone there (:meth:`~.intervals.PredictionIntervals.at_scale`:
        the backtest residuals scaled by that scale's distance, max with the jackknife refits' spread there; its
        docstring gives the coverage measured at other scales: 75-95 % on the synthetic worlds, 93-100 % on real runs
        nearer than the backtest reached); InputError saying why where they cannot be built (a pipeline without a
        backtest). A pipeline read back by :func:`~.io.load_pipeline` has its file's :attr:`intervals`, as ``mixlaw
        predict --pipeline`` reads them: at another scale the same rule from the saved residuals and refits; at the
        target each saved mixture's own saved jackknife spread, any other mixture the saved refits' spread at it (as
        fitted), or in a file without them the largest of each target
        (:attr:`~.intervals.PredictionIntervals.from_file`)."""
        if self.intervals is None:
            return None
        weights = weights_in_order(weights, self.domains)
        N, T = self.scale_of(params, steps, tokens)
        if N is None and T is None:
            return self.intervals.at(weights, self.predict(weights))
        lo, hi, _ = self.intervals.at_scale(weights, self.predict(weights, params=params, steps=steps, tokens=tokens),
                                            self.target_params if N is None else N,
                                            self.target_time if T is None else T)
        return lo, hi

    @property
    def target_time(self) -> float:
        """The target on the fitted time axis: S* (``time_axis`` "step") or D* ("tokens")."""
        T = self.target_steps if self.time_axis == "step" else self.target_tokens
        return float("nan") if T is None else float(T)

    def scale_of(self, params: float | None = None, steps: float | None = None, tokens: float | None = None
                 ) -> tuple[float | None, float | None]:
        """(N, T) that ``params``, ``steps`` / ``tokens`` ask for, T on the fitted time axis; None for each one
        that is the target's (not given, or equal to it)."""
        T = self._time(None, steps, tokens)
        N = None if params is None else _positive(params, "params")
        return (None if N is None or N == self.target_params else N,
                None if T is None or T == self.target_time else T)

    def __post_init__(self) -> None:
        if self.law_at_time is None and self.scales is not None:
            self.law_at_time = self._law_at_target_size

    def _law_at_target_size(self, T: float) -> tuple[MixingLaw, dict[str, Any]]:
        return self.scales.law_at(self.target_params, T)

    def _time(self, at: float | None, steps: float | None, tokens: float | None) -> float | None:
        """The requested point on the fitted time axis (steps or tokens), or None for the target's."""
        given = [(k, v) for k, v in (("at", at), ("steps", steps), ("tokens", tokens)) if v is not None]
        if len(given) > 1:
            raise InputError(f"give at most one of at, steps and tokens; got {', '.join(k for k, _ in given)}")
        if not given:
            return None
        name, value = given[0]
        value = _positive(value, name)
        if name == "at" or (name == "steps") == (self.time_axis == "step"):
            return value
        if self.tokens_per_step is None:
            # The option too: 'predict --pipeline p.json --steps 2929' on a tokens-only pipeline said "steps= needs".
            other = "steps" if self.time_axis == "step" else "tokens"
            # Said of a table with both columns too: Dai & Zheng's tokens with steps = round(tokens / 2^21) beside
            # them (2.0965e6-2.0972e6 tokens per step) read "(a 'tokens' and a 'step' column), which it did not have".
            raise InputError(f"this pipeline was fitted over {self.time_axis}; {name}= (--{name}) needs a constant "
                             "number of tokens per step in the runs (a 'tokens' and a 'step' column whose ratio is "
                             "the same in every row, to 1e-9), which they did not have (one column, or tokens per "
                             f"step that vary: by model size, or by rounding): give --{other} ({other}=)")
        return value / self.tokens_per_step if name == "tokens" else value * self.tokens_per_step

    def predict(self, weights: Any, at: float | None = None, *, params: float | None = None,
                steps: float | None = None, tokens: float | None = None) -> np.ndarray:
        """Predicted losses of mixtures, shape (n, n_targets) (one row for a 1-D mixture).

        ``weights``: an array, columns in :attr:`domains` order, or a DataFrame read by column name (``w:<domain>``
        or ``<domain>``), as :meth:`MixingLaw.predict <mixlaw.laws.base.MixingLaw.predict>` reads it.

        By default at the target scale (N*, S*). ``params`` (model size N), ``steps`` or ``tokens`` move the
        prediction to any other scale, inside the fitted runs' range (interpolation) or beyond it: the stages
        are redone there from the same fits (nested: the size laws and the mixing law at (N, S); direct: the
        joint law's scale terms at (N, S)). ``at`` is a step (or token, per ``time_axis``) count, as ``steps``.
        """
        # A frame is read by column name: np.asarray of one with its w: columns in another order predicted other
        # mixtures without a word.
        W = weights_in_order(weights, self.domains)
        law, kw = self.mixing_law, self.predict_kwargs
        T = self._time(at, steps, tokens)
        N = None if params is None else _positive(params, "params")
        target_T = self.target_steps if self.time_axis == "step" else self.target_tokens
        if (N is not None and N != self.target_params) or (T is not None and T != target_T):
            if self.scales is None:
                raise InputError(f"this {self.route} pipeline result cannot predict at another scale")
            converted = (tokens is not None and self.time_axis == "step",
                         steps is not None and self.time_axis != "step")
            self._warn_far_scale(N, T, target_T, *converted)
            law, kw = self.scales.law_at(self.target_params if N is None else N, target_T if T is None else T)
            self._warn_below_fitted(N, T, *converted)
        self._warn_own_scales(weights, self.target_params if N is None else N, target_T if T is None else T)
        with warnings.catch_warnings():
            # N* (and D*) lie beyond the fitted runs by design; leaving the mixtures' range still warns.
            warnings.filterwarnings("ignore", r".*: (params|tokens) outside the fitted range",
                                    ExtrapolationWarning)
            out = law.predict(W if W.ndim == 2 else W[None, :], **kw)
        return np.asarray(out).reshape(-1, len(self.targets))

    def _warn_own_scales(self, weights: Any, N: float, T: float | None, where: str = "mixtures",
                         how: str = "params=/steps=/tokens=") -> None:
        """ScaleWarning when ``weights``, a frame (or RunTable), carries its own ``params`` / ``step`` (``tokens``,
        by :attr:`time_axis`) at another scale than (``N``, ``T``), the one every row is predicted at: rows of a run
        table passed back to compare with their losses got the target's predictions without a word (the command
        line's ``predict --pipeline`` said it, and says it through this one: :func:`mixlaw.api.pipeline_predictions`,
        with ``where`` its file and ``how`` its options)."""
        frame = weights.frame if isinstance(weights, RunTable) else weights
        if not isinstance(frame, pd.DataFrame) or not len(frame):
            return
        other = np.zeros(len(frame), dtype=bool)
        cols = []
        for col, at in (("params", N), ("step" if self.time_axis == "step" else "tokens", T)):
            if col not in frame.columns or at is None or not np.isfinite(at):
                continue
            v = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
            off = ~(np.abs(v - at) <= SCALE_RTOL * abs(at))
            if off.any():
                other |= off
                cols.append(col)
        if other.any():
            sym = "S" if self.time_axis == "step" else "D"
            warnings.warn(f"{where}: {int(other.sum())} of {len(frame)} row(s) have their own "
                          f"{' and '.join(repr(c) for c in cols)} at another scale, which predict does not read: "
                          f"every row is predicted at N = {N:g}, {sym} = {T:g} (to compare with measured losses, "
                          f"predict each scale with {how})", ScaleWarning,
                          stacklevel=user_stacklevel(3))

    def _given(self, name: str, value: float, from_tokens: bool, from_steps: bool) -> str:
        """How a warning names ``value`` of option ``name``: as the user gave it. A count given as tokens (steps)
        and converted to the fitted axis is named by that option ('--tokens 204800' read 'steps=100 (--steps)')."""
        if name == "params" or not (from_tokens or from_steps):
            return f"{name}={value:g} (--{name})"
        other = "tokens" if from_tokens else "steps"
        asked = value * self.tokens_per_step if from_tokens else value / self.tokens_per_step
        return f"{other}={asked:g} (--{other}; {'step' if self.time_axis == 'step' else 'token count'} {value:g})"

    def _warn_far_scale(self, N: float | None, T: float | None, target_T: float | None, from_tokens: bool = False,
                        from_steps: bool = False) -> None:
        """ScaleWarning when ``predict(params=, steps=, tokens=)`` asks for a scale more than
        :data:`FAR_SCALE` times from the pipeline's target (which fit_pipeline already held to the table's range):
        ``res.predict(W, params=70)`` (70 for 70M) returned losses of 25-101 for a table of 1.2-1.6 without a word,
        from Python and from ``mixlaw predict --pipeline``."""
        words = "steps" if self.time_axis == "step" else "tokens"
        lines = []
        for name, value, target, unit in (("params", N, self.target_params, "70M or 7e7, not 70 for 70M"),
                                          (words, T, target_T, "30000 or 30k, not 30 for 30k")):
            if value is None or target is None or target / FAR_SCALE <= value <= target * FAR_SCALE:
                continue
            how = f"{value / target:.3g}x" if value > target else f"1/{target / value:.3g}"
            lines.append(f"{self._given(name, value, from_tokens, from_steps)} is {how} the pipeline's target "
                         f"{target:g}: is it in the same "
                         f"unit (raw counts: {unit})? A power law read that far from its fits says little")
        if lines:
            warnings.warn("; ".join(lines), ScaleWarning, stacklevel=user_stacklevel(3))

    def _warn_below_fitted(self, N: float | None, T: float | None, from_tokens: bool = False,
                           from_steps: bool = False) -> None:
        """ExtrapolationWarning when ``predict(params=, steps=, tokens=)`` asks for a model size or step (token) count
        below the smallest fitted one (:attr:`smallest_fitted`): the size (step) law is read downward, where no run
        measured it and no backtest checked it. Above the fitted range is the pipeline's purpose (its target); below
        it said nothing (hunt26: 'predict --pipeline p.json --params 5000' of sizes 28368-233680). ``from_tokens``
        (``from_steps``): the count was given as tokens (steps) and converted to the fitted axis, and the line names
        that option ('--tokens 204800' read 'steps=100 (--steps)')."""
        lines = [f"{self._given(name, value, from_tokens, from_steps)} is below the smallest fitted {what} {low:g}: "
                 f"the {law} law is extrapolated downward, below every point it was fitted on"
                 for name, value, low, what, law in self.below_fitted(N, T)]
        if lines:
            warnings.warn("; ".join(lines), ExtrapolationWarning, stacklevel=user_stacklevel(3))

    def target_below_line(self) -> str | None:
        """The warning for a target below the smallest fitted size or step (token count) (:meth:`below_fitted`), else
        None: said by ``fit_pipeline`` and again by ``predict --pipeline`` at the target (:func:`mixlaw.api.
        pipeline_predictions`), whose own line (:meth:`_warn_below_fitted`) is for the scales it moves to."""
        T = self.target_steps if self.time_axis == "step" else self.target_tokens
        below = self.below_fitted(self.target_params, T)
        if not below:
            return None
        return "; ".join(f"the target {what} {value:g} is below the smallest fitted {what} {low:g}: the {law} law is "
                         "extrapolated downward, below every point it was fitted on, where the backtest does not "
                         "test it and the intervals do not widen" for _, value, low, what, law in below)

    def below_fitted(self, N: float | None, T: float | None) -> list[tuple[str, float, float, str, str]]:
        """(option name, value, smallest fitted value, what, which law) of each of the size ``N`` and the step (token
        count) ``T`` below the smallest fitted one (:attr:`smallest_fitted`); none where it is unknown."""
        if self.smallest_fitted is None:
            return []
        words = "step" if self.time_axis == "step" else "token count"
        out = []
        # A size within SAME_SIZE_RTOL is the fitted one (70M for 70,426,624), as the fit merges sizes.
        for name, value, low, rtol, what, law in (
                ("params", N, self.smallest_fitted[0], SAME_SIZE_RTOL, "model size", "size"),
                ("steps" if self.time_axis == "step" else "tokens", T, self.smallest_fitted[1], SCALE_RTOL, words,
                 "step")):
            if value is None or not np.isfinite(low) or value >= low * (1 - rtol):
                continue
            out.append((name, float(value), float(low), what, law))
        return out

    def to_frame(self) -> pd.DataFrame:
        """:meth:`frame`, by the name the other results' tables have (``law.parameters.to_frame()``,
        ``law.cv_.to_frame()``, ``opt.to_frame()``, ``result.selection.to_frame()``)."""
        return self.frame()

    def mixture_rows(self) -> list[str]:
        """Each fitted mixture as a warning names it: ``mixture <label> (run '<first run>')``, the label being
        :func:`short_mixture_label` (the ``mixture`` column of :meth:`frame`, ``--out`` and ``--json``, cut to
        :data:`LABEL_WIDTH` characters; the printed table shows its ``w:`` columns) and the run the table's first of
        that mixture. A number ("mixture 15 (run ...)", Ye et al.'s 5Mix) counted the rows of a printed table that
        shows none."""
        runs = list(self.mixture_runs)
        return [f"mixture {short_mixture_label(w, self.domains)}" + (f" (run {runs[i]!r})" if i < len(runs) else "")
                for i, w in enumerate(self.mixtures)]

    def frame(self) -> pd.DataFrame:
        """Mixtures (a ``mixture`` label, the ``first_run`` of the table with it, ``w:`` columns) and their predicted
        target-scale losses (``loss:``, and ``lo<level>:`` / ``hi<level>:`` with intervals).

        ``first_run``, as ``--json`` names it: ``pipeline --out`` wrote the label and the weights alone, so checking
        the predictions against runs measured at the target (Chen et al.'s BO sweep fitted to step 300, its step-625
        losses held out) meant joining on weights rounded to 9 digits."""
        df = pd.DataFrame(self.mixtures, columns=[f"w:{d}" for d in self.domains])
        df.insert(0, "mixture", [mixture_label(w, self.domains) for w in self.mixtures])
        df.insert(1, "first_run", list(self.mixture_runs))
        for k, t in enumerate(self.targets):
            df[f"loss:{t}"] = self.target_losses[:, k]
            if self.intervals is not None:
                lvl = round(100 * self.intervals.level)
                df[f"lo{lvl}:{t}"] = self.intervals.lower[:, k]
                df[f"hi{lvl}:{t}"] = self.intervals.upper[:, k]
        return df

    def to_dict(self) -> dict[str, Any]:
        return {"route": self.route, "law": self.law, "target_params": self.target_params,
                "steps_only": self.steps_only, "sizes_only": self.sizes_only, "final_losses": self.final_losses,
                "target_steps": self.target_steps, "target_tokens": self.target_tokens, "time_axis": self.time_axis,
                "domains": self.domains, "targets": self.targets,
                "stages": {k: v.to_dict() for k, v in self.stages.items()},
                "mixtures": [{"mixture": mixture_label(w, self.domains), "first_run": r,
                              "weights": dict(zip(self.domains, map(float, w), strict=True)),
                              "predicted": dict(zip(self.targets, map(float, y), strict=True))}
                             for r, w, y in zip(self.mixture_runs, self.mixtures, self.target_losses, strict=True)],
                "mixing_law": self.mixing_law.to_dict(), "warnings": list(self.warnings),
                "selection": self.selection.to_dict() if self.selection is not None else
                None if self.saved_selection is None else self.saved_selection.to_dict(),
                "intervals": None if self.intervals is None else self.intervals.to_dict()}

    _repr_pretty_ = repr_as_text  # a notebook shows the report

    def __str__(self) -> str:
        return self.text()

    def headline(self) -> str:
        """The route, the target scale and the law, one line: the report's first (and ``mixlaw optimize
        --pipeline``'s, which says at what scale its optimum is)."""
        at = self.time_words()
        only = (" (steps only, at a fitted size)" if self.steps_only else
                " (sizes only, at the recorded step)" if self.sizes_only and not self.final_losses else
                " (sizes only)" if self.sizes_only else "")
        return (f"{self.route} pipeline -> N* = {self.target_params:.4g} params{only}, {', '.join(at)} "
                f"(mixing law {self.law})")

    def time_words(self) -> list[str]:
        """The target's run length as the headline and the page say it: S* and/or D*, or, fitted on a table of
        final losses, "S* = each run's end (the table has no step column)" instead of the stand-in S* = 1."""
        if self.final_losses:
            return ["S* = each run's end (the table has no step column)"]
        at = [f"S* = {self.target_steps:.4g} steps"] if self.target_steps is not None else []
        return at + ([f"D* = {self.target_tokens:.4g} tokens"] if self.target_tokens is not None else [])

    def text(self, *, predictions_to: str | None = None) -> str:
        """The printed report: stages, the auto selection, the predicted target-scale losses and the warnings.
        ``predictions_to``: the file the predictions were written to, named in place of their table (``mixlaw
        pipeline --out``: on a sweep of 40 mixtures x 8 evals the table is 40 lines of 300 characters)."""
        lines = [self.headline(), "",
                 f"{'stage':<10} {'fits':>6} {'points':>7} {'median |rel res|':>17} {'max |rel res|':>14} "
                 f"{'warnings':>8} {'time':>7}"]
        for s in self.stages.values():
            lines.append(f"{s.name:<10} {s.n_fits:>6} {s.n_points:>7} {s.median_rel_residual:>17.3%} "
                         f"{s.max_rel_residual:>14.3%} {s.n_warnings:>8} {s.seconds:>6.2f}s")
        for s in self.stages.values():
            lines.append(f"  {s.name}: {s.description}")
            if s.n_fits > 1:
                lines.append("    worst: " + "; ".join(f"{f['label']} {f['max_rel_residual']:.2%}"
                                                      for f in s.worst(3)))
        # A loaded pipeline's choice as its file keeps it: print(load_pipeline(p)) left the section out, which the
        # same pipeline printed before it was saved.
        sel = self.selection if self.selection is not None else self.saved_selection
        if sel is not None:
            lines += ["", str(sel)]
        lines += ["", "predicted target-scale losses:"]
        mix = self.stages.get("mixture")
        if self.route == "nested" and mix is not None:
            # These rows are stage 2's values, which the mixing law is fitted to; `mixlaw predict --pipeline`,
            # PipelineResult.predict and the optimum read the mixing law, which differs from them by its
            # residuals. Said here: the same mixture came back 1.6036 from this table and 1.6191 from predict
            # (Dai & Zheng's SlimPajama, arxiv at 2.718B), and nothing told a user which to believe or why.
            own = "step law" if self.steps_only else "size law" if self.sizes_only else "step and size laws"
            lines.append(f"  (each mixture's own {own} at the target; `mixlaw predict --pipeline`, "
                         f"predict() and the optimum use the {self.law} law fitted to these rows, which differs "
                         f"from them by the mixture stage's residuals: median {mix.median_rel_residual:.2%}, "
                         f"max {mix.max_rel_residual:.2%})")
        if self.intervals is not None:
            lines.append(f"  (lo/hi: {self.intervals.level:.0%} prediction interval; {self.intervals.method})")
        if predictions_to is None:
            # Without the mixture label: the w: columns beside it say the same (a 10-domain label is 100 characters
            # and made each line 300). A long table shows its first rows and says how to get all of them.
            shown = self.frame().drop(columns=["mixture", "first_run"])
            lines.append(frame_text(shown.head(SHOWN_MIXTURES), index=False, float_format=lambda v: f"{v:.4f}"))
            if len(shown) > SHOWN_MIXTURES:
                lines.append(f"  ... and {len(shown) - SHOWN_MIXTURES} more mixture(s): --out FILE (.csv/.parquet) "
                             "writes every one, --json lists them")
        else:
            lines.append(f"  {len(self.mixtures)} mixture(s) x {len(self.targets)} eval set(s) written to "
                         f"{predictions_to}")
        if self.warnings:
            lines += ["", "warnings:"] + [f"  {w}" for w in self.warnings]
        return "\n".join(lines)


def _positive(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not (np.isfinite(v) and v > 0):
        # The option too: 'predict --pipeline p.json --params 0' said "params must be ...".
        flag = {"params": " (--params)", "steps": " (--steps)", "tokens": " (--tokens)"}.get(name, "")
        raise InputError(f"{name}{flag} must be a positive number; got {value!r}")
    return v


#: Mixtures the text report prints before it points to ``--out`` for the rest.
SHOWN_MIXTURES = 40


def mixture_label(weights: Any, domains: list[str]) -> str:
    """``web=0.5,code=0.3,math=0.2``: a mixture named by its weights (4 significant digits), not by a run."""
    return ",".join(_label_pairs(weights, domains))


def _label_pairs(weights: Any, domains: list[str]) -> list[str]:
    """The ``domain=share`` items of :func:`mixture_label`, which :func:`short_mixture_label` cuts."""
    return [f"{d}={float(v):.4g}" for d, v in zip(domains, weights, strict=True)]


#: Characters of a mixture's label that a one-line warning or error shows (:func:`short_mixture_label`).
LABEL_WIDTH = 80


def short_mixture_label(weights: Any, domains: list[str], width: int = LABEL_WIDTH) -> str:
    """:func:`mixture_label` as a one-line warning names a mixture: whole where it fits in ``width`` characters,
    else its first ``domain=share`` pairs that do (at least one) and how many it leaves out, the head of the
    ``mixture`` column of ``--out``: ``dolma3_arxiv=0.01711,dolma3_cc/art_and_design_high=0.02699,... (+37 more of
    39 domains)``. Whole, Marin's 39 buckets made a label of 1368-1386 characters inside the far-below and
    wide-interval warnings and a saved pipeline's refusal."""
    return _cut_pairs(_label_pairs(weights, domains), width)


def _cut_pairs(pairs: list[str], width: int) -> str:
    """``pairs`` joined by ',', whole within ``width`` characters, else the first that fit (at least one) and
    ``,... (+N more of M domains)``."""
    if len(",".join(pairs)) <= width:
        return ",".join(pairs)
    n = 1
    while n < len(pairs) and len(",".join(pairs[:n + 1])) <= width:
        n += 1
    return f"{','.join(pairs[:n])},... (+{len(pairs) - n} more of {len(pairs)} domains)"


def short_label(text: str, width: int = LABEL_WIDTH) -> str:
    """A row's label (a ``run`` name, or a ``mixture`` label such as ``predict`` reads from ``mixlaw pipeline
    --out``) as a one-line warning or a printed table shows it: whole where it fits in ``width`` characters; a
    mixture label (``domain=share`` items) cut as :func:`short_mixture_label` cuts it; any other text cut to ``width``
    characters ending in ``...``. Whole, ``predict --pipeline p.json --mixtures out.csv`` of Marin's 39 buckets
    printed rows and warnings of 1368-1386 characters of label."""
    text = str(text)
    if len(text) <= width:
        return text
    items = text.split(",")
    if len(items) > 1 and all("=" in item for item in items):
        return _cut_pairs(items, width)
    return text[:width - 3] + "..."


def same_scale(a: float, b: float) -> bool:
    """``a`` is ``b`` (a fitted size, a recorded step) to :data:`SCALE_RTOL` of ``b``."""
    return abs(float(a) - float(b)) <= SCALE_RTOL * abs(float(b))


def scale_matches(values: np.ndarray, x: float) -> np.ndarray:
    """Which of ``values`` (fitted sizes, recorded steps) ``x`` is: :func:`same_scale` over an array."""
    return np.abs(values - x) <= SCALE_RTOL * np.abs(values)


def check_fitted_scale(params: float, T: float, *, size: float | None, time: float | None,
                       sym: str | None = None) -> None:
    """InputError (one line) unless (``params``, ``T``) is at the one model size ``size`` of a steps-only pipeline
    and the one step (or token) count ``time`` of a sizes-only one (None: no such restriction); ``sym`` ("S", "D"
    or None when not known) names the time axis."""
    if size is not None and not same_scale(params, size):
        raise InputError(f"this pipeline was fitted at one model size, N = {size:g} (steps only): it predicts at that "
                         f"size, at any step count, not at N = {float(params):g}")
    if time is not None and not same_scale(T, time):
        unit = {"S": "step", "D": "token count"}.get(sym or "", "step (or token) count")
        at = f"{sym} = " if sym else ""
        raise InputError(f"this pipeline was fitted at one {unit}, {at}{time:g} (sizes only): it predicts there, at "
                         f"any model size, not at {at}{float(T):g}")


def _size_list(sizes: np.ndarray) -> str:
    return ", ".join(exact_number(v) for v in sizes)


#: What extrapolates in model size on each route, as the refusals and the backtests name it: the nested route's
#: size law, the direct route's joint law's size term, or a registered law that takes N as an input (dz-eq1).
SIZE_LAW = "the size law L(N) = E + A/N^alpha"
JOINT_SIZE_TERM = "the direct joint law's size term E + A/N^alpha"


def size_fit_words(route: str, registered: bool = False) -> str:
    """What fits across model sizes on ``route`` ("nested", "direct", or "auto": both compared); ``registered``: the
    direct route fits a registered law that takes N as an input instead of its joint law."""
    if route == "nested":
        return SIZE_LAW
    if route == "direct":
        return "a law that takes N as an input" if registered else JOINT_SIZE_TERM
    return f"{SIZE_LAW} (nested route), as {JOINT_SIZE_TERM} (direct route),"


def held_out_size_words(route: str, registered: bool = False) -> str:
    """Why a backtest cannot hold out the largest of too few sizes, ending a line "... leaves 2, <this>": what fits
    across sizes on ``route`` needs 3 (a registered law that fits 2: the backtest fits 3 or more, as for the
    others)."""
    return "the backtest fits 3 or more" if route == "direct" and registered else f"{size_fit_words(route)} needs 3"


#: What two model sizes can still do, said by every refusal of a size extrapolation that has two (a table of two, or
#: two kept by fit_sizes / fit_up_to).
TWO_SIZES_WAY = ("with 2 sizes only a law that takes N as an input can (route 'direct', law 'dz-eq3-safe', 'dz-eq3' or "
                 "'dz-eq1': --route direct --law dz-eq3-safe), and no backtest can test it")


def size_law_refusal(sizes: np.ndarray, what: str = SIZE_LAW, at_time: str | None = None, need: int = 3
                     ) -> InputError:
    """The one-line refusal of a target size that needs a size law the data cannot fit (< ``need`` sizes).
    ``what``: what fits across sizes (:func:`size_fit_words`). ``at_time`` (e.g. ``"S = 3000"``): the sizes-only
    pipeline's one step, whose runs these sizes are; no steps-only tail then (one checkpoint per curve cannot
    extrapolate in steps)."""
    # With 2 sizes a law that takes N as an input still fits (check_size_law asks it for 2): said because a user
    # with Dai & Zheng's 4-domain Pile runs (90M and 200M, target 440M) got this refusal and no way forward, while
    # '--route direct --law dz-eq3-safe' ran (2.9 % MRE at 440M).
    other = f"; {TWO_SIZES_WAY}" if need > 2 and sizes.size == 2 else ""
    if at_time is not None:
        return InputError(f"{what} needs {need} model sizes to extrapolate to another size; the runs at {at_time} "
                          f"(sizes only) have {sizes.size} model size(s) ({_size_list(sizes)}){other}")
    at = " or ".join(f"{v:g}" for v in sizes)
    return InputError(f"{what} needs {need} model sizes to extrapolate to another size; the data has {sizes.size} "
                      f"model size(s) ({_size_list(sizes)}); a target size equal to a fitted one ({at}) extrapolates "
                      f"in steps alone{other}")


def log_distance(size_ratio: float, time_ratio: float) -> float:
    r"""An extrapolation's distance in log N + log S (or log D) from ratios to the largest fitted size and the last
    checkpoint: :math:`\max(0, \log r_N) + \max(0, \log r_S)`. A ratio below 1 (inside the fitted range on that
    axis) adds nothing, not a negative distance: interpolating in steps does not undo extrapolating in size."""
    return float(max(0.0, np.log(size_ratio)) + max(0.0, np.log(time_ratio)))


def short_list(values: np.ndarray, at_most: int = 6) -> str:
    """``a, b, c`` (or ``a, b, ..., z`` for a long list: a full sweep's checkpoints)."""
    if values.size <= at_most:
        return _size_list(values)
    return f"{_size_list(values[:at_most - 1])}, ..., {values[-1]:g}"


def step_law_refusal(values: np.ndarray, axis: str, most: int, shared: np.ndarray) -> InputError:
    """The one-line refusal of a target step (or token count) that needs a step law the data cannot fit: no curve
    has the 3 checkpoints its 3 parameters need (``most``: the most any curve has; ``values``: the recorded ones;
    ``shared``: those recorded at 3 or more sizes, where the sizes-only pipeline can run)."""
    sym, unit = ("S", "step") if axis == "step" else ("D", "token count")
    tail = (f"a target {unit} equal to a recorded one ({' or '.join(f'{v:g}' for v in shared[:6])}) extrapolates in "
            "model size alone" if shared.size else
            f"no {unit} is recorded at 3 or more model sizes, so neither can it extrapolate in model size alone")
    return InputError(f"the step law L({sym}) = E + B/{sym}^beta needs 3 checkpoints per curve with beta shared "
                      f"across curves (4 checkpoints for its own beta) to extrapolate to another {unit}; the data's "
                      f"curves have at most {most} checkpoint(s), at {values.size} {unit} value(s) "
                      f"({short_list(values)}); {tail}")


#: A fit's bound message after its curve's label ('<curve>: E at lower bound 0'): its kind, 'E at lower bound 0'.
_BOUND_KIND = re.compile(r"(?:^|.*: )([A-Za-z_]\w* at (?:lower|upper) bound \S+)", re.S)


def stage_warning_line(stage: str, messages: list[str]) -> str | None:
    """One line saying how many warnings a stage's fits raised and which, most frequent first (None if none).

    The stage table counts them; this line is what ``PipelineResult.warnings`` (printed, and in JSON) says. Where
    it leaves messages out and bound messages repeat a kind across curves, it ends with their count by kind (``by
    kind: E at lower bound 0 (x113), alpha at upper bound 4 (x26)``): with each curve named (the nested route's
    own-exponent fits since 5f77793, every curve a distinct message), Ye et al.'s 5Mix said "size stage: 139
    warning(s) in its fits: <3 curves>; and 136 other distinct message(s)", where it had said that 113 were E at
    its floor.
    """
    if not messages:
        return None
    counts: dict[str, int] = {}
    for m in messages:
        counts[m] = counts.get(m, 0) + 1
    top = sorted(counts.items(), key=lambda kv: -kv[1])
    shown = "; ".join(f"{m} (x{n})" if n > 1 else m for m, n in top[:3])
    more = f"; and {len(top) - 3} other distinct message(s)" if len(top) > 3 else ""
    if more:
        kinds: dict[str, int] = {}
        for m in messages:
            hit = _BOUND_KIND.fullmatch(m)
            if hit:
                kinds[hit.group(1)] = kinds.get(hit.group(1), 0) + 1
        if any(n > 1 for n in kinds.values()):
            by = sorted(kinds.items(), key=lambda kv: -kv[1])
            more += "; by kind: " + ", ".join(f"{k} (x{n})" for k, n in by[:4]) + (
                f", {len(by) - 4} other kind(s)" if len(by) > 4 else "")
    return f"{stage} stage: {len(messages)} warning(s) in its fits: {shown}{more}"


@dataclass
class _Target:
    """The target scale: size N*, and the time axis value T* (steps or tokens, by ``axis``)."""

    params: float
    time: float
    axis: str
    tokens_per_step: float | None

    @property
    def steps(self) -> float | None:
        if self.axis == "step":
            return self.time
        return None if self.tokens_per_step is None else self.time / self.tokens_per_step

    @property
    def tokens(self) -> float | None:
        if self.axis == "tokens":
            return self.time
        return None if self.tokens_per_step is None else self.time * self.tokens_per_step

    @property
    def symbol(self) -> str:
        return "S" if self.axis == "step" else "D"

    def time_of(self, table: RunTable) -> np.ndarray | None:
        """The table's column on this target's time axis: its steps or its tokens."""
        return table.steps if self.axis == "step" else table.tokens


def _tokens_per_step(table: RunTable) -> float | None:
    """Tokens per optimiser step when the table has both columns and the ratio is one constant, else None."""
    S, D = table.steps, table.tokens
    if S is None or D is None or np.any(S <= 0):
        return None
    ratio = D / S
    return float(ratio[0]) if np.allclose(ratio, ratio[0], rtol=1e-9) else None


# ---------------------------------------------------------------------- options and mixtures the routes check
def _check_fit_from(fit_from: Any) -> float:
    try:
        value = float(fit_from)
    except (TypeError, ValueError):
        raise InputError(f"fit_from must be a number in [0, 1); got {fit_from!r}") from None
    if not 0.0 <= value < 1.0:  # also rejects NaN
        raise InputError(f"fit_from must be in [0, 1) (a fraction of each curve's last step); got {value:g}")
    return value


def _check_mixing_law(mixing: MixingLaw, n_mix: int) -> None:
    try:
        check_enough_runs(mixing)
    except InputError as err:
        raise InputError(f"{n_mix} mixtures: {err}") from None
