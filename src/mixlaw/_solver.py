"""The engine's optimiser: bounded Levenberg-Marquardt on many independent fits at once.

:func:`solve_batch` minimises, for every row ``r`` of a batch (one row per start of one fit problem),

.. math:: f_r(\\theta) = \\frac{1}{\\delta^2} \\sum_o w_{ro}\\,
          \\rho\\big(\\log \\hat L_{ro}(\\theta) - \\log L_{ro}\\big) + \\text{penalty}_r(\\theta)

within box bounds, with :math:`\\rho` the Huber loss (or :math:`r^2/2`). Each iteration is one vectorised
step for all unfinished rows: the model returns predictions and Jacobians for the whole batch, the
Gauss-Newton matrix :math:`J^\\top \\operatorname{diag}(w\\, \\psi(r)/r) J` (the iteratively reweighted
least-squares majoriser of the Huber loss, Holland & Welsch 1977) plus the penalty's Hessian is damped
Marquardt-style (:math:`\\lambda \\operatorname{diag}`), parameters at a bound whose gradient points outward are
held, and the step is projected onto the box. A step is kept when it lowers :math:`f_r`; then
:math:`\\lambda` shrinks, else it grows (Moré 1978). Rows stop on their own when a kept step lowers the
objective by less than ``ftol`` relative, or when no damping finds a lower value. The damping follows
Nielsen's gain-ratio update, which does not oscillate along the curved valleys of saturating power laws.

Why not one ``scipy.optimize.minimize`` call per fit: a law with 13 eval sets x 8 starts was 104 L-BFGS-B
runs of thousands of Python-level iterations each; here it is one loop of tens of Gauss-Newton iterations
over arrays of shape (104, n_obs, n_params), and the Gauss-Newton steps reach the tight ``ftol`` that
L-BFGS-B often missed on these ill-conditioned problems ("no start converged").

References
----------
Moré, "The Levenberg-Marquardt algorithm: implementation and theory", 1978. Nielsen, "Damping parameter in
Marquardt's method", IMM DTU report, 1999. Holland & Welsch, "Robust
regression using iteratively reweighted least-squares", 1977. Hoffmann et al. 2022, arXiv:2203.15556
(Huber on log residuals for scaling laws).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: A batch model: ``(theta (r, p), rows (r,)) -> (pred (r, n), jac (r, n, p))`` for the given batch rows; ``jac``
#: may be a :class:`SegmentJacobian` (a sparse pattern the Gauss-Newton products exploit).
BatchModel = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
Penalty = Callable[[np.ndarray], tuple[float, np.ndarray]]

#: Damping: initial lambda, the largest shrink after a kept step, and the cap (Nielsen 1999's update: a kept
#: step with gain ratio rho scales lambda by max(1/3, 1 - (2 rho - 1)^3); a rejected one by nu, nu doubling).
LAMBDA0, LAMBDA_DOWN, LAMBDA_MAX = 1e-3, 1 / 3, 1e12
#: A kept step that lowers f by less than FTOL * max(1, |f|) ends the row: the fit has converged.
FTOL = 1e-12
#: IRLS steps until a kept step gains less than SWITCH relative, then exact Gauss-Newton (see ``_Measure``).
SWITCH = 1e-4
#: A row that ends is called converged when its projected gradient is below GTOL * max(1, |f|) (the same
#: test the engine applied to L-BFGS-B's ABNORMAL line searches).
GTOL = 1e-4
#: Below this many observations per row, an exact-phase Gauss-Newton product runs over all observations (weight 0
#: outside delta) instead of gathering the inside ones first: on the step stage's 10-checkpoint curves the
#: argsort and gathers cost more than the rows they skip.
GATHER_MIN_OBS = 64


def huber(r: np.ndarray, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Huber loss and its derivative, elementwise: 0.5 r^2 inside |r| <= delta, linear outside."""
    a = np.abs(r)
    inside = a <= delta
    rho = np.where(inside, 0.5 * r * r, delta * (a - 0.5 * delta))
    psi = np.clip(r, -delta, delta)
    return rho, psi


def penalty_hessian(penalty: Penalty, theta: np.ndarray) -> np.ndarray:
    """The penalty's Hessian: its ``hessian(theta)`` attribute when it has one, else central differences."""
    hess = getattr(penalty, "hessian", None)
    if hess is not None:
        return np.asarray(hess(theta), dtype=np.float64)
    p = theta.size
    out = np.empty((p, p))
    for j in range(p):
        h = 1e-6 * max(1.0, abs(theta[j]))
        up, dn = theta.copy(), theta.copy()
        up[j] += h
        dn[j] -= h
        out[:, j] = (penalty(up)[1] - penalty(dn)[1]) / (2 * h)
    return 0.5 * (out + out.T)


class SegmentJacobian:
    """A batch of Jacobians (r, n, p) whose observations fall in contiguous segments, each observation depending
    on the shared columns ``dense_cols`` and on its own segment's columns ``cols[s]`` only.

    This is the pattern of a joint law whose eval sets share some parameters (Dai & Zheng's capacities and
    exponents) and own the others (each eval set's E and data term): with d shared of p parameters, the
    Gauss-Newton matrix costs O(n d^2) instead of O(n p^2) and no (n, p) array of zeros is built.

    Parameters
    ----------
    dense : ndarray of shape (r, n, d)
        Derivatives with respect to ``dense_cols``.
    vals : ndarray of shape (r, n, G)
        Derivatives with respect to the G columns of each observation's segment.
    dense_cols : ndarray of int, shape (d,)
    cols : ndarray of int, shape (S, G)
        The G columns of segment s (distinct within a segment, none of them in ``dense_cols``).
    starts : ndarray of int, shape (S,)
        First observation of each segment (increasing; the last segment ends at n).
    p : int
        Number of parameters.
    """

    def __init__(self, dense: np.ndarray, vals: np.ndarray, dense_cols: np.ndarray, cols: np.ndarray,
                 starts: np.ndarray, p: int) -> None:
        self.dense, self.vals, self.dense_cols, self.cols, self.p = dense, vals, dense_cols, cols, int(p)
        self.starts = np.asarray(starts, dtype=np.int64)
        n = dense.shape[1]
        sizes = np.diff(np.append(starts, n))
        # Segment sums as products with the (n, S) indicator matrix: BLAS, and empty segments sum to 0.
        self._seg = np.repeat(np.arange(cols.shape[0]), sizes)
        self._onehot = np.zeros((n, cols.shape[0]))
        self._onehot[np.arange(n), self._seg] = 1.0
        # Segments of one length with columns no two share (Dai & Zheng's joint law with every (run, eval set)
        # observed): :meth:`gram` computes all segments' blocks in one stacked product and writes them at once.
        self._even = bool(n > 0 and cols.shape[0] > 0 and np.all(sizes == sizes[0])
                          and np.unique(cols).size == cols.size)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.dense.shape[0], self.dense.shape[1], self.p)

    @classmethod
    def stack(cls, parts: Sequence[SegmentJacobian]) -> SegmentJacobian:
        """Concatenate batches of the same structure along the batch axis."""
        a = parts[0]
        if len(parts) == 1:
            return a
        return a._stacked(parts)

    def _stacked(self, parts: Sequence[SegmentJacobian]) -> SegmentJacobian:
        return self.with_values(np.concatenate([q.dense for q in parts]), np.concatenate([q.vals for q in parts]))

    def with_values(self, dense: np.ndarray, vals: np.ndarray) -> SegmentJacobian:
        """The same structure with other values (no re-indexing): a model builds its structure once."""
        out = object.__new__(SegmentJacobian)
        out.dense, out.vals, out.dense_cols, out.cols, out.p = dense, vals, self.dense_cols, self.cols, self.p
        out.starts, out._seg, out._onehot, out._even = self.starts, self._seg, self._onehot, self._even
        return out

    def take(self, rows: np.ndarray) -> SegmentJacobian:
        """The batch rows ``rows``."""
        return self.with_values(self.dense[rows], self.vals[rows])

    def scale_rows(self, s: np.ndarray) -> SegmentJacobian:
        """``diag(s) J`` for every batch row; ``s`` of shape (r, n)."""
        return self.with_values(self.dense * s[:, :, None], self.vals * s[:, :, None])

    def finite(self) -> np.ndarray:
        return np.all(np.isfinite(self.dense), axis=(1, 2)) & np.all(np.isfinite(self.vals), axis=(1, 2))

    def _own(self, x: np.ndarray) -> np.ndarray:
        """Per-segment sums of per-observation values (r, n, G), added into the segments' columns: (r, p)."""
        seg = np.matmul(self._onehot.T, x)  # (r, S, G)
        out = np.zeros((x.shape[0], self.p))
        for a in range(x.shape[0]):
            out[a] = np.bincount(self.cols.ravel(), weights=seg[a].ravel(), minlength=self.p)
        return out

    def rmatvec(self, v: np.ndarray) -> np.ndarray:
        """``J^T v`` per batch row: (r, p) from ``v`` of shape (r, n)."""
        out = self._own(self.vals * v[:, :, None])
        out[:, self.dense_cols] += np.einsum("rnd,rn->rd", self.dense, v)
        return out

    def sqsum(self, w: np.ndarray) -> np.ndarray:
        """The diagonal of ``J^T diag(w) J`` per batch row, (r, p)."""
        out = self._own(self.vals * self.vals * w[:, :, None])
        out[:, self.dense_cols] += np.einsum("rnd,rnd,rn->rd", self.dense, self.dense, w)
        return out

    def gram(self, w: np.ndarray) -> np.ndarray:
        """``J^T diag(w) J`` per batch row, (r, p, p)."""
        r, p, dc = w.shape[0], self.p, self.dense_cols
        ends = np.append(self.starts[1:], self.dense.shape[1])
        out = np.zeros((r, p, p))
        if self._even:
            return self._gram_even(w, out)
        for a in range(r):
            D, V = self.dense[a], self.vals[a]
            Dw, Vw = D * w[a][:, None], V * w[a][:, None]
            H = out[a]
            H[np.ix_(dc, dc)] = D.T @ Dw
            # Segment s: its own columns meet the shared ones and themselves only (contiguous observations).
            for s, (b, e) in enumerate(zip(self.starts, ends, strict=True)):
                if e > b:
                    c = self.cols[s]
                    cross = Dw[b:e].T @ V[b:e]
                    H[dc[:, None], c[None, :]] += cross
                    H[c[:, None], dc[None, :]] += cross.T
                    H[c[:, None], c[None, :]] += Vw[b:e].T @ V[b:e]
        return out

    def _gram_even(self, w: np.ndarray, out: np.ndarray) -> np.ndarray:
        """:meth:`gram` when the segments have one length and disjoint columns: the same products (stacked ``matmul``
        makes one BLAS call per segment, as the loop did), each block written once (``x + 0.0`` is what adding ``x``
        to the zeros gave, -0.0 included)."""
        S, G = self.cols.shape
        dc = self.dense_cols
        cr, dd = self.cols[:, :, None], dc[None, None, :]
        for a in range(w.shape[0]):
            D, V = self.dense[a], self.vals[a]
            Dw, Vw = D * w[a][:, None], V * w[a][:, None]
            H = out[a]
            H[np.ix_(dc, dc)] = D.T @ Dw
            V3 = V.reshape(S, -1, G)
            cross = np.matmul(np.swapaxes(Dw.reshape(S, -1, dc.size), 1, 2), V3)  # (S, d, G)
            H[dd.transpose(0, 2, 1), self.cols[:, None, :]] = cross + 0.0
            H[cr, dd] = np.swapaxes(cross, 1, 2) + 0.0
            H[cr, self.cols[:, None, :]] = np.matmul(np.swapaxes(Vw.reshape(S, -1, G), 1, 2), V3) + 0.0
        return out

    def to_dense(self) -> np.ndarray:
        """The (r, n, p) array."""
        r, n, _ = self.dense.shape
        J = np.zeros((r, n, self.p))
        J[:, :, self.dense_cols] = self.dense
        obs = np.arange(n)
        for gi in range(self.cols.shape[1]):
            J[:, obs, self.cols[self._seg, gi]] = self.vals[:, :, gi]
        return J


class FactoredSegmentJacobian(SegmentJacobian):
    """A :class:`SegmentJacobian` whose S segments are the same L runs, in the same order, and whose shared columns'
    derivatives are a run's vector times a per-observation factor; a segment's columns may include shared ones.

    ``J[r, s L + i, dense_cols] = coef[r, s, i] base[r, i]`` and ``J[r, s L + i, cols[s, g]] += vals[r, s, i, g]``.
    This is Dai & Zheng's joint law with every (run, eval set) observed: the derivative of eval set s's capacity term
    in the shared log c and b is its own factor times the run's allocation derivative (a rank-one term), plus the
    eval set's own domain's two entries. The Gauss-Newton products then cost O(L d^2 + S L d G) instead of
    O(S L d^2), and no (S L, d) array is built: :mod:`mixlaw.laws._capacity_model`, ``_segment_model``.

    Parameters
    ----------
    base : ndarray of shape (r, L, d)
    coef : ndarray of shape (r, S, L)
    vals : ndarray of shape (r, S, L, G)
    dense_cols : ndarray of int, shape (d,)
    cols : ndarray of int, shape (S, G)
        Distinct within a segment; may repeat across segments and meet ``dense_cols`` (their entries add up).
    p : int
    """

    def __init__(self, base: np.ndarray, coef: np.ndarray, vals: np.ndarray, dense_cols: np.ndarray,
                 cols: np.ndarray, p: int) -> None:
        self.base, self.coef, self.fvals = base, coef, vals
        self.dense_cols, self.cols, self.p = dense_cols, cols, int(p)

    @property
    def shape(self) -> tuple[int, int, int]:
        r, S, L = self.coef.shape
        return (r, S * L, self.p)

    def _like(self, base: np.ndarray, coef: np.ndarray, vals: np.ndarray) -> FactoredSegmentJacobian:
        return FactoredSegmentJacobian(base, coef, vals, self.dense_cols, self.cols, self.p)

    def _stacked(self, parts: Sequence[SegmentJacobian]) -> SegmentJacobian:
        fp = [q for q in parts if isinstance(q, FactoredSegmentJacobian)]
        assert len(fp) == len(parts)
        return self._like(*(np.concatenate([getattr(q, k) for q in fp]) for k in ("base", "coef", "fvals")))

    def with_values(self, dense: np.ndarray, vals: np.ndarray) -> SegmentJacobian:
        raise NotImplementedError("a FactoredSegmentJacobian holds factors, not a dense block")

    def take(self, rows: np.ndarray) -> SegmentJacobian:
        return self._like(self.base[rows], self.coef[rows], self.fvals[rows])

    def scale_rows(self, s: np.ndarray) -> SegmentJacobian:
        s3 = s.reshape(self.coef.shape)
        return self._like(self.base, self.coef * s3, self.fvals * s3[:, :, :, None])

    def finite(self) -> np.ndarray:
        return (np.all(np.isfinite(self.base), axis=(1, 2)) & np.all(np.isfinite(self.coef), axis=(1, 2))
                & np.all(np.isfinite(self.fvals), axis=(1, 2, 3)))

    def rmatvec(self, v: np.ndarray) -> np.ndarray:
        v3 = v.reshape(self.coef.shape)
        out = np.zeros((v.shape[0], self.p))
        u = np.einsum("rsi,rsi->ri", self.coef, v3)
        out[:, self.dense_cols] += np.einsum("ri,rid->rd", u, self.base)
        sv = np.einsum("rsig,rsi->rsg", self.fvals, v3)
        for a in range(v.shape[0]):
            out[a] += np.bincount(self.cols.ravel(), weights=sv[a].ravel(), minlength=self.p)
        return out

    def sqsum(self, w: np.ndarray) -> np.ndarray:
        return np.diagonal(self.gram(w), axis1=1, axis2=2).copy()

    def gram(self, w: np.ndarray) -> np.ndarray:
        r, (S, G), dc = w.shape[0], self.cols.shape, self.dense_cols
        w3 = w.reshape(self.coef.shape)
        out = np.zeros((r, self.p, self.p))
        di, cj = dc[:, None, None], self.cols[None, :, :]
        for a in range(r):
            B, V, H = self.base[a], self.fvals[a], out[a]
            cw = self.coef[a] * w3[a]  # (S, L)
            # Shared x shared: sum over segments of w coef^2 per run, then one (L, d) product.
            H[np.ix_(dc, dc)] = B.T @ (B * (cw * self.coef[a]).sum(axis=0)[:, None])
            # Shared x each segment's columns, for all segments in one product: (d, L) @ (L, S G).
            X = np.ascontiguousarray(np.swapaxes(cw[:, :, None] * V, 0, 1)).reshape(-1, S * G)
            cross = (B.T @ X).reshape(dc.size, S, G)
            np.add.at(H, (di, cj), cross)
            np.add.at(H, (cj, di), cross)
            own = np.matmul(np.swapaxes(V * w3[a][:, :, None], 1, 2), V)  # (S, G, G)
            np.add.at(H, (self.cols[:, :, None], self.cols[:, None, :]), own)
        return out

    def to_dense(self) -> np.ndarray:
        r, S, L = self.coef.shape
        J = np.zeros((r, S * L, self.p))
        J[:, :, self.dense_cols] = (self.coef[:, :, :, None] * self.base[:, None, :, :]).reshape(r, S * L, -1)
        obs = np.arange(S * L)
        seg = np.repeat(np.arange(S), L)
        for gi in range(self.cols.shape[1]):
            J[:, obs, self.cols[seg, gi]] += self.fvals[:, :, :, gi].reshape(r, S * L)
        return J


class _Measure:
    """Objective, gradient and Gauss-Newton matrix of a set of batch rows."""

    def __init__(self, model: BatchModel, logy: np.ndarray, sw: np.ndarray, free: np.ndarray, loss: str,
                 delta: float, penalties: Sequence[Penalty | None] | None, n_params: int) -> None:
        self.model, self.logy, self.sw, self.free = model, logy, sw, free
        self.loss, self.delta, self.penalties = loss, delta, penalties
        self.scale = 1.0 / (delta * delta)  # objective O(1) near a good fit
        self.nfev = np.zeros(logy.shape[0], dtype=np.int64)
        # Quadratic penalties (``quadratic`` attribute: exactly theta^T Q theta / 2 with a constant Q, e.g. pooling
        # and ridge) are evaluated for all rows at once from their stacked Q; others one row at a time.
        self.quad = self.loop = None
        if penalties is not None:
            quad = [i for i, q in enumerate(penalties) if q is not None and getattr(q, "quadratic", False)]
            self.loop = np.array([q is not None for q in penalties])
            self.loop[quad] = False
            if not self.loop.any():  # no per-row penalty: skip the per-evaluation lookup
                self.loop = None
            if quad:
                self.quad = np.zeros((logy.shape[0], n_params, n_params))
                for i in quad:
                    self.quad[i] = penalty_hessian(penalties[i], np.zeros(n_params))

    def __call__(self, theta: np.ndarray, rows: np.ndarray, exact: np.ndarray | None = None, need_hess: bool = True
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """f (r,), projected-free gradient (r, p), Gauss-Newton matrix (r, p, p) and damping diagonal (r, p)."""
        pt = self.value(theta, rows, exact)
        g, H, D = self.derivatives(pt, np.arange(rows.size), need_hess)
        return pt.f, g, H, D

    def value(self, theta: np.ndarray, rows: np.ndarray, exact: np.ndarray | None = None) -> _Point:
        """The objective of the rows (``.f``, inf where not finite), and what :meth:`derivatives` needs.

        Split from the derivatives because a trial step's gradient and Gauss-Newton matrix are used only where
        the step lowers the objective: the solver asks for them on those rows alone (a rejected step's matrix,
        the largest cost of an evaluation, was computed and thrown away; 18-30 % of the steps on Olmix DCLM)."""
        # Every row (rows is then 0..R-1: the solver passes sorted subsets): the arrays as they are, not copies.
        every = rows.size == self.logy.shape[0]
        if every:
            self.nfev += 1
        else:
            self.nfev[rows] += 1
        pt = _Point()
        pt.theta, pt.rows, pt.exact = theta, rows, exact
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            pred, jac = self.model(theta, rows)
            pt.seg = isinstance(jac, SegmentJacobian)
            bad = ~(np.isfinite(pred) & (pred > 0)).all(axis=1)
            if pt.seg:
                bad |= ~jac.finite()
            if bad.any() or not pred.flags.c_contiguous:  # (else the same array: np.where would copy it)
                pred = np.where(bad[:, None], 1.0, pred)
            r = np.log(pred) - (self.logy if every else self.logy[rows])
            sw = self.sw if every else self.sw[rows]
            if self.loss == "huber":
                # huber()'s arithmetic, with |r| and the inside-delta mask kept for the weights below (each pass
                # over the (rows, obs) arrays costs a few microseconds: a one-start refit's evaluation is ~50 of them).
                delta = self.delta
                a = np.abs(r)
                inside = a <= delta
                rho = np.where(inside, 0.5 * r * r, delta * (a - 0.5 * delta))
                psi = r.clip(-delta, delta)
                # IRLS weights psi(r)/r majorise the Huber loss: robust steps from far away, but linear
                # convergence. Near the optimum (``exact`` rows) the Gauss-Newton matrix with rho'' (1 inside
                # delta, 0 outside) converges fast; the damping keeps the IRLS scale so an all-outlier
                # Jacobian still gets scaled steps.
                wdamp = np.where(inside, 1.0, delta / np.where(a > 0, a, 1.0))
                mixed = exact is not None and bool(exact.any())
                # (Only a SegmentJacobian's products read wgt; a dense one's exact rows use the mask itself.)
                wgt = np.where(exact[:, None], inside.astype(np.float64), wdamp) if mixed and pt.seg else wdamp
            else:
                rho, psi, wgt = 0.5 * r * r, r, np.ones_like(r)
                wdamp, mixed, inside = wgt, False, None
            f = self.scale * np.einsum("rn,rn->r", sw, rho)
        pt.pred, pt.jac, pt.sw, pt.psi, pt.inside, pt.wdamp, pt.wgt, pt.mixed = (pred, jac, sw, psi, inside, wdamp,
                                                                                 wgt, mixed)
        pt.qg, pt.pg = None, {}
        if self.quad is not None:
            pt.qg = np.matmul(self.quad[rows], theta[:, :, None])[:, :, 0]
            f += 0.5 * np.einsum("rp,rp->r", theta, pt.qg)
        if self.loop is not None:
            for a_ in np.flatnonzero(self.loop[rows]):
                pf, pt.pg[int(a_)] = self.penalties[rows[a_]](theta[a_])
                f[a_] += pf
        pt.bad = bad | ~np.isfinite(f)
        pt.f = np.where(pt.bad, np.inf, f) if pt.bad.any() else f
        return pt

    def derivatives(self, pt: _Point, sub: np.ndarray, need_hess: bool = True
                    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Projected-free gradient (s, p), Gauss-Newton matrix (s, p, p) and damping diagonal (s, p) of the point's
        rows ``sub`` (indices into ``pt.rows``, increasing); a row whose gradient is not finite gets f = inf in
        ``pt.f``. Every row's numbers are those of an evaluation of all the point's rows (the products are per row;
        whether any row is in its exact phase is the whole point's, as it was)."""
        if not sub.size:
            p = pt.theta.shape[1]
            return np.zeros((0, p)), *((np.zeros((0, p, p)), np.zeros((0, p))) if need_hess else (None, None))
        every = sub.size == pt.rows.size
        if every:  # (sub is then every row in order: no gathers)
            rows, theta, jac, bad, exact = pt.rows, pt.theta, pt.jac, pt.bad, pt.exact
            pred, sw, psi, wdamp, wgt = pt.pred, pt.sw, pt.psi, pt.wdamp, pt.wgt
        else:
            rows, theta, bad = pt.rows[sub], pt.theta[sub], pt.bad[sub]
            jac = pt.jac.take(sub) if pt.seg else pt.jac[sub]
            pred, sw, psi, wdamp, wgt = (v[sub] for v in (pt.pred, pt.sw, pt.psi, pt.wdamp, pt.wgt))
            exact = None if pt.exact is None else pt.exact[sub]
        H = D = None
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if pt.seg:
                Jl = jac.scale_rows(1.0 / pred)
                g = self.scale * Jl.rmatvec(sw * psi)
                if need_hess:
                    H = self.scale * Jl.gram(sw * wgt)
                    D = self.scale * Jl.sqsum(sw * wdamp)
            else:
                # The log-prediction's Jacobian is diag(1/pred) J: its scaling goes into the per-observation
                # weights rather than into a copy of J (each pass over the (rows, obs, params) array costs as much
                # as the Gauss-Newton product when many rows are solved at once). A non-finite entry of J shows in
                # g (inf * 0 is NaN), which is checked before the fixed parameters are masked.
                inv = 1.0 / pred
                g = self.scale * np.einsum("rnp,rn->rp", jac, sw * psi * inv)
                bad = bad | ~np.isfinite(g).all(axis=1)
                if need_hess:
                    ud = sw * wdamp * inv * inv
                    if pt.mixed:
                        assert exact is not None and pt.inside is not None
                        D = self.scale * np.einsum("rnp,rnp,rn->rp", jac, jac, ud)
                        H = np.empty((jac.shape[0], jac.shape[2], jac.shape[2]))
                        ir = (~exact).nonzero()[0]
                        if ir.size:
                            Ji = jac[ir]
                            H[ir] = self.scale * np.matmul(np.swapaxes(Ji, 1, 2), Ji * ud[ir][:, :, None])
                        # An exact row's matrix has weight only inside delta (12-20 % of a RegMix fit's
                        # observations): its product runs over those, gathered to the front of each row.
                        ex = exact.nonzero()[0]
                        allx = ex.size == exact.size  # (every row exact, as a one-start fit ends: no gathers)
                        inside = pt.inside if every else pt.inside[sub]
                        inside = inside if allx else inside[ex]
                        if not ex.size:
                            pass
                        elif inside.shape[1] <= GATHER_MIN_OBS:  # a short curve: the gather costs more than it saves
                            Je, ue = (jac, ud) if allx else (jac[ex], ud[ex])
                            He = self.scale * np.matmul(np.swapaxes(Je, 1, 2), Je * (ue * inside)[:, :, None])
                            if allx:
                                H = He
                            else:
                                H[ex] = He
                        else:
                            # Zero-weight padding up to the most inside-delta observations of these rows: the
                            # products are the same whichever rows are gathered together.
                            cnt = inside.sum(axis=1)
                            K = max(int(cnt.max()), 1)
                            idx = np.argsort(~inside, axis=1, kind="stable")[:, :K]
                            Jg = jac[ex[:, None], idx]
                            ug = np.take_along_axis(ud[ex], idx, axis=1) * (np.arange(K) < cnt[:, None])
                            H[ex] = self.scale * np.matmul(np.swapaxes(Jg, 1, 2), Jg * ug[:, :, None])
                    else:  # wgt is wdamp: the damping diagonal is H's own
                        H = self.scale * np.matmul(np.swapaxes(jac, 1, 2), jac * ud[:, :, None])
                        D = np.diagonal(H, axis1=1, axis2=2).copy()
        if pt.qg is not None:
            assert self.quad is not None
            Q = self.quad[rows]
            g += pt.qg if every else pt.qg[sub]
            if H is not None and D is not None:
                H += Q
                D += np.abs(np.diagonal(Q, axis1=1, axis2=2))
        if pt.pg:
            for b, a_ in enumerate(sub):
                pg = pt.pg.get(int(a_))
                if pg is None:
                    continue
                g[b] += pg
                if H is not None and D is not None:
                    ph = penalty_hessian(self.penalties[rows[b]], theta[b])
                    H[b] += ph
                    D[b] += np.abs(np.diagonal(ph))
        g = np.where(self.free if rows.size == self.free.shape[0] else self.free[rows], g, 0.0)
        bad = bad | ~np.isfinite(g).all(axis=1)
        any_bad = bool(bad.any())
        if any_bad:  # (the usual case, no bad row, without the passes that would change nothing)
            pt.f[sub[bad]] = np.inf
            g = np.where(bad[:, None], 0.0, g)
        if H is not None and D is not None:
            # Zero for bad rows and non-finite entries; the usual case (neither) without a pass that builds a mask.
            if any_bad or not np.isfinite(H).all():
                H = np.where(bad[:, None, None] | ~np.isfinite(H), 0.0, H)
            if any_bad or not np.isfinite(D).all():
                D = np.where(bad[:, None] | ~np.isfinite(D), 0.0, D)
        return g, H, D


class _Point:
    """One evaluation of a set of batch rows (:meth:`_Measure.value`): the objective and what the derivatives need."""

    theta: np.ndarray
    rows: np.ndarray
    exact: np.ndarray | None
    seg: bool
    pred: np.ndarray
    jac: Any
    sw: np.ndarray
    psi: np.ndarray
    inside: np.ndarray | None
    wdamp: np.ndarray
    wgt: np.ndarray
    mixed: bool
    qg: np.ndarray | None
    pg: dict[int, np.ndarray]
    bad: np.ndarray
    f: np.ndarray


def _projected(theta: np.ndarray, g: np.ndarray, lo: np.ndarray, hi: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Parameters that may move: free, and not at a bound with the gradient pointing out of the box."""
    return free & ~(((theta <= lo) & (g > 0)) | ((theta >= hi) & (g < 0)))


def _solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(A, b[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        return np.stack([np.linalg.lstsq(a, v, rcond=None)[0] for a, v in zip(A, b, strict=True)])


def objective_values(model: BatchModel, theta: np.ndarray, logy: np.ndarray, sw: np.ndarray, *, loss: str,
                     delta: float, penalties: Sequence[Penalty | None] | None = None) -> np.ndarray:
    """The objective :func:`solve_batch` minimises (the module docstring's :math:`f_r`), at each row of ``theta``
    (R, p), by the solver's own evaluator: inf where it is not finite. Arguments as :func:`solve_batch`'s.

    Why: a law that compares starts before the solve (ye-pow's ridge-limit start) wrote the objective again beside
    the solver's (its mean Huber over delta^2 plus the penalty), one copy free to drift from the other."""
    return _Measure(model, logy, sw, np.ones(theta.shape, dtype=bool), loss, delta, penalties,
                    theta.shape[1]).value(theta, np.arange(theta.shape[0])).f


def solve_batch(model: BatchModel, theta0: np.ndarray, lo: np.ndarray, hi: np.ndarray, free: np.ndarray,
                logy: np.ndarray, sw: np.ndarray, *, loss: str, delta: float,
                penalties: Sequence[Penalty | None] | None = None, max_iter: int = 500,
                stop_decrement: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Minimise every row's objective (see the module docstring) from its start.

    Parameters
    ----------
    model : callable
        ``model(theta, rows) -> (pred, jac)`` for the batch rows ``rows``: predictions of shape (r, n) and
        Jacobians of shape (r, n, p) with respect to the full parameter vector.
    theta0, lo, hi : ndarray of shape (R, p)
        Starts (fixed parameters hold their value) and bounds.
    free : ndarray of bool, shape (R, p)
        Parameters that vary.
    logy, sw : ndarray of shape (R, n)
        Log observed losses and observation weights (each row summing to 1; 0 drops an observation).
    penalties : list of callable or None, optional
        Per row: ``penalty(theta) -> (value, gradient)`` (with an optional ``hessian(theta)`` attribute, and an
        optional ``quadratic`` one, true when the penalty is exactly ``theta^T H theta / 2`` with a constant ``H``:
        then all rows' values come from their stacked ``H`` in one product).
    max_iter : int
        Iterations per row.
    stop_decrement : float, default=0.0
        Refits only (0, the default, leaves every row to the ``ftol`` and gradient tests): a row in its exact
        Gauss-Newton phase also stops, converged, once its projected gradient passes the GTOL test and the
        decrease still to come, estimated as the Gauss-Newton model's predicted decrease (:func:`_decrement`)
        over one minus the rate at which that prediction shrank since the previous point, is at most
        ``stop_decrement`` times the decrease the row has made since its start. Meant for warm refits whose
        start is a nearby optimum (bootstrap replicates): the decrease made is then the replicate's own
        displacement in the objective's metric, and the rule asks for a precision relative to it
        (:mod:`mixlaw._bootstrap_additive` says why that is enough).

    Returns
    -------
    theta : ndarray (R, p)
    f : ndarray (R,)
        Final objectives (inf where the start itself was not finite).
    converged : ndarray of bool (R,)
    nfev : ndarray of int (R,)
    """
    R, p = theta0.shape
    free = free & (lo < hi)
    theta = np.where(free, np.clip(theta0, lo, hi), theta0)
    meas = _Measure(model, logy, sw, free, loss, delta, penalties, p)
    rows = np.arange(R)
    exact = np.zeros(R, dtype=bool)
    f, g, H, Dg = meas(theta, rows, exact)
    assert H is not None and Dg is not None
    f_start = f.copy()
    by_rule = np.zeros(R, dtype=bool)  # ended by the stop_decrement rule (converged by it)
    known = np.zeros(R, dtype=bool)  # the row's decrement at its current point is computed (a rejected step keeps it)
    nd_prev = np.full(R, np.nan)  # the decrement at the row's previous point (exact phase)
    lam = np.full(R, LAMBDA0)
    nu = np.full(R, 2.0)
    done = ~np.isfinite(f)
    stopped = np.zeros(R, dtype=bool)  # ended by a criterion (not by max_iter or a bad start)
    eye = np.eye(p, dtype=bool)
    diag = np.arange(p)
    for _ in range(int(max_iter)):
        act = (~done).nonzero()[0]  # (flatnonzero of a 1-d array, without its two wrappers)
        if act.size == 0:
            break
        # Every row still going (a one-start fit, throughout): views, not gathered copies. Those the update below
        # writes through (theta, g, H, f) are not read after it; lam and nu are read before they are written.
        ix = slice(None) if act.size == R else act
        th, gg, HH, la, lo_a, hi_a = theta[ix], g[ix], H[ix], lam[ix], lo[ix], hi[ix]
        use = _projected(th, gg, lo_a, hi_a, free[ix])
        d = Dg[ix]
        dmax = np.where(use, d, 0.0).max(axis=1, initial=0.0)
        damp = np.maximum(d, 1e-10 * np.maximum(dmax, 1e-300)[:, None])
        keep = use[:, :, None] & use[:, None, :]
        if stop_decrement > 0:
            ex = np.flatnonzero(exact[act] & ~known[act])
            if ex.size:
                nd = _decrement(HH[ex], gg[ex], use[ex], keep[ex], damp[ex], eye)
                known[act[ex]] = True
                # What is left if the decrements keep shrinking at the rate of the last step (a geometric tail,
                # nd / (1 - c)); a row whose decrement does not shrink (c >= 1, or no previous one yet) goes on.
                # A row creeping along a plateau predicts almost no decrease at each point while its steps keep
                # gaining about that much, and can then find a much lower valley (measured on RegMix all evals:
                # 6 % of its decrease, with decrements shrinking by ~10 % a step): its slow rate keeps it going.
                c = nd / nd_prev[act[ex]]
                nd_prev[act[ex]] = nd
                fa = f[act[ex]]
                gn = np.max(np.abs(np.where(use[ex], gg[ex], 0.0)), axis=1, initial=0.0)
                with np.errstate(invalid="ignore", divide="ignore"):
                    left = np.where(c < 1.0, nd / (1.0 - c), np.inf)
                fin = ex[(nd >= 0) & (left <= stop_decrement * (f_start[act[ex]] - fa))
                         & (gn <= GTOL * np.maximum(1.0, np.abs(fa)))]
                if fin.size:
                    done[act[fin]] = stopped[act[fin]] = by_rule[act[fin]] = True
                    rest = np.ones(act.size, dtype=bool)
                    rest[fin] = False
                    act, th, gg, HH, la, use, damp, keep, lo_a, hi_a = (
                        v[rest] for v in (act, th, gg, HH, la, use, damp, keep, lo_a, hi_a))
                    ix = act
                    if act.size == 0:
                        continue
        # HH + lambda diag(damp) on the parameters that move, the identity elsewhere: the damping is added to the
        # diagonal alone (the + 0.0 is what the off-diagonal entries got when a diagonal matrix was added to all).
        A = np.where(keep, HH, eye)
        A += 0.0
        A[:, diag, diag] += np.where(use, la[:, None] * damp, 0.0)
        step = _solve(A, -np.where(use, gg, 0.0))
        new = np.where(use, (th + step).clip(lo_a, hi_a), th)
        # (Each of the per-row quantities below is computed once: every pass costs a few microseconds whatever the
        # row count, and a one-start refit is ~25 iterations of ~150 such passes.)
        ex_a = exact[ix]
        pt = meas.value(new, act, ex_a)
        f_new, f_old = pt.f, f[ix]
        better = f_new < f_old
        # Derivatives only where the step lowered f (a row whose gradient is not finite is then rejected).
        cand = better.nonzero()[0]
        g_new, H_new, D_new = meas.derivatives(pt, cand)
        assert H_new is not None and D_new is not None
        better = f_new < f_old  # again: derivatives() sets f_new to inf where the gradient is not finite
        kept = better[cand]
        # Gain ratio: actual over predicted decrease of the Gauss-Newton model (Nielsen 1999's damping update).
        stp = new - th
        pred_dec = -np.einsum("rp,rp->r", stp, gg + 0.5 * np.matmul(HH, stp[:, :, None])[:, :, 0])
        dec = f_old - f_new
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = np.where(pred_dec > 0, dec / pred_dec, 0.0)
        moved = (np.abs(stp) / (1.0 + np.abs(th))).max(axis=1, initial=0.0)
        gain = dec / np.maximum(1.0, np.abs(f_old))
        small = better & (gain <= FTOL) & ex_a
        # Switch a row to the exact Gauss-Newton matrix once IRLS steps gain little (or stall); its H is
        # recomputed at the next evaluation, so recompute now for the rows that switch.
        nu_a = nu[ix]
        switch = ~ex_a & ((better & (gain <= SWITCH)) | (la * nu_a > LAMBDA_MAX))
        acc = act[better]
        known[acc] = False
        theta[acc], f[acc], g[acc], H[acc], Dg[acc] = (new[better], f_new[better], g_new[kept], H_new[kept],
                                                       D_new[kept])
        # A NaN gain ratio counts as 0 (+-inf clip to 1 and 0 as they are).
        shrink = np.maximum(LAMBDA_DOWN, 1.0 - (2.0 * np.where(np.isnan(rho), 0.0, rho).clip(0.0, 1.0) - 1.0) ** 3)
        lam_a = np.where(better, np.maximum(la * shrink, 1e-12), la * nu_a)
        lam[ix] = lam_a
        nu[ix] = np.where(better, 2.0, nu_a * 2.0)
        end = small | ((lam_a > LAMBDA_MAX) | (moved <= 1e-15)) & ~switch
        ended = act[end]
        done[ended] = stopped[ended] = True
        sw_rows = act[switch & ~end]
        if sw_rows.size:
            exact[sw_rows] = True
            lam[sw_rows], nu[sw_rows] = LAMBDA0, 2.0
            f[sw_rows], g[sw_rows], H[sw_rows], Dg[sw_rows] = meas(theta[sw_rows], sw_rows, exact[sw_rows])
    pg = np.where(_projected(theta, g, lo, hi, free), g, 0.0)
    gnorm = np.max(np.abs(pg), axis=1, initial=0.0)
    converged = stopped & np.isfinite(f) & ((gnorm <= GTOL * np.maximum(1.0, np.abs(f))) | by_rule)  # by_rule: tested
    return theta, f, converged, meas.nfev


def _decrement(H: np.ndarray, g: np.ndarray, use: np.ndarray, keep: np.ndarray, damp: np.ndarray,
               eye: np.ndarray) -> np.ndarray:
    """The decrease the Gauss-Newton model predicts for its own minimiser, per row: ``g^T H^-1 g / 2`` over the
    parameters that may move (a 1e-12 multiple of the damping diagonal keeps a singular H solvable; NaN where the
    solve fails), i.e. how much lower the objective can still go if it is the quadratic H and g describe."""
    A = np.where(keep, H + 1e-12 * (eye * damp[:, None, :]), eye)
    gu = np.where(use, g, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        s = _solve(A, -gu)
        out = -np.einsum("rp,rp->r", s, gu + 0.5 * np.matmul(H, s[:, :, None])[:, :, 0])
    return np.where(np.isfinite(out), out, np.nan)


__all__ = ["solve_batch", "huber", "penalty_hessian", "BatchModel", "SegmentJacobian", "FactoredSegmentJacobian"]
