"""Auto's block says the error to expect at the target as one number: the chosen candidate's backtest MRE times
the distance factor. The README and issue 9 speak of "the error estimate" (and "the estimate is marked PARTIAL"),
but a user on Dai & Zheng's SlimPajama runs had to assemble it from the chosen row's MRE (2.54 %) and the
distance factor printed inside the intervals' line (1.15)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_pipeline_auto import N_T, S_T, world

from mixlaw.pipeline import fit_pipeline


def test_auto_block_prints_the_error_estimate_and_json_has_it() -> None:
    table, _ = world(False, noise=3e-3)
    res = fit_pipeline(table, target_params=N_T, target_steps=S_T, n_jackknife=0)
    sel = res.selection
    f = sel.split.distance_factor
    assert np.isfinite(f) and f >= 1
    assert sel.error_estimate == pytest.approx(sel.chosen.mre * f)
    line = next(ln for ln in str(sel).splitlines() if "error estimate at the target" in ln)
    assert line == (f"    error estimate at the target: {sel.chosen.mre * f:.2%} ({sel.chosen.label}'s backtest MRE "
                    f"{sel.chosen.mre:.2%} x distance factor {f:.3g}, the target's distance in log N + log S over "
                    "the backtest's)")
    assert line in str(res)  # the pipeline's own text carries the block
    d = json.loads(json.dumps(res.to_dict()))["selection"]
    assert d["error_estimate"] == pytest.approx(sel.error_estimate) and d["distance_factor"] == pytest.approx(f)


def test_a_partial_backtest_says_so_and_none_says_nothing() -> None:
    # 3 sizes: only the step part runs, and the estimate (distance in size not tested) is marked PARTIAL.
    table, _ = world(False, noise=3e-3, sizes=[1e7, 2e7, 4e7])
    sel = fit_pipeline(table, target_params=N_T, target_steps=S_T, n_jackknife=0).selection
    assert sel.partial
    line = next(ln for ln in str(sel).splitlines() if "error estimate at the target" in ln)
    assert line.endswith("over the backtest's; PARTIAL)")
    # 3 sizes and curves of 3 checkpoints: nothing to hold out, no selection, no estimate claimed.
    table, _ = world(False, noise=3e-3, sizes=[1e7, 2e7, 4e7], steps=(500, 1000, 3000))
    res = fit_pipeline(table, target_params=N_T, target_steps=S_T, n_jackknife=0)
    assert res.selection is None and "error estimate at the target" not in str(res)
