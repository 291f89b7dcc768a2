"""Baseline laws: exact / noisy recovery of known coefficients, and RegMix acceptance numbers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from mixlaw import load_regmix, metrics
from mixlaw.errors import ExtrapolationWarning, InputError, InvalidParameterError, ScaleWarning
from mixlaw.laws import AutoScale, BiMix, Linear, LogLinear, ShukorAdditive, get_law

DOMAINS = ["web", "code", "books", "wiki"]


def mixtures(n=80, seed=0, conc=0.8):
    return np.random.default_rng(seed).dirichlet(np.full(len(DOMAINS), conc), size=n)


# ---------------------------------------------------------------------- linear / log-linear
def test_linear_recovers_exact_coefficients_on_noiseless_data():
    W = mixtures()
    B = np.array([[3.1, 2.4, 3.6, 2.9], [1.2, 0.8, 1.9, 1.5]])
    law = Linear().fit(W, W @ B.T, domains=DOMAINS, targets=["a", "b"])
    assert_allclose(law.coef(), B, rtol=1e-10)
    assert_allclose(law.params_["b.b_code"].value, 0.8, rtol=1e-10)


def test_linear_absorbs_an_intercept():
    # b0 + sum_j b_j r_j = sum_j (b0 + b_j) r_j on the simplex.
    W = mixtures()
    law = Linear().fit(W, 1.0 + W @ np.array([0.5, -0.2, 0.3, 0.0]))
    assert_allclose(law.coef()[0], [1.5, 0.8, 1.3, 1.0], rtol=1e-10)


def test_loglinear_recovers_exact_coefficients_on_noiseless_data():
    W = mixtures()
    b = np.array([1.1, 0.7, 1.3, 0.95])
    law = LogLinear().fit(W, np.exp(W @ b))
    assert_allclose(law.coef()[0], b, rtol=1e-10)
    assert_allclose(law.predict(W), np.exp(W @ b), rtol=1e-12)


def test_linear_ridge_makes_an_absent_domain_identifiable_and_shrinks_to_the_mean_loss():
    W = mixtures()
    W[:, 3] = 0
    W /= W.sum(axis=1, keepdims=True)
    y = W @ np.array([3.0, 2.0, 4.0, 0.0])
    law = Linear(alpha=1e-6).fit(W, y, domains=DOMAINS)
    # The absent domain gets the mean loss; the present ones stay close to the truth.
    assert_allclose(law.params_["y0.b_wiki"].value, y.mean(), rtol=1e-6)
    assert_allclose(law.coef()[0, :3], [3.0, 2.0, 4.0], rtol=1e-3)
    # Unique, but set by the penalty, not measured: no standard error (a ridge reported 0, as if known exactly).
    assert law.params_["y0.b_wiki"].stderr is None
    assert all(law.params_[f"y0.b_{d}"].stderr is not None for d in DOMAINS[:3])


def test_linear_stderr_matches_noise_scale():
    rng = np.random.default_rng(3)
    W = mixtures(n=2000, seed=3)
    b = np.array([3.0, 2.0, 4.0, 2.5])
    fits = np.array([Linear().fit(W, W @ b + 0.01 * rng.standard_normal(2000)).coef()[0] for _ in range(40)])
    se = Linear().fit(W, W @ b + 0.01 * rng.standard_normal(2000)).params_.array("stderr")
    # The reported standard error agrees with the spread over repeated noise draws within 30 %.
    assert_allclose(se, fits.std(axis=0), rtol=0.3)


def test_linear_reaches_the_issue_spearman_on_regmix_pile_cc():
    data = load_regmix()
    law = Linear().fit(data["train_1m"], targets="pile_cc")
    test = data["test_1m"]
    rho = metrics.spearman(test.losses("pile_cc"), law.predict(test))
    assert rho >= 0.88


# ---------------------------------------------------------------------- BiMix
BIMIX_TRUTH = {"web": (1.0, 0.15, 0.02, 0.6, 0.5), "code": (0.4, 0.3, 0.05, 0.4, 0.8)}  # log K, alpha, eps, rho, beta


def simulate_bimix(n=240, noise=0.01, seed=0, steps=(0.5e9, 1e9, 2e9, 4e9), log_s0=None):
    """Two eval sets from known BiMix laws over runs of four lengths (S = tokens).

    S0 defaults to the geometric mean of the sample's S, as the law defines it when fitted on that sample.
    """
    rng = np.random.default_rng(seed)
    W = mixtures(n, seed)
    S = rng.choice(steps, size=n)
    ls = np.log(S) - (np.mean(np.log(S)) if log_s0 is None else log_s0)
    cols = []
    for t, (lk, a, e, rho, b) in BIMIX_TRUTH.items():
        r = W[:, DOMAINS.index(t)]
        cols.append(np.exp(lk) * (r + e) ** -a * (rho * np.exp(-b * ls) + 1 - rho))
    Y = np.column_stack(cols)
    return W, S, Y * np.exp(noise * rng.standard_normal(Y.shape))


def test_bimix_recovers_parameters_over_several_step_counts():
    W, S, Y = simulate_bimix()
    law = BiMix().fit(W, Y, domains=DOMAINS, targets=list(BIMIX_TRUTH), tokens=S)
    for t, (lk, a, e, rho, b) in BIMIX_TRUTH.items():
        p = {n: law.params_[f"{t}.{n}"].value for n in ("log_K", "alpha", "log_eps", "rho", "beta")}
        assert_allclose(p["log_K"], lk, atol=0.01)
        assert_allclose([p["alpha"], p["rho"], p["beta"]], [a, rho, b], rtol=0.05)
        # The offset is the least determined parameter: within 10 %.
        assert_allclose(np.exp(p["log_eps"]), e, rtol=0.1)
    # Fresh noiseless runs from the same design: mean error under 1 %.
    Wt, St, Yt = simulate_bimix(n=100, noise=0.0, seed=5, log_s0=np.mean(np.log(S)))
    with pytest.warns(ExtrapolationWarning):
        pred = law.predict(Wt, tokens=St)
    assert np.mean(np.abs(pred / Yt - 1)) < 0.01


def test_bimix_at_one_step_count_is_a_power_law_in_the_matched_share():
    W, _, Y = simulate_bimix(steps=(1e9,))
    law = BiMix(r_offset=0.02).fit(W, Y[:, 0], domains=DOMAINS, targets="web", tokens=1e9)
    assert law.params_["web.rho"].vary is False and law.params_["web.log_eps"].vary is False
    assert_allclose(law.params_["web.alpha"].value, 0.15, rtol=0.03)
    # Only the matched share matters: moving weight between the other domains changes nothing.
    a = np.array([[0.3, 0.7, 0.0, 0.0], [0.3, 0.0, 0.0, 0.7]])
    with pytest.warns(ExtrapolationWarning):
        p = law.predict(a)
    assert p[0] == p[1]


def test_bimix_rejects_bad_eval_map_and_bad_offset():
    W, S, Y = simulate_bimix(n=40)
    # An unmatched target is aggregated implicitly (tests/laws/test_implicit.py); a map to no domain is an error.
    with pytest.raises(InputError, match="eval_map sends {'news': 'math'} to no training domain"):
        BiMix(eval_map={"news": "math"}).fit(W, Y, domains=DOMAINS, targets=["web", "news"], tokens=S)
    with pytest.raises(InvalidParameterError, match="r_offset"):
        BiMix(r_offset=0.0).fit(W, Y, domains=DOMAINS, targets=["web", "code"])


# ---------------------------------------------------------------------- additive (Shukor et al.)
def test_additive_recovers_parameters():
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.full(3, 0.5), size=300)
    C, g = np.array([1.5, 1.0, 0.6]), np.array([0.4, 0.7, 1.0])
    y = 1.0 + 1 / (C * W ** g).sum(axis=1)
    law = ShukorAdditive().fit(W, y * np.exp(0.01 * rng.standard_normal(300)), domains=DOMAINS[:3])
    p = law.params_
    assert_allclose(p["y0.E"].value, 1.0, rtol=0.05)
    assert_allclose([np.exp(p[f"y0.log_C_{d}"].value) for d in DOMAINS[:3]], C, rtol=0.1)
    assert_allclose([p[f"y0.gamma_{d}"].value for d in DOMAINS[:3]], g, rtol=0.1)
    Wt = rng.dirichlet(np.full(3, 0.5), size=100)
    yt = 1.0 + 1 / (C * Wt ** g).sum(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        assert np.mean(np.abs(law.predict(Wt) / yt - 1)) < 0.01


# ---------------------------------------------------------------------- AutoScale
def test_autoscale_recovers_parameters_over_token_budgets():
    rng = np.random.default_rng(0)
    W = mixtures(400, seed=0)
    S = rng.choice([0.25e9, 1e9, 4e9, 16e9], size=400)
    x = W[:, 1] * S / 1e9
    y = 0.8 * (x + 0.05) ** -0.4 + 2.0
    law = AutoScale().fit(W, y * np.exp(0.01 * rng.standard_normal(400)), domains=DOMAINS, targets="code",
                          tokens=S)
    p = law.params_
    assert_allclose([np.exp(p["code.log_k"].value), np.exp(p["code.log_a"].value), p["code.b"].value,
                     p["code.c"].value], [0.8, 0.05, 0.4, 2.0], rtol=0.05)
    assert np.mean(np.abs(law.predict(W, tokens=S) / y - 1)) < 0.005


def test_autoscale_without_tokens_uses_the_share():
    W = mixtures()
    y = 0.5 * (W[:, 2] + 0.1) ** -0.6 + 1.5
    law = AutoScale().fit(W, y, domains=DOMAINS, targets=["books"])
    assert_allclose(law.predict(W), y, rtol=1e-4)
    # Tokens passed at predict time do not change the units of a law fitted without them, and it says so.
    with pytest.warns(ScaleWarning, match="law 'autoscale' was fitted without training tokens: tokens= is ignored"):
        assert_allclose(law.predict(W, tokens=5e9), law.predict(W), rtol=0)


# ---------------------------------------------------------------------- lightgbm
def test_lightgbm_matches_regmix_numbers_on_pile_cc():
    pytest.importorskip("lightgbm")
    from mixlaw.laws import LightGBM

    data = load_regmix()
    law = LightGBM().fit(data["train_1m"], targets="pile_cc")
    assert law.n_iter_ == [1000]
    y = data["test_1m"].losses("pile_cc")
    pred = law.predict(data["test_1m"])
    # RegMix's notebook: Spearman 0.990 on test_1m (early-stopped on that split); ours never sees it.
    assert metrics.spearman(y, pred) >= 0.985
    assert metrics.mre(y, pred) <= 0.008


def test_lightgbm_early_stopping_uses_only_fitting_runs_and_is_seeded():
    pytest.importorskip("lightgbm")
    from mixlaw.laws import LightGBM

    W = mixtures(n=200)
    y = 3.0 - W[:, 0] + 0.3 * np.sin(6 * W[:, 1])
    a = LightGBM(early_stopping_rounds=5, learning_rate=0.05, random_state=1).fit(W, y)
    b = LightGBM(early_stopping_rounds=5, learning_rate=0.05, random_state=1).fit(W, y)
    assert a.n_iter_ == b.n_iter_ and a.n_iter_[0] < 1000
    np.testing.assert_array_equal(a.predict(W), b.predict(W))


@pytest.mark.parametrize("stop", [None, 5])
def test_lightgbm_model_text_is_the_one_trains_own_round_trip_writes(monkeypatch, stop):
    """The fit keeps the training booster (keep_training_booster=True: no round trip inside lgb.train) and writes
    its text once: the text, so every prediction, is the one the round trip gave (train()'s default)."""
    lgb = pytest.importorskip("lightgbm")
    from mixlaw.laws import LightGBM

    W = mixtures(n=200)
    y = 3.0 - W[:, 0] + 0.3 * np.sin(6 * W[:, 1])
    opts = {"early_stopping_rounds": stop, "learning_rate": 0.05, "n_estimators": 300, "random_state": 1}
    now = LightGBM(**opts).fit(W, y)._get_state()["models"]
    train, kept = lgb.train, []

    def round_trip(*a, **k):
        kept.append(k.pop("keep_training_booster", False))
        return train(*a, **k)

    monkeypatch.setattr(lgb, "train", round_trip)
    before = LightGBM(**opts).fit(W, y)._get_state()["models"]
    assert kept == [True]
    assert now == before


def test_lightgbm_missing_extra_is_an_input_error(monkeypatch):
    import builtins

    from mixlaw.laws import LightGBM

    real_import = builtins.__import__

    def no_lightgbm(name, *args, **kwargs):
        if name == "lightgbm":
            raise ImportError("No module named 'lightgbm'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_lightgbm)
    with pytest.raises(InputError, match=r"pip install 'mixlaw\[lightgbm\]'"):
        LightGBM().fit(mixtures(), np.full(80, 3.0))


def test_lightgbm_constant_models_are_read_from_the_model_text_as_from_its_trees():
    # constant_targets_ comes from the text model the fit writes anyway ("Tree=<i>" / "num_leaves=<k>" lines), not
    # from Booster.dump_model()'s JSON (40 ms per eval set): the same answer, per eval set, split or not.
    pytest.importorskip("lightgbm")
    from mixlaw.laws.lightgbm import _constant_targets

    rng = np.random.default_rng(3)
    W = rng.dirichlet(np.ones(3), size=60)
    Y = np.column_stack([1 + W[:, 0], np.full(60, 2.0), 3 - W[:, 1]])  # the middle column cannot split
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        law = get_law("lightgbm", n_estimators=50).fit(W, Y, domains=["a", "b", "c"], targets=["x", "y", "z"])
    from_trees = [t for t, b in zip(law.targets_, law.boosters_, strict=True)
                  if all(tree["num_leaves"] <= 1 for tree in b.dump_model()["tree_info"])]
    assert from_trees == ["y"] == law.constant_targets_
    assert _constant_targets(law.targets_, [b.model_to_string() for b in law.boosters_]) == ["y"]


def test_lightgbm_fold_fit_keeps_the_trained_boosters_and_predicts_as_the_round_trip(monkeypatch):
    # A CV fold's fit (FOLD_FIT) only predicts the held-out runs: it skips the text round-trip (model_to_string +
    # model_from_string, 0.14 s per eval set on RegMix's folds), and its predictions and constant models are the
    # round-tripped law's, bit for bit.
    lgb = pytest.importorskip("lightgbm")
    from mixlaw.laws._folds import FOLD_FIT

    rng = np.random.default_rng(3)
    W = rng.dirichlet(np.ones(3), size=120)
    Y = np.column_stack([1 + W[:, 0] + 0.2 * np.sin(5 * W[:, 2]), np.full(120, 2.0), 3 - W[:, 1] ** 2])
    kw = {"domains": ["a", "b", "c"], "targets": ["x", "y", "z"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kept = get_law("lightgbm", n_estimators=200).fit(W[:90], Y[:90], **kw)
        written, to_string = [], lgb.Booster.model_to_string
        monkeypatch.setattr(lgb.Booster, "model_to_string",
                            lambda self, *a, **k: written.append(1) or to_string(self, *a, **k))
        token = FOLD_FIT.set(True)
        try:
            fold = get_law("lightgbm", n_estimators=200).fit(W[:90], Y[:90], **kw)
        finally:
            FOLD_FIT.reset(token)
    assert written == []
    assert fold.constant_targets_ == ["y"] == kept.constant_targets_
    np.testing.assert_array_equal(fold.predict(W[90:]), kept.predict(W[90:]))
    # A fold fit that a caller's cache saves writes the same text (the constant model's differs only in its one
    # leaf's weight, written 0 instead of blank).
    now, before = fold._get_state()["models"], kept._get_state()["models"]
    assert [now[0], now[2]] == [before[0], before[2]]


def test_lightgbm_model_text_without_tree_headers_is_not_called_constant():
    # A LightGBM whose text format lacked the "Tree=<i>" / "num_leaves=<k>" lines would otherwise have every eval set
    # called constant (all() of nothing is True) and warned about or dropped; unreadable means "not known constant".
    from mixlaw.laws.lightgbm import _constant_targets

    split = "tree\nversion=v4\n\nTree=0\nnum_leaves=3\nsplit_feature=0 1\n\nTree=1\nnum_leaves=2\n"
    flat = "tree\nversion=v4\n\nTree=0\nnum_leaves=1\n\nTree=1\nnum_leaves=1\n"
    other_format = "booster v9\n[trees]\n0: leaves 3\n"
    assert _constant_targets(["a", "b", "c"], [split, flat, other_format]) == ["b"]
