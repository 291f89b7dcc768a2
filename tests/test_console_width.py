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


def test_names_with_colons_print_as_written(capsys) -> None:
    # rich's emoji codes turned ':free:' of 'additive-ens:free:github.E' (the additive ensemble's parameters
    # inside `mixlaw fit --law auto`) into an emoji in the fit report.
    from mixlaw._console import make_console
    from mixlaw.cli._common import err, out

    for console in (make_console(), out, err):
        console.print("additive-ens:free:github.E arc_challenge:rc::olmes :smile:", highlight=False, markup=False)
    cap = capsys.readouterr()
    for text in (cap.out, cap.err):
        assert text.count("additive-ens:free:github.E arc_challenge:rc::olmes :smile:") == (2 if text is cap.out
                                                                                            else 1), text
