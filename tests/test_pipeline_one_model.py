"""A table of one model's checkpoints with no ``params`` column (a fine-tuning sweep of one model: Chen et al.'s
LoRA runs of one 8B model, github.com/chenzhiliang94/Data-Mixing) extrapolates in steps alone, as the same table with
a constant ``params`` column does; and ``pipeline --out`` names each mixture's first run, to join its predictions
back to runs measured at the target."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from cli_runner import run_cli as _cli
from numpy.testing import assert_allclose

from mixlaw.data import RunTable
from mixlaw.errors import DataWarning, InputError
from mixlaw.pipeline import backtest_pipeline, fit_pipeline

from .test_pipeline_steps_only import N_ONE, S_TARGET, one_size


def _no_params(n_mix: int = 8) -> tuple[RunTable, RunTable]:
    tab = one_size(n_mix=n_mix)
    return tab, RunTable(tab.frame.drop(columns="params"))


@pytest.mark.parametrize("route", ["nested", "direct"])
def test_one_models_checkpoints_without_params_extrapolate_in_steps_as_with_them(route: str) -> None:
    # It stopped at "the pipeline needs a 'params' column (the model size of each row)": a size the user had to
    # make up. Read as one size (N = 1), the fit is the one with the column, to the size's name.
    with_col, without = _no_params()
    ref = fit_pipeline(with_col, target_steps=S_TARGET, route=route, law="ye-exp")
    with pytest.warns(DataWarning, match=r"no 'params' column: every row is read as one model's checkpoint \(N = 1"):
        res = fit_pipeline(without, target_steps=S_TARGET, route=route, law="ye-exp")
    assert res.steps_only and res.target_params == 1.0 and ref.target_params == N_ONE
    assert_allclose(res.target_losses, ref.target_losses, rtol=1e-6)
    assert any("no 'params' column" in w for w in res.warnings)
    tests = backtest_pipeline(without, route=route, law="ye-exp")
    ref_tests = backtest_pipeline(with_col, route=route, law="ye-exp")
    assert [(t.kind, t.n) for t in tests] == [(t.kind, t.n) for t in ref_tests]
    assert_allclose([t.mre for t in tests], [t.mre for t in ref_tests], rtol=1e-6, equal_nan=True)


def test_a_target_size_or_a_params_like_column_still_needs_the_column() -> None:
    _, without = _no_params()
    with pytest.raises(InputError, match="needs a 'params' column"):
        fit_pipeline(without, target_steps=S_TARGET, target_params=1e9)
    named = RunTable(without.frame.assign(model_size=N_ONE))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # not read as one size: the column it has is named
        with pytest.raises(InputError, match="needs a 'params' column.*'model_size'"):
            fit_pipeline(named, target_steps=S_TARGET)


def test_cli_out_names_the_first_run_of_each_mixture(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # pipeline --out wrote the mixture label and weights alone: checking its predictions against the runs measured
    # at the target meant joining on weights rounded to 9 digits.
    _, without = _no_params()
    runs, out = tmp_path / "one.csv", tmp_path / "pred.csv"
    without.frame.to_csv(runs, index=False)
    code, _, err = _cli(capsys, "pipeline", "--runs", str(runs), "--target-steps", str(S_TARGET), "--out", str(out),
                        "--backtest")
    assert code == 0, err
    pred = pd.read_csv(out)
    assert list(pred.columns[:2]) == ["mixture", "first_run"]
    first = without.frame.drop_duplicates("run").set_index("run")
    for _, row in pred.iterrows():
        assert_allclose(row[[c for c in pred.columns if c.startswith("w:")]].to_numpy(dtype=float),
                        first.loc[row["first_run"], [c for c in pred.columns if c.startswith("w:")]]
                        .to_numpy(dtype=float), atol=1e-8)  # --out writes 9 digits
