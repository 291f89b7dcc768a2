"""The pipeline's HTML report: one self-contained page showing what ``mixlaw pipeline`` extrapolated and how far
to trust it (the auto choice and its backtest, the stages, the fitted curves carried to the target scale, every
mixture's predicted loss with its prediction interval, and the optimum).

Why a page: the printed report gives numbers; a user deciding whether to pay for the large run also wants to
*see* each mixture's checkpoints against the curves the pipeline drew through them and on to (N*, S*), and the
measured losses of any size they held out (``--fit-up-to``) against the predictions there. Nothing is refitted
here: the curves are :meth:`~mixlaw.pipeline.PipelineResult.predict` at each fitted size and at N*, along the
steps (or tokens) from the first checkpoint to the target.
"""

from __future__ import annotations

import html
import textwrap
import warnings
from typing import Any

import numpy as np

from ._version import __version__
from .data import LOSS_PREFIX, WEIGHT_PREFIX, RunTable
from .errors import DataError, ExtrapolationWarning, InputError, MixlawError, MixlawWarning
from .pipeline import PipelineResult, optimum_interval_line
from .pipeline.check import (
    TargetRows,
    check_of,
    fitted_sizes_of,
    held_out_rows,
    own_measured,
    same_mixture,
    same_scale,
    same_size,
)
from .pipeline.fitting import read_as_final_losses, read_as_one_size
from .pipeline.grouping import merge_near_sizes
from .pipeline.result import mixture_label
from .report import _label, _svg

#: Mixtures drawn in the curve figure (spread over the predicted target losses): more panels are unreadable.
MAX_CURVE_PANELS = 6
#: Points on each drawn curve (log-spaced): each one is a prediction at another scale, which on the nested route
#: redoes the size and mixing stages there (about 0.2 s each on Dai & Zheng's 40 mixtures).
CURVE_POINTS = 10
#: Eval sets given a panel in the predictions figure.
MAX_EVAL_PANELS = 9


def _one_legend(axes: Any) -> None:
    """One legend, on the first panel, of every panel's entries: a held-out size only some mixtures were run at
    was missing from the first panel's own."""
    seen: dict[str, Any] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    axes[0].legend(list(seen.values()), list(seen), fontsize=6)


def _curve_mixtures(result: PipelineResult, table: RunTable, k: int) -> list[int]:
    """Up to :data:`MAX_CURVE_PANELS` mixtures, those run at the most model sizes first (on the direct route Ye et
    al.'s RedPajama keeps 42 mixtures, 22 of them run at 70M only, and a spread over the losses drew only those),
    spread from the lowest to the highest predicted loss of eval ``k``."""
    N = table.model_params
    assert N is not None
    n_sizes = np.array([np.unique(N[same_mixture(table.weights, w)]).size for w in result.mixtures])
    keep = np.zeros(n_sizes.size, dtype=bool)
    for n in sorted(set(n_sizes.tolist()), reverse=True):  # the best-covered mixtures, enough of them to fill
        keep |= n_sizes == n
        if keep.sum() >= MAX_CURVE_PANELS:
            break
    idx = np.flatnonzero(keep)
    order = idx[np.argsort(result.target_losses[idx, k], kind="stable")]
    picks = np.unique(np.round(np.linspace(0, order.size - 1, min(MAX_CURVE_PANELS, order.size))).astype(int))
    return [int(order[i]) for i in picks]


def _curves_figure(result: PipelineResult, table: RunTable, fitted: list[float], k: int) -> Any:
    """Each picked mixture's checkpoints of eval ``k`` at every size, the pipeline's curve through them, and its
    curve at N* to the target with the prediction interval there; rows at sizes not fitted marked as such."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    T_all = table.steps if result.time_axis == "step" else table.tokens
    N_all = table.model_params
    assert T_all is not None and N_all is not None
    T_star, N_star = result.target_time, result.target_params
    # The frame's cells (a NaN is not drawn), not table.losses(), which refuses the table if any cell is missing.
    y_all = table.frame[LOSS_PREFIX + result.targets[k]].to_numpy(dtype=np.float64)
    grid = np.geomspace(max(float(T_all[T_all > 0].min()), 1e-12), max(T_star, float(T_all.max())), CURVE_POINTS)
    mixes = _curve_mixtures(result, table, k)
    cols = min(3, len(mixes))
    rows = (len(mixes) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.0 * rows), squeeze=False, layout="constrained")
    # N* joins the table's sizes unless one of them is N* (within 1 %, as the check reads held-out runs of 1.005e9
    # for a target of 1e9): then that size's panel is the target's.
    table_sizes = set(map(float, np.unique(N_all)))
    sizes = sorted(table_sizes | ({float(N_star)} if not same_size(np.array(sorted(table_sizes)), N_star).any()
                                  else set()))
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(sizes)))
    for ax, m in zip(axes.ravel(), mixes, strict=False):
        w = result.mixtures[m]
        at = np.flatnonzero(same_mixture(table.weights, w))
        for color, N in zip(colors, sizes, strict=True):
            here = at[same_scale(N_all[at], N)]
            is_target = bool(same_size(np.array([N]), N_star)[0])
            was_fitted = any(same_size(np.array([N]), f)[0] for f in fitted)
            if here.size:
                ax.scatter(T_all[here], y_all[here], s=9, color=color,
                           marker="o" if was_fitted else "x",
                           label=f"N={N:.4g}" + ("" if was_fitted else " (not fitted)"))
            if not (was_fitted or is_target) or (not is_target and not here.size):
                continue  # a fitted size this mixture was not run at: no data for a curve to pass through
            # At a fitted size the curve runs over that size's own checkpoints (found by review: to the mixture's
            # last step at any size, past the data it was drawn through); at N* on to the target.
            upto = grid[grid <= (T_star if is_target else float(T_all[here].max())) * 1.0001]
            try:
                curve = [result.predict(w, at=float(t), params=N_star if is_target else N)[0, k] for t in upto]
            except MixlawError:
                # A pipeline that predicts at its target's step or size only (dz-eq1 on the direct route: final
                # checkpoints only; steps only: its one size) has no curve to draw; the points and the star stay.
                continue
            ax.plot(upto, curve, color="black" if is_target else color, lw=1.2 if is_target else 0.9,
                    ls="--" if is_target else "-", label=f"predicted at N*={N_star:.4g}" if is_target else None)
        # The star is the table's row for this mixture (the printed report's, with its interval); on the nested
        # route the dashed line ends at the mixing law's value, off it by the mixture stage's residual.
        y0, iv = result.target_losses[m, k], result.intervals
        if iv is not None:
            down, up = max(y0 - iv.lower[m, k], 0.0), max(iv.upper[m, k] - y0, 0.0)
            ax.errorbar([T_star], [y0], yerr=[[down], [up]], fmt="*", color="black", ms=9, capsize=3,
                        label=f"target, {round(100 * iv.level)} % interval")
        else:
            ax.scatter([T_star], [y0], marker="*", s=80, color="black", label="target")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # 2x10^9, 3x10^9, ... ran into each other
        # The label wrapped: one line of 7 domains' shares ran into the next panel's title.
        ax.set_title(textwrap.fill(_label(mixture_label(w, result.domains)), 52), fontsize=6)
        ax.set_xlabel(result.time_axis, fontsize=8)
        ax.set_ylabel(f"loss:{_label(result.targets[k])}", fontsize=8)
        ax.tick_params(labelsize=7)
    _one_legend(axes.ravel()[:len(mixes)])
    for ax in axes.ravel()[len(mixes):]:
        ax.axis("off")
    return fig


def _predictions_figure(result: PipelineResult, measured: np.ndarray, new: TargetRows | None) -> Any:
    """Each eval's predictions over the pipeline's mixtures (sorted) with their intervals and any measured loss;
    then, right of a gap, the table's other mixtures at the target (``new``: not fitted, the mixing law's)."""
    import matplotlib.pyplot as plt

    K = min(len(result.targets), MAX_EVAL_PANELS)
    cols = min(3, K)
    rows = (K + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.8 * rows), squeeze=False, layout="constrained")
    iv = result.intervals
    for k, ax in enumerate(axes.ravel()[:K]):
        y = result.target_losses[:, k]
        order = np.argsort(y, kind="stable")
        x = np.arange(y.size)
        if iv is not None:
            ax.errorbar(x, y[order], yerr=[np.maximum(y[order] - iv.lower[order, k], 0.0),
                                           np.maximum(iv.upper[order, k] - y[order], 0.0)], fmt="o",
                        ms=3, lw=0.8, capsize=1.5, label=f"predicted, {round(100 * iv.level)} % interval")
        else:
            ax.scatter(x, y[order], s=9, label="predicted")
        got = measured[order, k]
        if np.isfinite(got).any():
            ax.scatter(x, got, marker="x", color="crimson", s=18, label="measured (not fitted)", zorder=3)
        if new is not None and len(new.predicted):
            xn = y.size + 1 + np.arange(len(new.predicted))
            p = new.predicted[:, k]
            if new.lower is not None and new.upper is not None and np.isfinite(new.lower[:, k]).all():
                ax.errorbar(xn, p, yerr=[np.maximum(p - new.lower[:, k], 0.0), np.maximum(new.upper[:, k] - p, 0.0)],
                            fmt="s", ms=3, lw=0.8, capsize=1.5, color="darkorange", label="other mixtures at the "
                            "target (mixing law)")
            else:
                ax.scatter(xn, p, marker="s", s=9, color="darkorange", label="other mixtures at the target")
            ax.scatter(xn, new.measured[:, k], marker="x", color="crimson", s=18, zorder=3,
                       label="measured (not fitted)")
        ax.set_title(f"loss:{_label(result.targets[k])}", fontsize=8)
        ax.set_xlabel("mixtures, by predicted loss", fontsize=7)
        ax.tick_params(labelsize=7)
    _one_legend(axes.ravel()[:K])
    for ax in axes.ravel()[K:]:
        ax.axis("off")
    return fig


def _optimum_figure(optimum: Any) -> Any:
    """The optimum's shares beside the reference mixture's (``--default``), as the laws' report draws them."""
    import matplotlib.pyplot as plt

    doms = list(optimum.weights)
    fig, ax = plt.subplots(figsize=(max(5, 0.45 * len(doms)), 3))
    x = np.arange(len(doms))
    ax.bar(x - 0.2, [optimum.natural_weights[d] for d in doms], 0.4,
           label=f"reference ({_label(optimum.natural_source)})")
    ax.bar(x + 0.2, [optimum.weights[d] for d in doms], 0.4, label="optimum at the target")
    ax.set_xticks(x, [_label(d) for d in doms], rotation=90, fontsize=7)
    ax.legend(fontsize=8)
    return fig


def _other_mixtures(rows: TargetRows | None) -> TargetRows | None:
    """The entries of ``rows`` for mixtures the pipeline did not fit (None: none)."""
    if rows is None or not (rows.own < 0).any():
        return None
    keep = rows.own < 0
    return TargetRows(rows.weights[keep], rows.measured[keep], rows.predicted[keep],
                      None if rows.lower is None else rows.lower[keep],
                      None if rows.upper is None else rows.upper[keep], rows.own[keep])


def _matching_table(result: PipelineResult, table: RunTable, eval_set: str, T: str) -> RunTable:
    """``table`` with its weight columns in the pipeline's domain order, after checking it has the pipeline's
    domains (no more, no fewer), the drawn eval set's losses, the model size and the time axis: a saved pipeline's
    page may be drawn with any table (``mixlaw report --pipeline``), and a table of other domains would set its
    shares against the wrong domains' coefficients."""
    missing = [d for d in result.domains if d not in table.domains]
    extra = [d for d in table.domains if d not in result.domains]
    if missing or extra:
        parts = ([f"missing weight column(s) {[WEIGHT_PREFIX + d for d in missing]}"] if missing else []) + (
            [f"unexpected weight column(s) {[WEIGHT_PREFIX + d for d in extra]}"] if extra else [])
        raise DataError(f"training domains differ from the pipeline's ({', '.join(result.domains)}): "
                        + "; ".join(parts) + " (give the runs the pipeline was fitted on)", path=table.path,
                        column=WEIGHT_PREFIX + (missing or extra)[0])
    # a table of final losses (or of one model's checkpoints) reads as the fit read it
    table = read_as_one_size(read_as_final_losses(table, None, None)[0])[0]
    need = [c for c in ("params", T, LOSS_PREFIX + eval_set) if c not in table.frame.columns]
    if need:
        raise DataError(f"the pipeline report needs column(s) {need} (the model size, the pipeline's time axis "
                        "and the drawn eval set's losses)", path=table.path, column=need[0])
    if table.domains == list(result.domains):
        return table
    out = table.subset(np.arange(len(table)))  # a copy; the weight columns taken in the pipeline's order
    order = iter(WEIGHT_PREFIX + d for d in result.domains)
    out.frame = out.frame[[next(order) if c.startswith(WEIGHT_PREFIX) else c for c in out.frame.columns]]
    return out


#: ``rows`` of :func:`build_pipeline_report` not given: read from the table there.
_READ = object()


def build_pipeline_report(result: PipelineResult, table: RunTable | None, *, fitted_sizes: Any = None,
                          eval_set: str | None = None, optimum: Any = None, optimum_interval: Any = None,
                          title: str = "mixlaw pipeline report", command: str | None = None,
                          pipeline_file: str | None = None, rows: Any = _READ) -> str:
    """One self-contained HTML page of a fitted pipeline (module docstring).

    Parameters
    ----------
    result : PipelineResult
        What :func:`~mixlaw.pipeline.fit_pipeline` returned.
    table : RunTable or None
        The run table the user gave, held-out sizes included: their checkpoints are drawn as "not fitted" and
        any measured loss at (N*, S*) is set beside its prediction. None (a saved pipeline without its runs):
        the page has no curves and no check, the rest as it is.
    fitted_sizes : sequence of float, optional
        The model sizes the pipeline was fitted on (default: those the result records,
        :func:`~mixlaw.pipeline.check.fitted_sizes_of`, a saved pipeline's too; on the direct route's joint law
        without intervals, every size of ``table``: pass them to have a held-out size checked).
    eval_set : str, optional
        The eval set whose curves are drawn (default: the first target).
    optimum, optimum_interval
        :func:`~mixlaw.pipeline.optimize_pipeline`'s result and :meth:`PipelineResult.interval` of it, if any.
    title, command
        The page's title, and the command line that made it (shown as given, escaped).
    pipeline_file : str, optional
        The file ``result`` was loaded from (``mixlaw report --pipeline``): the page names it, and ``table`` as the
        runs it is drawn with. A loaded pipeline's auto choice is the one its file keeps
        (:attr:`~mixlaw.pipeline.PipelineResult.saved_selection`).
    rows : TargetRows or None, optional
        :func:`~mixlaw.pipeline.check.target_rows` of ``result`` and ``table`` (None: no row at the target, or N*
        fitted), for a caller that made the check line from them already (``mixlaw pipeline --report``); default:
        read here.

    Returns
    -------
    str
        HTML with inline SVG figures (matplotlib): viewing it needs no network.

    Raises
    ------
    DataError
        ``table``'s domains differ from the pipeline's, or it lacks the model size, the time axis or the drawn eval
        set's losses.
    """
    import matplotlib  # here, not at the top: it costs ~1 s and only this command draws

    matplotlib.use("Agg")
    k = 0 if eval_set is None else (result.targets.index(eval_set) if eval_set in result.targets else -1)
    if k < 0:
        raise InputError(f"eval set {eval_set!r} is not one the pipeline predicts; it predicts {result.targets}")
    if table is not None:
        table = _matching_table(result, table, result.targets[k], "step" if result.time_axis == "step" else "tokens")
        # Sizes within 1 % of each other are one size, as the fit reads them (found by review: a fitted size's rows
        # written 4.001e7 where most read 4e7 were drawn as a second size, 'not fitted').
        table = merge_near_sizes(table)[0]
    if result.steps_only:  # one size was fitted, whatever else the table holds
        fitted = [float(result.target_params)]
    else:
        fitted = [float(s) for s in fitted_sizes] if fitted_sizes is not None else fitted_sizes_of(result, table)
    at = [f"N* = {result.target_params:.4g} params", *result.time_words()]
    # A fitted pipeline's Selection, or the summary a saved file keeps of it (SavedSelection: chosen is a label).
    sel = result.selection if result.selection is not None else result.saved_selection
    chosen = (f"auto chose <b>{html.escape(getattr(sel.chosen, 'label', sel.chosen))}</b> by its leave-scale-out "
              "backtest" if sel is not None else f"route {html.escape(result.route)}, law {html.escape(result.law)}")
    estimate = (f"; error estimate at the target {sel.error_estimate:.2%}"
                if sel is not None and np.isfinite(sel.error_estimate) else "")
    runs = "runs" if table is None else table.path or "runs"
    source = (f"Fitted on <code>{html.escape(runs)}</code>:" if pipeline_file is None else
              f"Loaded from <code>{html.escape(pipeline_file)}</code>, drawn "
              + ("without its runs (give them, --runs, to draw the checkpoints and check rows at the target)"
                 if table is None else f"with the runs of <code>{html.escape(runs)}</code>") + "; fitted on")
    sizes = ", ".join(f"{s:.4g}" for s in fitted) if fitted else "(not recorded in the file)"
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p>Target {html.escape(', '.join(at))}; {chosen}{estimate}. {source} sizes "
             f"{html.escape(sizes)}, {len(result.mixtures)} mixtures, "
             f"{len(result.domains)} domains, eval sets "
             f"{html.escape(', '.join(result.targets))}; mixlaw {__version__}.</p>"]
    if command:
        parts.append(f"<p><code>{html.escape(command)}</code></p>")
    with warnings.catch_warnings():
        # Predictions along the curves leave the fitted steps and sizes by design; the printed report warns once.
        warnings.simplefilter("ignore", ExtrapolationWarning)
        warnings.simplefilter("ignore", MixlawWarning)
        if table is not None:
            parts.append(f"<h2>Fitted curves carried to the target (loss:{html.escape(result.targets[k])})</h2><p>"
                         "Dots: checkpoints (x: a size the pipeline did not fit); lines: the pipeline's prediction "
                         "at each fitted size; dashed: at N*, to the target (star, with its prediction interval). Up "
                         f"to {MAX_CURVE_PANELS} mixtures, from the lowest predicted loss to the highest.</p>"
                         + _svg(_curves_figure(result, table, fitted, k)))
        # The table's rows at the target read once (each new mixture's prediction and interval computed once):
        # the check, the crosses and the other mixtures all come from them. None when N* was fitted.
        held = (None if table is None else held_out_rows(result, table, fitted)) if rows is _READ else rows
        check = check_of(result, held)
        measured = own_measured(result, held if check is not None else None)
        other = None if check is None else _other_mixtures(held)
        parts.append("<h2>Predicted losses at the target</h2>"
                     + ("" if check is None else f"<p>{html.escape(str(check))} (crosses).</p>")
                     + _svg(_predictions_figure(result, measured, other)))
    # Auto with nothing to hold out keeps no choice either, but its route and law were not given: the result's own
    # warning says why no candidate was compared (the page said "the route and law were given to mixlaw pipeline"
    # above that warning, and a fitted pipeline's page had no such section; hunt34b).
    unbacktested = next((w for w in result.warnings if w.startswith("no backtest possible (")), None)
    if sel is not None:
        parts.append("<h2>How the route and law were chosen</h2><pre>" + html.escape(str(sel)) + "</pre>")
    elif unbacktested is not None:
        parts.append("<h2>How the route and law were chosen</h2><p>auto compared no candidates: "
                     + html.escape("".join(unbacktested.partition(" used without comparison")[:2])) + ".</p>")
    elif pipeline_file is not None:
        parts.append("<h2>How the route and law were chosen</h2><p>The saved file keeps no auto choice: the route "
                     "and law were given to <code>mixlaw pipeline</code> (or the file was written by hand).</p>")
    # The printed report's stage table and its lines (its second paragraph), as `mixlaw pipeline` prints them.
    text = result.text(predictions_to="the table below").split("\n\n")
    stages = text[1] if len(text) > 1 else ""
    parts.append("<h2>Stages</h2><pre>" + html.escape(stages) + "</pre>")
    if optimum is not None:
        opt = html.escape(str(optimum))
        if optimum_interval is not None:
            opt += "\n" + html.escape(optimum_interval_line(result, optimum, optimum_interval))
        parts.append("<h2>Optimal mixture at the target</h2>" + _svg(_optimum_figure(optimum)) + "<pre>" + opt
                     + "</pre>")
    frame = result.frame()
    if np.isfinite(measured).any():
        for j, t in enumerate(result.targets):
            frame[f"measured:{t}"] = measured[:, j]
    parts.append("<h2>Predicted target-scale losses</h2>"
                 + frame.to_html(index=False, escape=True, float_format=lambda v: f"{v:.4f}", na_rep=""))
    if result.warnings:
        parts.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in result.warnings)
                     + "</ul>")
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto}table{border-collapse:collapse;"
             "font-size:80%}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
             "td:first-child{text-align:left}pre{font-size:80%;overflow-x:auto}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>" + "\n".join(parts) + "</body></html>")


__all__ = ["build_pipeline_report"]
