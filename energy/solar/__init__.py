"""The solar solver: shaded hourly irradiance on every roof and wall (Embree ray casting).

Public entry points: :func:`irradiate` (annual/monthly per sensor and surface, hourly per
building group) and :func:`building_irradiance` (hourly per building: roof, N, E, S, W).
"""

from energy.solar.irradiate import (
    GROUPS,
    BuildingIrradiance,
    SolarResult,
    building_irradiance,
    irradiate,
    write_sensors_parquet,
    write_solar_attributes,
)

__all__ = [
    "GROUPS",
    "BuildingIrradiance",
    "SolarResult",
    "building_irradiance",
    "irradiate",
    "write_sensors_parquet",
    "write_solar_attributes",
]
