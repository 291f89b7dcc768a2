"""`fit` and `optimize` take `--dataset` like `compare` and `report` (a new user following the README's
`--dataset marin-delphi` got 'No such option: --dataset' from optimize and fit)."""
from __future__ import annotations

import json

from cli_runner import run_cli as _cli


def test_fit_and_optimize_on_a_bundled_dataset(capsys):
    code, out, err = _cli(capsys, "fit", "--dataset", "marin-delphi", "--law", "linear", "--target",
                          "uncheatable_obj")
    assert code == 0, err
    assert "data=marin-delphi:train (187 runs, 39 domains)" in out
    code, out, err = _cli(capsys, "optimize", "--dataset", "marin-delphi", "--law", "linear", "--target",
                          "uncheatable_obj", "--json")
    assert code == 0, err
    weights = json.loads(out)["optimum"]["weights"]
    assert len(weights) == 39 and abs(sum(weights.values()) - 1) < 1e-9


def test_exactly_one_source(capsys, tmp_path):
    for argv in (["fit", "--law", "linear"], ["optimize", "--law", "linear"],
                 ["fit", "--dataset", "regmix", "--runs", str(tmp_path / "x.csv")]):
        code, _, err = _cli(capsys, *argv)
        assert code == 2 and "give exactly one of --runs PATH or --dataset" in err
    code, _, err = _cli(capsys, "fit", "--dataset", "nope", "--law", "linear")
    assert code == 2 and "unknown dataset 'nope'" in err


def test_design_reads_a_bundled_dataset_as_its_pilots(capsys, tmp_path):
    # left32: design read its pilot table from --runs only ('No such option: --dataset'), where fit, optimize,
    # compare and report take --dataset regmix | marin-delphi; the option's text is theirs.
    import pandas as pd
    import typer.main

    from mixlaw.cli import app
    from mixlaw.datasets import bundled_splits

    chosen = tmp_path / "chosen.csv"
    code, _, err = _cli(capsys, "design", "--select", "20", "--dataset", "regmix", "--target", "pile_cc", "--out",
                        str(chosen))
    assert code == 0, err
    got, train = pd.read_csv(chosen), bundled_splits("regmix")[0].frame
    assert len(got) == 20 and set(got["run"].astype(str)) <= set(train["run"].astype(str))
    assert "loss:pile_cc" in got.columns
    code, _, err = _cli(capsys, "design", "--select", "20", "--dataset", "regmix", "--runs", str(chosen))
    assert code == 2 and "give exactly one of --runs PATH or --dataset" in err
    code, _, err = _cli(capsys, "design", "--dataset", "regmix", "--domains", "a,b")
    assert code == 2 and "--select K and --runs PILOTS (or --dataset NAME) go together" in err
    helps = {}
    for cmd in typer.main.get_command(app).commands.values():
        for p in cmd.params:
            if "--dataset" in p.opts and cmd.name in ("fit", "optimize", "design"):
                helps[cmd.name] = p.help
    assert set(helps) == {"fit", "optimize", "design"} and len(set(helps.values())) == 1
