"""fit_pipeline says which of its options a fixed route and law leaves unused: with route and law named and no
intervals, ``objective`` (it scores the auto candidates' backtest), ``level`` and ``n_jackknife`` (the intervals')
changed nothing, without a word; ``objective={'bogus': 1}`` and ``objective='max'`` were accepted there, which auto
refuses. Found on bench/data/crossscale_runs_v3.csv (route nested, law ye-exp): the same target losses, no warning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mixlaw.errors import InputError, MixlawWarning
from mixlaw.pipeline import fit_pipeline

from .test_pipeline import N_STAR, S_STAR, world

FIXED = {"target_params": N_STAR, "target_steps": S_STAR, "route": "nested", "law": "ye-exp"}


@pytest.fixture(scope="module")
def table():  # type: ignore[no-untyped-def]
    return world(n_mix=8)


def _unused(table, **kw):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        res = fit_pipeline(table, **{**FIXED, **kw})
    lines = [str(w.message) for w in rec if issubclass(w.category, MixlawWarning) and "not used" in str(w.message)]
    return res, lines


def test_a_fixed_route_and_law_name_the_options_they_leave_unused(table) -> None:  # type: ignore[no-untyped-def]
    base, none = _unused(table)
    assert none == []
    res, lines = _unused(table, objective={"web": 0.5, "code": 0.5}, level=0.95, n_jackknife=3)
    np.testing.assert_array_equal(res.target_losses, base.target_losses)
    assert len(lines) == 1 and lines[0] in res.warnings
    assert lines[0].startswith("objective, level, n_jackknife not used: a fixed route and law ('nested', 'ye-exp') "
                               "without intervals")
    # Used where they mean something: a backtest (intervals=True) scores the objective and builds the intervals.
    _, lines = _unused(table, objective={"web": 0.5, "code": 0.5}, level=0.95, n_jackknife=0, intervals=True)
    assert lines == []


def test_an_objective_a_fixed_route_cannot_use_is_still_checked(table) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="unknown eval set"):
        fit_pipeline(table, **FIXED, objective={"bogus": 1.0})
    with pytest.raises(InputError, match="linear objective"):
        fit_pipeline(table, **FIXED, objective="max")


def test_a_numpy_integer_seed_is_that_seed(table) -> None:  # type: ignore[no-untyped-def]
    # The jackknife's seed read random_state only when a Python int: np.int64(7) (a seed from np.arange) drew the
    # jackknife of seed 0; on crossscale_runs_v3.csv its intervals differed from random_state=7's by 0.195.
    kw = {**FIXED, "intervals": True, "n_jackknife": 2}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixlawWarning)
        py, np_ = (fit_pipeline(table, **kw, random_state=s) for s in (3, np.int64(3)))
    assert [len(r.intervals.boot_laws) for r in (py, np_)] == [2, 2]
    np.testing.assert_array_equal(np_.intervals.boot_sigma, py.intervals.boot_sigma)
    np.testing.assert_array_equal(np_.intervals.upper, py.intervals.upper)


def test_a_generator_random_state_draws_the_jackknife(table) -> None:  # type: ignore[no-untyped-def]
    # A Generator (check_random_state's other form) drew the jackknife of seed 0 whatever its own seed: review32f.
    kw = {**FIXED, "intervals": True, "n_jackknife": 2}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixlawWarning)
        zero, *gens = (fit_pipeline(table, **kw, random_state=s)
                       for s in (0, np.random.default_rng(5), np.random.default_rng(5), np.random.default_rng(6)))
    np.testing.assert_array_equal(gens[0].intervals.upper, gens[1].intervals.upper)
    sigmas = [r.intervals.boot_sigma for r in (zero, gens[0], gens[2])]
    # Apart by more than the refits' own 1e-12 (their multi-starts read the Generator too).
    assert all(np.abs(a - b).max() > 1e-6 for i, a in enumerate(sigmas) for b in sigmas[i + 1:])
    with pytest.raises(InputError, match="random_state"):
        fit_pipeline(table, **kw, random_state=np.random.RandomState(5))


def test_the_direct_route_says_shared_exponents_is_not_used(table) -> None:  # type: ignore[no-untyped-def]
    # The joint law's exponents are per eval whatever shared_exponents says: False gave True's result, silently.
    kw = {**FIXED, "route": "direct"}
    base, none = _unused(table, **kw)
    assert none == []
    res, lines = _unused(table, **kw, shared_exponents=False)
    np.testing.assert_array_equal(res.target_losses, base.target_losses)
    assert lines == ["shared_exponents=False not used: the direct route fits one joint law per eval, with no "
                     "per-curve step or size laws whose exponents could be shared or not (route='nested')"]
    assert lines[0] in res.warnings
