r"""Many curves that share one exponent, fitted by profiling the exponent out (variable projection).

The problem of :func:`~mixlaw.scaling.batched.fit_shared_exponents`: G curves :math:`L_g(x) = E_g + A_g x^{-a}`
with their own :math:`(E_g, A_g)` and one shared :math:`a`, on the Huber loss of the log residuals. Solved as one
Levenberg-Marquardt problem in 2G + 1 parameters, each iteration builds a (2G + 1)^2 Gauss-Newton matrix from a
dense (n, 2G + 1) Jacobian, so its cost grows as n G^2: 12.7 s for one eval set of 512 mixtures' curves of 10
checkpoints, and a sweep of 512 mixtures x 13 eval sets (RegMix's shape, with checkpoints) spent minutes in every
step-stage fit and again in every backtest cut and jackknife refit.

For a fixed :math:`a` the curves separate: each :math:`(E_g, \log A_g)` is its own 2-parameter fit, and all
of them are one batched solve (:func:`mixlaw._solver.solve_batch`, rows of 2 parameters: O(n) per iteration).
The fit is then a one-dimensional search over :math:`a` of the profile

.. math:: F(a) = \min_{E, A} \sum_g \sum_o \rho\big(\log(E_g + A_g x_{go}^{-a}) - \log y_{go}\big),

whose minimum is the joint problem's (Golub & Pereyra 1973): the profile is evaluated on the exponent grid (one
batched solve for every grid point and curve), and a golden-section search refines the best grid point between its
two neighbours (at the grid's first or last point, between its neighbour and the exponent's bound); it finds the
global minimum unless a deeper one hides between two other grid points, which is why the grid is fine. Standard
errors are the joint Gauss-Newton ones, :math:`s^2 (J^\top J)^{-1}`, read from the arrowhead structure of
:math:`J^\top J` (a Schur complement on the shared exponent) without forming the (2G + 1)^2 matrix.

References
----------
Golub & Pereyra, "The differentiation of pseudo-inverses and nonlinear least squares problems whose variables
separate", SIAM J. Numer. Anal., 1973. Kiefer, "Sequential minimax search for a maximum", Proc. AMS, 1953 (golden
section).
"""

from __future__ import annotations

import time

import numpy as np

from .._solver import solve_batch
from ..errors import FitError
from ..fit import FitResult, Params, _result, single_threaded_blas

#: Golden-section iterations after the grid: each shrinks the bracket by 0.618, so 40 take a neighbour interval of
#: the grid (a factor 1.27 in a) to ~1e-9 of a, far below what the data resolve.
GOLDEN_ITERATIONS = 40
#: Iterations of each inner (E, log A) solve.
INNER_MAX_ITER = 200
#: Values (grid points x problems x curves x checkpoints) of one grid solve: its memory, ~0.36 kB a value.
GRID_CHUNK_VALUES = 400_000


def fit_shared_profile(LX: np.ndarray, Y: np.ndarray, Wt: np.ndarray, specs: list[Params], loss: str,
                       huber_delta: float, labels: list[str], grid: np.ndarray, grid_starts: np.ndarray,
                       a_bounds: tuple[float, float], coef_bounds: tuple[float, float]
                       ) -> list[tuple[np.ndarray, np.ndarray, float, FitResult]]:
    """Fit K problems of G curves, each problem sharing one exponent, by profiling the exponent out.

    Parameters
    ----------
    LX, Y, Wt : ndarray of shape (K, G, m)
        Log x, losses and 0/1 weights (0: padding) of every problem's curves.
    specs : list of Params
        Per problem, the joint parameters (``a``, ``E0..``, ``log_A0..``): bounds, and the names of the result.
    grid : ndarray
        Exponents whose profile values pick the bracket of the golden-section search.
    grid_starts : ndarray of shape (len(grid), K, G, 2)
        Each curve's (E, log A) start at each grid exponent (the joint fit's variable-projection starts,
        :func:`~mixlaw.scaling.batched._ls2`).
    a_bounds, coef_bounds : (float, float)
        Bounds of the exponent and of log A.

    Returns
    -------
    list of (E, log_A, a, FitResult), one per problem, as :func:`~mixlaw.scaling.batched.fit_shared_exponents`.
    """
    t0 = time.perf_counter()
    K, G, m = Y.shape
    n_k = Wt.sum(axis=(1, 2))  # observations per problem
    ymax = np.where(Wt > 0, Y, -np.inf).max(axis=2)  # (K, G): the bound of E_g, as the joint fit's
    logy = np.log(np.where(Wt > 0, Y, 1.0))
    sw = Wt / np.maximum(Wt.sum(axis=2, keepdims=True), 1.0)  # each curve's row sums to 1 (solve_batch)
    share = Wt.sum(axis=2) / n_k[:, None]  # a curve's part of its problem's objective
    nfev = np.zeros(K, dtype=np.int64)

    def profile(a: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """F at exponents ``a`` of shape (J, K) from the (E, log A) ``start`` (J, K, G, 2): objectives (J, K), fitted
        (E, log A) (J, K, G, 2) and whether every curve's solve converged (J, K)."""
        J = a.shape[0]
        lx = np.broadcast_to(LX, (J, K, G, m)).reshape(-1, m)
        av = np.broadcast_to(a[:, :, None], (J, K, G)).reshape(-1)
        hi_E = np.broadcast_to(ymax, (J, K, G)).reshape(-1)
        lo = np.column_stack([np.zeros(J * K * G), np.full(J * K * G, coef_bounds[0])])
        hi = np.column_stack([hi_E, np.full(J * K * G, coef_bounds[1])])
        theta0 = np.clip(np.nan_to_num(start.reshape(-1, 2), nan=0.0), lo, hi)

        def model(theta: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            x = lx[rows]
            term = np.exp(theta[:, 1:2] - av[rows, None] * x)
            jac = np.empty(x.shape + (2,))
            jac[:, :, 0] = 1.0
            jac[:, :, 1] = term
            return theta[:, :1] + term, jac

        R = J * K * G
        with single_threaded_blas():
            theta, f, conv, nf = solve_batch(model, theta0, lo, hi, np.ones((R, 2), dtype=bool),
                                             np.broadcast_to(logy, (J, K, G, m)).reshape(-1, m),
                                             np.broadcast_to(sw, (J, K, G, m)).reshape(-1, m),
                                             loss=loss, delta=huber_delta, max_iter=INNER_MAX_ITER)
        nfev[:] += nf.reshape(J, K, G).sum(axis=(0, 2))
        f = f.reshape(J, K, G)
        obj = np.sum(np.where(np.isfinite(f), f, np.inf) * share[None], axis=2)
        return obj, theta.reshape(J, K, G, 2), conv.reshape(J, K, G).all(axis=2)

    # The profile on the grid, every problem in one solve, the grid points in chunks: one solve of all of them held
    # len(grid) x K x G x m values in each of the solver's arrays (533 MB peak at 512 curves x 4 evals x 30
    # checkpoints, growing with each; every curve's solve is its own, so the chunks change no number).
    gv = np.clip(np.asarray(grid, dtype=np.float64), *a_bounds)
    step = max(1, GRID_CHUNK_VALUES // max(1, K * G * m))
    parts = [profile(np.repeat(gv[i:i + step, None], K, axis=1), grid_starts[i:i + step])
             for i in range(0, len(gv), step)]
    F_grid, th_grid = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    b = np.argmin(F_grid, axis=0)  # (K,)
    lo_a = np.where(b > 0, gv[np.maximum(b - 1, 0)], a_bounds[0])
    hi_a = np.where(b < len(gv) - 1, gv[np.minimum(b + 1, len(gv) - 1)], a_bounds[1])
    best_a, best_F = gv[b].copy(), F_grid[b, np.arange(K)].copy()
    best_th = th_grid[b, np.arange(K)].copy()  # (K, G, 2)
    # Golden section on [lo_a, hi_a], all problems at once; each new point starts from the best (E, log A) so far,
    # and every point evaluated is a candidate for the best.
    phi = (np.sqrt(5.0) - 1.0) / 2.0

    def evaluate(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        nonlocal best_a, best_F
        Fx, thx, _ = profile(x[None], best_th[None])
        Fx, thx = Fx[0], thx[0]
        better = Fx < best_F
        best_a, best_F = np.where(better, x, best_a), np.where(better, Fx, best_F)
        best_th[better] = thx[better]
        return Fx, thx

    c, d = hi_a - phi * (hi_a - lo_a), lo_a + phi * (hi_a - lo_a)
    (Fc, thc), (Fd, thd) = evaluate(c), evaluate(d)
    for _ in range(GOLDEN_ITERATIONS):
        left = Fc <= Fd  # the minimum is in [lo, d]: d is the new hi, the old c the new d, the new point the new c
        hi_a, lo_a = np.where(left, d, hi_a), np.where(left, lo_a, c)
        new = np.where(left, hi_a - phi * (hi_a - lo_a), lo_a + phi * (hi_a - lo_a))
        Fn, thn = evaluate(new)
        side = left[:, None, None]
        c, d = np.where(left, new, d), np.where(left, c, new)
        Fc, Fd = np.where(left, Fn, Fd), np.where(left, Fc, Fn)
        thc, thd = np.where(side, thn, thd), np.where(side, thc, thn)
    # The winners once more, from their own solution: their objectives, convergence and residuals.
    F_fin, th_fin, conv_fin = profile(best_a[None], best_th[None])
    F_fin, th_fin, conv_fin = F_fin[0], th_fin[0], conv_fin[0]
    out = []
    for k in np.flatnonzero(~np.isfinite(F_fin)):
        raise FitError(f"{labels[k] or 'fit'}: no exponent gave a finite objective (every curve's E + A x^-a "
                       "fitted at every grid exponent); check the data")
    for k in range(K):
        E, lA, a = th_fin[k, :, 0], th_fin[k, :, 1], float(best_a[k])
        keep = Wt[k] > 0
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            term = np.exp(lA[:, None] - a * LX[k])
            pred = E[:, None] + term
            resid_full = np.log(pred) - logy[k]
        resid = resid_full[keep]  # curve by curve, as the joint fit's concatenated observations
        stderr = _arrowhead_stderr(LX[k], pred, term, resid_full, keep)
        full = np.concatenate([[a], E, lA])
        free = specs[k].vary_mask
        out.append((E.copy(), lA.copy(), a,
                    _result(specs[k], full, float(F_fin[k]), resid, stderr, None, free, 1, int(conv_fin[k]),
                            [float(F_fin[k])], int(nfev[k]), loss, huber_delta, t0, labels[k], False, True)))
    wall = time.perf_counter() - t0
    for r in out:
        r[3].wall_time = wall / K
        r[3].method += "; shared exponent profiled out (variable projection, golden section)"
    return out


def _arrowhead_stderr(LX: np.ndarray, pred: np.ndarray, term: np.ndarray, resid: np.ndarray, keep: np.ndarray
                      ) -> np.ndarray:
    r"""Gauss-Newton standard errors :math:`s^2 (J^\top J)^{-1}` of (a, E_g..., log A_g...) on the log residuals,
    from the arrowhead :math:`J^\top J` (each curve's 2 x 2 block, its column with a, and a's diagonal): the Schur
    complement on a gives var(a), and each curve's block its covariance given a plus a's share. NaN where a block
    or the complement is singular."""
    G = LX.shape[0]
    w = keep.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        dE = w / pred  # d log pred / dE
        dA = w * term / pred  # d log pred / d log A
        da = -w * term * LX / pred  # d log pred / da
        H = np.empty((G, 2, 2))
        H[:, 0, 0], H[:, 0, 1], H[:, 1, 1] = (dE * dE).sum(1), (dE * dA).sum(1), (dA * dA).sum(1)
        H[:, 1, 0] = H[:, 0, 1]
        h = np.column_stack([(dE * da).sum(1), (dA * da).sum(1)])  # (G, 2)
        haa = float((da * da).sum())
        det = H[:, 0, 0] * H[:, 1, 1] - H[:, 0, 1] ** 2
        Hinv = np.stack([np.stack([H[:, 1, 1], -H[:, 0, 1]], 1), np.stack([-H[:, 0, 1], H[:, 0, 0]], 1)], 1) \
            / det[:, None, None]
        u = np.einsum("gij,gj->gi", Hinv, h)  # H_g^-1 h_g
        S = haa - float(np.einsum("gi,gi->", h, u))
        n, p = int(keep.sum()), 2 * G + 1
        s2 = float(np.sum(np.where(keep, resid, 0.0) ** 2)) / (n - p) if n > p else np.nan
        var_a = s2 / S if S > 0 else np.nan
        cov_g = s2 * Hinv + var_a * np.einsum("gi,gj->gij", u, u)
        se = np.concatenate([[np.sqrt(var_a)], np.sqrt(cov_g[:, 0, 0]), np.sqrt(cov_g[:, 1, 1])])
    ok = np.concatenate([[np.isfinite(var_a)], det > 0, det > 0])
    return np.where(ok & np.isfinite(se), se, np.nan)


__all__ = ["fit_shared_profile", "GOLDEN_ITERATIONS"]
