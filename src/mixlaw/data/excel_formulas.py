"""Formulas of an Excel workbook whose value was never computed: what openpyxl reads as an empty cell or a
placeholder, found in the first sheet's XML (streamed, without openpyxl), and the cell addresses (``B7``) that the
errors about a workbook's cells name.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import DataError


def _sheet_cell(j: int, line: int) -> str:
    """A sheet's cell address, ``B7``, of the ``j``-th column (0-based) on sheet row ``line``."""
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(j + 1)}{line}"


def _local(tag: str) -> str:
    """An XML element's or attribute's name without its namespace ('{http://...}c' -> 'c')."""
    return tag.rsplit("}", 1)[-1]


def _first_sheet_part(archive: Any) -> str | None:
    """The zip member of a workbook's first sheet (``xl/worksheets/sheet1.xml`` as most writers name it), by the
    workbook's own list of sheets and their relationships; None if they cannot be read."""
    import posixpath
    from xml.etree import ElementTree

    try:
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError):
        return None
    first = next((e for e in book.iter() if _local(e.tag) == "sheet"), None)
    rid = None if first is None else next((v for k, v in first.attrib.items() if _local(k) == "id"), None)
    target = next((e.get("Target") for e in rels.iter() if _local(e.tag) == "Relationship" and e.get("Id") == rid),
                  None)
    if target is None:
        return None
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))


#: A formula element's start in a sheet's XML (``<f>``, ``<f t="shared" .../>``, a prefixed ``<x:f>``); not ``<font``.
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")


def _has_formula(archive: Any, part: str) -> bool:
    """Whether the sheet's XML has a formula element: a byte scan of the decompressed part, some 10 times quicker
    than parsing it, which a sheet without formulas (most run tables) is then spared."""
    tail = b""
    with archive.open(part) as f:
        while chunk := f.read(1 << 20):
            if _FORMULA_TAG.search(tail + chunk):
                return True
            tail = chunk[-64:]  # a tag cut between two reads
    return False


def _full_calc_on_load(archive: Any) -> bool:
    """Whether the workbook asks a spreadsheet to compute every formula on opening (``<calcPr fullCalcOnLoad="1">``
    in ``xl/workbook.xml``). XlsxWriter and openpyxl write it, XlsxWriter with a placeholder value (0) stored for each
    formula: the value there is then no result. Excel and LibreOffice, having computed the formulas, save without it.
    Read here, not from openpyxl's ``Workbook.calculation``: openpyxl defaults the flag to true when it is absent."""
    from xml.etree import ElementTree

    try:
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    except (KeyError, ElementTree.ParseError):
        return False
    calc = next((e for e in book.iter() if _local(e.tag) == "calcPr"), None)
    return calc is not None and calc.get("fullCalcOnLoad", "").strip().lower() in ("1", "true")  # xsd:boolean


def _column_of(ref: str | None, default: int) -> int:
    """The column (from 1) of a cell reference (``D3``: 4); ``default`` where it is absent or not one. Letters
    counted here, not by openpyxl's parser: called for every cell of a sheet with formulas, it took 2 s of 6."""
    n = 0
    for ch in (ref or "").upper():
        if "A" <= ch <= "Z":
            n = n * 26 + ord(ch) - 64
        elif ch.isdigit():
            break
        else:
            return default
    return n or default


def _check_computed(path: Path, sheet: str, names: list[str], empty: bool) -> None:
    """Stop at a formula cell whose value was never computed: a workbook written by a program (openpyxl, XlsxWriter,
    a script) stores the formula and leaves its value for a spreadsheet to compute on opening. openpyxl reads the
    stored value: none (openpyxl's own books), so the cell read as empty and a loss column silently lost that value
    (or a run its name); or a placeholder (XlsxWriter's 0, in a book flagged ``fullCalcOnLoad``), so a loss read as 0
    or a weight as 0, refused with a message about the sum or the loss and not about the formula.

    ``empty``: whether the sheet read has an empty cell. A workbook with none and without the flag is not opened
    again; otherwise the first sheet's XML is parsed (streamed, without openpyxl) only when a byte scan finds a
    formula in it, so a sheet without formulas is scanned alone. A formula's cell with no ``<v>`` value is one never
    computed; a computed text result ``t="str"`` (Excel's ``=IF(...,"")``, a missing loss by intent) is not. In a
    workbook flagged ``fullCalcOnLoad`` every formula's cell is, whatever it stores: the flag says the stored values
    are to be recomputed, and a writer that computed none stores 0. ``names``: the header's names, for the column
    of the error."""
    import zipfile
    from xml.etree import ElementTree

    found: list[tuple[int, int, str, str | None]] = []  # (sheet row, column from 1, formula, stored value) per cell
    with zipfile.ZipFile(path) as archive:
        on_load = _full_calc_on_load(archive)
        if not (empty or on_load):
            return
        part = _first_sheet_part(archive)
        if part is None or part not in archive.namelist() or not _has_formula(archive, part):
            return
        with archive.open(part) as f:
            row = col = 0
            formula: str | None = None
            value: str | None = None
            for event, e in ElementTree.iterparse(f, events=("start", "end")):
                tag = _local(e.tag)
                if event == "start":
                    # A row's and a cell's place may go unwritten (r is optional): then it follows the previous one.
                    if tag == "row":
                        row, col = int(e.get("r") or row + 1), 0
                    elif tag == "c":
                        col = _column_of(e.get("r"), col + 1)
                        formula, value = None, None
                    continue
                if tag == "f":
                    formula = e.text or ""
                elif tag == "v":
                    value = e.text or None
                elif tag == "c":
                    if formula is not None and (on_load or (value is None and e.get("t") != "str")):
                        found.append((row, col, formula, value))
                    e.clear()
                elif tag == "row":
                    e.clear()
    if not found:
        return
    row, col, formula, value = found[0]
    others = [_sheet_cell(c - 1, r) for r, c, _, _ in found[1:]]
    more = (f" ({len(others)} more such cell{'s' if len(others) > 1 else ''}: {', '.join(others[:5])}"
            f"{', ...' if len(others) > 5 else ''})") if others else ""
    what = f"the formula '={formula}'" if formula else "a formula"  # a shared formula's other cells write none
    if value is None:
        why = ("(a workbook written by a program and not saved by a spreadsheet since), so it reads as an empty "
               "cell")
    else:
        shown = value if len(value) <= 20 else value[:20] + "..."
        why = ("(a workbook written by a program, XlsxWriter or a script, and not saved by a spreadsheet since: it "
               "asks for every formula to be computed on opening, fullCalcOnLoad), so its stored value, "
               f"{shown!r}, is a placeholder, not the formula's result")
    raise DataError(f"sheet {sheet!r}, cell {_sheet_cell(col - 1, row)} holds {what}, whose value was never computed "
                    f"{why}{more}: open and save the workbook in Excel or LibreOffice so that its values are computed, "
                    "or export the sheet as CSV", path=str(path), row=row,
                    column=names[col - 1] if 0 < col <= len(names) else None)
