"""Reading run-table files into :class:`~mixlaw.data.RunTable`: CSV (',', or ';' or tab with decimal commas), Excel
workbooks, Parquet, JSON and JSONL, and RegMix's mixture/loss pair joined on ``index``. Each row keeps its editor
line and the run-id columns are read as text, so that an error names the file, line and column as the user sees them.
JSON records are flattened into columns in :mod:`.json_records`; a workbook's formulas whose value was never computed
are found in :mod:`.excel_formulas`.
"""

from __future__ import annotations

import io
import json
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, DataWarning, InputError, user_stacklevel
from .excel_formulas import _check_computed, _sheet_cell
from .hints import _fold
from .json_records import _flatten_json, _read_jsonl, check_json_keys
from .schema import (
    CSV_MISSING,
    LOSS_PREFIX,
    META_COLUMNS,
    RUN_ID_COLUMNS,
    SCALE_ALIASES,
    WEIGHT_PREFIX,
    WEIGHT_TOL,
    SheetText,
)
from .table import RunTable, index_levels_of_data

# RegMix's paired format (github.com/sail-sg/regmix, data/): mixture file + loss file joined on `index`.
_REGMIX_W = "train_the_pile_"
_REGMIX_LOSS = ("metric/the_pile_", "_val_loss")


def csv_missing(names: Iterable[str], text: Iterable[str]) -> dict[str, Any]:
    """``read_csv`` keywords that read the ``text`` columns as written (no cell becomes missing but an empty one,
    kept as ''; an id is text, so '007' stays '007') and the others with pandas' missing-value strings."""
    text = set(text)
    names = [str(c) for c in names]
    return {"dtype": {c: str for c in names if c in text}, "keep_default_na": False,
            "na_values": {c: list(CSV_MISSING) for c in names if c not in text}}


#: A number written with a decimal comma ('0,25', '-1,5', '1,22e+08') or a decimal point; a whole number is neither.
_COMMA_NUMBER = r"[-+]?\d*,\d+([eE][-+]?\d+)?"
_POINT_NUMBER = r"[-+]?\d*\.\d+([eE][-+]?\d+)?"
#: The percent sign after a share written as a percentage ('30%', '30 %').
_PERCENT = r"\s*%$"


def _read_local_csv(path: Path, sep: str, names: Sequence[str], text: set[str]) -> pd.DataFrame:
    """A CSV separated by ';' (a spreadsheet saved in a locale whose decimal mark is ',') or by tabs, read with
    decimal commas when the file writes its numbers so.

    With ';' or a tab between cells a comma cannot separate fields, so '0,25' is a quarter: when every number of
    the columns that are not text (run ids) is written with a decimal comma or is whole, the file is read with
    pandas' ``decimal=","`` and one :class:`~mixlaw.errors.DataWarning` says so. A tab-separated file of decimal
    commas stopped at "value '0,25' is not a number ... save the table with ';'". A file that writes some numbers
    with a comma and others with a point is refused, naming one cell of each: which mark is decimal is not ours
    to guess ('1,300' is a thousand and three hundred in a file of '0.25'). Read with ',' a ';' file was one column
    'run;params;w:a;...' and the error listed that one name as the table's columns.
    """
    raw = _read_csv(path, sep=sep, skip_blank_lines=False, dtype=str, keep_default_na=False)
    first: dict[str, tuple[str, int]] = {}  # "comma" / "point" -> (column, row) of the first cell written so
    for c in raw.columns:
        if str(c) in text:  # text (run ids): kept as written, '1,5' a name
            continue
        col = raw[c].str.strip()
        if col.str.endswith("%").any():  # '33,3%' is written with a comma too (the regex only where needed: 1.6x)
            col = col.str.replace(_PERCENT, "", regex=True)
        for kind, pattern in (("comma", _COMMA_NUMBER), ("point", _POINT_NUMBER)):
            hit = np.flatnonzero(col.str.fullmatch(pattern).to_numpy())
            if hit.size:
                first.setdefault(kind, (str(c), int(hit[0])))
    comma, point = first.get("comma"), first.get("point")
    if comma is not None and point is not None:
        (cc, ci), (pc, pi) = comma, point
        raise DataError(f"the numbers are written with decimal commas ({raw[cc].iloc[ci].strip()!r}) and decimal "
                        f"points ({raw[pc].iloc[pi].strip()!r} in line {pi + 2}, column {pc!r}): write every number "
                        "one way (a spreadsheet's locale sets it)", path=str(path), row=ci + 2, column=cc)
    keywords = csv_missing(names, text)
    if comma is None:
        return _read_csv(path, sep=sep, skip_blank_lines=False, **keywords)
    between = "';'" if sep == ";" else "tabs"
    warnings.warn(f"{path}: read ',' as the decimal mark (cells separated by {between}, every number written with "
                  f"a decimal comma or whole, e.g. {raw[comma[0]].iloc[comma[1]].strip()!r} in line {comma[1] + 2}, "
                  f"column {comma[0]!r})", DataWarning, stacklevel=user_stacklevel())
    df = _read_csv(path, sep=sep, decimal=",", skip_blank_lines=False, **keywords)
    # A percentage stays text for pandas ('33,3%', a percent-formatted share): its comma is the decimal one too, or
    # the table said "value '33,3%' is not a number" after this warning.
    for c in df.columns:
        if str(c) not in text and not pd.api.types.is_numeric_dtype(df[c]):
            df[c] = df[c].map(lambda v: v.replace(",", ".") if isinstance(v, str)
                              and re.fullmatch(_COMMA_NUMBER + _PERCENT, v.strip()) else v)
    return df


def _read_csv(path: Path, *, sep: str, **keywords: Any) -> pd.DataFrame:
    """``pd.read_csv`` that keeps each cell under its header's name, stopping at a row with a cell beyond the header.

    pandas takes the first column as the index when the first row has one cell more than the header: a trailing
    delimiter on every row but the header's (some loggers write one) shifted every column one left, so the weights
    summed to 5.2 ("divide each row by its sum"), and a stray cell in row 1 was read under the last name ("column
    'params': value 'x' is not a number"). With ``index_col=False`` the empty trailing cells are dropped, and a filled
    one (pandas' ParserWarning, or its "Expected 5 fields in line 8, saw 6") is named by :func:`_cell_beyond_header`.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(path, sep=sep, index_col=False, **keywords)
    except (pd.errors.ParserWarning, pd.errors.ParserError):
        if (found := _cell_beyond_header(path, sep)) is not None:
            raise found from None
    # The cells past the header are empty: dropped. usecols, as index_col=False alone read a trailing delimiter on
    # the first row but stopped at one on a later row alone ("Error tokenizing data. C error: Expected 4 fields in
    # line 3, saw 5"); a parse error of another kind is raised again here.
    width = len(pd.read_csv(path, sep=sep, nrows=0, index_col=False, **keywords).columns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.ParserWarning)
        return pd.read_csv(path, sep=sep, index_col=False, usecols=range(width), **keywords)


def _cell_beyond_header(path: Path, sep: str) -> DataError | None:
    """The error naming the first row with a filled cell past the header's names, or None when there is none."""
    import csv
    import gzip

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as f:
        reader = csv.reader(f, delimiter=sep)
        header = next(reader, [])
        for row in reader:
            extra = [j for j, cell in enumerate(row[len(header):], len(header)) if cell.strip()]
            if extra:
                j = extra[0]
                return DataError(f"the row has {len(row)} cells and the header {len(header)} names: cell {j + 1} "
                                 f"({row[j].strip()!r}) has no column; name it in the header (line 1), or delete it",
                                 path=str(path), row=reader.line_num)
    return None


def _index_as_columns(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its named index levels as columns and positions for its index.

    A frame written with its run or model size as the index (``df.set_index('run').to_parquet()``, or ``to_json``
    with ``orient='table'``) reads it back as the index: 'run' was "missing", and a 'params' index dropped without a
    word. An unnamed index (a filtered frame's old positions) is no column, nor a named default RangeIndex other
    than 'run', 'step' or 'tokens' (:func:`~.table.index_levels_of_data`: a Parquet file keeps it, and 0, 1, 2 were
    read as model sizes)."""
    # A level named as a column too (df.set_index('run', drop=False)) stays out: the column is the table's, as in
    # RunTable(df); reset_index said "cannot parse the file: cannot insert run, already exists".
    named = [n for n in index_levels_of_data(df.index) if n not in df.columns]
    return (df.reset_index(level=named) if named else df).reset_index(drop=True)


#: Workbooks read with openpyxl (the ``excel`` extra). Legacy .xls and OpenDocument .ods need other engines.
EXCEL_SUFFIXES = (".xlsx", ".xlsm")


def _empty_cells(df: pd.DataFrame) -> np.ndarray:
    """Which cells of ``df`` are empty (missing, or text of spaces alone): boolean, shape (n_rows, n_columns)."""
    if df.empty:  # a header alone: pandas warns of or-ing its empty frames (a TypeError to come)
        return np.zeros(df.shape, dtype=bool)
    return (df.isna() | df.apply(lambda col: col.map(lambda v: isinstance(v, str) and not v.strip()))).to_numpy()


def _drop_empty_rows(df: pd.DataFrame, lines: np.ndarray,
                     cells: np.ndarray | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows with some cell filled, each keeping its line (``cells``: :func:`_empty_cells` of ``df``, if known).

    Rows with no cell filled (blank lines at the end, a spreadsheet's ',,,,,' rows, a workbook's formatted but
    empty rows) carry nothing. They stopped at "the run name is empty (2 of 122 rows have none)"."""
    empty = (_empty_cells(df) if cells is None else cells).all(axis=1)
    if empty.any() and not empty.all():
        return df[~empty].reset_index(drop=True), lines[~empty]
    return df, lines


def _read_excel(path: Path, text: set[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The first sheet of an Excel workbook, read as a CSV export of it would be: row 1 the header, each run keeping
    its sheet row as its line, the run-id columns as text, Excel's error cells (``#N/A``) missing.

    openpyxl reads the values the workbook last computed (a formula's result, not its text); a formula never
    computed (no value stored, or a placeholder in a workbook that asks to be recomputed on opening, as XlsxWriter
    writes them) is an error naming its cell (:func:`_check_computed`), and a decimal comma stored as text keeps
    its cell for the error that refuses it (:func:`_comma_cells`). A book of several sheets is read from its first,
    and one :class:`~mixlaw.errors.DataWarning` names it and the others: which sheet holds the runs is the user's
    to say, by moving it first or saving it as CSV. Without openpyxl the error says how to install it; before,
    every workbook was refused ("save its sheet as 'CSV UTF-8'").
    """
    try:
        import openpyxl  # noqa: F401  (pandas' engine for .xlsx)
    except ImportError:
        raise InputError(f"{path}: reading an Excel workbook needs openpyxl: pip install 'mixlaw[excel]' (or save "
                         "its sheet as 'CSV UTF-8' and give that file)") from None
    import zipfile

    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except zipfile.BadZipFile:
        # An .xlsx is a zip file; a CSV or a legacy .xls saved under .xlsx said "BadZipFile: File is not a zip file".
        raise DataError(f"not an Excel workbook: a {path.suffix} file is a zip archive and this one is not (a CSV, "
                        "or a legacy .xls, under that name?); give it the suffix of what it is (.csv, or save the "
                        "sheet as .xlsx)", path=str(path)) from None
    with book:
        sheets = [str(s) for s in book.sheet_names]
        if len(sheets) > 1:
            warnings.warn(f"{path}: read the workbook's first sheet, {sheets[0]!r}, of {len(sheets)} "
                          f"({', '.join(map(repr, sheets[1:4]))}{', ...' if len(sheets) > 4 else ''}): put the runs' "
                          "sheet first, or save it as CSV", DataWarning, stacklevel=user_stacklevel())
        names = pd.read_excel(book, sheet_name=0, header=None, nrows=1, dtype=str, keep_default_na=False)
        if names.empty:
            raise DataError(f"the workbook's first sheet, {sheets[0]!r}, is empty", path=str(path))
        names = [str(c) for c in names.iloc[0]]
        _check_unique_columns(names, path)
        text |= {c for c in names if canonical_name(c) in text}
        df = pd.read_excel(book, sheet_name=0, **csv_missing(names, text))
    lines = np.arange(len(df)) + 2
    empty = _empty_cells(df)
    # A formula never computed reads as an empty cell, or, in a workbook that asks to be recomputed on opening, as
    # the placeholder its writer stored: only then is the sheet's XML looked at.
    _check_computed(path, sheets[0], names, bool(empty.any()))
    return _drop_empty_rows(_comma_cells(df, text, sheets[0], lines), lines, empty)


def _comma_cells(df: pd.DataFrame, text: set[str], sheet: str, lines: np.ndarray) -> pd.DataFrame:
    """``df`` with each text cell that reads as a number with a decimal comma ('0,4'), outside the ``text`` columns,
    as a :class:`~mixlaw.data.schema.SheetText` that keeps its sheet and cell: should a number be needed there, the
    error names the cell and the fix in the workbook (the CSV's advice, "save the table with ';'", does not apply)."""
    for j, c in enumerate(df.columns):
        if str(c) in text or df[c].dtype != object:
            continue
        hit = df[c].map(lambda v: isinstance(v, str) and re.fullmatch(_COMMA_NUMBER, v.strip()) is not None)
        if hit.any():
            df[c] = [SheetText(v, sheet, _sheet_cell(j, int(line))) if h else v
                     for v, h, line in zip(df[c], hit, lines, strict=True)]
    return df


def _read_any(path: Path, text_columns: Sequence[str] = ()) -> tuple[pd.DataFrame, np.ndarray]:
    """Read CSV / Parquet / JSONL; return the frame and each row's editor line.

    The run-id columns (``run`` and the names :func:`_normalise_columns` takes for it) and ``text_columns`` are
    read as text: parsed as numbers, ids ``0010`` and ``10`` were both the run '10.0' ("duplicate run '10.0'",
    a name the file does not hold) and ``001`` lost its zeros. A name given twice in the header is an error:
    pandas renamed the second ``loss:x`` to ``loss:x.1``, an eval set of its own, without a word.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        # A folder (a sweep's output folder, a logs folder) said "unknown table format ''", or for 'runs.csv/'
        # pandas' "Is a directory".
        tb = any(next(path.glob(g), None) for g in ("events.out.tfevents.*", "*/events.out.tfevents.*"))
        hint = (f" (it holds TensorBoard event files: mixlaw runs import-tensorboard {path} --out runs.parquet)" if tb
                else "")
        raise InputError(f"{path}: is a folder; expected a run table file (.csv, .tsv, .xlsx, .parquet, .json or "
                         f".jsonl){hint}")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix.lower() == ".gz" else path.suffix.lower()
    text = set(RUN_ID_COLUMNS) | set(text_columns)
    if path.is_file() and path.stat().st_size == 0:
        # Said as such: pandas' "No columns to parse from file", or for JSONL a column map's "no column 'Name' for
        # 'run'; columns: " (an empty list), left the reader to guess that the export had written nothing.
        raise DataError("the file is empty (0 bytes): was the export or the log written?", path=str(path))
    try:
        if suffix in (".csv", ".csv.gz", ".tsv", ".txt"):
            # The ';' check reads the header alone: rows of decimal commas differ in their ',' count (0,25 against
            # a whole 1), and a ',' parse of the whole file stopped at "Expected 3 fields in line 3, saw 4".
            sep = "\t" if suffix == ".tsv" else ","
            if suffix != ".csv.gz":
                with open(path, encoding="utf-8-sig", errors="replace") as f:
                    first = f.readline().strip()
                if first.startswith("#"):
                    # A preamble ('# exported from ...') was read as the header: "found columns ['# exported ...']".
                    raise DataError(f"the first line is a comment ({first[:40]!r}), not the header: remove the lines "
                                    "before the header (run,w:<domain>,...,loss:<eval>,...)", path=str(path), row=1)
            head = pd.read_csv(path, nrows=0).columns if suffix != ".tsv" else ()
            if len(head) == 1 and ";" in str(head[0]):
                sep = ";"
            elif len(head) == 1 and "\t" in str(head[0]):
                # Tab-separated under .csv or .txt (a spreadsheet's "Text (Tab delimited)", a terminal's copy): read
                # with ',' it was one column 'run\tw:a\t...' and the error listed that as the table's columns.
                sep = "\t"
            # header=None reads the names as they are written (the header pandas parses has its repeats renamed)
            names = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str, keep_default_na=False).iloc[0]
            _check_unique_columns([str(c) for c in names], path)
            text |= {str(c) for c in names if canonical_name(str(c)) in text}  # ' Run ' is the run column too
            if sep in (";", "\t"):
                df = _read_local_csv(path, sep, [str(c) for c in names], text)
            else:
                df = _read_csv(path, sep=sep, skip_blank_lines=False, **csv_missing(names, text))
            df, lines = _drop_empty_rows(df, np.arange(len(df)) + 2)
        elif suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            _check_unique_columns(list(pq.read_schema(path).names), path)
            df = pd.read_parquet(path)
            df = _index_as_columns(df)
            lines = np.arange(len(df)) + 1  # parquet has no header line: rows count from 1
        elif suffix in (".jsonl", ".ndjson"):
            df, lines = _read_jsonl(path)
            df, lines = _flatten_json(df, lines, path)
        elif suffix == ".json":
            if own := _other_mixlaw_file(path):  # a saved pipeline parses as a frame of its 5 fields
                raise DataError(f"not a run table{own}", path=str(path))
            # precise_float: pandas' default parser rounds in the 16th digit (0.15027941106200063 was read as
            # 0.15027941106200002), where json.loads, as JSONL is read, keeps every float as written.
            # utf-8-sig: with a byte-order mark pandas said "Expected object or value".
            body = path.read_text(encoding="utf-8-sig")
            layout = check_json_keys(body, path)
            # orient='table' types the columns by its schema (pandas refuses a dtype beside it)
            df = pd.read_json(io.StringIO(body), precise_float=True, orient=layout,
                              **({} if layout == "table" else {"dtype": {c: str for c in text}}))
            if layout is not None:  # orient='table' keeps an indexed frame's index, as Parquet does
                df = _index_as_columns(df)
            df, lines = _flatten_json(df, np.arange(len(df)) + 1, path)
        elif suffix in EXCEL_SUFFIXES:
            df, lines = _read_excel(path, text)
        else:
            other = (" (a legacy Excel or OpenDocument sheet: save it as .xlsx or as 'CSV UTF-8' and give that file)"
                     if suffix in (".xls", ".ods") else
                     " (of compressed files .csv.gz alone is read: gunzip it)" if suffix.endswith(".gz") else "")
            shown = "".join(path.suffixes[-2:]) if suffix.endswith(".gz") else path.suffix
            raise InputError(f"{path}: unknown table format {shown!r}; use .csv, .tsv, .xlsx, .parquet, .json or "
                             f".jsonl{other}{_other_mixlaw_file(path)}")
    except InputError:
        raise
    except UnicodeDecodeError as err:
        # A spreadsheet saved in a legacy code page (Excel's plain "CSV" on Windows: 'bö' as byte 0xf6) said only
        # "'utf-8' codec can't decode byte 0xf6 in position 3".
        if err.object[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16's byte-order mark, not a code page's letter
            raise DataError("cannot parse the file: it is UTF-16 text (Excel's 'Unicode Text' saves it), not UTF-8; "
                            "save it as UTF-8 (in Excel: 'CSV UTF-8')", path=str(path)) from err
        raise DataError(f"cannot parse the file: it is not UTF-8 text (it has byte 0x{err.object[err.start]:02x}, "
                        "e.g. a letter of a legacy code page); save it as UTF-8 (in Excel: 'CSV UTF-8')",
                        path=str(path)) from err
    except (ValueError, OSError, pd.errors.ParserError) as err:
        raise DataError(f"cannot parse the file: {str(err).splitlines()[0] if str(err) else type(err).__name__}"
                        f"{_other_mixlaw_file(path)}", path=str(path)) from err
    except Exception as err:  # pyarrow raises its own hierarchy for corrupt parquet
        raise DataError(f"cannot read the file: {type(err).__name__}: {str(err).splitlines()[0]}",
                        path=str(path)) from err
    for c in [str(c) for c in df.columns if str(c) in text or canonical_name(str(c)) in text]:
        df[c] = df[c].map(lambda v: v if v is None or isinstance(v, str) or pd.isna(v) else str(v))
    return df, lines


#: The ``format`` field of a saved pipeline (:mod:`mixlaw.pipeline.io` writes it); a saved law has none.
PIPELINE_FORMAT = "mixlaw-pipeline"


def saved_file_kind(doc: Any) -> str | None:
    """``"pipeline"`` for a parsed saved pipeline (its ``format`` field), ``"law"`` for a saved law (its ``law``,
    ``params`` and ``domains`` fields), ``"optimum"`` for what ``mixlaw optimize --out`` (its ``weights`` and
    ``objective``) or ``--json`` (the same under ``optimum``) writes, else None: how a command says which of mixlaw's
    own files it was given in another one's place (a run table, a mixture, a law, a pipeline)."""
    if not isinstance(doc, dict):
        return None
    if doc.get("format") == PIPELINE_FORMAT:
        return "pipeline"
    if {"law", "params", "domains"} <= doc.keys():
        return "law"
    opt = doc.get("optimum", doc)
    return "optimum" if isinstance(opt, dict) and isinstance(opt.get("weights"), dict) and "objective" in opt else None


def _other_mixlaw_file(path: Path) -> str:
    """The end of the error for a file of mixlaw's own that is not a run table (a run store, a saved law), or ''.

    Given as --runs, a saved law said "cannot parse the file: All arrays must be of the same length" and a run
    store "unknown table format '.db'", leaving the user to find the command that reads each."""
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return ""
    if head.startswith(b"SQLite format 3\x00"):
        return (f" (it is an SQLite file, as a run store is: export its run table first, mixlaw runs export {path} "
                "runs.parquet)")
    if head.lstrip().startswith(b"{"):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            return ""
        kind = saved_file_kind(doc)
        if kind == "law":
            return " (it is a saved law, from mixlaw fit --out: give it to mixlaw predict --law)"
        if kind == "pipeline":
            return (" (it is a saved pipeline, from mixlaw pipeline --save: give it to mixlaw predict --pipeline, or "
                    "mixlaw optimize --pipeline for its optimum)")
        if kind == "optimum":
            return (" (it is an optimum, from mixlaw optimize: a mixture; give it to mixlaw predict --mixtures or "
                    "mixlaw export)")
    return ""


def _check_unique_columns(names: list[str], path: Path) -> None:
    """Stop at a column name the file gives twice, naming it and where it stands (1-based)."""
    if names and not any(c.strip() for c in names):
        # A sheet whose first row is empty (a title row deleted, the table starting lower) read "column '': the
        # name is given to two columns (1 and 2)".
        raise DataError("the first row, read as the header, is empty: put the column names (run, w:<domain>, ..., "
                        "loss:<eval>, ...) in row 1", path=str(path), row=1)
    seen: dict[str, int] = {}
    for i, c in enumerate(names, 1):
        if c in seen and not c.strip():
            # Two columns with no name (a spreadsheet's empty columns between others) read as a name given twice.
            raise DataError(f"columns {seen[c]} and {i} have no name in the header: name them, or delete them if "
                            "they are empty", path=str(path), row=1)
        if c in seen:
            raise DataError(f"the name is given to two columns ({seen[c]} and {i}); rename or drop one",
                            path=str(path), column=c)
        seen[c] = i


def canonical_name(name: str) -> str:
    """A column's name as a run table spells it when it differs only in case or spaces: ``' Run '`` is ``run``,
    ``'W:Code'`` is ``w:Code`` and ``'loss: pile '`` is ``loss:pile`` (the domain or eval keeps its case); any
    other name as written, less its surrounding spaces.

    Spreadsheets capitalise and pad headers: 'W:CC', 'Loss:CC' and ' Run ' stopped at "missing 'run', at least two
    'w:<domain>' weight columns" with a W&B map for a hint, and 'loss:cc ' (a trailing space) made the eval 'cc '
    that --target cc did not find.
    """
    s = str(name).strip()
    low = s.lower()
    for prefix in (WEIGHT_PREFIX, LOSS_PREFIX):
        if low.startswith(prefix) and s[len(prefix):].strip():
            return prefix + s[len(prefix):].strip()
    return low if low in META_COLUMNS else s


def _normalise_columns(df: pd.DataFrame, path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Accept W&B CSV exports (``Name`` for the run), RegMix column names and names that differ from a run table's
    in case or spaces alone (:func:`canonical_name`) inside one table."""
    cols = [str(c) for c in df.columns]
    canon = [canonical_name(c) for c in cols]
    seen: dict[str, str] = {}
    for c, k in zip(cols, canon, strict=True):
        if k in seen:
            raise DataError(f"columns {seen[k]!r} and {c!r} are one name, {k!r} (they differ in case or spaces "
                            "alone): drop or rename one", path=None if path is None else str(path), column=c)
        seen[k] = c
    rename: dict[str, str] = {}
    if "run" not in canon:
        for alt in RUN_ID_COLUMNS[1:]:
            if alt in canon:
                rename[alt] = "run"
                break
    for c in canon:
        if c.startswith(_REGMIX_W):
            rename[c] = WEIGHT_PREFIX + c[len(_REGMIX_W):]
        elif c.startswith(_REGMIX_LOSS[0]) and c.endswith(_REGMIX_LOSS[1]):
            rename[c] = LOSS_PREFIX + c[len(_REGMIX_LOSS[0]):-len(_REGMIX_LOSS[1])]
    new = [rename.get(k, k) for k in canon]
    if new == cols:
        return df
    out = df.set_axis(new, axis=1)
    # the file's own names, for error hints
    out.attrs["renamed"] = {n: c for c, n in zip(cols, new, strict=True) if n != c}
    return out


def read_runs(path: str | os.PathLike[str], *, losses: str | os.PathLike[str] | None = None,
              weight_tol: float = WEIGHT_TOL) -> RunTable:
    """Read and validate a run table.

    Parameters
    ----------
    path : path-like
        A run table (CSV, Excel .xlsx, Parquet, JSON or JSONL; DESIGN.md §2), or RegMix's mixture CSV when ``losses`` is
        given. A path of the form ``mix.csv+loss.csv`` is read as a RegMix pair as well.
    losses : path-like, optional
        RegMix's loss CSV, joined to ``path`` on the column ``index``.
    weight_tol : float, default=0.01
        Tolerance on the row sums of the weights.

    Returns
    -------
    RunTable

    Raises
    ------
    DataError
        Naming the file, line and column of the first problem.
    """
    if not isinstance(path, (str, os.PathLike)):
        # A DataFrame (or None) reached open() and stopped on "expected str, bytes or os.PathLike object".
        hint = ("; a DataFrame in the run table's columns is one already: RunTable(df, weight_tol=...), or "
                "mixlaw.importers.read_runs_mapped(df, columns) in other column names"
                if isinstance(path, pd.DataFrame) else "")
        raise InputError(f"read_runs reads a file: give its path, got {type(path).__name__}{hint}")
    spath = str(path)
    if losses is None and "+" in spath and not Path(spath).exists():
        spath, lpath = spath.split("+", 1)
        return read_regmix_pair(spath, lpath, weight_tol=weight_tol)  # (it refuses Olmix's pair, naming the reader)
    if losses is not None:
        return read_regmix_pair(path, losses, weight_tol=weight_tol)
    p = Path(path)
    df, lines = _read_any(p)
    df = _normalise_columns(df, p)
    return RunTable(df, path=str(p), weight_tol=weight_tol, lines=lines)


def _regmix_fork_names(df: pd.DataFrame, half: str) -> pd.DataFrame:
    """A RegMix pair's other corpora: ``train_<d>`` mixture columns and ``metric/<e>_val_loss`` loss columns.

    RegMix's scripts write ``train_<dataset>`` and ``metric/<valset>_val_loss`` for whatever datasets a config
    names; the Pile's ``the_pile_`` prefix is only the bundled sweep's. A fork on other data (schneiderkamplab/regmix,
    Danish corpora: ``train_dfm_memo``, ``metric/dfm_sent_val_loss``) stopped at "no mixture columns (expected
    'train_the_pile_<domain>' or 'w:<domain>')". Read only inside the pair, whose files hold nothing else (a run
    table's own ``train_loss`` column is not a domain), and only when the half has no ``w:`` / ``loss:`` column.
    ``metric/train_loss`` is the training loss, not a validation set, and stays as it is.
    """
    prefix = WEIGHT_PREFIX if half == "mixture" else LOSS_PREFIX
    cols = [str(c) for c in df.columns]
    if any(c.startswith(prefix) for c in cols):
        return df
    if half == "mixture":
        rename = {c: WEIGHT_PREFIX + c[len("train_"):] for c in cols if c.startswith("train_") and c != "train_"}
    else:
        rename = {c: LOSS_PREFIX + c[len("metric/"):-len("_val_loss")] for c in cols
                  if c.startswith("metric/") and c.endswith("_val_loss") and len(c) > len("metric/_val_loss")}
    if not rename:
        rename = _regmix_plain_names(df, half)
    return df.rename(columns=rename) if rename else df


def _regmix_plain_names(df: pd.DataFrame, half: str) -> dict[str, str]:
    """A RegMix pair whose columns are the domains' and evals' plain names, each half's every column but ``index``.

    RegMix's own first release (github.com/sail-sg/regmix at 7d422e9 / 1678465: ``data/data_mixture_1m.csv`` +
    ``data/validation_loss_1m.csv``, its 1000 runs at 1M, of which the bundled ``train_*_1m`` are the first 512)
    names them ``ArXiv, FreeLaw, ..., Pile-CC``: the pair stopped at "no mixture columns (expected 'train_<domain>'
    ...)", and ``--columns`` does not apply to a pair. Read only when no column of the half has a prefix (``w:``,
    ``train_``; ``loss:``, ``metric/..._val_loss``) and every other column holds numbers: a meta column (``params``,
    ``step``, ``tokens``, or another export's name for one: ``_step``, ``global_step``, ``model_size``, ``n_tokens``,
    :data:`SCALE_ALIASES`), a second run id (``id``, ``name``, ``run_id``) and a training loss (``train_loss``,
    ``metric/train_loss``) are not domains or evals.
    """
    skip = set(META_COLUMNS) | {"train_loss", "metric/train_loss"}
    # W&B's '_step' beside the evals was read as an eval 'loss:_step' (only a perplexity warning said so): the names
    # the run table knows for the scale columns are meta here too, as 'step' is.
    skip |= {a for aliases in SCALE_ALIASES.values() for a in aliases}
    # A second id column ('id', 'name', 'run_id' of the run beside its index) holds numbers too: 'id' 1..n read as an
    # eval of plausible losses, without a word.
    skip |= {_fold(c) for c in RUN_ID_COLUMNS} | {"id"}
    names = [c for c in map(str, df.columns)
             if c not in skip and _fold(c.strip()) not in skip and not c.startswith("Unnamed")]
    # The other half's columns ('loss:arxiv' from metric/arxiv_val_loss in a mixture half, 'w:' in a losses half):
    # the halves are swapped, not plain-named (read_regmix_pair says so); read as shares they said "column
    # 'w:loss:arxiv': weights sum to 76.76 ... divide each row by its sum".
    other = (LOSS_PREFIX, "metric/") if half == "mixture" else (WEIGHT_PREFIX, "train_")
    if not names or any(c.startswith(other) for c in names):
        return {}
    coerced = df[names].apply(pd.to_numeric, errors="coerce").isna().to_numpy()
    if coerced.all(axis=0).any() or (coerced & ~df[names].isna().to_numpy()).any():
        return {}  # a column of text, or an empty one: not the plain layout (the 'no mixture columns' error stays)
    prefix = WEIGHT_PREFIX if half == "mixture" else LOSS_PREFIX
    return {c: prefix + c for c in names}


def _rows_sum_to_one(frame: pd.DataFrame, tol: float) -> bool:
    """Whether every row of ``frame`` (numbers; a cell that is not one makes it False) sums to 1 within ``tol``."""
    values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    return bool(len(values)) and bool(np.all(np.abs(values.sum(axis=1) - 1.0) <= tol))


def read_regmix_pair(mixture: str | os.PathLike[str], losses: str | os.PathLike[str], *,
                     weight_tol: float = WEIGHT_TOL) -> RunTable:
    """Read RegMix's paired format: a mixture CSV and a loss CSV joined on ``index``.

    Columns ``train_the_pile_<d>`` become ``w:<d>`` and ``metric/the_pile_<e>_val_loss`` become
    ``loss:<e>`` (another corpus's ``train_<d>`` and ``metric/<e>_val_loss`` likewise, :func:`_regmix_fork_names`);
    the run id is the RegMix ``index``. Errors in weights name the mixture file, errors in
    losses the loss file.
    """
    mp, lp = Path(mixture), Path(losses)
    mdf, mlines = _read_any(mp)
    ldf, llines = _read_any(lp)
    if {"run", "run_id"} & {str(c).strip().lower() for c in mdf.columns}:
        # Olmix's ratios.csv carries 'run' (and 'index'): read as RegMix's it stopped at "columns 'run' and 'run' are
        # one name" (its index renamed to run), or at the missing 'index' of a ratios.csv without one. The one check
        # for both ways here (read_runs('a+b') of the data layer, read_regmix_pair(a, b)).
        beside = " beside 'index'" if "index" in mdf.columns else ""
        raise DataError(f"has a run id column ('run' / 'run_id'){beside}: it is Olmix's pair (ratios.csv+metrics.csv, "
                        f"joined on run), not RegMix's: mixlaw.read_runs('{mp}+{lp}') (--runs {mp}+{lp}) reads either",
                        path=str(mp))
    for p, df, at in ((mp, mdf, mlines), (lp, ldf, llines)):
        if "index" not in df.columns:
            raise DataError(f"missing column 'index' needed to join {mp.name} and {lp.name}", path=str(p))
        dup = df["index"].duplicated()
        if dup.any():
            i = int(np.flatnonzero(dup.to_numpy())[0])  # its line, not i + 2: a blank row above is left out
            raise DataError(f"duplicate run index {df['index'].iloc[i]!r}", path=str(p), row=int(at[i]),
                            column="index")
    mdf = _regmix_fork_names(_normalise_columns(mdf.rename(columns={"index": "run"}), mp), "mixture")
    ldf = _regmix_fork_names(_normalise_columns(ldf.rename(columns={"index": "run"}), lp), "loss")
    mdf["run"], ldf["run"] = mdf["run"].astype(str), ldf["run"].astype(str)
    wcols = [c for c in mdf.columns if c.startswith(WEIGHT_PREFIX)]
    lcols = [c for c in ldf.columns if c.startswith(LOSS_PREFIX)]
    swapped = (f": the pair is the mixture file first, the losses second: read_runs('{lp}+{mp}') (--runs {lp}+{mp})")
    losses_in_mix = any(c.startswith(LOSS_PREFIX) or (c.startswith("metric/") and c.endswith("_val_loss"))
                        for c in map(str, mdf.columns))
    weights_in_losses = any(c.startswith(WEIGHT_PREFIX) or (c.startswith("train_") and c != "train_loss")
                            for c in map(str, ldf.columns))
    if len(wcols) < 2 and not lcols and losses_in_mix and weights_in_losses:
        raise DataError(f"holds loss columns and {lp.name} mixture columns{swapped}", path=str(mp))
    if len(wcols) >= 2 and len(lcols) >= 2 and _rows_sum_to_one(ldf[lcols], weight_tol) \
            and not _rows_sum_to_one(mdf[wcols], weight_tol):
        # Both halves plain-named, given in the wrong order: the shares were refused as weights that "sum to 6.9
        # ... divide each row by its sum", the advice for token counts.
        raise DataError(f"its rows do not sum to 1, while every row of {lp.name} does{swapped}", path=str(mp))
    if len(wcols) < 2:
        raise DataError(f"no mixture columns (expected 'train_<domain>', as '{_REGMIX_W}<domain>', 'w:<domain>', or "
                        "the domains' plain names with every column but 'index' holding numbers)",
                        path=str(mp))
    if not lcols:
        raise DataError(f"no loss columns (expected 'metric/<eval>_val_loss', as '{_REGMIX_LOSS[0]}<eval>"
                        f"{_REGMIX_LOSS[1]}', 'loss:<eval>', or the evals' plain names with every column but "
                        "'index' holding numbers)",
                        path=str(lp))
    # Validate each half against its own file so that errors name the right file and line.
    RunTable(mdf[["run"] + wcols].assign(**{"loss:_": 1.0}), path=str(mp), weight_tol=weight_tol, lines=mlines)
    RunTable(ldf[["run"] + lcols].assign(**{"w:_a": 0.5, "w:_b": 0.5}), path=str(lp), lines=llines)
    missing = sorted(set(mdf["run"]) - set(ldf["run"]), key=str)
    extra = sorted(set(ldf["run"]) - set(mdf["run"]), key=str)
    if extra:
        raise DataError(f"run index {extra[0]!r} has losses but no mixture in {mp.name}", path=str(lp),
                        row=int(llines[int(np.flatnonzero((ldf['run'] == extra[0]).to_numpy())[0])]), column="index")
    if missing:
        warnings.warn(f"{lp}: {len(missing)} mixture(s) of {mp.name} have no losses and are left out "
                      f"(first: index {missing[0]})", DataWarning, stacklevel=user_stacklevel(2))
    merged = mdf[["run"] + wcols].merge(ldf[["run"] + lcols], on="run", how="inner", sort=False)
    # Each row's line in loss.csv, where a warning that names the rows missing a loss finds the empty cells (both
    # halves were validated against their own lines above).
    line_of = dict(zip(ldf["run"], llines, strict=False))
    with warnings.catch_warnings():
        # The mixture half was validated above and already warned about renormalised rows, naming its file.
        warnings.simplefilter("ignore", DataWarning)
        return RunTable(merged, path=f"{mp}+{lp}", weight_tol=weight_tol,
                        lines=[line_of[r] for r in merged["run"]])
