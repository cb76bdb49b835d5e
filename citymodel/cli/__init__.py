"""The ``citymodel`` command: one click group, thin commands, heavy imports inside commands.

The core commands live in ``citymodel/cli/<name>.py`` (:data:`CORE_COMMANDS`), each defining a
click command named ``command``. Every other command is a plugin: the package that does the
work defines it in its own ``cli.py`` and declares it in ``pyproject.toml`` under the
entry-point group ``citymodel.commands`` (:data:`ENTRY_POINT_GROUP`); this group finds it with
:func:`importlib.metadata.entry_points` and never names the package. ``citymodel --help`` lists
the commands by their ``order`` attribute (set with :func:`citymodel.cli._options.order`), then
the commands without one alphabetically.
"""

from __future__ import annotations

import importlib
import logging
import math
import sys
from importlib.metadata import EntryPoint, entry_points

import click

from citymodel import jitcache
from citymodel.errors import CityModelError

__all__ = ["main", "CORE_COMMANDS", "ENTRY_POINT_GROUP"]

#: Core command modules under ``citymodel/cli/``.
CORE_COMMANDS = ("info", "validate", "convert", "synth", "zones", "demo", "warmup")

#: Entry-point group where packages declare their commands (``name = "module:object"``).
ENTRY_POINT_GROUP = "citymodel.commands"


def _broken_command(ep: EntryPoint, exc: BaseException) -> click.Command:
    """A stand-in for a plugin that failed to load: listed in ``--help``, fails in one line."""
    msg = (f"command '{ep.name}' is not available: entry point '{ep.name} = {ep.value}' "
           f"(group {ENTRY_POINT_GROUP}) failed to load: {type(exc).__name__}: {exc}")
    msg = " ".join(msg.split())

    def fail(args: tuple[str, ...]) -> None:
        raise CityModelError(msg)

    return click.Command(
        ep.name, callback=fail, add_help_option=False,
        params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)],
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        short_help=f"(not available: entry point {ep.value} failed to load: {type(exc).__name__})",
        help=msg,
    )


def _load_entry_point(ep: EntryPoint) -> click.Command:
    try:
        cmd = ep.load()
    except Exception as exc:  # any failure of a plugin must not break the other commands
        return _broken_command(ep, exc)
    if not isinstance(cmd, click.Command):
        return _broken_command(ep, TypeError(f"{ep.value} is a {type(cmd).__name__}, not a click command"))
    return cmd


class _Group(click.Group):
    """A group that adds the plugin commands and turns toolkit errors into a one-line message."""

    _plugins_loaded = False

    def _plugin_entry_points(self, name: str | None = None) -> list[EntryPoint]:
        eps = entry_points(group=ENTRY_POINT_GROUP)
        seen = set(self.commands)
        out = []
        for ep in sorted(eps, key=lambda e: e.name):
            if ep.name in seen or (name is not None and ep.name != name):
                continue  # core commands win; the first of two same-named plugins wins
            seen.add(ep.name)
            out.append(ep)
        return out

    def _load_plugins(self, name: str | None = None) -> None:
        if self._plugins_loaded:
            return
        for ep in self._plugin_entry_points(name):
            self.add_command(_load_entry_point(ep), name=ep.name)
        if name is None:
            self._plugins_loaded = True

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            self._load_plugins(cmd_name)  # only the asked one: a broken other plugin is no matter
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugins()

        def key(name: str) -> tuple[float, str]:
            order = getattr(self.commands[name], "order", None)
            return (order if isinstance(order, int) else math.inf, name)

        return sorted(self.commands, key=key)

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
    jitcache.log_decision()
    ctx.ensure_object(dict)
    ctx.obj["quiet"] = quiet > 0
    ctx.obj["verbose"] = verbose


def _register() -> None:
    for name in CORE_COMMANDS:
        main.add_command(importlib.import_module(f"citymodel.cli.{name}").command)


_register()
