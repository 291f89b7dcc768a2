"""The law lists and law options the commands take: ``--laws``/``--candidates`` as law keys, ``--laws`` with each
law's options inline (``ye-exp,ye-exp(alpha='cv')``, as ``compare`` names a configured law's row, so a row can be
pasted back), and ``--law`` with its ``--law-option`` specs. The inline syntax is :mod:`mixlaw.laws.inline`'s and
the options are typed by :func:`mixlaw.laws.options.parse_law_options`; here are the command-line rules around them:
the flag named in each error, a law given twice, ``random_state`` left to ``--seed``, and auto / stack's options
left to the command's own flags.
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from ..laws.base import MixingLaw, get_law
from ..laws.inline import parse_law_entry, split_top_level
from ..laws.options import parse_law_options
from ..laws.selection import META_LAWS


def parse_laws(laws: str | None, option: str = "--laws") -> list[str] | None:
    """--laws a,b,c -> ['a', 'b', 'c'] (None: every law); '--laws ,' names no law and is an error. Law keys only:
    an entry with inline options (``ye-exp(alpha=1)``, which :func:`parse_law_entries` reads) is refused by name."""
    if laws is None:
        return None
    if "(" in laws:
        # --candidates 'ye-exp(alpha=1, n_restarts=2)' was split at its inner comma into two unknown laws
        entries = _split_entries(laws, option)
        inline = next(e for e in entries if "(" in e)
        raise InputError(f"{option} entry {inline!r}: {option} takes law keys, not options (auto and stack refit "
                         f"their candidates by key); give {inline.partition('(')[0].strip()!r}")
    keys = [x.strip() for x in laws.split(",") if x.strip()]
    if not keys:
        raise InputError(f"{option} {laws!r} names no law; give comma-separated keys (see 'mixlaw laws')")
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:  # each was fitted and listed twice (compare's table, the report's leaderboard)
        raise InputError(f"{option} {laws!r}: {', '.join(map(repr, twice))} given twice")
    return keys


def _split_entries(laws: str, option: str) -> list[str]:
    try:
        return [e for e in split_top_level(laws) if e]
    except InputError as exc:
        raise InputError(f"{option}: {exc}") from None


def parse_law_entries(laws: str | None, seed: int, law_option: list[str] | None = None, option: str = "--laws",
                      meta: tuple[str, str] | None = None) -> list[str | MixingLaw] | None:
    """--laws with inline options: ``ye-exp,ye-exp(alpha='cv')`` -> ``['ye-exp', YeExponential(alpha='cv')]`` (None:
    every law), each entry a key or ``key(option=value, ...)`` as a leaderboard names a configured law, so a row's
    name can be pasted back. The list is split at the commas outside brackets and quotes (a value may be JSON or a
    repr: ``objective={"a": 0.5}``); the options are typed by :func:`~mixlaw.laws.options.parse_law_options`, and
    ``random_state`` (which a row's name holds under a nonzero ``--seed``) must be ``seed``. Two entries that are
    the same law (same key and options, defaults left out) are refused, as a key given twice is.

    ``law_option``: ``--law-option`` specs, which configure the one law ``laws`` names (and are refused beside
    inline options). ``meta``: for a command that sets auto / stack's options from its own flags, the command and
    those flags (``("compare", "--cv-folds, --objective, --fit-on")``): their inline options (or --law-option) are
    refused, naming them. Errors name the entry: ``--laws entry
    'ye-exp(alpah=1)': law 'ye-exp' has no option 'alpah'; its options: ...``."""
    if laws is None:
        if law_option:
            raise InputError(f"--law-option configures the one single law {option} names (e.g. {option} dz-eq1 "
                             f"--law-option pooling=100); got {option} (every law)")
        return None
    entries = _split_entries(laws, option)
    if not entries:
        raise InputError(f"{option} {laws!r} names no law; give comma-separated keys (see 'mixlaw laws')")
    parsed: list[tuple[str, str, list[str] | None]] = []
    for entry in entries:
        if entry.endswith("[direct]"):
            # compare --objective's second row of a law; --fit-on (both by default) gives it again
            raise InputError(f"{option} entry {entry!r}: [direct] marks the row of a law fitted on the objective "
                             f"column (--fit-on direct); give {entry.removesuffix('[direct]')!r}")
        try:
            key, specs = parse_law_entry(entry)
        except InputError as exc:
            raise InputError(f"{option} entry {entry!r}: {exc}") from None
        parsed.append((entry, key, specs))
    if law_option:
        inline = [e for e, _, specs in parsed if specs is not None]
        if inline:
            raise InputError(f"--law-option and options inline in {option} ({inline[0]!r}) configure laws two ways: "
                             f"give the options in one of them (inline: {option} 'key(option=value, ...)')")
        if len(parsed) != 1:
            raise InputError(f"--law-option configures the one single law {option} names (e.g. {option} dz-eq1 "
                             f"--law-option pooling=100); got {option} {laws}")
        parsed = [(laws.strip(), parsed[0][1], list(law_option))]
    out: list[str | MixingLaw] = []
    # each law given: (name, key and options, entry); a configured law is the same as another by its options'
    # values, as written ({'a': 1, 'b': 2} and {'b': 2, 'a': 1}, (0, 1) and (0.0, 1.0): two names, one law)
    seen: list[tuple[str, tuple[str, dict[str, Any] | None], str]] = []
    for entry, key, specs in parsed:
        name: str = key
        law: str | MixingLaw = key
        params: dict[str, Any] | None = None
        if specs is not None:
            where = "--law-option" if law_option else f"{option} entry {entry!r}"
            try:
                get_law(key)
            except InputError as exc:
                raise InputError(f"{where}: {exc}") from None
            specs = _drop_seed(specs, seed, where)
            if specs and meta is not None and key in META_LAWS:
                # 'got --laws auto' did not say what is wrong with auto: the command sets its options itself.
                lead = "--law-option configures" if law_option else f"{where}: options configure"
                raise InputError(f"{lead} a single law, not {key}, whose options {meta[0]} sets from its own flags "
                                 f"({meta[1]}); e.g. {option} dz-eq1 --law-option pooling=100, or {option} "
                                 f"'dz-eq1(pooling=100)'")
            opts = parse_law_options(key, specs, option=where)
            configured = get_law(key, **opts)
            text = configured._options_text()  # the options that differ from the defaults
            if text:
                params = configured.get_params()
                name, law = f"{key}({text})", get_law(key, random_state=seed, **opts)
        # (the options as parsed from text: plain values, which == compares)
        first = next((e for n, kp, e in seen if n == name or (params is not None and kp == (key, params))), None)
        if first is not None:
            # each was fitted and listed twice (compare's table, the report's leaderboard)
            same = f"{entry!r} given twice" if first == entry else f"{first!r} and {entry!r} are the same law, {name}"
            raise InputError(f"{option} {laws!r}: {same}")
        seen.append((name, (key, params), entry))
        out.append(law)
    return out


def _drop_seed(specs: list[str], seed: int, where: str) -> list[str]:
    """The specs less a ``random_state=N`` that is ``--seed``'s (a row's name under ``--seed N`` holds it, so it
    can be pasted back); another seed is refused: ``--seed`` sets it."""
    out = []
    for spec in specs:
        name, _, text = spec.partition("=")
        if name.strip() != "random_state":
            out.append(spec)
            continue
        try:
            same = int(text.strip()) == seed
        except ValueError:
            same = False
        if not same:
            raise InputError(f"{where}: random_state={text.strip()}: the seed is set with --seed (this call's: {seed})")
    return out


def law_with_options(law: str, specs: list[str] | None, seed: int, **fixed: Any) -> str | MixingLaw:
    """``--law`` with its ``--law-option`` specs (and options other flags set, ``fixed``): the key itself when
    there are none, else a configured instance."""
    if not specs and not fixed:
        return law
    return get_law(law, random_state=seed, **parse_law_options(law, specs), **fixed)
