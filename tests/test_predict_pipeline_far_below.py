"""`mixlaw predict --pipeline` says what `mixlaw pipeline` says at fit time of a prediction below half the lowest loss
its eval has in the table: the saved pipeline keeps each eval's lowest loss (``state.table_lowest``).

Found: a nested ye-exp pipeline fitted on losses with no floor, 1000x beyond its runs, warned at fit time that a
mixture's target-scale prediction lay below 0.5x the table's lowest; the same mixture predicted from the saved file
came back with no word."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from cli_runner import run_cli
from test_pipeline_far_below_table import _no_floor_table

import mixlaw.api as api
from mixlaw.data import RunTable
from mixlaw.errors import InputError, MixlawWarning
from mixlaw.pipeline import fit_pipeline, load_pipeline, save_pipeline

BELOW = "lie below 0.5x the lowest loss of their eval in the pipeline's table"


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, str, str]:
    """A fixed-route pipeline whose fit warned of a collapsed prediction, saved, and its lowest mixture inline."""
    table = _no_floor_table()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixlawWarning)
        res = fit_pipeline(table, target_params=8e10, target_steps=2e6, route="nested", law="ye-exp")
    assert any("lie below 0.5x" in w for w in res.warnings)  # the fit-time check this one mirrors
    path = tmp_path_factory.mktemp("p") / "p.json"
    save_pipeline(res, path)
    w = res.mixtures[int(np.argmin(res.target_losses[:, 0]))]
    return res, str(path), ",".join(f"{d}={float(v)!r}" for d, v in zip(res.domains, w, strict=True))


def test_the_saved_file_keeps_each_evals_lowest_loss(saved) -> None:  # type: ignore[no-untyped-def]
    res, path, _ = saved
    low = float(np.nanmin(_no_floor_table().losses(["x"])))
    assert json.loads(open(path).read())["state"]["table_lowest"] == [low]
    np.testing.assert_array_equal(load_pipeline(path).table_lowest, [low])


def test_predict_pipeline_warns_of_a_prediction_far_below_the_table(saved, capsys) -> None:  # type: ignore[no-untyped-def]
    _, path, mix = saved
    code, out, err = run_cli(capsys, "predict", "--pipeline", path, "--mixtures", mix)
    assert code == 0, err
    flat = " ".join(err.split())
    assert "1 of 1 prediction(s) at N = 8e+10, S = 2e+06 " + BELOW in flat
    assert "x of row 1" in flat and "the table's lowest" in flat


def test_the_python_api_warns_too(saved) -> None:  # type: ignore[no-untyped-def]
    res, path, mix = saved
    with pytest.warns(MixlawWarning, match=BELOW) as rec:
        api.predict_pipeline_table(load_pipeline(path), mix)
    assert rec[0].filename == __file__  # names the caller's line, not mixlaw's


def test_a_prediction_near_the_runs_is_silent(saved) -> None:  # type: ignore[no-untyped-def]
    res, path, mix = saved
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        api.predict_pipeline_table(load_pipeline(path), mix, params=8e7, steps=2000)  # the largest run's scale
    assert not [w for w in caught if "lie below" in str(w.message)]


def test_a_file_saved_before_the_field_loads_and_skips_the_check(saved, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, path, mix = saved
    doc = json.loads(open(path).read())
    del doc["state"]["table_lowest"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    res = load_pipeline(old)
    assert res.table_lowest is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        api.predict_pipeline_table(res, mix)
    assert not [w for w in caught if "lie below" in str(w.message)]


@pytest.mark.parametrize("bad", [[1.0, 2.0], [-1.0], [0.0], "x", [[1.0]], [True]])
def test_a_tampered_field_is_refused_on_load(saved, tmp_path, bad) -> None:  # type: ignore[no-untyped-def]
    _, path, _ = saved
    doc = json.loads(open(path).read())
    doc["state"]["table_lowest"] = bad
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"state\.table_lowest"):
        load_pipeline(p)


def test_a_pipeline_of_final_losses_names_each_runs_end_not_s_1() -> None:
    # Fitted on each run's final loss (no step column), S* = 1 is a stand-in that the headline says as "each run's
    # end": the warning read "prediction(s) at N = 8e+10, S = 1".
    frame = _no_floor_table().frame
    last = frame[frame["step"] == frame.groupby("params")["step"].transform("max")].drop(columns=["step"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixlawWarning)
        res = fit_pipeline(RunTable(last), target_params=8e10, route="nested", law="ye-exp")
    assert res.final_losses
    res.table_lowest = np.array([100.0])  # every prediction below half of it: the line's wording is what is tested
    mix = ",".join(f"{d}={float(v)!r}" for d, v in zip(res.domains, res.mixtures[0], strict=True))
    with pytest.warns(MixlawWarning, match=BELOW) as rec:
        api.predict_pipeline_table(res, mix)
    line = next(str(w.message) for w in rec if "lie below" in str(w.message))
    assert "prediction(s) at N = 8e+10 (each run's end) lie below" in line and "S = 1" not in line
