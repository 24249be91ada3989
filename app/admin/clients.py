"""The console's API clients (admin): list, create, rotate the secret, change scopes, disable."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.admin.clients_views import (
    brand_choices,
    client_row,
    client_rows,
    scope_choices,
    unknown,
)
from app.admin.deps import Administrator, CsrfChecked
from app.admin.pages import admin_page
from app.audit import Actor
from app.auth.clients import (
    NAME_MAX_LENGTH,
    ClientDisabledError,
    ClientNotFoundError,
    change_client_scopes,
    create_client,
    disable_client,
    rotate_client_secret,
)
from app.auth.handover import Handover
from app.auth.principals import AdminPrincipal
from app.keys import Keys
from app.models import ApiClient
from app.web.deps import ContextDep, ReadSession, WriteSession
from app.web.errors import PageError
from app.web.forms import secure_cookies
from app.web.i18n import gettext as _

router = APIRouter(prefix="/admin/clients", include_in_schema=False)

SOURCE = "admin"

Name = Annotated[str, Form(max_length=NAME_MAX_LENGTH * 2)]
Values = Annotated[list[str] | None, Form(max_length=100)]


def _notice(done: str) -> str | None:
    notices = {
        "scopes": _("The scopes are changed: a scope taken away stops working at once."),
        "unchanged": _("Nothing changed."),
        "disabled": _("The client is disabled: its secret and every token it holds stop working."),
    }
    return notices.get(done)


def _actor(principal: AdminPrincipal) -> Actor:
    return Actor("admin", principal.admin_id)


def _list_page(
    request: Request,
    principal: AdminPrincipal,
    session: Session,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "clients": client_rows(session),
        "scope_choices": scope_choices(),
        "brand_choices": brand_choices(session),
        "form": form or {"name": "", "scopes": [], "brands": []},
        "errors": errors or {},
    }
    return admin_page(request, "admin/clients.html", context, principal=principal, status=status)


SECRET_COOKIE = "cmr_secret"  # noqa: S105  (a cookie name, not a secret)
SECRET_SECONDS = 120


def _handover(request: Request) -> Handover:
    keys: Keys = request.app.state.keys
    return Handover(keys, "client-secret")


def _hand_over(
    request: Request, principal: AdminPrincipal, client: ApiClient, secret: str, *, created: bool
) -> Response:
    """On to the page that shows the secret once: a reload then neither shows it again nor
    repeats the change. The secret travels sealed in a cookie for that page alone."""
    path = f"/admin/clients/{client.id}/secret"
    response = RedirectResponse(path, status_code=303)
    sealed = _handover(request).seal(
        {
            "client": client.id,
            "admin": principal.admin_id,
            "secret": secret,
            "created": str(created),
        },
        seconds=SECRET_SECONDS,
    )
    response.set_cookie(
        SECRET_COOKIE,
        sealed,
        max_age=SECRET_SECONDS,
        path=path,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )
    return response


def _not_found() -> PageError:
    return PageError(404, _("There is no API client with this id."))


def _client(session: Session, client_id: str) -> ApiClient:
    client = session.get(ApiClient, client_id)
    if client is None:
        raise _not_found()
    return client


def _detail_page(
    request: Request,
    principal: AdminPrincipal,
    client: ApiClient,
    *,
    done: str = "",
    scopes: list[str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "client": client_row(client),
        "scope_choices": scope_choices(),
        "chosen": sorted(client.scopes) if scopes is None else scopes,
        "notice": _notice(done),
        "errors": errors or {},
    }
    return admin_page(request, "admin/client.html", context, principal=principal, status=status)


@router.get("", response_class=HTMLResponse)
def get_clients(request: Request, principal: Administrator, session: ReadSession) -> Response:
    return _list_page(request, principal, session)


@router.post("", response_class=HTMLResponse, dependencies=[CsrfChecked])
def post_client(
    request: Request,
    principal: Administrator,
    session: WriteSession,
    ctx: ContextDep,
    name: Name = "",
    scopes: Values = None,
    brands: Values = None,
) -> Response:
    """A new client; its secret is shown on the answer, and only there."""
    chosen_scopes, chosen_brands = sorted(set(scopes or [])), sorted(set(brands or []))
    errors: dict[str, str] = {}
    if not name.strip() or len(name.strip()) > NAME_MAX_LENGTH:
        errors["name"] = _("Give the client a name of 1 to %(max)s characters.") % {
            "max": NAME_MAX_LENGTH
        }
    if not chosen_scopes:
        errors["scopes"] = _("Choose at least one scope.")
    elif unknown(chosen_scopes, scope_choices()):
        errors["scopes"] = _("Choose among the scopes listed.")
    if unknown(chosen_brands, brand_choices(session)):
        errors["brands"] = _("Choose among the brands listed.")
    if errors:
        form = {"name": name, "scopes": chosen_scopes, "brands": chosen_brands}
        return _list_page(request, principal, session, form=form, errors=errors, status=422)
    client, secret = create_client(
        session,
        sealer=ctx.sealer,
        actor=_actor(principal),
        source=SOURCE,
        name=name,
        scopes=chosen_scopes,
        brands=chosen_brands or None,
    )
    return _hand_over(request, principal, client, secret, created=True)


@router.get("/{client_id}/secret", response_class=HTMLResponse)
def get_client_secret(
    request: Request, client_id: str, principal: Administrator, session: ReadSession
) -> Response:
    """The secret just made, shown this once: never stored in plain, never cached."""
    client = _client(session, client_id)
    sealed = request.cookies.get(SECRET_COOKIE)
    values = None if sealed is None else _handover(request).open(sealed)
    shown = (
        values is not None
        and values.get("client") == client_id
        and values.get("admin") == principal.admin_id
    )
    context = {
        "client": client_row(client),
        "secret": values["secret"] if shown and values else None,
        "created": bool(values and values.get("created") == "True"),
    }
    response = admin_page(request, "admin/client_secret.html", context, principal=principal)
    response.headers["Cache-Control"] = "no-store"
    response.delete_cookie(SECRET_COOKIE, path=f"/admin/clients/{client_id}/secret")
    return response


@router.get("/{client_id}", response_class=HTMLResponse)
def get_client(
    request: Request, client_id: str, principal: Administrator, session: ReadSession, done: str = ""
) -> Response:
    return _detail_page(request, principal, _client(session, client_id), done=done)


def _disabled() -> PageError:
    return PageError(422, _("This client is disabled: nothing about it changes any more."))


@router.post("/{client_id}/scopes", response_class=HTMLResponse, dependencies=[CsrfChecked])
def post_client_scopes(
    request: Request,
    client_id: str,
    principal: Administrator,
    session: WriteSession,
    ctx: ContextDep,
    scopes: Values = None,
) -> Response:
    """Set the client's scopes; one taken away stops working at once, even in older tokens."""
    client = _client(session, client_id)
    if client.disabled_at is not None:
        raise _disabled()
    chosen = sorted(set(scopes or []))
    error = None
    if not chosen:
        error = _("Choose at least one scope; to stop a client altogether, disable it.")
    elif unknown(chosen, scope_choices()):
        error = _("Choose among the scopes listed.")
    if error is not None:
        return _detail_page(
            request, principal, client, scopes=chosen, errors={"scopes": error}, status=422
        )
    before = sorted(client.scopes)
    try:
        change_client_scopes(
            session,
            sealer=ctx.sealer,
            actor=_actor(principal),
            source=SOURCE,
            client_id=client_id,
            scopes=chosen,
        )
    except ClientDisabledError:  # disabled since it was read
        raise _disabled() from None
    done = "unchanged" if before == chosen else "scopes"
    return RedirectResponse(f"/admin/clients/{client_id}?done={done}", status_code=303)


@router.post("/{client_id}/rotate", response_class=HTMLResponse, dependencies=[CsrfChecked])
def post_client_rotate(
    request: Request,
    client_id: str,
    principal: Administrator,
    session: WriteSession,
    ctx: ContextDep,
) -> Response:
    """A new secret, shown once; the old one and every token issued with it stop working."""
    try:
        client, secret = rotate_client_secret(
            session, sealer=ctx.sealer, actor=_actor(principal), source=SOURCE, client_id=client_id
        )
    except ClientNotFoundError:
        raise _not_found() from None
    except ClientDisabledError:
        raise _disabled() from None
    return _hand_over(request, principal, client, secret, created=False)


@router.post("/{client_id}/disable", dependencies=[CsrfChecked])
def post_client_disable(
    client_id: str, principal: Administrator, session: WriteSession, ctx: ContextDep
) -> Response:
    """Disable the client: its secret and every token it holds stop working at once."""
    try:
        disable_client(
            session, sealer=ctx.sealer, actor=_actor(principal), source=SOURCE, client_id=client_id
        )
    except ClientNotFoundError:
        raise _not_found() from None
    return RedirectResponse(f"/admin/clients/{client_id}?done=disabled", status_code=303)
