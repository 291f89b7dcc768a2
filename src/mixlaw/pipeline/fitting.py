"""The pipeline's entry point :func:`fit_pipeline`: validates the table and target, then runs one route.

Checks the ``params``/``step`` (or ``tokens``) columns, that the target lies at or beyond the data, applies
``fit_from`` (early checkpoints of each curve left out), and hands the cleaned table to the nested or direct
route (:mod:`.nested`, :mod:`.direct`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_random_state
from ..data import RunTable
from ..errors import InputError
from .direct import _direct
from .nested import _nested
from .result import ROUTES, PipelineResult, _check_fit_from, _mixture_ids, _Target, _tokens_per_step


def fit_pipeline(table: RunTable, *, target_params: float, target_steps: float | None = None,
                 target_tokens: float | None = None, route: str = "nested", law: str = "ye-exp", targets: Any = "all",
                 random_state: int | np.random.Generator | None = 0, law_options: dict[str, Any] | None = None,
                 shared_exponents: bool | str = "auto", fit_from: float = 0.0) -> PipelineResult:
    """Predict target-scale losses of every mixture in ``table`` and fit a mixing law on them.

    Parameters
    ----------
    table : RunTable
        Small runs at several model sizes (``params`` column) with several checkpoints each (``step``
        column); one row per (run, checkpoint).
    target_params : float
        Model size N* of the target run (same units as the ``params`` column): usually beyond the largest size
        (extrapolation); inside the runs' range the same stages interpolate.
    target_steps : float, optional
        Training steps S* of the target run (beyond or inside the table's steps, as N*).
    target_tokens : float, optional
        Instead of ``target_steps``: training tokens D* of the target run; the step law is then fitted over the
        ``tokens`` column, :math:`L(D) = E + B/D^{\beta}`. Give exactly one.
    route : {"nested", "direct"}, default="nested"
        Ye's nested step -> size -> mixture pipeline, or one law with N (and S) as inputs (module docstring).
    law : str, default="ye-exp"
        Registered mixing law. Nested route: fitted on the predicted target-scale losses. Direct route: used
        as is when it takes model sizes (``dz-eq1``); ``ye-exp`` means the joint law with Ye's mixture term; any
        other law is refused (it has no model-size input to fit across sizes).
    targets : "all", str or list of str
        Eval sets to predict.
    random_state : int or Generator, default=0
    law_options : dict, optional
        Constructor options of the mixing law.
    shared_exponents : "auto", True or False, default="auto"
        Nested route. ``True``: one step exponent beta per (size, eval) shared by all mixtures' curves, and one
        size exponent alpha per eval shared by all mixtures (each curve keeps its own E and B / E and A):
        robust with few or noisy checkpoints. ``False``: every curve and mixture gets its own exponent (Ye),
        which needs >= 4 checkpoints per curve and >= 4 sizes. ``"auto"``: own exponents where the points allow
        it, shared where they do not.
    fit_from : float in [0, 1), default=0.0
        Drop each curve's (mixture at one size) checkpoints before this fraction of its last step (or token
        count) before fitting.
        The first part of a loss curve (warm-up, the fast initial drop) is not on the power law
        :math:`E + B/S^{\beta}` that the rest follows, yet it holds most of the curvature, so it decides the
        fitted exponent. Measured on mixlaw's own tiny proxy runs (``python bench/pipeline_crossscale.py
        [--fit-from 0.4]``: a third of the steps, extrapolated 3x in steps and 2.3x in size): nested route
        6.6 % -> 5.5 %, direct route 2.4 % -> 1.8 %. 0 keeps everything (Ye et al. fit the whole curve).

    Returns
    -------
    PipelineResult

    Raises
    ------
    InputError
        Missing ``step``/``params`` columns, a target that is not positive, too few sizes (< 3) or
        checkpoints for the step and size laws' 3 parameters, or too few mixtures for the mixing law.

    Notes
    -----
    The engine needs more observations than parameters, so a curve gets its own step law only with >= 4
    checkpoints and a mixture its own size law only with >= 4 sizes. Curves with 2-3 checkpoints share the
    exponent beta per (size, eval) across mixtures; mixtures at exactly 3 sizes share alpha per eval
    (:func:`mixlaw.scaling.fit_shared_exponent`). Stage descriptions say which was used.
    """
    if route not in ROUTES:
        raise InputError(f"route must be one of {ROUTES}; got {route!r}")
    if not isinstance(table, RunTable):
        raise InputError(f"fit_pipeline needs a RunTable; got {type(table).__name__}")
    where = table.path or "run table"
    for col in ("params", "step"):
        if col not in table.frame.columns:
            raise InputError(f"{where}: the pipeline needs a {col!r} column (model size and checkpoint step of each "
                             "row)")
    if shared_exponents not in ("auto", True, False):
        raise InputError(f"shared_exponents must be 'auto', True or False; got {shared_exponents!r}")
    fit_from = _check_fit_from(fit_from)
    if (target_steps is None) == (target_tokens is None):
        raise InputError("give exactly one of target_steps and target_tokens (the target run's length)")
    axis = "step" if target_tokens is None else "tokens"
    if axis == "tokens" and "tokens" not in table.frame.columns:
        raise InputError(f"{where}: target_tokens needs a 'tokens' column (tokens seen at each checkpoint)")
    N_all = table.model_params
    T_all = table.steps if axis == "step" else table.tokens
    assert N_all is not None and T_all is not None
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
    if route == "nested":
        out = _nested(table, at, law, names, rng, dict(law_options or {}), msgs, shared_exponents)
    else:
        out = _direct(table, at, law, names, rng, dict(law_options or {}), msgs)
    out.target_steps, out.target_tokens, out.time_axis = at.steps, at.tokens, axis
    return out
