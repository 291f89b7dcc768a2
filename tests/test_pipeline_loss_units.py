"""The pipeline's scaling laws fit losses in any unit alike: a table whose losses are given x 1e9 (or x 1e-9) predicts
x 1e9 at the target, its step, size and joint laws' E, A, B (and k) in the losses' own unit, their exponents the same
(:mod:`mixlaw.scaling.units`).

punits28: before, the stage fits ran on the losses as given, and the engine's tests are absolute in the parameters
(E's tolerance and smallest step, the bounds of log A / log B / log k): on this world the target predictions / unit
moved by 4.5 % (nested) and 4.1 % (direct, joint+ye-exp) at x 1e9, by 0.24 % (nested) at x 1e-9, and by 43 % and
2270 % at x 1e-15.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from mixlaw.data import RunTable
from mixlaw.pipeline import fit_pipeline, load_pipeline, save_pipeline

DOMAINS = ["web", "code", "math"]
# L_i = E_i + A_i/N^alpha + B_i/S^beta + 0.5 exp(t_i . r), losses 1.6-3.5.
E = np.array([1.9, 1.2, 1.5])
A = np.array([300.0, 200.0, 250.0])
B = np.array([30.0, 20.0, 25.0])
T = np.array([[-1.5, 0.3, 0.2], [0.4, -2.0, 0.1], [0.3, -0.2, -1.8]])
SIZES, STEPS = [1e7, 2e7, 4e7, 8e7], [250, 500, 1000, 2000, 3000]
N_STAR, S_STAR = 1e9, 1e5
UNITS = [1e9, 1e-9]


def world(unit: float = 1.0, n_mix: int = 8, noise: float = 3e-3) -> RunTable:
    rng = np.random.default_rng(0)
    rows = []
    for m, w in enumerate(rng.dirichlet(np.ones(3), size=n_mix)):
        for N in SIZES:
            for S in STEPS:
                y = (E + A / N ** 0.32 + B / S ** 0.45 + 0.5 * np.exp(T @ w)) * (1 + noise * rng.standard_normal(3))
                rows.append({"run": f"m{m}-N{N:g}", "params": N, "step": S,
                             **{f"w:{d}": w[j] for j, d in enumerate(DOMAINS)},
                             **{f"loss:{d}": unit * y[j] for j, d in enumerate(DOMAINS)}})
    return RunTable(pd.DataFrame(rows))


def _fit(unit: float, route: str, **kw):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the world's few mixtures are warned of alike at every unit
        return fit_pipeline(world(unit), target_params=N_STAR, target_steps=S_STAR, route=route, law="ye-exp", **kw)


@pytest.fixture(scope="module")
def fits() -> dict[tuple[str, float], object]:
    out = {(route, unit): _fit(unit, route) for route in ("nested", "direct") for unit in [1.0, *UNITS]}
    out[("direct", 1e-15)] = _fit(1e-15, "direct")
    return out


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("route", ["nested", "direct"])
def test_target_predictions_scale_with_the_losses(fits, route: str, unit: float) -> None:  # type: ignore[no-untyped-def]
    base, scaled = fits[(route, 1.0)], fits[(route, unit)]
    np.testing.assert_allclose(scaled.target_losses / unit, base.target_losses, rtol=1e-6)
    # The mixing law fitted on them predicts alike at a mixture of no run.
    w = np.array([[0.5, 0.3, 0.2]])
    np.testing.assert_allclose(scaled.predict(w) / unit, base.predict(w), rtol=1e-6)


@pytest.mark.parametrize("unit", UNITS)
def test_step_laws_report_E_and_B_in_the_losses_unit(fits, unit: float) -> None:  # type: ignore[no-untyped-def]
    # Stage 1's (E, log B, beta) of every curve and eval: E x unit, log B + log unit, beta the same.
    a, b = fits[("nested", 1.0)].scales.laws1, fits[("nested", unit)].scales.laws1
    np.testing.assert_allclose(b[..., 0], a[..., 0] * unit, rtol=1e-6, atol=1e-6 * unit)
    np.testing.assert_allclose(b[..., 1], a[..., 1] + np.log(unit), rtol=0, atol=1e-6)
    np.testing.assert_allclose(b[..., 2], a[..., 2], rtol=0, atol=1e-6)


@pytest.mark.parametrize("unit", UNITS)
def test_joint_law_reports_E_A_B_k_in_the_losses_unit(fits, unit: float) -> None:  # type: ignore[no-untyped-def]
    # (E, log A, alpha, log B, beta, log k, t...) per eval: E x unit, the log coefficients + log unit.
    a, b = fits[("direct", 1.0)].scales.thetas, fits[("direct", unit)].scales.thetas
    np.testing.assert_allclose(b[:, 0], a[:, 0] * unit, rtol=1e-6, atol=1e-6 * unit)
    shift = np.zeros(a.shape[1])
    shift[[1, 3, 5]] = np.log(unit)
    np.testing.assert_allclose((b - shift)[:, 1:], a[:, 1:], rtol=0, atol=1e-6)


@pytest.mark.parametrize(("route", "unit"), [("nested", 1e9), ("direct", 1e9), ("direct", 1e-15)])
def test_a_saved_pipeline_in_another_unit_predicts_alike(fits, route: str, unit: float,  # type: ignore[no-untyped-def]
                                                         tmp_path) -> None:
    # At x 1e-15 the joint law's log k (-35) lies outside the fit's bounds in the losses' unit, [-30, 30]: the saved
    # file names each eval's fitting unit, which moves them, or loading it would refuse the file.
    scaled = fits[(route, unit)]
    path = tmp_path / "p.json"
    save_pipeline(scaled, path)
    back = load_pipeline(path)
    w = np.array([[0.5, 0.3, 0.2]])
    np.testing.assert_allclose(back.predict(w), scaled.predict(w), rtol=1e-12)
    np.testing.assert_allclose(back.predict(w) / unit, fits[(route, 1.0)].predict(w), rtol=1e-6)


@pytest.mark.parametrize("unit", [1e9, 1e-9])
def test_the_scaling_laws_alone_fit_losses_in_another_unit_alike(unit: float) -> None:
    # The estimators of mixlaw.scaling, as a user calls them: Chinchilla's joint law (its own engine call, not the
    # batched stages), a step law and one exponent shared by three curves.
    from mixlaw.scaling import ChinchillaLaw, StepLaw, fit_shared_exponent

    rng = np.random.default_rng(1)
    Nm, Dm = np.meshgrid([1e7, 4e7, 1.6e8, 6.4e8], [1e9, 4e9, 1.6e10])
    X = np.column_stack([Nm.ravel(), Dm.ravel()])
    y = (1.69 + 406.4 / X[:, 0] ** 0.34 + 410.7 / X[:, 1] ** 0.28) * (1 + 3e-3 * rng.standard_normal(len(X)))
    a, b = ChinchillaLaw().fit(X, y), ChinchillaLaw().fit(X, y * unit)
    np.testing.assert_allclose(b.predict([[1e10, 1e12]]) / unit, a.predict([[1e10, 1e12]]), rtol=1e-6)
    assert b.params_["E"].value == pytest.approx(a.params_["E"].value * unit, rel=1e-6)
    assert b.params_["E"].max == pytest.approx(a.params_["E"].max * unit, rel=1e-12)
    assert b.params_["log_A"].value == pytest.approx(a.params_["log_A"].value + np.log(unit), abs=1e-6)
    assert b.params_["alpha"].value == pytest.approx(a.params_["alpha"].value, abs=1e-6)
    S = np.array([250.0, 500, 1000, 2000, 4000, 8000])
    ys = 2.0 + 30.0 / S ** 0.5 * (1 + 3e-3 * rng.standard_normal(S.size))
    a, b = StepLaw().fit(S, ys), StepLaw().fit(S, ys * unit)
    np.testing.assert_allclose(b.predict([1e5]) / unit, a.predict([1e5]), rtol=1e-6)
    assert b.B == pytest.approx(a.B * unit, rel=1e-6) and b.beta == pytest.approx(a.beta, abs=1e-6)
    xs = [np.array([1e7, 2e7, 4e7])] * 3
    curves = [e + 400.0 / xs[0] ** 0.34 * (1 + 3e-3 * rng.standard_normal(3)) for e in (1.8, 2.0, 2.3)]
    Ea, lAa, alpha_a, _ = fit_shared_exponent(xs, curves)
    Eb, lAb, alpha_b, _ = fit_shared_exponent(xs, [c * unit for c in curves])
    np.testing.assert_allclose(Eb, Ea * unit, rtol=1e-6)
    np.testing.assert_allclose(lAb, lAa + np.log(unit), atol=1e-6)
    assert alpha_b == pytest.approx(alpha_a, abs=1e-6)


@pytest.mark.parametrize("units", [[1e300] * 3, [1e-300] * 3])
def test_a_hand_edited_units_field_is_named_in_the_refusal(units: list[float], tmp_path) -> None:  # type: ignore[no-untyped-def]
    # review28b: units only move the bounds of log A / log B / log k, so an edited one is caught by a theta outside
    # them; the refusal named the theta and bounds such as [640.776, 810.776], not the field that moved them.
    import json

    from mixlaw.errors import InputError

    path = tmp_path / "p.json"
    save_pipeline(_fit(1e9, "direct"), path)
    doc = json.loads(path.read_text())
    doc["state"]["scales"]["units"] = units
    path.write_text(json.dumps(doc))
    moved = r"state\.scales\.thetas: .* \(moved by its fitting unit .*, state\.scales\.units\)"
    with pytest.raises(InputError, match=moved):
        load_pipeline(path)
