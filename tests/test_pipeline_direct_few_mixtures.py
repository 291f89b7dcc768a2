"""The direct route says when the table's mixtures are too few to determine its joint law's mixture term.

Across mixtures only the asymptote E_i + k_i exp(t_i . r) varies: with K domains, K + 1 free parameters per eval
(ye-exp). Dai & Zheng's SlimPajama (7 domains) cut to 5 mixtures gave a jackknife interval of [0, 44.8] for a loss of
1.61 and a 31.5 % "gain" from --optimize, with no warning; the nested route refuses such a table outright."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from mixlaw.data import RunTable
from mixlaw.errors import MixlawWarning
from mixlaw.pipeline import fit_pipeline

DOMAINS = ["a", "b", "c", "d", "e"]
SIZES, STEPS = [1e7, 2e7, 4e7, 8e7], [250, 500, 1000, 2000]


def world(n_mix: int, seed: int = 0) -> RunTable:
    """L = 1.5 + 300/N^0.3 + 30/S^0.4 + 0.5 exp(t . r) per eval, 0.1 % noise."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(-2.0, 0.5, size=(2, len(DOMAINS)))
    rows = []
    for m, w in enumerate(rng.dirichlet(np.ones(len(DOMAINS)), size=n_mix)):
        for N in SIZES:
            for S in STEPS:
                y = (1.5 + 300 / N ** 0.3 + 30 / S ** 0.4 + 0.5 * np.exp(T @ w)) * (1 + 1e-3 * rng.standard_normal(2))
                rows.append({"run": f"m{m}-{N:g}", "params": N, "step": S,
                             **{f"w:{d}": w[j] for j, d in enumerate(DOMAINS)}, "loss:x": y[0], "loss:y": y[1]})
    return RunTable(pd.DataFrame(rows))


def test_few_mixtures_warn_and_say_so_in_the_result() -> None:
    with pytest.warns(MixlawWarning, match=r"4 mixtures are too few to determine the joint law's mixture term over 5 "
                                           r"domains \(6 parameters .*at least 7 mixtures"):
        res = fit_pipeline(world(4), target_params=3e8, target_steps=8000, route="direct", law="ye-exp",
                           intervals=False)
    assert any("too few to determine" in w for w in res.warnings)


def test_enough_mixtures_no_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fit_pipeline(world(10), target_params=3e8, target_steps=8000, route="direct", law="ye-exp",
                           intervals=False)
    assert not [w for w in caught if "too few to determine" in str(w.message)]
    assert not any("too few to determine" in w for w in res.warnings)


def test_the_count() -> None:
    from mixlaw.pipeline.direct import few_mixtures_line

    mixes = np.random.default_rng(1).dirichlet(np.ones(3), size=5)
    assert few_mixtures_line("ye-exp", mixes) is None           # 3 domains: 4 parameters, 5 mixtures
    assert few_mixtures_line("ye-exp", mixes[:4]) is not None   # 4 mixtures for 4 parameters: no degree of freedom
    # ye-pow's gammas are pooled (a penalty identifies them): the same count.
    assert few_mixtures_line("ye-pow", mixes) is None and few_mixtures_line("ye-pow", mixes[:4]) is not None
    # A domain at one share in every mixture adds nothing to determine: 2 domains vary, 3 parameters.
    two = mixes[:4, :2] / mixes[:4, :2].sum(1, keepdims=True)
    fixed = np.column_stack([0.5 * two, np.full(4, 0.5)])
    assert few_mixtures_line("ye-exp", fixed) is None


def test_the_optimum_of_a_saved_pipeline_says_so(tmp_path) -> None:
    from mixlaw.pipeline import load_pipeline, optimize_pipeline, save_pipeline

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixlawWarning)
        res = fit_pipeline(world(4), target_params=3e8, target_steps=8000, route="direct", law="ye-exp",
                           intervals=False)
    save_pipeline(res, tmp_path / "p.json")
    with pytest.warns(MixlawWarning, match=r"optimum: 4 mixtures are too few to determine the joint law's mixture "
                                           r"term over 5 domains, so this optimum"):
        optimize_pipeline(load_pipeline(tmp_path / "p.json"))


def test_unpooled_ye_pow_counts_its_exponents() -> None:
    # gamma_pooling=0 leaves ye-pow's K exponents free (no penalty identifies them): 2K + 1 = 11 parameters for 5
    # domains, which 7 mixtures cannot fix; the pooled count (K + 1 = 6) said nothing.
    from mixlaw.pipeline.direct import few_mixtures_line

    mixes = np.random.default_rng(1).dirichlet(np.ones(5), size=7)
    assert few_mixtures_line("ye-pow", mixes) is None
    assert "over 5 domains (11 parameters" in (few_mixtures_line("ye-pow", mixes, pooled=False) or "")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fit_pipeline(world(7), target_params=3e8, target_steps=8000, route="direct", law="ye-pow",
                           law_options={"gamma_pooling": 0.0}, intervals=False)
    assert [w for w in caught if "7 mixtures are too few" in str(w.message)]
    assert any("7 mixtures are too few" in w for w in res.warnings)
