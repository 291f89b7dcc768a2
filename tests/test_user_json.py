"""The small JSON files a user names (a mixture, a paths map, token counts) are parsed by one function
(mixlaw._validation.parse_user_json): the same error naming the file for broken JSON and for JSON nested deeper
than Python's parser recurses, in all three readers."""

from __future__ import annotations

import re

import pytest

from mixlaw.budget import read_tokens_available
from mixlaw.errors import InputError
from mixlaw.export import parse_mixture, read_paths


@pytest.mark.parametrize("read", [parse_mixture, read_paths, read_tokens_available])
@pytest.mark.parametrize("text", ['{"web": 0.5,', "[" * 100_000])
def test_broken_or_too_deep_json_names_the_file(tmp_path, read, text) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "m.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=rf"^{re.escape(str(path))}: not valid JSON \("):
        read(str(path))


def test_inline_paths_json_is_parsed_by_the_same_function() -> None:
    assert read_paths('{"web": "/data/web"}') == {"web": "/data/web"}
    with pytest.raises(InputError, match=r"not valid JSON"):
        read_paths('{"web": }')
