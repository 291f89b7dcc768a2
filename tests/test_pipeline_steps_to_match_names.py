"""pipeline_steps_to_match reads its two mixtures by domain name, as PipelineResult.predict reads one: a pandas Series
or a one-row frame whose columns were in another order than ``result.domains`` was read by position (the optimum's
weights permuted: "optimum is worth -44 % training" for +163 %, on bench/data/crossscale_runs_v3.csv), and the
mapping ``optimize_pipeline`` returns its weights as (``opt.weights``) stopped on a bare TypeError."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixlaw.errors import InputError
from mixlaw.pipeline import fit_pipeline, pipeline_steps_to_match

from .test_pipeline import N_STAR, S_STAR, world


@pytest.fixture(scope="module")
def res():  # type: ignore[no-untyped-def]
    return fit_pipeline(world(n_mix=8), target_params=N_STAR, target_steps=S_STAR, route="nested", law="ye-exp")


def _figures(s) -> tuple[float, float, float, float]:  # type: ignore[no-untyped-def]
    return s.default_loss, s.optimum_loss, s.steps_fraction, s.equivalent_steps


def test_mixtures_by_name_give_the_figures_of_the_arrays(res) -> None:  # type: ignore[no-untyped-def]
    opt = np.array([0.2, 0.3, 0.5])  # in res.domains' order (web, code, math)
    default = np.array([0.6, 0.2, 0.2])
    want = _figures(pipeline_steps_to_match(res, opt, default))
    as_dict = [dict(zip(res.domains, w, strict=True)) for w in (opt, default)]
    reordered = [{d: m[d] for d in reversed(res.domains)} for m in as_dict]
    for a, b in (as_dict, [pd.Series(m) for m in reordered], [pd.DataFrame([m]) for m in reordered],
                 [pd.Series({f"w:{d}": v for d, v in m.items()}) for m in reordered]):
        assert _figures(pipeline_steps_to_match(res, a, b)) == pytest.approx(want, rel=1e-12)


def test_more_than_one_mixture_is_refused(res) -> None:  # type: ignore[no-untyped-def]
    two = np.array([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]])
    with pytest.raises(InputError, match="optimum: one mixture"):
        pipeline_steps_to_match(res, two, two[0])


def test_a_natural_mixture_given_as_a_one_row_frame_is_read_by_its_columns(res) -> None:  # type: ignore[no-untyped-def]
    # optimize_pipeline(natural=<one-row frame>) in another column order was read by position (a Series by its
    # labels): on crossscale_runs_v3.csv the natural mixture code 0.6 / legal 0.1 came back code 0.1 / legal 0.6.
    from mixlaw.pipeline import optimize_pipeline

    nat = {"web": 0.5, "code": 0.3, "math": 0.2}
    ref = optimize_pipeline(res, natural=nat, steps_to_match=False)
    for frame in (pd.DataFrame([{d: nat[d] for d in reversed(res.domains)}]),
                  pd.DataFrame([{f"w:{d}": nat[d] for d in reversed(res.domains)}])):
        got = optimize_pipeline(res, natural=frame, steps_to_match=False)
        assert got.natural_weights == pytest.approx(ref.natural_weights, rel=1e-12)
        assert got.natural_objective == pytest.approx(ref.natural_objective, rel=1e-12)
    with pytest.raises(InputError, match="natural mixture: one mixture"):
        optimize_pipeline(res, natural=pd.DataFrame([nat, nat]), steps_to_match=False)


def test_the_grid_below_the_fitted_steps_is_not_warned_as_an_option_but_a_crossing_there_is_noted() -> None:
    # hunt34b: 'mixlaw pipeline --runs bench/data/crossscale_runs_v4.csv --fit-up-to 100096 --target-params 233680
    # --target-steps 2929 --fit-from 0.4 --optimize' (and optimize --pipeline of its --save) printed four lines
    # 'warning: steps=366.125 (--steps) is below the smallest fitted step 1200' though no --steps was given: the
    # figures' own grid (S*/8 .. 8 S*), not a scale the user asked for, while the crossings read lay in the fitted
    # range (99.6 % of the steps). A crossing below the smallest fitted step is what the reader must know.
    import warnings

    from .test_pipeline_optimum_improvement import world as mix_world

    res = fit_pipeline(mix_world(0.4, 1e-4), target_params=2e8, target_steps=500, route="nested", law="ye-exp")
    low = float(res.smallest_fitted[1])  # 250
    opt = np.array([0.6, 0.2, 0.2])
    for default, below in (([0.55, 0.25, 0.2], False), ([0.35, 0.3, 0.35], True)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            s = pipeline_steps_to_match(res, opt, np.array(default))
        said = [str(w.message) for w in caught]
        assert not [m for m in said if "(--steps)" in m], said
        assert (s.steps_fraction * 500 < low) == below
        note = f"the optimum reaches the default's final loss at S = {s.steps_fraction * 500:.4g}, below the smallest"
        assert (note in s.assumption) == below, s.assumption
        if below:
            assert f"smallest fitted step {low:g}: read off the step law extrapolated downward" in s.assumption
