"""Exception and warning hierarchy.

Every error a user can cause derives from :class:`InputError` (CLI exit code 2); a fit that cannot
produce an answer raises :class:`FitError` (exit code 1).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Sequence

from sklearn.exceptions import NotFittedError as _SkNotFittedError


class MixlawError(Exception):
    """Base class of every mixlaw exception."""


class InputError(MixlawError, ValueError):
    """Bad input from the user: a file, a table, an argument. CLI exit code 2."""


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _package_dir(name: str) -> str | None:
    spec = importlib.util.find_spec(name)  # finds the package without running it (joblib need not be imported)
    path = None if spec is None else spec.origin
    return None if path is None else os.path.dirname(os.path.abspath(path)) + os.sep


#: The libraries that call a law on the user's behalf (``cross_val_score``, ``GridSearchCV``, their joblib loop): a
#: warning of ``law.score`` or ``law.fit`` under them named scikit-learn's ``_scorer.py``, not the user's line.
_CALLERS = tuple(p for p in (_package_dir("sklearn"), _package_dir("joblib")) if p is not None)


def user_stacklevel(at_least: int = 1) -> int:
    """The ``stacklevel`` of a ``warnings.warn`` in the function that calls this one that names the first frame
    outside mixlaw at or above ``at_least`` (the level the call site gave): the user's line, however many mixlaw
    functions lie between (Python 3.12's ``skip_file_prefixes``, on 3.10 too). Every warning of the package passes
    its level through it.

    Why: fixed levels are right for one path only. A run table's warnings had ``stacklevel=4``, right for
    ``RunTable(df)``; through ``mixlaw.read_runs(path)``, ``law.fit(df)`` or ``read_runs_mapped`` they named mixlaw's
    ``reading.py``, ``_inputs.py`` or ``columns.py``; ``law.score(table)`` named ``base.py``, ``optimize_runs``
    ``api.py``, ``optimize_pipeline`` ``decide.py``, and a notebook could not tell which of its lines had warned.
    scikit-learn's and joblib's frames are skipped too (:data:`_CALLERS`): under ``cross_val_score(law, table)`` the
    first frame outside mixlaw was scikit-learn's scorer."""
    frame = sys._getframe(1)  # the function that warns: stacklevel 1
    level = 1
    skip = (_PACKAGE,) + _CALLERS
    while frame is not None and (level < at_least or frame.f_code.co_filename.startswith(skip)):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level if frame is not None else max(1, at_least)


def row_unit(path: object) -> str:
    """What a row number of a table read from ``path`` counts: ``"record"`` for a ``.json`` document (the records of
    one array or object, which need not stand one per line: an array printed with an indent spans several lines
    each), ``"row"`` for a Parquet file (no lines: its rows count from 1), else ``"line"`` (the line an editor shows:
    a CSV's header is line 1, a JSONL file's records are its lines, a workbook's rows are its sheet's).

    An error in a .json table said "runs.json:3", the place of a line, where 3 was the record's number."""
    name = "" if path is None else str(path).lower()
    if name.endswith(".json"):
        return "record"
    return "row" if name.endswith((".parquet", ".pq")) else "line"


#: ``DataError``'s ``label`` when the row is no in-memory frame's (a pandas index label may be None).
NO_LABEL: object = object()


def rows_named(path: object, rows: Sequence[int], labels: Sequence[object] | None = None, *, limit: int = 5) -> str:
    """How a message names rows of a table: a file's by their editor lines ``rows`` ('line 17', 'lines 4, 5, ...';
    'records', 'rows' as :func:`row_unit` counts them), an in-memory DataFrame's (``labels`` given: it has no file
    and no line) by their index labels (Python objects, as ``Index.tolist()`` gives them) and 0-based positions
    ``rows``: "row 'r30' (0-based position 2)", or 'rows 2, 3 (0-based)' where each label is its position (a default
    RangeIndex). The first ``limit`` are named.

    Why: the rows of a frame passed from Python were named as a CSV's lines, position + 2, whatever its index:
    "row 4" of a frame indexed 'r10', 'r20', 'r30' was its third row, 'r30', in no number the user could look up."""
    rows = [int(r) for r in rows]
    more = ", ..." if len(rows) > limit else ""
    many = "s" if len(rows) > 1 else ""
    if labels is None:
        return f"{row_unit(path)}{many} {', '.join(map(str, rows[:limit]))}{more}"
    if all(isinstance(v, int) and not isinstance(v, bool) and v == r for v, r in zip(labels, rows, strict=True)):
        return f"row{many} {', '.join(map(str, rows[:limit]))}{more} (0-based)"
    return (f"row{many} {', '.join(map(repr, labels[:limit]))}{more} (0-based position{many} "
            f"{', '.join(map(str, rows[:limit]))}{more})")


def located(path: object, row: int) -> str:
    """``path:row`` for a line, ``path: record N`` for a record of a ``.json`` document, ``path: row N`` for a
    Parquet file's row (:func:`row_unit`)."""
    return f"{path}:{row}" if row_unit(path) == "line" else f"{path}: {row_unit(path)} {row}"


class DataError(InputError):
    """A run table violates the data contract.

    Parameters
    ----------
    message : str
        What is wrong, what was expected and what to do.
    path, row, column : optional
        Where: file path, 1-based editor line (header = 1), or record of a ``.json`` document, or row of a Parquet
        file (:func:`row_unit`), and column name.
    label : optional
        The row's index label, for a row of an in-memory DataFrame (no path, or a name such as ``"DataFrame"``):
        ``row`` is then its 0-based position, and the message names both (:func:`rows_named`).

    Attributes
    ----------
    unit : str
        What ``row`` counts, ``"line"``, ``"record"`` or ``"row"``: ``path:row`` for a line, ``path: record N`` for a
        record (``path: row N`` for a row); ``"position"`` for a DataFrame's row given with its ``label``.
    """

    def __init__(self, message: str, *, path: str | None = None, row: int | None = None,
                 column: str | None = None, label: object = NO_LABEL) -> None:
        self.path, self.row, self.column, self.detail = path, row, column, message
        in_frame = row is not None and label is not NO_LABEL
        self.label = None if label is NO_LABEL else label
        self.unit = "position" if in_frame else row_unit(path)
        where = ""
        if in_frame:
            where = ("" if path is None else f"{path}: ") + rows_named(None, [row], [label]) + ": "
        elif path is not None:
            where = (str(path) if row is None else located(path, row)) + ": "
        elif row is not None:
            where = f"row {row}: "
        if column is not None:
            where += f"column '{column}': "
        super().__init__(where + message)


class TooFewObservationsError(InputError):
    """A fit was given no more losses than its free parameters (``n_obs <= n_params``).

    Parameters
    ----------
    message : str
        The one-line error.
    n_obs, n_params : int
        Losses fitted and free parameters (``n_params + 1`` losses are needed). A cross-validation reads them to
        say whether more folds (more runs per fold) would let the law be scored.

    grows : bool, default=False
        ``n_params`` grows with the runs (a leave-one-out ridge's effective degrees of freedom): more runs per CV
        fold need not fit the law, so no fold count is suggested.
    """

    def __init__(self, message: str, *, n_obs: int, n_params: int, grows: bool = False) -> None:
        self.n_obs, self.n_params, self.grows = int(n_obs), int(n_params), bool(grows)
        super().__init__(message)

    def __reduce__(self) -> tuple[object, tuple[str, int, int, bool]]:
        # Pickled from a worker process (bootstrap refits, CV folds): the default rebuilds from the message alone,
        # which the keyword-only counts refuse (TypeError in place of the error).
        return _too_few, (str(self), self.n_obs, self.n_params, self.grows)


def _too_few(message: str, n_obs: int, n_params: int, grows: bool = False) -> TooFewObservationsError:
    return TooFewObservationsError(message, n_obs=n_obs, n_params=n_params, grows=grows)


class InvalidParameterError(InputError):
    """A constructor argument or parameter bound is invalid."""


class NotFittedError(MixlawError, _SkNotFittedError):
    """An estimator was used before ``fit`` (also scikit-learn's ``NotFittedError``: ValueError, AttributeError)."""


class FitError(MixlawError, RuntimeError):
    """No optimiser start converged to a finite objective. CLI exit code 1."""


class DivergedError(MixlawError, RuntimeError):
    """A training run's loss stopped being finite; it was stopped and recorded as diverged. CLI exit code 1."""


class MixlawWarning(UserWarning):
    """Base class of mixlaw warnings."""


class ConvergenceWarning(MixlawWarning):
    """A fit finished but some starts failed, or a parameter sits on a bound."""


class ExtrapolationWarning(MixlawWarning):
    """A prediction leaves the range of the fitted data."""


class WeightRangeWarning(ExtrapolationWarning):
    """A predicted mixture puts a domain's weight outside its range in the fitted runs."""


class LossRangeWarning(ExtrapolationWarning):
    """A predicted loss lies far outside the losses the law was fitted on (or is not positive)."""


class ScaleWarning(ExtrapolationWarning):
    """Fitting and held-out / predicted runs come from different scales (model size, tokens, loss level)."""


class DataWarning(MixlawWarning):
    """Input was accepted after a stated, counted repair (e.g. renormalised weights)."""


class HigherIsBetterWarning(MixlawWarning):
    """An eval set whose name reads as a higher-is-better metric (``hellaswag_acc``, ``pass@1``) is being
    minimised as a loss (:func:`mixlaw.evals.warn_minimised_metrics`)."""


class PerplexityWarning(DataWarning):
    """Loss values above any per-token loss: perplexities? (:meth:`mixlaw.data.RunTable._warn_perplexity`). A
    command given ``--maximize`` leaves it out: its metrics are scores, an accuracy in percent, not losses."""


class ShortRunWarning(DataWarning):
    """Runs that end before the others of their size: each run's final loss (``--final-step``) is then an earlier
    checkpoint's. A command that fails after it prints it too (the why of a "too few" or scale error)."""


class ChanceWarning(DataWarning):
    """A meta-law (``auto``) chose a law whose out-of-fold Spearman lies within 2 standard errors of chance
    (:meth:`mixlaw.laws.auto.AutoLaw._warn_within_chance`). ``optimize_runs`` holds it back where the optimum's
    note says the same (matched by this class, not by the message's words)."""


class UnusedDomainWarning(DataWarning):
    """A domain has weight 0 in every run of a table: a law fitted on it cannot estimate that domain's effect.

    Only a table to fit on warns usefully; held-out tables and candidate mixtures (``compare --test``,
    ``predict --mixtures``) leave it out, since a candidate need not use every domain.
    """
