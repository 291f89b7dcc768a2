"""Laws that need an optional package: left out of the defaults, with the pip extra named, when it does not import."""

from __future__ import annotations

import pytest

from mixlaw.compare import default_laws, left_out_laws
from mixlaw.laws import base
from mixlaw.laws.linear import Linear
from mixlaw.laws.registry import missing_extra, register
from mixlaw.laws.selection import AUTO_CANDIDATES, default_candidates


@pytest.fixture
def law_needing_absent_package(monkeypatch):
    class NeedsAbsent(Linear):
        pass

    register("needs-absent", extra="mixlaw_no_such_package")(NeedsAbsent)
    base._REGISTRY.pop("needs-absent")  # registered through the fixture's monkeypatch only
    monkeypatch.setitem(base._REGISTRY, "needs-absent", NeedsAbsent)
    monkeypatch.setattr("mixlaw.laws.selection.AUTO_CANDIDATES", (*AUTO_CANDIDATES, "needs-absent"))
    return "needs-absent"


def test_law_whose_package_is_missing_is_left_out_and_named(law_needing_absent_package):
    key = law_needing_absent_package
    assert missing_extra(key) == "mixlaw_no_such_package"
    assert key not in default_laws()
    assert key not in default_candidates()
    assert left_out_laws()[key] == "its package is not installed (pip install 'mixlaw[mixlaw_no_such_package]')"


def test_laws_without_extra_or_with_installed_extra_stay():
    pytest.importorskip("lightgbm")
    assert missing_extra("linear") is None and missing_extra("lightgbm") is None
    assert {"linear", "lightgbm"} <= set(default_laws())
    assert "lightgbm" not in left_out_laws()
