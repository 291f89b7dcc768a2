"""The end-to-end training demo, at a toy scale (the real one: `mixlaw demo --train`, ~10 min)."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

pytest.importorskip("torch")

from mixlaw.train.demo import run_train_demo  # noqa: E402

TINY = dict(workers=1, n_mixtures=4, sizes=("0.03M", "0.06M", "0.12M"), tokens="12k", target_size="0.25M",
            target_tokens="12k", eval_every=2, max_mb=0.2, progress=False)


def _n_runs(db):
    with sqlite3.connect(db) as c:
        return c.execute("select count(*) from runs").fetchone()[0], c.execute(
            "select count(*) from checkpoints").fetchone()[0]


def test_demo_flow_and_resume(tmp_path):
    r = run_train_demo(tmp_path, **TINY)
    assert [row["mixture"] for row in r.rows] == ["optimum", "uniform", "natural"]
    for row in r.rows:
        assert np.isfinite(row["predicted_mean"]) and np.isfinite(row["measured_mean"]) and row["measured_mean"] > 0
        assert abs(sum(row["weights"].values()) - 1) < 1e-9
    text = str(r)
    assert "predicted" in text and "MRE" in text and "optimum" in text
    before = _n_runs(tmp_path / "runs.db"), _n_runs(tmp_path / "target.db")
    r2 = run_train_demo(tmp_path, **TINY)  # resumes: nothing retrained, nothing duplicated
    assert (_n_runs(tmp_path / "runs.db"), _n_runs(tmp_path / "target.db")) == before
    assert before[0][0] == 12 and before[1][0] == 3
    assert [row["measured_mean"] for row in r2.rows] == [row["measured_mean"] for row in r.rows]
