"""`mixlaw compare` without --test says how to compare laws on one table; it prints law and split labels as
text: rich read the '[direct]' of 'ye-exp[direct]' as a markup tag and dropped it, so `compare --objective mean`
listed every law twice under the same name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixlaw.cli import main


def _runs(path, n: int, seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=n)
    pd.DataFrame({"run": [f"r{i}" for i in range(n)], **{f"w:{d}": W[:, j] for j, d in enumerate("abc")},
                  "loss:x": 2.0 + np.exp(W @ [0.3, -0.5, 0.1]), "loss:y": 2.5 + np.exp(W @ [-0.4, 0.2, 0.3])}
                 ).to_csv(path, index=False)
    return path


def test_direct_rows_keep_their_label(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    train, test = _runs(tmp_path / "train.csv", 30, 0), _runs(tmp_path / "test.csv", 10, 1)
    with pytest.raises(SystemExit) as exc:
        main(["compare", "--runs", str(train), "--test", f"held[out]={test}", "--laws", "linear",
              "--objective", "mean"])
    cap = capsys.readouterr()
    assert exc.value.code == 0, cap.err
    rows = [line for line in cap.out.splitlines() if "linear" in line]
    assert any("linear[direct]" in line for line in rows), cap.out
    assert sum("linear " in line and "[direct]" not in line for line in rows) == 1
    assert "ρ held[out]" in cap.out


@pytest.mark.parametrize("cmd", ["compare", "report"])
def test_one_table_points_to_cross_validation(tmp_path, capsys, cmd: str) -> None:
    train = _runs(tmp_path / "train.csv", 12, 0)
    with pytest.raises(SystemExit) as exc:
        main([cmd, "--runs", str(train)])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert ("or compare laws by cross-validation on this one table: "
            f"mixlaw fit --runs {train} --law auto)") in " ".join(err.split())


def test_several_targets_say_how_each_number_aggregates(tmp_path, capsys, monkeypatch) -> None:
    # `compare --target all` on Marin's Delphi proposals printed one ρ per law for 9 eval sets with no word that it
    # is the mean of the per-eval Spearman (MRE, RMSE and bias pooled over every entry).
    monkeypatch.setenv("COLUMNS", "200")
    train, test = _runs(tmp_path / "train.csv", 30, 0), _runs(tmp_path / "test.csv", 10, 1)
    for targets, shown in ((["--target", "x", "--target", "y"], True), (["--target", "x"], False),
                           (["--target", "x", "--target", "y", "--objective", "mean"], False)):
        with pytest.raises(SystemExit) as exc:
            main(["compare", "--runs", str(train), "--test", str(test), "--laws", "linear", *targets])
        cap = capsys.readouterr()
        assert exc.value.code == 0, cap.err
        note = "ρ: the mean of each eval set's Spearman over the 2 eval sets; MRE, RMSE and bias: over every"
        assert (note in " ".join(cap.out.split())) is shown, cap.out


def test_a_law_s_own_warning_is_printed_under_the_table(tmp_path, capsys, monkeypatch) -> None:
    # LightGBM on 24 runs (min_child_samples 20: no tree splits) predicts one constant; compare kept its warning for
    # --json alone and printed 'n/a*' with no word of why (Ye et al.'s 3Mix at 410M, 24 fitting runs).
    pytest.importorskip("lightgbm")
    monkeypatch.setenv("COLUMNS", "200")
    train, test = _runs(tmp_path / "train.csv", 24, 0), _runs(tmp_path / "test.csv", 8, 1)
    with pytest.raises(SystemExit) as exc:
        main(["compare", "--runs", str(train), "--test", str(test), "--laws", "lightgbm,linear", "--target", "x"])
    cap = capsys.readouterr()
    assert exc.value.code == 0, cap.err
    text = " ".join(cap.out.split())
    assert "lightgbm warned: LightGBM: the model of ['x'] is constant" in text, cap.out
    assert "linear warned" not in text


def test_a_law_s_many_warnings_are_counted_past_a_few(tmp_path, capsys, monkeypatch) -> None:
    # A per-eval law that does not converge on many eval sets warns once per eval set, each with its own numbers
    # ('ye-implicit[e13]: no start converged (best objective 33.98) ...'): printed one line each under the table,
    # 14 lines for 4 laws on 60 noisy evals. Past WARNINGS_PER_LAW a law's further warnings are counted.
    import mixlaw.cli.laws as cli_laws
    from mixlaw.compare import LawScore, Leaderboard

    metrics = {"spearman": 0.5, "mre": 0.1, "rmse": 0.1, "bias": 0.0}
    msgs = [f"ye-pow[e{i}]: no start converged (best objective {10 + i}.5); the result may not be a minimum"
            for i in range(9)]
    board = Leaderboard([LawScore("ye-pow", 0.1, 3, {"test": metrics}, warnings=msgs)], ["e0"], "runs.csv", 20)
    caption = str(cli_laws._leaderboard_table(board, "t").caption).replace("\\[", "[")
    assert caption.count("ye-pow warned:") == 2, caption
    assert "ye-pow warned 7 more times (--json lists every warning)" in caption, caption
    # The same warning on several eval sets is one line, as fit and optimize print it.
    same = [f"ye-pow[e{i}]: a fit hit a bound" for i in range(5)]
    board = Leaderboard([LawScore("ye-pow", 0.1, 3, {"test": metrics}, warnings=same)], ["e0"], "runs.csv", 20)
    caption = str(cli_laws._leaderboard_table(board, "t").caption).replace("\\[", "[")
    assert caption.count("warned") == 1 and "ye-pow[e0, e1, e2, e3, e4]: a fit hit a bound" in caption, caption


def test_numpy_s_floating_point_warnings_stay_out_of_the_caption() -> None:
    # 'mixlaw compare --dataset regmix --target all' printed "dz-eq3 warned: invalid value encountered in subtract"
    # under the table: numpy's words, with no eval and nothing to do; the row's inf* note says what it means.
    import mixlaw.cli.laws as cli_laws
    from mixlaw.compare import LawScore, Leaderboard

    metrics = {"spearman": 0.5, "mre": float("inf"), "rmse": float("inf"), "bias": float("inf")}
    msgs = ["dz-eq3: no start converged (best objective 9.1); the result may not be a minimum",
            "invalid value encountered in subtract", "overflow encountered in exp"]
    board = Leaderboard([LawScore("dz-eq3", 0.1, 3, {"test": metrics}, warnings=msgs)], ["e0"], "runs.csv", 20)
    caption = str(cli_laws._leaderboard_table(board, "t").caption)
    assert "dz-eq3 warned: dz-eq3: no start converged" in caption and "inf*:" in caption, caption
    assert "encountered in" not in caption, caption


def test_the_header_names_a_few_evals_and_counts_the_rest(tmp_path, capsys, monkeypatch) -> None:
    # hunt31: on Olmix's DCLM swarm the header line 'fitted on ...; target(s): ...' listed all 110 eval names.
    monkeypatch.setenv("COLUMNS", "200")
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=30)
    evals = [f"e{k}" for k in range(8)]
    pd.DataFrame({"run": [f"r{i}" for i in range(30)], **{f"w:{d}": W[:, j] for j, d in enumerate("abc")},
                  **{f"loss:{e}": 2.0 + np.exp(W @ rng.normal(0, 0.4, 3)) for e in evals}}
                 ).to_csv(tmp_path / "runs.csv", index=False)
    argv = ["compare", "--runs", str(tmp_path / "runs.csv"), "--holdout", "0.2", "--laws", "linear"]
    for extra, says in (((), "target(s): e0, e1, e2, e3, e4 and 3 more\n"),
                        (("--objective", "mean"), "objective mean of e0, e1, e2, e3, e4 and 3 more\n")):
        with pytest.raises(SystemExit) as exc:
            main([*argv, *extra])
        cap = capsys.readouterr()
        assert exc.value.code == 0, cap.err
        assert says in cap.out and "e5" not in cap.out.splitlines()[0], cap.out
    with pytest.raises(SystemExit):
        main([*argv, "--json"])
    import json

    assert json.loads(capsys.readouterr().out)["targets"] == evals  # JSON keeps them all
