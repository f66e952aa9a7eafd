"""`assist report`: how residents used the kiosks and the text service, as one HTML page (and CSV)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import click

from assist.cli.context import AppContext, pass_app
from sync.reporting.model import plural
from sync.reporting.report import Period, ReportError, build


class CalendarDate(click.ParamType):
    """A day written YYYY-MM-DD."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx) -> date:
        if isinstance(value, date):
            return value
        try:
            return datetime.strptime(value, "%Y-%m-%d").date()
        except ValueError:
            self.fail(f"{value!r} is not a date: write it as YYYY-MM-DD, for example 2026-11-24.", param, ctx)


@click.command()
@click.option("--since", required=True, type=CalendarDate(), help="First day of the period (UTC).")
@click.option("--until", type=CalendarDate(), help="Last day of the period, included (UTC). Default: today.")
@click.option("--store", "stores", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="A store copied from a kiosk or the SMS server, read without being changed (repeatable). "
                   "Default: this machine's store (on the council's side, with every kiosk's events its fleet "
                   "service received).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The HTML report to write: one self-contained page.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the same figures here as CSV (section,group,measure,value).")
@pass_app
def report(app: AppContext, since: date, until: date | None, stores: tuple[Path, ...], out: Path,
           csv_path: Path | None) -> None:
    """The take-up report: sessions per day, completion and where people gave up, help from volunteers,
    kiosk and text, languages, time to complete and time to the council's acceptance."""
    # Here, not at the top: matplotlib is loaded only when a report is made.
    from sync.reporting.page import require_extra, write_csv, write_html

    try:
        require_extra()
    except ReportError as error:
        raise click.ClickException(str(error)) from None
    today = datetime.now(timezone.utc).date()
    try:
        period = Period(since, until or today)
    except ReportError as error:
        raise click.UsageError(str(error)) from None
    if stores:
        unique: dict[Path, Path] = {}
        for path in stores:  # each file once, named as it was first given
            unique.setdefault(path.resolve(), path)
        sources: list[tuple[str, Path | str]] = [(str(path), path) for path in unique.values()]
    else:
        app.store  # noqa: B018  (opens this machine's store, creating it on a fresh machine)
        settings = app.settings
        sources = [(f"{settings.store_name} (this service)", settings.store.url) if settings.on_postgres
                   else (f"{settings.store_path} (this machine)", settings.store_path)]
    try:
        figures = build(sources, period)
        write_html(figures, out, produced=today, council=app.settings.council.name)
        if csv_path:
            write_csv(figures, csv_path)
    except ReportError as error:
        raise click.ClickException(str(error)) from None

    written = f"{out} and {csv_path}" if csv_path else str(out)
    if figures.sessions:
        click.echo(f"{period.described}: {plural(figures.sessions, '{n} session', '{n} sessions')} from "
                   f"{figures.read_from}. Written to {written}.")
    else:
        click.echo(f"{period.described}: there were no sessions in the stores read; the report says so. "
                   f"Written to {written}.")
    if skipped := sum(figures.skipped.values()):
        click.echo(plural(skipped, "{n} event row could not be used", "{n} event rows could not be used")
                   + "; the report lists them by store and reason.", err=True)
