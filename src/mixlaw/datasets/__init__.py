"""Bundled public data: RegMix's proxy runs (Liu et al., ICLR 2025; MIT licence, see regmix/LICENSE)."""

from __future__ import annotations

import warnings
from importlib import resources

from ..data import RunTable, read_regmix_pair
from ..errors import DataWarning, InputError

#: Splits of the bundled RegMix data: 1M-parameter fitting runs, and held-out runs at three sizes.
REGMIX_SPLITS = ("train_1m", "test_1m", "test_60m", "test_1B")
#: Model size of each split, non-embedding parameters as RegMix names them (1M, 60M, 1B).
REGMIX_MODEL_PARAMS = {"train_1m": 1_000_000, "test_1m": 1_000_000, "test_60m": 60_000_000,
                       "test_1B": 1_000_000_000}

#: Training tokens of each split.
REGMIX_TOKENS = {"train_1m": 1_000_000_000, "test_1m": 1_000_000_000, "test_60m": 1_000_000_000,
                 "test_1B": 25_000_000_000}


def load_regmix(split: str | None = None) -> dict[str, RunTable] | RunTable:
    """Load RegMix's proxy runs (17 Pile training domains, 13 Pile validation losses).

    Parameters
    ----------
    split : {"train_1m", "test_1m", "test_60m", "test_1B"}, optional
        One split; all four as a dict when omitted.

    Returns
    -------
    RunTable or dict of str to RunTable
        Weights are RegMix's 3-decimal proportions renormalised to sum to 1 (they sum to 0.997-1.003 as
        published). Run ids are RegMix's ``index``.

    References
    ----------
    Liu et al., "RegMix: Data Mixture as Regression for Language Model Pre-training", ICLR 2025.
    Data: github.com/sail-sg/regmix, folder data/, MIT licence.

    Examples
    --------
    >>> t = load_regmix("train_1m")
    >>> len(t), len(t.domains), len(t.evals)
    (512, 17, 13)
    """
    if split is None:
        return {s: load_regmix(s) for s in REGMIX_SPLITS}  # type: ignore[misc]
    if split not in REGMIX_SPLITS:
        raise InputError(f"unknown RegMix split {split!r}; expected one of {list(REGMIX_SPLITS)}")
    kind, size = split.split("_")
    root = resources.files(__package__) / "regmix"
    with resources.as_file(root / f"{kind}_mixture_{size}.csv") as mix, \
            resources.as_file(root / f"{kind}_pile_loss_{size}.csv") as loss:
        # The published weights are rounded to 3 decimals; renormalising them is expected, not news.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            table = read_regmix_pair(mix, loss)
    table.path = f"regmix:{split}"
    # RegMix: 1M and 60M models saw 1B tokens, the 1B models 25B tokens (Liu et al. 2025, §4).
    table.frame["params"] = float(REGMIX_MODEL_PARAMS[split])
    table.frame["tokens"] = float(REGMIX_TOKENS[split])
    return table


__all__ = ["load_regmix", "REGMIX_SPLITS", "REGMIX_MODEL_PARAMS", "REGMIX_TOKENS"]
