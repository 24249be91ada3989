"""What every domain service needs besides its session: keys, sealer, catalog, base URL."""

from __future__ import annotations

from dataclasses import dataclass

from app.audit import Sealer
from app.consent.catalog import CatalogCache
from app.consent.facts import CustomerCache
from app.keys import Keys
from app.settings import Settings


@dataclass(frozen=True)
class Context:
    """Made once per process (the app's lifespan or a CLI run)."""

    keys: Keys
    sealer: Sealer
    catalog: CatalogCache
    customers: CustomerCache
    base_url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        keys = Keys.from_settings(settings)
        return cls(
            keys=keys,
            sealer=Sealer(keys),
            catalog=CatalogCache(settings.catalog_recheck_seconds),
            customers=CustomerCache(keys),
            base_url=settings.base_url.rstrip("/"),
        )
