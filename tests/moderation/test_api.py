"""The moderation JSON API's parameters (docs/openapi-moderation.yaml): malformed ones are 400,
never a 500 or a silent default."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from federation.app import create_app
from federation.db.moderation import Decision, ReplyState, Report
from federation.db.social import Block, BlockKind
from federation.moderation import accounts
from federation.moderation.service import UNDO_WINDOW
from federation.moderation.web.keys import MODERATION
from federation.settings import Settings
from federation.web.state import DIRECTORY

from .conftest import PASSWORD, Factory

API = "/api/v1/moderation"


@pytest.fixture
async def api(database_url: str, make_settings: Callable[..., Settings],
              aiohttp_client: Any) -> Any:
    """A client of the whole application with a moderation token in its headers."""
    settings = make_settings(database_url, server={"run_worker": False})
    client = await aiohttp_client(create_app(settings))
    await accounts.create_account("camille", PASSWORD)
    token = await accounts.create_token("camille")
    client.session.headers["Authorization"] = f"Bearer {token}"
    return client


async def test_report_ids_beyond_the_database_integers_are_400(api):
    """A report id outside 1..2147483647 is a 400 like a reply id (was a 500 on PostgreSQL)."""
    factory = Factory(api.app[DIRECTORY])
    report = await factory.report(await factory.remote(), ["https://social.example/x"])
    for report_id in ("0", "-1", "2147483648", "-2147483649", "9" * 30, "abc"):
        response = await api.post(f"{API}/reports/{report_id}/resolve")
        assert response.status == 400, report_id
        assert "error" in await response.json()
    response = await api.post(f"{API}/reports/{report.id}/resolve")
    assert response.status == 200 and (await response.json())["resolved"] is True


async def test_bulk_with_ids_beyond_the_database_integers(api):
    """Such an id in a bulk request is one unknown id; the others are decided (was a 500 after
    deciding the ids before it)."""
    factory = Factory(api.app[DIRECTORY])
    reply = await factory.reply(await factory.article())
    response = await api.post(f"{API}/bulk", json={"action": "spam",
                                                    "ids": [reply.id, 2**31, 2**63, -(2**40)]})
    assert response.status == 200
    results = (await response.json())["results"]
    assert [(r["ok"], r["state"], r["error"]) for r in results] == [
        (True, "spam", None), *[(False, None, "no such reply")] * 3]
    await reply.refresh_from_db()
    assert reply.state == ReplyState.SPAM


async def test_resolved_parameter_is_a_boolean(api):
    """``resolved`` is true/false, 1/0 or yes/no in any case; anything else is a 400, not the
    open reports."""
    factory = Factory(api.app[DIRECTORY])
    reporter = await factory.remote()
    open_report = await factory.report(reporter, ["https://social.example/x"])
    done = await factory.report(reporter, ["https://social.example/y"])
    await Report.filter(id=done.id).update(resolved=True)
    for value, expected in (("true", done.id), ("TRUE", done.id), ("1", done.id),
                            ("Yes", done.id), ("false", open_report.id), ("0", open_report.id),
                            ("no", open_report.id), (None, open_report.id)):
        params = {} if value is None else {"resolved": value}
        response = await api.get(f"{API}/reports", params=params)
        assert response.status == 200, value
        assert [i["id"] for i in (await response.json())["items"]] == [expected], value
    for value in ("AAA", "", "tru", "2", "on"):
        response = await api.get(f"{API}/reports", params={"resolved": value})
        assert response.status == 400, value


async def test_numbers_are_plain_ascii_digits(api):
    """Ids and `limit` are ASCII digits: "²", "٣", " 5", "1_0" are 400 (int() read some of them
    as numbers, and "²" made it raise)."""
    for odd in ("%C2%B2", "%D9%A3", "%205", "1_0"):
        response = await api.get(f"{API}/replies/{odd}")
        assert response.status == 400, odd
        response = await api.get(f"{API}/replies?limit={odd}")
        assert response.status == 400, odd
    assert (await api.get(f"{API}/replies?limit=-5")).status == 200  # clamped to 1, as before


# -- the audit log, the undo of a decision, a report's note ------------------------------------


async def test_a_decision_is_undone_by_its_id_within_the_window(api):
    """``GET /decisions`` lists the audit log with until when each row may be undone; ``POST
    /decisions/{id}/undo`` reverses it through the notices' service function (the reply is
    pending again, the undo is audited under the token's moderator and names what it
    reverses); a second undo, a too old or a final decision are 409 with their key; an
    unknown id 404; a malformed one 400 — never a 500."""
    factory = Factory(api.app[DIRECTORY])
    reply = await factory.reply(await factory.article())
    assert (await api.post(f"{API}/replies/{reply.id}/approve")).status == 200
    log = await api.get(f"{API}/decisions")
    assert log.status == 200 and log.headers["Cache-Control"] == "no-store"
    [approval] = (await log.json())["items"]
    assert (approval["action"], approval["moderator"], approval["to_state"]) == (
        "approve", "camille", "approved")
    at = datetime.fromisoformat(approval["at"])
    assert datetime.fromisoformat(approval["undo_until"]) == at + UNDO_WINDOW
    response = await api.post(f"{API}/decisions/{approval['id']}/undo")
    assert response.status == 200, await response.text()
    undo = await response.json()
    assert (undo["action"], undo["moderator"], undo["cause"]) == ("undo", "camille",
                                                                   approval["id"])
    assert undo["undo_until"] is None  # an undo is final
    await reply.refresh_from_db()
    assert reply.state == ReplyState.PENDING
    items = (await (await api.get(f"{API}/decisions", params={"limit": "1",
                                                               "before": str(undo["id"])}))
             .json())["items"]
    assert [(i["id"], i["undo_until"]) for i in items] == [(approval["id"], None)]
    assert items[0]["undone"] is not None

    again = await api.post(f"{API}/decisions/{approval['id']}/undo")
    assert again.status == 409 and (await again.json())["code"] == "error.decision.undone"
    final = await api.post(f"{API}/decisions/{undo['id']}/undo")
    assert final.status == 409 and (await final.json())["code"] == "error.decision.final"
    await api.post(f"{API}/replies/{reply.id}/spam")
    spam = await Decision.filter(action="spam").first()
    assert spam is not None
    await Decision.filter(id=spam.id).update(created_at=datetime.now(UTC) - timedelta(hours=1))
    old = await api.post(f"{API}/decisions/{spam.id}/undo")
    assert old.status == 409 and (await old.json())["code"] == "error.decision.expired"
    missing = await api.post(f"{API}/decisions/999999/undo")
    assert missing.status == 404 and (await missing.json())["code"] == "error.decision.not_found"
    for odd in ("0", "abc", "%C2%B2", "2147483648"):
        assert (await api.post(f"{API}/decisions/{odd}/undo")).status == 400, odd
    await reply.refresh_from_db()
    assert reply.state == ReplyState.SPAM


async def test_undo_of_a_block_and_of_a_resolve_from_the_api(api):
    """The undo covers what the web's notices cover: a block made in /admin/ (lifted, its
    rejected replies pending again) and a report resolved (open again)."""
    factory = Factory(api.app[DIRECTORY])
    troll = await factory.remote("troll", "troll.example", "Troll")
    reply = await factory.reply(await factory.article(), troll)
    service = api.app[MODERATION]
    _, block = await service.block_remote(troll.id, BlockKind.ACTOR, "ada")
    await reply.refresh_from_db()
    assert reply.state == ReplyState.REJECTED
    assert (await api.post(f"{API}/decisions/{block.id}/undo")).status == 200
    await reply.refresh_from_db()
    assert reply.state == ReplyState.PENDING and not await Block.exists(value=troll.uri)
    report = await factory.report(troll, [reply.uri])
    assert (await api.post(f"{API}/reports/{report.id}/resolve")).status == 200
    resolve = await Decision.filter(action="resolve").first()
    assert resolve is not None
    assert (await api.post(f"{API}/decisions/{resolve.id}/undo")).status == 200
    assert not (await Report.get(id=report.id)).resolved


async def test_a_report_note_is_read_and_written(api):
    """``GET /reports/{id}`` and the list show the note; ``PUT /reports/{id}/note`` replaces it
    through the web form's service function (trimmed, audited as a ``note``, final); ``""``
    clears it; bad bodies are 400, an unknown report 404, nothing written."""
    factory = Factory(api.app[DIRECTORY])
    report = await factory.report(await factory.remote(), ["https://social.example/x"])
    shown = await (await api.get(f"{API}/reports/{report.id}")).json()
    assert shown["id"] == report.id and shown["note"] == "" and shown["resolved"] is False
    response = await api.put(f"{API}/reports/{report.id}/note",
                             json={"note": "  À vérifier avec Camille  "})
    assert response.status == 200, await response.text()
    assert (await response.json())["note"] == "À vérifier avec Camille"
    listing = await (await api.get(f"{API}/reports")).json()
    assert listing["items"][0]["note"] == "À vérifier avec Camille"
    note = await Decision.get(action="note")
    assert (note.moderator, note.note) == ("camille", "À vérifier avec Camille")
    log = await (await api.get(f"{API}/decisions")).json()
    assert log["items"][0]["action"] == "note" and log["items"][0]["undo_until"] is None

    for body in ({"note": 5}, {"text": "x"}, ["note"], {"note": "x" * 4001}, {"note": None}):
        response = await api.put(f"{API}/reports/{report.id}/note", json=body)
        assert response.status == 400, body
        assert "error" in await response.json()
    bad_json = await api.put(f"{API}/reports/{report.id}/note", data=b"{note",
                             headers={"Content-Type": "application/json"})
    assert bad_json.status == 400
    missing = await api.put(f"{API}/reports/999999/note", json={"note": "x"})
    assert missing.status == 404 and (await missing.json())["code"] == "error.report.not_found"
    assert (await api.get(f"{API}/reports/999999")).status == 404
    assert (await api.get(f"{API}/reports/abc")).status == 400
    assert (await api.post(f"{API}/reports/{report.id}/note", json={"note": "x"})).status == 400
    assert (await Report.get(id=report.id)).note == "À vérifier avec Camille"
    cleared = await api.put(f"{API}/reports/{report.id}/note", json={"note": ""})
    assert cleared.status == 200 and (await cleared.json())["note"] == ""


async def test_read_only_tokens_read_the_log_and_notes_but_change_nothing(api):
    """A ``moderation:read`` token lists decisions and reads reports; undo and note are 403."""
    factory = Factory(api.app[DIRECTORY])
    reply = await factory.reply(await factory.article())
    report = await factory.report(await factory.remote(), [reply.uri])
    await api.post(f"{API}/replies/{reply.id}/reject")
    decision = await Decision.get(action="reject")
    read = await accounts.create_token("camille", scopes=(accounts.SCOPE_READ,))
    headers = {"Authorization": f"Bearer {read}"}
    assert (await api.get(f"{API}/decisions", headers=headers)).status == 200
    assert (await api.get(f"{API}/reports/{report.id}", headers=headers)).status == 200
    assert (await api.post(f"{API}/decisions/{decision.id}/undo", headers=headers)).status == 403
    assert (await api.put(f"{API}/reports/{report.id}/note", headers=headers,
                          json={"note": "x"})).status == 403
    anonymous = await api.post(f"{API}/decisions/{decision.id}/undo",
                               headers={"Authorization": ""})
    assert anonymous.status == 401
    await reply.refresh_from_db()
    assert reply.state == ReplyState.REJECTED
    assert (await Report.get(id=report.id)).note == ""
