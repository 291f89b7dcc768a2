"""The bounded Levenberg-Marquardt engine's convergence verdict on objectives with kinks."""

import numpy as np

from mixlaw._solver import solve_batch


def _kink_model(th: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log pred = |t0 - 0.3| + 1 + (t1 - 0.5)^2: against log y = 0 the minimum sits on the kink t0 = 0.3."""
    z = th[:, 0:1] - 0.3
    pred = np.exp(np.abs(z) + 1.0 + (th[:, 1:2] - 0.5) ** 2)
    return pred, np.stack([np.sign(z) * pred, 2 * (th[:, 1:2] - 0.5) * pred], axis=2)


def _solve(model, theta0: np.ndarray, max_iter: int = 500):
    R, p = theta0.shape
    return solve_batch(model, theta0, np.full((R, p), -5.0), np.full((R, p), 5.0), np.ones((R, p), dtype=bool),
                       np.zeros((R, 1)), np.ones((R, 1)), loss="squared", delta=1.0, max_iter=max_iter)


def test_minimum_on_a_kink_is_converged():
    # The one-sided gradient there is 1 in t0, far above GTOL, but no step lowers the objective: the gradient
    # test alone called this minimum "not converged".
    th, f, conv, _ = _solve(_kink_model, np.array([[0.31, 0.5]]))
    np.testing.assert_allclose(th[0], [0.3, 0.5], atol=1e-9)
    assert abs(f[0] - 0.5) < 1e-9
    assert conv[0]


def test_a_point_off_the_minimum_is_not_converged():
    # Cut off by the iteration cap on a smooth slope: still reported as not converged.
    def smooth(th, rows):
        pred = np.exp((th[:, 0:1] - 2.0) ** 2 + 1.0)
        return pred, (2 * (th[:, 0:1] - 2.0) * pred)[:, :, None]
    _, _, conv, _ = _solve(smooth, np.array([[-4.0]]), max_iter=2)
    assert not conv[0]
