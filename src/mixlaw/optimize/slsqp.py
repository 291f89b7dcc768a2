"""One SLSQP run over the free weights of a mixture: :class:`_Free` (the weights not fixed, their bounds and the
sum they share, and the multistart's start points) and :func:`_solver` (the minimised objective with its gradient,
or ``max`` in epigraph form, plus any extra linear constraints with slack variables, as the trust radius's L1 balls
take them: :mod:`.balls`). The multistart search (:mod:`.search`) and the branch and bound over the balls both run it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from .constraints import project_box_simplex
from .objective import FD_STEP, _LawEval


@dataclass
class _Free:
    """The free part of a mixture: the searches move only the weights not fixed, within their bounds, summing to
    what the fixed ones leave."""

    fixed_values: np.ndarray  # (M,) the fixed weights in place (0 where free)
    F: np.ndarray  # indices of the free weights
    lo: np.ndarray  # their lower bounds
    hi: np.ndarray  # their upper bounds
    rem: float  # their sum: 1 - the fixed weights
    limits: str = "the bounds"  # what set lo, hi and the fixed weights, as errors name it (_limits_said)

    def full(self, x: np.ndarray) -> np.ndarray:
        """The whole mixture with free weights ``x``."""
        r = self.fixed_values.copy()
        r[self.F] = x
        return r

    def full_rows(self, X: np.ndarray) -> np.ndarray:
        """:meth:`full` of each row of ``X``."""
        R = np.tile(self.fixed_values, (len(X), 1))
        R[:, self.F] = X
        return R

    def starts(self, n: int, offset: int, nat: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
        """Start points ``offset`` .. ``offset + n - 1``: the natural mixture first, then seeded Dirichlet draws,
        each projected on the feasible set."""
        out = []
        for k in range(offset, offset + n):
            y = nat[self.F] if k == 0 else rng.dirichlet(np.ones(self.F.size)) * self.rem
            out.append(project_box_simplex(y.astype(np.float64), self.lo, self.hi, self.rem))
        return out


def _solver(ev: _LawEval, scalar: Callable[[np.ndarray], float], name: str, s: np.ndarray | None, free: _Free,
            extra: list[dict] | None = None, aux_start: Callable[[np.ndarray], np.ndarray] | None = None
            ) -> Callable[[np.ndarray], tuple[np.ndarray, float, bool]]:
    """One SLSQP run from x0 over the free weights; returns (feasible x, objective, converged). ``aux_start``:
    the ``extra`` constraints also take slack variables, appended last (bounds [0, inf), start ``aux_start(x0)``)."""
    full, F, lo, hi, rem = free.full, free.F, free.lo, free.hi, free.rem
    n = F.size
    n_aux = 0 if aux_start is None else n
    aux_bounds = [(0.0, None)] * n_aux

    def with_aux(v0: np.ndarray, x0: np.ndarray) -> np.ndarray:
        return v0 if aux_start is None else np.concatenate([v0, aux_start(x0)])
    eq = {"type": "eq", "fun": lambda x: np.array([x[:n].sum() - rem]),
          "jac": lambda x: np.concatenate([np.ones(n), np.zeros(x.size - n)])[None, :]}
    opts = {"maxiter": 1000, "ftol": 1e-13}

    if name == "max":
        # Epigraph: min z s.t. z - L_i(r) >= 0; smooth, and convex whenever every L_i is.
        def cons(v: np.ndarray) -> np.ndarray:
            return v[n] - ev.predict(full(v[:n])[None, :])[0]

        def cons_jac(v: np.ndarray) -> np.ndarray:
            _, J = ev.value_jac(full(v[:n]))
            return np.hstack([-J[:, F], np.ones((J.shape[0], 1)), np.zeros((J.shape[0], n_aux))])

        def run(x0: np.ndarray) -> tuple[np.ndarray, float, bool]:
            z0 = float(np.max(ev.predict(full(x0)[None, :])[0]))
            v0 = with_aux(np.append(x0, z0), x0)
            with np.errstate(over="ignore", invalid="ignore"):
                res = minimize(lambda v: v[n], v0, jac=lambda v: np.eye(1, v.size, n)[0], method="SLSQP",
                               bounds=list(zip(lo, hi, strict=True)) + [(None, None)] + aux_bounds,
                               constraints=[eq, {"type": "ineq", "fun": cons, "jac": cons_jac}, *(extra or [])],
                               options=opts)
            x = project_box_simplex(res.x[:n], lo, hi, rem)
            return x, scalar(ev.predict(full(x)[None, :])[0]), bool(res.success)

        return run

    if s is not None:
        def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
            L, J = ev.value_jac(full(x))
            return float(s @ L), (s @ J)[F]
    else:
        def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
            r = full(x)
            f0 = scalar(ev.predict(r[None, :])[0])
            g = np.empty(n)
            for k, j in enumerate(F):  # finite differences of a user callable, one coordinate at a time
                h = FD_STEP
                rp = r.copy()
                rp[j] += h
                if r[j] >= h:
                    rm = r.copy()
                    rm[j] -= h
                    g[k] = (scalar(ev.predict(rp[None, :])[0]) - scalar(ev.predict(rm[None, :])[0])) / (2 * h)
                else:
                    g[k] = (scalar(ev.predict(rp[None, :])[0]) - f0) / h
            return f0, g

    def safe(x: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(over="ignore", invalid="ignore"):
            f, g = fun(x)
        if not np.isfinite(f) or not np.all(np.isfinite(g)):
            return 1e30, np.zeros(n)
        return f, g

    def safe_v(v: np.ndarray) -> tuple[float, np.ndarray]:  # the slacks (last n_aux entries) are not in f
        f, g = safe(v[:n])
        return f, np.concatenate([g, np.zeros(n_aux)])

    def run(x0: np.ndarray) -> tuple[np.ndarray, float, bool]:
        res = minimize(safe_v, with_aux(x0, x0), jac=True, method="SLSQP",
                       bounds=list(zip(lo, hi, strict=True)) + aux_bounds, constraints=[eq, *(extra or [])],
                       options=opts)
        x = project_box_simplex(np.asarray(res.x[:n], dtype=np.float64), lo, hi, rem)
        f = safe(x)[0]
        return x, f, bool(res.success) and f < 1e29

    return run
