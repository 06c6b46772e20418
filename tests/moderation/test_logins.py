"""Login limits (federation/moderation/logins.py): counted before the password check, so
concurrent guesses cannot pass together; per client, so that no stranger can lock a moderator
out; the client as seen through a trusted reverse proxy only."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import make_mocked_request

from federation.app import create_app
from federation.errors import TooManyRequests
from federation.moderation import accounts
from federation.moderation.logins import LoginGuard
from federation.moderation.web.keys import LOGIN_GUARD
from federation.settings import ModerationConfig, ServerConfig, Settings
from federation.web.clients import client_address

from .conftest import PASSWORD

ATTACKER = "203.0.113.66"
MODERATOR = "198.51.100.7"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every argon2 verification the login runs (the real one, counted)."""
    calls: list[bool] = []
    real = accounts.verify_password

    def counted(password_hash: str | None, password: str) -> bool:
        result = real(password_hash, password)
        calls.append(result)
        return result

    monkeypatch.setattr(accounts, "verify_password", counted)
    return calls


@pytest.fixture
async def site(database_url: str, make_settings: Callable[..., Settings],
               aiohttp_client: Any) -> Any:
    """The application behind a trusted proxy (the test client, on 127.0.0.1) with the default
    limits; no cookie jar: each request carries its own login token."""
    settings = make_settings(database_url, base_url="http://127.0.0.1:8080",
                             server={"run_worker": False, "trusted_proxies": ["127.0.0.1"]})
    client = await aiohttp_client(create_app(settings), cookie_jar=aiohttp.DummyCookieJar())
    await accounts.create_account("camille", PASSWORD)
    client.app[LOGIN_GUARD].clock = Clock()
    return client


async def _login_token(client: Any) -> str:
    response = await client.get("/admin/login")
    return response.cookies["fedmod_login"].value


async def _login(client: Any, token: str, address: str, username: str = "camille",
                 password: str = "not the password") -> aiohttp.ClientResponse:
    return await client.post(
        "/admin/login", allow_redirects=False,
        data={"csrf": token, "username": username, "password": password},
        headers={"Cookie": f"fedmod_login={token}", "X-Forwarded-For": f"10.9.9.9, {address}"},
    )


async def test_concurrent_guesses_are_counted_before_the_password_check(site, verifications):
    """60 guesses at once for one username from one client: at most the limit (5) reach argon2,
    every other one is a 429 with Retry-After (all 60 were checked when the count came after)."""
    token = await _login_token(site)
    responses = await asyncio.gather(*(_login(site, token, ATTACKER) for _ in range(60)))
    statuses = [r.status for r in responses]
    assert 1 <= len(verifications) <= 5
    assert statuses.count(401) == len(verifications)
    assert statuses.count(429) == 60 - len(verifications)
    for response in responses:
        if response.status == 429:
            assert int(response.headers["Retry-After"]) >= 1
            assert "Trop de tentatives" in await response.text()


async def test_concurrent_guesses_from_many_clients_stop_at_the_username_ceiling(
        database_url, make_settings, aiohttp_client, verifications):
    """The same from 60 addresses: the per-username ceiling (here 10) holds across clients."""
    settings = make_settings(database_url, base_url="http://127.0.0.1:8080",
                             server={"run_worker": False, "trusted_proxies": ["127.0.0.0/8"]},
                             moderation={"login_attempts_per_username_total": 10})
    client = await aiohttp_client(create_app(settings), cookie_jar=aiohttp.DummyCookieJar())
    client.app[LOGIN_GUARD].clock = Clock()
    token = await _login_token(client)
    responses = await asyncio.gather(*(_login(client, token, f"203.0.113.{n}")
                                       for n in range(60)))
    assert len(verifications) == 10
    assert sorted(r.status for r in responses) == [401] * 10 + [429] * 50


async def test_random_usernames_from_one_client_do_not_lock_out_a_moderator(site):
    """30 failed logins with made-up usernames (a global lock-out for 15 minutes before) spend
    the stranger's own count only: the moderator, from another address, logs in."""
    token = await _login_token(site)
    for number in range(30):
        response = await _login(site, token, ATTACKER, f"nobody{number}")
        assert response.status == 401, number
    assert (await _login(site, token, ATTACKER, "nobody-else")).status == 429
    response = await _login(site, token, MODERATOR, password=PASSWORD)
    assert response.status == 303 and response.headers["Location"] == "/admin/"


async def test_right_password_works_after_an_attackers_failures_from_elsewhere(site):
    """A stranger guessing camille's password is stopped after 5 failures (even the right
    password is then refused to that address); camille, elsewhere, is not held back."""
    clock = site.app[LOGIN_GUARD].clock
    token = await _login_token(site)
    for _ in range(5):
        assert (await _login(site, token, ATTACKER)).status == 401
        clock.now += 10  # past the progressive delay
    refused = await _login(site, token, ATTACKER, password=PASSWORD)
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 100
    response = await _login(site, token, MODERATOR, password=PASSWORD)
    assert response.status == 303


async def test_limits_reopen_with_time_and_the_delay_grows(site):
    """After 3 failures in a row the next try waits 1 s, then 2 s, 4 s; once the 5 are spent,
    one more every 3 minutes (a fake clock: no sleeping)."""
    clock = site.app[LOGIN_GUARD].clock
    token = await _login_token(site)
    for _ in range(3):
        assert (await _login(site, token, ATTACKER)).status == 401
    for delay in (1, 2):
        response = await _login(site, token, ATTACKER)
        assert response.status == 429 and response.headers["Retry-After"] == str(delay)
        clock.now += delay
        assert (await _login(site, token, ATTACKER)).status == 401
    clock.now += 4
    assert (await _login(site, token, ATTACKER)).status == 429  # 5 spent: 180 s per new one
    clock.now += 180
    assert (await _login(site, token, ATTACKER, password=PASSWORD)).status == 303


def test_guard_counts_before_and_gives_back_on_success():
    """A success gives back its place; a failure keeps it; keys are hashes, not addresses."""
    clock = Clock()
    guard = LoginGuard(per_username=2, per_client=3, per_username_total=100, window=60,
                       clock=clock)
    first = guard.begin("192.0.2.1", "Camille")
    guard.succeeded(first)
    guard.begin("192.0.2.1", "camille ")
    guard.begin("192.0.2.1", "CAMILLE")
    with pytest.raises(TooManyRequests):
        guard.begin("192.0.2.1", "camille")
    guard.begin("192.0.2.1", "dominique")  # the client's third failure
    with pytest.raises(TooManyRequests) as refused:
        guard.begin("192.0.2.1", "someone-else")  # the client's count (3) is spent
    assert 19 <= refused.value.retry_after <= 20
    guard.begin("192.0.2.2", "camille")  # another client is not affected
    kept = [*guard._streaks, *guard._per_client._buckets, *guard._per_username._buckets]
    assert kept and not any("192.0.2" in key or "camille" in key for key in kept)
    clock.now += 61
    guard.begin("192.0.2.1", "camille")


def test_guard_memory_is_bounded():
    """Made-up usernames from made-up addresses cost bounded memory."""
    guard = LoginGuard(per_username=5, per_client=30, per_username_total=100, window=900,
                       clock=Clock(), max_keys=50)
    for number in range(500):
        guard.begin(f"10.0.{number // 250}.{number % 250}", f"user{number}")
    assert len(guard._streaks) == 50 and len(guard._per_client) == 50


class _Transport:
    def __init__(self, peer: str) -> None:
        self.peer = peer

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return (self.peer, 54321) if name == "peername" else default


def _request(peer: str, forwarded: str | None = None) -> Any:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return make_mocked_request("POST", "/admin/login", headers=headers,
                               transport=_Transport(peer))


def test_x_forwarded_for_counts_only_from_a_trusted_proxy():
    """The header of an untrusted peer is ignored (a client writes anything there); from a
    trusted proxy the right-most address it did not add itself is the client; an IPv6 client
    is its /64."""
    trusted = ServerConfig.model_validate({"trusted_proxies": ["10.0.0.0/8"]}).trusted_proxies
    assert client_address(_request("192.0.2.9", "203.0.113.1"), trusted) == "192.0.2.9"
    assert client_address(_request("10.0.0.2", "203.0.113.1"), ()) == "10.0.0.2"
    assert client_address(_request("10.0.0.2", "1.2.3.4, 203.0.113.1"), trusted) == "203.0.113.1"
    assert client_address(_request("10.0.0.2", "203.0.113.1, 10.0.0.3"), trusted) == "203.0.113.1"
    assert client_address(_request("10.0.0.2", "garbage, 10.0.0.3"), trusted) == "10.0.0.3"
    assert client_address(_request("10.0.0.2"), trusted) == "10.0.0.2"
    assert client_address(_request("2001:db8:1:2:3:4:5:6"), ()) == "2001:db8:1:2::/64"
    assert client_address(_request("::ffff:192.0.2.5"), ()) == "192.0.2.5"


def test_the_former_global_limit_setting_is_read_as_the_per_client_one():
    """A configuration written for the global lock-out still starts, its number per client."""
    config = ModerationConfig.model_validate({"login_attempts_global": 12})
    assert config.login_attempts_per_client == 12
