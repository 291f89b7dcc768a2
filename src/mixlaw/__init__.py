"""mixlaw: fit data mixing laws to proxy runs and choose the pretraining mixture."""

from . import laws, metrics
from .data import RunTable, read_regmix_pair, read_runs
from .datasets import load_regmix
from .errors import (ConvergenceWarning, DataError, DataWarning, ExtrapolationWarning, FitError, InputError,
                     InvalidParameterError, MixlawError, MixlawWarning, NotFittedError)
from .fit import FitResult, Param, Params
from .laws import available_laws, get_law, law_from_dict

__version__ = "0.1.0"

__all__ = ["RunTable", "read_runs", "read_regmix_pair", "load_regmix", "laws", "metrics", "get_law",
           "available_laws", "law_from_dict", "FitResult", "Param", "Params", "MixlawError", "InputError",
           "DataError", "InvalidParameterError", "NotFittedError", "FitError", "MixlawWarning",
           "ConvergenceWarning", "ExtrapolationWarning", "DataWarning", "__version__"]
