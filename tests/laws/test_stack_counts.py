"""A stack's report counts each fitted loss once and its own free parameters, the same in its header, its CV rows
and ``to_dict()`` (hunt31f: 127 RegMix runs x 3 eval sets read 'n_obs=762' and CV n_par 135 beside n_vary 162)."""

from __future__ import annotations

import warnings

import numpy as np

from mixlaw import get_law
from mixlaw.datasets import load_regmix


def _stack():
    rt = load_regmix("train_1m")
    W = rt.weights[:60]
    Y = rt.losses(["pile_cc", "github"])[:60]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        law = get_law("stack", candidates=["ye-exp", "linear", "additive"]).fit(
            W, Y, domains=list(rt.domains), targets=["pile_cc", "github"])
    return law, W, Y


def test_stack_counts_each_loss_once_and_its_own_parameters_everywhere():
    law, W, Y = _stack()
    rep = law.report()
    d = rep.to_dict()
    assert d["stats"]["n_obs"] == Y.size == 120  # two members fitted to the same 120 losses: not 240
    assert f"n_obs={Y.size}" in str(rep)
    members = sum(m[3].n_params_ for m in law.members_)
    n_weights = sum(len(ws) for ws in law.weights_.values())
    n_vary = members + n_weights - len(law.weights_)  # each column's weights sum to 1
    assert law.n_params_ == n_vary
    assert sum(p["vary"] for p in d["params"].values()) == n_vary
    assert f"n_vary={n_vary}" in str(rep)
    assert d["n_vary"] == n_vary  # --json says what the header says
    assert d["dof"] == Y.size - (n_vary if law._n_effective() is None else law._n_effective())
    eff = law._n_effective()
    expect = n_vary if eff is None else int(np.ceil(eff))
    assert {r.n_params for r in law.cv_.rows if r.law == "stack"} == {expect}
    # AIC / BIC on the 120 log residuals with that count (the stack's own residuals; no longer left out)
    resid = np.log(law.predict(W)) - np.log(Y)
    rss = float(np.sum(resid ** 2))
    assert abs(d["stats"]["AIC"] - (120 * np.log(rss / 120) + 2 * expect)) < 1e-6


def test_stack_for_an_objective_counts_the_evals_losses_once():
    rt = load_regmix("train_1m")
    W, Y = rt.weights[:60], rt.losses(["pile_cc", "github"])[:60]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        law = get_law("stack", candidates=["ye-exp", "additive"], objective="mean").fit(
            W, Y, domains=list(rt.domains), targets=["pile_cc", "github"])
    # per-eval members and a direct one (its objective column is made of the same 120 losses): 120, not 300
    assert law.train_metrics_["n_obs"] == 120
    ws = law.weights_["objective"]
    assert law.n_params_ == sum(m[3].n_params_ for m in law.members_) + len(ws) - 1


def test_json_report_gives_the_header_counts_of_a_single_law():
    rt = load_regmix("train_1m")
    law = get_law("ye-exp").fit(rt.weights[:60], rt.losses(["pile_cc"])[:60], domains=list(rt.domains),
                                targets=["pile_cc"])
    d = law.report().to_dict()
    assert (d["n_vary"], d["dof"]) == (18, 42)
    assert "n_vary=18  dof=42" in str(law.report())


def test_stack_saved_before_its_last_weights_were_fixed_loads_with_the_same_count(tmp_path):
    # A file saved before 33d7992 lists every weight free: loaded, it read one more n_vary per eval set than the
    # same stack fitted now.
    import json

    from mixlaw import load_law, save_law

    law, W, Y = _stack()
    path = tmp_path / "stack.json"
    save_law(law, path)
    doc = json.loads(path.read_text())
    for name, p in doc["params"].items():
        if name.startswith("w:"):
            p["vary"] = True
    path.write_text(json.dumps(doc))
    loaded = load_law(path)
    assert loaded.n_params_ == law.n_params_
    assert [p.vary for p in loaded.params_.values()] == [p.vary for p in law.params_.values()]
    assert np.allclose(loaded.predict(W), law.predict(W))


def test_stack_report_says_why_a_columns_last_weight_is_not_fitted(tmp_path):
    # left32: the last weight of each column read "(fixed)", as if held by hand; it is 1 minus the others. As
    # STYLE.md's "(fixed: reference domain)", the report says why, fitted and loaded from its saved file alike.
    from mixlaw.api import load_law, save_law

    law, _, _ = _stack()
    path = tmp_path / "stack.json"
    save_law(law, path)
    for fitted in (law, load_law(path)):
        text = fitted.report().text(verbose=True)
        for c, ws in law.weights_.items():
            last = list(ws)[-1]
            line = next(ln for ln in text.splitlines() if ln.strip().startswith(f"w:{c}:{last} "))
            assert line.endswith(f"(fixed: 1 - the other w:{c} weights)"), line
        assert fitted.report().to_dict()["params"][f"w:{c}:{last}"]["note"] == f"1 - the other w:{c} weights"
