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


@pytest.mark.parametrize("law", ["linear", "loglinear", "ye-exp"])
def test_a_trust_radius_solving_some_balls_does_not_call_the_optimum_global(law: str) -> None:
    """A union of L1 balls is not convex, and the gradient search solves only the balls of the best-predicted runs:
    here the run (0.6, 0.2, 0.2), predicted worst, holds a mixture of predicted loss 1.021 within L1 0.4 of it, the
    three best-predicted runs' balls reach 1.050 at best, and the method line said 'convex: the optimum is global'."""
    from mixlaw.laws import get_law
    from mixlaw.optimize import optimize_mixture
    W = np.array([[0.2, 0.8, 0], [0.25, 0.75, 0], [0.3, 0.7, 0], [0.6, 0.2, 0.2], [0.22, 0.78, 0.0]])
    y = W @ [1.0, 1.1, 5.0] if law == "linear" else 0.5 + np.exp(W @ np.log([1.0, 1.1, 5.0]))
    fitted = get_law(law, **({"alpha": 0.0} if law != "ye-exp" else {})).fit(W, y[:, None], domains=list("abc"),
                                                                             targets=["x"])
    res = optimize_mixture(fitted, runs=W, trust_radius=0.4)
    assert not res.convex and "not proven global" in res.method and "the optimum is global" not in res.method
    # solved every ball (radius 0.4 with only the 3 best runs' balls reaching the simplex is not this case): global
    wide = optimize_mixture(fitted, runs=W[:3], trust_radius=0.4)
    assert wide.convex and "convex: the optimum is global; within L1 0.4 of a run" in wide.method


def test_a_sampled_optimum_of_a_convex_law_is_not_called_global() -> None:
    """'convex' says the optimum is global; the simulate search's mean of its best samples is not the minimum."""
    res = optimize_runs(_table(), law="linear", search="simulate", n_samples=2000)
    assert not res.convex
