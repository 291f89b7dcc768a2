"""A run table's ``params``, ``step`` and ``tokens`` cells may be written as papers and sweeps write them ('70M',
'1.4B', '2b', '16k'), as the command line's --target-params 70M already is.

Found on Dai & Zheng's 4-domain Pile runs (sizes '90M', '200M', '440M', tokens '3B'..'8B' in their data file):
``mixlaw runs import`` stopped at "column 'model_size': value '200M' is not a number (mapped to params)"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixlaw.data import RunTable, read_runs
from mixlaw.errors import DataError, DataWarning
from mixlaw.importers import read_runs_mapped


def _rows(size_text: bool) -> list[dict]:
    rows = []
    for a in (0.2, 0.6):
        for n, n_text in ((7e7, "70M"), (1.4e9, "1.4b")):
            for d, d_text in ((2e9, "2B"), (4e9, "4 B")):
                rows.append({"weight_a": a, "weight_b": 1 - a, "model_size": n_text if size_text else n,
                             "n_tokens": d_text if size_text else d, "a_loss": 3.0 - a + 1e3 / n ** 0.3})
    return rows


def test_count_values_reads_suffixes_and_leaves_the_rest_missing() -> None:
    from mixlaw.data import count_values  # new here: imported in this test, so the others also run on older trees

    got = count_values(pd.Series(["70M", "1.4B", "2b", "16k", 5, "1e9", "", None, "big", "1.5x"], dtype=object))
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got.to_numpy()[:6], [7e7, 1.4e9, 2e9, 16e3, 5.0, 1e9])
    assert got.iloc[6:].isna().all()


def test_a_run_table_reads_sizes_and_tokens_written_with_suffixes(tmp_path) -> None:
    frame = pd.DataFrame({"run": ["a", "a", "b"], "w:x": [0.5, 0.5, 0.2], "w:y": [0.5, 0.5, 0.8],
                          "loss:x": [3.0, 2.9, 3.1], "params": ["70M", "70M", "160m"], "step": ["1k", "2k", 2000],
                          "tokens": ["2B", "4B", "4e9"]})
    frame.to_csv(tmp_path / "runs.csv", index=False)
    for table in (RunTable(frame), read_runs(tmp_path / "runs.csv")):
        np.testing.assert_array_equal(table.model_params, [7e7, 7e7, 1.6e8])
        np.testing.assert_array_equal(table.steps, [1e3, 2e3, 2e3])
        np.testing.assert_array_equal(table.tokens, [2e9, 4e9, 4e9])
    # text that is no count still stops, naming the cell
    with pytest.raises(DataError, match=r"column 'params'.*value '70 million' is not a number"):
        RunTable(frame.assign(params=["70M", "70M", "70 million"]))


def test_the_importer_numbers_one_run_per_mixture_and_size_given_as_text(tmp_path) -> None:
    (tmp_path / "text.csv").write_text(pd.DataFrame(_rows(size_text=True)).to_csv(index=False))
    (tmp_path / "num.csv").write_text(pd.DataFrame(_rows(size_text=False)).to_csv(index=False))
    cols = "params=model_size,tokens=n_tokens,w:*=weight_*,loss:*=*_loss"
    with pytest.warns(DataWarning, match=r"numbered the runs .*: 4 runs in 8 rows"):
        text = read_runs_mapped(tmp_path / "text.csv", cols).frame
    with pytest.warns(DataWarning, match=r"4 runs in 8 rows"):
        num = read_runs_mapped(tmp_path / "num.csv", cols).frame
    pd.testing.assert_frame_equal(text, num)


def test_a_size_with_a_suffix_is_the_same_number_as_written_out() -> None:
    # float("1.001") * 1e9 is one ulp off 1.001e9: a column with '1.001B' in some rows and 1.001e9 in others held
    # two model sizes, and --target-params 1.001B missed the table's 1.001e9.
    from mixlaw.data import scaled_number

    for text, value in (("1.001B", 1.001e9), ("0.067B", 6.7e7), ("1.013M", 1.013e6), ("2.5T", 2.5e12)):
        assert scaled_number(text) == value
    frame = pd.DataFrame({"run": ["a", "b"], "w:x": [0.5, 0.2], "w:y": [0.5, 0.8], "loss:x": [3.0, 3.1],
                          "params": ["0.067B", 6.7e7]})
    assert np.unique(RunTable(frame).model_params).size == 1


def test_the_import_hint_adds_drop_incomplete_when_loss_cells_are_empty(tmp_path) -> None:
    # Dai & Zheng's 4-domain runs have one checkpoint with no losses: the first hint's import stopped at it, and
    # only that second error said --drop-incomplete.
    rows = pd.DataFrame(_rows(size_text=False))
    rows.loc[3, "a_loss"] = np.nan
    rows.to_csv(tmp_path / "sweep.csv", index=False)
    with pytest.raises(DataError, match=r"--columns '[^']*' --drop-incomplete \(it leaves out the 1 row with an "
                                        r"empty loss cell\) --out runs.csv"):
        read_runs(tmp_path / "sweep.csv")
