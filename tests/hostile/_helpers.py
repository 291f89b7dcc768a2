"""Shared by the hostile-input tests: the payload string, the CLI runner and its one-error check, a small runs
file, and the tiny training settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mixlaw.cli import main

PAYLOAD = "<img src=x onerror=alert(9)>"
TINY = ["--size", "0.01M", "--tokens", "3k", "--eval-every", "5", "--block_size=32", "--batch_size=8",
        "--eval_tokens=256", "--num_threads=1"]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def one_error(code: int, err: str) -> str:
    """Exit 2 with exactly one 'error:' line and no traceback; returns the line."""
    assert code == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def runs_csv(path: Path, n: int, seed: int, domains: tuple[str, ...] = ("a", "b", "c"),
             evals: tuple[str, ...] = ("a",)) -> Path:
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(len(domains)), size=n)
    coef = np.linspace(-1.0, 0.5, len(domains))
    header = ["run", *(f"w:{d}" for d in domains), *(f"loss:{e}" for e in evals)]
    rows = [",".join(header)]
    for i, w in enumerate(W):
        losses = [2.0 + k * 0.1 + np.exp(w @ coef) * np.exp(0.005 * rng.standard_normal()) for k in range(len(evals))]
        rows.append(",".join([f"r{i}", *(f"{x:.17g}" for x in w), *(f"{v:.17g}" for v in losses)]))
    path.write_text("\n".join(rows) + "\n")
    return path
