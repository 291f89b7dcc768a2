"""Which default generalises: ``auto``, ``stack`` or one fixed law, on runs the choice was not made on (issue 10).

For each real table at hand, fit on a training part and score on a held-out part (seeded random splits):

- ``regmix-45`` / ``regmix-100``: 45 / 100 of RegMix's 512 ``train_1m`` runs (17 domains), held out: the rest of
  ``train_1m``, and ``test_1B`` (64 mixtures at 1B parameters, 25B tokens: Spearman only, the level differs);
  ``regmix-512``: all of ``train_1m``, held out ``test_1m`` and ``test_1B`` (one split: only the folds' seed would
  vary);
- ``marin``: Marin's Delphi swarm (280 runs, 39 domains, 9 metrics), 80/20 splits;
- ``olmix-dclm`` / ``olmix-full``: Olmix's DCLM swarm (127 runs, 24 domains) and full_recomputation (512 runs, 64
  domains), 80/20 splits (``/tmp/external/olmix``, not shipped: skipped when absent; its README.txt says how to
  rebuild it);
- ``dz-122m`` / ``dz-310m``: Dai & Zheng's SlimPajama sweep at one size and its last checkpoint (60 mixtures, 7
  domains, 8 evals; ``/tmp/dz/data/dmsl_llm_slimpajama.csv``, not shipped: skipped when absent), 80/20 splits.

Each dataset takes ``--evals`` of its eval sets (drawn once with seed 0, the same for every split). On a split,
one K-fold CV of the default candidates is run on the training runs exactly as ``--law auto`` / ``--law stack``
run it (:func:`~mixlaw.laws.selection.cross_validate` with the laws' defaults), and from it:

- ``auto``: the lowest CV score :math:`S_a = (1 - \\rho) + a (1 - R^2)` per eval set, ``a = 1/2`` (the default),
  the chosen law refitted on the eval sets that chose it (as :class:`~mixlaw.laws.auto.AutoLaw` does); variants
  ``auto a=0`` (ranking only), ``a=1``, ``a=2``, ``a=inf`` (calibration only);
- ``stack``: the ``m = 4`` best by S (the default) weighted by non-negative least squares on their out-of-fold
  predictions, members refitted on the eval sets that use them (as :class:`~mixlaw.laws.stack.StackLaw` does);
  variants ``m = 2, 6, all``;
- every candidate the CV scored, fitted on all training runs: the fixed laws.

Scores on the held-out runs, per eval set: Spearman and RMSE (same scale), Spearman at 1B (RegMix); and per split
the regret of the held-out run with the lowest predicted mean over the chosen eval sets (its true mean minus the
best held-out run's): the optimum a user gets, among mixtures that were actually run. The table gives, per
dataset, the mean over splits x eval sets for auto, stack, the best fixed law (the one with the highest mean
held-out Spearman on that dataset, named) and the median fixed law, and how often auto / stack are within 0.01
Spearman of the best fixed law of that cell (hindsight: the law best on that split and eval set's held-out runs).
The CV is the CPU cost of auto and stack (``cv s``: its CPU seconds per split); a fixed law costs one fit.

Measured 2026-12-05 at main 1ddebfa (2 shared cores, load 1-2; defaults, ``--seeds 3 --evals 6``: 3 splits x 6 eval
sets, 1 split for regmix-512; 553 CPU s in all, 634 s with ``--objective``). Per eval set (what ``fit --law`` fits):

    dataset     cells CPU s a/s/fixed | Spearman auto/stack/best/med | RMSE x1e3 auto/stack/best/med | best fixed
    dz-122m        18   4   5 0.1     | 0.980 0.980 0.981 0.963     |   9.27   9.15   9.43  24.07   | additive-ens
    dz-310m        18   5   5 0.1     | 0.979 0.980 0.981 0.966     |  10.95   9.56   9.90  25.03   | additive-ens
    regmix-45      18  18  19 0.2     | 0.933 0.953 0.949 0.870     | 376.56 327.75 353.70 510.83   | ye-pow
      at 1B                           | 0.924 0.949 0.957 0.844     |                               | (bimix)
    regmix-100     18   9   9 0.2     | 0.985 0.986 0.985 0.932     | 185.58 179.06 186.29 391.14   | additive-ens
      at 1B                           | 0.960 0.960 0.958 0.913     |                               |
    olmix-dclm     18  24  25 0.3     | 0.901 0.910 0.912 0.875     |  85.11  74.49  68.87  98.29   | additive-ens
    marin          18  56  60 1.2     | 0.946 0.949 0.948 0.909     |   9.99   9.90  10.11  13.17   | gp-residual
    regmix-512      6  35  36 0.3     | 0.992 0.993 0.991 0.969     | 102.43  90.76 101.90 250.39   | lightgbm
      at 1B                           | 0.959 0.963 0.964 0.957     |                               | (ye-pow)
    olmix-full     18  95 101 2.7     | 0.913 0.921 0.911 0.879     |  44.91  42.51  46.36  82.81   | additive-ens

Within 0.01 Spearman of the cell's best fixed law: auto 76 / stack 86 of 114 cells (per dataset, auto/stack of 18:
12/13, 12/12, 8/13, 17/18, 9/7, 12/17; of 6 on regmix-512: 6/6). olmix-full (run separately, ``--datasets
olmix-full``: 449 CPU s, 551 with ``--objective``) adds 13/16 of 18 and agrees: stack ahead in both modes.
Stack against auto: Spearman and RMSE at least as good on 7/7 datasets (mean +0.0052, worst +0.0004; RMSE
-11.3e-3), held-out regret 6/7 (regmix-100: one split's argmin, 48e-3 against 1.4e-3).

For the mean of the eval sets (``--objective``, what ``optimize --law auto`` fits; cells = splits):

    dataset     cells CPU s a/s/fixed | Spearman auto/stack/best/med | RMSE x1e3 auto/stack/best/med | regret x1e3 a/s
    dz-122m         3  10  10 0.1     | 0.932 0.937 0.956 0.860     |   5.50   5.20   5.92  14.81   |   0.00   0.00
    dz-310m         3  10  10 0.1     | 0.970 0.974 0.970 0.888     |   5.66   5.86   5.66  14.39   |   0.74   1.15
    regmix-45       3  31  31 0.2     | 0.881 0.912 0.932 0.842     | 277.82 239.01 197.72 288.11   | 103.55 131.29
      at 1B                           | 0.790 0.790 0.943 0.698     |                               |
    regmix-100      3  13  13 0.2     | 0.979 0.981 0.979 0.917     | 112.00 109.87 112.00 234.78   |   1.41   1.41
      at 1B                           | 0.899 0.920 0.941 0.869     |                               |
    olmix-dclm      3  30  32 0.3     | 0.975 0.977 0.977 0.952     |  49.31  46.79  40.52  57.63   |   0.00  19.43
    marin           3  66  69 1.3     | 0.955 0.954 0.956 0.913     |   8.43   8.60   8.30  11.43   |   0.82   0.82
    regmix-512      1  60  60 0.4     | 0.991 0.993 0.991 0.945     |  54.35  53.10  54.35 122.43   |   0.00   0.00
    olmix-full      3 133 137 2.4     | 0.979 0.980 0.979 0.936     |  25.05  24.42  25.05  50.59   |   9.52   7.75

Stack against auto for the objective: Spearman at least as good on 6/7 (mean +0.0065, worst -0.0011 on marin),
RMSE 5/7 (mean -6.4e-3), regret only 4/7 (worse on dz-310m, regmix-45 and olmix-dclm: 0 -> 19.4e-3 on one split;
mean +6.8e-3). Variants (same CV, mean change against the default over the 7 datasets, per eval / objective):
``auto a=0`` (ranking only) Spearman +0.0004 / +0.0032, worst -0.0027 / -0.0028; ``a=1, 2, inf`` change one or
no choice (within 0.0003); ``stack m=6`` = m=4 per eval, +0.0034 Spearman and -17.6e-3 regret for the objective,
almost all from regmix-45 (0.938 vs 0.912; equal or within 0.002 elsewhere); ``m=all`` worse than m=4 on 3/7
for the objective (regmix-100 RMSE 124 vs 110e-3). The best fixed law differs by dataset (additive-ens 4, ye-pow 2,
gp-residual, lightgbm; bimix / ye-pow / dz-eq3-safe at 1B), and the median fixed law is 0.02-0.06 below auto in
Spearman everywhere: no one fixed law is a safe default.

Decision: no default changed. Stack wins the held-out ranking and calibration of every eval set on all 7
tables, at the same CPU (the CV is the cost; its refits add 0-4 s), but ``optimize``'s default fits the objective,
where stack's held-out pick was worse on 3 of 7 tables (regret is one argmin per split: noisy, yet it is what
the user gets), so auto stays ``optimize``'s default; ``fit``'s default was ye-exp then (one fit, < 1 s; it is
``stack`` since). The stack's member count and auto's score weight show no gain held out on most tables.

Added 2026-12-06 (twentieth session): ``stack|best``, per column the stack or its best member, whichever has the
lower CV score S (the stack's scored honestly, as its row in the CV table; on Marin the stack's honest S was above
gp-residual's on unch_arxiv_cs, 0.0773 against 0.0690, in ``mixlaw fit --dataset marin-delphi``). Measured at main
b94f97c (``--datasets dz-122m,dz-310m,regmix-45,regmix-100,regmix-512,marin,olmix-dclm --seeds 3 --evals 6``, 723
CPU s; the other rows as above): held-out Spearman / RMSE x1e3 per dataset, stack|best against stack, 0.980 / 0.980,
0.981 / 0.980, 0.947 / 0.953, 0.986 / 0.986, 0.993 / 0.993, 0.947 / 0.949, 0.909 / 0.911; Spearman below the
stack's on 3 of 7 (above on 1), RMSE higher on 5 of 7.
Mean change against auto +0.0035 Spearman (stack +0.0048): falling back to the best member by its CV score loses
what the stack gains, so the stack is kept as it is.

Usage:
    nice -n 10 python bench/auto_vs_stack.py [--quick] [--datasets regmix-45,marin,...] [--seeds 3] [--evals 4]
        [--rows rows.jsonl]   # append each split's scores; rerun with --from-rows rows.jsonl to print only
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from mixlaw.data import read_runs
from mixlaw.datasets import load_marin_delphi, load_regmix
from mixlaw.laws.selection import OBJECTIVE, cross_validate, fit_law, nonneg_weights, score_columns

OLMIX = Path("/tmp/external/olmix")
DZ = Path("/tmp/dz/data/dmsl_llm_slimpajama.csv")
#: Score weights a of auto's S_a = (1 - rho) + a (1 - R2); 0.5 is the default.
AUTO_A = (0.0, 0.5, 1.0, 2.0, float("inf"))
#: Stack member counts; 4 is the default (0: all that the CV scored).
STACK_M = (2, 4, 6, 0)


@dataclass
class Table:
    name: str
    W: np.ndarray
    Y: np.ndarray
    domains: list[str]
    evals: list[str]
    #: Fixed (train, test) instead of random 80/20 splits, and a cross-scale held-out table (W, Y).
    fixed_split: tuple[np.ndarray, np.ndarray] | None = None
    xtest: tuple[np.ndarray, np.ndarray] | None = None
    n_fit: int | None = None
    notes: list[str] = field(default_factory=list)


def _arrays(t: Any, evals: list[str]) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(t.weights, dtype=np.float64), np.asarray(t.losses(evals), dtype=np.float64)


def _pick(evals: list[str], n: int) -> list[str]:
    if n >= len(evals):
        return list(evals)
    idx = np.sort(np.random.default_rng(0).choice(len(evals), size=n, replace=False))
    return [evals[i] for i in idx]


def load(name: str, n_evals: int) -> Table | None:
    """The dataset ``name`` with ``n_evals`` of its eval sets, or None when its files are absent."""
    if name.startswith("regmix"):
        tr, t1m, t1b = load_regmix("train_1m"), load_regmix("test_1m"), load_regmix("test_1B")
        ev = _pick(list(tr.evals), n_evals)
        W, Y = _arrays(tr, ev)
        n_fit = int(name.split("-")[1])
        xtest = (t1b.weights_for(tr.domains), np.asarray(t1b.losses(ev), dtype=np.float64))
        t = Table(name, W, Y, list(tr.domains), ev, xtest=xtest, n_fit=n_fit)
        if n_fit >= len(W):
            t.W = np.vstack([W, t1m.weights_for(tr.domains)])
            t.Y = np.vstack([Y, np.asarray(t1m.losses(ev), dtype=np.float64)])
            t.fixed_split = (np.arange(len(W)), np.arange(len(W), len(t.W)))
        return t
    if name == "marin":
        m = load_marin_delphi()
        ev = _pick(list(m.evals), n_evals)
        return Table(name, *_arrays(m, ev), list(m.domains), ev)
    if name.startswith("olmix-"):
        path = OLMIX / f"{name.split('-')[1]}.parquet"
        if not path.exists():
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            o = read_runs(path)
        ev = _pick(list(o.evals), n_evals)
        W, Y = _arrays(o, ev)
        keep = np.isfinite(Y).all(axis=1)
        return Table(name, W[keep], Y[keep], list(o.domains), ev)
    if name.startswith("dz-"):
        if not DZ.exists():
            return None
        import pandas as pd

        d = pd.read_csv(DZ)
        size = {"dz-122m": 1.22e8, "dz-310m": 3.1e8}[name]
        d = d[d.model_size == size]
        d = d[d.n_tokens == d.n_tokens.max()]
        doms = [c[7:] for c in d.columns if c.startswith("weight_")]
        ev = _pick([c[:-5] for c in d.columns if c.endswith("_loss")], n_evals)
        Y = d[[f"{e}_loss" for e in ev]].to_numpy(np.float64)
        W = d[[f"weight_{x}" for x in doms]].to_numpy(np.float64)
        keep = np.isfinite(Y).all(axis=1)
        return Table(name, W[keep] / W[keep].sum(1, keepdims=True), Y[keep], doms, ev)
    raise SystemExit(f"unknown dataset {name!r}")


def splits(t: Table, seeds: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    if t.fixed_split is not None:
        yield 0, *t.fixed_split
        return
    n = len(t.W)
    for s in range(seeds):
        perm = np.random.default_rng(s).permutation(n)
        k = t.n_fit if t.n_fit is not None else int(round(0.8 * n))
        yield s, np.sort(perm[:k]), np.sort(perm[k:])


def _spearman(y: np.ndarray, p: np.ndarray) -> float:
    if np.ptp(p) <= 0 or np.ptp(y) <= 0:
        return 0.0
    return float(spearmanr(y, p).statistic)


def one_split(t: Table, seed: int, tr: np.ndarray, te: np.ndarray, objective: bool = False) -> dict[str, Any]:
    """Every method's held-out scores on one split (a JSON-able row). With ``objective``: of the mean of the eval
    sets, chosen / stacked among laws fitted per eval and aggregated or fitted on the mean directly (what
    ``optimize --law auto`` fits); the fixed laws are fitted per eval and aggregated."""
    W, Y, ev = t.W[tr], t.Y[tr], t.evals
    s = np.full(len(ev), 1.0 / len(ev))
    kw = {"domains": t.domains, "random_state": 0}
    cpu = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv = cross_validate(W, Y, targets=ev, objective="mean" if objective else None, **kw)
    cv_cpu = time.process_time() - cpu
    fits: dict[tuple[str, str, tuple[int, ...]], Any] = {}
    fit_cpu: dict[tuple[str, str, tuple[int, ...]], float] = {}
    cols_all = tuple(range(len(ev)))

    def fitted(key: tuple[str, str, tuple[int, ...]]) -> Any:
        if key not in fits:
            law, mode, cols = key
            c0 = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    if mode == "direct":
                        fits[key] = fit_law(law, W, (Y @ s)[:, None], targets=[OBJECTIVE], **kw)
                    else:
                        fits[key] = fit_law(law, W, Y[:, list(cols)], targets=[ev[i] for i in cols], **kw)
                except Exception as e:  # noqa: BLE001 - a fixed law that fails is reported, not fatal
                    fits[key] = e
            fit_cpu[key] = time.process_time() - c0
        return fits[key]

    def predict(key: tuple[str, str, tuple[int, ...]], Wn: np.ndarray) -> np.ndarray:
        f = fitted(key)
        if isinstance(f, Exception):
            raise LookupError(key)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            P = np.asarray(f.predict(Wn), dtype=np.float64).reshape(len(Wn), -1)
        return P @ s if objective and key[1] == "per-eval" else P  # an objective member: its aggregate

    # A method: {column: {(law, fit_on): weight}}; columns are the eval sets, or the objective (column 0).
    columns = [OBJECTIVE] if objective else list(ev)

    def members(assign: dict[int, dict[tuple[str, str], float]]) -> dict[tuple[str, str, tuple[int, ...]], list[int]]:
        """Fits each method needs: a member refitted on the eval sets that use it (as the meta-laws refit)."""
        need: dict[tuple[str, str], list[int]] = {}
        for c, ws in assign.items():
            for m in ws:
                need.setdefault(m, []).append(c)
        return {(law, mode, cols_all if objective else tuple(cs)): cs for (law, mode), cs in need.items()}

    def method_predict(assign: dict[int, dict[tuple[str, str], float]], Wn: np.ndarray) -> np.ndarray:
        out = np.zeros((len(Wn), len(columns)))
        for key, cs in members(assign).items():
            P = predict(key, Wn).reshape(len(Wn), -1)
            for j, c in enumerate(cs):
                out[:, c] += assign[c][key[:2]] * (P[:, 0] if objective else P[:, j])
        return out

    def oof(r: Any, c: int) -> np.ndarray:
        return cv.objective_oof((r.law, r.fit_on)) if objective else cv.oof[(r.law, r.fit_on)][:, c]

    truth = cv.objective[:, None] if objective else cv.truth
    table = cv.table
    methods: dict[str, dict[int, dict[tuple[str, str], float]]] = {}
    for a in AUTO_A:
        choice = {}
        for c, col in enumerate(columns):
            ok = table.ok(col)
            score = [(1 - r.metrics["r2"]) if a == np.inf else (1 - r.metrics["spearman"]) + a * (1 - r.metrics["r2"])
                     for r in ok]
            best = ok[int(np.argmin(score))]
            choice[c] = {(best.law, best.fit_on): 1.0}
        methods["auto" if a == 0.5 else f"auto a={a:g}"] = choice
    for m in STACK_M:
        assign = {}
        for c, col in enumerate(columns):
            rows = sorted(table.ok(col), key=lambda r: r.metrics["score"])
            rows = rows[:m] if m else rows
            w = nonneg_weights(np.column_stack([oof(r, c) for r in rows]), truth[:, c])
            assign[c] = {(r.law, r.fit_on): float(x) for r, x in zip(rows, w, strict=True) if x > 0}
        methods["stack" if m == 4 else f"stack m={m or 'all'}"] = assign
    # The stack or its best member, whichever has the lower CV score S per column: the stack's scored honestly
    # (each fold's weights fitted on the other folds' out-of-fold rows, its row in the CV table), the member's
    # as the CV table has it.
    either = {}
    for c, col in enumerate(columns):
        rows = sorted(table.ok(col), key=lambda r: r.metrics["score"])[:4]
        P = np.column_stack([oof(r, c) for r in rows])
        honest = np.empty(len(P))
        for f in np.unique(cv.folds):
            te_f = cv.folds == f
            honest[te_f] = P[te_f] @ nonneg_weights(P[~te_f], truth[~te_f, c])
        if score_columns(truth[:, c], honest)["score"] < rows[0].metrics["score"]:
            either[c] = methods["stack"][c]
        else:
            either[c] = {(rows[0].law, rows[0].fit_on): 1.0}
    methods["stack|best"] = either
    scored = list(dict.fromkeys(r.law for r in table.rows if r.error is None and r.fit_on == "per-eval"))
    for law in scored:
        methods[law] = {c: {(law, "per-eval"): 1.0} for c in range(len(columns))}

    out: dict[str, Any] = {"dataset": t.name + ("/mean" if objective else ""), "seed": seed, "evals": ev,
                           "columns": columns, "n_train": len(tr), "n_test": len(te), "cv_cpu": cv_cpu,
                           "n_folds": table.n_folds, "fixed": scored, "scores": {}, "refit_cpu": {},
                           "choice": {col: "+".join(f"{k[0]}" + ("[direct]" if k[1] == "direct" else "")
                                                    for k in methods["auto"][c]) for c, col in enumerate(columns)}}
    Yt = t.Y[te]
    Tt = Yt @ s[:, None] if objective else Yt
    best_true = float(Yt.mean(1).min())
    for name, assign in methods.items():
        try:
            P = method_predict(assign, t.W[te])
        except LookupError:
            continue  # a fixed law that failed on the full training runs
        mean_pred = P[:, 0] if objective else P.mean(1)
        sc: dict[str, Any] = {
            "spearman": [_spearman(Tt[:, c], P[:, c]) for c in range(len(columns))],
            "rmse": [float(np.sqrt(np.mean((P[:, c] - Tt[:, c]) ** 2))) for c in range(len(columns))],
            "regret": float(Yt.mean(1)[int(np.argmin(mean_pred))] - best_true)}
        if t.xtest is not None:
            Tx = t.xtest[1] @ s[:, None] if objective else t.xtest[1]
            Px = method_predict(assign, t.xtest[0])
            sc["spearman_x"] = [_spearman(Tx[:, c], Px[:, c]) for c in range(len(columns))]
        out["scores"][name] = sc
        out["refit_cpu"][name] = float(sum(fit_cpu[k] for k in members(assign)))
    return out


# ---------------------------------------------------------------------------------------------------- summary
def _mean(rows: list[dict[str, Any]], m: str, key: str) -> float:
    return float(np.mean([v for r in rows for v in np.atleast_1d(r["scores"][m][key])]))


def summarise(rows: list[dict[str, Any]]) -> str:
    out = []
    head = (f"{'dataset':16s} {'cells':>5s} {'CPU s a/s/fix':>13s} | {'Spearman auto/stack/best/med':30s} | "
            f"{'RMSE x1e3 auto/stack/best/med':30s} | {'<=0.01 of cell best auto/stack':>16s} | "
            f"{'regret x1e3 auto/stack/best/med':32s} | best fixed")
    out.append(head)
    variants: dict[str, dict[str, float]] = {}
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        rs = [r for r in rows if r["dataset"] == ds]
        fixed = [f for f in rs[0]["fixed"] if all(f in r["scores"] for r in rs)]
        cells = sum(len(r["columns"]) for r in rs)
        rho = {m: _mean(rs, m, "spearman") for m in [*fixed, "auto", "stack"]}
        rmse = {m: _mean(rs, m, "rmse") for m in [*fixed, "auto", "stack"]}
        reg = {m: _mean(rs, m, "regret") for m in [*fixed, "auto", "stack"]}
        best = max(fixed, key=rho.__getitem__)
        med_rho = float(np.median([rho[f] for f in fixed]))
        med_rmse = float(np.median([rmse[f] for f in fixed]))
        med_reg = float(np.median([reg[f] for f in fixed]))
        near = {}
        for m in ("auto", "stack"):
            hits = [r["scores"][m]["spearman"][i] >= max(r["scores"][f]["spearman"][i] for f in fixed) - 0.01
                    for r in rs for i in range(len(r["columns"]))]
            near[m] = f"{sum(hits)}/{len(hits)}"
        cpu = {m: np.mean([r["cv_cpu"] + r["refit_cpu"][m] for r in rs]) for m in ("auto", "stack")}
        cpu_fixed = np.median([r["refit_cpu"][f] for r in rs for f in fixed])
        out.append(f"{ds:16s} {cells:5d} {cpu['auto']:4.0f} {cpu['stack']:4.0f} {cpu_fixed:3.1f} | "
                   f"{rho['auto']:.3f} {rho['stack']:.3f} {rho[best]:.3f} "
                   f"{med_rho:.3f}       | {1e3 * rmse['auto']:6.2f} {1e3 * rmse['stack']:6.2f} "
                   f"{1e3 * rmse[best]:6.2f} {1e3 * med_rmse:6.2f} | {near['auto']:>7s} {near['stack']:>7s}  | "
                   f"{1e3 * reg['auto']:6.2f} {1e3 * reg['stack']:6.2f} {1e3 * reg[best]:6.2f} {1e3 * med_reg:6.2f}   "
                   f"| {best}")
        if "spearman_x" in rs[0]["scores"]["auto"]:
            x = {m: _mean(rs, m, "spearman_x") for m in [*fixed, "auto", "stack"]}
            bx = max(fixed, key=x.__getitem__)
            out.append(f"{'  at 1B':16s} {'':5s} {'':13s} | {x['auto']:.3f} {x['stack']:.3f} {x[bx]:.3f} "
                       f"{float(np.median([x[f] for f in fixed])):.3f}       | (best at 1B: {bx})")
        for m in rs[0]["scores"]:
            if m.startswith(("auto", "stack")):
                variants.setdefault(m, {})[ds] = (_mean(rs, m, "spearman"), _mean(rs, m, "rmse"),
                                                  _mean(rs, m, "regret"))
    out.append("")
    dss = list(dict.fromkeys(r["dataset"] for r in rows))
    out.append("variants: held-out Spearman / RMSE x1e3 / regret x1e3 per dataset")
    out.append(f"{'':12s} " + " ".join(f"{d[-20:]:>20s}" for d in dss))
    for m, per in variants.items():
        out.append(f"{m:12s} " + " ".join(f"{per[d][0]:.3f}/{1e3 * per[d][1]:5.2f}/{1e3 * per[d][2]:5.2f}".rjust(20)
                                          for d in dss))
    out.append("")
    for m in [v for v in variants if v != "auto"]:
        won = [sum(variants[m][d][k] * sign >= variants["auto"][d][k] * sign - 1e-12 for d in dss)
               for k, sign in ((0, 1), (1, -1), (2, -1))]
        d = [np.mean([variants[m][x][k] - variants["auto"][x][k] for x in dss]) for k in range(3)]
        worst = min(variants[m][x][0] - variants["auto"][x][0] for x in dss)
        out.append(f"{m:12s} vs auto: datasets at least as good: Spearman {won[0]}/{len(dss)}, "
                   f"RMSE {won[1]}/{len(dss)}, regret {won[2]}/{len(dss)}; "
                   f"mean change {d[0]:+.4f} / {1e3 * d[1]:+.2f} / {1e3 * d[2]:+.2f}; "
                   f"worst Spearman change {worst:+.4f}")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="regmix-45,regmix-100,regmix-512,marin,olmix-dclm,olmix-full,dz-122m,"
                    "dz-310m")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--evals", type=int, default=4)
    ap.add_argument("--quick", action="store_true", help="2 eval sets, 1 split, small datasets only")
    ap.add_argument("--objective", action="store_true", help="score the mean of the eval sets (as optimize fits it)")
    ap.add_argument("--rows", help="append each split's scores (JSON lines) here")
    ap.add_argument("--from-rows", help="print the summary of these rows only")
    args = ap.parse_args()
    if args.from_rows:
        print(summarise([json.loads(x) for x in Path(args.from_rows).read_text().splitlines() if x.strip()]))
        return
    if args.quick:
        args.seeds, args.evals = 1, 2
        args.datasets = "regmix-45,dz-122m,olmix-dclm"
    rows = []
    t0 = time.process_time()
    for name in args.datasets.split(","):
        t = load(name, args.evals)
        if t is None:
            print(f"{name}: files absent, skipped")
            continue
        for seed, tr, te in splits(t, args.seeds):
            r = one_split(t, seed, tr, te, args.objective)
            rows.append(r)
            print(f"{name} seed {seed}: {len(tr)} fit / {len(te)} held out, CV {r['cv_cpu']:.0f} CPU s "
                  f"({r['n_folds']} folds), auto chose {r['choice']}", flush=True)
            if args.rows:
                with open(args.rows, "a") as fh:
                    fh.write(json.dumps(r) + "\n")
    print(f"\n{time.process_time() - t0:.0f} CPU s in all\n")
    print(summarise(rows))


if __name__ == "__main__":
    main()
