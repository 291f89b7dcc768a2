"""loglinear-sat's config_choice: an average of (eps, groups) pairs is the average of their laws, and saves."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mixlaw.errors import InputError
from mixlaw.laws import LogLinearSat, law_from_dict
from mixlaw.laws.loglinear_sat import EPS_GRID, TOP_K

DOMS = ["cc/health_high", "cc/health_low", "arxiv", "code"]


def _data(n=150, seed=2):
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.full(4, 0.6), size=n)
    Y = np.column_stack([np.exp(0.4 - 0.08 * np.log(W[:, 0] + W[:, 1] + 0.02)),
                         np.exp(0.4 - 0.08 * np.log(W[:, 2] + 0.02) + 0.05 * W[:, 3])])
    return W, Y * np.exp(0.01 * rng.standard_normal(Y.shape))


def _single(W, Y, name):
    """The law of one pair alone ("eps=0.02,groups" -> eps=0.02 with the name groups)."""
    eps, _, grp = name.partition(",")
    return LogLinearSat(eps=float(eps.split("=")[1]), groups="names" if grp else None).fit(
        W, Y, domains=DOMS, targets=["grp", "own"])


def _geo_mean(W, Y, names, col):
    return np.exp(np.mean([np.log(_single(W, Y, nm).predict(W)[:, col]) for nm in names], axis=0))


def test_average_is_the_geometric_mean_of_every_pair_and_survives_a_save():
    W, Y = _data()
    law = LogLinearSat(config_choice="average").fit(W, Y, domains=DOMS, targets=["grp", "own"])
    names = [f"eps={e:g}{g}" for e in EPS_GRID for g in ("", ",groups")]
    for col, t in enumerate(["grp", "own"]):
        assert law.pairs_[t] == names
        np.testing.assert_allclose(law.predict(W)[:, col], _geo_mean(W, Y, names, col), rtol=1e-10)
    assert law.config_["grp"] == {"eps": list(EPS_GRID), "groups": [True] * 3}
    assert "grp.c3_arxiv" in law.params_ and "grp.d1_cc/health" in law.params_ and "grp.c_arxiv" not in law.params_
    assert law.cv_scores_ == {}  # nothing chosen: no inner CV
    back = law_from_dict(json.loads(json.dumps(law.to_dict())))
    np.testing.assert_array_equal(back.predict(W), law.predict(W))
    assert back.pairs_ == law.pairs_


def test_top3_averages_the_three_best_pairs_by_inner_cv():
    W, Y = _data()
    law = LogLinearSat(config_choice="top3").fit(W, Y, domains=DOMS, targets=["grp", "own"])
    for col, t in enumerate(["grp", "own"]):
        sc = law.cv_scores_[t]
        best = sorted(sc, key=lambda k: -sc[k])[:TOP_K]
        assert sorted(law.pairs_[t]) == sorted(best)
        np.testing.assert_allclose(law.predict(W)[:, col], _geo_mean(W, Y, law.pairs_[t], col), rtol=1e-10)
    # Its inner CV is cv's (same random_state): the same scores, and cv's pick is among the three.
    cv = LogLinearSat().fit(W, Y, domains=DOMS, targets=["grp", "own"])
    assert cv.cv_scores_ == law.cv_scores_
    assert all(cv.pairs_[t][0] in law.pairs_[t] for t in ("grp", "own"))


def test_cv3_chooses_by_the_mean_over_three_inner_splits():
    W, Y = _data()
    law = LogLinearSat(config_choice="cv3").fit(W, Y, domains=DOMS, targets=["grp", "own"])
    cv = LogLinearSat().fit(W, Y, domains=DOMS, targets=["grp", "own"])
    for t in ("grp", "own"):
        sc = law.cv_scores_[t]
        assert law.pairs_[t] == [max(sc, key=sc.get)] and len(law.pairs_[t]) == 1
        assert sc != cv.cv_scores_[t]  # two more shuffles enter the mean
        assert law.config_[t] == {"eps": float(law.pairs_[t][0].split(",")[0][4:]),
                                  "groups": law.pairs_[t][0].endswith("groups")}


def test_default_keeps_one_pair_and_the_old_parameter_names():
    W, Y = _data()
    law = LogLinearSat().fit(W, Y, domains=DOMS, targets=["grp", "own"])
    assert all(len(m) == 1 for m in law.pairs_.values())
    assert "grp.c_arxiv" in law.params_ and not any(".c1_" in p for p in law.params_)
    d = law.to_dict()
    d["state"].pop("pairs")  # a file saved before config_choice
    np.testing.assert_array_equal(law_from_dict(d).predict(W), law.predict(W))


def test_unknown_config_choice_and_a_bad_saved_average_are_refused():
    W, Y = _data(n=60)
    with pytest.raises(InputError, match="config_choice"):
        LogLinearSat(config_choice="best").fit(W, Y, domains=DOMS, targets=["grp", "own"])
    d = LogLinearSat(config_choice="average").fit(W, Y, domains=DOMS, targets=["grp", "own"]).to_dict()
    d["state"]["config"]["grp"]["groups"] = [True]
    with pytest.raises(InputError, match="same length"):
        law_from_dict(d)


def test_an_average_is_size_checked_as_one_pair_not_the_union_of_their_features():
    # 12 runs of 4 domains (one name group): one pair has at most 2 * 4 + 1 = 9 coefficients, the union of the
    # 6 pairs' features 4 + 3 * 4 + 3 = 19, more than the 12 losses: counted so, the average was refused.
    W, Y = _data(n=12)
    law = LogLinearSat(config_choice="average").fit(W, Y[:, 0], domains=DOMS)
    assert law.n_params_ == 19 and law._n_free_checked() == 9
    assert np.all(np.isfinite(law.predict(W)))
