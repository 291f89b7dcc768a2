"""The synthetic worlds of ``bench/pipeline_selection.py`` and the row each one yields.

:func:`make_world` draws a seeded world of one of :data:`FAMILIES` (the families and their misspecifications are
described in ``bench/pipeline_selection.py``'s docstring; world ``i`` of seed block ``b`` is seeded ``1000 b + i``),
:func:`scale_law` its loss law. :func:`run_world` fits it with ``fit_pipeline`` (``fit_all=True``) and returns its
row: every candidate's backtest numbers next to its error at the target, so that the choice, blend and estimate
rules (``_selection_rules``, ``_selection_blend``, ``_selection_estimate``) are re-scored from ``--rows`` files
without refitting. :func:`time_cuts` adds ``--cuts``' backtests at every time cut.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mixlaw.data import RunTable
from mixlaw.errors import MixlawWarning
from mixlaw.pipeline import fit_pipeline
from mixlaw.pipeline.auto import (
    Selection,
    backtest_candidates,
    leave_scale_out_split,
)

FAMILIES = ("joint", "per-mixture", "joint + late bend", "per-mixture + alpha drift")
DOMAINS = ["a", "b", "c"]


@dataclass
class World:
    family: str
    table: RunTable
    target_params: float
    target_steps: float
    mixtures: np.ndarray
    truth: np.ndarray  # (n_mix, 1): noise-free loss at the target
    observed: np.ndarray  # (n_mix, 1): the target run's measured loss (truth with the world's checkpoint noise)
    #: The noise-free loss L(w, N, S) and the relative checkpoint noise (for worlds read at another scale, as
    #: bench/interval_steps_only.py's one-size worlds).
    loss: Callable[[np.ndarray, float, float], float] | None = None
    noise: float = float("nan")


def scale_law(rng: np.random.Generator, family: str, N0: float, S_max: float
              ) -> Callable[[np.ndarray, float, float], float]:
    """One eval's loss ``loss(w, N, S)`` of ``family`` (``bench/pipeline_selection.py``'s docstring), its constants
    drawn from ``rng`` (the last draws of :func:`make_world`; bench/interval_per_eval.py draws one per eval set of a
    world)."""
    # Scale parts sized like small LMs: the size term ~0.3-0.8 nats at N0, the step term ~0.2-0.5 at S_max / 8.
    E0, alpha0, beta0 = rng.uniform(1.5, 2.5), rng.uniform(0.25, 0.4), rng.uniform(0.3, 0.5)
    A0 = rng.uniform(0.3, 0.8) * N0 ** alpha0
    B0 = rng.uniform(0.2, 0.5) * (S_max / 8) ** beta0
    k, t = rng.uniform(0.2, 0.5), rng.normal(0, 1.0, 3)
    a_alpha, a_beta = rng.normal(0, 0.05, 3), rng.normal(0, 0.06, 3)
    a_logA = rng.normal(0, 0.3, 3)
    S_bend, delta = S_max * rng.uniform(0.3, 0.6), rng.uniform(0.01, 0.03)
    gamma = rng.uniform(0.01, 0.03)
    per_mix = family.startswith("per-mixture")

    def loss(w: np.ndarray, N: float, S: float) -> float:
        mix = k * np.exp(t @ w)
        if per_mix:
            alpha = alpha0 + a_alpha @ w
            if family.endswith("alpha drift"):
                alpha = alpha + gamma * np.log(S / (S_max / 8))
            beta = beta0 + a_beta @ w
            A = A0 * np.exp(a_logA @ w) * N0 ** (alpha - alpha0)  # keeps the size term's scale at N0
            y = E0 + mix + A / N ** alpha + B0 / S ** beta
        else:
            y = E0 + mix + A0 / N ** alpha0 + B0 / S ** beta0
        if family.endswith("late bend") and S > S_bend:
            y *= 1 - delta * np.log(S / S_bend)
        return float(y)

    return loss


def make_world(seed: int, family: str, fit_sizes: int = 4) -> World:
    """One seeded world of ``family`` (``bench/pipeline_selection.py``'s docstring) with ``fit_sizes`` fitted model
    sizes. The random draws do not depend on ``fit_sizes``: a 3-size world is its 4-size twin without the largest
    size, its target 2-3x its own largest size (the 4-size worlds are the reported ones, unchanged)."""
    rng = np.random.default_rng(seed)
    n_mix = int(rng.integers(6, 11))
    W = rng.dirichlet(np.ones(3), size=n_mix)
    N0, ratio = rng.uniform(1e7, 3e7), rng.uniform(1.6, 2.2)
    sizes = N0 * ratio ** np.arange(fit_sizes)
    n_ck = int(rng.integers(3, 11))
    S_max = float(rng.uniform(2000, 5000))
    steps = np.unique(np.round(np.geomspace(S_max / 8, S_max, n_ck)))
    Nt, St = sizes[-1] * rng.uniform(2, 3), S_max * rng.uniform(1, 3)
    noise = rng.uniform(0.003, 0.01)
    loss = scale_law(rng, family, N0, S_max)
    rows = []
    for m, w in enumerate(W):
        for N in sizes:
            for S in steps:
                y = loss(w, N, S) * (1 + noise * rng.standard_normal())
                rows.append({"run": f"m{m}-N{N:.4g}", "params": N, "step": S,
                             **{f"w:{d}": w[j] for j, d in enumerate(DOMAINS)}, "loss:a": y})
    truth = np.array([[loss(w, Nt, St)] for w in W])
    observed = truth * (1 + noise * rng.standard_normal(truth.shape))
    return World(family, RunTable(pd.DataFrame(rows)), float(Nt), float(St), W, truth, observed, loss, float(noise))


def time_cuts(table: RunTable, target_params: float, target_time: float, sel: Selection,
              fit_from: float = 0.0, alternatives: dict[str, Any] | None = None,
              mixtures: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Every candidate of ``sel`` backtested at every time cut the curves allow (``parts=("time",)``, each
    ratio the checkpoints offer, the same held-out entries as ``sel``'s splits): ``[{"ratio": r,
    "entry_errors": {label: |relative error| per entry, or None}, "drift": {label: d}}]``, for rules that
    average several cuts. ``drift`` (with ``alternatives``, each candidate fitted on all the data, and
    ``mixtures``): how far the cut fit's prediction at the real target (N*, T*) moves from the full fit's,
    mean |pred_cut / pred_full - 1| over ``mixtures`` (no truth needed: the stability of the extrapolation)."""
    ok = [c for c in sel.candidates if c.ok]
    cands = [(c.route, c.law, c.on_total) for c in ok]
    names = list(table.resolve_targets("all"))  # run_world's fit_pipeline predicts every eval
    fit_kw = {"random_state": 0, "law_options": None, "shared_exponents": True, "fit_from": fit_from}
    T = table.steps if sel.split.axis == "step" else table.tokens
    assert T is not None
    T_end = float(T.max())
    out: list[dict[str, Any]] = []
    for r in sorted(T_end / np.unique(T)):
        sp = leave_scale_out_split(table, target_params, T_end * r, sel.split.axis, fit_from=fit_from,
                                   parts=("time",))
        if sp.time_ratio <= 1 or any(np.isclose(sp.time_ratio, o["ratio"]) for o in out):
            continue
        got_list, fitted = backtest_candidates(table, sp, cands, names, sel.total, fit_kw)
        got = {c.label: c for c in got_list}
        drift: dict[str, float] = {}
        for lab, res in fitted.items():
            full = (alternatives or {}).get(lab)
            if full is None or mixtures is None or not got[lab].ok:
                continue
            at = {"steps" if sel.split.axis == "step" else "tokens": target_time}
            d = float(np.mean(np.abs(res.predict(mixtures, params=target_params, **at) / full.predict(mixtures) - 1)))
            if np.isfinite(d):
                drift[lab] = d
        out.append({"ratio": sp.time_ratio,
                    "entry_errors": {lab: np.abs(np.ravel(c.residuals)).tolist() if c.ok and c.residuals is not None
                                     else None for lab, c in got.items()}, "drift": drift})
    return out


def run_world(world: World, n_jackknife: int, seed: int, cuts: bool = False,
              shared_exponents: bool | str = True, growth: bool = False) -> dict[str, object] | str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixlawWarning)
        res = fit_pipeline(world.table, target_params=world.target_params, target_steps=world.target_steps,
                           random_state=seed, n_jackknife=n_jackknife, fit_all=True,
                           shared_exponents=shared_exponents)
        preds = {lab: r.predict(world.mixtures) for lab, r in res.alternatives.items()}
        errs = {lab: float(np.mean(np.abs(p / world.truth - 1))) for lab, p in preds.items()}
        # Against the target run's measured loss, as on the real sets (the error estimate's real error there).
        errs_obs = {lab: float(np.mean(np.abs(p / world.observed - 1))) for lab, p in preds.items()}
        pred = res.predict(world.mixtures)
        lo, hi = res.interval(world.mixtures)  # type: ignore[misc]
        # Every candidate's own target predictions (relative to the truth) and the chosen one's jackknife spread:
        # blends of candidates (--blend) are scored from the rows without refitting.
        target_rel = {lab: (r.predict(world.mixtures) / world.truth - 1).ravel().tolist()
                      for lab, r in res.alternatives.items()}
        iv = res.intervals
        jack_sigma = (iv.boot_spread(world.mixtures, pred).ravel().tolist() if iv is not None
                      else [0.0] * len(world.mixtures))
    sel = res.selection
    if sel is None:  # 3 sizes and 3 checkpoints per curve: neither part can be held out, nothing was compared
        return f"{world.family}: no backtest possible, {res.route} {res.law} used without comparison"
    chosen = sel.chosen.label
    size_untested = "size" in sel.split.untested
    best = min(errs, key=errs.get)  # type: ignore[arg-type]
    # A prediction interval is for what the target run will measure: its loss with checkpoint noise.
    inside = (world.observed >= lo) & (world.observed <= hi)
    # Every candidate's backtest numbers next to its error at the target: selection rules can be compared on a
    # --rows file without refitting.
    # ``target_pred``: the candidate's predictions at the target (no truth needed), for estimate rules that use
    # how far the candidates disagree there (--estimate-rules).
    cands = {c.label: {"target": errs.get(c.label), "target_observed": errs_obs.get(c.label),
                       "backtest": c.mre if c.ok else None, "parts": c.parts,
                       "target_pred": np.ravel(preds[c.label]).tolist() if c.label in preds else None,
                       "score": c.score if c.ok else None, "complexity": list(c.complexity),
                       "entry_errors": None if c.entry_errors is None else c.entry_errors.tolist(),
                       "n_splits": 1 + len(c.part_residuals), "target_rel": target_rel.get(c.label),
                       # Each split's own signed residuals (main: both parts held out at once), for rules that
                       # weight the splits differently (--from-rows).
                       "split_residuals": None if c.residuals is None else {
                           "main": np.ravel(c.residuals).tolist(),
                           **{k: np.ravel(v).tolist() for k, v in c.part_residuals.items()}}}
             for c in sel.candidates}
    sp = sel.split
    ratios = {"main": [sp.size_ratio, sp.time_ratio]}
    for part in ("time", "size"):
        if any(part in c.parts for c in sel.candidates):
            o = leave_scale_out_split(world.table, world.target_params, world.target_steps, sp.axis, parts=(part,))
            ratios[part] = [o.size_ratio, o.time_ratio]
    if growth:  # a shorter split for bench/route_growth.py's error-growth rules (its residuals and ratios, "short")
        from route_growth import add_short
        add_short(world.table, sel, world.target_params, 0.0, list(world.table.resolve_targets("all")), cands, ratios)
    if cuts:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MixlawWarning)
            for cut in time_cuts(world.table, world.target_params, world.target_steps, sel,
                                 alternatives=res.alternatives, mixtures=world.mixtures):
                for lab, e in cut["entry_errors"].items():
                    if lab in cands:
                        cands[lab].setdefault("cuts", []).append({"ratio": cut["ratio"], "entry_errors": e,
                                                                  "drift": cut["drift"].get(lab)})
    return {"family": world.family, "fit_sizes": int(np.unique(world.table.model_params).size),
            "size_untested": size_untested, "time_ratio_target": sel.split.time_ratio_target, "cuts": cuts,
            "size_ratio_target": sp.size_ratio_target, "split_ratios": ratios,
            "checkpoint_noise": world_noise(world), "error_estimate": sel.error_estimate,
            "chosen": chosen, "best": best, "auto_mre": errs[chosen],
            "candidates": cands,
            "best_mre": errs[best], "backtest_mre": sel.chosen.mre, "within": bool(errs[chosen] <= 1.2 * errs[best]),
            "covered": int(inside.sum()), "entries": int(inside.size), "partial": bool(sel.partial),
            "mean_half_width": float(np.mean((hi - lo) / 2 / pred)),
            # For --blend: the target run's measured loss over the truth, the intervals' inputs (distance factor,
            # checkpoint noise, the chosen candidate's jackknife spread at each mixture).
            "observed_rel": (world.observed / world.truth - 1).ravel().tolist(),
            "distance_factor": float(sp.distance_factor), "noise": None if iv is None else _fin(iv.noise),
            "jack_sigma": jack_sigma, "level": 0.8}


def _fin(x: float) -> float | None:
    """``x``, or None when it is not finite (rows are strict JSON)."""
    return float(x) if np.isfinite(x) else None


def world_noise(world: World) -> float:
    """The table's checkpoint noise as fit_pipeline measures it (:func:`mixlaw.pipeline.conformal.checkpoint_noise`;
    nan with curves of 3 checkpoints), for the error-estimate rules that leave the noise floor unscaled."""
    from mixlaw.pipeline.conformal import checkpoint_noise
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixlawWarning)
        return checkpoint_noise(world.table, list(world.table.resolve_targets("all")))
