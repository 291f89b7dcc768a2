"""Crash-safe run store: one SQLite file in WAL mode holding every proxy run and checkpoint.

A run's key is the hash of its resolved config (:func:`mixlaw.train.config.run_id`), so a re-submitted
run is found instead of repeated. Each checkpoint (all its per-domain losses) is written in one
transaction, and a run is marked ``done`` in another after its last checkpoint: a process killed at any
moment leaves the store consistent (SQLite's write-ahead log rolls back the unfinished transaction), with
at most the interrupted run ``running``, to be redone or resumed. A run whose loss stopped being finite is
marked ``diverged`` with its reason. :func:`export_run_table` turns the store into the run table of DESIGN §2,
which ``mixlaw compare/pipeline/optimize`` read.

Several sweeps may share one store: a process *claims* a run (:meth:`RunStore.claim_run`) before training
it, and keeps the claim alive with a heartbeat (:class:`Heartbeat`); a claim whose heartbeat is older than
:data:`LEASE_S`, or whose process is gone (same host), passes to the next claimant, who resumes the run.
Every checkpoint write is fenced by the claim, so a claimant that lost its lease cannot write.

A store is untrusted input: opening one checks its schema and every run row, and any SQLite error later
runs ``PRAGMA quick_check`` and reports its verdict as one :class:`~mixlaw.errors.InputError`.

This module needs only the standard library and pandas (no torch).
"""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import InputError

SCHEMA_VERSION = 2
#: Versions this code reads (1: before the 'diverged' status and run claims; upgraded in place when written).
READABLE_VERSIONS = (1, 2)
#: A claim whose heartbeat is older than this (seconds) is considered abandoned and may be taken over.
LEASE_S = 120.0
#: Seconds between heartbeats of a live claim (well inside the lease, so one slow write never loses it).
HEARTBEAT_S = 10.0
STATUSES = ("running", "done", "diverged")

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
""" + _RUNS_TABLE + ";"

_V1_COLUMNS = "run_id, config, domains, model_params, status, started, finished, wall_s, info"
_TABLES = ("meta", "runs", "checkpoints", "evals")


class LeaseLost(InputError):
    """This process's claim on a run passed to another claimant (its heartbeat lapsed); it must stop."""


def new_owner() -> str:
    """A claimant id, ``host:pid:nonce``: the host and pid let a claimant on the same machine see that a crashed
    one is gone (no need to wait out its lease); the nonce keeps two claims of one process apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _owner_alive(owner: str) -> bool:
    """False only when ``owner`` ran on this host and its process no longer exists."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine: only its heartbeat can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: a process of another user holds that pid, so it is alive
        return True
    return True


class RunStore:
    """A SQLite run store (WAL mode), safe to share between the processes of one or several sweeps.

    Parameters
    ----------
    path : path
        The database file; created (with its schema) when missing, unless ``readonly``.
    readonly : bool, default False
        Open for reading only (``runs export``): never creates, upgrades or writes the file, so a store on a
        read-only disk or owned by another user can be exported.

    Raises
    ------
    InputError
        If the file cannot be created or opened, is not a SQLite database, is a store of another schema
        version, or holds a malformed row (naming the run and column). The message names the path and
        what to do.

    Notes
    -----
    ``synchronous=NORMAL`` in WAL mode survives any process crash (``kill -9``) without losing a
    committed transaction; only an OS crash or power loss may drop the last few commits, never corrupt
    the file. Writers take the lock up front (``BEGIN IMMEDIATE``) and wait up to 60 s for each other.
    """

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.conn: sqlite3.Connection | None = None
        if self.path.is_dir():
            raise InputError(f"run store {str(self.path)!r} is a folder; give a file path such as runs.db")
        if self.path.exists() and not self.path.is_file():
            raise InputError(f"run store {str(self.path)!r} is not a regular file (a device, FIFO or socket)")
        try:
            if readonly:
                self.conn = self._connect_readonly()
            else:
                self.conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")
                self.conn.execute("PRAGMA foreign_keys=ON")
                self._create_or_upgrade()
            self._validate()
        except sqlite3.DatabaseError as err:
            msg = self._diagnose(err)
            self.close()
            raise InputError(f"cannot open run store {str(self.path)!r}: {msg} (the folder must exist"
                             f"{'' if readonly else ' and be writable'}, and the file must be a mixlaw run store)"
                             ) from None
        except InputError:
            self.close()
            raise

    def _connect_readonly(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise InputError(f"run store {str(self.path)!r} does not exist")
        uri = self.path.resolve().as_uri()
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=60.0, isolation_level=None)
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            # A WAL store in a folder we may not write: SQLite cannot create the -shm file, so read the
            # main file as immutable (the last checkpointed state; a live sweep's newest rows may be missing).
            conn.close()
            conn = sqlite3.connect(f"{uri}?immutable=1", uri=True, timeout=60.0, isolation_level=None)
        return conn

    def _create_or_upgrade(self) -> None:
        if self._version() == 1:
            # The v1 → v2 rebuild drops the parent table of checkpoints: foreign keys must be off (outside
            # any transaction) or the drop's implicit DELETE would violate them.
            self.conn.execute("PRAGMA foreign_keys=OFF")
            try:
                with self._tx():
                    if self._version() == 1:  # another process may have upgraded it meanwhile
                        self._upgrade_v1()
            finally:
                self.conn.execute("PRAGMA foreign_keys=ON")
        with self._tx():
            version = self._version()
            if version is None and self._tables() - {"meta"}:
                raise InputError(f"run store {str(self.path)!r} has tables but no schema version: it is not a "
                                 f"mixlaw run store")
            lost = [t for t in _TABLES if t not in self._tables()]
            if version is not None and lost:
                raise InputError(f"run store {str(self.path)!r} is damaged: no table {lost[0]!r}")
            if version is not None and version not in READABLE_VERSIONS:
                raise InputError(f"run store {str(self.path)!r} has schema version {version}, this mixlaw "
                                 f"reads {', '.join(map(str, READABLE_VERSIONS))}; use a new --store file")
            for stmt in filter(str.strip, _SCHEMA.split(";")):
                self.conn.execute(stmt)
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def _upgrade_v1(self) -> None:
        """v1 → v2: rebuild ``runs`` with the 'diverged' status and the claim columns (SQLite cannot alter a
        CHECK constraint in place)."""
        self.conn.execute(_RUNS_TABLE.replace("IF NOT EXISTS runs", "runs_v2"))
        self.conn.execute(f"INSERT INTO runs_v2 ({_V1_COLUMNS}) SELECT {_V1_COLUMNS} FROM runs")
        self.conn.execute("PRAGMA legacy_alter_table=ON")  # keep the children's REFERENCES runs(...) as written
        self.conn.execute("DROP TABLE runs")
        self.conn.execute("ALTER TABLE runs_v2 RENAME TO runs")
        self.conn.execute("PRAGMA legacy_alter_table=OFF")
        self.conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))

    def _tables(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def _version(self) -> int | None:
        if "meta" not in self._tables():
            return None
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            return None
        try:
            return int(row[0])
        except (TypeError, ValueError):
            raise InputError(f"run store {str(self.path)!r}: schema_version is {row[0]!r}, not a number; the file "
                             f"is damaged or not a mixlaw run store") from None

    def _validate(self) -> None:
        """Check the tables and every run row, naming the run and column of the first bad value."""
        missing = [t for t in _TABLES if t not in self._tables()]
        if missing:
            raise InputError(f"run store {str(self.path)!r} is not a mixlaw run store (no table {missing[0]!r})")
        if self._version() is None:
            raise InputError(f"run store {str(self.path)!r} has no schema version: it is not a mixlaw run store")
        if self.readonly and self._version() not in READABLE_VERSIONS:
            raise InputError(f"run store {str(self.path)!r} has schema version {self._version()}, this mixlaw "
                             f"reads {', '.join(map(str, READABLE_VERSIONS))}")
        where = f"run store {str(self.path)!r}"
        for rid, config, domains, params, status in self.conn.execute(
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
            for v in cfg.get("mixture", {}).values():
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise InputError(f"{at} 'config': mixture weight {v!r} is not a finite number")
            if isinstance(params, bool) or not isinstance(params, int) or params < 0:
                raise InputError(f"{at} 'model_params' is {params!r}, expected an integer >= 0")
            if status not in STATUSES:
                raise InputError(f"{at} 'status' is {status!r}, expected one of {', '.join(STATUSES)}")

    def _diagnose(self, err: sqlite3.DatabaseError) -> str:
        """The error, plus ``PRAGMA quick_check``'s first finding when the file itself is damaged."""
        msg = str(err)
        if self.conn is None or isinstance(err, sqlite3.OperationalError) and "malformed" not in msg:
            return msg
        try:
            rows = self.conn.execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError as again:
            return f"{msg}; quick_check failed too ({again}): the file is damaged"
        verdict = rows[0][0] if rows else "no answer"
        return msg if verdict == "ok" else f"{msg}; quick_check: {verdict} (the file is damaged)"

    def _fail(self, err: sqlite3.DatabaseError, doing: str) -> InputError:
        return InputError(f"run store {str(self.path)!r}: {doing} failed: {self._diagnose(err)}")

    # ------------------------------------------------------------------ plumbing
    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any error.

        SQLite errors (full disk, read-only file, damaged pages) become one :class:`InputError` naming the store;
        the rollback leaves the store as it was before the transaction.
        """
        if self.readonly:
            raise InputError(f"run store {str(self.path)!r} was opened read-only")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as err:
            raise self._fail(err, "starting a write") from None
        try:
            yield self.conn
        except BaseException as err:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.DatabaseError:
                pass  # SQLite already rolled back (it does on SQLITE_FULL / IOERR)
            if isinstance(err, sqlite3.DatabaseError):
                raise self._fail(err, "a write") from None
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.DatabaseError as err:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.DatabaseError:
                pass
            raise self._fail(err, "a commit") from None

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as err:
            raise self._fail(err, "a read") from None

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed into the main file by SQLite)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self) -> RunStore:  # noqa: PYI034 (typing.Self needs Python 3.11)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writing
    def begin_run(self, run_id: str, config: dict[str, Any], domains: Sequence[str], model_params: int,
                  info: dict[str, Any] | None = None) -> None:
        """Register a run as ``running`` (for a known run, only a running run's parameter count is updated)."""
        with self._tx() as c:
            c.execute("INSERT INTO runs (run_id, config, domains, model_params, status, started, info) "
                      "VALUES (?, ?, ?, ?, 'running', ?, ?) ON CONFLICT (run_id) DO UPDATE SET "
                      "model_params = excluded.model_params WHERE status = 'running'",
                      (run_id, json.dumps(config, sort_keys=True), json.dumps(list(domains)), int(model_params),
                       time.time(), json.dumps(info or {}, sort_keys=True)))

    def claim_run(self, run_id: str, owner: str, config: dict[str, Any], domains: Sequence[str],
                  model_params: int, info: dict[str, Any] | None = None, lease_s: float = LEASE_S) -> str:
        """Claim a run for ``owner`` before training it; at most one live claim per run.

        Returns
        -------
        str
            ``"claimed"`` (registered or taken over: train it), ``"done"`` or ``"diverged"`` (nothing to do),
            or ``"held"`` (another live claimant is training it: try again later).
        """
        now = time.time()
        with self._tx() as c:
            row = c.execute("SELECT status, owner, heartbeat FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                c.execute("INSERT INTO runs (run_id, config, domains, model_params, status, started, info, owner, "
                          "heartbeat) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?)",
                          (run_id, json.dumps(config, sort_keys=True), json.dumps(list(domains)),
                           int(model_params), now, json.dumps(info or {}, sort_keys=True), owner, now))
                return "claimed"
            status, holder, beat = row
            if status != "running":
                return str(status)
            if holder and holder != owner and beat is not None and now - beat < lease_s and _owner_alive(holder):
                return "held"
            c.execute("UPDATE runs SET owner = ?, heartbeat = ? WHERE run_id = ?", (owner, now, run_id))
            return "claimed"

    def heartbeat(self, owner: str) -> int:
        """Renew every claim of ``owner`` on a running run; returns how many it still holds."""
        with self._tx() as c:
            return c.execute("UPDATE runs SET heartbeat = ? WHERE owner = ? AND status = 'running'",
                             (time.time(), owner)).rowcount

    def release_run(self, run_id: str, owner: str) -> None:
        """Drop ``owner``'s claim (after an error) so that another claimant need not wait out the lease."""
        with self._tx() as c:
            c.execute("UPDATE runs SET owner = NULL, heartbeat = NULL WHERE run_id = ? AND owner = ?",
                      (run_id, owner))

    def _check_owner(self, c: sqlite3.Connection, run_id: str, owner: str | None) -> None:
        if owner is None:
            return
        row = c.execute("SELECT owner FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None or row[0] != owner:
            raise LeaseLost(f"run {run_id}: this process's claim lapsed and another sweep took the run over; "
                            f"it stops here (the other sweep finishes the run)")

    def record_checkpoint(self, run_id: str, step: int, tokens: int, losses: dict[str, float],
                          train_loss: float | None = None, *, owner: str | None = None) -> None:
        """Write one checkpoint's losses in a single transaction.

        ``INSERT OR REPLACE``: a run resumed from an older checkpoint file re-writes the same step with the
        same (deterministic) numbers instead of adding a duplicate row. With ``owner``, the write happens only
        while that claimant still holds the run (else :class:`LeaseLost`).

        Raises
        ------
        InputError
            For a loss that is not a finite number (record the run with :meth:`mark_diverged` instead).
        """
        for name, value in {**losses, **({} if train_loss is None else {"train": train_loss})}.items():
            if not math.isfinite(float(value)):
                raise InputError(f"run {run_id} step {step}: {name} loss is {value}; a non-finite loss is not "
                                 f"stored (mark the run diverged)")
        with self._tx() as c:
            self._check_owner(c, run_id, owner)
            c.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?)",
                      (run_id, int(step), int(tokens), None if train_loss is None else float(train_loss)))
            c.executemany("INSERT OR REPLACE INTO evals VALUES (?, ?, ?, ?)",
                          [(run_id, int(step), d, float(v)) for d, v in losses.items()])
            if owner is not None:
                c.execute("UPDATE runs SET heartbeat = ? WHERE run_id = ?", (time.time(), run_id))

    def finish_run(self, run_id: str, wall_s: float | None = None, info: dict[str, Any] | None = None, *,
                   owner: str | None = None) -> None:
        """Mark a run ``done`` (after its last checkpoint) and drop its claim."""
        with self._tx() as c:
            self._check_owner(c, run_id, owner)
            c.execute("UPDATE runs SET status = 'done', finished = ?, wall_s = ?, owner = NULL, heartbeat = NULL, "
                      "info = COALESCE(?, info) WHERE run_id = ?",
                      (time.time(), wall_s, None if info is None else json.dumps(info, sort_keys=True), run_id))

    def mark_diverged(self, run_id: str, reason: str, wall_s: float | None = None, *,
                      owner: str | None = None) -> None:
        """Mark a run ``diverged`` with its reason: its finite checkpoints stay, it is never exported as done,
        and a later sweep does not retrain it (the same config would diverge the same way)."""
        with self._tx() as c:
            self._check_owner(c, run_id, owner)
            c.execute("UPDATE runs SET status = 'diverged', reason = ?, finished = ?, wall_s = ?, owner = NULL, "
                      "heartbeat = NULL WHERE run_id = ?", (reason, time.time(), wall_s, run_id))

    def reset_run(self, run_id: str) -> None:
        """Forget an unfinished run's checkpoints (before it is retrained from step 0)."""
        with self._tx() as c:
            c.execute("DELETE FROM evals WHERE run_id = ?", (run_id,))
            c.execute("DELETE FROM checkpoints WHERE run_id = ?", (run_id,))

    # ------------------------------------------------------------------ reading
    def status(self, run_id: str) -> str | None:
        """``"running"``, ``"done"``, ``"diverged"`` or ``None`` (unknown run)."""
        rows = self._read("SELECT status FROM runs WHERE run_id = ?", (run_id,))
        return None if not rows else str(rows[0][0])

    def reason(self, run_id: str) -> str | None:
        """Why a diverged run diverged (``None`` otherwise)."""
        if self._version() == 1:
            return None
        rows = self._read("SELECT reason FROM runs WHERE run_id = ?", (run_id,))
        return None if not rows else rows[0][0]

    def run_ids(self, status: str | None = None) -> list[str]:
        """Known run ids, sorted, optionally only those with ``status``."""
        if status is None:
            rows = self._read("SELECT run_id FROM runs ORDER BY run_id")
        else:
            rows = self._read("SELECT run_id FROM runs WHERE status = ? ORDER BY run_id", (status,))
        return [r[0] for r in rows]

    def checkpoint_steps(self, run_id: str) -> list[int]:
        """Steps recorded for a run, ascending."""
        rows = self._read("SELECT step FROM checkpoints WHERE run_id = ? ORDER BY step", (run_id,))
        return [r[0] for r in rows]

    def run_table(self, *, include_unfinished: bool = False) -> pd.DataFrame:
        """The store as a run table (see :func:`export_run_table`); diverged runs are never included."""
        where = "WHERE r.status != 'diverged'" if include_unfinished else "WHERE r.status = 'done'"
        runs = self._read(f"SELECT r.run_id, r.config, r.domains, r.model_params FROM runs r {where} "
                          "ORDER BY r.run_id")
        evals = self._read("SELECT e.run_id, e.step, c.tokens, e.domain, e.loss FROM evals e JOIN "
                           "checkpoints c ON c.run_id = e.run_id AND c.step = e.step "
                           "ORDER BY e.run_id, e.step")
        by_run: dict[str, dict[int, tuple[int, dict[str, float]]]] = {}
        for rid, step, tokens, domain, loss in evals:
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (step, tokens, loss)):
                raise InputError(f"run store {str(self.path)!r}: run {rid!r} step {step!r} domain {domain!r}: "
                                 f"step/tokens/loss {(step, tokens, loss)!r} are not all numbers")
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


class Heartbeat:
    """Keep ``owner``'s claims alive from a background thread (its own connection) while a run trains.

    ``alive`` is an optional check called before each beat; when it returns False (e.g. the sweep that started
    this worker is gone) the beats stop, so the claim lapses and another sweep can take the run over.
    """

    def __init__(self, path: str | os.PathLike[str], owner: str, interval: float = HEARTBEAT_S,
                 alive: Any = None) -> None:
        self.path, self.owner, self.interval, self.alive = Path(path), owner, interval, alive
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mixlaw-heartbeat", daemon=True)

    def _run(self) -> None:
        try:
            store = RunStore(self.path)
        except InputError:
            return
        try:
            while not self._stop.wait(self.interval):
                if self.alive is not None and not self.alive():
                    return
                try:
                    store.heartbeat(self.owner)
                except InputError:
                    continue  # a busy or full disk: the next beat retries; the lease is far longer than a beat
        finally:
            store.close()

    def __enter__(self) -> Heartbeat:  # noqa: PYI034
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _json_or_none(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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
        If the store is missing, unreadable or malformed (naming the run and column).
    """
    if isinstance(db, RunStore):
        return db.run_table(include_unfinished=include_unfinished)
    if not Path(db).is_file():
        raise InputError(f"run store {str(db)!r} does not exist; run 'mixlaw sweep --store {db}' first")
    with RunStore(db, readonly=True) as store:  # exporting never writes (a read-only store exports too)
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
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise InputError(f"cannot write {str(path)!r}: it exists and is not a regular file (a folder, symlink, "
                         f"device or FIFO would be replaced); choose another path")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if suffix in (".parquet", ".pq"):
            frame.to_parquet(tmp, index=False)
        elif suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_json(tmp, orient="records", lines=True)
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)  # never leave a temp file behind, whatever failed (full disk, Ctrl-C)
        if isinstance(err, OSError):
            raise InputError(f"cannot write {str(path)!r}: {err.strerror or err}") from None
        raise
    return path
