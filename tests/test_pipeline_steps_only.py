"""The steps-only pipeline: proxy runs at ONE model size, extrapolated to a later step at that size (Ye et al.
2025: a step law per curve, then the mixing law at the target step). At a fixed size the world of
tests/test_pipeline.py is exactly a step law plus Ye's exponential mixture term, L_i = E'_i + B_i/S^beta +
k_i exp(t_i . r) with E'_i = E_i + A_i/N^alpha, so both routes can recover it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_runner import run_cli as _cli
from numpy.testing import assert_allclose

from mixlaw.data import RunTable
from mixlaw.errors import InputError
from mixlaw.pipeline import (
    backtest_pipeline,
    fit_pipeline,
    load_pipeline,
    optimize_pipeline,
    pipeline_steps_to_match,
    save_pipeline,
)

from .test_pipeline import DOMAINS, SIZES, truth, world

N_ONE = 2e7
STEPS_ONE = [250, 400, 600, 800, 1000, 1400, 2000, 3000]
S_TARGET = 9000.0  # 3x the last checkpoint
PROBE = np.array([[0.5, 0.3, 0.2], [0.2, 0.5, 0.3], [0.3, 0.3, 0.4]])


def one_size(noise: float = 2e-5, n_mix: int = 10, seed: int = 0):  # type: ignore[no-untyped-def]
    return world(noise=noise, n_mix=n_mix, sizes=[N_ONE], steps=STEPS_ONE, seed=seed)


@pytest.mark.parametrize("kw", [{"route": "nested", "law": "ye-exp"}, {"route": "direct", "law": "ye-exp"},
                                {"route": "direct", "law": "ye-pow"}, {}])
def test_one_size_world_is_recovered_at_the_target_step(kw: dict[str, str]) -> None:
    # 10 mixtures x 8 checkpoints (250-3000 steps) at one size, 0.002 % noise; target 3x the last step, no
    # target_params (the table's one size). Acceptance: every target-step loss within 0.3 %, and new mixtures too.
    res = fit_pipeline(one_size(), target_steps=S_TARGET, **kw)
    assert res.steps_only and res.target_params == N_ONE
    assert "size" not in res.stages
    assert_allclose(res.target_losses, truth(res.mixtures, N_ONE, S_TARGET), rtol=3e-3)
    assert_allclose(res.predict(PROBE), truth(PROBE, N_ONE, S_TARGET), rtol=3e-3)
    # Any other step count at that size, from the same fit.
    assert_allclose(res.predict(PROBE, steps=20000.0), truth(PROBE, N_ONE, 20000.0), rtol=5e-3)
    with pytest.raises(InputError, match=r"fitted at one model size, N = 2e\+07 \(steps only\)"):
        res.predict(PROBE, params=4e7)
    assert "steps only" in str(res).splitlines()[0]


def test_auto_backtests_the_time_part_only_and_its_intervals_cover() -> None:
    # 0.5 % noise: the auto pipeline's 80 % intervals, calibrated on the time backtest, hold most true losses.
    res = fit_pipeline(one_size(noise=5e-3, n_mix=10, seed=3), target_steps=S_TARGET)
    sel = res.selection
    assert sel is not None and not sel.partial and sel.split.skipped == []
    assert sel.split.size_ratio == 1 and sel.split.time_ratio > 2 and sel.split.tested == ("time",)
    assert any("size part not needed" in s for s in sel.split.not_needed)
    text = str(sel)
    assert "size part not needed" in text and "PARTIAL" not in text and not sel.route_warning
    iv = res.intervals
    assert iv is not None and np.all(np.isfinite(iv.extrapolation)) and np.isfinite(iv.distance_factor)
    true = truth(res.mixtures, N_ONE, S_TARGET)
    assert np.mean((iv.lower <= true) & (true <= iv.upper)) >= 0.7
    assert np.all(iv.lower < res.target_losses) and np.all(res.target_losses < iv.upper)


def test_a_fitted_size_of_two_extrapolates_in_steps_and_says_the_other_is_left_out() -> None:
    two = world(n_mix=8, sizes=SIZES[:2], steps=STEPS_ONE)
    res = fit_pipeline(two, target_params=SIZES[1], target_steps=S_TARGET, route="nested", law="ye-exp")
    alone = fit_pipeline(world(n_mix=8, sizes=SIZES[:2], steps=STEPS_ONE).subset(two.model_params == SIZES[1]),
                         target_steps=S_TARGET, route="nested", law="ye-exp")
    assert res.steps_only and res.target_params == SIZES[1]
    assert_allclose(res.target_losses, alone.target_losses, rtol=1e-12)
    assert any("8 curve(s) at the other size(s) (1e+07) left out" in w for w in res.warnings)
    # Relative tolerance 1e-9: a size read back from a CSV still matches.
    near = fit_pipeline(two, target_params=SIZES[1] * (1 + 1e-12), target_steps=S_TARGET, route="nested",
                        law="ye-exp")
    assert near.steps_only and near.target_params == SIZES[1]


def test_two_sizes_and_a_target_elsewhere_is_refused_in_one_line(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    two = world(n_mix=6, sizes=SIZES[:2])
    for kw in ({}, {"route": "nested", "law": "ye-exp"}, {"route": "direct", "law": "ye-exp"}):
        with pytest.raises(InputError) as err:
            fit_pipeline(two, target_params=1e9, target_steps=1e5, **kw)
        msg = str(err.value)
        assert "\n" not in msg and "needs 3 model sizes" in msg
        assert "a target size equal to a fitted one (1e+07 or 2e+07) extrapolates in steps alone" in msg
    path = tmp_path / "two.csv"
    two.frame.to_csv(path, index=False)
    code, out, err = _cli(capsys, "pipeline", "--runs", str(path), "--target-params", "1e9", "--target-steps", "1e5")
    assert code != 0 and "a target size equal to a fitted one" in err and out == ""


def test_several_sizes_and_no_target_size_is_a_one_line_error(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tab = world(n_mix=6, sizes=SIZES[:3])
    with pytest.raises(InputError, match=r"^the table has 3 model sizes \(1e\+07, 2e\+07, 4e\+07\): give the target "
                       r"model size [^\n]*$"):
        fit_pipeline(tab, target_steps=1e5)
    path = tmp_path / "three.csv"
    tab.frame.to_csv(path, index=False)
    code, _, err = _cli(capsys, "pipeline", "--runs", str(path), "--target-steps", "1e5")
    assert code != 0 and "give the target model size" in err


def test_steps_only_at_a_fitted_size_of_a_larger_sweep_is_asked_for() -> None:
    # With 3+ sizes a fitted target size keeps the size law (interpolation) unless steps_only=True.
    tab = world(n_mix=8, steps=STEPS_ONE)
    kw = {"route": "nested", "law": "ye-exp", "target_params": SIZES[1], "target_steps": S_TARGET}
    assert not fit_pipeline(tab, **kw).steps_only
    forced = fit_pipeline(tab, steps_only=True, **kw)
    alone = fit_pipeline(tab.subset(tab.model_params == SIZES[1]), **kw)
    assert forced.steps_only and any("left out" in w for w in forced.warnings)
    assert_allclose(forced.target_losses, alone.target_losses, rtol=1e-12)
    with pytest.raises(InputError, match="not a fitted size"):
        fit_pipeline(tab, steps_only=True, **{**kw, "target_params": 3e7})


@pytest.mark.parametrize("route,law", [("nested", "ye-exp"), ("direct", "ye-exp"), ("direct", "ye-pow")])
def test_save_load_round_trip_and_the_saved_file_is_checked(tmp_path, route: str, law: str) -> None:  # type: ignore[no-untyped-def]
    res = fit_pipeline(one_size(n_mix=8), target_steps=S_TARGET, route=route, law=law)
    path = tmp_path / "p.json"
    save_pipeline(res, path)
    back = load_pipeline(path)
    assert back.steps_only and back.target_params == N_ONE
    assert_allclose(back.predict(PROBE), res.predict(PROBE), rtol=1e-12)
    assert_allclose(back.predict(PROBE, steps=5000.0), res.predict(PROBE, steps=5000.0), rtol=1e-12)
    with pytest.raises(InputError, match="fitted at one model size"):
        back.predict(PROBE, params=1e9)
    doc = json.loads(path.read_text())
    bad = json.loads(json.dumps(doc))
    bad["result"]["target_params"] = 4e7
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(InputError, match=r"bad\.json: .*target_params.*one model size"):
        load_pipeline(tmp_path / "bad.json")
    if route == "nested":
        bad = json.loads(json.dumps(doc))
        bad["state"]["scales"]["sizes"] = [N_ONE, 2 * N_ONE]
        (tmp_path / "bad2.json").write_text(json.dumps(bad))
        with pytest.raises(InputError, match="state.scales"):
            load_pipeline(tmp_path / "bad2.json")
    else:
        bad = json.loads(json.dumps(doc))
        bad["state"]["scales"]["size"] = -1
        (tmp_path / "bad2.json").write_text(json.dumps(bad))
        with pytest.raises(InputError, match=r"state\.scales\.size"):
            load_pipeline(tmp_path / "bad2.json")


def test_cli_and_api_agree_with_save_predict_and_optimize(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tab = one_size(n_mix=8)
    runs, saved, mix = tmp_path / "one.csv", tmp_path / "p.json", tmp_path / "mix.csv"
    tab.frame.to_csv(runs, index=False)
    mix.write_text("w:web,w:code,w:math\n" + "\n".join(",".join(map(str, w)) for w in PROBE) + "\n")
    api = fit_pipeline(tab, target_steps=S_TARGET)
    code, out, err = _cli(capsys, "pipeline", "--runs", str(runs), "--target-steps", str(S_TARGET), "--optimize",
                          "--save", str(saved), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["pipeline"]["steps_only"] is True and doc["pipeline"]["target_params"] == N_ONE
    cli = np.array([[m["predicted"][d] for d in DOMAINS] for m in doc["pipeline"]["mixtures"]])
    assert_allclose(cli, api.target_losses, rtol=1e-12)
    assert doc["pipeline"]["selection"]["split"]["not_needed"]
    # The optimum at the target step, with steps-to-match from the pipeline's own curves at that size.
    opt = optimize_pipeline(api)
    assert doc["optimum"]["weights"] == pytest.approx(opt.to_dict()["weights"], rel=1e-9)
    assert opt.steps is not None and np.isfinite(opt.steps.default_loss)
    stm = pipeline_steps_to_match(api, opt.weight_array(), api.mixtures.mean(axis=0))
    assert stm.optimum_loss <= stm.default_loss
    code, out, err = _cli(capsys, "predict", "--pipeline", str(saved), "--mixtures", str(mix), "--steps", "5000",
                          "--json")
    assert code == 0, err
    rows = json.loads(out)["predictions"]
    pred = np.array([[r[f"pred:{d}"] for d in DOMAINS] for r in rows])
    assert_allclose(pred, api.predict(PROBE, steps=5000.0), rtol=1e-9)
    code, _, err = _cli(capsys, "predict", "--pipeline", str(saved), "--mixtures", str(mix), "--params", "1e9")
    assert code != 0 and "fitted at one model size" in err


def test_backtest_of_a_steps_only_pipeline_has_no_size_part() -> None:
    tests = backtest_pipeline(one_size(n_mix=8), route="nested", law="ye-exp")
    parts = {b.kind: b for b in tests}
    assert parts["steps"].skipped is None and parts["steps"].mre < 5e-3
    assert parts["size"].not_needed is not None and parts["size"].skipped is None
    assert "not needed" in str(parts["size"]) and "partial" not in str(parts["size"])


def test_an_objective_that_leaves_out_an_eval_is_scored_with_weight_zero() -> None:
    # auto with objective={web: .5, code: .5} raised KeyError: 'math' (the total keeps nonzero weights only); on
    # any table, a one-size one here for speed.
    res = fit_pipeline(one_size(n_mix=8), target_steps=S_TARGET, objective={"web": 0.5, "code": 0.5})
    assert res.selection is not None and res.selection.total == {"web": 0.5, "code": 0.5}
    assert all(np.isfinite(c.mre) for c in res.selection.candidates if c.ok)


def test_a_one_size_table_of_tokens_extrapolates_in_tokens() -> None:
    # A sweep that logs tokens and no step column: the same steps-only pipeline over the tokens axis.
    frame = one_size(n_mix=8).frame.copy()
    frame["tokens"] = frame.pop("step") * 2048
    res = fit_pipeline(RunTable(frame), target_tokens=S_TARGET * 2048, route="nested", law="ye-exp")
    assert res.steps_only and res.time_axis == "tokens"
    assert_allclose(res.target_losses, truth(res.mixtures, N_ONE, S_TARGET), rtol=3e-3)


@pytest.mark.parametrize("steps, backtest", [([500, 1000, 3000], False), ([250, 500, 1000, 2000, 3000], True)])
def test_direct_route_on_three_step_values(steps: list[int], backtest: bool) -> None:
    # docs/pipeline.md: the direct route's joint law needs 3 step values shared by every curve. Its start fitted
    # one step law through every checkpoint, which refuses 3 x values: `pipeline --route direct` on one size's
    # curves of 3 checkpoints stopped on "joint[web] start: the law E + B/x^b has 3 parameters; got 3 distinct x
    # value(s), need at least 4", and on 5 checkpoints, where auto's backtest cuts them to 3, "no pipeline candidate
    # can be backtested (...): direct joint+ye-exp: joint[web] start: ...". Now the sizes-only start's mirror.
    tab = world(n_mix=8, sizes=[N_ONE], steps=steps)
    res = fit_pipeline(tab, target_steps=S_TARGET, route="direct", law="ye-exp", intervals=True, n_jackknife=2)
    assert res.route == "direct" and res.steps_only
    assert_allclose(res.predict(PROBE), truth(PROBE, N_ONE, S_TARGET), rtol=2e-3)
    assert (res.selection is not None) == backtest
    if backtest:
        assert res.selection.chosen.label == "direct joint+ye-exp" and res.selection.chosen.n == 24
