"""Workbook cells a CSV does not have: text that reads as a decimal-comma number ('0,4' stored as text), and formulas
whose value was never computed (a workbook written by a script, not saved by a spreadsheet since). Each is named by
its sheet and cell, with what to do in the workbook."""

from __future__ import annotations

import pytest
from cli_runner import run_cli

from mixlaw.data import read_runs
from mixlaw.errors import DataError
from mixlaw.importers import read_runs_mapped

openpyxl = pytest.importorskip("openpyxl")

HEAD = ["run", "w:a", "w:b", "loss:x"]
ROWS = [["r1", 0.5, 0.5, 2.0], ["r2", 0.4, 0.6, 2.1], ["r3", 0.3, 0.7, 2.2], ["r4", 0.2, 0.8, 2.3]]


def _book(path, rows, head=HEAD, title="Runs"):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    ws.append(head)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_a_decimal_comma_stored_as_text_names_sheet_and_cell_with_the_workbook_fix(tmp_path, capsys):
    rows = [list(r) for r in ROWS]
    rows[1][1] = "0,4"  # B3
    book = _book(tmp_path / "runs.xlsx", rows)
    with pytest.raises(DataError) as exc:
        read_runs(book)
    msg = str(exc.value)
    assert msg.startswith(f"{book}:3: column 'w:a': value '0,4' is not a number (sheet 'Runs', cell B3 ")
    assert "store the cell as a number" in msg and "decimal separator" in msg
    assert "save the table with ';'" not in msg  # the CSV advice does not apply to a workbook
    # the same cell under a column map: the file's own column, its sheet and cell
    with pytest.raises(DataError, match=r"column 'mix_a': value '0,4' is not a number \(sheet 'Runs', cell B3 "):
        read_runs_mapped(_book(tmp_path / "mapped.xlsx", rows, head=["name", "mix_a", "mix_b", "val_x"]),
                         "run=name,w:*=mix_*,loss:*=val_*")
    code, _, err = run_cli(capsys, "fit", "--runs", str(book), "--law", "linear")
    assert code == 2 and "(sheet 'Runs', cell B3 " in err
    # a loss column's comma, a step column's: the same
    rows = [list(r) + [1000] for r in ROWS]
    rows[3][3] = "2,3"  # D5
    with pytest.raises(DataError, match=r":5: column 'loss:x': value '2,3' is not a number \(sheet 'Runs', cell D5 "):
        read_runs(_book(tmp_path / "loss.xlsx", rows, head=[*HEAD, "step"]))
    # text that is no number where a number is not needed stays as it is ('0,1' a list of GPUs)
    rows = [list(r) + ["0,1"] for r in ROWS]
    assert read_runs(_book(tmp_path / "gpus.xlsx", rows, head=[*HEAD, "gpus"])).frame["gpus"].tolist() == ["0,1"] * 4
    # a CSV keeps its own advice
    csv = tmp_path / "runs.csv"
    csv.write_text('run,w:a,w:b,loss:x\nr1,"0,4",0.6,2\n')
    with pytest.raises(DataError, match="save the table with ';' or tabs between cells"):
        read_runs(csv)
