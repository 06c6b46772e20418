"""A wrong configuration stops every command with one message listing every problem, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from federation.settings import load_settings
from tests.cli.conftest import clean_env, run_cli, valid_toml


def assert_config_error(result, *fragments: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert "invalid configuration in" in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def _broken(replacements: dict[str, str], append: str = "") -> str:
    text = valid_toml()
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    return text + append


BROKEN = {
    "unknown top-level key": (
        _broken({}, append="\nlog_ip_addresses = true\n"), ["log_ip_addresses: unknown key"]),
    "unknown nested key": (
        _broken({'timezone = "Europe/Paris"': 'timezone = "Europe/Paris"\ncolour = "red"'}),
        ["site.colour: unknown key"]),
    "bad URL": (
        _broken({'home_page = "https://site.example/"': 'home_page = "site.example"'}),
        ["site.home_page: must be an absolute http(s) URL"]),
    "http base_url on a public host": (
        _broken({'base_url = "https://bridge.example"': 'base_url = "http://bridge.example"'}),
        ["base_url: must use https"]),
    "base_url with a path": (
        _broken({'base_url = "https://bridge.example"': 'base_url = "https://b.example/x"'}),
        ["base_url: must be an origin"]),
    "internationalised base_url in Unicode": (
        _broken({'base_url = "https://bridge.example"': 'base_url = "https://faß.example"'}),
        ["base_url: write an internationalised host name in its ASCII (xn--) form"]),
    "bad timezone": (
        _broken({'timezone = "Europe/Paris"': 'timezone = "Europe"'}),
        ["site.timezone: unknown timezone 'Europe'"]),
    "bad language": (
        _broken({'language = "fr"': 'language = "Français"'}), ["site.language: must be a language"]),
    "bad actor type": (
        _broken({'name = "Collectif Changer de cap"':
                 'name = "Collectif Changer de cap"\ntype = "Robot"'}),
        ["collectives[1].type: Input should be"]),
    "duplicate identifier": (
        _broken({'identifier = "changer-de-cap"': 'identifier = "site"'}),
        ["collectives[1].identifier: identifier 'site' is already used by site_actor"]),
    "duplicate username, other case": (
        _broken({'username = "changerdecap"': 'username = "LeNumeroZero"'}),
        ["collectives[1].username: username 'LeNumeroZero' is already used by site_actor"]),
    "bad port": (_broken({"port = 8080": "port = 99999"}), ["server.port:"]),
    "bad database URL": (
        _broken({'data_dir = "data"': 'data_dir = "data"\ndatabase_url = "mysql://x/y"'}),
        ["database_url: must start with sqlite://"]),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_check_config_reports_the_problem_with_exit_2(tmp_path: Path, case: str) -> None:
    """Each kind of mistake is reported with its key and what is wrong, without a traceback."""
    text, fragments = BROKEN[case]
    path = tmp_path / "federation.toml"
    path.write_text(text, encoding="utf-8")
    result = run_cli("--config", str(path), "check-config", cwd=tmp_path)
    assert_config_error(result, str(path), *fragments)


def test_every_problem_is_listed_at_once_duplicates_included(tmp_path: Path) -> None:
    """Field errors do not hide the duplicate check: one message lists all of them."""
    text = _broken({
        'base_url = "https://bridge.example"': 'base_url = "http://bridge.example"',
        'timezone = "Europe/Paris"': 'timezone = "Mars/Olympus"',
        'language = "fr"': 'language = "x"',
        'identifier = "changer-de-cap"': 'identifier = "site"',
        'username = "changerdecap"': 'username = "halteaucontrolenumerique"',
        'name = "Collectif Changer de cap"': 'name = "Collectif Changer de cap"\ntype = "Bot"',
    }, append="\nunknown = 1\n")
    path = tmp_path / "federation.toml"
    path.write_text(text, encoding="utf-8")
    result = run_cli("--config", str(path), "check-config", cwd=tmp_path)
    assert_config_error(
        result, "base_url:", "site.timezone:", "site.language:", "collectives[1].type:",
        "collectives[1].identifier: identifier 'site' is already used",
        "collectives[1].username: username 'halteaucontrolenumerique' is already used "
        "by collectives[0]", "unknown: unknown key",
    )
    assert result.stderr.count("\n  - ") == 7


def test_missing_file_and_invalid_toml(tmp_path: Path) -> None:
    """A missing file and a TOML syntax error name the file and the problem."""
    missing = run_cli("--config", str(tmp_path / "nope.toml"), "check-config", cwd=tmp_path)
    assert_config_error(missing, "nope.toml", "file not found")
    bad = tmp_path / "bad.toml"
    bad.write_text('base_url = "https://x.example\n[site\n', encoding="utf-8")
    invalid = run_cli("--config", str(bad), "check-config", cwd=tmp_path)
    assert_config_error(invalid, "bad.toml", "not valid TOML", "line 1")


@pytest.mark.parametrize("command", [["serve"], ["migrate"], ["actors", "list"],
                                     ["keys", "rotate", "site"]])
def test_every_command_refuses_a_broken_config(tmp_path: Path, command: list[str]) -> None:
    """serve, migrate and the admin commands stop before doing anything, exit 2."""
    text, fragments = BROKEN["bad timezone"]
    path = tmp_path / "federation.toml"
    path.write_text(text, encoding="utf-8")
    result = run_cli("--config", str(path), *command, cwd=tmp_path, timeout=30)
    assert_config_error(result, *fragments)
    assert not (tmp_path / "data").exists()


def test_serve_and_migrate_report_a_missing_file(tmp_path: Path) -> None:
    for command in ("serve", "migrate"):
        result = run_cli("--config", str(tmp_path / "absent.toml"), command, cwd=tmp_path)
        assert_config_error(result, "absent.toml", "file not found")


def test_config_from_option_env_and_default_path(tmp_path: Path) -> None:
    """--config PATH wins, then $FEDERATION_CONFIG, then config/federation.toml."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "federation.toml").write_text(
        valid_toml(base_url="https://default.example"), encoding="utf-8")
    other = tmp_path / "other.toml"
    other.write_text(valid_toml(base_url="https://env.example"), encoding="utf-8")
    explicit = tmp_path / "explicit.toml"
    explicit.write_text(valid_toml(base_url="https://explicit.example"), encoding="utf-8")

    default = run_cli("check-config", cwd=tmp_path)
    assert default.returncode == 0, default.stderr
    assert "https://default.example" in default.stdout
    from_env = run_cli("check-config", cwd=tmp_path,
                       env=clean_env(FEDERATION_CONFIG=str(other)))
    assert "https://env.example" in from_env.stdout
    from_option = run_cli("--config", str(explicit), "check-config", cwd=tmp_path,
                          env=clean_env(FEDERATION_CONFIG=str(other)))
    assert "https://explicit.example" in from_option.stdout


def test_environment_overrides_are_applied_and_validated(tmp_path: Path) -> None:
    """FEDERATION_BASE_URL, FEDERATION_DATABASE_URL and FEDERATION_SERVER__PORT override the file."""
    path = tmp_path / "federation.toml"
    path.write_text(valid_toml(), encoding="utf-8")
    ok = run_cli("--config", str(path), "check-config", cwd=tmp_path,
                 env=clean_env(FEDERATION_BASE_URL="https://from-env.example"))
    assert ok.returncode == 0 and "https://from-env.example" in ok.stdout
    bad = run_cli("--config", str(path), "check-config", cwd=tmp_path, env=clean_env(
        FEDERATION_BASE_URL="http://public.example", FEDERATION_DATABASE_URL="oracle://db",
        FEDERATION_SERVER__PORT="eighty"))
    assert_config_error(bad, "base_url: must use https", "database_url: must start with",
                        "server.port:")


def test_environment_overrides_in_process(tmp_path: Path) -> None:
    """The environment mapping reaches nested tables and typed values; test variables are ignored."""
    path = tmp_path / "federation.toml"
    path.write_text(valid_toml(), encoding="utf-8")
    settings = load_settings(path, env={
        "FEDERATION_BASE_URL": "http://127.0.0.1:9000",
        "FEDERATION_DATABASE_URL": "postgresql://u@db.example/federation",
        "FEDERATION_SERVER__PORT": "9000",
        "FEDERATION_SERVER__RUN_WORKER": "false",
        "FEDERATION_TEST_DATABASE_URL": "ignored",
        "OTHER": "ignored",
    })
    assert settings.base_url == "http://127.0.0.1:9000"
    assert settings.host == "127.0.0.1:9000"
    assert settings.database_url == "postgresql://u@db.example/federation"
    assert settings.server.port == 9000 and settings.server.run_worker is False
    assert settings.data_dir == tmp_path / "data"  # relative to the file


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8080", "http://localhost:8080",
                                      "http://[::1]:8080", "https://bridge.example/"])
def test_loopback_http_and_https_base_urls_are_valid(tmp_path: Path, base_url: str) -> None:
    path = tmp_path / "federation.toml"
    path.write_text(valid_toml(base_url=base_url), encoding="utf-8")
    assert load_settings(path, env={}).base_url == base_url.rstrip("/")
