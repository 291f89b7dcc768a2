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


@pytest.mark.parametrize("G", [5, 100])  # the joint solve, and the profile (PROFILE_MIN_CURVES = 96)
@pytest.mark.parametrize("where, value", [("loss", np.nan), ("loss", 0.0), ("loss", -1.0), ("x", 0.0), ("x", np.nan)])
def test_a_point_that_is_not_positive_and_finite_is_named(G: int, where: str, value: float) -> None:
    # A NaN loss read "parameter 'E1': min=0.0 must be < max=nan", a negative one "init=-1.0 lies outside its
    # bounds [0.0, 3.0]", a zero or NaN x "no exponent gave a finite objective": none named the point.
    xs = [np.array([100.0, 200.0, 400.0, 800.0]) for _ in range(G)]
    ys = [2.0 + 10.0 / x ** 0.5 for x in xs]
    (xs if where == "x" else ys)[1][2] = value
    with pytest.raises(InputError, match=rf"^fit: curve 1 has {where} {value:g} \(point 2\); every x and loss must "
                                         r"be a positive finite number$"):
        fit_shared_exponents([(xs, ys)], labels=["fit"])
