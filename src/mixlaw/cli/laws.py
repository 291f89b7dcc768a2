"""The law commands: ``demo`` (every law on the bundled RegMix runs), ``compare`` (a leaderboard of laws fitted
on one run table and scored on held-out tables), ``fit`` (one law, an lmfit-style report, saved as JSON),
``predict`` (losses of new mixtures from a saved law) and ``laws`` (the registry). Each parses its options,
calls :mod:`mixlaw.api` and renders a rich table, text, or one JSON document.
"""

from __future__ import annotations

import re
import shlex
import warnings
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from .. import api
from .._atomic import check_table_suffix
from .._console import frame_text
from .._validation import first_and_more
from ..compare import SCORE_NOTES, default_laws, holdout_split, left_out_laws, score_cell
from ..data.hints import known_names
from ..errors import InputError, MixlawWarning
from ..laws import get_law
from ..laws.options import parse_law_options
from ..laws.selection import META_LAWS, CVTable, cv_workers, n_par_text
from ..pipeline import load_pipeline
from ..pipeline.intervals import wide_line
from ..pipeline.io import NO_SAVED_INTERVALS
from ..pipeline.result import short_label
from ._common import (
    COUNT,
    AtParamsOpt,
    CandidatesOpt,
    CvFoldsOpt,
    CvWorkersOpt,
    EvalGroupOpt,
    FinalStepOpt,
    JsonOpt,
    LawOptionOpt,
    LawsCvWorkersOpt,
    SeedOpt,
    TargetOpt,
    WeightTolOpt,
    check_not_an_input,
    emit_json,
    err,
    exit_if_every_law_failed,
    group_targets,
    merge_eval_warnings,
    out,
    parse_eval_map,
    parse_objective,
    parse_targets,
    show_warnings,
)
from ._law_entries import law_with_options, parse_law_entries, parse_laws
from ._progress import QUIET, cv_progress, progress
from ._tables import (
    DatasetOpt,
    check_holdout,
    dataset_with_tests,
    fitted_at,
    fitting_table,
    load_table,
    load_tests,
    one_scale_rows,
    one_scale_tests,
)

_NUMPY_FP = re.compile(r"^(overflow|underflow|invalid value|divide by zero) encountered in \w+$")

#: At most this many of one law's warnings under the leaderboard; the rest are counted (--json lists them all).
WARNINGS_PER_LAW = 2


def _law_warning_lines(law: str, msgs: list[str]) -> list[str]:
    """One law's warnings as lines under the leaderboard: the same one on several eval sets merged
    (:func:`merge_eval_warnings`), and past :data:`WARNINGS_PER_LAW` a count. A per-eval law that did not converge on
    14 of 60 noisy eval sets printed 14 lines of 'ye-implicit warned: ye-implicit[e13]: no start converged (best
    objective 33.98) ...' under a 4-row table (each with its own numbers, so nothing merged); Olmix's 110 evals could
    print 110 per law."""
    # numpy's floating-point warnings ('invalid value encountered in subtract', from dz-eq3 on RegMix's --target all)
    # say nothing a user can act on, nor which eval: the inf* / n/a* cells and their notes are the word on them.
    merged = merge_eval_warnings([m for m in msgs if not _NUMPY_FP.match(m)])
    lines = [f"{law} warned: {m}" for m in merged[:WARNINGS_PER_LAW]]
    if len(merged) > WARNINGS_PER_LAW:
        more = len(merged) - WARNINGS_PER_LAW
        lines.append(f"{law} warned {more} more time{'s' if more > 1 else ''} (--json lists every warning)")
    return lines


def _leaderboard_table(board: Any, title: str) -> Table:
    splits = list(dict.fromkeys(s for r in board.rows for s in r.splits))
    short = {s: s.removeprefix("test_") for s in splits}
    # Labels are data, not rich markup: 'ye-exp[direct]' printed as 'ye-exp' (rich took '[direct]' for a tag),
    # so the per-eval and direct rows of `compare --objective` looked like one law listed twice.
    tab = Table(title=escape(title), title_justify="left")
    tab.add_column("law", no_wrap=True)
    for s in splits:
        tab.add_column(f"ρ {escape(short[s])}", justify="right", no_wrap=True)
    # Splits at several scales: their Spearman among the runs of one scale (the pooled one ranks the sizes too).
    within = [s for s in splits if any("spearman_within_scale" in r.splits.get(s, {}) for r in board.rows)]
    for s in within:
        tab.add_column(f"ρ within {escape(short[s])}", justify="right", no_wrap=True)
    first = escape(short[splits[0]]) if splits else ""
    tab.add_column(f"MRE {first}", justify="right", no_wrap=True)
    tab.add_column(f"RMSE {first}", justify="right", no_wrap=True)
    tab.add_column(f"bias {first}", justify="right", no_wrap=True)
    tab.add_column("n_par", justify="right", no_wrap=True)
    tab.add_column("fit s", justify="right", no_wrap=True)
    seen: set[str] = set()

    def cell(v: float) -> str:
        return score_cell(v, seen=seen)

    failed: list[str] = []
    for r in board.rows:
        if r.error:
            # The reason goes under the table: in a no_wrap cell a long one widened its column until every
            # other cell, law names included, was cut to "…" (Marin's swarm, where dz-eq3 cannot fit).
            tab.add_row(escape(r.law), *(["-"] * (len(splits) + len(within))), "-", "-", "-", "-", "failed")
            failed.append(f"{r.law} failed: {r.error.removeprefix(r.law + ': ')}")
            continue
        tab.add_row(escape(r.law), *(cell(r.splits[s]["spearman"]) for s in splits),
                    *(cell(r.splits[s].get("spearman_within_scale", float("nan"))) for s in within),
                    cell(r.splits[splits[0]]["mre"]),
                    cell(r.splits[splits[0]]["rmse"]), cell(r.splits[splits[0]].get("bias", float("nan"))),
                    n_par_text(r.n_params), f"{r.fit_seconds:.2f}")
    # A law's own warnings (LightGBM's constant model on 24 runs, a fit that did not converge) were kept for --json
    # alone: the table printed its "n/a*" with no word of why (Ye et al.'s 3Mix at 410M, --laws lightgbm).
    warned = [line for r in board.rows if not r.error for line in _law_warning_lines(r.law, r.warnings)]
    caption = [SCORE_NOTES[k] for k in sorted(seen)] + failed + warned
    if within:
        caption.append("ρ within: the Spearman among the held-out runs of one scale (model size, tokens, step), "
                       "averaged over the scales by their runs; the pooled ρ ranks the scales too")
    if getattr(board, "objective", None) is None and len(getattr(board, "targets", ())) > 1:
        # One number per law for several eval sets: which aggregate it is was nowhere on the page (Marin's Delphi
        # proposals, --target all: 0.70 read as a pooled rank correlation, the mean of nine per-eval ones).
        caption.append(f"ρ: the mean of each eval set's Spearman over the {len(board.targets)} eval sets; MRE, RMSE "
                       "and bias: over every (run, eval set) pair")
    if any("cv" in r.details for r in board.rows if not r.error):
        # The CV tables printed below count n_par on their fold of fewest runs: linear read 20 here and 19 there.
        caption.append(f"n_par: free parameters of each law fitted on the {board.n_train} fitting runs (a "
                       "leave-one-out ridge's effective ones, rounded up); the CV tables below count them on the "
                       "fold that fits the fewest runs")
    if caption:
        tab.caption = escape("\n".join(caption))
        tab.caption_justify = "left"
    return tab


# ---------------------------------------------------------------------- commands
def _note_left_out(laws: str | None) -> None:
    """Say which laws the default set leaves out, and why (instead of a silently shorter leaderboard)."""
    if laws is None:
        for key, why in left_out_laws().items():
            err.print(f"note: {key} left out: {why}", highlight=False, markup=False)


def demo(as_json: bool = JsonOpt, seed: int = SeedOpt,
         laws: str | None = typer.Option(None, "--laws", help="Comma-separated law keys, each with inline options "
                                         "if any, as a row names them: ye-exp,ye-exp(alpha=0.5) (default: all)."),
         target: str = typer.Option("pile_cc", "--target", help="Eval set to fit, or 'all'."),
         train: bool = typer.Option(False, "--train", help="Instead: the whole system on real text (corpus, "
                                    "proxy sweep, laws, optimum for the math domain, target runs: 39 small CPU "
                                    "trainings; needs mixlaw[train,corpus])."),
         out_dir: Path = typer.Option(Path("mixlaw-demo"), "--out", help="Work folder of --train (resumable)."),
         workers: int = typer.Option(2, "--workers", help="Training processes for --train.")) -> None:
    """Fit every law on the bundled RegMix runs (train_1m) and print the leaderboard on the test splits."""
    train_only = [k for k, v in {"--out": out_dir != Path("mixlaw-demo"), "--workers": workers != 2}.items() if v]
    if train_only and not train:
        raise InputError(f"{', '.join(train_only)} appl{'ies' if len(train_only) == 1 else 'y'} to --train only")
    if train:
        try:
            from ..train.demo import run_train_demo
        except ImportError as e:
            raise InputError(f"mixlaw demo --train needs the training extras: pip install 'mixlaw[train,corpus]' "
                             f"({e})") from e
        result = run_train_demo(out_dir, workers=workers, seed=seed, progress=not as_json and not QUIET["on"])
        if as_json:
            emit_json(result.to_dict())
        else:
            out.print(str(result), highlight=False, markup=False)
        return

    _note_left_out(laws)
    keys = parse_law_entries(laws, seed)
    with show_warnings(), progress("fitting laws", total=len(keys or default_laws())) as advance:
        board = api.compare_regmix(targets=parse_targets([target]), laws=keys, random_state=seed,
                                   on_progress=lambda k: advance(k, 0), on_done=lambda k: advance(k))
    if as_json:
        emit_json(board.to_dict())
        return
    out.print(_leaderboard_table(board, f"RegMix: fitted on train_1m (512 runs, 1M params), target "
                                        f"{', '.join(board.targets) if len(board.targets) < 4 else 'all 13 evals'}; "
                                        "ρ = Spearman on held-out runs"))
    best = board.best("test_1B")
    out.print(f"best on test_1B (1B-parameter models): [bold]{escape(best.law)}[/bold] "
              f"(Spearman {best.splits['test_1B']['spearman']:.4f})")


def compare(runs: str | None = typer.Option(None, "--runs", help="Fitting run table (CSV/.xlsx/Parquet/JSON/JSONL, or "
                                                                     "RegMix 'mixture.csv+loss.csv')."),
            test: list[str] | None = typer.Option(None, "--test", metavar="[NAME=]PATH",
                                                     help="Held-out run table, needed with --runs (or --holdout); "
                                                          "with --dataset, scored beside its own splits; "
                                                          "repeat for several (NAME=PATH names a split)."),
            holdout: float | None = typer.Option(None, "--holdout", metavar="FRACTION",
                                                 help="Instead of --test: hold out this fraction of --runs' runs "
                                                      "(a draw by run, seeded by --seed), e.g. 0.2."),
            dataset: str | None = typer.Option(None, "--dataset", help="Bundled data instead of --runs: "
                                                                   "regmix | marin-delphi."),
            target: list[str] | None = TargetOpt,
            laws: str | None = typer.Option(None, "--laws", help="Comma-separated law keys (default: all single "
                                            "laws; add auto,stack for the cross-validated choice / ensemble), each "
                                            "with inline options if any, as its row is named: "
                                            "ye-exp,'ye-exp(alpha=0.5, n_restarts=4)'."),
            objective: str | None = typer.Option(None, "--objective",
                                                 help="Score this objective of the targets instead of each eval: "
                                                 "mean | total | <eval> | weights=a:0.5,b:0.5."),
            fit_on: str = typer.Option("both", "--fit-on", help="With --objective: per-eval (fit each eval, "
                                       "aggregate) | direct (fit the objective column) | both; auto and stack "
                                       "choose among the ways given."),
            weight_tol: float = WeightTolOpt,
            at_params: str | None = AtParamsOpt, final_step: bool = FinalStepOpt,
            eval_group: list[str] | None = EvalGroupOpt,
            law_option: list[str] | None = typer.Option(
                None, "--law-option", metavar="KEY=VALUE",
                help="A constructor option of the one law --laws names (e.g. --laws dz-eq1 --law-option "
                     "pooling=100), typed by the law; its row is named with it, dz-eq1(pooling=100), which --laws "
                     "takes too (for several laws, or one law with and without an option); repeatable."),
            cv_folds: int | None = CvFoldsOpt, workers: str = LawsCvWorkersOpt,
            maximize: bool = typer.Option(False, "--maximize",
                                          help="The eval columns hold higher-is-better metrics (accuracy, pass@1, a "
                                          "score): the regret (--json's regret_at_1) is that of the run predicted "
                                          "highest, as in 'mixlaw optimize --maximize'."),
            seed: int = SeedOpt, as_json: bool = JsonOpt) -> None:
    """Fit each law on the fitting runs and score it on the held-out runs (Spearman, MRE, RMSE, bias, R², regret)."""
    if (runs is None) == (dataset is None):
        raise InputError("give exactly one of --runs PATH or --dataset regmix|marin-delphi")
    if holdout is not None and dataset is not None:
        raise InputError("--holdout splits a --runs table; the bundled data has its own splits")
    if eval_group and dataset is not None:
        raise InputError("--eval-group applies to --runs and --test tables, not to --dataset")
    if (at_params is not None or final_step) and dataset is not None:
        raise InputError("--at-params / --final-step cut a --runs table (and its --test tables); the bundled data's "
                         "splits are one scale each")
    tgt = group_targets(target, eval_group)
    obj = None if objective is None else parse_objective(objective)
    if obj == "max":
        raise InputError("--objective max is not a linear objective; compare scores mean | total | <eval> | weights=")
    modes = _parse_fit_on(fit_on)
    # dz-eq1's warning suggested --law-option pooling=100, which compare did not take: one law, configured; or each
    # law configured inline, as its row is named: --laws 'ye-exp,ye-exp(alpha=0.5)'.
    keys: list[Any] | None = parse_law_entries(laws, seed, law_option,
                                               meta=("compare", "--cv-folds, --objective, --fit-on"))
    if cv_folds is not None and not {k for k in keys or [] if isinstance(k, str)} & set(META_LAWS):
        raise InputError(f"--cv-folds applies to the laws that cross-validate ({' / '.join(META_LAWS)}); add one to "
                         f"--laws (e.g. --laws {shlex.quote('auto,' + (laws or 'ye-exp'))})")
    _note_left_out(laws)
    with show_warnings(maximize), progress("fitting laws", total=len(keys or default_laws())) as advance, \
            cv_progress(advance), cv_workers(workers):
        cb = {"on_progress": lambda k: advance(k, 0), "on_done": lambda k: advance(k)}
        kw = {"objective": obj, "fit_on": modes, "n_folds": cv_folds, "maximize": maximize}
        if dataset is not None:
            train, tests = dataset_with_tests(dataset, test, weight_tol)
            board = api.compare_tables(train, tests, targets=tgt, laws=keys, random_state=seed, **kw, **cb)
        else:
            check_holdout(runs, test, holdout)
            # Each table at one scale, as fit and optimize take them (the scale warning asked for it)
            train = one_scale_rows(load_table(runs, weight_tol, eval_group), at_params, final_step)
            if holdout is not None:
                train, tests = holdout_split(train, holdout, random_state=seed)
            else:
                tests = one_scale_tests(load_tests(test or [], weight_tol, eval_group), at_params, final_step,
                                        fitted=train)
            board = api.compare_tables(train, tests, targets=tgt, laws=keys, random_state=seed, **kw, **cb)
    if as_json:
        at = fitted_at(train, at_params, final_step) if dataset is None else None
        emit_json({**board.to_dict(), **({"fitted_at": at} if at is not None else {})})
        exit_if_every_law_failed([r.error for r in board.rows])
        return
    # The first few: Olmix's DCLM swarm put its 110 eval names on this one line (--json keeps every one).
    what = (f"objective {objective} of {first_and_more(board.targets)}" if obj is not None
            else f"target(s): {first_and_more(board.targets)}")
    # auto / stack without an objective were fitted on each eval's rows, more than the n_train complete ones
    own = [f"{r.law}: each eval on the rows that have it, {r.details['n_runs']} runs" for r in board.rows
           if "n_runs" in r.details and r.details["n_runs"] != board.n_train]
    out.print(_leaderboard_table(board, f"fitted on {board.train} ({board.n_train} runs"
                                 + (f"; {', '.join(own)}" if own else "") + f"); {what}"))
    for r in board.rows:
        if "cv" in r.details:
            out.print(f"[[{r.law}: cross-validation on the fitting runs]]", highlight=False, markup=False)
            out.print(CVTable.from_dict(r.details["cv"]).text(), highlight=False, markup=False)
    exit_if_every_law_failed([r.error for r in board.rows])


def _parse_fit_on(spec: str) -> tuple[str, ...]:
    modes = {"both": ("per-eval", "direct"), "per-eval": ("per-eval",), "direct": ("direct",)}
    if spec not in modes:
        raise InputError(f"--fit-on: expected per-eval | direct | both; got {spec!r}")
    return modes[spec]


def fit(runs: str | None = typer.Option(None, "--runs", help="Run table to fit."),
        dataset: str | None = DatasetOpt,
        law: str = typer.Option("stack", "--law", help="Law key (see 'mixlaw laws'); stack (default): CV-weighted "
                                "ensemble of the best laws per eval set; auto: the best law by K-fold CV."),
        target: list[str] | None = TargetOpt,
        candidates: str | None = CandidatesOpt,
        cv_folds: int | None = CvFoldsOpt,
        objective: str | None = typer.Option(None, "--objective",
                                             help="Fit for this objective of the targets (mean | total | <eval> | "
                                             "weights=a:0.5,b:0.5): per eval and aggregated, or directly on the "
                                             "objective column, whichever cross-validates better."),
        out_path: Path | None = typer.Option(None, "--out", help="Save the fitted law as JSON."),
        weight_tol: float = WeightTolOpt,
        at_params: str | None = AtParamsOpt, final_step: bool = FinalStepOpt,
        eval_map: list[str] | None = typer.Option(None, "--eval-map", metavar="EVAL=DOMAIN",
                                                  help="EVAL=DOMAIN: match an eval set to a training domain (laws "
                                                  "that match by domain: dz-*, bimix, autoscale; unmatched eval "
                                                  "sets use implicit aggregation); repeatable."),
        eval_group: list[str] | None = EvalGroupOpt, law_option: list[str] | None = LawOptionOpt,
        verbose: bool = typer.Option(False, "--verbose", help="The full report: every parameter, every CV row, "
                                     "every warning (auto/stack on more than 5 eval sets print a summary)."),
        workers: str = CvWorkersOpt, seed: int = SeedOpt, as_json: bool = JsonOpt) -> None:
    """Fit LAW to the run table and print an lmfit-style report (and save it with --out)."""
    check_not_an_input([runs], out=out_path)
    emap = parse_eval_map(eval_map)
    if emap is not None and not api.takes_eval_map(law):
        raise InputError(f"--eval-map applies to laws that match eval sets to training domains "
                         f"({', '.join(api.laws_taking_eval_map())}); {law!r} does not"
                         f"{' (stack is the default law: pass --law with one of those)' if law == 'stack' else ''}")
    obj = None if objective is None else parse_objective(objective)
    if obj == "max":
        raise InputError("--objective max is not a linear objective; fit takes mean | total | <eval> | weights=")
    cands = parse_laws(candidates, "--candidates")
    for flag, given in (("--candidates", cands is not None), ("--cv-folds", cv_folds is not None)):
        if given and law not in META_LAWS:
            raise InputError(f"{flag} applies to --law {' / '.join(META_LAWS)}; got --law {law}")
    if obj is not None and law not in META_LAWS and (law_option or emap is not None):
        # Refused, not dropped: a single law fitted for an objective is cross-validated by auto (per eval vs direct),
        # whose refits take law keys, so '--law dz-eq1 --law-option pooling=100 --objective mean' (as dz-eq1's own
        # convergence hint suggests) fitted the default law and printed no word of it.
        given = ["--law-option"] * bool(law_option) + ["--eval-map"] * (emap is not None)
        raise InputError(f"{' and '.join(given)} do{'es' if len(given) == 1 else ''} not reach a law fitted for "
                         f"--objective (chosen per eval or direct by cross-validation over law keys); drop --objective "
                         f"to fit the configured law per eval set (--target EVAL for one)")
    meta_kw: dict[str, Any] = {} if cands is None else {"candidates": cands}
    if cv_folds is not None:
        meta_kw["n_folds"] = cv_folds
    if obj is not None:
        meta_kw["objective"] = obj
    with show_warnings(), progress(f"fitting {law}") as advance, cv_progress(advance), cv_workers(workers):
        if law in META_LAWS:
            est: Any = get_law(law, random_state=seed, **parse_law_options(law, law_option), **meta_kw)
        elif obj is not None:
            # One law for the objective: the CV chooses between per-eval-and-aggregate and direct.
            est = get_law("auto", candidates=[law], objective=obj, random_state=seed)
        else:
            est = law_with_options(law, law_option, seed, **({"eval_map": emap} if emap else {}))
        table = fitting_table(runs, dataset, weight_tol, eval_group, at_params, final_step)
        if emap:
            # read again with the training domains and eval sets: an eval name holding '=' is split where a domain
            # follows
            emap = parse_eval_map(eval_map, table.domains, table.evals)
            unknown = [e for e in emap if e not in table.evals]
            if unknown:
                # a mistyped eval name left the map unused and the law aggregated that eval implicitly, exit 0
                raise InputError(f"--eval-map names {', '.join(map(repr, unknown))}, not an eval set of the table; "
                                 f"its eval sets: {known_names(unknown, table.evals)}")
            est.set_params(eval_map=emap)
        fitted = api.fit_table(table, law=est, targets=group_targets(target, eval_group), random_state=seed)
        report = fitted.report(data=runs or table.path)
        if out_path is not None:
            api.save_law(fitted, out_path)
    if as_json:
        doc: dict[str, Any] = {"report": report.to_dict(), "saved": None if out_path is None else str(out_path)}
        if hasattr(fitted, "cv_"):
            doc["cv"] = fitted.cv_.to_dict()
            # A stack's member weights were only a text line in report.sections ('arxiv ye-pow 0.952, ...'): give
            # them (and auto's choice) as data, under the names optimize --json uses in its 'selection'.
            doc.update({k: v for k, v in (api.law_selection(fitted) or {}).items() if k != "cv"})
        if (at := fitted_at(table, at_params, final_step)) is not None:
            doc["fitted_at"] = at
        emit_json(doc)
    else:
        out.print(report.text(verbose=verbose), highlight=False, markup=False)
        if out_path is not None:
            err.print(f"saved {law} to {out_path}", highlight=False, markup=False)


def predict(law_path: Path | None = typer.Option(None, "--law", help="A law saved by 'mixlaw fit --out'."),
            pipeline: Path | None = typer.Option(None, "--pipeline",
                                                 help="Or: a pipeline saved by 'mixlaw pipeline --save'."),
            mixtures: str = typer.Option(..., "--mixtures", help="Table with w:<domain> columns (CSV/Parquet/JSONL), "
                                                                 "or one mixture: inline web=0.6,code=0.4, a JSON "
                                                                 "{domain: weight} or a domain,weight CSV."),
            params: float | None = typer.Option(None, "--params", **COUNT,
                                                help="With --pipeline: model size N (default: the pipeline's target "
                                                "N*; 1e9 or 1B); inside the runs' range interpolates. With --law: "
                                                "the size of every mixture, for a law fitted across sizes."),
            steps: float | None = typer.Option(None, "--steps", **COUNT,
                                               help="With --pipeline: training steps S (default S*)."),
            tokens: float | None = typer.Option(None, "--tokens", **COUNT,
                                                help="With --pipeline: or training tokens D (1e11 or 100B). With "
                                                "--law: the tokens of every mixture, for a law fitted across token "
                                                "counts."),
            weight_tol: float = typer.Option(0.01, "--weight-tol", help="Tolerance on the mixtures' weight sums "
                                             "(rows within it are renormalised)."),
            out_path: Path | None = typer.Option(None, "--out", help="Write the predictions here, as the suffix says: "
                                                 ".csv, .parquet or .jsonl."),
            as_json: bool = JsonOpt) -> None:
    """Predict the losses of new mixtures with a saved law, or with a saved pipeline at any model size and step."""
    check_not_an_input([law_path, pipeline, mixtures], out=out_path)
    if out_path is not None:
        check_table_suffix(out_path, "--out")
    if (law_path is None) == (pipeline is None):
        raise InputError("give exactly one of --law LAW.json and --pipeline PIPELINE.json")
    if steps is not None and tokens is not None:
        raise InputError("give at most one of --steps and --tokens")
    if law_path is not None and steps is not None:
        raise InputError("--steps applies to --pipeline (no law takes a step count: a law fitted across token "
                         "counts takes --tokens; extrapolate with 'mixlaw pipeline --save')")
    with show_warnings():
        if pipeline is not None:
            result = load_pipeline(pipeline)
            frame, W = api.pipeline_predictions(result, mixtures, params=params, steps=steps, tokens=tokens,
                                                weight_tol=weight_tol)
            doc = {"pipeline": str(pipeline), "route": result.route, "law": result.law,
                   "params": result.target_params if params is None else params,
                   "steps": steps if steps is not None or tokens is not None else result.target_steps,
                   "tokens": tokens if steps is not None or tokens is not None else result.target_tokens}
            frame, doc["intervals"] = _pipeline_intervals(result, W, frame, (params, steps, tokens))
            if not as_json:
                err.print(f"note: {doc['intervals']}", highlight=False, markup=False)
        else:
            law = api.load_law(law_path)
            frame = api.predict_table(law, mixtures, weight_tol=weight_tol, params=params, tokens=tokens)
            doc = {"law": law.key, **({"params": params} if params is not None else {}),
                   **({"tokens": tokens} if tokens is not None else {})}
    if out_path is not None:
        api.write_frame_atomic(frame, out_path, "--out")
    if as_json:
        emit_json({**doc, "predictions": frame.to_dict(orient="records")})
    elif out_path is None:
        # The run column cut to its head (short_label): a mixture label read from 'mixlaw pipeline --out' over
        # Marin's 39 buckets filled 1368-1386 characters of every row. --out and --json keep it whole.
        shown = frame.assign(run=frame["run"].map(short_label)) if "run" in frame else frame
        out.print(frame_text(shown, index=False), highlight=False, markup=False)


def _pipeline_intervals(result: Any, W: Any, frame: Any, scale: tuple[Any, Any, Any]) -> tuple[Any, str]:
    """Add lo/hi columns next to each ``pred:`` column as ``pipeline`` prints them, when the loaded pipeline holds
    intervals that can be built at the scale asked for (``scale``: --params, --steps, --tokens; the saved target's,
    or any other by the same rule redone there); else leave the frame and say why (never a silent gap). ``W``:
    the frame's mixtures, as predicted."""
    N, T = result.scale_of(*scale)
    center = frame[[f"pred:{t}" for t in result.targets]].to_numpy()
    iv = result.intervals
    if iv is None:
        return frame, NO_SAVED_INTERVALS
    if N is None and T is None:
        lo, hi = iv.at(W, center)
        how = iv.describe_at(W, list(result.targets))
    else:
        why = iv.why_not_at_scale()
        if why is not None:
            return frame, why
        lo, hi, how = iv.at_scale(W, center, result.target_params if N is None else N,
                                  result.target_time if T is None else T)
    # A saved pipeline's fit warnings are not shown here: an interval of [0, 44.8] around 1.61 (Dai & Zheng's 7
    # domains, 5 mixtures) came with none.
    runs = frame["run"].astype(str).tolist() if "run" in frame else [str(i + 1) for i in range(len(frame))]
    wide = wide_line(center, lo, hi, list(result.targets), [f"run {short_label(r)}" for r in runs])
    if wide is not None:
        warnings.warn(f"{wide[0]}: the prediction is poorly determined there", MixlawWarning, stacklevel=2)
    lvl = round(100 * iv.level)
    for k, t in enumerate(result.targets):
        at = frame.columns.get_loc(f"pred:{t}") + 1
        frame.insert(at, f"hi{lvl}:{t}", hi[:, k])
        frame.insert(at, f"lo{lvl}:{t}", lo[:, k])
    return frame, how


def list_laws(as_json: bool = JsonOpt) -> None:
    """List the available laws."""
    rows = api.describe_laws()
    if as_json:
        emit_json({"laws": rows})
        return
    tab = Table(title="mixlaw laws")
    tab.add_column("key")
    tab.add_column("class")
    tab.add_column("formula / source")
    for r in rows:
        tab.add_row(r["key"], r["class"], r["summary"])
    out.print(tab)
