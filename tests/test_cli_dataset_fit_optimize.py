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
