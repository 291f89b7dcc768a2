"""``linear`` (each loss affine in the mixture) and ``loglinear`` (exp of an affine function) make a convex problem
of a non-negative combination of losses or their max, as Ye's law does: 'optimize --law linear' said "not known to
be convex: best of the starts" and ran 16 starts (review32b). Maximised, no law's problem is convex."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixlaw.api import optimize_runs
from mixlaw.data import RunTable


def _table() -> RunTable:
    rng = np.random.default_rng(1)
    W = rng.dirichlet(np.ones(4), 40)
    y1 = np.exp(1.2 - 0.6 * W[:, 0] + 0.3 * W[:, 1] - 0.2 * W[:, 2]) + 0.01 * rng.standard_normal(40)
    y2 = np.exp(1.0 + 0.4 * W[:, 0] - 0.5 * W[:, 1] + 0.1 * W[:, 3]) + 0.01 * rng.standard_normal(40)
    return RunTable(pd.DataFrame({"run": [f"r{i}" for i in range(40)],
                                  **{f"w:{d}": W[:, j] for j, d in enumerate("abcd")}, "loss:x": y1, "loss:y": y2}))


@pytest.mark.parametrize("law", ["linear", "loglinear"])
@pytest.mark.parametrize("objective", ["mean", "max", "x", {"x": 0.25, "y": 0.75}])
def test_a_convex_baseline_is_solved_from_one_start_with_the_same_optimum(law: str, objective: object) -> None:
    t = _table()
    one = optimize_runs(t, law=law, objective=objective)
    many = optimize_runs(t, law=law, objective=objective, n_starts=16)
    assert one.convex and one.n_starts == 1 and "convex: the optimum is global" in one.method
    assert one.objective == pytest.approx(many.objective, abs=1e-6)
    assert np.allclose(one.weight_array(), many.weight_array(), atol=1e-3)


def test_a_maximised_baseline_is_not_called_convex() -> None:
    res = optimize_runs(_table(), law="linear", objective="x", maximize=True)
    assert not res.convex and res.n_starts > 1
