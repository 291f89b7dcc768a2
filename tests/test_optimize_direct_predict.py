"""The optimiser scores mixtures on the law's model directly (``MixingLaw._predict_unchecked``), past predict's
reading of its input: dz-eq1's optimize_mixture made ~63,000 predict calls, 3/4 of whose time went to that reading.
The numbers, the optimum and the warnings the search lets through must be those of law.predict."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from mixlaw.laws import get_law
from mixlaw.optimize import optimize_mixture
from mixlaw.optimize.objective import _LawEval

LAWS = ["dz-eq1", "bimix", "loglinear-sat", "ye-pow"]


def _law(key: str, M: int = 5):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(4)
    W = rng.dirichlet(np.full(M, 0.4), size=40)
    y = (1.5 + np.exp(W @ rng.normal(0, 1.0, (M, 2)) * 0.5)) * (1 + 0.01 * rng.standard_normal((40, 2)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_law(key, random_state=0).fit(W, y, domains=[f"d{j}" for j in range(M)], targets=["a", "b"])


def _record(fn):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = fn()
    return out, [(r.category, str(r.message), r.filename, r.lineno) for r in rec]


@pytest.mark.parametrize("key", LAWS)
def test_direct_predictions_are_law_predicts_bit_for_bit(key: str) -> None:
    law = _law(key)
    rng = np.random.default_rng(0)
    R = rng.dirichlet(np.ones(5), size=30)
    R[:10, 0] += 1e-6  # finite-difference probes just off the simplex: used as given
    R[10:15] *= 1.005  # rows within the fit's weight_tol: renormalised, as predict reads them
    R[15:20, 1] = 0.0  # a share at 0, outside the fitted range: predict warns, the search ignores it
    R[20, :] = [1.0, 0, 0, 0, 0]  # a corner
    ev = _LawEval(law)
    assert ev.direct or ev.analytic
    fast, w_fast = _record(lambda: ev.predict(R))
    ev.direct = False
    slow, w_slow = _record(lambda: ev.predict(R))
    assert_array_equal(fast, slow)
    assert w_fast == w_slow  # none: the range warnings are predict's, which the search ignores


@pytest.mark.parametrize("key", ["bimix", "loglinear-sat"])
@pytest.mark.parametrize("bounds", [None, {"d1": (0.05, 0.3)}])
def test_the_search_calls_no_predict_and_finds_the_same_optimum(key: str, bounds: dict | None,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    law = _law(key)
    calls = []
    predict = law.predict
    monkeypatch.setattr(law, "predict", lambda *a, **k: calls.append(1) or predict(*a, **k))

    def run():  # type: ignore[no-untyped-def]  # one line for both runs: the warnings name the caller's line
        return _record(lambda: optimize_mixture(law, bounds=bounds, random_state=0, n_starts=4))

    fast, w_fast = run()
    assert calls == []  # before: one call per objective evaluation
    orig = _LawEval.__init__

    def no_direct(self, *a, **k):  # type: ignore[no-untyped-def]
        orig(self, *a, **k)
        self.direct = False

    monkeypatch.setattr(_LawEval, "__init__", no_direct)
    slow, w_slow = run()
    assert calls  # the path through law.predict, for comparison
    assert fast.weights == slow.weights and fast.objective == slow.objective and fast.losses == slow.losses
    assert fast.natural_objective == slow.natural_objective and fast.method == slow.method
    assert w_fast == w_slow and w_fast  # the range warning of the optimum, once, on both paths
