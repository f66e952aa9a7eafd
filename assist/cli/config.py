"""`assist config`: the settings in force and where each came from."""

from __future__ import annotations

import json

import click

from assist.cli.context import AppContext, pass_app
from sync.config import documented_keys, mask_url_password

SECRETS = frozenset({"store.key", "backoffice.api_key", "twilio.auth_token", "notify.api_key", "fleet.metrics_token"})


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@pass_app
def config(app: AppContext, as_json: bool) -> None:
    """Every setting with its value (secrets masked) and its source: default, file or environment."""
    rows = {}
    for dotted, _default, _doc in documented_keys():
        section, key = dotted.split(".")
        value = getattr(getattr(app.settings, section), key)
        if dotted in SECRETS and value:
            value = "********"
        elif isinstance(value, str):
            value = mask_url_password(value)
        rows[dotted] = {"value": value, "source": app.settings.sources.get(dotted, "default")}
    if as_json:
        click.echo(json.dumps(rows))
        return
    for dotted, row in rows.items():
        click.echo(f"{dotted} = {json.dumps(row['value'])}  ({row['source']})")
