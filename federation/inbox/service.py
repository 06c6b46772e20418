"""Assembling the inbox: the listeners by activity type, and a ready :class:`Receiver`."""

from __future__ import annotations

from datetime import timedelta

from federation.delivery.health import host_contacted
from federation.identity.directory import ActorDirectory
from federation.inbox import follows, interactions, quotes, replies
from federation.inbox.blocks import BlockList
from federation.inbox.context import InboxServices
from federation.inbox.limits import InboxLimits
from federation.inbox.processor import Listener, Processor
from federation.inbox.receive import Receiver
from federation.remote.actors import DatabaseKeyCache, RemoteActorStore
from federation.remote.budget import FetchLimiter
from federation.remote.client import HardenedClient
from federation.remote.keys import KeyResolver
from federation.settings import Settings
from federation.syndication import listeners as syndication
from federation.syndication.listeners import first_of

#: Activity type → listener. Types not listed are acknowledged and ignored. Syndication comes
#: first for what followed sister sites publish; it declines replies and boosts of our own
#: objects, which reach moderation and interactions as before.
LISTENERS: dict[str, Listener] = {
    "Follow": follows.on_follow,
    "Accept": first_of(syndication.on_relay_answer, follows.on_follow_answer),
    "Reject": first_of(syndication.on_relay_answer, follows.on_follow_answer),
    "Create": first_of(syndication.on_create, replies.on_create),
    "Update": first_of(syndication.on_update, replies.on_update),
    "Delete": first_of(syndication.on_delete, replies.on_delete),
    "ReplyRequest": replies.on_reply_request,
    "QuoteRequest": quotes.on_quote_request,
    "Like": interactions.on_like_or_announce,
    "Announce": first_of(syndication.on_announce, interactions.on_like_or_announce),
    "Undo": interactions.on_undo,
    "Flag": interactions.on_flag,
}


def build_receiver(settings: Settings, directory: ActorDirectory, client: HardenedClient) -> Receiver:
    """A receiver wired to the database-backed actor store and key cache."""
    refresh = timedelta(hours=settings.inbox.actor_refresh_hours)
    store = RemoteActorStore(client, local_origin=settings.base_url, refresh_after=refresh)
    keys = DatabaseKeyCache(refresh)
    limiter = FetchLimiter(settings.inbox.key_fetches_per_host, settings.inbox.key_fetches_total,
                           settings.inbox.key_fetch_window_seconds)
    resolver = KeyResolver(client, cache=keys, local_origin=settings.base_url,
                           on_actor=store.remember, limiter=limiter)
    services = InboxServices(settings, directory, client, store, BlockList(settings),
                             InboxLimits(settings.inbox.limits))
    services.followed.listen()
    processor = Processor(settings, LISTENERS)
    return Receiver(services, resolver, keys, processor, host_contacted)
