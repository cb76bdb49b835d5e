"""``citymodel demo``: run every stage that exists on the synthetic district, write a report.

Each stage is a function ``run(ctx: DemoContext) -> None`` in its own package's module; the
stage reads what earlier stages left in ``ctx`` and adds its own results, summary lines and
figures. A stage whose module does not exist yet is listed as not available.
"""

from __future__ import annotations

import importlib
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from citymodel.model import CityModel
from citymodel.progress import console
from citymodel.report import Report

__all__ = ["DemoContext", "STAGES", "run_demo"]

#: (name, module with ``run(ctx)``, what it does), in order.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("synth", "citymodel.synth.demo_stage", "synthetic district: truth, LiDAR, footprints, orthophoto, zones"),
    ("validate", "citymodel.validation.demo_stage", "validate the ground-truth model"),
    ("build", "lidar.demo_stage", "LiDAR to LoD1.2/1.3/2.2 buildings, terrain, trees"),
    ("solar", "energy.demo_solar", "shaded irradiation and PV potential on every roof and wall"),
    ("energy", "energy.demo_energy", "hourly heating/cooling demand and a retrofit scenario"),
    ("heat", "microclimate.demo_stage", "surface temperature, Tmrt and UTCI in a heatwave"),
    ("view", "viewer.demo_stage", "rendered views, civic zones and equity of exposure"),
)


@dataclass
class DemoContext:
    """What the demo stages share.

    Attributes
    ----------
    out_dir : Path
        The demo's output folder (everything is written under it).
    seed, size_m : int, float
        Synthetic district seed and side length [m].
    paths : dict[str, Path]
        Files written by stages, by role: ``truth`` (.city.json), ``truth_csv``, ``laz``,
        ``footprints`` (.gpkg), ``ortho`` (.tif), ``zones`` (.gpkg), ``model`` (the built
        .city.json), ``solar`` (.city.json with irradiation), ...
    model : CityModel or None
        The current city model (the built one once the build stage ran, else the truth).
    truth : CityModel or None
        The synthetic ground truth.
    results : dict[str, Any]
        Arrays and tables stages hand to later stages (e.g. ``results["solar"]``).
    report : Report
        Where stages add headings, text, figures (PNG under ``out_dir / "figures"``) and tables.
    summary : list[str]
        One-line results printed at the end of the run.
    quiet : bool
        No progress bars.
    """

    out_dir: Path
    seed: int = 7
    size_m: float = 400.0
    paths: dict[str, Path] = field(default_factory=dict)
    model: CityModel | None = None
    truth: CityModel | None = None
    results: dict[str, Any] = field(default_factory=dict)
    report: Report = field(default_factory=lambda: Report("citymodel demo: synthetic district"))
    summary: list[str] = field(default_factory=list)
    quiet: bool = False

    @property
    def figures_dir(self) -> Path:
        d = self.out_dir / "figures"
        d.mkdir(parents=True, exist_ok=True)
        return d


def _load_stage(module: str):
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise
    return getattr(mod, "run", None)


def run_demo(
    out_dir: str | Path, *, seed: int = 7, size_m: float = 400.0, stages: list[str] | None = None,
    quiet: bool = False,
) -> DemoContext:
    """Run the demo stages in order; return the context. Raises if a stage failed.

    Parameters
    ----------
    out_dir : path-like
        Output folder (created).
    stages : list of str, optional
        Run only these stage names (default: all that exist).
    """
    ctx = DemoContext(out_dir=Path(out_dir), seed=seed, size_m=size_m, quiet=quiet)
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    timings = []
    failed = []
    for name, module, what in STAGES:
        if stages is not None and name not in stages:
            continue
        fn = _load_stage(module)
        if fn is None:
            timings.append((name, what, "not available yet", float("nan")))
            continue
        if not quiet:
            console.rule(f"[bold]{name}[/bold]: {what}")
        t0 = time.perf_counter()
        try:
            fn(ctx)
            status = "ok"
        except Exception as exc:  # a stage's failure is reported, later stages still run
            status = f"failed: {exc}"
            failed.append(name)
            console.print(f"[red]stage {name} failed:[/red] {exc}")
            ctx.report.heading(f"Stage {name} failed")
            ctx.report.text(traceback.format_exc())
        timings.append((name, what, status, time.perf_counter() - t0))
    import pandas as pd

    ctx.report.heading("Stages")
    ctx.report.table(
        pd.DataFrame(timings, columns=["stage", "what", "status", "seconds"]),
        caption="Every stage of the chain and its run time on this machine.",
    )
    md, html = ctx.report.write(ctx.out_dir)
    if not quiet:
        console.rule("[bold]summary[/bold]")
        for line in ctx.summary:
            console.print(line)
        console.print(f"Report: {html} (and {md.name})")
    if failed:
        from citymodel.errors import CityModelError

        raise CityModelError(f"demo stages failed: {', '.join(failed)}; see {html}")
    return ctx
