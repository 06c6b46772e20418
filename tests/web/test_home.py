"""The public home page (``/``) and its remote follow (``/follow``), at the HTTP level."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from federation.app import create_app
from federation.protocol.handles import parse_instance
from federation.web.state import DIRECTORY

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


async def test_home_lists_the_site_and_its_collectives_with_handles(client: Any) -> None:
    response = await client.get("/", headers={"Accept": BROWSER})
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Accept" in response.headers["Vary"]
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Set-Cookie" not in response.headers
    html = await response.text()
    assert "<h1>Le Numéro Zéro</h1>" in html
    assert 'href="https://site.example/"' in html
    for handle in ("@lenumerozero@bridge.example", "@halteaucontrolenumerique@bridge.example",
                   "@changerdecap@bridge.example"):
        assert handle in html
    assert html.count('action="/follow"') == 3
    assert 'href="/admin/"' in html
    # no script, no inline style, nothing from another origin (the site's own links aside)
    assert "<script" not in html and "style=" not in html and "<style" not in html
    assert 'href="/static/home.css"' in html
    assert "<img" not in html  # the collectives' icons are on the site: never hotlinked
    css = await client.get("/static/home.css")
    assert css.status == 200 and "url(" not in await css.text()


async def test_home_speaks_english_on_request(client: Any) -> None:
    html = await (await client.get("/?lang=en", headers={"Accept": "text/html"})).text()
    assert '<html lang="en">' in html and "Follow" in html and "Your instance" in html
    french = await (await client.get("/", headers={"Accept": "text/html"})).text()
    assert '<html lang="fr">' in french and "Suivre" in french


@pytest.mark.parametrize("accept", ["application/activity+json", "application/ld+json",
                                    "application/json", "application/jrd+json"])
async def test_json_clients_still_get_the_404_at_root(client: Any, accept: str) -> None:
    """`/` answered 404 before the page: clients asking for JSON still get it, in JSON."""
    response = await client.get("/", headers={"Accept": accept})
    assert response.status == 404
    assert response.headers["Content-Type"].startswith("application/json")
    assert "/.well-known/nodeinfo" in (await response.json())["error"]
    assert "Accept" in response.headers["Vary"]


@pytest.mark.parametrize("accept", ["*/*", "", "text/html"])
async def test_browsers_and_curl_get_the_page(client: Any, accept: str) -> None:
    response = await client.get("/", headers={"Accept": accept})
    assert response.status == 200 and "<!doctype html>" in await response.text()


async def test_retired_and_unlisted_collectives_are_not_shown(client: Any) -> None:
    directory = client.server.app[DIRECTORY]
    await directory.retire("changer-de-cap")
    html = await (await client.get("/", headers={"Accept": "text/html"})).text()
    assert "@changerdecap@" not in html and "Changer de cap" not in html
    assert "@halteaucontrolenumerique@bridge.example" in html
    follow = await client.get("/follow", params={"actor": "changer-de-cap",
                                                 "instance": "mastodon.social"},
                              allow_redirects=False)
    assert follow.status == 404 and "Location" not in follow.headers


async def test_handles_keep_a_non_default_port(settings: Any, aiohttp_client: Any) -> None:
    app = create_app(settings.model_copy(update={"base_url": "http://127.0.0.1:8099"}))
    client = await aiohttp_client(app)
    html = await (await client.get("/", headers={"Accept": "text/html"})).text()
    assert "@halteaucontrolenumerique@127.0.0.1:8099" in html


@pytest.mark.parametrize(("typed", "host"), [
    ("mastodon.social", "mastodon.social"),
    ("  Mastodon.Social. ", "mastodon.social"),
    ("https://mastodon.social/", "mastodon.social"),
    ("https://mastodon.social", "mastodon.social"),
    ("@camille@piaille.fr", "piaille.fr"),
    ("camille@piaille.fr", "piaille.fr"),
    ("social.bücher.example", "social.xn--bcher-kva.example"),
    ("mastodon.example:8443", "mastodon.example:8443"),
    ("mastodon.example:443", "mastodon.example"),
])
async def test_follow_redirects_to_the_instance(client: Any, typed: str, host: str) -> None:
    response = await client.get("/follow", params={"actor": "halte-au-controle-numerique",
                                                   "instance": typed},
                                allow_redirects=False)
    assert response.status == 303, await response.text()
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https", host, "/authorize_interaction")
    assert parse_qs(location.query) == {
        "uri": ["https://bridge.example/actors/halte-au-controle-numerique"]}
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"


BAD_INSTANCES = [
    "", " ", "https://evil.example/phish?x=", "evil.example/phish", "evil.example?x=1",
    "evil.example#x", "//evil.example", "http://evil.example", "javascript:alert(1)",
    "user:pass@evil.example", "https://user@evil.example", "evil.example\\phish",
    "evil.example\r\nSet-Cookie: a=b", "localhost", "127.0.0.1", "[::1]", "10.0.0.1:443",
    "evil..example", "-evil.example", "e vil.example", "evil.example:0", "evil.example:99999",
    "evil.example:port", "a" * 400 + ".example", "%65vil.example", "evil.example/", "ex\u200dample.org",
]


@pytest.mark.parametrize("typed", BAD_INSTANCES)
async def test_follow_refuses_what_is_not_an_instance_name(client: Any, typed: str) -> None:
    response = await client.get("/follow", params={"actor": "halte-au-controle-numerique",
                                                   "instance": typed},
                                allow_redirects=False)
    assert response.status == 400, (typed, response.headers.get("Location"))
    assert "Location" not in response.headers
    html = await response.text()
    assert "n'est pas un nom d'instance" in unescape(html)
    assert 'action="/follow"' in html  # the form again, to try once more
    assert "<script" not in html


async def test_follow_error_page_escapes_what_was_typed(client: Any) -> None:
    response = await client.get("/follow", params={
        "actor": "halte-au-controle-numerique", "instance": "<b>x</b>", "lang": "en"})
    assert response.status == 400
    html = await response.text()
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "is not an instance name" in html


async def test_follow_error_page_ties_the_message_to_the_field(client: Any) -> None:
    """The refused field is marked invalid and described by the message (a screen reader
    reads why on reaching it); the language link keeps the collective and what was typed, so
    it shows the same page in the other language, not another error."""
    response = await client.get("/follow", params={
        "actor": "halte-au-controle-numerique", "instance": "pas une instance", "lang": "fr"})
    html = unescape(await response.text())
    assert response.status == 400
    assert 'id="follow-error"' in html
    assert 'aria-invalid="true" aria-describedby="follow-error"' in html
    switch = re.search(r'<a href="([^"]+)" lang="en"', html).group(1)
    assert switch == "/follow?actor=halte-au-controle-numerique&instance=pas+une+instance&lang=en"
    again = await client.get(switch)
    assert again.status == 400
    assert "is not an instance name" in await again.text()
    home = unescape(await (await client.get("/")).text())
    assert 'aria-invalid' not in home and '<a href="/?lang=en" lang="en"' in home


async def test_follow_of_an_unknown_actor_is_a_404(client: Any) -> None:
    for actor in ("nobody", "", "x" * 500):
        response = await client.get("/follow", params={"actor": actor,
                                                       "instance": "mastodon.social"},
                                    allow_redirects=False)
        assert response.status == 404 and "Location" not in response.headers
    html = await response.text()  # the title says what the page says
    assert "<title>Ce collectif n" in unescape(html)


def test_parse_instance_is_pure_and_keeps_the_host_only() -> None:
    assert parse_instance("Mastodon.Social") == "mastodon.social"
    assert parse_instance("https://piaille.fr/") == "piaille.fr"


def test_home_messages_exist_in_every_language() -> None:
    from federation.i18n import languages, messages

    keys = {key for key in messages("fr") if key.startswith("home.")}
    assert "home.follow" in keys
    for language in languages():
        assert all(messages(language).get(key, "").strip() for key in keys), language
