"""Sample content for ``federation demo``, modelled on the site's page of 29 May 2022.

The debate article of Halte au contrôle numérique (with its poster as a PDF, the Radio Dio
broadcast and its keywords) and the debate itself as an event, on Thursday 9 June 2022,
18:00–20:00 Europe/Paris at la Cale, 16 rue Royet, Saint-Étienne. Media URLs are illustrative
paths on the configured site.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from federation.db.content import ObjectKind
from federation.identity.directory import ActorDirectory
from federation.protocol.html import sanitize_html
from federation.protocol.objects import MediaView, PlaceView, TagView
from federation.publishing.items import ContentItem, EventDetails, derive_summary
from federation.settings import Settings

DEMO_ACTOR = "halte-au-controle-numerique"
SOURCE = "demo"
PARIS = ZoneInfo("Europe/Paris")

TITLE = "Débat « Ce que la numérisation fait au service public et à ses usagers »"
LEAD = (
    "<p>Halte au contrôle numérique organise, le jeudi 9 juin de 18h à 20h à la Cale (16 rue "
    "Royet, Sainté), un débat avec le Collectif Changer de cap, qui combat le déploiement d’un "
    "système algorithmique dans les CAF qui permet le pistage et la discrimination des "
    "allocataires, et avec Gilles Jeannot, co-auteur du livre « La privatisation numérique : "
    "Déstabilisation et réinvention du service public ».</p>"
)
BODY = (
    "<p>Depuis une dizaine d’années, le propos des politiques est de limiter les dépenses "
    "publiques, notamment avec l’aide de l’intelligence artificielle.</p>"
    "<h3>Ciblage des pauvres</h3>"
    "<p>Pour débusquer les fraudeurs, la Caisse d’allocations familiales (CAF) expérimente des "
    "algorithmes depuis 2004, et a généralisé le data mining depuis 2011.</p>"
    "<h3>Numériser pour privatiser</h3>"
    "<p>C’est donc bien une logique générale consistant à privatiser progressivement les "
    "services publics en utilisant les outils numériques.</p>"
)


def demo_items(settings: Settings, directory: ActorDirectory) -> list[ContentItem]:
    """The demo article and event, for Halte au contrôle numérique (or the first collective)."""
    actors = [a.identifier for a in directory.all() if not a.is_site_actor]
    if not actors:
        return []
    actor = DEMO_ACTOR if DEMO_ACTOR in actors else actors[0]
    home = settings.site.home_page.rstrip("/")
    page = f"{home}/spip.php?article4521"
    language = settings.site.language
    tags = tuple(
        TagView(name, f"{home}/spip.php?mot{number}")
        for name, number in (("FLICAGE - SURVEILLANCE", 12), ("DROITS SOCIAUX - SANTÉ", 7),
                             ("SAINT-ÉTIENNE", 3))
    )
    poster = MediaView(f"{home}/IMG/pdf/affiche_debat_numerisation.pdf", "application/pdf",
                       "L’affiche du débat")
    radio = MediaView(f"{home}/IMG/mp3/radio_dio_2022-06-01.mp3", "audio/mpeg",
                      "Présentation du débat sur Radio Dio (émission du 01/06/2022)")
    content = sanitize_html(LEAD + BODY)
    article = ContentItem(
        kind=ObjectKind.ARTICLE, actor=actor, source=SOURCE, source_id="article4521",
        name=TITLE, summary_text=derive_summary(None, LEAD, content), content_html=content,
        language=language, url=page,
        published_at=datetime(2022, 5, 29, 10, 0, tzinfo=PARIS),
        updated_at=datetime(2022, 6, 10, 10, 0, tzinfo=PARIS),
        attachments=(poster, radio), tags=tags,
    )
    event = ContentItem(
        kind=ObjectKind.EVENT, actor=actor, source=SOURCE, source_id="event4521",
        name=TITLE, summary_text=derive_summary(None, LEAD, content),
        content_html=sanitize_html(LEAD), language=language, url=page,
        published_at=datetime(2022, 5, 29, 10, 0, tzinfo=PARIS),
        attachments=(poster,), tags=tags,
        event=EventDetails(
            start_at=datetime(2022, 6, 9, 18, 0, tzinfo=PARIS),
            end_at=datetime(2022, 6, 9, 20, 0, tzinfo=PARIS), timezone="Europe/Paris",
            place=PlaceView(name="la Cale", street_address="16 rue Royet", postal_code="42000",
                            locality="Saint-Étienne", country="FR"),
        ),
    )
    return [article, event]
