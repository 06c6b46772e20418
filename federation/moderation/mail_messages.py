"""The moderators' e-mails, French (default) and English: the same catalogue shape as the admin
UI's (language → key → message; :mod:`federation.web.admin.i18n`), kept here because the
moderation service writes the messages (a test checks that both languages have every key)."""

from __future__ import annotations

from collections.abc import Callable

DEFAULT_LANGUAGE = "fr"

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "mail.hello": "Bonjour {name},",
        "mail.subject.reply": "[{site}] Une réponse attend la modération : {author}",
        "mail.subject.report": "[{site}] Nouveau signalement : {author}",
        "mail.subject.digest": "[{site}] Résumé de modération : {count} nouvel(s) élément(s) "
                               "en attente",
        "mail.intro.reply": "Une nouvelle réponse attend votre décision sur {site}.",
        "mail.intro.report": "Un nouveau signalement est arrivé sur {site}.",
        "mail.intro.digest": "Depuis le dernier résumé, {count} élément(s) sont arrivés sur {site} "
                             "et attendent toujours une décision :",
        "mail.kind.reply": "Réponse",
        "mail.kind.mention": "Mention",
        "mail.kind.reply_request": "Demande de réponse",
        "mail.kind.quote": "Citation",
        "mail.kind.report": "Signalement",
        "mail.author": "Auteur :",
        "mail.about.reply": "En réponse à :",
        "mail.about.mention": "Mentionne :",
        "mail.about.reply_request": "En réponse à :",
        "mail.about.quote": "Cite :",
        "mail.about.report": "Éléments signalés :",
        "mail.excerpt": "Extrait :",
        "mail.quoted": "« {text} »",
        "mail.link": "Modérer :",
        "mail.queue": "File d'attente :",
        "mail.more": "… et {count} autre(s) dans la file.",
        "mail.waiting": "En tout, {count} élément(s) attendent une décision.",
        "mail.why.immediate": "Vous recevez ce message parce que vous avez demandé à être "
                              "prévenu·e de chaque élément à modérer.",
        "mail.why.digest": "Vous recevez ce résumé quotidien parce que vous l'avez demandé.",
        "mail.preferences": "Changer ces préférences :",
    },
    "en": {
        "mail.hello": "Hello {name},",
        "mail.subject.reply": "[{site}] A reply awaits moderation: {author}",
        "mail.subject.report": "[{site}] New report: {author}",
        "mail.subject.digest": "[{site}] Moderation digest: {count} new item(s) waiting",
        "mail.intro.reply": "A new reply awaits your decision on {site}.",
        "mail.intro.report": "A new report arrived on {site}.",
        "mail.intro.digest": "Since the last digest, {count} item(s) arrived on {site} and still "
                             "await a decision:",
        "mail.kind.reply": "Reply",
        "mail.kind.mention": "Mention",
        "mail.kind.reply_request": "Reply request",
        "mail.kind.quote": "Quote",
        "mail.kind.report": "Report",
        "mail.author": "Author:",
        "mail.about.reply": "In reply to:",
        "mail.about.mention": "Mentions:",
        "mail.about.reply_request": "In reply to:",
        "mail.about.quote": "Quotes:",
        "mail.about.report": "Reported items:",
        "mail.excerpt": "Excerpt:",
        "mail.quoted": "“{text}”",
        "mail.link": "Moderate:",
        "mail.queue": "Queue:",
        "mail.more": "… and {count} more in the queue.",
        "mail.waiting": "In all, {count} item(s) await a decision.",
        "mail.why.immediate": "You receive this message because you asked to be told of each "
                              "item to moderate.",
        "mail.why.digest": "You receive this daily digest because you asked for it.",
        "mail.preferences": "Change these preferences:",
    },
}


def translator(language: str) -> Callable[[str], str]:
    """``_`` for a message in ``language`` (French when unknown); a missing key shows itself."""
    messages = MESSAGES.get(language, MESSAGES[DEFAULT_LANGUAGE])
    return lambda key: messages.get(key, key)
