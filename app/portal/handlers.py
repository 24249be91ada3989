"""How the portal answers what its routes raise: the sign-in page or an error page."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from app.portal.errors import PageError, SignInRequired
from app.portal.pages import page
from app.web.i18n import gettext as _


async def on_sign_in_required(request: Request, error: Exception) -> Response:
    assert isinstance(error, SignInRequired)  # noqa: S101  (registered for it)
    if not error.full:
        return RedirectResponse("/login", status_code=303)
    context = {
        "title": _("Sign in to see this page"),
        "message": _(
            "For your security, your history, your addresses and your data need a sign-in "
            "by e-mail link."
        ),
        "next_url": "/login",
        "next_label": _("Get a sign-in link"),
    }
    return page(request, "errors/page.html", context, status=403)


def portal_error_page(request: Request, error: PageError) -> Response:
    """A portal page that says what went wrong, with the way back."""
    titles = {
        403: _("Not allowed"),
        404: _("Not found"),
        410: _("Link no longer valid"),
        422: _("Please check your input"),
    }
    context = {
        "title": titles.get(error.status, _("Something went wrong")),
        "message": error.message,
        "next_url": "/",
        "next_label": _("Back to your preferences"),
    }
    return page(request, "errors/page.html", context, status=error.status)


def install_page_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SignInRequired, on_sign_in_required)
