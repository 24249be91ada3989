"""Where the shipped migrations, templates and catalogs are, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource(name: str) -> Path:
    """The folder `name`: inside the installed package, else at the checkout's top."""
    packaged = _PACKAGE / name
    return packaged if packaged.exists() else _PACKAGE.parent / name
