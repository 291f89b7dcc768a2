"""``mixlaw demo --train``: the whole system on real text, top to bottom.

1. **Corpus.** Build the offline corpus (6 domains, nothing downloaded; 6 MB cap per domain so that the
   natural token shares differ from uniform).
2. **Proxy sweep.** Draw 16 mixtures (RegMix-style Dirichlet around the uniform mixture, strength 3-30 so that
   every mixture trains on most domains) and train each at three tiny model sizes on the same token budget
   (resumable: a re-run skips finished runs).
3. **Laws.** Choose the mixing law by cross-validation at the largest proxy size (:func:`select_law`: Ye's
   exponential law or Shukor et al.'s additive law, whichever predicts held-out proxies best), fit it
   separately at each proxy size on the final validation losses, and extrapolate each domain's
   predicted loss in model size with one size law :math:`L(N) = E + A N^{-\\alpha}` whose exponent is shared by
   all mixtures of that domain (:func:`mixlaw.scaling.fit_shared_exponent`): this is Ye et al.'s nested
   route (size law per mixture, mixing law across mixtures) without the step stage, since the target trains
   on the proxies' token budget.
4. **Optimum.** Minimise the predicted mean validation loss over the domains at the target size
   (:func:`mixlaw.optimize.optimize_mixture`), within the proxies' range of each weight.
5. **Check.** Train the target model on the optimum, the uniform and the natural (token-share) mixture and
   print predicted against measured losses.

Every run uses the trainer's default cosine schedule (decay to 10 % of the peak learning rate) and is scored
once, at its end: the annealed final loss is much less noisy than a mid-run checkpoint, and no step
extrapolation is needed because the target run sees as many tokens as the proxies.

References
----------
Ye et al. (2024), "Data Mixing Laws: Optimizing Data Mixtures by Predicting Language Modeling Performance",
arXiv:2403.16952 (nested scaling route, Sec. 4). Liu et al. (2025), "RegMix" (Dirichlet proxy mixtures).
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..bootstrap import FIT_FAILURES
from ..data import RunTable
from ..design import dirichlet_design
from ..errors import MixlawWarning
from ..laws.base import MixingLaw, get_law
from ..optimize import optimize_mixture
from ..scaling import fit_shared_exponent
from ..store import export_run_table
from ..sweep import plan_sweep, run_sweep
from .config import ProxyConfig, parse_count
from .corpus import build_corpus
from .loop import build_model

# Dirichlet strengths 3-30 around uniform: every mixture keeps most domains above a few percent (a domain
# never trained on has an erratic loss that no smooth law fits), while still spreading each weight over
# roughly 0-0.5.
DESIGN_STRENGTH = (3.0, 30.0)


@dataclass
class TrainDemoResult:
    """What :func:`run_train_demo` measured: one row per target-scale mixture.

    Attributes
    ----------
    rows : list of dict
        ``mixture`` (optimum / uniform / natural), ``weights``, ``predicted`` and ``measured`` per-domain losses,
        ``predicted_mean``, ``measured_mean`` and ``mre`` (mean over domains of ``|pred - meas| / meas``).
    domains : list of str
    target_params : int
        Non-embedding parameters of the target model.
    target_tokens : int
    proxy_params : list of int
        Non-embedding parameters of the proxy sizes.
    n_proxy_runs : int
    seconds : float
        Wall time of this call (a resumed call skips finished runs).
    """

    rows: list[dict[str, Any]]
    domains: list[str]
    target_params: int
    target_tokens: int
    proxy_params: list[int]
    n_proxy_runs: int
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def optimum_wins(self) -> bool:
        """The optimum's measured mean loss is below uniform's and natural's."""
        by = {r["mixture"]: r["measured_mean"] for r in self.rows}
        return by["optimum"] < min(by["uniform"], by["natural"])

    @property
    def mre(self) -> float:
        """Mean relative error of the predicted per-domain losses over every (mixture, domain) entry."""
        return float(np.mean([r["mre"] for r in self.rows]))

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "domains": self.domains, "target_params": self.target_params,
                "target_tokens": self.target_tokens, "proxy_params": self.proxy_params,
                "n_proxy_runs": self.n_proxy_runs, "seconds": self.seconds, "optimum_wins": self.optimum_wins,
                "mre": self.mre, "notes": self.notes}

    def __str__(self) -> str:
        proxies = ", ".join(f"{n:,}" for n in self.proxy_params)
        lines = [f"proxies: {self.n_proxy_runs} runs at {proxies} parameters; target: {self.target_params:,} "
                 f"parameters, {self.target_tokens:,} tokens",
                 f"objective: mean validation loss over {len(self.domains)} domains",
                 f"{'mixture':<9} {'predicted':>9} {'measured':>9} {'MRE':>7}   weights"]
        for r in self.rows:
            w = " ".join(f"{d}={r['weights'][d]:.2f}" for d in self.domains)
            lines.append(f"{r['mixture']:<9} {r['predicted_mean']:>9.4f} {r['measured_mean']:>9.4f} "
                         f"{r['mre'] * 100:>6.2f}%   {w}")
        lines.append("per-domain MRE    " + "  ".join(
            f"{d} {np.mean([abs(r['predicted'][d] / r['measured'][d] - 1) for r in self.rows]) * 100:.2f}%"
            for d in self.domains))
        lines.append(f"prediction error of the measured per-domain losses: MRE {self.mre * 100:.2f}% (goal <= 2 %)")
        by = {r["mixture"]: r["measured_mean"] for r in self.rows}
        lines.append("the predicted optimum " + ("beats" if self.optimum_wins else "does NOT beat")
                     + f" uniform and natural on the measured mean loss ({by['optimum']:.4f} vs "
                     f"{by['uniform']:.4f} / {by['natural']:.4f})")
        lines.append(f"({self.seconds:.0f} s)")
        return "\n".join(lines + self.notes)


def _stage(enabled: bool) -> Callable[[str], None]:
    """A one-line stage announcer on stderr (rich, like the sweep's progress bars), or a no-op."""
    if not enabled:
        return lambda _msg: None
    from rich.console import Console

    console = Console(stderr=True)
    return lambda msg: console.print(f"[bold cyan]mixlaw demo[/bold cyan] {msg}", highlight=False)


def _corpus(out: Path, seed: int, max_mb: float) -> tuple[Path, list[str], dict[str, float]]:
    """Build (or reuse) the corpus; returns its folder, the sorted domains and their natural token shares."""
    corpus = out / "corpus"
    if not (corpus / "manifest.json").exists():
        build_corpus(corpus, seed=seed, max_bytes=int(max_mb * 1_000_000))
    manifest = json.loads((corpus / "manifest.json").read_text())
    domains = sorted(manifest["domains"])
    tokens = np.array([manifest["domains"][d]["splits"]["train"]["tokens"] for d in domains], dtype=np.float64)
    return corpus, domains, dict(zip(domains, (tokens / tokens.sum()).tolist(), strict=True))


def proxy_mixtures(domains: Sequence[str], n: int, seed: int) -> list[dict[str, float]]:
    """The demo's proxy design: ``n`` Dirichlet mixtures around uniform (strength 3-30, seeded)."""
    design = dirichlet_design(domains, n, min_strength=DESIGN_STRENGTH[0], max_strength=DESIGN_STRENGTH[1],
                              minimum=0.0, random_state=seed)
    return [{d: float(row[f"w:{d}"]) for d in domains} for _, row in design.iterrows()]


def base_config(seed: int, tokens: int, eval_tokens: int) -> ProxyConfig:
    """Shared run settings: default cosine schedule, one evaluation at the end of each run."""
    steps = tokens // (ProxyConfig.batch_size * ProxyConfig.block_size)
    return ProxyConfig(seed=seed, eval_every=max(1, steps), eval_tokens=eval_tokens)


def final_losses(db: Path, run_ids: Sequence[str], domains: Sequence[str]) -> tuple[np.ndarray, ...]:
    """The last checkpoint of each of ``run_ids``: weights (n, M), non-embedding params (n,), losses (n, M).

    Only the named runs are read, so a store shared with other sweeps (other budgets) cannot leak into the fit.
    """
    frame = export_run_table(db)
    frame = frame[frame["run"].isin(set(run_ids))].sort_values(["run", "step"]).groupby("run").tail(1)
    if frame["run"].nunique() != len(set(run_ids)):
        raise RuntimeError(f"{db}: {len(set(run_ids)) - frame['run'].nunique()} planned run(s) missing")
    table = RunTable(frame.reset_index(drop=True), path=str(db))
    W = table.weights_for(list(domains))
    return W, np.asarray(table.model_params, dtype=np.float64), table.losses(list(domains))


#: Mixing laws that ``law="auto"`` chooses from by cross-validation at the largest proxy size.
AUTO_LAWS = ("ye-exp", "additive-ens", "ye-pow")
#: Folds of that cross-validation (fewer when there are fewer runs).
CV_FOLDS = 8


def _n_folds(n: int, n_folds: int) -> int:
    """Folds :func:`select_law` uses for ``n`` runs: ``n_folds``, at most one per run, at least 2."""
    return max(2, min(n_folds, n))


def select_law(W: np.ndarray, Y: np.ndarray, domains: Sequence[str], candidates: Sequence[str] = AUTO_LAWS, *,
               n_folds: int = CV_FOLDS, random_state: int = 0) -> tuple[str, dict[str, float]]:
    r"""The mixing law with the lowest K-fold cross-validated MRE on ``(W, Y)``, and every candidate's CV MRE.

    The demo cannot know in advance which law's shape fits its corpus: a domain whose loss shoots up as its
    share goes to 0 (the generated math worksheets) is a power law in r, which Ye's exponential law
    :math:`c + k e^{t \cdot r}` cannot follow and Shukor et al.'s additive law
    :math:`E + 1/\sum_j C_j r_j^{\gamma_j}` can. On the demo's 0.1M-parameter proxies (``mixlaw demo --train``
    prints it): ye-exp 5.14 %, additive-ens 2.23 % (ye-pow has too many parameters for a fold of 14 runs).
    The plain additive law is not a candidate: additive-ens averages it with its shared-exponent fit, which
    transfers better across scales (bench/compare_laws.py). A candidate with more parameters than a fold has
    runs is skipped; with none left, ``ye-exp`` is returned.

    Parameters
    ----------
    W : (n, M) array
        Mixtures (one model size).
    Y : (n, M) array
        Per-domain losses of those runs.
    domains : sequence of str
    candidates : sequence of str
        Registered law keys.
    n_folds : int, default 8
        Folds (at most n); seeded shuffle.
    random_state : int, default 0

    Returns
    -------
    (str, dict of str to float)
        The chosen key and ``{law: CV MRE}`` (NaN where the law could not be fitted on a fold).
    """
    W, Y = np.asarray(W, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    n = len(W)
    k = _n_folds(n, n_folds)
    fold = np.random.default_rng(random_state).permutation(n) % k
    scores: dict[str, float] = {}
    for key in candidates:
        P = np.empty_like(Y)
        try:
            for f in range(k):
                test = fold == f
                law = get_law(key, random_state=random_state).fit(W[~test], Y[~test], domains=list(domains),
                                                                   targets=list(domains))
                P[test] = np.asarray(law.predict(W[test]), dtype=np.float64).reshape(-1, Y.shape[1])
        except FIT_FAILURES:
            # Too few runs in a fold for this law's parameter count, or a fit that failed outright.
            scores[key] = float("nan")
            continue
        err = np.abs(P / Y - 1)
        scores[key] = float(np.mean(err)) if np.all(np.isfinite(err)) else float("nan")
    finite = {key: v for key, v in scores.items() if np.isfinite(v)}
    return (min(finite, key=finite.__getitem__) if finite else "ye-exp"), scores


@dataclass
class NestedSizePrediction:
    """Target-size prediction of :func:`predict_at_size`.

    Attributes
    ----------
    law : MixingLaw
        Mixing law fitted on the predicted target-size losses of the proxy mixtures; predicts any mixture.
    mixtures : ndarray of shape (G, M)
        The proxy mixtures.
    target_losses : ndarray of shape (G, K)
        Their predicted losses at the target size.
    alpha : dict of str to float
        Shared size exponent of each eval domain.
    size_laws : dict of int to MixingLaw
        The mixing law fitted at each proxy size.
    """

    law: MixingLaw
    mixtures: np.ndarray
    target_losses: np.ndarray
    alpha: dict[str, float]
    size_laws: dict[int, MixingLaw]

    def predict(self, weights: np.ndarray) -> np.ndarray:
        """Per-domain losses at the target size, ndarray of shape (n, K)."""
        return np.asarray(self.law.predict(np.atleast_2d(weights)), dtype=np.float64).reshape(-1, len(self.alpha))


def predict_at_size(W: np.ndarray, N: np.ndarray, Y: np.ndarray, domains: Sequence[str], target_params: float, *,
                    law: str = "ye-exp", random_state: int = 0) -> NestedSizePrediction:
    """Ye's nested route over model size: mixing law per size, size law per mixture, mixing law at the target.

    1. At every proxy size :math:`N_s`, fit the mixing law :math:`\\hat L_{s,i}(r)` (default Ye's
       :math:`c_i + k_i \\exp(\\sum_j t_{ij} r_j)`) and take its fitted values at the G proxy mixtures, which
       averages out run-to-run noise before extrapolating.
    2. For every eval domain i, fit :math:`L_{g,i}(N) = E_{g,i} + A_{g,i} N^{-\\alpha_i}` to the G curves at
       once with one exponent :math:`\\alpha_i` (three sizes give three points per curve: too few for a free
       exponent each) and evaluate it at the target size :math:`N^*`.
    3. Fit the mixing law again on those G predicted target losses: it predicts any mixture at :math:`N^*`.

    Parameters
    ----------
    W : ndarray of shape (n_runs, M)
    N : ndarray of shape (n_runs,)
        Non-embedding parameters of each run (>= 3 distinct sizes, every mixture at every size).
    Y : ndarray of shape (n_runs, K)
        Final validation loss of each run on each eval domain.
    domains : list of str
        Training domains, also the eval domains (K = M).
    target_params : float
        Target model size N* (same units as ``N``).

    References
    ----------
    Ye et al. (2024), arXiv:2403.16952, Sec. 4 (nested use of scaling laws and data mixing laws).
    """
    sizes = np.unique(N)
    mixes = np.unique(np.round(W, 9), axis=0)
    key = {tuple(m): g for g, m in enumerate(mixes)}
    curves = np.full((len(mixes), len(sizes), Y.shape[1]), np.nan)
    size_laws: dict[int, MixingLaw] = {}
    for s, n in enumerate(sizes):
        at = N == n
        fitted = get_law(law, random_state=random_state).fit(W[at], Y[at], domains=list(domains),
                                                             targets=list(domains))
        size_laws[int(n)] = fitted
        rows = [key[tuple(m)] for m in np.round(W[at], 9)]
        curves[rows, s, :] = np.asarray(fitted.predict(W[at])).reshape(len(rows), -1)
    if np.isnan(curves).any():
        raise ValueError("predict_at_size needs every proxy mixture trained at every size")
    target = np.empty((len(mixes), Y.shape[1]))
    alpha = {}
    for i, d in enumerate(domains):
        E, log_A, a, _ = fit_shared_exponent([sizes] * len(mixes), list(curves[:, :, i]), label=f"size law [{d}]")
        target[:, i] = E + np.exp(log_A - a * np.log(target_params))
        alpha[d] = a
    final = get_law(law, random_state=random_state).fit(mixes, target, domains=list(domains), targets=list(domains))
    return NestedSizePrediction(final, mixes, target, alpha, size_laws)


def run_train_demo(out_dir: str | Path = "mixlaw-demo", *, workers: int = 2, seed: int = 0, n_mixtures: int = 16,
                   sizes: Sequence[str] = ("0.02M", "0.05M", "0.1M"), tokens: str = "0.75M",
                   target_size: str = "0.25M", law: str = "auto", eval_tokens: int = 16384,
                   max_mb: float = 6.0, progress: bool = True) -> TrainDemoResult:
    """Run the end-to-end demo (see the module docstring); resumable through ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Holds ``corpus/``, the proxy store ``runs.db`` and the target store ``target.db``; re-running with the
        same arguments reuses all three and trains only what is missing.
    workers : int, default 2
        Concurrent training processes.
    seed : int, default 0
        Seeds the corpus split, the design, every run and every fit.
    n_mixtures : int, default 16
        Proxy mixtures, each trained at every size in ``sizes``.
    sizes : sequence of str, default ("0.02M", "0.05M", "0.1M")
        Proxy model sizes (non-embedding parameters; >= 3 for the size law).
    tokens : str, default "0.75M"
        Training tokens of every run, proxies and target alike.
    target_size : str, default "0.25M"
        The larger model the mixture is chosen for.
    law : str, default "auto"
        Registered mixing law of :func:`predict_at_size`; ``"auto"``: the one of :data:`AUTO_LAWS` with the
        lowest cross-validated error at the largest proxy size (:func:`select_law`).
    eval_tokens : int, default 16384
        Validation tokens per domain (the final evaluation of each run).
    max_mb : float, default 6.0
        Per-domain cap of the corpus in MB.
    progress : bool, default True
        Stage lines and progress bars on stderr.

    Returns
    -------
    TrainDemoResult
    """
    t0 = time.perf_counter()
    say = _stage(progress)
    out = Path(out_dir)

    say("1/5 corpus")
    corpus, domains, natural = _corpus(out, seed, max_mb)
    n_tokens = parse_count(tokens, "tokens")
    base = base_config(seed, n_tokens, eval_tokens)

    say(f"2/5 proxy sweep: {n_mixtures} mixtures x {len(sizes)} sizes ({', '.join(sizes)}), {tokens} tokens each")
    mixtures = proxy_mixtures(domains, n_mixtures, seed)
    sweep = run_sweep(corpus, mixtures, list(sizes), n_tokens, out / "runs.db", workers=workers, base=base,
                      progress=progress)
    W, N, Y = final_losses(out / "runs.db", sweep.run_ids, domains)

    say("3/5 laws: mixing law per size, shared-exponent size law per domain, mixing law at the target size")
    notes = []
    if law == "auto":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MixlawWarning)
            at = N == N.max()
            law, cv = select_law(W[at], Y[at], domains, random_state=seed)
        folds = _n_folds(int(at.sum()), CV_FOLDS)
        notes.append(f"mixing law: {law}, chosen by {folds}-fold cross-validation at {int(N.max()):,} parameters (MRE "
                     + ", ".join(f"{k} {v:.2%}" for k, v in cv.items()) + ")")
    target_plan = plan_sweep(corpus, [mixtures[0]], [target_size], n_tokens, base=base)[0]
    n_target = int(build_model(target_plan.config).num_params(non_embedding=True))
    with warnings.catch_warnings():
        # Bound/convergence notes of the many small fits; the table below is the check that matters.
        warnings.simplefilter("ignore", MixlawWarning)
        pred = predict_at_size(W, N, Y, domains, n_target, law=law, random_state=seed)
        say("4/5 optimum of the predicted mean loss (within the proxies' weight range)")
        opt = optimize_mixture(pred.law, objective="mean", natural=natural, within_fitted_range=True,
                               random_state=seed)

    candidates = {"optimum": {d: float(opt.weights[d]) for d in domains},
                  "uniform": {d: 1.0 / len(domains) for d in domains}, "natural": natural}
    say(f"5/5 target runs at {target_size} on optimum / uniform / natural")
    # Duplicated mixtures (an optimum equal to uniform) collapse to one run in the plan.
    plan = {name: plan_sweep(corpus, [w], [target_size], n_tokens, base=base)[0].run_id
            for name, w in candidates.items()}
    run_sweep(corpus, list(candidates.values()), [target_size], n_tokens, out / "target.db", workers=workers,
              base=base, progress=progress)
    rows = []
    for name, w in candidates.items():
        _, _, meas = final_losses(out / "target.db", [plan[name]], domains)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MixlawWarning)
            p = pred.predict(np.array([[w[d] for d in domains]]))[0]
        m = meas[0]
        rows.append({"mixture": name, "weights": w, "predicted": dict(zip(domains, p.tolist(), strict=True)),
                     "measured": dict(zip(domains, m.tolist(), strict=True)), "predicted_mean": float(p.mean()),
                     "measured_mean": float(m.mean()), "mre": float(np.mean(np.abs(p - m) / m))})
    notes.append("size exponents: " + " ".join(f"{d} {a:.2f}" for d, a in pred.alpha.items()))
    return TrainDemoResult(rows, domains, n_target, n_tokens, sorted({int(n) for n in N}), len(W),
                           time.perf_counter() - t0, notes)


__all__ = ["run_train_demo", "TrainDemoResult", "predict_at_size", "NestedSizePrediction", "proxy_mixtures",
           "final_losses", "select_law", "AUTO_LAWS"]
