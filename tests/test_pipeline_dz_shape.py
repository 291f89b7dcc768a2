"""The pipeline on a table shaped like Dai & Zheng's SlimPajama sweep: tokens but no step column, curves that end
at different token counts per size, extra mixtures at the 2 smallest sizes only, and a few curves missing
checkpoints (rows dropped for NaN losses). Each case reproduces a failure seen on the real sweep."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pandas as pd
import pytest

import mixlaw.pipeline.selection as selection
from mixlaw.cli import main
from mixlaw.data import RunTable
from mixlaw.pipeline import backtest_pipeline, fit_pipeline, leave_scale_out_split, save_pipeline

SIZES = (1e7, 2e7, 4e7, 8e7)
#: Each size trains on more tokens (as D&Z: 20B, 20B, 26B, 35B), 6 checkpoints per curve.
LAST = {1e7: 2.0e9, 2e7: 2.0e9, 4e7: 2.6e9, 8e7: 3.5e9}
N_T, D_T = 2.4e8, 1.0e10


def cli(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0)


def _loss(w: np.ndarray, N: float, D: float) -> float:
    return float(1.8 + 0.4 * np.exp(np.array([-1.5, 0.5, 0.8]) @ w) + 0.6 * (1e7 / N) ** 0.3
                 + 0.5 * (2e8 / D) ** 0.35)


def dz_like(n_mix: int = 8, n_small_only: int = 3, seed: int = 0) -> RunTable:
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(3), size=n_mix + n_small_only)
    rows = []
    for m, w in enumerate(W):
        for N in SIZES if m < n_mix else SIZES[:2]:
            for D in np.linspace(0.1, 1.0, 10) * LAST[N]:
                rows.append({"run": f"m{m}_{N:g}", "params": N, "tokens": D, "w:a": w[0], "w:b": w[1], "w:c": w[2],
                             "loss:a": _loss(w, N, D) * (1 + 1e-3 * rng.standard_normal())})
    frame = pd.DataFrame(rows)
    # One curve at the second size lost 2 checkpoints in its first half (NaN losses dropped on import): cut for
    # the backtest's time part it is the only short curve of its size once the 2-size mixtures are dropped.
    lost = frame.index[(frame.run == f"m0_{SIZES[1]:g}")][1:3]
    return RunTable(frame.drop(index=lost).reset_index(drop=True))


def test_a_lone_short_curve_drops_its_mixture_not_the_size_stage() -> None:
    table = dz_like()
    split = leave_scale_out_split(table, N_T, D_T, "tokens", parts=("time",))
    assert split.time_ratio > 1
    sub = table.subset(split.fit_rows)
    # Before: "with 3 model sizes mixlaw shares alpha across mixtures, which needs 2 or more mixtures" although
    # 8 mixtures have all 4 sizes.
    # shared_exponents="auto" (own exponents where the points allow): the mode with mixtures at 3 and at 4 sizes
    # (with the default, every mixture shares alpha and none is dropped).
    res = fit_pipeline(sub, target_params=split.held_params, target_tokens=split.held_time, route="nested",
                       law="ye-exp", shared_exponents="auto")
    assert len(res.mixtures) == 7
    assert any("only mixture at exactly 3 sizes" in m for m in res.warnings)


def test_every_candidate_is_scored_on_the_time_alone_split() -> None:
    res = fit_pipeline(dz_like(), target_params=N_T, target_tokens=D_T, n_jackknife=0)
    sel = res.selection
    assert sel is not None
    ok = [c for c in sel.candidates if c.ok]  # ye-pow has more parameters than 7 mixtures: it says so
    assert {c.route for c in ok} == {"nested", "direct"}
    for c in ok:
        assert not c.part_errors
        assert np.isfinite(c.parts["time"]) and np.isfinite(c.parts["size"])
    assert "nan%" not in str(sel)


def test_a_split_a_candidate_cannot_run_says_why_and_is_left_out_of_every_score(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    orig = selection.backtest_candidates

    def failing(table, split, candidates, *a, **k):  # type: ignore[no-untyped-def]
        out, fitted = orig(table, split, candidates, *a, **k)
        if split.kind == "time":
            for c in out:
                if c.route == "nested":
                    c.error, c.mre = "the size law failed here", float("nan")
        return out, fitted

    monkeypatch.setattr(selection, "backtest_candidates", failing)  # what select_candidate calls
    sel = fit_pipeline(dz_like(), target_params=N_T, target_tokens=D_T, intervals=False).selection
    assert sel is not None
    text = str(sel)
    nested = [c for c in sel.candidates if c.route == "nested" and c.ok]
    assert nested and all(c.part_errors == {"time": "the size law failed here"} for c in nested)
    assert all(f"{c.label}: time alone not run (nan above): the size law failed here" in text for c in nested)
    # Same splits for everyone: the time-alone split is out of every score, the direct route's too.
    assert all(set(c.part_residuals) == {"size"} for c in sel.candidates if c.ok)
    assert "score leaves out the time alone split" in sel.note
    assert sel.to_dict()["candidates"][0]["part_errors"] is not None


def test_backtest_runs_on_a_tokens_only_table(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    table = dz_like()
    parts = {b.kind: b for b in backtest_pipeline(table, route="nested", law="ye-exp")}
    # Before: "the backtest needs a 'step' column".
    assert set(parts) == {"tokens", "size"}
    for b in parts.values():
        assert b.skipped is None and b.n == 8 and 0 < b.mre < 0.05, b
    assert "token count" in parts["tokens"].description
    # The CLI's --backtest follows the pipeline's time axis.
    path = tmp_path / "runs.csv"
    table.frame.to_csv(path, index=False)
    assert cli(["pipeline", "--runs", str(path), "--target-params", f"{N_T:g}", "--target-tokens", f"{D_T:g}",
                "--route", "nested", "--law", "ye-exp", "--backtest"]) == 0
    text = capsys.readouterr().out
    assert "[[Backtest: the same extrapolation within the data]]" in text
    # auto's cut: the nearest to the target's 2.86x that leaves every curve 3 checkpoints.
    assert re.search(r"\n    tokens +2x  MRE.*auto's cut for the target's 2.86x", text)
    assert re.search(r"\n    size +2x  MRE", text)
    assert "not run" not in text


def test_pipeline_optimize_has_optimizes_defaults_and_labels(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "runs.csv"
    dz_like().frame.to_csv(path, index=False)
    base = ["pipeline", "--runs", str(path), "--target-params", f"{N_T:g}", "--target-tokens", f"{D_T:g}",
            "--route", "nested", "--law", "ye-exp", "--optimize"]
    assert cli(base) == 0
    text = capsys.readouterr().out
    # Before: "trust region = none (extrapolation allowed)" and the runs' mean labelled "given".
    assert "trust region = fitted range" in text and "mean of the runs" in text and "(given" not in text
    assert cli([*base, "--extrapolate"]) == 0
    assert "trust region = none (extrapolation allowed)" in capsys.readouterr().out
    for default, label in (("uniform", "natural mixture (uniform"),
                           ("a=0.5,b=0.3,c=0.2", "natural mixture (--default")):
        assert cli([*base, "--default", default]) == 0
        text = capsys.readouterr().out
        assert label in text and "(given" not in text, text
    assert cli([*base, "--extrapolate", "--within-fitted-range"]) != 0
    assert "contradict" in capsys.readouterr().err


def test_predict_pipeline_writes_the_intervals_pipeline_prints(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    table = dz_like()
    res = fit_pipeline(table, target_params=N_T, target_tokens=D_T, route="nested", law="ye-exp", intervals=True,
                       n_jackknife=3)
    saved, mix = tmp_path / "p.json", tmp_path / "mix.csv"
    save_pipeline(res, saved)
    new = np.array([[0.2, 0.3, 0.5]])
    W = np.vstack([res.mixtures, new])
    pd.DataFrame(W, columns=["w:a", "w:b", "w:c"]).to_csv(mix, index=False)
    assert cli(["predict", "--pipeline", str(saved), "--mixtures", str(mix)]) == 0
    cap = capsys.readouterr()
    # Before: pred:a only.
    got = pd.read_csv(io.StringIO(cap.out), sep=r"\s+")
    assert list(got.columns) == ["run", "pred:a", "lo80:a", "hi80:a"]
    h = got["hi80:a"].to_numpy() / got["pred:a"].to_numpy() - 1
    assert np.allclose(got["lo80:a"] / got["pred:a"] - 1, -h, atol=1e-6)
    # The pipeline's own mixtures: the same relative half-width as pipeline printed (around the law's prediction).
    own_h = res.intervals.upper[:, 0] / res.target_losses[:, 0] - 1
    assert np.allclose(h[:-1], own_h, atol=1e-5)
    assert h[-1] >= np.nanmax(res.intervals.extrapolation) - 1e-6 and h[-1] >= 0.8 * own_h.max()
    assert "1 mixture(s) not among the pipeline's own" in cap.err
    # At another scale (here on the tokens axis) the rule is redone there, as PipelineResult.interval does (it
    # said "no prediction intervals: the saved ones hold at (N*, D*) only" before).
    assert cli(["predict", "--pipeline", str(saved), "--mixtures", str(mix), "--params", "5e7", "--json"]) == 0
    cap = capsys.readouterr()
    rows = pd.DataFrame(json.loads(cap.out)["predictions"])
    lo, hi = res.interval(W, params=5e7)
    assert np.allclose(rows["lo80:a"], lo[:, 0], rtol=1e-9) and np.allclose(rows["hi80:a"], hi[:, 0], rtol=1e-9)


def test_predict_pipeline_says_when_the_saved_intervals_hold_no_extrapolation_error(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    res = fit_pipeline(dz_like(), target_params=N_T, target_tokens=D_T, route="nested", law="ye-exp",
                       intervals=True, n_jackknife=3)
    saved, mix = tmp_path / "p.json", tmp_path / "mix.csv"
    save_pipeline(res, saved)
    doc = json.loads(saved.read_text())
    doc["result"]["intervals"]["extrapolation"] = [None]  # no backtest residuals: the jackknife spread alone
    saved.write_text(json.dumps(doc))
    pd.DataFrame(res.mixtures, columns=["w:a", "w:b", "w:c"]).to_csv(mix, index=False)
    assert cli(["predict", "--pipeline", str(saved), "--mixtures", str(mix)]) == 0
    assert "the extrapolation error is NOT in the intervals of a" in capsys.readouterr().err


def test_optimize_a_direct_dz_eq3_pipeline_at_its_target_tokens(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # Dai & Zheng's Eq. 3 takes D as well as N: optimize_pipeline passed N* alone, and optimize_mixture refused
    # ('fitted across the runs' token counts ... optimise at a target scale with `mixlaw pipeline --optimize`'),
    # so `mixlaw pipeline --route direct --law dz-eq3-safe --optimize` stopped on that line (SlimPajama, 1.235B).
    import warnings

    from mixlaw.pipeline import optimize_pipeline

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_pipeline(dz_like(), target_params=N_T, target_tokens=D_T, route="direct", law="dz-eq3-safe",
                           intervals=False)
        opt = optimize_pipeline(res)
    assert opt.objective == pytest.approx(float(np.mean(res.predict(opt.weights))), rel=1e-9)
    path = tmp_path / "runs.csv"
    dz_like().frame.to_csv(path, index=False)
    assert cli(["pipeline", "--runs", str(path), "--target-params", f"{N_T:g}", "--target-tokens", f"{D_T:g}",
                "--route", "direct", "--law", "dz-eq3-safe", "--optimize"]) == 0
    assert "improvement =" in capsys.readouterr().out


def test_optimize_a_direct_dz_eq1_pipeline_has_no_steps_to_match() -> None:
    # dz-eq1 takes N alone and predicts its runs' final checkpoints: the steps-to-match curves at other token counts
    # raised "law 'dz-eq1' has no token input here", so `pipeline --route direct --law dz-eq1 --optimize` stopped
    # after the optimum was found (Dai & Zheng's SlimPajama, 122M-1.235B -> 2.718B).
    import warnings

    from mixlaw.errors import InputError
    from mixlaw.pipeline import optimize_pipeline, pipeline_steps_to_match

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_pipeline(dz_like(), target_params=N_T, target_tokens=D_T, route="direct", law="dz-eq1",
                           intervals=False)
        opt = optimize_pipeline(res)
    assert opt.steps is None and np.isfinite(opt.objective)
    with pytest.raises(InputError, match="dz-eq1 takes N only"):
        pipeline_steps_to_match(res, opt.weight_array(), res.mixtures.mean(axis=0))
