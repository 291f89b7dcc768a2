"""Speed of auto's costliest candidates on the bundled RegMix runs (train_1m: 512 runs, 17 domains, 13 evals), now
against a baseline git revision, as ratios measured in one session, with a check that the results are identical.

What ``mixlaw fit --dataset regmix --law auto --target all`` and ``mixlaw optimize --dataset regmix --objective
mean`` spend their time on (cProfile, 2026-12-06): the fold fits of dz-eq3-safe, dz-eq1, gp-residual and lightgbm.
Parts (each timed in a child process per tree, the trees alternating ``--repeats`` times; wall and CPU s):

- ``gp``: gp-residual fitted on all 13 evals (its length-scale search: the eigendecompositions);
- ``lgbm``: lightgbm fitted on all 13 evals;
- ``search``: lightgbm's simulate search (``optimize_mixture`` for the mean objective of a lightgbm law fitted on
  the 13 evals, as auto chose it there; RegMix's 100 000 samples; ``n_jobs="auto"``, the CLI's default, where the
  tree takes it);
- ``cv`` (``--cv``, slow): ``cross_validate`` of gp-residual and lightgbm for the mean objective (per-eval and
  direct, 5 folds, one process), the CV table and every out-of-fold prediction compared.

- ``dz1``, ``dz3`` (speed25): ``cross_validate`` of dz-eq1 / dz-eq3-safe alone (5 folds, one process, per eval
  set: as the auto CV fits them on these runs), the CV table's Spearman and RMSE and every out-of-fold prediction
  compared;

- ``dz1d``, ``dz3d`` (speed26): the same on the objective column (``objective="mean"``, ``fit_on=("direct",)``: one
  implicitly aggregated target, as ``optimize``'s CV fits dz-eq1 [direct] and dz-eq3-safe [direct]);

- ``fit``, ``optimize`` (slow): ``fit_table(law="auto", targets="all")`` and ``optimize_runs(law="auto",
  objective="mean")`` inside ``cv_workers("auto")``, as the two commands run (the chosen laws, CV table, predictions,
  optimum compared).

Identity: every part's numbers (predictions on the runs, the optimum, the CV table's metrics and out-of-fold
predictions) of the two trees are compared exactly (``max |now - base|`` printed; 0 is identical).

    nice -n 10 python bench/auto_regmix_speed.py --baseline main [--repeats 2] [--parts gp,lgbm,search] [--cv]

Measured 2026-12-06 (``--baseline main`` = 5c51fcd, ``--parts fit,optimize --repeats 1``, twice, on the shared
2-core machine at load 2.5-3.8; wall s [CPU s]): fit 69.8 [67.9] vs 67.2 [81.2] and 95.5 [97.0] vs 110.1 [112.1]
(base/now 0.96x and 1.15x wall, 1.20x and 1.16x CPU); optimize 118.8 [149.0] vs 169.1 [166.0] and 202.1 [204.9] vs
227.1 [252.9] (1.42x and 1.12x wall, 1.11x and 1.23x CPU); every result identical (chosen laws, CV tables,
predictions, optimum).

Measured 2026-12-06 (speed25; ``--baseline main`` = 967e4d2, ``--parts dz1,dz3``, load 12-18 on the 2 shared cores,
so CPU s are the measure; wall s only says how loaded the machine was): the bit-identical commit 06df702 (3 repeats)
dz1 CPU 8.24 -> 7.31 s (1.13x), dz3 31.37 -> 27.41 s (1.14x; of the minima 1.15x), both identical; with the factored
dz-eq1 Jacobian, 03279bd (2 repeats): dz1 8.77 -> 4.20 s (2.09x; of the minima 2.03x), CV metrics max |d| 5.7e-9,
out-of-fold predictions 1.6e-6; dz3 30.67 -> 26.66 s (1.15x; of the minima 1.16x), identical.

Measured 2026-12-07 (speed26; ``--baseline main`` = 6604978, CPU s; the ``optimize`` part also prints the CV rows
of its selection that moved): dz-eq3-safe on the factored Jacobian, 77a8e51 (load 4.6-5.4): dz3 48.09 -> 34.01 s
(1.41x), CV metrics max |d| 3.7e-6, out-of-fold predictions 1.2e-4. With the soft floor's one exp and _eval's
matmul, 3e50400 (``--parts dz3d,dz1d,dz3 --repeats 2``, load 1.9-3.7): dz1d 20.36 -> 16.88 s (1.21x; metrics 5.9e-6,
oof 1.1e-3), dz3d 27.19 -> 27.89 s (0.97x; of the minima 1.00x: no gain measured; metrics 1.7e-14), dz3 43.08 ->
33.70 s (1.28x; metrics 2.6e-4, oof 0.024: dz-eq3-safe's flat valleys). ``--parts optimize --repeats 1``, twice
(load 4.1-8 and 2.7-4.2): 284.01 -> 277.87 s (1.02x) and 282.88 -> 264.83 s (1.07x); the optimum identical (x and
f: 0), the choice the same (lightgbm per eval), the CV rows that moved: dz-eq1 [direct] |d spearman| 5.9e-6,
dz-eq3-safe [per-eval] 1.7e-5, dz-eq3-safe [direct] 0 (|d S| 1.8e-14). What is left (cProfile, one process, on
main): the simulate search, 101 of 274 CPU s (LightGBM predicting 100 000 mixtures with 13 boosters of 1000 trees,
~70 ns a tree and row), then the fold fits of dz-eq3-safe (44 per-eval + 27 direct), lightgbm (22), gp-residual
(20) and dz-eq1 (14 direct + 8).
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from _common import extract_src, timed

REPO = Path(__file__).resolve().parents[1]
PARTS = ("gp", "lgbm", "search", "cv", "dz1", "dz3", "dz1d", "dz3d", "fit", "optimize")


def _part(name: str) -> tuple[Any, float, float]:
    """(numbers to compare, wall s, CPU s) of one part, on whatever ``mixlaw`` is first on the path."""
    import warnings

    from mixlaw.datasets import load_regmix
    from mixlaw.laws import get_law
    from mixlaw.laws.selection import cross_validate

    warnings.simplefilter("ignore")
    table = load_regmix("train_1m")
    names = table.resolve_targets("all")
    W, Y = table.weights, table.losses(names)
    if name in ("gp", "lgbm"):
        key = "gp-residual" if name == "gp" else "lightgbm"
        law, wall, cpu = timed(lambda: get_law(key).fit(W, Y, domains=table.domains, targets=names))
        return {"pred": np.asarray(law.predict(W)), "params": law.params_.array("value")}, wall, cpu
    if name == "search":
        import inspect

        from mixlaw.optimize import optimize_mixture

        # What auto chose for the mean objective on these runs: lightgbm fitted per eval (13 boosters).
        law = get_law("lightgbm").fit(W, Y, domains=table.domains, targets=names)
        # The CLI's default --workers auto, where the tree takes it (n_jobs= since 2026-12-06).
        jobs = {"n_jobs": "auto"} if "n_jobs" in inspect.signature(optimize_mixture).parameters else {}
        res, wall, cpu = timed(lambda: optimize_mixture(law, objective="mean", natural=W.mean(axis=0),
                                                        runs=W, within_fitted_range=True, random_state=0, **jobs))
        return {"x": np.array([res.weights[d] for d in table.domains]), "f": np.array([res.objective])}, wall, cpu
    if name in ("dz1", "dz3", "dz1d", "dz3d"):
        key = "dz-eq1" if name.startswith("dz1") else "dz-eq3-safe"
        # dz1d / dz3d: fitted on the objective column ("mean": one implicitly aggregated target), as optimize's CV
        # fits the [direct] candidates.
        kw: dict[str, Any] = {"objective": "mean", "fit_on": ("direct",)} if name.endswith("d") else {}
        cv, wall, cpu = timed(lambda: cross_validate(W, Y, domains=table.domains, targets=names, candidates=[key],
                                                     n_jobs=1, **kw))
        metrics = np.array([[r.metrics.get(m, np.nan) for m in ("spearman", "rmse")] for r in cv.table.rows])
        return {"metrics": metrics, "oof": next(iter(cv.oof.values()))}, wall, cpu
    if name in ("fit", "optimize"):
        # The commands themselves as the CLI runs them (its default --workers auto): 'mixlaw fit --dataset regmix
        # --law auto --target all' and 'mixlaw optimize --dataset regmix --objective mean'.
        from mixlaw.api import fit_table, optimize_runs
        from mixlaw.laws.selection import cv_workers

        with cv_workers("auto"):
            if name == "fit":
                law, wall, cpu = timed(lambda: fit_table(table, law="auto", targets="all"))
                opt = None
            else:
                opt, wall, cpu = timed(lambda: optimize_runs(table, law="auto", objective="mean"))
        out = {"x": np.array([opt.weights[d] for d in table.domains]), "f": np.array([opt.objective])} if opt else {
            "pred": np.asarray(law.predict(W))}
        # The choice (and, for optimize, the selection it reports: the chosen law and its CV row) as text.
        out["choice"] = np.array([repr(law.choice_ if opt is None else opt.selection)])
        if opt is None:
            out["metrics"] = np.array([[r.metrics.get(m, np.nan) for m in ("score", "spearman", "rmse", "r2")]
                                       for r in law.cv_.rows])
        else:  # the CV rows the selection reports (speed26): their Spearman and score S apart
            rows = opt.selection["cv"]["rows"]
            out["spearman"] = np.array([r.get("spearman", np.nan) for r in rows], dtype=np.float64)
            out["score"] = np.array([r.get("score", np.nan) for r in rows], dtype=np.float64)
            out["rows"] = np.array([f"{r['law']} [{r['fit_on']}]" for r in rows])
        return out, wall, cpu
    cv, wall, cpu = timed(lambda: cross_validate(W, Y, domains=table.domains, targets=names,
                                                 candidates=["gp-residual", "lightgbm"], objective="mean", n_jobs=1))
    metrics = np.array([[r.metrics.get(m, np.nan) for m in ("score", "spearman", "rmse", "r2")] for r in cv.table.rows])
    return {"metrics": metrics, **{f"oof:{k}:{m}": P for (k, m), P in cv.oof.items()}}, wall, cpu


def child(out: Path, name: str) -> None:
    out.write_bytes(pickle.dumps(_part(name)))


def _measure(src: Path, name: str, tmp: Path) -> tuple[Any, float, float]:
    out = tmp / "child.pkl"
    env = {**os.environ, "PYTHONPATH": str(src), "MPLBACKEND": "Agg"}
    subprocess.run([sys.executable, __file__, "--child", str(out), "--part", name], env=env, check=True)
    return pickle.loads(out.read_bytes())  # type: ignore[no-any-return]


def _diff(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> str:
    if set(a) != set(b):
        return f"DIFFERENT keys: {sorted(set(a) ^ set(b))}"
    num = [k for k in a if np.asarray(a[k]).dtype.kind == "f"]
    gap = {k: (float(np.nanmax(np.abs(a[k] - b[k]))) if np.size(a[k]) else 0.0) for k in num}
    worst = max(gap.values(), default=0.0)
    same = all(np.array_equal(a[k], b[k], equal_nan=k in num) for k in a)
    per = f"; per key {', '.join(f'{k} {v:.3g}' for k, v in gap.items())}" if not same and len(gap) <= 4 else ""
    return f"identical: {same} (max |now - base| {worst:.3g}{per})"


def _moved_rows(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> str:
    """The CV rows (optimize's selection) whose Spearman or score S differ between the trees, one per line."""
    if "rows" not in a or "rows" not in b or not np.array_equal(a["rows"], b["rows"]):
        return ""
    out = []
    for i, name in enumerate(a["rows"]):
        ds, dS = abs(a["spearman"][i] - b["spearman"][i]), abs(a["score"][i] - b["score"][i])
        if ds > 0 or dS > 0:
            out.append(f"    {name}: |d spearman| {ds:.2g}, |d S| {dS:.2g}")
    return "\n".join(["  CV rows that moved:"] + out) if out else "  CV rows: identical"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default=None, help="git revision to measure against in the same session")
    ap.add_argument("--repeats", type=int, default=2, help="alternating measurements of each tree")
    ap.add_argument("--parts", default="gp,lgbm,search", help=f"comma-separated, of {', '.join(PARTS)}")
    ap.add_argument("--cv", action="store_true", help="also the (slow) cv part, once per tree")
    ap.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--part", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        child(args.child, args.part)
        return
    parts = [p for p in args.parts.split(",") if p]
    bad = [p for p in parts if p not in PARTS]
    if bad:
        raise SystemExit(f"unknown parts {bad}; known: {', '.join(PARTS)}")
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        trees = {"now": REPO / "src"}
        if args.baseline:
            trees["base"] = extract_src(args.baseline, tmp)
        print(f"RegMix train_1m (512 runs, 17 domains, 13 evals); {os.cpu_count()} CPUs; wall s [CPU s]"
              + (f"; baseline {args.baseline}" if args.baseline else ""))
        plan = [(p, args.repeats) for p in parts] + ([("cv", 1)] if args.cv and "cv" not in parts else [])
        for name, reps in plan:
            got: dict[str, list[tuple[float, float]]] = {k: [] for k in trees}
            last: dict[str, Any] = {}
            for _ in range(reps):
                for key, src in trees.items():
                    load = os.getloadavg()[0]
                    res, wall, cpu = _measure(src, name, tmp)
                    last[key] = res
                    got[key].append((wall, cpu))
                    print(f"  {name:<7} {key:<5} load {load:>4.1f}  {wall:>7.2f} [{cpu:.2f}]", flush=True)
            med = {k: np.median(np.array(v), axis=0) for k, v in got.items()}
            low = {k: np.min(np.array(v), axis=0) for k, v in got.items()}
            line = f"{name}: now {med['now'][0]:.2f} s [{med['now'][1]:.2f}]"
            if "base" in med:
                b, n = med["base"], med["now"]
                line += (f", base {b[0]:.2f} s [{b[1]:.2f}]: base/now {b[0] / n[0]:.2f}x wall, {b[1] / n[1]:.2f}x CPU "
                         f"(medians; of the minima {low['base'][0] / low['now'][0]:.2f}x wall, "
                         f"{low['base'][1] / low['now'][1]:.2f}x CPU); {_diff(last['now'], last['base'])}")
            print(line, flush=True)
            if "base" in last and _moved_rows(last["now"], last["base"]):
                print(_moved_rows(last["now"], last["base"]), flush=True)
        print(f"load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
