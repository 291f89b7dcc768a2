"""`mixlaw compare --cv-folds K` reaches the cross-validation of auto / stack (as in `fit` and `optimize`)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from cli_runner import run_cli

from mixlaw.api import compare_tables
from mixlaw.data import RunTable


def _tables(tmp_path):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=48)
    y = 2.0 + 0.8 * np.exp(W @ np.array([-1.2, 0.3, 0.5])) * (1 + 0.002 * rng.standard_normal(48))
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(48)], **{f"w:d{j}": W[:, j] for j in range(3)}, "loss:x": y})
    paths = []
    # 17 fitting runs: fewer than the 18 (2 per parameter) that dz-eq1's 9 parameters and dz-eq3-safe's 14 need, so
    # the candidates that cost most of the time are refused by count before any fit (36 runs fitted both: 41 s of
    # 45); the default 5 folds still leave additive-ens the 13 runs it needs, so auto keeps them (no fold growth).
    for name, part in (("train", frame.iloc[:17]), ("test", frame.iloc[17:])):
        p = tmp_path / f"{name}.csv"
        part.to_csv(p, index=False)
        paths.append(str(p))
    return paths


def test_cv_folds_reach_auto_in_compare(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    train, test = _tables(tmp_path)
    folds = {}
    for extra in ([], ["--cv-folds", "3"]):
        code, out, err = run_cli(capsys, "compare", "--runs", train, "--test", test, "--laws", "auto,linear",
                                 "--json", *extra)
        assert code == 0, err
        row = next(r for r in json.loads(out)["laws"] if r["law"] == "auto")
        folds[len(extra)] = row["cv"]["n_folds"]
    assert folds == {0: 5, 2: 3}
    # The API takes the same.
    board = compare_tables(RunTable(pd.read_csv(train)), {"test": RunTable(pd.read_csv(test))}, laws=["auto"],
                           cv_folds=4)
    assert board.rows[0].details["cv"]["n_folds"] == 4


def test_cv_folds_without_a_law_that_cross_validates_is_one_clear_error(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    train, test = _tables(tmp_path)
    code, _, err = run_cli(capsys, "compare", "--runs", train, "--test", test, "--laws", "ye-exp,linear",
                           "--cv-folds", "3")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--cv-folds applies to the laws that cross-validate (auto / stack)" in err
