"""Resumable sweeps: train every (mixture, model size) of a design into a run store.

:func:`plan_sweep` resolves each (mixture, size) against the corpus and computes its run id (so every
input error surfaces before anything trains); :func:`run_sweep` skips the ids the store has finished and
trains the rest on a local process pool (default) or a Ray cluster (``backend="ray"``).

Crash safety. Local workers write each checkpoint to the store in its own transaction and save a
training checkpoint file (model, optimizer, sampler state) beside the store; after ``kill -9`` a new
sweep skips the finished runs and resumes each unfinished one from its checkpoint file, bitwise as if
never interrupted. Nothing is duplicated: checkpoint rows are keyed by (run, step) and runs by id.
A worker whose sweep process died stops at its next checkpoint instead of running on as an orphan. A store
deleted during the sweep stops it with one error (:class:`~mixlaw.store.StoreGone`) within a heartbeat, instead
of training on into a deleted file or a new empty store.

Ray tasks train without touching the store (a cluster's nodes need not share a disk) and return their
results; the driver writes them, one transaction per checkpoint. The corpus must be readable at the
same path on every node.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._atomic import sweep_stale
from ._console import PlainLines
from ._validation import first_and_more
from ._version import __version__
from .data import share_value
from .data.reading import _read_any
from .errors import DataError, DataWarning, InputError, user_stacklevel
from .store import Heartbeat, LeaseLost, RunStore, new_owner
from .store.table import shared_names_warning
from .train.config import ProxyConfig, parse_count, run_id
from .train.data import Corpus  # numpy memmaps only, no torch

BACKENDS = ("local", "ray")


@dataclass
class PlannedRun:
    """One run of a sweep: its id, resolved config, design row (1-based editor line) and name (the design row's
    name, with the model size appended when the sweep has several sizes; None when the design names no rows)."""

    run_id: str
    config: ProxyConfig
    row: int
    name: str | None = None


@dataclass
class SweepResult:
    """Summary of :func:`run_sweep`.

    Attributes
    ----------
    run_ids : list of str
        Every run of the sweep, sorted.
    trained : list of str
        Runs trained (or resumed) by this call.
    skipped : list of str
        Runs the store had already finished (or another sweep finished meanwhile).
    wall_s : float
    diverged : list of str
        Runs whose loss stopped being finite (recorded ``diverged`` with their reason in the store).
    """

    run_ids: list[str]
    trained: list[str]
    skipped: list[str]
    wall_s: float
    diverged: list[str] = dataclasses.field(default_factory=list)


def load_design(path: str | os.PathLike[str]) -> list[dict[str, float]]:
    """Read mixtures from a CSV/Parquet/JSONL file with ``w:<domain>`` columns (other columns ignored).

    Raises
    ------
    DataError
        Missing file, no ``w:`` column, or a weight that is not a finite number >= 0 (naming row and column).
    """
    return read_design(path)[0]


def read_design(path: str | os.PathLike[str]) -> tuple[list[dict[str, float]], list[str | None]]:
    """Mixtures (as :func:`load_design`) and each row's name: its ``run`` cell (``mixlaw design`` writes one),
    None where the design has no ``run`` column or the cell is empty."""
    mixtures, names, _ = _read_design(path)
    return mixtures, names


def _read_design(path: str | os.PathLike[str]) -> tuple[list[dict[str, float]], list[str | None], list[int]]:
    """:func:`read_design`, plus each row's place as errors name it (a CSV's editor line, a JSONL record's own line,
    a Parquet file's row), for the errors :func:`plan_sweep` raises about a row."""
    p = Path(path)
    if not p.is_file():
        raise DataError("design file not found", path=str(p))
    try:
        # Read as run tables are (data.reading._read_any): names as written ('007' is not the run '7', 'NA' and 'None'
        # are names), and each row's place as errors name it: a CSV's editor line, a JSONL record's own line, a
        # Parquet file's row. read_design had its own reader, which counted every format's rows as a CSV's.
        frame, where = _read_any(p, text_columns=["run"])
    except InputError:
        raise
    except (OSError, ValueError) as err:  # pandas/pyarrow parse errors are ValueErrors
        raise DataError(f"cannot read the design ({type(err).__name__}: {err})", path=str(p)) from None
    wcols = [c for c in frame.columns if str(c).startswith("w:")]
    names: list[str | None] = [None] * len(frame)
    if "run" in frame.columns:
        names = [None if pd.isna(v) or not str(v).strip() else str(v).strip() for v in frame["run"]]
    if not wcols:
        raise DataError(f"no 'w:<domain>' columns (found {list(frame.columns)}); expected one weight column per "
                        f"domain, e.g. w:code,w:legal", path=str(p))
    mixtures = []
    for i, row in enumerate(frame[wcols].itertuples(index=False)):
        mixture = {}
        for col, value in zip(wcols, row, strict=True):
            try:
                # A JSON true is no weight (float(True) made it 1.0, a run of that domain alone). A percentage ('50%')
                # is read as a run table reads it: the design's own sum error says "or mark them: code=60%", and
                # then refused '50%' as "not a finite number" (hunt30).
                w = (float("nan") if isinstance(value, (bool, np.bool_)) else
                     share_value(value) if isinstance(value, str) and value.strip().endswith("%") else float(value))
            except (TypeError, ValueError):
                w = float("nan")
            if not np.isfinite(w) or w < 0:
                raise DataError(f"weight {value!r} is not a finite number >= 0", path=str(p), row=int(where[i]),
                                column=col)
            mixture[col[2:]] = w
        mixtures.append(mixture)
    if not mixtures:
        raise DataError("the design has no rows", path=str(p))
    return mixtures, names, [int(r) for r in where]


def _size_label(n: int) -> str:
    """A model size as a run-name suffix: 200000 -> '200k', 1500000 -> '1.5M'."""
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.4g}{unit}"
    return str(n)


def plan_sweep(corpus: str | os.PathLike[str], mixtures: Sequence[dict[str, float]], sizes: Sequence[int | str],
               tokens: int | str, base: ProxyConfig | None = None, design_path: str | None = None,
               names: Sequence[str | None] | None = None, rows: Sequence[int] | None = None) -> list[PlannedRun]:
    """Resolve every (mixture, size) and compute its run id; duplicates collapse to one run (the first row's).

    ``names`` (one per mixture, or None) name the runs: a mixture's name, plus ``-<size>`` (``-200k``) when
    there are several sizes, becomes the exported run's ``run`` (:func:`mixlaw.store.export_run_table`).
    ``rows`` (one per mixture) are the rows' places in ``design_path`` as errors name them (default: a CSV's
    editor lines, 2, 3, ...).

    Returns
    -------
    list of PlannedRun
        Sorted by run id (a stable order, independent of how the design is laid out).

    Raises
    ------
    InputError
        Bad corpus, a mixture naming an unknown domain or not summing to 1 (naming the design row).
    """
    base = base or ProxyConfig()
    opened = Corpus(corpus)
    size_list = [parse_count(s, "--sizes") for s in sizes]
    n_tokens = parse_count(tokens, "--tokens")
    if not size_list:
        raise InputError("--sizes: give at least one model size, e.g. 0.1M,0.2M")
    twice = next(((sizes[j], sizes[i]) for i, s in enumerate(size_list) for j in range(i) if size_list[j] == s), None)
    if twice is not None:
        # '--sizes 0.1M,0.1M' (a typo for 0.1M,0.2M?) trained each mixture at one size, half the runs asked for,
        # without a word; as a repeated law or eval name, refused.
        raise InputError(f"--sizes: the size {size_list[sizes.index(twice[0])]:,} given twice ({twice[0]!s} and "
                         f"{twice[1]!s}); give each model size once")
    if names is not None and len(names) != len(mixtures):
        raise InputError(f"{len(names)} names for {len(mixtures)} mixtures; give one name (or None) per mixture")
    for size in size_list:
        # The fields no design row sets, checked before the rows: a bad '--lr=5' (or --sizes/--tokens with it) is
        # no row's fault, and was reported as "design.csv:2: config field 'lr' must lie in (0, 1]".
        dataclasses.replace(base, model_size=size, train_tokens=n_tokens, n_layer=0, n_embd=0, n_head=0).validate()
    several = len(set(size_list)) > 1
    planned: dict[str, PlannedRun] = {}
    repeats: list[str] = []

    def place(i: int) -> int:
        """Mixture i's row as errors name it: a JSONL design's first record is its line 1, not 2."""
        return i + 2 if rows is None else int(rows[i])

    def label(row: int) -> str:
        given = None if names is None else names[row - 2]
        return f"row {place(row - 2)}" + (f" ({given!r})" if given else "")

    for i, mixture in enumerate(mixtures):
        for size in size_list:
            cfg = dataclasses.replace(base, corpus=str(corpus), mixture=dict(mixture), model_size=size,
                                      train_tokens=n_tokens, n_layer=0, n_embd=0, n_head=0)
            try:
                resolved = cfg.resolved(opened.domains)
            except InputError as err:
                if design_path is None:
                    raise InputError(f"mixture {i + 1}: {err}") from None
                raise DataError(str(err), path=design_path, row=place(i)) from None
            opened.check_block_size(resolved.block_size)
            rid = run_id(resolved, opened.fingerprint)
            name = None if names is None else names[i]
            if name and several:
                name = f"{name}-{_size_label(size)}"
            first = planned.setdefault(rid, PlannedRun(rid, resolved, i + 2, name))
            if first.row != i + 2 and size == size_list[0]:
                repeats.append(f"{label(i + 2)} repeats {label(first.row)}")
    where = f"{design_path}: " if design_path else ""
    if repeats:
        # One run per distinct config: a repeated row was dropped without a word, and its name never exported.
        warnings.warn(f"{where}{len(repeats)} design row(s) repeat an earlier row's mixture and are trained once, "
                      f"under the earlier row's name: {first_and_more(repeats, sep='; ')}", DataWarning,
                      stacklevel=user_stacklevel(2))
    rows = sorted({r.row for r in planned.values()})  # the design rows that got runs of their own
    counts = pd.Series([names[r - 2] for r in rows if names is not None and names[r - 2]], dtype=object).value_counts()
    shared = [str(n) for n, k in counts.items() if k > 1]
    if shared:
        warnings.warn(shared_names_warning(shared, where=where, giver="the design", given="rows",
                                           fix="give each row a name of its own"), DataWarning,
                      stacklevel=user_stacklevel(2))
    return [planned[k] for k in sorted(planned)]


def _checkpoint_dir(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + ".ckpt")


#: Seconds between attempts to claim runs that another sweep holds.
POLL_S = 2.0


def record_saved_checkpoints(store: RunStore, rid: str, saved: dict[str, Any] | None, owner: str | None) -> None:
    """Re-record the checkpoints a run's training file ``saved`` (:func:`~mixlaw.train.loop.load_checkpoint`) already
    holds, identical numbers, when it is run ``rid``'s: training resumes from the file and reports only the
    checkpoints after it, so the store is complete even if it was replaced or emptied (a claim empties the run's rows)
    while the file stayed. Used by the sweep's workers and by ``mixlaw train --store --out``."""
    if saved is not None and saved.get("run_id") == rid:
        for ck in saved["checkpoints"]:
            store.record_checkpoint(rid, ck["step"], ck["tokens"], ck["losses"], ck["train_loss"], owner=owner)


def _execute(config: dict[str, Any], store_path: str, ckpt_dir: str | None, threads: int,
             parent_pid: int | None, keep_checkpoints: bool = False,
             on_step: Callable[[int, int], None] | None = None, name: str | None = None) -> tuple[str, str]:
    """Claim one run, train it and record it in the store (in a pool worker, or in-process with one worker).

    Returns ``(run_id, outcome)``: ``"trained"``, ``"diverged"`` (recorded with its reason), ``"done"`` (another
    sweep finished it) or ``"held"`` (another live sweep is training it; try later). Resumes from
    ``<ckpt_dir>/<run_id>.pt`` when present; otherwise forgets any partial rows of an earlier attempt first,
    so the store's checkpoints always come from one consistent trajectory.
    """
    import torch

    from .train.loop import build_model, load_checkpoint, prepare, train

    cfg, corpus, rid = prepare(ProxyConfig.from_dict(config))
    cfg = dataclasses.replace(cfg, num_threads=threads)
    old_threads = torch.get_num_threads()
    store = RunStore(store_path, create=False)  # the sweep made it: gone now, it was deleted (StoreGone)
    owner = new_owner()
    claimed = False
    try:
        if store.status(rid) in ("done", "diverged"):
            return rid, "done"
        outcome = store.claim_run(rid, owner, cfg.to_dict(), corpus.domains, build_model(cfg).num_params(),
                                  info={"corpus_fingerprint": corpus.fingerprint}, name=name)
        if outcome != "claimed":
            return rid, "done" if outcome in ("done", "diverged") else outcome
        claimed = True
        ckpt = Path(ckpt_dir) / f"{rid}.pt" if ckpt_dir is not None else None
        saved = load_checkpoint(ckpt) if ckpt is not None and ckpt.is_file() else None
        store.reset_run(rid)
        record_saved_checkpoints(store, rid, saved, owner)

        def record(run: str, _cfg: ProxyConfig, _n: int, ck: Any) -> None:
            # A worker orphaned by a killed sweep (its parent is gone) stops here rather than racing the
            # resumed sweep; the rows it wrote are identical to what the resumed run writes.
            if parent_pid is not None and os.getppid() != parent_pid:
                os._exit(3)
            store.record_checkpoint(run, ck.step, ck.tokens, ck.losses, ck.train_loss, owner=owner)

        alive = None if parent_pid is None else (lambda: os.getppid() == parent_pid)
        heartbeat = Heartbeat(store_path, owner, alive=alive)

        def step(done: int, total: int) -> None:
            heartbeat.check()  # a beat found the store deleted: stop now, not at the next checkpoint's write
            if on_step is not None:
                on_step(done, total)

        with heartbeat:
            result = train(cfg, corpus=corpus, ckpt_path=ckpt, on_checkpoint=record, on_step=step)
        if result.diverged is not None:
            store.mark_diverged(rid, result.diverged, result.wall_s, owner=owner)
            outcome = "diverged"
        else:
            store.finish_run(rid, result.wall_s, owner=owner,
                             info={"corpus_fingerprint": corpus.fingerprint, "device": result.device,
                                   "tokens_per_s": result.tokens_per_s, "mixlaw_version": __version__})
            outcome = "trained"
        claimed = False
        if ckpt is not None:
            sweep_stale(ckpt)  # temp files of a worker killed mid-save (an interrupted earlier sweep)
            if not keep_checkpoints:
                ckpt.unlink(missing_ok=True)
        return rid, outcome
    except LeaseLost:
        claimed = False
        return rid, "held"
    finally:
        if claimed:  # an error mid-run: let the next sweep take the run at once instead of after the lease
            try:
                store.release_run(rid, owner)
            except InputError:
                pass
        store.close()
        torch.set_num_threads(old_threads)


def _execute_remote(config: dict[str, Any], threads: int) -> dict[str, Any]:
    """Ray task: train one run and return its result as plain data (the driver writes the store)."""
    from .train.loop import train

    cfg = dataclasses.replace(ProxyConfig.from_dict(config), num_threads=threads)
    result = train(cfg)
    return result.to_dict()


class _PlainProgress:
    """The sweep's progress off a terminal (a batch job, a CI log, a pipe), where rich draws its bar once, when
    the sweep ends: :class:`~mixlaw._console.PlainLines` saying ``sweep k/n runs`` as runs finish or, one run at
    a time, as its steps advance (``..., run <id> step s/S``), and a last line at the end when any was printed.
    Duck-types the part of rich's ``Progress`` that :func:`run_sweep` uses."""

    def __init__(self) -> None:
        self.tasks: dict[int, list[Any]] = {}  # id -> [description, completed, total]
        self.next_id = 0
        self.lines = PlainLines()

    def __enter__(self) -> _PlainProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is None and self.tasks:
            self.lines.done(self._what())

    def _what(self, step_task: int | None = None) -> str:
        _, done, total = self.tasks[0]
        what = f"sweep {done:.0f}/{total:.0f} runs"
        if step_task is not None:
            desc, s, n = self.tasks[step_task]
            what += f", {desc.strip()} step {s:.0f}/{n:.0f}"
        return what

    def add_task(self, description: str, total: float | None = None, completed: float = 0, **_: Any) -> int:
        task, self.next_id = self.next_id, self.next_id + 1
        self.tasks[task] = [description, float(completed), total]
        return task

    def advance(self, task: int, advance: float = 1) -> None:
        self.tasks[task][1] += advance
        if task == 0 and self.lines.due():
            self.lines.line(self._what())

    def update(self, task: int, completed: float | None = None, **_: Any) -> None:
        if completed is not None and task in self.tasks:
            self.tasks[task][1] = float(completed)
            if task != 0 and self.lines.due():
                self.lines.line(self._what(step_task=task))

    def remove_task(self, task: int) -> None:
        self.tasks.pop(task, None)


def _progress(enabled: bool, total: int) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True, emoji=False)
    if enabled and not console.is_terminal:
        return _PlainProgress()
    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=console,
                    disable=not enabled, transient=False)


def run_sweep(corpus: str | os.PathLike[str], mixtures: Sequence[dict[str, float]] | str | os.PathLike[str],
              sizes: Sequence[int | str], tokens: int | str, store: str | os.PathLike[str], *, workers: int = 1,
              backend: str = "local", address: str | None = None, base: ProxyConfig | None = None,
              progress: bool = True, keep_checkpoints: bool = False,
              names: Sequence[str | None] | None = None) -> SweepResult:
    """Train every (mixture, size) not yet finished in ``store``.

    Parameters
    ----------
    corpus : path
        Corpus folder (``mixlaw corpus build``).
    mixtures : list of dict, or path
        Mixtures, or a design file with ``w:<domain>`` columns (:func:`load_design`) whose ``run`` column, when
        it has one, names the runs.
    sizes : sequence of int or str
        Target non-embedding parameter counts (``"0.1M"``...).
    tokens : int or str
        Training tokens per run (``"2M"``).
    store : path
        SQLite run store (created if missing). Several sweeps may share it: each run is claimed before it
        trains, so every run trains once, and a run whose claimant crashed is taken over and resumed.
    workers : int, default 1
        Concurrent runs. Each gets ``cores // workers`` torch threads (at least 1); with 1 worker the runs
        train in this process. Results depend on the thread count (floating-point summation order), so
        compare sweeps run with the same ``workers``.
    backend : {"local", "ray"}
        ``"ray"`` submits runs to ``ray.init(address=address)`` (``pip install mixlaw[ray]``).
    address : str, optional
        Ray cluster address (``"auto"``, ``"host:6379"``, ``"ray://host:10001"``); ``None`` starts a local Ray.
        A ``host:port`` address must accept a connection within :data:`RAY_CONNECT_TIMEOUT_S`.
    base : ProxyConfig, optional
        Defaults for every other field (seed, lr, block size, eval_every...).
    progress : bool, default True
        Show a rich progress bar on stderr; off a terminal, a line every 10 s or more as runs finish.
    keep_checkpoints : bool, default False
        Keep each finished run's checkpoint file (``<store>.ckpt/<run_id>.pt``) instead of deleting it.
    names : sequence of str or None, optional
        A name per mixture of a list of ``mixtures`` (a design file's names are its ``run`` column). The store
        keeps each run's first name beside its id, also for runs an earlier sweep finished unnamed, and
        :func:`mixlaw.store.export_run_table` labels the run with it (``name-<size>`` with several sizes).

    Returns
    -------
    SweepResult
        ``trained`` holds the runs this call trained (a run another sweep trained meanwhile is in ``skipped``);
        ``diverged`` the runs whose loss stopped being finite (recorded with their reason, not retrained).

    Raises
    ------
    InputError
        Bad corpus, design, sizes, store, backend or worker count, all before any training starts; an
        unreachable Ray address; a store write that failed (full disk), with the store left consistent.
    """
    t0 = time.perf_counter()
    if backend not in BACKENDS:
        raise InputError(f"--backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(f"--workers must be an integer >= 1, got {workers!r}")
    if backend == "ray":
        _check_ray_address(address)  # before the store is created or anything is planned
    design_path, rows = None, None
    if isinstance(mixtures, (str, os.PathLike)):
        if names is not None:
            raise InputError("names apply to a list of mixtures; a design file names its rows in its 'run' column")
        design_path = str(mixtures)
        mixtures, names, rows = _read_design(mixtures)
    plan = plan_sweep(corpus, mixtures, sizes, tokens, base, design_path=design_path, names=names, rows=rows)
    store_path = Path(store)
    with RunStore(store_path) as db:
        before = {p.run_id: db.status(p.run_id) for p in plan}
        db.name_runs({p.run_id: p.name for p in plan if p.name})  # runs an earlier (unnamed) sweep trained
    todo = [p for p in plan if before[p.run_id] not in ("done", "diverged")]
    outcomes: dict[str, str] = {}
    base_threads = (base.num_threads if base is not None else 0)
    threads = base_threads or max(1, (os.cpu_count() or 1) // workers)
    with _progress(progress, len(plan)) as bar:
        task = bar.add_task("sweep", total=len(plan), completed=len(plan) - len(todo))

        def settle(rid: str, outcome: str) -> bool:
            """Record an outcome; False when the run must be tried again (another sweep holds it)."""
            if outcome == "held":
                return False
            outcomes[rid] = outcome
            bar.advance(task)
            return True

        if backend == "ray":
            _run_ray(todo, store_path, workers, threads, address, settle)
        else:
            ckpt_dir = _checkpoint_dir(store_path)
            try:
                ckpt_dir.mkdir(exist_ok=True)
            except OSError as err:
                raise InputError(f"cannot create the checkpoint folder {str(ckpt_dir)!r}: {err.strerror}") from None
            pending = list(todo)
            while pending:
                if workers == 1:
                    held = []
                    for p in pending:
                        steps = bar.add_task(f"  run {p.name or p.run_id}", total=p.config.max_steps)
                        try:
                            rid, outcome = _execute(p.config.to_dict(), str(store_path), str(ckpt_dir), threads,
                                                    None, keep_checkpoints,
                                                    on_step=lambda s, n, t=steps: bar.update(t, completed=s),
                                                    name=p.name)
                        finally:
                            bar.remove_task(steps)
                        if not settle(rid, outcome):
                            held.append(p)
                else:
                    held = _run_pool(pending, store_path, ckpt_dir, workers, threads, keep_checkpoints, settle)
                pending = held
                if pending:
                    time.sleep(POLL_S)  # another sweep is training these: wait for it to finish or lapse
    skipped = [p.run_id for p in plan if before[p.run_id] == "done" or outcomes.get(p.run_id) == "done"]
    return SweepResult(run_ids=[p.run_id for p in plan],
                       trained=[p.run_id for p in plan if outcomes.get(p.run_id) == "trained"], skipped=skipped,
                       wall_s=time.perf_counter() - t0,
                       diverged=[p.run_id for p in plan if before[p.run_id] == "diverged"
                                 or outcomes.get(p.run_id) == "diverged"])


def _run_pool(pending: list[PlannedRun], store_path: Path, ckpt_dir: Path, workers: int, threads: int,
              keep_checkpoints: bool, settle: Callable[[str, str], bool]) -> list[PlannedRun]:
    """Train ``pending`` on a process pool; returns the runs another sweep held."""
    held = []
    by_id = {p.run_id: p for p in pending}
    # spawn: a fresh interpreter per worker; forking a process that has touched torch's thread
    # pools can deadlock, and spawn behaves the same on Linux, macOS and Windows.
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(_execute, p.config.to_dict(), str(store_path), str(ckpt_dir), threads,
                               os.getpid(), keep_checkpoints, name=p.name) for p in pending}
        try:
            while futures:
                finished, futures = wait(futures, return_when=FIRST_COMPLETED)
                for fut in finished:
                    rid, outcome = fut.result()  # re-raises a worker's error here
                    if not settle(rid, outcome):
                        held.append(by_id[rid])
        except BaseException:
            # Ctrl-C (or a worker's error): the pool's exit waited for every queued run, so an interrupted sweep
            # trained on for minutes (83 s of a 12-run sweep) before it stopped. Drop the runs not started; the
            # ones in flight got the same SIGINT from the terminal and stop at once (a resumed sweep redoes them).
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return held


#: Seconds to wait for a TCP connection to a ``host:port`` Ray address before giving up.
RAY_CONNECT_TIMEOUT_S = 10.0


def _check_ray_address(address: str | None) -> None:
    """Refuse a ``host:port`` (or ``ray://host:port``) address that does not accept a connection in time:
    ``ray.init`` would otherwise retry for minutes with no output."""
    if address is None or address in ("auto", "local"):
        return
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise InputError(f"--address {address!r}: expected auto, host:port or ray://host:port")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=RAY_CONNECT_TIMEOUT_S).close()
    except OSError as err:
        raise InputError(f"--address {address!r}: cannot connect to the Ray cluster within "
                         f"{RAY_CONNECT_TIMEOUT_S:g} s ({err.strerror or err}); is it running "
                         f"('ray start --head')?") from None


def _run_ray(todo: list[PlannedRun], store_path: Path, workers: int, threads: int, address: str | None,
             settle: Callable[[str, str], bool]) -> None:
    """Submit runs as Ray tasks (at most ``workers`` at a time) and record each result as it arrives.

    The driver claims each run in the store before submitting it and heartbeats the claims while the tasks run,
    so a local sweep sharing the store does not train the same run.
    """
    try:
        import ray
    except ImportError:
        raise InputError("--backend ray needs Ray: pip install 'mixlaw[ray]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        # Local Ray: no dashboard (it needs extra packages and ports); quiet logs so stderr keeps the bar.
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address is None:
            kwargs["num_cpus"] = max(workers * threads, os.cpu_count() or 1)
        try:
            ray.init(address=address, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise InputError(f"--address {address!r}: cannot start or join Ray: {err}") from None
    owner = new_owner()
    try:
        remote = ray.remote(num_cpus=threads)(_execute_remote)
        queue = list(todo)
        in_flight: dict[Any, PlannedRun] = {}
        with RunStore(store_path, create=False) as db, Heartbeat(store_path, owner):
            while queue or in_flight:
                held = []
                while queue and len(in_flight) < workers:
                    p = queue.pop(0)
                    cfg = p.config.to_dict()
                    outcome = db.claim_run(p.run_id, owner, cfg, list(cfg["mixture"]), 0, name=p.name)
                    if outcome == "claimed":
                        in_flight[remote.remote(cfg, threads)] = p
                    elif not settle(p.run_id, "done" if outcome in ("done", "diverged") else outcome):
                        held.append(p)
                queue.extend(held)
                if not in_flight:
                    time.sleep(POLL_S)
                    continue
                ready, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in ready:
                    in_flight.pop(ref)
                    result = ray.get(ref)
                    settle(result["run_id"], _record_result(db, result, owner))
    finally:
        if started_here:
            ray.shutdown()


def _record_result(db: RunStore, result: dict[str, Any], owner: str | None = None) -> str:
    """Write a returned :class:`~mixlaw.train.loop.RunResult` (as a dict): one transaction per checkpoint."""
    rid, cfg = result["run_id"], result["config"]
    db.reset_run(rid)
    # The claim registered the run before its parameter count was known; this fills it in.
    db.begin_run(rid, cfg, list(cfg["mixture"]), result["model_params"],
                 info={"corpus_fingerprint": result["corpus_fingerprint"]})
    for ck in result["checkpoints"]:
        db.record_checkpoint(rid, ck["step"], ck["tokens"], ck["losses"], ck["train_loss"], owner=owner)
    if result.get("diverged"):
        db.mark_diverged(rid, result["diverged"], result["wall_s"], owner=owner)
        return "diverged"
    db.finish_run(rid, result["wall_s"], owner=owner,
                  info={"corpus_fingerprint": result["corpus_fingerprint"], "device": result["device"],
                        "tokens_per_s": result["tokens_per_s"], "mixlaw_version": __version__, "backend": "ray"})
    return "trained"


__all__ = ["BACKENDS", "PlannedRun", "SweepResult", "load_design", "read_design", "plan_sweep", "run_sweep"]
