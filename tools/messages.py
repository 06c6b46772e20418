"""``make messages``: bring every ``.po`` catalogue up to date with the keys of the code.

``pybabel extract`` (babel.cfg) writes ``federation/locale/federation.pot`` with every key named
literally (``_("action.approve")``); many keys are built at run time (``"state." + state``,
``f"nav.{view}"``), so every key of the reference catalogue (French) is added to the template
too, and none is ever dropped as obsolete. Then each ``locale/<lang>/LC_MESSAGES/federation.po``
is updated from the template (Babel's ``Catalog.update``, no fuzzy matching): a new key appears
with an empty ``msgstr`` (shown in French until it is translated); the keys left to translate are
listed per language. Locations name the file only (``#: federation/…/queue.html``), so
editing a template does not change every catalogue.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

LOCALE = Path(__file__).parents[1] / "federation" / "locale"
TEMPLATE = LOCALE / "federation.pot"
REFERENCE = "fr"


def main() -> int:
    with TEMPLATE.open("rb") as file:
        template = read_po(file)
    reference_path = LOCALE / REFERENCE / "LC_MESSAGES" / "federation.po"
    with reference_path.open("rb") as file:
        reference = read_po(file)
    for message in reference:
        if message.id and message.id not in template:
            template.add(message.id, auto_comments=["built at run time"])
    for path in sorted(LOCALE.glob("*/LC_MESSAGES/federation.po")):
        with path.open("rb") as file:
            catalog = read_po(file)
        created = catalog.creation_date  # the catalogue's, not this run's: no churn
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog.creation_date = created
        with path.open("wb") as file:
            write_po(file, catalog, width=100, sort_output=False, include_previous=False)
        missing = [str(m.id) for m in catalog if m.id and not m.string]
        name = path.parent.parent.name
        print(f"{name}: {len(catalog)} messages, {len(missing)} to translate"
              + (f": {', '.join(missing[:20])}{' …' if len(missing) > 20 else ''}"
                 if missing else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
