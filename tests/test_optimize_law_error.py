"""The optimize report reads its improvement against the law's own error on the runs (a new user took a 0.2 %
predicted improvement for a finding): the chosen law's CV RMSE for auto, the fit's in-sample RMSE otherwise, and
a note when the improvement is smaller than that."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mixlaw.api import optimize_runs
from mixlaw.data import RunTable


def _table(effect: float, noise: float, seed: int = 0) -> RunTable:
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=40)
    y = 2.0 + np.exp(effect * W @ np.array([1.0, -1.0, 0.2])) + noise * rng.standard_normal(40)
    return RunTable(pd.DataFrame({"run": [f"r{i}" for i in range(40)],
                                  **{f"w:{d}": W[:, j] for j, d in enumerate("abc")}, "loss:x": y}))


def test_a_large_improvement_is_read_against_the_in_sample_error() -> None:
    res = optimize_runs(_table(effect=1.0, noise=0.002), law="ye-exp")
    err = res.law_error
    assert err is not None and err["source"] == "in-sample, on the 40 fitting runs"
    assert 0.0005 < err["rmse"] < 0.005  # the noise, 0.002
    assert res.improvement > 10 * err["rmse"]
    text = str(res)
    assert f"the law's error on the objective: RMSE {err['rmse']:.4g}" in text and "may not be real" not in text
    assert json.loads(json.dumps(res.to_dict()))["law_error"]["rmse"] == pytest.approx(err["rmse"])


def test_an_improvement_within_the_cv_error_says_it_may_not_be_real() -> None:
    # The mixture barely matters (effect 0.01) and the runs are noisy (0.02): auto's chosen law is scored by CV.
    res = optimize_runs(_table(effect=0.01, noise=0.02), law="auto", candidates=["ye-exp", "linear"])
    assert res.law_error is not None and res.law_error["source"] == "5-fold CV of the chosen law"
    assert res.improvement < res.law_error["rmse"]
    assert "note: the improvement is smaller than the law's error on the runs, so it may not be real" in str(res)
