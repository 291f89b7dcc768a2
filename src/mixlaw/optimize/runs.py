"""From a run table to an optimum (what ``mixlaw optimize`` runs): fit the chosen law, check there are
more runs than parameters, optimise, and optionally bootstrap the optimum and add Ye's steps-to-match.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..errors import InputError
from ..laws.base import MixingLaw, get_law
from .objective import Objective
from .result import OptimumResult
from .search import optimize_mixture
from .steps import steps_to_match


def check_enough_runs(law: MixingLaw) -> None:
    """Raise :class:`InputError` when a fitted law has no more runs than parameters per fitted problem."""
    for name, res in (getattr(law, "results_", {}) or {}).items():
        if res.n_obs <= res.n_vary:
            raise InputError(f"{res.n_obs} runs are too few for law {law.key!r}, which fits {res.n_vary} parameters "
                             f"for {name!r}: need at least {res.n_vary + 1} runs")


def optimize_runs(table: Any, *, law: str | MixingLaw = "ye-exp", targets: str | Sequence[str] = "all",
                  objective: Objective = "mean", n_boot: int = 0, n_jobs: int | None = None,
                  step_law: Any = None, target_steps: float | None = None,
                  random_state: int = 0, on_progress: Callable[[int], None] | None = None,
                  **constraints: Any) -> OptimumResult:
    """Fit ``law`` to a run table and return its optimal mixture (what ``mixlaw optimize`` runs).

    Parameters
    ----------
    table : RunTable
    law : str or MixingLaw, default="ye-exp"
    targets : str or list of str, default="all"
        Eval sets the law is fitted on and the objective combines.
    objective : see :func:`optimize_mixture`
    n_boot : int, default=0
        Bootstrap refits over runs for intervals on the weights and the predicted losses (0: none).
    n_jobs : int, optional
        Bootstrap worker processes.
    step_law, target_steps : optional
        The default mixture's step law ``(E, B, beta)`` and the target steps: adds Ye's steps-to-match
        figures for the objective (the law's predictions must then be at ``target_steps``).
    random_state : int, default=0
    on_progress : callable, optional
        Called with the number of bootstrap refits just finished (total ``n_boot``).
    **constraints
        ``bounds``, ``fixed``, ``tokens_available``, ``target_tokens``, ``max_epochs``, ``within_fitted_range``,
        ``n_starts``, ``natural`` as in :func:`optimize_mixture`. The natural mixture defaults to the token
        shares, else the mean mixture of the runs.

    Returns
    -------
    OptimumResult
    """
    est = get_law(law, random_state=random_state) if isinstance(law, str) else law
    names = table.resolve_targets(targets)
    opt_kw = dict(constraints)
    opt_kw["objective"] = objective
    opt_kw["random_state"] = random_state
    if opt_kw.get("natural") is None and opt_kw.get("tokens_available") is None:
        opt_kw["natural"] = table.weights.mean(axis=0)
    if (step_law is None) != (target_steps is None):
        raise InputError("steps-to-match needs both the default mixture's step law and the target steps")
    fitted = est.clone().fit(table, targets=names)
    check_enough_runs(fitted)  # before spending n_boot refits
    if n_boot:
        from ..bootstrap import bootstrap_law

        result = bootstrap_law(est, table, names, n=n_boot, random_state=random_state, n_jobs=n_jobs,
                               optimize=opt_kw, on_progress=on_progress).optimum
    else:
        result = optimize_mixture(fitted, **opt_kw)
    if step_law is not None:
        result.steps = steps_to_match(step_law, result.objective, float(target_steps))  # type: ignore[arg-type]
    return result
