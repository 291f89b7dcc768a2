"""Hostile command lines: usage errors are one line and exit 2 (never a traceback), and options that
make no sense together or cannot work are refused before anything runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._helpers import one_error, run_cli, runs_csv


# ---------------------------------------------------------------------- usage errors
@pytest.mark.parametrize("argv,match", [
    ([], "no command given"),  # and the help above it
    (["runs"], "no command given"),
    (["fit"], "give exactly one of --runs PATH or --dataset"),  # fit also takes --dataset
    (["fit", "--runs", "x.csv", "--seed", "abc"], "Invalid value for '--seed'"),
    (["fit", "--runs", "x.csv", "--bogus"], "No such option: --bogus"),
    (["nosuch"], "No such command 'nosuch'"),
    (["fit", "--runs"], "requires an argument"),
])
def test_usage_errors_are_one_line_exit_2(argv: list[str], match: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(argv, capsys)
    assert match in one_error(code, err)
    if not argv or argv == ["runs"]:
        assert "Usage:" in err


@pytest.mark.parametrize("command", ["demo", "compare", "fit", "optimize", "continual", "report", "pipeline",
                                     "design"])
def test_negative_seed_is_refused(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli([command, "--seed", "-1"], capsys)
    assert "--seed" in one_error(code, err)


@pytest.mark.parametrize("command", [["compare", "--dataset", "regmix"], ["demo"]])
def test_laws_naming_no_law(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli([*command, "--laws", ","], capsys)
    assert "names no law" in one_error(code, err)


# ---------------------------------------------------------------------- options that cannot work
def test_pipeline_bounds_without_optimize(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = runs_csv(tmp_path / "r.csv", 10, 0)
    code, _, err = run_cli(["pipeline", "--runs", str(runs), "--target-params", "1e9", "--target-steps", "1000",
                            "--bounds", "a=0:0.5"], capsys)
    assert "--bounds applies to the optimal mixture only: add --optimize" in one_error(code, err)


def test_unreachable_ray_address_times_out(small_corpus: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("ray")
    (tmp_path / "d.csv").write_text("w:math,w:docs\n0.5,0.5\n")
    code, _, err = run_cli(["sweep", "--corpus", str(small_corpus), "--design", str(tmp_path / "d.csv"), "--sizes",
                            "0.01M", "--tokens", "3k", "--store", str(tmp_path / "s.db"), "--backend", "ray",
                            "--address", "127.0.0.1:1"], capsys)
    assert "cannot connect to the Ray cluster" in one_error(code, err)
    assert not (tmp_path / "s.db").exists()  # refused before the store was created
