"""Vegetation from LiDAR and orthophotos: trees, green areas and land cover."""
