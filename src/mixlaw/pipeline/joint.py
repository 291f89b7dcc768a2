r"""The direct route's joint law: one law per eval over mixture, model size and steps, and its fit.

Every eval gets :math:`L_i = E_i + A_i/N^{\alpha_i} + B_i/S^{\beta_i} + k_i e^{z_i(r)}` fitted on all
checkpoints of all small runs (:func:`_fit_joint`), with Ye's mixture exponent :math:`z_i = t_i \cdot r`
(``law="ye-exp"``) or its power-share form :math:`z_i = \sum_j t_{ij} r_j^{\gamma_{ij}}` (``law="ye-pow"``,
:func:`_fit_joint_pow`); at fixed :math:`(N^*, S^*)` it is that mixing law with
:math:`c_i = E_i + A_i/N^{*\alpha_i} + B_i/S^{*\beta_i}` (:class:`~.direct_scales._JointScales`).

**Steps only** (a target at a fitted size, one size in the table: :mod:`.fitting`): the joint law without its
size term, :math:`L_i = E_i + B_i/S^{\beta_i} + k_i e^{z_i(r)}` (one beta per eval, shared by the mixtures),
fitted on every checkpoint at that size; it predicts at that size only. The size term's slots in ``theta``
hold fixed placeholders (:data:`NO_SIZE_TERM`) that the law never reads.

**Sizes only** (a target at the recorded step, one step in the table): its mirror image, the joint law without
its step term, :math:`L_i = E_i + A_i/N^{\alpha_i} + k_i e^{z_i(r)}` (one alpha per eval), fitted on every run at
that step; it predicts at that step only, and the step term's slots hold :data:`NO_STEP_TERM`.

Why the power-share form too: the joint law shares its size and step exponents across mixtures, which keeps
long extrapolations in steps steady (on Ye et al.'s RedPajama runs the 1B runs at 100k steps, fitted on 70M-410M
at 10k-30k: joint+ye-exp 0.79 % against the nested route's 2.4-2.6 %), while Ye's raw-share exponent misses the
diminishing returns of a domain's share that the power transform captures (on their 5-domain runs the nested
route with ye-pow reaches 0.72 %, joint+ye-exp 1.25 %). joint+ye-pow: 0.89 % on RedPajama, 0.81 % on 5Mix
(``bench/ye_public_runs.py``); on Dai & Zheng's sweep, where the nested route is better, 4.58 % against its
1.58 % (``bench/dz_public_runs.py``).

References
----------
Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952: the multi-domain exponential law of domain losses
(the mixture term) and the scaling laws in steps and model size of their nested pipeline, here fitted jointly; the
power transform is mixlaw's (:class:`~mixlaw.laws.YePower`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..fit import FitResult, Param, Params, fit_model, pooling_penalty
from ..laws.ye import T_BOUND
from ..laws.ye_pow import GAMMA_BOUNDS, GAMMA_INIT, power_shares
from ..scaling import ChinchillaLaw, fit_curves, fit_shared_exponents
from ..scaling.units import loss_unit, result_from_unit, theta_in_unit
from .grouping import _mixture_ids

#: Mixing terms the joint law can carry (``law=`` on the direct route, besides a registered size-aware law).
JOINT_LAWS = ("ye-exp", "ye-pow")
#: Partial pooling of the joint ye-pow law's exponents unless ``law_options`` sets ``gamma_pooling``: YePower's
#: default.
JOINT_GAMMA_POOLING = 1.0
#: The joint law's (log A, alpha, log B, beta, log k), after E, and their bounds in every fit (E's: 0 to the
#: largest loss); a saved joint law is checked against them too.
SCALE_NAMES = ("log_A", "alpha", "log_B", "beta", "log_k")
SCALE_BOUNDS = ((-50.0, 120.0), (1e-3, 4.0), (-50.0, 120.0), (1e-3, 4.0), (-30.0, 30.0))
#: (log A, alpha) of a steps-only joint law: fixed, inside the bounds, and never read (no size term).
NO_SIZE_TERM = (SCALE_BOUNDS[0][0], SCALE_BOUNDS[1][0])
#: (log B, beta) of a sizes-only joint law: fixed, inside the bounds, and never read (no step term).
NO_STEP_TERM = (SCALE_BOUNDS[2][0], SCALE_BOUNDS[3][0])


def _joint_width(law: str, M: int) -> int:
    """Parameters of one eval's joint law: (E, log A, alpha, log B, beta, log k), the t's, and for ye-pow the gammas."""
    return 6 + M * (1 if law == "ye-exp" else 2)


def _size_step(theta: np.ndarray, N: Any, S: Any, size_term: bool = True, step_term: bool = True) -> Any:
    """The joint law's :math:`A/N^{\\alpha} + B/S^{\\beta}` from ``theta`` = (E, log A, alpha, log B, beta, ...)
    (without ``size_term``: :math:`B/S^{\\beta}` alone, the steps-only law; without ``step_term``:
    :math:`A/N^{\\alpha}` alone, the sizes-only law)."""
    out = np.exp(theta[3] - theta[4] * np.log(S)) if step_term else 0.0
    return out + np.exp(theta[1] - theta[2] * np.log(N)) if size_term else out


def _z_pow(theta: np.ndarray, W: np.ndarray) -> np.ndarray:
    """The power-share exponent :math:`\\sum_j t_j r_j^{\\gamma_j}` of one eval's joint ye-pow parameters."""
    M = W.shape[1]
    return power_shares(W, theta[6 + M:])[0] @ theta[6:6 + M]


def _z_max(thetas: np.ndarray, mixes: np.ndarray) -> np.ndarray:
    """Largest fitted exponent per eval: the cap :class:`~mixlaw.laws.YePower` puts on a prediction's exponent."""
    return np.array([float(np.max(_z_pow(th, mixes))) for th in thetas])


def _unseen_domains(thetas: np.ndarray, W: np.ndarray) -> np.ndarray:
    """A domain no fitting run has gets gamma 1 and t = the runs' mean exponent, as :class:`~mixlaw.laws.YePower`
    does (its t and gamma are not identified; t = 0 is not neutral, since log k absorbs the exponents' level)."""
    M = W.shape[1]
    unseen = np.flatnonzero(~(W > 0).any(axis=0))
    out = thetas.copy()
    for th in out:
        mean_z = float(np.mean(_z_pow(th, W)))
        th[6 + unseen] = np.clip(mean_z, -T_BOUND, T_BOUND)
        th[6 + M + unseen] = 1.0
    return out

def _domain_names(domains: Sequence[str] | None, M: int) -> list[str]:
    """The joint fits' names for the mixture parameters (``t_<domain>``, ``gamma_<domain>``): a fit's warning
    'parameter at a bound' then names the domain ('t_arxiv at lower bound -30', not 't4 ...')."""
    return list(domains) if domains is not None else [str(j) for j in range(M)]


def _fixed_terms(steps_only: bool, sizes_only: bool) -> tuple[str, ...]:
    """The joint law's parameters held at their placeholders: the size term's (steps only) or the step term's
    (sizes only)."""
    return (("log_A", "alpha") if steps_only else ()) + (("log_B", "beta") if sizes_only else ())


#: The size exponent a sizes-only start takes when the runs cannot fit one (3 sizes, few mixtures at 2 of them):
#: about Chinchilla's (Hoffmann et al. 2022: alpha = 0.34).
START_ALPHA = 0.34


def _size_start(W: np.ndarray, N: np.ndarray, y: np.ndarray, label: str) -> tuple[float, float, float]:
    """(E, log A, alpha) of a size law through one eval's losses at one step: alpha shared by the mixtures, each
    its own E and A (:func:`~mixlaw.scaling.fit_shared_exponents`, as the nested route's stage 2), their medians
    returned. Shared, it runs on 3 sizes (a backtest that holds out the largest of 4), where one law through every
    run would need 4. With the steps ``S`` for ``N`` it is the steps-only start on 3 step values: (E, log B, beta)."""
    _, mix = _mixture_ids(W)
    groups = [np.flatnonzero(mix == m) for m in range(int(mix.max()) + 1)]
    groups = [g for g in groups if np.unique(N[g]).size >= 2]
    # The shared fit has an E and an A per mixture and one alpha: its points must outnumber those, else one law
    # through every run (Dai & Zheng's 4-domain Pile runs at 6B tokens: 23 runs at 3 sizes, but only 2 mixtures at
    # 2 sizes each, 4 points for 5 parameters, stopped the sizes-only direct route).
    if len(groups) < 2 or sum(g.size for g in groups) <= 2 * len(groups) + 1:
        if np.unique(N).size >= 4:
            return tuple(fit_curves([N], [y], names=("log_A", "alpha"), labels=[label])[0].params.array())  # type: ignore[return-value]
        # 3 sizes determine the 3 parameters exactly, which fit_curves refuses: start at START_ALPHA, E and A by
        # least squares (linear once alpha is fixed); the joint fit then frees alpha.
        X = np.column_stack([np.ones_like(N), N ** -START_ALPHA])
        (E, A), *_ = np.linalg.lstsq(X, y, rcond=None)
        return float(E), float(np.log(max(A, 1e-12 * float(np.mean(y) * np.min(N) ** START_ALPHA)))), START_ALPHA
    Eg, lAg, alpha, _ = fit_shared_exponents([([N[g] for g in groups], [y[g] for g in groups])], labels=[label])[0]
    return float(np.median(Eg)), float(np.median(lAg)), float(alpha)


def _fit_joint(W: np.ndarray, N: np.ndarray, S: np.ndarray, y: np.ndarray, ref: int, seed: int,
               label: str, warm: np.ndarray | None = None, *,
               domains: Sequence[str] | None = None, steps_only: bool = False,
               sizes_only: bool = False) -> tuple[FitResult, list[str]]:
    """Fit ``E + A/N^a + B/S^b + exp(log_k + t.r)`` to one eval's losses; returns (result, warning messages).

    ``warm`` (a fitted theta on nearby data) replaces the Chinchilla-fit start and is tried alone first.
    ``steps_only``: no size term (one model size): log A and alpha stay at :data:`NO_SIZE_TERM`, fixed, and the
    start's scale part is one step law fitted through every checkpoint. ``sizes_only``: its mirror, no step term
    (one step count): log B and beta stay at :data:`NO_STEP_TERM`, and the start is one size law through every run.
    Fitted in the unit of the losses (:func:`_in_loss_unit`), E, log A, log B and log k returned in their own."""
    unit, y, warm = _in_loss_unit(y, warm)
    caught: list[warnings.WarningMessage] = []
    if warm is not None and np.all(np.isfinite(warm)):
        # Clipped into this fit's bounds (E's upper bound depends on the data).
        lo = np.array([0.0, *(b[0] for b in SCALE_BOUNDS)])
        hi = np.array([float(y.max()), *(b[1] for b in SCALE_BOUNDS)])
        E2, la, a, lb, b, lk = (float(v) for v in np.clip(warm[:6], lo, hi))
        E, tt = 2 * E2, np.clip(np.asarray(warm[6:], dtype=np.float64), -T_BOUND, T_BOUND)
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if steps_only:
                # 3 step values determine E + B/S^b through every checkpoint exactly, which fit_curves refuses
                # ("need at least 4": one size's curves of 3 checkpoints, or a backtest's curves cut to 3, stopped
                # `pipeline --route direct`): the sizes-only start's mirror there, b shared by the mixtures' curves.
                E, lb, b = (fit_curves([S], [y], labels=[f"joint[{label}] start"])[0].params.array()
                            if np.unique(S).size >= 4 else _size_start(W, S, y, f"joint[{label}] start"))
                la, a = NO_SIZE_TERM
            elif sizes_only:
                E, la, a = _size_start(W, N, y, f"joint[{label}] start")
                lb, b = NO_STEP_TERM
            else:
                ch = ChinchillaLaw(n_restarts=2, random_state=seed).fit(np.column_stack([N, S]), y)
                E, la, a, lb, b = ch.params_.array()
        # Split the constant: half of E goes to the mixture term, whose shape comes from regressing
        # log(y - rest) on the weights (Ye's data-driven start).
        rest = (0.5 * E + (0.0 if steps_only else np.exp(la - a * np.log(N)))
                + (0.0 if sizes_only else np.exp(lb - b * np.log(S))))
        excess = np.clip(y - rest, 1e-3 * y, None)
        beta_w, *_ = np.linalg.lstsq(W, np.log(excess), rcond=None)
        lk = float(np.clip(beta_w[ref], -29, 29))
        tt = np.clip(beta_w - beta_w[ref], -T_BOUND + 1, T_BOUND - 1)
    if steps_only:
        la, a = NO_SIZE_TERM
    if sizes_only:
        lb, b = NO_STEP_TERM
    fixed = _fixed_terms(steps_only, sizes_only)
    ps = [Param("E", 0.5 * E, 0.5 * E, 0.0, float(y.max()))]
    ps += [Param(n, v, v, *bd, vary=n not in fixed)
           for n, v, bd in zip(SCALE_NAMES, (la, a, lb, b, lk), SCALE_BOUNDS, strict=True)]
    ps += [Param(f"t_{d}", 0.0 if j == ref else float(tt[j]), 0.0 if j == ref else float(tt[j]), -T_BOUND, T_BOUND,
                 vary=j != ref) for j, d in enumerate(_domain_names(domains, W.shape[1]))]
    spec = Params(ps)
    logN, logS = np.log(N), np.log(S)

    on = 0.0 if steps_only else 1.0  # the size term, off in the steps-only law
    on_s = 0.0 if sizes_only else 1.0  # the step term, off in the sizes-only law

    def model(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tn = on * np.exp(theta[1] - theta[2] * logN)
        ts = on_s * np.exp(theta[3] - theta[4] * logS)
        e = np.exp(theta[5] + W @ theta[6:])
        jac = np.empty((y.size, theta.size))
        jac[:, 0] = 1.0
        jac[:, 1], jac[:, 2] = tn, -tn * logN
        jac[:, 3], jac[:, 4] = ts, -ts * logS
        jac[:, 5] = e
        jac[:, 6:] = e[:, None] * W
        return theta[0] + tn + ts + e, jac

    with warnings.catch_warnings(record=True) as caught2:
        warnings.simplefilter("always")
        fr = fit_model(model, spec, y, n_starts=3, rng=np.random.default_rng(seed), label=f"joint[{label}]",
                       warm_start=None if warm is None else spec.array())
    return result_from_unit(fr, unit), [str(w.message) for w in [*caught, *caught2]]


#: The joint law's leading parameters, in theta's order: E, log A, log B and log k carry the losses' unit.
_UNIT_NAMES = ("E", *SCALE_NAMES)


def _in_loss_unit(y: np.ndarray, warm: np.ndarray | None) -> tuple[float, np.ndarray, np.ndarray | None]:
    """(unit, losses in it, warm start in it): the joint fits run on losses of median in [1, 10) when theirs lies
    outside :data:`~mixlaw.laws.units.LOSS_UNIT_RANGE` (:mod:`mixlaw.scaling.units`: the engine's tests are absolute
    in E and the log coefficients; a table x 1e9 moved the direct route's predictions by 4.1 %), as they are
    otherwise. The placeholders of a term the law does not have move with their bounds, as the fitted ones."""
    unit = loss_unit(y)
    if unit == 1.0:
        return unit, y, warm
    if warm is not None:
        warm = np.concatenate([theta_in_unit(np.asarray(warm[:6], dtype=np.float64), list(_UNIT_NAMES), unit),
                               np.asarray(warm[6:], dtype=np.float64)])
    return unit, y / unit, warm


def _fit_joint_pow(W: np.ndarray, N: np.ndarray, S: np.ndarray, y: np.ndarray, ref: int, seed: int,
                   label: str, warm: np.ndarray | None = None, *, pooling: float = JOINT_GAMMA_POOLING,
                   domains: Sequence[str] | None = None, steps_only: bool = False,
                   sizes_only: bool = False) -> tuple[FitResult, list[str]]:
    """Fit ``E + A/N^a + B/S^b + exp(log_k + sum_j t_j r_j^gamma_j)`` to one eval's losses.

    Two starts, the better fit kept: the joint ye-exp fit with every gamma = 1 (the same law there, so the fit's
    objective is at most ye-exp's) and :class:`~mixlaw.laws.YePower`'s start, every gamma at ``GAMMA_INIT`` with
    (log k, t) regressed on the powered shares, over the ye-exp fit's size and step terms (:func:`_pow_start`).
    The first alone sat at gamma ~ 1 on one eval in three of the synthetic worlds of
    ``tests/test_pipeline_direct_pow.py`` (t ~ 27 and log k ~ -28: the flat direction of the raw-share exponent,
    at 15-20x the target error of the other evals). ``warm`` (a fitted theta on nearby data) replaces both
    and is tried alone first. The exponents are partially pooled toward their mean with strength ``pooling``
    (YePower's ``gamma_pooling``, from ``law_options``; default :data:`JOINT_GAMMA_POOLING`, YePower's). A domain
    no run has keeps t = 0 in the fit (its column is all zero: nothing to fit), and its gamma follows the others'
    mean (:func:`_unseen_domains` sets both afterwards). ``steps_only``, ``sizes_only`` as in :func:`_fit_joint`."""
    M = W.shape[1]
    unit, y, warm = _in_loss_unit(y, warm)
    msgs: list[str] = []
    others: list[np.ndarray] = []
    if warm is not None and np.all(np.isfinite(warm)):
        start = np.asarray(warm, dtype=np.float64)
        start = np.concatenate([start[:6], np.clip(start[6:6 + M], -T_BOUND, T_BOUND),
                                np.clip(start[6 + M:], *GAMMA_BOUNDS)])
    else:
        fe, msgs = _fit_joint(W, N, S, y, ref, seed, label, domains=domains, steps_only=steps_only,
                              sizes_only=sizes_only)
        start = np.concatenate([fe.params.array(), np.ones(M)])
        others.append(_pow_start(start[:6], W, N, S, y, size_term=not steps_only, step_term=not sizes_only))
    seen = (W > 0).any(axis=0)
    start[6:6 + M] = np.where(seen, start[6:6 + M], 0.0)
    start[6 + M:] = np.where(seen, start[6 + M:], 1.0)
    names = ("E", *SCALE_NAMES)
    bounds = ((0.0, float(y.max())), *SCALE_BOUNDS)
    if steps_only:
        start[1:3] = NO_SIZE_TERM
    if sizes_only:
        start[3:5] = NO_STEP_TERM
    fixed = _fixed_terms(steps_only, sizes_only)
    ps = [Param(n, float(np.clip(v, *b)), float(np.clip(v, *b)), *b, vary=n not in fixed)
          for n, v, b in zip(names, start[:6], bounds, strict=True)]
    ps += [Param(f"t_{d}", float(start[6 + j]), float(start[6 + j]), -T_BOUND, T_BOUND, vary=bool(seen[j]))
           for j, d in enumerate(_domain_names(domains, M))]
    # An unseen domain's gamma varies: its column is all zero, so only the pooling penalty moves it, to the mean
    # of the others. Fixed at 1 it would sit in that mean and pull every fitted gamma toward 1 (0.40 -> 0.41 / 0.58
    # / 0.64 in a 3-domain world with gamma 0.4 plus one unseen domain).
    ps += [Param(f"gamma_{d}", float(start[6 + M + j]), float(start[6 + M + j]), *GAMMA_BOUNDS)
           for j, d in enumerate(_domain_names(domains, M))]
    spec = Params(ps)
    logN, logS = np.log(N), np.log(S)
    pos = W > 0
    logw = np.log(np.where(pos, W, 1.0))

    on = 0.0 if steps_only else 1.0  # the size term, off in the steps-only law
    on_s = 0.0 if sizes_only else 1.0  # the step term, off in the sizes-only law

    def model(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tn = on * np.exp(theta[1] - theta[2] * logN)
        ts = on_s * np.exp(theta[3] - theta[4] * logS)
        t, g = theta[6:6 + M], theta[6 + M:]
        R = np.where(pos, np.exp(g * logw), 0.0)
        e = np.exp(theta[5] + R @ t)
        jac = np.empty((y.size, theta.size))
        jac[:, 0] = 1.0
        jac[:, 1], jac[:, 2] = tn, -tn * logN
        jac[:, 3], jac[:, 4] = ts, -ts * logS
        jac[:, 5] = e
        jac[:, 6:6 + M] = e[:, None] * R
        jac[:, 6 + M:] = e[:, None] * t[None, :] * R * logw  # d r^g / dg = r^g log r (0 at r = 0)
        return theta[0] + tn + ts + e, jac

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fr = fit_model(model, spec, y, n_starts=3, rng=np.random.default_rng(seed), label=f"joint+ye-pow[{label}]",
                       penalty=pooling_penalty(pooling, start=6 + M),
                       starts=np.array([spec.array(), *others]) if others else None,
                       warm_start=None if others else spec.array())
    return result_from_unit(fr, unit), msgs + [str(w.message) for w in caught]


def _pow_start(scale: np.ndarray, W: np.ndarray, N: np.ndarray, S: np.ndarray, y: np.ndarray,
               size_term: bool = True, step_term: bool = True) -> np.ndarray:
    """YePower's data-driven start inside the joint law: every gamma at ``GAMMA_INIT``, (log k, t) from regressing
    log(y - E - A/N^alpha - B/S^beta) on [1, r^gamma] with ``scale`` = (E, log A, alpha, log B, beta) of the joint
    ye-exp fit (an intercept: the powered shares do not sum to 1; a domain no run has gets t = 0, the min-norm
    solution)."""
    M = W.shape[1]
    excess = np.clip(y - scale[0] - _size_step(scale, N, S, size_term, step_term), 1e-3 * y, None)
    R, _ = power_shares(W, np.full(M, GAMMA_INIT))
    beta, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(y)), R]), np.log(excess), rcond=None)
    return np.concatenate([scale[:5], [np.clip(beta[0], -29.0, 29.0)],
                           np.clip(beta[1:], -T_BOUND + 1, T_BOUND - 1), np.full(M, GAMMA_INIT)])
