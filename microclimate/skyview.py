"""Sky view factors, directional view fractions and sun shadows of raster cells, by ray casting.

Every cell casts the same deterministic set of ``n_rays`` upper-hemisphere directions (a
Fibonacci spiral, uniform in solid angle: ``z_k = (k + 1/2) / n``, azimuth advancing by the
golden angle; no random numbers). A ray ends in one of three ways: free (sky), through tree
crowns only (vegetation: shortwave passes with the transmissivity ``tau``), or blocked by the
DSM (a building wall or roof, or terrain: "wall" below).

View fractions per cell, for five receiving planes (index 0 up, then vertical planes facing
N, E, S, W), are weighted sums over the rays:

- up: cosine (to the zenith) weights, normalised to 1 over the hemisphere: the classic
  sky view factor ``svf = sum w_k free_k`` (open flat ground: 1);
- side ``n``: ``max(0, d_k . n)`` weights, normalised to 0.5 over the upper hemisphere (an open
  vertical plane sees half sky, half ground: 0.5 each). The lower half of a vertical plane's
  view is taken as ground (walls below eye level are not separated from the ground).

``sky``, ``veg`` and ``wall`` fractions add up to 1 (up) or 0.5 (sides). The sky fraction is
also kept split into ``N_ZENITH_BANDS`` bands of equal ``cos(zenith)`` width (``sky_band``), so
that a sky whose radiance depends on the zenith angle (the long-wave sky: brighter towards the
horizon) can be weighted per band. The shortwave
("vegetation-adjusted") sky view factor is ``sky + tau veg``. For each side the mean point
where the blocked rays hit the walls is kept: the grid solver tests those points for sun to
know whether the walls a cell sees are sunlit.

Tiling: cells go through the ray caster ``tile_cells`` at a time, so memory is bounded by the
tile (``tile_cells x n_rays`` rays), not the grid; :func:`estimate_memory_bytes` and
:func:`check_memory` say before a run whether the per-cell arrays fit.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from citymodel.errors import InputError, MissingDependencyError
from energy.solar.scene import OccluderScene
from microclimate import _grid_kernels as _gk

__all__ = [
    "SIDE_NORMALS",
    "N_ZENITH_BANDS",
    "hemisphere_directions",
    "zenith_band",
    "direction_weights",
    "ViewFractions",
    "view_fractions",
    "sunlit_fraction",
    "estimate_memory_bytes",
    "check_memory",
]

log = logging.getLogger(__name__)

#: Outward normals of the four vertical receiving planes: N, E, S, W (x east, y north).
SIDE_NORMALS = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [-1.0, 0.0, 0.0]])
#: Zenith bands of the sky fractions (equal widths in cos(zenith)).
N_ZENITH_BANDS = 8
_GOLDEN_ANGLE = np.pi * (3.0 - np.sqrt(5.0))
#: Per-cell bytes of the stored geometry (two levels) and per-step bytes per cell.
_BYTES_PER_CELL = 4 * (2 * (15 + 5 * N_ZENITH_BANDS) + 12 + 4) + 8 * 20
_BYTES_PER_CELL_STEP = 200  # shadows, ground balance inputs and outputs (float64)


def hemisphere_directions(n_rays: int = 1024) -> np.ndarray:
    """Deterministic upper-hemisphere directions, uniform in solid angle, ``(n, 3)`` float64.

    A Fibonacci spiral: ``z_k = (k + 0.5) / n``, azimuth ``k`` times the golden angle.
    """
    n = int(n_rays)
    if n < 16:
        raise InputError(f"n_rays must be >= 16, got {n_rays}")
    k = np.arange(n)
    z = (k + 0.5) / n
    phi = k * _GOLDEN_ANGLE
    s = np.sqrt(1.0 - z * z)
    return np.column_stack([s * np.cos(phi), s * np.sin(phi), z])


def zenith_band(directions: np.ndarray) -> np.ndarray:
    """Band index ``(n,)`` int of each direction: ``floor(N_ZENITH_BANDS cos(zenith))``, band
    0 at the horizon, the last at the zenith."""
    z = np.asarray(directions, dtype=np.float64)[:, 2]
    return np.clip((z * N_ZENITH_BANDS).astype(np.int64), 0, N_ZENITH_BANDS - 1)


def direction_weights(directions: np.ndarray) -> np.ndarray:
    """View-factor weights ``(5, n)`` of the directions for the planes up, N, E, S, W.

    Row 0 (cosine to the zenith) sums to 1, rows 1-4 (cosine to the plane's normal, front
    side only) sum to 0.5 each.
    """
    d = np.asarray(directions, dtype=np.float64)
    w = np.empty((5, d.shape[0]))
    w[0] = d[:, 2]
    w[1:] = np.clip(SIDE_NORMALS @ d.T, 0.0, None)
    w[0] /= w[0].sum()
    w[1:] /= 2.0 * w[1:].sum(axis=1, keepdims=True)
    return w


@dataclass
class ViewFractions:
    """View fractions of ``n`` cells for the planes up, N, E, S, W.

    Attributes
    ----------
    sky, veg, wall : (5, n) float32
        Fractions of the plane's view that are open sky, tree crowns (with sky or walls
        behind), and opaque (DSM: walls, roofs, terrain). Row 0 sums to 1, rows 1-4 to 0.5.
    wall_point : (4, n, 3) float32
        Mean hit point of the blocked rays of each side plane, local coordinates of the scene
        [m] (NaN where a side sees no wall).
    sky_band : (5, N_ZENITH_BANDS, n) float32
        ``sky`` split by zenith band (:func:`zenith_band`); sums to ``sky`` over axis 1.
    band_cos_zenith : (N_ZENITH_BANDS,) float64
        Mean ``cos(zenith)`` of the rays of each band.
    open_band_weight : (5, N_ZENITH_BANDS) float64
        The weights of an unobstructed point per band (row 0 sums to 1, rows 1-4 to 0.5).
    """

    sky: np.ndarray
    veg: np.ndarray
    wall: np.ndarray
    wall_point: np.ndarray
    sky_band: np.ndarray
    band_cos_zenith: np.ndarray
    open_band_weight: np.ndarray

    def svf_shortwave(self, transmissivity: float) -> np.ndarray:
        """``(5, n)`` sky view factors with tree crowns letting ``transmissivity`` through."""
        return self.sky + np.float32(transmissivity) * self.veg


def _embree_scene(triangles: np.ndarray):
    try:
        from embreex import rtcore_scene as rtcs
        from embreex.mesh_construction import TriangleMesh
    except ImportError as exc:  # pragma: no cover - embreex is a core dependency
        raise MissingDependencyError("sky view factors need embreex (pip install embreex)") from exc
    if triangles.shape[0] == 0:
        return None
    sc = rtcs.EmbreeScene()
    TriangleMesh(sc, np.ascontiguousarray(triangles, dtype=np.float32))
    return sc


def _threaded(fn, n: int, n_threads: int, min_chunk: int = 8192) -> None:
    step = max(min_chunk, -(-n // max(1, 2 * n_threads)))
    bounds = list(range(0, n, step)) + [n]
    pairs = list(zip(bounds[:-1], bounds[1:], strict=True))
    if n_threads > 1 and len(pairs) > 1:
        with ThreadPoolExecutor(n_threads) as ex:
            list(ex.map(lambda ab: fn(*ab), pairs))
    else:
        for a, b in pairs:
            fn(a, b)


def view_fractions(
    scene: OccluderScene,
    origins_local: np.ndarray,
    *,
    n_rays: int = 1024,
    tile_cells: int = 2048,
    hit_points: bool = True,
    progress=None,
) -> ViewFractions:
    """Sky / vegetation / wall view fractions of points (cells at a height above ground).

    Parameters
    ----------
    scene : OccluderScene
        The raster scene (:func:`microclimate.heightfield.raster_scene`).
    origins_local : (n, 3) float32
        Points relative to ``scene.origin`` [m].
    n_rays : int
        Hemisphere rays per point (:func:`hemisphere_directions`).
    tile_cells : int
        Points per ray batch (memory ~ ``tile_cells * n_rays * 40`` bytes).
    hit_points : bool
        Find the mean wall points (``wall_point``; ray intersections instead of the faster
        occlusion tests); False leaves them NaN.
    progress : callable, optional
        Called with ``(done, total)`` points after each tile.

    Returns
    -------
    ViewFractions
    """
    o_all = np.ascontiguousarray(origins_local, dtype=np.float32)
    n = o_all.shape[0]
    dirs = hemisphere_directions(n_rays)
    w = direction_weights(dirs).astype(np.float32)
    d32 = dirs.astype(np.float32)
    opaque = _embree_scene(scene.opaque_triangles)
    trees = _embree_scene(scene.tree_triangles)
    band = zenith_band(dirs)
    onehot = np.zeros((nb := N_ZENITH_BANDS, dirs.shape[0]), np.float32)
    onehot[band, np.arange(dirs.shape[0])] = 1.0
    # (5, nb, rays) weights restricted to each band
    w_band = w[:, None, :] * onehot[None, :, :]
    band_cos = np.array([dirs[band == b, 2].mean() if np.any(band == b) else (b + 0.5) / nb
                         for b in range(nb)])
    sky_band = np.zeros((5, nb, n), np.float32)
    sky = np.zeros((5, n), np.float32)
    veg = np.zeros((5, n), np.float32)
    wall = np.zeros((5, n), np.float32)
    wall_point = np.full((4, n, 3), np.nan, np.float32)
    nr = d32.shape[0]
    t0 = time.perf_counter()
    for a in range(0, n, tile_cells):
        b = min(n, a + tile_cells)
        m = b - a
        o = np.repeat(o_all[a:b], nr, axis=0)
        d = np.tile(d32, (m, 1))
        code = np.ones(m * nr, dtype=np.int8)
        tfar = np.zeros(m * nr, dtype=np.float32)

        def cast(lo: int, hi: int, o=o, d=d, code=code, tfar=tfar) -> None:
            if opaque is None:
                return
            if hit_points:
                r = opaque.run(o[lo:hi], d[lo:hi], output=1)
                code[lo:hi] = np.where(r["primID"] >= 0, 0, 1)
                tfar[lo:hi] = r["tfar"]
            else:
                code[lo:hi] = np.where(opaque.run(o[lo:hi], d[lo:hi], query="OCCLUDED") >= 0,
                                       0, 1)

        _threaded(cast, m * nr, scene.n_threads)
        if trees is not None:
            free_idx = np.flatnonzero(code == 1)

            def cast_tree(lo: int, hi: int, free_idx=free_idx, o=o, d=d, code=code) -> None:
                sel = free_idx[lo:hi]
                code[sel] = np.where(trees.run(o[sel], d[sel], query="OCCLUDED") >= 0, 2, 1)

            _threaded(cast_tree, free_idx.size, scene.n_threads)
        _gk.accumulate_views(code.reshape(m, nr), tfar.reshape(m, nr), o_all[a:b], d32, w,
                             band, sky_band, veg, wall, wall_point, a)
        if progress is not None:
            progress(b, n)
    sky[:] = sky_band.sum(axis=1)
    log.debug("view fractions of %d points x %d rays in %.1f s", n, nr,
              time.perf_counter() - t0)
    return ViewFractions(sky, veg, wall, wall_point, sky_band, band_cos,
                         w_band.sum(axis=2).astype(np.float64))


def sunlit_fraction(
    scene: OccluderScene,
    origins_local: np.ndarray,
    sun_direction: np.ndarray,
    transmissivity: float,
) -> np.ndarray:
    """Sun or shade of points: 1 sunlit, ``transmissivity`` behind tree crowns, 0 shaded.

    Parameters
    ----------
    scene : OccluderScene
    origins_local : (n, 3) float32
        Points relative to ``scene.origin`` [m].
    sun_direction : (3,) float64
        Unit vector towards the sun (east, north, up); below the horizon gives all 0.
    transmissivity : float
        Shortwave transmissivity of tree crowns [-].

    Returns
    -------
    (n,) float32
    """
    o = np.ascontiguousarray(origins_local, dtype=np.float32)
    s = np.asarray(sun_direction, dtype=np.float64)
    if s[2] <= 0.0:
        return np.zeros(o.shape[0], np.float32)
    d = np.broadcast_to(s.astype(np.float32), o.shape)
    code = scene.codes_local(o, d)
    lut = np.array([0.0, 1.0, transmissivity], dtype=np.float32)
    return lut[code]


def estimate_memory_bytes(n_cells: int, n_steps: int, n_rays: int = 1024,
                          tile_cells: int = 2048) -> int:
    """Peak memory of :func:`microclimate.grid.run_grid` on ``n_cells`` cells [bytes], roughly.

    Per-cell geometry of two levels, per-step sun fractions and ground temperatures of every
    step, one ray tile, and the Embree scenes (~ 1 kB per cell for a block height field).
    """
    tile = tile_cells * n_rays * 44
    return int(n_cells * (_BYTES_PER_CELL + 1000 + n_steps * _BYTES_PER_CELL_STEP) + tile)


def _available_bytes() -> int:
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 << 30


def check_memory(n_cells: int, n_steps: int, *, n_rays: int = 1024, limit_bytes=None) -> int:
    """Raise :class:`InputError` before a run whose arrays would not fit in memory.

    Parameters
    ----------
    n_cells, n_steps : int
        Grid cells and forcing steps (spin-up included).
    limit_bytes : int, optional
        Default: 70 % of the memory available now.

    Returns
    -------
    int
        The estimate [bytes].
    """
    need = estimate_memory_bytes(n_cells, n_steps, n_rays)
    limit = int(0.7 * _available_bytes()) if limit_bytes is None else int(limit_bytes)
    if need > limit:
        side = int(np.sqrt(max(1, n_cells * limit / need)))
        raise InputError(
            f"the heat grid of {n_cells:,} cells x {n_steps} steps needs about "
            f"{need / 2**30:.1f} GiB, more than the {limit / 2**30:.1f} GiB available: use a "
            f"coarser --grid-m, a shorter --period, or tile the rasters into pieces of at most "
            f"about {side} x {side} cells (with a buffer of the tallest building's height) and "
            "run them one by one"
        )
    return need
