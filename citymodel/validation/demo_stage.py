"""Demo stage ``validate``: validate the synthetic ground truth and report counts by code."""

from __future__ import annotations

import time

from citymodel.demo import DemoContext, DemoStage

__all__ = ["STAGE", "run"]


def run(ctx: DemoContext) -> None:
    """Validate ``ctx.truth`` (or ``ctx.model``); add a table by code and a summary line."""
    from citymodel.validation import validate

    model = ctx.truth if ctx.truth is not None else ctx.model
    ctx.report.heading("Validation of the ground-truth model")
    if model is None:
        ctx.report.text("No model to validate (the synth stage did not run).")
        ctx.summary.append("validate: skipped, no model")
        return
    t0 = time.perf_counter()
    report = validate(model, progress=not ctx.quiet)
    dt = time.perf_counter() - t0
    ctx.results["validation"] = report
    verdict = "valid" if report.valid else "INVALID"
    ctx.report.text(
        f"{report.n_objects} city objects, {report.n_geometries} geometries, {report.n_shells} shells and "
        f"{report.n_polygons} polygons checked in {dt:.2f} s against the CityJSON 2.0 rules and val3dity's "
        f"geometric error codes: the model is **{verdict}**."
    )
    frame = report.summary_frame()
    if len(frame):
        ctx.report.table(frame, caption="Validation entries by code (val3dity codes; 1000+ are structure rules).")
    ctx.summary.append(
        f"validate: {verdict}, {report.n_shells} shells / {report.n_polygons} polygons, "
        f"{len(report.errors)} errors, {len(report.warnings)} warnings ({dt:.1f} s)"
    )


STAGE = DemoStage("validate", 20, "validate the ground-truth model", run)
