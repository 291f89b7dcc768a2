"""Tables written to a pipe or a file keep every cell whole (rich would cut them to 80 columns)."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from mixlaw._console import PIPE_WIDTH, console_width


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_width_off_a_terminal_is_wide_and_a_terminal_keeps_rich_sizing(monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert console_width(io.StringIO()) == PIPE_WIDTH
    assert console_width(_Tty()) is None
    monkeypatch.setenv("COLUMNS", "100")
    assert console_width(io.StringIO()) is None


def test_leaderboard_piped_to_a_file_has_no_cut_cells() -> None:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    res = subprocess.run([sys.executable, "-m", "mixlaw", "compare", "--dataset", "regmix", "--target", "pile_cc",
                          "--laws", "linear,loglinear"], capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr
    table = [line for line in res.stdout.splitlines() if line.startswith("│")]
    assert len(table) == 2
    assert all("…" not in line for line in table), res.stdout
    # the full numbers are there: four decimals of rho at 1m for linear
    assert any(line.split("│")[2].strip().count(".") == 1 and len(line.split("│")[2].strip()) >= 5
               for line in table), res.stdout
