"""What the admin's JSON APIs share (``/api/v1/moderation/…``, ``/api/v1/syndication/…``).

Authentication: ``Authorization: Bearer <token>`` with a moderator API token created by
``federation moderators token USERNAME``. No or an unknown token: 401. A token without the
needed scope is a 403: reading needs ``moderation:read`` or ``moderation``, acting needs
``moderation``; a CMS push token (``federation tokens``) is valid but has no moderation scope.
Answers are JSON, never cached.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from federation.db.ingest import ApiToken
from federation.errors import BadRequest, Forbidden, Unauthorized
from federation.moderation.accounts import SCOPE_MODERATION, SCOPE_READ, find_token, sha256_hex
from federation.protocol.numbers import is_ascii_digits


def json_response(data: Any, status: int = 200) -> web.Response:
    response = web.Response(body=json.dumps(data, ensure_ascii=False).encode(), status=status,
                            content_type="application/json", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


async def require_moderator(request: web.Request, *, write: bool = True) -> str:
    """The username behind the bearer token (401 without a valid one, 403 without the scope)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("a bearer token is required")
    row = await find_token(token)
    if row is None:
        if await ApiToken.filter(token_hash=sha256_hex(token), revoked_at=None).exists():
            raise Forbidden("this token has no moderation scope")
        raise Unauthorized("invalid token")
    scopes = set(row.scopes or [])
    needed = {SCOPE_MODERATION} if write else {SCOPE_MODERATION, SCOPE_READ}
    if not scopes & needed:
        raise Forbidden("this token has no scope for this request")
    return row.moderator.username


def int_param(request: web.Request, name: str, default: int | None, maximum: int) -> int | None:
    """``?name=N`` clamped to 1…``maximum``; ``default`` when absent; 400 if not a number."""
    raw = request.query.get(name)
    if raw is None:
        return default
    if not is_ascii_digits(raw.removeprefix("-")):
        raise BadRequest(f"{name} must be a number")
    return max(1, min(int(raw), maximum))
