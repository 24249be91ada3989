"""The `cmr` command: database, catalog, clients, customers, audit, demo, server."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError

from app.cli.admins import admins_app
from app.cli.audit import audit_app
from app.cli.catalog import catalog_app
from app.cli.clients import clients_app
from app.cli.customers import customers_app
from app.cli.demo import demo_command
from app.migrate import upgrade
from app.settings import get_settings

cli = typer.Typer(help="cmr: customer-managed relationships.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
cli.add_typer(db_app, name="db")
cli.add_typer(catalog_app, name="catalog")
cli.add_typer(clients_app, name="clients")
cli.add_typer(admins_app, name="admins")
cli.add_typer(customers_app, name="customers")
cli.add_typer(audit_app, name="audit")
cli.command("demo")(demo_command)


@cli.callback()
def check_settings() -> None:
    """cmr: customer-managed relationships."""
    try:
        get_settings()
    except ValidationError as error:
        for problem in error.errors():
            name = "CMR_" + "_".join(str(part) for part in problem["loc"]).upper()
            typer.echo(f"{name}: {problem['msg']}", err=True)
        raise typer.Exit(2) from error


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema."""
    upgrade(get_settings().database_url)
    typer.echo("database is at the newest schema")


@cli.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run the server."""
    uvicorn.run(
        "app.main:app",
        host=host,
        port=port,
        proxy_headers=True,
        log_level="info",
        # Request paths carry customer references and link tokens: no access log.
        access_log=False,
    )


def main() -> None:
    """Entry point of the `cmr` console script."""
    cli()
