"""Fit some of the table's model sizes only (``fit_pipeline(fit_sizes=, fit_up_to=)``, ``mixlaw pipeline
--fit-sizes / --fit-up-to``): hold out the largest size, target it, and compare, without filtering the table by
hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_runner import run_cli as _cli

from mixlaw.errors import InputError
from mixlaw.pipeline import fit_pipeline

from .test_pipeline import NESTED, truth, world

SIZES5 = [1e7, 2e7, 4e7, 8e7, 1.6e8]
HELD, S_LAST = 1.6e8, 3000.0


@pytest.fixture(scope="module")
def table():  # type: ignore[no-untyped-def]
    return world(n_mix=8, sizes=SIZES5)


def test_fit_sizes_and_fit_up_to_fit_the_kept_sizes_only(table) -> None:  # type: ignore[no-untyped-def]
    by_hand = fit_pipeline(table.subset(table.model_params < HELD), target_params=HELD, target_steps=S_LAST,
                           **NESTED)
    for kw in ({"fit_sizes": SIZES5[:4]}, {"fit_sizes": SIZES5[3::-1]}, {"fit_up_to": 8e7}, {"fit_up_to": 1e8}):
        res = fit_pipeline(table, target_params=HELD, target_steps=S_LAST, **kw, **NESTED)
        np.testing.assert_array_equal(res.target_losses, by_hand.target_losses, err_msg=str(kw))
        assert "4 of the table's 5 model sizes" in res.warnings[0] and "1.6e+08 left out" in res.warnings[0]
    # The held-out size is predicted (0.002 % noise: close to the world's losses there).
    np.testing.assert_allclose(res.target_losses, truth(res.mixtures, HELD, S_LAST), rtol=2e-3)
    # Every size kept: nothing left out, nothing said.
    whole = fit_pipeline(table, target_params=3e8, target_steps=S_LAST, fit_sizes=SIZES5, **NESTED)
    assert not any("model sizes" in w for w in whole.warnings)


def test_fit_sizes_errors_are_one_clear_line(table) -> None:  # type: ignore[no-untyped-def]
    def refusal(**kw) -> str:  # type: ignore[no-untyped-def]
        with pytest.raises(InputError) as exc:
            fit_pipeline(table, target_params=HELD, target_steps=S_LAST, **kw, **NESTED)
        assert "\n" not in str(exc.value)
        return str(exc.value)

    msg = refusal(fit_sizes=[1e7, 5e7, 8e7])
    assert "5e+07 is not a model size" in msg and "1e+07, 2e+07, 4e+07, 8e+07, 1.6e+08" in msg
    assert "keeps 2 of the table's 5" in refusal(fit_sizes=[1e7, 2e7]) and "needs 3" in refusal(fit_up_to=2e7)
    assert "below every model size" in refusal(fit_up_to=5e6)
    assert "at most one" in refusal(fit_sizes=SIZES5[:4], fit_up_to=8e7)
    assert "is empty" in refusal(fit_sizes=[])
    # A string (the CLI's form) is not read character by character, and nan is not 'below every size'.
    assert "got the string '1e7,2e7,4e7'" in refusal(fit_sizes="1e7,2e7,4e7")
    for bad in (float("nan"), float("inf"), 0.0, -1e8):
        assert "must be a positive model size" in refusal(fit_up_to=bad)
    # Two kept sizes are enough when the target is one of them: steps alone, at that size.
    res = fit_pipeline(table, target_params=2e7, target_steps=3e4, fit_sizes=[1e7, 2e7], **NESTED)
    assert "2 of the table's 5" in res.warnings[0] and res.steps_only


def test_cli_fit_sizes_and_fit_up_to_agree_with_the_api_and_backtest_the_kept_sizes(tmp_path, capsys,  # type: ignore[no-untyped-def]
                                                                                     table) -> None:
    path = tmp_path / "sweep.csv"
    table.frame.to_csv(path, index=False)
    api = fit_pipeline(table, target_params=HELD, target_steps=S_LAST, fit_sizes=SIZES5[:4], **NESTED)
    base = ["pipeline", "--runs", str(path), "--target-params", "160M", "--target-steps", "3000", "--route",
            "nested", "--law", "ye-exp", "--json"]
    for opt in (["--fit-sizes", "10M,20M,40M,80M"], ["--fit-up-to", "80M"]):
        code, out, err = _cli(capsys, *base, *opt, "--backtest")
        assert code == 0, err
        doc = json.loads(out)
        got = np.array([list(m["predicted"].values()) for m in doc["pipeline"]["mixtures"]])
        np.testing.assert_allclose(got, api.target_losses, rtol=1e-12)
        assert doc["pipeline"]["warnings"][0].startswith(("fit_sizes: fitted on 4", "fit_up_to=8e+07: fitted on 4"))
        # The backtest holds out the largest *fitted* size, not the one the user held out.
        size_part = [b for b in doc["backtest"] if b["kind"] == "size"][0]
        assert "N = 8e+07 held out" in size_part["description"]
    code, out, err = _cli(capsys, *base, "--fit-sizes", "10M,50M,80M")
    assert code != 0 and "5e+07 is not a model size of the table" in err
    code, out, err = _cli(capsys, *base, "--fit-sizes", "10M,,80M")
    assert code != 0 and "--fit-sizes" in err


@pytest.mark.parametrize("opts", [["--target-params", "20M", "--route", "nested", "--law", "ye-exp"],
                                  ["--target-params", "160M", "--route", "direct", "--law", "dz-eq3-safe"]])
def test_cli_backtest_keeps_two_sizes_the_fit_accepted(tmp_path, capsys, table, opts) -> None:  # type: ignore[no-untyped-def]
    # Two kept sizes fit a target at one of them (steps only) or a law that takes N; --backtest must then run on
    # those rows, not refuse them with the size law's count after the fit succeeded.
    path = tmp_path / "sweep.csv"
    table.frame.to_csv(path, index=False)
    code, out, err = _cli(capsys, "pipeline", "--runs", str(path), "--target-steps", "3000", *opts, "--fit-sizes",
                          "10M,20M", "--backtest", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["pipeline"]["warnings"][0].startswith("fit_sizes: fitted on 2")
    assert doc["backtest"], "no backtest part reported"


def test_two_kept_sizes_refusal_names_the_laws_that_take_n(table) -> None:  # type: ignore[no-untyped-def]
    # docs/pipeline.md: two model sizes are too few for the size law, "but Dai & Zheng's laws take N as an input and
    # fit two: --route direct --law dz-eq3-safe (the refusal names it)". A table of 2 sizes was told so; 2 sizes kept
    # by --fit-sizes / --fit-up-to (holding sizes out to check the extrapolation) were told only "keep 3 or more".
    for kw in ({"fit_sizes": [1e7, 2e7]}, {"fit_up_to": 2e7}):
        with pytest.raises(InputError) as exc:
            fit_pipeline(table, target_params=HELD, target_steps=S_LAST, **kw, **NESTED)
        assert "--route direct --law dz-eq3-safe" in str(exc.value), kw
    with pytest.raises(InputError) as exc:  # one size kept: no law fits across sizes, none is named
        fit_pipeline(table, target_params=HELD, target_steps=S_LAST, fit_sizes=[1e7], **NESTED)
    assert "dz-eq3-safe" not in str(exc.value)


def test_held_out_target_hint_gives_the_left_out_size_exactly() -> None:
    # `mixlaw pipeline --fit-up-to 100096` of crossscale_runs_v3 suggested --target-params 2.337e+05 for the
    # size 233680: pasted back, it fit another scale than the table's runs there (sizes match within 1e-9).
    top = 123456789.0
    odd = world(n_mix=8, sizes=[*SIZES5[:4], top])
    with pytest.raises(InputError) as exc:
        fit_pipeline(odd, target_params=None, target_steps=None, fit_up_to=8e7, **NESTED)
    msg = str(exc.value)
    said = msg.split("--target-params ")[1].split()[0]
    assert float(said) == top and f"target_params={said}," in msg and "left out is 123456789," in msg
    assert "--target-steps 3000)" in msg
    # Sizes that :g spells exactly keep that spelling.
    with pytest.raises(InputError, match=r"--target-params 1\.6e\+08 --target-steps 3000\)"):
        fit_pipeline(world(n_mix=8, sizes=SIZES5), target_steps=None, fit_up_to=8e7, **NESTED)


def test_sizes_given_as_papers_round_them_name_the_table_sizes() -> None:
    # A new user's `--fit-sizes 100K,...` / `--fit-up-to 100K` on a table of 100096-parameter models: refused, or the
    # 100096 size left out. Sizes as papers round them (Pythia's "160M" is 1.62e8: 1.2 % off) name the nearest size
    # when no other lies within 5 %, and the warning says which was taken.
    sizes = [100096.0, 200192.0, 400384.0, 800768.0, 1.62e6]
    odd = world(n_mix=8, sizes=sizes)
    exact = fit_pipeline(odd, target_params=1.62e6, target_steps=S_LAST, fit_sizes=sizes[:4], **NESTED)
    for kw in ({"fit_sizes": [1e5, 2e5, 4e5, 8e5]}, {"fit_up_to": 8e5}, {"fit_up_to": 1e6}):
        res = fit_pipeline(odd, target_params=1.62e6, target_steps=S_LAST, **kw, **NESTED)
        np.testing.assert_array_equal(res.target_losses, exact.target_losses, err_msg=str(kw))
        assert "4 of the table's 5 model sizes" in res.warnings[0], kw
    res = fit_pipeline(odd, target_params=1.62e6, target_steps=S_LAST, fit_up_to=8e5, **NESTED)
    assert "800000 read as 800768, the table's nearest model size" in res.warnings[0]
    res = fit_pipeline(odd, target_params=1.62e6, target_steps=S_LAST, fit_sizes=[1e5, 2e5, 4e5, 8e5, 1.6e6],
                       **NESTED)
    assert "1.6e+06 read as 1.62e+06" in res.warnings[0] and "every model size of the table kept" in res.warnings[0]
    with pytest.raises(InputError, match=r"300000 is not a model size of the table \(100096, 200192, "):
        fit_pipeline(odd, target_params=1.62e6, target_steps=S_LAST, fit_sizes=[1e5, 3e5, 8e5], **NESTED)


def test_match_size_takes_the_one_nearest_size_and_refuses_the_ambiguous() -> None:
    from mixlaw.data import match_size, sizes_up_to

    table = [7.04e7, 1.62e8, 4.05e8, 1.41e9]
    assert match_size(table, 1.62e8, "--at-params 162M") == (1.62e8, None)
    size, line = match_size(table, 1.6e8, "--at-params 160M")
    assert size == 1.62e8 and line.startswith("--at-params 160M: taking 1.62e+08, the table's nearest model size")
    assert match_size(table, 1.4e9, "x")[0] == 1.41e9
    with pytest.raises(InputError, match=r"^x: 3e\+08 is not a model size of the table \(7\.04e\+07, 1\.62e\+08"):
        match_size(table, 3e8, "x")
    # Two sizes within 5 % and neither within 1 %: which one is meant is the user's to say.
    with pytest.raises(InputError, match=r"within 5 % of 2 of the table's model sizes \(1e\+09, 1\.04e\+09\)"):
        match_size([1e9, 1.04e9], 1.02e9, "x")
    assert match_size([1e9, 1.04e9], 1.005e9, "x")[0] == 1e9  # one within 1 %: that one
    np.testing.assert_array_equal(sizes_up_to(table, 1.6e8, "x")[0], table[:2])
    np.testing.assert_array_equal(sizes_up_to(table, 3e8, "x")[0], table[:2])
    assert sizes_up_to(table, 1e7, "x")[0].size == 0


def test_a_target_given_as_papers_round_it_names_the_held_out_size() -> None:
    # docs/pipeline.md's check of an extrapolation on Pythia's sizes: '--fit-sizes 70M,160M,410M --target-params 1B'
    # fitted 70,426,624 .. 405,334,016 (each read as the table's nearest size), but predicted at 1e9 exactly, and
    # the held-out runs of 1,011,781,632 parameters (1.2 % off: not one size to the check) got no check and no word.
    # A target within 5 % of one table size (and none within 1 %, the sizes the check and the fit read as one) is
    # that size, said in a warning; one beyond the table's sizes is predicted where it is given.
    from mixlaw.pipeline.check import check_at_target

    sizes = [70426624.0, 162322944.0, 405334016.0, 1011781632.0]
    table = world(n_mix=8, sizes=sizes)
    res = fit_pipeline(table, target_params=1e9, target_steps=S_LAST, fit_sizes=[7e7, 1.6e8, 4.1e8], **NESTED)
    assert res.target_params == sizes[-1]
    assert any("target_params 1e+09 read as 1011781632, the table's nearest model size" in w for w in res.warnings)
    check = check_at_target(res, table, sizes[:3])
    assert check is not None and check.n_mixtures == 8
    far = fit_pipeline(table, target_params=7e9, target_steps=S_LAST, fit_sizes=sizes[:3], **NESTED)
    assert far.target_params == 7e9 and not any("read as" in w for w in far.warnings)
    near = fit_pipeline(table, target_params=1.005e9, target_steps=S_LAST, fit_sizes=sizes[:3], **NESTED)
    assert near.target_params == 1.005e9  # within 1 %: one size already (the check reads its rows), as given
    assert check_at_target(near, table, sizes[:3]) is not None


def test_a_target_token_count_given_round_names_the_runs_length() -> None:
    # `mixlaw pipeline --target-tokens 100B` on runs of 1.048576e11 tokens (2^20 x 100,000) predicted at 1e11
    # exactly, and the held-out runs at the target (read at the target's tokens exactly) got no check and no word,
    # where --target-params names the table's size within 5 %. The target's steps or tokens name the table's value
    # so too (data.match_size, shared), said in a warning; beyond the runs' length they are predicted where given.
    from mixlaw.data import RunTable
    from mixlaw.pipeline.check import check_at_target

    sizes = [1e7, 2e7, 4e7, 8e7]
    frame = world(n_mix=8, sizes=sizes).frame
    frame["tokens"] = frame.pop("step") * (1.048576e8 / S_LAST)  # the last checkpoint at 1.048576e8 tokens
    table = RunTable(frame)
    res = fit_pipeline(table, target_params=8e7, target_tokens=1e8, fit_sizes=sizes[:3], **NESTED)
    assert res.target_tokens == 1.048576e8
    assert any("target_tokens 1e+08 read as 104857600, the table's nearest token count" in w for w in res.warnings)
    check = check_at_target(res, table, sizes[:3])
    assert check is not None and check.n_mixtures == 8
    far = fit_pipeline(table, target_params=8e7, target_tokens=1e9, fit_sizes=sizes[:3], **NESTED)
    assert far.target_tokens == 1e9 and not any("read as" in w for w in far.warnings)
    # No run at the target size: nothing to check there, and the fitted sizes' lengths are no reason to move it.
    fitted = RunTable(frame[frame["params"] < 8e7])
    beyond = fit_pipeline(fitted, target_params=8e7, target_tokens=1e8, fit_sizes=sizes[:3], **NESTED)
    assert beyond.target_tokens == 1e8 and not any("read as" in w for w in beyond.warnings)
    # Steps the same way: 2900 names the table's 3000 (3.3 % off).
    steps = fit_pipeline(world(n_mix=8, sizes=sizes), target_params=8e7, target_steps=2900, fit_sizes=sizes[:3],
                         **NESTED)
    assert steps.target_steps == S_LAST and any("target_steps 2900 read as 3000" in w for w in steps.warnings)
