"""Individual trees of a whole run: at once for small inputs, tile by tile for big ones.

:func:`lidar.vegetation.trees.detect_trees` needs every point around a crown at once (its DTM,
canopy height model and watershed). Inputs up to :data:`MAX_POINTS_AT_ONCE` points (of the
classes asked for) are read whole. Bigger ones are read once, chunk by chunk, and each point is
routed to the spill file of every square tile (side ``tile_m``, plus ``buffer_m`` around it)
that holds it (:func:`lidar.execution.spill.spill_blocks`); each tile's trees are detected on
the tile and its buffer, and a tree is kept by the one tile that holds its top. A crown narrower
than the buffer is seen whole by the tile that keeps it, so memory is bounded by a tile and the
trees do not depend on where the tile edges fall (tested against the whole-cloud detection).
The terrain and canopy grids of every tile and of a whole-cloud run have their cell edges on
the same lattice (anchored at the files' lower-left corner), so tiles see the cells the whole
cloud would. The trees are numbered once at the end, in tile order.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence

import numpy as np
import pandas as pd

from citymodel.errors import InputError, PointCloudError
from citymodel.progress import progress_bar
from lidar.execution.spill import load_block, spill_blocks
from lidar.points.las import scan_las
from lidar.points.pointcloud import read_points
from lidar.vegetation.trees import TREE_COLUMNS, detect_trees, empty_tree_table

__all__ = ["detect_trees_in_files", "MAX_POINTS_AT_ONCE", "TILE_M", "BUFFER_M"]

log = logging.getLogger(__name__)

#: Inputs with more points (of the classes read) go tile by tile.
MAX_POINTS_AT_ONCE = 20_000_000
#: Side of a tree tile [m].
TILE_M = 500.0
#: Points this far around a tile are read with it [m]: wider than the widest crown.
BUFFER_M = 30.0


def detect_trees_in_files(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    crs: object = None,
    classes: Sequence[int] | None = (1, 2, 3, 4, 5),
    progress: bool = False,
    max_points: int | None = None,
    tile_m: float = TILE_M,
    buffer_m: float = BUFFER_M,
    id_prefix: str = "tree_",
    **detect_kw,
) -> pd.DataFrame:
    """:func:`~lidar.vegetation.trees.detect_trees` on LAS/LAZ files with bounded memory.

    Parameters
    ----------
    paths : path or sequence of paths
        LAS/LAZ files.
    crs : str or int, optional
        CRS of files without one.
    classes : sequence of int, optional
        ASPRS classes read (default ground, vegetation and unclassified: buildings are not needed).
    progress : bool
        Progress bars (reading, and the tiles when tiled).
    max_points : int, optional
        Files with more points than this are read tile by tile (default :data:`MAX_POINTS_AT_ONCE`;
        the header counts, all classes).
    tile_m, buffer_m : float
        Tile side and the buffer read around each tile [m].
    id_prefix : str
        Prefix of the ``tree_id`` values.
    **detect_kw
        Passed to :func:`~lidar.vegetation.trees.detect_trees`.

    Returns
    -------
    DataFrame
        One row per tree, columns :data:`~lidar.vegetation.trees.TREE_COLUMNS`.
    """
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    limit = MAX_POINTS_AT_ONCE if max_points is None else int(max_points)
    infos = scan_las(paths, crs=crs)
    b = np.array([i.bounds for i in infos], dtype=np.float64)
    x0, y0, x1, y1 = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    detect_kw["grid_anchor_m"] = (float(x0), float(y0))  # the same cells at once and in tiles
    n_points = sum(i.n_points for i in infos)
    if n_points <= limit:
        pc = read_points(paths, crs=crs, classes=classes, progress=progress)
        return detect_trees(pc, id_prefix=id_prefix, **detect_kw)
    if not (tile_m > 0 and buffer_m >= 0):
        raise InputError(f"trees: tile side must be > 0 and buffer >= 0 m, got {tile_m}, {buffer_m}")
    xs = np.arange(x0, x1, tile_m) if x1 > x0 else np.array([x0])
    ys = np.arange(y0, y1, tile_m) if y1 > y0 else np.array([y0])
    boxes = np.array([(x, y, x + tile_m, y + tile_m) for y in ys for x in xs])
    pad = np.array([-buffer_m, -buffer_m, buffer_m, buffer_m])
    log.info("trees: %d points in %d files, detected in %d tiles of %.0f m (+%.0f m buffer)",
             n_points, len(infos), len(boxes), tile_m, buffer_m)
    parts: list[pd.DataFrame] = []
    no_ground = 0
    with tempfile.TemporaryDirectory(prefix="citymodel_trees_") as tmp, progress_bar(progress) as bar:
        read = bar.add_task("Reading points into tree tiles", total=n_points)
        spilled = spill_blocks(infos, boxes + pad, tmp, classes=classes, advance=lambda n: bar.advance(read, n))
        task = bar.add_task("Detecting trees", total=len(boxes))
        for box, path in zip(boxes, spilled, strict=True):  # a loop over tiles
            bar.advance(task)
            pc = load_block(path, infos[0].epsg, [str(i.path) for i in infos])
            os.unlink(path)
            if len(pc) == 0:
                continue
            try:
                t = detect_trees(pc, id_prefix=id_prefix, **detect_kw)
            except PointCloudError:  # no ground in the tile and its buffer (all roofs or water)
                no_ground += 1
                continue
            own = (t.x_m >= box[0]) & (t.x_m < box[2]) & (t.y_m >= box[1]) & (t.y_m < box[3])
            parts.append(t[own.to_numpy()])
    if no_ground:
        log.warning("trees: %d of %d tiles have no ground points in them or their %.0f m buffer: no trees "
                    "detected there", no_ground, len(boxes), buffer_m)
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_tree_table()
    out = pd.concat(parts, ignore_index=True)[list(TREE_COLUMNS)]
    out["tree_id"] = [f"{id_prefix}{i + 1:04d}" for i in range(len(out))]
    return out
