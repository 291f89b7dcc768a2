"""Continual pretraining: the critical proportion of a new domain (Ye et al. 2025, §5).

A model pretrained on an *original* domain is trained further on a mixture of the original and a *new*
domain, with new-domain share p. Ye et al. fit the original-domain loss after continual pretraining as a
data mixing law of p (with two domains their law is univariate):

.. math:: L_{orig}(p) = c + k \\exp(t\\, p)

and call the largest p whose predicted original-domain loss does not exceed its value before continual
pretraining the **critical proportion**: more of the new domain than that and the model forgets.

.. math:: p^\\star = \\max\\{p \\in [0, 1] : L_{orig}(p) \\le L_{pre} + \\tau\\}

with a tolerance :math:`\\tau` (nats, absolute; 0 reproduces Ye's definition).

References
----------
Ye et al., "Data Mixing Laws: Optimizing Data Mixtures by Predicting Language Modeling Performance",
ICLR 2025, arXiv:2403.16952, §5 (Pythia-70M on Pile + Python code).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._validation import first_and_more
from .bootstrap import bootstrap_law
from .data import LOSS_PREFIX, WEIGHT_PREFIX, WEIGHT_TOL, RunTable
from .data.reading import _normalise_columns, _read_any
from .errors import NO_LABEL, DataError, DataWarning, ExtrapolationWarning, InputError, user_stacklevel
from .evals import add_eval_groups
from .laws.base import MixingLaw, get_law
from .laws.selection import META_LAWS
from .optimize import check_enough_runs

#: Resolution of the share grid on which the predicted curve is scanned (then refined by interpolation).
GRID = 2001


@dataclass
class CriticalProportion:
    """The critical new-domain share and how it was found.

    Attributes
    ----------
    proportion : float
        p*: the largest new-domain share whose predicted original-domain loss stays within tolerance.
    interval : (float, float) or None
        Bootstrap percentile interval of p* (runs resampled, the pre-training loss held fixed).
    status : {"crossing", "all", "from", "none"}
        "crossing": the predicted loss crosses the threshold at p*; "all": every share up to 1 stays within
        tolerance (p* = 1); "from": p* = 1 too, but the loss exceeds the threshold below ``lower`` (the new
        domain lowers the original's loss); "none": even p = 0 exceeds it (p* = 0). A "crossing" whose curve is
        above the threshold at p = 0 (it falls, then rises) also gives ``lower``.
    pre_loss, tolerance, threshold : float
        Original-domain loss before continual pretraining, the tolerance, and their sum.
    pre_source : str
        "given" or "step-0 rows".
    law : MixingLaw
        The fitted law of the original-domain loss (domains ``[original, new]``).
    new_loss_at_critical : float or None
        Predicted new-domain loss at p*, when the table has a loss column for the new domain.
    boot_law : str or None
        The law the bootstrap refits: ``auto``'s pick when ``law`` is ``auto`` (the interval is then that law's,
        as the point estimate is), else None (the law itself).
    """

    original: str
    new: str
    proportion: float
    interval: tuple[float, float] | None
    status: str
    pre_loss: float
    tolerance: float
    threshold: float
    pre_source: str
    law: MixingLaw
    n_runs: int
    new_loss_at_critical: float | None = None
    n_boot: int = 0
    level: float = 0.9
    n_failed: int = 0
    boot_law: str | None = None
    lower: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"original": self.original, "new": self.new, "critical_proportion": self.proportion,
                "interval": None if self.interval is None else list(self.interval), "level": self.level,
                "n_boot": self.n_boot, "n_failed": self.n_failed, "status": self.status, "pre_loss": self.pre_loss,
                "pre_source": self.pre_source, "tolerance": self.tolerance, "threshold": self.threshold,
                "n_runs": self.n_runs, "new_loss_at_critical": self.new_loss_at_critical,
                "boot_law": self.boot_law, "lower": self.lower, "notes": self.notes(), "law": self.law.to_dict()}

    def notes(self) -> list[str]:
        """What the report's ``note:`` lines say, also in :meth:`to_dict` (``--json``'s ``notes``), where the check
        for swapped domains was missing: a share at a bound with nothing between."""
        if self.status not in ("all", "none"):
            return []
        # At a bound, and nothing to read between: swapped domains give that ('--original code --new web' of
        # a web model tuned on code: "critical share = 1.0000 [1, 1]", every web share keeping the base
        # model's code loss, never trained on, within tolerance), and nothing said to look for it.
        return [f"at a bound; check that {self.original!r} is the domain the model was pretrained on (whose loss "
                f"must not rise) and {self.new!r} the one added, not swapped (--original / --new; Python: original= / "
                "new=)"]

    def __str__(self) -> str:
        p = self.law.params_
        # auto's pick, named: 'law=auto' alone left the user to guess which law drew the curve (hunt26).
        picked = sorted({str(v) for v in (getattr(self.law, "choice_", None) or {}).values()})
        lines = [f"[[Critical proportion]]  original={self.original}  new={self.new}  law={self.law.key}"
                 + (f" (chose {', '.join(picked)} by cross-validation)" if picked else "") + f"  ({self.n_runs} runs)",
                 f"    {self.original} loss before continual pretraining = {self.pre_loss:.5g} ({self.pre_source}); "
                 f"tolerance = {self.tolerance:g}; threshold = {self.threshold:.5g}"]
        crit = f"    critical share of {self.new} = {self.proportion:.4f}"
        if self.interval is not None:
            crit += f"  [{self.interval[0]:.4f}, {self.interval[1]:.4f}] ({self.level:.0%} bootstrap, {self.n_boot} " \
                    f"refits{'' if self.boot_law is None else ' of ' + self.boot_law}, {self.n_failed} failed)"
        lines.append(crit)
        lines.append({"crossing": f"    above it the predicted {self.original} loss exceeds the threshold"
                                  + ("" if self.lower is None else f"; below {self.lower:.4f} too (the shares from "
                                     f"{self.lower:.4f} to {self.proportion:.4f} keep it within tolerance)"),
                      "all": "    every share up to 1 keeps the loss within tolerance",
                      "from": f"    the shares from {self.lower or 0.0:.4f} up to 1 keep the loss within tolerance; "
                              f"below {self.lower or 0.0:.4f} the predicted {self.original} loss exceeds the threshold",
                      "none": f"    even p = 0 exceeds the threshold: continual pretraining on {self.original} "
                              "alone does not get back to its pre-training loss"}[self.status])
        lines += [f"    note: {n}" for n in self.notes()]
        if self.new_loss_at_critical is not None:
            lines.append(f"    predicted {self.new} loss at the critical share = {self.new_loss_at_critical:.5g}")
        vals = ", ".join(f"{k.split('.', 1)[-1]}={v.value:.4g}" for k, v in p.items() if v.vary)
        lines.append(f"    fitted: {vals}")
        return "\n".join(lines)


def _crossing(p: np.ndarray, L: np.ndarray, thr: float) -> tuple[float, str, float | None]:
    """Largest p with L(p) <= thr on a grid, refined by linear interpolation to the crossing; its status; and,
    where L(0) is above thr, the smallest share of the run of shares within tolerance that ends at it (None else).

    Why the third: "every share up to 1 keeps the loss within tolerance" was printed of a curve above the threshold at
    p = 0 (hunt31), and a curve that falls then rises reported its crossing without a word on the small shares."""
    ok = L <= thr
    if not ok.any():
        return 0.0, "none", None
    last = int(np.flatnonzero(ok)[-1])  # last share within tolerance
    lower = None
    if not ok[0]:
        j = int(np.flatnonzero(~ok[:last])[-1])  # last share above it before that run; L(p[j + 1]) <= thr
        lower = float(p[j] + (thr - L[j]) / (L[j + 1] - L[j]) * (p[j + 1] - p[j]))
    if ok[-1]:
        return 1.0, "all" if ok.all() else "from", lower
    frac = (thr - L[last]) / (L[last + 1] - L[last])
    return float(p[last] + frac * (p[last + 1] - p[last])), "crossing", lower


def _cell(v: Any) -> str:
    """A cell as the user wrote it: 'empty' for a missing one (numpy 2 wrote it as np.float64(nan))."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "empty"
    return repr(v.item() if isinstance(v, np.generic) else v)


def read_continual_runs(path: str | os.PathLike[str] | pd.DataFrame, *, original: str, weight_tol: float = WEIGHT_TOL,
                        eval_groups: Mapping[str, Mapping[str, float]] | None = None
                        ) -> tuple[RunTable, float | None, int]:
    """Read a continual-pretraining table that may hold the base model's rows.

    The base model (before continual pretraining) was trained on the original data, not on a mixture of the
    table's domains, so its rows have no weights: every ``w:`` cell empty. Those rows give the pre-training
    loss (the mean of their ``loss:<original>``); the other rows are validated as an ordinary run table (a row
    with only some weights empty is still an error naming its line). ``eval_groups`` (``{group: {eval: share}}``,
    :func:`mixlaw.evals.add_eval_groups`) adds weighted means of eval sets to every row, the base model's too:
    Ye et al.'s continual-pretraining log measures the Pile by its 22 parts.

    Returns
    -------
    (RunTable, float or None, int)
        The continual-pretraining rows, the base model's ``original`` loss (None without base rows) and the
        number of base rows.
    """
    labels: list[Any] | None = None
    if isinstance(path, pd.DataFrame):
        # A frame has no file: its rows are named by index label and 0-based position ('lines' holds the
        # positions), as RunTable(df) names them; numbered as a CSV's lines (position + 2), critical_proportion(df)
        # said "row 7" of the row RunTable(df) calls "row 5 (0-based)".
        labels = path.index.tolist()
        p, frame, lines = None, _normalise_columns(path.reset_index(drop=True)), np.arange(len(path))
    else:
        p = Path(path)
        frame, lines = _read_any(p)
        frame = _normalise_columns(frame, p)
    where = None if p is None else str(p)

    def runs_of(keep: np.ndarray) -> RunTable:
        return RunTable(frame[keep], path=where, weight_tol=weight_tol, lines=lines[keep],
                        labels=None if labels is None else [labels[i] for i in lines[keep]])

    def at(i: int) -> dict[str, Any]:
        """DataError's place of the row at 0-based position ``i`` of ``frame``."""
        return {"path": where, "row": int(lines[i]), "label": NO_LABEL if labels is None else labels[int(lines[i])]}

    wcols = [c for c in map(str, frame.columns) if c.startswith(WEIGHT_PREFIX)]
    base = frame[wcols].isna().all(axis=1).to_numpy() if wcols else np.zeros(len(frame), dtype=bool)
    table: RunTable | None = None
    if base.any() and not base.all() and eval_groups:
        # The runs' groups first (add_eval_groups checks unknown evals and bad shares); then the base rows' values.
        table = add_eval_groups(runs_of(~base), eval_groups)
        for name, members in eval_groups.items():
            s = np.array([float(v) for v in members.values()])
            cols = [LOSS_PREFIX + m for m, v in zip(members, s, strict=True) if v > 0]
            vals = frame.loc[base, cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
            bad = ~(np.isfinite(vals) & (vals > 0))
            if bad.any():
                # Named by the member's own column: the group's ('loss:pile') is not in the file ("loss is
                # np.float64(nan)" named it).
                i, j = np.argwhere(bad)[0]
                raise DataError(f"base model row (no mixture): loss is {_cell(frame.loc[base, cols[j]].iloc[i])}, "
                                f"expected a positive number (the eval group {name!r}, --eval-group (eval_groups=), "
                                "weighs it)", **at(np.flatnonzero(base)[i]), column=cols[j])
            frame.loc[base, LOSS_PREFIX + name] = vals @ (s[s > 0] / s.sum())
    pre: float | None = None
    if base.any():
        col = LOSS_PREFIX + original
        if col not in frame.columns:
            raise DataError(f"the base model's row(s) (no mixture) need a {col!r} column: it is the loss before "
                            "continual pretraining", **at(np.flatnonzero(base)[0]))
        vals = pd.to_numeric(frame.loc[base, col], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~(np.isfinite(vals) & (vals > 0))
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"base model row (no mixture): loss is {_cell(frame.loc[base, col].iloc[i])}, expected a "
                            "positive number", **at(np.flatnonzero(base)[i]), column=col)
        pre = float(np.mean(vals))
        if base.all():
            raise DataError("every row is a base-model row (no mixture); continual-pretraining runs need w:<domain> "
                            "weights", path=where)
    if table is None:
        table = runs_of(~base)
        if eval_groups:
            table = add_eval_groups(table, eval_groups)
    return table, pre, int(base.sum())


def _prepare(runs: Any, losses: Any, original: str, new: str, pre_loss: float | None, weight_tol: float,
             eval_groups: Mapping[str, Mapping[str, float]] | None = None) -> tuple[Any, float, str, bool]:
    """A two-domain RunTable of the post-CPT rows, the pre-CPT loss and its source, and whether loss:new exists."""
    base_source = None
    if losses is not None and isinstance(runs, (str, os.PathLike, pd.DataFrame, RunTable)):
        # A table's losses are its loss:<original> column: a losses= beside it was dropped without a word. (Only a
        # table: shares as a pandas Series or any sequence are read as an array, as before.)
        raise InputError("losses= goes with an array of new-domain shares; a run table has its own "
                         f"'loss:{original}' column")
    if isinstance(runs, (str, os.PathLike, pd.DataFrame)):
        runs, base_loss, n_base = read_continual_runs(runs, original=original, weight_tol=weight_tol,
                                                      eval_groups=eval_groups)
        if base_loss is not None and pre_loss is None:
            pre_loss, base_source = base_loss, f"base-model row{'s' if n_base > 1 else ''} (no mixture)"
    elif isinstance(runs, RunTable) and eval_groups:
        runs = add_eval_groups(runs, eval_groups)
    elif eval_groups:
        raise InputError("eval_groups (--eval-group) combine a table's eval sets; an array of shares has none")
    if isinstance(runs, RunTable):
        table = runs
        extra = [d for d in table.domains if d not in (original, new)]
        missing = [d for d in (original, new) if d not in table.domains]
        if missing:
            raise InputError(f"no training-weight column for domain(s) {missing} (columns w:<domain>); the table's "
                             f"domains are {table.domains}")
        if extra:
            raise InputError(f"the critical proportion is a law of the {new!r} share in a two-domain mixture; the "
                             f"table also has domain(s) {extra}")
        if original not in table.evals:
            raise InputError(f"no loss column for the original domain: expected 'loss:{original}' "
                             f"(eval sets: {table.evals})")
        source = base_source or "given"
        steps = table.steps
        if steps is not None and np.any(steps == 0):
            pre_rows = steps == 0
            if pre_loss is None:
                # The step-0 rows that have the original loss (a NaN cell is a loss not measured there).
                pre_loss = float(np.mean(table.subset(pre_rows).complete(
                    original, doing="taking the loss before continual pretraining from").losses(original)))
                source = "step-0 rows"
            table = table.subset(np.flatnonzero(~pre_rows))
            steps = table.steps
        if steps is not None and len(table):
            # Checkpoints during continual pretraining: the critical share is about the end of it.
            last = steps == steps.max()
            # A run that stops short of that step (interrupted, or trained for fewer steps) has no row there and
            # was left out without a word: with 6 runs, 5 were fitted and the header said "(5 runs)".
            short = pd.Series(steps).groupby(pd.Series(table.runs).astype(str)).max()
            short = short[short < steps.max()]
            if len(short):
                named = first_and_more([f"{r!r} (last step {v:g})" for r, v in short.items()])
                warnings.warn(f"{table.path or 'run table'}: {len(short)} run(s) end before the last step "
                              f"{steps.max():g}, at which the critical share is fitted, and are left out: "
                              f"{named}", DataWarning, stacklevel=user_stacklevel(4))
            table = table.subset(np.flatnonzero(last))
        has_new = new in table.evals
    else:
        try:
            p = np.asarray(runs, dtype=np.float64)
            y = np.asarray(losses, dtype=np.float64).ravel() if losses is not None else None
        except (TypeError, ValueError) as err:
            raise InputError(f"runs (new-domain shares) and losses must be numbers: {err}") from None
        if p.ndim != 1:
            # A (n, 2) array of mixtures was flattened into 2n shares: "pass losses= of the same length".
            raise InputError(f"an array of runs is the new-domain shares p, shape (n_runs,); got shape {p.shape} "
                             "(for mixtures, pass a RunTable with w:<original> and w:<new> columns)")
        if y is None or y.size != p.size:
            raise InputError("with an array of new-domain shares, pass losses= of the same length "
                             "(original-domain loss after continual pretraining)")
        if not np.all((p >= 0) & (p <= 1)):
            raise InputError("new-domain shares must lie in [0, 1]")
        frame = pd.DataFrame({"run": [f"run{i}" for i in range(p.size)], f"w:{original}": 1 - p, f"w:{new}": p,
                              f"loss:{original}": y})
        table = RunTable(frame)
        source = "given"
        has_new = False
    if pre_loss is None:
        raise InputError(f"the {original} loss before continual pretraining is unknown: pass pre_loss "
                         "(--pre-loss), or include the base model as a row without a mixture (empty w: cells) or "
                         "as rows with step 0")
    try:
        pre = float(pre_loss)
    except (TypeError, ValueError):
        pre = float("nan")
    if not (np.isfinite(pre) and pre > 0):
        raise InputError(f"pre_loss (--pre-loss) must be a positive number; got {pre_loss!r}")
    return table, pre, source, has_new


def critical_proportion(runs: Any, losses: Any = None, *, original: str = "web", new: str = "code",
                        pre_loss: float | None = None, tolerance: float = 0.0, law: str = "ye-exp",
                        n_boot: int = 200, level: float = 0.9, random_state: int = 0,
                        n_jobs: int | str | None = None, weight_tol: float = WEIGHT_TOL,
                        eval_groups: Mapping[str, Mapping[str, float]] | None = None) -> CriticalProportion:
    """Find the critical proportion of the new domain in continual pretraining.

    Parameters
    ----------
    runs : RunTable, DataFrame, path or ndarray of shape (n_runs,)
        Continual-pretraining runs: a table (a DataFrame is read as a file is) with columns ``w:<original>``,
        ``w:<new>`` and
        ``loss:<original>`` (optionally ``loss:<new>``, ``step``), or the new-domain shares with ``losses``.
        The base model before continual pretraining gives ``pre_loss`` and is not fitted: in a file, as rows
        without a mixture (every ``w:`` cell empty; :func:`read_continual_runs`), or in any table as rows with
        ``step == 0``. With checkpoints, only rows at the last step are fitted.
    losses : ndarray of shape (n_runs,), optional
        Original-domain losses when ``runs`` is an array.
    original, new : str
        Domain names.
    pre_loss : float, optional
        Original-domain loss before continual pretraining (default: mean of the step-0 rows).
    tolerance : float, default=0.0
        Allowed increase of the original-domain loss, in nats (absolute).
    law : str, default="ye-exp"
        Law of the original-domain loss as a function of the mixture ``[1 - p, p]``.
    n_boot : int, default=200
        Bootstrap refits over runs for the interval (0: no interval).
    level : float, default=0.9
    random_state : int, default=0
    n_jobs : int or "auto", default="auto"
        Worker processes for the bootstrap (default: the usable CPUs, at most 8; see
        :func:`mixlaw.bootstrap.bootstrap_law`).
    weight_tol : float, default=0.01
        Tolerance on the weight row sums when ``runs`` is a path.
    eval_groups : mapping, optional
        ``{group: {eval: share}}``: loss columns added as weighted means of eval sets (base-model rows included),
        so that ``original`` (or ``new``) may be one, e.g. the Pile from its parts.

    Returns
    -------
    CriticalProportion

    Raises
    ------
    InputError
        Missing columns, a third domain, no pre-training loss, a negative tolerance, or too few runs (or
        distinct shares of ``new``) for the law's parameters.

    Notes
    -----
    The predicted curve is scanned on a grid of 2001 shares and the crossing refined by linear
    interpolation (error < 1e-6 in p for a smooth law); for Ye's law this matches the closed form
    :math:`p^\\star = \\log((L_{pre} + \\tau - c)/k) / t`. The bootstrap holds ``pre_loss`` fixed (it is one
    measured number, not a fit).

    References
    ----------
    Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952, §5.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.linspace(0, 0.8, 9)
    >>> loss = 2.0 + 0.5 * np.exp(1.2 * p)           # forgetting grows with the code share
    >>> res = critical_proportion(p, loss, pre_loss=2.0 + 0.5 * np.exp(0.6), n_boot=0)
    >>> round(res.proportion, 4)
    0.5
    """
    if isinstance(tolerance, bool) or not isinstance(tolerance, Real) or not (np.isfinite(tolerance)
                                                                             and tolerance >= 0):
        raise InputError(f"tolerance (--tolerance) must be a number >= 0 (nats); got {tolerance!r}")
    if original == new:
        raise InputError(f"original and new domain are both {original!r}")
    unused = [str(g) for g in (eval_groups or {}) if g not in (original, new)]
    if unused:
        # Only loss:<original> and loss:<new> are read: '--eval-group mix=web:0.5,code:0.5' was built and then left
        # unused without a word, the share computed from loss:web as if the option had not been given (hunt30).
        raise InputError(f"eval group(s) {unused} (--eval-group, eval_groups=) name neither the original domain "
                         f"{original!r} nor the new {new!r}: the critical share reads only their losses; name a "
                         f"group after one of them ({original}=EVAL:W,...)")
    table, pre, source, has_new = _prepare(runs, losses, original, new, pre_loss, weight_tol, eval_groups)
    # A run missing a loss (a NaN cell): each law is fitted on the rows that have its eval, as fit does.
    table_new = table.complete(new) if has_new else table
    table = table.complete(original)
    table_o = table
    if not isinstance(law, (str, MixingLaw)):
        raise InputError(f"law must be a law key (e.g. 'ye-exp') or a MixingLaw; got {law!r}")
    est = get_law(law, random_state=random_state) if isinstance(law, str) else law.clone()
    if "reference" in est.get_params():
        est.set_params(reference=original)
    W = table.weights_for([original, new])
    fitted = est.clone().fit(W, table.losses(original), domains=[original, new], targets=[original])
    n_vary = fitted.n_params_
    check_enough_runs(fitted)  # also refuses a constant model (LightGBM on few runs): its share would be 0
    if len(table) <= n_vary:
        raise InputError(f"{len(table)} runs are too few for law {fitted.key!r}, which fits {n_vary} parameters: "
                         f"need at least {n_vary + 1}")
    # 9 decimals, not distinct_rows' 12 (ROW_DECIMALS, which groups runs for CV folds and leave-one-out): here the
    # count is whether the curve is identified, and shares 1e-10 apart (a token count off by one in 1e10) are one
    # share for that; counted at 12 they passed, and 0.3, 0.3 + 1e-10 and 0.6 fitted ye-exp's 3 parameters.
    shares = np.unique(np.round(W[:, 1], 9))
    if shares.size < n_vary:
        # The law is a curve in the one share p: through fewer distinct p than its parameters it is not identified
        # (all runs at p = 0.3, seeds apart, gave 'critical share = 1.0000 [1.0000, 1.0000]': the start values').
        raise InputError(f"the runs train on {shares.size} distinct share(s) of {new!r} "
                         f"({', '.join(f'{v:g}' for v in shares[:5])}); law {fitted.key!r} fits {n_vary} parameters "
                         f"of the {original} loss against that share, which takes runs at {n_vary} shares or more "
                         "(repeated seeds of one mixture count once): add runs at other shares")
    grid_p = np.linspace(0.0, 1.0, GRID)
    G = np.column_stack([1 - grid_p, grid_p])
    thr = pre + float(tolerance)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)  # the scan covers [0, 1] by design
        curve = np.asarray(fitted.predict(G), dtype=np.float64).ravel()
    p_star, status, lower = _crossing(grid_p, curve, thr)
    new_loss = None
    if has_new:
        new_law = est.clone().fit(table_new.weights_for([original, new]), table_new.losses(new),
                                  domains=[original, new], targets=[new])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)
            new_loss = float(np.asarray(new_law.predict(np.array([[1 - p_star, p_star]]))).ravel()[0])
    interval, n_failed = None, 0
    # auto's pick is refitted, not auto: each refit re-ran its cross-validation (12 runs, --bootstrap 200: killed
    # after 17 min on 2 cores), and a replicate that chose another law put its p* on another curve (5 refits gave
    # [0.24, 0.36] around p* = 0.40, hunt26). The interval is then the chosen law's, as p* is.
    chosen = getattr(fitted, "estimator_", None)
    boot_est, boot_law = (chosen.clone(), chosen.key) if est.key in META_LAWS and chosen is not None else (est, None)
    if n_boot:
        two = RunTable(pd.DataFrame({"run": table_o.runs, f"w:{original}": W[:, 0], f"w:{new}": W[:, 1],
                                     f"loss:{original}": table.losses(original)}))
        boot = bootstrap_law(boot_est, two, [original], n_boot=n_boot, random_state=random_state, n_jobs=n_jobs,
                             points=G, level=level)
        assert boot.predictions is not None
        reps = np.array([_crossing(grid_p, boot.predictions[b, :, 0], thr)[0]
                         for b in range(n_boot) if np.all(np.isfinite(boot.predictions[b]))])
        n_failed = n_boot - reps.size
        if reps.size:
            alpha = 1 - level
            lo, hi = np.percentile(reps, [100 * alpha / 2, 100 * (1 - alpha / 2)])
            interval = (float(lo), float(hi))
    return CriticalProportion(original=original, new=new, proportion=p_star, interval=interval, status=status,
                              pre_loss=pre, tolerance=float(tolerance), threshold=thr, pre_source=source,
                              law=fitted, n_runs=len(table), new_loss_at_critical=new_loss, n_boot=int(n_boot),
                              level=float(level), n_failed=int(n_failed), boot_law=boot_law if n_boot else None,
                              lower=lower)


__all__ = ["critical_proportion", "CriticalProportion", "read_continual_runs"]
