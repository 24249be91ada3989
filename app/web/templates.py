"""The one Jinja2 environment: autoescape, StrictUndefined; templates get finished views."""

from __future__ import annotations

from functools import lru_cache

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.paths import resource


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    """The templates shipped with the package."""
    env = Environment(
        loader=FileSystemLoader(resource("templates")),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        auto_reload=False,
    )
    return Jinja2Templates(env=env)
