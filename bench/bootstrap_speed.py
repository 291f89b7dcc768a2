"""Bootstrap speed: ``--bootstrap 200`` on the bundled RegMix runs (ye-exp, target Pile-CC, train_1m).

Goal (issue 4): under 60 s on 2 cores. Runs the same bootstrap (200 refits + the optimal mixture in each)
serially and on 2 worker processes, checks the results are identical, and prints both times and the ratio.

    python bench/bootstrap_speed.py [--n 200]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from mixlaw.bootstrap import bootstrap_law
from mixlaw.datasets import load_regmix


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args()
    table = load_regmix("train_1m")
    opt = {"objective": "mean", "natural": table.weights.mean(axis=0), "within_fitted_range": True}
    rows = []
    res = {}
    for jobs in (1, 2):
        t0 = time.perf_counter()
        res[jobs] = bootstrap_law("ye-exp", table, "pile_cc", n=args.n, random_state=0, n_jobs=jobs, optimize=opt)
        rows.append((jobs, time.perf_counter() - t0))
    same = (np.array_equal(res[1].params, res[2].params, equal_nan=True)
            and np.array_equal(res[1].optimum_weights, res[2].optimum_weights, equal_nan=True))
    print(f"RegMix train_1m (512 runs, 17 domains), ye-exp on pile_cc, {args.n} bootstrap refits + optimum each; "
          f"{os.cpu_count()} CPUs")
    print(f"{'workers':>8} {'seconds':>9} {'s/refit':>8}")
    for jobs, sec in rows:
        print(f"{jobs:>8} {sec:>9.2f} {sec / args.n:>8.3f}")
    ratio = rows[0][1] / rows[1][1]
    print(f"serial / parallel = {ratio:.2f}x; identical results: {same}; failed refits: {res[2].n_failed}")
    print(f"goal < 60 s on 2 cores: {'met' if rows[1][1] < 60 else 'MISSED'} ({rows[1][1]:.1f} s)")
    iv = res[2].optimum.intervals
    print(f"optimum Pile-CC loss {res[2].optimum.objective:.4f}  90% [{iv['objective'][0]:.4f}, "
          f"{iv['objective'][1]:.4f}]")


if __name__ == "__main__":
    main()
