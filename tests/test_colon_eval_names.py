"""Eval names with colons (OLMES: 'arc_challenge:rc::olmes', 'mt_mbpp_v2fix:python') and long eval lists, as in
Olmix's DCLM swarm (110 evals): groups, objectives and unknown-name errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixlaw.data import RunTable, known_names
from mixlaw.errors import InputError
from mixlaw.evals import add_eval_groups, parse_eval_group

EVALS = ["arc_challenge:rc::olmes", "arc_easy:rc::olmes", "mt_mbpp_v2fix:python", "mt_mbpp_v2fix:c"]


def _table(n_extra: int = 0) -> RunTable:
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(2), 8)
    evals = EVALS + [f"task_{k}" for k in range(n_extra)]
    cols = {f"loss:{e}": 2 + W[:, 0] * (j + 1) for j, e in enumerate(evals)}
    return RunTable(pd.DataFrame({"run": [f"r{i}" for i in range(8)], "w:a": W[:, 0], "w:b": W[:, 1], **cols}))


def test_eval_group_members_with_colons():
    assert parse_eval_group("arc=arc_challenge:rc::olmes,arc_easy:rc::olmes") == (
        "arc", {"arc_challenge:rc::olmes": 1.0, "arc_easy:rc::olmes": 1.0})
    assert parse_eval_group("code=mt_mbpp_v2fix:python:0.3,mt_mbpp_v2fix:c:0.7") == (
        "code", {"mt_mbpp_v2fix:python": 0.3, "mt_mbpp_v2fix:c": 0.7})
    t = add_eval_groups(_table(), dict([parse_eval_group("code=mt_mbpp_v2fix:python,mt_mbpp_v2fix:c")]))
    assert np.allclose(t.losses("code"), (t.losses("mt_mbpp_v2fix:python") + t.losses("mt_mbpp_v2fix:c")) / 2)
    with pytest.raises(InputError, match=r"unknown eval set\(s\) \['arc_easy:rc::olmes:0.3x'\]"):
        add_eval_groups(_table(), dict([parse_eval_group("g=arc_easy:rc::olmes:0.3x")]))


def test_objective_weights_with_colons():
    from mixlaw.cli._common import parse_objective

    assert parse_objective("weights=arc_challenge:rc::olmes:0.5,mt_mbpp_v2fix:c:0.5") == {
        "arc_challenge:rc::olmes": 0.5, "mt_mbpp_v2fix:c": 0.5}


def test_unknown_target_suggests_and_stays_short():
    t = _table(n_extra=100)
    with pytest.raises(InputError) as exc:
        t.resolve_targets("arc_chalenge")
    msg = str(exc.value)
    assert "did you mean 'arc_challenge:rc::olmes'" in msg and "... and 84 more" in msg and "task_99" not in msg
    with pytest.raises(InputError, match="did you mean 'mt_mbpp_v2fix:python', 'mt_mbpp_v2fix:c'"):
        t.resolve_targets(["mt_mbpp_v2fix"])
    assert known_names(["x"], ["a", "b"]) == "['a', 'b']"


def test_eval_named_with_the_loss_prefix(tmp_path, capsys):
    """An eval whose own name starts with 'loss:' (a column 'loss:loss:x', or a metrics file's 'loss:x' column read
    as an Olmix pair) is a target like any other: by default every command said "unknown target 'loss:x'; the
    table has loss columns for ['loss:x']" and fitted nothing."""
    from cli_runner import run_cli

    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(2), 12)
    df = pd.DataFrame({"run": [f"r{i}" for i in range(12)], "w:a": W[:, 0], "w:b": W[:, 1],
                       "loss:loss:x": 2 + W[:, 0] + 0.01 * rng.normal(size=12)})
    t = RunTable(df)
    assert t.evals == ["loss:x"]
    assert t.resolve_targets(t.evals) == ["loss:x"] and t.resolve_targets("loss:loss:x") == ["loss:x"]
    path = tmp_path / "runs.csv"
    df.to_csv(path, index=False)
    code, out, err = run_cli(capsys, "--quiet", "fit", "--runs", str(path), "--law", "linear")
    assert code == 0, err
    assert "target=loss:x" in out


def test_objective_names_an_eval_with_a_comma_in_double_quotes_as_target_does():
    # --target '"arc,easy"' reads the eval 'arc,easy'; --objective '"arc,easy"' said "unknown objective
    # '\"arc,easy\"'" beside a list that named 'arc,easy'.
    from mixlaw.cli._common import parse_objective

    assert parse_objective('"arc,easy"') == "arc,easy"
    assert parse_objective('"loss:arc, easy"') == "arc, easy"
    assert parse_objective('"x""y"') == 'x"y'
    assert parse_objective("arc_easy:rc::olmes") == "arc_easy:rc::olmes"
    assert parse_objective('weights="arc,easy":0.5,b:0.5') == {"arc,easy": 0.5, "b": 0.5}


def test_an_objective_spelt_with_the_loss_prefix_of_an_eval_so_named_says_how(tmp_path, capsys):
    # An eval named 'loss:x' is a target by default and with --target loss:x (a0c1140), but '--objective loss:x'
    # reads as the eval 'x' (the prefix dropped, as for 'loss:c4'), and the error "unknown objective 'x'; expected
    # ... an eval set (['loss:x', 'y'])" named the very spelling given: it now says to write the column's name.
    from cli_runner import run_cli

    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(2), 12)
    pd.DataFrame({"run": [f"r{i}" for i in range(12)], "w:a": W[:, 0], "w:b": W[:, 1],
                  "loss:loss:x": 2 + W[:, 0], "loss:y": 2 + W[:, 1]}).to_csv(tmp_path / "runs.csv", index=False)
    hint = ("'loss:x' is an eval set whose own name starts with 'loss:': objective='loss:x', on the command line "
            "--objective loss:loss:x (which drops one 'loss:')")
    for args in (["optimize", "--law", "linear", "--objective", "loss:x"],
                 ["fit", "--law", "auto", "--objective", "loss:x"],
                 ["optimize", "--law", "linear", "--objective", "weights=loss:x:1,y:1"]):
        code, _, err = run_cli(capsys, "--quiet", *args, "--runs", str(tmp_path / "runs.csv"))
        assert code == 2 and hint in err, (args, err)
    code, out, err = run_cli(capsys, "--quiet", "optimize", "--law", "linear", "--objective", "loss:loss:x", "--runs",
                             str(tmp_path / "runs.csv"))
    assert code == 0, err


def test_evals_x_and_loss_x_in_one_table_are_both_targets(tmp_path, capsys):
    # Columns 'loss:x' and 'loss:loss:x' hold the evals 'x' and 'loss:x': the table's own eval names, every
    # command's default targets, resolved 'loss:x' to 'x' as well, and fit, optimize and compare stopped with
    # "target 'x' is named twice (targets=, --target)", a target the user never named.
    from cli_runner import run_cli

    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(2), 12)
    df = pd.DataFrame({"run": [f"r{i}" for i in range(12)], "w:a": W[:, 0], "w:b": W[:, 1],
                       "loss:loss:x": 2 + W[:, 0], "loss:x": 2 + W[:, 1]})
    t = RunTable(df)
    assert t.resolve_targets(t.evals) == t.evals == ["loss:x", "x"]
    assert t.resolve_targets("x") == ["x"] and t.resolve_targets("loss:loss:x") == ["loss:x"]
    df.to_csv(tmp_path / "runs.csv", index=False)
    code, out, err = run_cli(capsys, "--quiet", "fit", "--runs", str(tmp_path / "runs.csv"), "--law", "linear")
    assert code == 0, err
    assert "target=2 targets" in out and "\n        loss:x  alpha" in out and "\n        x       alpha" in out
