"""ye-pow on held-out mixtures: a domain no fitting run trains on, and exponents beyond the fitted range.

The shape comes from sparse swarms (Olmix's DCLM swarm: 24 domains, 1-7 per run), where a CV fold can lack a
domain that a held-out run has: the unseen domain's t = 0 then turned a 1.64 loss into a prediction of 27.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mixlaw.errors import ExtrapolationWarning
from mixlaw.laws import YePower, law_from_dict
from mixlaw.laws.ye import Z_HEADROOM
from mixlaw.laws.ye_pow import UNSEEN_NOTE

DOMAINS = ["a", "b", "c", "d", "e", "f"]
T = np.array([-0.3, 0.2, -0.5, 0.1, 0.4, 0.0])


def _sparse_swarm(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Runs on 1-3 of the first five domains (never 'f'), losses from Ye's law with gamma = 1."""
    rng = np.random.default_rng(seed)
    W = np.zeros((n, len(DOMAINS)))
    for row in W:
        k = int(rng.integers(1, 4))
        idx = rng.choice(5, size=k, replace=False)
        row[idx] = rng.dirichlet(np.ones(k))
    y = 1.5 + np.exp(-0.5 + W @ T) * (1 + 0.003 * rng.standard_normal(n))
    return W, y


def _fit(W: np.ndarray, y: np.ndarray, log_k: float) -> YePower:
    # gamma = 1 on the seen domains and a fixed log k pin one point of the flat direction t + s, log k - s:
    # both fits describe the fitting runs equally well.
    fixed = {"log_k": log_k, **{f"gamma_{d}": 1.0 for d in DOMAINS[:5]}}
    return YePower(fixed=fixed).fit(W, y, domains=DOMAINS)


def test_unseen_domain_prediction_does_not_depend_on_the_arbitrary_shift():
    W, y = _sparse_swarm()
    low, high = _fit(W, y, log_k=-0.5), _fit(W, y, log_k=4.5)
    np.testing.assert_allclose(low.predict(W), high.predict(W), rtol=2e-3)  # same law on the runs
    held = 0.8 * W[:10] + 0.2 * np.eye(6)[5]  # 20 % of the domain no fitting run has
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        p_low, p_high = low.predict(held), high.predict(held)
        pure = high.predict(np.eye(6)[5:6])[0]
    # With t_f = 0 the shift of 5 scaled the excess loss by e^(0.2 * 5) = 2.7 (predictions up to 3.4 against 2.2).
    np.testing.assert_allclose(p_low, p_high, rtol=2e-3)
    # A run of only the unseen domain is predicted like the average fitting run.
    assert y.min() < pure < y.max()
    for law in (low, high):
        t = law.params_["y0.t_f"]
        z = W[:, :5] @ np.array([law.params_[f"y0.t_{d}"].value for d in DOMAINS[:5]])
        assert t.value == pytest.approx(z.mean()) and t.note == UNSEEN_NOTE
        assert law.params_["y0.gamma_f"].value == 1.0


def test_a_users_fixed_value_for_an_unseen_domain_stays():
    W, y = _sparse_swarm()
    law = YePower(fixed={"t_f": 0.7}).fit(W, y, domains=DOMAINS)
    assert law.params_["y0.t_f"].value == 0.7


def test_exponent_saturates_above_its_fitted_range_and_survives_save_load():
    rng = np.random.default_rng(1)
    W = rng.dirichlet(np.full(4, 0.8), size=80)
    W[:, 3] *= 0.05  # the last domain stays below ~5 % in every fitting run
    W /= W.sum(axis=1, keepdims=True)
    Tw = np.array([0.0, 0.5, -1.0, 20.0])  # and hurts a lot per unit share
    y = 2.0 + np.exp(0.2 + W @ Tw)
    law = YePower().fit(W, y, domains=DOMAINS[:4])
    far_mix = np.array([[0.0, 0.0, 0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        np.testing.assert_allclose(law.predict(W), y, rtol=5e-3)  # inside the range: the plain law
        far = law.predict(far_mix)[0]
        again = law_from_dict(law.to_dict()).predict(far_mix)[0]
    c, lk = law.params_["y0.c"].value, law.params_["y0.log_k"].value
    assert far <= c + np.exp(lk + law.z_max_["y0"] + Z_HEADROOM) * (1 + 1e-12)
    assert far < 2.0 + 3 * np.exp(0.2 + (W @ Tw).max())
    assert again == pytest.approx(far, rel=1e-12)
