r"""The direct route: one law with model size (and steps) as inputs predicts the target scale in one fit.

Without a registered size-aware law, every eval gets the joint law
:math:`L_i = E_i + A_i/N^{\alpha_i} + B_i/S^{\beta_i} + k_i e^{t_i \cdot r}` fitted on all checkpoints of all
small runs (:func:`_fit_joint`); at fixed :math:`(N^*, S^*)` it is Ye's exponential law, which is returned as the
mixing law. A registered law that takes N (``dz-eq1``, maybe D: ``dz-eq3``) is fitted as is
(:func:`_direct_registered`, Dai & Zheng Eq. 1).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from ..data import RunTable
from ..errors import ExtrapolationWarning, InputError
from ..fit import FitResult, Param, Params, fit_model
from ..laws.base import MixingLaw, get_law, law_from_dict
from ..laws.ye import T_BOUND
from ..scaling import ChinchillaLaw
from .result import PipelineResult, StageQuality, _check_mixing_law, _first_runs, _mixture_ids, _Target


def _direct(table: RunTable, at: _Target, law: str, names: list[str], rng: np.random.Generator,
            law_options: dict[str, Any], msgs: list[str]) -> PipelineResult:
    W, Y = table.weights, table.losses(names)
    N, S = table.model_params, (table.steps if at.axis == "step" else table.tokens)
    assert N is not None and S is not None
    Nt, St, sym = at.params, at.time, at.symbol
    mixes, inv = _mixture_ids(W)
    sizes = np.unique(N)
    probe = get_law(law, **law_options)
    if probe.uses_model_params:
        return _direct_registered(table, at, law, names, rng, law_options, msgs, mixes, inv)
    if sizes.size < 3:
        raise InputError(f"the direct joint law has a size term A/N^alpha (with E: 3 parameters); the data has "
                         f"{sizes.size} model size(s); need at least 3")
    if np.unique(S).size < 3:
        raise InputError(f"the direct joint law has a term B/{sym}^beta; the data has {np.unique(S).size} distinct "
                         f"{at.axis} value(s); need at least 3")
    if law != "ye-exp":
        msgs.append(f"law {law!r} takes no model size: the direct route used its joint law with Ye's mixture term")
    t0 = time.perf_counter()
    ref = int(np.argmax(mixes.mean(axis=0)))
    res: list[np.ndarray] = []
    nwarn = 0
    local = ["c", "log_k"] + [f"t_{d}" for d in table.domains]
    seed = int(rng.integers(2**31))
    thetas: list[np.ndarray] = []
    for k, t in enumerate(names):
        fr, extra = _fit_joint(W, N, S, Y[:, k], ref, seed, t)
        nwarn += extra + len(fr.warnings)
        res.append(np.exp(fr.residuals) - 1.0)
        thetas.append(fr.params.array())
    stage = StageQuality.from_residuals(
        "joint", f"L_i = E_i + A_i/N^alpha_i + B_i/{sym}^beta_i + k_i exp(t_i . r) per eval on all checkpoints",
        res, nwarn, time.perf_counter() - t0, list(names))
    w_range = [mixes.min(axis=0).tolist(), mixes.max(axis=0).tolist()]

    def at_time(T: float) -> tuple[MixingLaw, dict[str, Any]]:
        """Ye's law at (N*, T): c_i = E_i + A_i/N*^alpha_i + B_i/T^beta_i, the rest of the joint law as is."""
        rows_out: list[Param] = []
        for t, v in zip(names, thetas, strict=True):
            c = v[0] + np.exp(v[1] - v[2] * np.log(Nt)) + np.exp(v[3] - v[4] * np.log(T))
            rows_out += [Param(f"{t}.c", float(c), float(c), 0.0, np.inf),
                         Param(f"{t}.log_k", float(v[5]), float(v[5]), -30.0, 30.0)]
            rows_out += [Param(f"{t}.t_{d}", float(v[6 + j]), float(v[6 + j]), -T_BOUND, T_BOUND, vary=j != ref)
                         for j, d in enumerate(table.domains)]
        spec = {"law": "ye-exp", "options": {}, "domains": table.domains, "targets": names, "y_1d": False,
                "w_range": w_range, "n_range": None, "d_range": None,
                "params": {p.name: {"value": p.value, "init": p.init, "min": p.min, "max": p.max, "vary": p.vary,
                                    "stderr": None} for p in rows_out},
                "state": {"local_names": {t: local for t in names}}}
        return law_from_dict(spec), {}

    mixing, _ = at_time(St)
    target = np.asarray(mixing.predict(mixes)).reshape(len(mixes), len(names))
    return PipelineResult("direct", "joint+ye-exp", Nt, at.steps, table.domains, names, mixes,
                          _first_runs(table, inv, len(mixes)), target, {"joint": stage}, mixing, {}, msgs,
                          law_at_time=at_time)


def _fit_joint(W: np.ndarray, N: np.ndarray, S: np.ndarray, y: np.ndarray, ref: int, seed: int,
               label: str) -> tuple[FitResult, int]:
    """Fit ``E + A/N^a + B/S^b + exp(log_k + t.r)`` to one eval's losses; returns (result, #warnings)."""
    X = np.column_stack([N, S])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ch = ChinchillaLaw(n_restarts=2, random_state=seed).fit(X, y)
    E, la, a, lb, b = ch.params_.array()
    # Split the constant: half of E goes to the mixture term, whose shape comes from regressing
    # log(y - rest) on the weights (Ye's data-driven start).
    rest = 0.5 * E + np.exp(la - a * np.log(N)) + np.exp(lb - b * np.log(S))
    excess = np.clip(y - rest, 1e-3 * y, None)
    beta_w, *_ = np.linalg.lstsq(W, np.log(excess), rcond=None)
    lk = float(np.clip(beta_w[ref], -29, 29))
    tt = np.clip(beta_w - beta_w[ref], -T_BOUND + 1, T_BOUND - 1)
    ps = [Param("E", 0.5 * E, 0.5 * E, 0.0, float(y.max())),
          Param("log_A", la, la, -50.0, 120.0), Param("alpha", a, a, 1e-3, 4.0),
          Param("log_B", lb, lb, -50.0, 120.0), Param("beta", b, b, 1e-3, 4.0),
          Param("log_k", lk, lk, -30.0, 30.0)]
    ps += [Param(f"t{j}", 0.0 if j == ref else float(tt[j]), 0.0 if j == ref else float(tt[j]), -T_BOUND, T_BOUND,
                 vary=j != ref) for j in range(W.shape[1])]
    spec = Params(ps)
    logN, logS = np.log(N), np.log(S)

    def model(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tn = np.exp(theta[1] - theta[2] * logN)
        ts = np.exp(theta[3] - theta[4] * logS)
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
        fr = fit_model(model, spec, y, n_starts=3, rng=np.random.default_rng(seed), label=f"joint[{label}]")
    return fr, len(caught) + len(caught2)


def _direct_registered(table: RunTable, at: _Target, law: str, names: list[str], rng: np.random.Generator,
                       law_options: dict[str, Any], msgs: list[str], mixes: np.ndarray,
                       inv: np.ndarray) -> PipelineResult:
    """Direct route with a registered law that takes N (``dz-eq1``) and maybe D (``dz-eq3``).

    A law with a token input is fitted on every checkpoint (its D) and predicts at (N*, D*); a law without one
    sees only each curve's final checkpoint, so it predicts at the final checkpoints' length, not at S*.
    """
    N, S = table.model_params, table.steps
    assert N is not None and S is not None
    Nt = at.params
    probe = get_law(law, **law_options)
    with_tokens = bool(probe.uses_tokens) and table.tokens is not None and at.tokens is not None
    if with_tokens:
        rows = np.arange(len(table))
        how = f"{law} on all {len(rows)} checkpoints with N and D as inputs"
    else:
        key = np.column_stack([inv, N])
        rows = np.array([i for i in range(len(table))
                         if S[i] == S[(key[:, 0] == key[i, 0]) & (key[:, 1] == key[i, 1])].max()])
        how = f"{law} on {len(rows)} final checkpoints with N as input"
        T = S if at.axis == "step" else table.tokens
        assert T is not None
        if np.any(T[rows] != at.time):
            why = ("has no token input" if not probe.uses_tokens else
                   "needs tokens, and the table or the target has no token count")
            msg = (f"law {law!r} {why}: it was fitted on final checkpoints at {at.axis} "
                   f"{T[rows].min():g}-{T[rows].max():g} and predicts those, not {at.symbol}* = {at.time:g}")
            msgs.append(msg)
            warnings.warn(msg, ExtrapolationWarning, stacklevel=3)
    if np.unique(N[rows]).size < 2:
        raise InputError(f"the direct route with {law!r} needs runs at 2 or more model sizes")
    fin = table.subset(rows)
    t0 = time.perf_counter()
    mixing = get_law(law, **{"random_state": int(rng.integers(2**31)), **law_options})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mixing.fit(fin, targets=names)
        _check_mixing_law(mixing, len(rows))
        Yf = fin.losses(names)
        pred = np.asarray(mixing.predict(fin)).reshape(Yf.shape)
    nwarn = len(caught) + sum(len(r.warnings) for r in mixing.results_.values())
    ok = np.isfinite(pred)  # dz-eq3 is +inf where a domain is absent (h_i = 0): scored on h_i > 0 only
    stage = StageQuality.from_residuals("direct", how, [(pred / Yf - 1.0)[:, k][ok[:, k]] for k in range(len(names))],
                                        nwarn, time.perf_counter() - t0, list(names))
    kw: dict[str, Any] = {"model_params": Nt}
    if with_tokens:
        kw["tokens"] = at.tokens
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        target = np.asarray(mixing.predict(mixes, **kw)).reshape(len(mixes), len(names))
    return PipelineResult("direct", law, Nt, at.steps, table.domains, names, mixes, _first_runs(table, inv, len(mixes)),
                          target, {"direct": stage}, mixing, kw, msgs)
