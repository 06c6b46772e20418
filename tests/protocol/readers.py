"""What Mastodon, GoToSocial and Mobilizon do with our documents, written down from their code.

Each function restates the few lines of the peer that decide what its users see (read in
Mastodon 4.6-dev of January 2026, GoToSocial 0.20 of October 2025, Mobilizon 5.1 of April 2025),
so that tests assert the outcome a reader gets, not our own shape. They are deliberately small:
the comment of each says which peer code it follows.
"""

from __future__ import annotations

import html
import re
from typing import Any

AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"

#: Mastodon ``ActivityPub::Activity::CONVERTED_TYPES``.
MASTODON_CONVERTED = ("Image", "Audio", "Video", "Article", "Page", "Event")

#: Mobilizon ``Mobilizon.Events.Categories`` (build-in ids, compared upper-cased).
MOBILIZON_CATEGORIES = (
    "ARTS", "BOOK_CLUBS", "BUSINESS", "CAUSES", "COMEDY", "CRAFTS", "FOOD_DRINK", "HEALTH",
    "MUSIC", "AUTO_BOAT_AIR", "COMMUNITY", "FAMILY_EDUCATION", "FASHION_BEAUTY", "FILM_MEDIA",
    "GAMES", "LANGUAGE_CULTURE", "LEARNING", "LGBTQ", "MOVEMENTS_POLITICS", "NETWORKING",
    "PARTY", "PERFORMING_VISUAL_ARTS", "PETS", "PHOTOGRAPHY", "OUTDOORS_ADVENTURE",
    "SPIRITUALITY_RELIGION_BELIEFS", "SCIENCE_TECH", "SPORTS", "THEATRE", "MEETING",
)


def _url_href(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return value.get("href") or value.get("url")
    if isinstance(value, list):
        return next((h for h in map(_url_href, value) if h), None)
    return None


# -- Mastodon --------------------------------------------------------------------------------


def mastodon_status(document: dict[str, Any]) -> dict[str, Any]:
    """``StatusParser#processed_text``/``processed_spoiler_text`` and the media it keeps.

    A converted type (Article, Event…) becomes ``<h2>name</h2>`` + ``summary`` + a link to
    ``url``; ``content`` is never shown, the summary is no content warning. Media are the
    attachments with a ``url`` (``MediaAttachmentParser#remote_url``); a status with media gets
    no link preview card (``FetchLinkCardService``: ``@status.with_media?``).
    """
    converted = document.get("type") in MASTODON_CONVERTED
    if converted:
        parts = [f"<h2>{document['name']}</h2>" if document.get("name") else None,
                 document.get("summary") or None,
                 f'<a href="{_url_href(document.get("url")) or document["id"]}">link</a>']
        text = "\n\n".join(p for p in parts if p)
        spoiler = ""
    else:
        text, spoiler = document.get("content") or "", document.get("summary") or ""
    media = [a for a in document.get("attachment", []) if isinstance(a, dict) and a.get("url")]
    return {"text": text, "spoiler_text": spoiler, "media": media,
            "edited_at": document.get("updated"), "preview_card": not media,
            "favourites_count": (document.get("likes") or {}).get("totalItems")
            if isinstance(document.get("likes"), dict) else None,
            "reblogs_count": (document.get("shares") or {}).get("totalItems")
            if isinstance(document.get("shares"), dict) else None}


def mastodon_media_kind(attachment: dict[str, Any]) -> str:
    """``MediaAttachment`` type from the media type: what is not image/video/audio is unknown."""
    major = str(attachment.get("mediaType", "")).split("/", 1)[0]
    return {"image": "image", "video": "video", "audio": "audio"}.get(major, "unknown")


def mastodon_edited_at_on_create(document: dict[str, Any]) -> str | None:
    """``Create#process_status_params``: ``edited_at`` is ``updated`` when it differs from
    ``published`` (the post shows "edited" at once)."""
    updated = document.get("updated")
    return updated if updated and updated != document.get("published") else None


def mastodon_applies_edit(stored: dict[str, Any], update: dict[str, Any]) -> bool:
    """``ProcessStatusUpdateService#call``: the Update is an edit readers see only if its
    ``updated`` is strictly later than the last edit, and the text, the spoiler or the media
    changed significantly."""
    before, after = mastodon_status(stored), mastodon_status(update)
    last = stored.get("updated")
    if not after["edited_at"] or (last and after["edited_at"] <= last):
        return False
    return (_plain(before["text"]) != _plain(after["text"])
            or before["spoiler_text"] != after["spoiler_text"]
            or [m["url"] for m in before["media"]] != [m["url"] for m in after["media"]])


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def mastodon_pinned(items: list[Any]) -> list[str]:
    """``FetchFeaturedCollectionService#process_note_items``: ids, or embedded ``Note``s only."""
    return [item if isinstance(item, str) else item["id"] for item in items
            if isinstance(item, str) or item.get("type") == "Note"]


def mastodon_attribution_verifies(actor: dict[str, Any], page_url: str) -> bool:
    """``Account::AttributionDomains#can_be_attributed_from?``: the card's host (or a parent
    domain of it) is one of the actor's ``attributionDomains``."""
    host = re.sub(r"^https?://([^/:]+).*$", r"\1", page_url).lower()
    segments = host.split(".")
    variants = {".".join(segments[i:]) for i in range(len(segments))}
    return bool(set(actor.get("attributionDomains", [])) & variants)


def mastodon_h2_text(document: dict[str, Any]) -> str:
    """The text of the ``<h2>`` Mastodon builds from ``name``, as an HTML parser reads it."""
    from html.parser import HTMLParser

    class Reader(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.depth, self.text = 0, ""

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            self.depth += tag == "h2"

        def handle_endtag(self, tag: str) -> None:
            self.depth -= tag == "h2"

        def handle_data(self, data: str) -> None:
            if self.depth:
                self.text += data

    reader = Reader()
    reader.feed(f"<h2>{document['name']}</h2>")
    return reader.text


# -- GoToSocial -------------------------------------------------------------------------------


def gotosocial_status(document: dict[str, Any]) -> dict[str, str]:
    """``ASStatusToStatus``: the content warning is ``summary``, else ``name``; the body is
    ``content`` (shown once the warning is opened)."""
    warning = document.get("summary") or document.get("name") or ""
    return {"content_warning": html.unescape(re.sub(r"<[^>]+>", "", warning)),
            "content": document.get("content") or ""}


def gotosocial_policy(policy: dict[str, Any], *, version: tuple[int, int]) -> dict[str, Any]:
    """``extractPolicyRules``: 0.20 reads ``automaticApproval``/``manualApproval`` (falling back
    to the old keys); 0.19 and older read only ``always``/``approvalRequired``."""
    rules = {}
    for name, sub in policy.items():
        if version >= (0, 20) and (sub.get("automaticApproval") or sub.get("manualApproval")):
            rules[name] = {"automatic": sub.get("automaticApproval", []),
                           "manual": sub.get("manualApproval", [])}
        else:
            rules[name] = {"automatic": sub.get("always", []),
                           "manual": sub.get("approvalRequired", [])}
    return rules


# -- Mobilizon --------------------------------------------------------------------------------


def mobilizon_event(document: dict[str, Any]) -> dict[str, Any]:
    """``Converter.Event.as_to_model_data`` (with ``maybe_fetch_actor_and_attributed_to_id``).

    The event is attributed to a group (listed on its page, in its followers' activity and
    e-mails) only when ``actor`` is present and differs from ``attributedTo``; otherwise the
    ``attributedTo`` actor is the organiser and the event belongs to no group.
    """
    actor, attributed = document.get("actor"), document.get("attributedTo")
    if actor and attributed and actor != attributed:
        organiser, group = actor, attributed
    else:
        organiser, group = (attributed or actor), None
    status = document.get("status", document.get("ical:status", "CONFIRMED")).lower()
    category = document.get("category")
    online = next((a["href"] for a in document.get("attachment", [])
                   if a.get("type") == "Link" and a.get("mediaType") == "text/html"
                   and a.get("name") == "Website" and a.get("href")), None)
    moderation = document.get("repliesModerationOption",
                              "allow_all" if document.get("commentsEnabled", True) else "closed")
    return {"organiser": organiser, "group": group, "status": status,
            "category": category if category in MOBILIZON_CATEGORIES else "MEETING",
            "join_options": document.get("joinMode", "free"),
            "external_participation_url": document.get("externalParticipationUrl"),
            "online_address": online, "comment_moderation": moderation,
            "medias": mobilizon_medias(document)}


def mobilizon_medias(document: dict[str, Any]) -> list[dict[str, Any]]:
    """``process_pictures``: every Image/Document attachment (and ``image``) is imported with
    ``MediaConverter.find_or_create_media``, whose only clauses need ``name`` — one without it
    raises (``FunctionClauseError``) and the whole object is refused."""
    medias = [m for m in [document.get("image"), *document.get("attachment", [])]
              if isinstance(m, dict) and m.get("type") in ("Image", "Document")]
    for media in medias:
        if "href" not in media and not isinstance(media.get("name"), str):
            raise ValueError(f"Mobilizon cannot import media without a name: {media}")
    return medias


def mobilizon_accepts_article(document: dict[str, Any]) -> bool:
    """``Transmogrifier.handle_incoming``: a Create of an Article matches only with both
    ``actor`` and ``attributedTo`` (otherwise it is dropped)."""
    return bool(document.get("actor")) and bool(document.get("attributedTo"))
