"""The run-table importers on the command line: ``runs import`` (a table with other column names, Olmix's
ratios/metrics pair, or Ye et al.'s training logs), ``runs import-wandb`` (a W&B project) and ``runs
import-tensorboard`` (event files). Each writes a validated run table that every other command reads with ``--runs``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from .._validation import split_names
from ..data import RunTable
from ..errors import InputError
from ..importers import (
    read_pair,
    read_runs_mapped,
    read_ye_logs,
    read_ye_logs_with_base,
    runs_from_tensorboard,
    runs_from_wandb,
    ye_logs_given,
)
from ..store import write_table
from ._common import JsonOpt, WeightTolOpt, check_not_an_input, emit_json, err, show_warnings
from ._progress import progress

ColumnsOpt = typer.Option(None, "--columns", metavar="MAP",
                          help="Column map target=source,... or a YAML file (targets: run, params, step, tokens, "
                               "w:<domain>, loss:<eval>; * matches a pattern, e.g. w:*=mixture/*).")
OutOpt = typer.Option(..., "--out", help="Run table to write: .parquet, .csv or .jsonl.")
DropOpt = typer.Option(False, "--drop-incomplete",
                       help="Leave out (with a warning) the rows that miss one of the imported losses (kept "
                            "without it: a fit of an eval uses the rows that have it) or have it infinite (a "
                            "diverged run: without it, an error that counts them).")
EvalsOpt = typer.Option(None, "--evals", metavar="EVAL,...",
                        help="Import these evals' losses alone (default: all): with --drop-incomplete, a row that "
                             "misses only another eval's loss is kept.")

MixturesTableOpt = typer.Option(None, "--mixtures-table", metavar="TABLE",
                                help="The mixtures in a table of their own (CSV/Parquet/JSONL): one row per key (--on) "
                                     "with w:<domain> shares, joined to the losses' rows, e.g. a sweep whose runs "
                                     "are named by recipe. Without a run column the key is the run.")
DomainsOpt = typer.Option(None, "--domains", metavar="NAME,...",
                          help="Ye et al.'s logs: the domains' names, in the order of the shares in the run names "
                               "(default d0,d1,...; or the names in the checkpoint folder when it gives one per "
                               "share, as 3Mix's Github-Books3-PileCC).")
OnOpt = typer.Option(None, "--on", metavar="COLUMN",
                     help="With --mixtures-table: the key column both tables have (default: run), e.g. recipe.")


def _write(table: RunTable, out_path: Path, as_json: bool, base: pd.DataFrame | None = None) -> None:
    """Write the table (after ``base``'s rows, which have no mixture: a base model's, for mixlaw continual)."""
    frame = table.frame if base is None else pd.concat([base.reindex(columns=table.frame.columns), table.frame],
                                                       ignore_index=True)
    write_table(frame, out_path, "--out")
    doc = {"out": str(out_path), "rows": len(frame), "runs": int(table.frame["run"].nunique()),
           "domains": table.domains, "evals": table.evals,
           "missing_losses": table.rows_left_out()}
    if base is not None:
        doc["base_models"] = [str(r) for r in base["run"]]
    if as_json:
        emit_json(doc)
    else:
        gaps = ", ".join(f"loss:{e} {n}" for e, n in doc["missing_losses"].items())
        gaps = (f"; rows without a loss: {gaps} (a fit of an eval uses the rows that have it; --drop-incomplete "
                "leaves them out)") if gaps else ""
        many = base is not None and len(base) > 1
        bases = "" if base is None else (f"; base model{'s' if many else ''} {', '.join(map(str, base['run']))} as "
                                         f"{'rows' if many else 'a row'} with no mixture")
        err.print(f"wrote {doc['rows']} rows ({doc['runs']} runs; domains {_some(table.domains)}; "
                  f"evals {_some(table.evals)}{gaps}{bases}) to {out_path}", highlight=False, markup=False)


def _some(names: list[str], limit: int = 20) -> str:
    """At most ``limit`` names, then a count: Olmix's DCLM swarm has 110 evals, and the one-line summary of
    the import ran to 4 700 characters (``--json`` lists them all)."""
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])}, ... ({len(names)} in all)"


def import_cmd(sources: list[str] = typer.Argument(..., metavar="SOURCE...",
                                                 help="A table (CSV/.xlsx/Parquet/JSON/JSONL; a JSON record's nested "
                                                      "keys read as a/b, a list's positions as a/0, a list of records "
                                                      "as one row each), or a pair: Olmix's "
                                                      "ratios.csv+metrics.csv, RegMix's mixture.csv+loss.csv; or "
                                                      "Ye et al.'s training logs (one or more files, or a folder)."),
               columns: str | None = ColumnsOpt, out_path: Path = OutOpt,
               weight_tol: float = WeightTolOpt, drop_incomplete: bool = DropOpt, evals: str | None = EvalsOpt,
               mixtures_table: str | None = MixturesTableOpt, on: str | None = OnOpt,
               domains: str | None = DomainsOpt,
               keep_base: bool = typer.Option(False, "--keep-base",
                                              help="Ye et al.'s continual-pretraining log: also write the base "
                                                   "model's losses as a row with no mixture (mixlaw continual reads "
                                                   "it as the loss before continual pretraining)."),
               as_json: bool = JsonOpt) -> None:
    """Convert a table with other column names (a W&B CSV export, a spreadsheet), Olmix's or RegMix's pair, or Ye
    et al.'s training logs to a run table.

    A table with no run column gets one run per mixture and model size, its rows of different steps or tokens
    that run's checkpoints (one run per row without those columns), with a warning. Losses without w: columns
    take their mixtures from --mixtures-table, joined on --on (e.g. recipe). Ye et al.'s logs
    (data/<set>/<size>.txt of github.com/yegcjs/mixinglaws) are recognised by their lines: one run per size, seed
    and mixture, one loss per validation file.
    """
    check_not_an_input([*sources, mixtures_table, columns], out=out_path)
    names = None if evals is None else split_names(evals)
    if ye_logs_given(sources):
        given = [n for n, v in (("--columns", columns), ("--mixtures-table", mixtures_table), ("--on", on)) if v]
        if given:
            raise InputError(f"{', '.join(given)} map a table's columns; Ye et al.'s logs have no columns to map "
                             "(--domains names their shares)")
        named = None if domains is None else split_names(domains)
        base = None
        with show_warnings():
            # One parse of the logs gives the runs and, with --keep-base, the base model's rows (read_ye_base after
            # read_ye_logs parsed every file twice).
            if keep_base:
                table, base = read_ye_logs_with_base(sources, domains=named, weight_tol=weight_tol,
                                                     drop_incomplete=drop_incomplete, evals=names)
            else:
                table = read_ye_logs(sources, domains=named, weight_tol=weight_tol, drop_incomplete=drop_incomplete,
                                     evals=names)
        if base is not None and base.empty:
            raise InputError("--keep-base: these logs have no base model's lines (a checkpoint path that names a "
                             "model, not a run's '/<step>')")
        _write(table, out_path, as_json, base=base)
        return
    if keep_base:
        raise InputError("--keep-base applies to Ye et al.'s training logs; a table keeps a base model's row (no "
                         "mixture) as it is written, for mixlaw continual")
    if domains is not None:
        raise InputError("--domains names the shares of Ye et al.'s training logs; a table names its domains in "
                         "its w:<domain> columns (--columns maps them)")
    source = sources[0]
    if on is not None and mixtures_table is None:
        raise InputError("--on names the key column of --mixtures-table: give the mixtures table too")
    pair = "+" in source and not Path(source).exists()
    if columns is not None and pair:
        # It was ignored without a word: a pair is read by its own layout (RegMix's index with train_<d> /
        # metric/<e>_val_loss columns or the plain names; Olmix's run id with the plain names).
        raise InputError("--columns maps the columns of one table; a pair (Olmix's ratios.csv+metrics.csv, RegMix's "
                         "mixture.csv+loss.csv) is read by its own layout, whatever its columns: drop --columns, or "
                         "join the files into one table first and map that")
    if mixtures_table is not None and pair:
        raise InputError("--mixtures-table joins one losses table; a pair (Olmix's ratios.csv+metrics.csv, "
                         "RegMix's mixture.csv+loss.csv) has its mixtures in its first file")
    with show_warnings():
        if pair:
            first, second = source.split("+", 1)
            table = read_pair(first, second, weight_tol=weight_tol, drop_incomplete=drop_incomplete, evals=names)
        else:
            table = read_runs_mapped(source, columns, weight_tol=weight_tol, drop_incomplete=drop_incomplete,
                                     evals=names, mixtures=mixtures_table, on=on or "run")
    _write(table, out_path, as_json)


def import_wandb_cmd(project: str = typer.Argument(..., help="ENTITY/PROJECT."),
                     columns: str | None = ColumnsOpt, out_path: Path = OutOpt,
                     summary: bool = typer.Option(False, "--summary",
                                                  help="One row per run from its summary, not its history."),
                     weight_tol: float = WeightTolOpt, as_json: bool = JsonOpt) -> None:
    """Import the runs of a W&B project (needs mixlaw[wandb] and W&B credentials): history per run."""
    with show_warnings(), progress(f"reading {project}") as advance:
        table = runs_from_wandb(project, columns=columns, history=not summary, weight_tol=weight_tol,
                                progress=advance)
    _write(table, out_path, as_json)


def import_tensorboard_cmd(logdir: Path = typer.Argument(..., help="Folder with one subfolder of event files per run."),
                           columns: str | None = ColumnsOpt,
                           mixtures: str | None = typer.Option(None, "--mixtures",
                                                               help="Table of run, w:<domain> (if not in scalars)."),
                           out_path: Path = OutOpt, weight_tol: float = WeightTolOpt,
                           as_json: bool = JsonOpt) -> None:
    """Import TensorBoard event files (scalars) as a run table; no TensorFlow needed."""
    n = len({p.parent for p in Path(logdir).rglob("events.out.tfevents.*")}) if Path(logdir).is_dir() else None
    with show_warnings(), progress("reading event files", total=n) as advance:
        table = runs_from_tensorboard(logdir, columns=columns, mixtures=mixtures, weight_tol=weight_tol,
                                      progress=advance)
    _write(table, out_path, as_json)


def register(runs_app: typer.Typer) -> None:
    """Add the importers to the ``runs`` command group."""
    runs_app.command("import")(import_cmd)
    runs_app.command("import-wandb")(import_wandb_cmd)
    runs_app.command("import-tensorboard")(import_tensorboard_cmd)
