"""The interface's gettext catalogues (``federation/locale/<lang>/LC_MESSAGES/federation.po``).

Every language has every message key of the reference (French) catalogue, with the same
``{fields}``; every key the templates and the code name literally (``_("key")``, as
``make messages`` extracts them) is in the catalogue; a language is a directory.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path
from string import Formatter

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from federation import i18n

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "federation"


def _fields(message: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(message) if name is not None}


def test_the_languages_are_the_locale_directories():
    assert i18n.languages() == ("fr", "en")
    assert i18n.normalise_language("EN") == "en"
    assert i18n.normalise_language("xx") == "fr"


@pytest.mark.parametrize("language", ["fr", "en"])
def test_catalogues_parse_without_error(language):
    with i18n.catalogue_path(language).open("rb") as file:
        catalog = read_po(file, abort_invalid=True)
    assert str(catalog.locale) == language
    assert not [m.id for m in catalog if m.id and m.fuzzy], "fuzzy entries are not shown"


@pytest.mark.parametrize(
    "language", [lang for lang in i18n.languages() if lang != i18n.DEFAULT_LANGUAGE])
def test_every_language_has_every_key_with_the_same_fields(language):
    reference = i18n.messages(i18n.DEFAULT_LANGUAGE)
    translated = i18n.messages(language)
    assert reference.keys() == translated.keys()
    differing = [key for key, message in reference.items()
                 if _fields(message) != _fields(translated[key])]
    assert not differing


def test_every_key_named_in_templates_and_code_is_in_the_catalogue():
    method_map = [("**/templates/**.html", "jinja2"), ("**/templates/**.txt", "jinja2"),
                  ("**.py", "python")]
    found = {(message, filename) for filename, _, message, _, _ in
             extract_from_dir(str(PACKAGE), method_map, keywords={"_": None})
             if isinstance(message, str)}
    assert len(found) > 100
    missing = sorted(f"{filename}: {key}" for key, filename in found
                     if key not in i18n.messages(i18n.DEFAULT_LANGUAGE))
    assert not missing


def test_every_error_key_of_the_services_is_in_the_catalogue():
    """A service error names its message key (``BadRequest(…, key="error.…")``): the admin
    shows it translated, so each literal key must be in the catalogue."""
    keys = {match.group(1) for path in PACKAGE.rglob("*.py")
            for match in re.finditer(r'\bkey="([a-z_]+(?:\.[a-z_]+)+)"',
                                     path.read_text(encoding="utf-8"))}
    assert len(keys) > 10
    assert not sorted(keys - i18n.messages(i18n.DEFAULT_LANGUAGE).keys())


def test_a_new_language_is_one_file_and_falls_back_to_french(tmp_path, monkeypatch):
    locale = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, locale)
    (locale / "oc" / "LC_MESSAGES").mkdir(parents=True)
    (locale / "oc" / "LC_MESSAGES" / "federation.po").write_text(
        'msgid ""\nmsgstr ""\n"Language: oc\\n"\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "action.approve"\nmsgstr "Validar"\n\n'
        'msgid "logout"\nmsgstr ""\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", locale)
    i18n.languages.cache_clear()
    i18n.messages.cache_clear()
    try:
        assert i18n.languages() == ("fr", "en", "oc")
        _ = i18n.translator("oc")
        assert _("action.approve") == "Validar"
        assert _("logout") == "Se déconnecter"  # untranslated: the default language
        assert _("no.such.key") == "no.such.key"
    finally:
        i18n.languages.cache_clear()
        i18n.messages.cache_clear()


def test_the_catalogues_are_package_data():
    """A wheel (the Dockerfile installs one) carries the .po files it reads."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "*.po" in pyproject["tool"]["setuptools"]["package-data"]["*"]


#: ``aria-label="{{ _f('aria.x', …) }}">{{ _("action.x") }}``: a button's spoken name and its text.
_LABELLED = re.compile(
    r"""aria-label="\{\{ _f\('([\w.]+)'[^}]*\}\}">\{\{ _\("([\w.]+)"\) \}\}""")


def test_a_buttons_spoken_name_contains_its_visible_text():
    """A screen reader user who says « Undo decision » (voice control) must find the button:
    in every language the aria-label of an action button contains its visible text (axe's
    label-content-name-mismatch, found on the English queue's undo button)."""
    pairs = {match.groups() for path in PACKAGE.rglob("templates/*.html")
             for match in _LABELLED.finditer(path.read_text(encoding="utf-8"))}
    assert len(pairs) >= 7
    wrong = [f"{language}: {label!r} / {visible!r}" for language in i18n.languages()
             for label, visible in sorted(pairs)
             if i18n.translator(language)(visible).lower()
             not in i18n.translator(language)(label).lower()]
    assert not wrong


def test_the_ui_language_setting_accepts_the_catalogues_languages_only():
    from pydantic import ValidationError

    from federation.settings import ModerationConfig

    assert ModerationConfig(language="en").language == "en"
    with pytest.raises(ValidationError, match="must be one of fr, en"):
        ModerationConfig(language="xx")
