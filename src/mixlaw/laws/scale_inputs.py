"""Which scale inputs a law takes, and the warning for fitting a law without them on runs at several scales.

:meth:`~mixlaw.data.RunTable.scale_spread` names the scale columns (model size, tokens, steps) whose values
spread; a law that takes none of them as input fits one loss surface across those scales. The message is built
here for a law's own fit, for a meta-law's choice of members (:class:`~mixlaw.laws.base.MixingLaw`), and once
for all laws of a comparison (:func:`mixlaw.compare.compare`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..data import describe_spread
from ..errors import InputError
from .registry import _REGISTRY

#: Words every message of :func:`scale_blind_message` has (to tell it from other scale warnings).
SCALE_BLIND_MARK = "the fitting runs span "


def check_scale_taken(law: Any, params: float | None, tokens: float | None, then: str,
                      ranges: tuple[Any, Any] | None = None) -> None:
    """InputError for a scale given (``params`` / ``tokens``: the command line's ``--params`` / ``--tokens``) to a
    law not fitted across it, which predicts at its runs' scale whatever it is given. ``ranges``: the runs' range
    of model sizes and of tokens that the law takes (None for one it does not), default a fitted law's own
    (``_n_range``, ``_d_range``); one value: fitted at one scale. ``then``: how to reach another scale. Said by
    predict and optimize alike: 'optimize --tokens 1e8' of bimix fitted at 4e8 tokens printed its optimum at 4e8
    (2.6513, where the loss at 1e8 is near 3.0) without a word, and no best run (none was measured at 1e8)."""
    n_range, d_range = (law._n_range, law._d_range) if ranges is None else ranges
    for given, col, rng, what, takers in ((params, "params", n_range, "model sizes", "dz-eq1, dz-eq3"),
                                          (tokens, "tokens", d_range, "token counts", "bimix, autoscale, dz-eq3")):
        if given is not None and (rng is None or rng[0] == rng[1]):
            raise InputError(f"{col}: {law._label} was not fitted across {what}, so it predicts at the scale of "
                             f"the runs it was fitted on; {then} (or refit with a law that takes {what}: {takers})")


def scale_used(law: Any, params: float | None, tokens: float | None, evals: list[str] | None = None
               ) -> tuple[dict[str, float], dict[str, str]]:
    """Of the scale given to a fitted law's prediction (``params`` / ``tokens``; None: not given), the part that
    enters it, ``{"params": N, "tokens": D}``, and why each other part does not, ``{"tokens": "law 'ye-exp' takes
    no token counts"}`` (``"law 'bimix' was fitted without token counts"``). A value does not enter where the law
    was fitted without that input (no ``_n_range`` / ``_d_range``: ye-exp, or bimix fitted without tokens), nor
    where every member of a meta-law (``members_``: auto's chosen laws, a stack's weighed ones) that predicts the
    evals the objective weighs (``evals``; None: every eval) was. A meta-law takes the scale ("optional")
    whichever member it chooses: 'optimize --law auto --tokens 1e8', auto choosing ye-exp on runs at 1e8 and 4e8
    tokens, printed 'tokens=1e+08' in its header and JSON over an optimum no token count entered. One member that
    takes it is enough: auto choosing ye-exp for web and bimix for code was said not to take the tokens for the
    mean of both, whose optimum moved with them."""
    used: dict[str, float] = {}
    unused: dict[str, str] = {}
    members = _members_predicting(law, evals)
    for col, given, rng, flag, what in (("params", params, "_n_range", "uses_model_params", "model sizes"),
                                        ("tokens", tokens, "_d_range", "uses_tokens", "token counts")):
        if given is None:
            continue
        if getattr(law, rng, None) is None:
            # As predict's ScaleWarning: bimix (auto) fitted on runs without a tokens column takes them, and "takes no
            # token counts" said it did not.
            unused[col] = f"{law._label} {'was fitted without' if _flag(law, flag) else 'takes no'} {what}"
        elif members and all(getattr(m, rng, None) is None for _, _, m in members):
            blind = list(dict.fromkeys(f"{key} (for {', '.join(map(str, targets))})" for key, targets, _ in members))
            verb = "chose" if law.key == "auto" else "predicts with"
            unused[col] = (f"{law._label} {verb} {', '.join(blind)}, which take{'s' if len(blind) == 1 else ''} "
                           f"no {what}")
        else:
            used[col] = float(given)
    return used, unused


def _members_predicting(law: Any, evals: list[str] | None) -> list[tuple[str, list[str], Any]]:
    """``(key, targets, fitted law)`` of the members of a fitted meta-law (auto, stack: ``members_checked``, whose
    ``members_`` are ``(key, fit_on, targets, law)``) that predict one of ``evals`` (None: any; a meta-law fitted
    for an objective: all its members); [] for any other law (additive-ens's ``members_`` are two laws, which
    stopped this on "cannot unpack non-iterable ShukorAdditive object")."""
    if not getattr(law, "members_checked", False):
        return []
    every = evals is None or getattr(law, "_s", None) is not None
    return [(key, list(targets), member) for key, _, targets, member in getattr(law, "members_", None) or ()
            if every or set(map(str, targets)) & set(evals or ())]


def _flag(law: Any, name: str) -> Any:
    """``law.<name>`` (``uses_model_params``, ``uses_tokens``) of a law class or instance. A class whose flag is a
    property (gp-residual's follow its base law) reads it off its default instance: read off the class it was the
    property object, always true, so the scale warning offered gp-residual as a law that takes tokens and the
    model size, where its default base (loglinear-sat) takes neither."""
    if isinstance(law, type) and isinstance(getattr(law, name, None), property):
        law = law()
    return getattr(law, name)


def _takes(law: Any, col: str, spread: dict[str, Any]) -> bool:
    """Whether a law (class or instance) takes this scale column as an input. No law takes steps: a law with a
    tokens input covers a spread of steps only through a tokens column that spreads with them."""
    if col == "params":
        return bool(_flag(law, "uses_model_params"))
    return bool(_flag(law, "uses_tokens")) and (col == "tokens" or "tokens" in spread)


def scale_blind_message(source: str | None, spread: dict[str, tuple[int, float, float]], laws: list[Any],
                        chooser: str | None = None, at_params: bool = True, checkpoints: bool = True) -> str | None:
    """Why fitting ``laws`` on runs at several scales (:meth:`~mixlaw.data.RunTable.scale_spread`) mixes them
    up, or None. ``source``: the table's path, which starts the message when there is one; ``chooser``: the
    meta-law whose chosen members ``laws`` are; ``at_params``: the command takes ``--at-params`` and
    ``--final-step`` (fit, optimize), which the message then names (compare and report do not take them: a user
    who followed it there got "No such option"). ``checkpoints``: some run has several rows at one size
    (:meth:`~mixlaw.data.RunTable.has_checkpoints`). The cut offered is the one that applies: ``--at-params``
    where model sizes spread, ``--final-step`` where runs have checkpoints; a table of one row per run, each at
    its own token count, has no cut to one scale, and the message says to take tokens as an input instead
    (it said ``--at-params largest --final-step`` on such a table with no params column, which cut nothing).

    A law without a model size (tokens) input fits one loss surface over every size (run length) in the table:
    a run's loss then depends on its scale more than on its mixture. Found fitting Dai & Zheng's SlimPajama
    sweep (6 sizes x 11 checkpoints) as one table: ye-exp/ye-pow/additive-ens rank 20 % of its mixtures held
    out at Spearman 0.29 / 0.24 / 0.29, auto (choosing bimix, which takes tokens) at 0.87, and said nothing
    (``bench/dz_public_runs.py --compare``). Meta-laws (auto, stack) take both
    ("optional") and choose among members that do and do not.
    """
    blind = [law for law in laws if any(not _takes(law, c, spread) for c in spread)]
    if not blind:
        return None
    missing = sorted({c for law in blind for c in spread if not _takes(law, c, spread)}, key=list(spread).index)

    def lacks(law: Any) -> str:
        names = list(dict.fromkeys("model size" if c == "params" else "tokens" for c in missing
                                   if not _takes(law, c, spread)))
        return "neither model size nor tokens" if len(names) == 2 else f"no {names[0]}"

    groups: dict[str, list[str]] = {}  # what they lack -> the laws that lack it
    for law in blind:
        groups.setdefault(lacks(law), []).append(repr(law.key))
    if chooser is not None:  # a meta-law's members: say who chose them
        parts = f"{chooser} chose " + "; ".join(f"{', '.join(ks)}, which take{'s' if len(ks) == 1 else ''} {what}"
                                                for what, ks in groups.items())
    else:
        parts = "; ".join(f"{'law' if len(ks) == 1 else 'laws'} {', '.join(ks)} take{'s' if len(ks) == 1 else ''} "
                          f"{what}" for what, ks in groups.items())
    takers = [k for k, cls in _REGISTRY.items() if not cls.members_checked
              and all(_takes(cls, c, spread) for c in missing)]
    both = len({c == "params" for c in missing}) == 2  # model size and tokens (or steps)
    alt = f"use a law that takes {'both' if both else 'it'} ({', '.join(takers)}), " if takers else ""
    cut = scale_cut("params" in spread, checkpoints)
    if cut:
        way = f": keep the rows of one scale{f' (`{cut}`)' if at_params else ''}, {alt}"
    else:  # one row per run, each at its own token count (or step): no cut of rows leaves one scale
        way = (", and with one row per run, each at its own scale, no cut of rows keeps one: "
               + (f"{alt[:-3]}; `optimize --tokens` then picks the token count), " if takers else ""))
    where = f"{source}: " if source else ""  # no path: 'the fitting runs span ...', not 'the fitting runs: the ...'
    return (f"{where}{SCALE_BLIND_MARK}{describe_spread({c: spread[c] for c in missing})}; {parts}, so "
            f"{'it fits' if len(blind) == 1 else 'each fits'} one loss surface across those scales{way}or "
            "extrapolate with `mixlaw pipeline`")


def scale_cut(sizes: bool, checkpoints: bool) -> str | None:
    """The options that keep the rows of one scale, of those the table has: ``--at-params largest`` where model
    sizes spread (``sizes``), ``--final-step`` where runs have checkpoints
    (:meth:`~mixlaw.data.RunTable.has_checkpoints`); None where neither applies (one row per run, each at its own
    token count, no params column). The scale warning, ``optimize``'s "give the scale" refusal and a saved law's
    refit advice all take it from here."""
    cuts = (["--at-params largest"] if sizes else []) + (["--final-step"] if checkpoints else [])
    return " ".join(cuts) or None


def fitted_scale_cut(fit_scale: Mapping[str, Any] | None) -> str | None:
    """:func:`scale_cut` for a fitted law's table, from its ``fit_scale`` (the table's
    :meth:`~mixlaw.data.RunTable.scale_summary` with ``checkpoints``): both cuts where that is unknown (a law
    saved before it was recorded)."""
    if not fit_scale:
        return scale_cut(True, True)
    return scale_cut("params_range" in fit_scale, bool(fit_scale.get("checkpoints", True)))


__all__ = ["SCALE_BLIND_MARK", "fitted_scale_cut", "scale_blind_message", "scale_cut", "scale_used"]
