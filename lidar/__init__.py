"""LiDAR (LAS/LAZ) plus footprints and orthophotos to a CityJSON city model."""

import citymodel  # noqa: F401  (first: it points numba's cache at a user folder in a read-only install)
