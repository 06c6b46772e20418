"""Messages of the actors' admin pages, French (default) and English, registered with the
admin shell (:mod:`federation.web.admin.i18n` holds the layout's and the shared words)."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "nav.actors": "Collectifs",
        "actors.title": "Collectifs et acteur du site",
        "actors.intro": "Chaque collectif est un compte du fédivers que l'on peut suivre. "
                        "Les modifications s'appliquent tout de suite et sont envoyées aux "
                        "abonnés.",
        "actors.new": "Nouveau collectif",
        "actors.role.site": "acteur du site",
        "actors.role.collective": "collectif",
        "actors.followers": "abonnés",
        "actors.pending": "demandes en attente",
        "actors.retired_on": "retiré le",
        "actors.edit": "Modifier",
        "actors.differs": "Le fichier de configuration diffère pour :",
        "actors.differs.help": "C'est la base de données qui est publiée. Pour publier les "
                               "valeurs du fichier : federation actors import-config",
        "actors.created": "Collectif créé : il répond déjà sur le fédivers.",
        "actors.saved": "Profil enregistré ; la mise à jour part vers les abonnés.",
        "actors.unchanged": "Rien n'a changé.",
        "actors.retired": "Collectif retiré ; sa suppression part vers les abonnés.",
        "actors.form.new": "Nouveau collectif",
        "actors.form.edit": "Modifier le profil",
        "actors.form.errors": "Le formulaire n'a pas été enregistré :",
        "actors.username": "Nom d'utilisateur",
        "actors.username.help": "Lettres minuscules, chiffres et tirets. Il ne pourra plus "
                                "changer : c'est l'adresse du compte (son URL et son "
                                "identifiant @nom@site) que les serveurs des abonnés "
                                "connaissent ; un autre nom serait un autre compte, sans "
                                "abonnés.",
        "actors.username.fixed": "Le nom d'utilisateur ne change jamais : c'est l'adresse "
                                 "que les serveurs des abonnés connaissent.",
        "actors.name": "Nom affiché",
        "actors.summary": "Présentation",
        "actors.summary.help": "Texte simple ; une ligne vide sépare les paragraphes.",
        "actors.url": "Page du collectif sur le site",
        "actors.fields": "Champs du profil",
        "actors.fields.help": "Par exemple « Site » et son adresse : une adresse devient un "
                              "lien. Laisser vide pour retirer un champ.",
        "actors.field.name": "Intitulé",
        "actors.field.value": "Valeur",
        "actors.avatar": "Avatar",
        "actors.header": "Bannière",
        "actors.image.help": "JPEG, PNG, GIF ou WebP, au plus {mb} Mo. L'image est "
                             "réduite et ses métadonnées (EXIF, position GPS) sont effacées.",
        "actors.image.remote": "Image donnée par le fichier de configuration :",
        "actors.image.remove": "Retirer l'image",
        "actors.image.current": "Image actuelle",
        "actors.manual": "Valider les demandes d'abonnement",
        "actors.manual.help": "Sinon, tout le monde peut s'abonner sans attendre.",
        "actors.save": "Enregistrer",
        "actors.create": "Créer le collectif",
        "actors.back": "Tous les collectifs",
        "actors.retire": "Retirer ce collectif",
        "actors.retire.title": "Retirer le collectif",
        "actors.retire.explain": "Le collectif cessera de publier. Une suppression du compte "
                                 "est envoyée à ses abonnés, comme Mastodon le fait pour un "
                                 "compte supprimé : leurs serveurs retirent le compte et ses "
                                 "publications. Son adresse répondra « supprimé » (410) et son "
                                 "nom ne pourra jamais resservir. Ce n'est pas réversible.",
        "actors.retire.followers": "Abonnés prévenus :",
        "actors.retire.confirm": "Pour confirmer, tapez le nom d'utilisateur",
        "actors.retire.button": "Retirer définitivement",
        "actors.retire.cancel": "Annuler",
        "actors.retire.mismatch": "Le nom tapé n'est pas celui du collectif : rien n'a été "
                                  "fait.",
        "actors.retire.site": "L'acteur du site ne peut pas être retiré.",
    },
    "en": {
        "nav.actors": "Collectives",
        "actors.title": "Collectives and the site actor",
        "actors.intro": "Each collective is a fediverse account people can follow. Changes "
                        "apply at once and are sent to the followers.",
        "actors.new": "New collective",
        "actors.role.site": "site actor",
        "actors.role.collective": "collective",
        "actors.followers": "followers",
        "actors.pending": "pending requests",
        "actors.retired_on": "retired on",
        "actors.edit": "Edit",
        "actors.differs": "The configuration file differs for:",
        "actors.differs.help": "The database is what is published. To publish the file's "
                               "values: federation actors import-config",
        "actors.created": "Collective created: it already answers on the fediverse.",
        "actors.saved": "Profile saved; the update is on its way to the followers.",
        "actors.unchanged": "Nothing changed.",
        "actors.retired": "Collective retired; its deletion is on its way to the followers.",
        "actors.form.new": "New collective",
        "actors.form.edit": "Edit the profile",
        "actors.form.errors": "The form was not saved:",
        "actors.username": "Username",
        "actors.username.help": "Lowercase letters, digits and hyphens. It can never change: "
                                "it is the account's address (its URL and its @name@site "
                                "handle) that followers' servers know; another name would be "
                                "another account, without followers.",
        "actors.username.fixed": "The username never changes: it is the address followers' "
                                 "servers know.",
        "actors.name": "Display name",
        "actors.summary": "Bio",
        "actors.summary.help": "Plain text; a blank line separates paragraphs.",
        "actors.url": "The collective's page on the site",
        "actors.fields": "Profile fields",
        "actors.fields.help": "For instance “Website” and its address: an address becomes a "
                              "link. Leave empty to remove a field.",
        "actors.field.name": "Label",
        "actors.field.value": "Value",
        "actors.avatar": "Avatar",
        "actors.header": "Header",
        "actors.image.help": "JPEG, PNG, GIF or WebP, at most {mb} MB. The image is resized "
                             "and its metadata (EXIF, GPS position) removed.",
        "actors.image.remote": "Image given by the configuration file:",
        "actors.image.remove": "Remove the image",
        "actors.image.current": "Current image",
        "actors.manual": "Approve follow requests",
        "actors.manual.help": "Otherwise anyone can follow at once.",
        "actors.save": "Save",
        "actors.create": "Create the collective",
        "actors.back": "All collectives",
        "actors.retire": "Retire this collective",
        "actors.retire.title": "Retire the collective",
        "actors.retire.explain": "The collective will stop publishing. An account deletion is "
                                 "sent to its followers, as Mastodon does for a deleted "
                                 "account: their servers remove the account and its posts. "
                                 "Its address will answer “gone” (410) and its name can never "
                                 "be used again. This cannot be undone.",
        "actors.retire.followers": "Followers told:",
        "actors.retire.confirm": "To confirm, type the username",
        "actors.retire.button": "Retire for good",
        "actors.retire.cancel": "Cancel",
        "actors.retire.mismatch": "The name typed is not the collective's: nothing was done.",
        "actors.retire.site": "The site actor cannot be retired.",
    },
}
