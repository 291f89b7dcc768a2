"""The run store itself: one SQLite file in WAL mode that sweeps write and read, with run claims.

A run's key is the hash of its resolved config (:func:`mixlaw.train.config.run_id`), so a re-submitted run is
found instead of repeated; its name (the sweep design's row name) is kept beside the id, in a table of its own
(:data:`.schema.NAMES_TABLE`), and labels the run in exports. Each checkpoint (all its per-domain losses) is
written in one transaction, and a run is marked ``done`` in another after its last checkpoint: a process killed
at any moment leaves the store consistent (SQLite's write-ahead log rolls back the unfinished transaction), with
at most the interrupted run ``running``, to be redone or resumed. A run whose loss stopped being finite (or is
not > 0, which no mixing law can fit in log space) is marked ``diverged`` with its reason; such a loss is never
stored, so every store exports.

Several sweeps may share one store: a process *claims* a run (:meth:`RunStore.claim_run`) before training
it, and keeps the claim alive with a heartbeat (:class:`Heartbeat`); a claim whose heartbeat is older than
:data:`LEASE_S`, or whose process is gone (same host), passes to the next claimant, who resumes the run.
Every checkpoint write is fenced by the claim, so a claimant that lost its lease cannot write. The file's
layout and its checks on open are :mod:`.schema`'s; the exported table's format is :mod:`.table`'s.

A store deleted (or replaced) while a sweep has it open stops the sweep (:class:`StoreGone`): every write checks
that the path still names the file it opened, and the sweep's workers and heartbeats open the store with
``create=False``. SQLite kept writing into the deleted file, every result lost, and the next worker or heartbeat
made a new empty store in its place.
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
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from .._atomic import pid_alive, why_unwritable
from ..errors import DataWarning, InputError, user_stacklevel
from . import schema
from .table import label_order, run_labels, run_table_rows, shared_names_warning

#: A claim whose heartbeat is older than this (seconds) is considered abandoned and may be taken over.
LEASE_S = 120.0
#: Seconds between heartbeats of a live claim (well inside the lease, so one slow write never loses it).
HEARTBEAT_S = 10.0


class LeaseLost(InputError):
    """This process's claim on a run passed to another claimant (its heartbeat lapsed); it must stop."""


class StoreGone(InputError):
    """The store's file was deleted or replaced while this process had it open; the sweep must stop."""


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
    return pid_alive(int(pid))


class RunStore:
    """A SQLite run store (WAL mode), safe to share between the processes of one or several sweeps.

    Parameters
    ----------
    path : path
        The database file; created (with its schema) when missing, unless ``readonly``.
    readonly : bool, default False
        Open for reading only (``runs export``): never creates, upgrades or writes the file, so a store on a
        read-only disk or owned by another user can be exported.
    create : bool, default True
        Create the file when it is missing. False for the processes of a sweep that opened it already (its
        workers, heartbeats): a store deleted during the sweep is then :class:`StoreGone`, not a new empty one.

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

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False, create: bool = True) -> None:
        self.path = Path(path)
        self._where = f"run store {str(self.path)!r}"  # how messages name the store
        self.readonly = readonly
        self.conn: sqlite3.Connection | None = None
        self._ident: tuple[int, int] | None = None  # (device, inode) of the file opened: see _check_present
        # Absolute, as SQLite holds the file it opened: a relative path stat'ed again after a chdir named no file.
        self._abspath = Path(os.path.abspath(self.path))
        if self.path.is_dir():
            raise InputError(f"{self._where} is a folder; give a file path such as runs.db")
        if not readonly and not create and not self.path.exists():
            raise self._gone("was deleted")
        if self.path.exists() and not self.path.is_file():
            raise InputError(f"{self._where} is not a regular file (a device, FIFO or socket)")
        if not readonly and self.path.is_symlink():
            # SQLite writes through a symlink, and creates the file a dangling one names: a sweep whose --store was
            # a planted link wrote a new store wherever it pointed. Reading through one (runs export) is harmless.
            raise InputError(f"{self._where} is a symlink (to {os.readlink(self.path)!r}); a run store is written "
                             f"only as a regular file: give the path of the file itself")
        if not readonly and not self.path.parent.is_dir():
            # Made, as every command's output folder is (_atomic.atomic_target); not a '~' the shell left or a
            # folder where a file stands.
            why = why_unwritable(self.path)
            if why is not None:
                raise InputError(f"cannot open {self._where}: {why}")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:  # no permission, a read-only disk: one line naming the store, not a traceback
                raise InputError(f"cannot open {self._where}: cannot make its folder {str(self.path.parent)!r} "
                                 f"({err.strerror or err})") from None
        try:
            if readonly:
                self.conn = self._connect_readonly()
            else:
                self.conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")
                self.conn.execute("PRAGMA foreign_keys=ON")
                st = os.stat(self.path)
                self._ident = (st.st_dev, st.st_ino)
                schema.create_or_upgrade(self.conn, self._where, self._tx)
            schema.validate(self.conn, self._where, readonly)
        except sqlite3.DatabaseError as err:
            msg = schema.diagnose(self.conn, err)
            self.close()
            raise InputError(f"cannot open run store {str(self.path)!r}: {msg} (the folder must exist"
                             f"{'' if readonly else ' and be writable'}, and the file must be a mixlaw run store)"
                             ) from None
        except InputError:
            self.close()
            raise

    def _connect_readonly(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise InputError(f"{self._where} does not exist")
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

    def _version(self) -> int | None:
        """The schema version of the open file (:func:`.schema.version`)."""
        return schema.version(self.conn, self._where)

    def _gone(self, what: str) -> StoreGone:
        folder = self._abspath.parent
        where = f" (its folder {str(folder)!r} is gone too)" if not folder.exists() else ""
        return StoreGone(f"{self._where} {what} while mixlaw was writing it{where}: stopping here, as every "
                         f"later result would be lost; restore the store, or start again (a new store "
                         f"trains every run again)")

    def _check_present(self) -> None:
        """Refuse to write when the path no longer names the file opened: SQLite writes on into a deleted (or
        replaced) file, so a sweep whose store folder was removed lost every later result without a word."""
        if self._ident is None:
            return
        try:
            st = os.stat(self._abspath)
        except OSError:
            raise self._gone("was deleted") from None
        if (st.st_dev, st.st_ino) != self._ident:
            raise self._gone("was replaced by another file")

    def _fail(self, err: sqlite3.DatabaseError, doing: str) -> InputError:
        return InputError(f"{self._where}: {doing} failed: {schema.diagnose(self.conn, err)}")

    # ------------------------------------------------------------------ plumbing
    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any error.

        SQLite errors (full disk, read-only file, damaged pages) become one :class:`InputError` naming the store;
        the rollback leaves the store as it was before the transaction.
        """
        if self.readonly:
            raise InputError(f"{self._where} was opened read-only")
        self._check_present()  # one stat per transaction, beside SQLite's own fsyncs
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
                  model_params: int, info: dict[str, Any] | None = None, lease_s: float = LEASE_S,
                  name: str | None = None) -> str:
        """Claim a run for ``owner`` before training it; at most one live claim per run.

        ``name`` (the design row's) is recorded with the run unless it already has one (:meth:`name_runs`).

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
                self._name(c, run_id, name)
                return "claimed"
            self._name(c, run_id, name)
            status, holder, beat = row
            if status != "running":
                return str(status)
            if holder and holder != owner and beat is not None and now - beat < lease_s and _owner_alive(holder):
                return "held"
            c.execute("UPDATE runs SET owner = ?, heartbeat = ? WHERE run_id = ?", (owner, now, run_id))
            return "claimed"

    def _name(self, c: sqlite3.Connection, run_id: str, name: str | None) -> None:
        if name:
            c.execute(f"INSERT OR IGNORE INTO {schema.NAMES_TABLE} (run_id, name) SELECT run_id, ? FROM runs "
                      "WHERE run_id = ?", (name, run_id))

    def name_runs(self, names: dict[str, str | None]) -> None:
        """Record the names of known runs that have none (in one transaction); unknown run ids are skipped.

        The first name a run is given stays: a run is found by its id whatever design lists it, so a later design
        that names the same (mixture, size) otherwise does not rename it, and two sweeps sharing a store never
        flip a run's name back and forth.
        """
        if not any(names.values()):
            return  # no write transaction (a sweep of an unnamed design opens the store for nothing else)
        with self._tx() as c:
            for rid, name in names.items():
                self._name(c, rid, name)

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
            For a loss that is not a finite number > 0 (record the run with :meth:`mark_diverged` instead): the
            export refuses such a row (a mixing law fits log losses), so it is never stored.
        """
        for name, value in {**losses, **({} if train_loss is None else {"train": train_loss})}.items():
            if not math.isfinite(float(value)):
                raise InputError(f"run {run_id} step {step}: {name} loss is {value}; a non-finite loss is not "
                                 f"stored (mark the run diverged)")
            if float(value) <= 0:
                # Stored, it made the whole store unexportable ('runs export' refuses it, naming only the row).
                raise InputError(f"run {run_id} step {step}: {name} loss is {value}; a loss <= 0 is not stored "
                                 f"(a mixing law fits log losses: mark the run diverged)")
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

    def names(self) -> dict[str, str | None]:
        """Every run id, sorted, with its name (None for a run no design named, or in a store from before names)."""
        named = {}
        if schema.NAMES_TABLE in schema.tables(self.conn):
            named = dict(self._read(f"SELECT run_id, name FROM {schema.NAMES_TABLE}"))
        return {rid: named.get(rid) for rid in self.run_ids()}

    def checkpoint_steps(self, run_id: str) -> list[int]:
        """Steps recorded for a run, ascending."""
        rows = self._read("SELECT step FROM checkpoints WHERE run_id = ? ORDER BY step", (run_id,))
        return [r[0] for r in rows]

    def run_table(self, *, include_unfinished: bool = False, ids: bool = False) -> pd.DataFrame:
        """The store as a run table (see :func:`export_run_table`); diverged runs are never included."""
        labels = {} if ids else run_labels(self.names())
        where = "WHERE r.status != 'diverged'" if include_unfinished else "WHERE r.status = 'done'"
        runs = self._read(f"SELECT r.run_id, r.config, r.domains, r.model_params FROM runs r {where} "
                          "ORDER BY r.run_id")
        # LEFT JOIN: an eval whose checkpoint row is gone (a hand-edited store) is an error, not a silently lost row.
        evals = self._read("SELECT e.run_id, e.step, c.tokens, e.domain, e.loss, c.run_id FROM evals e LEFT JOIN "
                           "checkpoints c ON c.run_id = e.run_id AND c.step = e.step "
                           "ORDER BY e.run_id, e.step")
        by_run: dict[str, dict[int, tuple[int, dict[str, float]]]] = {}
        for rid, step, tokens, domain, loss, ckpt in evals:
            at = f"{self._where}: run {rid!r} step {step!r} domain {domain!r}"
            if ckpt is None:
                raise InputError(f"{at}: the loss has no row in 'checkpoints' (the store was edited or is damaged)")
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (step, tokens, loss)):
                raise InputError(f"{at}: step/tokens/loss {(step, tokens, loss)!r} are not all numbers")
            # A sweep never stores a non-finite loss (the run is marked diverged) nor a fractional step: such a row
            # was exported as it was, and every reader of the table refused it, naming the table's row, not the run.
            if not isinstance(step, int) or not isinstance(tokens, int) or step < 0 or tokens < 0:
                raise InputError(f"{at}: step {step!r} and tokens {tokens!r} must be integers >= 0")
            if not (math.isfinite(loss) and loss > 0):
                raise InputError(f"{at}: loss is {loss!r}, expected a finite number > 0")
            by_run.setdefault(rid, {}).setdefault(step, (tokens, {}))[1][domain] = loss
        frames = []
        # In the order of the labels (a design's dd-000, dd-001 ..., not the order of their hashes), a name's sizes
        # by size (dd-000-500k, dd-000-1M; ids=True: by id, as before names).
        ordered = runs if ids else sorted(runs, key=lambda r: label_order(labels.get(r[0], r[0]), r[3]))
        for rid, config, domains, model_params in ordered:
            order = json.loads(domains)
            mixture = json.loads(config).get("mixture", {})
            mixture = {d: float(mixture.get(d, 0.0)) for d in order}
            # Losses in corpus order (SQLite returns them in primary-key order, i.e. alphabetical).
            rank = {d: k for k, d in enumerate(order)}
            ckpts = [(s, t, dict(sorted(losses.items(), key=lambda kv: rank.get(kv[0], len(rank)))))
                     for s, (t, losses) in sorted(by_run.get(rid, {}).items())]
            frames.append(run_table_rows(labels.get(rid, rid), mixture, model_params, ckpts))
        if not frames:
            return run_table_rows("", {}, 0, []).iloc[0:0]
        table = pd.concat(frames, ignore_index=True)
        if not ids:
            # A name several exported runs share (two 'train --name x' runs) became x-<id digits> without a word,
            # where the sweep of a design that repeats a name warns; the same warning here.
            names = self.names()
            count = Counter(n for n in names.values() if n)
            shared = list(dict.fromkeys(names[r[0]] for r in ordered if names.get(r[0]) and count[names[r[0]]] > 1))
            if shared:
                warnings.warn(shared_names_warning(shared, where=f"{self._where}: ", giver="the store", given="runs",
                                                   fix="give each run a name of its own, or name them all by id: "
                                                   "--ids"), DataWarning, stacklevel=user_stacklevel(2))
        # Runs of different corpora may not share domains: a missing weight is 0, a missing loss stays NaN.
        wcols = [c for c in table.columns if c.startswith("w:")]
        table[wcols] = table[wcols].fillna(0.0)
        # A corpus domain no run of the store trains on (a design over 3 of the corpus's 6 domains) is an eval set
        # only: its w: column, 0 in every row, gave each law a parameter no run can estimate, and ye-exp refused
        # the sweep's 6 final losses of 3 domains ("6 observations are too few to fit 7 parameters"). Judged over
        # the whole store, so that the columns do not depend on which runs an export includes.
        used = {d for (config,) in self._read("SELECT config FROM runs")
                for d, w in json.loads(config).get("mixture", {}).items() if float(w) > 0}
        unused = [c for c in wcols if c[2:] not in used]
        if len(wcols) - len(unused) >= 2:
            wcols = [c for c in wcols if c not in unused]
        else:
            unused = []
        lcols = [c for c in table.columns if c.startswith("loss:")]
        table = table[["run", *wcols, *lcols, "params", "step", "tokens"]]
        table.attrs["untrained_domains"] = [c[2:] for c in unused]
        return table

    def left_out(self, *, include_unfinished: bool = False) -> dict[str, int]:
        """How many runs :meth:`run_table` leaves out, by status: ``running`` (an interrupted or ongoing sweep's;
        exported with ``include_unfinished``) and ``diverged`` (never exported). Why: the export of an interrupted
        sweep's store said "wrote 15 rows (3 runs)" and nothing of the fourth run it had left out."""
        rows = self._read("SELECT status, COUNT(*) FROM runs GROUP BY status")
        counts = {str(k): int(n) for k, n in rows}
        out = {"diverged": counts.get("diverged", 0)}
        out["running"] = 0 if include_unfinished else counts.get("running", 0)
        return {k: n for k, n in out.items() if n}


class Heartbeat:
    """Keep ``owner``'s claims alive from a background thread (its own connection) while a run trains.

    ``alive`` is an optional check called before each beat; when it returns False (e.g. the sweep that started
    this worker is gone) the beats stop, so the claim lapses and another sweep can take the run over.

    The store must exist (it is never created here: a store deleted during the sweep was made again, empty, by the
    next heartbeat). When it is gone, the beats stop and :attr:`gone` holds the :class:`StoreGone` error, which
    :meth:`check` raises in the training thread (between steps) so that the run stops before its next checkpoint.
    """

    def __init__(self, path: str | os.PathLike[str], owner: str, interval: float = HEARTBEAT_S,
                 alive: Any = None) -> None:
        self.path, self.owner, self.interval, self.alive = Path(path), owner, interval, alive
        self.gone: StoreGone | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mixlaw-heartbeat", daemon=True)

    def check(self) -> None:
        """Raise :class:`StoreGone` once a beat found the store deleted or replaced."""
        if self.gone is not None:
            raise self.gone

    def _run(self) -> None:
        try:
            store = RunStore(self.path, create=False)
        except StoreGone as err:
            self.gone = err
            return
        except InputError:
            return
        try:
            while not self._stop.wait(self.interval):
                if self.alive is not None and not self.alive():
                    return
                try:
                    store.heartbeat(self.owner)
                except StoreGone as err:
                    self.gone = err
                    return
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


def export_run_table(db: str | os.PathLike[str] | RunStore, *, include_unfinished: bool = False,
                     ids: bool = False) -> pd.DataFrame:
    """Read a run store as the run table of DESIGN §2.

    A run's ``run`` is its name in the sweep's design (the design's ``run`` column, with the model size
    appended when the sweep trained several sizes: ``dd-003-200k``), so results match the design's rows; a run
    without a name (``mixlaw train --store``, a design with no ``run`` column, a store from before names) is
    named by its id, and a name several runs share gets each run's short id appended (:func:`.table.run_labels`).

    Parameters
    ----------
    db : path or RunStore
        The store (it must exist: exporting never creates one).
    include_unfinished : bool, default False
        Also export the checkpoints of runs still marked ``running`` (an interrupted sweep).
    ids : bool, default False
        Name every run by its id (the hash of its config, as ``mixlaw sweep --json`` lists them) instead.

    Returns
    -------
    pandas.DataFrame
        One row per (run, checkpoint): ``run``, ``w:<domain>``..., ``loss:<domain>``..., ``params``
        (non-embedding parameters), ``step``, ``tokens``; sorted by ``run`` then step.

    Raises
    ------
    InputError
        If the store is missing, unreadable or malformed (naming the run and column).
    """
    if isinstance(db, RunStore):
        return db.run_table(include_unfinished=include_unfinished, ids=ids)
    if Path(db).is_dir():
        # A folder (the sweep's output folder) was told it "does not exist".
        raise InputError(f"run store {str(db)!r} is a folder; give the store file (mixlaw sweep --store runs.db)")
    if not Path(db).is_file():
        raise InputError(f"run store {str(db)!r} does not exist; run 'mixlaw sweep --store {db}' first")
    with RunStore(db, readonly=True) as store:  # exporting never writes (a read-only store exports too)
        return store.run_table(include_unfinished=include_unfinished, ids=ids)

