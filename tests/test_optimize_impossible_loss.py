"""An optimum whose predicted loss is 0 or below, which no loss can be (a fit refuses a loss <= 0), is said in words:
'optimize --law linear --extrapolate' on Marin's Delphi swarm (unch_github_python, 187 runs) printed 'predicted
objective = -0.3094 ... improvement = 1.174 (135.81%)' with only a warning that a share left the fitted range."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixlaw.api import optimize_runs
from mixlaw.data import RunTable


def _table() -> RunTable:
    # loss = 3 - 4 a, with a in [0, 0.5] in the runs (losses 1 to 3): at a = 1 the linear law predicts -1.
    rng = np.random.default_rng(0)
    a = rng.uniform(0.0, 0.5, 30)
    b = rng.uniform(0.0, 1.0, 30) * (1 - a)
    W = np.column_stack([a, b, 1 - a - b])
    y = 3.0 - 4.0 * a + 0.01 * rng.standard_normal(30)
    return RunTable(pd.DataFrame({"run": [f"r{i}" for i in range(30)],
                                  **{f"w:{d}": W[:, j] for j, d in enumerate("abc")}, "loss:x": y}))


def test_an_optimum_predicted_below_zero_loss_is_said_to_be_impossible() -> None:
    res = optimize_runs(_table(), law="linear", extrapolate=True)
    assert res.objective < 0  # the law's extrapolation, which the report must not read as a gain
    text = str(res)
    assert "note: the law predicts a loss of 0 or below at the optimum ('x' " in text
    assert "which no loss can be" in text


def test_an_optimum_within_the_runs_has_no_such_note() -> None:
    res = optimize_runs(_table(), law="linear")
    assert res.objective > 0 and "which no loss can be" not in str(res)
