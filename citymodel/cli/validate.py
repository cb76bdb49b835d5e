"""``citymodel validate``."""

from __future__ import annotations

import sys

import click

from citymodel.cli._options import crs_opt, is_quiet, json_opt, order


@order(20)
@click.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
@crs_opt
@json_opt
@click.option("--max-entries", default=50, show_default=True, help="Entries listed in the text report.")
def command(file: str, crs: str | None, as_json: bool, max_entries: int) -> None:
    """Validate a CityJSON file: CityJSON 2.0 structure and val3dity's geometry codes.

    Checks rings (101 too few points, 102 repeated points, 104 self-intersection), polygons
    (203 non-planar, 1 cm), solid shells (302 not closed, 303/304 non-manifold, 305 not
    connected, 307 wrong orientation) and overlapping BuildingParts (601). Exit status 0 when valid, 1 when not
    (or when the file cannot be read).

    \b
    Examples:
      citymodel validate model.city.json
      citymodel validate tiles.city.jsonl --json > report.json
      citymodel -q validate model.city.json && echo valid
    """
    from citymodel.errors import CityJSONError
    from citymodel.validation import validate_file

    report = validate_file(file, crs=crs, progress=not is_quiet() and not as_json)
    if as_json:
        click.echo(report.to_json())
    if report.fatal:
        raise CityJSONError(f"{file}: cannot validate: {report.entries[0].message}")
    if not as_json and not (is_quiet() and report.valid):
        click.echo(report.text(max_entries=max_entries))
    sys.exit(0 if report.valid else 1)
