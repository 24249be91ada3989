"""`cmr customers import`: bulk create or update customers from CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from app.audit import CLI
from app.cli.context import cli_context, cli_engine
from app.consent.importing import count_rows, import_customers

customers_app = typer.Typer(help="Customers.", no_args_is_help=True)


@customers_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV with the columns of PUT /customers.")],
) -> None:
    """Create or update a customer per row; bad rows are reported by line and skipped."""
    console = Console(stderr=True, soft_wrap=True)  # one line per bad row, never wrapped
    if not file.is_file():
        console.print(f"no such file: {file}", markup=False, highlight=False)
        raise typer.Exit(2)
    with Progress(console=console, transient=True) as progress:
        try:
            task = progress.add_task("importing", total=count_rows(file))
            report = import_customers(
                cli_engine(),
                file,
                ctx=cli_context(),
                actor=CLI,
                source="cli",
                progress=lambda n: progress.advance(task, n),
            )
        except (ValueError, OSError) as error:  # a bad header, an unreadable file
            console.print(f"{file}: {error}", markup=False, highlight=False)
            raise typer.Exit(1) from error
    for line, message in report.errors:
        console.print(f"line {line}: {message}", markup=False, highlight=False)
    typer.echo(
        f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len(report.errors)} bad rows"
    )
    if report.errors:
        raise typer.Exit(1)
