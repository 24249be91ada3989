"""API client services and `cmr clients`: hashed secrets, audit events, disabling."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col
from typer.testing import CliRunner

from app.audit import Actor, Sealer
from app.auth import passwords
from app.auth.clients import (
    ClientNotFoundError,
    UnknownScopeError,
    authenticate_client,
    create_client,
    disable_client,
    mark_client_used,
)
from app.cli import clients as clients_cli
from app.cli.context import cli_engine, cli_sealer
from app.db import write_session
from app.keys import Keys
from app.models.audit import AuditEvent
from app.models.client import ApiClient
from app.settings import Settings
from tests.cli import cli_environment


@pytest.fixture
def sealer(settings: Settings) -> Sealer:
    return Sealer(Keys.from_settings(settings))


def make_client(
    db: Session,
    sealer: Sealer,
    *,
    scopes: tuple[str, ...] = ("decisions",),
    brands: list[str] | None = None,
) -> tuple[ApiClient, str]:
    return create_client(
        db,
        sealer=sealer,
        actor=Actor("cli"),
        source="cli",
        name="Acme ESP",
        scopes=scopes,
        brands=brands,
    )


def client_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(ApiClient)) or 0


def events(db: Session, client_id: str, action: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(col(AuditEvent.action) == action).order_by(col(AuditEvent.id))
    return [event for event in db.scalars(query) if client_id in (event.after or "")]


def test_create_returns_a_secret_that_only_its_hash_is_stored_for(
    db: Session, sealer: Sealer
) -> None:
    client, secret = make_client(db, sealer, scopes=("decisions", "customers:read", "decisions"))

    assert client.id.startswith("cl_")
    assert len(client.id) == 19
    assert len(secret) >= 43
    stored = db.get(ApiClient, client.id)
    assert stored is not None
    assert stored.secret_hash.startswith("$argon2id$")
    assert secret not in stored.secret_hash
    assert stored.scopes == ["customers:read", "decisions"]
    assert stored.brands is None
    assert stored.disabled_at is None
    assert not passwords.needs_rehash(stored.secret_hash)
    assert authenticate_client(db, client.id, secret) is stored
    assert authenticate_client(db, client.id, secret + "x") is None
    assert authenticate_client(db, "cl_nobodyatall000", secret) is None


def test_create_records_an_audit_event_without_the_secret(db: Session, sealer: Sealer) -> None:
    client, secret = make_client(db, sealer, brands=["beta", "acme", "acme"])

    [event] = events(db, client.id, "client.created")
    assert event.actor_type == "cli"
    assert event.source == "cli"
    assert event.customer_id is None
    assert event.before is None
    assert event.after is not None
    after = json.loads(event.after)
    assert after["id"] == client.id
    assert after["name"] == "Acme ESP"
    assert after["scopes"] == ["decisions"]
    assert after["brands"] == ["acme", "beta"]
    assert "secret_hash" not in after
    for column in (event.before, event.after, event.evidence, event.sealed, event.reason):
        assert secret not in (column or "")
        assert client.secret_hash not in (column or "")


def test_create_refuses_unknown_scopes_and_empty_brand_lists(db: Session, sealer: Sealer) -> None:
    before = client_count(db)

    with pytest.raises(UnknownScopeError) as raised:
        make_client(db, sealer, scopes=("decisions", "admin", "everything"))
    assert raised.value.scopes == ["admin", "everything"]
    with pytest.raises(ValueError, match="at least one brand"):
        make_client(db, sealer, brands=[])
    assert client_count(db) == before


def test_disable_stops_the_secret_and_is_audited_once(db: Session, sealer: Sealer) -> None:
    client, secret = make_client(db, sealer)

    disabled = disable_client(
        db, sealer=sealer, actor=Actor("cli"), source="cli", client_id=client.id, reason="leaked"
    )
    again = disable_client(db, sealer=sealer, actor=Actor("cli"), source="cli", client_id=client.id)

    assert disabled.disabled_at is not None
    assert again.disabled_at == disabled.disabled_at
    assert authenticate_client(db, client.id, secret) is None
    [event] = events(db, client.id, "client.disabled")
    assert event.before is not None
    assert event.after is not None
    assert json.loads(event.before)["disabled_at"] is None
    assert json.loads(event.after)["disabled_at"] is not None
    assert "secret_hash" not in event.before + event.after
    assert event.reason is not None
    assert "leaked" in event.reason


def test_disable_refuses_an_unknown_client(db: Session, sealer: Sealer) -> None:
    with pytest.raises(ClientNotFoundError):
        disable_client(db, sealer=sealer, actor=Actor("cli"), source="cli", client_id="cl_none")


def test_mark_client_used_notes_the_time(db: Session, sealer: Sealer) -> None:
    client, _ = make_client(db, sealer)

    mark_client_used(db, client.id)

    db.expire_all()
    stored = db.get(ApiClient, client.id)
    assert stored is not None
    assert stored.last_used_at is not None


def test_a_malformed_hash_verifies_nothing() -> None:
    assert not passwords.verify_password("not-a-hash", "secret")
    assert passwords.verify_password(passwords.hash_password("secret"), "secret")


CLI_SECRET = "clients-cli-secret-0123456789abcdef0123456789"


@pytest.fixture
def cli(cli_database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The `clients` commands, on their own database through CMR_* as in production."""
    with cli_environment(monkeypatch, cli_database, CLI_SECRET):
        yield CliRunner()


@pytest.fixture
def cli_db(cli: CliRunner) -> Iterator[Session]:
    """A session on the CLI's database, to look at what the commands committed."""
    del cli
    with Session(cli_engine(), expire_on_commit=False) as session:
        yield session


def test_cli_create_prints_the_credentials_as_json(cli_db: Session, cli: CliRunner) -> None:
    result = cli.invoke(
        clients_cli.clients_app,
        ["create", "Acme ESP", "--scope", "decisions", "--brand", "acme", "--json"],
    )

    assert result.exit_code == 0, result.output
    credentials = json.loads(result.stdout)
    assert set(credentials) == {"client_id", "client_secret"}
    assert "not in the catalog" in result.stderr
    client = authenticate_client(cli_db, credentials["client_id"], credentials["client_secret"])
    assert client is not None
    assert client.brands == ["acme"]


def test_cli_create_prints_a_table_saying_the_secret_is_shown_once(cli: CliRunner) -> None:
    result = cli.invoke(clients_cli.clients_app, ["create", "CRM", "--scope", "changes:read"])

    assert result.exit_code == 0, result.output
    assert "client_secret" in result.stdout
    assert "shown only this once" in result.stdout


def test_cli_create_names_an_unknown_scope(cli_db: Session, cli: CliRunner) -> None:
    before = client_count(cli_db)

    result = cli.invoke(
        clients_cli.clients_app, ["create", "CRM", "--scope", "decisions", "--scope", "root"]
    )

    assert result.exit_code == 2
    assert "unknown scope root" in result.stderr
    assert client_count(cli_db) == before


def test_cli_disable(cli_db: Session, cli: CliRunner) -> None:
    with write_session(cli_engine()) as session:
        client, _ = make_client(session, cli_sealer())

    result = cli.invoke(clients_cli.clients_app, ["disable", client.id])
    missing = cli.invoke(clients_cli.clients_app, ["disable", "cl_nobody"])

    assert result.exit_code == 0, result.output
    stored = cli_db.get(ApiClient, client.id)
    assert stored is not None
    assert stored.disabled_at is not None
    assert missing.exit_code == 1
    assert "no client cl_nobody" in missing.stderr
