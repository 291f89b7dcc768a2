"""Bootstrap speed on the bundled RegMix runs (train_1m, 512 runs, 17 domains), target Pile-CC.

Default (issue 11): ``bootstrap_law(law, ..., n_boot=200)`` with the default workers (all cores) as a ratio
to one fit of the same law (the median of 5 fits; goal <= 20x for additive-ens), for each of ``--laws`` (default
additive-ens, whose replicates are batched solves, and ye-exp, whose replicates' warm starts are), in wall seconds
and in CPU seconds of all processes (the CPU ratio moves less when other jobs share the cores). With
``--baseline REV`` the same runs also on the source tree of git revision REV (``git archive``), alternating with the
current tree ``--repeats`` times in this one session, and the bootstrap's interval ends of both are compared (they
may differ by the refits' tolerance only). The load average is printed beside every run.

``--workers-check`` (issue 4): ye-exp, 200 refits and the optimal mixture in each, serially and on 2 workers;
checks that the results are identical and prints both times (goal < 60 s on 2 cores).

    nice -n 10 python bench/bootstrap_speed.py [--baseline main] [--repeats 2] [--n 200] [--laws ye-exp]
    nice -n 10 python bench/bootstrap_speed.py --workers-check
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import extract_src, timed

REPO = Path(__file__).resolve().parents[1]
#: Fits whose median is "one fit" (a single ~0.2 s timing moves by 2x on a loaded machine).
ONE_FIT_REPEATS = 5


def child(out: Path, n: int, law: str) -> None:
    """One measurement on whatever ``mixlaw`` is first on the path; results pickled to ``out``."""
    from mixlaw.bootstrap import bootstrap_law
    from mixlaw.datasets import load_regmix
    from mixlaw.laws import get_law

    table = load_regmix("train_1m")
    fits = [timed(lambda: get_law(law).fit(table, targets="pile_cc")) for _ in range(ONE_FIT_REPEATS)]
    one, one_cpu = float(np.median([f[1] for f in fits])), float(np.median([f[2] for f in fits]))
    # n_boot as the 4th positional argument: the child also runs a --baseline tree, whose bootstrap_law may predate
    # the keyword n_boot= (before 2026-12-05 it was n=).
    res, boot, boot_cpu = timed(lambda: bootstrap_law(law, table, "pile_cc", n, random_state=0,
                                                      points=table.weights[:20]))
    doc = {"one": one, "one_cpu": one_cpu, "boot": boot, "boot_cpu": boot_cpu, "failed": res.n_failed,
           "extra": res.extra, "workers": res.n_jobs, "intervals": res.param_intervals(),
           "pred": res.prediction_intervals()}
    out.write_bytes(pickle.dumps(doc))


def _measure(src: Path, n: int, tmp: Path, law: str) -> dict:  # type: ignore[type-arg]
    out = tmp / "child.pkl"
    env = {**os.environ, "PYTHONPATH": str(src), "MPLBACKEND": "Agg"}
    subprocess.run([sys.executable, __file__, "--child", str(out), "--n", str(n), "--laws", law], env=env,
                   check=True)
    return pickle.loads(out.read_bytes())


def _interval_change(a: dict, b: dict) -> str:  # type: ignore[type-arg]
    rel, width = [], []
    for name, (lo, hi) in b["intervals"].items():
        for x, y in zip(a["intervals"][name], (lo, hi), strict=True):
            rel.append(abs(x - y) / max(abs(y), 1e-12))
            width.append(abs(x - y) / max(hi - lo, 1e-12))
    pa, pb = a["pred"], b["pred"]
    prel = np.abs(pa - pb) / np.abs(pb)
    return (f"interval ends, now vs baseline: parameters max {max(rel):.1e} relative ({max(width):.1e} of the "
            f"width); predictions at 20 mixtures max {prel.max():.1e} relative")


def ratios(n: int, baseline: str | None, repeats: int, laws: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        trees = {"now": REPO / "src"}
        if baseline:
            trees["base"] = extract_src(baseline, tmp)
        print(f"RegMix train_1m, on pile_cc: bootstrap {n} (default workers) / one fit (median of "
              f"{ONE_FIT_REPEATS}); {os.cpu_count()} CPUs; wall s [CPU s of all processes]")
        print(f"{'law':<13} {'tree':<5} {'load':>5} {'one fit':>14} {'bootstrap':>14} {'wall ratio':>11} "
              f"{'CPU ratio':>10}")
        last: dict[tuple[str, str], dict] = {}  # type: ignore[type-arg]
        got: dict[tuple[str, str], list[tuple[float, float]]] = {(law, k): [] for law in laws for k in trees}
        for _ in range(repeats):  # every law and tree in turn, so that a load change hits all of them alike
            for law in laws:
                for key, src in trees.items():
                    load = os.getloadavg()[0]
                    r = _measure(src, n, tmp, law)
                    last[law, key] = r
                    got[law, key].append((r["boot"] / r["one"], r["boot_cpu"] / r["one_cpu"]))
                    print(f"{law:<13} {key:<5} {load:>5.1f} {r['one']:>6.3f} [{r['one_cpu']:.3f}] {r['boot']:>5.2f} "
                          f"[{r['boot_cpu']:.2f}] {r['boot'] / r['one']:>10.1f}x "
                          f"{r['boot_cpu'] / r['one_cpu']:>9.1f}x", flush=True)
        for (law, key), rs in got.items():
            w, c = np.median(np.array(rs), axis=0)
            print(f"{law} {key}: median wall ratio {w:.1f}x, CPU ratio {c:.1f}x (goal <= 20x wall for "
                  f"additive-ens); {last[law, key]['failed']} failed refits; {last[law, key]['extra']}")
        if baseline:
            for law in laws:
                print(f"{law}: {_interval_change(last[law, 'now'], last[law, 'base'])}")
        print(f"load average {os.getloadavg()[0]:.2f} at end")


def workers_check(n: int) -> None:
    from mixlaw.bootstrap import bootstrap_law
    from mixlaw.datasets import load_regmix

    table = load_regmix("train_1m")
    opt = {"objective": "mean", "natural": table.weights.mean(axis=0), "within_fitted_range": True}
    rows = []
    res = {}
    for jobs in (1, 2):
        t0 = time.perf_counter()
        res[jobs] = bootstrap_law("ye-exp", table, "pile_cc", n_boot=n, random_state=0, n_jobs=jobs, optimize=opt)
        rows.append((jobs, time.perf_counter() - t0))
    same = (np.array_equal(res[1].params, res[2].params, equal_nan=True)
            and np.array_equal(res[1].optimum_weights, res[2].optimum_weights, equal_nan=True))
    print(f"RegMix train_1m (512 runs, 17 domains), ye-exp on pile_cc, {n} bootstrap refits + optimum each; "
          f"{os.cpu_count()} CPUs")
    print(f"{'workers':>8} {'seconds':>9} {'s/refit':>8}")
    for jobs, sec in rows:
        print(f"{jobs:>8} {sec:>9.2f} {sec / n:>8.3f}")
    print(f"serial / parallel = {rows[0][1] / rows[1][1]:.2f}x; identical results: {same}; failed refits: "
          f"{res[2].n_failed}")
    print(f"goal < 60 s on 2 cores: {'met' if rows[1][1] < 60 else 'MISSED'} ({rows[1][1]:.1f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--baseline", default=None, help="git revision to measure against in the same session")
    ap.add_argument("--repeats", type=int, default=2, help="alternating measurements of each tree")
    ap.add_argument("--workers-check", action="store_true", help="issue 4's serial vs 2-worker ye-exp check")
    ap.add_argument("--laws", default="additive-ens,ye-exp", help="comma-separated law keys, one row each")
    ap.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        child(args.child, args.n, args.laws)
    elif args.workers_check:
        workers_check(args.n)
    else:
        ratios(args.n, args.baseline, args.repeats, args.laws.split(","))


if __name__ == "__main__":
    main()
