"""An error or warning on a pandas DataFrame passed from Python names a row by its index label and 0-based position.

It named "row N" with N = position + 2, a CSV's line, whatever the frame's index and though no file was read: "row 4"
of a frame indexed 'r10', 'r20', 'r30' was its third row, 'r30'. A file's rows keep their editor lines (one helper,
``errors.rows_named``, words both).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixlaw import read_runs
from mixlaw.data import RunTable
from mixlaw.errors import DataError, DataWarning, rows_named
from mixlaw.laws import get_law


def _frame(index=None) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(2), size=6)
    df = pd.DataFrame({"run": [f"m{i}" for i in range(6)], "w:a": W[:, 0], "w:b": W[:, 1],
                       "loss:x": 2 + W[:, 0], "loss:y": 3 - W[:, 1]})
    return df if index is None else df.set_axis(index, axis=0)


LABELS = ["r10", "r20", "r30", "r40", "r50", "r60"]


def test_a_labelled_frames_row_sum_error_names_the_label_and_position() -> None:
    df = _frame(LABELS)
    df.loc["r30", "w:a"] += 0.3
    with pytest.raises(DataError, match=r"^row 'r30' \(0-based position 2\): column 'w:a': weights sum to 1\.3") \
            as err:
        get_law("linear").fit(df, targets="x")
    assert (err.value.row, err.value.label, err.value.unit) == (2, "r30", "position")
    with pytest.raises(DataError, match=r"^row 'r30' \(0-based position 2\): column 'w:a'"):
        RunTable(df)


def test_a_filtered_frame_names_its_label_not_its_line() -> None:
    # Integer labels that are not the positions (a frame filtered with df[mask]): both, said apart.
    df = _frame()
    df.loc[4, "w:a"] += 0.3
    with pytest.raises(DataError, match=r"^row 4 \(0-based position 3\): column 'w:a'"):
        RunTable(df.drop(index=1))
    # A default RangeIndex: the label is the position, said once.
    with pytest.raises(DataError, match=r"^row 4 \(0-based\): column 'w:a'"):
        RunTable(df)


def test_a_duplicate_and_a_missing_loss_name_the_frames_labels() -> None:
    df = _frame(LABELS)
    df.loc["r50", "run"] = "m1"
    df.loc["r50", ["w:a", "w:b", "loss:x", "loss:y"]] = df.loc["r20", ["w:a", "w:b", "loss:x", "loss:y"]]
    with pytest.raises(DataError, match=r"^row 'r50' \(0-based position 4\): column 'run': duplicate run 'm1' "
                                        r"\(same run as row 'r20' \(0-based position 1\); the same row twice"):
        RunTable(df)
    df = _frame(LABELS)
    df.loc[["r20", "r60"], "loss:y"] = np.nan
    with pytest.warns(DataWarning, match=r"left out 2 rows with no value \(loss:y 2; rows 'r20', 'r60' \(0-based "
                                         r"positions 1, 5\)\)"):
        RunTable(df).complete()


def test_a_files_rows_keep_their_lines(tmp_path) -> None:
    df = _frame(LABELS)
    df.loc["r30", "w:a"] += 0.3
    df.to_csv(tmp_path / "runs.csv", index=False)
    with pytest.raises(DataError, match=r"runs\.csv:4: column 'w:a': weights sum to 1\.3") as err:
        read_runs(tmp_path / "runs.csv")
    assert (err.value.row, err.value.label, err.value.unit) == (4, None, "line")
    assert rows_named("runs.csv", [4, 9]) == "lines 4, 9"
    assert rows_named("runs.json", [3]) == "record 3"
    assert rows_named(None, range(7), list(range(7))) == "rows 0, 1, 2, 3, 4, ... (0-based)"


def test_a_subsets_rows_keep_the_frames_positions() -> None:
    # A table's subset (the rows a fit keeps) names a row by the given frame's label and position, not its own.
    df = _frame(LABELS)
    df.loc[["r20", "r60"], "loss:y"] = np.nan
    sub = RunTable(df).subset([3, 4, 5])
    with pytest.warns(DataWarning, match=r"\(loss:y 1; row 'r60' \(0-based position 5\)\)"):
        sub.complete()


def test_read_runs_mapped_of_a_frame_names_its_labels() -> None:
    # read_runs_mapped(df) named its rows 'DataFrame:N', N = position + 2, through its merge of log rows too.
    from mixlaw.importers import read_runs_mapped

    df = _frame(LABELS).rename(columns={"w:a": "mix_a", "w:b": "mix_b"})
    df.loc["r30", "mix_a"] += 0.3
    with pytest.raises(DataError, match=r"^DataFrame: row 'r30' \(0-based position 2\): column 'mix_a': weights "
                                        r"sum to 1\.3") as err:
        read_runs_mapped(df, "w:*=mix_*")
    assert (err.value.row, err.value.label) == (2, "r30")
    # A run state that says it did not finish (W&B's 'State' column), warned on the frame's rows.
    df = _frame(LABELS).assign(State="finished")
    df.loc["r40", "State"] = "crashed"
    with pytest.warns(DataWarning, match=r"^DataFrame: column 'State' says 1 'crashed' \(row 'r40' \(0-based "
                                         r"position 3\)\)"):
        read_runs_mapped(df, None)
    # Two values for one run and step, in a log's rows merged per (run, step): both rows named by their labels.
    log = pd.DataFrame({"run": ["m0", "m0", "m0"], "step": [1, 2, 2], "w:a": [0.5, np.nan, np.nan],
                        "w:b": [0.5, np.nan, np.nan], "loss:x": [np.nan, 2.0, 2.5]}, index=["c", "e1", "e2"])
    with pytest.raises(DataError, match=r"^DataFrame: row 'e2' \(0-based position 2\): column 'loss:x': two values "
                                        r"for one run and step \(run m0, step 2\): 2\.0 on row 'e1' \(0-based "
                                        r"position 1\), 2\.5 on row 'e2' \(0-based position 2\)"):
        read_runs_mapped(log, None)


def test_a_continual_frame_names_its_labels_as_a_run_table_does() -> None:
    # critical_proportion(df) read the frame as a file, its rows numbered as a CSV's lines (position + 2): "row 7"
    # of the row that critical_proportion(RunTable(df)) names "row 'r5' (0-based position 5)".
    from mixlaw.continual import critical_proportion, read_continual_runs

    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.6, size=8)
    df = pd.DataFrame({"run": [f"m{i}" for i in range(8)], "w:web": 1 - p, "w:code": p,
                       "loss:web": 2 + 0.4 * np.exp(p)}, index=[f"r{i}" for i in range(8)])
    df.loc["r5", "w:web"] += 0.3
    for call in (lambda: critical_proportion(df, pre_loss=2.0, n_boot=0),
                 lambda: critical_proportion(RunTable(df), pre_loss=2.0, n_boot=0)):
        with pytest.raises(DataError, match=r"^row 'r5' \(0-based position 5\): column 'w:web': weights sum to 1\.3"):
            call()
    # A base-model row (no mixture) is named so too.
    base = pd.DataFrame({"run": ["b"], "w:web": [np.nan], "w:code": [np.nan], "loss:web": [-1.0]}, index=["base"])
    with pytest.raises(DataError, match=r"^row 'base' \(0-based position 8\): column 'loss:web': base model row"):
        read_continual_runs(pd.concat([df.assign(**{"w:web": 1 - p}), base]), original="web")
    # Fixed, the frame reads, its base row giving the loss before continual pretraining.
    t, pre, n = read_continual_runs(pd.concat([df.assign(**{"w:web": 1 - p}), base.assign(**{"loss:web": 2.0})]),
                                    original="web")
    assert (len(t), pre, n) == (8, 2.0, 1)
