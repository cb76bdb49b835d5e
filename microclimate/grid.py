"""Hourly mean radiant temperature and UTCI on a raster grid (SOLWEIG-style inputs).

Physics per step and ground cell (SOLWEIG's six-direction scheme, Lindberg et al. 2008, with
our own ground surface balance):

- Geometry (:func:`prepare_grid`, once): a block height-field scene of the DSM and a
  semi-transparent canopy scene (:mod:`microclimate.heightfield`); per cell, at the body
  centre (``body_height_m`` above the surface) and at the ground, the sky / tree / wall view
  fractions of the planes up, N, E, S, W (:mod:`microclimate.skyview`).
- Shortwave: direct beam through the cast shadow (DNI, crowns transmit 3 %; sun rays walk the
  block height field, :mod:`microclimate.sunrays`, :mod:`microclimate.shadows`); diffuse from an
  **isotropic** sky through the vegetation-adjusted sky view factors; reflected from walls
  (albedo 0.2, SOLWEIG's ``GHI (1 - F_sh) + DHI F_sh`` with ``F_sh`` the shaded share of the
  walls the cell sees, found by casting sun rays from points spread over the height of the
  wall seen in each direction, :mod:`microclimate.seen_walls`) and from the ground (albedo per land-cover class, averaged over the ground a body
  sees below it with the view-factor kernel ``h^2 / (pi (r^2 + h^2)^2)``). The beam on the
  body is SOLWEIG's cylinder term (``Fcyl = 0.28``, :func:`microclimate.tmrt.tmrt_with_beam_c`);
  the side fluxes in the outputs include the beam on a vertical plane facing that way.
- Long-wave: sky from the forcing's ``ir_horizontal_w_m2`` when every needed value is present,
  else Prata + Crawford & Duchon (:func:`microclimate.ground.sky_longwave_w_m2`; which one is
  in ``HeatResult.attrs["ldown_source"]``), distributed over zenith angle (brighter towards
  the horizon, Martin & Berdahl 1984, :func:`microclimate.ground.sky_band_factors`) and weighted by the sky each
  plane sees per zenith band; tree crowns at air temperature (emissivity 1);
  walls at their own balance temperature (:func:`microclimate.ground.wall_temperatures_c`,
  sunlit or shaded); ground per cell from :func:`microclimate.surface_balance.surface_temperatures_by_kind`
  with the land-cover layers (shadows included, 2 m deep, spin-up).
- Tmrt: :func:`microclimate.tmrt.tmrt_with_beam_c` (standing, absorptivities 0.70 / 0.97),
  evaluated with the flux assembly in one numba pass per step (``_body_tmrt``);
  UTCI: :func:`microclimate.utci.utci_one_air_c` (:func:`microclimate.utci.utci_c` for one
  air state per step) with the forcing's wind taken as the 10 m wind (no conversion; SOLWEIG
  does the same with its default sensor height of 10 m).

Time: the forcing's index holds the ends of the averaging intervals; the sun is computed at
``time_mid``. Building cells are NaN in every output raster.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import ndimage

from citymodel.errors import InputError, WeatherError
from energy.solar.scene import OccluderScene
from energy.sun import direction_vectors
from microclimate import _grid_kernels as _gk
from microclimate import tiling
from microclimate.conduction import Nodes, discretise
from microclimate.ground import (
    WALL_ALBEDO,
    WALL_EMISSIVITY,
    land_cover_names,
    sky_band_factors,
    sky_longwave_w_m2,
    wall_temperatures_c,
)
from microclimate.heightfield import TREE_TRANSMISSIVITY, TRUNK_RATIO, cell_centres, raster_scene
from microclimate.layers import SurfaceProperties, land_cover_layers
from microclimate.seen_walls import wall_strip_points
from microclimate.shadows import grid_shadows
from microclimate.skyview import (
    SIDE_NORMALS,
    ViewFractions,
    check_memory,
    view_fractions,
)
from microclimate.spinup import ground_spinup_state, spinup_plan
from microclimate.sunrays import HeightField, height_field
from microclimate.suntime import radiation_time_offset_h, raster_site, sun_at
from microclimate.surface_balance import surface_temperatures_by_kind
from microclimate.tmrt import ABSORPTION_K, ABSORPTION_L, ANGULAR_FACTORS, direct_beam_on_body_w_m2
from microclimate.tmrt import STEFAN_BOLTZMANN_W_M2K4 as SIGMA
from microclimate.utci import utci_one_air_c

__all__ = ["HeatRasters", "GridGeometry", "HeatResult", "prepare_grid", "run_grid",
           "raster_site", "radiation_time_offset_h", "STRONG_HEAT_UTCI_C", "POINT_KEYS"]

log = logging.getLogger(__name__)

#: UTCI above which a step counts as strong heat stress [degC].
STRONG_HEAT_UTCI_C = 32.0
#: Keys of ``HeatResult.points``.
POINT_KEYS = ("tmrt_c", "utci_c", "kdown_w_m2", "kup_w_m2", "ldown_w_m2", "lup_w_m2",
              "knorth_w_m2", "keast_w_m2", "ksouth_w_m2", "kwest_w_m2",
              "lnorth_w_m2", "least_w_m2", "lsouth_w_m2", "lwest_w_m2")
_FORCING = ("ghi_w_m2", "dhi_w_m2", "dni_w_m2", "t_air_c", "rh_percent", "wind_speed_m_s")
_GROUND_OFFSET_M = 0.1
_WALL_POINT_OFFSET_M = 0.3
#: Implicit sub-steps per forcing step of the ground balance (2 = 30 min: Kronenhuset's
#: Tmrt RMSE moves by 0.01 K against 4 sub-steps, at half the cost).
GROUND_SUBSTEPS = 2
#: Implicit sub-steps per forcing step of the repeated spin-up day (one hour steps: the spin-up
#: only has to reach the day's periodic heat content; on a 20,000-cell test slab the surface
#: temperatures after it differ from a 3-day, 12-sub-step reference by 0.170 K rms, against
#: 0.177 K with 2 sub-steps, at 0.82 of the cost).
GROUND_SPINUP_SUBSTEPS = 1
#: Forcing steps processed together (shadows and ground balance); bounds the memory.
CHUNK_STEPS = 24


@dataclass
class HeatRasters:
    """SOLWEIG-style input rasters on one north-up grid (see the module docstring)."""

    dsm_m: np.ndarray
    dem_m: np.ndarray
    cdsm_m: np.ndarray | None
    landcover: np.ndarray | None
    transform: object
    crs: str | None
    building_mask: np.ndarray | None = None


@dataclass
class GridGeometry:
    """Per-cell geometry of :func:`prepare_grid` (``n`` ground cells, row-major order)."""

    shape: tuple[int, int]
    transform: object
    crs: str | None
    cells: np.ndarray                     # (n,) flat indices of the ground cells
    ground_mask: np.ndarray               # (ny, nx) bool
    scene: OccluderScene
    body_origins: np.ndarray              # (n, 3) float32, scene-local
    ground_origins: np.ndarray            # (n, 3) float32
    body: ViewFractions
    ground: ViewFractions
    land_cover: np.ndarray                # (n,) object, LAND_COVER names
    body_height_m: float
    transmissivity: float = TREE_TRANSMISSIVITY
    attrs: dict = field(default_factory=dict)
    wall_strip: np.ndarray | None = None  # (4, k, n, 3) float32: microclimate.seen_walls
    heightfield: HeightField | None = None  # sun rays by microclimate.sunrays (else Embree)

    @property
    def n(self) -> int:
        return int(self.cells.size)


@dataclass
class HeatResult:
    """Outputs of :func:`run_grid` (rasters (ny, nx) float32, NaN on buildings)."""

    times: pd.DatetimeIndex
    tmrt_max_c: np.ndarray
    utci_max_c: np.ndarray
    t_surface_max_c: np.ndarray
    strong_heat_hours: np.ndarray
    points: dict[str, np.ndarray]
    attrs: dict


def _check_rasters(r: HeatRasters) -> np.ndarray:
    dsm = np.asarray(r.dsm_m, dtype=np.float64)
    shape = dsm.shape
    for name, a in (("dem_m", r.dem_m), ("cdsm_m", r.cdsm_m), ("landcover", r.landcover),
                    ("building_mask", r.building_mask)):
        if a is not None and np.shape(a) != shape:
            raise InputError(f"raster {name} has shape {np.shape(a)}, the DSM {shape}: the "
                             "rasters must be aligned on one grid (gdalwarp -tap -te ...)")
    for name, a in (("DSM", dsm), ("DEM", np.asarray(r.dem_m, dtype=np.float64))):
        if not np.all(np.isfinite(a)) or a.min() < -1000.0 or a.max() > 9000.0:
            raise InputError(f"the {name} has nodata / NaN or impossible elevations (outside "
                             "-1000..9000 m): mask its nodata value and fill the cells "
                             "(gdal_fillnodata)")
    if r.building_mask is not None:
        return np.asarray(r.building_mask, dtype=bool)
    mask = dsm - np.asarray(r.dem_m, dtype=np.float64) > 2.0
    if r.landcover is not None:
        mask |= np.asarray(r.landcover) == 2
    return mask


def prepare_grid(rasters: HeatRasters, *, body_height_m: float = 1.1, n_rays: int = 512,
                 sun_rays: str = "walk", progress=None) -> GridGeometry:
    """Scene and per-cell view fractions of the ground cells of ``rasters``.

    Parameters
    ----------
    rasters : HeatRasters
    body_height_m : float
        Height of the body centre above the surface [m] (SOLWEIG standing: 1.1).
    n_rays : int
        Hemisphere rays per cell at body height (half as many at the ground, which only needs
        its sky view). Kronenhuset's Tmrt RMSE is 3.70 / 3.73 / 3.72 K with 256 / 512 / 1024.
    sun_rays : {"walk", "embree"}
        How each step's sun rays are cast on the same block height field: ``"walk"`` steps
        through the raster's cells (:mod:`microclimate.sunrays`, 2-3x faster per step),
        ``"embree"`` casts them in the Embree scene of the sky view factors, as the solar solver
        does. The two agree up to rays grazing a cell edge (``tests/test_microclimate_sunrays.py``);
        the choice is recorded in the result's ``attrs["sun_rays"]``.
    progress : callable, optional
        ``progress(stage: str, done: int, total: int)``.

    Returns
    -------
    GridGeometry
    """
    if sun_rays not in ("walk", "embree"):
        raise InputError(f"sun rays {sun_rays!r}: use 'walk' or 'embree'")
    buildings = _check_rasters(rasters)
    dsm = np.asarray(rasters.dsm_m, dtype=np.float64)
    shape = dsm.shape
    ground = ~buildings
    cells = np.flatnonzero(ground.ravel())
    if cells.size == 0:
        raise InputError("every cell of the rasters is a building: no ground to compute on")
    check_memory(cells.size, CHUNK_STEPS, n_rays=n_rays)
    if rasters.landcover is None:
        lc = np.full(cells.size, "asphalt", dtype=object)
        note = "no land-cover raster: every ground cell treated as asphalt"
        log.warning(note)
    else:
        lc = land_cover_names(np.asarray(rasters.landcover).ravel()[cells])
        note = "UMEP land-cover codes mapped by microclimate.ground.UMEP_LAND_COVER"
    cdsm = None if rasters.cdsm_m is None else np.nan_to_num(np.asarray(rasters.cdsm_m, float))
    scene = raster_scene(dsm, rasters.transform, dem_m=np.asarray(rasters.dem_m, float),
                         cdsm_m=cdsm, trunk_ratio=TRUNK_RATIO)
    x, y = cell_centres(rasters.transform, shape)
    rr, cc = np.divmod(cells, shape[1])
    z = dsm.ravel()[cells]
    base = np.column_stack([x[cc] - scene.origin[0], y[rr] - scene.origin[1], z])
    ground_o = (base + [0.0, 0.0, _GROUND_OFFSET_M]).astype(np.float32)
    body_o = (base + [0.0, 0.0, body_height_m]).astype(np.float32)

    def cb(stage):
        return None if progress is None else (lambda d, t: progress(stage, d, t))

    body = view_fractions(scene, body_o, n_rays=n_rays, progress=cb("body view"))
    gnd = view_fractions(scene, ground_o, n_rays=max(64, n_rays // 2), hit_points=False,
                         progress=cb("ground view"))
    strip = wall_strip_points(body.wall_point, z, dsm, rasters.transform, scene.origin)
    hf = None if sun_rays == "embree" else height_field(
        dsm, rasters.transform, scene.origin, dem_m=np.asarray(rasters.dem_m, float), cdsm_m=cdsm,
        trunk_ratio=TRUNK_RATIO)
    return GridGeometry(shape, rasters.transform, rasters.crs, cells, ground, scene, body_o,
                        ground_o, body, gnd, lc, float(body_height_m), wall_strip=strip,
                        heightfield=hf,
                        attrs={"land_cover": note, "n_rays": int(n_rays),
                               "sky_view_rays": "Fibonacci hemisphere, uniform solid angle",
                               "sun_rays": ("Embree, one ray per point" if hf is None else
                                            "cell walk through the block height field")})


def _class_slabs(land_cover: np.ndarray) -> tuple[Nodes, np.ndarray, SurfaceProperties]:
    """The discretised slab of each land-cover class present, each cell's class and the
    cells' surface properties (:func:`land_cover_layers`)."""
    names, kind = np.unique(np.asarray(land_cover, dtype=str), return_inverse=True)
    lay, props = land_cover_layers(list(names))
    kind = kind.reshape(-1)
    return (discretise(lay, max_node_m=0.02, growth=1.3), kind,
            SurfaceProperties(props.albedo[kind], props.emissivity[kind],
                              props.evap_beta[kind]))


def _ground_kernel(cell_m: float, height_m: float) -> np.ndarray:
    """View-factor weights of ground cells seen by a downward plane at ``height_m``."""
    r = max(1, int(math.ceil(3.0 * height_m / cell_m)))
    off = np.arange(-r, r + 1) * cell_m
    xx, yy = np.meshgrid(off, off)
    w = height_m**2 / (np.pi * (xx**2 + yy**2 + height_m**2) ** 2)
    return w / w.sum()


def _seen_ground(full_a: np.ndarray, full_b: np.ndarray, cells: np.ndarray,
                 kernel: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kernel averages at the ground ``cells`` (flat int64 indices) of two ``(ny, nx)``
    float32 rasters (0 off the ground, so buildings are excluded); ``den`` is the kernel sum
    over ground cells at each ground cell (:func:`_ground_weight`)."""
    out_a = np.empty(cells.shape[0])
    out_b = np.empty(cells.shape[0])
    _gk.kernel_average_pair(full_a, full_b, np.ascontiguousarray(kernel, dtype=np.float32),
                            cells, den, out_a, out_b)
    return out_a, out_b


def _ground_weight(geom: GridGeometry, kernel: np.ndarray) -> np.ndarray:
    m = geom.ground_mask.astype(np.float32)
    den = ndimage.convolve(m, kernel.astype(np.float32), mode="nearest").ravel()[geom.cells]
    return np.maximum(den, 1e-9).astype(np.float64)


def _forcing_arrays(forcing: pd.DataFrame, site: dict, sun_samples: int = 1):
    missing = [c for c in (*_FORCING, "time_mid") if c not in forcing.columns]
    if missing:
        raise WeatherError(f"the forcing lacks the column(s) {missing}: read it with "
                           "microclimate.metfile.read_umep_met or energy.weather")
    bad = [c for c in _FORCING if forcing[c].isna().any()]
    if bad:
        raise WeatherError(f"the forcing has missing (-999) values in {bad}: fill or cut "
                           "the --period to complete rows")
    if len(forcing) == 0:
        raise WeatherError("the forcing has no rows")
    sp = sun_at(pd.DatetimeIndex(forcing["time_mid"]), site)
    f = {c: forcing[c].to_numpy(np.float64) for c in _FORCING}
    f["zenith_deg"] = sp["zenith_deg"].to_numpy()
    f["elevation_deg"] = sp["elevation_deg"].to_numpy()
    f["sun"] = direction_vectors(f["zenith_deg"], sp["azimuth_deg"].to_numpy())
    # sun directions at sun_samples instants spread evenly over each averaging interval
    step = pd.to_timedelta(_step_hours(forcing), unit="h")
    tm = pd.DatetimeIndex(forcing["time_mid"])
    sub = []
    for k in range(sun_samples):
        frac = (k + 0.5) / sun_samples - 0.5
        spk = sun_at(tm + step * frac, site)
        sub.append(direction_vectors(spk["zenith_deg"].to_numpy(), spk["azimuth_deg"].to_numpy()))
    f["sun_sub"] = np.stack(sub, axis=1)  # (nt, samples, 3)
    up = f["elevation_deg"] > 0
    f["dni_w_m2"] = np.where(up, f["dni_w_m2"], 0.0)
    ir = forcing["ir_horizontal_w_m2"].to_numpy(np.float64) if "ir_horizontal_w_m2" in \
        forcing.columns else np.full(len(forcing), np.nan)
    if np.all(np.isfinite(ir)):
        f["ldown_sky_w_m2"], source = ir, "forcing ir_horizontal_w_m2"
    else:
        f["ldown_sky_w_m2"], cloud = sky_longwave_w_m2(f["t_air_c"], f["rh_percent"],
                                                     f["ghi_w_m2"], f["zenith_deg"])
        source = ("Prata (1996) clear sky x Crawford & Duchon (1999) cloud from GHI / Haurwitz "
                  "clear-sky GHI (forcing ir_horizontal_w_m2 missing)")
        log.info("sky long-wave: %s", source)
    return f, source


def run_grid(rasters_or_geometry, forcing: pd.DataFrame, site: dict, *,
             points_rc: np.ndarray | None = None, spinup_steps: int = 24,
             sun_samples: int = 3, progress=None,
             spinup_forcing: pd.DataFrame | None = None, tile_cells: int | None = None,
             halo_m: float | None = None, n_rays: int = 512, scheduler=None,
             workers: int = 1) -> HeatResult:
    """Hourly Tmrt and UTCI on the grid; maxima rasters and series at points.

    Parameters
    ----------
    rasters_or_geometry : HeatRasters or GridGeometry
    forcing : DataFrame
        Met forcing (columns of :func:`microclimate.metfile.read_umep_met`, ``time_mid``);
        index: ends of the averaging intervals.
    site : dict
        ``lat_deg``, ``lon_deg``, ``tz_offset_h`` (hours east of UTC of the local standard
        time of naive ``time_mid`` stamps).
    points_rc : (p, 2) int, optional
        Row, column of points whose hourly fluxes are kept.
    spinup_steps : int
        Steps of spin-up of the ground and wall temperatures: the rows of
        ``spinup_forcing``, and the first day of the forcing repeated for what they lack
        (rounded up to whole days; :func:`microclimate.spinup.spinup_plan`).
    sun_samples : int
        Instants per averaging interval at which the body's sun or shade is cast (evenly
        spread; the forcing is an interval mean, so a point in sun for half the hour gets
        half the beam). Ground and walls use the interval's midpoint.
    progress : callable, optional
        ``progress(stage, done, total)``.
    spinup_forcing : DataFrame, optional
        The forcing rows that precede ``forcing`` (same columns), run before it to spin up
        the ground and walls (:attr:`microclimate.forcing.Forcing.data` before the period).
    tile_cells, halo_m : int, float, optional
        Rasters only: core tile side [cells] (0 = one tile; default: tiles when the grid does
        not fit :data:`microclimate.tiling.TILE_MEMORY_BYTES`) and halo [m] (default
        :func:`microclimate.tiling.halo_m_for`), see :mod:`microclimate.tiling`.
    n_rays : int
        Rasters only: hemisphere rays per cell (:func:`prepare_grid`).
    scheduler, workers
        Rasters only: where the tiles run (:func:`citymodel.executors.run_jobs`).

    Returns
    -------
    HeatResult
        ``attrs["spinup"]`` says how many spin-up days were run and on which rows.
    """
    if not isinstance(rasters_or_geometry, GridGeometry):  # rasters: in tiles when needed
        r = rasters_or_geometry
        buildings = _check_rasters(r)
        halo, why = tiling.halo_m_for(r.dsm_m, r.dem_m, r.cdsm_m) if halo_m is None else \
            (float(halo_m), f"halo {float(halo_m):g} m given")
        plan = tiling.plan_tiles(np.shape(r.dsm_m), abs(float(tuple(r.transform)[0])), halo_m=halo,
                                 n_rays=n_rays, tile_cells=tile_cells, workers=workers, reason=why)
        if plan.n_tiles > 1:
            return tiling.run_tiles(prepare_grid, run_grid, HeatResult, r, forcing, site, plan,
                                    buildings=buildings, points_rc=points_rc, n_rays=n_rays,
                                    scheduler=scheduler, workers=workers, progress=progress,
                                    spinup_steps=spinup_steps, sun_samples=sun_samples,
                                    spinup_forcing=spinup_forcing)
    geom = (rasters_or_geometry if isinstance(rasters_or_geometry, GridGeometry)
            else prepare_grid(rasters_or_geometry, n_rays=n_rays, progress=progress))
    if int(sun_samples) < 1:
        raise InputError(f"sun_samples must be >= 1, got {sun_samples}")
    f, ldown_source = _forcing_arrays(forcing, site, int(sun_samples))
    nt = len(forcing)
    ny, nx = geom.shape
    check_memory(geom.n, min(nt, CHUNK_STEPS))
    pts = _point_cells(geom, points_rc)
    steps_per_day = min(24, nt)
    spin = (_forcing_arrays(spinup_forcing, site)[0] if spinup_forcing is not None
            and len(spinup_forcing) else None)
    plan = spinup_plan(spinup_steps, 0 if spin is None else len(spinup_forcing), steps_per_day)
    spinup_days = plan.repeated_days
    log.info("heat grid: %s", plan.describe())

    def cat(k):  # spin-up rows, then the period's
        return f[k] if spin is None else np.concatenate([spin[k], f[k]])

    tau = geom.transmissivity
    b, g = geom.body, geom.ground
    l_hemi = f["ldown_sky_w_m2"]
    band_all = sky_band_factors(cat("ldown_sky_w_m2"), cat("t_air_c"), b.band_cos_zenith,
                                b.open_band_weight[0])
    band_g = band_all[-nt:]
    l_wall_sky = cat("ldown_sky_w_m2") * (band_all @ b.open_band_weight[1]) / 0.5  # open wall
    t_wall = wall_temperatures_c(cat("t_air_c"), cat("wind_speed_m_s"), cat("rh_percent"),
                                 l_wall_sky, cat("dni_w_m2"), cat("dhi_w_m2"),
                                 cat("ghi_w_m2"), cat("sun"), spinup_days=spinup_days,
                                 steps_per_day=steps_per_day)[:, -nt:]
    kind_nodes, kind, props = _class_slabs(geom.land_cover)  # the ground's slab by class
    cell_m = abs(float(tuple(geom.transform)[0]))
    kernel = _ground_kernel(cell_m, geom.body_height_m)
    den = _ground_weight(geom, kernel)
    svf_b = b.svf_shortwave(tau).astype(np.float64)
    wall_pts = geom.body.wall_point - _WALL_POINT_OFFSET_M * SIDE_NORMALS[:, None, :].astype(
        np.float32)
    has_wall = np.isfinite(wall_pts[..., 0])
    wall_pts = np.nan_to_num(wall_pts)
    wsum = np.maximum(b.wall[1:].sum(axis=0), 1e-9)
    sky_g = np.clip(g.sky[0], 0.0, 1.0)
    svf_g = np.ascontiguousarray(g.svf_shortwave(tau)[0])
    full_lw, full_sw = np.zeros(geom.shape, np.float32), np.zeros(geom.shape, np.float32)
    cells = geom.cells.astype(np.int64)
    t_deep = float(np.mean(cat("t_air_c")[:steps_per_day]))
    tmrt_max = np.full(geom.n, -np.inf)
    utci_max = np.full(geom.n, -np.inf)
    t_surf_max = np.full(geom.n, -np.inf)
    strong = np.zeros(geom.n)
    dt_h = _step_hours(forcing)
    out_pts = {k: np.full((pts.size, nt), np.nan) for k in POINT_KEYS}
    state = None if spin is None else ground_spinup_state(
        kind_nodes, kind, geom, spin, band_all[:-nt], props.albedo, props.emissivity,
        props.evap_beta, t_deep_c=t_deep, repeated_days=spinup_days,
        steps_per_day=steps_per_day, substeps=GROUND_SPINUP_SUBSTEPS, chunk_steps=CHUNK_STEPS)
    for c0 in range(0, nt, CHUNK_STEPS):  # memory bounded by one chunk of steps
        steps = np.arange(c0, min(nt, c0 + CHUNK_STEPS))
        sun_g, sun_b, wall_sun = grid_shadows(geom, f["sun"][steps], f["sun_sub"][steps],
                                              f["dni_w_m2"][steps], wall_pts, has_wall,
                                              progress, int(c0), nt)
        ghi, dhi, dni = (f[c][steps] for c in ("ghi_w_m2", "dhi_w_m2", "dni_w_m2"))
        cosz = np.clip(f["sun"][steps, 2], 0.0, None)
        # shortwave on the ground, what the walls reflect, the sky long-wave per cell from
        # the zenith bands it sees; then the ground surface temperatures
        k_ground, k_abs, wall_refl, l_sky_g = (np.empty((steps.size, geom.n)) for _ in range(4))
        _gk.ground_forcing(sun_g, wall_sun, b.wall[1:], wsum, dni * cosz, dhi, ghi, svf_g,
                           g.wall[0], props.albedo, l_hemi[steps],
                           np.ascontiguousarray(band_g[steps]), g.sky_band[0], sky_g,
                           WALL_ALBEDO, k_ground, k_abs, wall_refl, l_sky_g)
        t_surface, state = surface_temperatures_by_kind(
            kind_nodes, kind, k_abs, f["t_air_c"][steps],
            f["wind_speed_m_s"][steps], l_sky_g, emissivity=props.emissivity,
            sky_view=sky_g, evap_beta=props.evap_beta, rh_percent=f["rh_percent"][steps],
            t_inner_c=t_deep, t_init_c=state if state is not None else t_deep,
            substeps=GROUND_SUBSTEPS, spinup_days=spinup_days if state is None else 0,
            steps_per_day=steps_per_day, spinup_substeps=GROUND_SPINUP_SUBSTEPS)
        t_surf_max = np.fmax(t_surf_max, t_surface.max(axis=0))
        for i, t in enumerate(steps):  # body fluxes
            ta = f["t_air_c"][t]
            l_veg = SIGMA * (ta + 273.15) ** 4
            _gk.ground_emission_rasters(t_surface[i], props.emissivity, props.albedo, sky_g,
                                        l_sky_g[i], l_veg, k_ground[i], SIGMA, cells,
                                        full_lw, full_sw)
            lup, kup = _seen_ground(full_lw, full_sw, cells, kernel, den)
            # walls seen looking N, E, S, W face S, W, N, E: t_wall rows are N, E, S, W facing
            cos_i = np.clip(-(SIDE_NORMALS @ f["sun"][t]), 0.0, None) * (cosz[i] > 0)
            scal = np.array([l_veg, dni[i] * cosz[i], dhi[i], t_wall[4, t],
                             WALL_ALBEDO * (0.5 * dhi[i] + 0.5 * 0.15 * ghi[i]),
                             direct_beam_on_body_w_m2(dni[i], f["elevation_deg"][t]),
                             *ANGULAR_FACTORS["standing"][:2], ABSORPTION_K, ABSORPTION_L,
                             SIGMA, WALL_EMISSIVITY])
            step = (band_g[t], l_hemi[t], scal, t_wall[[2, 3, 0, 1], t],
                    WALL_ALBEDO * dni[i] * cos_i, sun_b[i], wall_sun[i], wall_refl[i], kup, lup)
            tmrt = _body_tmrt(b, wsum, svf_b, step, None)
            utci = utci_one_air_c(ta, tmrt, f["wind_speed_m_s"][t], f["rh_percent"][t])
            tmrt_max = np.fmax(tmrt_max, tmrt)
            utci_max = np.fmax(utci_max, utci)
            strong += np.where(utci > STRONG_HEAT_UTCI_C, dt_h[t], 0.0)
            if pts.size:
                fl = _body_tmrt(b, wsum, svf_b, step, pts)
                beam_side = (dni[i] * np.clip(SIDE_NORMALS @ f["sun"][t], 0, None)[:, None]
                             * sun_b[i][pts])
                vals = dict(tmrt_c=tmrt[pts], utci_c=utci[pts], kdown_w_m2=fl[0],
                            kup_w_m2=kup[pts], ldown_w_m2=fl[1], lup_w_m2=lup[pts])
                for k, name in enumerate(("north", "east", "south", "west")):
                    vals[f"k{name}_w_m2"] = fl[2 + k] + beam_side[k]
                    vals[f"l{name}_w_m2"] = fl[6 + k]
                for key in POINT_KEYS:
                    out_pts[key][:, t] = vals[key]
            if progress is not None:
                progress("tmrt", t + 1, nt)

    def raster(v):
        r = np.full(ny * nx, np.nan, np.float32)
        r[geom.cells] = v
        return r.reshape(ny, nx)

    attrs = dict(geom.attrs)
    shift = radiation_time_offset_h(forcing, site)
    if abs(shift) >= 0.5:
        log.warning("the forcing's radiation fits the sun %+.2f h later than its time stamps: "
                    "check tz_offset_h and the interval convention", shift)
    attrs.update(
        radiation_time_offset_h=shift,
        ldown_source=ldown_source,
        longwave_sky="anisotropic: Martin & Berdahl (1984) emissivity 1 - (1 - eps) exp(0.308 "
                     "(1.7 - sec z)) per zenith band, scaled to the hemispheric Ldown",
        diffuse_sky="isotropic (vegetation-adjusted sky view factors)",
        body="standing, absorptivity 0.70 short / 0.97 long, cylinder beam term Fcyl 0.28",
        tree_transmissivity=tau, trunk_ratio=TRUNK_RATIO,
        wind="forcing wind_speed_m_s used as the 10 m wind for UTCI, unconverted",
        ground_temperature="surface_energy_balance per cell, land-cover layers",
        spinup=plan.describe(), spinup_days=plan.days, spinup_preceding_rows=plan.preceding_rows,
        spinup_repeated_days=plan.repeated_days,
        wall_temperature="surface_energy_balance of 0.25 m brick walls, sunlit per facing or "
                         "shaded",
        strong_heat="UTCI > 32 degC, hours")
    return HeatResult(pd.DatetimeIndex(forcing.index), raster(np.where(
        np.isfinite(tmrt_max), tmrt_max, np.nan)), raster(np.where(np.isfinite(utci_max),
                                                                    utci_max, np.nan)),
        raster(t_surf_max), raster(strong), out_pts, attrs)


def _body_tmrt(b: ViewFractions, wsum, svf_b, step, idx):
    """Tmrt ``(n,)`` of every cell (``idx`` None), else the fluxes ``(10, len(idx))`` (kdown,
    ldown, k_side N E S W, l_side N E S W) of the cells ``idx``: one pass of
    :func:`microclimate._grid_kernels.body_step` (:func:`microclimate.tmrt.tmrt_with_beam_c`
    per cell)."""
    band, l_hemi, scal, t_lit, k_lit, sun_b, wall_sun, wall_refl, kup, lup = step
    sel = slice(None) if idx is None else idx
    n = sun_b.shape[0] if idx is None else len(idx)
    tmrt, fluxes = np.empty(n), np.empty((10, n if idx is not None else 0))
    _gk.body_step(b.sky_band[:, :, sel], band, l_hemi, b.veg[:, sel], b.wall[:, sel], wsum[sel],
                  svf_b[:, sel], sun_b[sel], wall_sun[:, sel], wall_refl[sel], kup[sel],
                  lup[sel], scal, t_lit, k_lit, idx is not None, fluxes, tmrt)
    return tmrt if idx is None else fluxes


def _step_hours(forcing: pd.DataFrame) -> np.ndarray:
    idx = pd.DatetimeIndex(forcing.index)
    if len(idx) < 2:
        return np.ones(len(idx))
    d = np.asarray((idx[1:] - idx[:-1]) / pd.Timedelta(hours=1), dtype=np.float64)
    return np.concatenate([[d[0]], d])


def _point_cells(geom: GridGeometry, points_rc) -> np.ndarray:
    if points_rc is None:
        return np.zeros(0, dtype=np.int64)
    p = np.asarray(points_rc, dtype=np.int64).reshape(-1, 2)
    ny, nx = geom.shape
    out = (p[:, 0] < 0) | (p[:, 0] >= ny) | (p[:, 1] < 0) | (p[:, 1] >= nx)
    if out.any():
        raise InputError(f"--points: point(s) {np.flatnonzero(out).tolist()} lie outside the "
                         f"{ny} x {nx} grid: give points inside the rasters")
    flat = p[:, 0] * nx + p[:, 1]
    pos = np.searchsorted(geom.cells, flat)
    pos = np.clip(pos, 0, geom.n - 1)
    on_building = geom.cells[pos] != flat
    if on_building.any():
        raise InputError(f"--points: point(s) {np.flatnonzero(on_building).tolist()} lie on "
                         "building cells (roofs): move them to the ground")
    return pos
