"""A training domain that no fitting run has: its coefficient is not in the objective, so it must not come from
a random start or a minimum-norm 0 (review of the laws, 2026-12-05)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from mixlaw.laws import get_law, law_from_dict


def _runs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """40 runs of 4 domains, the last never trained on; Ye-form losses around 2.7 with 0.3 % noise."""
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(4), size=40)
    W[:, 3] = 0.0
    W /= W.sum(axis=1, keepdims=True)
    y = 3.0 * (0.6 + 0.4 * np.exp(W @ (0.5 * rng.normal(size=4))))
    return W, y * np.exp(rng.normal(0, 0.003, 40))


# Before: ye-exp 3.31 / 4.88 (t from a random start), ye-implicit 3.27 / 6.10, linear 1.38 / 0.0 (b = 0 from
# the minimum-norm solution), loglinear 1.58 / 1.0, additive 1.22 / 0.85 and additive-ens 1.92 / 1.53 (C at its
# start's floor); the runs' losses are 2.44-3.02.
@pytest.mark.parametrize("key", ["ye-exp", "ye-total", "ye-implicit", "linear", "loglinear", "additive",
                                 "additive-ens"])
def test_an_unseen_domain_is_predicted_like_the_average_run(key):
    W, y = _runs()
    law = get_law(key).fit(W, y, domains=["a", "b", "c", "unseen"])
    probe = np.array([[0.3, 0.3, 0.19, 0.21], [0.0, 0.0, 0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = law.predict(probe)
        back = law_from_dict(json.loads(json.dumps(law.to_dict()))).predict(probe)
    assert np.all((pred > 0.95 * y.min()) & (pred < 1.05 * y.max())), pred
    assert abs(pred[1] / y.mean() - 1) < 0.02
    np.testing.assert_array_equal(back, pred)


@pytest.mark.parametrize("key", ["ye-exp", "ye-implicit", "linear", "additive", "additive-ens"])
def test_an_unseen_domain_leaves_the_fit_on_the_runs_unchanged(key):
    # The column is 0 in every run: the runs' predictions are those of the law fitted without the domain.
    W, y = _runs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = get_law(key).fit(W, y).predict(W)
        three = get_law(key).fit(W[:, :3], y).predict(W[:, :3])
    np.testing.assert_allclose(full, three, rtol=1e-6)


def test_additive_gives_an_unseen_domain_the_runs_mean_sum_and_the_mean_exponent():
    # C of the unseen domain: the runs' mean of sum_j C_j r_j^gamma_j; gamma: the seen domains' mean; a user's
    # fixed value stays.
    W, y = _runs()
    law = get_law("additive").fit(W, y, domains=["a", "b", "c", "unseen"])
    v = law.params_.array("value")
    log_c, g = v[1:5], v[5:]
    S = (np.exp(log_c[:3]) * W[:, :3] ** g[:3]).sum(axis=1)
    np.testing.assert_allclose([log_c[3], g[3]], [np.log(S.mean()), g[:3].mean()], rtol=1e-12)
    assert "no fitting run has this domain" in law.params_["y0.log_C_unseen"].note
    fixed = get_law("additive", fixed={"y0.gamma_unseen": 0.5}).fit(W, y, domains=["a", "b", "c", "unseen"])
    assert fixed.params_["y0.gamma_unseen"].value == 0.5
