"""Small things a new user trips on: the t_ij header names its reference domain; `mixlaw report` defaults
to one eval set and says so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixlaw.laws import YeExponential, law_from_dict


def _table(tmp_path, name, seed):
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=30)
    frame = pd.DataFrame({"run": [f"{name}{i}" for i in range(30)], **{f"w:{d}": W[:, j] for j, d in enumerate("abc")},
                          "loss:x": 2 + np.exp(W @ [-1.0, 0.3, 0.1]), "loss:y": 3 + np.exp(W @ [0.2, -0.8, 0.0])})
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path, W, frame


def test_interaction_header_names_the_reference_domain(tmp_path):
    _, W, frame = _table(tmp_path, "r", 0)
    W[:, 2] += 0.5  # make 'c' the domain with the largest mean share: the automatic reference
    W /= W.sum(axis=1, keepdims=True)
    law = YeExponential(n_restarts=2).fit(W, frame[["loss:x", "loss:y"]].to_numpy(), domains=list("abc"),
                                          targets=["x", "y"])
    title = law.extra_report_sections()[0][0]
    assert "reference domain 'c'" in title and "more than 'c' does" in title
    assert law_from_dict(law.to_dict()).extra_report_sections()[0][0] == title
    assert "reference domain 'c'" in str(law.report())


def test_report_defaults_to_the_first_eval_set(capsys, tmp_path):
    from mixlaw.cli import main

    train, _, _ = _table(tmp_path, "t", 1)
    test, _, _ = _table(tmp_path, "h", 2)
    out = tmp_path / "r.html"
    with pytest.raises(SystemExit) as exc:
        main(["report", "--runs", str(train), "--test", str(test), "--laws", "linear", "--out", str(out)])
    err = capsys.readouterr().err
    assert exc.value.code == 0 and "report on eval set 'x' (first of 2; --target all for every one)" in err
    page = out.read_text()
    assert "targets: x;" in page


def test_leaderboard_explains_inf_and_nan():
    from rich.console import Console

    from mixlaw.cli.laws import _leaderboard_table
    from mixlaw.compare import LawScore, Leaderboard

    split = {"spearman": float("nan"), "pearson": 0.0, "mre": float("inf"), "rmse": float("inf"), "r2": 0.0,
             "regret_at_1": 0.0}
    ok = dict(split, spearman=0.9, mre=0.01, rmse=0.02)
    board = Leaderboard([LawScore("dz-eq3", 1.0, 5, {"test": split}), LawScore("linear", 0.1, 3, {"test": ok})],
                        ["x"], "train", 10)
    console = Console(width=200, record=True)
    console.print(_leaderboard_table(board, "t"))
    text = console.export_text()
    assert "inf*" in text and "n/a*" in text and "0.9000" in text
    assert "inf*: some prediction overflowed" in text and "n/a*: undefined" in text


def test_leaderboard_keeps_columns_when_a_law_fails():
    # A failed law's reason sat in the no_wrap 'fit s' cell; on Marin's swarm (dz-eq3 cannot fit) it widened
    # that column until every other cell, law names and numbers included, was cut to '…'.
    from rich.console import Console

    from mixlaw.cli.laws import _leaderboard_table
    from mixlaw.compare import LawScore, Leaderboard

    ok = {"spearman": 0.8702, "pearson": 0.9, "mre": 0.0093, "rmse": 0.0143, "r2": 0.7, "regret_at_1": 0.0}
    why = "dz-eq3: 161 observations are too few to fit 195 parameters; need at least 196 " + "(why) " * 30
    board = Leaderboard([LawScore("dz-eq3", 1.0, 0, {}, error=why), LawScore("loglinear-sat", 0.1, 78,
                                                                                {"early_stop": ok})],
                        ["x"], "train", 10)
    console = Console(width=120, record=True, soft_wrap=True)
    console.print(_leaderboard_table(board, "t"))
    text = console.export_text()
    assert "loglinear-sat" in text and "0.8702" in text and "0.0143" in text and "…" not in text
    assert "dz-eq3 failed: 161 observations are too few" in text  # the reason, below the table, named once


def test_a_bad_number_names_the_option_it_came_from(tmp_path, capsys):
    # hunt26: 'continual --pre-loss -3' said "pre_loss must be a positive number", 'predict --pipeline p.json
    # --params 0' "params must be ...", 'design --max-epochs 0' "max_epochs must be ...", 'optimize --search simulate
    # --samples 0' "n_samples must be ...": Python's names, not the options typed.
    from cli_runner import run_cli

    path, _, _ = _table(tmp_path, "r", 0)
    cpt = tmp_path / "cpt.csv"
    cpt.write_text("run,w:web,w:code,loss:web\n" + "".join(f"r{i},{1 - p},{p},{2.4 + p * p}\n"
                                                           for i, p in enumerate([0, 0.2, 0.4, 0.6, 0.8])))
    for argv, named in (
            (["continual", "--runs", str(cpt), "--original", "web", "--new", "code", "--bootstrap", "0",
              "--pre-loss", "-3"], "pre_loss (--pre-loss) must be a positive number"),
            (["design", "--domains", "a,b", "--n", "2", "--tokens-available", "a=1B,b=1B", "--target-tokens", "1B",
              "--max-epochs", "0"], "max_epochs (--max-epochs) must be a positive number"),
            (["optimize", "--runs", str(path), "--law", "ye-exp", "--search", "simulate", "--samples", "0"],
             "n_samples (--samples) must be a positive int"),
            (["optimize", "--runs", str(path), "--law", "ye-exp", "--search", "simulate", "--samples", "10",
              "--top-k", "20"], "top_k (--top-k) must be an int in [1, n_samples=10]")):
        code, out, err = run_cli(capsys, *argv)
        assert code == 2 and out == "" and named in err, (argv, err)
    from mixlaw.pipeline.result import _positive

    for name in ("params", "steps", "tokens"):
        with pytest.raises(ValueError, match=rf"^{name} \(--{name}\) must be a positive number; got 0$"):
            _positive(0, name)


def test_active_design_errors_name_the_options_typed(tmp_path, capsys):
    # hunt26: 'design --method active --radius 0' said "radius must be ...", '--bootstrap 1' "n_boot (bootstrap
    # replicates) must be ...", '--n 200' "(raise radius or n_candidates, or lower min_distance)", none of which the
    # command takes under those names.
    from cli_runner import run_cli

    path, _, _ = _table(tmp_path, "r", 0)
    base = ["design", "--method", "active", "--runs", str(path), "--bootstrap", "4"]
    for extra, named in ((["--radius", "0"], "radius (--radius) must be a positive number"),
                         (["--bootstrap", "1"], "n_boot (--bootstrap: bootstrap replicates) must be an int >= 2"),
                         (["--n", "200", "--radius", "0.05"], "(lower --n (k=), raise --radius (radius=)")):
        # a --bootstrap of its own replaces base's (one option given twice is refused: hunt34b)
        code, out, err = run_cli(capsys, *(base[:-2] if "--bootstrap" in extra else base), *extra)
        assert code == 2 and out == "" and named in err, (extra, err)


def _tiny_table(tmp_path):
    """6 runs; --holdout 0.34 leaves 4 fitting runs: too few for ye-exp (5) and additive (8), not for linear."""
    W = np.random.default_rng(0).dirichlet(np.ones(3), size=6)
    path = tmp_path / "tiny.csv"
    pd.DataFrame({"run": list("abcdef"), **{f"w:{d}": W[:, j] for j, d in enumerate("xyz")},
                  "loss:e": 3.0 + W @ [0.1, -0.2, 0.3]}).to_csv(path, index=False)
    return path


def test_compare_exits_1_when_every_law_failed(tmp_path, capsys):
    # A leaderboard of failures exited 0, so `mixlaw compare ... && next-step` went on (hunt26).
    from mixlaw.cli import main

    path = _tiny_table(tmp_path)
    for extra in ([], ["--json"]):
        with pytest.raises(SystemExit) as exc:
            main(["compare", "--runs", str(path), "--holdout", "0.34", "--laws", "ye-exp,additive", *extra])
        assert exc.value.code == 1
        assert "every law failed to fit (2; the reasons are above)" in capsys.readouterr().err
    # One law that fits is a leaderboard: exit 0.
    with pytest.raises(SystemExit) as exc:
        main(["compare", "--runs", str(path), "--holdout", "0.34", "--laws", "ye-exp,linear"])
    assert exc.value.code == 0


def test_report_writes_the_page_then_exits_1_when_every_law_failed(tmp_path, capsys):
    # `mixlaw compare` exits 1 on a leaderboard of failures; `mixlaw report` wrote a page of them and exited 0, so
    # `mixlaw report ... && next-step` went on.
    from mixlaw.cli import main

    path = _tiny_table(tmp_path)
    out = tmp_path / "r.html"
    with pytest.raises(SystemExit) as exc:
        main(["report", "--runs", str(path), "--holdout", "0.34", "--laws", "ye-exp,additive", "--out", str(out)])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert f"error: every law failed to fit (2; the reasons are in {out})" in err
    assert err.count("error:") == 1
    assert "failed: ye-exp[e]: 4 observations are too few" in out.read_text()  # the page is still written
