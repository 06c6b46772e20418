"""What Mastodon, GoToSocial and Mobilizon readers get from our documents (pure builders).

Each test reads our document with the peer's own rules (``tests/protocol/readers.py``) and
asserts what its users see.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from federation.protocol.actors import AS_PUBLIC
from federation.protocol.objects import (
    Addressing,
    ArticleView,
    EventView,
    MediaView,
    PlaceView,
    build_article,
    build_event,
    build_note,
    mobilizon_category,
)
from tests.protocol import readers

ACTOR = "https://bridge.example/actors/halte-au-controle-numerique"
SITE = "https://bridge.example/actors/site"
ADDRESSING = Addressing(ACTOR, f"{ACTOR}/followers", SITE)
PARIS = ZoneInfo("Europe/Paris")
PDF = MediaView("https://site.example/IMG/pdf/affiche.pdf", "application/pdf", "L'affiche")
MP3 = MediaView("https://site.example/IMG/mp3/radio.mp3", "audio/mpeg", "Émission")
PHOTO = MediaView("https://site.example/IMG/jpg/salle.jpg", "image/jpeg")


def _article(**overrides: object) -> ArticleView:
    values: dict[str, object] = dict(
        object_uri="https://bridge.example/objects/article/1", addressing=ADDRESSING,
        name="Débat", summary_text="Jeudi 9 juin, débat.", content_html="<p>Texte.</p>",
        language="fr", url="https://site.example/spip.php?article1",
        published_at=datetime(2022, 5, 29, 10, tzinfo=UTC),
    )
    values.update(overrides)
    return ArticleView(**values)  # type: ignore[arg-type]


def _event(**overrides: object) -> EventView:
    values: dict[str, object] = dict(
        **{**_article().__dict__, "object_uri": "https://bridge.example/objects/event/2"},
        start_at=datetime(2022, 6, 9, 18, tzinfo=PARIS),
        end_at=datetime(2022, 6, 9, 20, tzinfo=PARIS), timezone="Europe/Paris",
        place=PlaceView("la Cale", "16 rue Royet", "42000", "Saint-Étienne"),
    )
    values.update(overrides)
    return EventView(**values)  # type: ignore[arg-type]


# -- the card --------------------------------------------------------------------------------


def test_documents_are_linked_from_the_text_not_attached() -> None:
    """A PDF is no "unknown" tile on Mastodon: it is a link in the content; the card stays."""
    document = build_article(_article(attachments=(PDF,)))
    status = readers.mastodon_status(document)
    assert status["media"] == [] and status["preview_card"]
    assert 'href="https://site.example/IMG/pdf/affiche.pdf"' in document["content"]
    assert "L&#x27;affiche" in document["content"] or "L'affiche" in document["content"]
    assert document["contentMap"]["fr"] == document["content"]


def test_media_that_is_the_point_is_attached_images_first_all_named() -> None:
    """Sound and images are media (never "unknown"); images come first for Mobilizon; every
    media carries a name (Mobilizon cannot import one without)."""
    document = build_article(_article(attachments=(MP3, PDF, PHOTO), image=PHOTO))
    kinds = [readers.mastodon_media_kind(a) for a in document["attachment"]]
    assert kinds == ["image", "audio"]
    assert all(a["name"] for a in document["attachment"]) and document["image"]["name"]
    readers.mobilizon_medias(document)  # raises on a media without a name


def test_a_title_with_markup_characters_reads_as_written() -> None:
    """``<`` in a title no longer breaks the ``<h2>`` Mastodon builds; a lone ``&`` stays."""
    for title in ("Moins de <25 ans & gratuit", "Tarif <b>réduit</b>", "R&D &copy; 2024"):
        document = build_article(_article(name=title))
        assert readers.mastodon_h2_text(document) == title
        assert readers.gotosocial_status({"name": document["name"]})["content_warning"] == title
    assert build_article(_article(name="Débat & concert"))["name"] == "Débat & concert"


def test_counts_are_embedded_with_total_items() -> None:
    """Mastodon reads likes and shares counts only from embedded collections."""
    status = readers.mastodon_status(build_article(_article()))
    assert status["favourites_count"] == 0 and status["reblogs_count"] == 0


# -- GoToSocial --------------------------------------------------------------------------------


def test_gotosocial_readers_see_the_title_behind_the_lead() -> None:
    """GoToSocial shows ``summary`` as the warning and ``content`` behind it: the content
    begins with the title (Mastodon, which never shows ``content``, is unchanged)."""
    for document in (build_article(_article(name="Débat <public>")),
                     build_event(_event(name="Débat <public>"))):
        seen = readers.gotosocial_status(document)
        assert seen["content"].startswith("<h2>Débat &lt;public&gt;</h2>")
        assert readers.mastodon_status(document)["text"].startswith("<h2>Débat &lt;public&gt;")


@pytest.mark.parametrize("version", [(0, 19), (0, 20)])
def test_gotosocial_old_and_new_read_the_same_policy(version: tuple[int, int]) -> None:
    """Both spellings are sent: 0.19 (always/approvalRequired) reads what 0.20 reads."""
    rules = readers.gotosocial_policy(build_article(_article())["interactionPolicy"],
                                      version=version)
    assert rules["canReply"] == {"automatic": [ACTOR], "manual": [AS_PUBLIC]}
    for key in ("canLike", "canAnnounce", "canQuote"):
        assert rules[key] == {"automatic": [AS_PUBLIC], "manual": []}


# -- Mobilizon ---------------------------------------------------------------------------------


def test_mobilizon_lists_the_event_on_the_collectives_group_page() -> None:
    """``actor`` (the site, organiser) differs from ``attributedTo`` (the collective): the event
    belongs to the collective's group."""
    seen = readers.mobilizon_event(build_event(_event()))
    assert seen["group"] == ACTOR and seen["organiser"] == SITE


def test_mobilizon_takes_articles() -> None:
    """An Article without ``actor`` is dropped by Mobilizon."""
    assert readers.mobilizon_accepts_article(build_article(_article()))


def test_mobilizon_event_fields() -> None:
    """status beside ical:status; joinMode external (we take no Join) with a URL; the online
    link as Mobilizon's ``Website`` Link; a category of its list; comments moderated."""
    document = build_event(_event(status="CANCELLED", is_online=True, category="causes",
                                  online_url="https://visio.example/room"))
    seen = readers.mobilizon_event(document)
    assert seen["status"] == "cancelled" and document["ical:status"] == "CANCELLED"
    assert seen["join_options"] == "external"
    assert seen["external_participation_url"] == "https://site.example/spip.php?article1"
    assert seen["online_address"] == "https://visio.example/room"
    assert seen["category"] == "CAUSES" and document["category"] == "CAUSES"
    assert seen["comment_moderation"] == "moderated"
    assert document["commentsEnabled"] is False  # Mobilizon: only allow_all is "enabled"
    assert readers.mastodon_status(document)["media"] == []  # the Link is no media
    given = build_event(_event(join_mode="external",
                               external_participation_url="https://site.example/inscription"))
    assert given["externalParticipationUrl"] == "https://site.example/inscription"
    no_page = build_event(_event(url=None))
    assert no_page["externalParticipationUrl"] == no_page["id"]


def test_mobilizon_category_list() -> None:
    """Categories are Mobilizon's ids, any case in, upper case out; others are not ours."""
    assert mobilizon_category("movements_politics") == "MOVEMENTS_POLITICS"
    assert mobilizon_category("Arts") == "ARTS"
    assert mobilizon_category("Débat") is None and mobilizon_category(None) is None
    for category in readers.MOBILIZON_CATEGORIES:
        assert mobilizon_category(category.lower()) == category
    assert "category" not in build_event(_event(category=None))


# -- notices ---------------------------------------------------------------------------------


def test_notice_is_threaded_under_its_object() -> None:
    """A notice replies to the object it is about (one thread, not a second post)."""
    note = build_note("https://bridge.example/objects/note/9", ADDRESSING, text="Correction",
                      language="fr", published_at=datetime(2022, 6, 8, tzinfo=UTC),
                      about_uri="https://bridge.example/objects/article/1",
                      about_url="https://site.example/spip.php?article1", about_name="A <b>")
    assert note["inReplyTo"] == "https://bridge.example/objects/article/1"
    assert "A &lt;b&gt;" in note["content"] and note["tag"][0]["name"] == "A <b>"


def test_a_body_only_change_is_no_edit_on_mastodon_a_summary_change_is() -> None:
    """What decides whether a notice is needed: Mastodon marks an edit only when name,
    summary or media change."""
    before = build_article(_article())
    body = build_article(_article(content_html="<p>Texte corrigé.</p>",
                                  updated_at=datetime(2022, 6, 1, tzinfo=UTC)))
    assert not readers.mastodon_applies_edit(before, body)
    lead = build_article(replace(_article(summary_text="Vendredi 10 juin."),
                                 updated_at=datetime(2022, 6, 1, tzinfo=UTC)))
    assert readers.mastodon_applies_edit(before, lead)


def test_page_keeps_each_items_context_when_terms_clash() -> None:
    """Items whose inline terms disagree keep their own ``@context`` (scoped to their node), so
    each still expands as it does alone; agreeing ones share the page's merged context."""
    from federation.protocol.collections import PageRequest, build_page, page_context
    from federation.protocol.jsonld import expand

    one = {"@context": ["https://www.w3.org/ns/activitystreams", {"x": "https://a.example/x"}],
           "id": "https://bridge.example/1", "type": "Note", "x": "1"}
    two = {**one, "@context": ["https://www.w3.org/ns/activitystreams",
                               {"x": "https://b.example/x"}], "id": "https://bridge.example/2"}
    for items in ([one, build_article(_article())], [one, two]):
        context, embedded = page_context(items)
        page = build_page("https://bridge.example/c", PageRequest(page=1), 2, embedded, context)
        [node] = expand(page)
        listed = node["https://www.w3.org/ns/activitystreams#items"][0]["@list"]
        assert listed == [expand(item)[0] for item in items]
