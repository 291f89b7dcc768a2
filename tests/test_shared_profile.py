"""Curves sharing one exponent, fitted by profiling the exponent out (mixlaw.scaling.shared_profile): from
PROFILE_MIN_CURVES curves on, instead of one Levenberg-Marquardt solve in 2G + 1 parameters whose iterations cost
n G^2 (53 s against 2.4 s for two eval sets of 512 curves; a 512-mixture steps-only pipeline 160 s -> 11 s)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import mixlaw.scaling.batched as batched
from mixlaw.scaling import fit_shared_exponents


def _problems(G: int, K: int, seed: int, noise: float = 0.004, ragged: bool = False):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    steps = np.geomspace(500, 4000, 8)
    probs, truth = [], []
    for k in range(K):
        a = 0.3 + 0.1 * k
        E, A = rng.uniform(1.5, 2.5, G), rng.uniform(0.5, 1.5, G) * 500 ** a
        xs, ys = [], []
        for g in range(G):
            x = steps[: 5 + g % 4] if ragged else steps  # curves of 5-8 checkpoints: padded rows
            xs.append(x)
            ys.append((E[g] + A[g] * x ** -a) * (1 + noise * rng.standard_normal(x.size)))
        probs.append((xs, ys))
        truth.append((E, np.log(A), a))
    return probs, truth


def _both(probs, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(batched, "PROFILE_MIN_CURVES", 10**9)
    joint = fit_shared_exponents(probs)
    monkeypatch.setattr(batched, "PROFILE_MIN_CURVES", 1)
    return joint, fit_shared_exponents(probs)


@pytest.mark.parametrize("ragged", [False, True])
def test_the_profile_reaches_the_joint_fit_s_optimum(monkeypatch, ragged: bool) -> None:  # type: ignore[no-untyped-def]
    probs, _ = _problems(G=40, K=2, seed=0, ragged=ragged)
    joint, prof = _both(probs, monkeypatch)
    for (E1, lA1, a1, r1), (E2, lA2, a2, r2) in zip(joint, prof, strict=True):
        assert "profiled out" in r2.method and "profiled out" not in r1.method
        assert_allclose(a2, a1, rtol=1e-5)
        assert_allclose(E2, E1, rtol=1e-5, atol=1e-6)
        assert_allclose(lA2, lA1, rtol=1e-5, atol=1e-5)
        assert_allclose(r2.objective, r1.objective, rtol=1e-8)
        assert r2.n_converged == r1.n_converged == 1
        assert r2.n_obs == r1.n_obs and r2.n_vary == r1.n_vary
        assert_allclose(r2.residuals, r1.residuals, atol=1e-6)
        # Gauss-Newton standard errors from the arrowhead J^T J = the dense ones
        assert_allclose(r2.params.array("stderr"), r1.params.array("stderr"), rtol=1e-3)


def test_the_profile_recovers_known_exponents() -> None:
    probs, truth = _problems(G=batched.PROFILE_MIN_CURVES, K=3, seed=1, noise=0.0)
    got = fit_shared_exponents(probs)
    for (E, lA, a, r), (E0, lA0, a0) in zip(got, truth, strict=True):
        assert "profiled out" in r.method
        assert_allclose(a, a0, rtol=1e-5)
        assert_allclose(E, E0, rtol=1e-4)
        assert_allclose(lA, lA0, rtol=1e-4)


def test_a_bound_is_named_as_by_the_joint_fit(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Curves with no floor (E = 0, its lower bound): the fit report's words for a parameter at a bound.
    rng = np.random.default_rng(2)
    x = np.geomspace(100, 3200, 6)
    probs = [([x] * 30, [3.0 * x ** -0.2 * (1 + 0.002 * rng.standard_normal(x.size)) for _ in range(30)])]
    joint, prof = _both(probs, monkeypatch)
    assert any("E" in w and "lower bound 0" in w for w in prof[0][3].warnings)
    assert sorted(prof[0][3].warnings) == sorted(joint[0][3].warnings)
