"""RegMix's regression model: gradient-boosted trees (LightGBM) from mixture weights to loss.

.. math:: L_i(r) = \\sum_{t=1}^{T} \\eta\\, f_{it}(r), \\qquad f_{it} \\text{ regression trees}

An optional extra: ``pip install 'mixlaw[lightgbm]'``; the import happens inside :meth:`fit`.

References
----------
Liu et al., "RegMix: Data Mixture as Regression for Language Model Pre-training", ICLR 2025, arXiv:2407.01492,
§3.2 and ``regression_fitting/regression.ipynb`` in github.com/sail-sg/regmix (the hyperparameters below).
"""

from __future__ import annotations

import re
import warnings
from numbers import Integral
from typing import Any

import numpy as np

from .._console import column_width, pad
from .._validation import Interval, Real
from ..errors import ConvergenceWarning, InputError, user_stacklevel
from ..fit import Params
from ._folds import FOLD_FIT, canonical_order
from .base import FitContext, MixingLaw, register


def _import_lightgbm() -> Any:
    try:
        import lightgbm
    except ImportError as err:
        raise InputError("law 'lightgbm' needs the optional extra: pip install 'mixlaw[lightgbm]'") from err
    return lightgbm


#: A tree's leaf count in LightGBM's text model format (each tree starts ``Tree=<i>`` then ``num_leaves=<k>``).
_TREE_LEAVES = re.compile(r"^Tree=\d+\r?\nnum_leaves=(\d+)", re.MULTILINE)


def _constant_targets(targets: list[str], models: list[str]) -> list[str]:
    """Targets whose model (LightGBM's text format) predicts one value for every mixture: none of its trees has a
    split. Read from the text the fit writes anyway: ``Booster.dump_model()``'s JSON of 1000 trees took 40 ms per
    eval set, 44 % of the law's fold fits on Olmix DCLM. A text with no tree header (a LightGBM whose format
    differs) is not called constant: an unreadable format must not flag, and so drop, every eval set."""
    out = []
    for t, m in zip(targets, models, strict=True):
        leaves = _TREE_LEAVES.findall(m)
        if leaves and all(int(k) <= 1 for k in leaves):
            out.append(t)
    return out


@register("lightgbm", extra="lightgbm")
class LightGBM(MixingLaw):
    """RegMix's LightGBM regressor, one booster per eval set.

    Defaults are RegMix's: gradient-boosted decision trees, squared-error objective, 1000 rounds at learning
    rate 0.01, LightGBM's default trees (31 leaves, 20 runs per leaf).

    Parameters
    ----------
    n_estimators : int, default=1000
        Boosting rounds (RegMix's ``num_iterations``).
    learning_rate : float, default=0.01
    num_leaves : int, default=31
    min_child_samples : int, default=20
        LightGBM's ``min_data_in_leaf``.
    early_stopping_rounds : int or None, default=None
        Stop when the l2 loss on a held-out ``validation_fraction`` of the *fitting* runs has not improved for
        this many rounds. RegMix's notebook stops after 3 rounds on its *test* split, which uses the scores it
        reports; mixlaw never looks at held-out splits, so the default trains all ``n_estimators`` rounds.
    validation_fraction : float, default=0.1
        Share of the fitting runs held out for early stopping (only with ``early_stopping_rounds``).
    n_jobs : int, default=1
        LightGBM threads. Few threads keep a 512-run fit fast (thread start-up dominates) and results
        identical across machines.
    random_state : int, Generator or None, default=0
        Seeds LightGBM (``seed``, with ``deterministic=True``) and the early-stopping split.

    Attributes
    ----------
    params_ : Params
        Empty: a tree ensemble has no named coefficients.
    boosters_ : list of lightgbm.Booster
        One per target.
    n_iter_ : list of int
        Boosting rounds kept per target.
    constant_targets_ : list of str
        Eval sets whose model has no split (every mixture gets the same prediction; a warning says so, and
        ``optimize``, ``continual``, ``design`` and ``pipeline`` refuse such a model).

    Notes
    -----
    .. math:: L_i(r) = \\sum_{t=1}^{T} \\eta\\, f_{it}(r), \\qquad f_{it} \\text{ regression trees}

    Symbols: r -> ``weights`` (the features), L_i -> ``losses[:, i]`` (the label), T -> ``n_estimators``,
    eta -> ``learning_rate``. Trees are piecewise constant: predictions never leave the range of the fitted
    losses, so the law ranks mixtures but cannot extrapolate beyond them.

    References
    ----------
    Liu et al., "RegMix: Data Mixture as Regression for Language Model Pre-training", ICLR 2025,
    arXiv:2407.01492.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.random.default_rng(0).dirichlet(np.ones(3), size=200)
    >>> y = 3.0 - W[:, 0] + 0.5 * W[:, 1] ** 2
    >>> law = LightGBM(n_estimators=200, learning_rate=0.1).fit(W, y)
    >>> bool(np.mean(np.abs(law.predict(W) / y - 1)) < 0.01)
    True
    """

    differentiable = False
    _parameter_constraints = {
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "num_leaves": [Interval(Integral, 2, None, closed="left")],
        "min_child_samples": [Interval(Integral, 1, None, closed="left")],
        "early_stopping_rounds": [Interval(Integral, 1, None, closed="left"), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_jobs": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, n_estimators: int = 1000, learning_rate: float = 0.01, num_leaves: int = 31,
                 min_child_samples: int = 20, early_stopping_rounds: int | None = None,
                 validation_fraction: float = 0.1, n_jobs: int = 1,
                 random_state: int | np.random.Generator | None = 0) -> None:
        self.n_estimators, self.learning_rate = n_estimators, learning_rate
        self.num_leaves, self.min_child_samples = num_leaves, min_child_samples
        self.early_stopping_rounds, self.validation_fraction = early_stopping_rounds, validation_fraction
        self.n_jobs, self.random_state = n_jobs, random_state

    def _lgb_params(self, seed: int) -> dict[str, Any]:
        return {"objective": "regression", "boosting_type": "gbdt", "learning_rate": float(self.learning_rate),
                "num_leaves": int(self.num_leaves), "min_data_in_leaf": int(self.min_child_samples),
                "seed": seed, "deterministic": True, "force_row_wise": True, "num_threads": int(self.n_jobs),
                "verbosity": -1, "metric": "l2"}

    def _fit(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext) -> None:
        lgb = _import_lightgbm()
        seed = int(self._rng.integers(0, 2**31 - 1))
        params = self._lgb_params(seed)
        boosters, n_iter, texts, splits = [], [], [], []
        # A CV fold's fit only predicts the fold's held-out runs (FOLD_FIT): its boosters are kept as trained, without
        # the text round-trip below (model_to_string 0.12 s, model_from_string 0.02 s and the leaf regex 0.03 s per
        # eval set on RegMix's 410-run folds: 28 % of the law's fold fits); the text holds every leaf value and
        # threshold to 17 digits, so the predictions are the same (RegMix's 13 evals x 5 folds: identical). Early
        # stopping keeps the text: its trained booster holds rounds past the best one.
        keep_trained = FOLD_FIT.get() and self.early_stopping_rounds is None
        for i in range(Y.shape[1]):
            # The runs in the order of their content (mixture, then loss), not the table's: the early-stopping
            # split and the trees then depend on the set of runs alone, not on how the table was sorted.
            order = canonical_order(W, Y[:, i])
            y = Y[:, i]
            if self.early_stopping_rounds is not None:
                perm = order[np.random.default_rng(seed + i).permutation(W.shape[0])]
                n_val = max(1, int(round(self.validation_fraction * W.shape[0])))
                val, tr = perm[:n_val], perm[n_val:]
                dtrain = lgb.Dataset(W[tr], y[tr], params={"verbosity": -1})
                dval = lgb.Dataset(W[val], y[val], reference=dtrain)
                booster = lgb.train(params, dtrain, num_boost_round=int(self.n_estimators), valid_sets=[dval],
                                    callbacks=[lgb.early_stopping(int(self.early_stopping_rounds), verbose=False)],
                                    keep_training_booster=True)
                best = int(booster.best_iteration) or int(self.n_estimators)
            else:
                # keep_training_booster: train() otherwise round-trips the booster through its text format
                # itself (model_to_string + model_from_string, 0.15 s of a 0.8 s fit on RegMix's 512 runs), and
                # the text is written again just below; the text is the same either way (checked on RegMix's evals,
                # with and without early stopping).
                booster = lgb.train(params, lgb.Dataset(W[order], y[order], params={"verbosity": -1}),
                                    num_boost_round=int(self.n_estimators), keep_training_booster=True)
                best = booster.current_iteration()
            if keep_trained:
                # A split per tree that splits: none in any tree is a constant model (as _constant_targets reads it
                # from the text).
                splits.append(int(booster.feature_importance(importance_type="split").sum()))
                boosters.append(booster)
                n_iter.append(best)
                continue
            # Round-trip through the text format so a fitted and a reloaded law predict bit-identically.
            texts.append(booster.model_to_string(num_iteration=best))
            del booster  # with its training data (kept by keep_training_booster)
            boosters.append(lgb.Booster(model_str=texts[-1]))
            n_iter.append(best)
        self.boosters_, self.n_iter_ = boosters, n_iter
        self.params_ = Params([])
        self.results_ = {}
        # With few runs no tree can split (a leaf needs min_child_samples runs), and every prediction is the
        # mean loss: such a model cannot rank mixtures, which optimize/continual/design/pipeline refuse
        # (check_enough_runs).
        self.constant_targets_ = ([t for t, k in zip(ctx.targets, splits, strict=True) if k == 0] if keep_trained
                                  else _constant_targets(ctx.targets, texts))
        if self.constant_targets_:
            warnings.warn(f"LightGBM: the model of {self.constant_targets_} is constant (no tree could split "
                          f"{W.shape[0]} runs with min_child_samples={self.min_child_samples}): every mixture gets "
                          f"the same prediction; add runs or lower min_child_samples", ConvergenceWarning,
                          stacklevel=user_stacklevel(3))

    def _predict(self, W: np.ndarray, ctx: FitContext) -> np.ndarray:
        return np.column_stack([b.predict(W, num_threads=int(self.n_jobs)) for b in self.boosters_])

    def _get_state(self) -> dict[str, Any]:
        # saved_order: the domains and eval sets in the order the models read them (the trees name neither: a file
        # whose 'domains' or 'targets' list was reordered loaded and predicted silently wrong, hunt34c); the loader
        # checks the file's lists against it
        return {"models": [b.model_to_string() for b in self.boosters_], "n_iter": list(self.n_iter_),
                "saved_order": {"domains": list(self.domains_), "targets": list(self.targets_)}}

    def _set_state(self, state: dict[str, Any]) -> None:
        lgb = _import_lightgbm()
        self.boosters_ = [lgb.Booster(model_str=s) for s in state["models"]]
        self.n_iter_ = [int(v) for v in state["n_iter"]]
        order = state.get("saved_order")  # absent in files saved before it was kept: their order is not checked
        if order is not None and not (isinstance(order, dict) and set(order) <= {"domains", "targets"} and all(
                isinstance(v, list) and all(isinstance(x, str) for x in v) for v in order.values())):
            raise InputError(f"saved state field 'saved_order' must be {{domains: [names], targets: [names]}}; "
                             f"got {str(order)[:80]}")
        self.saved_order_ = order
        # A saved model is judged as a fitted one is, so a loaded constant model is refused by the same checks
        # (a count of models that does not match the targets is refused by the loader's prediction check).
        self.constant_targets_ = (_constant_targets(self.targets_, list(state["models"]))
                                  if len(self.boosters_) == len(self.targets_) else [])
        if self.constant_targets_:
            warnings.warn(f"LightGBM: the saved model of {self.constant_targets_} is constant (no tree splits): "
                          f"every mixture gets the same prediction", ConvergenceWarning, stacklevel=user_stacklevel(3))

    def _extra_report_sections(self) -> list[tuple[str, str]]:
        w = column_width(self.targets_)  # full names: two evals cut to one prefix read the same
        rows = [f"{pad(t, w)} {n:>6d} trees" for t, n in zip(self.targets_, self.n_iter_, strict=True)]
        return [("Boosting rounds per eval set", "\n".join(rows))]


__all__ = ["LightGBM"]
