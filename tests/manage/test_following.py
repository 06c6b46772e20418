"""/admin/following: follow a sister site (the Follow goes through the queue), subscribe to a
relay, change the policy, unfollow; bad handles and unknown ids refused, nothing written."""

from __future__ import annotations

from federation.db.content import OutboxActivity
from federation.db.social import Following, FollowState, SyndicationPolicy


async def test_following_by_url_queues_a_follow_and_lists_it(site, peer, peer_keys):
    site.trust(peer)
    sister = peer.actor("halte", peer_keys[0])
    csrf = await site.login()
    response = await site.post("/admin/following", {
        "csrf": csrf, "action": "follow", "target": sister.uri, "as": "site", "policy": "store"})
    assert response.status == 303, await response.text()
    row = await Following.get(target_uri=sister.uri)
    assert row.state == FollowState.PENDING and row.policy == SyndicationPolicy.STORE
    assert peer.received == []
    await site.deliver()
    assert [a["type"] for a in peer.received] == ["Follow"]
    assert peer.received[0]["object"] == sister.uri
    html = await site.page("/admin/following")
    assert f'value="unfollow:{row.id}"' in html and "en attente" in html


async def test_rejected_follows_are_shown_and_the_policy_changes(site, peer, peer_keys):
    sister = peer.actor("halte", peer_keys[0])
    row = await Following.create(actor_id=site.directory.site_actor.db_id, target_uri=sister.uri,
                                 state=FollowState.REJECTED, follow_activity_uri=f"{sister.uri}#f")
    csrf = await site.login()
    html = await site.page("/admin/following")
    assert "refusée" in html and f"following-{row.id}" in html
    response = await site.post("/admin/following", {"csrf": csrf, "one": f"policy:{row.id}",
                                                    f"policy-{row.id}": "announce"})
    assert response.status == 303
    assert (await Following.get(id=row.id)).policy == SyndicationPolicy.ANNOUNCE
    bad = await site.post("/admin/following", {"csrf": csrf, "one": f"policy:{row.id}",
                                               f"policy-{row.id}": "boost-everything"})
    assert bad.status == 400
    assert (await Following.get(id=row.id)).policy == SyndicationPolicy.ANNOUNCE
    assert not await OutboxActivity.exists()  # a policy change sends nothing


async def test_unfollowing_sends_an_undo_and_forgets_the_follow(site, peer, peer_keys):
    site.trust(peer)
    sister = peer.actor("halte", peer_keys[0])
    csrf = await site.login()
    await site.post("/admin/following", {"csrf": csrf, "action": "follow",
                                         "target": sister.uri, "policy": "review"})
    row = await Following.get(target_uri=sister.uri)
    ask = await site.post("/admin/following", {"csrf": csrf, "one": f"unfollow:{row.id}"})
    assert ask.status == 200 and 'name="confirm" value="yes"' in await ask.text()
    assert await Following.exists(id=row.id)
    response = await site.post("/admin/following", {"csrf": csrf, "one": f"unfollow:{row.id}",
                                                    "confirm": "yes"})
    assert response.status == 303
    assert not await Following.exists()
    await site.deliver()
    assert [a["type"] for a in peer.received] == ["Follow", "Undo"]


async def test_bad_targets_are_refused_with_the_reason(site, peer):
    """A malformed handle, an unreachable host, one of our own actors, an unknown policy or
    relay kind, a relay URL that is no URL: the page again with the reason, no row written."""
    csrf = await site.login()
    cases = [
        ({"action": "follow", "target": "not a handle"}, 400),
        ({"action": "follow", "target": "@@@"}, 400),
        ({"action": "follow", "target": "http://127.0.0.1:8080/actors/site"}, 400),
        ({"action": "follow", "target": f"{peer.base}/users/nobody"}, 502),
        ({"action": "follow", "target": f"{peer.base}/users/x", "policy": "boost"}, 400),
        ({"action": "follow", "target": f"{peer.base}/users/x", "as": "nobody"}, 404),
        ({"action": "relay", "url": "relay.example"}, 400),
        ({"action": "relay", "url": "https://relay.example/inbox", "style": "irc"}, 400),
        ({"action": "relay", "url": "https://relay.example/actor", "style": "mastodon"}, 400),
    ]
    for form, status in cases:
        response = await site.post("/admin/following", {"csrf": csrf, **form})
        text = await response.text()
        assert response.status == status, (form, text[:800])
        assert 'class="error"' in text, form
    assert not await Following.exists()
    assert not await OutboxActivity.exists()


async def test_a_mastodon_relay_is_subscribed_at_its_inbox(site, peer):
    site.trust(peer)
    inbox = f"{peer.base}/inbox"
    csrf = await site.login()
    response = await site.post("/admin/following", {"csrf": csrf, "action": "relay", "url": inbox,
                                                    "style": "", "policy": "review"})
    assert response.status == 303, await response.text()
    row = await Following.get(target_uri=inbox)
    assert row.is_relay
    await site.deliver()
    assert [a["type"] for a in peer.received] == ["Follow"]
    assert peer.received[0]["object"] == "https://www.w3.org/ns/activitystreams#Public"


async def test_unknown_follow_ids_are_404(site):
    csrf = await site.login()
    for one, status in (("unfollow:4242", 404), ("policy:4242", 404), ("unfollow:x", 400),
                        ("refollow:1", 400)):
        response = await site.post("/admin/following", {"csrf": csrf, "one": one,
                                                        "policy-4242": "review"})
        assert response.status == status, one
