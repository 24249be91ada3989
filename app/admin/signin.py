"""Console sign-in with a local account, and sign-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.admin.deps import ADMIN_COOKIE, CsrfChecked, MaybeAdmin
from app.admin.pages import admin_page
from app.auth.admins import authenticate_admin
from app.auth.limits import AttemptLimiter
from app.auth.sessions import Lifetimes, end_session, start_session
from app.models import utcnow
from app.settings import Settings
from app.web.deps import WriteSession
from app.web.forms import set_cookie
from app.web.i18n import gettext as _

router = APIRouter(prefix="/admin", include_in_schema=False)


def _login_page(
    request: Request, *, email: str = "", error: str | None = None, status: int = 200
) -> Response:
    settings: Settings = request.app.state.settings
    context = {"email": email, "error": error, "oidc": settings.oidc_issuer is not None}
    return admin_page(request, "admin/login.html", context, principal=None, status=status)


@router.get("/login", response_class=HTMLResponse)
def get_admin_login(request: Request, principal: MaybeAdmin) -> Response:
    if principal is not None:
        return RedirectResponse("/admin", status_code=303)
    return _login_page(request)


def start_admin_session(request: Request, session: WriteSession, admin_id: str) -> Response:
    """A new console session (the old one ends), its cookie, and the way in."""
    old = request.cookies.get(ADMIN_COOKIE)
    if old:
        end_session(session, token=old)
    token = start_session(session, kind="admin", subject_id=admin_id, limited=False, now=utcnow())
    response = RedirectResponse("/admin", status_code=303)
    settings: Settings = request.app.state.settings
    max_age = int(Lifetimes.from_settings(settings).absolute.total_seconds())
    set_cookie(request, response, ADMIN_COOKIE, token, max_age=max_age)
    return response


@router.post("/login", response_class=HTMLResponse, dependencies=[CsrfChecked])
def post_admin_login(
    request: Request,
    session: WriteSession,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Check the password; failures are limited per account and per address."""
    by_account: AttemptLimiter = request.app.state.admin_attempts
    by_ip: AttemptLimiter = request.app.state.admin_ip_attempts
    account, ip = email.strip().lower(), request.client.host if request.client else ""
    wait = max(by_account.retry_after(account), by_ip.retry_after(ip))
    if wait:
        response = _login_page(
            request, email=email, error=_("Too many failed attempts. Try again later."), status=429
        )
        response.headers["Retry-After"] = str(wait)
        return response
    admin = authenticate_admin(session, email, password, now=utcnow())
    if admin is None:
        by_account.fail(account)
        by_ip.fail(ip)
        return _login_page(
            request,
            email=email,
            error=_("The e-mail address or the password is wrong."),
            status=401,
        )
    return start_admin_session(request, session, admin.id)


@router.post("/logout", dependencies=[CsrfChecked])
def post_admin_logout(request: Request, session: WriteSession) -> Response:
    token = request.cookies.get(ADMIN_COOKIE)
    if token:
        end_session(session, token=token)
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(ADMIN_COOKIE, path="/")
    return response
