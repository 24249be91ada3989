"""Console accounts: create, change role, disable, authenticate; every change audited."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit import Actor, Sealer, record
from app.auth.passwords import burn_verification, hash_password, needs_rehash, verify_password
from app.auth.sessions import end_sessions_of
from app.models import Admin

Role = Literal["auditor", "support", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
MIN_PASSWORD_LENGTH = 12


class AdminError(ValueError):
    """A request about an account that cannot be carried out, said in one sentence."""


def admin_view(admin: Admin) -> dict[str, Any]:
    """What the audit trail keeps of an account: everything but its password hash."""
    return {
        "id": admin.id,
        "email": admin.email,
        "role": admin.role,
        "local": admin.password_hash is not None,
        "disabled_at": admin.disabled_at,
    }


def _normal(email: str) -> str:
    return email.strip().lower()


def find_admin(session: Session, email: str) -> Admin | None:
    return session.scalars(select(Admin).where(col(Admin.email) == _normal(email))).first()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AdminError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")


def create_admin(
    session: Session,
    *,
    sealer: Sealer,
    actor: Actor,
    source: str,
    email: str,
    role: str,
    password: str | None,
) -> Admin:
    """A new account; without a password it signs in through OpenID Connect only."""
    if role not in ROLES:
        raise AdminError(f"the role is one of {', '.join(ROLES)}")
    address = _normal(email)
    if "@" not in address or len(address) > 320:
        raise AdminError("the account needs an e-mail address")
    if session.scalar(select(func.count()).where(col(Admin.email) == address)):
        raise AdminError(f"{address} has an account already")
    if password is not None:
        check_password(password)
    admin = Admin(
        id="a_" + secrets.token_urlsafe(12),
        email=address,
        role=role,
        password_hash=None if password is None else hash_password(password),
    )
    session.add(admin)
    session.flush()
    record(
        session, sealer=sealer, actor=actor, source=source, action="admin.created",
        after=admin_view(admin),
    )  # fmt: skip
    return admin


def change_admin(
    session: Session,
    *,
    sealer: Sealer,
    actor: Actor,
    source: str,
    admin_id: str,
    role: str | None = None,
    disable: bool = False,
    now: datetime,
) -> Admin:
    """Change an account's role, or disable it (which ends its sessions at once)."""
    admin = session.get(Admin, admin_id, with_for_update=True)
    if admin is None:
        raise AdminError("no such account")
    if role is not None and role not in ROLES:
        raise AdminError(f"the role is one of {', '.join(ROLES)}")
    before = admin_view(admin)
    if role is not None:
        admin.role = role
    if disable and admin.disabled_at is None:
        admin.disabled_at = now
        end_sessions_of(session, kind="admin", subject_id=admin.id)
    after = admin_view(admin)
    if after != before:
        session.flush()
        action = "admin.disabled" if disable else "admin.role_changed"
        record(
            session, sealer=sealer, actor=actor, source=source, action=action,
            before=before, after=after,
        )  # fmt: skip
    return admin


def authenticate_admin(
    session: Session, email: str, password: str, *, now: datetime
) -> Admin | None:
    """The live local account with this e-mail and password, else None (in the same time)."""
    admin = find_admin(session, email)
    if admin is None or admin.password_hash is None or admin.disabled_at is not None:
        burn_verification(password)
        return None
    if not verify_password(admin.password_hash, password):
        return None
    if needs_rehash(admin.password_hash):
        admin.password_hash = hash_password(password)
    admin.last_sign_in_at = now
    session.flush()
    return admin
