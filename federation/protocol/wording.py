"""The human-readable text we generate for the fediverse, in the language of the object.

An Event's ``summary`` ("jeudi 9 juin 2022, 18:00–20:00 (Europe/Paris) — la Cale, …") and the
notices that accompany some updates ("Annulé : « … », prévu …") are written by the bridge, not
by the site: they follow the object's language (the item's ``language``, which falls back to
``[site] language`` upstream).

- Dates, times, day and month names and the way a date and a time are joined come from CLDR
  through Babel: every language Babel knows gets correctly localised dates.
- The few sentences (notices, "online", "cancelled", spans of days) are templates here, in
  French and English; any other language gets the English sentences around its own dates.
- French keeps the site's typography: ``1er`` for the first of the month, « » with spaces.
- A bare ``en`` is written the international way (``Thursday 9 June 2022, 18:00``: day before
  month, 24-hour clock); a regional tag uses its region's CLDR formats (``en-US``: ``Thursday,
  June 9, 2022, 6:00 PM``).

Pure: Babel's locale data is read once per locale (then cached) and nothing else is touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import (
    DateTimePattern,
    parse_pattern,
    tokenize_pattern,
    untokenize_pattern,
)

#: The language of the sentences for a language that has no templates of its own.
FALLBACK_LANGUAGE = "en"

#: The sentences we write, per primary language subtag. ``{when}`` is the date and time (with
#: the timezone), ``{summary}`` the whole "date – zone – place" line, ``{name}`` the object's.
MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "span": "du {start} au {end}",
        "online": "en ligne",
        "status.CANCELLED": "ANNULÉ",
        "status.TENTATIVE": "À CONFIRMER",
        "notice.cancelled": "Annulé : « {name} », prévu {when}.",
        "notice.reinstated": "Finalement maintenu : « {name} », {summary}.",
        "notice.moved_time": "Nouvelle date : « {name} », {summary}.",
        "notice.moved_place": "Nouveau lieu : « {name} », {summary}.",
        "notice.moved_both": "Nouvelle date et nouveau lieu : « {name} », {summary}.",
        "notice.correction": "Correction : « {name} » — {text}",
    },
    "en": {
        "span": "{start} to {end}",
        "online": "online",
        "status.CANCELLED": "CANCELLED",
        "status.TENTATIVE": "TO BE CONFIRMED",
        "notice.cancelled": "Cancelled: “{name}”, planned for {when}.",
        "notice.reinstated": "Going ahead after all: “{name}”, {summary}.",
        "notice.moved_time": "New date: “{name}”, {summary}.",
        "notice.moved_place": "New venue: “{name}”, {summary}.",
        "notice.moved_both": "New date and venue: “{name}”, {summary}.",
        "notice.correction": "Correction: “{name}” — {text}",
    },
}

#: A span of days in a language without templates: neutral, no English word between its dates.
_NEUTRAL_SPAN = "{start} – {end}"

#: Bare ``en`` (CLDR's ``en`` is US English: "June 9", "6:00 PM").
_INTERNATIONAL_ENGLISH = ("EEEE d MMMM y", "HH:mm")


@dataclass(frozen=True)
class Wording:
    """How to write dates, times and sentences in one language (see :func:`wording`)."""

    language: str  #: the primary subtag of the templates used (``fr``, ``en``)
    locale: Locale
    date_pattern: DateTimePattern
    first_day_pattern: DateTimePattern  #: the date pattern on the 1st (``1er`` in French)
    time_pattern: DateTimePattern
    date_time: str  #: CLDR's ``{1}, {0}``: how a date ({1}) and a time ({0}) are joined
    messages: dict[str, str]
    span: str

    def day(self, day: date) -> str:
        """``jeudi 9 juin 2022``, ``Thursday 9 June 2022``, ``Donnerstag, 9. Juni 2022``."""
        pattern = self.first_day_pattern if day.day == 1 else self.date_pattern
        return pattern.apply(day, self.locale)

    def clock(self, moment: time) -> str:
        """``18:00`` (``6:00 PM`` where the locale uses a 12-hour clock)."""
        return self.time_pattern.apply(moment, self.locale)

    def day_and_time(self, day: str, clock: str) -> str:
        return self.date_time.replace("{1}", day).replace("{0}", clock)

    def message(self, key: str, **fields: Any) -> str:
        return self.messages[key].format(**fields)


def _locale(language: str) -> Locale:
    """The Babel locale of a BCP 47 tag: the whole tag, else its language, else English."""
    tag = language.strip().replace("_", "-")
    if tag.split("-", 1)[0].lower() in ("und", "root"):  # undetermined: Babel says en_US, root
        tag = FALLBACK_LANGUAGE
    for candidate in (tag, tag.split("-", 1)[0]):
        try:
            return Locale.parse(candidate, sep="-")
        except (ValueError, TypeError, UnknownLocaleError):
            continue
    return Locale.parse(FALLBACK_LANGUAGE)


def _unquoted(glue: str) -> str:
    """CLDR's date-time glue without its quoting (``{1} 'à' {0}`` → ``{1} à {0}``)."""
    return re.sub(r"'([^']*)'", r"\1", glue).replace("''", "'")


@lru_cache(maxsize=128)
def wording(language: str) -> Wording:
    """The :class:`Wording` of a language tag (``fr``, ``fr-FR``, ``en``, ``de-CH``…)."""
    locale = _locale(language or FALLBACK_LANGUAGE)
    if locale.language == "en" and not locale.territory and not locale.script:
        date_text, time_text = _INTERNATIONAL_ENGLISH
    else:
        date_text = locale.date_formats["full"].pattern
        time_text = locale.time_formats["short"].pattern
    first_day_text = date_text
    if locale.language == "fr":
        first_day_text = untokenize_pattern([
            ("chars", "1er") if token == ("field", ("d", 1)) else token
            for token in tokenize_pattern(date_text)
        ])
    messages = MESSAGES.get(locale.language, MESSAGES[FALLBACK_LANGUAGE])
    span = messages["span"] if locale.language in MESSAGES else _NEUTRAL_SPAN
    return Wording(
        language=locale.language if locale.language in MESSAGES else FALLBACK_LANGUAGE,
        locale=locale, date_pattern=parse_pattern(date_text),
        first_day_pattern=parse_pattern(first_day_text), time_pattern=parse_pattern(time_text),
        date_time=_unquoted(str(locale.datetime_formats.get("medium", "{1}, {0}"))),
        messages=messages, span=span,
    )


def local_when(start: datetime, end: datetime | None, timezone: str, language: str) -> str:
    """The span of local times ``start``–``end`` (already in ``timezone``), then ``(timezone)``.

    ``jeudi 9 juin 2022, 18:00–20:00 (Europe/Paris)``; a span of days says ``du … au …``
    (``… to …`` in English, ``… – …`` in other languages).
    """
    words = wording(language)
    zone = f"({timezone})"
    first = words.day(start.date())
    if end is None:
        return f"{words.day_and_time(first, words.clock(start.time()))} {zone}"
    if end.date() == start.date():
        clocks = f"{words.clock(start.time())}–{words.clock(end.time())}"
        return f"{words.day_and_time(first, clocks)} {zone}"
    span = words.span.format(
        start=words.day_and_time(first, words.clock(start.time())),
        end=words.day_and_time(words.day(end.date()), words.clock(end.time())),
    )
    return f"{span} {zone}"


def summary_line(when: str, place_line: str, *, status: str, is_online: bool,
                 language: str) -> str:
    """Mobilizon's "date – timezone – place" line; a cancelled or tentative event says so."""
    words = wording(language)
    line = when
    if place_line:
        line += f" — {place_line}"
    elif is_online:
        line += f" — {words.message('online')}"
    if status in ("CANCELLED", "TENTATIVE"):
        line = f"{words.message(f'status.{status}')} — {line}"
    return line
