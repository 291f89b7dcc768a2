"""The run table: proxy runs, their mixtures and their validation losses (DESIGN.md §2).

One row per evaluation of one model (a run at one checkpoint). Columns:

========================  ==============================================================
``run``                   run identifier (string)
``w:<domain>``            training proportion of each training domain (rows sum to 1)
``loss:<eval>``           validation loss on each evaluation set (at least one); empty / NaN: not measured
                          for that row (each fit of an eval takes the rows that have it, :meth:`RunTable.complete`)
``params``                model size N, non-embedding parameters (optional)
``step`` / ``tokens``     training step S / tokens seen D at that checkpoint (optional)
========================  ==============================================================

Every table is validated on the way in; an error names the file, the editor line (header = 1) and
the column.
"""

from __future__ import annotations

import difflib
import io
import json
import os
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError, DataWarning, InputError, UnusedDomainWarning

WEIGHT_PREFIX = "w:"
LOSS_PREFIX = "loss:"
META_COLUMNS = ("run", "params", "step", "tokens")
#: Words in the names other exports give the scale columns (W&B's '_step', 'model_size', 'non_embedding_params'):
#: a column with one, beside a missing or duplicated ``params``/``step``/``tokens``, is likely it under another name.
SCALE_COLUMN_WORDS = {"params": ("param", "size"), "step": ("step", "iter"), "tokens": ("token",)}
#: Columns that hold run ids: ``run`` and the names :func:`_normalise_columns` reads as it (W&B's ``Name``, RegMix's
#: ``index``). They are read as text.
RUN_ID_COLUMNS = ("run", "Name", "name", "run_id", "index")
#: The cells a CSV reader takes as missing in the other columns: pandas' defaults (read_csv's ``na_values``
#: documentation), listed here because the run-id columns must not get them: a run named 'NA', 'None' or 'null'
#: read back as a missing id (an "empty run identifier" error) from a table mixlaw had written itself.
CSV_MISSING = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
               "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")
#: Default tolerance on the row sum of the weights. RegMix's 3-decimal weights sum to 0.996-1.003.
WEIGHT_TOL = 0.01
#: Row-sum deviations up to this are rounding of stored values (weights written with 6-8 decimals: the bundled
#: Marin CSV is off by up to 3e-7; float32 columns by ~1e-7), renormalised without a warning. Larger ones
#: (up to ``weight_tol``) are a repair the user should hear about.
ROUNDING_TOL = 1e-6
#: Rows whose shares all agree within SAME_MIXTURE_ATOL + SAME_MIXTURE_RTOL x the larger share hold one mixture
#: (:func:`mixlaw.pipeline.result.merge_near_mixtures`): a mixture written to 4 decimals at one size (5e-5 off) or
#: renormalised differently at each (1e-4 of each share) is still one, while the mixtures of a design differ by far
#: more, and a small share's relative change (0.001 against 0.0005) keeps two mixtures apart. Here because a law's
#: fitted weight range is checked with it too (a merged mixture's rows lie that far from the shares it was fitted on).
SAME_MIXTURE_ATOL, SAME_MIXTURE_RTOL = 1e-4, 1e-3
#: What to do with a loss column that holds 0 or a negative value: the laws fit positive losses (most fit log L),
#: so a metric that can reach 0 or go negative (a score difference, a log-probability) needs a positive form.
NONPOSITIVE_HINT = ("the laws fit positive losses: store a positive form of a metric that can be 0 or negative (a "
                    "log-probability's negation or an error rate 1 - accuracy, both losses; or the metric plus a "
                    "constant that lifts every value above 0, optimised with --maximize if higher is better)")

# RegMix's paired format (github.com/sail-sg/regmix, data/): mixture file + loss file joined on `index`.
_REGMIX_W = "train_the_pile_"
_REGMIX_LOSS = ("metric/the_pile_", "_val_loss")


# Counts as papers and trainers write them: "0.2M" parameters, "2M" tokens, "16k" steps.
_SUFFIX = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "B": 10**9, "G": 10**9, "T": 10**12}
_COUNT = re.compile(r"^\s*([0-9][0-9_]*\.?[0-9_]*(?:[eE][+-]?[0-9]+)?)\s*([kKMBGT]?)\s*$")


def scaled_number(text: str) -> float | None:
    """The value of ``text``, a number with an optional suffix k/K (1e3), M (1e6), B/G (1e9), T (1e12)
    (``"0.2M"``, ``"2_000"``, ``"2e6"``), or None when it is not one (:func:`~mixlaw.train.config.parse_count`,
    the command line's sizes and lengths, and a run table's ``params``/``step``/``tokens`` cells read suffixes
    by it)."""
    m = _COUNT.match(str(text))
    if m is None:
        return None
    # The decimal product, rounded once: float("1.001") * 1e9 is 1 ulp off 1.001e9, and a size written '1.001B'
    # next to rows (or a command line) giving 1.001e9 must be the same model size.
    return float(Decimal(m.group(1).replace("_", "")) * _SUFFIX[m.group(2)])


def count_values(column: pd.Series) -> pd.Series:
    """A ``params``/``step``/``tokens`` column as float64: numbers as they are, text cells such as ``'70M'`` or
    ``'1.2B'`` by :func:`scaled_number` (a lower-case m/b/g/t read as upper case, as on the command line), NaN
    where a cell is missing or not a count (the table's own check names it).

    Pythia-style names ('70M', '1.4B') are how many sweeps label their model sizes; a table of them stopped at
    "value '200M' is not a number" while the same size on the command line (``--target-params 200M``) was read.
    """
    values = pd.to_numeric(column, errors="coerce").astype(np.float64)
    # Only the cells that are not numbers are looked at: a Python call per cell of every count column cost 0.2 s of
    # CPU per million rows of a table without any text.
    text = values.isna().to_numpy(copy=True)
    if text.any():
        text[text] = column[text].map(lambda v: isinstance(v, str) and bool(v.strip())).to_numpy(dtype=bool)

    def scaled(v: str) -> float:
        v = v.strip()
        x = scaled_number(v[:-1] + v[-1].upper() if v[-1] in "mbgt" else v)
        return np.nan if x is None else x

    if text.any():
        values[text] = column[text].map(scaled).to_numpy(dtype=np.float64)
    return values


def beyond_tol(off: Any, tol: float) -> Any:
    """Whether a row sum's distance ``off`` from 1 exceeds ``tol``, inclusively.

    A row of 0.99 (weights written to two decimals) is 1 - 0.01 in the user's arithmetic but 0.0100000000000000089
    off in float64, and was refused as "weights sum to 0.99, expected 1 ± 0.01".
    """
    return off > tol * (1 + 1e-9) + 1e-12


class RunTable:
    """A validated table of proxy runs.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns as in the module docstring.
    path : str, optional
        Where the table came from; used in error messages.
    weight_tol : float, default=0.01
        Rows whose weights sum to 1 within this tolerance are accepted (renormalised; one :class:`DataWarning`
        counts the rows off by more than :data:`ROUNDING_TOL`, 1e-6, the rounding of stored values); others raise.
    lines : array-like of int, optional
        Editor line of each row in the source file, for error messages (defaults to index + 2, the CSV
        convention with a header on line 1).

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
                 weight_tol: float = WEIGHT_TOL, lines: Sequence[int] | None = None) -> None:
        self.path = None if path is None else str(path)
        self.weight_tol = float(weight_tol)
        if not 0 <= self.weight_tol < 1:  # also refuses NaN, which would accept any row sum
            raise InputError(f"--weight-tol must be a number in [0, 1), got {weight_tol!r}")
        frame = frame.reset_index(drop=True).copy()
        self._lines = np.asarray(lines if lines is not None else np.arange(len(frame)) + 2, dtype=np.int64)
        # Evals computed from others (an eval group, --fit-total's objective) -> the evals weighed in them: a row
        # missing such an eval misses one of these, and the warning of :meth:`complete` names which.
        self._members: dict[str, list[str]] = {}
        self.frame = self._validate(frame)

    # ------------------------------------------------------------------ validation
    def _err(self, message: str, i: int | None = None, column: str | None = None) -> DataError:
        row = None if i is None else int(self._lines[i])
        return DataError(message, path=self.path, row=row, column=column)

    def _validate(self, df: pd.DataFrame) -> pd.DataFrame:
        cols = [str(c) for c in df.columns]
        df.columns = cols
        wcols = [c for c in cols if c.startswith(WEIGHT_PREFIX)]
        lcols = [c for c in cols if c.startswith(LOSS_PREFIX)]
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

        counts = [c for c in ("params", "step", "tokens") if c in cols]
        for c in wcols + lcols + counts:
            values = count_values(df[c]) if c in counts else pd.to_numeric(df[c], errors="coerce")
            bad = values.isna() & ~df[c].isna()
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise self._err(f"value {df[c].iloc[i]!r} is not a number", i, c)
            df[c] = values.astype(np.float64)

        w = df[wcols].to_numpy(dtype=np.float64)
        for j, c in enumerate(wcols):
            col = w[:, j]
            bad = ~np.isfinite(col)
            if bad.any():
                raise self._err(f"weight is {col[bad][0]}, expected a finite number", int(np.flatnonzero(bad)[0]), c)
            bad = col < 0
            if bad.any():
                raise self._err(f"weight is {col[bad][0]:g}, expected >= 0", int(np.flatnonzero(bad)[0]), c)
        sums = w.sum(axis=1)
        off = np.abs(sums - 1.0)
        bad = beyond_tol(off, self.weight_tol)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            if np.allclose(sums, 100.0, rtol=0.01):
                # --weight-tol cannot reach 100; the whole table is in one other unit, so say which.
                hint = "every row sums to 100: the weights look like percentages; divide them by 100"
            elif bad.all():
                hint = (f"no row sums to 1 (sums {sums.min():.4g} to {sums.max():.4g}): if the weights are token "
                        "counts or unnormalised ratios, divide each row by its sum")
            else:
                hint = "fix the row, or raise --weight-tol"
            raise self._err(f"weights sum to {sums[i]:.6g}, expected 1 ± {self.weight_tol:g} ({hint})", i, wcols[0])
        renorm = off > 1e-9
        if renorm.any():
            w = w / sums[:, None]
            df[wcols] = w
        loud = off > ROUNDING_TOL
        if loud.any():
            warnings.warn(f"{self.path or 'run table'}: renormalised the weights of {int(loud.sum())} of "
                          f"{len(df)} rows that summed to 1 within {self.weight_tol:g} "
                          f"(largest deviation {off.max():.3g})", DataWarning, stacklevel=3)
        never = [c[len(WEIGHT_PREFIX):] for j, c in enumerate(wcols) if not (w[:, j] > 0).any()]
        if never:
            # Its coefficient is then set by the start value and bounds alone, and any prediction or optimum
            # that gives it weight is an extrapolation.
            warnings.warn(f"{self.path or 'run table'}: domain(s) {never} have weight 0 in every run; no law can "
                          f"estimate their effect (drop them, or add runs that train on them)", UnusedDomainWarning,
                          stacklevel=3)

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
        for c in ("params", "step", "tokens"):
            if c in cols:
                col = df[c].to_numpy(dtype=np.float64)
                bad = ~np.isfinite(col) | (col < 0) | ((col == 0) & (c == "params"))
                if bad.any():
                    raise self._err(f"{c} is {col[bad][0]}, expected a finite non-negative number",
                                    int(np.flatnonzero(bad)[0]), c)

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
            if apart:
                why = (f"; the rows differ in {apart[0]!r}: if it is the checkpoint or the model size, name it "
                       "'step', 'tokens' or 'params'")
            elif same_w and np.array_equal(L[i], L[first]):
                why = "; the same row twice: drop one"
            elif same_w:
                # Seeds exported under one name: with names of their own they are repeated measurements.
                why = (f"; other losses for the same mixture: a repeated seed? give each seed its own run name (e.g. "
                       f"'{name}-s1'), and its checkpoints join the curve of its mixture and size")
            else:
                why = "; another mixture: two runs under one name? give each its own"
            raise self._err(f"duplicate run {name!r} (same {', '.join(key)} as line {int(self._lines[first])}{why})",
                            i, "run")
        return df

    # ------------------------------------------------------------------ accessors
    @property
    def domains(self) -> list[str]:
        return [c[len(WEIGHT_PREFIX):] for c in self.frame.columns if c.startswith(WEIGHT_PREFIX)]

    @property
    def evals(self) -> list[str]:
        return [c[len(LOSS_PREFIX):] for c in self.frame.columns if c.startswith(LOSS_PREFIX)]

    @property
    def weights(self) -> np.ndarray:
        """ndarray of shape (n_rows, n_domains), float64."""
        return self.frame[[WEIGHT_PREFIX + d for d in self.domains]].to_numpy(dtype=np.float64)

    @property
    def runs(self) -> np.ndarray:
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
        return self._optional("step")

    @property
    def tokens(self) -> np.ndarray | None:
        return self._optional("tokens")

    def resolve_targets(self, targets: str | Sequence[str] | None = None) -> list[str]:
        """Map target names (``"pile_cc"``, ``"loss:pile_cc"``, ``"all"``) to eval names.

        Raises
        ------
        InputError
            An unknown target, listing the known ones.
        """
        if targets is None or targets == "all" or (not isinstance(targets, str) and list(targets) == ["all"]):
            return self.evals
        if isinstance(targets, str):
            targets = [targets]
        out = []
        for t in targets:
            name = t[len(LOSS_PREFIX):] if t.startswith(LOSS_PREFIX) else t
            if name not in self.evals:
                # The command line splits --target at commas: an eval named 'x, y' arrived as 'x' and 'y', and
                # the error suggested the very 'x, y' the user had typed.
                comma = next((e for e in self.evals if "," in e and name in (p.strip() for p in e.split(","))), None)
                quote = ("" if comma is None else
                         f"; a name with a comma goes in double quotes: --target '\"{comma}\"'")
                raise InputError(f"{self.path or 'run table'}: unknown target {t!r}; the table has "
                                 f"loss columns for {known_names([name], self.evals)} (or use 'all'){quote}")
            out.append(name)
        return out

    def losses(self, targets: str | Sequence[str] | None = None) -> np.ndarray:
        """Losses of the given targets: shape (n_rows,) for one name, (n_rows, n_targets) for a list.

        Raises
        ------
        DataError
            A row misses one of these losses (a NaN cell): take :meth:`complete` first, the rows that have them.
        """
        names = self.resolve_targets(targets)
        arr = self.frame[[LOSS_PREFIX + n for n in names]].to_numpy(dtype=np.float64)
        missing = np.isnan(arr)
        if missing.any():
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
        names = self.resolve_targets(targets)
        miss = np.isnan(self.frame[[LOSS_PREFIX + n for n in names]].to_numpy(dtype=np.float64))
        return {n: int(k) for n, k in zip(names, miss.sum(axis=0), strict=True)}

    def complete_rows(self, targets: str | Sequence[str] | None = None) -> np.ndarray:
        """Indices of the rows that have a loss for every eval of ``targets`` (default all)."""
        names = self.resolve_targets(targets)
        miss = np.isnan(self.frame[[LOSS_PREFIX + n for n in names]].to_numpy(dtype=np.float64))
        return np.flatnonzero(~miss.any(axis=1))

    def complete(self, targets: str | Sequence[str] | None = None, *, doing: str = "fitting",
                 stacklevel: int = 2) -> RunTable:
        """The rows that have a loss for every eval of ``targets`` (default all): ``self`` when none misses one.

        One eval is fitted on every row where it was measured; several fitted together (one law, a mean or
        weighted objective) on the rows where each of them was. A :class:`DataWarning` counts the rows left out
        per eval and names their first lines.

        Raises
        ------
        DataError
            No row has every one of these losses.
        """
        names = self.resolve_targets(targets)
        miss = np.isnan(self.frame[[LOSS_PREFIX + n for n in names]].to_numpy(dtype=np.float64))
        out = miss.any(axis=1)
        if not out.any():
            return self
        per = ", ".join(f"loss:{n} {int(k)}{self._missing_members(n, out)}"
                        for n, k in zip(names, miss.sum(axis=0), strict=True) if k)
        where = self.path or "run table"
        lines = ", ".join(str(int(x)) for x in self._lines[out][:5]) + (", ..." if out.sum() > 5 else "")
        if out.all():
            raise DataError(f"no row has a loss for every one of {names} ({per} of {len(self)} rows miss one): "
                            + (f"{names[0]} has no value in any row" if len(names) == 1 else
                               "fit each eval alone (--target EVAL) on the rows it has"), path=self.path)
        who = f"loss:{names[0]}" if len(names) == 1 else ", ".join(names)
        alone = "" if len(names) == 1 else "; fit an eval alone (--target EVAL) to use every row it has"
        warnings.warn(f"{where}: {doing} {who} on the {int((~out).sum())} of {len(self)} rows that have "
                      f"{'it' if len(names) == 1 else 'each of them'}; left out {int(out.sum())} "
                      f"row{'s' if out.sum() > 1 else ''} with no value ({per}; lines {lines}){alone}",
                      DataWarning, stacklevel=stacklevel)
        return self.subset(~out)

    def _missing_members(self, name: str, rows: np.ndarray) -> str:
        """For an eval computed from others, which of them the ``rows`` miss: ', for want of loss:b 3'."""
        members = getattr(self, "_members", {}).get(name)
        if not members:
            return ""
        miss = np.isnan(self.frame[[LOSS_PREFIX + m for m in members]].to_numpy(dtype=np.float64)[rows])
        return ", for want of " + ", ".join(f"loss:{m} {int(k)}" for m, k in zip(members, miss.sum(axis=0),
                                                                                 strict=True) if k)

    def subset(self, rows: Any) -> RunTable:
        """A new RunTable with the selected rows (boolean mask or integer index)."""
        idx = np.arange(len(self))[rows]
        out = RunTable.__new__(RunTable)
        out.path, out.weight_tol = self.path, self.weight_tol
        out._lines = self._lines[idx]
        out._members = dict(getattr(self, "_members", {}))
        out.frame = self.frame.iloc[idx].reset_index(drop=True)
        return out

    def filter(self, *, model_params: float | None = None, step: float | None = None) -> RunTable:
        """Rows at one model size and/or one step."""
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
                            + "; ".join(parts), path=other.path,
                            column="w:" + (missing or extra)[0])

    def weights_for(self, domains: Sequence[str]) -> np.ndarray:
        """Weights reordered to ``domains`` (the order a law was fitted with)."""
        missing = [d for d in domains if d not in self.domains]
        if missing:
            raise DataError(f"missing weight column(s) {['w:' + d for d in missing]} that the law was fitted on",
                            path=self.path, column="w:" + missing[0])
        return self.frame[[WEIGHT_PREFIX + d for d in domains]].to_numpy(dtype=np.float64)

    def scale_summary(self) -> dict[str, Any]:
        """Where these runs sit: median model size and tokens (None when absent), their (min, max) when the
        runs span several scales (``params_range`` / ``tokens_range``, see :meth:`scale_spread`), and per eval
        set the (min, median, max) loss. :func:`scale_mismatch` compares two of these."""
        med = {c: None if (v := self._optional(c)) is None else float(np.median(v)) for c in ("params", "tokens")}
        spread = self.scale_spread()
        ranges = {f"{c}_range": (spread[c][1], spread[c][2]) for c in ("params", "tokens") if c in spread}
        # Over the rows that have the eval (a NaN cell is a missing one); an eval no row has gets no entry.
        cols = {e: (v := self.frame[LOSS_PREFIX + e].to_numpy(dtype=np.float64))[~np.isnan(v)] for e in self.evals}
        losses = {e: tuple(float(f(v)) for f in (np.min, np.median, np.max)) for e, v in cols.items() if v.size}
        return {**med, **ranges, "losses": losses}

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

    def __repr__(self) -> str:
        return (f"RunTable({len(self)} rows, {len(self.domains)} domains, evals={self.evals}"
                + (f", path={self.path!r}" if self.path else "") + ")")


def note_left_out(err: Exception, left_out: dict[str, int], n_rows: int, n_table: int) -> None:
    """Append to ``err``'s message how many of the table's rows the failed fit had, when an eval missing in some
    rows (``left_out``: eval -> rows without its loss) made them few: "3 observations are too few" read as a small
    table, when the eval is missing from most of a large one."""
    if left_out and err.args and isinstance(err.args[0], str):
        miss = ", ".join(f"loss:{e} in {n}" for e, n in left_out.items())
        err.args = (f"{err.args[0]} (only {n_rows} of the table's {n_table} rows have every target's loss: "
                    f"missing {miss} rows)", *err.args[1:])


#: Two tables are at the same model size / token count when their medians are within this factor.
SCALE_RATIO = 1.1


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
                      f"{whose} domains; ignored", DataWarning, stacklevel=stacklevel + 1)
    return unused


def _fold(name: str) -> str:
    return name.lower().replace("-", "_").replace(" ", "_")


# Names other tools give the scale columns (Dai & Zheng: model_size, n_tokens; W&B: _step, global_step).
_SCALE_NAMES = {"run": ("run", "name", "run_name", "run_id"),
                "params": ("model_size", "n_params", "num_params", "model_params", "parameters", "params"),
                "tokens": ("n_tokens", "num_tokens", "tokens_seen", "tokens", "train_tokens"),
                "step": ("step", "_step", "global_step", "steps", "iteration", "train_step")}
_WEIGHT_WORDS = ("weight", "mix", "ratio", "prop", "frac", "share")
_LOSS_WORDS = ("loss", "nll", "ppl", "bpb", "perplexity")


def suggest_column_map(cols: list[str]) -> str | None:
    """A ``--columns`` map that fits ``cols`` when they follow a common convention, or None.

    Weights: the columns sharing a prefix (``weight_*``) or suffix (``*_weight``) that names a share; losses:
    those sharing one that names a loss (``*_loss``, ``loss_*``, ``eval/*/loss``). Only a suggestion for the
    error message; nothing is mapped without ``--columns``.

    >>> suggest_column_map(["weight_a", "weight_b", "model_size", "n_tokens", "a_loss", "b_loss"])
    'w:*=weight_*,loss:*=*_loss,params=model_size,tokens=n_tokens'
    """
    # Each column's patterns: '*' + a suffix starting at a separator, a prefix ending at one + '*' (a name left
    # for '*'). A column matches '*S' exactly when S is one of its own such suffixes, so one pass counts every
    # pattern's matches. Why: matching each candidate pattern against every column took 7.5 s of CPU for a
    # 2000-column W&B export, on the way to any error about a table's columns.
    pats = [[p for m in re.finditer(r"[_/:.\-]", c)
             for p, name in (("*" + c[m.start():], c[:m.start()]), (c[:m.end()] + "*", c[m.end():])) if name]
            for c in cols]
    matches = Counter(p for ps in pats for p in ps)
    # eval/<name>/loss: a prefix and a suffix around a name without '/'
    around = Counter((p[0], p[2]) for p in (c.split("/") for c in cols) if len(p) == 3 and p[1])

    def pattern(words: tuple[str, ...], least: int) -> str | None:
        best: tuple[int, str] | None = None
        for pat in (p for ps in pats for p in ps):
            n = matches[pat]
            if n >= least and (best is None or n > best[0]) and any(w in pat.replace("*", "").lower() for w in words):
                best = (n, pat)
        for c in cols:
            parts = c.split("/")
            if len(parts) == 3 and any(w in parts[2].lower() for w in words):
                n = around[parts[0], parts[2]]
                if n >= least and (best is None or n >= best[0]):  # over '*/loss', which keeps 'eval/' in the name
                    best = (n, f"{parts[0]}/*/{parts[2]}")
        return None if best is None else best[1]

    w, loss = pattern(_WEIGHT_WORDS, 2), pattern(_LOSS_WORDS, 1)  # a run table may have one eval set
    if w is None or loss is None:
        return None
    parts = [f"w:*={w}", f"loss:*={loss}"]
    lower = {c.lower(): c for c in cols}
    for target, names in _SCALE_NAMES.items():
        hit = next((lower[n] for n in names if n in lower), None)
        if hit is not None and hit != target:
            parts.append(f"{target}={hit}")
    return ",".join(parts)


def _mapping_hint(df: pd.DataFrame, cols: list[str], where: str) -> str:
    """How to get a table whose columns are not a run table's into one (the end of its error).

    Why: the hint was always a W&B map (``run=Name,w:*=mixture/*,...``), right only for such an export. Given
    Olmix's ``ratios.csv`` alone (the losses are in ``metrics.csv``) or Dai & Zheng's ``weight_*``/``*_loss``
    sweep, ``fit --runs`` suggested a map that names none of their columns.
    """
    guess = suggest_column_map([df.attrs.get("renamed", {}).get(c, c) for c in cols])
    if guess:
        # Empty loss cells stop that import next, with its own hint: say it now (Dai & Zheng's 4-domain runs).
        lossy = [c for c in cols if any(w in _fold(str(c)) for w in _LOSS_WORDS)]
        gaps = int(df[lossy].isna().any(axis=1).sum()) if lossy else 0
        drop = (f" --drop-incomplete (it leaves out the {gaps} row{'s' if gaps > 1 else ''} with an empty loss cell)"
                if gaps else "")
        return f"map them with mixlaw runs import {where} --columns '{guess}'{drop} --out runs.csv"
    rest = [c for c in cols if c not in RUN_ID_COLUMNS and not c.startswith("Unnamed:")]
    W = df[rest].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64) if rest else np.empty((0, 0))
    if not any(c.startswith(LOSS_PREFIX) for c in cols) and W.shape[1] >= 2 and len(W) and np.isfinite(W).all() \
            and (W >= 0).all() and np.all(np.abs(W.sum(axis=1) - 1) <= WEIGHT_TOL):
        return (f"its rows are mixtures (they sum to 1) without losses: give the losses' file with it, --runs "
                f"{where}+LOSSES.csv, joined on run / run_id (Olmix's ratios.csv+metrics.csv) or index (RegMix's "
                "mixture.csv+loss.csv)")
    if any(c.startswith(LOSS_PREFIX) for c in cols) and not any(c.startswith(WEIGHT_PREFIX) for c in cols):
        # The other half of the pair: RegMix's loss.csv alone got the W&B map.
        return (f"it has losses without mixtures: give the mixtures' file before it, --runs MIXTURES.csv+{where}, "
                "joined on run / run_id or index (RegMix's mixture.csv+loss.csv)")
    return (f"map other names with mixlaw runs import {where} --columns 'run=Name,w:*=mixture/*,loss:*=eval/*/loss' "
            "--out runs.csv, a W&B export's map: put your columns' names in it")


def long_format_hint(df: pd.DataFrame, cols: list[str], key: list[str] | None = None) -> str | None:
    """The hint for a long table (one row per run, checkpoint and eval set: a text column names the eval, a numeric
    one holds its loss, as DataDecide's results and many trackers' exports are), or None for any other table.
    ``key``: the columns of run, params, step and tokens (by default those of ``cols`` with these names)."""
    key = [c for c in ("run", "params", "step", "tokens") if c in cols] if key is None else key
    if not key or not df.duplicated(key).any():
        return None
    numeric = {c for c in cols if pd.to_numeric(df[c], errors="coerce").notna().all()}
    for c in cols:
        if c in key or c in numeric or c.startswith(WEIGHT_PREFIX) or not 2 <= df[c].nunique() <= len(df) // 2:
            continue
        if not df.duplicated([*key, c]).any():
            values = [c2 for c2 in cols if c2 in numeric and c2 not in key and not c2.startswith(WEIGHT_PREFIX)]
            evals = df[c].astype(str).unique()
            shown = ", ".join(evals[:5]) + (f", ... ({len(evals)} in all)" if len(evals) > 5 else "")
            value = "loss" if "loss" in values else (values[0] if values else "<loss column>")
            # pivot, not pivot_table: pivot_table leaves out every row with an empty cell in an index column (a
            # note, a tokens count given for some runs only), without a word; pivot keeps them (no two rows share
            # an index and eval here, so nothing needs aggregating).
            return (f"The table is long: one row per run, checkpoint and eval set, column {c!r} naming the set "
                    f"({shown}). A run table has one loss:<eval> column per eval set: pivot it first, e.g. in pandas "
                    f"df.pivot(index=[{', '.join(repr(k) for k in cols if k not in (c, *values))}], "
                    f"columns={c!r}, values={value!r}).add_prefix('loss:').reset_index().")
    return None


def known_names(wanted: Sequence[str], known: Sequence[str], limit: int = 20) -> str:
    """The known names for an error about unknown ones: the closest first ("did you mean", also across case and
    '-'/'_'), then at most ``limit`` of the rest. A sweep with 113 evals (Olmix's DCLM swarm) printed all 113
    after a one-letter typo; OLMES names such as 'arc_challenge:rc::olmes' are also easy to mistake for their
    prefix.

    >>> known_names(["arc_chalenge"], ["arc_challenge:rc::olmes", "arc_easy:rc::olmes", "hellaswag:rc::olmes"])
    "['arc_challenge:rc::olmes', 'arc_easy:rc::olmes', 'hellaswag:rc::olmes'] (did you mean 'arc_challenge:rc::olmes'?)"
    """
    known = list(known)
    close: list[str] = []
    for w in wanted:
        w = str(w)
        close += [k for k in known if k.startswith(w) and k not in close][:3]
        close += [k for k in known if w.startswith(k + ":") and k not in close]  # 'a:x': a mistyped weight
        # the name without its namespace: 'travel' for Olmix's 's2pdfv1:travel', 'arxiv' for 'pile/arxiv'
        close += [k for k in known if k.endswith((":" + w, "/" + w)) and k not in close][:3]
        close += [k for k in difflib.get_close_matches(w, known, n=3, cutoff=0.6) if k not in close]
        # case and '-'/'_' ('Pile-CC' for 'pile_cc', the Pile's own spelling): difflib alone found nothing
        folded = {_fold(k): k for k in known}
        close += [folded[f] for f in difflib.get_close_matches(_fold(w), list(folded), n=3, cutoff=0.8)
                  if folded[f] not in close]
    shown = repr(known) if len(known) <= limit else f"{known[:limit]!r} ... and {len(known) - limit} more"
    return shown + (f" (did you mean {', '.join(map(repr, close[:5]))}?)" if close else "")


_SCALE_WHAT = {"params": "model sizes", "tokens": "token counts", "step": "step counts"}


def describe_spread(spread: dict[str, tuple[int, float, float]]) -> str:
    """'6 model sizes (1.22e+08 to 2.72e+09) and 66 token counts (2e+09 to 1.04e+11)' for
    :meth:`RunTable.scale_spread`."""
    return " and ".join(f"{n} {_SCALE_WHAT[c]} ({lo:.3g} to {hi:.3g})" for c, (n, lo, hi) in spread.items())


def scale_mismatch(fitted: dict[str, Any], other: RunTable, label: str) -> str | None:
    """Why ``other`` is not at the scale of the runs summarised in ``fitted`` (:meth:`RunTable.scale_summary`),
    or None.

    Different median model size or tokens (beyond :data:`SCALE_RATIO`) is a mismatch; unless both tables have
    both columns, a median loss outside the fitted runs' loss range on a shared eval set is one (a mixing law predicts
    losses at the scale it was fitted at, and a loss level it never saw is another scale or another setup).
    """
    theirs = other.scale_summary()
    why = []
    compared = set()
    for col, what in (("params", "model size"), ("tokens", "tokens")):
        a, b, span = fitted.get(col), theirs.get(col), fitted.get(f"{col}_range")
        if b and (a or span is not None):
            compared.add(col)
        if span is not None and b:
            # Fitted runs at several scales: another table is at their scale when its median is inside their
            # range (comparing medians said '6.8e+08 vs 3.1e+08' for two random splits of one multi-size sweep).
            lo, hi = span
            if not lo / SCALE_RATIO <= b <= hi * SCALE_RATIO:
                why.append(f"{what} {b:.3g}, outside the fitted runs' {lo:.3g} to {hi:.3g}")
        elif a and b and max(a, b) / min(a, b) > SCALE_RATIO:
            why.append(f"{what} {b:.3g} vs {a:.3g} in the fitted runs")
    # Both tables at the same model size and tokens: a median loss outside the fitted range is then a few
    # held-out runs beyond a few fitted ones (14 and 6 of Dai & Zheng's 122M runs, all at 2e10 tokens), not another
    # scale, and pointing to the pipeline would mislead.
    if not why and compared != {"params", "tokens"}:
        for e, (lo, _, hi) in fitted.get("losses", {}).items():
            if e in theirs["losses"]:
                med = theirs["losses"][e][1]
                if not lo <= med <= hi:
                    why.append(f"median loss {med:.4g} on {e!r}, outside the fitted runs' range [{lo:.4g}, {hi:.4g}]")
                    break
    if not why:
        return None
    return (f"{label}: {'; '.join(why)}. A mixing law predicts losses at the scale it was fitted at; to predict "
            "another model size or run length, fit across scales with `mixlaw pipeline` (or the API's "
            "fit_pipeline)")


# ---------------------------------------------------------------------- readers
def csv_missing(names: Iterable[str], text: Iterable[str]) -> dict[str, Any]:
    """``read_csv`` keywords that read the ``text`` columns as written (no cell becomes missing but an empty one,
    kept as ''; an id is text, so '007' stays '007') and the others with pandas' missing-value strings."""
    text = set(text)
    names = [str(c) for c in names]
    return {"dtype": {c: str for c in names if c in text}, "keep_default_na": False,
            "na_values": {c: list(CSV_MISSING) for c in names if c not in text}}


def _read_semicolon_csv(path: Path, dtype: dict[str, Any] | None = None) -> pd.DataFrame:
    """A CSV separated by ';' (a spreadsheet saved in a locale whose decimal mark is ','), read as such.

    Read with ',' it was one column 'run;params;w:a;...' and the error listed that one name as the table's columns.
    Decimal commas ('0,25') are read as numbers when every non-empty cell of a column that has them is one.
    """
    df = pd.read_csv(path, sep=";", skip_blank_lines=False, dtype=str, keep_default_na=False)
    number = r"[-+]?\d*,?\d+([eE][-+]?\d+)?"
    for c in df.columns:
        if c in (dtype or {}):  # text (run ids): kept as written
            continue
        col = df[c].str.strip()
        filled = col[col != ""]
        if len(filled) and filled.str.fullmatch(number).all() and filled.str.contains(",").any():
            df[c] = col.str.replace(",", ".", regex=False)
    return pd.read_csv(io.StringIO(df.to_csv(index=False)), skip_blank_lines=False,
                       **csv_missing(df.columns, dtype or {}))


def _read_any(path: Path, text_columns: Sequence[str] = ()) -> tuple[pd.DataFrame, np.ndarray]:
    """Read CSV / Parquet / JSONL; return the frame and each row's editor line.

    The run-id columns (``run`` and the names :func:`_normalise_columns` takes for it) and ``text_columns`` are
    read as text: parsed as numbers, ids ``0010`` and ``10`` were both the run '10.0' ("duplicate run '10.0'",
    a name the file does not hold) and ``001`` lost its zeros. A name given twice in the header is an error:
    pandas renamed the second ``loss:x`` to ``loss:x.1``, an eval set of its own, without a word.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    text = set(RUN_ID_COLUMNS) | set(text_columns)
    if path.is_file() and path.stat().st_size == 0:
        # Said as such: pandas' "No columns to parse from file", or for JSONL a column map's "no column 'Name' for
        # 'run'; columns: " (an empty list), left the reader to guess that the export had written nothing.
        raise DataError("the file is empty (0 bytes): was the export or the log written?", path=str(path))
    try:
        if suffix in (".csv", ".csv.gz", ".tsv"):
            # The ';' check reads the header alone: rows of decimal commas differ in their ',' count (0,25 against
            # a whole 1), and a ',' parse of the whole file stopped at "Expected 3 fields in line 3, saw 4".
            sep = "\t" if suffix == ".tsv" else ","
            head = pd.read_csv(path, nrows=0).columns if suffix != ".tsv" else ()
            if len(head) == 1 and ";" in str(head[0]):
                sep = ";"
            # header=None reads the names as they are written (the header pandas parses has its repeats renamed)
            names = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str, keep_default_na=False).iloc[0]
            _check_unique_columns([str(c) for c in names], path)
            dtype = {c: str for c in names if c in text}
            if sep == ";":
                df = _read_semicolon_csv(path, dtype)
            else:
                df = pd.read_csv(path, sep=sep, skip_blank_lines=False, **csv_missing(names, text))
            lines = np.arange(len(df)) + 2
        elif suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            _check_unique_columns(list(pq.read_schema(path).names), path)
            df = pd.read_parquet(path)
            lines = np.arange(len(df)) + 1  # parquet has no header line: rows count from 1
        elif suffix in (".jsonl", ".ndjson"):
            df, lines = _read_jsonl(path)
            if any(df[c].map(lambda v: isinstance(v, dict)).any() for c in df.columns if df[c].dtype == object):
                # Nested records ({"mixture": {"web": 0.5}, "eval": {"pile": {"loss": 3.1}}}) get the W&B
                # importer's flat names, mixture/web and eval/pile/loss, which --columns patterns can match; read
                # as they were, 'mixture' was one column of dicts and no pattern matched.
                df = pd.json_normalize(df.to_dict("records"), sep="/")
        elif suffix == ".json":
            df = pd.read_json(path, dtype={c: str for c in text})
            lines = np.arange(len(df)) + 1
        else:
            raise InputError(f"{path}: unknown table format {path.suffix!r}; use .csv, .parquet or .jsonl")
    except InputError:
        raise
    except UnicodeDecodeError as err:
        # A spreadsheet saved in a legacy code page (Excel's plain "CSV" on Windows: 'bö' as byte 0xf6) said only
        # "'utf-8' codec can't decode byte 0xf6 in position 3".
        raise DataError(f"cannot parse the file: it is not UTF-8 text (it has byte 0x{err.object[err.start]:02x}, "
                        "e.g. a letter of a legacy code page); save it as UTF-8 (in Excel: 'CSV UTF-8')",
                        path=str(path)) from err
    except (ValueError, OSError, pd.errors.ParserError) as err:
        raise DataError(f"cannot parse the file: {str(err).splitlines()[0] if str(err) else type(err).__name__}",
                        path=str(path)) from err
    except Exception as err:  # pyarrow raises its own hierarchy for corrupt parquet
        raise DataError(f"cannot read the file: {type(err).__name__}: {str(err).splitlines()[0]}",
                        path=str(path)) from err
    for c in text & {str(c) for c in df.columns}:
        df[c] = df[c].map(lambda v: v if v is None or isinstance(v, str) or pd.isna(v) else str(v))
    return df, lines


def _check_unique_columns(names: list[str], path: Path) -> None:
    """Stop at a column name the file gives twice, naming it and where it stands (1-based)."""
    seen: dict[str, int] = {}
    for i, c in enumerate(names, 1):
        if c in seen:
            raise DataError(f"the name is given to two columns ({seen[c]} and {i}); rename or drop one",
                            path=str(path), column=c)
        seen[c] = i


def _read_jsonl(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Read one JSON object per line with json.loads, keeping each record's line and its strings as strings.

    pandas' reader named no line when one was broken ("Key name of object must be 'string' when decoding 'object'
    at position 1266"), counted rows past a blank line one line short, and turned string ids into numbers.
    """
    records, lines = [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"not a JSON record: {err.msg} at character {err.pos + 1} of the line", path=str(path),
                                row=n) from None
            if not isinstance(rec, dict):
                raise DataError(f"not a JSON object but {type(rec).__name__} (one object per line: "
                                '{"run": ..., "w:web": ..., "loss:pile": ...})', path=str(path), row=n)
            records.append(rec)
            lines.append(n)
    if not records:
        raise DataError("the file has no records, only blank lines", path=str(path))
    return pd.DataFrame.from_records(records), np.asarray(lines, dtype=int)


def _normalise_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Accept W&B CSV exports (``Name`` for the run) and RegMix column names inside one table."""
    rename: dict[str, str] = {}
    cols = [str(c) for c in df.columns]
    if "run" not in cols:
        for alt in RUN_ID_COLUMNS[1:]:
            if alt in cols:
                rename[alt] = "run"
                break
    for c in cols:
        if c.startswith(_REGMIX_W):
            rename[c] = WEIGHT_PREFIX + c[len(_REGMIX_W):]
        elif c.startswith(_REGMIX_LOSS[0]) and c.endswith(_REGMIX_LOSS[1]):
            rename[c] = LOSS_PREFIX + c[len(_REGMIX_LOSS[0]):-len(_REGMIX_LOSS[1])]
    if not rename:
        return df
    out = df.rename(columns=rename)
    out.attrs["renamed"] = {new: old for old, new in rename.items()}  # the file's own names, for error hints
    return out


def read_runs(path: str | os.PathLike[str], *, losses: str | os.PathLike[str] | None = None,
              weight_tol: float = WEIGHT_TOL) -> RunTable:
    """Read and validate a run table.

    Parameters
    ----------
    path : path-like
        A run table (CSV, Parquet or JSONL, DESIGN.md §2), or RegMix's mixture CSV when ``losses`` is
        given. A path of the form ``mix.csv+loss.csv`` is read as a RegMix pair as well.
    losses : path-like, optional
        RegMix's loss CSV, joined to ``path`` on the column ``index``.
    weight_tol : float, default=0.01
        Tolerance on the row sums of the weights.

    Returns
    -------
    RunTable

    Raises
    ------
    DataError
        Naming the file, line and column of the first problem.
    """
    spath = str(path)
    if losses is None and "+" in spath and not Path(spath).exists():
        spath, lpath = spath.split("+", 1)
        return read_regmix_pair(spath, lpath, weight_tol=weight_tol)
    if losses is not None:
        return read_regmix_pair(path, losses, weight_tol=weight_tol)
    p = Path(path)
    df, lines = _read_any(p)
    df = _normalise_columns(df)
    return RunTable(df, path=str(p), weight_tol=weight_tol, lines=lines)


def read_regmix_pair(mixture: str | os.PathLike[str], losses: str | os.PathLike[str], *,
                     weight_tol: float = WEIGHT_TOL) -> RunTable:
    """Read RegMix's paired format: a mixture CSV and a loss CSV joined on ``index``.

    Columns ``train_the_pile_<d>`` become ``w:<d>`` and ``metric/the_pile_<e>_val_loss`` become
    ``loss:<e>``; the run id is the RegMix ``index``. Errors in weights name the mixture file, errors in
    losses the loss file.
    """
    mp, lp = Path(mixture), Path(losses)
    mdf, mlines = _read_any(mp)
    ldf, llines = _read_any(lp)
    for p, df in ((mp, mdf), (lp, ldf)):
        if "index" not in df.columns:
            raise DataError(f"missing column 'index' needed to join {mp.name} and {lp.name}", path=str(p))
        dup = df["index"].duplicated()
        if dup.any():
            i = int(np.flatnonzero(dup.to_numpy())[0])
            raise DataError(f"duplicate run index {df['index'].iloc[i]!r}", path=str(p), row=i + 2, column="index")
    mdf = _normalise_columns(mdf.rename(columns={"index": "run"}))
    ldf = _normalise_columns(ldf.rename(columns={"index": "run"}))
    mdf["run"], ldf["run"] = mdf["run"].astype(str), ldf["run"].astype(str)
    wcols = [c for c in mdf.columns if c.startswith(WEIGHT_PREFIX)]
    lcols = [c for c in ldf.columns if c.startswith(LOSS_PREFIX)]
    if len(wcols) < 2:
        raise DataError(f"no mixture columns (expected '{_REGMIX_W}<domain>' or 'w:<domain>')", path=str(mp))
    if not lcols:
        raise DataError(f"no loss columns (expected '{_REGMIX_LOSS[0]}<eval>{_REGMIX_LOSS[1]}' or 'loss:<eval>')",
                        path=str(lp))
    # Validate each half against its own file so that errors name the right file and line.
    RunTable(mdf[["run"] + wcols].assign(**{"loss:_": 1.0}), path=str(mp), weight_tol=weight_tol, lines=mlines)
    RunTable(ldf[["run"] + lcols].assign(**{"w:_a": 0.5, "w:_b": 0.5}), path=str(lp), lines=llines)
    missing = sorted(set(mdf["run"]) - set(ldf["run"]), key=str)
    extra = sorted(set(ldf["run"]) - set(mdf["run"]), key=str)
    if extra:
        raise DataError(f"run index {extra[0]!r} has losses but no mixture in {mp.name}", path=str(lp),
                        row=int(llines[int(np.flatnonzero((ldf['run'] == extra[0]).to_numpy())[0])]), column="index")
    if missing:
        warnings.warn(f"{lp}: {len(missing)} mixture(s) of {mp.name} have no losses and are left out "
                      f"(first: index {missing[0]})", DataWarning, stacklevel=2)
    merged = mdf[["run"] + wcols].merge(ldf[["run"] + lcols], on="run", how="inner", sort=False)
    line_of = dict(zip(mdf["run"], mlines, strict=False))
    with warnings.catch_warnings():
        # The mixture half was validated above and already warned about renormalised rows, naming its file.
        warnings.simplefilter("ignore", DataWarning)
        return RunTable(merged, path=f"{mp}+{lp}", weight_tol=weight_tol,
                        lines=[line_of[r] for r in merged["run"]])


__all__ = ["RunTable", "read_runs", "read_regmix_pair", "scale_mismatch", "unseen_zero_domains", "WEIGHT_TOL"]
