"""A saved law keeps its fit's warnings (``fit_warnings``): the report of a fit where no start converged said so,
and the same law saved and loaded said nothing of it."""

from __future__ import annotations

import json

import numpy as np
import pytest

import mixlaw.laws.base as base
from mixlaw import get_law, load_law, save_law
from mixlaw.errors import ConvergenceWarning, InputError


def _unconverged(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(base, "LAW_MAX_ITER", 1)  # one iteration per start: no start converges
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), 24)
    Y = np.column_stack([2.0 + 0.5 * np.exp(W @ np.array([1.5, -2.0, 0.4])),
                         3.0 + 0.2 * np.exp(W @ np.array([-1.0, 0.5, 1.0]))])
    with pytest.warns(ConvergenceWarning, match="no start converged"):
        return get_law("ye-exp", random_state=0).fit(W, Y, targets=["a", "b"])


def test_a_loaded_law_still_says_its_fit_did_not_converge(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    law = _unconverged(monkeypatch)
    fitted = law.report()
    assert any("no start converged" in w for w in fitted.warnings)
    path = tmp_path / "law.json"
    save_law(law, path)
    loaded = load_law(path).report()
    assert loaded.warnings == fitted.warnings  # before: []
    assert "[[Warnings]]" in str(loaded) and "[a] no start converged" in str(loaded)
    assert loaded.to_dict()["warnings"] == fitted.warnings
    path2 = tmp_path / "again.json"  # saved again, loaded: still there
    save_law(load_law(path), path2)
    assert load_law(path2).report().warnings == fitted.warnings


def test_a_refitted_loaded_law_reports_its_own_fit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # linear keeps no fit results: the saved warnings would be the report's after a refit unless the refit drops them
    rng = np.random.default_rng(1)
    W = rng.dirichlet(np.ones(3), 24)
    y = 2.0 + W @ np.array([0.5, -0.2, 0.1])
    path = tmp_path / "law.json"
    save_law(get_law("linear").fit(W, y), path)
    path.write_text(json.dumps({**json.loads(path.read_text()), "fit_warnings": ["no start converged"]}))
    loaded = load_law(path)
    assert loaded.report().warnings == ["no start converged"]
    assert loaded.fit(W, y).report().warnings == []


def test_fit_warnings_are_checked_and_escaped_on_load(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    law = _unconverged(monkeypatch)
    path = tmp_path / "law.json"
    save_law(law, path)
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "fit_warnings": [1, 2]}))
    with pytest.raises(InputError, match="field 'fit_warnings' must be null or a list of texts"):
        load_law(path)
    path.write_text(json.dumps({**doc, "fit_warnings": ["a\x1b[2Jb"]}))
    assert load_law(path).report().warnings == ["a\\x1b[2Jb"]
    del doc["fit_warnings"]  # a file saved before they were kept loads, listing none
    path.write_text(json.dumps(doc))
    assert load_law(path).report().warnings == []
