"""Messages of the syndication pages, French (default) and English, registered with the admin
shell (:mod:`federation.web.admin.i18n` holds the layout's and the shared words)."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "nav.syndication": "Sites amis",
        "syndication.title": "Sites amis",
        "syndication.intro": "Articles, événements et notes des sites que nous suivons. "
                             "Valider un élément le partage (boost) auprès de nos abonnés et "
                             "l'ajoute aux flux du site ; le refuser l'en retire.",
        "syndication.state.pending_review": "À relire",
        "syndication.state.approved": "Partagés",
        "syndication.state.stored": "Conservés",
        "syndication.state.rejected": "Refusés",
        "syndication.state.withdrawn": "Retirés par leur source",
        "syndication.sources": "Sources suivies",
        "syndication.source": "Source",
        "syndication.via": "relayé par",
        "syndication.by": "par",
        "syndication.when": "le",
        "syndication.until": "jusqu'au",
        "syndication.where": "lieu",
        "syndication.policy": "politique",
        "syndication.policy.announce": "partage automatique",
        "syndication.policy.review": "relecture",
        "syndication.policy.store": "conservation seule",
        "syndication.follow.pending": "en attente",
        "syndication.follow.accepted": "acceptée",
        "syndication.follow.rejected": "refusée",
        "syndication.relay": "relais",
        "syndication.as": "suivie par",
        "syndication.no_sources": "Aucune source : suivez un site ami avec "
                                  "« federation follow @nom@site ».",
        "syndication.type.Article": "Article",
        "syndication.type.Event": "Événement",
        "syndication.type.Note": "Note",
        "syndication.type.Page": "Page",
        "syndication.feeds": "Flux pour le site",
        "error.syndication.no_actor": "l'acteur qui suit cette source n'est plus configuré.",
        "error.syndication.not_found": "cet élément n'existe pas (ou plus).",
        "error.syndication.not_approvable": "cet élément est dans « {syndication_state} » : "
                                            "il ne peut pas être partagé.",
        "error.syndication.not_rejectable": "cet élément est dans « {syndication_state} » : "
                                            "il ne peut pas être refusé.",
    },
    "en": {
        "nav.syndication": "Sister sites",
        "syndication.title": "Sister sites",
        "syndication.intro": "Articles, events and notes of the sites we follow. Approving an "
                             "item boosts it to our followers and adds it to the site's feeds; "
                             "rejecting it removes it.",
        "syndication.state.pending_review": "To review",
        "syndication.state.approved": "Shared",
        "syndication.state.stored": "Kept",
        "syndication.state.rejected": "Rejected",
        "syndication.state.withdrawn": "Withdrawn by their source",
        "syndication.sources": "Followed sources",
        "syndication.source": "Source",
        "syndication.via": "relayed by",
        "syndication.by": "by",
        "syndication.when": "on",
        "syndication.until": "until",
        "syndication.where": "place",
        "syndication.policy": "policy",
        "syndication.policy.announce": "automatic boost",
        "syndication.policy.review": "review",
        "syndication.policy.store": "keep only",
        "syndication.follow.pending": "pending",
        "syndication.follow.accepted": "accepted",
        "syndication.follow.rejected": "rejected",
        "syndication.relay": "relay",
        "syndication.as": "followed by",
        "syndication.no_sources": "No source: follow a sister site with "
                                  "\"federation follow @name@site\".",
        "syndication.type.Article": "Article",
        "syndication.type.Event": "Event",
        "syndication.type.Note": "Note",
        "syndication.type.Page": "Page",
        "syndication.feeds": "Feeds for the site",
        "error.syndication.no_actor": "the actor that follows this source is not configured "
                                      "any more.",
        "error.syndication.not_found": "this item does not exist (any more).",
        "error.syndication.not_approvable": "this item is in « {syndication_state} »: it "
                                            "cannot be shared.",
        "error.syndication.not_rejectable": "this item is in « {syndication_state} »: it "
                                            "cannot be rejected.",
    },
}
