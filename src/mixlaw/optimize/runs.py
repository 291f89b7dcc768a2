"""The check every optimum built from fitted runs needs first: more runs than the law has parameters.

(The whole path from a run table to an optimum, with bootstrap intervals, is :func:`mixlaw.api.optimize_runs`:
it needs :mod:`mixlaw.bootstrap`, a layer above this package.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..data import SAME_SIZE_RTOL
from ..errors import InputError
from ..laws.base import MixingLaw
from .objective import Objective, _objective_weights
from .result import OptimumResult
from .simulate import nearest_run_l1, run_spacing_l1


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


def rows_at_scale(table: Any, at: Mapping[str, float | None] | None) -> np.ndarray | None:
    """Which rows of ``table`` were measured at the scale ``at`` (``{"params": N, "tokens": D}``, None for either
    not given), within :data:`~mixlaw.data.SAME_SIZE_RTOL` (1 %, as the pipeline merges sizes): a boolean mask, or
    None when no scale was asked of a column the table has."""
    here = None
    for key, col in (("params", table.model_params), ("tokens", table.tokens)):
        value = (at or {}).get(key)
        if value is not None and col is not None:
            close = np.abs(np.asarray(col, dtype=float) / float(value) - 1.0) <= SAME_SIZE_RTOL
            here = close if here is None else here & close
    return here


def scale_words(at: Mapping[str, float | None] | None) -> str:
    """The scale asked in words, "1e+08 tokens" or "1e+09 params, 2e+10 tokens" ("" for none)."""
    return ", ".join(f"{v:.4g} {k}" for k, v in (at or {}).items() if v is not None)


def natural_at_scale(table: Any, W: np.ndarray, at: Mapping[str, float | None] | None) -> tuple[np.ndarray, str]:
    """The natural mixture of an optimum read at the scale ``at``: the mean of the runs' mixtures ``W`` (rows of
    ``table``) measured there (within 1 %, :func:`rows_at_scale`), and where it came from; where no run was, the
    mean of every run, said so. 'optimize --tokens 4e8' on runs at 1e8, 4e8 and 1.6e9 tokens compared its optimum
    with the mean of all 16 runs (web 0.506), where the 6 runs at 4e8 average 0.474."""
    here = rows_at_scale(table, at)
    if here is None:
        return W.mean(axis=0), "mean of the runs"
    if not here.any():
        return W.mean(axis=0), f"mean of the runs; no run was measured at {scale_words(at)}: of every scale"
    return W[here].mean(axis=0), f"mean of the runs at {scale_words(at)}"


def name_nearest_run(result: OptimumResult, table: Any, W: np.ndarray | None,
                     at: Mapping[str, Any] | None = None) -> None:
    """The optimum's nearest run by name and line in ``table`` (its rows' mixtures ``W``): the run a reader can look
    up (a sweep's design name, dd-003-200k), not only its 0-based row. Where a scale was asked (``at``), among the
    runs measured there; where none was, the nearest of every scale, said so (``nearest_run_scale``). A run of
    another scale is not the optimum's neighbour: bimix optimised at 1e8 tokens on runs at 1e8 and 4e8 named a run
    at 4e8, at L1 0.0000, as its nearest run, where the nearest at 1e8 lay 0.041 away.

    Also the runs' spacing (``runs_spacing_l1``, what that distance is read against): of the same runs, those at
    the scale asked where some were measured there, else every run. Set here once: the callers computed it for
    every run and then, with a scale asked, again for the runs at it (O(runs^2) each)."""
    here = None if W is None or result.nearest_run is None else rows_at_scale(table, at)
    if here is not None and not here.any():
        result.nearest_run_scale = f"no run was measured at {scale_words(at)}: the nearest of every scale"
    elif here is not None:
        idx = np.flatnonzero(here)
        d, j = nearest_run_l1(result.weight_array(), W[idx])
        result.nearest_run_l1, result.nearest_run = d, int(idx[j])
        W = W[idx]
        result.nearest_run_scale = f"of the runs at {scale_words(at)}"
    if W is not None:
        result.runs_spacing_l1 = run_spacing_l1(W)
    if result.nearest_run is not None:
        result.nearest_run_name = str(table.runs[result.nearest_run])
        result.nearest_run_line = table.source_line(result.nearest_run)


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
    here = rows_at_scale(table, at)
    if truth is not None and here is not None:
        truth = np.where(here, truth, np.nan)
    if truth is None or not np.isfinite(truth).any():
        return None
    i = int(np.nanargmax(truth) if maximize else np.nanargmin(truth))
    return {"run": str(table.runs[i]), "row": i, "line": table.source_line(i), "objective": float(truth[i])}
