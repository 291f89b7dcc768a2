"""``--laws`` takes a law with inline options as a leaderboard row names it (``ye-exp(alpha='cv')``), so a row's name
pastes back and one law can be compared with and without an option; ``mixlaw report`` takes ``--law-option`` (and
the inline options) as ``fit`` / ``compare`` do. Before: ``--law-option`` configured compare's one law only, and
report fitted law keys alone, so a law found best in compare with an option could not be reported (opts34)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_cli
from test_cli_compare_law_option import _runs

from mixlaw.cli._law_entries import parse_law_entries, parse_laws
from mixlaw.compare import _law_name
from mixlaw.errors import InputError
from mixlaw.laws import available_laws, get_law
from mixlaw.laws.inline import law_option_specs, parse_law_entry, split_top_level
from mixlaw.laws.options import parse_law_options

#: Non-default options of every registered law, of each kind of value a repr writes: strings, numbers, None, bools,
#: dicts holding tuples, tuples, lists.
NON_DEFAULT: dict[str, dict[str, Any]] = {
    "additive": {"alpha": "cv", "gamma_pooling": 2.5, "bounds": {"a": (0.0, 0.5)}},
    "additive-ens": {"shared_pooling": 100.0, "loss": "mse", "fixed": {"b": 0.1}},
    "auto": {"candidates": ["ye-exp", "linear"], "objective": {"a": 0.5, "b": 0.5}, "fit_on": ("direct",),
             "per_target": False},
    "bimix": {"r_offset": 0.5, "eval_map": {"x": "a"}, "pooling": "cv"},
    "autoscale": {"pooling": 1.0, "n_restarts": 3},
    "dz-eq1": {"pooling": 100.0, "floor_smoothness": 16.0},
    "dz-eq3": {"floor_smoothness": None, "data_term": "shared"},
    "dz-eq3-safe": {"n_ref": 50.0, "capacity_floor": 0.5},
    "lightgbm": {"n_estimators": 50, "early_stopping_rounds": 5},
    "linear": {"alpha": 0.0},
    "loglinear": {"alpha": 1.5},
    "loglinear-sat": {"alpha": (10.0, 30.0), "groups": None, "eps": 0.01},
    "gp-residual": {"base": "linear", "base_options": {"alpha": 0.0}},
    "stack": {"n_members": 2, "objective": "mean", "screen": False},
    "ye-exp": {"alpha": "cv", "reference": None, "huber_delta": 0.01},
    "ye-implicit": {"n_components": 4, "reference": "a"},
    "ye-pow": {"gamma_pooling": 10.0, "loss": "mse"},
    "ye-total": {"composition": {"a": 0.3, "b": 0.7}, "alpha": 1.0},
}


def test_the_round_trip_covers_every_registered_law() -> None:
    assert set(NON_DEFAULT) == set(available_laws())


@pytest.mark.parametrize("key", sorted(NON_DEFAULT))
@pytest.mark.parametrize("seed", [0, 3])
def test_a_row_name_parses_back_to_the_same_law(key: str, seed: int) -> None:
    law = get_law(key, random_state=seed, **NON_DEFAULT[key])
    name = _law_name(law)  # compare's row name (with random_state=3 under --seed 3)
    assert name != key
    (back,) = parse_law_entries(name, seed)
    assert not isinstance(back, str)
    assert _law_name(back) == name
    assert back.get_params() == law.get_params()
    assert {k: type(v) for k, v in back.get_params().items()} == {k: type(v) for k, v in law.get_params().items()}
    # and the --law-option specs the report's optimize command writes configure it alike
    opts = parse_law_options(key, law_option_specs(law))
    assert get_law(key, random_state=seed, **opts).get_params() == law.get_params()


def test_split_top_level_keeps_brackets_and_quotes_whole() -> None:
    text = """ye-exp, ye-exp(alpha='a,b', fixed={"x": 0.5, "y": 0.5}), auto(fit_on=("direct", "per-eval"))"""
    assert split_top_level(text) == ["ye-exp", """ye-exp(alpha='a,b', fixed={"x": 0.5, "y": 0.5})""",
                                     'auto(fit_on=("direct", "per-eval"))']
    assert parse_law_entry("ye-exp()") == ("ye-exp", [])
    assert parse_law_entry("ye-exp") == ("ye-exp", None)


def test_law_option_specs_are_plain_where_they_read_back() -> None:
    # the report's refining command: bare strings and JSON, which a shell quotes plainly; the repr where JSON would
    # read back otherwise (a tuple inside a dict) or a bare string would not be a string
    law = get_law("ye-exp", alpha="cv", reference="none", bounds={"a": (0.0, 0.5)})
    assert law_option_specs(law) == ["alpha=cv", "reference='none'", "bounds={'a': (0.0, 0.5)}"]
    law = get_law("auto", candidates=["linear", "loglinear"], fit_on=("direct",))
    assert law_option_specs(law) == ['candidates=["linear", "loglinear"]', 'fit_on=["direct"]']


def test_json_values_with_commas_and_two_configurations_of_one_law() -> None:
    laws = parse_law_entries('ye-exp,ye-exp(fixed={"t_a": 0.5, "t_b": 0.5}, n_restarts=3),ye-exp(alpha=cv)', 0)
    assert laws[0] == "ye-exp"
    assert laws[1].get_params()["fixed"] == {"t_a": 0.5, "t_b": 0.5} and laws[1].get_params()["n_restarts"] == 3
    assert laws[2].get_params()["alpha"] == "cv"
    # options at their defaults are the law as registered
    assert parse_law_entries("ye-exp(alpha=0, n_restarts=8)", 0) == ["ye-exp"]


@pytest.mark.parametrize(("laws", "message"), [
    ("ye-exp(alpah=1)", "--laws entry 'ye-exp(alpah=1)': law 'ye-exp' has no option 'alpah'; its options: loss, "),
    ("ye-exp,ye-exp(alpha=0.0)", "--laws 'ye-exp,ye-exp(alpha=0.0)': 'ye-exp' and 'ye-exp(alpha=0.0)' are the same "
                                 "law, ye-exp"),
    ("linear(alpha=1),linear(alpha=1.0)", "'linear(alpha=1)' and 'linear(alpha=1.0)' are the same law, "
                                          "linear(alpha=1.0)"),
    ("ye-exp, ye-exp", "--laws 'ye-exp, ye-exp': 'ye-exp' given twice"),
    ("ye-exp(n_restarts=two)", "--laws entry 'ye-exp(n_restarts=two)' n_restarts of law 'ye-exp': expected int"),
    ("ye-exp(alpha=-1)", "--laws entry 'ye-exp(alpha=-1)' alpha=-1: The 'alpha' parameter"),
    ("ye-exp(alpha=1", "--laws: 'ye-exp(alpha=1': ')' is not closed"),
    ("ye-exp(alpha)", "--laws entry 'ye-exp(alpha)': expected key=value; got 'alpha'"),
    ("ye-exp(alpha=1)x", "--laws entry 'ye-exp(alpha=1)x': expected key or key(option=value, ...)"),
    ("yeexp(alpha=1)", "--laws entry 'yeexp(alpha=1)': unknown law 'yeexp'"),
    ("ye-exp(random_state=5)", "--laws entry 'ye-exp(random_state=5)': random_state=5: the seed is set with --seed "
                               "(this call's: 0)"),
])
def test_inline_errors_name_the_entry(laws: str, message: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_law_entries(laws, 0)
    assert message in str(exc.value)


def test_candidates_take_keys_alone_and_say_so() -> None:
    with pytest.raises(InputError, match=re.escape("--candidates entry 'ye-exp(alpha=1, n_restarts=2)': --candidates "
                                                   "takes law keys, not options")):
        parse_laws("linear,ye-exp(alpha=1, n_restarts=2)", "--candidates")


def test_compare_one_law_with_and_without_an_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = str(_runs(tmp_path))
    code, out, err = run_cli(capsys, "compare", "--runs", runs, "--holdout", "0.3", "--laws",
                             "linear,linear(alpha=0),linear(alpha='cv'),linear(alpha=5)", "--json")
    assert code == 2 and "'linear' and \"linear(alpha='cv')\" are the same law, linear" in err
    code, out, err = run_cli(capsys, "compare", "--runs", runs, "--holdout", "0.3", "--laws",
                             "linear,linear(alpha=0),linear(alpha=5)", "--json", "--seed", "2")
    assert code == 0, err
    rows = {r["law"]: r for r in json.loads(out)["laws"]}
    assert list(rows) == ["linear", "linear(alpha=0.0, random_state=2)", "linear(alpha=5.0, random_state=2)"]
    # a row's name pastes back, and scores as it did
    name = "linear(alpha=5.0, random_state=2)"
    code, out, err = run_cli(capsys, "compare", "--runs", runs, "--holdout", "0.3", "--laws", name, "--json",
                             "--seed", "2")
    assert code == 0, err
    (row,) = json.loads(out)["laws"]
    assert row["law"] == name and row["splits"] == rows[name]["splits"]


def test_compare_refuses_law_option_beside_inline_options_and_options_on_auto(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = str(_runs(tmp_path))
    code, _, err = run_cli(capsys, "compare", "--runs", runs, "--holdout", "0.3", "--laws", "linear(alpha=0)",
                           "--law-option", "alpha=1")
    assert code == 2 and "--law-option and options inline in --laws ('linear(alpha=0)') configure laws two ways" \
        in " ".join(err.split())
    code, _, err = run_cli(capsys, "compare", "--runs", runs, "--holdout", "0.3", "--laws", "linear,auto(n_folds=3)")
    assert code == 2 and "--laws entry 'auto(n_folds=3)': options configure a single law, not auto, whose options " \
        "compare sets from its own flags (--cv-folds, --objective, --fit-on)" in " ".join(err.split())


def test_report_takes_law_option_and_inline_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs, out = str(_runs(tmp_path)), tmp_path / "r.html"
    code, _, err = run_cli(capsys, "report", "--runs", runs, "--holdout", "0.3", "--laws", "linear",
                           "--law-option", "alpha=5", "--out", str(out))
    assert code == 0, err
    page = out.read_text()
    assert "<td>linear(alpha=5.0)</td>" in page
    # the refining command fits the configured law, not the registered one
    assert "--law linear --law-option alpha=5.0" in page
    code, _, err = run_cli(capsys, "report", "--runs", runs, "--holdout", "0.3", "--laws",
                           "linear,linear(alpha=0),ye-exp(alpha='cv')", "--out", str(out))
    assert code == 0, err
    page = out.read_text()
    assert all(f"<td>{n}</td>" in page for n in ("linear", "linear(alpha=0.0)", "ye-exp(alpha=&#x27;cv&#x27;)"))
    assert "Ye interactions" in page  # a configured ye-exp's


@pytest.mark.parametrize(("args", "message"), [
    (["--laws", "linear,ye-exp", "--law-option", "alpha=0"], "--law-option configures the one single law --laws "
                                                             "names"),
    (["--law-option", "alpha=0"], "--law-option configures the one single law --laws names"),
    (["--laws", "linear", "--law-option", "alpah=0"], "--law-option: law 'linear' has no option 'alpah'"),
    (["--laws", "linear,linear(alpha='cv')"], "are the same law, linear"),
])
def test_report_refuses_what_compare_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                             message: str) -> None:
    out = tmp_path / "r.html"
    code, _, err = run_cli(capsys, "report", "--runs", str(_runs(tmp_path)), "--holdout", "0.3", *args, "--out",
                           str(out))
    assert code == 2 and message in " ".join(err.split()) and not out.exists(), err


def test_report_pipeline_refuses_law_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "report", "--pipeline", str(tmp_path / "p.json"), "--law-option", "alpha=0")
    assert code == 2 and "--law-option compares laws on a run table" in " ".join(err.split()), err


def test_demo_takes_inline_options_too(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "demo", "--laws", "linear,linear(alpha=0)", "--json")
    assert code == 0, err
    assert [r["law"] for r in json.loads(out)["laws"]] == ["linear", "linear(alpha=0.0)"]
