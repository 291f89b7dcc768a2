"""ye-implicit saturates each component's exponent above its fitted range, as ye-exp does (laws review, 2026-12-05)."""

from __future__ import annotations

import warnings

import numpy as np

from mixlaw.errors import ExtrapolationWarning
from mixlaw.laws import YeImplicit, get_law, law_from_dict
from mixlaw.laws.ye import Z_HEADROOM


def _runs() -> tuple[np.ndarray, np.ndarray]:
    """40 runs of 3 domains, the third below 35 % of every run and hurting (two latent components)."""
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=40)
    W[:, 2] *= 0.1
    W /= W.sum(axis=1, keepdims=True)
    y = 2.0 + 0.5 * np.exp(W @ [0.0, -1.0, 4.0]) + 0.3 * np.exp(W @ [0.0, 1.0, 6.0])
    return W, y * np.exp(rng.normal(0, 0.003, 40))


def _uncapped(law: YeImplicit, W: np.ndarray) -> np.ndarray:
    K, M = law.n_components, W.shape[1]
    v = law.params_.array("value")
    return v[0] + np.exp(v[1:1 + K][None, :] + W @ v[1 + K:].reshape(K, M).T).sum(axis=1)


def test_ye_implicit_saturates_like_ye_exp_outside_the_runs():
    W, y = _runs()
    far = np.array([[0.0, 0.0, 1.0], [0.1, 0.1, 0.8]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        law = get_law("ye-implicit").fit(W, y)
        exp = get_law("ye-exp").fit(W, y)
        pred, pred_exp = law.predict(far), exp.predict(far)
        # On the fitting runs nothing reaches the cap: the law is the uncapped one.
        np.testing.assert_allclose(law.predict(W), _uncapped(law, W), rtol=1e-12)
        back = law_from_dict(law.to_dict()).predict(far)
    # Before: 197 and 59 (a component's exp(9.4 r) unbounded) against ye-exp's 14.1 and 13.9; losses 2.78-6.37.
    assert np.all(pred < 1.5 * pred_exp), (pred, pred_exp)
    K = law.n_components
    v = law.params_.array("value")
    bound = v[0] + np.exp(v[1:1 + K] + np.array(law.z_max_["y0"]) + Z_HEADROOM).sum()
    assert np.all(pred <= bound * (1 + 1e-12)), (pred, bound)
    np.testing.assert_allclose(back, pred, rtol=1e-12)


def test_a_ye_implicit_law_saved_before_the_cap_predicts_uncapped():
    W, y = _runs()
    law = get_law("ye-implicit").fit(W, y)
    d = law.to_dict()
    d["state"].pop("z_max")
    far = np.array([[0.0, 0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        np.testing.assert_allclose(law_from_dict(d).predict(far), _uncapped(law, far), rtol=1e-12)
