"""``mixlaw compare --laws KEY --law-option K=V`` scores the one law configured, as fit and optimize take it: dz-eq1's
non-convergence warning suggests ``--law-option pooling=100``, which compare refused ("No such option") (review32b)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli


def _runs(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), 30)
    y = np.exp(1.0 - 0.5 * W[:, 0] + 0.2 * W[:, 1]) + 0.01 * rng.standard_normal(30)
    p = tmp_path / "runs.csv"
    pd.DataFrame({"run": [f"r{i}" for i in range(30)], **{f"w:{d}": W[:, j] for j, d in enumerate("abc")},
                  "loss:x": y}).to_csv(p, index=False)
    return p


def test_compare_scores_the_law_configured_by_law_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "compare", "--runs", str(_runs(tmp_path)), "--holdout", "0.3", "--laws", "linear",
                             "--law-option", "alpha=0")
    assert code == 0, err
    assert "linear(alpha=0.0)" in out


def test_law_option_with_several_laws_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "compare", "--runs", str(_runs(tmp_path)), "--holdout", "0.3", "--laws",
                           "linear,loglinear", "--law-option", "alpha=0")
    assert code != 0 and "--law-option configures the one single law --laws names" in err


@pytest.mark.parametrize("meta", ["auto", "stack"])
def test_law_option_with_auto_or_stack_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str], meta: str) -> None:
    # It said 'got --laws auto', not what is wrong with auto: compare sets its options from its own flags.
    code, _, err = run_cli(capsys, "compare", "--runs", str(_runs(tmp_path)), "--holdout", "0.3", "--laws", meta,
                           "--law-option", "n_folds=3")
    assert code != 0 and f"--law-option configures a single law, not {meta}, whose options compare sets from its " \
                         "own flags (--cv-folds, --objective, --fit-on)" in " ".join(err.split())


def test_law_option_reaches_the_fit_and_the_json_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json
    rows = {}
    for a in ("0", "5"):
        code, out, err = run_cli(capsys, "compare", "--runs", str(_runs(tmp_path)), "--holdout", "0.3", "--laws",
                                 "linear", "--law-option", f"alpha={a}", "--json")
        assert code == 0, err
        rows[a] = json.loads(out)["laws"][0]
    assert rows["0"]["law"] == "linear(alpha=0.0)" and rows["5"]["law"] == "linear(alpha=5.0)"
    assert rows["0"]["splits"]["holdout"]["mre"] < rows["5"]["splits"]["holdout"]["mre"]  # the option is fitted
