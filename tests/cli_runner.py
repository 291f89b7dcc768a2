"""The in-process CLI runner the command-line tests share (tests/ is on sys.path: it has no __init__.py)."""

from __future__ import annotations

import pytest


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``mixlaw *argv`` in this process: (exit code, stdout, stderr)."""
    from mixlaw.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    cap = capsys.readouterr()
    return exc.value.code, cap.out, cap.err
