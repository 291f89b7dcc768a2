"""Column maps: a table whose columns have other names (a W&B or spreadsheet export, a JSONL training log) read
as a run table, its mixtures optionally joined from a table of their own; and the helpers every importer
shares (eval selection, rows without every loss, log rows merged per run and step)."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data import (
    LOSS_PREFIX,
    META_COLUMNS,
    TOL_OPTION,
    WEIGHT_PREFIX,
    WEIGHT_TOL,
    RunTable,
    count_values,
    flat_columns,
    known_names,
    long_format_hint,
    scale_look_alike,
    suggest_column_map,
    unfinished_runs,
)
from ..data.json_records import flatten_json_text, json_text_columns
from ..data.reading import _read_any, canonical_name
from ..errors import (
    NO_LABEL,
    DataError,
    DataWarning,
    InputError,
    UnusedDomainWarning,
    located,
    row_unit,
    rows_named,
    user_stacklevel,
)

_META = ("run", "params", "step", "tokens")
_GROUPS = {"weights": WEIGHT_PREFIX, "evals": LOSS_PREFIX}


# ---------------------------------------------------------------------- column maps
def parse_column_map(spec: str | Mapping[str, Any] | None) -> dict[str, str]:
    """A column map as ``{target: source}``, from inline text, a YAML/JSON file, or a mapping.

    Targets are ``run``, ``params``, ``step``, ``tokens``, ``w:<domain>`` and ``loss:<eval>``; a ``*`` in a
    target and its source matches every source column of that shape (the ``*`` part names the domain/eval).

    Examples
    --------
    >>> parse_column_map("run=Name, w:*=mix/*, loss:pile=eval/pile")
    {'run': 'Name', 'w:*': 'mix/*', 'loss:pile': 'eval/pile'}
    >>> parse_column_map({"weights": "mix/*", "evals": {"pile": "eval/pile"}, "step": "_step"})
    {'w:*': 'mix/*', 'loss:pile': 'eval/pile', 'step': '_step'}
    """
    if spec is None:
        return {}
    if isinstance(spec, str) and not spec.strip():
        raise InputError("--columns '' names no column; give target=source pairs or a YAML file")
    if isinstance(spec, str):
        p = Path(spec)
        if p.suffix.lower() in (".yaml", ".yml", ".json") or p.is_file():
            if not p.is_file():
                raise InputError(f"--columns {spec}: " + ("is a folder; expected a YAML (or JSON) column map file"
                                                          if p.is_dir() else "no such file"))
            import yaml

            try:
                doc = yaml.safe_load(p.read_text(encoding="utf-8"))  # not the locale's: names may be any script
            except yaml.YAMLError as e:
                raise InputError(f"{spec}: not valid YAML/JSON ({str(e).splitlines()[0]})") from None
            if not isinstance(doc, Mapping):
                raise InputError(f"{spec}: expected a mapping of target: source column")
            return parse_column_map(doc)
        out: dict[str, str] = {}
        for item in (x.strip() for x in spec.split(",")):
            if not item:
                continue
            target, sep, source = item.partition("=")
            if not sep or not target.strip() or not source.strip():
                raise InputError(f"--columns: expected target=source (e.g. w:web=mixture/web); got {item!r}")
            _add(out, target.strip(), source.strip())
        return out
    out = {}
    for key, val in spec.items():
        key = str(key)
        if key in _GROUPS:
            if isinstance(val, str):
                _add(out, _GROUPS[key] + "*", val)
            elif isinstance(val, Mapping):
                for name, src in val.items():
                    _add(out, _GROUPS[key] + str(name), str(src))
            else:
                raise InputError(f"column map: {key} must be a pattern like 'mixture/*' or a mapping name: column")
        else:
            if not isinstance(val, (str, int, float)):
                raise InputError(f"column map: the source of {key!r} must be a column name; got {val!r}")
            _add(out, key, str(val))
    return out


def _add(out: dict[str, str], target: str, source: str) -> None:
    if not (target in _META or target.startswith((WEIGHT_PREFIX, LOSS_PREFIX))):
        raise InputError(f"column map: unknown target {target!r}; targets are run, params, step, tokens, "
                         "w:<domain>, loss:<eval> (a * matches every column of a pattern)")
    if target.count("*") != source.count("*") or target.count("*") > 1 or (target in _META and "*" in source):
        raise InputError(f"column map: {target}={source}: use one * on both sides (w:*=mixture/*) or none")
    if target in out:
        raise InputError(f"column map: {target!r} given twice")
    out[target] = source


def apply_column_map(df: pd.DataFrame, mapping: Mapping[str, str], *, where: str = "") -> pd.DataFrame:
    """Rename/select the columns of ``df`` by ``mapping`` (see :func:`parse_column_map`); errors name ``where``."""
    cols = [str(c) for c in df.columns]
    df = df.set_axis(cols, axis=1)
    out: dict[str, pd.Series] = {}
    for target, source in mapping.items():
        if "*" not in target:
            if source not in cols:
                raise DataError(f"column map: no column {source!r} for {target!r}; columns: {_show(cols)}", path=where)
            out[target] = df[source]
            continue
        rx = re.compile("^" + re.escape(source).replace(r"\*", "(.+)") + "$")
        hits = [(c, m.group(1)) for c in cols if (m := rx.match(c))]
        if not hits:
            raise DataError(f"column map: no column matches {source!r} (for {target!r}); columns: {_show(cols)}",
                            path=where)
        for c, part in hits:
            name = target.replace("*", part)
            if name not in mapping:  # an explicit entry wins over a pattern
                out.setdefault(name, df[c])
    for c in cols:  # canonical names pass through, whatever their case and surrounding spaces (' Run ', 'W:Code')
        k = canonical_name(c)
        if (k in META_COLUMNS or k.startswith((WEIGHT_PREFIX, LOSS_PREFIX))) and k not in out:
            out[k] = df[c]
    frame = pd.DataFrame(out)
    # Each column's name in the file, for errors: "column 'w:web'" named a column the user's export does not have.
    frame.attrs["source_columns"] = {t: str(v.name) for t, v in out.items() if str(v.name) != t}
    return frame


def _show(cols: list[str], n: int = 12) -> str:
    return ", ".join(cols[:n]) + (f", ... ({len(cols)} in all)" if len(cols) > n else "")


def _select_evals(df: pd.DataFrame, evals: Sequence[str] | None, where: str) -> pd.DataFrame:
    """``df`` with the loss columns of ``evals`` alone (names with or without ``loss:``; all of them if None).

    Why: ``drop_incomplete`` leaves out every row that misses any eval. On a sweep whose one eval failed at a few
    checkpoints, a user fitting another eval lost those rows too; importing the evals they fit keeps every row
    that has them.
    """
    if evals is None:
        return df
    have = [str(c)[len(LOSS_PREFIX):] for c in df.columns if str(c).startswith(LOSS_PREFIX)]
    want = list(dict.fromkeys(str(e).strip().removeprefix(LOSS_PREFIX) for e in evals if str(e).strip()))
    if not want:
        raise InputError("--evals names no eval; give one or more eval names (comma-separated)")
    unknown = [e for e in want if e not in have]
    if unknown:
        raise DataError(f"--evals: no loss column for {', '.join(map(repr, unknown))}; the table has "
                        f"{known_names(unknown, have)}", path=where)
    drop = [LOSS_PREFIX + e for e in have if e not in want]
    out = df.drop(columns=drop)
    out.attrs.update(df.attrs)
    return out


def _drop_incomplete(df: pd.DataFrame, lines: Any, where: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Leave out the rows that miss a loss (an eval that failed at a checkpoint), with a warning that counts them.

    Every loss column of ``df`` counts; import only the evals you fit
    (:func:`_select_evals`) to keep the rows that miss another one. The warning says how many rows each eval alone
    would keep when that is more.
    """
    lines = np.asarray(lines)
    lcols = [c for c in df.columns if str(c).startswith(LOSS_PREFIX)]
    if not lcols:
        return df, lines  # the table's own check says that a loss column is needed
    losses = df[lcols].apply(pd.to_numeric, errors="coerce")
    # Only empty or NaN cells count as missing; text that is not a number stays, for the table's own error. An
    # infinite loss (a diverged run's eval) has no value either; the table's error for it names this fix.
    empty = losses.isna() & ~df[lcols].apply(lambda col: col.map(_is_text))
    infinite = losses.apply(np.isinf)
    missing = (empty | infinite).any(axis=1)
    if missing.all():
        raise DataError(f"no row has every eval loss ({_show(lcols)})", path=where)
    if missing.any():
        # Which evals were missing, counted as the import's summary counts them without --drop-incomplete.
        miss = losses[missing].isna() | infinite[missing]
        per = "; ".join(f"{word}: " + ", ".join(f"{c} {int(k)}" for c, k in cells.sum().items() if k)
                        for word, cells in (("missing", empty), ("infinite", infinite)) if cells.to_numpy().any())
        # The evals that would keep more rows if imported alone (all the evals of the table count here).
        alone = ", ".join(f"--evals {c[len(LOSS_PREFIX):]} keeps {len(df) - int(k)}"
                          for c, k in miss.sum().items() if len(lcols) > 1 and len(df) - int(k) > int((~missing).sum()))
        warnings.warn(f"{where}: left out {int(missing.sum())} of {len(df)} rows without every eval loss "
                      f"({per})" + (f"; to keep the rows that have the evals you fit, import those alone "
                                             f"({alone})" if alone else ""), DataWarning, stacklevel=user_stacklevel(3))
    keep = ~missing.to_numpy()
    return df[keep].reset_index(drop=True), lines[keep]


def _rows_with_every_eval(frame: pd.DataFrame, lcols: list[str], where: str, *,
                          sources: Mapping[str, str] | None = None, said: Any = frozenset(),
                          partial_ok: bool = False) -> np.ndarray:
    """Which rows of a log read as a run table to keep: those with every eval loss (a boolean mask).

    A training log has many rows that log no eval loss at all (the training-loss steps between evals, a config
    record): they are left out without a word. Every TensorBoard import warned "left out N rows without every eval
    loss" for them (evals logged at other steps than the training loss), which told a user nothing and hid the
    cases that do: one warning, with the reason, names the rows that log some eval losses but not all (evals
    logged at different steps: a run loses evals it logged) and the runs that log no eval loss at all (a --columns
    pattern that missed their tags?). Rows in ``said`` ((run, step) already named, e.g. losses logged as NaN) are
    not counted again. ``partial_ok``: rows with some losses are kept for the table's own error (a JSONL log,
    where --drop-incomplete is the fix the table names).
    """
    has = frame[lcols].notna().to_numpy()
    complete, some = has.all(axis=1), has.any(axis=1)
    runs = frame["run"].astype(str).to_numpy()
    steps = frame["step"].to_numpy() if "step" in frame.columns else np.full(len(frame), None)
    name = dict(sources or {})
    parts = []
    partial = some & ~complete & np.array([(r, _step_key(t)) not in said for r, t in zip(runs, steps, strict=True)],
                                          dtype=bool)
    if partial.any() and not partial_ok:
        eg = []
        for i in np.flatnonzero(partial)[:3]:
            got = [name.get(c, c) for c, h in zip(lcols, has[i], strict=True) if h]
            miss = [name.get(c, c) for c, h in zip(lcols, has[i], strict=True) if not h]
            at = f"run {runs[i]!r}" + ("" if steps[i] is None or pd.isna(steps[i]) else f" step {steps[i]:g}")
            eg.append(f"{at} logs {_show(got, 3)}, not {_show(miss, 3)}")
        n = int(partial.sum())
        if "step" in frame.columns:
            parts.append(f"left out {n} (run, step) row{'s' if n > 1 else ''} that log{'' if n > 1 else 's'} some "
                         "eval losses but not all "
                         f"({'; '.join(eg)}{' ...' if n > 3 else ''}): a row of a run table needs every eval's loss "
                         "at one step, and these evals were logged at different steps; log them at the same steps, "
                         "or import the evals logged together (--columns)")
        else:  # one row per run (a W&B summary): the run misses an eval
            parts.append(f"left out {n} run{'s' if n > 1 else ''} that log{'' if n > 1 else 's'} some eval losses "
                         "but not all "
                         f"({'; '.join(eg)}{' ...' if n > 3 else ''}): a run table needs every eval's loss; import "
                         "the evals every run logged (--columns)")
        lost = sorted(set(runs[partial]) - set(runs[complete]))
        if lost and "step" in frame.columns:
            parts.append(f"run{'s' if len(lost) > 1 else ''} {_show([repr(r) for r in lost], 5)} "
                         f"lose{'' if len(lost) > 1 else 's'} every row")
    kept = complete | (some & partial_ok)
    silent = sorted(set(runs) - set(runs[some]) - {r for r, _ in said})  # NaN-logged runs were named already
    if silent and kept.any():
        many = len(silent) > 1
        parts.append(f"run{'s' if many else ''} {_show([repr(r) for r in silent], 5)} log{'' if many else 's'} "
                     f"none of the eval losses ({_show([name.get(c, c) for c in lcols], 5)}) and "
                     f"{'are' if many else 'is'} left out: does the --columns map match their tags?")
    if parts:
        warnings.warn(f"{where}: " + "; ".join(parts), DataWarning,
                      stacklevel=user_stacklevel(4))  # the importer's caller
    return kept


def _step_key(step: Any) -> Any:
    """A step as the key of a (run, step) set: logged steps are ints, table steps floats, a missing one None."""
    if step is None or (isinstance(step, float) and np.isnan(step)):
        return None
    try:
        return float(step)
    except (TypeError, ValueError):
        return step


def _merge_log_rows(df: pd.DataFrame, lines: np.ndarray, where: str, hint: str = "", *,
                    labels: Sequence[Any] | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """A training log (one record per logging call) as a run table, as the W&B and TensorBoard importers read theirs.

    A JSONL log that gave the mixture once (a config record at step 0) and each eval on its own record stopped at
    "weight is nan" on its first eval line. When some rows carry no mixture at all, or one (run, step) is spread
    over several rows, the rows of a (run, params, step, tokens) are merged (each column's one value; rows whose
    values conflict are left for the table's duplicate check), each run's rows without a mixture take the run's,
    and rows that log no eval loss at all (the config record, training-loss steps) are left out with a warning.
    Each merged row keeps the line of its first record. A table without such rows is returned unchanged.
    ``hint`` ends the error for two values at one (run, step), e.g. why the rows share a run. ``labels``: a
    DataFrame's index labels, ``lines`` then its rows' 0-based positions (:func:`~mixlaw.errors.rows_named`).
    """
    wcols = [c for c in df.columns if str(c).startswith(WEIGHT_PREFIX)]
    lcols = [c for c in df.columns if str(c).startswith(LOSS_PREFIX)]
    if "run" not in df.columns or not wcols or not lcols:
        return df, lines
    keys = ["run"] + [c for c in ("params", "step", "tokens") if c in df.columns]
    if "params" in df.columns and df["params"].isna().any():
        # The model size given once, in the config record beside the mixture ({"config": {"mixture": ...,
        # "n_params": 56640}}), is the run's on every record, as its mixture is: mapped to params it stopped at
        # "params is nan" on the log's first training-loss line. A run logged at several sizes (one run name
        # trained at 70M, then 160M, a config record opening each part) gives each record the size of the last
        # config record (a size and no eval loss) before it; left as it was, it crashed on two records at one step
        # (review34c). A blank size beside sizes on eval rows (a table, not a log) is left for the check to name.
        # Sizes are compared as counts ('70M' and 7e7 are one size).
        size, run = count_values(df["params"]), df["run"]
        one = size.groupby(run, sort=False, dropna=False).transform(lambda col: col.dropna().nunique() == 1)
        same = size.groupby(run, sort=False, dropna=False).transform(lambda col: col.ffill().bfill())
        config = size.where(df[lcols].isna().all(axis=1)).groupby(run, sort=False, dropna=False).ffill()
        df = df.assign(params=df["params"].where(df["params"].notna(), same.where(one.astype(bool), config)))
    no_mix = df[wcols].isna().all(axis=1)
    spread = df.duplicated(keys, keep=False)
    if not (no_mix.any() or spread.any()):
        return df, lines
    attrs = dict(df.attrs)
    work = df.assign(_line=lines)
    groups = work.groupby(keys, sort=False, dropna=False)
    values = [c for c in work.columns if c not in keys and c != "_line"]
    conflict = groups[values].nunique(dropna=True) > 1
    if conflict.to_numpy().any():
        # Two values for one run and step: merging would keep one silently; name both records instead.
        key, col = next((k, c) for k, row in conflict.iterrows() for c in values if row[c])
        # NaN == NaN is False: a key with a missing size or step matched no row, and unpacking two crashed.
        same = [(work[k] == v) | (work[k].isna() & pd.isna(v))
                for k, v in zip(keys, key if isinstance(key, tuple) else (key,), strict=True)]
        rows = work[np.logical_and.reduce(same) & work[col].notna()]
        at = ", ".join(f"{k} {v}" for k, v in zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        name = attrs.get("source_columns", {}).get(col, col)
        first, second = (int(x) for x in rows["_line"].iloc[:2])

        def on(x: int) -> str:
            return rows_named(where, [x], None if labels is None else [labels[x]])

        raise DataError(f"two values for one run and step ({at}): {rows[col].iloc[0]} on {on(first)}, "
                        f"{rows[col].iloc[1]} on {on(second)}{hint}", path=where, row=second, column=name,
                        label=NO_LABEL if labels is None else labels[second])
    work = groups.first().reset_index()
    work[wcols] = work.groupby("run", sort=False)[wcols].transform(lambda col: col.ffill().bfill())
    no_eval = work[lcols].isna().all(axis=1)
    if no_eval.all():
        raise DataError(f"no record of the log has an eval loss ({_show(lcols)})", path=where)
    # The records that log no eval (config, training loss) are left out silently; a run that logs none is named.
    work = work[_rows_with_every_eval(work, lcols, where, sources=attrs.get("source_columns"), partial_ok=True)]
    out_lines = work.pop("_line").to_numpy()
    work = work[list(df.columns)].reset_index(drop=True)
    work.attrs.update(attrs)
    return work, out_lines


def _is_text(v: Any) -> bool:
    """A cell that holds text other than a missing-value marker (so not a missing loss, but a wrong one)."""
    return isinstance(v, str) and v.strip().lower() not in ("", "nan", "na", "null", "none")


def read_runs_mapped(path: str | os.PathLike[str] | pd.DataFrame, columns: str | Mapping[str, Any] | None, *,
                     weight_tol: float = WEIGHT_TOL, drop_incomplete: bool = False,
                     evals: Sequence[str] | None = None, mixtures: str | os.PathLike[str] | None = None,
                     on: str = "run") -> RunTable:
    """Read a CSV/Parquet/JSONL table whose columns have other names (a W&B or spreadsheet export).

    ``evals`` keeps the loss columns of those evals alone (all of them by default). ``drop_incomplete`` leaves
    out, with a warning, the rows that miss one of the kept losses (without it such a row is kept, its missing
    loss NaN, and a fit of an eval uses the rows that have it) or have one infinite (without it an error): a row
    that misses only an eval left out by ``evals`` stays. ``mixtures``: a table (CSV/Parquet/JSONL) of the
    mixtures, one row per value of the key column ``on`` with its ``w:<domain>`` shares, joined to this table's
    rows on their ``on`` column (:func:`join_mixtures`): a sweep that names its runs by recipe. Without a ``run``
    column (or ``--columns run=...``), the key is the run (its model size and step tell its rows apart).

    ``path`` may be a pandas DataFrame already in memory (a notebook's own table): its columns are mapped the same
    way, e.g. ``read_runs_mapped(df, "run=name, params=n_params, w:*=mix_*, loss:*=val_*")``; errors name its
    rows by their index labels and 0-based positions (:func:`~mixlaw.errors.rows_named`), not as a CSV's lines.
    ``mixtures`` then is not taken (merge the frames first).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"name": ["a", "b"], "mix_web": [0.3, 0.8], "mix_code": [0.7, 0.2],
    ...                    "val_web": [3.1, 2.9]})
    >>> t = read_runs_mapped(df, "run=name, w:*=mix_*, loss:*=val_*")
    >>> t.domains, t.evals
    (['web', 'code'], ['web'])
    """
    mapping = parse_column_map(columns)
    merge_hint = ""
    text = ([mapping["run"]] if "run" in mapping else []) + ([on] if mixtures is not None else [])
    if isinstance(path, pd.DataFrame):
        # A frame in a notebook had no way in: the map read files only, and fit / fit_pipeline want the run
        # table's own column names.
        if mixtures is not None:
            raise InputError("read_runs_mapped: mixtures= joins a file's runs; with a DataFrame, merge the "
                             "mixtures into it first (pandas.merge)")
        flat_columns(path, "read_runs_mapped")
        # Its rows are named by index label and position ('lines' holds the positions): named as a CSV's lines
        # (position + 2), "DataFrame:3" was the second row, whatever the frame's index.
        labels = path.index.tolist()
        df = path.reset_index(drop=True)
        lines = np.arange(len(df))
        p = Path("DataFrame")
    else:
        labels = None
        p = Path(path)
        df, lines = _read_any(p, text_columns=text)
    df, lines = flatten_json_text(df, lines, p, mapping.values())
    if mixtures is not None:
        if any(t.startswith(WEIGHT_PREFIX) for t in mapping):
            raise InputError(f"--columns maps mixture columns ({', '.join(t for t in mapping if t.startswith('w:'))})"
                             f" and --mixtures-table gives them: give one")
        # The losses' key may be a column the map names as 'on' (--columns run=index, --on run by default): the
        # map's, as without --mixtures-table, even beside a column named 'on' that it leaves out.
        key = mapping.get(on)
        df = join_mixtures(df, lines, p, mixtures, on, weight_tol=weight_tol,
                           key=key if isinstance(key, str) and key != on and key in df.columns else None)
        if "run" not in df.columns and "run" not in mapping:
            df.insert(0, "run", df[on].astype(str))  # the recipe is the run; its size and step tell its rows apart
            # Seeds of one recipe (DataDecide has 3) then share a run, and the conflict named 'run dolma', a run
            # the file does not have, with no word of why.
            merge_hint = (f"; the losses have no run column, so their {on} is the run: if such rows are seeds or "
                          f"repeats, give the losses a run column that names each (e.g. {on} and seed)")
    source = df
    df = apply_column_map(df, mapping, where=str(p))
    _check_mapped(df, source, str(p), given=columns is not None)
    # A model size (step) the map leaves out was dropped: the rows of every size were then one run's, or one loss
    # surface, in the table written (Dai & Zheng's 'model_size' imported with a map of weights and losses alone).
    used = set(mapping.values()) | set(df.attrs.get("source_columns", {}).values()) | set(map(str, df.columns))
    left = [str(c) for c in source.columns if str(c) not in used]
    if (hit := scale_look_alike(source.set_axis([str(c) for c in source.columns], axis=1), left,
                                set(map(str, df.columns)))) is not None:
        column, canon, said = hit
        raise DataError(f"{said}: map it, --columns '{canon}={column}' (added to any other entries), or drop it if it "
                        "is not that; left out, the rows of every value would be imported as one", path=str(p),
                        column=column)
    if not any(str(c).strip().lower() in ("state", "status") for c in df.columns):  # else RunTable warns
        # The map leaves a W&B export's 'State' out of the table written: said here, on the file's lines.
        if (line := unfinished_runs(source, lines, str(p), labels=labels)) is not None:
            warnings.warn(line, DataWarning, stacklevel=user_stacklevel(2))
    df = _select_evals(df, evals, str(p))
    df, lines = _merge_log_rows(df, np.asarray(lines), str(p), merge_hint, labels=labels)
    if drop_incomplete:
        df, lines = _drop_incomplete(df, lines, str(p))
    numbered = "run" not in df.columns
    if numbered:
        df = _number_runs(df, str(p))
    sources = df.attrs.get("source_columns", {})
    try:
        # A frame comes from Python only: its error names the keyword alone (a file's names the flag too).
        return RunTable(df, path=str(p), weight_tol=weight_tol, lines=lines,
                        tol_option="weight_tol=" if isinstance(path, pd.DataFrame) else TOL_OPTION,
                        labels=None if labels is None else [labels[i] for i in lines])
    except DataError as e:
        # The table's hint for rows that miss a loss is a command to rerun; without the map it stops at the
        # columns instead (found on Dai & Zheng's CSV, 6 rows without a loss, imported with --columns).
        hint = f"mixlaw runs import {p} --drop-incomplete"
        detail = e.detail
        if isinstance(path, pd.DataFrame):  # no file to import: the same call, leaving those rows out
            detail = re.sub(re.escape(hint) + r"[^']*", "read_runs_mapped(df, columns, drop_incomplete=True)", detail)
        elif columns is not None and isinstance(columns, str) and hint in detail:
            detail = detail.replace(hint, f"mixlaw runs import {p} --columns \"{columns}\" --drop-incomplete")
        column = e.column
        others = [str(c)[len(LOSS_PREFIX):] for c in df.columns if str(c).startswith(LOSS_PREFIX) and c != column]
        if str(column).startswith(LOSS_PREFIX) and detail.startswith("loss is ") and others:
            # One eval of a benchmark table can be 0 (bigcodebench_hard in ADMIRE-BayesOpt's IFT runs): the import
            # stopped on it with no word that the other evals import without it.
            keep = ",".join(others)
            detail = (f"{detail}; or import the other evals without it: "
                      + ("" if isinstance(path, pd.DataFrame) else f"--evals {keep} ") + f"(evals={others!r})")
        if numbered and column == "run" and detail.startswith("duplicate run"):
            # The file has no run column: the error named column 'run' and a run 'mix0_N1.22e+08' that are not in
            # it (found on Dai & Zheng's sweep with a row given twice).
            column = None
            detail = (f"{detail}; the file has no run column, so each mixture and model size was numbered as one "
                      "run and these two rows are one of its checkpoints given twice (to keep both, as seeds or "
                      "repeats, map a column that names each run: --columns run=<column>)")
        if column in sources:  # the file's own name for the column, which the user can find in it
            column, detail = sources[column], f"{detail} (mapped to {column})"
        if (detail, column) == (e.detail, e.column):
            raise
        raise DataError(detail, path=e.path, row=e.row, column=column,
                        label=e.label if e.unit == "position" else NO_LABEL) from None


def join_mixtures(losses: pd.DataFrame, lines: Any, path: str | os.PathLike[str], mixtures: str | os.PathLike[str],
                  on: str, *, weight_tol: float = WEIGHT_TOL, key: str | None = None) -> pd.DataFrame:
    """``losses`` (read from ``path``, each row's editor line in ``lines``) with the ``w:<domain>`` columns of
    the ``mixtures`` table's row whose ``on`` column holds the same key, after the key column. ``key`` names the
    losses' own key column when it is not ``on`` (``--columns run=index``: the losses name their runs 'index').

    A DataDecide-style sweep records losses per (recipe, size, step) and each recipe's domain shares in a table
    of its own. The mixtures are validated as a run table's weights are (numbers >= 0 summing to 1 within
    ``weight_tol``; rows within it renormalised, with a warning), each error naming the file, line and column.
    DataError for: a key column missing from either table, an empty key, a key given twice in ``mixtures``, a
    key of ``losses`` with no row in ``mixtures``, ``losses`` with ``w:`` columns of its own. Rows of
    ``mixtures`` whose key has no losses are left out with a warning naming them.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> d = tempfile.mkdtemp()
    >>> pd.DataFrame({"recipe": ["web", "mix"], "w:web": [1.0, 0.5], "w:code": [0.0, 0.5]}).to_csv(
    ...     f"{d}/recipes.csv", index=False)
    >>> losses = pd.DataFrame({"recipe": ["mix", "web"], "step": [100, 100], "loss:pile": [3.1, 3.3]})
    >>> join_mixtures(losses, [2, 3], "losses.csv", f"{d}/recipes.csv", "recipe")
      recipe  w:web  w:code  step  loss:pile
    0    mix    0.5     0.5   100        3.1
    1    web    1.0     0.0   100        3.3
    """
    mp, lp = Path(mixtures), str(path)
    if key is not None and key != on:
        # Joined under the mixtures' name for the key, then given back the losses' own name (which the map reads);
        # a losses column of the key's name, which the map leaves out, is set aside meanwhile and kept as it was.
        aside = f"\0{on}"
        try:
            joined = join_mixtures(losses.rename(columns={on: aside}).rename(columns={key: on}), lines, path,
                                   mixtures, on, weight_tol=weight_tol)
        except DataError as e:
            if e.path != lp or e.column != on:
                raise
            # A cell of the losses' key, named by the file's own column: 'column 'run'' for --columns run=index
            # sent the user to a column their file does not have.
            raise DataError(f"{e.detail} (mapped to {on})", path=e.path, row=e.row, column=key,
                            label=e.label if e.unit == "position" else NO_LABEL) from None
        return joined.rename(columns={on: key}).rename(columns={aside: on})
    mix, mlines = _read_any(mp, text_columns=[on])  # after the branch above, which reads it in its own call
    lines = np.asarray(lines)
    own = [str(c) for c in losses.columns if str(c).startswith(WEIGHT_PREFIX)]
    if own:
        raise DataError(f"the table has mixture columns of its own ({_show(own)}) and --mixtures-table {mp} gives "
                        "them too: drop one", path=lp, column=own[0])
    for df, where in ((losses, lp), (mix, str(mp))):
        if on not in df.columns:
            raise DataError(f"no key column {on!r} to join the mixtures on (--on); columns: "
                            f"{_show([str(c) for c in df.columns])}", path=where)
    wcols = [str(c) for c in mix.columns if str(c).startswith(WEIGHT_PREFIX)]
    if len(wcols) < 2:
        # A recipes table whose share columns are bare domain names (recipe, arxiv, freelaw, ...) got this line and
        # nothing more; --columns 'w:*=*' then said "--columns maps mixture columns (w:*) and --mixtures-table gives
        # them: give one", so the way out was left to guess.
        bare = [str(c) for c in mix.columns if str(c) != on and not str(c).startswith((WEIGHT_PREFIX, LOSS_PREFIX))
                and pd.api.types.is_numeric_dtype(mix[c])]
        hint = (f": its columns {_show(bare)} hold numbers; if they are the shares, name them w:<domain> in "
                f"{mp.name} ('{bare[0]}' -> 'w:{bare[0]}'); --columns maps the losses file's columns, not this table's"
                if len(bare) >= 2 and not wcols else "")
        raise DataError(f"a mixtures table needs {on!r} and one w:<domain> column per domain (2 or more); found "
                        f"{len(wcols)} among {_show([str(c) for c in mix.columns])}{hint}", path=str(mp))
    for df, rows, where in ((losses, lines, lp), (mix, mlines, str(mp))):
        empty = df[on].isna().to_numpy() | (df[on].astype(str).str.strip() == "").to_numpy()
        if empty.any():
            raise DataError(f"empty key: every row needs a value in {on!r} to join the mixtures on", path=where,
                            row=int(rows[int(np.flatnonzero(empty)[0])]), column=on)
    keys = mix[on].astype(str)
    again = keys.duplicated().to_numpy()
    if again.any():
        i = int(np.flatnonzero(again)[0])
        first = int(mlines[int(np.flatnonzero((keys == keys.iloc[i]).to_numpy())[0])])
        raise DataError(f"key {keys.iloc[i]!r} appears again (first on {row_unit(mp)} {first}): one row per {on}",
                        path=str(mp), row=int(mlines[i]), column=on)
    # Validated as a run table's weights, against this file's own lines (a placeholder loss column).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedDomainWarning)  # said once, of the joined table
        probe = RunTable(pd.DataFrame({"run": keys.to_numpy(), **{c: mix[c].to_numpy() for c in wcols},
                                       "loss:_": 1.0}), path=str(mp), weight_tol=weight_tol, lines=mlines)
    shares = probe.frame[wcols].set_axis(keys.to_numpy())
    lkeys = losses[on].astype(str)
    unknown = ~lkeys.isin(shares.index).to_numpy()
    if unknown.any():
        names = list(dict.fromkeys(lkeys[unknown]))
        raise DataError(f"{on} {names[0]!r} has no row in {mp}"
                        f"{f' ({len(names)} unknown: {_show(names, 5)})' if len(names) > 1 else ''}; its "
                        f"{on}s are {known_names(names, list(keys))}", path=lp,
                        row=int(lines[int(np.flatnonzero(unknown)[0])]), column=on)
    unused = ~keys.isin(set(lkeys)).to_numpy()
    if unused.any():
        warnings.warn(f"{located(mp, int(mlines[int(np.flatnonzero(unused)[0])]))}: {int(unused.sum())} of {len(keys)} "
                      f"mixture(s) have no losses in {lp} and are left out (first: {on} "
                      f"{keys[unused].iloc[0]!r})", DataWarning, stacklevel=user_stacklevel(3))
    out = losses.copy()
    joined = shares.loc[lkeys.to_numpy()].to_numpy()
    at = list(out.columns).index(on) + 1  # the shares next to their key, as a hand-written table has them
    for j, c in enumerate(wcols):
        out.insert(at + j, c, joined[:, j])
    return out


def _check_mapped(df: pd.DataFrame, source: pd.DataFrame, where: str, *, given: bool) -> None:
    """Stop, naming the file's own columns, when the (mapped) table lacks weights or losses.

    Found importing Dai & Zheng's SlimPajama CSV without ``--columns``: the error listed the columns left after
    mapping, "found columns []", for a file of 17, and gave a map for a W&B export rather than one that fits.
    """
    wcols = [c for c in df.columns if str(c).startswith(WEIGHT_PREFIX)]
    lcols = [c for c in df.columns if str(c).startswith(LOSS_PREFIX)]
    if len(wcols) >= 2 and lcols:
        return
    need = ([f"{len(wcols)} 'w:<domain>' weight column(s) (at least 2 needed)"] if len(wcols) < 2 else []) + \
        (["no 'loss:<eval>' column"] if not lcols else [])
    source_cols = [str(c) for c in source.columns]
    guess = suggest_column_map(source_cols)
    how = (f"; these columns fit --columns '{guess}'" if guess else
           "; map them with --columns, e.g. --columns 'run=Name,w:*=mixture/*,loss:*=eval/*/loss'")
    if len(wcols) < 2 and (objs := json_text_columns(source)):
        # A CSV cell of JSON text is read as one column; the map names its keys (flatten_json_text).
        how += f"; the column {objs[0]!r} holds JSON objects, whose keys a map names as {objs[0]}/<key> " \
               f"(w:*={objs[0]}/* for a mixture)"
    # On the file's own columns (the map keeps only those it names): its run, params, step, tokens are the key.
    named = df.attrs.get("source_columns", {})
    key = [named.get(c, c) for c in _META if c in df.columns]
    long = None if lcols else long_format_hint(source, source_cols, [k for k in key if k in source_cols])
    if long is not None:  # a map renames columns; it cannot turn the eval rows into columns
        how = f". {long}"
    raise DataError(f"{'with this --columns map' if given else 'without --columns'} the table has "
                    f"{' and '.join(need)} (the file's columns: {_show(source_cols)}){how}", path=where)


def _number_runs(df: pd.DataFrame, where: str) -> pd.DataFrame:
    """Run ids for a table without any: one run per mixture and model size, its checkpoints the rows that
    differ in step/tokens (what the pipeline calls a curve), or one run per row without those columns.

    Found importing Dai & Zheng's SlimPajama sweep (weight_*, model_size, n_tokens, *_loss; no run column):
    the import stopped at "missing 'run'", and no column of the table could be mapped to one.
    """
    wcols = [c for c in df.columns if str(c).startswith(WEIGHT_PREFIX)]
    if not wcols or df.empty:
        return df  # the table's own check names what is missing
    over_time = [c for c in ("step", "tokens") if c in df.columns]
    if over_time:
        key = df[wcols].apply(pd.to_numeric, errors="coerce").round(12)
        if "params" in df.columns:
            key = key.assign(params=count_values(df["params"]))
        group = key.groupby(list(key.columns), sort=False, dropna=False).ngroup().to_numpy()
        ids = [f"mix{g}" for g in group]
        if "params" in df.columns:
            ids = [f"{i}_N{n:.4g}" for i, n in zip(ids, key["params"], strict=True)]
        how = "one run per mixture" + (" and model size" if "params" in df.columns else "") + \
            f", its checkpoints the rows of different {'/'.join(over_time)}"
    else:
        ids = [f"row{i}" for i in range(len(df))]
        how = "one run per row"
    warnings.warn(f"{where}: no run column; numbered the runs ({how}: {len(set(ids))} runs in {len(df)} rows); "
                  "map a column that names them with --columns run=<column>", DataWarning,
                  stacklevel=user_stacklevel(3))
    return df.assign(run=ids)[["run"] + list(df.columns)]
