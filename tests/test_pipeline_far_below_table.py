"""A target-scale prediction below half the lowest loss its eval has anywhere in the table is named in a warning.

Ye et al.'s 5Mix runs, 24 mixtures at 160M-410M, FreeLaw, target 100x in size and 30x in steps: one mixture
('0.25-0-0-0-0.75', its size law's E at its bound 0) was predicted 0.113 where every loss in the table is 2.17 or
more, with no word but the stage's 'E9 at lower bound 0'."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from test_pipeline_direct_few_mixtures import world

from mixlaw.data import RunTable
from mixlaw.errors import MixlawWarning
from mixlaw.pipeline import fit_pipeline


def test_the_line_names_the_lowest_prediction() -> None:
    from mixlaw.pipeline.auto import far_below_table_line

    table = world(10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixlawWarning)
        res = fit_pipeline(table, target_params=3e8, target_steps=8000, intervals=False)
    assert far_below_table_line(res, table) is None
    low = float(np.nanmin(table.losses(["y"])))
    res.target_losses[3, 1] = 0.3 * low
    line = far_below_table_line(res, table)
    assert line is not None and line.startswith("1 of 20 target-scale prediction(s) lie below 0.5x")
    # Named by its label (the --out file's mixture column; the printed table shows its w: columns) and first run:
    # "y of mixture 4 (run ...)" counted the rows of a printed table that numbers none.
    label = ",".join(f"{d}={v:.4g}" for d, v in zip(res.domains, res.mixtures[3], strict=True))
    assert label == res.frame()["mixture"][3]
    assert f"y of mixture {label} (run {res.mixture_runs[3]!r})" in line and f"the table's lowest {low:.4g}" in line


def _no_floor_table() -> RunTable:
    """8 mixtures x 4 sizes x 4 steps of losses with no floor (E = 0), read far below the table at 1000x."""
    rng = np.random.default_rng(0)
    rows = []
    for m, w in enumerate(rng.dirichlet(np.ones(3), size=8)):
        for N in (1e7, 2e7, 4e7, 8e7):
            for S in (250, 500, 1000, 2000):
                y = (30 / N ** 0.2 + 8 / S ** 0.3) * np.exp(0.3 * w[0]) * (1 + 1e-3 * rng.standard_normal())
                rows.append({"run": f"m{m}-{N:g}", "params": N, "step": S, "w:a": w[0], "w:b": w[1], "w:c": w[2],
                             "loss:x": y})
    return RunTable(pd.DataFrame(rows))


def test_fit_pipeline_warns_of_a_collapsed_prediction() -> None:
    # Losses with no floor (E = 0) read 1000x beyond the runs: the law itself takes them below half the table's.
    with pytest.warns(MixlawWarning, match=r"target-scale prediction\(s\) lie below 0.5x the lowest loss"):
        res = fit_pipeline(_no_floor_table(), target_params=8e10, target_steps=2e6)
    assert any("lie below 0.5x" in w for w in res.warnings)


@pytest.mark.parametrize(("route", "law"), [("nested", "ye-exp"), ("direct", "ye-exp")])
def test_a_fixed_route_warns_too(route: str, law: str) -> None:
    # A fixed route and law without intervals (the CLI's --route nested --law ye-exp) took fit_route alone and said
    # nothing of a prediction of 0.25 where the table's lowest is 0.52; auto's fit of the same law warned.
    table = _no_floor_table()
    with pytest.warns(MixlawWarning, match=r"target-scale prediction\(s\) lie below 0.5x the lowest loss"):
        res = fit_pipeline(table, target_params=8e10, target_steps=2e6, route=route, law=law)
    assert res.route == route and any("lie below 0.5x" in w for w in res.warnings)
    assert float(np.min(res.target_losses)) < 0.5 * float(np.nanmin(table.losses(["x"])))


def test_a_long_label_is_cut_to_its_head_and_the_run() -> None:
    # Marin's 39 buckets ('dolma3_cc/electronics_and_hardware_high=0.004218', ...) made a label of 1368-1386
    # characters inside this one-line warning. Here 5 domains with such names: the label's head (the --out file's
    # mixture column starts with it), how many domains it leaves out, and the first run still name the mixture.
    from mixlaw.pipeline.auto import far_below_table_line
    from mixlaw.pipeline.result import LABEL_WIDTH

    base = world(10)
    long = {c: f"w:dolma3_cc/{c[2:]}_electronics_and_hardware_high" for c in base.frame.columns if c.startswith("w:")}
    table = RunTable(base.frame.rename(columns=long))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixlawWarning)
        res = fit_pipeline(table, target_params=3e8, target_steps=8000, intervals=False)
    res.target_losses[3, 1] = 0.3 * float(np.nanmin(table.losses(["y"])))
    line = far_below_table_line(res, table)
    full = res.frame()["mixture"][3]
    assert line is not None and full not in line and len(full) > 2 * LABEL_WIDTH
    head = full.split(",")[0]
    assert f"y of mixture {head},... (+4 more of 5 domains) (run {res.mixture_runs[3]!r})" in line
    assert all(len(r) < LABEL_WIDTH + 60 for r in res.mixture_rows())
