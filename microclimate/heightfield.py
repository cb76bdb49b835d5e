"""Raster surface models (SOLWEIG-style DSM / CDSM) as block height-field meshes for Embree.

A DSM cell is a flat top at its elevation; where two neighbouring cells differ in height a
vertical wall closes the step, so buildings are boxes with vertical facades (a "block"
height field, not a smoothed surface: a 20 m facade stays vertical). The vegetation canopy
raster (CDSM: canopy height above ground, 0 = no vegetation, as SOLWEIG's) becomes closed
boxes from the trunk top (``trunk_ratio`` of the canopy height, SOLWEIG's default 0.25) to
the canopy top, in the semi-transparent tree scene of :class:`energy.solar.scene.OccluderScene`
(shortwave transmissivity leaf-on ``TREE_TRANSMISSIVITY`` = 0.03, SOLWEIG's default).

Coordinates go to a local origin (the raster's centre, rounded) before the float32 cast.
Only north-up rasters (no rotation or shear) are accepted.
"""

from __future__ import annotations

import numpy as np

from citymodel.errors import CRSError, InputError
from energy.solar.scene import OccluderScene

__all__ = [
    "TREE_TRANSMISSIVITY",
    "TRUNK_RATIO",
    "cell_centres",
    "heightfield_triangles",
    "canopy_triangles",
    "raster_scene",
]

#: Leaf-on shortwave transmissivity of tree crowns [-] (SOLWEIG's default, 3 %).
TREE_TRANSMISSIVITY = 0.03
#: Trunk zone below this fraction of the canopy height is open (SOLWEIG's default 0.25).
TRUNK_RATIO = 0.25


def _check_transform(transform) -> tuple[float, float, float, float]:
    a, b, c, d, e, f = (float(v) for v in tuple(transform)[:6])
    if b != 0.0 or d != 0.0:
        raise CRSError(
            f"raster transform {tuple(transform)[:6]} is rotated or sheared: warp the rasters "
            "to a north-up grid first (gdalwarp)"
        )
    if not (a > 0 and e != 0):
        raise InputError(f"raster transform {tuple(transform)[:6]}: cell size must be non-zero")
    return a, c, e, f


def cell_centres(transform, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre coordinates ``x (nx,)`` and ``y (ny,)`` [m] of a north-up raster."""
    a, c, e, f = _check_transform(transform)
    ny, nx = shape
    return c + a * (np.arange(nx) + 0.5), f + e * (np.arange(ny) + 0.5)


def _edges(transform, shape) -> tuple[np.ndarray, np.ndarray]:
    a, c, e, f = _check_transform(transform)
    ny, nx = shape
    return c + a * np.arange(nx + 1), f + e * np.arange(ny + 1)


def _quads(p0, p1, p2, p3) -> np.ndarray:
    """Two triangles per quad given (k, 3) corners in order -> (2k, 3, 3)."""
    t1 = np.stack([p0, p1, p2], axis=1)
    t2 = np.stack([p0, p2, p3], axis=1)
    return np.concatenate([t1, t2])


def _tops(xe, ye, z, mask) -> np.ndarray:
    r, c = np.nonzero(mask)
    zz = z[r, c]
    p = [np.column_stack([xe[cc], ye[rr], zz]) for rr, cc in
         ((r, c), (r, c + 1), (r + 1, c + 1), (r + 1, c))]
    return _quads(*p)


def _vertical_quads(xe, ye, r, c, z0, z1, axis: int) -> np.ndarray:
    """Quads on the east edge (``axis=1``) or south edge (``axis=0``) of cells ``(r, c)``."""
    if axis == 1:
        x = xe[c + 1]
        return _quads(np.column_stack([x, ye[r], z0]), np.column_stack([x, ye[r + 1], z0]),
                      np.column_stack([x, ye[r + 1], z1]), np.column_stack([x, ye[r], z1]))
    y = ye[r + 1]
    return _quads(np.column_stack([xe[c], y, z0]), np.column_stack([xe[c + 1], y, z0]),
                  np.column_stack([xe[c + 1], y, z1]), np.column_stack([xe[c], y, z1]))


def _walls(xe, ye, z) -> np.ndarray:
    """Vertical quads on the shared edges of neighbouring cells whose heights differ, from the
    lower to the higher of the two."""
    out = []
    for axis, za, zb in ((1, z[:, :-1], z[:, 1:]), (0, z[:-1, :], z[1:, :])):
        lo, hi = np.minimum(za, zb), np.maximum(za, zb)
        r, c = np.nonzero(hi > lo + 1e-6)
        out.append(_vertical_quads(xe, ye, r, c, lo[r, c], hi[r, c], axis))
    return np.concatenate(out)


def heightfield_triangles(dsm_m: np.ndarray, transform) -> np.ndarray:
    """Block height-field mesh of a DSM: two triangles per cell top and vertical walls.

    Parameters
    ----------
    dsm_m : (ny, nx) float64
        Surface elevation (ground + buildings) [m]; NaN not allowed.
    transform : affine.Affine
        North-up raster transform (cell size ``a``, ``e``; origin ``c``, ``f``).

    Returns
    -------
    (t, 3, 3) float64
        Triangles in the raster's coordinates [m]: ``2 ny nx`` tops, then the walls.
    """
    z = np.asarray(dsm_m, dtype=np.float64)
    if z.ndim != 2 or not np.all(np.isfinite(z)):
        raise InputError("the DSM must be a finite (ny, nx) array: fill its nodata cells first")
    xe, ye = _edges(transform, z.shape)
    ones = np.ones(z.shape, dtype=bool)
    tops = _tops(xe, ye, z, ones)
    walls = _walls(xe, ye, z)
    return np.concatenate([tops, walls])


def canopy_triangles(
    dem_m: np.ndarray, cdsm_m: np.ndarray, transform, trunk_ratio: float = TRUNK_RATIO
) -> np.ndarray:
    """Closed boxes of the vegetation canopy: from ``dem + trunk_ratio h`` to ``dem + h``.

    Parameters
    ----------
    dem_m : (ny, nx) float64
        Ground elevation [m].
    cdsm_m : (ny, nx) float64
        Canopy height above ground [m]; 0 (or NaN) = no vegetation.
    transform : affine.Affine
    trunk_ratio : float
        Open trunk zone as a fraction of the canopy height [-].

    Returns
    -------
    (t, 3, 3) float64
        Tops, bottoms and the side walls of the canopy cells [m].
    """
    h = np.nan_to_num(np.asarray(cdsm_m, dtype=np.float64))
    if h.shape != np.shape(dem_m):
        raise InputError(f"CDSM shape {h.shape} differs from the DEM's {np.shape(dem_m)}")
    veg = h > 0.0
    if not veg.any():
        return np.zeros((0, 3, 3))
    xe, ye = _edges(transform, h.shape)
    dem = np.asarray(dem_m, dtype=np.float64)
    top = np.where(veg, dem + h, -np.inf)
    bot = np.where(veg, dem + trunk_ratio * h, np.inf)
    tops = _tops(xe, ye, top, veg)
    bottoms = _tops(xe, ye, bot, veg)
    # side walls: between a canopy cell and a lower/absent neighbour, the whole crown depth
    # where the neighbour is empty, else the parts that do not overlap
    walls = []
    for axis in (0, 1):
        a_sl = (slice(None), slice(None, -1)) if axis == 1 else (slice(None, -1), slice(None))
        b_sl = (slice(None), slice(1, None)) if axis == 1 else (slice(1, None), slice(None))
        ta, tb, ba, bb = top[a_sl], top[b_sl], bot[a_sl], bot[b_sl]
        va, vb = veg[a_sl], veg[b_sl]
        spans = []
        both = va & vb
        # upper part: between the two tops; lower part: between the two bottoms
        spans.append((both, np.minimum(ta, tb), np.maximum(ta, tb)))
        spans.append((both, np.minimum(ba, bb), np.maximum(ba, bb)))
        only_a = va & ~vb
        only_b = vb & ~va
        spans.append((only_a, ba, ta))
        spans.append((only_b, bb, tb))
        for sel, z0a, z1a in spans:
            r, c = np.nonzero(sel & (z1a > z0a + 1e-6))
            walls.append(_vertical_quads(xe, ye, r, c, z0a[r, c], z1a[r, c], axis))
    # the raster border closes the boxes
    for sel, fixed in ((veg[:, 0], "w"), (veg[:, -1], "e"), (veg[0, :], "n"), (veg[-1, :], "s")):
        idx = np.nonzero(sel)[0]
        if idx.size == 0:
            continue
        if fixed in ("w", "e"):
            c = 0 if fixed == "w" else h.shape[1] - 1
            x = xe[c if fixed == "w" else c + 1]
            z0, z1 = bot[idx, c], top[idx, c]
            walls.append(_quads(np.column_stack([np.full(idx.size, x), ye[idx], z0]),
                                np.column_stack([np.full(idx.size, x), ye[idx + 1], z0]),
                                np.column_stack([np.full(idx.size, x), ye[idx + 1], z1]),
                                np.column_stack([np.full(idx.size, x), ye[idx], z1])))
        else:
            r = 0 if fixed == "n" else h.shape[0] - 1
            y = ye[r if fixed == "n" else r + 1]
            z0, z1 = bot[r, idx], top[r, idx]
            walls.append(_quads(np.column_stack([xe[idx], np.full(idx.size, y), z0]),
                                np.column_stack([xe[idx + 1], np.full(idx.size, y), z0]),
                                np.column_stack([xe[idx + 1], np.full(idx.size, y), z1]),
                                np.column_stack([xe[idx], np.full(idx.size, y), z1])))
    return np.concatenate([tops, bottoms, *walls])


def raster_scene(
    dsm_m: np.ndarray,
    transform,
    *,
    dem_m: np.ndarray | None = None,
    cdsm_m: np.ndarray | None = None,
    trunk_ratio: float = TRUNK_RATIO,
    n_threads: int = 2,
) -> OccluderScene:
    """Embree occluder scene of a raster: the DSM opaque, the canopy semi-transparent.

    Parameters
    ----------
    dsm_m : (ny, nx) float64
        Ground + buildings elevation [m].
    transform : affine.Affine
    dem_m, cdsm_m : (ny, nx) float64, optional
        Ground elevation [m] and canopy height above ground [m]; both needed for trees.
    trunk_ratio : float
        Open trunk fraction of the canopy height.
    n_threads : int
        Threads for ray queries.

    Returns
    -------
    OccluderScene
        ``origin`` is the raster centre rounded to metres (z 0).
    """
    opaque = heightfield_triangles(dsm_m, transform)
    trees = np.zeros((0, 3, 3))
    if cdsm_m is not None:
        if dem_m is None:
            raise InputError("a CDSM needs the DEM (canopy heights are above the ground)")
        trees = canopy_triangles(dem_m, cdsm_m, transform, trunk_ratio)
    xe, ye = _edges(transform, np.shape(dsm_m))
    origin = np.array([np.floor(0.5 * (xe[0] + xe[-1])), np.floor(0.5 * (ye[0] + ye[-1])), 0.0])
    return OccluderScene(origin=origin,
                         opaque_triangles=(opaque - origin).astype(np.float32),
                         tree_triangles=(trees - origin).astype(np.float32),
                         n_threads=n_threads)
