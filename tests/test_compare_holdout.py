"""``mixlaw compare --runs t.csv --holdout 0.2``: laws compared on a seeded draw of one table's runs held out, every
checkpoint of a run on one side (a sweep is one table; the split was the user's pandas before --test took it)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from cli_runner import run_cli as _cli


def _table(tmp_path, n_runs: int = 20, steps: tuple[int, ...] = (100, 200)):  # type: ignore[no-untyped-def]
    W = np.random.default_rng(0).dirichlet(np.ones(3), size=n_runs)
    rows = [{"run": f"r{i:02d}", "step": s, **{f"w:{d}": W[i, j] for j, d in enumerate("abc")},
             "loss:x": 3.0 - 0.5 * W[i, 0] + 0.2 * W[i, 1] + 100 / s} for i in range(n_runs) for s in steps]
    p = tmp_path / "sweep.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


def test_holdout_compares_on_a_seeded_fifth_of_the_runs(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = _table(tmp_path)
    code, out, err = _cli(capsys, "compare", "--runs", str(p), "--holdout", "0.2", "--final-step", "--laws",
                          "linear", "--seed", "3", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["n_train"] == 16 and list(doc["laws"][0]["splits"]) == ["holdout"]
    code, again, _ = _cli(capsys, "compare", "--runs", str(p), "--holdout", "0.2", "--final-step", "--laws",
                          "linear", "--seed", "3", "--json")
    assert json.loads(again)["laws"][0]["splits"] == doc["laws"][0]["splits"]  # the seed fixes the draw


def test_holdout_keeps_every_checkpoint_of_a_run_on_one_side() -> None:
    from mixlaw.compare import holdout_split
    from mixlaw.data import RunTable

    W = np.random.default_rng(1).dirichlet(np.ones(2), size=10)
    frame = pd.DataFrame([{"run": f"r{i}", "step": s, "w:a": W[i, 0], "w:b": W[i, 1], "loss:x": 3.0 + 1 / s}
                          for i in range(10) for s in (10, 20, 40)])
    train, tests = holdout_split(RunTable(frame), 0.3, random_state=0)
    held = set(tests["holdout"].runs)
    assert len(held) == 3 and not held & set(train.runs) and len(tests["holdout"]) == 9 and len(train) == 21


def test_holdout_with_test_or_a_bad_fraction_is_one_line(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = _table(tmp_path, n_runs=4, steps=(100,))
    for argv, match in ((["--holdout", "0.2", "--test", str(p)], "give --test tables or --holdout, not both"),
                        (["--holdout", "1.5"], "--holdout must be a fraction of the runs in (0, 1)"),
                        (["--holdout", "0.9"], "holds out 4 of")):
        code, _, err = _cli(capsys, "compare", "--runs", str(p), "--laws", "linear", *argv)
        assert code == 2 and err.startswith("error: ") and match in err and err.strip().count("\n") == 0, err


def test_report_takes_holdout_as_compare_does(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p, page = _table(tmp_path, steps=(100,)), tmp_path / "r.html"
    code, _, err = _cli(capsys, "report", "--runs", str(p), "--holdout", "0.25", "--laws", "linear", "--out",
                        str(page))
    assert code == 0, err
    assert "holdout" in page.read_text()
    code, _, err = _cli(capsys, "report", "--runs", str(p), "--holdout", "0.25", "--test", str(p), "--out",
                        str(page))
    assert code == 2 and "give --test tables or --holdout, not both" in err


def test_a_held_out_table_of_fitting_runs_is_warned_of(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """compare --runs sweep.csv --test sweep.csv (or a copy, or rows cut from it) scored the fitting runs as held out:
    Spearman 0.996, no word. A --holdout split and a table of other runs do not warn."""
    p = _table(tmp_path, steps=(100,))
    frame = pd.read_csv(p)
    part = tmp_path / "part.csv"
    frame.iloc[:5][["run", "step", "w:c", "w:a", "w:b", "loss:x"]].to_csv(part, index=False)  # other column order
    for test in (p, part):
        code, _, err = _cli(capsys, "compare", "--runs", str(p), "--test", str(test), "--laws", "linear")
        n = 20 if test == p else 5
        assert code == 0 and f"{n} of the {n} runs of held-out split '{test.stem}' are fitting runs too" in err, err
    code, _, err = _cli(capsys, "compare", "--runs", str(p), "--holdout", "0.2", "--laws", "linear")
    assert code == 0 and "fitting runs too" not in err
    other = frame.copy()
    other["loss:x"] += 0.01  # the same mixtures, other measurements (seeds): held out
    other.to_csv(part, index=False)
    code, _, err = _cli(capsys, "compare", "--runs", str(p), "--test", str(part), "--laws", "linear")
    assert code == 0 and "fitting runs too" not in err


def test_report_warns_of_a_held_out_table_of_fitting_runs_on_stderr_and_the_page(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = _table(tmp_path, steps=(100,))
    page = tmp_path / "r.html"
    code, _, err = _cli(capsys, "report", "--runs", str(p), "--test", str(p), "--laws", "linear", "--out", str(page))
    assert code == 0 and "20 of the 20 runs of held-out split 'sweep' are fitting runs too" in err, err
    assert "<b>Not held out:</b>" in page.read_text(encoding="utf-8")


def test_python_draws_the_split_the_command_scores(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The draw lived in mixlaw.cli._common: a notebook could not score the runs 'compare --holdout 0.2 --seed 3' scored.
    import pytest

    import mixlaw
    from mixlaw.compare import compare, holdout_split

    p = _table(tmp_path, steps=(100,))
    code, out, err = _cli(capsys, "compare", "--runs", str(p), "--holdout", "0.2", "--laws", "linear,loglinear",
                          "--seed", "3", "--json")
    assert code == 0, err
    train, tests = holdout_split(mixlaw.read_runs(p), 0.2, random_state=3)
    board = compare(train, tests, targets="all", laws=["linear", "loglinear"], random_state=3).to_dict()
    assert [r["splits"] for r in board["laws"]] == [r["splits"] for r in json.loads(out)["laws"]]
    with pytest.raises(mixlaw.InputError, match=r"--holdout must be a fraction .* \(fraction= of holdout_split\)"):
        holdout_split(train, 1.5)


def test_compare_says_what_it_takes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # compare(train, test_table) stopped on "'RunTable' object has no attribute 'items'", laws="linear" was read
    # letter by letter ("unknown law 'l'"), maximize="no" was truthy, holdout_split(frame) a bare AttributeError.
    import pytest

    import mixlaw
    from mixlaw.compare import compare, holdout_split

    table = mixlaw.read_runs(_table(tmp_path, steps=(100,)))
    train, tests = holdout_split(table, 0.2)
    with pytest.raises(mixlaw.InputError, match=r"tests must be a mapping \{name: RunTable\} .*; got RunTable"):
        compare(train, tests["holdout"], laws=["linear"])
    with pytest.raises(mixlaw.InputError, match=r"maximize must be True or False \(--maximize\); got 'no'"):
        compare(train, tests, laws=["linear"], maximize="no")
    with pytest.raises(mixlaw.InputError, match=r"holdout_split takes a RunTable .*; got ndarray"):
        holdout_split(table.frame.to_numpy())
    # A DataFrame in the run table's columns is one (tests/test_api_dataframe_runs.py): the same split.
    assert list(holdout_split(table.frame, 0.2)[0].runs) == list(train.runs)
    one = compare(train, tests, laws="linear").to_dict()["laws"]
    assert len(one) == 1 and one[0]["splits"] == compare(train, tests, laws=["linear"]).to_dict()["laws"][0]["splits"]


def test_compare_refuses_a_seed_it_would_drop(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # compare(..., laws=[YePower()], random_state=5) fitted the instance's own random_state, 0, without a word (the
    # seed reaches only the laws given by key), as fit_table did before 8614567; same rule, same words.
    import pytest

    import mixlaw
    from mixlaw.compare import compare, holdout_split

    train, tests = holdout_split(mixlaw.read_runs(_table(tmp_path, steps=(100,))), 0.2, random_state=3)
    with pytest.raises(mixlaw.InputError, match=r"^compare: random_state=5 seeds a law given by key; .* "
                                                r"Linear, fitted with its own \(random_state=0\)"):
        compare(train, tests, laws=["loglinear", mixlaw.get_law("linear")], random_state=5)
    # keys only (the CLI's --seed), the instance's own seed, or the default: no conflict
    assert compare(train, tests, laws=["linear"], random_state=5).to_dict()["laws"][0]["splits"]
    board = compare(train, tests, laws=[mixlaw.get_law("linear", random_state=5)], random_state=5).to_dict()
    assert board["laws"][0].get("error") is None
    assert compare(train, tests, laws=[mixlaw.get_law("linear", random_state=5)]).to_dict()["laws"][0]["splits"]
