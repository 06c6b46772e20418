"""The interface's messages: gettext catalogues (``.po``) read with Babel.

One domain, ``federation``, one file per language:
``federation/locale/<lang>/LC_MESSAGES/federation.po``. The languages are the directories found
there (adding Occitan is adding ``locale/oc/LC_MESSAGES/federation.po``; docs/translating.md).

The msgids are message KEYS (``action.approve``), not English sentences: templates and code name
a message by its key (``_("action.approve")``), French and English are both translations
(``fr.po``: « Valider », ``en.po``: "Approve"), and a key stays stable when a sentence is
reworded. Messages keep ``{name}`` fields (``str.format``), the same in every language.

The ``.po`` files are read at first use (Babel's ``read_po``, cached), not compiled to ``.mo``:
nothing to build, and a wheel carries them as package data. A message missing in a language
(or fuzzy, or empty) falls back to the default language (French), then to its key.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "federation"
DEFAULT_LANGUAGE = "fr"

#: ``_``: a message key to its text in one language.
Translate = Callable[[str], str]


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def languages() -> tuple[str, ...]:
    """The languages with a catalogue, the default first."""
    found = sorted(path.name for path in LOCALE_DIR.iterdir()
                   if catalogue_path(path.name).is_file())
    return tuple(sorted(found, key=lambda language: language != DEFAULT_LANGUAGE))


@functools.cache
def messages(language: str) -> Mapping[str, str]:
    """Key → message of ``language`` (empty for a language without a catalogue); untranslated
    and fuzzy entries are left out."""
    if language not in languages():
        return {}
    with catalogue_path(language).open("rb") as file:
        catalog = read_po(file, locale=None, domain=DOMAIN)
    return {str(message.id): str(message.string) for message in catalog
            if message.id and isinstance(message.id, str) and isinstance(message.string, str)
            and message.string and not message.fuzzy}


def normalise_language(value: str | None) -> str:
    """``value`` if it has a catalogue, else the default language."""
    value = (value or "").strip().lower()[:8]
    return value if value in languages() else DEFAULT_LANGUAGE


def translator(language: str) -> Translate:
    """``_`` for ``language``: its message, else the default language's, else the key."""
    own = messages(normalise_language(language))
    default = messages(DEFAULT_LANGUAGE)

    def translate(key: str) -> str:
        message = own.get(key)
        if message is None:
            message = default.get(key, key)
        return message

    return translate
