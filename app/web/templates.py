"""The one Jinja2 environment: autoescape, StrictUndefined, Babel i18n; templates get views."""

from __future__ import annotations

from functools import lru_cache

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.paths import resource
from app.web import i18n


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    """The templates shipped with the package, speaking the request's language."""
    env = Environment(
        loader=FileSystemLoader(resource("templates")),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        auto_reload=False,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    env.globals["current_locale"] = i18n.current_locale
    return Jinja2Templates(env=env)
