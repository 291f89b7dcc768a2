"""The interface contract every registered law keeps (scikit-learn estimator conventions, saving, seeding)."""

from __future__ import annotations

import json
from numbers import Real

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from mixlaw._validation import Interval
from mixlaw.errors import InvalidParameterError, NotFittedError
from mixlaw.laws import available_laws, get_law, law_from_dict
from mixlaw.laws.selection import META_LAWS

DOMAINS = ["web", "code", "books", "wiki"]
#: Every target is also a training domain, so laws that match targets to domains by name fit too.
TARGETS = ["web", "code"]


@pytest.fixture(scope="module")
def data():
    """60 runs over 4 domains; losses of 2 eval sets that fall with their own domain's share, plus noise."""
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.full(4, 0.7), size=60)
    own = W[:, :2]
    Y = np.column_stack([2.5 + 0.8 * (own[:, 0] + 0.05) ** -0.3 - 0.2 * W[:, 3],
                         1.4 + 0.5 * (own[:, 1] + 0.05) ** -0.4 + 0.1 * W[:, 2]])
    Y = Y * np.exp(0.005 * rng.standard_normal(Y.shape))
    kw = {"domains": DOMAINS, "targets": TARGETS, "model_params": np.full(60, 1e6), "tokens": np.full(60, 1e9)}
    return W, Y, kw


def _law(key):
    if key == "lightgbm":
        pytest.importorskip("lightgbm")
    if key in META_LAWS:
        # The contract is the interface; two quick candidates keep the meta-laws' K-fold CV short.
        return get_law(key, random_state=0, candidates=["ye-exp", "linear"])
    return get_law(key, random_state=0)


_FITTED: dict[str, object] = {}


def _fitted(key, data):
    # One fit per law for the read-only checks keeps the whole file well under a minute.
    if key not in _FITTED:
        W, Y, kw = data
        _FITTED[key] = _law(key).fit(W, Y, **kw)
    return _FITTED[key]


def _public_fitted_attrs(law):
    return [a for a in vars(law) if a.endswith("_") and not a.startswith("_")]


@pytest.mark.parametrize("key", available_laws())
def test_clone_round_trips_get_params(key):
    law = _law(key)
    params = law.get_params()
    assert "random_state" in params
    clone = law.clone()
    assert clone is not law
    assert clone.get_params() == params
    assert type(clone) is type(law)


@pytest.mark.parametrize("key", available_laws())
def test_unfitted_law_has_no_fitted_attributes_and_refuses_to_predict(key, data):
    law = _law(key)
    assert _public_fitted_attrs(law) == []
    with pytest.raises(NotFittedError, match="not fitted"):
        law.predict(data[0])


@pytest.mark.parametrize("key", available_laws())
def test_fit_returns_self_and_predicts_one_column_per_target(key, data):
    W, Y, kw = data
    law = _law(key)
    assert law.fit(W, Y, **kw) is law
    assert "params_" in _public_fitted_attrs(law)
    # The sizes only to a law fitted with them: the others warn that they are ignored (test_predict_unused_scale).
    pred = law.predict(W, **{k: kw[k] for k in ("model_params", "tokens") if getattr(law, f"uses_{k}")})
    assert pred.shape == Y.shape
    assert np.all(np.isfinite(pred))
    # A law that fits at all gets these smooth, low-noise losses within 5 % on its own fitting runs.
    assert np.mean(np.abs(pred / Y - 1)) < 0.05


def _bad_option(law):
    names = law.get_params()
    if "n_restarts" in names:
        return {"n_restarts": 0}, "n_restarts"
    if "alpha" in names:
        return {"alpha": -1.0}, "alpha"
    return {"random_state": "nope"}, "random_state"


@pytest.mark.parametrize("key", available_laws())
def test_bad_constructor_value_raises_at_fit(key, data):
    W, Y, kw = data
    law = _law(key)
    bad, name = _bad_option(law)
    law.set_params(**bad)
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of {type(law).__name__}"):
        law.fit(W, Y, **kw)


@pytest.mark.parametrize("key", available_laws())
def test_nan_option_raises_at_fit(key, data):
    # NaN passed every Interval check (each comparison is False): gamma_pooling=nan reached the solver, which
    # reported 'no start reached a finite objective'.
    W, Y, kw = data
    law = _law(key)
    real = [n for n, cs in law._parameter_constraints.items()
            if any(isinstance(c, Interval) and c.kind is Real for c in cs)]
    if not real:
        pytest.skip(f"{key} has no real-valued option")
    law.set_params(**{real[0]: float("nan")})
    with pytest.raises(InvalidParameterError, match=f"The '{real[0]}' parameter of {type(law).__name__}"):
        law.fit(W, Y, **kw)

@pytest.mark.parametrize("key", available_laws())
def test_same_seed_gives_identical_parameters(key, data):
    W, Y, kw = data
    first = _fitted(key, data)
    again = _law(key).fit(W, Y, **kw)
    assert_array_equal(again.params_.array(), first.params_.array())
    assert_array_equal(again.predict(W), first.predict(W))


@pytest.mark.parametrize("key", available_laws())
def test_to_dict_round_trips_predictions_exactly(key, data):
    W, _, _ = data
    law = _fitted(key, data)
    doc = json.loads(json.dumps(law.to_dict()))
    loaded = law_from_dict(doc)
    assert type(loaded) is type(law)
    assert loaded.targets_ == law.targets_ and loaded.domains_ == law.domains_
    assert_array_equal(loaded.predict(W), law.predict(W))
    # A loaded law's report (it raised AttributeError: n_runs_) gives its parameters and says where they came from.
    text = str(loaded.report())
    assert type(law).__name__ in text and "(60 runs, 4 domains)" in text
    assert "method = " not in text or "loaded from a saved file" in text
    # Nor does it claim fit statistics it does not keep (it read 'n_obs=0 ... nfev=0 |   fit=0.00s').
    assert "n_obs=0" not in text and "nfev=0" not in text and "fit=0.00s" not in text


@pytest.mark.parametrize("key", available_laws())
def test_report_names_the_law(key, data):
    law = _fitted(key, data)
    text = str(law.report())
    assert type(law).__name__ in text


# An option of each law changed after its fit, to a valid value (one predict reads, where the law has one).
CHANGED = {"additive": {"gamma_pooling": 3.0}, "additive-ens": {"shared_pooling": 1.0},
           "auto": {"candidates": ["linear"]}, "stack": {"n_members": 1}, "bimix": {"r_offset": 0.1},
           "autoscale": {"pooling": 1.0}, "dz-eq1": {"n_ref": 50.0, "capacity_floor": 0.1},
           "dz-eq3": {"floor_smoothness": 4.0, "n_ref": 50.0, "data_term": "shared"},
           "dz-eq3-safe": {"floor_smoothness": 4.0, "n_ref": 50.0}, "lightgbm": {"num_leaves": 4},
           "linear": {"alpha": 5.0}, "loglinear": {"alpha": 5.0}, "loglinear-sat": {"eps": 0.05},
           "gp-residual": {"inputs": "sqrt", "residuals": "plain"}, "ye-exp": {"reference": "books"},
           "ye-implicit": {"n_components": 2}, "ye-pow": {"gamma_pooling": 5.0},
           "ye-total": {"composition": {"web": 0.9, "code": 0.1}}}


@pytest.mark.parametrize("key", available_laws())
def test_set_params_after_fit_changes_the_next_fit_not_the_fitted_law(key, data):
    # set_params(n_ref=50) on a fitted dz-eq1 changed its predictions (predict read the new option with the old
    # parameters), to_dict saved the new option beside the old parameters, and a fitted ye-implicit given
    # n_components=2 raised "cannot reshape array of size 13 into shape (2,4)" at predict. scikit-learn's rule:
    # the options are the next fit's; the fitted law is what it was fitted with.
    import copy

    W, Y, kw = data
    law = copy.deepcopy(_fitted(key, data))
    scale = {k: kw[k] for k in ("model_params", "tokens") if getattr(law, f"uses_{k}")}
    before, saved = law.predict(W, **scale), law.to_dict()
    sections = law.extra_report_sections()
    law.set_params(**CHANGED[key])
    assert law.get_params() == {**_law(key).get_params(), **CHANGED[key]}
    assert_array_equal(law.predict(W, **scale), before)
    # report() read the fitted options, extra_report_sections() called directly the new ones: linear's and
    # loglinear's ridge section was gone (alpha 5.0 is not 'cv'), gp-residual's named the sqrt inputs
    assert law.extra_report_sections() == sections == law.report().sections
    assert law.to_dict()["options"] == saved["options"]
    assert_array_equal(law_from_dict(json.loads(json.dumps(law.to_dict()))).predict(W, **scale), before)
    if key == "linear":  # the next fit's options (base.MixingLaw keeps them for every law alike; linear is quick)
        law.fit(W, Y, **kw)
        assert law.to_dict()["options"]["alpha"] == 5.0 and law.alpha_ != _fitted(key, data).alpha_


@pytest.mark.parametrize("key, method, changed", [
    ("dz-eq1", "allocation", {"n_ref": 50.0, "capacity_floor": 0.3}),
    ("dz-eq3", "allocation", {"n_ref": 50.0, "floor_smoothness": 4.0}),
    ("ye-implicit", "composition", {"n_components": 2}),
])
def test_a_fitted_laws_own_readers_keep_its_options_after_set_params(key, method, changed, data):
    # predict kept the fitted options after set_params, but dz-eq1's allocation read the new n_ref (shares 4x
    # smaller) and ye-implicit's composition the new n_components (two shares of three components).
    import copy

    W = data[0]
    law = copy.deepcopy(_fitted(key, data))
    call = (lambda: law.allocation(W[:3], params=1e6)) if method == "allocation" else (lambda: law.composition())
    before = call()
    law.set_params(**changed)
    after = call()
    if isinstance(before, dict):
        assert before.keys() == after.keys() and all(np.array_equal(before[k], after[k]) for k in before)
    else:
        assert_array_equal(after, before)
    assert law.get_params() == {**_law(key).get_params(), **changed}


def test_a_fitted_residual_gp_reads_the_scale_its_fitted_base_takes(data):
    # gp-residual fitted on dz-eq1 (which reads the model size) and given set_params(base="linear") dropped the
    # params= of predict (uses_model_params read the option): its predictions moved by up to 0.35.
    from mixlaw.laws.base import warm_clone

    W, Y, kw = data
    N = np.repeat([1e6, 4e6, 1.6e7], 20)
    law = get_law("gp-residual", base="dz-eq1", random_state=0).fit(W, Y, domains=kw["domains"],
                                                                    targets=kw["targets"], params=N)
    before = law.predict(W[:5], params=1.6e7)
    law.set_params(base="linear")
    assert law.uses_model_params == "optional" or law.uses_model_params is True
    assert_array_equal(law.predict(W[:5], params=1.6e7), before)
    # and its base's own options are the base's fit's
    law.base_.set_params(capacity_floor=0.05, floor_smoothness=4.0)
    assert_array_equal(law.predict(W[:5], params=1.6e7), before)
    # a warm refit (bootstrap replicates, CV folds) refits the law that was fitted, not the next fit's options
    assert warm_clone(law).get_params()["base"] == "dz-eq1"
