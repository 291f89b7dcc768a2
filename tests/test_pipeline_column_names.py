"""A sweep exported with its own names for the model size and the checkpoint (W&B's 'model_size' and '_step', a
'non_embedding_params' column) is told which of its columns to name 'params' or 'step', and how.

Found on the trainer runs so renamed (issue 9): "the pipeline needs a 'params' column" named no column of the table,
and a table with '_step' stopped at "duplicate run", every checkpoint of a run sharing its run and params."""

from __future__ import annotations

import re

import pytest
from test_pipeline import N_STAR, NESTED, S_STAR, STEPS, world

from mixlaw.data import SCALE_COLUMN_WORDS, RunTable
from mixlaw.errors import DataError, DataWarning, InputError
from mixlaw.pipeline import fit_pipeline


@pytest.mark.parametrize(("renamed", "target", "match"), [
    # Several sizes under another name stop the table itself (fit and optimize pooled them without a word).
    ({"params": "model_size"}, {"target_steps": S_STAR},
     r"column 'model_size': values 1e\+07, 2e\+07, 4e\+07, \.\.\. \(4 in all\) in a column named like the model "
     r"size, which is read from a column named 'params' alone: rename it 'params'"),
    ({"params": "non_embedding_params", "step": "step"}, {"target_steps": S_STAR},
     r"column 'non_embedding_params': values .* rename it 'params'"),
    # Each run's last checkpoint alone (a sizes-only table: one row per run, so no duplicate rows).
    ({"step": "iteration"}, {},
     r"needs a 'step' or 'tokens' column .*; the table has 'iteration': name one 'step'"),
    ({"step": "n_tokens"}, {"target_tokens": 6e6},
     r"target_tokens needs a 'tokens' column .*; the table has 'n_tokens': name one 'tokens', e\.g\. "
     r"RunTable\(df\.rename\(columns=\{'n_tokens': 'tokens'\}\)\)"),
])
def test_a_missing_scale_column_names_the_table_s_look_alike(renamed, target, match) -> None:  # type: ignore[no-untyped-def]
    frame = world(n_mix=4, steps=[3000] if "params" not in renamed else STEPS).frame.rename(columns=renamed)
    with pytest.raises(InputError, match=match):
        fit_pipeline(RunTable(frame), target_params=N_STAR, **target, **NESTED)


def test_a_table_from_a_file_is_told_the_import_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A table built in Python (path None) is told to rename its frame's column (it was told 'mixlaw runs import
    # TABLE ...', a file it does not have); one read from a file, the import of that file.
    from mixlaw.data import read_runs

    path = tmp_path / "sweep.csv"
    # (not 'model_size', which the table itself refuses, as the first test here shows)
    world(n_mix=4).frame.rename(columns={"params": "size_class"}).to_csv(path, index=False)
    hint = f"e.g. 'mixlaw runs import {path} --columns params=size_class --out"
    with pytest.raises(InputError, match=re.escape(hint)):
        fit_pipeline(read_runs(path), target_params=N_STAR, target_steps=S_STAR, **NESTED)


def test_a_target_on_the_other_axis_names_the_table_s_column_and_the_option() -> None:
    # Ye et al.'s runs log steps; `--target-tokens 100B` on them said only "needs a 'tokens' column", where the
    # opposite mistake (--target-steps on Dai & Zheng's token table) named 'tokens' and --target-tokens.
    with pytest.raises(InputError, match=r"target_tokens needs a 'tokens' column \(tokens seen at each checkpoint\) "
                                         r"\(the table has 'step': give target_steps instead, --target-steps on the "
                                         r"command line, or add a 'tokens' column"):
        fit_pipeline(world(n_mix=4).frame.pipe(RunTable), target_params=N_STAR, target_tokens=1e11, **NESTED)
    tokens = world(n_mix=4).frame.rename(columns={"step": "tokens"})
    with pytest.raises(InputError, match=r"\(the table has 'tokens': give target_tokens instead, --target-tokens"):
        fit_pipeline(RunTable(tokens), target_params=N_STAR, target_steps=S_STAR, **NESTED)


def test_a_step_column_under_another_name_is_named_by_the_duplicate_error() -> None:
    frame = world(n_mix=4).frame.rename(columns={"step": "my_step"})
    with pytest.raises(DataError, match=r"duplicate run 'm0-N1e\+07' \(same run, params as row 0 \(0-based\); the rows "
                                        r"differ in "
                                        r"'my_step': if it is the checkpoint or the model size, name it 'step'"):
        RunTable(frame)
    # W&B's own name for it is known, and named before any duplicate is looked for.
    with pytest.raises(DataError, match=r"column '_step': values .* in a column named like the checkpoint step, "
                                        r"which is read from a column named 'step' alone: rename it 'step'"):
        RunTable(frame.rename(columns={"my_step": "_step"}))


@pytest.mark.parametrize("word", [w for words in SCALE_COLUMN_WORDS.values() for w in words])
def test_the_duplicate_error_and_the_pipeline_read_one_list_of_words(word: str) -> None:
    # The words were listed twice (pipeline.fitting._COLUMN_WORDS and a tuple in data.py), free to drift apart.
    frame = world(n_mix=2).frame.rename(columns={"step": f"my_{word}"})
    with pytest.raises(DataError, match=f"the rows differ in 'my_{word}'"):
        RunTable(frame)


def test_the_dropped_mixtures_warning_gives_the_example_s_sizes() -> None:
    # Dai & Zheng's sweep (runs numbered per mixture and size) said "20 mixture(s) with curves at fewer than 3 sizes
    # dropped before the step fits, e.g. mix40_N1.22e+08": one run's name, not at which sizes that mixture was trained.
    frame = world(n_mix=8).frame
    frame = frame[~(frame["run"].str.startswith(("m6-", "m7-")) & (frame["params"] > 2e7))]
    with pytest.warns(DataWarning, match=r"2 mixture\(s\) with curves at fewer than 3 sizes dropped before the step "
                                         r"fits, e\.g\. m6-N1e\+07 \(curves at 1e\+07, 2e\+07 only\)"):
        fit_pipeline(RunTable(frame), target_params=N_STAR, target_steps=S_STAR, **NESTED)


@pytest.mark.parametrize("given", [{}, {"target_params": 8e7}, {"target_steps": 3000}])
def test_a_held_out_size_without_a_target_names_the_target_that_checks_it(given) -> None:
    # Dai & Zheng's sweep with --fit-up-to 1.235B and no --target-params: "the table has 5 model sizes (...): give
    # the target model size" named neither the 2.718B runs held out nor the tokens they reach.
    with pytest.raises(InputError, match=r"; the largest size left out is 8e\+07, its runs to step 3000: "
                                         r"target_params=8e\+07, target_steps=3000 \(--target-params 8e\+07 "
                                         r"--target-steps 3000\) checks the extrapolation"):
        fit_pipeline(world(n_mix=6).frame.pipe(RunTable), fit_up_to=4e7, **given)
