"""Implicit domain aggregation for laws written per training domain (BiMix, AutoScale; DZ in dz_eq1.py).

Laws such as BiMix and AutoScale predict the loss on *domain i* from the share of domain i. An eval set that
is no training domain (a downstream benchmark, a held-out web crawl, a weighted total) is, following Ye et
al.'s implicit domain aggregation, a mixture of the training domains' laws,

.. math:: L_e(r) = \\sum_k s_k L_k(r), \\qquad s_k \\ge 0,\\ \\sum_k s_k = 1 .

When each domain law carries its own scale (``L_k = K_k f_k``) only the products ``s_k K_k`` are identifiable
from ``L_e``; this module fits them as ``w_k = exp(log_w_k)`` and reports ``s = w / sum(w)`` (the composition
under the convention that the domain laws share one scale ``sum(w)``), exactly as Ye et al.'s implicit law
collapses ``s_k k_k`` into one scale per component.

References
----------
Ye et al., "Data Mixing Laws", ICLR 2025, arXiv:2403.16952, §3.3 (implicit domain aggregation).
"""

from __future__ import annotations

import numpy as np

#: Bounds of log w_k. A domain that does not matter drifts to the lower bound (w ~ 2e-9 of a loss unit).
LOG_W_BOUNDS = (-20.0, 5.0)


def power_sum(R: np.ndarray, log_w: np.ndarray, expo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``sum_k w_k R_k^(-e_k)`` per run and its pieces.

    Parameters
    ----------
    R : ndarray of shape (n, M)
        Positive per-domain bases (share + offset, or tokens + offset).
    log_w, expo : ndarray of shape (M,)

    Returns
    -------
    total : ndarray of shape (n,)
    terms : ndarray of shape (n, M)
        ``w_k R_k^(-e_k)`` (the derivative of ``total`` with respect to ``log_w_k``).
    log_R : ndarray of shape (n, M)
        So that ``d total / d e_k = -terms[:, k] * log_R[:, k]``.
    """
    log_R = np.log(R)
    terms = np.exp(log_w[None, :] - expo[None, :] * log_R)
    return terms.sum(axis=1), terms, log_R


def composition(log_w: np.ndarray) -> np.ndarray:
    """The implied composition s = w / sum(w) (sums to 1)."""
    w = np.exp(log_w - log_w.max())
    return w / w.sum()


def log_w_start(y: np.ndarray, base_mean: np.ndarray) -> np.ndarray:
    """Equal shares whose sum matches the mean loss: w_k = mean(y) / (M * base_mean_k)."""
    M = base_mean.size
    return np.clip(np.log(float(np.mean(y)) / (M * base_mean)), LOG_W_BOUNDS[0] + 1, LOG_W_BOUNDS[1] - 1)


__all__ = ["power_sum", "composition", "log_w_start", "LOG_W_BOUNDS"]
