"""Options shared by several commands, defined once (rasterio's ``rio`` habit)."""

from __future__ import annotations

import click

overwrite_opt = click.option(
    "--overwrite", is_flag=True, default=False, help="Replace the output if it exists."
)
crs_opt = click.option(
    "--crs",
    default=None,
    metavar="EPSG:XXXX",
    help="CRS of the input when the file has none (or to override it), e.g. EPSG:7415.",
)
json_opt = click.option("--json", "as_json", is_flag=True, default=False, help="Machine-readable JSON output.")


def executor_opts(fn):
    """``--scheduler ADDR|processes|threads`` and ``--workers N`` (:mod:`citymodel.executors`)."""
    fn = click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
                      help="Workers of a local pool (--scheduler processes|threads; > 1 alone means processes).")(fn)
    return click.option("--scheduler", default=None, metavar="ADDR|processes|threads",
                        help="Where the blocks / tiles run: a local pool ('processes' or 'threads' of --workers), "
                             "or a running Dask scheduler (tcp://HOST:8786) whose workers see the input files. "
                             "The results are the same as a run here.")(fn)


def is_quiet(ctx: click.Context | None = None) -> bool:
    """True when the user asked for less output (``-q``)."""
    ctx = ctx or click.get_current_context(silent=True)
    root = ctx.find_root() if ctx else None
    return bool(root and root.obj and root.obj.get("quiet"))


def order(n: int):
    """Decorator: the command's place in ``citymodel --help`` (lower first).

    Put it above ``@click.command``. Core commands use 10, 20, ...; a plugin picks the gap it
    belongs in (e.g. 55 lists it between ``build`` (50) and ``solar`` (60)). Commands without
    an order are listed after all others, alphabetically.
    """

    def mark(cmd: click.Command) -> click.Command:
        cmd.order = int(n)
        return cmd

    return mark
