"""Debian's nginx run from the documented example: rendering, an unprivileged process, host names.

- :func:`example` is ``config/nginx.example.conf``, the file docs/deploy.md shows verbatim
  (``test_nginx_example.py`` checks they are the same text).
- :func:`render_server` turns it into one test virtual host by exact substitutions, each of
  which must match as often as expected: an example that changes shape fails the test loudly
  instead of being silently half-rendered.
- :class:`Nginx` writes the main configuration around the rendered servers (pid, logs and
  temporary files in its own directory), runs ``nginx -t`` and starts nginx in the foreground
  as an unprivileged user: the current one, or ``nobody`` when the tests run as root (CI).
- :func:`host_names` maps test host names to 127.0.0.1 in ``/etc/hosts`` for the test's
  duration: one marked line added, exactly that line removed afterwards.

Ports are high (no privilege needed to bind them), so public URLs carry them:
``https://site.test:PORT``. Nobody needs to be root for nginx; ``/etc/hosts`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "config" / "nginx.example.conf"
HOSTS = Path("/etc/hosts")
EXAMPLE_HOST = "federation.example.org"
#: Set by .ci/run: a missing nginx or an unwritable /etc/hosts fails the test instead of
#: skipping it (CI installs nginx and runs as root).
REQUIRED = bool(os.environ.get("FEDERATION_TEST_STRICT"))


def example() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


def unavailable(reason: str) -> None:
    """Skip, or fail when the CI requires the nginx tests to run."""
    if REQUIRED:
        pytest.fail(f"{reason} (FEDERATION_TEST_STRICT is set: CI installs nginx)")
    pytest.skip(reason)


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None)
    if found is None:
        unavailable("Debian's nginx is not installed (apt-get install nginx)")
    assert found is not None
    return found


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@dataclass(frozen=True)
class VirtualHost:
    """One rendering of the example: public host name and ports, certificate, upstream."""

    name: str
    https_port: int
    http_port: int
    cert: Path
    key: Path
    upstream_port: int


def render_server(text: str, host: VirtualHost, *, ipv6: bool) -> str:
    """The example's servers for ``host``; each substitution must match its expected count."""
    replacements = [
        # (old, new, expected count)
        (f"/etc/letsencrypt/live/{EXAMPLE_HOST}/fullchain.pem", str(host.cert), 1),
        (f"/etc/letsencrypt/live/{EXAMPLE_HOST}/privkey.pem", str(host.key), 1),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{host.https_port} ssl http2;", 1),
        ("listen [::]:443 ssl http2;",
         f"listen [::1]:{host.https_port} ssl http2;" if ipv6 else "# (no IPv6 loopback)", 1),
        ("listen 80;", f"listen 127.0.0.1:{host.http_port};", 1),
        ("listen [::]:80;", f"listen [::1]:{host.http_port};" if ipv6 else "# (no IPv6)", 1),
        ("proxy_pass http://127.0.0.1:8080;", f"proxy_pass http://127.0.0.1:{host.upstream_port};",
         1),
        (f"server_name {EXAMPLE_HOST};", f"server_name {host.name};", 2),
    ]
    for old, new, count in replacements:
        found = text.count(old)
        assert found == count, f"config/nginx.example.conf: {old!r} found {found}×, not {count}×"
        text = text.replace(old, new)
    directives = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    assert not any(EXAMPLE_HOST in line for line in directives), "an example host name is left"
    return text


MAIN = """\
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log notice;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    access_log off;  # Debian's nginx.conf sets one at this level; the example's server too
{servers}
}}
"""


class Nginx:
    """nginx with the rendered servers, in a private directory, as an unprivileged user."""

    def __init__(self, hosts: list[VirtualHost]) -> None:
        self.binary = nginx_binary()
        self.hosts = hosts
        self.directory = Path(tempfile.mkdtemp(prefix="federation-nginx-"))
        self.process: asyncio.subprocess.Process | None = None
        self._user: pwd.struct_passwd | None = pwd.getpwnam("nobody") if os.geteuid() == 0 else None

    def write(self, text: str | None = None) -> Path:
        """Write nginx.conf from the example (or from ``text``, the example's replacement)."""
        ipv6 = ipv6_loopback()
        servers = []
        for host in self.hosts:
            cert, key = self.directory / f"{host.name}.pem", self.directory / f"{host.name}.key"
            shutil.copyfile(host.cert, cert)
            shutil.copyfile(host.key, key)
            mine = VirtualHost(host.name, host.https_port, host.http_port, cert, key,
                               host.upstream_port)
            servers.append(render_server(example() if text is None else text, mine, ipv6=ipv6))
        conf = self.directory / "nginx.conf"
        conf.write_text(MAIN.format(dir=self.directory, servers="\n".join(servers)),
                        encoding="utf-8")
        if self._user is not None:  # the files become nobody's: nginx reads them as nobody
            for path in [self.directory, *self.directory.rglob("*")]:
                os.chown(path, self._user.pw_uid, self._user.pw_gid)
        return conf

    def _command(self, *extra: str) -> list[str]:
        return [self.binary, "-p", str(self.directory), "-e", str(self.directory / "error.log"),
                "-c", str(self.directory / "nginx.conf"), *extra]

    def _identity(self) -> dict[str, object]:
        if self._user is None:
            return {}
        return {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}

    def test_config(self) -> str:
        """``nginx -t`` on the written configuration; its output (it must pass)."""
        done = subprocess.run(self._command("-t"), capture_output=True, text=True, timeout=30,
                              **self._identity())  # type: ignore[call-overload]
        assert done.returncode == 0, f"nginx -t refused the example:\n{done.stderr}"
        return str(done.stderr)

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self._command("-g", "daemon off;"), stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL, **self._identity())  # type: ignore[arg-type]

    async def reload(self, text: str) -> None:
        """Replace the servers by ``text`` rendered, and reload (SIGHUP) gracefully."""
        assert self.process is not None
        self.write(text)
        self.test_config()
        before = self.log().count("reconfiguring")
        self.process.send_signal(signal.SIGHUP)
        for _ in range(100):
            if self.log().count("reconfiguring") > before:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # the old workers finish; the new ones take the sockets

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    def log(self) -> str:
        path = self.directory / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def cleanup(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _resolves_to_loopback(name: str) -> bool:
    try:
        return all(info[4][0] == "127.0.0.1"
                   for info in socket.getaddrinfo(name, None, socket.AF_INET))
    except OSError:
        return False


@contextlib.contextmanager
def host_names(*names: str) -> Iterator[None]:
    """``names`` resolve to 127.0.0.1 (``/etc/hosts``) inside the block.

    With a writable ``/etc/hosts`` (root), one line of our own, marked with a random token, is
    appended and exactly that line is removed afterwards, whatever else changed meanwhile: two
    runs at once each keep their own line. Otherwise the names must already resolve there (an
    administrator's entry), or the test is skipped.
    """
    if not os.access(HOSTS, os.W_OK):
        if all(_resolves_to_loopback(name) for name in names):
            yield
            return
        unavailable(f"{HOSTS} is not writable: run as root, or map {', '.join(names)} to "
                    "127.0.0.1 there")
    line = f"127.0.0.1 {' '.join(names)}  # federation tests {uuid.uuid4().hex}\n"
    text = HOSTS.read_text(encoding="utf-8")
    # written in place: /etc/hosts is often a bind mount (containers), never replaced
    HOSTS.write_text(text + ("" if text.endswith("\n") or not text else "\n") + line,
                     encoding="utf-8")
    try:
        assert all(_resolves_to_loopback(name) for name in names), f"{HOSTS} is not used"
        yield
    finally:
        current = HOSTS.read_text(encoding="utf-8")
        HOSTS.write_text("".join(kept for kept in current.splitlines(keepends=True)
                                 if kept != line), encoding="utf-8")
