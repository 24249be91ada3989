"""A real server per module (see `tests.servers`); a test fails if the server failed during it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import Server, failing_on_server_errors, running_server

__all__ = ["Server"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server on its own database with the test catalog; stopped after the module."""
    with running_server(tmp_path_factory.mktemp("server")) as running:
        yield running


@pytest.fixture(autouse=True)
def no_server_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test during which the server printed a traceback (an unhandled error, a 500)."""
    if "server" not in request.fixturenames:
        yield
        return
    with failing_on_server_errors(request.getfixturevalue("server")):
        yield
