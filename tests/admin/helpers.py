"""A console under test: accounts of each role, signed in with their passwords."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.audit import Actor
from app.auth.admins import create_admin
from app.consent.context import Context
from app.db import write_session
from tests.api import Api
from tests.portal.helpers import csrf_of

PASSWORD = "console test password"


@dataclass
class Console(Api):
    """The API helper plus console visitors: one cookie jar per account."""

    app: FastAPI = field(kw_only=True)

    def visitor(self) -> TestClient:
        return TestClient(self.app, base_url=self.settings.base_url)

    def account(self, role: str, password: str | None = PASSWORD) -> str:
        """A new local account with `role`: its e-mail address."""
        email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
        ctx = Context.from_settings(self.settings)
        with write_session(self.engine) as session:
            create_admin(
                session,
                sealer=ctx.sealer,
                actor=Actor("cli"),
                source="cli",
                email=email,
                role=role,
                password=password,
            )
        return email

    def sign_in(self, role: str) -> TestClient:
        """A visitor signed in with a new account of `role`."""
        return self.sign_in_as(self.account(role))

    def sign_in_as(self, email: str) -> TestClient:
        """A visitor signed in with the local account `email`."""
        client = self.visitor()
        form = client.get("/admin/login")
        done = client.post(
            "/admin/login",
            data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(form.text)},
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
        return client

    def submit(
        self, client: TestClient, page: str, action: str, data: dict[str, Any]
    ) -> httpx.Response:
        """Post a form of `page` to `action` with its CSRF token; redirects are not followed."""
        shown = client.get(page)
        assert shown.status_code == 200, shown.text
        return client.post(
            action, data={**data, "csrf_token": csrf_of(shown.text)}, follow_redirects=False
        )
