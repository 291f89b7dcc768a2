"""``--law auto`` on many eval sets: time, output length and choices, before and after, side by side in one run.

Variants, each a full ``auto`` fit (K-fold CV of the default candidates, then the chosen laws refitted):

* ``before``: every fold fit done (gp-residual refits its loglinear-sat base on each fold: the CV as it was
  before :class:`mixlaw.laws.selection.SharedFits`), one process;
* ``shared``: the default (gp-residual's base is the loglinear-sat candidate's own fold fit);
* ``shared, N workers``: the same on N worker processes (``--workers``; ``mixlaw fit --workers N``).

The table gives wall and CPU seconds (this process and its workers), their ratio to ``before``, the agreement
of the per-eval choices with ``before`` (the full auto), the mean and worst loss in the chosen law's CV score S
per eval set (S of the variant's choice minus S of ``before``'s, both from ``before``'s table: 0 when they
agree), and the text report's length in lines: ``before`` prints the full report (what ``fit --law auto`` printed,
now ``--verbose``), the others the default text, a summary above 5 eval sets (the same full report up to 5).

Data: the bundled fitting splits (``marin-delphi``: 187 runs, 39 domains, 9 evals; ``regmix``: train_1m, 512 runs,
17 domains, 13 evals) or ``--runs PATH`` (e.g. Olmix's DCLM swarm, 127 runs, 110 evals, not shipped);
``--evals N`` takes N of the eval sets (seeded), to keep a run affordable on 2 shared cores;
``--objective mean`` fits for the objective as ``optimize`` does (per-eval and direct candidates).

    nice -n 10 python bench/auto_many_evals.py --dataset marin-delphi --evals 3
    nice -n 10 python bench/auto_many_evals.py --runs /tmp/external/dclm.parquet --evals 20 --workers 1,2
"""

from __future__ import annotations

import argparse
import os
import warnings
from typing import Any

import numpy as np
from _common import timed

from mixlaw.data import read_runs
from mixlaw.datasets import bundled_splits
from mixlaw.laws import get_law
from mixlaw.laws.selection import CV_JOBS, FIT_CACHE, OBJECTIVE


class NoStore(dict):  # type: ignore[type-arg]
    """A fit cache that keeps nothing: every fit is done, as before fits were shared."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


def _fit(table: Any, targets: list[str], objective: str | None, folds: int, *, share: bool, workers: int) -> Any:
    kw: dict[str, Any] = {"n_folds": folds}
    if objective:
        kw["objective"] = objective
    t_cache = FIT_CACHE.set(None if share else NoStore())
    t_jobs = CV_JOBS.set(workers)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return get_law("auto", random_state=0, **kw).fit(table, targets=targets)
    finally:
        CV_JOBS.reset(t_jobs)
        FIT_CACHE.reset(t_cache)


def _score(law: Any, column: str, name: str) -> float:
    return next(r.metrics["score"] for r in law.cv_.rows if r.target == column and r.name == name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="marin-delphi", help="marin-delphi | regmix (ignored with --runs)")
    ap.add_argument("--runs", help="A run table instead (e.g. /tmp/external/dclm.parquet)")
    ap.add_argument("--evals", type=int, default=0, help="N eval sets (seeded choice); 0: all")
    ap.add_argument("--objective", default=None, help="e.g. mean: choose for the objective, as optimize does")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--workers", default="1", help="comma-separated worker counts for the shared variant")
    args = ap.parse_args()

    table = read_runs(args.runs) if args.runs else bundled_splits(args.dataset)[0]
    evals = list(table.evals)
    if args.evals and args.evals < len(evals):
        pick = np.random.default_rng(0).choice(len(evals), args.evals, replace=False)
        evals = [evals[i] for i in sorted(pick)]
    name = args.runs or args.dataset
    load = os.getloadavg()[0]
    print(f"{name}: {len(table)} runs, {len(table.domains)} domains, {len(evals)} of {len(table.evals)} evals"
          f"{f', objective {args.objective}' if args.objective else ''}; {args.folds}-fold CV; "
          f"load {load:.1f} on {os.cpu_count()} cores")
    variants = [("before", False, 1)] + [(f"shared, {w} worker{'s' if w > 1 else ''}", True, w)
                                         for w in (int(x) for x in args.workers.split(","))]
    rows = []
    for label, share, workers in variants:
        law, wall, cpu = timed(lambda s=share, w=workers: _fit(table, evals, args.objective, args.folds,
                                                               share=s, workers=w))
        report = law.report(data=name)
        lines = len(report.text(verbose=not share).splitlines())
        rows.append((label, law, wall, cpu, lines))
        print(f"  done: {label} ({wall:.0f} s wall)", flush=True)
    base = rows[0][1]
    cols = [OBJECTIVE] if args.objective else list(base.choice_)
    print(f"{'variant':<20}{'wall s':>9}{'x before':>10}{'CPU s':>9}{'x before':>10}{'choices agree':>15}"
          f"{'mean dS':>9}{'worst dS':>10}{'report lines':>14}")
    for label, law, wall, cpu, lines in rows:
        agree = sum(law.choice_[c] == base.choice_[c] for c in cols)
        dS = [_score(base, c, law.choice_[c]) - _score(base, c, base.choice_[c]) for c in cols]
        print(f"{label:<20}{wall:>9.1f}{rows[0][2] / wall:>10.2f}{cpu:>9.1f}{rows[0][3] / cpu:>10.2f}"
              f"{f'{agree}/{len(cols)}':>15}{np.mean(dS):>9.4f}{np.max(dS):>10.4f}{lines:>14}")
    print("x before: before's seconds / the variant's (above 1: faster); dS: the chosen law's CV score S minus "
          "before's choice's, in before's table (0: same law)")


if __name__ == "__main__":
    main()
