"""R2 of a fit of several eval sets is the mean of each eval set's, as law.score() and the CV table give it, not
pooled about the grand mean (hunt31f: linear on Marin Delphi's train split, 2 evals, read R2=0.948 where each
eval's R2 is 0.823 and 0.725)."""

from __future__ import annotations

import numpy as np

from mixlaw import get_law
from mixlaw.datasets import load_regmix
from mixlaw.metrics import r2


def _col_r2(y: np.ndarray, p: np.ndarray) -> float:
    return float(1 - np.sum((p - y) ** 2) / np.sum((y - y.mean()) ** 2))


def test_r2_of_columns_is_the_mean_of_each_columns():
    y = np.array([[1.0, 10.0], [2.0, 11.0], [3.0, 12.0]])
    mean_each = np.broadcast_to(y.mean(axis=0), y.shape)  # each eval's own mean: explains nothing
    assert r2(y, mean_each) == 0.0
    assert r2(y[:, 0], y[:, 0] + 0.1) == _col_r2(y[:, 0], y[:, 0] + 0.1)  # 1-D: as before
    y2 = y.copy()
    y2[0, 1] = np.nan  # a loss not measured: left out of its column
    p = y + [0.1, -0.2]
    assert r2(y2, p) == (_col_r2(y[:, 0], p[:, 0]) + _col_r2(y[1:, 1], p[1:, 1])) / 2


def test_fit_report_r2_is_the_mean_over_eval_sets():
    rt = load_regmix("train_1m")
    tg = ["pile_cc", "github"]
    W, Y = rt.weights[:80], rt.losses(tg)[:80]
    law = get_law("ye-exp").fit(W, Y, domains=list(rt.domains), targets=tg)
    P = law.predict(W).reshape(Y.shape)
    expect = np.mean([_col_r2(Y[:, j], P[:, j]) for j in range(2)])
    assert abs(law.train_metrics_["R2"] - expect) < 1e-12
    assert abs(law.train_metrics_["R2"] - law.score(W, Y)) < 1e-12


def test_r2_of_columns_is_nan_when_a_measured_loss_is_predicted_nan():
    # Only a constant (or unmeasured) column is left out of the mean: an eval set predicted NaN is not, else R2
    # read 0.985 (the other eval set's alone) beside RMSE nan.
    y = np.array([[1.0, 10.0], [2.0, 11.0], [3.0, 13.0]])
    p = y + 0.1
    p[:, 1] = np.nan
    assert np.isnan(r2(y, p))
    flat = y.copy()
    flat[:, 1] = 5.0  # constant: left out, as before
    assert r2(flat, y + 0.1) == _col_r2(y[:, 0], y[:, 0] + 0.1)
    gone = y.copy()
    gone[:, 1] = np.nan  # never measured: left out
    assert r2(gone, y + 0.1) == _col_r2(y[:, 0], y[:, 0] + 0.1)


def test_dz_eq3_report_r2_is_the_mean_over_eval_sets_of_its_fitted_entries():
    # dz-eq3 scores its own fitted entries (h_i > 0) and pooled them flattened: 0.900 where each eval read 0.828, 0.800
    import warnings

    rt = load_regmix("train_1m")
    tg = ["pile_cc", "github"]
    W, Y = rt.weights[:80], rt.losses(tg)[:80]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        law = get_law("dz-eq3").fit(W, Y, domains=list(rt.domains), targets=tg)
        P = law.predict(W).reshape(Y.shape)
    m = law._obs_mask(W, None)
    assert not m.all()  # some entries left out (a zero share), so the mask is what is scored
    expect = np.mean([_col_r2(Y[m[:, j], j], P[m[:, j], j]) for j in range(2)])
    assert abs(law.train_metrics_["R2"] - expect) < 1e-9
