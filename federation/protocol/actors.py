"""Actor documents of our collectives and of the site actor (pure functions).

The shape follows what Mastodon, GoToSocial and Fedify expect (see
``shared/reference/activitypub-shapes.md``): RSA ``publicKey`` for HTTP signatures, an Ed25519
Multikey in ``assertionMethod`` (FEP-521a), profile fields as ``PropertyValue``,
``attributionDomains``, and the JSON-LD contexts that strict processors need.
"""

from __future__ import annotations

import html
import mimetypes
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from federation.protocol.jsonld import AS2_CONTEXT, MULTIKEY_CONTEXT, SECURITY_CONTEXT
from federation.protocol.paths import LocalURIs
from federation.protocol.uris import is_http_url

AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"

ACTOR_CONTEXT: list[Any] = [
    AS2_CONTEXT,
    SECURITY_CONTEXT,
    MULTIKEY_CONTEXT,
    {
        "toot": "http://joinmastodon.org/ns#",
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "discoverable": "toot:discoverable",
        "indexable": "toot:indexable",
        "featured": {"@id": "toot:featured", "@type": "@id"},
        "attributionDomains": {"@id": "toot:attributionDomains", "@type": "@id"},
        # FEP-521a: neither security/v1 nor multikey/v1 defines the term (did/v1 does, but is
        # @protected and redefines security/v1 terms); without it JSON-LD processors drop it.
        "assertionMethod": {"@id": "https://w3id.org/security#assertionMethod",
                            "@type": "@id", "@container": "@set"},
    },
]


@dataclass(frozen=True)
class ProfileFieldView:
    name: str
    value: str


@dataclass(frozen=True)
class ActorView:
    """Everything an actor document needs, gathered from the settings and the database."""

    identifier: str
    username: str
    type: str
    name: str
    summary_html: str
    url: str | None
    icon_url: str | None
    header_url: str | None
    fields: tuple[ProfileFieldView, ...]
    manually_approves_followers: bool
    discoverable: bool
    indexable: bool
    published_at: datetime
    rsa_public_pem: str
    ed25519_multibase: str | None
    #: Hosts of the site's pages (not the bridge's): Mastodon's byline on their link cards.
    site_domains: tuple[str, ...]


def _image(url: str) -> dict[str, str]:
    media_type, _ = mimetypes.guess_type(urlsplit(url).path)
    image = {"type": "Image", "url": url}
    if media_type:
        image["mediaType"] = media_type
    return image


def profile_field_html(value: str) -> str:
    """A profile field value: a URL becomes an ``<a rel="me">`` link, text is escaped."""
    if is_http_url(value):
        parts = urlsplit(value)
        shown = html.escape(parts.netloc + parts.path.rstrip("/"))
        return (
            f'<a href="{html.escape(value, quote=True)}" rel="me nofollow noopener noreferrer" '
            f'target="_blank">{shown}</a>'
        )
    return html.escape(value)


def iso(moment: datetime) -> str:
    """An ISO 8601 UTC timestamp with a ``Z``, as peers expect (naive times are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plain_text_to_html(text: str) -> str:
    """Plain text (paragraphs separated by blank lines) as escaped HTML paragraphs."""
    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )


def build_actor(view: ActorView, uris: LocalURIs) -> dict[str, Any]:
    """The ActivityPub document of a local actor."""
    actor_uri = uris.actor(view.identifier)
    document: dict[str, Any] = {
        "@context": ACTOR_CONTEXT,
        "id": actor_uri,
        "type": view.type,
        "preferredUsername": view.username,
        "name": view.name,
        "summary": view.summary_html,
        "inbox": uris.inbox(view.identifier),
        "outbox": uris.outbox(view.identifier),
        "followers": uris.followers(view.identifier),
        "following": uris.following(view.identifier),
        "featured": uris.featured(view.identifier),
        "endpoints": {"sharedInbox": uris.shared_inbox},
        "manuallyApprovesFollowers": view.manually_approves_followers,
        "discoverable": view.discoverable,
        "indexable": view.indexable,
        "attributionDomains": list(view.site_domains),
        "published": iso(view.published_at),
        "publicKey": {
            "id": uris.key(view.identifier),
            "owner": actor_uri,
            "publicKeyPem": view.rsa_public_pem,
        },
    }
    if view.url:
        document["url"] = view.url
    if view.icon_url:
        document["icon"] = _image(view.icon_url)
    if view.header_url:
        document["image"] = _image(view.header_url)
    if view.fields:
        document["attachment"] = [
            {"type": "PropertyValue", "name": f.name, "value": profile_field_html(f.value)}
            for f in view.fields
        ]
    if view.ed25519_multibase:
        document["assertionMethod"] = [
            {
                "id": uris.ed25519_key(view.identifier),
                "type": "Multikey",
                "controller": actor_uri,
                "publicKeyMultibase": view.ed25519_multibase,
            }
        ]
    return document


@dataclass(frozen=True)
class InstanceActorView:
    """The instance actor: the site's ``Application``, which follows relays for the whole site."""

    username: str
    name: str
    url: str
    published_at: datetime
    rsa_public_pem: str


def build_instance_actor(view: InstanceActorView, uris: LocalURIs) -> dict[str, Any]:
    """The document of the instance actor (Mastodon's shape: ``/actor``, type ``Application``,
    ``preferredUsername`` the host, locked). Relays (ActivityRelay, Activity-Relay) accept
    follows only from an ``Application``; its ``sharedInbox`` is the site's, the inbox by which
    relays recognise every actor of the site as subscribed."""
    return {
        "@context": ACTOR_CONTEXT,
        "id": uris.instance_actor,
        "type": "Application",
        "preferredUsername": view.username,
        "name": view.name,
        "inbox": uris.instance_inbox,
        "outbox": uris.instance_outbox,
        "endpoints": {"sharedInbox": uris.shared_inbox},
        "manuallyApprovesFollowers": True,
        "discoverable": False,
        "indexable": False,
        "url": view.url,
        "published": iso(view.published_at),
        "publicKey": {
            "id": uris.instance_key,
            "owner": uris.instance_actor,
            "publicKeyPem": view.rsa_public_pem,
        },
    }
def build_actor_update(activity_uri: str, actor_document: dict[str, Any], followers_uri: str,
                       updated_at: datetime) -> dict[str, Any]:
    """``Update`` of a local actor's own document, for its followers: Mastodon, GoToSocial
    and Misskey apply the embedded profile (name, summary, fields, images, locked) at once.
    The actor document's ``updated`` says when it last changed."""
    document = {key: value for key, value in actor_document.items() if key != "@context"}
    document["updated"] = iso(updated_at)
    return {
        "@context": actor_document.get("@context", ACTOR_CONTEXT),
        "id": activity_uri,
        "type": "Update",
        "actor": actor_document["id"],
        "published": iso(updated_at),
        "to": [AS_PUBLIC],
        "cc": [followers_uri],
        "object": document,
    }


def build_actor_delete(activity_uri: str, actor_uri: str, followers_uri: str) -> dict[str, Any]:
    """``Delete`` of a local actor by itself (Mastodon's account deletion): its followers'
    servers remove the account, its follows and its posts. The object is the actor's id."""
    return {
        "@context": AS2_CONTEXT,
        "id": activity_uri,
        "type": "Delete",
        "actor": actor_uri,
        "to": [AS_PUBLIC],
        "cc": [followers_uri],
        "object": actor_uri,
    }


def build_actor_tombstone(actor_uri: str, former_type: str, deleted_at: datetime
                          ) -> dict[str, Any]:
    """What a retired actor's URL answers, with 410 Gone."""
    return {"@context": AS2_CONTEXT, "id": actor_uri, "type": "Tombstone",
            "formerType": former_type, "deleted": iso(deleted_at)}
