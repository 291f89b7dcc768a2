"""What a run table's columns are and how their cells are read (the table itself is :mod:`mixlaw.data.table`).

The column prefixes and meta columns of DESIGN.md §2, the run-id columns that are read as text, the missing-value
cells of a CSV, the tolerances on a row's weights and on two rows being one mixture, and the counts written with a
suffix ('70M' parameters, '16k' steps) that ``params``/``step``/``tokens`` cells and the command line accept, and
shares written as percentages ('30%') in weight cells.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

WEIGHT_PREFIX = "w:"
LOSS_PREFIX = "loss:"
META_COLUMNS = ("run", "params", "step", "tokens")
#: Words in the names other exports give the scale columns (W&B's '_step', 'model_size', 'non_embedding_params'):
#: a column with one, beside a missing or duplicated ``params``/``step``/``tokens``, is likely it under another name.
SCALE_COLUMN_WORDS = {"params": ("param", "size"), "step": ("step", "iter"), "tokens": ("token",)}
#: Other exports' names for the scale columns, folded (lower case, ' ' and '-' as '_'): Dai & Zheng's 'model_size' and
#: 'n_tokens', W&B's '_step', trainers' 'global_step', 'Params'. A run table reads the scale from 'params', 'step' and
#: 'tokens' alone, so such a column whose values differ stops the table (:class:`~mixlaw.data.RunTable`): ignored,
#: the rows of every model size (or checkpoint) were fitted as one loss surface without a word, where the same table
#: with 'params' warned that it spans several sizes.
SCALE_ALIASES = {
    "params": ("params", "param", "model_size", "n_params", "nparams", "num_params", "model_params", "parameters",
               "n_parameters", "num_parameters", "model_parameters", "param_count", "non_embedding_params",
               "n_params_non_embedding", "model_n_params", "size_params"),
    "step": ("step", "steps", "_step", "global_step", "train_step", "trainer/global_step", "iteration", "iter",
             "checkpoint_step", "ckpt_step"),
    "tokens": ("tokens", "n_tokens", "num_tokens", "tokens_seen", "train_tokens", "total_tokens", "tokens_trained",
               "consumed_tokens", "seen_tokens", "training_tokens"),
}
class SheetText(str):
    """A workbook cell's text that reads as a number written with a decimal comma ('0,4'), keeping the sheet and cell
    (``B7``) it came from: a workbook stores numbers as numbers, so such a cell was typed or pasted as text, and the
    error that refuses it (:class:`~mixlaw.data.RunTable`'s "is not a number") names the cell and the fix in the
    workbook, not a CSV's separators. Equal to, and hashed as, its text: a column that needs no number keeps it."""

    __slots__ = ("sheet", "cell")

    def __new__(cls, text: str, sheet: str, cell: str) -> SheetText:
        out = super().__new__(cls, text)
        out.sheet, out.cell = sheet, cell
        return out

    def __reduce__(self) -> tuple[Any, ...]:
        return SheetText, (str(self), self.sheet, self.cell)


#: Columns that hold run ids: ``run`` and the names :func:`~mixlaw.data.reading._normalise_columns` reads as it
#: (W&B's ``Name``, RegMix's ``index``). They are read as text.
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
#: (up to ``weight_tol``) are a repair the user should hear about. Shares written to 6 decimals are each off by up
#: to 5e-7, so a row of k domains by up to k x 5e-7: at 1e-6, 133 of 300 command runs on 6-decimal tables of 2-39
#: domains (RegMix, Olmix, Marin subsets) warned "renormalised the weights of 3 of 51 rows ... (largest deviation
#: 1e-06)"; 1e-5 covers 20 domains at 6 decimals, and 4 decimals (5e-5 a share) are still said.
ROUNDING_TOL = 1e-5
#: Rows whose shares all agree within SAME_MIXTURE_ATOL + SAME_MIXTURE_RTOL x the larger share hold one mixture
#: (:func:`mixlaw.pipeline.grouping.merge_near_mixtures`): a mixture written to 4 decimals at one size (5e-5 off) or
#: renormalised differently at each (1e-4 of each share) is still one, while the mixtures of a design differ by far
#: more, and a small share's relative change (0.001 against 0.0005) keeps two mixtures apart. Here because a law's
#: fitted weight range is checked with it too (a merged mixture's rows lie that far from the shares it was fitted on).
SAME_MIXTURE_ATOL, SAME_MIXTURE_RTOL = 1e-4, 1e-3
#: Model sizes (or token counts) within this relative distance of each other are one scale
#: (:func:`mixlaw.pipeline.grouping.merge_near_sizes`; an optimum's runs at the scale asked,
#: :func:`mixlaw.optimize.runs.rows_at_scale`): a size written as a nominal count for some runs and an exact or rounded
#: one for others (70M against 70,426,624: 0.6 %); the sizes of a sweep lie 1.3x apart or more, and the size law
#: cannot use two sizes 1 % apart.
SAME_SIZE_RTOL = 0.01
#: A model size given to an option (``--at-params``, ``--fit-sizes``, ``--fit-up-to``) names the table's size nearest
#: to it within this relative distance when no other size of the table lies that near
#: (:func:`mixlaw.data.scales.match_size`): papers name a size by a rounded count (Pythia's "160M" has 162,322,944
#: parameters: 1.4 %; "1.4B" 1.41e9: 0.7 %), which :data:`SAME_SIZE_RTOL` alone refused; a sweep's sizes lie 1.3x
#: apart or more, so 5 % still names one of them.
NEAREST_SIZE_RTOL = 0.05
#: Name tokens of higher-is-better metrics (whole tokens between non-alphanumerics, case-insensitive: 'acc' in
#: 'hellaswag_acc' or 'acc_norm', never in 'pile_cc' or 'accel'); 'pass@k' / 'pass_at_k' by pattern
#: (:func:`mixlaw.evals.reads_higher_is_better`).
HIGHER_IS_BETTER = re.compile(r"(?<![a-z0-9])(?:acc|accuracy|exact_match|em|f1|score|win_rate|winrate)(?![a-z0-9])"
                              r"|(?<![a-z0-9])pass(?:@|_at_)\d", re.IGNORECASE)
#: A per-token cross-entropy stays below ln(vocabulary) (12.5 nats for 256k tokens; 18 bits): a loss column whose
#: smallest value is above this is no such loss, most often a perplexity (exp of the loss: RegMix's 1M-model pile_cc
#: losses of 4.4-5.9 are perplexities of 80-360). The laws and the pipeline's step and size laws have a loss's form,
#: and a mean over evals weighs a perplexity's worst eval most, so it is warned (:class:`~mixlaw.data.RunTable`).
PERPLEXITY_FLOOR = 20.0
#: A per-token loss in nats stays below this (ln of a 256k vocabulary); a column named as a perplexity above it is one.
MAX_TOKEN_NATS = 12.5
#: What to do with a loss column that holds 0 or a negative value: the laws fit positive losses (most fit log L),
#: so a metric that can reach 0 or go negative (a score difference, a log-probability) needs a positive form.
NONPOSITIVE_HINT = ("the laws fit positive losses: store a positive form of a metric that can be 0 or negative (a "
                    "log-probability's negation or an error rate 1 - accuracy, both losses; or the metric plus a "
                    "constant that lifts every value above 0, optimised with --maximize if higher is better)")


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


def share_value(text: str) -> float:
    """A weight or share as a user writes it: ``"0.3"`` or a percentage ``"30%"`` (0.3), as inline mixtures,
    ``--fixed``, ``--bounds`` and ``train --mixture`` take it. Raises ValueError when it is neither."""
    text = str(text).strip()
    return float(text[:-1]) / 100.0 if text.endswith("%") else float(text)


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


#: Counts below this are integers a float64 holds exactly (2**53): :func:`whole_counts` writes them as integers.
_EXACT_INT = 2.0**53


def whole_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each float ``params``/``step``/``tokens`` column whose every filled cell is a whole number
    (below 2**53) as integers (``int64``, or pandas' nullable ``Int64`` where a cell is missing, which stays
    missing), as a run store's export writes them; the frame itself when none is (no copy).

    Why: a run table holds them as float64, and a table written from it (``design --select``'s chosen pilots,
    ``runs import --out``) read ``params`` 1e8 as ``100000000.0``."""
    cols = []
    for c in META_COLUMNS[1:]:
        if c in frame.columns and pd.api.types.is_float_dtype(frame[c].dtype):
            v = frame[c].to_numpy(dtype=np.float64)
            v = v[~np.isnan(v)]
            if np.all(np.isfinite(v) & (np.abs(v) < _EXACT_INT) & (v == np.round(v))):
                cols.append(c)
    if not cols:
        return frame
    out = frame.copy()
    for c in cols:
        out[c] = out[c].astype("Int64" if out[c].isna().any() else np.int64)
    return out


def _percent_cells(column: pd.Series, values: pd.Series) -> pd.Series:
    """A weight column's ``values`` with its text cells written as percentages ('30%', as a spreadsheet formats a
    share, and as --mixture and --fixed take one) read as shares (0.3); they stopped at "value '30%' is not a
    number". A row mixing '30%' with a bare 70 then fails the row-sum check, which names it."""
    text = values.isna() & column.map(lambda v: isinstance(v, str) and v.strip().endswith("%"))
    if text.any():
        values = values.copy()
        values[text] = column[text].map(_share_or_nan)
    return values


def _share_or_nan(cell: str) -> float:
    """:func:`~mixlaw.data.schema.share_value` of a cell, NaN where it is not a share (the table's check names it)."""
    try:
        return share_value(cell)
    except ValueError:
        return float("nan")



def beyond_tol(off: Any, tol: float) -> Any:
    """Whether a row sum's distance ``off`` from 1 exceeds ``tol``, inclusively.

    A row of 0.99 (weights written to two decimals) is 1 - 0.01 in the user's arithmetic but 0.0100000000000000089
    off in float64, and was refused as "weights sum to 0.99, expected 1 ± 0.01".
    """
    return off > tol * (1 + 1e-9) + 1e-12


#: How a row-sum error names the tolerance where a user may set it from the command line or from Python.
TOL_OPTION = "--weight-tol (weight_tol=)"


def weight_sum_error(sums: np.ndarray, tol: float, option: str | None = TOL_OPTION,
                     hint: str = "") -> tuple[int, str] | None:
    """The first row whose weights do not sum to 1 within ``tol`` (:func:`beyond_tol`) and what to say about it,
    or None when every row does: the rule of a run table and of a law fitted on an array of mixtures alike.

    ``option`` names the tolerance where the user sets it (``--weight-tol`` on the command line, ``weight_tol=``
    in Python; None where the caller takes no tolerance: the hint is then "fix the row"). A table of percentages
    (every row near 100, out of any tolerance's reach) and one of unnormalised counts (no row near 1) are said as
    such. ``hint``: the caller's own reading of the rows, said instead (a run table's column that is no domain).
    """
    sums = np.asarray(sums, dtype=np.float64)
    bad = beyond_tol(np.abs(sums - 1.0), tol)
    if not bad.any():
        return None
    i = int(np.flatnonzero(bad)[0])
    if not hint and np.allclose(sums, 100.0, rtol=0.01):
        # No tolerance below 1 reaches 100; the whole table is in one other unit, so say which.
        hint = "every row sums to 100: the weights look like percentages; divide them by 100"
    elif not hint and bad.all():
        hint = (f"no row sums to 1 (sums {sums.min():.4g} to {sums.max():.4g}): if the weights are token "
                "counts or unnormalised ratios, divide each row by its sum")
    elif not hint:
        hint = "fix the row" if option is None else f"fix the row, or raise {option}"
    return i, f"weights sum to {sums[i]:.6g}, expected 1 ± {tol:g} ({hint})"
