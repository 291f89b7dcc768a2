"""Choice rules of ``bench/pipeline_selection.py``, re-scored from its rows without refitting.

:data:`RULES` (smallest main-split MRE, smallest score, the one-standard-error rule, two rules for worlds whose size
backtest could not run), :data:`SPLIT_RULES` (the splits weighted otherwise, :func:`split_picks`) and, for rows run
with ``--cuts``, :data:`CUTS_RULES` (:func:`cut_picks`); :func:`compare_rules` counts how often each is within 1.2x
of the best candidate at the target. The measurements are in ``bench/pipeline_selection.py``'s docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mixlaw.pipeline.auto import (
    Candidate,
    choose_simplest_within_noise,
    paired_se,
)

RULES = ("smallest main-split MRE", "smallest split-averaged score", "one-standard-error rule alone",
         "size untested: direct route only", "size untested: direct unless nested wins by 2 SE")
#: Rows run with ``--cuts`` only: the one-standard-error rule on errors averaged over fit_pipeline's splits and
#: every time cut the curves allow (each cut alike), or only the cuts up to the target's step ratio; and the
#: rules of :func:`cut_picks` (issue 9's ideas for v3: extrapolate each candidate's error to the target's ratio,
#: weight cuts by closeness to it, or prefer the candidate whose target prediction drifts least).
CUTS_RULES = ("every time cut averaged too (--cuts)", "time cuts up to the target's ratio too (--cuts)",
              "(a) MRE ~ c (log r)^b over cuts, at the target's r", "(a') MRE ~ c0 + c1 log r, at the target's r",
              "(b) cuts weighted by closeness in log r, 1-SE rule", "(c) smallest drift at the smallest cut",
              "(c') smallest mean drift over the cuts", "(c'') 1-SE set, then smallest drift")


def cut_picks(ok: list[Candidate], cuts: list[list[dict[str, Any]]], n_splits: list[int],
              ratio_target: float) -> dict[str, Candidate]:
    """The candidate each rule of :data:`CUTS_RULES` picks among ``ok`` (entry errors in ``residuals``,
    averaged over ``n_splits`` of fit_pipeline's splits), given each one's time cuts (``cuts[i]``: dicts with
    ``ratio``, ``entry_errors`` and ``drift``, as :func:`time_cuts` writes them) and the target's time ratio.

    Only the cuts every candidate ran are used (as fit_pipeline does with its one-part splits); a rule without
    what it needs (no cut; no drift; a target ratio <= 1.05) falls back to the one-standard-error pick.

    - (a): per candidate, MRE_j at log ratio x_j, fitted as c x^b (log-log least squares, b in [0, 3]) or
      c0 + c1 x (2+ cuts), read at x* = log(target ratio); the smallest wins;
    - (b): per-entry errors averaged with fit_pipeline's splits, cut j weighted by min(x_j/x*, x*/x_j);
    - (c): the drift (how far a cut fit's target prediction moves from the full fit's, :func:`time_cuts`) at the
      smallest common cut; (c'): its mean over the common cuts; (c''): the smallest drift at the smallest cut
      among the candidates the one-standard-error rule keeps.
    """
    base = choose_simplest_within_noise(ok)[0]
    out: dict[str, Candidate] = {}
    bad = {c["ratio"] for cs in cuts for c in cs if c["entry_errors"] is None}
    common = sorted(set.intersection(*({c["ratio"] for c in cs} for cs in cuts)) - bad) if cuts else []
    by = [{c["ratio"]: c for c in cs} for cs in cuts]
    xs = np.log(np.array(common, dtype=float))
    x_t = float(np.log(ratio_target)) if ratio_target > 1.05 else float("nan")
    for name, top in zip(CUTS_RULES[:2], (np.inf, ratio_target), strict=True):
        avg = []
        for cand, b, n in zip(ok, by, n_splits, strict=True):
            used = [b[r]["entry_errors"] for r in common if r <= top * (1 + 1e-9)]
            e = (np.asarray(cand.residuals) * n + np.sum(used, axis=0)) / (n + len(used)) if used \
                else np.asarray(cand.residuals)
            avg.append(Candidate(cand.route, cand.law, mre=cand.mre, residuals=e, complexity=cand.complexity,
                                 centre=False))
        out[name] = ok[avg.index(choose_simplest_within_noise(avg)[0])]
    # (a), (a'): each candidate's error as a function of the extrapolation ratio, read at the target's.
    fa, fl = [], []
    for b in by:
        y = np.array([np.mean(b[r]["entry_errors"]) for r in common]) if common else np.array([])
        if xs.size >= 2 and np.isfinite(x_t) and np.all(y > 0):
            slope, icpt = np.polyfit(np.log(xs), np.log(y), 1)
            fa.append(float(np.exp(icpt) * x_t ** np.clip(slope, 0, 3)))
            c1, c0 = np.polyfit(xs, y, 1)
            fl.append(float(max(c0 + c1 * x_t, 0.0)))
        else:
            fa.append(np.nan)
            fl.append(np.nan)
    for name, f in zip(CUTS_RULES[2:4], (fa, fl), strict=True):
        out[name] = ok[int(np.nanargmin(f))] if np.all(np.isfinite(f)) else base
    # (b)
    if xs.size and np.isfinite(x_t):
        w = np.minimum(xs / x_t, x_t / xs)
        avg = []
        for cand, b, n in zip(ok, by, n_splits, strict=True):
            e = (np.asarray(cand.residuals) * n + sum(wj * np.asarray(b[r]["entry_errors"])
                                                      for wj, r in zip(w, common, strict=True))) / (n + w.sum())
            avg.append(Candidate(cand.route, cand.law, mre=cand.mre, residuals=e, complexity=cand.complexity,
                                 centre=False))
        out[CUTS_RULES[4]] = ok[avg.index(choose_simplest_within_noise(avg)[0])]
    else:
        out[CUTS_RULES[4]] = base
    # (c), (c'), (c'')
    have = [r for r in common if all(b[r].get("drift") is not None for b in by)]
    if have:
        d0 = [b[have[0]]["drift"] for b in by]
        dm = [float(np.mean([b[r]["drift"] for r in have])) for b in by]
        out[CUTS_RULES[5]] = ok[int(np.argmin(d0))]
        out[CUTS_RULES[6]] = ok[int(np.argmin(dm))]
        keep = [i for i, c in enumerate(ok) if c is base or c.score <= min(o.score for o in ok)
                + paired_se(min(ok, key=lambda o: o.score), c)]
        out[CUTS_RULES[7]] = ok[min(keep, key=lambda i: d0[i])]
    else:
        out.update({k: base for k in CUTS_RULES[5:]})
    return out


#: Rows with each split's residuals (``split_residuals``) only: the one-standard-error rule on per-entry errors
#: that weight fit_pipeline's splits (main: size and time held out at once; time alone; size alone) otherwise than
#: its plain average (issue 9's ideas for v3 with a fourth size: the splits differ in how far they extrapolate).
SPLIT_RULES = ("main split only (both parts held out), 1-SE", "splits weighted by their distance, 1-SE",
               "splits weighted by closeness to the target's, 1-SE",
               "error extrapolated to the target's distance, 1-SE", "each part scaled to the target, summed, 1-SE")


def split_errors(rule: str, errs: dict[str, np.ndarray], ratios: dict[str, Any],
                 target: tuple[float, float]) -> np.ndarray:
    """Per-entry |relative error| that ``rule`` (one of :data:`SPLIT_RULES`) ranks a candidate by, from its
    per-split entry errors ``errs`` (split kind -> |residuals|: ``main``, and ``time`` / ``size`` alone when they
    ran), each split's (size ratio, time ratio) ``ratios`` and the target's ``target``. A split's distance is
    d = log(size ratio) + log(time ratio), the target's d*.

    - main only: the split that holds out both parts at once, as the real extrapolation does;
    - weighted by distance: splits weighted by d (the one-part splits reach half as far);
    - weighted by closeness: weights min(d/d*, d*/d);
    - extrapolated: per entry, the line through (mean d of the one-part splits, their mean error) and (d_main,
      main error), read at d* (error growing linearly with the distance, its slope measured);
    - each part scaled: time-alone error x log(S*/S_L) / its log ratio + size-alone error x log(N*/N_L) / its
      log ratio (each part's bias linear in its own distance, the parts adding up).

    Without one-part splits (3 fitted sizes) every rule ranks by the main split's errors.
    """
    # --growth adds route_growth's "short" split to the rows; it is that bench's, not one of these rules' splits.
    errs = {k: v for k, v in errs.items() if k in ("main", "time", "size")}
    d = {k: float(np.log(ratios[k][0]) + np.log(ratios[k][1])) for k in errs}
    d_t = float(np.log(target[0]) + np.log(target[1]))
    parts = [k for k in errs if k != "main"]
    main = errs["main"]
    if rule == SPLIT_RULES[0] or not parts:
        return main
    if rule in SPLIT_RULES[1:3]:
        w = {k: d[k] if rule == SPLIT_RULES[1] else min(d[k] / d_t, d_t / d[k]) for k in errs}
        return np.sum([w[k] * errs[k] for k in errs], axis=0) / sum(w.values())
    if rule == SPLIT_RULES[3]:
        dp, ep = float(np.mean([d[k] for k in parts])), np.mean([errs[k] for k in parts], axis=0)
        return np.maximum(main + (main - ep) / (d["main"] - dp) * max(d_t - d["main"], 0.0), 0.0)
    want = {"time": np.log(target[1]), "size": np.log(target[0])}
    return np.sum([errs[k] * max(1.0, want[k] / d[k]) for k in parts], axis=0)


def split_picks(ok: list[Candidate], errs: list[dict[str, np.ndarray]], ratios: dict[str, Any],
                target: tuple[float, float]) -> dict[str, Candidate]:
    """The candidate each rule of :data:`SPLIT_RULES` picks among ``ok`` (``errs[i]``: candidate i's per-split
    entry errors, :func:`split_errors`), by the one-standard-error rule on that rule's per-entry errors."""
    out = {}
    for rule in SPLIT_RULES:
        cs = [Candidate(c.route, c.law, mre=c.mre, residuals=split_errors(rule, e, ratios, target), centre=False,
                        complexity=c.complexity) for c, e in zip(ok, errs, strict=True)]
        out[rule] = ok[cs.index(choose_simplest_within_noise(cs)[0])]
    return out


def _pick(rule: str, ok: list[Candidate], size_untested: bool) -> Candidate:
    """The candidate ``rule`` (one of :data:`RULES`) picks among ``ok``. The last two differ from the
    one-standard-error rule only when the size part of the backtest could not run (``size_untested``)."""
    if rule == RULES[0]:
        return min(ok, key=lambda c: c.mre)
    if rule == RULES[1]:
        return min(ok, key=lambda c: c.score)
    chosen = choose_simplest_within_noise(ok)[0]
    direct = [c for c in ok if c.route == "direct"]
    if rule == RULES[2] or not size_untested or not direct or chosen.route == "direct":
        return chosen
    if rule == RULES[3]:
        return choose_simplest_within_noise(direct)[0]
    # RULES[4]: the nested pick stands only if it beats the best direct candidate by more than 2 paired SEs.
    d = min(direct, key=lambda c: c.score)
    return chosen if chosen.score < d.score - 2 * paired_se(chosen, d) else choose_simplest_within_noise(direct)[0]


def compare_rules(rows: list[dict[str, Any]], subset: Callable[[dict[str, Any]], bool] = lambda r: True,
                  ) -> dict[str, float]:
    """How often each choice rule (:data:`RULES`) picks a candidate within 1.2x of the best at the target, from
    the rows' per-candidate backtest numbers (``subset`` picks rows): the smallest main-split MRE, the smallest
    split-averaged score, the one-standard-error rule alone
    (:func:`mixlaw.pipeline.auto.choose_simplest_within_noise`, rebuilt from each candidate's per-entry errors:
    ``fit_pipeline``'s choice when the size part ran), and two rules for worlds whose size backtest could not run
    (3 fitted sizes): keep to the direct route (fewer per-mixture parameters to extrapolate in size), or keep
    the nested pick only when it wins by 2 paired SEs; with ``--cuts`` rows, :data:`CUTS_RULES`.
    Also: how often the best candidate at the target is on the direct route."""
    hits: dict[str, list[bool]] = {k: [] for k in (*RULES, *SPLIT_RULES, *CUTS_RULES,
                                                   "(best candidate at the target is direct)")}
    for row in rows:
        cands = row.get("candidates")
        if not isinstance(cands, dict):
            return {}
        if not subset(row):
            continue
        ok = []
        for label, c in cands.items():
            if c["backtest"] is None or c["target"] is None or c.get("entry_errors") is None:
                continue
            route, _, law = label.partition(" ")
            cand = Candidate(route, law, mre=c["backtest"], residuals=np.array(c["entry_errors"]), centre=False,
                             complexity=tuple(c["complexity"]))
            ok.append((cand, c["target"]))
        if not ok:
            continue
        best = min(t for _, t in ok)
        target = {id(cand): t for cand, t in ok}
        for name in RULES:
            hits[name].append(target[id(_pick(name, [c for c, _ in ok], bool(row.get("size_untested"))))]
                              <= 1.2 * best)
        if row.get("split_ratios") and all(cands[f"{c.route} {c.law}"].get("split_residuals") for c, _ in ok):
            errs = [{k: np.abs(np.array(v)) for k, v in cands[f"{c.route} {c.law}"]["split_residuals"].items()}
                    for c, _ in ok]
            picks = split_picks([c for c, _ in ok], errs, row["split_ratios"],
                                (row["size_ratio_target"], row["time_ratio_target"]))
            for name, pick in picks.items():
                hits[name].append(target[id(pick)] <= 1.2 * best)
        if row.get("cuts"):  # a row run with --cuts (a world whose curves allow no cut has none: the 1-SE pick)
            labs = [f"{cand.route} {cand.law}" for cand, _ in ok]
            picks = cut_picks([c for c, _ in ok], [cands[lab].get("cuts") or [] for lab in labs],
                              [cands[lab].get("n_splits", 1) for lab in labs],
                              float(row.get("time_ratio_target", np.inf)))
            for name, pick in picks.items():
                hits[name].append(target[id(pick)] <= 1.2 * best)
        hits["(best candidate at the target is direct)"].append(min(ok, key=lambda x: x[1])[0].route == "direct")
    return {k: float(np.mean(v)) for k, v in hits.items() if v}
