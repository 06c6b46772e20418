"""/admin/actors over HTTP: administrators create, edit and retire collectives; moderators
are refused; uploads are re-encoded; followers get a signed Update or Delete through the
delivery worker (a real peer on loopback verifies the signature with httpsig)."""

from __future__ import annotations

import io
import json
import re
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from struct import pack
from typing import Any

import pytest
from aiohttp import FormData, web
from PIL import Image

from federation.app import create_app
from federation.db.actors import Actor
from federation.db.content import OutboxActivity
from federation.db.delivery import FanoutJob
from federation.db.social import Follower, FollowState, RemoteActor
from federation.delivery.worker import DeliveryWorker
from federation.i18n import messages
from federation.moderation import accounts
from federation.settings import Settings
from federation.web.state import CLIENT, DIRECTORY, SETTINGS
from tests.delivery.conftest import Peer

MESSAGES = {language: messages(language) for language in ("fr", "en")}

PASSWORD = "correct horse battery staple"
AP = {"Accept": "application/activity+json"}


@pytest.fixture
async def site(database_url: str, make_settings: Callable[..., Settings],
               aiohttp_client: Any) -> Any:
    settings = make_settings(database_url, base_url="http://127.0.0.1:8080",
                             allow_loopback_fetch=True, server={"run_worker": False},
                             delivery={"signing_processes": 0, "request_timeout": 30})
    client = await aiohttp_client(create_app(settings))
    await accounts.create_account("ada", PASSWORD, is_admin=True)
    await accounts.create_account("camille", PASSWORD)
    return client


def _csrf(text: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', text)
    assert match, text
    return match.group(1)


async def _login(client: Any, username: str = "ada") -> str:
    """Log in; return the session's CSRF token."""
    page = await client.get("/admin/login")
    response = await client.post("/admin/login", data={
        "csrf": _csrf(await page.text()), "username": username, "password": PASSWORD})
    assert response.status == 200, await response.text()
    return _csrf(await response.text())


def image_bytes(size: tuple[int, int] = (1200, 900), fmt: str = "JPEG", *,
                exif: bool = False, mode: str = "RGB") -> bytes:
    image = Image.new(mode, size, (200, 40, 40) if mode == "RGB" else (200, 40, 40, 128))
    output = io.BytesIO()
    options: dict[str, Any] = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"  # Make
        data[0x8825] = {2: (45.0, 26.0, 0.0)}  # GPSInfo: a latitude
        options["exif"] = data.tobytes()
    image.save(output, format=fmt, **options)
    return output.getvalue()


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A tiny PNG whose header announces width × height pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return pack(">I", len(data)) + kind + data + pack(">I", zlib.crc32(kind + data))
    header = pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def profile_form(csrf: str, *, username: str | None = None, name: str = "Collectif Vélo",
                 summary: str = "On répare des vélos.", files: dict[str, bytes] | None = None,
                 fields: list[tuple[str, str]] | None = None, manual: bool = False,
                 **extra: str) -> FormData:
    form = FormData(default_to_multipart=True)
    form.add_field("csrf", csrf)
    if username is not None:
        form.add_field("username", username)
    form.add_field("name", name)
    form.add_field("summary", summary)
    form.add_field("url", "https://site.example/velo")
    for field_name, value in fields or [("Site", "https://site.example/velo")]:
        form.add_field("field_name", field_name)
        form.add_field("field_value", value)
    if manual:
        form.add_field("manually_approves_followers", "1")
    for key, value in extra.items():
        form.add_field(key, value)
    for key, data in (files or {}).items():
        form.add_field(key, data, filename=f"{key}.bin", content_type="application/octet-stream")
    return form


async def _media_files(client: Any) -> list[str]:
    media = client.app[SETTINGS].data_dir / "media"
    return sorted(p.name for p in media.iterdir()) if media.exists() else []


def test_both_languages_have_every_message():
    """The French and English catalogues of the actors' pages have the same keys."""
    assert MESSAGES["fr"].keys() == MESSAGES["en"].keys()


async def test_moderator_is_refused_every_admin_url_with_a_clear_page(site):
    """A moderator (not is_admin) gets a 403 page saying the page is for administrators on
    every /admin/actors URL, GET and POST, before anything is read or written; the navigation
    does not show the link; an administrator's does."""
    csrf = await _login(site, "camille")
    assert "/admin/actors" not in await (await site.get("/admin/")).text()
    for path in ("/admin/actors", "/admin/actors/new", "/admin/actors/changer-de-cap",
                 "/admin/actors/changer-de-cap/retire"):
        response = await site.get(path)
        assert response.status == 403, path
        text = await response.text()
        assert "Réservé aux administrateurs" in text and "moderators admin" in text
    response = await site.post("/admin/actors/new",
                               data=profile_form(csrf, username="intrus"))
    assert response.status == 403
    response = await site.post("/admin/actors/changer-de-cap/retire",
                               data={"csrf": csrf, "confirm": "changerdecap"})
    assert response.status == 403
    assert not await Actor.filter(identifier="intrus").exists()
    assert (await Actor.get(identifier="changer-de-cap")).retired_at is None
    await accounts.set_admin("camille", True)
    assert "/admin/actors" in await (await site.get("/admin/")).text()
    assert (await site.get("/admin/actors")).status == 200


async def test_visitor_is_sent_to_login_and_a_forged_post_is_refused(site):
    """Without a session GET goes to the login page, POST is a 403; an administrator's POST
    without the CSRF token or with a wrong one is a 403 and creates nothing."""
    response = await site.get("/admin/actors", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/admin/login"
    assert (await site.post("/admin/actors/new", data=profile_form("x", username="a"))).status \
        == 403
    await _login(site)
    for token in ("", "wrong"):
        response = await site.post("/admin/actors/new", data=profile_form(token, username="a"))
        assert response.status == 403
    assert not await Actor.filter(identifier="a").exists()


async def test_admin_creates_a_collective_that_answers_at_once(site):
    """A collective created in the form answers WebFinger and its actor URL at once (no
    restart), with its profile fields, its approval setting and its uploaded avatar served
    by the bridge (JPEG, resized, EXIF gone, cached for a year)."""
    csrf = await _login(site)
    response = await site.post("/admin/actors/new", allow_redirects=False, data=profile_form(
        csrf, username="velo", manual=True,
        files={"avatar": image_bytes(exif=True), "header": image_bytes((3000, 1000), "PNG")}))
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == "/admin/actors/velo?msg=actors.created"
    finger = await site.get("/.well-known/webfinger?resource=acct:velo@127.0.0.1:8080")
    assert finger.status == 200
    document = await (await site.get("/actors/velo", headers=AP)).json()
    assert document["name"] == "Collectif Vélo" and document["type"] == "Group"
    assert document["manuallyApprovesFollowers"] is True
    assert document["attachment"][0]["name"] == "Site"
    icon, header = document["icon"], document["image"]
    assert icon["url"].startswith("http://127.0.0.1:8080/media/") and icon["url"].endswith(".jpg")
    assert icon["mediaType"] == "image/jpeg"
    media = await site.get(icon["url"].removeprefix("http://127.0.0.1:8080"))
    assert media.status == 200 and media.headers["Content-Type"] == "image/jpeg"
    assert "immutable" in media.headers["Cache-Control"]
    with Image.open(io.BytesIO(await media.read())) as avatar:
        assert avatar.format == "JPEG" and max(avatar.size) <= 400
        assert not avatar.getexif() and "icc_profile" not in avatar.info
    with Image.open(io.BytesIO(await (await site.get(
            header["url"].removeprefix("http://127.0.0.1:8080"))).read())) as banner:
        assert banner.size == (1500, 500)
    page = await (await site.get("/admin/actors/velo?msg=actors.created")).text()
    assert "Collectif créé" in page and 'src="http://127.0.0.1:8080/media/' in page


@pytest.mark.parametrize(("upload", "status", "words"), [
    (b"%PDF-1.4 not an image", 415, "not an image"),
    (image_bytes()[:2000], 400, "cannot be decoded"),
    (png_bomb(), 400, "million pixels"),
    (b"\xff" * (8 * 1024 * 1024 + 1), 413, "larger than 8 MB"),
], ids=["not-an-image", "truncated", "decompression-bomb", "oversize"])
async def test_bad_uploads_are_refused_and_nothing_is_written(site, upload, status, words):
    """A bad image is refused with a clear 4xx, the form shown again with what was typed;
    no actor, no file."""
    csrf = await _login(site)
    response = await site.post("/admin/actors/new", data=profile_form(
        csrf, username="velo", files={"avatar": upload}))
    assert response.status == status
    text = await response.text()
    assert words in text
    if status != 413:  # a 413 may come before the form is read: no form to show again
        assert 'value="Collectif Vélo"' in text
    assert not await Actor.filter(identifier="velo").exists()
    assert await _media_files(site) == []
    assert (await site.get("/actors/velo", headers=AP)).status == 404


@pytest.mark.parametrize("username", ["Velo", "vélo", "-velo", "a" * 65, "velo_2"])
async def test_invalid_username_is_refused_with_the_reason(site, username):
    """A username that cannot be an identifier in a URL is refused (422) and explained."""
    csrf = await _login(site)
    response = await site.post("/admin/actors/new", data=profile_form(csrf, username=username))
    assert response.status == 422
    assert "never change" in await response.text()
    # the site actor, the two configured ones and the instance actor (it follows relays)
    assert await Actor.all().count() == 4


async def test_a_used_username_is_refused(site):
    """A username used by a configured collective, in any case, is a 409: nothing created."""
    csrf = await _login(site)
    response = await site.post("/admin/actors/new",
                               data=profile_form(csrf, username="changer-de-cap"))
    assert response.status == 409
    before = await Actor.all().count()
    response = await site.post("/admin/actors/new",
                               data=profile_form(csrf, username="changerdecap"))
    assert response.status == 409
    assert await Actor.all().count() == before


class Follower_(Peer):
    """A peer that also keeps the activities it accepted."""

    documents: list[dict[str, Any]]

    async def respond(self, request: web.Request, body: bytes, key_id: str
                      ) -> web.StreamResponse:
        self.documents.append(json.loads(body))
        return await super().respond(request, body, key_id)


async def _follower(site: Any, aiohttp_server: Any, identifier: str) -> Follower_:
    """A real peer on loopback following ``identifier``; it verifies our signatures."""
    directory = site.app[DIRECTORY]
    peer = Follower_({a.key_id: a.rsa_public_pem for a in directory.everyone()})
    peer.documents = []
    app = web.Application()
    app.router.add_post("/{tail:.*}", peer.handle)
    server = await aiohttp_server(app)
    peer.base_url = f"http://127.0.0.1:{server.port}"
    remote = await RemoteActor.create(
        uri=f"{peer.base_url}/users/bob", domain="127.0.0.1", inbox=f"{peer.base_url}/inbox",
        fetched_at=datetime.now(UTC))
    await Follower.create(actor_id=directory.get(identifier).db_id, remote=remote,
                          state=FollowState.ACCEPTED, follow_activity_uri=f"{remote.uri}#f")
    return peer


async def _deliver(site: Any) -> None:
    app = site.app
    worker = DeliveryWorker(app[SETTINGS], app[DIRECTORY], app[CLIENT], random=lambda: 0.0)
    for _ in range(10):
        if not await worker.run_once():
            return


async def test_edit_queues_an_update_that_a_follower_receives_signed(site, aiohttp_server):
    """Saving the profile stores it, sends nothing in the request, queues one Update for the
    followers; the delivery worker delivers it signed by the collective (httpsig verifies);
    the Update embeds the new profile. Saving again unchanged queues nothing."""
    peer = await _follower(site, aiohttp_server, "changer-de-cap")
    csrf = await _login(site)
    response = await site.post("/admin/actors/changer-de-cap", allow_redirects=False,
                               data=profile_form(csrf, name="Changer de cap (nouveau nom)",
                                                 files={"avatar": image_bytes()}))
    assert response.status == 303, await response.text()
    assert response.headers["Location"].endswith("msg=actors.saved")
    assert peer.received == []  # nothing sent in the request
    assert await FanoutJob.all().count() == 1
    await _deliver(site)
    assert peer.refused == []
    [update] = peer.documents
    assert update["type"] == "Update" and update["actor"].endswith("/actors/changer-de-cap")
    assert update["object"]["name"] == "Changer de cap (nouveau nom)"
    assert update["object"]["icon"]["url"].startswith("http://127.0.0.1:8080/media/")
    assert peer.received[0].key_id.endswith("/actors/changer-de-cap#main-key")
    document = await (await site.get("/actors/changer-de-cap", headers=AP)).json()
    assert document["name"] == "Changer de cap (nouveau nom)"
    response = await site.post("/admin/actors/changer-de-cap", allow_redirects=False,
                               data=profile_form(csrf, name="Changer de cap (nouveau nom)"))
    assert response.headers["Location"].endswith("msg=actors.unchanged")
    assert await OutboxActivity.filter(type="Update").count() == 1


async def test_the_username_cannot_be_changed_by_the_edit_form(site):
    """A username posted with the edit form is ignored: the actor keeps its handle and URL."""
    csrf = await _login(site)
    await site.post("/admin/actors/changer-de-cap",
                    data=profile_form(csrf, username="autre", name="Changer de cap"))
    assert (await site.get("/.well-known/webfinger?resource=acct:changerdecap@127.0.0.1:8080"
                           )).status == 200
    assert (await site.get("/.well-known/webfinger?resource=acct:autre@127.0.0.1:8080"
                           )).status == 404


async def test_replacing_and_removing_images_deletes_the_old_files(site):
    """A replaced or removed uploaded image is deleted from the data directory."""
    csrf = await _login(site)
    await site.post("/admin/actors/changer-de-cap",
                    data=profile_form(csrf, files={"avatar": image_bytes((500, 500))}))
    [first] = await _media_files(site)
    await site.post("/admin/actors/changer-de-cap",
                    data=profile_form(csrf, files={"avatar": image_bytes((600, 500), "PNG",
                                                                          mode="RGBA")}))
    [second] = await _media_files(site)
    assert second != first and second.endswith(".png")
    await site.post("/admin/actors/changer-de-cap", data=profile_form(csrf, remove_avatar="1"))
    assert await _media_files(site) == []
    document = await (await site.get("/actors/changer-de-cap", headers=AP)).json()
    assert "icon" not in document


async def test_retire_needs_the_typed_name_then_sends_delete_and_answers_410(
        site, aiohttp_server):
    """Retiring asks for the username typed (a mismatch: 422, nothing done); then the actor
    answers 410 with a Tombstone, WebFinger 410, a Delete of the actor reaches its follower
    signed with its kept key, and its username can never be created again."""
    peer = await _follower(site, aiohttp_server, "changer-de-cap")
    csrf = await _login(site)
    page = await site.get("/admin/actors/changer-de-cap/retire")
    assert "changerdecap" in await page.text()
    response = await site.post("/admin/actors/changer-de-cap/retire",
                               data={"csrf": csrf, "confirm": "changer"})
    assert response.status == 422
    assert (await Actor.get(identifier="changer-de-cap")).retired_at is None
    response = await site.post("/admin/actors/changer-de-cap/retire", allow_redirects=False,
                               data={"csrf": csrf, "confirm": "@changerdecap"})
    assert response.status == 303
    gone = await site.get("/actors/changer-de-cap", headers=AP)
    assert gone.status == 410
    tombstone = await gone.json()
    assert tombstone["type"] == "Tombstone" and tombstone["formerType"] == "Group"
    assert (await site.get("/actors/changer-de-cap/outbox", headers=AP)).status == 410
    assert (await site.get("/.well-known/webfinger?resource=acct:changerdecap@127.0.0.1:8080"
                           )).status == 410
    await _deliver(site)
    assert peer.refused == []
    [delete] = peer.documents
    assert delete["type"] == "Delete" and delete["object"] == delete["actor"]
    response = await site.post("/admin/actors/new",
                               data=profile_form(csrf, username="changer-de-cap"))
    assert response.status == 409
    listing = await (await site.get("/admin/actors")).text()
    assert "retiré le" in listing


async def test_the_site_actor_can_be_edited_but_not_retired(site):
    """The site actor has no retire link and a forged retire is refused (409)."""
    csrf = await _login(site)
    page = await (await site.get("/admin/actors/site")).text()
    assert "/admin/actors/site/retire" not in page
    response = await site.post("/admin/actors/site/retire",
                               data={"csrf": csrf, "confirm": "lenumerozero"})
    assert response.status == 409
    assert (await site.get("/actors/site", headers=AP)).status == 200


async def test_media_names_are_checked(site):
    """Only content-hash names are served; anything else is a 404 (no path from requests)."""
    for name in ("..%2Fsecret.key", "secret.key", "a" * 64 + ".gif", "x.jpg"):
        assert (await site.get(f"/media/{name}")).status == 404
