"""The run table (:class:`RunTable`): a frame of proxy runs validated into float64 arrays (columns as in
:mod:`mixlaw.data`), and the subsets and summaries the fits take from it.

What a refused or suspicious table probably got wrong is :mod:`mixlaw.data.diagnosis`; whether another table is at
the scale of these runs, :mod:`mixlaw.data.scales`.
"""

from __future__ import annotations

import os
import re
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._validation import renamed
from ..errors import (
    DataError,
    DataWarning,
    InputError,
    PerplexityWarning,
    UnusedDomainWarning,
    rows_named,
    user_stacklevel,
)
from .diagnosis import (
    _SCALE_EVERY,
    _SCALE_WHAT_ONE,
    _no_domain_column,
    _not_a_number_hint,
    scale_look_alike,
    unfinished_runs,
    unseen_zero_domains,
)
from .hints import _mapping_hint, case_hint, known_names, long_format_hint
from .schema import (
    HIGHER_IS_BETTER,
    LOSS_PREFIX,
    MAX_TOKEN_NATS,
    META_COLUMNS,
    NONPOSITIVE_HINT,
    PERPLEXITY_FLOOR,
    ROUNDING_TOL,
    SCALE_COLUMN_WORDS,
    TOL_OPTION,
    WEIGHT_PREFIX,
    WEIGHT_TOL,
    _percent_cells,
    beyond_tol,
    count_values,
    weight_sum_error,
)

#: The last clause of :meth:`RunTable.complete`'s line where the law's own fit reads the rows (law.fit, mixlaw fit):
#: auto and stack without an objective fit each eval on its own rows (MixingLaw._fits_ragged), as does one eval
#: fitted alone. Elsewhere that is no way out: optimize always has an objective (mean by default), compare takes
#: --laws, and a bootstrap, the optimum's reference runs and design's pilot fits take the complete rows whatever
#: the law.
OWN_ROWS_HINT = ("--law auto or stack (law='auto' / 'stack') without --objective (objective=), or one eval per fit "
                 "(--target EVAL, targets='EVAL'), fit each eval on every row that has it")

#: How the row-sum error of a frame that a Python function (``fit_pipeline(df)``, ``bootstrap_law(law, df)``) reads
#: as a RunTable at the default tolerance names the way to widen it: those functions take no ``weight_tol`` and the
#: command line never reaches them with a frame, so "--weight-tol (weight_tol=)" named a flag and a keyword that
#: neither has.
FRAME_TOL_OPTION = "weight_tol=, passing RunTable(df, weight_tol=...) in place of the frame"


def flat_columns(frame: pd.DataFrame, who: str) -> None:
    """Refuse a frame whose columns are a pandas MultiIndex (``df.groupby(...).agg([...])``, ``pd.concat(axis=1,
    keys=...)``), naming ``who`` took it and how to flatten it.

    Read as they were, each column was named by its tuple: a table was told it had no 'run' column among
    "('meta', 'run')"..., ``law.fit(df)`` summed every numeric column as weights ("weights sum to 1e+09", the model
    size) and ``read_runs_mapped(df, ...)`` stopped on a KeyError.
    """
    if isinstance(frame.columns, pd.MultiIndex):
        eg = f", e.g. {tuple(frame.columns[0])!r}" if len(frame.columns) else ""
        raise InputError(f"{who}: the DataFrame's columns are a pandas MultiIndex ({frame.columns.nlevels} levels"
                         f"{eg}), which is not supported: flatten them to one name per column (run, w:<domain>, "
                         f"loss:<eval>) first, e.g. df.columns = [':'.join(map(str, c)).strip(':') for c in "
                         f"df.columns] (('w', 'web') becomes 'w:web'), or df = df.droplevel(0, axis=1)")


def _twin_key(name: str) -> str:
    """``name`` as the eye reads it: NFC-normalised, format characters (Unicode category Cf: zero-width spaces and
    joiners, U+FEFF, left-to-right and right-to-left marks, soft hyphens), which print as nothing, dropped.

    Why: 'w:café' typed (composed é) and pasted (e + a combining accent), or 'w:web' and 'w:web' with a zero-width
    space, were two domains of one table that print alike; a list of five zero-width characters let a
    left-to-right mark (U+200E, carried by text pasted from a right-to-left page) or a soft hyphen through."""
    return unicodedata.normalize("NFC", "".join(c for c in name if unicodedata.category(c) != "Cf"))


#: Index names whose values may be 0, 1, ..., n - 1 as data: run ids (labels), and step and token counts (a curve
#: at every step from 0), which pandas >= 3 gives as a RangeIndex from ``set_index('step')`` as well.
_RANGE_AS_DATA = ("run", "step", "tokens")


def index_levels_of_data(index: pd.Index) -> list[Any]:
    """The named levels of ``index`` that hold data a run table may read as columns: each named one, except a
    default ``RangeIndex`` (0, 1, ..., n - 1) named other than 'run', 'step' or 'tokens', which holds the rows'
    positions, not model sizes, shares or losses (0 is no model size or loss). Run ids 0, 1, 2 are labels (a frame
    with ``rename_axis('run')`` names its runs so), and steps 0, 1, ..., n - 1 are steps: pandas >= 3 gives
    ``set_index('step')`` of them as this very index.

    Why: a frame whose default index had a name ('params': ``df.index.name = 'params'``) read 0, 1, 2 as its model
    sizes and was refused with "column 'params': params is 0.0, expected a finite non-negative number"; and one
    run's curve at every step from 0, indexed by its steps, lost them as positions ("duplicate run 'r0'")."""
    positions = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
    return [n for n in index.names if n is not None and not (positions and n not in _RANGE_AS_DATA)]


class RunTable:
    """A validated table of proxy runs.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns as in :mod:`mixlaw.data`'s docstring.
    path : str, optional
        Where the table came from; used in error messages.
    weight_tol : float, default=0.01
        Rows whose weights sum to 1 within this tolerance are accepted (renormalised; one :class:`DataWarning`
        counts the rows off by more than :data:`ROUNDING_TOL`, 1e-5, the rounding of stored values); others raise.
    lines : array-like of int, optional
        Editor line of each row in the source file, for error messages (defaults to position + 2, the CSV
        convention with a header on line 1, where ``path`` is given). A frame given with neither has no file:
        its errors name a row by its index label and 0-based position (:func:`~mixlaw.errors.rows_named`).
    labels : sequence, optional
        Each row's index label in the DataFrame it came from, with ``lines`` its 0-based position there (a frame
        reshaped before it became this table, as ``read_runs_mapped(df)`` merges log rows): named as above.
    tol_option : str or None, default="--weight-tol (weight_tol=)"
        How the row-sum error names the setting that widens ``weight_tol``, where the caller's user sets it
        (:func:`~mixlaw.data.weight_sum_error`'s ``option``; None: "fix the row" alone). ``law.predict(frame)``
        reads the frame at the fit's tolerance and takes no ``weight_tol`` of its own.

    Attributes
    ----------
    domains : list of str
        Training domains, in column order.
    evals : list of str
        Evaluation sets, in column order.

    Examples
    --------
    >>> import pandas as pd
    >>> t = RunTable(pd.DataFrame({"run": ["a", "b"], "w:web": [0.5, 1.0], "w:code": [0.5, 0.0],
    ...                            "loss:web": [3.1, 3.0]}))
    >>> t.domains, t.evals, t.weights.shape
    (['web', 'code'], ['web'], (2, 2))
    """

    def __init__(self, frame: pd.DataFrame, *, path: str | os.PathLike[str] | None = None,
                 weight_tol: float = WEIGHT_TOL, lines: Sequence[int] | None = None,
                 tol_option: str | None = TOL_OPTION, labels: Sequence[Any] | None = None) -> None:
        self.path = None if path is None else str(path)
        self._tol_option = tol_option
        self.weight_tol = float(weight_tol)
        if not 0 <= self.weight_tol < 1:  # also refuses NaN, which would accept any row sum
            raise InputError(f"weight_tol (--weight-tol) must be a number in [0, 1), got {weight_tol!r}")
        if not isinstance(frame, pd.DataFrame):
            # A dict of columns or a path stopped on "'dict' object has no attribute 'reset_index'".
            raise InputError(f"RunTable takes a pandas DataFrame, got {type(frame).__name__}: "
                             + ("mixlaw.read_runs(path) reads a file" if isinstance(frame, (str, os.PathLike))
                                else "RunTable(pd.DataFrame(columns)) for a mapping of columns"))
        flat_columns(frame, "RunTable")
        # An index named as a run table's column (df.set_index('run'), set_index(['run', 'params'])) is that column:
        # dropped, 'params' took the model sizes with it without a word, and 'run' read "missing 'run'".
        # A default RangeIndex with such a name (but 'step' or 'tokens') is the rows' positions: no column
        # (index_levels_of_data).
        moved = [n for n in index_levels_of_data(frame.index) if isinstance(n, str) and n not in frame.columns
                 and (n in META_COLUMNS or n.startswith((WEIGHT_PREFIX, LOSS_PREFIX)))]
        if moved:
            frame = frame.reset_index(level=moved)
        # A frame from Python (no file, no lines) keeps its index labels, and _lines holds its 0-based positions:
        # its errors name its rows by both (kept through subset), not as a CSV's lines (position + 2) of a file
        # there is not.
        self._labels: list[Any] | None = (list(labels) if labels is not None else
                                          frame.index.tolist() if path is None and lines is None else None)
        frame = frame.reset_index(drop=True).copy()
        if lines is None:
            lines = np.arange(len(frame)) + (2 if self._labels is None else 0)
        self._lines = np.asarray(lines, dtype=np.int64)
        # Evals computed from others (an eval group, --fit-total's objective) -> the evals weighed in them: a row
        # missing such an eval misses one of these, and the warning of :meth:`complete` names which.
        self._members: dict[str, list[str]] = {}
        self.frame = self._validate(frame)

    # ------------------------------------------------------------------ validation
    def _err(self, message: str, i: int | None = None, column: str | None = None) -> DataError:
        if i is not None and self._labels is not None:
            return DataError(message, path=self.path, row=int(self._lines[i]), column=column, label=self._labels[i])
        row = None if i is None else int(self._lines[i])
        return DataError(message, path=self.path, row=row, column=column)

    def _rows_named(self, rows: Any) -> str:
        """The rows at 0-based positions (or boolean mask) ``rows`` as a message names them
        (:func:`~mixlaw.errors.rows_named`): the file's lines, or an in-memory frame's index labels and positions."""
        pos = np.arange(len(self._lines))[rows]
        return rows_named(self.path, self._lines[pos], None if self._labels is None else [self._labels[i] for i in pos])

    def _validate(self, df: pd.DataFrame) -> pd.DataFrame:
        """Check every cell of the table and return it with numbers as float64 and weights renormalised; the
        first error names the file, row (editor line) and column."""
        cols = [str(c) for c in df.columns]
        df.columns = cols
        wcols = [c for c in cols if c.startswith(WEIGHT_PREFIX)]
        lcols = [c for c in cols if c.startswith(LOSS_PREFIX)]
        self._check_columns(df, cols, wcols, lcols)
        self._check_run_names(df)
        self._check_scale_aliases(df, cols)
        self._read_numbers(df, cols, wcols, lcols)
        w = self._check_weights(df, wcols)
        self._check_losses(df, lcols)
        self._check_counts(df, cols)
        self._check_duplicates(df, cols, lcols, w)
        # What a valid table may still get wrong, said once it is known to be valid (not before its error).
        self._warn_same_domains(w, wcols)
        self._warn_perplexity(df, lcols)
        self._warn_unfinished(df, cols)
        self._warn_unread_losses(df, cols)
        return df

    def _check_columns(self, df: pd.DataFrame, cols: list[str], wcols: list[str], lcols: list[str]) -> None:
        """A run column, two weight columns and a loss column, each named once; at least one row."""
        if len(df) == 0 and not (wcols and lcols):
            # A run store's export before any run finished has the columns run, params, step, tokens and no row;
            # it got the missing-columns error and a W&B --columns map to fix it.
            from_store = {"run", "params", "step", "tokens"} == set(cols) - set(wcols)
            store = (": a run store's export before any run of it finished ('mixlaw runs export --all' adds the "
                     "checkpoints of unfinished ones)") if from_store else ""
            raise self._err(f"the table has no rows{store}")
        missing = []
        if "run" not in cols:
            missing.append("'run'")
        if len(wcols) < 2:
            missing.append("at least two 'w:<domain>' weight columns")
        if not lcols:
            missing.append("at least one 'loss:<eval>' column")
        if missing:
            # A table with no run id at all (Dai & Zheng's sweep): the importer can number its runs.
            number = ("; a table with no run id: 'mixlaw runs import' numbers its runs (one per mixture and model "
                      "size)") if missing == ["'run'"] else ""
            # Only 'runs import' takes --columns: fit/compare/optimize said "map other names with --columns",
            # which they refuse. A lone 'loss' column (one eval set) is the commonest near miss.
            bare = (" A column 'loss' is one eval set: name it loss:<eval> (e.g. loss:val).") \
                if "loss" in cols and not lcols else ""
            long = None if lcols else long_format_hint(df, cols)
            if long is not None:  # renaming or mapping columns cannot turn rows into columns
                raise self._err(f"missing {', '.join(missing)}; found columns {known_names([], cols)}. {long}")
            raise self._err(f"missing {', '.join(missing)}; found columns {known_names([], cols)} "
                            "(a run table has run, w:<domain>, loss:<eval> columns; rename them, or "
                            f"{_mapping_hint(df, cols, self.path or 'TABLE')}{number}).{bare}")
        if len(df) == 0:
            raise self._err("the table has no rows")
        for c in cols:
            if not c.strip() or c in (WEIGHT_PREFIX, LOSS_PREFIX):
                raise self._err("empty column name", column=c)
        dup = [c for c in set(cols) if cols.count(c) > 1]
        if dup:
            raise self._err(f"duplicate column(s) {sorted(dup)}")
        seen: dict[str, str] = {}
        for c in cols:
            k = _twin_key(c)
            if k in seen:
                # as the readers refuse names that differ in case or spaces alone (reading._normalise_columns);
                # written escaped, since the two print alike
                raise self._err(f"columns {ascii(seen[k])} and {ascii(c)} are one name, {k!r}, written with other "
                                "Unicode characters (composed and decomposed accents, or zero-width characters): "
                                "drop or rename one", column=c)
            seen[k] = c

    def _check_run_names(self, df: pd.DataFrame) -> None:
        """Every row names its run; ids that are not text (numbers) become text."""
        # Missing before text: astype(str) made a missing id the name 'nan' (or 'None'), which the check then had
        # to refuse by that spelling, and so refused the runs truly named 'nan' or 'None'.
        raw = df["run"]
        bad = raw.map(lambda v: (isinstance(v, str) and not v.strip()) or (pd.api.types.is_scalar(v) and pd.isna(v)))
        if bad.any():
            n = int(bad.sum())
            raise self._err(f"the run name is empty ({n} of {len(df)} row{'s' if len(df) > 1 else ''} "
                            f"ha{'ve' if n > 1 else 's'} none): every row needs the name of the run it belongs to",
                            int(np.flatnonzero(bad.to_numpy())[0]), "run")
        df["run"] = raw.map(lambda v: v if isinstance(v, str) else str(v))

    def _read_numbers(self, df: pd.DataFrame, cols: list[str], wcols: list[str], lcols: list[str]) -> None:
        """Weights, losses and counts as float64 (shares written as percentages read as fractions); a cell that
        is text and no number is refused (an empty cell is a NaN, judged by the checks that follow)."""
        counts = [c for c in ("params", "step", "tokens") if c in cols]
        for c in wcols + lcols + counts:
            values = count_values(df[c]) if c in counts else pd.to_numeric(df[c], errors="coerce")
            if c in wcols:
                values = _percent_cells(df[c], values)
            bad = values.isna() & ~df[c].isna()
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise self._err(f"value {df[c].iloc[i]!r} is not a number{_not_a_number_hint(df[c].iloc[i], c)}", i, c)
            df[c] = values.astype(np.float64)

    def _check_weights(self, df: pd.DataFrame, wcols: list[str]) -> np.ndarray:
        """Shares finite and >= 0, each row summing to 1 within ``weight_tol`` (renormalised, said once when off by
        more than rounding); a domain no run trains on is warned of. Returns the (renormalised) weights."""
        w = df[wcols].to_numpy(dtype=np.float64)
        for j, c in enumerate(wcols):
            col = w[:, j]
            bad = ~np.isfinite(col)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                # An empty cell, most often a share of 0 a spreadsheet left blank: said so, with what the row's
                # other shares make it (a cell is not read as 0 unasked).
                rest, n = float(np.nansum(w[i])), int(np.isnan(w).sum())
                cells = f"{n} empty cells" if n > 1 else "an empty cell"
                empty = "" if not np.isnan(col[i]) else (
                    f" ({cells}: write every share, 0 included; every weight of this row is empty: a base "
                    "model's row, before continual pretraining? only mixlaw continual reads those)"
                    if np.isnan(w[i]).all() else
                    f" ({cells}: write every share, 0 included; the row's other shares sum to {rest:.6g}"
                    + (", so this one is 0)" if not beyond_tol(abs(rest - 1.0), self.weight_tol) else ")"))
                raise self._err(f"weight is {col[i]}, expected a finite number{empty}", i, c)
            bad = col < 0
            if bad.any():
                raise self._err(f"weight is {col[bad][0]:g}, expected >= 0", int(np.flatnonzero(bad)[0]), c)
        sums = w.sum(axis=1)
        off = np.abs(sums - 1.0)
        if beyond_tol(off, self.weight_tol).any():
            column, hint = _no_domain_column(w, wcols, sums, self.weight_tol)
            i, message = weight_sum_error(sums, self.weight_tol, self._tol_option, hint=hint)  # type: ignore[misc]
            raise self._err(message, i, column or wcols[0])
        renorm = off > 1e-9
        if renorm.any():
            w = w / sums[:, None]
            df[wcols] = w
        # Inclusive as weight_tol is: a row written to 5 decimals and off by one unit of the last (1e-5 as written)
        # is 1.0000000000065e-05 off in float64, and was said as a repair.
        loud = beyond_tol(off, ROUNDING_TOL)
        if loud.any():
            warnings.warn(f"{self.path or 'run table'}: renormalised the weights of {int(loud.sum())} of "
                          f"{len(df)} rows that summed to 1 within {self.weight_tol:g} "
                          f"(largest deviation {off.max():.3g})", DataWarning, stacklevel=user_stacklevel())
        never = [c[len(WEIGHT_PREFIX):] for j, c in enumerate(wcols) if not (w[:, j] > 0).any()]
        if never:
            # Its coefficient is then set by the start value and bounds alone, and any prediction or optimum
            # that gives it weight is an extrapolation.
            warnings.warn(f"{self.path or 'run table'}: domain(s) {never} have weight 0 in every run; no law can "
                          f"estimate their effect (drop them, or add runs that train on them)", UnusedDomainWarning,
                          stacklevel=user_stacklevel())
        return w

    def _check_losses(self, df: pd.DataFrame, lcols: list[str]) -> None:
        """Losses positive; a NaN is an eval the run lacks (kept), an infinite one a diverged run (refused)."""
        L = df[lcols].to_numpy(dtype=np.float64)
        # A NaN loss is an eval the run lacks (added later, a crashed eval job): kept, and each fit of an eval uses
        # the rows that have it (:meth:`complete`); :meth:`losses` refuses it, so no fit or metric sees a NaN.
        for c in lcols:
            col = df[c].to_numpy(dtype=np.float64)
            bad = np.isinf(col)
            if bad.any():
                # NaN is a missing eval (above); these are +-inf, a diverged run's evals: count their rows.
                # The command is for a file; an importer's table (a TensorBoard folder, a W&B project) says the fix.
                n = int(np.isinf(L).any(axis=1).sum())
                how = (f" with 'mixlaw runs import {self.path} --drop-incomplete --out runs.parquet'"
                       if self.path is not None and os.path.isfile(self.path) else "")
                raise self._err(f"loss is {col[bad][0]}, expected a finite positive number ({n} of {len(df)} "
                                f"row{'s' if len(df) > 1 else ''} have an infinite loss: a diverged run? leave those "
                                f"rows out{how}, and check that run's last finite losses)",
                                int(np.flatnonzero(bad)[0]), c)
            bad = col <= 0  # False for NaN
            if bad.any():
                raise self._err(f"loss is {col[bad][0]:g}, expected > 0 ({NONPOSITIVE_HINT})",
                                int(np.flatnonzero(bad)[0]), c)

    def _check_counts(self, df: pd.DataFrame, cols: list[str]) -> None:
        """Model size, step and tokens finite and >= 0 (a model size > 0)."""
        for c in ("params", "step", "tokens"):
            if c in cols:
                col = df[c].to_numpy(dtype=np.float64)
                bad = ~np.isfinite(col) | (col < 0) | ((col == 0) & (c == "params"))
                if bad.any():
                    raise self._err(f"{c} is {col[bad][0]}, expected a finite non-negative number",
                                    int(np.flatnonzero(bad)[0]), c)

    def _check_duplicates(self, df: pd.DataFrame, cols: list[str], lcols: list[str], w: np.ndarray) -> None:
        """One row per run, model size, step and tokens; a repeat is refused with its likely cause (a checkpoint
        column under another name, seeds under one run name, a row given twice, two runs under one name)."""
        L = df[lcols].to_numpy(dtype=np.float64)
        key = ["run"] + [c for c in ("params", "step", "tokens") if c in cols]
        dupl = df.duplicated(subset=key, keep="first")
        if dupl.any():
            i = int(np.flatnonzero(dupl.to_numpy())[0])
            first = int(np.flatnonzero((df[key] == df[key].iloc[i]).all(axis=1).to_numpy())[0])
            name = df["run"].iloc[i]
            same_w = np.array_equal(w[i], w[first])
            # A column that tells the rows apart is most often the checkpoint under another name (W&B's '_step').
            apart = [c for c in cols if c not in key and not c.startswith((WEIGHT_PREFIX, LOSS_PREFIX))
                     and any(word in c.lower() for words in SCALE_COLUMN_WORDS.values() for word in words)
                     and str(df[c].iloc[i]) != str(df[c].iloc[first])]
            seeds = [c for c in cols if "seed" in c.lower() and str(df[c].iloc[i]) != str(df[c].iloc[first])]
            if apart:
                why = (f"; the rows differ in {apart[0]!r}: if it is the checkpoint or the model size, name it "
                       "'step', 'tokens' or 'params'")
            elif seeds:
                # The seed is in the table: say so, not "a repeated seed?".
                why = (f"; the rows differ in {seeds[0]!r}, repeated seeds: give each its own run name (e.g. "
                       f"'{name}-s{df[seeds[0]].iloc[i]}'), and they count as repeated measurements of one mixture")
            elif same_w and np.array_equal(L[i], L[first]):
                why = "; the same row twice: drop one"
            elif same_w:
                # Seeds exported under one name: with names of their own they are repeated measurements.
                why = (f"; other losses for the same mixture: a repeated seed? give each seed its own run name (e.g. "
                       f"'{name}-s1'), and its checkpoints join the curve of its mixture and size")
            else:
                why = "; another mixture: two runs under one name? give each its own"
            raise self._err(f"duplicate run {name!r} (same {', '.join(key)} as {self._rows_named([first])}{why})",
                            i, "run")

    def _warn_same_domains(self, w: np.ndarray, wcols: list[str]) -> None:
        """Warn of weight columns that are equal, or proportional, in every run (one domain exported under two names,
        or two domains the design always mixed in one ratio): no law can tell their effects apart, and an optimum
        split its share between them at random (0.06 and 0.45 of two copies of one domain, without a word)."""
        used = np.flatnonzero((w > 0).any(axis=0))
        # Two mixtures' columns are proportional by chance alone, and one mixture's all are (a table of seeds).
        if used.size < 2 or np.unique(np.round(w, 9), axis=0).shape[0] < 3:
            return
        unit = np.round(w[:, used] / w[:, used].sum(axis=0), 9)
        groups: dict[bytes, list[str]] = {}
        for j, k in enumerate(used):
            groups.setdefault(np.ascontiguousarray(unit[:, j]).tobytes(), []).append(wcols[k])
        same = [g for g in groups.values() if len(g) > 1]
        if same:
            shown = "; ".join(" and ".join(g) for g in same[:3]) + (" and more" if len(same) > 3 else "")
            warnings.warn(f"{self.path or 'run table'}: weight columns {shown} are proportional in every run: no law "
                          "can tell their effects apart, and an optimum splits their share between them at random; "
                          "merge them into one column (their sum), or add runs that vary them apart", DataWarning,
                          stacklevel=user_stacklevel())

    def _warn_unread_losses(self, df: pd.DataFrame, cols: list[str]) -> None:
        """Warn of number columns named as losses that are not read as eval sets (:func:`unread_loss_columns`):
        a table with 'loss:pile_cc' beside 'loss_github' and 'eval/arxiv/loss' fitted pile_cc alone with
        --target all, without a word of the other two."""
        unread = unread_loss_columns(df, cols)
        if unread:
            more = f" and {len(unread) - 3} more" if len(unread) > 3 else ""
            warnings.warn(f"{self.path or 'run table'}: column(s) {unread[:3]}{more} look like losses but are not "
                          f"read: a loss column is named loss:<eval> (rename {unread[0]!r} to "
                          f"'loss:{_eval_name_of(unread[0])}' to fit it, or drop it)", DataWarning,
                          stacklevel=user_stacklevel())

    def _warn_unfinished(self, df: pd.DataFrame, cols: list[str]) -> None:
        """Warn of rows whose run state says the run did not finish (:func:`unfinished_runs`)."""
        line = unfinished_runs(df, self._lines, self.path or "run table", labels=self._labels)
        if line is not None:
            warnings.warn(line, DataWarning, stacklevel=user_stacklevel())

    def _warn_perplexity(self, df: pd.DataFrame, lcols: list[str]) -> None:
        """Warn of the loss columns that read as perplexities: every value above :data:`PERPLEXITY_FLOOR`, or a name
        that says so ('ppl', 'perplexity') with values above :data:`MAX_TOKEN_NATS`. A table of perplexities 24-89
        (exp of a loss) was fitted and optimised as losses without a word."""
        hits = []
        for c in lcols:
            v = df[c].to_numpy(dtype=np.float64)
            v = v[np.isfinite(v)]
            if not v.size:
                continue
            if HIGHER_IS_BETTER.search(c[len(LOSS_PREFIX):]):  # an accuracy in percent: optimize warns of those
                continue
            named = re.search(r"(?<![a-z])(ppl|perplexity)(?![a-z])", c[len(LOSS_PREFIX):].lower()) is not None
            if v.min() > PERPLEXITY_FLOOR or (named and v.max() > MAX_TOKEN_NATS):
                hits.append(f"{c} ({v.min():.3g} to {v.max():.3g})")
        if hits:
            more = " and more" if len(hits) > 3 else ""
            warnings.warn(f"{self.path or 'run table'}: the values of {', '.join(hits[:3])}{more} "
                          f"lie above any per-token loss (ln of a 256k vocabulary is {MAX_TOKEN_NATS:g} nats): if they "
                          "are perplexities, store their log, the loss the laws are made for (a law fitted to "
                          "perplexities extrapolates and averages them as losses); ignore this if they are losses "
                          "summed over a sequence", PerplexityWarning, stacklevel=user_stacklevel())

    def _check_scale_aliases(self, df: pd.DataFrame, cols: list[str]) -> None:
        """Stop at a column named as another export names the model size, step or tokens whose values differ
        (:func:`scale_look_alike`), when the table lacks the column of that name."""
        hit = scale_look_alike(df, cols, set(cols))
        if hit is not None:
            column, canon, said = hit
            raise self._err(f"{said}: rename it {canon!r} (or drop it if it is not {_SCALE_WHAT_ONE[canon]}); left "
                            f"as it is, the rows of {_SCALE_EVERY[canon]} would be fitted as one", column=column)

    # ------------------------------------------------------------------ accessors
    @property
    def domains(self) -> list[str]:
        """Training domains (the ``w:<domain>`` columns), in column order."""
        return [c[len(WEIGHT_PREFIX):] for c in self.frame.columns if c.startswith(WEIGHT_PREFIX)]

    @property
    def evals(self) -> list[str]:
        """Evaluation sets (the ``loss:<eval>`` columns), in column order."""
        return [c[len(LOSS_PREFIX):] for c in self.frame.columns if c.startswith(LOSS_PREFIX)]

    @property
    def weights(self) -> np.ndarray:
        """ndarray of shape (n_rows, n_domains), float64."""
        return self.frame[[WEIGHT_PREFIX + d for d in self.domains]].to_numpy(dtype=np.float64)

    @property
    def runs(self) -> np.ndarray:
        """The ``run`` id of each row (a run's checkpoints and sizes share it)."""
        return self.frame["run"].to_numpy()

    def __len__(self) -> int:
        return len(self.frame)

    def _optional(self, name: str) -> np.ndarray | None:
        return self.frame[name].to_numpy(dtype=np.float64) if name in self.frame.columns else None

    @property
    def model_params(self) -> np.ndarray | None:
        """Model size N per row (non-embedding parameters), or None."""
        return self._optional("params")

    @property
    def steps(self) -> np.ndarray | None:
        """Training step (checkpoint) per row, or None without a ``step`` column."""
        return self._optional("step")

    @property
    def tokens(self) -> np.ndarray | None:
        """Training tokens seen per row, or None without a ``tokens`` column."""
        return self._optional("tokens")

    def resolve_targets(self, targets: str | Sequence[str] | None = None) -> list[str]:
        """Map target names (``"pile_cc"``, ``"loss:pile_cc"``, ``"all"``) to eval names.

        Raises
        ------
        InputError
            An unknown target, listing the known ones.
        """
        if targets is not None and not isinstance(targets, str):
            targets = list(targets) if isinstance(targets, Iterable) else targets
            if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
                # fit(table, targets=3) stopped on "TypeError: 'int' object is not iterable", targets=[0] on
                # "'int' object has no attribute 'startswith'".
                raise InputError(f"targets: expected an eval name, a list of them, or 'all' (the table's evals: "
                                 f"{known_names([], self.evals)}); got {targets!r}"[:300])
        if targets is None or targets == "all" or (not isinstance(targets, str) and list(targets) == ["all"]):
            return self.evals
        if isinstance(targets, str):
            targets = [targets]
        targets = list(targets)
        if not targets:
            # fit(table, targets=[]) said "0 losses are too few to fit 0 parameters".
            raise InputError(f"{self.path or 'run table'}: no target given (targets=[]); name eval sets, or 'all' "
                             f"for every one of {known_names([], self.evals)}")
        out = []
        for t in targets:
            name = t[len(LOSS_PREFIX):] if t.startswith(LOSS_PREFIX) else t
            if t in self.evals:
                # An eval whose own name starts with 'loss:' (a column 'loss:loss:x', a metrics file's 'loss:x' read as
                # an Olmix pair) is itself: every command's default targets, the table's evals, said "unknown target
                # 'loss:x'; the table has loss columns for ['loss:x']", and beside an eval 'x' (a column 'loss:x')
                # "target 'x' is named twice". An eval's own name wins, as an objective's does.
                name = t
            if name not in self.evals:
                # The command line splits --target at commas: an eval named 'x, y' arrived as 'x' and 'y', and
                # the error suggested the very 'x, y' the user had typed.
                comma = next((e for e in self.evals if "," in e and name in (p.strip() for p in e.split(","))), None)
                quote = ("" if comma is None else
                         f"; a name with a comma goes in double quotes: --target '\"{comma}\"'")
                # --target github on a table whose github losses sit in a column 'loss_github' (not read as a loss)
                # listed the other evals with no word of it.
                near = [c for c in unread_loss_columns(self.frame, [str(c) for c in self.frame.columns])
                        if name.lower() in c.lower()]
                if near:
                    quote += (f"; column {near[0]!r} is not read as a loss: name it 'loss:{name}' (a loss column is "
                              "named loss:<eval>)")
                raise InputError(f"{self.path or 'run table'}: unknown target {t!r}; the table has "
                                 f"loss columns for {known_names([name], self.evals)} (or use 'all'){quote}")
            if name in out:
                # A law's parameters are named per target: fitting 'a' twice stopped on a ValueError, "duplicate
                # parameter name 'a.c'", with a traceback (--target a --target a).
                raise InputError(f"{self.path or 'run table'}: target {name!r} is named twice (targets=, --target): "
                                 "name each eval set once")
            out.append(name)
        return out

    def losses(self, targets: str | Sequence[str] | None = None, *, allow_missing: bool = False) -> np.ndarray:
        """Losses of the given targets: shape (n_rows,) for one name, (n_rows, n_targets) for a list.

        ``allow_missing``: a missing loss is NaN in the array (for a fit that uses each eval's own rows: ``auto`` and
        ``stack`` per eval set, :meth:`~mixlaw.laws.base.MixingLaw._fits_ragged`), not an error.

        Raises
        ------
        DataError
            A row misses one of these losses (a NaN cell): take :meth:`complete` first, the rows that have them.
        """
        names = self.resolve_targets(targets)
        arr = self.frame[[LOSS_PREFIX + n for n in names]].to_numpy(dtype=np.float64)
        missing = np.isnan(arr)
        if missing.any() and not allow_missing:
            # Real sweeps often miss an eval at a checkpoint or two: say how many and how to get past them, not
            # just the first cell, so one pass fixes the table.
            lcols = [LOSS_PREFIX + n for n in names]
            i, j = (int(k[0]) for k in np.nonzero(missing))
            per_col = ", ".join(f"{c} {int(n)}" for c, n in zip(lcols, missing.sum(axis=0), strict=True) if n)
            raise self._err(f"loss is nan, expected a finite positive number ({int(missing.any(axis=1).sum())} of "
                            f"{len(self)} rows miss a loss: {per_col}; fit and optimize take the rows that have "
                            "their targets' losses, or leave those rows out with 'mixlaw runs import "
                            f"{self.path or 'TABLE'} --drop-incomplete --out runs.parquet' (add --evals EVAL,... to "
                            "import only the evals you fit and keep the rows that miss another), or drop those "
                            "columns)", i, lcols[j])
        return arr[:, 0] if isinstance(targets, str) and targets != "all" else arr

    def missing_losses(self, targets: str | Sequence[str] | None = None) -> dict[str, int]:
        """Per eval of ``targets`` (default all), the number of rows without its loss (NaN cells), 0 included."""
        names, miss = self._missing(targets)
        return {n: int(k) for n, k in zip(names, miss.sum(axis=0), strict=True)}

    def rows_left_out(self, targets: str | Sequence[str] | None = None) -> dict[str, int]:
        """:meth:`missing_losses` without the evals that miss none: what a fit on :meth:`complete` leaves out."""
        return {n: k for n, k in self.missing_losses(targets).items() if k}

    def rows_with_any(self, targets: str | Sequence[str] | None = None, *, who: str = "",
                      stacklevel: int = 2) -> RunTable:
        """The rows that have a loss for at least one eval of ``targets`` (default all), for a fit that uses each
        eval's own rows (``auto`` / ``stack`` per eval set): ``self`` when every row has one. A row without any is
        lost to every eval, which :meth:`rows_left_out` counts for each. When some row misses a loss a
        :class:`DataWarning` says so as :meth:`complete` does (per eval, and the first lines), naming the fit
        ``who`` (a law's label).

        Raises
        ------
        DataError
            An eval of ``targets`` has no value in any row.
        """
        names, miss = self._missing(targets)
        if miss.any():
            out = miss.any(axis=1)
            per = ", ".join(f"loss:{n} {int(k)}{self._missing_members(n, miss[:, j])}"
                            for j, (n, k) in enumerate(zip(names, miss.sum(axis=0), strict=True)) if k)
            warnings.warn(f"{self.path or 'run table'}: {who + ' ' if who else ''}fitting each eval on the rows that "
                          f"have its loss; left out the rows with no value ({per} of {len(self)} rows; "
                          f"{self._rows_named(out)})", DataWarning, stacklevel=user_stacklevel(stacklevel))
        none = [n for n, k in zip(names, miss.sum(axis=0), strict=True) if k == len(self)]
        if none:
            rest = [n for n in names if n not in none]
            raise DataError(f"{', '.join(f'loss:{n}' for n in none)} {'has' if len(none) == 1 else 'have'} no value "
                            f"in any of the {len(self)} rows: leave {'it' if len(none) == 1 else 'them'} out"
                            + (f" (--target {','.join(rest)}, targets={rest!r})" if rest else "")
                            + f" or drop {'its column' if len(none) == 1 else 'their columns'}", path=self.path)
        keep = self.measured_rows(names)
        return self if len(keep) == len(self) else self.subset(keep)

    def measured_rows(self, targets: str | Sequence[str] | None = None) -> np.ndarray:
        """Indices of the rows that have a loss for at least one eval of ``targets`` (default all)."""
        return np.flatnonzero(~self._missing(targets)[1].all(axis=1))

    def complete_rows(self, targets: str | Sequence[str] | None = None) -> np.ndarray:
        """Indices of the rows that have a loss for every eval of ``targets`` (default all)."""
        return np.flatnonzero(~self._missing(targets)[1].any(axis=1))

    def _missing(self, targets: str | Sequence[str] | None) -> tuple[list[str], np.ndarray]:
        """The resolved eval names and the (rows, evals) mask of their NaN loss cells."""
        names = self.resolve_targets(targets)
        return names, np.isnan(self.frame[[LOSS_PREFIX + n for n in names]].to_numpy(dtype=np.float64))

    def complete(self, targets: str | Sequence[str] | None = None, *, doing: str = "fitting",
                 stacklevel: int = 2, hint: str | None = None) -> RunTable:
        """The rows that have a loss for every eval of ``targets`` (default all): ``self`` when none misses one.

        One eval is fitted on every row where it was measured; several fitted together (one law, a mean or
        weighted objective) on the rows where each of them was. A :class:`DataWarning` counts the rows left out
        per eval and names their first lines (:meth:`complete_line` returns that line instead of warning it).
        ``hint``: the line's last clause, as in :meth:`complete_line`.

        Raises
        ------
        DataError
            No row has every one of these losses.
        """
        table, line = self.complete_line(targets, doing=doing, hint=hint)
        if line is not None:
            warnings.warn(line, DataWarning, stacklevel=user_stacklevel(stacklevel))
        return table

    def complete_line(self, targets: str | Sequence[str] | None = None, *, doing: str = "fitting",
                      hint: str | None = None) -> tuple[RunTable, str | None]:
        """:meth:`complete`'s table and the line it warns (None when no row misses a loss), without warning: for
        a caller that collects its warnings (the pipeline's ``result.warnings``). ``hint``: the line's last clause
        (after '; '), in place of the one that says how to fit each eval on every row that has it (:data:`OWN_ROWS_HINT`
        where the law's own fit reads the rows)."""
        names, miss = self._missing(targets)
        out = miss.any(axis=1)
        if not out.any():
            return self, None
        per = ", ".join(f"loss:{n} {int(k)}{self._missing_members(n, out)}"
                        for n, k in zip(names, miss.sum(axis=0), strict=True) if k)
        where = self.path or "run table"
        if out.all():
            # An eval no row has (a column left empty) is the cause most often: name it, and the evals to fit.
            none = [n for n, k in zip(names, miss.sum(axis=0), strict=True) if k == len(self)]
            rest = [n for n in names if n not in none]
            raise DataError(f"no row has a loss for every one of {names} ({per} of {len(self)} rows miss one): "
                            + (f"{names[0]} has no value in any row" if len(names) == 1 else
                               f"{', '.join(none)} {'has' if len(none) == 1 else 'have'} no value in any row: leave "
                               f"{'it' if len(none) == 1 else 'them'} out (--target {','.join(rest)}) or drop "
                               f"{'its column' if len(none) == 1 else 'their columns'}" if none and rest else
                               "fit each eval alone (--target EVAL) on the rows it has"), path=self.path)
        who = f"loss:{names[0]}" if len(names) == 1 else ", ".join(names)
        alone = (f"; {hint}" if hint else "" if len(names) == 1 else
                 "; fit an eval alone (--target EVAL) to use every row it has")
        line = (f"{where}: {doing} {who} on the {int((~out).sum())} of {len(self)} rows that have "
                f"{'it' if len(names) == 1 else 'each of them'}; left out {int(out.sum())} "
                f"row{'s' if out.sum() > 1 else ''} with no value ({per}; {self._rows_named(out)}){alone}")
        return self.subset(~out), line

    def members_of(self, name: str) -> list[str]:
        """The evals that eval ``name`` is computed from (an ``--eval-group``, a weighted total: those weighed above
        0), or [] for an eval of the table's own."""
        return list(getattr(self, "_members", {}).get(name) or [])

    def _missing_members(self, name: str, rows: np.ndarray) -> str:
        """For an eval computed from others, which of them the ``rows`` miss: ', for want of loss:b 3'."""
        members = self.members_of(name)
        if not members:
            return ""
        miss = np.isnan(self.frame[[LOSS_PREFIX + m for m in members]].to_numpy(dtype=np.float64)[rows])
        return ", for want of " + ", ".join(f"loss:{m} {int(k)}" for m, k in zip(members, miss.sum(axis=0),
                                                                                 strict=True) if k)

    def subset(self, rows: Any) -> RunTable:
        """A new RunTable with the selected rows (boolean mask of ``len(table)``, or 0-based integer positions)."""
        try:
            idx = np.arange(len(self))[rows]
        except IndexError as err:
            # table.subset(["run_a"]) or subset([500]) of 127 rows stopped on numpy's IndexError ('only integers,
            # slices ... are valid indices').
            raise InputError(f"{self.path or 'run table'}: subset takes a boolean mask of its {len(self)} rows or "
                             f"0-based row positions ({err}); to select runs by name: "
                             "table.subset(np.isin(table.runs, names))") from None
        out = RunTable.__new__(RunTable)
        out.path, out.weight_tol = self.path, self.weight_tol
        out._lines = self._lines[idx]
        out._labels = None if self._labels is None else [self._labels[i] for i in idx]
        out._members = dict(getattr(self, "_members", {}))
        out.frame = self.frame.iloc[idx].reset_index(drop=True)
        return out

    def source_line(self, i: int) -> int | None:
        """Row ``i``'s line in the file the table was read from (an editor's line, the header line 1), as the table's
        errors name it; kept through :meth:`subset`. None for a table built from a frame, which has no file."""
        return None if self.path is None or self._labels is not None else int(self._lines[i])

    def take(self, indices: Any, axis: int = 0) -> RunTable:
        """The rows at 0-based positions ``indices`` (:meth:`subset`), named as pandas' ``DataFrame.take``.

        Why: scikit-learn splits a table that has ``iloc`` by ``X.take(positions, axis=0)`` (``_safe_indexing``), so
        with :attr:`iloc` and this ``cross_val_score(law, table)``, ``GridSearchCV(...).fit(table)`` and
        ``train_test_split(table)`` split a RunTable as they split its DataFrame; without them scikit-learn wrapped
        the table in a 0-d object array and stopped on 'Input should have at least 1 dimension'."""
        if axis not in (0, "index"):
            raise InputError(f"{self.path or 'run table'}: take selects rows (axis=0), got axis={axis!r}; the "
                             "columns are the table's own (domains, evals)")
        pos = np.asarray(indices)
        if pos.dtype == bool or (pos.size and not np.issubdtype(pos.dtype, np.integer)):
            # np.asarray(mask, dtype=np.intp) read a mask [True, False, True] as the rows 1, 0, 1 and [1.7] as row 1,
            # silently (pandas' take does too); a mask has subset and iloc.
            raise InputError(f"{self.path or 'run table'}: take selects rows by 0-based integer position; got "
                             f"{pos.dtype} values (a boolean mask: table.subset(mask) or table.iloc[mask])")
        return self.subset(pos.astype(np.intp).reshape(-1))

    @property
    def iloc(self) -> _RowIndexer:
        """``table.iloc[rows]`` is ``table.subset(rows)`` (a slice, a mask or positions; one position gives a one-row
        table): the pandas row indexer scikit-learn looks for (:meth:`take`)."""
        return _RowIndexer(self)

    def filter(self, *, params: float | None = None, step: float | None = None,
               model_params: float | None = None) -> RunTable:
        """Rows at one model size (``params``, the table's ``params`` column; ``model_params`` is its older name, a
        silent alias) and/or one step."""
        model_params = renamed("params", params, "model_params", model_params)
        mask = np.ones(len(self), dtype=bool)
        for name, value in (("params", model_params), ("step", step)):
            if value is not None:
                if name not in self.frame.columns:
                    raise InputError(f"{self.path or 'run table'}: cannot filter on {name!r}: no such column")
                mask &= self.frame[name].to_numpy() == value
        return self.subset(mask)

    def check_compatible(self, other: RunTable) -> None:
        """Raise :class:`DataError` unless ``other`` has the same training domains (same order not required)."""
        a, b = set(self.domains), set(other.domains)
        # Any difference but an all-zero domain of the held-out runs is an error.
        b -= set(unseen_zero_domains(other.frame, sorted(b - a), other.path or "held-out table",
                                     "the fitting runs'", stacklevel=2))
        if a != b:
            extra, missing = sorted(b - a), sorted(a - b)
            parts = []
            if missing:
                parts.append(f"missing weight column(s) {['w:' + d for d in missing]}")
            if extra:
                parts.append(f"unexpected weight column(s) {['w:' + d for d in extra]}")
            raise DataError("training domains differ from " + (self.path or "the fitting table") + ": "
                            + "; ".join(parts) + case_hint(missing, extra), path=other.path,
                            column="w:" + (missing or extra)[0])

    def weights_for(self, domains: Sequence[str]) -> np.ndarray:
        """Weights reordered to ``domains`` (the order a law was fitted with)."""
        missing = [d for d in domains if d not in self.domains]
        if missing:
            raise missing_law_domains(missing, self.path)
        return self.frame[[WEIGHT_PREFIX + d for d in domains]].to_numpy(dtype=np.float64)

    def scale_summary(self) -> dict[str, Any]:
        """Where these runs sit: median model size and tokens (None when absent), their (min, max) when the
        runs span several scales (``params_range`` / ``tokens_range``, see :meth:`scale_spread`), and per eval
        set the (min, median, max) loss. :func:`~mixlaw.data.scales.scale_mismatch` compares two of these."""
        med = {c: None if (v := self._optional(c)) is None else float(np.median(v)) for c in ("params", "tokens")}
        spread = self.scale_spread()
        ranges = {f"{c}_range": (spread[c][1], spread[c][2]) for c in ("params", "tokens") if c in spread}
        # Over the rows that have the eval (a NaN cell is a missing one); an eval no row has gets no entry.
        cols = {e: (v := self.frame[LOSS_PREFIX + e].to_numpy(dtype=np.float64))[~np.isnan(v)] for e in self.evals}
        losses = {e: tuple(float(f(v)) for f in (np.min, np.median, np.max)) for e, v in cols.items() if v.size}
        return {**med, **ranges, "losses": losses}

    def weight_ranges(self) -> dict[str, tuple[float, float]]:
        """Each domain's (min, max) share over the rows (:func:`~mixlaw.data.scales.scale_mismatch` says when another
        table leaves them)."""
        W = self.weights
        return {d: (float(W[:, j].min()), float(W[:, j].max())) for j, d in enumerate(self.domains)} if len(W) else {}

    def scale_spread(self) -> dict[str, tuple[int, float, float]]:
        """The scale columns (``params``, ``tokens``, ``step``) whose values differ by more than
        :data:`SCALE_RATIO`: column -> (number of distinct values, min, max). A mixing law that does not take
        that column as an input fits one loss surface across those scales."""
        out = {}
        for c in ("params", "tokens", "step"):
            v = self._optional(c)
            if v is not None and v.size and v.min() > 0 and v.max() / v.min() > SCALE_RATIO:
                out[c] = (int(np.unique(v).size), float(v.min()), float(v.max()))
        return out

    def has_checkpoints(self) -> bool:
        """Whether some run has several rows at one model size (checkpoints along its curve), which
        ``--final-step`` cuts to its last: a table of one row per run (AutoScale's, each run at its own token
        count) has none, and the scale warning then offers no cut that cannot work."""
        sizes = self.model_params
        key = pd.DataFrame({"run": self.runs, "size": np.zeros(len(self)) if sizes is None else sizes})
        return bool(key.duplicated().any())

    def __repr__(self) -> str:
        return (f"RunTable({len(self)} rows, {len(self.domains)} domains, evals={self.evals}"
                + (f", path={self.path!r}" if self.path else "") + ")")


def missing_law_domains(missing: Sequence[str], path: str | None = None) -> DataError:
    """The error for mixtures without a weight column of the law's domains ``missing`` (``path``: their file)."""
    return DataError(f"missing weight column(s) {[WEIGHT_PREFIX + d for d in missing]} that the law was fitted on",
                     path=path, column=WEIGHT_PREFIX + missing[0])


def frame_as_table(table: Any) -> Any:
    """``table`` as a :class:`RunTable` where it is a DataFrame in the run table's columns (validated as
    ``RunTable(df)`` is; a weight-sum error names ``weight_tol=`` by :data:`FRAME_TOL_OPTION`), anything else as
    it is, for the caller's own check: how ``fit_pipeline``, ``bootstrap_law``, ``select_runs`` and
    ``active_design`` take a frame, as ``law.fit(df)`` does."""
    return RunTable(table, tol_option=FRAME_TOL_OPTION) if isinstance(table, pd.DataFrame) else table


class _RowIndexer:
    """:attr:`RunTable.iloc`: rows by position, as a RunTable."""

    def __init__(self, table: RunTable) -> None:
        self._table = table

    def __getitem__(self, rows: Any) -> RunTable:
        if isinstance(rows, tuple):
            raise InputError(f"{self._table.path or 'run table'}: iloc selects rows only (table.iloc[rows]); the "
                             "columns are the table's own (domains, evals)")
        return self._table.subset([rows] if isinstance(rows, (int, np.integer)) else rows)


#: Two tables are at the same model size / token count when their medians are within this factor.
SCALE_RATIO = 1.1


#: Decimals to which two runs' rows (shares, and model size and tokens) must agree to be one point: a mixture run at
#: several seeds, its shares read back from text.
ROW_DECIMALS = 12


def distinct_rows(*blocks: Any) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``blocks`` side by side (one row per run; a 1-D block is a column, None is left out),
    rows equal to :data:`ROW_DECIMALS` decimals being one: ``(first, group)``, the first run (in the runs' order)
    of each distinct row, and each run's group, the distinct rows numbered in the order of their content
    (lexicographic, first column first). What runs by them (cross-validation folds, the fit's count of distinct
    mixtures, the optimiser's one anchor per mixture) therefore does not change when the same runs come in
    another order."""
    cols = [np.asarray(b, dtype=np.float64) for b in blocks if b is not None]
    n = len(cols[0])
    X = np.round(np.column_stack([c.reshape(n, -1) for c in cols]), ROW_DECIMALS)
    _, first, inv = np.unique(X, axis=0, return_index=True, return_inverse=True)
    return first, np.ravel(inv)


#: A column name that says loss: 'loss' as a word ('val_loss', 'eval/arxiv/loss', 'valLoss'), or run into a split's
#: name ('valloss'); not inside another word ('gloss').
_SAYS_LOSS = re.compile(r"(?<![A-Za-z])[Ll]oss|(?<=[a-z])Loss|(?i:(?:train|val|valid|eval|test|dev)loss)|LOSS")
#: ... and not a setting or a statistic of one: a trainer's 'loss_scale' (fp16), 'z_loss_weight', 'aux_loss_coef',
#: 'eval_loss_std' (W&B exports carry such config columns).
_LOSS_SETTING = re.compile(r"(?i)loss[/_.\- ]*(?:scale|scaling|weight|weights|coef|coeff|coefficient|multiplier|factor"
                           r"|window|fn|type|std|stderr|sem|var|ratio)(?![a-z])")


def unread_loss_columns(df: pd.DataFrame, cols: list[str]) -> list[str]:
    """The columns of ``df`` whose name says loss ('loss_github', 'eval/arxiv/loss', 'val_loss') and that hold
    numbers, but that the run table does not read: neither 'loss:<eval>' nor 'w:<domain>' nor a scale column, nor a
    loss's setting or statistic ('loss_scale', 'z_loss_weight', 'eval_loss_std': :data:`_LOSS_SETTING`)."""
    out = []
    for c in cols:
        if c.startswith((WEIGHT_PREFIX, LOSS_PREFIX)) or c in META_COLUMNS or not _SAYS_LOSS.search(c) \
                or _LOSS_SETTING.search(c):
            continue
        v = pd.to_numeric(df[c], errors="coerce") if df[c].dtype == object else df[c]
        if pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v) and \
                np.isfinite(np.asarray(v, dtype=np.float64)).any():
            out.append(c)
    return out


def _eval_name_of(column: str) -> str:
    """'github' for 'loss_github', 'arxiv' for 'eval/arxiv/loss', 'val' for 'val_loss': the name with 'loss' and the
    separators around it taken out (the column itself when nothing is left)."""
    rest = re.sub(r"(?i)[/_.\- ]*loss[/_.\- ]*", " ", column).strip()
    rest = re.sub(r"[/_.\- ]+", "_", rest.replace(" ", "_")).strip("_")
    return rest or column
