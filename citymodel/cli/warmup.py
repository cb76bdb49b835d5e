"""``citymodel warmup``: compile the numba kernels once, so that the first real run is warm."""

from __future__ import annotations

import click

from citymodel.cli._options import is_quiet, order


@order(130)
@click.command("warmup")
@click.option("--only", multiple=True, metavar="NAME",
              help="Warm only these commands (build, solar, energy, heat); repeatable. Default: all.")
def command(only: tuple[str, ...]) -> None:
    """Compile every numba kernel once (a minute or two) by running the commands on a tiny district.

    The compiled kernels go to numba's cache (beside the installed modules, or the user cache
    folder of a read-only install, or NUMBA_CACHE_DIR), so the next commands start warm.
    The set-up script (scripts/bootstrap.sh) runs it after installing.

    \b
    Examples:
      citymodel warmup
      citymodel warmup --only energy --only solar
    """
    from citymodel import jitcache
    from citymodel.errors import CityModelError
    from citymodel.warmup import run_warmup

    quiet = is_quiet()
    if not quiet:
        click.echo(jitcache.describe())
    steps = run_warmup(tuple(only), echo=None if quiet else click.echo)
    failed = [s for s in steps if s.outcome != "ok"]
    if failed:
        raise CityModelError("citymodel warmup: " + "; ".join(f"{s.name} {s.outcome}" for s in failed)
                             + ". The other commands are warm; run the failed one once to compile it.")
