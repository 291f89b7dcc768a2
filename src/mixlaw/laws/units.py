"""Loss units: every mixing law fits losses far from order 1 (a metric x 1e-9) in a power of 10 and reports its
parameters in the losses' own unit.

:class:`LossUnits` (a mixin of :class:`~mixlaw.laws.base.MixingLaw`) holds the whole mechanism: a law names its
parameters in a power of the losses' unit (:attr:`LossUnits.loss_unit_params`) or the log of one
(:attr:`LossUnits.log_loss_unit_params`); its fit picks the unit (:meth:`LossUnits._loss_unit`, from
:func:`loss_unit`), runs inside ``with self._fitting_in(unit):`` so that the user's bounds and fixed values are read
in it (:meth:`LossUnits._overrides_in_unit`), and maps the fitted parameters back
(:meth:`LossUnits._result_from_unit`). :class:`PerTargetLossUnits` adds what per-eval laws need: parameter names
'<eval>.<name>', the prefix cut by the eval's name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from numbers import Real
from typing import Any, ClassVar

import numpy as np

from ..fit import FitResult, Params, at_bound, bound_note

#: Losses whose median lies in [lo, hi) are fitted as they are; others in the unit 10**k that brings the median
#: into [1, 10) (:meth:`LossUnits._loss_unit`). The engine's tests are absolute in the parameters (its gradient
#: test, its smallest step, log_k's bounds and random starts): ye-exp converged from every start on losses 2-3 and
#: from none on the same losses x 1e-9 (a metric in other units), and ye-pow's and additive's optima moved by
#: 0.6 % and 3.4 % at x 1e9. Across this range's edges a fit moves by the engine's tolerance: ye-exp and additive
#: by <= 4e-10 between medians 0.00999 and 0.0101 (or 999 and 1001), ye-pow by 1.4e-5, ye-implicit by 8.2e-5
#: (review27a; tests/laws/test_loss_units.py checks x 1e-9 and x 1e9 to 1e-6).
LOSS_UNIT_RANGE = (1e-2, 1e3)


def loss_unit(y: np.ndarray) -> float:
    """1 when the median of losses ``y`` lies in :data:`LOSS_UNIT_RANGE` (or is not a positive number), else the
    power of 10 that brings it into [1, 10): the unit :meth:`LossUnits._loss_unit` fits them in."""
    y = np.asarray(y, dtype=np.float64)
    med = float(np.nanmedian(y)) if np.isfinite(y).any() else 1.0
    lo, hi = LOSS_UNIT_RANGE
    if not med > 0 or lo <= med < hi:
        return 1.0
    return float(10.0 ** np.floor(np.log10(med)))


#: A parameter's relation to the losses' unit: ('scale', power) for an amount in unit**power, ('log', power) for
#: the log of one; None for a parameter free of it (exponents, mixture terms).
UnitKind = tuple[str, int] | None


def value_in_unit(kind: UnitKind, value: float, unit: float, back: bool = False) -> float:
    """``value`` of a parameter of ``kind`` in the fitting unit ``unit`` (``back``: from it to the losses' own)."""
    if kind is None or unit == 1.0:
        return value
    power = kind[1] if back else -kind[1]
    return value * unit ** power if kind[0] == "scale" else value + power * np.log(unit)


def result_from_unit(res: FitResult, unit: float, kind_of: Callable[[str], UnitKind]) -> FitResult:
    """A fit made in ``unit`` with its parameters (values, inits, bounds, stderrs) and bound notes in the losses'
    own unit, each parameter's relation to the unit given by ``kind_of(name)``; objective, residuals and
    correlations are the same in both (log residuals). What every mixing law (:class:`LossUnits`) and the
    pipeline's scaling laws (:mod:`mixlaw.scaling.units`) map their fits back with."""
    if unit == 1.0:
        return res
    new, notes = [], {}
    for p in res.params.values():
        kind = kind_of(p.name)
        if kind is None:
            new.append(p)
            continue
        def back(v: float, k: UnitKind = kind) -> float:
            return float(value_in_unit(k, v, unit, back=True))
        q = dataclasses.replace(p, value=back(p.value), init=back(p.init), min=back(p.min), max=back(p.max),
                                stderr=None if p.stderr is None
                                else p.stderr * (unit ** kind[1] if kind[0] == "scale" else 1.0))
        if p.vary and at_bound(p):
            notes[bound_note(p)] = bound_note(q)
        new.append(q)
    return dataclasses.replace(res, params=Params(new), warnings=[notes.get(m, m) for m in res.warnings])


class LossUnits:
    """The loss-unit half of a law: which parameters are in the losses' unit, the unit a fit runs in, and the
    mapping of values, bounds, stderrs and bound notes between it and the losses' own unit."""

    #: Parameters in a power of the losses' unit, {bare name (one ending in '*' names a prefix): the power}: a fit
    #: run in unit u (:meth:`_loss_unit`) gives value / u**power. A law that names none is fitted on its losses
    #: as given.
    loss_unit_params: ClassVar[dict[str, int]] = {}
    #: Parameters that are the log of an amount in a power of the losses' unit ({"log_k": 1}; additive's log C,
    #: C in 1 / loss: {"log_C_*": -1}): a fit in unit u gives value - power * log(u).
    log_loss_unit_params: ClassVar[dict[str, int]] = {}
    #: The unit the fit under way runs in (:meth:`_fitting_in`); 1 outside a fit. The spec builders
    #: (``MixingLaw._spec``, ``PerTargetLaw._spec_prefixed``) read the user's bounds and fixed values in it.
    _unit_now: float = 1.0

    @contextmanager
    def _fitting_in(self, unit: float) -> Iterator[None]:
        """Run the block with :attr:`_unit_now` set to ``unit``; the previous value is restored after it, also on
        an error (a failed fit must not leave the next one reading the user's values in a stale unit)."""
        prev = self._unit_now
        self._unit_now = unit
        try:
            yield
        finally:
            self._unit_now = prev

    def _bare_param_name(self, name: str) -> str:
        """The name :attr:`loss_unit_params` and :attr:`log_loss_unit_params` match (per-eval laws drop the
        '<eval>.' prefix)."""
        return name

    def _loss_unit(self, y: np.ndarray) -> float:
        """The unit losses ``y`` are fitted in (one eval set's, or all of a joint fit's): 1 when their median lies
        in :data:`LOSS_UNIT_RANGE` (or the law names no parameter in the losses' unit), else the power of 10 that
        brings the median into [1, 10). A power of 10, so that losses given in another unit (x 1e-9) are fitted as
        the same numbers, to rounding."""
        return loss_unit(y) if self.loss_unit_params or self.log_loss_unit_params else 1.0

    def _unit_kind(self, name: str) -> tuple[str, int] | None:
        """('scale' or 'log', the power) for a parameter in the losses' unit, else None."""
        bare = self._bare_param_name(name)
        for kind, names in (("scale", self.loss_unit_params), ("log", self.log_loss_unit_params)):
            for n, power in names.items():
                if bare == n or (n.endswith("*") and bare.startswith(n[:-1])):
                    return kind, power
        return None

    def _in_unit(self, name: str, value: float, unit: float, back: bool = False) -> float:
        """``value`` of parameter ``name`` in the fitting unit ``unit`` (``back``: from it to the losses' own)."""
        return value_in_unit(self._unit_kind(name) if unit != 1.0 else None, value, unit, back)

    def _result_from_unit(self, res: FitResult, unit: float) -> FitResult:
        """A fit made in ``unit`` with its parameters in the losses' own unit (:func:`result_from_unit`)."""
        return result_from_unit(res, unit, self._unit_kind)

    def _overrides_in_unit(self, b: dict[str, Any], f: dict[str, Any], unit: float
                           ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The user's ``bounds`` and ``fixed`` (given in the losses' unit) in the fitting unit ``unit``."""
        if unit == 1.0:
            return b, f
        def numbers(v: Any) -> bool:  # what apply_overrides reads; anything else goes on to its error
            return isinstance(v, Real) and not isinstance(v, bool)
        b = {k: (self._in_unit(k, float(v[0]), unit), self._in_unit(k, float(v[1]), unit))
             if isinstance(v, (tuple, list)) and len(v) == 2 and all(map(numbers, v)) else v
             for k, v in b.items()}
        f = {k: self._in_unit(k, float(v), unit) if numbers(v) else v for k, v in f.items()}
        return b, f


class PerTargetLossUnits(LossUnits):
    """Loss units for laws whose parameters are '<eval>.<name>' (:class:`~mixlaw.laws.base.PerTargetLaw`): each
    eval set is fitted in its own unit, and :attr:`LossUnits.loss_unit_params` name the bare ``<name>``."""

    def _set_unit_targets(self, targets: Sequence[str]) -> None:
        """The eval names :meth:`_bare_param_name` cuts '<eval>.' by, longest first ('paloma.web' before 'paloma')."""
        self._unit_targets = sorted(targets, key=len, reverse=True)

    def _bare_param_name(self, name: str) -> str:
        """'<eval>.<name>' or bare. The prefix is cut by the eval's name, not at the first dot: an eval named
        'paloma.web' fitted x 1e-9 kept its c in the fitting unit (predictions x 1e9) when it was (review27a)."""
        targets = getattr(self, "_unit_targets", None)
        if targets is None:  # not fitted here: the first dot
            return name.split(".", 1)[1] if "." in name else name
        for t in targets:  # longest first (_set_unit_targets)
            if name.startswith(f"{t}."):
                return name[len(t) + 1:]
        return name
