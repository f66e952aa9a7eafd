"""`assist gazetteer`: load the council's address list, and look addresses up, from the command line."""

from __future__ import annotations

from pathlib import Path

import click

from assist.cli.context import pass_app
from sync.places import gazetteer as gz


@click.group()
def gazetteer() -> None:
    """The offline address list residents' addresses are looked up in."""


def _mapping(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    mapping = {}
    for value in values:
        our_field, sign, header = value.partition("=")
        if not sign or not our_field.strip() or not header.strip():
            raise click.BadParameter(f"{value!r} should be FIELD=HEADER, for example postcode=PCODE")
        mapping[our_field.strip().lower()] = header.strip()
    return mapping


@gazetteer.command("import")
@click.argument("file", required=False, type=click.Path(dir_okay=True, path_type=Path))
@click.option("--demo", is_flag=True, help="Load the demo council's fictional address list instead of a file.")
@click.option("--map", "columns", multiple=True, callback=_mapping, metavar="FIELD=HEADER",
              help=f"Read FIELD from the column HEADER (repeatable). Fields: {', '.join(gz.FIELDS)}.")
@pass_app
def import_command(app, file: Path | None, demo: bool, columns: dict[str, str]) -> None:
    """Replace the address list with FILE.csv (UPRN, address, postcode and coordinates).

    Coordinates are British National Grid eastings and northings, or latitude and longitude.
    Rows with problems are listed by line number and left out; the rest load.
    """
    if demo == (file is not None):
        raise click.UsageError("Give either a CSV file or --demo.")
    try:
        report = gz.import_csv(app.store.db.places, gz.DEMO_CSV if file is None else file, columns)
    except gz.GazetteerError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Loaded {report.loaded} addresses")
    if report.skipped:
        click.echo(f"Skipped {len(report.skipped)} rows:")
        for line, reason in report.skipped:
            click.echo(f"line {line}: {reason}")


@gazetteer.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000), help="Most addresses to show.")
@pass_app
def search_command(app, query: tuple[str, ...], limit: int) -> None:
    """Look up addresses by postcode ("BF1 2AB", "BF1") or street and number ("12 high st")."""
    text = " ".join(query)
    places = gz.search(app.store.db.places, text, limit)
    if not places:
        click.echo(f"No addresses found for {text!r}.")
        return
    for place in places:
        click.echo(f"{place.uprn}  {place.postcode:<8}  {place.address}")
