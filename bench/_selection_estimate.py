"""Error-estimate rules of ``bench/pipeline_selection.py --estimate-rules`` (:data:`ESTIMATE_RULES`).

:func:`estimate_rules` gives each rule's estimate of the chosen candidate's error at the target from one row's
backtest numbers, :func:`estimate_table` the median estimate / real error and the share within 2x over rows (also
used by ``bench/route_growth.py`` on the real sets). Measurements: ``bench/pipeline_selection.py``'s docstring.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Rules for the error estimate at the target of fit_pipeline's pick (issue 9: within 2x of the real error), each
#: from a row's backtest numbers (:func:`estimate_rules`). m: the main split's MRE; f = d*/d_main, the library's
#: distance factor (d: distance in log N + log S); b: the main split's mean signed residual per eval (the bias);
#: "the intervals' scores": |f b + g (r - b)|, the scatter beyond the checkpoint noise scaled by f, the noise not
#: (:func:`mixlaw.pipeline.conformal.extrapolation_half_width`'s scores); gap: mean |pred_chosen /
#: pred_runner-up - 1| at the target (when two candidates disagree by x, at least one is about x/2 off).
ESTIMATE_RULES = ("library: m x f", "m x f^0.5", "m x f^g, g from auto's splits", "mean |b f + (r - b)|",
                  "mean of the intervals' scores", "median |r| x f", "each split's MRE x its own factor, mean",
                  "m x f, floored at gap/2", "mean of the intervals' scores, floored at gap/2",
                  "geometric mean of m x f and gap/2", "geometric mean of intervals' scores and gap/2",
                  "geometric mean of m x f and mean |b f + (r - b)|",
                  "geometric mean of m x f and max(gap/2, noise floor)",
                  "library since 2026-12-06: as the last, m -> sqrt(m s)")


def interval_scores(r: np.ndarray, f: float, noise: float) -> np.ndarray:
    """The scores :func:`mixlaw.pipeline.conformal.extrapolation_half_width` takes the quantile of, per column of
    ``r`` (n, n_evals): |f b + g (r - b)|, g = f when the noise is unknown."""
    out = np.empty_like(r)
    for k in range(r.shape[1]):
        col = r[:, k]
        s2 = float(np.var(col, ddof=1)) if col.size > 1 else 0.0
        g = f if not np.isfinite(noise) else (
            float(np.sqrt((f ** 2 * max(s2 - noise ** 2, 0.0) + min(s2, noise ** 2)) / s2)) if s2 > 0 else 1.0)
        out[:, k] = np.abs(f * col.mean() + g * (col - col.mean()))
    return out


def estimate_rules(row: dict[str, Any]) -> dict[str, float] | None:
    """Each rule of :data:`ESTIMATE_RULES`'s error estimate for the row's ``chosen`` candidate (a rule that
    needs the runner-up's prediction falls back to its own first part without one), its real error under
    ``"real"`` (``"real_observed"``: against the target run's measured loss, where the row has it) and the gap
    under ``"gap"``; None when the chosen candidate has no backtest residuals or no real error."""
    from mixlaw.pipeline.result import log_distance

    cands = row.get("candidates") or {}
    c = cands.get(row.get("chosen"))
    if c is None or c.get("target") is None or not c.get("split_residuals"):
        return None
    # auto's own splits only (route_growth's rows also hold a "short" one, which fit_pipeline does not run).
    sr = {k: np.asarray(v, dtype=float) for k, v in c["split_residuals"].items() if k in ("main", "time", "size")}
    d = {k: log_distance(*row["split_ratios"][k]) for k in sr}
    d_t = log_distance(row["size_ratio_target"], row["time_ratio_target"])
    if d["main"] <= 1e-12:
        return None
    f = max(1.0, d_t / d["main"])
    r = sr["main"].reshape(-1, int(c.get("n_cols") or 1))
    m = float(np.mean(np.abs(r)))
    b = r.mean(axis=0)
    bias_scaled = float(np.mean(np.abs(b * f + (r - b))))
    noise = row.get("checkpoint_noise")
    iv = float(np.mean(interval_scores(r, f, float("nan") if noise is None else float(noise))))
    ks = [k for k in sr if d[k] > 1e-12]
    x, y = np.log([d[k] for k in ks]), np.log([max(float(np.mean(np.abs(sr[k]))), 1e-12) for k in ks])
    g = float(np.clip(np.polyfit(x, y, 1)[0], 0.0, 2.0)) if len(ks) >= 2 and np.ptp(x) > 1e-6 else 1.0
    # The runner-up as fit_pipeline names it: the smallest score among the other candidates that ran.
    others = [(float(np.mean(o["entry_errors"])), lab) for lab, o in cands.items()
              if lab != row["chosen"] and o.get("entry_errors") is not None and o.get("backtest") is not None]
    gap = float("nan")
    if others and c.get("target_pred") is not None:
        ru = cands[min(others)[1]].get("target_pred")
        if ru is not None:
            gap = float(np.mean(np.abs(np.asarray(c["target_pred"]) / np.asarray(ru) - 1)))
    half = gap / 2 if np.isfinite(gap) and gap > 0 else float("nan")
    lib = m * f
    s_c = float(np.mean(c["entry_errors"])) if c.get("entry_errors") is not None else m

    def geo(a: float) -> float:
        return float(np.sqrt(a * half)) if np.isfinite(half) else a

    out = dict(zip(ESTIMATE_RULES, (
        lib, m * f ** 0.5, m * (d_t / d["main"]) ** g if d_t > d["main"] else m, bias_scaled, iv,
        float(np.median(np.abs(r))) * f, float(np.mean([np.mean(np.abs(sr[k])) * max(1.0, d_t / d[k]) for k in ks])),
        float(np.fmax(lib, half)), float(np.fmax(iv, half)), geo(lib), geo(iv),
        float(np.sqrt(lib * bias_scaled)),
        # E|e| of the target run's own noise, sigma_n sqrt(2/pi): what a measured loss is off by at the least.
        float(np.sqrt(lib * np.fmax(half, float(noise or np.nan) * np.sqrt(2 / np.pi)))) if np.isfinite(half)
        else lib,
        # s: the chosen candidate's score, the mean of its entry errors about each split's mean (rows written by
        # the library from 2026-12-06 on; older rows hold plain |errors|, where s ~ m and this is the rule above).
        float(np.sqrt(np.sqrt(m * s_c) * f * np.fmax(half, float(noise or np.nan) * np.sqrt(2 / np.pi))))
        if np.isfinite(half) else float(np.sqrt(m * s_c) * f)), strict=True))
    if row.get("error_estimate") is not None:  # fit_pipeline's own (rows from after it adopted a rule)
        out["fit_pipeline's error_estimate"] = float(row["error_estimate"])
    out["real"] = float(c["target"])
    if c.get("target_observed") is not None:
        out["real_observed"] = float(c["target_observed"])
    out["gap"] = gap
    return out


def estimate_table(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per rule of :data:`ESTIMATE_RULES` (and fit_pipeline's own ``error_estimate`` where the rows hold it): median
    estimate / real error of fit_pipeline's pick over ``rows`` and the share within 2x (0.5-2), the real error
    taken against the noise-free truth and (", against the measured loss") the target run's measured loss."""
    got = [e for e in map(estimate_rules, rows) if e is not None]
    out = {}
    for rule in (*ESTIMATE_RULES, "fit_pipeline's error_estimate"):
        for ref in ("real", "real_observed"):
            q = np.array([e[rule] / e[ref] for e in got if rule in e and ref in e])
            if q.size:
                out[rule + ("" if ref == "real" else ", against the measured loss")] = {
                    "median": float(np.median(q)), "within_2x": float(np.mean((q >= 0.5) & (q <= 2))),
                    "n": int(q.size)}
    return out
