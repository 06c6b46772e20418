"""Push API and ``federation publish`` payloads: validated, every problem listed at once.

:func:`parse_item` turns a JSON payload (an article or an event, see ``docs/api.md``) into a
clean :class:`~federation.publishing.items.ContentItem`, or raises
:class:`~federation.errors.Unprocessable` with one :class:`~federation.errors.Problem` per
wrong field. Naive times are read in the event's (or the site's) timezone.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from federation.db.content import ObjectKind
from federation.errors import Problem, Unprocessable
from federation.protocol.html import html_to_text
from federation.protocol.objects import (
    MOBILIZON_CATEGORIES,
    MediaView,
    PlaceView,
    TagView,
    local_time,
    mobilizon_category,
)
from federation.protocol.uris import is_http_url
from federation.publishing.items import ContentItem, EventDetails, clean_content, derive_summary

MAX_ATTACHMENTS = 20
MAX_TAGS = 30
MAX_CONTENT_CHARS = 200_000
SOURCE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,199}$")
MEDIA_TYPE_RE = re.compile(r"^[a-z]+/[A-Za-z0-9.+_-]+$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")


def _web_url(value: str) -> str:
    if not is_http_url(value):
        raise ValueError("must be an absolute http(s) URL, without spaces or control characters")
    return value


def _timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {value!r} (use an IANA name like Europe/Paris)") \
            from None
    return value


#: Dates outside these years are a CMS bug (or a probe), not an article or an event.
FIRST_YEAR, LAST_YEAR = 1900, 2999


def _plausible(value: datetime) -> datetime:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must be a date between {FIRST_YEAR} and {LAST_YEAR}")
    return value


WebURL = Annotated[str, Field(max_length=2048), AfterValidator(_web_url)]
Moment = Annotated[datetime, AfterValidator(_plausible)]
Text = Annotated[str, Field(max_length=500)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class MediaIn(_Strict):
    url: WebURL
    media_type: str = Field(max_length=100)
    name: Text = ""

    @field_validator("media_type")
    @classmethod
    def _media_type(cls, value: str) -> str:
        if not MEDIA_TYPE_RE.match(value):
            raise ValueError("must be a media type such as image/jpeg or application/pdf")
        return value.lower()


class TagIn(_Strict):
    name: str = Field(min_length=1, max_length=100)
    url: WebURL | None = None


class PlaceIn(_Strict):
    name: str = Field(min_length=1, max_length=200)
    street_address: Text | None = None
    postal_code: str | None = Field(default=None, max_length=20)
    locality: Text | None = None
    region: Text | None = None
    country: Text | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class ArticleIn(_Strict):
    """An article as the CMS sends it."""

    type: Literal["article", "event"] | None = None
    actor: str | None = Field(default=None, max_length=64)
    id: str | None = Field(default=None, max_length=200)
    title: str = Field(min_length=1, max_length=500)
    url: WebURL | None = None
    published: Moment
    updated: Moment | None = None
    summary: str | None = Field(default=None, max_length=5000)
    lead_html: str | None = Field(default=None, max_length=20_000)
    content_html: str = Field(default="", max_length=MAX_CONTENT_CHARS)
    language: str | None = None
    image: MediaIn | None = None
    attachments: list[MediaIn] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    tags: list[TagIn | str] = Field(default_factory=list, max_length=MAX_TAGS)
    sensitive: bool = False
    correction: str | None = Field(default=None, max_length=500)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is not None and not LANGUAGE_RE.match(value):
            raise ValueError("must be a language tag such as 'fr'")
        return value

    @field_validator("id")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        if value is not None and not SOURCE_ID_RE.match(value):
            raise ValueError("must be 1-200 letters, digits or . _ : @ / - (starting with a "
                             "letter or digit)")
        return value


class EventIn(ArticleIn):
    """An event: an article with a time span, a timezone, a place and a status."""

    start: Moment
    end: Moment | None = None
    timezone: Annotated[str, AfterValidator(_timezone)] | None = None
    location: PlaceIn | Annotated[str, Field(min_length=1, max_length=500)] | None = None
    status: Literal["confirmed", "tentative", "cancelled",
                    "CONFIRMED", "TENTATIVE", "CANCELLED"] = "confirmed"
    join_mode: Literal["free", "restricted", "invite", "external"] = "free"
    external_participation_url: WebURL | None = None
    online: bool = False
    online_url: WebURL | None = None
    category: str | None = Field(default=None, max_length=100)

    @field_validator("category")
    @classmethod
    def _category(cls, value: str | None) -> str | None:
        if value is None:
            return None
        category = mobilizon_category(value)
        if category is None:
            raise ValueError("must be one of Mobilizon's categories: "
                             + ", ".join(c.lower() for c in MOBILIZON_CATEGORIES))
        return category

    @model_validator(mode="after")
    def _span(self) -> EventIn:
        if self.end is not None:
            start, end = self.start, self.end
            if (start.tzinfo is None) == (end.tzinfo is None) and end < start:
                raise ValueError("end must not be before start")
        if self.join_mode == "external" and not self.external_participation_url:
            raise ValueError("join_mode 'external' needs external_participation_url")
        return self


def _problems(error: ValidationError, prefix: str = "") -> list[Problem]:
    problems = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"] if part not in ("str",))
        if "constrained-str" in location:
            continue  # the other branch of "tag object or string" says what is wrong
        location = re.sub(r"\.(TagIn|PlaceIn|function-after\[[^\]]*\])", "", location)
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        problems.append(Problem(f"{prefix}{location}", message))
    return problems


def parse_place(text: str) -> PlaceView:
    """``la Cale, 16 rue Royet, 42000 Saint-Étienne`` → name, street, postal code, locality.

    Also reads ``la Cale (16 rue Royet, Saint-Étienne)``. What cannot be placed stays in the
    name, so nothing written by the site is lost.
    """
    flat = text.replace("\n", ", ").replace("(", ", ").replace(")", "").replace("\\,", ",")
    parts = [p.strip() for p in flat.split(",") if p.strip()]
    name = street = postal = locality = country = None
    rest: list[str] = []
    for part in parts:
        postal_match = re.match(r"^(\d{4,5}|[A-Z]{1,2}\d[\dA-Z]? ?\d[A-Z]{2})\s+(.+)$", part)
        if postal_match and postal is None:
            postal, locality = postal_match.group(1), postal_match.group(2)
        elif re.match(r"^\d+\s*(?:bis|ter|[a-z])?\s+\S", part, re.I) and street is None:
            street = part
        elif part.lower() in ("france", "fr", "belgique", "suisse"):
            country = part
        elif name is None and street is None:
            name = part
        elif street is not None and locality is None:
            locality = part
        else:
            rest.append(part)
    if name is None:
        name = street or locality or text.strip()[:200]
    if rest:
        name = ", ".join([name, *rest])
    return PlaceView(name=name[:200], street_address=street, postal_code=postal,
                     locality=locality, country=country)


def _place(location: PlaceIn | str | None) -> PlaceView | None:
    if location is None:
        return None
    if isinstance(location, str):
        return parse_place(location)
    return PlaceView(**location.model_dump())


def _aware(moment: datetime | None, timezone: str) -> datetime | None:
    return None if moment is None else local_time(moment, timezone)


def parse_item(payload: Any, *, kind: ObjectKind | None = None, actor: str | None = None,
               source_id: str | None = None, source: str = "push", language: str = "fr",
               timezone: str = "Europe/Paris") -> ContentItem:
    """Validate a payload; path parameters (``kind``, ``actor``, id) win and must agree."""
    if not isinstance(payload, dict):
        raise Unprocessable([Problem("", "the body must be a JSON object")])
    wanted = kind or (ObjectKind(payload["type"]) if payload.get("type") in ("article", "event")
                      else None)
    if wanted is None:
        raise Unprocessable([Problem("type", "must be 'article' or 'event'")])
    model = EventIn if wanted == ObjectKind.EVENT else ArticleIn
    try:
        parsed = model.model_validate(payload)
    except ValidationError as error:
        raise Unprocessable(_problems(error)) from None
    problems = []
    if kind is not None and parsed.type is not None and parsed.type != str(kind):
        problems.append(Problem("type", f"must be {str(kind)!r} here (or left out)"))
    if actor is not None and parsed.actor not in (None, actor):
        problems.append(Problem("actor", "differs from the actor in the URL"))
    if source_id is not None and parsed.id not in (None, source_id):
        problems.append(Problem("id", "differs from the id in the URL"))
    the_actor = actor or parsed.actor
    the_id = source_id or parsed.id
    if not the_actor:
        problems.append(Problem("actor", "required"))
    if not the_id:
        problems.append(Problem("id", "required"))
    if problems:
        raise Unprocessable(problems)
    assert the_actor and the_id
    return item_from(parsed, kind=wanted, actor=the_actor, source_id=the_id, source=source,
                     language=language, timezone=timezone)


def item_from(parsed: ArticleIn, *, kind: ObjectKind, actor: str, source_id: str, source: str,
              language: str, timezone: str) -> ContentItem:
    """A :class:`ContentItem` from a validated payload."""
    zone = parsed.timezone if isinstance(parsed, EventIn) and parsed.timezone else timezone
    content = clean_content(parsed.lead_html, parsed.content_html)
    tags = tuple(TagView(name=t) if isinstance(t, str) else TagView(name=t.name, url=t.url)
                 for t in parsed.tags)
    event = None
    if isinstance(parsed, EventIn):
        start = _aware(parsed.start, zone)
        assert start is not None
        event = EventDetails(
            start_at=start, end_at=_aware(parsed.end, zone), timezone=zone,
            place=_place(parsed.location), status=parsed.status.upper(),
            join_mode=parsed.join_mode,
            external_participation_url=parsed.external_participation_url,
            is_online=parsed.online or parsed.online_url is not None,
            category=parsed.category, online_url=parsed.online_url,
        )
        if event.end_at is not None and event.end_at < event.start_at:
            raise Unprocessable([Problem("end", "end must not be before start")])
    return ContentItem(
        kind=kind, actor=actor, source=source, source_id=source_id,
        name=html_to_text(parsed.title) if "<" in parsed.title else parsed.title,
        summary_text=derive_summary(parsed.summary, parsed.lead_html, content),
        content_html=content, language=parsed.language or language, url=parsed.url,
        published_at=_aware(parsed.published, timezone),
        updated_at=_aware(parsed.updated, timezone),
        image=MediaView(**parsed.image.model_dump()) if parsed.image else None,
        attachments=tuple(MediaView(**m.model_dump()) for m in parsed.attachments),
        tags=tags, sensitive=parsed.sensitive, correction=parsed.correction, event=event,
    )
