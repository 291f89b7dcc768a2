"""Ye et al.'s *steps-to-match* figures: how many steps of the default mixture an optimised mixture is
worth, from the default's step law L(S) = E + B / S^beta (Ye et al., ICLR 2025, arXiv:2403.16952, §4:
73 % of the steps, +48 % equivalent training).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from .objective import loss_decimals, objective_text

#: Why a figure is not a number (``nan``): one curve does not reach the other's loss where it was looked for.
_NO_CROSSING = "no crossing of the two curves found"
#: Why the equivalent training is infinite: the optimum's loss lies below the default's asymptote E.
_UNBOUNDED = "unbounded: the default never reaches the optimum's loss (it lies below the default's asymptote E)"


@dataclass
class StepsToMatch:
    """Ye's two figures for an optimised mixture against the default one.

    Attributes
    ----------
    target_steps : float
        Steps of the target run, S_T.
    default_loss : float
        The default mixture's final loss L_def(S_T).
    optimum_loss : float
        The optimised mixture's predicted loss at S_T.
    steps_fraction : float
        S_match / S_T: the fraction of the steps at which the optimised run reaches ``default_loss``
        (Ye: 0.73). ``nan`` if it never does within the model.
    equivalent_steps : float
        S_eq: the steps the default mixture needs to reach ``optimum_loss`` (``inf`` if never: the
        optimum is below the default's asymptote E).
    extra_training : float
        S_eq / S_T - 1 (Ye: +0.48).
    assumption : str
        How the optimised run's curve was obtained (given, or same E and beta as the default).
    unit : {"step", "token"}, default="step"
        The axis the figures are on: a pipeline fitted over tokens (no step column) gives them in tokens, and
        ``target_steps`` / ``equivalent_steps`` are then token counts D_T / D_eq.
    """

    target_steps: float
    default_loss: float
    optimum_loss: float
    steps_fraction: float
    equivalent_steps: float
    extra_training: float
    assumption: str
    unit: str = "step"

    def to_dict(self) -> dict[str, Any]:
        """The figures by name (``--json``'s ``steps_to_match``). The two counts are named by their axis:
        ``target_steps`` / ``equivalent_steps`` on the step axis, ``target_tokens`` / ``equivalent_tokens`` on the
        token axis (``unit`` says which); the ratios ``steps_fraction`` and ``extra_training`` keep their names on
        both. A tokens pipeline's JSON said ``"target_steps": 4.6e10`` for a token count."""
        axis = "tokens" if self.unit == "token" else "steps"
        out: dict[str, Any] = {f"target_{axis}": self.target_steps, "default_loss": self.default_loss,
                               "optimum_loss": self.optimum_loss, "steps_fraction": self.steps_fraction,
                               f"equivalent_{axis}": self.equivalent_steps, "extra_training": self.extra_training,
                               "assumption": self.assumption, "unit": self.unit}
        # A figure the curves do not give is null in --json; its reason says so in the printed words, not the
        # generic "not a number: undefined for these data (e.g. an R^2 ... with a zero denominator)" (or
        # "infinite: ... a prediction that overflowed") that a null gets by default.
        for key, value in (("steps_fraction", self.steps_fraction), (f"equivalent_{axis}", self.equivalent_steps),
                           ("extra_training", self.extra_training)):
            if value == math.inf:
                out[f"{key}_reason"] = _UNBOUNDED
            elif not math.isfinite(value):
                out[f"{key}_reason"] = f"{_NO_CROSSING} ({self.assumption})"
        return out

    def __str__(self) -> str:
        sym, what = ("D", "tokens") if self.unit == "token" else ("S", "steps")
        # A crossing the curves do not make is said in words, not printed as "nan%" (the pipeline's note says
        # where it was looked for); an optimum below the default's asymptote is worth unbounded training.
        none = _NO_CROSSING
        reach = (f" at {self.steps_fraction:.1%} of the {what}" if math.isfinite(self.steps_fraction) else f": {none}")
        if math.isfinite(self.extra_training):
            worth = (f"optimum is worth {self.extra_training:+.1%} training of the default ({sym}_eq = "
                     f"{self.equivalent_steps:.4g})")
        elif self.extra_training == math.inf:
            worth = "optimum is worth unbounded training of the default (it never reaches the optimum's loss)"
        else:
            worth = f"the training of the default the optimum is worth: {none}"
        dec = loss_decimals(self.default_loss, self.optimum_loss)
        return (f"    default final loss {objective_text(self.default_loss, dec)} at {sym}={self.target_steps:.4g}; "
                f"optimum {objective_text(self.optimum_loss, dec)}\n"
                f"    optimum reaches the default's final loss{reach}\n"
                f"    {worth}\n    ({self.assumption})")


def _step_params(law: Any, what: str) -> tuple[float, float, float]:
    """(E, B, beta) from a step law object (attributes or fitted ``params_``), a mapping or a triple."""
    if isinstance(law, Mapping):
        vals = (law.get("E"), law.get("B"), law.get("beta"))
    elif isinstance(law, (tuple, list)) and len(law) == 3:
        vals = tuple(law)
    else:
        vals = tuple(getattr(law, k, None) for k in ("E", "B", "beta"))
        if any(v is None for v in vals) and hasattr(law, "params_"):
            p = law.params_
            vals = tuple(p[k].value if k in p else None for k in ("E", "B", "beta"))
        if any(v is None for v in vals) and hasattr(law, "E_"):
            vals = (law.E_, law.B_, law.beta_)
    try:
        E, B, beta = (float(v) for v in vals)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{what}: expected a step law L(S) = E + B / S^beta with E, B, beta; got {law!r}") from None
    if not (np.isfinite(E) and B > 0 and beta > 0):
        raise InputError(f"{what}: need finite E, B > 0 and beta > 0; got E={E:g}, B={B:g}, beta={beta:g}")
    return E, B, beta


def steps_to_match(default_step_law: Any, optimum_loss: float, target_steps: float,
                   optimum_step_law: Any = None) -> StepsToMatch:
    """Ye's steps-to-match figures of an optimised mixture against the default.

    With the default mixture's step law :math:`L_{def}(S) = E + B / S^{\\beta}` and target steps
    :math:`S_T`:

    .. math::

        S_{eq} = \\Big(\\frac{B}{L_{opt} - E}\\Big)^{1/\\beta}, \\qquad
        \\text{extra} = S_{eq} / S_T - 1

    is the training of the default that the optimum is worth (Ye: +48 %), and the optimised run's step law
    :math:`L_{opt}(S) = E' + B' / S^{\\beta'}` reaches the default's final loss at

    .. math:: S_{match} = \\Big(\\frac{B'}{L_{def}(S_T) - E'}\\Big)^{1/\\beta'}

    reported as the fraction :math:`S_{match} / S_T` (Ye: 73 %).

    Parameters
    ----------
    default_step_law : object, mapping or (E, B, beta)
        Step law of the default mixture: an object with attributes ``E``, ``B``, ``beta`` (e.g.
        :class:`mixlaw.scaling.StepLaw`), or fitted ``params_`` with those names, a mapping or a triple.
    optimum_loss : float
        The optimised mixture's (predicted) loss at ``target_steps``.
    target_steps : float
        Steps of the target run, > 0.
    optimum_step_law : same types, optional
        The optimised run's own step law (from its checkpoints). Without it, the optimised curve is assumed
        to share the default's asymptote E and exponent beta, with B' set so that it passes through
        ``optimum_loss`` at S_T: then :math:`S_{match}/S_T = 1 / (1 + \\text{extra})` exactly. Ye measured the
        optimised run's curve (73 % vs 1/1.48 = 68 %), so pass it when you have it.

    Returns
    -------
    StepsToMatch

    Raises
    ------
    InputError
        A step law without E, B > 0, beta > 0, or target_steps <= 0.

    References
    ----------
    Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952, §4 (73 % of the steps, +48 %).

    Examples
    --------
    >>> r = steps_to_match((2.0, 10.0, 0.5), optimum_loss=2.0 + 10.0 / 20.0, target_steps=100.0)
    >>> round(r.extra_training, 6), round(r.steps_fraction, 6)
    (3.0, 0.25)
    """
    E, B, beta = _step_params(default_step_law, "default_step_law")
    S_T = float(target_steps)
    if not (np.isfinite(S_T) and S_T > 0):
        raise InputError(f"target_steps must be > 0; got {target_steps!r}")
    L_opt = float(optimum_loss)
    L_def = E + B / S_T ** beta
    S_eq = (B / (L_opt - E)) ** (1.0 / beta) if L_opt > E else math.inf
    if optimum_step_law is None:
        E2, beta2 = E, beta
        B2 = (L_opt - E) * S_T ** beta
        assumption = "optimised curve assumed to share the default's E and beta"
        if B2 <= 0:
            frac = math.nan
        else:
            frac = (B2 / (L_def - E2)) ** (1.0 / beta2) / S_T
    else:
        E2, B2, beta2 = _step_params(optimum_step_law, "optimum_step_law")
        assumption = "optimised curve from its own step law"
        frac = (B2 / (L_def - E2)) ** (1.0 / beta2) / S_T if L_def > E2 else math.nan
    return StepsToMatch(target_steps=S_T, default_loss=L_def, optimum_loss=L_opt, steps_fraction=float(frac),
                        equivalent_steps=float(S_eq), extra_training=float(S_eq / S_T - 1.0), assumption=assumption)
