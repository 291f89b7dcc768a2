"""`mixlaw optimize --law law.json`: a law saved by `mixlaw fit --out` is optimised without refitting (a stack's
cross-validation, fit's default, takes minutes), with the optimum a fit on the same runs gives."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli

from mixlaw import read_runs
from mixlaw.api import load_law, optimize_saved_law
from mixlaw.errors import InputError
from mixlaw.laws import get_law


def _runs(path, n: int = 24, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(3), size=n)
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(n)], "w:a": w[:, 0], "w:b": w[:, 1], "w:c": w[:, 2],
                          "loss:x": 2.5 + np.exp(w @ [0.0, -0.8, 0.4]) * np.exp(0.002 * rng.standard_normal(n)),
                          "loss:y": 2.0 + np.exp(w @ [-0.6, 0.3, 0.1]) * np.exp(0.002 * rng.standard_normal(n))})
    frame.to_csv(path, index=False)
    return path


def test_a_saved_law_gives_the_optimum_of_a_fit_on_its_runs(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    runs, saved = _runs(tmp_path / "runs.csv"), tmp_path / "law.json"
    code, _, err = run_cli(capsys, "fit", "--runs", str(runs), "--law", "ye-exp", "--out", str(saved))
    assert code == 0, err
    code, out, err = run_cli(capsys, "optimize", "--law", str(saved), "--runs", str(runs), "--json")
    assert code == 0, err
    again = json.loads(out)["optimum"]
    code, out, err = run_cli(capsys, "optimize", "--runs", str(runs), "--law", "ye-exp", "--json")
    assert code == 0, err
    refit = json.loads(out)["optimum"]
    for key in ("weights", "losses"):
        np.testing.assert_allclose(list(again[key].values()), list(refit[key].values()), atol=1e-8)
    assert again["natural"] == refit["natural"] and refit["natural"]["source"] == "mean of the runs"
    assert again["best_run"] == refit["best_run"] and again["nearest_run_name"] == refit["nearest_run_name"]
    # without runs: the saved range is the trust region, the natural mixture uniform
    code, out, err = run_cli(capsys, "optimize", "--law", str(saved), "--json")
    assert code == 0, err
    alone = json.loads(out)["optimum"]
    np.testing.assert_allclose(list(alone["weights"].values()), list(refit["weights"].values()), atol=1e-8)
    assert alone["natural"]["source"] == "uniform" and alone["best_run"] is None


def test_a_law_fitted_for_its_objective_is_optimised_for_it_alone(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    runs, saved = _runs(tmp_path / "runs.csv"), tmp_path / "law.json"
    code, _, err = run_cli(capsys, "fit", "--runs", str(runs), "--law", "auto", "--candidates", "ye-exp,linear",
                           "--objective", "mean", "--out", str(saved))
    assert code == 0, err
    code, out, err = run_cli(capsys, "optimize", "--law", str(saved), "--runs", str(runs))
    assert code == 0, err
    assert "objective=mean (the law's own)" in out and "best run (measured)" in out
    code, _, err = run_cli(capsys, "optimize", "--law", str(saved), "--objective", "total")
    assert code == 2 and "the law was fitted for the objective 'mean' (one predicted column); --objective 'total'" \
        in err


def test_an_explicit_mean_is_refused_by_a_law_fitted_for_weights(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # 'optimize --law weighted.json --objective mean' (hunt31, Olmix's DCLM swarm) minimised the law's weighted sum
    # and said '(the law's own)': --objective mean could not be told from the default.
    runs, saved = _runs(tmp_path / "runs.csv"), tmp_path / "law.json"
    code, _, err = run_cli(capsys, "fit", "--runs", str(runs), "--law", "auto", "--candidates", "ye-exp,linear",
                           "--objective", "weights=x:0.7,y:0.3", "--out", str(saved))
    assert code == 0, err
    code, _, err = run_cli(capsys, "optimize", "--law", str(saved), "--objective", "mean")
    assert code == 2 and err.strip().startswith(
        "error: the law was fitted for the objective {'x': 0.7, 'y': 0.3} (one predicted column); --objective 'mean' "
        "needs a law fitted per eval set or for that objective")
    with pytest.raises(InputError, match="--objective 'mean' needs"):
        optimize_saved_law(load_law(saved), objective="mean")
    for given in ((), ("--objective", "weights=loss:y:0.3,x:0.7")):  # not given, or the law's own: optimised
        code, out, err = run_cli(capsys, "optimize", "--law", str(saved), *given)
        assert code == 0, err
        assert "objective={'x': 0.7, 'y': 0.3} (the law's own)" in out


def test_what_would_shape_a_fit_is_refused_with_a_saved_law(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    runs, saved = _runs(tmp_path / "runs.csv"), tmp_path / "law.json"
    run_cli(capsys, "fit", "--runs", str(runs), "--law", "linear", "--out", str(saved))
    code, _, err = run_cli(capsys, "optimize", "--law", str(saved), "--target", "x", "--bootstrap", "20")
    assert code == 2 and err.strip() == (
        f"error: --law {saved} optimises the saved law as it was fitted; --target, --bootstrap apply to a law fitted "
        "here (--law KEY with --runs): refit for another")
    other = tmp_path / "other.csv"
    pd.read_csv(runs).rename(columns={"w:c": "w:code"}).to_csv(other, index=False)
    code, _, err = run_cli(capsys, "optimize", "--law", str(saved), "--runs", str(other))
    assert code == 2 and "the runs' domains (a, b, code) are not the law's (a, b, c)" in err
    with pytest.raises(InputError, match="takes a fitted law"):
        optimize_saved_law(get_law("linear"), read_runs(runs))
    assert optimize_saved_law(load_law(saved)).weights.keys() == {"a", "b", "c"}


def test_a_saved_objective_law_of_accuracies_warns_when_minimised(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # optimize_mixture sees the one column 'objective'; the evals it sums are named, as optimize --runs names them
    runs, saved = tmp_path / "acc.csv", tmp_path / "law.json"
    pd.read_csv(_runs(tmp_path / "runs.csv")).rename(columns={"loss:x": "loss:acc_x", "loss:y": "loss:acc_y"}
                                                     ).to_csv(runs, index=False)
    code, _, err = run_cli(capsys, "fit", "--runs", str(runs), "--law", "auto", "--candidates", "ye-exp,linear",
                           "--objective", "mean", "--out", str(saved))
    assert code == 0, err
    code, _, err = run_cli(capsys, "optimize", "--law", str(saved))
    assert code == 0 and "eval set(s) ['acc_x', 'acc_y'] read as higher-is-better" in err
    code, _, err = run_cli(capsys, "optimize", "--law", str(saved), "--maximize")
    assert code == 0 and "higher-is-better" not in err


def test_a_saved_law_fitted_across_sizes_says_how_to_give_it_a_scale(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # The optimizer's line advised --at-params / --final-step, which --law law.json refuses as shaping a fit.
    rng = np.random.default_rng(0)
    rows = []
    for n in (1e7, 1e8):
        for i in range(12):
            w = rng.dirichlet(np.ones(3))
            rows.append({"run": f"r{i}_{n:g}", "params": n, "w:a": w[0], "w:b": w[1], "w:c": w[2],
                         "loss:x": 2 + 30 * n ** -0.2 * np.exp(w @ [0.0, -0.5, 0.3])})
    runs, saved = tmp_path / "runs.csv", tmp_path / "law.json"
    pd.DataFrame(rows).to_csv(runs, index=False)
    code, _, err = run_cli(capsys, "fit", "--runs", str(runs), "--law", "dz-eq1", "--out", str(saved))
    assert code == 0, err
    code, _, err = run_cli(capsys, "optimize", "--law", str(saved))
    assert code == 2 and "the saved law 'dz-eq1' was fitted across its runs' model sizes (1e+07 to 1e+08)" in err
    # one row per run (no checkpoints): --final-step cuts nothing, so only --at-params is offered (review33e)
    assert "refit on one scale (mixlaw fit --runs RUNS --at-params largest --out law.json)" in err
    assert "give it (--params; Python: optimize_saved_law(..., params=))" in err
    want = optimize_saved_law(load_law(saved), params=1e8)
    assert set(want.weights) == {"a", "b", "c"}
    # hunt33: the command line could not give it one ("which optimize --law law.json cannot be given").
    code, out, err = run_cli(capsys, "optimize", "--law", str(saved), "--params", "1e8", "--json")
    assert code == 0, err
    got = json.loads(out)["optimum"]["weights"]
    assert got == pytest.approx(want.weights, abs=1e-9)


def test_runs_with_the_domains_in_another_order_give_the_same_optimum(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    runs, saved = _runs(tmp_path / "runs.csv"), tmp_path / "law.json"
    other = tmp_path / "other.csv"
    pd.read_csv(runs)[["run", "w:c", "w:a", "w:b", "loss:y", "loss:x"]].to_csv(other, index=False)
    code, _, err = run_cli(capsys, "fit", "--runs", str(runs), "--law", "ye-exp", "--out", str(saved))
    assert code == 0, err
    docs = []
    for table in (runs, other):
        code, out, err = run_cli(capsys, "optimize", "--law", str(saved), "--runs", str(table), "--json")
        assert code == 0, err
        docs.append(json.loads(out)["optimum"])
    for key in ("weights", "losses"):  # dicts by name: the order of the columns is not the law's
        assert docs[0][key] == pytest.approx(docs[1][key])
    assert docs[0]["natural"]["weights"] == pytest.approx(docs[1]["natural"]["weights"])
    assert docs[0]["best_run"] == docs[1]["best_run"] and docs[0]["nearest_run_name"] == docs[1]["nearest_run_name"]


def test_a_saved_law_with_a_trust_radius_and_no_runs_names_the_option(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # hunt26: 'optimize --law law.json --trust-radius 0.1' said "trust_radius needs the fitting runs' mixtures
    # (runs=)", a keyword the command line has no way to give.
    runs, saved = _runs(tmp_path / "runs.csv"), tmp_path / "law.json"
    code, _, err = run_cli(capsys, "fit", "--runs", str(runs), "--law", "ye-exp", "--out", str(saved))
    assert code == 0, err
    code, out, err = run_cli(capsys, "optimize", "--law", str(saved), "--trust-radius", "0.1")
    assert code == 2 and out == ""
    assert "trust_radius (--trust-radius) needs the fitting runs' mixtures (runs=; on the command line with a " \
           "saved law, --runs or --dataset)" in err
    code, _, err = run_cli(capsys, "optimize", "--law", str(saved), "--runs", str(runs), "--trust-radius", "0.1")
    assert code == 0, err
