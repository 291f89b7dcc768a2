"""The progress display of every ``mixlaw`` command, on stderr (stdout may carry JSON): a rich bar on a terminal,
plain lines at most every few seconds off one (a batch job, CI, a pipe), nothing under ``mixlaw --quiet``; the fold
fits of auto / stack's cross-validation counted in it; and the thread that redraws it, stopped while a worker pool
forks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from .._console import PlainLines
from .._workers import stoppable_thread
from ..laws.selection import CV_PROGRESS
from ._common import err


class _CountColumn(ProgressColumn):
    """``done/total`` when the total is known, else ``done`` (never ``0/None``)."""

    def render(self, task: Any) -> Text:
        return Text(f"{int(task.completed)}/{int(task.total)}" if task.total is not None else f"{int(task.completed)}")


#: Set by ``mixlaw --quiet``: no progress at all, bar or lines.
QUIET = {"on": False}
#: Redraws a second of the bar on a terminal (rich's own default for its refresh thread).
REFRESH_PER_SECOND = 10


@contextmanager
def _plain_progress(description: str, total: int | None) -> Iterator[Any]:
    """Progress off a terminal (a batch job, CI, a pipe): rich hides its bar there, so long work would print
    nothing for minutes. :class:`~mixlaw._console.PlainLines`: one line on stderr at most every
    ``PLAIN_EVERY_S`` seconds, and a last one with the total time when the work took that long. A heartbeat
    thread (:func:`_ticking`) prints the line when nothing advances for that long (one long fit reports no steps);
    ``PLAIN_EVERY_S = 0`` prints on every advance and starts no heartbeat."""
    state: dict[str, Any] = {"done": 0, "total": total, "label": None}
    lines = PlainLines()
    lock = threading.Lock()

    def line() -> None:
        count = (f"{state['done']}/{state['total']}, " if state["total"] is not None
                 else f"{state['done']}, " if state["done"] else "")  # a bar that only relabels has no count
        what = f"{description}: {state['label']}" if state["label"] else description
        lines.line(what, f"{count}{lines.elapsed:.0f} s")

    def advance(label: str | None = None, n: int = 1) -> None:
        with lock:
            if label is not None:
                state["label"] = label
            state["done"] += n
            if lines.due():
                line()

    def set_total(n: int) -> None:
        state["total"] = n

    advance.set_total = set_total  # type: ignore[attr-defined]

    def heartbeat() -> None:
        with lock:
            if lines.due():
                line()

    with _ticking(heartbeat, lines.every / 4) if lines.every > 0 else nullcontext():
        yield advance
    lines.done(description)  # something was printed: say when it ended


@contextmanager
def _ticking(tick: Callable[[], None], every: float) -> Iterator[None]:
    """Call ``tick`` every ``every`` seconds on a thread of its own while the block runs (the progress display's
    refresh or heartbeat), stopped and joined while a worker pool forks and started again after
    (:func:`mixlaw._workers.threads_stopped`: a fork copies only the forking thread, so a lock this one held, the
    terminal's, would stay held in the child for good)."""
    running: list[tuple[threading.Thread, threading.Event]] = []

    def start() -> None:
        done = threading.Event()

        def run() -> None:
            while not done.wait(every):
                tick()

        thread = threading.Thread(target=run, name="mixlaw-progress", daemon=True)
        thread.start()
        running.append((thread, done))

    def stop() -> Callable[[], None]:
        # Nothing running when threads_stopped was interrupted after taking the thread off (its done set, so it
        # ends): the block's exit then lets the interrupt through, not "pop from empty list".
        while running:
            thread, done = running.pop()
            done.set()
            thread.join()
        return start

    start()
    try:
        with stoppable_thread(stop):
            yield
    finally:
        stop()


def _silent(label: str | None = None, n: int = 1) -> None:
    """The ``advance`` of ``mixlaw --quiet``."""


_silent.set_total = lambda n: None  # type: ignore[attr-defined]


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Any]:
    """A rich progress bar on stderr (never on stdout, which may carry JSON): count, elapsed time and, with a
    known ``total``, the estimated time left. Off a terminal, plain lines instead (:func:`_plain_progress`);
    with ``mixlaw --quiet``, nothing.

    Yields ``advance(label=None, n=1)``; ``advance.set_total(n)`` fixes the total once it is known.
    """
    if QUIET["on"]:
        yield _silent
        return
    if not err.is_terminal:
        with _plain_progress(description, total) as adv:
            yield adv
        return
    columns: list[Any] = [SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(),
                          _CountColumn(), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn()]
    # auto_refresh=False: rich's own refresh thread could not be stopped while a worker pool forks; _ticking's can.
    with Progress(*columns, console=err, transient=True, auto_refresh=False) as bar, \
            _ticking(bar.refresh, 1 / REFRESH_PER_SECOND):
        task = bar.add_task(description, total=total)

        def advance(label: str | None = None, n: int = 1) -> None:
            if label is not None:
                bar.update(task, description=f"{description}: {label}")
            bar.advance(task, n)

        advance.set_total = lambda n: bar.update(task, total=n)  # type: ignore[attr-defined]
        yield advance


@contextmanager
def cv_progress(advance: Any = None, description: str = "cross-validating") -> Iterator[None]:
    """Progress of the fold fits of every cross-validation run inside (``--law auto`` / ``stack``).

    Without ``advance``: a bar of its own; each cross-validation reports ``(label, done, total)`` and adds its
    total when it starts, so the total is real even when several run in turn. With the ``advance`` of an
    enclosing bar (rich shows one live bar at a time): the fold count goes into that bar's label.
    """
    def run(adv: Any, own: bool) -> Iterator[None]:
        state = {"total": 0, "last": 0, "open": 0}

        def hook(label: str, done: int, total: int) -> None:
            if not own:
                adv(f"cross-validating {label} ({done}/{total} fold fits)", 0)
                return
            if not state["open"] or done <= state["last"]:  # a new cross-validation starts
                state.update(total=state["total"] + total, last=0, open=1)
                adv.set_total(state["total"])
            adv(label, done - state["last"])
            state["last"] = done

        token = CV_PROGRESS.set(hook)
        try:
            yield
        finally:
            CV_PROGRESS.reset(token)

    if advance is not None:
        yield from run(advance, own=False)
        return
    with progress(description) as adv:
        yield from run(adv, own=True)
