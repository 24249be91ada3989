"""GET /catalog: brands, topics with their notices, channel settings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.deps import AnyClient, ReadSession
from app.consent.catalog import catalog_view

router = APIRouter(prefix="/api/v1", tags=["catalog"])


@router.get("/catalog")
def get_catalog(session: ReadSession, client: AnyClient) -> dict[str, Any]:
    """The live catalog; a client limited to brands sees only those."""
    return catalog_view(session, client.brands)
