"""The run store's on-disk layout: its tables, schema versions and upgrade, and the checks run when one opens.

A store is untrusted input (a file that may be damaged, hand-edited, or of another program), so this module
owns everything about what a valid store looks like: the SQL schema (:data:`SCHEMA_VERSION`), which versions
are read (:data:`READABLE_VERSIONS`) and how a version-1 store is upgraded in place, the validation of every
run row on open (naming the run and column of the first bad value), and the ``PRAGMA quick_check`` verdict
added to a SQLite error. Every function takes an open :class:`sqlite3.Connection` and ``where`` (the store's
name in messages); transactions and claims are :mod:`mixlaw.store.runstore`'s.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from ..errors import InputError

SCHEMA_VERSION = 2
#: Versions this code reads (1: before the 'diverged' status and run claims; upgraded in place when written).
READABLE_VERSIONS = (1, 2)
STATUSES = ("running", "done", "diverged")
#: A stored mixture's weights must sum to 1 within this (``mixlaw.train.config.WEIGHT_TOL``; this lower layer cannot
#: import it): runs are stored with their mixture renormalised exactly, so only a hand-edited store is refused.
WEIGHT_TOL = 1e-3

_RUNS_TABLE = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,            -- hash of the resolved config + corpus content
    config TEXT NOT NULL,               -- resolved ProxyConfig as JSON
    domains TEXT NOT NULL,              -- JSON list: corpus domains in corpus order (w:/loss: column order)
    model_params INTEGER NOT NULL,      -- non-embedding parameters (the run table's `params`)
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'diverged')),
    started REAL NOT NULL,              -- unix time of the first start
    finished REAL,                      -- unix time when marked done (or diverged)
    wall_s REAL,                        -- wall time of the process that finished it
    info TEXT,                          -- JSON: device, mixlaw version, corpus fingerprint ...
    reason TEXT,                        -- why a run diverged
    owner TEXT,                         -- claimant 'host:pid:nonce' of a running run
    heartbeat REAL                      -- unix time of the claimant's last heartbeat
)"""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
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
""" + _RUNS_TABLE + """;
CREATE TABLE IF NOT EXISTS run_names (
    run_id TEXT PRIMARY KEY REFERENCES runs(run_id),
    name TEXT NOT NULL                  -- the design row's name (+ a size suffix): the exported `run`
);"""

_V1_COLUMNS = "run_id, config, domains, model_params, status, started, finished, wall_s, info"
_TABLES = ("meta", "runs", "checkpoints", "evals")
#: Run names live in a table of their own, not a column of ``runs``: a store written before names existed gets
#: the table when a sweep next opens it (no version bump), a read-only store without it exports run ids, and a
#: mixlaw that predates names still reads a store that has it.
NAMES_TABLE = "run_names"


def tables(conn: sqlite3.Connection) -> set[str]:
    """Names of the tables in the file."""
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def version(conn: sqlite3.Connection, where: str) -> int | None:
    """The schema version recorded in ``meta`` (None: no version, i.e. not a mixlaw store or a new file)."""
    if "meta" not in tables(conn):
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        return None
    try:
        return int(row[0])
    except (TypeError, ValueError):
        raise InputError(f"{where}: schema_version is {row[0]!r}, not a number; the file is damaged or not a "
                         f"mixlaw run store") from None


def create_or_upgrade(conn: sqlite3.Connection, where: str,
                      tx: Callable[[], AbstractContextManager[Any]]) -> None:
    """Create the schema in a new file, or upgrade a version-1 store; refuse a file that is not a store of a
    version this code reads. ``tx`` opens one write transaction of the store."""
    if version(conn, where) == 1:
        # The v1 → v2 rebuild drops the parent table of checkpoints: foreign keys must be off (outside
        # any transaction) or the drop's implicit DELETE would violate them.
        conn.execute("PRAGMA foreign_keys=OFF")
        try:
            with tx():
                if version(conn, where) == 1:  # another process may have upgraded it meanwhile
                    _upgrade_v1(conn)
        finally:
            conn.execute("PRAGMA foreign_keys=ON")
    with tx():
        v = version(conn, where)
        if v is None and tables(conn) - {"meta"}:
            raise InputError(f"{where} has tables but no schema version: it is not a mixlaw run store")
        lost = [t for t in _TABLES if t not in tables(conn)]
        if v is not None and lost:
            raise InputError(f"{where} is damaged: no table {lost[0]!r}")
        if v is not None and v not in READABLE_VERSIONS:
            raise InputError(f"{where} has schema version {v}, this mixlaw reads "
                             f"{', '.join(map(str, READABLE_VERSIONS))}; use a new --store file")
        for stmt in filter(str.strip, _SCHEMA.split(";")):
            conn.execute(stmt)
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))


def _upgrade_v1(conn: sqlite3.Connection) -> None:
    """v1 → v2: rebuild ``runs`` with the 'diverged' status and the claim columns (SQLite cannot alter a
    CHECK constraint in place)."""
    conn.execute(_RUNS_TABLE.replace("IF NOT EXISTS runs", "runs_v2"))
    conn.execute(f"INSERT INTO runs_v2 ({_V1_COLUMNS}) SELECT {_V1_COLUMNS} FROM runs")
    conn.execute("PRAGMA legacy_alter_table=ON")  # keep the children's REFERENCES runs(...) as written
    conn.execute("DROP TABLE runs")
    conn.execute("ALTER TABLE runs_v2 RENAME TO runs")
    conn.execute("PRAGMA legacy_alter_table=OFF")
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))


def validate(conn: sqlite3.Connection, where: str, readonly: bool) -> None:
    """Check the tables and every run row, naming the run and column of the first bad value."""
    missing = [t for t in _TABLES if t not in tables(conn)]
    if missing:
        raise InputError(f"{where} is not a mixlaw run store (no table {missing[0]!r})")
    v = version(conn, where)
    if v is None:
        raise InputError(f"{where} has no schema version: it is not a mixlaw run store")
    if readonly and v not in READABLE_VERSIONS:
        raise InputError(f"{where} has schema version {v}, this mixlaw reads {', '.join(map(str, READABLE_VERSIONS))}")
    for rid, config, domains, params, status in conn.execute(
            "SELECT run_id, config, domains, model_params, status FROM runs"):
        at = f"{where}: run {rid!r}: column"
        if not isinstance(rid, str) or not rid:
            raise InputError(f"{where}: a run has id {rid!r}, expected a non-empty text id")
        cfg = _json_or_none(config)
        if not isinstance(cfg, dict) or not isinstance(cfg.get("mixture", {}), dict):
            raise InputError(f"{at} 'config' is {_short(config)}, expected a JSON object with a 'mixture'")
        doms = _json_or_none(domains)
        if not (isinstance(doms, list) and doms and all(isinstance(d, str) for d in doms)):
            raise InputError(f"{at} 'domains' is {_short(domains)}, expected a JSON list of domain names")
        mixture = cfg.get("mixture", {})
        for d, w in mixture.items():
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w):
                raise InputError(f"{at} 'config': mixture weight {w!r} is not a finite number")
            if w < 0:
                raise InputError(f"{at} 'config': mixture weight {d}={w!r} is negative")
        # A mixture is stored resolved (renormalised exactly, over the corpus's domains): a hand-edited one that no
        # longer sums to 1, or weighs a domain the run has no loss column for, was exported without a word and
        # refused by every reader of the table, which named the exported file's row instead of the store's run.
        total = math.fsum(mixture.values())
        if abs(total - 1.0) > WEIGHT_TOL:
            raise InputError(f"{at} 'config': mixture weights sum to {total:.6g}, expected 1 (within {WEIGHT_TOL:g})")
        if len(set(doms)) != len(doms):
            raise InputError(f"{at} 'domains' is {_short(domains)}: a domain is listed twice")
        unknown = [d for d in mixture if d not in doms]
        if unknown:
            raise InputError(f"{at} 'config': mixture weighs {unknown[0]!r}, which is not in its 'domains' "
                             f"{_short(domains)}")
        if isinstance(params, bool) or not isinstance(params, int) or params < 0:
            raise InputError(f"{at} 'model_params' is {params!r}, expected an integer >= 0")
        if status not in STATUSES:
            raise InputError(f"{at} 'status' is {status!r}, expected one of {', '.join(STATUSES)}")
    if NAMES_TABLE in tables(conn):
        for rid, name in conn.execute(f"SELECT run_id, name FROM {NAMES_TABLE}"):
            if not isinstance(name, str) or not name.strip():
                raise InputError(f"{where}: run {rid!r}: column 'name' is {_short(name)}, expected a non-empty "
                                 f"text name")


def diagnose(conn: sqlite3.Connection | None, err: sqlite3.DatabaseError) -> str:
    """The error, plus ``PRAGMA quick_check``'s first finding when the file itself is damaged."""
    msg = str(err)
    if conn is None or isinstance(err, sqlite3.OperationalError) and "malformed" not in msg:
        return msg
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as again:
        return f"{msg}; quick_check failed too ({again}): the file is damaged"
    verdict = rows[0][0] if rows else "no answer"
    return msg if verdict == "ok" else f"{msg}; quick_check: {verdict} (the file is damaged)"


def _json_or_none(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


__all__ = ["SCHEMA_VERSION", "NAMES_TABLE", "READABLE_VERSIONS", "STATUSES", "tables", "version", "create_or_upgrade",
           "validate", "diagnose"]
