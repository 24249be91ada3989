"""Languages: the message catalogs, the request's locale and the gettext functions."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

from babel import Locale, negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from app.paths import resource

LOCALES = ("en", "de")
DEFAULT_LOCALE = "en"
LANGUAGE_COOKIE = "cmr_lang"
DOMAIN = "messages"

_locale: ContextVar[str] = ContextVar("locale", default=DEFAULT_LOCALE)


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> NullTranslations:
    """The catalog of `locale`, read from its .po file (English is the source language)."""
    path = resource("locale") / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if locale == DEFAULT_LOCALE or not path.exists():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def current_locale() -> str:
    return _locale.get()


def gettext(message: str) -> str:
    """`message` in the request's language."""
    return translations(_locale.get()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_locale.get()).ungettext(singular, plural, n)


def babel_locale() -> Locale:
    """The request's locale for Babel's date and number formats."""
    return Locale.parse(_locale.get())


@contextmanager
def speaking(locale: str) -> Iterator[None]:
    """Use `locale` inside the block (mail sent for another customer, tests)."""
    token = _locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _locale.reset(token)


def choose_locale(cookie: str | None, accept_language: str | None) -> str:
    """The visitor's choice (kept in a cookie), else the browser's, else English."""
    if cookie in LOCALES:
        return cookie
    if accept_language:
        wanted = [part.split(";")[0].strip() for part in accept_language.split(",")]
        found = negotiate_locale([w.replace("-", "_") for w in wanted if w], LOCALES, sep="_")
        if found is None:  # "de-AT" asks for German too
            found = negotiate_locale([w[:2] for w in wanted if w], LOCALES)
        if found:
            return found
    return DEFAULT_LOCALE


API_PREFIX = "/api/"  # machine-readable answers only: no language to choose


class Language:
    """Sets the request's locale for everything that runs while it is served (pages; the API
    under /api/ speaks its contract's English, and is spared the work)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        chosen = cookie_parser(headers.get("cookie", "")).get(LANGUAGE_COOKIE)
        token = _locale.set(choose_locale(chosen, headers.get("accept-language")))
        try:
            await self.app(scope, receive, send)
        finally:
            _locale.reset(token)
