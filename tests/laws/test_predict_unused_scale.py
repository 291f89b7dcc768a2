"""predict(params=) / predict(tokens=) on a law whose fit has no size or token term says that the value is not used.

Before, ``get_law("ye-exp").fit(W, y).predict(W, params=1e9)`` returned the losses at the fitted scale without a word
(the same numbers as without ``params=``); so did a law that takes the input optionally but was fitted without it
(bimix, tokens). The internal paths that pass the runs' sizes to any law (cross-validation folds, a meta-law's
members, ``predict_table`` on a table with a ``params`` column) stay silent.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from mixlaw.api import predict_table
from mixlaw.errors import ScaleWarning
from mixlaw.laws import get_law
from mixlaw.laws.selection import cross_val_predict, fold_ids

DOMAINS = ["web", "code", "wiki"]


def _runs(n: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=n)
    N = np.repeat([3e7, 1e8], n // 2)
    y = (2.0 + 0.5 * np.exp(-2.0 * W[:, 0]) + 40.0 / N ** 0.3) * np.exp(0.003 * rng.standard_normal(n))
    return W, N, y


@pytest.mark.parametrize("kw, what", [({"params": 1e9}, "params="), ({"model_params": 1e9}, "params="),
                                      ({"tokens": 1e12}, "tokens=")])
def test_a_size_free_law_says_the_scale_given_to_predict_is_ignored(kw, what) -> None:
    W, _, y = _runs()
    law = get_law("ye-exp").fit(W, y, domains=DOMAINS)
    with pytest.warns(ScaleWarning, match=rf"law 'ye-exp' takes no .*: {what} is ignored") as caught:
        pred = law.predict(W[:3], **kw)
    assert caught[0].filename == __file__  # the user's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(pred, law.predict(W[:3]))  # the prediction itself is unchanged
    with pytest.warns(ScaleWarning, match=f"{what} is ignored"):
        law.score(W, y, **kw)


def test_a_law_fitted_without_the_optional_input_says_so() -> None:
    W, _, y = _runs()
    law = get_law("bimix").fit(W, y, domains=DOMAINS, targets="web")
    with pytest.warns(ScaleWarning, match=r"law 'bimix' was fitted without training tokens: tokens= is ignored"):
        law.predict(W[:3], tokens=1e12)


def test_a_law_that_uses_the_size_is_silent() -> None:
    W, N, y = _runs()
    law = get_law("dz-eq1").fit(W, y, domains=DOMAINS, params=N)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a, b = law.predict(W[:3], params=3e7), law.predict(W[:3], params=1e8)
    assert not np.allclose(a, b)


def test_internal_paths_that_pass_the_runs_sizes_stay_silent(tmp_path) -> None:
    W, N, y = _runs()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScaleWarning)
        # cross-validation folds pass the sizes to every candidate
        cross_val_predict("linear", W, y[:, None], fold_ids(len(y), 4), params=N, domains=DOMAINS, targets=["x"])
        # a table of mixtures with a params column, at the fitted scale, predicted by a size-free law
        law = get_law("linear").fit(W, y, domains=DOMAINS)
        frame = pd.DataFrame({"w:web": W[:4, 0], "w:code": W[:4, 1], "w:wiki": W[:4, 2], "params": N[:4]})
        assert len(predict_table(law, frame)) == 4


def test_a_meta_law_fitted_without_sizes_says_it_once() -> None:
    W, N, y = _runs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        blind = get_law("auto", candidates=["dz-eq1"]).fit(W, y, domains=DOMAINS)
        sized = get_law("auto", candidates=["dz-eq1"]).fit(W, y, domains=DOMAINS, params=N)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        blind.predict(W[:3], params=5e7)
    assert len(caught) == 1  # not its member dz-eq1 too
    assert str(caught[0].message).startswith("law 'auto' was fitted without model sizes: params= is ignored")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sized.predict(W[:3], params=5e7)  # its member dz-eq1 gets the size


# ---------------------------------------------------------------- fit(params=) says so as predict(params=) does
@pytest.mark.parametrize("kw, what", [({"params": "N"}, "params="), ({"model_params": "N"}, "params="),
                                      ({"tokens": "N"}, "tokens=")])
def test_a_size_free_law_says_the_scale_given_to_fit_is_ignored(kw, what) -> None:
    # fit(W, y, params=N) on a law with no size term was silent (the scale-blind warning reads a run table's
    # spread, not the keyword), where predict(params=) warned.
    W, N, y = _runs()
    kw = {k: N for k in kw}
    with pytest.warns(ScaleWarning, match=rf"law 'ye-exp' takes no .*: {what} is ignored, and it fits") as caught:
        law = get_law("ye-exp").fit(W, y, domains=DOMAINS, **kw)
    assert len(caught) == 1 and caught[0].filename == __file__  # once, at the user's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ref = get_law("ye-exp").fit(W, y, domains=DOMAINS)
    np.testing.assert_array_equal(law.params_.array("value"), ref.params_.array("value"))  # the fit is unchanged


def test_fit_with_a_size_the_law_takes_is_silent() -> None:
    W, N, y = _runs()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScaleWarning)
        get_law("dz-eq1").fit(W, y, domains=DOMAINS, params=N)
        get_law("bimix").fit(W, y, domains=DOMAINS, targets="web", tokens=N * 20)  # optional, given: used


def test_meta_laws_and_bootstrap_pass_the_sizes_to_their_members_without_a_warning() -> None:
    from mixlaw import bootstrap_law
    from mixlaw.data import RunTable

    W, N, y = _runs()
    table = RunTable(pd.DataFrame({"run": [f"r{i}" for i in range(len(y))], "params": N,
                                   **{f"w:{d}": W[:, j] for j, d in enumerate(DOMAINS)}, "loss:web": y}))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScaleWarning)
        warnings.simplefilter("ignore", UserWarning)  # (others: convergence, identifiability of the members)
        warnings.simplefilter("error", ScaleWarning)
        for meta in ("auto", "stack"):
            get_law(meta, candidates=["linear", "ye-exp", "dz-eq1"]).fit(W, y, domains=DOMAINS, params=N)
        bootstrap_law("linear", table, n_boot=2)
