"""Do the sizes-only pipeline's intervals hold without a backtest? Coverage and half-width of rules at N*.

Issue 9, point 3, for the sizes-only mode (each run's loss at one step, extrapolated in model size alone). With 3
fitted sizes the leave-size-out backtest cannot run (holding out the largest leaves 2, the size law needs 3), so
the library's intervals are the jackknife over mixtures alone: they hold no extrapolation error. This bench
measures candidate terms for it on the same fits.

Worlds: those of ``bench/pipeline_selection.py`` (world ``i`` of seed block ``b`` is ``make_world(1000 b + i,
FAMILIES[i % 4], fit_sizes)``), each read at its last recorded step S_max (one row per mixture and size), fitted
on its 3 sizes (``make_world(..., 3)``: the 4-size world without its largest size) and scored at its target size
(2-3x the largest fitted one) at S_max: the truth is the world's noise-free loss there, the measured loss that
truth with the world's checkpoint noise (the intervals are scored on the measured loss). Read at one step, the
two misspecified families of that bench are not misspecified in N (the late step bend is a factor constant in N;
the drifting size exponent is one exponent per mixture at one step), so ``--size-bend`` (default on) gives those
two families a misspecification in size instead, the mirror image of the late step bend: the loss is multiplied
by :math:`1 - \\delta \\log(N/N_b)` past :math:`N_b`, log-uniform between the smallest and the largest fitted
size, :math:`\\delta` 1-3 % (drawn from a generator of its own, so the world's other draws are unchanged).
``--fit-sizes 4`` keeps the fourth size: the backtest then runs and the library's interval is the one with the
backtest residuals (printed as a reference: what the no-backtest rules are trying to replace).

``--runs`` adds mixlaw's trainer runs (bench/data v3 and v3_12m at the last step and the recorded steps nearest
half and a quarter of it, fitted on the 3 smallest sizes and predicting the largest: the protocol of
``bench/pipeline_sizes_only.py``), scored as an out-of-sample check, never used to choose.

Each row keeps the fit's *components*: the prediction (auto's choice), the jackknife refits' predictions, every
candidate the auto pipeline can fit at the target (``fit_all=True``: the nested route with ye-exp, ye-pow and
additive-ens where they fit, the direct route's joint law) and a size law refitted here per eval (alpha shared by
the mixtures, E and A per mixture, as the nested route fits it) for its profile over alpha and its prediction
variance. Rules (relative half-widths h; z the normal quantile of the 80 % level):

- ``library``: the intervals :func:`mixlaw.pipeline.fit_pipeline` returns (with 3 sizes, since 2026-12-04, the
  ``B: + size-law prediction sd`` rule; with 4, the backtest's conformal rule);
- ``jackknife alone``: :math:`z\\sigma_{jk}`, the library's rule with 3 sizes before;
- ``A: + candidate half-range``: :math:`\\sqrt{(z\\sigma_{jk})^2 + d^2}`, d half the range of the candidates'
  predictions of that entry (relative); ``A: + candidate std``: d = z x their std (ddof 0); ``A: + candidate max
  deviation``: d = the largest distance of a candidate's prediction from the one made;
- ``B: + size-law prediction sd``: :math:`\\sqrt{(z\\sigma_{jk})^2 + t^2 \\hat\\sigma^2 (1 + h_*)}`
  (:func:`mixlaw.pipeline.law_spread.size_law_spread`): the linear least-squares prediction variance of the size
  law at N* for the mixture's own 3 points (E and A, alpha at its profile minimum;
  :math:`h_* = v_*^T (X^T W X)^{-1} v_* / \\hat y_*^2`), :math:`\\hat\\sigma^2` the residual variance of the
  shared-alpha fit (its n - 1 degrees of freedom per eval: lack of fit included), t the Student quantile, the
  target run's own noise in the 1; the jackknife holds alpha's share;
- ``B: + alpha profile range``: d = half the range of the predictions over the alphas whose residual sum of
  squares is within the 80 % likelihood-ratio bound :math:`S(\\alpha) \\le S_{min} (1 + F_{1,\\nu}/\\nu)`.

Printed per family: coverage of the nominal-80 % intervals and mean relative half-width; then over all worlds.

Measured 2026-12-04 (2 shared cores, 85-125 s a block), coverage / mean half-width over all 52 worlds of a block
(3 fitted sizes, ``--size-bend``; block 1 chose, blocks 0, 2 and 3 verify), per family on block 0 (joint,
per-mixture, joint + size bend, per-mixture + size bend), and the trainer runs (``--runs``, 108 losses)::

    rule                          block 1      block 0      block 2      block 3      block 0 per family   trainer
    jackknife alone (before)      59 % 1.98 %  63 % 1.97 %  62 % 2.33 %  68 % 2.36 %  68 / 74 / 61 / 48 %  52/108 2.88 %
    A: + candidate half-range     65 % 2.12 %  68 % 2.10 %  65 % 2.45 %  70 % 2.50 %  74 / 78 / 64 / 53 %  56/108 2.95 %
    A: + candidate z std          66 % 2.17 %  69 % 2.14 %  66 % 2.49 %  71 % 2.54 %  75 / 79 / 64 / 55 %  56/108 2.98 %
    A: + candidate max deviation  70 % 2.42 %  74 % 2.37 %  72 % 2.72 %  76 % 2.80 %  77 / 84 / 73 / 62 %  58/108 3.10 %
    B: + size-law prediction sd   82 % 2.86 %  85 % 2.83 %  81 % 3.12 %  85 % 3.27 %  88 / 90 / 85 / 74 %  76/108 3.99 %
    B: + alpha profile range      74 % 2.46 %  76 % 2.36 %  72 % 2.66 %  78 % 2.81 %  85 / 85 / 69 / 63 %  61/108 3.16 %
    A max dev + B prediction sd   86 % 3.17 %  89 % 3.11 %  85 % 3.40 %  91 % 3.59 %  91 / 94 / 89 / 82 %  82/108 4.12 %

``B: + size-law prediction sd`` is the library's rule since 2026-12-04 (the ``library`` row equals it with 3 sizes). The
candidates' spread (A) is small on these worlds and runs: with 3 sizes the nested laws give the same target
losses for the fitted mixtures (the mixing law is fitted on them), so it is the two routes' disagreement alone,
and it reaches 70-74 % at most, 58/108 on the trainer runs. The alpha profile is what the jackknife already
holds in part. A + B over-covers (91-94 % in two families). The misspecified families as read at one step
(``--no-size-bend``, block 0: not misspecified in N): jackknife alone 69 %, B 86 % (88 / 90 / 82 / 84 %). With
a fourth size (``--fit-sizes 4``, block 0; every world has its backtest): the library's backtest rule 87 %
(3.59 %), B computed on 4 sizes 86 % (3.25 %), the jackknife alone 58 %. B per family, blocks 1 / 2 / 3:
78-85 / 77-86 / 79-90 %.

    python bench/interval_sizes_only.py [--worlds 52] [--seed 1] [--fit-sizes 3] [--no-size-bend] [--runs]
        [--jackknife 8] [--workers 1] [--rows r.jsonl] [--from-rows r.jsonl ...]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import load_bench
from scipy.stats import f as f_dist
from scipy.stats import norm

from mixlaw.data import RunTable, read_runs
from mixlaw.errors import MixlawError, MixlawWarning
from mixlaw.pipeline import fit_pipeline
from mixlaw.pipeline.intervals import size_law_spread

LEVEL = 0.8
Z = float(norm.ppf(0.5 + LEVEL / 2))
DATA = Path(__file__).parent / "data"
ALPHAS = np.geomspace(0.02, 2.0, 600)


SEL = load_bench("pipeline_selection")


def _key(w: np.ndarray) -> tuple[float, ...]:
    return tuple(np.round(np.asarray(w, dtype=np.float64), 9))


# ---------------------------------------------------------------------- the size law, refitted here
def size_law_profile(N: np.ndarray, Y: np.ndarray, Nt: float) -> dict[str, Any]:
    """Alpha shared by the mixtures (rows of Y, one column per size N), E and A per mixture, by relative least
    squares (weights 1/y^2) on a grid of alphas; returns the best alpha and per mixture the range of the
    predictions at Nt over the alphas inside the 80 % likelihood-ratio bound."""
    n_mix, n_n = Y.shape
    ssr = np.zeros(ALPHAS.size)
    preds = np.zeros((ALPHAS.size, n_mix))
    for a, alpha in enumerate(ALPHAS):
        X = np.column_stack([np.ones(n_n), N ** -alpha])
        for m in range(n_mix):
            Xw = X / Y[m][:, None]
            c = np.linalg.lstsq(Xw, np.ones(n_n), rcond=None)[0]  # (y - Xc)/y = 1 - (X/y) c
            ssr[a] += float(np.sum((1 - Xw @ c) ** 2))
            preds[a, m] = c[0] + c[1] * Nt ** -alpha
    best = int(np.argmin(ssr))
    df = n_mix * n_n - 2 * n_mix - 1
    inside = ssr <= ssr[best] * (1 + f_dist.ppf(LEVEL, 1, df) / df) if df > 0 else np.ones(ALPHAS.size, bool)
    p = preds[inside]
    return {"alpha": float(ALPHAS[best]), "range_lo": p.min(axis=0).tolist(), "range_hi": p.max(axis=0).tolist(),
            "edge": bool(inside[0] or inside[-1])}


# ---------------------------------------------------------------------- one fit -> components
def components(fit: RunTable, Nt: float, truth_of: Callable[[np.ndarray], np.ndarray], seed: int,
               n_jackknife: int, noise: float = 0.0, rng: np.random.Generator | None = None) -> dict[str, Any]:
    """Fit the sizes-only auto pipeline on ``fit`` (one step) and keep what interval rules use (module docstring).
    ``truth_of``: the target's loss of the fitted mixtures (rows of ``res.mixtures``); the measured loss adds
    ``noise`` (relative, drawn from ``rng``; 0: the truth is measured)."""
    names = list(fit.evals)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixlawWarning)
        res = fit_pipeline(fit, target_params=Nt, random_state=seed, n_jackknife=n_jackknife, level=LEVEL,
                           fit_all=True)
        center = np.asarray(res.target_losses, dtype=np.float64)
        iv = res.intervals
        jack = [np.asarray(law.predict(res.mixtures, **kw)).reshape(center.shape) / center
                for law, kw in iv.boot_laws]
    assert res.sizes_only
    keys = [_key(w) for w in res.mixtures]
    cands = {}
    for label, alt in res.alternatives.items():
        at = {_key(w): y for w, y in zip(alt.mixtures, np.asarray(alt.target_losses), strict=True)}
        if all(k in at for k in keys) and list(alt.targets) == list(res.targets):
            cands[label] = (np.array([at[k] for k in keys]) / center).tolist()
    # The size law per eval on the fitted rows, mixtures in res.mixtures' order.
    N = fit.model_params
    sizes = np.unique(N)
    Yall = fit.losses(names)
    row_of = {(_key(w), float(n)): i for i, (w, n) in enumerate(zip(fit.weights, N, strict=True))}
    prof = []
    for k in range(len(names)):
        Y = np.array([[Yall[row_of[(kk, float(n))], k] for n in sizes] for kk in keys])
        prof.append(size_law_profile(sizes, Y, Nt))
    spread = size_law_spread(fit, names, Nt, res.mixtures, LEVEL)
    truth = np.asarray(truth_of(res.mixtures), dtype=np.float64)
    observed = truth if rng is None else truth * (1 + noise * rng.standard_normal(truth.shape))
    return {"chosen": f"{res.route} {res.law}" if res.selection is None else res.selection.chosen.label,
            "backtest": res.selection is not None, "n_mixtures": int(len(res.mixtures)),
            "center": center.tolist(), "jackknife": [j.tolist() for j in jack], "candidates": cands,
            "profile": prof, "size_law": None if spread is None else spread.half_width.tolist(),
            "observed": observed.tolist(), "truth": truth.tolist(),
            "lib_lower": iv.lower.tolist(), "lib_upper": iv.upper.tolist(), "method": iv.method}


def size_bend(world: Any, seed: int) -> Callable[[np.ndarray, float, float], float]:
    """The world's loss times 1 - delta log(N / N_b) past N_b (module docstring), from a generator of its own."""
    rng = np.random.default_rng(50_000 + seed)
    sizes = np.unique(world.table.model_params)
    Nb = float(np.exp(rng.uniform(np.log(sizes[0]), np.log(sizes[-1]))))
    delta = float(rng.uniform(0.01, 0.03))
    base = world.loss

    def loss(w: np.ndarray, N: float, S: float) -> float:
        return base(w, N, S) * (1 - delta * np.log(N / Nb)) if N > Nb else base(w, N, S)
    return loss


def world_row(job: tuple[int, int, int, int, bool]) -> dict[str, Any] | str:
    """World ``i`` of seed block ``block`` read at its last step, ``fit_sizes`` sizes (module docstring)."""
    i, block, n_jackknife, fit_sizes, bend = job
    family = SEL.FAMILIES[i % len(SEL.FAMILIES)]
    seed = block * 1000 + i
    world = SEL.make_world(seed, family, fit_sizes)
    loss = world.loss
    label = family
    if bend and i % len(SEL.FAMILIES) >= 2:
        # The same N_b for the 3- and 4-size twins: drawn over the 3-size world's fitted range.
        loss = size_bend(SEL.make_world(seed, family, 3) if fit_sizes != 3 else world, seed)
        label = family.split(" + ")[0] + " + size bend"
    S = float(world.table.steps.max())
    one = world.table.subset(world.table.steps == S)
    rows = [{"run": f"m{m}-N{n:.4g}", "params": n, "step": S,
             **{f"w:{d}": w[j] for j, d in enumerate(SEL.DOMAINS)},
             "loss:a": loss(w, n, S) * (1 + world.noise * np.random.default_rng([seed, m, int(n)]).standard_normal())}
            for m, w in enumerate(world.mixtures) for n in np.unique(one.model_params)]
    table = RunTable(pd.DataFrame(rows))
    rng = np.random.default_rng(30_000 + seed)  # the target run's own noise
    try:
        row = components(table, world.target_params, lambda W: np.array(
            [[loss(w, world.target_params, S)] for w in W]), i, n_jackknife, world.noise, rng)
    except MixlawError as err:
        return f"world {i} of block {block} ({label}): {type(err).__name__}: {str(err).splitlines()[0]}"
    return {"source": "world", "block": block, "world": i, "family": label, "noise": world.noise, **row}


def trainer_row(job: tuple[str, float, int]) -> dict[str, Any] | str:
    """One trainer table at one step, the 3 smallest sizes fitted, the largest predicted
    (bench/pipeline_sizes_only.py's protocol)."""
    path, fraction, n_jackknife = job
    table = read_runs(path)
    names = list(table.evals)
    steps = np.unique(table.steps)
    S = float(steps[np.argmin(np.abs(steps - fraction * steps[-1]))])
    at = table.subset(table.steps == S)
    sizes = np.unique(at.model_params)
    held = float(sizes[-1])
    top = at.subset(at.model_params == held)
    truth = {_key(w): y for w, y in zip(top.weights, top.losses(names), strict=True)}
    try:
        row = components(at.subset(at.model_params < held), held,
                         lambda W: np.array([truth[_key(w)] for w in W]), 0, n_jackknife)
    except MixlawError as err:
        return f"{Path(path).stem} at {S:g}: {err}"
    return {"source": "trainer", "family": Path(path).stem.replace("crossscale_runs_", ""), "S": S, **row}


def _one(job: tuple[Any, ...]) -> dict[str, Any] | str:
    return trainer_row(job) if isinstance(job[0], str) else world_row(job)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- rules: components -> relative half-widths
def jackknife_sigma(row: dict[str, Any]) -> np.ndarray:
    J = np.asarray(row["jackknife"], dtype=np.float64)
    shape = np.asarray(row["center"]).shape
    if J.ndim < 2 or J.shape[0] < 2:
        return np.zeros(shape)
    return np.sqrt((row["n_mixtures"] - 1) / J.shape[0] * np.sum((J - J.mean(axis=0)) ** 2, axis=0))


def _cands(row: dict[str, Any]) -> np.ndarray:
    """Candidates' predictions over the prediction made (n_candidates, n_mix, n_evals); the prediction's own
    ratio 1 is among them (it is one of the candidates)."""
    C = [np.asarray(v, dtype=np.float64) for v in row["candidates"].values()]
    return np.array(C + [np.ones_like(np.asarray(row["center"], dtype=np.float64))])


def _quad(row: dict[str, Any], d: np.ndarray) -> np.ndarray:
    return np.sqrt((Z * jackknife_sigma(row)) ** 2 + np.square(d))


def spread(row: dict[str, Any], how: str) -> np.ndarray:
    C = _cands(row)
    if how == "half-range":
        return (C.max(axis=0) - C.min(axis=0)) / 2
    if how == "std":
        return Z * C.std(axis=0)
    return np.abs(C - 1).max(axis=0)


def prediction_sd(row: dict[str, Any]) -> np.ndarray:
    """t x sigma_hat x sqrt(1 + h*) per (mixture, eval): :func:`mixlaw.pipeline.law_spread.size_law_spread`."""
    if row.get("size_law") is None:
        return np.zeros(np.asarray(row["center"]).shape)
    return np.asarray(row["size_law"], dtype=np.float64)


def profile_range(row: dict[str, Any]) -> np.ndarray:
    c = np.asarray(row["center"], dtype=np.float64)
    lo = np.column_stack([p["range_lo"] for p in row["profile"]])
    hi = np.column_stack([p["range_hi"] for p in row["profile"]])
    return (hi - lo) / 2 / c


def rule_library(row: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(row["lib_lower"]), np.asarray(row["lib_upper"])


RULES: dict[str, Callable[[dict[str, Any]], np.ndarray]] = {
    "jackknife alone (z sigma_jk)": lambda r: Z * jackknife_sigma(r),
    "A: + candidate half-range": lambda r: _quad(r, spread(r, "half-range")),
    "A: + candidate z std": lambda r: _quad(r, spread(r, "std")),
    "A: + candidate max deviation": lambda r: _quad(r, spread(r, "max")),
    "B: + size-law prediction sd": lambda r: _quad(r, prediction_sd(r)),
    "B: + alpha profile range": lambda r: _quad(r, profile_range(r)),
    "A max dev + B prediction sd": lambda r: _quad(r, np.hypot(spread(r, "max"), prediction_sd(r))),
}


def score(rows: list[dict[str, Any]], rule: Callable[[dict[str, Any]], np.ndarray] | None) -> pd.DataFrame:
    out = []
    for r in rows:
        c, y = np.asarray(r["center"], dtype=np.float64), np.asarray(r["observed"], dtype=np.float64)
        if rule is None:  # the library's own bounds
            lo, hi = rule_library(r)
            h = (hi - c) / c
        else:
            h = np.broadcast_to(np.asarray(rule(r), dtype=np.float64), c.shape)
            lo, hi = c * np.maximum(1 - h, 0), c * (1 + h)
        inside = (y >= lo) & (y <= hi)
        out.append({"source": r["source"], "family": r["family"], "covered": int(inside.sum()),
                    "entries": int(inside.size), "half_width": float(np.mean(h))})
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", type=int, default=52)
    ap.add_argument("--seed", type=int, default=1, help="seed block (rules are compared on 1, verified on 0)")
    ap.add_argument("--fit-sizes", type=int, default=3, choices=(3, 4))
    ap.add_argument("--no-size-bend", dest="size_bend", action="store_false",
                    help="keep the misspecified families as read at one step (not misspecified in N)")
    ap.add_argument("--jackknife", type=int, default=8, help="the library's default n_jackknife")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--runs", action="store_true", help="also the trainer runs v3 and v3_12m (out-of-sample check)")
    ap.add_argument("--rows", default=None)
    ap.add_argument("--from-rows", nargs="+", default=None)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    jobs: list[tuple[Any, ...]] = [(i, args.seed, args.jackknife, args.fit_sizes, args.size_bend)
                                   for i in range(args.worlds)]
    if args.runs:
        jobs += [(str(DATA / f"crossscale_runs_{s}.csv"), frac, args.jackknife) for s in ("v3", "v3_12m")
                 for frac in (1.0, 0.5, 0.25)]
    rows, failed = SEL.run_worlds(_one, jobs, workers=args.workers, rows_path=args.rows,
                                  from_rows=list(args.from_rows or []), t0=t0)
    n_bt = sum(bool(r["backtest"]) for r in rows if r["source"] == "world")
    print(f"nominal {LEVEL:.0%} intervals, sizes-only, {args.fit_sizes} fitted sizes: {len(rows)} rows, "
          f"{n_bt} worlds with a backtest ({time.perf_counter() - t0:.0f} s)")
    fams = list(dict.fromkeys(r["family"] for r in rows))
    print(f"{'rule':<32} " + " ".join(f"{f[:15]:>15}" for f in fams) + f" {'all worlds':>15}")
    for name, rule in {"library": None, **RULES}.items():
        df = score(rows, rule)
        by = {f: g for f, g in df.groupby("family", sort=False)}
        w = df[df.source == "world"]
        cells = " ".join(f"{by[f].covered.sum() / by[f].entries.sum():>6.0%} {by[f].half_width.mean():>7.2%} "
                         for f in fams)
        print(f"{name:<32} {cells} {w.covered.sum() / max(w.entries.sum(), 1):>6.0%} "
              f"{w.half_width.mean() if len(w) else float('nan'):>7.2%}")
    tr = [r for r in rows if r["source"] == "trainer"]
    if tr:
        print("trainer runs, covered / entries:")
        for name, rule in {"library": None, **RULES}.items():
            df = score(tr, rule)
            print(f"  {name:<32} {df.covered.sum():>3}/{df.entries.sum():<3} mean half-width "
                  f"{df.half_width.mean():.2%}")
    for line in failed:
        print(f"  failed: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
