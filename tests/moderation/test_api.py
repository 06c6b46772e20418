"""The moderation JSON API's parameters (docs/openapi-moderation.yaml): malformed ones are 400,
never a 500 or a silent default."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from federation.app import create_app
from federation.db.moderation import ReplyState, Report
from federation.moderation import accounts
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
