"""Objects, activities and collections at their ids: negotiation, visibility, counts, paging."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from federation.db.content import ContentObject
from federation.db.moderation import Interaction, InteractionKind, Reply, ReplyState
from federation.db.social import RemoteActor
from federation.ingest.tokens import create_token

AP = {"Accept": "application/activity+json"}
LD = {"Accept": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
ACTOR = "halte-au-controle-numerique"
BASE = "https://bridge.example"


async def _publish(client: Any, count: int = 1) -> list[dict[str, Any]]:
    token = await create_token(f"t{count}")
    results = []
    for n in range(count):
        body = {"title": f"Article {n}", "published": f"2024-10-0{n % 9 + 1}T10:00:00+02:00",
                "url": f"https://site.example/spip.php?article{n}",
                "content_html": f"<p>Texte {n}.</p>"}
        response = await client.put(f"/api/v1/actors/{ACTOR}/articles/{n}", json=body,
                                    headers={"Authorization": f"Bearer {token.secret}"})
        results.append(await response.json())
    return results


async def test_object_negotiates_json_and_browser_redirect(client: Any) -> None:
    """AP clients get JSON with Vary: Accept; a browser is sent to the site's page."""
    created = (await _publish(client))[0]
    path = created["id"].removeprefix(BASE)
    for headers in (AP, LD):
        response = await client.get(path, headers=headers)
        assert response.status == 200 and response.headers["Vary"] == "Accept"
        assert response.content_type == "application/activity+json"
        assert (await response.json())["id"] == created["id"]
    response = await client.get(path, headers=BROWSER, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "https://site.example/spip.php?article0"
    activity = await client.get(created["activity"].removeprefix(BASE), headers=AP)
    assert (await activity.json())["type"] == "Create"
    assert (await client.get("/objects/article/999", headers=AP)).status == 404
    assert (await client.get("/objects/unknown/1", headers=AP)).status == 404
    assert (await client.get("/activities/nope", headers=AP)).status == 404


async def test_replies_list_only_approved_public_ones(client: Any) -> None:
    """Pending, rejected and non-public replies appear nowhere; counts follow approved ones."""
    created = (await _publish(client))[0]
    row = await ContentObject.get(uri=created["id"])
    remote = await RemoteActor.create(uri="https://social.example/users/a", domain="social.example",
                                      inbox="https://social.example/users/a/inbox",
                                      fetched_at=datetime.now(UTC))
    for n, (state, public) in enumerate([(ReplyState.APPROVED, True), (ReplyState.PENDING, True),
                                         (ReplyState.REJECTED, True), (ReplyState.APPROVED, False)]):
        await Reply.create(uri=f"https://social.example/notes/{n}", author=remote, target=row,
                           state=state, is_public=public, published_at=datetime.now(UTC))
    path = created["id"].removeprefix(BASE)
    document = await (await client.get(path, headers=AP)).json()
    assert document["replies"]["totalItems"] == 1
    collection = await (await client.get(f"{path}/replies", headers=AP)).json()
    assert collection["totalItems"] == 1
    page = await (await client.get(f"{path}/replies?page=1", headers=AP)).json()
    assert page["orderedItems"] == ["https://social.example/notes/0"]

    await Interaction.create(kind=InteractionKind.LIKE, activity_uri="https://social.example/l1",
                             remote=remote, object_uri=created["id"])
    await Interaction.create(kind=InteractionKind.ANNOUNCE,
                             activity_uri="https://social.example/b1", remote=remote,
                             object_uri=created["id"])
    likes = await (await client.get(f"{path}/likes", headers=AP)).json()
    shares = await (await client.get(f"{path}/shares", headers=AP)).json()
    assert likes["totalItems"] == 1 and shares["totalItems"] == 1
    assert "orderedItems" not in likes and "items" not in likes


async def test_outbox_is_paged_newest_first_and_nodeinfo_counts(client: Any) -> None:
    """The outbox counts every public activity and pages them newest first; NodeInfo counts posts."""
    await _publish(client, 23)
    outbox = await (await client.get(f"/actors/{ACTOR}/outbox", headers=AP)).json()
    assert outbox["totalItems"] == 23 and outbox["last"].endswith("page=2")
    first = await (await client.get(f"/actors/{ACTOR}/outbox?page=1", headers=AP)).json()
    assert len(first["orderedItems"]) == 20 and first["next"].endswith("page=2")
    assert first["orderedItems"][0]["object"]["name"] == "Article 22"
    second = await (await client.get(f"/actors/{ACTOR}/outbox?page=2", headers=AP)).json()
    assert [a["object"]["name"] for a in second["orderedItems"]] == [
        "Article 2", "Article 1", "Article 0"]
    other = await (await client.get("/actors/changer-de-cap/outbox", headers=AP)).json()
    assert other["totalItems"] == 0

    nodeinfo = await (await client.get("/nodeinfo/2.1")).json()
    assert nodeinfo["usage"]["localPosts"] == 23
