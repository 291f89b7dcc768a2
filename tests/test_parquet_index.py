"""A Parquet run table written from a frame indexed by its run or model size (``df.set_index('run').to_parquet()``, a
common pandas habit): pandas reads the index back as the index, not a column, so 'run' was "missing", and a
``params`` index was dropped without a word (a table of 4 model sizes fitted as one, with no warning of the sizes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixlaw import read_runs


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    rows = []
    for N in (2e7, 6e7):
        W = rng.dirichlet(np.ones(3), size=6)
        for i, w in enumerate(W):
            rows.append({"run": f"m{i}-{N:g}", "w:web": w[0], "w:code": w[1], "w:books": w[2],
                         "loss:val": 3 + w[0] * (1e8 / N) ** 0.2, "params": N})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("index", [["run"], ["params"], ["run", "params"]])
def test_a_parquet_index_reads_as_the_column_it_was(tmp_path, index) -> None:  # type: ignore[no-untyped-def]
    frame = _frame()
    frame.to_parquet(tmp_path / "plain.parquet", index=False)
    frame.set_index(index).to_parquet(tmp_path / "indexed.parquet")
    want, got = read_runs(tmp_path / "plain.parquet"), read_runs(tmp_path / "indexed.parquet")
    assert np.array_equal(got.model_params, want.model_params)
    pd.testing.assert_frame_equal(got.frame[want.frame.columns], want.frame)


def test_an_unnamed_parquet_index_is_left_out(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # a filtered frame's index (its rows' old positions) carries no column of the table
    frame = _frame()
    frame.to_parquet(tmp_path / "plain.parquet", index=False)
    frame.set_axis(np.arange(len(frame)) * 3, axis=0).to_parquet(tmp_path / "filtered.parquet")
    assert list(read_runs(tmp_path / "filtered.parquet").frame.columns) == list(frame.columns)


@pytest.mark.parametrize("index", [["run"], ["params"], ["run", "params"]])
def test_a_frame_indexed_by_a_run_table_column_fits_as_that_column(index) -> None:  # type: ignore[no-untyped-def]
    # RunTable(df.set_index('params')) dropped the index: the model sizes were gone without a word (fit_table and
    # law.fit(df) take a frame so); indexed by 'run' it said "missing 'run'".
    from mixlaw import RunTable
    from mixlaw.api import fit_table

    frame = _frame()
    want, got = RunTable(frame), RunTable(frame.set_index(index))
    assert np.array_equal(got.model_params, want.model_params)
    pd.testing.assert_frame_equal(got.frame[want.frame.columns], want.frame)
    assert fit_table(frame.set_index(index), law="linear").predict(frame).tolist() == \
        fit_table(frame, law="linear").predict(frame).tolist()


def test_a_parquet_index_named_as_a_column_too_leaves_the_column(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # df.set_index('run', drop=False): moving the index said "cannot parse the file: cannot insert run, already
    # exists", where the column had been read before; the column is the table's, as RunTable(df) takes it.
    frame = _frame()
    frame.to_parquet(tmp_path / "plain.parquet", index=False)
    frame.set_index("run", drop=False).to_parquet(tmp_path / "both.parquet")
    pd.testing.assert_frame_equal(read_runs(tmp_path / "both.parquet").frame,
                                  read_runs(tmp_path / "plain.parquet").frame)


@pytest.mark.parametrize("name", ["params", "w:news", "loss:extra"])
def test_a_named_default_index_is_positions_not_a_column(tmp_path, name) -> None:  # type: ignore[no-untyped-def]
    # df.index.name = 'params' on the default RangeIndex: RunTable(df) read 0, 1, 2 as model sizes and refused
    # "column 'params': params is 0.0, expected a finite non-negative number"; a Parquet or table-JSON file keeps
    # the RangeIndex and its name, and read_runs did the same.
    from mixlaw import RunTable

    frame = _frame().drop(columns="params")
    named = frame.rename_axis(name)
    assert isinstance(named.index, pd.RangeIndex)
    want = RunTable(frame)
    pd.testing.assert_frame_equal(RunTable(named).frame, want.frame)
    named.to_parquet(tmp_path / "named.parquet")
    named.to_json(tmp_path / "named.json", orient="table")
    for path in ("named.parquet", "named.json"):
        pd.testing.assert_frame_equal(read_runs(tmp_path / path).frame, want.frame, check_exact=False)


def test_a_default_index_named_run_still_names_the_runs() -> None:
    # positions are labels: a frame without a run column and its default index named 'run' has runs 0, 1, 2 ...
    from mixlaw import RunTable

    frame = _frame().drop(columns="run")
    table = RunTable(frame.rename_axis("run"))
    assert table.runs.tolist() == [str(i) for i in range(len(frame))]
    # ... and a RangeIndex that is not the positions (another start) is data, as any index named so
    shifted = _frame().set_axis(pd.RangeIndex(1, len(frame) + 1, name="step"), axis=0)
    assert RunTable(shifted).frame["step"].tolist() == list(range(1, len(frame) + 1))


def test_steps_0_to_n_minus_1_as_the_index_are_the_steps(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # One run's curve at every step from 0 (a W&B history's _step), indexed by its steps: pandas >= 3 gives
    # set_index('step') (and read_csv(index_col='step')) of 0, 1, ..., n - 1 as a RangeIndex, the default index's
    # kind, and the steps were dropped as positions: "duplicate run 'r0' ... a repeated seed?". A step or token
    # count may be 0, so such an index is the column, as it was before positions were told from data.
    from mixlaw import RunTable

    n = 6
    curve = pd.DataFrame({"run": ["r0"] * n, "w:x": [0.3] * n, "w:y": [0.7] * n, "loss:x": np.linspace(3, 2, n),
                          "step": np.arange(n)})
    for name in ("step", "tokens"):
        indexed = curve.rename(columns={"step": name}).set_index(name)
        assert RunTable(indexed).frame[name].tolist() == list(range(n))
        indexed.to_parquet(tmp_path / f"{name}.parquet")
        assert read_runs(tmp_path / f"{name}.parquet").frame[name].tolist() == list(range(n))
