"""LoD1.2: the footprint extruded to one height (the 70th percentile of the roof points)."""

from __future__ import annotations

import numpy as np
from shapely.geometry import Polygon

from lidar.reconstruct.extrude import Shell, extrude
from lidar.reconstruct.partition import Partition, partition_from_polygons

__all__ = ["lod12_partition", "lod12_shell"]


def lod12_partition(footprint: Polygon) -> Partition:
    """The footprint as a one-face partition."""
    return partition_from_polygons([footprint], np.array([0]))


def lod12_shell(footprint: Polygon, h_roof_m: float, z_ground_m: float) -> tuple[Shell, Partition]:
    """Prism over ``footprint`` from ``z_ground_m`` to ``h_roof_m`` [m] (absolute heights)."""
    part = lod12_partition(footprint)
    shell = extrude(part, lambda f, xy: np.full(len(xy), float(h_roof_m)), z_ground_m)
    return shell, part
