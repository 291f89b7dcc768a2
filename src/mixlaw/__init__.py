"""mixlaw: fit data mixing laws to proxy runs and choose the pretraining mixture.

>>> from mixlaw import load_regmix, get_law, compare
>>> law = get_law("ye-exp").fit(load_regmix("train_1m"), targets="pile_cc")
>>> board = compare(load_regmix("train_1m"), {"test_1B": load_regmix("test_1B")}, targets="pile_cc",
...                 laws=["linear"])

``mixlaw.compare`` is the module :mod:`mixlaw.compare` (``holdout_split``, ``Leaderboard``), callable as its
:func:`~mixlaw.compare.compare`.

``save_law(law, path)`` / ``load_law(path)`` keep a fitted law (JSON, as ``mixlaw fit --out`` writes it);
``save_pipeline(result, path)`` / ``load_pipeline(path)`` a :func:`fit_pipeline` result. What ``mixlaw fit`` and
``mixlaw optimize`` run is :func:`fit_table` and :func:`optimize_runs` (fit, then optimise within the runs' range), and
``mixlaw optimize --law law.json`` is :func:`optimize_saved_law`.
"""

from . import compare, laws, metrics
from ._version import __version__
from .api import fit_table, load_law, save_law
from .api_optimize import optimize_runs, optimize_saved_law
from .bootstrap import bootstrap_law
from .data import RunTable, read_regmix_pair
from .datasets import load_marin_delphi, load_regmix
from .design import active_design
from .errors import (
    ConvergenceWarning,
    DataError,
    DataWarning,
    ExtrapolationWarning,
    FitError,
    InputError,
    InvalidParameterError,
    MixlawError,
    MixlawWarning,
    NotFittedError,
)
from .export import export_mixture
from .fit import FitResult, Param, Params
from .importers import read_any_runs as read_runs  # what --runs reads: a table, a RegMix or Olmix pair
from .laws import available_laws, get_law, law_from_dict
from .optimize import optimize_mixture
from .pipeline import fit_pipeline, load_pipeline, optimize_pipeline, save_pipeline

__all__ = ["RunTable", "read_runs", "read_regmix_pair", "load_regmix", "load_marin_delphi", "laws", "metrics",
           "compare", "get_law", "available_laws", "law_from_dict", "optimize_mixture", "bootstrap_law",
           "fit_table", "optimize_runs", "optimize_saved_law",
           "active_design", "fit_pipeline", "optimize_pipeline", "export_mixture", "save_law", "load_law",
           "save_pipeline", "load_pipeline", "FitResult", "Param", "Params", "MixlawError",
           "InputError", "DataError", "InvalidParameterError", "NotFittedError", "FitError", "MixlawWarning",
           "ConvergenceWarning", "ExtrapolationWarning", "DataWarning", "__version__"]
