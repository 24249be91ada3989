"""In-process portal tests: the app on a database of this package's own, customers signed in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.db import create_db_engine
from app.main import create_app
from app.portal.signin import sign_in_limits
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


@pytest.fixture(autouse=True)
def fresh_sign_in_limits(request: pytest.FixtureRequest) -> None:
    """Each test starts with no sign-in links counted: the tests share one address, 127.0.0.1."""
    if "portal" not in request.fixturenames:
        return
    portal: Portal = request.getfixturevalue("portal")
    portal.app.state.sign_in_addresses, portal.app.state.sign_in_ips = sign_in_limits()
