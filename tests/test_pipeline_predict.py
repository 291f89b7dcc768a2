"""Predict anything a pipeline has fitted, save and load it (issue 9 item 4), and the pipeline papercuts of item 7."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest
from cli_runner import run_cli as _cli
from numpy.testing import assert_allclose

from mixlaw.data import RunTable
from mixlaw.errors import InputError
from mixlaw.pipeline import fit_pipeline, load_pipeline, save_pipeline

from .test_pipeline import DOMAINS, N_STAR, NESTED, S_STAR, SIZES, STEPS, _with_tokens, truth, world

PROBE = np.array([[0.5, 0.3, 0.2], [0.2, 0.5, 0.3], [0.3, 0.3, 0.4]])


@pytest.mark.parametrize("route", ["nested", "direct"])
def test_predict_any_size_and_step_inside_and_beyond_the_data(route: str) -> None:
    # Interpolation (N, S inside the runs) and extrapolation (beyond them, not at the fitted target) both match
    # the world: 0.002 % noise, so the stages are close to exact.
    res = fit_pipeline(world(), target_params=N_STAR, target_steps=S_STAR, route=route)
    for N, S in [(SIZES[1], STEPS[2]), (3e7, 1500.0), (2e8, 3e4), (N_STAR, S_STAR), (5e9, 1e6)]:
        assert_allclose(res.predict(PROBE, params=N, steps=S), truth(PROBE, N, S), rtol=3e-3, err_msg=f"{N}, {S}")
    # params alone keeps S*, steps alone keeps N*; `at` is the old name of steps.
    assert_allclose(res.predict(PROBE, params=2e8), truth(PROBE, 2e8, S_STAR), rtol=3e-3)
    assert_allclose(res.predict(PROBE, steps=STEPS[1]), res.predict(PROBE, at=STEPS[1]), rtol=0)
    for bad in ({"params": -1.0}, {"steps": 0.0}, {"params": float("nan")}):
        with pytest.raises(InputError, match="positive"):
            res.predict(PROBE, **bad)
    with pytest.raises(InputError, match="tokens"):
        res.predict(PROBE, tokens=1e6)  # the table has no tokens per step


def test_target_inside_the_data_is_interpolation_and_api_and_cli_agree(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    tab = world(n_mix=8)
    big = fit_pipeline(tab, target_params=N_STAR, target_steps=S_STAR, **NESTED)
    inside = fit_pipeline(tab, target_params=SIZES[-2], target_steps=STEPS[2], **NESTED)  # was an error
    assert_allclose(inside.target_losses, truth(inside.mixtures, SIZES[-2], STEPS[2]), rtol=1e-3)
    # The same fitted stages, asked at (N, S) afterwards, give the same mixing law.
    assert_allclose(inside.predict(PROBE), big.predict(PROBE, params=SIZES[-2], steps=STEPS[2]), rtol=1e-9)
    path = tmp_path / "sweep.csv"
    tab.frame.to_csv(path, index=False)
    code, out, err = _cli(capsys, "pipeline", "--runs", str(path), "--target-params", str(SIZES[-2]),
                          "--target-steps", str(STEPS[2]), "--route", "nested", "--law", "ye-exp", "--json")
    assert code == 0, err
    doc = json.loads(out)["pipeline"]
    cli = np.array([[m["predicted"][d] for d in DOMAINS] for m in doc["mixtures"]])
    assert_allclose(cli, inside.target_losses, rtol=1e-12)


@pytest.mark.parametrize("route,law", [("nested", "ye-exp"), ("direct", "ye-exp"), ("direct", "ye-pow"),
                                      ("direct", "dz-eq3-safe")])
def test_save_load_round_trip_gives_identical_predictions(tmp_path, route: str, law: str) -> None:  # type: ignore[no-untyped-def]
    tab = _with_tokens(world(n_mix=10))
    res = fit_pipeline(tab, target_params=N_STAR, target_steps=S_STAR, route=route, law=law)
    path = tmp_path / "p.json"
    save_pipeline(res, path)
    back = load_pipeline(path)
    assert (back.route, back.law, back.domains, back.targets) == (res.route, res.law, res.domains, res.targets)
    np.testing.assert_array_equal(back.target_losses, res.target_losses)
    np.testing.assert_array_equal(back.predict(PROBE), res.predict(PROBE))
    for kw in ({"params": 3e7, "steps": 1500.0}, {"params": 2e8, "tokens": 2048 * 3e4}):
        np.testing.assert_array_equal(back.predict(PROBE, **kw), res.predict(PROBE, **kw))
    assert back.frame().equals(res.frame())
    assert str(back).splitlines()[0] == str(res).splitlines()[0]


def load_error(tmp_path, good: dict, edit) -> str:  # type: ignore[no-untyped-def]
    """The one-line InputError of load_pipeline on the saved document ``good`` changed by ``edit``, which names the
    file (shared with test_pipeline_loaded_intervals)."""
    doc = json.loads(json.dumps(good))
    edit(doc)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(InputError) as exc:
        load_pipeline(p)
    msg = str(exc.value)
    assert msg.startswith(str(p)) and "\n" not in msg
    return msg


def test_a_bad_pipeline_file_is_one_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    res = fit_pipeline(world(n_mix=8), target_params=N_STAR, target_steps=S_STAR, **NESTED)
    path = tmp_path / "p.json"
    save_pipeline(res, path)
    good = json.loads(path.read_text())
    assert good["format"] == "mixlaw-pipeline" and good["schema_version"] == 1

    def broken(edit) -> str:  # type: ignore[no-untyped-def]
        return load_error(tmp_path, good, edit)

    assert "schema_version 99" in broken(lambda d: d.update(schema_version=99))
    assert "not a saved mixlaw pipeline" in broken(lambda d: d.update(format="something"))
    assert "route" in broken(lambda d: d["result"].update(route="sideways"))
    assert "state.target_losses" in broken(lambda d: d["state"].update(target_losses=[[1.0, 2.0]]))
    assert "state.mixtures" in broken(lambda d: d["state"].update(mixtures="__import__('os')"))
    assert "target_params" in broken(lambda d: d["result"].update(target_params=-3))
    assert "step_laws" in broken(lambda d: d["state"]["scales"].update(step_laws=[[1, 2, 3]]))
    assert "seed" in broken(lambda d: d["state"]["scales"].update(seed=0.5))
    assert "law_options" in broken(lambda d: d["state"]["scales"].update(law_options=[]))
    assert "law 'ye-exp' has no option 'evil'; its options: loss" in broken(
        lambda d: d["state"]["scales"]["law_options"].update(evil=1))
    assert "mixing_law" in broken(lambda d: d["result"]["mixing_law"].update(law="no-such-law"))
    assert "state.smallest_fitted: expected two positive numbers" in broken(
        lambda d: d["state"].update(smallest_fitted=[-1.0, 250.0]))
    # a 400-digit integer literal: TypeError from np.isfinite / OverflowError from np.array before (hunt25)
    assert "target_params" in broken(lambda d: d["result"].update(target_params=10**400))
    assert "state.mixtures" in broken(lambda d: d["state"]["mixtures"][0].__setitem__(0, 10**400))
    p = tmp_path / "junk.json"
    p.write_text("{not json")
    with pytest.raises(InputError, match="not a JSON file"):
        load_pipeline(p)
    with pytest.raises(InputError, match="no such file"):
        load_pipeline(tmp_path / "missing.json")


def test_a_saved_pipeline_without_its_target_along_the_time_axis_is_one_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # hunt28: result.target_steps edited to null in a pipeline fitted over steps (target_tokens in one over tokens)
    # loaded, predicted at the target, then `predict --pipeline --params N` stopped on a TypeError traceback from
    # np.log(None) (pipeline/joint.py), and steps-to-match went missing without a word.
    tab = world(n_mix=8)
    for time_axis, kw, table in (("step", {"target_steps": S_STAR}, tab),
                                 ("tokens", {"target_tokens": S_STAR * 2048}, _with_tokens(tab))):
        res = fit_pipeline(table, target_params=N_STAR, **kw, **NESTED)
        path = tmp_path / f"p_{time_axis}.json"
        save_pipeline(res, path)
        good = json.loads(path.read_text())
        key = "target_steps" if time_axis == "step" else "target_tokens"
        for bad in (None, "x"):
            msg = load_error(tmp_path, good, lambda d, bad=bad, key=key: d["result"].update({key: bad}))
            assert f"result.{key}" in msg and time_axis in msg, msg
        msg = load_error(tmp_path, good, lambda d, key=key: d["result"].pop(key))
        assert f"missing field '{key}'" in msg, msg


def test_a_folder_given_as_a_saved_pipeline_or_a_column_map_is_named_a_folder(capsys, tmp_path) -> None:
    # hunt26: 'predict/optimize/report --pipeline DIR' and 'runs import --columns DIR.yaml' said "no such file" of a
    # folder that is there.
    folder = tmp_path / "p.json"
    folder.mkdir()
    with pytest.raises(InputError, match=r"p\.json: is a folder; expected a saved pipeline"):
        load_pipeline(folder)
    for argv in (["predict", "--pipeline", str(folder), "--mixtures", "a=1"], ["optimize", "--pipeline", str(folder)],
                 ["report", "--pipeline", str(folder), "--out", str(tmp_path / "r.html")]):
        code, _, err = _cli(capsys, *argv)
        assert code == 2 and "is a folder; expected a saved pipeline" in err, (argv, err)
    runs = tmp_path / "runs.csv"
    runs.write_text("run,w:a,w:b,loss:a\nr1,0.5,0.5,2.0\n")
    code, _, err = _cli(capsys, "runs", "import", str(runs), "--columns", str(folder), "--out",
                        str(tmp_path / "out.csv"))
    assert code == 2 and "is a folder; expected a YAML (or JSON) column map file" in err, err


def test_rows_are_labelled_by_mixture_not_by_a_run_name() -> None:
    res = fit_pipeline(world(n_mix=6), target_params=N_STAR, target_steps=S_STAR, **NESTED)
    frame = res.frame()
    assert "run" not in frame.columns and frame.columns[0] == "mixture"
    w = res.mixtures[0]
    assert frame["mixture"][0] == ",".join(f"{d}={v:.4g}" for d, v in zip(DOMAINS, w, strict=True))
    doc = res.to_dict()["mixtures"][0]
    assert doc["mixture"] == frame["mixture"][0] and doc["first_run"] == res.mixture_runs[0]



def test_predict_labels_the_pipelines_own_out_file_by_its_mixture_column(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # 'mixlaw predict --pipeline p.json --mixtures out.csv' of 'mixlaw pipeline --out out.csv' labelled its rows
    # 1..6: the file has no run column, and its mixture column was dropped. Now predict's run column is the file's
    # mixture, so the predictions join back on it (and a table without one still gets row numbers).
    path = tmp_path / "sweep.csv"
    world(n_mix=6).frame.to_csv(path, index=False)
    out, saved = tmp_path / "out.csv", tmp_path / "p.json"
    code, _, err = _cli(capsys, "pipeline", "--runs", str(path), "--target-params", str(N_STAR), "--target-steps",
                        str(S_STAR), "--route", "nested", "--law", "ye-exp", "--out", str(out), "--save", str(saved))
    assert code == 0, err
    import pandas as pd

    mixtures = pd.read_csv(out)["mixture"].tolist()
    law = tmp_path / "law.json"
    code, _, err = _cli(capsys, "fit", "--runs", str(path), "--law", "linear", "--out", str(law))
    assert code == 0, err
    for law_or_pipeline in (["--pipeline", str(saved)], ["--law", str(law)]):
        code, text, err = _cli(capsys, "predict", *law_or_pipeline, "--mixtures", str(out), "--json")
        assert code == 0, err
        assert [r["run"] for r in json.loads(text)["predictions"]] == mixtures  # before: ['1', ..., '6']
    res = load_pipeline(saved)
    from mixlaw.api import predict_pipeline_table

    assert predict_pipeline_table(res, res.frame())["run"].tolist() == mixtures
    assert predict_pipeline_table(res, res.frame().drop(columns="mixture"))["run"].tolist() == \
        [str(i + 1) for i in range(6)]

def test_printed_rows_say_they_are_not_what_predict_returns() -> None:
    """The nested route prints each mixture's stage-2 value; predict() (and `mixlaw predict --pipeline`) reads
    the mixing law fitted to them. On Dai & Zheng's SlimPajama one mixture printed 1.6036 and predicted 1.6191 at
    the same scale with no word on why: the table now says what its rows are and how far the law is from them."""
    res = fit_pipeline(world(n_mix=8, noise=0.01), target_params=N_STAR, target_steps=S_STAR, **NESTED)
    rel = np.abs(res.predict(res.mixtures) / res.target_losses - 1)
    assert rel.max() > 1e-4  # they do differ
    mix = res.stages["mixture"]
    assert rel.max() == pytest.approx(mix.max_rel_residual, rel=1e-6)
    text = str(res)
    assert (f"`mixlaw predict --pipeline`, predict() and the optimum use the {res.law} law fitted to these rows, "
            f"which differs from them by the mixture stage's residuals: median {mix.median_rel_residual:.2%}, "
            f"max {mix.max_rel_residual:.2%})") in text
    assert "(each mixture's own step and size laws at the target;" in text
    # A one-size (steps-only) or one-step (sizes-only) table has no size or no step law: the note named both.
    from .test_pipeline_sizes_only import one_step
    from .test_pipeline_steps_only import S_TARGET, one_size

    steps = str(fit_pipeline(one_size(n_mix=8), target_steps=S_TARGET, route="nested", law="ye-exp"))
    sizes = str(fit_pipeline(one_step(n_mix=8), target_params=1e9, route="nested", law="ye-exp"))
    assert "(each mixture's own step law at the target;" in steps
    assert "(each mixture's own size law at the target;" in sizes


# ---------------------------------------------------------------------- item 7: pipeline papercuts
def test_direct_route_with_a_law_that_takes_no_model_size_refuses_in_one_line(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="additive-ens.*--route nested"):
        fit_pipeline(world(n_mix=8), target_params=N_STAR, target_steps=S_STAR, route="direct", law="additive-ens")
    path = tmp_path / "sweep.csv"
    world(n_mix=8).frame.to_csv(path, index=False)
    code, _, err = _cli(capsys, "pipeline", "--runs", str(path), "--target-params", "1e9", "--target-steps", "1e5",
                        "--route", "direct", "--law", "additive-ens")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "additive-ens" in err


def test_mixtures_at_fewer_than_3_sizes_are_dropped_before_the_step_fits() -> None:
    tab = world(n_mix=8)
    frame = tab.frame
    # Mixture m7 ran at 2 sizes only: its 2 curves must not be fitted (nor counted) in the step stage.
    frame = frame[~((frame["run"].str.startswith("m7-")) & (frame["params"] >= SIZES[2]))]
    with pytest.warns(Warning, match="1 mixture"):
        res = fit_pipeline(RunTable(frame), target_params=N_STAR, target_steps=S_STAR, **NESTED)
    assert res.stages["step"].n_fits == 7 * 4 * 3
    assert not any(f["label"].startswith("m7-") for f in res.stages["step"].fits)
    assert len(res.mixtures) == 7 and any("fewer than 3 sizes" in w for w in res.warnings)


def test_the_only_curve_at_a_size_gets_its_own_step_law() -> None:
    # hunt28: a largest size trained on one mixture only (5 checkpoints) was skipped under the default shared
    # exponents, "(N=8e+07: < 4 checkpoints, no other curve to share beta with)": its data left unused, and the
    # reason untrue. Alone at its size it shares beta with itself: its own step law, as with 4+ checkpoints.
    frame = world(n_mix=8).frame
    frame = frame[(frame["params"] < SIZES[-1]) | frame["run"].str.startswith("m0-")]
    res = fit_pipeline(RunTable(frame), target_params=N_STAR, target_steps=S_STAR, **NESTED)
    assert not any("skipped" in w for w in res.warnings), res.warnings
    assert res.stages["step"].n_fits == (8 * 3 + 1) * 3
    assert any(f["label"].startswith(f"m0-N{SIZES[-1]:g} N={SIZES[-1]:g}") for f in res.stages["step"].fits)
    assert_allclose(res.target_losses, truth(res.mixtures, N_STAR, S_STAR), rtol=3e-3)
    # With 3 checkpoints it cannot: skipped, and the line says how many it has.
    short = frame[(frame["params"] < SIZES[-1]) | (frame["step"] <= STEPS[2])]
    res = fit_pipeline(RunTable(short), target_params=N_STAR, target_steps=S_STAR, **NESTED)
    assert any(f"(N={SIZES[-1]:g}: 3 checkpoints, the only curve at this size" in w for w in res.warnings), \
        res.warnings


def test_stage_warnings_are_listed_not_just_counted() -> None:
    # One mixture's smallest model 3x worse: its size law drops steeply then flattens, alpha ends on its bound.
    tab = world(n_mix=8)
    frame = tab.frame.copy()
    frame.loc[frame["run"].str.startswith("m2-") & (frame["params"] == SIZES[0]), "loss:web"] *= 3.0
    res = fit_pipeline(RunTable(frame), target_params=N_STAR, target_steps=S_STAR, **NESTED)
    n = res.stages["size"].n_warnings
    assert n > 0
    lines = [w for w in res.warnings if w.startswith("size stage:")]
    assert len(lines) == 1 and f"{n} warning" in lines[0]
    assert lines[0] in res.to_dict()["warnings"] and lines[0] in str(res)


def test_predict_and_interval_read_a_frame_of_mixtures_by_column_name() -> None:
    # np.asarray(frame) took a frame's columns by position: w:math, w:code, w:web predicted other mixtures.
    import pandas as pd

    res = fit_pipeline(world(n_mix=8), target_params=N_STAR, target_steps=S_STAR, intervals=True, n_jackknife=2,
                       **NESTED)
    frame = pd.DataFrame(PROBE[:, ::-1], columns=[f"w:{d}" for d in DOMAINS[::-1]])
    assert_allclose(res.predict(frame), res.predict(PROBE), rtol=1e-12)
    assert_allclose(res.predict(frame.set_axis(DOMAINS[::-1], axis=1)), res.predict(PROBE), rtol=1e-12)
    lo, hi = res.interval(frame)
    assert_allclose(np.stack([lo, hi]), np.stack(res.interval(PROBE)), rtol=1e-12)
    with pytest.raises(InputError, match="not the law's domains"):
        res.predict(frame.set_axis(["a", "b", "c"], axis=1))
    # One mixture as {domain: share}, as optimize_mixture returns it.
    one = dict(zip(DOMAINS, PROBE[0], strict=True))
    assert_allclose(res.predict(one), res.predict(PROBE[:1]), rtol=1e-12)
    assert_allclose(np.stack(res.interval(one)), np.stack(res.interval(PROBE[:1])), rtol=1e-12)


@pytest.mark.parametrize("route", ["nested", "direct"])
def test_predict_below_the_smallest_fitted_size_or_step_warns(tmp_path, capsys, route: str) -> None:  # type: ignore[no-untyped-def]
    # hunt26: 'predict --pipeline p.json --params 5000' (fitted sizes 28368-233680) read the size law downward, where
    # no run measured it, without a word; above the fitted range (the target's side) is the pipeline's purpose.
    from mixlaw.errors import ExtrapolationWarning

    res = fit_pipeline(world(n_mix=8), target_params=N_STAR, target_steps=S_STAR, route=route)
    below_n = f"params=1e+06 (--params) is below the smallest fitted model size {SIZES[0]:g}: the size law is " \
              "extrapolated downward"
    below_s = f"steps=100 (--steps) is below the smallest fitted step {STEPS[0]:g}: the step law is extrapolated " \
              "downward"
    with pytest.warns(ExtrapolationWarning, match=re.escape(below_n)):
        res.predict(PROBE, params=1e6)
    with pytest.warns(ExtrapolationWarning, match=re.escape(below_s)):
        res.predict(PROBE, params=SIZES[1], steps=100.0)
    # Inside the fitted range and beyond it (the target's side): no such warning.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res.predict(PROBE, params=SIZES[0], steps=STEPS[0])
        res.predict(PROBE, params=2e8, steps=3e4)
    assert not [w for w in caught if "below the smallest fitted" in str(w.message)]
    # A saved pipeline keeps the smallest scales: the CLI says it once, as one warning line.
    path, mix = tmp_path / "p.json", tmp_path / "m.csv"
    save_pipeline(res, path)
    mix.write_text("w:web,w:code,w:math\n" + "\n".join(",".join(map(str, w)) for w in PROBE) + "\n")
    code, _, err = _cli(capsys, "predict", "--pipeline", str(path), "--mixtures", str(mix), "--params", "1e6")
    assert code == 0 and err.count(below_n) == 1, err


@pytest.mark.parametrize("route", ["nested", "direct"])
def test_the_smallest_fitted_step_is_the_one_fit_from_keeps(tmp_path, route: str) -> None:  # type: ignore[no-untyped-def]
    # fit_from=0.3 fits each curve's checkpoints from 0.3 x its last (steps 1000-3000 of 250-3000): the smallest
    # fitted step was read from the table given (250), and predict(steps=500) read the step law below its fits
    # without the warning (review27a).
    from mixlaw.errors import ExtrapolationWarning

    res = fit_pipeline(world(n_mix=8), target_params=N_STAR, target_steps=S_STAR, route=route, law="ye-exp",
                       fit_from=0.3, intervals=False)
    assert res.smallest_fitted[1] == 1000.0
    path = tmp_path / "p.json"
    save_pipeline(res, path)
    for r in (res, load_pipeline(path)):
        with pytest.warns(ExtrapolationWarning, match=re.escape("steps=500 (--steps) is below the smallest fitted "
                                                                "step 1000")):
            r.predict(PROBE, params=SIZES[1], steps=500.0)


def test_the_below_fitted_warning_names_the_tokens_the_user_gave() -> None:
    # A pipeline over steps with 2048 tokens per step, asked at tokens=204800: the warning read 'steps=100 (--steps)',
    # an option the user did not give (review27a).
    from mixlaw.errors import ExtrapolationWarning

    res = fit_pipeline(_with_tokens(world(n_mix=8)), target_params=N_STAR, target_steps=S_STAR, route="nested",
                       law="ye-exp", intervals=False)
    assert res.time_axis == "step" and res.tokens_per_step == 2048
    with pytest.warns(ExtrapolationWarning, match=re.escape("tokens=204800 (--tokens; step 100) is below the smallest "
                                                            f"fitted step {STEPS[0]:g}")):
        res.predict(PROBE, params=SIZES[1], tokens=100 * 2048)
    # The far-from-target warning names it the same way (it also read 'steps=... (--steps)').
    from mixlaw.errors import ScaleWarning

    with pytest.warns(ScaleWarning, match=re.escape(f"tokens={S_STAR * 2048 * 2000:g} (--tokens; step "
                                                    f"{S_STAR * 2000:g}) is 2e+03x the pipeline's target")):
        res.predict(PROBE, tokens=S_STAR * 2048 * 2000)
