"""Rooftop PV potential from the solar solver's result.

Per roof surface, the usable area is the area of the sensors that

* receive at least ``min_irradiation_kwh_m2`` per year,
* sit on a roof tilted at most ``max_tilt_deg``, and not on a north-facing slope (azimuth
  within 67.5 deg of north) steeper than ``max_north_tilt_deg``,

on roof polygons of at least ``min_roof_area_m2`` (smaller polygons are dormer cheeks, chimneys
and other superstructures), times the share of the polygon left after a ``setback_m`` strip
along its edges (fire paths, gutters, ridges) is removed. On flat roofs (tilt < ``flat_tilt_deg``) modules are racked in rows,
so only ``flat_roof_coverage`` of the usable area carries modules. Installed power
``kWp = module area x module_efficiency x 1 kW/m2`` (STC), annual yield
``= module area x irradiation x module_efficiency x performance_ratio`` (x an annual cell
temperature factor from pvlib's Faiman model and the building's hourly roof irradiance when
``cell_temperature=True``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from citymodel._fileutil import atomic_path, check_output
from citymodel.errors import InputError
from citymodel.model import CityModel
from energy.solar.irradiate import SolarResult
from energy.weather import require_pvlib

__all__ = [
    "PVResult",
    "pv_potential",
    "write_pv_attributes",
    "write_roofs_gpkg",
    "setback_fraction",
    "roof_frame",
]


@dataclass
class PVResult:
    """PV potential per roof surface (aligned to ``result.table``) and per building.

    Attributes
    ----------
    surface_pv_area_m2, surface_pv_kwp, surface_pv_yield_kwh : (s,) float64
        Module area [m2], installed power [kWp] and annual yield [kWh/a] per surface (0 for
        walls and unusable roofs).
    sensor_usable : (n,) bool
        Sensors whose area counts.
    buildings : DataFrame
        One row per building: ``building_id``, ``roof_area_m2``, ``pv_area_m2``, ``pv_kwp``,
        ``pv_yield_kwh``, ``specific_yield_kwh_kwp``.
    params : dict
        The parameters used.
    """

    surface_pv_area_m2: np.ndarray
    surface_pv_kwp: np.ndarray
    surface_pv_yield_kwh: np.ndarray
    sensor_usable: np.ndarray
    buildings: pd.DataFrame
    params: dict[str, Any]


def setback_fraction(table: Any, rows: np.ndarray, setback_m: float) -> np.ndarray:
    """Share of each polygon's area left after an inward setback of ``setback_m`` ``(len(rows),)``.

    Each polygon is unfolded into its own plane (2D), its triangles merged, and the merged
    polygon eroded by ``setback_m`` (shapely ``buffer(-setback_m)``).
    """
    import shapely

    out = np.ones(len(rows))
    if setback_m <= 0:
        return out
    for k, r in enumerate(rows):  # one erosion per roof polygon
        n = table.normal[r]
        u = np.cross([0.0, 0.0, 1.0], n)
        if np.linalg.norm(u) < 1e-9:
            u = np.array([1.0, 0.0, 0.0])
        u = u / np.linalg.norm(u)
        v = np.cross(n, u)
        tri = table.vertices[table.triangles[table.tri_offsets[r] : table.tri_offsets[r + 1]]]
        if tri.shape[0] == 0:
            out[k] = 0.0
            continue
        c = tri.reshape(-1, 3).mean(axis=0)
        uv = np.stack([(tri - c) @ u, (tri - c) @ v], axis=-1)
        polys = shapely.polygons(np.concatenate([uv, uv[:, :1]], axis=1))
        merged = shapely.union_all(shapely.buffer(polys, 1e-6, join_style="mitre"))
        a = merged.area
        out[k] = merged.buffer(-setback_m, join_style="mitre").area / a if a > 0 else 0.0
    return out


def pv_potential(
    result: SolarResult,
    *,
    min_irradiation_kwh_m2: float = 800.0,
    setback_m: float = 0.5,
    max_tilt_deg: float = 60.0,
    max_north_tilt_deg: float = 15.0,
    min_roof_area_m2: float = 4.0,
    flat_tilt_deg: float = 10.0,
    flat_roof_coverage: float = 0.7,
    module_efficiency: float = 0.20,
    performance_ratio: float = 0.85,
    cell_temperature: bool = False,
    weather: pd.DataFrame | None = None,
) -> PVResult:
    """Usable roof area, installed kWp and annual yield per roof surface and building.

    Parameters
    ----------
    result : SolarResult
        From :func:`energy.solar.irradiate` (with ``building_hourly=True`` for
        ``cell_temperature``).
    min_irradiation_kwh_m2 : float
        Sensors below this annual irradiation are not used [kWh/m2/a].
    setback_m : float
        Width of the strip kept free along each roof polygon's edges [m].
    max_tilt_deg, max_north_tilt_deg : float
        Steepest usable roof, and steepest usable north-facing roof [deg].
    min_roof_area_m2 : float
        Roof polygons smaller than this are superstructures and not used [m2].
    flat_tilt_deg, flat_roof_coverage : float
        Roofs flatter than ``flat_tilt_deg`` carry modules on ``flat_roof_coverage`` of their
        usable area (row spacing).
    module_efficiency : float
        STC module efficiency (0..1): kWp per m2 of module.
    performance_ratio : float
        System losses (inverter, wiring, soiling, mismatch; 0..1).
    cell_temperature : bool
        Multiply by an annual temperature factor (pvlib Faiman model, -0.4 %/K) computed per
        building from its hourly roof irradiance and ``weather`` (t_air_c, wind_speed_m_s).
    weather : DataFrame, optional
        The weather of the result (needed for ``cell_temperature``).
    """
    for name, v, lo, hi in (
        ("module_efficiency", module_efficiency, 0.0, 1.0),
        ("performance_ratio", performance_ratio, 0.0, 1.0),
        ("flat_roof_coverage", flat_roof_coverage, 0.0, 1.0),
    ):
        if not (lo < v <= hi):
            raise InputError(f"{name} must be within ({lo}, {hi}], got {v}")
    if setback_m < 0 or min_roof_area_m2 < 0:
        raise InputError("setback_m and min_roof_area_m2 must be >= 0")
    t = result.table
    s = result.sensors
    roof = result.kind == 0
    tilt = t.tilt_deg
    az = t.azimuth_deg
    north = (az >= 292.5) | (az <= 67.5)
    surf_ok = (
        roof
        & (t.area_m2 >= min_roof_area_m2)
        & (tilt <= max_tilt_deg)
        & ~(north & (tilt > max_north_tilt_deg))
    )
    annual = result.sensor_annual_kwh_m2.astype(np.float64)
    usable = surf_ok[s.surface] & (annual >= min_irradiation_kwh_m2)
    keep = np.ones(len(t))
    ok_rows = np.flatnonzero(surf_ok)
    keep[ok_rows] = setback_fraction(t, ok_rows, setback_m)
    cover = (np.where(tilt < flat_tilt_deg, flat_roof_coverage, 1.0) * keep)[s.surface]
    mod_area = np.where(usable, s.area_m2 * cover, 0.0)
    factor = np.ones(len(t.root_ids))
    bfactor = None
    if cell_temperature:
        bfactor = _temperature_factor(result, weather)
    n_s = len(t)
    area_s = np.bincount(s.surface, weights=mod_area, minlength=n_s)
    energy_s = np.bincount(
        s.surface, weights=mod_area * annual, minlength=n_s
    )  # kWh of irradiation
    kwp_s = area_s * module_efficiency
    yield_s = energy_s * module_efficiency * performance_ratio
    if bfactor is not None:
        factor = bfactor
        yield_s = yield_s * factor[t.root_index]
    nb = len(t.root_ids)
    roof_area = np.bincount(t.root_index[roof], weights=t.area_m2[roof], minlength=nb)
    b = pd.DataFrame(
        {
            "building_id": list(t.root_ids),
            "roof_area_m2": roof_area,
            "pv_area_m2": np.bincount(t.root_index, weights=area_s, minlength=nb),
            "pv_kwp": np.bincount(t.root_index, weights=kwp_s, minlength=nb),
            "pv_yield_kwh": np.bincount(t.root_index, weights=yield_s, minlength=nb),
        }
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        b["specific_yield_kwh_kwp"] = np.where(
            b["pv_kwp"] > 0, b["pv_yield_kwh"] / b["pv_kwp"], np.nan
        )
    params = dict(
        min_irradiation_kwh_m2=min_irradiation_kwh_m2,
        setback_m=setback_m,
        max_tilt_deg=max_tilt_deg,
        max_north_tilt_deg=max_north_tilt_deg,
        min_roof_area_m2=min_roof_area_m2,
        flat_tilt_deg=flat_tilt_deg,
        flat_roof_coverage=flat_roof_coverage,
        module_efficiency=module_efficiency,
        performance_ratio=performance_ratio,
        cell_temperature=cell_temperature,
    )
    return PVResult(area_s, kwp_s, yield_s, usable, b, params)


def _temperature_factor(result: SolarResult, weather: pd.DataFrame | None) -> np.ndarray:
    """Per top-level object: irradiance-weighted ``1 + gamma (T_cell - 25)`` over the year."""

    pvlib = require_pvlib()

    if result.buildings is None or weather is None:
        raise InputError(
            "cell_temperature needs irradiate(..., building_hourly=True) and the weather frame"
        )
    bi = result.buildings
    poa = bi.irradiance_w_m2[:, 0, :].astype(np.float64)  # roof group
    t_air = weather["t_air_c"].to_numpy(dtype=np.float64)[None, :]
    wind = np.nan_to_num(weather["wind_speed_m_s"].to_numpy(dtype=np.float64), nan=1.0)[None, :]
    t_cell = pvlib.temperature.faiman(poa, t_air, wind)
    gamma = -0.004
    num = (poa * (1 + gamma * (t_cell - 25.0))).sum(axis=1)
    den = poa.sum(axis=1)
    f_b = np.where(den > 0, num / np.where(den > 0, den, 1), 1.0)
    pos = {b: i for i, b in enumerate(bi.building_ids)}
    out = np.ones(len(result.table.root_ids))
    for k, rid in enumerate(result.table.root_ids):  # per building id, not per sensor
        if rid in pos:
            out[k] = f_b[pos[rid]]
    return out


def write_pv_attributes(model: CityModel, pv: PVResult, *, decimals: int = 1) -> int:
    """Write ``pv_area_m2``, ``pv_kwp``, ``pv_yield_kwh`` onto every building; return how many."""
    n = 0
    for row in pv.buildings.itertuples(index=False):  # one per building
        obj = model.city_objects.get(row.building_id)
        if obj is None:
            continue
        a = obj.setdefault("attributes", {})
        a["pv_area_m2"] = round(float(row.pv_area_m2), decimals)
        a["pv_kwp"] = round(float(row.pv_kwp), decimals)
        a["pv_yield_kwh"] = round(float(row.pv_yield_kwh), decimals)
        n += 1
    return n


def roof_frame(result: SolarResult, pv: PVResult) -> pd.DataFrame:
    """One row per roof surface: ids, geometry facts, irradiation and PV values."""
    t = result.table
    rows = np.flatnonzero(result.kind == 0)
    return pd.DataFrame(
        {
            "surface": rows.astype(np.int64),
            "object_id": np.asarray(t.object_ids, dtype=object)[t.object_index[rows]],
            "building_id": np.asarray(t.root_ids, dtype=object)[t.root_index[rows]],
            "tilt_deg": t.tilt_deg[rows],
            "azimuth_deg": t.azimuth_deg[rows],
            "area_m2": t.area_m2[rows],
            "irradiation_kwh_m2": result.surface_annual_kwh_m2[rows],
            "pv_area_m2": pv.surface_pv_area_m2[rows],
            "pv_kwp": pv.surface_pv_kwp[rows],
            "pv_yield_kwh": pv.surface_pv_yield_kwh[rows],
        }
    )


def write_roofs_gpkg(
    result: SolarResult,
    pv: PVResult,
    path: str | os.PathLike,
    *,
    epsg: int | None = None,
    overwrite: bool = False,
    layer: str = "roofs",
) -> Path:
    """GeoPackage of roof surfaces (2D polygons in the model's CRS) with irradiation and PV values.

    Written atomically (temporary file, then rename) with pyogrio.
    """
    import pyogrio
    import shapely


    check_output(path, overwrite)
    t = result.table
    frame = roof_frame(result, pv)
    rows = frame["surface"].to_numpy()
    tris = t.vertices[t.triangles][:, :, :2]
    polys = shapely.polygons(np.concatenate([tris, tris[:, :1]], axis=1))
    geoms = []
    for r in rows:  # one union per roof polygon (its triangles)
        part = polys[t.tri_offsets[r] : t.tri_offsets[r + 1]]
        g = shapely.union_all(shapely.buffer(part, 1e-6, join_style="mitre"))
        g = shapely.simplify(g, 1e-5)
        geoms.append(
            g
            if g.geom_type == "MultiPolygon"
            else shapely.MultiPolygon([g])
            if not g.is_empty
            else g
        )
    geoms = np.asarray(geoms, dtype=object)
    names = list(frame.columns)
    arrays = [
        frame[c].to_numpy().astype(str) if frame[c].dtype == object else frame[c].to_numpy()
        for c in names
    ]
    with atomic_path(path, overwrite=overwrite) as tmp:
        pyogrio.raw.write(
            str(tmp),
            shapely.to_wkb(geoms),
            arrays,
            names,
            layer=layer,
            driver="GPKG",
            geometry_type="MultiPolygon",
            crs=f"EPSG:{epsg}" if epsg else None,
        )
    return Path(path)
