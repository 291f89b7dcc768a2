"""The sizes-only pipeline: proxy runs recorded at ONE step (each run's final loss), every size trained for the
same steps, extrapolated to a larger model at that step (Ye et al. 2025's size law per mixture, then the mixing
law at N*). At a fixed step the world of tests/test_pipeline.py is exactly a size law plus Ye's exponential
mixture term, L_i = E'_i + A_i/N^alpha + k_i exp(t_i . r) with E'_i = E_i + B_i/S^beta, so both routes can
recover it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
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

from .test_pipeline import DOMAINS, truth, world

S_ONE = 3000
SIZES5 = [1e7, 2e7, 4e7, 8e7, 1.6e8]
N_TARGET = 1e9  # 6.25x the largest size
PROBE = np.array([[0.5, 0.3, 0.2], [0.2, 0.5, 0.3], [0.3, 0.3, 0.4]])


def one_step(noise: float = 2e-5, n_mix: int = 10, sizes: list[float] = SIZES5, seed: int = 0) -> RunTable:
    return world(noise=noise, n_mix=n_mix, sizes=sizes, steps=[S_ONE], seed=seed)


@pytest.mark.parametrize("kw", [{"route": "nested", "law": "ye-exp"}, {"route": "direct", "law": "ye-exp"},
                                {"route": "direct", "law": "ye-pow"}, {}])
def test_one_step_world_is_recovered_at_the_target_size(kw: dict[str, str]) -> None:
    # 10 mixtures x 5 sizes (1e7-1.6e8) at one step, 0.002 % noise; target 6.25x the largest size, no
    # target_steps (the table's one step). Acceptance: every target-size loss within 0.1 %, new mixtures too.
    res = fit_pipeline(one_step(), target_params=N_TARGET, **kw)
    assert res.sizes_only and not res.steps_only and res.target_steps == S_ONE
    assert "step" not in res.stages
    assert_allclose(res.target_losses, truth(res.mixtures, N_TARGET, S_ONE), rtol=1e-3)
    assert_allclose(res.predict(PROBE), truth(PROBE, N_TARGET, S_ONE), rtol=1e-3)
    # Any other model size at that step, from the same fit.
    assert_allclose(res.predict(PROBE, params=4e9), truth(PROBE, 4e9, S_ONE), rtol=2e-3)
    with pytest.raises(InputError, match=r"sizes only\)") as err:
        res.predict(PROBE, steps=9000.0)
    assert "\n" not in str(err.value) and "3000" in str(err.value)
    assert "sizes only" in str(res).splitlines()[0]


def test_auto_backtests_the_size_part_only_and_its_intervals_cover() -> None:
    # 0.3 % noise, 4 sizes: the backtest holds out the largest (fit on 3), says the step part is not needed (not
    # partial), and the 80 % intervals hold most true losses at 1e9.
    res = fit_pipeline(one_step(noise=3e-3, sizes=SIZES5[:4], seed=2), target_params=N_TARGET)
    sel = res.selection
    assert sel is not None and not sel.partial and sel.split.skipped == []
    assert sel.split.time_ratio == 1 and sel.split.size_ratio == 2 and sel.split.tested == ("size",)
    assert any("step part not needed" in s for s in sel.split.not_needed)
    text = str(sel)
    assert "step part not needed" in text and "PARTIAL" not in text and not sel.route_warning
    iv = res.intervals
    assert iv is not None and np.all(np.isfinite(iv.extrapolation))
    true = truth(res.mixtures, N_TARGET, S_ONE)
    assert np.mean(np.abs(res.target_losses / true - 1)) < 5e-3
    assert np.mean((iv.lower <= true) & (true <= iv.upper)) >= 0.7


def test_three_sizes_use_a_candidate_without_comparison_and_say_why() -> None:
    res = fit_pipeline(one_step(sizes=SIZES5[:3]), target_params=N_TARGET)
    assert res.sizes_only and res.selection is None
    note = [w for w in res.warnings if w.startswith("no backtest possible")]
    assert len(note) == 1 and "3 model size(s)" in note[0] and "used without comparison" in note[0]
    assert_allclose(res.target_losses, truth(res.mixtures, N_TARGET, S_ONE), rtol=2e-3)


def test_one_or_two_steps_and_a_target_step_elsewhere_is_refused_in_one_line(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    two = world(n_mix=6, sizes=SIZES5[:4], steps=[2000, 3000])
    for tab, at in ((two, "2000 or 3000"), (one_step(n_mix=6), "3000")):
        for kw in ({}, {"route": "nested", "law": "ye-exp"}, {"route": "direct", "law": "ye-exp"}):
            with pytest.raises(InputError) as err:
                fit_pipeline(tab, target_params=N_TARGET, target_steps=9000, **kw)
            msg = str(err.value)
            # Each route says what it lacks: the nested step laws 3 checkpoints per curve, the joint law 3 steps.
            assert "\n" not in msg and ("the direct joint law's step term B/S^beta needs 3 distinct step values"
                                        if kw.get("route") == "direct" else
                                        "needs 3 checkpoints per curve with beta shared") in msg
            assert f"a target step equal to a recorded one ({at}) extrapolates in model size alone" in msg
    path = tmp_path / "two.csv"
    two.frame.to_csv(path, index=False)
    code, out, err = _cli(capsys, "pipeline", "--runs", str(path), "--target-params", "1e9", "--target-steps", "9000")
    assert code != 0 and "extrapolates in model size alone" in err and out == ""
    # At a recorded step of the two, the other step's rows are left out and a line says so.
    res = fit_pipeline(two, target_params=N_TARGET, target_steps=3000, route="nested", law="ye-exp")
    assert res.sizes_only and any("checkpoint(s) at the other step(s) (2000) left out" in w for w in res.warnings)
    assert_allclose(res.target_losses, truth(res.mixtures, N_TARGET, S_ONE), rtol=1e-3)


def test_several_steps_and_no_target_step_is_a_one_line_error(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tab = world(n_mix=6, sizes=SIZES5[:4])
    with pytest.raises(InputError, match=r"^the table has 5 step values \(250, 500, 1000, 2000, 3000\): give "
                       r"exactly one of target_steps and target_tokens [^\n]*$"):
        fit_pipeline(tab, target_params=N_TARGET)
    path = tmp_path / "five.csv"
    tab.frame.to_csv(path, index=False)
    code, _, err = _cli(capsys, "pipeline", "--runs", str(path), "--target-params", "1e9")
    assert code != 0 and "the table has 5 step values" in err
    with pytest.raises(InputError, match="not both"):
        fit_pipeline(tab, target_params=N_TARGET, target_steps=3000, target_tokens=1e6)


def test_sizes_only_at_a_recorded_step_of_a_longer_sweep_is_asked_for() -> None:
    # With 3+ steps a recorded target step keeps the step laws unless sizes_only=True (the mirror of steps_only).
    tab = world(n_mix=8, sizes=SIZES5[:4])
    kw = {"route": "nested", "law": "ye-exp", "target_params": N_TARGET, "target_steps": 2000}
    assert not fit_pipeline(tab, **kw).sizes_only
    forced = fit_pipeline(tab, sizes_only=True, **kw)
    alone = fit_pipeline(tab.subset(tab.steps == 2000), **kw)
    assert forced.sizes_only and any("left out" in w for w in forced.warnings)
    assert_allclose(forced.target_losses, alone.target_losses, rtol=1e-12)
    with pytest.raises(InputError, match="not a recorded one"):
        fit_pipeline(tab, sizes_only=True, **{**kw, "target_steps": 2500})


def test_steps_only_and_sizes_only_exclude_each_other() -> None:
    tab = world(n_mix=6, sizes=SIZES5[:4])
    with pytest.raises(InputError, match="exclude each other"):
        fit_pipeline(tab, target_params=SIZES5[1], target_steps=2000, steps_only=True, sizes_only=True)
    # One size at one step: nothing to extrapolate, one line.
    one = world(n_mix=6, sizes=[2e7], steps=[3000])
    with pytest.raises(InputError, match=r"^the target \(N = 2e\+07, S = 3000\) is a fitted size at a recorded step"
                       r"[^\n]*nothing to extrapolate"):
        fit_pipeline(one)


@pytest.mark.parametrize("route,law", [("nested", "ye-exp"), ("direct", "ye-exp"), ("direct", "ye-pow")])
def test_save_load_round_trip_and_the_saved_file_is_checked(tmp_path, route: str, law: str) -> None:  # type: ignore[no-untyped-def]
    res = fit_pipeline(one_step(n_mix=8), target_params=N_TARGET, route=route, law=law)
    path = tmp_path / "p.json"
    save_pipeline(res, path)
    back = load_pipeline(path)
    assert back.sizes_only and back.target_steps == S_ONE
    assert_allclose(back.predict(PROBE), res.predict(PROBE), rtol=1e-12)
    assert_allclose(back.predict(PROBE, params=3e9), res.predict(PROBE, params=3e9), rtol=1e-12)
    with pytest.raises(InputError, match="sizes only"):
        back.predict(PROBE, steps=1e4)
    doc = json.loads(path.read_text())
    bad = json.loads(json.dumps(doc))
    bad["result"]["target_steps"] = 6000
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(InputError, match=r"bad\.json: result\.target_steps: .*one step value, 3000 \(sizes only\)"):
        load_pipeline(tmp_path / "bad.json")
    bad = json.loads(json.dumps(doc))
    bad["state"]["scales"]["time"] = -1
    (tmp_path / "bad2.json").write_text(json.dumps(bad))
    with pytest.raises(InputError, match=r"state\.scales\.time"):
        load_pipeline(tmp_path / "bad2.json")


def test_cli_and_api_agree_with_save_predict_optimize_and_backtest(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tab = one_step(n_mix=8)
    runs, saved, mix = tmp_path / "one.csv", tmp_path / "p.json", tmp_path / "mix.csv"
    tab.frame.to_csv(runs, index=False)
    mix.write_text("w:web,w:code,w:math\n" + "\n".join(",".join(map(str, w)) for w in PROBE) + "\n")
    api = fit_pipeline(tab, target_params=N_TARGET)
    code, out, err = _cli(capsys, "pipeline", "--runs", str(runs), "--target-params", str(N_TARGET), "--optimize",
                          "--save", str(saved), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["pipeline"]["sizes_only"] is True and doc["pipeline"]["target_steps"] == S_ONE
    cli = np.array([[m["predicted"][d] for d in DOMAINS] for m in doc["pipeline"]["mixtures"]])
    assert_allclose(cli, api.target_losses, rtol=1e-12)
    assert doc["pipeline"]["selection"]["split"]["not_needed"]
    # The optimum at N*; no steps-to-match (no step law), and asking for it is one line.
    opt = optimize_pipeline(api)
    assert doc["optimum"]["weights"] == pytest.approx(opt.to_dict()["weights"], rel=1e-9)
    assert opt.steps is None and doc["optimum"]["steps_to_match"] is None
    # ... and the report and the JSON say why, where --optimize's help promises the figures (left out unsaid before).
    why = "the pipeline was fitted at one step (sizes only): no loss curve over steps to read them from"
    assert opt.steps_missing == doc["optimum"]["steps_to_match_reason"] == why
    code, text, err = _cli(capsys, "pipeline", "--runs", str(runs), "--target-params", str(N_TARGET), "--optimize")
    assert code == 0, err
    assert f"[[Steps to match (Ye et al. 2025)]]\n    not given: {why}\n" in text
    with pytest.raises(InputError, match="sizes only"):
        pipeline_steps_to_match(api, opt.weight_array(), api.mixtures.mean(axis=0))
    code, out, err = _cli(capsys, "predict", "--pipeline", str(saved), "--mixtures", str(mix), "--params", "4e9",
                          "--json")
    assert code == 0, err
    rows = json.loads(out)["predictions"]
    pred = np.array([[r[f"pred:{d}"] for d in DOMAINS] for r in rows])
    assert_allclose(pred, api.predict(PROBE, params=4e9), rtol=1e-9)
    code, _, err = _cli(capsys, "predict", "--pipeline", str(saved), "--mixtures", str(mix), "--steps", "9000")
    assert code != 0 and "sizes only" in err
    # --backtest: the size part runs (5 sizes), the step part is not needed (and not partial).
    code, out, err = _cli(capsys, "pipeline", "--runs", str(runs), "--target-params", str(N_TARGET), "--route",
                          "nested", "--law", "ye-exp", "--backtest")
    assert code == 0, err
    block = out.split("[[Backtest")[1]
    assert "steps  not needed: the target is at the recorded step (3000), a sizes-only extrapolation" in block
    assert "size " in block and "partial" not in block


def test_backtest_of_a_sizes_only_pipeline_has_no_steps_part() -> None:
    tests = backtest_pipeline(one_step(n_mix=8), route="nested", law="ye-exp")
    parts = {b.kind: b for b in tests}
    assert parts["size"].skipped is None and parts["size"].mre < 1e-3
    assert parts["steps"].not_needed is not None and parts["steps"].skipped is None


def test_a_one_token_count_table_extrapolates_in_size() -> None:
    # A sweep that logs tokens and no step column (Dai & Zheng's layout) at one token count per run.
    frame = one_step(n_mix=8).frame.copy()
    frame["tokens"] = frame.pop("step") * 2048
    res = fit_pipeline(RunTable(frame), target_params=N_TARGET, route="nested", law="ye-exp")
    assert res.sizes_only and res.time_axis == "tokens" and res.target_tokens == S_ONE * 2048
    assert_allclose(res.target_losses, truth(res.mixtures, N_TARGET, S_ONE), rtol=1e-3)


def test_cli_sizes_only_flag_and_its_exclusion_of_steps_only(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tab = world(n_mix=8, sizes=SIZES5[:4])
    path = tmp_path / "five.csv"
    tab.frame.to_csv(path, index=False)
    base = ("pipeline", "--runs", str(path), "--target-params", str(N_TARGET), "--target-steps", "2000", "--route",
            "nested", "--law", "ye-exp")
    code, out, err = _cli(capsys, *base, "--sizes-only", "--json")
    assert code == 0, err
    doc = json.loads(out)["pipeline"]
    api = fit_pipeline(tab, target_params=N_TARGET, target_steps=2000, route="nested", law="ye-exp",
                       sizes_only=True)
    assert doc["sizes_only"] is True and "step" not in doc["stages"]
    cli = np.array([[m["predicted"][d] for d in DOMAINS] for m in doc["mixtures"]])
    assert_allclose(cli, api.target_losses, rtol=1e-12)
    code, out, err = _cli(capsys, *base, "--sizes-only", "--steps-only")
    assert code != 0 and out == "" and "exclude each other" in err and len(err.strip().splitlines()) == 1


def test_a_recorded_step_with_too_few_sizes_is_refused_in_one_line() -> None:
    # 2 steps: 4 sizes ran to 2000 steps, 2 of them to 3000. At 3000 only 2 sizes: the size law cannot run, and
    # the line says so of the runs at that step (not "extrapolates in steps alone": one checkpoint per curve).
    a = world(n_mix=6, sizes=SIZES5[:4], steps=[2000]).frame
    b = world(n_mix=6, sizes=SIZES5[:2], steps=[3000]).frame
    tab = RunTable(pd.concat([a, b], ignore_index=True))
    for kw in ({}, {"route": "nested", "law": "ye-exp"}, {"route": "direct", "law": "ye-exp"}):
        with pytest.raises(InputError, match=r"^the [^\n]*needs 3 model sizes to extrapolate to another size; the "
                           r"runs at S = 3000 \(sizes only\) have 2 model size\(s\) \(1e\+07, 2e\+07\); with 2 "
                           r"sizes only a law that takes N as an input can \(route 'direct', law 'dz-eq3-safe', "
                           r"'dz-eq3' or 'dz-eq1': --route direct --law dz-eq3-safe\), and no backtest can test it$"):
            fit_pipeline(tab, target_params=N_TARGET, target_steps=3000, **kw)
    assert fit_pipeline(tab, target_params=N_TARGET, target_steps=2000, route="nested", law="ye-exp").sizes_only


def test_a_registered_law_with_a_size_input_is_a_sizes_only_fit_too(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # dz-eq1 (Dai & Zheng Eq. 1, N as input) on runs at one step: the same sizes-only result, saved and checked.
    res = fit_pipeline(one_step(n_mix=8), target_params=N_TARGET, route="direct", law="dz-eq1")
    assert res.sizes_only and res.law == "dz-eq1" and "sizes only" in str(res).splitlines()[0]
    with pytest.raises(InputError, match="sizes only"):
        res.predict(PROBE, steps=9000.0)
    save_pipeline(res, tmp_path / "p.json")
    back = load_pipeline(tmp_path / "p.json")
    assert back.sizes_only
    assert_allclose(back.predict(PROBE, params=4e9), res.predict(PROBE, params=4e9), rtol=1e-12)
    doc = json.loads((tmp_path / "p.json").read_text())
    doc["result"]["target_steps"] = 6000
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"result\.target_steps: .*sizes only"):
        load_pipeline(tmp_path / "bad.json")


def test_mixtures_at_too_few_sizes_are_dropped_before_the_size_fits_not_step_fits() -> None:
    # ADMIRE-BayesOpt's public IFT runs (Qwen2.5 0.5B / 3B / 7B, one row per run, no step): "180 mixture(s) with
    # curves at fewer than 3 sizes dropped before the step fits" in a pipeline that fits no step law.
    frame = one_step(sizes=SIZES5[:3]).frame
    frame = frame[~(frame["run"].str.startswith(("m8-", "m9-")) & (frame["params"] > 1e7))]
    with pytest.warns(UserWarning, match=r"2 mixture\(s\) with curves at fewer than 3 sizes dropped before the "
                                         r"size fits, e\.g\. m8-N1e\+07 \(curves at 1e\+07 only\)"):
        res = fit_pipeline(RunTable(frame), target_params=N_TARGET, route="nested", law="ye-exp")
    assert res.sizes_only and not [w for w in res.warnings if "step fits" in w]
