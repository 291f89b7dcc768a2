"""One fixed route and law: :func:`fit_route` validates the table and target, then runs the nested or direct route.

Checks the ``params``/``step`` (or ``tokens``) columns, that the target lies at or beyond the data, applies
``fit_from`` (early checkpoints of each curve left out), and hands the cleaned table to the nested or direct
route (:mod:`.nested`, :mod:`.direct`). :func:`fit_candidates` does the same for several (route, law) pairs at
once, fitting the nested route's step laws once for all its mixing laws; :mod:`.auto` chooses among them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_random_state
from ..data import RunTable
from ..errors import InputError, MixlawError
from .direct import _direct
from .nested import _nested_many
from .result import ROUTES, PipelineResult, _check_fit_from, _mixture_ids, _Target, _tokens_per_step


def fit_route(table: RunTable, *, target_params: float, target_steps: float | None = None,
              target_tokens: float | None = None, route: str = "nested", law: str = "ye-exp", targets: Any = "all",
              random_state: int | np.random.Generator | None = 0, law_options: dict[str, Any] | None = None,
              shared_exponents: bool | str = True, fit_from: float = 0.0,
              warm: PipelineResult | None = None) -> PipelineResult:
    """:func:`~mixlaw.pipeline.fit_pipeline` with one fixed route and mixing law (its parameters, no ``auto``);
    ``warm`` as in :func:`fit_candidates`."""
    out = fit_candidates(table, target_params=target_params, target_steps=target_steps, target_tokens=target_tokens,
                         candidates=[(route, law)], targets=targets, random_state=random_state,
                         law_options=law_options, shared_exponents=shared_exponents, fit_from=fit_from,
                         warm=None if warm is None else {(route, law): warm})
    res = out[(route, law)]
    if isinstance(res, MixlawError):
        raise res
    return res


def fit_candidates(table: RunTable, *, target_params: float, target_steps: float | None = None,
                   target_tokens: float | None = None, candidates: list[tuple[str, str]], targets: Any = "all",
                   random_state: int | np.random.Generator | None = 0, law_options: dict[str, Any] | None = None,
                   shared_exponents: bool | str = True, fit_from: float = 0.0,
                   warm: dict[tuple[str, str], PipelineResult] | None = None,
                   ) -> dict[tuple[str, str], PipelineResult | MixlawError]:
    """Fit every (route, law) of ``candidates``; a candidate that cannot be fitted maps to its error.

    Bad arguments and a table the pipeline cannot read at all still raise :class:`InputError`. The nested
    candidates share one stage 1 (their step laws are identical), so adding a mixing law costs its own fit only.
    ``warm`` maps a (route, law) to its result on nearby data (the jackknife's and the backtest's refits): the
    mixing law (nested) or joint law (direct) then starts from its parameters, one start, the usual multistart
    only when that does not converge.
    """
    for route, _ in candidates:
        if route not in ROUTES:
            raise InputError(f"route must be one of {ROUTES}; got {route!r}")
    Nt, Tt, axis, names, fit_from = check_inputs(table, target_params, target_steps, target_tokens, targets,
                                                 shared_exponents, fit_from)
    N_all = table.model_params
    T_all = table.steps if axis == "step" else table.tokens
    assert N_all is not None and T_all is not None
    msgs: list[str] = []
    keep = T_all > 0
    if not keep.all():
        msgs.append(f"{int((~keep).sum())} row(s) at {axis} <= 0 ignored (the step law needs S > 0)")
        table = table.subset(keep)
    if fit_from > 0:
        T = table.steps if axis == "step" else table.tokens
        assert T is not None
        # A curve is one mixture at one size (a run id may span sizes when the table is keyed that way).
        _, mix = _mixture_ids(table.weights)
        last = pd.Series(T).groupby([mix, table.model_params]).transform("max").to_numpy()
        late = T >= fit_from * last - 1e-9
        msgs.append(f"fit_from={fit_from:g}: {int((~late).sum())} early checkpoint(s) of {len(late)} left out")
        table = table.subset(late)
    rng = check_random_state(random_state)
    at = _Target(Nt, Tt, axis, _tokens_per_step(table))
    opts = dict(law_options or {})
    results: dict[tuple[str, str], PipelineResult | MixlawError] = {}
    nested_laws = list(dict.fromkeys(law for route, law in candidates if route == "nested"))
    if nested_laws:
        try:
            warm_laws = {law: r.mixing_law for (route, law), r in (warm or {}).items()
                         if route == "nested" and isinstance(r, PipelineResult) and list(r.targets) == names}
            for law, res in _nested_many(table, at, nested_laws, names, rng, opts, list(msgs),
                                         shared_exponents, warm_laws).items():
                results[("nested", law)] = res
        except MixlawError as err:
            results.update({("nested", law): err for law in nested_laws})
    for route, law in candidates:
        if route == "direct" and (route, law) not in results:
            try:
                results[(route, law)] = _direct(table, at, law, names, rng, opts, list(msgs),
                                                (warm or {}).get((route, law)))
            except MixlawError as err:
                results[(route, law)] = err
    for res in results.values():
        if isinstance(res, PipelineResult):
            res.target_steps, res.target_tokens, res.time_axis = at.steps, at.tokens, axis
    return results


def check_inputs(table: Any, target_params: Any, target_steps: Any, target_tokens: Any, targets: Any,
                 shared_exponents: Any, fit_from: Any) -> tuple[float, float, str, list[str], float]:
    """Validate the pipeline's table and arguments: (N*, T*, time axis, eval names, fit_from), or InputError."""
    if not isinstance(table, RunTable):
        raise InputError(f"the pipeline needs a RunTable; got {type(table).__name__}")
    where = table.path or "run table"
    if "params" not in table.frame.columns:
        raise InputError(f"{where}: the pipeline needs a 'params' column (the model size of each row)")
    if len(table.frame) == 0:
        raise InputError(f"{where}: the table has no rows; the pipeline needs checkpoints of runs at 3 or more "
                         "model sizes")
    if shared_exponents not in ("auto", True, False):
        raise InputError(f"shared_exponents must be 'auto', True or False; got {shared_exponents!r}")
    fit_from = _check_fit_from(fit_from)
    if (target_steps is None) == (target_tokens is None):
        raise InputError("give exactly one of target_steps and target_tokens (the target run's length)")
    axis = "step" if target_tokens is None else "tokens"
    # Only the column of the target's axis is needed: a sweep that logs tokens alone (Dai & Zheng's SlimPajama
    # runs) extrapolates in tokens; one that logs steps alone, in steps.
    if axis == "tokens" and "tokens" not in table.frame.columns:
        raise InputError(f"{where}: target_tokens needs a 'tokens' column (tokens seen at each checkpoint)")
    if axis == "step" and "step" not in table.frame.columns:
        hint = " (the table has 'tokens': give target_tokens instead)" if "tokens" in table.frame.columns else ""
        raise InputError(f"{where}: target_steps needs a 'step' column (the checkpoint step of each row){hint}")
    raw = target_steps if axis == "step" else target_tokens
    try:
        Nt, Tt = float(target_params), float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"target_params and target_{axis.rstrip('s')}s must be numbers; got {target_params!r}, "
                         f"{raw!r}") from None
    # A target inside the runs' range is interpolation, as in PipelineResult.predict(params=, steps=).
    if not (np.isfinite(Nt) and Nt > 0):
        raise InputError(f"target_params must be a positive model size; got {Nt:g}")
    if not (np.isfinite(Tt) and Tt > 0):
        raise InputError(f"target_{axis.rstrip('s')}s must be a positive {axis.rstrip('s')} count; got {Tt:g}")
    names = table.resolve_targets(targets)
    return Nt, Tt, axis, names, fit_from
