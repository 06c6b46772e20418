"""Assembling the inbox: a ready :class:`Receiver` for the listeners it is given.

The listeners by activity type are composed above the services (``LISTENERS`` in
:mod:`federation.services`): syndication's listeners are built on the inbox, so the inbox
cannot import them.
"""

from __future__ import annotations

from datetime import timedelta

from federation.delivery.health import host_contacted
from federation.identity.directory import ActorDirectory
from federation.inbox.blocks import BlockList
from federation.inbox.context import InboxServices
from federation.inbox.limits import InboxLimits
from federation.inbox.processor import Listener, Processor
from federation.inbox.receive import Receiver
from federation.metrics import Metrics
from federation.remote.actors import DatabaseKeyCache, RemoteActorStore
from federation.remote.budget import FetchLimiter
from federation.remote.client import HardenedClient
from federation.remote.keys import KeyResolver
from federation.settings import Settings


def build_receiver(settings: Settings, directory: ActorDirectory, client: HardenedClient,
                   listeners: dict[str, Listener], metrics: Metrics | None = None) -> Receiver:
    """A receiver wired to the database-backed actor store and key cache, dispatching to
    ``listeners`` (activity type → listener; types not listed are acknowledged and ignored)."""
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
    processor = Processor(settings, listeners)
    return Receiver(services, resolver, keys, processor, host_contacted, metrics=metrics)
