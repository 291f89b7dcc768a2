"""What the optimize report gives to read its numbers by: the reference mixture (when the user gives none, the
mean of the runs, and the report says so: it said "given") and the runs' own spacing beside the optimum's
distance to the nearest run (on Olmix's 64-domain swarm an optimum 0.90 from every run sat among runs 0.82
apart)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

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


def test_run_spacing_counts_each_mixture_once() -> None:
    from mixlaw.optimize.simulate import run_spacing_l1

    a, b, c = [1.0, 0.0, 0.0], [0.8, 0.2, 0.0], [0.0, 0.0, 1.0]
    # Nearest other mixture: a 0.4, b 0.4, c 2 -> median 0.4; b repeated (another checkpoint) must not count as 0.
    assert run_spacing_l1(np.array([a, b, b, c, b])) == pytest.approx(0.4)
    assert run_spacing_l1(np.array([a, a])) is None


def test_report_reads_the_optimum_distance_against_the_runs_spacing() -> None:
    from mixlaw.optimize.simulate import run_spacing_l1

    t = _table()
    res = optimize_runs(t, law="ye-exp")
    assert res.runs_spacing_l1 == pytest.approx(run_spacing_l1(t.weights))
    assert f"the runs lie {res.runs_spacing_l1:.3g} from their nearest other run, median" in str(res)
    assert res.to_dict()["runs_spacing_l1"] == res.runs_spacing_l1


def test_optimum_far_from_every_run_says_so():
    """Marin's swarm, `optimize --target uncheatable_obj`: nearest run 1.05 away, runs 0.578 apart (median);
    the report printed both numbers but not what they mean."""
    from mixlaw.optimize.result import OptimumResult

    w = {"a": 0.5, "b": 0.5}
    kw = dict(weights=w, objective=1.0, losses={"x": 1.0}, objective_name="mean", active=[],
              lower=dict.fromkeys(w, 0.0), upper=dict.fromkeys(w, 1.0), natural_weights=w, natural_objective=1.1,
              natural_losses={"x": 1.1}, natural_source="uniform", natural_feasible=True, convex=True,
              method="SLSQP", n_starts=1, n_converged=1, nearest_run=3)
    far = OptimumResult(**kw, nearest_run_l1=1.05, runs_spacing_l1=0.578)
    near = OptimumResult(**kw, nearest_run_l1=0.2, runs_spacing_l1=0.578)
    assert "is an extrapolation" in str(far) and "--trust-radius 0.58" in str(far)
    assert "is an extrapolation" not in str(near)
