"""Scale bench (issue 13, last bullet): fit time and memory against rows and domains, as ratios to least squares.

For 1k / 10k / 100k runs x 20 / 50 domains (Dirichlet(1) mixtures, one eval whose loss follows Ye's
exponential law with 0.5 % noise) it fits ye-exp, additive, lightgbm and linear with their defaults and prints,
per law and table, CPU seconds, the ratio to one ``numpy.linalg.lstsq`` of the losses on the mixtures of the
same table (measured in the same run, right before and after the fit), the peak memory the fit added, the
optimiser starts that converged and the solver's function evaluations. Then, per law, the exponent b of
time ~ rows^b (least squares over the row counts, and between the two largest: O(rows) is b <= 1), the
exponent of its ratio to lstsq (<= 0 for a law no worse than O(rows)), and additive's time over ye-exp's at
the most rows.

Goals: no law worse than O(rows); additive at 100k x 20 within 2x of ye-exp's time; every fit converges.

Measured (commit 3208905, 2 shared cores, 8.5 min wall): additive / ye-exp at 100k x 20 = 3.7 s / 14.1 s = 0.27
(at 100k x 50: 16.1 s / 43.3 s = 0.37); exponent b over 1k..100k rows 0.85 / 1.03 (ye-exp, 20 / 50 domains),
0.39 / 0.40 (additive), 0.46 / 0.51 (lightgbm), 0.82 / 0.93 (linear), against lstsq's own 1.07 / 1.10: every
law's ratio to lstsq falls with the rows (b ratio -0.08 to -0.70); every parametric fit converged (additive at
1k x 50: 1 of its 2 starts, the equal-C one runs out of iterations); peak memory at most 425 MB (additive,
100k x 50).

Timing on a shared machine: BLAS and OpenMP are pinned to one thread before numpy loads (a multi-threaded
BLAS on tiny arrays spends its time synchronising threads, and a busy second core makes that erratic), times
are CPU seconds of this process (``time.process_time``), so other jobs on the cores change them little, and
the lstsq reference is repeated until one sample lasts 50 ms and taken as the median of 4 samples before and
4 after each fit (so its timer resolution and noise do not enter the ratios, and each ratio uses the
machine's speed of that moment). Fits shorter than 2 s are repeated (median of up
to 3). Peak memory is the process's resident high-water mark (``/proc/self/status`` VmHWM, reset through
``/proc/self/clear_refs`` before each fit, after ``malloc_trim`` has returned freed heap pages) minus its
resident size at the start of the fit; on systems without ``/proc`` it is left out.

    python bench/scale.py [--rows 1000,10000,100000] [--domains 20,50] [--laws ye-exp,additive,lightgbm,linear]
"""

from __future__ import annotations

import os

# Before numpy (and LightGBM's OpenMP) load: the thread pools read these once.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import ctypes  # noqa: E402
import gc  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from mixlaw.errors import ConvergenceWarning  # noqa: E402
from mixlaw.laws import get_law  # noqa: E402

#: One lstsq timing sample lasts at least this long (CPU seconds): process_time ticks are ~1-10 ms.
REF_SAMPLE_S = 0.05
#: lstsq samples before and after every fit (the ratio's reference is their median).
REF_SAMPLES = 4
#: Fits shorter than this are repeated (median of up to FIT_REPEATS).
FIT_REPEAT_BELOW_S, FIT_REPEATS = 2.0, 3


def data(n: int, m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n Dirichlet(1) mixtures of m domains; loss 2 + exp(W t - mean t) with t ~ N(0, 1), 0.5 % log noise."""
    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(m), size=n)
    t = rng.normal(0, 1.0, m)
    y = 2.0 + 1.0 * np.exp(W @ t - t.mean())
    return W, y * np.exp(0.005 * rng.standard_normal(n))


def cpu(fn: Callable[[], Any]) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


class Reference:
    """CPU seconds of one lstsq on a table, sampled around every fit so that each ratio uses the machine's
    speed of that moment (a busy sibling core or a frequency change moves both alike)."""

    def __init__(self, W: np.ndarray, y: np.ndarray) -> None:
        self.W, self.y, self.k, self.all = W, y, 1, []
        while (t := self._sample()) < REF_SAMPLE_S:  # calls per sample: one sample lasts REF_SAMPLE_S
            self.k = max(2 * self.k, int(math.ceil(self.k * 1.2 * REF_SAMPLE_S / max(t, 1e-6))))

    def _sample(self) -> float:
        t0 = time.process_time()
        for _ in range(self.k):
            np.linalg.lstsq(self.W, self.y, rcond=None)
        return time.process_time() - t0

    def samples(self, count: int) -> list[float]:
        got = [self._sample() / self.k for _ in range(count)]
        self.all += got
        return got


def _proc_mem(field: str) -> float | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return float(line.split()[1]) / 1024.0  # kB -> MB
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    # Hand freed heap pages back to the OS first (glibc malloc_trim): otherwise a fit that reuses memory an
    # earlier fit freed adds nothing to the resident size, and its peak reads as 0.
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # resets VmHWM to the current resident size (Linux >= 4.0)
        return True
    except OSError:
        return False


def fit_once(key: str, W: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """One default fit: CPU seconds, peak MB added, starts converged / run, function evaluations."""
    can_peak = _reset_peak()
    rss0 = _proc_mem("VmRSS")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.process_time()
        law = get_law(key).fit(W, y)
        s = time.process_time() - t0
    hwm = _proc_mem("VmHWM") if can_peak else None
    res = list(getattr(law, "results_", {}).values())
    return {"s": s, "mb": None if hwm is None or rss0 is None else hwm - rss0,
            "warned": any(issubclass(w.category, ConvergenceWarning) for w in caught),
            "conv": sum(r.n_converged for r in res), "starts": sum(r.n_starts for r in res),
            "nfev": sum(r.nfev for r in res), "params": len(law.params_)}


def exponent(rows: list[int], secs: list[float]) -> float:
    """Least-squares slope of log(seconds) on log(rows)."""
    if len(rows) < 2:
        return float("nan")
    return float(np.polyfit(np.log(rows), np.log(np.maximum(secs, 1e-6)), 1)[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="1000,10000,100000")
    ap.add_argument("--domains", default="20,50")
    ap.add_argument("--laws", default="ye-exp,additive,lightgbm,linear")
    args = ap.parse_args()
    rows = sorted(int(v) for v in args.rows.split(","))
    doms = [int(v) for v in args.domains.split(",")]
    laws = args.laws.split(",")
    err = Console(stderr=True)
    out: dict[tuple[str, int], dict[int, dict[str, Any]]] = {}
    refs: dict[tuple[int, int], float] = {}
    lines = []
    head = (f"{'rows':>7} {'doms':>4} {'law':<9} {'CPU s':>9} {'/ lstsq':>9} {'peak MB':>8} {'conv':>6} "
            f"{'nfev':>7} {'params':>6}")
    with threadpool_limits(limits=1), Progress(console=err, transient=True) as bar:
        task = bar.add_task("fits", total=len(rows) * len(doms) * len(laws))
        for m in doms:
            for n in rows:
                W, y = data(n, m)
                ref = Reference(W, y)
                cells = {}
                for key in laws:
                    bar.update(task, description=f"{key} {n} x {m}")
                    around = ref.samples(REF_SAMPLES)
                    runs = [fit_once(key, W, y)]
                    while sum(r["s"] for r in runs) < FIT_REPEAT_BELOW_S and len(runs) < FIT_REPEATS:
                        runs.append(fit_once(key, W, y))
                    around += ref.samples(REF_SAMPLES)
                    cell = dict(runs[0])
                    cell["s"] = statistics.median(r["s"] for r in runs)
                    cell["ref"] = statistics.median(around)
                    cells[key] = cell
                    bar.advance(task)
                r_all = statistics.median(ref.all)
                refs[(m, n)] = r_all
                lines.append(f"{n:>7} {m:>4} {'lstsq':<9} {r_all:>9.5f} {1:>9.0f}   (median of {len(ref.all)} samples "
                             f"of {ref.k} calls; quartiles {np.percentile(ref.all, 25):.5f} / "
                             f"{np.percentile(ref.all, 75):.5f})")
                for key, c in cells.items():
                    out.setdefault((key, m), {})[n] = {**c, "ratio": c["s"] / c["ref"]}
                    mb = "-" if c["mb"] is None else f"{c['mb']:.0f}"
                    conv = "-" if not c["starts"] else f"{c['conv']}/{c['starts']}" + ("!" if c["warned"] else "")
                    lines.append(f"{n:>7} {m:>4} {key:<9} {c['s']:>9.3f} {c['s'] / c['ref']:>9.0f} {mb:>8} {conv:>6} "
                                 f"{c['nfev'] or '-':>7} {c['params'] or '-':>6}")
                print(f"[{n} x {m} done]", file=sys.stderr, flush=True)
    print("CPU seconds per default fit, and as a multiple of one numpy.linalg.lstsq on the same table (the median "
          f"of {2 * REF_SAMPLES} lstsq samples taken right before and after the fit); "
          "peak MB = resident memory the fit added; conv = optimiser starts converged / run ('!': the fit warned "
          "that none converged); nfev = solver function evaluations over all starts")
    print(head)
    print("\n".join(lines))
    print(f"\nExponent b of CPU time ~ rows^b (O(rows): b <= 1) by least squares over {rows} ('all') and between "
          "the two largest row counts ('top'); b of the ratio to lstsq (lstsq is O(rows) in flops: where its own "
          "b is about 1, a law no worse than O(rows) has b ratio <= 0, whatever the load and the caches do to "
          "both); CPU seconds, ratio and peak MB at the most rows")
    print(f"{'law':<9} {'doms':>4} {'b (all)':>8} {'b (top)':>8} {'b ratio':>8} {'s at max':>9} {'/ lstsq':>8} "
          f"{'MB at max':>9}")
    for (key, m), d in out.items():
        ns = sorted(d)
        secs = [d[n]["s"] for n in ns]
        mb = d[ns[-1]]["mb"]
        print(f"{key:<9} {m:>4} {exponent(ns, secs):>8.2f} {exponent(ns[-2:], secs[-2:]):>8.2f} "
              f"{exponent(ns, [d[n]['ratio'] for n in ns]):>8.2f} {secs[-1]:>9.2f} {d[ns[-1]]['ratio']:>8.0f} "
              f"{'-' if mb is None else f'{mb:.0f}':>9}")
    for m in doms:
        ns = [n for n in rows if (m, n) in refs]
        print(f"{'lstsq':<9} {m:>4} {exponent(ns, [refs[(m, n)] for n in ns]):>8.2f} "
              f"{exponent(ns[-2:], [refs[(m, n)] for n in ns[-2:]]):>8.2f} {0:>8.2f} {refs[(m, ns[-1])]:>9.4f} "
              f"{1:>8.0f} {'-':>9}")
    for m in doms:
        if ("additive", m) in out and ("ye-exp", m) in out:
            r = out[("additive", m)][rows[-1]]["s"] / out[("ye-exp", m)][rows[-1]]["s"]
            print(f"additive / ye-exp at {rows[-1]} x {m}: {r:.2f} (goal <= 2 at 100000 x 20)")


if __name__ == "__main__":
    main()
