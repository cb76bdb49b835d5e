"""Ground materials of a district (asphalt, paving, lawn) as a raster shared by LiDAR and orthophoto."""

from __future__ import annotations

import numpy as np

from citymodel.synth.scene import District

__all__ = ["ASPHALT", "PAVING", "LAWN", "GroundMaterials", "ground_materials"]

ASPHALT, PAVING, LAWN = 0, 1, 2


class GroundMaterials:
    """Material code per cell of a north-up grid over the district.

    Attributes
    ----------
    codes : (n, n) uint8
        :data:`ASPHALT`, :data:`PAVING` or :data:`LAWN`; row 0 is the north edge.
    bounds : (xmin, ymin, xmax, ymax) [m]
    resolution_m : float
    """

    def __init__(self, codes: np.ndarray, bounds: tuple[float, float, float, float], resolution_m: float) -> None:
        self.codes = codes
        self.bounds = bounds
        self.resolution_m = float(resolution_m)

    def at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Material codes ``(k,)`` at projected points [m] (clamped to the grid)."""
        n = self.codes.shape[0]
        c = np.clip(((np.asarray(x) - self.bounds[0]) / self.resolution_m).astype(np.int64), 0, n - 1)
        r = np.clip(((self.bounds[3] - np.asarray(y)) / self.resolution_m).astype(np.int64), 0, n - 1)
        return self.codes[r, c]


def ground_materials(district: District, resolution_m: float) -> GroundMaterials:
    """Rasterise carriageways (asphalt) and green areas (lawn) over paving, cell centres inside."""
    from affine import Affine
    from rasterio.features import rasterize

    n = int(round(district.size_m / resolution_m))
    xmin, _, _, ymax = district.bounds
    tr = Affine(district.size_m / n, 0.0, xmin, 0.0, -district.size_m / n, ymax)
    out = np.full((n, n), PAVING, np.uint8)
    shapes = []
    if district.carriageways is not None and not district.carriageways.is_empty:
        shapes.append((district.carriageways, ASPHALT))
    shapes += [(g.polygon, LAWN) for g in district.green_areas]
    if shapes:
        rasterize(shapes, out=out, transform=tr)
    return GroundMaterials(out, district.bounds, district.size_m / n)
