"""docs/openapi.yaml against the running server: schemathesis generates valid and invalid
requests for every operation of the push API (examples, boundary values, random data).

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
from pathlib import Path

import pytest

from federation.db.lifecycle import open_database
from federation.ingest.tokens import create_token
from tests.cli.conftest import clean_env, ready_config  # noqa: F401 - a fixture

SPEC = Path(__file__).parents[2] / "docs" / "openapi.yaml"
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


def test_push_api_conforms_to_its_openapi_document(tmp_path: Path, ready_config: Path,
                                                   database_url: str) -> None:
    if not CLI.exists():
        pytest.skip("schemathesis is not installed (pip install -e '.[test]')")

    async def token() -> str:
        async with open_database(database_url):
            return (await create_token("fuzz")).secret

    secret = asyncio.run(token())
    process, port = _serve(ready_config, tmp_path)
    try:
        result = subprocess.run(
            [str(CLI), "run", str(SPEC), "--url", f"http://127.0.0.1:{port}",
             "--header", f"Authorization: Bearer {secret}", "--checks", CHECKS,
             "--phases", "examples,coverage,fuzzing", "--max-examples", "40",
             "--seed", "20261128", "--no-color"],
            cwd=tmp_path, env=clean_env(SCHEMATHESIS_HOOKS=""), capture_output=True, text=True,
            timeout=600, check=False)
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=PATIENCE)
    assert result.returncode == 0, result.stdout[-6000:]
    assert "unhandled error" not in log and "Traceback" not in log, log[-4000:]
