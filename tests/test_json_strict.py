"""Every --json document is strict JSON: no NaN/Infinity tokens (JavaScript's JSON.parse rejects them);
a value that is not a finite number is null with a reason."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli as _cli

from mixlaw import load_regmix
from mixlaw._json import dumps, strict_json


def _strict(text: str):
    def no_constant(name: str):
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=no_constant)


def test_strict_json_replaces_non_finite_with_null_and_reason():
    doc = {"a": 1.0, "mre": np.float64("inf"), "rows": [{"r2": float("nan")}, 2.0, float("-inf")]}
    out = _strict(dumps(doc))
    assert out["mre"] is None and out["mre_reason"].startswith("infinite")
    assert out["rows"][0] == {"r2": None, "r2_reason": out["rows"][0]["r2_reason"]}
    assert out["rows"][0]["r2_reason"].startswith("not a number")
    assert out["rows"][2] is None and out["null_reasons"]["rows[2]"].startswith("minus infinity")
    assert strict_json({"x": 1}) == {"x": 1}  # finite documents are unchanged (no reason fields)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("json")
    t = load_regmix("train_1m")
    cols = {f"w:{x}": t.weights[:, j] for j, x in enumerate(t.domains)}
    pd.DataFrame({"run": t.runs, **cols, "loss:pile_cc": t.losses("pile_cc")}).iloc[:200].to_csv(d / "train.csv",
                                                                                                    index=False)
    # a one-run held-out table: Spearman and R^2 are undefined there (NaN before this fix)
    pd.DataFrame({"run": t.runs[:1], **{k: v[200:201] for k, v in cols.items()},
                  "loss:pile_cc": t.losses("pile_cc")[200:201]}).to_csv(d / "one.csv", index=False)
    p = np.repeat(np.linspace(0.0, 0.9, 10), 2)
    rng = np.random.default_rng(0)
    pd.DataFrame({"run": [f"r{i}" for i in range(p.size)], "w:web": 1 - p, "w:code": p,
                  "loss:web": (2.0 + 0.5 * np.exp(1.2 * p)) * np.exp(rng.normal(0, 0.002, p.size)),
                  "loss:code": 1.5 + np.exp(-2.0 * p), "step": 1000}).to_csv(d / "cpt.csv", index=False)
    rows = []
    for m, w in enumerate(rng.dirichlet(np.ones(3), size=6)):
        for N in (1e7, 2e7, 4e7):
            for S in (250, 500, 1000, 2000):
                y = 1.5 + 300 / N**0.32 + 30 / S**0.45 + 0.5 * np.exp(w @ [-1.5, 0.3, 0.2])
                rows.append({"run": f"m{m}-{N:g}", "params": N, "step": S, **{f"w:{x}": w[j] for j, x in
                                                                              enumerate("abc")}, "loss:a": y})
    pd.DataFrame(rows).to_csv(d / "sweep.csv", index=False)
    (d / "paths.json").write_text(json.dumps({x: f"/d/{x}" for x in t.domains}))
    return d


def _commands(d):
    return {
        "laws": ["laws"],
        "design": ["design", "--domains", "a,b,c", "--method", "dirichlet", "--n", "4"],
        "export": ["export", "--mixture", "a=0.5,b=0.5"],
        "fit": ["fit", "--runs", f"{d}/train.csv", "--law", "linear", "--target", "pile_cc"],
        "compare": ["compare", "--runs", f"{d}/train.csv", "--test", f"one={d}/one.csv", "--laws", "linear",
                    "--target", "pile_cc"],
        "optimize": ["optimize", "--runs", f"{d}/train.csv", "--law", "linear", "--target", "pile_cc",
                     "--within-fitted-range", "--export", "json"],
        "continual": ["continual", "--runs", f"{d}/cpt.csv", "--original", "web", "--new", "code", "--pre-loss",
                      "2.6", "--bootstrap", "0"],
        "pipeline": ["pipeline", "--runs", f"{d}/sweep.csv", "--target-params", "1e9", "--target-steps", "1e5"],
        "runs import": ["runs", "import", f"{d}/train.csv", "--out", f"{d}/copy.csv"],
        "bad input": ["fit", "--runs", f"{d}/nope.csv"],
    }


@pytest.mark.parametrize("name", list(_commands("")))
def test_every_json_command_is_strict(capsys, files, name):
    code, out, err = _cli(capsys, *_commands(files)[name], "--json")
    assert code == (2 if name == "bad input" else 0), err
    doc = _strict(out)
    assert doc["schema_version"] == 1
    if name == "compare":
        split = doc["laws"][0]["splits"]["one"]
        # one held-out run: rank correlation is undefined, and says so instead of writing NaN
        assert split["spearman"] is None and split["spearman_reason"].startswith("not a number")
        assert math.isfinite(split["mre"])


def test_predict_json_is_strict(capsys, files, tmp_path):
    law = tmp_path / "law.json"
    code, _, err = _cli(capsys, "fit", "--runs", f"{files}/train.csv", "--law", "linear", "--target", "pile_cc",
                        "--out", str(law))
    assert code == 0, err
    code, out, err = _cli(capsys, "predict", "--law", str(law), "--mixtures", f"{files}/one.csv", "--json")
    assert code == 0, err and _strict(out)["predictions"][0]["pred:pile_cc"] > 0


def test_demo_json_is_strict(capsys):
    code, out, err = _cli(capsys, "demo", "--laws", "linear", "--json")
    assert code == 0, err
    assert _strict(out)["laws"][0]["law"] == "linear"


# ---------------------------------------------------------------------- the trainer's commands (mixlaw[train])
TINY = ["--size", "0.01M", "--tokens", "3k", "--eval-every", "5", "--block_size=32", "--batch_size=8",
        "--eval_tokens=256", "--num_threads=1"]


@pytest.fixture(scope="module")
def corpus_json(tmp_path_factory):
    """``corpus build --json`` of a two-domain corpus: (corpus folder, the strict-parsed document)."""
    pytest.importorskip("torch")
    out = tmp_path_factory.mktemp("corpus") / "c"
    from mixlaw.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["corpus", "build", "--out", str(out), "--domains", "math,docs", "--max-mb", "0.04", "--json"])
    assert exc.value.code in (0, None)
    return out


def test_corpus_build_json_is_strict(corpus_json, tmp_path, capsys):
    code, out, err = _cli(capsys, "corpus", "build", "--out", str(tmp_path / "c"), "--domains", "math,legal",
                          "--max-mb", "0.02", "--json")
    assert code == 0, err
    doc = _strict(out)
    assert doc["schema_version"] == 1 and doc["corpus"] == str(tmp_path / "c")
    assert "math" in json.dumps(doc["manifest"])


def test_train_sweep_and_export_json_are_strict(corpus_json, tmp_path, capsys):
    code, out, err = _cli(capsys, "train", "--corpus", str(corpus_json), "--mixture", "math=0.5,docs=0.5", *TINY,
                          "--out", str(tmp_path / "t"), "--json")
    assert code == 0, err
    result = _strict(out)["result"]
    assert result["checkpoints"] and all(v > 0 for ck in result["checkpoints"] for v in ck["losses"].values())
    assert _strict((tmp_path / "t" / "result.json").read_text()) == result

    design = tmp_path / "design.csv"
    design.write_text("w:math,w:docs\n0.5,0.5\n0.8,0.2\n")
    store = tmp_path / "s.db"
    code, out, err = _cli(capsys, "sweep", "--corpus", str(corpus_json), "--design", str(design), "--sizes",
                          "0.01M", "--tokens", "3k", "--eval-every", "5", "--store", str(store), "--json",
                          "--block_size=32", "--batch_size=8", "--eval_tokens=256", "--num_threads=1")
    assert code == 0, err
    doc = _strict(out)
    assert doc["sweep"]["runs"] == doc["sweep"]["trained"] == 2 and doc["diverged"] == []

    code, out, err = _cli(capsys, "runs", "export", str(store), str(tmp_path / "runs.csv"), "--json")
    assert code == 0, err
    assert _strict(out)["runs"] == 2


def test_diverged_train_and_sweep_json_are_strict(corpus_json, tmp_path, capsys, monkeypatch):
    """A run whose losses go NaN: the error document of ``train --json``, the result.json it leaves and the
    summary of ``sweep --json`` stay strict JSON (no NaN token anywhere)."""
    from mixlaw.train import loop

    real = loop.evaluate
    calls = {"n": 0}

    def nan_after_first(model, windows, batch_rows):
        calls["n"] += 1
        out = real(model, windows, batch_rows)
        return out if calls["n"] == 1 else {k: float("nan") for k in out}

    monkeypatch.setattr(loop, "evaluate", nan_after_first)
    code, out, err = _cli(capsys, "train", "--corpus", str(corpus_json), "--mixture", "math=0.5,docs=0.5", *TINY,
                          "--out", str(tmp_path / "t"), "--json")
    assert code == 1 and "diverged" in err
    assert _strict(out)["error"]["type"] == "DivergedError"
    saved = _strict((tmp_path / "t" / "result.json").read_text())
    assert saved["diverged"].startswith("diverged by step 10")

    calls["n"] = 0
    design = tmp_path / "design.csv"
    design.write_text("w:math,w:docs\n0.5,0.5\n")
    code, out, err = _cli(capsys, "sweep", "--corpus", str(corpus_json), "--design", str(design), "--sizes",
                          "0.01M", "--tokens", "3k", "--eval-every", "5", "--store", str(tmp_path / "s.db"),
                          "--json", "--block_size=32", "--batch_size=8", "--eval_tokens=256", "--num_threads=1")
    assert code == 0, err
    doc = _strict(out)
    assert doc["sweep"]["diverged"] == 1 and len(doc["diverged"]) == 1


def test_a_backtest_part_not_run_says_why_its_errors_are_null(tmp_path, capsys):
    # Three model sizes: the size part cannot hold one out (the size law needs 3 left), and every curve's first
    # checkpoint lies beyond its last / 3, so the steps part has nothing to fit. Their errors are null in --json;
    # the reason said "undefined for these data (e.g. ... a zero denominator)", not that the part was not run.
    from test_pipeline import world

    path = tmp_path / "sweep.csv"
    world(n_mix=8, sizes=[1e7, 2e7, 4e7], steps=[1000, 1500, 2000]).frame.to_csv(path, index=False)
    code, out, _ = _cli(capsys, "pipeline", "--runs", str(path), "--target-params", "1e9", "--target-steps", "4000",
                        "--route", "direct", "--backtest", "--json")
    assert code == 0, out
    parts = {b["kind"]: b for b in _strict(out)["backtest"]}
    assert parts["size"]["mre"] is None and parts["size"]["skipped"].startswith("3 model size(s)")
    for b in parts.values():
        assert b["skipped"]
        for key in ("mre", "max_rel_error", "mean_signed"):
            assert b[f"{key}_reason"] == f"not run: {b['skipped']}"


def test_a_backtest_part_not_needed_says_why_its_ratio_is_null(tmp_path, capsys):
    # Steps only (one size): the size part is not needed; its ratio was null with the generic "not a number:
    # undefined for these data (e.g. an R^2 or relative error with a zero denominator, ...)" beside errors that
    # said "not needed: ..." (Ye et al.'s 5Mix at 160M, `pipeline --steps-only --backtest --json`).
    from test_pipeline import world

    path = tmp_path / "one.csv"
    world(n_mix=8, sizes=[4e7], steps=[250, 500, 1000, 2000, 3000]).frame.to_csv(path, index=False)
    code, out, _ = _cli(capsys, "pipeline", "--runs", str(path), "--target-steps", "9000", "--route", "direct",
                        "--backtest", "--json")
    assert code == 0, out
    size = {b["kind"]: b for b in _strict(out)["backtest"]}["size"]
    assert size["ratio"] is None and size["not_needed"]
    assert size["ratio_reason"] == size["mre_reason"] == f"not needed: {size['not_needed']}"
