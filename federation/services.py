"""The composition root: the one place that builds the bridge's object graph.

``async with open_services(settings) as services:`` opens the database, loads the actor
directory (keys from the vault), and builds once the outbound client, the publisher and the
inbox's receiver; ``serve`` (:mod:`federation.app`), ``federation worker`` and the CLI
commands take what they need from the :class:`Services` it yields, and the background loops of
both processes are built from it (:class:`federation.web.loops.Loops`).

It ranks above every service: it composes the inbox's listeners with syndication's and
moderation's (``LISTENERS``), which is why the inbox itself imports neither.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver

from federation.db.lifecycle import open_database
from federation.identity.directory import ActorDirectory, open_vault
from federation.identity.signers import signer_for
from federation.inbox import follows, interactions, quotes, replies
from federation.inbox.processor import Listener, first_of
from federation.inbox.receive import Receiver
from federation.inbox.service import build_receiver
from federation.metrics import Metrics
from federation.publishing.service import Publisher
from federation.remote.client import ClientPolicy, HardenedClient
from federation.settings import Settings
from federation.signing.keys import KeyVault
from federation.syndication import listeners as syndication

#: Activity type → listener. Types not listed are acknowledged and ignored. Syndication comes
#: first for what followed sister sites publish; it declines replies and boosts of our own
#: objects, which reach moderation and interactions as before.
LISTENERS: dict[str, Listener] = {
    "Follow": follows.on_follow,
    "Accept": first_of(syndication.on_relay_answer, follows.on_follow_answer),
    "Reject": first_of(syndication.on_relay_answer, follows.on_follow_answer),
    # quotes first: a quote of our object is kept as a quote, any other note as a reply
    "Create": first_of(syndication.on_create, quotes.on_create),
    "Update": first_of(syndication.on_update, replies.on_update),
    "Delete": first_of(syndication.on_delete, replies.on_delete),
    "ReplyRequest": replies.on_reply_request,
    "QuoteRequest": quotes.on_quote_request,
    "Like": interactions.on_like_or_announce,
    "EmojiReact": interactions.on_like_or_announce,
    "Announce": first_of(syndication.on_announce, interactions.on_like_or_announce),
    "Undo": interactions.on_undo,
    "Flag": interactions.on_flag,
    "Block": interactions.on_block,
}


@dataclass(frozen=True)
class Services:
    """The parts of one bridge process, built once by :func:`open_services`."""

    settings: Settings
    vault: KeyVault
    directory: ActorDirectory
    #: The one hardened outbound client; every GET it sends is signed by the site actor
    #: (servers in authorized-fetch mode answer 401 to unsigned ones); feeds and webhooks ask
    #: for ``sign=False``.
    client: HardenedClient
    #: Turns site content into stored objects and sent activities.
    publisher: Publisher
    #: The inbox's receive pipeline (verify, authorize, de-duplicate, process).
    receiver: Receiver
    #: What this process counts for Prometheus (served only with ``[metrics] listen``).
    metrics: Metrics


def client_policy(settings: Settings) -> ClientPolicy:
    """The outbound client's limits for ``settings`` (loopback only when explicitly allowed)."""
    return ClientPolicy(allow_loopback=settings.allow_loopback_fetch,
                        limit=settings.delivery.max_connections,
                        limit_per_host=max(4, settings.delivery.per_host_concurrency))


@asynccontextmanager
async def open_services(settings: Settings, *, resolver: AbstractResolver | None = None,
                        vault: KeyVault | None = None,
                        sync: bool = True) -> AsyncIterator[Services]:
    """Open the database and build the process's services; close them after the block.

    ``resolver``: the DNS resolver under the client's address checks (the system's by default;
    tests give a table of names so that peers on loopback keep real host names). ``vault``: the
    key vault (opened from ``data_dir`` by default). ``sync``: write the configured actors and
    their keys to the database (``serve``; at most one process at a time), or only load them
    (``federation worker`` and the commands that change no actor).
    """
    vault = vault if vault is not None else open_vault(settings.data_dir)
    async with open_database(settings.effective_database_url):
        directory = ActorDirectory(settings, vault)
        if sync:
            await directory.sync()
        else:
            await directory.load()
        metrics = Metrics()
        async with HardenedClient(client_policy(settings),
                                  signer_for(directory, settings.site_actor.identifier),
                                  resolver=resolver) as client:
            yield Services(settings, vault, directory, client,
                           Publisher.for_site(directory, settings),
                           build_receiver(settings, directory, client, LISTENERS, metrics),
                           metrics)
