"""Throwaway databases for tests: a SQLite file, or a new PostgreSQL database on the test server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.migrate import upgrade

POSTGRES_URL = os.environ.get("CMR_TEST_DATABASE_URL")


@contextmanager
def migrated_database(tmp_dir: Path) -> Iterator[str]:
    """The URL of a new, migrated database, dropped afterwards."""
    if POSTGRES_URL is None:
        url = f"sqlite:///{tmp_dir / f'cmr-{uuid.uuid4().hex[:8]}.db'}"
        upgrade(url)
        yield url
        return
    name = f"cmr_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
