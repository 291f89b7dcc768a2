"""Bundled public data: RegMix's proxy runs (Liu et al., ICLR 2025; MIT licence, see regmix/LICENSE) and
Marin's "Delphi" swarm of 280 runs over 39 buckets (Apache-2.0, see marin_delphi/LICENSE and README.md).

:func:`bundled_splits` maps a ``--dataset`` name to its fitting table and held-out tables, so every command
that takes ``--dataset`` treats the bundled sets alike."""

from __future__ import annotations

import warnings
from importlib import resources

from ..data import RunTable, known_names, read_regmix_pair, read_runs
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



#: Marin's own split of the Delphi runs for its RegMix replay (column ``split_regmix``).
MARIN_SPLITS = ("train", "early_stop")
#: Names accepted by ``--dataset`` (CLI) and :func:`bundled_splits`.
DATASETS = ("regmix", "marin-delphi")


def load_marin_delphi(split: str | None = None) -> RunTable:
    """Load Marin's "Delphi" swarm: 280 runs of ~360M-parameter models over 39 training buckets, 9 metrics.

    Parameters
    ----------
    split : {"train", "early_stop"}, optional
        Rows of Marin's own 187 / 93 split (column ``split_regmix``); all 280 runs when omitted.

    Returns
    -------
    RunTable
        Weights over 39 buckets (``dolma3_cc/...``, ``dolmino_...``), 9 metrics in bits per byte
        (``uncheatable_obj``, ``table9_obj`` and seven ``unch_*`` held-out sets). None of the metrics is a
        training bucket, so laws that match eval sets to domains use implicit aggregation here. The
        ``split_regmix`` column is kept. Weights are stored to 8 decimals (rows sum to 1 within 3e-7) and
        renormalised without a warning.

    References
    ----------
    github.com/marin-community/marin, experiments/domain_phase_mix/exploratory/two_phase_many/
    reference_outputs/regmix_official_rerun_20260913/ (Apache-2.0; provenance in marin_delphi/README.md).

    Examples
    --------
    >>> t = load_marin_delphi()
    >>> len(t), len(t.domains), len(t.evals)
    (280, 39, 9)
    >>> len(load_marin_delphi("train")), len(load_marin_delphi("early_stop"))
    (187, 93)
    """
    if split is not None and split not in MARIN_SPLITS:
        raise InputError(f"unknown Marin Delphi split {split!r}; expected one of {list(MARIN_SPLITS)} or None")
    with resources.as_file(resources.files(__package__) / "marin_delphi" / "runs.csv") as path:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)  # 8-decimal weights: renormalising is expected
            table = read_runs(path)
    table.path = "marin-delphi" if split is None else f"marin-delphi:{split}"
    if split is None:
        return table
    out = table.subset(table.frame["split_regmix"].to_numpy() == split)
    out.path = table.path
    return out


def bundled_splits(name: str) -> tuple[RunTable, dict[str, RunTable]]:
    """The fitting table and the held-out tables of a bundled dataset, by its ``--dataset`` name.

    ``regmix``: fit on ``train_1m``; held out ``test_1m``, ``test_60m``, ``test_1B``. ``marin-delphi``: Marin's
    split, fit on ``train`` (187 runs); held out ``early_stop`` (93 runs).

    Raises
    ------
    InputError
        An unknown name (the message lists the bundled ones).
    """
    if name == "regmix":
        data = load_regmix()
        assert isinstance(data, dict)
        return data["train_1m"], {s: data[s] for s in REGMIX_SPLITS[1:]}
    if name == "marin-delphi":
        return load_marin_delphi("train"), {"early_stop": load_marin_delphi("early_stop")}
    hint = known_names([name], DATASETS)[len(repr(list(DATASETS))):]  # ' (did you mean ...?)' or ''
    raise InputError(f"unknown dataset {name!r}; bundled: {', '.join(DATASETS)}{hint}")


__all__ = ["load_regmix", "load_marin_delphi", "bundled_splits", "REGMIX_SPLITS", "REGMIX_MODEL_PARAMS",
           "REGMIX_TOKENS", "MARIN_SPLITS", "DATASETS"]
