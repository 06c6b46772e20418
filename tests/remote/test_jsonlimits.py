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
