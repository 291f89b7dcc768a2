"""Scaling laws over training steps and model size (DESIGN.md §6).

The package holds the scaling-law estimators (:mod:`.laws`: :class:`StepLaw` :math:`L(S) = E + B/S^{\\beta}`,
:class:`SizeLaw` :math:`L(N) = E + A/N^{\\alpha}`, :class:`ChinchillaLaw`
:math:`L(N, D) = E + A/N^{\\alpha} + B/D^{\\beta}`, and :func:`fit_shared_exponent`) and the batched fits of many
curves at once that the nested pipeline's step and size stages use (:mod:`.batched`: :func:`fit_curves`,
:func:`fit_shared_exponents`). All fit Huber on log residuals with the shared engine (:mod:`mixlaw.fit`), on losses
in any unit alike (:mod:`.units`).
"""

from .batched import EXPONENT_BOUNDS, EXPONENT_GRID, LOG_COEF_BOUNDS, fit_curves, fit_shared_exponents
from .laws import ChinchillaLaw, SizeLaw, StepLaw, fit_shared_exponent

__all__ = ["StepLaw", "SizeLaw", "ChinchillaLaw", "fit_shared_exponent", "fit_shared_exponents", "fit_curves",
           "EXPONENT_GRID", "EXPONENT_BOUNDS", "LOG_COEF_BOUNDS"]
