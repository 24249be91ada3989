"""What CLI commands share: the settings, the engine and the keys, made once per process."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine

from app.audit import Sealer
from app.consent.context import Context
from app.db import create_db_engine
from app.keys import Keys
from app.settings import get_settings


@lru_cache(maxsize=1)
def cli_engine() -> Engine:
    """The engine for CMR_DATABASE_URL."""
    return create_db_engine(get_settings().database_url)


@lru_cache(maxsize=1)
def cli_keys() -> Keys:
    """The keys derived from CMR_SECRET_KEY."""
    return Keys.from_settings(get_settings())


def cli_sealer() -> Sealer:
    """The sealer of customers' personal data in audit events."""
    return Sealer(cli_keys())


@lru_cache(maxsize=1)
def cli_context() -> Context:
    """What domain services need, for CMR_* settings."""
    return Context.from_settings(get_settings())
