"""Model averaging across routes (``bench/pipeline_selection.py --blend``; :data:`BLEND_RULES`).

:func:`blend_picks` picks among single candidates and blends of them, :func:`blend_rows` scores the rules on
``bench/pipeline_selection.py``'s rows (no refit), :func:`blend_results` / :func:`blend_real` on a real set's
``fit_pipeline`` result (used by the trainer-run benches). Measurements: ``bench/pipeline_selection.py``'s docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mixlaw.pipeline.auto import (
    Candidate,
    Selection,
    choose_simplest_within_noise,
    paired_se,
)

#: Model averaging across routes (issue 9; ``--blend``, rows with ``target_rel``): a blended candidate predicts a
#: weighted mean, in loss space, of two single candidates' predictions. Its backtest residuals are the same mean of
#: the members' held-out residuals on every split (pred_b / y - 1 = sum_i w_i (pred_i / y - 1)), so it is scored
#: without a refit, and it enters the one-standard-error rule as the least simple candidate (complexity (2, 0)): it
#: is chosen only when it has the best score and no single candidate is within one paired SE of it. Members:
#: the best-scoring nested and direct candidates (equal weights, or w ~ 1/score^2), or the two best-scoring ones.
#: The last two rules use the blend exactly when the one-standard-error set holds both routes (the backtest cannot
#: tell them apart), instead of the simplest candidate in it.
BLEND_RULES = ("1-SE rule, singles only (fit_pipeline's)", "+ blend: mean of best nested and best direct",
               "+ blend: nested and direct, w ~ 1/score^2", "+ blend: mean of the top 2 by score",
               "+ all three blends", "always the nested + direct mean (no rule)",
               "nested + direct mean when the 1-SE set holds both routes",
               "nested + direct 1/score^2 when the 1-SE set holds both routes")


def _blend(members: list[Candidate], w: np.ndarray) -> Candidate:
    """The blended candidate of ``members`` with weights ``w`` (sum 1): each split's residuals the weighted sum of
    the members' (splits every member ran; :data:`BLEND_RULES`)."""
    kinds = set.intersection(*(set(m.part_residuals) for m in members))
    res = sum(wi * np.asarray(m.residuals) for wi, m in zip(w, members, strict=True))
    parts = {k: sum(wi * np.asarray(m.part_residuals[k]) for wi, m in zip(w, members, strict=True)) for k in kinds}
    c = Candidate("blend", " + ".join(m.label for m in members), mre=float(np.mean(np.abs(res))),
                  residuals=res, part_residuals=parts, complexity=(2, 0))
    c.members, c.weights = members, w  # type: ignore[attr-defined]
    return c


def blend_picks(ok: list[Candidate]) -> dict[str, Candidate]:
    """The candidate each rule of :data:`BLEND_RULES` picks among the scored candidates ``ok`` (a blend: a
    :class:`Candidate` of route ``"blend"`` with ``members`` and ``weights``, :func:`_blend`)."""
    ok = [c for c in ok if not c.on_total]
    base = choose_simplest_within_noise(ok)[0]
    nested = [c for c in ok if c.route == "nested"]
    direct = [c for c in ok if c.route == "direct"]
    blends: dict[str, Candidate] = {}
    if nested and direct:
        pair = [min(nested, key=lambda c: c.score), min(direct, key=lambda c: c.score)]
        blends["mean"] = _blend(pair, np.array([0.5, 0.5]))
        inv = np.array([1 / max(c.score, 1e-12) ** 2 for c in pair])
        blends["inv2"] = _blend(pair, inv / inv.sum())
    if len(ok) >= 2:
        blends["top2"] = _blend(sorted(ok, key=lambda c: c.score)[:2], np.array([0.5, 0.5]))
    picks = {BLEND_RULES[0]: base}
    for name, keys in zip(BLEND_RULES[1:5], (["mean"], ["inv2"], ["top2"], ["mean", "inv2", "top2"]), strict=True):
        picks[name] = choose_simplest_within_noise(ok + [blends[k] for k in keys if k in blends])[0]
    picks[BLEND_RULES[5]] = blends.get("mean", base)
    # Averaging as the answer to a tie: the backtest cannot tell the routes apart (both among the candidates within
    # one paired SE of the best score), so neither is bet on.
    top = min(ok, key=lambda c: (c.score, c.mre))
    tie = {c.route for c in ok if c is top or c.score <= top.score + paired_se(top, c)} >= {"nested", "direct"}
    picks[BLEND_RULES[6]] = blends["mean"] if tie else base
    picks[BLEND_RULES[7]] = blends["inv2"] if tie else base
    return picks


class BlendedResult:
    """A blend's predictions from its members' fitted pipelines: ``predict(weights, **scale)`` is the weighted
    mean of theirs (same arguments, e.g. ``params=``/``steps=``), ``targets`` the first member's."""

    def __init__(self, members: list[Any], weights: np.ndarray) -> None:
        self.members, self.weights = members, weights
        self.targets = members[0].targets

    def predict(self, *args: Any, **kwargs: Any) -> np.ndarray:
        return sum(w * np.asarray(m.predict(*args, **kwargs)) for m, w in zip(self.members, self.weights,
                                                                               strict=True))


def blend_results(sel: Selection, alternatives: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """On a real set: (rule, its pick, a result to score) per rule of :data:`BLEND_RULES`, from fit_pipeline's
    ``sel`` and ``alternatives`` (``fit_all=True``: every candidate fitted on all the data); a blend's result is a
    :class:`BlendedResult` of its members'."""
    out = []
    for rule, pick in blend_picks([c for c in sel.candidates if c.ok]).items():
        if pick.route == "blend":
            res: Any = BlendedResult([alternatives[m.label] for m in pick.members], pick.weights)
            name = " + ".join(f"{w:.2f} {m.label}" for m, w in zip(pick.members, pick.weights, strict=True))
        else:
            res, name = alternatives[pick.label], pick.label
        out.append((rule, name, res))
    return out


def blend_real(sel: Selection, alternatives: dict[str, Any], error: Callable[[Any], float]
               ) -> list[tuple[str, str, float]]:
    """(rule, pick, ``error(result)``) per rule of :data:`BLEND_RULES` (:func:`blend_results`)."""
    return [(rule, name, error(res)) for rule, name, res in blend_results(sel, alternatives)]


def print_blend_real(rows: list[tuple[str, str, float]], head: str = "real MRE") -> None:
    """:func:`blend_real`'s rows as a table (``head``: what the numbers are)."""
    print(f"    model averaging across routes (bench/pipeline_selection.py --blend's rules), {head}:")
    for rule, name, mre in rows:
        print(f"      {rule:<62} {mre:>7.2%}  {name}")


def blend_rows(rows: list[dict[str, Any]]) -> tuple[dict[str, dict[str, float]], tuple[int, int]]:
    """Per rule of :data:`BLEND_RULES`: how often its pick is within 1.2x of the best *single* candidate at the
    target, its mean target MRE, the nominal-80 % coverage of its intervals on the target run's measured loss,
    and how many worlds it picked a blend. The intervals are rebuilt as fit_pipeline builds them
    (:func:`mixlaw.pipeline.intervals.relative_half_width`: the conformal quantile of the pick's main-split
    residuals scaled to the target, max with z x the jackknife spread); a blend has no jackknife refits of its
    own, so it borrows the spread of the single candidate the one-standard-error rule picks (an approximation; a
    mean of two fits spreads no more than the wider of them). Also: in how many of how many worlds the
    rebuilt intervals of the 1-SE pick hold as many losses as the row's own (a check of the rebuild)."""
    from mixlaw.pipeline.conformal import extrapolation_half_width
    from mixlaw.pipeline.intervals import interval_bounds, relative_half_width

    out: dict[str, dict[str, list[float]]] = {k: {"within": [], "mre": [], "cov": [], "n": [], "blend": []}
                                              for k in BLEND_RULES}
    recon = []
    for row in rows:
        cands = row.get("candidates")
        if not isinstance(cands, dict) or "observed_rel" not in row:
            continue
        ok: list[Candidate] = []
        trel: dict[int, np.ndarray] = {}
        for label, c in cands.items():
            if c["backtest"] is None or c.get("target_rel") is None or not c.get("split_residuals"):
                continue
            route, _, law = label.partition(" ")
            sr = {k: np.array(v) for k, v in c["split_residuals"].items()}
            cand = Candidate(route, law, mre=c["backtest"], residuals=sr.pop("main"), part_residuals=sr,
                             complexity=tuple(c["complexity"]))
            ok.append(cand)
            trel[id(cand)] = np.array(c["target_rel"])
        if not ok:
            continue
        best_single = min(float(np.mean(np.abs(t))) for t in trel.values())
        picks = blend_picks(ok)
        for pick in picks.values():  # a blend's target prediction: the same mean of the members' predictions
            if pick.route == "blend" and id(pick) not in trel:
                trel[id(pick)] = sum(w * trel[id(m)] for m, w in zip(pick.members, pick.weights, strict=True))
        obs = np.array(row["observed_rel"])
        sig = np.array(row["jack_sigma"])
        noise = row["noise"] if row.get("noise") is not None else float("nan")
        for name, pick in picks.items():
            e = trel[id(pick)]
            q = extrapolation_half_width(pick.residuals, row["distance_factor"], row["level"], noise)
            h = relative_half_width(q, sig[:, None], row["level"])[:, 0]
            lo, hi = interval_bounds(1 + e, h)
            inside = (1 + obs >= lo) & (1 + obs <= hi)
            mre = float(np.mean(np.abs(e)))
            o = out[name]
            o["within"].append(mre <= 1.2 * best_single)
            o["mre"].append(mre)
            o["cov"].append(float(inside.sum()))
            o["n"].append(float(inside.size))
            o["blend"].append(pick.route == "blend")
            if name == BLEND_RULES[0]:
                recon.append(float(inside.sum()) == row["covered"])
    res = {k: {"within_1p2": float(np.mean(v["within"])), "mre": float(np.mean(v["mre"])),
               "coverage_80": float(np.sum(v["cov"]) / np.sum(v["n"])), "blends_chosen": int(np.sum(v["blend"])),
               "worlds": len(v["within"])} for k, v in out.items() if v["within"]}
    return res, (int(np.sum(recon)), len(recon))
