"""The steps-only pipeline's intervals without a backtest (curves of 3 checkpoints): the jackknife over mixtures and
the step law's own prediction error at S*, the larger of the two (mixlaw.pipeline.law_spread.step_law_spread;
measured by bench/interval_steps_only.py --checkpoints 3)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from interval_cover import own_prediction_cover
from numpy.testing import assert_allclose
from scipy.stats import norm

from mixlaw.data import RunTable
from mixlaw.pipeline import fit_pipeline, load_pipeline, save_pipeline, saved_intervals
from mixlaw.pipeline.intervals import step_law_spread

DOMAINS = ["a", "b", "c"]
N_ONE = 5e7
STEPS3 = [500.0, 1400.0, 4000.0]
S_TARGET = 10_000.0  # 2.5x the last checkpoint


def curves_world(beta_spread: float, noise: float, n_mix: int = 8, seed: int = 0, steps: list[float] = STEPS3,
                 ) -> tuple[RunTable, dict[tuple[float, ...], float]]:
    """One model size, one curve per mixture: L = E_r + B_r / S^beta_r, E_r Ye-like in the mixture r, beta_r =
    0.4 + beta_spread x (a linear function of r, centred): a spread > 0 is a misspecification of the pipeline's
    step law (beta shared per eval across mixtures). Relative noise ``noise``. Returns the table and each
    mixture's true loss at S_TARGET (one eval)."""
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=n_mix)
    u = W @ np.array([1.0, -1.0, 0.0])
    rows, truth = [], {}
    for m, w in enumerate(W):
        E, beta = 2.0 + 0.3 * np.exp(w @ [0.5, -0.4, 0.1]), 0.4 + beta_spread * u[m]
        B = 0.5 * 500.0 ** beta  # the step term is 0.5 at the first checkpoint for every mixture
        for S in steps:
            y = (E + B / S ** beta) * (1 + noise * rng.standard_normal())
            rows.append({"run": f"m{m}", "params": N_ONE, "step": S,
                         **{f"w:{d}": w[j] for j, d in enumerate(DOMAINS)}, "loss:a": y})
        truth[tuple(np.round(w, 9))] = E + B / S_TARGET ** beta
    return RunTable(pd.DataFrame(rows)), truth


def test_step_law_spread_recovers_the_noise_and_covers_at_its_level() -> None:
    # 300 curves of 3 checkpoints with beta shared (the law is right), 0.5 % noise: the residual sd of the
    # shared-beta fit is the noise, and t sigma sqrt(1 + h*) around each mixture's own prediction holds about 80 %
    # of the target runs' measured losses (each the truth with the same noise).
    tab, truth = curves_world(0.0, 5e-3, n_mix=300, seed=1)
    W = np.unique(np.round(tab.weights, 9), axis=0)
    sp = step_law_spread(tab, ["a"], S_TARGET, W, 0.8)
    assert sp is not None and sp.law == "step" and sp.n_sizes == 3 and sp.df[0] == 300 * 3 - 2 * 300 - 1
    assert abs(sp.alpha[0] - 0.4) < 0.1
    assert abs(sp.sigma[0] / 5e-3 - 1) < 0.15
    res = fit_pipeline(tab, target_steps=S_TARGET, route="nested", law="ye-exp")
    cover = own_prediction_cover(res, truth, W, sp.half_width[:, 0], 5e-3)
    assert 0.72 <= cover <= 0.88, cover
    # fit_from leaves the first checkpoint out: 2 per curve, no degrees of freedom.
    assert step_law_spread(tab, ["a"], S_TARGET, W, 0.8, fit_from=0.2) is None


def test_curves_of_3_checkpoints_get_the_step_law_term_and_say_what_they_hold(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # 12 mixtures, each its own step exponent (0.4 +/- up to 0.15), 0.05 % noise, 3 checkpoints: no backtest.
    # The intervals are the larger of the jackknife and the step law's prediction error (the shared-beta misfit
    # shows in its residuals): never narrower than the jackknife alone, wider on average, holding more of the
    # true losses.
    tab, truth = curves_world(0.15, 5e-4, n_mix=12)
    res = fit_pipeline(tab, target_steps=S_TARGET)
    assert res.steps_only and res.selection is None
    iv = res.intervals
    z = norm.ppf(0.9)
    h = (iv.upper - res.target_losses) / res.target_losses
    assert iv.size_law is None and iv.step_law is not None and np.all(iv.step_law > 0)
    assert_allclose(h, np.maximum(z * iv.boot_sigma, iv.step_law), rtol=1e-12)
    assert np.all(h >= z * iv.boot_sigma - 1e-15) and np.mean(h) > 1.5 * np.mean(z * iv.boot_sigma)
    assert iv.contains == "max of the jackknife and the step-law prediction sd (no backtest: 3 checkpoints)"
    assert iv.method.startswith(iv.contains) and "NOT a shape error common to every curve" in iv.method
    assert "NOT in these intervals" not in iv.method
    assert iv.contains in str(res)
    note = [w for w in res.warnings if w.startswith("no backtest possible")]
    assert len(note) == 1 and "intervals hold the step law's prediction error" in note[0]
    doc = json.loads(json.dumps(res.to_dict()))
    assert doc["intervals"]["contains"] == iv.contains and doc["intervals"]["size_law"] is None
    assert_allclose(np.array(doc["intervals"]["step_law"]), iv.step_law, rtol=1e-12)
    e = np.abs(np.array([truth[tuple(np.round(w, 9))] for w in res.mixtures]) / res.target_losses[:, 0] - 1)
    assert np.sum(e <= h[:, 0]) >= np.sum(e <= z * iv.boot_sigma[:, 0]) + 3  # 10 of 12 against 4
    # A saved pipeline rebuilds the same intervals for its own mixtures; a new mixture gets the largest term.
    path = tmp_path / "p.json"
    save_pipeline(res, path)
    lo, hi, level, how = saved_intervals(path, load_pipeline(path), res.mixtures, res.target_losses)
    assert level == 0.8 and "step-law prediction error" in how
    assert_allclose(lo, iv.lower, rtol=1e-12)
    assert_allclose(hi, iv.upper, rtol=1e-12)
    new = np.array([[0.4, 0.35, 0.25]])
    lo1, hi1 = res.interval(new)
    pred = res.predict(new)
    assert np.all((hi1 - pred) / pred >= iv.step_law.max(axis=0) - 1e-12)


def test_curves_of_4_checkpoints_keep_the_backtest_interval() -> None:
    # With a fourth checkpoint the time backtest runs and the intervals are the backtest's (no step-law term).
    tab, _ = curves_world(0.1, 5e-4, steps=[500.0, 1000.0, 2000.0, 4000.0])
    res = fit_pipeline(tab, target_steps=S_TARGET)
    assert res.selection is not None
    iv = res.intervals
    assert iv.step_law is None and iv.size_law is None and iv.contains.startswith("backtest extrapolation error")
