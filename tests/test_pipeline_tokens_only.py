"""The pipeline on a sweep that logs tokens but no step column (Dai & Zheng's SlimPajama runs have only
model_size and n_tokens): target_tokens extrapolates in tokens; it used to refuse the table for lack of 'step'."""

from __future__ import annotations

import pytest
from numpy.testing import assert_allclose

from mixlaw.data import RunTable
from mixlaw.errors import ExtrapolationWarning, InputError
from mixlaw.pipeline import fit_pipeline, optimize_pipeline

from .test_pipeline import N_STAR, NESTED, S_STAR, truth, world

PER_STEP = 2048


def _tables(n_mix: int = 8) -> tuple[RunTable, RunTable]:
    both = world(n_mix=n_mix).frame.copy()
    both["tokens"] = both["step"] * PER_STEP
    return RunTable(both), RunTable(both.drop(columns="step"))


@pytest.mark.parametrize("kw", [NESTED, {"route": "direct", "law": "ye-exp"}])
def test_tokens_without_steps_extrapolates_as_with_both(kw: dict[str, str]) -> None:
    both, tokens_only = _tables()
    ref = fit_pipeline(both, target_params=N_STAR, target_tokens=S_STAR * PER_STEP, **kw)
    res = fit_pipeline(tokens_only, target_params=N_STAR, target_tokens=S_STAR * PER_STEP, **kw)
    assert res.time_axis == "tokens" and res.target_tokens == pytest.approx(S_STAR * PER_STEP)
    assert_allclose(res.target_losses, ref.target_losses, rtol=1e-6)
    assert_allclose(res.target_losses, truth(res.mixtures, N_STAR, S_STAR), rtol=1e-2)


def test_direct_law_without_token_input_uses_the_final_checkpoints_in_tokens() -> None:
    _, tokens_only = _tables(n_mix=10)
    with pytest.warns(ExtrapolationWarning, match="no token input"):
        res = fit_pipeline(tokens_only, target_params=N_STAR, target_tokens=S_STAR * PER_STEP, route="direct",
                           law="dz-eq1")
    assert "40 final checkpoints" in res.stages["direct"].description
    assert any("tokens 6.144e+06-6.144e+06" in m for m in res.warnings)


def test_target_steps_on_a_tokens_only_table_points_to_target_tokens() -> None:
    _, tokens_only = _tables(n_mix=6)
    with pytest.raises(InputError, match=r"target_steps needs a 'step' column.*give target_tokens instead"):
        fit_pipeline(tokens_only, target_params=N_STAR, target_steps=S_STAR, **NESTED)


def test_optimize_on_a_tokens_only_table_gives_steps_to_match_in_tokens() -> None:
    """optimize_pipeline gated Ye's figures on target_steps, which a tokens-only pipeline (Dai & Zheng's
    SlimPajama table) never has: `mixlaw pipeline --target-tokens ... --optimize` silently printed none."""
    both, tokens_only = _tables()
    ref = optimize_pipeline(fit_pipeline(both, target_params=N_STAR, target_steps=S_STAR, **NESTED))
    opt = optimize_pipeline(fit_pipeline(tokens_only, target_params=N_STAR, target_tokens=S_STAR * PER_STEP,
                                         **NESTED))
    assert ref.steps is not None and opt.steps is not None
    assert opt.steps.unit == "token" and opt.steps.target_steps == pytest.approx(S_STAR * PER_STEP)
    # Steps and tokens are proportional here, so the fractions are the same figures.
    assert opt.steps.extra_training == pytest.approx(ref.steps.extra_training, rel=1e-3)
    assert opt.steps.steps_fraction == pytest.approx(ref.steps.steps_fraction, rel=1e-3)
    text = str(opt.steps)
    assert "of the tokens" in text and "D_eq" in text and "S=" not in text
    # --json names the counts by their axis: a token count under "target_steps" read as a step count.
    doc = opt.to_dict()["steps_to_match"]
    assert doc["unit"] == "token" and doc["target_tokens"] == pytest.approx(S_STAR * PER_STEP)
    assert doc["equivalent_tokens"] == pytest.approx(opt.steps.equivalent_steps)
    assert "target_steps" not in doc and "equivalent_steps" not in doc
    steps_doc = ref.to_dict()["steps_to_match"]
    assert steps_doc["unit"] == "step" and steps_doc["target_steps"] == pytest.approx(S_STAR)
    assert "target_tokens" not in steps_doc and set(doc) - {"target_tokens", "equivalent_tokens"} == set(
        steps_doc) - {"target_steps", "equivalent_steps"}


def test_cli_target_steps_on_a_tokens_only_table_names_the_option(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`mixlaw pipeline --target-steps` on Dai & Zheng's table (tokens, no step) said 'give target_tokens
    instead', the Python argument, to a command-line user."""
    from cli_runner import run_cli

    _, tokens_only = _tables(n_mix=6)
    path = tmp_path / "t.csv"
    tokens_only.frame.to_csv(path, index=False)
    code, _, err = run_cli(capsys, "pipeline", "--runs", str(path), "--target-params", "1e9", "--target-steps", "1e5")
    assert code == 2 and "give target_tokens instead, --target-tokens on the command line" in err


def test_steps_on_a_tokens_only_pipeline_names_the_option_to_give_instead() -> None:
    # hunt26: 'predict --pipeline p.json --steps 2929' on a pipeline fitted over tokens said "steps= needs a constant
    # number of tokens per step ...", neither naming --steps nor what to give.
    _, tokens_only = _tables(n_mix=6)
    res = fit_pipeline(tokens_only, target_params=N_STAR, target_tokens=S_STAR * PER_STEP, **NESTED)
    with pytest.raises(InputError, match=r"steps= \(--steps\) needs a constant number of tokens per step .*: give "
                                         r"--tokens \(tokens=\)$"):
        res.predict(res.mixtures[:1], steps=S_STAR)


def test_tokens_on_a_steps_pipeline_of_a_table_with_both_columns_says_their_ratio_varies() -> None:
    # Dai & Zheng's tokens with a step column computed as round(tokens / 2^21): fitted over steps, 'predict
    # --pipeline p.json --tokens 1e11' said the runs needed "(a 'tokens' and a 'step' column), which it did not have";
    # they had both, with tokens per step that vary by rounding (2.0965e6 to 2.0972e6).
    both, _ = _tables(n_mix=6)
    frame = both.frame.copy()
    frame["tokens"] = frame["tokens"] + frame["step"] % 7  # tokens per step no longer one number
    res = fit_pipeline(RunTable(frame), target_params=N_STAR, target_steps=S_STAR, **NESTED)
    assert res.tokens_per_step is None
    with pytest.raises(InputError, match=r"whose ratio is the same in every row, to 1e-9\), which they did not have "
                                         r"\(one column, or tokens per step that vary: by model size, or by "
                                         r"rounding\): give --steps \(steps=\)$"):
        res.predict(res.mixtures[:1], tokens=S_STAR * PER_STEP)
