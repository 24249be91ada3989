"""`cmr catalog apply`: differences as a table, refusals, --force --reason, --dry-run, bad files."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from click.testing import Result
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session
from sqlmodel import col
from typer.testing import CliRunner

from app.cli.catalog import catalog_app
from app.cli.context import cli_engine
from app.consent.demo import DEMO_CATALOG
from app.db import create_db_engine
from app.models import AuditEvent, AuditHead, Brand, CatalogSetting, ChannelSetting, Topic
from tests.cli import clear_cli_caches

DEMO = DEMO_CATALOG

Run = Callable[..., Result]


@pytest.fixture
def run(cli_database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    monkeypatch.setenv("CMR_DATABASE_URL", cli_database)
    monkeypatch.setenv("CMR_SECRET_KEY", "cli-test-secret-0123456789abcdef0123456789")
    clear_cli_caches()
    with Session(cli_engine()) as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            # Each test starts with an empty trail; the append-only trigger guards the app.
            session.execute(text("SET LOCAL session_replication_role = replica"))
        for table in (Topic, Brand, ChannelSetting, CatalogSetting, AuditEvent, AuditHead):
            session.execute(delete(table))
    app = typer.Typer()
    app.add_typer(catalog_app, name="catalog")
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, ["catalog", *args], env={"COLUMNS": "200"})

    yield invoke
    clear_cli_caches()


@pytest.fixture
def query(cli_database: str) -> Iterator[Callable[[Any], Any]]:
    engine = create_db_engine(cli_database)

    def scalar(statement: Any) -> Any:
        with Session(engine) as session:
            return session.scalar(statement)

    yield scalar
    engine.dispose()


def count_events(query: Callable[[Any], Any]) -> int:
    return int(query(select(func.count()).select_from(AuditEvent)))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    return path


def demo_with(tmp_path: Path, old: str, new: str) -> Path:
    text = DEMO.read_text(encoding="utf-8")
    assert old in text
    return write(tmp_path, text.replace(old, new, 1))


LOWER_INSIDER = ('depth = "close"\nbasis = "opt_in"', 'depth = "regular"\nbasis = "opt_in"')


def test_apply_prints_the_differences_and_commits(run: Run, query: Callable[[Any], Any]) -> None:
    result = run("apply", str(DEMO))
    assert result.exit_code == 0, result.output
    assert "brand_added" in result.stdout
    assert "northwind/offers" in result.stdout
    assert "catalog revision 1" in result.stdout
    assert query(select(func.count()).select_from(Brand)) == 2
    with DEMO.open("rb") as handle:
        demo = tomllib.load(handle)
    topics = sum(len(brand["topics"]) for brand in demo["brands"])
    assert query(select(func.count()).select_from(Topic)) == topics
    channels = sum(1 for settings in demo["channels"].values() if any(settings.values()))
    assert count_events(query) == 1 + channels + 2 + topics

    again = run("apply", str(DEMO))
    assert again.exit_code == 0, again.output
    assert "No differences" in again.stdout
    assert count_events(query) == 1 + channels + 2 + topics


def test_dry_run_prints_and_changes_nothing(
    run: Run, query: Callable[[Any], Any], tmp_path: Path
) -> None:
    result = run("apply", str(DEMO), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "brand_added" in result.stdout
    assert "Dry run" in result.stdout
    assert query(select(func.count()).select_from(Brand)) == 0
    assert count_events(query) == 0

    assert run("apply", str(DEMO)).exit_code == 0
    lowered = demo_with(tmp_path, *LOWER_INSIDER)
    refused = run("apply", str(lowered), "--dry-run")
    assert refused.exit_code == 1
    assert '"close" → "regular"' in refused.stdout
    assert "northwind/insider: depth would be lowered" in refused.stderr


def test_a_refused_apply_prints_each_violation_and_applies_nothing(
    run: Run, query: Callable[[Any], Any], tmp_path: Path
) -> None:
    assert run("apply", str(DEMO)).exit_code == 0
    events = count_events(query)
    text = DEMO.read_text(encoding="utf-8")
    text = text.replace(*LOWER_INSIDER, 1)
    text = text.replace('default_depth = "essentials"', 'default_depth = "regular"', 1)
    path = write(tmp_path, text)

    result = run("apply", str(path))

    assert result.exit_code == 1
    assert "northwind/insider: depth would be lowered from close to regular" in result.stderr
    assert "acme: default_depth would be raised from essentials to regular" in result.stderr
    assert "Nothing was applied" in result.stderr
    assert count_events(query) == events
    insider = query(select(Topic.depth).where(col(Topic.key) == "insider"))
    assert insider == "close"


def test_force_needs_a_reason(run: Run) -> None:
    result = run("apply", str(DEMO), "--force")
    assert result.exit_code == 2
    assert "--force needs --reason" in result.stderr


def test_force_with_a_reason_applies_and_audits_it(
    run: Run, query: Callable[[Any], Any], tmp_path: Path
) -> None:
    assert run("apply", str(DEMO)).exit_code == 0
    lowered = demo_with(tmp_path, *LOWER_INSIDER)

    result = run("apply", str(lowered), "--force", "--reason", "Campaign review CR-7")

    assert result.exit_code == 0, result.output
    assert "Forced past the guard rails" in result.stderr
    assert query(select(Topic.depth).where(col(Topic.key) == "insider")) == "regular"
    last = query(select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(1))
    assert (last.action, last.reason) == ("catalog.topic_changed", "Campaign review CR-7")


def test_file_problems_are_each_printed(run: Run, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[brands]]\nkey = "Bad Key"\nname = "X"\ndefault_depth = "deep"\n',
    )
    result = run("apply", str(path))
    assert result.exit_code == 1
    assert "2 problem(s)" in result.stderr
    assert "brands[0].key: must be a slug" in result.stderr
    assert "brands[0].default_depth: Input should be" in result.stderr

    broken = write(tmp_path, "[[brands]\n")
    result = run("apply", str(broken))
    assert result.exit_code == 1
    assert "line 1, column" in result.stderr

    missing = run("apply", str(tmp_path / "missing.toml"))
    assert missing.exit_code == 1
    assert "cannot read" in missing.stderr
