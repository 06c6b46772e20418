"""What readers get from the publisher's Creates, Updates, notices and announces."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from federation.db.content import ContentObject, ObjectKind, OutboxActivity
from federation.db.delivery import FanoutJob
from federation.db.lifecycle import open_database
from federation.identity.directory import ActorDirectory
from federation.ingest.payloads import parse_item
from federation.publishing.items import content_hash
from federation.publishing.service import Publisher
from federation.settings import Settings
from federation.signing.keys import KeyVault
from tests.protocol import readers

NOON = datetime(2024, 10, 5, 12, tzinfo=UTC)


@pytest.fixture
async def directory(settings: Settings) -> AsyncIterator[ActorDirectory]:
    async with open_database(settings.effective_database_url):
        directory = ActorDirectory(settings, KeyVault.load_or_create(settings.data_dir))
        await directory.sync()
        yield directory


@pytest.fixture
def publisher(directory: ActorDirectory) -> Publisher:
    return Publisher(directory, clock=lambda: NOON)  # every call in the same second


def _event(**overrides: object):
    payload = {"type": "event", "actor": "halte-au-controle-numerique", "id": "e1",
               "title": "Débat", "published": "2022-05-29T10:00:00+02:00",
               "updated": "2022-05-30T10:00:00+02:00",
               "start": "2022-06-09T18:00:00", "end": "2022-06-09T20:00:00",
               "location": "la Cale, 16 rue Royet, 42000 Saint-Étienne"}
    payload.update(overrides)
    return parse_item(payload)


async def _sent(kind: str) -> list[dict]:
    return [a.document for a in await OutboxActivity.filter(type=kind).order_by("id")]


async def test_create_carries_no_updated(publisher: Publisher) -> None:
    """A Create with ``updated`` shows as edited at once on Mastodon: it has none."""
    await publisher.upsert(_event())
    [create] = await _sent("Create")
    assert "updated" not in create["object"]
    assert readers.mastodon_edited_at_on_create(create["object"]) is None


async def test_updated_strictly_increases_within_one_second(publisher: Publisher) -> None:
    """Two edits in the same second (and a site `updated` that did not move) still reach
    Mastodon: each Update's ``updated`` is later than the last one."""
    await publisher.upsert(_event())
    for title in ("Débat public", "Débat public et gratuit", "Débat !"):
        await publisher.upsert(_event(title=title))
    [create, *updates] = [row.document["object"] for row in
                          await OutboxActivity.all().order_by("id")
                          if row.type in ("Create", "Update")]
    stamps = [u["updated"] for u in updates]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3
    stored = create
    for update in updates:
        assert readers.mastodon_applies_edit(stored, update)
        stored = update


async def test_cancellation_is_an_edit_not_a_second_post(publisher: Publisher) -> None:
    """On Mastodon 4.5+ a cancellation, a new date or place is an edit (boosters are told):
    no notice Note duplicates it in timelines."""
    item = _event()
    await publisher.upsert(item)
    for changed in (replace(item, event=replace(item.event, status="CANCELLED")),
                    _event(start="2022-06-16T18:00:00", end="2022-06-16T20:00:00"),
                    _event(start="2022-06-16T18:00:00", end="2022-06-16T20:00:00",
                           location="Maison de quartier, 42000 Saint-Étienne")):
        before = (await ContentObject.get(kind=ObjectKind.EVENT)).document
        result = await publisher.upsert(changed)
        assert result.notice_uri is None
        after = (await ContentObject.get(kind=ObjectKind.EVENT)).document
        assert readers.mastodon_applies_edit(before, after)
    assert await ContentObject.filter(kind=ObjectKind.NOTE).count() == 0


async def test_body_only_correction_gets_a_threaded_notice(publisher: Publisher) -> None:
    """A correction Mastodon would not mark as an edit is told by a Note replying to the
    object; one that changes the title (or summary, media) is an edit already, and gets none."""
    item = _event()
    await publisher.upsert(item)
    body = replace(item, content_html="<p>Salle 2.</p>", correction="La salle a changé.")
    result = await publisher.upsert(body)
    assert result.notice_uri is not None
    note = (await ContentObject.get(uri=result.notice_uri)).document
    assert note["inReplyTo"] == result.object_uri
    visible = replace(body, name="Débat (salle 2)", correction="Salle 2, pas 1.")
    assert (await publisher.upsert(visible)).notice_uri is None


async def test_site_actor_announces_collectives_public_events(publisher: Publisher,
                                                              directory: ActorDirectory) -> None:
    """Instances that follow the site (Mobilizon's instance follows) list the collectives'
    events: the site actor boosts each new one; not articles, not history, not its own."""
    result = await publisher.upsert(_event())
    [announce] = await _sent("Announce")
    site = directory.site_actor
    assert announce["actor"] == site.uri and announce["object"] == result.object_uri
    jobs = await FanoutJob.all()
    assert {(j.audience or {}).get("followers_of") for j in jobs} == {
        "halte-au-controle-numerique", site.identifier}
    await publisher.upsert(_event(id="e2"), deliver=False)
    await publisher.upsert(parse_item({"type": "article", "actor": "halte-au-controle-numerique",
                                       "id": "a1", "title": "Article",
                                       "published": "2022-05-29T10:00:00+02:00"}))
    await publisher.upsert(_event(actor=site.identifier, id="e3"))
    assert len(await _sent("Announce")) == 1


def test_hash_of_items_without_online_url_is_unchanged() -> None:
    """The new ``online_url`` does not change the hash of items that have none (they would all
    be sent again as Updates); one that has it hashes differently."""
    payload = {"type": "event", "actor": "a", "id": "e1", "title": "Débat",
               "published": "2022-05-29T10:00:00+02:00", "start": "2022-06-09T18:00:00",
               "location": "la Cale, 16 rue Royet, 42000 Saint-Étienne"}
    item = parse_item(payload)  # its hash before online_url existed:
    assert content_hash(item) == \
        "98bf4e560460d0462397721deddf6c0d21c6084b7b1746b68b3b482607d4af5e"
    online = parse_item({**payload, "online_url": "https://visio.example/room"})
    assert content_hash(online) != content_hash(item)
