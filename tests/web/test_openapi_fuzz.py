"""docs/openapi.yaml and docs/openapi-moderation.yaml against the running server: schemathesis
generates valid and invalid requests for every operation of the push API and of the moderation
API (examples, boundary values, random data; for moderation, also sequences that follow the
document's links: list, decide, undo, resolve, reopen).

Checks: no 5xx, only documented status codes and content types, answers matching their
documented schemas, invalid requests refused. The server is a real `federation serve`
process on loopback, on each test database; its log must show no unhandled error.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from federation.db.content import ContentObject, ObjectKind, OutboxActivity
from federation.db.lifecycle import open_database
from federation.db.moderation import Decision, Reply, ReplyAuthorization, ReplyState, Report
from federation.db.social import RemoteActor
from federation.identity.directory import ActorDirectory, open_vault
from federation.ingest.tokens import create_token
from federation.moderation import accounts
from federation.settings import Settings
from tests.cli.conftest import clean_env, ready_config  # noqa: F401 - a fixture

SPEC = Path(__file__).parents[2] / "docs" / "openapi.yaml"
MODERATION_SPEC = SPEC.with_name("openapi-moderation.yaml")
CLI = Path(sys.executable).parent / "schemathesis"
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance,response_headers_conformance,negative_data_rejection")
#: Upper bound on waiting for the server to listen (polling, not timing).
PATIENCE = 30


def _serve(config: Path, cwd: Path) -> tuple[subprocess.Popen[str], int]:
    port = int(config.read_text(encoding="utf-8").split("port = ")[1].split()[0])
    process = subprocess.Popen(
        [sys.executable, "-m", "federation", "--config", str(config), "serve", "--no-worker"],
        cwd=cwd, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + PATIENCE
    while True:
        assert process.poll() is None, process.communicate()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, port
        except OSError:
            assert time.monotonic() < deadline, "serve did not listen"
            time.sleep(0.1)


def _fuzz(spec: Path, config: Path, cwd: Path, secret: str, *options: str) -> None:
    """Serve ``config``, run schemathesis on ``spec`` with ``secret``; both must be clean."""
    process, port = _serve(config, cwd)
    try:
        result = subprocess.run(
            [str(CLI), "run", str(spec), "--url", f"http://127.0.0.1:{port}",
             "--header", f"Authorization: Bearer {secret}", "--checks", CHECKS,
             *options, "--no-color"],
            cwd=cwd, env=clean_env(SCHEMATHESIS_HOOKS=""), capture_output=True, text=True,
            timeout=600, check=False)
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=PATIENCE)
    assert result.returncode == 0, result.stdout[-6000:]
    assert "unhandled error" not in log and "Traceback" not in log, log[-4000:]


def test_push_api_conforms_to_its_openapi_document(tmp_path: Path, ready_config: Path,
                                                   database_url: str) -> None:
    if not CLI.exists():
        pytest.skip("schemathesis is not installed (pip install -e '.[test]')")

    async def token() -> str:
        async with open_database(database_url):
            return (await create_token("fuzz")).secret

    _fuzz(SPEC, ready_config, tmp_path, asyncio.run(token()),
          "--phases", "examples,coverage,fuzzing", "--max-examples", "40", "--seed", "20261128")


#: The seeded replies' states (ids 1-9) and reports' resolved flags (ids 1-2).
SEEDED_REPLIES = [ReplyState.PENDING] * 6 + [ReplyState.APPROVED, ReplyState.REJECTED,
                                             ReplyState.SPAM]
SEEDED_REPORTS = [False, True]


async def seed_moderation(settings: Settings) -> str:
    """Replies in every state, reports open and resolved, and a moderation token, as the inbox
    and `federation moderators token` make them."""
    directory = ActorDirectory(settings, open_vault(settings.data_dir))
    await directory.sync()
    actor = directory.get("halte-au-controle-numerique")
    uri = directory.uris.object("article", "4521")
    article = await ContentObject.create(
        actor_id=actor.db_id, kind=ObjectKind.ARTICLE, source="push", source_id="4521", uri=uri,
        url="https://site.example/spip.php?article4521",
        document={"id": uri, "type": "Article", "name": "Débat"}, content_hash="x",
        published_at=datetime.now(UTC) - timedelta(days=1))
    authors = [await RemoteActor.create(
        uri=f"https://{domain}/users/{name}", domain=domain, inbox=f"https://{domain}/inbox",
        username=name, name=name.title(), url=f"https://{domain}/@{name}",
        fetched_at=datetime.now(UTC)) for name, domain in (("alice", "social.example"),
                                                           ("bob", "other.example"))]
    for number, state in enumerate(SEEDED_REPLIES, start=1):
        author = authors[number % 2]
        await Reply.create(
            uri=f"{author.uri}/statuses/{number}", author=author, target=article,
            in_reply_to_uri=uri, thread_root_uri=uri, url=f"{author.url}/{number}",
            content_html=f"<p>Réponse {number}</p>", language="fr", state=state,
            is_public=number != 3, published_at=datetime.now(UTC) - timedelta(minutes=number),
            decided_at=None if state == ReplyState.PENDING else datetime.now(UTC))
    for number, resolved in enumerate(SEEDED_REPORTS, start=1):
        await Report.create(activity_uri=f"https://other.example/flags/{number}",
                            reporter=authors[1], object_uris=[uri], content="spam",
                            resolved=resolved)
    await accounts.create_account("fuzz", "a fuzzing password")
    return await accounts.create_token("fuzz", name="schemathesis")


async def audit_trail_problems() -> list[str]:
    """What contradicts the audit log after the run: each reply's and report's decisions must
    chain from its seeded state to its current one (no decision applied twice or lost), one
    Accept per approval and one Reject per rejection, one live authorization per approval."""
    problems = []
    decisions = await Decision.all().order_by("id")
    for reply in await Reply.all().order_by("id"):
        state = str(SEEDED_REPLIES[reply.id - 1])
        for decision in (d for d in decisions if d.subject_uri == reply.uri):
            if decision.from_state != state or (decision.action == "undo") == (state == "pending"):
                problems.append(f"reply {reply.id}: {decision.action} from {decision.from_state}"
                                f" after {state}")
            state = decision.to_state
        if state != reply.state:
            problems.append(f"reply {reply.id} is {reply.state}, its log says {state}")
        live = await ReplyAuthorization.filter(reply_id=reply.id, revoked_at=None)
        if [a.uri for a in live] != ([reply.authorization_uri] if reply.authorization_uri else []):
            problems.append(f"reply {reply.id}: live authorizations {len(live)}")
    for report in await Report.all().order_by("id"):
        state = "resolved" if SEEDED_REPORTS[report.id - 1] else "open"
        for decision in (d for d in decisions if d.subject_uri == report.activity_uri):
            if decision.from_state != state or (decision.action == "reopen") == (state == "open"):
                problems.append(f"report {report.id}: {decision.action} after {state}")
            state = decision.to_state
        if (state == "resolved") != report.resolved:
            problems.append(f"report {report.id}: resolved={report.resolved}, log says {state}")
    for kind, action in (("Accept", "approve"), ("Reject", "reject")):
        sent = await OutboxActivity.filter(type=kind).count()
        decided = sum(1 for d in decisions if d.action == action)
        if sent != decided:
            problems.append(f"{sent} {kind} sent for {decided} {action} decisions")
    return problems


def test_moderation_api_conforms_to_its_openapi_document(tmp_path: Path, ready_config: Path,
                                                         database_url: str,
                                                         settings: Settings) -> None:
    """Every operation of the moderation API, with replies and reports to act on."""
    if not CLI.exists():
        pytest.skip("schemathesis is not installed (pip install -e '.[test]')")

    async def seed() -> str:
        async with open_database(database_url):
            return await seed_moderation(settings)

    async def audit() -> tuple[int, list[str]]:
        async with open_database(database_url):
            return await Decision.all().count(), await audit_trail_problems()

    _fuzz(MODERATION_SPEC, ready_config, tmp_path, asyncio.run(seed()),
          "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", "30",
          "--seed", "20261128")
    count, problems = asyncio.run(audit())
    assert count > 10 and not problems, problems  # decisions were taken, each exactly once
