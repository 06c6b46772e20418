"""/admin/followers: pending follow requests approved or rejected (the Accept/Reject reaches the
follower through the delivery queue, signed), followers removed; unknown ids are 404."""

from __future__ import annotations

from federation.db.content import OutboxActivity
from federation.db.social import Follower, FollowState

from .conftest import MANUAL


async def test_pending_requests_are_listed_per_collective(site, peer):
    alice = await site.follower(peer, "alice")
    bob = await site.follower(peer, "bob", state=FollowState.ACCEPTED)
    other = await site.follower(peer, "carol", of="halte-au-controle-numerique",
                                state=FollowState.ACCEPTED)
    await site.login()
    html = await site.page("/admin/followers")  # the collective with pending requests first
    assert f'value="approve:{alice.id}"' in html and f'value="remove:{bob.id}"' in html
    assert "@alice@127.0.0.1" in html and f"follower-{other.id}" not in html
    html = await site.page("/admin/followers?actor=halte-au-controle-numerique")
    assert f'value="remove:{other.id}"' in html and f"follower-{alice.id}" not in html
    await site.page("/admin/followers?actor=nobody", status=404)


async def test_approving_a_request_delivers_an_accept(site, peer):
    """Approve → the row is accepted and an Accept of the follower's Follow, signed by the
    collective, reaches the follower's inbox once the delivery worker runs (not before)."""
    site.trust(peer)
    alice = await site.follower(peer, "alice")
    csrf = await site.login()
    response = await site.post("/admin/followers",
                               {"csrf": csrf, "actor": MANUAL, "one": f"approve:{alice.id}"})
    assert response.status == 303
    assert response.headers["Location"].startswith(f"/admin/followers?actor={MANUAL}")
    assert (await Follower.get(id=alice.id)).state == FollowState.ACCEPTED
    assert peer.received == []  # queued, not sent in the request
    await site.deliver()
    assert [a["type"] for a in peer.received] == ["Accept"]
    accept = peer.received[0]
    assert accept["actor"] == site.directory.get(MANUAL).uri
    assert accept["object"]["id"] == alice.follow_activity_uri
    assert peer.refused == []


async def test_rejecting_a_request_delivers_a_reject(site, peer):
    site.trust(peer)
    alice = await site.follower(peer, "alice")
    csrf = await site.login()
    await site.post("/admin/followers", {"csrf": csrf, "actor": MANUAL, "one": f"reject:{alice.id}"})
    assert (await Follower.get(id=alice.id)).state == FollowState.REJECTED
    await site.deliver()
    assert [a["type"] for a in peer.received] == ["Reject"]


async def test_removing_a_follower_sends_a_reject_and_forgets_it(site, peer):
    site.trust(peer)
    bob = await site.follower(peer, "bob", state=FollowState.ACCEPTED)
    csrf = await site.login()
    ask = await site.post("/admin/followers",
                          {"csrf": csrf, "actor": MANUAL, "one": f"remove:{bob.id}"})
    assert ask.status == 200  # a confirmation page, nothing done yet
    page = await ask.text()
    assert 'name="confirm" value="yes"' in page and "@bob@127.0.0.1" in page
    assert f'value="remove:{bob.id}"' in page and f'name="actor" value="{MANUAL}"' in page
    assert await Follower.exists(id=bob.id) and not await OutboxActivity.exists()
    response = await site.post("/admin/followers", {"csrf": csrf, "actor": MANUAL,
                                                    "one": f"remove:{bob.id}", "confirm": "yes"})
    assert response.status == 303
    assert not await Follower.exists(id=bob.id)
    await site.deliver()
    assert [a["type"] for a in peer.received] == ["Reject"]


async def test_unknown_or_foreign_follower_ids_are_404_and_change_nothing(site, peer):
    """A row id of another collective's follower, an unknown id or actor: 404; a non-number:
    400; an unknown action: 400. No answer is queued."""
    other = await site.follower(peer, "carol", of="halte-au-controle-numerique")
    csrf = await site.login()
    for form, status in (({"actor": MANUAL, "one": f"approve:{other.id}"}, 404),
                         ({"actor": MANUAL, "one": "approve:999999"}, 404),
                         ({"actor": MANUAL, "one": "approve:99999999999999999999"}, 400),
                         ({"actor": "nobody", "one": f"approve:{other.id}"}, 404),
                         ({"actor": MANUAL, "one": "approve:x"}, 400),
                         ({"actor": MANUAL, "one": f"block:{other.id}"}, 400),
                         ({"actor": MANUAL}, 400)):
        response = await site.post("/admin/followers", {"csrf": csrf, **form})
        assert response.status == status, (form, await response.text())
    assert (await Follower.get(id=other.id)).state == FollowState.PENDING
    assert not await OutboxActivity.exists()


async def test_followers_are_paged(site, peer, monkeypatch):
    """Followers come by pages (oldest first), the next page linked; the count is the total."""
    from federation.web.manage import pages

    monkeypatch.setattr(pages, "LIMIT", 2)
    rows = [await site.follower(peer, name, state=FollowState.ACCEPTED)
            for name in ("ann", "ben", "cat")]
    await site.login()
    html = await site.page(f"/admin/followers?actor={MANUAL}")
    assert f"follower-{rows[0].id}" in html and f"follower-{rows[1].id}" in html
    assert f"follower-{rows[2].id}" not in html and '<span class="count">3</span>' in html
    assert f"cursor={rows[1].id}" in html
    html = await site.page(f"/admin/followers?actor={MANUAL}&cursor={rows[1].id}")
    assert f"follower-{rows[2].id}" in html and f"follower-{rows[0].id}" not in html
    assert 'class="more"' not in html
