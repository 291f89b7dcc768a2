"""Exports: loadable formats, weights that sum to exactly 1 after rounding, clear errors."""

from __future__ import annotations

import ast
import json
import math
import shlex
from decimal import Decimal

import numpy as np
import pytest
import yaml

from mixlaw.errors import DataWarning, InputError
from mixlaw.export import export_mixture, parse_mixture, read_paths, round_weights

DOMS = ["web", "code", "books", "wiki", "math", "arxiv", "stack"]
PATHS = {d: f"s3://bucket/{d}" if i % 2 else f"/data/{d}_text_document" for i, d in enumerate(DOMS)}


def _random_mixture(seed: int) -> dict[str, float]:
    w = np.random.default_rng(seed).dirichlet(np.full(len(DOMS), 0.5))
    return dict(zip(DOMS, w.tolist(), strict=True))


def _exact_sum(values) -> Decimal:
    return sum((Decimal(repr(float(v))) if not isinstance(v, str) else Decimal(v) for v in values), Decimal(0))


@pytest.mark.parametrize("decimals", [1, 2, 3, 6])
@pytest.mark.parametrize("seed", range(5))
def test_round_weights_sum_exactly_one(seed, decimals):
    w = _random_mixture(seed)
    units = round_weights(w, decimals)
    assert sum(units.values()) == 10**decimals
    # each rounded weight is within one unit of the exact one (largest remainder never moves a weight further)
    for d in DOMS:
        assert abs(units[d] - w[d] * 10**decimals) < 1
    doc = json.loads(export_mixture(w, "json", decimals=decimals, drop_zero=False))
    assert _exact_sum(r["weight"] for r in doc) == 1
    assert math.fsum(r["weight"] for r in doc) == 1.0


def test_largest_remainder_thirds():
    assert round_weights({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, 2) == {"a": 34, "b": 33, "c": 33}
    assert round_weights({"a": 0.125, "b": 0.875}, 2) in ({"a": 13, "b": 87}, {"a": 12, "b": 88})


def test_megatron_pairs():
    w = _random_mixture(0)
    out = export_mixture(w, "megatron", PATHS, decimals=4)
    tokens = shlex.split(out)
    assert tokens[0] == "--data-path" and len(tokens[1:]) % 2 == 0
    weights, prefixes = tokens[1::2], tokens[2::2]
    assert _exact_sum(weights) == 1
    assert prefixes == [PATHS[d] for d in DOMS if round_weights(w, 4)[d] > 0]
    # a path with a space stays one argument
    assert shlex.split(export_mixture({"a": 0.5, "b": 0.5}, "megatron", {"a": "/x y/a", "b": "/b"}))[2] == "/x y/a"


def test_olmo_yaml_parses_and_matches_source_mixture_fields():
    w = _random_mixture(1)
    out = export_mixture(w, "olmo", {**PATHS, "web": ["/data/web/part-0*.npy", "/data/web2/*.npy"]},
                         max_repetition_ratio={"math": 4.0})
    doc = yaml.safe_load(out)
    sources = doc["sources"]
    assert {tuple(sorted(s)) for s in sources} == {("max_repetition_ratio", "max_source_fraction", "paths",
                                                    "source_name", "target_ratio")}
    assert _exact_sum(s["target_ratio"] for s in sources) == 1
    by = {s["source_name"]: s for s in sources}
    assert by["web"]["paths"] == ["/data/web/part-0*.npy", "/data/web2/*.npy"]
    assert by["math"]["max_repetition_ratio"] == 4.0 and by["code"]["max_repetition_ratio"] == 1.0
    with pytest.raises(InputError, match="must be >= 1"):
        export_mixture(w, "olmo", PATHS, max_repetition_ratio=0.5)


@pytest.mark.parametrize("fmt", ["hf", "mosaic"])
def test_python_snippets_compile_and_carry_the_weights(fmt):
    w = _random_mixture(2)
    opts = {"local_root": "/tmp/cache", "batch_size": 8} if fmt == "mosaic" else {"stopping_strategy": "all_exhausted"}
    src = export_mixture(w, fmt, {**PATHS, "code": "data/code.jsonl"}, decimals=5, **opts)
    tree = ast.parse(src)
    compile(src, f"<{fmt}>", "exec")
    if fmt == "hf":
        probs = next(n.value for n in ast.walk(tree) if isinstance(n, ast.Assign) and
                     getattr(n.targets[0], "id", "") == "probabilities")
        vals = [ast.literal_eval(e) for e in probs.elts]
        assert "interleave_datasets(datasets, probabilities=probabilities" in src
        assert "load_dataset('json', data_files='data/code.jsonl'" in src
    else:
        vals = [ast.literal_eval(k.value) for n in ast.walk(tree) if isinstance(n, ast.Call)
                and getattr(n.func, "id", "") == "Stream" for k in n.keywords if k.arg == "proportion"]
        assert "Stream(remote='s3://bucket/code'" not in src  # code got a local jsonl path
        assert "local='/tmp/cache/books'" not in src and "remote='s3://bucket/wiki', local='/tmp/cache/wiki'" in src
    assert len(vals) == sum(1 for u in round_weights(w, 5).values() if u > 0)
    assert _exact_sum(vals) == 1


def test_zero_weights_dropped_and_need_no_path():
    out = json.loads(export_mixture({"a": 0.6, "b": 0.4, "c": 0.0}, "json", {"a": "/a", "b": "/b"}))
    assert [r["domain"] for r in out] == ["a", "b"] and out[0]["path"] == "/a"
    with pytest.raises(InputError, match=r"no path for domain\(s\) \['c'\]"):
        export_mixture({"a": 0.6, "b": 0.4, "c": 0.0}, "megatron", {"a": "/a", "b": "/b"}, drop_zero=False)


def test_errors_name_what_is_wrong():
    with pytest.raises(InputError, match=r"no path for domain\(s\) \['b', 'c'\]"):
        export_mixture({"a": 0.5, "b": 0.3, "c": 0.2}, "megatron", {"a": "/a"})
    with pytest.raises(InputError, match="needs a path for every domain"):
        export_mixture({"a": 0.5, "b": 0.5}, "olmo")
    with pytest.raises(InputError, match="unknown export format"):
        export_mixture({"a": 1.0}, "toml", {"a": "/a"})
    with pytest.raises(InputError, match="sum to 0.9"):
        export_mixture({"a": 0.5, "b": 0.4}, "json")
    with pytest.raises(InputError, match="finite and >= 0"):
        export_mixture({"a": 1.5, "b": -0.5}, "json")
    with pytest.raises(InputError, match="unknown option"):
        export_mixture({"a": 1.0}, "megatron", {"a": "/a"}, seed=1)
    with pytest.warns(DataWarning, match="renormalised"):
        doc = json.loads(export_mixture({"a": 0.333, "b": 0.333, "c": 0.333}, "json", decimals=3))
    assert [r["weight"] for r in doc] == [0.334, 0.333, 0.333]


def test_parse_mixture_and_paths(tmp_path):
    assert parse_mixture("a=0.5, b=0.5") == {"a": 0.5, "b": 0.5}
    with pytest.raises(InputError, match="expected domain=weight"):
        parse_mixture("a:0.5")
    with pytest.raises(InputError, match="given twice"):
        parse_mixture("a=0.5,a=0.5")
    j = tmp_path / "m.json"
    j.write_text(json.dumps([{"domain": "x", "weight": 0.25}, {"domain": "y", "weight": 0.75}]))
    assert parse_mixture(str(j)) == {"x": 0.25, "y": 0.75}
    c = tmp_path / "m.csv"
    c.write_text("run,w:x,w:y\nbest,0.1,0.9\n")
    assert parse_mixture(str(c)) == {"x": 0.1, "y": 0.9}
    pj = tmp_path / "p.json"
    pj.write_text(json.dumps({"x": "/x", "y": "/y"}))
    pc = tmp_path / "p.csv"
    pc.write_text("domain,path\nx,/x\ny,/y1\ny,/y2\n")
    assert read_paths(str(pj)) == {"x": "/x", "y": "/y"}
    assert read_paths(str(pc)) == {"x": "/x", "y": ["/y1", "/y2"]}
    with pytest.raises(InputError, match="no such file"):
        read_paths(str(tmp_path / "nope.json"))



def _cli(capsys, *argv):
    from mixlaw.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    cap = capsys.readouterr()
    return exc.value.code, cap.out, cap.err


def test_cli_export(capsys, tmp_path):
    paths = tmp_path / "paths.json"
    paths.write_text(json.dumps({"a": "/d/a", "b": "/d/b"}))
    code, out, _ = _cli(capsys, "export", "--mixture", "a=0.25,b=0.75", "--format", "megatron", "--paths", str(paths))
    assert code == 0 and out == "--data-path 0.25 /d/a 0.75 /d/b\n"
    target = tmp_path / "mix.yaml"
    code, _, _ = _cli(capsys, "export", "--mixture", "a=0.25,b=0.75", "--format", "olmo", "--paths", str(paths),
                      "--out", str(target))
    assert code == 0 and yaml.safe_load(target.read_text())["sources"][0]["target_ratio"] == 0.25
    code, out, _ = _cli(capsys, "export", "--mixture", "a=0.25,b=0.75", "--json")
    assert code == 0 and json.loads(json.loads(out)["text"]) == [{"domain": "a", "weight": 0.25},
                                                                 {"domain": "b", "weight": 0.75}]


@pytest.mark.parametrize("argv, match", [
    (["--mixture", "a=0.5,b=0.5", "--format", "megatron"], "needs a path"),
    (["--mixture", "a=0.5,b=0.5", "--format", "parquet"], "unknown export format"),
    (["--mixture", "a=0.5,b=0.2"], "sum to 0.7"),
    (["--mixture", "a:0.5,b:0.5"], "expected domain=weight"),
])
def test_cli_export_bad_input_exit_2(capsys, argv, match):
    code, out, err = _cli(capsys, "export", *argv)
    assert code == 2 and out == "" and err.startswith("error: ") and match in err
