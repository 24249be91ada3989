"""Rendering a console page: the account (for the layout), the form token, cookies."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.admin.deps import AdminSignInRequired, forms
from app.auth.principals import AdminPrincipal
from app.web.errors import PageError
from app.web.forms import set_cookies
from app.web.i18n import gettext as _
from app.web.templates import templates


def admin_page(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    principal: AdminPrincipal | None,
    status: int = 200,
) -> HTMLResponse:
    """The template `name` (extending admin/base.html) with the account and form token."""
    full = {"admin": principal, "csrf_token": forms.token(request), **context}
    response = templates().TemplateResponse(request, name, full, status_code=status)
    set_cookies(request, response)
    return response


async def on_admin_sign_in_required(_request: Request, error: Exception) -> Response:
    assert isinstance(error, AdminSignInRequired)  # noqa: S101  (registered for it)
    return RedirectResponse("/admin/login", status_code=303)


def admin_error_page(request: Request, error: PageError) -> Response:
    titles = {403: _("Not allowed"), 404: _("Not found"), 422: _("Please check your input")}
    context = {
        "title": titles.get(error.status, _("Something went wrong")),
        "message": error.message,
    }
    return admin_page(request, "admin/error.html", context, principal=None, status=error.status)
