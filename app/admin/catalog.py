"""The console's catalog: read it (every role), export it as TOML, plan and apply edits (admin)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.admin.catalog_export import catalog_toml
from app.admin.catalog_views import (
    brand_views,
    channel_rows,
    difference_rows,
    problem_rows,
    violation_texts,
)
from app.admin.deps import Administrator, CsrfChecked, SignedInAdmin
from app.admin.pages import admin_page
from app.audit import Actor
from app.auth.principals import AdminPrincipal
from app.consent.catalog import (
    CatalogPlan,
    CatalogRefused,
    apply_catalog,
    catalog_revision,
    catalog_view,
    plan_catalog,
)
from app.consent.catalog_schema import CatalogFile, CatalogFileError, parse_catalog_text
from app.web.deps import ContextDep, ReadSession, WriteSession
from app.web.i18n import gettext as _

router = APIRouter(prefix="/admin/catalog", include_in_schema=False)

SOURCE = "admin"
MAX_FILE_CHARS = 1_000_000

CatalogText = Annotated[str, Form(max_length=MAX_FILE_CHARS)]
Force = Annotated[bool, Form()]
Reason = Annotated[str, Form(max_length=1000)]
Revision = Annotated[str, Form(max_length=20)]


def _revision(session: Session) -> str:
    return str(catalog_revision(session) or 0)


def _export(session: Session) -> str:
    return catalog_toml(catalog_view(session), revision=catalog_revision(session))


@router.get("", response_class=HTMLResponse)
def get_catalog(
    request: Request, principal: SignedInAdmin, session: ReadSession, applied: str = ""
) -> Response:
    """Brands, topics, channel settings; for admins, the catalog file to edit."""
    view = catalog_view(session)
    context = {
        "revision": _revision(session),
        "default_timezone": view["default_timezone"],
        "channels": channel_rows(view),
        "brands": brand_views(view),
        "applied": int(applied) if applied.isdecimal() and len(applied) <= 18 else None,
        "form": None,
    }
    if principal.role == "admin":
        context["form"] = {"catalog": _export(session), "force": False, "reason": ""}
    return admin_page(request, "admin/catalog.html", context, principal=principal)


@router.get("/export.toml")
def get_catalog_export(principal: SignedInAdmin, session: ReadSession) -> Response:  # noqa: ARG001  (the role check)
    """The live catalog as a file for `cmr catalog apply`."""
    return Response(
        _export(session),
        media_type="application/toml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="catalog.toml"'},
    )


@dataclass
class Edit:
    """A submitted catalog file, what it would change, and what is wrong with it."""

    text: str
    force: bool
    reason: str
    spec: CatalogFile | None = None
    plan: CatalogPlan | None = None
    errors: dict[str, Any] = field(default_factory=dict)
    stale: bool = False

    @property
    def refused(self) -> bool:
        return self.plan is not None and bool(self.plan.violations) and not self.force


def _read_edit(session: Session, text: str, force: bool, reason: str) -> Edit:
    """Parse and plan `text`, as `cmr catalog apply --dry-run` does; nothing is written."""
    edit = Edit(text=text, force=force, reason=reason.strip())
    if force and not edit.reason:
        edit.errors["reason"] = _("Forcing needs a reason; it is kept in the audit trail.")
    try:
        edit.spec = parse_catalog_text(text)
    except CatalogFileError as error:
        edit.errors["catalog"] = problem_rows(error.problems, text)
        return edit
    edit.plan = plan_catalog(session, edit.spec)
    return edit


def _edit_page(
    request: Request, principal: AdminPrincipal, session: Session, edit: Edit, *, status: int
) -> Response:
    plan = edit.plan
    context = {
        "revision": _revision(session),
        "form": {"catalog": edit.text, "force": edit.force, "reason": edit.reason},
        "errors": edit.errors,
        "stale": edit.stale,
        "planned": plan is not None,
        "differences": difference_rows(plan) if plan else [],
        "violations": violation_texts(plan.violations) if plan else [],
        "refused": edit.refused,
    }
    return admin_page(
        request, "admin/catalog_edit.html", context, principal=principal, status=status
    )


@router.post("/plan", response_class=HTMLResponse, dependencies=[CsrfChecked])
def post_catalog_plan(
    request: Request,
    principal: Administrator,
    session: WriteSession,
    catalog: CatalogText = "",
    force: Force = False,
    reason: Reason = "",
) -> Response:
    """The differences applying the file would make, and the guard rails it breaks (dry run)."""
    edit = _read_edit(session, catalog, force, reason)
    status = 422 if edit.errors or edit.refused else 200
    return _edit_page(request, principal, session, edit, status=status)


@router.post("/apply", response_class=HTMLResponse, dependencies=[CsrfChecked])
def post_catalog_apply(
    request: Request,
    principal: Administrator,
    session: WriteSession,
    ctx: ContextDep,
    catalog: CatalogText = "",
    force: Force = False,
    reason: Reason = "",
    revision: Revision = "",
) -> Response:
    """Make the catalog match the file, with the guard rails and audit of `cmr catalog apply`.

    A `revision` other than the catalog's (someone applied since the form was shown) applies
    nothing and shows the differences as they are now.
    """
    edit = _read_edit(session, catalog, force, reason)
    if edit.errors or edit.refused or edit.spec is None:
        return _edit_page(request, principal, session, edit, status=422)
    if revision and revision != _revision(session):
        edit.stale = True
        return _edit_page(request, principal, session, edit, status=409)
    try:
        plan = apply_catalog(
            session,
            edit.spec,
            sealer=ctx.sealer,
            actor=Actor("admin", principal.admin_id),
            source=SOURCE,
            force=force,
            reason=edit.reason or None,
        )
    except CatalogRefused:  # the catalog changed between the plan and the apply
        edit.plan = plan_catalog(session, edit.spec)
        return _edit_page(request, principal, session, edit, status=422)
    return RedirectResponse(f"/admin/catalog?applied={len(plan.differences)}", status_code=303)
