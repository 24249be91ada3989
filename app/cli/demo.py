"""`cmr demo`: a database with the demo catalog, customers and an API client."""

from __future__ import annotations

import json
import secrets
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import Engine

from app.audit import CLI
from app.auth.admins import create_admin
from app.auth.clients import create_client
from app.auth.scopes import ALL_SCOPES
from app.cli.context import cli_context, cli_engine
from app.consent.context import Context
from app.consent.demo import apply_demo_catalog, create_demo_customers
from app.db import write_session
from app.migrate import upgrade
from app.settings import get_settings


def demo_command(
    customers: Annotated[int, typer.Option(min=0, help="How many demo customers.")] = 3000,
) -> None:
    """A database with the demo catalog, demo customers and an API client; says how to reach it."""
    settings = get_settings()
    console = Console()
    upgrade(settings.database_url)
    engine, ctx = cli_engine(), cli_context()
    apply_demo_catalog(engine, ctx, CLI)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("demo customers", total=customers)
        create_demo_customers(
            engine, ctx, CLI, customers, progress=lambda n: progress.advance(task, n)
        )
    client_id, secret = demo_client(engine, ctx, "demo")
    admin_email, password = demo_admin(engine, ctx)
    base = settings.base_url.rstrip("/")
    lines = [
        f"Portal:    {base}/login  (sign in as customer1@example.org; with the console mail"
        " backend the sign-in link is printed here by the server)",
        f"Console:   {base}/admin/login  (sign in as {admin_email}, password {password};"
        " shown only now)",
        f"API:       {base}/api/v1  (OpenAPI at {base}/docs)",
        f"Health:    {base}/healthz, {base}/readyz, {base}/metrics",
        f"Customers: ext:demo-1 … ext:demo-{customers} (email customer1@example.org …)",
        "API client (the secret is shown only now):",
    ]
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print_json(json.dumps({"client_id": client_id, "client_secret": secret}))
    # One line, never wrapped, so that it can be copied into a shell as it is.
    console.print(
        f"Token:   curl -s -u {client_id}:{secret} -d grant_type=client_credentials "
        f"{base}/oauth/token",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def demo_client(engine: Engine, ctx: Context, name: str) -> tuple[str, str]:
    """A new API client with every scope, for every brand: its id and secret."""
    with write_session(engine) as session:
        client, secret = create_client(
            session,
            sealer=ctx.sealer,
            actor=CLI,
            source="cli",
            name=name,
            scopes=sorted(ALL_SCOPES),
            brands=None,
        )
    return client.id, secret


def demo_admin(engine: Engine, ctx: Context) -> tuple[str, str]:
    """A new console account with the admin role: its e-mail address and password."""
    email = f"admin-{secrets.token_hex(3)}@example.org"
    password = secrets.token_urlsafe(12)
    with write_session(engine) as session:
        create_admin(
            session,
            sealer=ctx.sealer,
            actor=CLI,
            source="cli",
            email=email,
            role="admin",
            password=password,
        )
    return email, password
