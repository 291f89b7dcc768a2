"""What a user who works from Python (a notebook, never the CLI) reaches from ``import mixlaw``."""

from __future__ import annotations

import numpy as np

import mixlaw


def test_save_and_load_of_laws_and_pipelines_are_at_the_top_level(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # They were only in mixlaw.api (save_law, load_law) and mixlaw.pipeline (save_pipeline, load_pipeline).
    for name in ("save_law", "load_law", "save_pipeline", "load_pipeline"):
        assert name in mixlaw.__all__ and callable(getattr(mixlaw, name))
    train = mixlaw.load_regmix("train_1m").subset(np.arange(60))
    law = mixlaw.get_law("linear").fit(train, targets=["pile_cc", "github"])
    mixlaw.save_law(law, tmp_path / "law.json")
    again = mixlaw.load_law(tmp_path / "law.json")
    np.testing.assert_array_equal(again.predict(train), law.predict(train))


def test_get_law_names_the_options_and_the_near_miss() -> None:
    # get_law("ye-exp", n_restart=3) said "YeExponential.__init__() got an unexpected keyword argument 'n_restart'";
    # get_law("ye_exp") listed the keys without pointing at the one meant.
    import pytest

    from mixlaw import InputError

    with pytest.raises(InputError, match=r"unknown law 'ye_exp' \(did you mean 'ye-exp'\?\); available: "):
        mixlaw.get_law("ye_exp")
    with pytest.raises(InputError, match=r"law 'ye-exp' has no option 'n_restart' \(did you mean 'n_restarts'\?\); "
                                         r"its options: loss, huber_delta, n_restarts"):
        mixlaw.get_law("ye-exp", n_restart=3)
    with pytest.raises(InputError, match=r"law 'auto' has no option 'zzz'; its options: candidates"):
        mixlaw.get_law("auto", zzz=1)
    assert mixlaw.get_law("ye-exp", n_restarts=3).n_restarts == 3
