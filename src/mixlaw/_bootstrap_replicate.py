"""One bootstrap replicate refitted on its own: its resample of whole runs (drawn from its own seed), the law's warm
refit from the point estimate (:func:`~mixlaw.laws.base.warm_clone`), and the refitted law's predictions at the
requested mixtures and its optimal mixture, searched from the point-estimate optimum.

:mod:`mixlaw.bootstrap` runs replicates through :func:`_replicate` one by one, as the batched refits
(:mod:`mixlaw._bootstrap_additive`, :mod:`mixlaw._bootstrap_warm`) do for a replicate they cannot batch.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import FitError, InputError
from .laws.base import MixingLaw, warm_clone
from .optimize import optimize_mixture

#: What a refit on resampled or held-out data may raise and still count as a failed refit, not a crash: too
#: few distinct runs left for the law's parameter count, no start converging, a singular linear solve.
FIT_FAILURES = (FitError, InputError, np.linalg.LinAlgError, FloatingPointError)


def run_rows(groups: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every run's table rows one run after another, where each run's rows start there, and how many it has."""
    sizes = np.array([g.size for g in groups], dtype=np.intp)
    return np.concatenate(groups), np.cumsum(sizes) - sizes, sizes


def _resample(task: dict[str, Any], b: int) -> np.ndarray:
    """The table rows of bootstrap sample b (whole runs, drawn with replacement from the seed for b), the drawn
    runs' rows one run after another."""
    rng = np.random.default_rng(task["seeds"][b])
    groups = task["groups"]
    pick = rng.integers(0, len(groups), size=len(groups))
    # Gathered at once from the runs' rows laid end to end (the task's, built once): concatenating the drawn runs'
    # arrays, 512 of one row each on RegMix, was 3.6 % of a pile_cc bootstrap of ye-exp.
    flat, start, size = task["run_rows"] if "run_rows" in task else run_rows(groups)
    n = size[pick]
    return flat[np.repeat(start[pick] - (np.cumsum(n) - n), n) + np.arange(n.sum())]


def _keep_reference(law: MixingLaw, nominal: MixingLaw) -> None:
    """Set a replicate of a law with a reference domain chosen by its data (ye-exp's, ye-implicit's
    ``reference="auto"``: the largest mean share) to the point estimate's reference, the one domain whose ``t`` (each
    component's, ye-implicit's) it holds at 0 for every eval set.

    Each replicate chose its own from its resample (on RegMix's first 200 runs, 13 of 30 chose another domain), so
    its parameters were in another gauge (t relative to another domain, log k shifted) and the percentile intervals
    mixed the gauges: pile_cc's log_k read [-6.83, 0.12] around -6.25 (hunt34c). Predictions do not depend on it."""
    if law.get_params().get("reference", "") not in (None, "auto"):
        return
    held = {n.split(".", 1)[-1] for n, p in nominal.params_.items() if p.note == "reference domain"}
    # ye-exp's t_<domain>, ye-implicit's t0_<domain>, t1_<domain>... (one per component: it chose its reference per
    # replicate too, 10 of 20 another domain on the same runs; review34e)
    of = {h: {d for d in nominal.domains_ if re.fullmatch(rf"t\d*_{re.escape(d)}", h)} for h in held}
    domains = set().union(*of.values()) if of else set()
    if held and all(of.values()) and len(domains) == 1:  # one reference for every eval set (a ragged fit may differ)
        law.set_params(reference=domains.pop())


def _replicate(task: dict[str, Any], b: int, warm_solver: Callable[..., Any] | None = None) -> dict[str, Any]:
    """Refit on bootstrap sample b; every random choice comes from the task's seed for b. ``warm_solver``: what
    solves the warm start (:func:`mixlaw.fit.fit_models`; a batched chunk's, :mod:`mixlaw._bootstrap_warm`)."""
    rows = _resample(task, b)
    law: MixingLaw = warm_clone(task["nominal"])
    _keep_reference(law, task["nominal"])
    # Its values alone are kept: a law that reads this skips what only a user sees (fit_models' standard errors, the
    # repeated-mixtures warning of FitStatistics._check_identified, which the bootstrap ignores anyway).
    law._values_only = True  # type: ignore[attr-defined]
    if warm_solver is not None:
        law._warm_solver = warm_solver  # type: ignore[attr-defined]
    out: dict[str, Any] = {"ok": False}
    mp = None if task["model_params"] is None else task["model_params"][rows]
    tk = None if task["tokens"] is None else task["tokens"][rows]
    try:
        law.fit(task["W"][rows], task["Y"][rows], domains=task["domains"], targets=task["targets"],
                model_params=mp, tokens=tk)
    except FIT_FAILURES:
        return out
    out["params"] = np.array([law.params_[n].value if n in law.params_ else np.nan for n in task["names"]])
    return _describe(law, task, out)


def _describe(law: MixingLaw, task: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    """Add a refitted law's predictions at the task's points and its optimum to ``out`` (``ok`` when done)."""
    if task["points"] is not None:
        P = np.asarray(law.predict(task["points"], **task["predict_kw"]), dtype=np.float64)
        out["pred"] = P.reshape(task["points"].shape[0], -1)
    if task["optimize"] is not None:
        try:
            opt = _replicate_optimum(law, task)
        except (FitError, InputError):  # the nominal passed the same checks: a failed or constant refit
            return out
        out["opt_w"] = opt.weight_array()
        out["opt_f"] = opt.objective
        L = np.asarray(law.predict(task["nominal_w"][None, :], **task["opt_predict_kw"]), dtype=np.float64).ravel()
        out["nominal_L"] = L
        out["nominal_f"] = task["scalar"](L) if task["scalar"] is not None else np.nan
    out["ok"] = True
    return out


def _replicate_optimum(law: MixingLaw, task: dict[str, Any]) -> Any:
    """A replicate's optimal mixture: one SLSQP start at the point-estimate optimum (the replicate's optimum lies
    near it), and the usual seeded starts only when that start does not converge or the search is not a
    gradient one (a simulation search is centred on the natural mixture, which must not move)."""
    kw = task["optimize"]
    gradient = kw.get("search", "auto") == "gradient" or (kw.get("search", "auto") == "auto"
                                                          and getattr(law, "differentiable", True))
    if gradient and kw.get("n_starts") is None and task["nominal_w"] is not None:
        opt = optimize_mixture(law, **{**kw, "natural": task["nominal_w"], "n_starts": 1})
        if opt.n_converged:
            return opt
    return optimize_mixture(law, **kw)
