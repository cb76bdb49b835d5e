"""The solar solver's result types and their writers.

:class:`SolarResult` (per sensor and surface, annual and monthly) and :class:`BuildingIrradiance`
(hourly per building group), with :func:`write_solar_attributes` (annual mean onto the model's
semantic surfaces) and :func:`write_sensors_parquet` (the per-sensor table).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from citymodel._fileutil import atomic_path
from citymodel.model import CityModel
from citymodel.surfaces import SurfaceTable, write_surface_attribute
from energy.solar.sensors import Sensors

__all__ = [
    "GROUPS",
    "BuildingIrradiance",
    "SolarResult",
    "write_solar_attributes",
    "write_sensors_parquet",
]

#: Building surface groups of :class:`BuildingIrradiance`, in order.
GROUPS = ("roof", "N", "E", "S", "W")


@dataclass
class BuildingIrradiance:
    """Hourly shaded irradiance per building, on its roofs and on its walls by orientation.

    Attributes
    ----------
    building_ids : list[str]
        Top-level building ids (``model.building_ids()`` order, those with roofs or walls).
    groups : tuple[str, ...]
        ``("roof", "N", "E", "S", "W")``: walls by azimuth, N = 315..45 deg, E = 45..135, ...
    irradiance_w_m2 : (n_buildings, 5, n_hours) float32
        Area-weighted mean over the group's sensors of the hour-mean irradiance [W/m2]; 0 where
        the group has no surface.
    area_m2 : (n_buildings, 5) float64
        Surface area of each group [m2].
    times : DatetimeIndex
        Hour-ending stamps of the weather.
    """

    building_ids: list[str]
    groups: tuple[str, ...]
    irradiance_w_m2: np.ndarray
    area_m2: np.ndarray
    times: pd.DatetimeIndex

    def to_frame(self) -> pd.DataFrame:
        """Long table: ``building_id``, ``group``, ``time``, ``irradiance_w_m2``."""
        nb, ng, nh = self.irradiance_w_m2.shape
        return pd.DataFrame(
            {
                "building_id": np.repeat(np.asarray(self.building_ids, dtype=object), ng * nh),
                "group": np.tile(np.repeat(np.asarray(self.groups, dtype=object), nh), nb),
                "time": np.tile(self.times, nb * ng),
                "irradiance_w_m2": self.irradiance_w_m2.ravel(),
            }
        )


@dataclass
class SolarResult:
    """Irradiation results aligned to the buildings' surface table.

    Attributes
    ----------
    table : SurfaceTable
        ``surface_table(model, object_types=BUILDING_TYPES)``; per-surface arrays align to it.
    kind : (s,) int8
        0 roof, 1 wall, -1 not computed (ground, closure, zero area).
    sensors : Sensors
        The sensor points (``sensors.surface`` indexes ``table``).
    sensor_monthly_kwh_m2 : (n, 12) float32
        Irradiation per sensor and calendar month [kWh/m2].
    sensor_sky_view : (n,) float32
        Cosine-weighted fraction of the sensor's half space that is open sky (1 for an
        unobstructed horizontal roof, 0.5 for an unobstructed wall).
    surface_monthly_kwh_m2 : (s, 12) float64
        Area-weighted mean over each surface's sensors [kWh/m2]; NaN where not computed.
    surface_components_kwh_m2 : (s, 3) float64
        Annual beam (with circumsolar), sky diffuse and ground-reflected parts [kWh/m2].
    times : DatetimeIndex
        Hour-ending stamps of the weather.
    weather_meta : dict
        The weather's metadata.
    buildings : BuildingIrradiance or None
        Hourly irradiance per building group (``irradiate(..., building_hourly=True)``).
    stats : dict
        Counts and timings (sensors, rays, sun bins, seconds).
    """

    table: SurfaceTable
    kind: np.ndarray
    sensors: Sensors
    sensor_monthly_kwh_m2: np.ndarray
    sensor_sky_view: np.ndarray
    surface_monthly_kwh_m2: np.ndarray
    surface_components_kwh_m2: np.ndarray
    times: pd.DatetimeIndex
    weather_meta: dict[str, Any]
    buildings: BuildingIrradiance | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def sensor_annual_kwh_m2(self) -> np.ndarray:
        """Annual irradiation per sensor ``(n,)`` [kWh/m2/a]."""
        return self.sensor_monthly_kwh_m2.sum(axis=1)

    @property
    def surface_annual_kwh_m2(self) -> np.ndarray:
        """Annual irradiation per surface ``(s,)`` [kWh/m2/a] (NaN where not computed)."""
        return self.surface_monthly_kwh_m2.sum(axis=1)


def write_solar_attributes(model: CityModel, result: SolarResult, *, decimals: int = 1) -> int:
    """Write ``irradiation_kwh_m2`` (annual mean, kWh/m2/a) onto every semantic roof and wall.

    Call :func:`citymodel.surfaces.split_semantic_surfaces` on the model *before*
    :func:`irradiate` so that every polygon keeps its own value (otherwise polygons that share a
    semantic surface get their area-weighted mean). Returns the number of surfaces written.
    """
    return write_surface_attribute(
        model, result.table, "irradiation_kwh_m2", result.surface_annual_kwh_m2, decimals=decimals
    )


def write_sensors_parquet(
    result: SolarResult, path: str | os.PathLike, *, overwrite: bool = False
) -> Path:
    """Per-sensor table (position, normal, area, surface, object, annual and monthly kWh/m2)."""

    s = result.sensors
    t = result.table
    df = pd.DataFrame(
        {
            "x_m": s.points[:, 0],
            "y_m": s.points[:, 1],
            "z_m": s.points[:, 2],
            "normal_x": s.normals[:, 0].astype(np.float32),
            "normal_y": s.normals[:, 1].astype(np.float32),
            "normal_z": s.normals[:, 2].astype(np.float32),
            "area_m2": s.area_m2.astype(np.float32),
            "surface": s.surface.astype(np.int32),
            "object_id": np.asarray(t.object_ids, dtype=object)[t.object_index[s.surface]],
            "semantic_type": np.where(result.kind[s.surface] == 0, "RoofSurface", "WallSurface"),
            "sky_view": result.sensor_sky_view,
            "irradiation_kwh_m2": result.sensor_annual_kwh_m2.astype(np.float32),
        }
    )
    for k in range(12):
        df[f"irradiation_m{k + 1:02d}_kwh_m2"] = result.sensor_monthly_kwh_m2[:, k]
    with atomic_path(path, overwrite=overwrite) as tmp:
        df.to_parquet(tmp, index=False)
    return Path(path)
