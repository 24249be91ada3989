"""The app in process on a migrated database of its own, with the test catalog applied."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.db import create_db_engine
from app.main import create_app
from app.settings import Settings
from tests.api import api_settings, seed_catalog
from tests.databases import migrated_database


@dataclass
class Running:
    """A started app, a client for it, its database's engine and its settings."""

    app: FastAPI
    http: TestClient
    engine: Engine
    settings: Settings


@contextmanager
def app_on_own_database(tmp: Path, **settings: Any) -> Iterator[Running]:
    """The app (with `settings` changed from the test defaults) started on a fresh database."""
    with migrated_database(tmp) as url:
        resolved = api_settings(url, tmp).model_copy(update=settings)
        engine = create_db_engine(url)
        seed_catalog(engine, resolved)
        app = create_app(resolved)
        try:
            with TestClient(app, base_url=resolved.base_url) as http:
                yield Running(app=app, http=http, engine=engine, settings=resolved)
        finally:
            engine.dispose()
