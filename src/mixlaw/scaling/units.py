r"""Scaling laws fitted in the unit of their losses, their parameters reported in the losses' own unit.

Every scaling law here is :math:`L = E + \sum_k C_k x_k^{-a_k}` (the joint law adds :math:`k e^{z(r)}`): losses
``y`` given in another unit, :math:`u y`, are fitted by :math:`u E`, :math:`\log C_k + \log u` (and
:math:`\log k + \log u`) with the same exponents, and the objective (Huber on log residuals) is the same. The
engine is not: its tests and steps are absolute in the parameters (E's tolerance and smallest step, the bounds of
the log coefficients, the least-squares floors of the starts), so a table whose losses were given x 1e9 moved the
pipeline's target predictions by 4.5 % (nested route) and 4.1 % (direct), and x 1e-15 by 43 % and 2270 %
(``tests/test_pipeline_loss_units.py``'s world). So each law fits losses whose median lies outside
:data:`mixlaw.laws.units.LOSS_UNIT_RANGE` divided by :func:`~mixlaw.laws.units.loss_unit` (the power of 10 that brings
the median into [1, 10), as the mixing laws do), and maps E and the log coefficients back: values, inits, bounds,
standard errors and bound notes. Losses of normal size are fitted as they are, bit for bit.

Which parameters carry the unit, by name: ``E`` and ``E<g>`` (a curve's E in a shared-exponent fit) scale with
it, every ``log_*`` (``log_A``, ``log_B``, ``log_k``, ``log_A<g>``) moves by its log.
"""

from __future__ import annotations

import numpy as np

from ..fit import FitResult
from ..laws.units import UnitKind, loss_unit, value_in_unit
from ..laws.units import result_from_unit as _result_from_unit

__all__ = ["loss_unit", "unit_kind", "value_in_unit", "result_from_unit", "theta_in_unit"]

_SCALE, _LOG = ("scale", 1), ("log", 1)


def unit_kind(name: str) -> UnitKind:
    """('scale', 1) for a parameter in the losses' unit (``E``, ``E<g>``), ('log', 1) for one in its log
    (``log_*``), else None (exponents, mixture terms)."""
    if name == "E" or (name[:1] == "E" and name[1:].isdigit()):
        return _SCALE
    if name.startswith("log_"):
        return _LOG
    return None


def result_from_unit(res: FitResult, unit: float) -> FitResult:
    """A fit made in ``unit`` with its parameters (values, inits, bounds, standard errors) and bound notes in the
    losses' own unit (:func:`mixlaw.laws.units.result_from_unit`, the mixing laws' mapping, by :func:`unit_kind`)."""
    return _result_from_unit(res, unit, unit_kind)


def theta_in_unit(theta: np.ndarray, names: list[str], unit: float, back: bool = False) -> np.ndarray:
    """A parameter vector (``names`` in order) in the fitting unit ``unit`` (``back``: to the losses' own)."""
    if unit == 1.0:
        return theta
    out = np.array(theta, dtype=np.float64)
    for j, n in enumerate(names):
        out[j] = value_in_unit(unit_kind(n), float(out[j]), unit, back)
    return out
