"""JSON run files whose records nest: objects, arrays (a mixture as a list) and per-step histories (lists of
objects), read as ``mixlaw runs import --columns`` maps them. Found on Chen et al.'s BO sweep
(github.com/chenzhiliang94/Data-Mixing, results_eval_random_in_dist/*.json: one record per LoRA fine-tune, its mixture
in ``input_X`` and its evaluations every 25 steps in ``evaluations``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli as _cli
from test_importers import NESTED_RECORDS, import_nested_records

from mixlaw.errors import DataError
from mixlaw.importers import read_runs_mapped

#: Two runs as Chen et al. write them: 3 shares then a LoRA setting in one array, a history of evaluations.
CHEN = [{"input_X": [0.12345678901234567, 0.25, 0.62654321098765433, 9, 1],
         "evaluations": [{"step": 0, "performance": 0.61},
                         {"step": 25, "performance": 0.62, "eval_loss": 2.5},
                         {"step": 50, "performance": 0.63, "eval_loss": 1.5}]},
        {"input_X": [0.6, 0.3, 0.1, 14, 0],
         "evaluations": [{"step": 0, "performance": 0.70},
                         {"step": 25, "performance": 0.72, "eval_loss": 3.1},
                         {"step": 50, "performance": 0.74, "eval_loss": 2.2}]}]
CHEN_MAP = ("w:a=input_X/0,w:b=input_X/1,w:c=input_X/2,step=evaluations/step,loss:x=evaluations/eval_loss,"
            "loss:acc=evaluations/performance")


def test_a_json_array_of_nested_objects_is_flattened_as_jsonl_is(tmp_path, capsys):
    # The README's "nested JSON records are named the same way" held for JSONL alone: the same records as a .json
    # array stopped at "no column matches 'mixture/*' (for 'w:*'); columns: name, mixture, eval".
    src = tmp_path / "runs.json"
    src.write_text(json.dumps(NESTED_RECORDS))
    import_nested_records(src, capsys)


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_a_history_is_one_row_per_step_and_an_array_one_column_per_position(tmp_path, suffix):
    src = tmp_path / f"bo{suffix}"
    src.write_text(json.dumps(CHEN) if suffix == ".json" else "".join(json.dumps(r) + "\n" for r in CHEN))
    t = read_runs_mapped(src, CHEN_MAP)
    assert t.domains == ["a", "b", "c"] and t.evals == ["x", "acc"]
    assert len(t.runs) == 6 and len(set(t.runs)) == 2  # two runs (numbered per mixture), three steps each
    assert list(t.steps) == [0, 25, 50, 0, 25, 50]
    np.testing.assert_allclose(t.losses("acc"), [0.61, 0.62, 0.63, 0.70, 0.72, 0.74])
    x = t.losses("x", allow_missing=True)
    np.testing.assert_allclose(x[[1, 2, 4, 5]], [2.5, 1.5, 3.1, 2.2])
    assert np.isnan(x[[0, 3]]).all()  # step 0 logs no eval_loss: a missing loss, not a zero
    # every digit as written (pandas' default read_json parser rounds in the 16th digit: ...234501)
    assert t.weights[0, 0] == 0.12345678901234567


def test_two_histories_in_one_record_are_refused_naming_both(tmp_path):
    src = tmp_path / "two.json"
    src.write_text(json.dumps([{**r, "train": r["evaluations"]} for r in CHEN]))
    with pytest.raises(DataError, match="'evaluations' and 'train' both hold lists of records"):
        read_runs_mapped(src, CHEN_MAP)


def test_an_error_in_a_history_names_the_records_line(tmp_path):
    # The rows of one record keep its line: a JSONL record's loss of -1 at its second step is line 2's.
    bad = [CHEN[0], {**CHEN[1], "evaluations": [{"step": 25, "eval_loss": -1.0, "performance": 0.7}]}]
    src = tmp_path / "bad.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in bad))
    with pytest.raises(DataError, match=r"bad\.jsonl:2\b"):
        read_runs_mapped(src, CHEN_MAP)


def test_a_regmix_fork_pair_on_other_corpora_reads_train_and_val_loss_columns(tmp_path, capsys):
    # schneiderkamplab/regmix (RegMix on Danish corpora) writes train_dfm_memo, ... and metric/dfm_sent_val_loss
    # beside metric/train_loss; the pair reader knew the Pile's names alone: "no mixture columns (expected
    # 'train_the_pile_<domain>' or 'w:<domain>')".
    mix, loss = tmp_path / "train_mixture_1m_dfm.csv", tmp_path / "train_loss_1m_dfm.csv"
    mix.write_text("index,train_dfm_memo,train_dfm_minhash,train_dfm_sent\n1,0.1,0.6,0.3\n"
                   "2,0.9,0.1,0.0\n3,0.25,0.0,0.75\n")
    loss.write_text("index,metric/train_loss,metric/dfm_sent_val_loss\n1,3.7,3.8\n2,3.9,3.95\n3,3.6,3.7\n")
    code, _, err = _cli(capsys, "runs", "import", f"{mix}+{loss}", "--out", str(tmp_path / "r.csv"))
    assert code == 0, err
    out = pd.read_csv(tmp_path / "r.csv")
    assert list(out.columns) == ["run", "w:dfm_memo", "w:dfm_minhash", "w:dfm_sent", "loss:dfm_sent"]
    np.testing.assert_allclose(out["loss:dfm_sent"], [3.8, 3.95, 3.7])


def test_a_pattern_over_a_whole_array_names_the_positions_that_are_not_shares(tmp_path, capsys):
    # --columns 'w:*=input_X/*' takes Chen et al.'s LoRA settings (positions 3 and 4 here) as domains: the error
    # said "no row sums to 1 ... divide each row by its sum", which would make a LoRA rank a share.
    src = tmp_path / "bo.json"
    src.write_text(json.dumps(CHEN))
    code, _, err = _cli(capsys, "runs", "import", str(src), "--columns",
                        "w:*=input_X/*,step=evaluations/step,loss:x=evaluations/eval_loss", "--out",
                        str(tmp_path / "r.csv"))
    assert code == 2
    assert "the first 3 weight columns, 'w:0' to 'w:2', sum to 1 in every row: are 'w:3' and the 1 after it" in err
    assert "column 'input_X/3'" in err and "divide each row by its sum" not in err


def test_an_error_after_mixtures_were_left_out_says_so_first(tmp_path, capsys):
    # The fork's loss file has 1 of its mixtures' losses: "1 run(s) x 1 eval set(s) = 1 losses are too few" came
    # alone, the warning that 2 mixtures had no losses (the why) dropped with the failed command's other warnings.
    mix, loss = tmp_path / "mix.csv", tmp_path / "loss.csv"
    mix.write_text("index,train_a,train_b\n1,0.2,0.8\n2,0.5,0.5\n3,0.9,0.1\n")
    loss.write_text("index,metric/a_val_loss\n1,3.8\n")
    code, _, err = _cli(capsys, "fit", "--runs", f"{mix}+{loss}", "--law", "linear")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("warning: ") and "2 mixture(s) of mix.csv have no losses" in lines[0]
    assert lines[1].startswith("error: ") and "too few" in lines[1]


@pytest.mark.parametrize("n", [1, 3])
def test_auto_on_too_few_runs_says_too_few_not_constant(n: int) -> None:
    # One run is "constant": auto said "'x' is 3.83 in every one of the 1 runs: a constant loss leaves nothing for
    # cross-validation to rank", of a table whose trouble is its run count.
    from mixlaw.api import fit_table
    from mixlaw.data import RunTable
    from mixlaw.errors import InputError

    W = np.random.default_rng(0).dirichlet(np.ones(3), size=max(n, 6))
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(len(W))], **{f"w:{d}": W[:, j] for j, d in enumerate("abc")},
                          "loss:x": 3.83})
    # With a way on: 'mixlaw fit --at-params largest --final-step' on a sweep whose largest size has 3 runs said
    # the count alone.
    with pytest.raises(InputError, match=f"cross-validation needs at least 4 runs; got {n}: add runs, or fit one law "
                                         r"instead of choosing one by cross-validation \(--law, law=: "):
        fit_table(RunTable(frame.head(n)), law="auto")
    with pytest.raises(InputError, match="'x' is 3.83 in every one of the 6 runs"):  # enough runs: as before
        fit_table(RunTable(frame), law="auto")


def test_compare_says_too_few_runs_for_auto_with_its_own_option() -> None:
    # compare (and report) take --laws, not --law: "auto failed: cross-validation needs at least 4 runs; got 3: add
    # runs, or fit one law instead of choosing one by cross-validation (--law, law=: ye-exp, linear, ...)" named
    # an option compare does not have, beside the single laws it scored.
    from mixlaw.compare import compare
    from mixlaw.data import RunTable

    W = np.random.default_rng(0).dirichlet(np.ones(3), size=7)
    frame = pd.DataFrame({"run": [f"r{i}" for i in range(7)], **{f"w:{d}": W[:, j] for j, d in enumerate("abc")},
                          "loss:x": 3 + W[:, 0]})
    board = compare(RunTable(frame.head(3)), {"test": RunTable(frame.tail(4))}, laws=["auto", "linear"])
    error = next(r.error for r in board.rows if r.law == "auto")
    assert error is not None and error.endswith("cross-validation needs at least 4 runs; got 3: add runs, or leave "
                                                "auto out of the laws (--laws, laws=): the single laws are scored "
                                                "without it")
    assert "--law," not in error


def test_regmix_s_own_first_pair_with_plain_column_names_is_read(tmp_path, capsys):
    # RegMix's first release (sail-sg/regmix 1678465: data/data_mixture_1m.csv + data/validation_loss_1m.csv, 1000
    # runs at 1M) names its columns 'ArXiv', 'Pile-CC', ...: the pair stopped at "no mixture columns (expected
    # 'train_<domain>' ...)", and --columns 'w:*=*' changed nothing (a pair ignored it silently).
    mix, loss = tmp_path / "data_mixture_1m.csv", tmp_path / "validation_loss_1m.csv"
    mix.write_text("index,ArXiv,Pile-CC,Ubuntu IRC\n1,0.1,0.6,0.3\n2,0.9,0.1,0.0\n3,0.25,0.0,0.75\n")
    loss.write_text("index,ArXiv,Pile-CC\n1,5.2,5.1\n2,3.9,5.9\n3,4.6,6.0\n")
    code, _, err = _cli(capsys, "runs", "import", f"{mix}+{loss}", "--out", str(tmp_path / "r.csv"))
    assert code == 0, err
    out = pd.read_csv(tmp_path / "r.csv")
    assert list(out.columns) == ["run", "w:ArXiv", "w:Pile-CC", "w:Ubuntu IRC", "loss:ArXiv", "loss:Pile-CC"]
    np.testing.assert_allclose(out["loss:Pile-CC"], [5.1, 5.9, 6.0])
    code, _, err = _cli(capsys, "runs", "import", f"{mix}+{loss}", "--columns", "w:*=*", "--out",
                        str(tmp_path / "r2.csv"))
    assert code == 2 and "--columns maps the columns of one table" in err and "drop --columns" in err


def test_a_plain_named_pair_with_a_text_column_still_says_no_mixture_columns(tmp_path, capsys):
    # The plain reading takes every column but index as a domain only when all hold numbers: a file of notes is not
    # read as shares.
    mix, loss = tmp_path / "mix.csv", tmp_path / "loss.csv"
    mix.write_text("index,note,web\n1,first,0.5\n2,second,0.5\n")
    loss.write_text("index,web\n1,3.1\n2,3.0\n")
    code, _, err = _cli(capsys, "runs", "import", f"{mix}+{loss}", "--out", str(tmp_path / "r.csv"))
    assert code == 2 and "no mixture columns" in err and "plain names with every column but 'index' holding" in err


def test_a_plain_named_pair_s_scale_column_under_another_name_is_not_an_eval(tmp_path):
    # W&B's '_step' (and 'global_step', 'model_size') beside the plain-named evals was read as an eval, 'loss:_step'
    # (with only a perplexity warning for its 1000s), and 'model_size' in the mixture half as a domain: they are the
    # scale columns under the names SCALE_ALIASES lists, meta as 'step' and 'params' are.
    from mixlaw import read_runs

    mix, loss = tmp_path / "mix.csv", tmp_path / "loss.csv"
    mix.write_text("index,web,code,Model-Size\n1,0.5,0.5,1e6\n2,0.9,0.1,1e6\n3,0.2,0.8,1e6\n")
    loss.write_text("index,web,_step,global_step\n1,3.1,1000,1000\n2,3.0,1000,1000\n3,3.3,1000,1000\n")
    table = read_runs(f"{mix}+{loss}")
    assert list(table.domains) == ["web", "code"] and list(table.evals) == ["web"]


def test_a_plain_named_pair_s_numeric_id_column_is_not_an_eval(tmp_path):
    # 'id' 1..n beside 'index' holds numbers that read as plausible losses: it became the eval loss:id silently.
    from mixlaw import read_runs

    mix, loss = tmp_path / "mix.csv", tmp_path / "loss.csv"
    mix.write_text("index,web,code\n1,0.5,0.5\n2,0.9,0.1\n3,0.2,0.8\n")
    loss.write_text("index,id,web\n1,1,3.1\n2,2,3.0\n3,3,3.3\n")
    assert list(read_runs(f"{mix}+{loss}").evals) == ["web"]


def test_a_regmix_pair_given_losses_first_says_so(tmp_path):
    # The plain reading took a swapped pair's losses as shares: RegMix's own files in the wrong order said "column
    # 'w:loss:arxiv': weights sum to 76.76 ... divide each row by its sum" (before the plain reading, "no mixture
    # columns"); two plain-named files, "weights sum to 6.9".
    from mixlaw import read_runs
    from mixlaw.errors import DataError

    mix, loss = tmp_path / "mix.csv", tmp_path / "loss.csv"
    mix.write_text("index,train_web,train_code\n1,0.5,0.5\n2,0.9,0.1\n3,0.2,0.8\n")
    loss.write_text("index,metric/web_val_loss,metric/code_val_loss\n1,3.1,2.0\n2,3.0,2.4\n3,3.3,1.9\n")
    plain_mix, plain_loss = tmp_path / "pmix.csv", tmp_path / "ploss.csv"
    plain_mix.write_text("index,web,code\n1,0.5,0.5\n2,0.9,0.1\n3,0.2,0.8\n")
    plain_loss.write_text("index,web,code\n1,3.1,2.0\n2,3.0,2.4\n3,3.3,1.9\n")
    for first, second in ((loss, mix), (plain_loss, plain_mix)):
        with pytest.raises(DataError, match="the pair is the mixture file first, the losses second") as exc:
            read_runs(f"{first}+{second}")
        assert f"--runs {second}+{first}" in str(exc.value) and "divide each row" not in str(exc.value)
    assert list(read_runs(f"{plain_mix}+{plain_loss}").evals) == ["web", "code"]
    assert list(read_runs(f"{mix}+{loss}").domains) == ["web", "code"]
