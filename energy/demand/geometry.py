"""Building envelopes from the semantic surfaces of the flat surface table.

Per building (top-level ``Building``, its BuildingParts included): wall area by orientation
(N/E/S/W from the azimuth), roof and ground area, window area (``Window`` semantic surfaces
where the model has them), walls shared with an adjacent building (adiabatic), volume, height,
storeys and heated floor area. Everything is computed on the surface table's arrays, with no
loop over buildings or surfaces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from citymodel.model import CityModel
from citymodel.surfaces import SurfaceTable, surface_table

__all__ = ["Envelope", "building_envelope", "shared_wall_area", "ORIENTATIONS"]

ORIENTATIONS = ("N", "E", "S", "W")
#: Walls within this many degrees of vertical are walls for the orientation groups.
_WALL_TILT_TOL_DEG = 30.0
#: Two wall planes are coplanar when their offsets differ by less than this [m] ...
_PLANE_TOL_M = 0.15
#: ... and their normals are anti-parallel within this cosine.
_ANTIPARALLEL_COS = -0.995


@dataclass
class Envelope:
    """Envelope of ``nb`` buildings (arrays over buildings, in ``building_ids`` order).

    Attributes
    ----------
    building_ids : list[str]
    wall_area_m2 : (nb, 4) float64
        External (not shared) wall area by orientation N, E, S, W, windows included [m2].
    window_area_m2 : (nb, 4) float64
        Window area from ``Window`` semantic surfaces by orientation [m2] (0 where none).
    has_windows : (nb,) bool
        The model gave window surfaces for the building.
    party_wall_area_m2 : (nb,) float64
        Wall area shared with adjacent buildings (treated as adiabatic) [m2].
    roof_area_m2, ground_area_m2 : (nb,) float64
        Roof surface area and ground surface (footprint) area [m2].
    volume_m3, height_m : (nb,) float64
        Enclosed volume and height (top minus bottom) [m].
    storeys : (nb,) int64
        From ``storeysAboveGround`` where given (``storeys_given``), else height / storey height.
    storeys_given : (nb,) bool
    floor_area_m2 : (nb,) float64
        Heated floor area: footprint x storeys [m2].
    problems : dict[str, str]
        Buildings that cannot be simulated and why (no walls, zero floor area).
    """

    building_ids: list[str]
    wall_area_m2: np.ndarray
    window_area_m2: np.ndarray
    has_windows: np.ndarray
    party_wall_area_m2: np.ndarray
    roof_area_m2: np.ndarray
    ground_area_m2: np.ndarray
    volume_m3: np.ndarray
    height_m: np.ndarray
    storeys: np.ndarray
    storeys_given: np.ndarray
    floor_area_m2: np.ndarray
    problems: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.building_ids)


def _row_extent(t: SurfaceTable, values: np.ndarray):
    """Min and max of a per-vertex quantity over each row's triangles, (s,) each."""
    per_tri = values[t.triangles]  # (m, 3)
    tmin = per_tri.min(axis=1)
    tmax = per_tri.max(axis=1)
    counts = np.diff(t.tri_offsets)
    has = counts > 0
    lo = np.full(len(t), np.nan)
    hi = np.full(len(t), np.nan)
    if has.any():
        starts = t.tri_offsets[:-1][has]
        lo[has] = np.minimum.reduceat(tmin, starts)
        hi[has] = np.maximum.reduceat(tmax, starts)
    return lo, hi


def shared_wall_area(t: SurfaceTable, wall_rows: np.ndarray) -> np.ndarray:
    """Area of each wall row that touches a wall of another building [m2].

    Candidates are wall polygons with coplanar planes (offset within ``_PLANE_TOL_M``) and
    anti-parallel normals, found with a k-d tree on the (normal, offset) of every wall; their
    overlap is the overlap of their bounding rectangles in the plane (along-wall coordinate x
    height), which is exact for the rectangular and trapezoidal walls of LoD1/LoD2 models.

    Parameters
    ----------
    t : SurfaceTable
    wall_rows : (w,) int64
        Rows of ``t`` that are walls.

    Returns
    -------
    (w,) float64
        Shared area of each wall row, at most its own area.
    """
    from scipy.spatial import cKDTree

    w = np.asarray(wall_rows, np.int64)
    out = np.zeros(len(w))
    if len(w) < 2:
        return out
    n = t.normal[w].copy()
    n[:, 2] = 0.0
    nn = np.linalg.norm(n, axis=1)
    ok = nn > 1e-6
    n = np.where(ok[:, None], n / np.where(ok, nn, 1.0)[:, None], 0.0)
    c = t.centroid[w]
    # canonical orientation: flip so that the canonical normal points to +x (or +y)
    flip = (n[:, 0] < -1e-9) | ((np.abs(n[:, 0]) <= 1e-9) & (n[:, 1] < 0))
    sgn = np.where(flip, -1.0, 1.0)
    nc = n * sgn[:, None]
    off = np.einsum("ij,ij->i", nc, c)
    feats = np.column_stack([nc[:, 0] * 50.0, nc[:, 1] * 50.0, off])
    pairs = cKDTree(feats).query_pairs(r=max(_PLANE_TOL_M, 0.5), output_type="ndarray")
    if len(pairs) == 0:
        return out
    i, j = pairs[:, 0], pairs[:, 1]
    keep = (
        ok[i] & ok[j]
        & (sgn[i] != sgn[j])
        & (t.root_index[w[i]] != t.root_index[w[j]])
        & (np.abs(off[i] - off[j]) < _PLANE_TOL_M)
        & (np.einsum("ij,ij->i", n[i], n[j]) < _ANTIPARALLEL_COS)
    )
    i, j = i[keep], j[keep]
    if len(i) == 0:
        return out
    # along-wall coordinate with the canonical tangent (shared by both walls of a pair)
    tang = np.column_stack([-nc[:, 1], nc[:, 0], np.zeros(len(w))])
    sub = t.select(w)
    v = sub.vertices
    tri_row = sub.triangle_surface
    # per-triangle-vertex along-wall coordinate of the row's own tangent
    tv = v[sub.triangles]  # (m, 3, 3)
    u_tri = np.einsum("mvk,mk->mv", tv, tang[tri_row])
    z_tri = tv[:, :, 2]
    counts = np.diff(sub.tri_offsets)
    has = counts > 0
    starts = sub.tri_offsets[:-1][has]
    u_lo = np.full(len(w), np.nan)
    u_hi = np.full(len(w), np.nan)
    z_lo = np.full(len(w), np.nan)
    z_hi = np.full(len(w), np.nan)
    u_lo[has] = np.minimum.reduceat(u_tri.min(axis=1), starts)
    u_hi[has] = np.maximum.reduceat(u_tri.max(axis=1), starts)
    z_lo[has] = np.minimum.reduceat(z_tri.min(axis=1), starts)
    z_hi[has] = np.maximum.reduceat(z_tri.max(axis=1), starts)
    du = np.minimum(u_hi[i], u_hi[j]) - np.maximum(u_lo[i], u_lo[j])
    dz = np.minimum(z_hi[i], z_hi[j]) - np.maximum(z_lo[i], z_lo[j])
    rect_i = (u_hi[i] - u_lo[i]) * (z_hi[i] - z_lo[i])
    rect_j = (u_hi[j] - u_lo[j]) * (z_hi[j] - z_lo[j])
    ov = np.where((du > 0) & (dz > 0), du * dz, 0.0)
    ov = np.nan_to_num(ov)
    area = t.area_m2[w]
    # scale rectangle overlap to each polygon's true area
    frac_i = np.where(rect_i > 0, ov / np.where(rect_i > 0, rect_i, 1.0), 0.0)
    frac_j = np.where(rect_j > 0, ov / np.where(rect_j > 0, rect_j, 1.0), 0.0)
    out += np.bincount(i, weights=frac_i * area[i], minlength=len(w))
    out += np.bincount(j, weights=frac_j * area[j], minlength=len(w))
    return np.minimum(out, area)


def building_envelope(
    model: CityModel,
    *,
    storey_height_m: float = 3.0,
    lod: str | None = None,
    table: SurfaceTable | None = None,
) -> Envelope:
    """The envelope of every ``Building`` of ``model``.

    Parameters
    ----------
    model : CityModel
    storey_height_m : float
        Storey height used when a building has no ``storeysAboveGround`` (or
        ``storeys_above_ground``) attribute [m].
    lod : str, optional
        LoD of the geometries to use (default: each object's highest).
    table : SurfaceTable, optional
        A surface table already derived from ``model`` (saves the derivation).

    Returns
    -------
    Envelope
        In the order of ``model.building_ids()``; buildings without any surface geometry get
        zeros and an entry in ``problems``.
    """
    ids = model.building_ids()
    nb_ = len(ids)
    t = table if table is not None else surface_table(model, object_types=("Building", "BuildingPart"), lod=lod)
    pos = {rid: k for k, rid in enumerate(ids)}
    root_to_b = np.array([pos.get(r, -1) for r in t.root_ids], dtype=np.int64)
    b = root_to_b[t.root_index] if len(t) else np.zeros(0, np.int64)
    valid = b >= 0
    st = t.semantic_type
    tilt = t.tilt_deg
    area = t.area_m2
    vertical = np.abs(tilt - 90.0) <= _WALL_TILT_TOL_DEG
    is_wall = (st == "WallSurface") & valid
    is_win = np.isin(st, ["Window", "Door"]) & valid & vertical
    is_roof = (st == "RoofSurface") & valid
    is_ground = (st == "GroundSurface") & valid
    orient = (np.round(t.azimuth_deg / 90.0).astype(np.int64)) % 4

    wall_rows = np.flatnonzero(is_wall)
    shared = np.zeros(len(t))
    shared[wall_rows] = shared_wall_area(t, wall_rows)

    def per_b(mask, weights):
        return np.bincount(b[mask], weights=weights[mask], minlength=nb_)

    wall = np.zeros((nb_, 4))
    win = np.zeros((nb_, 4))
    ext = area - shared
    for o in range(4):  # four orientation groups
        wall[:, o] = per_b(is_wall & vertical & (orient == o), ext)
        win[:, o] = per_b(is_win & (orient == o), area)
    wall += win  # gross external wall area includes its windows
    party = per_b(is_wall, shared)
    roof = per_b(is_roof, area)
    ground = per_b(is_ground, area)
    # footprint fallback: projected roof area where there is no ground surface
    roof_proj = per_b(is_roof, area * np.abs(t.normal[:, 2]))
    ground = np.where(ground > 0, ground, roof_proj)
    # volume by the divergence theorem about a per-building reference point
    shell = valid & np.isin(st, ["WallSurface", "RoofSurface", "GroundSurface", "Window", "Door",
                                  "ClosureSurface", "OuterCeilingSurface", "OuterFloorSurface"])
    cnt = np.maximum(np.bincount(b[valid], minlength=nb_), 1)
    ref = np.column_stack([np.bincount(b[valid], weights=t.centroid[valid, k], minlength=nb_) for k in range(3)]) / cnt[:, None]
    rel = t.centroid - ref[np.where(valid, b, 0)]
    vol = per_b(shell, area * np.einsum("ij,ij->i", rel, t.normal) / 3.0)
    z_lo, z_hi = _row_extent(t, t.vertices[:, 2])
    zmax = np.full(nb_, -np.inf)
    zmin = np.full(nb_, np.inf)
    okz = valid & np.isfinite(z_hi)
    np.maximum.at(zmax, b[okz], z_hi[okz])
    np.minimum.at(zmin, b[okz], z_lo[okz])
    height = np.where(np.isfinite(zmax - zmin), zmax - zmin, 0.0)
    closed = (ground > 0) & (vol > 0.3 * ground * height)
    vol = np.where(closed, vol, ground * height)
    storeys_attr = np.zeros(0)
    if nb_:  # CityJSON's name, then the glossary's
        storeys_attr = pd.to_numeric(pd.Series(model.attribute("storeysAboveGround", ids, default=np.nan)),
                                     errors="coerce").to_numpy(float)
        alt = pd.to_numeric(pd.Series(model.attribute("storeys_above_ground", ids, default=np.nan)),
                            errors="coerce").to_numpy(float)
        storeys_attr = np.where(np.isfinite(storeys_attr), storeys_attr, alt)
    storeys = np.where(
        np.isfinite(storeys_attr) & (storeys_attr >= 1),
        storeys_attr,
        np.maximum(1.0, np.round(height / storey_height_m)),
    ).astype(np.int64)
    floor = ground * storeys
    problems: dict[str, str] = {}
    no_wall = (wall.sum(axis=1) + party) <= 0
    for k in np.flatnonzero(no_wall | (floor <= 0)):
        why = "no wall surfaces" if no_wall[k] else "zero floor area (no ground or roof surface)"
        problems[ids[k]] = why
    return Envelope(
        building_ids=ids,
        wall_area_m2=wall,
        window_area_m2=win,
        has_windows=win.sum(axis=1) > 0,
        party_wall_area_m2=party,
        roof_area_m2=roof,
        ground_area_m2=ground,
        volume_m3=vol,
        height_m=height,
        storeys=storeys,
        storeys_given=np.isfinite(storeys_attr) & (storeys_attr >= 1),
        floor_area_m2=floor,
        problems=problems,
    )
