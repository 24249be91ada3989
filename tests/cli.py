"""Running `cmr` in tests: CMR_* pointing at a database of the test module's own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from app.cli.context import cli_context, cli_engine, cli_keys
from app.settings import get_settings


def clear_cli_caches() -> None:
    """Forget the settings, engine and keys the CLI made for an earlier environment."""
    get_settings.cache_clear()
    cli_keys.cache_clear()
    cli_context.cache_clear()
    if cli_engine.cache_info().currsize:
        cli_engine().dispose()
    cli_engine.cache_clear()


@contextmanager
def cli_environment(
    monkeypatch: pytest.MonkeyPatch, database_url: str, secret_key: str
) -> Iterator[None]:
    """CMR_DATABASE_URL and CMR_SECRET_KEY set for the CLI, its caches fresh before and after."""
    monkeypatch.setenv("CMR_DATABASE_URL", database_url)
    monkeypatch.setenv("CMR_SECRET_KEY", secret_key)
    clear_cli_caches()
    try:
        yield
    finally:
        clear_cli_caches()
