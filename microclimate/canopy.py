"""Urban canopy air temperature per neighbourhood: a heat island in the family of UWG.

The Urban Weather Generator (Bueno et al. 2013, *J. Building Performance Simulation* 6:269)
turns a rural station's air temperature into an urban canyon air temperature through three
steps: a rural surface energy balance, a vertical profile up to a blending height, and an
energy balance of the urban canopy air fed by the surfaces' sensible heat and anthropogenic
heat. This module keeps that structure with the surfaces of our own solvers, so the canopy air
sees the albedo, emissivity, layers and evaporation of every roof, wall and piece of ground:

1. **Rural station.** A grass surface (:data:`microclimate.layers.LAND_COVER` ``grass``, sky
   view 1) runs :func:`microclimate.surface_balance.surface_energy_balance` on the weather; its
   sensible heat ``H_r = -q_conv`` [W/m2] (positive upwards).
2. **Blending height.** The air at ``z_b`` (default 50 m) above the station, from the surface
   layer's bulk resistance ``r = [ln(z_b / z_2) - psi(z_b / L) + psi(z_2 / L)] / (kappa u*)``
   [s/m]::

       T_b = T_rural - H_r r_r / (rho c_p)

   ``u* = kappa u_ref / ln(z_ref / z0)`` with the weather's wind at ``z_ref`` = 10 m and a
   rural roughness ``z0 = 0.1`` m (UWG's default), not corrected for stability; ``psi`` the
   integrated stability function of heat (Monin-Obukhov length ``L`` from the flux): stable
   ``-5 z / L`` with ``z / L`` capped at :data:`ZETA_MAX`, unstable Paulson's (1970) form
   (:func:`_profile_term`). At night ``H_r < 0``: the
   blending-height air is warmer than the 2 m air (the rural inversion), the main source of the
   night heat island in UWG as here.
3. **Canopy air.** Per neighbourhood, the canyon's sources per m2 of site ``Q_c`` (walls'
   sensible heat from :meth:`microclimate.surfaces.SurfaceTemperatures.sensible_heat_w`,
   street ground paved and vegetated from their own balance in the canyon, tree crowns,
   anthropogenic waste heat, traffic) and the roofs' ``Q_r`` leave through two resistances in
   series, the canyon top ``r_can`` and the urban surface layer above the roofs ``r_u``::

       T_canopy = T_b + (Q_c + Q_r) r_u / (rho c_p) + Q_c r_can / (rho c_p)

   ``r_u`` the same integral from ``max(z_2, H)`` to ``z_b`` with ``z0_u = max(z0, 0.1 H)`` and
   ``r_can = (H/W) / (1 + H/W) / w_top``, ``w_top = 0.1 u_top + 0.02`` m/s (canyon-top
   exchange of a skimming flow, Harman et al. 2004; ``u_top`` the log-profile wind at roof
   height, floor of 0.02 m/s for traffic and thermal turbulence). The canopy air stores no
   heat (its time constant, ``rho c_p H / conductance``, is minutes).

Street ground: per neighbourhood a paved and a vegetated surface (asphalt / grass layers of
:data:`~microclimate.layers.LAND_COVER`, the paved albedo given) with the canyon's sky view
``sqrt(1 + (H/W)^2) - H/W`` (infinite canyon), direct sun reduced to the street-orientation
mean sunlit fraction ``1 - (2/pi)(H/W) tan(zenith)`` and the tree crowns' shade (transmissivity
:data:`TREE_TRANSMISSIVITY`) over the tree-covered share; wind ``u_ref exp(-0.5 H/W)``. Tree
crowns absorb ``(1 - 0.18)`` of the shortwave they intercept and turn :data:`TREE_LATENT_SHARE`
of it into transpiration, the rest into sensible heat.

Limitations, stated: one-way coupling (the surfaces run with the rural air temperature, so a
warmer canopy does not reduce their release); no advection between neighbourhoods and no
mixed-layer growth (UWG's boundary-layer box adds some tenths of a kelvin over a city, not
over one 200 m block); the urban stability uses the neighbourhood's own total flux; reflected
shortwave from the street to the walls is not returned to them; crowns' long-wave balance is
left out (their sensible heat is a share of the shortwave they absorb). With no buildings and a
vegetated ground the canopy air equals the rural air (same surface, same resistance).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from citymodel.errors import InputError
from energy.sun import weather_sun_positions
from microclimate.conduction import discretise
from microclimate.layers import land_cover_layers
from microclimate.surface_balance import surface_energy_balance
from microclimate.surface_inputs import sky_longwave_w_m2

__all__ = ["Neighbourhoods", "CanopyResult", "canopy_air_temperature", "waste_heat_w",
           "RHO_CP_J_M3K", "ZETA_MAX", "TREE_TRANSMISSIVITY", "TREE_LATENT_SHARE"]

log = logging.getLogger(__name__)

#: Volumetric heat capacity of air, 1.2 kg/m3 x 1005 J/kgK [J/m3K].
RHO_CP_J_M3K = 1.2 * 1005.0
KARMAN = 0.4
G_M_S2 = 9.81
#: Height of the station's air temperature [m] and of its wind [m].
Z_AIR_M, Z_WIND_M = 2.0, 10.0
#: Rural roughness length [m] (UWG's default rural z0).
Z0_RURAL_M = 0.1
#: Largest stability parameter z/L of the stable log-linear profile.
ZETA_MAX = 1.0
#: Smallest unstable profile term, as a share of the neutral one (free-convection floor).
FREE_CONVECTION = 0.2
#: Lowest wind speed used in the resistances [m/s].
WIND_MIN_M_S = 0.5
#: Canyon-top exchange ``w_top = a u_top + b`` [-], [m/s].
W_TOP_A, W_TOP_B_M_S = 0.1, 0.02
#: Shortwave transmissivity of a tree crown (Konarska et al. 2014: 0.02-0.1 in leaf).
TREE_TRANSMISSIVITY = 0.05
#: Albedo of tree crowns (Oke 1987 Table 1.1, deciduous 0.15-0.20).
TREE_ALBEDO = 0.18
#: Share of a crown's absorbed shortwave that transpires (Bowen ratio ~0.4 of a watered tree).
TREE_LATENT_SHARE = 0.7
#: Coefficient of performance of cooling plant and efficiency of heating plant.
COOLING_COP, HEATING_EFFICIENCY = 3.0, 0.9


@dataclass
class Neighbourhoods:
    """Geometry, materials and vegetation of ``z`` neighbourhoods (zones or grid blocks).

    Attributes
    ----------
    zone_id : (z,) object
    site_area_m2 : (z,) float64
        Plan area of the neighbourhood [m2].
    building_fraction : (z,) float64
        Roofed plan area / site area (0..1).
    height_m : (z,) float64
        Roof-area-weighted mean building height [m].
    wall_area_m2 : (z,) float64
        Walls open to the sky [m2] (vertical-to-horizontal ratio = wall / site area).
    veg_fraction : (z,) float64
        Vegetated share of the open ground (0..1).
    tree_fraction : (z,) float64
        Share of the open ground under tree crowns (0..1).
    paved_albedo : (z,) float64
        Albedo of the paved ground (0..1).
    veg_beta : (z,) float64
        Moisture availability of the vegetated ground (0..1).
    """

    zone_id: np.ndarray
    site_area_m2: np.ndarray
    building_fraction: np.ndarray
    height_m: np.ndarray
    wall_area_m2: np.ndarray
    veg_fraction: np.ndarray
    tree_fraction: np.ndarray
    paved_albedo: np.ndarray
    veg_beta: np.ndarray
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.zone_id = np.asarray(self.zone_id, dtype=object)
        z = self.zone_id.size
        for name in ("site_area_m2", "building_fraction", "height_m", "wall_area_m2",
                     "veg_fraction", "tree_fraction", "paved_albedo", "veg_beta"):
            a = np.broadcast_to(np.asarray(getattr(self, name), dtype=np.float64), (z,)).copy()
            if not np.all(np.isfinite(a)) or np.any(a < 0):
                raise InputError(f"neighbourhoods: {name} must be finite and >= 0, got {a}")
            setattr(self, name, a)
        if np.any(self.site_area_m2 <= 0):
            raise InputError("neighbourhoods: site_area_m2 must be > 0")
        for name in ("building_fraction", "veg_fraction", "tree_fraction", "paved_albedo",
                     "veg_beta"):
            if np.any(getattr(self, name) > 1):
                raise InputError(f"neighbourhoods: {name} must lie in 0..1")
        if np.any(self.building_fraction >= 0.98):
            raise InputError("neighbourhoods: building_fraction >= 0.98 leaves no street; "
                             "use larger zones (--zones) or a larger grid block")

    def __len__(self) -> int:
        return int(self.zone_id.size)

    @property
    def aspect_ratio(self) -> np.ndarray:
        """Canyon aspect ratio H/W ``(z,)`` from the wall and building fractions.

        Infinite-canyon identity ``vh = 2H / (W + B)``, ``lambda_p = B / (W + B)`` so
        ``H/W = vh / (2 (1 - lambda_p))``; capped at 5.
        """
        vh = self.wall_area_m2 / self.site_area_m2
        return np.minimum(vh / (2.0 * (1.0 - self.building_fraction)), 5.0)


@dataclass
class CanopyResult:
    """Hourly canopy air temperature of ``z`` neighbourhoods over ``n_times`` hours.

    Attributes
    ----------
    times : DatetimeIndex
    zone_id : (z,) object
    t_canopy_c : (z, n_times) float64
        Canopy (street-level) air temperature [degC].
    t_rural_c : (n_times,) float64
        The station's air temperature [degC].
    t_blend_c : (n_times,) float64
        Air temperature at the blending height [degC].
    q_canyon_w_m2, q_roof_w_m2 : (z, n_times) float64
        Sensible heat into the canyon air and from the roofs, per m2 of site [W/m2].
    q_rural_w_m2 : (n_times,) float64
        Rural sensible heat flux (upwards) [W/m2].
    attrs : dict
    """

    times: pd.DatetimeIndex
    zone_id: np.ndarray
    t_canopy_c: np.ndarray
    t_rural_c: np.ndarray
    t_blend_c: np.ndarray
    q_canyon_w_m2: np.ndarray
    q_roof_w_m2: np.ndarray
    q_rural_w_m2: np.ndarray
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def uhi_k(self) -> np.ndarray:
        """(z, n_times): canopy minus rural air temperature [K]."""
        return self.t_canopy_c - self.t_rural_c[None, :]

    def to_frame(self) -> pd.DataFrame:
        """Long table ``zone_id, time, t_canopy_c, t_rural_c, uhi_k`` (issue 13's canopy.csv)."""
        z, nt = self.t_canopy_c.shape
        return pd.DataFrame({
            "zone_id": np.repeat(self.zone_id, nt),
            "time": np.tile(self.times.to_numpy(), z),
            "t_canopy_c": self.t_canopy_c.ravel(),
            "t_rural_c": np.tile(self.t_rural_c, z),
            "uhi_k": self.uhi_k.ravel(),
        })


def waste_heat_w(heating_w, cooling_w, *, cop: float = COOLING_COP,
                 heating_efficiency: float = HEATING_EFFICIENCY) -> np.ndarray:
    """Anthropogenic heat released outdoors by the buildings' plant [W].

    Cooling rejects the heat removed plus the compressor work, ``Q_c (1 + 1 / COP)``; heating
    loses ``Q_h (1 / eta - 1)`` up the flue (the heat delivered indoors reaches the air through
    the envelope, already in the surfaces' balance).

    Parameters
    ----------
    heating_w, cooling_w : array_like
        Heating and cooling delivered [W] (the energy model's hourly series), same shape.

    Examples
    --------
    >>> float(waste_heat_w(0.0, 3000.0))
    4000.0
    """
    h = np.maximum(np.asarray(heating_w, dtype=np.float64), 0.0)
    c = np.maximum(np.asarray(cooling_w, dtype=np.float64), 0.0)
    if cop <= 0 or not 0 < heating_efficiency <= 1:
        raise InputError("waste_heat_w: cop must be > 0 and heating_efficiency in (0, 1]")
    return c * (1.0 + 1.0 / cop) + h * (1.0 / heating_efficiency - 1.0)


def _profile_term(h_w_m2, ustar, t_k, z_top_m, z_bottom_m):
    """Stability-corrected ``ln(z_t / z_b) - psi(z_t / L) + psi(z_b / L)`` of heat.

    Stable: ``psi = -5 zeta`` with ``zeta`` capped at :data:`ZETA_MAX` (the log-linear profile
    holds up to about ``zeta = 1``; beyond, turbulence collapses and the layer decouples).
    Unstable: Paulson's (1970) integral of Businger-Dyer, ``psi = 2 ln((1 + x^2) / 2)``,
    ``x = (1 - 16 zeta)^(1/4)``, floored at :data:`FREE_CONVECTION` of the neutral term
    (the integral tends to 0 in free convection, where plumes, not the mean wind, carry the
    heat). ``L`` from the flux ``h_w_m2`` (upwards) and ``ustar``.
    """
    theta_star = -np.asarray(h_w_m2) / (RHO_CP_J_M3K * ustar)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_l = KARMAN * G_M_S2 * theta_star / (t_k * ustar ** 2)
    inv_l = np.where(np.isfinite(inv_l), inv_l, 0.0)

    def psi(z):
        zeta = z * inv_l
        x = (1.0 - 16.0 * np.minimum(zeta, 0.0)) ** 0.25
        return np.where(zeta > 0, -5.0 * np.minimum(zeta, ZETA_MAX),
                        2.0 * np.log((1.0 + x * x) / 2.0))

    neutral = np.log(z_top_m / z_bottom_m)
    return np.maximum(neutral - psi(z_top_m) + psi(z_bottom_m), FREE_CONVECTION * neutral)


def _period_series(name: str, value, z: int, nt: int) -> np.ndarray:
    if value is None:
        return np.zeros((z, nt))
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 1 and a.shape[0] == nt:
        a = a[None, :]
    try:
        a = np.broadcast_to(a, (z, nt))
    except ValueError:
        raise InputError(f"canopy: {name} must be (zones, hours) = ({z}, {nt}), got "
                         f"{np.shape(value)}") from None
    if not np.all(np.isfinite(a)):
        raise InputError(f"canopy: {name} has NaN or infinite values")
    return a


def canopy_air_temperature(
    nbhd: Neighbourhoods,
    weather: pd.DataFrame,
    meta: dict[str, Any],
    *,
    n_spin: int = 0,
    q_walls_w: Any = None,
    q_roofs_w: Any = None,
    q_anthro_w: Any = None,
    traffic_w_m2: float = 5.0,
    blending_height_m: float = 50.0,
    substeps: int = 2,
) -> CanopyResult:
    """Hourly canopy air temperature of each neighbourhood from the rural weather.

    Parameters
    ----------
    nbhd : Neighbourhoods
        ``z`` neighbourhoods.
    weather : DataFrame
        Hourly rows in run order (``n_spin`` spin-up rows, then the ``n_times`` reported
        rows) in :mod:`energy.weather`'s glossary columns (``ghi_w_m2``, ``dhi_w_m2``,
        ``t_air_c``, ``wind_speed_m_s``, ``pressure_pa``; ``rh_percent``,
        ``ir_horizontal_w_m2`` when present).
    meta : dict
        Weather metadata (``latitude``, ``longitude``) for the sun position.
    n_spin : int
        Spin-up rows at the start of ``weather`` (they warm up the ground).
    q_walls_w, q_roofs_w : (z, n_times) float64, optional
        Sensible heat from the walls and roofs of each neighbourhood's buildings to the air
        [W] (:meth:`~microclimate.surfaces.SurfaceTemperatures.sensible_heat_w` summed per
        zone). Default 0 (no buildings' surfaces computed).
    q_anthro_w : (z, n_times) float64, optional
        Anthropogenic heat into the canyon [W] (:func:`waste_heat_w` of the energy model).
    traffic_w_m2 : float
        Traffic heat per m2 of paved street [W/m2] (UWG's default is 8 W/m2 of site at the
        day's peak; 5 W/m2 of street as a day-long mean).
    blending_height_m : float
        Height where urban and rural air meet [m].
    substeps : int
        Implicit steps per hour of the ground balance.

    Returns
    -------
    CanopyResult
    """
    z = len(nbhd)
    if not isinstance(weather, pd.DataFrame) or len(weather) <= n_spin:
        raise InputError(f"canopy: weather must be a DataFrame with more than n_spin={n_spin} "
                         "rows")
    for c in ("ghi_w_m2", "dhi_w_m2", "t_air_c", "wind_speed_m_s"):
        if c not in weather:
            raise InputError(f"canopy: the weather lacks column {c!r}; read it with "
                             "energy.weather.load_weather")
    nh = len(weather)
    nt = nh - n_spin
    q_walls = _period_series("q_walls_w", q_walls_w, z, nt)
    q_roofs = _period_series("q_roofs_w", q_roofs_w, z, nt)
    q_anth = _period_series("q_anthro_w", q_anthro_w, z, nt)
    if blending_height_m <= max(Z_WIND_M, float(nbhd.height_m.max(initial=0.0)) + 1.0):
        raise InputError(f"canopy: blending_height_m={blending_height_m} must exceed the "
                         "tallest mean building height and 10 m")

    t_air = weather["t_air_c"].to_numpy(float)
    u_ref = np.maximum(weather["wind_speed_m_s"].to_numpy(float), WIND_MIN_M_S)
    ghi = np.maximum(weather["ghi_w_m2"].to_numpy(float), 0.0)
    dhi = np.minimum(np.maximum(weather["dhi_w_m2"].to_numpy(float), 0.0), ghi)
    rh = weather["rh_percent"].to_numpy(float) if "rh_percent" in weather else np.full(nh, 50.)
    rh = np.where(np.isfinite(rh), rh, 50.0)
    p = weather["pressure_pa"].to_numpy(float) if "pressure_pa" in weather else [101325.0]
    pressure = float(np.nanmean(p)) if np.any(np.isfinite(p)) else 101325.0
    ldown, _ = sky_longwave_w_m2(weather)
    zen = weather_sun_positions(weather, meta)["zenith_deg"].to_numpy(float)
    tan_z = np.tan(np.radians(np.clip(zen, 0.0, 89.0)))

    hw = nbhd.aspect_ratio
    svf_g = np.sqrt(1.0 + hw ** 2) - hw
    sunlit = np.clip(1.0 - (2.0 / np.pi) * hw[None, :] * tan_z[:, None], 0.0, 1.0)  # (nh, z)
    direct = (ghi - dhi)[:, None]
    k_street = direct * sunlit + dhi[:, None] * svf_g[None, :]          # (nh, z) open ground
    shade = 1.0 - nbhd.tree_fraction * (1.0 - TREE_TRANSMISSIVITY)
    k_ground = k_street * shade[None, :]
    u_g = u_ref[:, None] * np.exp(-0.5 * hw)[None, :]

    # surfaces: z paved, z vegetated, 1 rural grass
    layers, props = land_cover_layers(["asphalt"] * z + ["grass"] * z + ["grass"])
    nodes = discretise(layers, 0.02)
    alb = np.concatenate([nbhd.paved_albedo, np.full(z, props.albedo[-1]), props.albedo[-1:]])
    beta = np.concatenate([np.zeros(z), nbhd.veg_beta, props.evap_beta[-1:]])
    eps = props.emissivity
    k_all = np.concatenate([k_ground, k_ground, ghi[:, None]], axis=1) * (1.0 - alb)[None, :]
    u_all = np.concatenate([u_g, u_g, u_ref[:, None]], axis=1)
    svf_all = np.concatenate([svf_g, svf_g, [1.0]])
    res = surface_energy_balance(
        nodes, k_all, t_air, u_all, ldown, emissivity=eps, sky_view=svf_all, evap_beta=beta,
        rh_percent=rh, pressure_pa=pressure, substeps=int(substeps),
        spinup_days=0 if n_spin >= 24 else 3)
    h_up = -res.q_conv_w_m2[n_spin:]                                     # (nt, 2z+1) upwards
    h_paved, h_veg, h_rural = h_up[:, :z].T, h_up[:, z:2 * z].T, h_up[:, -1]

    pe = slice(n_spin, None)
    u, tk = u_ref[pe], t_air[pe] + 273.15
    ustar_r = KARMAN * u / np.log(Z_WIND_M / Z0_RURAL_M)
    r_r = _profile_term(h_rural, ustar_r, tk, blending_height_m, Z_AIR_M) / (KARMAN * ustar_r)
    t_blend = t_air[pe] - h_rural * r_r / RHO_CP_J_M3K

    lam = nbhd.building_fraction
    ground = (1.0 - lam)[:, None]
    veg = nbhd.veg_fraction[:, None]
    k_crowns = (k_street[pe].T * nbhd.tree_fraction[:, None] * (1.0 - TREE_TRANSMISSIVITY)
                * (1.0 - TREE_ALBEDO))
    h_trees = k_crowns * (1.0 - TREE_LATENT_SHARE)
    area = nbhd.site_area_m2[:, None]
    q_canyon = (ground * ((1.0 - veg) * (h_paved + traffic_w_m2) + veg * h_veg + h_trees)
                + (q_walls + q_anth) / area)
    q_roof = q_roofs / area

    h_b = nbhd.height_m[:, None]
    z0_u = np.minimum(np.maximum(Z0_RURAL_M, 0.1 * h_b), 0.5 * Z_WIND_M)
    ustar_u = KARMAN * u[None, :] / np.log(Z_WIND_M / z0_u)
    z_c = np.maximum(Z_AIR_M, h_b)
    r_u = _profile_term(q_canyon + q_roof, ustar_u, tk[None, :], blending_height_m,
                        z_c) / (KARMAN * ustar_u)
    u_top = u[None, :] * np.log(np.maximum(h_b, 2 * z0_u) / z0_u) / np.log(Z_WIND_M / Z0_RURAL_M)
    w_top = W_TOP_A * u_top + W_TOP_B_M_S
    r_can = (hw / (1.0 + hw))[:, None] / w_top
    t_can = t_blend[None, :] + ((q_canyon + q_roof) * r_u + q_canyon * r_can) / RHO_CP_J_M3K

    times = weather.index[n_spin:]
    attrs = {
        "model": "UWG-family canopy balance (rural grass balance, blending height, canyon "
                 "and roof sensible heat through two resistances), microclimate.canopy",
        "blending_height_m": float(blending_height_m),
        "traffic_w_m2": float(traffic_w_m2),
        "aspect_ratio": hw.tolist(),
        "coupling": "one-way: surfaces computed with the rural air temperature",
    }
    return CanopyResult(times=times, zone_id=nbhd.zone_id, t_canopy_c=t_can,
                        t_rural_c=t_air[pe].copy(), t_blend_c=t_blend, q_canyon_w_m2=q_canyon,
                        q_roof_w_m2=q_roof, q_rural_w_m2=h_rural, attrs=attrs)
