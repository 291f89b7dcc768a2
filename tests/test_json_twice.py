"""JSON run tables as other tools write them: a key given twice in one record (json.loads and pandas keep the last,
so the first share was dropped without a word) and a UTF-8 byte-order mark before a JSON Lines file's first record
(PowerShell's and Notepad's UTF-8)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mixlaw import DataError, read_runs


def _records() -> list[dict]:
    rng = np.random.default_rng(1)
    W = rng.dirichlet(np.ones(3), size=8)
    return [{"run": f"m{i}", "w:web": float(w[0]), "w:code": float(w[1]), "w:books": float(w[2]),
             "loss:val": float(3 + w[0])} for i, w in enumerate(W)]


def _twice(record: dict) -> str:
    # the record with 'w:web' given a second time, its own value (the row still sums to 1 with either)
    return json.dumps(record).replace('"w:code"', f'"w:web": {record["w:web"]}, "w:code"', 1)


@pytest.mark.parametrize("suffix, where", [(".jsonl", ":3:"), (".json", ": record 5:")])
def test_a_key_given_twice_in_a_record_is_named_by_its_line_or_record(tmp_path, suffix, where) -> None:
    recs = _records()
    path = tmp_path / f"runs{suffix}"
    if suffix == ".jsonl":
        path.write_text("".join((_twice(r) if i == 2 else json.dumps(r)) + "\n" for i, r in enumerate(recs)))
    else:
        path.write_text("[" + ", ".join(_twice(r) if i == 4 else json.dumps(r) for i, r in enumerate(recs)) + "]")
    with pytest.raises(DataError) as err:
        read_runs(path)
    assert str(err.value) == (f"{path}{where} column 'w:web': the key is given twice in one record (JSON keeps the "
                              "last only): give each column once")


def test_a_jsonl_file_with_a_byte_order_mark_reads_as_without(tmp_path) -> None:
    recs = _records()
    text = "".join(json.dumps(r) + "\n" for r in recs)
    (tmp_path / "plain.jsonl").write_text(text, encoding="utf-8")
    (tmp_path / "bom.jsonl").write_text(text, encoding="utf-8-sig")
    pd.testing.assert_frame_equal(read_runs(tmp_path / "bom.jsonl").frame, read_runs(tmp_path / "plain.jsonl").frame)


def test_a_json_array_with_a_byte_order_mark_reads_as_without(tmp_path) -> None:
    # pandas' reader said "cannot parse the file: Expected object or value".
    text = json.dumps(_records())
    (tmp_path / "plain.json").write_text(text, encoding="utf-8")
    (tmp_path / "bom.json").write_text(text, encoding="utf-8-sig")
    pd.testing.assert_frame_equal(read_runs(tmp_path / "bom.json").frame, read_runs(tmp_path / "plain.json").frame)


@pytest.mark.parametrize("orient", ["split", "table"])
def test_pandas_split_and_table_json_read_as_its_records(tmp_path, orient) -> None:  # type: ignore[no-untyped-def]
    # df.to_json(path, orient='split' / 'table'), pandas' layouts that keep the columns' order and types, said
    # "cannot parse the file: All arrays must be of the same length" / "Mixing dicts with non-Series ...".
    frame = pd.DataFrame(_records())
    frame.to_json(tmp_path / "records.json", orient="records")
    frame.to_json(tmp_path / f"{orient}.json", orient=orient)
    want = read_runs(tmp_path / "records.json").frame
    pd.testing.assert_frame_equal(read_runs(tmp_path / f"{orient}.json").frame[want.columns], want)
    if orient == "table":  # its schema names the index ('split' keeps its values alone)
        frame.set_index("run").to_json(tmp_path / "indexed.json", orient=orient)
        pd.testing.assert_frame_equal(read_runs(tmp_path / "indexed.json").frame[want.columns], want)
