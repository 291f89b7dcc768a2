"""A sweep with an eval missing at a few checkpoints (Dai & Zheng's SlimPajama table: 16 NaN cells in 6 of 2,452
rows): the table's error counts them and names the fix, and ``runs import --drop-incomplete`` applies it."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest

from mixlaw.data import read_runs
from mixlaw.errors import DataError, DataWarning
from mixlaw.importers import read_olmix_pair, read_runs_mapped


@contextmanager
def warnings_as_errors() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        yield


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
    # The table keeps a missing loss (each fit takes the rows that have its evals); asking for the losses of
    # evals that miss some rows is the error, so no fit or metric ever sees a NaN.
    p = _sweep(tmp_path / "sweep.csv")
    t = read_runs(p)
    with pytest.raises(DataError) as exc:
        t.losses(["a", "b"])
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
        read_olmix_pair(ratios, metrics).losses("bpb")
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
        read_runs(p).losses()


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


# ---------------------------------------------------------------- an eval missing in some runs, fitted per eval
def _evals_table(path, n: int = 40):  # type: ignore[no-untyped-def]
    """40 runs, 3 domains, evals a, b, c; loss:b missing in 5 rows (an eval job that crashed for those runs)."""
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=n)
    df = pd.DataFrame({"run": [f"r{i}" for i in range(n)], **{f"w:{d}": W[:, j] for j, d in enumerate("xyz")}})
    for k, e in enumerate("abc"):
        df[f"loss:{e}"] = (2.0 + 0.3 * k + np.exp(-2 * W[:, k]) + 0.3 * W[:, (k + 1) % 3]
                           + rng.normal(0, 0.005, n))
    df.loc[[3, 9, 17, 22, 30], "loss:b"] = np.nan
    df.to_csv(path, index=False)
    return path, df


def _values(law):  # type: ignore[no-untyped-def]
    return {k: p.value for k, p in law.params_.items()}


def test_fit_of_one_eval_uses_every_row_that_has_it(tmp_path):
    from mixlaw.api import fit_table
    from mixlaw.data import RunTable

    p, df = _evals_table(tmp_path / "t.csv")
    t = read_runs(p)
    assert t.missing_losses() == {"a": 0, "b": 5, "c": 0}
    # a: all 40 rows, exactly the fit on the table without column b (no warning: a misses no row).
    with warnings_as_errors():
        fa = fit_table(t, law="ye-exp", targets="a")
    ref = fit_table(RunTable(df.drop(columns="loss:b")), law="ye-exp", targets="a")
    assert fa.n_runs_ == 40 and fa.rows_left_out_ == {}
    np.testing.assert_allclose(list(_values(fa).values()), list(_values(ref).values()), rtol=1e-12)
    # b: its 35 rows, exactly the fit on those rows; the warning and the report count the 5 left out.
    with pytest.warns(DataWarning, match=r"fitting loss:b on the 35 of 40 rows that have it; left out 5 rows with no "
                                         r"value \(loss:b 5; lines 5, 11, 19, 24, 32\)"):
        fb = fit_table(t, law="ye-exp", targets="b")
    ref = fit_table(RunTable(df[df["loss:b"].notna()]), law="ye-exp", targets="b")
    np.testing.assert_allclose(list(_values(fb).values()), list(_values(ref).values()), rtol=1e-12)
    assert fb.n_runs_ == 35 and fb.report().to_dict()["rows_left_out"] == {"b": 5}
    assert "(35 runs, 3 domains; left out rows without a loss: loss:b 5)" in fb.report().text()


def test_fitting_several_evals_takes_the_rows_that_have_each(tmp_path):
    from mixlaw.api import fit_table

    p, df = _evals_table(tmp_path / "t.csv")
    with pytest.warns(DataWarning, match=r"fitting a, b, c on the 35 of 40 rows that have each of them; .*--law auto "
                                         r"or stack .* or one eval per fit \(--target EVAL, targets='EVAL'\), fit "
                                         r"each eval on every row that has it"):
        f = fit_table(read_runs(p), law="ye-exp", targets="all")
    assert f.n_runs_ == 35 and f.rows_left_out_ == {"b": 5}
    with warnings.catch_warnings():  # the 5 rows left out may lie outside the fitted range: an extrapolation
        warnings.simplefilter("ignore")
        assert np.all(np.isfinite(f.predict(df[[c for c in df if c.startswith("w:")]].to_numpy())))


def test_an_eval_with_too_few_rows_is_a_clear_error(tmp_path):
    from mixlaw.api import fit_table, optimize_runs
    from mixlaw.errors import InputError

    p, df = _evals_table(tmp_path / "t.csv")
    df.loc[3:, "loss:c"] = np.nan
    df.to_csv(p, index=False)
    t = read_runs(p)
    with pytest.warns(DataWarning), pytest.raises(InputError, match=r"3 observations are too few .*\(only 3 of the "
                                                                    r"table's 40 rows have every target's loss: "
                                                                    r"missing loss:c in 37 rows\)"):
        fit_table(t, law="ye-exp", targets="c")
    with pytest.warns(DataWarning), pytest.raises(InputError, match=r"only 3 of the table's 40 rows"):
        optimize_runs(t, law="ye-exp", targets="c")
    df["loss:c"] = np.nan
    df.to_csv(p, index=False)
    with pytest.raises(DataError, match=r"no row has a loss for every one of \['c'\] \(loss:c 40 of 40 rows miss "
                                        r"one\): c has no value in any row"):
        fit_table(read_runs(p), law="ye-exp", targets="c")


def test_inf_is_still_a_diverged_run_and_nan_weights_still_named(tmp_path):
    p, df = _evals_table(tmp_path / "t.csv")
    df.loc[4, "loss:a"] = np.inf
    df.to_csv(p, index=False)
    with pytest.raises(DataError, match=r"t\.csv:6: column 'loss:a': loss is inf"):
        read_runs(p)
    df.loc[4, "loss:a"] = 2.5
    df.loc[6, "w:y"] = np.nan
    df.to_csv(p, index=False)
    with pytest.raises(DataError, match=r"t\.csv:8: column 'w:y': weight is nan, expected a finite number"):
        read_runs(p)


def test_optimize_and_compare_take_the_rows_of_their_targets(tmp_path):
    from mixlaw.api import compare_tables, optimize_runs
    from mixlaw.data import RunTable

    p, df = _evals_table(tmp_path / "t.csv")
    t = read_runs(p)
    with warnings_as_errors():
        oa = optimize_runs(t, law="ye-exp", targets="a")
    ref = optimize_runs(RunTable(df.drop(columns="loss:b")), law="ye-exp", targets="a")
    assert oa.weights == ref.weights and oa.rows_left_out == {}
    # The mean of a, b, c: on the 35 rows with all three; rows named in the user's table, not in its subset.
    with pytest.warns(DataWarning, match="fitting a, b, c on the 35 of 40 rows"):
        om = optimize_runs(t, law="ye-exp", targets="all")
    full = df[df["loss:b"].notna()]
    best = int(full[["loss:a", "loss:b", "loss:c"]].mean(axis=1).idxmin())
    assert om.rows_left_out == {"b": 5} and om.to_dict()["rows_left_out"] == {"b": 5}
    assert om.best_run is not None and om.best_run["row"] == best and om.best_run["run"] == f"r{best}"
    assert "runs left out for want of a loss: loss:b 5" in str(om)
    train, test = RunTable(df.iloc[:30], path="train"), RunTable(df.iloc[30:], path="test")
    with warnings_as_errors():
        board = compare_tables(train, {"te": test}, targets="a", laws=["ye-exp"])
    assert board.rows[0].error is None
    with pytest.warns(DataWarning, match=r"test: scoring a, b, c on the 9 of 10 rows"), \
            pytest.warns(DataWarning, match=r"train: fitting a, b, c on the 26 of 30 rows"):
        board = compare_tables(train, {"te": test}, targets="all", laws=["ye-exp"])
    assert board.rows[0].error is None and np.isfinite(board.rows[0].splits["te"]["rmse"])


def test_cli_fit_json_says_which_rows_each_eval_lost(capsys, tmp_path):
    from cli_runner import run_cli

    p, _ = _evals_table(tmp_path / "t.csv")
    code, out, err = run_cli(capsys, "fit", "--runs", str(p), "--target", "b", "--law", "ye-exp", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["report"]["rows_left_out"] == {"b": 5} and doc["report"]["n_runs"] == 35
    assert "left out 5 rows with no value (loss:b 5" in err
    code, out, err = run_cli(capsys, "fit", "--runs", str(p), "--target", "a", "--law", "ye-exp", "--json")
    assert code == 0 and json.loads(out)["report"]["rows_left_out"] == {} and "left out" not in err


def test_an_eval_group_or_total_misses_the_rows_that_miss_a_member(tmp_path):
    from mixlaw.api import fit_table
    from mixlaw.evals import add_eval_groups, add_weighted_total

    p, df = _evals_table(tmp_path / "t.csv")
    t = add_eval_groups(read_runs(p), {"ab": {"a": 1.0, "b": 1.0}, "ac": {"a": 1.0, "b": 0.0, "c": 1.0}})
    assert t.missing_losses(["ab", "ac"]) == {"ab": 5, "ac": 0}  # a member weighed 0 is not needed
    assert add_weighted_total(t, {"a": 1.0, "b": 2.0}).missing_losses("objective") == {"objective": 5}
    with pytest.warns(DataWarning, match="fitting loss:ab on the 35 of 40 rows"):
        f = fit_table(t, law="ye-exp", targets="ab")
    ok = df["loss:b"].notna().to_numpy()
    np.testing.assert_allclose(t.subset(ok).losses("ab"), (df["loss:a"] + df["loss:b"])[ok] / 2, rtol=1e-12)
    assert f.n_runs_ == 35


def test_pipeline_takes_the_rows_of_its_targets():
    from mixlaw.data import RunTable
    from mixlaw.pipeline import fit_pipeline

    rng = np.random.default_rng(1)
    rows = []
    for N in (1e7, 3e7, 1e8):
        for i in range(12):
            w = rng.dirichlet(np.ones(3))
            for s in (1000, 2000, 4000):
                r = {"run": f"m{i}-{int(N)}", "params": N, "step": s, **{f"w:{d}": w[j] for j, d in enumerate("xyz")}}
                for k, e in enumerate("ab"):
                    r[f"loss:{e}"] = ((2 + 0.3 * k + np.exp(-2 * w[k]) + 0.3 * w[(k + 1) % 3])
                                      * (1 + 0.3 * (N / 1e7) ** -0.2 + 0.1 * (s / 1000) ** -0.3) + rng.normal(0, .003))
                rows.append(r)
    df = pd.DataFrame(rows)
    df.loc[[5, 40, 77], "loss:b"] = np.nan
    kw = {"target_params": 1e9, "target_steps": 8000, "route": "direct", "law": "ye-exp", "intervals": False}
    W = np.array([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]])
    with warnings_as_errors():
        ra = fit_pipeline(RunTable(df), targets="a", **kw)
    ref = fit_pipeline(RunTable(df.drop(columns="loss:b")), targets="a", **kw)
    np.testing.assert_allclose(ra.predict(W), ref.predict(W), rtol=1e-12)
    with pytest.warns(DataWarning, match=r"fitting a, b on the 105 of 108 rows that have each of them"):
        rab = fit_pipeline(RunTable(df), targets="all", **kw)
    assert any("left out 3 rows with no value (loss:b 3; rows 5, 40, 77 (0-based))" in w for w in rab.warnings)
    assert np.all(np.isfinite(rab.predict(W)))


def _pilots(n: int = 16, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=n)
    df = pd.DataFrame({"run": [f"p{i}" for i in range(n)], **{f"w:{d}": W[:, j] for j, d in enumerate("abc")},
                       "loss:x": 2 + np.exp(W @ [0.0, -2.0, 1.0]) * np.exp(0.01 * rng.standard_normal(n)),
                       "loss:y": 2 + np.exp(W @ [0.0, 1.0, -2.0]) * np.exp(0.01 * rng.standard_normal(n))})
    df.loc[[2, 11], "loss:y"] = np.nan
    return df


def test_design_select_takes_the_runs_that_have_every_target():
    from mixlaw.data import RunTable
    from mixlaw.design import select_runs

    df = _pilots()
    with warnings_as_errors():  # loss:x is in every row: no word
        only_x = select_runs(RunTable(df), 6, targets="x", random_state=0)
    assert list(only_x["run"]) == list(select_runs(RunTable(df.drop(columns="loss:y")), 6, random_state=0)["run"])
    ok = df["loss:y"].notna().to_numpy()
    with pytest.warns(DataWarning, match=r"selecting runs by x, y on the 14 of 16 rows that have each of them; "
                                         r"left out 2 rows with no value \(loss:y 2; rows 2, 11 \(0-based\)\)"):
        both = select_runs(RunTable(df), 6, random_state=0)
    assert list(both["run"]) == list(select_runs(RunTable(df[ok]), 6, random_state=0)["run"])


@pytest.mark.filterwarnings("ignore::mixlaw.errors.ExtrapolationWarning")
@pytest.mark.filterwarnings("ignore::mixlaw.errors.WeightRangeWarning")
def test_active_design_takes_the_runs_that_have_every_target():
    from mixlaw.data import RunTable
    from mixlaw.design import active_design
    from mixlaw.laws import YeExponential

    df = _pilots()
    df.loc[11, "run"] = "act-000"  # a run left out of the fit still exists: its id is not proposed again
    ok = df["loss:y"].notna().to_numpy()
    kw = dict(law=YeExponential(n_restarts=2), n_bootstrap=8, n_candidates=200, n_jobs=1, random_state=0,
              min_distance=0.0)
    with pytest.warns(DataWarning, match=r"fitting x, y on the 14 of 16 rows that have each of them; left out 2 "
                                         r"rows with no value \(loss:y 2; rows 2, 11 \(0-based\)\)") as rec:
        d = active_design(RunTable(df), 3, **kw)
    assert sum(issubclass(w.category, DataWarning) for w in rec) == 1
    ref = active_design(RunTable(df[ok]), 3, **kw)
    np.testing.assert_allclose(d[["w:a", "w:b", "w:c"]].to_numpy(), ref[["w:a", "w:b", "w:c"]].to_numpy(),
                               rtol=1e-12)
    assert list(d["run"]) == ["act-001", "act-002", "act-003"]


def continual_frame() -> pd.DataFrame:
    """20 continual-pretraining runs (web + code share p), loss:web missing in row 3, loss:code in rows 5 and 6."""
    p = np.repeat(np.linspace(0.0, 0.9, 10), 2)
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"run": [f"r{i}" for i in range(p.size)], "w:web": 1 - p, "w:code": p,
                       "loss:web": (2 + 0.4 * np.exp(1.5 * p)) * np.exp(rng.normal(0, 0.002, p.size)),
                       "loss:code": 1.5 + np.exp(-2.0 * p)})
    df.loc[[3], "loss:web"] = np.nan
    df.loc[[5, 6], "loss:code"] = np.nan
    return df


def test_continual_fits_each_eval_on_the_rows_that_have_it():
    from mixlaw.continual import critical_proportion
    from mixlaw.data import RunTable

    df = continual_frame()
    pre = 2 + 0.4 * np.exp(0.45)
    with pytest.warns(DataWarning) as rec:
        res = critical_proportion(RunTable(df), pre_loss=pre, n_boot=0)
    said = [str(w.message) for w in rec if issubclass(w.category, DataWarning)]
    assert len(said) == 2, said
    assert ("fitting loss:web on the 19 of 20 rows that have it; left out 1 row with no value (loss:web 1; row 3 "
            "(0-based))" in said[1])
    assert "fitting loss:code on the 18 of 20 rows" in said[0]
    web = critical_proportion(RunTable(df.drop(index=3).drop(columns="loss:code")), pre_loss=pre, n_boot=0)
    assert res.proportion == pytest.approx(web.proportion, abs=1e-12) and res.n_runs == 19
    assert res.new_loss_at_critical == pytest.approx(1.5 + np.exp(-2.0 * res.proportion), rel=1e-6)


def test_a_computed_eval_s_warning_names_the_member_that_is_missing(tmp_path):
    from mixlaw.data import RunTable
    from mixlaw.evals import add_eval_groups, add_weighted_total

    p, df = _evals_table(tmp_path / "t.csv")
    df.loc[[4], "loss:c"] = np.nan
    t = RunTable(df, path=str(p))
    total = add_weighted_total(t, {"a": 1.0, "b": 2.0, "c": 1.0})
    with pytest.warns(DataWarning, match=r"left out 6 rows with no value \(loss:objective 6, for want of loss:b 5, "
                                         r"loss:c 1; lines 5, 6, 11, 19, 24, \.\.\.\)"):
        total.complete("objective")
    grouped = add_eval_groups(t.subset(np.arange(3, 40)), {"ac": {"a": 1.0, "b": 0.0, "c": 1.0}})  # b weighs 0
    with pytest.warns(DataWarning, match=r"\(loss:ac 1, for want of loss:c 1; line 6\)"):
        grouped.complete("ac")


def test_continual_pre_loss_from_the_step0_rows_that_have_it():
    from mixlaw.continual import critical_proportion
    from mixlaw.data import RunTable

    p = np.linspace(0.0, 0.9, 10)
    df = pd.DataFrame({"run": [f"r{i}" for i in range(10)], "w:web": 1 - p, "w:code": p,
                       "loss:web": 2 + 0.4 * np.exp(1.5 * p), "step": 1000})
    base = pd.DataFrame({"run": ["b0", "b1"], "w:web": [1.0, 1.0], "w:code": [0.0, 0.0],
                         "loss:web": [np.nan, 2 + 0.4 * np.exp(0.45)], "step": [0, 0]})
    with pytest.warns(DataWarning, match=r"taking the loss before continual pretraining from loss:web on the 1 of 2 "
                                         r"rows that have it; left out 1 row with no value \(loss:web 1; row 10 "
                                         r"\(0-based\)\)"):
        res = critical_proportion(RunTable(pd.concat([df, base], ignore_index=True)), n_boot=0)
    assert res.pre_loss == pytest.approx(2 + 0.4 * np.exp(0.45), rel=1e-15) and res.pre_source == "step-0 rows"
    assert res.proportion == pytest.approx(0.3, abs=1e-5)


def test_complete_line_returns_the_line_complete_warns():
    from mixlaw.data import RunTable

    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(2), size=6)
    df = pd.DataFrame({"run": [f"r{i}" for i in range(6)], "w:x": W[:, 0], "w:y": W[:, 1],
                       "loss:a": 2.0 + W[:, 0], "loss:b": 3.0 - W[:, 1]})
    df.loc[[1, 4], "loss:b"] = np.nan
    t = RunTable(df)
    with warnings_as_errors():
        kept, line = t.complete_line("all")
        same, none = t.complete_line("a")
    assert len(kept) == 4 and same is t and none is None
    assert line is not None and "left out 2 rows with no value (loss:b 2; rows 1, 4 (0-based))" in line
    with pytest.warns(DataWarning) as caught:
        assert len(t.complete("all")) == 4
    assert [str(w.message) for w in caught] == [line]


@pytest.mark.filterwarnings("ignore::mixlaw.errors.ExtrapolationWarning")
@pytest.mark.filterwarnings("ignore::mixlaw.errors.WeightRangeWarning")
def test_active_design_with_an_objective_of_weight_0_on_the_missing_eval_keeps_its_rows():
    from mixlaw.data import RunTable
    from mixlaw.design import active_design
    from mixlaw.laws import YeExponential

    df = _pilots()
    kw = dict(law=YeExponential(n_restarts=2), n_bootstrap=8, n_candidates=200, n_jobs=1, random_state=0,
              min_distance=0.0)
    with pytest.warns(DataWarning, match=r"the objective weighs y 0: not fitted, so the rows that miss its loss are "
                                         r"kept \(loss:y 2 of 16 rows that have x\)") as rec:
        d = active_design(RunTable(df), 3, objective="x", **kw)
    assert not [w for w in rec if "14 of 16" in str(w.message)]
    # what the table without y gives: every one of its 16 runs fitted
    ref = active_design(RunTable(df.drop(columns="loss:y")), 3, objective="x", **kw)
    np.testing.assert_allclose(d[["w:a", "w:b", "w:c"]].to_numpy(), ref[["w:a", "w:b", "w:c"]].to_numpy(),
                               rtol=1e-12)


def test_a_failed_fit_still_says_a_domain_has_weight_0_in_every_run(tmp_path, capsys):
    """On failure only the warnings that say data was left out were printed; the one saying a domain is 0 in every
    run (whose parameters the fit still carries, and dropping it is the fix a "too few runs" error lacks) went
    unseen. A renormalised row still stays out of the way of the error."""
    from cli_runner import run_cli

    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(2), 5)
    W[0] *= 0.995  # renormalised, with a warning that a failure does not print
    pd.DataFrame({"run": [f"r{i}" for i in range(5)], "w:a": W[:, 0], "w:b": W[:, 1], "w:c": 0.0,
                  "loss:x": 2 + W[:, 0]}).to_csv(tmp_path / "runs.csv", index=False)
    code, _, err = run_cli(capsys, "fit", "--runs", str(tmp_path / "runs.csv"), "--law", "ye-pow")
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[-1].startswith("error: ") and "too few" in lines[-1]
    assert any("domain(s) ['c'] have weight 0 in every run" in x for x in lines[:-1])
    assert not any("renormalised" in x for x in lines)
