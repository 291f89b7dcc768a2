"""``mixlaw optimize --pipeline p.json``: the optimum of a saved pipeline's law at its target scale, with the trainer's
config, without refitting.

Found as a new user on Dai & Zheng's SlimPajama sweep (fitted up to 1.235B, target 2.718B): the README promises
the best mixture for the large run in the config the trainer reads, but `mixlaw optimize --pipeline p.json` was
"No such option", `pipeline --optimize` has no `--export` and refits everything (40 s there, of which the optimum
is under a second), and `optimize --runs` on the same sweep ran auto's cross-validation for 5 minutes before
saying the law needs a scale. From the saved file: 10 s, the same optimum and interval bit for bit.
"""

from __future__ import annotations

import json

import pytest
from cli_runner import run_cli
from test_pipeline_optimum_improvement import world


@pytest.fixture(scope="module")
def saved(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A folder with a sweep (auto fits it with intervals)."""
    d = tmp_path_factory.mktemp("saved")
    world(0.4, 1e-4).frame.to_csv(d / "runs.csv", index=False)
    return d


def _pipeline(capsys, d, *extra):  # type: ignore[no-untyped-def]
    code, out, err = run_cli(capsys, "pipeline", "--runs", str(d / "runs.csv"), "--target-params", "2e8",
                             "--target-steps", "6000", "--save", str(d / "p.json"), "--optimize", *extra, "--json")
    assert code == 0, err
    return json.loads(out)


def test_the_saved_pipelines_optimum_is_the_one_pipeline_optimize_gives(saved, capsys) -> None:  # type: ignore[no-untyped-def]
    fitted = _pipeline(capsys, saved, "--bounds", "a=0.1:0.6")
    code, out, err = run_cli(capsys, "optimize", "--pipeline", str(saved / "p.json"), "--bounds", "a=0.1:0.6", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["optimum"] == fitted["optimum"] and doc["optimum_interval"] == fitted["optimum_interval"]
    assert doc["optimum_interval"]["level"] == 0.8 and doc["pipeline"] == str(saved / "p.json")
    assert 0.1 - 1e-9 <= doc["optimum"]["weights"]["a"] <= 0.6 + 1e-9
    assert doc["optimum"]["steps_to_match"] is not None  # the pipeline's own curves, as pipeline --optimize reads
    code, out, err = run_cli(capsys, "optimize", "--pipeline", str(saved / "p.json"), "--bounds", "a=0.1:0.6")
    assert code == 0, err
    # At what scale: the first line is the saved pipeline's, then the optimum and its interval, as pipeline prints
    assert out.splitlines()[0] == f"{saved / 'p.json'}: {fitted['pipeline']['route']} pipeline -> N* = 2e+08 params, " \
                                  f"S* = 6000 steps (mixing law {fitted['pipeline']['law']})"
    assert "[[Optimal mixture]]" in out
    assert "optimum's predicted losses at the target, 80% prediction interval: a " in out


def test_it_writes_the_trainers_config_and_refuses_the_fit_options(saved, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _pipeline(capsys, saved)
    p = str(saved / "p.json")
    code, out, err = run_cli(capsys, "optimize", "--pipeline", p, "--export", "olmo", "--paths",
                             '{"a": "/d/a", "b": "/d/b", "c": "/d/c"}', "--out", str(tmp_path / "mix.yaml"))
    assert code == 0, err
    assert "source_name: a" in (tmp_path / "mix.yaml").read_text() and "wrote the olmo export" in err
    code, out, err = run_cli(capsys, "optimize", "--pipeline", p, "--out", str(tmp_path / "opt.csv"))
    assert code == 0 and "w:a" in (tmp_path / "opt.csv").read_text().splitlines()[0]
    code, _, err = run_cli(capsys, "optimize", "--pipeline", p, "--law", "ye-pow", "--bootstrap", "10")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--law, --bootstrap apply to a law fitted here" in err
    code, _, err = run_cli(capsys, "optimize", "--pipeline", p, "--runs", str(saved / "runs.csv"))
    assert code == 2 and "--runs applies to a law fitted here" in err


def test_a_token_budget_other_than_the_pipelines_target_is_said_to_be_a_budget(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # --target-tokens is optimize's token budget; with a saved pipeline a user can read it as the scale to optimise
    # at, which is the pipeline's own D*.
    frame = world(0.4, 1e-4).frame
    frame = frame.assign(tokens=frame["step"] * 1e6).drop(columns="step")
    frame.to_csv(tmp_path / "runs.csv", index=False)
    p = str(tmp_path / "p.json")
    code, _, err = run_cli(capsys, "pipeline", "--runs", str(tmp_path / "runs.csv"), "--target-params", "2e8",
                           "--target-tokens", "6e9", "--save", p)
    assert code == 0, err
    (tmp_path / "avail.csv").write_text("domain,tokens\na,1e11\nb,1e11\nc,1e11\n")
    budget = ["--tokens-available", str(tmp_path / "avail.csv")]
    code, out, err = run_cli(capsys, "optimize", "--pipeline", p, *budget, "--target-tokens", "6e9")
    assert code == 0 and "token budget" not in err, err
    code, out, err = run_cli(capsys, "optimize", "--pipeline", p, *budget, "--target-tokens", "2e10")
    assert code == 0 and "--target-tokens 2e+10 is the run's token budget (data repetition, the export); the optimum " \
                         "is the saved law's at its own target, D* = 6e+09 tokens" in err, err
    # The refit it suggests is at the budget given, not at its :.4g rounding (12345678901 as 1.235e+10).
    code, out, err = run_cli(capsys, "optimize", "--pipeline", p, *budget, "--target-tokens", "12345678901")
    assert code == 0 and "(mixlaw pipeline --target-tokens 12345678901 --save ...)" in err, err


def test_the_default_mixture_of_pipeline_optimize_is_taken_from_the_saved_file_too(saved, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # hunt34b: 'mixlaw pipeline ... --optimize --default uniform --save p.json' compared the optimum (its improvement
    # and Ye's steps-to-match figures) with the uniform mixture; 'mixlaw optimize --pipeline p.json' had no --default
    # ("No such option"): from the saved file the figures were against the runs' mean only, so the production
    # mixture a user trains now could not be the reference without refitting.
    p = str(saved / "p.json")
    for default, source in (("uniform", "uniform"), ("a=0.5,b=0.3,c=0.2", "--default")):
        fitted = _pipeline(capsys, saved, "--default", default)
        code, out, err = run_cli(capsys, "optimize", "--pipeline", p, "--default", default, "--json")
        assert code == 0, err
        doc = json.loads(out)
        assert doc["optimum"] == fitted["optimum"], default
        assert doc["optimum"]["natural"]["source"] == source
    mean = _pipeline(capsys, saved)["optimum"]
    assert mean["natural"]["source"] == "mean of the runs"
    assert mean["steps_to_match"] != doc["optimum"]["steps_to_match"]
    code, _, err = run_cli(capsys, "optimize", "--runs", str(saved / "runs.csv"), "--law", "linear", "--default",
                           "uniform")
    assert code == 2 and "--default" in err and "--pipeline" in err, err


def test_the_optimum_row_has_its_interval_as_the_json_does(saved, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A hunt: `optimize --pipeline p.json --out opt.csv` wrote the optimum's row without its 80 % interval, which
    # the --json document has (optimum_interval); the row has it now, as predict --out names it (lo80:/hi80:).
    import pandas as pd

    _pipeline(capsys, saved)
    p = str(saved / "p.json")
    code, out, err = run_cli(capsys, "optimize", "--pipeline", p, "--out", str(tmp_path / "opt.csv"), "--json")
    assert code == 0, err
    doc = json.loads(out)
    row = pd.read_csv(tmp_path / "opt.csv").iloc[0]
    targets = [t for t in doc["optimum_interval"] if t != "level"]
    assert targets
    for t in targets:
        assert [row[f"lo80:{t}"], row[f"hi80:{t}"]] == pytest.approx(doc["optimum_interval"][t], rel=1e-12)
        assert row[f"lo80:{t}"] <= row[f"pred:{t}"] <= row[f"hi80:{t}"]
    # export --mixture still reads the row (its shares only).
    code, _, err = run_cli(capsys, "export", "--mixture", str(tmp_path / "opt.csv"), "--format", "json")
    assert code == 0, err
