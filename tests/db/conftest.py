"""Fixtures of the database tests: a database per module for the CLI, which commits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.databases import migrated_database


@pytest.fixture(scope="module")
def cli_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of the test module's own: the CLI commits, so no rollback can undo it."""
    with migrated_database(tmp_path_factory.mktemp("cli")) as url:
        yield url
