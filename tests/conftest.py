"""Fixtures for every test."""

from __future__ import annotations

import os
from typing import Any

# One BLAS / OpenMP thread in every test process (numpy's OpenBLAS, LightGBM's and torch's OpenMP; each reads the
# variable once, when it loads, so this comes before the first import of numpy; pytest-xdist's workers and the
# `python -m mixlaw` subprocesses of tests inherit it). The suite's pytest-xdist workers already use every CPU, so
# a second BLAS thread per worker only spins against the other worker: on a busy 2-core machine (run back to back,
# -n 0) residual_gp's marginal-likelihood search took 8.9 s with the default threads and 0.8 s with one, the RegMix
# recipe search 10.9 s and 5.2 s, LightGBM's mixture search 5.2 s and 2.9 s. The library's own limits (fit.py's
# single_threaded_blas) are checked under an explicit threadpool_limits of several threads. setdefault: a run
# that sets one on purpose keeps its value.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest  # noqa: E402

from mixlaw import _console, _workers  # noqa: E402


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

# The CLI's cross-validations default to --workers auto, one process per usable CPU (mixlaw._workers). The suite's
# pytest-xdist workers already use every CPU, so each test forking as many more would only oversubscribe them (and
# a 2-core machine's 2 xdist workers would each fork 2): every CV here runs in its own process unless a test asks
# for workers. Set in the environment, not read from PYTEST_XDIST_WORKER by the library, so that the library knows
# nothing of pytest, the same holds for `-n 0` and for the `python -m mixlaw` subprocesses tests start, and a user
# can do the same (the variable is documented); setdefault: a run that sets it on purpose keeps its value.
os.environ.setdefault(_workers.ENV, "1")


def usable_cpus() -> int:
    """CPUs this process may run on (:func:`mixlaw._workers.usable_cpus`: the affinity mask and a cgroup quota)."""
    return _workers.usable_cpus()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n logical`` (pyproject's addopts): one worker per usable CPU, at most :data:`MAX_WORKERS`; xdist's own
    count reads the host's CPUs inside a container and a big machine would start one 0.6 GB worker per core.
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still decides when set (xdist reads it)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return min(usable_cpus(), MAX_WORKERS)
