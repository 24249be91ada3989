"""Sign-in by magic link, preference links (limited sessions) and sign-out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.auth.limits import AttemptLimiter
from app.auth.links import Links
from app.auth.magic_links import LINK_LIFETIME, issue_link, link_is_open, redeem_link
from app.auth.sessions import Lifetimes, end_session, start_session
from app.consent.customers import find_customer
from app.consent.identity import InvalidIdentifier, Reference, normalize_email
from app.mail import Mail, Mailer
from app.models import Customer, utcnow
from app.portal.deps import (
    SESSION_COOKIE,
    CsrfChecked,
    MaybeCustomer,
)
from app.portal.errors import PageError
from app.portal.pages import page
from app.settings import Settings
from app.web.deps import ReadSession, WriteSession
from app.web.forms import set_cookie
from app.web.i18n import LANGUAGE_COOKIE, LOCALES, current_locale, speaking
from app.web.i18n import gettext as _

router = APIRouter(include_in_schema=False)


def sign_in_limits() -> tuple[AttemptLimiter, AttemptLimiter]:
    """Links asked for per address (5) and per client address (30) in 15 minutes."""
    return AttemptLimiter(attempts=5, window_seconds=900), AttemptLimiter(30, 900)


def login_context(request: Request, **values: Any) -> dict[str, Any]:
    """The login page's values: the form's, and the provider's button when one is set up."""
    settings: Settings = request.app.state.settings
    name, oidc = settings.portal_oidc_name, None
    if settings.portal_oidc_issuer and settings.portal_oidc_client_id:
        oidc = (
            _("Sign in with your account")
            if name == Settings.model_fields["portal_oidc_name"].default
            else _("Sign in with %(name)s") % {"name": name}
        )
    return {"email": "", "error": None, "signed_out": False, "refusal": None, "oidc": oidc} | values


@router.get("/login", response_class=HTMLResponse)
def get_login(request: Request, signed_out: bool = False) -> Response:
    """The form that asks for an e-mail address."""
    return page(request, "portal/login.html", login_context(request, signed_out=signed_out))


def _mail_link(mailer: Mailer, to: str, url: str, locale: str) -> None:
    minutes = int(LINK_LIFETIME.total_seconds() // 60)
    with speaking(locale):
        mailer.send(
            Mail(
                to=to,
                subject=_("Your sign-in link"),
                text=_(
                    "Open this link to sign in and manage how we contact you:\n\n{url}\n\n"
                    "It works once, for {minutes} minutes. If you did not ask for it, "
                    "ignore this message: nothing changes."
                ).format(url=url, minutes=minutes),
            )
        )


@router.post("/login", response_class=HTMLResponse, dependencies=[CsrfChecked])
def post_login(
    request: Request,
    session: WriteSession,
    background: BackgroundTasks,
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """Send a link when the address is a customer's; the answer is the same either way."""
    try:
        address = normalize_email(email)
    except InvalidIdentifier:
        error = _("Enter an e-mail address such as name@example.org.")
        context = login_context(request, email=email, error=error)
        return page(request, "portal/login.html", context, status=422)
    by_address: AttemptLimiter = request.app.state.sign_in_addresses
    by_ip: AttemptLimiter = request.app.state.sign_in_ips
    ip = request.client.host if request.client else ""
    wait = max(by_address.retry_after(address), by_ip.retry_after(ip))
    if wait:
        response = page(request, "portal/too_many.html", {"minutes": -(-wait // 60)}, status=429)
        response.headers["Retry-After"] = str(wait)
        return response
    by_address.fail(address)  # every request counts, not only failures: each may send mail
    by_ip.fail(ip)
    customer = find_customer(session, Reference("email", address))
    if customer is not None:
        settings: Settings = request.app.state.settings
        token = issue_link(session, customer_id=customer.id, now=utcnow())
        url = f"{settings.base_url.rstrip('/')}/login/{token}"
        locale = customer.locale if customer.locale in LOCALES else current_locale()
        background.add_task(_mail_link, request.app.state.mailer, address, url, locale)
    return page(request, "portal/link_sent.html", {"email": address})


@router.get("/login/{token}", response_class=HTMLResponse)
def get_login_link(token: str, request: Request, session: ReadSession) -> Response:
    """A button that signs in by POST: mail scanners that follow the link use nothing up."""
    if not link_is_open(session, token=token, now=utcnow()):
        raise PageError(410, _("This sign-in link has expired or was already used."))
    return page(request, "portal/confirm_sign_in.html", {"token": token})


def signed_in(
    request: Request, session: WriteSession, customer_id: str, *, limited: bool
) -> Response:
    """A new session (the old one ends), its cookie, and the way to the overview."""
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        end_session(session, token=old)
    token = start_session(
        session, kind="customer", subject_id=customer_id, limited=limited, now=utcnow()
    )
    response = RedirectResponse("/", status_code=303)
    settings: Settings = request.app.state.settings
    max_age = int(Lifetimes.from_settings(settings).absolute.total_seconds())
    set_cookie(request, response, SESSION_COOKIE, token, max_age=max_age)
    customer = session.get(Customer, customer_id)
    if customer is not None and customer.locale in LOCALES:
        set_cookie(request, response, LANGUAGE_COOKIE, customer.locale, max_age=365 * 86400)
    return response


@router.post("/login/{token}", dependencies=[CsrfChecked])
def post_login_link(token: str, request: Request, session: WriteSession) -> Response:
    """Use the link: a new session for its customer."""
    customer_id = redeem_link(session, token=token, now=utcnow())
    customer = None if customer_id is None else session.get(Customer, customer_id)
    if customer is None or customer.erased_at is not None:
        raise PageError(410, _("This sign-in link has expired or was already used."))
    return signed_in(request, session, customer.id, limited=False)


@router.get("/p/{token}")
def open_preference_link(
    token: str, request: Request, session: WriteSession, principal: MaybeCustomer
) -> Response:
    """A preference link from a message: a limited session for its customer."""
    links: Links = request.app.state.links
    values = links.preferences.verify(token)
    customer = session.get(Customer, values[0]) if values and len(values) == 1 else None
    if customer is None or customer.erased_at is not None:
        raise PageError(404, _("This link is not valid."))
    if principal is not None and principal.customer_id == customer.id:
        return RedirectResponse("/", status_code=303)  # already signed in: keep that session
    return signed_in(request, session, customer.id, limited=True)


@router.post("/logout", dependencies=[CsrfChecked])
def post_logout(request: Request, session: WriteSession) -> Response:
    """End the session and forget its cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        end_session(session, token=token)
    response = RedirectResponse("/login?signed_out=true", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
