"""Every ```python block of README.md and docs/*.md runs as written (they had no test: a renamed function or a
changed return would leave the docs' Python showing a call that fails). Each page's blocks run in order, in one
namespace per page (a later block may use an earlier one's names; a page does not lean on another's), in a temporary
folder; paths under bench/ are the repository's."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_docs_python_blocks_run(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    pages = {p: re.findall(r"```python\n(.*?)```", p.read_text(encoding="utf-8"), re.S) for p in PAGES}
    assert sum(len(blocks) for blocks in pages.values()) >= 3
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the examples predict beyond the fitted ranges on purpose, and say so
        for page, blocks in pages.items():
            namespace: dict[str, object] = {}
            for i, block in enumerate(blocks):
                code = block.replace('"bench/', f'"{ROOT}/bench/')
                name = f"{page.relative_to(ROOT)} python block {i + 1}"
                exec(compile(code, name, "exec"), namespace)  # noqa: S102
    assert (tmp_path / "law.json").is_file() and (tmp_path / "pipeline.json").is_file()
    assert "sources:" in capsys.readouterr().out  # the OLMo config printed
