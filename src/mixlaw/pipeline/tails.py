r"""Rising tails: loss curves whose last checkpoint lies well above the curve's earlier minimum.

A run whose loss spikes or diverges late, without reaching inf (which the run table refuses), still enters
the step law :math:`L(S) = E + B/S^{\beta}`, a curve that can only fall: the fit bends towards the rise and
the extrapolation with it, silently. :func:`rising_tails` finds such curves before anything is fitted, and
:func:`rising_tail_line` names them in one warning line; the fits are left as they are.

A curve is one mixture at one model size, as the routes group rows (several rows at one step, e.g. seeds: their
mean). Its rise is read on the median over the fitted evals of each eval's log loss relative to the curve's first
checkpoint: a divergence lifts every eval, while one small eval's noisy plateau, or its overfitting on a repeated
domain, does not move the median. A curve is named when its last checkpoint lies more than the table's threshold
above the lowest of its earlier ones:

.. math:: \tau = \min\bigl(15\,\%,\; \max(3\,\%,\; 10\,\hat\sigma)\bigr),

where :math:`\hat\sigma` is the table's checkpoint noise (:func:`checkpoint_noise`). Why not one fixed
threshold: a normal curve's rise is the extreme of its checkpoints' noise, which differs 15-fold between the
tables at hand (0.04 % on the trainer's runs, 0.6 % on its first tiny models), so a fixed 15 % that clears the
noisiest left a +7.5 % rise unnamed on a quiet table, though it was 190x that table's noise.

An eval that rises from the start is another matter (:func:`rising_evals`): its last checkpoint lies above its
first on (nearly) every curve, as an accuracy's does. The step law fits it as a falling loss that has flattened,
and the size law likewise, so the pipeline returns losses for a metric that is not one, without an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data import RunTable
from ..errors import InputError
from ..evals import TOTAL_NAME, add_weighted_total
from .grouping import _mixture_ids

#: The threshold's ceiling: a curve's last checkpoint this far (relative) above its earlier minimum is named on any
#: table. Measured on every real multi-scale table at hand (``python bench/rising_tails.py``): the largest rise of a
#: normal curve, median over evals, is 4.0 % (the trainer's first tiny models, which overfit their small domains
#: late); on one eval alone 9.2 % on real runs (Ye's 5Mix at 305M, the Pile's Ubuntu_IRC set raw: a noisy plateau),
#: which a table of that one eval would read as its median. 15 % clears that by 1.6x and stays under a spike's
#: 20-50 %. (The trainer's first tiny models rise 24.5 % on one eval, loss:math, by overfitting late: named on a
#: table of that eval alone, at this ceiling as before.)
RISE_THRESHOLD = 0.15
#: The threshold's floor (relative rise), so that a near noise-free table does not name a rise of a percent: 3 %
#: is 3.7x the largest normal rise outside the trainer's tiny models (0.8 %, Dai & Zheng's 224 curves).
RISE_FLOOR = 0.03
#: Between floor and ceiling, the threshold is this many times the table's checkpoint noise. The largest normal
#: rise on the tables at hand is 5.9x their noise, on the median (the trainer's first tiny models) and on a single
#: eval of real runs (the Pile's Ubuntu_IRC set in Ye's RedPajama runs), so 10x clears it by 1.7x, as the ceiling
#: clears its case. (One eval of the tiny models, overfitting late, reaches 15.6x: see RISE_THRESHOLD.)
NOISE_MULT = 10.0
#: Second differences a curve needs before they enter the checkpoint noise (:func:`checkpoint_noise`).
MIN_DIFFS = 3
#: Second differences the whole table needs before its noise is read; with fewer the ceiling stands. A MAD of 9
#: values (3 curves of 6 checkpoints) came out up to 2x low, and pure 2 % noise was then named in 2 of 200 tables.
MIN_POOLED = 20

#: Share of an eval's curves that end above their first checkpoint for :func:`rising_evals` to read the eval as rising
#: with training (an accuracy, or a loss that only grows). On every real multi-scale table at hand
#: (``python bench/rising_tails.py``, last column) the largest share is 0.49 (the Pile's Ubuntu_IRC set in Ye et al.'s
#: RedPajama runs, whose curves start at 10k steps, on their floor), then 0.175 (7 of 40 curves: loss:code of the
#: trainer's first tiny models, overfitting late); every other eval, 0. 0.9 clears 0.49 by 1.8x, and a metric that
#: rises on nine curves in ten is not one the step law can follow, whatever its name.
RISING_SHARE = 0.9
#: Curves (of >= 3 checkpoints) an eval needs before :func:`rising_evals` reads it: on one or two the share is chance.
MIN_RISING_CURVES = 3


@dataclass(frozen=True)
class RisingTail:
    """One curve whose last checkpoint lies :attr:`rise` above its earlier minimum.

    Attributes
    ----------
    runs : tuple of str
        Run ids of the curve's rows after the minimum (one, unless seeds share the mixture and size).
    model_params : float
        The curve's model size.
    min_time : float
        Step (or token count) of the curve's lowest checkpoint before the last.
    first_time, last_time : float
        The first checkpoint after the minimum (where the rise starts) and the last one.
    rise : float
        Last checkpoint's loss over the minimum's, minus 1 (median over the evals).
    n_rows : int
        Rows of the table after the minimum: the ones to leave out to fit the curve up to its minimum.
    threshold : float
        The threshold the curve was found at (:func:`rising_tails`' ``threshold``), which the warning line states.
    noise : float or None
        The table's checkpoint noise (:func:`checkpoint_noise`), which the line states beside the threshold.
    """

    runs: tuple[str, ...]
    model_params: float
    min_time: float
    first_time: float
    last_time: float
    rise: float
    n_rows: int
    threshold: float = RISE_THRESHOLD
    noise: float | None = None


def checkpoint_noise(curves: list[np.ndarray]) -> float | None:
    """The checkpoint noise :math:`\\hat\\sigma` of a table's curves (each: the median-eval log loss per
    checkpoint, in step order), as a relative loss.

    Second differences of a curve's log loss cancel its trend to first order, and of independent noises each
    has variance :math:`6\\sigma^2`; pooled over the curves, :math:`\\hat\\sigma = 1.4826\\,\\mathrm{MAD}
    /\\sqrt 6` about 0 (robust to the spikes this looks for). Not centred per curve: on curves of 6 checkpoints
    (3 differences) taking each curve's median sets a third of the values to 0 and halved the estimate (0.52
    sigma on pure noise; uncentred 1.02). The last checkpoint is left out (it is what is tested). A curve's
    curvature (few, log-spaced checkpoints) only raises the estimate, and with it the threshold. None when fewer
    than :data:`MIN_POOLED` second differences come from curves with :data:`MIN_DIFFS` or more.
    """
    pooled = []
    for c in curves:
        d2 = np.diff(c[:-1], 2)
        if d2.size >= MIN_DIFFS:
            pooled.append(d2)
    values = np.concatenate(pooled) if pooled else np.zeros(0)
    if values.size < MIN_POOLED:
        return None
    return float(1.4826 * np.median(np.abs(values)) / np.sqrt(6.0))


def tail_threshold(noise: float | None) -> float:
    """The rise above which a curve is named: :data:`RISE_THRESHOLD` when the noise is unknown, else 10x the
    noise within [:data:`RISE_FLOOR`, :data:`RISE_THRESHOLD`] (module docstring)."""
    if noise is None:
        return RISE_THRESHOLD
    return float(min(RISE_THRESHOLD, max(RISE_FLOOR, NOISE_MULT * noise)))


def rising_tails(table: RunTable, axis: str, targets: list[str],
                 threshold: float | None = None) -> list[RisingTail]:
    """The curves of ``table`` (mixture x model size, over the ``axis`` column: "step" or "tokens") whose last
    checkpoint lies more than ``threshold`` above their earlier minimum, median over the ``targets`` evals
    (module docstring); largest rise first. ``threshold`` None: the table's own (:func:`tail_threshold` of its
    :func:`checkpoint_noise`). Rows at ``axis`` <= 0 are left out, as the routes leave them out."""
    T = table.steps if axis == "step" else table.tokens
    N = table.model_params
    if T is None or N is None or not targets:
        return []
    keep = T > 0
    _, mix = _mixture_ids(table.weights)
    frame = pd.DataFrame(np.log(table.losses(targets)))[keep]
    frame["_t"] = T[keep]
    run_ids = table.runs
    curves = []
    for (_, size), rows in frame.groupby([mix[keep], N[keep]], sort=False):
        per_t = rows.groupby("_t").mean().sort_index()  # seeds at one checkpoint: their mean
        if len(per_t) < 2:
            continue
        logs = per_t.to_numpy()
        curves.append((size, rows, per_t.index.to_numpy(), np.median(logs - logs[0], axis=1)))
    noise = checkpoint_noise([c[3] for c in curves])
    if threshold is None:
        threshold = tail_threshold(noise)
    out = []
    for size, rows, times, rel in curves:  # rel (n_checkpoints,): each eval from its first checkpoint
        i_min = int(np.argmin(rel[:-1]))
        rise = float(np.expm1(rel[-1] - rel[i_min]))
        if rise <= threshold:
            continue
        after = rows["_t"].to_numpy() > times[i_min]
        out.append(RisingTail(tuple(dict.fromkeys(run_ids[rows.index.to_numpy()[after]].tolist())), float(size),
                              float(times[i_min]), float(times[i_min + 1]), float(times[-1]), rise,
                              int(after.sum()), threshold, noise))
    return sorted(out, key=lambda t: -t.rise)


def rising_tail_line(tails: list[RisingTail], axis: str, path: str | None, limit: int = 3) -> str | None:
    """One warning line naming ``tails`` (the first ``limit``, then a count) and the rows to leave out; None when
    there are none. The threshold it states is the one the tails were found at."""
    if not tails:
        return None
    unit = "step" if axis == "step" else "tokens"

    def one(t: RisingTail) -> str:
        run = t.runs[0] + (f" (+{len(t.runs) - 1} seed run(s))" if len(t.runs) > 1 else "")
        return (f"{run} at N={t.model_params:g} from {unit} {t.first_time:g}: {t.rise:+.1%} at {unit} "
                f"{t.last_time:g} over its minimum at {unit} {t.min_time:g}")

    shown = "; ".join(one(t) for t in tails[:limit])
    more = f"; and {len(tails) - limit} more" if len(tails) > limit else ""
    n_rows = sum(t.n_rows for t in tails)
    first = tails[0]
    noise = "" if first.noise is None else f"; the table's checkpoint noise is {100 * first.noise:.2g}%"
    # Rounded, a table's own threshold misled: 4.6 % printed "more than 5 %" above a curve named at +4.8 %.
    thr = f"{first.threshold:.0%}" if round(first.threshold * 100, 6).is_integer() else f"{first.threshold:.1%}"
    return (f"{len(tails)} loss curve(s) rise at the end, more than {thr} above their earlier "
            f"minimum (median over the evals{noise}; a loss spike or divergence?): {shown}{more}. The step law cannot "
            f"follow a rise and bends the extrapolation: leave out each curve's rows after its minimum ({n_rows} "
            f"row(s) of {path or 'the table'}, e.g. run {first.runs[0]!r} at params {first.model_params:g} with "
            f"{unit} > {first.min_time:g}), or the run")


def rising_evals(table: RunTable, axis: str, targets: list[str],
                 share: float = RISING_SHARE) -> tuple[list[tuple[str, int, int]], str]:
    """The evals of ``targets`` that rise with training: on at least ``share`` of their curves (mixture x model
    size over ``axis``, seeds at one checkpoint averaged, :data:`MIN_RISING_CURVES` or more curves of >= 3
    checkpoints) the last checkpoint's value lies above the first's. A table with too few such curves (each run's
    final loss, at several sizes) is read over model size instead: mixture x ``axis`` value, largest size against
    smallest. Returns each such eval as (eval, rising curves, curves), in ``targets``' order, and the column the
    curves ran over (``axis`` or "params"). Rows at ``axis`` <= 0 are left out, as the routes leave them out."""
    T = table.steps if axis == "step" else table.tokens
    N = table.model_params
    if T is None or N is None or not targets:
        return [], axis
    keep = T > 0
    _, mix = _mixture_ids(table.weights)
    values = table.losses(targets)[keep]
    for over, along, group in ((axis, T[keep], N[keep]), ("params", N[keep], T[keep])):
        # Columns by position, not by eval name: an eval named '_t' (loss:_t) was overwritten by the key below and
        # the pipeline stopped on zip()'s ValueError.
        frame = pd.DataFrame(values)
        frame["_t"] = along
        ends = []
        for _, rows in frame.groupby([mix[keep], group], sort=False):
            per_t = rows.groupby("_t").mean().sort_index()
            if len(per_t) >= 3:
                ends.append(per_t.iloc[-1].to_numpy() > per_t.iloc[0].to_numpy())
        if len(ends) >= MIN_RISING_CURVES:
            up = np.sum(ends, axis=0)
            n = len(ends)
            return [(name, int(k), n) for name, k in zip(targets, up, strict=True) if k >= share * n], over
    return [], axis


def _rising_head(rising: list[tuple[str, int, int]], over: str, inside: str = "") -> str:
    """What :func:`rising_evals` found, as a line's first clause: "eval(s) ['acc']{inside} rise with training: the
    last checkpoint lies above the first (acc on 24 of 24 curves)"."""
    where = ("the largest model size lies above the smallest" if over == "params"
             else "the last checkpoint lies above the first")
    counts = "; ".join(f"{name} on {k} of {n} curves" for name, k, n in rising)
    return (f"eval(s) {[name for name, _, _ in rising]}{inside} rise with "
            f"{'model size' if over == 'params' else 'training'}: {where} ({counts})")


def rising_evals_line(rising: list[tuple[str, int, int]], every: bool, over: str) -> str:
    """One sentence for :func:`rising_evals`' evals (curves over ``over``: "step", "tokens" or "params"): ``every``
    True when they are all the evals to fit (the pipeline's InputError: nothing left that it can extrapolate), else
    the warning that names them to leave out."""
    unit = {"step": "steps", "tokens": "tokens"}.get(over, "training")
    head = (f"{_rising_head(rising, over)}. "
            f"The step and size laws, L(S) = E + B/S^beta and L(N) = E + A/N^alpha, fit losses that fall with "
            f"{unit} and model size: a higher-is-better metric (accuracy, score) gives back a loss it is not. ")
    if every:
        return head + ("Give a loss instead (1 - accuracy, or -log(accuracy)); `mixlaw optimize --maximize` "
                       "(maximize=True) takes accuracies at one scale")
    return head + ("Fitted as they are; leave them out with --target (targets=) the other evals, or give a loss "
                   "for them (1 - accuracy, or -log(accuracy))")


def rising_members_line(rising: list[tuple[str, int, int]], combined: dict[str, list[str]], over: str) -> str:
    """One sentence for the evals that rise inside a combined eval (an ``--eval-group``, a weighted total) that is
    fitted in their place: ``combined`` maps each to the combined evals it is part of."""
    inside = sorted({c for name, _, _ in rising for c in combined[name]})
    return (f"{_rising_head(rising, over, f' in {inside}')}. A weighted mean of losses "
            "with a higher-is-better metric (accuracy, score) in it is not a loss that falls as the step and size "
            "laws assume; fitted as it is: leave them out of the group or total (--eval-group, --objective "
            "weights=; eval_groups=, objective=), or give a loss for them (1 - accuracy, or -log(accuracy))")


def rising_evals_checked(table: RunTable, axis: str, targets: list[str]) -> str | None:
    """:func:`rising_evals` as the pipeline applies it (:func:`~mixlaw.pipeline.fit_pipeline` and
    :func:`~mixlaw.pipeline.backtest_pipeline`): InputError naming the table when every eval of ``targets`` rises
    (nothing left that the step and size laws can extrapolate), else the warning line naming those that do, or None.

    The evals a combined target is computed from (an ``--eval-group``, the weighted total of ``--fit-total``) are
    checked too, and named apart: an accuracy weighed into a group of losses was fitted without a word, since the
    group itself falls while its losses dominate."""
    combined: dict[str, list[str]] = {}
    # Down to the table's own evals: --fit-total's total of an --eval-group ('weights=g:0.5,legal:0.5', g holding
    # an accuracy) has the group as its member, and the accuracy inside it was fitted without a word.
    stack, seen = list(targets), set(targets)
    while stack:
        t = stack.pop(0)
        for m in table.members_of(t):
            if m not in targets and m in table.evals:
                if t not in combined.get(m, []):
                    combined.setdefault(m, []).append(t)
                if m not in seen:
                    seen.add(m)
                    stack.append(m)
    rising, over = rising_evals(table, axis, [*targets, *combined])
    own = [r for r in rising if r[0] in targets]
    inside = [r for r in rising if r[0] not in targets]
    if own and len(own) == len(targets):
        raise InputError(f"{table.path or 'the table'}: {rising_evals_line(own, True, over)}")
    lines = ([rising_evals_line(own, False, over)] if own else []) + (
        [rising_members_line(inside, combined, over)] if inside else [])
    return ". ".join(lines) or None


def rising_total_line(table: RunTable, total: dict[str, float], axis: str) -> str | None:
    """The line saying why auto leaves out its candidates fitted on the weighted total ``total`` (eval -> weight, the
    objective's), when that total itself rises with training (:func:`rising_evals`), else None.

    ``--fit-total`` refuses such a total (:func:`rising_evals_checked`: nothing left that the step and size laws can
    extrapolate), while auto compared candidates fitted on it and chose one: on the trainer's v3 runs with
    'dialogue' turned into an accuracy (1 / (1 + loss)) and weights=dialogue:0.999,code:0.0005,legal:0.0005 (a total
    rising on 24 of 24 curves), auto chose "direct joint+ye-exp on the total"."""
    rising, over = rising_evals(add_weighted_total(table, total), axis, [TOTAL_NAME])
    if not rising:
        return None
    _, k, n = rising[0]
    what = ", ".join(f"{v:g}*{e}" for e, v in total.items())
    where = ("the largest model size lies above the smallest" if over == "params"
             else "the last checkpoint lies above the first")
    return (f"the weighted total {what} rises with {'model size' if over == 'params' else 'training'}: {where} "
            f"(on {k} of {n} curves); the candidates fitted on that total are left out, as --fit-total refuses it "
            "(the step and size laws fit losses that fall): each eval is extrapolated on its own")
