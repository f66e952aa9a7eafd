"""`assist catalogue`: the services residents can ask for here."""

from __future__ import annotations

import json

import click

from assist.cli.context import AppContext, pass_app
from sync.catalogue import Catalogue, Service


@click.group()
def catalogue() -> None:
    """The service catalogue in force: the council's, or the bundled one until it is fetched."""


@catalogue.command()
@click.argument("code", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@pass_app
def show(app: AppContext, code: str | None, as_json: bool) -> None:
    """Service codes and names, and the bundled service whose plain words each uses (matched by
    pin, code, LGSL code or name; none). With CODE: that service's questions, for typing up paper
    forms (CODE may be the council's code or the bundled one it matched)."""
    current = app.store.catalogue()
    if code is not None:
        service = current.get(code)
        if service is None:
            raise click.ClickException(f"no service {code!r} in the {current.source} catalogue {current.version}; "
                                       "`assist catalogue show` lists the codes")
        click.echo(questions(service))
        return
    if as_json:
        click.echo(json.dumps({"version": current.version, "source": current.source, "services": [
            {"service_code": service.code, "service_name": service.name, "group": service.group,
             "lgsl": service.lgsl, "metadata": service.metadata, **_overlay(current, service)}
            for service in current.services]}))
        return
    click.echo(listing(current))


def _overlay(current: Catalogue, service: Service) -> dict[str, str]:
    """The bundled service whose words it uses, and how it was matched ("bundled": it is one)."""
    if current.source == "bundled":
        return {"overlay": service.code, "matched_by": "bundled"}
    return {"overlay": service.overlay, "matched_by": service.matched_by}


def listing(current: Catalogue) -> str:
    rows = [("code", "name", "overlay", "matched by")]
    for service in current.services:
        overlay = _overlay(current, service)
        rows.append((service.code, service.name, overlay["overlay"] or "-", overlay["matched_by"]))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    lines = [f"# {current.source} catalogue {current.version}"]
    lines += [f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}".rstrip()
              for row in rows]
    return "\n".join(lines)


def questions(service: Service) -> str:
    """A service's questions as Open311 names them: code, datatype, required, and list values
    by key (what a paper form's answers are typed up as) and name."""
    lines = [f"{service.code}  {service.name}"]
    if service.overlay:
        lines[0] += f"  (words of {service.overlay}, matched by {service.matched_by})"
    if not service.questions:
        lines.append("No questions: a description and the place are all it needs.")
    for number, attribute in enumerate(service.questions, 1):
        flags = "required" if attribute.required else "optional"
        if not attribute.variable:
            flags = "information only"
        if attribute.max_length:
            flags += f", at most {attribute.max_length} characters"
        lines.append(f"{number}. {attribute.code}  {attribute.datatype}  {flags}")
        lines.append(f"   {attribute.description}")
        if attribute.hint:
            lines.append(f"   ({attribute.hint})")
        width = max((len(value.key) for value in attribute.values), default=0)
        lines += [f"     {value.key:<{width}}  {value.name}" for value in attribute.values]
    return "\n".join(lines)
