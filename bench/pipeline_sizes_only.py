"""The sizes-only pipeline: each run's final loss only, every size trained for the same steps, extrapolated in
model size at that step.

Protocol: for each run table (``--runs``, default the v3 and v3_12m cross-scale sets: 6 mixtures x 4 sizes,
28k-234k parameters, every size trained for the same steps) only the rows at one step are kept (one checkpoint per
run, as if each run had been trained to that step and recorded its final loss: the last step, and the recorded
steps nearest half and a quarter of it, ``--fractions``); the pipeline (no ``target_steps``: the table's one step)
is fitted on the 3 smallest sizes and predicts every mixture's per-domain loss at the largest (2.33x the largest
fitted size). Printed per table: the MRE (mean |pred / true - 1| over mixtures x evals) of the nested route (Ye's
size law per mixture, alpha shared per eval, then ye-exp at N*), the direct route (the joint law E + A/N^alpha + k
exp(t.r) without its step term), auto (``route="auto", law="auto"``), auto's choice and the coverage of its 80 %
prediction intervals, and a naive baseline (each mixture's loss at the largest fitted size). With 3 fitted sizes
auto's backtest cannot run (holding out the largest leaves 2, the size law needs 3): auto then uses its first
candidate, nested ye-exp, without comparison, and its intervals are the jackknife's with the size law's own
prediction error at N* in quadrature (:func:`mixlaw.pipeline.law_spread.size_law_spread`); the table says so.

Dai & Zheng's SlimPajama sweep (``--dz``, a clone of github.com/meiqwq/Explaining-Data-Mixing-Scaling-Laws; not
shipped): the script checks whether every size has a checkpoint at the largest run's last token count
(1.0368e11), or any token count common to every size, which the sizes-only pipeline needs. It has none: the sweep
scales tokens with model size (last checkpoints 2e10, 2e10, 2.592e10, 3.528e10, 4.608e10, 1.0368e11 for
122M-2.718B), so the script prints the check and what the pipeline says on each run's final checkpoint.

    python bench/pipeline_sizes_only.py [--runs A.csv B.csv] [--dz /tmp/dzrepo]

Measured 2026-12-04 (2 cores, 12 s in all), MRE at the largest size (233680 params) from the 3 smaller ones;
80 % coverage of the library's intervals (jackknife + size-law prediction sd) and, before it, of the jackknife
alone:

    runs       S*     nested  direct  auto    naive    auto chose               80% cover  (jackknife alone)
    v3         2929   1.21    1.02    1.21    4.32     nested ye-exp (no bt)    11/18       9/18
    v3         1440   2.32    1.95    2.32    4.08     nested ye-exp (no bt)    14/18       6/18
    v3          720   1.77    1.42    1.77    3.75     nested ye-exp (no bt)    18/18      11/18
    v3_12m     5859   1.34    1.63    1.34    4.87     nested ye-exp (no bt)    13/18      10/18
    v3_12m     2880   1.18    1.44    1.18    4.66     nested ye-exp (no bt)    12/18      11/18
    v3_12m     1440   2.01    2.10    2.01    4.35     nested ye-exp (no bt)     8/18       5/18

Both routes beat naive 2-4x everywhere; the direct route is better on v3, the nested one on v3_12m. With 3 fitted
sizes auto's backtest cannot run (a line says so: holding out the largest leaves 2, the size law needs 3), so auto
uses nested ye-exp without comparison. Its intervals were the jackknife's alone (no extrapolation error), too
narrow: 52 of 108 in all; with the size law's prediction error at N* in quadrature (each mixture's own 3 points
carried 2.33x beyond them, the shared-alpha fit's residual sd, the target run's noise; chosen and measured on
synthetic worlds by ``bench/interval_sizes_only.py``) they hold 76 of 108 (43/54 on v3, 33/54 on v3_12m), mean
half-width 4.0 % (2.9 % before). What they cannot hold is a shape error common to every mixture, which 3 sizes
do not show. Dai & Zheng: no token count is common to every size (the check above), so the sizes-only
pipeline does not apply; on each run's final checkpoint the pipeline refuses in one line (curves of 1 checkpoint,
no token count recorded at 3 or more sizes).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from mixlaw.data import RunTable, read_runs
from mixlaw.errors import MixlawError, MixlawWarning
from mixlaw.pipeline import fit_pipeline

DATA = Path(__file__).parent / "data"
DEFAULT_RUNS = [DATA / "crossscale_runs_v3.csv", DATA / "crossscale_runs_v3_12m.csv"]


def _key(w: np.ndarray) -> tuple[float, ...]:
    return tuple(np.round(w, 9))


def run_one(table: RunTable, fraction: float = 1.0) -> dict[str, object]:
    """The rows at one step (the recorded one nearest ``fraction`` x the last) only; fit the sizes below the
    largest, predict the largest."""
    names = list(table.evals)
    steps = np.unique(table.steps)
    last = float(steps[np.argmin(np.abs(steps - fraction * steps[-1]))])
    at_last = table.subset(table.steps == last)
    N = at_last.model_params
    sizes = np.unique(N)
    held = float(sizes[-1])
    truth = {_key(at_last.weights[i]): at_last.losses(names)[i] for i in np.flatnonzero(N == held)}
    fit = at_last.subset(N < held)
    out: dict[str, object] = {"S": last, "held": held, "fit_sizes": sizes[:-1].tolist()}
    below = fit.model_params == sizes[-2]
    Yb = fit.losses(names)
    out["naive"] = float(np.mean([np.mean(np.abs(Yb[i] / truth[_key(fit.weights[i])] - 1))
                                  for i in np.flatnonzero(below) if _key(fit.weights[i]) in truth]))
    for label, kw in (("nested", {"route": "nested", "law": "ye-exp"}),
                      ("direct", {"route": "direct", "law": "ye-exp"}), ("auto", {})):
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MixlawWarning)
                res = fit_pipeline(fit, target_params=held, **kw)
        except MixlawError as err:
            out[label] = float("nan")
            out[label + "_err"] = str(err).splitlines()[0]
            continue
        assert res.sizes_only
        y = np.array([truth[_key(w)] for w in res.mixtures])
        out[label] = float(np.mean(np.abs(res.target_losses / y - 1)))
        out[label + "_s"] = time.perf_counter() - t0
        if label == "auto":
            no_bt = [w for w in res.warnings if w.startswith("no backtest possible")]
            out["chosen"] = (res.selection.chosen.label if res.selection is not None
                             else f"{res.route} {res.law}" + (" (no bt)" if no_bt else ""))
            out["note"] = no_bt[0] if no_bt else ""
            iv = res.intervals
            out["cover"] = (f"{int(np.sum((iv.lower <= y) & (y <= iv.upper)))}/{y.size}" if iv is not None else "-")
    return out


def dai_zheng(repo: Path) -> None:
    """Check the SlimPajama sweep for a token count every size has; say what the pipeline does without one."""
    sys.path.insert(0, str(Path(__file__).parent))
    from dz_public_runs import read_table

    t = read_table(repo)
    print(f"\nDai & Zheng SlimPajama sweep ({repo}): {t.params.nunique()} sizes, {len(t)} rows")
    last = {p: float(g.tokens.max()) for p, g in t.groupby("params")}
    print("  last token count per size: " + ", ".join(f"{p / 1e6:g}M {v:.5g}" for p, v in last.items()))
    target = max(last.values())
    have = [p for p, g in t.groupby("params") if np.any(np.isclose(g.tokens, target, rtol=1e-9))]
    print(f"  sizes with a checkpoint at {target:.5g} tokens: " + ", ".join(f"{p / 1e6:g}M" for p in have))
    common = set.intersection(*(set(g.tokens.round(-6)) for _, g in t.groupby("params")))
    print(f"  token counts common to every size: {sorted(common) or 'none'}")
    if len(have) == t.params.nunique() or common:
        print("  (a common token count exists: rerun this protocol at it)")
        return
    print("  -> the sizes-only pipeline does not apply: every size must be trained for the same tokens")
    final = t[t.groupby("run").tokens.transform("max") == t.tokens].reset_index(drop=True)
    fit = RunTable(final[final.params < 2.718e9].reset_index(drop=True))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MixlawWarning)
            fit_pipeline(fit, target_params=2.718e9, target_tokens=target)
    except MixlawError as err:
        print(f"  pipeline on each run's final checkpoint (122M-1.235B -> 2.718B at {target:.5g}): {err}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", nargs="+", default=[str(p) for p in DEFAULT_RUNS])
    ap.add_argument("--dz", default="/tmp/dzrepo", help="clone of Dai & Zheng's repository ('' to skip)")
    ap.add_argument("--fractions", default="1,0.5,0.25",
                    help="the step each table is cut to, as fractions of its last step (the recorded step nearest)")
    args = ap.parse_args()
    print("sizes-only pipeline: each run's loss at one step S*; fit the smaller sizes, predict the largest")
    print(f"{'runs':<24} {'S*':>6} {'fit N':>20} {'N*':>7} {'nested':>7} {'direct':>7} {'auto':>7} {'naive':>7}  "
          f"{'auto chose':<24} {'80% cover':>9}")
    notes = []
    for path, frac in ((p, float(f)) for p in args.runs for f in args.fractions.split(",")):
        r = run_one(read_runs(path), frac)
        fit_n = ",".join(f"{v:g}" for v in r["fit_sizes"])  # type: ignore[attr-defined]
        print(f"{Path(path).stem:<24} {r['S']:>6g} {fit_n:>20} {r['held']:>7g} {r['nested']:>7.2%} "
              f"{r['direct']:>7.2%} {r['auto']:>7.2%} {r['naive']:>7.2%}  "
              f"{str(r.get('chosen', r.get('auto_err', '-'))):<24} {str(r.get('cover', '-')):>9}", flush=True)
        if r.get("note"):
            notes.append(f"  {Path(path).stem} at {r['S']:g}: {r['note']}")
    if notes:
        print("\nauto's backtest:")
        print("\n".join(notes))
    if args.dz:
        if (Path(args.dz) / "data" / "dmsl_llm_slimpajama.csv").exists():
            dai_zheng(Path(args.dz))
        else:
            print(f"\nDai & Zheng: no {args.dz}/data/dmsl_llm_slimpajama.csv (clone the repository to check it)")


if __name__ == "__main__":
    main()
