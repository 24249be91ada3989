"""In-process portal tests: the app on a database of this package's own, customers signed in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.portal.signin import sign_in_limits
from tests.apps import app_on_own_database
from tests.portal.helpers import Portal


@pytest.fixture(scope="package")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    tmp = tmp_path_factory.mktemp("portal")
    with app_on_own_database(tmp) as running:
        yield Portal(
            app=running.app, http=running.http, engine=running.engine, settings=running.settings
        )


@pytest.fixture(autouse=True)
def fresh_sign_in_limits(request: pytest.FixtureRequest) -> None:
    """Each test starts with no sign-in links counted: the tests share one address, 127.0.0.1."""
    if "portal" not in request.fixturenames:
        return
    portal: Portal = request.getfixturevalue("portal")
    portal.app.state.sign_in_addresses, portal.app.state.sign_in_ips = sign_in_limits()
