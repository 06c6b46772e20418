"""What peers read at our URLs: pinned posts, counts, replies, bylines, and JSON-LD of every
document we serve (a strict reader expands an embedded object as it expands it alone)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from federation.db.content import ContentObject
from federation.db.moderation import Interaction, InteractionKind, Reply, ReplyState
from federation.db.social import RemoteActor
from federation.ingest.tokens import create_token
from federation.protocol.jsonld import expand
from tests.protocol import readers

AP = {"Accept": "application/activity+json"}
ACTOR = "halte-au-controle-numerique"
BASE = "https://bridge.example"


async def _put(client: Any, kind: str, n: int, **extra: Any) -> dict[str, Any]:
    token = await create_token(f"t-{kind}-{n}-{uuid.uuid4().hex[:6]}")
    body = {"title": f"Titre <{n}>", "published": f"2024-10-0{n % 9 + 1}T10:00:00+02:00",
            "url": f"https://site.example/spip.php?article{n}",
            "content_html": f"<p>Texte {n}.</p>",
            "attachments": [{"url": "https://site.example/IMG/radio.mp3",
                             "media_type": "audio/mpeg"}], **extra}
    if kind == "events":
        body.update(start="2024-11-05T18:00:00", location="la Cale, 42000 Saint-Étienne",
                    category="causes", online_url="https://visio.example/r")
    response = await client.put(f"/api/v1/actors/{ACTOR}/{kind}/{n}", json=body,
                                headers={"Authorization": f"Bearer {token.secret}"})
    assert response.status in (200, 201), await response.text()
    return await response.json()


async def _get(client: Any, path: str) -> dict[str, Any]:
    response = await client.get(path.removeprefix(BASE), headers=AP)
    assert response.status == 200, path
    return await response.json()


async def test_pinned_posts_stay_pinned(client: Any) -> None:
    """Mastodon keeps featured items that are ids or Notes: ours are listed as ids."""
    created = [await _put(client, "articles", 1), await _put(client, "events", 2)]
    token = await create_token("pins")
    for kind, item in (("articles", 1), ("events", 2)):
        await client.put(f"/api/v1/actors/{ACTOR}/{kind}/{item}/pin",
                         headers={"Authorization": f"Bearer {token.secret}"})
    featured = await _get(client, f"/actors/{ACTOR}/featured")
    assert sorted(readers.mastodon_pinned(featured["orderedItems"])) == sorted(
        c["id"] for c in created)


async def test_counts_and_newest_replies_are_served(client: Any) -> None:
    """likes/shares embed live totalItems; replies' first page is newest first and holds more
    than 20, so a thread of 30 approved replies shows them all on Mastodon."""
    created = await _put(client, "articles", 1)
    row = await ContentObject.get(uri=created["id"])
    remote = await RemoteActor.create(uri="https://social.example/users/a", domain="social.example",
                                      inbox="https://social.example/users/a/inbox",
                                      fetched_at=datetime.now(UTC))
    start = datetime(2024, 10, 1, tzinfo=UTC)
    for n in range(30):
        await Reply.create(uri=f"https://social.example/notes/{n}", author=remote, target=row,
                           state=ReplyState.APPROVED, is_public=True,
                           published_at=start + timedelta(hours=n))
    await Interaction.create(kind=InteractionKind.LIKE, activity_uri="https://social.example/l1",
                             remote=remote, object_uri=created["id"])
    document = await _get(client, created["id"])
    status = readers.mastodon_status(document)
    assert status["favourites_count"] == 1 and status["reblogs_count"] == 0
    assert document["replies"]["totalItems"] == 30
    page = await _get(client, document["replies"]["first"])
    assert page["orderedItems"][0] == "https://social.example/notes/29"
    assert len(page["orderedItems"]) == 30


async def test_attribution_domains_name_the_sites_pages(client: Any) -> None:
    """The byline on link cards verifies: attributionDomains is the host of the site's pages."""
    actor = await _get(client, f"/actors/{ACTOR}")
    assert readers.mastodon_attribution_verifies(actor, "https://site.example/spip.php?article1")
    assert "bridge.example" not in actor["attributionDomains"]


def _without_context(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "@context"}


def _items(node: dict[str, Any]) -> list[dict[str, Any]]:
    key = "https://www.w3.org/ns/activitystreams#items"  # orderedItems is as:items, a @list
    values = node.get(key, [])
    if len(values) == 1 and "@list" in values[0]:
        return values[0]["@list"]
    return values


async def test_every_document_we_serve_expands_as_its_parts_alone(client: Any) -> None:
    """Outbox pages, featured, replies, likes, shares, objects and activities expand with our
    bundled contexts; an object or activity embedded in a collection page expands to the same
    node as the document served alone (a reader of the page keeps every term)."""
    article = await _put(client, "articles", 1)
    event = await _put(client, "events", 2)
    await _put(client, "events", 2, content_html="<p>Autre.</p>", correction="Texte corrigé.")
    outbox = await _get(client, f"/actors/{ACTOR}/outbox")
    page = await _get(client, outbox["first"])
    [page_node] = expand(page)
    embedded = _items(page_node)
    assert len(embedded) == len(page["orderedItems"]) >= 4
    for item, node in zip(page["orderedItems"], embedded, strict=True):
        alone = await _get(client, item["id"])
        assert expand(alone)[0] == node, item["type"]
        if isinstance(item.get("object"), dict):
            served = await _get(client, item["object"]["id"])
            assert "https://gotosocial.org/ns#interactionPolicy" in expand(served)[0]
    types = {item["object"]["type"] for item in page["orderedItems"]
             if isinstance(item.get("object"), dict)}
    assert types == {"Article", "Event", "Note"}
    for uri in (article["id"], event["id"]):
        document = await _get(client, uri)
        [node] = expand(document)
        assert "https://joinmobilizon.org/ns#joinMode" in node or document["type"] == "Article"
        for path in (f"{uri}/replies", f"{uri}/replies?page=1", f"{uri}/likes",
                     f"{uri}/shares"):
            assert expand(await _get(client, path))
    for path in (f"/actors/{ACTOR}/featured", f"/actors/{ACTOR}/outbox", outbox["first"],
                 f"/actors/{ACTOR}/followers", f"/actors/{ACTOR}/following"):
        assert expand(await _get(client, path))
