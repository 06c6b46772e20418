"""Prometheus metrics: off by default; on their own listener when `[metrics] listen` is set;
what the inbox, the delivery worker and the database say, with no host, handle or URL in any
label."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from federation.app import create_app
from federation.delivery.worker import DeliveryWorker
from federation.jobs import kinds, store
from federation.jobs.kinds import FEED, INBOX_ACTIVITY, WEBHOOK
from federation.jobs.worker import JobKind
from federation.web.metrics import METRICS_PORT
from federation.web.state import CLIENT, SERVICES, SETTINGS
from tests.inbox.conftest import Bridge
from tests.inbox.test_follows import follow, trust_bridge


async def _metrics_bridge(database_url: str, make_settings: Any, aiohttp_client: Any) -> Bridge:
    app = create_app(make_settings(database_url, allow_loopback_fetch=True,
                                   server={"run_worker": False},
                                   metrics={"listen": "127.0.0.1:0"}))
    return Bridge(await aiohttp_client(app), app)


async def _scrape(bridge: Bridge) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    port = bridge.app[METRICS_PORT]
    session = bridge.client.session
    async with session.get(f"http://127.0.0.1:{port}/metrics") as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain")
        text = await answer.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def test_metrics_are_off_by_default(bridge: Bridge) -> None:
    assert METRICS_PORT not in bridge.app
    assert (await bridge.client.get("/metrics")).status == 404  # never on the public port


async def test_inbox_delivery_and_database_figures(database_url, make_settings, aiohttp_client,
                                                   peer, alice) -> None:
    bridge = await _metrics_bridge(database_url, make_settings, aiohttp_client)
    assert (await bridge.client.get("/metrics")).status == 404
    trust_bridge(bridge, peer)
    assert (await bridge.post(follow(alice), alice)).status == 202
    assert (await bridge.post(follow(alice, number=2), None)).status == 401  # unsigned
    assert (await bridge.post({}, alice, body=b"not json")).status == 400
    worker = DeliveryWorker(bridge.app[SETTINGS], bridge.directory, bridge.app[CLIENT],
                            random=lambda: 0.0, metrics=bridge.app[SERVICES].metrics)
    while await worker.run_once():
        pass
    assert peer.received and peer.received[0]["type"] == "Accept"
    now = datetime.now(UTC)
    await store.enqueue(WEBHOOK.name, {}, at=now + timedelta(hours=1))
    for age in (90, 30):
        await store.enqueue(WEBHOOK.name, {}, at=now - timedelta(seconds=age))

    samples = await _scrape(bridge)
    inbox = "federation_inbox_activities_total"
    assert samples[(inbox, (("reason", ""), ("result", "accepted")))] == 1
    assert samples[(inbox, (("reason", "signature_missing"), ("result", "refused")))] == 1
    assert samples[(inbox, (("reason", "bad_request"), ("result", "refused")))] == 1
    assert samples[("federation_deliveries_total", (("outcome", "delivered"),))] == 1
    assert samples[("federation_signing_seconds_count", ())] == 1
    assert samples[("federation_signature_verification_seconds_count", ())] == 1
    assert samples[("federation_delivery_queue", (("state", "delivered"),))] == 1
    assert samples[("federation_delivery_queue", (("state", "pending"),))] == 0
    assert samples[("federation_hosts_set_aside", ())] == 0
    assert samples[("federation_moderation_queue", (("kind", "replies"),))] == 0
    # the lag of a kind: its oldest due job's age (a job not due yet does not count)
    assert 90 <= samples[("federation_job_lag_seconds", (("kind", WEBHOOK.name),))] < 150

    # No label value is a host, a handle or a URL: only the fixed sets.
    job_kinds = {value.name for value in vars(kinds).values() if isinstance(value, JobKind)}
    assert {INBOX_ACTIVITY.name, FEED.name} <= job_kinds
    fixed = {"kind": job_kinds | {"replies", "reports"}}
    for (_name, labels), _value in samples.items():
        for key, value in labels:
            if key == "le":  # a histogram bucket's bound
                float(value)
            elif key in fixed:
                assert value in fixed[key], (key, value)
            else:
                assert re.fullmatch(r"[a-z_]*", value), (key, value)


def test_grafana_dashboard_charts_only_metrics_we_export():
    """docs/grafana-dashboard.json: valid JSON whose every query names metrics this code
    exports (a renamed metric would leave an empty panel)."""
    import json
    from pathlib import Path

    from federation.metrics import Metrics

    exported = set()
    for family in Metrics().registry.collect():
        exported |= {sample.name for sample in family.samples} | {family.name}
        exported |= {f"{family.name}_total", f"{family.name}_bucket"}
    document = json.loads((Path(__file__).parents[2] / "docs" / "grafana-dashboard.json")
                          .read_text(encoding="utf-8"))
    named = set()
    for panel in document["panels"]:
        for target in panel["targets"]:
            named |= set(re.findall(r"federation_[a-z_]+", target["expr"]))
    assert named and named <= exported, named - exported
