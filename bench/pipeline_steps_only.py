"""The steps-only pipeline on mixlaw's own trainer runs: one model size alone, extrapolated in steps.

Protocol: for each run table (``--runs``, default the v3 and v3_12m cross-scale sets) and each of its model
sizes, the table is cut to that size alone; the pipeline (no ``target_params``: the table's one size) is fitted
on every curve's checkpoints up to ``fraction`` x the last step (``--fractions``, default a third and a half)
and predicts every mixture's per-domain loss at the last step. Printed per (table, size, fraction): the MRE
(mean |pred / true - 1| over mixtures x evals) of the nested route (step law per curve, beta shared per eval,
then ye-exp at the target step), the direct route (the joint law E + B/S^beta + k exp(t.r) without its size
term), auto (``route="auto", law="auto"``: the candidate a time-only backtest prefers), auto's choice, the
coverage of auto's 80 % prediction intervals (true losses inside / entries), and a naive baseline (each
curve's last fitted checkpoint as its prediction). The truth is one checkpoint of one run (noise about 0.05 %).

    python bench/pipeline_steps_only.py [--runs A.csv B.csv] [--fractions 0.333,0.5] [--fit-from 0.4]

Measured 2026-12-04 (2 cores, 15 s each), mean over the 4 sizes, MRE nested / direct / auto (naive), auto's
80 % coverage; v3 predicts step 2929, v3_12m step 5859:

    fit_from  runs     seen    nested  direct  auto    naive    cover
    0         v3       1/3     2.55    2.52    2.58    14.82    72/72
    0         v3       1/2     2.88    2.94    2.88     8.04    38/72
    0         v3_12m   1/3     6.94    7.01    7.02     9.07    23/72
    0         v3_12m   1/2     3.82    3.72    3.72     4.75    45/72
    0.4       v3       1/3     3.84    3.89    3.84    14.82    35/72   (34/72 on 2026-12-04)
    0.4       v3       1/2     1.53    1.48    1.53     8.04    61/72
    0.4       v3_12m   1/3     1.89    1.82    1.89     9.07    64/72
    0.4       v3_12m   1/2     0.64    0.64    0.64     4.75    71/72

The routes are within 0.15 % of each other everywhere (6 mixtures: ye-pow and additive-ens cannot run, so auto
picks between nested ye-exp and the joint law; it chose direct in 9 of 16 cases with fit_from 0, nested in 16 of
16 with 0.4). Every setting beats naive; the error is the step law's: these tiny models' curves flatten after
their first third (bench/pipeline_crossscale.py), and the intervals, calibrated on cuts of the seen stretch,
are too narrow where that happens (v3 from a third with fit_from 0.4, v3_12m from a third without).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from mixlaw.data import RunTable, read_runs
from mixlaw.errors import MixlawError, MixlawWarning
from mixlaw.pipeline import fit_pipeline

DATA = Path(__file__).parent / "data"
DEFAULT_RUNS = [DATA / "crossscale_runs_v3.csv", DATA / "crossscale_runs_v3_12m.csv"]


def _truth(table: RunTable, names: list[str]) -> tuple[dict[tuple[float, ...], np.ndarray], float]:
    """Each mixture's losses at the table's last step (keyed by rounded weights), and that step."""
    S = table.steps
    last = float(S.max())
    rows = np.flatnonzero(S == last)
    Y = table.losses(names)
    return {tuple(np.round(table.weights[i], 9)): Y[i] for i in rows}, last


def _score(res, truth: dict) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(MRE of the target losses, interval coverage or nan) against the truth, by mixture."""
    keys = [tuple(np.round(w, 9)) for w in res.mixtures]
    y = np.array([truth[k] for k in keys])
    mre = float(np.mean(np.abs(res.target_losses / y - 1)))
    iv = res.intervals
    cover = float("nan") if iv is None else float(np.mean((iv.lower <= y) & (y <= iv.upper)))
    return mre, cover


def run_one(table: RunTable, fraction: float, fit_from: float) -> dict[str, object]:
    names = list(table.evals)
    truth, last = _truth(table, names)
    S = table.steps
    seen = table.subset(S <= fraction * last + 1e-9)
    out: dict[str, object] = {"last": last, "cut": float(seen.steps.max())}
    # Naive: each curve's last seen checkpoint.
    naive_rows = np.flatnonzero(seen.steps == seen.steps.max())
    Yn = seen.losses(names)
    out["naive"] = float(np.mean([np.mean(np.abs(Yn[i] / truth[tuple(np.round(seen.weights[i], 9))] - 1))
                                  for i in naive_rows]))
    for label, kw in (("nested", {"route": "nested", "law": "ye-exp"}), ("direct", {"route": "direct",
                                                                                     "law": "ye-exp"}),
                      ("auto", {})):
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MixlawWarning)
                res = fit_pipeline(seen, target_steps=last, fit_from=fit_from, **kw)
        except MixlawError as err:
            out[label] = float("nan")
            out[label + "_err"] = str(err).splitlines()[0]
            continue
        mre, cover = _score(res, truth)
        out[label] = mre
        out[label + "_s"] = time.perf_counter() - t0
        if label == "auto":
            out["chosen"] = res.selection.chosen.label if res.selection is not None else f"{res.route} {res.law}"
            out["cover"] = cover
            out["n_cover"] = int(res.target_losses.size)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", nargs="+", default=[str(p) for p in DEFAULT_RUNS])
    ap.add_argument("--fractions", default="0.333333,0.5", help="fractions of the last step the fit sees")
    ap.add_argument("--fit-from", type=float, default=0.0, help="as 'mixlaw pipeline --fit-from'")
    args = ap.parse_args()
    fractions = [float(f) for f in args.fractions.split(",")]
    print(f"steps-only pipeline, fit_from={args.fit_from:g}: MRE at each size's last step (one size alone)")
    head = (f"{'runs':<22} {'N':>7} {'frac':>5} {'S seen->S*':>12} {'nested':>7} {'direct':>7} {'auto':>7} "
            f"{'naive':>7}  {'auto chose':<22} {'80% cover':>9}")
    print(head)
    summary: dict[tuple[str, float], list[dict[str, object]]] = {}
    for path in args.runs:
        table = read_runs(path)
        for N in np.unique(table.model_params):
            one = table.subset(table.model_params == N)
            for frac in fractions:
                r = run_one(one, frac, args.fit_from)
                summary.setdefault((Path(path).stem, frac), []).append(r)
                cover = (f"{round(r['cover'] * r['n_cover'])}/{r['n_cover']}" if np.isfinite(r.get("cover", np.nan))
                         else "-")
                print(f"{Path(path).stem:<22} {N:>7g} {frac:>5.3g} {r['cut']:>5g}->{r['last']:<6g} "
                      f"{r['nested']:>7.2%} {r['direct']:>7.2%} {r['auto']:>7.2%} {r['naive']:>7.2%}  "
                      f"{str(r.get('chosen', r.get('auto_err', '-'))):<22} {cover:>9}", flush=True)
    print("\nmean over sizes")
    print(f"{'runs':<22} {'frac':>5} {'nested':>7} {'direct':>7} {'auto':>7} {'naive':>7}  {'80% cover':>9}")
    for (stem, frac), rs in summary.items():
        m = {k: float(np.mean([r[k] for r in rs])) for k in ("nested", "direct", "auto", "naive")}
        hit = sum(round(r["cover"] * r["n_cover"]) for r in rs if np.isfinite(r.get("cover", np.nan)))
        n = sum(r["n_cover"] for r in rs if np.isfinite(r.get("cover", np.nan)))
        print(f"{stem:<22} {frac:>5.3g} {m['nested']:>7.2%} {m['direct']:>7.2%} {m['auto']:>7.2%} "
              f"{m['naive']:>7.2%}  {hit:>4}/{n:<4}")


if __name__ == "__main__":
    main()
