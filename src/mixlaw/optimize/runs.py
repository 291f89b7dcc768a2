"""The check every optimum built from fitted runs needs first: more runs than the law has parameters.

(The whole path from a run table to an optimum, with bootstrap intervals, is :func:`mixlaw.api.optimize_runs`:
it needs :mod:`mixlaw.bootstrap`, a layer above this package.)
"""

from __future__ import annotations

from ..errors import InputError
from ..laws.base import MixingLaw


def check_enough_runs(law: MixingLaw) -> None:
    """Raise :class:`InputError` when a fitted law has no more runs than parameters per fitted problem."""
    for name, res in (getattr(law, "results_", {}) or {}).items():
        if res.n_obs <= res.n_vary:
            raise InputError(f"{res.n_obs} runs are too few for law {law.key!r}, which fits {res.n_vary} parameters "
                             f"for {name!r}: need at least {res.n_vary + 1} runs")
