"""The messages of ``/admin/notifications``, French (default) and English, registered with the
admin shell like every part's (a test checks that both languages have every key)."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "nav.notifications": "Mes notifications",
        "notifications.title": "Mes notifications",
        "notifications.intro": "Être prévenu·e par e-mail quand une réponse ou un signalement "
                               "attend la modération.",
        "notifications.email": "Adresse e-mail",
        "notifications.email.help": "Elle ne sert qu'à ces notifications ; les autres "
                                    "modérateurs ne la voient pas.",
        "notifications.mode": "Quand me prévenir",
        "notifications.mode.off": "Jamais",
        "notifications.mode.immediate": "À chaque nouvel élément (un e-mail par élément)",
        "notifications.mode.digest": "Un résumé par jour",
        "notifications.digest_at": "Le résumé part chaque jour vers {hour} h ({zone}) et liste "
                                   "ce qui est arrivé depuis le précédent et attend toujours.",
        "notifications.language": "Les e-mails sont écrits dans la langue de l'interface "
                                  "(bouton « English » en haut de la page).",
        "notifications.no_smtp": "Aucun serveur d'e-mail n'est configuré sur ce pont : vos "
                                 "préférences sont enregistrées, mais rien ne sera envoyé tant "
                                 "qu'un administrateur n'aura pas rempli la section [smtp].",
        "notifications.save": "Enregistrer",
        "notifications.error.email": "Cette adresse e-mail n'est pas valide (par exemple "
                                     "camille@exemple.org).",
        "notifications.error.needs_email": "Indiquez une adresse e-mail pour recevoir des "
                                           "notifications.",
    },
    "en": {
        "nav.notifications": "My notifications",
        "notifications.title": "My notifications",
        "notifications.intro": "Be told by e-mail when a reply or a report awaits moderation.",
        "notifications.email": "E-mail address",
        "notifications.email.help": "It is used only for these notifications; other "
                                    "moderators do not see it.",
        "notifications.mode": "When to tell me",
        "notifications.mode.off": "Never",
        "notifications.mode.immediate": "For each new item (one e-mail per item)",
        "notifications.mode.digest": "One digest a day",
        "notifications.digest_at": "The digest goes out every day around {hour}:00 ({zone}) and "
                                   "lists what arrived since the previous one and still waits.",
        "notifications.language": "E-mails are written in the language of the interface (the "
                                  "“Français” button at the top of the page).",
        "notifications.no_smtp": "No e-mail server is configured on this bridge: your "
                                 "preferences are saved, but nothing is sent until an "
                                 "administrator fills in the [smtp] section.",
        "notifications.save": "Save",
        "notifications.error.email": "This e-mail address is not valid (for instance "
                                     "camille@example.org).",
        "notifications.error.needs_email": "Give an e-mail address to receive notifications.",
    },
}
