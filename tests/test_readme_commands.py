"""Every ``mixlaw ...`` command that README.md and docs/*.md show names a real subcommand, and every ``--flag``
it passes is an option of that subcommand (the docs' commands must run as written)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer

from mixlaw.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: ProxyConfig overrides that ``mixlaw train`` / ``sweep`` take after their options (``--lr=1e-3``).
CONFIG_OVERRIDE = re.compile(r"--[a-z]+_[a-z_]+=|--lr=")


def _commands(text: str) -> list[str]:
    """``mixlaw ...`` commands of the bash blocks (continuations joined, comments and ``&&`` split off) and of
    inline code spans."""
    text = text.replace("\\\n", " ")
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            for part in re.split(r"&&|;", line.split("  #")[0]):
                if part.strip().startswith("mixlaw "):
                    out.append(part.strip())
    out += [m for m in re.findall(r"`(mixlaw [^`\n]+)`", text)]
    return out


def _resolve(group: Any, words: list[str]) -> tuple[Any, list[str]] | None:
    """The (sub)command the leading words name, and the words after it; None when the first word is none.
    (Duck-typed: typer may run its own vendored click, whose classes are not the installed click's.)"""
    cmd = group
    while hasattr(cmd, "commands") and words and words[0] in cmd.commands:
        cmd, words = cmd.commands[words[0]], words[1:]
    return None if cmd is group else (cmd, words)


CASES = [(path.relative_to(ROOT).as_posix(), c) for path in DOCS for c in _commands(path.read_text())]


def test_the_docs_show_commands():
    assert len(CASES) > 40


@pytest.mark.parametrize(("doc", "command"), CASES)
def test_documented_command_uses_real_options(doc, command):
    group = typer.main.get_command(app)
    words = command.split()[1:]
    while words and words[0] in ("-q", "--quiet"):
        words = words[1:]
    if not words or words[0] in ("...",) or "/" in words[0]:  # 'mixlaw compare/pipeline/optimize' in prose
        return
    found = _resolve(group, words)
    assert found is not None, f"{doc}: {command!r}: no subcommand {words[0]!r}"
    cmd, rest = found
    options = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
    for word in rest:
        if not word.startswith("--") or CONFIG_OVERRIDE.match(word):
            continue
        flag = word.split("=", 1)[0]
        assert flag in options, f"{doc}: {command!r}: {cmd.name} has no option {flag} (it has {sorted(options)})"
