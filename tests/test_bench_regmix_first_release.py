"""bench/regmix_first_release.py runs with any --laws (the RegMix pair and the fits stubbed: the pair is not
shipped)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import mixlaw

BENCH = Path(__file__).resolve().parents[1] / "bench" / "regmix_first_release.py"


class _Law:
    choice_ = {"arxiv": "ye-pow"}

    def predict(self, W):
        return np.random.default_rng(len(W)).random((len(W), 13))


@pytest.mark.parametrize("laws", ["auto", "auto,stack", "ye-pow,auto"])
def test_the_bench_runs_with_any_laws(laws, monkeypatch, capsys, tmp_path) -> None:
    # review25b: '--laws auto' (no single law to compare with) stopped on max() of an empty list after the fits.
    spec = importlib.util.spec_from_file_location("regmix_first_release", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    train = mixlaw.load_regmix("train_1m")
    rng = np.random.default_rng(0)
    monkeypatch.setattr(bench, "never_published", lambda pair: (train, rng.dirichlet(np.ones(17), 30),
                                                                 rng.random((30, 13))))
    monkeypatch.setattr(mixlaw, "fit_table", lambda *a, **k: _Law())
    (tmp_path / "m.csv").write_text("x")
    (tmp_path / "l.csv").write_text("x")
    monkeypatch.setattr(sys, "argv", ["x", "--laws", laws, "--pair", f"{tmp_path / 'm.csv'}+{tmp_path / 'l.csv'}"])
    bench.main()
    out = capsys.readouterr().out
    assert out.count("\n") == 2 + 1 + 13 + 2 + ("ye-pow" in laws), out
