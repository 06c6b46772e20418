"""Checklist items 1–12: every signature refusal is a 401/403 that stores and fetches nothing."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from federation.db.moderation import Reply
from federation.db.social import Block, BlockKind, RemoteActor
from federation.signing.cavage import sign_request
from federation.signing.digests import sha256_digest_header
from federation.signing.rfc9421 import sign_request_rfc9421

from .conftest import BRIDGE, create, note, nothing_stored, stored

URL = BRIDGE + "/inbox"


def body_of(activity) -> bytes:
    return json.dumps(activity).encode()


def hand_signed(signer, body: bytes, covered: list[str], *, target: str = "post /inbox",
                algorithm: str = "rsa-sha256", date: datetime | None = None, extra: str = "",
                created: int | None = None, expires: int | None = None) -> dict[str, str]:
    """A cavage Signature over ``covered`` built by hand, to craft refused variants."""
    headers = {"Host": "bridge.example", "Digest": sha256_digest_header(body),
               "Date": (date or datetime.now(UTC)).strftime("%a, %d %b %Y %H:%M:%S GMT")}
    lines = []
    for name in covered:
        if name == "(request-target)":
            lines.append(f"(request-target): {target}")
        elif name == "(created)":
            lines.append(f"(created): {created}")
        elif name == "(expires)":
            lines.append(f"(expires): {expires}")
        else:
            lines.append(f"{name}: {headers[name.title()]}")
    signature = signer.key.sign("\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
    times = (f",created={created}" if created else "") + (f",expires={expires}" if expires else "")
    headers["Signature"] = (f'keyId="{signer.key_id}",algorithm="{algorithm}",'
                            f'headers="{" ".join(covered)}"{times},'
                            f'signature="{base64.b64encode(signature).decode()}"{extra}')
    return headers


async def refused(bridge, peer, activity, status=401, *, fetches=0, **post):
    response = await bridge.post(activity, **post)
    assert response.status == status, await response.text()
    assert await nothing_stored(), await stored()
    assert len(peer.gets) == fetches, peer.gets
    return response


async def test_unsigned_post_is_401(bridge, peer, alice):
    """(1) An unsigned POST to either inbox is refused, nothing fetched or stored."""
    await refused(bridge, peer, create(alice, note(alice)))
    await refused(bridge, peer, create(alice, note(alice)), path="/actors/site/inbox")


async def test_signature_by_another_actor_is_401(bridge, peer, alice, peer_keys):
    """(2) A valid signature by E on an activity whose actor is V is refused; V is never fetched."""
    victim = peer.actor("victim", peer_keys[1])
    await bridge.article()
    response = await bridge.post(create(victim, note(victim)), alice)
    assert response.status == 401
    assert await Reply.all().count() == 0 and await nothing_stored()
    assert peer.count("/users/victim") == 0


async def test_key_document_owner_claim_is_not_enough(bridge, peer, alice, peer_keys):
    """(2, principle 2) A key document claiming V as owner, not listed by V, is refused."""
    victim = peer.actor("victim", peer_keys[1])
    key_uri = peer.serve("/keys/1", {"id": peer.base + "/keys/1", "owner": victim.uri,
                                     "publicKeyPem": peer.documents["/users/alice"]["publicKey"]["publicKeyPem"]})
    await refused(bridge, peer, create(victim, note(victim)), fetches=2, signer=alice, key_id=key_uri)


@pytest.mark.parametrize("listed", [
    {"publicKey": {"id": "{uri}#main-key", "owner": "{uri}", "publicKeyPem": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}},
    {"publicKey": None, "assertionMethod": [{"id": "{uri}#main-key", "type": "Multikey", "controller": "{uri}", "publicKeyMultibase": "z!!"}]},
], ids=["bad-pem", "bad-multikey"])
async def test_unreadable_listed_key_is_401_not_500(bridge, peer, peer_keys, listed):
    """An actor whose document lists the signing key in an unreadable form (broken PEM or
    multibase) is refused as an unavailable key (it used to be a 500)."""
    signer = peer.actor("broken", peer_keys[1])
    document = peer.documents["/users/broken"]
    document.update(json.loads(json.dumps(listed).replace("{uri}", signer.uri)))
    response = await refused(bridge, peer, create(signer, note(signer)), signer=signer, fetches=1)
    assert "key" in (await response.json())["error"]


async def test_body_changed_after_signing_is_401(bridge, peer, alice):
    """(3) A body changed after signing (Digest mismatch) is refused before any key fetch."""
    activity = create(alice, note(alice))
    headers = sign_request("POST", URL, {}, body_of(activity), alice.key_id, alice.key)
    tampered = dict(activity, cc=["https://elsewhere.example/"])
    await refused(bridge, peer, tampered, headers={**headers, "Host": "bridge.example"})


@pytest.mark.parametrize("digest", ["MD5=XrY7u+Ae7tCTyyK7j1rNww==", "SHA-1=AAAA", "unknown"])
async def test_digest_with_unknown_algorithm_is_401(bridge, peer, alice, digest):
    """(3) A Digest naming only unknown algorithms (or malformed) is refused."""
    activity = create(alice, note(alice))
    headers = sign_request("POST", URL, {"Digest": digest}, body_of(activity), alice.key_id, alice.key)
    await refused(bridge, peer, activity, headers={**headers, "Digest": digest})


async def test_content_digest_mismatch_is_401(bridge, peer, alice):
    """(3) RFC 9421: a Content-Digest that does not match the body is refused."""
    activity = create(alice, note(alice))
    headers = sign_request_rfc9421("POST", URL, {}, b"{}", alice.key_id, alice.key)
    await refused(bridge, peer, activity, headers=headers)


@pytest.mark.parametrize("covered", [
    ["(request-target)", "host", "date"],               # digest not signed
    ["(request-target)", "date", "digest"],             # host not signed
    ["(request-target)", "host", "digest"],             # neither date nor (created)
    ["host", "date", "digest"],                         # request target not signed
])
async def test_required_headers_not_signed_is_401(bridge, peer, alice, covered):
    """(4) A POST whose signature omits digest, host, date/(created) or the target is refused."""
    activity = create(alice, note(alice))
    await refused(bridge, peer, activity, headers=hand_signed(alice, body_of(activity), covered))


async def test_signed_host_not_ours_is_401(bridge, peer, alice):
    """(5) A request signed for another host is refused (cavage and RFC 9421), nothing fetched."""
    activity = create(alice, note(alice))
    other = "https://other.example/inbox"
    headers = sign_request("POST", other, {}, body_of(activity), alice.key_id, alice.key)
    await refused(bridge, peer, activity, headers=headers)
    headers = {"Host": "other.example",
               **sign_request_rfc9421("POST", other, {}, body_of(activity), alice.key_id, alice.key)}
    await refused(bridge, peer, activity, headers=headers)


@pytest.mark.parametrize("target", ["get /inbox", "post /actors/site/inbox", "post /inbox?page=2"])
async def test_request_target_mismatch_is_401(bridge, peer, alice, target):
    """(6) A signature over another method, path or query does not verify (key fetched, nothing stored)."""
    activity = create(alice, note(alice))
    headers = hand_signed(alice, body_of(activity), ["(request-target)", "host", "date", "digest"],
                          target=target)
    response = await bridge.post(activity, headers=headers, path="/inbox?page=1")
    assert response.status == 401
    assert await nothing_stored()
    assert peer.count("/users/alice") <= 1


@pytest.mark.parametrize("offset", [timedelta(hours=-2), timedelta(hours=2)])
async def test_date_outside_window_is_401(bridge, peer, alice, offset):
    """(7) A Date two hours old or two hours ahead is refused, nothing fetched."""
    activity = create(alice, note(alice))
    headers = sign_request("POST", URL, {}, body_of(activity), alice.key_id, alice.key,
                           now=datetime.now(UTC) + offset)
    await refused(bridge, peer, activity, headers=headers)


async def test_expired_signature_is_401(bridge, peer, alice):
    """(7) An (expires) in the past is refused; so is an RFC 9421 created two hours old."""
    activity = create(alice, note(alice))
    now = int(datetime.now(UTC).timestamp())
    headers = hand_signed(alice, body_of(activity),
                          ["(request-target)", "host", "(created)", "(expires)", "digest"],
                          algorithm="hs2019", created=now - 60, expires=now - 30)
    await refused(bridge, peer, activity, headers=headers)
    old = datetime.now(UTC) - timedelta(hours=2)
    headers = sign_request_rfc9421("POST", URL, {}, body_of(activity), alice.key_id, alice.key, created=old)
    await refused(bridge, peer, activity, headers=headers)


@pytest.mark.parametrize("signature", [
    "garbage",
    'keyId="a",keyId="b",headers="(request-target) host date digest",signature="AAAA"',
    'keyId="' + "k" * 5000 + '",signature="AAAA"',
    'keyId="https://x.example/k",headers="(request-target) host date digest",signature="not base64!"',
    'keyId="https://x.example/k",algorithm="hmac-sha256",headers="(request-target) host date digest",signature="AAAA"',
])
async def test_malformed_signature_header_is_401(bridge, peer, alice, signature):
    """(8) Garbage, duplicated, oversized or non-base64 Signature parameters are refused."""
    activity = create(alice, note(alice))
    headers = sign_request("POST", URL, {}, body_of(activity), alice.key_id, alice.key)
    await refused(bridge, peer, activity, headers={**headers, "Signature": signature})


async def test_rotated_key_is_refetched_once(bridge, peer, alice, peer_keys):
    """(10) After a key rotation one refetch succeeds; a second failure is a 401 without more fetches."""
    await bridge.article()
    assert (await bridge.post(create(alice, note(alice, 1), 1), alice)).status == 202
    rotated = peer.actor("alice", peer_keys[2])
    assert (await bridge.post(create(rotated, note(rotated, 2), 2), rotated)).status == 202
    assert peer.count("/users/alice") == 2
    stranger = type(alice)(alice.uri, peer_keys[3])  # a key alice does not list
    before = await stored()
    response = await bridge.post(create(stranger, note(stranger, 3), 3), stranger)
    assert response.status == 401
    assert await stored() == before
    assert peer.count("/users/alice") == 2  # the refetch budget is spent: no third fetch


async def test_signer_on_blocked_domain_is_403_without_fetch(bridge, peer, alice):
    """(11) A signer on a blocked domain (a moderator's Block row) is refused before any fetch."""
    await Block.create(kind=BlockKind.DOMAIN, value="127.0.0.1")
    await refused(bridge, peer, create(alice, note(alice)), status=403, signer=alice)
    assert await Block.all().count() == 1


async def test_signer_on_configured_blocked_domain_is_403(database_url, make_settings,
                                                          aiohttp_client, peer, alice):
    """(11) Domains blocked in the configuration are refused the same way, subdomains included."""
    from federation.app import create_app

    from .conftest import Bridge

    settings = make_settings(database_url, allow_loopback_fetch=True, blocked_domains=["0.1"])
    blocked = Bridge(await aiohttp_client(create_app(settings)), None)
    await refused(blocked, peer, create(alice, note(alice)), status=403, signer=alice)


@pytest.mark.parametrize("drop", ["created", "@method", "@target-uri", "content-digest"])
async def test_rfc9421_missing_component_is_401(bridge, peer, alice, drop):
    """(12) RFC 9421 without created, @method, @target-uri or content-digest is refused."""
    activity = create(alice, note(alice))
    covered = tuple(c for c in ("@method", "@target-uri", "content-digest") if c != drop)
    headers = sign_request_rfc9421("POST", URL, {}, body_of(activity), alice.key_id, alice.key,
                                   covered=covered, created=False if drop == "created" else None)
    await refused(bridge, peer, activity, headers={"Host": "bridge.example", **headers})


async def test_valid_rfc9421_request_is_accepted(bridge, peer, peer_keys):
    """(12) A valid RFC 9421 request (WordPress style: rsa-v1_5-sha256, Content-Digest) is accepted."""
    bob = peer.actor("bob", peer_keys[1])
    await bridge.article()
    response = await bridge.post(create(bob, note(bob)), bob, scheme="rfc9421")
    assert response.status == 202
    assert await Reply.all().count() == 1


async def test_made_up_key_id_on_a_victim_never_blocks_the_victim(bridge, peer, alice):
    """(38) Requests signed with VICTIM#nope are 401 and leave the victim's real key working."""
    await bridge.article()
    for number in range(3):
        response = await bridge.post(create(alice, note(alice, number), number), alice,
                                     key_id=alice.uri + "#nope")
        assert response.status == 401
    assert await nothing_stored()
    response = await bridge.post(create(alice, note(alice, 9), 9), alice)
    assert response.status == 202, await response.text()
    assert await Reply.all().count() == 1


async def test_actor_listing_a_victims_key_id_does_not_replace_it(bridge, make_peer, peer, alice,
                                                                  peer_keys):
    """(38) An attacker whose actor lists a key under the victim's key id: the victim's key is
    neither replaced nor shadowed; the victim's next request verifies with one fetch."""
    from federation.remote.actors import DatabaseKeyCache

    other = await make_peer()
    mallory = other.actor("mallory", peer_keys[1])
    forged = {"id": alice.key_id, "owner": mallory.uri,
              "publicKeyPem": other.documents["/users/mallory"]["publicKey"]["publicKeyPem"]}
    other.documents["/users/mallory"]["publicKey"] = [forged, other.documents["/users/mallory"]["publicKey"]]
    await bridge.article()
    assert (await bridge.post(create(mallory, note(mallory)), mallory)).status == 202
    assert await DatabaseKeyCache().get(alice.key_id) is None
    assert (await RemoteActor.get(uri=mallory.uri)).key_id == mallory.key_id
    response = await bridge.post(create(alice, note(alice, 2), 2), alice)
    assert response.status == 202, await response.text()
    assert peer.count("/users/alice") == 1
    assert await Reply.all().count() == 2
