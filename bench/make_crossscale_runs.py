"""Make the real run table behind bench/pipeline_crossscale.py: the built-in trainer at four tiny sizes.

Builds the offline corpus (6 domains), draws 10 mixtures (RegMix-style Dirichlet around the uniform
mixture, seed 0), and trains every mixture at 0.05M, 0.1M, 0.2M and 0.4M non-embedding parameters on 1M
tokens each with a checkpoint every 40 steps and a constant learning rate after warm-up, on 2 worker
processes. The sweep is resumable: re-running
skips finished runs. The run table is written to bench/data/crossscale_runs.csv (small, committed).

    python bench/make_crossscale_runs.py [--workers 2] [--tokens 1M]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from mixlaw.design import dirichlet_design
from mixlaw.store import export_run_table, write_table
from mixlaw.sweep import run_sweep
from mixlaw.train.config import ProxyConfig
from mixlaw.train.corpus import build_corpus

HERE = Path(__file__).resolve().parent / "data"
SIZES = ["0.05M", "0.1M", "0.2M", "0.4M"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tokens", default="1M")
    ap.add_argument("--n-mixtures", type=int, default=10)
    ap.add_argument("--work", default=str(HERE / "crossscale-work"), help="corpus + store folder (not committed)")
    args = ap.parse_args()
    work = Path(args.work)
    corpus = work / "corpus"
    t0 = time.perf_counter()
    if not (corpus / "manifest.json").exists():
        manifest = build_corpus(corpus, seed=0)
    else:
        import json

        manifest = json.loads((corpus / "manifest.json").read_text())
    domains = sorted(manifest["domains"]) if isinstance(manifest["domains"], dict) else sorted(
        d["name"] for d in manifest["domains"])
    design = dirichlet_design(domains, args.n_mixtures, random_state=0)
    mixtures = [{d: float(row[f"w:{d}"]) for d in domains} for _, row in design.iterrows()]
    # Constant learning rate after warm-up: under a cosine schedule an early checkpoint is not a point on the
    # curve of a shorter run, so step laws fitted on a third of the steps could not reach the final loss.
    base = ProxyConfig(eval_every=40, min_lr_ratio=1.0)
    run_sweep(corpus, mixtures, SIZES, args.tokens, work / "runs.db", workers=args.workers, base=base)
    frame = export_run_table(work / "runs.db")
    HERE.mkdir(parents=True, exist_ok=True)
    write_table(frame, HERE / "crossscale_runs.csv")
    print(f"{len(frame)} rows, {frame['run'].nunique()} runs -> {HERE / 'crossscale_runs.csv'} "
          f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
