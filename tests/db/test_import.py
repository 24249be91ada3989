"""`cmr customers import FILE.csv`: creates, updates, empty cells, push tokens, bad rows by line."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col
from typer.testing import CliRunner

from app.cli.context import cli_engine
from app.cli.main import cli
from app.consent import importing
from app.models import AuditEvent, Customer
from tests.cli import cli_environment

Import = Callable[[str], Result]
SECRET = "import-test-secret-0123456789abcdef0123456789"
HEADER = "external_id,email,phone,push_tokens,postal_address,timezone,locale"


@pytest.fixture
def run_import(
    cli_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Import]:
    """Run `cmr customers import` on a CSV given as text."""

    def invoke(text: str) -> Result:
        path = tmp_path / f"{uuid.uuid4().hex}.csv"
        path.write_text(text, encoding="utf-8")
        return CliRunner().invoke(cli, ["customers", "import", str(path)], env={"COLUMNS": "200"})

    with cli_environment(monkeypatch, cli_database, SECRET):
        yield invoke


def customer(external_id: str) -> Customer | None:
    with Session(cli_engine()) as session:
        query = select(Customer).where(col(Customer.external_id) == external_id)
        return session.scalars(query).one_or_none()


def events(external_ids: list[str]) -> dict[str, int]:
    """The number of audit events per action about the customers with these external ids."""
    with Session(cli_engine()) as session:
        ids = select(col(Customer.id)).where(col(Customer.external_id).in_(external_ids))
        query = (
            select(col(AuditEvent.action), func.count())
            .where(col(AuditEvent.customer_id).in_(ids))
            .group_by(col(AuditEvent.action))
        )
        return {str(row[0]): int(row[1]) for row in session.execute(query)}


def tag() -> str:
    return uuid.uuid4().hex[:8]


def test_rows_create_customers_with_every_column(run_import: Import) -> None:
    t = tag()
    text = (
        f"{HEADER}\n"
        f"{t}-1,Ana.{t}@Example.org,+49 151 2345 6789,tok-a  tok-b,Hauptweg 1 Berlin,"
        "Europe/Berlin,de\n"
        f'{t}-2,,,,"{{""street"": ""Main St 1"", ""city"": ""Leeds""}}",,en-GB\n'
    )

    result = run_import(text)

    assert result.exit_code == 0, result.output
    assert "2 created, 0 updated, 0 unchanged, 0 bad rows" in result.stdout
    ana = customer(f"{t}-1")
    assert ana is not None
    assert (ana.email, ana.phone, ana.push_tokens) == (
        f"ana.{t}@example.org",
        "+4915123456789",
        ["tok-a", "tok-b"],
    )
    assert (ana.postal_address, ana.timezone, ana.locale) == (
        {"text": "Hauptweg 1 Berlin"},
        "Europe/Berlin",
        "de",
    )
    other = customer(f"{t}-2")
    assert other is not None
    assert (other.email, other.postal_address, other.locale) == (
        None,
        {"street": "Main St 1", "city": "Leeds"},
        "en-GB",
    )
    assert events([f"{t}-1", f"{t}-2"]) == {"customer.created": 2}


def test_rows_update_and_an_empty_cell_leaves_the_field(run_import: Import) -> None:
    t = tag()
    run_import(f"external_id,email,timezone\n{t},a.{t}@example.org,Europe/Berlin\n")

    result = run_import(f"external_id,email,timezone,locale\n{t},,Asia/Tokyo,\n")

    assert result.exit_code == 0, result.output
    assert "0 created, 1 updated, 0 unchanged, 0 bad rows" in result.stdout
    found = customer(t)
    assert found is not None
    assert (found.email, found.timezone, found.locale) == (f"a.{t}@example.org", "Asia/Tokyo", None)
    assert events([t]) == {"customer.created": 1, "customer.updated": 1}


def test_a_row_that_changes_nothing_records_nothing(run_import: Import) -> None:
    t = tag()
    text = f"external_id,email\n{t},n.{t}@example.org\n"
    run_import(text)

    result = run_import(text)

    assert result.exit_code == 0, result.output
    assert "0 created, 0 updated, 1 unchanged, 0 bad rows" in result.stdout
    assert events([t]) == {"customer.created": 1}
    assert customer(t) is not None


def test_an_email_alone_finds_or_creates_the_customer(run_import: Import) -> None:
    t = tag()
    run_import(f"external_id,email\n{t},e.{t}@example.org\n")

    result = run_import(f"email,locale\nE.{t}@EXAMPLE.org,de\nnew.{t}@example.org,en\n")

    assert result.exit_code == 0, result.output
    assert "1 created, 1 updated, 0 unchanged, 0 bad rows" in result.stdout
    found = customer(t)
    assert found is not None
    assert found.locale == "de"


def test_bad_rows_are_reported_by_line_and_the_rest_imported(run_import: Import) -> None:
    t = tag()
    text = (
        "external_id,email,phone,timezone\n"
        f"{t}-1,one.{t}@example.org,,\n"
        f"{t}-2,not-an-email,,\n"
        f"{t}-3,three.{t}@example.org,,\n"
        "\n"
        f"{t}-5,,12345,\n"
        f'"{t}-6",six.{t}@example.org,,"Mars/\nOlympus"\n'
        f",,,Europe/Berlin\n"
        f"{t}-9,one.{t}@example.org,,\n"
        f"{t}-10,ten.{t}@example.org,,\n"
    )

    result = run_import(text)

    assert result.exit_code == 1
    assert "3 created, 0 updated, 0 unchanged, 5 bad rows" in result.stdout
    lines = [line.split(":")[0] for line in result.stderr.splitlines() if line.startswith("line")]
    assert lines == ["line 3", "line 6", "line 7", "line 9", "line 10"]
    assert "email" in result.stderr
    imported = [n for n in range(1, 11) if customer(f"{t}-{n}") is not None]
    assert imported == [1, 3, 10]


@pytest.mark.parametrize(
    "header", ["external_id,email,colour", "external_id,email,email", "id,email"]
)
def test_an_unknown_or_repeated_column_imports_nothing(run_import: Import, header: str) -> None:
    t = tag()

    result = run_import(f"{header}\n{t},x.{t}@example.org,red\n")

    assert result.exit_code == 1
    assert "column" in result.stderr
    assert customer(t) is None


def test_a_missing_file_is_an_error(run_import: Import, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["customers", "import", str(tmp_path / "nope.csv")])

    assert result.exit_code != 0
    assert "nope.csv" in result.output
    del run_import


def test_a_few_hundred_rows_in_several_batches_one_audit_event_each(
    run_import: Import, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing, "BATCH", 64)
    t = tag()
    rows = [f"{t}-{n},r{n}.{t}@example.org,+49151{n:08d},tok-{n}" for n in range(350)]
    run_import("external_id,email\n" + "\n".join(r.rsplit(",", 2)[0] for r in rows[:100]) + "\n")

    result = run_import("external_id,email,phone,push_tokens\n" + "\n".join(rows) + "\n")

    assert result.exit_code == 0, result.output
    assert "250 created, 100 updated, 0 unchanged, 0 bad rows" in result.stdout
    counts = events([f"{t}-{n}" for n in range(350)])
    assert counts == {"customer.created": 350, "customer.updated": 100}
    last = customer(f"{t}-349")
    assert last is not None
    assert (last.phone, last.push_tokens) == ("+4915100000349", ["tok-349"])


def test_rows_about_one_customer_apply_in_order(run_import: Import) -> None:
    t = tag()
    text = (
        "external_id,email,locale\n"
        f"{t},o.{t}@example.org,de\n"
        f"{t}-x,,en\n"
        f"{t},,fr\n"
        f",O.{t}@example.org,en\n"
        f"{t}-y,o.{t}@example.org,\n"
    )

    result = run_import(text)

    assert result.exit_code == 1
    assert "2 created, 2 updated, 0 unchanged, 1 bad rows" in result.stdout
    assert "line 6: another customer has this email" in result.stderr
    found = customer(t)
    assert found is not None
    assert found.locale == "en"
    assert events([t]) == {"customer.created": 1, "customer.updated": 2}


def test_a_row_with_too_many_cells_is_bad(run_import: Import) -> None:
    t = tag()

    result = run_import(f"external_id,email\n{t}-1,a.{t}@example.org,extra\n{t}-2,\n")

    assert result.exit_code == 1
    assert "line 2: 3 cells for 2 columns" in result.stderr
    assert customer(f"{t}-1") is None
    assert customer(f"{t}-2") is not None


def test_a_file_unreadable_part_of_the_way_is_reported_and_the_rest_imported(
    run_import: Import,
) -> None:
    t = tag()

    result = run_import(
        f"external_id,email\n{t}-1,\n{t}-2,not-an-email\n{t}-3,{'x' * 200_000}\n{t}-4,\n"
    )

    assert result.exit_code == 1
    assert "line 3: email" in result.stderr
    assert "line 4: field larger than field limit (131072); the rest of the file was not read" in (
        result.stderr
    )
    assert "1 created, 0 updated, 0 unchanged, 2 bad rows" in result.stdout
    assert customer(f"{t}-1") is not None
    assert customer(f"{t}-4") is None


def test_a_bad_setting_is_named_without_a_traceback(run_import: Import) -> None:
    runner = CliRunner()

    result = runner.invoke(cli, ["db", "upgrade"], env={"CMR_TOKEN_TTL_SECONDS": "5"})

    assert result.exit_code == 2
    assert "CMR_TOKEN_TTL_SECONDS" in result.stderr
    assert "Traceback" not in result.output
    del run_import
