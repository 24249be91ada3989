"""In-process console tests: the app on a database of this package's own, accounts per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.db import create_db_engine
from app.main import create_app
from tests.admin.helpers import Console
from tests.api import api_settings, seed_catalog
from tests.databases import migrated_database


@pytest.fixture(scope="package")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("console")
    with migrated_database(tmp) as url:
        settings = api_settings(url, tmp)
        engine = create_db_engine(url)
        seed_catalog(engine, settings)
        app = create_app(settings)
        with TestClient(app, base_url=settings.base_url) as http:
            yield Console(app=app, http=http, engine=engine, settings=settings)
        engine.dispose()
