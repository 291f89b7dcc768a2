"""ye-exp on an eval that does not depend on the mixture: the constant, and a warning that says so.

On Ye's public RedPajama runs (grouped Pile evals) ye-exp put log_k on its lower bound for a group whose losses
spread 6 % without following the shares (F-test p = 0.96): a step fitted to a few runs, reported as a bare
"log_k at lower bound -30" as if the fit had failed.
"""

import numpy as np
import pytest

from mixlaw.laws._flat import FLAT_P, mixture_dependence_pvalue
from mixlaw.laws.ye import YeExponential

NOISE = 0.003  # log-normal noise of the synthetic losses


def _table(seed: int, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Shares of 4 domains; one eval flat in the mixture (3.0 x noise), one following Ye's law."""
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(4), size=n)
    flat = 3.0 * np.exp(rng.normal(0, NOISE, n))
    dep = (2.0 + 1.5 * np.exp(W @ np.array([0.0, -1.0, 0.5, 0.3]))) * np.exp(rng.normal(0, NOISE, n))
    return W, np.c_[flat, dep]


def _fit(W: np.ndarray, Y: np.ndarray) -> YeExponential:
    return YeExponential().fit(W, Y, domains=["a", "b", "c", "d"], targets=["flat", "dep"])


def test_flat_eval_predicts_its_constant_and_says_it_is_flat():
    # Seed 3: the unpenalised fit of the flat eval is a step (log_k at its lower bound, t up to 35).
    W, Y = _table(3)
    law = _fit(W, Y)
    (msg,) = law.results_["flat"].warnings
    assert "does not depend on the mixture within noise" in msg and "bound" in msg
    assert law.results_["dep"].warnings == []
    held_out = np.random.default_rng(99).dirichlet(np.ones(4), size=200)
    for X in (W, held_out, np.eye(4)):
        pred = law.predict(X)
        # Constant within noise: every mixture, including the vertices, at the flat eval's typical loss.
        assert np.ptp(pred[:, 0]) < 1e-12
        assert abs(np.log(pred[0, 0] / 3.0)) < 3 * NOISE
    p = law.params_
    assert all(p[f"flat.t_{d}"].value == 0.0 for d in "abcd")
    assert p["flat.log_k"].value == p["flat.log_k"].min
    # The fit's record matches its parameters: residuals and objective of the constant.
    res = law.results_["flat"]
    assert np.allclose(res.residuals, np.log(law.predict(W)[:, 0] / Y[:, 0]))
    assert res.objective > 0
    # The eval that follows the mixture keeps Ye's law (t relative to the reference domain).
    t = np.array([p[f"dep.t_{d}"].value for d in "abcd"])
    ref = int(np.argmax(t == 0.0))
    assert np.allclose(t - t[ref], np.array([0.0, -1.0, 0.5, 0.3]) - [0.0, -1.0, 0.5, 0.3][ref], atol=0.15)


@pytest.mark.parametrize("seed", range(6))
def test_flat_warning_only_for_the_flat_eval(seed):
    """Whether or not the flat eval's fit is a step, the eval that depends on the mixture gets no warning, and the
    flat one never gets a bare bound warning."""
    W, Y = _table(seed)
    law = _fit(W, Y)
    assert law.results_["dep"].warnings == []
    for msg in law.results_["flat"].warnings:
        assert "does not depend on the mixture within noise" in msg
    pred = law.predict(W)[:, 0]
    assert np.all(np.abs(np.log(pred / 3.0)) < 4 * NOISE)


def test_pvalue_tells_flat_from_dependent():
    flat_p, dep_p = [], []
    for seed in range(100):
        W, Y = _table(seed)
        flat_p.append(mixture_dependence_pvalue(W, Y[:, 0]))
        dep_p.append(mixture_dependence_pvalue(W, Y[:, 1]))
    # About FLAT_P of the flat evals look dependent by chance; none of the dependent ones look flat.
    assert np.mean(np.array(flat_p) < FLAT_P) < 2 * FLAT_P
    assert max(dep_p) < 1e-10
    W, _ = _table(0)
    assert mixture_dependence_pvalue(W, np.full(len(W), 3.0)) == 1.0
    assert mixture_dependence_pvalue(W[:4], np.full(4, 3.0)) is None  # 4 runs, 4 domains: no residual


@pytest.mark.parametrize("bounds", [{"log_k": (-4.0, 30.0)}, {"flat.c": (0.0, 2.5)}])
def test_flat_constant_is_the_losses_level_under_user_bounds(bounds):
    # The constant prediction is c + exp(log_k): with log_k >= -4 c was set to the level and k's exp(-4) = 0.018
    # added on top (1.3 % off); with c <= 2.5 c was clipped to 2.5 and 'the constant' predicted 2.5 for losses of
    # 3.0 (19 % off). The level is kept, or the unconstrained fit where the bounds cannot reach it.
    W, Y = _table(3)
    law = YeExponential(bounds=bounds).fit(W, Y, domains=["a", "b", "c", "d"], targets=["flat", "dep"])
    pred = law.predict(W)[:, 0]
    assert np.max(np.abs(np.log(pred / Y[:, 0]))) < 3 * NOISE
    for msg in law.results_["flat"].warnings:
        assert "predicts its constant loss c = 2.5" not in msg
