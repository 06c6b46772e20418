"""WebFinger: a handle becomes the actor URI of its ActivityPub self link."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from federation.errors import BadRequest, RemoteBadResponse, RemoteError, UnsafeURL
from federation.protocol.handles import parse_handle
from federation.remote.webfinger import lookup

from .conftest import StaticResolver


def webfinger_routes(answer, content_type="application/jrd+json", status=200):
    routes = web.RouteTableDef()

    @routes.get("/.well-known/webfinger")
    async def webfinger(request):
        body = answer(request) if callable(answer) else answer
        return web.Response(text=json.dumps(body), status=status, headers={"Content-Type": content_type})

    return routes


def jrd(request):
    host = request.host
    return {
        "subject": request.query["resource"],
        "links": [
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": f"http://{host}/@alice"},
            {"rel": "self", "type": "application/activity+json", "href": f"http://{host}/users/alice"},
        ],
    }


@pytest.mark.parametrize("form", ["@alice@{host}", "alice@{host}", "acct:alice@{host}"])
async def test_handle_resolves_to_actor_uri(serve, make_client, recorder, form):
    """All handle forms resolve to the self link's href, querying acct:name@host."""
    base = await serve(webfinger_routes(jrd))
    host = base.split("//", 1)[1]
    assert await lookup(make_client(), parse_handle(form.format(host=host))) == base + "/users/alice"
    assert recorder.requests[0].query["resource"] == f"acct:alice@{host}"


async def test_ld_json_profile_self_link_is_accepted(serve, make_client):
    """A self link typed ld+json with the ActivityStreams profile is accepted."""
    answer = {"links": [{"rel": "self", "href": "https://peer.example/u/a",
                         "type": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'}]}
    base = await serve(webfinger_routes(answer, content_type="application/json"))
    assert await lookup(make_client(), parse_handle("a@" + base.split("//", 1)[1])) == "https://peer.example/u/a"


@pytest.mark.parametrize(
    "answer,content_type,status",
    [
        ({"links": [{"rel": "self", "type": "text/html", "href": "https://x.example/a"}]}, "application/jrd+json", 200),
        ({"links": [{"rel": "self", "type": "application/activity+json", "href": "javascript:alert(1)"}]},
         "application/jrd+json", 200),
        ({"links": [{"rel": "self", "type": "application/activity+json", "href": "http://[::1"}]},
         "application/jrd+json", 200),
        ({"subject": "acct:a@x"}, "application/jrd+json", 200),
        ({"links": []}, "text/html", 200),
        ({"links": []}, "application/jrd+json", 404),
    ],
)
async def test_unusable_answers_are_refused(serve, make_client, answer, content_type, status):
    """No ActivityPub self link, a bad href, a wrong media type or an error status are refused."""
    base = await serve(webfinger_routes(answer, content_type, status))
    with pytest.raises(RemoteBadResponse):
        await lookup(make_client(), parse_handle("a@" + base.split("//", 1)[1]))


@pytest.mark.parametrize("handle", ["", "alice", "@alice@", "@@host", "a/b@host", "a@ho st", "a@host/path"])
def test_malformed_handles_are_bad_requests(handle):
    """Things that are not @name@host are refused before any request."""
    with pytest.raises(BadRequest):
        parse_handle(handle)


async def test_loopback_handle_refused_without_allow_loopback(serve, make_client, recorder):
    """Without allow_loopback a loopback host is queried over https and refused as unsafe."""
    base = await serve(webfinger_routes(jrd))
    with pytest.raises(UnsafeURL):
        await lookup(make_client(allow_loopback=False), parse_handle("alice@" + base.split("//", 1)[1]))
    assert recorder.requests == []


async def test_non_loopback_host_uses_https(serve, make_client, recorder):
    """A named host is queried over https even in tests (the plain-http server never answers)."""
    base = await serve(webfinger_routes(jrd))
    port = base.rsplit(":", 1)[1]
    client = make_client(resolver=StaticResolver({"peer.test": "127.0.0.1"}), total_timeout=2.0)
    with pytest.raises(RemoteError):
        await lookup(client, parse_handle(f"alice@peer.test:{port}"))
    assert recorder.requests == []
