"""Step-law fit speed: the nested pipeline fits one ``StepLaw`` per (mixture, size) curve, hundreds per run.

Goal: one fit well under 50 ms (it used to be a test; a wall-clock goal belongs here, where a busy machine
makes the number worse but cannot fail the suite). Prints the time per fit for a few curve lengths, the
goal, and the ratio to it.

    python bench/step_law_speed.py [--fits 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mixlaw.scaling import StepLaw

GOAL_S = 0.05


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fits", type=int, default=20)
    args = ap.parse_args()
    print(f"{'points':>6} {'fits':>5} {'ms/fit':>8} {'goal ms':>8} {'ratio':>6}")
    for n in (6, 12, 24):
        S = np.geomspace(100, 3000, n)
        curves = [(2.5 + 20 / S**0.3) * np.exp(np.random.default_rng(s).normal(0, 1e-3, n)) for s in range(args.fits)]
        t0 = time.perf_counter()
        for y in curves:
            StepLaw().fit(S, y)
        per = (time.perf_counter() - t0) / args.fits
        print(f"{n:>6} {args.fits:>5} {per * 1e3:>8.2f} {GOAL_S * 1e3:>8.0f} {per / GOAL_S:>6.2f}")


if __name__ == "__main__":
    main()
