"""The law zoo: one module per law, one shared interface (:class:`~mixlaw.laws.base.MixingLaw`)."""

from .additive import ShukorAdditive, ShukorAdditiveEnsemble
from .auto import AutoLaw
from .autoscale import AutoScale
from .base import FitContext, MixingLaw, PerTargetLaw, available_laws, get_law, law_from_dict, register
from .bimix import BiMix
from .dz_eq1 import DZCapacity
from .dz_eq3 import DZNoise, DZNoiseSafe
from .lightgbm import LightGBM
from .linear import Linear
from .loglinear import LogLinear
from .loglinear_sat import LogLinearSat
from .residual_gp import ResidualGP
from .stack import StackLaw
from .ye import YeExponential
from .ye_implicit import YeImplicit
from .ye_pow import YePower
from .ye_total import YeTotal

__all__ = ["MixingLaw", "PerTargetLaw", "FitContext", "register", "get_law", "available_laws", "law_from_dict",
           "YeExponential", "YeImplicit", "YeTotal", "YePower", "DZCapacity", "DZNoise", "DZNoiseSafe",
           "ShukorAdditive", "ShukorAdditiveEnsemble",
           "Linear", "LogLinear", "LogLinearSat", "ResidualGP", "LightGBM", "BiMix", "AutoScale", "AutoLaw", "StackLaw"]
