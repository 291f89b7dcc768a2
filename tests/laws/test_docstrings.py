"""Every registered law's class docstring follows the style guide (../shared/docs/STYLE.md, section 7): the
formula in a ``.. math::`` block, a ``References`` section naming a paper with its year, and a ``Parameters``
section that lists every constructor parameter, with the constructor's default where it states one."""

from __future__ import annotations

import ast
import inspect
import re

import numpy as np
import pytest

from mixlaw.laws import available_laws, get_law

SECTION = re.compile(r"\n\s*([A-Z][A-Za-z ]+)\n\s*-{3,}\n")


def _sections(doc: str) -> dict[str, str]:
    """numpydoc sections of ``doc`` by heading."""
    parts = SECTION.split(inspect.cleandoc(doc))
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def _documented(params_section: str) -> dict[str, tuple[str | None, str | None]]:
    """Parameter names of a Parameters section (``a, b`` lines name several) -> (the ``default=`` text, the class
    of an "As in :class:`X`" description), each None when not given."""
    out: dict[str, tuple[str | None, str | None]] = {}
    lines = params_section.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\w+(?:, \w+)*)(?: : (.*))?$", line)
        if not m:
            continue
        default = re.search(r"default=(.+)$", m.group(2) or "")
        body = lines[i + 1] if i + 1 < len(lines) else ""
        same_as = re.match(r"\s+(?:As in|Passed to both members) \(?:class:`~?(?:[\w.]*\.)?(\w+)`", body)
        for name in m.group(1).split(", "):
            out[name] = (default.group(1).strip() if default else None, same_as.group(1) if same_as else None)
    return out


def _same(doc_default: str, value: object) -> bool:
    try:
        doc_value = ast.literal_eval(doc_default)
    except (ValueError, SyntaxError):
        return True  # prose ("the first eval set"): nothing to compare
    if isinstance(value, tuple | list) and isinstance(doc_value, tuple | list):
        return len(value) == len(doc_value) and all(_same(repr(d), v) for d, v in zip(doc_value, value, strict=True))
    if isinstance(doc_value, int | float) and not isinstance(doc_value, bool) and isinstance(value, int | float):
        return bool(np.isclose(float(doc_value), float(value), rtol=1e-12, atol=0.0))
    return doc_value == value


@pytest.mark.parametrize("key", available_laws())
def test_law_docstring_has_formula_paper_and_parameters(key):
    cls = type(get_law(key))
    doc = cls.__doc__ or ""
    sections = _sections(doc)
    assert ".. math::" in doc, f"{cls.__name__}: no formula (.. math::) in the class docstring"
    refs = sections.get("References", "")
    assert re.search(r"\b(19|20)\d\d\b", refs), f"{cls.__name__}: References name no paper with a year"
    documented = _documented(sections.get("Parameters", ""))
    signature = inspect.signature(cls.__init__).parameters
    missing = [p for p in signature if p != "self" and p not in documented]
    assert not missing, f"{cls.__name__}: constructor parameters not in its docstring: {missing}"
    unknown = [p for p in documented if p not in signature]
    assert not unknown, f"{cls.__name__}: docstring lists parameters the constructor lacks: {unknown}"
    wrong = {p: (d, signature[p].default) for p, (d, _) in documented.items()
             if d is not None and not _same(d, signature[p].default)}
    assert not wrong, f"{cls.__name__}: documented default (docstring, constructor) differs: {wrong}"
    # "loss, huber_delta : As in :class:`YeExponential`" promises that class's defaults too.
    classes = {type(get_law(k)).__name__: type(get_law(k)) for k in available_laws()}
    for p, (_, other) in documented.items():
        if other is None:
            continue
        assert other in classes, f"{cls.__name__}: '{p}' refers to {other}, which is no registered law"
        theirs = inspect.signature(classes[other].__init__).parameters
        assert p in theirs and theirs[p].default == signature[p].default, (
            f"{cls.__name__}: '{p}' is documented 'as in {other}', whose default is "
            f"{theirs[p].default if p in theirs else 'absent'!r}; here {signature[p].default!r}")
