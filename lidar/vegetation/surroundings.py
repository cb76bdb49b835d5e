"""Green around each building: tree-canopy and green share of a ring around its footprint.

A planner asks per building how much shade and green its street front has (the issue's
"canopy cover share per building"). Without a parcel layer the area measured is a ring of
``ring_m`` (default 10 m) around the footprint, minus every building's own cells: the ground
a resident sees from the door and windows. A cell counts when its centre lies in the ring.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from citymodel.landcover import LANDCOVER_CLASSES

__all__ = ["RING_M", "surroundings_shares"]

#: Width of the ring around a footprint [m].
RING_M = 10.0

_CODE = {c.name: c.code for c in LANDCOVER_CLASSES}
_GREEN = [_CODE[n] for n in ("tree_canopy", "shrubs", "grass_low_vegetation")]


def surroundings_shares(
    codes: np.ndarray, transform: Any, footprints: list[shapely.Geometry], *, ring_m: float = RING_M
) -> np.ndarray:
    """Tree-canopy and green (canopy, shrubs, grass) share of the ring around each footprint.

    Parameters
    ----------
    codes : (ny, nx) uint8
        Land-cover codes (:data:`citymodel.landcover.LANDCOVER_CLASSES`, 0 nodata).
    transform : affine.Affine
        The land-cover grid's transform.
    footprints : list of shapely polygons
        Building footprints in the grid's CRS.
    ring_m : float
        Ring width [m].

    Returns
    -------
    (n, 2) float64
        Canopy share and green share (0..1) of the ring's valid, non-building cells; NaN when
        the ring has none (outside the grid).

    Examples
    --------
    >>> from affine import Affine
    >>> codes = np.full((40, 40), 1, np.uint8); codes[:, 20:] = 3      # east half under trees
    >>> fp = shapely.box(15, 15, 25, 25)
    >>> codes[15:25, 15:25] = 2                                          # the building itself
    >>> surroundings_shares(codes, Affine(1, 0, 0, 0, -1, 40), [fp], ring_m=5)[0].round(3).tolist()
    [0.5, 0.5]
    """
    from rasterio.features import rasterize

    out = np.full((len(footprints), 2), np.nan)
    if not footprints:
        return out
    ny, nx = codes.shape
    valid = (codes > 0) & (codes != _CODE["building"])
    canopy = codes == _CODE["tree_canopy"]
    green = np.isin(codes, _GREEN)
    cell = abs(transform.a)
    for i, fp in enumerate(footprints):
        if fp is None or fp.is_empty:
            continue
        ring = fp.buffer(ring_m).difference(fp)
        x0, y0, x1, y1 = ring.bounds
        c0 = max(int(np.floor((x0 - transform.c) / cell)), 0)
        c1 = min(int(np.ceil((x1 - transform.c) / cell)), nx)
        r0 = max(int(np.floor((transform.f - y1) / cell)), 0)
        r1 = min(int(np.ceil((transform.f - y0) / cell)), ny)
        if c1 <= c0 or r1 <= r0:
            continue
        win = transform * transform.translation(c0, r0)
        mask = rasterize([(ring, 1)], out_shape=(r1 - r0, c1 - c0), transform=win, fill=0, dtype="uint8") == 1
        m = mask & valid[r0:r1, c0:c1]
        n = int(m.sum())
        if n:
            out[i, 0] = canopy[r0:r1, c0:c1][m].sum() / n
            out[i, 1] = green[r0:r1, c0:c1][m].sum() / n
    return out
