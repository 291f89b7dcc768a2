"""The check every optimum built from fitted runs needs first: more runs than the law has parameters.

(The whole path from a run table to an optimum, with bootstrap intervals, is :func:`mixlaw.api.optimize_runs`:
it needs :mod:`mixlaw.bootstrap`, a layer above this package.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import InputError
from ..laws.base import MixingLaw
from .objective import Objective, _objective_weights


def check_enough_runs(law: MixingLaw) -> None:
    """Raise :class:`InputError` when a fitted law has no more runs than parameters per fitted problem, or when
    its model is constant for some eval set (LightGBM on too few runs to split): it cannot rank mixtures, and
    an "optimum" would be the starting mixture. A ridge law fitted with fewer runs than coefficients (``alpha > 0``)
    needs more runs than the parameters its ridge leaves unpenalised, as its fit did
    (:func:`mixlaw.fit.ridge_counted_params`): ye-pow with ``alpha="cv"`` on 30 runs of Marin Delphi's 39 domains."""
    flat = getattr(law, "_ridge_flat", None) or {}
    for name, res in (getattr(law, "results_", {}) or {}).items():
        need = flat.get(name, res.n_vary)
        if res.n_obs <= need:
            raise InputError(f"{res.n_obs} runs are too few for law {law.key!r}, which fits {need} parameters "
                             f"for {name!r}: need at least {need + 1} runs")
    check_not_constant(law)


def check_not_constant(law: MixingLaw) -> None:
    """Raise :class:`InputError` when a law predicts one value for every mixture on some eval set
    (``constant_targets_``: LightGBM whose trees could not split), whether fitted here or loaded from a file."""
    constant = list(getattr(law, "constant_targets_", []) or [])
    if constant:
        raise InputError(f"law {law.key!r} is constant for {constant} (every mixture gets the same prediction), so "
                         f"it cannot choose a mixture: add runs, lower its min_child_samples, or use another law")


def best_measured_run(table: Any, targets: list[str], objective: Objective, maximize: bool = False,
                      law: MixingLaw | None = None, at: Mapping[str, float | None] | None = None,
                      ) -> dict[str, Any] | None:
    """The run of ``table`` whose measured ``objective`` of the ``targets`` is best (lowest, or highest when
    ``maximize``): ``{"run", "row", "line", "objective"}`` (``row`` 0-based, ``line`` its line in the table's file:
    :meth:`RunTable.source_line`), or None for a callable objective. The choice that needs no law, against which an
    optimum's predicted objective is read (:attr:`OptimumResult.best_run`). ``law``: the law whose optimum it is
    read beside, so that ye-total's ``'total'`` is its composition's total here too (the plain sum of the losses
    was printed beside its weighted total: 9.39 for a predicted 4.64, a 'gain' of 51 %). ``at``: the scale the
    optimum is read at (``{"params": N, "tokens": D}``, None for either not given): only the runs measured there
    (within 1 %) are compared, None when there is none. A run of another scale measures another loss: bimix
    optimised at 1e8 tokens was compared with a run at 4e8, whose loss no mixture reaches at 1e8 ("predicted worse
    than this run measured: the law does not reproduce your best runs")."""
    _, s = _objective_weights(objective, targets, law)
    # A row that misses a loss (a ragged fit's rows: NaN) has no measured objective; it is passed over.
    Y = table.losses(targets, allow_missing=True).reshape(len(table), -1)
    truth = Y @ s if s is not None else Y.max(axis=1) if objective == "max" else None
    for key, col in (("params", table.model_params), ("tokens", table.tokens)):
        value = (at or {}).get(key)
        if truth is not None and value is not None and col is not None:
            truth = np.where(np.abs(np.asarray(col, dtype=float) / float(value) - 1.0) <= 0.01, truth, np.nan)
    if truth is None or not np.isfinite(truth).any():
        return None
    i = int(np.nanargmax(truth) if maximize else np.nanargmin(truth))
    return {"run": str(table.runs[i]), "row": i, "line": table.source_line(i), "objective": float(truth[i])}
