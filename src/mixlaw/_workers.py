"""How many worker processes a parallel step may start: the CPUs this process may use, and ``auto``.

``auto`` (the CLI's default for the fold fits of ``--law auto`` / ``stack``'s cross-validation, and the default of the
bootstrap's refits, :func:`mixlaw.bootstrap.bootstrap_law`, from Python too) is
``min(usable CPUs, MAX_AUTO_WORKERS)``, 1 where one CPU is usable, and 1 inside a worker process (no pool in a pool:
a bootstrap or CV worker that refits a meta-law fits it in itself). The environment variable
:data:`ENV` overrides it (a positive count or ``auto``); the test suite sets it to 1 (tests/conftest.py), as its
pytest-xdist workers already use every CPU, and a user running several jobs on one machine can do the same.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError

#: Most processes ``auto`` starts: the CV's tasks are (candidate, fold) pairs, 11 x 4 after the first fold with
#: the defaults, so more workers wait on the longest candidate; each worker is a fork of the fitting process. The
#: bootstrap's batched refits come in a multiple of 8 chunks (``bootstrap.CHUNK_GRAIN``), even on 1, 2, 4 or 8.
MAX_AUTO_WORKERS = 8
#: Environment variable overriding ``auto`` (a count >= 1, or ``auto``), for the CV and the bootstrap alike (named
#: when the CV was its only user; a count given to ``--workers`` / ``n_jobs=`` overrides it).
ENV = "MIXLAW_CV_WORKERS"
AUTO = "auto"


#: cgroup v1's CPU quota and period (microseconds; quota -1: none), where a container runs under cgroup v1.
CFS_FILES = ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us")


def _quota(read: list[str]) -> int | None:
    """CPUs a quota / period pair allows (rounded up), or None for no quota."""
    quota, period = read
    if quota in ("max", "-1"):
        return None
    return max(1, -(-int(quota) // int(period)))


def usable_cpus(cpu_max: str = "/sys/fs/cgroup/cpu.max", cfs: tuple[str, str] = CFS_FILES) -> int:
    """CPUs this process may run on: its affinity mask, and a cgroup CPU quota where one is set (v2's ``cpu.max``,
    else v1's ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``), which a container's ``os.cpu_count()`` does not see (a
    2-CPU quota on a 64-core host read 64). At least 1."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        with open(cpu_max) as fh:
            q = _quota(fh.read().split()[:2])
    except (OSError, ValueError):
        try:  # no cgroup v2 file: cgroup v1's pair
            q = _quota([Path(f).read_text().strip() for f in cfs])
        except (OSError, ValueError):
            q = None  # no quota (or not Linux): the affinity mask alone
    return max(1, min(n, q) if q is not None else n)


def auto_workers() -> int:
    """``auto``'s count: ``min(usable_cpus(), MAX_AUTO_WORKERS)``, or 1 in a worker process (one with a
    multiprocessing parent: a bootstrap or CV worker)."""
    if multiprocessing.parent_process() is not None:
        return 1
    return min(usable_cpus(), MAX_AUTO_WORKERS)


def parse_workers(value: int | str | None, what: str = "--workers (n_jobs=)") -> int | str | None:
    """``value`` checked: None, an int >= 1 (or its text) or ``"auto"``; InputError naming ``what`` otherwise."""
    if value is None or (isinstance(value, str) and value.strip().lower() == AUTO):
        return None if value is None else AUTO
    if isinstance(value, bool):
        raise InputError(f"{what} must be a count >= 1 or 'auto'; got {value!r}")
    try:
        n = int(value)
        if isinstance(value, float) and n != value:
            raise ValueError
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a count >= 1 or 'auto'; got {value!r}") from None
    if n < 1:
        raise InputError(f"{what} must be at least 1 (or 'auto'); got {n}")
    return n


#: How to stop each helper thread (the CLI's progress display) while a pool forks: the process that registered it,
#: and a callable that stops its thread, joined, and returns the callable that starts it again
#: (:func:`stoppable_thread`). A forked worker inherits the list but not the threads: it leaves them alone.
_STOPPERS: list[tuple[int, Callable[[], Callable[[], None]]]] = []


@contextmanager
def stoppable_thread(stop: Callable[[], Callable[[], None]]) -> Iterator[None]:
    """Within the block, :func:`threads_stopped` calls ``stop`` (which stops a thread, joined, and returns what
    starts it again) around every pool start."""
    entry = (os.getpid(), stop)
    _STOPPERS.append(entry)
    try:
        yield
    finally:
        _STOPPERS.remove(entry)


@contextmanager
def threads_stopped() -> Iterator[None]:
    """Within the block, the helper threads registered by :func:`stoppable_thread` are stopped: start a fork pool's
    workers here (a fork ``ProcessPoolExecutor`` forks them all at its first ``submit``).

    A fork copies only the forking thread: a lock another thread held at that moment (the progress display's, while
    it wrote to the terminal) stays held in the child for good, and a child that needs it hangs. Python 3.12+ warns
    of it ("This process is multi-threaded, use of fork() may lead to deadlocks")."""
    restarts: list[Callable[[], None]] = []
    try:
        # Those stopped are started again should a later one fail to stop (an interrupt while it is joined).
        for pid, stop in reversed(_STOPPERS):
            if pid == os.getpid():  # not a parent's, in a forked worker that starts a pool of its own
                restarts.append(stop())
        yield
    finally:
        for restart in reversed(restarts):
            restart()


def resolve_workers(value: int | str | None, default: int | str = 1, what: str = "--workers (n_jobs=)") -> int:
    """The process count for ``value``: an int as given, ``"auto"`` as :func:`auto_workers` (or :data:`ENV` where
    set; 1 inside a worker process, whatever :data:`ENV` says), None as ``default``."""
    v = parse_workers(value, what)
    if v is None:
        v = parse_workers(default, what)
    if v == AUTO:
        if multiprocessing.parent_process() is not None:
            # No pool in a pool, whatever the variable says: a worker inherits it, and MIXLAW_CV_WORKERS=4 made each
            # of 4 bootstrap workers refitting an auto law start 4 more (found by review).
            return 1
        env = os.environ.get(ENV, "").strip()
        if env:
            v = parse_workers(env, f"the environment variable {ENV}")
            if v != AUTO:
                return int(v)  # type: ignore[arg-type]
        return auto_workers()
    return int(v)  # type: ignore[arg-type]
