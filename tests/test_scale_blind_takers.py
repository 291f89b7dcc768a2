"""The scale warning's list of laws that take the spread scale. gp-residual's ``uses_tokens`` and
``uses_model_params`` are properties that follow its base law; read off the registry's class they were the
property objects, always true, so the warning on AutoScale's DDO runs (GPT-2 Large on 7 RedPajama domains, at 3
token counts) said "law 'gp-residual' takes no tokens" and, in the same sentence, "use a law that takes it
(bimix, autoscale, dz-eq3, dz-eq3-safe, gp-residual)"."""

from __future__ import annotations

import pytest

from mixlaw.laws import get_law
from mixlaw.laws.registry import _REGISTRY
from mixlaw.laws.scale_inputs import scale_blind_message


@pytest.mark.parametrize("col", ["tokens", "params"])
def test_gp_residual_is_offered_only_with_a_base_that_takes_the_scale(col: str) -> None:
    spread = {col: (3, 1e8, 1.5e9)}
    why = scale_blind_message(None, spread, [get_law("ye-exp")])
    assert why is not None and "use a law that takes it (" in why
    takers = why.split("use a law that takes it (")[1].split(")")[0].split(", ")
    assert "gp-residual" not in takers and "dz-eq3" in takers  # its default base, loglinear-sat, takes neither
    # The registry's class (a meta-law's candidates) reads as its default: blind, as the instance is.
    for law in (_REGISTRY["gp-residual"], get_law("gp-residual")):
        assert "'gp-residual' takes no" in (scale_blind_message(None, spread, [law]) or "")
    assert scale_blind_message(None, spread, [get_law("gp-residual", base="dz-eq3")]) is None


def _one_row_per_run(path) -> str:  # type: ignore[no-untyped-def]
    """16 runs, one row each, at 3 token counts; no params column (AutoScale's runs are so)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    a, tok = rng.uniform(0.1, 0.9, 16), rng.choice([1e8, 4e8, 1.6e9], 16)
    loss = 3.0 + 0.5 * (1 - a) ** 2 - 0.1 * np.log10(tok / 1e8) + rng.normal(0, 0.005, 16)
    pd.DataFrame({"run": [f"r{i}" for i in range(16)], "w:web": a, "w:code": 1 - a, "tokens": tok,
                  "loss:web": loss}).to_csv(path, index=False)
    return str(path)


def test_the_cut_offered_is_one_the_table_has(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """hunt (left33b): 'fit --law ye-exp' on runs of one row each at 3 token counts, no params column, said
    "keep the rows of one scale (`--at-params largest --final-step`)": --at-params refuses a table without
    params, and --final-step keeps every row (each is its run's last)."""
    from cli_runner import run_cli

    code, _, err = run_cli(capsys, "fit", "--runs", _one_row_per_run(tmp_path / "t.csv"), "--law", "ye-exp")
    assert code == 0 and "one loss surface" in err, err
    assert "--at-params" not in err and "--final-step" not in err and "keep the rows" not in err, err
    assert "no cut of rows keeps one" in err and "`optimize --tokens`" in err and "bimix" in err, err
    # Each cut where it applies: sizes spread -> --at-params; checkpoints -> --final-step.
    law = get_law("ye-exp")
    both = {"params": (3, 1e8, 1e9), "tokens": (5, 1e9, 1e10)}
    assert "(`--at-params largest --final-step`)" in (scale_blind_message(None, both, [law]) or "")
    assert "(`--at-params largest`)" in (scale_blind_message(None, both, [law], checkpoints=False) or "")
    steps = {"tokens": (5, 1e9, 1e10)}
    assert "(`--final-step`)" in (scale_blind_message(None, steps, [law]) or "")


def test_optimize_scale_advice_offers_only_the_cuts_the_table_has(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """review33e: 9963a96 made the fit's scale warning table-aware, but 'optimize --runs' (check_scale_given)
    and 'optimize --law law.json' (a saved law's refit advice) still said "keep the rows of one scale (...
    --at-params largest --final-step)" on runs of one row each with no params column, where neither cuts."""
    from cli_runner import run_cli

    runs = _one_row_per_run(tmp_path / "t.csv")
    code, _, err = run_cli(capsys, "optimize", "--runs", runs, "--law", "bimix")
    assert code != 0 and "optimum depends on it" in err, err
    assert "--at-params" not in err and "--final-step" not in err and "keep the rows" not in err, err
    code, _, err = run_cli(capsys, "fit", "--runs", runs, "--law", "bimix", "--out", str(tmp_path / "law.json"))
    assert code == 0, err
    for extra in ([], ["--runs", runs]):
        code, _, err = run_cli(capsys, "optimize", "--law", str(tmp_path / "law.json"), *extra)
        assert code != 0 and "optimum depends on one" in err, err
        assert "--at-params" not in err and "--final-step" not in err and "refit on one scale" not in err, err
