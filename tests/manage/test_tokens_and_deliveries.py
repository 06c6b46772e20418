"""/admin/tokens (secrets shown once, never listed) and /admin/deliveries (the queue per host:
retry now, drop)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from federation.db.delivery import DeliveryJob, DeliveryState, HostHealth
from federation.db.ingest import ApiToken
from federation.db.social import FollowState
from federation.ingest.tokens import authenticate

from .conftest import MANUAL

HALTE = "halte-au-controle-numerique"


async def test_a_token_is_shown_once_and_works(site):
    csrf = await site.login()
    response = await site.post("/admin/tokens", {"csrf": csrf, "action": "create",
                                                 "name": "spip", "actors": HALTE})
    assert response.status == 200
    html = await response.text()
    secret = re.search(r'<code class="token-secret">([^<]+)</code>', html).group(1)
    token = await authenticate(f"Bearer {secret}")
    assert token.name == "spip" and token.actors == [HALTE]
    listing = await site.page("/admin/tokens")
    assert secret not in listing and token.token_hash not in listing
    assert f"{token.prefix}…" in listing and f'value="revoke:{token.id}"' in listing


async def test_bad_tokens_are_refused_and_revoked_ones_stop_working(site):
    csrf = await site.login()
    for form, status in (({"name": ""}, 400), ({"name": "x" * 101}, 400),
                         ({"name": "spip", "actors": "nobody"}, 404)):
        response = await site.post("/admin/tokens", {"csrf": csrf, "action": "create", **form})
        text = await response.text()
        assert response.status == status and 'class="error"' in text, form
        assert "token-secret" not in text
    assert not await ApiToken.exists()
    await site.post("/admin/tokens", {"csrf": csrf, "action": "create", "name": "spip"})
    again = await site.post("/admin/tokens", {"csrf": csrf, "action": "create", "name": "spip"})
    assert again.status == 409 and "token-secret" not in await again.text()
    token = await ApiToken.get(name="spip")
    for one, status in ((f"revoke:{token.id + 1}", 404), ("revoke:abc", 400), ("delete:1", 400)):
        assert (await site.post("/admin/tokens", {"csrf": csrf, "one": one})).status == status
    ask = await site.post("/admin/tokens", {"csrf": csrf, "one": f"revoke:{token.id}"})
    assert ask.status == 200 and 'name="confirm" value="yes"' in await ask.text()
    assert (await ApiToken.get(id=token.id)).revoked_at is None
    confirmed = {"csrf": csrf, "one": f"revoke:{token.id}", "confirm": "yes"}
    assert (await site.post("/admin/tokens", confirmed)).status == 303
    assert (await ApiToken.get(id=token.id)).revoked_at is not None
    assert (await site.post("/admin/tokens", confirmed)).status == 404


async def _failed_delivery(site, peer) -> DeliveryJob:
    """An Accept to a follower whose server is down: pending, failed once, retried later."""
    down = type(peer)(base="http://127.0.0.1:9")
    follower = await site.follower(down, "alice", of=MANUAL)
    csrf = await site.csrf()
    await site.post("/admin/followers", {"csrf": csrf, "actor": MANUAL,
                                         "one": f"approve:{follower.id}"})
    await site.deliver()
    job = await DeliveryJob.get()
    assert job.state == DeliveryState.PENDING and job.last_error
    assert job.next_attempt_at > datetime.now(UTC)
    return job


async def test_the_queue_per_host_and_retry_now(site, peer):
    await site.login()
    job = await _failed_delivery(site, peer)
    await HostHealth.filter(host=job.host).update(
        unavailable=True, set_aside_until=datetime.now(UTC) + timedelta(days=1))
    html = await site.page("/admin/deliveries")
    assert f'data-host="{job.host}"' in html and 'data-state="pending"' in html
    assert "mis de côté" in html
    csrf = await site.csrf()
    response = await site.post("/admin/deliveries", {"csrf": csrf, "one": f"retry:{job.host}"})
    assert response.status == 303
    job = await DeliveryJob.get(id=job.id)
    assert job.state == DeliveryState.PENDING and job.next_attempt_at <= datetime.now(UTC)
    assert not (await HostHealth.get(host=job.host)).unavailable


async def test_dropping_a_host_abandons_its_pending_deliveries(site, peer):
    await site.login()
    job = await _failed_delivery(site, peer)
    csrf = await site.csrf()
    ask = await site.post("/admin/deliveries", {"csrf": csrf, "one": f"drop:{job.host}"})
    assert ask.status == 200 and job.host in await ask.text()
    assert (await DeliveryJob.get(id=job.id)).state == DeliveryState.PENDING
    response = await site.post("/admin/deliveries", {"csrf": csrf, "one": f"drop:{job.host}",
                                                     "confirm": "yes"})
    assert response.status == 303
    job = await DeliveryJob.get(id=job.id)
    assert job.state == DeliveryState.ABANDONED and job.finished_at is not None
    html = await site.page("/admin/deliveries")
    assert 'data-state="abandoned"' in html


async def test_unknown_or_malformed_hosts(site):
    csrf = await site.login()
    for one, status in (("retry:nowhere.example", 404), ("drop:nowhere.example", 404),
                        ("retry:two words", 400), ("drop:" + "a" * 300, 400),
                        ("retry:", 400), ("resend:nowhere.example", 400)):
        response = await site.post("/admin/deliveries", {"csrf": csrf, "one": one})
        assert response.status == status, (one, await response.text())


async def test_followers_state_is_unchanged_by_queue_actions(site, peer):
    """Dropping the queued Accept does not undo the decision (the follower stays accepted)."""
    from federation.db.social import Follower

    await site.login()
    job = await _failed_delivery(site, peer)
    await site.post("/admin/deliveries", {"csrf": await site.csrf(), "one": f"drop:{job.host}",
                                          "confirm": "yes"})
    assert (await Follower.get()).state == FollowState.ACCEPTED
