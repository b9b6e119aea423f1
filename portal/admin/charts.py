"""Bar and line charts drawn on the server as SVG, each with its data as a table.

No JavaScript: a chart is an ``<svg role="img">`` named by its ``<title>`` and
described by its ``<desc>`` (which the caller writes as a one-sentence summary), and
the same numbers follow in a real table, for screen readers and for anyone who wants
the exact values. Every text is escaped; the markup is safe to put in a template.
Colours come from the Okabe–Ito palette, which colour-blind readers can tell apart;
lines also differ by dash, and a legend names every series.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 260
MARGIN_LEFT = 52
MARGIN_RIGHT = 12
MARGIN_TOP = 28
MARGIN_BOTTOM = 40
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
DASHES = ("", "6 4", "2 3", "8 3 2 3")
TICKS = 4


@dataclass(frozen=True)
class Series:
    """One row of numbers to draw; None where there is no value (drawn as a gap)."""

    name: str
    values: Sequence[float | None]


def plain_number(value: float | None) -> str:
    """A value as the table shows it: whole numbers plainly, others to one decimal."""
    if value is None:
        return "–"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _number(value: float) -> str:
    """A coordinate, short."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class _Frame:
    """The plot area and the value scale shared by both kinds of chart."""

    categories: int
    top_value: float

    @property
    def plot_width(self) -> float:
        return WIDTH - MARGIN_LEFT - MARGIN_RIGHT

    @property
    def plot_height(self) -> float:
        return HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    @property
    def band(self) -> float:
        return self.plot_width / max(self.categories, 1)

    def x(self, index: int) -> float:
        """The middle of category ``index``."""
        return MARGIN_LEFT + self.band * (index + 0.5)

    def y(self, value: float) -> float:
        return MARGIN_TOP + self.plot_height * (1 - value / self.top_value)


def _frame(categories: int, series: Sequence[Series]) -> _Frame:
    values = [value for item in series for value in item.values if value is not None]
    return _Frame(categories, _nice_ceiling(max(values, default=0)))


def _axes(frame: _Frame, axis_labels: Sequence[str], format_value: Callable) -> list[str]:
    parts = []
    for tick in range(TICKS + 1):
        value = frame.top_value * tick / TICKS
        y = _number(frame.y(value))
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y}" y2="{y}" '
            f'stroke="#b1b4b6" stroke-width="1"/>'
            f'<text x="{MARGIN_LEFT - 6}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle" font-size="11" fill="#0b0c0c">'
            f"{escape(format_value(value))}</text>"
        )
    # Every category's label when they fit, else every second or third one.
    every = max(1, math.ceil(len(axis_labels) * 42 / frame.plot_width))
    for index, label in enumerate(axis_labels):
        if index % every:
            continue
        parts.append(
            f'<text x="{_number(frame.x(index))}" y="{HEIGHT - MARGIN_BOTTOM + 16}" '
            f'text-anchor="middle" font-size="11" fill="#0b0c0c">{escape(label)}</text>'
        )
    baseline = _number(frame.y(0))
    parts.append(
        f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{baseline}" '
        f'y2="{baseline}" stroke="#0b0c0c" stroke-width="1"/>'
    )
    return parts


def _legend(series: Sequence[Series], line: bool) -> list[str]:
    if len(series) < 2:
        return []
    parts = []
    x = MARGIN_LEFT
    for index, item in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        if line:
            dash = DASHES[index % len(DASHES)]
            dash_attribute = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(
                f'<line x1="{x}" x2="{x + 18}" y1="12" y2="12" stroke="{colour}" '
                f'stroke-width="3"{dash_attribute}/>'
            )
        else:
            parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/>')
        parts.append(
            f'<text x="{x + 22}" y="12" dominant-baseline="middle" font-size="12" '
            f'fill="#0b0c0c">{escape(item.name)}</text>'
        )
        x += 40 + 12 * len(item.name)
    return parts


def _table(
    chart_id: str,
    title: str,
    category_heading: str,
    categories: Sequence[str],
    series: Sequence[Series],
    format_value: Callable[[float | None], str],
) -> str:
    head = "".join(f'<th scope="col">{escape(item.name)}</th>' for item in series)
    rows = "".join(
        f'<tr><th scope="row">{escape(category)}</th>'
        + "".join(f"<td>{escape(format_value(item.values[index]))}</td>" for item in series)
        + "</tr>"
        for index, category in enumerate(categories)
    )
    return (
        f'<table class="kpi-chart-data" id="{chart_id}-data">'
        f"<caption>{escape(title)}</caption>"
        f'<thead><tr><th scope="col">{escape(category_heading)}</th>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _figure(
    chart_id: str,
    title: str,
    description: str,
    drawing: list[str],
    table: str,
) -> Markup:
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="kpi-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>' + "".join(drawing) + "</svg>"
    )
    return Markup(f'<figure class="kpi-figure" id="{chart_id}">{svg}{table}</figure>')  # noqa: S704  (every text above is escaped)


def _check(chart_id: str, categories: Sequence[str], series: Sequence[Series]) -> None:
    if not chart_id.replace("-", "").isalnum():
        raise ValueError(f"chart id must be letters, digits and hyphens: {chart_id!r}")
    if any(len(item.values) != len(categories) for item in series):
        raise ValueError("every series needs one value per category")


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    category_heading: str,
    axis_labels: Sequence[str] | None = None,
    format_value: Callable[[float | None], str] = plain_number,
) -> Markup:
    """Bars per category, one per series side by side, with the data table after them."""
    _check(chart_id, categories, series)
    frame = _frame(len(categories), series)
    drawing = _axes(frame, axis_labels or categories, format_value)
    group = frame.band * 0.7
    bar = group / max(len(series), 1)
    for number, item in enumerate(series):
        colour = COLOURS[number % len(COLOURS)]
        for index, value in enumerate(item.values):
            if value is None:
                continue
            x = frame.x(index) - group / 2 + bar * number
            top = frame.y(value)
            drawing.append(
                f'<rect x="{_number(x)}" y="{_number(top)}" width="{_number(bar)}" '
                f'height="{_number(frame.y(0) - top)}" fill="{colour}"/>'
            )
    drawing += _legend(series, line=False)
    table = _table(chart_id, title, category_heading, categories, series, format_value)
    return _figure(chart_id, title, description, drawing, table)


def line_chart(
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    category_heading: str,
    axis_labels: Sequence[str] | None = None,
    format_value: Callable[[float | None], str] = plain_number,
) -> Markup:
    """A line per series across the categories (broken where a value is missing), with a
    dot on every value and the data table after it."""
    _check(chart_id, categories, series)
    frame = _frame(len(categories), series)
    drawing = _axes(frame, axis_labels or categories, format_value)
    for number, item in enumerate(series):
        colour = COLOURS[number % len(COLOURS)]
        dash = DASHES[number % len(DASHES)]
        dash_attribute = f' stroke-dasharray="{dash}"' if dash else ""
        runs: list[list[str]] = [[]]
        for index, value in enumerate(item.values):
            if value is None:
                runs.append([])
                continue
            x, y = _number(frame.x(index)), _number(frame.y(value))
            runs[-1].append(f"{x},{y}")
            drawing.append(f'<circle cx="{x}" cy="{y}" r="3.5" fill="{colour}"/>')
        for run in runs:
            if len(run) > 1:
                drawing.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                    f'stroke-width="2.5"{dash_attribute}/>'
                )
    drawing += _legend(series, line=True)
    table = _table(chart_id, title, category_heading, categories, series, format_value)
    return _figure(chart_id, title, description, drawing, table)
