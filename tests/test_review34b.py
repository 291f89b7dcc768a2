"""Review of ``--laws`` with inline law options (opts34): each test failed before its fix (review34b)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli
from test_cli_compare_law_option import _runs

from mixlaw.cli._law_entries import parse_law_entries
from mixlaw.compare import _law_name
from mixlaw.errors import InputError
from mixlaw.laws import get_law
from mixlaw.laws.inline import law_option_specs
from mixlaw.laws.options import parse_law_options

COMPARE = ("compare", "--cv-folds, --objective, --fit-on")


def test_fit_candidates_error_names_candidates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 'mixlaw fit --candidates "linear,ye-exp(alpha=1)"' said "--laws entry ...: --laws takes law keys": fit has no
    # --laws.
    code, _, err = run_cli(capsys, "fit", "--runs", str(_runs(tmp_path)), "--law", "auto", "--candidates",
                           "linear,ye-exp(alpha=1)")
    err = " ".join(err.split())
    assert code == 2 and "--candidates entry 'ye-exp(alpha=1)': --candidates takes law keys" in err, err
    assert "--laws" not in err


@pytest.mark.parametrize("laws", [
    # one dict in two orders, and one tuple written with ints and with floats: the same law, two row names
    "ye-total(composition={'a': 0.3, 'b': 0.7}),ye-total(composition={'b': 0.7, 'a': 0.3})",
    "ye-exp(bounds={'a': (0, 1)}),ye-exp(bounds={'a': (0.0, 1.0)})",
])
def test_the_same_law_written_two_ways_is_refused(laws: str) -> None:
    # each was fitted and listed twice, as a key given twice was before it was refused
    with pytest.raises(InputError, match="are the same law"):
        parse_law_entries(laws, 0)


def test_different_laws_of_one_key_are_kept() -> None:
    laws = parse_law_entries("ye-exp(bounds={'a': (0, 1)}),ye-exp(bounds={'a': (0, 2)}),ye-exp", 0)
    assert [law if isinstance(law, str) else law.get_params()["bounds"] for law in laws] == [
        {"a": (0, 1)}, {"a": (0, 2)}, "ye-exp"]


@pytest.mark.parametrize("entry", ["auto()", "stack()", "auto(random_state=2)"])
def test_compare_takes_auto_as_registered_written_with_parentheses(entry: str) -> None:
    # 'auto()' (no options; 'ye-exp()' is ye-exp) was refused as "options configure a single law, not auto"
    assert parse_law_entries(f"linear,{entry}", 2, meta=COMPARE) == ["linear", entry.partition("(")[0]]
    with pytest.raises(InputError, match=re.escape("options configure a single law, not auto")):
        parse_law_entries("auto(n_folds=3, random_state=2)", 2, meta=COMPARE)


def test_law_option_specs_of_numpy_scalars_read_back() -> None:
    # build_html_report(laws=[Linear(alpha=np.float64(5))]) wrote 'mixlaw optimize ... --law-option
    # alpha=np.float64(5.0)', which optimize refused ("expected float | str")
    law = get_law("ye-exp", alpha=np.float64(5.0), n_restarts=np.int64(3))
    specs = law_option_specs(law)
    assert specs == ["n_restarts=3", "alpha=5.0"]
    assert parse_law_options("ye-exp", specs) == {"n_restarts": 3, "alpha": 5.0}


@pytest.mark.parametrize("fixed", [{"t_it's \"x\"": 0.5}, {"t_a\\": 0.5}])
def test_a_row_name_with_an_escaped_quote_pastes_back(fixed: dict[str, float]) -> None:
    # repr (and JSON) escape a quote inside a string with a backslash: split_top_level took 'it\'s' as its end, and
    # the row name was refused with "a quote is not closed"
    law = get_law("ye-exp", fixed=fixed)
    (back,) = parse_law_entries(_law_name(law), 0)
    assert not isinstance(back, str) and back.get_params()["fixed"] == fixed
    (back,) = parse_law_entries('ye-exp(fixed={"t_a\\"b": 0.5}),linear', 0)[:1]
    assert not isinstance(back, str) and back.get_params()["fixed"] == {'t_a"b': 0.5}


@pytest.mark.parametrize("entry", ["linear(alpha=5.0)[direct]", "linear[direct]"])
def test_a_direct_row_name_says_how_to_paste_it(entry: str) -> None:
    # compare --objective names a law's second row 'linear(alpha=5.0)[direct]', which --laws refused as "expected
    # key or key(option=value, ...)" (or "unknown law 'linear[direct]'"), not saying what [direct] is
    with pytest.raises(InputError, match=re.escape(f"--laws entry {entry!r}: [direct] marks the row of a law fitted "
                                                   f"on the objective column (--fit-on direct); give "
                                                   f"{entry.removesuffix('[direct]')!r}")):
        parse_law_entries(f"ye-exp,{entry}", 0)


def test_cv_folds_hint_is_a_shell_word(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # "e.g. --laws auto,ye-exp(alpha='cv')": bash reads '(' as a syntax error where the hint is pasted
    code, _, err = run_cli(capsys, "compare", "--runs", str(_runs(tmp_path)), "--holdout", "0.3", "--cv-folds", "3",
                           "--laws", "ye-exp(alpha='cv')")
    assert code == 2 and "(e.g. --laws 'auto,ye-exp(alpha='\"'\"'cv'\"'\"')')" in " ".join(err.split()), err
