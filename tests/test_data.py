"""Run-table validation: every rule gives one error naming the file, line and column."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixlaw import DataError, DataWarning, InputError, RunTable, load_regmix, read_runs

GOOD = "run,w:web,w:code,loss:web,loss:code\na,0.5,0.5,3.1,2.0\nb,0.25,0.75,3.3,1.9\nc,1.0,0.0,3.0,2.5\n"


def write(tmp_path: Path, text: str, name: str = "runs.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_reads_good_csv(tmp_path):
    t = read_runs(write(tmp_path, GOOD))
    assert t.domains == ["web", "code"]
    assert t.evals == ["web", "code"]
    np.testing.assert_array_equal(t.weights[:, 0], [0.5, 0.25, 1.0])
    np.testing.assert_array_equal(t.losses("code"), [2.0, 1.9, 2.5])
    assert t.losses(["loss:web", "code"]).shape == (3, 2)


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_reads_parquet_and_jsonl(tmp_path, fmt):
    df = pd.read_csv(write(tmp_path, GOOD))
    p = tmp_path / f"runs.{fmt}"
    if fmt == "parquet":
        df.to_parquet(p)
    else:
        df.to_json(p, orient="records", lines=True)
    t = read_runs(p)
    np.testing.assert_allclose(t.weights, read_runs(write(tmp_path, GOOD)).weights)


@pytest.mark.parametrize("text, match", [
    ("run,w:web,w:code,loss:web\na,0.5,0.43,3.1\n",
     r"runs\.csv:2: column 'w:web': weights sum to 0\.93, expected 1 ± 0\.01"),
    ("run,w:web,w:code,loss:web\na,0.5,0.5,3.1\nb,-0.5,1.5,3.0\n", r"runs\.csv:3: column 'w:web': weight is -0\.5"),
    ("run,w:web,w:code,loss:web\na,0.5,0.5,3.1\nb,nan,1.0,3.0\n", r"runs\.csv:3: column 'w:web': weight is nan"),
    ("run,w:web,w:code,loss:web\na,0.5,0.5,0\n", r"runs\.csv:2: column 'loss:web': loss is 0, expected > 0"),
    ("run,w:web,w:code,loss:web\na,0.5,0.5,-1\n", r"runs\.csv:2: column 'loss:web': loss is -1"),
    ("run,w:web,w:code,loss:web\na,0.5,0.5,abc\n", r"runs\.csv:2: column 'loss:web': value 'abc' is not a number"),
    # A duplicate says what it looks like (issue 9: seeds exported under one run name).
    ("run,w:web,w:code,loss:web\na,0.5,0.5,3\na,0.5,0.5,3.1\n", r"runs\.csv:3: column 'run': duplicate run 'a' \(same "
     r"run as line 2; other losses for the same mixture: a repeated seed\? give each seed its own run name \(e\.g\. "
     r"'a-s1'\)"),
    ("run,w:web,w:code,loss:web\na,0.5,0.5,3\na,0.5,0.5,3\n", r"duplicate run 'a' \(.*; the same row twice: drop "
     r"one\)"),
    ("run,w:web,w:code,loss:web\na,0.5,0.5,3\na,0.2,0.8,3\n", r"duplicate run 'a' \(.*; another mixture: two runs "
     r"under one name\? give each its own\)"),
    ("run,w:web,loss:web\na,1.0,3\n", r"runs\.csv: missing at least two 'w:<domain>' weight columns"),
    ("w:web,w:code\n0.5,0.5\n", r"missing 'run', at least one 'loss:<eval>' column"),
])
def test_validation_errors_name_file_row_column(tmp_path, text, match):
    with pytest.raises(DataError, match=match):
        read_runs(write(tmp_path, text))


def test_renormalises_within_tolerance_with_one_counted_warning(tmp_path):
    text = "run,w:web,w:code,loss:web\na,0.5,0.503,3.1\nb,0.499,0.5,3.0\nc,0.5,0.5,3.0\n"
    with pytest.warns(DataWarning, match="renormalised the weights of 2 of 3 rows"):
        t = read_runs(write(tmp_path, text))
    np.testing.assert_allclose(t.weights.sum(axis=1), 1.0, rtol=0, atol=1e-15)


def test_weight_tol_can_be_raised(tmp_path):
    p = write(tmp_path, "run,w:web,w:code,loss:web\na,0.5,0.45,3.1\n")
    with pytest.raises(DataError):
        read_runs(p)
    with pytest.warns(DataWarning):
        assert len(read_runs(p, weight_tol=0.1)) == 1


def test_same_run_at_two_steps_is_not_a_duplicate(tmp_path):
    t = read_runs(write(tmp_path, "run,step,w:web,w:code,loss:web\na,100,0.5,0.5,3.1\na,200,0.5,0.5,3.0\n"))
    np.testing.assert_array_equal(t.steps, [100, 200])
    assert len(t.filter(step=200)) == 1


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_runs(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="unknown table format"):
        read_runs(write(tmp_path, "x", name="runs.ods"))


def test_inconsistent_domains_between_tables(tmp_path):
    a = read_runs(write(tmp_path, GOOD, "train.csv"))
    b = read_runs(write(tmp_path, "run,w:web,w:books,loss:web\na,0.5,0.5,3.1\n", "test.csv"))
    with pytest.raises(DataError, match=r"test\.csv: column 'w:code': training domains differ .*missing"):
        a.check_compatible(b)


def test_unknown_target_lists_known_ones(tmp_path):
    t = read_runs(write(tmp_path, GOOD))
    with pytest.raises(InputError, match=r"unknown target 'books'.*\['web', 'code'\]"):
        t.losses("books")


def test_regmix_pair_errors_name_the_right_file(tmp_path):
    mix = write(tmp_path, "index,train_the_pile_a,train_the_pile_b\n1,0.5,0.5\n2,0.2,0.7\n", "mix.csv")
    loss = write(tmp_path, "index,metric/the_pile_a_val_loss\n1,3.0\n2,3.1\n", "loss.csv")
    with pytest.raises(DataError, match=r"mix\.csv:3: column 'w:a': weights sum to 0\.9"):
        read_runs(mix, losses=loss)
    mix.write_text("index,train_the_pile_a,train_the_pile_b\n1,0.5,0.5\n2,0.3,0.7\n")
    loss.write_text("index,metric/the_pile_a_val_loss\n1,3.0\n2,-3.1\n")
    with pytest.raises(DataError, match=r"loss\.csv:3: column 'loss:a': loss is -3\.1"):
        read_runs(f"{mix}+{loss}")
    loss.write_text("index,metric/the_pile_a_val_loss\n1,3.0\n2,3.1\n")
    t = read_runs(mix, losses=loss)
    assert t.domains == ["a", "b"] and t.evals == ["a"] and list(t.runs) == ["1", "2"]


def test_bundled_regmix_shapes():
    d = load_regmix()
    assert {k: len(v) for k, v in d.items()} == {"train_1m": 512, "test_1m": 256, "test_60m": 256, "test_1B": 64}
    for t in d.values():
        assert len(t.domains) == 17 and len(t.evals) == 13
        np.testing.assert_allclose(t.weights.sum(axis=1), 1.0, atol=1e-12)
    assert set(d["test_1B"].model_params) == {1e9}


def test_runtable_from_frame_uses_row_numbers():
    with pytest.raises(DataError, match=r"row 1 \(0-based\): column 'loss:x'"):
        RunTable(pd.DataFrame({"run": ["a", "b"], "w:p": [0.5, 0.5], "w:q": [0.5, 0.5], "loss:x": [1.0, np.inf]}))


# ---------------------------------------------------------------------- fuzzing the loader
_cells = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32), st.integers(-5, 5),
                   st.sampled_from(["", "nan", "abc", "1e400", "-0", "0.5", '"x,y"']))
_names = st.sampled_from(["run", "w:a", "w:b", "w:c", "loss:a", "loss:b", "params", "step", "", "x", "w:", "loss:"])


# derandomize: CI must not pass or fail by the draw; the same 150 examples run on every machine (a 4000-example
# random run found no failing input, 2026-12-05).
@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.lists(_names, min_size=1, max_size=6), rows=st.lists(st.lists(_cells, min_size=0, max_size=7),
                                                                     max_size=5))
def test_fuzzed_csv_loads_or_raises_our_error(tmp_path, header, rows):
    text = ",".join(header) + "\n" + "\n".join(",".join(str(c) for c in r) for r in rows) + "\n"
    p = tmp_path / "fuzz.csv"
    p.write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        try:
            t = read_runs(p)
        except InputError:
            return
    w = t.weights
    assert np.all(w >= 0) and np.allclose(w.sum(axis=1), 1.0)
    assert np.all(np.isfinite(t.losses(t.evals))) and np.all(t.losses(t.evals) > 0)


def test_rounding_of_stored_weights_renormalises_silently(tmp_path):
    """Weights stored to 7-8 decimals (the bundled Marin CSV: 240 of 280 rows off by up to 2.4e-7) are
    rounding, not a repair: `mixlaw optimize --runs .../marin_delphi/runs.csv` warned on the shipped file."""
    text = "run,w:web,w:code,w:math,loss:web\na,0.3333333,0.3333333,0.3333333,3.1\nb,0.5,0.5,0,3.0\n"
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        t = read_runs(write(tmp_path, text))
    np.testing.assert_allclose(t.weights.sum(axis=1), 1.0, rtol=0, atol=1e-15)


def test_shares_written_to_six_decimals_renormalise_silently(tmp_path):
    """Six decimals leave each share up to 5e-7 off, a row of 8 domains up to 4e-6: 'renormalised the weights of 3 of
    51 rows ... (largest deviation 1e-06)' was said on most 6-decimal tables; four decimals (5e-5 a share) still are."""
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(8), size=30)
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(30)], **{f"w:d{j}": W[:, j].round(6) for j in range(8)},
                          "loss:x": 3 + W[:, 0]})
    assert np.abs(frame.filter(like="w:").sum(axis=1) - 1).max() > 1e-6
    frame.to_csv(tmp_path / "six.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        t = read_runs(tmp_path / "six.csv")
    np.testing.assert_allclose(t.weights.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    frame.assign(**{f"w:d{j}": W[:, j].round(4) for j in range(8)}).to_csv(tmp_path / "four.csv", index=False)
    with pytest.warns(DataWarning, match="renormalised the weights of"):
        read_runs(tmp_path / "four.csv")


def test_rounding_tolerance_is_inclusive_for_rows_written_to_five_decimals(tmp_path):
    """0.06976 + 0.53101 + 0.39924 is 1 + 1e-5 as written, ROUNDING_TOL exactly, but 1.0000000000000009e-05 off in
    float64: it was
    said as 'renormalised the weights of 1 of 2 rows ... (largest deviation 1e-05)', a deviation the tolerance
    names as rounding (18 % of 3-domain rows written to 5 decimals, 40 % of 8-domain ones). Two units off still
    are; a fit on an array of such rows reads them as the table does."""
    from mixlaw.laws import get_law

    frame = pd.DataFrame({"run": ["r0", "r1", "r2", "r3"], "w:a": [0.06976, 0.5, 0.2, 0.7],
                          "w:b": [0.53101, 0.5, 0.3, 0.1], "w:c": [0.39924, 0.0, 0.5, 0.2],
                          "loss:x": [3.0, 3.1, 3.2, 3.3]})
    frame.to_csv(tmp_path / "five.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        read_runs(tmp_path / "five.csv")
        get_law("linear").fit(frame.filter(like="w:").to_numpy(), frame["loss:x"].to_numpy())
    frame.loc[0, "w:c"] = 0.39925
    frame.to_csv(tmp_path / "two_units.csv", index=False)
    with pytest.warns(DataWarning, match=r"renormalised the weights of 1 of 4 rows .*largest deviation 2e-05"):
        read_runs(tmp_path / "two_units.csv")


def test_tolerance_is_inclusive_for_rows_written_to_two_decimals(tmp_path):
    # 0.3 + 0.69 is 0.99, 1 - 0.01 exactly as written, but 0.0100000000000000089 off in float64: it was refused
    # as "weights sum to 0.99, expected 1 ± 0.01". One step past the tolerance is still an error.
    with pytest.warns(DataWarning, match="renormalised the weights of 2 of 2 rows"):
        t = read_runs(write(tmp_path, "run,w:web,w:code,loss:web\na,0.3,0.69,3.1\nb,0.51,0.5,3.0\n"))
    np.testing.assert_allclose(t.weights.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    with pytest.raises(DataError, match="weights sum to 0.989"):
        read_runs(write(tmp_path, "run,w:web,w:code,loss:web\na,0.3,0.689,3.1\n"))


def test_every_weight_check_takes_a_sum_of_0_99():
    # mixlaw export --mixture web=0.6,code=0.39 said "mixture weights sum to 0.99, expected 1 ± 0.01".
    from mixlaw.cli._common import parse_default
    from mixlaw.export import export_mixture
    from mixlaw.optimize.constraints import _natural

    with pytest.warns(DataWarning, match="renormalised"):
        assert "web" in export_mixture({"web": 0.6, "code": 0.39}, "json")
    assert np.isclose(sum(parse_default("web=0.6,code=0.39", ["web", "code"], None)), 1.0)
    v, _ = _natural({"web": 0.6, "code": 0.39}, None, ["web", "code"])
    np.testing.assert_allclose(v.sum(), 1.0)


def test_semicolon_csv_with_decimal_commas_is_read(tmp_path):
    # mixlaw fit --runs semi.csv (Dai & Zheng's 122M runs saved with ';' and decimal commas, as a spreadsheet in a
    # German or French locale writes them) said "missing 'run', ...; found columns ['run;params;tokens;w:arxiv;...']".
    p = tmp_path / "semi.csv"
    p.write_text("run;params;w:web;w:code;loss:web\n1,5;1,22e+08;0,25;0,75;3,1\nb;1,22e+08;0,5;0,5;3\n")
    t = read_runs(p)
    assert list(t.runs) == ["1,5", "b"] and t.domains == ["web", "code"]
    np.testing.assert_allclose(t.weights, [[0.25, 0.75], [0.5, 0.5]])
    np.testing.assert_allclose(t.losses("web"), [3.1, 3.0])
    np.testing.assert_allclose(t.model_params, 1.22e8)
    p.write_text("run;w:web;w:code;loss:web\na;0.25;0.75;3.1\n")  # ';' with decimal points
    np.testing.assert_allclose(read_runs(p).weights, [[0.25, 0.75]])


def test_semicolon_csv_whose_rows_differ_in_decimal_commas_is_read(tmp_path):
    # A row of whole numbers (a run with all its weight on one domain: 1;0) has fewer ',' than the others: read
    # with ',' first, the rows had different field counts and the file was "cannot parse the file: Error
    # tokenizing data. C error: Expected 3 fields in line 3, saw 4" before the ';' check could run.
    p = tmp_path / "semi.csv"
    p.write_text("run;w:web;w:code;loss:web\na;0,25;0,75;3\nb;0,5;0,5;3,2\nc;1;0;3\n")
    t = read_runs(p)
    np.testing.assert_allclose(t.weights, [[0.25, 0.75], [0.5, 0.5], [1.0, 0.0]])
    np.testing.assert_allclose(t.losses("web"), [3.0, 3.2, 3.0])


def test_missing_columns_error_gives_a_command_that_takes_columns(tmp_path):
    # mixlaw fit --runs single.csv (Dai & Zheng's 122M runs with one eval column named 'loss') said "map other names
    # with --columns", which fit does not take, and nothing about the 'loss' column.
    with pytest.raises(DataError) as exc:
        read_runs(write(tmp_path, "run,w:web,w:code,loss\na,0.5,0.5,3.1\n"))
    msg = str(exc.value)
    assert "mixlaw runs import " in msg and " --columns 'run=Name," in msg and "--out runs.csv" in msg
    assert "A column 'loss' is one eval set: name it loss:<eval>" in msg


def test_a_table_in_a_legacy_code_page_says_to_save_it_as_utf8(tmp_path):
    # mixlaw fit --runs odd_latin.csv (domain 'bö ok' saved by a spreadsheet as Latin-1) said only "'utf-8' codec
    # can't decode byte 0xf6 in position 3: invalid start byte".
    p = tmp_path / "runs.csv"
    p.write_bytes("run,w:bö,w:code,loss:bö\na,0.5,0.5,3.1\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"not UTF-8 text \(it has byte 0xf6.*save it as UTF-8"):
        read_runs(p)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "semicolon"])
def test_run_ids_that_look_like_numbers_stay_as_written(tmp_path, fmt):
    # Parsed as numbers, '0010' and '10' were one run '10.0' ("duplicate run '10.0'", a name not in the file)
    # and '001' became '1.0'. W&B's 8-character ids can be all digits, or '12e45678'.
    ids, W = ["001", "0010", "10", "12e45678"], [0.5, 0.25, 0.75, 0.6]
    if fmt == "jsonl":
        p = write(tmp_path, "".join(f'{{"run": "{r}", "w:a": {w}, "w:b": {1 - w}, "loss:x": {2 + w}}}\n'
                                    for r, w in zip(ids, W, strict=True)), "runs.jsonl")
    else:
        sep, dec = (";", lambda v: str(v).replace(".", ",")) if fmt == "semicolon" else (",", str)
        p = write(tmp_path, sep.join(["run", "w:a", "w:b", "loss:x"]) + "\n" + "".join(
            sep.join([r, dec(w), dec(1 - w), dec(2 + w)]) + "\n" for r, w in zip(ids, W, strict=True)))
    t = read_runs(p)
    assert list(t.runs) == ids
    np.testing.assert_allclose(t.losses("x"), [2 + w for w in W])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_column_name_given_twice_is_an_error(tmp_path, fmt):
    # pandas renamed the CSV's second 'loss:x' to 'loss:x.1', an eval set of its own, without a word; pyarrow
    # said "Multiple matches for FieldRef.Name(loss:x) in run: large_string".
    if fmt == "csv":
        p = write(tmp_path, "run,w:a,w:b,loss:x,loss:x\na,0.5,0.5,3,9\nb,0.2,0.8,3.1,9\n")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        p = tmp_path / "runs.parquet"
        cols = [pa.array(["a", "b"]), pa.array([0.5, 0.2]), pa.array([0.5, 0.8]), pa.array([3.0, 3.1]),
                pa.array([9.0, 9.0])]
        pq.write_table(pa.table(cols, names=["run", "w:a", "w:b", "loss:x", "loss:x"]), p)
    with pytest.raises(DataError, match=r"runs\.\w+: column 'loss:x': the name is given to two columns \(4 and 5\)"):
        read_runs(p)


def test_a_broken_jsonl_line_is_named(tmp_path):
    rows = [f'{{"run": "r{i}", "w:a": 0.5, "w:b": 0.5, "loss:x": 3}}' for i in range(4)]
    rows[2] = rows[2][:-2]  # a record cut short, as a killed logger leaves it
    with pytest.raises(DataError, match=r"runs\.jsonl:3: not a JSON record: Expecting value at character 50"):
        read_runs(write(tmp_path, "\n".join(rows) + "\n", "runs.jsonl"))
    with pytest.raises(DataError, match=r"runs\.jsonl:2: not a JSON object but list"):
        read_runs(write(tmp_path, rows[0] + "\n[1, 2]\n", "runs.jsonl"))
    # a blank line is skipped, and the lines after it keep their numbers
    rows = [f'{{"run": "r{i}", "w:a": 0.5, "w:b": 0.5, "loss:x": {3 if i != 2 else 0}}}' for i in range(3)]
    with pytest.raises(DataError, match=r"runs\.jsonl:4: column 'loss:x'"):
        read_runs(write(tmp_path, rows[0] + "\n\n" + rows[1] + "\n" + rows[2] + "\n", "runs.jsonl"))


@pytest.mark.parametrize("name, text, match", [
    ("runs.csv", "", r"runs\.csv: the file is empty \(0 bytes\)"),
    ("runs.jsonl", "", r"runs\.jsonl: the file is empty \(0 bytes\)"),
    ("runs.jsonl", "\n\n", r"runs\.jsonl: the file has no records, only blank lines"),
])
def test_an_empty_file_is_called_empty(tmp_path, name, text, match):
    # pandas said "cannot parse the file: No columns to parse from file"; an empty JSONL read as a table of no
    # columns ("found columns []", or through a column map "no column 'Name' for 'run'; columns: ").
    with pytest.raises(DataError, match=match):
        read_runs(write(tmp_path, text, name))


def test_a_regmix_pair_s_duplicate_index_is_named_by_its_line_below_a_blank_row(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Blank rows are left out of the frame; the duplicate was named by its position + 2 (line 4 here).
    mix, loss = tmp_path / "mix.csv", tmp_path / "loss.csv"
    mix.write_text("index,train_the_pile_a,train_the_pile_b\n0,0.5,0.5\n,,\n1,0.4,0.6\n1,0.3,0.7\n")
    loss.write_text("index,metric/the_pile_a_val_loss\n0,3\n1,3.1\n")
    with pytest.raises(DataError, match=r"mix\.csv:5: column 'index': duplicate run index '1'$"):
        read_runs(mix, losses=loss)


def _multiindex_frame() -> pd.DataFrame:
    df = pd.DataFrame({"run": list("abcdef"), "w:web": [0.5, 0.25, 1.0, 0.1, 0.6, 0.3],
                       "w:code": [0.5, 0.75, 0.0, 0.9, 0.4, 0.7], "loss:web": [3.1, 3.3, 3.0, 3.4, 3.05, 3.2],
                       "params": [1e9] * 6})
    df.columns = pd.MultiIndex.from_tuples([("meta", "run"), ("w", "web"), ("w", "code"), ("loss", "web"),
                                            ("meta", "params")])
    return df


def test_a_frame_with_multiindex_columns_is_refused_with_how_to_flatten_it():
    # Each column was named by its tuple: RunTable said "missing 'run' ... found columns ["('meta', 'run')", ...]",
    # law.fit(df) summed every number of a row as weights ("weights sum to 1e+09", the model size), and
    # read_runs_mapped(df, ...) stopped on KeyError "('meta', 'run')".
    from mixlaw import api
    from mixlaw.importers import read_runs_mapped
    from mixlaw.laws import get_law

    df = _multiindex_frame()
    flat = r"flatten them to one name per column \(run, w:<domain>, loss:<eval>\) first, e\.g\. df\.columns = "
    multi = r"the DataFrame's columns are a pandas MultiIndex \(2 levels, e\.g\. \('\w+', '\w+'\)\), which is not " \
            r"supported: "
    with pytest.raises(InputError, match=rf"^RunTable: .*\('meta', 'run'\).*: {flat}"):
        RunTable(df)
    with pytest.raises(InputError, match=rf"^RunTable: {multi}{flat}"):
        RunTable(df)
    with pytest.raises(InputError, match=rf"^fit: {multi}"):
        get_law("linear").fit(df.drop(columns=[("meta", "run")]))
    with pytest.raises(InputError, match=rf"^fit: {multi}"):
        get_law("linear").fit(df.drop(columns=[("meta", "run"), ("loss", "web")]), [3.1, 3.3, 3.0, 3.4, 3.05, 3.2])
    with pytest.raises(InputError, match=rf"^read_runs_mapped: {multi}"):
        read_runs_mapped(df, "run=name")
    # the advice works: joined levels are the run table's names
    fixed = df.copy()
    fixed.columns = [":".join(map(str, c)).strip(":") for c in fixed.columns]
    table = RunTable(fixed.rename(columns={"meta:run": "run", "meta:params": "params"}))
    law = get_law("linear").fit(table)
    with pytest.raises(InputError, match=r"^the mixtures: the DataFrame's columns are a pandas MultiIndex"):
        law.predict(df[[("w", "web"), ("w", "code")]])
    with pytest.raises(InputError, match=r"^mixtures: the DataFrame's columns are a pandas MultiIndex"):
        api.predict_table(law, df[[("w", "web"), ("w", "code")]])
