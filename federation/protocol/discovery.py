"""WebFinger, host-meta and NodeInfo documents (pure functions).

WebFinger follows RFC 7033 as Mastodon uses it: ``acct:`` and actor-URL resources, aliases, a
``self`` link typed ``application/activity+json``, the profile page and the subscribe template.
NodeInfo 2.0/2.1 and the FEP-2677 application actor link are built from real usage figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import quoteattr

from federation.errors import BadRequest
from federation.protocol.paths import LocalURIs
from federation.protocol.uris import is_http_url

AS_JSON = "application/activity+json"
NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/{version}"
APPLICATION_ACTOR_REL = "https://www.w3.org/ns/activitystreams#Application"
NODEINFO_VERSIONS = ("2.0", "2.1")


@dataclass(frozen=True)
class WebFingerQuery:
    """A parsed ``resource``: either an ``acct:`` handle or one of our actor URLs."""

    username: str | None = None
    host: str | None = None
    actor_url: str | None = None


def parse_resource(resource: str | None) -> WebFingerQuery:
    """Parse a WebFinger ``resource``; :class:`BadRequest` when it is malformed."""
    if not resource or len(resource) > 512:
        raise BadRequest("the 'resource' parameter is required (acct:user@host or a URL)")
    resource = resource.strip()
    if resource.lower().startswith("acct:"):
        handle = unquote(resource[5:]).lstrip("@")
        user, sep, host = handle.rpartition("@")
        if not sep or not user or not host or "@" in user or "/" in host:
            raise BadRequest("malformed acct: resource, expected acct:user@host")
        return WebFingerQuery(username=user, host=host.lower())
    if is_http_url(resource):  # never raises (urlsplit does, on "http://[")
        return WebFingerQuery(actor_url=resource)
    if "@" in resource and ":" not in resource:
        return parse_resource(f"acct:{resource}")
    raise BadRequest("malformed resource, expected acct:user@host or an http(s) URL")


def build_webfinger(
    *, username: str, host: str, actor_uri: str, profile_url: str | None, uris: LocalURIs
) -> dict[str, Any]:
    aliases = [actor_uri] + ([profile_url] if profile_url and profile_url != actor_uri else [])
    links: list[dict[str, Any]] = [{"rel": "self", "type": AS_JSON, "href": actor_uri}]
    if profile_url:
        links.append(
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": profile_url}
        )
    links.append(
        {"rel": "http://ostatus.org/schema/1.0/subscribe",
         "template": uris.authorize_interaction_template()}
    )
    return {"subject": f"acct:{username}@{host}", "aliases": aliases, "links": links}


def build_host_meta_xrd(uris: LocalURIs) -> str:
    template = quoteattr(uris.webfinger_template())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" type="application/xrd+xml" template={template}/>\n'
        "</XRD>\n"
    )


def build_host_meta_json(uris: LocalURIs) -> dict[str, Any]:
    return {"links": [{"rel": "lrdd", "type": "application/jrd+json",
                       "template": uris.webfinger_template()}]}


def build_nodeinfo_links(uris: LocalURIs, application_actor_uri: str) -> dict[str, Any]:
    links = [{"rel": NODEINFO_SCHEMA.format(version=v), "href": uris.nodeinfo(v)}
             for v in NODEINFO_VERSIONS]
    links.append({"rel": APPLICATION_ACTOR_REL, "href": application_actor_uri})
    return {"links": links}


@dataclass(frozen=True)
class Usage:
    """Real usage figures reported in NodeInfo."""

    actors: int
    active_month: int
    active_half_year: int
    local_posts: int
    local_comments: int


def build_nodeinfo(
    version: str, *, software_version: str, usage: Usage, site_name: str,
    site_description: str, open_registrations: bool = False,
) -> dict[str, Any]:
    if version not in NODEINFO_VERSIONS:
        raise BadRequest(f"unknown NodeInfo version {version}")
    software: dict[str, Any] = {"name": "federation", "version": software_version}
    return {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": ["atom1.0", "rss2.0"], "outbound": ["atom1.0"]},
        "openRegistrations": open_registrations,
        "usage": {
            "users": {"total": usage.actors, "activeMonth": usage.active_month,
                      "activeHalfyear": usage.active_half_year},
            "localPosts": usage.local_posts,
            "localComments": usage.local_comments,
        },
        "metadata": {"nodeName": site_name, "nodeDescription": site_description},
    }
