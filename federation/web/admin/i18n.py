"""The admin shell's message catalogue (base layout, notices, words every admin page uses),
French (default) and English.

A small catalogue in Python rather than gettext: each admin part (the moderation UI, the
syndication queue) keeps its own page messages and registers them with the shell
(:func:`federation.web.admin.register`); ``translator`` looks a key up in those, then here. A
missing key shows the key itself (tests check that both languages have every key).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"

#: A catalogue: language → key → message.
Catalogue = Mapping[str, Mapping[str, str]]

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "moderation": "Modération",
        "logout": "Se déconnecter",
        "language.switch": "English",
        "empty": "Rien ici.",
        "received": "reçu le",
        "published": "publié le",
        "open_original": "original",
        "action.approve": "Valider",
        "action.reject": "Refuser",
        "bulk.title": "Pour la sélection :",
        "bulk.select": "Sélectionner",
        "done": "C'est fait.",
        "done.partial": "Fait, sauf pour certains éléments :",
        "nothing_selected": "Aucun élément sélectionné.",
        "more": "Plus anciens",
        "error.title": "Erreur",
        "error.csrf": "Le formulaire a expiré. Rechargez la page et recommencez.",
        "forbidden.title": "Réservé aux administrateurs",
        "forbidden.text": "Cette page est réservée aux comptes administrateurs. Votre compte "
                          "peut modérer ; un administrateur peut vous donner ce rôle "
                          "(federation moderators admin NOM).",
        "forbidden.back": "Retour à la modération",
    },
    "en": {
        "moderation": "Moderation",
        "logout": "Log out",
        "language.switch": "Français",
        "empty": "Nothing here.",
        "received": "received",
        "published": "published",
        "open_original": "original",
        "action.approve": "Approve",
        "action.reject": "Reject",
        "bulk.title": "For the selection:",
        "bulk.select": "Select",
        "done": "Done.",
        "done.partial": "Done, except for some items:",
        "nothing_selected": "Nothing selected.",
        "more": "Older",
        "error.title": "Error",
        "error.csrf": "The form has expired. Reload the page and try again.",
        "forbidden.title": "Administrators only",
        "forbidden.text": "This page is for administrator accounts only. Your account can "
                          "moderate; an administrator can give you this role "
                          "(federation moderators admin NAME).",
        "forbidden.back": "Back to moderation",
    },
}


def normalise_language(value: str | None) -> str:
    value = (value or "").strip().lower()[:8]
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def translator(language: str, catalogues: Iterable[Catalogue] = ()) -> Callable[[str], str]:
    """``_`` for templates: ``catalogues`` first (in order), then the shell's messages."""
    language = normalise_language(language)
    chain = [c.get(language, {}) for c in catalogues] + [MESSAGES[language]]

    def translate(key: str) -> str:
        for messages in chain:
            message = messages.get(key)
            if message is not None:
                return message
        return key

    return translate
