"""A domain that is 0 in every fitting run leaves its own parameter unidentified, not every parameter's error.

On Olmix's update-5 swarm (allenai/olmix, 64 runs x 22 domains) ``s2pdfv1:adult`` is 0 in all runs; ``ye-exp`` and
``loglinear`` reported no standard error for any of their parameters (``J^T J``, ``W^T W`` singular). Now the
domain's parameter has none and the others have those of the fit without that domain.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from mixlaw.data import RunTable
from mixlaw.laws import get_law


def _tables() -> tuple[RunTable, RunTable]:
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), size=40)
    y = (2.0 + np.exp(W @ np.array([-1.0, 0.2, 0.6]))) * np.exp(rng.normal(0, 0.003, 40))
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(40)], "w:a": W[:, 0], "w:b": W[:, 1], "w:c": W[:, 2],
                          "loss:x": y})
    with_zero = frame.copy()
    with_zero.insert(1, "w:never", 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the all-zero domain's own warning
        return RunTable(with_zero), RunTable(frame)


@pytest.mark.parametrize("key", ["ye-exp", "loglinear", "linear"])
def test_an_all_zero_domain_blanks_only_its_own_stderr(key: str) -> None:
    zero, plain = _tables()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p0 = get_law(key).fit(zero, targets="x").params_
        p1 = get_law(key).fit(plain, targets="x").params_
    never = [n for n in p0 if "never" in n]
    assert len(never) == 1 and p0[never[0]].stderr is None
    shared = [n for n in p1 if p1[n].vary]
    assert shared and all(p1[n].stderr is not None for n in shared)
    for n in shared:
        assert p0[n].value == pytest.approx(p1[n].value, rel=1e-4, abs=1e-6)
        assert p0[n].stderr == pytest.approx(p1[n].stderr, rel=1e-3), n


def test_correlations_of_a_fit_with_an_unidentified_parameter_name_the_identified_ones() -> None:
    zero, _ = _tables()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        law = get_law("ye-exp").fit(zero, targets="x")
    pairs = law.report().correlations
    assert pairs and all("never" not in a and "never" not in b for a, b, _ in pairs)
