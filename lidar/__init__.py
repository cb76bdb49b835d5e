"""LiDAR (LAS/LAZ) plus footprints and orthophotos to a CityJSON city model."""
