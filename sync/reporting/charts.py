"""The take-up report's charts: matplotlib drawing SVG, inlined into the page.

Matplotlib runs on its Agg backend (no display: reports are made on servers and over SSH) and
draws figures directly, without pyplot's global state. Text stays text (`svg.fonttype = none`),
so it can be searched, read aloud and printed sharp. Each chart's SVG is made repeatable, so that
the same stores give the same file: a fixed hash salt per chart (its element ids, unique on the
page), no date or creator metadata, no ids matplotlib invents by counting.
"""

from __future__ import annotations

import html
import io
import re
from datetime import date, timedelta
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import rc_context  # after choosing the backend
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, DayLocator, date2num
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.typing import RcKeyType

from sync.reporting.model import Chart, Section, duration, plural

#: GOV.UK's blue, green, orange and dark grey, in the order series use them.
COLOURS = ("#1d70b8", "#00703c", "#f47738", "#505a5f")
TEXT = "#0b0c0c"
STYLE: dict[RcKeyType, Any] = {"svg.fonttype": "none", "font.size": 9, "text.color": TEXT, "axes.labelcolor": TEXT,
         "axes.edgecolor": "#b1b4b6", "xtick.color": TEXT, "ytick.color": TEXT, "axes.spines.top": False,
         "axes.spines.right": False, "legend.frameon": False,
         "text.parse_math": False}  # labels come from event rows: "$...$" is text, never a formula
#: Up to this many days a chart has a bar a day; a longer period is drawn as steps.
DAILY_BARS = 62
#: Horizontal bars list at most this many labels in their text alternative; the table has the rest.
ALT_ROWS = 12


def time_unit(longest: float) -> tuple[str, float]:
    """The unit a chart of durations reads best in, and its size in seconds."""
    if longest >= 2 * 86400:
        return "days", 86400
    if longest >= 2 * 3600:
        return "hours", 3600
    if longest >= 120:
        return "minutes", 60
    return "seconds", 1


def _series(section: Section, key: str) -> list[float]:
    """A column's values to plot: a figure there is none of (no duration yet) as 0."""
    return [value or 0 for value in section.values(key)]


def _chart(section: Section) -> Chart:
    if section.chart is None:
        raise ValueError(f"the section {section.key!r} has no chart")
    return section.chart


def _days(section: Section, chart: Chart, figure: Figure) -> None:
    axes = figure.add_subplot()
    days = [date.fromisoformat(row.key) for row in section.rows]
    for colour, key in zip(COLOURS, chart.series):
        label = section.label(key)
        if len(days) <= DAILY_BARS:
            # matplotlib's stubs list numbers only, but its units registry draws dates as dates.
            axes.bar(days, _series(section, key), width=0.8, color=colour, label=label,  # type: ignore[arg-type]
                     linewidth=0)
        else:  # one shape a series, not a bar a day: a year stays small and quick to draw
            edges = date2num(days + [days[-1] + timedelta(days=1)])
            axes.stairs(_series(section, key), edges, fill=True, color=colour, label=label)
    # A tick a day for a short period (AutoDateLocator would add "12:00" between days), or as many as fit.
    locator = DayLocator() if len(days) <= 8 else AutoDateLocator(maxticks=8, interval_multiples=True)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator, show_offset=False))
    axes.set_ylabel(chart.axis.capitalize())
    counts = axes.yaxis.get_major_locator()
    if isinstance(counts, MaxNLocator):  # the default AutoLocator is one: whole sessions only
        counts.set_params(integer=True)
    figure.legend(loc="outside upper left", ncols=len(chart.series))


def _bars(section: Section, chart: Chart, figure: Figure) -> None:
    axes = figure.add_subplot()
    series = chart.series
    labels = [row.label for row in section.rows]
    unit, size = ("", 1.0)
    if chart.axis == "time":
        unit, size = time_unit(max(max(_series(section, key)) for key in series))
    height = 0.8 / len(series)
    for number, (colour, key) in enumerate(zip(COLOURS, series)):
        values = [value / size for value in _series(section, key)]
        positions = [index + (number - (len(series) - 1) / 2) * height for index in range(len(labels))]
        bars = axes.barh(positions, values, height=height, color=colour, label=section.label(key))
        # Each bar says its figure as the table beside it does: a duration as "0.4 s", a count whole.
        said = [duration(value) if unit else f"{value:,.0f}" for value in _series(section, key)]
        axes.bar_label(bars, labels=said, padding=3, fontsize=8)
    if not unit:  # counts: whole sessions only, no tick at half a session
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_yticks(range(len(labels)), labels)
    axes.invert_yaxis()  # the table's order, top to bottom
    axes.set_xlabel(unit.capitalize() if unit else chart.axis.capitalize())
    axes.margins(x=0.15)
    if len(series) > 1:
        figure.legend(loc="outside upper left", ncols=len(series))


def alternative(section: Section) -> str:
    """The chart said in words, for people who cannot see it (and for print in black and white)."""
    chart = _chart(section)
    if chart.kind == "days":
        counts = _series(section, chart.series[0])
        busiest = max(range(len(counts)), key=lambda index: counts[index])
        others = "".join(f", {sum(_series(section, key)):,.0f} {section.label(key).lower()}"
                         for key in chart.series[1:])
        return (f"Chart of {chart.axis} per day from {section.rows[0].label} to {section.rows[-1].label}: "
                f"{sum(counts):,.0f} in all{others}; the most on {section.rows[busiest].label} "
                f"({counts[busiest]:,.0f}).")
    parts = []
    for row in section.rows[:ALT_ROWS]:
        values = [(section.label(key).lower(), row.values[section.index(key)]) for key in chart.series]
        if chart.axis == "time":
            said = ", ".join(f"{name} {'none' if value is None else duration(value)}" for name, value in values)
        else:  # "1,203 sessions, 950 submitted", "1 session"
            said = ", ".join(_counted(value, name) for name, value in values)
        parts.append(f"{row.label}: {said}")
    more = len(section.rows) - ALT_ROWS
    return (f"Horizontal bar chart of {section.title.lower()}. " + "; ".join(parts) + "."
            + (f" And {more} more in the table." if more > 0 else ""))


#: Count columns whose label is a plural noun, as one of them is said.
NOUNS = {"sessions": "session", "submissions": "submission"}


def _counted(value: float | None, name: str) -> str:
    if value is None:
        return f"no {name}"
    if name in NOUNS:
        return plural(round(value), "{n} " + NOUNS[name], "{n} " + name)
    return f"{value:,.0f} {name}"



def render(section: Section, element_id: str) -> str:
    """`section`'s chart as an inline <svg> element, labelled by its title and described by the
    element `element_id`-caption (the page's caption, which holds `alternative(section)`)."""
    chart = _chart(section)
    rows = len(section.rows) * max(1, len(chart.series) - 0.5) if chart.kind == "bars" else 10
    with rc_context({**STYLE, "svg.hashsalt": f"assist-report-{section.key}"}):
        figure = Figure(figsize=(6.4, min(12.0, 1.2 + 0.3 * rows)), layout="constrained")
        (_days if chart.kind == "days" else _bars)(section, chart, figure)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]  # no XML declaration or DOCTYPE inside HTML
    svg = re.sub(r'<g id="[^"]*"', "<g", svg)  # matplotlib's counted ids would repeat from chart to chart
    svg = re.sub(r'<svg ([^>]*?)width="[^"]*" height="[^"]*"', r"<svg \1", svg, count=1)
    opening_end = svg.index(">") + 1
    return (svg[:opening_end].replace(
        "<svg ", f'<svg id="{element_id}" class="chart" role="img" aria-labelledby="{element_id}-title" '
                 f'aria-describedby="{element_id}-caption" ', 1)
        + f'<title id="{element_id}-title">{html.escape(section.title)}</title>' + svg[opening_end:])
