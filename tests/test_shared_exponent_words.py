"""The shared-exponent step fit's refusal says why 2 checkpoints per curve are too few. Dai & Zheng's 4-domain
Pile runs (16 curves of 2 checkpoints at 90M) read "32 points in all are too few for 33 parameters (each curve
needs >= 2 distinct x values)", which every curve had."""

from __future__ import annotations

import numpy as np
import pytest

from mixlaw.errors import InputError
from mixlaw.scaling.batched import fit_shared_exponents


def test_curves_of_two_points_are_refused_with_the_arithmetic() -> None:
    xs = [np.array([1000.0, 3000.0])] * 4
    ys = [2.0 + 5.0 / x ** 0.4 for x in xs]
    with pytest.raises(InputError, match=r"^step: 4 curve\(s\) with 8 points in all are too few for 9 parameters \(E "
                                         r"and A per curve, one shared exponent: the points must outnumber them, so "
                                         r"curves of 2 checkpoints each are not enough; each curve needs >= 2 "
                                         r"distinct x values\)$"):
        fit_shared_exponents([(xs, ys)], labels=["step"])
    # A third checkpoint on every curve fits.
    xs3 = [np.array([1000.0, 2000.0, 3000.0])] * 4
    (E, _, a, _), = fit_shared_exponents([(xs3, [2.0 + 5.0 / x ** 0.4 for x in xs3])], labels=["step"])
    assert np.allclose(E, 2.0, rtol=1e-3) and a == pytest.approx(0.4, rel=1e-2)
