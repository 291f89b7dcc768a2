"""The sizes-only direct route on runs whose mixtures mostly sit at one size each: the joint law needs no mixture
at several sizes, and its start must not need them either.

Found on Dai & Zheng's 4-domain Pile runs at 6B tokens (``mixlaw pipeline --target-params 1B --target-tokens 6B
--sizes-only``): 16 mixtures at 90M, 5 at 200M, 2 at 440M, the 2 also at 90M. The start's shared size fit took those
2 mixtures (4 points for 5 parameters) and stopped with "joint[github] start: 2 curve(s) with 4 points in all are
too few for 5 parameters"; its fallback, one size law through every run, needs 4 sizes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_pipeline import DOMAINS, truth

from mixlaw.data import RunTable
from mixlaw.pipeline import fit_pipeline

STEP = 1000


def _runs() -> tuple[RunTable, np.ndarray]:
    W = np.random.default_rng(3).dirichlet(np.ones(3), size=23)
    sizes = [1e7] * 16 + [2e7] * 5 + [4e7] * 2
    rows = [(w, N) for w, N in zip(W, sizes, strict=True)] + [(W[-2], 1e7), (W[-1], 1e7)]
    frame = pd.DataFrame([{"run": f"r{i}", "params": N, "step": STEP, **{f"w:{d}": w[j] for j, d in enumerate(DOMAINS)},
                           **{f"loss:{d}": truth(w, N, STEP)[0, j] for j, d in enumerate(DOMAINS)}}
                          for i, (w, N) in enumerate(rows)])
    return RunTable(frame), W


@pytest.mark.filterwarnings("ignore")
def test_the_sizes_only_direct_route_fits_mixtures_seen_at_one_size() -> None:
    table, W = _runs()
    res = fit_pipeline(table, target_params=8e7, target_steps=STEP, route="direct", law="ye-exp", sizes_only=True,
                       n_jackknife=0)
    assert res.sizes_only
    np.testing.assert_allclose(res.predict(W[:5]), truth(W[:5], 8e7, STEP), rtol=0.01)
