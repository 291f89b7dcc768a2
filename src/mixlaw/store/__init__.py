"""Crash-safe run store: one SQLite file in WAL mode holding every proxy run and checkpoint.

Sweeps write each checkpoint in one transaction and claim a run before training it, so a process killed at any
moment, or several sweeps sharing one store, leave it consistent with every run trained once
(:mod:`.runstore`: :class:`RunStore`, claims and heartbeats). A store is untrusted input: opening one checks its
schema and every run row, and any SQLite error later runs ``PRAGMA quick_check`` and reports its verdict as
one :class:`~mixlaw.errors.InputError` (:mod:`.schema`). :func:`export_run_table` turns the store into the run
table of DESIGN §2 (:mod:`.table`), which ``mixlaw compare/pipeline/optimize`` read.

This package needs only the standard library and pandas (no torch); everything is importable from here.
"""

from .runstore import HEARTBEAT_S, LEASE_S, Heartbeat, LeaseLost, RunStore, StoreGone, export_run_table, new_owner
from .schema import READABLE_VERSIONS, SCHEMA_VERSION, STATUSES
from .table import run_labels, run_table_rows, write_table

__all__ = ["RunStore", "Heartbeat", "LeaseLost", "StoreGone", "new_owner", "export_run_table", "run_labels",
           "run_table_rows", "write_table", "SCHEMA_VERSION", "READABLE_VERSIONS", "STATUSES", "LEASE_S", "HEARTBEAT_S"]
