"""The batched step and size stages: many saturating power-law curves fitted in one solve (DESIGN.md §6).

:func:`fit_curves` fits :math:`L_g(x) = E_g + B_g / x^{\\beta_g}` to every curve g at once and
:func:`fit_shared_exponents` fits groups of curves that share one exponent, several groups at once. Both search
the exponent by variable projection (for a fixed exponent the law is linear in E and B, so each grid point is
a weighted least-squares solve, Golub & Pereyra 1973) and then run one batched Levenberg-Marquardt solve
(:func:`mixlaw.fit.fit_models`); a group of :data:`PROFILE_MIN_CURVES` curves or more profiles its exponent out
instead (:mod:`.shared_profile`: one joint solve would cost n G^2 per iteration). This module also owns the
bounds and the exponent grid that every scaling law uses. The nested pipeline fits hundreds of curves per
stage, which is why these are batched.

References
----------
Golub & Pereyra, "The differentiation of pseudo-inverses and nonlinear least squares problems whose
variables separate", SIAM J. Numer. Anal., 1973. Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952,
§4 (step and size laws of the nested pipeline).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from ..fit import HUBER_DELTA, FitResult, Param, Params, fit_models
from .shared_profile import fit_shared_profile
from .units import loss_unit, result_from_unit

#: Bounds of the fitted exponents. 4 is far above any exponent reported for LMs (0.05-0.8) and keeps
#: x^-a finite; 1e-3 keeps the term from degenerating into a constant that trades off against E.
EXPONENT_BOUNDS = (1e-3, 4.0)
#: Bounds of log A / log B: A = N^alpha L_excess spans ~e^-10 .. e^90 for N up to 1e12 and alpha up to 4.
LOG_COEF_BOUNDS = (-50.0, 120.0)
#: Exponent grid of the data-driven starts (log-spaced; the usual range of LM scaling exponents and beyond).
EXPONENT_GRID = np.geomspace(0.01, 3.0, 25)
#: From this many curves per shared exponent on, :func:`fit_shared_exponents` profiles the exponent out
#: (:mod:`.shared_profile`) instead of one Levenberg-Marquardt solve in 2G + 1 parameters, whose cost grows as G^2:
#: measured on curves of 10 checkpoints, 3 eval sets, the joint solve takes 0.26 / 0.88 / 1.90 s at G = 85 / 100 /
#: 130 and the profile 0.51 / 0.59 / 0.66 s (53 s against 2.4 s at G = 512, 2 eval sets); both reach the same
#: optimum (exponents within 1e-7, equal objectives and standard errors), so below the crossover nothing changes.
PROFILE_MIN_CURVES = 96


def _pad(xs: list[np.ndarray], ys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Curves of different lengths as (G, L) arrays: log x, y and a 0/1 weight (0 = padding)."""
    G, L = len(xs), max(x.size for x in xs)
    logX, Y, Wt = np.zeros((G, L)), np.ones((G, L)), np.zeros((G, L))
    for g, (x, y) in enumerate(zip(xs, ys, strict=True)):
        logX[g, :x.size], Y[g, :y.size], Wt[g, :x.size] = np.log(x), y, 1.0
    return logX, Y, Wt


def _ls2(logX: np.ndarray, Y: np.ndarray, Wt: np.ndarray, a: np.ndarray
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Variable projection: for each exponent ``a`` (shape (A,)) and curve, the weighted least-squares (E, B) of
    ``E + B x^-a`` (weights 1/y: relative residuals ~ log residuals near a fit), unconstrained.

    Returns E, B of shape (A, G), the basis x^-a of shape (A, G, L) and the squared weights (G, L).
    """
    w2 = (Wt / Y) ** 2
    F = np.exp(-a[:, None, None] * logX[None])  # (A, G, L)
    s00 = w2.sum(axis=1)[None]
    s01 = (w2 * F).sum(axis=2)
    s11 = (w2 * F * F).sum(axis=2)
    t0 = (w2 * Y).sum(axis=1)[None]
    t1 = (w2 * F * Y).sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        det = s00 * s11 - s01 * s01
        E = (s11 * t0 - s01 * t1) / det
        B = (s00 * t1 - s01 * t0) / det
        # A negative E is refitted with E = 0 (its bound), as :meth:`_PowerSum._grid_starts` does.
        neg = E < 0
        E = np.where(neg, 0.0, E)
        B = np.where(neg, t1 / s11, B)
    return E, B, F, w2


def _projected_coefs(logX: np.ndarray, Y: np.ndarray, Wt: np.ndarray, a: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_ls2` with E <= max(y) and the weighted sum of squares, inf outside the law's domain (B <= 0)."""
    E, B, F, w2 = _ls2(logX, Y, Wt, a)
    E = np.minimum(E, Y.max(axis=1, where=Wt > 0, initial=-np.inf)[None])
    with np.errstate(invalid="ignore", over="ignore"):
        sse = np.sum(w2 * (E[:, :, None] + B[:, :, None] * F - Y) ** 2, axis=2)
    sse = np.where(np.isfinite(sse) & (B > 0) & np.isfinite(E), sse, np.inf)
    return E, B, sse


def _curves_model(logX: np.ndarray) -> Any:
    def model(theta: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lx = logX[rows]
        term = np.exp(theta[:, 1:2] - theta[:, 2:3] * lx)
        jac = np.empty(lx.shape + (3,))
        jac[:, :, 0] = 1.0
        jac[:, :, 1] = term
        jac[:, :, 2] = -term * lx
        return theta[:, :1] + term, jac

    return model


def fit_curves(xs: list[np.ndarray], ys: list[np.ndarray], *, names: tuple[str, str] = ("log_B", "beta"),
               n_restarts: int = 2, loss: str = "huber", huber_delta: float = HUBER_DELTA,
               labels: list[str] | None = None) -> list[FitResult]:
    """Fit :math:`L_g(x) = E_g + B_g / x^{\\beta_g}` to every curve ``g`` at once (the step and size stages).

    Each curve is its own problem (the :class:`StepLaw` / :class:`SizeLaw` objective), but all are solved
    together: the exponent grid is searched for every curve at once by variable projection (for a fixed
    exponent the law is linear in E and B, so each grid point is a 2x2 weighted least-squares solve,
    Golub & Pereyra 1973), and the ``n_restarts`` best grid points of every curve start one batched
    Levenberg-Marquardt solve (:func:`mixlaw.fit.fit_models`) on the Huber log-residual objective.

    Parameters
    ----------
    xs, ys : list of ndarray
        Scale values (> 0) and losses (> 0) of each curve; a curve needs at least 4 distinct x.
    names : (str, str)
        Names of the coefficient and exponent parameters (``("log_A", "alpha")`` for size curves).

    Returns
    -------
    list of FitResult
        One per curve: parameters ``E``, ``names[0]``, ``names[1]``; residuals on the curve's own points.

    References
    ----------
    Golub & Pereyra, "The differentiation of pseudo-inverses and nonlinear least squares problems whose
    variables separate", SIAM J. Numer. Anal., 1973 (variable projection).
    """
    xs = [np.asarray(x, dtype=np.float64).ravel() for x in xs]
    ys = [np.asarray(y, dtype=np.float64).ravel() for y in ys]
    # Each curve in the unit of its losses (:mod:`.units`: the engine's tests are absolute in E and log B).
    units = [loss_unit(y) for y in ys]
    ys = [y if u == 1.0 else y / u for y, u in zip(ys, units, strict=True)]
    logX, Y, Wt = _pad(xs, ys)
    # Distinct x per curve, all curves at once (padding sorts last as +inf and is not counted).
    srt = np.full(logX.shape, np.inf)
    for g, x in enumerate(xs):
        srt[g, :x.size] = x
    srt.sort(axis=1)
    distinct = np.isfinite(srt[:, 0]) + np.sum((srt[:, 1:] != srt[:, :-1]) & np.isfinite(srt[:, 1:]), axis=1)
    for g in np.flatnonzero(distinct <= 3):
        raise InputError(f"{(labels or [''] * len(xs))[g] or 'curve'}: the law E + B/x^b has 3 parameters; "
                         f"got {int(distinct[g])} distinct x value(s), need at least 4")
    E, B, sse = _projected_coefs(logX, Y, Wt, EXPONENT_GRID)
    specs, starts = [], []
    # The n_restarts best grid exponents of every curve (all curves at once), their (E, log B) by projection.
    orders = np.argsort(sse, axis=0, kind="stable")[:max(1, int(n_restarts))]  # (n_restarts, G)
    cols = np.arange(len(xs))
    with np.errstate(divide="ignore", invalid="ignore"):
        grid_st = np.stack([E[orders, cols], np.clip(np.log(B[orders, cols]), *LOG_COEF_BOUNDS),
                            EXPONENT_GRID[orders]], axis=2)  # (n_restarts, G, 3)
    valid = np.isfinite(sse[orders, cols])
    ymax = Y.max(axis=1, where=Wt > 0, initial=-np.inf)
    grid_st[:, :, 0] = np.clip(grid_st[:, :, 0], 0.0, ymax)
    for g in range(len(xs)):
        st = grid_st[valid[:, g], g]
        if st.shape[0] == 0:  # nothing on the grid is a valid law: a neutral start, the engine decides
            y0 = float(ys[g].min())
            st = np.array([[0.5 * y0, float(np.log(0.5 * y0) + 0.3 * np.median(np.log(xs[g]))), 0.3]])
            st[:, 0] = np.clip(st[:, 0], 0.0, float(ys[g].max()))
        starts.append(st)
        specs.append(Params([Param("E", float(st[0, 0]), float(st[0, 0]), 0.0, float(ys[g].max())),
                             Param(names[0], float(st[0, 1]), float(st[0, 1]), *LOG_COEF_BOUNDS),
                             Param(names[1], float(st[0, 2]), float(st[0, 2]), *EXPONENT_BOUNDS)]))
    model = _curves_model(logX)
    res = fit_models(None, specs, list(Y), starts=starts, sample_weights=list(Wt),
                     batch_model=model, loss=loss, huber_delta=huber_delta, labels=labels, _warn=False)
    return [result_from_unit(r, u) for r, u in zip(res, units, strict=True)]


def fit_shared_exponents(problems: list[tuple[list[np.ndarray], list[np.ndarray]]], *, loss: str = "huber",
                         huber_delta: float = HUBER_DELTA, labels: list[str] | None = None
                         ) -> list[tuple[np.ndarray, np.ndarray, float, FitResult]]:
    """:func:`fit_shared_exponent` for several problems (e.g. one per eval set) in one batched solve.

    Problems with the same curve lengths share one exponent search (variable projection over the exponent
    grid: per curve, (E_g, A_g) by weighted least squares) and one Levenberg-Marquardt solve; others are
    solved in groups of equal shape.

    Returns
    -------
    list of (E, log_A, a, FitResult), one per problem, as :func:`fit_shared_exponent`.
    """
    labels = labels or ["shared exponent"] * len(problems)
    out: dict[int, tuple[np.ndarray, np.ndarray, float, FitResult]] = {}
    shapes: dict[tuple[int, ...], list[int]] = {}
    for i, (xs, ys) in enumerate(problems):
        G = len(xs)
        n = sum(np.size(x) for x in xs)
        # Said here, by curve and point: a NaN or non-positive loss read "parameter 'E1': min=0.0 must be < max=nan"
        # or "init=-1.0 lies outside its bounds", a zero or NaN x "no exponent gave a finite objective".
        for g, (x, y) in enumerate(zip(xs, ys, strict=True)):
            x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
            for name, v in (("x", x), ("loss", y)):
                bad = np.flatnonzero(~(np.isfinite(v) & (v > 0)))
                if bad.size:
                    raise InputError(f"{labels[i]}: curve {g} has {name} {v[bad[0]]:g} (point {int(bad[0])}); every "
                                     "x and loss must be a positive finite number")
        if any(np.unique(x).size < 2 for x in xs) or n <= 2 * G + 1:
            # Said with its arithmetic: Dai & Zheng's 4-domain Pile runs (16 curves of 2 checkpoints at 90M) read
            # "32 points ... too few for 33 parameters (each curve needs >= 2 distinct x values)", which they had.
            raise InputError(f"{labels[i]}: {G} curve(s) with {n} points in all are too few for {2 * G + 1} "
                             "parameters (E and A per curve, one shared exponent: the points must outnumber them, "
                             "so curves of 2 checkpoints each are not enough; each curve needs >= 2 distinct x "
                             "values)")
        shapes.setdefault(tuple(np.size(x) for x in xs), []).append(i)
    # Each problem in the unit of its losses (:mod:`.units`), its E_g and log A_g mapped back after.
    units = [loss_unit(np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in ys])) for _, ys in problems]
    fitted = [(xs, ys) if u == 1.0 else (xs, [np.asarray(v, dtype=np.float64) / u for v in ys])
              for (xs, ys), u in zip(problems, units, strict=True)]
    for idx in shapes.values():
        out.update(zip(idx, _shared_group([fitted[i] for i in idx], loss, huber_delta, [labels[i] for i in idx]),
                       strict=True))
    return [out[i] if units[i] == 1.0 else
            (out[i][0] * units[i], out[i][1] + np.log(units[i]), out[i][2], result_from_unit(out[i][3], units[i]))
            for i in range(len(problems))]


def _shared_group(problems: list[tuple[list[np.ndarray], list[np.ndarray]]], loss: str, huber_delta: float,
                  labels: list[str]) -> list[tuple[np.ndarray, np.ndarray, float, FitResult]]:
    G = len(problems[0][0])
    sizes = [np.size(x) for x in problems[0][0]]
    g_idx = np.repeat(np.arange(G), sizes)
    logx = np.array([np.concatenate([np.log(np.asarray(x, float).ravel()) for x in xs]) for xs, _ in problems])
    y = np.array([np.concatenate([np.asarray(v, float).ravel() for v in ys]) for _, ys in problems])
    specs, padded, grid_starts = [], [], []
    for xs, ys in problems:
        lX, Yp, Wt = _pad([np.asarray(x, float).ravel() for x in xs], [np.asarray(v, float).ravel() for v in ys])
        # Per-curve (E_g, A_g) clipped to E_g in [0, min y_g], A_g > 0 at every grid exponent; the exponent with
        # the smallest total weighted sum of squares starts the solve.
        E, A, F, w2 = _ls2(lX, Yp, Wt, EXPONENT_GRID)
        E = np.clip(np.nan_to_num(E), 0.0, Yp.min(axis=1, where=Wt > 0, initial=np.inf)[None])
        A = np.maximum(np.nan_to_num(A), 1e-12)
        sse = np.sum(w2 * (E[:, :, None] + A[:, :, None] * F - Yp) ** 2, axis=(1, 2))
        b = int(np.argmin(sse))
        logA = np.clip(np.log(A), *LOG_COEF_BOUNDS)
        padded.append((lX, Yp, Wt))
        grid_starts.append(np.stack([E, logA], axis=-1))  # (grid, G, 2): the profile's starts at every exponent
        a0, E0, la0 = float(EXPONENT_GRID[b]), E[b], logA[b]
        ps = [Param("a", a0, a0, *EXPONENT_BOUNDS)]
        ps += [Param(f"E{g}", float(E0[g]), float(E0[g]), 0.0, float(np.max(ys[g]))) for g in range(G)]
        ps += [Param(f"log_A{g}", float(la0[g]), float(la0[g]), *LOG_COEF_BOUNDS) for g in range(G)]
        specs.append(Params(ps))
    if G >= PROFILE_MIN_CURVES:
        LX, Y, Wt = (np.array([p[i] for p in padded]) for i in range(3))
        return fit_shared_profile(LX, Y, Wt, specs, loss, huber_delta, labels, EXPONENT_GRID,
                                  np.stack(grid_starts, axis=1), EXPONENT_BOUNDS, LOG_COEF_BOUNDS)
    n = y.shape[1]
    ar = np.arange(n)

    def model(theta: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lx = logx[rows]
        term = np.exp(theta[:, 1 + G + g_idx] - theta[:, :1] * lx)
        jac = np.zeros((theta.shape[0], n, theta.shape[1]))
        jac[:, :, 0] = -term * lx
        jac[:, ar, 1 + g_idx] = 1.0
        jac[:, ar, 1 + G + g_idx] = term
        return theta[:, 1 + g_idx] + term, jac

    res = fit_models(None, specs, list(y), n_starts=1, batch_model=model, loss=loss,
                     huber_delta=huber_delta, labels=labels, _warn=False)
    out = []
    for r in res:
        v = r.params.array()
        out.append((v[1:1 + G], v[1 + G:], float(v[0]), r))
    return out


__all__ = ["fit_curves", "fit_shared_exponents", "EXPONENT_GRID", "EXPONENT_BOUNDS", "LOG_COEF_BOUNDS"]
