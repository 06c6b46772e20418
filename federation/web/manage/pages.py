"""The handlers of :mod:`federation.web.manage`: thin, each action one service call."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from federation.db.delivery import DeliveryState
from federation.db.ingest import ApiToken, Feed, FeedKind
from federation.db.social import Block, Follower, Following, FollowState, SyndicationPolicy
from federation.delivery.hosts import drop_host, queue_by_host, require_known, retry_host
from federation.errors import BadRequest, FederationError
from federation.identity.directory import ActorDirectory, LocalActor
from federation.inbox import follows
from federation.ingest import sources, tokens
from federation.ingest.sources import DEFAULT_INTERVAL_SECONDS
from federation.moderation.accounts import SessionInfo
from federation.protocol.numbers import is_ascii_digits
from federation.protocol.uris import link_url
from federation.syndication import subscriptions
from federation.web import admin as shell
from federation.web.admin import format_time, see_other, site_zone
from federation.web.admin.guard import admin_form, require_admin
from federation.web.state import CLIENT, DIRECTORY, SETTINGS

routes = web.RouteTableDef()

_env = shell.environment("federation.web.manage")

#: Rows shown per list (the rest is counted, and reachable from the CLI).
LIMIT = 200
HOSTS_SHOWN = 200
POLICIES = [str(p) for p in SyndicationPolicy]
KINDS = [str(k.value) for k in FeedKind]
SECTIONS = [("followers", "/admin/followers"), ("feeds", "/admin/feeds"),
            ("following", "/admin/following"), ("tokens", "/admin/tokens"),
            ("deliveries", "/admin/deliveries")]


async def _render(request: web.Request, session: SessionInfo, template: str, section: str, *,
                  status: int = 200, error: str = "", **context: Any) -> web.Response:
    return await shell.render(request, _env, template, session, status=status,
                              request_path=request.path_qs, view="federation", section=section,
                              sections=SECTIONS, error=error, failures=shell.failures(request),
                              **context)


def _one(form: Any, actions: tuple[str, ...]) -> tuple[str, str]:
    """The ``one=<action>:<argument>`` of a row's button; 400 for an unknown action."""
    action, _, argument = str(form.get("one", "")).partition(":")
    if action not in actions or not argument:
        raise web.HTTPBadRequest(text="400: unknown action\n")
    return action, argument


async def _unconfirmed(request: web.Request, session: SessionInfo, form: Any, *,
                       question: str, subject: str,
                       fields: dict[str, str] | None = None) -> web.Response | None:
    """An action that cannot be undone runs only once confirmed: without ``confirm=yes`` the
    answer is a page asking (the same form, confirmed, and a way back), without JavaScript;
    ``None`` once confirmed."""
    if form.get("confirm") == "yes":
        return None
    return await _render(request, session, "confirm.html", "", question=question,
                         subject=subject, one=str(form.get("one", "")), fields=fields or {},
                         target=request.path)


def _row_id(text: str, what: str) -> int:
    if not is_ascii_digits(text) or len(text) > 11:
        raise web.HTTPBadRequest(text=f"400: bad {what} id\n")
    return int(text)


def _collectives(directory: ActorDirectory) -> list[LocalActor]:
    return list(directory.all())


# -- overview -----------------------------------------------------------------------------


@routes.get("/admin/federation")
@require_admin
async def overview(request: web.Request, session: SessionInfo) -> web.Response:
    counts = {
        "followers": await Follower.filter(state=FollowState.ACCEPTED).count(),
        "pending": await Follower.filter(state=FollowState.PENDING).count(),
        "feeds": await Feed.all().count(),
        "failing_feeds": await Feed.filter(failures__gt=0).count(),
        "following": await Following.all().count(),
        "tokens": await ApiToken.filter(revoked_at=None).count(),
        "blocks": await Block.all().count(),
    }
    hosts = await queue_by_host(HOSTS_SHOWN)
    counts["pending_deliveries"] = sum(h.pending for h in hosts)
    counts["hosts_aside"] = sum(1 for h in hosts if h.set_aside)
    return await _render(request, session, "overview.html", "", counts=counts)


# -- followers ----------------------------------------------------------------------------


def _follower_view(row: Follower, zone: Any) -> dict[str, Any]:
    remote = row.remote
    return {"id": row.id, "handle": remote.handle, "name": remote.name or "",
            "uri": remote.uri, "href": link_url(remote.url or "") or link_url(remote.uri),
            "since": format_time(row.created_at, zone)}


@routes.get("/admin/followers")
@require_admin
async def followers_page(request: web.Request, session: SessionInfo) -> web.Response:
    directory = request.app[DIRECTORY]
    actors = _collectives(directory)
    wanted = request.query.get("actor", "")
    if wanted:
        actor = directory.get(wanted)  # 404 for an unknown actor
    else:  # the first with pending requests, else the first collective
        pending_ids: set[Any] = set(await Follower.filter(state=FollowState.PENDING)
                                    .values_list("actor_id", flat=True))
        actor = next((a for a in actors if a.db_id in pending_ids),
                     next((a for a in actors if not a.is_site_actor), actors[0]))
    zone = site_zone(request)
    tabs = []
    for candidate in actors:
        tabs.append({"identifier": candidate.identifier, "name": candidate.config.name,
                     "pending": await Follower.filter(actor_id=candidate.db_id,
                                                      state=FollowState.PENDING).count()})
    cursor = shell.page_cursor(request)  # pages of accepted followers, oldest first
    pending = await follows.followers_of(directory, actor.identifier, FollowState.PENDING,
                                         limit=LIMIT)
    accepted = await follows.followers_of(directory, actor.identifier, FollowState.ACCEPTED,
                                          after=cursor, limit=LIMIT + 1)
    more = len(accepted) > LIMIT
    accepted = accepted[:LIMIT]
    return await _render(
        request, session, "followers.html", "followers", actor=actor.identifier,
        manual=actor.config.manually_approves_followers, tabs=tabs,
        pending=[_follower_view(r, zone) for r in pending],
        pending_total=await follows.count_followers(directory, actor.identifier,
                                                    FollowState.PENDING),
        accepted=[_follower_view(r, zone) for r in accepted],
        accepted_total=await follows.count_followers(directory, actor.identifier),
        next_cursor=accepted[-1].id if more else None)


@routes.post("/admin/followers")
@require_admin
async def followers_act(request: web.Request, session: SessionInfo) -> web.Response:
    """``one=approve|reject|remove:<follower id>`` for the collective ``actor``."""
    form = await admin_form(request, session)
    directory = request.app[DIRECTORY]
    identifier = str(form.get("actor", ""))
    action, raw_id = _one(form, ("approve", "reject", "remove"))
    follower = await follows.follower_by_id(directory, identifier, _row_id(raw_id, "follower"))
    if action == "remove":
        await follower.fetch_related("remote")
        page = await _unconfirmed(request, session, form, question="confirm.remove_follower",
                                  subject=follower.remote.handle, fields={"actor": identifier})
        if page is not None:
            return page
        await follows.remove_follower(directory, follower)
    else:
        await follows.answer_follower(directory, follower, accept=action == "approve")
    raise see_other("/admin/followers", actor=identifier, msg="done")


# -- feeds --------------------------------------------------------------------------------


def _feed_view(feed: Feed, zone: Any) -> dict[str, Any]:
    return {"id": feed.id, "url": feed.url, "href": link_url(feed.url), "kind": feed.kind.value,
            "actor": feed.actor.identifier, "interval": feed.interval_seconds,
            "failures": feed.failures, "last_error": feed.last_error[:300],
            "last_polled": format_time(feed.last_polled_at, zone),
            "last_success": format_time(feed.last_success_at, zone),
            "next": format_time(feed.next_poll_at, zone), "primed": feed.primed}


async def _feeds(request: web.Request, session: SessionInfo, *, status: int = 200,
                 error: str = "", values: dict[str, str] | None = None) -> web.Response:
    zone = site_zone(request)
    feeds = await sources.list_feeds()
    return await _render(request, session, "feeds.html", "feeds", status=status, error=error,
                         feeds=[_feed_view(f, zone) for f in feeds], kinds=KINDS,
                         actors=[a.identifier for a in _collectives(request.app[DIRECTORY])],
                         values=values or {"interval": str(DEFAULT_INTERVAL_SECONDS)})


@routes.get("/admin/feeds")
@require_admin
async def feeds_page(request: web.Request, session: SessionInfo) -> web.Response:
    return await _feeds(request, session)


@routes.post("/admin/feeds")
@require_admin
async def feeds_act(request: web.Request, session: SessionInfo) -> web.Response:
    """``action=add`` (``actor``, ``url``, ``kind``, ``interval``), or
    ``one=poll|remove:<feed id>``."""
    form = await admin_form(request, session)
    if form.get("action") == "add":
        values = {name: str(form.get(name, "")) for name in ("actor", "url", "kind", "interval")}
        try:
            interval = values["interval"].strip()
            if not is_ascii_digits(interval) or len(interval) > 9:
                raise BadRequest("the interval is a number of seconds")
            if values["kind"] and values["kind"] not in KINDS:
                raise BadRequest("unknown feed format")
            await sources.add_feed(request.app[DIRECTORY], values["actor"], values["url"],
                                   kind=FeedKind(values["kind"]) if values["kind"] else None,
                                   interval_seconds=int(interval))
        except FederationError as failure:
            return await _feeds(request, session, status=failure.http_status,
                                error=failure.message, values=values)
        raise see_other("/admin/feeds", msg="done")
    action, raw_id = _one(form, ("poll", "remove"))
    feed_id = _row_id(raw_id, "feed")
    if action == "poll":
        await sources.poll_soon(feed_id)
    else:
        feed = await sources.get_feed(feed_id)
        page = await _unconfirmed(request, session, form, question="confirm.remove_feed",
                                  subject=feed.url)
        if page is not None:
            return page
        await sources.remove_feed(feed_id)
    raise see_other("/admin/feeds", msg="done")


# -- sister sites and relays --------------------------------------------------------------


async def _following(request: web.Request, session: SessionInfo, *, status: int = 200,
                     error: str = "", values: dict[str, str] | None = None) -> web.Response:
    zone = site_zone(request)
    rows = await subscriptions.following_of(None, request.app[DIRECTORY])
    items = []
    for row in rows:
        described = subscriptions.describe(row)
        described.update(href=link_url(row.target_uri),
                          since=format_time(row.created_at, zone),
                          decided=format_time(row.decided_at, zone))
        items.append(described)
    return await _render(request, session, "following.html", "following", status=status,
                         error=error, items=items, policies=POLICIES,
                         actors=[a.identifier for a in _collectives(request.app[DIRECTORY])],
                         site_actor=request.app[DIRECTORY].site_actor.identifier,
                         values=values or {})


@routes.get("/admin/following")
@require_admin
async def following_page(request: web.Request, session: SessionInfo) -> web.Response:
    return await _following(request, session)


def _policy(value: str) -> SyndicationPolicy:
    if value not in POLICIES:
        raise BadRequest("unknown policy (announce, review or store)")
    return SyndicationPolicy(value)


@routes.post("/admin/following")
@require_admin
async def following_act(request: web.Request, session: SessionInfo) -> web.Response:
    """``action=follow`` (``target``, ``as``, ``policy``), ``action=relay`` (``url``,
    ``style``, ``policy``), or ``one=policy|unfollow:<follow id>`` (``policy-<id>``)."""
    form = await admin_form(request, session)
    directory = request.app[DIRECTORY]
    action = str(form.get("action", ""))
    if action in ("follow", "relay"):
        values = {name: str(form.get(name, ""))
                  for name in ("target", "as", "policy", "url", "style")}
        store = subscriptions.store_for(request.app[SETTINGS], request.app[CLIENT])
        try:  # a WebFinger and actor GET (as the CLI does); the Follow itself is queued
            policy = _policy(values["policy"] or "review")
            if action == "follow":
                await subscriptions.follow(directory, store, values["target"],
                                           as_actor=values["as"] or None, policy=policy)
            else:
                style = values["style"]
                if style and style not in [str(s) for s in subscriptions.RelayStyle]:
                    raise BadRequest("unknown relay kind (mastodon or litepub)")
                await subscriptions.subscribe_relay(
                    directory, store, values["url"], policy=policy,
                    style=subscriptions.RelayStyle(style) if style else None)
        except FederationError as failure:
            return await _following(request, session, status=failure.http_status,
                                    error=failure.message, values=values)
        raise see_other("/admin/following", msg="done")
    one, raw_id = _one(form, ("policy", "unfollow"))
    row = await subscriptions.following_by_id(_row_id(raw_id, "follow"))
    if one == "policy":
        await subscriptions.set_policy(row, _policy(str(form.get(f"policy-{row.id}", ""))))
    else:
        page = await _unconfirmed(request, session, form, question="confirm.unfollow",
                                  subject=row.remote.handle if row.remote else row.target_uri)
        if page is not None:
            return page
        await subscriptions.unfollow(directory, row)
    raise see_other("/admin/following", msg="done")


# -- API tokens ---------------------------------------------------------------------------


async def _tokens(request: web.Request, session: SessionInfo, *, status: int = 200,
                  error: str = "", secret: str = "", created: str = "",
                  values: dict[str, Any] | None = None) -> web.Response:
    zone = site_zone(request)
    rows = await tokens.list_tokens()
    items = [{"id": t.id, "name": t.name, "prefix": t.prefix, "actors": list(t.actors),
              "revoked": t.revoked_at is not None, "created": format_time(t.created_at, zone),
              "revoked_at": format_time(t.revoked_at, zone),
              "last_used": format_time(t.last_used_at, zone)} for t in rows]
    return await _render(request, session, "tokens.html", "tokens", status=status, error=error,
                         items=items, secret=secret, created=created,
                         actors=[a.identifier for a in _collectives(request.app[DIRECTORY])],
                         values=values or {"name": "", "actors": []})


@routes.get("/admin/tokens")
@require_admin
async def tokens_page(request: web.Request, session: SessionInfo) -> web.Response:
    return await _tokens(request, session)


@routes.post("/admin/tokens")
@require_admin
async def tokens_act(request: web.Request, session: SessionInfo) -> web.Response:
    """``action=create`` (``name``, checked ``actors``): the answer shows the secret once
    (never in a URL, never stored); or ``one=revoke:<token id>``."""
    form = await admin_form(request, session)
    if form.get("action") == "create":
        name = str(form.get("name", ""))
        actors = [str(a) for a in form.getall("actors", [])][:100]
        try:
            token = await tokens.create_token(name, actors, directory=request.app[DIRECTORY])
        except FederationError as failure:
            return await _tokens(request, session, status=failure.http_status,
                                 error=failure.message, values={"name": name, "actors": actors})
        return await _tokens(request, session, secret=token.secret, created=token.name)
    _, raw_id = _one(form, ("revoke",))
    token_id = _row_id(raw_id, "token")
    row = await ApiToken.get_or_none(id=token_id, revoked_at=None) if token_id < 2**31 else None
    if row is not None:  # (an unknown one: the service's 404)
        page = await _unconfirmed(request, session, form, question="confirm.revoke",
                                  subject=row.name)
        if page is not None:
            return page
    await tokens.revoke_token_id(token_id)
    raise see_other("/admin/tokens", msg="done")


# -- delivery queue -----------------------------------------------------------------------


@routes.get("/admin/deliveries")
@require_admin
async def deliveries_page(request: web.Request, session: SessionInfo) -> web.Response:
    hosts = await queue_by_host(HOSTS_SHOWN)
    return await _render(request, session, "deliveries.html", "deliveries", hosts=hosts,
                         states=[str(s) for s in DeliveryState])


@routes.post("/admin/deliveries")
@require_admin
async def deliveries_act(request: web.Request, session: SessionInfo) -> web.Response:
    """``one=retry|drop:<host>``."""
    form = await admin_form(request, session)
    action, host = _one(form, ("retry", "drop"))
    if action == "retry":
        await retry_host(host)
    else:
        page = await _unconfirmed(request, session, form, question="confirm.drop",
                                  subject=await require_known(host))
        if page is not None:
            return page
        await drop_host(host)
    raise see_other("/admin/deliveries", msg="done")
