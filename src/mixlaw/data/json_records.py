"""JSON records as a run table's rows, and a table as JSON Lines: a ``.json`` array or a JSONL file read record by
record (each keeping its line for errors, its strings as strings) and its nested fields flattened into the columns
that ``--columns`` patterns match; :func:`jsonl_text` writes a table back so that it reads the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError


def _is_history(v: Any) -> bool:
    """A list of JSON objects: one record's per-step log (``"evaluations": [{"step": 25, "eval_loss": 2.9}, ...]``)."""
    return isinstance(v, list) and len(v) > 0 and all(isinstance(e, dict) for e in v)


def _is_vector(v: Any) -> bool:
    """A list of numbers or strings (``"input_X": [0.07, 0.15, ...]``): one value per position."""
    return isinstance(v, list) and not any(isinstance(e, (dict, list)) for e in v)


def _flatten_json(df: pd.DataFrame, lines: np.ndarray, path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Nested JSON records (a ``.json`` array or JSONL) as flat columns that ``--columns`` patterns match.

    - an object becomes one column per key, named with '/' as the W&B importer names config keys
      (``{"mixture": {"web": 0.5}}`` is ``mixture/web``): read as it was, 'mixture' was one column of dicts;
    - a list of objects (a per-step history: ``"evaluations": [{"step": 25, "eval_loss": 2.9}, ...]``) becomes one
      row per element, the record's other fields repeated and the element's keys ``evaluations/step``, ... (each
      row keeps the record's line for errors); one such field per file, since two cannot be paired row by row;
    - a list of numbers or strings (``"input_X": [0.07, 0.15, ...]``, a mixture written as an array) becomes one
      column per position, ``input_X/0``, ``input_X/1``, ...

    Chen et al.'s BO sweep (github.com/chenzhiliang94/Data-Mixing, results_eval_random_in_dist/*.json) writes each
    run so, and ``--columns 'w:a=input_X/0,...,step=evaluations/step,loss:x=evaluations/eval_loss'`` found "no column
    matches 'input_X/*'; columns: input_X, evaluations". A ``.json`` array of nested objects was not flattened at all
    (JSONL alone was), though both are "JSON records".
    """
    def objects(frame: pd.DataFrame, test: Any) -> list[str]:
        return [str(c) for c in frame.columns if frame[c].dtype == object and frame[c].map(test).any()]

    def normalise(frame: pd.DataFrame) -> pd.DataFrame:
        if not objects(frame, lambda v: isinstance(v, dict)):
            return frame
        return pd.json_normalize(frame.to_dict("records"), sep="/")

    df = normalise(df)
    histories = objects(df, _is_history)
    if len(histories) > 1:
        raise DataError(f"the fields {histories[0]!r} and {histories[1]!r} both hold lists of records (per-step "
                        "logs): one row per element is read from one such field; drop the other, or give each as a "
                        "table of its own", path=str(path))
    if histories:
        h = histories[0]
        df = df.assign(_mixlaw_line=lines).explode(h, ignore_index=True)
        lines = df.pop("_mixlaw_line").to_numpy(dtype=int)
        # An element that is not an object (a number among the records, an empty list's NaN) stays a cell of 'h'.
        df = normalise(df)
        if h in df.columns and df[h].isna().all():
            df = df.drop(columns=h)
    for c in objects(df, _is_vector):
        if not df[c].map(lambda v: _is_vector(v) or v is None or (isinstance(v, float) and np.isnan(v))).all():
            continue  # a field that is a list in some records and an object or list of lists in others: as read
        width = int(df[c].map(lambda v: len(v) if isinstance(v, list) else 0).max())
        spread = pd.DataFrame([list(v) + [np.nan] * (width - len(v)) if isinstance(v, list) else [np.nan] * width
                               for v in df[c]], columns=[f"{c}/{i}" for i in range(width)], index=df.index)
        taken = [n for n in spread.columns if n in df.columns]
        if taken:
            raise DataError(f"the field {c!r} is a list, whose positions would be the columns {taken[0]!r}, ..., "
                            "but the records have a field of that name too", path=str(path), column=c)
        at = list(df.columns).index(c)
        df = pd.concat([df.iloc[:, :at], spread, df.iloc[:, at + 1:]], axis=1)
    return df, lines


class _Twice(dict):  # type: ignore[type-arg]
    """A JSON object that gave a key twice (``key``: the first such), as :func:`_keys_once` parses it."""

    key: str


def _keys_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` that marks an object giving a key twice: json.loads and pandas keep the last value, so
    '{"w:web": 0.5, "w:web": 0.3, ...}' lost a share without a word (and a row that still summed to 1 read wrong).
    It marks where :func:`_no_duplicate_keys` raises, so that the record of a .json array holding it is found."""
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    twice, seen = _Twice(out), set()
    for k, _ in pairs:
        if k in seen:
            twice.key = k
            return twice
        seen.add(k)
    return twice


def _first_twice(obj: Any) -> str | None:
    """The first key given twice in ``obj`` (parsed with :func:`_keys_once`) or an object inside it, else None."""
    if isinstance(obj, _Twice):
        return obj.key
    inner = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, list) else ()
    return next((k for v in inner if (k := _first_twice(v)) is not None), None)


TWICE = "the key is given twice in one record (JSON keeps the last only): give each column once"


def check_json_keys(text: str, path: Path) -> str | None:
    """Refuse a .json file's ``text`` whose records give a key twice, naming the record (1-based) in an array; return
    the pandas layout the document is written in where it is not records or columns: ``"split"`` (``columns`` and
    ``data`` rows) or ``"table"`` (``schema`` and ``data`` records), as ``df.to_json(orient=...)`` writes them. Read
    as pandas' default layout they said "cannot parse the file: All arrays must be of the same length"."""
    twice: list[_Twice] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = _keys_once(pairs)
        if isinstance(out, _Twice):
            twice.append(out)
        return out

    try:
        doc = json.loads(text, object_pairs_hook=hook)
    except (ValueError, RecursionError):
        return None  # pandas' reader says what is wrong with it
    records = doc.get("data") if isinstance(doc, dict) and isinstance(doc.get("data"), list) else doc
    # The records are walked only when one gave a key twice: walking each read a 10,000-row file 1.6x slower.
    for i, rec in enumerate(records if twice and isinstance(records, list) else [records] if twice else []):
        if (key := _first_twice(rec)) is not None:
            raise DataError(TWICE, path=str(path), row=i + 1 if isinstance(records, list) else None, column=key)
    if records is doc:
        return None
    if isinstance(doc.get("columns"), list) and set(doc) <= {"columns", "index", "data"}:
        return "split"
    return "table" if isinstance(doc.get("schema"), dict) and set(doc) == {"schema", "data"} else None


def _read_jsonl(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Read one JSON object per line with json.loads, keeping each record's line and its strings as strings.

    pandas' reader named no line when one was broken ("Key name of object must be 'string' when decoding 'object'
    at position 1266"), counted rows past a blank line one line short, and turned string ids into numbers.
    """
    records, lines = [], []
    # utf-8-sig: a byte-order mark before the first record (PowerShell's, Notepad's UTF-8) was "not a JSON record:
    # Unexpected UTF-8 BOM".
    with open(path, encoding="utf-8-sig") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line, object_pairs_hook=_no_duplicate_keys)
            except _DuplicateKey as err:
                raise DataError(TWICE, path=str(path), row=n, column=str(err)) from None
            except json.JSONDecodeError as err:
                raise DataError(f"not a JSON record: {err.msg} at character {err.pos + 1} of the line", path=str(path),
                                row=n) from None
            if not isinstance(rec, dict):
                raise DataError(f"not a JSON object but {type(rec).__name__} (one object per line: "
                                '{"run": ..., "w:web": ..., "loss:pile": ...})', path=str(path), row=n)
            records.append(rec)
            lines.append(n)
    if not records:
        raise DataError("the file has no records, only blank lines", path=str(path))
    return pd.DataFrame.from_records(records), np.asarray(lines, dtype=int)


def jsonl_text(frame: pd.DataFrame) -> str:
    """A table as JSON Lines, one record a row, as :func:`_read_jsonl` reads it back: every float by repr (pandas'
    ``to_json`` keeps 10 digits, so an exported mixture read back as a sweep design got other run ids), an empty
    or non-finite cell as null, names as written (UTF-8)."""
    return "".join(json.dumps(rec, ensure_ascii=False) + "\n" for rec in json_records(frame))


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table's rows as JSON objects: numpy scalars as Python's, an empty or non-finite cell as null (a run table's
    missing loss is no value; strict JSON's default null reason, "not a number: undefined ... R^2", would add a
    ``loss:<eval>_reason`` column to the table read back)."""
    def cell(v: Any) -> Any:
        v = v.item() if isinstance(v, np.generic) else v
        return None if isinstance(v, float) and not np.isfinite(v) else v

    return [{str(k): cell(v) for k, v in rec.items()} for rec in frame.to_dict(orient="records")]


def _is_object_text(v: Any) -> bool:
    return isinstance(v, str) and v.lstrip().startswith("{")


def json_text_columns(df: pd.DataFrame) -> list[str]:
    """The columns whose every filled cell (at least one) reads as a JSON object's text (first character '{')."""
    out = []
    for c in df.columns:
        s = df[c]
        if s.dtype == object or pd.api.types.is_string_dtype(s):  # text reads as 'str' in pandas 3
            filled = s[s.notna()]
            if not filled.empty and filled.map(_is_object_text).all():
                out.append(str(c))
    return out


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) < len(keys):
        twice = next(k for i, k in enumerate(keys) if k in keys[:i])
        raise _DuplicateKey(twice)
    return dict(pairs)


class _DuplicateKey(ValueError):
    pass


def flatten_json_text(df: pd.DataFrame, lines: np.ndarray, path: Path,
                      asked: Iterable[str] = ()) -> tuple[pd.DataFrame, np.ndarray]:
    """A table's columns whose every filled cell is a JSON object's text, flattened as :func:`_flatten_json`
    flattens a JSON record's objects (``weights_json`` = ``'{"web": 0.5, ...}'`` is ``weights_json/web``, ...),
    where a source of the column map (``asked``) names a key of it (``weights_json/*``).

    Marin's ``historical_measurements.csv`` (marin-community/marin, experiments/domain_phase_mix/exploratory/
    two_phase_many/reference_outputs/regmix_official_rerun_20260913) writes each run's mixture so, and
    ``--columns 'w:*=weights_json/*'`` found "no column matches 'weights_json/*'": the object was one text column.
    A column with a cell that is not such text (or not valid JSON) is left as read. Only the columns the map asks
    for: flattened unasked, a config column's list of records multiplied the rows, and an import without --columns
    listed names the file does not have as its columns (review32b). A key given twice in one cell is an error
    (json.loads keeps the last, silently: which share was meant?).
    """
    prefixes = {str(a).split("/", 1)[0] for a in asked if "/" in str(a)}
    parsed: dict[str, pd.Series] = {}
    for c in json_text_columns(df):
        if c not in prefixes:
            continue
        s = df[c]
        filled = s[s.notna()]
        try:
            objs = filled.map(lambda v: json.loads(v, object_pairs_hook=_no_duplicate_keys))
        except _DuplicateKey as err:
            bad = next(i for i, v in filled.items() if _has_duplicate(v))
            raise DataError(f"the JSON object's key {str(err)!r} is given twice: which value is meant? give it once",
                            path=str(path), row=int(lines[df.index.get_loc(bad)]), column=str(c)) from None
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser goes
            # The map names this column's keys: left as read, the import said "no column matches 'weights_json/*'",
            # naming neither the line nor what is wrong with it (review32d).
            bad, why = next((i, w) for i, v in filled.items() if (w := _parse_error(v)))
            raise DataError(f"the map names this column's keys ({c}/...), but this cell is not a JSON object's text: "
                            f"{why}: {_quoted(filled[bad])}", path=str(path),
                            row=int(lines[df.index.get_loc(bad)]), column=str(c)) from None
        if objs.map(lambda v: isinstance(v, dict)).all():
            # A key named as a column the file has too: json_normalize kept the key's values, silently.
            taken = sorted({f"{c}/{k}" for o in objs for k in o} & set(map(str, df.columns)))
            if taken:
                raise DataError(f"the column's JSON objects have the key {taken[0][len(c) + 1:]!r}, whose column "
                                f"{taken[0]!r} the file has too: which is meant? rename one", path=str(path), column=c)
            parsed[str(c)] = s.where(s.isna(), objs)
    if not parsed:
        return df, lines
    df = df.copy()
    for c, s in parsed.items():
        df[c] = s.astype(object)
    return _flatten_json(df, lines, path)


def _parse_error(text: str) -> str:
    """Why ``text`` is no JSON object's text ('' where it is one, or one with a key given twice)."""
    try:
        json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except _DuplicateKey:
        return ""
    except RecursionError:
        return "nested deeper than the JSON reader goes"
    except json.JSONDecodeError as err:
        # not json's 'line 1 column 25': the cell's, read as the file's line beside the file's own line number
        return f"{err.msg} at character {err.pos + 1} of the cell"
    except ValueError as err:
        return str(err)
    return ""


def _quoted(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _has_duplicate(text: str) -> bool:
    try:
        json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except _DuplicateKey:
        return True
    except (ValueError, RecursionError):
        return False
    return False
