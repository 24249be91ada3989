"""The role matrix: every console route refuses the roles that may not use it, and only those."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import col

from app.db import read_session
from app.main import ROUTERS
from app.models import Admin
from tests.admin.helpers import Console
from tests.portal.helpers import csrf_of

ROLES = ("auditor", "support", "admin")
EVERYONE, SUPPORT, ADMINS = frozenset(ROLES), frozenset({"support", "admin"}), frozenset({"admin"})

# Who may use each console route; a route missing here fails the test below.
MATRIX: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/admin"): EVERYONE,
    ("GET", "/admin/audit"): EVERYONE,
    ("GET", "/admin/audit/{event_id}"): EVERYONE,
    ("GET", "/admin/audit/export.csv"): EVERYONE,
    ("GET", "/admin/audit/export.jsonl"): EVERYONE,
    ("POST", "/admin/audit/verify"): EVERYONE,
    ("GET", "/admin/customers"): EVERYONE,
    ("GET", "/admin/customers/{customer_id}"): EVERYONE,
    ("POST", "/admin/customers/{customer_id}/preferences"): SUPPORT,
    ("GET", "/admin/catalog"): EVERYONE,
    ("GET", "/admin/catalog/export.toml"): EVERYONE,
    ("POST", "/admin/catalog/plan"): ADMINS,
    ("POST", "/admin/catalog/apply"): ADMINS,
    ("GET", "/admin/clients"): ADMINS,
    ("POST", "/admin/clients"): ADMINS,
    ("GET", "/admin/clients/{client_id}"): ADMINS,
    ("GET", "/admin/clients/{client_id}/secret"): ADMINS,
    ("POST", "/admin/clients/{client_id}/scopes"): ADMINS,
    ("POST", "/admin/clients/{client_id}/rotate"): ADMINS,
    ("POST", "/admin/clients/{client_id}/disable"): ADMINS,
    ("GET", "/admin/accounts"): ADMINS,
    ("POST", "/admin/accounts"): ADMINS,
    ("POST", "/admin/accounts/{admin_id}/role"): ADMINS,
    ("POST", "/admin/accounts/{admin_id}/disable"): ADMINS,
}
# Sign-in and sign-out are for everyone, signed in or not.
OPEN = {
    ("GET", "/admin/login"),
    ("POST", "/admin/login"),
    ("POST", "/admin/logout"),
    ("GET", "/admin/oidc/start"),
    ("GET", "/admin/oidc/callback"),
}


def console_routes() -> set[tuple[str, str]]:
    """Every (method, path) of the application's routers under /admin."""
    found = set()
    for router in ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute) and route.path.startswith("/admin"):
                path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
                found.update((method, path) for method in route.methods if method != "HEAD")
    return found


def test_the_matrix_lists_every_console_route() -> None:
    assert console_routes() - OPEN == set(MATRIX)


@pytest.fixture(scope="module")
def signed_in(console: Console) -> dict[str, TestClient]:
    return {role: console.sign_in(role) for role in ROLES}


@pytest.fixture(scope="module")
def values(console: Console) -> dict[str, str]:
    """Path parameters naming things that exist."""
    customer = console.customer(console.token())
    client_id, _secret = console.client()
    target = console.account("auditor")
    with read_session(console.engine) as session:
        admin_id = session.scalar(select(col(Admin.id)).where(col(Admin.email) == target))
    return {
        "customer_id": customer["id"],
        "client_id": client_id,
        "admin_id": str(admin_id),
        "event_id": "1",
    }


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
def test_each_route_refuses_the_roles_that_may_not_use_it(
    console: Console,
    signed_in: dict[str, TestClient],
    values: dict[str, str],
    method: str,
    path: str,
) -> None:
    url = path.format(**values)
    outcomes = {}
    for role, client in signed_in.items():
        if method == "GET":
            response = client.get(url, follow_redirects=False)
        else:
            token = csrf_of(client.get("/admin").text)
            response = client.post(url, data={"csrf_token": token}, follow_redirects=False)
        outcomes[role] = response.status_code
    refused = {role for role, status in outcomes.items() if status == 403}
    assert refused == set(ROLES) - MATRIX[(method, path)], outcomes
    signed_out = console.visitor()
    if method == "GET":
        anonymous = signed_out.get(url, follow_redirects=False)
    else:
        token = csrf_of(signed_out.get("/admin/login").text)
        anonymous = signed_out.post(url, data={"csrf_token": token}, follow_redirects=False)
    assert (anonymous.status_code, anonymous.headers.get("location")) == (303, "/admin/login")
