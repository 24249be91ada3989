"""The console's dashboard: decisions, topic reach, depth mix and unsubscribes, as SVG charts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from babel.numbers import format_percent
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from app.admin import dashboard_data as data
from app.admin.charts import Chart, Series, Table, bar_chart, colours, stacked_columns
from app.admin.deps import SignedInAdmin
from app.admin.pages import admin_page
from app.consent.vocabulary import DEPTHS
from app.models import utcnow
from app.web.deps import ReadSession
from app.web.i18n import babel_locale
from app.web.i18n import gettext as _

router = APIRouter(prefix="/admin", include_in_schema=False)

DECISION_DAYS = 14
UNSUBSCRIBE_DAYS = 30
OUTCOMES = ("allow", "deny", "defer")
OUTCOME_COLOURS = {"allow": "#1e6b34", "deny": "#a4161a", "defer": "#8a4b00"}


@dataclass(frozen=True)
class Section:
    """One part of the dashboard: a heading, sentences saying what is counted, its charts."""

    ident: str
    heading: str
    notes: tuple[str, ...]
    charts: tuple[Chart, ...]


@router.get("", response_class=HTMLResponse)
def get_dashboard(request: Request, principal: SignedInAdmin, session: ReadSession) -> Response:
    """The dashboard, drawn from the database as it is now; every role may see it."""
    sections = dashboard_sections(session, now=utcnow())
    return admin_page(request, "admin/home.html", {"sections": sections}, principal=principal)


def dashboard_sections(session: Session, *, now: datetime) -> tuple[Section, ...]:
    today = now.date()
    catalog = data.live_catalog(session)
    stats = data.preference_stats(session, catalog=catalog, now=now)
    return (
        _decisions(data.decision_counts(session, today=today, days=DECISION_DAYS)),
        _reach(catalog, stats),
        _depths(catalog, stats),
        _unsubscribes(data.unsubscribes(session, today=today, days=UNSUBSCRIBE_DAYS)),
    )


def _per_day(
    ident: str, title: str, what: str, days: Sequence[date], series: Sequence[Series], every: int
) -> Chart:
    """Stacked columns per UTC day, with a table of a row per day."""
    total = sum(sum(s.values) for s in series)
    words = {"first": days[0].isoformat(), "last": days[-1].isoformat(), "what": what}
    return Chart(
        ident=ident,
        svg=stacked_columns(
            ident=ident,
            title=title,
            description=_(
                "Stacked columns, one per UTC day from %(first)s to %(last)s, by %(what)s; "
                "%(total)s in all."
            )
            % {**words, "total": total},
            categories=[day.strftime("%m-%d") for day in days],
            series=series,
            label_every=every,
        ),
        table=Table(
            caption=title,
            head=(_("Day (UTC)"), *(s.name for s in series), _("Total")),
            rows=tuple(_day_row(day, [s.values[i] for s in series]) for i, day in enumerate(days)),
        ),
    )


def _day_row(day: date, values: Sequence[int]) -> tuple[str, ...]:
    return (day.isoformat(), *(str(value) for value in values), str(sum(values)))


def _decisions(counts: data.DecisionCounts) -> Section:
    outcomes = [o for o in OUTCOMES if o in counts.per_day] or list(OUTCOMES)
    outcomes += sorted(set(counts.per_day) - set(OUTCOMES))
    palette = colours(outcomes, OUTCOME_COLOURS)
    zero = (0,) * len(counts.days)
    series = [Series(o, palette[o], counts.per_day.get(o, zero)) for o in outcomes]
    title = _("Decisions per day by outcome")
    per_day = _per_day("decisions-per-day", title, _("outcome"), counts.days, series, 1)
    reasons = sorted(counts.per_reason.items(), key=lambda item: (-item[1], item[0]))
    label = {"": _("(no reason)")}
    per_reason = Chart(
        ident="decisions-per-reason",
        svg=bar_chart(
            ident="decisions-per-reason",
            title=_("Decisions by outcome and reason"),
            description=_("Horizontal bars, one per outcome and reason, over the same days."),
            bars=[(f"{o}: {label.get(r, r)}", n) for (o, r), n in reasons],
            show=lambda value: str(int(value)),
        ),
        table=Table(
            caption=_("Decisions by outcome and reason"),
            head=(_("Outcome"), _("Reason"), _("Decisions")),
            rows=tuple((o, label.get(r, r), str(n)) for (o, r), n in reasons),
        ),
    )
    return Section(
        ident="decisions",
        heading=_("Decisions"),
        notes=(
            _(
                "The last %(days)s days, per UTC day, from the decision counters (decisions "
                "themselves are not stored). Each decision counts once per day; by reason, a "
                "decision with several reasons counts once under each, as on /metrics. Servers "
                "add their counts every few seconds."
            )
            % {"days": DECISION_DAYS},
        ),
        charts=(per_day, per_reason),
    )


def _percent(value: float) -> str:
    return format_percent(value, "#,##0.0%", locale=babel_locale())


def _reach(catalog: data.Catalog, stats: data.PreferenceStats) -> Section:
    customers = stats.customers
    rows, bars = [], []
    for topic in catalog.topics:
        reached = stats.reached[(topic.brand, topic.key)]
        rate = reached / customers if customers else 0.0
        name = f"{catalog.brands[topic.brand][0]}: {topic.name}"
        basis = _("opt-in") if topic.basis == "opt_in" else _("opt-out")
        bars.append((f"{name} ({basis})", rate))
        rows.append((name, basis, str(reached), str(customers), _percent(rate)))
    chart = Chart(
        ident="topic-reach",
        svg=bar_chart(
            ident="topic-reach",
            title=_("Opt-in rate per topic"),
            description=_(
                "Horizontal bars, one per marketing topic: the share of %(customers)s live "
                "customers the topic reaches."
            )
            % {"customers": customers},
            bars=bars,
            show=_percent,
            maximum=1.0,
        ),
        table=Table(
            caption=_("Opt-in rate per topic"),
            head=(_("Topic"), _("Basis"), _("Customers reached"), _("Live customers"), _("Rate")),
            rows=tuple(rows),
        ),
    )
    return Section(
        ident="reach",
        heading=_("Opt-in rate per topic"),
        notes=(
            _(
                "The share of live customers whom a marketing topic reaches now, as far as "
                "their choices and consents go: they have not stopped all marketing, the "
                "brand's depth is not essentials, the topic is not switched off and, unless "
                "switched on, lies within the depth; for an opt-in topic they also hold "
                "consent, to a notice recent enough and not lapsed, on at least one channel "
                "the topic is on for. Addresses, suppressions, switched-off channels, pauses, "
                "quiet hours and caps are not counted."
            ),
        ),
        charts=(chart,),
    )


def _depths(catalog: data.Catalog, stats: data.PreferenceStats) -> Section:
    brands = list(catalog.brands)
    palette = colours(list(DEPTHS))
    series = [
        Series(depth, palette[depth], [stats.depths[b][depth] for b in brands]) for depth in DEPTHS
    ]
    chart = Chart(
        ident="depth-mix",
        svg=stacked_columns(
            ident="depth-mix",
            title=_("Depth mix per brand"),
            description=_(
                "Stacked columns, one per brand: live customers by their depth with the brand."
            ),
            categories=[catalog.brands[b][0] for b in brands],
            series=series,
        ),
        table=Table(
            caption=_("Depth mix per brand"),
            head=(_("Brand"), _("Default depth"), *DEPTHS, _("Chosen by the customer")),
            rows=tuple(
                (
                    catalog.brands[b][0],
                    catalog.brands[b][1],
                    *(str(stats.depths[b][d]) for d in DEPTHS),
                    str(sum(stats.chosen[b].values())),
                )
                for b in brands
            ),
        ),
    )
    return Section(
        ident="depths",
        heading=_("Depth mix per brand"),
        notes=(
            _(
                "Live customers per depth with each brand: the depth they chose, else the "
                "brand's default. The last column counts those who chose one."
            ),
        ),
        charts=(chart,),
    )


def _unsubscribes(found: data.Unsubscribes) -> Section:
    palette = colours(list(found.per_source))
    series = [Series(s, palette[s], values) for s, values in found.per_source.items()]
    title = _("Unsubscribes per day by source")
    chart = _per_day("unsubscribes", title, _("source"), found.days, series, 3)
    return Section(
        ident="unsubscribes",
        heading=title,
        notes=(
            _(
                "The last %(days)s days, per UTC day and the source of the change. Counted: "
                "every change to a customer's settings that switches a topic off, sets a "
                "brand's depth to essentials, switches a channel off or stops all marketing "
                "(one per change, however much it switches off), and every suppression for a "
                "STOP or a complaint (one per customer it concerns)."
            )
            % {"days": UNSUBSCRIBE_DAYS},
        ),
        charts=(chart,),
    )
