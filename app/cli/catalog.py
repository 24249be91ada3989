"""`cmr catalog`: make the catalog match a TOML file, showing every difference."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from app.audit import Actor
from app.cli.context import cli_engine, cli_sealer
from app.consent.catalog import (
    CatalogPlan,
    CatalogRefused,
    Violation,
    apply_catalog,
    catalog_revision,
    plan_catalog,
)
from app.consent.catalog_details import difference_lines
from app.consent.catalog_schema import CatalogFileError, load_catalog_file
from app.db import read_session, write_session

catalog_app = typer.Typer(help="Manage the catalog of brands, topics and channels.")

SOURCE = "cli"


def _table(plan: CatalogPlan) -> Table:
    table = Table(title="Catalog differences", show_lines=True)
    table.add_column("change")
    table.add_column("what")
    table.add_column("details", overflow="fold")
    for difference in plan.differences:
        table.add_row(
            difference.action.removeprefix("catalog."),
            difference.subject,
            Text("\n".join(difference_lines(difference))),
        )
    return table


def _print_violations(console: Console, violations: tuple[Violation, ...], *, forced: bool) -> None:
    heading = "Forced past the guard rails:" if forced else "Refused by the guard rails:"
    console.print(heading, style="bold yellow" if forced else "bold red", highlight=False)
    for violation in violations:
        console.print(f"  {violation}", markup=False, highlight=False)
    if not forced:
        console.print(
            "Nothing was applied. To apply anyway, pass --force --reason TEXT.", highlight=False
        )


@catalog_app.command("apply")
def apply_command(
    file: Annotated[Path, typer.Argument(help="The catalog file (TOML).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only print the differences; change nothing.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Apply changes the guard rails refuse.")
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why; needed with --force, kept in the audit.")
    ] = None,
) -> None:
    """Make the catalog match FILE and audit every difference.

    Refused, applying nothing (exit 1): a topic's kind changed; opt_in turned into opt_out;
    a notice changed without a higher notice_version; a topic's depth lowered;
    a brand's default_depth raised. --force --reason TEXT applies them anyway.
    --dry-run only prints the differences, and exits 1 if the apply would be refused.
    """
    out = Console()
    err = Console(stderr=True)
    if reason is not None and not reason.strip():
        reason = None
    if force and reason is None:
        err.print("Error: --force needs --reason TEXT, kept in the audit trail.", highlight=False)
        raise typer.Exit(2)
    try:
        spec = load_catalog_file(file)
    except CatalogFileError as error:
        err.print(f"{file}: {len(error.problems)} problem(s):", markup=False, highlight=False)
        for problem in error.problems:
            err.print(f"  {problem}", markup=False, highlight=False)
        raise typer.Exit(1) from None

    engine = cli_engine()
    if dry_run:
        with read_session(engine) as session:
            plan = plan_catalog(session, spec)
        _show(out, plan)
        if plan.violations:
            _print_violations(err, plan.violations, forced=force)
            if not force:
                raise typer.Exit(1)
        out.print("Dry run: nothing was applied.", highlight=False)
        return

    try:
        with write_session(engine) as session:
            plan = apply_catalog(
                session,
                spec,
                sealer=cli_sealer(),
                actor=Actor("cli"),
                source=SOURCE,
                force=force,
                reason=reason,
            )
            revision = catalog_revision(session)
    except CatalogRefused as refused:
        _print_violations(err, refused.violations, forced=False)
        raise typer.Exit(1) from None
    _show(out, plan)
    if plan.violations:
        _print_violations(err, plan.violations, forced=True)
    if plan.changed:
        out.print(
            f"Applied {len(plan.differences)} change(s); catalog revision {revision}.",
            highlight=False,
        )


def _show(console: Console, plan: CatalogPlan) -> None:
    if plan.changed:
        console.print(_table(plan))
    else:
        console.print("No differences: the catalog already matches the file.", highlight=False)
