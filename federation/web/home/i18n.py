"""The home page's messages (``/``), French and English, as the admin's catalogues are
(:mod:`federation.web.admin.i18n`)."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "home.title": "Sur le fédivers",
        "home.intro": "Les collectifs de {site} publient aussi sur le fédivers : suivez-les "
                      "depuis votre compte Mastodon, GoToSocial, Misskey, Mobilizon…",
        "home.site": "Le site :",
        "home.collectives": "Collectifs",
        "home.none": "Aucun collectif n'est publié pour l'instant.",
        "home.handle": "Adresse à suivre",
        "home.page": "Page du collectif",
        "home.follow": "Suivre",
        "home.follow.label": "Suivre {name} depuis votre instance",
        "home.instance": "Votre instance",
        "home.instance.hint": "par exemple mastodon.social",
        "home.follow.help": "Vous serez envoyé·e sur votre instance pour confirmer. Rien n'est "
                            "enregistré ici.",
        "home.admin": "Administration et modération",
        "home.language.switch": "English",
        "home.bad_instance.title": "Instance non reconnue",
        "home.bad_instance": "« {instance} » n'est pas un nom d'instance. Indiquez seulement "
                             "son nom, par exemple mastodon.social.",
        "home.no_actor": "Ce collectif n'existe pas (ou plus) ici.",
        "home.back": "Retour",
    },
    "en": {
        "home.title": "On the fediverse",
        "home.intro": "The collectives of {site} also publish on the fediverse: follow them "
                      "from your Mastodon, GoToSocial, Misskey, Mobilizon… account.",
        "home.site": "The site:",
        "home.collectives": "Collectives",
        "home.none": "No collective is published yet.",
        "home.handle": "Address to follow",
        "home.page": "The collective's page",
        "home.follow": "Follow",
        "home.follow.label": "Follow {name} from your instance",
        "home.instance": "Your instance",
        "home.instance.hint": "for instance mastodon.social",
        "home.follow.help": "You will be sent to your instance to confirm. Nothing is kept "
                            "here.",
        "home.admin": "Administration and moderation",
        "home.language.switch": "Français",
        "home.bad_instance.title": "Unknown instance",
        "home.bad_instance": "“{instance}” is not an instance name. Type its name only, for "
                             "instance mastodon.social.",
        "home.no_actor": "This collective does not exist here (any more).",
        "home.back": "Back",
    },
}
