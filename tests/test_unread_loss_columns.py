"""A column named as a loss but not 'loss:<eval>' ('loss_github', 'eval/arxiv/loss') is not read as an eval set;
the table says so, and an unknown --target names such a column (found on RegMix's train_1m with two eval columns
misnamed: `fit --target all` fitted pile_cc alone without a word of them, and `--target github` listed only
['pile_cc'])."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli

from mixlaw.data import RunTable
from mixlaw.errors import DataWarning, InputError


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    w = rng.dirichlet(np.ones(3), size=8)
    return pd.DataFrame({"run": [f"r{i}" for i in range(8)], "w:web": w[:, 0], "w:code": w[:, 1],
                         "w:math": w[:, 2], "loss:web": 3 - w[:, 0], "loss_github": 2.5 - w[:, 1],
                         "eval/arxiv/loss": 2.8 - w[:, 2], "notes": "ok", "lr": 3e-4})


def test_loss_looking_columns_are_warned_of_by_name() -> None:
    with pytest.warns(DataWarning, match=r"\['loss_github', 'eval/arxiv/loss'\] look like losses but are not read"
                                         r".*rename 'loss_github' to 'loss:github'"):
        table = RunTable(_frame())
    assert table.evals == ["web"]


def test_a_table_without_them_gets_no_such_warning() -> None:
    df = _frame().drop(columns=["loss_github", "eval/arxiv/loss"])
    df["loss_notes"] = "text, not numbers"  # a text column named so is no loss
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RunTable(df)


@pytest.mark.parametrize(("target", "column"), [("github", "loss_github"), ("arxiv", "eval/arxiv/loss")])
def test_an_unknown_target_names_the_column_that_holds_it(target: str, column: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = RunTable(_frame())
    with pytest.raises(InputError, match=f"column '{column}' is not read as a loss: name it 'loss:{target}'"):
        table.resolve_targets(target)


def test_cli_fit_says_so(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "runs.csv"
    _frame().to_csv(p, index=False)
    code, out, err = run_cli(capsys, "fit", "--runs", str(p), "--law", "linear", "--target", "all")
    assert code == 0 and "target=web " in out
    assert "['loss_github', 'eval/arxiv/loss'] look like losses but are not read" in err
    code, _, err = run_cli(capsys, "fit", "--runs", str(p), "--law", "linear", "--target", "github")
    assert code == 2
    assert "column 'loss_github' is not read as a loss: name it 'loss:github'" in err


def test_a_loss_setting_or_a_word_that_holds_loss_is_no_loss_column() -> None:
    # review34c: a W&B export's config columns 'loss_scale' (fp16, 65536 in every run) and 'z_loss_weight' were
    # warned of as losses and the first told "rename 'loss_scale' to 'loss:scale' to fit it"; 'gloss' too.
    df = _frame().drop(columns=["loss_github", "eval/arxiv/loss"])
    for c in ("loss_scale", "min_loss_scale", "z_loss_weight", "aux_loss_coef", "eval_loss_std", "gloss"):
        df[c] = np.linspace(1.0, 2.0, len(df))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RunTable(df)
    # a loss written run together or in camel case still is one
    df["valLoss"] = df["trainloss"] = np.linspace(2.0, 3.0, len(df))
    with pytest.warns(DataWarning, match=r"\['valLoss', 'trainloss'\] look like losses but are not read"):
        RunTable(df)
