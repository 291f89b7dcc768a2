"""``--backtest`` cuts the curves where auto's leave-scale-out split does, so the two agree on what can run.

Found on Ye et al.'s 5Mix runs (tokens, nested route): the backtest cut every curve at a fixed third of its
length, which left the 410M curves (9k-30k steps) 2 checkpoints and printed the tokens part "not run", while
auto's table scored tokens alone at its own 2.14x cut."""

from __future__ import annotations

import json

import numpy as np
from cli_runner import run_cli

from mixlaw.pipeline import backtest_pipeline, fit_pipeline, leave_scale_out_split

from .test_pipeline import N_STAR, S_STAR, world

# Curves of 7 checkpoints: a cut at 9000 / 3 keeps 2 (the step law needs 3); the largest cut that keeps 3 is 2.25x.
STEPS = [2000, 3000, 4000, 5000, 6000, 7000, 9000]


def test_backtest_uses_auto_split_and_runs_what_auto_scored(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    table = world(steps=STEPS, n_mix=8)
    alone = {p: leave_scale_out_split(table, N_STAR, S_STAR, parts=(p,), route="nested") for p in ("time", "size")}
    assert alone["time"].time_ratio == 2.25 and alone["size"].size_ratio == 2.0
    parts = {b.kind: b for b in backtest_pipeline(table, route="nested", law="ye-exp", target_params=N_STAR,
                                                  target_time=S_STAR)}
    assert parts["steps"].skipped is None and parts["steps"].ratio == 2.25 and 0 < parts["steps"].mre < 0.01
    assert parts["size"].skipped is None and parts["size"].ratio == 2.0
    # A fixed cut is still there when asked for, and says why it cannot run.
    fixed = {b.kind: b for b in backtest_pipeline(table, route="nested", law="ye-exp", step_ratio=3.0,
                                                  target_params=N_STAR, target_time=S_STAR)}
    assert "leaves at most 2 checkpoint(s) per curve" in fixed["steps"].skipped
    # auto scores each part alone on the same table: it ran both, and so does the CLI's --backtest.
    sel = fit_pipeline(table, target_params=N_STAR, target_steps=S_STAR, route="nested", law="auto",
                       n_jackknife=0).selection
    assert sel is not None and all(np.isfinite(c.parts["time"]) and np.isfinite(c.parts["size"])
                                   for c in sel.candidates if c.ok)
    path = tmp_path / "runs.csv"
    table.frame.to_csv(path, index=False)
    code, out, err = run_cli(capsys, "pipeline", "--runs", str(path), "--target-params", f"{N_STAR:g}",
                             "--target-steps", f"{S_STAR:g}", "--route", "nested", "--law", "ye-exp", "--backtest",
                             "--json")
    assert code == 0, err
    bt = {b["kind"]: b for b in json.loads(out)["backtest"]}
    assert bt["steps"]["ratio"] == 2.25 and bt["steps"]["skipped"] is None and bt["size"]["skipped"] is None
    assert "auto's cut for the target's 11.1x" in bt["steps"]["description"]


def test_a_part_the_target_does_not_extrapolate_over_is_not_needed() -> None:
    # Target at the largest size's last step, beyond it in size: the steps part is not needed (auto's split
    # leaves it out), where the fixed cut tested an extrapolation the pipeline does not make.
    table = world(steps=STEPS, n_mix=8)
    parts = {b.kind: b for b in backtest_pipeline(table, route="nested", law="ye-exp", target_params=N_STAR,
                                                  target_time=9000.0)}
    assert parts["steps"].not_needed is not None and "not beyond" in parts["steps"].not_needed
    assert parts["size"].skipped is None and parts["size"].ratio == 2.0
