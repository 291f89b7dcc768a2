"""The shared fitting engine: recovery, bounds, warnings, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from mixlaw import ConvergenceWarning, FitError, InvalidParameterError
from mixlaw.fit import Param, Params, fit_model, huber


def power_model(x):
    """L = E + A x^-alpha, with its Jacobian (the shape every scaling law has)."""
    def model(theta):
        E, A, a = theta
        p = x ** -a
        jac = np.column_stack([np.ones_like(x), p, -A * p * np.log(x)])
        return E + A * p, jac
    return model


def spec(**over):
    base = {"E": Param("E", 1.0, 1.0, 0.0, 10.0), "A": Param("A", 5.0, 5.0, 1e-6, 1e3),
            "alpha": Param("alpha", 0.3, 0.3, 0.01, 2.0)}
    base.update(over)
    return Params(list(base.values()))


def data(noise=0.0, seed=0):
    x = np.geomspace(1, 1000, 40)
    y = power_model(x)(np.array([1.7, 8.0, 0.55]))[0]
    return x, y * np.exp(noise * np.random.default_rng(seed).standard_normal(x.size))


def test_recovers_known_parameters_with_noise():
    x, y = data(noise=0.01)
    res = fit_model(power_model(x), spec(), y, rng=np.random.default_rng(0))
    np.testing.assert_allclose(res.params.array(), [1.7, 8.0, 0.55], rtol=0.05)
    assert res.n_converged >= 1 and res.n_starts == 8
    se = res.params["alpha"].stderr
    assert se is not None and 0 < se < 0.05


def test_same_seed_same_parameters():
    x, y = data(noise=0.01)
    a = fit_model(power_model(x), spec(), y, rng=np.random.default_rng(3)).params.array()
    b = fit_model(power_model(x), spec(), y, rng=np.random.default_rng(3)).params.array()
    np.testing.assert_array_equal(a, b)


def test_parameter_on_bound_is_reported():
    x, y = data()
    res = fit_model(power_model(x), spec(E=Param("E", 0.5, 0.5, 0.0, 1.0)), y)
    assert any("E at upper bound 1" in w for w in res.warnings)


def test_fixed_parameter_stays_put():
    x, y = data()
    res = fit_model(power_model(x), spec(alpha=Param("alpha", 0.55, 0.55, 0.01, 2.0, vary=False)), y)
    assert res.params["alpha"].value == 0.55 and res.n_vary == 2
    np.testing.assert_allclose(res.params.array()[:2], [1.7, 8.0], rtol=1e-4)


def test_no_finite_start_raises_fit_error():
    def bad(theta):
        return np.full(3, np.nan), np.zeros((3, 1))
    with pytest.raises(FitError, match="no start reached a finite objective"):
        fit_model(bad, Params([Param("a", 1.0, 1.0, 0, 2)]), np.ones(3), n_starts=2)


def test_nothing_converged_warns():
    x, y = data(noise=0.02)
    with pytest.warns(ConvergenceWarning, match="no start converged"):
        fit_model(power_model(x), spec(), y, n_starts=2, max_iter=1)


def test_param_bounds_are_checked():
    with pytest.raises(InvalidParameterError, match="min=2.0 must be < max=1.0"):
        Param("a", 1.0, 1.0, 2.0, 1.0)
    with pytest.raises(InvalidParameterError, match="outside its bounds"):
        Param("a", 5.0, 5.0, 0.0, 1.0)
    with pytest.raises(InvalidParameterError, match="unknown parameter 'nope'"):
        spec().apply_overrides({"nope": (0, 1)}, None, "Law")


def test_huber_is_quadratic_inside_linear_outside():
    rho, psi = huber(np.array([0.0005, 0.01]), 1e-3)
    np.testing.assert_allclose(rho, [0.5 * 0.0005 ** 2, 1e-3 * (0.01 - 0.5e-3)])
    np.testing.assert_allclose(psi, [0.0005, 1e-3])
