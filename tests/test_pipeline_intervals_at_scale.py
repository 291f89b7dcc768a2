"""Prediction intervals at any scale, not only the target's (issue 9 item 4): ``PipelineResult.interval(W,
params=, steps=)`` and ``mixlaw predict --pipeline p.json --params N --steps S`` redo the target's rule there (the
backtest residuals scaled by that scale's distance factor, max with the jackknife refits' spread at that scale);
where that cannot be done honestly (no backtest) one line says why."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli as _cli
from numpy.testing import assert_allclose

from mixlaw.errors import InputError
from mixlaw.pipeline import fit_pipeline, save_pipeline

from .test_pipeline import DOMAINS, N_STAR, S_STAR, world

INSIDE = {"params": 4e7, "steps": 2000.0}  # between the fitted sizes (1e7-8e7) and checkpoints (250-3000)
FARTHER = {"params": 5e9, "steps": 1e6}  # beyond the target (1e9, 1e5)


@pytest.fixture(scope="module")
def fitted():  # type: ignore[no-untyped-def]
    # 0.3 % noise: nonzero backtest residuals; the nested route with its backtest and 8 jackknife refits.
    return fit_pipeline(world(noise=3e-3, n_mix=8), target_params=N_STAR, target_steps=S_STAR, route="nested",
                        law="ye-exp", intervals=True)


def _half(res, **scale) -> np.ndarray:  # type: ignore[no-untyped-def]
    lo, hi = res.interval(res.mixtures, **scale)
    center = res.predict(res.mixtures, **scale)
    assert_allclose(hi - center, center - lo, rtol=1e-9)  # symmetric (no bound at 0 here)
    return (hi - center) / center


def test_interpolation_is_no_wider_than_the_target_and_a_farther_scale_is_wider(fitted) -> None:  # type: ignore[no-untyped-def]
    iv, target = fitted.intervals, _half(fitted)
    # The rule redone at the target itself gives the target's intervals: the same residuals, factor and refits.
    lo, hi, _ = iv.at_scale(fitted.mixtures, fitted.target_losses, N_STAR, S_STAR)
    assert_allclose(lo, iv.lower, rtol=1e-6)
    assert_allclose(hi, iv.upper, rtol=1e-6)
    assert iv.distance_factor_at(N_STAR, S_STAR) == pytest.approx(iv.distance_factor) and iv.distance_factor > 2
    # Inside the fitted range the factor is 1: the backtest's own error (not less), so narrower than the target's.
    assert iv.distance_factor_at(INSIDE["params"], INSIDE["steps"]) == 1.0
    inside, farther = _half(fitted, **INSIDE), _half(fitted, **FARTHER)
    assert np.all(inside <= target + 1e-12) and np.all(inside > 0)
    assert iv.distance_factor_at(FARTHER["params"], FARTHER["steps"]) > iv.distance_factor
    assert np.all(farther > target)
    # A step inside the fitted range adds no distance (nor takes any away from the size's).
    assert iv.distance_factor_at(N_STAR, 2000.0) == iv.distance_factor_at(N_STAR, 3000.0)


def test_predict_cli_gives_the_same_intervals_from_the_saved_file(tmp_path, capsys, fitted) -> None:  # type: ignore[no-untyped-def]
    path, mix = tmp_path / "p.json", tmp_path / "m.csv"
    save_pipeline(fitted, path)
    pd.DataFrame(fitted.mixtures, columns=[f"w:{d}" for d in DOMAINS]).to_csv(mix, index=False)
    for scale in (INSIDE, FARTHER):
        code, out, err = _cli(capsys, "predict", "--pipeline", str(path), "--mixtures", str(mix), "--params",
                              f"{scale['params']:g}", "--steps", f"{scale['steps']:g}", "--json")
        assert code == 0, err
        doc = json.loads(out)
        assert "at this scale" in doc["intervals"] and "distance factor" in doc["intervals"]
        rows = pd.DataFrame(doc["predictions"])
        lo, hi = fitted.interval(fitted.mixtures, **scale)
        assert_allclose(rows[[f"lo80:{d}" for d in DOMAINS]].to_numpy(), lo, rtol=1e-9)
        assert_allclose(rows[[f"hi80:{d}" for d in DOMAINS]].to_numpy(), hi, rtol=1e-9)
    # A file without what the rule needs (saved before it was kept) says so, in one line, and still predicts:
    # without the refits alone (the residuals would stand for both parts), and without the residuals too.
    old = json.loads(path.read_text())
    old["state"].pop("jackknife")
    path.write_text(json.dumps(old))
    code, out, err = _cli(capsys, "predict", "--pipeline", str(path), "--mixtures", str(mix), "--params", "4e7",
                          "--steps", "2000")
    assert code == 0 and "older mixlaw" in err and "lo80" not in out
    for key in ("residuals", "backtest_distance", "edge"):
        old["result"]["intervals"].pop(key)
    path.write_text(json.dumps(old))
    code, out, err = _cli(capsys, "predict", "--pipeline", str(path), "--mixtures", str(mix), "--params", "4e7",
                          "--steps", "2000")
    assert code == 0 and "older mixlaw" in err and "lo80" not in out and "pred:web" in out


def test_without_a_backtest_another_scale_says_why(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # One size, curves of 3 checkpoints: steps only, no backtest (a cut would leave 2); the step-law term is each
    # mixture's own prediction error at S*, computed from runs the pipeline does not keep.
    res = fit_pipeline(world(noise=3e-3, n_mix=8, sizes=[4e7], steps=[500, 1000, 3000]), target_steps=1e4,
                       route="nested", law="ye-exp", intervals=True)
    assert res.intervals.step_law is not None
    with pytest.raises(InputError, match="without a backtest"):
        res.interval(res.mixtures, steps=2e4)
    path = tmp_path / "p.json"
    save_pipeline(res, path)
    code, out, err = _cli(capsys, "predict", "--pipeline", str(path), "--mixtures", "web=0.4,code=0.3,math=0.3",
                          "--steps", "2e4")
    assert code == 0 and "without a backtest" in err and "lo80" not in out
    code, out, err = _cli(capsys, "predict", "--pipeline", str(path), "--mixtures", "web=0.4,code=0.3,math=0.3")
    assert code == 0 and "lo80:web" in out  # at the target: the saved intervals, as before


def test_a_damaged_refit_names_its_place_once(tmp_path, capsys, fitted) -> None:  # type: ignore[no-untyped-def]
    # A refit that is not an object was reported as 'state.jackknife[0].mixing_law: state.jackknife[0]: expected an
    # object; got int': the field's own error, then wrapped again as if the law had failed to load.
    path, mix = tmp_path / "p.json", tmp_path / "m.csv"
    save_pipeline(fitted, path)
    pd.DataFrame(fitted.mixtures, columns=[f"w:{d}" for d in DOMAINS]).to_csv(mix, index=False)
    doc = json.loads(path.read_text())
    doc["state"]["jackknife"][0] = 7
    path.write_text(json.dumps(doc))
    code, _, err = _cli(capsys, "predict", "--pipeline", str(path), "--mixtures", str(mix), "--params", "4e7",
                        "--steps", "2000")
    assert code == 2 and "state.jackknife[0]: expected an object; got int" in err
    assert "mixing_law" not in err and err.count("state.jackknife[0]") == 1



@pytest.mark.parametrize("j,value", [(0, 1e300), (1, 1e308)])
def test_a_refits_step_law_edited_within_its_bounds_is_refused(tmp_path, fitted, j, value) -> None:  # type: ignore[no-untyped-def]
    # A refit's step laws are what its spread at another scale reads (at_scale). Before: E = 1e300 (within [0, inf))
    # and log_B = 1e308 (inf at every step: the curve dropped) loaded, checked neither as the pipeline's own nor at all.
    from .test_pipeline_predict import load_error
    path = tmp_path / "p.json"
    save_pipeline(fitted, path)
    doc = json.loads(path.read_text())
    msg = load_error(tmp_path, doc, lambda d: d["state"]["jackknife"][0]["scales"]["step_laws"][1][0][0].__setitem__(
        j, value))
    assert "state.jackknife[0].scales.step_laws[1][0][0]: " in msg
    want = "over 3x the largest loss this file holds for web there" if j == 0 else "expected a finite positive loss"
    assert want in msg


def test_the_note_below_the_fitted_sizes_does_not_call_them_inside(fitted) -> None:  # type: ignore[no-untyped-def]
    # hunt26: 'predict --pipeline p.json --params 5000' (fitted sizes 28k-234k) printed "distance factor 1 (...; it is
    # 1 at any scale inside the fitted range)": 5000 is outside it, below, where the backtest measured nothing.
    below = {"params": 1e6, "steps": 2000.0}  # a tenth of the smallest fitted size (1e7)
    iv = fitted.intervals
    assert iv.distance_factor_at(below["params"], below["steps"]) == 1.0
    _, _, how = iv.at_scale(fitted.mixtures, fitted.predict(fitted.mixtures, **below), below["params"],
                            below["steps"])
    assert "inside the fitted range" not in how
    assert f"it is 1 at any scale up to the largest fitted size {iv.edge[0]:g} and last checkpoint {iv.edge[1]:g}, " \
           "below the smallest fitted ones too, where no backtest measured it" in how


def test_the_note_beyond_the_fitted_sizes_within_the_backtests_reach_says_so(fitted) -> None:  # type: ignore[no-untyped-def]
    # Ye's 5Mix fitted on 70M-410M, 'predict --pipeline p.json --params 1B --steps 20000' printed "distance factor 1
    # (...; it is 1 at any scale up to the largest fitted size 4.1e+08 and last checkpoint 30000, ...)" for 1B, which
    # is beyond them: 1 because 1B at 20k lies nearer than the backtest reached (0.84 of its distance), not inside.
    iv = fitted.intervals
    N = float(iv.edge[0]) * np.exp(0.5 * iv.backtest_distance)  # half the backtest's distance beyond, in size
    assert iv.distance_factor_at(N, 2000.0) == 1.0
    _, _, how = iv.at_scale(fitted.mixtures, fitted.predict(fitted.mixtures, params=N, steps=2000.0), N, 2000.0)
    assert "where no backtest measured it; this scale lies beyond them at 0.5x the backtest's distance, within its " \
           "reach, so 1 here too)" in how
    inside = {"params": float(iv.edge[0]) / 2, "steps": 2000.0}
    _, _, how = iv.at_scale(fitted.mixtures, fitted.predict(fitted.mixtures, **inside), *inside.values())
    assert "within its reach" not in how
