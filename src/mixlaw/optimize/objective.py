"""The objective a mixture is scored on: a fitted law evaluated at mixtures (:class:`_LawEval`, with the
Ye law's analytic Jacobian or batched finite differences otherwise) and the scalar that combines the
per-eval losses (mean, total, max, one eval, non-negative weights ``{eval: s_i}`` or a callable). Search
strategies only ever see this pair, so they work for every law.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..errors import ExtrapolationWarning, InputError
from ..evals import among_targets, prefixed_eval_hint, warn_keyword_named_eval
from ..laws.additive import ShukorAdditive, ShukorAdditiveEnsemble
from ..laws.base import MixingLaw
from ..laws.linear import Linear
from ..laws.loglinear import LogLinear
from ..laws.selection import objective_weights
from ..laws.ye import Z_HEADROOM, YeExponential

#: Finite-difference step on the weights (forward/central; the objective is smooth at this scale).
FD_STEP = 1e-6
#: How far (nats) an exponent may rise above the cap before Ye's capped loss stops being convex in it:
#: :math:`g(z) = \exp(h + H \tanh((z - h) / H))` has :math:`g'' = g (1 - u^2) (1 - u^2 - 2u / H)`, u the tanh, which
#: is >= 0 while :math:`u \le \sqrt{1 + 1/H^2} - 1/H` (:math:`\sqrt 2 - 1` at H = 1: 0.4407 nats).
Z_CONVEX = Z_HEADROOM * float(np.arctanh(np.sqrt(1 + Z_HEADROOM ** -2) - 1 / Z_HEADROOM))

Objective = str | Mapping[str, float] | Callable[[np.ndarray], float]


class _LawEval:
    """Predicted per-eval losses L(r) (K,) and their Jacobian dL/dr (K, M) for one law."""

    def __init__(self, law: MixingLaw, model_params: Any = None, tokens: Any = None) -> None:
        self.law, self.mp, self.tk = law, model_params, tokens
        self.K = len(law.targets_)
        self._h_eye: dict[int, np.ndarray] = {}  # FD_STEP * identity, per mixture length (value_jac)
        self.analytic = _is_ye(law)
        if self.analytic:
            vals = np.array([law._values_for(t) for t in law.targets_])  # (K, 2 + M): c, log_k, t_1..t_M
            self.c, self.log_k, self.T = vals[:, 0], vals[:, 1], vals[:, 2:]
            # The exponent's cap, as law.predict applies it (saturate_exponent): without it the search scored, and the
            # result reported, the uncapped c + k exp(t.r) wherever t.r rises above every fitting run's (3 % from
            # predict at the optimum of crossscale_runs_v3's pipeline with extrapolate=True). inf: no cap (a law
            # saved before it).
            caps = getattr(law, "z_max_", None) or {}
            self.z_max = np.array([np.inf if caps.get(t) is None else float(caps[t]) for t in law.targets_])
        # Additive laws: their parameters read once, so every predict (the optimiser's hot loop) is one
        # array expression instead of a per-target, per-member pass through law.predict.
        self.additive = None if self.analytic else _additive_params(law)
        # Every other law: its model on the clipped array, past predict's reading of the input (frames, mappings,
        # shapes, range warnings), which took 3/4 of dz-eq1's optimize_mixture. Only where predict is
        # MixingLaw's own: a subclass that overrides it may do more than read the input.
        self.direct = isinstance(law, MixingLaw) and type(law).predict is MixingLaw.predict

    def convex_on(self, lo: np.ndarray, hi: np.ndarray) -> bool:
        r"""Whether each eval's capped loss is convex on the mixtures :math:`\ell \le r \le u`, :math:`\sum r = 1`:
        :math:`\max_r t_i^\top r` (a fractional knapsack: the share above the lower bounds goes to the largest
        :math:`t_{ij}` first) within :data:`Z_CONVEX` of the cap. Beyond it :math:`c + k \exp(\mathrm{sat}(z))` is
        concave: one SLSQP start stopped in a local minimum (mean 6.065 at a = 0.27 where a = 1 gives 5.130) and
        said the optimum was global (cap32). True for laws without the cap."""
        if not self.analytic or not np.isfinite(self.z_max).any():
            return True
        order = np.argsort(-self.T, axis=1, kind="stable")
        width = np.maximum(hi - lo, 0.0)[order]  # (K, M), in each eval's order of decreasing t
        room = max(1.0 - float(lo.sum()), 0.0)
        take = np.clip(room - (np.cumsum(width, axis=1) - width), 0.0, width)
        z_top = self.T @ lo + np.sum(np.take_along_axis(self.T, order, 1) * take, axis=1)
        return bool(np.all(z_top <= self.z_max + Z_CONVEX))

    def _capped(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`~mixlaw.laws.ye.saturate_exponent` of the exponents ``z`` (last axis: the targets) and its
        derivative: above the cap :math:`h`, :math:`h + H \tanh((z - h) / H)`, whose slope is
        :math:`1 - \tanh^2((z - h) / H)`."""
        over = z > self.z_max
        if not over.any():
            return z, np.ones_like(z)
        u = np.tanh(np.where(over, z - self.z_max, 0.0) / Z_HEADROOM)
        return np.where(over, self.z_max + Z_HEADROOM * u, z), np.where(over, 1.0 - u * u, 1.0)

    def _predict_additive(self, R: np.ndarray) -> np.ndarray:
        """L_i(r) = mean over members of E_i + 1 / sum_j C_ij r_j^gamma_ij (the term is 0 at r_j = 0), exactly
        as :meth:`ShukorAdditive._model_one` computes it."""
        E, log_c, g = self.additive  # type: ignore[misc]
        pos = R > 0
        logw = np.log(np.where(pos, R, 1.0))
        with np.errstate(over="ignore", divide="ignore"):
            P = np.where(pos, np.exp(log_c[:, :, None, :] + g[:, :, None, :] * logw), 0.0)  # (members, K, n, M)
            L = E[:, :, None] + 1.0 / P.sum(axis=3)
        return (L.sum(axis=0) / L.shape[0]).T

    def predict(self, R: np.ndarray) -> np.ndarray:
        """(n, M) mixtures -> (n, K) losses."""
        if self.analytic:
            z, _ = self._capped(R @ self.T.T)
            with np.errstate(over="ignore"):
                return self.c + np.exp(self.log_k + z)
        if self.additive is not None and np.isfinite(R).all():
            return self._predict_additive(R.clip(0.0, None))
        n = R.shape[0]
        kw: dict[str, Any] = {}
        if self.law.uses_model_params and self.mp is not None:
            kw["model_params"] = np.broadcast_to(np.asarray(self.mp, dtype=np.float64), (n,))
        if self.law.uses_tokens and self.tk is not None:
            kw["tokens"] = np.broadcast_to(np.asarray(self.tk, dtype=np.float64), (n,))
        W = np.asarray(np.clip(R, 0.0, None), dtype=np.float64)
        with warnings.catch_warnings():
            # The optimiser probes mixtures outside the fitted range by design; the final mixture is checked once.
            warnings.simplefilter("ignore", ExtrapolationWarning)
            if self.direct and W.ndim == 2 and W.shape[0] > 0 and W.shape[1] == len(self.law.domains_) >= 2 \
                    and np.all(np.isfinite(W)):
                # predict's checks of its input and range warn (ExtrapolationWarning, ignored here) or raise only
                # on what this input cannot be; the law's own warnings come from _predict on either path.
                out = np.asarray(self.law._predict_unchecked(W, **kw), dtype=np.float64)
            else:
                out = np.asarray(self.law.predict(W, **kw), dtype=np.float64)
        return out.reshape(n, self.K)

    def value_jac(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.analytic:
            z, dz = self._capped(self.T @ r)
            with np.errstate(over="ignore"):
                e = np.exp(self.log_k + z)  # (K,)
            return self.c + e, (e * dz)[:, None] * self.T
        # Finite differences through law.predict, one batched call: central where r_j >= h, forward at the
        # boundary (laws may reject negative weights).
        M = r.size
        h = FD_STEP
        # r + h e_j per row j: the same sums as np.tile(r, (M, 1)) + h * np.eye(M), broadcast (the optimiser's hot
        # loop calls this thousands of times a search; the tiles and identities were a fifth of each call).
        he = self._h_eye.get(M)
        if he is None:
            he = self._h_eye[M] = h * np.eye(M)
        plus = r + he
        central = r >= h
        minus = r - he * central[:, None]
        P = self.predict(np.vstack([r[None, :], plus, minus]))
        L0, Lp, Lm = P[0], P[1:M + 1], P[M + 1:]
        denom = np.where(central, 2 * h, h)[:, None]
        J = ((Lp - np.where(central[:, None], Lm, L0[None, :])) / denom).T  # (K, M)
        return L0, J


def _additive_params(law: MixingLaw) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(E (P, K), log C (P, K, M), gamma (P, K, M)) of a fitted Shukor additive law or of the members its
    ensemble averages; None for any other law (exact types: a subclass may change the model)."""
    if type(law) is ShukorAdditive:
        members = [law]
    elif type(law) is ShukorAdditiveEnsemble and all(type(m) is ShukorAdditive for m in law.members_):
        members = list(law.members_)
    else:
        return None
    targets = list(law.targets_)
    if any(list(m.targets_) != targets for m in members):
        return None
    M = len(law.domains_)
    vals = np.array([[m._values_for(t) for t in targets] for m in members], dtype=np.float64)
    if vals.shape[2] != 1 + 2 * M:
        return None
    return vals[:, :, 0], vals[:, :, 1:1 + M], vals[:, :, 1 + M:]


def _is_ye(law: MixingLaw) -> bool:
    return isinstance(law, YeExponential)


def convex_law(law: MixingLaw) -> bool:
    """Whether each predicted loss is convex in the mixture: Ye's :math:`c_i + k_i \\exp(t_i^\\top r)` (k_i > 0),
    ``linear``'s :math:`b_i^\\top r` (affine) and ``loglinear``'s :math:`\\exp(b_i^\\top r)` (exp of affine). Exact
    classes: a subclass may predict otherwise. 'optimize --law linear' said "not known to be convex" and ran 16
    starts (review32b)."""
    return _is_ye(law) or type(law) in (Linear, LogLinear)


def concave_law(law: MixingLaw) -> bool:
    """Whether each predicted loss (or metric) is concave in the mixture: ``linear``'s affine :math:`b_i^\top r`,
    convex and concave alike. A maximised objective (the search minimises its negation) is convex as a problem
    when it is a non-negative combination of concave predictions: 'optimize --law linear --maximize' said "not
    known to be convex" and ran 16 starts. Exact class: a subclass may predict otherwise."""
    return type(law) is Linear


def objective_label(name: str, maximize: bool) -> str:
    """How a result names its objective: :func:`_objective_weights`'s name, whose 'loss of X' (an objective of one
    eval set) reads wrong of a maximised metric ('loss of hellaswag_acc (maximised)'): that one is 'X'."""
    return name.removeprefix("loss of ") if maximize else name


def loss_decimals(*values: Any) -> int:
    """Decimals for losses (or objectives) printed together: 4, as the report's tables print them, or more where
    the smallest nonzero one needs them to keep 4 significant digits. 4 decimals alone showed a bits-per-byte or a
    scaled loss of 0.002265 as '0.0023' and an interval [0.002211, 0.002318] as [0.0022, 0.0023] (review31); from
    0.1 up it is 4 (0.1234, 1.3060), as before.

    >>> loss_decimals(1.306, 1.28), loss_decimals(0.1234), loss_decimals(0.002265, [3.1]), loss_decimals(0.0, np.nan)
    (4, 4, 6, 4)
    """
    flat = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in values]) if values else np.zeros(0)
    small = [abs(float(v)) for v in flat if np.isfinite(v) and v != 0]
    return 4 if not small else int(min(12, max(4, 3 - np.floor(np.log10(min(small))))))


def objective_text(value: float, decimals: int | None = None) -> str:
    """A predicted or measured loss (or objective), or an end of its interval, as every line of the optimum's report
    prints it: 4 decimals, as the [[Weights]] and [[Predicted losses]] tables and the pipeline's intervals do, or
    ``decimals`` (:func:`loss_decimals` of the values printed together; by default the value's own). The lines
    above the tables gave 5 significant digits, which drop trailing zeros: 'predicted objective = 1.306' over a
    table's '1.3060', and the simulate search's 'top 128 (their predicted objective 1.409-1.6798)' (hunt31)."""
    return f"{value:.{loss_decimals(value) if decimals is None else decimals}f}"


def _objective_weights(objective: Objective, targets: list[str],
                       law: MixingLaw | None = None) -> tuple[str, np.ndarray | None]:
    """Name and linear weights s (K,) of the objective; s is None for 'max' and callables. The linear ones
    (mean, total, one eval set, a mapping) are :func:`~mixlaw.laws.selection.objective_weights`'s, but for 'total'
    of a fitted ``law`` that knows its eval sets' composition (ye-total's ``composition_``): its total
    ``sum_i s_i L_i``, what its ``predict_total`` gives (the plain sum of the losses ignored ``composition=``)."""
    # isinstance first: an array or Series objective, compared to "total" elementwise, stopped on numpy's and
    # pandas' "truth value ... is ambiguous" where it was the InputError below.
    composition = getattr(law, "composition_", None) if isinstance(objective, str) and objective == "total" else None
    if composition is not None and list(getattr(law, "targets_", [])) == list(targets):
        return "total", np.asarray(composition, dtype=np.float64).copy()
    if callable(objective):
        return "callable", None
    if isinstance(objective, str):
        if objective == "max":
            warn_keyword_named_eval("max", targets, "the largest loss", stacklevel=3)
            return "max", None
        if objective not in ("mean", "total") and objective not in targets:
            raise InputError(f"unknown objective {objective!r}; expected 'mean', 'total', 'max', an eval set "
                             f"({targets}), a mapping {{eval: weight}} (on the command line: weights=a:0.5,b:0.5) "
                             f"or a callable ({among_targets('names')})" + prefixed_eval_hint([objective], targets))
        s = objective_weights(objective, targets)
        if objective in ("mean", "total") and len(targets) == 1 and s is not None and s.tolist() == [1.0]:
            # The default 'mean' of one --target read 'objective=mean' (Olmix's hellaswag:rc::olmes alone), where
            # 'report' says 'loss of hellaswag:rc::olmes' of the same optimum.
            objective = targets[0]
        return (objective if objective in ("mean", "total") else f"loss of {objective}"), s
    if isinstance(objective, Mapping):
        # Named as the CLI spells it (weights=a:0.5,b:0.5), so a printed or saved optimum says which weights.
        s = objective_weights(objective, targets)
        return "weights=" + ",".join(f"{k}:{float(v):g}" for k, v in objective.items()), s
    raise InputError(f"objective must be 'mean', 'total', 'max', a mapping or a callable; got {objective!r}")


def _make_scalar(name: str, s: np.ndarray | None, objective: Objective) -> Callable[[np.ndarray], float]:
    if s is not None:
        return lambda L: float(s @ L)
    if name == "max":
        return lambda L: float(np.max(L))
    fn = objective
    assert callable(fn)
    return lambda L: float(fn(L))
