"""Every ```python block of README.md runs as written (they had no test: a renamed function or a changed return
would leave the README's Python showing a call that fails). Run in order, in one namespace (a later block may use
an earlier one's names), in a temporary folder; paths under bench/ are the repository's."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_python_blocks_run(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the examples predict beyond the fitted ranges on purpose, and say so
        for i, block in enumerate(blocks):
            code = block.replace('"bench/', f'"{ROOT}/bench/')
            exec(compile(code, f"README.md python block {i + 1}", "exec"), namespace)  # noqa: S102
    assert (tmp_path / "law.json").is_file() and (tmp_path / "pipeline.json").is_file()
    assert "sources:" in capsys.readouterr().out  # the OLMo config printed
