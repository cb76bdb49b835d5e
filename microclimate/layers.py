"""Default layer stacks and surface properties per land-cover class and for buildings.

Ground stacks are 2 m deep, their inner face held at a deep-ground temperature (the annual
mean air temperature is the usual choice). Values are representative points inside the
ranges of the sources cited per row:

- [O87-T2.1] Oke (1987) *Boundary Layer Climates*, 2nd ed., Table 2.1: thermal properties
  of natural materials (soils dry/saturated, water).
- [O87-A2] Oke (1987), Appendix A2, Table A2.1: properties of urban materials (asphalt,
  dense concrete).
- [O87-T1.1] Oke (1987), Table 1.1: albedo and emissivity of natural and urban surfaces.
- [O17] Oke, Mills, Christen & Voogt (2017) *Urban Climates*, ch. 5 and 6 (the same ranges
  for urban materials and the bulk "beta" evaporation treatment of wet/vegetated surfaces).

``evap_beta`` is the moisture availability of :mod:`microclimate.surface_balance`
(0 sealed and dry, 1 open water); the grass value is a mid value for irrigated or
recently wetted grass in summer (Oke 1987 ch. 4 gives beta from ~0.1 for drying soil to 1).
"Water" is a crude approximation: still water conducts (k 0.57 W/mK) far less than mixed
water transports, so a shallow pond's day-to-night swing is overestimated; treat it as a bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from citymodel.errors import InputError
from energy.demand.archetypes import layers_from_u_kappa
from microclimate.conduction import Layers

__all__ = ["LAND_COVER", "SurfaceProperties", "land_cover_layers", "building_layers",
           "R_FILMS_WALL_M2K_W"]

#: Inside + outside surface resistances of a wall, ISO 6946: 0.13 + 0.04 [m2K/W].
R_FILMS_WALL_M2K_W = 0.17

# (thickness m, conductivity W/mK, volumetric heat capacity J/m3K), outside first
_ASPHALT = (0.75, 1.94e6)        # [O87-A2] asphalt: k 0.75, C 1.94 MJ/m3K
_CONCRETE = (1.51, 2.11e6)       # [O87-A2] dense concrete: k 1.51, C 2.11 MJ/m3K
_GRAVEL_BASE = (1.0, 1.6e6)      # compacted gravel base: between dry sand and rock [O87-T2.1]
_SOIL_MOIST = (1.0, 2.2e6)       # sandy/clay soil between dry (k 0.25-0.30, C 1.28-1.42)
#                                  and saturated (k 1.58-2.20, C 2.96-3.10) [O87-T2.1]
_WATER = (0.57, 4.18e6)          # [O87-T2.1] still water at 4 degC

#: Land-cover class -> albedo, emissivity, evap_beta, layers [(d_m, k_w_mk, c_j_m3k), ...].
LAND_COVER: dict[str, dict] = {
    # asphalt albedo 0.05-0.20, emissivity 0.95 [O87-T1.1]; 5 cm wearing course on 25 cm base
    "asphalt": dict(albedo=0.10, emissivity=0.95, evap_beta=0.0,
                    layers=[(0.05, *_ASPHALT), (0.25, *_GRAVEL_BASE), (1.70, *_SOIL_MOIST)]),
    # concrete albedo 0.10-0.35, emissivity 0.71-0.90 [O87-T1.1]; 10 cm slab on 20 cm base
    "concrete": dict(albedo=0.25, emissivity=0.90, evap_beta=0.0,
                     layers=[(0.10, *_CONCRETE), (0.20, *_GRAVEL_BASE), (1.70, *_SOIL_MOIST)]),
    # soil albedo 0.05-0.40 (dark wet to light dry), emissivity 0.90-0.98 [O87-T1.1]
    "bare_soil": dict(albedo=0.20, emissivity=0.95, evap_beta=0.1,
                      layers=[(2.0, *_SOIL_MOIST)]),
    # grass albedo 0.16-0.26, emissivity 0.90-0.95 [O87-T1.1]
    "grass": dict(albedo=0.23, emissivity=0.95, evap_beta=0.5,
                  layers=[(2.0, *_SOIL_MOIST)]),
    # water albedo 0.03-0.10 at high sun, emissivity 0.92-0.97 [O87-T1.1]; 1 m on soil
    "water": dict(albedo=0.08, emissivity=0.97, evap_beta=1.0,
                  layers=[(1.0, *_WATER), (1.0, *_SOIL_MOIST)]),
}
# light paving (issue 13's light-paving scenario): concrete with a light finish, albedo 0.40
# (light concrete 0.35-0.45 new, [O87-T1.1] 0.10-0.35 weathered)
LAND_COVER["light_paving"] = dict(LAND_COVER["concrete"], albedo=0.40)


@dataclass(frozen=True)
class SurfaceProperties:
    """Radiative and moisture properties per surface, each (n,) float64 (0..1)."""

    albedo: np.ndarray
    emissivity: np.ndarray
    evap_beta: np.ndarray


def _pad(stack: list[tuple], ref: list[tuple]) -> list[tuple]:
    """Split the deepest layer until ``stack`` has as many layers as ``ref``.

    The piece cut off at layer ``j`` is as thick as ``ref``'s layer ``j`` (at most half the
    layer), so a soil column takes the interface depths of a paved one and the shared cell
    counts of :func:`microclimate.conduction.discretise` stay small.
    """
    stack = list(stack)
    while len(stack) < len(ref):
        j = len(stack) - 1
        d, k, c = stack[j]
        first = min(ref[j][0], d / 2)
        stack[j:] = [(first, k, c), (d - first, k, c)]
    return stack


def land_cover_layers(classes: Sequence[str]) -> tuple[Layers, SurfaceProperties]:
    """Layer stacks and surface properties of ground surfaces by land-cover class.

    Parameters
    ----------
    classes : sequence of str, length n
        Keys of :data:`LAND_COVER`.

    Returns
    -------
    Layers
        (n, n_layers) stacks, 2 m deep, outside first (shorter stacks padded by splitting
        their deepest layer at the interface depths of the longest stack).
    SurfaceProperties
        (n,) albedo, emissivity, evap_beta.
    """
    unknown = sorted(set(classes) - set(LAND_COVER))
    if unknown:
        raise InputError(f"unknown land-cover class(es) {unknown}; use one of "
                         f"{sorted(LAND_COVER)}")
    if len(classes) == 0:
        raise InputError("land_cover_layers needs at least one class")
    ref = max((LAND_COVER[c]["layers"] for c in classes), key=len)
    arr = np.array([_pad(LAND_COVER[c]["layers"], ref) for c in classes])
    props = SurfaceProperties(*(np.array([LAND_COVER[c][key] for c in classes], dtype=float)
                                for key in ("albedo", "emissivity", "evap_beta")))
    return Layers(arr[:, :, 0], arr[:, :, 1], arr[:, :, 2]), props


def building_layers(u_w_m2k, kappa_kj_m2k, r_films_m2k_w: float = R_FILMS_WALL_M2K_W) -> Layers:
    """Roof or wall slabs of the energy model's archetypes (same two-layer construction).

    Uses :func:`energy.demand.archetypes.layers_from_u_kappa`: an insulating outer layer and a
    masonry inner layer of areal heat capacity ``kappa``, so the surface temperature model and
    the building energy model see one construction.

    Parameters
    ----------
    u_w_m2k, kappa_kj_m2k : float or (n,) float64
        U-value including films [W/m2K] and internal areal heat capacity [kJ/m2K]
        (archetype columns ``u_roof_w_m2k`` / ``kappa_roof_kj_m2k`` or the wall ones).
    r_films_m2k_w : float
        Inside + outside film resistance removed from ``1 / U`` [m2K/W].

    Returns
    -------
    Layers
        (n, 2) slabs, outside first.
    """
    u = np.atleast_1d(np.asarray(u_w_m2k, dtype=np.float64))
    kappa = np.broadcast_to(np.asarray(kappa_kj_m2k, dtype=np.float64), u.shape)
    tab = layers_from_u_kappa(u, kappa, r_films_m2k_w)  # (n, 2, [d, k, rho, cp])
    return Layers(tab[:, :, 0], tab[:, :, 1], tab[:, :, 2] * tab[:, :, 3])
