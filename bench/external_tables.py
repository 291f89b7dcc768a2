"""Wall-clock of ``mixlaw optimize`` / ``compare`` on big third-party run tables (speed where users wait, issue 11).

mixlaw is judged on public sweeps it does not ship. This bench times the CLI on two Olmix tables (allenai/olmix,
not committed here), in ``--root`` (default ``/tmp/external/olmix``):

- ``dclm-opt``: ``mixlaw optimize --law auto`` on DCLM (127 runs, 24 domains) with the first ``--evals`` of its
  110 eval sets (all 110 took > 15 min on 2026-12-03, killed);
- ``full-cmp``: ``mixlaw compare --laws auto`` on full_recomputation (64 domains; 410 fitting / 102 held-out runs)
  for two eval sets (on a 409 / 103 split of the same runs: 689 s on 2026-12-03).

The tables, rebuilt (Olmix's CSVs left its repository at b8376ae, in February 2026; commit 218dbc7 still has them)::

    git clone https://github.com/allenai/olmix /tmp/olmix && mkdir -p /tmp/external/olmix && cd /tmp/external/olmix
    for s in dclm full_recomputation; do for k in ratios metrics; do
        git -C /tmp/olmix show 218dbc7:${s}_${k}.csv > ${s}_${k}.csv; done; done
    mixlaw runs import dclm_ratios.csv+dclm_metrics.csv --out dclm.parquet
    mixlaw runs import full_recomputation_ratios.csv+full_recomputation_metrics.csv --out full.parquet
    python -c "import mixlaw; from mixlaw.compare import holdout_split; \\
        fit, held = holdout_split(mixlaw.read_runs('full.parquet'), 0.2, random_state=0); \\
        fit.frame.to_parquet('full_train.parquet', index=False); \\
        held['holdout'].frame.to_parquet('full_test.parquet', index=False)"

(the split ``compare --runs full.parquet --holdout 0.2 --seed 0`` scores; the timings of 2026-12-03 and of commit
449717f used a 409 / 103 split whose script was lost with ``/tmp``).

With ``--baseline REV`` each case also runs on the source tree of git revision REV (extracted with ``git
archive``) in the same session, back to back, and the table gives current / baseline as a ratio: timings on a
shared machine are noisy, ratios measured together much less so. Wall and CPU seconds (of the child process) are
both given. The load average is printed beside them.
Skips, with a message, when ``--root`` has no ``dclm.parquet``.

Usage: nice -n 10 python bench/external_tables.py [--evals 20] [--cases dclm-opt,full-cmp] [--baseline main~5]
       [--timeout 900] [--root /tmp/external/olmix]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def _evals(table: Path, n: int) -> list[str]:
    cols = [c[5:] for c in pd.read_parquet(table).columns if c.startswith("loss:")]
    return cols[:n]


def _cases(root: Path, n_evals: int) -> dict[str, list[str]]:
    dclm = root / "dclm.parquet"
    targets = [a for e in _evals(dclm, n_evals) for a in ("--target", e)]
    return {
        "dclm-opt": ["optimize", "--runs", str(dclm), "--law", "auto", *targets],
        "full-cmp": ["compare", "--runs", str(root / "full_train.parquet"), "--test", str(root / "full_test.parquet"),
                     "--laws", "auto", "--target", "arc_challenge:rc::olmes", "--target", "mbpp:3shot::none"],
    }


def _cpu_children() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _run(src: Path, args: list[str], timeout: float) -> tuple[float, float, str]:
    """Wall and CPU seconds of one CLI call with ``src`` first on the path, and 'ok' / 'timeout' / 'rc=N'.

    CPU as well as wall: on a shared machine the wall time follows the load, and a multi-threaded BLAS that spins
    on a busy core shows as CPU above wall."""
    env = {**os.environ, "PYTHONPATH": str(src), "MPLBACKEND": "Agg"}
    t0, c0 = time.perf_counter(), _cpu_children()
    try:
        proc = subprocess.run([sys.executable, "-m", "mixlaw", *args], env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return time.perf_counter() - t0, _cpu_children() - c0, "timeout"
    status = "ok" if proc.returncode == 0 else f"rc={proc.returncode}: {proc.stderr.strip()[-200:]}"
    return time.perf_counter() - t0, _cpu_children() - c0, status


def _extract(rev: str, dest: Path) -> Path:
    """The ``src`` tree of git revision ``rev`` under ``dest``."""
    archive = dest / "src.tar"
    subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", "-o", str(archive), rev, "src"], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return dest / "src"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, default=Path("/tmp/external/olmix"))
    ap.add_argument("--evals", type=int, default=20, help="eval sets of DCLM optimised together (of 110)")
    ap.add_argument("--cases", default="dclm-opt,full-cmp")
    ap.add_argument("--baseline", default=None, help="git revision to time against (ratio current / baseline)")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per call before it counts as timed out")
    a = ap.parse_args()
    if not (a.root / "dclm.parquet").exists():
        print(f"skipped: {a.root} has no Olmix tables (see this file's docstring for where they come from)")
        return 0
    cases = _cases(a.root, a.evals)
    names = [c for c in a.cases.split(",") if c]
    unknown = sorted(set(names) - set(cases))
    if unknown:
        ap.error(f"unknown case(s) {unknown}; known: {sorted(cases)}")
    with tempfile.TemporaryDirectory() as tmp:
        base = _extract(a.baseline, Path(tmp)) if a.baseline else None
        print(f"load average {os.getloadavg()[0]:.2f} at start; {a.evals} DCLM evals; timeout {a.timeout:.0f} s")
        print(f"{'case':10s} {'now s':>8s} {'base s':>8s} {'now/base':>9s} {'now CPU':>8s} {'base CPU':>9s} "
              f"{'now/base':>9s}  status")
        for name in names:
            now_s, now_c, now_st = _run(REPO / "src", cases[name], a.timeout)
            if base is None:
                print(f"{name:10s} {now_s:8.1f} {'-':>8s} {'-':>9s} {now_c:8.1f} {'-':>9s} {'-':>9s}  {now_st}",
                      flush=True)
                continue
            base_s, base_c, base_st = _run(base, cases[name], a.timeout)
            print(f"{name:10s} {now_s:8.1f} {base_s:8.1f} {now_s / base_s:9.2f} {now_c:8.1f} {base_c:9.1f} "
                  f"{now_c / base_c:9.2f}  now {now_st}; base {base_st}", flush=True)
        print(f"load average {os.getloadavg()[0]:.2f} at end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
