"""The publishing part of the web application: ``/admin/actors``, where administrators
create, edit and retire the collectives (a page of the admin shell,
:mod:`federation.web.admin`; administrators only)."""

from __future__ import annotations

from aiohttp import web

from federation.publishing.web import admin


def setup(app: web.Application) -> None:
    admin.setup(app)
