"""``citymodel info``."""

from __future__ import annotations

import click

from citymodel.cli._options import crs_opt, json_opt, order


@order(10)
@click.command("info")
@click.argument("file", type=click.Path(dir_okay=False))
@crs_opt
@json_opt
def command(file: str, crs: str | None, as_json: bool) -> None:
    """Show what a CityJSON file holds: version, CRS, counts by type and LoD, extent, vertices.

    FILE is a .city.json (CityJSON 1.0, 1.1 or 2.0) or .city.jsonl (CityJSONSeq) file.

    \b
    Examples:
      citymodel info model.city.json
      citymodel info tiles.city.jsonl --json
      citymodel info vienna.city.jsonl --crs EPSG:31256
    """
    from citymodel.info import file_info, format_info

    info = file_info(file, crs=crs)
    if as_json:
        import orjson

        click.echo(orjson.dumps(info, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(format_info(info))
