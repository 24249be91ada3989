"""In-process portal tests: the app on a database of this package's own, customers signed in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.db import create_db_engine
from app.main import create_app
from tests.api import api_settings, seed_catalog
from tests.databases import migrated_database
from tests.portal.helpers import Portal


@pytest.fixture(scope="package")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    tmp = tmp_path_factory.mktemp("portal")
    with migrated_database(tmp) as url:
        settings = api_settings(url, tmp)
        engine = create_db_engine(url)
        seed_catalog(engine, settings)
        app = create_app(settings)
        with TestClient(app, base_url=settings.base_url) as http:
            yield Portal(app=app, http=http, engine=engine, settings=settings)
        engine.dispose()
