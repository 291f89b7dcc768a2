"""Issue 9: rank the pipeline's backtest candidates by the scatter of their residuals about each split's own mean
signed error, or by their plain |residuals|? Re-scored from ``--rows`` files, without refitting.

The rows come from ``bench/pipeline_selection.py --rows`` (synthetic worlds; each candidate's signed residuals per
split, ``split_residuals``, and its error at the target) and ``bench/route_growth.py --rows`` (the real sets: Ye et
al.'s RedPajama and 5Mix, Dai & Zheng's SlimPajama, the trainer's v3, v3_12m, v3 + 0.0125M and v4). Both rules are
the one-standard-error rule (:func:`mixlaw.pipeline.auto.choose_simplest_within_noise`) on per-entry errors averaged
over the splits; they differ in the per-entry error of a split with residuals r:

- ``plain``: |r_e| (the library's rule until 2026-12-06);
- ``centred``: |r_e - mean(r)| (the library's rule since: :attr:`mixlaw.pipeline.selection.Candidate.entry_errors`).

Both are computed here from the signed residuals, so the result does not depend on which rule the library that
wrote the rows used. For each rule: how often its pick is within 1.2x of the best candidate at the target, and the
mean and geometric mean of pick / best.

Measured 2026-12-06 (rows written by main 068ad8c-6956ae4, the plain rule; ``--jackknife 0 --workers 1``; the centred
rule was chosen on seed block 1 and the real rows, then checked on blocks 0, 2, 3, 4 and 5, run after the choice)::

    rows                      plain: within 1.2x  mean  geo     centred: within 1.2x  mean  geo
    block 1 (choice)                77 %   1.261  1.172               85 %   1.106  1.084
    block 0                         85 %   1.516  1.196               85 %   1.195  1.117
    block 2                         85 %   1.186  1.114               79 %   1.164  1.113
    block 3                         79 %   1.249  1.154               85 %   1.130  1.097
    block 4                         81 %   1.395  1.212               83 %   1.366  1.203
    block 5                         77 %   1.287  1.177               83 %   1.132  1.096
    real sets (7)                   43 %   1.661  1.491               71 %   1.288  1.207

Mean target MRE of the pick, plain / centred: block 1 0.692 / 0.648 %, blocks 0, 2, 3, 4, 5 0.660 / 0.669,
0.710 / 0.724, 0.717 / 0.681, 0.692 / 0.707, 0.726 / 0.675 % (mean 0.701 / 0.691 %): on the synthetic worlds the
two rules are close in MRE, the centred one avoids more of the bad picks (the mean ratio). On the real sets the
picks change on three: RedPajama nested ye-pow 2.56 % -> direct 0.79 % (the best), v4 nested
ye-exp 2.61 % -> direct 1.82 % (the best), v3_12m nested ye-exp 3.38 % (the best) -> direct 3.59 %. Rules tried
beside it on the same rows (not adopted): each candidate's residual standard deviation alone; the mean over all
splits removed instead of each split's own; half of each split's mean removed; the bias every candidate shares
(the smallest same-signed split mean) removed: within 1.2x on blocks 1 / 0 / 2 / 3 / 4 and the real rows
77-87 %, and on the real rows 43-71 %.

Usage: python bench/centred_choice.py ROWS.jsonl [ROWS.jsonl ...]
"""

from __future__ import annotations

import json
import sys

import numpy as np

from mixlaw.pipeline.auto import Candidate, choose_simplest_within_noise

RULES = ("plain", "centred")


def _errors(split_residuals: dict[str, list[float]], rule: str) -> np.ndarray:
    """Per-entry error averaged over the splits (main, and each part alone that ran), as
    :attr:`~mixlaw.pipeline.selection.Candidate.entry_errors` computes it, centred or not."""
    parts = {k: np.asarray(v, dtype=float) for k, v in split_residuals.items() if k in ("time", "size")}
    c = Candidate("", "", residuals=np.asarray(split_residuals["main"], dtype=float), part_residuals=parts,
                  centre=rule == "centred")
    return c.entry_errors  # type: ignore[return-value]


def picks(row: dict) -> tuple[dict[str, str], dict[str, float]] | None:
    """Each rule's pick among the row's candidates that have a backtest and a target error, and those errors."""
    ok = [(lab, c) for lab, c in row["candidates"].items()
          if c.get("backtest") is not None and c.get("target") is not None and c.get("split_residuals")]
    if len(ok) < 2:
        return None
    out = {}
    for rule in RULES:
        cs = []
        for lab, c in ok:
            route, _, law = lab.partition(" ")
            e = _errors(c["split_residuals"], rule)
            cs.append(Candidate(route, law, mre=float(np.mean(e)), residuals=e, complexity=tuple(c["complexity"]),
                                centre=False))
        out[rule] = ok[cs.index(choose_simplest_within_noise(cs)[0])][0]
    return out, {lab: c["target"] for lab, c in ok}


def main(paths: list[str]) -> None:
    print(f"{'rows':<28}" + "".join(f"{r + ': within 1.2x  mean  geo':>34}" for r in RULES))
    for path in paths:
        ratios: dict[str, list[float]] = {r: [] for r in RULES}
        mre: dict[str, list[float]] = {r: [] for r in RULES}
        for line in open(path):
            row = json.loads(line) if line.strip() else None
            got = picks(row) if row and isinstance(row.get("candidates"), dict) else None
            if got is None:
                continue
            chosen, target = got
            best = min(target.values())
            for rule in RULES:
                ratios[rule].append(target[chosen[rule]] / best)
                mre[rule].append(target[chosen[rule]])
            if row.get("name"):
                said = ", ".join(f"{r} {chosen[r]} {100 * target[chosen[r]]:.2f} %" for r in RULES)
                print(f"  {row['name']}: {said} (best {100 * best:.2f} %)")
        cells = []
        for rule in RULES:
            x = np.array(ratios[rule])
            cells.append(f"{np.mean(x <= 1.2):>20.0%} {x.mean():>6.3f} {np.exp(np.log(x).mean()):>6.3f}")
        print(f"{path[-28:]:<28}" + "".join(f"{c:>34}" for c in cells)
              + "   mean target MRE " + " / ".join(f"{100 * np.mean(mre[r]):.3f}" for r in RULES) + " %")


if __name__ == "__main__":
    main(sys.argv[1:])
