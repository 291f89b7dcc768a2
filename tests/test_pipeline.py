"""Nested (Ye) and direct pipelines on a synthetic world with a known joint law (issue 4 acceptance)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli as _cli
from numpy.testing import assert_allclose
from scipy.optimize import minimize

from mixlaw.data import RunTable
from mixlaw.errors import InputError
from mixlaw.optimize import optimize_mixture
from mixlaw.pipeline import backtest_pipeline, fit_pipeline, optimize_pipeline, pipeline_steps_to_match

DOMAINS = ["web", "code", "math"]
# World: L_i(r, N, S) = E_i + A_i / N^alpha + B_i / S^beta + k_i exp(t_i . r); eval i = domain i.
E = np.array([1.9, 1.2, 1.5])
A = np.array([300.0, 200.0, 250.0])
ALPHA = 0.32
B = np.array([30.0, 20.0, 25.0])
BETA = 0.45
K = np.array([0.5, 0.4, 0.45])
T = np.array([[-1.5, 0.3, 0.2], [0.4, -2.0, 0.1], [0.3, -0.2, -1.8]])
SIZES = [1e7, 2e7, 4e7, 8e7]
STEPS = [250, 500, 1000, 2000, 3000]
N_STAR, S_STAR = 1e9, 1e5
#: The tests below pin Ye's nested route with its default law; route/law "auto" (the default) has its own tests.
NESTED = {"route": "nested", "law": "ye-exp"}


def truth(W: np.ndarray, N: float, S: float) -> np.ndarray:
    return E + A / N ** ALPHA + B / S ** BETA + K * np.exp(np.atleast_2d(W) @ T.T)


def world(noise: float = 2e-5, n_mix: int = 14, sizes: list[float] = SIZES, steps: list[int] = STEPS,
          seed: int = 0) -> RunTable:
    rng = np.random.default_rng(seed)
    rows = []
    for m, w in enumerate(rng.dirichlet(np.ones(3), size=n_mix)):
        for N in sizes:
            for S in steps:
                y = truth(w, N, S)[0] * (1 + noise * rng.standard_normal(3))
                rows.append({"run": f"m{m}-N{N:g}", "params": N, "step": S,
                             **{f"w:{d}": w[j] for j, d in enumerate(DOMAINS)},
                             **{f"loss:{d}": y[j] for j, d in enumerate(DOMAINS)}})
    return RunTable(pd.DataFrame(rows))


def true_optimum() -> np.ndarray:
    """Minimise the true mean loss at (N*, S*) on the simplex (convex: SLSQP from the centre is global)."""
    res = minimize(lambda r: float(truth(r, N_STAR, S_STAR).mean()), np.full(3, 1 / 3), method="SLSQP",
                   bounds=[(0, 1)] * 3, constraints=[{"type": "eq", "fun": lambda r: r.sum() - 1}],
                   options={"ftol": 1e-14, "maxiter": 500})
    assert res.success
    return res.x


@pytest.mark.parametrize("route", ["nested", "direct"])
def test_pipeline_predicts_target_scale_and_finds_the_optimum(route: str) -> None:
    # Small runs at 4 sizes (1e7..8e7) x 5 checkpoints (<= 3000 steps), 0.002 % noise; target 12.5x the
    # largest size and 33x the last step. Acceptance: losses within 1 %, optimum within 2 % L1.
    res = fit_pipeline(world(), target_params=N_STAR, target_steps=S_STAR, route=route)
    assert_allclose(res.target_losses, truth(res.mixtures, N_STAR, S_STAR), rtol=1e-2)
    probe = np.random.default_rng(5).dirichlet(np.ones(3), size=20)
    probe = probe[np.all((probe >= res.mixtures.min(axis=0)) & (probe <= res.mixtures.max(axis=0)), axis=1)]
    assert len(probe) >= 10
    assert_allclose(res.predict(probe), truth(probe, N_STAR, S_STAR), rtol=1e-2)
    opt = optimize_mixture(res.mixing_law, objective="mean")
    r = np.array([opt.weights[d] for d in DOMAINS])
    assert np.abs(r - true_optimum()).sum() < 0.02
    assert set(res.stages) == ({"step", "size", "mixture"} if route == "nested" else {"joint"})
    for s in res.stages.values():
        assert s.n_fits > 0 and s.median_rel_residual < 1e-3


def test_nested_stage_counts_and_report() -> None:
    res = fit_pipeline(world(), target_params=N_STAR, target_steps=S_STAR, targets=["web", "code"], **NESTED)
    assert res.stages["step"].n_fits == 14 * 4 * 2 and res.stages["step"].n_points == 14 * 4 * 5 * 2
    assert res.stages["size"].n_fits == 14 * 2 and res.stages["mixture"].n_points == 14 * 2
    assert res.target_losses.shape == (14, 2)
    text = str(res)
    assert "step" in text and "size" in text and "loss:code" in text
    d = res.to_dict()
    assert d["route"] == "nested" and len(d["mixtures"]) == 14 and d["mixing_law"]["law"] == "ye-exp"


def test_noise_free_world_is_recovered_exactly() -> None:
    res = fit_pipeline(world(noise=0.0), target_params=N_STAR, target_steps=S_STAR, **NESTED)
    assert_allclose(res.target_losses, truth(res.mixtures, N_STAR, S_STAR), rtol=1e-6)


def test_bad_input() -> None:
    tab = world(n_mix=6)
    with pytest.raises(InputError, match="target_params must be a positive model size"):
        fit_pipeline(tab, target_params=-1e6, target_steps=S_STAR, **NESTED)
    with pytest.raises(InputError, match="target_steps must be a positive step count"):
        fit_pipeline(tab, target_params=N_STAR, target_steps=0, **NESTED)
    with pytest.raises(InputError, match="'step' column"):
        last = tab.frame[tab.frame["step"] == STEPS[-1]].drop(columns="step")
        fit_pipeline(RunTable(last), target_params=N_STAR, target_steps=S_STAR, **NESTED)
    with pytest.raises(InputError, match="2 model size"):
        fit_pipeline(world(n_mix=6, sizes=SIZES[:2]), target_params=N_STAR, target_steps=S_STAR, **NESTED)
    with pytest.raises(InputError, match="4 checkpoints"):
        fit_pipeline(world(n_mix=6, steps=STEPS[:1]), target_params=N_STAR, target_steps=S_STAR, **NESTED)
    with pytest.raises(InputError, match="too few"):
        fit_pipeline(world(n_mix=3), target_params=N_STAR, target_steps=S_STAR, **NESTED)
    with pytest.raises(InputError, match="route"):
        fit_pipeline(tab, target_params=N_STAR, target_steps=S_STAR, route="sideways")


def test_cli_pipeline(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    path = tmp_path / "sweep.csv"
    world(n_mix=8).frame.to_csv(path, index=False)
    args = ["pipeline", "--runs", str(path), "--target-params", "1e9", "--target-steps", "100000", "--law", "ye-exp"]
    code, out, _ = _cli(capsys, *args, "--route", "nested", "--target", "web", "--json")
    doc = json.loads(out)
    assert code == 0
    assert set(doc["pipeline"]["stages"]) == {"step", "size", "mixture"} and len(doc["pipeline"]["mixtures"]) == 8
    code, out, _ = _cli(capsys, *args, "--route", "direct")
    assert code == 0 and "joint" in out and "loss:math" in out
    code, _, err = _cli(capsys, "pipeline", "--runs", str(path), "--target-params", "-1", "--target-steps", "1e5")
    assert code == 2 and "positive model size" in err and len(err.strip().splitlines()) == 1
    code, _, err = _cli(capsys, *args, "--fit-from", "1.5")
    assert code == 2 and "fit_from must be in [0, 1)" in err and len(err.strip().splitlines()) == 1
    code, out, _ = _cli(capsys, *args, "--route", "nested", "--fit-from", "0.2", "--target", "web")
    assert code == 0 and "fit_from=0.2" in out


def test_three_sizes_share_the_size_exponent() -> None:
    # With 3 sizes a per-mixture size law has no residual degree of freedom; alpha is shared per eval.
    res = fit_pipeline(world(sizes=SIZES[:3]), target_params=N_STAR, target_steps=S_STAR, **NESTED)
    assert "shared" in res.stages["size"].description
    assert_allclose(res.target_losses, truth(res.mixtures, N_STAR, S_STAR), rtol=1e-2)


def _with_tokens(tab: RunTable, per_step: int = 2048) -> RunTable:
    frame = tab.frame.copy()
    frame["tokens"] = frame["step"] * per_step
    return RunTable(frame)


def test_target_tokens_is_the_same_extrapolation_in_tokens() -> None:
    # A constant 2048 tokens per step: L(D) = E + B'/D^beta is L(S) with B' = B 2048^beta, so the two axes
    # must give the same target-scale losses, and each result fills in the other axis.
    tab = _with_tokens(world(n_mix=8))
    by_steps = fit_pipeline(tab, target_params=N_STAR, target_steps=S_STAR, **NESTED)
    by_tokens = fit_pipeline(tab, target_params=N_STAR, target_tokens=S_STAR * 2048, **NESTED)
    assert_allclose(by_tokens.target_losses, by_steps.target_losses, rtol=1e-6)
    assert_allclose(by_tokens.target_losses, truth(by_tokens.mixtures, N_STAR, S_STAR), rtol=1e-2)
    assert by_tokens.time_axis == "tokens" and by_tokens.target_steps == pytest.approx(S_STAR)
    assert by_steps.target_tokens == pytest.approx(S_STAR * 2048)
    assert "L(D)" in by_tokens.stages["step"].description and "D* = " in str(by_tokens)
    with pytest.raises(InputError, match="exactly one"):
        fit_pipeline(tab, target_params=N_STAR, target_steps=S_STAR, target_tokens=S_STAR * 2048, **NESTED)
    with pytest.raises(InputError, match="'tokens' column"):
        fit_pipeline(world(n_mix=6), target_params=N_STAR, target_tokens=1e9, **NESTED)
    with pytest.raises(InputError, match="target_tokens must be a positive token count"):
        fit_pipeline(tab, target_params=N_STAR, target_tokens=-1e5, **NESTED)


def test_shared_exponents() -> None:
    # The world's exponents are common to all mixtures, so sharing them loses nothing.
    res = fit_pipeline(world(), target_params=N_STAR, target_steps=S_STAR, shared_exponents=True, **NESTED)
    assert "shared" in res.stages["step"].description and "shared" in res.stages["size"].description
    assert res.stages["step"].n_fits == 14 * 4 * 3
    assert_allclose(res.target_losses, truth(res.mixtures, N_STAR, S_STAR), rtol=1e-2)
    with pytest.raises(InputError, match="4 or more sizes"):
        fit_pipeline(world(sizes=SIZES[:3]), target_params=N_STAR, target_steps=S_STAR, shared_exponents=False,
                     **NESTED)
    with pytest.raises(InputError, match="shared_exponents"):
        fit_pipeline(world(), target_params=N_STAR, target_steps=S_STAR, shared_exponents="yes", **NESTED)


def test_direct_route_with_registered_laws() -> None:
    from mixlaw.errors import ExtrapolationWarning

    tab = _with_tokens(world(n_mix=10))
    # A law with N and D inputs (DZ Eq. 3, zero-safe) sees every checkpoint and predicts at (N*, D*).
    res = fit_pipeline(tab, target_params=N_STAR, target_steps=S_STAR, route="direct", law="dz-eq3-safe")
    assert "all 200 checkpoints" in res.stages["direct"].description
    assert res.predict_kwargs == {"model_params": N_STAR, "tokens": S_STAR * 2048}
    assert res.target_losses.shape == (10, 3) and np.all(np.isfinite(res.target_losses))
    assert_allclose(res.predict(res.mixtures), res.target_losses, rtol=1e-12)
    # A law with N only sees the final checkpoints and says that it cannot reach S*.
    with pytest.warns(ExtrapolationWarning, match="no token input"):
        res1 = fit_pipeline(tab, target_params=N_STAR, target_steps=S_STAR, route="direct", law="dz-eq1")
    assert "40 final checkpoints" in res1.stages["direct"].description


def test_cli_pipeline_target_tokens_and_shared_exponents(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    path = tmp_path / "sweep.csv"
    _with_tokens(world(n_mix=8)).frame.to_csv(path, index=False)
    base = ["pipeline", "--runs", str(path), "--target-params", "1e9", "--route", "nested", "--law", "ye-exp"]
    code, out, _ = _cli(capsys, *base, "--target-tokens", str(S_STAR * 2048), "--shared-exponents", "yes", "--json")
    doc = json.loads(out)["pipeline"]
    assert code == 0 and doc["time_axis"] == "tokens" and doc["target_steps"] == pytest.approx(S_STAR)
    assert "shared" in doc["stages"]["size"]["description"]
    code, _, err = _cli(capsys, *base, "--target-steps", "1e5", "--shared-exponents", "maybe")
    assert code == 2 and "--shared-exponents" in err
    code, _, err = _cli(capsys, *base)
    assert code == 2 and "exactly one of target_steps and target_tokens" in err


def test_stages_trace_a_bad_curve_to_its_run() -> None:
    # Spoil one checkpoint of one curve: the step stage's worst fit must name that run, size and eval.
    tab = world(n_mix=8)
    frame = tab.frame.copy()
    bad = (frame["run"] == "m3-N2e+07") & (frame["step"] == STEPS[2])
    frame.loc[bad, "loss:code"] *= 1.1
    res = fit_pipeline(RunTable(frame), target_params=N_STAR, target_steps=S_STAR, **NESTED)
    step = res.stages["step"]
    assert len(step.fits) == step.n_fits == 8 * 4 * 3
    assert step.worst(1)[0]["label"] == "m3-N2e+07 N=2e+07 code" and step.worst(1)[0]["max_rel_residual"] > 0.01
    assert sorted(f["max_rel_residual"] for f in step.fits)[-2] < 1e-3  # every other curve still fits
    assert [f["label"] for f in res.stages["mixture"].fits] == DOMAINS
    assert "worst: m3-N2e+07 N=2e+07 code" in str(res)
    assert res.to_dict()["stages"]["size"]["fits"][0]["n_points"] == 4


@pytest.mark.parametrize("route", ["nested", "direct"])
def test_predict_at_other_steps_and_steps_to_match(route: str) -> None:
    """The stages redone at S*/4 and 4 S* match the world there; Ye's steps-to-match figures match the truth."""
    res = fit_pipeline(world(), target_params=N_STAR, target_steps=S_STAR, route=route)
    for S2 in (S_STAR / 4, 4 * S_STAR):
        assert_allclose(res.predict(res.mixtures, at=S2), truth(res.mixtures, N_STAR, S2), rtol=5e-3)
    default = np.array([0.6, 0.2, 0.2])
    opt = optimize_pipeline(res, objective="mean", natural=default)
    r = opt.weight_array()
    # Truth: the mean objective is c(w) + mean(B) / S^beta at N*, so both crossings have closed forms.
    def c(w: np.ndarray) -> float:
        return float((E + A / N_STAR ** ALPHA + K * np.exp(w @ T.T)).mean())

    b = B.mean()
    L_opt, L_def = c(r) + b / S_STAR ** BETA, c(default) + b / S_STAR ** BETA
    extra = (b / (L_opt - c(default))) ** (1 / BETA) / S_STAR - 1  # +58 %
    frac = (b / (L_def - c(r))) ** (1 / BETA) / S_STAR  # 68 %
    assert opt.steps is not None
    assert opt.steps.extra_training == pytest.approx(extra, abs=0.05)
    assert opt.steps.steps_fraction == pytest.approx(frac, abs=0.02)
    assert opt.steps.default_loss == pytest.approx(L_def, rel=1e-2)
    # A default that is already the optimum: nothing to gain.
    same = pipeline_steps_to_match(res, r, r)
    assert same.extra_training == pytest.approx(0.0, abs=1e-6) and same.steps_fraction == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(InputError, match="positive"):
        res.predict(res.mixtures, at=-1.0)


def test_cli_pipeline_optimize(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    path = tmp_path / "sweep.csv"
    world(n_mix=10).frame.to_csv(path, index=False)
    args = ["pipeline", "--runs", str(path), "--target-params", "1e9", "--target-steps", "100000", "--optimize",
            "--route", "nested", "--law", "ye-exp"]
    code, out, _ = _cli(capsys, *args, "--default", "web=0.6,code=0.2,math=0.2", "--json")
    assert code == 0
    doc = json.loads(out)["optimum"]
    assert abs(sum(doc["weights"].values()) - 1) < 1e-9 and doc["steps_to_match"]["extra_training"] > 0
    # The mixture nearest the optimum is named by a run of it (as a sweep export names runs), not only its row.
    frame = pd.read_csv(path)
    named = frame.loc[frame["run"] == doc["nearest_run_name"], [f"w:{d}" for d in DOMAINS]].to_numpy()[0]
    assert abs(named - [doc["weights"][d] for d in DOMAINS]).sum() == pytest.approx(doc["nearest_run_l1"])
    code, out, _ = _cli(capsys, *args, "--bounds", "web=0.1:0.2")
    assert code == 0 and "training of the default" in out and re.search(r"\(run 'm\d+-N1e\+07'; the runs lie", out)
    code, _, err = _cli(capsys, *args, "--default", "books=1")
    assert code == 2 and "unknown domain" in err and len(err.strip().splitlines()) == 1


def test_backtest_is_small_in_a_lawful_world_and_large_in_a_kinked_one() -> None:
    steps = [100, 200, 400, 800, 1600, 3200]
    tests = {b.kind: b for b in backtest_pipeline(world(steps=steps), step_ratio=4.0)}
    assert set(tests) == {"steps", "size"} and tests["steps"].ratio == 4.0 and tests["size"].ratio == 2.0
    assert tests["steps"].mre < 3e-3 and tests["size"].mre < 3e-3
    assert tests["steps"].n == 14 * 3
    # The same world with a second drop late in training (a phase change no step law fitted before it can see):
    # the steps backtest must expose it.
    kinked = world(steps=steps).frame.copy()
    late = kinked["step"] >= 1600
    for d in DOMAINS:
        kinked.loc[late, f"loss:{d}"] *= 0.9
    bad = {b.kind: b for b in backtest_pipeline(RunTable(kinked), step_ratio=4.0)}
    assert bad["steps"].mre > 0.05 and bad["steps"].mean_signed > 0.05  # predicted too high


def test_cli_pipeline_backtest(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "sweep.csv"
    world(n_mix=8, steps=[100, 200, 400, 800, 1600, 3200]).frame.to_csv(path, index=False)
    code, out, _ = _cli(capsys, "pipeline", "--runs", str(path), "--target-params", "1e9", "--target-steps", "1e5",
                        "--backtest", "--route", "nested", "--law", "ye-exp")
    assert code == 0 and "[[Backtest" in out and "steps" in out and "size" in out


def test_fit_from_leaves_out_an_early_transient() -> None:
    # A warm-up transient, +30 % * exp(-S/80), sits on the early checkpoints of every curve: it bends the
    # step-law fit when they are kept. fit_from=0.15 keeps S >= 450 (4 checkpoints per curve) and recovers the
    # target-scale losses (measured 0.25 %); keeping everything is far worse (measured 5.6 %).
    steps = [100, 200, 300, 500, 1000, 2000, 3000]
    tab = world(steps=steps)
    f = tab.frame.copy()
    for d in DOMAINS:
        f[f"loss:{d}"] *= 1 + 0.3 * np.exp(-f["step"] / 80.0)
    tab = RunTable(f)
    errs = {}
    for ff in (0.0, 0.15):
        res = fit_pipeline(tab, target_params=N_STAR, target_steps=S_STAR, fit_from=ff, **NESTED)
        errs[ff] = float(np.mean(np.abs(res.target_losses / truth(res.mixtures, N_STAR, S_STAR) - 1)))
    assert errs[0.15] < 0.01
    assert errs[0.0] > 3 * errs[0.15]
    res = fit_pipeline(tab, target_params=N_STAR, target_steps=S_STAR, fit_from=0.15, **NESTED)
    assert any("fit_from=0.15" in m for m in res.warnings)
    for bad in (-0.1, 1.0, "x"):
        with pytest.raises(InputError, match="fit_from"):
            fit_pipeline(tab, target_params=N_STAR, target_steps=S_STAR, fit_from=bad, **NESTED)


@pytest.mark.parametrize("route", ["nested", "auto"])
def test_a_fit_from_that_leaves_too_few_checkpoints_is_named(route) -> None:
    """--fit-from 0.99 keeps each curve's last checkpoint: the step law's error said the curves have 1 checkpoint,
    not that the option dropped the others."""
    kw = NESTED if route == "nested" else {}
    with pytest.raises(InputError, match=r"at most 1 checkpoint.*fit_from=0\.99, --fit-from.*lower it"):
        fit_pipeline(world(), target_params=N_STAR, target_steps=S_STAR, fit_from=0.99, **kw)


def test_fit_from_cuts_each_curve_at_its_own_last_step() -> None:
    # Run ids per mixture (spanning sizes) and sizes trained for different lengths: the cut-off must follow each
    # (mixture, size) curve's own last step, not the run id's.
    frames = []
    for N, last in zip(SIZES, [2000, 3000, 6000, 8000], strict=True):
        steps = [s for s in (250, 500, 750, 1000, 1500, 2000, 3000, 4000, 6000, 8000) if s <= last]
        f = world(sizes=[N], steps=steps).frame
        f["run"] = f["run"].str.replace(r"-N.*", "", regex=True)
        frames.append(f)
    tab = RunTable(pd.concat(frames, ignore_index=True))
    res = fit_pipeline(tab, target_params=N_STAR, target_steps=S_STAR, fit_from=0.25, **NESTED)
    assert_allclose(res.target_losses, truth(res.mixtures, N_STAR, S_STAR), rtol=1e-2)
    with pytest.raises(InputError, match="fit_from"):
        backtest_pipeline(tab, fit_from=float("nan"))


def test_pipeline_optimum_reads_its_distance_against_the_runs_spacing_and_takes_a_trust_radius(tmp_path, capsys
                                                                                              ) -> None:  # type: ignore[no-untyped-def]
    """`pipeline --optimize` gave the optimum's distance to the nearest mixture without the runs' spacing, so its
    note that the optimum is an extrapolation never printed (Dai & Zheng's SlimPajama at 2.718B: 0.53 from every
    mixture, mixtures 0.26 apart), and it had no --trust-radius, which that note names."""
    import json

    from mixlaw.optimize.simulate import nearest_run_l1, run_spacing_l1

    res = fit_pipeline(world(n_mix=10), target_params=N_STAR, target_steps=S_STAR, route="nested", law="ye-exp")
    opt = optimize_pipeline(res, runs=res.mixtures)
    assert opt.runs_spacing_l1 == pytest.approx(run_spacing_l1(res.mixtures))
    assert "the runs lie" in str(opt)
    path = tmp_path / "sweep.csv"
    world(n_mix=10).frame.to_csv(path, index=False)
    args = ["pipeline", "--runs", str(path), "--target-params", "1e9", "--target-steps", "100000", "--route",
            "nested", "--law", "ye-exp"]
    code, out, err = _cli(capsys, *args, "--optimize", "--trust-radius", "0.05", "--json")
    assert code == 0, err
    doc = json.loads(out)["optimum"]
    w = np.array([doc["weights"][d] for d in DOMAINS])
    assert nearest_run_l1(w, res.mixtures)[0] <= 0.05 + 1e-6 and doc["runs_spacing_l1"] > 0
    code, _, err = _cli(capsys, *args, "--trust-radius", "0.05")
    assert code == 2 and "--trust-radius applies to the optimal mixture only: add --optimize" in err


def test_pipeline_fit_total_optimum_is_named_by_the_users_objective(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`pipeline --optimize --objective weights=... --fit-total` headed its optimum 'objective=loss of objective'
    (the column the law is fitted on), where `optimize --fit-total` names the user's weights."""
    import json

    path = tmp_path / "sweep.csv"
    world(n_mix=10).frame.to_csv(path, index=False)
    code, out, err = _cli(capsys, "pipeline", "--runs", str(path), "--target-params", "1e9", "--target-steps", "1e5",
                          "--route", "nested", "--law", "ye-exp", "--optimize", "--objective",
                          "weights=web:0.5,code:0.3,math:0.2", "--fit-total", "--json")
    assert code == 0, err
    assert json.loads(out)["optimum"]["objective_name"] == ("weights=web:0.5,code:0.3,math:0.2, one law fitted on it "
                                                            "(--fit-total)")


def test_saved_fit_total_pipeline_keeps_its_objective_for_optimize(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A pipeline saved after --fit-total --objective weights=... forgot the weights: `optimize --pipeline` headed
    its optimum 'objective=loss of objective'. The file keeps them (state.fit_total), checked on load; a file
    without them (saved before) loads and is named as before."""
    import json

    path, saved = tmp_path / "sweep.csv", tmp_path / "p.json"
    world(n_mix=10).frame.to_csv(path, index=False)
    spec = "weights=web:0.5,code:0.3,math:0.2"
    code, _, err = _cli(capsys, "pipeline", "--runs", str(path), "--target-params", "1e9", "--target-steps", "1e5",
                        "--route", "nested", "--law", "ye-exp", "--optimize", "--objective", spec, "--fit-total",
                        "--save", str(saved))
    assert code == 0, err
    doc = json.loads(saved.read_text())
    assert doc["state"]["fit_total"] == {"name": spec, "weights": {"web": 0.5, "code": 0.3, "math": 0.2}}
    code, out, err = _cli(capsys, "optimize", "--pipeline", str(saved), "--json")
    assert code == 0, err
    assert json.loads(out)["optimum"]["objective_name"] == f"{spec}, one law fitted on it (--fit-total)"
    code, out, err = _cli(capsys, "optimize", "--pipeline", str(saved))
    assert code == 0, err
    assert f"objective={spec}, one law fitted on it (--fit-total)" in out
    # saved before the field existed: loads, named as before
    old = tmp_path / "old.json"
    old.write_text(json.dumps({**doc, "state": {k: v for k, v in doc["state"].items() if k != "fit_total"}}))
    code, out, err = _cli(capsys, "optimize", "--pipeline", str(old), "--json")
    assert code == 0, err
    assert json.loads(out)["optimum"]["objective_name"] == "loss of objective"
    # checked on load
    for bad, what in [({"name": spec, "weights": {"web": -1.0}}, r"state\.fit_total\.weights"),
                      ({"name": 3, "weights": {"web": 1.0}}, r"state\.fit_total\.name"),
                      ([1, 2], r"state\.fit_total: expected an object"),
                      # a 400-digit integer literal: np.isfinite raised TypeError (a traceback), as sc.number was fixed
                      ({"name": spec, "weights": {"web": 10**400}}, r"state\.fit_total\.weights"),
                      # a control character (an ANSI escape) reached optimize's header as it was; the CLI refuses
                      # one in --objective, so no file it saves holds one
                      ({"name": "mean\x1b[2J", "weights": {"web": 1.0}}, r"state\.fit_total\.name")]:
        old.write_text(json.dumps({**doc, "state": {**doc["state"], "fit_total": bad}}))
        code, _, err = _cli(capsys, "optimize", "--pipeline", str(old))
        assert code == 2 and re.search(what, err), err
