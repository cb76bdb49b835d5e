"""Terrain: ground filtering (SMRF, CSF), the DTM grid and its GeoTIFF, the simplified TIN, and the
accumulator that reduces a build's ground points block by block."""
