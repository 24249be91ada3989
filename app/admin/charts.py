"""Small accessible SVG charts drawn on the server: horizontal bars and stacked columns."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from app.web.i18n import gettext as _

INK = "#1b1f23"
GRID = "#c5ccd3"
BAR = "#0b5cad"
# Each at least 4.5:1 against white, so a thin segment still shows; segments are parted by white.
PALETTE = (
    "#0b5cad",  # blue
    "#a4161a",  # red
    "#1e6b34",  # green
    "#8a4b00",  # brown
    "#6a3d9a",  # purple
    "#00666b",  # teal
    "#4a5560",  # grey
    "#9c1f6e",  # magenta
)
WIDTH = 720
FONT = 12
LABEL_CHARS = 32


@dataclass(frozen=True)
class Table:
    """The numbers behind a chart: column headings, then rows whose first cell heads the row."""

    caption: str
    head: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Chart:
    """A drawn chart with its numbers as a table, for screen readers and exact reading."""

    ident: str
    svg: Markup
    table: Table


@dataclass(frozen=True)
class Series:
    """One band of a stacked chart: its name, colour and a value per category."""

    name: str
    colour: str
    values: Sequence[int]


def colours(names: Sequence[str], fixed: dict[str, str] | None = None) -> dict[str, str]:
    """A colour per name: the `fixed` ones, then the palette in order."""
    fixed = fixed or {}
    free = iter(c for c in PALETTE if c not in fixed.values())
    return {name: fixed.get(name) or next(free, PALETTE[-1]) for name in names}


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten at least `value` (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if value <= step * power)


def bar_chart(
    *,
    ident: str,
    title: str,
    description: str,
    bars: Sequence[tuple[str, float]],
    show: Callable[[float], str],
    maximum: float | None = None,
) -> Markup:
    """Horizontal bars, one a row, labelled on the left, the value written after each bar."""
    left, right, row = 240, 80, 26
    height = max(row * len(bars), row) + 16
    top = nice_ceiling(max((v for _, v in bars), default=0)) if maximum is None else maximum
    span = WIDTH - left - right
    if not bars:
        return _svg(ident, title, description, height, [_text(8, 24, _("Nothing to show yet."))])
    parts = [_axis_line(left, 4, left, height - 8)]
    for index, (label, value) in enumerate(bars):
        y = 8 + index * row
        width = 0 if top <= 0 else round(span * min(value, top) / top, 1)
        parts.append(_text(left - 8, y + 14, _short(label), anchor="end"))
        parts.append(
            Markup(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>'
            ).format(left, y + 2, width, row - 8, BAR, label, show(value))
        )
        parts.append(_text(left + width + 6, y + 14, show(value)))
    return _svg(ident, title, description, height, parts)


def stacked_columns(
    *,
    ident: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    label_every: int = 1,
) -> Markup:
    """Columns per category, each stacked from the series' values, with a legend above."""
    left, right, legend, bottom, plot = 56, 12, 28, 28, 200
    height = legend + plot + bottom
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    top = nice_ceiling(max(totals, default=0))
    slot = (WIDTH - left - right) / max(len(categories), 1)
    column = max(slot * 0.7, 1)
    base = legend + plot
    parts = _legend(series, left) + _grid(left, legend, plot, top)
    for index, category in enumerate(categories):
        x = round(left + index * slot + (slot - column) / 2, 1)
        y = float(base)
        for band in series:
            value = band.values[index]
            if value <= 0:
                continue
            size = plot * value / top
            y -= size
            parts.append(
                Markup(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="#ffffff" '
                    'stroke-width="1"><title>{}, {}: {}</title></rect>'
                ).format(
                    x,
                    round(y, 1),
                    round(column, 1),
                    round(size, 1),
                    band.colour,
                    category,
                    band.name,
                    value,
                )
            )
        if (len(categories) - 1 - index) % label_every == 0:  # the last one always
            parts.append(_text(x + column / 2, base + 18, category, anchor="middle"))
    return _svg(ident, title, description, height, parts)


def _legend(series: Sequence[Series], left: int) -> list[Markup]:
    parts: list[Markup] = []
    x = float(left)
    for band in series:
        parts.append(
            Markup('<rect x="{}" y="6" width="12" height="12" fill="{}"/>').format(
                round(x, 1), band.colour
            )
        )
        parts.append(_text(x + 16, 16, band.name))
        x += 28 + 7.5 * len(band.name)
    return parts


def _grid(left: int, legend: int, plot: int, top: float) -> list[Markup]:
    parts: list[Markup] = []
    for fraction in (0, 0.5, 1):
        y = legend + plot - plot * fraction
        parts.append(
            Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1"/>').format(
                left, y, WIDTH - 12, y, GRID
            )
        )
        if float(top * fraction).is_integer():  # counts: no tick at 2.5
            parts.append(_text(left - 6, y + 4, str(int(top * fraction)), anchor="end"))
    return parts


def _axis_line(x1: float, y1: float, x2: float, y2: float) -> Markup:
    return Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1"/>').format(
        x1, y1, x2, y2, INK
    )


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _text(x: float, y: float, content: str, *, anchor: str = "start") -> Markup:
    return Markup('<text x="{}" y="{}" font-size="{}" fill="{}" text-anchor="{}">{}</text>').format(
        round(x, 1), round(y, 1), FONT, INK, anchor, content
    )


def _svg(ident: str, title: str, description: str, height: float, parts: list[Markup]) -> Markup:
    size = round(height)
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {} {}" '
        'width="{}" height="{}" aria-labelledby="{}-title {}-desc">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>'
    ).format(
        WIDTH,
        size,
        WIDTH,
        size,
        ident,
        ident,
        ident,
        title,
        ident,
        description,
        Markup("").join(parts),
    )
