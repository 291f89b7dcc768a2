"""A prediction far outside the fitted losses warns (LossRangeWarning) instead of passing silently.

Found: additive-ens fitted on Olmix's DCLM swarm (100 runs, 110 evals) predicted 2.2e8 for a loss of 2.4
(mmlu_global_facts, a test mixture of two domains the fit gave almost no weight: E + 1/S with S ~ 0), and
`mixlaw compare` reported an MRE of 3e6 % with no word on why.
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from mixlaw import get_law
from mixlaw.errors import ExtrapolationWarning, InputError, LossRangeWarning
from mixlaw.laws.base import LOSS_RANGE_FACTOR, law_from_dict


def steep_linear():  # type: ignore[no-untyped-def]
    """A linear law on w_a in [0.3, 0.6] with losses 3 - 2.9 w_a (1.26-2.13): at w_a = 1 it predicts 0.1."""
    rng = np.random.default_rng(0)
    a = rng.uniform(0.3, 0.6, 40)
    W = np.column_stack([a, 1 - a])
    return get_law("linear").fit(W, 3 - 2.9 * a, domains=["a", "b"], targets=["x"])


def loss_range_messages(law, W) -> list[str]:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        law.predict(W)
    return [str(w.message) for w in caught if issubclass(w.category, LossRangeWarning)]


def test_a_prediction_far_below_the_fitted_losses_warns_and_names_the_eval():
    law = steep_linear()
    assert loss_range_messages(law, np.array([[0.45, 0.55]])) == []  # inside the data: silent
    msgs = loss_range_messages(law, np.array([[0.45, 0.55], [1.0, 0.0]]))
    assert len(msgs) == 1
    # Named by the key a user types (--law linear), not the class name.
    assert msgs[0].startswith("law 'linear': predicted loss 0.1 for 'x' (mixture 1) is far outside the fitted "
                              "losses [1.26")
    assert f"beyond {LOSS_RANGE_FACTOR:g}x" in msgs[0]
    assert issubclass(LossRangeWarning, ExtrapolationWarning)  # the optimiser's filter covers it


def test_the_range_survives_save_and_load_and_old_files_still_load():
    law = steep_linear()
    d = json.loads(json.dumps(law.to_dict()))
    assert d["y_range"][0][0] == pytest.approx(law._y_range[0][0])
    assert len(loss_range_messages(law_from_dict(d), np.array([[1.0, 0.0]]))) == 1
    old = {k: v for k, v in d.items() if k != "y_range"}  # saved before the field existed: no check, no error
    assert loss_range_messages(law_from_dict(old), np.array([[1.0, 0.0]])) == []


@pytest.mark.parametrize("bad", [[[1.0], [0.5]], [[1.0, 2.0], [2.0, 3.0]], [[-1.0], [2.0]], "x"])
def test_a_tampered_range_is_refused_on_load(bad):  # type: ignore[no-untyped-def]
    d = json.loads(json.dumps(steep_linear().to_dict()))
    d["y_range"] = bad
    with pytest.raises(InputError, match="y_range"):
        law_from_dict(d)


def test_a_meta_law_warns_once():
    rng = np.random.default_rng(1)
    a = rng.uniform(0.3, 0.6, 40)
    W = np.column_stack([a, 1 - a])
    law = get_law("auto", candidates=["linear", "loglinear"], n_folds=3, random_state=0).fit(
        W, 3 - 2.9 * a + 0.01 * rng.standard_normal(40), domains=["a", "b"], targets=["x"])
    msgs = loss_range_messages(law, np.array([[1.0, 0.0]]))
    assert len(msgs) == 1 and msgs[0].startswith("law 'auto': predicted loss")
