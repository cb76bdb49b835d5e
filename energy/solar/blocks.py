"""One block of sensors of the solar solver, runnable here, on a local pool or on a Dask cluster.

:func:`energy.solar.irradiate.irradiate` cuts the sensors into blocks (never splitting a
surface) and runs :func:`solve_block` on each through :func:`citymodel.executors.run_jobs`.
Everything a block needs besides its own sensors is in one picklable :class:`SolarShared`
(occluder triangles, sky rays, sun bins, the per-hour and per-month sky and sun factors), sent
once per worker; each worker thread builds its own Embree scene from the triangles the first
time it needs one. A block's result depends only on its sensors and the shared inputs, and
the caller adds the blocks' results up in block order, so a run on a pool or a cluster gives
the same numbers as a run here.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from energy.solar import _kernels
from energy.solar.scene import OccluderScene
from energy.solar.shading import SkyRays, SunBins, sky_coefficients
from energy.solar.sunsampling import SunSampling, adaptive_sun_visibility

__all__ = ["SolarShared", "SensorBlock", "BlockResult", "solve_block", "ENCLOSED_SKY_VIEW"]

#: Below this sky view a sensor is closed off (a party wall): no reflected light either.
ENCLOSED_SKY_VIEW = 0.005


@dataclass
class SolarShared:
    """Read-only inputs of every block (picklable; the Embree scenes are rebuilt per thread).

    Attributes
    ----------
    origin : (3,) float64
        Local origin of the triangles [m].
    opaque_triangles, tree_triangles : (n, 3, 3) float32
        Occluders relative to ``origin`` [m].
    n_threads : int
        Embree threads of one block.
    rays : SkyRays
    bins : SunBins
    sun_dir_up, beam_up : (u, 3), (u,) float64
        Sun vector and beam normal irradiance [W/m2] of the sun-up hours.
    bin_up, month_up : (u,) int64
        Sun bin and month (0..11) of the sun-up hours.
    tau_up : (u,) float64
        Tree transmissivity of the sun-up hours.
    r_open_m, r_tree_m : (e, 12) float64
        Monthly sums of the sky elements' strengths, open and through crowns [Wh/m2].
    g_m : (12,) float64
        Monthly sums of the reflected irradiance ``albedo x ghi`` [Wh/m2].
    surface_normal : (s, 3) float64
        Unit normals of the surface table's rows.
    aggregates : bool
        Also return per-surface sums (building groups, hourly surfaces).
    sampling : SunSampling, optional
        Cast only the sampled sun bins and infer the others where the samples agree
        (:mod:`energy.solar.sunsampling`); None casts every bin.
    """

    origin: np.ndarray
    opaque_triangles: np.ndarray
    tree_triangles: np.ndarray
    n_threads: int
    rays: SkyRays
    bins: SunBins
    sun_dir_up: np.ndarray
    beam_up: np.ndarray
    bin_up: np.ndarray
    month_up: np.ndarray
    tau_up: np.ndarray
    r_open_m: np.ndarray
    r_tree_m: np.ndarray
    g_m: np.ndarray
    surface_normal: np.ndarray
    aggregates: bool
    sampling: SunSampling | None = None
    _local: threading.local = field(default_factory=threading.local, repr=False, compare=False)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_local", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._local = threading.local()

    def scene(self) -> OccluderScene:
        """This thread's Embree scene of the occluders (built on first use)."""
        sc = getattr(self._local, "scene", None)
        if sc is None:
            sc = OccluderScene(self.origin, self.opaque_triangles, self.tree_triangles,
                               n_threads=self.n_threads)
            self._local.scene = sc
        return sc

    def adopt_scene(self, scene: OccluderScene) -> None:
        """Use an already built scene in this thread (a run here builds it once)."""
        self._local.scene = scene


@dataclass
class SensorBlock:
    """Sensors ``start:stop`` of the run (points and normals (m, 3), area (m,) [m2], surface
    row (m,), per-sensor albedo (m,) or None)."""

    start: int
    stop: int
    points: np.ndarray
    normals: np.ndarray
    area_m2: np.ndarray
    surface: np.ndarray
    albedo: np.ndarray | None = None


@dataclass
class BlockResult:
    """What one block gives back (see :func:`solve_block`)."""

    start: int
    stop: int
    monthly_kwh_m2: np.ndarray          # (m, 12) float32
    sky_view: np.ndarray                # (m,) float32
    components_wh_m2: np.ndarray        # (m, 3) float64: beam, diffuse, reflected
    surfaces: np.ndarray | None = None  # (k,) surface rows
    area_m2: np.ndarray | None = None   # (k,)
    c_open: np.ndarray | None = None    # (k, e) area-weighted daylight coefficients [m2]
    c_tree: np.ndarray | None = None    # (k, e)
    reflect_m2: np.ndarray | None = None  # (k,) area-weighted view of reflecting surfaces
    beam_w: np.ndarray | None = None    # (k, u) beam power on each surface per sun-up hour [W]
    n_rays: int = 0
    n_sun_inferred: int = 0             # (sensor, sun bin) pairs inferred without a ray
    ray_s: float = 0.0
    rays_s: float = 0.0
    accumulate_s: float = 0.0


def solve_block(shared: SolarShared, block: SensorBlock) -> BlockResult:
    """Shaded monthly irradiation of one block of sensors (and per-surface sums).

    Parameters
    ----------
    shared : SolarShared
    block : SensorBlock
        Its sensors; a surface's sensors are never split between blocks.

    Returns
    -------
    BlockResult
        Monthly irradiation ``(m, 12)`` [kWh/m2], sky view ``(m,)``, annual beam / diffuse /
        reflected ``(m, 3)`` [Wh/m2]; with ``shared.aggregates`` the per-surface area-weighted
        daylight coefficients, reflection view and hourly beam power of the block's surfaces.
    """
    scene = shared.scene()
    rays0, ray_s0 = scene.rays_cast, scene.ray_seconds
    pts = block.points
    nrm = np.ascontiguousarray(block.normals)
    m = pts.shape[0]
    t1 = time.perf_counter()
    c_open, c_tree = sky_coefficients(scene, pts, nrm, shared.rays)
    vis, n_inferred = adaptive_sun_visibility(scene, pts, nrm, shared.bins, shared.sampling)
    t_rays = time.perf_counter() - t1
    t1 = time.perf_counter()
    bm = np.zeros((m, 12))
    _kernels.beam_monthly(nrm, vis, shared.sun_dir_up, shared.beam_up, shared.bin_up,
                          shared.month_up, shared.tau_up, bm)
    np_ = shared.rays.n_patches
    dm = c_open.astype(np.float64) @ shared.r_open_m + c_tree.astype(np.float64) @ shared.r_tree_m
    so = c_open[:, :np_].sum(axis=1, dtype=np.float64) / np.pi
    st = c_tree[:, :np_].sum(axis=1, dtype=np.float64) / np.pi
    # view of reflecting obstructions; none for closed-off sensors (party walls)
    rv = np.where(so + st > ENCLOSED_SKY_VIEW, np.clip(1.0 - so - st, 0.0, None), 0.0)
    if block.albedo is not None:
        rv = rv * block.albedo  # per-sensor ground albedo (raster)
    rm = np.outer(rv, shared.g_m)
    tot = bm + dm + rm
    comp = np.column_stack([bm.sum(1), dm.sum(1), rm.sum(1)])
    out = BlockResult(block.start, block.stop, (tot / 1000.0).astype(np.float32),
                      so.astype(np.float32), comp)
    if shared.aggregates:
        useg, s_area, s_co, s_ct, s_rv, s_av = _surface_aggregates(
            block.surface, block.area_m2, c_open, c_tree, rv, vis)
        gb = np.zeros((useg.size, shared.sun_dir_up.shape[0]))
        _kernels.surface_beam_hourly(np.ascontiguousarray(shared.surface_normal[useg]), s_av,
                                     shared.sun_dir_up, shared.beam_up, shared.bin_up,
                                     shared.tau_up, np.arange(useg.size, dtype=np.int64), gb)
        out.surfaces, out.area_m2, out.c_open, out.c_tree = useg, s_area, s_co, s_ct
        out.reflect_m2, out.beam_w = s_rv, gb
    out.n_rays = scene.rays_cast - rays0
    out.n_sun_inferred = n_inferred
    out.ray_s = scene.ray_seconds - ray_s0
    out.rays_s = t_rays
    out.accumulate_s = time.perf_counter() - t1
    return out


def _surface_aggregates(surf, w, c_open, c_tree, rv, vis):
    """Per-surface sums over a block's sensors (sensors of one surface are contiguous).

    Returns the surface rows ``(k,)``, area ``(k,)``, area-weighted daylight coefficients
    ``(k, e)`` open and through crowns, area-weighted reflection view ``(k,)``, and the visible
    area per sun bin ``(k, b, 2)``.
    """
    start = np.flatnonzero(np.concatenate([[True], surf[1:] != surf[:-1]]))
    seg = np.concatenate([start, [surf.shape[0]]]).astype(np.int64)
    useg = surf[start]
    s_area = np.add.reduceat(w, start)
    s_co = np.add.reduceat(w[:, None] * c_open.astype(np.float64), start, axis=0)
    s_ct = np.add.reduceat(w[:, None] * c_tree.astype(np.float64), start, axis=0)
    s_rv = np.add.reduceat(w * rv, start)
    s_av = np.zeros((useg.size, vis.shape[1], 2))
    _kernels.surface_visible_area(vis, np.ascontiguousarray(w), seg, s_av)
    return useg, s_area, s_co, s_ct, s_rv, s_av
