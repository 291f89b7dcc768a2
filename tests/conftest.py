"""Fixtures for every test."""

from __future__ import annotations

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
