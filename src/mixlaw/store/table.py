"""The run-table format the store exports (DESIGN §2), and writing a table to disk atomically.

One row per (run, checkpoint): ``run``, ``w:<domain>``..., ``loss:<domain>``..., ``params``, ``step``,
``tokens``. :func:`run_table_rows` builds one run's rows (the store's export and the trainer's in-memory
results both use it), and :func:`write_table` writes a table as Parquet, CSV or JSONL through a temp file and
a rename (:mod:`mixlaw._atomic`), so a reader never sees half a file and a killed writer's temp file is swept
by the next write. Nothing here knows about SQLite.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .._atomic import atomic_target, check_table_suffix, why_unwritable
from ..data.json_records import jsonl_text
from ..data.schema import whole_counts
from ..errors import InputError


def run_table_rows(run_id: str, mixture: dict[str, float], model_params: int,
                   checkpoints: Iterable[tuple[int, int, dict[str, float]]]) -> pd.DataFrame:
    """Rows of one run in the run-table format of DESIGN §2, one per checkpoint.

    Parameters
    ----------
    run_id : str
    mixture : dict of str to float
        Training weight of every domain (the ``w:<domain>`` columns, in this order).
    model_params : int
        Non-embedding parameter count (``params``).
    checkpoints : iterable of (step, tokens, losses)
        ``losses`` maps eval domain to validation loss (the ``loss:<domain>`` columns).

    Returns
    -------
    pandas.DataFrame
        Columns ``run``, ``w:<d>``..., ``loss:<d>``..., ``params``, ``step``, ``tokens``.
    """
    rows = []
    for step, tokens, losses in checkpoints:
        row: dict[str, Any] = {"run": run_id}
        row.update({f"w:{d}": float(w) for d, w in mixture.items()})
        row.update({f"loss:{d}": float(v) for d, v in losses.items()})
        row.update({"params": int(model_params), "step": int(step), "tokens": int(tokens)})
        rows.append(row)
    columns = ["run", *(f"w:{d}" for d in mixture)]
    if rows:
        columns += [c for c in rows[0] if c.startswith("loss:")]
    columns += ["params", "step", "tokens"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"params": "int64", "step": "int64", "tokens": "int64"})


def run_labels(names: Mapping[str, str | None]) -> dict[str, str]:
    """The ``run`` value each run gets in an exported table: its name, else its id.

    A name that several runs share (one design row swept at several token counts or seeds into one store, or two
    design rows of one name) gets the first 8 hex digits of each run's id appended (``web-200k-3f2a9c1e``), so
    every label stays unique; an unnamed run is labelled by its id.

    Parameters
    ----------
    names : mapping of str to str or None
        Every run id of the store (not only those exported, so that a label does not depend on which runs an
        export includes) to its name, or None.

    Returns
    -------
    dict of str to str
        Run id to label, one distinct label per run.

    Examples
    --------
    >>> run_labels({"3f2a9c1e0a": "web", "77aa00000b": "web", "0b1c00000c": "code", "9d9d00000d": None})
    {'3f2a9c1e0a': 'web-3f2a9c1e', '77aa00000b': 'web-77aa0000', '0b1c00000c': 'code', '9d9d00000d': '9d9d00000d'}
    """
    shared = Counter(n for n in names.values() if n)
    labels = {rid: rid if not n else n if shared[n] == 1 else f"{n}-{rid[:8]}" for rid, n in names.items()}
    # A label can still clash with another run's (a name that reads as another run's id or suffixed name): those
    # runs fall back to their ids, which are unique. A name that reads as any other run's id falls back first:
    # else the run it clashed with took its id back while a third run named after the first's id kept that label.
    labels = {rid: rid if label != rid and label in names else label for rid, label in labels.items()}
    clash = Counter(labels.values())
    return {rid: rid if clash[label] > 1 else label for rid, label in labels.items()}


#: A size suffix that a sweep appends to a design row's name (``-200k``, ``-1.5M``; see mixlaw.sweep).
_SIZE_SUFFIX = re.compile(r"-[0-9.]+[kMB]$")


def label_order(label: str, params: int) -> tuple[Any, ...]:
    """Sort key of an exported run: its name without a size suffix in natural order (``dd-2`` before ``dd-10``),
    then its model size (``-500k`` before ``-1M``), then the label itself.

    >>> sorted(["w-2M", "w-500k", "dd-10", "dd-2"], key=lambda s: label_order(s, {"w-2M": 2, "w-500k": 1}.get(s, 0)))
    ['dd-2', 'dd-10', 'w-500k', 'w-2M']
    """
    def natural(text: str) -> list[Any]:
        # re.split with a group alternates text and digits, so the lists compare item by item without a type clash.
        return [int(t) if k % 2 else t for k, t in enumerate(re.split(r"(\d+)", text))]

    return natural(_SIZE_SUFFIX.sub("", label)), int(params), natural(label)


def shared_names_warning(shared: Iterable[str], *, where: str, giver: str, given: str, fix: str) -> str:
    """The one warning for names that several runs share, which :func:`run_labels` exports as
    ``<name>-<first 8 id digits>``: a sweep's design (``giver="the design", given="rows"``) says it before
    training, ``runs export`` (``"the store"``, ``"runs"``) when it renames them (it did so without a word)."""
    names = list(shared)
    return (f"{where}{giver} gives the name(s) {names[:5]}{' ...' if len(names) > 5 else ''} to several {given}: "
            f"their runs are exported as <name>-<first 8 id digits> ({fix})")


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str], option: str = "path") -> Path:
    """Write a run table as Parquet, CSV or JSONL (by suffix: :data:`mixlaw._atomic.TABLE_SUFFIXES`, any other
    an error naming ``option``) via a temp file and ``os.replace``.

    A reader never sees a half-written file, and a crash leaves the previous version in place. Whole model sizes,
    steps and token counts are written as integers (:func:`~mixlaw.data.schema.whole_counts`), as the store's rows
    hold them.

    Raises
    ------
    InputError
        For an unknown suffix or an unwritable destination.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    check_table_suffix(path, option)
    frame = whole_counts(frame)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise InputError(f"cannot write {str(path)!r}: it exists and is not a regular file (a folder, symlink, "
                         f"device or FIFO would be replaced); choose another path")
    try:
        with atomic_target(path) as tmp:  # no temp file survives a full disk or Ctrl-C; a kill's, the next write
            if suffix in (".parquet", ".pq"):
                frame.to_parquet(tmp, index=False)
            elif suffix == ".csv":
                frame.to_csv(tmp, index=False)
            else:  # every digit: pandas' to_json kept 10, and the export read back as a design got other run ids
                Path(tmp).write_text(jsonl_text(frame), encoding="utf-8")
    except OSError as err:
        # A file where the path needs a folder: the OS says 'File exists' (mkdir) or 'Not a directory', which named
        # neither the file nor the cause (review25b: 'cannot write 'f/x.csv': File exists'); as _atomic.cannot_write.
        why = why_unwritable(path) or err.strerror or str(err)
        raise InputError(f"cannot write {str(path)!r}: {why}") from None
    return path


__all__ = ["label_order", "run_labels", "run_table_rows", "shared_names_warning", "write_table"]
