"""``--law auto`` on many eval sets: time, output length and choices, before and after, side by side in one run.

Variants, each a full ``auto`` fit (K-fold CV of the default candidates, then the chosen laws refitted):

* ``before``: every fold fit done (gp-residual refits its loglinear-sat base on each fold: the CV as it was
  before :class:`mixlaw.laws.selection.SharedFits`), one process;
* ``shared``: the default (gp-residual's base is the loglinear-sat candidate's own fold fit);
* ``shared, N workers``: the same on N worker processes (``--workers``; ``mixlaw fit --workers N``);
* with ``--baseline REV``: the default fit (shared, one process) by the source tree of git revision REV (``git
  archive``, run in a child process in this session), in place of ``before``: the ratios are then the speed-up of
  the commits since REV, and ``max |dS|`` says whether they changed any CV score.

The table gives wall and CPU seconds (this process and its workers), their ratio to the first row (``before``,
or REV), the agreement of the per-eval choices with it, the mean and worst loss in the chosen law's CV score S
per eval set (S of the variant's choice minus S of the first row's, both from the first row's table: 0 when they
agree), the largest difference of any CV row's score from the first row's (0: the same tables), and the text
report's length in lines: ``before`` prints the full report (what ``fit --law auto`` printed,
now ``--verbose``), the others the default text, a summary above 5 eval sets (the same full report up to 5).

Data: the bundled fitting splits (``marin-delphi``: 187 runs, 39 domains, 9 evals; ``regmix``: train_1m, 512 runs,
17 domains, 13 evals) or ``--runs PATH`` (e.g. Olmix's DCLM swarm, 127 runs, 110 evals, not shipped);
``--evals N`` takes N of the eval sets (seeded), to keep a run affordable on 2 shared cores;
``--objective mean`` fits for the objective as ``optimize`` does (per-eval and direct candidates).

    nice -n 10 python bench/auto_many_evals.py --dataset marin-delphi --evals 3
    nice -n 10 python bench/auto_many_evals.py --runs /tmp/external/dclm.parquet --evals 20 --workers 1,2
    nice -n 10 python bench/auto_many_evals.py --dataset marin-delphi --evals 1 --baseline a307da8
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from _common import extract_src, timed

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


def _summary(label: str, law: Any, wall: float, cpu: float, verbose: bool, name: str) -> dict[str, Any]:
    """What the table needs of one variant's fit (also what a --baseline child pickles)."""
    return {"label": label, "wall": wall, "cpu": cpu, "choice": dict(law.choice_),
            "scores": {(r.target, r.name): float(r.metrics["score"]) for r in law.cv_.rows},
            "lines": len(law.report(data=name).text(verbose=verbose).splitlines())}


def _load(args: argparse.Namespace) -> tuple[Any, list[str], str]:
    table = read_runs(args.runs) if args.runs else bundled_splits(args.dataset)[0]
    evals = list(table.evals)
    if args.evals and args.evals < len(evals):
        pick = np.random.default_rng(0).choice(len(evals), args.evals, replace=False)
        evals = [evals[i] for i in sorted(pick)]
    return table, evals, args.runs or args.dataset


def _baseline(rev: str, argv: list[str]) -> dict[str, Any]:
    """The default fit by the code of git revision ``rev``, in a child process (this script with ``--child``)."""
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        src = extract_src(rev, tmp)
        env = {**os.environ, "PYTHONPATH": str(src), "MPLBACKEND": "Agg"}
        out = tmp / "child.pkl"
        subprocess.run([sys.executable, __file__, *argv, "--child", str(out)], env=env, check=True)
        doc = pickle.loads(out.read_bytes())
    doc["label"] = rev
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="marin-delphi", help="marin-delphi | regmix (ignored with --runs)")
    ap.add_argument("--runs", help="A run table instead (e.g. /tmp/external/dclm.parquet)")
    ap.add_argument("--evals", type=int, default=0, help="N eval sets (seeded choice); 0: all")
    ap.add_argument("--objective", default=None, help="e.g. mean: choose for the objective, as optimize does")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--workers", default="1", help="comma-separated worker counts for the shared variant")
    ap.add_argument("--baseline", default=None, help="git revision whose default fit is the first row (see above)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    table, evals, name = _load(args)
    if args.child:  # run by _baseline with the revision's code first on the path
        law, wall, cpu = timed(lambda: _fit(table, evals, args.objective, args.folds, share=True, workers=1))
        Path(args.child).write_bytes(pickle.dumps(_summary("", law, wall, cpu, False, name)))
        return
    load = os.getloadavg()[0]
    print(f"{name}: {len(table)} runs, {len(table.domains)} domains, {len(evals)} of {len(table.evals)} evals"
          f"{f', objective {args.objective}' if args.objective else ''}; {args.folds}-fold CV; "
          f"load {load:.1f} on {os.cpu_count()} cores")
    rows = []
    if args.baseline:
        argv = [a for a in sys.argv[1:] if a not in ("--baseline", args.baseline)]
        rows.append(_baseline(args.baseline, argv))
        print(f"  done: {args.baseline} ({rows[-1]['wall']:.0f} s wall)", flush=True)
    variants = ([] if args.baseline else [("before", False, 1)]) + [
        (f"shared, {w} worker{'s' if w > 1 else ''}", True, w) for w in (int(x) for x in args.workers.split(","))]
    for label, share, workers in variants:
        law, wall, cpu = timed(lambda s=share, w=workers: _fit(table, evals, args.objective, args.folds,
                                                               share=s, workers=w))
        rows.append(_summary(label, law, wall, cpu, not share, name))
        print(f"  done: {label} ({wall:.0f} s wall)", flush=True)
    base = rows[0]
    cols = [OBJECTIVE] if args.objective else list(base["choice"])
    print(f"{'variant':<20}{'wall s':>9}{'x first':>9}{'CPU s':>9}{'x first':>9}{'choices agree':>15}"
          f"{'mean dS':>9}{'worst dS':>10}{'max |dS|':>10}{'report lines':>14}")
    for r in rows:
        agree = sum(r["choice"][c] == base["choice"][c] for c in cols)
        dS = [base["scores"][(c, r["choice"][c])] - base["scores"][(c, base["choice"][c])] for c in cols]
        # A row absent from the first table (nan) shows as nan; inf (failed or screened) equal on both sides is 0.
        every = [0.0 if v == base["scores"].get(k) else abs(v - base["scores"].get(k, np.nan))
                 for k, v in r["scores"].items()]
        print(f"{r['label']:<20}{r['wall']:>9.1f}{base['wall'] / r['wall']:>9.2f}{r['cpu']:>9.1f}"
              f"{base['cpu'] / r['cpu']:>9.2f}{f'{agree}/{len(cols)}':>15}{np.mean(dS):>9.4f}{np.max(dS):>10.4f}"
              f"{np.max(every):>10.1e}{r['lines']:>14}")
    print("x first: the first row's seconds / the variant's (above 1: faster); dS: the chosen law's CV score S minus "
          "the first row's choice's, in the first row's table (0: same law); max |dS|: largest difference of any "
          "CV row's S from the first row's (0: identical tables)")


if __name__ == "__main__":
    main()
