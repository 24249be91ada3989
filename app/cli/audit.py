"""`cmr audit`: commands on the audit trail."""

from __future__ import annotations

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from app.audit import VerifyResult, verify_chain
from app.cli.context import cli_engine
from app.db import read_session

audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)


@audit_app.command("verify")
def verify() -> None:
    """Check the hash chain: exit 0 when intact, else 1, naming the first broken event."""
    try:
        with read_session(cli_engine()) as session:
            result = verify_chain(session)
    except SQLAlchemyError as error:  # not a verdict on the chain: another exit code
        Console(stderr=True).print(f"cannot read the audit trail: {type(error).__name__}")
        raise typer.Exit(2) from error
    raise typer.Exit(report(result, Console()))


def report(result: VerifyResult, console: Console) -> int:
    """Print the outcome of a chain check; answer the exit code."""
    if result.ok:
        console.print(f"[green]intact[/green]: {result.checked} events checked")
        return 0
    console.print(
        f"[red]broken[/red] at event {result.broken_id}: {result.problem} "
        f"({result.checked} events before it are intact)",
        highlight=False,
    )
    return 1
