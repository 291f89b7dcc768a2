"""A CSV whose rows carry more cells than its header names: a trailing delimiter on every row but the header's (as
some loggers and hand-written exports write them), or one row with a stray cell. pandas then took the first column as
the index and shifted every other one a column left: the run table's weights summed to 5.2 ("divide each row by its
sum"), or a loss read as the params column's "value 'x' is not a number"."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=20)
    return pd.DataFrame({"run": [f"m{i}" for i in range(20)], "w:web": W[:, 0], "w:code": W[:, 1],
                         "w:books": W[:, 2], "loss:val": 2.5 + np.exp(W @ [0.0, -0.8, 0.4])})


def _params(capsys, path) -> dict:  # type: ignore[no-untyped-def]
    code, out, err = run_cli(capsys, "fit", "--runs", str(path), "--law", "linear", "--json")
    assert code == 0, err
    return json.loads(out)["report"]["params"]


@pytest.mark.parametrize("name, sep", [("rows.csv", ","), ("rows.csv.gz", ","), ("semi.csv", ";"),
                                       ("rows.tsv", "\t")])
def test_a_trailing_delimiter_on_the_rows_alone_reads_as_the_table(tmp_path, capsys, name, sep) -> None:  # type: ignore[no-untyped-def]
    frame = _frame()
    frame.to_csv(tmp_path / "clean.csv", index=False)
    want = _params(capsys, tmp_path / "clean.csv")
    lines = frame.to_csv(index=False, sep=sep).splitlines()
    text = "\n".join([lines[0]] + [line + sep for line in lines[1:]]) + "\n"
    path = tmp_path / name
    if name.endswith(".gz"):
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        path.write_text(text)
    assert _params(capsys, path) == want


@pytest.mark.parametrize("sep", [",", ";", "\t"])
@pytest.mark.parametrize("cell", ["", " "])
def test_an_empty_cell_past_the_header_on_a_later_row_alone_reads_as_the_table(tmp_path, capsys, sep, cell) -> None:  # type: ignore[no-untyped-def]
    # index_col=False took a trailing delimiter on the first row but stopped at one on row 7 alone: "cannot parse
    # the file: Error tokenizing data. C error: Expected 5 fields in line 8, saw 6"
    frame = _frame()
    frame.to_csv(tmp_path / "clean.csv", index=False)
    lines = frame.to_csv(index=False, sep=sep).splitlines()
    lines[7] += sep + cell
    path = tmp_path / "runs.csv"
    path.write_text("\n".join(lines) + "\n")
    assert _params(capsys, path) == _params(capsys, tmp_path / "clean.csv")


@pytest.mark.parametrize("row", [1, 7])
def test_a_cell_beyond_the_header_is_named_by_its_line(tmp_path, capsys, row) -> None:  # type: ignore[no-untyped-def]
    lines = _frame().to_csv(index=False).splitlines()
    lines[row] += ",rerun"
    path = tmp_path / "runs.csv"
    path.write_text("\n".join(lines) + "\n")
    code, _, err = run_cli(capsys, "fit", "--runs", str(path), "--law", "linear")
    assert code == 2
    assert err.strip() == (f"error: {path}:{row + 1}: the row has 6 cells and the header 5 names: cell 6 ('rerun') has "
                           "no column; name it in the header (line 1), or delete it")


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", ["runs.csv", "runs.tsv"])
def test_a_header_alone_says_the_table_has_no_rows_and_nothing_else(tmp_path, name) -> None:  # type: ignore[no-untyped-def]
    # The empty-row check of an empty frame warned pandas' "'or' operations between boolean dtype and str are
    # deprecated and will raise in a future version", which will turn into "cannot read the file: TypeError".
    from mixlaw import DataError, read_runs

    path = tmp_path / name
    path.write_text(("\t" if name.endswith(".tsv") else ",").join(["run", "w:web", "w:code", "loss:val"]) + "\n")
    with pytest.raises(DataError, match="the table has no rows"):
        read_runs(path)


@pytest.mark.parametrize("sep, pct", [(";", "%"), (";", " %"), ("\t", "%")])
def test_percentages_with_decimal_commas_read_as_the_file_s_other_numbers(tmp_path, capsys, sep, pct) -> None:  # type: ignore[no-untyped-def]
    # A European-locale sheet's percent-formatted shares ('33,3%' beside losses '3,1'): the file was read with decimal
    # commas, said so, and then stopped at "value '33,3%' is not a number".
    frame = _frame()
    frame.to_csv(tmp_path / "clean.csv", index=False)
    want = _params(capsys, tmp_path / "clean.csv")
    cells = frame.copy().astype(object)
    for c in ("w:web", "w:code", "w:books"):
        cells[c] = [repr(v * 100).replace(".", ",") + pct for v in frame[c]]
    cells["loss:val"] = [repr(v).replace(".", ",") for v in frame["loss:val"]]
    path = tmp_path / "pct.csv"
    cells.to_csv(path, sep=sep, index=False)
    got = _params(capsys, path)
    assert got.keys() == want.keys()
    for k in want:  # the shares' last digit moves in *100 and /100
        assert got[k]["value"] == pytest.approx(want[k]["value"], rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("capitals", [False, True])
def test_the_header_again_in_a_row_is_said_so(tmp_path, capsys, capitals) -> None:  # type: ignore[no-untyped-def]
    # Two exports joined one after another ('cat a.csv b.csv'): "value 'w:web' is not a number" left the user to
    # see that the cell is a column name. Capitals: 'W:Web' is read as the column w:Web (canonical_name), and the
    # repeated header's 'W:Web' missed the hint.
    text = _frame().to_csv(index=False)
    if capitals:
        text = text.replace("w:", "W:").replace("run,", "Run,")
    lines = text.splitlines()
    path = tmp_path / "runs.csv"
    path.write_text("\n".join([*lines[:6], lines[0], *lines[6:]]) + "\n")
    code, _, err = run_cli(capsys, "fit", "--runs", str(path), "--law", "linear")
    assert code == 2
    cell = "W:web" if capitals else "w:web"
    assert err.strip() == (f"error: {path}:7: column 'w:web': value '{cell}' is not a number (the header again: "
                           "tables joined one after another? delete this line)")


def test_a_gzipped_csv_is_read_whatever_the_case_of_its_suffix_and_other_gz_files_are_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # 'RUNS.CSV.GZ' said "unknown table format '.GZ'"; 'runs.tsv.gz' "unknown table format '.gz'; use .csv, ...",
    # neither naming the compressed form that is read.
    from mixlaw import InputError, read_runs

    frame = _frame()
    with gzip.open(tmp_path / "RUNS.CSV.GZ", "wt") as f:
        f.write(frame.to_csv(index=False))
    assert read_runs(tmp_path / "RUNS.CSV.GZ").runs.tolist() == frame["run"].tolist()
    with gzip.open(tmp_path / "runs.tsv.gz", "wt") as f:
        f.write(frame.to_csv(index=False, sep="\t"))
    with pytest.raises(InputError) as err:
        read_runs(tmp_path / "runs.tsv.gz")
    assert str(err.value) == (f"{tmp_path / 'runs.tsv.gz'}: unknown table format '.tsv.gz'; use .csv, .tsv, .xlsx, "
                              ".parquet, .json or .jsonl (of compressed files .csv.gz alone is read: gunzip it)")


@pytest.mark.parametrize("name", ["runs.txt", "runs.csv"])
def test_utf16_text_is_named_as_such(tmp_path, name) -> None:  # type: ignore[no-untyped-def]
    # Excel's 'Unicode Text (*.txt)' saves UTF-16 with a byte-order mark: the error said "it has byte 0xff, e.g. a
    # letter of a legacy code page", which it is not.
    from mixlaw import DataError, read_runs

    path = tmp_path / name
    path.write_text(_frame().to_csv(index=False, sep="\t"), encoding="utf-16")
    with pytest.raises(DataError) as err:
        read_runs(path)
    assert str(err.value) == (f"{path}: cannot parse the file: it is UTF-16 text (Excel's 'Unicode Text' saves it), "
                              "not UTF-8; save it as UTF-8 (in Excel: 'CSV UTF-8')")
