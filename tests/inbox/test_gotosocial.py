"""Issue 15: a GoToSocial user follows a collective and replies, end to end, in GoToSocial's shapes.

GoToSocial (0.20/0.21, read in its source: ``internal/typeutils`` ``AccountToASMinimal``,
``internal/transport/signing.go``, go-fed/httpsig ``setSignatureHeader``) signs with
``keyId="…/users/x/main-key"``, ``algorithm="hs2019"``, ``headers="(request-target) host date
digest"`` and serves at that key id a stub whose ``id`` is the actor (no ``inbox``): the key must
be taken from the owner's actor document, which lists it. go-fed serialises a one-element
``to``/``cc`` as a bare string.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from federation.db.moderation import Reply, ReplyState
from federation.db.social import Follower, FollowState
from federation.moderation.web.keys import MODERATION
from federation.signing.digests import sha256_digest_header
from federation.signing.keys import public_key_to_pem

from .conftest import ARTICLE, AS_JSON, HALTE, PUBLIC, Peer, nothing_stored
from .test_follows import deliver_all, trust_bridge

SECURITY_V1 = "https://w3id.org/security/v1"
#: GoToSocial has no shared inbox: it delivers to the personal inbox.
HALTE_INBOX = "/actors/halte-au-controle-numerique/inbox"
AS = "https://www.w3.org/ns/activitystreams"


class GoToSocialAccount:
    """A GoToSocial account on a peer: its documents, and requests signed as GoToSocial signs."""

    def __init__(self, peer: Peer, name: str, key: Any) -> None:
        self.peer, self.name, self.key = peer, name, key
        self.uri = f"{peer.base}/users/{name}"
        self.key_id = f"{self.uri}/main-key"
        public_key = {"id": self.key_id, "owner": self.uri, "publicKeyPem": public_key_to_pem(key)}
        peer.documents[f"/users/{name}"] = {  # AccountToAS
            "@context": [SECURITY_V1, AS, {"discoverable": "toot:discoverable",
                                           "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
                                           "toot": "http://joinmastodon.org/ns#"}],
            "discoverable": True, "featured": f"{self.uri}/collections/featured",
            "followers": f"{self.uri}/followers", "following": f"{self.uri}/following",
            "id": self.uri, "inbox": f"{self.uri}/inbox", "manuallyApprovesFollowers": False,
            "name": name.title(), "outbox": f"{self.uri}/outbox", "preferredUsername": name,
            "publicKey": public_key, "summary": "", "tag": [], "type": "Person",
            "url": f"{peer.base}/@{name}",
        }
        peer.documents[f"/users/{name}/main-key"] = {  # AccountToASMinimal, served at the key id
            "@context": [SECURITY_V1, AS], "id": self.uri, "preferredUsername": name,
            "publicKey": public_key, "type": "Person",
        }

    def signed(self, path: str, body: bytes) -> dict[str, str]:
        """Headers as go-fed/httpsig writes them for GoToSocial's POST signer."""
        headers = {"Host": "bridge.example", "Digest": sha256_digest_header(body),
                   "Date": datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")}
        signing_string = "\n".join([f"(request-target): post {path}", "host: bridge.example",
                                    f"date: {headers['Date']}", f"digest: {headers['Digest']}"])
        signature = self.key.sign(signing_string.encode(), padding.PKCS1v15(), hashes.SHA256())
        headers["Signature"] = (f'keyId="{self.key_id}",algorithm="hs2019",'
                                f'headers="(request-target) host date digest",'
                                f'signature="{base64.b64encode(signature).decode()}"')
        return headers

    async def post(self, bridge: Any, activity: dict[str, Any], path: str = "/inbox") -> Any:
        body = json.dumps(activity).encode()
        headers = {"Content-Type": AS_JSON, **self.signed(path, body)}
        return await bridge.client.post(path, data=body, headers=headers)

    def follow(self, target: str) -> dict[str, Any]:
        return {"@context": AS, "actor": self.uri, "id": f"{self.uri}/follow/01J9Z3Q4W1FOLLOW",
                "object": target, "type": "Follow"}

    def reply(self, in_reply_to: str, mentioned: str) -> dict[str, Any]:
        """A public reply (StatusToAS wrapped in a Create): ``to`` Public, ``cc`` followers and
        the replied-to account, a Mention tag."""
        status = f"{self.uri}/statuses/01J9Z3Q4W1REPLY"
        note = {
            "attachment": [], "attributedTo": self.uri,
            "cc": [f"{self.uri}/followers", mentioned],
            "content": "<p>Merci pour le compte rendu du débat</p>",
            "contentMap": {"fr": "<p>Merci pour le compte rendu du débat</p>"},
            "id": status, "inReplyTo": in_reply_to, "published": "2026-05-01T12:00:00Z",
            "replies": {"first": {"id": f"{status}/replies?page=true", "next": f"{status}/replies?only_other_accounts=false&page=true",
                                  "partOf": f"{status}/replies", "type": "CollectionPage"},
                        "id": f"{status}/replies", "type": "Collection"},
            "sensitive": False, "summary": "",
            "tag": {"href": mentioned, "name": "@halteaucontrolenumerique@bridge.example", "type": "Mention"},
            "to": PUBLIC, "type": "Note", "url": f"{self.peer.base}/@{self.name}/statuses/01J9Z3Q4W1REPLY",
        }
        return {"@context": ["https://gotosocial.org/ns", AS], "actor": self.uri,
                "cc": [f"{self.uri}/followers", mentioned], "id": f"{status}/activity",
                "object": note, "published": "2026-05-01T12:00:00Z", "to": PUBLIC, "type": "Create"}


async def test_gotosocial_user_follows_replies_and_gets_the_approval(bridge, peer, peer_keys):
    """A GoToSocial user follows a collective (Accept received, verified), replies (pending in the
    queue), a moderator approves, and GoToSocial receives the Accept signed by us."""
    trust_bridge(bridge, peer)
    gts = GoToSocialAccount(peer, "x", peer_keys[0])
    await bridge.article()

    response = await gts.post(bridge, gts.follow(HALTE), path=HALTE_INBOX)
    assert response.status == 202, await response.text()
    follower = await Follower.get().prefetch_related("remote")
    assert follower.state == FollowState.ACCEPTED and follower.remote.uri == gts.uri
    assert peer.gets == ["/users/x/main-key", "/users/x"]  # the stub, then its owner
    await deliver_all(bridge)
    [accept_follow] = peer.received
    assert accept_follow["type"] == "Accept" and accept_follow["actor"] == HALTE
    assert accept_follow["object"]["id"] == f"{gts.uri}/follow/01J9Z3Q4W1FOLLOW"

    response = await gts.post(bridge, gts.reply(ARTICLE, HALTE), path=HALTE_INBOX)
    assert response.status == 202, await response.text()
    [reply] = await Reply.all()
    assert reply.state == ReplyState.PENDING and reply.uri == f"{gts.uri}/statuses/01J9Z3Q4W1REPLY"
    assert peer.gets == ["/users/x/main-key", "/users/x"]  # the key is cached: no fetch again

    await bridge.app[MODERATION].approve(reply.id, "camille")
    await deliver_all(bridge)
    assert peer.refused == []
    accept_reply = peer.received[-1]
    await reply.refresh_from_db()
    assert accept_reply["type"] == "Accept" and accept_reply["actor"] == HALTE
    assert accept_reply["object"] == reply.uri and accept_reply["target"] == ARTICLE
    assert accept_reply["result"] == reply.authorization_uri


async def test_gotosocial_stub_alone_is_not_enough(bridge, peer, peer_keys):
    """A stub at the key id whose owner does not list the key: 401, nothing stored."""
    gts = GoToSocialAccount(peer, "x", peer_keys[0])
    peer.documents["/users/x"]["publicKey"] = {"id": gts.uri + "#main-key", "owner": gts.uri,
                                               "publicKeyPem": public_key_to_pem(peer_keys[0])}
    response = await gts.post(bridge, gts.follow(HALTE))
    assert response.status == 401
    assert await nothing_stored()
