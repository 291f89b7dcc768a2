"""Ye et al.'s public runs as a user has them: every checkpoint, all 22 Pile evals, runs named by mixture.

``bench/ye_public_runs.py`` reads github.com/yegcjs/mixinglaws the way the paper's protocol does (steps 10k-30k,
the evals in five groups). A user who exports those runs keeps every checkpoint and every eval. Then the sizes end
at different steps: 70M and 160M are trained to 100k steps, 305M and 410M to 30k (RedPajama and 5Mix alike), and
the run name is the mixture, the same at every size. This script builds that table (``run`` = the mixture's shares,
``params``, ``step``, ``w:d0..``, ``loss:<eval>`` for the 22 evals), fits ``fit_pipeline`` on 70M-410M with each
route and law and with ``auto`` (the default), and scores the 1B runs that reach 100k steps (RedPajama 2, 5Mix 1):
MRE over (run, eval), auto's choice and backtest, and its 80 % interval coverage.

Run: ``git clone https://github.com/yegcjs/mixinglaws /tmp/mixinglaws`` then
``python bench/ye_user_view.py --repo /tmp/mixinglaws`` (46 s on 2 busy cores); ``--rev <git rev>`` runs the same
on that revision's ``src`` (back to back, in a child process).

Measured (2026-12-04, 2 busy cores; this tree, and b46c279, before the backtest held the largest size out at its
own last step):

    set        nested ye-exp  nested ye-pow  nested add-ens  direct ye-exp  auto (choice; 80 % intervals hold)
    RedPajama  3.45 %         3.90 %         too few runs    2.10 %         2.10 % (direct; 42/44, half-width 6.1 %)
      b46c279                                                               3.45 % (nested ye-exp: "no backtest
                                                                            possible (nothing to hold out)";
                                                                            10/44, half-width 2.2 %)
    5Mix       2.70 %         2.50 %         2.61 %         4.22 %         2.50 % (nested ye-pow; 21/22, 6.3 %)
      b46c279                                                               2.70 % (nested ye-exp; 12/22, 2.5 %)

``--blend`` (2026-12-05): also auto's pick and its MRE under each model-averaging rule of
``bench/pipeline_selection.py`` (a blend of the best nested and direct candidates; not adopted: the
measurements, on this set too, are in that bench's docstring).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

SIZES = {"70M": 70e6, "160M": 160e6, "305M": 305e6, "410M": 410e6, "1B": 1e9}
N_DOMAINS = {"RedPajama": 7, "5Mix": 5}
FIT_UP_TO, TARGET_PARAMS, TARGET_STEPS = 410e6, 1e9, 100_000
CANDIDATES = [("nested", "ye-exp"), ("nested", "ye-pow"), ("nested", "additive-ens"), ("direct", "ye-exp"),
              ("auto", "auto")]


def user_table(repo: Path, name: str) -> pd.DataFrame:
    """One row per (size, run, step) with every eval the line files give; rows missing an eval are left out."""
    cells: dict[tuple[str, str, int], dict[str, object]] = defaultdict(dict)
    for size in SIZES:
        path = repo / "data" / name / f"{size}.txt"
        for i, line in enumerate(path.read_text().splitlines(), 1):
            try:
                ckpt, evalfile, loss = line.split("\t")
                run_dir, step = ckpt.rstrip("/").rsplit("/", 1)
                shares = run_dir.rsplit("/", 1)[1].split("_")[-1].split("-")[-N_DOMAINS[name]:]
            except ValueError as e:
                sys.exit(f"{path}:{i}: not '<checkpoint dir>/<step>\\t<eval file>\\t<loss>' ({e})")
            ev = evalfile.rsplit("/", 1)[1].removeprefix("pythia-pile.valid.").removesuffix(".bin")
            cell = cells[(size, "-".join(shares), int(step))]
            cell[ev], cell["_w"] = float(loss), [float(x) for x in shares]
    evals = sorted({e for c in cells.values() for e in c if e != "_w"})
    rows = []
    for (size, run, step), cell in cells.items():
        if not all(e in cell for e in evals):
            continue
        w = np.asarray(cell["_w"]) / np.sum(cell["_w"])
        rows.append({"run": run, "params": SIZES[size], "step": step, **{f"w:d{j}": x for j, x in enumerate(w)},
                     **{f"loss:{e}": cell[e] for e in evals}})
    return pd.DataFrame(rows)


def run_set(repo: Path, name: str, blend: bool = False) -> None:
    from mixlaw import RunTable
    from mixlaw.pipeline import fit_pipeline

    table = user_table(repo, name)
    wcols = [c for c in table if c.startswith("w:")]
    lcols = [c for c in table if c.startswith("loss:")]
    fit = RunTable(table[table.params <= FIT_UP_TO].reset_index(drop=True))
    truth = table[(table.params == TARGET_PARAMS) & (table.step == TARGET_STEPS)]
    W, Y = truth[wcols].to_numpy(float), truth[lcols].to_numpy(float)
    ends = table.groupby("params").step.max().to_dict()
    print(f"{name}: fit {len(fit.frame)} rows (last step per size {ends}); {len(truth)} 1B run(s) x {len(lcols)} "
          f"evals at {TARGET_STEPS}")
    for route, law in CANDIDATES:
        t0 = time.perf_counter()
        try:
            res = fit_pipeline(fit, target_params=TARGET_PARAMS, target_steps=TARGET_STEPS, route=route, law=law,
                               intervals=route == "auto", fit_all=blend and route == "auto")
        except Exception as e:  # a candidate that cannot fit here says why
            print(f"  {route:<7}{law:<14}{type(e).__name__}: {str(e)[:100]}")
            continue
        rel = res.predict(W) / Y - 1
        line = f"  {route:<7}{law:<14}MRE {100 * np.mean(np.abs(rel)):5.2f} %  signed {100 * rel.mean():+5.2f} %"
        if route == "auto":
            sel = res.selection
            line += ("  no backtest (" + "; ".join(w for w in res.warnings if "backtest" in w)[:120] + ")"
                     if sel is None else f"  chose {sel.chosen.label}, estimate {100 * sel.error_estimate:.2f} %")
            iv = res.interval(W)
            if iv is not None:
                ok = (Y >= iv[0]) & (Y <= iv[1])
                half = 100 * np.mean((iv[1] - iv[0]) / 2 / res.predict(W))
                line += f"; 80 % intervals hold {int(ok.sum())}/{ok.size}, half-width {half:.1f} %"
        print(line + f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
        if blend and route == "auto" and res.selection is not None:
            from pipeline_selection import blend_real, print_blend_real
            print_blend_real(blend_real(res.selection, res.alternatives,
                                        lambda r: float(np.mean(np.abs(r.predict(W) / Y - 1)))), "MRE at 1B, 100k")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, required=True, help="a clone of github.com/yegcjs/mixinglaws")
    ap.add_argument("--sets", default="RedPajama,5Mix")
    ap.add_argument("--rev", default=None, help="run on this git revision's src instead (a child process)")
    ap.add_argument("--blend", action="store_true",
                    help="also auto's picks under pipeline_selection.py's blend rules (BLEND_RULES), and their MRE")
    args = ap.parse_args()
    if args.rev is not None:
        from _common import extract_src

        with tempfile.TemporaryDirectory() as tmp:
            src = extract_src(args.rev, Path(tmp))
            env = {**os.environ, "PYTHONPATH": str(src)}
            cmd = [sys.executable, __file__, "--repo", str(args.repo), "--sets", args.sets]
            sys.exit(subprocess.run(cmd, env=env, check=False).returncode)
    # Predictions outside the fitted shares or scales warn at every call; the table is what this bench reports.
    warnings.simplefilter("ignore")
    for name in args.sets.split(","):
        run_set(args.repo, name, args.blend)


if __name__ == "__main__":
    main()
