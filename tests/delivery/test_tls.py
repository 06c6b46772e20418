"""A delivery to an inbox behind a bad certificate: the failure record names the TLS reason."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web

from federation.db.delivery import DeliveryJob, DeliveryState, HostHealth
from tests.delivery.conftest import Env
from tests.delivery.test_worker import send_to
from tests.tlsca import self_signed, serving

pytestmark = pytest.mark.slow


async def test_certificate_failure_is_named_in_the_delivery_record(env: Env, tmp_path,
                                                                    caplog) -> None:
    """The job's last_error, the host's health (`federation deliveries`) and the worker's log
    say why TLS failed (not "cannot connect")."""
    issued = self_signed(tmp_path, "127.0.0.1")
    app = web.Application()
    app.router.add_post("/inbox", lambda request: web.Response(status=202))
    async with serving(app, issued) as port:
        await send_to(env, f"https://127.0.0.1:{port}/inbox")
        with caplog.at_level(logging.INFO, logger="federation.delivery"):
            await env.drain()
    job = await DeliveryJob.get()
    expected = "TLS certificate verification failed for 127.0.0.1: self-signed certificate"
    assert job.state == DeliveryState.PENDING and job.last_status is None
    assert job.last_error is not None and job.last_error.startswith(expected)
    health = await HostHealth.get(host=f"127.0.0.1:{port}")  # what `federation deliveries` shows
    assert health.last_error is not None and health.last_error.startswith(expected)
    assert any(expected in record.getMessage() for record in caplog.records)
