"""The run tables a command reads from its options: ``--runs PATH`` (or a RegMix / Olmix ``a+b`` pair) or
``--dataset NAME``, with the ``--eval-group`` columns added and cut to one scale by ``--at-params`` /
``--final-step``; the held-out ``--test`` tables (or ``--holdout``) of compare and report.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import typer

from .._validation import first_and_more
from ..data import SAME_SIZE_RTOL, RunTable, match_size
from ..datasets import bundled_splits
from ..errors import DataWarning, InputError, ShortRunWarning, UnusedDomainWarning
from ..evals import add_eval_groups
from ..importers import read_any_runs
from ._common import parse_count, parse_eval_groups


def load_table(path: str, weight_tol: float, eval_groups: list[str] | None = None) -> RunTable:
    """Read and validate a run table named on the command line (or a RegMix / Olmix ``a+b`` pair), with the
    loss columns of ``--eval-group`` specs added (:func:`mixlaw.evals.add_eval_groups`)."""
    return _with_groups(read_any_runs(path, weight_tol=weight_tol), eval_groups)


def check_holdout(runs: str | None, test: list[str] | None, holdout: float | None) -> None:
    """compare / report on a --runs table: held-out --test tables or --holdout, one of the two."""
    if not test and holdout is None:
        # One table is the common case: say how to compare laws on it without splitting it by hand.
        raise InputError("--runs needs at least one --test held-out table (or --holdout 0.2: a seeded fifth of its "
                         "runs held out; or compare laws by cross-validation on this one table: mixlaw fit --runs "
                         f"{runs} --law auto)")
    if test and holdout is not None:
        raise InputError("give --test tables or --holdout, not both")


def _with_groups(table: RunTable, eval_groups: list[str] | None) -> RunTable:
    """``table`` with the loss columns of the ``--eval-group`` specs added (a group name given twice is refused)."""
    if eval_groups:
        table = add_eval_groups(table, parse_eval_groups(eval_groups))
    return table


#: ``--dataset`` of the commands that fit one table (``fit``, ``optimize``): the bundled set's fitting split.
DatasetOpt = typer.Option(None, "--dataset", help="Bundled data instead of --runs (its fitting split: RegMix "
                          "train_1m, Marin's 187 train runs): regmix | marin-delphi.")


def fitting_table(runs: str | None, dataset: str | None, weight_tol: float,
                  eval_groups: list[str] | None = None, at_params: str | None = None,
                  final_step: bool = False) -> RunTable:
    """The table of ``--runs PATH`` or of ``--dataset NAME`` (the fitting split that ``compare --dataset``
    fits on), exactly one of them, with ``--eval-group`` columns added, cut to one scale by ``--at-params`` /
    ``--final-step`` (:func:`one_scale_rows`)."""
    if (runs is None) == (dataset is None):
        raise InputError("give exactly one of --runs PATH or --dataset regmix|marin-delphi")
    if runs is not None:
        table = load_table(runs, weight_tol, eval_groups)
    else:
        table = _with_groups(bundled_splits(dataset)[0], eval_groups)
    return one_scale_rows(table, at_params, final_step)


def one_scale_rows(table: RunTable, at_params: str | None, final_step: bool) -> RunTable:
    """``table`` cut to the rows of one model size (``--at-params``) and/or each run's last checkpoint
    (``--final-step``).

    Why: a law without a model-size or token input fits one loss surface over every scale of a sweep's table, and
    the warning that says so told the user to "keep the rows of one scale", which only Python could do.
    """
    if at_params is not None:
        sizes = table.model_params
        if sizes is None:
            raise InputError(f"{table.path or 'run table'}: --at-params needs a params column; the table has none")
        present = np.unique(sizes)
        spec = at_params.strip().lower()
        if spec in ("largest", "smallest"):
            value = float(present[-1] if spec == "largest" else present[0])
        else:
            # The table's size it names (100K: 100096; Pythia's 160M: 162,322,944), said when not the one given.
            try:
                value, line = match_size(present, parse_count(at_params), f"--at-params {at_params}")
            except InputError as err:
                raise InputError(f"{err} (or largest / smallest), in {table.path or 'the run table'}") from None
            if line is not None:
                warnings.warn(line, DataWarning, stacklevel=2)
        table = table.subset(sizes == value)
    if final_step:
        order = table.steps if table.steps is not None else table.tokens
        if order is not None:
            sizes = table.model_params
            key = pd.DataFrame({"run": table.runs, "at": order,
                                "size": np.zeros(len(table)) if sizes is None else sizes})
            curves = key.groupby(["run", "size"])["at"]  # grouped once: each curve's last checkpoint and its row
            last = curves.max()
            table = table.subset(key.index.isin(curves.idxmax()))
            # A run that stopped early (an unfinished sweep exported with --all, a crashed job) has its "final"
            # loss at an earlier checkpoint than the others of its size: the scale warning that followed told
            # the user to add --final-step, which they had.
            full = last.groupby(level="size").transform("max")
            # Only where the table has steps or curves (a run with more than one checkpoint): one row per run whose
            # token counts differ by design (AutoScale's runs, each trained on its mixture's own tokens, no steps)
            # has no checkpoint to end at, and 8 of its 15 runs were said to "end before the others of their size".
            # A step is a checkpoint's: a run's one row at an earlier step than the others' (a sweep's last
            # checkpoints exported one row per run, a crashed job) is still named.
            checkpoints = table.steps is not None or (curves.size() > 1).any()
            short = last[last < full] if checkpoints else last.iloc[:0]
            if len(short):
                what = "step" if table.steps is not None else "tokens"
                named = first_and_more([f"{r!r} ({what} {v:g} of {full[(r, n)]:g})" for (r, n), v in short.items()])
                warnings.warn(f"{table.path or 'run table'}: --final-step: {len(short)} run(s) end before the others "
                              f"of their size, so their last checkpoint is an earlier one: {named}; finish them "
                              "(an interrupted sweep: run it again) or leave them out", ShortRunWarning, stacklevel=2)
    return table


def fitted_at(table: RunTable, at_params: str | None, final_step: bool) -> dict[str, float] | None:
    """``fitted_at`` of fit/optimize/compare's ``--json`` document: the model size ``--at-params`` cut ``table``
    to (the table's own, e.g. 1.62e8 for '160M') and, with ``--final-step``, the last step (or tokens) kept; None
    when neither cut was asked for.

    Why: the size taken was said only on stderr, so a --json reader could not tell which size the law was fit at."""
    if at_params is None and not final_step:
        return None
    out: dict[str, float] = {}
    if at_params is not None and table.model_params is not None and len(table):
        out["params"] = float(np.unique(table.model_params)[0])
    if final_step and len(table):
        if table.steps is not None:
            out["step"] = float(np.max(table.steps))
        elif table.tokens is not None:
            out["tokens"] = float(np.max(table.tokens))
    return out


def one_scale_tests(tests: dict[str, RunTable], at_params: str | None, final_step: bool, *,
                    fitted: RunTable) -> dict[str, RunTable]:
    """:func:`one_scale_rows` on held-out tables, at the model size ``fitted`` (the fitting runs, already cut by
    :func:`one_scale_rows`) was cut at: their rows within :data:`~mixlaw.data.SAME_SIZE_RTOL` of it (one size, as the
    fit reads sizes). A size they lack (runs held out at a larger size, as Dai & Zheng's 2.718B ones) leaves their
    sizes as they are, with --final-step still applied.

    Why (found by review): each table read ``--at-params`` on its own, so '160M' (or the fitting table's exact
    1.62e8) cut a held-out table at its 1.58e8, the nearest within 5 %, and ``largest`` at its own largest: compare
    scored the fit on runs of another size, said only by a second 'taking ...' warning naming no table."""
    size = None
    if at_params is not None and fitted.model_params is not None and len(fitted):
        size = float(np.unique(fitted.model_params)[0])
    out = {}
    for name, t in tests.items():
        N = t.model_params
        if size is not None and N is not None and (at := np.abs(N - size) <= SAME_SIZE_RTOL * size).any():
            t = t.subset(at)
        out[name] = one_scale_rows(t, None, final_step)
    return out


def load_tests(specs: list[str], weight_tol: float, eval_groups: list[str] | None = None) -> dict[str, RunTable]:
    """--test NAME=PATH or PATH (named by its stem), repeatable -> {name: table}."""
    tests: dict[str, RunTable] = {}
    given: dict[str, str] = {}
    for spec in specs:
        name, path = spec.split("=", 1) if "=" in spec and not Path(spec).exists() else (Path(spec).stem, spec)
        if not name.strip():
            raise InputError(f"--test {spec!r}: the held-out table's name is empty; give NAME=PATH or a PATH")
        if name in given:
            # The second table replaced the first without a word (two files test.csv in two folders, or one name
            # given twice): the leaderboard showed one split.
            raise InputError(f"--test: two held-out tables are named {name!r} ({given[name]} and {path}); name each "
                             "one: --test NAME=PATH")
        given[name] = path
        with warnings.catch_warnings():  # a held-out run need not train on every domain; the fitting table must
            warnings.simplefilter("ignore", UnusedDomainWarning)
            tests[name] = load_table(path, weight_tol, eval_groups)
    return tests


def dataset_with_tests(dataset: str, specs: list[str] | None, weight_tol: float) -> tuple[RunTable,
                                                                                      dict[str, RunTable]]:
    """``--dataset NAME`` with ``--test`` tables: the bundled fitting table, and the ``--test`` tables followed by
    the dataset's own held-out splits (compare / report).

    The --test tables were dropped without a word: ``compare --dataset marin-delphi --test proposals.csv`` (Marin's
    own optimiser proposals, measured at the swarm's scale) scored ``early_stop`` alone. A --test table named as one
    of the dataset's splits is refused rather than replacing it."""
    train, tests = bundled_splits(dataset)
    if not specs:
        return train, tests
    extra = load_tests(specs, weight_tol)
    for name in extra:
        if name in tests:
            raise InputError(f"--test: the held-out table {name!r} has the name of one of --dataset {dataset}'s "
                             f"splits ({', '.join(tests)}); name it another way: --test NAME=PATH")
    for t in extra.values():
        train.check_compatible(t)
    # The --test tables first: the leaderboard gives MRE, RMSE and bias of the first split only, and report picks its
    # optimum's law on it, so these are the user's tables, as with --runs (where they are the only ones).
    return train, {**extra, **tests}
