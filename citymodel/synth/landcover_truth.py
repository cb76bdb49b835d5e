"""The true land cover of a synthetic district, seen from above (the evaluation reference).

One vertical ray per cell centre finds the first surface, as the orthophoto does: roofs, walls
and superstructures are building, crowns and trunks tree canopy, shrubs shrubs, and the terrain
takes its ground material (lawn: grass, asphalt and paving: impervious).
"""

from __future__ import annotations

import numpy as np
import shapely
from affine import Affine

from citymodel.landcover import BUILDING, GRASS, IMPERVIOUS, SHRUBS, TREE_CANOPY
from citymodel.synth.materials import LAWN, ground_materials
from citymodel.synth.mesh import CROWN, ROOF, SHRUB, SUPER, TRUNK, WALL, SceneMesh, scene_mesh
from citymodel.synth.scene import District

__all__ = ["truth_landcover", "truth_green_polygons"]


def truth_landcover(district: District, resolution_m: float = 0.5,
                    mesh: SceneMesh | None = None) -> tuple[np.ndarray, Affine]:
    """Land-cover codes (:mod:`citymodel.landcover`) of the first surface above each cell centre.

    Parameters
    ----------
    district : District
    resolution_m : float
        Cell size [m]; the grid spans the district square, north-up.
    mesh : SceneMesh, optional
        The district's mesh (built when not given).

    Returns
    -------
    codes : (n, n) uint8
    transform : affine.Affine
    """
    mesh = scene_mesh(district) if mesh is None else mesh
    S = district.size_m
    n = int(round(S / resolution_m))
    res = S / n
    h = S / 2
    scene = mesh.embree()
    ztop = float(mesh.triangles[:, :, 2].max()) + 10.0
    ground = ground_materials(district, res).codes
    c = -h + (np.arange(n) + 0.5) * res
    X, Y = np.meshgrid(c, c[::-1])
    o = np.column_stack([X.ravel(), Y.ravel(), np.full(X.size, ztop)]).astype(np.float32)
    d = np.zeros_like(o)
    d[:, 2] = -1.0
    prim = scene.run(o, d, output=1)["primID"].astype(np.int64)
    kind = np.where(prim >= 0, mesh.kind[np.maximum(prim, 0)], -1)
    out = np.where(ground.ravel() == LAWN, GRASS, IMPERVIOUS).astype(np.uint8)
    out[np.isin(kind, (ROOF, WALL, SUPER))] = BUILDING
    out[np.isin(kind, (CROWN, TRUNK))] = TREE_CANOPY
    out[kind == SHRUB] = SHRUBS
    xmin, _, _, ymax = district.bounds
    return out.reshape(n, n), Affine(res, 0.0, xmin, 0.0, -res, ymax)


def truth_green_polygons(district: District) -> dict[str, shapely.Geometry]:
    """The truth's green areas as shapely geometries [m].

    Returns
    -------
    dict
        ``lawn``: union of the PlantCover polygons; ``crowns``: union of the tree crowns' and
        shrubs' horizontal discs (diameter ``crown_diameter_m``); ``green``: both;
        ``lawn_visible``: the lawns outside the crowns (what is seen as grass from above).
    """
    lawn = shapely.union_all([g.polygon for g in district.green_areas]) if district.green_areas else shapely.Polygon()
    discs = [shapely.Point(t.xy).buffer(0.5 * t.crown_diameter_m, 16) for t in district.trees]
    crowns = shapely.union_all(discs) if discs else shapely.Polygon()
    square = shapely.box(*district.bounds)
    crowns = shapely.intersection(crowns, square)
    return {"lawn": lawn, "crowns": crowns, "green": shapely.union(lawn, crowns),
            "lawn_visible": shapely.difference(lawn, crowns)}
