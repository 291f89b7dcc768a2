"""Optimal mixture: agreement with a brute-force grid, exact constraints, multistart, steps-to-match."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import warnings

import numpy as np
import pytest
from cli_runner import run_cli as _cli

from mixlaw._json import dumps
from mixlaw.errors import DataWarning, ExtrapolationWarning, InputError
from mixlaw.fit import Param, Params
from mixlaw.laws import YeExponential
from mixlaw.laws.base import MixingLaw
from mixlaw.optimize import optimize_mixture, project_box_simplex, steps_to_match

DOMAINS = ["web", "code", "math"]
# Three evals, each helped most by its own domain, so the optima of the mean and the max are interior.
T_TRUE = np.array([[-2.0, 0.0, 0.0], [0.0, -2.5, 0.3], [0.2, 0.0, -1.8]])
C_TRUE = np.array([2.0, 2.0, 2.0])
K_TRUE = np.array([1.0, 0.9, 1.1])


def _truth(W: np.ndarray) -> np.ndarray:
    return C_TRUE + K_TRUE * np.exp(W @ T_TRUE.T)


@pytest.fixture(scope="module")
def ye_law() -> YeExponential:
    rng = np.random.default_rng(0)
    # Include the corners so the fitted range is the whole simplex (no extrapolation warnings).
    W = np.vstack([np.eye(3), rng.dirichlet(np.ones(3), size=40)])
    return YeExponential(reference="web").fit(W, _truth(W), domains=DOMAINS, targets=DOMAINS)


def _grid(step: int = 1000) -> np.ndarray:
    i, j = np.meshgrid(np.arange(step + 1), np.arange(step + 1), indexing="ij")
    keep = i + j <= step
    a, b = i[keep], j[keep]
    return np.column_stack([a, b, step - a - b]).astype(np.float64) / step


def _grid_opt(law: MixingLaw, f, mask=None) -> tuple[np.ndarray, float]:
    G = _grid()
    if mask is not None:
        G = G[mask(G)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        vals = f(np.asarray(law.predict(G)).reshape(len(G), -1))
    k = int(np.argmin(vals))
    return G[k], float(vals[k])


@pytest.mark.parametrize("objective, f", [
    ("mean", lambda L: L.mean(axis=1)),
    ("max", lambda L: L.max(axis=1)),
    ({"web": 0.3, "code": 0.7}, lambda L: 0.3 * L[:, 0] + 0.7 * L[:, 1]),
    ("code", lambda L: L[:, 1]),
])
def test_matches_grid(ye_law: YeExponential, objective, f) -> None:
    opt = optimize_mixture(ye_law, objective=objective)
    r = opt.weight_array()
    g, gval = _grid_opt(ye_law, f)
    assert np.max(np.abs(r - g)) <= 1e-3 + 1e-9
    assert opt.objective <= gval + 1e-9  # the continuous optimum is at least as good as any grid point
    assert opt.convex and opt.n_starts == 1
    assert math.isclose(float(r.sum()), 1.0, abs_tol=1e-12)


def test_callable_objective_matches_grid(ye_law: YeExponential) -> None:
    opt = optimize_mixture(ye_law, objective=lambda L: L[0] + 0.5 * L[1] ** 2)
    g, gval = _grid_opt(ye_law, lambda L: L[:, 0] + 0.5 * L[:, 1] ** 2)
    assert np.max(np.abs(opt.weight_array() - g)) <= 1e-3 + 1e-9
    assert opt.objective <= gval + 1e-9
    assert not opt.convex and opt.n_starts == 16


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_callable_objective_that_is_never_finite_is_refused(ye_law: YeExponential, bad: float) -> None:
    # hunt25: every start NaN, and the uniform start came back as the optimum with objective nan, without a word.
    with pytest.raises(InputError, match="the objective callable returned .* at the best of the 16 starts"):
        optimize_mixture(ye_law, objective=lambda L: bad * L[0])


def test_bounds_honoured_exactly(ye_law: YeExponential) -> None:
    free = optimize_mixture(ye_law, objective="mean")
    assert free.weights["code"] > 0.3  # so the bound below binds
    bounds = {"code": (0.05, 0.3), "math": (0.2, 0.9)}
    opt = optimize_mixture(ye_law, objective="mean", bounds=bounds)
    w = opt.weights
    for d, (lo, hi) in bounds.items():
        assert lo <= w[d] <= hi  # exact: no tolerance
    assert w["code"] == 0.3
    assert min(w.values()) >= 0.0
    assert math.isclose(sum(w.values()), 1.0, abs_tol=1e-12)
    assert {(a.domain, a.kind) for a in opt.active} == {("code", "upper bound")}
    g, gval = _grid_opt(ye_law, lambda L: L.mean(axis=1),
                        mask=lambda G: (G[:, 1] >= 0.05) & (G[:, 1] <= 0.3) & (G[:, 2] >= 0.2) & (G[:, 2] <= 0.9))
    assert np.max(np.abs(opt.weight_array() - g)) <= 1e-3 + 1e-9
    assert opt.objective <= gval + 1e-9


def test_availability_caps_honoured_exactly(ye_law: YeExponential) -> None:
    tokens = {"web": 1e12, "code": 2e9, "math": 1e10}
    opt = optimize_mixture(ye_law, objective="mean", tokens_available=tokens, target_tokens=1e11, max_epochs=4)
    cap = 4 * 2e9 / 1e11  # 0.08
    assert opt.weights["code"] <= cap
    assert opt.weights["code"] == pytest.approx(cap, abs=1e-12)
    assert [(a.domain, a.kind) for a in opt.active if a.domain == "code"] == [("code", "availability")]
    assert opt.upper["code"] == pytest.approx(cap)
    assert opt.natural_source == "token shares"
    assert opt.natural_weights["web"] == pytest.approx(1e12 / (1e12 + 2e9 + 1e10))
    assert opt.weights["math"] <= 0.4 and ("math", "availability") in {(a.domain, a.kind) for a in opt.active}
    g, gval = _grid_opt(ye_law, lambda L: L.mean(axis=1), mask=lambda G: (G[:, 1] <= cap + 1e-12) & (G[:, 2] <= 0.4))
    assert np.max(np.abs(opt.weight_array() - g)) <= 1e-3 + 1e-9
    assert opt.objective <= gval + 1e-9


def test_fixed_domain(ye_law: YeExponential) -> None:
    opt = optimize_mixture(ye_law, objective="mean", fixed={"math": 0.25})
    assert opt.weights["math"] == 0.25
    assert math.isclose(sum(opt.weights.values()), 1.0, abs_tol=1e-12)
    assert ("math", "fixed") in {(a.domain, a.kind) for a in opt.active}


def test_within_fitted_range() -> None:
    rng = np.random.default_rng(1)
    W = rng.dirichlet(np.ones(3), size=30) * np.array([0.4, 0.3, 0.3]) + np.array([0.6, 0.0, 0.0]) * 1
    W /= W.sum(axis=1, keepdims=True)
    law = YeExponential(reference="web").fit(W, _truth(W), domains=DOMAINS, targets=DOMAINS)
    with pytest.warns(ExtrapolationWarning, match="optimal mixture leaves the fitted range"):
        optimize_mixture(law, objective="code")
    opt = optimize_mixture(law, objective="code", within_fitted_range=True)
    lo, hi = law._w_range
    r = opt.weight_array()
    assert np.all(r >= lo) and np.all(r <= hi)
    assert any(a.kind == "fitted range" for a in opt.active)


@pytest.mark.parametrize("kwargs, match", [
    ({"bounds": {"web": (0.5, 1.0), "code": (0.6, 1.0)}}, r"lower bounds sum to 1\.1"),
    ({"bounds": {"web": (0, 0.2), "code": (0, 0.2), "math": (0, 0.2)}}, r"upper bounds sum to 0\.6"),
    ({"bounds": {"books": (0, 0.2)}}, r"unknown domain\(s\) \['books'\]"),
    ({"bounds": {"web": (0.5, 0.2)}}, r"0 <= lo <= hi <= 1"),
    ({"fixed": {"web": 0.7, "code": 0.6}}, r"fixed weights sum to 1\.3"),
    ({"fixed": {"web": 0.7}, "bounds": {"web": (0, 0.5)}}, r"outside its bounds"),
    ({"tokens_available": {"web": 1e9, "code": 1e9, "math": 1e9}, "target_tokens": 1e11, "max_epochs": 4},
     r"not enough tokens"),
    ({"target_tokens": 1e11}, r"needs tokens_available"),
    # An eval left out of the targets reads as unknown: the line says the objective reads the targets only (as
    # linear_objective's does since d65318a; 'mixlaw optimize --target pile --objective c4' did not).
    ({"objective": "books"}, r"unknown objective 'books'.* \(an eval the objective names must be among the "
                             r"targets: --target, targets=\)"),
    ({"objective": {"books": 1.0}}, r"unknown eval set\(s\) \['books'\]"),
    ({"objective": {"web": -1.0, "code": 1.0}}, r">= 0"),
])
def test_infeasible_input(ye_law: YeExponential, kwargs, match) -> None:
    with pytest.raises(InputError, match=match):
        optimize_mixture(ye_law, **kwargs)


class _TwoBasins(MixingLaw):
    """A non-convex test law: two Gaussian wells, the deeper one far from the uniform mixture."""

    A = np.array([0.40, 0.35, 0.25])
    B = np.array([0.05, 0.15, 0.80])

    def __init__(self, *, random_state: int = 0) -> None:
        self.random_state = random_state

    _parameter_constraints: dict = {}

    def _fit(self, W, Y, ctx) -> None:
        self.params_ = Params([Param("depth_a", 0.5, 0.5, 0, 1, vary=False),
                               Param("depth_b", 0.8, 0.8, 0, 1, vary=False)])
        self.results_ = {}

    def _predict(self, W, ctx):
        da = np.sum((W - self.A) ** 2, axis=1)
        db = np.sum((W - self.B) ** 2, axis=1)
        return (3.0 - 0.5 * np.exp(-da / 0.02) - 0.8 * np.exp(-db / 0.02))[:, None]


def test_multistart_finds_global_optimum_of_nonconvex_law() -> None:
    W = np.vstack([np.eye(3), np.full((1, 3), 1 / 3)])
    law = _TwoBasins().fit(W, np.full(4, 3.0), domains=DOMAINS)
    g, gval = _grid_opt(law, lambda L: L[:, 0])
    assert np.max(np.abs(g - _TwoBasins.B)) < 0.01
    single = optimize_mixture(law, objective="mean", n_starts=1)  # starts at the uniform mixture
    assert np.max(np.abs(single.weight_array() - _TwoBasins.A)) < 0.02  # stuck in the shallow well
    multi = optimize_mixture(law, objective="mean", random_state=0)
    assert not multi.convex and multi.n_starts == 16
    assert np.max(np.abs(multi.weight_array() - g)) <= 1e-3 + 1e-9
    assert multi.objective <= gval + 1e-9
    assert "finite-difference" in multi.method


def test_result_report_and_dict(ye_law: YeExponential) -> None:
    uniform = optimize_mixture(ye_law, objective="mean", bounds={"code": (0.05, 0.3)})
    assert "natural mixture (uniform, violates bounds)" in str(uniform)  # code = 1/3 > 0.3
    opt = optimize_mixture(ye_law, objective="mean", bounds={"code": (0.05, 0.3)},
                           natural={"web": 0.5, "code": 0.2, "math": 0.3})
    text = str(opt)
    assert "[[Optimal mixture]]" in text and "upper bound" in text and "natural mixture (given)" in text
    doc = json.loads(json.dumps(opt.to_dict()))
    assert doc["weights"]["code"] == opt.weights["code"]
    assert doc["active"] == [{"domain": "code", "kind": "upper bound", "value": 0.3}]
    assert opt.improvement == pytest.approx(opt.natural_objective - opt.objective)
    assert opt.improvement > 0


def test_project_box_simplex_is_exact() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        y = rng.normal(size=7)
        lo = rng.uniform(0, 0.05, size=7)
        hi = lo + rng.uniform(0.1, 0.5, size=7)
        x = project_box_simplex(y, lo, hi)
        assert np.all(x >= lo) and np.all(x <= hi)
        assert abs(x.sum() - 1.0) <= 4e-16


# ---------------------------------------------------------------------- steps to match
def test_steps_to_match_inverts_the_step_law() -> None:
    E, B, beta, S_T = 2.0, 40.0, 0.3, 100_000.0
    # An optimum worth exactly 48 % more training of the default (Ye's figure).
    L_opt = E + B / (1.48 * S_T) ** beta
    r = steps_to_match({"E": E, "B": B, "beta": beta}, L_opt, S_T)
    assert r.extra_training == pytest.approx(0.48, rel=1e-10)
    assert r.equivalent_steps == pytest.approx(1.48 * S_T, rel=1e-10)
    # Same E and beta assumed for the optimised curve: fraction = 1 / (1 + extra).
    assert r.steps_fraction == pytest.approx(1 / 1.48, rel=1e-10)
    assert r.default_loss == pytest.approx(E + B / S_T ** beta)


def test_steps_to_match_with_optimum_curve() -> None:
    E, B, beta, S_T = 2.0, 40.0, 0.3, 100_000.0
    L_def = E + B / S_T ** beta
    # An optimised curve with its own asymptote that crosses L_def at 73 % of the steps.
    E2, beta2 = 1.95, 0.35
    B2 = (L_def - E2) * (0.73 * S_T) ** beta2
    L_opt = E2 + B2 / S_T ** beta2
    r = steps_to_match((E, B, beta), L_opt, S_T, optimum_step_law=(E2, B2, beta2))
    assert r.steps_fraction == pytest.approx(0.73, rel=1e-10)
    assert r.equivalent_steps == pytest.approx((B / (L_opt - E)) ** (1 / beta), rel=1e-10)
    assert "own step law" in r.assumption


def test_steps_to_match_below_asymptote_and_bad_input() -> None:
    r = steps_to_match((2.0, 10.0, 0.5), 1.9, 100.0)
    assert math.isinf(r.equivalent_steps) and math.isinf(r.extra_training)
    # Said in words, never printed as "inf%" / "nan%" (a pipeline on a short sweep printed both lines with nan%).
    assert "worth unbounded training of the default" in str(r) and "inf" not in str(r)
    gone = dataclasses.replace(r, steps_fraction=math.nan, equivalent_steps=math.nan, extra_training=math.nan)
    assert "nan" not in str(gone) and str(gone).count("no crossing of the two curves found") == 2
    with pytest.raises(InputError, match="B > 0"):
        steps_to_match((2.0, -1.0, 0.5), 2.5, 100.0)
    with pytest.raises(InputError, match="target_steps"):
        steps_to_match((2.0, 1.0, 0.5), 2.5, 0.0)


def test_steps_to_match_json_says_why_a_figure_is_null() -> None:
    # --json wrote the printed "no crossing of the two curves found" / "worth unbounded training" as null with the
    # generic reason "not a number: undefined for these data (e.g. an R^2 or relative error with a zero
    # denominator, ...)" / "infinite: ... (e.g. a prediction that overflowed ...)" (Dai & Zheng's runs,
    # `mixlaw pipeline ... --optimize --objective weights=arxiv:0.5,github:0.5 --default uniform --json`).
    r = steps_to_match((2.0, 10.0, 0.5), 1.9, 100.0)
    doc = json.loads(dumps(r.to_dict()))
    assert doc["equivalent_steps"] is None and doc["extra_training"] is None
    assert doc["equivalent_steps_reason"].startswith("unbounded: the default never reaches the optimum's loss")
    assert doc["extra_training_reason"] == doc["equivalent_steps_reason"]
    gone = dataclasses.replace(r, steps_fraction=math.nan, equivalent_steps=math.nan, extra_training=math.nan,
                               unit="token", assumption="both curves from the pipeline at N* on 13 token counts")
    doc = json.loads(dumps(gone.to_dict()))
    for key in ("steps_fraction", "equivalent_tokens", "extra_training"):
        assert doc[key] is None
        assert doc[f"{key}_reason"] == ("no crossing of the two curves found (both curves from the pipeline at N* "
                                        "on 13 token counts)")
    assert not any(k.endswith("_reason") for k in steps_to_match((2.0, 10.0, 0.5), 2.5, 100.0).to_dict())


# ---------------------------------------------------------------------- CLI
def _write_runs(path, n: int) -> str:
    import pandas as pd

    rng = np.random.default_rng(0)
    W = np.vstack([np.eye(3), rng.dirichlet(np.ones(3), size=max(0, n - 3))])[:n]
    Y = _truth(W)
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(n)], **{f"w:{d}": W[:, j] for j, d in enumerate(DOMAINS)},
                          **{f"loss:{d}": Y[:, j] for j, d in enumerate(DOMAINS)}})
    frame.to_csv(path, index=False)
    return str(path)


def test_cli_optimize_json_and_export(capsys, tmp_path) -> None:
    runs = _write_runs(tmp_path / "runs.csv", 30)
    code, out, _ = _cli(capsys, "optimize", "--runs", runs, "--law", "ye-exp",
                        "--objective", "weights=web:0.5,code:0.5",
                        "--bounds", "code=0.05:0.3", "--bootstrap", "8", "--export", "json", "--json")
    assert code == 0
    doc = json.loads(out)
    opt = doc["optimum"]
    assert opt["weights"]["code"] == 0.3 and opt["objective_name"] == "weights=web:0.5,code:0.5"
    assert set(opt["intervals"]["weights"]) == set(DOMAINS)
    assert math.isclose(sum(d["weight"] for d in json.loads(doc["export"])), 1.0, abs_tol=1e-12)


def test_cli_optimize_names_the_nearest_run_and_takes_inline_paths(capsys, tmp_path) -> None:
    # A new user's loop (design -> sweep -> runs export -> optimize --export): the report named the nearest run by
    # its 0-based row only ("run row 2"), not by the run a sweep export names after the design (dd-005-50k), and
    # --paths, whose help reads "JSON {domain: path}", refused inline JSON ("no such file").
    import pandas as pd

    runs = _write_runs(tmp_path / "runs.csv", 30)
    frame = pd.read_csv(runs)
    paths = '{"web": "/data/web", "code": "/data/code", "math": "/data/math"}'
    code, out, err = _cli(capsys, "optimize", "--runs", runs, "--law", "ye-exp", "--objective", "mean", "--json",
                          "--export", "json", "--paths", paths)
    assert code == 0, err
    doc = json.loads(out)
    opt = doc["optimum"]
    assert opt["nearest_run_name"] == frame["run"][opt["nearest_run"]]
    assert {d["domain"]: d["path"] for d in json.loads(doc["export"])} == json.loads(paths)
    code, out, _ = _cli(capsys, "optimize", "--runs", runs, "--law", "ye-exp", "--objective", "mean")
    assert f"(run {opt['nearest_run_name']!r}, line {opt['nearest_run'] + 2};" in out  # the CSV's line
    code, out, err = _cli(capsys, "export", "--mixture", "web=0.6,code=0.4", "--format", "json", "--paths",
                          '{"web": "/w", "code": "/c"}')
    assert code == 0, err
    assert {d["domain"]: d["path"] for d in json.loads(out)} == {"web": "/w", "code": "/c"}


@pytest.mark.parametrize("args, match", [
    (["--bounds", "web=0.6:1", "--bounds", "code=0.6:1"], "infeasible bounds: lower bounds sum to 1.2"),
    (["--bounds", "books=0:0.5"], r"unknown domain\(s\) \['books'\]"),
    (["--objective", "weights=books:1"], r"unknown eval set\(s\) \['books'\]"),
    (["--bounds", "web=0.2"], "expected domain=lo:hi"),
    (["--tokens-available", "TOK", "--target-tokens", "1e12", "--max-epochs", "1"], "not enough tokens"),
    # --max-epochs with the tokens but no --target-tokens capped nothing, without a word (refused without both).
    (["--tokens-available", "TOK", "--max-epochs", "1"],
     r"max_epochs \(--max-epochs\) needs tokens_available \(--tokens-available\) and target_tokens "
     r"\(--target-tokens\)"),
])
def test_cli_optimize_bad_input_exit_2(capsys, tmp_path, args, match) -> None:
    runs = _write_runs(tmp_path / "runs.csv", 30)
    tok = tmp_path / "tok.csv"
    tok.write_text("domain,tokens\nweb,1e11\ncode,1e10\nmath,1e10\n")
    args = [str(tok) if a == "TOK" else a for a in args]
    code, out, err = _cli(capsys, "optimize", "--runs", runs, *args)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert re.search(match, err), err


def test_cli_optimize_too_few_runs_exit_2(capsys, tmp_path) -> None:
    runs = _write_runs(tmp_path / "runs.csv", 4)  # ye-exp fits 4 parameters per eval with 3 domains
    code, _, err = _cli(capsys, "optimize", "--runs", runs, "--law", "ye-exp")
    assert code == 2 and "4 observations are too few to fit 4 parameters; need at least 5" in err
    code, _, err = _cli(capsys, "optimize", "--runs", runs)  # the default, auto: no candidate fits 4 runs
    assert code == 2 and "no candidate law can be cross-validated" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("key", ["additive", "additive-ens"])
def test_additive_fast_predictions_equal_the_law(key: str) -> None:
    # The optimiser evaluates additive laws from their parameters in one array expression; it must agree with
    # law.predict exactly, zero weights included (their term drops out of the sum).
    from mixlaw.laws import get_law
    from mixlaw.optimize.objective import _LawEval

    rng = np.random.default_rng(3)
    W = rng.dirichlet(np.ones(3), size=40)
    Y = np.column_stack([2.0 + 1.0 / (0.5 * W[:, 0] ** 0.6 + 1.2 * W[:, 1] ** 0.4 + 0.8 * W[:, 2] ** 0.5),
                         _truth(W)[:, 1]]) * np.exp(rng.normal(0.0, 0.005, (40, 2)))
    law = get_law(key, random_state=0).fit(W, Y, domains=DOMAINS, targets=["a", "b"])
    ev = _LawEval(law)
    assert ev.additive is not None
    R = rng.dirichlet(np.ones(3), size=25)
    R[:5, 1] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        want = law.predict(R)
    np.testing.assert_allclose(ev.predict(R), want, rtol=1e-13, atol=0)
    assert np.mean(np.abs(ev.predict(W) / Y - 1.0)) < 0.03  # a real fit, not a degenerate one


def test_fixed_weight_outside_the_runs_range_says_which_limit() -> None:
    # mixlaw optimize --runs 122m_train.csv --fixed c4=0.5 said "outside its bounds [0.02, 0.4169]" with no --bounds
    # given: the runs' range of c4, which --extrapolate lifts.
    rng = np.random.default_rng(1)
    W = rng.dirichlet(np.ones(3), size=30) * 0.4 + np.array([0.6, 0.0, 0.0])
    law = YeExponential(reference="web").fit(W, _truth(W), domains=DOMAINS, targets=DOMAINS)
    with pytest.raises(InputError, match=r"outside its bounds .*\(the range of its weight in the fitted runs; "
                                         r"within_fitted_range=False \(extrapolate=True, --extrapolate\) lifts it\)"):
        optimize_mixture(law, fixed={"web": 0.3}, within_fitted_range=True)
    with pytest.raises(InputError, match=r"outside its bounds \[0, 0.5\] \(upper bound\)"):
        optimize_mixture(law, fixed={"web": 0.7}, bounds={"web": (0, 0.5)})
    assert optimize_mixture(law, objective="code", fixed={"web": 0.3}).weights["web"] == pytest.approx(0.3)


def test_a_law_fitted_across_scales_needs_the_scale_to_optimise_at(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`mixlaw optimize` on a sweep's run table (several sizes and checkpoints) stopped with "model_params is
    required: the law was fitted over a range of model_params" (the default auto; bimix and dz-* too): the
    optimum of a law that takes the scale depends on it. The error now says so and what to do; given the scale,
    the optimum is found."""

    from token_sweep import token_sweep

    from mixlaw.laws import get_law

    frame = token_sweep(seed=3)
    W, D = frame[["w:web", "w:code"]].to_numpy(), frame["tokens"].to_numpy()
    law = get_law("bimix").fit(W, frame[["loss:web", "loss:code"]].to_numpy(), domains=["web", "code"],
                               targets=["web", "code"], tokens=D)
    with pytest.raises(InputError, match=r"law 'bimix' was fitted across the runs' token counts \(1e\+08 to 4e\+08\) "
                                         r"and takes the scale as an input.*`mixlaw pipeline --optimize`"):
        optimize_mixture(law, objective="mean")
    opt = optimize_mixture(law, objective="mean", tokens=4e8)
    assert abs(sum(opt.weights.values()) - 1) < 1e-9
    path = tmp_path / "runs.csv"
    frame.to_csv(path, index=False)
    code, _, err = _cli(capsys, "optimize", "--runs", str(path), "--law", "bimix")
    assert code == 2 and "mixlaw optimize --tokens" in err and len(err.strip().splitlines()) == 1
    # one row per run, no params column: no cut keeps one scale, so none is offered (review33e)
    assert "keep the rows of one scale" not in err and "--final-step" not in err, err


@pytest.mark.parametrize("law", ["auto", "bimix"])
def test_optimize_runs_stops_before_the_fit_when_the_law_needs_a_scale(tmp_path, capsys, monkeypatch, law) -> None:  # type: ignore[no-untyped-def]
    """auto takes the model size and tokens whichever member it chooses, so on a sweep's table (several sizes or
    token counts) optimize always stopped with the error above, but only after auto's cross-validation: 5 min on
    Dai & Zheng's SlimPajama sweep, 31 s on the 4-size sweep of test_pipeline. It stops before any fit now (5 s)."""
    from test_pipeline import world
    from token_sweep import token_sweep

    from mixlaw.laws.base import MixingLaw

    fits: list[str] = []
    real_fit = MixingLaw.fit

    def counting_fit(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        fits.append(self.key)
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(MixingLaw, "fit", counting_fit)
    path = tmp_path / "runs.csv"
    (world(n_mix=10).frame if law == "auto" else token_sweep(seed=3)).to_csv(path, index=False)
    what = r"model sizes \(1e\+07 to 8e\+07\)" if law == "auto" else r"token counts \(1e\+08 to 4e\+08\)"
    code, _, err = _cli(capsys, "optimize", "--runs", str(path), "--law", law)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert re.search(rf"law '{law}' would be fitted across the runs' {what} and takes the scale as an input", err), err
    assert "`mixlaw optimize --pipeline p.json`" in err and fits == []
    # One scale's rows: fitted, and optimised.
    if law == "auto":
        code, out, err = _cli(capsys, "optimize", "--runs", str(path), "--law", law, "--at-params", "largest",
                              "--final-step", "--candidates", "ye-exp,linear", "--json")
        assert code == 0 and fits and abs(sum(json.loads(out)["optimum"]["weights"].values()) - 1) < 1e-9, err


@pytest.mark.parametrize("maximize", [False, True])
def test_cli_optimize_names_the_best_measured_run(capsys, tmp_path, maximize) -> None:
    # On Olmix's DCLM swarm the optimum's predicted 1.3685 was read only against the runs' mean mixture (1.8112,
    # "24 % better"); the best run had measured 1.7551, the baseline that needs no law, and the report did not say.
    import pandas as pd

    runs = _write_runs(tmp_path / "runs.csv", 30)
    frame = pd.read_csv(runs)
    if maximize:  # a higher-is-better metric: the best run is the highest
        for c in [c for c in frame.columns if c.startswith("loss:")]:
            frame[c] = 10.0 - frame[c]
        frame.to_csv(runs, index=False)
    obj = frame[["loss:web", "loss:code"]].to_numpy() @ [0.25, 0.75]
    i = int(np.argmax(obj) if maximize else np.argmin(obj))
    args = ["optimize", "--runs", runs, "--law", "ye-exp", "--objective", "weights=web:0.25,code:0.75"]
    args += ["--maximize"] * maximize
    code, out, err = _cli(capsys, *args, "--json")
    assert code == 0, err
    opt = json.loads(out)["optimum"]
    assert opt["best_run"] == {"run": frame["run"][i], "row": i, "line": i + 2,
                               "objective": pytest.approx(obj[i], rel=1e-12)}
    code, out, _ = _cli(capsys, *args)
    gain = (obj[i] - opt["objective"]) * (-1 if maximize else 1)
    assert f"best run (measured) = {obj[i]:.5g} (run {frame['run'][i]!r}, line {i + 2})   predicted gain over it = " \
           f"{gain:.4g} ({gain / obj[i]:.2%})" in out


def test_cli_optimize_says_when_the_chosen_law_ranks_no_better_than_chance(capsys, tmp_path) -> None:
    # auto chose lightgbm for arc_challenge on Olmix's update-5 swarm at an out-of-fold Spearman of 0.07 (64 runs)
    # and printed a 2.07 % improvement; nothing said its ranking of mixtures is indistinguishable from chance.
    import pandas as pd

    rng = np.random.default_rng(1)
    W = rng.dirichlet(np.ones(3), 40)
    frames = {"noise": 3 + 0.003 * W[:, 0] + 0.05 * rng.standard_normal(40),
              "signal": 3 + 0.3 * W[:, 0] + 0.005 * rng.standard_normal(40)}
    notes = {}
    for name, y in frames.items():
        p = tmp_path / f"{name}.csv"
        pd.DataFrame({"run": [f"r{i}" for i in range(40)], "w:a": W[:, 0], "w:b": W[:, 1], "w:c": W[:, 2],
                      "loss:x": y}).to_csv(p, index=False)
        code, out, err = _cli(capsys, "optimize", "--runs", str(p), "--candidates", "linear,loglinear,ye-exp")
        assert code == 0, err
        line = next(ln for ln in out.splitlines() if "the law's error on the objective" in ln)
        rho = float(re.search(r"Spearman (-?[\d.]+)", line).group(1))
        notes[name] = (rho, "does not show that the law ranks mixtures better than chance" in out)
    assert notes["noise"][0] < 2 / math.sqrt(39) and notes["noise"][1]
    assert notes["signal"][0] > 0.9 and not notes["signal"][1]


def test_a_domain_named_without_its_namespace_is_pointed_to_its_full_name(capsys, tmp_path) -> None:
    # Olmix's domains are 's2pdfv1:travel', ...: '--bounds travel=0:0.1' listed 20 of the 22 domains and stopped
    # there, without the one meant; now the error says which.
    import pandas as pd

    from mixlaw.data import known_names

    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), 30)
    p = tmp_path / "runs.csv"
    pd.DataFrame({"run": [f"r{i}" for i in range(30)], "w:ns:web": W[:, 0], "w:ns:b": W[:, 1], "w:existing": W[:, 2],
                  "loss:x": 3 - W[:, 0]}).to_csv(p, index=False)
    for option in (["--bounds", "b=0:0.2"], ["--fixed", "b=0.1"]):
        code, _, err = _cli(capsys, "optimize", "--runs", str(p), "--law", "linear", *option)
        assert code == 2 and "did you mean 'ns:b'?" in err, err
    assert known_names(["web"], ["pile/web", "ns:web", "existing"]).endswith("(did you mean 'pile/web', 'ns:web'?)")


def test_cli_optimize_of_one_eval_names_it_for_a_single_law_and_for_auto(capsys, tmp_path) -> None:
    # Olmix's update-5 swarm, --target hellaswag:rc::olmes: the header read 'objective=mean' (report: 'loss of
    # hellaswag:rc::olmes'), and auto's predicted losses had one row, 'objective'.
    import pandas as pd

    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), 40)
    p = tmp_path / "runs.csv"
    pd.DataFrame({"run": [f"r{i}" for i in range(40)], "w:a": W[:, 0], "w:b": W[:, 1], "w:c": W[:, 2],
                  "loss:hs:rc::olmes": 3 - W[:, 0] + 0.5 * W[:, 0] ** 2, "loss:other": 2 + W[:, 1]}
                 ).to_csv(p, index=False)
    for law in (["ye-pow"], ["auto", "--candidates", "ye-pow,linear"]):
        code, out, err = _cli(capsys, "optimize", "--runs", str(p), "--target", "hs:rc::olmes", "--law", *law, "--json")
        assert code == 0, err
        opt = json.loads(out)["optimum"]
        assert opt["objective_name"] == "loss of hs:rc::olmes"
        assert list(opt["losses"]) == ["hs:rc::olmes"] and list(opt["natural"]["losses"]) == ["hs:rc::olmes"]
        assert opt["losses"]["hs:rc::olmes"] == pytest.approx(opt["objective"])


def test_a_share_outside_its_bootstrap_interval_is_said(ye_law: YeExponential) -> None:
    # Olmix's update-5 swarm, bimix on hellaswag with --bootstrap 20: s2pdfv1:art_design 0.2323 beside its interval
    # [0, 0.2158], with no word; the objective's own interval has such a note.
    opt = optimize_mixture(ye_law, objective="mean")
    inside = {d: (w - 0.01, w + 0.01) for d, w in opt.weights.items()}
    opt.intervals = {"level": 0.9, "n_boot": 20, "weights": inside}
    assert "bootstrap intervals" not in str(opt)
    d = max(opt.weights, key=opt.weights.get)
    opt.intervals["weights"] = {**inside, d: (0.0, opt.weights[d] - 0.05)}
    text = str(opt)
    assert f"note: 1 of the optimum's shares lie outside their bootstrap intervals ({d} " in text
    # an optimum at its interval's end (a bound both share) is inside
    opt.intervals["weights"] = {**inside, d: (0.0, opt.weights[d])}
    assert "bootstrap intervals" not in str(opt)


def test_a_share_below_its_bootstrap_interval_and_a_failed_interval(ye_law: YeExponential) -> None:
    # The note said "the refits' optima seldom put that much there" of a share below its interval too, and listed
    # every share as outside [nan, nan] when all refits failed (the bootstrap's intervals are then NaN).
    opt = optimize_mixture(ye_law, objective="mean")
    inside = {d: (w - 0.01, w + 0.01) for d, w in opt.weights.items()}
    d = max(opt.weights, key=opt.weights.get)
    opt.intervals = {"level": 0.9, "n_boot": 20, "weights": {**inside, d: (opt.weights[d] + 0.05, 1.0)}}
    text = str(opt)
    assert "note: 1 of the optimum's shares lie outside their bootstrap intervals" in text and "that much" not in text
    opt.intervals["weights"] = {k: (float("nan"), float("nan")) for k in inside}
    assert "outside their bootstrap intervals" not in str(opt)


def test_a_domain_no_run_trains_on_is_held_at_zero_unless_bounds_name_it() -> None:
    # With the fitted range lifted, loglinear put 100 % of RegMix's pile_cc optimum on europarl, zeroed in every
    # run: the law has no evidence about that domain, only its functional form.
    from mixlaw.laws import get_law

    rng = np.random.default_rng(4)
    W = np.column_stack([rng.dirichlet(np.ones(3), size=40), np.zeros(40)])
    Y = _truth(W[:, :3]) * np.exp(rng.normal(0.0, 0.003, (40, 3)))
    doms = [*DOMAINS, "unseen"]
    law = get_law("loglinear").fit(W, Y, domains=doms, targets=DOMAINS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        opt = optimize_mixture(law, objective="code", within_fitted_range=False)
        assert opt.weights["unseen"] == 0.0 and opt.upper["unseen"] == 0.0
        assert ("unseen", "no run trains on it") in {(a.domain, a.kind) for a in opt.active}
        named = optimize_mixture(law, objective="code", bounds={"unseen": (0.0, 0.5)})
    assert named.upper["unseen"] == 0.5
    with pytest.raises(InputError, match=r"\['unseen'\] held at 0 \(no fitting run trains on them\)"):
        optimize_mixture(law, objective="code", bounds={d: (0.0, 0.2) for d in DOMAINS})


@pytest.mark.parametrize("scale", [1e-4, 1e3, 1e6])
@pytest.mark.parametrize("maximize", [False, True])
def test_the_optimum_does_not_depend_on_the_scale_of_the_objective_weights(ye_law: YeExponential, scale,
                                                                              maximize) -> None:
    """weights=a:0.4,b:0.6 and weights=a:40000,b:60000 (examples per eval set, say) are one objective: SLSQP's
    stopping rule is absolute, and on weights of 1e6 it stopped at its start (the natural mixture), said converged
    and the optimum global."""
    weights = {"web": 0.3, "code": 0.7}
    ref = optimize_mixture(ye_law, objective=weights, maximize=maximize)
    opt = optimize_mixture(ye_law, objective={k: v * scale for k, v in weights.items()}, maximize=maximize)
    np.testing.assert_allclose(opt.weight_array(), ref.weight_array(), atol=1e-6)
    assert opt.objective == pytest.approx(ref.objective * scale, rel=1e-9)
    assert opt.natural_objective == pytest.approx(ref.natural_objective * scale, rel=1e-12)
    assert opt.improvement == pytest.approx(ref.improvement * scale, rel=1e-6)
    np.testing.assert_allclose(opt.start_objectives, np.asarray(ref.start_objectives) * scale, rtol=1e-6)


def test_objective_weights_whose_sum_overflows_are_refused(ye_law: YeExponential) -> None:
    """Each weight finite, their sum inf: the objective was inf everywhere, the optimum the natural mixture and the
    improvement NaN, printed with exit 0."""
    with pytest.raises(InputError, match="objective weights must be finite.*sum"):
        optimize_mixture(ye_law, objective={"web": 1e308, "code": 1e308})


@pytest.mark.parametrize("keyword", ["mean", "total", "max"])
def test_an_eval_set_named_like_an_objective_keyword_is_warned_of(keyword) -> None:
    """A table's 'loss:total' (a summed validation loss) with --objective total was silently the sum of every eval
    set, 'total' among them; weights=total:1 is that eval set alone."""
    rng = np.random.default_rng(0)
    W = np.vstack([np.eye(3), rng.dirichlet(np.ones(3), size=40)])
    targets = [keyword, "code", "math"]
    law = YeExponential(reference="web").fit(W, _truth(W), domains=DOMAINS, targets=targets)
    with pytest.warns(DataWarning, match=rf"objective '{keyword}' is read as .* weights={keyword}:1"):
        optimize_mixture(law, objective=keyword)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        alone = optimize_mixture(law, objective={keyword: 1.0})
        optimize_mixture(law, objective="mean" if keyword != "mean" else "total")
    assert alone.objective == pytest.approx(alone.losses[keyword])


def test_constraints_given_as_lists_are_refused_as_such(ye_law) -> None:
    # hunt26: bounds=[(0, 1), (0.1, 0.2), (0, 1)] (in domain order) said "bounds: unknown domain(s) ['(0, 1)',
    # '(0.1, 0.2)']", naming its pairs as domains. (tokens_available takes a list in domain order, as the designs
    # do: test_tokens_available_takes_the_forms_the_designs_take.)
    for kw, match in (({"bounds": [(0, 1), (0.1, 0.2), (0, 1)]}, r"^bounds must be a mapping \{domain: \(lo, hi\)\}"),
                      ({"fixed": [0.1, 0.2, 0.7]}, r"^fixed must be a mapping \{domain: weight\}")):
        with pytest.raises(InputError, match=match):
            optimize_mixture(ye_law, **kw)


def test_tokens_available_takes_the_forms_the_designs_take(ye_law) -> None:
    # optimize_mixture refused tokens_available=[...] ("must be a mapping {domain: tokens}") while max_shares and
    # dirichlet_design read one in domain order: both now read it through budget.per_domain.
    from mixlaw.design import max_shares

    by_name = {"web": 1e12, "code": 2e9, "math": 1e10}
    base = optimize_mixture(ye_law, tokens_available=by_name, target_tokens=1e11)
    caps = max_shares(ye_law.domains_, by_name, 1e11)
    for form in ([1e12, 2e9, 1e10], (1e12, 2e9, 1e10), np.array([1e12, 2e9, 1e10])):
        opt = optimize_mixture(ye_law, tokens_available=form, target_tokens=1e11)
        assert opt.weights == base.weights and opt.natural_source == "token shares"
        np.testing.assert_array_equal(max_shares(ye_law.domains_, form, 1e11), caps)
    # The same refusals, in the same words, from both (max_shares stopped on numpy's bare ValueError for these).
    for bad, match in (("web=1e12", r"expected a mapping \{domain: number\} or one number per domain in domain "
                                    r"order \['web', 'code', 'math'\]; got 'web=1e12'"),
                       (["a", "b", "c"], r"one number per domain"),
                       ([1e12, 2e9], r"2 values for 3 domains")):
        for call in (lambda t: optimize_mixture(ye_law, tokens_available=t, target_tokens=1e11),
                     lambda t: max_shares(ye_law.domains_, t, 1e11)):
            with pytest.raises(InputError, match=r"^tokens_available \(--tokens-available\): .*" + match):
                call(bad)


def test_a_series_of_tokens_by_domain_is_read_by_its_labels(ye_law) -> None:
    # Since tokens_available went through budget.per_domain, a pandas Series labelled by domain (not a Mapping) was
    # read as a sequence in its own order: with math first, web got math's 1e10 (cap 0.4) and math web's 1e12, and the
    # optimum came out web 0.4 / math 0.52 for the mapping's 0.52 / 0.4, silently (before that, it was refused).
    import pandas as pd

    from mixlaw.design import max_shares

    by_name = {"web": 1e12, "code": 2e9, "math": 1e10}
    series = pd.Series(by_name)[["math", "code", "web"]]
    base = optimize_mixture(ye_law, tokens_available=by_name, target_tokens=1e11)
    assert optimize_mixture(ye_law, tokens_available=series, target_tokens=1e11).weights == base.weights
    np.testing.assert_array_equal(max_shares(ye_law.domains_, series, 1e11), max_shares(ye_law.domains_, by_name, 1e11))
    # A Series with no labels (0, 1, 2) is one count per domain in domain order, as a list is.
    plain = pd.Series([1e12, 2e9, 1e10])
    assert optimize_mixture(ye_law, tokens_available=plain, target_tokens=1e11).weights == base.weights


def test_a_tokens_file_error_names_the_option_and_the_domain(capsys, tmp_path) -> None:
    # hunt30: 'mixlaw optimize --runs two.csv --tokens-available tok3.csv --target-tokens 1B' (tok3.csv naming a
    # domain the runs lack) said "tokens_available: unknown domain(s) ['books']", the Python keyword and not the
    # option; 'design ... --tokens-available web=1B,code=0' said "tokens_available must be > 0 for every domain; got
    # {'web': 1000000000.0, 'code': 0.0}". Now the option is named, and the domain with no tokens alone.
    from mixlaw.design import max_shares

    runs = _write_runs(tmp_path / "runs.csv", 30)
    tok = tmp_path / "tok.csv"
    tok.write_text("domain,tokens\nweb,1B\ncdoe,5M\nmath,7M\n")  # hunt30b: extras alone are ignored, a typo not
    code, _, err = _cli(capsys, "optimize", "--runs", runs, "--law", "linear", "--tokens-available", str(tok),
                        "--target-tokens", "1B")
    assert code == 2 and "tokens_available (--tokens-available): unknown domain(s) ['cdoe']" in err
    code, _, err = _cli(capsys, "design", "--domains", "web,code,math", "--tokens-available", "web=1B,code=0,math=2B",
                        "--target-tokens", "1B", "--n", "3")
    assert code == 2
    assert "tokens_available (--tokens-available): tokens must be > 0 for every domain; got 'code' 0" in err
    with pytest.raises(InputError, match=r"^tokens_available \(--tokens-available\): tokens must be > 0 for every "
                                         r"domain; got 'b' -1 \("):
        max_shares(["a", "b"], {"a": 1e9, "b": -1}, 1e9)


def test_the_nearest_and_best_runs_are_named_by_their_line_in_the_file(capsys, tmp_path) -> None:
    # hunt30: 'mixlaw optimize --runs odd.csv' said "(run 'r<6>&', row 6)" of the run on line 8 (the 0-based row),
    # and of a subset of the file ('report --holdout', --at-params, a bundled split) an index into the subset that
    # is no row of the file at all ('run 168_run_00168', row 114' of Marin's file, where it is line 170). Now the
    # file's line, as the table's errors name it; the JSON keeps the 0-based row and adds the line.
    import pandas as pd

    runs = _write_runs(tmp_path / "runs.csv", 30)
    frame = pd.read_csv(runs)
    two = pd.concat([frame.assign(params=1e6), frame.assign(params=2e6, run=frame["run"] + "-2m")])
    two.to_csv(tmp_path / "two.csv", index=False)  # the 2e6 rows are lines 32-61
    code, out, err = _cli(capsys, "optimize", "--runs", str(tmp_path / "two.csv"), "--law", "linear",
                          "--at-params", "2e6", "--json")
    assert code == 0, err
    opt = json.loads(out)["optimum"]
    i, b = opt["nearest_run"], opt["best_run"]
    assert opt["nearest_run_name"] == f"r{i}-2m" and opt["nearest_run_line"] == i + 32
    assert b["run"] == f"r{b['row']}-2m" and b["line"] == b["row"] + 32
    code, out, _ = _cli(capsys, "optimize", "--runs", str(tmp_path / "two.csv"), "--law", "linear",
                        "--at-params", "2e6")
    assert f"(run 'r{i}-2m', line {i + 32};" in out and f"(run 'r{b['row']}-2m', line {b['row'] + 32})" in out
    assert ", row " not in out


def test_a_parquet_tables_runs_are_named_by_row_as_its_errors_name_them(capsys, tmp_path) -> None:
    # hunt31: 'mixlaw runs import ratios.csv+metrics.csv --out dclm.parquet' (Olmix's DCLM swarm), then 'mixlaw
    # optimize --runs dclm.parquet' said "best run (measured) = 1.4804 (run 'ndy20z54', line 58)" of a file that
    # has no lines, where the table's own errors say 'dclm.parquet: row 58'. Now 'row 58' (the JSON's keys keep
    # their names).
    import pandas as pd

    frame = pd.read_csv(_write_runs(tmp_path / "runs.csv", 30))
    frame.to_parquet(tmp_path / "runs.parquet", index=False)
    args = ["optimize", "--runs", str(tmp_path / "runs.parquet"), "--law", "linear"]
    code, out, err = _cli(capsys, *args, "--json")
    assert code == 0, err
    opt = json.loads(out)["optimum"]
    i, b = opt["nearest_run"], opt["best_run"]
    assert opt["nearest_run_line"] == i + 1 and b["line"] == b["row"] + 1  # a Parquet file's rows count from 1
    code, out, _ = _cli(capsys, *args)
    assert f"(run {opt['nearest_run_name']!r}, row {i + 1};" in out and f"(run {b['run']!r}, row {b['row'] + 1})" in out
    assert ", line " not in out
    bad = frame.copy()
    bad.loc[b["row"], "w:web"] += 0.5
    bad.to_parquet(tmp_path / "bad.parquet", index=False)
    code, _, err = _cli(capsys, "optimize", "--runs", str(tmp_path / "bad.parquet"), "--law", "linear")
    assert code != 0 and f"bad.parquet: row {b['row'] + 1}:" in err


def test_an_eval_group_no_target_names_is_refused(capsys, tmp_path) -> None:
    # hunt30: 'mixlaw optimize --runs two.csv --law linear --target web --eval-group mix=web:0.5,code:0.5' built the
    # group and printed web's optimum as if the option had not been given; fit likewise. Named in --target (or with
    # no --target, where the groups are the targets) it is fitted.
    runs = _write_runs(tmp_path / "runs.csv", 30)
    for cmd in ("optimize", "fit"):
        code, out, err = _cli(capsys, cmd, "--runs", runs, "--law", "linear", "--target", "web",
                              "--eval-group", "mix=web:0.5,code:0.5")
        assert code == 2 and out == ""
        assert "--eval-group 'mix': not among --target ['web'], so never fitted" in err, err
    code, out, err = _cli(capsys, "optimize", "--runs", runs, "--law", "linear", "--target", "web,loss:mix",
                          "--eval-group", "mix=web:0.5,code:0.5", "--json")
    assert code == 0, err
    assert set(json.loads(out)["optimum"]["losses"]) == {"web", "mix"}


def test_an_eval_group_named_with_the_loss_prefix_is_fitted_when_target_names_it(capsys, tmp_path) -> None:
    # review30b: a group named 'loss:mix' is the eval 'loss:mix', which '--target loss:mix' names (an eval's own name
    # wins over the prefix, RunTable.resolve_targets), and was fitted so before hunt30's refusal; that refusal read
    # --target with the prefix cut ('mix') and refused it: "--eval-group 'loss:mix': not among --target ['mix']".
    runs = _write_runs(tmp_path / "runs.csv", 30)
    for cmd in ("optimize", "fit"):
        code, out, err = _cli(capsys, cmd, "--runs", runs, "--law", "linear", "--target", "loss:mix",
                              "--eval-group", "loss:mix=web:0.5,code:0.5")
        assert code == 0 and "loss:mix" in out, err


def test_an_unknown_domain_in_bounds_or_fixed_names_the_option(capsys, tmp_path) -> None:
    # hunt30: 'mixlaw optimize --runs two.csv --law linear --bounds wbe=0:0.5' said "bounds: unknown domain(s)
    # ['wbe']" ('design --method active --bounds' and '--fixed' likewise), the keyword and not the option.
    runs = _write_runs(tmp_path / "runs.csv", 30)
    for opt, spec in (("--bounds", "wbe=0:0.5"), ("--fixed", "wbe=0.5")):
        code, _, err = _cli(capsys, "optimize", "--runs", runs, "--law", "linear", opt, spec)
        assert code == 2 and f"{opt[2:]} ({opt}): unknown domain(s) ['wbe']; the law's domains are" in err, err


def test_a_corpus_wide_tokens_file_is_read_for_the_laws_domains(capsys, tmp_path) -> None:
    # hunt30b: 'mixlaw optimize --runs runs.csv --tokens-available tok.csv --target-tokens 1B' (design, and optimize
    # --law law.json likewise) refused a file of the whole corpus, "unknown domain(s) ['books']", while 'export
    # --tokens-available tok.csv' took it; now the extra domains are ignored with one warning naming them, and the
    # optimum is the one of the file without them. A file that lacks a domain of the law is still refused.
    runs = _write_runs(tmp_path / "runs.csv", 30)
    (tmp_path / "tok.csv").write_text("domain,tokens\nweb,1B\ncode,5M\nmath,7M\n")
    (tmp_path / "all.csv").write_text("domain,tokens\nweb,1B\ncode,5M\nbooks,7M\nmath,7M\nwiki,1M\n")
    (tmp_path / "short.csv").write_text("domain,tokens\nweb,1B\nbooks,7M\nmath,7M\n")
    base = ["--target-tokens", "1B", "--json"]
    code, out, err = _cli(capsys, "optimize", "--runs", runs, "--law", "linear", "--tokens-available",
                          str(tmp_path / "tok.csv"), *base)
    assert code == 0 and "warning" not in err, err
    want = json.loads(out)["optimum"]["weights"]
    code, out, err = _cli(capsys, "optimize", "--runs", runs, "--law", "linear", "--tokens-available",
                          str(tmp_path / "all.csv"), *base)
    assert code == 0 and json.loads(out)["optimum"]["weights"] == want
    said = f"warning: --tokens-available {tmp_path / 'all.csv'}: domain(s) 'books', 'wiki' are not the law's; ignored"
    assert said in " ".join(err.split()) and err.count("warning:") == 1, err
    law = tmp_path / "law.json"
    assert _cli(capsys, "fit", "--runs", runs, "--law", "linear", "--out", str(law))[0] == 0
    code, out, err = _cli(capsys, "optimize", "--law", str(law), "--tokens-available", str(tmp_path / "all.csv"),
                          *base)
    assert code == 0 and "'books', 'wiki' are not the law's; ignored" in " ".join(err.split()), err
    code, out, err = _cli(capsys, "design", "--domains", "web,code,math", "--n", "3", "--tokens-available",
                          str(tmp_path / "all.csv"), "--target-tokens", "1B")
    assert code == 0 and "'books', 'wiki' are not the design's; ignored" in " ".join(err.split()), err
    for cmd in (["optimize", "--runs", runs, "--law", "linear"], ["design", "--domains", "web,code,math", "--n", "3"]):
        code, _, err = _cli(capsys, *cmd, "--tokens-available", str(tmp_path / "short.csv"), "--target-tokens", "1B")
        assert code == 2 and "tokens_available (--tokens-available): unknown domain(s) ['books']" in err, err
