"""A meta-law's report says in its method line what it is and each member law's method (hunt31: auto and stack
showed their first member's method alone, 'method = Levenberg-Marquardt (bounded), ...' of an auto that chose the
closed-form linear for the other eval set)."""

from __future__ import annotations

import numpy as np

from mixlaw.laws import get_law, law_from_dict


def _fit(key: str):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=40)
    Y = np.column_stack([2.0 + np.exp(W @ [-1.5, 0.8, 0.2]) * np.exp(0.002 * rng.standard_normal(40)),
                         3.0 + W @ [0.3, -0.6, 0.1] + 0.001 * rng.standard_normal(40)])
    return get_law(key, candidates=["ye-exp", "linear"]).fit(W, Y, domains=["a", "b", "c"], targets=["x", "y"])


def test_auto_names_each_chosen_law_and_its_method() -> None:
    law = _fit("auto")
    assert law.choice_ == {"x": "ye-exp", "y": "linear"}
    line = str(law.report()).splitlines()[1]
    assert line.startswith("    method = best law by CV per eval set: ye-exp (1 eval set): Levenberg-Marquardt "
                           "(bounded), huber(δ=0.001) on log loss; linear (1 eval set): closed form / external "
                           "solver; "), line
    assert law.report().to_dict()["method"].startswith("best law by CV per eval set: ye-exp (1 eval set)")


def test_stack_says_it_is_a_stack_of_its_members() -> None:
    line = str(_fit("stack").report()).splitlines()[1]
    assert line.startswith("    method = stack of the best laws by CV per eval set (convex weights fitted on their "
                           "out-of-fold predictions): ye-exp ("), line
    assert "; linear (" in line


def test_a_loaded_meta_law_says_it_was_loaded() -> None:
    line = str(law_from_dict(_fit("auto").to_dict()).report()).splitlines()[1]
    assert line == "    method = loaded from a saved file (its fit's starts, evaluations and timings are not saved)"
