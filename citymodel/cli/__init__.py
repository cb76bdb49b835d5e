"""The ``citymodel`` command: one click group, thin commands, heavy imports inside commands.

Each command lives in its own module ``citymodel/cli/<name>.py`` that defines a click command
(or group) named ``command``; :data:`COMMAND_MODULES` lists them in ``--help`` order.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from citymodel.errors import CityModelError

__all__ = ["main", "COMMAND_MODULES"]

#: Command modules, in the order ``citymodel --help`` lists them.
COMMAND_MODULES = (
    "info",
    "validate",
    "convert",
    "synth",
    "build",
    "solar",
    "energy",
    "zones",
    "render",
    "view",
    "demo",
)


class _Group(click.Group):
    """A group that turns toolkit errors into a one-line message and exit code 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # COMMAND_MODULES order, not alphabetical

    def invoke(self, ctx: click.Context):  # noqa: D401
        try:
            return super().invoke(ctx)
        except CityModelError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", count=True, help="Less output: only warnings and errors.")
@click.version_option(package_name="citymodel")
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: int) -> None:
    """citymodel: LiDAR to CityJSON, solar, energy and heat for a city's digital twin.

    \b
    Examples:
      citymodel demo --out demo_out
      citymodel info model.city.json
      citymodel validate model.city.json --json
      citymodel convert old.city.json new.city.jsonl
    """
    level = logging.WARNING + 10 * (quiet - verbose)
    logging.basicConfig(level=max(logging.DEBUG, min(level, logging.ERROR)), format="%(levelname)s %(name)s: %(message)s")
    ctx.ensure_object(dict)
    ctx.obj["quiet"] = quiet > 0
    ctx.obj["verbose"] = verbose


def _register() -> None:
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(f"citymodel.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"citymodel.cli.{name}":
                continue  # command not built yet
            raise
        main.add_command(mod.command)


_register()
