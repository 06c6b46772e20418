"""The moderation UI's message catalogue: French (default) and English.

A small catalogue in Python rather than gettext: the UI has a few dozen strings and two
languages. ``translator(lang)`` returns ``_`` for templates; a missing key shows the key itself
(a test checks that both languages have every key).
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "moderation": "Modération",
        "login.title": "Connexion à la modération",
        "login.username": "Identifiant",
        "login.password": "Mot de passe",
        "login.submit": "Se connecter",
        "login.failed": "Identifiant ou mot de passe incorrect.",
        "login.limited": "Trop de tentatives. Réessayez dans quelques minutes.",
        "logout": "Se déconnecter",
        "nav.pending": "En attente",
        "nav.approved": "Validées",
        "nav.rejected": "Refusées",
        "nav.spam": "Indésirables",
        "nav.reports": "Signalements",
        "nav.blocks": "Blocages",
        "nav.log": "Journal",
        "nav.syndication": "Sites amis",
        "language.switch": "English",
        "empty": "Rien ici.",
        "answers": "En réponse à",
        "mention": "Mentionne",
        "request": "Demande de réponse (GoToSocial)",
        "quote": "Cite (demande de citation)",
        "scope.title": "Ce que « Valider » change",
        "scope.replies": "Valider une réponse l'affiche sur notre site, dans la liste des "
                         "réponses de l'article (nos collections) et l'annonce aux serveurs qui "
                         "respectent les validations (GoToSocial) : ils l'affichent alors comme "
                         "validée. Refuser la garde cachée chez nous.",
        "scope.mastodon": "Mastodon ignore ces décisions : une réponse écrite depuis Mastodon "
                          "(et la plupart des autres logiciels) y est publique dès son envoi, "
                          "que vous la validiez ou non. La modération ne décide que de ce que "
                          "nous montrons.",
        "scope.quotes": "Pour une citation (« Cite »), Valider autorise la citation : Mastodon "
                        "affiche alors notre article dans le message qui le cite ; Refuser la "
                        "refuse ; Annuler la décision la retire.",
        "thread": "Voir le fil",
        "thread.title": "Fil de discussion",
        "in_reply_to_reply": "répond à un autre message du fil",
        "instance": "instance",
        "received": "reçu le",
        "published": "publié le",
        "not_public": "non public (abonnés ou message direct)",
        "edited": "modifié",
        "attachments": "pièce(s) jointe(s)",
        "open_original": "original",
        "state.pending": "en attente",
        "state.approved": "validée",
        "state.rejected": "refusée",
        "state.spam": "indésirable",
        "action.approve": "Valider",
        "action.reject": "Refuser",
        "action.spam": "Indésirable",
        "action.undo": "Annuler la décision",
        "action.block_author": "Bloquer l'auteur",
        "action.block_domain": "Bloquer l'instance",
        "action.unblock": "Débloquer",
        "action.resolve": "Marquer comme traité",
        "action.reopen": "Rouvrir",
        "action.delete": "Supprimer",
        "action.block": "Blocage",
        "bulk.title": "Pour la sélection :",
        "bulk.select": "Sélectionner",
        "done": "C'est fait.",
        "done.partial": "Fait, sauf pour certains éléments :",
        "nothing_selected": "Aucun élément sélectionné.",
        "reports.reporter": "Signalé par",
        "reports.objects": "Éléments signalés",
        "reports.resolved": "traité",
        "reports.open": "à traiter",
        "blocks.kind.actor": "compte",
        "blocks.kind.domain": "instance",
        "blocks.by": "par",
        "log.when": "Quand",
        "log.who": "Qui",
        "log.what": "Quoi",
        "log.subject": "Sur",
        "log.change": "Changement",
        "log.note": "Note",
        "more": "Plus anciens",
        "error.title": "Erreur",
        "error.csrf": "Le formulaire a expiré. Rechargez la page et recommencez.",
    },
    "en": {
        "moderation": "Moderation",
        "login.title": "Log in to moderation",
        "login.username": "Username",
        "login.password": "Password",
        "login.submit": "Log in",
        "login.failed": "Wrong username or password.",
        "login.limited": "Too many attempts. Try again in a few minutes.",
        "logout": "Log out",
        "nav.pending": "Pending",
        "nav.approved": "Approved",
        "nav.rejected": "Rejected",
        "nav.spam": "Spam",
        "nav.reports": "Reports",
        "nav.blocks": "Blocks",
        "nav.log": "Audit log",
        "nav.syndication": "Sister sites",
        "language.switch": "Français",
        "empty": "Nothing here.",
        "answers": "In reply to",
        "mention": "Mentions",
        "request": "Reply request (GoToSocial)",
        "quote": "Quotes (quote request)",
        "scope.title": "What « Approve » changes",
        "scope.replies": "Approving a reply shows it on our site, in the article's list of "
                         "replies (our collections), and tells the servers that honour "
                         "approvals (GoToSocial): they then show it as approved. Rejecting "
                         "keeps it hidden on our side.",
        "scope.mastodon": "Mastodon ignores these decisions: a reply written on Mastodon (and "
                          "most other software) is public there as soon as it is sent, whether "
                          "you approve it or not. Moderation only decides what we show.",
        "scope.quotes": "For a quote (« Quotes »), Approve authorises it: Mastodon then shows "
                        "our article inside the post that quotes it; Reject refuses it; Undo "
                        "withdraws it.",
        "thread": "See the thread",
        "thread.title": "Thread",
        "in_reply_to_reply": "answers another message of the thread",
        "instance": "instance",
        "received": "received",
        "published": "published",
        "not_public": "not public (followers-only or direct)",
        "edited": "edited",
        "attachments": "attachment(s)",
        "open_original": "original",
        "state.pending": "pending",
        "state.approved": "approved",
        "state.rejected": "rejected",
        "state.spam": "spam",
        "action.approve": "Approve",
        "action.reject": "Reject",
        "action.spam": "Spam",
        "action.undo": "Undo decision",
        "action.block_author": "Block author",
        "action.block_domain": "Block instance",
        "action.unblock": "Unblock",
        "action.resolve": "Mark as resolved",
        "action.reopen": "Reopen",
        "action.delete": "Delete",
        "action.block": "Block",
        "bulk.title": "For the selection:",
        "bulk.select": "Select",
        "done": "Done.",
        "done.partial": "Done, except for some items:",
        "nothing_selected": "Nothing selected.",
        "reports.reporter": "Reported by",
        "reports.objects": "Reported items",
        "reports.resolved": "resolved",
        "reports.open": "open",
        "blocks.kind.actor": "account",
        "blocks.kind.domain": "instance",
        "blocks.by": "by",
        "log.when": "When",
        "log.who": "Who",
        "log.what": "What",
        "log.subject": "Subject",
        "log.change": "Change",
        "log.note": "Note",
        "more": "Older",
        "error.title": "Error",
        "error.csrf": "The form has expired. Reload the page and try again.",
    },
}


def normalise_language(value: str | None) -> str:
    value = (value or "").strip().lower()[:8]
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def translator(language: str) -> Callable[[str], str]:
    messages = MESSAGES[normalise_language(language)]

    def translate(key: str) -> str:
        return messages.get(key, key)

    return translate
