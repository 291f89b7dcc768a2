"""Step, size and joint (N, D) laws recover known parameters (issue 4 acceptance)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from mixlaw.errors import InputError, NotFittedError
from mixlaw.optimize import steps_to_match
from mixlaw.scaling import ChinchillaLaw, SizeLaw, StepLaw


def _noisy(y: np.ndarray, rel: float, seed: int) -> np.ndarray:
    return y * (1 + rel * np.random.default_rng(seed).standard_normal(y.shape))


def test_step_law_recovers_parameters_noise_free() -> None:
    S = np.geomspace(100, 5000, 8)
    law = StepLaw().fit(S, 2.3 + 41.0 / S ** 0.52)
    assert_allclose([law.E, law.B, law.beta], [2.3, 41.0, 0.52], rtol=1e-4)
    assert np.max(np.abs(law.residuals_)) < 1e-7


def test_step_law_with_noise_extrapolates_within_half_a_percent() -> None:
    # 0.1 % noise on 10 checkpoints up to 5k steps; extrapolating 20x further stays within 0.5 %.
    S = np.geomspace(200, 5000, 10)
    truth = 3.0 + 25.0 / S ** 0.4
    law = StepLaw().fit(S, _noisy(truth, 1e-3, 1))
    assert_allclose(law.predict([1e5]), 3.0 + 25.0 / 1e5 ** 0.4, rtol=5e-3)
    assert_allclose(law.beta, 0.4, rtol=0.25)


def test_size_law_recovers_parameters() -> None:
    N = np.array([1e7, 3e7, 1e8, 3e8, 1e9])
    law = SizeLaw().fit(N, 1.8 + 400.0 / N ** 0.34)
    assert_allclose([law.E, law.A, law.alpha], [1.8, 400.0, 0.34], rtol=1e-3)
    # Four sizes with 0.05 % noise: the exponent within 10 %, the 10x extrapolation within 0.5 %.
    N4 = N[:4]
    law4 = SizeLaw().fit(N4, _noisy(1.8 + 400.0 / N4 ** 0.34, 5e-4, 2))
    assert_allclose(law4.alpha, 0.34, rtol=0.1)
    assert_allclose(law4.predict([3e9]), 1.8 + 400.0 / 3e9 ** 0.34, rtol=5e-3)


def test_chinchilla_law_recovers_hoffmann_parameters() -> None:
    N, D = np.meshgrid(np.geomspace(1e7, 1e9, 5), np.geomspace(1e9, 1e11, 5))
    X = np.column_stack([N.ravel(), D.ravel()])
    y = 1.69 + 406.4 / X[:, 0] ** 0.34 + 410.7 / X[:, 1] ** 0.28
    law = ChinchillaLaw().fit(X, y)
    p = {k: v.value for k, v in law.params_.items()}
    assert_allclose([p["E"], np.exp(p["log_A"]), p["alpha"], np.exp(p["log_B"]), p["beta"]],
                    [1.69, 406.4, 0.34, 410.7, 0.28], rtol=2e-3)
    # With 0.1 % noise the prediction at 10x the largest N and D stays within 1 %.
    noisy = ChinchillaLaw().fit(X, _noisy(y, 1e-3, 3))
    target = 1.69 + 406.4 / 1e10 ** 0.34 + 410.7 / 1e12 ** 0.28
    assert_allclose(noisy.predict([[1e10, 1e12]]), target, rtol=1e-2)


def test_step_law_plugs_into_steps_to_match() -> None:
    S = np.geomspace(100, 5000, 8)
    law = StepLaw().fit(S, 2.0 + 10.0 / S ** 0.5)
    r = steps_to_match(law, optimum_loss=2.0 + 10.0 / 400.0 ** 0.5, target_steps=100.0)
    assert_allclose(r.extra_training, 3.0, rtol=1e-3)


def test_bad_input() -> None:
    with pytest.raises(InputError, match="3 parameters"):
        StepLaw().fit([100, 200], [3.0, 2.9])
    with pytest.raises(InputError, match="> 0"):
        SizeLaw().fit([0, 1e7, 2e7], [3.0, 2.9, 2.8])
    with pytest.raises(InputError, match="shape"):
        ChinchillaLaw().fit([1e7, 2e7, 4e7], [3.0, 2.9, 2.8])
    with pytest.raises(NotFittedError):
        StepLaw().predict([10.0])


def test_to_dict_round_numbers() -> None:
    S = np.geomspace(100, 5000, 8)
    d = StepLaw().fit(S, 2.3 + 41.0 / S ** 0.52).to_dict()
    assert d["law"] == "StepLaw" and set(d["params"]) == {"E", "log_B", "beta"}
    assert d["max_rel_residual"] < 1e-6


def test_shared_exponent_recovers_parameters() -> None:
    from mixlaw.scaling import fit_shared_exponent

    N = np.array([2e6, 4e6, 8e6])  # 3 points per curve: only identifiable with the exponent shared
    Es, As = 1.5 + 0.1 * np.arange(5), 100.0 + 20.0 * np.arange(5)
    E, logA, a, res = fit_shared_exponent([N] * 5, [e + b / N ** 0.3 for e, b in zip(Es, As, strict=True)])
    assert_allclose(a, 0.3, rtol=1e-5)
    assert_allclose(E, Es, rtol=1e-5)
    assert_allclose(np.exp(logA), As, rtol=1e-4)
    with pytest.raises(InputError, match="too few"):
        fit_shared_exponent([N[:2]], [np.array([3.0, 2.9])])


def test_report_lists_parameters_and_statistics() -> None:
    S = np.geomspace(100, 5000, 8)
    rep = StepLaw().fit(S, _noisy(2.3 + 41.0 / S ** 0.52, 1e-3, 4)).report("synthetic")
    text = str(rep)
    assert text.startswith("[[StepLaw]]") and "beta" in text and "Levenberg-Marquardt" in text and "±" in text
    d = rep.to_dict()
    assert set(d["params"]) == {"E", "log_B", "beta"} and d["stats"]["n_obs"] == 8
    assert 0 < d["stats"]["MAPE"] < 3e-3
