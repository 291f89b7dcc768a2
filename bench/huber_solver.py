"""Batched Huber solver (laws/_huber.py) against its previous version and scikit-learn's HuberRegressor.

Every problem is scored by the objective all three minimise (sklearn's HuberRegressor: Owen's concomitant scale,
``_huber._objective``); the reference is HuberRegressor(tol=1e-12, max_iter=10000) on the problem's rows. A
solve *reaches* the reference when its objective is at most ``(1 + 1e-8)`` times it; a *stall* is a solve that
does not. Times are the batched solves' CPU times (one call per batch, as ``loglinear-sat`` makes them), as a
ratio new / old (a random set's 20 problems take milliseconds: read the pooled ratio under the table).

Problem sets:

- random: Gaussian designs of several shapes (rows x coefficients), noise levels and strengths, 5 % of the rows
  shifted by 10 noise sds, seeds 0..``--seeds``-1;
- regmix / marin: the problems ``loglinear-sat`` solves (its inner CV and its final fits, every eval set),
  recorded from ``LogLinearSat().fit`` on RegMix ``train_1m`` and on Marin Delphi (all runs; the reference on
  ``--max-ref`` of them at random), and on ``--small`` random runs of RegMix (and ``--marin-runs`` of Marin) (as many
  coefficients as fitting rows or more: the optimum is often at scale 0).

Then the law itself, fitted with each solver on the same tables: its coefficients' largest relative change, and
whether the new objective is at most the old one on every final problem (that is what justifies the change).

Usage: ``python bench/huber_solver.py [--seeds 20] [--old-rev 2ae2d5c] [--max-ref 150]``.

Measured (2026-12-04, 2 busy cores, ``--old-rev 33786d3 --marin-runs 120 --small 40 --seeds 2 --max-ref 20``, about
5 CPU min; the line-search phase and safeguarded scale-0 solve against the solver before them):
marin-delphi (120 runs), 297 problems: not converged 35.35 % -> 0.67 % (105 -> 2), stall 35 % -> 0 % of 20 references,
largest gap +2.07e-01 -> -1.08e-06, every objective at or below the old one, CPU 1.35x; regmix train_1m (40 runs),
429: not converged 3.03 % -> 0 % (13 -> 0), stall 0 % both, CPU 0.98x; regmix 512 runs, marin-delphi 280 runs and
the 84 random problems: nothing unconverged before or after, same objectives; loglinear-sat on both full tables:
coefficients and predictions change 0. Then line_min in O(n log n) (b5c39ce; its (B, 2n + 1, n) arrays took 1.1 GB
at 5000 rows), ``--old-rev a2cdcf5 --marin-runs 120 --small 40 --seeds 2 --max-ref 5`` against the solver above:
marin 120 still 2 of 297 not converged, objectives equal to 7e-15, CPU 0.87x; every other set unchanged.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
import warnings
from pathlib import Path

import numpy as np
from sklearn.linear_model import HuberRegressor

from mixlaw.datasets import load_marin_delphi, load_regmix
from mixlaw.laws import LogLinearSat, _huber

#: Relative objective gap above the reference that counts as a stall.
GAP = 1e-8
EPS = 1.35


def _old_solver(rev: str) -> types.ModuleType:
    """laws/_huber.py as of ``rev`` (git show), as a module."""
    root = Path(__file__).resolve().parents[1]
    src = subprocess.run(["git", "-C", str(root), "show", f"{rev}:src/mixlaw/laws/_huber.py"], check=True,
                         capture_output=True, text=True).stdout
    mod = types.ModuleType(f"_huber_{rev}")
    mod.__package__ = "mixlaw.laws"  # its relative imports (..fit) resolve in the installed package
    exec(compile(src, f"{rev}:_huber.py", "exec"), mod.__dict__)  # noqa: S102 - the repository's own history
    return mod


def _objective(X: np.ndarray, z: np.ndarray, sw: np.ndarray, alpha: np.ndarray, coef: np.ndarray,
               icpt: np.ndarray, scale: np.ndarray) -> np.ndarray:
    Xt = np.concatenate([X, np.ones((*X.shape[:2], 1))], axis=2)
    pen = np.append(np.ones(X.shape[2]), 0.0)
    return _huber._objective(Xt, z, sw, alpha, EPS, np.concatenate([coef, icpt[:, None]], axis=1), scale, pen)


def _reference(X: np.ndarray, z: np.ndarray, sw: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """HuberRegressor's objective per problem (its fit on the rows of weight > 0; the masks are 0/1)."""
    out = np.empty(len(X))
    for k in range(len(X)):
        rows = sw[k] > 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            h = HuberRegressor(epsilon=EPS, alpha=float(alpha[k]), max_iter=10000, tol=1e-12).fit(X[k][rows],
                                                                                                   z[k][rows])
        out[k] = _objective(X[k:k + 1], z[k:k + 1], sw[k:k + 1], alpha[k:k + 1], h.coef_[None],
                            np.array([h.intercept_]), np.array([h.scale_]))[0]
    return out


def _random_batches(seeds: int) -> list[tuple[str, tuple[np.ndarray, ...]]]:
    out = []
    for n, p in ((14, 6), (20, 10), (32, 34), (40, 12), (150, 6), (60, 20), (400, 36)):
        for noise in (0.01, 0.1):
            for alpha in (1e-4, 1.0, 30.0):
                Xs, zs = [], []
                for seed in range(seeds):
                    rng = np.random.default_rng(seed)
                    X = rng.standard_normal((n, p))
                    z = X @ rng.standard_normal(p) + 2.0 + noise * rng.standard_normal(n)
                    z[rng.choice(n, max(1, n // 20), replace=False)] += 10 * noise
                    Xs.append(X)
                    zs.append(z)
                out.append((f"{n}x{p + 1} noise {noise:g} alpha {alpha:g}",
                            (np.stack(Xs), np.stack(zs), np.ones((seeds, n)), np.full(seeds, alpha))))
    return out


def _recorded(table, n_runs: int | None, seed: int) -> list[tuple[np.ndarray, ...]]:  # type: ignore[no-untyped-def]
    """The huber_batch calls of LogLinearSat().fit on the table (or on n_runs random runs of it)."""
    if n_runs is not None:
        table = table.subset(np.random.default_rng(seed).permutation(len(table))[:n_runs])
    calls: list[tuple[np.ndarray, ...]] = []
    orig = _huber.huber_batch

    def rec(X, z, sw, alpha, epsilon):  # type: ignore[no-untyped-def]
        B = len(X)
        calls.append((np.array(X), np.array(z), np.array(sw), np.broadcast_to(np.asarray(alpha, float), (B,)).copy()))
        return orig(X, z, sw, alpha, epsilon)

    _huber.huber_batch = rec
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            LogLinearSat().fit(table, targets="all")
    finally:
        _huber.huber_batch = orig
    return calls


def _score(batches: list[tuple[np.ndarray, ...]], old: types.ModuleType, max_ref: int, seed: int) -> dict[str, float]:
    fo, fn, ok_o, ok_n, fr, t_old, t_new = [], [], [], [], [], 0.0, 0.0
    for X, z, sw, al in batches:
        t0 = time.process_time()
        so = old.huber_batch(X, z, sw, al, EPS)
        t1 = time.process_time()
        sn = _huber.huber_batch(X, z, sw, al, EPS)
        t2 = time.process_time()
        t_old, t_new = t_old + t1 - t0, t_new + t2 - t1
        fo.append(_objective(X, z, sw, al, *so[:3]))
        fn.append(_objective(X, z, sw, al, *sn[:3]))
        ok_o.append(so[3])
        ok_n.append(sn[3])
    f_old, f_new = np.concatenate(fo), np.concatenate(fn)
    # The reference on at most max_ref problems (HuberRegressor takes 10-300 ms each), a fixed random subset.
    sizes = np.cumsum([0] + [len(b[0]) for b in batches])
    pick = np.sort(np.random.default_rng(seed).permutation(sizes[-1])[:max_ref])
    for k in pick:
        b = int(np.searchsorted(sizes, k, side="right") - 1)
        X, z, sw, al = (a[k - sizes[b]:k - sizes[b] + 1] for a in batches[b])
        fr.append(_reference(X, z, sw, al)[0])
    f_ref = np.array(fr)
    go, gn = f_old[pick] / f_ref - 1, f_new[pick] / f_ref - 1
    return {"problems": float(sizes[-1]), "ref": float(len(pick)),
            "old_stall": float(np.mean(go > GAP)), "new_stall": float(np.mean(gn > GAP)),
            "old_nc": float(np.mean(~np.concatenate(ok_o))), "new_nc": float(np.mean(~np.concatenate(ok_n))),
            "old_gap": float(go.max()), "new_gap": float(gn.max()),
            "new_le_old": float(np.mean(f_new <= f_old * (1 + 1e-12))), "new_vs_old": float((f_new / f_old - 1).max()),
            "time": t_new / t_old, "t_old": t_old, "t_new": t_new}


def _law_change(table, old: types.ModuleType) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    """loglinear-sat fitted with the old and the new solver: the largest relative change of its coefficients (eval
    sets that chose the same (eps, groups) pair) and of its predictions, and how many eval sets chose another pair."""
    fits = []
    for solver in (old.huber_batch, _huber.huber_batch):
        orig = _huber.huber_batch
        _huber.huber_batch = solver
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fits.append(LogLinearSat().fit(table, targets="all"))
        finally:
            _huber.huber_batch = orig
    a, b = fits
    same = [t for t in a.targets_ if a.config_[t] == b.config_[t]]
    dc = max(float(np.max(np.abs(b.coef(t) - a.coef(t))) / np.max(np.abs(a.coef(t)))) for t in same)
    dp = float(np.max(np.abs(b.predict(table.weights) / a.predict(table.weights) - 1)))
    return dc, dp, len(a.targets_) - len(same)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20, help="random problems per (shape, noise, alpha)")
    ap.add_argument("--old-rev", default="2ae2d5c", help="git revision of the previous solver")
    ap.add_argument("--max-ref", type=int, default=150, help="HuberRegressor references per real problem set")
    ap.add_argument("--small", type=int, default=40, help="RegMix runs of the small fit")
    ap.add_argument("--marin-runs", type=int, default=0, help="Marin Delphi runs of a small fit (0: none; 120: 297"
                    " problems of 79-94 coefficients on 96-120 rows, the optimum at scale 0)")
    args = ap.parse_args()
    old = _old_solver(args.old_rev)
    cols = ("set", "problems", "ref", "old_stall", "new_stall", "old_nc", "new_nc", "old_gap", "new_gap",
            "new_le_old", "new_vs_old", "time")
    print(f"objective gap = f / f_HuberRegressor - 1 (stall: gap > {GAP:g}); nc: solver says not converged;")
    print("new_le_old: share of problems with f_new <= f_old (1 + 1e-12); new_vs_old: max f_new / f_old - 1;")
    print(f"time: batched CPU time new / old ({args.old_rev}). Fractions are shares of the problems.\n")
    print(f"{cols[0]:<32}" + "".join(f"{c:>11}" for c in cols[1:]))
    rows: list[tuple[str, dict[str, float]]] = []

    def show(name: str, r: dict[str, float]) -> None:
        rows.append((name, r))
        cells = [f"{r[c]:>11.0f}" if c in ("problems", "ref") else f"{r[c]:>11.2%}" if c.endswith(("stall", "nc"))
                 or c == "new_le_old" else f"{r[c]:>11.2e}" if c != "time" else f"{r[c]:>10.2f}x" for c in cols[1:]]
        print(f"{name:<32}" + "".join(cells), flush=True)

    for name, batch in _random_batches(args.seeds):
        show(name, _score([batch], old, args.seeds, 0))
    regmix = load_regmix("train_1m")
    marin = load_marin_delphi()
    real = {"regmix train_1m (512 runs)": (regmix, None), "marin-delphi (280 runs)": (marin, None),
            f"regmix train_1m ({args.small} runs)": (regmix, args.small)}
    if args.marin_runs:
        real[f"marin-delphi ({args.marin_runs} runs)"] = (marin, args.marin_runs)
    for name, (table, n_runs) in real.items():
        show(name, _score(_recorded(table, n_runs, 0), old, args.max_ref, 0))
    rnd = [r for n, r in rows if "runs" not in n]
    tot = sum(r["problems"] for r in rnd)
    print(f"\nrandom, all {tot:.0f}: stall old {sum(r['old_stall'] * r['problems'] for r in rnd) / tot:.2%}, new "
          f"{sum(r['new_stall'] * r['problems'] for r in rnd) / tot:.2%}; not converged old "
          f"{sum(r['old_nc'] * r['problems'] for r in rnd) / tot:.2%}, new "
          f"{sum(r['new_nc'] * r['problems'] for r in rnd) / tot:.2%}; CPU time new / old "
          f"{sum(r['t_new'] for r in rnd) / sum(r['t_old'] for r in rnd):.2f}x")
    print("\nloglinear-sat fitted with the old / new solver (largest relative change; eval sets whose inner CV chose"
          " another (eps, groups) pair are left out of the coefficients):")
    for name in list(real)[:2]:
        dc, dp, moved = _law_change(real[name][0], old)
        print(f"  {name:<30} coefficients {dc:.2e} (of the largest |coef|), predictions {dp:.2e}, "
              f"other pair chosen on {moved} eval sets")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
