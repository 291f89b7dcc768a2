"""The ``report`` command: one self-contained HTML page (leaderboard, predicted-vs-true plots, domain
interactions, the optimal mixture) for a run table and its held-out tables, or for the bundled RegMix data; or,
with ``--pipeline``, the page ``mixlaw pipeline --report`` draws, of a pipeline saved by ``--save``.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import typer

from .. import api
from .._workers import AUTO
from ..compare import default_laws, holdout_split
from ..data import WEIGHT_TOL
from ..errors import InputError
from ..laws.selection import cv_workers
from ..pipeline import load_pipeline
from ..report import build_html_report
from ..report_pipeline import build_pipeline_report
from ._common import (
    AtParamsOpt,
    FinalStepOpt,
    LawsCvWorkersOpt,
    SeedOpt,
    WeightTolOpt,
    check_outputs,
    err,
    exit_if_every_law_failed,
    parse_objective,
    parse_targets,
    show_warnings,
)
from ._law_entries import parse_law_entries
from ._progress import cv_progress, progress
from ._tables import check_holdout, dataset_with_tests, load_table, load_tests, one_scale_rows, one_scale_tests


def report(runs: str | None = typer.Option(None, "--runs", help="Fitting run table."),
           test: list[str] | None = typer.Option(None, "--test", metavar="[NAME=]PATH",
                                                    help="Held-out run table; repeatable (with --dataset: "
                                                         "beside its own splits)."),
           holdout: float | None = typer.Option(None, "--holdout", metavar="FRACTION",
                                                help="Instead of --test: hold out this fraction of --runs' runs "
                                                     "(a draw by run, seeded by --seed), as compare does."),
           dataset: str | None = typer.Option(None, "--dataset", help="Bundled data instead of --runs: "
                                                                   "regmix | marin-delphi."),
           target: list[str] | None = typer.Option(None, "--target", metavar="EVAL",
                                                      help="Eval set(s), or 'all'; repeatable (default: the "
                                                           "first eval set; all of them can take minutes)."),
           laws: str | None = typer.Option(None, "--laws", help="Comma-separated law keys (default: all), each "
                                           "with inline options if any, as compare names its rows: "
                                           "ye-exp,'ye-implicit(n_components=4)'."),
           law_option: list[str] | None = typer.Option(
               None, "--law-option", metavar="KEY=VALUE",
               help="A constructor option of the one law --laws names (e.g. --laws ye-implicit --law-option "
                    "n_components=4), typed by the law, as 'mixlaw fit' takes it; repeatable."),
           objective: str = typer.Option("mean", "--objective", help="Objective of the optimal mixture."),
           maximize: bool = typer.Option(False, "--maximize",
                                         help="Maximise the objective: the eval columns hold higher-is-better "
                                         "metrics (accuracy, pass@1, a score), as in 'mixlaw optimize --maximize'."),
           out_path: Path = typer.Option(Path("mixlaw-report.html"), "--out", help="HTML file to write."),
           pipeline: Path | None = typer.Option(None, "--pipeline", help="Or: the page of a pipeline saved by "
                                                "'mixlaw pipeline --save' (as its --report draws it), with the --runs "
                                                "table's checkpoints and any rows at the target it did not fit "
                                                "(without --runs: no curves, no check)."),
           weight_tol: float = WeightTolOpt, at_params: str | None = AtParamsOpt, final_step: bool = FinalStepOpt,
           workers: str = LawsCvWorkersOpt, seed: int = SeedOpt) -> None:
    """Write one self-contained HTML report: leaderboard, predicted-vs-true plots, interactions, optimum (or, with
    --pipeline, a saved pipeline's page)."""
    if pipeline is not None:
        given = {"--test": bool(test), "--holdout": holdout is not None, "--dataset": dataset is not None,
                 "--laws": laws is not None, "--law-option": bool(law_option),
                 "--objective": objective != "mean", "--maximize": maximize, "--at-params": at_params is not None,
                 "--final-step": final_step, "--workers": workers != AUTO}
        _pipeline_page(pipeline, runs, [k for k, v in given.items() if v], target, out_path, weight_tol, seed)
        return
    if (runs is None) == (dataset is None):
        raise InputError("give exactly one of --runs PATH or --dataset regmix|marin-delphi")
    if holdout is not None and dataset is not None:
        raise InputError("--holdout splits a --runs table; the bundled data has its own splits")
    # Before any fit: 'report --runs runs.csv --out runs.csv' wrote the page over the run table (the user's only
    # copy), and an --out that is a folder or symlink was refused only after every law was fitted. A --test
    # 'NAME=PATH' counts by its path.
    check_outputs([runs, *(t for spec in test or [] for t in (spec, spec.partition("=")[2]) if t)], out=out_path)
    # Configured laws too (--law-option, or inline options in --laws): a law found best in 'mixlaw compare' with an
    # option could not be reported (report took law keys alone). auto / stack take their options as in fit.
    given = parse_law_entries(laws, seed, law_option)
    refine_note = None
    if dataset is not None:
        if at_params is not None or final_step:
            raise InputError("--at-params / --final-step cut a --runs table (and its --test tables); the bundled "
                             "data's splits are one scale each")
        with show_warnings(maximize):
            train, tests = dataset_with_tests(dataset, test, weight_tol)
    else:
        check_holdout(runs, test, holdout)
        with show_warnings(maximize):  # a table repair (renormalised weights) as one "warning:" line, as fit prints
            # Each table at one scale, as fit and optimize take them: the scale warning said "keep the rows of one
            # scale", which report could not.
            train = one_scale_rows(load_table(runs, weight_tol), at_params, final_step)
            if holdout is not None:
                n_all = len(train)
                train, tests = holdout_split(train, holdout, random_state=seed)
                # The refining command below fits every run of the table: optimize has no holdout.
                # Of the rows at --at-params / --final-step where given (the command keeps them): 'all 10 rows of
                # fit.csv' was said of a table of 200, 10 of them at the largest size's last step (review31b).
                scale = " ".join(([f"--at-params {shlex.quote(at_params)}"] if at_params is not None else [])
                                 + (["--final-step"] if final_step else []))
                refine_note = (f"it fits all {n_all} rows of {runs}{f' at {scale}' if scale else ''}, the held-out "
                               f"ones too; this page's optimum is fitted on the {len(train)} rows of --holdout "
                               f"{holdout:g} --seed {seed}")
            else:
                tests = one_scale_tests(load_tests(test or [], weight_tol), at_params, final_step, fitted=train)
            for t in tests.values():
                train.check_compatible(t)
    if not target and len(train.evals) > 1:
        # Every law fitted on every eval set makes a page of megabytes and minutes; one eval set is the overview.
        target = [train.evals[0]]
        err.print(f"report on eval set {train.evals[0]!r} (first of {len(train.evals)}; --target all for every one)",
                  highlight=False, markup=False)
    n_laws = len(given or default_laws())
    errors: dict[str, str] = {}  # each failed law's error, by its name on the page
    with show_warnings(maximize), progress("fitting laws", total=n_laws) as advance, cv_progress(advance), \
            cv_workers(workers):
        data = f"--dataset {dataset}" if dataset is not None else f"--runs {shlex.quote(str(runs))}"
        if weight_tol != WEIGHT_TOL:
            data += f" --weight-tol {weight_tol:g}"
        # The rows the page fitted: without them the refining command fitted every scale of a sweep (another law,
        # with a scale warning) where the page had fitted --at-params largest.
        if at_params is not None:
            data += f" --at-params {shlex.quote(at_params)}"
        if final_step:
            data += " --final-step"
        page = build_html_report(train, tests, targets=parse_targets(target), laws=given,
                                 objective=parse_objective(objective), maximize=maximize, data_options=data,
                                 random_state=seed, on_progress=lambda k: advance(k, 0),
                                 on_done=lambda k: advance(k), on_failed=errors.__setitem__,
                                 refine_note=refine_note)
    api.write_text_atomic(page, out_path)
    err.print(f"wrote {out_path}", highlight=False, markup=False)
    # The page of failures is written (its leaderboard says why each law failed), then exit 1 as compare does.
    exit_if_every_law_failed([*errors.values(), *[None] * (n_laws - len(errors))], where=f"in {out_path}")


def _pipeline_page(pipeline: Path, runs: str | None, other: list[str], target: list[str] | None, out_path: Path,
                   weight_tol: float, seed: int = 0) -> None:
    """``report --pipeline``: the saved pipeline's page drawn with the ``--runs`` table (``other``: options given
    that compare laws, which a saved pipeline has no use for; ``seed``: --seed, which nothing on the page draws)."""
    if other:
        raise InputError(f"{', '.join(other)} compare{'s' if len(other) == 1 else ''} laws on a run table; "
                         "--pipeline draws the saved pipeline's page: drop them")
    if seed != 0:
        # The page draws nothing at random (the saved fit, its intervals and the table's rows as they are):
        # 'report --pipeline p.json --seed 3' wrote the page of --seed 0 without a word.
        raise InputError("--seed seeds the fits and the --holdout draw of a report that compares laws; --pipeline "
                         "draws the saved pipeline's page, which nothing random goes into: drop it")
    if target is not None and (len(target) != 1 or target[0] == "all"):
        raise InputError("with --pipeline, --target names the one eval set whose curves are drawn")
    unused = [k for k, v in {"--target": target is not None, "--weight-tol": weight_tol != WEIGHT_TOL}.items() if v]
    if runs is None and unused:
        # Without --runs the page draws no curves and reads no table: 'report --pipeline p.json --target docs' wrote
        # the same page as without it, without a word (hunt30).
        raise InputError(f"{', '.join(unused)} appl{'ies' if len(unused) == 1 else 'y'} to the --runs table's curves "
                         "(with --pipeline, --target names the eval set drawn); without --runs the page draws none: "
                         "give --runs, or drop them")
    check_outputs([p for p in (runs, pipeline) if p is not None], out=out_path)
    with show_warnings(), progress("pipeline report"):
        result = load_pipeline(pipeline)
        # Without --runs: the page of what the file keeps (choice, stages, predictions, intervals), no curves.
        table = None if runs is None else load_table(runs, weight_tol)
        page = build_pipeline_report(result, table, eval_set=None if target is None else target[0],
                                     pipeline_file=str(pipeline),
                                     command=f"mixlaw report --pipeline {shlex.quote(str(pipeline))}"
                                             + ("" if runs is None else f" --runs {shlex.quote(runs)}"))
    api.write_text_atomic(page, out_path)
    err.print(f"wrote {out_path}", highlight=False, markup=False)
