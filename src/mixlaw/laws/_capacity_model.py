"""The capacity term of Dai & Zheng's laws as the solver sees it: predictions and their exact Jacobians.

:class:`_CapacityModel` is the part of :class:`~mixlaw.laws.dz_eq1._CapacityLaw` (Eq. 1, and Eq. 3 through
:mod:`mixlaw.laws.dz_eq3`) that evaluates ``p_i = c_i x_i*^(-b_i)`` at the allocation x* of
:mod:`mixlaw.laws._capacity` and differentiates it through the implicit function theorem: the dense Jacobian
(:meth:`~_CapacityModel._eval`, implicit aggregation), a :class:`~mixlaw._solver.SegmentJacobian` eval set by eval
set when every target is matched (:meth:`~_CapacityModel._segment_model`), and run factors when every (run, eval
set) is observed (:meth:`~_CapacityModel._factored_model`). The formula, parameters and fit are in
:mod:`mixlaw.laws.dz_eq1`; the parameter layout (:meth:`_layout`, :meth:`_z_offset`), the composition matrix and
the extra blocks' hooks (:meth:`_extra_terms`, :meth:`_extra_shared`) stay on the law.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._solver import FactoredSegmentJacobian, SegmentJacobian
from ._capacity import allocation_jacobian_factors, log_shares, solve_allocation
from .base import FitContext


class _CapacityModel:
    """Predictions and Jacobians of the DZ laws' capacity term (a mixin of
    :class:`~mixlaw.laws.dz_eq1._CapacityLaw`, whose layout and hooks it reads through ``self``)."""

    def _capacity_term(self, W: np.ndarray, theta: np.ndarray, S: np.ndarray, jac: bool,
                       cache: dict[str, np.ndarray] | None = None,
                       obs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None] | None = None
                       ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """p_i = c_i x_i*^(-b_i), shape (n, K), and its derivatives wrt log c and b, shape (n, K, M) each.

        ``cache`` keeps the last multipliers: consecutive optimiser iterates are close, so warm-started
        Newton needs 2-3 steps instead of ~10 (and the log shares of ``W``, the same at every call). With
        ``obs = (runs, term domains, out, out3)`` the derivatives of those (run, term domain) pairs only are
        written into ``out`` of shape (n_obs, 2M) (log c, then b), and None is returned for them; ``out3``, when
        not None, is ``out`` as a (K, n, 2M) view (every run of every eval set observed, eval set by eval set).
        """
        x, free, p, logx = self._allocate(W, theta, S, cache)
        if not jac:
            return p, None, None
        M = W.shape[1]
        m = self._match()  # term domains U
        b = theta[M:2 * M]
        # d log x_j / d theta_k = [j == k] direct[j] - w_j dmu[k] (diagonal + rank one per run), so
        # d p_i / d theta_k = own_ik p_i (...) + p_i b_i w_i dmu_k: an outer product plus K diagonal entries.
        direct_c, direct_b, w, dmu_c, dmu_b = allocation_jacobian_factors(x, free, b, self._smooth())
        bm = b[m]
        if obs is not None:
            ii, uu, out, out3 = obs
            mo, po = m[uu], p[ii, uu]
            pbw_o = po * bm[uu] * w[ii, mo]
            r = np.arange(ii.size)
            if out3 is not None:
                # Every run of every eval set: the run's factors broadcast over the eval sets (the same products as
                # the gathers below, without copying dmu_c and dmu_b once per eval set).
                pbw3 = pbw_o.reshape(out3.shape[0], -1, 1)
                np.multiply(pbw3, dmu_c[None], out=out3[:, :, :M])
                np.multiply(pbw3, dmu_b[None], out=out3[:, :, M:])
            else:
                np.multiply(pbw_o[:, None], dmu_c[ii], out=out[:, :M])
                np.multiply(pbw_o[:, None], dmu_b[ii], out=out[:, M:])
            out[r, mo] += po * (1.0 - bm[uu] * direct_c[ii, mo])
            out[r, M + mo] -= po * (logx[ii, uu] + bm[uu] * direct_b[ii, mo])
            return p, None, None
        K = m.size
        k = np.arange(K)
        pbw = (p * bm * w[:, m])[:, :, None]  # (n, K, 1)
        d_lc = pbw * dmu_c[:, None, :]
        d_b = pbw * dmu_b[:, None, :]
        d_lc[:, k, m] += p * (1.0 - bm * direct_c[:, m])
        d_b[:, k, m] -= p * (logx + bm * direct_b[:, m])
        return p, d_lc, d_b

    def _allocate(self, W: np.ndarray, theta: np.ndarray, S: np.ndarray, cache: dict[str, np.ndarray] | None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(x* (n, M), its floor weights, p = c_u x_u*^(-b_u) (n, |U|), log x_u* (n, |U|)) of the term domains U;
        ``cache`` as in :meth:`_capacity_term`."""
        M = W.shape[1]
        m = self._match()  # term domains U
        lc, b = theta[:M], theta[M:2 * M]
        mu0 = log_h = None
        if cache is not None:
            mu0 = cache.get("mu")
            if "log_h" not in cache:
                cache["log_h"], cache["h_pos"] = log_shares(W)
            log_h = (cache["log_h"], cache["h_pos"])
        x, mu, free = solve_allocation(W, lc, b, S, float(self.capacity_floor), mu0=mu0, smooth=self._smooth(),
                                       log_h=log_h)
        if cache is not None:
            cache["mu"] = mu
        logx = np.log(x[:, m])
        return x, free, np.exp(lc[m] - b[m] * logx), logx

    def _capacity_factors(self, W: np.ndarray, theta: np.ndarray, S: np.ndarray, cache: dict[str, np.ndarray],
                          pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """p (n, |U|) and the derivatives of eval set k's capacity term p[:, pos[k]] in (log c, b) as factors:
        ``base`` (n, 2M) = (dmu_c, dmu_b) of each run, ``coef`` (K, n) = p b w of the eval set's domain, and
        ``spike_c``, ``spike_b`` (K, n), the entries at that domain's own log c and b:

        d p_u / d theta = coef * base + spike_c e_{log c_j} + spike_b e_{b_j}   (j = U[pos[k]]),

        the terms :meth:`_capacity_term` adds up per (run, eval set), for a
        :class:`~mixlaw._solver.FactoredSegmentJacobian`."""
        x, free, p, logx = self._allocate(W, theta, S, cache)
        M = W.shape[1]
        b = theta[M:2 * M]
        direct_c, direct_b, w, dmu_c, dmu_b = allocation_jacobian_factors(x, free, b, self._smooth())
        j = self._match()[pos]
        bj = b[j][:, None]
        P = p[:, pos].T  # (K, n)
        coef = P * bj * w[:, j].T
        spike_c = P * (1.0 - bj * direct_c[:, j].T)
        spike_b = -(P * (logx[:, pos].T + bj * direct_b[:, j].T))
        return p, np.concatenate([dmu_c, dmu_b], axis=1), coef, spike_c, spike_b

    def _observed(self, Y: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The fitted entries of an (n, K) array in the order of the model's observations: eval set by eval set
        when every target is matched (:meth:`_segment_model`), else run by run."""
        return Y.T[mask.T] if not self._layout()[1] else Y[mask]

    def _segment_model(self, W: np.ndarray, S: np.ndarray, ctx: FitContext, mask: np.ndarray) -> Any:
        """The model when every target is matched: its Jacobian as a :class:`~mixlaw._solver.SegmentJacobian`.

        Observations are ordered eval set by eval set; eval set k's losses depend on the shared capacities and
        exponents (log c, b: 2M columns) and on its own E_k and data-term parameters only, so the solver's
        Gauss-Newton products cost O(n (2M)^2) instead of O(n p^2). The values equal the dense Jacobian's.
        """
        M, K = W.shape[1], len(self.targets_)
        U, _, pos = self._layout()
        nu = U.size
        sizes, flags = self._extra_sizes(nu), self._extra_shared()
        offs = 2 * M + K + np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        own = [g for g, sh in enumerate(flags) if not sh]
        shared = [g for g, sh in enumerate(flags) if sh]  # one value for every eval set: dense columns
        cols = np.column_stack([2 * M + np.arange(K)] + [offs[g] + pos for g in own])
        dcols = np.concatenate([np.arange(2 * M), [offs[g] for g in shared]]).astype(int)
        kk, ii = np.nonzero(mask.T)  # observed (target, run) pairs, target by target
        uu = pos[kk]
        starts = np.searchsorted(kk, np.arange(K))
        n_obs, G = kk.size, cols.shape[1]
        shape = SegmentJacobian(np.empty((0, n_obs, dcols.size)), np.empty((0, n_obs, G)), dcols, cols, starts,
                                2 * M + K + sum(sizes))
        cache: dict[str, np.ndarray] = {}

        full = bool(mask.all())  # ii is then 0..n-1 for each eval set: _capacity_term broadcasts instead of gathering
        if full and not shared and self._factored_jacobian:
            return self._factored_model(W, S, ctx, cols, own, 2 * M + K + sum(sizes))

        def model(theta: np.ndarray) -> tuple[np.ndarray, SegmentJacobian]:
            dense = np.empty((1, n_obs, dcols.size))
            out3 = dense.reshape(K, -1, dcols.size)[:, :, :2 * M] if full else None  # a view: dense is contiguous
            p, _, _ = self._capacity_term(W, theta, S, True, cache, obs=(ii, uu, dense[0, :, :2 * M], out3))
            extra, d_extra = self._extra_terms(W, theta, ctx, True)
            q = p if extra is None else p + extra
            pred = q[ii, uu] + theta[2 * M + kk]
            vals = np.empty((1, n_obs, G))
            vals[0, :, 0] = 1.0
            d_extra = d_extra or []
            for c, g in enumerate(own):
                vals[0, :, 1 + c] = d_extra[g][ii, uu]
            for c, g in enumerate(shared):
                dense[0, :, 2 * M + c] = d_extra[g][ii, uu]
            return pred, shape.with_values(dense, vals)

        return model

    def _factored_model(self, W: np.ndarray, S: np.ndarray, ctx: FitContext, cols: np.ndarray, own: list[int],
                        n_params: int) -> Any:
        """:meth:`_segment_model` when every (run, eval set) is observed and no extra block is shared: the
        Jacobian as a :class:`~mixlaw._solver.FactoredSegmentJacobian`.

        Eval set k's derivative in the shared (log c, b) is its factor ``p b w`` times the run's (dmu_c, dmu_b),
        plus two entries at its own domain's log c and b (:meth:`_capacity_factors`), so the Gauss-Newton products
        run over the n runs once instead of over the K n observations (measured on RegMix train_1m, 5-fold CV:
        ``bench/auto_regmix_speed.py --parts dz1,dz3``). The same Jacobian as the dense one (a test checks it);
        its products add in another order, so fits move by rounding (CV Spearman / RMSE on RegMix to < 1e-6).
        """
        M, K = W.shape[1], len(self.targets_)
        U, _, pos = self._layout()
        n = W.shape[0]
        fcols = np.column_stack([cols, U[pos], M + U[pos]])  # E and own blocks, then the domain's log c and b
        G = fcols.shape[1]
        dcols = np.arange(2 * M)
        cache: dict[str, np.ndarray] = {}
        kk = np.repeat(np.arange(K), n)
        ii = np.tile(np.arange(n), K)
        uu = pos[kk]

        def model(theta: np.ndarray) -> tuple[np.ndarray, FactoredSegmentJacobian]:
            p, base, coef, spike_c, spike_b = self._capacity_factors(W, theta, S, cache, pos)
            extra, d_extra = self._extra_terms(W, theta, ctx, True)
            q = p if extra is None else p + extra
            pred = q[ii, uu] + theta[2 * M + kk]
            vals = np.empty((1, K, n, G))
            vals[0, :, :, 0] = 1.0
            d_extra = d_extra or []
            for c, g in enumerate(own):
                vals[0, :, :, 1 + c] = d_extra[g][:, pos].T
            vals[0, :, :, G - 2] = spike_c
            vals[0, :, :, G - 1] = spike_b
            return pred, FactoredSegmentJacobian(base[None], coef[None], vals, dcols, fcols, n_params)

        return model

    def _model(self, W: np.ndarray, S: np.ndarray, ctx: FitContext, mask: np.ndarray) -> Any:
        if not self._layout()[1]:
            return self._segment_model(W, S, ctx, mask)
        cache: dict[str, np.ndarray] = {}
        # All entries observed (Eq. 1, safe Eq. 3): reshape is a view; boolean indexing would copy the Jacobian.
        every = bool(mask.all())

        def model(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            pred, J = self._eval(W, theta, S, ctx, jac=True, cache=cache)
            if every:
                return pred.reshape(-1), J.reshape(-1, J.shape[-1])
            return pred[mask], J[mask]

        return model

    def _eval(self, W: np.ndarray, theta: np.ndarray, S: np.ndarray, ctx: FitContext, jac: bool,
              cache: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Predictions (n, K) and, when asked, the Jacobian (n, K, n_params)."""
        M, K = W.shape[1], len(self.targets_)
        p, d_lc, d_b = self._capacity_term(W, theta, S, jac, cache)  # over the term domains U
        extra, d_extra = self._extra_terms(W, theta, ctx, jac)
        q = p if extra is None else p + extra  # excess loss of each term domain, (n, u)
        A = self._composition_matrix(theta)
        E = theta[2 * M:2 * M + K]
        # 0 * inf = 0: a term domain outside a target's composition must not reach it (plain Eq. 3 is +inf at h = 0).
        with np.errstate(invalid="ignore"):
            pred = np.where(A[None, :, :] > 0, q[:, None, :] * A[None, :, :], 0.0).sum(axis=2) + E[None, :]
        if not jac:
            return pred, None
        J = np.zeros(pred.shape + (theta.size,))
        # (K, u) @ (n, u, M): the composition of the term domains' derivatives as one stacked BLAS product; the
        # einsum with optimize=True planned its contraction at every call (on RegMix's objective, one implicit
        # target: 0.32 ms a call against 0.11 ms; Marin's 9 x 39: 16 ms against 0.7 ms).
        J[:, :, :M] = np.matmul(A, d_lc)
        J[:, :, M:2 * M] = np.matmul(A, d_b)
        J[:, np.arange(K), 2 * M + np.arange(K)] = 1.0
        U, implicit, _ = self._layout()
        if d_extra is not None:
            # Block g holds one parameter per term domain u (at its offset + u), or one shared by all of them,
            # whose derivative sums the term domains' through the composition.
            off, nu = 2 * M + K, A.shape[1]
            for dg, sh in zip(d_extra, self._extra_shared(), strict=True):
                if sh:
                    J[:, :, off] = dg @ A.T
                    off += 1
                else:
                    J[:, :, off:off + nu] = dg[:, None, :] * A[None, :, :]
                    off += nu
        oz = self._z_offset(M)
        for a, i in enumerate(implicit):
            # d/dz_u of sum_v softmax(z)_v q_v = s_u (q_u - sum_v s_v q_v).
            J[:, i, oz + a * U.size:oz + (a + 1) * U.size] = A[i][None, :] * (q - (pred[:, i] - E[i])[:, None])
        return pred, J
