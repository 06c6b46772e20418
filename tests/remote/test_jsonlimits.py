"""The bounded JSON parser every accepted or fetched body goes through."""

from __future__ import annotations

import pytest

from federation.remote.jsonlimits import JSONLimitError, parse_json_limited


@pytest.mark.parametrize("body", [rb'{"a": "x\u0000"}', rb'["\u0000"]', rb'{"a": "\\\u0000"}',
                                  rb'{"\u0000": 1}'])
def test_nul_character_in_a_string_is_refused(body):
    """U+0000 anywhere in a string or key is refused (no database can store it)."""
    with pytest.raises(JSONLimitError, match="NUL"):
        parse_json_limited(body)


def test_escaped_backslash_before_u0000_is_not_a_nul():
    """``\\\\u0000`` is a backslash followed by the text u0000: accepted as such."""
    assert parse_json_limited(rb'{"a": "\\u0000"}') == {"a": "\\u0000"}


@pytest.mark.parametrize("body", [rb'{"a": "\ud800"}', rb'["x\udfff"]', rb'{"\udc00": 1}',
                                  rb'{"a": {"b": ["\uD83D"]}}', rb'["\ude00\ud83d"]',
                                  '{"a": "\ud800"}'.encode("utf-8", "surrogatepass")])
def test_lone_surrogate_in_a_string_or_key_is_refused(body):
    """A lone UTF-16 surrogate, escaped or as bytes, anywhere in the document is refused."""
    with pytest.raises(JSONLimitError, match="surrogate|UTF-8"):
        parse_json_limited(body)


def test_surrogate_pairs_and_a_utf8_bom_are_read():
    """A well-formed pair is one character; a UTF-8 byte order mark is tolerated."""
    assert parse_json_limited(rb'["\ud83d\udd25", "\\ud800"]') == ["🔥", "\\ud800"]
    assert parse_json_limited(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_json_not_in_utf8_is_refused(encoding):
    """UTF-16 and UTF-32 bodies are refused (a NUL escape in them would escape a byte scan)."""
    with pytest.raises(JSONLimitError, match="UTF-8|not valid JSON"):  # LE without BOM: NUL bytes
        parse_json_limited('{"a": "\\u0000"}'.encode(encoding))


@pytest.mark.parametrize("body", [b'"\\' * 500_000, b'["' + b'\\"' * 500_000, b'"a' * 500_000])
def test_unterminated_strings_are_measured_in_linear_time(body):
    """A body of 1 MB (the inbox's cap) whose quotes never close a string: measured in one
    pass (each quote used to start a new scan to the end: about an hour of CPU), then refused."""
    import time

    started = time.process_time()
    with pytest.raises(JSONLimitError):
        parse_json_limited(body)
    assert time.process_time() - started < 2.0


def test_measured_structure_ignores_brackets_and_commas_in_strings():
    from federation.remote.jsonlimits import measure_json

    assert measure_json(b'{"a\\"[,{": ["x\\\\", "]],", {"b": "\\u005b"}]}') == (3, 2)
