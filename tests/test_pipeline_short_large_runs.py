"""A sweep whose largest models train for fewer steps than its small ones (Ye et al.'s 5Mix: 70M and 160M to 100k
steps, 305M and 410M to 30k) still has a backtest: the largest size is held out at its own last step.

Found running ``mixlaw pipeline --fit-up-to 410M --target-params 1B --backtest`` on 5Mix with all its checkpoints:
both backtest parts said "no run at N = 4.1e+08 reaches the last token count 1.04858e+11", and auto said "no
backtest possible (nothing to hold out)" and took nested ye-exp without comparing the candidates."""

from __future__ import annotations

import pytest
from test_pipeline import world

from mixlaw.data import RunTable
from mixlaw.pipeline import backtest_pipeline, fit_pipeline

LAST_STEP = {1e7: 6400, 2e7: 6400, 4e7: 1600, 8e7: 1600}


def _sweep() -> RunTable:
    frame = world(n_mix=8, steps=[100, 200, 400, 800, 1600, 3200, 6400]).frame
    return RunTable(frame[frame["step"] <= frame["params"].map(LAST_STEP)].reset_index(drop=True))


def test_the_backtest_holds_out_the_largest_size_at_its_own_last_step() -> None:
    tests = {b.kind: b for b in backtest_pipeline(_sweep(), route="nested", law="ye-exp", step_ratio=4.0)}
    for kind in ("steps", "size"):
        assert tests[kind].skipped is None, tests[kind].skipped
        assert tests[kind].n == 8 * 3 and "at step 1600" in tests[kind].description
        assert tests[kind].mre < 3e-3  # a lawful world with 2e-5 noise


@pytest.mark.filterwarnings("ignore")
def test_auto_compares_the_candidates_on_such_a_sweep() -> None:
    res = fit_pipeline(_sweep(), target_params=1.6e8, target_steps=6400)
    sel = res.selection
    assert sel is not None and len(sel.candidates) >= 2
    split = sel.split
    assert (split.held_params, split.held_time) == (8e7, 1600.0) and split.truth_rows.size == 8
    assert split.time_ratio_target == pytest.approx(4.0)
