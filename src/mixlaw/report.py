"""The HTML report: one self-contained page comparing laws on a run table (leaderboard, predicted-vs-true
plots, Ye's interaction matrix, the optimal mixture). The top layer: it fits laws (:mod:`mixlaw.compare`)
and optimises (:mod:`mixlaw.optimize`); the per-law text report is :mod:`mixlaw.fit_report`, at the bottom.
"""

from __future__ import annotations

import html
import io
import shlex
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import metrics
from ._validation import quote_name
from ._version import __version__
from .compare import SCORE_NOTES, _law_name, default_laws, held_out_overlap, score_cell
from .data import scale_mismatch
from .errors import DataWarning, ExtrapolationWarning, InputError, MixlawError, ScaleWarning, row_unit, user_stacklevel
from .laws import available_laws, get_law
from .laws.base import MixingLaw, check_law_arg, check_seed_reaches
from .laws.inline import law_option_specs
from .laws.scale_inputs import scale_blind_message
from .optimize import optimize_mixture
from .optimize.runs import best_measured_run, name_nearest_run, natural_at_scale, rows_at_scale, scale_words
from .optimize.search import check_maximize


# ---------------------------------------------------------------------- HTML report (DESIGN.md §11)
def _svg(fig: Any) -> str:
    import matplotlib
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    # Text as SVG text, drawn by the browser in its fonts: drawn as paths in matplotlib's DejaVu Sans, a domain or
    # eval named in Chinese (or any script DejaVu lacks) was a row of empty boxes, with a "Glyph missing" warning
    # per character. DejaVu still measures the layout; the browser's fonts differ in width by a few per cent.
    with matplotlib.rc_context({"svg.fonttype": "none"}), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
        # No metadata block: no date (reports are reproducible) and no namespace URLs beyond SVG's own.
        fig.savefig(buf, format="svg", bbox_inches="tight",
                    metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog: the SVG is inlined in HTML


def _label(text: str) -> str:
    """A matplotlib label showing ``text`` literally: '$' would start mathtext (and a stray one raises)."""
    return str(text).replace("$", r"\$")


def build_html_report(train: Any, tests: dict[str, Any], *, targets: Any = "all",
                      laws: list[str | MixingLaw] | None = None,
                      objective: str | Mapping[str, float] = "mean", maximize: bool = False, random_state: int = 0,
                      title: str = "mixlaw report", data_options: str | None = None,
                      on_progress: Any = None, on_done: Any = None, on_failed: Any = None,
                      refine_note: str | None = None) -> str:
    """One self-contained HTML page: leaderboard, predicted-vs-true per law, Ye interactions, optimal mixture.

    Parameters
    ----------
    train : RunTable
        Fitting runs.
    tests : dict of str to RunTable
        Held-out splits; the first is used for the scatter plots.
    targets, laws, random_state, on_progress, on_done
        As in :func:`mixlaw.compare.compare`: ``on_progress(key)`` before each law is fitted, ``on_done(key)``
        after (``mixlaw report --target all`` ran a minute on RegMix's 13 evals without a line on stderr). A law
        given as an instance is fitted as a copy and named, as in compare, with the options that differ from its
        defaults (``ye-implicit(n_components=4)``); the key given to the callbacks is that name.
    on_failed : callable, optional
        ``on_failed(key, message)`` for each law whose fit raised (its row on the page says why): ``mixlaw report``
        exits 1 when every law failed, as ``mixlaw compare`` does, where a page of failures exited 0.
    objective : str, default="mean"
        Objective of the optimal mixture (see :func:`mixlaw.optimize.optimize_mixture`), found with the law
        that ranks the first held-out split best (with the lowest RMSE on it when no law's Spearman is defined:
        a split of one run).
    maximize : bool, default=False
        Maximise that objective: the eval sets are higher-is-better metrics (accuracy, pass@1), as in
        ``mixlaw optimize --maximize``.
    data_options : str, optional
        How ``mixlaw optimize`` names the fitting runs (``--dataset regmix``, ``--runs train.csv``; default
        ``--runs`` and ``train.path``): the page names the optimize command that refines its optimum
        (bounds, ``--trust-radius``, ``--bootstrap`` intervals), which the report does not take.
    refine_note : str, optional
        Said after that command where it fits other runs than the page's optimum (``mixlaw report --holdout``
        fits the optimum on its fitting split; ``optimize`` has no holdout and fits the whole table).

    Returns
    -------
    str
        HTML with inline SVG figures (matplotlib): viewing it needs no network.
    """
    import matplotlib  # here, not at the top: it costs ~1 s and only this command draws

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = train.resolve_targets(targets)
    given = list(laws) if laws is not None else default_laws()
    _check_report_args(given, objective, names, maximize)
    for k in given:
        check_seed_reaches(k, random_state, "report")
    # Each law by its name on the page, as compare names it: a key, or a configured law's key and options.
    named = [(k if isinstance(k, str) else _law_name(k), k) for k in given]
    twice = [n for i, (n, _) in enumerate(named) if n in (m for m, _ in named[:i])]
    if twice:  # one row, one scatter panel for two laws
        raise InputError(f"laws: {twice[0]!r} given twice")
    keys = dict(named)
    # An eval missing in some runs: each law is fitted and scored on the rows that have every target, but auto /
    # stack (no objective here) each eval on the rows that have it (as compare).
    ragged = {n: (get_law(k) if isinstance(k, str) else k)._fits_ragged() for n, k in keys.items()}
    full = train
    if all(ragged.values()):
        with warnings.catch_warnings():  # each law's fit says what it left out
            warnings.simplefilter("ignore", DataWarning)
            train = train.rows_with_any(names)
    else:
        train = train.complete(names)
    tests = {name: t.complete(names, doing="scoring") for name, t in tests.items()}
    split0 = next(iter(tests))
    # The scale checks compare makes, said on stderr and on the page: a new user's report on Dai & Zheng's
    # SlimPajama runs (122M-1.235B, 11 checkpoints each) held out on the 2.718B runs said nothing, while compare on
    # the same tables warned that the laws fit one loss surface across those scales and that the held-out split lies
    # outside them (linear's MRE there: 30 %). The fits' own scale warnings stay silenced below, as compare's do.
    fitted_at, fitted_w = train.scale_summary(), train.weight_ranges()
    scale_notes = [why for name, t in tests.items()
                   if (why := scale_mismatch(fitted_at, t, f"held-out split {name!r}", fitted_w, evals=names))]
    blind = scale_blind_message(train.path, train.scale_spread(),
                                [get_law(k) if isinstance(k, str) else k for k in keys.values()],
                                at_params=True, checkpoints=train.has_checkpoints())
    scale_notes += [blind] if blind else []
    for why in scale_notes:
        warnings.warn(why, ScaleWarning, stacklevel=user_stacklevel(2))
    # Held-out rows that are fitting rows (--test runs.csv of the --runs file): said as compare says it.
    leak_notes = [why for name, t in tests.items() if (why := held_out_overlap(full, t, names, name))]
    for why in leak_notes:
        warnings.warn(why, DataWarning, stacklevel=user_stacklevel(2))
    fitted, rows = _fit_andscore_cell(keys, train, full, tests, names, ragged, random_state, on_progress, on_done)
    if on_failed is not None:
        for key, scores, why in rows:
            if scores is None:
                on_failed(key, why)
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p>Fitted on <code>{html.escape(train.path or 'runs')}</code> ({len(train)} runs, "
             f"{len(train.domains)} domains); targets: {html.escape(', '.join(names))}; seed {random_state}; "
             f"mixlaw {__version__}.</p>",
             *(f"<p><b>Scale warning:</b> {html.escape(why)}</p>" for why in scale_notes),
             *(f"<p><b>Not held out:</b> {html.escape(why)}</p>" for why in leak_notes),
             _leaderboard_html(rows, tests, split0)]
    if fitted:
        parts.append(_scatter_html(plt, fitted, tests[split0], split0, names))
    # ye-exp's interactions, or a configured ye-exp's where it is not given plain
    ye = fitted.get("ye-exp") or next((law for law in fitted.values() if law.key == "ye-exp"), None)
    if ye is not None:
        parts.append(_interactions_html(plt, ye, train.domains, names))
    if fitted:
        scores_of = {r[0]: r[1] for r in rows if r[1] is not None}
        best, why = _law_for_optimum(scores_of, split0, len(tests[split0]))
        parts.append(_optimum_html(plt, fitted[best], best, why, train, names, objective, maximize,
                                   scores_of[best][split0]["rmse"], split0, random_state, data_options,
                                   refine_note))
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child{text-align:left}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>" + "\n".join(parts) + "</body></html>")


def _check_report_args(keys: list[str | MixingLaw], objective: str | Mapping[str, float], names: list[str],
                       maximize: bool = False) -> None:
    """Bad law keys and objectives are input errors (exit 2, as in `mixlaw compare`), not "failed" rows in a page."""
    if not keys:
        raise InputError("--laws: give at least one law key")
    for k in keys:
        if not isinstance(k, str):
            check_law_arg(k, "report")
    unknown = [k for k in keys if isinstance(k, str) and k not in available_laws()]
    if unknown:
        raise InputError(f"unknown law(s) {unknown}; available: {', '.join(available_laws())}")
    if isinstance(objective, Mapping):
        # weights=a:0.5,b:0.5, as optimize takes it (report said "expected mean, total, max or one of the eval sets")
        unknown = sorted(set(map(str, objective)) - set(names))
        if unknown:
            raise InputError(f"--objective weights name eval set(s) {unknown} that are not among the targets {names}")
    elif objective not in ("mean", "total", "max", *names):
        # The targets, said as such: 'report --target web --objective code' read "one of the eval sets ['web']" of a
        # table whose eval sets include code (hunt30; optimize's line names --target since 35e4fce).
        raise InputError(f"--objective {objective!r}: expected mean, total, max, weights=a:0.5,b:0.5 or one of the "
                         f"targets {names} (an eval the objective names must be among them: --target)")
    # As optimize refuses it, before the fits: the page said "Optimal mixture not available: objective 'max' ...
    # cannot be maximised" after every law was fitted, exit 0 (hunt26).
    check_maximize("max" if objective == "max" else "other", maximize)


def _fit_andscore_cell(keys: Mapping[str, str | MixingLaw], train: Any, full: Any, tests: dict[str, Any],
                       names: list[str],
                   ragged: dict[str, bool], random_state: int, on_progress: Any,
                   on_done: Any) -> tuple[dict[str, Any], list[tuple[str, Any, str]]]:
    """Each law (``keys``: its name on the page -> its key, or a configured instance, fitted as a copy) fitted (on
    every run that has a target's loss when it fits each eval on its own rows, else on the complete rows) and scored
    on every held-out split: ({name: law}, [(name, {split: metrics} or None, fit seconds or the error)])."""
    fitted: dict[str, Any] = {}
    rows: list[tuple[str, Any, str]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        for key, given in keys.items():
            if on_progress is not None:
                on_progress(key)
            try:
                law = get_law(given, random_state=random_state) if isinstance(given, str) else given.clone()
                law = law.fit(full if ragged[key] else train, targets=names)
            except MixlawError as err:
                rows.append((key, None, str(err)))
                if on_done is not None:
                    on_done(key)
                continue
            scores = {s: metrics.all_metrics(t.losses(names), np.asarray(law.predict(t)).reshape(len(t), -1))
                      for s, t in tests.items()}
            fitted[key] = law
            rows.append((key, scores, f"{law.fit_seconds_:.2f}"))
            if on_done is not None:
                on_done(key)
    return fitted, rows


def _leaderboard_html(rows: list[tuple[str, Any, str]], tests: dict[str, Any], split0: str) -> str:
    """The leaderboard table: Spearman on every split, MRE and RMSE on the first, fit seconds (or the error)."""
    parts = ["<h2>Leaderboard</h2><table><tr><th>law</th>"]
    seen: set[str] = set()
    parts.append("".join(f"<th>Spearman {html.escape(s)}</th>" for s in tests)
                 + f"<th>MRE {html.escape(split0)}</th><th>RMSE {html.escape(split0)}</th><th>fit s</th></tr>")
    for key, scores, extra in rows:
        if scores is None:
            parts.append(f"<tr><td>{html.escape(key)}</td><td colspan='{len(tests) + 3}'>failed: "
                         f"{html.escape(extra)}</td></tr>")
            continue
        cells = "".join(f"<td>{score_cell(scores[s]['spearman'], seen=seen)}</td>" for s in tests)
        parts.append(f"<tr><td>{html.escape(key)}</td>{cells}<td>{score_cell(scores[split0]['mre'], seen=seen)}</td>"
                     f"<td>{score_cell(scores[split0]['rmse'], seen=seen)}</td><td>{extra}</td></tr>")
    parts.append("</table>")
    # As compare's table words them: a Spearman of constant predictions (LightGBM on few runs) or of one held-out run
    # is undefined, and the page printed "nan" in its cell.
    parts.extend(f"<p>{SCORE_NOTES[k]}</p>" for k in sorted(seen))
    return "\n".join(parts)


def _scatter_html(plt: Any, fitted: dict[str, Any], test: Any, split0: str, names: list[str]) -> str:
    """Predicted against true losses on the first held-out split, one panel per law."""
    n = len(fitted)
    cols = min(4, n)
    # constrained layout keeps each panel's title clear of the x-labels of the row above
    fig, axes = plt.subplots((n + cols - 1) // cols, cols, figsize=(3.2 * cols, 3.0 * ((n + cols - 1) // cols)),
                             squeeze=False, layout="constrained")
    y = test.losses(names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        for ax, (key, law) in zip(axes.ravel(), fitted.items(), strict=False):
            p = np.asarray(law.predict(test)).reshape(y.shape)
            ax.scatter(y.ravel(), p.ravel(), s=6, alpha=0.6)
            lim = [min(y.min(), p.min()), max(y.max(), p.max())]
            ax.plot(lim, lim, color="grey", lw=0.8)
            ax.set_title(f"{_label(key)}  ρ={score_cell(metrics.spearman(y, p), '.3f')}", fontsize=9)
            ax.set_xlabel("true loss", fontsize=8)
            ax.set_ylabel("predicted", fontsize=8)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    return f"<h2>Predicted vs true on {html.escape(split0)}</h2>" + _svg(fig)


def _interactions_html(plt: Any, law: Any, domains: list[str], names: list[str]) -> str:
    """ye-exp's interaction matrix t_ij as a heat map (Ye et al. 2025, eq. 2)."""
    T = law.interactions()
    fig, ax = plt.subplots(figsize=(0.45 * T.shape[1] + 2, 0.35 * T.shape[0] + 1.5))
    vmax = float(np.abs(T).max()) or 1.0
    im = ax.imshow(T, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
    ax.set_xticks(range(T.shape[1]), [_label(d) for d in domains], rotation=90, fontsize=7)
    ax.set_yticks(range(T.shape[0]), [_label(n) for n in names], fontsize=7)
    fig.colorbar(im, ax=ax, shrink=0.8)
    ref = law.domains_[int(np.argmin(np.abs(T).sum(axis=0)))]
    return ("<h2>Ye interactions t<sub>ij</sub></h2><p>Relative to the reference domain "
            f"<code>{html.escape(ref)}</code> (t = 0): blue, training domain j lowers eval set i's loss "
            "more than the reference does (facilitation); red, less (conflict).</p>" + _svg(fig))


def _law_for_optimum(scores_of: dict[str, Any], split0: str, n_held: int) -> tuple[str, str]:
    """The law whose optimum the page shows, and the words that say why: the best ranker on the first held-out
    split (ties to the lower RMSE), or the lowest RMSE where no Spearman is defined."""
    rho = {k: float(v[split0]["spearman"]) for k, v in scores_of.items()}
    if any(np.isfinite(v) for v in rho.values()):
        # Ties in Spearman go to the lower RMSE: a split of few runs ties often (with 2 runs every law ranks
        # at +-1), and the page took the first law listed (linear at RMSE 0.342 over loglinear's 0.333).
        best = max(rho, key=lambda k: (rho[k] if np.isfinite(rho[k]) else -np.inf,
                                       -np.nan_to_num(scores_of[k][split0]["rmse"], nan=np.inf)))
        tied = [k for k in rho if k != best and rho[k] == rho[best]]
        why = f"the leaderboard's best ranker on {html.escape(split0)} (Spearman {rho[best]:.4f})"
        if tied:
            why = (f"the leaderboard's best ranker on {html.escape(split0)} (Spearman {rho[best]:.4f}, tied with "
                   f"{len(tied)} other law{'s' if len(tied) > 1 else ''}: of those, the lowest RMSE, "
                   f"{scores_of[best][split0]['rmse']:.4g})")
    else:
        # A held-out split of one run (or of one loss value) ranks nothing: every Spearman is nan, and the
        # page chose the first law as 'the best ranker (Spearman nan)'. The lowest error is the choice left.
        best = min(rho, key=lambda k: np.nan_to_num(scores_of[k][split0]["rmse"], nan=np.inf))
        why = (f"the law with the lowest RMSE on {html.escape(split0)} ({scores_of[best][split0]['rmse']:.4g}); "
               "Spearman is "
               f"undefined there ({n_held} run{'s' if n_held != 1 else ''}, nothing "
               "to rank)")
    return best, why


def _optimum_html(plt: Any, law: Any, best: str, why: str, train: Any, names: list[str],
                  objective: str | Mapping[str, float], maximize: bool, rmse: float, split0: str, random_state: int,
                  data_options: str | None, refine_note: str | None = None) -> str:
    """The optimal mixture of ``law`` within the fitted range, beside the mean training mixture (of the runs at the
    optimum's scale, as ``mixlaw optimize`` takes it), with what ``mixlaw optimize`` says of it and the command
    that refines it (or why there is none)."""
    at = _scale_of_optimum(law, train)
    # The reference at the optimum's scale, as optimize's (natural_at_scale): the page compared bimix's optimum at
    # the largest token count with the mean of every run, where the command it offers compares with the runs there.
    natural, natural_source = natural_at_scale(train, train.weights, at)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)
            obj = objective if len(names) > 1 else names[0]
            opt = optimize_mixture(law, objective=obj, natural=natural,
                                   within_fitted_range=True, maximize=maximize, runs=train.weights,
                                   **{k: v for k, v in at.items() if v is not None})
        # Where the reference came from, as optimize says it: the page's block read "natural mixture (given)"
        # under a heading that called it the mean training mixture.
        opt.natural_source = natural_source
        # What optimize says beside its optimum, which the page left out: on Olmix's DCLM swarm (arc_challenge)
        # lightgbm's optimum gained 0.0057 (0.38 %) on a held-out RMSE of 0.048 without a word, and the page
        # gave neither its distance to the runs nor the best run's measured loss. The runs' spacing comes with the
        # nearest run (of the runs at the scale, where some were measured there).
        opt.line_unit = row_unit(train.path)
        name_nearest_run(opt, train, train.weights, at)
        opt.best_run = best_measured_run(train, names, obj, maximize, law, at=at)
        # The page's notes suggest --trust-radius / --bootstrap: name the command that takes them, for this
        # law, data and objective ('mixlaw report --trust-radius' is "No such option").
        opt.refine_with = _optimize_command(train, names, law.key, objective, maximize, random_state, data_options,
                                            at, law_option_specs(law))
        if len(names) == 1:  # the leaderboard's RMSE is the error on this objective (pooled over evals if more)
            opt.law_error = {"rmse": float(rmse), "source": f"held-out split {split0!r}"}
    except MixlawError as err:
        return f"<h2>Optimal mixture</h2><p>not available: {html.escape(str(err))}</p>"
    doms = list(opt.weights)
    fig, ax = plt.subplots(figsize=(max(5, 0.45 * len(doms)), 3))
    x = np.arange(len(doms))
    # The reference named as it was taken: the mean of the runs at the optimum's scale where there is one.
    here = rows_at_scale(train, at)
    ref = ("mean training mixture" if here is None else f"mean training mixture at {scale_words(at)}" if here.any()
           else f"mean training mixture (of every run: none was measured at {scale_words(at)})")
    ax.bar(x - 0.2, [opt.natural_weights[d] for d in doms], 0.4, label=ref)
    ax.bar(x + 0.2, [opt.weights[d] for d in doms], 0.4, label=f"optimum ({_label(best)})")
    ax.set_xticks(x, [_label(d) for d in doms], rotation=90, fontsize=7)
    ax.legend(fontsize=8)
    words = scale_words(at)
    flags = " / ".join(f"<code>--{k}</code>" for k, v in at.items() if v is not None)
    spans = " and ".join(f"{what} ({np.nanmin(col):.4g} to {np.nanmax(col):.4g})" for what, col, v in
                         (("model sizes", train.model_params, at["params"]), ("token counts", train.tokens,
                                                                             at["tokens"])) if v is not None)
    largest = f"the largest{' model size, at its largest token count' if None not in at.values() else ''}"
    scale = (f" It takes the scale as an input and was fitted across the runs' {spans}: this is its optimum at "
             f"{largest}, {html.escape(words)} (another scale: {flags} in the command below)." if words else "")
    there = "of the runs there" if here is not None and here.any() else "of every run"
    at_words = f", at {html.escape(words)}, beside the mean mixture {there}" if words else ""
    unused = opt.scale_unused or {}
    if unused:
        # A scale its prediction does not take (auto choosing ye-exp): the page said "It takes the scale as an input
        # ... this is its optimum at the largest, 4e+08 tokens" above optimize's note that no token count enters it.
        every = " or ".join("model size" if k == "params" else "token count" for k in unused)
        whys = html.escape("; ".join(v["why"] for v in unused.values()))
        if all(k in unused for k, v in at.items() if v is not None):
            scale = (f" It was fitted across the runs' {spans} and is read beside the runs at {largest}, "
                     f"{html.escape(words)}.")
            at_words = (f", beside the mean mixture of the runs at {html.escape(words)}" if here is not None
                        and here.any() else ", beside the mean mixture of every run")
        scale += f" But {whys}, so its optimum is the same at every {every}."
    return (f"<h2>Optimal mixture ({html.escape(best)}, objective {html.escape(opt.objective_name)}, "
            f"{'maximised, ' if maximize else ''}within the fitted range{at_words})</h2><p>predicted "
            f"{opt.objective:.4f} vs {opt.natural_objective:.4f} for the {html.escape(ref)}. The law is "
            f"{why}.{scale} Bounds, a trust radius or bootstrap intervals for it: "
            f"<code>{html.escape(opt.refine_with)}</code> "
            "with <code>--bounds</code>, <code>--trust-radius</code> or <code>--bootstrap</code>"
            + (f" ({html.escape(refine_note)})" if refine_note else "") + ".</p>"
            + _svg(fig) + "<pre>" + html.escape(str(opt)) + "</pre>")


def _scale_of_optimum(law: Any, train: Any) -> dict[str, float | None]:
    """The scale the page's optimum is read at (``{"params": N, "tokens": D}``, None for either not needed): for a
    law that takes the model size or token count as an input and was fitted across several, the largest of the
    fitting runs', the scale a mixture is chosen for; its optimum depends on one, and the page said only "not
    available: ... give the scale to optimise at (mixlaw optimize --tokens ...)" (AutoScale's DDO runs, bimix).
    Taking both, the largest size's largest token count: the largest of each was a scale no run was measured at
    (runs at 1e7 params and 4e8 tokens, at 4e7 and 1e8), with no best run and a nearest run "of every scale"."""
    at: dict[str, float | None] = {"params": None, "tokens": None}
    rows = np.ones(len(train), dtype=bool)  # the runs at the model size chosen, once one is
    for key, uses, col in (("params", law.uses_model_params, train.model_params),
                           ("tokens", law.uses_tokens, train.tokens)):
        v = None if col is None else np.asarray(col, dtype=float)
        if uses and v is not None and np.isfinite(v).any() and np.nanmin(v) != np.nanmax(v):
            here = np.where(rows, v, np.nan)
            at[key] = float(np.nanmax(here if np.isfinite(here).any() else v))
            rows &= v == at[key]
    return at


def _optimize_command(train: Any, names: list[str], law: str, objective: str | Mapping[str, float], maximize: bool,
                      seed: int, data_options: str | None, at: Mapping[str, float | None] | None = None,
                      law_options: Sequence[str] = ()) -> str:
    """The ``mixlaw optimize`` command line of the page's optimum: its runs, law (key and ``--law-option`` specs),
    eval sets, objective and scale."""
    data = data_options or f"--runs {shlex.quote(train.path or 'RUNS')}"
    parts = ["mixlaw optimize", data, f"--law {shlex.quote(law)}"]
    # a configured law's options: the command fitted the registered law, another than the page's
    parts += [f"--law-option {shlex.quote(spec)}" for spec in law_options]
    if list(names) != list(train.evals):
        parts += [f"--target {shlex.quote(quote_name(n))}" for n in names]
    elif len(names) > 1:
        parts.append("--target all")
    if isinstance(objective, Mapping):
        spec = ",".join(f"{quote_name(k)}:{float(v):g}" for k, v in objective.items())
        parts.append(f"--objective {shlex.quote('weights=' + spec)}")
    elif objective != "mean" and len(names) > 1:
        parts.append(f"--objective {shlex.quote(objective)}")
    if maximize:
        parts.append("--maximize")
    if seed:
        parts.append(f"--seed {seed}")
    parts += [f"--{k} {v:.6g}" for k, v in (at or {}).items() if v is not None]
    return " ".join(parts)


__all__ = ["build_html_report"]
