"""A pipeline fitted without a backtest keeps its jackknife refits' mixing laws in the file (``state.jackknife_laws``,
each as what differs from the pipeline's own law), so that a loaded pipeline gives a new mixture the fitted one's
interval. Before, it got the largest saved spread of each eval (documented, not equal)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose

from mixlaw.pipeline import fit_pipeline, load_pipeline, save_pipeline
from mixlaw.pipeline.io import pipeline_to_dict

from .test_pipeline import world
from .test_pipeline_predict import load_error


def _new(res):  # type: ignore[no-untyped-def]
    """Mixtures not among the pipeline's, inside its fitted ranges: midpoints of consecutive ones."""
    return 0.5 * (res.mixtures[:-1] + res.mixtures[1:])


@pytest.fixture(scope="module")
def no_backtest():  # type: ignore[no-untyped-def]
    # Each without a backtest: one size with curves of 3 checkpoints (steps only), one step at 3 sizes (sizes
    # only), and 3 sizes with curves of 3 checkpoints (the multi-scale pipeline's size- and step-law terms).
    kw = {"route": "nested", "law": "ye-exp", "intervals": True}
    return {"steps only": fit_pipeline(world(noise=3e-3, n_mix=8, sizes=[4e7], steps=[500, 1000, 3000]),
                                       target_steps=1e4, **kw),
            "sizes only": fit_pipeline(world(noise=3e-3, n_mix=8, sizes=[1e7, 2e7, 4e7], steps=[3000]),
                                       target_params=1e9, **kw),
            "3 sizes, 3 checkpoints": fit_pipeline(world(noise=3e-3, n_mix=8, sizes=[1e7, 2e7, 4e7],
                                                         steps=[500, 1000, 3000]),
                                                   target_params=1e9, target_steps=1e4, **kw)}


@pytest.mark.parametrize("case", ["steps only", "sizes only", "3 sizes, 3 checkpoints"])
def test_a_loaded_pipeline_gives_a_new_mixture_the_fitted_interval(tmp_path, no_backtest, case) -> None:  # type: ignore[no-untyped-def]
    res = no_backtest[case]
    NEW = _new(res)
    iv = res.intervals
    assert iv is not None and iv.residuals is None and iv.n_boot >= 2
    path = tmp_path / "p.json"
    save_pipeline(res, path)
    back = load_pipeline(path)
    assert back.intervals.refits_kept
    for got, want in zip(back.interval(NEW), res.interval(NEW), strict=True):
        assert_allclose(got, want, rtol=0, atol=1e-10)
    # Not the largest saved spread: some new mixture's interval is narrower than that rule's.
    sigma_max = np.nan_to_num(iv.boot_sigma).max(axis=0)
    assert np.any(iv.boot_spread(NEW, res.predict(NEW)) < sigma_max - 1e-6)
    assert f"get the spread of the {iv.n_boot} saved jackknife refits' predictions" in \
        back.intervals.describe_at(NEW, back.targets)
    # Saved again, the refits stay as they were.
    again = tmp_path / "again.json"
    save_pipeline(back, again)
    assert json.loads(again.read_text())["state"]["jackknife_laws"] == json.loads(path.read_text())["state"][
        "jackknife_laws"]


def test_the_refits_are_saved_as_what_differs_from_the_pipeline_law(no_backtest) -> None:  # type: ignore[no-untyped-def]
    res = no_backtest["sizes only"]
    doc = pipeline_to_dict(res)
    laws = doc["state"]["jackknife_laws"]
    n_params = len(doc["result"]["mixing_law"]["params"])
    assert len(laws) == res.intervals.n_boot
    assert all("whole" not in d and len(d["values"]) == n_params and "params" not in d and "options" not in d
               for d in laws)
    assert "jackknife" not in doc["state"]  # the scale models stay out: no intervals at another scale without one


def test_older_files_and_damaged_refits(tmp_path, no_backtest) -> None:  # type: ignore[no-untyped-def]
    res = no_backtest["sizes only"]
    NEW = _new(res)
    path = tmp_path / "p.json"
    save_pipeline(res, path)
    good = json.loads(path.read_text())
    # A file saved before the refits were kept: the largest saved spread, as before, and said so.
    old = json.loads(json.dumps(good))
    old["state"].pop("jackknife_laws")
    path.write_text(json.dumps(old))
    back = load_pipeline(path)
    assert back.intervals.boot_laws == [] and "the jackknife refits are not saved" in \
        back.intervals.describe_at(NEW, back.targets)
    laws = lambda d: d["state"]["jackknife_laws"]  # noqa: E731
    assert "state.jackknife_laws: expected a list of the" in load_error(tmp_path, good, lambda d: laws(d).pop())
    assert "state.jackknife_laws[0].values: expected a" in load_error(tmp_path, good,
                                                                        lambda d: laws(d)[0]["values"].pop())
    assert "state.jackknife_laws[1].bounds" in load_error(tmp_path, good,
                                                          lambda d: laws(d)[1].update(bounds={"nope": {"min": 0}}))
    assert "state.jackknife_laws[0]" in load_error(tmp_path, good, lambda d: laws(d)[0].update(law="nope"))
