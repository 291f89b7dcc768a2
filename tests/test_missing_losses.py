"""A sweep with an eval missing at a few checkpoints (Dai & Zheng's SlimPajama table: 16 NaN cells in 6 of 2,452
rows): the table's error counts them and names the fix, and ``runs import --drop-incomplete`` applies it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mixlaw.data import read_runs
from mixlaw.errors import DataError, DataWarning
from mixlaw.importers import read_olmix_pair, read_runs_mapped


def _sweep(path, n: int = 12):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=n)
    df = pd.DataFrame({"run": [f"r{i}" for i in range(n)], **{f"w:{d}": W[:, j] for j, d in enumerate("abc")},
                       "loss:a": 2.0 + W[:, 0], "loss:b": 3.0 - W[:, 1]})
    df.loc[[3, 7], "loss:a"] = np.nan
    df.loc[7, "loss:b"] = np.nan
    df.loc[9, "loss:b"] = np.nan
    df.to_csv(path, index=False)
    return path


def test_the_error_counts_the_missing_losses_and_names_the_fix(tmp_path):
    p = _sweep(tmp_path / "sweep.csv")
    with pytest.raises(DataError) as exc:
        read_runs(p)
    msg = str(exc.value)
    # The first row with a missing loss (line 5 = row 3), then the count over the whole table.
    assert msg.startswith(f"{p}:5: column 'loss:a': loss is nan, expected a finite positive number")
    assert "3 of 12 rows miss a loss: loss:a 2, loss:b 2" in msg
    assert f"mixlaw runs import {p} --drop-incomplete --out runs.parquet" in msg


def test_drop_incomplete_leaves_those_rows_out_with_a_warning(tmp_path):
    p = _sweep(tmp_path / "sweep.csv")
    with pytest.warns(DataWarning, match=r"left out 3 of 12 rows without every eval loss \(missing: loss:a 2, "
                                         r"loss:b 2\)"):
        t = read_runs_mapped(p, None, drop_incomplete=True)
    assert list(t.runs) == [f"r{i}" for i in range(12) if i not in (3, 7, 9)]
    assert np.all(np.isfinite(t.losses(t.evals)))
    # A loss that is text, not a missing value, is still the table's error, at its own line.
    df = pd.read_csv(p)
    df["loss:a"] = df["loss:a"].astype(object)
    df.loc[5, "loss:a"] = "oops"
    df.to_csv(p, index=False)
    with pytest.warns(DataWarning), pytest.raises(DataError, match=r":7: column 'loss:a': value 'oops' is not"):
        read_runs_mapped(p, None, drop_incomplete=True)


def test_drop_incomplete_on_an_olmix_pair(tmp_path):
    ratios, metrics = tmp_path / "ratios.csv", tmp_path / "metrics.csv"
    pd.DataFrame({"run": ["r0", "r1", "r2"], "x": [0.5, 1.0, 0.2], "y": [0.5, 0.0, 0.8]}).to_csv(ratios, index=False)
    pd.DataFrame({"run": ["r0", "r1", "r2"], "bpb": [1.0, np.nan, 1.2]}).to_csv(metrics, index=False)
    with pytest.raises(DataError, match="1 of 3 rows miss a loss: loss:bpb 1"):
        read_olmix_pair(ratios, metrics)
    with pytest.warns(DataWarning, match="left out 1 of 3 rows"):
        t = read_olmix_pair(ratios, metrics, drop_incomplete=True)
    assert list(t.runs) == ["r0", "r2"]
    pd.DataFrame({"run": ["r0", "r1", "r2"], "bpb": [np.nan] * 3}).to_csv(metrics, index=False)
    with pytest.raises(DataError, match="no row has every eval loss"):
        read_olmix_pair(ratios, metrics, drop_incomplete=True)


def test_cli_runs_import_drop_incomplete(capsys, tmp_path):
    from mixlaw.cli import main

    p, out = _sweep(tmp_path / "sweep.csv"), tmp_path / "clean.parquet"
    with pytest.raises(SystemExit) as exc:
        main(["runs", "import", str(p), "--drop-incomplete", "--out", str(out), "--json"])
    cap = capsys.readouterr()
    assert exc.value.code == 0, cap.err
    assert json.loads(cap.out)["rows"] == 9 and "left out 3 of 12 rows" in cap.err
    assert len(read_runs(out)) == 9


def test_evals_keeps_the_rows_that_miss_only_another_eval(capsys, tmp_path):
    # loss:a misses rows 3 and 7, loss:b rows 7 and 9: --drop-incomplete alone kept 9 of 12 rows even for a user
    # who fits loss:b, which only rows 7 and 9 miss. Importing the evals one fits keeps every row that has them.
    from mixlaw.cli import main

    p = _sweep(tmp_path / "sweep.csv")
    with pytest.warns(DataWarning, match=r"left out 3 of 12 rows .*import those alone \(--evals a keeps 10, "
                                         r"--evals b keeps 10\)"):
        read_runs_mapped(p, None, drop_incomplete=True)
    with pytest.warns(DataWarning, match=r"left out 2 of 12 rows without every eval loss \(missing: loss:b 2\)$"):
        t = read_runs_mapped(p, None, drop_incomplete=True, evals=["loss:b"])
    assert t.evals == ["b"] and list(t.runs) == [f"r{i}" for i in range(12) if i not in (7, 9)]
    # An eval with no gap needs no --drop-incomplete once the other is left out.
    df = pd.read_csv(p)
    df.loc[[7, 9], "loss:b"] = 1.0
    df.to_csv(p, index=False)
    assert len(read_runs_mapped(p, None, evals=["b"])) == 12
    with pytest.raises(DataError, match=r"--evals: no loss column for 'c'; the table has \['a', 'b'\]"):
        read_runs_mapped(p, None, evals=["c"])

    out = tmp_path / "b.parquet"
    with pytest.raises(SystemExit) as exc:
        main(["runs", "import", str(p), "--evals", "b", "--drop-incomplete", "--out", str(out), "--json"])
    cap = capsys.readouterr()
    assert exc.value.code == 0, cap.err
    assert json.loads(cap.out)["rows"] == 12 and json.loads(cap.out)["evals"] == ["b"]
    assert read_runs(out).evals == ["b"]


def test_evals_on_an_olmix_pair(tmp_path):
    ratios, metrics = tmp_path / "ratios.csv", tmp_path / "metrics.csv"
    pd.DataFrame({"run": ["r0", "r1", "r2"], "x": [0.5, 1.0, 0.2], "y": [0.5, 0.0, 0.8]}).to_csv(ratios, index=False)
    pd.DataFrame({"run": ["r0", "r1", "r2"], "bpb": [1.0, np.nan, 1.2], "ce": [2.0, 2.1, 2.2]}).to_csv(metrics,
                                                                                                       index=False)
    t = read_olmix_pair(ratios, metrics, drop_incomplete=True, evals=["ce"])
    assert list(t.runs) == ["r0", "r1", "r2"] and t.evals == ["ce"]


def test_the_table_error_names_evals(tmp_path):
    p = _sweep(tmp_path / "sweep.csv")
    with pytest.raises(DataError, match=r"add --evals EVAL,\.\.\. to import only the evals you fit"):
        read_runs(p)


def test_a_diverged_run_s_infinite_losses_are_counted_and_left_out_by_drop_incomplete(tmp_path):
    # A run that diverged logs inf at its last checkpoints (issue 9): the error named the first cell only, and
    # --drop-incomplete, the fix the NaN error names, stopped at the same error.
    p = _sweep(tmp_path / "sweep.csv")
    df = pd.read_csv(p)
    df.loc[[3, 7], "loss:a"] = 2.5
    df.loc[[7, 9], "loss:b"] = 3.0
    df.loc[[10, 11], ["loss:a", "loss:b"]] = np.inf
    df.to_csv(p, index=False)
    with pytest.raises(DataError, match=r"sweep\.csv:12: column 'loss:a': loss is inf, expected a finite positive "
                                        r"number \(2 of 12 rows have an infinite loss: a diverged run\? leave those "
                                        r"rows out with 'mixlaw runs import .*sweep\.csv --drop-incomplete --out"):
        read_runs(p)
    df.loc[7, "loss:b"] = np.nan  # and one eval missing elsewhere: both are counted, each by its kind
    df.to_csv(p, index=False)
    with pytest.warns(DataWarning, match=r"left out 3 of 12 rows without every eval loss \(missing: loss:b 1; "
                                         r"infinite: loss:a 2, loss:b 2\)"):
        t = read_runs_mapped(p, None, drop_incomplete=True)
    assert list(t.runs) == [f"r{i}" for i in range(12) if i not in (7, 10, 11)]
