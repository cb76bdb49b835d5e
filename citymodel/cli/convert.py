"""``citymodel convert``."""

from __future__ import annotations

import click

from citymodel.cli._options import crs_opt, is_quiet, order, overwrite_opt


@order(30)
@click.command("convert")
@click.argument("infile", type=click.Path(dir_okay=False))
@click.argument("outfile", type=click.Path(dir_okay=False))
@crs_opt
@click.option("--scale", type=float, default=None, metavar="M",
              help="Quantisation step of the output [m] (default 0.001, finer if vertices would merge).")
@overwrite_opt
def command(infile: str, outfile: str, crs: str | None, scale: float | None, overwrite: bool) -> None:
    """Convert between CityJSON (.city.json) and CityJSONSeq (.city.jsonl), writing version 2.0.

    CityJSON 1.0 and 1.1 inputs are upgraded; the output format follows OUTFILE's name.

    \b
    Examples:
      citymodel convert old_v11.city.json new.city.json
      citymodel convert model.city.json model.city.jsonl
      citymodel convert tiles.city.jsonl merged.city.json --crs EPSG:7415 --overwrite
    """
    from citymodel._fileutil import check_output
    from citymodel.errors import InputError
    from citymodel.io import read, write
    from citymodel.progress import console

    name = outfile.lower()
    if not name.endswith((".json", ".jsonl")):
        raise InputError(f"{outfile}: the output must end in .city.json or .city.jsonl (the name picks the format)")
    check_output(outfile, overwrite)  # fail before reading a big input
    model = read(infile, crs=crs)
    path = write(model, outfile, overwrite=overwrite, scale=scale)
    if not is_quiet():
        fmt = "CityJSONSeq" if name.endswith(".jsonl") else "CityJSON"
        console.print(f"Wrote {path}: {fmt} 2.0, {len(model)} objects, {model.n_vertices} vertices, "
                      f"CRS {('EPSG:' + str(model.epsg)) if model.epsg else 'none'}")
