"""Huber regression with a concomitant scale and an L2 penalty, many problems in one batched Newton solve.

Each problem minimises scikit-learn's ``HuberRegressor`` objective (Owen 2007) over the coefficients
:math:`w`, the intercept :math:`c` and the scale :math:`\\sigma > 0`:

.. math:: F(w, c, \\sigma) = \\sum_i s_i \\Big[\\sigma + \\sigma H_\\epsilon\\Big(\\frac{r_i}{\\sigma}\\Big)\\Big]
          + \\alpha \\lVert w \\rVert^2, \\qquad r_i = z_i - x_i^\\top w - c,

with :math:`H_\\epsilon(t) = t^2` for :math:`|t| \\le \\epsilon`, :math:`2 \\epsilon |t| - \\epsilon^2` beyond,
and sample weights :math:`s_i` (0/1 masks select the rows of a CV fold). :math:`F` is jointly convex (the
perspective of a convex function plus a ridge), and strictly convex in :math:`w`; its gradient is Lipschitz and
piecewise smooth, so Newton's method with the generalised Hessian (each inlier contributes the rank-one
:math:`\\tfrac{2}{\\sigma} v v^\\top`, :math:`v = (x_i, 1, r_i / \\sigma)`; outliers none) and an Armijo
backtracking line search converges, in practice in 5-20 steps once the set of outliers settles.

Why not ``HuberRegressor`` itself: it solves one problem per call by L-BFGS-B, 40-140 iterations on RegMix's
eval sets, and ``loglinear-sat`` solves hundreds per fit (its inner CV); one call of this module solves them all
as a batch of small dense systems, to the same optimum (sklearn stops at a projected gradient of 1e-5, here
the Newton decrement is below 1e-12 of the objective).

References
----------
Owen, "A robust hybrid of lasso and ridge regression", Contemporary Mathematics 443 (2007);
Huber, "Robust Statistics", Wiley (1981), sec. 7.7 (concomitant scale);
Qi & Sun, "A nonsmooth version of Newton's method", Math. Programming 58 (1993) (semismooth Newton).
"""

from __future__ import annotations

import numpy as np

#: Newton steps at most per problem.
MAX_ITER = 100
#: Stop once the Newton decrement -g.d / 2 is below this fraction of the objective.
RTOL = 1e-12
#: Armijo sufficient-decrease constant and the most step halvings per Newton step.
ARMIJO = 1e-4
MAX_HALVINGS = 40
#: A residual scale and residuals below this fraction of the largest |z| are rounding error: the fit reproduces
#: the data (a law fitted to its own noise-free predictions, as in LogLinearSat's example). The scale's optimum is
#: then 0, where the problem has no interior minimum; steps there only trade rounding error, and the decrement
#: test, relative to an objective that has shrunk to the penalty (1e-8 at alpha 1e-6), did not pass in MAX_ITER
#: steps (scale 5e-17).
#: 1e-12 is 1e8 below the noise of any measured loss and 1e3-1e4 above the rounding of z - X w.
EXACT_SCALE = 1e-12


def _objective(Xt: np.ndarray, z: np.ndarray, sw: np.ndarray, alpha: np.ndarray, eps: float,
               u: np.ndarray, sigma: np.ndarray, pen: np.ndarray) -> np.ndarray:
    r = z - np.matmul(Xt, u[..., None])[..., 0]
    a = np.abs(r)
    inl = a <= eps * sigma[:, None]
    h = np.where(inl, r * r / sigma[:, None], 2.0 * eps * a - eps * eps * sigma[:, None])
    return (sw * (sigma[:, None] + h)).sum(axis=1) + alpha * ((u * pen) ** 2).sum(axis=1)


def huber_batch(X: np.ndarray, z: np.ndarray, sw: np.ndarray, alpha: np.ndarray | float,
                epsilon: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Solve B Huber problems at once.

    Parameters
    ----------
    X : (B, n, p) array
        Designs (standardise them first, as ``HuberRegressor``'s ``alpha`` assumes comparable columns).
    z : (B, n) array
    sw : (B, n) array
        Non-negative sample weights (0 drops a row).
    alpha : float or (B,) array
        L2 penalty on ``w`` (not on the intercept).
    epsilon : float
        Huber threshold in units of the scale (> 1).

    Returns
    -------
    coef (B, p), intercept (B,), scale (B,), converged (B,) bool
    """
    X = np.asarray(X, dtype=np.float64)
    B, n, p = X.shape
    z = np.asarray(z, dtype=np.float64).reshape(B, n)
    sw = np.asarray(sw, dtype=np.float64).reshape(B, n)
    alpha = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (B,)).copy()
    eps = float(epsilon)
    Xt = np.concatenate([X, np.ones((B, n, 1))], axis=2)  # the intercept is the last coefficient
    q = p + 1
    pen = np.ones(q)
    pen[-1] = 0.0
    # Start: weighted ridge least squares, and the scale of its residuals.
    A = np.matmul((Xt * sw[..., None]).transpose(0, 2, 1), Xt) + alpha[:, None, None] * np.diag(pen) + 1e-12 * np.eye(q)
    u = np.linalg.solve(A, np.einsum("bnp,bn->bp", Xt, sw * z)[..., None])[..., 0]
    r = z - np.einsum("bnp,bp->bn", Xt, u)
    sigma = np.sqrt((sw * r * r).sum(axis=1) / np.maximum(sw.sum(axis=1), 1e-300))
    sigma = np.maximum(sigma, 1e-8)
    f = _objective(Xt, z, sw, alpha, eps, u, sigma, pen)
    z_max = np.max(np.abs(z) * (sw > 0), axis=1)
    done = np.zeros(B, dtype=bool)
    converged = np.zeros(B, dtype=bool)
    ridge = np.zeros((q + 1, q + 1))
    ridge[:q, :q] = 2.0 * np.diag(pen)
    for _ in range(MAX_ITER):
        act = np.flatnonzero(~done)
        if not len(act):
            break
        Xa, za, swa, al, ua, sa = Xt[act], z[act], sw[act], alpha[act], u[act], sigma[act]
        r = za - np.matmul(Xa, ua[..., None])[..., 0]
        t = r / sa[:, None]
        inl = np.abs(t) <= eps
        wi = swa * inl
        psi = np.where(inl, 2.0 * t, 2.0 * eps * np.sign(r))
        g = np.empty((len(act), q + 1))
        g[:, :q] = -np.einsum("bn,bnp->bp", swa * psi, Xa) + 2.0 * al[:, None] * ua * pen
        g[:, q] = (swa * np.where(inl, 1.0 - t * t, 1.0 - eps * eps)).sum(axis=1)
        V = np.concatenate([Xa, t[..., None]], axis=2)  # v_i = (x_i, 1, r_i / sigma)
        H = np.matmul((V * (2.0 * wi / sa[:, None])[..., None]).transpose(0, 2, 1), V) + al[:, None, None] * ridge
        H += (1e-12 * np.abs(np.diagonal(H, axis1=1, axis2=2)).max(axis=1) + 1e-300)[:, None, None] * np.eye(q + 1)
        d = -np.linalg.solve(H, g[..., None])[..., 0]
        slope = (g * d).sum(axis=1)  # < 0: H is positive definite
        fa = f[act]
        # Exact only when the residuals are rounding error too: the scale alone also falls to ~1e-12 on noisy
        # problems of few rows, where the solve is stuck (objective above HuberRegressor's), not at the optimum.
        exact = (sa <= EXACT_SCALE * z_max[act]) & (np.max(np.abs(r) * (swa > 0), axis=1) <= EXACT_SCALE * z_max[act])
        conv = (-slope <= 2.0 * RTOL * np.maximum(np.abs(fa), 1e-300)) | exact
        # The scale must stay positive: at most 90 % of the way to 0 in one step.
        step = np.where(d[:, q] < 0, np.minimum(1.0, 0.9 * sa / np.maximum(-d[:, q], 1e-300)), 1.0)
        accepted = conv.copy()
        new_u, new_s, new_f = ua.copy(), sa.copy(), fa.copy()
        for _h in range(MAX_HALVINGS):
            todo = np.flatnonzero(~accepted)
            if not len(todo):
                break
            uu = ua[todo] + step[todo, None] * d[todo, :q]
            ss = sa[todo] + step[todo] * d[todo, q]
            ff = _objective(Xa[todo], za[todo], swa[todo], al[todo], eps, uu, ss, pen)
            ok = ff <= fa[todo] + ARMIJO * step[todo] * slope[todo]
            idx = todo[ok]
            new_u[idx], new_s[idx], new_f[idx] = uu[ok], ss[ok], ff[ok]
            accepted[idx] = True
            step[todo[~ok]] *= 0.5
        # A step no halving accepts: rounding decides the objective's last digits; converged if the decrement
        # left is that small.
        stuck = ~accepted
        u[act], sigma[act], f[act] = new_u, new_s, new_f
        done[act[conv | stuck]] = True
        converged[act[conv | (stuck & (-slope <= 1e-8 * np.abs(fa)))]] = True
    return u[:, :p], u[:, p], sigma, converged
