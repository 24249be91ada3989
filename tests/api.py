"""An API under test: the app on a database of its own, clients with tokens, small factories."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from app.audit import CLI
from app.auth.clients import create_client
from app.auth.scopes import ALL_SCOPES
from app.consent.catalog import apply_catalog
from app.consent.catalog_schema import load_catalog_file
from app.consent.context import Context
from app.db import write_session
from app.settings import Settings

CATALOG = Path(__file__).parent / "data" / "catalog.toml"
SECRET_KEY = "api-test-secret-key-0123456789abcdef0123456789"
_numbers = itertools.count(1)


def api_settings(database_url: str, tmp_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=SECRET_KEY,  # type: ignore[arg-type]
        base_url="https://cmr.example.test",
        mail_backend="file",
        mail_dir=tmp_dir / "mail",
        catalog_recheck_seconds=0,
    )


def seed_catalog(engine: Engine, settings: Settings) -> None:
    """Apply the test catalog."""
    ctx = Context.from_settings(settings)
    with write_session(engine) as session:
        apply_catalog(
            session, load_catalog_file(CATALOG), sealer=ctx.sealer, actor=CLI, source="cli"
        )


@dataclass
class Api:
    """An HTTP client for the app with helpers to get tokens and make customers."""

    http: httpx.Client
    engine: Engine
    settings: Settings

    def client(
        self, scopes: Iterable[str] = ALL_SCOPES, brands: Iterable[str] | None = None
    ) -> tuple[str, str]:
        """A new API client: (client_id, secret)."""
        ctx = Context.from_settings(self.settings)
        with write_session(self.engine) as session:
            row, secret = create_client(
                session,
                sealer=ctx.sealer,
                actor=CLI,
                source="cli",
                name=f"test-{uuid.uuid4().hex[:6]}",
                scopes=sorted(scopes),
                brands=None if brands is None else sorted(brands),
            )
        return row.id, secret

    def token(
        self, scopes: Iterable[str] = ALL_SCOPES, brands: Iterable[str] | None = None
    ) -> dict[str, str]:
        """Headers carrying a bearer token of a new client with `scopes` and `brands`."""
        client_id, secret = self.client(scopes, brands)
        response = self.http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def customer(self, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
        """A new customer with a unique external id and email (unless given)."""
        number = next(_numbers)
        tag = uuid.uuid4().hex[:8]
        body = {"email": f"c{number}-{tag}@example.org", **fields}
        response = self.http.put(
            f"/api/v1/customers/ext:t-{tag}-{number}", json=body, headers=headers
        )
        assert response.status_code == 201, response.text
        customer: dict[str, Any] = response.json()
        return customer

    def patch(self, headers: dict[str, str], ref: str, body: dict[str, Any]) -> httpx.Response:
        return self.http.patch(
            f"/api/v1/customers/{ref}/preferences",
            json=body,
            headers={**headers, "Content-Type": "application/merge-patch+json"},
        )

    def decide(self, headers: dict[str, str], **request: Any) -> dict[str, Any]:
        response = self.http.post("/api/v1/decisions", json=request, headers=headers)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer
