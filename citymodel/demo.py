"""``citymodel demo``: run every registered stage on the synthetic district, write a report.

A stage is a :class:`DemoStage`: a name, an order, a one-line description and a function
``run(ctx: DemoContext) -> None`` that reads what earlier stages left in ``ctx`` and adds its
own results, summary lines and figures. The core stages (synth, validate) are listed in
:data:`CORE_STAGES`; every other package declares its stages in ``pyproject.toml`` under the
entry-point group ``citymodel.demo_stages`` (:data:`ENTRY_POINT_GROUP`), and :func:`demo_stages`
finds them without naming the package. Stages run sorted by order.
"""

from __future__ import annotations

import importlib
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from citymodel.errors import CityModelError
from citymodel.model import CityModel
from citymodel.progress import console
from citymodel.report import Report

__all__ = ["CORE_STAGES", "ENTRY_POINT_GROUP", "DemoContext", "DemoStage", "demo_stages", "run_demo"]

#: The core stages: name -> ``"module:object"`` of a :class:`DemoStage`.
CORE_STAGES: dict[str, str] = {
    "synth": "citymodel.synth.demo_stage:STAGE",
    "validate": "citymodel.validation.demo_stage:STAGE",
}

#: Entry-point group where packages declare their demo stages (``name = "module:object"``).
ENTRY_POINT_GROUP = "citymodel.demo_stages"


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


@dataclass(frozen=True)
class DemoStage:
    """One stage of ``citymodel demo``.

    Attributes
    ----------
    name : str
        What ``--stage`` selects, and the stage's heading in the run and the report.
    order : int
        Place in the chain (lower first). Core stages: synth 10, validate 20; the build 30,
        solar 40, energy 50, heat 60 and view 70 stages of the other packages fill the gaps.
    description : str
        One line: what the stage does.
    run : callable
        ``run(ctx: DemoContext) -> None``.
    """

    name: str
    order: int
    description: str
    run: Callable[[DemoContext], None]


def _failed_stage(name: str, order: float, where: str, exc: BaseException) -> DemoStage:
    msg = f"stage '{name}' failed to load from {where}: {type(exc).__name__}: {exc}"

    def run(ctx: DemoContext) -> None:
        raise RuntimeError(msg)

    return DemoStage(name, order, f"(not available: {where} failed to load)", run)


def _load(ref: str, name: str, where: str) -> DemoStage:
    try:
        module, _, attr = ref.partition(":")
        stage = getattr(importlib.import_module(module), attr)
        if not isinstance(stage, DemoStage):
            raise TypeError(f"{ref} is a {type(stage).__name__}, not a DemoStage")
    except Exception as exc:  # a broken plugin is reported as a failed stage, the others run
        return _failed_stage(name, float("inf"), where, exc)
    return stage


def demo_stages() -> list[DemoStage]:
    """The core stages and the registered ones, sorted by order (then name).

    A stage that fails to load becomes a stage that fails with a message naming its entry point.
    A plugin stage whose name is already taken is ignored.
    """
    stages = [_load(ref, name, ref) for name, ref in CORE_STAGES.items()]
    names = {s.name for s in stages}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in names:
            continue
        stage = _load(ep.value, ep.name, f"entry point '{ep.name} = {ep.value}' ({ENTRY_POINT_GROUP})")
        if stage.name in names:
            continue
        names.add(stage.name)
        stages.append(stage)
    return sorted(stages, key=lambda s: (s.order, s.name))


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
        Run only these stage names (default: all registered ones).
    """
    ctx = DemoContext(out_dir=Path(out_dir), seed=seed, size_m=size_m, quiet=quiet)
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    timings = []
    failed = []
    for stage in demo_stages():
        name, what, fn = stage.name, stage.description, stage.run
        if stages is not None and name not in stages:
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
        raise CityModelError(f"demo stages failed: {', '.join(failed)}; see {html}")
    return ctx
