"""What the catalog pages show: the catalog, a plan's differences, a file's problems, in words."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.consent.catalog import CatalogPlan, Violation
from app.consent.catalog_details import difference_lines
from app.consent.catalog_schema import CatalogProblem
from app.web.i18n import gettext as _

_LINE = re.compile(r"^line (\d+), column \d+$")


@dataclass(frozen=True, slots=True)
class TopicRow:
    key: str
    name: str
    kind: str
    depth: str
    basis: str
    channels: str
    notice: str | None
    notice_version: str
    consent_valid: str


@dataclass(frozen=True, slots=True)
class BrandView:
    key: str
    name: str
    default_depth: str
    cap: str
    topics: tuple[TopicRow, ...]


@dataclass(frozen=True, slots=True)
class ChannelRow:
    channel: str
    quiet_hours: str
    quiet_days: str
    legal_quiet_hours: str
    legal_quiet_days: str


@dataclass(frozen=True, slots=True)
class DifferenceRow:
    change: str
    subject: str
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ProblemRow:
    where: str
    message: str
    line: str | None  # the file's line a syntax error is on


def _cap(cap: Mapping[str, int] | None) -> str:
    if cap is None:
        return _("none")
    return _("%(count)s in %(days)s days") % {"count": cap["count"], "days": cap["period_days"]}


def _windows(windows: Iterable[Mapping[str, str]]) -> str:
    return ", ".join(f"{window['start']}\u2013{window['end']}" for window in windows) or _("none")


def _days(days: Sequence[str]) -> str:
    return ", ".join(days) or _("none")


def _topic(topic: Mapping[str, Any]) -> TopicRow:
    marketing = topic["kind"] == "marketing"
    version = ""
    if topic["notice"] is not None:
        version = str(topic["notice_version"])
        if topic["min_notice_version"] != 1:
            version += " " + _("(at least %(min)s)") % {"min": topic["min_notice_version"]}
    valid_days = topic["consent_valid_days"]
    if topic["basis"] != "opt_in":
        consent_valid = "—"
    elif valid_days is None:
        consent_valid = _("until withdrawn")
    else:
        consent_valid = _("%(days)s days") % {"days": valid_days}
    return TopicRow(
        key=topic["key"],
        name=topic["name"],
        kind=topic["kind"],
        depth=topic["depth"] if marketing else "—",
        basis=topic["basis"] if marketing else "—",
        channels=", ".join(topic["channels"]),
        notice=topic["notice"],
        notice_version=version,
        consent_valid=consent_valid,
    )


def brand_views(view: Mapping[str, Any]) -> list[BrandView]:
    """The live brands of `catalog_view`, each with its topics."""
    return [
        BrandView(
            key=brand["key"],
            name=brand["name"],
            default_depth=brand["default_depth"],
            cap=_cap(brand["cap"]),
            topics=tuple(_topic(topic) for topic in brand["topics"]),
        )
        for brand in view["brands"]
    ]


def channel_rows(view: Mapping[str, Any]) -> list[ChannelRow]:
    """Every channel's default and legal quiet times."""
    return [
        ChannelRow(
            channel=channel,
            quiet_hours=_windows(settings["quiet_hours"]),
            quiet_days=_days(settings["quiet_days"]),
            legal_quiet_hours=_windows(settings["legal_quiet_hours"]),
            legal_quiet_days=_days(settings["legal_quiet_days"]),
        )
        for channel, settings in view["channels"].items()
    ]


def difference_rows(plan: CatalogPlan) -> list[DifferenceRow]:
    """The plan's differences, in the order they are applied and audited."""
    return [
        DifferenceRow(
            change=difference.action.removeprefix("catalog."),
            subject=difference.subject,
            lines=tuple(difference_lines(difference)),
        )
        for difference in plan.differences
    ]


def violation_texts(violations: Iterable[Violation]) -> list[str]:
    return [str(violation) for violation in violations]


def problem_rows(problems: Iterable[CatalogProblem], text: str) -> list[ProblemRow]:
    """A file's problems; a syntax error shows the line it is on."""
    lines = text.splitlines()
    rows = []
    for problem in problems:
        found = _LINE.match(problem.loc)
        number = int(found.group(1)) if found else 0
        line = lines[number - 1] if 0 < number <= len(lines) else None
        rows.append(ProblemRow(where=problem.loc, message=problem.msg, line=line))
    return rows
