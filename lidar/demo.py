"""Demo stage ``build``: LiDAR + footprints of the synthetic district to LoD1.2/1.3/2.2 buildings,
plus the individual trees detected in the LiDAR (``lidar.trees``).

Reads ``ctx.paths["laz"]`` and ``ctx.paths["footprints"]`` (from the synth stage), writes the
model to ``ctx.paths["model"]``, sets ``ctx.model`` and compares it with ``ctx.truth``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from citymodel.demo import DemoContext, DemoStage

__all__ = ["STAGE", "run"]


def run(ctx: DemoContext) -> None:
    """Build the city model from the district's LiDAR and footprints; report its accuracy."""
    from citymodel.errors import InputError
    from citymodel.io.cityjson import read, write
    from citymodel.validation import validate
    from lidar.build import build_model
    from lidar.evaluate import compare_to_truth

    if "laz" not in ctx.paths or "footprints" not in ctx.paths:
        raise InputError("the build stage needs the synth stage's LiDAR and footprints (ctx.paths['laz'], ['footprints'])")
    stats: dict = {}
    t0 = time.perf_counter()
    model = build_model([ctx.paths["laz"]], footprints=ctx.paths["footprints"], footprint_id_field="id",
                        progress=not ctx.quiet, stats=stats)
    seconds = time.perf_counter() - t0
    tree_rows, tree_line = _trees(ctx, model)
    fp_rows, fp_line = _footprint_rows(ctx)
    path = write(model, ctx.out_dir / "model.city.json", overwrite=True)
    ctx.paths["model"] = path
    ctx.model = model
    report = validate(model)
    n_b = len(model.building_ids())
    bad = {e.object_id for e in report.entries if e.severity == "error"}
    ms = 1000 * np.asarray(stats.get("cpu_seconds_per_building", []))
    rows = [
        ("buildings", n_b),
        ("status ok / fallback / skipped", " / ".join(str(stats["statuses"].get(k, 0)) for k in ("ok", "fallback", "skipped"))),
        ("buildings with valid solids [%]", 100.0 * (n_b - len(bad & set(model.building_ids()))) / max(n_b, 1)),
        ("median / mean CPU time per building [ms]", f"{np.median(ms):.0f} / {np.mean(ms):.0f}" if len(ms) else ""),
        ("points read", stats.get("n_points", 0)),
        ("build time [s]", round(seconds, 1)),
        *tree_rows,
        *fp_rows,
    ]
    truth = ctx.truth
    if truth is None and "truth" in ctx.paths:
        truth = read(ctx.paths["truth"])
    cmp = None
    if truth is not None and "truth_roofplanes_csv" in ctx.paths:
        cmp = compare_to_truth(model, truth, ctx.paths["truth_roofplanes_csv"])
        b, p = cmp["buildings"], cmp["planes"]
        big = p[p.area_m2 >= cmp["min_plane_m2"]]
        rows += [
            ("median absolute h_roof_70p_m error [m] (goal <= 0.10)", float(np.nanmedian(b.h70_abs_err_m))),
            ("median LoD2.2 roof RMSE to true planes [m] (goal <= 0.20)", float(np.nanmedian(b.roof_rmse_m))),
            ("true roof planes >= 10 m2 recovered [%] (goal >= 90)", 100.0 * float(big.recovered.mean())),
            ("median rmse_lod22_m (roof points) [m]", float(np.nanmedian(b.rmse_lod22_m.astype(float)))),
        ]
    table = pd.DataFrame(rows, columns=["figure", "value"])
    table["value"] = table["value"].map(lambda v: f"{v:.3g}" if isinstance(v, float) else str(v))
    ctx.report.heading("Buildings from LiDAR (LoD1.2, LoD1.3, LoD2.2)")
    ctx.report.text(
        "Roof planes by region growing on point normals, the footprint partitioned among them and "
        "extruded to one closed solid per building; accuracy against the generator's exact truth."
    )
    ctx.report.table(table, caption="Reconstruction of the synthetic district.")
    if cmp is not None:
        fig_path = _figure(ctx, cmp)
        ctx.report.image(fig_path, "Left: each dot is a building, its roof height as built against the "
                                   "truth (roof elevation, 70th percentile: h_roof_70p_m); on the dashed "
                                   "line they agree. Right: how far the roof-shape model (LoD2.2) lies "
                                   "from the true roofs, per building; bars near zero are good.")
        ctx.summary.append(
            f"build: {n_b} buildings, median h70 error {np.nanmedian(cmp['buildings'].h70_abs_err_m):.3f} m, "
            f"roof RMSE {np.nanmedian(cmp['buildings'].roof_rmse_m):.3f} m, "
            f"{100 * big.recovered.mean():.0f}% planes recovered, valid: {report.valid}"
        )
    else:
        ctx.summary.append(f"build: {n_b} buildings, valid: {report.valid}")
    ctx.summary.append(tree_line)
    if fp_line:
        ctx.summary.append(fp_line)


def _footprint_rows(ctx: DemoContext) -> tuple[list[tuple[str, object]], str]:
    """Footprints extracted from the LiDAR alone (with the orthophoto's roof colours), against
    the district's true footprints: median IoU per building, overall and per kind."""
    import pyogrio
    import shapely

    from lidar.evaluate import footprint_iou
    from lidar.footprint_extraction import extract_footprints
    from lidar.pointcloud import read_points

    if "truth_csv" not in ctx.paths:
        return [], ""
    t0 = time.perf_counter()
    fps = extract_footprints(read_points([ctx.paths["laz"]]), ortho=ctx.paths.get("ortho"))
    seconds = time.perf_counter() - t0
    _, _, wkb, fields = pyogrio.raw.read(ctx.paths["footprints"])
    iou = footprint_iou(list(shapely.from_wkb(wkb)), fps)
    kind = pd.read_csv(ctx.paths["truth_csv"]).groupby("id").building_kind.first().reindex(fields[0]).to_numpy()
    per_kind = " / ".join(f"{np.median(iou[kind == k]):.3f}" for k in ("detached", "terraced", "courtyard") if (kind == k).any())
    rows: list[tuple[str, object]] = [
        ("footprints from LiDAR + orthophoto: median IoU per building (goal >= 0.90)", float(np.median(iou))),
        ("... detached / terraced / courtyard", per_kind),
        ("footprint extraction time [s]", round(seconds, 1)),
    ]
    line = f"footprints without footprints: median IoU {np.median(iou):.3f} ({len(fps)} for {len(iou)} buildings)"
    return rows, line


def _trees(ctx: DemoContext, model) -> tuple[list[tuple[str, object]], str]:
    """Detect individual trees in the district's LiDAR, add them to ``model``; report rows and summary."""
    from scipy.spatial import cKDTree

    from lidar.pointcloud import read_points
    from lidar.trees import add_trees, detect_trees

    t0 = time.perf_counter()
    trees = detect_trees(read_points([ctx.paths["laz"]]))
    add_trees(model, trees)
    seconds = time.perf_counter() - t0
    rows: list[tuple[str, object]] = [("trees detected", len(trees)), ("tree detection time [s]", round(seconds, 2))]
    line = f"trees: {len(trees)} detected in {seconds:.1f} s"
    truth_csv = ctx.paths.get("truth_trees_csv")
    if truth_csv is None or not len(trees):
        return rows, line
    truth = pd.read_csv(truth_csv)
    big = truth[truth.crown_diameter_m >= 4.0]
    dist, j = cKDTree(trees[["x_m", "y_m"]].to_numpy()).query(big[["x_m", "y_m"]].to_numpy())
    found = dist <= np.maximum(2.0, 0.4 * big.crown_diameter_m.to_numpy())
    dh = np.abs(trees.height_m.to_numpy()[j[found]] - big.height_m.to_numpy()[found])
    med = float(np.median(dh)) if dh.size else float("nan")
    rows += [
        ("trees detected / truth trees >= 2.5 m", f"{len(trees)} / {int((truth.height_m >= 2.5).sum())}"),
        ("truth trees with crown >= 4 m found [%]", 100.0 * float(found.mean()) if len(big) else float("nan")),
        ("median tree height error [m]", med),
    ]
    line += f", {100 * found.mean():.0f}% of crowns >= 4 m found, median height error {med:.2f} m"
    return rows, line


def _figure(ctx: DemoContext, cmp: dict) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    b = cmp["buildings"]
    t = b.h70_truth_m.astype(float).to_numpy()
    built = b.h70_built_m.astype(float).to_numpy()
    fig, ax = plt.subplots(1, 2, figsize=(10, 4.2))
    ax[0].scatter(t, built, s=12)
    lo, hi = np.nanmin(built), np.nanmax(built)
    ax[0].plot([lo, hi], [lo, hi], "k--", lw=0.8)
    ax[0].set_xlabel("True roof elevation, 70th percentile [m]")
    ax[0].set_ylabel("Built roof elevation, 70th percentile [m]")
    ax[1].hist(np.clip(b.roof_rmse_m.dropna(), 0, 1.0), bins=20)
    ax[1].set_xlabel("Roof-shape fit error (LoD2.2 RMSE) to the true roofs [m], clipped at 1")
    ax[1].set_ylabel("Number of buildings")
    fig.tight_layout()
    path = ctx.figures_dir / "build_accuracy.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)


STAGE = DemoStage("build", 30, "LiDAR to LoD1.2/1.3/2.2 buildings, terrain, trees", run)
