"""Fixtures for every test."""

from __future__ import annotations

import os
from typing import Any

import pytest

from mixlaw import _console


@pytest.fixture(autouse=True)
def _no_timed_progress_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Off a terminal (as under pytest) the CLI prints a ``mixlaw: ...`` progress line on stderr once work has run
    for ``PLAIN_EVERY_S`` (10 s) of wall time. A CLI test that checks stderr (``error: ...`` is one line) would then
    fail on a machine slow enough, or loaded enough, to pass 10 s: ten tests did with the period shortened to 20 ms
    (their commands take 0.03-1.2 s here). A period no test reaches keeps stderr independent of the machine's speed;
    the tests of the progress lines set their own period."""
    monkeypatch.setattr(_console, "PLAIN_EVERY_S", 1e9)


#: The terminal-size variables as the pytest process itself sees them (``os.environ``, read at start-up).
_TERMINAL_VARS = ("COLUMNS", "LINES")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist (``-n``, set in pyproject's ``addopts``), in the controller: hand each worker the controller's
    COLUMNS and LINES. The controller imports readline, which exports COLUMNS=80 and LINES=24 to the C environment
    of every process started after it, so a worker would start with both set where a plain ``pytest`` run has
    neither, and the CLI's consoles (``mixlaw._console.console_width``) would print 80 columns instead of the
    200 of a pipe: test_compare_labels failed that way, its table's labels cut."""
    node.workerinput["mixlaw_terminal_vars"] = {k: os.environ.get(k) for k in _TERMINAL_VARS}


def pytest_configure(config: pytest.Config) -> None:
    """In a pytest-xdist worker, the controller's COLUMNS and LINES (see :func:`pytest_configure_node`), before
    any test module imports the CLI (whose consoles read them once)."""
    seen = getattr(config, "workerinput", {}).get("mixlaw_terminal_vars")
    for key, value in (seen or {}).items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


#: Most pytest-xdist workers ``-n logical`` starts: each holds 0.6 GB (the suite's imports and fits), and the
#: suite's longest tests (about a minute each) bound its wall time long before 8 workers.
MAX_WORKERS = 8


def usable_cpus(cpu_max: str = "/sys/fs/cgroup/cpu.max") -> int:
    """CPUs this process may run on: its affinity mask, and a cgroup v2 CPU quota (``cpu.max``) where one is set,
    which a container's ``os.cpu_count()`` does not see (a 2-CPU quota on a 64-core host read 64)."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        with open(cpu_max) as fh:
            quota, period = fh.read().split()[:2]
        if quota != "max":
            n = min(n, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota (or not Linux): the affinity mask alone
    return max(1, n)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n logical`` (pyproject's addopts): one worker per usable CPU, at most :data:`MAX_WORKERS`; xdist's own
    count reads the host's CPUs inside a container and a big machine would start one 0.6 GB worker per core.
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still decides when set (xdist reads it)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return min(usable_cpus(), MAX_WORKERS)
