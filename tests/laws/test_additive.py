"""additive-ens averages two additive fits, each fitted to every loss on its own: the losses must outnumber one
member's parameters, not the two members' sum."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import spearmanr

from mixlaw.errors import InputError
from mixlaw.laws import get_law
from mixlaw.laws.selection import cross_validate


def _runs(n: int, m: int = 7, k: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(m), size=n)
    C, g = rng.uniform(0.05, 0.2, (k, m)), rng.uniform(0.4, 0.9, (k, m))
    Y = np.column_stack([2.0 + (C[i] / (W + 0.05) ** g[i]).sum(axis=1) / m for i in range(k)])
    return W, Y * np.exp(rng.normal(0, 0.002, Y.shape))


def test_ensemble_fits_where_each_member_fits():
    # Dai & Zheng's 680M SlimPajama runs: 28 runs x 8 evals = 224 losses; each member has 15 parameters per eval
    # (120), the two together 240, and the ensemble was refused while 'additive' alone fitted.
    W, Y = _runs(20)  # 20 losses of one eval set; 15 parameters per member, 30 in all
    doms = [f"d{j}" for j in range(7)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        single = get_law("additive").fit(W, Y[:, :1], domains=doms)
        ens = get_law("additive-ens").fit(W, Y[:, :1], domains=doms)
    assert ens.n_params_ == 2 * single.n_params_ == 30
    pred = ens.predict(W).ravel()
    assert np.all(np.isfinite(pred)) and spearmanr(pred, Y[:, 0])[0] > 0.9
    # fewer losses than one member's parameters: still refused, naming that count
    with pytest.raises(InputError, match="12 observations are too few to fit 15 parameters"):
        get_law("additive-ens").fit(W[:12], Y[:12, :1], domains=doms)


def test_auto_cross_validates_the_ensemble_on_few_runs():
    # On Marin's Delphi swarm auto listed it 'excluded: 149 run(s) x 9 eval set(s) = 1341 losses are too few to
    # fit 1422 parameters' (2 x 711), though each member fits its 711 to the 1341.
    W, Y = _runs(24)  # folds of 19-20 runs x 2 evals: 15 parameters per member and eval, 60 in all
    cv = cross_validate(W, Y, domains=[f"d{j}" for j in range(7)], targets=["a", "b"],
                        candidates=["additive-ens", "linear"])
    rows = {(r.law, r.target): r for r in cv.table.rows}
    assert rows[("additive-ens", "a")].error is None and rows[("additive-ens", "a")].metrics["spearman"] > 0.8
