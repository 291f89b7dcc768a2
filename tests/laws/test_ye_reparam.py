"""ye-exp: bounds where the data stop resolving t, saturating extrapolation, ridge strength chosen by CV."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from mixlaw import load_regmix, metrics
from mixlaw.errors import ExtrapolationWarning
from mixlaw.laws import YeExponential, law_from_dict
from mixlaw.laws.ye import T_BOUND, Z_HEADROOM, smallest_share

DOMAINS = ["web", "code", "books", "wiki"]


def test_no_parameter_on_a_bound_on_any_regmix_eval_and_dm_mathematics_ranks():
    data = load_regmix()
    law = YeExponential().fit(data["train_1m"], targets="all")
    hit = [w for r in law.results_.values() for w in r.warnings if "bound" in w]
    assert hit == []
    # Measured: t_dm_mathematics = -330 on dm_mathematics (|t| <= 30 bound there), held-out 1M Spearman 0.962.
    assert law.params_["dm_mathematics.t_dm_mathematics"].value < -100
    test = data["test_1m"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        pred = law.predict(test)[:, law.targets_.index("dm_mathematics")]
    assert metrics.spearman(test.losses("dm_mathematics"), pred) >= 0.93


def test_bounds_follow_the_smallest_positive_share():
    W = np.array([[0.5, 0.5, 0.0, 0.0], [0.2, 0.7, 0.1, 0.0], [0.9, 0.05, 0.05, 0.0]])
    np.testing.assert_allclose(smallest_share(W), [0.2, 0.05, 0.05, 1.0])
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.full(4, 0.8), size=60)
    y = 2.0 + np.exp(0.3 + W @ [0.0, 1.2, -1.5, -0.8])
    law = YeExponential(reference="web").fit(W, y, domains=DOMAINS)
    for j, d in enumerate(DOMAINS[1:], start=1):
        assert law.params_[f"y0.t_{d}"].max == pytest.approx(T_BOUND / W[:, j].min())


def test_extrapolation_saturates_above_the_fitted_exponent_range():
    rng = np.random.default_rng(1)
    W = rng.dirichlet(np.full(4, 0.8), size=80)
    W[:, 3] *= 0.05  # 'wiki' stays below ~5 % in every fitting run
    W /= W.sum(axis=1, keepdims=True)
    T = np.array([0.0, 0.5, -1.0, 20.0])  # wiki hurts a lot per unit share
    y = 2.0 + np.exp(0.2 + W @ T)
    law = YeExponential(reference="web").fit(W, y, domains=DOMAINS)
    inside = rng.dirichlet(np.full(4, 0.8), size=30)
    inside[:, 3] = 0.0
    inside /= inside.sum(axis=1, keepdims=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        # Where the exponent stays in the fitted range the law is Ye's, unchanged.
        np.testing.assert_allclose(law.predict(inside), 2.0 + np.exp(0.2 + inside @ T), rtol=2e-3)
        far = law.predict(np.array([[0.0, 0.0, 0.0, 1.0]]))[0]
    c, lk = law.params_["y0.c"].value, law.params_["y0.log_k"].value
    # The plain law would predict 2 + e^20.2 (6e8); the excess is capped at e^headroom times the largest fitted one.
    assert far <= c + np.exp(lk + law.z_max_["y0"] + Z_HEADROOM) * (1 + 1e-12)
    assert far < 2.0 + 3 * np.exp(0.2 + (W @ T).max())
    again = law_from_dict(law.to_dict())
    np.testing.assert_allclose(again.predict(np.array([[0.0, 0.0, 0.0, 1.0]]))[0], far, rtol=1e-12)


def test_dz_split_seed_3_pooled_mre_under_five_percent():
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from dz_reproduce import split

    train, test = split(3)
    # The goal is for ye-exp as users get it (default starts): measured 4.07 % with the batched LM engine
    # (52 % before the reparametrisation: held-out shares far beyond the 43 fitting runs' range sent exp(t r) to 1e3).
    # A single start lands in a worse local minimum on this split (5.09 %), so the default is what is tested.
    law = YeExponential().fit(train, targets="all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        assert metrics.mre(test.losses(law.targets_), law.predict(test)) < 0.05


def test_cv_alpha_is_a_parameter_and_picks_a_stronger_ridge_on_few_noisy_runs():
    rng = np.random.default_rng(2)
    T = np.array([0.0, 1.2, -1.5, -0.8])
    W = rng.dirichlet(np.full(4, 0.8), size=200)
    clean = 2.0 + np.exp(0.3 + W @ T)
    many = YeExponential(alpha="cv", n_restarts=1).fit(W, clean, domains=DOMAINS)
    few = YeExponential(alpha="cv", n_restarts=1).fit(W[:12], clean[:12] * np.exp(0.03 * rng.standard_normal(12)),
                                                      domains=DOMAINS)
    assert set(many.cv_scores_["y0"]) == set(few.cv_scores_["y0"]) and len(many.cv_scores_["y0"]) >= 4
    # Noise-free and plentiful: the weakest ridge wins; 12 runs at 3 % noise: a stronger one.
    assert many.alpha_["y0"] == min(many.cv_scores_["y0"])
    assert few.alpha_["y0"] > many.alpha_["y0"]
    fixed = YeExponential(alpha=few.alpha_["y0"], n_restarts=1).fit(W[:12], clean[:12], domains=DOMAINS)
    assert fixed.alpha_ == {"y0": few.alpha_["y0"]}


@pytest.mark.parametrize("cls", ["ye-exp", "ye-pow", "additive"])
def test_alpha_shrinks_the_coefficient_block_and_gridsearch_tunes_it(cls):
    from sklearn.model_selection import GridSearchCV

    from mixlaw.laws import get_law

    rng = np.random.default_rng(3)
    W = rng.dirichlet(np.full(4, 0.8), size=40)
    y = 2.0 + np.exp(0.3 + W @ [0.0, 1.2, -1.5, -0.8])
    y = y * np.exp(0.01 * rng.standard_normal(len(y)))
    block = {"ye-exp": "t_", "ye-pow": "t_", "additive": "log_C_"}[cls]

    def spread(law):
        v = np.array([p.value for n, p in law.params_.items() if n.split(".", 1)[1].startswith(block)])
        return float(np.sum((v - (v.mean() if cls == "additive" else 0.0)) ** 2))

    free = get_law(cls, alpha=0.0, n_restarts=1).fit(W, y, domains=DOMAINS)
    tight = get_law(cls, alpha=10.0, n_restarts=1).fit(W, y, domains=DOMAINS)
    assert tight.alpha_ == {"y0": 10.0}
    assert spread(tight) < 0.5 * spread(free)
    grid = GridSearchCV(get_law(cls, n_restarts=1), {"alpha": [0.0, 1e-2]}, cv=3).fit(W, y)
    assert grid.best_params_["alpha"] in (0.0, 1e-2)
