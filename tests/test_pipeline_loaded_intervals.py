"""A pipeline read back by load_pipeline carries its file's prediction intervals (issue 9, the gap left after item
4): ``load_pipeline(p).intervals`` is a PredictionIntervals and ``.interval(W)`` / ``.interval(W, params=, steps=)``
give what the fitted pipeline and ``mixlaw predict --pipeline`` give, instead of None."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_runner import run_cli as _cli
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import norm

from mixlaw.data import SAME_MIXTURE_ATOL, SAME_MIXTURE_RTOL
from mixlaw.errors import InputError
from mixlaw.pipeline import (
    PredictionIntervals,
    fit_pipeline,
    load_pipeline,
    optimize_pipeline,
    save_pipeline,
    saved_intervals,
    saved_intervals_at,
)

from .test_pipeline import N_STAR, S_STAR, _with_tokens, world
from .test_pipeline_predict import load_error

NEW = np.array([[0.4, 0.35, 0.25], [0.2, 0.2, 0.6]])  # not among the pipeline's mixtures
SCALES = ({"params": 4e7, "steps": 2000.0}, {"params": 5e9, "steps": 1e6})  # inside the runs; beyond the target


def _fit(route: str, law: str):  # type: ignore[no-untyped-def]
    # 0.3 % noise: nonzero backtest residuals; the backtest (fixed route, intervals=True) and 4 jackknife refits.
    return fit_pipeline(_with_tokens(world(noise=3e-3, n_mix=8)), target_params=N_STAR, target_steps=S_STAR,
                        route=route, law=law, intervals=True, n_jackknife=4)


@pytest.fixture(scope="module")
def nested():  # type: ignore[no-untyped-def]
    return _fit("nested", "ye-exp")


@pytest.fixture(scope="module", params=[("nested", "ye-exp"), ("direct", "ye-exp"), ("direct", "dz-eq3-safe")],
                ids=lambda p: "-".join(p))
def fitted(request):  # type: ignore[no-untyped-def]
    # The nested ye-exp pipeline is the `nested` fixture's fit (same seeded call; both only read): made once.
    if request.param == ("nested", "ye-exp"):
        return request.getfixturevalue("nested")
    return _fit(*request.param)


def _saved(tmp_path, res):  # type: ignore[no-untyped-def]
    path = tmp_path / "p.json"
    save_pipeline(res, path)
    return path, load_pipeline(path)


def test_a_loaded_pipeline_gives_the_fitted_intervals(tmp_path, fitted) -> None:  # type: ignore[no-untyped-def]
    path, back = _saved(tmp_path, fitted)
    iv = back.intervals
    assert isinstance(iv, PredictionIntervals) and iv.from_file and not fitted.intervals.from_file
    # What was saved, as saved (the frame pipeline prints, lo/hi included).
    assert_array_equal(iv.lower, fitted.intervals.lower)
    assert_array_equal(iv.upper, fitted.intervals.upper)
    assert back.frame().equals(fitted.frame()) and "lo80:web" in back.frame()
    assert iv.n_boot == len(iv.boot_scales) == 4 and iv.contains == fitted.intervals.contains
    assert [kw for _, kw in iv.boot_laws] == [kw for _, kw in fitted.intervals.boot_laws]
    if fitted.law != "dz-eq3-safe":  # (fitted across token counts, it has no optimum without one)
        # The refits' laws at the target, as fitted: the optimum's improvement interval too (None before).
        got, want = optimize_pipeline(back).improvement_interval, optimize_pipeline(fitted).improvement_interval
        assert got is not None and want is not None
        assert_allclose([got["lower"], got["upper"]], [want["lower"], want["upper"]], rtol=1e-9)
    W = np.vstack([fitted.mixtures, NEW])
    # At another scale: the same rule from the saved residuals and refits, the same numbers for any mixture.
    for scale in SCALES:
        lo, hi = back.interval(W, **scale)
        want = fitted.interval(W, **scale)
        assert_allclose(lo, want[0], rtol=1e-12)
        assert_allclose(hi, want[1], rtol=1e-12)
        got = saved_intervals_at(path, back, W, back.predict(W, **scale), scale["params"], scale["steps"])
        assert not isinstance(got, str)
        assert_allclose(got[0], lo, rtol=1e-12)
        assert_allclose(got[1], hi, rtol=1e-12)
    # At the target, a saved mixture keeps its saved relative half-width (the jackknife part around the target
    # losses it was saved with; on the direct route those are the law's own predictions, so it is the fitted
    # interval itself), and a new one the saved refits' spread at it: the fitted interval
    # (test_a_new_mixture_at_the_target_gets_the_saved_refits_spread).
    lo, hi = back.interval(fitted.mixtures)
    pred = back.predict(fitted.mixtures)
    assert_allclose(hi / pred - 1, fitted.intervals.upper / fitted.target_losses - 1, rtol=1e-12)
    assert_allclose(1 - lo / pred, 1 - fitted.intervals.lower / fitted.target_losses, rtol=1e-12)
    if fitted.route == "direct":
        assert_allclose(lo, fitted.interval(fitted.mixtures)[0], rtol=1e-12)
        assert_allclose(hi, fitted.interval(fitted.mixtures)[1], rtol=1e-12)
    lo, hi = back.interval(NEW)
    flo, fhi = fitted.interval(NEW)
    assert np.all(hi - lo >= fhi - flo - 1e-12)


def test_a_new_mixture_at_the_target_gets_the_saved_refits_spread(tmp_path, fitted) -> None:  # type: ignore[no-untyped-def]
    # A file that keeps the jackknife refits (state.jackknife: every backtest file since 2026-12-04) gives a
    # mixture that is not the pipeline's own the refits' spread at it, as the fitted pipeline does; it gave the
    # largest saved spread of each eval, as for a file without them, and said the refits were not saved.
    path, back = _saved(tmp_path, fitted)
    for got, want in zip(back.interval(NEW), fitted.interval(NEW), strict=True):
        assert_allclose(got, want, rtol=1e-10)
    assert back.intervals.refits_kept and fitted.intervals.refits_kept
    # Mixed with the pipeline's own mixtures: those keep their saved rows, the new ones the fitted intervals.
    W = np.vstack([NEW[:1], fitted.mixtures[::-1], NEW[1:]])
    lo, hi = back.interval(W)
    pred = back.predict(W)
    own = fitted.intervals.upper[::-1] / fitted.target_losses[::-1] - 1
    assert_allclose(hi[1:-1] / pred[1:-1] - 1, own, rtol=1e-12)
    flo, fhi = fitted.interval(NEW)
    assert_allclose(lo[[0, -1]], flo, rtol=1e-10)
    assert_allclose(hi[[0, -1]], fhi, rtol=1e-10)
    how = back.intervals.describe_at(W, back.targets)
    assert "2 mixture(s) not among the pipeline's own get the spread of the 4 saved jackknife refits'" in how
    assert "not saved" not in how and "largest" not in how
    assert "not among" not in back.intervals.describe_at(fitted.mixtures, back.targets)


def test_the_line_counts_mixtures_not_rows_of_a_run_table(tmp_path, fitted) -> None:  # type: ignore[no-untyped-def]
    # A run table passed as the mixtures file repeats each mixture at every size and checkpoint: 6 rows of 2 new
    # mixtures were "6 mixture(s) not among the pipeline's own" (447 for 21 in a user's Dai & Zheng table).
    _, back = _saved(tmp_path, fitted)
    W = np.vstack([NEW, NEW, NEW, fitted.mixtures])
    how = back.intervals.describe_at(W, back.targets)
    assert "(6 row(s) of 2 mixture(s) not among the pipeline's own get" in how


def test_an_own_mixture_a_rounding_edge_away_is_still_own(tmp_path, nested) -> None:  # type: ignore[no-untyped-def]
    # A mixture read back from a CSV and renormalised moves by ~1e-9; matched by rounding to 9 decimals, a share
    # that crossed a rounding edge made the pipeline's own mixture "new" (it got the refits' spread and the line
    # counted it as not among the pipeline's own).
    _, back = _saved(tmp_path, nested)
    M = nested.mixtures
    edge = (np.round(M[:, 0] * 1e9) + 0.5) / 1e9 + 1e-12  # just past the rounding edge nearest each first share
    W = M.copy()
    W[:, 0], W[:, -1] = edge, W[:, -1] - (edge - M[:, 0])
    assert np.max(np.abs(W - M)) < 2e-9 and not np.array_equal(np.round(W, 9), np.round(M, 9))
    assert "not among" not in back.intervals.describe_at(W, back.targets)
    lo, hi = back.interval(W)
    assert_allclose(hi / back.predict(W) - 1, nested.intervals.upper / nested.target_losses - 1, rtol=1e-6)


def test_own_mixtures_are_those_within_the_tolerance_in_every_share() -> None:
    # Many candidates (a large --mixtures file) against many saved mixtures: a saved mixture's size-law row for a
    # candidate within the merge's tolerance of it in every share (SAME_MIXTURE_ATOL + SAME_MIXTURE_RTOL x the
    # larger share, as merge_near_mixtures), the largest of each target for any other (one share just past the
    # tolerance, a row with NaN, a candidate of another width).
    rng = np.random.default_rng(0)
    M = rng.dirichlet(np.ones(5), 300)
    per = rng.uniform(0.01, 0.02, (300, 2))
    iv = PredictionIntervals(0.8, per, per, np.full(2, np.nan), 1.0, per, 0, 0, "", n_mixtures=300, size_law=per,
                             mixtures=M, from_file=True)
    own = rng.choice(300, 2000)
    W = M[own] + rng.uniform(-1, 1, (2000, 5)) * SAME_MIXTURE_ATOL
    shift = np.zeros(2000)
    tol = SAME_MIXTURE_ATOL + SAME_MIXTURE_RTOL * M[own[1::2], 0]
    up = rng.random(1000) < 0.5  # up: the candidate's share is the larger one, which the relative part scales
    shift[1::2] = np.where(up, tol / (1 - SAME_MIXTURE_RTOL), -tol) * (1 + 1e-6)
    W[:, 0] = M[own, 0] + shift  # every other row one share just past the tolerance
    W[5, 2] = np.nan
    want = np.where(((shift == 0) & (np.arange(2000) != 5))[:, None], per[own], per.max(axis=0))
    assert_array_equal(iv.size_law_at(W), want)
    assert_array_equal(iv.size_law_at(W[:, :4]), np.broadcast_to(per.max(axis=0), (2000, 2)))


def test_the_target_rule_without_saved_refits(tmp_path, nested) -> None:  # type: ignore[no-untyped-def]
    # A file without the refits (saved before they were kept): the rule saved_intervals (and predict --pipeline)
    # applied to every file before, written out from the JSON here: max(q_ext, z sigma) with each saved mixture's
    # own sigma, any other mixture the largest of each eval.
    res = nested
    path, _ = _saved(tmp_path, res)
    doc = json.loads(path.read_text())
    doc["state"].pop("jackknife")
    path.write_text(json.dumps(doc))
    back = load_pipeline(path)
    assert back.intervals.boot_laws == []
    doc = doc["result"]["intervals"]
    q, sigma = np.array(doc["extrapolation"]), np.array(doc["boot_sigma"])
    W = np.vstack([NEW[:1], res.mixtures[::-1], NEW[1:]])
    rows = np.vstack([sigma.max(axis=0), sigma[::-1], sigma.max(axis=0)])
    h = np.maximum(q, norm.ppf(0.9) * rows)
    pred = back.predict(W)
    lo, hi = back.interval(W)
    assert_allclose(hi, pred * (1 + h), rtol=1e-12)
    assert_allclose(lo, pred * (1 - h), rtol=1e-12)
    got = saved_intervals(path, back, W, pred)
    assert got is not None and got[2] == 0.8
    assert_allclose(got[0], lo, rtol=1e-12)
    assert_allclose(got[1], hi, rtol=1e-12)
    assert got[3] == back.intervals.describe_at(W, back.targets)
    assert "2 mixture(s) not among the pipeline's own get the largest saved spread of each eval: the jackknife " \
           "refits are not saved" in got[3]


def test_save_load_save_keeps_the_intervals_block(tmp_path, nested) -> None:  # type: ignore[no-untyped-def]
    res = nested
    path, back = _saved(tmp_path, res)
    again = tmp_path / "again.json"
    save_pipeline(back, again)
    first, second = json.loads(path.read_text()), json.loads(again.read_text())
    assert second["result"]["intervals"] == first["result"]["intervals"]
    assert second["state"]["jackknife"] == first["state"]["jackknife"]
    # No backtest (one size, curves of 3 checkpoints: steps only): the step-law term travels too.
    steps = fit_pipeline(world(noise=3e-3, n_mix=8, sizes=[4e7], steps=[500, 1000, 3000]), target_steps=1e4,
                         route="nested", law="ye-exp", intervals=True)
    path, back = _saved(tmp_path, steps)
    save_pipeline(back, again)
    first, second = json.loads(path.read_text()), json.loads(again.read_text())
    assert first["result"]["intervals"]["step_law"] is not None and "jackknife" not in second["state"]
    assert second["result"]["intervals"] == first["result"]["intervals"]
    assert_allclose(back.intervals.step_law, steps.intervals.step_law, rtol=0)
    with pytest.raises(InputError, match="without a backtest"):
        back.interval(steps.mixtures, steps=2e4)
    assert back.interval(NEW) is not None


def test_older_files_and_files_without_intervals(tmp_path, capsys, nested) -> None:  # type: ignore[no-untyped-def]
    res = nested
    path, back = _saved(tmp_path, res)
    good = json.loads(path.read_text())
    W = np.vstack([res.mixtures, NEW])

    def load(edit):  # type: ignore[no-untyped-def]
        doc = json.loads(json.dumps(good))
        edit(doc)
        p = tmp_path / "edited.json"
        p.write_text(json.dumps(doc))
        return p, load_pipeline(p)

    # Fitted without intervals (null), or saved before intervals existed (no key): none, and predict says so.
    for edit in (lambda d: d["result"].update(intervals=None), lambda d: d["result"].pop("intervals")):
        p, old = load(edit)
        assert old.intervals is None and old.interval(W) is None and old.interval(W, params=4e7) is None
        code, out, err = _cli(capsys, "predict", "--pipeline", str(p), "--mixtures", "web=0.4,code=0.35,math=0.25",
                              "--params", "4e7")
        assert code == 0 and "holds none (fitted without a backtest)" in err and "lo80" not in out

    def before_residuals(d):  # type: ignore[no-untyped-def]
        d["state"].pop("jackknife")
        for key in ("residuals", "backtest_distance", "edge", "contains", "size_law", "step_law", "noise"):
            d["result"]["intervals"].pop(key)

    # Saved before the refits were kept, or before the residuals (and noise, contains) were: the partial object,
    # the same target intervals for the pipeline's own mixtures (a new one: the largest saved spread,
    # test_the_target_rule_without_saved_refits), and one line at another scale.
    for edit in (lambda d: d["state"].pop("jackknife"), before_residuals):
        p, old = load(edit)
        assert old.intervals is not None and old.intervals.boot_scales == old.intervals.boot_laws == []
        for got, want in zip(old.interval(res.mixtures), back.interval(res.mixtures), strict=True):
            assert_allclose(got, want, rtol=1e-12)
        with pytest.raises(InputError, match="saved by an older mixlaw"):
            old.interval(W, params=4e7, steps=2000.0)
        # Saved again, it stays what it was (not a file whose missing refits read as none made).
        save_pipeline(old, tmp_path / "resaved.json")
        assert "jackknife" not in json.loads((tmp_path / "resaved.json").read_text())["state"]
        assert load_pipeline(tmp_path / "resaved.json").intervals.why_not_at_scale() == \
            old.intervals.why_not_at_scale()


def test_a_damaged_intervals_block_is_one_error_at_load_time(tmp_path, nested) -> None:  # type: ignore[no-untyped-def]
    res = nested
    path, _ = _saved(tmp_path, res)
    good = json.loads(path.read_text())

    def broken(edit) -> str:  # type: ignore[no-untyped-def]
        return load_error(tmp_path, good, edit)

    iv = lambda d: d["result"]["intervals"]  # noqa: E731
    assert "result.intervals.boot_sigma" in broken(lambda d: iv(d).update(boot_sigma="x"))
    assert "result.intervals.level" in broken(lambda d: iv(d).update(level=3))
    assert "result.intervals.lower" in broken(lambda d: iv(d).update(lower=[[1.0]]))
    assert "result.intervals.edge" in broken(lambda d: iv(d).update(edge=[-1, 2]))
    assert "result.intervals.contains" in broken(lambda d: iv(d).update(contains=7))
    assert "result.intervals.n_boot" in broken(lambda d: iv(d).update(n_boot=-1))
    assert "result.intervals: expected an object" in broken(lambda d: d["result"].update(intervals=[1, 2]))
    assert "state.jackknife[0]: expected an object; got int" in broken(
        lambda d: d["state"]["jackknife"].__setitem__(0, 7))
    assert "state.jackknife: expected a list of the 4 refits" in broken(lambda d: d["state"]["jackknife"].pop())


def test_a_saved_checkpoint_noise_out_of_range_is_one_error_at_load_time(tmp_path, nested) -> None:  # type: ignore[no-untyped-def]
    # hunt28: result.intervals.noise edited to 1e308 loaded, then `predict --pipeline --params N` stopped on an
    # OverflowError traceback (noise ** 2 in pipeline/conformal.py); a negative one was read as its absolute value.
    path, _ = _saved(tmp_path, nested)
    good = json.loads(path.read_text())
    assert 0 < good["result"]["intervals"]["noise"] < 0.1
    for bad in (1e308, -0.01):
        msg = load_error(tmp_path, good, lambda d, bad=bad: d["result"]["intervals"].update(noise=bad))
        assert "result.intervals.noise" in msg, msg
