"""Feed polling against real loopback servers: conditional GET, change detection, backoff."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from federation.db.actors import Actor
from federation.db.content import ContentObject, ObjectKind, OutboxActivity
from federation.db.delivery import FanoutJob
from federation.db.ingest import Feed, FeedKind
from federation.ingest.poller import FeedPoller, backoff
from federation.jobs.graph import Event
from federation.protocol.text import unstorable

from .conftest import Bridge, FeedServer, fixture_bytes

ACTOR = "halte-au-controle-numerique"


async def _feed(bridge: Bridge, server: FeedServer, kind: FeedKind) -> Feed:
    actor = await Actor.get(identifier=ACTOR)
    return await Feed.create(actor=actor, url=server.url, kind=kind, interval_seconds=600,
                             next_poll_at=bridge.clock.now)


def _poller(bridge: Bridge) -> FeedPoller:
    return FeedPoller(bridge.client, bridge.publisher, clock=bridge.clock)


async def test_first_poll_records_history_without_delivering(bridge: Bridge,
                                                             feed_server: FeedServer) -> None:
    """A new feed's entries land in the outbox, oldest first, but nothing is queued for delivery."""
    feed_server.body = fixture_bytes("spip.rss")
    await _feed(bridge, feed_server, FeedKind.RSS)
    reports = await _poller(bridge).run_once()
    assert reports[0].status == "ok" and reports[0].outcomes == {"created": 2}
    assert await FanoutJob.all().count() == 0
    activities = await OutboxActivity.all().order_by("id")
    assert [a.document["object"]["name"][:6] for a in activities] == ["Débat ", "Une ca"]

    article = await ContentObject.get(source_id="https://site.example/spip.php?article4521")
    document = article.document
    assert document["summary"].startswith("<p>Halte au contrôle numérique organise")
    assert "<script" not in document["content"] and "Ciblage des pauvres" in document["content"]
    assert [(a["type"], a["mediaType"]) for a in document["attachment"]] == [
        ("Audio", "audio/mpeg")]  # the PDF is no media: a link at the end of the text
    assert ".pdf" in document["content"].rsplit("<ul>", 1)[1]
    assert {t["name"] for t in document["tag"]} == {
        "#FlicageSurveillance", "#DroitsSociauxSanté", "#SaintÉtienne"}
    cantine = await ContentObject.get(source_id="https://site.example/spip.php?article4600")
    assert cantine.document["image"]["url"] == "https://site.example/IMG/jpg/cantine.jpg"


async def test_conditional_get_and_change_detection(bridge: Bridge,
                                                    feed_server: FeedServer) -> None:
    """304 and an unchanged body publish nothing; a changed entry becomes one delivered Update."""
    feed_server.body = fixture_bytes("spip.rss")
    feed = await _feed(bridge, feed_server, FeedKind.RSS)
    poller = _poller(bridge)
    await poller.run_once()
    assert await poller.run_once() == []  # not due yet

    bridge.clock.now += timedelta(minutes=11)
    report = (await poller.run_once())[0]
    assert report.status == "not-modified"
    assert feed_server.seen[-1]["If-None-Match"] == '"v1"'
    assert feed_server.seen[-1]["If-Modified-Since"] == "Sat, 04 Oct 2024 10:00:00 GMT"

    feed_server.etag = '"v2"'  # same body, new validator
    bridge.clock.now += timedelta(minutes=11)
    assert (await poller.run_once())[0].status == "same-body"

    feed_server.etag = '"v3"'
    feed_server.body = fixture_bytes("spip.rss").replace(b"Repas \xc3\xa0 prix libre",
                                                        b"Repas gratuit")
    bridge.clock.now += timedelta(minutes=11)
    report = (await poller.run_once())[0]
    assert report.outcomes == {"unchanged": 1, "updated": 1}
    assert [a.type for a in await OutboxActivity.all().order_by("id")] == [
        "Create", "Create", "Update"]
    assert await FanoutJob.all().count() == 1  # only the change is delivered
    await feed.refresh_from_db()
    assert feed.etag == '"v3"' and feed.failures == 0


async def test_failing_feed_backs_off_then_recovers(bridge: Bridge,
                                                    feed_server: FeedServer) -> None:
    """A 500 or garbage counts a failure and doubles the wait; success resets it."""
    feed_server.status = 500
    feed = await _feed(bridge, feed_server, FeedKind.RSS)
    poller = _poller(bridge)
    report = (await poller.run_once())[0]
    assert report.status == "failed" and "500" in report.error
    await feed.refresh_from_db()
    assert feed.failures == 1 and feed.next_poll_at == bridge.clock.now + timedelta(seconds=1200)

    feed_server.status = 200
    feed_server.body = b"<html>not a feed"
    bridge.clock.now = feed.next_poll_at
    assert (await poller.run_once())[0].status == "failed"
    await feed.refresh_from_db()
    assert feed.failures == 2 and "not a feed" in feed.last_error

    feed_server.body = fixture_bytes("feed.atom")
    bridge.clock.now = feed.next_poll_at
    assert (await poller.run_once())[0].status == "ok"
    await feed.refresh_from_db()
    assert feed.failures == 0 and feed.last_error == ""
    assert backoff(600, 30) == timedelta(days=1)


async def test_json_feed_and_atom(bridge: Bridge, feed_server: FeedServer) -> None:
    """JSON Feed and Atom entries become articles with summaries, tags and attachments."""
    feed_server.body = fixture_bytes("feed.json")
    feed_server.content_type = "application/feed+json"
    await _feed(bridge, feed_server, FeedKind.JSON)
    await _poller(bridge).run_once()
    article = await ContentObject.get(source_id="4521")
    assert article.document["summary"] == "<p>Jeudi 9 juin, débat à Saint-Étienne.</p>"
    assert ">L'affiche</a>" in article.document["content"]  # a document: linked, not attached
    assert article.document["published"] == "2022-05-29T08:00:00Z"


async def test_ical_feed_events_cancellation_and_note(bridge: Bridge,
                                                      feed_server: FeedServer) -> None:
    """A VEVENT becomes an Event with its zone and place; cancelling it sends an Update, which
    Mastodon shows as an edit (no Note beside it)."""
    feed_server.body = fixture_bytes("agenda.ics", DTSTAMP="20241004T100000Z",
                                     STATUS="CONFIRMED")
    feed_server.content_type = "text/calendar"
    await _feed(bridge, feed_server, FeedKind.ICAL)
    poller = _poller(bridge)
    await poller.run_once()
    event = await ContentObject.get(kind=ObjectKind.EVENT)
    document = event.document
    assert document["startTime"] == "2022-06-09T18:00:00+02:00"
    assert document["endTime"] == "2022-06-09T20:00:00+02:00"
    assert document["timezone"] == "Europe/Paris"
    assert document["location"]["address"] == {
        "type": "PostalAddress", "streetAddress": "16 rue Royet", "postalCode": "42000",
        "addressLocality": "Saint-Étienne"}
    assert document["location"]["latitude"] == 45.4397
    assert document["summary"] == ("<p>jeudi 9 juin 2022, 18:00–20:00 (Europe/Paris) — la Cale, "
                                   "16 rue Royet, Saint-Étienne</p>")

    # a new DTSTAMP alone is no change
    feed_server.etag = '"v2"'
    feed_server.body = fixture_bytes("agenda.ics", DTSTAMP="20241005T100000Z",
                                     STATUS="CONFIRMED")
    bridge.clock.now += timedelta(minutes=11)
    assert (await poller.run_once())[0].outcomes == {"unchanged": 1}

    feed_server.etag = '"v3"'
    feed_server.body = fixture_bytes("agenda.ics", DTSTAMP="20241006T100000Z",
                                     STATUS="CANCELLED")
    bridge.clock.now += timedelta(minutes=11)
    assert (await poller.run_once())[0].outcomes == {"updated": 1}
    await event.refresh_from_db()
    assert event.document["ical:status"] == "CANCELLED"
    assert event.document["summary"].startswith("<p>ANNULÉ — jeudi 9 juin 2022")
    assert not await ContentObject.exists(kind=ObjectKind.NOTE)
    types = [(a.type, a.document["object"]["type"]) for a in
             await OutboxActivity.all().order_by("id")]
    assert types == [("Create", "Event"), ("Update", "Event")]
    assert await FanoutJob.all().count() == 1  # the Update is delivered


async def test_a_bug_on_one_feed_does_not_stop_the_others(bridge: Bridge,
                                                          feed_server: FeedServer) -> None:
    """An unexpected error while reading one feed is that feed's failure (backoff, a message,
    the traceback in the log): the next feed of the same round is still polled."""

    class BuggyOnFirst(FeedPoller):
        def read(self, feed, identifier, body, media_type, now):  # type: ignore[no-untyped-def]
            if feed.id == first.id:
                raise RuntimeError("a bug")
            return super().read(feed, identifier, body, media_type, now)

    feed_server.body = fixture_bytes("feed.atom")
    feed_server.content_type = "application/atom+xml"
    first = await _feed(bridge, feed_server, FeedKind.ATOM)
    second = await Feed.create(actor=await Actor.get(identifier=ACTOR), kind=FeedKind.ATOM,
                               url=feed_server.url + "?other", interval_seconds=600,
                               next_poll_at=bridge.clock.now)
    poller = BuggyOnFirst(bridge.client, bridge.publisher, clock=bridge.clock)
    reports = await poller.run_once()
    assert [(r.feed_id, r.status) for r in reports] == [(first.id, "failed"), (second.id, "ok")]
    await first.refresh_from_db()
    assert first.failures == 1 and "internal error" in first.last_error
    assert first.next_poll_at == bridge.clock.now + timedelta(seconds=1200)


async def test_a_feed_imported_first_is_not_recorded_twice(bridge: Bridge, settings,
                                                           feed_server: FeedServer) -> None:
    """The natural order — `federation import` the history, then `feeds add` — finds the
    imported entries already there (same keys as the poller): no second object per entry."""
    from federation.cli.publishing import _parse_feed_bytes

    feed_server.body = fixture_bytes("spip.rss")
    for item in _parse_feed_bytes(feed_server.body, "rss", settings, ACTOR):
        await bridge.publisher.upsert(item, deliver=False)
    imported = await ContentObject.all().count()
    assert imported == 2
    await _feed(bridge, feed_server, FeedKind.RSS)
    [report] = await _poller(bridge).run_once()
    assert report.status == "ok" and report.outcomes == {"unchanged": 2}
    assert await ContentObject.all().count() == imported


RSS_WITH_UNSTORABLE_TEXT = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
    b"<item><title>Ca&#0;ntine &#xD800;solidaire\x00</title><guid>https://site.example/a&#0;1</guid>"
    b"<link>https://site.example/a1&#x0D;&#x0A;Set-Cookie: x</link>"
    b"<description>&lt;p&gt;Midi &amp;#xD800; &#55296;et soir&lt;/p&gt;</description>"
    b"<category>repas&#0;</category></item></channel></rss>")
ICAL_WITH_NUL = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:e\x001\r\n"
                 b"DTSTART:20301010T100000Z\r\nSUMMARY:Re\x00pas \xed\xa0\x80libre\r\n"
                 b"LOCATION:la C\x00ale\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
JSON_FEED_WITH_SURROGATE = (b'{"version": "https://jsonfeed.org/version/1.1", "title": "t", '
                            b'"items": [{"id": "j1", "title": "Repas \\ud800libre", '
                            b'"content_html": "<p>a\\udfffb</p>"}]}')


@pytest.mark.parametrize("kind,content_type,body", [
    (FeedKind.RSS, "application/rss+xml", RSS_WITH_UNSTORABLE_TEXT),
    (FeedKind.ICAL, "text/calendar", ICAL_WITH_NUL),
    (FeedKind.JSON, "application/feed+json", JSON_FEED_WITH_SURROGATE),
])
async def test_feed_text_no_database_holds_is_scrubbed(bridge: Bridge, feed_server: FeedServer,
                                                       kind, content_type, body) -> None:
    """NULs (``&#0;``, raw) are dropped and lone surrogates (``&#xD800;``, ``\\ud800``, bytes)
    become U+FFFD in what a feed gives; a link with CR/LF is dropped. The entry is published
    on both databases (PostgreSQL refused the NUL, feedparser crashed on the surrogate)."""
    feed_server.body, feed_server.content_type = body, content_type
    await _feed(bridge, feed_server, kind)
    reports = await _poller(bridge).run_once()
    assert reports[0].status == "ok", reports[0]
    row = await ContentObject.get()
    stored = json.dumps(row.document, ensure_ascii=False) + row.source_id
    assert "\x00" not in stored and unstorable(stored) is None
    assert "\ufffd" in stored or kind == FeedKind.ICAL
    assert "Cantine" in stored or "Repas" in stored
    if kind == FeedKind.RSS:
        assert row.url is None and row.source_id == "https://site.example/a1"


async def test_polling_by_hand_takes_the_feed_jobs_lease(bridge: Bridge,
                                                         feed_server: FeedServer) -> None:
    """`federation feeds poll` (run_once) polls a feed only under its job's lease: while a
    worker holds it, the feed is reported busy and not fetched (with or without --all); once
    the worker let go, it is polled, and its job is pending again, due at the feed's next poll,
    its lease released."""
    from federation.db.jobs import Job, JobState
    from federation.jobs import store
    from federation.jobs.kinds import FEED
    from federation.jobs.store import LeaseTokens

    feed_server.body = fixture_bytes("spip.rss")
    feed = await _feed(bridge, feed_server, FeedKind.RSS)
    poller = _poller(bridge)
    await poller.prepare(bridge.clock.now)
    worker = await store.claim(FEED.name, LeaseTokens("worker").next(), bridge.clock.now,
                               FEED.lease, 10)
    assert [job.ref for job in worker] == [str(feed.id)]

    for every in (False, True):
        reports = await poller.run_once(every=every)
        assert [(r.feed_id, r.status) for r in reports] == [(feed.id, "busy")]
    assert feed_server.seen == []  # never fetched while the worker holds it

    await store.finish(worker[0], FEED.graph, Event.RESCHEDULE, bridge.clock.now)
    reports = await poller.run_once()
    assert [(r.feed_id, r.status) for r in reports] == [(feed.id, "ok")]
    assert len(feed_server.seen) == 1
    job = await Job.get(kind=FEED.name, ref=str(feed.id))
    await feed.refresh_from_db()
    assert (job.state, job.lease_owner, job.attempts) == (JobState.PENDING, None, 0)
    assert job.next_attempt_at == feed.next_poll_at > bridge.clock.now

    # --all polls a feed that is not due, under the lease all the same
    reports = await poller.run_once(every=True)
    assert [(r.feed_id, r.status) for r in reports] == [(feed.id, "not-modified")]
    assert (await Job.get(id=job.id)).state == JobState.PENDING
