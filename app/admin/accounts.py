"""The console's accounts (admin): list, create, change a role, disable (ending its sessions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.admin.clients_views import when
from app.admin.deps import Administrator, CsrfChecked
from app.admin.pages import admin_page
from app.audit import Actor
from app.auth.admins import (
    MIN_PASSWORD_LENGTH,
    ROLES,
    AdminError,
    change_admin,
    create_admin,
    find_admin,
)
from app.auth.principals import AdminPrincipal
from app.consent.context import Context
from app.models import Admin, utcnow
from app.web.deps import ContextDep, ReadSession, WriteSession
from app.web.errors import PageError
from app.web.i18n import gettext as _

router = APIRouter(prefix="/admin/accounts", include_in_schema=False)

SOURCE = "admin"
MAX_LISTED = 1000

Text = Annotated[str, Form(max_length=1000)]
Checked = Annotated[bool, Form()]


@dataclass(frozen=True, slots=True)
class AccountRow:
    id: str
    email: str
    role: str
    local: bool
    created: str
    last_sign_in: str
    disabled: str | None
    yourself: bool


def _rows(session: Session, principal: AdminPrincipal) -> list[AccountRow]:
    query = (
        select(Admin)
        .order_by(col(Admin.disabled_at).is_not(None), col(Admin.email))
        .limit(MAX_LISTED)
    )
    return [
        AccountRow(
            id=admin.id,
            email=admin.email,
            role=admin.role,
            local=admin.password_hash is not None,
            created=when(admin.created_at),
            last_sign_in=when(admin.last_sign_in_at, _("never")),
            disabled=None if admin.disabled_at is None else when(admin.disabled_at),
            yourself=admin.id == principal.admin_id,
        )
        for admin in session.scalars(query)
    ]


def _notice(done: str) -> str | None:
    notices = {
        "created": _("The account is created."),
        "role": _("The role is changed; it counts from the account's next page."),
        "unchanged": _("Nothing changed."),
        "disabled": _("The account is disabled and signed out everywhere."),
    }
    return notices.get(done)


def _page(
    request: Request,
    principal: AdminPrincipal,
    session: Session,
    *,
    done: str = "",
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "accounts": _rows(session, principal),
        "roles": ROLES,
        "min_password": MIN_PASSWORD_LENGTH,
        "notice": _notice(done),
        "form": form or {"email": "", "role": "auditor", "sso_only": False},
        "errors": errors or {},
    }
    return admin_page(request, "admin/accounts.html", context, principal=principal, status=status)


@router.get("", response_class=HTMLResponse)
def get_accounts(
    request: Request, principal: Administrator, session: ReadSession, done: str = ""
) -> Response:
    return _page(request, principal, session, done=done)


@router.post("", response_class=HTMLResponse, dependencies=[CsrfChecked])
def post_account(
    request: Request,
    principal: Administrator,
    session: WriteSession,
    ctx: ContextDep,
    email: Text = "",
    role: Text = "",
    password: Text = "",
    sso_only: Checked = False,
) -> Response:
    """A new account: local with a password, or signing in through SSO only."""
    errors: dict[str, str] = {}
    if role not in ROLES:
        errors["role"] = _("Choose a role.")
    if sso_only and password:
        errors["password"] = _("Leave the password empty for an account that signs in by SSO.")
    elif not sso_only and len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = _("A password has at least %(count)s characters.") % {
            "count": MIN_PASSWORD_LENGTH
        }
    address = email.strip()
    if "@" not in address or len(address) > 320:
        errors["email"] = _("Give the account's e-mail address.")
    elif find_admin(session, address) is not None:
        errors["email"] = _("This e-mail address has an account already.")
    if not errors:
        try:
            create_admin(
                session,
                sealer=ctx.sealer,
                actor=Actor("admin", principal.admin_id),
                source=SOURCE,
                email=address,
                role=role,
                password=None if sso_only else password,
            )
        except AdminError as error:  # checked above; what is left is said in the service's words
            errors["email"] = str(error)
    if errors:
        form = {"email": email, "role": role, "sso_only": sso_only}
        return _page(request, principal, session, form=form, errors=errors, status=422)
    return RedirectResponse("/admin/accounts?done=created", status_code=303)


def _account(session: Session, admin_id: str) -> Admin:
    admin = session.get(Admin, admin_id)
    if admin is None:
        raise PageError(404, _("There is no account with this id."))
    return admin


def _refuse(
    request: Request, principal: AdminPrincipal, session: Session, admin_id: str, message: str
) -> Response:
    """The list again (422) with `message` beside the account."""
    return _page(request, principal, session, errors={admin_id: message}, status=422)


@router.post("/{admin_id}/role", response_class=HTMLResponse, dependencies=[CsrfChecked])
def post_account_role(
    request: Request,
    admin_id: str,
    principal: Administrator,
    session: WriteSession,
    ctx: ContextDep,
    role: Text = "",
) -> Response:
    """Change an account's role; nobody changes their own."""
    admin = _account(session, admin_id)
    if role not in ROLES:
        return _refuse(request, principal, session, admin_id, _("Choose a role."))
    if role == admin.role:
        return RedirectResponse("/admin/accounts?done=unchanged", status_code=303)
    if admin_id == principal.admin_id:
        message = _("You cannot change your own role: ask another admin.")
        return _refuse(request, principal, session, admin_id, message)
    return _changed(session, ctx, principal, admin_id, "role", role=role)


@router.post("/{admin_id}/disable", response_class=HTMLResponse, dependencies=[CsrfChecked])
def post_account_disable(
    request: Request,
    admin_id: str,
    principal: Administrator,
    session: WriteSession,
    ctx: ContextDep,
) -> Response:
    """Disable an account and end its sessions at once; nobody disables their own."""
    admin = _account(session, admin_id)
    if admin_id == principal.admin_id:
        message = _("You cannot disable your own account: ask another admin.")
        return _refuse(request, principal, session, admin_id, message)
    if admin.disabled_at is not None:
        return RedirectResponse("/admin/accounts?done=unchanged", status_code=303)
    return _changed(session, ctx, principal, admin_id, "disabled", disable=True)


def _changed(
    session: Session,
    ctx: Context,
    principal: AdminPrincipal,
    admin_id: str,
    done: str,
    *,
    role: str | None = None,
    disable: bool = False,
) -> Response:
    """Make the change to the account (with its audit event), then back to the list saying so."""
    change_admin(
        session,
        sealer=ctx.sealer,
        actor=Actor("admin", principal.admin_id),
        source=SOURCE,
        admin_id=admin_id,
        role=role,
        disable=disable,
        now=utcnow(),
    )
    return RedirectResponse(f"/admin/accounts?done={done}", status_code=303)
