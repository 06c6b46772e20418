"""Typed application state shared by the handlers (aiohttp ``AppKey``s, no string keys)."""

from __future__ import annotations

from aiohttp import web

from federation.identity.directory import ActorDirectory
from federation.inbox.receive import Receiver
from federation.publishing.service import Publisher
from federation.remote.client import HardenedClient
from federation.services import Services
from federation.settings import Settings
from federation.signing.keys import KeyVault
from federation.web.readcache import READ_CACHE

#: Everything below, built once by :func:`federation.services.open_services` (``app.py``).
SERVICES = web.AppKey("services", Services)
SETTINGS = web.AppKey("settings", Settings)
VAULT = web.AppKey("vault", KeyVault)
DIRECTORY = web.AppKey("directory", ActorDirectory)
#: The one hardened outbound client; every GET it sends is signed by the site actor.
CLIENT = web.AppKey("client", HardenedClient)
#: Turns site content into stored objects and sent activities (publishing).
PUBLISHER = web.AppKey("publisher", Publisher)
#: The inbox's receive pipeline (verify, authorize, de-duplicate, process).
INBOX = web.AppKey("inbox", Receiver)
#: READ_CACHE: prepared answers to public GETs (:mod:`federation.web.readcache`).
__all__ = ["CLIENT", "DIRECTORY", "INBOX", "PUBLISHER", "READ_CACHE", "SERVICES", "SETTINGS",
           "SOFTWARE_VERSION", "VAULT"]
#: The package's version, read once when the app is built (NodeInfo).
SOFTWARE_VERSION = web.AppKey("software_version", str)
