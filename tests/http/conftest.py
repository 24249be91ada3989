"""In-process API tests: the app on a database of this package's own, over Starlette's client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.db import create_db_engine
from app.main import create_app
from tests.api import Api, api_settings, seed_catalog
from tests.databases import migrated_database


@pytest.fixture(scope="package")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp = tmp_path_factory.mktemp("http")
    with migrated_database(tmp) as url:
        settings = api_settings(url, tmp)
        engine = create_db_engine(url)
        seed_catalog(engine, settings)
        with TestClient(create_app(settings), base_url="https://cmr.example.test") as http:
            yield Api(http=http, engine=engine, settings=settings)  # type: ignore[arg-type]
        engine.dispose()


@pytest.fixture
def headers(api: Api) -> dict[str, str]:
    """A token with every scope, for every brand."""
    return api.token()
