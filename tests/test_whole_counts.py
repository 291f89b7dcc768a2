"""Whole model sizes, steps and token counts are written as integers by every table writer (a run table holds them
as float64: ``params`` 1e8 was written ``100000000.0``), as a run store's export writes them."""

from __future__ import annotations

import numpy as np
import pandas as pd
from cli_runner import run_cli

from mixlaw.data import read_runs
from mixlaw.data.schema import whole_counts


def test_whole_counts_leaves_fractions_missing_cells_and_huge_counts_alone():
    frame = pd.DataFrame({"run": ["a", "b"], "params": [1e8, np.nan], "step": [1.5, 2.0], "tokens": [1e300, 1.0],
                          "loss:x": [3.0, 2.0]})
    got = whole_counts(frame)
    assert str(got["params"].dtype) == "Int64" and got["params"].isna().tolist() == [False, True]
    assert got["step"].dtype == np.float64 and got["tokens"].dtype == np.float64 and got["loss:x"].dtype == np.float64
    assert got.to_csv(index=False).splitlines()[1:] == ["a,100000000,1.5,1e+300,3.0", "b,,2.0,1.0,2.0"]
    plain = frame[["run", "loss:x"]]
    assert whole_counts(plain) is plain  # no count column: the frame itself


def test_runs_import_writes_whole_counts_as_integers(capsys, tmp_path):
    frame = pd.DataFrame({"run": ["r0", "r1"], "w:a": [0.3, 0.6], "w:b": [0.7, 0.4], "loss:a": [3.1, 3.0],
                          "params": [1e8, 1e8], "step": [20000, 20000], "tokens": [4.2e10, 4.2e10]})
    src = tmp_path / "in.csv"
    frame.to_csv(src, index=False)
    assert ",100000000.0," in src.read_text()
    out = tmp_path / "runs.csv"
    code, _, err = run_cli(capsys, "runs", "import", str(src), "--out", str(out))
    assert code == 0, err
    assert out.read_text().splitlines()[1].endswith(",100000000,20000,42000000000")
    assert read_runs(out).model_params.tolist() == [1e8, 1e8]
