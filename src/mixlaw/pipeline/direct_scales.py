"""The direct route's fitted law at any scale, saved and loaded: the joint law's (:mod:`.joint`) and a registered
size-aware law's (``dz-eq1``, ``dz-eq3``), each giving the mixing law at a model size and step count."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from ..fit import Param
from ..laws.base import MixingLaw, law_from_dict
from ..laws.ye import T_BOUND
from ..laws.ye_pow import GAMMA_BOUNDS
from . import _schema as sc
from .joint import JOINT_LAWS, SCALE_BOUNDS, SCALE_NAMES, _joint_width, _size_step
from .result import check_fitted_scale


class _JointScales:
    r"""The direct route's joint law, :math:`E + A/N^{\alpha} + B/S^{\beta} + k e^{z(r)}` per eval, at any scale.

    ``thetas[i]`` = (E, log A, alpha, log B, beta, log k, t_1..t_M[, gamma_1..gamma_M]) of eval ``targets[i]``;
    ``law``: the mixture term, ``"ye-exp"`` (:math:`z = t \cdot r`; ``ref`` is the domain whose t is fixed at 0)
    or ``"ye-pow"`` (:math:`z = \sum_j t_j r_j^{\gamma_j}`, every t free; ``z_max`` the largest fitted z per eval,
    the cap of :class:`~mixlaw.laws.YePower`); ``w_range`` (2, M) the fitted mixtures' weight range
    (extrapolation warnings); ``size``: the one model size of a steps-only law (no size term; it predicts there
    only), None for the full law; ``time``: the one step (or token) count of a sizes-only law (no step term; it
    predicts there only); ``units``: the unit each eval's law was fitted in (:mod:`mixlaw.scaling.units`, 1 for
    losses of normal size), whose log moves the bounds of its log A, log B and log k; ``thetas`` are in the losses'
    own unit.
    """

    def __init__(self, thetas: np.ndarray, domains: list[str], targets: list[str], ref: int,
                 w_range: np.ndarray, *, law: str = "ye-exp", z_max: np.ndarray | None = None,
                 size: float | None = None, time: float | None = None, units: np.ndarray | None = None) -> None:
        self.thetas, self.domains, self.targets, self.ref, self.w_range = thetas, domains, targets, ref, w_range
        self.law, self.z_max, self.size, self.time = law, z_max, size, time
        self.units = np.ones(len(targets)) if units is None else np.asarray(units, dtype=np.float64)

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
        for t, v, u in zip(self.targets, self.thetas, self.units, strict=True):
            c = v[0] + _size_step(v, params, T, size_term=self.size is None, step_term=self.time is None)
            lk_lo, lk_hi = (b + float(np.log(u)) for b in SCALE_BOUNDS[4])
            rows_out += [Param(f"{t}.c", float(c), float(c), 0.0, np.inf),
                         Param(f"{t}.log_k", float(v[5]), float(v[5]), lk_lo, lk_hi)]
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
        if np.any(self.units != 1.0):  # written only then: a file of losses of normal size is as before
            d["units"] = self.units.tolist()
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
        units = sc.array(d, "units", where, (len(targets),)) if "units" in d else np.ones(len(targets))
        if np.any(units <= 0):
            raise InputError(f"{where}.units: expected positive numbers (each eval's fitting unit)")
        lo, hi = np.array(bounds).T
        # An eval fitted in another unit has its log coefficients' bounds moved by its log (fit_joint's).
        shift = np.outer(np.log(units), [0.0, 1.0, 0.0, 1.0, 0.0, 1.0] + [0.0] * (len(names) - 6))
        lo, hi = lo + shift, hi + shift
        bad = np.argwhere((thetas < lo) | (thetas > hi))
        if bad.size:
            i, j = bad[0]
            # A bound moved by the eval's unit names it: a hand-edited units field was reported as a bad theta.
            moved = (f" (moved by its fitting unit {units[i]:g}, {where}.units)" if shift[i, j] != 0.0 else "")
            raise InputError(f"{where}.thetas: {targets[i]}'s {names[j]} = {thetas[i, j]:.6g} lies outside "
                             f"[{lo[i, j]:g}, {hi[i, j]:g}], the bounds of the fit{moved}")
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
        return cls(thetas, domains, targets, int(ref), w_range, law=law, z_max=z_max, size=size, time=time,
                   units=units)


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
