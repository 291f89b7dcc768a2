"""Design of experiments: Ye's double-diminishing grid, RegMix Dirichlet with epoch caps, subset selection."""

from __future__ import annotations

from fractions import Fraction
from itertools import product

import numpy as np
import pytest

from mixlaw.design import (
    dirichlet_design,
    double_diminishing,
    double_diminishing_candidates,
    halving_levels,
    make_design,
    max_shares,
    select_runs,
    select_subset,
)
from mixlaw.errors import InputError


def _weights(frame):
    return frame[[c for c in frame.columns if c.startswith("w:")]].to_numpy()


def test_halving_levels():
    np.testing.assert_array_equal(halving_levels(0.5, 3), [0.5, 0.25, 0.125, 0.0])
    np.testing.assert_array_equal(halving_levels(1.0, 2, include_zero=False), [1.0, 0.5])
    with pytest.raises(InputError, match="max_share"):
        halving_levels(1.5)


def test_double_diminishing_reproduces_halving_grid():
    # Independent construction with exact fractions: all level combinations, renormalised, distinct.
    levels = [Fraction(1, 2**i) for i in range(4)] + [Fraction(0)]
    expected = set()
    for combo in product(levels, repeat=3):
        s = sum(combo)
        if s:
            expected.add(tuple(x / s for x in combo))
    got = double_diminishing_candidates(["a", "b", "c"], n_levels=4)
    assert len(got) == len(expected)
    assert {tuple(Fraction(x).limit_denominator(1000) for x in row) for row in got} == expected
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(got >= 0)


def test_double_diminishing_sample_is_distinct_subset_of_grid():
    doms = ["web", "code", "books", "wiki"]
    d = double_diminishing(doms, 40, random_state=3)
    assert list(d.columns) == ["run"] + [f"w:{x}" for x in doms]
    assert d["run"].is_unique and len(d) == 40
    W = _weights(d)
    np.testing.assert_allclose(W.sum(axis=1), 1.0, atol=1e-12)
    assert len(np.unique(W.round(12), axis=0)) == 40
    grid = {tuple(r) for r in double_diminishing_candidates(doms).round(12)}
    assert all(tuple(r) in grid for r in W.round(12))
    # seeded: same seed same design, other seed other design
    np.testing.assert_array_equal(W, _weights(double_diminishing(doms, 40, random_state=3)))
    assert not np.array_equal(W, _weights(double_diminishing(doms, 40, random_state=4)))


def test_double_diminishing_caps_and_large_grid():
    m = max_shares(["web", "code", "math"], {"web": 1e12, "code": 2e9, "math": 5e8}, target_tokens=1e10,
                   max_epochs=4)
    np.testing.assert_allclose(m, [1.0, 0.8, 0.2])
    W = _weights(double_diminishing(["web", "code", "math"], 20, max_share=m, random_state=0))
    assert np.all(W <= m + 1e-12)
    # 20 domains x 6 levels is too large to list: sampled, still distinct and on the simplex.
    doms = [f"d{i}" for i in range(20)]
    W = _weights(double_diminishing(doms, 50, random_state=0))
    assert len(np.unique(W.round(12), axis=0)) == 50
    np.testing.assert_allclose(W.sum(axis=1), 1.0, atol=1e-12)


def test_double_diminishing_rejects_bad_input():
    with pytest.raises(InputError, match="larger than the 3 distinct"):
        double_diminishing(["a", "b"], 4, n_levels=1)
    with pytest.raises(InputError, match="at least two domains"):
        double_diminishing(["a"], 2)
    with pytest.raises(InputError, match="duplicate"):
        double_diminishing(["a", "a"], 2)
    with pytest.raises(InputError, match="unknown domain"):
        double_diminishing(["a", "b"], 2, max_share={"a": 1.0, "z": 0.5})
    with pytest.raises(InputError, match="not enough tokens"):
        max_shares(["a", "b"], [1e6, 1e6], target_tokens=1e9, max_epochs=4)


def test_dirichlet_respects_epoch_caps_and_prior():
    doms = ["web", "code", "math", "wiki"]
    tokens = {"web": 5e11, "code": 5e9, "math": 1e9, "wiki": 2e9}
    d = dirichlet_design(doms, 64, tokens_available=tokens, target_tokens=1e10, max_epochs=2, random_state=0)
    W = _weights(d)
    caps = max_shares(doms, tokens, 1e10, 2)
    assert np.all(W <= caps + 1e-12) and W[:, 2].max() > 0.5 * caps[2]  # caps bind, and are reached
    np.testing.assert_allclose(W.sum(axis=1), 1.0, atol=1e-12)
    assert np.all((W == 0) | (W >= 2e-4))
    assert len(np.unique(W.round(6), axis=0)) == 64
    # Around the prior: the mean share follows it (web dominant).
    d2 = dirichlet_design(doms, 200, prior={"web": 0.7, "code": 0.1, "math": 0.1, "wiki": 0.1}, random_state=1)
    assert np.argmax(_weights(d2).mean(axis=0)) == 0
    with pytest.raises(InputError, match="target_tokens"):
        dirichlet_design(doms, 4, tokens_available=tokens)
    with pytest.raises(InputError, match="prior"):
        dirichlet_design(doms, 4, prior={"web": 1.0, "code": 0.0, "math": 1.0, "wiki": 1.0})


def _ye_world(seed: int, n_domains: int = 4):
    rng = np.random.default_rng(100 + seed)
    t = np.r_[0.0, rng.uniform(-2.0, 1.5, n_domains - 1)]
    c, k = rng.uniform(1.5, 2.5), rng.uniform(0.5, 1.5)
    return rng, (lambda W: c + k * np.exp(W @ t))


def _heldout_mre(W, y, idx, Wt, yt):
    """Fit Ye's law on the runs idx (scipy least squares on log-loss, Ye's data-driven start), score on (Wt, yt).

    A direct 5-parameter least-squares fit keeps this test fast (ms per fit); the selection code itself never
    sees these fits.
    """
    from scipy.optimize import least_squares

    from mixlaw.laws.ye import ye_init

    Ws, ys = W[idx], y[idx]
    c0, lk0, t0 = ye_init(Ws, ys, 0)

    def resid(theta):
        return np.log(theta[0] + np.exp(theta[1] + Ws[:, 1:] @ theta[2:])) - np.log(ys)

    lo = np.r_[0.0, -30.0, np.full(Ws.shape[1] - 1, -30.0)]
    hi = np.r_[ys.min() * (1 - 1e-9), 30.0, np.full(Ws.shape[1] - 1, 30.0)]
    th = least_squares(resid, np.clip(np.r_[c0, lk0, t0[1:]], lo + 1e-9, hi - 1e-9), bounds=(lo, hi)).x
    pred = th[0] + np.exp(th[1] + Wt[:, 1:] @ th[2:])
    return float(np.mean(np.abs(pred - yt) / yt))


def test_subset_selection_beats_random_subsets_on_heldout_error():
    # Known Ye laws, 40 double-diminishing pilots with 1 % log-noise, keep 12; score the law refitted on the
    # subset against the noiseless truth on 300 fresh mixtures, next to 15 random 12-subsets per world.
    ratios, wins = [], []
    doms = ["a", "b", "c", "d"]
    for seed in range(8):
        rng, law = _ye_world(seed)
        W = _weights(double_diminishing(doms, 40, random_state=seed))
        y = law(W) * np.exp(0.01 * rng.standard_normal(40))
        Wt = rng.dirichlet(np.ones(4), size=300)
        yt = law(Wt)
        sel = select_subset(W, y, 12, random_state=seed)
        assert len(sel.indices) == 12 and sel.score <= sel.random_scores.min()
        e_sel = _heldout_mre(W, y, sel.indices, Wt, yt)
        e_rand = np.array([_heldout_mre(W, y, np.sort(rng.choice(40, 12, replace=False)), Wt, yt)
                           for _ in range(15)])
        ratios.append(e_sel / np.median(e_rand))
        wins.append(np.mean(e_sel < e_rand))
    assert np.mean(ratios) < 0.85, ratios
    assert np.mean(wins) > 0.6, wins


def test_select_runs_keeps_ids_and_uses_last_step():
    import pandas as pd

    from mixlaw.data import RunTable

    rng, law = _ye_world(0, n_domains=3)
    W = _weights(double_diminishing(["a", "b", "c"], 16, random_state=0))
    y = law(W) * np.exp(0.01 * rng.standard_normal(16))
    rows = []
    for i, (w, loss) in enumerate(zip(W, y, strict=True)):
        for step, extra in ((100, 0.5), (200, 0.0)):  # the step-100 losses are off by 0.5: must be ignored
            rows.append({"run": f"p{i}", "w:a": w[0], "w:b": w[1], "w:c": w[2], "loss:x": loss + extra,
                         "step": step})
    table = RunTable(pd.DataFrame(rows))
    out = select_runs(table, 8, random_state=0)
    direct = select_subset(W, y, 8, random_state=0)
    assert list(out["run"]) == [f"p{i}" for i in direct.indices]
    assert out.attrs["selection"]["criterion"] == "expected"
    with pytest.raises(InputError, match="at least 4 runs"):
        select_runs(table, 3)
    with pytest.raises(InputError, match="smaller than the number of runs"):
        select_runs(table, 16)


def test_make_design_dispatch():
    d = make_design(["a", "b", "c"], method="dirichlet", n=5, prior={"a": 0.5, "b": 0.3, "c": 0.2})
    assert d.attrs["method"] == "dirichlet" and len(d) == 5
    with pytest.raises(InputError, match="unknown design method"):
        make_design(["a", "b"], method="grid")
    with pytest.raises(InputError, match="--prior applies"):
        make_design(["a", "b"], method="double-diminishing", n=2, prior={"a": 0.5, "b": 0.5})


def _cli(capsys, *argv):
    from mixlaw.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    cap = capsys.readouterr()
    return exc.value.code, cap.out, cap.err


def test_cli_design_and_select(capsys, tmp_path):
    import json

    import pandas as pd

    from mixlaw.data import read_runs

    out = tmp_path / "design.csv"
    code, _, _ = _cli(capsys, "design", "--domains", "a,b,c", "--n", "16", "--seed", "1", "--out", str(out))
    assert code == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["run", "w:a", "w:b", "w:c"] and len(frame) == 16
    rng, law = _ye_world(1, n_domains=3)
    frame["loss:x"] = law(_weights(frame)) * np.exp(0.01 * rng.standard_normal(16))
    pilots = tmp_path / "pilot.csv"
    frame.to_csv(pilots, index=False)
    read_runs(pilots)  # a valid run table once losses are added
    code, text, _ = _cli(capsys, "design", "--select", "8", "--runs", str(pilots), "--json")
    assert code == 0
    doc = json.loads(text)
    assert len(doc["runs"]) == 8 and set(r["run"] for r in doc["runs"]) <= set(frame["run"])
    tok = tmp_path / "tokens.csv"
    tok.write_text("domain,tokens\na,1e12\nb,1e9\nc,5e8\n")
    code, text, _ = _cli(capsys, "design", "--domains", "a,b,c", "--method", "dirichlet", "--n", "10",
                         "--tokens-available", str(tok), "--target-tokens", "1e10", "--max-epochs", "4", "--json")
    assert code == 0
    W = np.array([[r["w:a"], r["w:b"], r["w:c"]] for r in json.loads(text)["runs"]])
    assert np.all(W[:, 1] <= 0.4 + 1e-12) and np.all(W[:, 2] <= 0.2 + 1e-12)


@pytest.mark.parametrize("argv, match", [
    (["design", "--domains", "a,b", "--n", "100"], "larger than the 11 distinct"),
    (["design", "--domains", "a,b", "--method", "grid"], "unknown design method"),
    (["design", "--domains", "a,b", "--method", "dirichlet", "--prior", "a=0.5,z=0.5"], "unknown domain"),
    (["design", "--n", "4"], "--domains is required"),
    (["design", "--select", "4"], "go together"),
])
def test_cli_design_bad_input_exit_2(capsys, argv, match):
    code, out, err = _cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and match in err and err.count("\n") == 1
