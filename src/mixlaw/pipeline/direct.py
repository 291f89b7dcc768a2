r"""The direct route: one law with model size (and steps) as inputs predicts the target scale in one fit.

Without a registered size-aware law, every eval gets the joint law
:math:`L_i = E_i + A_i/N^{\alpha_i} + B_i/S^{\beta_i} + k_i e^{z_i(r)}` fitted on all checkpoints of all
small runs (:func:`_fit_joint`), with Ye's mixture exponent :math:`z_i = t_i \cdot r` (``law="ye-exp"``) or its
power-share form :math:`z_i = \sum_j t_{ij} r_j^{\gamma_{ij}}` (``law="ye-pow"``); at fixed :math:`(N^*, S^*)`
it is that mixing law with :math:`c_i = E_i + A_i/N^{*\alpha_i} + B_i/S^{*\beta_i}`, which is returned as the
mixing law. A registered law that takes N (``dz-eq1``, maybe D: ``dz-eq3``) is fitted as is
(:func:`_direct_registered`, Dai & Zheng Eq. 1).

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
Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952: Eq. (1) (the mixture term) and the scaling laws
in steps and model size of their nested pipeline, here fitted jointly; the power transform is mixlaw's
(:class:`~mixlaw.laws.YePower`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from .._validation import validate_params
from ..data import RunTable
from ..errors import ExtrapolationWarning, InputError, MixlawWarning
from ..fit import FitResult, Param, Params, fit_model, pooling_penalty
from ..laws.base import MixingLaw, available_laws, get_law, law_from_dict, warm_clone
from ..laws.ye import T_BOUND
from ..laws.ye_pow import GAMMA_BOUNDS, GAMMA_INIT, power_shares
from ..scaling import ChinchillaLaw, fit_curves, fit_shared_exponents
from . import _schema as sc
from .result import (
    PipelineResult,
    StageQuality,
    _check_mixing_law,
    _first_runs,
    _mixture_ids,
    _Target,
    check_fitted_scale,
    size_law_refusal,
    stage_warning_line,
)

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


def _direct(table: RunTable, at: _Target, law: str, names: list[str], rng: np.random.Generator,
            law_options: dict[str, Any], msgs: list[str], warm: PipelineResult | None = None, *,
            steps_only: bool = False, sizes_only: bool = False) -> PipelineResult:
    """The direct route; ``warm``: a direct result of the same law and evals on nearby data (a jackknife or
    backtest refit), whose parameters start the fits (one start, the usual ones only if it does not converge).
    ``steps_only``: the table holds the target size alone; the joint law has no size term; ``sizes_only``: the
    table holds the target step alone, and the joint law has no step term (module docstring)."""
    W, Y = table.weights, table.losses(names)
    N, S = table.model_params, at.time_of(table)
    assert N is not None and S is not None
    Nt, St, sym = at.params, at.time, at.symbol
    mixes, inv = _mixture_ids(W)
    sizes = np.unique(N)
    probe = get_law(law, **law_options)
    if probe.uses_model_params:
        return _direct_registered(table, at, law, names, rng, law_options, msgs, mixes, inv, warm,
                                  sizes_only=sizes_only)
    if steps_only and sizes.size != 1:
        raise InputError(f"steps only: the table must hold one model size; it has {sizes.size}")
    if sizes.size < 3 and not steps_only:
        raise size_law_refusal(sizes, "the direct joint law's size term E + A/N^alpha",
                               f"{sym} = {St:g}" if sizes_only else None)
    if sizes_only and np.unique(S).size != 1:
        raise InputError(f"sizes only: the table must hold one {at.axis} value; it has {np.unique(S).size}")
    if np.unique(S).size < 3 and not sizes_only:
        raise InputError(f"the direct joint law has a term B/{sym}^beta; the data has {np.unique(S).size} distinct "
                         f"{at.axis} value(s); need at least 3")
    if law not in JOINT_LAWS:
        size_aware = [k for k in available_laws() if get_law(k).uses_model_params]
        raise InputError(f"law {law!r} takes no model size, so the direct route cannot fit it: it fits the joint "
                         f"law with Ye's mixture term (--law ye-exp or ye-pow) or a law with a model-size input "
                         f"({', '.join(size_aware)}); use --route nested for {law!r}")
    # The joint law is fitted here, not by the registered law: of that law's options only ye-pow's gamma_pooling
    # has a meaning in it; any other would be dropped without a word.
    unused = sorted(set(law_options) - ({"gamma_pooling"} if law == "ye-pow" else set()))
    if unused:
        msg = (f"law option(s) {', '.join(unused)} not used: the direct route fits its own joint law with the mixture "
               f"term of {law!r}, {'whose one option is gamma_pooling' if law == 'ye-pow' else 'which takes none'}")
        msgs.append(msg)
        warnings.warn(msg, MixlawWarning, stacklevel=3)
    validate_params(probe)  # as the law's own fit would: gamma_pooling "x", None or NaN must not reach the fit
    pooling = float(probe.gamma_pooling) if law == "ye-pow" else JOINT_GAMMA_POOLING
    t0 = time.perf_counter()
    ref = int(np.argmax(mixes.mean(axis=0)))
    res: list[np.ndarray] = []
    nwarn: list[str] = []
    seed = int(rng.integers(2**31))
    thetas: list[np.ndarray] = []
    start = (warm.scales.thetas if warm is not None and isinstance(warm.scales, _JointScales)
             and warm.scales.law == law and warm.scales.ref == ref and list(warm.targets) == list(names)
             and warm.scales.thetas.shape[1] == _joint_width(law, W.shape[1])
             and warm.scales.steps_only == steps_only and warm.scales.sizes_only == sizes_only else None)
    for k, t in enumerate(names):
        only = {"steps_only": steps_only, "sizes_only": sizes_only}
        fit_one = (partial(_fit_joint, domains=table.domains, **only) if law == "ye-exp"
                   else partial(_fit_joint_pow, pooling=pooling, domains=table.domains, **only))
        fr, extra = fit_one(W, N, S, Y[:, k], ref, seed, t, None if start is None else start[k])
        nwarn += _once(extra, fr.warnings)
        res.append(np.exp(fr.residuals) - 1.0)
        thetas.append(fr.params.array())
    z = "t_i . r" if law == "ye-exp" else "sum_j t_ij r_j^gamma_ij"
    size_term = "" if steps_only else "A_i/N^alpha_i + "
    step_term = "" if sizes_only else f"B_i/{sym}^beta_i + "
    where = (f" at N = {sizes[0]:g} (steps only: no size term)" if steps_only else
             f" at {sym} = {St:g} (sizes only: no step term)" if sizes_only else "")
    stage = StageQuality.from_residuals(
        "joint", f"L_i = E_i + {size_term}{step_term}k_i exp({z}) per eval on all checkpoints{where}",
        res, len(nwarn), time.perf_counter() - t0, list(names))
    line = stage_warning_line("joint", nwarn)
    if line is not None:
        msgs.append(line)
    th = np.array(thetas)
    if law == "ye-pow":
        th = _unseen_domains(th, W)
    scales = _JointScales(th, list(table.domains), list(names), ref,
                          np.vstack([mixes.min(axis=0), mixes.max(axis=0)]), law=law,
                          z_max=None if law == "ye-exp" else _z_max(th, mixes),
                          size=float(sizes[0]) if steps_only else None, time=float(St) if sizes_only else None)
    mixing, _ = scales.law_at(Nt, St)
    target = np.asarray(mixing.predict(mixes)).reshape(len(mixes), len(names))
    return PipelineResult("direct", f"joint+{law}", Nt, at.steps, table.domains, names, mixes,
                          _first_runs(table, inv, len(mixes)), target, {"joint": stage}, mixing, {}, msgs,
                          tokens_per_step=at.tokens_per_step, scales=scales)


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


class _JointScales:
    r"""The direct route's joint law, :math:`E + A/N^{\alpha} + B/S^{\beta} + k e^{z(r)}` per eval, at any scale.

    ``thetas[i]`` = (E, log A, alpha, log B, beta, log k, t_1..t_M[, gamma_1..gamma_M]) of eval ``targets[i]``;
    ``law``: the mixture term, ``"ye-exp"`` (:math:`z = t \cdot r`; ``ref`` is the domain whose t is fixed at 0)
    or ``"ye-pow"`` (:math:`z = \sum_j t_j r_j^{\gamma_j}`, every t free; ``z_max`` the largest fitted z per eval,
    the cap of :class:`~mixlaw.laws.YePower`); ``w_range`` (2, M) the fitted mixtures' weight range
    (extrapolation warnings); ``size``: the one model size of a steps-only law (no size term; it predicts there
    only), None for the full law; ``time``: the one step (or token) count of a sizes-only law (no step term; it
    predicts there only).
    """

    def __init__(self, thetas: np.ndarray, domains: list[str], targets: list[str], ref: int,
                 w_range: np.ndarray, *, law: str = "ye-exp", z_max: np.ndarray | None = None,
                 size: float | None = None, time: float | None = None) -> None:
        self.thetas, self.domains, self.targets, self.ref, self.w_range = thetas, domains, targets, ref, w_range
        self.law, self.z_max, self.size, self.time = law, z_max, size, time

    @property
    def steps_only(self) -> bool:
        return self.size is not None

    @property
    def sizes_only(self) -> bool:
        return self.time is not None

    def law_at(self, params: float, T: float) -> tuple[MixingLaw, dict[str, Any]]:
        """The mixing law at (N, T): c_i = E_i + A_i/N^alpha_i + B_i/T^beta_i, the rest of the joint law as is."""
        M = len(self.domains)
        check_fitted_scale(params, T, size=self.size, time=self.time)
        rows_out: list[Param] = []
        for t, v in zip(self.targets, self.thetas, strict=True):
            c = v[0] + _size_step(v, params, T, size_term=self.size is None, step_term=self.time is None)
            rows_out += [Param(f"{t}.c", float(c), float(c), 0.0, np.inf),
                         Param(f"{t}.log_k", float(v[5]), float(v[5]), -30.0, 30.0)]
            if self.law == "ye-exp":
                rows_out += [Param(f"{t}.t_{d}", float(v[6 + j]), float(v[6 + j]), -T_BOUND, T_BOUND,
                                   vary=j != self.ref) for j, d in enumerate(self.domains)]
            else:
                for kind, off, (lo, hi) in (("t", 6, (-T_BOUND, T_BOUND)), ("gamma", 6 + M, GAMMA_BOUNDS)):
                    rows_out += [Param(f"{t}.{kind}_{d}", float(v[off + j]), float(v[off + j]), lo, hi)
                                 for j, d in enumerate(self.domains)]
        local = ["c", "log_k"] + [f"t_{d}" for d in self.domains]
        state: dict[str, Any] = {"local_names": {t: local for t in self.targets}}
        if self.law == "ye-pow":
            state["local_names"] = {t: local + [f"gamma_{d}" for d in self.domains] for t in self.targets}
            state["alpha"] = dict.fromkeys(self.targets, 0.0)
            if self.z_max is not None:
                state["z_max"] = {t: float(z) for t, z in zip(self.targets, self.z_max, strict=True)}
        spec = {"law": self.law, "options": {}, "domains": self.domains, "targets": self.targets, "y_1d": False,
                "w_range": self.w_range.tolist(), "n_range": None, "d_range": None,
                "params": {p.name: {"value": p.value, "init": p.init, "min": p.min, "max": p.max, "vary": p.vary,
                                    "stderr": None} for p in rows_out},
                "state": state}
        return law_from_dict(spec), {}

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": "joint", "mixing": self.law, "thetas": self.thetas.tolist(),
                             "reference": self.ref, "w_range": self.w_range.tolist()}
        if self.z_max is not None:
            d["z_max"] = self.z_max.tolist()
        if self.size is not None:
            d["size"] = self.size
        if self.time is not None:
            d["time"] = self.time
        return d

    @classmethod
    def from_dict(cls, d: Any, where: str, *, domains: list[str], targets: list[str], mixing_law: Any = None,
                  **_: Any) -> _JointScales:
        """Rebuild from :meth:`to_dict`, checking every field (the file is untrusted): the mixture term is the
        saved mixing law's, every parameter within the fits' bounds. A file written before the power-share form
        has no ``mixing`` field: its joint law is ye-exp."""
        M = len(domains)
        law = sc.string(d, "mixing", where, JOINT_LAWS) if isinstance(d, dict) and "mixing" in d else "ye-exp"
        thetas = sc.array(d, "thetas", where, (len(targets), _joint_width(law, M)))
        if mixing_law is not None and mixing_law.key != law:
            # Else the target scale would predict with one law and every other scale with another.
            raise InputError(f"{where}.mixing: the joint law's mixture term is {law!r}, the saved mixing law "
                             f"{mixing_law.key!r}")
        names = ["E", *SCALE_NAMES, *(f"t_{x}" for x in domains)]
        bounds = [(0.0, np.inf), *SCALE_BOUNDS, *[(-T_BOUND, T_BOUND)] * M]
        if law == "ye-pow":
            names, bounds = names + [f"gamma_{x}" for x in domains], bounds + [GAMMA_BOUNDS] * M
        lo, hi = np.array(bounds).T
        bad = np.argwhere((thetas < lo) | (thetas > hi))
        if bad.size:
            i, j = bad[0]
            raise InputError(f"{where}.thetas: {targets[i]}'s {names[j]} = {thetas[i, j]:.6g} lies outside "
                             f"[{lo[j]:g}, {hi[j]:g}], the bounds of the fit")
        w_range = sc.array(d, "w_range", where, (2, M))
        ref = sc.number(d, "reference", where)
        if ref is None or not float(ref).is_integer() or not 0 <= ref < M:
            raise InputError(f"{where}.reference: expected a domain index in [0, {M})")
        z_max = sc.array(d, "z_max", where, (len(targets),)) if law == "ye-pow" else None
        # A steps-only law (no size term) names its one model size; a file without the field is the full law.
        size = sc.number(d, "size", where, positive=True) if "size" in d else None
        # A sizes-only law (no step term) names its one step (or token) count.
        time = sc.number(d, "time", where, positive=True) if "time" in d else None
        if size is not None and time is not None:
            raise InputError(f"{where}: a joint law fitted at one model size and one step count has nothing to "
                             "extrapolate (size and time both given)")
        return cls(thetas, domains, targets, int(ref), w_range, law=law, z_max=z_max, size=size, time=time)


class _RegisteredScales:
    """A registered law that takes N (and maybe D) as inputs: any N, and any T when it has a token input (not when
    fitted by the sizes-only pipeline, on one step: ``sizes_only``)."""

    def __init__(self, mixing: MixingLaw, with_tokens: bool, axis: str, tokens_per_step: float | None,
                 target_time: float, sizes_only: bool = False) -> None:
        self.mixing, self.with_tokens, self.axis = mixing, with_tokens, axis
        self.tokens_per_step, self.target_time, self.sizes_only = tokens_per_step, target_time, sizes_only

    @property
    def time(self) -> float | None:
        """The one step (or token) count of a sizes-only fit, None otherwise."""
        return self.target_time if self.sizes_only else None

    def law_at(self, params: float, T: float) -> tuple[MixingLaw, dict[str, Any]]:
        kw: dict[str, Any] = {"model_params": params}
        check_fitted_scale(params, T, size=None, time=self.time, sym="S" if self.axis == "step" else "D")
        if self.with_tokens:
            kw["tokens"] = T if self.axis == "tokens" else T * float(self.tokens_per_step or np.nan)
        elif T != self.target_time:
            raise InputError(f"law {self.mixing.key!r} has no token input here: it predicts its runs' final "
                             "checkpoints only, not another step or token count")
        return self.mixing, kw

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "registered", "with_tokens": self.with_tokens, "time_axis": self.axis,
                "tokens_per_step": self.tokens_per_step, "target_time": self.target_time,
                **({"sizes_only": True} if self.sizes_only else {})}

    @classmethod
    def from_dict(cls, d: Any, where: str, *, mixing_law: MixingLaw, **_: Any) -> _RegisteredScales:
        """Rebuild from :meth:`to_dict` around the saved mixing law, checking every field."""
        with_tokens = sc.field_of(d, "with_tokens", where)
        if not isinstance(with_tokens, bool):
            raise InputError(f"{where}.with_tokens: expected true or false")
        tps = sc.number(d, "tokens_per_step", where, positive=True, optional=True)
        if with_tokens and sc.string(d, "time_axis", where, ("step", "tokens")) == "step" and tps is None:
            raise InputError(f"{where}.tokens_per_step: needed with a token input over steps")
        if not mixing_law.uses_model_params:
            raise InputError(f"{where}: law {mixing_law.key!r} takes no model size")
        sizes_only = d.get("sizes_only", False) if isinstance(d, dict) else False
        if not isinstance(sizes_only, bool):
            raise InputError(f"{where}.sizes_only: expected true or false")
        return cls(mixing_law, with_tokens, sc.string(d, "time_axis", where, ("step", "tokens")), tps,
                   float(sc.number(d, "target_time", where, positive=True) or 0.0), sizes_only)


def _once(raised: list[str], noted: list[str]) -> list[str]:
    """A fit's warnings, each once: ``fit_model`` both raises a ConvergenceWarning '<label>: <note>' and keeps
    '<note>' in the result's warnings, which the stage line counted twice ('joint stage: 3 warning(s) ...:
    joint+ye-pow[web]: no start converged ...; no start converged ...; t_arxiv at upper bound 30'). The
    labelled one stays."""
    return raised + [m for m in noted if not any(r.endswith(f": {m}") for r in raised)]


def _domain_names(domains: Sequence[str] | None, M: int) -> list[str]:
    """The joint fits' names for the mixture parameters (``t_<domain>``, ``gamma_<domain>``): a fit's warning
    'parameter at a bound' then names the domain ('t_arxiv at lower bound -30', not 't4 ...')."""
    return list(domains) if domains is not None else [str(j) for j in range(M)]


def _fixed_terms(steps_only: bool, sizes_only: bool) -> tuple[str, ...]:
    """The joint law's parameters held at their placeholders: the size term's (steps only) or the step term's
    (sizes only)."""
    return (("log_A", "alpha") if steps_only else ()) + (("log_B", "beta") if sizes_only else ())


def _size_start(W: np.ndarray, N: np.ndarray, y: np.ndarray, label: str) -> tuple[float, float, float]:
    """(E, log A, alpha) of a size law through one eval's losses at one step: alpha shared by the mixtures, each
    its own E and A (:func:`~mixlaw.scaling.fit_shared_exponents`, as the nested route's stage 2), their medians
    returned. Shared, it runs on 3 sizes (a backtest that holds out the largest of 4), where one law through every
    run would need 4."""
    _, mix = _mixture_ids(W)
    groups = [np.flatnonzero(mix == m) for m in range(int(mix.max()) + 1)]
    groups = [g for g in groups if np.unique(N[g]).size >= 2]
    if len(groups) < 2:
        return tuple(fit_curves([N], [y], names=("log_A", "alpha"), labels=[label])[0].params.array())  # type: ignore[return-value]
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
    (one step count): log B and beta stay at :data:`NO_STEP_TERM`, and the start is one size law through every run."""
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
                E, lb, b = fit_curves([S], [y], labels=[f"joint[{label}] start"])[0].params.array()
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
    return fr, [str(w.message) for w in [*caught, *caught2]]


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
    return fr, msgs + [str(w.message) for w in caught]


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


def _direct_registered(table: RunTable, at: _Target, law: str, names: list[str], rng: np.random.Generator,
                       law_options: dict[str, Any], msgs: list[str], mixes: np.ndarray,
                       inv: np.ndarray, warm: PipelineResult | None = None, *,
                       sizes_only: bool = False) -> PipelineResult:
    """Direct route with a registered law that takes N (``dz-eq1``) and maybe D (``dz-eq3``).

    A law with a token input is fitted on every checkpoint (its D) and predicts at (N*, D*); a law without one
    sees only each curve's final checkpoint, so it predicts at the final checkpoints' length, not at S*.
    ``sizes_only``: the table holds the target step alone (one checkpoint per run); the result predicts there only.
    """
    N, S = table.model_params, at.time_of(table)  # the target's time axis: steps, or tokens when only those
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
        T = S
        if np.any(T[rows] != at.time):
            why = ("has no token input" if not probe.uses_tokens else
                   "needs tokens, and the table or the target has no token count")
            msg = (f"law {law!r} {why}: it was fitted on final checkpoints at {at.axis} "
                   f"{T[rows].min():g}-{T[rows].max():g} and predicts those, not {at.symbol}* = {at.time:g}")
            msgs.append(msg)
            warnings.warn(msg, ExtrapolationWarning, stacklevel=3)
    if np.unique(N[rows]).size < 2:
        raise InputError(f"the direct route with {law!r} needs runs at 2 or more model sizes"
                         + (" (at one size the direct route fits the joint law: law ye-exp or ye-pow)"
                            if np.unique(N).size == 1 else ""))
    fin = table.subset(rows)
    t0 = time.perf_counter()
    mixing = get_law(law, **{"random_state": int(rng.integers(2**31)), **law_options})
    if warm is not None and warm.law == law and list(warm.targets) == list(names):
        mixing = warm_clone(warm.mixing_law)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mixing.fit(fin, targets=names)
        _check_mixing_law(mixing, len(rows))
        Yf = fin.losses(names)
        pred = np.asarray(mixing.predict(fin)).reshape(Yf.shape)
    nwarn = _once([str(w.message) for w in caught], [m for r in mixing.results_.values() for m in r.warnings])
    line = stage_warning_line("direct", nwarn)
    if line is not None:
        msgs.append(line)
    ok = np.isfinite(pred)  # dz-eq3 is +inf where a domain is absent (h_i = 0): scored on h_i > 0 only
    stage = StageQuality.from_residuals("direct", how, [(pred / Yf - 1.0)[:, k][ok[:, k]] for k in range(len(names))],
                                        len(nwarn), time.perf_counter() - t0, list(names))
    kw: dict[str, Any] = {"model_params": Nt}
    if with_tokens:
        kw["tokens"] = at.tokens
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        target = np.asarray(mixing.predict(mixes, **kw)).reshape(len(mixes), len(names))
    scales = _RegisteredScales(mixing, with_tokens, at.axis, at.tokens_per_step, at.time, sizes_only)
    return PipelineResult("direct", law, Nt, at.steps, table.domains, names, mixes, _first_runs(table, inv, len(mixes)),
                          target, {"direct": stage}, mixing, kw, msgs, tokens_per_step=at.tokens_per_step,
                          scales=scales)
