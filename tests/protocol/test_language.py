"""Natural-language values: a field, its language map, or both (activitystreams-core §4.7)."""

from __future__ import annotations

import pytest

from federation.protocol.language import language_tag, natural_text


def test_plain_field_wins_and_the_map_gives_its_language():
    """Mastodon sends both: the text is ``content``, the language the map's key."""
    note = {"content": "<p>Bonjour</p>", "contentMap": {"fr": "<p>Bonjour</p>"}}
    assert natural_text(note, "content", 100) == ("<p>Bonjour</p>", "fr")


def test_map_alone_gives_text_and_language():
    """A document with the map only: its first entry, and that entry's language."""
    note = {"summaryMap": {"en": "CW", "fr": "Attention"}}
    assert natural_text(note, "summary", 100) == ("CW", "en")


@pytest.mark.parametrize("value", [None, 3, ["x"], {"fr": "x"}])
def test_non_strings_give_nothing(value):
    """A field of any other JSON type is no text; a map of non-strings gives no language."""
    assert natural_text({"name": value, "nameMap": {"fr": 1}}, "name", 100) == ("", None)


def test_text_is_cut_at_the_limit():
    assert natural_text({"content": "x" * 50}, "content", 10)[0] == "x" * 10


@pytest.mark.parametrize(("tag", "kept"), [
    ("fr", True), ("pt-BR", True), ("und", True), ("zh-Hant-TW", True),
    ("f", False), ("français", False), ("fr_FR", False), ("<script>", False), ("", False),
    ("a-b-c-d", False),
])
def test_language_tags_are_checked(tag, kept):
    """Only BCP 47-looking keys become a language."""
    assert (language_tag(tag) == tag) is kept
