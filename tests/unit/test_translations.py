"""Every string the portal shows is translated into German, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app.web.i18n import gettext, speaking, translations

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def _extracted() -> set[str | tuple[str, ...]]:
    """The messages the code and templates use now, as `make messages` extracts them."""
    found: set[str | tuple[str, ...]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT,
        method_map=[("app/**.py", "python"), ("templates/**.html", "jinja2")],
        options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords=KEYWORDS,
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def _german() -> Catalog:
    with (ROOT / "locale" / "de" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale="de")


def test_every_message_has_a_german_translation() -> None:
    catalog = _german()
    missing = []
    for message in sorted(_extracted(), key=str):
        msgid = message if isinstance(message, str) else message[0]
        entry = catalog.get(msgid)
        strings = (
            []
            if entry is None
            else ([entry.string] if isinstance(entry.string, str) else list(entry.string))
        )
        if entry is None or entry.fuzzy or not strings or not all(strings):
            missing.append(msgid)
    assert missing == [], f"untranslated (run `make messages`, then translate): {missing}"


def test_translations_keep_every_placeholder() -> None:
    for entry in _german():
        if not entry.id:
            continue
        ids = [entry.id] if isinstance(entry.id, str) else list(entry.id)
        strings = [entry.string] if isinstance(entry.string, str) else list(entry.string)
        for index, text in enumerate(strings):
            # German's first plural form is the singular's; the others the plural's.
            wanted = set(PLACEHOLDER.findall(ids[min(index, len(ids) - 1)]))
            assert set(PLACEHOLDER.findall(text)) == wanted, (entry.id, text)


def test_german_is_spoken_when_asked_for() -> None:
    translations.cache_clear()
    with speaking("de"):
        assert gettext("Sign in") == "Anmelden"
    assert gettext("Sign in") == "Sign in"
