"""Pure builders: Article and Event shapes, French summaries, offsets, notes, tombstones."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from federation.protocol.actors import AS_PUBLIC
from federation.protocol.jsonld import expand
from federation.protocol.objects import (
    Addressing,
    ArticleView,
    EventView,
    MediaView,
    PlaceView,
    TagView,
    build_activity,
    build_article,
    build_event,
    build_note,
    build_tombstone,
    event_summary_fr,
    hashtag_name,
)

ACTOR = "https://site.example/actors/halte-au-controle-numerique"
ADDRESSING = Addressing(ACTOR, f"{ACTOR}/followers", "https://site.example/actors/site")
PARIS = ZoneInfo("Europe/Paris")
PLACE = PlaceView("la Cale", "16 rue Royet", "42000", "Saint-Étienne", country="FR")


def _article(**overrides: object) -> ArticleView:
    values: dict[str, object] = dict(
        object_uri="https://site.example/objects/article/4521", addressing=ADDRESSING,
        name="Débat « Ce que la numérisation fait au service public et à ses usagers »",
        summary_text="Jeudi 9 juin, débat avec le Collectif Changer de cap et Gilles Jeannot.",
        content_html="<p>Texte intégral…</p>", language="fr",
        url="https://site.example/spip.php?article4521",
        published_at=datetime(2022, 5, 29, 10, tzinfo=UTC),
        updated_at=datetime(2022, 6, 10, 8, tzinfo=UTC),
        image=MediaView("https://site.example/IMG/affiche.jpg", "image/jpeg", "L'affiche"),
        attachments=(MediaView("https://site.example/IMG/pdf/affiche.pdf", "application/pdf",
                               "L'affiche du débat"),
                     MediaView("https://site.example/IMG/mp3/radio.mp3", "audio/mpeg",
                               "Émission du 01/06/2022")),
        tags=(TagView("FLICAGE - SURVEILLANCE", "https://site.example/mot/flicage-surveillance"),),
        replies_total=3,
    )
    values.update(overrides)
    return ArticleView(**values)  # type: ignore[arg-type]


def test_article_has_the_reference_shape() -> None:
    """Every key of the reference Article, with the values Mastodon and GoToSocial read."""
    document = build_article(_article())
    assert document["type"] == "Article"
    assert document["to"] == [AS_PUBLIC] and document["cc"] == [f"{ACTOR}/followers"]
    assert document["audience"] == "https://site.example/actors/site"
    assert document["summary"] == ("<p>Jeudi 9 juin, débat avec le Collectif Changer de cap et "
                                   "Gilles Jeannot.</p>")
    title = "<h2>Débat « Ce que la numérisation fait au service public et à ses usagers »</h2>"
    pdf_link = ('<ul><li><a href="https://site.example/IMG/pdf/affiche.pdf" '
                'rel="nofollow noopener noreferrer">L\'affiche du débat</a></li></ul>')
    assert document["contentMap"] == {"fr": f"{title}<p>Texte intégral…</p>{pdf_link}"}
    assert document["url"] == {"type": "Link", "mediaType": "text/html",
                               "href": "https://site.example/spip.php?article4521"}
    assert document["published"] == "2022-05-29T10:00:00Z"
    assert document["updated"] == "2022-06-10T08:00:00Z"
    assert document["image"]["type"] == "Image"
    assert [(a["type"], a["mediaType"], a["name"]) for a in document["attachment"]] == [
        ("Audio", "audio/mpeg", "Émission du 01/06/2022")]  # the PDF is a link in content
    assert document["tag"] == [{"type": "Hashtag", "name": "#FlicageSurveillance",
                                "href": "https://site.example/mot/flicage-surveillance"}]
    assert document["preview"]["type"] == "Note"
    assert "https://site.example/spip.php?article4521" in document["preview"]["content"]
    assert document["replies"]["totalItems"] == 3
    policy = document["interactionPolicy"]
    assert policy["canReply"] == {"automaticApproval": [ACTOR], "manualApproval": [AS_PUBLIC],
                                  "always": [ACTOR], "approvalRequired": [AS_PUBLIC]}
    for key in ("canLike", "canAnnounce", "canQuote"):
        assert policy[key] == {"automaticApproval": [AS_PUBLIC], "always": [AS_PUBLIC]}
    assert "https://gotosocial.org/ns" in document["@context"]


def test_documents_expand_with_bundled_contexts_only() -> None:
    """Article, Event and Note are valid JSON-LD without fetching any context."""
    event = build_event(EventView(**_article().__dict__, start_at=datetime(2022, 6, 9, 16,
                                                                           tzinfo=UTC)))
    for document in (build_article(_article()), event):
        expanded = expand(document)
        assert "https://gotosocial.org/ns#interactionPolicy" in expanded[0]
    assert "https://joinmobilizon.org/ns#timezone" in expand(event)[0]


def test_event_in_mobilizon_shape_with_french_summary() -> None:
    """startTime/endTime carry the offset; summary says date, zone and place in French."""
    view = EventView(**_article().__dict__, start_at=datetime(2022, 6, 9, 18, tzinfo=PARIS),
                     end_at=datetime(2022, 6, 9, 20, tzinfo=PARIS), timezone="Europe/Paris",
                     place=PLACE, external_participation_url="https://site.example/inscription",
                     join_mode="external")
    document = build_event(view)
    assert document["type"] == "Event"
    assert document["startTime"] == "2022-06-09T18:00:00+02:00"
    assert document["endTime"] == "2022-06-09T20:00:00+02:00"
    assert document["timezone"] == "Europe/Paris"
    assert document["summary"] == ("<p>jeudi 9 juin 2022, 18:00–20:00 (Europe/Paris) — la Cale, "
                                   "16 rue Royet, Saint-Étienne</p>")
    assert document["location"] == {
        "type": "Place", "name": "la Cale",
        "address": {"type": "PostalAddress", "streetAddress": "16 rue Royet",
                    "postalCode": "42000", "addressLocality": "Saint-Étienne",
                    "addressCountry": "FR"}}
    assert document["ical:status"] == "CONFIRMED"
    assert document["ical:status"] == document["status"] == "CONFIRMED"
    assert document["joinMode"] == "external"
    assert document["externalParticipationUrl"] == "https://site.example/inscription"


def test_event_times_in_winter_utc_and_multi_day() -> None:
    """UTC input is shown in the event's zone (+01:00 in winter); spans of days say du … au."""
    start = datetime(2024, 1, 1, 17, tzinfo=UTC)
    assert event_summary_fr(start, None, "Europe/Paris", None) == \
        "lundi 1er janvier 2024, 18:00 (Europe/Paris)"
    end = datetime(2024, 1, 3, 17, tzinfo=UTC)
    assert event_summary_fr(start, end, "Europe/Paris", PLACE, status="CANCELLED") == (
        "ANNULÉ — du lundi 1er janvier 2024, 18:00 au mercredi 3 janvier 2024, 18:00 "
        "(Europe/Paris) — la Cale, 16 rue Royet, Saint-Étienne")
    view = EventView(**_article().__dict__, start_at=start, timezone="America/Montreal")
    assert build_event(view)["startTime"] == "2024-01-01T12:00:00-05:00"


def test_hashtags_keep_accents_and_drop_separators() -> None:
    """Site keywords become CamelCase hashtags."""
    assert hashtag_name("DROITS SOCIAUX - SANTÉ") == "#DroitsSociauxSanté"
    assert hashtag_name("SAINT-ÉTIENNE") == "#SaintÉtienne"
    assert hashtag_name("  ") == "#"


def test_note_points_to_the_object_and_tombstone() -> None:
    """A notice Note links the object (page and FEP-e232 Link); a Tombstone keeps formerType."""
    note = build_note("https://site.example/objects/note/9", ADDRESSING, text="Annulé : <débat>",
                      language="fr", published_at=datetime(2022, 6, 8, tzinfo=UTC),
                      about_uri="https://site.example/objects/event/2",
                      about_url="https://site.example/spip.php?article4521", about_name="Débat")
    assert note["type"] == "Note" and "&lt;débat&gt;" in note["content"]
    assert note["tag"][0]["href"] == "https://site.example/objects/event/2"
    assert 'href="https://site.example/spip.php?article4521"' in note["content"]
    tombstone = build_tombstone("https://site.example/objects/article/1", "Article",
                                datetime(2022, 6, 8, tzinfo=UTC))
    assert tombstone["type"] == "Tombstone" and tombstone["formerType"] == "Article"
    delete = build_activity("Delete", "https://site.example/activities/d1", ADDRESSING,
                            tombstone, published_at=datetime(2022, 6, 8, tzinfo=UTC))
    assert delete["object"]["id"] == tombstone["id"] and "@context" not in delete["object"]
    add = build_activity("Add", "https://site.example/activities/a1", ADDRESSING,
                         "https://site.example/objects/article/1",
                         published_at=datetime(2022, 6, 8, tzinfo=UTC),
                         target=f"{ACTOR}/featured")
    assert add["target"] == f"{ACTOR}/featured" and add["object"].endswith("/article/1")


def test_can_quote_says_the_quote_policy() -> None:
    """canQuote per ``[moderation] quotes``, as Mastodon's InteractionPolicyParser reads it:
    automatic → Public automatic; moderated → Public manual (the author automatic); nobody →
    the author alone (Mastodon: quotes disabled)."""
    from federation.protocol.objects import can_quote, interaction_policy

    # GoToSocial <= 0.19 reads always/approvalRequired: both spellings, as 0.20 sends them
    assert can_quote(ACTOR, "automatic") == {"automaticApproval": [AS_PUBLIC],
                                             "always": [AS_PUBLIC]}
    assert can_quote(ACTOR, "moderated") == {"automaticApproval": [ACTOR],
                                             "manualApproval": [AS_PUBLIC],
                                             "always": [ACTOR], "approvalRequired": [AS_PUBLIC]}
    assert can_quote(ACTOR, "nobody") == {"automaticApproval": [ACTOR], "always": [ACTOR]}
    assert interaction_policy(ACTOR, "nobody")["canQuote"] == can_quote(ACTOR, "nobody")
