"""Token budgets: how many tokens each training domain has, and the largest share of a mixture each allows.

A target run of :math:`D` training tokens that may repeat a domain at most :math:`E_{\\max}` times can give
domain j at most the share :math:`m_j = \\min(1, E_{\\max} T_j / D)` (:func:`max_shares`), with :math:`T_j` the
tokens available in it (:func:`read_tokens_available` reads them from a file). Both the proxy designs
(:mod:`mixlaw.design`) and the optimiser's feasible set (:mod:`mixlaw.optimize`) cap shares this way, so it
lives in the bottom layer, below both.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from numbers import Real
from pathlib import Path

import numpy as np
import pandas as pd

from ._validation import parse_user_json, parse_user_yaml, path_exists, read_user_text
from .data import count_values, csv_missing, known_names
from .errors import InputError


def check_domains(domains: Sequence[str]) -> list[str]:
    """Domain names, stripped; at least two, non-empty and distinct (else :class:`InputError`)."""
    if isinstance(domains, str):
        # Iterated as letters: double_diminishing("web,code", 3) said "duplicate domain name(s) ['e']".
        raise InputError(f"domains must be a list of names; got the string {domains!r} (a list: "
                         f"{[d.strip() for d in domains.split(',') if d.strip()]!r})")
    doms = [str(d).strip() for d in domains]
    if len(doms) < 2:
        raise InputError(f"a design needs at least two domains; got {doms}")
    if any(not d for d in doms):
        raise InputError("domain names must be non-empty")
    dup = sorted({d for d in doms if doms.count(d) > 1})
    if dup:
        raise InputError(f"duplicate domain name(s) {dup}")
    return doms


#: How the per-domain token counts are named in errors: the keyword and the command line's option (the designs and
#: the optimiser said "tokens_available: unknown domain(s) ['books']" of a file given as --tokens-available).
TOKENS_AVAILABLE = "tokens_available (--tokens-available)"


def per_domain(values: Mapping[str, float] | Sequence[float] | np.ndarray | None, domains: list[str], name: str,
               default: float | None = None) -> np.ndarray | None:
    """A per-domain vector from a mapping (every domain required, none unknown) or a sequence in domain order: how
    the designs and the optimiser (``tokens_available``) read per-domain counts."""
    if values is None:
        return None if default is None else np.full(len(domains), float(default))
    if isinstance(values, pd.Series) and not isinstance(values.index, pd.RangeIndex):
        # A Series labelled by domain is read by its labels: as a sequence, pd.Series({'math': 1e10, 'code': 2e9,
        # 'web': 1e12}) gave web math's count (optimize_mixture's caps, max_shares, the designs), in its own order.
        values = {str(k): v for k, v in values.items()}
    if isinstance(values, Mapping):
        unknown = sorted(set(values) - set(domains))
        if unknown:
            raise InputError(f"{name}: unknown domain(s) {unknown}; domains are {known_names(unknown, domains)}")
        missing = [d for d in domains if d not in values]
        if missing:
            if default is None:
                raise InputError(f"{name}: no value for domain(s) {missing}")
            values = {**{d: default for d in missing}, **values}
        try:
            arr = np.array([float(values[d]) for d in domains], dtype=np.float64)
        except (TypeError, ValueError):
            # {'web': '1B'} stopped on float()'s bare "could not convert string to float: '1B'".
            d = next(d for d in domains if not _is_number(values[d]))
            raise InputError(f"{name}: the value of {d!r} must be a number; got {values[d]!r} (counts such as '2B' "
                             "are the command line's and the tokens file's form: give 2e9)") from None
    else:
        try:
            if isinstance(values, (str, bytes)):  # 'web=1B' is the command line's form, read by read_tokens_available
                raise TypeError
            arr = np.asarray(values, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            # Both stopped on numpy's bare "could not convert string to float".
            raise InputError(f"{name}: expected a mapping {{domain: number}} or one number per domain in domain "
                             f"order {domains}; got {values!r}"[:300]) from None
        if arr.size != len(domains):
            raise InputError(f"{name}: {arr.size} values for {len(domains)} domains")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name}: values must be finite; got {arr.tolist()}")
    return arr


def max_shares(domains: Sequence[str], tokens_available: Mapping[str, float] | Sequence[float],
               target_tokens: float, max_epochs: float = 4.0) -> np.ndarray:
    """Largest share of each domain that repeats it at most ``max_epochs`` times at ``target_tokens``.

    .. math:: m_j = \\min\\Big(1, \\frac{E_{\\max}\\, T_j}{D}\\Big)

    with :math:`T_j` the tokens available in domain j and :math:`D` the target run's training tokens.

    Parameters
    ----------
    domains : list of str
    tokens_available : mapping or sequence of float
        Tokens available per domain (> 0).
    target_tokens : float
        Training tokens of the run the design is for (> 0).
    max_epochs : float, default=4.0
        Repetitions allowed (4 epochs costs little: Muennighoff et al. 2023, "Scaling Data-Constrained LMs").

    Returns
    -------
    ndarray of shape (n_domains,)

    Examples
    --------
    >>> max_shares(["web", "code"], {"web": 1e12, "code": 1e9}, target_tokens=1e10, max_epochs=4)
    array([1. , 0.4])
    """
    doms = check_domains(domains)
    tok = per_domain(tokens_available, doms, TOKENS_AVAILABLE)
    assert tok is not None
    if np.any(tok <= 0):
        bad = [f"{d!r} {t:g}" for d, t in zip(doms, tok.tolist(), strict=True) if t <= 0]
        raise InputError(f"{TOKENS_AVAILABLE}: tokens must be > 0 for every domain; got {', '.join(bad)} (a domain "
                         "with no data: leave it out of the domains)")
    for name, flag, v in (("target_tokens", "--target-tokens", target_tokens),
                          ("max_epochs", "--max-epochs", max_epochs)):
        # A string ('1B') stopped on "could not convert string to float" or numpy's "ufunc 'isfinite' not supported".
        if isinstance(v, (str, bool)) or not isinstance(v, (Real, np.number)) or not (np.isfinite(v) and v > 0):
            raise InputError(f"{name} ({flag}) must be a positive number; got {v!r}"
                             + (" (counts such as '2B' are the command line's form: give 2e9)"
                                if isinstance(v, str) else ""))
    m = np.minimum(1.0, max_epochs * tok / float(target_tokens))
    if m.sum() < 1.0 - 1e-12:
        raise InputError(f"not enough tokens: at {max_epochs:g} epochs the domains supply at most "
                         f"{m.sum() * target_tokens:.4g} of the {target_tokens:.4g} target tokens "
                         "(raise --max-epochs or lower --target-tokens)")
    return m


def read_tokens_available(path: str) -> dict[str, float]:
    """Tokens per domain from a CSV with columns ``domain,tokens``, a JSON or YAML mapping ``{domain: tokens}``, or
    inline text that names no file: ``web=1.2B,code=500M`` (a name with a comma quoted, ``"web, news"=1B``) or a JSON
    object, as ``--mixture`` and ``--paths`` take theirs (hunt24: only a file was read, and 'web=1B,code=5e8' said
    it was no such file)."""
    spec = str(path)
    inline = not path_exists(spec) and ("=" in spec or spec.lstrip().startswith("{"))
    p = Path(path)
    text = "" if inline else read_user_text(p, "tokens-available (CSV domain,tokens or JSON/YAML {domain: tokens})")
    if inline and spec.lstrip().startswith("{"):
        doc = parse_user_json(spec, "--tokens-available")
        if not isinstance(doc, dict) or not doc:
            raise InputError("--tokens-available: expected a non-empty JSON object {domain: tokens}")
        items = list(doc.items())
    elif inline:
        items = []
        for part in next(csv.reader([spec], skipinitialspace=True)):
            d, eq, v = part.rpartition("=")
            if not eq:
                raise InputError(f"--tokens-available: {part!r} is not domain=tokens (e.g. web=1.2B,code=500M)")
            items.append((d.strip(), v.strip()))
    elif p.suffix.lower() in (".json", ".yaml", ".yml"):
        # YAML read as a CSV said "missing column(s) ['domain', 'tokens']" (hunt31); a mixture file may be YAML, so
        # this one may too (the same reader: keys as written, aliases bounded).
        json_file = p.suffix.lower() == ".json"
        doc = parse_user_json(text, path) if json_file else parse_user_yaml(text, path)
        if not isinstance(doc, dict) or not doc:
            raise InputError(f"{path}: expected a non-empty "
                             + ("JSON object {domain: tokens}" if json_file else "YAML mapping {domain: tokens} "
                                "(web: 1.2B)"))
        items = list(doc.items())
    else:
        try:
            # The domain column as text: a domain named 'NA' or 'None' read as missing (the domain 'nan'), '007' as 7.
            head = pd.read_csv(io.StringIO(text), nrows=0).columns
            # A sheet saved with ';' between cells (a locale whose decimal mark is ','), or tab-separated text: one
            # column 'domain;tokens', and "missing column(s) ['domain', 'tokens']".
            sep = next((s for s in (";", "\t") if len(head) == 1 and s in str(head[0])), ",")
            if sep != ",":
                head = pd.read_csv(io.StringIO(text), sep=sep, nrows=0).columns
            frame = pd.read_csv(io.StringIO(text), sep=sep, **csv_missing(head, ["domain"]))
        except (ValueError, pd.errors.ParserError) as e:
            raise InputError(f"{path}: not a readable CSV ({e})") from None
        missing = [c for c in ("domain", "tokens") if c not in frame.columns]
        if missing:
            raise InputError(f"{path}: missing column(s) {missing}; expected domain,tokens (a CSV; or a JSON or YAML "
                             "file {domain: tokens} named .json / .yaml)")
        items = list(zip(frame["domain"].astype(str), frame["tokens"], strict=True))
    out: dict[str, float] = {}
    first: dict[str, str] = {}
    for i, (d, v) in enumerate(items):
        where = (f"--tokens-available, item {i + 1}" if inline
                 else str(path) if p.suffix.lower() in (".json", ".yaml", ".yml") else f"{path}:{i + 2}")
        if not str(d).strip():
            raise InputError(f"{where}: the domain name is empty")
        if str(d) in first:
            # The last value silently won (web given 1e9, then 2e9 lines below).
            raise InputError(f"{where}: domain {str(d)!r} is given twice (first at {first[str(d)]}): keep one line")
        first[str(d)] = where
        if isinstance(v, bool):
            raise InputError(f"{where}: tokens of domain {d!r} is not a number: {v!r}")
        # A count as papers write it ('1.2B', '500M'), as --target-tokens and a run table's tokens column take it.
        x = count_values(pd.Series([v], dtype=object)).iloc[0] if isinstance(v, str) else v
        try:
            out[str(d)] = float(x)
        except (TypeError, ValueError, OverflowError):
            raise InputError(f"{where}: tokens of domain {d!r} is not a number: {v!r}") from None
        if isinstance(v, str) and np.isnan(out[str(d)]) and v.strip().lower() not in ("nan", ""):
            raise InputError(f"{where}: tokens of domain {d!r} is not a number: {v!r} (give e.g. 1e9, "
                             "1000000000 or 1B; suffixes k, M, B, T)")
        if not (np.isfinite(out[str(d)]) and out[str(d)] >= 0):
            raise InputError(f"{where}: tokens of domain {d!r} must be a finite number >= 0; got {v!r}")
    return out


__all__ = ["check_domains", "per_domain", "max_shares", "read_tokens_available"]


def _is_number(v: object) -> bool:
    try:
        float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True
