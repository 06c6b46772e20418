"""The admin's pages for running the site's federation, under ``/admin/`` (admins only:
:func:`~federation.web.admin.guard.require_admin`).

- ``/admin/federation`` — an overview with a count per page;
- ``/admin/followers`` — followers per collective, pending follow requests (approve, reject:
  the ``Accept``/``Reject`` goes through the delivery queue), remove a follower;
- ``/admin/feeds`` — feeds with their last poll and error; add, remove, poll now (the feed's
  job is made due: a worker polls it, never the request);
- ``/admin/following`` — sister sites and relays we follow, with their state (rejected
  included); follow by handle or URL, subscribe to a relay, change the policy, unfollow;
- ``/admin/tokens`` — the CMS clients' API tokens (never their secret), create (the secret
  shown once, in the answer to the POST), revoke;
- ``/admin/deliveries`` — the delivery queue per host: deliveries by state, hosts set aside,
  retry now, drop.

Blocks stay the moderation UI's page (``/admin/blocks``): linked from here, not duplicated.
Every handler calls the service the CLI command calls (docs/admin.md has the table); no
JavaScript is needed for any action (forms, 303 redirects).
"""

from __future__ import annotations

from aiohttp import web

from federation.web import admin as shell
from federation.web.admin import NavItem
from federation.web.manage.pages import routes


def setup(app: web.Application) -> None:
    shell.register(app,
                   nav=[NavItem("federation", "/admin/federation", "nav.federation",
                                admin_only=True)])
    app.router.add_routes(routes)
