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

The package's modules, bottom up: :mod:`.schema` (the columns, tolerances and count cells), :mod:`.hints` (what an
error about a table's column names suggests), :mod:`.diagnosis` (what a refused or suspicious table's cells, rows
and runs probably are), :mod:`.table` (:class:`RunTable`), :mod:`.scales` (whether another table is at the fitted
runs' scale) and :mod:`.reading` (files into tables; JSON records flattened in :mod:`.json_records`, a
workbook's never-computed formulas found in :mod:`.excel_formulas`). Every public name of these is importable from
``mixlaw.data``.
"""

from .diagnosis import (
    UNFINISHED_ADVICE,
    UNFINISHED_STATES,
    note_left_out,
    scale_look_alike,
    unfinished_runs,
    unseen_zero_domains,
)
from .hints import known_names, long_format_hint, suggest_column_map
from .reading import csv_missing, read_regmix_pair, read_runs
from .scales import describe_spread, exact_number, match_size, scale_mismatch, sizes_up_to
from .schema import (
    CSV_MISSING,
    HIGHER_IS_BETTER,
    LOSS_PREFIX,
    META_COLUMNS,
    NEAREST_SIZE_RTOL,
    NONPOSITIVE_HINT,
    ROUNDING_TOL,
    RUN_ID_COLUMNS,
    SAME_MIXTURE_ATOL,
    SAME_MIXTURE_RTOL,
    SAME_SIZE_RTOL,
    SCALE_COLUMN_WORDS,
    TOL_OPTION,
    WEIGHT_PREFIX,
    WEIGHT_TOL,
    beyond_tol,
    count_values,
    scaled_number,
    share_value,
    weight_sum_error,
)
from .table import (
    FRAME_TOL_OPTION,
    OWN_ROWS_HINT,
    ROW_DECIMALS,
    SCALE_RATIO,
    RunTable,
    distinct_rows,
    flat_columns,
    frame_as_table,
    missing_law_domains,
)

__all__ = ["RunTable", "read_runs", "read_regmix_pair", "scale_mismatch", "unseen_zero_domains", "WEIGHT_TOL",
           # what the other modules of mixlaw use
           "missing_law_domains", "WEIGHT_PREFIX", "LOSS_PREFIX", "META_COLUMNS", "SCALE_COLUMN_WORDS",
           "RUN_ID_COLUMNS", "CSV_MISSING",
           "ROUNDING_TOL", "SAME_MIXTURE_ATOL", "SAME_MIXTURE_RTOL",
           "SAME_SIZE_RTOL", "NEAREST_SIZE_RTOL", "match_size", "sizes_up_to", "exact_number", "NONPOSITIVE_HINT",
           "SCALE_RATIO", "scaled_number",
           "share_value", "weight_sum_error", "FRAME_TOL_OPTION", "TOL_OPTION", "OWN_ROWS_HINT",
           "count_values", "beyond_tol", "note_left_out", "describe_spread", "csv_missing", "known_names",
           "long_format_hint", "suggest_column_map", "scale_look_alike", "HIGHER_IS_BETTER",
           "unfinished_runs", "UNFINISHED_STATES", "UNFINISHED_ADVICE", "distinct_rows", "ROW_DECIMALS",
           "flat_columns", "frame_as_table"]
