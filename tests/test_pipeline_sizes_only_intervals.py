"""The sizes-only pipeline's intervals without a backtest (3 sizes): the jackknife over mixtures plus the size law's
own prediction error at N* (mixlaw.pipeline.law_spread.size_law_spread; measured by bench/interval_sizes_only.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from interval_cover import own_prediction_cover
from numpy.testing import assert_allclose
from scipy.stats import norm

from mixlaw.data import RunTable
from mixlaw.pipeline import fit_pipeline, load_pipeline, save_pipeline, saved_intervals
from mixlaw.pipeline.intervals import size_law_spread

DOMAINS = ["a", "b", "c"]
SIZES3 = [1e7, 2e7, 4e7]
N_TARGET = 1e8  # 2.5x the largest size
S_ONE = 3000


def sizes_world(alpha_spread: float, noise: float, n_mix: int = 8, seed: int = 0, sizes: list[float] = SIZES3,
                ) -> tuple[RunTable, dict[tuple[float, ...], float]]:
    """Each run's loss at one step: L = E_r + A_r / N^alpha_r, E_r and A_r Ye-like in the mixture r, alpha_r =
    0.3 + alpha_spread x (a linear function of r, centred): a spread > 0 is a misspecification of the pipeline's
    size law (alpha shared per eval across mixtures). Relative noise ``noise``. Returns the table and each
    mixture's true loss at N_TARGET (one eval)."""
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=n_mix)
    u = W @ np.array([1.0, -1.0, 0.0])
    rows, truth = [], {}
    for m, w in enumerate(W):
        E, A, alpha = 2.0 + 0.3 * np.exp(w @ [0.5, -0.4, 0.1]), 0.8 * 1e7 ** 0.3, 0.3 + alpha_spread * u[m]
        A *= 1e7 ** (alpha - 0.3)  # the size term is 0.8 at the smallest size for every mixture
        for N in sizes:
            y = (E + A / N ** alpha) * (1 + noise * rng.standard_normal())
            rows.append({"run": f"m{m}-N{N:g}", "params": N, "step": S_ONE,
                         **{f"w:{d}": w[j] for j, d in enumerate(DOMAINS)}, "loss:a": y})
        truth[tuple(np.round(w, 9))] = E + A / N_TARGET ** alpha
    return RunTable(pd.DataFrame(rows)), truth


def test_size_law_spread_recovers_the_noise_and_covers_at_its_level() -> None:
    # 300 mixtures at 3 sizes with alpha shared (the law is right), 0.5 % noise: the residual sd of the
    # shared-alpha fit is the noise, and t sigma sqrt(1 + h*) around each mixture's own prediction holds about 80 %
    # of the target runs' measured losses (each the truth with the same noise).
    tab, truth = sizes_world(0.0, 5e-3, n_mix=300, seed=1)
    W = np.unique(np.round(tab.weights, 9), axis=0)
    sp = size_law_spread(tab, ["a"], N_TARGET, W, 0.8)
    assert sp is not None and sp.n_sizes == 3 and sp.df[0] == 300 * 3 - 2 * 300 - 1
    assert abs(sp.alpha[0] - 0.3) < 0.1
    assert abs(sp.sigma[0] / 5e-3 - 1) < 0.15
    # The mixture's own prediction (E, A per mixture at the profiled alpha), as the spread's centre.
    res = fit_pipeline(tab, target_params=N_TARGET, route="nested", law="ye-exp")
    cover = own_prediction_cover(res, truth, W, sp.half_width[:, 0], 5e-3)
    assert 0.72 <= cover <= 0.88, cover
    # The extrapolation's share: 2.5x beyond the largest of 3 sizes the fitted points' noise adds more than the
    # target run's own (sqrt(1 + h*) ~ 1.9 here).
    assert np.all(sp.half_width[:, 0] > 1.5 * norm.ppf(0.9) * 5e-3)


def test_a_misspecified_world_gets_wider_intervals_than_the_jackknife_and_says_what_they_hold(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Each mixture its own size exponent (0.3 +/- up to 0.15), 0.05 % noise, 3 sizes: no backtest possible. The
    # intervals hold the size law's prediction error (the shared-alpha misfit shows in its residuals) in
    # quadrature with the jackknife: wider than the jackknife alone for every mixture, holding more of the true
    # losses, and the size-law term wider than in the same world with one exponent.
    tab, truth = sizes_world(0.15, 5e-4)
    res = fit_pipeline(tab, target_params=N_TARGET)
    assert res.sizes_only and res.selection is None
    iv = res.intervals
    z = norm.ppf(0.9)
    h = (iv.upper - res.target_losses) / res.target_losses
    assert iv.size_law is not None and np.all(iv.size_law > 0) and np.all(h > z * iv.boot_sigma)
    assert_allclose(h, np.hypot(z * iv.boot_sigma, iv.size_law), rtol=1e-12)
    assert np.mean(h) > 1.15 * np.mean(z * iv.boot_sigma)
    assert iv.contains == "jackknife + size-law prediction sd (no backtest: 3 sizes)"
    assert iv.method.startswith(iv.contains) and "NOT a shape error common to every mixture" in iv.method
    assert "NOT in these intervals" not in iv.method
    assert iv.contains in str(res)
    note = [w for w in res.warnings if w.startswith("no backtest possible")]
    assert len(note) == 1 and "intervals hold the size law's prediction error" in note[0]
    doc = json.loads(json.dumps(res.to_dict()))
    assert doc["intervals"]["contains"] == iv.contains
    assert_allclose(np.array(doc["intervals"]["size_law"]), iv.size_law, rtol=1e-12)
    e = np.abs(np.array([truth[tuple(np.round(w, 9))] for w in res.mixtures]) / res.target_losses[:, 0] - 1)
    assert np.sum(e <= h[:, 0]) > np.sum(e <= z * iv.boot_sigma[:, 0])
    # One exponent for every mixture (same draws): a smaller size-law term (the misfit was what widened it).
    ok, _ = sizes_world(0.0, 5e-4)
    iv0 = fit_pipeline(ok, target_params=N_TARGET).intervals
    assert np.median(iv0.size_law) < np.median(iv.size_law) / 1.5
    # A saved pipeline rebuilds the same intervals for its own mixtures; a new mixture gets the largest term.
    path = tmp_path / "p.json"
    save_pipeline(res, path)
    lo, hi, level, how = saved_intervals(path, load_pipeline(path), res.mixtures, res.target_losses)
    assert level == 0.8 and "size-law prediction error" in how
    assert_allclose(lo, iv.lower, rtol=1e-12)
    assert_allclose(hi, iv.upper, rtol=1e-12)
    new = np.array([[0.4, 0.35, 0.25]])
    lo1, hi1 = res.interval(new)
    pred = res.predict(new)
    assert np.all((hi1 - pred) / pred >= iv.size_law.max(axis=0) - 1e-12)


def test_four_sizes_keep_the_backtest_interval() -> None:
    # With a fourth size the backtest runs and the intervals are the backtest's (no size-law term).
    tab, _ = sizes_world(0.1, 5e-4, sizes=[*SIZES3, 8e7])
    res = fit_pipeline(tab, target_params=2e8)
    assert res.selection is not None
    assert res.intervals.size_law is None and res.intervals.contains.startswith("backtest extrapolation error")


def test_multi_scale_without_any_backtest_gets_the_size_law_term_at_the_last_checkpoints() -> None:
    # 3 sizes x curves of 3 checkpoints, target beyond both: neither part of the backtest can run. The size law's
    # prediction error, read at each curve's last checkpoint (final_size_law_spread), joins the jackknife in
    # quadrature, as in the sizes-only pipeline (bench/interval_calibration.py --fit-sizes 3 --checkpoints 3); the
    # step law's (here every curve is the same exact step law: about 0) is the other term of the max
    # (tests/test_pipeline_multiscale_intervals.py).
    tab, _ = sizes_world(0.15, 5e-4)
    rows = []
    for _, r in tab.frame.iterrows():  # each run's curve: 3 checkpoints of a step law shared by every run
        for S in (1000.0, 2000.0, S_ONE):
            rows.append({**r.to_dict(), "step": S, "loss:a": r["loss:a"] + 0.3 * ((S / S_ONE) ** -0.4 - 1)})
    curves = RunTable(pd.DataFrame(rows))
    res = fit_pipeline(curves, target_params=N_TARGET, target_steps=2 * S_ONE)
    assert not res.sizes_only and not res.steps_only and res.selection is None
    iv = res.intervals
    z = norm.ppf(0.9)
    h = (iv.upper - res.target_losses) / res.target_losses
    assert iv.size_law is not None and iv.step_law is not None and np.all(iv.size_law > 0)
    assert np.all(iv.step_law < 1e-6)
    assert_allclose(h, np.hypot(z * iv.boot_sigma, iv.size_law), rtol=1e-12)
    assert iv.contains == ("max of the jackknife + size-law prediction sd at the last checkpoints and the step-law "
                           "prediction sd at N = 4e+07 (no backtest: 3 sizes, 3 checkpoints)")
    assert "read at each curve's last checkpoint" in iv.method and "(b) the step law's" in iv.method
    note = [w for w in res.warnings if w.startswith("no backtest possible")]
    assert len(note) == 1 and "intervals hold the prediction error of E + A/N^alpha fitted to each" in note[0]
    # The term is the sizes-only one on the last checkpoints: the same as on the table at S_ONE.
    at_last = size_law_spread(tab, ["a"], N_TARGET, res.mixtures, 0.8)
    assert at_last is not None
    assert_allclose(iv.size_law, at_last.half_width, rtol=1e-9)
