"""The admin's translation helpers over the gettext catalogues of :mod:`federation.i18n`
(``federation/locale/<lang>/LC_MESSAGES/federation.po``: one catalogue for the shell and every
part, message keys as msgids). A missing key shows the key itself (tests check that every
language has every key, with the same ``{fields}``).
"""

from __future__ import annotations

from collections.abc import Mapping

from federation.i18n import (
    DEFAULT_LANGUAGE,
    Translate,
    languages,
    normalise_language,
    translator,
)

__all__ = ["DEFAULT_LANGUAGE", "Translate", "format_message", "languages", "normalise_language",
           "of_name", "other_language", "translator"]

#: French elides « de » before these (« la réponse d'Alice », « de Bob »).
_FRENCH_VOWELS = frozenset("aeiouyàâäéèêëîïôöùûüœæAEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜŒÆ")


def of_name(language: str, name: str) -> str:
    """« d'Alice », « de Bob » in French; « from Alice » in English."""
    name = name.strip()
    if normalise_language(language) == "fr":
        return f"d'{name}" if name[:1] in _FRENCH_VOWELS else f"de {name}"
    return f"from {name}"


def other_language(language: str) -> str:
    """The language the switch link offers: the next one with a catalogue (French ↔ English)."""
    found = languages()
    language = normalise_language(language)
    return found[(found.index(language) + 1) % len(found)]


def format_message(translate: Translate, key: str, params: Mapping[str, str]) -> str:
    """The message ``key`` with its ``{name}`` fields filled (a missing field stays empty; a
    message that is not a valid format is shown as it is)."""
    message = translate(key)
    try:
        return message.format_map(_Blank(params))
    except (ValueError, IndexError, AttributeError, KeyError):
        return message


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""
