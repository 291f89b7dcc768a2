"""The reference mixture 'optimize' compares with: when the user gives none, it is the mean of the runs, and the
report says so (it said "given", which a user who gave nothing could not place)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixlaw.api import optimize_runs
from mixlaw.data import RunTable


def _table() -> RunTable:
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=30)
    y = 2.0 + np.exp(W @ np.array([0.4, -0.6, 0.1]))
    return RunTable(pd.DataFrame({"run": [f"r{i}" for i in range(30)],
                                  **{f"w:{d}": W[:, j] for j, d in enumerate("abc")}, "loss:x": y}))


def test_default_reference_is_labelled_mean_of_the_runs() -> None:
    t = _table()
    res = optimize_runs(t, law="ye-exp")
    assert res.natural_source == "mean of the runs"
    assert "natural mixture (mean of the runs)" in str(res)
    np.testing.assert_allclose(list(res.natural_weights.values()), t.weights.mean(axis=0))
    given = optimize_runs(t, law="ye-exp", natural={"a": 0.2, "b": 0.3, "c": 0.5})
    assert given.natural_source == "given"
