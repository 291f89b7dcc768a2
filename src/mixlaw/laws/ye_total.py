"""Ye et al.'s total validation loss over eval domains of known composition.

.. math:: L(r) = \\sum_{i=1}^{K} s_i L_i(r), \\qquad L_i(r) = c_i + k_i \\exp\\Big(\\sum_j t_{ij} r_j\\Big)

References
----------
Ye et al., "Data Mixing Laws: Optimizing Data Mixtures by Predicting Language Modeling Performance",
ICLR 2025, arXiv:2403.16952 (explicit domain aggregation: the overall loss as the
validation set's known proportions of the domain losses).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .._validation import check_is_fitted
from ..errors import InvalidParameterError
from ..fit import HUBER_DELTA
from .base import FitContext, register
from .ye import YeExponential


@register("ye-total")
class YeTotal(YeExponential):
    """Ye's total loss with a known composition ``s`` of the validation set.

    Each eval domain gets its own exponential law (fitted exactly as :class:`YeExponential`); the total
    is their ``s``-weighted sum. ``predict`` returns the per-domain losses like every law, and
    :meth:`predict_total` the total, which is what the optimiser minimises with ``objective="total"``.

    Parameters
    ----------
    composition : dict of str to float, optional
        Share s_i of each eval domain in the validation set (normalised to sum to 1). Default: uniform over
        the fitted targets.
    loss, huber_delta, n_restarts, alpha, reference, bounds, fixed, random_state
        As in :class:`YeExponential`.

    Attributes
    ----------
    composition_ : ndarray of shape (n_targets,)
        The shares used, in the order of ``targets_``.
    params_, alpha_, cv_scores_, z_max_
        As in :class:`YeExponential` (one law per eval domain).

    Notes
    -----
    .. math:: L(r) = \\sum_i s_i L_i(r), \\qquad L_i(r) = c_i + k_i \\exp\\Big(\\sum_j t_{ij} r_j\\Big)

    Symbols: s_i -> ``composition_``, the rest as in :class:`YeExponential`.

    References
    ----------
    Ye et al., "Data Mixing Laws: Optimizing Data Mixtures by Predicting Language Modeling Performance",
    ICLR 2025, arXiv:2403.16952 (explicit domain aggregation).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W = rng.dirichlet(np.ones(2), size=30)
    >>> Y = np.column_stack([2 + np.exp(W @ [0.0, -1.0]), 1.5 + np.exp(W @ [0.0, 1.0])])
    >>> law = YeTotal(composition={"a": 0.75, "b": 0.25}).fit(W, Y, domains=["a", "b"], targets=["a", "b"])
    >>> bool(np.allclose(law.predict_total(W), Y @ [0.75, 0.25], rtol=1e-4))
    True
    """

    _parameter_constraints = {**YeExponential._parameter_constraints, "composition": [dict, None]}

    def __init__(self, *, composition: Mapping[str, float] | None = None, loss: str = "huber",
                 huber_delta: float = HUBER_DELTA, n_restarts: int = 8, alpha: float = 0.0,
                 reference: str | None = "auto", bounds: dict[str, tuple[float, float]] | None = None,
                 fixed: dict[str, float] | None = None, random_state: int | np.random.Generator | None = 0) -> None:
        super().__init__(loss=loss, huber_delta=huber_delta, n_restarts=n_restarts, alpha=alpha, reference=reference,
                         bounds=bounds, fixed=fixed, random_state=random_state)
        self.composition = composition

    def _fit(self, W: np.ndarray, Y: np.ndarray, ctx: FitContext) -> None:
        self.composition_ = self._shares(ctx.targets)
        super()._fit(W, Y, ctx)

    def _shares(self, targets: list[str]) -> np.ndarray:
        if self.composition is None:
            return np.full(len(targets), 1.0 / len(targets))
        unknown = [k for k in self.composition if k not in targets]
        if unknown:
            raise InvalidParameterError(f"The 'composition' parameter of YeTotal names eval domains {unknown} that "
                                        f"are not fitted targets ({targets})")
        s = np.array([float(self.composition.get(t, 0.0)) for t in targets])
        if np.any(s < 0) or not np.isfinite(s).all() or s.sum() <= 0:
            raise InvalidParameterError(f"The 'composition' parameter of YeTotal must be non-negative shares with a "
                                        f"positive sum. Got {dict(self.composition)!r} instead.")
        return s / s.sum()

    def predict_total(self, weights: Any, **kw: Any) -> np.ndarray:
        """Total loss sum_i s_i L_i(r), shape (n,)."""
        check_is_fitted(self)
        pred = np.asarray(self.predict(weights, **kw)).reshape(-1, len(self.targets_))
        return pred @ self.composition_

    def _get_state(self) -> dict[str, Any]:
        return {**super()._get_state(), "composition_": self.composition_.tolist()}

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self.composition_ = np.asarray(state["composition_"])
