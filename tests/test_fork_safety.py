"""The CV's and the bootstrap's process pools fork with no other thread alive in the CLI's process, the progress
display's included: a forked child gets only the forking thread, so a lock another thread held at that moment (the
display writing to the terminal, a heartbeat printing its line) stays held in the child for good, and the child that
needs it hangs (Python 3.12+ warns: "This process is multi-threaded, use of fork() may lead to deadlocks")."""

from __future__ import annotations

import io
import multiprocessing
import os
import threading
from collections.abc import Iterator

import pytest
from cli_runner import run_cli as _cli
from rich.console import Console
from test_cv_workers import _table

from mixlaw import _console

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork here")

#: threading.active_count() in this process at each fork while a test records (os.register_at_fork has no
#: unregister: the hook stays, and records only while the list is set).
_FORKS: dict[str, list[int] | None] = {"counts": None}
_HOOKED: list[bool] = []


def _before_fork() -> None:
    if _FORKS["counts"] is not None:
        _FORKS["counts"].append(threading.active_count())


@pytest.fixture
def forks() -> Iterator[list[int]]:
    """threading.active_count() at each fork during the test."""
    if not _HOOKED:
        os.register_at_fork(before=_before_fork)
        _HOOKED.append(True)
    counts: list[int] = []
    _FORKS["counts"] = counts
    yield counts
    _FORKS["counts"] = None


@pytest.fixture(params=["terminal", "plain lines"])
def display(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The progress display the CLI shows: rich's live bar on a terminal (its auto-refresh ran on a thread), or off
    one the plain lines (a heartbeat thread prints one when nothing advances for a while)."""
    from mixlaw.cli import _progress

    monkeypatch.setitem(_progress.QUIET, "on", False)
    if request.param == "terminal":
        monkeypatch.setattr(_progress, "err", Console(file=io.StringIO(), force_terminal=True, width=100))
    else:
        monkeypatch.setattr(_console, "PLAIN_EVERY_S", 0.05)
    return str(request.param)


@pytest.mark.parametrize("argv, least", [
    # the CV: two pools (fold 1, then the other folds) of 2 workers each
    (["fit", "--law", "stack", "--candidates", "linear,loglinear", "--cv-folds", "3"], 4),
    # the bootstrap: one pool of 2 workers
    (["optimize", "--law", "ye-exp", "--target", "a", "--bootstrap", "16"], 2),
], ids=["cv", "bootstrap"])
def test_the_pools_fork_with_no_other_thread_alive(capsys, tmp_path, forks, display, argv, least) -> None:
    runs = tmp_path / "runs.csv"
    _table().to_csv(runs, index=False)
    code, _, err = _cli(capsys, argv[0], "--runs", str(runs), *argv[1:], "--workers", "2", "--json")
    assert code == 0, err
    assert len(forks) >= least
    assert forks == [1] * len(forks)


def _start_a_pool_in_the_worker() -> int:
    """What a worker that starts a pool of its own does around it (a bootstrap worker refitting stack within
    ``cv_workers(2)``)."""
    from mixlaw import _workers

    with _workers.threads_stopped():
        return os.getpid()


def test_a_pool_started_in_a_forked_worker_does_not_stop_the_parents_display() -> None:
    # The worker inherits the list of the parent's display threads, not the threads: stopping them there raised
    # IndexError ('pop from empty list'), which failed bootstrap_law("stack", n_jobs=2) under cv_workers(2) inside
    # the CLI's progress display.
    from concurrent.futures import ProcessPoolExecutor

    from mixlaw import _workers
    from mixlaw.cli import _progress

    with _progress._ticking(lambda: None, 0.01):
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as ex:
            with _workers.threads_stopped():
                done = ex.submit(_start_a_pool_in_the_worker)
            assert done.result() != os.getpid()
        assert [t for t in threading.enumerate() if t.name == "mixlaw-progress"]  # started again after the fork


def test_an_interrupt_while_the_display_thread_stops_stays_the_interrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C while threads_stopped joined the display's thread: the display's own exit then stopped a thread that
    # was no longer listed, and the user got "IndexError: pop from empty list" instead of the interrupt.
    from mixlaw import _workers
    from mixlaw.cli import _progress

    join = threading.Thread.join

    def interrupted(self: threading.Thread, timeout: float | None = None) -> None:
        monkeypatch.setattr(threading.Thread, "join", join)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), _progress._ticking(lambda: None, 0.01):
        monkeypatch.setattr(threading.Thread, "join", interrupted)
        with _workers.threads_stopped():
            pass
    for t in threading.enumerate():
        if t.name == "mixlaw-progress":
            t.join(10)
            assert not t.is_alive()
    assert _workers._STOPPERS == []
