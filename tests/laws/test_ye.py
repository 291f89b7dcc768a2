"""Ye et al.'s laws: recovery from known parameters, real-data rank correlation on RegMix."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from mixlaw import InvalidParameterError, load_regmix, metrics
from mixlaw.laws import YeExponential, YeImplicit, YePower, YeTotal

DOMAINS = ["web", "code", "books", "wiki"]


def simulate(n=80, noise=0.01, seed=0):
    """Two eval domains from known Ye laws (reference domain 'web', t fixed at 0)."""
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.full(4, 0.8), size=n)
    c = np.array([2.0, 1.2])
    log_k = np.array([0.3, -0.2])
    T = np.array([[0.0, 1.2, -1.5, -0.8], [0.0, -2.0, 0.9, 0.4]])
    Y = c + np.exp(log_k + W @ T.T)
    return W, Y * np.exp(noise * rng.standard_normal(Y.shape)), (c, log_k, T)


def test_ye_exp_recovers_parameters():
    W, Y, (c, log_k, T) = simulate()
    law = YeExponential(reference="web").fit(W, Y, domains=DOMAINS, targets=["web", "code"])
    for i, t in enumerate(law.targets_):
        assert_allclose(law.params_[f"{t}.c"].value, c[i], rtol=0.1)
        assert_allclose(law.params_[f"{t}.log_k"].value, log_k[i], atol=0.15)
    # t_ij: recovered within 0.35 in absolute terms at 1 % noise with 80 runs.
    assert_allclose(law.interactions(), T, atol=0.35)
    assert law.params_["web.t_web"].vary is False


def test_ye_exp_predicts_fresh_mixtures_within_one_percent():
    W, Y, _ = simulate()
    Wt, Yt, _ = simulate(n=40, noise=0.0, seed=1)
    law = YeExponential().fit(W, Y)
    assert metrics.mre(Yt, law.predict(Wt)) < 0.01


def test_ye_implicit_recovers_predictions_of_a_two_component_law():
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=120)
    truth = lambda X: 1.0 + 0.8 * np.exp(X @ [0.0, -2.0, 1.0]) + 0.5 * np.exp(X @ [0.0, 1.5, -2.5])  # noqa: E731
    y = truth(W) * np.exp(0.01 * rng.standard_normal(len(W)))
    Wt = rng.dirichlet(np.ones(3), size=200)
    law = YeImplicit(n_components=2).fit(W, y)
    assert metrics.mre(truth(Wt), law.predict(Wt)) < 0.01
    single = YeExponential().fit(W, y)
    assert metrics.mre(truth(Wt), law.predict(Wt)) < metrics.mre(truth(Wt), single.predict(Wt))
    s = law.composition()["y0"]
    assert s.shape == (2,) and abs(s.sum() - 1) < 1e-12


def test_ye_total_recovers_the_total():
    W, Y, _ = simulate()
    Wt, Yt, _ = simulate(n=40, noise=0.0, seed=2)
    law = YeTotal(composition={"web": 0.7, "code": 0.3}).fit(W, Y, domains=DOMAINS, targets=["web", "code"])
    assert metrics.mre(Yt @ [0.7, 0.3], law.predict_total(Wt)) < 0.005
    with pytest.raises(InvalidParameterError, match="composition"):
        YeTotal(composition={"nope": 1.0}).fit(W, Y, domains=DOMAINS, targets=["web", "code"])


def simulate_pow(n=200, noise=0.01, seed=0):
    """One eval set from a known power-share law with distinct exponents."""
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.full(4, 0.8), size=n)
    t, g = np.array([1.0, -2.0, 1.2, -1.0]), np.array([0.5, 0.4, 0.7, 0.5])
    y = 2.0 + np.exp(0.2 + (W ** g) @ t)
    return W, y * np.exp(noise * rng.standard_normal(n)), (t, g)


def test_ye_pow_recovers_parameters_and_predictions():
    W, y, (t, g) = simulate_pow()
    Wt, yt, _ = simulate_pow(noise=0.0, seed=1)
    law = YePower(gamma_pooling=0.0).fit(W, y, domains=DOMAINS)
    # Held-out mixtures within 0.5 % (the noise is 1 %); Ye's law in raw shares cannot do this well.
    assert metrics.mre(yt, law.predict(Wt)) < 0.005
    assert metrics.mre(yt, law.predict(Wt)) < 0.5 * metrics.mre(yt, YeExponential().fit(W, y).predict(Wt))
    assert_allclose(law.params_["y0.c"].value, 2.0, rtol=0.02)
    # t and gamma trade off (t r^gamma), so each is looser than the predictions: measured |error| <= 0.12 / 0.07.
    assert_allclose(law.interactions()[0], t, atol=0.3)
    assert_allclose(law.exponents()[0], g, atol=0.1)


def test_ye_pow_pooling_shrinks_exponents_to_one():
    W, y, _ = simulate_pow()
    g = YePower(gamma_pooling=1e4).fit(W, y).exponents()[0]
    assert np.ptp(g) < 0.02, g
    assert np.ptp(YePower(gamma_pooling=0.0).fit(W, y).exponents()[0]) > 0.1


@pytest.fixture(scope="module")
def regmix():
    return load_regmix()


def test_ye_exp_on_regmix_pile_cc(regmix):
    """Issue acceptance: Spearman >= 0.95 on test_1m and >= 0.97 on test_1B when fitted on train_1m."""
    law = YeExponential().fit(regmix["train_1m"], targets="pile_cc")
    rho_1m = metrics.spearman(regmix["test_1m"].losses("pile_cc"), law.predict(regmix["test_1m"]))
    rho_1b = metrics.spearman(regmix["test_1B"].losses("pile_cc"), law.predict(regmix["test_1B"]))
    assert rho_1m >= 0.95 and rho_1b >= 0.97, (rho_1m, rho_1b)


def test_ye_pow_on_regmix_pile_cc_meets_the_issue_targets_at_1m(regmix):
    """Issue targets on test_1m / test_60m: Spearman >= 0.99 / 0.985, MRE <= 0.006 (measured 0.994 / 0.991, 0.0055).

    test_1B (0.967) misses the 0.985 target; see bench/compare_laws.py.
    """
    law = YePower().fit(regmix["train_1m"], targets="pile_cc")
    y1m, p1m = regmix["test_1m"].losses("pile_cc"), law.predict(regmix["test_1m"])
    assert metrics.spearman(y1m, p1m) >= 0.99
    assert metrics.spearman(regmix["test_60m"].losses("pile_cc"), law.predict(regmix["test_60m"])) >= 0.985
    assert metrics.mre(y1m, p1m) <= 0.006
