"""Pairs of files: Olmix's ``ratios.csv`` + ``metrics.csv`` and RegMix's ``mixture.csv`` + ``loss.csv``, as
``runs import`` and ``--runs a.csv+b.csv`` read them."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import (
    LOSS_PREFIX,
    WEIGHT_PREFIX,
    WEIGHT_TOL,
    RunTable,
    read_regmix_pair,
    read_runs,
)
from ..data.reading import _read_any
from ..errors import DataError, DataWarning, InputError, user_stacklevel
from .columns import _drop_incomplete, _select_evals, _show


# ---------------------------------------------------------------------- Olmix
def read_olmix_pair(ratios: str | os.PathLike[str], metrics: str | os.PathLike[str], *,
                    weight_tol: float = WEIGHT_TOL, drop_incomplete: bool = False,
                    evals: Sequence[str] | None = None) -> RunTable:
    """Olmix's pair: ``ratios.csv`` (run id, one column per domain) and ``metrics.csv`` (run id, one per metric).

    The run id column is ``run`` or ``run_id``; ``name``, ``index`` and ``Unnamed: *`` columns are ignored,
    as Olmix's own ``load_from_csv`` does. Runs in only one file are left out with a warning, and so are runs that
    miss a metric with ``drop_incomplete`` (one of the metrics in ``evals``, when given: the others are left
    out). Metrics become ``loss:<metric>`` (lower is better: losses or bits
    per byte).
    """
    rp, mp = Path(ratios), Path(metrics)
    rdf, rlines = _read_any(rp)
    mdf, mlines = _read_any(mp)
    frames = []
    for p, df, prefix in ((rp, rdf, WEIGHT_PREFIX), (mp, mdf, LOSS_PREFIX)):
        cols = [str(c) for c in df.columns]
        rid = next((c for c in ("run", "run_id") if c in cols), None)
        if rid is None:
            raise DataError(f"missing the run id column ('run' or 'run_id'); columns: {_show(cols)}", path=str(p))
        data = [c for c in cols if c not in ("run", "run_id", "name", "index") and not c.startswith("Unnamed")]
        if not data:
            raise DataError("no data columns besides the run id", path=str(p))
        frame = df[[rid] + data].set_axis(["run"] + [prefix + c for c in data], axis=1)
        frame["run"] = frame["run"].astype(str)
        frames.append(frame)
    if _rows_sum_to_one(frames[1], weight_tol) and not _rows_sum_to_one(frames[0], weight_tol):
        # metrics.csv+ratios.csv: the error was "weights sum to 253.629" on the first metric's column.
        raise DataError(f"the rows of {mp.name} sum to 1 and those of {rp.name} do not: the files look swapped; give "
                        f"the mixtures first: {mp.name}+{rp.name}", path=str(rp))
    only = sorted(set(frames[0]["run"]) ^ set(frames[1]["run"]))
    if only:
        warnings.warn(f"{rp.name}+{mp.name}: {len(only)} run(s) in only one of the files are left out "
                      f"(first: {only[0]!r})", DataWarning, stacklevel=user_stacklevel(2))
    merged = frames[0].merge(frames[1], on="run", how="inner", sort=False)
    if merged.empty:
        raise DataError(f"no run id in common with {mp.name}", path=str(rp))
    # Each row's line in metrics.csv: a warning that names the rows missing a loss names the lines of those empty
    # cells ('left out ... lines 3, 4' were the runs' lines in ratios.csv, where metrics.csv held them on 2 and 3).
    # An error in a weight is re-read to its ratios.csv line below.
    line_of = dict(zip(frames[1]["run"], mlines, strict=False))
    lines = np.array([line_of[r] for r in merged["run"]])
    merged = _select_evals(merged, evals, f"{rp.name}+{mp.name}")
    if drop_incomplete:
        merged, lines = _drop_incomplete(merged, lines, f"{rp.name}+{mp.name}")
    try:
        return RunTable(merged, path=f"{rp}+{mp}", weight_tol=weight_tol, lines=lines)
    except DataError as e:
        # Name the file, line and column the cell is in: an inf metric on metrics.csv's line 12 was reported as
        # 'ratios.csv+metrics.csv:118: column loss:arc_challenge', the line of its run in ratios.csv.
        col = e.column or ""
        if e.row is None or not col.startswith((WEIGHT_PREFIX, LOSS_PREFIX)):
            raise
        run = next((r for r, n in zip(merged["run"], lines, strict=True) if n == e.row), None)
        if col.startswith(LOSS_PREFIX):
            where, line = mp, e.row
        else:
            where, line = rp, dict(zip(frames[0]["run"], rlines, strict=False)).get(run)
        raise DataError(f"run {run!r}: {e.detail}", path=str(where), row=line,
                        column=col.split(":", 1)[1]) from None


def _rows_sum_to_one(frame: pd.DataFrame, tol: float) -> bool:
    """Whether every row of a pair's half, its run id aside, holds numbers summing to 1 within ``tol`` (shares)."""
    values = frame.drop(columns="run").apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    return bool(values.size) and bool(np.all(np.abs(np.nansum(values, axis=1) - 1.0) <= tol))


def read_any_runs(path: str | os.PathLike[str], *, losses: str | os.PathLike[str] | None = None,
                  weight_tol: float = WEIGHT_TOL) -> RunTable:
    """Read and validate a run table as ``--runs`` names it (exported as ``mixlaw.read_runs``).

    Parameters
    ----------
    path : path-like
        A run table (CSV, Excel .xlsx, Parquet, JSON or JSONL; DESIGN.md §2), or a pair ``a.csv+b.csv``:
        RegMix's mixture and loss files when the first has an ``index`` column to join on and no run id
        (:func:`~mixlaw.data.read_regmix_pair`), else Olmix's ``ratios.csv+metrics.csv`` joined on ``run`` /
        ``run_id`` (:func:`read_olmix_pair`).
    losses : path-like, optional
        The losses' file of the mixtures' file ``path``, read as the pair ``path+losses`` is: RegMix's loss CSV
        (joined on ``index``) or Olmix's ``metrics.csv`` (joined on ``run`` / ``run_id``).
    weight_tol : float, default=0.01
        Tolerance on the row sums of the weights.

    Returns
    -------
    RunTable
        Validated: a :class:`~mixlaw.errors.DataError` names the file, line and column of the first problem.

    Why one reader: Olmix's own files carry ``run`` and ``index`` both (``,run,name,index,<domains>``): read as
    RegMix's, the DCLM swarm's pair stopped at "no mixture columns (expected 'train_the_pile_<domain>' ...)",
    while ``mixlaw runs import`` of the same pair worked; and ``mixlaw.read_runs("ratios.csv+metrics.csv")``
    (the data layer's reader) stopped at "columns 'run' and 'run' are one name" where ``--runs`` read the pair.
    Its arguments are that reader's (``path``, ``losses``, ``weight_tol``): named ``spec``, the first broke
    ``mixlaw.read_runs(path=...)``.
    """
    paths = isinstance(path, (str, os.PathLike)) and isinstance(losses, (str, os.PathLike))
    if paths and "+" in str(path) and not Path(path).exists():
        raise InputError(f"read_runs: {str(path)!r} names a pair of files and losses= a losses' file: give the pair "
                         "as 'mixtures+losses' or the mixtures' file with losses=, not both")
    if paths and not _regmix_pair(str(path)):
        # Olmix's ratios.csv with losses=metrics.csv, as 'ratios.csv+metrics.csv' reads it: the data layer's reader
        # took it for RegMix's pair and stopped at "columns 'run' and 'run' are one name".
        return read_olmix_pair(path, losses, weight_tol=weight_tol)  # type: ignore[arg-type]
    if losses is not None or not isinstance(path, (str, os.PathLike)):
        return read_runs(path, losses=losses, weight_tol=weight_tol)  # (its error for a frame or None)
    s = str(path)
    if "+" in s and not Path(s).exists():
        first, second = s.split("+", 1)
        if not first or not second:
            # 'ratios.csv+' said ".: unknown table format ''".
            raise InputError(f"{s!r}: a pair of files is 'mixtures+losses', both named (Olmix's "
                             "ratios.csv+metrics.csv, RegMix's mixture.csv+loss.csv)")
        if not _regmix_pair(first):
            return read_olmix_pair(first, second, weight_tol=weight_tol)
    return read_runs(s, weight_tol=weight_tol)


def _regmix_pair(first: str) -> bool:
    """Whether a pair ``first+second`` is RegMix's (joined on ``index``, no run id) rather than Olmix's."""
    head = [str(c) for c in _read_any(Path(first))[0].columns] if Path(first).exists() else []
    return "index" in head and not {"run", "run_id"} & set(head)


def read_pair(first: str, second: str, *, weight_tol: float = WEIGHT_TOL, drop_incomplete: bool = False,
              evals: Sequence[str] | None = None) -> RunTable:
    """A pair of files as ``mixlaw runs import a.csv+b.csv`` reads it: RegMix's mixture and loss files (joined on
    ``index``, no run id: :func:`~mixlaw.data.read_regmix_pair`) or Olmix's ratios and metrics
    (:func:`read_olmix_pair`), with ``evals`` and ``drop_incomplete`` as for a table.

    Why: ``--runs mix.csv+loss.csv`` read RegMix's pair (Dai & Zheng ship their 1B test runs so), but ``runs import``
    took every pair for Olmix's and stopped at "missing the run id column ('run' or 'run_id')"."""
    if not _regmix_pair(first):
        return read_olmix_pair(first, second, weight_tol=weight_tol, drop_incomplete=drop_incomplete, evals=evals)
    table = read_regmix_pair(first, second, weight_tol=weight_tol)
    if evals is None and not drop_incomplete:
        return table
    where = f"{first}+{second}"
    df, lines = _select_evals(table.frame, evals, where), table._lines
    if drop_incomplete:
        df, lines = _drop_incomplete(df, lines, where)
    return RunTable(df, path=where, weight_tol=weight_tol, lines=lines)
