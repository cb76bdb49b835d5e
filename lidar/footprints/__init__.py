"""Building footprints: given ones (read and cleaned, :mod:`lidar.footprints.given`) or extracted
from the points (segmentation, outlines, party walls: :mod:`lidar.footprints.extraction`).

``lidar.footprints`` was one module before issue #11; its names are re-exported here so that
``from lidar.footprints import Footprint, read_footprints`` keeps working.
"""

from lidar.footprints.given import (
    MIN_AREA_M2,
    Footprint,
    clean_footprint,
    footprints_from_polygons,
    read_footprints,
)

__all__ = ["Footprint", "read_footprints", "footprints_from_polygons", "clean_footprint", "MIN_AREA_M2"]
