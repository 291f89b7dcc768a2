"""What a run table that is refused, or accepted with a warning, probably got wrong: each the end of an error or a
warning that :class:`~mixlaw.data.RunTable`, the importers and the fits say.

A cell that is not a number (:func:`_not_a_number_hint`: a decimal comma, thousands separators, a model's name, a
placeholder for a missing loss), rows whose shares do not sum to 1 for want of a domain or with one too many
(:func:`_no_domain_column`), a scale column under another export's name (:func:`scale_look_alike`), runs whose
state says they did not finish (:func:`unfinished_runs`), weight columns that are 0 in every row and unknown to
the other side (:func:`unseen_zero_domains`), and a failed fit that had few rows because an eval is missing in
many (:func:`note_left_out`). Nothing here changes a table; what a table's column names suggest is
:mod:`mixlaw.data.hints`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataWarning, rows_named, user_stacklevel
from .hints import _fold
from .schema import LOSS_PREFIX, SCALE_ALIASES, WEIGHT_PREFIX, SheetText, beyond_tol, count_values, scaled_number

_SCALE_WHAT_ONE = {"params": "the model size", "step": "the checkpoint step", "tokens": "the tokens seen"}
_SCALE_EVERY = {"params": "every model size", "step": "every checkpoint", "tokens": "every run length"}


#: Run states (W&B's 'State' column or run.state, a tracker's 'status') of a run that did not finish.
UNFINISHED_STATES = ("running", "crashed", "failed", "killed", "preempted", "error", "errored")
#: What to do about such runs: said by every reader that finds them.
UNFINISHED_ADVICE = ("a run that did not finish logged the losses of an earlier checkpoint, not its final ones; leave "
                     "those {rows} out, or check that their losses are final")


def unfinished_runs(frame: pd.DataFrame, lines: Any, where: str, *, labels: Any = None) -> str | None:
    """The warning for the rows of ``frame`` whose run state (W&B's 'State' column: finished, running, crashed,
    failed, killed) says the run did not finish, naming their ``lines`` (for an in-memory frame, their index
    ``labels`` and 0-based positions as ``lines``: :func:`~mixlaw.errors.rows_named`); None when there are none. A
    W&B export lists every run, and the last losses of those that crashed were fitted as final ones without a word."""
    lines = np.asarray(lines)
    for c in map(str, frame.columns):
        if c.strip().lower() not in ("state", "status", "run_state", "run_status"):
            continue
        cells = frame[c].map(lambda v: str(v).strip().lower() if isinstance(v, str) else "")
        bad = cells.isin(UNFINISHED_STATES)
        if bad.any():
            said = ", ".join(f"{n} {v!r}" for v, n in cells[bad].value_counts().items())
            hit = np.flatnonzero(bad.to_numpy())
            at = rows_named(where, lines[hit], None if labels is None else [labels[i] for i in hit])
            return (f"{where}: column {c!r} says {said} ({at}): "
                    + UNFINISHED_ADVICE.format(rows="rows"))
    return None


def scale_look_alike(frame: pd.DataFrame, candidates: Sequence[str],
                     present: set[str]) -> tuple[str, str, str] | None:
    """The first of ``candidates`` (columns of ``frame``) named as other exports name the model size, step or
    tokens (``model_size``, ``n_params``, ``_step``, ``n_tokens``: :data:`SCALE_ALIASES`; for the size, any name
    with 'param') whose values differ, when ``present`` (the run table's columns) lacks the column of that name:
    (column, the run table's name for it, "values ... in a column named like ...", the start of the error). None
    when there is none.

    Why: ignored, a sweep's rows of 4 model sizes were fitted as one loss surface without a word (the same table
    with ``params`` warns). A column of one value changes nothing and is let be; a step (token) look-alike beside a
    ``tokens`` (``step``) column is the same checkpoint axis, already read.
    """
    for canon, aliases in SCALE_ALIASES.items():
        if canon in present or (canon != "params" and {"step", "tokens"} & present):
            continue
        for c in candidates:
            name = _fold(str(c).strip())
            # 'embedding_free_params', 'model/n_params': any other name with 'param' is a size too
            # ... and the papers' symbols, N for the model size and D for the tokens (upper case alone)
            symbol = str(c).strip() == {"params": "N", "tokens": "D"}.get(canon)
            if name not in aliases and not symbol and not (canon == "params" and "param" in name
                                                           and "hyper" not in name):
                continue
            cells = frame[c].dropna()
            cells = cells[cells.map(lambda v: bool(str(v).strip()))]
            if cells.map(lambda v: str(v).strip()).nunique() < 2:
                continue
            # numbers as numbers ('1e+07', not '10000000.0'), smallest first; text cells as written
            x = count_values(cells)
            values = [f"{v:g}" for v in np.unique(x[x.notna()])] + sorted({str(v).strip() for v in cells[x.isna()]})
            shown = ", ".join(values[:3]) + (f", ... ({len(values)} in all)" if len(values) > 3 else "")
            return (str(c), canon, f"values {shown} in a column named like {_SCALE_WHAT_ONE[canon]}, which is read "
                                   f"from a column named {canon!r} alone")
    return None


def _no_domain_column(w: np.ndarray, wcols: list[str], sums: np.ndarray, tol: float) -> tuple[str | None, str]:
    """For rows that do not sum to 1: a weight column whose removal makes every row sum to 1 is no domain (a
    'weight_decay' a 'weight_*' map took in; "no row sums to 1 ... divide each row by its sum" made it one), or is
    one domain given twice; or the columns after the first k, when those k sum to 1 in every row (a list's other
    positions a pattern took in). (column, hint), or (None, '')."""
    alone = [c for j, c in enumerate(wcols)
             if len(wcols) > 2 and not beyond_tol(np.abs(sums - w[:, j] - 1.0), tol).any()]
    twin = [(a, b) for a in alone for b in alone if a < b
            and np.array_equal(w[:, wcols.index(a)], w[:, wcols.index(b)])]
    if twin:
        return twin[0][1], (f"{twin[0][0]!r} and {twin[0][1]!r} hold the same shares in every row, and without one "
                            "every row sums to 1: one domain given twice? drop one")
    if alone:
        return alone[0], (f"without {alone[0]!r} every row sums to 1: is it a domain? drop it (or leave it out of the "
                          "--columns map)")
    # The first k columns sum to 1 in every row and the rest do not belong: a pattern over a list (w:*=input_X/*,
    # Chen et al.'s BO sweep writes 9 shares then 10 LoRA settings in one array) took every position; "no row sums to
    # 1 ... divide each row by its sum" would have made LoRA ranks into shares.
    head = np.cumsum(w, axis=1)
    k = next((k for k in range(2, len(wcols)) if not beyond_tol(np.abs(head[:, k - 1] - 1.0), tol).any()), None)
    if k is not None and not beyond_tol(np.abs(w[:, k:].sum(axis=1) - 1.0), tol).any():
        # Two mixtures side by side: a two-phase schedule (Marin's two_phase_many swarm writes phase_0_<bucket> and
        # phase_1_<bucket> for 39 buckets), whose columns a map took in as 2 x 39 domains summing to 2.
        return wcols[k], (f"{wcols[0]!r} to {wcols[k - 1]!r} sum to 1 in every row, and so do {wcols[k]!r} to "
                          f"{wcols[-1]!r}: two mixtures in one row, as a schedule of two phases writes them? a law "
                          "fits one mixture per run: map the phase to fit (or the runs' overall mixture, each "
                          "phase's shares times its fraction of the tokens, summed) as the w: columns")
    if k is not None:
        return wcols[k], (f"the first {k} weight columns, {wcols[0]!r} to {wcols[k - 1]!r}, sum to 1 in every row: "
                          f"are {wcols[k]!r} and the {len(wcols) - k - 1} after it domains? leave them out of the "
                          "--columns map (a pattern over a list's positions takes every one)")
    return None, ""


def _not_a_number_hint(value: Any, column: str) -> str:
    """The end of "value ... is not a number" for a cell whose fix is known: a decimal comma ('3,12', a European
    spreadsheet's CSV separated by ','), a placeholder for a missing loss ('-', '#DIV/0!', '?')."""
    v = str(value).strip()
    # two files' rows under one header ('cat a.csv b.csv'), the second's header a row; written as in the file
    # ('W:Web', 'Loss: val'), which canonical_name read as the column w:Web
    if re.sub(r"\s", "", v).lower() == re.sub(r"\s", "", column).lower():
        return " (the header again: tables joined one after another? delete this line)"
    if column in ("params", "step", "tokens") and re.fullmatch(r"\d{1,3}([,.' ]\d{3})+", v):
        # '1,300,000' (or '28,368'): a count with thousands separators, not a decimal comma
        return f" (thousands separators? write {re.sub(r'[^0-9]', '', v)}, or a suffix as in 1.3M)"
    size = re.fullmatch(r".*[-_/ ](\d+(?:\.\d+)?[kKmMbBgGtT])", v) if column == "params" else None
    if size and scaled_number(size.group(1)[:-1] + size.group(1)[-1].upper()):
        # 'Qwen2.5-0.5B', 'pythia-160m': a model's name, whose size at the end the column would read on its own
        # (ADMIRE-BayesOpt's IFT runs name their models so: "value 'Qwen2.5-0.5B' is not a number").
        n = scaled_number(size.group(1)[:-1] + size.group(1)[-1].upper())
        return f" (a model's name? its size alone, {size.group(1)!r} or {n:g}, is read: map a column of the sizes)"
    if isinstance(value, SheetText):
        # A workbook's cell: the CSV's advice (separators) does not apply; the number is to be stored as one.
        return (f" (sheet {value.sheet!r}, cell {value.cell} holds it as text, a decimal comma the workbook did not "
                f"read as a number: store the cell as a number, retyped with the decimal separator the spreadsheet "
                f"uses ({v.replace(',', '.')} where it is '.'), or change the locale's decimal separator to ',' "
                "(Excel: File > Options > Advanced, 'Use system separators'; LibreOffice: Tools > Options > Language "
                "Settings) and convert the column (Data > Text to Columns), then save the workbook)")
    if re.fullmatch(r"[-+]?\d*,\d+([eE][-+]?\d+)?", v):
        return (f" (a decimal comma? write {v.replace(',', '.')}, or save the table with ';' or tabs between cells, "
                "which mixlaw reads with decimal commas)")
    if column.startswith(LOSS_PREFIX) and (v in ("-", "--", "?", "x", "n.a.", "missing", "") or v.startswith("#")):
        return " (a missing loss? leave the cell empty: the fits then use the rows that have this eval)"
    return ""


def note_left_out(err: Exception, left_out: dict[str, int], n_rows: int, n_table: int) -> None:
    """Append to ``err``'s message how many of the table's rows the failed fit had, when an eval missing in some
    rows (``left_out``: eval -> rows without its loss) made them few: "3 observations are too few" read as a small
    table, when the eval is missing from most of a large one."""
    if left_out and err.args and isinstance(err.args[0], str):
        miss = ", ".join(f"loss:{e} in {n}" for e, n in left_out.items())
        err.args = (f"{err.args[0]} (only {n_rows} of the table's {n_table} rows have every target's loss: "
                    f"missing {miss} rows)", *err.args[1:])


def unseen_zero_domains(frame: pd.DataFrame, extra: Sequence[str], where: str, whose: str,
                        stacklevel: int = 2) -> list[str]:
    """The domains of ``extra`` (weight columns the other side has not) that are 0 in every row of ``frame``,
    with a :class:`DataWarning` that they are ignored: a domain no row trains on changes nothing (Dai & Zheng's
    held-out runs with an all-zero 'w:extra' stopped at "unexpected weight column(s)", and so did a candidate
    table listing a domain the law never saw). A column that is not numeric everywhere is not ignored (the caller
    reports it). ``whose`` names the other side ("the fitting runs'"); ``stacklevel`` is the caller's."""
    unused = [d for d in extra if not pd.to_numeric(frame[WEIGHT_PREFIX + d], errors="coerce").fillna(1).any()]
    if unused:
        warnings.warn(f"{where}: weight column(s) {['w:' + d for d in unused]} are 0 in every row and not among "
                      f"{whose} domains; ignored", DataWarning, stacklevel=user_stacklevel(stacklevel + 1))
    return unused
