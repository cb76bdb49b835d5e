"""Neighbourhoods of a city model for the canopy air model: zones or grid blocks.

Per neighbourhood (a polygon of a zone layer, else a square grid block) the geometry, materials
and vegetation that :func:`microclimate.canopy.canopy_air_temperature` needs, derived from the
roofs and walls of :class:`microclimate.surfaces.SurfaceTemperatures` (one row per surface) and
the model's vegetation:

- building fraction: the roofs' plan area (``area x |cos tilt|``) / site area;
- mean height: per building ``2 (z_roof - z_wall)`` from the area-weighted centroid heights of
  its roofs and walls (exact for a flat box on flat ground), averaged weighted by plan area;
- wall area: walls open to the sky;
- vegetated ground: the plan area of ``PlantCover`` surfaces; tree cover: the crown discs of
  the ``SolitaryVegetationObject`` trees (:func:`citymodel.vegetation.tree_table`), each over
  the open ground (capped at 1).

A building belongs to the neighbourhood that holds the mean of its roof centroids.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import shapely

from citymodel.civic.zones import Zones, reproject_zones
from citymodel.errors import InputError
from citymodel.model import CityModel
from citymodel.surfaces import surface_table
from citymodel.vegetation import tree_table
from microclimate.canopy import Neighbourhoods
from microclimate.surfaces import SurfaceTemperatures

__all__ = ["neighbourhoods", "per_zone", "grid_blocks", "surface_heat_by_zone"]

log = logging.getLogger(__name__)

#: Moisture availability of vegetated ground (grass in summer, watered).
VEG_BETA = 0.5
#: Albedo of paved ground (asphalt, Oke 1987 Table 1.1: 0.05-0.20).
PAVED_ALBEDO = 0.10


def grid_blocks(bounds: np.ndarray, block_m: float) -> Zones:
    """Square blocks of ``block_m`` covering ``bounds`` (xmin, ymin, xmax, ymax), ids 0..z-1."""
    import pandas as pd

    if not block_m > 0:
        raise InputError(f"--grid-block must be > 0 m, got {block_m}")
    x0, y0, x1, y1 = (float(v) for v in bounds)
    nx = max(1, int(np.ceil((x1 - x0) / block_m - 1e-9)))
    ny = max(1, int(np.ceil((y1 - y0) / block_m - 1e-9)))
    gx, gy = np.meshgrid(np.arange(nx), np.arange(ny))
    xs, ys = x0 + gx.ravel() * block_m, y0 + gy.ravel() * block_m
    geoms = shapely.box(xs, ys, xs + block_m, ys + block_m)
    ids = [f"block_{j}_{i}" for i, j in zip(gx.ravel(), gy.ravel(), strict=True)]
    return Zones(geometry=geoms, attributes=pd.DataFrame({"zone_id": ids}))


def _zone_of(zones: Zones, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.full(x.size, -1, dtype=np.int64)
    for k, g in enumerate(zones.geometry):
        hit = (out < 0) & shapely.contains_xy(g, x, y)
        out[hit] = k
    return out


def neighbourhoods(
    model: CityModel,
    surfaces: SurfaceTemperatures,
    *,
    zones: Zones | None = None,
    block_m: float = 200.0,
    paved_albedo: float = PAVED_ALBEDO,
    veg_beta: float = VEG_BETA,
) -> tuple[Neighbourhoods, np.ndarray]:
    """Neighbourhood parameters and each building's neighbourhood.

    Parameters
    ----------
    model : CityModel
        The model ``surfaces`` was computed on (projected metric CRS).
    surfaces : SurfaceTemperatures
        Its roofs and walls.
    zones : Zones, optional
        Zone polygons (:func:`citymodel.civic.read_zones`); reprojected to the model's CRS
        when they declare another. Default: square blocks of ``block_m`` over the buildings.
    block_m : float
        Grid block size without zones [m].
    paved_albedo, veg_beta : float
        Albedo of paved ground and moisture availability of vegetated ground.

    Returns
    -------
    Neighbourhoods
        One per zone (zones holding no building are kept: their canopy is their ground's).
    building_zone : (n_buildings,) int64
        Index of each building of ``surfaces.inputs.building_ids`` into the neighbourhoods,
        -1 outside every zone.

    Raises
    ------
    InputError
        Zones that overlap no building, or zones in another CRS without one declared.
    """
    inp = surfaces.inputs
    nb = len(inp.building_ids)
    bi = inp.building_index
    roof = (surfaces.surface_type == "RoofSurface")
    wall = (surfaces.surface_type == "WallSurface") & ~surfaces.enclosed
    cen = inp.table.centroid[surfaces.table_row]
    plan = surfaces.area_m2 * np.abs(np.cos(np.radians(surfaces.tilt_deg)))

    def wmean(mask, v, w):
        s = np.bincount(bi[mask], weights=w[mask], minlength=nb)
        return np.bincount(bi[mask], weights=(v * w)[mask], minlength=nb) / np.where(s > 0, s, 1)

    roof_plan = np.bincount(bi[roof], weights=plan[roof], minlength=nb)
    x_b = wmean(roof, cen[:, 0], plan)
    y_b = wmean(roof, cen[:, 1], plan)
    z_roof = wmean(roof, cen[:, 2], surfaces.area_m2)
    z_wall = wmean(wall, cen[:, 2], surfaces.area_m2)
    has_wall = np.bincount(bi[wall], minlength=nb) > 0
    h_b = np.where(has_wall, np.maximum(2.0 * (z_roof - z_wall), 0.0), 0.0)
    wall_b = np.bincount(bi[wall], weights=surfaces.area_m2[wall], minlength=nb)

    if zones is None:
        xy = inp.table.vertices[np.unique(inp.table.triangles), :2]  # the buildings' extent
        b = np.array([xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()])
        zones = grid_blocks(b, block_m)
        how = f"grid blocks of {block_m:g} m"
    else:
        if zones.epsg is not None and model.epsg is not None and zones.epsg != model.epsg:
            log.info("zones %s: reprojected from EPSG:%s to the model's EPSG:%s",
                     zones.source, zones.epsg, model.epsg)
            zones = reproject_zones(zones, int(model.epsg))
        how = f"zones of {zones.source or 'the zone layer'}"
    bz = _zone_of(zones, x_b, y_b)
    bz[roof_plan <= 0] = -1
    z = len(zones)
    if nb and not (bz >= 0).any():
        zb = zones.bounds()
        raise InputError(f"{zones.source or 'zones'}: no building of the model lies in any zone "
                         f"(zones span {np.round(zb, 1).tolist()}, EPSG:{zones.epsg}); check "
                         "--zones and the model's CRS")
    ok = bz >= 0
    site = zones.area_m2
    lam_area = np.bincount(bz[ok], weights=roof_plan[ok], minlength=z)
    h_z = np.bincount(bz[ok], weights=(h_b * roof_plan)[ok], minlength=z) / np.where(
        lam_area > 0, lam_area, 1)
    wall_z = np.bincount(bz[ok], weights=wall_b[ok], minlength=z)
    lam = np.minimum(lam_area / site, 0.95)
    open_m2 = np.maximum(site * (1.0 - lam), 1e-9)

    veg_m2 = np.zeros(z)
    pc = surface_table(model, object_types=("PlantCover",))
    if pc.area_m2.size:
        pplan = pc.area_m2 * np.abs(np.cos(np.radians(pc.tilt_deg)))
        pz = _zone_of(zones, pc.centroid[:, 0], pc.centroid[:, 1])
        veg_m2 = np.bincount(pz[pz >= 0], weights=pplan[pz >= 0], minlength=z)
    tree_m2 = np.zeros(z)
    trees = tree_table(model)
    if len(trees):
        tz = _zone_of(zones, trees["x_m"].to_numpy(float), trees["y_m"].to_numpy(float))
        crown = np.pi / 4 * trees["crown_diameter_m"].to_numpy(float) ** 2
        tree_m2 = np.bincount(tz[tz >= 0], weights=crown[tz >= 0], minlength=z)
    nbhd = Neighbourhoods(
        zone_id=np.asarray(zones.ids, dtype=object), site_area_m2=site, building_fraction=lam,
        height_m=h_z, wall_area_m2=wall_z, veg_fraction=np.minimum(veg_m2 / open_m2, 1.0),
        tree_fraction=np.minimum(tree_m2 / open_m2, 1.0), paved_albedo=paved_albedo,
        veg_beta=veg_beta, attrs={"neighbourhoods": how,
                                  "buildings_outside": int((~ok).sum())})
    return nbhd, bz


def per_zone(values_by_building: Any, building_zone: np.ndarray, n_zones: int) -> np.ndarray:
    """Sum ``(n_buildings, n_times)`` rows into ``(n_zones, n_times)`` (buildings at -1 dropped)."""
    v = np.asarray(values_by_building, dtype=np.float64)
    out = np.zeros((n_zones, v.shape[1]))
    ok = building_zone >= 0
    np.add.at(out, building_zone[ok], v[ok])
    return out


def surface_heat_by_zone(surfaces: SurfaceTemperatures, building_zone: np.ndarray,
                         n_zones: int) -> tuple[np.ndarray, np.ndarray]:
    """Walls' and roofs' sensible heat to the air per neighbourhood, each ``(z, n_times)`` [W].

    ``-q_conv x area`` of each surface (as
    :meth:`~microclimate.surfaces.SurfaceTemperatures.sensible_heat_w`), enclosed party walls
    left out, summed by the building's neighbourhood.
    """
    q = -surfaces.q_conv_w_m2.astype(np.float64) * surfaces.area_m2[:, None]
    zs = building_zone[surfaces.inputs.building_index]
    out = []
    for kind in ("WallSurface", "RoofSurface"):
        m = (surfaces.surface_type == kind) & ~surfaces.enclosed & (zs >= 0)
        acc = np.zeros((n_zones, q.shape[1]))
        np.add.at(acc, zs[m], q[m])
        out.append(acc)
    return out[0], out[1]
