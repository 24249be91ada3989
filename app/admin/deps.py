"""Dependencies of the console's routes: the signed-in account, its role, the CSRF check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from app.auth.principals import AdminPrincipal
from app.auth.sessions import Lifetimes, find_session, mark_seen
from app.models import Admin, utcnow
from app.settings import Settings
from app.web.deps import ReadSession
from app.web.errors import PageError
from app.web.forms import FormGuard
from app.web.i18n import gettext as _

ADMIN_COOKIE = "cmr_admin"
forms = FormGuard(ADMIN_COOKIE)
CsrfChecked = Depends(forms.check)


class AdminSignInRequired(Exception):
    """No live console session: the sign-in page."""


def optional_admin(request: Request, session: ReadSession) -> AdminPrincipal | None:
    """The account whose live session the request carries; a disabled account has none."""
    token = request.cookies.get(ADMIN_COOKIE)
    if not token:
        return None
    settings: Settings = request.app.state.settings
    lifetimes, now = Lifetimes.from_settings(settings), utcnow()
    row = find_session(session, kind="admin", token=token, lifetimes=lifetimes, now=now)
    admin = None if row is None else session.get(Admin, row.subject_id)
    if row is None or admin is None or admin.disabled_at is not None:
        return None
    mark_seen(request.app.state.engine, row, lifetimes=lifetimes, now=now)
    return AdminPrincipal(
        admin_id=admin.id, email=admin.email, role=admin.role, session_token=token
    )


MaybeAdmin = Annotated[AdminPrincipal | None, Depends(optional_admin)]


def require_role(*roles: str) -> Callable[[AdminPrincipal | None], AdminPrincipal]:
    """A dependency: a signed-in account with one of `roles` (403 for another role)."""

    def dependency(principal: MaybeAdmin) -> AdminPrincipal:
        if principal is None:
            raise AdminSignInRequired
        if principal.role not in roles:
            raise PageError(403, _("Your role does not allow this."))
        return principal

    return dependency


SignedInAdmin = Annotated[AdminPrincipal, Depends(require_role("auditor", "support", "admin"))]
SupportStaff = Annotated[AdminPrincipal, Depends(require_role("support", "admin"))]
Administrator = Annotated[AdminPrincipal, Depends(require_role("admin"))]
