"""The end-to-end training demo: a toy-scale run of the whole flow, its resume, and the nested size route."""

from __future__ import annotations

import dataclasses
import sqlite3

import numpy as np
import pytest

pytest.importorskip("torch")

from mixlaw.train import demo  # noqa: E402
from mixlaw.train.demo import predict_at_size, run_train_demo  # noqa: E402

# 8 mixtures: Ye's law has 7 free parameters per eval domain (c, k, 5 interactions), the engine needs more runs.
# The smallest sizes a sweep builds (1-2 layers, 32-64 wide): the flow and its resume are under test, not the losses.
TINY = dict(workers=1, n_mixtures=8, sizes=("0.01M", "0.02M", "0.05M"), tokens="6k", target_size="0.1M",
            eval_tokens=512, max_mb=0.2, progress=False)


def _counts(db):
    with sqlite3.connect(db) as c:
        return (c.execute("select count(*) from runs").fetchone()[0],
                c.execute("select count(*) from checkpoints").fetchone()[0],
                c.execute("select count(*) from runs where status != 'done'").fetchone()[0])


def test_demo_flow_and_resume(tmp_path, monkeypatch):
    # One torch thread per run, as every other training test here (tiny_config, test_sweep's BASE): the demo's sweep
    # gives each run os.cpu_count() // workers threads, 2 on CI's 2 cores beside the other pytest-xdist worker,
    # where they spin: 72.5 s against 10.9 s with one thread (9.4 s and 9.2 s on a quiet machine), -n 0 on 2 shared
    # cores. num_threads is not in the run id: the same runs, the same store.
    base = demo.base_config
    monkeypatch.setattr(demo, "base_config", lambda *a: dataclasses.replace(base(*a), num_threads=1))
    r = run_train_demo(tmp_path, **TINY)
    assert [row["mixture"] for row in r.rows] == ["optimum", "uniform", "natural"]
    assert r.n_proxy_runs == 24 and len(r.proxy_params) == 3 and r.target_params > max(r.proxy_params)
    assert r.objective == "math"
    nat = r.rows[2]["weights"]
    assert max(nat.values()) > 2 * min(nat.values())  # the natural mixture is skewed by the corpus caps
    for row in r.rows:
        # 8 toy mixtures leave 7 runs per CV fold: too few for ye-exp's 7 parameters, so no interval
        assert row["measured_objective"] == row["measured"]["math"] and np.isnan(row["interval"])
        assert np.isfinite(row["predicted_mean"]) and row["predicted_mean"] > 0
        assert np.isfinite(row["measured_mean"]) and row["measured_mean"] > 0
        assert np.isfinite(row["mre"])
        assert abs(sum(row["weights"].values()) - 1) < 1e-9
        assert set(row["predicted"]) == set(row["measured"]) == set(r.domains)
    text = str(r)
    for word in ("optimum", "uniform", "natural", "predicted", "measured", "MRE", "verdict: "):
        assert word in text
    assert sum(line.startswith("verdict: ") for line in text.splitlines()) == 1
    assert "verdict: no interval" in text and not r.optimum_wins
    proxies, targets = _counts(tmp_path / "runs.db"), _counts(tmp_path / "target.db")
    assert proxies[0] == 24 and proxies[2] == 0 and targets[0] <= 3 and targets[2] == 0

    r2 = run_train_demo(tmp_path, **TINY)  # resumes: nothing retrained, nothing duplicated
    assert (_counts(tmp_path / "runs.db"), _counts(tmp_path / "target.db")) == (proxies, targets)
    assert [row["measured"] for row in r2.rows] == [row["measured"] for row in r.rows]
    assert [row["predicted"] for row in r2.rows] == [row["predicted"] for row in r.rows]


def test_predict_at_size_recovers_a_synthetic_world():
    """Losses E_i + A_i(r) N^-alpha_i with a Ye-form A_i(r): the nested route predicts the target size."""
    rng = np.random.default_rng(0)
    M, G = 3, 12
    W = rng.dirichlet(np.full(M, 3.0), size=G)
    sizes = np.array([3e4, 6e4, 1.2e5])
    E, alpha = np.array([1.0, 1.5, 0.8]), np.array([0.3, 0.5, 0.4])
    T = np.array([[-2.0, 0.5, 0.3], [0.4, -1.5, 0.2], [0.1, 0.6, -2.5]])

    def truth(w, n):
        return E + 40.0 * np.exp(w @ T.T) * n ** -alpha

    Ws = np.repeat(W, len(sizes), axis=0)
    Ns = np.tile(sizes, G)
    Y = np.array([truth(w, n) for w, n in zip(Ws, Ns, strict=True)])
    pred = predict_at_size(Ws, Ns, Y, ["a", "b", "c"], 4e5, random_state=0)
    test = rng.dirichlet(np.full(M, 3.0), size=5)
    got = pred.predict(test)
    want = np.array([truth(w, 4e5) for w in test])
    assert np.max(np.abs(got / want - 1)) < 0.02
    assert np.allclose(list(pred.alpha.values()), alpha, atol=0.1)


def _result(opt, uni, nat, interval):
    from mixlaw.train.demo import TrainDemoResult

    rows = [{"mixture": k, "weights": {"a": 0.5, "b": 0.5}, "predicted": {"a": v, "b": v}, "measured": {"a": v, "b": v},
             "predicted_objective": v, "interval": interval if k == "optimum" else 0.0, "measured_objective": v,
             "mre": 0.0} for k, v in (("optimum", opt), ("uniform", uni), ("natural", nat))]
    return TrainDemoResult(rows, ["a", "b"], 10, 10, [1, 2, 3], 9, 1.0, [], "a")


def test_verdict_compares_measured_margins_with_the_interval():
    win = _result(2.00, 2.10, 2.20, 0.05)
    assert win.optimum_wins and win.verdict().startswith("verdict: the optimum beats uniform by +0.1000")
    assert "both more than the ±0.0500 interval" in win.verdict()
    near = _result(2.00, 2.03, 2.20, 0.05)  # beats uniform, but by less than the error bar
    assert not near.optimum_wins
    assert near.verdict().startswith("verdict: NO clear win") and "only natural by more than" in near.verdict()
    assert _result(2.00, 2.10, 2.20, float("nan")).verdict().startswith("verdict: no interval")
    lose = _result(2.00, 1.90, 2.20, 0.05)
    assert "uniform by -0.1000" in lose.verdict() and not lose.optimum_wins


@pytest.mark.slow
def test_full_demo(tmp_path):
    """The real `mixlaw demo --train` (<= 12 min on 2 idle cores): the optimum beats both by more than the interval."""
    r = run_train_demo(tmp_path, workers=2, progress=False)
    assert r.n_proxy_runs == 36
    assert all(np.isfinite(row["mre"]) for row in r.rows)
    assert r.optimum_wins, str(r)


def test_select_law_prefers_the_law_that_fits_a_power_law_in_the_share():
    """A domain whose loss is a power law in its own share (as the demo's math worksheets): CV picks additive-ens."""
    from mixlaw.train.demo import select_law

    rng = np.random.default_rng(1)
    W = rng.dirichlet(np.full(3, 1.0), size=24)
    Y = 1.0 + 0.3 * (W + 1e-3) ** -0.5 + 0.01 * W[:, ::-1]
    Y *= 1 + 0.002 * rng.standard_normal(Y.shape)
    best, cv = select_law(W, Y, ["a", "b", "c"], candidates=("ye-exp", "additive-ens"))
    assert best == "additive-ens" and cv["additive-ens"] < 0.5 * cv["ye-exp"]
    # Too few runs for any candidate's parameter count: NaN scores and the ye-exp fallback.
    best, cv = select_law(W[:4], Y[:4], ["a", "b", "c"], candidates=("additive-ens",))
    assert best == "ye-exp" and np.isnan(cv["additive-ens"])


def test_select_law_scores_a_failing_fit_as_nan(monkeypatch):
    """A law whose fit raises FitError on a fold is skipped (NaN), not fatal after the whole proxy sweep."""
    from mixlaw.errors import FitError
    from mixlaw.train import demo

    real = demo.get_law

    class Broken:
        def fit(self, *args, **kwargs):
            raise FitError("no start converged")

    monkeypatch.setattr(demo, "get_law", lambda key, **kw: Broken() if key == "broken" else real(key, **kw))
    rng = np.random.default_rng(2)
    W = rng.dirichlet(np.full(3, 2.0), size=16)
    Y = 2.0 + 0.5 * np.exp(-2.0 * W)
    best, cv = demo.select_law(W, Y, ["a", "b", "c"], candidates=("broken", "ye-exp"))
    assert best == "ye-exp" and np.isnan(cv["broken"]) and np.isfinite(cv["ye-exp"])
