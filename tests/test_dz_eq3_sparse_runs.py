"""dz-eq3 on a sweep where no run trains on every domain (Olmix's DCLM swarm: 24 domains, each run on a few)."""
from __future__ import annotations

import numpy as np
import pytest

from mixlaw import get_law
from mixlaw.errors import InputError


def test_dz_eq3_without_a_run_on_every_domain_is_a_clear_error():
    """Eq. 3 is fitted only where every term domain has weight > 0; with none such, `mixlaw report` died in
    the pooling prior with ZeroDivisionError. Now an InputError that points to dz-eq3-safe, which fits."""
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), 40)
    W[::2, 2] = 0.0
    W[1::2, 1] = 0.0
    W /= W.sum(axis=1, keepdims=True)
    Y = (2 + np.exp(-W[:, 0]))[:, None]
    with pytest.raises(InputError, match=r"0 observations are too few.*0 of 40 here; dz-eq3-safe fits every entry"):
        get_law("dz-eq3").fit(W, Y, domains=["a", "b", "c"], targets=["x"])
    assert np.all(np.isfinite(get_law("dz-eq3-safe").fit(W, Y, domains=["a", "b", "c"], targets=["x"]).predict(W)))
