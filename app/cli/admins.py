"""`cmr admins`: local accounts of the admin console."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from app.audit import Actor
from app.auth.admins import ROLES, AdminError, create_admin
from app.cli.context import cli_engine, cli_sealer
from app.db import write_session

admins_app = typer.Typer(help="Manage accounts of the admin console.", no_args_is_help=True)


def _password(from_stdin: bool, none: bool) -> str | None:
    if none:
        return None
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@admins_app.command("create")
def create_admin_command(
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The account's e-mail address.")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    no_password: Annotated[
        bool,
        typer.Option("--no-password", help="No local password: sign-in through OpenID Connect."),
    ] = False,
) -> None:
    """Create a console account; the password is asked for unless given on standard input."""
    if role not in ROLES:
        typer.echo(f"Error: the role is one of {', '.join(ROLES)}", err=True)
        raise typer.Exit(2)
    password = _password(password_stdin, no_password)
    try:
        with write_session(cli_engine()) as session:
            admin = create_admin(
                session,
                sealer=cli_sealer(),
                actor=Actor("cli"),
                source="cli",
                email=email,
                role=role,
                password=password,
            )
            summary = f"Account {admin.email} ({admin.role}) created: {admin.id}."
    except AdminError as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(summary)
