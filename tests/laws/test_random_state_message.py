"""An invalid ``random_state`` is refused with one sentence by every law, meta-laws included.

Before, ``random_state=-1`` read "The 'random_state' parameter of AutoLaw must be an int in the range [0, inf) or
None. Got -1 instead." for auto and stack, and "random_state (--seed) must be an int >= 0, a numpy Generator or
None; got -1" for the 16 other laws (whose own constraint, "an int, a numpy Generator or None", let -1 through to
check_random_state). Now every law's comes from validate_params with the rule of _validation.RANDOM_STATE_RULE;
auto and stack take no Generator (they seed their folds and members from an int), and their sentence leaves it out.
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
    assert {k: m for k, m in messages.items() if k not in META} == {k: want for k in messages if k not in META}
    # auto and stack: the same sentence, less the Generator they do not take
    assert {messages[k] for k in META} == {want.replace(rule, "an int >= 0 or None")}


def test_a_function_says_the_same_rule() -> None:
    rule = "must be an int >= 0, a numpy Generator or None; got -1"
    with pytest.raises(InvalidParameterError, match=re.escape(rule)):
        check_random_state(-1)
