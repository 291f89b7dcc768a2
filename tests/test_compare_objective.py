"""``mixlaw compare --dataset regmix --objective mean --json`` (issue 10): strict JSON whose rows carry the
objective's own Spearman on every held-out split (the mean of the 13 eval losses ranked as one number), not
the average of per-eval Spearmans."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from mixlaw import load_regmix
from mixlaw.laws import get_law

SPLITS = ("test_1m", "test_60m", "test_1B")


def _strict(text: str):
    def no_constant(name: str):
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=no_constant)


@pytest.mark.filterwarnings("ignore::mixlaw.errors.ExtrapolationWarning")  # 1B mixtures leave the 1M range
def test_cli_compare_regmix_mean_objective_reports_the_objectives_spearman_per_split(capsys) -> None:
    from mixlaw.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["compare", "--dataset", "regmix", "--objective", "mean", "--laws", "linear", "--json"])
    cap = capsys.readouterr()
    assert exc.value.code == 0, cap.err
    doc = _strict(cap.out)
    data = load_regmix()
    train = data["train_1m"]
    assert doc["train"] == "regmix:train_1m" and doc["n_train"] == 512
    assert doc["objective"] == pytest.approx({e: 1 / 13 for e in train.evals}, abs=1e-15)
    rows = {r["law"]: r for r in doc["laws"]}
    assert {k: r["fit_on"] for k, r in rows.items()} == {"linear": "per-eval", "linear[direct]": "direct"}
    per_eval = get_law("linear").fit(train, targets="all")
    direct = get_law("linear").fit(train.weights, train.losses("all").mean(axis=1), domains=train.domains,
                                   targets="objective")
    for split in SPLITS:
        t = data[split]
        Y, P = t.losses("all"), np.asarray(per_eval.predict(t)).reshape(len(t), -1)
        truth = Y.mean(axis=1)
        want = {"linear": stats.spearmanr(truth, P.mean(axis=1)).statistic,
                "linear[direct]": stats.spearmanr(truth, np.ravel(direct.predict(t))).statistic}
        for key, rho in want.items():
            m = rows[key]["splits"][split]
            assert m["spearman"] == pytest.approx(rho, abs=1e-12)
            assert set(m) >= {"spearman", "mre", "rmse", "bias"}
    # The objective ranks far worse at 1B than its evals do one by one: the number is not their average.
    t = data["test_1B"]
    Y, P = t.losses("all"), np.asarray(per_eval.predict(t)).reshape(len(t), -1)
    averaged = np.mean([stats.spearmanr(Y[:, i], P[:, i]).statistic for i in range(Y.shape[1])])
    assert averaged - rows["linear"]["splits"]["test_1B"]["spearman"] > 0.2


def test_objective_spellings_on_the_command_line(capsys) -> None:
    # mixlaw optimize --objective loss:c4 said "unknown objective 'loss:c4'" where --target loss:c4 works;
    # --objective c4:0.5,book:0.5 (no weights=) said "unknown objective" without the spelling.
    from mixlaw.cli import main
    from mixlaw.cli._common import parse_objective
    from mixlaw.errors import InputError

    assert parse_objective("loss:pile_cc") == "pile_cc"
    assert parse_objective("weights=loss:pile_cc:0.5,github:0.5") == {"pile_cc": 0.5, "github": 0.5}
    assert parse_objective("arc_challenge:rc::olmes") == "arc_challenge:rc::olmes"  # an eval name with colons
    with pytest.raises(InputError, match="spelt weights=pile_cc:0.5,github:0.5"):
        parse_objective("pile_cc:0.5,github:0.5")
    with pytest.raises(SystemExit) as exc:
        main(["optimize", "--dataset", "regmix", "--law", "linear", "--objective", "loss:pile_cc", "--json"])
    assert exc.value.code == 0
    assert json.loads(capsys.readouterr().out)["optimum"]["objective_name"] == "loss of pile_cc"


@pytest.mark.parametrize("spec", ["weights=pile_cc:0.5,loss:pile_cc:0.5", "weights=pile_cc:0.5,pile_cc:0.3"])
def test_an_eval_given_twice_in_a_weighted_objective_is_refused(spec) -> None:
    # Both spellings of one eval (or the same one twice) kept one weight without a word: {'pile_cc': 0.5}.
    from mixlaw.cli._common import parse_objective
    from mixlaw.errors import InputError

    with pytest.raises(InputError, match="'pile_cc' given twice"):
        parse_objective(spec)


def test_held_out_table_without_an_eval_names_the_targets_it_can_score() -> None:
    # mixlaw compare --runs 122m_train.csv --test te_noh.csv --target all (the held-out runs without openhermes)
    # stopped at "has no loss column for ['openhermes']" without saying how to score the rest.
    from mixlaw.compare import compare
    from mixlaw.data import RunTable
    from mixlaw.errors import InputError

    train, test = load_regmix("train_1m"), load_regmix("test_1m")
    frame = test.frame[["run"] + [f"w:{d}" for d in test.domains] + ["loss:pile_cc", "loss:github"]]
    with pytest.raises(InputError, match=r"no loss column for \['hackernews'\] \(targets=\['pile_cc', 'github'\], "
                                         r"--target pile_cc,github on the command line, scores"):
        compare(train, {"held": RunTable(frame)}, targets=["pile_cc", "hackernews", "github"], laws=["linear"])


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_held_out_table_needs_only_the_evals_the_objective_weighs() -> None:
    # compare --target all --objective pile_cc fits pile_cc alone (601e147) but still refused a held-out table
    # without the other targets' columns; with a weight of 0 on hackernews that table scores the same figures.
    from mixlaw.compare import compare
    from mixlaw.data import RunTable

    train, test = load_regmix("train_1m"), load_regmix("test_1m")
    frame = test.frame[["run"] + [f"w:{d}" for d in test.domains] + ["loss:pile_cc", "loss:github"]]
    targets = ["pile_cc", "hackernews", "github"]
    for objective in ("pile_cc", {"pile_cc": 0.5, "hackernews": 0.0, "github": 0.5}):
        full, part = (compare(train, {"held": t}, targets=targets, objective=objective,
                              laws=["linear", get_law("auto", candidates=["linear", "loglinear"], objective=objective)])
                      for t in (test, RunTable(frame)))
        assert [r.law for r in part.rows] == [r.law for r in full.rows]
        for a, b in zip(part.rows, full.rows, strict=True):
            assert a.error is None and a.splits["held"] == pytest.approx(b.splits["held"], rel=1e-12)


def test_a_law_without_a_parametric_form_shows_no_parameter_count() -> None:
    # mixlaw compare / fit --law auto on Dai & Zheng's 122M runs listed lightgbm with n_par 0 beside laws of 7-180.
    from mixlaw.compare import compare
    from mixlaw.laws.selection import n_par_text

    assert n_par_text(0) == "-" and n_par_text(-1) == "-" and n_par_text(17) == "17"
    board = compare(load_regmix("train_1m"), {"t": load_regmix("test_1m")}, targets="pile_cc",
                    laws=["linear", "lightgbm"])
    rows = {line.split()[0]: line.split() for line in str(board).splitlines()[1:]}
    assert rows["lightgbm"][2] == "-" and rows["linear"][2] == "17"


@pytest.mark.parametrize("key", ["auto", "stack"])
def test_auto_and_stack_choose_among_the_fit_on_modes_given(key, monkeypatch) -> None:
    # hunt31, on Olmix's DCLM swarm: 'compare --objective mean --fit-on per-eval --laws ye-exp,auto' showed
    # ye-exp per eval only, and auto, built without fit_on, chose bimix[direct] (fitted on the mean column).
    import pandas as pd

    from mixlaw.compare import compare
    from mixlaw.data import RunTable
    from mixlaw.laws import auto as auto_module
    from mixlaw.laws import selection

    for module in (auto_module, selection):  # two quick candidates
        monkeypatch.setattr(module, "default_candidates", lambda n_runs=None: ["linear", "loglinear"])
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=50)
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(50)], **{f"w:{d}": W[:, j] for j, d in enumerate("abc")},
                          "loss:x": 2 + W @ [0.3, -0.2, 0.1] + 0.01 * rng.standard_normal(50),
                          "loss:y": 3 - W @ [0.1, 0.4, -0.2] + 0.01 * rng.standard_normal(50)})
    for modes in (("per-eval",), ("direct",)):
        board = compare(RunTable(frame.iloc[:40]), {"held": RunTable(frame.iloc[40:])}, targets=["x", "y"],
                        objective="mean", laws=[key], fit_on=modes)
        (row,) = board.rows
        assert row.error is None, row.error
        assert {r["fit_on"] for r in row.details["cv"]["rows"]} <= {*modes, "stack"}, (modes, row.details["cv"])


def test_the_leaderboard_and_the_cv_table_say_which_fit_n_par_counts(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # compare's leaderboard gave linear n_par 20 (its leave-one-out ridge fitted on the 21 runs spends 19.x
    # parameters) and the stack's CV table 19 (the same law on the CV fold of fewest runs), with no word of why.
    import pandas as pd
    from cli_runner import run_cli

    rng = np.random.default_rng(1)
    W = rng.dirichlet(np.ones(10), size=30)
    frame = pd.DataFrame(W, columns=[f"w:d{i}" for i in range(10)])
    frame["loss:x"] = W @ rng.uniform(2, 4, 10) + 0.03 * np.log(W + 0.05).sum(1) + rng.normal(0, 0.1, 30)
    frame["loss:y"] = W @ rng.uniform(2, 4, 10) + 0.2 * (W ** 2).sum(1) + rng.normal(0, 0.1, 30)
    frame.insert(0, "run", [f"r{i}" for i in range(30)])
    path = tmp_path / "runs.csv"
    frame.to_csv(path, index=False)
    code, out, err = run_cli(capsys, "compare", "--runs", str(path), "--laws", "linear,stack", "--holdout", "0.3")
    assert code == 0, err
    flat = " ".join(out.split())
    assert "n_par: free parameters of each law fitted on the 21 fitting runs" in flat
    assert ("n_par: free parameters of a law fitted on all 2 eval sets at once, counted on the CV fold that fits the "
            "fewest runs") in flat
    board = [line for line in out.splitlines() if line.startswith("│ linear")][0]
    cv = [line for line in out.splitlines() if line.strip().startswith("linear ")][0]
    assert board.split("│")[-3].strip() != cv.split()[-1]  # the two counts differ here, and each says of what
