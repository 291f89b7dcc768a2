"""The pipeline's optimum comes with an interval of its improvement over the natural mixture (the jackknife over
mixtures that the prediction intervals already refit), and says when it reaches 0. On Dai & Zheng's SlimPajama
runs (target 2.718B) ``mixlaw pipeline --optimize`` printed a 0.21 % improvement, and from it "reaches the
default's final loss at 92.2 % of the tokens, worth +11.6 % training of the default", while refits without one
mixture moved that improvement by as much as itself; nothing said that it could be noise."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli

from mixlaw.data import RunTable
from mixlaw.pipeline import fit_pipeline, optimize_pipeline

SIZES = [1e7, 2e7, 4e7, 8e7]
STEPS = (250, 500, 1000, 2000, 3000)
N_T, S_T = 2e8, 6000.0


def world(mix_scale: float, noise: float, seed: int = 0) -> RunTable:
    """Joint law of one eval: a mixture effect ``mix_scale * exp(t . w)`` on top of size and step terms."""
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=10)
    rows = []
    for m, w in enumerate(W):
        mix = mix_scale * np.exp(np.array([-1.5, 0.5, 0.8]) @ w)
        for N in SIZES:
            for S in STEPS:
                y = (1.8 + mix + 0.6 * (1e7 / N) ** 0.32 + 0.5 * (250 / S) ** 0.4) * (1 + noise * rng.standard_normal())
                rows.append({"run": f"m{m}-N{N:g}", "params": N, "step": S, "w:a": w[0], "w:b": w[1], "w:c": w[2],
                             "loss:a": y})
    return RunTable(pd.DataFrame(rows))


# A clear mixture effect, and none at all (0.5 % checkpoint noise: any improvement is the optimiser fitting noise).
# On 12 such null worlds (seeds 0-11) the interval reached 0 in 11, as an 80 % interval should in about 90 %.
@pytest.mark.parametrize(("mix_scale", "noise", "reaches_zero"), [(0.4, 1e-4, False), (0.0, 5e-3, True)])
def test_improvement_interval_says_when_the_gain_may_be_noise(mix_scale: float, noise: float,
                                                              reaches_zero: bool) -> None:
    res = fit_pipeline(world(mix_scale, noise), target_params=N_T, target_steps=S_T)
    opt = optimize_pipeline(res, runs=res.mixtures, within_fitted_range=True)
    ii = opt.improvement_interval
    assert ii is not None and ii["level"] == res.intervals.level
    # (null world: the chosen nested ye-exp finds the eval flat, so improvement and interval are all 0)
    assert ii["lower"] <= opt.improvement <= ii["upper"] and (reaches_zero or ii["lower"] < ii["upper"])
    assert (ii["lower"] <= 0) == reaches_zero
    text = str(opt)
    assert f"improvement's 80% interval = [{ii['lower']:.4g}, {ii['upper']:.4g}] (jackknife over the mixtures, " in text
    said = "note: the improvement's interval reaches 0: the optimum may be no better than the natural mixture"
    assert (said in text) == reaches_zero
    if reaches_zero:
        assert opt.steps is not None and "nor are the steps-to-match figures a gain" in text
    assert json.loads(json.dumps(opt.to_dict()))["improvement_interval"]["upper"] == pytest.approx(ii["upper"])


def test_cli_prints_it_and_a_fixed_route_without_refits_has_none(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "runs.csv"
    world(0.0, 5e-3).frame.to_csv(path, index=False)
    code, out, err = run_cli(capsys, "pipeline", "--runs", str(path), "--target-params", "2e8", "--target-steps",
                             "6000", "--optimize")
    assert code == 0, err
    assert "improvement's 80% interval = [" in out and "the improvement's interval reaches 0" in out
    # A fixed route and law builds no intervals, hence no jackknife refits: nothing is claimed.
    res = fit_pipeline(world(0.0, 5e-3), target_params=N_T, target_steps=S_T, route="nested", law="ye-exp")
    assert optimize_pipeline(res).improvement_interval is None


def test_the_runs_may_be_the_run_table_itself() -> None:
    # optimize_pipeline(res, runs=table) raised numpy's "float() argument must be ... not 'RunTable'": now the table
    # is its rows' mixtures (as runs=table.weights; each mixture repeats per size and step, which the spacing counts
    # once), read by domain name, and the nearest run is named.
    table = world(0.4, 1e-4)
    res = fit_pipeline(table, target_params=N_T, target_steps=S_T)
    ref = optimize_pipeline(res, runs=table.weights, trust_radius=0.3, steps_to_match=False)
    opt = optimize_pipeline(res, runs=table, trust_radius=0.3, steps_to_match=False)
    assert opt.weights == pytest.approx(ref.weights, abs=1e-9) and opt.objective == pytest.approx(ref.objective)
    assert opt.runs_spacing_l1 == pytest.approx(ref.runs_spacing_l1) and opt.nearest_run_l1 <= 0.3 + 1e-6
    assert opt.nearest_run_name == str(table.runs[opt.nearest_run])


def test_an_interval_wholly_below_zero_says_the_optimum_is_worse() -> None:
    # hunt26: with a domain fixed where the law finds it costly (a fixed at 0, the domain that lowers the loss) the
    # improvement's interval lay wholly below 0 ([-0.2262, -0.05279] on the bundled trainer's runs, legal=0) and the
    # note said it "reaches 0: the optimum may be no better than the natural mixture".
    res = fit_pipeline(world(0.4, 1e-4), target_params=N_T, target_steps=S_T)
    opt = optimize_pipeline(res, runs=res.mixtures, fixed={"a": 0.0}, extrapolate=True)
    ii = opt.improvement_interval
    assert ii is not None and ii["upper"] < 0 and opt.improvement < 0
    text = str(opt)
    assert "interval reaches 0" not in text
    assert ("note: the improvement's interval lies below 0: the optimum is predicted worse than the natural mixture "
            "(the bounds or fixed weights cost more than the law finds)") in text
