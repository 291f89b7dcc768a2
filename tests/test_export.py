"""Exports: loadable formats, weights that sum to exactly 1 after rounding, clear errors."""

from __future__ import annotations

import ast
import json
import math
import re
import shlex
import warnings
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import yaml
from cli_runner import run_cli as _cli

from mixlaw.errors import DataWarning, InputError
from mixlaw.export import TokenBudget, export_mixture, parse_export_options, parse_mixture, read_paths, round_weights
from mixlaw.export_schema import olmo_insufficient, read_hf, read_megatron, read_mosaic, read_olmo

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


# The issue's case: T = 1e11 tokens; wiki has 8e9 tokens and gets 14.6 %, code 2e10 and 28.5 %.
ISSUE_MIX = {"web": 0.569, "wiki": 0.146, "code": 0.285}
ISSUE_TOKENS = {"web": 5e11, "wiki": 8e9, "code": 2e10}
ISSUE_PATHS = {d: f"/data/{d}/*.npy" for d in ISSUE_MIX}


def test_olmo_repetition_comes_from_the_token_budget():
    budget = TokenBudget(1e11, ISSUE_TOKENS, max_epochs=4)
    doc = read_olmo(export_mixture(ISSUE_MIX, "olmo", ISSUE_PATHS, budget=budget))
    rep = {s["source_name"]: s["max_repetition_ratio"] for s in doc["sources"]}
    # 14.6e9 / 8e9 = 1.825 passes over wiki, 28.5e9 / 2e10 = 1.425 over code; web needs no repetition
    assert rep == {"web": 1.0, "wiki": 1.825, "code": 1.425}
    assert olmo_insufficient(doc, ISSUE_TOKENS, 10**11) == []
    # what mixlaw used to write (ratio 1.0 everywhere) is exactly what OLMo-core rejects
    naive = read_olmo(export_mixture(ISSUE_MIX, "olmo", ISSUE_PATHS))
    assert olmo_insufficient(naive, ISSUE_TOKENS, 10**11) == ["wiki", "code"]
    with pytest.raises(InputError, match=r"'wiki' is 1.5, but .* needs 1.825"):
        export_mixture(ISSUE_MIX, "olmo", ISSUE_PATHS, budget=budget, max_repetition_ratio={"wiki": 1.5})
    # a larger ratio is the user's choice and is kept
    doc = read_olmo(export_mixture(ISSUE_MIX, "olmo", ISSUE_PATHS, budget=budget, max_repetition_ratio=4))
    assert {s["max_repetition_ratio"] for s in doc["sources"]} == {4.0}


def test_olmo_dataset_config_with_batch_size_round_trips():
    budget = TokenBudget(1e11, ISSUE_TOKENS)
    text = export_mixture(ISSUE_MIX, "olmo", ISSUE_PATHS, budget=budget, global_batch_size=4 * 2**20,
                          processes=4, max_source_fraction=0.5)
    doc = read_olmo(text)
    assert doc["requested_tokens"] == 10**11 and doc["global_batch_size"] == 4 * 2**20 and doc["processes"] == 4
    # half of each source usable: wiki needs 14.6e9 / 4e9 = 3.65 passes
    assert {s["source_name"]: s["max_repetition_ratio"] for s in doc["sources"]}["wiki"] == 3.65
    assert olmo_insufficient(doc, ISSUE_TOKENS, doc["requested_tokens"]) == []
    assert yaml.safe_load(text)["source_list"]["sources"][0]["source_name"] == "web"
    with pytest.raises(InputError, match="needs the token budget"):
        export_mixture(ISSUE_MIX, "olmo", ISSUE_PATHS, global_batch_size=1024)


def test_olmo_schema_rejects_what_olmo_core_rejects():
    good = export_mixture(ISSUE_MIX, "olmo", ISSUE_PATHS)
    with pytest.raises(InputError, match="must sum to 1.0"):
        read_olmo(good.replace("target_ratio: 0.569", "target_ratio: 0.5"))
    with pytest.raises(InputError, match=r"unknown \['seed'\]"):
        read_olmo(good.replace("max_source_fraction: 1.0", "max_source_fraction: 1.0\n  seed: 3", 1))
    with pytest.raises(InputError, match="max_repetition_ratio must be >= 1"):
        read_olmo(good.replace("max_repetition_ratio: 1.0", "max_repetition_ratio: 0.5", 1))


@pytest.mark.filterwarnings("ignore::mixlaw.errors.ExtrapolationWarning")  # the linear law leaves its range
def test_optimum_under_availability_exports_a_buildable_olmo_config():
    from mixlaw import load_regmix
    from mixlaw.api import optimize_runs

    table = load_regmix("train_1m")
    avail = {d: 2e9 for d in table.domains} | {"pile_cc": 1e12}
    # extrapolate: the linear law's optimum leaves the fitted range (the trust region would keep it inside).
    res = optimize_runs(table, law="linear", targets="pile_cc", objective="mean", tokens_available=avail,
                        target_tokens=1e10, max_epochs=4, extrapolate=True)
    reps = {d: w * 1e10 / avail[d] for d, w in res.weights.items()}
    assert max(reps.values()) > 1.5  # the optimum repeats some domain: the case the old export broke
    paths = {d: f"/d/{d}" for d in table.domains}
    doc = read_olmo(export_mixture(res.weights, "olmo", paths, budget=TokenBudget(1e10, avail, 4)))
    assert olmo_insufficient(doc, avail, 10**10) == []
    for s in doc["sources"]:
        # 1e-12: the solver meets a share's epoch cap to rounding (4.000000000000004 of --max-epochs 4 from one
        # start of the convex linear law); the file's ratio comes from the exported decimals, which meet it.
        need = reps[s["source_name"]] * (1 - 1e-12)
        assert need <= s["max_repetition_ratio"] <= max(1.0, reps[s["source_name"]]) + 0.002
        assert s["max_repetition_ratio"] <= 4.0 + 0.002  # within the epochs the optimiser allowed


def test_megatron_options_and_budget_round_trip():
    budget = TokenBudget(1e11, ISSUE_TOKENS)
    paths = {d: f"/data/{d}_text_document" for d in ISSUE_MIX}
    text = export_mixture(ISSUE_MIX, "megatron", paths, budget=budget, seed=7, seq_length=4096, split="99,1,0")
    args = read_megatron(text)
    assert args["weights"] == {paths[d]: w for d, w in ISSUE_MIX.items()}
    assert (args["seed"], args["seq_length"], args["train_samples"], args["split"]) == (7, 4096, 24414063, "99,1,0")
    assert "wiki: 14600000000 tokens of 8e+09 available (1.825 epochs)" in text
    with pytest.raises(InputError, match="without .bin/.idx"):
        read_megatron("--data-path 0.5 /a.bin 0.5 /b")
    with pytest.raises(InputError, match="invalid int value"):
        read_megatron("--data-path 1 /a --seed x")
    with pytest.raises(InputError, match="unrecognised"):
        read_megatron("--data-path 1 /a --data-weights 1")


def test_hf_and_mosaic_options_round_trip():
    hf = read_hf(export_mixture(ISSUE_MIX, "hf", ISSUE_PATHS, seed=5, stopping_strategy="all_exhausted",
                                streaming=False, budget=TokenBudget(1e11, ISSUE_TOKENS)))
    assert hf["probabilities"] == list(ISSUE_MIX.values()) and hf["seed"] == 5
    assert hf["stopping_strategy"] == "all_exhausted" and {d["streaming"] for d in hf["loaders"]} == {False}
    mo = read_mosaic(export_mixture(ISSUE_MIX, "mosaic", ISSUE_PATHS, seed=5, epoch_size=1000, batch_size=8))
    assert [s["proportion"] for s in mo["streams"]] == list(ISSUE_MIX.values())
    assert mo["dataset"]["shuffle_seed"] == 5 and mo["dataset"]["epoch_size"] == 1000
    with pytest.raises(InputError, match="has no argument 'shuffel'"):
        read_mosaic("from streaming import Stream, StreamingDataset\nstreams = [Stream(local='/a', proportion=1.0)]\n"
                    "dataset = StreamingDataset(streams=streams, shuffel=True)\n")


def test_json_export_carries_tokens_and_epochs():
    rows = json.loads(export_mixture(ISSUE_MIX, "json", budget=TokenBudget(1e11, ISSUE_TOKENS)))
    by = {r["domain"]: r for r in rows}
    assert by["wiki"]["tokens"] == 14_600_000_000 and by["wiki"]["epochs"] == 1.825
    assert by["web"]["tokens_available"] == 5e11


def test_parse_export_options():
    assert parse_export_options(["seed=3", "max_repetition_ratio=wiki:2,code:1.5", "local_root=s3://b/x"]) == {
        "seed": 3, "max_repetition_ratio": {"wiki": 2, "code": 1.5}, "local_root": "s3://b/x"}
    with pytest.raises(InputError, match="expected key=value"):
        parse_export_options(["seed"])
    with pytest.raises(InputError, match="given twice"):
        parse_export_options(["seed=1", "seed=2"])


def test_per_domain_options_take_domains_with_colons_and_name_unknown_domains():
    # Olmix's domains hold colons ('s2pdfv1:travel'): split at the first colon, max_repetition_ratio=s2pdfv1:travel:2
    # became {'s2pdfv1': 'travel:2'} and the export silently kept 1.0; a misspelt domain was as silently unused;
    # and HF's split=train[:90%] became the mapping {'train[': '90%]'}, written into load_dataset(split=...).
    opts = parse_export_options(["max_repetition_ratio=s2pdfv1:travel:2,existing:1.5", "split=train[:90%]"])
    assert opts == {"max_repetition_ratio": {"s2pdfv1:travel": 2, "existing": 1.5}, "split": "train[:90%]"}
    w = {"s2pdfv1:travel": 0.3, "existing": 0.7, "s2pdfv1:adult": 0.0}
    paths = {"s2pdfv1:travel": "/t", "existing": "/e"}
    olmo = yaml.safe_load(export_mixture(w, "olmo", paths, **_without_split(opts)))
    by = {s["source_name"]: s for s in olmo["sources"]}
    assert by["s2pdfv1:travel"]["max_repetition_ratio"] == 2.0 and by["existing"]["max_repetition_ratio"] == 1.5
    # a domain of the mixture left out of the export (weight 0) may be named; one the mixture lacks may not
    export_mixture(w, "olmo", paths, max_repetition_ratio={"s2pdfv1:adult": 3})
    with pytest.raises(InputError, match="option max_repetition_ratio: no domain 'exsting' in the mixture"):
        export_mixture(w, "olmo", paths, max_repetition_ratio={"exsting": 3})
    # named as every other unknown domain is (known_names): the closest, and the full name of one without its
    # namespace (its own list of 12 domains named neither)
    with pytest.raises(InputError, match=r"did you mean 'existing'\?"):
        export_mixture(w, "olmo", paths, max_repetition_ratio={"exsting": 3})
    with pytest.raises(InputError, match=r"did you mean 's2pdfv1:travel'"):
        export_mixture(w, "olmo", paths, max_repetition_ratio={"travel": 3})
    hf = read_hf(export_mixture(w, "hf", paths, split=opts["split"]))
    assert {d["split"] for d in hf["loaders"]} == {"train[:90%]"}


def test_per_domain_numbers_in_exponent_form():
    # YAML 1.1 reads '1e3' as a string: the ':number' check of the part after the colon refused it, and
    # max_repetition_ratio=a:1e3,b:2 (accepted before, exported as 1000) became the scalar 'a:1e3,b:2'.
    opts = parse_export_options(["max_repetition_ratio=a:1e3,b:2.5E1", "split=a:1e3x"])
    assert opts == {"max_repetition_ratio": {"a": 1000.0, "b": 25.0}, "split": "a:1e3x"}
    olmo = yaml.safe_load(export_mixture({"a": 0.5, "b": 0.5}, "olmo", {"a": "/a", "b": "/b"},
                                         max_repetition_ratio=opts["max_repetition_ratio"]))
    assert [s["max_repetition_ratio"] for s in olmo["sources"]] == [1000.0, 25.0]


def _without_split(opts):  # type: ignore[no-untyped-def]
    return {k: v for k, v in opts.items() if k != "split"}


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
    # a path that is no string: TypeError for 3, and a mapping's key taken as the path before (hunt25)
    for bad in (3, {"/x": 1}):
        with pytest.raises(InputError, match="path of domain 'a' must be a non-empty string"):
            export_mixture({"a": 0.5, "b": 0.5}, "olmo", {"a": bad, "b": "/b"})
    with pytest.raises(InputError, match="sum to 0.9"):
        export_mixture({"a": 0.5, "b": 0.4}, "json")
    with pytest.raises(InputError, match="finite and >= 0"):
        export_mixture({"a": 1.5, "b": -0.5}, "json")
    with pytest.raises(InputError, match="unknown option"):
        export_mixture({"a": 1.0}, "megatron", {"a": "/a"}, indent=1)
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


def test_cli_export_carries_budget_and_options(capsys, tmp_path):
    paths = tmp_path / "paths.json"
    paths.write_text(json.dumps(ISSUE_PATHS))
    tokens = tmp_path / "domains.csv"
    tokens.write_text("domain,tokens\n" + "".join(f"{d},{n:.0f}\n" for d, n in ISSUE_TOKENS.items()))
    mix = ",".join(f"{d}={w}" for d, w in ISSUE_MIX.items())
    code, out, err = _cli(capsys, "export", "--mixture", mix, "--format", "olmo", "--paths", str(paths),
                          "--tokens-available", str(tokens), "--target-tokens", "1e11",
                          "--export-option", "global_batch_size=4194304")
    assert code == 0, err
    doc = read_olmo(out)
    assert doc["requested_tokens"] == 10**11 and olmo_insufficient(doc, ISSUE_TOKENS, 10**11) == []
    code, out, err = _cli(capsys, "export", "--mixture", mix, "--format", "megatron", "--paths", str(paths),
                          "--export-option", "seed=11", "--export-option", "seq_length=2048",
                          "--target-tokens", "1e9")
    assert code == 0 and read_megatron(out)["seed"] == 11 and read_megatron(out)["train_samples"] == 488282
    code, out, err = _cli(capsys, "export", "--mixture", mix, "--format", "megatron", "--paths", str(paths),
                          "--export-option", "shuffle=1")
    assert code == 2 and "unknown option(s) ['shuffle'] for format 'megatron'" in err
    # An integer option takes a count as --target-tokens does (newuser4: global_batch_size=4M was "must be an
    # integer; got '4M'"); a fraction is still refused.
    code, out, err = _cli(capsys, "export", "--mixture", mix, "--format", "olmo", "--paths", str(paths),
                          "--target-tokens", "100B", "--export-option", "global_batch_size=4M")
    assert code == 0 and read_olmo(out)["global_batch_size"] == 4_000_000, err
    code, out, err = _cli(capsys, "export", "--mixture", mix, "--format", "megatron", "--paths", str(paths),
                          "--export-option", "seq_length=2.5k")
    assert code == 0 and "--seq-length 2500" in out, err
    code, _, err = _cli(capsys, "export", "--mixture", mix, "--format", "megatron", "--paths", str(paths),
                        "--export-option", "seq_length=2.0005k")
    assert code == 2 and "must be an integer" in err


@pytest.mark.filterwarnings("ignore::mixlaw.errors.ExtrapolationWarning")
def test_cli_optimize_export_olmo_sets_repetition_from_the_optimum(capsys, tmp_path):
    from mixlaw import load_regmix

    table = load_regmix("train_1m")
    runs = tmp_path / "runs.csv"
    frame = pd.DataFrame({"run": table.runs, **{f"w:{d}": table.weights[:, j] for j, d in enumerate(table.domains)},
                          "loss:pile_cc": table.losses("pile_cc")})
    frame.to_csv(runs, index=False)
    avail = {d: 2e9 for d in table.domains} | {"pile_cc": 1e12}
    tokens = tmp_path / "domains.csv"
    tokens.write_text("domain,tokens\n" + "".join(f"{d},{n:.0f}\n" for d, n in avail.items()))
    paths = tmp_path / "paths.json"
    paths.write_text(json.dumps({d: f"/d/{d}/*.npy" for d in table.domains}))
    code, out, err = _cli(capsys, "optimize", "--runs", str(runs), "--law", "linear", "--target", "pile_cc",
                          "--tokens-available", str(tokens), "--target-tokens", "1e10", "--max-epochs", "4",
                          "--export", "olmo", "--paths", str(paths), "--extrapolate", "--json")
    assert code == 0, err
    doc = json.loads(out)
    olmo = read_olmo(doc["export"])
    weights = doc["optimum"]["weights"]
    assert olmo_insufficient(olmo, avail, 10**10) == []
    reps = {s["source_name"]: s["max_repetition_ratio"] for s in olmo["sources"]}
    repeated = [d for d in reps if weights[d] * 1e10 > avail[d] * 1.01]
    # to the solver's rounding of the epoch cap (1e-12, as in test_optimum_under_availability_exports_...)
    assert repeated and all(reps[d] >= weights[d] * 1e10 / avail[d] * (1 - 1e-12) for d in repeated)


@pytest.mark.parametrize("argv, match", [
    (["--mixture", "a=0.5,b=0.5", "--format", "megatron"], "needs a path"),
    (["--mixture", "a=0.5,b=0.5", "--format", "parquet"], "unknown export format"),
    (["--mixture", "a=0.5,b=0.2"], "sum to 0.7"),
    (["--mixture", "a:0.5,b:0.5"], "expected domain=weight"),
])
def test_cli_export_bad_input_exit_2(capsys, argv, match):
    code, out, err = _cli(capsys, "export", *argv)
    assert code == 2 and out == "" and err.startswith("error: ") and match in err


def test_cli_optimize_checks_export_before_fitting(capsys, tmp_path, monkeypatch):
    """A typo in --export, a trainer format without --paths or an unknown --export-option fails before the
    fit (found on Olmix's DCLM swarm: `--export olmo-core` and `--export olmo` without paths each failed only
    after 45 s of --law auto)."""
    import mixlaw.api

    def no_fit(*a, **k):
        raise AssertionError("optimize fitted before checking --export")

    monkeypatch.setattr(mixlaw.api, "optimize_runs", no_fit)
    rng = np.random.default_rng(0)
    w = rng.dirichlet(np.ones(3), 12)
    runs = tmp_path / "runs.csv"
    pd.DataFrame({"run": [f"r{i}" for i in range(12)], "w:a": w[:, 0], "w:b": w[:, 1], "w:c": w[:, 2],
                  "loss:x": 3 - w[:, 0]}).to_csv(runs, index=False)
    base = ("optimize", "--runs", str(runs), "--law", "linear")
    code, _, err = _cli(capsys, *base, "--export", "olmo-core")
    assert code != 0 and "unknown export format 'olmo-core'" in err
    code, _, err = _cli(capsys, *base, "--export", "olmo")
    assert code != 0 and "needs a path for every domain" in err
    code, _, err = _cli(capsys, *base, "--export", "json", "--export-option", "sed=3")
    assert code != 0 and "unknown option(s) ['sed']" in err


def test_export_reads_what_optimize_json_printed(tmp_path, capsys):
    # mixlaw optimize --runs 122m_train.csv --json > o.json; mixlaw export --mixture o.json --format json said
    # "weight of domain 'mixlaw_version' is not a number: '0.1.0'".
    from mixlaw.cli import main


    doc = {"schema_version": 1, "mixlaw_version": "0.1.0", "optimum": {"weights": {"web": 0.25, "code": 0.75},
                                                                       "objective": 2.4}, "seed": 0}
    path = tmp_path / "o.json"
    path.write_text(json.dumps(doc))
    assert parse_mixture(str(path)) == {"web": 0.25, "code": 0.75}
    with pytest.raises(SystemExit) as exc:
        main(["export", "--mixture", str(path), "--format", "json"])
    assert exc.value.code == 0 and json.loads(capsys.readouterr().out) == [{"domain": "web", "weight": 0.25},
                                                                            {"domain": "code", "weight": 0.75}]


def test_export_reads_what_export_json_printed(tmp_path, capsys):
    # hunt25: mixlaw export --mixture a=0.25,b=0.75 --json > e.json; mixlaw export --mixture e.json --format olmo
    # said "weight of domain 'mixlaw_version' is not a number: '0.1.0'".
    code, doc, err = _cli(capsys, "export", "--mixture", "web=0.25,code=0.75", "--json")
    assert code == 0, err
    path = tmp_path / "e.json"
    path.write_text(doc)
    assert parse_mixture(str(path)) == {"web": 0.25, "code": 0.75}
    code, doc, err = _cli(capsys, "export", "--mixture", "web=0.25,code=0.75", "--format", "mosaic", "--paths",
                          '{"web": "s3://w", "code": "s3://c"}', "--json")
    assert code == 0, err
    path.write_text(doc)
    with pytest.raises(InputError, match="output of mixlaw export --format mosaic --json, a trainer's config"):
        parse_mixture(str(path))


def test_optimize_out_csv_is_the_one_row_mixture_export_reads(tmp_path, capsys):
    # newuser4: `optimize --out opt.csv` wrote the JSON report into opt.csv, and `export --mixture opt.csv` (whose
    # docs name "what mixlaw optimize --out writes") said "not a readable CSV". Now one row: run, w:*, pred:*.
    from cli_runner import run_cli

    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=12)
    runs = tmp_path / "runs.csv"
    pd.DataFrame({"run": [f"r{i}" for i in range(12)], "w:web": W[:, 0], "w:code": W[:, 1], "w:books": W[:, 2],
                  "loss:web": 3.0 - W[:, 0] + 0.3 * W[:, 1]}).to_csv(runs, index=False)
    out = tmp_path / "opt.csv"
    code, doc, err = run_cli(capsys, "optimize", "--runs", str(runs), "--law", "linear", "--out", str(out), "--json")
    assert code == 0, err
    weights = json.loads(doc)["optimum"]["weights"]
    row = pd.read_csv(out)
    assert list(row.columns) == ["run", "w:web", "w:code", "w:books", "pred:web"] and len(row) == 1
    assert row.loc[0, ["w:web", "w:code", "w:books"]].tolist() == pytest.approx(list(weights.values()))
    code, text, err = run_cli(capsys, "export", "--mixture", str(out), "--format", "json")
    assert code == 0, err
    exported = {d["domain"]: d["weight"] for d in json.loads(text)}
    assert exported == pytest.approx({d: w for d, w in weights.items() if w > 0}, abs=1e-6)
    js = tmp_path / "opt.json"  # any other name: the JSON report, as before; it too is read as the mixture
    code, _, err = run_cli(capsys, "optimize", "--runs", str(runs), "--law", "linear", "--out", str(js))
    assert code == 0 and json.loads(js.read_text())["weights"] == pytest.approx(weights)
    code, text, err = run_cli(capsys, "export", "--mixture", str(js), "--format", "json")
    assert code == 0 and {d["domain"]: d["weight"] for d in json.loads(text)} == exported, err  # said "weight of
    # domain 'law' is not a number: 'ye-exp'"
    law = tmp_path / "law.json"
    assert run_cli(capsys, "fit", "--runs", str(runs), "--law", "linear", "--out", str(law))[0] == 0
    code, _, err = run_cli(capsys, "export", "--mixture", str(law), "--format", "json")
    assert code == 2 and "a saved law (mixlaw fit --out), not a mixture" in err, err
    # ... and .parquet, which optimize --out also writes: export read it as JSON text ("not valid JSON")
    pq = tmp_path / "opt.parquet"
    assert run_cli(capsys, "optimize", "--runs", str(runs), "--law", "linear", "--out", str(pq))[0] == 0
    code, text, err = run_cli(capsys, "export", "--mixture", str(pq), "--format", "json")
    assert code == 0 and {d["domain"]: d["weight"] for d in json.loads(text)} == exported, err
    (tmp_path / "bad.parquet").write_text("not parquet")
    code, _, err = run_cli(capsys, "export", "--mixture", str(tmp_path / "bad.parquet"), "--format", "json")
    assert code == 2 and "not a readable Parquet file" in err


def test_export_says_when_a_domain_repeats_its_data_past_4_epochs(tmp_path):
    # newuser4: 16.7 epochs of one domain were recorded in a comment, with no word.
    budget = TokenBudget(1e9, {"web": 1e10, "code": 3e7})
    with pytest.warns(DataWarning, match=r"1 domain\(s\) repeat their data more than 4 epochs .*'code' 16\.7"):
        export_mixture({"web": 0.5, "code": 0.5}, "json", budget=budget)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        export_mixture({"web": 0.9, "code": 0.1}, "json", budget=budget)  # 3.33 epochs: nothing said
        # the budget's own limit, when given, is the one checked
        export_mixture({"web": 0.5, "code": 0.5}, "json", budget=TokenBudget(1e9, budget.tokens_available, 20.0))
    # hunt31: on Olmix's 64 domains, '7 domain(s) repeat ... ('stack-edu:Rust' 36.9, ..., 'stack-edu:Markdown' 8.05)'
    # named five with no word of the other two.
    doms = [f"d{i}" for i in range(7)]
    many = TokenBudget(1e9, dict.fromkeys(doms, 1e7))
    with pytest.warns(DataWarning, match=r"7 domain\(s\) repeat .*'d4' 14\.3, and 2 more\)"):
        export_mixture(dict.fromkeys(doms, 1 / 7), "json", budget=many)


def test_an_inline_mixture_longer_than_a_file_name_is_read_inline(capsys: pytest.CaptureFixture[str]) -> None:
    # 50 domains inline are over the 255-byte file-name limit: Path.exists raised ENAMETOOLONG and export said
    # "d0=0.02,...: File name too long" instead of reading the mixture.
    spec = ",".join(f"domain_{i}=0.02" for i in range(50))
    assert len(spec) > 255
    mix = parse_mixture(spec)
    assert len(mix) == 50 and math.isclose(sum(mix.values()), 1.0)
    code, out, err = _cli(capsys, "export", "--mixture", spec, "--format", "json")
    assert code == 0, err
    assert [r["domain"] for r in json.loads(out)] == [f"domain_{i}" for i in range(50)]


def test_an_empty_mixture_is_named_empty_not_a_folder(capsys: pytest.CaptureFixture[str]) -> None:
    # Path('') is '.', the current folder: --mixture '' said ".: is a folder; expected a mixture file".
    for spec in ("", "  "):
        with pytest.raises(InputError, match="empty mixture"):
            parse_mixture(spec)
    code, _, err = _cli(capsys, "export", "--mixture", "")
    assert code == 2 and "empty mixture" in err and "folder" not in err


def test_tokens_available_inline(capsys, tmp_path):
    # hunt24: --tokens-available read only a file, while --mixture and --paths take inline text; 'web=1B,code=5e8'
    # was "no such file".
    from mixlaw.budget import read_tokens_available

    assert read_tokens_available("web=1.2B, code=500M") == {"web": 1.2e9, "code": 5e8}
    assert read_tokens_available('"web, news"=1B,code=5e8') == {"web, news": 1e9, "code": 5e8}
    assert read_tokens_available('{"web": 1e9, "code": "2B"}') == {"web": 1e9, "code": 2e9}
    for bad, says in (("web=1B,code", "'code' is not domain=tokens"), ("web=x", "not a number"),
                      ("web=-1", ">= 0"), ("web=1B,web=2B", "given twice (first at --tokens-available, item 1)"),
                      ("{}", "non-empty JSON object")):
        with pytest.raises(InputError, match=re.escape(says)):
            read_tokens_available(bad)
    # A file whose name has '=' in it is still read as the file.
    named = tmp_path / "tok=1.csv"
    named.write_text("domain,tokens\nweb,1e9\ncode,2e9\n")
    assert read_tokens_available(str(named)) == {"web": 1e9, "code": 2e9}
    mix = ",".join(f"{d}={w}" for d, w in ISSUE_MIX.items())
    inline = ",".join(f"{d}={n:.0f}" for d, n in ISSUE_TOKENS.items())
    paths = tmp_path / "paths.json"
    paths.write_text(json.dumps(ISSUE_PATHS))
    code, out, err = _cli(capsys, "export", "--mixture", mix, "--format", "olmo", "--paths", str(paths),
                          "--tokens-available", inline, "--target-tokens", "1e11",
                          "--export-option", "global_batch_size=4194304")
    assert code == 0, err
    doc = read_olmo(out)
    assert doc["requested_tokens"] == 10**11 and olmo_insufficient(doc, ISSUE_TOKENS, 10**11) == []


def test_a_yaml_tokens_file_is_read_as_a_mixture_file_is(capsys, tmp_path):
    # hunt31: 'optimize --tokens-available tk.yaml' read the YAML mapping as a CSV and said "missing column(s)
    # ['domain', 'tokens']"; hunt31d refused YAML, while a mixture file may be YAML (parse_user_yaml): now both read
    # it, with counts as papers write them and a domain named 'no' kept as written.
    from mixlaw.budget import read_tokens_available

    tok = tmp_path / "tk.yaml"
    tok.write_text("web: 1e12\ncode: 2B\nno: 5e9\n")
    assert read_tokens_available(str(tok)) == {"web": 1e12, "code": 2e9, "no": 5e9}
    code, out, err = _cli(capsys, "export", "--mixture", "web=0.5,code=0.25,no=0.25", "--tokens-available", str(tok),
                          "--target-tokens", "1e10")
    assert code == 0, err
    (tmp_path / "bad.yml").write_text("- 1e12\n- 2e9\n")
    with pytest.raises(InputError, match=re.escape("bad.yml: expected a non-empty YAML mapping {domain: tokens}")):
        read_tokens_available(str(tmp_path / "bad.yml"))
    (tmp_path / "tk.txt").write_text(tok.read_text())
    with pytest.raises(InputError, match=re.escape("expected domain,tokens (a CSV; or a JSON or YAML file "
                                                   "{domain: tokens} named .json / .yaml)")):
        read_tokens_available(str(tmp_path / "tk.txt"))


def test_a_domain_weight_csv_is_a_mixture_file_and_text_cells_are_read_as_shares(tmp_path) -> None:
    # 'export --mixture m.csv' with columns domain,weight (the shape --paths and --tokens-available take) said "no
    # w:<domain> columns"; in a w: row a text cell ('x') made every cell text, and the error named 'web' = '0.6'
    # instead of the cell at fault; '60%' cells were refused (hunt25).
    from mixlaw.errors import InputError
    from mixlaw.export import parse_mixture

    cases = {"dw.csv": "domain,weight\nweb,0.6\ncode,0.4\n", "pct.csv": "w:web,w:code\n60%,40%\n",
             "dup.csv": "domain,weight\nweb,0.6\nweb,0.4\n", "bad.csv": "w:web,w:code\n0.6,x\n",
             "badrow.csv": "domain,weight\nweb,0.6\ncode,x\n", "other.csv": "a,b\nweb,0.6\n"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    assert parse_mixture(str(tmp_path / "dw.csv")) == {"web": 0.6, "code": 0.4}
    assert parse_mixture(str(tmp_path / "pct.csv")) == pytest.approx({"web": 0.6, "code": 0.4})
    for name, says in (("dup.csv", "domain 'web' given twice"), ("bad.csv", "domain 'code' is not a number: 'x'"),
                       ("badrow.csv", "domain 'code' is not a number: 'x'"),
                       ("other.csv", "no w:<domain> columns (a run table's row) and no domain,weight columns")):
        with pytest.raises(InputError, match=re.escape(says)):
            parse_mixture(str(tmp_path / name))


def test_paths_for_a_whole_corpus_are_accepted_and_a_misspelt_key_is_named():
    # One paths file for every corpus domain is the usual set-up: extra keys are not an error, and a misspelt key
    # surfaces as its domain's missing path, with the closest key named.
    paths = {"web": "/data/web", "code": "/data/code", "books": "/data/books"}
    out = export_mixture({"web": 0.6, "code": 0.4}, "megatron", paths=paths)
    assert "/data/books" not in str(out) and "/data/web" in str(out)
    with pytest.raises(InputError, match=r"no path for domain\(s\) \['web'\].*did you mean 'wbe'"):
        export_mixture({"web": 0.6, "code": 0.4}, "megatron", paths={"wbe": "/a", "code": "/c", "books": "/b"})


def test_megatron_refuses_a_path_with_a_line_break_in_one_line(tmp_path, capsys):
    # hunt30: a paths file whose path held '\n' ({"web": "/d/w\neb"}) stopped 'mixlaw export --format megatron' on
    # a ValueError traceback ('No closing quotation') from the export's own check; now one line naming the domain.
    with pytest.raises(InputError, match=r"^path of domain 'web' holds a line break .*'/d/w\\neb'.*one command line"):
        export_mixture({"web": 0.5, "code": 0.5}, "megatron", {"web": "/d/w\neb", "code": "/c"})
    with pytest.raises(InputError, match=r"^option split holds a line break"):
        export_mixture({"web": 0.5, "code": 0.5}, "megatron", {"web": "/w", "code": "/c"}, split="9\n1")
    paths = tmp_path / "paths.json"
    paths.write_text(json.dumps({"web": "/d/w\neb", "code": "/c"}))
    code, out, err = _cli(capsys, "export", "--mixture", "web=0.5,code=0.5", "--format", "megatron",
                          "--paths", str(paths))
    assert code == 2 and out == "" and "Traceback" not in err and "path of domain 'web' holds a line break" in err
    # Other formats quote it within their syntax (YAML, Python repr, JSON) and read it back.
    assert read_olmo(export_mixture({"web": 0.5, "code": 0.5}, "olmo", {"web": "/d/w\neb", "code": "/c"})
                     )["sources"][0]["paths"] == ["/d/w\neb"]


def test_json_and_yaml_mixture_files_read_percentages_as_a_csv_does(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # export/predict --mixture m.json with {"docs": "50%", ...} said "weight of domain 'docs' is not a number: '50%'",
    # where inline docs=50% and a CSV's 50% cells were read (hunt34; YAML's `docs: 50%` too). JSON true and null
    # are still refused by name, not read as a table (pandas' "If using all scalar values").
    files = {"pct.json": '{"web": "60%", "code": "40%"}', "list.json": '[{"domain": "web", "weight": "60%"}, '
             '{"domain": "code", "weight": "0.4"}]', "pct.yaml": "web: 60%\ncode: 40%\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        assert parse_mixture(str(tmp_path / name)) == pytest.approx({"web": 0.6, "code": 0.4}), name
    code, out, _ = _cli(capsys, "export", "--mixture", str(tmp_path / "pct.json"), "--format", "json")
    assert code == 0 and json.loads(out) == [{"domain": "web", "weight": 0.6}, {"domain": "code", "weight": 0.4}]
    (tmp_path / "law_runs.csv").write_text("run,w:web,w:code,loss:x\n" + "".join(
        f"r{i},{w:g},{1 - w:g},{3 - w:g}\n" for i, w in enumerate((0.1, 0.3, 0.5, 0.7, 0.9))))
    assert _cli(capsys, "fit", "--runs", str(tmp_path / "law_runs.csv"), "--law", "linear", "--out",
                str(tmp_path / "law.json"))[0] == 0
    code, out, _ = _cli(capsys, "predict", "--law", str(tmp_path / "law.json"), "--mixtures",
                        str(tmp_path / "pct.json"))
    # the row's label is the file's path, which the table cuts short on a long temporary path: the loss is checked
    assert code == 0 and "2.4" in out.split()
    for value in ("true", "null"):
        (tmp_path / "bad.json").write_text(f'{{"web": {value}, "code": 0.4}}')
        code, _, err = _cli(capsys, "predict", "--law", str(tmp_path / "law.json"), "--mixtures",
                            str(tmp_path / "bad.json"))
        assert code == 2 and "weight of domain 'web' is not a number" in err, err


def test_an_olmo_core_source_mixture_is_a_mixture_file(tmp_path, capsys):
    # hunt34b: 'mixlaw export --mixture mix.yaml --format megatron', mix.yaml being mixlaw's own '--export olmo'
    # (OLMo-core's SourceMixtureList), said "weight of domain 'sources' is not a number: [{'source_name': 'docs', ...
    # (the whole list)", where its JSON export is read back as a mixture. Its target_ratio per source_name is one.
    w = {"docs": 0.323112, "dialogue": 0.332115, "scripture": 0.344773}
    paths = {d: f"/data/{d}" for d in w}
    budget = TokenBudget(target_tokens=1e9, tokens_available={d: 1e9 for d in w})
    for name, text in (("list.yaml", export_mixture(w, "olmo", paths)),
                       ("whole.yaml", export_mixture(w, "olmo", paths, budget=budget, global_batch_size=4096))):
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert parse_mixture(str(tmp_path / name)) == w
        code, out, err = _cli(capsys, "export", "--mixture", str(tmp_path / name), "--format", "json")
        assert code == 0, err
        assert {r["domain"]: r["weight"] for r in json.loads(out)} == w
    # A source without a ratio is named, not read as a domain called 'sources'.
    (tmp_path / "bad.yaml").write_text("sources:\n- source_name: a\n  paths: [x]\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"sources\[0\]: an OLMo-core source needs source_name and target_ratio"):
        parse_mixture(str(tmp_path / "bad.yaml"))


def test_hf_says_when_first_exhausted_ends_the_stream_before_the_budget(tmp_path):
    # hunt34b: 'mixlaw optimize --pipeline dz.json --export hf --paths ... --target-tokens 1.0368e11
    # --tokens-available arxiv=28B,...,stackexchange=17B,...' (Dai & Zheng's sweep): stackexchange's share needs 1.044
    # epochs of its data, and the snippet's interleave_datasets(..., stopping_strategy='first_exhausted') ends the
    # whole stream when it runs out (at 9.94e10 of the 1.0368e11 tokens); the comment recorded '1.044 epochs' and
    # nothing said so. 'all_exhausted' restarts a source that runs out, as the other formats repeat it.
    w = {"web": 0.6, "code": 0.4}
    budget = TokenBudget(target_tokens=1e10, tokens_available={"web": 1e11, "code": 3.2e9})
    with pytest.warns(DataWarning, match=r"'code' needs 1.250 epochs of its data: with stopping_strategy="
                                         r"'first_exhausted' the stream ends when it runs out, at 8e\+09 of the 1e\+10 "
                                         r"tokens"):
        text = export_mixture(w, "hf", {"web": "/d/web", "code": "/d/code"}, budget=budget)
    assert "# 'code' needs 1.250 epochs" in text and "stopping_strategy=all_exhausted" in text
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        text = export_mixture(w, "hf", {"web": "/d/web", "code": "/d/code"}, budget=budget,
                              stopping_strategy="all_exhausted")
        assert "needs 1.250 epochs" not in text
        # within one epoch of every domain: nothing to say
        export_mixture(w, "hf", {"web": "/d/web", "code": "/d/code"},
                       budget=TokenBudget(target_tokens=1e10, tokens_available={"web": 1e11, "code": 1e11}))


@pytest.mark.parametrize("name, text", [
    ("olmo.yaml", "sources:\n- source_name: a\n  target_ratio: 0.3\n- source_name: b\n  target_ratio: 0.4\n"
                  "- source_name: a\n  target_ratio: 0.3\n"),
    ("rows.json", '[{"domain": "a", "weight": 0.3}, {"domain": "b", "weight": 0.4}, {"domain": "a", "weight": 0.3}]'),
], ids=["olmo-sources", "domain-weight-rows"])
def test_a_list_mixture_naming_a_domain_twice_is_refused(tmp_path, name, text):
    # review34f: OLMo-core's sources list (7ff0357) and the [{"domain", "weight"}] list kept the last entry of a name
    # given twice and dropped the other without a word ("mixture weights sum to 0.7"), where inline, a YAML/JSON
    # mapping and a CSV refuse the repeat.
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=r"'a' given twice"):
        parse_mixture(str(tmp_path / name))


@pytest.mark.parametrize("text", [
    "sources:\n- source_name: a\n  target_ratio: 0.5\n- source_name: b\n  target_ratio: 0.5\nseed: 3\n",
    "source_list:\n  sources:\n  - source_name: a\n    target_ratio: 0.5\n  - source_name: b\n    target_ratio: 0.5\n"
    "  seed: 1\nrequested_tokens: 100\n",
], ids=["list-with-seed", "source-list-with-seed"])
def test_an_olmo_core_source_mixture_with_other_keys_is_read_by_its_sources(tmp_path, text):
    # review34f: a SourceMixtureList with any key beside 'sources' (7ff0357 read only {'sources'} alone) said
    # "weight of domain 'sources' is not a number: [{'source_name': 'a', ...} (the whole list)]" again; its other
    # keys are OLMo-core's settings, no weights.
    (tmp_path / "mix.yaml").write_text(text, encoding="utf-8")
    assert parse_mixture(str(tmp_path / "mix.yaml")) == {"a": 0.5, "b": 0.5}
