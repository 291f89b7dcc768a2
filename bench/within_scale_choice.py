"""Should ``auto`` score the Spearman term within scale groups when its runs span several model sizes?

Today ``auto`` chooses by :math:`S = (1 - \\rho) + \\tfrac12 (1 - R^2)` on the pooled out-of-fold predictions
(:func:`mixlaw.laws.cv_table.score_columns`): on a table of several sizes the pooled Spearman also ranks the sizes,
so a law that orders only the sizes scores like one that ranks the mixtures. The alternative ("within"):
:math:`\\rho` = the mean of the out-of-fold Spearman among the runs of each scale (model size, tokens), weighted by
their runs, over groups of >= 3 runs; :math:`R^2` stays pooled. Both are computed here from one
:func:`mixlaw.laws.selection.cross_validate` per table (the same folds and out-of-fold predictions), each choosing
per eval set as :meth:`CVTable.best` does (lowest S, rounded to 9 decimals, then fewer parameters; only
candidates with rho > 0 under that score's rho).

Protocol (every real multi-size table available): fit on the runs of every size but the largest (all their
runs pooled; the last step / the largest token count of each run), with ``auto``'s default candidates; each
score's chosen law (per eval) is refitted on those runs alone on that eval and scored on the largest size's runs,
held out: their Spearman (within one size: what a user choosing a mixture at that size needs) and MRE.

PRE-REGISTERED CRITERION (written before any result was seen, 2026-12-06 13:55 UTC):
  per table, the mean over its eval sets of the held-out Spearman of the chosen law (rho_w for the within score,
  rho_p for the pooled one) and the mean held-out MRE (mre_w, mre_p).
  A table counts "better or equal" when rho_w >= rho_p - 0.005, "worse" otherwise.
  ADOPT only if (a) better-or-equal on more than half of the tables, (b) on no table rho_w < rho_p - 0.05
  ("much worse" = 0.05 of mean Spearman), and (c) on no table mre_w > 1.25 * mre_p (MRE "much worse" = 25 %
  relative). Otherwise it is a negative result and ``auto`` keeps the pooled score.

Secondary, reported but not part of the decision (written after the held-out results above were seen, before this
check was run): ``--nested``, within the fitted sizes, 5 outer folds of mixtures (a mixture's runs at every fitted
size held out together), auto's CV and each score's choice on the other folds, and the within-size Spearman and MRE
of the chosen laws' out-of-fold predictions.

Tables: Dai & Zheng's SlimPajama runs (``--dz``, the clone of github.com/meiqwq/Explaining-Data-Mixing-Scaling-Laws,
as bench/dz_public_runs.py reads it; two splits: <= 937M -> 1.235B (20 held-out runs) and <= 1.235B -> 2.718B
(4)); Ye et al.'s RedPajama and 5Mix (``--ye``, bench/ye_public_runs.py's reader, last step of each run; 70M-410M
-> 1B); ADMIRE-BayesOpt's IFT runs (``--admire``, 0.5B + 3B -> 7B; CC BY-NC-SA, not shipped); the bundled trainer
runs bench/data/crossscale_runs*.csv (4 sizes each, last step).

Measured (2026-12-06, 2 busy cores; ``python bench/within_scale_choice.py --dz /tmp/dz --ye /tmp/ye``: the tables'
CVs and fits 256 s; ``--admire /tmp/admire --only admire`` 280 s): held out at the largest size, mean over the
evals; "diff": evals whose choice the within score changes.

    table                     fit/held evals diff rho pooled rho within MRE% pooled MRE% within  verdict
    bundled v1                 30/10       6    3      0.805      0.962       11.37       10.71  better/equal
    bundled 1m                 30/10       6    2      0.985      0.985        5.81        5.81  better/equal
    bundled v3                 18/6        3    1      0.962      0.962        8.83        8.77  better/equal
    bundled v3_12m             18/6        3    1      1.000      1.000        9.29        9.35  better/equal
    bundled v4                 18/6        3    0      0.943      0.943        8.41        8.41  better/equal
    dz <=937M -> 1.235B       200/20       8    1      0.913      0.912        1.90        2.07  better/equal
    dz <=1.235B -> 2.718B     220/4        8    1      0.711      0.711        5.52        7.40  much worse
    ye RedPajama              103/4        5    0      0.560      0.560        4.43        4.43  better/equal
    ye 5Mix                   104/6        5    5      0.691      0.646        6.47       12.52  much worse
    admire 0.5B+3B -> 7B      384/76      20   10      0.214      0.212       93.01       75.56  better/equal

Verdict by the criterion: better-or-equal on 8 of 10 tables, but much worse on two (MRE x1.34 on DZ's 2.718B:
openhermes dz-eq3-safe -> bimix; MRE x1.94 and rho -0.045 on Ye's 5Mix: every eval dz-eq1 -> gp-residual or
loglinear), so NOT ADOPTED: auto keeps the pooled score. Why it fails: the within-size Spearman takes away the
credit a size-aware law (dz-eq1, dz-eq3-safe) earns for ordering the sizes, the pooled R2 (weight 1/2) does not
keep it, and the size-blind laws it then picks cannot extrapolate to a larger size (their MRE there doubles). Where
it gains (bundled v1 docs: ye-exp rho 0.00 -> gp-residual 0.90) both choices were size-blind. The mean over
admire's 20 evals of the held-out MRE is dominated by evals with error rates near 0.

Secondary, ``--nested`` (within the fitted sizes, 5 outer folds of mixtures; rho within sizes; 2 busy cores
shared by 5 such processes, 23-395 s a table; admire on its first 4 evals only, 727 s):

    table                     rho pooled rho within MRE% pooled MRE% within
    bundled v1                     0.754      0.824        4.23        3.82
    bundled 1m                     0.791      0.807       11.42        8.73
    bundled v3                     0.994      0.994        4.34        4.36
    bundled v3_12m                 0.975      0.975        4.28        4.77
    bundled v4                     0.981      0.981        3.53        3.54
    dz <=937M (4 sizes)            0.866      0.862        1.34        1.52
    dz <=1.235B (5 sizes)          0.876      0.870        1.38        1.52
    ye RedPajama                   0.301      0.345        7.62        7.70
    ye 5Mix                        0.635      0.639       18.90       18.89
    admire 0.5B+3B (4 evals)       0.412      0.397        1.41        2.31

Mixed as well: gains on the small trainer tables and Ye's RedPajama, small losses in rho with 1.1-1.6x the MRE on
the DZ and ADMIRE tables, where the size-aware laws matter.

Run: ``python bench/within_scale_choice.py --dz /tmp/dz --ye /tmp/ye --admire /tmp/admire`` (a table whose
source is not given is skipped; ``--only NAME`` for one).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mixlaw.laws.cv_table import TIE_DECIMALS  # noqa: E402
from mixlaw.laws.selection import cross_validate, default_candidates, fit_law, fold_ids  # noqa: E402

HERE = Path(__file__).resolve().parent
MIN_GROUP = 3


def _last(frame: pd.DataFrame, by: list[str], order: str) -> pd.DataFrame:
    return frame.sort_values(order).groupby(by, as_index=False, sort=False).tail(1).reset_index(drop=True)


def bundled(path: Path) -> pd.DataFrame:
    return _last(pd.read_csv(path), ["run", "params"], "step").drop(columns=["step"])


def dz_table(repo: Path) -> pd.DataFrame:
    import dz_public_runs
    t = dz_public_runs.read_table(repo)
    return _last(t, ["run"], "tokens")


def ye_table(repo: Path, name: str) -> pd.DataFrame:
    import ye_public_runs
    t = ye_public_runs.read_set(repo, name)
    return _last(t, ["run", "params"], "step").drop(columns=["step"])


def admire_table(repo: Path) -> pd.DataFrame:
    import admire_public_runs
    return admire_public_runs.error_table(repo)


def within(y: np.ndarray, p: np.ndarray, groups: np.ndarray) -> float:
    """Run-weighted mean Spearman over the scale groups of >= MIN_GROUP runs (NaN groups left out)."""
    vals, ns = [], []
    for g in np.unique(groups):
        m = groups == g
        if m.sum() >= MIN_GROUP and np.ptp(y[m]) > 0 and np.ptp(p[m]) > 0:
            vals.append(spearmanr(y[m], p[m]).statistic)
            ns.append(int(m.sum()))
    return float(np.average(vals, weights=ns)) if vals else 0.0


def choose(cv, j: int, target: str, groups: np.ndarray) -> dict[str, str]:
    """Each score's choice on eval ``j``: pooled (the table's S) and within (rho within scales, R2 pooled)."""
    y = cv.truth[:, j]
    out = {}
    rows = [r for r in cv.table.rows if r.target == target and r.error is None and np.isfinite(r.metrics["score"])]
    # auto stops when no candidate ranks better than chance (CVTable.best); here the lowest S is taken then
    # (both scores), so that a fold of the nested check still scores something.
    pooled = [r for r in rows if r.metrics["spearman"] > 0] or rows
    out["pooled"] = min(pooled, key=lambda r: (round(r.metrics["score"], TIE_DECIMALS), r.n_params)).law
    scored = []
    for r in rows:
        rho = within(y, cv.oof[(r.law, r.fit_on)][:, j], groups)
        r2 = r.metrics["r2"]
        s = (1 - rho) + (0.5 * (1 - r2) if np.isfinite(r2) else 0.0)
        if rho > 0:
            scored.append((round(s, TIE_DECIMALS), r.n_params, r.law))
    out["within"] = min(scored)[2] if scored else out["pooled"]
    return out


def select(W, Y, P, T, domains, targets, groups) -> list[dict[str, str]]:
    """One CV of the default candidates on these runs; each eval's choice under each score."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv = cross_validate(W, Y, domains=domains, targets=targets, candidates=default_candidates(len(W)),
                            model_params=P, tokens=T, random_state=0)
    return [choose(cv, j, tg, groups) for j, tg in enumerate(targets)]


def refit_predict(key, j, W, Y, P, T, domains, targets, Wq, Pq, Tq) -> np.ndarray:
    """Law ``key`` fitted on eval ``j`` of (W, Y), its predictions at Wq (sizes Pq, tokens Tq)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        law = fit_law(key, W, Y[:, [j]], domains=domains, targets=[targets[j]], model_params=P, tokens=T)
        pred = np.asarray(law.predict(Wq, model_params=Pq, tokens=Tq), float)
    return pred.reshape(len(Wq), -1)[:, 0]


def nested(name: str, W, Y, P, T, domains, targets, groups, k: int = 5) -> dict[str, float]:
    """The secondary check: within the fitted sizes, outer K folds of mixtures (a mixture's runs at every size
    held out together: a new mixture), auto's CV and choice on the rest, the chosen law's predictions of the held
    mixtures; scored by the within-scale Spearman and the MRE of the assembled out-of-fold predictions."""
    t0 = time.perf_counter()
    outer = fold_ids(len(W), k, 1, same=W)
    pred = {"pooled": np.full(Y.shape, np.nan), "within": np.full(Y.shape, np.nan)}
    for f in np.unique(outer):
        tr, te = outer != f, outer == f
        Tt = None if T is None else T[tr]
        Te = None if T is None else T[te]
        for j, ch in enumerate(select(W[tr], Y[tr], P[tr], Tt, domains, targets, groups[tr])):
            for score, key in ch.items():
                pred[score][te, j] = refit_predict(key, j, W[tr], Y[tr], P[tr], Tt, domains, targets, W[te], P[te], Te)
    out = {}
    for score, Pr in pred.items():
        out[f"rho_{score[0]}"] = float(np.mean([within(Y[:, j], Pr[:, j], groups) for j in range(Y.shape[1])]))
        out[f"mre_{score[0]}"] = 100 * float(np.nanmean(np.abs(Pr - Y) / np.abs(Y)))
    print(f"== nested {name}: {len(W)} runs, {k} outer folds of mixtures; {time.perf_counter() - t0:.0f} s; rho within "
          f"{out['rho_p']:.3f} -> {out['rho_w']:.3f}, MRE % {out['mre_p']:.2f} -> {out['mre_w']:.2f}", flush=True)
    return out


def run_table(name: str, t: pd.DataFrame, evals_cap: int | None, do_nested: bool = False) -> dict[str, float]:
    doms = [c for c in t if c.startswith("w:")]
    evals = [c for c in t if c.startswith("loss:")][:evals_cap]
    top = t["params"].max()
    fit, held = t[t["params"] < top], t[t["params"] == top]
    W, Y = fit[doms].to_numpy(float), fit[evals].to_numpy(float)
    keep = ~np.isnan(Y).any(axis=1)
    fit, W, Y = fit[keep], W[keep], Y[keep]
    P = fit["params"].to_numpy(float)
    T = fit["tokens"].to_numpy(float) if "tokens" in fit else None
    scale = np.column_stack([P] + ([T] if T is not None else []))
    groups = np.unique(np.round(np.log(scale), 6), axis=0, return_inverse=True)[1].ravel()
    Wh, Yh = held[doms].to_numpy(float), held[evals].to_numpy(float)
    Ph = held["params"].to_numpy(float)
    Th = held["tokens"].to_numpy(float) if "tokens" in held else None
    domains = [d.removeprefix("w:") for d in doms]
    targets = [e.removeprefix("loss:") for e in evals]
    t0 = time.perf_counter()
    choices = select(W, Y, P, T, domains, targets, groups)
    cache: dict[tuple[str, int], np.ndarray] = {}

    def held_pred(key: str, j: int) -> np.ndarray:
        if (key, j) not in cache:
            cache[key, j] = refit_predict(key, j, W, Y, P, T, domains, targets, Wh, Ph, Th)
        return cache[key, j]

    res = {"pooled": ([], []), "within": ([], [])}
    differ = []
    for j, tg in enumerate(targets):
        ch = choices[j]
        ok = ~np.isnan(Yh[:, j])
        for score, key in ch.items():
            p = held_pred(key, j)[ok]
            y = Yh[ok, j]
            rho = spearmanr(y, p).statistic if np.ptp(p) > 0 else 0.0
            res[score][0].append(float(rho))
            res[score][1].append(float(np.mean(np.abs(p - y) / np.abs(y))))
        if ch["pooled"] != ch["within"]:
            differ.append(f"{tg}: {ch['pooled']} -> {ch['within']} "
                          f"(rho {res['pooled'][0][-1]:.2f} -> {res['within'][0][-1]:.2f})")
    out = {"runs_fit": len(W), "runs_held": len(Wh), "sizes_fit": len(np.unique(P)), "evals": len(targets),
           "changed": len(differ), "secs": time.perf_counter() - t0}
    for score, (r, m) in res.items():
        out[f"rho_{score[0]}"] = float(np.mean(r))
        out[f"mre_{score[0]}"] = 100 * float(np.mean(m))
    print(f"== {name}: {len(W)} fit runs ({out['sizes_fit']} sizes) -> {len(Wh)} held at {top:.4g}; "
          f"{len(targets)} evals; {len(differ)} choices differ; {out['secs']:.0f} s", flush=True)
    for d in differ:
        print("   ", d, flush=True)
    if do_nested:
        out.update({f"n_{k}": v for k, v in nested(name, W, Y, P, T, domains, targets, groups).items()})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dz", type=Path)
    ap.add_argument("--ye", type=Path)
    ap.add_argument("--admire", type=Path)
    ap.add_argument("--only", default=None)
    ap.add_argument("--nested", action="store_true", help="also the secondary 5-fold check within the fitted sizes")
    ap.add_argument("--evals", type=int, default=None, help="at most this many eval sets per table")
    args = ap.parse_args()
    tables: dict[str, object] = {}
    for f in ("crossscale_runs", "crossscale_runs_1m", "crossscale_runs_v3", "crossscale_runs_v3_12m",
              "crossscale_runs_v4"):
        label = f.removeprefix("crossscale_runs").lstrip("_") or "v1"
        tables[f"bundled {label}"] = (bundled, HERE / "data" / f"{f}.csv")
    if args.dz:
        tables["dz <=937M -> 1.235B"] = (lambda r: (lambda t: t[t.params <= 1.235e9])(dz_table(r)), args.dz)
        tables["dz <=1.235B -> 2.718B"] = (dz_table, args.dz)
    if args.ye:
        tables["ye RedPajama"] = (lambda r: ye_table(r, "RedPajama"), args.ye)
        tables["ye 5Mix"] = (lambda r: ye_table(r, "5Mix"), args.ye)
    if args.admire:
        tables["admire 0.5B+3B -> 7B"] = (admire_table, args.admire)
    results = {}
    for name, (reader, src) in tables.items():
        if args.only and args.only not in name:
            continue
        results[name] = run_table(name, reader(src), args.evals, args.nested)
    print(f"\n{'table':<24}{'fit/held':>10}{'evals':>6}{'diff':>5}{'rho pooled':>11}{'rho within':>11}"
          f"{'MRE% pooled':>12}{'MRE% within':>12}  verdict")
    n_ok = 0
    much = False
    for name, r in results.items():
        better = r["rho_w"] >= r["rho_p"] - 0.005
        n_ok += better
        bad = r["rho_w"] < r["rho_p"] - 0.05 or r["mre_w"] > 1.25 * r["mre_p"]
        much |= bad
        verdict = "much worse" if bad else ("better/equal" if better else "worse")
        print(f"{name:<24}{r['runs_fit']:>5}/{r['runs_held']:<4}{r['evals']:>6}{r['changed']:>5}{r['rho_p']:>11.3f}"
              f"{r['rho_w']:>11.3f}{r['mre_p']:>12.2f}{r['mre_w']:>12.2f}  {verdict}")
    if args.nested:
        print("\nsecondary (nested 5-fold over mixtures within the fitted sizes; rho within sizes, MRE %)")
        print(f"{'table':<24}{'rho pooled':>11}{'rho within':>11}{'MRE% pooled':>12}{'MRE% within':>12}")
        for name, r in results.items():
            if "n_rho_p" in r:
                print(f"{name:<24}{r['n_rho_p']:>11.3f}{r['n_rho_w']:>11.3f}{r['n_mre_p']:>12.2f}{r['n_mre_w']:>12.2f}")
    adopt = n_ok > len(results) / 2 and not much
    print(f"\nbetter/equal on {n_ok} of {len(results)} tables; much worse on any: {much}; "
          f"ADOPT the within-scale Spearman: {adopt}")


if __name__ == "__main__":
    main()
