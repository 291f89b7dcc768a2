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


def test_a_column_with_a_cell_that_is_no_json_object_is_left_as_read(tmp_path: Path) -> None:
    p = _write(tmp_path, [json.dumps(MIXES[0]), "{not json", json.dumps(MIXES[2])])
    with pytest.raises(DataError, match="no column matches 'weights_json/\\*'"):
        read_runs_mapped(p, "run=candidate_id,w:*=weights_json/*,loss:bpb=measured_bpb")
