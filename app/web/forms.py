"""Forms and cookies of the pages: CSRF tokens bound to a session, and the cookies' flags."""

from __future__ import annotations

import secrets

from fastapi import Request
from fastapi.responses import Response

from app.auth.csrf import CsrfSigner
from app.settings import Settings
from app.web.errors import PageError
from app.web.i18n import gettext as _

VISITOR_COOKIE = "cmr_visitor"  # anchors the CSRF token of forms shown before sign-in
CSRF_FIELD = "csrf_token"


class FormGuard:
    """CSRF protection for the pages of one session cookie (the portal's or the console's).

    A form's token is an HMAC of the session's token, or of a visitor cookie before sign-in.
    """

    def __init__(self, session_cookie: str) -> None:
        self.session_cookie = session_cookie

    def _stored_anchor(self, request: Request) -> str | None:
        return request.cookies.get(self.session_cookie) or request.cookies.get(VISITOR_COOKIE)

    def anchor(self, request: Request) -> str:
        """What this request's forms are bound to; a new visitor gets a cookie with the page."""
        anchor: str | None = getattr(request.state, "csrf_anchor", None)
        if anchor is None:
            anchor = self._stored_anchor(request)
            if not anchor:
                anchor = secrets.token_urlsafe(32)
                request.state.new_visitor = anchor
            request.state.csrf_anchor = anchor
        return anchor

    def token(self, request: Request) -> str:
        signer: CsrfSigner = request.app.state.csrf
        return signer.token(self.anchor(request))

    async def check(self, request: Request) -> None:
        """Every form posts its page's token; a missing or wrong one changes nothing (403)."""
        form = await request.form()
        given = form.get(CSRF_FIELD)
        signer: CsrfSigner = request.app.state.csrf
        if not signer.check(
            self._stored_anchor(request) or "", given if isinstance(given, str) else None
        ):
            raise PageError(
                403, _("This form has expired. Please go back, reload the page and try again.")
            )


def secure_cookies(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    return settings.base_url.startswith("https://")


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """A cookie as every page cookie is: HttpOnly, SameSite=Lax, Secure over https."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )


def set_cookies(request: Request, response: Response) -> None:
    """The visitor cookie a page's CSRF token was bound to, when it was made for this page."""
    new_visitor = getattr(request.state, "new_visitor", None)
    if new_visitor:
        set_cookie(request, response, VISITOR_COOKIE, new_visitor, max_age=24 * 3600)
