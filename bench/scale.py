"""Scale bench (issue 13, last bullet): fit time against rows and domains, as ratios to linear least squares.

For 1k / 10k / 100k runs x 20 / 50 domains (Dirichlet(1) mixtures, one eval whose loss follows Ye's
exponential law with 0.5 % noise) it fits ye-exp, additive, lightgbm and linear, and prints each fit's CPU
seconds divided by the CPU seconds of one ``numpy.linalg.lstsq`` of the losses on the mixtures in the same
run (so shared cores change both alike), whether the fit converged, and the growth of each law's time from
1k to 100k rows (O(rows) is 100x). Goals: no law worse than O(rows); additive at 100k x 20 within 2x of
ye-exp's time; additive converges at 1k x 50.

    python bench/scale.py [--rows 1000,10000,100000] [--domains 20,50] [--laws ye-exp,additive,lightgbm,linear]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from mixlaw.errors import ConvergenceWarning
from mixlaw.laws import get_law


def data(n: int, m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(m), size=n)
    t = rng.normal(0, 1.0, m)
    y = 2.0 + 1.0 * np.exp(W @ t - t.mean())
    return W, y * np.exp(0.005 * rng.standard_normal(n))


def cpu(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="1000,10000,100000")
    ap.add_argument("--domains", default="20,50")
    ap.add_argument("--laws", default="ye-exp,additive,lightgbm,linear")
    args = ap.parse_args()
    rows = [int(v) for v in args.rows.split(",")]
    doms = [int(v) for v in args.domains.split(",")]
    laws = args.laws.split(",")
    print("CPU seconds as a multiple of one numpy.linalg.lstsq on the same table (same run); "
          "'!' = no start converged")
    print(f"{'rows':>7} {'domains':>7} {'lstsq s':>8} " + " ".join(f"{k:>12}" for k in laws))
    secs: dict[tuple[str, int], dict[int, float]] = {}
    for m in doms:
        for n in rows:
            W, y = data(n, m)
            base = min(cpu(lambda W=W, y=y: np.linalg.lstsq(W, y, rcond=None)) for _ in range(3))
            base = max(base, 1e-4)
            cells = []
            for key in laws:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    s = cpu(lambda key=key, W=W, y=y: get_law(key).fit(W, y))
                bad = any(issubclass(w.category, ConvergenceWarning) for w in caught)
                secs.setdefault((key, m), {})[n] = s
                cells.append(f"{s / base:>11.0f}{'!' if bad else ' '}")
            print(f"{n:>7} {m:>7} {base:>8.4f} " + " ".join(cells), flush=True)
    print("\nGrowth of CPU time from the fewest to the most rows (O(rows) = "
          f"{rows[-1] / rows[0]:.0f}x), and CPU seconds at the most rows:")
    for (key, m), d in secs.items():
        print(f"  {key:<10} {m:>3} domains: {d[rows[-1]] / max(d[rows[0]], 1e-4):>7.1f}x   {d[rows[-1]]:.2f} s")
    for m in doms:
        if ("additive", m) in secs and ("ye-exp", m) in secs:
            r = secs[("additive", m)][rows[-1]] / secs[("ye-exp", m)][rows[-1]]
            print(f"additive / ye-exp at {rows[-1]} x {m}: {r:.2f} (goal <= 2)")


if __name__ == "__main__":
    main()
