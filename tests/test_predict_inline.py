"""`mixlaw predict --mixtures web=0.6,code=0.4`: one mixture inline, as `mixlaw export --mixture` takes it
(it said "web=0.6,code=0.4: no such file")."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mixlaw.cli import main


def _run(capsys, *argv):
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    cap = capsys.readouterr()
    return exc.value.code, cap.out, cap.err


def test_predict_one_inline_mixture(tmp_path, capsys):
    W = np.random.default_rng(0).dirichlet(np.ones(3), 20)
    runs = tmp_path / "runs.csv"
    pd.DataFrame({"run": [f"r{i}" for i in range(20)], "w:web": W[:, 0], "w:code": W[:, 1], "w:wiki": W[:, 2],
                  "loss:x": 3 - W[:, 0] + 0.5 * W[:, 1]}).to_csv(runs, index=False)
    law = tmp_path / "law.json"
    assert _run(capsys, "fit", "--runs", str(runs), "--law", "linear", "--out", str(law))[0] == 0
    code, out, _ = _run(capsys, "predict", "--law", str(law), "--mixtures", "web=0.3,code=0.3,wiki=0.4", "--json")
    assert code == 0
    (row,) = json.loads(out)["predictions"]
    assert row["run"] == "web=0.3,code=0.3,wiki=0.4" and row["pred:x"] == pytest.approx(3 - 0.3 + 0.15, abs=1e-6)
    code, out, _ = _run(capsys, "predict", "--law", str(law), "--mixtures", "web=0.5,code=0.5", "--json")
    assert code == 0 and json.loads(out)["predictions"][0]["pred:x"] == pytest.approx(2.75, abs=1e-6)  # wiki 0
    code, _, err = _run(capsys, "predict", "--law", str(law), "--mixtures", "web=0.5,books=0.5")
    assert code == 2 and "unknown domain(s) ['books']" in err
    code, _, err = _run(capsys, "predict", "--law", str(law), "--mixtures", "web=0.5,code=0.4")
    assert code == 2 and "weights sum to 0.9, expected 1 ± 0.01" in err


def _linear_law(tmp_path, capsys, n: int, seed: int):
    """A linear law saved by 'mixlaw fit' on n runs of two domains whose loss is exactly 3 - w:web."""
    W = np.random.default_rng(seed).dirichlet(np.ones(2), n)
    runs = tmp_path / "runs.csv"
    pd.DataFrame({"run": [f"r{i}" for i in range(n)], "w:web": W[:, 0], "w:code": W[:, 1],
                  "loss:x": 3 - W[:, 0]}).to_csv(runs, index=False)
    law = tmp_path / "law.json"
    assert _run(capsys, "fit", "--runs", str(runs), "--law", "linear", "--out", str(law))[0] == 0
    return law


def test_predict_the_mixture_file_optimize_or_export_wrote(tmp_path, capsys):
    # mixlaw optimize --export json --out ox.json; mixlaw predict --law l.json --mixtures ox.json said "a table of
    # mixtures needs one 'w:<domain>' column ...; found 0, among columns ['domain', 'weight']".
    law = _linear_law(tmp_path, capsys, n=20, seed=0)
    exported = tmp_path / "ox.json"
    exported.write_text(json.dumps([{"domain": "web", "weight": 0.25}, {"domain": "code", "weight": 0.75}]))
    printed = tmp_path / "o.json"
    printed.write_text(json.dumps({"schema_version": 1, "optimum": {"weights": {"web": 0.25, "code": 0.75}}}))
    records = tmp_path / "table.json"  # a run table stored as JSON records is still a table
    records.write_text(json.dumps([{"run": "a", "w:web": 0.25, "w:code": 0.75}, {"run": "b", "w:web": 1, "w:code": 0}]))
    # 'export --mixture m.yaml' reads a YAML mapping (d1c0113); predict read it as a run table and said "unknown
    # table format '.yaml'" (docs31).
    yaml_mix = tmp_path / "m.yaml"
    yaml_mix.write_text("web: 0.25\ncode: 0.75\n")
    for path, n in ((exported, 1), (printed, 1), (records, 2), (yaml_mix, 1)):
        code, out, err = _run(capsys, "predict", "--law", str(law), "--mixtures", str(path), "--json")
        assert code == 0, err
        rows = json.loads(out)["predictions"]
        assert len(rows) == n and rows[0]["pred:x"] == pytest.approx(2.75, abs=1e-6)


def test_predict_leaves_out_a_domain_the_law_lacks_at_share_0_in_one_mixture(tmp_path, capsys):
    # 'predict --mixtures web=0.25,code=0.75,news=0' said "unknown domain(s) ['news']", where a table row with
    # w:news = 0 is predicted with a warning, and law.predict({..., "news": 0}) predicts (1c3ba59).
    law = _linear_law(tmp_path, capsys, n=20, seed=0)
    yaml_mix = tmp_path / "m.yaml"
    yaml_mix.write_text("web: 0.25\ncode: 0.75\nnews: 0\n")
    for spec in ("web=0.25,code=0.75,news=0", str(yaml_mix)):
        code, out, err = _run(capsys, "predict", "--law", str(law), "--mixtures", spec, "--json")
        assert code == 0, err
        assert json.loads(out)["predictions"][0]["pred:x"] == pytest.approx(2.75, abs=1e-6)
        assert "['w:news'] are 0 in every row and not among the law's domains; ignored" in err
    code, _, err = _run(capsys, "predict", "--law", str(law), "--mixtures", "web=0.25,code=0.65,news=0.1")
    assert code == 2 and "unknown domain(s) ['news']" in err


def test_predict_names_a_yaml_mixture_weight_that_is_not_a_number(tmp_path, capsys):
    # 'web: abc' in m.yaml stopped on numpy's "ufunc 'isfinite' not supported for the input types" (a traceback,
    # exit 1), where the same weight in a JSON file, and export --mixture m.yaml, name it.
    law = _linear_law(tmp_path, capsys, n=20, seed=0)
    for i, (text, shown) in enumerate((("web: abc\ncode: 0.75\n", "'abc'"),
                                       ("web: null\ncode: 0.75\n", "None"), ("web: true\ncode: 0.75\n", "True"))):
        path = tmp_path / f"m{i}.yaml"
        path.write_text(text)
        code, _, err = _run(capsys, "predict", "--law", str(law), "--mixtures", str(path))
        assert code == 2 and f"weight of domain 'web' is not a number: {shown}" in err, err
    # a percentage is a number, as inline (web=25%) and in a CSV mixture file (hunt34; it was refused as '25%')
    path = tmp_path / "pct.yaml"
    path.write_text("web: 25%\ncode: 75%\n")
    code, _, err = _run(capsys, "predict", "--law", str(law), "--mixtures", str(path))
    assert code == 0, err


def test_predict_mixtures_from_a_table_of_checkpoints(tmp_path, capsys):
    """A run table with a step column (several checkpoints per run, e.g. the large runs to check predictions
    against) was refused as "duplicate run ... (same run, params as line 2)": the mixtures' validator dropped
    the step column before checking (run, params, step) keys."""
    law = _linear_law(tmp_path, capsys, n=12, seed=1)
    ckpts = tmp_path / "big.csv"
    pd.DataFrame({"run": ["big", "big"], "w:web": [0.25, 0.25], "w:code": [0.75, 0.75], "step": [1000, 2000],
                  "loss:x": [2.9, 2.8]}).to_csv(ckpts, index=False)
    code, out, err = _run(capsys, "predict", "--law", str(law), "--mixtures", str(ckpts), "--json")
    assert code == 0, err
    rows = json.loads(out)["predictions"]
    assert [r["run"] for r in rows] == ["big", "big"]
    assert [r["pred:x"] for r in rows] == pytest.approx([2.75, 2.75], abs=1e-6)


def test_predict_passes_the_tables_scale_to_a_law_fitted_across_scales(tmp_path, capsys):
    """A law fitted over a range of token counts (bimix, which takes tokens; auto chose it on a trainer sweep of
    several checkpoints) could not be used by `mixlaw predict --law`: the mixtures' own 'tokens' column was dropped
    and the law said "tokens is required". The table's params/tokens now reach the law; without them the error
    says which column to add."""
    from token_sweep import token_sweep

    from mixlaw.laws import law_from_dict

    frame = token_sweep(seed=2)
    runs, law_path, cand = tmp_path / "runs.csv", tmp_path / "law.json", tmp_path / "cand.csv"
    frame.to_csv(runs, index=False)
    assert _run(capsys, "fit", "--runs", str(runs), "--law", "bimix", "--target", "all", "--out", str(law_path))[0] == 0
    pd.DataFrame({"run": ["a", "b"], "w:web": [0.3, 0.6], "w:code": [0.7, 0.4],
                  "tokens": [2e8, 3e8]}).to_csv(cand, index=False)
    code, out, err = _run(capsys, "predict", "--law", str(law_path), "--mixtures", str(cand), "--json")
    assert code == 0, err
    law = law_from_dict(json.loads(law_path.read_text()))
    want = law.predict(np.array([[0.3, 0.7], [0.6, 0.4]]), tokens=np.array([2e8, 3e8]))
    got = [[r["pred:web"], r["pred:code"]] for r in json.loads(out)["predictions"]]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    code, _, err = _run(capsys, "predict", "--law", str(law_path), "--mixtures", "web=0.5,code=0.5")
    assert code == 2 and "give the table of mixtures a 'tokens' column" in err


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_predict_mixtures_errors_name_the_files_own_line(tmp_path, capsys, fmt):
    # The mixtures reader counted every format's rows as a CSV's (header + 1): a bad weight in a parquet's row 2
    # was called line 3, and a JSONL's blank lines were not counted.
    W = np.random.default_rng(0).dirichlet(np.ones(2), 20)
    runs = tmp_path / "runs.csv"
    pd.DataFrame({"run": [f"r{i}" for i in range(20)], "w:web": W[:, 0], "w:code": W[:, 1],
                  "loss:x": 3 - W[:, 0]}).to_csv(runs, index=False)
    law = tmp_path / "law.json"
    assert _run(capsys, "fit", "--runs", str(runs), "--law", "linear", "--out", str(law))[0] == 0
    cand = pd.DataFrame({"run": ["a", "b", "c"], "w:web": [0.5, 0.4, 0.3], "w:code": [0.5, 0.58, 0.7]})
    path = tmp_path / f"cand.{fmt}"
    if fmt == "parquet":
        cand.to_parquet(path)
        at = ": row 2"  # a Parquet file's rows, counted from 1
    else:
        recs = [json.dumps(r) for r in cand.to_dict("records")]
        path.write_text(recs[0] + "\n\n\n" + recs[1] + "\n" + recs[2] + "\n")
        at = ":4"  # the line, after two blank lines
    code, _, err = _run(capsys, "predict", "--law", str(law), "--mixtures", str(path))
    assert code == 2 and f"cand.{fmt}{at}: column 'w:web': weights sum to 0.98" in err


def test_predict_reads_a_domain_weight_csv_as_one_mixture(tmp_path, capsys):
    # hunt30: docs/optimize.md says predict --mixtures takes what export --mixture does, 'a CSV with columns
    # domain,weight, one row per domain'; predict said "a table of mixtures needs one 'w:<domain>' column per
    # domain of the law; found 0, among columns ['domain', 'weight']". Percent cells as export reads them.
    from mixlaw.api import load_law, predict_table

    law = _linear_law(tmp_path, capsys, n=20, seed=0)
    mix = tmp_path / "mix.csv"
    mix.write_text("domain,weight\nweb,25%\ncode,75%\n")
    code, out, err = _run(capsys, "predict", "--law", str(law), "--mixtures", str(mix), "--json")
    assert code == 0, err
    (row,) = json.loads(out)["predictions"]
    assert row["run"] == str(mix) and row["pred:x"] == pytest.approx(2.75, abs=1e-6)
    # The API reads it alike, from the file or as a frame; a wrong sum is still one error naming the file.
    frame = pd.DataFrame({"domain": ["web", "code"], "weight": [0.25, 0.75]})
    assert predict_table(load_law(law), frame)["pred:x"].iloc[0] == pytest.approx(2.75, abs=1e-6)
    mix.write_text("domain,weight\nweb,0.25\ncode,0.5\n")
    code, _, err = _run(capsys, "predict", "--law", str(law), "--mixtures", str(mix))
    assert code == 2 and f"mixtures {mix} (--mixtures): weights sum to 0.75" in err


def test_predict_law_takes_one_scale_for_every_mixture(tmp_path, capsys):
    """AutoScale's DDO runs (feiyang-k/AutoScale): each run adds or removes one domain's data, so its token
    count is part of its mixture. bimix fitted on them, `predict --law --mixtures c4=0.5,books=0.5` said "tokens
    is required ... pass tokens=", and `--tokens 1.2e9` was refused: "--params, --steps and --tokens apply to
    --pipeline (a saved law predicts at its own scale)". --tokens / --params now reach a law fitted across
    them; a law fitted at one scale, or a table with its own column, still refuses them."""
    from token_sweep import token_sweep

    from mixlaw.laws import law_from_dict

    runs, law_path, one = tmp_path / "runs.csv", tmp_path / "law.json", tmp_path / "one.json"
    frame = token_sweep(seed=2)
    frame.to_csv(runs, index=False)
    assert _run(capsys, "fit", "--runs", str(runs), "--law", "bimix", "--target", "all", "--out", str(law_path))[0] == 0
    code, _, err = _run(capsys, "predict", "--law", str(law_path), "--mixtures", "web=0.3,code=0.7")
    assert code == 2 and "(mixlaw predict: --tokens)" in err
    code, out, err = _run(capsys, "predict", "--law", str(law_path), "--mixtures", "web=0.3,code=0.7",
                          "--tokens", "2.5e8", "--json")
    assert code == 0, err
    doc = json.loads(out)
    want = law_from_dict(json.loads(law_path.read_text())).predict(np.array([[0.3, 0.7]]), tokens=2.5e8)
    np.testing.assert_allclose([[r["pred:web"], r["pred:code"]] for r in doc["predictions"]], want, rtol=1e-12)
    assert doc["tokens"] == 2.5e8
    cand = tmp_path / "cand.csv"
    pd.DataFrame({"w:web": [0.3], "w:code": [0.7], "tokens": [2e8]}).to_csv(cand, index=False)
    code, _, err = _run(capsys, "predict", "--law", str(law_path), "--mixtures", str(cand), "--tokens", "2.5e8")
    assert code == 2 and "has its own 'tokens' column" in err
    for flag, what in (("--params", "model sizes"), ("--steps", "--steps applies to --pipeline")):
        code, _, err = _run(capsys, "predict", "--law", str(law_path), "--mixtures", "web=0.3,code=0.7", flag, "1e8")
        assert code == 2 and what in err, err
    last = frame[frame["tokens"] == frame["tokens"].max()]
    last.to_csv(runs, index=False)  # one token count: the law has no tokens input
    assert _run(capsys, "fit", "--runs", str(runs), "--law", "bimix", "--target", "all", "--out", str(one))[0] == 0
    code, _, err = _run(capsys, "predict", "--law", str(one), "--mixtures", "web=0.3,code=0.7", "--tokens", "2.5e8")
    assert code == 2 and "was not fitted across token counts" in err, err
