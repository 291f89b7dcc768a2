"""What ``mixlaw predict`` writes, and feeding it back: ``run`` and ``pred:<eval>`` columns (``lo80:``/``hi80:`` with
a pipeline's intervals) join a run table on ``run`` without colliding with its measured ``loss:<eval>``; a run table
of checkpoints at other scales than the one predicted is said to be, not silently predicted at the target."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli as _cli

from mixlaw.api import predict_pipeline_table
from mixlaw.errors import ScaleWarning
from mixlaw.pipeline import fit_pipeline, save_pipeline

from .test_pipeline import DOMAINS, N_STAR, NESTED, S_STAR, SIZES, STEPS, world


@pytest.fixture(scope="module")
def fitted():  # type: ignore[no-untyped-def]
    tab = world(n_mix=8)
    return tab, fit_pipeline(tab, target_params=N_STAR, target_steps=S_STAR, **NESTED)


def test_predict_output_joins_the_runs_it_predicts(tmp_path, capsys, fitted) -> None:  # type: ignore[no-untyped-def]
    tab, res = fitted
    runs = tab.frame[(tab.frame.params == SIZES[-1]) & (tab.frame.step == STEPS[-1])]
    saved, mix, out = tmp_path / "p.json", tmp_path / "runs.csv", tmp_path / "pred.csv"
    save_pipeline(res, saved)
    runs.to_csv(mix, index=False)
    code, _, err = _cli(capsys, "predict", "--pipeline", str(saved), "--mixtures", str(mix), "--params",
                        f"{SIZES[-1]:g}", "--steps", f"{STEPS[-1]}", "--out", str(out))
    assert code == 0 and "warning" not in err  # the rows' own scale: nothing to say
    pred = pd.read_csv(out)
    assert list(pred.columns) == ["run", *(f"pred:{d}" for d in DOMAINS)]
    both = runs.merge(pred, on="run", validate="one_to_one")
    assert len(both) == len(runs)
    for d in DOMAINS:  # predicted next to measured, under their own names (0.002 % noise: close)
        np.testing.assert_allclose(both[f"pred:{d}"], both[f"loss:{d}"], rtol=5e-3)


def test_rows_at_other_scales_than_predicted_are_said_to_be(fitted) -> None:  # type: ignore[no-untyped-def]
    tab, res = fitted
    with pytest.warns(ScaleWarning, match=r"160 of 160 row\(s\) have their own 'params' and 'step'.*N = 1e\+09, "
                                          r"S = 100000"):
        predict_pipeline_table(res, tab.frame)
    last = tab.frame[tab.frame.step == STEPS[-1]]
    with pytest.warns(ScaleWarning, match=r"24 of 32 row\(s\) have their own 'params' at another scale.*N = 8e\+07"):
        predict_pipeline_table(res, last, params=SIZES[-1], steps=STEPS[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScaleWarning)
        predict_pipeline_table(res, last[last.params == SIZES[-1]], params=SIZES[-1], steps=STEPS[-1])
        predict_pipeline_table(res, last.drop(columns=["params", "step"]))  # candidates without scales


def test_candidates_with_two_proportional_columns_are_not_warned_as_a_fitting_table(tmp_path, capsys,
                                                                                     fitted) -> None:  # type: ignore[no-untyped-def]
    # hunt34b: 'mixlaw predict --pipeline dz.json --mixtures three_runs.csv' (three of Dai & Zheng's 1.235B runs, each
    # with arxiv = book) warned "weight columns w:arxiv and w:book are proportional in every run: no law can tell
    # their effects apart, and an optimum splits their share between them at random": the fitting table's check, of
    # candidates no law is fitted on and no optimum read from ('predict --law' likewise). Said of a fit, still.
    _, res = fitted
    saved, law, mix = tmp_path / "p.json", tmp_path / "law.json", tmp_path / "cands.csv"
    save_pipeline(res, saved)
    pd.DataFrame({"run": ["a", "b", "c"], "w:web": [0.2, 0.3, 0.1], "w:code": [0.2, 0.3, 0.1],
                  "w:math": [0.6, 0.4, 0.8]}).to_csv(mix, index=False)
    import mixlaw

    tab = world(n_mix=8)
    one = tab.subset((tab.model_params == SIZES[-1]) & (tab.steps == STEPS[-1]))  # one scale: a law that takes none
    mixlaw.save_law(mixlaw.get_law("linear").fit(one), law)
    for how in (("--pipeline", str(saved)), ("--law", str(law))):
        code, out, err = _cli(capsys, "predict", *how, "--mixtures", str(mix))
        assert code == 0 and "pred:web" in out, err
        assert "proportional" not in err, err
