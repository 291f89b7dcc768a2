"""Two model sizes: the size law and the direct joint law's size term (3 parameters) cannot extrapolate in size,
but a law that takes N as an input (Dai & Zheng's) fits 2, and the refusal says so. A user with Dai & Zheng's
4-domain Pile runs (90M and 200M, target 440M) got the refusal with no way forward, while
``--route direct --law dz-eq3-safe`` ran."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from test_pipeline_route_words import N_STAR, S_STAR, world

from mixlaw.errors import ExtrapolationWarning, InputError
from mixlaw.pipeline import fit_pipeline

TWO = [1e7, 2e7]


@pytest.mark.parametrize("route, law", [("auto", "auto"), ("nested", "ye-exp"), ("direct", "ye-exp")])
def test_two_sizes_refusal_names_the_laws_that_take_n(route: str, law: str) -> None:
    table = world(TWO)
    with pytest.raises(InputError) as err:
        fit_pipeline(table, target_params=N_STAR, target_steps=S_STAR, route=route, law=law)
    msg = str(err.value)
    assert "\n" not in msg and "needs 3 model sizes" in msg
    assert msg.endswith("with 2 sizes only a law that takes N as an input can (route 'direct', law 'dz-eq3-safe', "
                        "'dz-eq3' or 'dz-eq1': --route direct --law dz-eq3-safe), and no backtest can test it")
    # What the line offers does run on the same table (a table without tokens: the law predicts at the final
    # checkpoints, and says so).
    with pytest.warns(ExtrapolationWarning, match="needs tokens"):
        res = fit_pipeline(table, target_params=N_STAR, target_steps=S_STAR, route="direct", law="dz-eq3-safe")
    assert np.isfinite(res.predict(table.weights[:3])).all()


def test_two_sizes_at_one_step_refusal_names_them_too() -> None:
    # The sizes-only pipeline (each run's loss at one step) refuses 2 sizes in its own words, with the same tail.
    table = world(TWO, [3000])
    with pytest.raises(InputError, match=r"the runs at S = 3000 \(sizes only\) have 2 model size\(s\) .*; with 2 "
                                         r"sizes only a law that takes N as an input can \(route 'direct'"):
        fit_pipeline(table, target_params=N_STAR)
    res = fit_pipeline(table, target_params=N_STAR, route="direct", law="dz-eq3-safe")
    assert res.sizes_only and np.isfinite(res.predict(table.weights[:3])).all()


def test_one_size_refusal_offers_no_law() -> None:
    # Nothing extrapolates in size from one size: the tail is not said.
    table = world([1e7])
    with pytest.raises(InputError) as err:
        fit_pipeline(table, target_params=N_STAR, target_steps=S_STAR, route="direct", law="dz-eq3-safe")
    assert "dz-eq3-safe" not in str(err.value)


def _with_zero_shares(table):  # type: ignore[no-untyped-def]
    """The same runs with domain 0's share moved to domain 1 in half the mixtures (a sparse swarm's zeros)."""
    frame = table.frame.copy()
    first = frame.columns[frame.columns.str.startswith("w:")][0]
    second = frame.columns[frame.columns.str.startswith("w:")][1]
    odd = frame["run"].str.extract(r"m(\d+)-")[0].astype(int) % 2 == 1
    frame.loc[odd, second] += frame.loc[odd, first]
    frame.loc[odd, first] = 0.0
    return type(table)(frame)


@pytest.mark.parametrize("law", ["dz-eq1", "dz-eq3-safe"])
def test_a_law_whose_absent_domains_do_not_gain_with_size_says_so(law: str) -> None:
    # Dai & Zheng's capacity term gives a domain at share 0 its floor H at any N: the eval of that domain gets no
    # gain from 2e7 to N*. Fitted on RegMix's 1M and 60M runs and read at 1B, 18 % of the entries were exactly
    # their 60M prediction, with nothing but a summed stage warning to show it.
    sparse = _with_zero_shares(world(TWO, [3000]))
    line = (rf"law '{law}' predicts no lower loss at N\* = 1e\+09 than at the largest fitted size 2e\+07 for \d+ of "
            r"30 \(mixture, eval\) entries")
    with pytest.warns(ExtrapolationWarning, match=line):
        res = fit_pipeline(sparse, target_params=N_STAR, route="direct", law=law)
    assert any("capacity floor H" in w for w in res.warnings)
    # Every share at 5 % or more (a share near 0 sits at the floor too): every entry gains with N, nothing is said.
    table = world(TWO, [3000], n_mix=20)
    dense = table.subset(table.weights.min(axis=1) >= 0.05)
    assert len(dense) >= 8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dense = fit_pipeline(dense, target_params=N_STAR, route="direct", law=law)
    assert not any("capacity floor H" in w for w in dense.warnings)


def test_a_combined_law_that_does_not_gain_with_size_does_not_blame_the_capacity_floor() -> None:
    # stack of two laws that take no model size: every entry is flat in N, and the line said it was Dai & Zheng's
    # capacity floor H for absent domains, in a table with no share at 0 and no Dai & Zheng law in the fit.
    table = world(TWO, [3000], n_mix=20)
    with pytest.warns(ExtrapolationWarning, match=r"law 'stack' predicts no lower loss .* for 60 of 60 \(mixture, "
                                                  r"eval\) entries .*: its prediction there does not fall with N"):
        res = fit_pipeline(table, target_params=N_STAR, route="direct", law="stack",
                           law_options={"candidates": ["linear", "loglinear"]})
    line = next(w for w in res.warnings if "predicts no lower loss" in w)
    assert "a part of it that takes no model size" in line
    assert not line.split(": ", 1)[1].startswith("in Dai & Zheng's laws")
