"""PipelineResult.predict of a frame whose rows carry their own ``params`` / ``step`` (``tokens``) at another scale says
that it predicts them at the asked scale, as ``mixlaw predict --pipeline`` (api.pipeline_predictions) says: a
notebook passing rows of its run table got the target's losses for them without a word (crossscale_runs_v3.csv's
rows at N = 28368, step 60: 1.66 predicted where they measured 3.47)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mixlaw.data import RunTable
from mixlaw.errors import ScaleWarning
from mixlaw.pipeline import fit_pipeline

from .test_pipeline import N_STAR, S_STAR, world


@pytest.fixture(scope="module")
def fitted():  # type: ignore[no-untyped-def]
    table = world(n_mix=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_pipeline(table, target_params=N_STAR, target_steps=S_STAR, route="nested", law="ye-exp")
    return res, table


def _scale_lines(fn):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = fn()
    return out, [str(w.message) for w in rec if issubclass(w.category, ScaleWarning)]


def test_rows_at_their_own_scale_are_said_to_be_predicted_at_the_asked_one(fitted) -> None:  # type: ignore[no-untyped-def]
    res, table = fitted
    f = table.frame
    rows = f[(f["params"] == 1e7) & (f["step"] == 250)].head(3)
    P, lines = _scale_lines(lambda: res.predict(rows))
    np.testing.assert_array_equal(P, res.predict(rows[[c for c in rows if c.startswith("w:")]].to_numpy()))
    assert len(lines) == 1
    assert lines[0].startswith("mixtures: 3 of 3 row(s) have their own 'params' and 'step' at another scale, which "
                               f"predict does not read: every row is predicted at N = {N_STAR:g}, S = {S_STAR:g}")
    _, lines = _scale_lines(lambda: res.predict(RunTable(rows)))
    assert len(lines) == 1
    # At their own scale, or without those columns: nothing to say.
    _, lines = _scale_lines(lambda: res.predict(rows, params=1e7, steps=250))
    assert lines == []
    _, lines = _scale_lines(lambda: res.predict(rows.drop(columns=["params", "step"])))
    assert lines == []
