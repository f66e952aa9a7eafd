"""The take-up report as files: one self-contained HTML page, and the same figures as a CSV.

The page has everything inside it (styles, and charts as inline SVG), so it can be emailed,
opened offline and printed; every chart sits beside a table of its figures and has a text
alternative. The CSV is tidy, one figure a row (`section,group,measure,value`; docs/report.md),
so a spreadsheet's pivot table can rebuild any table of the page. Both are written whole or not
at all (a temporary file renamed into place).

Matplotlib and jinja2 are the optional `[report]` extra (a kiosk does without them), so they are
imported when a page is made, and their absence is one line saying how to install them.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import re
from collections.abc import Iterator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from sync.reporting.model import SKIP_REASONS, Column, Report, ReportError, duration, long_date, moment, plural

TEMPLATES = Path(__file__).parents[1] / "data"
CSV_HEADER = ("section", "group", "measure", "value")
#: The distributions of the `[report]` extra, by the name they are imported under.
EXTRA_MODULES = ("jinja2", "matplotlib")
MISSING_EXTRA = ("the HTML report needs matplotlib and jinja2, which this installation left out: "
                 "install them with pip install 'assist-council-kiosk[report]'")

def require_extra() -> None:
    """Refuse at once, before a store is read or a figure computed, where the `[report]` extra is
    not installed (a kiosk's installation): the operator learns it first, not after a year's sums."""
    if any(importlib.util.find_spec(name) is None for name in EXTRA_MODULES):
        raise ReportError(MISSING_EXTRA)


#: OWASP's CSV injection rule: a text cell starting with one of these is a formula to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(cell: object) -> object:
    """A CSV cell a spreadsheet will show, not run: text starting like a formula gets a leading
    single quote (OWASP, "CSV Injection"); numbers, even negative ones, are left as they are.
    Group names in the report come from councils' catalogues, so they are not ours to trust."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def shown(value: float | None, column: Column) -> str:
    """A figure for the page."""
    if value is None:
        return "–"
    if column.kind == "rate":
        return f"{value * 100:.1f}%"
    if column.kind == "seconds":
        return duration(value)
    if column.kind == "time":
        return f"{long_date(moment(value))}, {moment(value):%H:%M} UTC"
    return f"{value:,.0f}"


def stored(value: float | None, column: Column) -> str:
    """A figure for the CSV: counts whole, rates as fractions, durations in whole seconds, moments
    as ISO 8601 in UTC."""
    if value is None:
        return ""
    if column.kind == "rate":
        return f"{value:.4f}"
    if column.kind == "time":
        return f"{moment(value):%Y-%m-%dT%H:%M:%S}Z"
    return str(int(Decimal(str(value)).quantize(Decimal(1), ROUND_HALF_UP)))  # halves up, as the page rounds


def csv_rows(report: Report) -> Iterator[tuple[str, str, str, str]]:
    """Every figure of the report, one a row, in the page's order."""
    yield "period", "all", "since", report.period.since.isoformat()
    yield "period", "all", "until", report.period.until.isoformat()
    for section in [report.headline, *report.sections]:
        for row in section.rows:
            for column, value in zip(section.columns, row.values):
                yield section.key, row.key, column.key, stored(value, column)


def write_csv(report: Report, path: Path) -> None:
    buffer = io.StringIO()
    # RFC 4180's CRLF: with "\n" alone, a cell holding a bare "\r" would not be quoted and would
    # break its row in two.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in csv_rows(report))
    _write(path, buffer.getvalue())


def page(report: Report, *, produced: date, council: str = "") -> str:
    """The HTML page: figures first, then how to read them."""
    try:
        from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

        from sync.reporting.charts import alternative, render
    except ModuleNotFoundError as missing:
        if (missing.name or "").partition(".")[0] not in EXTRA_MODULES:
            raise  # some other module: a broken installation, whose traceback says which
        raise ReportError(MISSING_EXTRA) from None
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    environment.filters["shown"] = shown
    environment.globals["plural"] = plural
    charts = {section.key: (render(section, f"chart-{section.key}"), alternative(section))
              for section in report.sections if section.in_html and section.chart}
    return environment.get_template("report.html.j2").render(
        report=report, council=council, period=report.period.described, produced=long_date(produced),
        sections=[section for section in report.sections if section.in_html], charts=charts,
        skipped_total=sum(report.skipped.values()), reasons=SKIP_REASONS)


def write_html(report: Report, path: Path, *, produced: date, council: str = "") -> None:
    _write(path, page(report, produced=produced, council=council))


def _write(path: Path, text: str) -> None:
    """Replace `path` whole: a reader never sees half a report, and a failure leaves the old one."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8", newline="")
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise ReportError(f"cannot write {path}: {error.strerror or error}") from None
