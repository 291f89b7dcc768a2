"""A run table of final losses only (``params`` but neither ``step`` nor ``tokens``, RegMix's layout): the pipeline
reads every row as its run's last checkpoint and extrapolates in model size alone, saying so in one line, where it
used to stop with "the pipeline needs a 'step' or 'tokens' column"."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from cli_runner import run_cli as _cli
from numpy.testing import assert_allclose

from mixlaw.data import RunTable
from mixlaw.errors import DataWarning, InputError
from mixlaw.pipeline import fit_pipeline
from mixlaw.pipeline.fitting import FINAL_STEP

from .test_pipeline_sizes_only import N_TARGET, PROBE, S_ONE, SIZES5, one_step


def _without_step(table: RunTable) -> RunTable:
    return RunTable(table.frame.drop(columns=[c for c in ("step", "tokens") if c in table.frame]))


def test_final_losses_fit_as_the_same_table_at_one_step() -> None:
    with_step = one_step(noise=3e-3, sizes=SIZES5[:4], seed=2)
    with pytest.warns(DataWarning, match=r"no 'step' or 'tokens' column: every row is read as its run's final loss"):
        res = fit_pipeline(_without_step(with_step), target_params=N_TARGET)
    ref = fit_pipeline(with_step, target_params=N_TARGET)
    assert res.sizes_only and res.target_steps == FINAL_STEP
    assert (res.route, res.law) == (ref.route, ref.law)
    assert_allclose(res.target_losses, ref.target_losses, rtol=1e-10)
    assert_allclose(res.predict(PROBE), ref.predict(PROBE), rtol=1e-10)
    assert any("read as its run's final loss" in w for w in res.warnings)
    assert not any("final loss" in w for w in ref.warnings)  # a table with its step column is read as before


def test_a_target_step_without_a_step_column_is_still_an_error() -> None:
    table = _without_step(one_step(sizes=SIZES5[:4]))
    with pytest.raises(InputError, match=r"target_steps needs a 'step' column"):
        fit_pipeline(table, target_params=N_TARGET, target_steps=S_ONE)


def test_cli_fits_checks_backtests_and_draws_a_final_loss_table(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # 5 sizes of final losses, the largest held out: the check line compares it, --backtest and --report run.
    table = one_step(noise=3e-3, sizes=SIZES5, seed=2)
    path = tmp_path / "final.csv"
    table.frame.drop(columns=["step"]).to_csv(path, index=False)
    page = tmp_path / "page.html"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code, out, err = _cli(capsys, "pipeline", "--runs", str(path), "--fit-up-to", "8e7", "--target-params",
                              "1.6e8", "--backtest", "--report", str(page), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert any("read as its run's final loss" in w for w in doc["pipeline"]["warnings"])
    check = doc["target_check"]
    assert check is not None and check["n_mixtures"] == 10
    assert check["mre"] < 0.01
    assert page.stat().st_size > 0
    assert np.isfinite(doc["pipeline"]["target_steps"])


def test_backtest_reads_a_final_loss_table_as_the_fit_does() -> None:
    # backtest_pipeline (public, as the CLI's --backtest) stopped with "the backtest needs a 'step' column" on the
    # table that fit_pipeline had just fitted; it reads it as one checkpoint per run, as the fit and the CLI do.
    from mixlaw.pipeline import backtest_pipeline

    with_step = one_step(noise=3e-3, sizes=SIZES5, seed=2)
    table = _without_step(with_step)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_pipeline(table, target_params=N_TARGET)
        kw = dict(route=res.route, law=res.law.removeprefix("joint+"), target_params=N_TARGET)
        got = backtest_pipeline(table, target_time=res.target_steps, **kw)
        ref = backtest_pipeline(with_step, target_time=S_ONE, **kw)
    assert [b.kind for b in got] == [b.kind for b in ref]
    size = next(b for b in got if b.kind == "size")
    assert size.skipped is None and size.n > 0
    assert_allclose([b.mre for b in got], [b.mre for b in ref], rtol=1e-10)


def test_an_error_about_the_scales_says_where_s_1_comes_from(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # One size of final losses: the refusal read "the runs at S = 1 (sizes only) have 1 model size(s)", a step the
    # table never had, and the warning that explains it is not printed under an error.
    table = one_step(sizes=SIZES5[:1])
    path = tmp_path / "one.csv"
    table.frame.drop(columns=["step"]).to_csv(path, index=False)
    code, _, err = _cli(capsys, "pipeline", "--runs", str(path), "--target-params", str(N_TARGET))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "needs 3 model sizes" in err and err.strip().endswith(
        "(S = 1: the table has no 'step' or 'tokens' column, so each row was read as its run's final loss, all at "
        "one step)")
    with pytest.raises(InputError) as with_step:  # the same table with its step column: no such note
        fit_pipeline(table, target_params=N_TARGET)
    assert "no 'step' or 'tokens' column" not in str(with_step.value)


def test_the_pipeline_backtest_and_bootstrap_take_a_dataframe_as_law_fit_does() -> None:
    # law.fit reads a DataFrame in the run table's columns; fit_pipeline, backtest_pipeline and bootstrap_law
    # refused one ("needs a RunTable; got DataFrame"), so pd.read_csv(...) went straight into one and not the others.
    from mixlaw import bootstrap_law
    from mixlaw.errors import DataError
    from mixlaw.pipeline import backtest_pipeline

    table = one_step(noise=3e-3, sizes=SIZES5[:4], seed=2)
    frame = table.frame.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_pipeline(frame, target_params=N_TARGET)
        ref = fit_pipeline(table, target_params=N_TARGET)
        assert_allclose(res.target_losses, ref.target_losses, rtol=1e-12)
        tests = backtest_pipeline(frame, route="nested", law="ye-exp")
        assert [t.kind for t in tests] == [t.kind for t in backtest_pipeline(table, route="nested", law="ye-exp")]
        boot = bootstrap_law("linear", frame[frame["params"] == SIZES5[0]].reset_index(drop=True), n=4, n_jobs=1)
        assert boot is not None
    bad = frame.assign(**{frame.columns[frame.columns.str.startswith("w:")][0]: -0.5})
    with pytest.raises(DataError):
        fit_pipeline(bad, target_params=N_TARGET)


def test_the_headline_says_each_run_s_end_and_a_saved_file_keeps_it(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The stand-in step read "S* = 1 steps" in the headline and the page; the result now knows it was fitted on
    # final losses, and so does the file it is saved to (the page drawn from it without the runs too).
    from mixlaw.pipeline import load_pipeline, save_pipeline

    table = one_step(noise=3e-3, sizes=SIZES5[:4], seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_pipeline(_without_step(table), target_params=N_TARGET, route="nested", law="ye-exp")
        ref = fit_pipeline(table, target_params=N_TARGET, route="nested", law="ye-exp")
    assert res.final_losses and not ref.final_losses
    assert "S* = each run's end (the table has no step column)" in res.headline() and "S* = 1 " not in str(res)
    assert f"S* = {S_ONE:g} steps" in ref.headline()
    path = tmp_path / "p.json"
    save_pipeline(res, path)
    assert load_pipeline(path).final_losses
    page = tmp_path / "page.html"
    code, _, err = _cli(capsys, "report", "--pipeline", str(path), "--out", str(page))
    assert code == 0, err
    assert "each run&#x27;s end" in page.read_text(encoding="utf-8")
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["result"]["final_losses"] = "yes"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InputError, match=r"result\.final_losses: expected true or false"):
        load_pipeline(path)
