"""API clients: create, change, disable, authenticate; audited in the caller's transaction."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit import Actor, Sealer, record
from app.auth.passwords import burn_verification, hash_password, verify_password
from app.auth.scopes import unknown_scopes
from app.models.base import utcnow
from app.models.client import ApiClient

CLIENT_ID_PREFIX = "cl_"
NAME_MAX_LENGTH = 200


class UnknownScopeError(ValueError):
    """Scopes that the API does not have were asked for."""

    def __init__(self, scopes: list[str]) -> None:
        super().__init__(f"unknown scope: {', '.join(scopes)}")
        self.scopes = scopes


class ClientNotFoundError(LookupError):
    """No client has this id."""


class ClientDisabledError(ValueError):
    """The client is disabled: nothing about it changes any more."""


def new_client_id() -> str:
    """A fresh client id: `cl_` and 16 URL-safe random characters."""
    return CLIENT_ID_PREFIX + secrets.token_urlsafe(12)


def new_client_secret() -> str:
    """A fresh client secret: 32 random bytes, URL-safe base64."""
    return secrets.token_urlsafe(32)


def client_view(client: ApiClient) -> dict[str, Any]:
    """What the audit trail keeps of a client: everything but its secret hash."""
    return {
        "id": client.id,
        "name": client.name,
        "scopes": list(client.scopes),
        "brands": list(client.brands) if client.brands is not None else None,
        "created_at": client.created_at,
        "disabled_at": client.disabled_at,
    }


def create_client(
    session: Session,
    *,
    sealer: Sealer,
    actor: Actor,
    source: str,
    name: str,
    scopes: Iterable[str],
    brands: Iterable[str] | None,
) -> tuple[ApiClient, str]:
    """Add a client and its `client.created` event; returns it and its secret, shown only once.

    `brands` None lets the client act for every brand. Raises `UnknownScopeError` for scopes the
    API does not have and `ValueError` for an empty name or an empty brand list.
    """
    name = name.strip()
    if not name or len(name) > NAME_MAX_LENGTH:
        raise ValueError(f"a client's name has 1 to {NAME_MAX_LENGTH} characters")
    scope_list = sorted(set(scopes))
    if unknown := unknown_scopes(scope_list):
        raise UnknownScopeError(unknown)
    brand_list: list[str] | None = None
    if brands is not None:
        brand_list = sorted({brand.strip() for brand in brands})
        if not brand_list or "" in brand_list:
            raise ValueError("a client limited to brands needs at least one brand")
    secret = new_client_secret()
    client = ApiClient(
        id=new_client_id(),
        name=name,
        secret_hash=hash_password(secret),
        scopes=scope_list,
        brands=brand_list,
    )
    session.add(client)
    session.flush()
    record(
        session,
        sealer=sealer,
        actor=actor,
        source=source,
        action="client.created",
        after=client_view(client),
    )
    return client, secret


def disable_client(
    session: Session,
    *,
    sealer: Sealer,
    actor: Actor,
    source: str,
    client_id: str,
    reason: str | None = None,
) -> ApiClient:
    """Disable a client, so its secret and every token it holds stop working at once.

    Idempotent: an already disabled client is returned unchanged, with no new event.
    Raises `ClientNotFoundError` for an unknown id.
    """
    client = session.get(ApiClient, client_id, with_for_update=True)
    if client is None:
        raise ClientNotFoundError(client_id)
    if client.disabled_at is not None:
        return client
    before = client_view(client)
    client.disabled_at = utcnow()
    _record_change(session, client, "client.disabled", before, sealer, actor, source, reason)
    return client


def _record_change(
    session: Session,
    client: ApiClient,
    action: str,
    before: dict[str, Any],
    sealer: Sealer,
    actor: Actor,
    source: str,
    reason: str | None,
) -> None:
    """The change just made to `client`, stored and recorded with its audit event."""
    session.flush()
    record(
        session,
        sealer=sealer,
        actor=actor,
        source=source,
        action=action,
        before=before,
        after=client_view(client),
        reason=reason,
    )


def _enabled_client(session: Session, client_id: str) -> ApiClient:
    client = session.get(ApiClient, client_id, with_for_update=True)
    if client is None:
        raise ClientNotFoundError(client_id)
    if client.disabled_at is not None:
        raise ClientDisabledError(client_id)
    return client


def rotate_client_secret(
    session: Session,
    *,
    sealer: Sealer,
    actor: Actor,
    source: str,
    client_id: str,
    reason: str | None = None,
) -> tuple[ApiClient, str]:
    """Give a client a new secret, shown only once; the old one and every token issued with it
    stop working at once (tokens carry a tag of the secret's hash: see `secret_tag`).

    Raises `ClientNotFoundError` for an unknown id, `ClientDisabledError` for a disabled client.
    """
    client = _enabled_client(session, client_id)
    secret = new_client_secret()
    before = client_view(client)  # the view holds no secret: the same before and after
    client.secret_hash = hash_password(secret)
    _record_change(session, client, "client.secret_rotated", before, sealer, actor, source, reason)
    return client, secret


def change_client_scopes(
    session: Session,
    *,
    sealer: Sealer,
    actor: Actor,
    source: str,
    client_id: str,
    scopes: Iterable[str],
    reason: str | None = None,
) -> ApiClient:
    """Set a client's scopes: a scope taken away stops working at once, even in tokens issued
    before; a scope added counts in the next token. The same scopes record nothing.

    Raises `UnknownScopeError`, `ClientNotFoundError` or `ClientDisabledError`.
    """
    scope_list = sorted(set(scopes))
    if unknown := unknown_scopes(scope_list):
        raise UnknownScopeError(unknown)
    client = _enabled_client(session, client_id)
    if sorted(client.scopes) == scope_list:
        return client
    before = client_view(client)
    client.scopes = scope_list
    _record_change(session, client, "client.scopes_changed", before, sealer, actor, source, reason)
    return client


def secret_tag(secret_hash: str) -> str:
    """What a token carries of the secret it was issued for: a digest of the secret's hash (a
    new salt with every secret), so that a rotation makes the client's older tokens mismatch."""
    return hashlib.sha256(secret_hash.encode()).hexdigest()[:22]


def check_client_secret(client: ApiClient | None, secret: str) -> bool:
    """Whether `client` exists, is enabled and has `secret`; as slow when it does not exist."""
    if client is None:
        burn_verification(secret)
        return False
    matches = verify_password(client.secret_hash, secret)
    return matches and client.disabled_at is None


def authenticate_client(session: Session, client_id: str, secret: str) -> ApiClient | None:
    """The enabled client with this id and secret, or None."""
    client = session.get(ApiClient, client_id)
    return client if check_client_secret(client, secret) else None


def mark_client_used(session: Session, client_id: str, *, at: datetime | None = None) -> None:
    """Note when the client last got a token (bookkeeping, not a change: not audited)."""
    session.execute(
        update(ApiClient)
        .where(col(ApiClient.id) == client_id)
        .values(last_used_at=at if at is not None else utcnow())
    )
