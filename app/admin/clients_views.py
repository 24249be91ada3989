"""What the API client pages show: clients in rows, the scopes and brands to choose from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.auth.scopes import ALL_SCOPES, SCOPE_DESCRIPTIONS
from app.models import Brand
from app.models.client import ApiClient
from app.web.i18n import gettext as _

MAX_LISTED = 1000


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class ClientRow:
    id: str
    name: str
    scopes: tuple[str, ...]
    brands: str
    created: str
    last_used: str
    disabled: str | None


def when(at: datetime | None, never: str = "—") -> str:
    """An instant for a table: `2026-11-20 10:00 UTC`."""
    return never if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def client_row(client: ApiClient) -> ClientRow:
    return ClientRow(
        id=client.id,
        name=client.name,
        scopes=tuple(sorted(client.scopes)),
        brands=", ".join(client.brands) if client.brands is not None else _("all brands"),
        created=when(client.created_at),
        last_used=when(client.last_used_at, _("never")),
        disabled=None if client.disabled_at is None else when(client.disabled_at),
    )


def client_rows(session: Session) -> list[ClientRow]:
    """The clients, newest first: enabled ones, then disabled ones."""
    query = (
        select(ApiClient)
        .order_by(col(ApiClient.disabled_at).is_not(None), col(ApiClient.created_at).desc())
        .limit(MAX_LISTED)
    )
    return [client_row(client) for client in session.scalars(query)]


def scope_choices() -> list[Choice]:
    return [Choice(scope, SCOPE_DESCRIPTIONS.get(scope, scope)) for scope in sorted(ALL_SCOPES)]


def brand_choices(session: Session) -> list[Choice]:
    """The catalog's live brands."""
    rows = session.execute(
        select(col(Brand.key), col(Brand.name))
        .where(col(Brand.retired_at).is_(None))
        .order_by(col(Brand.key))
    )
    return [Choice(key, name) for key, name in rows]


def unknown(chosen: Iterable[str], choices: Iterable[Choice]) -> list[str]:
    """The chosen values that are not among `choices`."""
    known = {choice.value for choice in choices}
    return sorted(set(chosen) - known)
