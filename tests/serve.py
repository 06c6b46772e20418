"""``federation serve`` as a subprocess of a test, as an operator runs it.

``Served`` starts the command with a clean environment (``clean_env``), in the directory of its
configuration file, its output in a log file; ``start`` returns once the port answers (or fails
with the log when the process exits first); ``stop`` sends SIGTERM, then SIGKILL if it hangs;
``command`` runs another command on the same configuration.
``until`` polls a condition that the served processes bring about, with their logs in the
failure.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[1]
#: How long a start may take before the port answers.
START_TIMEOUT = 30.0
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port free now, never handed out before by this process: a served process binds its
    port only later, so two of one test could otherwise be given the same one."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any ``FEDERATION_*`` variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDERATION_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = str(ROOT)  # the code under test, even when another copy is installed
    env.update(extra)
    return env


def config_port(config: Path) -> int:
    """The ``[server] port`` of a configuration file."""
    text = config.read_text(encoding="utf-8")
    return int(text.split("[server]", 1)[1].split("port = ", 1)[1].split("\n", 1)[0])


@dataclass
class Served:
    """One ``federation --config CONFIG serve`` listening on 127.0.0.1:``port``."""

    config: Path
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=clean_env)
    process: asyncio.subprocess.Process | None = None

    async def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start it and return once its port accepts connections."""
        with self.log_path.open("wb") as log:  # the child keeps its own descriptor
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "federation", "--config", str(self.config), "serve",
                cwd=self.config.parent, env=self.env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                if self.process.returncode is not None:
                    raise AssertionError(f"serve exited {self.process.returncode}:\n"
                                         f"{self.log()[-4000:]}") from None
                if time.monotonic() > deadline:
                    raise AssertionError(f"serve did not listen on {self.port} within "
                                         f"{timeout:g} s:\n{self.log()[-4000:]}") from None
                await asyncio.sleep(0.05)
            else:
                writer.close()
                return

    def running(self) -> asyncio.subprocess.Process:
        """The process, which must still be running."""
        assert self.process is not None, "serve was not started"
        if self.process.returncode is not None:
            raise AssertionError(f"serve exited {self.process.returncode}:\n"
                                 f"{self.log()[-4000:]}")
        return self.process

    async def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; its exit status (``None``: never
        started)."""
        if self.process is None:
            return None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        return self.process.returncode

    async def command(self, *args: str, stdin: str | None = None, timeout: float = 120.0) -> str:
        """``federation --config CONFIG ARGS``, another command on the same configuration and
        environment, which must succeed: its stdout."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "federation", "--config", str(self.config), *args,
            cwd=self.config.parent, env=self.env, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(
            process.communicate(stdin.encode() if stdin is not None else None), timeout)
        assert process.returncode == 0, f"{self.config} {args}: {err.decode()}"
        return out.decode()

    def log(self) -> str:
        """What it wrote so far (stdout and stderr)."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


async def until(check: Callable[[], Awaitable[Any]], what: str, *logs: Callable[[], str],
                timeout: float = 30.0) -> Any:
    """Poll ``check`` until it returns something truthy, and return that; on timeout, fail
    with the end of each of ``logs``."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n" + "\n---\n".join(
                log()[-4000:] for log in logs))
        await asyncio.sleep(0.25)
