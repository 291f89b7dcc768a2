"""Crash-safe run store: one SQLite file in WAL mode holding every proxy run and checkpoint.

A run's key is the hash of its resolved config (:func:`mixlaw.train.config.run_id`), so a re-submitted
run is found instead of repeated. Each checkpoint (all its per-domain losses) is written in one
transaction, and a run is marked ``done`` in another after its last checkpoint: a process killed at any
moment leaves the store consistent (SQLite's write-ahead log rolls back the unfinished transaction), with
at most the interrupted run ``running``, to be redone or resumed. :func:`export_run_table` turns the store
into the run table of DESIGN §2, which ``mixlaw compare/pipeline/optimize`` read.

This module needs only the standard library and pandas (no torch).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import InputError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,            -- hash of the resolved config + corpus content
    config TEXT NOT NULL,               -- resolved ProxyConfig as JSON
    domains TEXT NOT NULL,              -- JSON list: corpus domains in corpus order (w:/loss: column order)
    model_params INTEGER NOT NULL,      -- non-embedding parameters (the run table's `params`)
    status TEXT NOT NULL CHECK (status IN ('running', 'done')),
    started REAL NOT NULL,              -- unix time of the first start
    finished REAL,                      -- unix time when marked done
    wall_s REAL,                        -- wall time of the process that finished it
    info TEXT                           -- JSON: device, mixlaw version, corpus fingerprint ...
);
CREATE TABLE IF NOT EXISTS checkpoints (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    step INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    train_loss REAL,
    PRIMARY KEY (run_id, step)
);
CREATE TABLE IF NOT EXISTS evals (
    run_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    domain TEXT NOT NULL,
    loss REAL NOT NULL,
    PRIMARY KEY (run_id, step, domain),
    FOREIGN KEY (run_id, step) REFERENCES checkpoints(run_id, step)
);
"""


class RunStore:
    """A SQLite run store (WAL mode), safe to share between the processes of one sweep.

    Parameters
    ----------
    path : path
        The database file; created (with its schema) when missing.

    Raises
    ------
    InputError
        If the file cannot be created or opened, is not a SQLite database, or is a store of another
        schema version. The message names the path and what to do.

    Notes
    -----
    ``synchronous=NORMAL`` in WAL mode survives any process crash (``kill -9``) without losing a
    committed transaction; only an OS crash or power loss may drop the last few commits, never corrupt
    the file. Writers take the lock up front (``BEGIN IMMEDIATE``) and wait up to 60 s for each other.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise InputError(f"run store {str(self.path)!r} is a folder; give a file path such as runs.db")
        try:
            self.conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            with self._tx():
                for stmt in filter(str.strip, _SCHEMA.split(";")):
                    self.conn.execute(stmt)
                row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                if row is None:
                    self.conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                elif int(row[0]) != SCHEMA_VERSION:
                    raise InputError(f"run store {str(self.path)!r} has schema version {row[0]}, this mixlaw "
                                     f"reads {SCHEMA_VERSION}; use a new --store file")
        except sqlite3.DatabaseError as err:
            raise InputError(f"cannot open run store {str(self.path)!r}: {err} (the folder must exist and be "
                             f"writable, and the file must be a mixlaw run store)") from None

    # ------------------------------------------------------------------ plumbing
    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any error."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed into the main file by SQLite)."""
        self.conn.close()

    def __enter__(self) -> RunStore:  # noqa: PYI034 (typing.Self needs Python 3.11)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writing
    def begin_run(self, run_id: str, config: dict[str, Any], domains: Sequence[str], model_params: int,
                  info: dict[str, Any] | None = None) -> None:
        """Register a run as ``running`` (a no-op if it is already known)."""
        with self._tx() as c:
            c.execute("INSERT OR IGNORE INTO runs (run_id, config, domains, model_params, status, started, info) "
                      "VALUES (?, ?, ?, ?, 'running', ?, ?)",
                      (run_id, json.dumps(config, sort_keys=True), json.dumps(list(domains)), int(model_params),
                       time.time(), json.dumps(info or {}, sort_keys=True)))

    def record_checkpoint(self, run_id: str, step: int, tokens: int, losses: dict[str, float],
                          train_loss: float | None = None) -> None:
        """Write one checkpoint's losses in a single transaction.

        ``INSERT OR REPLACE``: a run resumed from an older checkpoint file re-writes the same step with the
        same (deterministic) numbers instead of adding a duplicate row.
        """
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?)",
                      (run_id, int(step), int(tokens), None if train_loss is None else float(train_loss)))
            c.executemany("INSERT OR REPLACE INTO evals VALUES (?, ?, ?, ?)",
                          [(run_id, int(step), d, float(v)) for d, v in losses.items()])

    def finish_run(self, run_id: str, wall_s: float | None = None, info: dict[str, Any] | None = None) -> None:
        """Mark a run ``done`` (after its last checkpoint)."""
        with self._tx() as c:
            c.execute("UPDATE runs SET status = 'done', finished = ?, wall_s = ?, "
                      "info = COALESCE(?, info) WHERE run_id = ?",
                      (time.time(), wall_s, None if info is None else json.dumps(info, sort_keys=True), run_id))

    def reset_run(self, run_id: str) -> None:
        """Forget an unfinished run's checkpoints (before it is retrained from step 0)."""
        with self._tx() as c:
            c.execute("DELETE FROM evals WHERE run_id = ?", (run_id,))
            c.execute("DELETE FROM checkpoints WHERE run_id = ?", (run_id,))

    # ------------------------------------------------------------------ reading
    def status(self, run_id: str) -> str | None:
        """``"running"``, ``"done"`` or ``None`` (unknown run)."""
        row = self.conn.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else str(row[0])

    def run_ids(self, status: str | None = None) -> list[str]:
        """Known run ids, sorted, optionally only those with ``status``."""
        if status is None:
            rows = self.conn.execute("SELECT run_id FROM runs ORDER BY run_id")
        else:
            rows = self.conn.execute("SELECT run_id FROM runs WHERE status = ? ORDER BY run_id", (status,))
        return [r[0] for r in rows]

    def checkpoint_steps(self, run_id: str) -> list[int]:
        """Steps recorded for a run, ascending."""
        rows = self.conn.execute("SELECT step FROM checkpoints WHERE run_id = ? ORDER BY step", (run_id,))
        return [r[0] for r in rows]

    def run_table(self, *, include_unfinished: bool = False) -> pd.DataFrame:
        """The store as a run table (see :func:`export_run_table`)."""
        where = "" if include_unfinished else "WHERE r.status = 'done'"
        runs = self.conn.execute(f"SELECT r.run_id, r.config, r.domains, r.model_params FROM runs r {where} "
                                 "ORDER BY r.run_id").fetchall()
        evals = self.conn.execute("SELECT e.run_id, e.step, c.tokens, e.domain, e.loss FROM evals e JOIN "
                                  "checkpoints c ON c.run_id = e.run_id AND c.step = e.step "
                                  "ORDER BY e.run_id, e.step").fetchall()
        by_run: dict[str, dict[int, tuple[int, dict[str, float]]]] = {}
        for rid, step, tokens, domain, loss in evals:
            by_run.setdefault(rid, {}).setdefault(step, (tokens, {}))[1][domain] = loss
        frames = []
        for rid, config, domains, model_params in runs:
            order = json.loads(domains)
            mixture = json.loads(config).get("mixture", {})
            mixture = {d: float(mixture.get(d, 0.0)) for d in order}
            # Losses in corpus order (SQLite returns them in primary-key order, i.e. alphabetical).
            rank = {d: k for k, d in enumerate(order)}
            ckpts = [(s, t, dict(sorted(losses.items(), key=lambda kv: rank.get(kv[0], len(rank)))))
                     for s, (t, losses) in sorted(by_run.get(rid, {}).items())]
            frames.append(run_table_rows(rid, mixture, model_params, ckpts))
        if not frames:
            return run_table_rows("", {}, 0, []).iloc[0:0]
        table = pd.concat(frames, ignore_index=True)
        # Runs of different corpora may not share domains: a missing weight is 0, a missing loss stays NaN.
        wcols = [c for c in table.columns if c.startswith("w:")]
        table[wcols] = table[wcols].fillna(0.0)
        lcols = [c for c in table.columns if c.startswith("loss:")]
        return table[["run", *wcols, *lcols, "params", "step", "tokens"]]


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


def export_run_table(db: str | os.PathLike[str] | RunStore, *, include_unfinished: bool = False) -> pd.DataFrame:
    """Read a run store as the run table of DESIGN §2.

    Parameters
    ----------
    db : path or RunStore
        The store (it must exist: exporting never creates one).
    include_unfinished : bool, default False
        Also export the checkpoints of runs still marked ``running`` (an interrupted sweep).

    Returns
    -------
    pandas.DataFrame
        One row per (run, checkpoint): ``run``, ``w:<domain>``..., ``loss:<domain>``..., ``params``
        (non-embedding parameters), ``step``, ``tokens``; sorted by run id then step.

    Raises
    ------
    InputError
        If the store is missing or unreadable.
    """
    if isinstance(db, RunStore):
        return db.run_table(include_unfinished=include_unfinished)
    if not Path(db).is_file():
        raise InputError(f"run store {str(db)!r} does not exist; run 'mixlaw sweep --store {db}' first")
    with RunStore(db) as store:
        return store.run_table(include_unfinished=include_unfinished)


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a run table as Parquet, CSV or JSONL (by suffix) via a temp file and ``os.replace``.

    A reader never sees a half-written file, and a crash leaves the previous version in place.

    Raises
    ------
    InputError
        For an unknown suffix or an unwritable destination.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv", ".jsonl"):
        raise InputError(f"cannot write {str(path)!r}: unknown format {suffix!r}; use .parquet, .csv or .jsonl")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if suffix in (".parquet", ".pq"):
            frame.to_parquet(tmp, index=False)
        elif suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_json(tmp, orient="records", lines=True)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {str(path)!r}: {err.strerror or err}") from None
    return path
