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

#: ``_``: a message key to its text in one language.
Translate = Callable[[str], str]

#: French elides « de » before these (« la réponse d'Alice », « de Bob »).
_FRENCH_VOWELS = frozenset("aeiouyàâäéèêëîïôöùûüœæAEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜŒÆ")

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
        "error.unknown": "cette action n'a pas abouti.",
        "error.failed_on": "{on} : {error}",
        "error.back": "Retour",
        "skip": "Aller au contenu",
        "action.undo_notice": "Annuler",
        "error.action.unknown": "action inconnue.",
        "error.bad_id": "un identifiant n'est pas un nombre.",
        "error.form": "ce formulaire n'a pas pu être lu (encodage).",
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
        "error.unknown": "this action did not succeed.",
        "error.failed_on": "{on}: {error}",
        "error.back": "Back",
        "skip": "Skip to content",
        "action.undo_notice": "Undo",
        "error.action.unknown": "unknown action.",
        "error.bad_id": "an id is not a number.",
        "error.form": "this form could not be read (encoding).",
        "forbidden.title": "Administrators only",
        "forbidden.text": "This page is for administrator accounts only. Your account can "
                          "moderate; an administrator can give you this role "
                          "(federation moderators admin NAME).",
        "forbidden.back": "Back to moderation",
    },
}


def of_name(language: str, name: str) -> str:
    """« d'Alice », « de Bob » in French; « from Alice » in English."""
    name = name.strip()
    if normalise_language(language) == "fr":
        return f"d'{name}" if name[:1] in _FRENCH_VOWELS else f"de {name}"
    return f"from {name}"


def format_message(translate: Translate, key: str, params: Mapping[str, str]) -> str:
    """The message ``key`` with its ``{name}`` fields filled (a missing field stays empty; a
    message that is not a valid format is shown as it is)."""
    message = translate(key)
    try:
        return message.format_map(_Blank(params))
    except (ValueError, IndexError, AttributeError, KeyError):
        return message


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def normalise_language(value: str | None) -> str:
    value = (value or "").strip().lower()[:8]
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def translator(language: str, catalogues: Iterable[Catalogue] = ()) -> Translate:
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
