"""Eval groups and weighted totals (issue 9 item 5): the arithmetic, the errors, and a law fitted on a total."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from mixlaw.data import RunTable
from mixlaw.errors import InputError
from mixlaw.evals import add_eval_groups, add_weighted_total, linear_objective, objective_weights, parse_eval_group


def _table(n: int = 30, seed: int = 0) -> RunTable:
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=n)
    t = np.array([[-1.5, 0.3, 0.2], [0.4, -2.0, 0.1], [0.3, -0.2, -1.8]])
    Y = np.array([1.9, 1.2, 1.5]) + np.array([0.5, 0.4, 0.45]) * np.exp(W @ t.T)
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(n)], **{f"w:{d}": W[:, j] for j, d in enumerate("abc")},
                          **{f"loss:{d}": Y[:, j] for j, d in enumerate("abc")}})
    return RunTable(frame)


def test_parse_eval_group() -> None:
    assert parse_eval_group("code=a:0.3,b:0.7") == ("code", {"a": 0.3, "b": 0.7})
    assert parse_eval_group(" g = a , b ") == ("g", {"a": 1.0, "b": 1.0})
    for bad, match in [("code", "expected name="), ("=a:1", "expected name="), ("g=a:1,a:2", "named twice")]:
        with pytest.raises(InputError, match=match):
            parse_eval_group(bad)
    # Eval names may hold colons ('mt_mbpp_v2fix:python'): a non-number after the last one is part of the name,
    # so 'a:x' fails where the table is known, as an unknown eval set that points to 'a'.
    assert parse_eval_group("g=a:x") == ("g", {"a:x": 1.0})
    with pytest.raises(InputError, match=r"unknown eval set\(s\) \['a:x'\].*did you mean 'a'"):
        add_eval_groups(_table(), dict([parse_eval_group("g=a:x")]))


def test_groups_are_weighted_means_and_totals_are_weighted_sums() -> None:
    tab = _table()
    Y = tab.losses(["a", "b", "c"])
    out = add_eval_groups(tab, {"ab": {"a": 0.3, "b": 0.7}, "bc": {"b": 2.0, "c": 2.0}})
    assert out.evals == ["a", "b", "c", "ab", "bc"]
    assert_allclose(out.losses("ab"), 0.3 * Y[:, 0] + 0.7 * Y[:, 1], rtol=1e-15)
    assert_allclose(out.losses("bc"), 0.5 * (Y[:, 1] + Y[:, 2]), rtol=1e-15)  # shares are normalised
    assert tab.evals == ["a", "b", "c"]  # the input table is untouched
    tot = add_weighted_total(tab, {"a": 2.0, "c": 1.0})
    assert_allclose(tot.losses("objective"), 2.0 * Y[:, 0] + Y[:, 2], rtol=1e-15)  # not normalised
    assert linear_objective("mean", ["a", "b"]) == {"a": 0.5, "b": 0.5}
    assert linear_objective("total", ["a", "b"]) == {"a": 1.0, "b": 1.0}
    assert linear_objective("b", ["a", "b"]) == {"b": 1.0}
    with pytest.raises(InputError, match="linear objective"):
        linear_objective("max", ["a", "b"])


def test_one_parser_of_linear_objectives() -> None:
    # laws.selection's objective_weights is evals' (one parser), and linear_objective checks what it checks.
    from mixlaw.laws import selection

    assert selection.objective_weights is objective_weights
    assert_allclose(objective_weights({"b": 2.0}, ["a", "b"]), [0.0, 2.0])
    assert objective_weights(None, ["a"]) is None
    assert linear_objective({"a": 0.0, "b": 2.0}, ["a", "b"]) == {"b": 2.0}  # zero weights dropped
    for bad, msg in [({"z": 1.0}, r"unknown eval set\(s\) \['z'\]; the evals are \['a', 'b'\] \(an eval the "
                                  r"objective weighs must be among the targets: --target, targets=\)"),
                     ({"a": -1.0, "b": 2.0}, ">= 0"), ({"a": 0.0}, "not all 0"), ({"a": float("nan")}, "finite"),
                     ({"a": 1e308, "b": 1e308}, "their sum is inf"),
                     ({"a": "x"}, "must be numbers"),
                     # hunt28: 'pipeline --target pile --objective c4' did not say that c4 must be a target
                     ("books", r"unknown objective 'books'; expected 'mean', 'total', an eval set \(\['a', 'b'\]\) "
                               r"or \{eval: weight\} \(an eval the objective names must be among the targets: "
                               r"--target")]:
        with pytest.raises(InputError, match=msg):
            linear_objective(bad, ["a", "b"])
        with pytest.raises(InputError, match=msg):
            objective_weights(bad, ["a", "b"])
    # Weights all 0 sum to 0, not inf: the hint 'their sum is inf: scale them down' told a user to scale 0 down.
    for bad in ({"a": 0.0}, {"a": 0.0, "b": 0.0}):
        with pytest.raises(InputError, match=r"not all 0; got \{[^}]*\}$"):
            objective_weights(bad, ["a", "b"])
    for bad in (None, "max", np.sum):
        with pytest.raises(InputError, match="linear objective"):
            linear_objective(bad, ["a", "b"])


def test_group_errors_are_clear() -> None:
    tab = _table()
    with pytest.raises(InputError, match=r"unknown eval set\(s\) \['z'\]"):
        add_eval_groups(tab, {"g": {"a": 1.0, "z": 1.0}})
    with pytest.raises(InputError, match="exists already"):
        add_eval_groups(tab, {"a": {"b": 1.0}})
    with pytest.raises(InputError, match="not all 0"):
        add_eval_groups(tab, {"g": {"a": 0.0, "b": 0.0}})
    with pytest.raises(InputError, match=">= 0"):
        add_eval_groups(tab, {"g": {"a": -1.0, "b": 2.0}})
    # Each share finite, their sum inf: 'computed losses are not all finite and positive' said neither which nor why.
    with pytest.raises(InputError, match=r"'g': weights must be finite.*their sum is inf"):
        add_eval_groups(tab, {"g": {"a": 1e308, "b": 1e308}})


def test_one_law_on_the_total_predicts_the_objective() -> None:
    # Fitted on the weighted total, ye-exp predicts held-out totals as well as the sum of per-eval laws does.
    from mixlaw.laws import get_law

    fit_t, test_t = _table(40, seed=1), _table(20, seed=2)
    s = {"a": 0.2, "b": 0.5, "c": 0.3}
    tot = add_weighted_total(fit_t, s)
    law = get_law("ye-exp").fit(tot, targets=["objective"])
    truth = test_t.losses(["a", "b", "c"]) @ np.array(list(s.values()))
    pred = np.asarray(law.predict(test_t.weights)).ravel()
    assert np.mean(np.abs(pred / truth - 1)) < 0.01


def test_a_group_name_given_twice_is_named() -> None:
    from mixlaw.cli._common import parse_eval_groups

    assert parse_eval_groups(["pile=a:1,b:3", "code=c"]) == {"pile": {"a": 1.0, "b": 3.0}, "code": {"c": 1.0}}
    with pytest.raises(InputError, match=r"^--eval-group: the group name 'pile' is given twice$"):
        parse_eval_groups(["pile=a:1,b:3", "code=c", "pile=a"])


def test_an_eval_named_like_the_total_column_is_named_with_the_fix(tmp_path, capsys) -> None:
    """A table with an eval set called 'objective' (the column a law on the weighted total is fitted to): --fit-total
    and fit_pipeline(objective=...) (whose auto tries total candidates) said 'choose another group name', of a group
    the user never named."""
    from cli_runner import run_cli

    frame = _table().frame.rename(columns={"loss:c": "loss:objective"})
    tab = RunTable(frame)
    with pytest.raises(InputError, match=r"eval set named 'objective'.*--fit-total.*rename that column"):
        add_weighted_total(tab, {"a": 1.0, "objective": 1.0})
    path = tmp_path / "runs.csv"
    frame.to_csv(path, index=False)
    code, _, err = run_cli(capsys, "optimize", "--runs", str(path), "--law", "linear", "--fit-total")
    assert code == 2 and "rename that column" in err and "group name" not in err
    # A group may still not take an existing eval's name, as before.
    with pytest.raises(InputError, match="exists already; choose another group name"):
        add_eval_groups(tab, {"a": {"b": 1.0}})
