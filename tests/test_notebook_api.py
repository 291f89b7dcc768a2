"""A notebook user's walk through the Python API: what survives save / load, and how results name their laws."""

from __future__ import annotations

import numpy as np
import pytest

import mixlaw


@pytest.mark.parametrize("key, options", [("loglinear-sat", {}),
                                          ("auto", {"candidates": ["linear", "loglinear"], "n_folds": 3})])
def test_a_loaded_law_has_the_saved_law_s_tuple_options(tmp_path, key, options) -> None:  # type: ignore[no-untyped-def]
    # JSON has no tuple: loglinear-sat's default alpha=(10.0, 30.0, 100.0) and auto's fit_on=("per-eval", "direct")
    # came back lists, so get_params() differed after the round trip and the repr named the default as given:
    # "AutoLaw(candidates=[...], n_folds=3, fit_on=['per-eval', 'direct'])".
    train = mixlaw.load_regmix("train_1m").subset(np.arange(60))
    law = mixlaw.get_law(key, **options).fit(train, targets="pile_cc")
    mixlaw.save_law(law, tmp_path / "law.json")
    again = mixlaw.load_law(tmp_path / "law.json")
    assert repr(again) == repr(law)
    assert {k: (type(v), v) for k, v in again.get_params().items()} == \
        {k: (type(v), v) for k, v in law.get_params().items()}
    np.testing.assert_array_equal(again.predict(train), law.predict(train))
