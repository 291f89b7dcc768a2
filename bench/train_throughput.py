"""Throughput of mixlaw's proxy trainer against a minimal plain-PyTorch loop of the same model.

Both train the same GPT (``mixlaw.train.model``) with the same AdamW settings, batch and context, in the
same process, alternating A/B for several rounds so that background load hits both alike. The plain loop
draws random windows from one concatenated byte tensor and does forward, backward, step -- nothing else.
mixlaw's loop adds what a proxy run needs: the per-batch mixture sampler, the learning-rate schedule,
gradient clipping, train-loss tracking and periodic per-domain validation at the issue's setting
(``--eval-every 250``: 4 evaluations of every domain in a 2M-token run, 2 in the default 1M-token
benchmark). Acceptance: median ratio mixlaw / plain >= 0.9.

Usage::

    python bench/train_throughput.py                       # builds a corpus in a temp folder
    python bench/train_throughput.py --corpus corpus/ --size 0.2M --tokens 1M --threads 1,2 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mixlaw.train.config import ProxyConfig, parse_count
from mixlaw.train.corpus import build_corpus
from mixlaw.train.data import Corpus
from mixlaw.train.loop import build_model, prepare, train


def plain_loop(cfg: ProxyConfig, data: torch.Tensor, steps: int, seed: int) -> float:
    """nanoGPT's minimal loop on the same model and optimizer; returns training tokens per second."""
    torch.manual_seed(seed)
    model = build_model(cfg)
    optimizer = model.configure_optimizer(cfg.lr, cfg.weight_decay, (cfg.beta1, cfg.beta2))
    B, T = cfg.batch_size, cfg.block_size
    t0 = time.perf_counter()
    for _ in range(steps):
        ix = torch.randint(len(data) - T - 1, (B,))
        x = torch.stack([data[i: i + T] for i in ix]).long()  # (B, T)
        y = torch.stack([data[i + 1: i + 1 + T] for i in ix]).long()  # (B, T)
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps * B * T / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", help="corpus folder (default: build one in a temp folder, 1 MB per domain)")
    ap.add_argument("--size", default="0.2M", help="model size (non-embedding parameters)")
    ap.add_argument("--tokens", default="1M", help="training tokens per measurement")
    ap.add_argument("--eval-every", type=int, default=250, help="steps between per-domain evaluations")
    ap.add_argument("--threads", default="1", help="torch threads to test, comma-separated (e.g. 1,2)")
    ap.add_argument("--rounds", type=int, default=3, help="A/B rounds per thread count (median is reported)")
    args = ap.parse_args()

    tmp = None
    if args.corpus is None:
        tmp = tempfile.TemporaryDirectory()
        args.corpus = str(Path(tmp.name) / "corpus")
        build_corpus(args.corpus, max_bytes=1_000_000)
    corpus = Corpus(args.corpus)
    mixture = {d: 1 / len(corpus.domains) for d in corpus.domains}
    data = torch.from_numpy(np.concatenate([np.asarray(corpus.array(d)) for d in corpus.domains]))
    rows = []
    for threads in (int(t) for t in args.threads.split(",")):
        cfg = ProxyConfig(corpus=args.corpus, mixture=mixture, model_size=parse_count(args.size),
                          train_tokens=parse_count(args.tokens), eval_every=args.eval_every, num_threads=threads)
        resolved, _, _ = prepare(cfg, corpus)
        torch.set_num_threads(threads)
        plain_loop(resolved, data, 10, seed=0)  # warm-up: allocator and thread pools
        plain, ours, ratios = [], [], []
        for r in range(args.rounds):
            a = plain_loop(resolved, data, resolved.max_steps, seed=r)
            b = train(cfg, corpus=corpus).tokens_per_s
            plain.append(a)
            ours.append(b)
            ratios.append(b / a)
        n_evals = -(-resolved.max_steps // args.eval_every)
        rows.append((threads, resolved, statistics.median(plain), statistics.median(ours), statistics.median(ratios),
                     min(ratios), n_evals))
    print(f"\nmixlaw trainer vs plain PyTorch loop -- model {args.size} "
          f"({build_model(rows[0][1]).num_params():,} non-embedding params, {rows[0][1].n_layer} layers, "
          f"width {rows[0][1].n_embd}), batch {rows[0][1].batch_size} x {rows[0][1].block_size} bytes, "
          f"{rows[0][1].max_steps} steps, {len(corpus.domains)} domains, median of {args.rounds} A/B rounds")
    print(f"{'threads':>7} | {'plain tok/s':>11} | {'mixlaw tok/s':>12} | {'ratio':>5} | {'min ratio':>9} | evals")
    print("-" * 66)
    for threads, _, a, b, ratio, worst, n_evals in rows:
        print(f"{threads:>7} | {a:>11,.0f} | {b:>12,.0f} | {ratio:>5.3f} | {worst:>9.3f} | {n_evals:>5}")
    ok = all(r[4] >= 0.9 for r in rows)
    print(f"\nacceptance (median ratio >= 0.9): {'PASS' if ok else 'FAIL'}")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
