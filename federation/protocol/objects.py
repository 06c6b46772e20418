"""The objects we publish and the activities that carry them (pure functions).

Shapes follow ``shared/reference/activitypub-shapes.md``: an ``Article`` whose ``summary`` is a
real plain-language lead (Mastodon shows ``<h2>name</h2>``, the summary and a link, never
``content``), whose ``content`` begins with the title (GoToSocial shows ``summary`` as a content
warning and ``content`` behind it, never ``name``), a FEP-b2b8 ``preview`` Note, GoToSocial
``interactionPolicy`` in its 0.20 and older spellings (replies wait for approval, likes, boosts
and quotes do not), an ``Event`` in Mobilizon's shape whose ``summary`` says "date – timezone –
place" in the event's language (``protocol/wording.py``), a ``Note`` that replies to one of our
objects (a notice, for what an ``Update`` does not show), a ``Tombstone`` for what we deleted,
and ``Create``/``Update``/``Delete``/``Add``/``Remove``.

Only media that is the point (image, sound, video) is an ``attachment``: Mastodon shows any
other file as an "unknown" tile, and any attachment takes the place of the link preview card
(the site's Open Graph image). Other documents are links at the end of ``content``.

Inputs are frozen views with already sanitised HTML; nothing here touches a database, a clock
or the network.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from federation.protocol.actors import AS_PUBLIC, iso
from federation.protocol.jsonld import AS2_CONTEXT, GOTOSOCIAL_CONTEXT
from federation.protocol.wording import local_when, summary_line

AP_MEDIA_TYPE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'

#: Every term our objects use, beyond AS2: GoToSocial's namespace (a bundled context), and
#: Mobilizon's (schema.org places and addresses, mz: participation, iCal status). One context
#: for articles, events, notes, their activities and the collection pages that embed them, so
#: that a JSON-LD reader expands an object embedded anywhere as it expands it alone.
OBJECT_CONTEXT: list[Any] = [
    AS2_CONTEXT,
    GOTOSOCIAL_CONTEXT,
    {
        "sensitive": "as:sensitive",
        "Hashtag": "as:Hashtag",
        "sc": "http://schema.org#",
        "mz": "https://joinmobilizon.org/ns#",
        "pt": "https://joinpeertube.org/ns#",
        "ical": "http://www.w3.org/2002/12/cal/ical#",
        "PostalAddress": "sc:PostalAddress",
        "address": {"@id": "sc:address", "@type": "sc:PostalAddress"},
        "streetAddress": "sc:streetAddress",
        "postalCode": "sc:postalCode",
        "addressLocality": "sc:addressLocality",
        "addressRegion": "sc:addressRegion",
        "addressCountry": "sc:addressCountry",
        "category": "sc:category",
        "inLanguage": "sc:inLanguage",
        "timezone": {"@id": "mz:timezone", "@type": "sc:Text"},
        "isOnline": {"@id": "mz:isOnline", "@type": "sc:Boolean"},
        "joinMode": {"@id": "mz:joinMode", "@type": "mz:joinModeType"},
        "externalParticipationUrl": {"@id": "mz:externalParticipationUrl", "@type": "sc:URL"},
        "repliesModerationOption": {"@id": "mz:repliesModerationOption",
                                    "@type": "mz:repliesModerationOptionType"},
        "commentsEnabled": {"@id": "pt:commentsEnabled", "@type": "sc:Boolean"},
        # Mobilizon's newer spelling of ical:status (it reads both): the same IRI, so both keys
        # expand to one value.
        "status": {"@id": "ical:status"},
    },
]

#: Events use the same context (kept as a name for readers of older code).
EVENT_CONTEXT = OBJECT_CONTEXT

#: Mobilizon's event categories (``Mobilizon.Events.Categories``); it files any other as MEETING.
MOBILIZON_CATEGORIES = (
    "ARTS", "BOOK_CLUBS", "BUSINESS", "CAUSES", "COMEDY", "CRAFTS", "FOOD_DRINK", "HEALTH",
    "MUSIC", "AUTO_BOAT_AIR", "COMMUNITY", "FAMILY_EDUCATION", "FASHION_BEAUTY", "FILM_MEDIA",
    "GAMES", "LANGUAGE_CULTURE", "LEARNING", "LGBTQ", "MOVEMENTS_POLITICS", "NETWORKING",
    "PARTY", "PERFORMING_VISUAL_ARTS", "PETS", "PHOTOGRAPHY", "OUTDOORS_ADVENTURE",
    "SPIRITUALITY_RELIGION_BELIEFS", "SCIENCE_TECH", "SPORTS", "THEATRE", "MEETING",
)

#: The ``name`` Mobilizon gives (and looks for on) an event's online address ``Link``.
ONLINE_ADDRESS_NAME = "Website"

# -- views ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaView:
    """An image, document or sound linked from an object."""

    url: str
    media_type: str
    name: str = ""

    @property
    def as_type(self) -> str:
        major = self.media_type.split("/", 1)[0]
        return {"image": "Image", "audio": "Audio", "video": "Video"}.get(major, "Document")

    @property
    def is_media(self) -> bool:
        """Image, sound or video: what readers show as media (anything else is a document)."""
        return self.as_type != "Document"


@dataclass(frozen=True)
class TagView:
    """A keyword of the site (``FLICAGE - SURVEILLANCE``) and its page."""

    name: str
    url: str | None = None


@dataclass(frozen=True)
class PlaceView:
    """Where an event happens; every part optional but ``name``."""

    name: str
    street_address: str | None = None
    postal_code: str | None = None
    locality: str | None = None
    region: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    def one_line(self) -> str:
        """``la Cale, 16 rue Royet, Saint-Étienne`` (no part repeated)."""
        parts: list[str] = []
        for part in (self.name, self.street_address, self.locality):
            if part and part not in parts:
                parts.append(part)
        return ", ".join(parts)


@dataclass(frozen=True)
class Addressing:
    """Who an object is for: the author, its followers, the site actor (``audience``)."""

    actor_uri: str
    followers_uri: str
    audience_uri: str | None = None
    public: bool = True

    @property
    def to(self) -> list[str]:
        return [AS_PUBLIC] if self.public else [self.followers_uri]

    @property
    def cc(self) -> list[str]:
        return [self.followers_uri] if self.public else []


@dataclass(frozen=True)
class ArticleView:
    """An article of the site, with its HTML already sanitised."""

    object_uri: str
    addressing: Addressing
    name: str
    summary_text: str
    content_html: str
    language: str
    url: str | None
    published_at: datetime
    updated_at: datetime | None = None
    image: MediaView | None = None
    attachments: tuple[MediaView, ...] = ()
    tags: tuple[TagView, ...] = ()
    sensitive: bool = False
    replies_total: int = 0


@dataclass(frozen=True)
class EventView(ArticleView):
    """An event: an article with a time span, a timezone, a place and a status."""

    start_at: datetime = field(default=datetime(1970, 1, 1, tzinfo=UTC))
    end_at: datetime | None = None
    timezone: str = "UTC"
    place: PlaceView | None = None
    status: str = "CONFIRMED"  # TENTATIVE | CONFIRMED | CANCELLED
    join_mode: str = "free"  # free | restricted | invite | external
    external_participation_url: str | None = None
    is_online: bool = False
    category: str | None = None
    online_url: str | None = None


# -- pieces -------------------------------------------------------------------------------


def hashtag_name(keyword: str) -> str:
    """``FLICAGE - SURVEILLANCE`` → ``#FlicageSurveillance`` (letters kept, accents too)."""
    words = re.findall(r"[^\W_]+", unicodedata.normalize("NFC", keyword))
    return "#" + "".join(w[:1].upper() + w[1:].lower() for w in words)


def _sub_policy(automatic: list[str], manual: list[str] | None = None) -> dict[str, Any]:
    """A GoToSocial sub-policy in both spellings: ``automaticApproval``/``manualApproval``
    (0.20 on) and ``always``/``approvalRequired`` (what 0.19 and older read), as 0.20 sends."""
    policy: dict[str, Any] = {"automaticApproval": automatic}
    if manual:
        policy["manualApproval"] = manual
    policy["always"] = automatic
    if manual:
        policy["approvalRequired"] = manual
    return policy


def can_quote(actor_uri: str, quotes: str = "automatic") -> dict[str, Any]:
    """FEP-044f ``canQuote`` for ``[moderation] quotes``: ``automatic`` (anyone, answered at
    once), ``moderated`` (anyone, after a moderator), ``nobody`` (the author only: Mastodon reads
    that as "quotes disabled")."""
    if quotes == "automatic":
        return _sub_policy([AS_PUBLIC])
    if quotes == "moderated":
        return _sub_policy([actor_uri], [AS_PUBLIC])
    return _sub_policy([actor_uri])


def interaction_policy(actor_uri: str, quotes: str = "automatic") -> dict[str, Any]:
    """Replies wait for a moderator (the site's forums are moderated a priori); likes and boosts
    are open; quotes as configured (:func:`can_quote`)."""
    return {
        "canReply": _sub_policy([actor_uri], [AS_PUBLIC]),
        "canLike": _sub_policy([AS_PUBLIC]),
        "canAnnounce": _sub_policy([AS_PUBLIC]),
        "canQuote": can_quote(actor_uri, quotes),
    }


def media_document(media: MediaView, fallback_name: str = "") -> dict[str, Any]:
    """An ``Image``/``Audio``/``Video``/``Document`` with its ``name`` always (Mobilizon cannot
    import a media without one; Mastodon shows it as the description): the media's own, else
    ``fallback_name`` (the object's title)."""
    return {"type": media.as_type, "mediaType": media.media_type, "url": media.url,
            "name": media.name or fallback_name}


def media_first(attachments: tuple[MediaView, ...]) -> list[MediaView]:
    """The media worth attaching, images first (Mobilizon takes the first image as the
    picture when there is no ``image``), then video and sound, in the site's order."""
    rank = {"Image": 0, "Video": 1, "Audio": 2}
    return sorted((m for m in attachments if m.is_media), key=lambda m: rank[m.as_type])


def documents_html(attachments: tuple[MediaView, ...]) -> str:
    """Links to the documents (PDF…) that are not attached, for the end of ``content``."""
    links = [f"<li>{html_link(m.url, m.name or m.url.rsplit('/', 1)[-1])}</li>"
             for m in attachments if not m.is_media]
    return f"<ul>{''.join(links)}</ul>" if links else ""


def markup_safe(text: str) -> str:
    """Plain text that reads the same as text and as HTML: ``<`` and ``>`` escaped, and ``&``
    where it would start a character reference (``&copy``); a lone ``&`` stays as written,
    for the readers (Mobilizon) that show ``name`` as plain text.

    Mastodon builds ``<h2>name</h2>`` from an Article's name: a raw ``<`` there broke the title.
    """
    text = re.sub(r"&", lambda m: "&amp;" if _starts_reference(text, m.start()) else "&", text)
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _starts_reference(text: str, at: int) -> bool:
    """Whether the ``&`` at ``at`` would be read by an HTML parser as a character reference."""
    tail = text[at:at + 40]
    return html.unescape(tail) != "&" + html.unescape(tail[1:])


def mobilizon_category(value: str | None) -> str | None:
    """``value`` as one of Mobilizon's categories (any case in, upper case out), else None."""
    if not value:
        return None
    candidate = value.strip().upper().replace("-", "_").replace(" ", "_")
    return candidate if candidate in MOBILIZON_CATEGORIES else None


def html_link(url: str, text: str | None = None) -> str:
    shown = html.escape(text if text is not None else url, quote=False)
    return (f'<a href="{html.escape(url, quote=True)}" rel="nofollow noopener noreferrer">'
            f"{shown}</a>")


def replies_collection(object_uri: str, total: int) -> dict[str, Any]:
    return {"id": f"{object_uri}/replies", "type": "OrderedCollection", "totalItems": total,
            "first": f"{object_uri}/replies?page=1"}


def local_time(moment: datetime, timezone: str) -> datetime:
    """``moment`` in ``timezone`` (naive times are taken as already local there)."""
    zone = ZoneInfo(timezone)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=zone)
    return moment.astimezone(zone)


def iso_with_offset(moment: datetime, timezone: str) -> str:
    """``2022-06-09T18:00:00+02:00``: local time in ``timezone`` with its UTC offset."""
    return local_time(moment, timezone).isoformat(timespec="seconds")


def event_when(start_at: datetime, end_at: datetime | None, timezone: str,
               language: str) -> str:
    """``jeudi 9 juin 2022, 18:00–20:00 (Europe/Paris)`` in ``language``, in the event's zone.

    ``Thursday 9 June 2022, 18:00–20:00 (Europe/Paris)`` in English; spans of days say
    ``du … au …`` (``… to …``). See :mod:`federation.protocol.wording`.
    """
    start = local_time(start_at, timezone)
    end = None if end_at is None else local_time(end_at, timezone)
    return local_when(start, end, timezone, language)


def event_summary(start_at: datetime, end_at: datetime | None, timezone: str,
                  place: PlaceView | None, *, language: str, status: str = "CONFIRMED",
                  is_online: bool = False) -> str:
    """Mobilizon's "date – timezone – place" line in ``language``; a cancelled event says so."""
    return summary_line(event_when(start_at, end_at, timezone, language),
                        place.one_line() if place is not None else "", status=status,
                        is_online=is_online, language=language)


def event_when_fr(start_at: datetime, end_at: datetime | None, timezone: str) -> str:
    """:func:`event_when` in French."""
    return event_when(start_at, end_at, timezone, "fr")


def event_summary_fr(start_at: datetime, end_at: datetime | None, timezone: str,
                     place: PlaceView | None, *, status: str = "CONFIRMED",
                     is_online: bool = False) -> str:
    """:func:`event_summary` in French."""
    return event_summary(start_at, end_at, timezone, place, language="fr", status=status,
                         is_online=is_online)


def place_document(place: PlaceView) -> dict[str, Any]:
    document: dict[str, Any] = {"type": "Place", "name": place.name}
    address = {
        key: value
        for key, value in (
            ("streetAddress", place.street_address), ("postalCode", place.postal_code),
            ("addressLocality", place.locality), ("addressRegion", place.region),
            ("addressCountry", place.country),
        )
        if value
    }
    if address:
        document["address"] = {"type": "PostalAddress", **address}
    if place.latitude is not None and place.longitude is not None:
        document["latitude"] = place.latitude
        document["longitude"] = place.longitude
    return document


def preview_note(name: str, url: str | None, summary_text: str) -> dict[str, Any]:
    """FEP-b2b8 ``preview``: the microblog form of an article for consumers that want one."""
    head = html.escape(name, quote=False)
    lead = html.escape(summary_text, quote=False)
    link = f" — {html_link(url)}" if url else ""
    content = f"<p>{head}{link}</p>" + (f"<p>{lead}</p>" if lead else "")
    return {"type": "Note", "content": content}


# -- objects -------------------------------------------------------------------------------


def interactions_collection(object_uri: str, suffix: str, total: int) -> dict[str, Any]:
    """``likes`` or ``shares``, embedded with its count: Mastodon reads counts only there."""
    return {"id": f"{object_uri}/{suffix}", "type": "Collection", "totalItems": total}


def _common(view: ArticleView, kind: str, summary_html: str) -> dict[str, Any]:
    uri = view.object_uri
    addressing = view.addressing
    title = markup_safe(view.name)
    content = f"<h2>{title}</h2>{view.content_html}{documents_html(view.attachments)}"
    document: dict[str, Any] = {
        "id": uri,
        "type": kind,
        "attributedTo": addressing.actor_uri,
        # Mobilizon drops an Article without ``actor`` (its author); build_event overrides it.
        "actor": addressing.actor_uri,
    }
    if addressing.audience_uri:
        document["audience"] = addressing.audience_uri
    document.update({
        "to": addressing.to,
        "cc": addressing.cc,
        "name": title,
        "summary": summary_html,
        "content": content,
        "contentMap": {view.language: content},
        "mediaType": "text/html",
        "published": iso(view.published_at),
        "sensitive": view.sensitive,
    })
    if view.url:
        document["url"] = {"type": "Link", "mediaType": "text/html", "href": view.url}
    if view.updated_at and view.updated_at > view.published_at:
        document["updated"] = iso(view.updated_at)
    if view.image:
        document["image"] = media_document(view.image, view.name)
    media = media_first(view.attachments)
    if media:
        document["attachment"] = [media_document(m, view.name) for m in media]
    if view.tags:
        document["tag"] = [
            {"type": "Hashtag", "name": hashtag_name(t.name), **({"href": t.url} if t.url else {})}
            for t in view.tags
            if hashtag_name(t.name) != "#"
        ]
    document["replies"] = replies_collection(uri, view.replies_total)
    document["likes"] = interactions_collection(uri, "likes", 0)
    document["shares"] = interactions_collection(uri, "shares", 0)
    document["interactionPolicy"] = interaction_policy(addressing.actor_uri)
    return document


def build_article(view: ArticleView) -> dict[str, Any]:
    """An ``Article``: name, plain-language summary, full content, media, hashtags, policy."""
    summary = html.escape(view.summary_text, quote=False)
    document = {"@context": OBJECT_CONTEXT,
                **_common(view, "Article", f"<p>{summary}</p>" if summary else "")}
    document["preview"] = preview_note(view.name, view.url, view.summary_text)
    return document


def build_event(view: EventView) -> dict[str, Any]:
    """An ``Event`` in Mobilizon's shape; ``summary`` is the "date – zone – place" line.

    For Mobilizon: ``actor`` is the organiser, the site actor, and ``attributedTo`` the
    collective — only an event whose two differ is the collective's (its group page, its
    followers' activity and e-mails); ``joinMode`` is always ``external`` (we take no ``Join``:
    people register on the page); the online address is Mobilizon's ``Website`` ``Link``.
    """
    line = event_summary(view.start_at, view.end_at, view.timezone, view.place,
                         language=view.language, status=view.status, is_online=view.is_online)
    summary_html = f"<p>{html.escape(line, quote=False)}</p>"
    document = {"@context": OBJECT_CONTEXT, **_common(view, "Event", summary_html)}
    document["actor"] = view.addressing.audience_uri or view.addressing.actor_uri
    document["startTime"] = iso_with_offset(view.start_at, view.timezone)
    if view.end_at is not None:
        document["endTime"] = iso_with_offset(view.end_at, view.timezone)
    document["timezone"] = view.timezone
    if view.place is not None:
        document["location"] = place_document(view.place)
    document["ical:status"] = view.status
    document["status"] = view.status
    document["joinMode"] = "external"
    document["externalParticipationUrl"] = (view.external_participation_url or view.url
                                            or view.object_uri)
    document["isOnline"] = view.is_online or view.online_url is not None
    if view.online_url:
        document.setdefault("attachment", []).append(
            {"type": "Link", "mediaType": "text/html", "href": view.online_url,
             "name": ONLINE_ADDRESS_NAME})
    document["inLanguage"] = view.language
    # Mobilizon's pair: replies wait for a moderator, and only "allow_all" is "enabled".
    document["repliesModerationOption"] = "moderated"
    document["commentsEnabled"] = False
    category = mobilizon_category(view.category)
    if category:
        document["category"] = category
    document["preview"] = preview_note(view.name, view.url, line)
    return document


def build_note(note_uri: str, addressing: Addressing, *, text: str, language: str,
               published_at: datetime, about_uri: str, about_url: str | None,
               about_name: str, tags: tuple[TagView, ...] = ()) -> dict[str, Any]:
    """A short ``Note`` about one of our objects, in reply to it (a correction readers would not
    see otherwise), so that it reads in the object's thread.

    It links the object twice: for people (its page) and for software (a FEP-e232 ``Link`` tag).
    """
    link = html_link(about_url or about_uri, about_name)
    content = f"<p>{html.escape(text, quote=False)}</p><p>{link}</p>"
    tag: list[dict[str, Any]] = [
        {"type": "Link", "mediaType": AP_MEDIA_TYPE, "href": about_uri, "name": about_name},
    ]
    tag.extend(
        {"type": "Hashtag", "name": hashtag_name(t.name), **({"href": t.url} if t.url else {})}
        for t in tags
        if hashtag_name(t.name) != "#"
    )
    return {
        "@context": OBJECT_CONTEXT,
        "id": note_uri,
        "type": "Note",
        "attributedTo": addressing.actor_uri,
        "inReplyTo": about_uri,
        "to": addressing.to,
        "cc": addressing.cc,
        "content": content,
        "contentMap": {language: content},
        "published": iso(published_at),
        "sensitive": False,
        "tag": tag,
        "replies": replies_collection(note_uri, 0),
        "interactionPolicy": interaction_policy(addressing.actor_uri),
        **({"url": about_url} if about_url else {}),
    }


#: The ActivityStreams type of each kind of object we publish (``ObjectKind``'s values).
OBJECT_TYPES = {"article": "Article", "event": "Event", "note": "Note"}


def object_type(kind: str) -> str:
    """The ``type`` of an object of ``kind`` (a Tombstone's ``formerType``)."""
    return OBJECT_TYPES.get(kind, "Object")


def _media_urls(document: dict[str, Any]) -> list[str]:
    return [str(a.get("url")) for a in document.get("attachment", []) or []
            if isinstance(a, dict) and a.get("url")]


def _href(value: Any) -> Any:
    return value.get("href") if isinstance(value, dict) else value


def shows_as_edit(previous: dict[str, Any], current: dict[str, Any]) -> bool:
    """Whether Mastodon shows an Update from the document ``previous`` to ``current`` as an
    edit: it builds an article's or an event's text from ``name``, ``summary`` and ``url``
    (never ``content``) and marks an edit only when that text or the media change."""
    return (any(previous.get(key) != current.get(key) for key in ("name", "summary"))
            or _href(previous.get("url")) != _href(current.get("url"))
            or _media_urls(previous) != _media_urls(current))


def build_tombstone(object_uri: str, former_type: str, deleted_at: datetime) -> dict[str, Any]:
    """What a deleted object answers (with 410 Gone)."""
    return {"@context": AS2_CONTEXT, "id": object_uri, "type": "Tombstone",
            "formerType": former_type, "deleted": iso(deleted_at)}


# -- activities ----------------------------------------------------------------------------


def _embedded(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "@context"}


def build_activity(kind: str, activity_uri: str, addressing: Addressing, obj: Any, *,
                   published_at: datetime, target: str | None = None) -> dict[str, Any]:
    """``Create``/``Update``/``Delete``/``Add``/``Remove`` of ``obj`` (a document or an id)."""
    context = obj.get("@context", OBJECT_CONTEXT) if isinstance(obj, dict) else AS2_CONTEXT
    document: dict[str, Any] = {
        "@context": context,
        "id": activity_uri,
        "type": kind,
        "actor": addressing.actor_uri,
        "published": iso(published_at),
        "to": addressing.to,
        "cc": addressing.cc,
        "object": _embedded(obj) if isinstance(obj, dict) else obj,
    }
    if target:
        document["target"] = target
    return document
