"""Huber regression with a concomitant scale and an L2 penalty, many problems in one batched Newton solve.

Each problem minimises scikit-learn's ``HuberRegressor`` objective (Owen 2007) over the coefficients
:math:`w`, the intercept :math:`c` and the scale :math:`\\sigma > 0`:

.. math:: F(w, c, \\sigma) = \\sum_i s_i \\Big[\\sigma + \\sigma H_\\epsilon\\Big(\\frac{r_i}{\\sigma}\\Big)\\Big]
          + \\alpha \\lVert w \\rVert^2, \\qquad r_i = z_i - x_i^\\top w - c,

with :math:`H_\\epsilon(t) = t^2` for :math:`|t| \\le \\epsilon`, :math:`2 \\epsilon |t| - \\epsilon^2` beyond,
and sample weights :math:`s_i` (0/1 masks select the rows of a CV fold). :math:`F` is jointly convex (the
perspective of a convex function plus a ridge), and strictly convex in :math:`w`.

The solve: semismooth Newton in :math:`u = (w, c)` on the profile :math:`\\min_\\sigma F(u, \\sigma)`, the scale set
to its exact best value given the residuals after every trial step (:func:`best_scale`), with an Armijo
backtracking line search on :math:`F`. The step is the joint Newton step with :math:`\\partial F / \\partial
\\sigma = 0` (the generalised Hessian: each inlier contributes the rank-one :math:`\\tfrac{2}{\\sigma} v v^\\top`,
:math:`v = (x_i, 1, r_i / \\sigma)`; outliers none), i.e. the Schur complement of the scale's block.

Why the scale step and its floor: Newton steps on :math:`(u, \\sigma)` jointly (the solver before 2026-12-04)
drove the scale towards 0 on problems of few rows (14 rows, 7 coefficients, noise 0.05: 22 % of them) and stopped
there 0.2-5 % above ``HuberRegressor``'s objective: near :math:`\\sigma = 0` the inliers' curvature
:math:`2 / \\sigma` is valid only within :math:`\\epsilon \\sigma` of their residuals, so the steps that would
let the rows leave shrink with :math:`\\sigma`. The exact scale step alone still stalled on 1 of 60 such problems
and 5 of 60 of 20 rows and 11 coefficients (the profile is not smooth at :math:`\\sigma = 0`). So the scale is
also held at or above a floor, :data:`FLOOR_START` times the start's residual scale; above a floor the profile has
a Lipschitz gradient and the Newton iteration converges; whenever it converges with the scale held at the floor,
the floor drops by :data:`FLOOR_DROP`, down to rounding level (:data:`EXACT_SCALE`). An optimum above the floor
is the optimum of :math:`F` (convexity); where the optimum is at scale 0 (an exact fit, or about as many
coefficients as rows) the last floor is within rounding of it, but the near-L1 problems at the low floors take
many steps: on 40 RegMix runs (35 coefficients) half of loglinear-sat's problems need more than :data:`MAX_ITER`.
So a fit the Newton path leaves unconverged gets a direct scale-0 solve (:func:`_polish`: the KKT system of its
zero-residual partition, then up to :data:`PDAS_STEPS` primal-dual active-set updates), kept only where a dual bound
(:func:`dual_bound`) certifies it and it does not raise the objective, else the Newton result stands (and says it
did not converge). That left fits unconverged on few runs (loglinear-sat on 120 random runs of Marin Delphi:
105 of 297, 83 of them up to 39 % above ``HuberRegressor``'s objective): at the low floors each Armijo-halved step
crosses about one kink of the near-L1 objective, and the active-set steps from the partition such a fit leaves
cycled. Those fits get :data:`LINE_ITER` more Newton steps, each to the exact minimum along its direction
(:func:`line_min`: :math:`F` at a fixed scale is piecewise quadratic along a line), then the scale-0 solve again
with single pivots where block pivots do not reduce the violations (Judice & Pires 1994). A dual bound also
certifies the point a fit already has (its gap, scale-invariant, within ``RTOL`` of the objective plus the last
floor's share), so a fit at the optimum is not called unconverged because the scale-0 candidate lands 1e-11 above
it by rounding. On loglinear-sat's recorded problems, RegMix 40 runs: not converged 13 -> 0 of 429; Marin Delphi
120 runs: 105 -> 2 of 297; every objective at or below the previous solver's, fits it had converged bit for bit;
CPU 1.3x and 1.4x.
bench/huber_solver.py compares this solver, its predecessor and ``HuberRegressor``.

Why not ``HuberRegressor`` itself: it solves one problem per call by L-BFGS-B, 40-140 iterations on RegMix's
eval sets, and ``loglinear-sat`` solves hundreds per fit (its inner CV); one call of this module solves them all
as a batch of small dense systems, to the same optimum or lower (sklearn stops at a projected gradient of 1e-5,
here the Newton decrement is below 1e-12 of the objective).

References
----------
Owen, "A robust hybrid of lasso and ridge regression", Contemporary Mathematics 443 (2007);
Huber, "Robust Statistics", Wiley (1981), sec. 7.7 (concomitant scale);
Qi & Sun, "A nonsmooth version of Newton's method", Math. Programming 58 (1993) (semismooth Newton);
Judice & Pires, "A block principal pivoting algorithm for large-scale strictly monotone linear complementarity
problems", Computers & Operations Research 21 (1994) (block pivots, single pivots when they stop improving).
"""

from __future__ import annotations

import numpy as np

from ..fit import single_threaded_blas

#: Newton steps at most per problem.
MAX_ITER = 100
#: Stop once the Newton decrement -g.d / 2 is below this fraction of the objective.
RTOL = 1e-12
#: Armijo sufficient-decrease constant and the most step halvings per Newton step.
ARMIJO = 1e-4
MAX_HALVINGS = 40
#: Trial steps of the backtracking evaluated in one pass.
HALVING_CHUNK = 8
#: A residual scale and residuals below this fraction of the largest |z| are rounding error: the fit reproduces
#: the data (a law fitted to its own noise-free predictions, as in LogLinearSat's example). The scale's optimum is
#: then 0, where the problem has no interior minimum; steps there only trade rounding error, and the decrement
#: test, relative to an objective that has shrunk to the penalty (1e-8 at alpha 1e-6), did not pass in MAX_ITER
#: steps (scale 5e-17).
#: 1e-12 is 1e8 below the noise of any measured loss and 1e3-1e4 above the rounding of z - X w.
EXACT_SCALE = 1e-12
#: The scale is held at or above a floor: first FLOOR_START times the residual scale of the start (ridge least
#: squares), lowered by FLOOR_DROP each time the solve converges with the scale at it (STAGE_RTOL: that decrement
#: test, loose since the next floor moves the optimum anyway), down to EXACT_SCALE times the largest |z|.
FLOOR_START = 1e-3
FLOOR_DROP = 1e-3
STAGE_RTOL = 1e-6
POLISH_REG = 1e-13
#: Active-set updates of the first scale-0 solve (block pivots) and of the second (safeguarded, single pivots).
PDAS_STEPS = 10
PIVOT_STEPS = 40
#: Newton steps with the exact line search, for the fits MAX_ITER steps and the first scale-0 solve leave unconverged.
LINE_ITER = 100

def _objective(Xt: np.ndarray, z: np.ndarray, sw: np.ndarray, alpha: np.ndarray, eps: float,
               u: np.ndarray, sigma: np.ndarray, pen: np.ndarray) -> np.ndarray:
    return _objective_r(z - np.matmul(Xt, u[..., None])[..., 0], sw, alpha, eps, u, sigma, pen)


def _objective_r(r: np.ndarray, sw: np.ndarray, alpha: np.ndarray, eps: float, u: np.ndarray, sigma: np.ndarray,
                 pen: np.ndarray) -> np.ndarray:
    """:math:`F` from the residuals ``r = z - X u`` (B, n)."""
    a = np.abs(r)
    inl = a <= eps * sigma[:, None]
    h = np.where(inl, r * r / sigma[:, None], 2.0 * eps * a - eps * eps * sigma[:, None])
    return (sw * (sigma[:, None] + h)).sum(axis=1) + alpha * ((u * pen) ** 2).sum(axis=1)


def best_scale(r: np.ndarray, sw: np.ndarray, eps: float) -> np.ndarray:
    """The scale that minimises :math:`F` given the residuals ``r`` (B, n), exactly: (B,).

    :math:`\\phi(\\sigma) = \\sum_i s_i [\\sigma + \\sigma H_\\epsilon(r_i / \\sigma)]` is convex. Between two
    consecutive breakpoints :math:`|r_{(k)}| / \\epsilon` the inliers are the k smallest :math:`|r_i|` and
    :math:`\\phi(\\sigma) = D_k \\sigma + Q_k / \\sigma + 2 \\epsilon L_k` (:math:`D_k = S - \\epsilon^2 S_{out}`,
    :math:`Q_k` the weighted sum of the inliers' :math:`r^2`, :math:`L_k` of the outliers' :math:`|r|`); its minimum
    on that piece is :math:`\\sqrt{Q_k / D_k}` clipped to the piece. The best piece wins. 0 when the rows with
    :math:`r_i = 0` weigh :math:`1 - 1/\\epsilon^2` of the total or more (no interior minimum).
    """
    a = np.abs(r)
    B, n = a.shape
    rows = np.arange(B)[:, None]
    order = np.argsort(a, axis=1)
    a, s = a[rows, order], sw[rows, order]
    # Piece k (0..n): the k smallest are inliers. Written into (B, n + 1) arrays (this runs once per trial step of
    # the solve: each call saved is time, the sums are the same).
    s_in, q_in, l_out, ab = np.zeros((B, n + 1)), np.zeros((B, n + 1)), np.zeros((B, n + 1)), np.empty((B, n + 1))
    np.cumsum(s, axis=1, out=s_in[:, 1:])
    np.cumsum(s * a * a, axis=1, out=q_in[:, 1:])
    l_out[:, :n] = np.cumsum((s * a)[:, ::-1], axis=1)[:, ::-1]
    d = s_in[:, -1:] - eps * eps * (s_in[:, -1:] - s_in)
    ab[:, 0], ab[:, 1:] = 0.0, a
    lo = ab / eps
    ab[:, :n], ab[:, n] = a, np.inf
    hi = ab / eps
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(d > 0, np.sqrt(q_in / np.where(d > 0, d, 1.0)), np.inf)  # d <= 0: phi falls on the piece
        sig = np.clip(stat, lo, hi)
        phi = d * sig + np.where(q_in > 0, q_in / sig, 0.0) + 2.0 * eps * l_out
    phi = np.where(np.isfinite(phi), phi, np.inf)
    return sig[rows[:, 0], np.argmin(phi, axis=1)]


def line_min(r: np.ndarray, delta: np.ndarray, sw: np.ndarray, sigma: np.ndarray, eps: float, a0: np.ndarray,
             a1: np.ndarray) -> np.ndarray:
    """The step :math:`t > 0` that minimises :math:`F` along a line at a fixed scale, exactly: (B,).

    Along :math:`u + t d` the residuals are :math:`r_i - t \\delta_i` (:math:`\\delta = X d`, ``r`` and ``delta``
    (B, n)) and :math:`\\varphi(t) = F(u + t d, \\sigma)` is convex and piecewise quadratic, with
    :math:`\\varphi'(t) = a_0 + a_1 t - \\sum_i s_i \\delta_i \\psi(r_i - t \\delta_i)`,
    :math:`\\psi(x) = \\mathrm{clip}(2 x / \\sigma, \\pm 2 \\epsilon)` (``a0``, ``a1``: the penalty's part,
    :math:`2 \\alpha \\langle P u, P d \\rangle` and :math:`2 \\alpha \\lVert P d \\rVert^2`). :math:`\\varphi'` is
    non-decreasing and linear between the breakpoints :math:`t = (r_i \\mp \\epsilon \\sigma) / \\delta_i` where a
    row enters or leaves the band; its slope there is :math:`a_1 + \\sum_{\\text{in band}} 2 s_i \\delta_i^2 / \\sigma`.
    So :math:`\\varphi'` at every breakpoint ahead follows from :math:`\\varphi'(0)` by summing slope x gap over the
    sorted breakpoints (O(n log n) time, O(n) memory per problem), and its root is interpolated on the segment where
    it turns non-negative: between two breakpoints, or past the last one, where only :math:`a_1` bends it.
    Assumes :math:`\\varphi'(0) < 0` (a descent direction); 0 where no root is found (a flat line).

    Why not :math:`\\varphi'` evaluated at every breakpoint from the residuals: that is a (B, 2n, n) array, 200 MB
    per problem at 5000 rows.
    """
    B, n = r.shape
    band = eps * sigma[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        ta, tb = (r - band) / delta, (r + band) / delta
    moving = (delta != 0) & (sw != 0)  # other rows add nothing to phi'
    enter, leave = np.minimum(ta, tb), np.maximum(ta, tb)  # inside the band for enter < t < leave
    gain = np.where(moving, 2.0 * sw * delta * delta / sigma[:, None], 0.0)  # phi''(t) from a row inside the band
    d0 = a0 - np.sum(sw * delta * np.clip(2.0 * r / sigma[:, None], -2.0 * eps, 2.0 * eps), axis=1)  # phi'(0)
    s0 = a1 + np.sum(np.where(moving & (enter <= 0) & (leave > 0), gain, 0.0), axis=1)  # phi'' just after 0
    # The breakpoints ahead (inf: none), each with its change of phi'', sorted; a last inf column so that every
    # problem has a segment past its last breakpoint.
    at = np.concatenate([np.where(moving & (enter > 0), enter, np.inf), np.where(moving & (leave > 0), leave, np.inf),
                         np.full((B, 1), np.inf)], axis=1)
    change = np.concatenate([gain, -gain, np.zeros((B, 1))], axis=1)
    order = np.argsort(at, axis=1, kind="stable")
    at, change = np.take_along_axis(at, order, axis=1), np.take_along_axis(change, order, axis=1)
    real = np.isfinite(at)
    change = np.where(real, change, 0.0)
    start = np.concatenate([np.zeros((B, 1)), np.where(real, at, 0.0)[:, :-1]], axis=1)  # each segment's start
    start = np.maximum.accumulate(start, axis=1)  # past the last breakpoint: the last one
    slope = s0[:, None] + np.concatenate([np.zeros((B, 1)), np.cumsum(change, axis=1)[:, :-1]], axis=1)
    slope = np.where(real, slope, a1[:, None])  # past the last breakpoint every row is out of its band: a1, exactly
    gap = np.where(real, at - start, 0.0)
    ends = d0[:, None] + np.cumsum(slope * gap, axis=1)  # phi' at each breakpoint
    ends = np.where(real, ends, np.inf)
    j = np.argmax(ends >= 0, axis=1)  # the segment where phi' turns non-negative (the inf column: past the last)
    rows = np.arange(B)
    t0, sl = start[rows, j], slope[rows, j]
    d_start = np.where(j > 0, ends[rows, np.maximum(j - 1, 0)], d0)  # phi' at the segment's start (< 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(sl > 0, t0 - d_start / sl, at[rows, j])
    t = np.minimum(np.maximum(t, t0), at[rows, j])  # within its segment (rounding)
    return np.where((d0 < 0) & np.isfinite(t) & (t > 0), t, 0.0)


def dual_bound(Xt: np.ndarray, z: np.ndarray, sw: np.ndarray, alpha: np.ndarray, eps: float, pen: np.ndarray,
               b: np.ndarray) -> np.ndarray:
    """A lower bound on :math:`\\min F` from any ``b`` (B, n): the dual objective at ``b`` made feasible.

    :math:`\\sigma + \\sigma H_\\epsilon(r / \\sigma) = \\max_{|b| \\le 2 \\epsilon} [b r + \\sigma (1 - b^2 / 4)]`
    (Fenchel), so for :math:`|b_i| \\le 2 \\epsilon`, :math:`\\sum_i s_i b_i = 0` (the intercept) and
    :math:`\\sum_i s_i b_i^2 \\le 4 \\sum_i s_i` (the scale),
    :math:`F \\ge q(b) = \\sum_i s_i b_i z_i - \\lVert X^\\top (s b) \\rVert^2 / (4 \\alpha)` everywhere.
    ``b`` is clipped to the box, its weighted sum moved to 0 within the box, and shrunk into the ball.
    """
    S = sw.sum(axis=1)
    b = np.clip(b, -2.0 * eps, 2.0 * eps)
    d = (sw * b).sum(axis=1)
    room = np.where(d[:, None] > 0, b + 2.0 * eps, 2.0 * eps - b)
    b = np.clip(b - d[:, None] * room / np.maximum((sw * room).sum(axis=1), 1e-300)[:, None], -2.0 * eps, 2.0 * eps)
    ball = (sw * b * b).sum(axis=1)
    b = b * np.minimum(1.0, np.sqrt(4.0 * S / np.maximum(ball, 1e-300)))[:, None]
    v = np.einsum("bnp,bn->bp", Xt, sw * b) * pen
    with np.errstate(divide="ignore", invalid="ignore"):
        vv = (v * v).sum(axis=1)
        pen_term = np.where(alpha > 0, vv / (4.0 * alpha), np.where(vv > 0, np.inf, 0.0))
    return (sw * b * z).sum(axis=1) - pen_term


def _l1_solve(Xt: np.ndarray, z: np.ndarray, sw: np.ndarray, alpha: np.ndarray, eps: float, pen: np.ndarray,
              zero: np.ndarray, sign: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The scale-0 optimum of one partition of the rows: r_i = 0 on ``zero``, sign(r_i) = ``sign`` elsewhere.

    At :math:`\\sigma = 0`, :math:`F = 2 \\epsilon \\sum_i s_i |r_i| + \\alpha \\lVert w \\rVert^2`; with the
    partition fixed, its minimum is an equality-constrained quadratic programme, whose KKT system
    :math:`2 \\alpha P u - X_Z^\\top (s b)_Z = 2 \\epsilon X_O^\\top (s\\,\\mathrm{sign})_O`, :math:`X_Z u = z_Z`
    gives the coefficients and the dual values :math:`b_Z` (:math:`b_O = 2 \\epsilon\\,\\mathrm{sign}`).
    """
    B, n, q = Xt.shape
    m = zero & (sw > 0)
    A = Xt * m[..., None]
    K = np.zeros((B, q + n, q + n))
    K[:, :q, :q] = 2.0 * alpha[:, None, None] * np.diag(pen) + POLISH_REG * np.eye(q)
    K[:, :q, q:] = -A.transpose(0, 2, 1)
    K[:, q:, :q] = A
    K[:, q:, q:] = np.eye(n) * np.where(m, POLISH_REG, 1.0)[:, None, :]
    rhs = np.concatenate([2.0 * eps * np.einsum("bnp,bn->bp", Xt, sw * ~m * sign), z * m], axis=1)
    sol = np.linalg.solve(K, rhs[..., None])[..., 0]
    b = np.where(m, sol[:, q:] / np.where(m, sw, 1.0), 2.0 * eps * sign)
    return sol[:, :q], b


def huber_batch(X: np.ndarray, z: np.ndarray, sw: np.ndarray, alpha: np.ndarray | float,
                epsilon: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Solve B Huber problems at once (BLAS on one thread: :func:`mixlaw.fit.single_threaded_blas`).

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
    # Each Newton step's Gauss-Newton products are B small matrices (Marin Delphi: 5-15 of 187 x 95): a
    # multi-threaded OpenBLAS synchronised its threads on each, and on the busy 2-core machine the product took
    # 151 ms instead of 1 ms (81 % of loglinear-sat's CPU; one thread gives the same numbers, bitwise).
    with single_threaded_blas():
        return _huber_batch(X, z, sw, alpha, epsilon)


def _huber_batch(X: np.ndarray, z: np.ndarray, sw: np.ndarray, alpha: np.ndarray | float,
                 epsilon: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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
    z_max = np.max(np.abs(z) * (sw > 0), axis=1)
    last_floor = np.maximum(EXACT_SCALE * z_max, 1e-300)

    def scale(r: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return np.maximum(best_scale(r, sw[idx], eps), floor[idx])

    # Start: weighted ridge least squares; the first floor from the scale of its residuals.
    A = np.matmul((Xt * sw[..., None]).transpose(0, 2, 1), Xt) + alpha[:, None, None] * np.diag(pen) + 1e-12 * np.eye(q)
    u = np.linalg.solve(A, np.einsum("bnp,bn->bp", Xt, sw * z)[..., None])[..., 0]
    r = z - np.einsum("bnp,bp->bn", Xt, u)
    floor = np.maximum(FLOOR_START * np.sqrt((sw * r * r).sum(axis=1) / np.maximum(sw.sum(axis=1), 1e-300)),
                       last_floor)
    # The residuals z - X u of every problem's current u: each trial point's are computed once, for its scale and its
    # objective, and kept when the step is taken (the Newton step needs them next).
    res = z - np.matmul(Xt, u[..., None])[..., 0]
    sigma = scale(res, np.arange(B))
    f = _objective_r(res, sw, alpha, eps, u, sigma, pen)
    converged = np.zeros(B, dtype=bool)
    ridge = np.zeros((q + 1, q + 1))
    ridge[:q, :q] = 2.0 * np.diag(pen)

    def newton(done: np.ndarray, iters: int, line_search: bool) -> None:
        """Up to ``iters`` Newton steps of the problems not ``done`` (in place); ``line_search``: each step's length
        by :func:`line_min` first, the Armijo backtracking only where that fails."""
        for _ in range(iters):
            act = np.flatnonzero(~done)
            if not len(act):
                break
            step(act, done, line_search)

    def step(act: np.ndarray, done: np.ndarray, line_search: bool) -> None:  # one Newton step of the problems act
        Xa, za, swa, al, ua, sa = Xt[act], z[act], sw[act], alpha[act], u[act], sigma[act]
        r = res[act]
        t = r / sa[:, None]
        inl = np.abs(t) <= eps
        wi = swa * inl
        psi = np.where(inl, 2.0 * t, 2.0 * eps * np.sign(r))
        g = np.zeros((len(act), q + 1))  # dF/dsigma = 0: the scale is optimal given u (or held at the floor)
        g[:, :q] = -np.einsum("bn,bnp->bp", swa * psi, Xa) + 2.0 * al[:, None] * ua * pen
        V = np.concatenate([Xa, t[..., None]], axis=2)  # v_i = (x_i, 1, r_i / sigma)
        H = np.matmul((V * (2.0 * wi / sa[:, None])[..., None]).transpose(0, 2, 1), V) + al[:, None, None] * ridge
        # With the scale free, the step in u is the Newton step of the profile min_sigma F (the Schur complement of
        # the scale's block); at the floor, of F at that scale (the scale's row and column dropped).
        held = sa <= floor[act]
        H[held, q, :] = 0.0
        H[held, :, q] = 0.0
        H[held, q, q] = 1.0
        H += (1e-12 * np.abs(np.diagonal(H, axis1=1, axis2=2)).max(axis=1) + 1e-300)[:, None, None] * np.eye(q + 1)
        d = -np.linalg.solve(H, g[..., None])[..., 0][:, :q]
        slope = (g[:, :q] * d).sum(axis=1)  # < 0: the block is positive definite
        fa = f[act]
        small = -slope <= 2.0 * RTOL * np.maximum(np.abs(fa), 1e-300)
        # A fit that reproduces its rows (to rounding) with the scale at a floor: the optimum is at scale 0, and the
        # decrement, relative to an objective shrunk to the penalty, only trades rounding error there.
        exact = held & (np.max(np.abs(r) * (swa > 0), axis=1) <= last_floor[act])
        # Optimal with the scale at the floor: lower the floor, down to rounding level.
        lower = ((-slope <= 2.0 * STAGE_RTOL * np.abs(fa)) | exact) & held & (floor[act] > last_floor[act])
        floor[act[lower]] = np.maximum(floor[act[lower]] * FLOOR_DROP, last_floor[act[lower]])
        conv = (small | exact) & ~lower
        accepted = small | exact
        new_u, new_s, new_f = ua.copy(), sa.copy(), fa.copy()
        new_s[lower] = scale(r[lower], act[lower])
        new_f[lower] = _objective_r(r[lower], swa[lower], al[lower], eps, ua[lower], new_s[lower], pen)
        # The second phase: the exact minimum along the direction (near-L1 objectives: it crosses every kink the
        # step should cross at once), where it passes the Armijo test; backtracking below only where it does not.
        if line_search and not accepted.all():
            todo = np.flatnonzero(~accepted)
            dd, pd = d[todo], d[todo] * pen
            tt = line_min(r[todo], np.matmul(Xa[todo], dd[..., None])[..., 0], swa[todo], sa[todo], eps,
                          2.0 * al[todo] * (ua[todo] * pd).sum(axis=1), 2.0 * al[todo] * (pd * pd).sum(axis=1))
            uu = ua[todo] + tt[:, None] * dd
            rr = za[todo] - np.matmul(Xa[todo], uu[..., None])[..., 0]
            ss = scale(rr, act[todo])
            ff = _objective_r(rr, swa[todo], al[todo], eps, uu, ss, pen)
            ok = (tt > 0) & (ff <= fa[todo] + ARMIJO * tt * slope[todo])
            idx = todo[ok]
            new_u[idx], new_s[idx], new_f[idx] = uu[ok], ss[ok], ff[ok]
            res[act[idx]] = rr[ok]
            accepted[idx] = True
        # Backtracking: the first of the steps 1, 1/2, 1/4, ... that passes the Armijo test, HALVING_CHUNK trial steps
        # of every problem left evaluated in one pass (the same numbers as one at a time; the extra trials past the
        # accepted one are discarded). On Marin Delphi's fold fits the accepted step was 1/16-1/1024 in most Newton
        # steps, and one trial per pass was most of the solve's time in numpy call overhead.
        for h0 in range(0, MAX_HALVINGS, HALVING_CHUNK):
            todo = np.flatnonzero(~accepted)
            if not len(todo):
                break
            steps = 0.5 ** np.arange(h0, min(h0 + HALVING_CHUNK, MAX_HALVINGS))  # exact powers of two
            k, m = len(todo), len(steps)
            uu = ua[todo][:, None, :] + steps[None, :, None] * d[todo][:, None, :]  # (k, m, q)
            rr = za[todo][:, None, :] - np.matmul(Xa[todo][:, None], uu[..., None])[..., 0]  # (k, m, n)
            rows = np.repeat(act[todo], m)
            uu, rr = uu.reshape(k * m, q), rr.reshape(k * m, n)
            ss = scale(rr, rows)
            ff = _objective_r(rr, sw[rows], alpha[rows], eps, uu, ss, pen)
            ok = (ff <= np.repeat(fa[todo], m) + ARMIJO * np.tile(steps, k) * np.repeat(slope[todo], m)).reshape(k, m)
            hit = ok.any(axis=1)
            pick = np.flatnonzero(hit) * m + np.argmax(ok, axis=1)[hit]
            idx = todo[hit]
            new_u[idx], new_s[idx], new_f[idx] = uu[pick], ss[pick], ff[pick]
            res[act[idx]] = rr[pick]
            accepted[idx] = True
        # A step no halving accepts: rounding decides the objective's last digits; converged if the decrement
        # left is that small (and the floor is not what holds the scale up).
        stuck = ~accepted
        u[act], sigma[act], f[act] = new_u, new_s, new_f
        done[act[conv | stuck]] = True
        converged[act[conv | (stuck & (-slope <= 1e-8 * np.abs(fa)) & ~(held & (floor[act] > last_floor[act])))]] = True
    newton(np.zeros(B, dtype=bool), MAX_ITER, False)
    # Rows ~ coefficients: the optimum is often at scale 0 (an L1-ridge fit), where Newton steps overshoot across
    # the kinks and the decrement test cannot pass. For an unconverged fit, solve the
    # scale-0 problem directly and keep that solution only if a dual bound certifies it and it lowers the
    # objective; otherwise the Newton result stands (so no fit gets worse, and the cost is paid only there).
    cand = np.flatnonzero(~converged)
    if len(cand):
        _polish(Xt, z, sw, alpha, eps, pen, u, sigma, f, last_floor, cand, converged)
    # Still unconverged (Marin Delphi, 120 runs: 105 of 297 fits, 83 of them up to 39 % above HuberRegressor's
    # objective, the scale stopped at floors of 1e-8 to 1e-4): the Armijo-halved steps cross about one kink each
    # (accepted steps 1/16-1/1024), so the near-L1 stages need several hundred steps. LINE_ITER more steps, each
    # to the exact minimum along its direction (line_min), then the scale-0 solve again, from the partition those
    # leave, with single-pivot safeguarded updates. Fits converged above are not touched (bit for bit).
    cand = np.flatnonzero(~converged)
    if len(cand):
        newton(converged.copy(), LINE_ITER, True)
        cand = np.flatnonzero(~converged)
        if len(cand):
            _polish(Xt, z, sw, alpha, eps, pen, u, sigma, f, last_floor, cand, converged, PIVOT_STEPS, single=True)
    return u[:, :p], u[:, p], sigma, converged


def _polish(Xt: np.ndarray, z: np.ndarray, sw: np.ndarray, alpha: np.ndarray, eps: float, pen: np.ndarray,
            u: np.ndarray, sigma: np.ndarray, f: np.ndarray, last_floor: np.ndarray, cand: np.ndarray,
            converged: np.ndarray, steps: int = PDAS_STEPS, single: bool = False) -> None:
    """Scale-0 solve of the problems ``cand`` (in place): the partition of the rows into zero residuals (within
    the scale's Huber band) and signs, :func:`_l1_solve`, then up to ``steps`` active-set updates.

    An update moves every row that violates its condition: a zero row whose dual value left the box leaves the
    zero set, a row whose residual changed sign joins it (primal-dual active set, a block pivot). ``single``:
    Judice & Pires' safeguard, a block pivot only while it leaves fewer violations than any partition before it,
    else only the worst row moves (the largest dual excess, else the largest residual that changed sign): block
    pivots can cycle (on Marin Delphi's loglinear-sat problems they thrashed between partitions 10-80 rows apart,
    with singular KKT systems; from the partitions the line-search steps left, 40 safeguarded updates certified 72
    of 74 fits, 40 block updates 62).

    A solution replaces the current one only if :func:`dual_bound` certifies it (gap within ``RTOL`` plus the
    floor's share) and its objective is at most the current one; the problem is then marked converged. The same
    bound, a lower bound on :math:`\\min F`, also certifies the current point where its gap is that small (the fit
    is then converged as it is).
    """
    q = Xt.shape[2]
    r = z[cand] - np.matmul(Xt[cand], u[cand][..., None])[..., 0]
    zero = (np.abs(r) <= eps * sigma[cand][:, None]) & (sw[cand] > 0)
    nz = zero.sum(axis=1)
    keep = (nz >= 1) & (nz <= q)
    cand, zero, r = cand[keep], zero[keep], r[keep]
    if not len(cand):
        return
    sign = np.where(r < 0, -1.0, 1.0)
    fewest = np.full(len(cand), np.inf)  # the fewest violations of any partition so far (single pivots)
    for _k in range(steps + 1):
        Xc, zc, swc, ac = Xt[cand], z[cand], sw[cand], alpha[cand]
        u0, b = _l1_solve(Xc, zc, swc, ac, eps, pen, zero, sign)
        r0 = zc - np.matmul(Xc, u0[..., None])[..., 0]
        s_ex = np.maximum(best_scale(r0, swc, eps), last_floor[cand])
        f_ex = _objective_r(r0, swc, ac, eps, u0, s_ex, pen)  # r0 is the residual _objective would recompute
        qb = dual_bound(Xc, zc, swc, ac, eps, pen, b)
        slack = swc.sum(axis=1) * last_floor[cand]
        ok = np.isfinite(f_ex) & (f_ex - qb <= RTOL * np.abs(f_ex) + slack)
        ok &= f_ex <= f[cand]
        idx = cand[ok]
        u[idx], sigma[idx], f[idx] = u0[ok], s_ex[ok], f_ex[ok]
        converged[idx] = True
        # The bound holds for every point, so it certifies the current one as well: where the candidate's objective
        # is above it by rounding (the current one at the last floor, the candidate's zero residuals at 1e-13).
        same = ~ok & (f[cand] - qb <= RTOL * np.abs(f[cand]) + slack)
        converged[cand[same]] = True
        ok |= same
        # Primal-dual active set on the problems left: a row whose dual value left the box leaves the zero set (on
        # the side of its dual value), a row whose residual changed sign joins it.
        leave = zero & (np.abs(b) > 2.0 * eps)
        join = ~zero & (swc > 0) & (np.where(r0 < 0, -1.0, 1.0) != sign)
        if single:
            n_bad = (leave | join).sum(axis=1)
            one = n_bad >= fewest
            fewest = np.minimum(fewest, n_bad)
            rows = np.arange(len(cand))
            excess = np.where(leave, np.abs(b) - 2.0 * eps, -np.inf)
            any_leave = leave.any(axis=1)
            worst_leave = np.zeros_like(leave)
            worst_leave[rows, np.argmax(excess, axis=1)] = any_leave
            worst_join = np.zeros_like(join)
            worst_join[rows, np.argmax(np.where(join, np.abs(r0), -np.inf), axis=1)] = ~any_leave & join.any(axis=1)
            leave = np.where(one[:, None], worst_leave, leave)
            join = np.where(one[:, None], worst_join, join)
            fewest = fewest[~ok]
        sign = np.where(leave, np.sign(b), sign)[~ok]
        zero = ((zero & ~leave) | join)[~ok]
        cand = cand[~ok]
        if not len(cand):
            break
