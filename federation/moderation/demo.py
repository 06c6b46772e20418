"""Sample moderation work for ``federation demo``: pending replies and a report, so that the
moderation UI can be tried at once.

They come from a fictitious instance, ``demo.invalid`` (RFC 6761: ``.invalid`` never resolves):
its accounts' handles say it is a demo, and nothing can reach it — the outbound client refuses
``.invalid`` names before any DNS question, the delivery fanout leaves their inboxes out (an
approval's ``Accept`` is recorded, never sent), and no moderator is told of these items (no
e-mail, no ``reply.received``/``report.received`` webhook, no decision webhook, not in the daily
digest). Rows are written directly, never through the inbox: seeding twice adds nothing (the
ids are fixed), and a decision a moderator took on a demo reply is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from federation.db.content import ContentObject
from federation.db.moderation import Reply, ReplyKind, Report
from federation.db.social import RemoteActor
from federation.identity.directory import ActorDirectory
from federation.protocol.html import sanitize_html

DEMO_DOMAIN = "demo.invalid"
DEMO_ORIGIN = f"https://{DEMO_DOMAIN}"


@dataclass(frozen=True)
class Seeded:
    replies: int
    reports: int


_PEOPLE = {
    "camille": "Camille (démo)",
    "yanis": "Yanis (démo)",
    "mireille": "Mireille (démo)",
    "moderation": "Modération de demo.invalid",
}


def _actor_uri(name: str) -> str:
    return f"{DEMO_ORIGIN}/users/{name}"


async def _person(name: str, now: datetime) -> RemoteActor:
    row, _ = await RemoteActor.get_or_create(uri=_actor_uri(name), defaults={
        "domain": DEMO_DOMAIN, "inbox": f"{_actor_uri(name)}/inbox",
        "shared_inbox": f"{DEMO_ORIGIN}/inbox", "username": name, "name": _PEOPLE[name],
        "url": f"{DEMO_ORIGIN}/@{name}", "fetched_at": now,  # the model's type: Person
    })
    return row


async def seed_moderation(directory: ActorDirectory, article_uri: str | None,
                          event_uri: str | None, *, now: datetime | None = None) -> Seeded:
    """Three pending replies (to the demo article, to the demo event with a content warning, a
    mention of a collective) and one open report of the demo article; what exists already is
    left as it is. Returns what was added."""
    now = now or datetime.now(UTC)
    article = await ContentObject.get_or_none(uri=article_uri) if article_uri else None
    event = await ContentObject.get_or_none(uri=event_uri) if event_uri else None
    mentioned = next((a for a in directory.all() if a.identifier == "changer-de-cap"),
                     None) or directory.site_actor
    replies = 0
    async with in_transaction():
        people = {name: await _person(name, now) for name in _PEOPLE}
        wanted: list[dict[str, object]] = []
        if article is not None:
            wanted.append({
                "uri": f"{_actor_uri('camille')}/statuses/1", "author": people["camille"],
                "target": article, "in_reply_to_uri": article.uri,
                "thread_root_uri": article.uri, "kind": ReplyKind.REPLY,
                "content_html": "<p>Merci pour l’annonce ! J’y serai avec deux collègues de la "
                                "CAF de Saint-Étienne. Est-ce que le débat sera enregistré pour "
                                "celles et ceux qui ne peuvent pas venir un jeudi à 18h ?</p>",
                "published_at": now - timedelta(hours=3),
            })
        if event is not None:
            wanted.append({
                "uri": f"{_actor_uri('mireille')}/statuses/2", "author": people["mireille"],
                "target": event, "in_reply_to_uri": event.uri, "thread_root_uri": event.uri,
                "kind": ReplyKind.REPLY, "sensitive": True,
                "summary": "Témoignage : contrôle CAF, situation personnelle",
                "content_html": "<p>J’ai subi un contrôle l’an dernier après un « score de "
                                "risque » : trois mois sans allocations, le temps de prouver "
                                "que je n’avais rien fraudé. Je viendrai témoigner si vous "
                                "voulez, mais sans donner mon nom.</p>",
                "published_at": now - timedelta(hours=2),
            })
        handle = f"@{mentioned.config.username}"
        wanted.append({
            "uri": f"{_actor_uri('yanis')}/statuses/3", "author": people["yanis"],
            "local_actor_id": mentioned.db_id, "kind": ReplyKind.MENTION,
            "content_html": f'<p><span class="h-card"><a href="{mentioned.uri}" '
                            f'class="u-url mention">{handle}</a></span> vous aurez des tracts '
                            "à distribuer devant la CAF avant le débat ? On peut en prendre "
                            "une centaine pour le marché de Carnot samedi.</p>",
            "published_at": now - timedelta(hours=1),
        })
        for fields in wanted:
            uri = str(fields.pop("uri"))
            content = sanitize_html(str(fields.pop("content_html")))
            _, created = await Reply.get_or_create(uri=uri, defaults={
                **fields, "url": uri.replace("/users/", "/@").replace("/statuses/", "/"),
                "content_html": content, "language": "fr", "is_public": True,
            })
            replies += created
        reports = 0
        if article is not None:
            _, created = await Report.get_or_create(
                activity_uri=f"{DEMO_ORIGIN}/reports/1", defaults={
                    "reporter_id": people["moderation"].id,
                    "object_uris": [article.uri, _actor_uri("yanis")],
                    "content": "Signalement transféré depuis demo.invalid : l’affiche jointe "
                               "à cet article donnerait le numéro de téléphone personnel d’une "
                               "militante. Pouvez-vous vérifier et retirer la pièce jointe si "
                               "c’est le cas ?",
                })
            reports += created
    return Seeded(replies, reports)
