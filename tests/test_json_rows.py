"""Where an error in a JSON run table points: a ``.json`` document's rows are its records, which need not stand one
per line (an array printed with an indent spans several lines each), so they are named "record N"; a JSONL file's
records are its lines, named by the line an editor shows (blank lines counted); a Parquet file has rows, no lines."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest
from cli_runner import run_cli

from mixlaw.data import read_runs
from mixlaw.errors import DataError, DataWarning
from mixlaw.importers import read_runs_mapped

GOOD = [{"run": "a", "w:x": 0.5, "w:y": 0.5, "loss:p": 2.0}, {"run": "b", "w:x": 0.2, "w:y": 0.8, "loss:p": 2.1}]


def test_a_json_documents_error_names_the_record_not_a_line(tmp_path, capsys):
    src = tmp_path / "runs.json"
    src.write_text(json.dumps(GOOD + [{"run": "c", "w:x": 0.5, "w:y": "abc", "loss:p": 2.0}], indent=2))
    # record 3 starts on line 15 of the indented file: "runs.json:3" named neither
    with pytest.raises(DataError, match=r"runs\.json: record 3: column 'w:y': value 'abc' is not a number") as exc:
        read_runs(src)
    assert exc.value.row == 3 and exc.value.unit == "record"
    src.write_text(json.dumps(GOOD + [GOOD[0]], indent=2))
    with pytest.raises(DataError, match=r"runs\.json: record 3: column 'run': duplicate run 'a' \(same run as "
                                        r"record 1; the same row twice"):
        read_runs(src)
    # the importer merges a row given twice, and names both records of a run's two losses
    src.write_text(json.dumps(GOOD + [{**GOOD[0], "loss:p": 2.5}], indent=2))
    code, _, err = run_cli(capsys, "runs", "import", str(src), "--columns", "run=run", "--out",
                           str(tmp_path / "o.csv"))
    assert code == 2 and ("runs.json: record 3: column 'loss:p': two values for one run and step (run a): 2.0 on "
                          "record 1, 2.5 on record 3") in err, err
    src.write_text(json.dumps(GOOD + [{"run": "c", "w:x": 0.5, "w:y": 0.5}], indent=2))
    with pytest.warns(DataWarning, match=r"left out 1 row with no value \(loss:p 1; record 3\)"):
        read_runs(src).complete()


def test_a_jsonl_error_names_the_editor_line_blank_lines_counted(tmp_path):
    src = tmp_path / "runs.jsonl"
    rows = [json.dumps(r) for r in GOOD + [{"run": "c", "w:x": 0.5, "w:y": "abc", "loss:p": 2.0}]]
    src.write_text(f"{rows[0]}\n\n{rows[1]}\n\n{rows[2]}\n")  # record 3 on line 5
    with pytest.raises(DataError, match=r"runs\.jsonl:5: column 'w:y': value 'abc' is not a number") as exc:
        read_runs(src)
    assert exc.value.row == 5 and exc.value.unit == "line"
    src.write_text(f"{rows[0]}\n\n{rows[1]}\n\n{json.dumps(GOOD[0])}\n")
    with pytest.raises(DataError, match=r"runs\.jsonl:5: column 'run': duplicate run 'a' \(same run as line 1;"):
        read_runs(src)
    src.write_text(f"{rows[0]}\n\n{rows[1]}\n\n{json.dumps({**GOOD[0], 'loss:p': 2.5})}\n")
    with pytest.raises(DataError, match=r"runs\.jsonl:5: column 'loss:p': two values for one run and step \(run a\): "
                                        r"2\.0 on line 1, 2\.5 on line 5"):
        read_runs_mapped(src, "run=run")
    src.write_text(f"{rows[0]}\n\n" + json.dumps({"run": "c", "w:x": 0.5, "w:y": 0.5}) + "\n")
    with pytest.warns(DataWarning, match=r"\(loss:p 1; line 3\)"):
        read_runs(src).complete()


def test_a_json_mixtures_tables_repeated_key_names_its_records(tmp_path):
    losses = tmp_path / "losses.csv"
    losses.write_text("run,recipe,loss:p\nr1,a,2.0\nr2,b,2.1\n")
    mix = tmp_path / "mix.json"
    mix.write_text(json.dumps([{"recipe": "a", "w:x": 0.5, "w:y": 0.5}, {"recipe": "b", "w:x": 0.2, "w:y": 0.8},
                               {"recipe": "a", "w:x": 0.5, "w:y": 0.5}], indent=1))
    with pytest.raises(DataError, match=r"mix\.json: record 3: column 'recipe': key 'a' appears again \(first on "
                                        r"record 1\)"), warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        read_runs_mapped(losses, None, mixtures=mix, on="recipe")


def test_a_parquet_files_error_names_the_row_it_has_no_lines(tmp_path):
    pytest.importorskip("pyarrow")
    src = tmp_path / "runs.parquet"
    pd.DataFrame(GOOD + [{"run": "c", "w:x": 0.5, "w:y": 0.7, "loss:p": 2.0}]).to_parquet(src)
    with pytest.raises(DataError, match=r"runs\.parquet: row 3: column 'w:x': weights sum to 1\.2") as exc:
        read_runs(src)
    assert exc.value.row == 3 and exc.value.unit == "row"
