"""The multi-scale pipeline's intervals without any backtest (3 sizes, curves of 3 checkpoints): each extrapolated
part's own term, the wider (mixlaw.pipeline.law_spread.step_law_spread_at_size, final_size_law_spread; measured by
bench/interval_calibration.py --fit-sizes 3 --checkpoints 3 [--target-at-fitted-size])."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy.stats import norm

from mixlaw.cli import main
from mixlaw.data import RunTable
from mixlaw.pipeline import fit_pipeline, load_pipeline, save_pipeline, saved_intervals
from mixlaw.pipeline.intervals import final_size_law_spread, step_law_spread

DOMAINS = ["a", "b", "c"]
SIZES = [1e7, 2e7, 4e7]
STEPS = [500.0, 1400.0, 4000.0]


def curves_world(noise: float = 3e-3, n_mix: int = 8, seed: int = 0) -> RunTable:
    """L = 2 + Ye-like mixture term + 0.8 (1e7/N)^0.3 + 0.4 (500/S)^0.4 at 3 sizes x 3 checkpoints, each point with
    its own relative noise ``noise`` (the laws are right: only the noise makes the extrapolation uncertain)."""
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=n_mix)
    rows = []
    for m, w in enumerate(W):
        for N in SIZES:
            for S in STEPS:
                y = 2.0 + 0.3 * np.exp(w @ [0.5, -0.4, 0.1]) + 0.8 * (1e7 / N) ** 0.3 + 0.4 * (500 / S) ** 0.4
                rows.append({"run": f"m{m}-N{N:g}", "params": N, "step": S,
                             **{f"w:{d}": w[j] for j, d in enumerate(DOMAINS)},
                             "loss:a": y * (1 + noise * rng.standard_normal())})
    return RunTable(pd.DataFrame(rows))


def _h(res) -> np.ndarray:  # type: ignore[no-untyped-def]
    return (res.intervals.upper - res.target_losses) / res.target_losses


def test_a_target_at_a_fitted_size_gets_the_step_laws_term() -> None:
    # Only the step is extrapolated (N* = the largest fitted size, S* beyond the last checkpoint). Before, the
    # interval held the size law's term at the last checkpoints alone (E + A/N^alpha at a fitted size: the
    # checkpoints' noise), the same at any S*. Now it is the steps-only rule on that size's curves: the larger of
    # the jackknife and the step law's prediction error at S*, which grows with S*.
    tab = curves_world()
    res = fit_pipeline(tab, target_params=4e7, target_steps=3 * STEPS[-1])
    assert res.selection is None and not res.steps_only and not res.sizes_only
    iv = res.intervals
    assert iv.step_law is not None and iv.size_law is None
    assert_allclose(_h(res), np.maximum(norm.ppf(0.9) * iv.boot_sigma, iv.step_law), rtol=1e-12)
    own = step_law_spread(tab.subset(tab.model_params == 4e7), ["a"], 3 * STEPS[-1], res.mixtures, 0.8)
    assert own is not None
    assert_allclose(iv.step_law, own.half_width, rtol=1e-12)
    assert iv.contains == ("max of the jackknife and the step-law prediction sd at the target's fitted size N = 4e+07 "
                           "(no backtest: short curves, 3 checkpoints)")
    assert "step law's prediction error at S*" in iv.method and "NOT the step law's error beyond it" not in iv.method
    note = [w for w in res.warnings if w.startswith("no backtest possible")]
    held = "intervals hold the step law's prediction error from the fitted checkpoints at N = 4e+07"
    assert len(note) == 1 and held in note[0]
    # The step term carries the checkpoints' noise to S*: further out, wider (the old term, read at the last
    # checkpoints, was the same at any S*).
    near = fit_pipeline(tab, target_params=4e7, target_steps=1.5 * STEPS[-1]).intervals
    far = fit_pipeline(tab, target_params=4e7, target_steps=10 * STEPS[-1]).intervals
    assert near.step_law is not None and far.step_law is not None
    assert np.all(near.step_law * 1.05 < iv.step_law) and np.all(iv.step_law * 1.05 < far.step_law)
    at_last = final_size_law_spread(tab, ["a"], 4e7, res.mixtures, 0.8)
    assert at_last is not None and np.all(far.step_law > 1.1 * at_last.half_width)


def test_a_target_beyond_the_fitted_sizes_gets_both_terms_the_wider() -> None:
    # Both parts are extrapolated: the size law's term (last checkpoints) in quadrature with the jackknife, as in
    # the sizes-only pipeline, and the step law's term on the largest size's curves, as in the steps-only one; the
    # interval is the wider of the two rules.
    tab = curves_world()
    res = fit_pipeline(tab, target_params=1e8, target_steps=3 * STEPS[-1])
    iv = res.intervals
    assert iv.size_law is not None and iv.step_law is not None
    z = norm.ppf(0.9)
    assert_allclose(_h(res), np.maximum(np.hypot(z * iv.boot_sigma, iv.size_law), iv.step_law), rtol=1e-12)
    top = step_law_spread(tab.subset(tab.model_params == 4e7), ["a"], 3 * STEPS[-1], res.mixtures, 0.8)
    assert top is not None
    assert_allclose(iv.step_law, top.half_width, rtol=1e-12)
    assert iv.contains == ("max of the jackknife + size-law prediction sd at the last checkpoints and the step-law "
                           "prediction sd at N = 4e+07 (no backtest: 3 sizes, 3 checkpoints)")
    assert "the larger of (a) the size law's" in iv.method and "(b) the step law's" in iv.method
    note = [w for w in res.warnings if w.startswith("no backtest possible")]
    assert len(note) == 1 and "E + A/N^alpha fitted to each mixture's last checkpoints (alpha shared) and the step " \
        "law's prediction error from the fitted checkpoints at N = 4e+07" in note[0]


def cli(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0)


@pytest.mark.parametrize("target_params", [4e7, 1e8])
def test_saved_pipelines_keep_the_rule_and_predict_agrees(tmp_path, capsys, target_params: float) -> None:  # type: ignore[no-untyped-def]
    res = fit_pipeline(curves_world(), target_params=target_params, target_steps=3 * STEPS[-1])
    iv = res.intervals
    path, mix = tmp_path / "p.json", tmp_path / "mix.csv"
    save_pipeline(res, path)
    doc = json.loads(path.read_text())["result"]["intervals"]
    assert doc["contains"] == iv.contains and doc["method"] == iv.method
    lo, hi, level, how = saved_intervals(path, load_pipeline(path), res.mixtures, res.target_losses)
    assert level == 0.8
    assert_allclose(lo, iv.lower, rtol=1e-12)
    assert_allclose(hi, iv.upper, rtol=1e-12)
    both = iv.size_law is not None
    assert ("max of (the jackknife spread and the saved size-law prediction error in quadrature) and the saved "
            "step-law prediction error" in how) == both
    assert ("max of the jackknife spread and the saved step-law prediction error" in how) == (not both)
    assert how.endswith(f"; as fitted: {iv.contains}")
    # mixlaw predict --pipeline: the pipeline's own mixtures get the same relative half-width (around the mixing
    # law's prediction), and the same line.
    pd.DataFrame(res.mixtures, columns=[f"w:{d}" for d in DOMAINS]).to_csv(mix, index=False)
    assert cli(["predict", "--pipeline", str(path), "--mixtures", str(mix)]) == 0
    cap = capsys.readouterr()
    got = pd.read_csv(io.StringIO(cap.out), sep=r"\s+")
    assert_allclose(got["hi80:a"] / got["pred:a"] - 1, _h(res)[:, 0], atol=2e-6)
    assert_allclose(1 - got["lo80:a"] / got["pred:a"], _h(res)[:, 0], atol=2e-6)
    assert how in " ".join(cap.err.split())


def test_two_sizes_say_the_size_extrapolation_is_not_in_the_step_term() -> None:
    # 2 sizes, a law that takes N (direct dz-eq3-safe), target beyond both: no size-law term can be fitted (2
    # points per mixture), so the interval is the step law's at the largest size, and every line says that the
    # size extrapolation beyond it is not in it (not "the target's fitted size").
    tab = curves_world()
    tab = tab.subset(tab.model_params < 3e7)
    res = fit_pipeline(tab, target_params=1e8, target_steps=3 * STEPS[-1], route="direct", law="dz-eq3-safe",
                       intervals=True)
    iv = res.intervals
    assert iv.size_law is None and iv.step_law is not None
    assert iv.contains.startswith("max of the jackknife and the step-law prediction sd at N = 2e+07")
    assert iv.contains.endswith("NOT the size extrapolation beyond it") and "fitted size" not in iv.contains
    note = [w for w in res.warnings if w.startswith("no backtest possible")]
    assert len(note) == 1 and "(NOT the size extrapolation beyond that size: no size-law term could be fitted)" \
        in note[0]
