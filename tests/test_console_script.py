"""The ``mixlaw`` console script (``_mixlaw_entry.main``): a Ctrl-C while the package imports is one line,
``interrupted``, and exit status 130; it printed a KeyboardInterrupt traceback (the script imported mixlaw, seconds
of numpy/scipy/pandas, before any handler of mixlaw's existed)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import _mixlaw_entry

ROOT = Path(__file__).resolve().parents[1]

# A module whose import is interrupted by a real SIGINT, as a terminal's Ctrl-C interrupts mixlaw's imports.
# Python's own SIGINT handler first: a process started from a shell's background job inherits SIGINT ignored, and
# Python then installs none (the first test failed that way, after sleeping 60 s, in a suite run with `cmd &`).
SLOW_START = """
import os, signal, time
signal.signal(signal.SIGINT, signal.default_int_handler)
os.kill(os.getpid(), signal.SIGINT)
time.sleep(20)  # never reached: the KeyboardInterrupt is raised here at once

def main():
    raise AssertionError("not imported")
"""


def test_the_console_script_is_the_entry_module() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^mixlaw = "_mixlaw_entry:main"$', text, re.M)
    assert re.search(r'^py-modules = \["_mixlaw_entry"\]$', text, re.M)  # shipped beside the package


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name == "nt", reason="POSIX signals")
def test_ctrl_c_while_the_package_imports_is_one_line_and_exit_130(tmp_path: Path) -> None:
    (tmp_path / "slow_start.py").write_text(SLOW_START)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "src")])}
    proc = subprocess.run([sys.executable, "-c", "import _mixlaw_entry; _mixlaw_entry.main('slow_start:main')"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert (proc.returncode, proc.stdout, proc.stderr) == (130, "", "interrupted\n")


# `python -m mixlaw` as runpy runs it, its import of mixlaw.cli (typer, rich, every command module) interrupted by a
# real SIGINT. The package itself is imported first, as `python -m` does before mixlaw/__main__.py exists to catch.
MODULE_START = """
import os, runpy, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in SLOW_START
import mixlaw

class SlowCli:
    def find_spec(self, name, path=None, target=None):
        if name == "mixlaw.cli":
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(20)  # never reached: the KeyboardInterrupt is raised here at once
        return None

sys.meta_path.insert(0, SlowCli())
sys.argv = ["mixlaw", "--help"]
runpy.run_module("mixlaw", run_name="__main__", alter_sys=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name == "nt", reason="POSIX signals")
def test_ctrl_c_while_python_m_mixlaw_imports_its_cli_is_one_line_and_exit_130() -> None:
    # `python -m mixlaw` printed a KeyboardInterrupt traceback where the console script says "interrupted".
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run([sys.executable, "-c", MODULE_START], capture_output=True, text=True, env=env, timeout=120)
    assert (proc.returncode, proc.stdout, proc.stderr) == (130, "", "interrupted\n")


@pytest.mark.parametrize("package", ["mixlaw", "mixlaw.cli"])
def test_ctrl_c_around_python_m_mixlaw_s_command_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str], package: str) -> None:
    # `python -m mixlaw.cli` called mixlaw.cli.main bare: a Ctrl-C during the command was a traceback.
    import runpy

    import mixlaw.cli

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(mixlaw.cli, "main", interrupted)
    monkeypatch.delitem(sys.modules, f"{package}.__main__", raising=False)
    with pytest.raises(SystemExit) as exc:
        try:
            runpy.run_module(package, run_name="__main__")
        except KeyboardInterrupt:
            pytest.fail("python -m mixlaw let a KeyboardInterrupt out (a traceback), not 'interrupted'")
    assert exc.value.code == 130 and capsys.readouterr().err == "interrupted\n"


def test_the_entry_runs_the_cli_and_keeps_its_exit_status(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["mixlaw", "--help"])
    with pytest.raises(SystemExit) as exc:
        _mixlaw_entry.main()
    assert exc.value.code == 0 and "Usage" in capsys.readouterr().out
    monkeypatch.setattr(sys, "argv", ["mixlaw", "no-such-command"])
    with pytest.raises(SystemExit) as exc:
        _mixlaw_entry.main()
    assert exc.value.code == 2 and "Traceback" not in capsys.readouterr().err


def test_ctrl_c_around_the_command_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import mixlaw.cli

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(mixlaw.cli, "main", interrupted)
    with pytest.raises(SystemExit) as exc:
        _mixlaw_entry.main()
    assert exc.value.code == 130 and capsys.readouterr().err == "interrupted\n"
