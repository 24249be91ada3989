"""`cmr clients`: create and disable API clients."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlmodel import col

from app.audit import Actor
from app.auth.clients import ClientNotFoundError, create_client, disable_client
from app.auth.scopes import ALL_SCOPES, unknown_scopes
from app.cli.context import cli_engine, cli_sealer
from app.db import read_session, write_session
from app.models.catalog import Brand

clients_app = typer.Typer(help="Manage API clients.", no_args_is_help=True)

SOURCE = "cli"


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


@clients_app.command("create")
def create_client_command(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="What the client is, for people: 'Acme ESP'.")
    ],
    scope: Annotated[
        list[str],
        typer.Option(
            "--scope", metavar="SCOPE", help="A scope the client may ask for; repeat for several."
        ),
    ],
    brand: Annotated[
        list[str] | None,
        typer.Option(
            "--brand", metavar="BRAND", help="Limit the client to a brand; repeat for several."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the credentials as JSON.")] = False,
) -> None:
    """Create an API client and print its id and secret; the secret is shown only this once."""
    if unknown := unknown_scopes(scope):
        known = ", ".join(sorted(ALL_SCOPES))
        raise _fail(f"unknown scope {', '.join(unknown)} (scopes: {known})", 2)
    engine = cli_engine()
    if brand:
        with read_session(engine) as session:
            known_brands = set(session.scalars(select(col(Brand.key))))
        for missing in sorted(set(brand) - known_brands):
            typer.echo(f"Warning: brand {missing} is not in the catalog (yet).", err=True)
    try:
        with write_session(engine) as session:
            client, secret = create_client(
                session,
                sealer=cli_sealer(),
                actor=Actor("cli"),
                source=SOURCE,
                name=name,
                scopes=scope,
                brands=brand or None,
            )
    except ValueError as error:
        raise _fail(str(error), 2) from error
    if as_json:
        typer.echo(json.dumps({"client_id": client.id, "client_secret": secret}))
        return
    table = Table(title=f"API client {client.name}", show_header=False)
    table.add_row("client_id", client.id)
    table.add_row("client_secret", secret)
    table.add_row("scopes", " ".join(client.scopes))
    table.add_row("brands", " ".join(client.brands) if client.brands is not None else "all")
    console = Console()
    console.print(table)
    console.print("The secret is shown only this once: store it now.", style="bold")


@clients_app.command("disable")
def disable_client_command(
    client_id: Annotated[str, typer.Argument(metavar="CLIENT_ID", help="The client's id, cl_….")],
) -> None:
    """Disable an API client: its secret and every token it holds stop working at once."""
    try:
        with write_session(cli_engine()) as session:
            client = disable_client(
                session, sealer=cli_sealer(), actor=Actor("cli"), source=SOURCE, client_id=client_id
            )
    except ClientNotFoundError as error:
        raise _fail(f"no client {client_id}", 1) from error
    typer.echo(f"Client {client.id} ({client.name}) is disabled.")
