"""One name per concept in the Python API (the review of a notebook user): ``params`` (model size), ``n_folds``
(folds of auto / stack), ``n_boot`` (bootstrap refits). The older spellings ``model_params``, ``cv_folds`` and
``bootstrap_law(n=...)`` stay silent aliases with the same numbers; both spellings at once are one InputError.
Also: ye-implicit's start spread follows random_state, and Python errors name the Python keyword."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pandas as pd
import pytest

from mixlaw import bootstrap_law, get_law, optimize_mixture
from mixlaw.api import compare_tables, optimize_runs
from mixlaw.compare import compare
from mixlaw.data import RunTable
from mixlaw.errors import ExtrapolationWarning, InputError

BOTH = r"=.* are the same argument \(.*= is its older name\); give one of them"


def _sized_runs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """48 runs of 3 domains at 3 model sizes: (W, N, y), y a size law plus a mixture term."""
    rng = np.random.default_rng(2)
    W = rng.dirichlet(np.ones(3), 48)
    N = np.repeat([3e7, 1e8, 3e8], 16)
    return W, N, 2.0 + 50 * (N / 1e6) ** -0.5 + 0.3 * W[:, 0] * (1 + 0.01 * rng.standard_normal(48))


def _sized_table() -> RunTable:
    W, N, y = _sized_runs()
    return RunTable(pd.DataFrame({"run": [f"r{i}" for i in range(len(y))], "w:web": W[:, 0], "w:code": W[:, 1],
                                  "w:wiki": W[:, 2], "params": N, "loss:x": y}))


@pytest.fixture(scope="module")
def dz() -> tuple[object, object, np.ndarray, np.ndarray]:
    W, N, y = _sized_runs()
    new = get_law("dz-eq1", n_restarts=1).fit(W, y, params=N, domains=["web", "code", "wiki"])
    old = get_law("dz-eq1", n_restarts=1).fit(W, y, model_params=N, domains=["web", "code", "wiki"])
    return new, old, W, N


def test_params_and_its_old_name_model_params_fit_and_predict_the_same(dz) -> None:
    new, old, W, N = dz
    assert new._n_range == old._n_range == (3e7, 3e8)  # the sizes reached the fit under either name
    np.testing.assert_array_equal(new.params_.array("value"), old.params_.array("value"))
    with pytest.warns(ExtrapolationWarning, match="'dz-eq1': params outside the fitted range"):  # said by its name
        at_1b = new.predict(W[:5], params=1e9)
    with pytest.warns(ExtrapolationWarning):
        np.testing.assert_array_equal(at_1b, new.predict(W[:5], model_params=1e9))
    assert not np.allclose(at_1b, new.predict(W[:5], params=3e7))  # the size is used, not dropped
    np.testing.assert_array_equal(new.allocation(W[:3], params=1e8), new.allocation(W[:3], model_params=1e8))


def test_params_given_twice_is_one_clear_error(dz) -> None:
    new, _, W, N = dz
    W2, _, y = _sized_runs()
    with pytest.raises(InputError, match=r"params= and model_params= " + BOTH[2:]):
        get_law("dz-eq1", n_restarts=1).fit(W2, y, params=N, model_params=N, domains=["web", "code", "wiki"])
    with pytest.raises(InputError, match="params= and model_params="):
        new.predict(W[:2], params=1e8, model_params=1e8)
    with pytest.raises(InputError, match="params= and model_params="):
        optimize_mixture(new, params=1e8, model_params=1e8)


def test_a_missing_size_is_asked_for_by_the_new_name(dz) -> None:
    new, _, W, _ = dz
    with pytest.raises(InputError, match=r"params is required: .* pass params=, or give the table of mixtures a "
                                         r"'params' column"):
        new.predict(W[:2])


def test_optimize_mixture_takes_params_and_model_params_alike(dz) -> None:
    new, _, _, _ = dz
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 1e8 inside the fitted sizes; any range warning is the same for both
        a = optimize_mixture(new, params=1e8, n_starts=2)
        b = optimize_mixture(new, model_params=1e8, n_starts=2)
        c = optimize_mixture(new, params=3e8, n_starts=2)
    assert a.weights == b.weights
    assert a.losses == b.losses and a.losses != c.losses


def test_optimize_runs_reads_params_under_either_name() -> None:
    table = _sized_table()
    law = get_law("dz-eq1", n_restarts=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = optimize_runs(table, law=law, params=1e8, n_starts=2)
        b = optimize_runs(table, law=law, model_params=1e8, n_starts=2)
    assert a.weights == b.weights and a.losses == b.losses
    with pytest.raises(InputError, match="params= and model_params="):
        optimize_runs(table, law=law, params=1e8, model_params=1e8)
    # The way out names params= (and the command line's --params).
    with pytest.raises(InputError, match=r"\(mixlaw optimize --params; Python: params=\)"):
        optimize_runs(table, law=law)


def test_optimize_runs_and_compare_take_n_folds_and_cv_folds() -> None:
    table = _sized_table()
    for kw in ({"n_folds": 3}, {"cv_folds": 3}):  # read under either name: refused for a law without a CV
        with pytest.raises(InputError, match="candidates and CV folds apply to the laws that choose among others"):
            optimize_runs(table, law="linear", **kw)
    with pytest.raises(InputError, match="n_folds= and cv_folds="):
        optimize_runs(table, law="auto", n_folds=3, cv_folds=3)
    with pytest.raises(InputError, match="n_folds= and cv_folds="):
        compare(table, {"t": table}, laws=["auto"], n_folds=3, cv_folds=3)
    with pytest.raises(InputError, match="n_folds= and cv_folds="):
        compare_tables(table, {"t": table}, laws=["auto"], n_folds=3, cv_folds=4)


def test_n_folds_reaches_auto_in_compare_as_cv_folds_did(monkeypatch) -> None:
    # What compare builds for the key "auto" (a full auto fit here took a minute: a fast law stands in for it).
    import mixlaw.compare as cmp

    made: list[dict] = []

    def fake_get_law(key, **kw):  # type: ignore[no-untyped-def]
        made.append({"key": key, **kw})
        return get_law("linear")

    monkeypatch.setattr(cmp, "get_law", fake_get_law)
    table = _sized_table()
    for name in ("n_folds", "cv_folds"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compare(table, {"t": table}, laws=["auto"], **{name: 4})
    assert [m.get("n_folds") for m in made] == [4, 4] and {m["key"] for m in made} == {"auto"}


def test_bootstrap_law_takes_n_boot_positional_and_the_old_n() -> None:
    table = _sized_table()
    runs = [bootstrap_law("linear", table, None, 4, n_jobs=1),
            bootstrap_law("linear", table, n_boot=4, n_jobs=1),
            bootstrap_law("linear", table, n=4, n_jobs=1)]
    assert {r.n_boot for r in runs} == {4}
    for r in runs[1:]:
        np.testing.assert_array_equal(r.params, runs[0].params)
    assert bootstrap_law("linear", table, n_jobs=1).n_boot == 200  # neither given: the documented default
    with pytest.raises(InputError, match="n_boot= and n="):
        bootstrap_law("linear", table, n_boot=4, n=4, n_jobs=1)
    with pytest.raises(InputError, match=r"n_boot \(--bootstrap: bootstrap replicates\) must be an int >= 2"):
        bootstrap_law("linear", table, n_boot=1, n_jobs=1)


def test_interval_levels_and_shapes() -> None:
    from mixlaw.pipeline import fit_pipeline

    # Different on purpose (the docstrings say why), and as the command line prints them: 80 % and 90 %.
    assert inspect.signature(fit_pipeline).parameters["level"].default == 0.8
    assert inspect.signature(bootstrap_law).parameters["level"].default == 0.9
    table = _sized_table()
    res = bootstrap_law("linear", table, n_boot=8, n_jobs=1, points=table.weights[:3])
    iv = res.prediction_intervals()
    assert iv.shape == (3, 1, 2) and np.all(iv[..., 0] <= iv[..., 1])
    lo, hi = np.moveaxis(iv, -1, 0)  # the pipeline's (lo, hi) layout, as its docstring and prediction_intervals' say
    assert lo.shape == hi.shape == (3, 1)


def test_ye_implicit_start_spread_follows_random_state() -> None:
    W, _, y = _sized_runs()

    def inits(rs: int) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            law = get_law("ye-implicit", n_restarts=1, n_components=2, random_state=rs)
            return law.fit(W[:24], y[:24], domains=["web", "code", "wiki"]).params_.array("init")

    # The default (0, or None) keeps the starts it always had: target i's spread drawn from default_rng(1234 + i).
    for rs in (0, None):
        law = get_law("ye-implicit", random_state=rs)
        for i in (0, 2):
            assert (law._start_rng(i).standard_normal(3).tolist()
                    == np.random.default_rng(1234 + i).standard_normal(3).tolist())
    # Another seed spreads the components' first start otherwise (it was 1234 + i whatever random_state said).
    assert not np.array_equal(inits(0), inits(7))


def test_active_design_takes_n_boot_and_the_old_n_bootstrap() -> None:
    from mixlaw import active_design

    W, _, y = _sized_runs()
    t = RunTable(pd.DataFrame({"run": [f"p{i}" for i in range(16)], "w:web": W[:16, 0], "w:code": W[:16, 1],
                               "w:wiki": W[:16, 2], "loss:x": y[:16]}))
    kw = {"law": "linear", "n_candidates": 60, "n_jobs": 1, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = active_design(t, 2, n_boot=4, **kw)
        b = active_design(t, 2, n_bootstrap=4, **kw)
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs["n_bootstrap"] == 4  # the frame's key, as `mixlaw design --json` writes it
    with pytest.raises(InputError, match="n_boot= and n_bootstrap="):
        active_design(t, 2, n_boot=4, n_bootstrap=4, **kw)


def test_cross_validation_takes_params_and_the_old_model_params() -> None:
    from mixlaw.laws.selection import cross_val_predict, cross_validate, fold_ids

    W, N, y = _sized_runs()
    kw = {"domains": ["web", "code", "wiki"], "targets": ["x"]}
    folds = fold_ids(len(y), 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        new, _ = cross_val_predict("dz-eq1", W, y[:, None], folds, params=N, **kw)
        old, _ = cross_val_predict("dz-eq1", W, y[:, None], folds, model_params=N, **kw)
        blind, _ = cross_val_predict("dz-eq1", W, y[:, None], folds, **kw)
    np.testing.assert_array_equal(new, old)
    assert not np.allclose(new, blind)  # the sizes reached the fits
    with pytest.raises(InputError, match="params= and model_params="):
        cross_validate(W, y[:, None], candidates=["linear"], params=N, model_params=N, **kw)
    with pytest.raises(InputError, match="params= and model_params="):
        cross_val_predict("linear", W, y[:, None], folds, params=N, model_params=N, **kw)


def test_the_old_spellings_are_silent() -> None:
    # The rule the README states: an alias, not a deprecation (no DeprecationWarning / FutureWarning).
    W, N, y = _sized_runs()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        warnings.simplefilter("error", FutureWarning)
        law = get_law("linear").fit(W, y, model_params=N, domains=["web", "code", "wiki"])
        law.predict(W[:2], model_params=1e8)
        assert bootstrap_law("linear", _sized_table(), n=3, n_jobs=1).n_boot == 3
