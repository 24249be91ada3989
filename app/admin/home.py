"""The console's first page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.admin.deps import SignedInAdmin
from app.admin.pages import admin_page

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def get_dashboard(request: Request, principal: SignedInAdmin) -> Response:
    return admin_page(request, "admin/home.html", {}, principal=principal)
