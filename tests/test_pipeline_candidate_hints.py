"""auto's "cannot run" line gives a law's option hint with the route and law that take it.

`--law auto` passes no option to the laws it compares: Dai & Zheng's 8 mixtures at 122M-937M printed "nested ye-exp
cannot run: ... a ridge fits fewer runs than coefficients: alpha='cv' (--law-option alpha=cv)", and `mixlaw pipeline
... --law-option alpha=cv` then stopped on "law 'auto' has no option 'alpha'"."""

from __future__ import annotations

import warnings

from test_pipeline import world

from mixlaw.pipeline import fit_pipeline


def test_cannot_run_hint_names_the_route_and_law() -> None:
    # 4 mixtures of 3 domains: ye-exp's 4 coefficients per eval need 5; the direct route's joint law fits them all.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_pipeline(world(noise=3e-3, n_mix=4), target_params=2e8, target_steps=6000, intervals=False)
    errors = {c.label: c.error for c in res.selection.candidates}
    assert errors["nested ye-exp"].endswith("alpha='cv' (--route nested --law ye-exp --law-option alpha=cv)")
    assert "(--route nested --law ye-exp --law-option alpha=cv)" in str(res.selection)
    assert res.selection.to_dict()["candidates"][[c.label for c in res.selection.candidates].index(
        "nested ye-exp")]["error"] == errors["nested ye-exp"]


def test_no_backtest_note_gives_the_hint_with_the_route_and_law() -> None:
    # Nothing to hold out (one size, curves of 3 checkpoints): the note lists the candidates that could not fit, each
    # with its reason; their hints read "(--law-option alpha=cv)" there too.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_pipeline(world(noise=3e-3, n_mix=4, sizes=[4e7], steps=[500, 1000, 3000]), target_steps=9000,
                           intervals=False)
    (note,) = [w for w in res.warnings if w.startswith("no backtest possible")]
    assert "nested ye-exp: ye-exp[web]: 4 observations are too few to fit 4 parameters; need at least 5 (more runs, " \
           "or fix some parameters); a ridge fits fewer runs than coefficients: alpha='cv' (--route nested --law " \
           "ye-exp --law-option alpha=cv)" in note
    assert "(--law-option" not in note
