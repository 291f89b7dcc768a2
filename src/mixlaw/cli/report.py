"""The ``report`` command: one self-contained HTML page (leaderboard, predicted-vs-true plots, domain
interactions, the optimal mixture) for a run table and its held-out tables, or for the bundled RegMix data.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import typer

from .. import api
from ..compare import default_laws
from ..data import WEIGHT_TOL
from ..datasets import bundled_splits
from ..errors import InputError
from ..report import build_html_report
from ._common import (
    SeedOpt,
    WeightTolOpt,
    cv_progress,
    err,
    load_table,
    load_tests,
    parse_laws,
    parse_objective,
    parse_targets,
    progress,
    show_warnings,
)


def report(runs: str | None = typer.Option(None, "--runs", help="Fitting run table."),
           test: list[str] | None = typer.Option(None, "--test", metavar="[NAME=]PATH",
                                                    help="Held-out run table; repeatable."),
           dataset: str | None = typer.Option(None, "--dataset", help="Bundled data instead of --runs: "
                                                                   "regmix | marin-delphi."),
           target: list[str] | None = typer.Option(None, "--target", metavar="EVAL",
                                                      help="Eval set(s), or 'all'; repeatable (default: the "
                                                           "first eval set; all of them can take minutes)."),
           laws: str | None = typer.Option(None, "--laws", help="Comma-separated law keys (default: all)."),
           objective: str = typer.Option("mean", "--objective", help="Objective of the optimal mixture."),
           maximize: bool = typer.Option(False, "--maximize",
                                         help="Maximise the objective: the eval columns hold higher-is-better "
                                         "metrics (accuracy, pass@1, a score), as in 'mixlaw optimize --maximize'."),
           out_path: Path = typer.Option(Path("mixlaw-report.html"), "--out", help="HTML file to write."),
           weight_tol: float = WeightTolOpt, seed: int = SeedOpt) -> None:
    """Write one self-contained HTML report: leaderboard, predicted-vs-true plots, interactions, optimum."""
    if (runs is None) == (dataset is None):
        raise InputError("give exactly one of --runs PATH or --dataset regmix|marin-delphi")
    if dataset is not None:
        train, tests = bundled_splits(dataset)
    else:
        if not test:
            raise InputError("--runs needs at least one --test held-out table (split your runs into two files, "
                             "or compare laws by cross-validation on this one table: mixlaw fit --runs "
                             f"{runs} --law auto)")
        with show_warnings():  # a table's repair (renormalised weights) as one 'warning:' line, as fit prints it
            train = load_table(runs, weight_tol)
            tests = load_tests(test, weight_tol)
            for t in tests.values():
                train.check_compatible(t)
    if not target and len(train.evals) > 1:
        # Every law fitted on every eval set makes a page of megabytes and minutes; one eval set is the overview.
        target = [train.evals[0]]
        err.print(f"report on eval set {train.evals[0]!r} (first of {len(train.evals)}; --target all for every one)",
                  highlight=False, markup=False)
    keys = parse_laws(laws) or default_laws()
    with show_warnings(), progress("fitting laws", total=len(keys)) as advance, cv_progress(advance):
        data = f"--dataset {dataset}" if dataset is not None else f"--runs {shlex.quote(str(runs))}"
        if weight_tol != WEIGHT_TOL:
            data += f" --weight-tol {weight_tol:g}"
        page = build_html_report(train, tests, targets=parse_targets(target), laws=parse_laws(laws),
                                 objective=parse_objective(objective), maximize=maximize, data_options=data,
                                 random_state=seed, on_progress=lambda k: advance(k, 0),
                                 on_done=lambda k: advance(k))
    api.write_text_atomic(page, out_path)
    err.print(f"wrote {out_path}", highlight=False, markup=False)
