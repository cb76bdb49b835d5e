"""Civic layers: zone polygons with attributes, zonal statistics and equity of exposure.

- :func:`read_zones` reads a polygon layer (GeoPackage, GeoJSON, any OGR format) into
  :class:`Zones` and reprojects it with pyproj;
- :func:`zonal_stats` summarises every numeric building indicator and every raster indicator
  per zone;
- :func:`landcover_zonal_stats` gives land-cover shares, sealed/green/canopy shares, an
  area-weighted runoff coefficient, slope and green per resident per zone;
- :func:`equity` compares the most fragile zones with the rest for each indicator;
- :func:`write_zones` writes the result as GeoPackage (and CSV), atomically.
"""

from citymodel.civic.equity import concentration_index, equity
from citymodel.civic.landcover_stats import landcover_zonal_stats
from citymodel.civic.stats import building_table, raster_zonal_stats, zonal_stats
from citymodel.civic.zones import Zones, read_zones, reproject_zones, write_zones

__all__ = [
    "Zones",
    "read_zones",
    "reproject_zones",
    "write_zones",
    "building_table",
    "zonal_stats",
    "raster_zonal_stats",
    "landcover_zonal_stats",
    "equity",
    "concentration_index",
]
