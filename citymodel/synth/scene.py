"""The in-memory synthetic district: buildings with exact roof planes, terrain, trees, green areas.

Every coordinate is in the projected CRS of the district (metres, UTM 32N by default); heights
are absolute (metres above sea level). :class:`District` is what every writer (truth CityJSON,
LiDAR, orthophoto, footprints, zones) consumes, so all outputs describe one and the same scene.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from citymodel.geometry import polygon_area_normal
from citymodel.synth.frame import rect_corners

__all__ = [
    "ROOF_TYPES",
    "USES",
    "Face",
    "Part",
    "Building",
    "Superstructure",
    "Tree",
    "GreenArea",
    "Terrain",
    "District",
]

#: Roof shapes the generator produces (the ``roof_type`` attribute).
ROOF_TYPES = ("flat", "gable", "hip", "shed", "pyramid", "mansard", "flat_raised")
#: Building uses (glossary names; the energy archetypes rely on them).
USES = ("residential", "office", "commercial", "school")


@dataclass
class Face:
    """One planar polygon of a building solid.

    Attributes
    ----------
    rings : list of (k, 3) float64
        Outer ring first, then holes; not closed; counter-clockwise about the outward normal [m].
    semantic : str
        ``RoofSurface``, ``WallSurface`` or ``GroundSurface``.
    normal : (3,) float64
        Unit outward normal.
    """

    rings: list[np.ndarray]
    semantic: str
    normal: np.ndarray

    @property
    def area_m2(self) -> float:
        """Area with holes subtracted [m2]."""
        return float(polygon_area_normal(self.rings)[0])

    @property
    def centroid(self) -> np.ndarray:
        """Mean of the outer ring's vertices (a point on the plane) [m]."""
        return self.rings[0].mean(axis=0)


@dataclass
class Part:
    """One closed solid: an oriented rectangle footprint with a roof shape.

    Attributes
    ----------
    part_id : str
        City object id (the building id for single-part buildings).
    center_xy : (2,) float64
        Footprint centre [m].
    angle_rad : float
        Direction of the local ``u`` axis (the length) from the x axis, counter-clockwise [rad].
    length_m, width_m : float
        Footprint side along ``u`` and along ``v`` [m].
    z_ground_m : float
        Height of the flat ground surface [m a.s.l.].
    eave_height_m : float
        Eave height above ``z_ground_m`` [m].
    roof_type : str
        One of :data:`ROOF_TYPES`.
    roof_rise_m : float
        Ridge/apex/high-side/raised-part height above the eave [m] (0 for flat).
    faces : list of Face
        The closed, outward-oriented shell.
    """

    part_id: str
    center_xy: np.ndarray
    angle_rad: float
    length_m: float
    width_m: float
    z_ground_m: float
    eave_height_m: float
    roof_type: str
    roof_rise_m: float
    storeys: int
    faces: list[Face] = field(default_factory=list)

    @property
    def footprint(self) -> shapely.Polygon:
        """Ground outline as a shapely polygon [m]."""
        g = [f for f in self.faces if f.semantic == "GroundSurface"][0]
        return shapely.Polygon(g.rings[0][::-1, :2])

    @property
    def roof_faces(self) -> list[Face]:
        return [f for f in self.faces if f.semantic == "RoofSurface"]


@dataclass
class Superstructure:
    """A small roof element present in the LiDAR but not in the LoD2.2 truth (chimney, dormer).

    Attributes
    ----------
    kind : str
        ``chimney`` or ``dormer`` (flat top); with ``realism="ahn3"`` also ``gable_dormer``,
        ``hvac``, ``stair_house`` and ``parapet`` (:mod:`citymodel.synth.clutter`).
    building_id : str
    center_xy : (2,) float64 [m]
    angle_rad : float [rad]
    length_m, width_m : float [m]
        Box sides along and across ``angle_rad``.
    z_bottom_m, z_top_m : float
        Box bottom (inside the roof) and top of its walls [m a.s.l.].
    ridge_rise_m : float
        Height of a gable roof on the box above ``z_top_m``, ridge along ``angle_rad`` [m]
        (0: flat top).
    """

    kind: str
    building_id: str
    center_xy: np.ndarray
    angle_rad: float
    length_m: float
    width_m: float
    z_bottom_m: float
    z_top_m: float
    ridge_rise_m: float = 0.0

    @property
    def outline(self) -> shapely.Polygon:
        return shapely.Polygon(rect_corners(self.center_xy, self.angle_rad, self.length_m, self.width_m))

    def top_z(self, xy: np.ndarray) -> np.ndarray:
        """Exact height of the top [m a.s.l.] at points ``(k, 2)`` [m], ``(k,)`` (NaN outside)."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        d = xy - self.center_xy
        c, s = np.cos(self.angle_rad), np.sin(self.angle_rad)
        along, across = d[:, 0] * c + d[:, 1] * s, -d[:, 0] * s + d[:, 1] * c
        half_w = 0.5 * self.width_m
        inside = (np.abs(along) <= 0.5 * self.length_m) & (np.abs(across) <= half_w)
        z = self.z_top_m + self.ridge_rise_m * (1.0 - np.abs(across) / half_w)
        return np.where(inside, z, np.nan)


@dataclass
class Building:
    """A building: one or more parts (BuildingParts when more than one).

    Attributes
    ----------
    building_id : str
        City object id, also the footprint ``id``.
    kind : str
        Urban form: ``detached``, ``terraced``, ``courtyard``, ``slab``, ``multipart``, ``school``.
    use : str
        One of :data:`USES`.
    construction_year : int
    parts : list of Part
    roof_material : str
        ``tiles``, ``concrete`` or ``gravel`` (orthophoto colour, LiDAR intensity).
    """

    building_id: str
    kind: str
    use: str
    construction_year: int
    parts: list[Part]
    roof_material: str = "tiles"

    @property
    def footprint(self) -> shapely.Polygon:
        """Ground outline, the union of the parts [m]."""
        if len(self.parts) == 1:
            return self.parts[0].footprint
        # parts touch along shared walls; a 0.1 mm grid closes the rounding gaps between them
        u = shapely.union_all([p.footprint for p in self.parts], grid_size=1e-4)
        return shapely.simplify(u, 1e-4)

    @property
    def z_ground_m(self) -> float:
        return float(min(p.z_ground_m for p in self.parts))

    @property
    def roof_type(self) -> str:
        """Roof type of the largest part."""
        return max(self.parts, key=lambda p: p.length_m * p.width_m).roof_type


@dataclass
class Tree:
    """A tree: trunk position, total height, crown as an ellipsoid.

    Attributes
    ----------
    tree_id : str
    xy : (2,) float64 [m]
    z_ground_m : float [m a.s.l.]
    height_m : float
        Top of the crown above ground [m].
    crown_diameter_m : float [m]
    crown_base_m : float
        Bottom of the crown above ground [m].
    kind : str
        ``street``, ``park``, ``garden`` or ``shrub``.
    overhangs_roof : bool
        Planted so that its crown reaches over a roof.
    crown_shape : str
        ``ellipsoid`` (broadleaf: semi-axes ``crown_diameter_m / 2`` and half the crown
        length) or ``cone`` (conifer: base disc of ``crown_diameter_m`` at ``crown_base_m``,
        apex at ``height_m``).
    """

    tree_id: str
    xy: np.ndarray
    z_ground_m: float
    height_m: float
    crown_diameter_m: float
    crown_base_m: float
    kind: str
    overhangs_roof: bool = False
    crown_shape: str = "ellipsoid"

    @property
    def crown_center(self) -> np.ndarray:
        zc = self.z_ground_m + 0.5 * (self.height_m + self.crown_base_m)
        return np.array([self.xy[0], self.xy[1], zc])

    def inside_crown(self, xyz: np.ndarray, tol_m: float = 0.0) -> np.ndarray:
        """Whether points ``(k, 3)`` [m] lie inside the crown grown by ``tol_m``, ``(k,)`` bool."""
        xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
        zb = self.z_ground_m + self.crown_base_m
        zt = self.z_ground_m + self.height_m
        r = 0.5 * self.crown_diameter_m
        dh = np.hypot(xyz[:, 0] - self.xy[0], xyz[:, 1] - self.xy[1])
        if self.crown_shape == "cone":
            frac = np.clip((zt - xyz[:, 2]) / (zt - zb), 0.0, 1.0)
            return (xyz[:, 2] >= zb - tol_m) & (xyz[:, 2] <= zt + tol_m) & (dh <= r * frac + tol_m)
        c, ax = self.crown_center, self.crown_semi_axes + tol_m
        e = (dh / ax[0]) ** 2 + ((xyz[:, 2] - c[2]) / ax[2]) ** 2
        return e <= 1.0

    @property
    def crown_semi_axes(self) -> np.ndarray:
        r = 0.5 * self.crown_diameter_m
        return np.array([r, r, 0.5 * (self.height_m - self.crown_base_m)])


@dataclass
class GreenArea:
    """A lawn, garden or park polygon (PlantCover in the truth) [m]."""

    area_id: str
    polygon: shapely.Polygon
    kind: str


@dataclass
class Terrain:
    """Analytic terrain: a plane plus a few smooth waves.

    ``z = base + gx (x - x0) + gy (y - y0) + sum_k a_k sin(kx_k (x - x0) + ky_k (y - y0) + phi_k)``
    """

    origin_xy: np.ndarray
    base_m: float
    gradient: np.ndarray
    wave_amplitude_m: np.ndarray
    wave_vector: np.ndarray
    wave_phase: np.ndarray

    def height(self, x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
        """Terrain height [m a.s.l.] at projected ``x, y`` [m] (scalars or arrays, broadcast)."""
        dx = np.asarray(x, dtype=np.float64) - self.origin_xy[0]
        dy = np.asarray(y, dtype=np.float64) - self.origin_xy[1]
        z = self.base_m + self.gradient[0] * dx + self.gradient[1] * dy
        for a, (kx, ky), ph in zip(self.wave_amplitude_m, self.wave_vector, self.wave_phase, strict=True):
            z = z + a * np.sin(kx * dx + ky * dy + ph)
        return z


@dataclass
class District:
    """The whole synthetic scene.

    Attributes
    ----------
    seed : int
    size_m : float
        Side of the square district [m]; it spans ``origin_xy +- size_m / 2``.
    epsg : int
        Projected CRS of every coordinate.
    origin_xy : (2,) float64
        District centre in the projected CRS [m].
    terrain : Terrain
    buildings : list of Building
    trees : list of Tree
        Trees and shrubs (``kind == "shrub"``).
    green_areas : list of GreenArea
    streets : shapely geometry
        Street area, carriageway and sidewalks [m].
    superstructures : list of Superstructure
    carriageways : shapely geometry
        Asphalt part of the streets [m].
    terrain_spacing_m : float
        Grid spacing of the terrain TIN [m].
    """

    seed: int
    size_m: float
    epsg: int
    origin_xy: np.ndarray
    terrain: Terrain
    buildings: list[Building]
    trees: list[Tree]
    green_areas: list[GreenArea]
    streets: shapely.Geometry
    superstructures: list[Superstructure]
    carriageways: shapely.Geometry | None = None
    terrain_spacing_m: float = 4.0

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` [m]."""
        h = 0.5 * self.size_m
        return (self.origin_xy[0] - h, self.origin_xy[1] - h, self.origin_xy[0] + h, self.origin_xy[1] + h)

    def all_parts(self) -> list[tuple[Building, Part]]:
        return [(b, p) for b in self.buildings for p in b.parts]

    def terrain_grid(self) -> tuple[np.ndarray, np.ndarray]:
        """The terrain TIN on a regular grid: vertices ``(n, 3)`` and triangles ``(m, 3)`` int64."""
        xmin, ymin, xmax, ymax = self.bounds
        n = int(np.ceil(self.size_m / self.terrain_spacing_m)) + 1
        xs = np.linspace(xmin, xmax, n)
        ys = np.linspace(ymin, ymax, n)
        gx, gy = np.meshgrid(xs, ys)
        z = self.terrain.height(gx, gy)
        v = np.column_stack([gx.ravel(), gy.ravel(), z.ravel()])
        i, j = np.meshgrid(np.arange(n - 1), np.arange(n - 1))
        a = (j * n + i).ravel()
        b, c, d = a + 1, a + n + 1, a + n
        tri = np.concatenate([np.column_stack([a, b, c]), np.column_stack([a, c, d])]).astype(np.int64)
        return v, tri
