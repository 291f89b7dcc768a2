"""Make the real run table behind bench/pipeline_crossscale.py: the built-in trainer at four tiny sizes.

Builds the offline corpus (6 domains), draws 10 mixtures (RegMix-style Dirichlet around the uniform
mixture, strengths 3-30 so that every mixture trains on most domains; seed 0) and trains every mixture at
0.025M, 0.05M, 0.1M and 0.2M non-embedding parameters on 3M tokens each (1464 steps), with a checkpoint every
40 steps, on 2 worker processes. The sweep is resumable: re-running skips finished runs. The run table is
written to bench/data/crossscale_runs.csv (small, committed).

Two choices make the checkpoints usable for step laws:

- a constant learning rate after warm-up: under a cosine schedule an early checkpoint is not a point on the
  curve of a shorter run, so step laws fitted on a third of the steps could not reach the final loss;
- checkpoints score a power-function EMA of the weights (``ema_gamma=7``, :class:`mixlaw.train.loop.PowerEMA`):
  at a constant learning rate the raw weights jitter, and one checkpoint's loss carries ~1-2 % of noise; the
  EMA halves it (measured: 0.69 % -> 0.34 % step-law residuals on a 0.1M model).

``--v3`` makes bench/data/crossscale_runs_v3.csv instead (the bench's default, 20 min on 2 cores): the three
natural-text domains code, dialogue and legal, 6 mixtures, a 32-byte context (64 sequences a step, so still 2048
tokens), 6M tokens = 2929 steps, warm-up 2 %, a checkpoint every 60 steps. With a 128-byte context every curve has
a second drop (the model starting to use its context) after the first third, which no step law fitted before it
can see; with 32 bytes it has none. The generated-math domain is left out: its loss saturates like a sigmoid.

    python bench/make_crossscale_runs.py [--workers 2] [--tokens 3M] [--v3]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from mixlaw.design import dirichlet_design
from mixlaw.store import export_run_table, write_table
from mixlaw.sweep import run_sweep
from mixlaw.train.config import ProxyConfig
from mixlaw.train.corpus import build_corpus

HERE = Path(__file__).resolve().parent / "data"
SIZES = ["0.025M", "0.05M", "0.1M", "0.2M"]
#: The v3 set (``--v3``): natural-text domains only, a 32-byte context, 6M tokens (see the module docstring).
V3 = dict(domains="code,dialogue,legal", block_size=32, batch_size=64, tokens="6M", n_mixtures=6, eval_every=60,
          warmup_frac=0.02, out=str(HERE / "crossscale_runs_v3.csv"), work=str(HERE / "crossscale-work-v3"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tokens", default="3M")
    ap.add_argument("--n-mixtures", type=int, default=10)
    ap.add_argument("--eval-every", type=int, default=40)
    ap.add_argument("--ema-gamma", type=float, default=7.0)
    ap.add_argument("--domains", default="", help="comma-separated built-in domains (default: all six)")
    ap.add_argument("--block-size", type=int, default=ProxyConfig.block_size)
    ap.add_argument("--batch-size", type=int, default=ProxyConfig.batch_size)
    ap.add_argument("--warmup-frac", type=float, default=ProxyConfig.warmup_frac)
    ap.add_argument("--v3", action="store_true", help="the v3 set: " + ", ".join(f"{k}={v}" for k, v in V3.items()
                                                                              if k not in ("out", "work")))
    ap.add_argument("--work", default=str(HERE / "crossscale-work"), help="corpus + store folder (not committed)")
    ap.add_argument("--out", default=str(HERE / "crossscale_runs.csv"))
    ap.add_argument("--sizes", default=",".join(SIZES), help="comma-separated model sizes (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the mixture design (default: %(default)s)")
    args = ap.parse_args()
    if args.v3:  # the v3 settings, except where an option is given explicitly
        for k, v in V3.items():
            if getattr(args, k) == ap.get_default(k):
                setattr(args, k, v)
    work = Path(args.work)
    corpus = work / "corpus"
    t0 = time.perf_counter()
    if not (corpus / "manifest.json").exists():
        build_corpus(corpus, seed=0, domains=args.domains.split(",") if args.domains else None)
    domains = sorted(json.loads((corpus / "manifest.json").read_text())["domains"])
    design = dirichlet_design(domains, args.n_mixtures, min_strength=3.0, max_strength=30.0, minimum=0.0,
                              random_state=args.seed)
    mixtures = [{d: float(row[f"w:{d}"]) for d in domains} for _, row in design.iterrows()]
    base = ProxyConfig(eval_every=args.eval_every, min_lr_ratio=1.0, ema_gamma=args.ema_gamma,
                       block_size=args.block_size, batch_size=args.batch_size, warmup_frac=args.warmup_frac)
    sweep = run_sweep(corpus, mixtures, args.sizes.split(","), args.tokens, work / "runs.db", workers=args.workers,
                      base=base)
    frame = export_run_table(work / "runs.db", ids=True)
    frame = frame[frame["run"].isin(set(sweep.run_ids))]  # the store may hold older sweeps' runs
    write_table(frame.reset_index(drop=True), Path(args.out))
    print(f"{len(frame)} rows, {frame['run'].nunique()} runs -> {args.out} ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
