"""`assist catalogue`: the services residents can ask for here."""

from __future__ import annotations

import json

import click

from assist.context import AppContext, pass_app


@click.group()
def catalogue() -> None:
    """The service catalogue in force: the council's, or the bundled one until it is fetched."""


@catalogue.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@pass_app
def show(app: AppContext, as_json: bool) -> None:
    """Service codes and names."""
    current = app.store.catalogue()
    if as_json:
        click.echo(json.dumps({"version": current.version, "source": current.source, "services": [
            {"service_code": service.code, "service_name": service.name, "group": service.group,
             "lgsl": service.lgsl, "metadata": service.metadata} for service in current.services]}))
        return
    click.echo(f"# {current.source} catalogue {current.version}")
    width = max(len(service.code) for service in current.services)
    for service in current.services:
        click.echo(f"{service.code:<{width}}  {service.name}")
