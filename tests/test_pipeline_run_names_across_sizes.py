"""A sweep that names its runs by mixture alone ('m3' at every model size), as many users' tables do, is the same
sweep as one that names each (mixture, size) run: the backtest must not tell them apart.

Found on Dai & Zheng's SlimPajama sweep imported with ``--columns run=<mixture id>``: the tokens backtest cut each
run at its largest size's last token count / 3, which left the small sizes' shorter curves uncut (MRE 2.02 % against
2.52 % for the same rows numbered per size)."""

from __future__ import annotations

import numpy as np
from test_pipeline import world

from mixlaw.data import RunTable
from mixlaw.pipeline import backtest_pipeline

# Larger models train longer, as in real sweeps: each size's curve ends at its own last step.
LAST_STEP = {1e7: 1600, 2e7: 3200, 4e7: 6400, 8e7: 12800}


def _sweeps() -> tuple[RunTable, RunTable]:
    frame = world(n_mix=8, steps=[100, 200, 400, 800, 1600, 3200, 6400, 12800]).frame
    frame = frame[frame["step"] <= frame["params"].map(LAST_STEP)].reset_index(drop=True)
    by_mixture = frame.assign(run=frame["run"].str.split("-").str[0])
    assert by_mixture["run"].nunique() == 8 and frame["run"].nunique() == 32
    return RunTable(frame), RunTable(by_mixture)


def test_the_steps_backtest_cuts_each_size_at_its_own_last_step() -> None:
    per_size, by_mixture = _sweeps()
    kw = {"route": "nested", "law": "ye-exp", "step_ratio": 4.0}
    want = {b.kind: b for b in backtest_pipeline(per_size, **kw)}
    got = {b.kind: b for b in backtest_pipeline(by_mixture, **kw)}
    assert want["steps"].skipped is None and want["steps"].n == 8 * 3
    for kind in ("steps", "size"):
        assert got[kind].n == want[kind].n
        np.testing.assert_allclose([got[kind].mre, got[kind].mean_signed],
                                   [want[kind].mre, want[kind].mean_signed], rtol=1e-9)

