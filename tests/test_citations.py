"""Citations of Ye et al.'s "Data Mixing Laws" (arXiv:2403.16952) name the law by concept, not by an equation number.

The docstrings cited the paper's equations inconsistently (the exponential law as "Eq. (1)-(2)" and "Eq. 1", the
explicit aggregation as "§3.2 (Eq. 3)", the implicit one as "§3.3, Eq. (4)"), and no numbering could be checked
against the paper's text, so a reader could not trust the number to find the formula. The laws are cited by what
they are: the multi-domain exponential law of domain losses, explicit and implicit domain aggregation.
"""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "mixlaw"
# An equation number within the citation that follows the arXiv id, or "Ye et al.'s law (Eq. 1)" in prose.
NUMBERED = [re.compile(r"2403\.16952[^.\n]{0,40}(Eq\.|Eqn|§3)"), re.compile(r"Ye et al\.[^.\n]{0,40}(\(Eq\.|§3\.\d)")]


def test_ye_et_al_is_not_cited_by_an_equation_number():
    found = [f"{path.relative_to(SRC.parent)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
             for path in sorted(SRC.rglob("*.py"))
             for text in [path.read_text(encoding="utf-8")]
             for pattern in NUMBERED for m in pattern.finditer(text)]
    assert not found, "Ye et al. cited by an unchecked equation number:\n" + "\n".join(found)
