"""The rising-tail check's threshold (``mixlaw.pipeline.tails``) on every real multi-scale table.

The threshold is the table's own, min(15 %, max(3 %, 10x its checkpoint noise)) (``tail_threshold`` of
``checkpoint_noise``: the robust spread of the curves' second differences of log loss). For each table: that
noise and threshold; the largest rise of a curve's last checkpoint over its earlier minimum, median over the
evals (the statistic the check reads), and over the noise; the same on any one eval alone (what a table of that
one eval would read) and over that eval's own noise; the curves the check names (should be none); how many
injected spikes it names (should be all); and whether it names a soft rise. Injected (seeded): on 6 curves per
table, each eval's last 2 checkpoints set to 20 / 35 / 50 % above the curve's minimum, the last one alone to
20 %, a divergence over the last 3 checkpoints (+5, +12, +25 %), and a spike of 20 % on the last 2 over noise:
every checkpoint of the curve jittered by 2 % first; each injection on a copy of the table with that one curve
changed, which must be the one curve named. The soft rise (+2, +5, +7.5 % on the last 3 checkpoints; its rise
on the median is printed) is named where it clears the table's threshold, which is reported, not required.

Tables: the trainer's ``bench/data/crossscale_runs*.csv``; Ye et al.'s 5Mix and RedPajama (``--ye``, a clone of
github.com/yegcjs/mixinglaws; both as ``bench/ye_public_runs.py`` reads them, five eval groups, and with the 22
Pile evals raw, as ``bench/ye_user_view.py`` builds them), other run tables (``--ye-raw`` CSVs) and Dai & Zheng's
SlimPajama sweep (``--dz``, a clone of github.com/meiqwq/Explaining-Data-Mixing-Scaling-Laws).

Run: ``python bench/rising_tails.py --ye /tmp/mixinglaws --dz /tmp/dz`` (exit 1 if a normal curve is named, an
injected spike missed, or a real eval read as rising with training).

Last column: the eval that ends above its first checkpoint on the largest share of its curves
(:func:`mixlaw.pipeline.tails.rising_evals`, which names it at ``RISING_SHARE`` = 0.9: an accuracy, not a loss).
Measured 2026-12-06: 0/N on every table but crossscale_runs_1m (code, 7/40 = 0.17) and Ye RedPajama's 22 raw evals
(Ubuntu_IRC, 52/106 = 0.49).

Measured (2026-12-05, after the review fix: second differences pooled without per-curve centring, at least 20 of
them; 20 s on 2 busy cores)::

    table                  curves noise thresh. median rise /noise one eval /noise named spikes  soft rise
    crossscale_runs            40 0.05%   3.0%      -0.13%   -2.7   +0.09%    0.4     0  6 / 6  +5.8% named
    crossscale_runs_1m         40 0.69%   6.9%      +4.02%    5.9  +24.51%   15.6     0  6 / 6  +5.4% not named
    v3                         24 0.04%   3.0%      -0.03%   -0.8   +0.00%    0.0     0  6 / 6  +7.0% named
    v3_0125m                    6 0.04%   3.0%      -0.08%   -2.1   -0.05%   -1.5     0  6 / 6  +7.0% named
    v3_12m                     24 0.04%   3.0%      -0.01%   -0.3   -0.01%   -0.1     0  6 / 6  +7.3% named
    crossscale_runs_v4         24 0.04%   3.0%      -0.06%   -1.4   -0.00%   -0.1     0  6 / 6  +6.9% named
    Ye 5Mix (groups)          106 0.36%   3.6%      -0.09%   -0.2   +0.27%    0.7     0  6 / 6  +5.4% named
    Ye RedPajama (groups)     106 0.19%   3.0%      -0.16%   -0.8   +0.18%    0.9     0  6 / 6  +5.4% named
    Ye 5Mix (22 raw evals)    106 0.34%   3.4%      -0.16%   -0.5   +9.15%    4.3     0  6 / 6  +5.4% named
    Ye RedPajama (22 raw)     106 0.22%   3.0%      +0.52%    2.3   +4.88%    5.9     0  6 / 6  +5.4% named
    DZ SlimPajama             224 0.51%   5.1%      +0.82%    1.6   +2.91%    4.0     0  6 / 6  +5.4% named

The largest normal rise is 5.9x its table's noise, on the median (crossscale_runs_1m) and on one eval of real runs
(the Pile's Ubuntu_IRC set in RedPajama): 10x clears both by 1.7x. The one-eval 15.6x (crossscale_runs_1m: loss:math
and loss:code of its 57k-234k-parameter runs, +24.5 %) is a tiny model overfitting a small domain late, which a
table of that eval alone would have named at the fixed 15 % too; the median over its 4 evals stays at 4.0 %.
Before (one fixed 15 %, 2026-12-05 morning): the same spikes named, no normal curve named, every soft rise
unnamed (v3's at 190x its noise). On crossscale_runs_1m (raw weights, 1.7 % checkpoint noise on one eval) the
soft rise stays under the table's 6.9 %. Pure noise on short curves (2 % on 3 curves of 6 checkpoints, 200 seeded
tables): named in 0 (the first version, centring each curve's 3 differences, read half the noise and named 16).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from _common import load_bench

from mixlaw import RunTable
from mixlaw.pipeline.grouping import _mixture_ids
from mixlaw.pipeline.tails import (
    NOISE_MULT,
    RISE_FLOOR,
    RISE_THRESHOLD,
    RISING_SHARE,
    rising_evals,
    rising_tails,
    tail_threshold,
)

DATA = Path(__file__).with_name("data")


def tables(args: argparse.Namespace) -> list[tuple[str, pd.DataFrame, str]]:
    out = [(f.stem.removeprefix("crossscale_runs_") if "v3" in f.stem else f.stem, pd.read_csv(f), "step")
           for f in sorted(DATA.glob("crossscale_runs*.csv"))]
    if args.ye:
        ye, user = load_bench("ye_public_runs"), load_bench("ye_user_view")
        out += [(f"Ye {s} (groups)", ye.read_set(Path(args.ye), s), "step") for s in ("5Mix", "RedPajama")]
        out += [(f"Ye {s} (22 raw evals)", user.user_table(Path(args.ye), s), "step") for s in ("5Mix", "RedPajama")]
    for f in (args.ye_raw or "").split(",") if args.ye_raw else []:
        out.append((f"{Path(f).stem} (raw evals)", pd.read_csv(f, dtype={"run": str}), "step"))
    if args.dz:
        out.append(("DZ SlimPajama", load_bench("dz_public_runs").read_table(Path(args.dz)), "tokens"))
    return out


def curve_rows(d: pd.DataFrame, axis: str) -> list[np.ndarray]:
    t = RunTable(d)
    _, mix = _mixture_ids(t.weights)
    keys = pd.Series(range(len(d))).groupby([mix, d["params"].to_numpy()]).apply(list)
    return [np.asarray(r)[np.argsort(d[axis].to_numpy()[r], kind="stable")] for r in keys
            if d[axis].iloc[r].nunique() >= 4]


def one_eval_stats(t: RunTable, axis: str) -> tuple[float, float]:
    """On any single eval (what a table of that one eval would read): the largest rise of a last checkpoint over
    its earlier minimum, and the largest rise in units of that eval's own checkpoint noise (what such a table
    compares with 10x its noise)."""
    top, ratio = -np.inf, -np.inf
    for e in t.evals:
        every = rising_tails(t, axis, [e], threshold=-np.inf)
        if every:
            top = max(top, every[0].rise)  # largest rise first
            if every[0].noise:
                ratio = max(ratio, every[0].rise / every[0].noise)
    return top, ratio


def inject(d: pd.DataFrame, rows: np.ndarray, axis: str, kind: str, rng: np.random.Generator) -> pd.DataFrame:
    d = d.copy()
    losses = [c for c in d if c.startswith("loss:")]
    y = d.loc[rows, losses].to_numpy().copy()
    if kind == "noisy":
        y = y * (1 + 0.02 * rng.standard_normal(y.shape))
    low = y.min(axis=0)
    tail = {"+20% x2": [1.2, 1.2], "+35% x2": [1.35, 1.35], "+50% x2": [1.5, 1.5], "+20% last": [1.2],
            "diverging": [1.05, 1.12, 1.25], "noisy": [1.2, 1.2], "soft": [1.02, 1.05, 1.075]}[kind]
    for i, f in enumerate(tail[::-1]):
        y[-1 - i] = low * f
    d.loc[rows, losses] = y
    return d


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ye", help="clone of github.com/yegcjs/mixinglaws")
    p.add_argument("--ye-raw", help="comma-separated run tables of Ye's sets with the 22 Pile evals")
    p.add_argument("--dz", help="clone of github.com/meiqwq/Explaining-Data-Mixing-Scaling-Laws")
    args = p.parse_args()
    rng = np.random.default_rng(0)
    kinds = ["+20% x2", "+35% x2", "+50% x2", "+20% last", "diverging", "noisy"]
    print(f"threshold: min({RISE_THRESHOLD:.0%}, max({RISE_FLOOR:.0%}, {NOISE_MULT:g} x the table's checkpoint noise))"
          f"\n{'table':<26}{'curves':>7}{'noise':>8}{'threshold':>10}{'median rise':>13}{'/ noise':>8}{'one eval':>10}"
          f"{'/ noise':>8}{'named':>7}{'spikes named':>14}   soft rise (+2, +5, +7.5 %)   eval rising most (share)")
    failed = False
    for name, d, axis in tables(args):
        t = RunTable(d.reset_index(drop=True))
        d = t.frame.reset_index(drop=True)
        evals = t.evals
        every = rising_tails(t, axis, evals, threshold=-np.inf)
        named = rising_tails(t, axis, evals)
        noise = every[0].noise
        thr = tail_threshold(noise)
        curves = curve_rows(d, axis)
        hit = 0
        picks = rng.choice(len(curves), size=len(kinds) + 1, replace=len(curves) <= len(kinds))
        for kind, c in zip(kinds, picks, strict=False):
            rows = curves[c]
            found = rising_tails(RunTable(inject(d, rows, axis, kind, rng)), axis, evals)
            ok = len(found) == 1 and found[0].runs[0] in set(d["run"].iloc[rows])
            hit += ok
            if not ok:
                print(f"    missed {kind} on {d['run'].iloc[rows[0]]}: named {[f.runs for f in found]}")
        # A soft rise is named where it clears the table's threshold (a noisy table's may be higher); reported.
        soft = RunTable(inject(d, curves[picks[-1]], axis, "soft", rng))
        rise = max(e.rise for e in rising_tails(soft, axis, evals, threshold=-np.inf)
                   if e.runs[0] in set(d["run"].iloc[curves[picks[-1]]]))
        found = rising_tails(soft, axis, evals)
        said = "named" if len(found) == 1 and found[0].rise == rise else f"not named ({len(found)} curves)"
        # The share of its curves an eval ends above its first checkpoint on (rising_evals at share 0 lists every
        # eval): a real loss is never named at RISING_SHARE, where the pipeline reads it as an accuracy.
        up = max(rising_evals(t, axis, evals, share=0.0)[0], key=lambda e: e[1] / e[2])
        failed |= bool(named) or hit < len(kinds) or up[1] >= RISING_SHARE * up[2]
        top = max(e.rise for e in every)
        one_top, one_ratio = one_eval_stats(t, axis)
        print(f"{name:<26}{len(every):>7}{noise:>8.2%}{thr:>10.1%}{top:>+13.2%}{top / noise:>8.1f}"
              f"{one_top:>+10.2%}{one_ratio:>8.1f}{len(named):>7}{hit:>10} / {len(kinds)}"
              f"   {rise:+.1%} {said}   {up[0]} ({up[1]}/{up[2]} = {up[1] / up[2]:.2f})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
