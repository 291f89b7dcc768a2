"""An invalid ``random_state`` is refused with one sentence by every law, meta-laws included.

Before, ``random_state=-1`` read "The 'random_state' parameter of AutoLaw must be an int in the range [0, inf) or
None. Got -1 instead." for auto and stack, and "random_state (--seed) must be an int >= 0, a numpy Generator or
None; got -1" for the 16 other laws (whose own constraint, "an int, a numpy Generator or None", let -1 through to
check_random_state). Now every law's comes from validate_params with the rule of _validation.RANDOM_STATE_RULE,
auto and stack's too: they took no Generator (refused with a sentence that left it out), and now draw one int per
fit from it, which seeds their folds and members.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from mixlaw._validation import check_random_state
from mixlaw.errors import InvalidParameterError
from mixlaw.laws import available_laws, get_law

META = {"auto", "stack"}


def _message(key: str, seed: object) -> str:
    if key == "lightgbm":
        pytest.importorskip("lightgbm")
    W = np.random.default_rng(0).dirichlet(np.ones(3), size=30)
    y = 2.0 + np.exp(W @ [-1.0, 0.5, 0.2])
    law = get_law(key, random_state=seed)
    with warnings.catch_warnings(), pytest.raises(InvalidParameterError) as err:
        warnings.simplefilter("ignore")
        law.fit(W, y)
    return str(err.value).replace(type(law).__name__, "<law>")


@pytest.mark.parametrize("seed", [-1, np.int64(-3), 1.5, "a", True])
def test_every_law_refuses_a_bad_random_state_in_one_sentence(seed) -> None:
    rule = "an int >= 0, a numpy Generator or None"
    messages = {key: _message(key, seed) for key in available_laws()}
    want = f"The 'random_state' parameter of <law> must be {rule}. Got {seed!r} instead."
    assert messages == {k: want for k in messages}


@pytest.mark.parametrize("key", sorted(META))
def test_meta_laws_take_a_generator_and_draw_one_seed_a_fit(key) -> None:
    # get_law("auto", random_state=np.random.default_rng(0)).fit(...) was refused ("must be an int >= 0 or None")
    # while every other law takes a Generator (scikit-learn's convention).
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=24)
    Y = np.column_stack([2.0 + np.exp(W @ [-1.0, 0.5, 0.2]), 3.0 - W @ [0.2, 0.1, 0.4]])
    Y[:3, 1] = np.nan  # a ragged fit: its groups' sub-fits share the fit's one drawn seed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b = (get_law(key, candidates=["linear", "ye-exp"], random_state=np.random.default_rng(7)).fit(W, Y)
                for _ in range(2))
        drawn = int(np.random.default_rng(7).integers(2**31))
        assert a.cv_.random_state == b.cv_.random_state == drawn
        np.testing.assert_array_equal(a.predict(W), b.predict(W))
        # the same as the int it drew
        np.testing.assert_array_equal(a.predict(W), get_law(key, candidates=["linear", "ye-exp"],
                                                            random_state=drawn).fit(W, Y).predict(W))


def test_a_function_says_the_same_rule() -> None:
    rule = "must be an int >= 0, a numpy Generator or None; got -1"
    with pytest.raises(InvalidParameterError, match=re.escape(rule)):
        check_random_state(-1)
