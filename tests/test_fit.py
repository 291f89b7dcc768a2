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


def test_squared_error_loss_recovers_parameters():
    # loss="mse" is a documented option of the engine and of every law; it once crashed on a typo
    x, y = data(noise=0.01)
    res = fit_model(power_model(x), spec(), y, loss="mse", rng=np.random.default_rng(0))
    np.testing.assert_allclose(res.params.array(), [1.7, 8.0, 0.55], rtol=0.05)
    assert "squared error" in res.method


def test_squared_error_loss_through_the_cli(tmp_path):
    from typer.testing import CliRunner

    from mixlaw.cli import app

    rng = np.random.default_rng(0)
    w = rng.dirichlet(np.ones(3), 40)
    loss = 2.0 + 0.5 * np.exp(-2.0 * w[:, 0]) * (1 + 0.005 * rng.standard_normal(40))
    lines = ["run,w:a,w:b,w:c,loss:a"] + [f"r{i},{a},{b},{1 - a - b},{y}" for i, ((a, b, _), y) in
                                          enumerate(zip(w, loss, strict=True))]
    (tmp_path / "runs.csv").write_text("\n".join(lines) + "\n")
    res = CliRunner().invoke(app, ["fit", "--runs", str(tmp_path / "runs.csv"), "--law", "ye-exp",
                                   "--law-option", "loss=mse"])
    assert res.exit_code == 0, res.output
    assert "squared error" in res.output


def test_per_eval_law_refuses_a_bound_that_names_no_parameter():
    # mixlaw fit --law ye-exp --law-option 'bounds={"nonsense": [-0.1, 0.1]}' on Dai & Zheng's 122M runs fitted as
    # if no bound had been given (so did README's t_code on runs without a code domain).
    from mixlaw import get_law

    W = np.random.default_rng(0).dirichlet(np.ones(3), 30)
    Y = np.column_stack([2 + np.exp(W @ [0.0, -1.0, 0.5]), 3 + np.exp(W @ [0.0, 0.5, -1.0])])
    kw = {"domains": ["a", "b", "c"], "targets": ["x", "y"]}
    for opt in ({"bounds": {"t_code": (-5, 5)}}, {"fixed": {"z.c": 1.0}}):
        with pytest.raises(InvalidParameterError, match="unknown parameter"):
            get_law("ye-exp", **opt).fit(W, Y, **kw)
    law = get_law("ye-exp", bounds={"t_b": (-0.1, 0.1)}, fixed={"y.c": 2.5}).fit(W, Y, **kw)
    assert law.params_["x.t_b"].max == 0.1 and law.params_["y.t_b"].min == -0.1 and law.params_["y.c"].value == 2.5


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "abc", None])
def test_a_fixed_value_that_is_not_finite_is_refused(value):
    # get_law("ye-exp", fixed={"c": nan}) fitted every start to a NaN objective and said "no start reached a finite
    # objective (8 starts); check the data or widen the bounds": the data was fine, the option was not.
    from mixlaw import get_law

    W = np.random.default_rng(0).dirichlet(np.ones(3), 30)
    with pytest.raises(InvalidParameterError, match=r"'fixed' parameter of YeExponential: '(y0\.)?c' must be a finite"):
        get_law("ye-exp", fixed={"c": value}).fit(W, 2 + np.exp(W @ [0.0, -1.0, 0.5]), domains=["a", "b", "c"])


@pytest.mark.parametrize("n_mix, warns", [(1, True), (2, True), (5, False)])
def test_seeds_of_too_few_mixtures_are_warned_of(n_mix, warns) -> None:
    """8 seeds of one mixture passed the row count (8 losses > 4 parameters of ye-exp) and reported 'dof=4' with
    t_books = -79.7: repeats of one mixture count once."""
    import warnings

    from mixlaw.errors import DataWarning
    from mixlaw.laws import get_law

    rng = np.random.default_rng(0)
    W = np.repeat(rng.dirichlet(np.ones(3), size=n_mix), 24 // n_mix, axis=0)
    y = 2.0 + np.exp(W @ [0.5, -1.0, 0.3]) + rng.normal(0.0, 0.005, len(W))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        get_law("ye-exp").fit(W, y, domains=["web", "code", "books"])
    said = [str(w.message) for w in caught if issubclass(w.category, DataWarning) and "distinct" in str(w.message)]
    assert bool(said) == warns
    if warns:
        assert f"the 24 runs hold {n_mix} distinct mixture" in said[0] and "4 parameters" in said[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        get_law("linear").fit(W, y, domains=["web", "code", "books"])  # a leave-one-out ridge is regularised


def test_a_target_or_domain_named_twice_is_an_input_error(tmp_path, capsys) -> None:
    """--target a --target a (and fit(W, Y, targets=['x', 'x']) or domains=['a', 'a', 'c']) stopped on a
    ValueError 'duplicate parameter name' from deep in the fit, with a traceback and exit 1."""
    from cli_runner import run_cli

    from mixlaw.errors import InputError
    from mixlaw.laws import get_law

    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=20)
    Y = np.column_stack([2 + W[:, 0], 2 + W[:, 1]])
    with pytest.raises(InputError, match=r"target name\(s\) \['x'\] given twice \(targets=\)"):
        get_law("ye-exp").fit(W, Y, domains=["a", "b", "c"], targets=["x", "x"])
    with pytest.raises(InputError, match=r"domain name\(s\) \['a'\] given twice \(domains=\)"):
        get_law("ye-exp").fit(W, Y, domains=["a", "a", "c"], targets=["x", "y"])
    path = tmp_path / "runs.csv"
    import pandas as pd

    pd.DataFrame({"run": [f"r{i}" for i in range(20)], **{f"w:{d}": W[:, j] for j, d in enumerate("abc")},
                  "loss:x": Y[:, 0], "loss:y": Y[:, 1]}).to_csv(path, index=False)
    for args in (["--target", "x", "--target", "x"], ["--target", "x,loss:x"]):
        code, _, err = run_cli(capsys, "fit", "--runs", str(path), "--law", "ye-exp", *args)
        assert code == 2 and "target 'x' is named twice (targets=, --target)" in err and "Traceback" not in err


def test_additive_ens_says_its_repeated_mixtures_once_by_its_own_name() -> None:
    """additive-ens on 5 mixtures x 4 seeds said it three times: once as itself and once per member ('additive')."""
    import warnings

    from mixlaw.errors import DataWarning
    from mixlaw.laws import get_law

    rng = np.random.default_rng(0)
    W = np.repeat(rng.dirichlet(np.ones(3), size=5), 4, axis=0)
    y = 2.0 + np.exp(W @ [1.0, -1.0, 0.2]) + rng.normal(0.0, 0.01, len(W))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        get_law("additive-ens").fit(W, y)
    said = [str(w.message) for w in caught if issubclass(w.category, DataWarning) and "distinct" in str(w.message)]
    assert len(said) == 1 and said[0].startswith("law 'additive-ens': the 20 runs hold 5 distinct mixtures")
