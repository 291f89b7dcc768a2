"""Laws on Marin's Delphi swarm (280 runs, 39 buckets, 9 metrics none of which is a training bucket).

Two protocols (issue 10):

1. 5-fold CV, shuffled with seed 0, on all 280 runs: per law and metric the mean held-out Spearman (± std over
   folds) and MRE. Laws that match eval sets to domains (dz-eq1, dz-eq3-safe, bimix, autoscale) run through
   implicit aggregation. ``best_law`` is the law with the best mean CV Spearman. ``auto`` is an honest estimate
   of choosing the law by CV: for each outer fold the law is picked by its mean Spearman on the *other* folds
   and scored on this one (``--law auto`` does the same selection with an inner CV per fit; nested in the
   outer folds it costs 5x the fits, too slow here).
2. Marin's own split (column ``split_regmix``): fit on the 187 ``train`` runs, score RMSE and Spearman on the
   93 ``early_stop`` runs, with the law per metric chosen by protocol 1's CV (a choice among a handful of laws,
   made on all 280 runs, so it has seen the early_stop runs' labels; ``--marin-law`` fixes the law instead).

Goals: CV Spearman >= 0.965 on uncheatable_obj and >= 0.90 on table9_obj; Marin split RMSE <= 0.0065 and
Spearman >= 0.965 on uncheatable_obj, RMSE <= 0.024 and >= 0.90 on table9_obj (Marin's LightGBM replay: 0.0140 /
0.857 and 0.0284 / 0.816).

Usage: python bench/marin_delphi.py [--laws a,b] [--metrics m1,m2] [--folds 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

import numpy as np
from rich.console import Console
from rich.progress import Progress

from mixlaw import metrics
from mixlaw.datasets import load_marin_delphi
from mixlaw.errors import FitError, InputError, MixlawWarning
from mixlaw.laws import available_laws, get_law

DEFAULT_LAWS = ["ye-pow", "linear", "loglinear", "dz-eq1", "dz-eq3-safe", "bimix", "lightgbm"]
#: Options per law: one optimiser start (the data-driven one) for the laws with 80-430 parameters per fit here:
#: seeded random starts in that many dimensions only cost time (bimix on uncheatable_obj: the data-driven start
#: 4.75, the random one 7.62 in objective units).
LAW_OPTIONS = {k: {"n_restarts": 1} for k in ("ye-pow", "bimix", "autoscale", "dz-eq1", "dz-eq3-safe", "dz-eq3")}
GOALS = {"uncheatable_obj": {"cv": 0.965, "rmse": 0.0065, "rho": 0.965},
         "table9_obj": {"cv": 0.90, "rmse": 0.024, "rho": 0.90}}


def folds(n: int, k: int, seed: int = 0) -> np.ndarray:
    """Fold id of every run: a seeded shuffle cut into k near-equal folds."""
    f = np.empty(n, dtype=int)
    f[np.random.default_rng(seed).permutation(n)] = np.arange(n) % k
    return f


def fit_predict(key: str, train, test, evals: list[str]) -> np.ndarray:
    law = get_law(key, random_state=0, **LAW_OPTIONS.get(key, {}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixlawWarning)
        law.fit(train, targets=evals)
        return np.asarray(law.predict(test), dtype=np.float64).reshape(len(test), len(evals))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--laws", default=",".join(DEFAULT_LAWS))
    ap.add_argument("--metrics", default="all")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--marin-law", default=None, help="law for Marin's split (default: the CV-best per metric)")
    ap.add_argument("--json", action="store_true", help="write one JSON document to stdout (tables to stderr)")
    args = ap.parse_args()
    def say(*a: object, flush: bool = True) -> None:
        print(*a, file=sys.stderr if args.json else sys.stdout, flush=flush)

    table = load_marin_delphi()
    evals = table.evals if args.metrics == "all" else args.metrics.split(",")
    laws = [k for k in args.laws.split(",") if k in available_laws()]
    Y = table.losses(evals)
    fid = folds(len(table), args.folds)
    # rho[law][metric] = per-fold Spearman; mre likewise.
    rho: dict[str, np.ndarray] = {}
    mre: dict[str, np.ndarray] = {}
    secs: dict[str, float] = {}
    errors: dict[str, str] = {}
    say(f"Marin Delphi: {len(table)} runs, {len(table.domains)} buckets; {args.folds}-fold CV (shuffled, seed 0); "
        "Spearman mean ± std over folds / MRE %")
    say(f"{'law':<14}{'s':>7}" + "".join(f"{e[:16]:>22}" for e in evals))
    with Progress(transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task("CV fits", total=len(laws) * args.folds)
        for key in laws:
            r = np.full((args.folds, len(evals)), np.nan)
            m = np.full((args.folds, len(evals)), np.nan)
            t0 = time.perf_counter()
            for f in range(args.folds):
                bar.update(task, description=f"{key} fold {f + 1}/{args.folds}")
                tr, te = table.subset(fid != f), table.subset(fid == f)
                try:
                    P = fit_predict(key, tr, te, evals)
                except (FitError, InputError, ImportError) as err:
                    errors[key] = f"{type(err).__name__}: {err}"[:100]
                    bar.advance(task, args.folds - f)
                    break
                for j in range(len(evals)):
                    r[f, j] = metrics.spearman(Y[fid == f, j], P[:, j])
                    m[f, j] = metrics.mre(Y[fid == f, j], P[:, j])
                bar.advance(task)
            rho[key], mre[key], secs[key] = r, m, time.perf_counter() - t0
            # One row per law as soon as it is done, so a long run shows its results as it goes.
            if key in errors:
                say(f"{key:<14}  failed: {errors[key]}")
            else:
                say(f"{key:<14}{secs[key]:>7.0f}" + "".join(
                    f"{np.mean(r[:, j]):>9.4f}±{np.std(r[:, j]):.3f} {100 * np.mean(m[:, j]):>5.2f}%"
                    for j in range(len(evals))), flush=True)
    ok = [k for k in laws if k not in errors]
    cv: dict[str, dict[str, object]] = {}
    for j, e in enumerate(evals):
        means = {k: float(np.mean(rho[k][:, j])) for k in ok}
        best = max(means, key=means.get)
        # Nested pick: fold f's law is the best by mean Spearman on the other folds.
        auto = []
        for f in range(args.folds):
            other = {k: float(np.mean(np.delete(rho[k][:, j], f))) for k in ok}
            auto.append(rho[max(other, key=other.get)][f, j])
        cv[e] = {"best_law": best, "spearman": means[best], "auto": float(np.mean(auto)),
                 "auto_method": "per-fold pick by the other folds' mean Spearman (not --law auto: nesting its inner CV "
                                "in every outer fold is 5x the fits)"}
    train, test = load_marin_delphi("train"), load_marin_delphi("early_stop")
    split: dict[str, dict[str, object]] = {}
    say("\nMarin's split (fit on 187 train runs, scored on 93 early_stop runs); law = CV-best per metric")
    say(f"{'metric':<22}{'law':<14}{'RMSE':>9}{'Spearman':>10}   goal")
    by_law: dict[str, np.ndarray] = {}
    for j, e in enumerate(evals):
        key = args.marin_law or str(cv[e]["best_law"])
        if key not in by_law:
            by_law[key] = fit_predict(key, train, test, evals)
        p, y = by_law[key][:, j], test.losses(e)
        split[e] = {"law": key, "rmse": metrics.rmse(y, p), "spearman": metrics.spearman(y, p)}
        g = GOALS.get(e)
        goal = ""
        if g:
            met = split[e]["rmse"] <= g["rmse"] and split[e]["spearman"] >= g["rho"]
            goal = f"RMSE <= {g['rmse']}, ρ >= {g['rho']}: {'met' if met else 'MISSED'}"
        say(f"{e:<22}{key:<14}{split[e]['rmse']:>9.4f}{split[e]['spearman']:>10.4f}   {goal}")
    say("\nCV summary per metric")
    say(f"{'metric':<22}{'best law':<14}{'ρ best':>8}{'ρ auto':>8}   goal")
    for e, c in cv.items():
        g = GOALS.get(e)
        goal = f"CV ρ >= {g['cv']}: {'met' if c['spearman'] >= g['cv'] else 'MISSED'}" if g else ""
        say(f"{e:<22}{c['best_law']:<14}{c['spearman']:>8.4f}{c['auto']:>8.4f}   {goal}")
    if args.json:
        doc = {"cv": cv, "marin_split": split,
               "laws": {k: {"spearman": {e: float(np.mean(rho[k][:, j])) for j, e in enumerate(evals)},
                            "mre": {e: float(np.mean(mre[k][:, j])) for j, e in enumerate(evals)},
                            "seconds": secs[k]} for k in ok},
               "errors": errors, "folds": args.folds, "seed": 0}
        print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
