"""Small fixes of session 17: each test fails on the code before its fix."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from mixlaw import RunTable, bootstrap_law, fit_pipeline
from mixlaw.errors import DataError, DataWarning
from mixlaw.importers import read_runs_mapped
from mixlaw.laws.base import weights_in_order
from mixlaw.pipeline.backtest import backtest_pipeline


def _runs(off: float = 0.05) -> pd.DataFrame:
    """30 runs of one size and step, the second row's weights summing to 1 + off."""
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=30)
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(30)], **{f"w:{d}": W[:, j] for j, d in enumerate("abc")},
                          "loss:x": 2 + W @ np.array([0.1, 0.2, 0.3]), "params": 1e8, "step": 1000})
    frame.loc[1, "w:a"] += off
    return frame


SUM = r"row 1 \(0-based\): column 'w:a': weights sum to 1\.05, expected 1 ± 0\.01 "


# ------------------------------------------------------------------ item 3: a row-sum error names what the caller takes
@pytest.mark.parametrize("call", [
    lambda df: fit_pipeline(df),
    lambda df: backtest_pipeline(df),
    lambda df: bootstrap_law("linear", df, n_boot=2),
], ids=["fit_pipeline", "backtest_pipeline", "bootstrap_law"])
def test_a_python_function_reading_a_frame_names_the_keyword_of_runtable(call):
    # These read a frame as RunTable(df) at 0.01 and take no weight_tol: the error said "raise --weight-tol
    # (weight_tol=)", a flag and a keyword none of them has.
    with pytest.raises(DataError, match=SUM + re.escape("(fix the row, or raise weight_tol=, passing "
                                                         "RunTable(df, weight_tol=...) in place of the frame)")) as err:
        call(_runs())
    assert "--weight-tol" not in str(err.value)
    with pytest.warns(DataWarning, match=r"within 0\.06"):  # what the hint says to do reads the row
        table = RunTable(_runs(), weight_tol=0.06)
    assert table.weights.sum(axis=1) == pytest.approx(1.0, abs=1e-12)


def test_read_runs_mapped_of_a_frame_names_the_keyword_and_of_a_file_both(tmp_path):
    # read_runs_mapped(df) is reached from Python alone: it named --weight-tol too, a flag of 'runs import' that
    # reads files; a file's error (the command line's and Python's) names both.
    with pytest.raises(DataError, match=r"DataFrame: row 1 \(0-based\): column 'w:a': weights sum to 1\.05, "
                                        r"expected 1 ± 0\.01 \(fix the row, or raise weight_tol=\)$"):
        read_runs_mapped(_runs(), None)
    path = tmp_path / "runs.csv"
    _runs().to_csv(path, index=False)
    with pytest.raises(DataError, match=re.escape("(fix the row, or raise --weight-tol (weight_tol=))")):
        read_runs_mapped(path, None)
    # RunTable(df) is also what every command's table is: both spellings
    with pytest.raises(DataError, match=SUM + re.escape("(fix the row, or raise --weight-tol (weight_tol=))")):
        RunTable(_runs())


def test_weights_in_order_names_no_keyword_it_does_not_take():
    # A frame of mixtures (bootstrap_law's points=, decide's runs) said "raise weight_tol=", which no caller takes.
    frame = _runs()[["w:a", "w:b", "w:c"]]
    with pytest.raises(DataError, match=SUM + r"\(fix the row\)$"):
        weights_in_order(frame, ["a", "b", "c"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(weights_in_order(_runs(0.0)[["w:c", "w:b", "w:a"]], ["a", "b", "c"]),
                                   _runs(0.0)[["w:a", "w:b", "w:c"]].to_numpy())


def test_law_option_reads_a_json_mapping_before_text():
    # auto's objective is 'str | Mapping[str, float]': 'objective={"a": 1, "b": 0}' was kept as the string and
    # refused as an unknown objective; a plain name stays text
    from mixlaw.laws.options import parse_law_options

    assert parse_law_options("auto", ['objective={"a": 1, "b": 0}', 'candidates=["linear"]']) == {
        "objective": {"a": 1, "b": 0}, "candidates": ["linear"]}
    assert parse_law_options("auto", ["objective=mean"]) == {"objective": "mean"}
