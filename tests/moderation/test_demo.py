"""`federation demo` seeds pending replies and a report from a fictitious instance
(demo.invalid): idempotent, never announced to moderators (no e-mail job, no webhook call, not
in the digest), and nothing is ever sent to or fetched from that instance — an approval's
Accept is recorded, the fanout leaves its inbox out, the outbound client refuses the name
before any DNS question."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from federation.cli import main
from federation.db.delivery import DeliveryJob, FanoutJob
from federation.db.jobs import Job
from federation.db.moderation import (
    ModeratorAccount,
    NotifyMode,
    Reply,
    ReplyKind,
    ReplyState,
    Report,
    WebhookDelivery,
)
from federation.db.social import RemoteActor
from federation.delivery.fanout import expand
from federation.errors import FederationError
from federation.moderation import accounts
from federation.moderation.notify import Notifier
from federation.moderation.service import ModerationService
from federation.remote.client import validate_url
from federation.services import open_services
from federation.settings import load_settings
from tests.config_toml import CAP, HALTE, config_toml
from tests.conftest import on_database


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "federation.toml"
    path.write_text(config_toml(database_url=database_url, collectives=(HALTE, CAP), sections={
        "moderation": {"webhook_url": "https://site.example/federation-webhook",
                       "webhook_secret": "0123456789abcdef0123"},
        "smtp": {"host": "127.0.0.1", "port": 2525, "security": "none",
                 "from_address": "moderation@bridge.example"}}), encoding="utf-8")
    return path


def test_demo_seeds_moderation_work_once_and_tells_no_one(
        config: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    async def moderator() -> None:  # asked for an e-mail per new item
        account = await accounts.create_account("camille", "a-long-enough-password")
        account.email, account.notify = "camille@site.example", NotifyMode.IMMEDIATE
        await account.save()

    on_database(database_url, moderator)
    assert main(["--config", str(config), "demo"]) == 0
    first = capsys.readouterr().out
    assert "demo moderation: 3 pending replies and 1 report(s) added, from the fictitious " \
           "instance demo.invalid" in first
    assert main(["--config", str(config), "demo"]) == 0
    assert "demo moderation: 0 pending replies and 0 report(s) added" in capsys.readouterr().out

    async def rows() -> dict[str, Any]:
        replies = await Reply.all().order_by("id").prefetch_related("author", "target")
        return {
            "replies": [(r.kind, r.state, r.author.handle, r.sensitive, r.summary,
                         r.target.kind if r.target else None) for r in replies],
            "mention": replies[2].content_html,
            "domains": set(await RemoteActor.all().values_list("domain", flat=True)),
            "reports": [(len(r.object_uris), r.resolved, r.content[:40])
                        for r in await Report.all()],
            "webhooks": await WebhookDelivery.all().count(),
            "jobs": await Job.all().values_list("kind", flat=True),
        }

    seeded = on_database(database_url, rows)
    assert seeded["replies"] == [
        (ReplyKind.REPLY, ReplyState.PENDING, "@camille@demo.invalid", False, "", "article"),
        (ReplyKind.REPLY, ReplyState.PENDING, "@mireille@demo.invalid", True,
         "Témoignage : contrôle CAF, situation personnelle", "event"),
        (ReplyKind.MENTION, ReplyState.PENDING, "@yanis@demo.invalid", False, "", None),
    ]
    assert "@changerdecap" in seeded["mention"]
    assert 'href="https://bridge.example/actors/changer-de-cap"' in seeded["mention"]
    assert seeded["domains"] == {"demo.invalid"}
    assert seeded["reports"] == [(2, False, "Signalement transféré depuis demo.invali")]
    assert seeded["webhooks"] == 0  # no reply.received / report.received
    assert [k for k in seeded["jobs"] if "notify" in k or "mail" in k] == []

    settings = load_settings(config, env={})

    async def moderate() -> dict[str, Any]:
        async with open_services(settings) as services:
            service = ModerationService(settings, services.directory)
            reply = await Reply.get(uri="https://demo.invalid/users/camille/statuses/1")
            await service.approve(reply.id, "camille")
            expanded = [await expand(f, settings, services.directory, services.client,
                                     datetime.now(UTC))
                        for f in await FanoutJob.all().prefetch_related("activity")]
            other = await Reply.get(uri="https://demo.invalid/users/yanis/statuses/3")
            await service.block_author(other.id, "camille")
            report = await Report.get()
            await service.resolve_report(report.id, "camille")
            digest = await Notifier(settings)._digest(
                _job(), await ModeratorAccount.get(username="camille"),
                {"since": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
                 "until": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()},
                datetime.now(UTC))
            return {"expanded": expanded, "deliveries": await DeliveryJob.all().count(),
                    "webhooks": await WebhookDelivery.all().count(), "digest": digest,
                    "approved": (await Reply.get(id=reply.id)).state}

    moderated = asyncio.run(moderate())
    assert moderated["approved"] == ReplyState.APPROVED
    assert moderated["expanded"] == [0]  # the Accept's fanout: no inbox on demo.invalid
    assert moderated["deliveries"] == 0
    assert moderated["webhooks"] == 0  # decisions on demo items call no webhook
    assert moderated["digest"] is None  # demo items are not in the daily digest


def _job() -> Any:
    from federation.jobs.store import ClaimedJob

    return ClaimedJob.__new__(ClaimedJob)


@pytest.mark.parametrize("url", ["https://demo.invalid/users/camille",
                                 "https://DEMO.invalid./inbox", "https://x.demo.invalid:8443/"])
def test_the_client_refuses_invalid_names_before_any_dns_question(url: str) -> None:
    with pytest.raises(FederationError, match="never resolves"):
        validate_url(url, allow_loopback=True)
