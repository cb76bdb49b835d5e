"""Demo stage ``synth``: generate the district, show the orthophoto, NDVI and a roof-type plan."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from citymodel.demo import DemoStage
from citymodel.mapfig import decorate_map
from citymodel.report import readable_number

if TYPE_CHECKING:  # pragma: no cover
    from citymodel.demo import DemoContext

__all__ = ["STAGE", "run", "plot_district"]

_ROOF_COLOURS = {
    "flat": "#4c72b0", "gable": "#c44e52", "hip": "#dd8452", "shed": "#ccb974",
    "pyramid": "#8c564b", "mansard": "#8172b3", "flat_raised": "#64b5cd",
}


def plot_district(ortho_path, footprints_path, roof_types: dict[str, str], png_path, *, dpi: int = 90,
                  epsg: int | None = None) -> None:
    """Three panels: orthophoto (RGB), NDVI, and footprints coloured by roof type; saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import rasterio
    import shapely
    from matplotlib.patches import Patch
    from pyogrio.raw import read

    with rasterio.open(ortho_path) as src:
        img = src.read()
        b = src.bounds
    ext = (b.left, b.right, b.bottom, b.top)
    red = img[0].astype(np.float64)
    nir = img[3].astype(np.float64)
    ndvi = (nir - red) / np.maximum(nir + red, 1.0)
    _, _, geom, fields = read(footprints_path)
    meta_ids = fields[0]
    fig, ax = plt.subplots(1, 3, figsize=(18, 6.3), constrained_layout=True)
    ax[0].imshow(img[:3].transpose(1, 2, 0), extent=ext)
    ax[0].set_title("Orthophoto (RGB, 0.25 m)")
    im = ax[1].imshow(ndvi, extent=ext, cmap="RdYlGn", vmin=-0.2, vmax=0.9)
    ax[1].set_title("NDVI from the orthophoto")
    fig.colorbar(im, ax=ax[1], shrink=0.8, label="Vegetation index (NDVI) [-]")
    for g, bid in zip(shapely.from_wkb(geom), meta_ids, strict=True):
        for poly in shapely.get_parts(g):
            x, y = poly.exterior.xy
            ax[2].fill(x, y, color=_ROOF_COLOURS.get(roof_types.get(bid, ""), "0.5"), ec="k", lw=0.3)
    ax[2].set_xlim(ext[0], ext[1])
    ax[2].set_ylim(ext[2], ext[3])
    ax[2].set_aspect("equal")
    ax[2].set_title("Footprints by roof type")
    ax[2].legend(handles=[Patch(color=c, label=k) for k, c in _ROOF_COLOURS.items()], loc="lower right", fontsize=8)
    for a in ax:
        decorate_map(a, epsg=epsg)
        a.tick_params(labelsize=7)
    fig.savefig(png_path, dpi=dpi)
    plt.close(fig)


def run(ctx: DemoContext) -> None:
    """Generate the district under ``ctx.out_dir / "district"`` and report it."""
    import pandas as pd

    from citymodel.synth import generate_with_progress

    out = generate_with_progress(
        ctx.out_dir / "district", show=not ctx.quiet, seed=ctx.seed, size_m=ctx.size_m, overwrite=True
    )
    ctx.paths.update(out.paths())
    ctx.paths["truth_csv"] = out.truth_buildings_csv
    ctx.truth = out.truth_model
    ctx.model = out.truth_model
    ctx.results["synth"] = out
    roof_types = {
        k: o["attributes"].get("roof_type", "")
        for k, o in out.truth_model.city_objects.items() if o.get("type") == "Building"
    }
    png = ctx.figures_dir / "synth_district.png"
    plot_district(out.ortho, out.footprints, roof_types, png, epsg=out.truth_model.epsg)
    c = out.counts
    ctx.report.heading("Synthetic district")
    ctx.report.text(
        f"Seed {ctx.seed}, {ctx.size_m:g} m x {ctx.size_m:g} m in central Bologna (EPSG:32632). "
        "Exact ground truth (LoD2.2 CityJSON), simulated airborne LiDAR, footprints, an RGBN "
        "orthophoto and civic zones of the same scene."
    )
    ctx.report.image(png, "Left: the synthetic orthophoto. Middle: its vegetation index (NDVI): green "
                          "where plants grow, red on roofs and paving. Right: the building footprints "
                          "coloured by their true roof type, which the build must recover.")
    ctx.report.table(
        pd.DataFrame({"item": [k.replace("_", " ") for k in c],
                      "value": [readable_number(v, "count" if float(v).is_integer() else "unknown")
                                for v in c.values()]}),
        caption="What the generator produced.",
    )
    ctx.summary.append(
        f"synth: {c['buildings']} buildings, {c['roof_planes']} roof planes, {c['trees']} trees, "
        f"{c['points']:,} LiDAR points ({c['density_pts_m2']:.1f} pts/m2)"
    )


STAGE = DemoStage("synth", 10, "synthetic district: truth, LiDAR, footprints, orthophoto, zones", run)
