"""``citymodel demo``."""

from __future__ import annotations

import click

from citymodel.cli._options import is_quiet, order


@order(120)
@click.command("demo")
@click.option("--out", "out_dir", default="demo_out", show_default=True, type=click.Path(file_okay=False),
              help="Output folder for the district, the model, the results and the report.")
@click.option("--seed", default=7, show_default=True, help="Seed of the synthetic district.")
@click.option("--size-m", default=400.0, show_default=True, help="Side of the synthetic district [m].")
@click.option("--stage", "stages", multiple=True, help="Run only this stage (repeatable).")
def command(out_dir: str, seed: int, size_m: float, stages: tuple[str, ...]) -> None:
    """Run the whole chain on the built-in synthetic district and write a report.

    \b
    Examples:
      citymodel demo
      citymodel demo --out /tmp/demo --size-m 200
    """
    from citymodel.demo import run_demo

    run_demo(out_dir, seed=seed, size_m=size_m, stages=list(stages) or None, quiet=is_quiet())
