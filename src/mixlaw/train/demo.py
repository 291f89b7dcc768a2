"""``mixlaw demo --train``: the whole system on real text, top to bottom.

1. build the offline corpus (6 domains, nothing downloaded);
2. draw proxy mixtures (RegMix-style Dirichlet around the uniform mixture) and sweep them at three tiny
   model sizes (resumable: a re-run skips finished runs);
3. fit the direct scaling route (one law in model size N, steps S and mixture r; :mod:`mixlaw.pipeline`)
   and predict every domain's loss of a larger model;
4. optimise the mixture for the mean validation loss at that size (within the proxies' range of each weight);
5. train the larger model on the optimum, the uniform and the natural (token-share) mixture and print
   predicted against measured losses.

All runs use a constant learning rate after warm-up, so that a checkpoint is a point on the curve of a
shorter run and step laws can be fitted to checkpoints.
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..data import RunTable
from ..design import dirichlet_design
from ..errors import ExtrapolationWarning, MixlawWarning
from ..optimize import optimize_mixture
from ..pipeline import fit_pipeline
from ..store import export_run_table
from ..sweep import run_sweep
from .config import ProxyConfig, parse_count
from .corpus import build_corpus


@dataclass
class TrainDemoResult:
    """What :func:`run_train_demo` measured: one row per target-scale mixture."""

    rows: list[dict[str, Any]]
    domains: list[str]
    target_params: int
    target_tokens: int
    seconds: float
    pipeline: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def optimum_wins(self) -> bool:
        """The optimum's measured mean loss is below uniform's and natural's."""
        by = {r["mixture"]: r["measured_mean"] for r in self.rows}
        return by["optimum"] < min(by["uniform"], by["natural"])

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "domains": self.domains, "target_params": self.target_params,
                "target_tokens": self.target_tokens, "seconds": self.seconds, "optimum_wins": self.optimum_wins,
                "pipeline": self.pipeline, "notes": self.notes}

    def __str__(self) -> str:
        lines = [f"target: {self.target_params:,} parameters, {self.target_tokens:,} tokens "
                 f"(objective: mean validation loss over {len(self.domains)} domains)",
                 f"{'mixture':<9} {'predicted':>9} {'measured':>9} {'MRE':>7}   weights"]
        for r in self.rows:
            w = " ".join(f"{d}={r['weights'][d]:.2f}" for d in self.domains)
            lines.append(f"{r['mixture']:<9} {r['predicted_mean']:>9.4f} {r['measured_mean']:>9.4f} "
                         f"{r['mre'] * 100:>6.2f}%   {w}")
        allm = float(np.mean([r["mre"] for r in self.rows]))
        lines.append(f"prediction error of the measured per-domain losses: MRE {allm * 100:.2f}% (goal <= 2 %)")
        lines.append("the predicted optimum " + ("beats" if self.optimum_wins else "does NOT beat")
                     + " uniform and natural on the measured mean loss")
        lines.append(f"({self.seconds:.0f} s)")
        return "\n".join(lines + self.notes)


def _natural(corpus: Path, domains: Sequence[str]) -> dict[str, float]:
    """Token shares of the corpus's training splits."""
    manifest = json.loads((corpus / "manifest.json").read_text())
    tokens = np.array([manifest["domains"][d]["splits"]["train"]["tokens"] for d in domains], dtype=np.float64)
    return dict(zip(domains, tokens / tokens.sum(), strict=True))


def _final_losses(table: RunTable, domains: Sequence[str]) -> dict[tuple[float, ...], np.ndarray]:
    """Final-checkpoint per-domain losses of each run, keyed by its rounded mixture."""
    frame = table.frame.sort_values("step").groupby("run").tail(1)
    out = {}
    for _, row in frame.iterrows():
        key = tuple(round(float(row[f"w:{d}"]), 6) for d in domains)
        out[key] = np.array([row[f"loss:{d}"] for d in domains], dtype=np.float64)
    return out


def run_train_demo(out_dir: str | Path = "mixlaw-demo", *, workers: int = 2, seed: int = 0, n_mixtures: int = 10,
                   sizes: Sequence[str] = ("0.03M", "0.06M", "0.12M"), tokens: str = "1M",
                   target_size: str = "0.25M", target_tokens: str = "1M", eval_every: int = 100,
                   max_mb: float = 6.0, progress: bool = True) -> TrainDemoResult:
    """Run the end-to-end demo (see the module docstring); resumable through ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Holds ``corpus/``, the proxy store ``runs.db`` and the target store ``target.db``.
    workers : int
        Concurrent training processes.
    n_mixtures : int
        Proxy mixtures.
    sizes, tokens
        Proxy model sizes and training tokens.
    target_size, target_tokens
        The larger run the mixture is chosen for.
    max_mb : float
        Per-domain cap of the corpus, in MB (large enough that the natural token shares differ).
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    corpus = out / "corpus"
    if not (corpus / "manifest.json").exists():
        build_corpus(corpus, seed=seed, max_bytes=int(max_mb * 1_000_000))
    domains = sorted(json.loads((corpus / "manifest.json").read_text())["domains"])
    base = ProxyConfig(eval_every=eval_every, min_lr_ratio=1.0, seed=seed)

    design = dirichlet_design(domains, n_mixtures, random_state=seed)
    mixtures = [{d: float(row[f"w:{d}"]) for d in domains} for _, row in design.iterrows()]
    run_sweep(corpus, mixtures, list(sizes), tokens, out / "runs.db", workers=workers, base=base, progress=progress)
    table = RunTable(export_run_table(out / "runs.db"), path=str(out / "runs.db"))

    n_target = parse_count(target_size, "target size")
    d_target = parse_count(target_tokens, "target tokens")
    target_cfg = ProxyConfig(model_size=n_target, train_tokens=d_target, eval_every=eval_every, min_lr_ratio=1.0,
                             seed=seed)
    # The pipeline's N is the non-embedding parameter count the store records (the model's, not the target).
    from .loop import build_model, prepare

    cfg, _, _ = prepare(dataclasses.replace(target_cfg, corpus=str(corpus), mixture=mixtures[0]))
    n_params = int(build_model(cfg).num_params(non_embedding=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixlawWarning)
        pipe = fit_pipeline(table, target_params=n_params, target_steps=cfg.max_steps, route="direct",
                            random_state=seed)
        natural = _natural(corpus, domains)
        opt = optimize_mixture(pipe.mixing_law, objective="mean", natural=natural, within_fitted_range=True,
                               random_state=seed)
    candidates = {"optimum": opt.weights, "uniform": {d: 1.0 / len(domains) for d in domains}, "natural": natural}
    run_sweep(corpus, list(candidates.values()), [target_size], target_tokens, out / "target.db", workers=workers,
              base=ProxyConfig(eval_every=eval_every, min_lr_ratio=1.0, seed=seed), progress=progress)
    measured = _final_losses(RunTable(export_run_table(out / "target.db"), path=str(out / "target.db")), domains)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        for name, w in candidates.items():
            vec = np.array([w[d] for d in domains])
            pred = np.asarray(pipe.predict(vec[None, :])).reshape(-1)
            key = tuple(round(float(v), 6) for v in vec / vec.sum())
            meas = measured.get(key)
            if meas is None:  # the store rounds nothing, but a mixture may differ in the last digit
                meas = min(measured.items(), key=lambda kv: float(np.abs(np.array(kv[0]) - vec).sum()))[1]
            rows.append({"mixture": name, "weights": {d: float(w[d]) for d in domains},
                         "predicted": dict(zip(domains, pred.tolist(), strict=True)),
                         "measured": dict(zip(domains, meas.tolist(), strict=True)),
                         "predicted_mean": float(pred.mean()), "measured_mean": float(meas.mean()),
                         "mre": float(np.mean(np.abs(pred - meas) / meas))})
    return TrainDemoResult(rows, domains, n_params, d_target, time.perf_counter() - t0, pipeline=str(pipe))


__all__ = ["run_train_demo", "TrainDemoResult"]
