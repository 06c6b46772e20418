"""The syndication part of the web application.

- ``/admin/syndication`` — the editorial queue of sister sites' items, a page of the admin shell
  (:mod:`federation.web.admin`: moderators' session, CSRF, security headers, base template;
  French and English);
- ``/api/v1/syndication/…`` — the same decisions as JSON, with a moderator's bearer token;
- ``/feeds/syndication.{atom,json,ics}`` and ``/feeds/syndication/{source}.{atom,json,ics}`` —
  approved and stored items for the site's CMS.
"""

from __future__ import annotations

from aiohttp import web

from federation.syndication.web import admin, api, feeds


def setup(app: web.Application) -> None:
    admin.setup(app)
    api.setup(app)
    feeds.setup(app)
