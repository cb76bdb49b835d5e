"""Radiative and thermal boundary conditions of the heat grid: sky long-wave, walls, ground.

- :func:`sky_longwave_w_m2`: downwelling long-wave from the sky when the forcing has none:
  Prata (1996, QJRMS 122:1127) clear-sky emissivity ``1 - (1 + w) exp(-sqrt(1.2 + 3 w))``,
  ``w = 46.5 e / T`` [cm of precipitable water, e in hPa], and the cloud correction of
  Crawford & Duchon (1999, J Appl Meteor 38:474) ``eps = c + (1 - c) eps_clear`` with the
  cloud fraction ``c = 1 - s`` from the ratio ``s`` of the measured global irradiance to a
  clear sky's (Haurwitz 1945, ``1098 cos Z exp(-0.057 / cos Z)``) while the sun is above
  10 deg; nights and low sun carry the nearest daytime value (SOLWEIG does the same).
- :func:`sky_band_factors`: the long-wave sky is not isotropic: a slant path through the
  atmosphere is longer, so the sky is brighter towards the horizon. The directional emissivity
  follows Martin & Berdahl (1984, Solar Energy 33:321) ``1 - (1 - eps) exp(0.308 (1.7 - sec
  zenith))``, measured at six US sites; at the zenith it is within 0.025 of the logarithmic
  law of Unsworth & Monteith (1975, QJRMS 101:13); it is scaled per step so that the hemisphere gives
  the forcing's (or the formula's) downwelling flux. A street canyon that sees only the zenith
  sky gets less than ``svf x Ldown``; a vertical plane more than half. (An isothermal grey
  slab, ``1 - (1 - eps_z)^sec(zenith)``, the earlier choice, makes the zenith far too dark:
  the real atmosphere's strong absorption bands are opaque in every direction.)
- :func:`wall_temperatures_c`: hourly surface temperatures of sunlit walls facing N, E, S, W
  and of shaded walls: :func:`microclimate.surface_balance.surface_energy_balance` on a
  0.25 m brick slab (conductivity 0.84 W/mK, 1.36 MJ/m3K: SOLWEIG's ``Brick_wall``
  parameters) with 20 degC indoor air behind an ISO 6946 film (7.7 W/m2K), sky view 0.5.
- :data:`UMEP_LAND_COVER`: UMEP's land-cover codes mapped to :data:`microclimate.layers.LAND_COVER`.
"""

from __future__ import annotations

import numpy as np

from citymodel.errors import InputError
from microclimate.conduction import Layers, discretise
from microclimate.surface_balance import saturation_vapour_pressure_pa, surface_energy_balance

__all__ = [
    "UMEP_LAND_COVER",
    "WALL_ALBEDO",
    "WALL_EMISSIVITY",
    "land_cover_names",
    "sky_longwave_w_m2",
    "sky_band_factors",
    "wall_temperatures_c",
]

#: UMEP land-cover code -> class of :data:`microclimate.layers.LAND_COVER` (2 = building).
#: 0 cobble stones -> concrete; 1 paved -> asphalt; 3, 4 evergreen / deciduous trees (the
#: ground under them) -> grass; 5 grass; 6 bare soil; 7 water.
UMEP_LAND_COVER = {0: "concrete", 1: "asphalt", 3: "grass", 4: "grass", 5: "grass",
                   6: "bare_soil", 7: "water"}
#: Wall albedo and emissivity (SOLWEIG's defaults for walls).
WALL_ALBEDO = 0.20
WALL_EMISSIVITY = 0.90
_SIGMA = 5.670374419e-8
_WALL_LAYERS = Layers([[0.25]], [[0.84]], [[1.36e6]])
_H_INDOOR_W_M2K = 7.7
_T_INDOOR_C = 20.0


def land_cover_names(codes: np.ndarray, source: str = "landcover") -> np.ndarray:
    """Class names of UMEP land-cover codes, ``(n,)`` object; building (2) cells must be
    removed by the caller. Unknown codes raise :class:`InputError` naming them."""
    c = np.asarray(codes)
    uniq = np.unique(c)
    bad = [int(u) for u in uniq if int(u) not in UMEP_LAND_COVER]
    if bad:
        raise InputError(
            f"{source}: land-cover code(s) {bad} on ground cells are not UMEP classes "
            f"{sorted(UMEP_LAND_COVER)} (2 = building): reclassify the raster"
        )
    names = np.empty(c.shape, dtype=object)
    for u in uniq:
        names[c == u] = UMEP_LAND_COVER[int(u)]
    return names


def sky_longwave_w_m2(t_air_c, rh_percent, ghi_w_m2, zenith_deg) -> tuple[np.ndarray, np.ndarray]:
    """Downwelling sky long-wave from air temperature, humidity and cloudiness.

    Parameters
    ----------
    t_air_c, rh_percent, ghi_w_m2, zenith_deg : (h,) float64
        Air temperature [degC], relative humidity [%], global horizontal irradiance [W/m2]
        and sun zenith [deg] per step.

    Returns
    -------
    ldown_w_m2 : (h,) float64
        ``eps sigma T_air^4`` [W/m2].
    cloud_fraction : (h,) float64
        ``c`` of Crawford & Duchon (0 clear .. 1 overcast).
    """
    t_k = np.asarray(t_air_c, dtype=np.float64) + 273.15
    e_hpa = np.asarray(rh_percent, dtype=np.float64) / 100.0 * saturation_vapour_pressure_pa(
        t_k - 273.15) / 100.0
    w = 46.5 * e_hpa / t_k
    eps_clear = 1.0 - (1.0 + w) * np.exp(-np.sqrt(1.2 + 3.0 * w))
    cosz = np.cos(np.radians(np.asarray(zenith_deg, dtype=np.float64)))
    day = cosz > np.sin(np.radians(10.0))
    ghi_clear = 1098.0 * np.where(day, cosz, 1.0) * np.exp(-0.057 / np.where(day, cosz, 1.0))
    s = np.clip(np.asarray(ghi_w_m2, dtype=np.float64) / ghi_clear, 0.0, 1.0)
    c = np.where(day, 1.0 - s, np.nan)
    if np.all(np.isnan(c)):
        c[:] = 0.0
    else:  # nearest daytime value
        idx = np.flatnonzero(~np.isnan(c))
        pos = np.clip(np.searchsorted(idx, np.arange(c.size)), 0, idx.size - 1)
        prev = np.clip(pos - 1, 0, idx.size - 1)
        near = np.where(np.abs(idx[pos] - np.arange(c.size)) <= np.abs(idx[prev] -
                        np.arange(c.size)), idx[pos], idx[prev])
        c = c[near]
    eps = c + (1.0 - c) * eps_clear
    return eps * _SIGMA * t_k**4, c


#: Martin & Berdahl (1984) angular coefficient ``b`` of the clear-sky emissivity [-].
MARTIN_BERDAHL_B = 0.308
SKY_ANGULAR_MODELS = ("martin-berdahl", "grey-slab")


def sky_band_factors(ldown_w_m2, t_air_c, band_cos_zenith, open_band_weight_up,
                     model: str = "martin-berdahl") -> np.ndarray:
    """Relative long-wave sky radiance per zenith band, ``(h, b)``, weighted mean 1.

    ``model="martin-berdahl"`` (default): the directional sky emissivity measured by Martin &
    Berdahl (1984, Solar Energy 33:321, 1 year of hourly data at six US sites)
    ``eps(z) = 1 - (1 - eps_h) exp(b (1.7 - 1 / cos z))``, ``b = 0.308``, whose cosine-weighted
    hemispheric mean is ``eps_h`` (to 1e-4) and whose zenith value is within 0.025 of the
    logarithmic law of Unsworth & Monteith (1975, QJRMS 101:13) ``eps(z) = a + 0.094 ln(u sec
    z)`` (zenith ``eps_h - 0.094 ln 1.66``). The SOLWEIG anisotropic sky (Lindberg et al. 2016) uses it too.
    ``model="grey-slab"``: an isothermal grey plane-parallel atmosphere, ``1 - (1 -
    eps_z)^(1 / cos z)``; it exaggerates the angular dependence (zenith 0.66 instead of 0.75
    for ``eps_h = 0.80``) because the strong water-vapour and CO2 bands of the real, non-grey
    atmosphere are opaque in every direction; kept for comparison.

    Parameters
    ----------
    ldown_w_m2, t_air_c : (h,) float64
        Hemispheric downwelling long-wave [W/m2] and air temperature [degC].
    band_cos_zenith : (b,) float64
        Mean cos(zenith) of each band.
    open_band_weight_up : (b,) float64
        Weight of each band for an unobstructed horizontal plane (sums to 1).
    model : {"martin-berdahl", "grey-slab"}
        Angular law of the sky emissivity.

    Returns
    -------
    (h, b) float64
        ``g`` with ``sum_b open_band_weight_up[b] g[:, b] = 1``: band radiance over the
        hemispheric mean; multiply ``ldown_w_m2`` by ``sum_b sky_band[b] g[b]``.
    """
    if model not in SKY_ANGULAR_MODELS:
        raise InputError(f"sky angular model {model!r} is unknown: use one of {SKY_ANGULAR_MODELS}")
    t_k = np.asarray(t_air_c, dtype=np.float64) + 273.15
    eps_h = np.clip(np.asarray(ldown_w_m2, dtype=np.float64) / (_SIGMA * t_k**4), 0.3, 0.999)
    mu = np.asarray(band_cos_zenith, dtype=np.float64)[None, :]
    w = np.asarray(open_band_weight_up, dtype=np.float64)[None, :]
    if model == "martin-berdahl":
        eps = 1.0 - (1.0 - eps_h[:, None]) * np.exp(MARTIN_BERDAHL_B * (1.7 - 1.0 / mu))
        eps = np.clip(eps, 0.0, 1.0)
        return eps / (eps * w).sum(axis=1, keepdims=True)
    lo = np.zeros_like(eps_h)[:, None]
    hi = np.full_like(lo, 0.999999)
    for _ in range(60):  # bisection on the zenith emissivity
        mid = 0.5 * (lo + hi)
        too_high = ((1.0 - (1.0 - mid) ** (1.0 / mu)) * w).sum(axis=1, keepdims=True) > \
            eps_h[:, None]
        hi = np.where(too_high, mid, hi)
        lo = np.where(too_high, lo, mid)
    eps = 1.0 - (1.0 - 0.5 * (lo + hi)) ** (1.0 / mu)
    return eps / (eps * w).sum(axis=1, keepdims=True)


def wall_temperatures_c(
    t_air_c, wind_speed_m_s, rh_percent, ldown_w_m2, dni_w_m2, dhi_w_m2, ghi_w_m2,
    sun_vectors: np.ndarray, *, spinup_days: int = 1, steps_per_day: int = 24,
    ground_albedo: float = 0.15,
) -> np.ndarray:
    """Hourly surface temperatures of walls: sunlit facing N, E, S, W, and shaded.

    Parameters
    ----------
    t_air_c, wind_speed_m_s, rh_percent, ldown_w_m2 : (h,) float64
        Forcing [degC, m/s, %, W/m2].
    dni_w_m2, dhi_w_m2, ghi_w_m2 : (h,) float64
        Irradiance [W/m2].
    sun_vectors : (h, 3) float64
        Unit vectors towards the sun (east, north, up).
    spinup_days, steps_per_day : int
        Spin-up of :func:`surface_energy_balance`.
    ground_albedo : float
        Albedo of the ground seen by the lower half of the wall.

    Returns
    -------
    (5, h) float64
        Wall surface temperature [degC]: rows N, E, S, W facing (sunlit), then shaded.
    """
    normals = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [-1.0, 0.0, 0.0]])
    s = np.asarray(sun_vectors, dtype=np.float64)
    up = s[:, 2] > 0
    cos_i = np.where(up[:, None], np.clip(s @ normals.T, 0.0, None), 0.0)  # (h, 4)
    dni = np.nan_to_num(np.asarray(dni_w_m2, dtype=np.float64))
    diffuse = 0.5 * np.nan_to_num(dhi_w_m2) + 0.5 * ground_albedo * np.nan_to_num(ghi_w_m2)
    k_in = np.column_stack([dni[:, None] * cos_i + diffuse[:, None], diffuse])  # (h, 5)
    nodes = discretise(Layers(np.repeat(_WALL_LAYERS.thickness_m, 5, 0),
                              np.repeat(_WALL_LAYERS.conductivity_w_mk, 5, 0),
                              np.repeat(_WALL_LAYERS.heat_capacity_j_m3k, 5, 0)),
                       max_node_m=0.02)
    if k_in.shape[0] == 0:
        raise InputError("wall temperatures need at least one forcing step")
    res = surface_energy_balance(
        nodes, (1.0 - WALL_ALBEDO) * k_in, np.asarray(t_air_c, float)[:, None],
        np.asarray(wind_speed_m_s, float)[:, None], np.asarray(ldown_w_m2, float)[:, None],
        emissivity=WALL_EMISSIVITY, sky_view=0.5, rh_percent=np.asarray(rh_percent,
                                                                          float)[:, None],
        t_inner_c=_T_INDOOR_C, h_inner_w_m2k=_H_INDOOR_W_M2K, spinup_days=spinup_days,
        steps_per_day=steps_per_day)
    return res.t_surface_c.T
