"""The batched Levenberg-Marquardt solver near box bounds: the active-set step (issue #11)."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose

from mixlaw._solver import solve_batch


def _collinear_problem(seed: int = 0):
    """Log-linear model with two nearly collinear columns; the unconstrained optimum puts theta_2 far below its
    lower bound, so the bounded optimum has theta_2 on the bound and the others compensating."""
    rng = np.random.default_rng(seed)
    n = 60
    t = rng.uniform(0, 1, n)
    X = np.column_stack([np.ones(n), t, t + 1e-2 * rng.standard_normal(n)])
    logy = X @ np.array([0.5, 2.0, -1.0]) + 0.01 * rng.standard_normal(n)

    def model(theta, rows):
        pred = np.exp(theta @ X.T)
        return pred, pred[:, :, None] * X[None]

    lo, hi = np.array([[-5.0, -5.0, -0.2]]), np.array([[5.0, 1.5, 5.0]])
    return X, logy, model, lo, hi


def test_bound_constrained_fit_reaches_the_kkt_point_in_few_steps():
    X, logy, model, lo, hi = _collinear_problem()
    n = logy.size
    # Reference: with theta_2 on its bound the problem is linear least squares in the other two.
    ref = np.linalg.lstsq(X[:, :2], logy - X[:, 2] * lo[0, 2], rcond=None)[0]
    th, f, conv, nfev = solve_batch(model, np.zeros((1, 3)), lo, hi, np.ones((1, 3), bool), logy[None],
                                    np.full((1, n), 1 / n), loss="mse", delta=1.0, max_iter=3000)
    assert conv[0]
    assert th[0, 2] == lo[0, 2]  # exactly on the bound, so the projected gradient test sees it as active
    assert_allclose(th[0, :2], ref, rtol=1e-6)
    # Clipping the free Gauss-Newton step to the box (the solver before issue #11) needed 27 evaluations here:
    # the clipped step kept the collinear partner's compensation for a move theta_2 could not make.
    assert nfev[0] <= 12, nfev


def test_huber_bound_constrained_fit_converges():
    _, logy, model, lo, hi = _collinear_problem(1)
    n = logy.size
    th, f, conv, nfev = solve_batch(model, np.zeros((1, 3)), lo, hi, np.ones((1, 3), bool), logy[None],
                                    np.full((1, n), 1 / n), loss="huber", delta=1e-3, max_iter=3000)
    assert conv[0] and np.isfinite(f[0])
    assert th[0, 2] == lo[0, 2]
    # Old code: 26 evaluations.
    assert nfev[0] <= 20, nfev
