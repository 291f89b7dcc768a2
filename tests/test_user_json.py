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


@pytest.mark.parametrize("read, text, fix", [
    (read_paths, '{"web": "/a", "code": "/b", "web": "/c"}', r'paths as one list \(\{"web": \["/a", "/b"\]\}\)'),
    (parse_mixture, '{"web": 0.5, "code": 0.5, "web": 0.5}', "keep one"),
    (read_tokens_available, '{"web": 1e9, "code": 1e9, "web": 2e9}', "keep one"),
])
def test_a_key_given_twice_is_refused_not_the_last_kept(tmp_path, read, text, fix) -> None:  # type: ignore[no-untyped-def]
    """json.loads keeps the last of a repeated key: a paths file's first path of 'web' vanished from the export, and
    a mixture {web: 0.5, code: 0.5, web: 0.5} was read as {web: 0.5, code: 0.5}."""
    path = tmp_path / "m.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=rf"m\.json: key 'web' is given twice in one JSON object .*{fix}"):
        read(str(path))


def test_a_tokens_csv_names_a_repeated_domain_and_reads_counts_as_papers_write_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """'1B' was 'not a number' where --target-tokens 1B and a run table's tokens column read it; a domain on two
    lines kept its last count silently."""
    path = tmp_path / "tok.csv"
    path.write_text("domain,tokens\nweb,1.5B\ncode,500M\nbooks,2e9\n", encoding="utf-8")
    assert read_tokens_available(str(path)) == {"web": 1.5e9, "code": 5e8, "books": 2e9}
    js = tmp_path / "tok.json"
    js.write_text('{"web": "1.5B", "code": 500000000}', encoding="utf-8")
    assert read_tokens_available(str(js)) == {"web": 1.5e9, "code": 5e8}
    path.write_text("domain,tokens\nweb,1e9\ncode,1e9\nweb,2e9\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"tok\.csv:4: domain 'web' is given twice \(first at .*tok\.csv:2\)"):
        read_tokens_available(str(path))
    path.write_text("domain,tokens\nweb,abc\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"tok\.csv:2: tokens of domain 'web' is not a number: 'abc' \(give e\.g\."):
        read_tokens_available(str(path))
    js.write_text('{"web": true}', encoding="utf-8")
    with pytest.raises(InputError, match="not a number: True"):
        read_tokens_available(str(js))


@pytest.mark.parametrize("name, text, want", [
    ("m.yaml", "web: 0.6\ncode: 0.4\n", {"web": 0.6, "code": 0.4}),
    ("m.yml", "- domain: web\n  weight: 0.7\n- domain: code\n  weight: 0.3\n", {"web": 0.7, "code": 0.3}),
    ("m.yaml", '{"web": 0.5, "code": 0.5}\n', {"web": 0.5, "code": 0.5}),  # JSON text is YAML
])
def test_a_yaml_mixture_file_is_read_as_yaml(tmp_path, name, text, want) -> None:  # type: ignore[no-untyped-def]
    # The module's docstring promises YAML, and .yaml/.yml were taken as mixture files, but went through the JSON
    # parser: `mixlaw export --mixture m.yaml` with 'web: 0.6' said "m.yaml: not valid JSON".
    p = tmp_path / name
    p.write_text(text)
    assert parse_mixture(str(p)) == pytest.approx(want)


@pytest.mark.parametrize("text, match", [
    ("web: 0.6\nweb: 0.4\n", "key 'web' is given twice in one YAML mapping"),
    ("web: [0.6\n", "not valid YAML"),
    ("[a]: 1\n", "not valid YAML"),
])
def test_a_broken_yaml_mixture_names_the_file(tmp_path, text, match) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "m.yaml"
    p.write_text(text)
    with pytest.raises(InputError, match=re.escape(f"{p}: ") + ".*" + re.escape(match)):
        parse_mixture(str(p))


def test_a_yaml_mixture_of_nested_aliases_is_refused_before_it_is_built(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # review31: 8 nested anchors ('billion laughs') in 271 bytes stood for 43 million values; the error on the first
    # weight ("is not a number: [[...") printed them, 254 MB, and one more level would not have fitted in memory.
    levels, prev = ["&a [x, x, x, x, x, x, x, x, x]"], "a"
    for name in "bcdefgh":
        levels.append(f"&{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
        prev = name
    p = tmp_path / "m.yaml"
    p.write_text("web: [" + ", ".join(levels) + "]\ncode: 0.5\n")
    with pytest.raises(InputError, match=re.escape(f"{p}: its YAML aliases (*name) repeat 22 values to ")) as e:
        parse_mixture(str(p))
    assert len(str(e.value)) < 300
    p.write_text("web: &w 0.25\ncode: *w\nbooks: *w\nnews: *w\n")  # an alias of a weight is fine
    assert parse_mixture(str(p)) == {"web": 0.25, "code": 0.25, "books": 0.25, "news": 0.25}


def test_a_yaml_mixture_keeps_domain_names_that_yaml_1_1_reads_as_other_things(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # review31: PyYAML's YAML 1.1 read the domain 'no' (Norwegian) as False, 'on' as True, '007' as 7 and 'null' as
    # None: the mixture's domains were 'False', 'True', '7' and 'None', and every one "not among the law's".
    p = tmp_path / "m.yaml"
    p.write_text("en: 0.5\nno: 0.2\non: 0.1\n007: 0.1\nnull: 0.1\n")
    assert parse_mixture(str(p)) == {"en": 0.5, "no": 0.2, "on": 0.1, "007": 0.1, "null": 0.1}
    p.write_text("- domain: en\n  weight: 0.7\n- domain: no\n  weight: 0.3\n")
    assert parse_mixture(str(p)) == {"en": 0.7, "no": 0.3}
    p.write_text("web: yes\ncode: true\n")  # text, refused as a weight later; true is still a boolean
    assert parse_mixture(str(p)) == {"web": "yes", "code": True}


def test_a_yaml_mixture_overrides_a_merged_weight_as_yaml_says(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # review31: a key of the mapping's own overrides what '<<: *base' merges in; it was refused as "given twice"
    p = tmp_path / "m.yaml"
    p.write_text("base: &b {web: 0.5, code: 0.5}\nmixture:\n  <<: *b\n  web: 0.4\n  code: 0.6\n")
    assert parse_mixture(str(p)) == {"web": 0.4, "code": 0.6}
    p.write_text("base: &b {web: 0.5, code: 0.5}\nmixture:\n  <<: *b\n  web: 0.4\n  web: 0.6\n")
    with pytest.raises(InputError, match="key 'web' is given twice"):  # twice of its own: refused as before
        parse_mixture(str(p))
