"""``mixlaw fit`` (default law: stack, a K-fold CV of the default candidates) with ``--workers 1`` against the
default ``--workers auto`` (the usable CPUs, at most 8), both in the same run, interleaved.

Each fit is the command a user types, in a child process (``python -m mixlaw fit ... --json --out law.json``),
with MIXLAW_CV_WORKERS unset. The table gives wall and CPU seconds (the child and its worker processes, from
``RUSAGE_CHILDREN``), the ratio of each to ``--workers 1``'s, and whether the results are equal: the JSON document
with its one wall-clock field (``report.stats.fit_seconds``) and the ``--out`` path left out (CV table, stack
weights, every parameter), and the saved laws' predictions on the table's own mixtures and on 200 random ones,
compared bit for bit.

    nice -n 5 python bench/cv_workers.py                      # RegMix pile_cc,github,arxiv; Marin uncheatable_obj
    nice -n 5 python bench/cv_workers.py --repeats 2 --regmix-targets all
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from mixlaw._workers import ENV, auto_workers, usable_cpus
from mixlaw.api import load_law
from mixlaw.datasets import bundled_splits

SRC = Path(__file__).resolve().parents[1] / "src"


def fit(args: list[str], out: Path) -> tuple[dict[str, Any], float, float]:
    """(JSON document, wall s, CPU s of the child and its workers) of ``mixlaw fit <args>``."""
    env = {k: v for k, v in os.environ.items() if k != ENV}
    env["PYTHONPATH"] = f"{SRC}{os.pathsep}{env['PYTHONPATH']}" if env.get("PYTHONPATH") else str(SRC)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mixlaw", "-q", "fit", *args, "--json", "--out", str(out)],
                          capture_output=True, text=True, env=env)
    wall = time.perf_counter() - w0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"mixlaw fit {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    doc = json.loads(proc.stdout)
    doc["report"]["stats"].pop("fit_seconds", None)  # wall time: the one number allowed to differ
    doc.pop("saved", None)  # the --out path, one per fit
    return doc, wall, cpu


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Paths where two JSON documents differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [p for k in sorted(set(a) | set(b), key=str) for p in differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [p for i, (x, y) in enumerate(zip(a, b, strict=True)) for p in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [path]


def case(name: str, args: list[str], W: np.ndarray, repeats: int, tmp: Path) -> list[tuple[Any, ...]]:
    """Rows (case, workers, wall, cpu, wall ratio, cpu ratio, same JSON, same predictions) for one command."""
    rng = np.random.default_rng(0)
    pts = np.vstack([W, rng.dirichlet(np.ones(W.shape[1]), size=200)])
    times: dict[str, list[tuple[float, float]]] = {"1": [], "auto": []}
    docs: dict[str, dict[str, Any]] = {}
    preds: dict[str, np.ndarray] = {}
    for r in range(repeats):
        for w in ("1", "auto"):  # interleaved: a change in the machine's load hits both
            out = tmp / f"{name}-{w}-{r}.json"
            doc, wall, cpu = fit([*args, "--workers", w] if w == "1" else args, out)  # auto: the default, no flag
            times[w].append((wall, cpu))
            docs.setdefault(w, doc)
            assert doc == docs[w], f"{name}: --workers {w} gave different results on repeat {r}"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the random mixtures lie outside the fitted range: meant
                preds.setdefault(w, np.asarray(load_law(out).predict(pts)))
            print(f"  {name} --workers {w} (repeat {r + 1}/{repeats}): wall {wall:.1f} s, CPU {cpu:.1f} s",
                  flush=True)
    same_doc = docs["1"] == docs["auto"]
    if not same_doc:
        print(f"  {name}: JSON differs at {differences(docs['1'], docs['auto'])[:5]}")
    same_pred = bool(np.array_equal(preds["1"], preds["auto"]))
    base = np.median(times["1"], axis=0)
    rows = []
    for w in ("1", "auto"):
        wall, cpu = np.median(times[w], axis=0)
        rows.append((name, w if w == "1" else f"auto={auto_workers()}", wall, cpu, wall / base[0], cpu / base[1],
                     same_doc, same_pred))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--regmix-targets", default="pile_cc,github,arxiv", help="comma list, or 'all' (13 evals)")
    ap.add_argument("--marin-target", default="uncheatable_obj")
    ap.add_argument("--repeats", type=int, default=1, help="fits per setting (the table gives the median)")
    ap.add_argument("--skip", default="", help="comma list of cases to skip: regmix, marin")
    ap.add_argument("--law", default=None, help="a law other than fit's default (stack), e.g. auto")
    ap.add_argument("--candidates", default=None, help="auto / stack's candidates (default: fit's)")
    a = ap.parse_args()
    extra = ["--law", a.law] * (a.law is not None) + ["--candidates", a.candidates] * (a.candidates is not None)
    print(f"usable CPUs {usable_cpus()}, auto = {auto_workers()} worker(s); load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    cases = []
    if "regmix" not in a.skip:
        W = bundled_splits("regmix")[0].weights
        tg = [] if a.regmix_targets == "all" else ["--target", a.regmix_targets]
        cases.append((f"regmix {a.regmix_targets}", ["--dataset", "regmix", *tg, *extra], W))
    if "marin" not in a.skip:
        W = bundled_splits("marin-delphi")[0].weights
        args = ["--dataset", "marin-delphi", "--target", a.marin_target, *extra]
        cases.append((f"marin-delphi {a.marin_target}", args, W))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, args, W in cases:
            rows += case(name, args, W, a.repeats, Path(tmp))
    print(f"\n{'case':<36}{'workers':>9}{'wall s':>9}{'CPU s':>9}{'wall/1':>8}{'CPU/1':>8}{'same JSON':>11}"
          f"{'same pred':>11}")
    for name, w, wall, cpu, rw, rc, sd, sp in rows:
        print(f"{name:<36}{w:>9}{wall:>9.1f}{cpu:>9.1f}{rw:>8.2f}{rc:>8.2f}{sd!s:>11}{sp!s:>11}")
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
