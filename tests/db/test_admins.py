"""Console accounts and `cmr admins create`: hashed passwords, audit events, disabling."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col
from typer.testing import CliRunner

from app.audit import Actor, Sealer
from app.auth.admins import AdminError, authenticate_admin, change_admin, create_admin
from app.auth.sessions import Lifetimes, find_session, start_session
from app.cli.context import cli_engine
from app.cli.main import cli as cmr
from app.db import read_session
from app.keys import Keys
from app.models import Admin, AuditEvent, utcnow
from app.settings import Settings
from tests.cli import cli_environment

CLI_SECRET = "admins-cli-secret-0123456789abcdef0123456789"
PASSWORD = "correct horse battery"
LONG = Lifetimes(idle=timedelta(hours=1), absolute=timedelta(hours=8))


@pytest.fixture
def sealer(settings: Settings) -> Sealer:
    return Sealer(Keys.from_settings(settings))


def make_admin(db: Session, sealer: Sealer, email: str = "ann@example.org") -> Admin:
    return create_admin(
        db,
        sealer=sealer,
        actor=Actor("cli"),
        source="cli",
        email=email,
        role="support",
        password=PASSWORD,
    )


def test_a_password_is_stored_hashed_and_checked(db: Session, sealer: Sealer) -> None:
    admin = make_admin(db, sealer, "Ann@Example.org")
    assert admin.email == "ann@example.org"
    assert admin.password_hash is not None
    assert PASSWORD not in admin.password_hash
    assert admin.password_hash.startswith("$argon2id$")
    assert authenticate_admin(db, "ANN@example.org", PASSWORD, now=utcnow()) == admin
    assert authenticate_admin(db, "ann@example.org", "wrong password!", now=utcnow()) is None
    assert authenticate_admin(db, "bob@example.org", PASSWORD, now=utcnow()) is None
    event = db.scalars(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
    assert event is not None
    assert (event.action, event.actor_type) == ("admin.created", "cli")
    assert PASSWORD not in (event.after or "")


@pytest.mark.parametrize(
    ("email", "role", "password", "error"),
    [
        ("ann@example.org", "root", PASSWORD, "role"),
        ("ann", "admin", PASSWORD, "e-mail"),
        ("ann@example.org", "admin", "short", "12 characters"),
    ],
)
def test_bad_accounts_are_refused(
    db: Session, sealer: Sealer, email: str, role: str, password: str, error: str
) -> None:
    with pytest.raises(AdminError, match=error):
        create_admin(
            db, sealer=sealer, actor=Actor("cli"), source="cli", email=email, role=role,
            password=password,
        )  # fmt: skip


def test_an_address_has_one_account(db: Session, sealer: Sealer) -> None:
    make_admin(db, sealer)
    with pytest.raises(AdminError, match="already"):
        make_admin(db, sealer, "ANN@example.org")


def test_disabling_ends_the_sessions_and_the_sign_in(db: Session, sealer: Sealer) -> None:
    admin = make_admin(db, sealer)
    now = utcnow()
    token = start_session(db, kind="admin", subject_id=admin.id, limited=False, now=now)
    change_admin(
        db, sealer=sealer, actor=Actor("cli"), source="cli", admin_id=admin.id, disable=True,
        now=now,
    )  # fmt: skip
    assert find_session(db, kind="admin", token=token, lifetimes=LONG, now=now) is None
    assert authenticate_admin(db, "ann@example.org", PASSWORD, now=now) is None
    actions = list(db.scalars(select(col(AuditEvent.action)).order_by(col(AuditEvent.id))))
    assert actions[-2:] == ["admin.created", "admin.disabled"]


@pytest.fixture
def cli(cli_database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    with cli_environment(monkeypatch, cli_database, CLI_SECRET):
        yield CliRunner()


def test_cli_creates_an_account_with_a_password_from_stdin(cli: CliRunner) -> None:
    result = cli.invoke(
        cmr, ["admins", "create", "cli@example.org", "--role", "auditor", "--password-stdin"],
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "auditor" in result.stdout
    with read_session(cli_engine()) as session:
        assert authenticate_admin(session, "cli@example.org", PASSWORD, now=utcnow()) is not None
    again = cli.invoke(
        cmr, ["admins", "create", "cli@example.org", "--role", "auditor", "--password-stdin"],
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert again.exit_code == 1
    assert "already" in again.stderr


def test_cli_asks_for_the_password_twice(cli: CliRunner) -> None:
    result = cli.invoke(
        cmr, ["admins", "create", "prompt@example.org", "--role", "admin"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output


def test_cli_refuses_an_unknown_role(cli: CliRunner) -> None:
    result = cli.invoke(
        cmr, ["admins", "create", "x@example.org", "--role", "root", "--no-password"]
    )
    assert result.exit_code == 2
    assert "auditor, support, admin" in result.stderr
