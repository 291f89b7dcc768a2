"""The scale warning's list of laws that take the spread scale. gp-residual's ``uses_tokens`` and
``uses_model_params`` are properties that follow its base law; read off the registry's class they were the
property objects, always true, so the warning on AutoScale's DDO runs (GPT-2 Large on 7 RedPajama domains, at 3
token counts) said "law 'gp-residual' takes no tokens" and, in the same sentence, "use a law that takes it
(bimix, autoscale, dz-eq3, dz-eq3-safe, gp-residual)"."""

from __future__ import annotations

import pytest

from mixlaw.laws import get_law
from mixlaw.laws.registry import _REGISTRY
from mixlaw.laws.scale_inputs import scale_blind_message


@pytest.mark.parametrize("col", ["tokens", "params"])
def test_gp_residual_is_offered_only_with_a_base_that_takes_the_scale(col: str) -> None:
    spread = {col: (3, 1e8, 1.5e9)}
    why = scale_blind_message(None, spread, [get_law("ye-exp")])
    assert why is not None and "use a law that takes it (" in why
    takers = why.split("use a law that takes it (")[1].split(")")[0].split(", ")
    assert "gp-residual" not in takers and "dz-eq3" in takers  # its default base, loglinear-sat, takes neither
    # The registry's class (a meta-law's candidates) reads as its default: blind, as the instance is.
    for law in (_REGISTRY["gp-residual"], get_law("gp-residual")):
        assert "'gp-residual' takes no" in (scale_blind_message(None, spread, [law]) or "")
    assert scale_blind_message(None, spread, [get_law("gp-residual", base="dz-eq3")]) is None
