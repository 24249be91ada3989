"""Running the Alembic migrations shipped with the package."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from app.paths import resource


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for `database_url`, with no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(resource("migrations")))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Create or migrate the database at `database_url` to `revision`."""
    command.upgrade(alembic_config(database_url), revision)
