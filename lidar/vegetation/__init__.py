"""Vegetation from LiDAR and orthophotos: individual trees, green areas, land cover."""
