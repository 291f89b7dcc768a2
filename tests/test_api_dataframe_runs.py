"""fit_table, optimize_runs, compare and holdout_split take a DataFrame in the run table's columns.

They refused one ("read_runs reads a file: give its path, got DataFrame"; "compare's train must be a RunTable")
while law.fit, fit_pipeline, bootstrap_law, select_runs and active_design read it as ``RunTable(df)``: now all do,
through one helper (``data.frame_as_table``), with the same answer and the same validation.
"""

from __future__ import annotations

import numpy as np
import pytest

from mixlaw import compare, fit_table, load_regmix, optimize_runs
from mixlaw.compare import holdout_split
from mixlaw.errors import DataError, InputError


@pytest.fixture(scope="module")
def tables():
    table = load_regmix("train_1m").take(np.arange(120))
    return table, table.frame.copy()


def test_fit_table_and_optimize_runs_read_a_frame_as_its_table(tables) -> None:
    table, df = tables
    a = fit_table(df, law="linear", targets=["pile_cc"])
    b = fit_table(table, law="linear", targets=["pile_cc"])
    np.testing.assert_array_equal(a.predict(table), b.predict(table))
    oa = optimize_runs(df, law="linear", targets=["pile_cc"])
    ob = optimize_runs(table, law="linear", targets=["pile_cc"])
    np.testing.assert_array_equal(oa.weight_array(), ob.weight_array())


def test_compare_and_holdout_split_read_frames(tables) -> None:
    table, df = tables
    train_t, tests_t = holdout_split(table, 0.25, random_state=1)
    train_f, tests_f = holdout_split(df, 0.25, random_state=1)
    assert list(train_f.runs) == list(train_t.runs)
    a = compare(train_t.frame, {k: v.frame for k, v in tests_t.items()}, targets=["pile_cc"], laws=["linear"])
    b = compare(train_t, tests_t, targets=["pile_cc"], laws=["linear"])
    assert a.rows[0].splits == b.rows[0].splits and a.rows[0].error is None


def test_a_bad_frame_gets_the_tables_own_error_and_other_types_a_clear_one(tables) -> None:
    _, df = tables
    bad = df.assign(**{"w:arxiv": df["w:arxiv"] + 0.1})  # every row sums to 1.1
    for call in (lambda t: fit_table(t, law="linear"), lambda t: optimize_runs(t, law="linear"),
                 lambda t: compare(t, {"test": t}, laws=["linear"]), lambda t: holdout_split(t)):
        with pytest.raises(DataError, match=r"row 0 \(0-based\): column 'w:arxiv': weights sum to 1\.1"):
            call(bad)
    with pytest.raises(InputError, match="compare's train must be a RunTable .*or a DataFrame in its columns"):
        compare(df.to_numpy(), {"test": df}, laws=["linear"])
