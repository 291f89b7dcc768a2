"""Resumable sweeps: train every (mixture, model size) of a design into a run store.

:func:`plan_sweep` resolves each (mixture, size) against the corpus and computes its run id (so every
input error surfaces before anything trains); :func:`run_sweep` skips the ids the store has finished and
trains the rest on a local process pool (default) or a Ray cluster (``backend="ray"``).

Crash safety. Local workers write each checkpoint to the store in its own transaction and save a
training checkpoint file (model, optimizer, sampler state) beside the store; after ``kill -9`` a new
sweep skips the finished runs and resumes each unfinished one from its checkpoint file, bitwise as if
never interrupted. Nothing is duplicated: checkpoint rows are keyed by (run, step) and runs by id.
A worker whose sweep process died stops at its next checkpoint instead of running on as an orphan.

Ray tasks train without touching the store (a cluster's nodes need not share a disk) and return their
results; the driver writes them, one transaction per checkpoint. The corpus must be readable at the
same path on every node.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._version import __version__
from .errors import DataError, InputError
from .store import RunStore
from .train.config import ProxyConfig, parse_count, run_id
from .train.data import Corpus  # numpy memmaps only, no torch

BACKENDS = ("local", "ray")


@dataclass
class PlannedRun:
    """One run of a sweep: its id, resolved config and design row (1-based editor line)."""

    run_id: str
    config: ProxyConfig
    row: int


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
        Runs the store had already finished.
    wall_s : float
    """

    run_ids: list[str]
    trained: list[str]
    skipped: list[str]
    wall_s: float


def load_design(path: str | os.PathLike[str]) -> list[dict[str, float]]:
    """Read mixtures from a CSV/Parquet/JSONL file with ``w:<domain>`` columns (other columns ignored).

    Raises
    ------
    DataError
        Missing file, no ``w:`` column, or a weight that is not a finite number >= 0 (naming row and column).
    """
    p = Path(path)
    if not p.is_file():
        raise DataError("design file not found", path=str(p))
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(p)
        elif p.suffix.lower() == ".jsonl":
            frame = pd.read_json(p, lines=True)
        else:
            frame = pd.read_csv(p)
    except (OSError, ValueError) as err:  # pandas/pyarrow parse errors are ValueErrors
        raise DataError(f"cannot read the design ({type(err).__name__}: {err})", path=str(p)) from None
    wcols = [c for c in frame.columns if str(c).startswith("w:")]
    if not wcols:
        raise DataError(f"no 'w:<domain>' columns (found {list(frame.columns)}); expected one weight column per "
                        f"domain, e.g. w:code,w:legal", path=str(p))
    mixtures = []
    for i, row in enumerate(frame[wcols].itertuples(index=False)):
        mixture = {}
        for col, value in zip(wcols, row, strict=True):
            try:
                w = float(value)
            except (TypeError, ValueError):
                w = float("nan")
            if not np.isfinite(w) or w < 0:
                raise DataError(f"weight {value!r} is not a finite number >= 0", path=str(p), row=i + 2, column=col)
            mixture[col[2:]] = w
        mixtures.append(mixture)
    if not mixtures:
        raise DataError("the design has no rows", path=str(p))
    return mixtures


def plan_sweep(corpus: str | os.PathLike[str], mixtures: Sequence[dict[str, float]], sizes: Sequence[int | str],
               tokens: int | str, base: ProxyConfig | None = None, design_path: str | None = None
               ) -> list[PlannedRun]:
    """Resolve every (mixture, size) and compute its run id; duplicates collapse to one run.

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
    planned: dict[str, PlannedRun] = {}
    for i, mixture in enumerate(mixtures):
        for size in size_list:
            cfg = dataclasses.replace(base, corpus=str(corpus), mixture=dict(mixture), model_size=size,
                                      train_tokens=n_tokens, n_layer=0, n_embd=0, n_head=0)
            try:
                resolved = cfg.resolved(opened.domains)
            except InputError as err:
                if design_path is None:
                    raise InputError(f"mixture {i + 1}: {err}") from None
                raise DataError(str(err), path=design_path, row=i + 2) from None
            opened.check_block_size(resolved.block_size)
            rid = run_id(resolved, opened.fingerprint)
            planned.setdefault(rid, PlannedRun(rid, resolved, i + 2))
    return [planned[k] for k in sorted(planned)]


def _checkpoint_dir(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + ".ckpt")


def _execute(config: dict[str, Any], store_path: str, ckpt_dir: str | None, threads: int,
             parent_pid: int | None, keep_checkpoints: bool = False,
             on_step: Callable[[int, int], None] | None = None) -> str:
    """Train one run and record it in the store (runs in a pool worker, or in-process with one worker).

    Resumes from ``<ckpt_dir>/<run_id>.pt`` when present; otherwise forgets any partial rows of an
    earlier attempt first, so the store's checkpoints always come from one consistent trajectory.
    """
    import torch

    from .train.loop import build_model, prepare, train

    cfg, corpus, rid = prepare(ProxyConfig.from_dict(config))
    cfg = dataclasses.replace(cfg, num_threads=threads)
    old_threads = torch.get_num_threads()
    store = RunStore(store_path)
    try:
        if store.status(rid) == "done":
            return rid
        ckpt = Path(ckpt_dir) / f"{rid}.pt" if ckpt_dir is not None else None
        if ckpt is None or not ckpt.is_file():
            store.reset_run(rid)
        store.begin_run(rid, cfg.to_dict(), corpus.domains, build_model(cfg).num_params(),
                        info={"corpus_fingerprint": corpus.fingerprint})
        if ckpt is not None and ckpt.is_file():
            # Re-record the checkpoints the file already holds (identical numbers), so the store is complete
            # even if it was replaced or emptied while the checkpoint files stayed.
            saved = torch.load(ckpt, map_location="cpu", weights_only=False)
            if saved.get("run_id") == rid:
                for ck in saved["checkpoints"]:
                    store.record_checkpoint(rid, ck["step"], ck["tokens"], ck["losses"], ck["train_loss"])
            else:
                store.reset_run(rid)

        def record(run: str, _cfg: ProxyConfig, _n: int, ck: Any) -> None:
            # A worker orphaned by a killed sweep (its parent is gone) stops here rather than racing the
            # resumed sweep; the rows it wrote are identical to what the resumed run writes.
            if parent_pid is not None and os.getppid() != parent_pid:
                os._exit(3)
            store.record_checkpoint(run, ck.step, ck.tokens, ck.losses, ck.train_loss)

        result = train(cfg, corpus=corpus, ckpt_path=ckpt, on_checkpoint=record, on_step=on_step)
        store.finish_run(rid, result.wall_s, info={"corpus_fingerprint": corpus.fingerprint, "device": result.device,
                                                   "tokens_per_s": result.tokens_per_s,
                                                   "mixlaw_version": __version__})
        if ckpt is not None and not keep_checkpoints:
            ckpt.unlink(missing_ok=True)
        return rid
    finally:
        store.close()
        torch.set_num_threads(old_threads)


def _execute_remote(config: dict[str, Any], threads: int) -> dict[str, Any]:
    """Ray task: train one run and return its result as plain data (the driver writes the store)."""
    from .train.loop import train

    cfg = dataclasses.replace(ProxyConfig.from_dict(config), num_threads=threads)
    result = train(cfg)
    return result.to_dict()


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

    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=Console(stderr=True),
                    disable=not enabled, transient=False)


def run_sweep(corpus: str | os.PathLike[str], mixtures: Sequence[dict[str, float]] | str | os.PathLike[str],
              sizes: Sequence[int | str], tokens: int | str, store: str | os.PathLike[str], *, workers: int = 1,
              backend: str = "local", address: str | None = None, base: ProxyConfig | None = None,
              progress: bool = True, keep_checkpoints: bool = False) -> SweepResult:
    """Train every (mixture, size) not yet finished in ``store``.

    Parameters
    ----------
    corpus : path
        Corpus folder (``mixlaw corpus build``).
    mixtures : list of dict, or path
        Mixtures, or a design file with ``w:<domain>`` columns (:func:`load_design`).
    sizes : sequence of int or str
        Target non-embedding parameter counts (``"0.1M"``...).
    tokens : int or str
        Training tokens per run (``"2M"``).
    store : path
        SQLite run store (created if missing).
    workers : int, default 1
        Concurrent runs. Each gets ``cores // workers`` torch threads (at least 1); with 1 worker the runs
        train in this process. Results depend on the thread count (floating-point summation order), so
        compare sweeps run with the same ``workers``.
    backend : {"local", "ray"}
        ``"ray"`` submits runs to ``ray.init(address=address)`` (``pip install mixlaw[ray]``).
    address : str, optional
        Ray cluster address (``"auto"``, ``"ray://host:10001"``); ``None`` starts a local Ray.
    base : ProxyConfig, optional
        Defaults for every other field (seed, lr, block size, eval_every...).
    progress : bool, default True
        Show a rich progress bar on stderr.
    keep_checkpoints : bool, default False
        Keep each finished run's checkpoint file (``<store>.ckpt/<run_id>.pt``) instead of deleting it.

    Returns
    -------
    SweepResult

    Raises
    ------
    InputError
        Bad corpus, design, sizes, store, backend or worker count, all before any training starts.
    """
    t0 = time.perf_counter()
    if backend not in BACKENDS:
        raise InputError(f"--backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if not isinstance(workers, int) or workers < 1:
        raise InputError(f"--workers must be an integer >= 1, got {workers!r}")
    design_path = None
    if isinstance(mixtures, (str, os.PathLike)):
        design_path = str(mixtures)
        mixtures = load_design(mixtures)
    plan = plan_sweep(corpus, mixtures, sizes, tokens, base, design_path=design_path)
    store_path = Path(store)
    with RunStore(store_path) as db:
        done = set(db.run_ids("done"))
    todo = [p for p in plan if p.run_id not in done]
    skipped = [p.run_id for p in plan if p.run_id in done]
    base_threads = (base.num_threads if base is not None else 0)
    threads = base_threads or max(1, (os.cpu_count() or 1) // workers)
    with _progress(progress, len(plan)) as bar:
        task = bar.add_task("sweep", total=len(plan), completed=len(skipped))
        if backend == "ray":
            _run_ray(todo, store_path, workers, threads, address, lambda: bar.advance(task))
        elif workers == 1:
            ckpt_dir = _checkpoint_dir(store_path)
            ckpt_dir.mkdir(exist_ok=True)
            for p in todo:
                steps = bar.add_task(f"  run {p.run_id}", total=p.config.max_steps)
                _execute(p.config.to_dict(), str(store_path), str(ckpt_dir), threads, None, keep_checkpoints,
                         on_step=lambda s, n, t=steps: bar.update(t, completed=s))
                bar.remove_task(steps)
                bar.advance(task)
        else:
            ckpt_dir = _checkpoint_dir(store_path)
            ckpt_dir.mkdir(exist_ok=True)
            # spawn: a fresh interpreter per worker; forking a process that has touched torch's thread
            # pools can deadlock, and spawn behaves the same on Linux, macOS and Windows.
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
                pending = {pool.submit(_execute, p.config.to_dict(), str(store_path), str(ckpt_dir), threads,
                                       os.getpid(), keep_checkpoints) for p in todo}
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        fut.result()  # re-raise a worker's error here
                        bar.advance(task)
    return SweepResult(run_ids=[p.run_id for p in plan], trained=[p.run_id for p in todo], skipped=skipped,
                       wall_s=time.perf_counter() - t0)


def _run_ray(todo: list[PlannedRun], store_path: Path, workers: int, threads: int, address: str | None,
             advance: Callable[[], None]) -> None:
    """Submit runs as Ray tasks (at most ``workers`` at a time) and record each result as it arrives."""
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
        ray.init(address=address, **kwargs)
    try:
        remote = ray.remote(num_cpus=threads)(_execute_remote)
        queue = list(todo)
        in_flight: dict[Any, PlannedRun] = {}
        with RunStore(store_path) as db:
            while queue or in_flight:
                while queue and len(in_flight) < workers:
                    p = queue.pop(0)
                    in_flight[remote.remote(p.config.to_dict(), threads)] = p
                ready, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in ready:
                    in_flight.pop(ref)
                    _record_result(db, ray.get(ref))
                    advance()
    finally:
        if started_here:
            ray.shutdown()


def _record_result(db: RunStore, result: dict[str, Any]) -> None:
    """Write a returned :class:`~mixlaw.train.loop.RunResult` (as a dict): one transaction per checkpoint."""
    rid, cfg = result["run_id"], result["config"]
    db.reset_run(rid)
    db.begin_run(rid, cfg, list(cfg["mixture"]), result["model_params"],
                 info={"corpus_fingerprint": result["corpus_fingerprint"]})
    for ck in result["checkpoints"]:
        db.record_checkpoint(rid, ck["step"], ck["tokens"], ck["losses"], ck["train_loss"])
    db.finish_run(rid, result["wall_s"], info={"corpus_fingerprint": result["corpus_fingerprint"],
                                               "device": result["device"], "tokens_per_s": result["tokens_per_s"],
                                               "mixlaw_version": __version__, "backend": "ray"})


__all__ = ["BACKENDS", "PlannedRun", "SweepResult", "load_design", "plan_sweep", "run_sweep"]
