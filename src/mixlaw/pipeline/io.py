"""Save a fitted pipeline as JSON and load it back: ``mixlaw pipeline --save`` and ``mixlaw predict --pipeline``.

The file holds what :meth:`PipelineResult.predict` needs to predict any mixture at any model size and step (or
token) count: the target-scale mixing law and the route's fitted scale model (nested: every curve's step law
and the settings of stages 2-3, refitted on demand with the saved seed; direct: the joint law's coefficients or
the registered law that takes N). Loading gives the same predictions bit for bit. The human-readable part of
:meth:`PipelineResult.to_dict` (stages, mixtures, warnings) is saved as well, and the prediction intervals with
what they need at another scale (the backtest residuals; the jackknife refits' fitted stages in
``state.jackknife``): :func:`load_pipeline` rebuilds :attr:`PipelineResult.intervals` from them, so that a loaded
pipeline's :meth:`PipelineResult.interval` gives them at the target and at any scale, as the fitted one does (at
the target, from each saved mixture's saved jackknife spread: :attr:`.intervals.PredictionIntervals.from_file`).
Without a backtest (intervals at the target only) the file keeps the refits' mixing laws alone, each as what
differs from the pipeline's own law (``state.jackknife_laws``), so that a new mixture gets the fitted pipeline's
interval too.

A saved file is untrusted input: plain JSON (no pickle, no eval), a ``format`` tag and a ``schema_version``
that must match, and every field checked for type, shape and range (:mod:`._schema`); anything off is one
:class:`~mixlaw.errors.InputError` naming the file and the field.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import atomic_target, cannot_write
from .._console import pad, repr_as_text
from .._version import __version__
from ..data.reading import PIPELINE_FORMAT, saved_file_kind
from ..data.schema import WEIGHT_TOL
from ..errors import InputError
from ..evals import TOTAL_NAME
from ..laws.base import MixingLaw, law_from_dict
from ..laws.saved import LOSS_RANGE_FACTOR, off_loss_range
from . import _schema as sc
from .direct_scales import _JointScales, _RegisteredScales
from .intervals import PredictionIntervals
from .nested import _NestedStages23
from .result import ROUTES, PipelineResult, StageQuality, same_scale, short_mixture_label
from .selection import ON_TOTAL, candidates_frame

FORMAT = PIPELINE_FORMAT
#: Bumped whenever a field changes meaning; a file of another version is refused, not guessed at.
SCHEMA_VERSION = 1
_SCALES: dict[str, Any] = {"nested": _NestedStages23, "joint": _JointScales, "registered": _RegisteredScales}


def pipeline_to_dict(result: PipelineResult) -> dict[str, Any]:
    """The saved form of ``result``: strict JSON (NaN as null)."""
    if not isinstance(result, PipelineResult):
        # save_pipeline(law, path) stopped on "AttributeError: 'Linear' object has no attribute 'scales'".
        hint = ": save a law with save_law(law, path)" if isinstance(result, MixingLaw) else ""
        raise InputError(f"save_pipeline writes a fit_pipeline result (a PipelineResult); got "
                         f"{type(result).__name__}{hint}")
    if result.scales is None:
        raise InputError("this pipeline result has no scale model to save")
    state = {"mixtures": sc.jsonable_array(result.mixtures), "mixture_runs": list(result.mixture_runs),
             "target_losses": sc.jsonable_array(result.target_losses),
             "predict_kwargs": sc.plain(result.predict_kwargs), "tokens_per_step": result.tokens_per_step,
             "scales": result.scales.to_dict()}
    if result.table_lowest is not None:
        # For the fit's check that a prediction is not below half of it, at predict time (predict --pipeline).
        state["table_lowest"] = sc.jsonable_array(result.table_lowest)
    if result.smallest_fitted is not None:
        # For predict's warning at a smaller size or step than any fitted (the size / step law read downward).
        state["smallest_fitted"] = sc.jsonable_array(result.smallest_fitted)
    if result.fit_total is not None:
        # --fit-total's objective (as given, and its eval weights): 'optimize --pipeline' read "objective=loss of
        # objective", the user's weights lost.
        state["fit_total"] = {"name": str(result.fit_total["name"]),
                              "weights": {str(k): float(v) for k, v in result.fit_total["weights"].items()}}
    iv = result.intervals
    if iv is not None and iv.residuals is not None and len(iv.boot_scales) == len(iv.boot_laws) == iv.n_boot:
        # The jackknife refits' scale models (and mixing laws: a registered law's scale model is its law), for
        # intervals at another scale (PredictionIntervals.at_scale); only where the backtest residuals are there to
        # scale, and all of them (one read back from an older file without them has n_boot refits, none kept).
        state["jackknife"] = [{"scales": sc.plain(scales.to_dict()), "mixing_law": law.to_dict()}
                              for scales, (law, _) in zip(iv.boot_scales, iv.boot_laws, strict=True)]
    elif iv is not None and iv.residuals is None and iv.refits_kept:
        # Without a backtest the intervals are at the target only, where a new mixture's jackknife part is the
        # refits' mixing laws' spread at it: keep those laws (not their scale models), each as what differs from the
        # pipeline's own law, so that a loaded pipeline gives a new mixture the fitted one's interval
        # (:func:`_law_delta`: 1.25-1.6x the file, where whole laws made it 1.8-2.8x: docs/pipeline.md).
        base = sc.plain(result.mixing_law.to_dict())
        state["jackknife_laws"] = [_law_delta(sc.plain(law.to_dict()), base) for law, _ in iv.boot_laws]
    return {"format": FORMAT, "schema_version": SCHEMA_VERSION, "mixlaw_version": __version__,
            "result": sc.plain(result.to_dict()), "state": state}


def _law_delta(law: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """A jackknife refit's ``law.to_dict()`` as what differs from the pipeline's own law's (``base``): the
    parameters' values in ``base``'s order (``values``), their bounds where they differ (``bounds``), and every
    other field that differs. A refit of another law or other parameters is kept whole (``{"whole": law}``).
    :func:`_law_from_delta` reads it back; a parameter's ``init`` and ``stderr``, which no prediction reads, are
    not kept."""
    bp = base.get("params") or {}
    if law.get("law") != base.get("law") or list(law.get("params") or {}) != list(bp):
        return {"whole": law}
    out = {k: v for k, v in law.items() if k != "params" and v != base.get(k)}
    out["values"] = [p["value"] for p in law["params"].values()]
    bounds = {n: {k: p[k] for k in ("min", "max", "vary") if p[k] != bp[n][k]} for n, p in law["params"].items()}
    if any(bounds.values()):
        out["bounds"] = {n: b for n, b in bounds.items() if b}
    return out


def _law_from_delta(delta: Any, base: dict[str, Any], where: str) -> dict[str, Any]:
    """The refit law's dict (for :func:`_saved_law`) from :func:`_law_delta`'s ``delta`` and the pipeline's own law
    ``base``, the delta's layout checked (the law's own check follows)."""
    if not isinstance(delta, dict):
        raise InputError(f"{where}: expected an object")
    if "whole" in delta:
        return {"mixing_law": delta["whole"]}
    bp = base["params"]
    values = sc.array(delta, "values", where, (len(bp),))
    bounds = delta.get("bounds") or {}
    if not isinstance(bounds, dict) or not set(bounds) <= set(bp) or not all(
            isinstance(b, dict) and set(b) <= {"min", "max", "vary"} for b in bounds.values()):
        raise InputError(f"{where}.bounds: expected {{parameter: {{min, max, vary}}}} for the law's parameters")
    law = {**base, **{k: v for k, v in delta.items() if k not in ("values", "bounds")}}
    law["params"] = {n: {**p, "value": float(v), "init": float(v), "stderr": None, **bounds.get(n, {})}
                     for (n, p), v in zip(bp.items(), values, strict=True)}
    return {"mixing_law": law}


def _fit_total(st: dict[str, Any], targets: list[str]) -> dict[str, Any] | None:
    """``state.fit_total``: the objective a --fit-total pipeline's one target sums, ``{"name": str, "weights": {eval:
    w}}`` (weights finite, >= 0, some > 0); absent (a file saved before it was kept, or evals fitted each): None."""
    d = st.get("fit_total")
    if d is None:
        return None
    where = "state.fit_total"
    if targets != [TOTAL_NAME]:
        raise InputError(f"{where}: a pipeline fitted on one weighted total has the one target {TOTAL_NAME!r}; "
                         f"got {targets}")
    if not isinstance(d, dict) or set(d) != {"name", "weights"}:
        raise InputError(f"{where}: expected an object with name and weights")
    name = d["name"]
    # printable: the name is printed in optimize's header (a control character, which the CLI refuses in
    # --objective, a tab aside, reached the terminal as it was)
    if not isinstance(name, str) or not name.strip() or len(name) > 1000 or not name.replace("\t", " ").isprintable():
        raise InputError(f"{where}.name: expected the --objective as given (one line of printable text); got "
                         f"{ascii(name)[:80]}")
    w = d["weights"]

    def weight(v: Any) -> bool:
        # float() first, as sc.number: a 400-digit integer literal is an int no float holds (np.isfinite raised
        # TypeError, a traceback)
        try:
            return isinstance(v, (int, float)) and not isinstance(v, bool) and bool(np.isfinite(float(v))) and v >= 0
        except OverflowError:
            return False

    if not isinstance(w, dict) or not w or not all(isinstance(k, str) and k for k in w) or not all(
            weight(v) for v in w.values()) or not any(v > 0 for v in w.values()):
        raise InputError(f"{where}.weights: expected {{eval: weight}}, weights finite and >= 0, some > 0; got "
                         f"{str(w)[:80]}")
    return {"name": name, "weights": {k: float(v) for k, v in w.items()}}


def pipeline_from_dict(doc: Any) -> PipelineResult:
    """Rebuild a :class:`PipelineResult` from :func:`pipeline_to_dict`, checking every field."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        law = saved_file_kind(doc) == "law"
        raise InputError(f'not a saved mixlaw pipeline (expected "format": "{FORMAT}")' +
                         ("; it is a saved law (mixlaw fit --out), which mixlaw predict --law reads (load_law in "
                          "Python)" if law else ""))
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise InputError(f"schema_version {doc.get('schema_version')!r} is not supported (this mixlaw reads "
                         f"{SCHEMA_VERSION}); refit and save with 'mixlaw pipeline --save' (save_pipeline in Python)")
    r, st = sc.field_of(doc, "result", "file"), sc.field_of(doc, "state", "file")
    route = sc.string(r, "route", "result", ROUTES)
    domains, targets = sc.strings(r, "domains", "result"), sc.strings(r, "targets", "result")
    if len(domains) < 2 or not targets:
        raise InputError("result: needs 2 or more domains and 1 or more targets")
    mixtures = sc.array(st, "mixtures", "state", (None, len(domains)))
    off = np.flatnonzero(np.any(mixtures < 0, axis=1) | (np.abs(mixtures.sum(axis=1) - 1.0) > WEIGHT_TOL))
    if off.size:
        # What the fit reads as its runs' weight range (the optimum's trust region, the intervals' distances): a
        # share edited to 1e300 or -1000 loaded, and was found only by a law's prediction there (saved29's fuzz).
        raise InputError(f"state.mixtures[{off[0]}]: expected shares >= 0 summing to 1 (within {WEIGHT_TOL:g}, a run "
                         f"table's rows); got {str(mixtures[off[0]].tolist())[:80]}")
    losses = sc.array(st, "target_losses", "state", (len(mixtures), len(targets)))
    law = _saved_law(r, "result", domains, targets)
    scales = _saved_scales(st, "state", domains, targets, law)
    target_params = float(sc.number(r, "target_params", "result", positive=True) or 0.0)
    size = getattr(scales, "size", None)
    if size is not None and not same_scale(target_params, size):
        raise InputError(f"result.target_params: {target_params:g}, but the pipeline was fitted at one model size, "
                         f"{size:g} (steps only), and predicts there only")
    time_axis = sc.string(r, "time_axis", "result", ("step", "tokens"))
    # The target along the time axis is what every prediction at another size reads (the other one may be null:
    # a table with no tokens per step): null there stopped `predict --pipeline --params N` on a TypeError.
    time_key = "target_steps" if time_axis == "step" else "target_tokens"
    target_time = sc.number(r, time_key, "result", positive=True, optional=True)
    if target_time is None:
        raise InputError(f"result.{time_key}: expected a positive finite number (the pipeline was fitted over "
                         f"{time_axis}, its target there); got null")
    one_time = getattr(scales, "time", None)
    if one_time is not None and not same_scale(target_time, one_time):
        # The mirror of the size check: a sizes-only pipeline predicts at its one step (or token count) only.
        raise InputError(f"result.{time_key}: {target_time}, but the pipeline was fitted at one {time_axis} value, "
                         f"{one_time:g} (sizes only), and predicts there only")
    kw = sc.field_of(st, "predict_kwargs", "state")
    if not isinstance(kw, dict) or not set(kw) <= {"model_params", "tokens"}:
        raise InputError("state.predict_kwargs: expected an object with model_params and/or tokens")
    stages = sc.field_of(r, "stages", "result")
    if not isinstance(stages, dict):
        raise InputError("result.stages: expected an object")
    result = PipelineResult(
        route, sc.string(r, "law", "result"), target_params,
        sc.number(r, "target_steps", "result", positive=True, optional=True), domains, targets, mixtures,
        sc.strings(st, "mixture_runs", "state", len(mixtures)), losses,
        {str(k): _stage(v, f"result.stages.{k}") for k, v in stages.items()}, law,
        {k: sc.number(kw, k, "state.predict_kwargs", positive=True) for k in kw},
        sc.strings(r, "warnings", "result"),
        target_tokens=sc.number(r, "target_tokens", "result", positive=True, optional=True),
        time_axis=time_axis,
        tokens_per_step=sc.number(st, "tokens_per_step", "state", positive=True, optional=True), scales=scales)
    # Absent (saved before it existed): False.
    final = r.get("final_losses", False)
    if not isinstance(final, bool):
        raise InputError(f"result.final_losses: expected true or false; got {str(final)[:80]}")
    result.final_losses = final
    result.table_lowest = _table_lowest(st, len(targets))
    result.smallest_fitted = _smallest_fitted(st)
    result.fit_total = _fit_total(st, targets)
    sizes = getattr(scales, "sizes", None)
    if result.smallest_fitted is None and sizes is not None:
        # A nested file saved before it was kept: its size stage keeps the fitted sizes (not the steps).
        result.smallest_fitted = np.array([float(np.min(sizes)), np.nan])
    if isinstance(scales, _NestedStages23):
        # The step laws at the file's own steps (its smallest fitted and its target): what stages 2-3 read.
        scales.check_values([t for t in (result.smallest_fitted[1], target_time) if np.isfinite(t)], "state.scales")
        scales.check_target_losses(target_time, losses, "state.scales")
    _check_own_points(result, target_time)
    # Absent (saved before intervals existed) or null (fitted without them): none.
    iv = r.get("intervals")
    result.intervals = None if iv is None else _intervals_from_dict(iv, st, result)
    # Absent (a hand-made file) or null (route and law given, not auto): none.
    sel = r.get("selection")
    result.saved_selection = None if sel is None else SavedSelection.from_dict(sel, "result.selection")
    return result


@dataclass(frozen=True)
class SavedSelection:
    """Auto's choice of route and law as a saved pipeline keeps it (:meth:`.selection.Selection.to_dict` read
    back, every field checked): each candidate's backtest errors, the choice, the runner-up and the error estimate
    at the target. Not the split's rows or the residuals, which the file does not keep: ``str`` prints the
    candidates' table of :class:`~.selection.Selection` without the split's line.

    Why: ``mixlaw report --pipeline`` draws the page of a saved pipeline, and the choice (and the estimate the
    held-out check is set against) is what the file's reader most wants to see again."""

    chosen: str
    runner_up: str | None
    metric: str
    note: str
    route_warning: str
    error_estimate: float  # nan: none
    #: (label, MRE, max, mean signed, n, score, why it could not run or None), each error nan where not scored.
    candidates: tuple[tuple[str, float, float, float, int, float, str | None], ...]
    doc: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: Any, where: str) -> SavedSelection:
        def text(doc: Any, key: str, at: str) -> str | None:  # absent (older files) or null: None
            v = doc.get(key)
            if v is not None and not isinstance(v, str):
                raise InputError(f"{at}.{key}: expected a string; got {str(v)[:80]}")
            return v

        def rate(doc: Any, key: str, at: str) -> float:  # null: not scored
            v = sc.number(doc, key, at, optional=True)
            return float("nan") if v is None else v

        cands = sc.field_of(d, "candidates", where)
        if not isinstance(cands, list):
            raise InputError(f"{where}.candidates: expected a list")
        rows = []
        for i, c in enumerate(cands):
            at = f"{where}.candidates[{i}]"
            rows.append((sc.string(c, "label", at), rate(c, "mre", at), rate(c, "max_rel_error", at),
                         rate(c, "mean_signed", at), _count(c, "n", at), rate(c, "score", at), text(c, "error", at)))
        return cls(sc.string(d, "chosen", where), text(d, "runner_up", where), sc.string(d, "metric", where),
                   text(d, "note", where) or "", text(d, "route_warning", where) or "",
                   rate(d, "error_estimate", where), tuple(rows), sc.plain(d))

    @property
    def on_total(self) -> bool:
        """Whether the chosen law was fitted on the weighted total (its label says so, :attr:`.selection.Candidate.
        label`): what the optimum then minimises, as for a fitted pipeline's ``selection.chosen.on_total``."""
        return self.chosen.endswith(ON_TOTAL)

    def to_frame(self) -> Any:
        """The saved backtest table as a DataFrame, with the columns of :meth:`.selection.Selection.to_frame`."""
        return candidates_frame(self.candidates, self.chosen, self.runner_up)

    def to_dict(self) -> dict[str, Any]:
        """The saved form, as read (a loaded pipeline saved again keeps it)."""
        return dict(self.doc)

    _repr_pretty_ = repr_as_text  # a notebook shows the report

    def __str__(self) -> str:
        lines = ["[[Auto: route and law chosen by a leave-scale-out backtest]]  (as saved: the split's rows and "
                 "the residuals are not kept)", f"    error: {self.metric}"]
        if self.route_warning:
            lines.append(f"    {self.route_warning}")
        lines.append(f"    {'candidate':<34} {'MRE':>8} {'max':>8} {'signed':>8} {'n':>4} {'score':>8}")
        # As Selection prints them: those that ran by score, then those that could not.
        order = sorted(self.candidates, key=lambda c: (c[6] is not None, np.nan_to_num(c[5], nan=np.inf)))
        for label, mre, mx, signed, n, score, why in order:
            mark = "  <- chosen" if label == self.chosen else ("  <- runner-up" if label == self.runner_up else "")
            lines.append(f"    {pad(label, 34)} " + (f"cannot run: {why}" if why is not None else
                                                     f"{mre:>8.2%} {mx:>8.2%} {signed:>+8.2%} {n:>4} {score:>8.2%}")
                         + mark)
        if self.note:
            lines.append(f"    {self.note}")
        if np.isfinite(self.error_estimate):
            lines.append(f"    error estimate at the target: {self.error_estimate:.2%}")
        return "\n".join(lines)


def _saved_law(parent: Any, where: str, domains: list[str], targets: list[str]) -> MixingLaw:
    """``parent["mixing_law"]`` loaded as a law over ``domains`` and ``targets``, every failure one InputError."""
    doc = sc.field_of(parent, "mixing_law", where)  # outside the try: its error names its own place, once
    try:
        law = law_from_dict(doc)
    except InputError as err:
        raise InputError(f"{where}.mixing_law: {err}") from None
    except Exception as err:  # a law's own state restore may fail in any way on a hostile file
        raise InputError(f"{where}.mixing_law: not a saved law ({type(err).__name__})") from None
    if list(law.domains_) != domains or list(law.targets_) != targets:
        raise InputError(f"{where}.mixing_law: its domains or targets differ from the pipeline's")
    return law


def _check_own_points(result: PipelineResult, target_time: float) -> None:
    """The saved mixing law, and the direct route's joint law at the target, predict the file's own fitted points
    (``state.mixtures`` at the target scale) as positive losses within :data:`~mixlaw.laws.saved.LOSS_RANGE_FACTOR`
    of ``state.target_losses`` (stage 3's inputs, or the joint law's own predictions there), the rule of a law's
    loss-range warning (:func:`~mixlaw.laws.saved.off_loss_range`). The file is untrusted: the joint law's E edited
    to 1e300 (within its saved bounds [0, inf)) loaded and predicted 1e300 at every other scale, and a mixing law
    whose parameter was edited with its bounds 1e300 at the target (saved29's fuzz)."""
    losses = result.target_losses
    fitted = (losses.min(axis=0), losses.max(axis=0))
    laws = [("result.mixing_law", result.mixing_law, dict(result.predict_kwargs))]
    if isinstance(result.scales, _JointScales):
        laws.append(("state.scales.thetas", *result.scales.law_at(result.target_params, target_time)))
    for where, law, kw in laws:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a range warning here is this check's to word
            pred = np.asarray(law.predict(result.mixtures, **kw), dtype=np.float64).reshape(losses.shape)
        bad = off_loss_range(pred, fitted)
        if bad.any():
            i, k = (int(v[0]) for v in np.nonzero(bad))
            where = f"{where}[{k}] ({result.targets[k]}'s joint law)" if where.endswith("thetas") else where
            raise InputError(f"{where}: predicts {pred[i, k]:.4g} for {result.targets[k]!r} at the pipeline's own "
                             f"mixture {short_mixture_label(result.mixtures[i], result.domains)} "
                             f"(state.mixtures[{i}]) at the target scale, outside {LOSS_RANGE_FACTOR:g}x "
                             f"the fitted losses there, [{fitted[0][k]:.4g}, {fitted[1][k]:.4g}] "
                             "(state.target_losses): a parameter edited? (refit)")


def _saved_scales(parent: Any, where: str, domains: list[str], targets: list[str], law: MixingLaw) -> Any:
    """``parent["scales"]``, a fitted scale model of one of the kinds in :data:`_SCALES`, over ``law``."""
    doc = sc.field_of(parent, "scales", where)
    kind = sc.string(doc, "kind", f"{where}.scales", tuple(_SCALES))
    return _SCALES[kind].from_dict(doc, f"{where}.scales", domains=domains, targets=targets, mixing_law=law)


def _table_lowest(st: Any, n_targets: int) -> np.ndarray | None:
    """``state.table_lowest``: each target's lowest loss in the fitted table, positive (losses are: RunTable) or null
    (an eval without one); absent (saved before it was kept): None, and predict skips the check it serves."""
    if st.get("table_lowest") is None:
        return None
    low = sc.array(st, "table_lowest", "state", (n_targets,), allow_nan=True)
    if np.any(low <= 0):  # False for NaN
        raise InputError(f"state.table_lowest: expected positive numbers (the table's lowest loss of each target); "
                         f"got {str(st['table_lowest'])[:80]}")
    return low


def _smallest_fitted(st: Any) -> np.ndarray | None:
    """``state.smallest_fitted``: the fitted table's smallest model size and step (or token count), positive or null
    (none in the table); absent (saved before it was kept): None, and predict skips the warning it serves."""
    if st.get("smallest_fitted") is None:
        return None
    low = sc.array(st, "smallest_fitted", "state", (2,), allow_nan=True)
    if np.any(low <= 0):  # False for NaN
        raise InputError("state.smallest_fitted: expected two positive numbers (the fitted table's smallest model "
                         f"size and step); got {str(st['smallest_fitted'])[:80]}")
    return low


def _stage(d: Any, where: str) -> StageQuality:
    fits = sc.field_of(d, "fits", where)
    if not isinstance(fits, list) or not all(isinstance(f, dict) and isinstance(f.get("label"), str) for f in fits):
        raise InputError(f"{where}.fits: expected a list of objects with a label")
    return StageQuality(sc.string(d, "name", where), sc.string(d, "description", where),
                        _count(d, "n_fits", where), _count(d, "n_points", where),
                        _nan_or_number(d, "median_rel_residual", where), _nan_or_number(d, "max_rel_residual", where),
                        _count(d, "n_warnings", where), _nan_or_number(d, "seconds", where),
                        [{"label": f["label"], "n_points": _count(f, "n_points", where),
                          "max_rel_residual": _nan_or_number(f, "max_rel_residual", where)} for f in fits])


def _count(d: Any, key: str, where: str) -> int:
    v = sc.number(d, key, where)
    if v is None or v < 0 or not float(v).is_integer():
        raise InputError(f"{where}.{key}: expected a count")
    return int(v)


def _nan_or_number(d: Any, key: str, where: str) -> float:
    return float("nan") if sc.field_of(d, key, where) is None else float(sc.number(d, key, where) or 0.0)


def save_pipeline(result: PipelineResult, path: str | os.PathLike[str]) -> None:
    """Write ``result`` as JSON, atomically (a temp file in the same folder, then a rename)."""
    text = json.dumps(pipeline_to_dict(result), indent=1, allow_nan=False)
    p = Path(path)
    try:
        with atomic_target(p) as tmp:  # a killed writer's temp file is swept by the next save
            tmp.write_text(text, encoding="utf-8")
    except OSError as err:
        raise InputError(cannot_write(p, err)) from err


def load_pipeline(path: str | os.PathLike[str]) -> PipelineResult:
    """Read a pipeline saved by :func:`save_pipeline`; every error names the file and the field."""
    p = Path(path)
    if not p.is_file():
        # A folder (or a device) said "no such file", naming the wrong fault.
        raise InputError(f"{p}: is a folder; expected a saved pipeline (JSON from 'mixlaw pipeline --save') file"
                         if p.is_dir() else f"{p}: no such file" if not p.exists() else
                         f"{p}: not a regular file; expected a saved pipeline (JSON from 'mixlaw pipeline --save')")
    try:
        doc = _read_json(p)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError) as err:
        raise InputError(f"{p}: not a JSON file ({str(err).splitlines()[0] if str(err) else type(err).__name__})"
                         ) from None
    # A field nested a few hundred deep: the checks (plain, laws in laws) recurse per level. Measured here, not
    # left to RecursionError, whose depth is the interpreter's limit (raised by a test run, the file loaded).
    if _depth(doc) > MAX_DEPTH:
        raise InputError(f"{p}: not a saved mixlaw pipeline: JSON nested too deeply")
    try:
        return pipeline_from_dict(doc)
    except InputError as err:
        raise InputError(f"{p}: {err}") from None
    except RecursionError:  # laws in laws within MAX_DEPTH levels can still recurse past a lowered limit
        raise InputError(f"{p}: not a saved mixlaw pipeline: JSON nested too deeply") from None


#: Levels of JSON nesting a saved pipeline may have (its own are under 15: pipeline, result, laws, their state).
MAX_DEPTH = 64


def _depth(doc: Any) -> int:
    """The nesting depth of parsed JSON (a scalar is 0), without recursion."""
    deepest, stack = 0, [(doc, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level + 1)
            if deepest > MAX_DEPTH:
                return deepest
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


#: The line ``mixlaw predict --pipeline`` prints for a saved pipeline without intervals.
NO_SAVED_INTERVALS = "no prediction intervals: the saved pipeline holds none (fitted without a backtest)"


def saved_intervals(path: str | os.PathLike[str], result: PipelineResult, weights: Any,
                    center: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, str] | None:
    r"""Prediction intervals at the saved pipeline's target scale for mixtures ``weights`` with predictions
    ``center``, from the file at ``path``: (lower, upper, level, a line saying how), or None when it holds none.

    Kept for code written before :func:`load_pipeline` rebuilt :attr:`PipelineResult.intervals`: it is
    ``iv.at(weights, center)`` and ``iv.describe_at(weights, result.targets)`` of the file's intervals
    (:meth:`~.intervals.PredictionIntervals.at`, read back from a file: a saved mixture gets its own saved
    jackknife spread, any other the saved refits' spread at it, or without them the largest of each target, in the
    rule of :func:`~.intervals.relative_half_width` with the saved extrapolation, size- and step-law parts). Prefer
    ``load_pipeline(path).interval(weights)``, which reads the file once."""
    iv = _file_intervals(path, result)
    if iv is None:
        return None
    lo, hi = iv.at(weights, center)
    return lo, hi, iv.level, iv.describe_at(weights, list(result.targets))


def saved_intervals_at(path: str | os.PathLike[str], result: PipelineResult, weights: Any, center: np.ndarray,
                       params: float, time: float) -> tuple[np.ndarray, np.ndarray, float, str] | str:
    """Prediction intervals of a saved pipeline at model size ``params`` and step (or token count, by
    ``result.time_axis``) ``time``, a scale other than its target: (lower, upper, level, a line saying how), or one
    line saying why there are none.

    Kept for code written before :func:`load_pipeline` rebuilt :attr:`PipelineResult.intervals`: the file's
    intervals' :meth:`~.intervals.PredictionIntervals.at_scale` (the target's rule redone at that scale, from the
    backtest residuals, their distance, the fitted range's edge and the jackknife refits' scale models in
    ``state.jackknife``), or their :meth:`~.intervals.PredictionIntervals.why_not_at_scale` (a pipeline without a
    backtest, or a file saved before these were kept). Prefer ``load_pipeline(path).interval(weights, params=N,
    steps=S)``."""
    iv = _file_intervals(path, result)
    if iv is None:
        return NO_SAVED_INTERVALS
    why = iv.why_not_at_scale()
    if why is not None:
        return why
    lo, hi, how = iv.at_scale(weights, center, params, time)
    return lo, hi, iv.level, how


def _file_intervals(path: str | os.PathLike[str], result: PipelineResult) -> PredictionIntervals | None:
    """The intervals of the pipeline file at ``path``, over ``result``'s mixtures and targets (None: none, or no
    readable file); a damaged block is one InputError naming the file and the field."""
    p = Path(path)
    try:
        doc = _read_json(p)
        iv, st = doc["result"].get("intervals"), doc["state"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
    if iv is None:
        return None
    try:
        return _intervals_from_dict(iv, st, result)
    except InputError as err:
        raise InputError(f"{p}: {err}") from None


def _intervals_from_dict(iv: Any, st: Any, result: PipelineResult) -> PredictionIntervals:
    """:meth:`PredictionIntervals.to_dict` read back over ``result``'s mixtures and targets (and the jackknife
    refits in ``st["jackknife"]``, with a backtest), every field checked. Fields added since the first saved
    intervals may be absent (older files): no noise, no size- or step-law term, no residuals (then
    :meth:`~PredictionIntervals.why_not_at_scale` says "older mixlaw")."""
    n, K = result.target_losses.shape
    where = "result.intervals"
    level = float(sc.number(iv, "level", where) or float("nan"))
    if not 0 < level < 1:
        raise InputError(f"{where}.level: expected a number in (0, 1)")

    def optional(key: str, **kw: Any) -> float:  # absent (older files) or null: nan
        v = sc.number(iv, key, where, optional=True, **kw) if key in iv else None
        return float("nan") if v is None else float(v)

    def per_mixture(key: str) -> np.ndarray | None:  # absent (saved before 2026-12-04) or null: none
        return None if iv.get(key) is None else sc.array(iv, key, where, (n, K))

    contains = iv.get("contains")
    if contains is not None and not isinstance(contains, str):
        raise InputError(f"{where}.contains: expected a string; got {str(contains)[:80]}")
    bounds = [sc.array(iv, key, where, (n, K), allow_nan=True) for key in ("lower", "upper")]
    noise = optional("noise")
    # An sd of relative (log) losses: the interval rule squares it (1e308 overflowed there, a traceback); 100 is
    # a factor e^100 between checkpoints, beyond any real curve.
    if not (np.isnan(noise) or 0 <= noise <= 100):
        raise InputError(f"{where}.noise: expected a number in [0, 100] (the checkpoint noise, a relative sd); "
                         f"got {noise!r}")
    out = PredictionIntervals(
        level, *bounds, sc.array(iv, "extrapolation", where, (K,), allow_nan=True),
        optional("distance_factor", positive=True),
        sc.array(iv, "boot_sigma", where, (n, K), allow_nan=True), _count(iv, "n_boot", where),
        _count(iv, "n_boot_failed", where), sc.string(iv, "method", where), n_mixtures=n, noise=noise,
        size_law=per_mixture("size_law"), mixtures=result.mixtures, contains=contains or "",
        step_law=per_mixture("step_law"), from_file=True)
    # Saved with or without a backtest (its distance 0 where none could run), since 2026-12-04.
    edge = sc.array(iv, "edge", where, (2,)) if iv.get("edge") is not None else np.full(2, np.nan)
    if np.any(edge <= 0):
        raise InputError(f"{where}.edge: expected two positive numbers (the largest fitted size and last step)")
    out.edge, out.backtest_distance = (float(edge[0]), float(edge[1])), optional("backtest_distance")
    if out.backtest_distance < 0:
        raise InputError(f"{where}.backtest_distance: expected a number >= 0; got {out.backtest_distance!r}")
    if iv.get("residuals") is None:  # no backtest, or saved before 2026-12-04
        deltas = st.get("jackknife_laws") if isinstance(st, dict) else None
        if deltas is None:  # saved before they were kept: a new mixture gets the largest saved spread
            return out
        if not isinstance(deltas, list) or len(deltas) != out.n_boot:
            raise InputError(f"state.jackknife_laws: expected a list of the {out.n_boot} refits "
                             f"(result.intervals.n_boot); got {str(deltas)[:80]}")
        base = sc.plain(result.mixing_law.to_dict())  # as saved: the delta is against this law's own dict
        for i, d in enumerate(deltas):
            w = f"state.jackknife_laws[{i}]"
            law = _saved_law(_law_from_delta(d, base, w), w, list(result.domains), list(result.targets))
            out.boot_laws.append((law, dict(result.predict_kwargs)))
        return out
    R = sc.array(iv, "residuals", where, (None, None), allow_nan=True)
    if R.shape[1] not in (1, K):
        raise InputError(f"{where}.residuals: expected 1 or {K} columns; got {R.shape[1]}")
    out.residuals = R
    refits = st.get("jackknife") if isinstance(st, dict) else None
    if refits is None:
        # Refits made but not kept (saved before they were): why_not_at_scale says so, rather than the residuals
        # alone standing for both parts.
        return out
    if not isinstance(refits, list) or len(refits) != out.n_boot:
        raise InputError(f"state.jackknife: expected a list of the {out.n_boot} refits (result.intervals.n_boot); "
                         f"got {str(refits)[:80]}")
    for i, r in enumerate(refits):
        w = f"state.jackknife[{i}]"
        law = _saved_law(r, w, list(result.domains), list(result.targets))
        scales = _saved_scales(r, w, list(result.domains), list(result.targets), law)
        if isinstance(scales, _NestedStages23):
            # A refit's step laws are read at every other scale (at_scale), as the pipeline's own: checked alike,
            # against the pipeline's target losses (each refit fitted the same target without one mixture).
            steps = [t for t in (np.nan if result.smallest_fitted is None else result.smallest_fitted[1],
                                 result.target_time) if np.isfinite(t)]
            scales.check_values(steps, f"{w}.scales")
            scales.check_target_losses(result.target_time, result.target_losses, f"{w}.scales")
        out.boot_scales.append(scales)
        # Each refit fitted the same route at the same target as the pipeline: its predict_kwargs are the pipeline's.
        out.boot_laws.append((law, dict(result.predict_kwargs)))
    return out


def _read_json(p: Path) -> Any:
    """The parsed JSON of a pipeline file, for :func:`load_pipeline` and :func:`_file_intervals` alike: a BOM is
    not content, and NaN / Infinity (which save_pipeline never writes) are not JSON (ValueError). Errors are the
    caller's to word: load refuses the file, the intervals reader goes on without them."""
    return json.loads(p.read_text(encoding="utf-8-sig"), parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not strict JSON")


__all__ = ["save_pipeline", "load_pipeline", "pipeline_to_dict", "pipeline_from_dict", "saved_intervals",
           "saved_intervals_at", "FORMAT", "SCHEMA_VERSION", "NO_SAVED_INTERVALS", "SavedSelection"]
