"""Run names are text in every reader: 'NA', 'None', 'nan', 'null' are names (pandas read them as missing ids, so
a table mixlaw wrote itself stopped at "empty run identifier"), a missing loss is still found and named, and a
run name that is truly empty is an error that says so."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli

from mixlaw.data import read_runs
from mixlaw.errors import DataError, InputError
from mixlaw.importers import read_runs_mapped
from mixlaw.store import RunStore, export_run_table
from mixlaw.sweep import read_design

NAMES = ["NA", "None", "nan", "null", "N/A", "NULL", "#N/A", "-nan", "n/a", "<NA>", "NaN", "007"]


def _frame(names=NAMES):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=len(names))
    return pd.DataFrame({"run": names, **{f"w:{d}": W[:, j] for j, d in enumerate("abc")},
                         "loss:x": 2.0 + W[:, 0], "loss:y": 3.0 - W[:, 1]})


def _write(df: pd.DataFrame, path):  # type: ignore[no-untyped-def]
    suffix = path.suffix
    if suffix == ".csv":
        df.to_csv(path, index=False)
    elif suffix == ".tsv":
        df.to_csv(path, index=False, sep="\t")
    elif suffix == ".parquet":
        df.to_parquet(path, index=False)
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in df.to_dict("records")))
    else:
        df.to_json(path, orient="records")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".jsonl", ".json"])
def test_names_that_read_as_missing_values_are_names(tmp_path, suffix):
    p = _write(_frame(), tmp_path / f"runs{suffix}")
    assert list(read_runs(p).runs) == NAMES


def test_semicolon_csv_and_a_mapped_name_column_keep_them_too(tmp_path):
    df = _frame()
    p = tmp_path / "semi.csv"
    df.to_csv(p, index=False, sep=";", decimal=",")
    assert list(read_runs(p).runs) == NAMES
    q = tmp_path / "wandb.csv"
    df.rename(columns={"run": "Display", "w:a": "mix/a", "w:b": "mix/b", "w:c": "mix/c"}).to_csv(q, index=False)
    assert list(read_runs_mapped(q, "run=Display, w:*=mix/*").runs) == NAMES


@pytest.mark.parametrize("cell", ["", "NA", "nan", "null"])
def test_a_missing_loss_is_still_found_and_named(tmp_path, cell):
    p = tmp_path / "runs.csv"
    _frame().to_csv(p, index=False)
    lines = p.read_text().splitlines()
    parts = lines[4].split(",")
    parts[4] = cell  # loss:x of the run on line 5 ('null')
    lines[4] = ",".join(parts)
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"runs\.csv:5: column 'loss:x': loss is nan"):
        read_runs(p).losses()


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_an_empty_run_name_is_a_clear_error(tmp_path, suffix):
    df = _frame().astype({"run": object})
    df.loc[3, "run"] = "" if suffix == ".csv" else None
    p = _write(df, tmp_path / f"runs{suffix}")
    # A Parquet file has rows, not lines: its errors name the row ("runs.parquet: row 4"), counted from 1.
    at = {".csv": ":5", ".jsonl": ":4", ".parquet": ": row 4"}[suffix]
    with pytest.raises(DataError, match=rf"runs{suffix}{at}: column 'run': the run name is empty \(1 of 12 rows "
                                        r"has none\): every row needs the name of the run it belongs to"):
        read_runs(p)


def test_design_names_and_the_store_export_round_trip_into_fit(tmp_path, capsys):
    design = tmp_path / "design.csv"
    pd.DataFrame({"run": ["NA", "None", "", "null"], "w:a": [0.2, 0.4, 0.6, 0.8],
                  "w:b": [0.8, 0.6, 0.4, 0.2]}).to_csv(design, index=False)
    mixtures, names = read_design(design)
    assert names == ["NA", "None", None, "null"] and mixtures[0] == {"a": 0.2, "b": 0.8}
    lines = tmp_path / "design.jsonl"  # pandas' JSON reader made '007' the run 7 and 'NaN' a missing name
    lines.write_text('{"run": "007", "w:a": 0.5, "w:b": 0.5}\n{"run": "NaN", "w:a": 0.2, "w:b": 0.8}\n')
    assert read_design(lines)[1] == ["007", "NaN"]
    # A sweep's store names its runs by the design's names; exported as CSV, fit reads them back.
    db = tmp_path / "runs.db"
    rng = np.random.default_rng(1)
    with RunStore(db) as store:
        for k, name in enumerate(["NA", "None", "nan", "null", "N/A", "NULL"]):
            w = (k + 1) / 7
            rid = f"id{k}"
            assert store.claim_run(rid, "me", {"mixture": {"a": w, "b": 1 - w}}, ["a", "b"], 10, name=name) \
                == "claimed"
            store.record_checkpoint(rid, 10, 1000, {"a": 2.0 + 0.3 * np.exp(-2 * w) + 0.001 * rng.standard_normal(),
                                                    "b": 2.5 + 0.3 * np.exp(-2 * (1 - w))}, owner="me")
            store.finish_run(rid, 1.0, owner="me")
    out = tmp_path / "runs.csv"
    code, _, err = run_cli(capsys, "runs", "export", str(db), str(out))
    assert code == 0, err
    assert sorted(read_runs(out).runs) == sorted(export_run_table(db)["run"]) == \
        sorted(["NA", "None", "nan", "null", "N/A", "NULL"])
    code, _, err = run_cli(capsys, "fit", "--runs", str(out), "--law", "ye-exp", "--json")
    assert code == 0, err


def test_token_budget_domains_are_text(tmp_path):
    from mixlaw.budget import read_tokens_available

    p = tmp_path / "tokens.csv"
    p.write_text("domain,tokens\nNA,1e9\nNone,2e9\n007,3e9\n")
    assert read_tokens_available(str(p)) == {"NA": 1e9, "None": 2e9, "007": 3e9}
    p.write_text("domain,tokens\nNA,1e9\n,2e9\n")
    with pytest.raises(InputError, match=r"tokens\.csv:3: the domain name is empty"):
        read_tokens_available(str(p))
    p.write_text("domain,tokens\nNA,NA\n")  # a missing count is still missing
    with pytest.raises(InputError, match=r"tokens of domain 'NA' must be a finite number >= 0; got nan"):
        read_tokens_available(str(p))


@pytest.mark.parametrize("suffix, at", [(".csv", ":3"), (".jsonl", ":4"), (".parquet", ": row 2"), ("blank.csv", ":4")])
def test_a_design_s_bad_weight_is_named_where_it_is(tmp_path, suffix, at):
    # read_design counted every format's rows as a CSV's (header + 1): a JSONL design's second record, on line 4
    # after two blank lines, was "line 3", a Parquet file's row 2 "line 3". Found by helper io.
    frame = pd.DataFrame({"run": ["a", "b"], "w:x": [0.5, -0.1], "w:y": [0.5, 1.1]})
    path = tmp_path / f"design{suffix}"
    if suffix == ".jsonl":
        recs = [json.dumps(r) for r in frame.to_dict("records")]
        path.write_text(recs[0] + "\n\n\n" + recs[1] + "\n")
    elif suffix == "blank.csv":  # a blank line above the bad row: its editor line, 4 (a CSV's i + 2 said 3)
        path = tmp_path / "design.csv"
        path.write_text("run,w:x,w:y\na,0.5,0.5\n\nb,-0.1,1.1\n")
        suffix = ".csv"
    else:
        _write(frame, path)
    with pytest.raises(DataError, match=rf"design{suffix}{at}: column 'w:x': weight -0\.1 is not a finite number"):
        read_design(path)
