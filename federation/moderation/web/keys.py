"""Typed application state of the moderation part (used only by its own handlers)."""

from __future__ import annotations

from aiohttp import web

from federation.moderation.logins import LoginGuard
from federation.moderation.service import ModerationService

MODERATION = web.AppKey("moderation", ModerationService)
LOGIN_GUARD = web.AppKey("login_guard", LoginGuard)
