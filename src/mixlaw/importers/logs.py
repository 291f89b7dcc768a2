"""Training logs read as a run table: a Weights & Biases project (config + history) and TensorBoard event
files (scalars), each ending in :func:`_finish`."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data import LOSS_PREFIX, UNFINISHED_ADVICE, UNFINISHED_STATES, WEIGHT_PREFIX, WEIGHT_TOL, RunTable
from ..data.reading import _read_any
from ..errors import DataError, DataWarning, InputError, user_stacklevel
from ..tfevents import read_scalars
from .columns import _rows_with_every_eval, _show, _step_key, apply_column_map, parse_column_map


# ---------------------------------------------------------------------- W&B
def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if str(k).startswith("_") and not prefix and k != "_step":
            continue  # W&B's own bookkeeping (_runtime, _timestamp, _wandb)
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and "value" in v and set(v) <= {"value", "desc"}:
            v = v["value"]  # the REST form of a config entry: {"value": ..., "desc": ...}
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "/"))
        elif v is None or isinstance(v, (int, float, str, bool, np.number)):
            out[key] = v
    return out


def _collapse_steps(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """W&B logs keys at different calls for the same step: merge rows of one step (first value per column)."""
    if "step" not in frame.columns:
        return frame
    return frame.groupby(keys, sort=True, dropna=False, as_index=False).first()


def runs_from_wandb(path: str, *, api: Any = None, columns: str | Mapping[str, Any] | None = None,
                    history: bool = True, weight_tol: float = WEIGHT_TOL, progress: Any = None) -> RunTable:
    """Import the runs of a W&B project ``ENTITY/PROJECT`` (needs ``mixlaw[wandb]`` unless ``api`` is given).

    Each run's config (nested keys joined by ``/``) is repeated on every row of its history
    (``scan_history``: every logged step, not W&B's 500-row sample), so a map like
    ``w:*=mixture/*, loss:*=eval/*/loss, step=_step`` picks the mixture from the config and the losses from
    the history. ``history=False`` reads one row per run from its summary instead. Rows of a step that logs no
    eval loss (training-loss steps) are left out; a warning names the rows that log some eval losses but not all
    (evals logged at different steps) and the runs that log none.

    Parameters
    ----------
    path : str
        ``entity/project`` (what ``wandb.Api().runs`` takes).
    api : object, optional
        A ``wandb.Api()``-like object (tests pass a stand-in); default: ``wandb.Api()``.
    columns : str or mapping, optional
        Column map; default ``step=_step`` plus columns already named ``w:``/``loss:``.
    progress : callable, optional
        Called as ``progress(run_name)`` after each run.
    """
    if not isinstance(path, str) or path.count("/") != 1 or not all(path.split("/")):
        raise InputError(f"W&B path must be ENTITY/PROJECT; got {path!r}")
    if api is None:
        try:
            import wandb
        except ImportError:
            raise InputError("importing from W&B needs the wandb package: pip install 'mixlaw[wandb]'") from None
        api = wandb.Api()
    mapping = parse_column_map(columns)
    rows: list[dict[str, Any]] = []
    unfinished: dict[str, str] = {}  # run -> its state, for the runs W&B says did not finish
    for run in api.runs(path):
        name = str(getattr(run, "name", None) or run.id)
        state = getattr(run, "state", None)
        if isinstance(state, str) and state.strip().lower() in UNFINISHED_STATES:
            unfinished[name] = state.strip().lower()
        config = _flatten(dict(run.config))
        if history:
            logged = run.scan_history() if hasattr(run, "scan_history") else run.history(pandas=False)
            for rec in logged:
                rows.append({**config, **_flatten(dict(rec)), "run": name})
        else:
            rows.append({**config, **_flatten(dict(run.summary)), "run": name})
        if progress is not None:
            progress(name)
    if not rows:
        raise InputError(f"W&B project {path}: no runs")
    raw = pd.DataFrame(rows)
    if "step" not in mapping and "_step" in raw.columns and "step" not in raw.columns:
        mapping = {**mapping, "step": "_step"}
    frame = apply_column_map(raw, mapping, where=f"wandb:{path}")
    if unfinished:
        # A W&B CSV export's 'State' column was warned of (data.unfinished_runs); the API's run.state was not read,
        # and a crashed run's last losses were imported as its final ones without a word.
        counts = pd.Series(list(unfinished.values())).value_counts()
        names = ", ".join(repr(r) for r in list(unfinished)[:5]) + (", ..." if len(unfinished) > 5 else "")
        warnings.warn(f"wandb:{path}: W&B says {', '.join(f'{n} {s!r}' for s, n in counts.items())} (run"
                      f"{'s' if len(unfinished) > 1 else ''} {names}): " + UNFINISHED_ADVICE.format(rows="runs"),
                      DataWarning, stacklevel=user_stacklevel(2))
    said = _logged_nan(rows, frame, f"wandb:{path}")
    return _finish(frame, f"wandb:{path}", weight_tol, "w:*=mixture/*, loss:*=eval/*/loss",
                   frame.attrs.get("source_columns"), said)


def _logged_nan(rows: list[dict[str, Any]], frame: pd.DataFrame, where: str) -> set[tuple[str, Any]]:
    """Warn, naming runs and steps, about eval losses logged as NaN or inf (a diverged run), which the import leaves
    out as rows without every eval loss: the count alone did not say that a run had diverged, nor which. Returns
    the (run, step) keys named, which the warning on rows left out does not count again. ``frame``'s infinite
    losses become NaN here (in place): a framework that logs a diverged loss as inf stopped the whole import at
    the table's "loss is inf", and these importers have no --drop-incomplete."""
    sources = frame.attrs.get("source_columns", {})
    tags = {sources.get(c, c): c for c in frame.columns if str(c).startswith(LOSS_PREFIX)}
    hit: dict[tuple[str, str], list[Any]] = {}
    kinds: set[str] = set()
    for row in rows:
        for tag in tags:
            v = row.get(tag)
            if isinstance(v, (float, np.floating)) and not np.isfinite(v):
                kinds.add("NaN" if np.isnan(v) else "inf")
                hit.setdefault((str(row["run"]), tag), []).append(row.get("step", row.get("_step")))
    if not hit:
        return set()
    for col in tags.values():
        values = pd.to_numeric(frame[col], errors="coerce")
        frame[col] = frame[col].where(~np.isinf(values), np.nan)
    runs = "; ".join(f"{run!r} {tag}" + (f" at step(s) {', '.join(str(s) for s in steps[:5] if s is not None)}"
                                         + (" ..." if len(steps) > 5 else "") if any(s is not None for s in steps)
                                         else "") for (run, tag), steps in list(hit.items())[:5])
    more = f" (and {len(hit) - 5} more)" if len(hit) > 5 else ""
    warnings.warn(f"{where}: eval losses logged as {' or '.join(sorted(kinds))} (a diverged run?): {runs}{more}; "
                  "those rows are left out", DataWarning, stacklevel=user_stacklevel(3))
    return {(run, _step_key(s)) for (run, _), steps in hit.items() for s in steps}


def _finish(frame: pd.DataFrame, where: str, weight_tol: float, example: str,
            sources: Mapping[str, str] | None = None, said: Any = frozenset()) -> RunTable:
    """The run table of an importer's rows (one per run and step); errors name the run and step, not a row number
    of a table the user never saw, and the column by its logged name (tag, config key)."""
    wcols = [c for c in frame.columns if c.startswith(WEIGHT_PREFIX)]
    lcols = [c for c in frame.columns if c.startswith(LOSS_PREFIX)]
    if len(wcols) < 2 or not lcols:
        raise DataError(f"found {len(wcols)} mixture and {len(lcols)} loss column(s); map them with --columns "
                        f"(e.g. '{example}'); columns: {_show([str(c) for c in frame.columns])}", path=where)
    keys = ["run"] + [c for c in ("params", "step", "tokens") if c in frame.columns]
    frame = _collapse_steps(frame, keys)
    frame[wcols] = frame.groupby("run")[wcols].transform(lambda s: s.ffill().bfill())
    missing = frame[lcols].isna().any(axis=1)
    if missing.all():
        some = frame[lcols].notna().any(axis=1).any()
        why = ("; rows log some of them, never all at one step: log the evals at the same steps, or import the evals "
               "logged together (--columns)") if some and len(lcols) > 1 else ""
        raise DataError(f"no row has every eval loss ({', '.join((sources or {}).get(c, c) for c in lcols)}){why}",
                        path=where)
    if missing.any():
        frame = frame[_rows_with_every_eval(frame, lcols, where, sources=sources, said=said)].reset_index(drop=True)
    try:
        return RunTable(frame, path=where, weight_tol=weight_tol, lines=np.arange(len(frame)) + 1)
    except DataError as e:
        if e.row is None or not 1 <= e.row <= len(frame):
            raise
        row = frame.iloc[e.row - 1]
        at = f"run {row['run']!r}" + "".join(f", {k} {row[k]:g}" for k in ("params", "step", "tokens")
                                               if k in frame.columns and pd.notna(row[k]))
        column = (sources or {}).get(e.column or "", e.column)
        mapped = f" (mapped to {e.column})" if column != e.column else ""
        raise DataError(f"{at}: {e.detail}{mapped}", path=where, column=column) from None


# ---------------------------------------------------------------------- TensorBoard
def _warn_stopped_early(frame: pd.DataFrame, where: str) -> None:
    """Warn of the runs whose last logged step (any tag) comes before that of the other runs of their model size
    (``params``, when the map gives it): event files hold no run state, and a run killed or still training had its
    last losses imported as final ones without a word, where a W&B export's 'State' column is warned of. Runs that
    log no eval loss are left out of the import (and said so there), so not compared here."""
    lcols = [c for c in frame.columns if str(c).startswith(LOSS_PREFIX)]
    if "step" not in frame.columns or not lcols:
        return
    frame = frame[frame["run"].isin(frame.loc[frame[lcols].notna().any(axis=1), "run"])]
    if frame["run"].nunique() < 2:
        return
    last = pd.to_numeric(frame["step"], errors="coerce").groupby(frame["run"]).max()
    size = (frame.groupby("run")["params"].first().reindex(last.index) if "params" in frame.columns
            else pd.Series(np.nan, index=last.index))
    short: list[str] = []
    ends: set[float] = set()
    for _, group in last.groupby(size.fillna(-1.0)):  # runs of one size (of unknown size: one group)
        end = group.max()
        if len(group) > 1 and np.isfinite(end):
            behind = group[group < end]
            short += [f"{r!r} (last step {s:g})" for r, s in behind.items()]
            if len(behind):
                ends.add(float(end))
    if short:
        others = "the other runs" + (" of their model size" if "params" in frame.columns else "")
        reach = f"last step {', '.join(f'{e:g}' for e in sorted(ends))}"
        one = len(short) == 1
        warnings.warn(f"{where}: run{'' if one else 's'} {', '.join(short[:5])}{' ...' if len(short) > 5 else ''} "
                      f"end{'s' if one else ''} before {others} ({reach}): if {'it' if one else 'they'} stopped early "
                      "(killed, crashed, still training), " + UNFINISHED_ADVICE.format(rows="runs")
                      + " (runs trained shorter on purpose need no change)", DataWarning, stacklevel=user_stacklevel(3))


def runs_from_tensorboard(logdir: str | os.PathLike[str], *, columns: str | Mapping[str, Any] | None = None,
                          mixtures: str | os.PathLike[str] | None = None, weight_tol: float = WEIGHT_TOL,
                          progress: Any = None) -> RunTable:
    """Import TensorBoard event files: one run per folder holding ``events.out.tfevents.*`` files.

    Scalars become columns named by their tag, one row per step (``step``); the run is the folder's path
    under ``logdir``. The mixture comes from scalar tags (``--columns 'w:*=mixture/*'``) or from a
    ``mixtures`` table with ``run`` and ``w:<domain>`` columns, joined on the run name.
    """
    root = Path(logdir)
    if not root.is_dir():
        raise InputError(f"{logdir}: not a directory of TensorBoard runs")
    files = sorted(root.rglob("events.out.tfevents.*"))
    if not files:
        raise InputError(f"{logdir}: no events.out.tfevents.* files")
    by_run: dict[str, list[Path]] = {}
    for f in files:
        rel = f.parent.relative_to(root).as_posix()
        by_run.setdefault(rel if rel != "." else root.name, []).append(f)
    rows: list[dict[str, Any]] = []
    for run, paths in by_run.items():
        steps: dict[int, dict[str, Any]] = {}
        for f in paths:
            for step, tag, value in read_scalars(f):
                steps.setdefault(step, {"run": run, "step": step})[tag] = value
        rows.extend(steps[s] for s in sorted(steps))
        if progress is not None:
            progress(run)
    raw = pd.DataFrame(rows)
    frame = apply_column_map(raw, parse_column_map(columns), where=str(root))
    _warn_stopped_early(frame, str(root))
    sources = frame.attrs.get("source_columns", {})
    said = _logged_nan(rows, frame, str(root))
    if mixtures is not None:
        mix = _read_any(Path(mixtures))[0]
        wcols = [c for c in mix.columns if str(c).startswith(WEIGHT_PREFIX)]
        if "run" not in mix.columns or len(wcols) < 2:
            raise DataError("a mixtures table needs 'run' and w:<domain> columns", path=str(mixtures))
        mix = mix[["run"] + wcols].assign(run=lambda d: d["run"].astype(str))
        unknown = sorted(set(frame["run"]) - set(mix["run"]))
        if unknown:
            raise DataError(f"no mixture for run(s) {unknown[:5]}", path=str(mixtures))
        frame = frame.drop(columns=[c for c in wcols if c in frame.columns]).merge(mix, on="run", how="left")
    return _finish(frame, str(root), weight_tol, "w:*=mixture/*, loss:*=eval/*", sources, said)
