"""Prediction intervals at the target scale: finite-sample conformal quantile, distance scaling of the backtest's
bias and of its scatter beyond the checkpoint noise, the jackknife as a floor, coverage on seeded synthetic worlds."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from mixlaw.data import RunTable
from mixlaw.errors import InputError, MixlawWarning
from mixlaw.pipeline import fit_pipeline
from mixlaw.pipeline.intervals import (
    build_intervals,
    checkpoint_noise,
    conformal_quantile,
    extrapolation_half_width,
    relative_half_width,
)


def test_conformal_quantile_covers_the_level_on_average_with_few_scores() -> None:
    # Exchangeable scores, n = 6..10 as in a backtest of 6-10 mixtures: a new score falls below the interpolated
    # (n+1)*0.8-th order statistic 80 % of the time; the textbook ceil rule covers 85 % (k/(n+1)).
    rng = np.random.default_rng(0)
    hits, hits_ceil, reps = 0, 0, 10_000
    for _ in range(reps):
        n = int(rng.integers(6, 11))
        s = rng.standard_normal(n + 1)
        hits += abs(s[-1]) <= conformal_quantile(s[:-1], 0.8)
        hits_ceil += abs(s[-1]) <= np.sort(np.abs(s[:-1]))[min(int(np.ceil((n + 1) * 0.8)), n) - 1]
    assert 0.78 <= hits / reps <= 0.82
    assert hits_ceil / reps >= 0.835
    # Exact values: position (n+1)*level interpolated; past the largest score, the largest.
    assert conformal_quantile([0.01, 0.02, 0.03, 0.04, 0.05], 0.5) == pytest.approx(0.03)
    assert conformal_quantile([0.01, 0.02, 0.03, 0.04, 0.05], 0.75) == pytest.approx(0.045)
    assert conformal_quantile([-0.01, 0.02, 0.03], 0.8) == pytest.approx(0.03)
    assert np.isnan(conformal_quantile([np.nan], 0.8))


def test_distance_scales_the_bias_and_the_scatter_beyond_the_checkpoint_noise() -> None:
    # All residuals +1 %: a pure bias, twice as large at twice the distance.
    assert extrapolation_half_width(np.full(9, 0.01), 2.0, 0.8, noise=0.01) == pytest.approx([0.02])
    # +-1 % around zero (sd 1 %): when that is the checkpoint noise, the same at any distance; with noiseless
    # checkpoints (or the noise unknown) it is extrapolation error and grows like the bias.
    sym = np.array([-0.01, 0.01] * 4 + [0.0])
    at1 = extrapolation_half_width(sym, 1.0, 0.8, noise=0.01)
    assert at1 == pytest.approx([0.01])
    assert extrapolation_half_width(sym, 3.0, 0.8, noise=0.01) == pytest.approx(at1)
    assert extrapolation_half_width(sym, 3.0, 0.8, noise=0.0) == pytest.approx(3 * at1)
    assert extrapolation_half_width(sym, 3.0, 0.8) == pytest.approx(3 * at1)
    # Half of the scatter's variance is noise: g = sqrt((9 * 0.5 + 0.5) / 1) = sqrt(5).
    assert extrapolation_half_width(sym, 3.0, 0.8, noise=0.01 / np.sqrt(2)) == pytest.approx(np.sqrt(5) * at1)
    # One column per target, each with its own bias: 2 % bias x 1.5 = 3 %, plus the scatter.
    R = np.column_stack([np.full(9, 0.02), sym])
    q = extrapolation_half_width(R, 1.5, 0.8, noise=0.01)
    assert q[0] == pytest.approx(0.03) and q[1] == pytest.approx(0.01)
    # The jackknife is a floor, not an addition: max(q, z sigma).
    h = relative_half_width(q, np.array([[0.001, 0.02]]), 0.8)
    assert h[0, 0] == pytest.approx(0.03) and h[0, 1] == pytest.approx(1.2816 * 0.02, rel=1e-4)


def test_checkpoint_noise_recovers_the_noise_of_the_curves() -> None:
    for sigma in (0.002, 0.006):
        table, *_ = _joint_world(7, noise=sigma)
        assert checkpoint_noise(table, ["a"]) == pytest.approx(sigma, rel=0.25)
    # Curves of 3 checkpoints cannot tell noise from the law's 3 parameters.
    table, *_ = _joint_world(7, steps=(250, 1000, 3000))
    assert np.isnan(checkpoint_noise(table, ["a"]))


def test_build_intervals_without_backtest_says_so() -> None:
    center = np.array([[2.0], [2.1]])
    iv = build_intervals(center, np.eye(2), None, float("nan"), [], [], 0.8)
    assert "NOT in these intervals" in iv.method and np.all(iv.lower == center) and np.all(iv.upper == center)
    assert iv.to_dict()["extrapolation"] == [None] and iv.to_dict()["noise"] is None


def _joint_world(seed: int, noise: float | None = None, steps: tuple[int, ...] = (250, 500, 1000, 2000, 3000)
                 ) -> tuple[RunTable, np.ndarray, np.ndarray, float, float]:
    """The direct route's joint law with 0.3-0.8 % checkpoint noise (or ``noise``): (table, mixtures, measured
    target loss, N*, S*)."""
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=8)
    noise = rng.uniform(0.003, 0.008) if noise is None else noise
    t = rng.normal(0, 1, 3)
    alpha, beta = rng.uniform(0.25, 0.4), rng.uniform(0.3, 0.5)

    def loss(w: np.ndarray, N: float, S: float) -> float:
        return float(1.8 + 0.3 * np.exp(t @ w) + 0.6 * (1e7 / N) ** alpha + 0.4 * (250 / S) ** beta)

    rows = [{"run": f"m{m}-N{N:g}", "params": N, "step": S, "w:a": w[0], "w:b": w[1], "w:c": w[2],
             "loss:a": loss(w, N, S) * (1 + noise * rng.standard_normal())}
            for m, w in enumerate(W) for N in (1e7, 2e7, 4e7, 8e7) for S in steps]
    Nt, St = 8e7 * rng.uniform(2, 3), 3000 * rng.uniform(1.5, 2.5)
    measured = np.array([[loss(w, Nt, St)] for w in W]) * (1 + noise * rng.standard_normal((8, 1)))
    return RunTable(pd.DataFrame(rows)), W, measured, Nt, St


def test_coverage_on_seeded_joint_worlds_lands_near_the_level() -> None:
    # 12 seeded worlds x 8 mixtures, the direct route (the world's own law) with its backtest and 3 jackknife
    # refits. Entries of one world share its fit, so the band is wide; it still excludes the first rule (maximum
    # |residual| x distance + jackknife in quadrature), which covered 93 of these 96 entries (this rule: 87).
    hits, n, widths = 0, 0, []
    for seed in range(100, 112):
        table, W, measured, Nt, St = _joint_world(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MixlawWarning)
            res = fit_pipeline(table, target_params=Nt, target_steps=St, route="direct", law="ye-exp",
                               intervals=True, n_jackknife=3)
            lo, hi = res.interval(W)
        hits += int(((measured >= lo) & (measured <= hi)).sum())
        n += measured.size
        widths.append(float(np.mean((hi - lo) / (hi + lo))))
    assert n == 96
    assert 0.70 <= hits / n <= 0.94
    assert np.median(widths) < 0.015


def _two_eval_world(seed: int) -> tuple[RunTable, float, float]:
    """Two evals: ``a`` follows the direct route's joint law; ``b`` has a size term that law cannot follow
    (it grows with log N), so its extrapolation error is much larger than a's."""
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=8)
    t = rng.normal(0, 1, 3)

    def base(w: np.ndarray, N: float, S: float) -> float:
        return float(1.8 + 0.3 * np.exp(t @ w) + 0.6 * (1e7 / N) ** 0.3 + 0.4 * (250 / S) ** 0.4)

    rows = [{"run": f"m{m}-N{N:g}", "params": N, "step": S, "w:a": w[0], "w:b": w[1], "w:c": w[2],
             "loss:a": base(w, N, S) * (1 + 0.003 * rng.standard_normal()),
             "loss:b": (base(w, N, S) + 0.15 * w[0] * np.log(N / 1e7) ** 2) * (1 + 0.003 * rng.standard_normal())}
            for m, w in enumerate(W) for N in (1e7, 2e7, 4e7, 8e7) for S in (250, 500, 1000, 2000, 3000)]
    return RunTable(pd.DataFrame(rows)), 2e8, 6000.0


def test_weighted_objective_gives_each_eval_its_own_extrapolation_width() -> None:
    # The backtest scores the weighted total, but each eval's interval uses that eval's own backtest residuals:
    # eval b, whose size trend the law misses, gets a wider interval than eval a (the total's quantile for
    # both gave them one width).
    table, Nt, St = _two_eval_world(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixlawWarning)
        res = fit_pipeline(table, target_params=Nt, target_steps=St, route="direct", law="ye-exp",
                           objective={"a": 0.5, "b": 0.5}, intervals=True, n_jackknife=0)
    chosen = res.selection.chosen
    assert not chosen.on_total and chosen.residuals.shape[1] == 1 and chosen.eval_residuals.shape[1] == 2
    iv = res.intervals
    expect = extrapolation_half_width(chosen.eval_residuals, iv.distance_factor, iv.level, iv.noise)
    assert iv.extrapolation == pytest.approx(expect)
    assert iv.extrapolation[1] > 2 * iv.extrapolation[0]
    assert "per target" in iv.method and "same extrapolation width" not in iv.method
    # each width named by its eval (22 bare percentages for Ye's 22 Pile evals said nothing of which was which)
    assert f"extrapolation error a {iv.extrapolation[0]:.2%}, b {iv.extrapolation[1]:.2%} (per target)" in iv.method


def test_the_eval_that_extrapolates_worse_gets_the_wider_interval_and_the_other_keeps_its_own() -> None:
    # Group-conditional (Mondrian) widths: each eval's interval from its own backtest residuals, not one pooled
    # width. Eval b's size trend (log N squared) is beyond the law: its width grows; eval a's stays what it is
    # when a is fitted alone (pooled, a would take b's error; bench/interval_per_eval.py measures both).
    table, Nt, St = _two_eval_world(3)
    kw = {"target_params": Nt, "target_steps": St, "route": "direct", "law": "ye-exp", "intervals": True,
          "n_jackknife": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixlawWarning)
        both = fit_pipeline(table, **kw).intervals
        alone = fit_pipeline(table, targets=["a"], **kw).intervals
    assert both.extrapolation.shape == (2,) and alone.extrapolation.shape == (1,)
    assert both.extrapolation[1] > 3 * both.extrapolation[0]
    # The same a residuals; only the checkpoint noise (pooled over every eval's curves) may move it a little.
    assert both.extrapolation[0] == pytest.approx(alone.extrapolation[0], rel=0.05)
    assert both.upper[:, 0] / both.lower[:, 0] == pytest.approx(alone.upper[:, 0] / alone.lower[:, 0], rel=0.01)


def test_one_residual_column_for_several_targets_says_so() -> None:
    center = np.array([[2.0, 3.0], [2.1, 3.1]])
    with pytest.warns(MixlawWarning, match="same extrapolation width"):
        iv = build_intervals(center, np.eye(2), np.array([0.01, -0.02, 0.015]), 1.0, [], [], 0.8)
    assert "one residual column for 2 targets" in iv.method
    assert iv.extrapolation[0] == iv.extrapolation[1]


def test_a_distance_factor_that_is_not_finite_is_never_taken_as_1() -> None:
    # inf: the backtest extrapolated over no distance; its residuals cannot be scaled to the target. It was
    # silently taken as 1 (the target's interval as narrow as the backtest's error at no distance).
    r = np.array([0.01, -0.02, 0.015, 0.03])
    for bad in (float("inf"), float("nan"), 0.0, -1.0, "x"):
        with pytest.raises(InputError, match="distance_factor must be a finite number > 0"):
            extrapolation_half_width(r, bad, 0.8)
    with pytest.raises(InputError, match="extrapolated over no distance"):
        extrapolation_half_width(r, float("inf"), 0.8)
    # build_intervals leaves the residuals out, says so, and warns: no made-up width.
    center = np.array([[2.0], [2.1]])
    with pytest.warns(MixlawWarning, match="cannot be scaled"):
        iv = build_intervals(center, np.eye(2), r, float("inf"), [], [], 0.8)
    assert "extrapolated over no distance" in iv.method and "NOT in these intervals" in iv.method
    assert np.isnan(iv.extrapolation).all() and np.all(iv.lower == center) and np.all(iv.upper == center)


def test_a_half_width_over_100_percent_keeps_the_lower_bound_at_zero() -> None:
    # On mixlaw's own runs extrapolated to 1e9 params (README's 'mixlaw pipeline --runs sweep.parquet
    # --target-params 1e9 --target-steps 100000'), a 131 % extrapolation error printed lo80:code = -0.35.
    center = np.array([[1.12], [0.91]])
    iv = build_intervals(center, np.eye(2), np.array([1.5, -1.2, 1.4]), 1.0, [], [], 0.8)
    assert np.all(iv.lower == 0.0) and np.all(iv.upper > 2 * center)
    lo, hi = iv.at(np.eye(2), center)
    assert np.all(lo == 0.0) and np.array_equal(hi, iv.upper)


def test_saved_pipeline_intervals_keep_the_lower_bound_at_zero(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # The same runs and target as README's commands: extrapolating mixlaw's trainer runs (28k-234k params) to
    # 1e9 params, the direct route's backtest misses by 131 % on 'code'; the saved intervals printed -0.35.
    from pathlib import Path

    from mixlaw.cli import main

    runs = Path(__file__).resolve().parents[1] / "bench" / "data" / "crossscale_runs_v3.csv"
    mix = tmp_path / "candidates.csv"
    pd.read_csv(runs).filter(like="w:").drop_duplicates().head(3).to_csv(mix, index=False)
    saved = tmp_path / "p.json"
    for argv in (["pipeline", "--runs", str(runs), "--target-params", "1e9", "--target-steps", "100000", "--route",
                  "direct", "--save", str(saved)],
                 ["predict", "--pipeline", str(saved), "--mixtures", str(mix), "--out", str(tmp_path / "p.csv")]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 0, capsys.readouterr().err
    pred = pd.read_csv(tmp_path / "p.csv")
    lo = pred.filter(like="lo80:")
    assert lo.shape == (3, 3) and (lo.to_numpy() >= 0).all() and (lo.to_numpy() == 0).any(), pred


def test_many_targets_give_the_range_of_their_extrapolation_errors_in_one_short_line() -> None:
    # 1f67d7d named each eval's extrapolation error; with 110 eval sets (Olmix's DCLM) the line ran to ~2000
    # characters. Above NAMED_EVALS it gives the smallest and largest, named, and the median.
    from mixlaw.pipeline.intervals import NAMED_EVALS, build_intervals

    rng = np.random.default_rng(0)
    K = 30
    center = np.full((6, K), 3.0)
    R = rng.normal(0, 1, (6, K)) * np.linspace(0.005, 0.05, K)
    names = [f"eval_{k:03d}" for k in range(K)]
    iv = build_intervals(center, rng.dirichlet(np.ones(3), 6), R, 2.0, [], [], 0.8, names=names)
    q = np.asarray(iv.extrapolation)
    lo, hi = int(np.argmin(q)), int(np.argmax(q))
    assert K > NAMED_EVALS and len(iv.method) < 400
    assert f"{names[lo]} {q[lo]:.2%} to {names[hi]} {q[hi]:.2%}, median {np.median(q):.2%} over {K} targets" \
        in iv.method
