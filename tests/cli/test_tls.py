"""`federation follow` of an actor behind a bad certificate: the message names the TLS failure."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from aiohttp import web

from tests.cli.conftest import clean_env, run_cli
from tests.tlsca import LocalCA, self_signed, serving

pytestmark = pytest.mark.slow


async def test_follow_names_the_certificate_failure(tmp_path: Path, ready_config: Path) -> None:
    """The command exits 1 saying which TLS check failed (a handle on a loopback host is
    looked up over plain http, so the URL form is what reaches TLS here; the WebFinger
    lookup goes through the same client)."""
    config = ready_config.read_text(encoding="utf-8")
    ready_config.write_text("allow_loopback_fetch = true\n" + config, encoding="utf-8")
    app = web.Application()
    app.router.add_get("/{tail:.*}", lambda request: web.json_response({}))
    async with serving(app, self_signed(tmp_path / "rogue", "127.0.0.1")) as port:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "federation", "--config", str(ready_config), "follow",
            f"https://127.0.0.1:{port}/users/a", cwd=tmp_path, env=clean_env(),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1, (out, err)
    message = err.decode()
    assert ("TLS certificate verification failed for 127.0.0.1: self-signed certificate"
            in message), message
    assert "cannot connect" not in message and "Traceback" not in message


def test_check_config_refuses_an_unusable_ssl_cert_file(tmp_path: Path, write_config) -> None:
    """`check-config` names an SSL_CERT_FILE that trusts nothing (exit 2), accepts a CA file."""
    config = write_config()
    missing = run_cli("--config", str(config), "check-config", cwd=tmp_path,
                      env=clean_env(SSL_CERT_FILE=str(tmp_path / "nowhere.pem")))
    assert missing.returncode == 2, missing
    assert "SSL_CERT_FILE" in missing.stderr and "nowhere.pem" in missing.stderr
    ca = LocalCA(tmp_path / "ca")
    fine = run_cli("--config", str(config), "check-config", cwd=tmp_path,
                   env=clean_env(SSL_CERT_FILE=str(ca.cert)))
    assert fine.returncode == 0, fine
