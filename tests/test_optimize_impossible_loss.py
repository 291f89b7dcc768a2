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


def _two_evals(y2: np.ndarray) -> RunTable:
    t = _table().frame.copy()
    t["loss:y"] = y2
    return RunTable(t)


def test_a_callable_objective_below_zero_with_every_loss_above_it_has_no_such_note() -> None:
    # A difference of two losses is negative by design; every predicted loss is above 0 (review32b).
    a = _table().frame["w:a"].to_numpy()
    res = optimize_runs(_two_evals(4.0 + 0.0 * a), law="linear", objective=lambda L: L[..., 0] - L[..., 1])
    assert res.objective < 0 and min(res.losses.values()) > 0
    assert "0 or below" not in str(res)


def test_an_eval_the_objective_leaves_out_below_zero_does_not_void_the_objective() -> None:
    a = _table().frame["w:a"].to_numpy()
    # Minimising y = 2 - a drives a to 1, where the linear law's x = 3 - 4 a is -1.
    res = optimize_runs(_two_evals(2.0 - a), law="linear", objective={"x": 0.0, "y": 1.0}, extrapolate=True)
    assert res.losses["x"] < 0 < res.losses["y"]
    text = str(res)
    assert "predicts a loss of 0 or below at the optimum ('x' " in text
    assert "an eval the objective leaves out" in text
    assert "the predicted objective and the gains are no finding" not in text
