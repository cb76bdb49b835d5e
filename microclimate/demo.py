"""Demo stage ``heat``: street-level heat on the demo district for one clear-sky hot day.

Registered in ``pyproject.toml`` under the ``citymodel.demo_stages`` entry points.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from citymodel.demo import DemoContext, DemoStage
from citymodel.errors import InputError
from microclimate.run import run_heat

__all__ = ["STAGE", "run_heat_stage", "tmrt_map_figure", "DEMO_GRID_M"]

#: Cell size of the demo's pedestrian grid [m] (coarse, to stay quick).
DEMO_GRID_M = 2.0

TMRT_LABEL = "Mean radiant temperature at the hottest hour [°C]"


def _nice_length(span_m: float) -> float:
    raw = span_m / 5.0
    mag = 10 ** np.floor(np.log10(raw))
    return float(min((1, 2, 5, 10), key=lambda k: abs(k * mag - raw)) * mag)


def tmrt_map_figure(tmrt_c: np.ndarray, transform: Any, building_mask: np.ndarray, path: Any,
                    title: str = "", label: str = TMRT_LABEL) -> None:
    """Map of a Tmrt raster [degC] with buildings in grey, a legend in words, north arrow and scale bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    ny, nx = tmrt_c.shape
    x0, y_top, cell = transform.c, transform.f, transform.a
    extent = (0.0, nx * cell, 0.0, ny * cell)  # local metres from the south-west corner
    fig, ax = plt.subplots(figsize=(8, 7), dpi=110)
    im = ax.imshow(np.ma.masked_invalid(tmrt_c), cmap="inferno", extent=extent, origin="upper",
                   interpolation="nearest")
    ax.imshow(np.ma.masked_where(~building_mask, np.ones_like(tmrt_c)), cmap=ListedColormap(["0.75"]),
              extent=extent, origin="upper", interpolation="nearest")
    cb = fig.colorbar(im, ax=ax, shrink=0.8)
    cb.set_label(label)
    ax.set_xlabel(f"x [m] from {x0:.0f}")
    ax.set_ylabel(f"y [m] from {y_top - ny * cell:.0f}")
    ax.set_title(title or "Street-level heat")
    # north arrow (the grid is north-up)
    ax.annotate("N", xy=(0.94, 0.96), xytext=(0.94, 0.84), xycoords="axes fraction", ha="center",
                va="center", fontsize=13, fontweight="bold",
                bbox=dict(boxstyle="circle", facecolor="white", alpha=0.8, edgecolor="none"),
                arrowprops=dict(facecolor="black", edgecolor="white", width=4, headwidth=12))
    # scale bar
    L = _nice_length(nx * cell)
    xs, ys = 0.05 * nx * cell, 0.05 * ny * cell
    ax.plot([xs, xs + L], [ys, ys], color="black", lw=4, solid_capstyle="butt")
    ax.plot([xs, xs + L], [ys, ys], color="white", lw=2, solid_capstyle="butt")
    ax.text(xs + L / 2, ys + 0.02 * ny * cell, f"{L:g} m", ha="center", va="bottom", fontsize=10,
            bbox=dict(facecolor="white", alpha=0.7, edgecolor="none"))
    ax.text(0.01, -0.12, "grey: buildings", transform=ax.transAxes, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run_heat_stage(ctx: DemoContext) -> None:
    """Run ``citymodel heat`` on ``ctx.model`` for the hottest clear-sky day; report.

    Leaves ``ctx.results["heat"]`` (:class:`microclimate.run.HeatRun`) and
    ``ctx.paths["heat"]`` (the output folder), ``ctx.paths["heat_model"]`` (the model with
    roof and wall temperatures).
    """
    model = ctx.model if ctx.model is not None else ctx.truth
    if model is None:
        raise InputError("heat stage: no city model in the demo context (run the synth stage first)")
    out = ctx.out_dir / "heat"
    run = run_heat(out_dir=out, model=model, weather="clearsky", period="hottest-1d", grid_m=DEMO_GRID_M,
                   overwrite=True, progress=not ctx.quiet, hottest_hour_map=True)
    ctx.results["heat"] = run
    ctx.paths["heat"] = out
    if "model" in run.paths:
        ctx.paths["heat_model"] = run.paths["model"]
    f = run.summary["figures"]
    fc = run.summary["forcing"]
    t = run.summary["timings"]
    fig = ctx.figures_dir / "heat_tmrt.png"
    hot = run.hottest_time
    tmrt_map_figure(run.tmrt_hottest_hour_c, run.rasters.transform, np.isnan(run.result.tmrt_max_c), fig,
                    title=f"Tmrt at 1.1 m, {hot:%Y-%m-%d}, hour ending {hot:%H:%M} (UTC{hot:%z})")
    ctx.report.heading("Street-level heat")
    surf = run.summary.get("surfaces") or {}
    surf_txt = ""
    if surf:
        surf_txt = (f" Roofs reach {surf['roof_t_surface_max_c']:.0f} °C and walls "
                    f"{surf['wall_t_surface_max_c']:.0f} °C at most (t_surface_max_c in heat.city.json).")
    ctx.report.text(
        f"`citymodel heat` on the district at a {DEMO_GRID_M:g} m grid ({f['n_open_cells']:,} open cells) for "
        f"the hottest day of a clear-sky year ({fc['period'][0]}, air up to {fc['t_air_max_c']:.1f} °C). "
        f"Maximum Tmrt {f['tmrt_max_c']:.1f} °C, maximum UTCI {f['utci_max_c']:.1f} °C; "
        f"{f['strong_heat_area_m2']:,.0f} m² of street space have at least one hour of strong heat stress "
        f"(UTCI > 32 °C), up to {f['strong_heat_hours_max']:.0f} h.{surf_txt} Preparation "
        f"{t['prepare_s']:.1f} s, {1000 * t['per_step_s']:.0f} ms per hourly step. Assumptions: "
        + "; ".join(run.summary["fallbacks"]) + "."
    )
    ctx.report.image(fig, "Mean radiant temperature at 1.1 m above ground at the hottest hour of the day; "
                          "buildings grey, north up.")
    ctx.summary.append(
        f"heat: Tmrt max {f['tmrt_max_c']:.1f} °C, UTCI max {f['utci_max_c']:.1f} °C, up to "
        f"{f['strong_heat_hours_max']:.0f} h of strong heat stress (UTCI > 32 °C) on {fc['period'][0]}"
    )


STAGE = DemoStage("heat", 60, "street-level Tmrt, UTCI and heat stress on a clear-sky hot day", run_heat_stage)
