"""The command line as an admin uses it: init, migrate, serve, actors, keys (by subprocess)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.cli.conftest import clean_env, free_port, run_cli, valid_toml

COMMANDS = ["init", "serve", "migrate", "check-config", "actors", "keys"]


def test_help_lists_every_command_with_a_description(tmp_path: Path) -> None:
    """`federation --help` and each command's --help explain what they do."""
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout
    assert "--config" in result.stdout and "FEDERATION_CONFIG" in result.stdout
    for args, expected in [(["serve", "--help"], "--port"), (["migrate", "--help"], "Safe to run repeatedly"),
                           (["keys", "rotate", "--help"], "ACTOR"),
                           (["actors", "show", "--help"], "identifier"),
                           (["check-config", "--help"], "Exit code"),
                           (["init", "--help"], "--base-url")]:
        sub = run_cli(*args, cwd=tmp_path)
        assert sub.returncode == 0 and expected in sub.stdout, (args, sub.stdout)


def test_console_script_is_installed(tmp_path: Path) -> None:
    """The `federation` entry point runs the same command line as `python -m federation`."""
    script = Path(sys.executable).parent / "federation"
    if not script.exists():
        pytest.skip("the package is not installed with its console script")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True,
                            env=clean_env(), cwd=tmp_path, timeout=30)
    assert result.returncode == 0 and "check-config" in result.stdout


def test_no_command_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    unknown = run_cli("frobnicate", cwd=tmp_path)
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr


def test_init_migrate_list_show_rotate(tmp_path: Path) -> None:
    """The admin's first steps on SQLite: init writes a valid demo, migrate creates the keys,
    actors list/show read them, keys rotate replaces them."""
    config = tmp_path / "site" / "federation.toml"
    init = run_cli("--config", str(config), "init", "--base-url", "http://127.0.0.1:8099",
                   cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    assert config.exists() and (config.parent / "secret.key").exists() is False
    again = run_cli("--config", str(config), "init", cwd=tmp_path)
    assert again.returncode == 1 and "exists already" in again.stderr

    assert run_cli("--config", str(config), "check-config", cwd=tmp_path).returncode == 0
    unmigrated = run_cli("--config", str(config), "actors", "list", cwd=tmp_path)
    assert unmigrated.returncode == 1 and "run `federation migrate` first" in unmigrated.stderr

    migrate = run_cli("--config", str(config), "migrate", cwd=tmp_path)
    assert migrate.returncode == 0, migrate.stderr
    assert "actors.0001_initial" in migrate.stdout and "3 actor(s) ready" in migrate.stdout
    assert (config.parent / "federation.sqlite3").exists()
    assert (config.parent / "secret.key").exists()
    second = run_cli("--config", str(config), "migrate", cwd=tmp_path)
    assert "applied 0 migration(s)" in second.stdout

    listing = run_cli("--config", str(config), "actors", "list", cwd=tmp_path)
    assert listing.returncode == 0
    for handle in ("@lenumerozero@127.0.0.1:8099", "@halteaucontrolenumerique@", "@changerdecap@"):
        assert handle in listing.stdout

    show = run_cli("--config", str(config), "actors", "show", "changer-de-cap", cwd=tmp_path)
    before = json.loads(show.stdout)
    assert before["id"] == "http://127.0.0.1:8099/actors/changer-de-cap"

    rotate = run_cli("--config", str(config), "keys", "rotate", "changer-de-cap", cwd=tmp_path)
    assert rotate.returncode == 0, rotate.stderr
    assert "rotated the keys of changer-de-cap" in rotate.stdout
    after = json.loads(run_cli("--config", str(config), "actors", "show", "changer-de-cap",
                               cwd=tmp_path).stdout)
    assert after["publicKey"]["publicKeyPem"] != before["publicKey"]["publicKeyPem"]
    assert (after["assertionMethod"][0]["publicKeyMultibase"]
            != before["assertionMethod"][0]["publicKeyMultibase"])

    for output in (init, migrate, listing, show, rotate):
        assert "PRIVATE KEY" not in output.stdout + output.stderr


def test_unknown_actor_is_a_clear_error(tmp_path: Path, ready_config: Path) -> None:
    """keys rotate and actors show of an unknown actor: one message, exit 1 (both databases)."""
    config = ready_config
    for command in (["keys", "rotate", "nobody"], ["actors", "show", "nobody"]):
        result = run_cli("--config", str(config), *command, cwd=tmp_path)
        assert result.returncode == 1, result
        assert "Traceback" not in result.stderr
        assert result.stderr.splitlines()[-1].startswith("federation: ")
        assert "'nobody'" in result.stderr.splitlines()[-1]


def test_wrong_secret_is_a_clear_error(tmp_path: Path, ready_config: Path) -> None:
    """Replacing secret.key makes commands fail with a message naming it, exit 1."""
    config = ready_config
    secret = tmp_path / "data" / "secret.key"
    secret.write_text("ZmFrZWZha2VmYWtlZmFrZWZha2VmYWtlZmFrZWZha2U=\n")
    result = run_cli("--config", str(config), "actors", "list", cwd=tmp_path)
    assert result.returncode == 1 and "secret.key" in result.stderr
    assert "Traceback" not in result.stderr


def test_lost_secret_beside_a_database_refuses_to_start(tmp_path: Path,
                                                        ready_config: Path) -> None:
    """A data directory whose secret.key is gone, beside a database holding keys, refuses to
    start (serve and every command) and writes no new secret: a new one could open nothing, and
    written once it would hide the cause on the next start (both databases)."""
    secret = tmp_path / "data" / "secret.key"
    secret.unlink()
    for command in (["serve"], ["actors", "list"], ["keys", "rotate", "site"]):
        result = run_cli("--config", str(ready_config), *command, cwd=tmp_path, timeout=30)
        assert result.returncode == 1, result
        assert "Traceback" not in result.stderr
        last = result.stderr.splitlines()[-1]
        assert "secret.key is missing" in last and "restore" in last, last
        assert not secret.exists()


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    config = tmp_path / "federation.toml"
    config.write_text(valid_toml(port=free_port()), encoding="utf-8")
    result = run_cli("--config", str(config), "serve", cwd=tmp_path, timeout=30)
    assert result.returncode == 1
    assert "run `federation migrate` first" in result.stderr
    assert "Traceback" not in result.stderr
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "federation.sqlite3").write_bytes(b"")  # exists, but empty
    empty = run_cli("--config", str(config), "serve", cwd=tmp_path, timeout=30)
    assert empty.returncode == 1 and "needs" in empty.stderr
    assert "run `federation migrate` first" in empty.stderr
    assert "Traceback" not in empty.stderr


def test_bad_log_level_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("check-config", cwd=tmp_path, env=clean_env(FEDERATION_LOG_LEVEL="LOUD"))
    assert result.returncode == 2 and "FEDERATION_LOG_LEVEL" in result.stderr


def test_serve_answers_then_stops_on_sigterm(tmp_path: Path, ready_config: Path) -> None:
    """`serve` listens on the configured port, serves the actor, and exits cleanly on SIGTERM;
    a malformed request gets a 400 and one log line, with no traceback and no client address."""
    config = ready_config
    port = int(config.read_text().split("port = ")[1].split()[0])
    process = subprocess.Popen(
        [sys.executable, "-m", "federation", "--config", str(config), "serve", "--no-worker"],
        cwd=tmp_path, env=clean_env(FEDERATION_LOG_LEVEL="DEBUG"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "serve did not listen within 30 s"
                time.sleep(0.1)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/actors/halte-au-controle-numerique",
            headers={"Accept": "application/activity+json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            assert response.headers["Vary"] == "Accept"
            document = json.load(response)
        assert document["id"] == "https://bridge.example/actors/halte-au-controle-numerique"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:  # a NUL in a header
            raw.sendall(b"GET / HTTP/1.1\r\nHost: bridge.example\r\nX-Probe: \x00\r\n\r\n")
            assert raw.recv(200).split(b" ", 2)[1] == b"400"
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode in (0, -signal.SIGTERM), stderr
    assert "federation serving Le Numéro Zéro" in stdout
    assert "Traceback" not in stderr
    assert "PRIVATE KEY" not in stdout + stderr
    # no client address (the database's own host may appear in tortoise's DEBUG lines)
    assert "127.0.0.1:" not in stderr.replace(f"127.0.0.1:{port}", "")
    assert "from 127.0.0.1" not in stderr and "Error handling request" not in stderr
    assert "refused a malformed HTTP request (400)" in stderr


def test_serve_reports_a_busy_port(tmp_path: Path, ready_config: Path) -> None:
    """A port already in use is ONE line saying which port and how to fix it, exit 1, no
    traceback, and no banner (the banner says the site is served: it is not)."""
    config = ready_config
    port = int(config.read_text().split("port = ")[1].split()[0])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        result = run_cli("--config", str(config), "serve", "--no-worker", cwd=tmp_path,
                         timeout=30)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    ours = [line for line in result.stderr.splitlines() if line.startswith("federation:")]
    assert ours == [f"federation: port {port} on 127.0.0.1 is in use: stop the other process "
                    "or use --port N / server.port (and the same port in base_url)"], result
    assert "error while attempting to bind" not in result.stderr
    assert "federation serving" not in result.stdout, result.stdout


def test_serve_prints_its_banner_once_the_port_is_bound(tmp_path: Path,
                                                       ready_config: Path) -> None:
    """The banner's first line comes only once the port listens: a client that connects as
    soon as it reads it is answered (no retry here), and the banner names the home page."""
    port = int(ready_config.read_text().split("port = ")[1].split()[0])
    process = subprocess.Popen(
        [sys.executable, "-m", "federation", "--config", str(ready_config), "serve",
         "--no-worker"],
        cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("federation serving Le Numéro Zéro on http://127.0.0.1:"), first
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # bound and listening when the banner was printed
        second = process.stdout.readline()
        assert second.strip() == "home page: https://bridge.example/ (the collectives, their " \
            "handles and a follow button)"
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert "Traceback" not in stderr


@pytest.mark.parametrize(("base_url", "port"), [
    ("http://127.0.0.1:8099", 8099),
    ("http://127.0.0.1:8099/", 8099),
    ("http://[::1]:9001", 9001),
    ("http://127.0.0.1", 8080),  # no port in the URL: the template's
    ("https://bridge.example.org:8443", 8080),  # https: a TLS proxy listens, we stay on 8080
])
def test_init_base_url_sets_the_port(tmp_path: Path, base_url: str, port: int) -> None:
    """`init --base-url http://127.0.0.1:N` writes server.port = N, so that `serve` listens
    where the base URL says (before, the template's 8080 stayed)."""
    from federation.settings import load_settings

    config = tmp_path / "federation.toml"
    result = run_cli("--config", str(config), "init", "--base-url", base_url, cwd=tmp_path)
    assert result.returncode == 0, result
    settings = load_settings(config, env={})
    assert settings.server.port == port
    assert settings.base_url == base_url.rstrip("/")


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:0", "http://127.0.0.1:70000",
                                      "http://127.0.0.1:port"])
def test_init_refuses_a_base_url_with_a_bad_port(tmp_path: Path, base_url: str) -> None:
    config = tmp_path / "federation.toml"
    result = run_cli("--config", str(config), "init", "--base-url", base_url, cwd=tmp_path)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (f"federation: --base-url {base_url!r}: the port is not a "
                                     "number from 1 to 65535")
    assert not config.exists()


@pytest.mark.parametrize(("args", "message"), [
    (["tokens", "create", "x" * 1000], "1 to 100 characters"),
    (["tokens", "create", " "], "1 to 100 characters"),
    (["follow", "http://[::1"], "not a handle"),
    (["unfollow", "http://[::1"], "not a handle"),
])
def test_odd_arguments_are_a_message_not_a_traceback(tmp_path: Path, ready_config: Path,
                                                     args: list[str], message: str) -> None:
    """Arguments the commands cannot use (found by a sweep of every command) are one line on
    stderr and exit 1."""
    result = run_cli("--config", str(ready_config), *args, cwd=tmp_path)
    assert result.returncode == 1, result
    assert message in result.stderr and "Traceback" not in result.stderr


def test_argument_longer_than_its_column_is_a_message(tmp_path: Path, ready_config: Path) -> None:
    """A value the database cannot hold (found by a sweep: `moderators remove` with a name of
    3,000 characters) is one line and exit 1, not a traceback."""
    result = run_cli("--config", str(ready_config), "moderators", "remove", "a" * 3000,
                     cwd=tmp_path)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr and len(result.stderr) < 400


@pytest.mark.parametrize("base_url, refused", [
    ("https://site.example.org", True),        # a public name
    ("https://no-such-host.invalid.org", True),  # unresolvable: cannot be shown to be loopback
    ("https://bridge.example", False),         # RFC 2606/6761 special-use names never are public
    ("https://site.test:8443", False),
    ("https://localhost:8443", False),
    ("http://127.0.0.1:8080", False),
])
def test_loopback_fetch_is_refused_with_a_public_https_base_url(
        tmp_path: Path, base_url: str, refused: bool) -> None:
    """`allow_loopback_fetch` would let any activity make a production bridge reach the
    services of its own machine: `serve`, `worker` and `check-config` refuse it (exit 2, the
    setting named) unless the public name is a loopback or test name."""
    config = tmp_path / "federation.toml"
    config.write_text(valid_toml(base_url=base_url, port=free_port(), allow_loopback_fetch=True),
                      encoding="utf-8")
    commands = (["check-config"], ["serve"], ["worker"]) if refused else (["check-config"],)
    for command in commands:
        result = run_cli("--config", str(config), *command, cwd=tmp_path, timeout=30)
        assert "Traceback" not in result.stderr
        if refused:
            assert result.returncode == 2, result
            assert "allow_loopback_fetch" in result.stderr and "refused" in result.stderr
        else:
            assert result.returncode == 0, result


def test_version_and_defaults_in_help(tmp_path: Path) -> None:
    """`--version` answers; an option's help says its default (flags and None excepted)."""
    version = run_cli("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("federation ")
    init = run_cli("init", "--help", cwd=tmp_path)
    assert "(default: http://127.0.0.1:8080)" in " ".join(init.stdout.split())
    worker = run_cli("worker", "--help", cwd=tmp_path)
    assert "(default: True)" not in worker.stdout and "(default: None)" not in worker.stdout


def test_unknown_config_key_suggests_the_close_one(tmp_path: Path) -> None:
    config = tmp_path / "federation.toml"
    config.write_text(valid_toml(port=free_port()).replace("[server]", "[server]\nprot = 1", 1)
                      .replace('data_dir = "data"', 'data_dir = "data"\ndatabse_url = ""', 1),
                      encoding="utf-8")
    result = run_cli("--config", str(config), "check-config", cwd=tmp_path)
    assert result.returncode == 2
    assert "server.prot: unknown key (did you mean 'port'?)" in result.stderr
    assert "databse_url: unknown key (did you mean 'database_url'?)" in result.stderr
