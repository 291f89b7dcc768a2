"""Atomic file writes whose temp files are recognisably mixlaw's, and the sweep of those a killed writer left.

Every file mixlaw writes (``--out`` results, HTML reports, run tables, training checkpoints, corpus splits) is
written to a temp file beside it and renamed over it with :func:`os.replace`, so a reader sees the old file
or the new one, never half of one. A writer killed between the two (``kill -9``, a power cut) leaves its temp
file behind; a full disk or Ctrl-C does not (the temp file is removed on any error). Temp files are named
``.<name>.<host>.<pid>.<nonce>.tmp``: the next write of the same file (or a sweep of it) removes the ones
whose process is gone on this host, and never touches a live writer's. Older mixlaw versions named them
``<name>.<pid>.tmp`` and ``.<name>.<pid>.tmp`` (swept the same way) or ``.<name>.<random>`` (no pid: left
alone, as they cannot be told from a live writer's).

What the commands write goes through :func:`write_text_atomic` and :func:`write_frame_atomic` (Parquet, JSONL or CSV
by suffix), which refuse an existing path that is not a regular file and word a failed write as one
:class:`~mixlaw.errors.InputError` line (:func:`cannot_write`).
"""

from __future__ import annotations

import errno
import os
import re
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .data.json_records import jsonl_text
from .data.schema import whole_counts
from .errors import InputError

if TYPE_CHECKING:
    import pandas as pd

#: This host's name as it appears in temp-file names (letters, digits and '-' only, so names parse back).
HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:63] or "host"


def temp_path(path: str | os.PathLike[str]) -> Path:
    """A fresh temp-file name beside ``path``: ``.<name>.<host>.<pid>.<nonce>.tmp``."""
    p = Path(path)
    return p.with_name(f".{p.name}.{HOST}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def _pattern(name: str) -> re.Pattern[str]:
    n = re.escape(name)
    return re.compile(rf"^(?:\.{n}\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.[0-9a-f]{{8}}|\.?{n}\.(?P<old>\d+))\.tmp$")


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a pid held by another user's process counts as alive)."""
    if pid == os.getpid():
        return True  # this process's own (another thread may be writing it)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: another user's live process holds the pid
        return True
    return True


def sweep_stale(path: str | os.PathLike[str]) -> list[Path]:
    """Remove the temp files of ``path`` left by writers that no longer run on this host; return them.

    Only names this module (or an older mixlaw) writes are considered, and only when their pid is on this host
    and no longer exists; a pid reused by another process keeps its file (a leftover is harmless, deleting a
    live writer's file is not). Errors (a folder that cannot be listed, a file removed meanwhile) are ignored.
    """
    p = Path(path)
    pattern = _pattern(p.name)
    removed = []
    try:
        entries = list(os.scandir(p.parent if str(p.parent) else "."))
    except OSError:
        return removed
    for entry in entries:
        m = pattern.match(entry.name)
        if m is None or (m["host"] is not None and m["host"] != HOST):
            continue
        if pid_alive(int(m["pid"] or m["old"])):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def why_unwritable(path: str | os.PathLike[str]) -> str | None:
    """Why no folder of ``path`` can be made or written in, as the end of a one-line message ("f is a file, not a
    folder; choose another path"), else None: a file where a folder should be, a symlink to nothing, or a missing
    folder named ``~``: one the shell did not expand. Bash expands it at the start of a word only, so
    ``--out=~/law.json`` reaches mixlaw as written, and ``mkdir -p`` made a folder named ``~`` in the working
    directory (review25b), a folder that ``rm -r ~`` would then take for the home folder."""
    for a in Path(path).parents:
        if a.is_symlink() and not a.exists():  # mkdir -p said 'File exists' of a path that does not
            return f"{a} is a symlink to nothing ({os.readlink(a)}); choose another path"
        if a.exists():
            return None if a.is_dir() else f"{a} is a file, not a folder; choose another path"
        if a.name == "~":
            return (f"no folder {a}: '~' is not expanded here (the shell expands it at the start of a word only: "
                    "'--out ~/x', not '--out=~/x'); give the folder's path")
    return None


def cannot_write(path: str | os.PathLike[str], err: OSError) -> str:
    """The one-line message of a failed write of ``path``: why its folder cannot be made (:func:`why_unwritable`) if
    that is known, else the OS's."""
    why = why_unwritable(path)
    if why is not None:
        return f"{path}: cannot write: {why}"
    return f"{path}: cannot write ({err.strerror or err})"


@contextmanager
def atomic_target(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp file beside ``path`` to write; on success rename it over ``path``, on any error remove it.

    The temp file is created empty first (exclusively, with the umask's permissions, like any new file), so a
    writer that opens it by name writes a regular file this process owns. Stale temp files of ``path`` left by
    killed writers are swept first (:func:`sweep_stale`). A missing folder is made (every command's output, as
    ``mkdir -p`` would), unless :func:`why_unwritable` says why none can be (a ``~`` the shell left is not made).
    ``OSError`` propagates for the caller to word (:func:`cannot_write`).
    """
    p = Path(path)
    why = why_unwritable(p)
    if why is not None:  # nothing made, a folder named '~' least of all (cannot_write words it)
        raise FileNotFoundError(errno.ENOENT, why, str(p))
    p.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(p)
    tmp = temp_path(p)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk or Ctrl-C must not leave a temp file behind
        raise


def _check_out_path(p: Path) -> None:
    """Refuse an existing ``--out`` that is not a regular file: the atomic rename would replace a symlink, FIFO,
    socket or device node (as root, ``--out /dev/full`` would replace the device with a JSON file)."""
    if p.is_symlink() or (p.exists() and not p.is_file()):
        kind = ("a symlink" if p.is_symlink() else "a folder" if p.is_dir() else
                "a device, FIFO or socket")
        # Not "--out": the same check guards --report, --save and every other file a command writes.
        raise InputError(f"{p}: refusing to write: it exists and is {kind}, not a regular file; choose another "
                         "path")


@contextmanager
def _checked_target(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp file path beside ``path``; on success rename it over ``path``, on any failure remove it
    (:func:`atomic_target`, which also sweeps temp files a killed writer left)."""
    p = Path(path)
    _check_out_path(p)
    try:
        with atomic_target(p) as tmp:
            yield tmp
    except OSError as err:
        raise InputError(cannot_write(p, err)) from None


def write_text_atomic(text: str, path: str | os.PathLike[str]) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder and ``os.replace``.

    Raises
    ------
    InputError
        If ``path`` exists and is not a regular file, or the write fails (the temp file is removed).
    """
    # UTF-8 whatever the locale: under LANG=C (or Windows' cp1252) a report or export naming the domain '代码'
    # stopped with a UnicodeEncodeError traceback, and the page says charset utf-8.
    with _checked_target(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


#: The names a table is written under, by suffix (one list for every command's --out that writes a table).
TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".jsonl", ".ndjson")


def check_table_suffix(path: str | os.PathLike[str], option: str = "path") -> None:
    """Refuse in one line, naming ``option``, a table path whose suffix says no format mixlaw writes: ``predict
    --out p.xlsx`` wrote CSV text under that name without a word, where ``runs export --out r.xlsx`` refused it."""
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InputError(f"{option}: cannot write {str(path)!r}: unknown format {suffix or '(no suffix)'!r}; "
                         f"name it .csv, .parquet or .jsonl")


def write_frame_atomic(frame: pd.DataFrame, path: str | os.PathLike[str], option: str = "path") -> None:
    """Write a table as Parquet (``.parquet``/``.pq``), JSONL (``.jsonl``/``.ndjson``: one JSON record a line) or
    CSV (``.csv``), by suffix, atomically (see :func:`write_text_atomic`); any other name is an
    :class:`~mixlaw.errors.InputError` naming ``option`` (:func:`check_table_suffix`).

    Why JSONL: ``design --out d.jsonl`` wrote CSV text into the file, and ``sweep --design d.jsonl`` (which reads a
    .jsonl file as JSON records) stopped at "not a JSON record". Records are written with :mod:`json` (every float
    as repr, so a mixture reads back bit for bit and keeps its run id), an empty cell as null. Whole model sizes,
    steps and token counts are written as integers (:func:`~mixlaw.data.schema.whole_counts`)."""
    check_table_suffix(path, option)
    frame = whole_counts(frame)
    p = Path(path)
    if p.suffix.lower() in (".parquet", ".pq"):
        with _checked_target(p) as tmp:
            frame.to_parquet(tmp, index=False)
    elif p.suffix.lower() in (".jsonl", ".ndjson"):
        write_text_atomic(jsonl_text(frame), p)
    else:
        write_text_atomic(frame.to_csv(index=False), p)


__all__ = ["atomic_target", "cannot_write", "why_unwritable", "sweep_stale",
           "temp_path", "pid_alive", "HOST", "write_text_atomic", "write_frame_atomic",
           "TABLE_SUFFIXES", "check_table_suffix"]
