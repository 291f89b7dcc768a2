"""Workbook cells a CSV does not have: text that reads as a decimal-comma number ('0,4' stored as text), and formulas
whose value was never computed (a workbook written by a script, not saved by a spreadsheet since). Each is named by
its sheet and cell, with what to do in the workbook."""

from __future__ import annotations

import warnings

import pytest
from cli_runner import run_cli

from mixlaw.data import read_runs
from mixlaw.errors import DataError, DataWarning
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


def _rewrite(book, edit, part="xl/worksheets/sheet1.xml"):
    """Rewrite the ``part`` (the first sheet's XML) of ``book`` with ``edit`` (bytes -> bytes), as another writer
    would store it."""
    import shutil
    import zipfile

    fixed = book.with_name("rewritten.xlsx")
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(fixed, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            dst.writestr(item, edit(data) if item.filename == part else data)
    shutil.move(fixed, book)


#: openpyxl's and XlsxWriter's (3.3) ``calcPr``: compute every formula on opening; a spreadsheet saves without it.
_ON_LOAD = b'<calcPr calcId="124519" fullCalcOnLoad="1" />'


def _saved_by_a_spreadsheet(xml):
    """``xl/workbook.xml`` as Excel saves it, its formulas computed: no fullCalcOnLoad."""
    assert _ON_LOAD in xml
    return xml.replace(_ON_LOAD, b'<calcPr calcId="191029" />')


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


def test_a_formula_never_computed_is_an_error_naming_sheet_cell_and_fix(tmp_path, capsys):
    rows = [list(r) for r in ROWS]
    rows[1][3] = "=D2*2"  # D3: openpyxl writes the formula with no value, which Excel would compute on saving
    rows[2][3] = "=D2+0.1"  # D4
    book = _book(tmp_path / "runs.xlsx", rows)
    with pytest.raises(DataError) as exc:
        read_runs(book)
    msg = str(exc.value)
    assert msg.startswith(f"{book}:3: column 'loss:x': sheet 'Runs', cell D3 holds the formula '=D2*2', whose value "
                          "was never computed")
    assert "1 more such cell: D4" in msg
    assert "open and save the workbook in Excel or LibreOffice" in msg and "CSV" in msg
    code, _, err = run_cli(capsys, "runs", "import", str(book), "--out", str(tmp_path / "o.csv"))
    assert code == 2 and "cell D3 holds the formula '=D2*2'" in err
    # a writer that leaves the cells' places unwritten (r is optional): counted from the row's start
    def unplaced(xml):
        for ref in (b"A3", b"B3", b"C3", b"D3"):
            assert b'<c r="' + ref + b'"' in xml
            xml = xml.replace(b'<c r="' + ref + b'"', b"<c")
        return xml

    _rewrite(book, unplaced)
    with pytest.raises(DataError, match=r":3: column 'loss:x': sheet 'Runs', cell D3 holds the formula '=D2\*2'"):
        read_runs(book)
    # A run name from a formula: read as an empty name before.
    rows = [list(r) for r in ROWS]
    rows[0][0] = '="r"&"1"'
    with pytest.raises(DataError, match=r"column 'run': sheet 'Runs', cell A2 holds the formula"):
        read_runs(_book(tmp_path / "names.xlsx", rows))


def test_computed_formulas_and_empty_cells_read_as_before(tmp_path):
    # A formula with its value (as Excel saves it: <f> and <v>) reads as its value; a computed '' (t="str": Excel's
    # =IF(...,"") for a missing loss) and a plain empty cell read as missing, with no error.
    rows = [list(r) for r in ROWS]
    rows[1][3] = "=D2*2"
    rows[2][3] = '=IF(1>2,1,"")'
    rows[3][3] = None
    book = _book(tmp_path / "runs.xlsx", rows)

    def saved(xml):  # as a spreadsheet saves them: the value beside the formula, a text result typed t="str"
        xml = xml.replace(b'<c r="D3"><f>D2*2</f><v /></c>', b'<c r="D3"><f>D2*2</f><v>4</v></c>')
        xml = xml.replace(b'<c r="D4"><f>', b'<c r="D4" t="str"><f>')
        assert b"<v>4</v>" in xml and b't="str"' in xml
        return xml

    _rewrite(book, saved)
    _rewrite(book, _saved_by_a_spreadsheet, "xl/workbook.xml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        t = read_runs(book)
    loss = t.frame["loss:x"].tolist()
    assert loss[:2] == [2.0, 4.0] and all(x != x for x in loss[2:])  # NaN: missing


def _placeholders(*formulas):
    """A sheet's XML edit: each formula's cell stores 0, as XlsxWriter writes it, where openpyxl stores no value."""
    def edit(xml):
        for f in formulas:
            assert b"<f>" + f + b"</f><v />" in xml
            xml = xml.replace(b"<f>" + f + b"</f><v />", b"<f>" + f + b"</f><v>0</v>")
        return xml

    return edit


def test_a_placeholder_value_in_a_book_to_be_recomputed_on_opening_is_an_error_naming_the_cell(tmp_path):
    # XlsxWriter stores 0 beside each formula (<f>1-B3</f><v>0</v>) and flags the workbook fullCalcOnLoad: the 0 is no
    # result. Read as a value before: a weight of 0 refused as "weights sum to 0.4", a loss of 0 as "loss is 0".
    rows = [list(r) for r in ROWS]
    rows[1][2] = "=1-B3"  # C3, w:b
    rows[2][3] = "=D2*1.1"  # D4, loss:x
    book = _book(tmp_path / "runs.xlsx", rows)
    _rewrite(book, _placeholders(b"1-B3", b"D2*1.1"))
    with pytest.raises(DataError) as exc:
        read_runs(book)
    msg = str(exc.value)
    assert msg.startswith(f"{book}:3: column 'w:b': sheet 'Runs', cell C3 holds the formula '=1-B3', whose value was "
                          "never computed")
    assert "fullCalcOnLoad" in msg and "its stored value, '0', is a placeholder" in msg
    assert "1 more such cell: D4" in msg
    assert "open and save the workbook in Excel or LibreOffice" in msg and "CSV" in msg
    # a formula only in a loss column: named too, not "loss is 0"
    rows = [list(r) for r in ROWS]
    rows[2][3] = "=D2*1.1"
    loss = _book(tmp_path / "loss.xlsx", rows)
    _rewrite(loss, _placeholders(b"D2*1.1"))
    with pytest.raises(DataError, match=r":4: column 'loss:x': sheet 'Runs', cell D4 holds the formula '=D2\*1.1'"):
        read_runs(loss)
    # the same cell once a spreadsheet computed and saved it (its value stored, the flag gone): read as its value
    _rewrite(loss, lambda xml: xml.replace(b"<f>D2*1.1</f><v>0</v>", b"<f>D2*1.1</f><v>2.2</v>"))
    _rewrite(loss, _saved_by_a_spreadsheet, "xl/workbook.xml")
    assert read_runs(loss).frame["loss:x"].tolist() == [2.0, 2.1, 2.2, 2.3]
