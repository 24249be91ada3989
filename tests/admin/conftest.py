"""In-process console tests: the app on a database of this package's own, accounts per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.admin.helpers import Console
from tests.apps import app_on_own_database


@pytest.fixture(scope="package")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("console")
    with app_on_own_database(tmp) as running:
        yield Console(
            app=running.app, http=running.http, engine=running.engine, settings=running.settings
        )
