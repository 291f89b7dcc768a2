"""A CSV column whose cells are JSON objects' text (Marin's historical_measurements.csv: each run's mixture in
``weights_json``) is flattened as a JSON record's objects are, so ``--columns 'w:*=weights_json/*'`` maps it; it said
"no column matches 'weights_json/*'"."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mixlaw.errors import DataError
from mixlaw.importers import read_runs_mapped

MIXES = [{"dolma3_arxiv": 0.25, "dolma3_cc/art_high": 0.75}, {"dolma3_arxiv": 0.5, "dolma3_cc/art_high": 0.5},
         {"dolma3_arxiv": 0.875, "dolma3_cc/art_high": 0.125}]


def _write(tmp_path: Path, cells: list[str]) -> Path:
    p = tmp_path / "historical_measurements.csv"
    pd.DataFrame({"candidate_id": ["a", "b", "c"], "measured_bpb": [0.98, 0.99, 1.0],
                  "weights_json": cells}).to_csv(p, index=False)
    return p


def test_a_column_of_json_object_text_is_flattened_for_the_column_map(tmp_path: Path) -> None:
    p = _write(tmp_path, [json.dumps(m) for m in MIXES])
    t = read_runs_mapped(p, "run=candidate_id,w:*=weights_json/*,loss:bpb=measured_bpb")
    assert t.domains == ["dolma3_arxiv", "dolma3_cc/art_high"]  # a '/' inside a key stays in the domain's name
    assert t.weights.tolist() == [[m["dolma3_arxiv"], m["dolma3_cc/art_high"]] for m in MIXES]
    assert t.losses(["bpb"])[:, 0].tolist() == [0.98, 0.99, 1.0]


def test_a_named_column_with_a_cell_that_is_no_json_object_is_an_error_naming_its_line(tmp_path: Path) -> None:
    # Left as read, it said "no column matches 'weights_json/*'", naming neither the line nor the fault (review32d).
    p = _write(tmp_path, [json.dumps(MIXES[0]), "{not json", json.dumps(MIXES[2])])
    with pytest.raises(DataError, match=r"csv:3: column 'weights_json': the map names this column's keys "
                                        r"\(weights_json/...\), but this cell is not a JSON object's text: Expecting "
                                        r"property name enclosed in double quotes at character 2 of the cell: "
                                        r"'\{not json'"):
        read_runs_mapped(p, "run=candidate_id,w:*=weights_json/*,loss:bpb=measured_bpb")


def _write_with(tmp_path: Path, cells: list[str], **extra: list[object]) -> Path:
    p = _write(tmp_path, cells)
    df = pd.read_csv(p)
    for k, v in extra.items():
        df[k] = v
    df.to_csv(p, index=False)
    return p


MAP = "run=candidate_id,w:*=weights_json/*,loss:bpb=measured_bpb"


def test_without_columns_the_error_lists_the_file_as_written_and_names_the_json_column(tmp_path: Path) -> None:
    # It listed 'weights_json/dolma3_arxiv, ...' as "the file's columns" and guessed a map 'w:*=weights_*' (review32b).
    p = _write(tmp_path, [json.dumps(m) for m in MIXES])
    with pytest.raises(DataError) as e:
        read_runs_mapped(p, None)
    msg = str(e.value)
    assert "(the file's columns: candidate_id, measured_bpb, weights_json)" in msg
    assert "weights_json/<key> (w:*=weights_json/* for a mixture)" in msg


def test_a_json_column_the_map_does_not_name_is_left_as_read(tmp_path: Path) -> None:
    # A config column of two per-step logs stopped the import: "the fields ... both hold lists of records".
    cfg = json.dumps({"train": [{"step": 1}], "eval": [{"step": 2}]})
    p = _write_with(tmp_path, [json.dumps(m) for m in MIXES], config_json=[cfg] * 3)
    t = read_runs_mapped(p, MAP)
    assert len(t.weights) == 3 and t.domains == ["dolma3_arxiv", "dolma3_cc/art_high"]


def test_a_key_given_twice_in_a_cell_is_an_error_naming_its_line(tmp_path: Path) -> None:
    cells = [json.dumps(MIXES[0]), '{"dolma3_arxiv": 0.5, "dolma3_arxiv": 0.25, "dolma3_cc/art_high": 0.5}',
             json.dumps(MIXES[2])]
    with pytest.raises(DataError, match=r"csv:3: column 'weights_json': the JSON object's key 'dolma3_arxiv' is "
                                        r"given twice"):
        read_runs_mapped(_write(tmp_path, cells), MAP)


def test_a_key_named_as_a_column_the_file_has_is_an_error(tmp_path: Path) -> None:
    # The file's own 'weights_json/dolma3_arxiv' was silently replaced by the JSON's values.
    p = _write_with(tmp_path, [json.dumps(m) for m in MIXES], **{"weights_json/dolma3_arxiv": [0.1, 0.2, 0.3]})
    with pytest.raises(DataError, match="key 'dolma3_arxiv', whose column 'weights_json/dolma3_arxiv' the file has"):
        read_runs_mapped(p, MAP)


def test_a_cell_nested_deeper_than_the_parser_goes_is_an_error_naming_its_line(tmp_path: Path) -> None:
    deep = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(DataError, match=r"csv:2: column 'weights_json': .* nested deeper than the JSON reader goes: "
                                        r"'\{\"a\": \[\[\[.*\.\.\.'"):
        read_runs_mapped(_write(tmp_path, [deep, json.dumps(MIXES[1]), json.dumps(MIXES[2])]), MAP)


def test_a_cell_no_json_object_in_a_column_the_map_does_not_name_is_left_as_read(tmp_path: Path) -> None:
    p = _write_with(tmp_path, [json.dumps(m) for m in MIXES], notes=["{draft", "{}", "{}"])
    assert read_runs_mapped(p, MAP).domains == ["dolma3_arxiv", "dolma3_cc/art_high"]


def test_two_json_columns_named_by_the_map_are_both_flattened(tmp_path: Path) -> None:
    p = _write_with(tmp_path, [json.dumps(m) for m in MIXES],
                    evals_json=[json.dumps({"bpb": v, "acc": 0.5}) for v in (1.5, 1.6, 1.7)])
    t = read_runs_mapped(p, "run=candidate_id,w:*=weights_json/*,loss:*=evals_json/*")
    assert t.evals == ["bpb", "acc"] and t.losses(["bpb"])[:, 0].tolist() == [1.5, 1.6, 1.7]
