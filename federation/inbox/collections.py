"""The followers and following collections of a local actor (accepted relations only).

Privacy decision: by default only the *count* is public (``totalItems``, what Mastodon shows on
a profile); the list of who follows a collective — activists, often — is not published
(Mastodon's "hide network"). The summary then has no ``first`` page, and a ``?page=`` request
gets the same summary. ``[inbox] publish_follower_lists = true`` publishes paged lists, newest
first. Pending and rejected follows never count and never appear.
"""

from __future__ import annotations

from typing import Any

from federation.db import column
from federation.db.social import Follower, Following, FollowState
from federation.identity.directory import LocalActor
from federation.protocol.activities import ordered_collection
from federation.protocol.collections import PageRequest, build_collection, build_page
from federation.protocol.jsonld import with_context


def hidden_collection(collection_uri: str, total: int) -> dict[str, Any]:
    """An ``OrderedCollection`` that tells how many items it has, and not which."""
    return with_context(ordered_collection(collection_uri, total))


async def _collection(query: Any, uri_field: str, collection_uri: str, page: PageRequest,
                      publish: bool) -> dict[str, Any]:
    total = await query.count()
    if not publish:
        return hidden_collection(collection_uri, total)
    if page.page is None:
        return build_collection(collection_uri, total, page.size)
    items = await column(query.order_by("-id").offset(page.offset).limit(page.size), uri_field)
    return build_page(collection_uri, page, total, [str(item) for item in items])


async def followers_collection(actor: LocalActor, collection_uri: str, page: PageRequest,
                               *, publish: bool) -> dict[str, Any]:
    """The accepted followers of ``actor``: the count, and the list only when ``publish``."""
    query = Follower.filter(actor_id=actor.db_id, state=FollowState.ACCEPTED)
    return await _collection(query, "remote__uri", collection_uri, page, publish)


async def following_collection(actor: LocalActor, collection_uri: str, page: PageRequest,
                               *, publish: bool) -> dict[str, Any]:
    """The accepted follows of ``actor`` (sister sites, relays): count, list when ``publish``."""
    query = Following.filter(actor_id=actor.db_id, state=FollowState.ACCEPTED)
    return await _collection(query, "target_uri", collection_uri, page, publish)
