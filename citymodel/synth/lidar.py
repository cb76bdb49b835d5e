"""Simulated airborne LiDAR of a district: flight strips, ray casting, returns, classes, LAZ.

The sensor flies north-south strips at ``FLIGHT_HEIGHT_M`` above the terrain with a
``MAX_SCAN_ANGLE_DEG`` line scanner and ``STRIP_OVERLAP`` side overlap. Every pulse is one ray
cast with Embree against the scene mesh, so occlusion under roofs and crowns and the sparse
sampling of walls follow from the geometry. Pulses that enter a crown give one to three
returns inside it (on the chord through the crown mesh) and pass through to the next surface with a
probability that falls with the chord length (Beer-Lambert). A pulse whose footprint straddles
a roof edge echoes from both surfaces when their ranges differ by more than
``EDGE_SEPARATION_M`` (one extra ray per pulse, offset within the footprint). Range noise is Gaussian along the
ray. Everything is vectorised: no Python loop over pulses or points.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from citymodel._fileutil import atomic_path
from citymodel.errors import InputError
from citymodel.synth.materials import GroundMaterials, ground_materials
from citymodel.synth.mesh import CROWN, ROOF, SHRUB, SUPER, TERRAIN, TRUNK, WALL, SceneMesh
from citymodel.synth.scene import District

__all__ = ["PointCloud", "simulate_lidar", "drop_gaps", "write_laz", "FLIGHT_HEIGHT_M", "MAX_SCAN_ANGLE_DEG"]

FLIGHT_HEIGHT_M = 500.0
MAX_SCAN_ANGLE_DEG = 22.0
STRIP_OVERLAP = 0.3
#: Leaf extinction coefficient of crowns [1/m]: pass-through probability exp(-k chord).
CROWN_EXTINCTION_PER_M = 0.22
#: Radius of the laser footprint on the ground (0.5 mrad divergence at the flight height) [m].
BEAM_RADIUS_M = 0.25e-3 * FLIGHT_HEIGHT_M
#: Smallest range difference between two echoes of one pulse that the receiver separates [m].
EDGE_SEPARATION_M = 2.0
#: Below this |cos(incidence)| a return is dropped with growing probability (grazing walls).
GRAZING_COS = 0.25

# reflectance at 1064 nm per material code
_MAT_ASPHALT, _MAT_PAVING, _MAT_LAWN, _MAT_TILES, _MAT_CONCRETE, _MAT_GRAVEL, _MAT_WALL, _MAT_LEAF, _MAT_BARK = range(9)
_REFLECTANCE = np.array([0.12, 0.28, 0.50, 0.33, 0.40, 0.24, 0.30, 0.45, 0.20])
_ROOF_MAT = {"tiles": _MAT_TILES, "concrete": _MAT_CONCRETE, "gravel": _MAT_GRAVEL}


@dataclass
class PointCloud:
    """Simulated points (projected coordinates) with their truth labels.

    Attributes
    ----------
    xyz : (n, 3) float64 [m]
    intensity : (n,) uint16
    return_number, number_of_returns : (n,) uint8
    classification : (n,) uint8
        ASPRS: 2 ground, 3/4/5 low/medium/high vegetation, 6 building.
    scan_angle_deg : (n,) float32 [deg]
    point_source_id : (n,) uint16
        Flight strip number (1-based).
    gps_time : (n,) float64 [s]
    kind, obj, plane : (n,) int
        Truth: triangle kind (:data:`citymodel.synth.mesh.KIND_NAMES`), building/tree index,
        roof plane index (-1 where none).
    """

    xyz: np.ndarray
    intensity: np.ndarray
    return_number: np.ndarray
    number_of_returns: np.ndarray
    classification: np.ndarray
    scan_angle_deg: np.ndarray
    point_source_id: np.ndarray
    gps_time: np.ndarray
    kind: np.ndarray
    obj: np.ndarray
    plane: np.ndarray

    def __len__(self) -> int:
        return int(self.xyz.shape[0])


def _strips(size_m: float) -> np.ndarray:
    """Flight line x positions (local) covering ``[-size/2, size/2]``."""
    swath = 2 * FLIGHT_HEIGHT_M * np.tan(np.radians(MAX_SCAN_ANGLE_DEG))
    spacing = swath * (1 - STRIP_OVERLAP)
    x = [-size_m / 2 + 0.35 * swath]
    while x[-1] + swath / 2 < size_m / 2 + 1.0:
        x.append(x[-1] + spacing)
    return np.array(x)


def _cast(scene, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    res = scene.run(np.ascontiguousarray(o, dtype=np.float32), np.ascontiguousarray(d, dtype=np.float32), output=1)
    return res["primID"].astype(np.int64), res["tfar"].astype(np.float64)


def simulate_lidar(
    district: District,
    mesh: SceneMesh,
    *,
    density_pts_m2: float = 12.0,
    noise_m: float = 0.05,
    rng: np.random.Generator,
    unclassified: bool = False,
) -> PointCloud:
    """Simulate an airborne LiDAR survey of ``district``.

    Parameters
    ----------
    district : District
    mesh : SceneMesh
        :func:`citymodel.synth.mesh.scene_mesh` of the same district.
    density_pts_m2 : float
        Target mean point density over the district, all returns [1/m2].
    noise_m : float
        Standard deviation of the range noise [m].
    rng : numpy.random.Generator
    unclassified : bool
        Write class 1 everywhere.

    Returns
    -------
    PointCloud
        Points inside the district square, in acquisition order.
    """
    if not (np.isfinite(density_pts_m2) and 0.05 <= density_pts_m2 <= 200):
        raise InputError(f"synth: density_pts_m2={density_pts_m2} is out of range; use 0.05 to 200 pts/m2")
    if not (np.isfinite(noise_m) and 0 <= noise_m <= 1.0):
        raise InputError(f"synth: noise_m={noise_m} is out of range; use 0 to 1 m")
    S = district.size_m
    h = S / 2
    scene = mesh.embree()
    z_ref = float(district.terrain.height(district.origin_xy[0], district.origin_xy[1]))
    z_fly = z_ref + FLIGHT_HEIGHT_M
    lines = _strips(S)
    swath = 2 * FLIGHT_HEIGHT_M * np.tan(np.radians(MAX_SCAN_ANGLE_DEG))
    # coverage (strips per point) and returns per pulse set the pulse density of one strip
    gx = np.linspace(-h, h, 201)
    cover = (np.abs(gx[:, None] - lines[None, :]) <= swath / 2).sum(axis=1).mean()
    crown_area = sum(np.pi * (t.crown_diameter_m / 2) ** 2 for t in district.trees if t.kind != "shrub")
    f_veg = min(0.6, crown_area / (S * S))
    # extra returns in crowns and at roof edges, minus grazing echoes lost on walls (fitted)
    pulse_density = density_pts_m2 / (cover * (1.0 + 0.85 * f_veg))
    step = 1.0 / np.sqrt(pulse_density)

    ys = np.arange(-h - 2.0, h + 2.0, step)
    common = _Survey(district, mesh, scene, z_ref, z_fly, swath, step, ys, noise_m, unclassified,
                     ground_materials(district, 0.25))
    parts = [_strip(common, k, xl, rng) for k, xl in enumerate(lines)]
    return PointCloud(**{f: np.concatenate([getattr(pc, f) for pc in parts]) for f in PointCloud.__dataclass_fields__})


def drop_gaps(cloud: PointCloud, district: District, fraction: float, rng: np.random.Generator) -> PointCloud:
    """Remove every return inside random discs (1 to 4 m radius) covering about ``fraction`` of the district.

    Real surveys have such holes (dark or wet roofs, specular glass, water, occlusion between
    strips); ``fraction`` is the expected share of the area without points (0..0.5).
    """
    if not (0.0 <= fraction <= 0.5):
        raise InputError(f"synth: gap fraction {fraction} is out of range; use 0 to 0.5")
    if fraction == 0.0 or len(cloud) == 0:
        return cloud
    x0, y0, x1, y1 = district.bounds
    r = rng.uniform(1.0, 4.0, 100000)
    # discs drawn independently: the uncovered share is exp(-n pi E[r^2] / A)
    n = int(np.ceil(-np.log(1.0 - fraction) * (x1 - x0) * (y1 - y0) / (np.pi * np.mean(r**2))))
    r = r[:n]
    c = np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])
    from scipy.spatial import cKDTree

    near = cKDTree(c).query_ball_point(cloud.xyz[:, :2], r=4.0, return_sorted=False)
    keep = np.ones(len(cloud), dtype=bool)
    lens = np.fromiter((len(a) for a in near), dtype=np.int64, count=len(near))
    idx = np.repeat(np.arange(len(cloud)), lens)
    disc = np.concatenate([np.asarray(a, dtype=np.int64) for a in near]) if idx.size else np.zeros(0, np.int64)
    inside = np.hypot(*(cloud.xyz[idx, :2] - c[disc]).T) <= r[disc]
    keep[idx[inside]] = False
    return PointCloud(**{f: getattr(cloud, f)[keep] for f in PointCloud.__dataclass_fields__})


@dataclass
class _Survey:
    district: District
    mesh: SceneMesh
    scene: object
    z_ref: float
    z_fly: float
    swath: float
    step: float
    ys: np.ndarray
    noise_m: float
    unclassified: bool
    ground: GroundMaterials


def _strip(sv: _Survey, k: int, xl: float, rng: np.random.Generator) -> PointCloud:
    """Pulses, returns and attributes of flight strip ``k`` (line at local x ``xl``)."""
    district, mesh, scene, step, ys, swath = sv.district, sv.mesh, sv.scene, sv.step, sv.ys, sv.swath
    h = district.size_m / 2
    xs = np.arange(xl - swath / 2, xl + swath / 2, step)
    X = xs[None, :] + np.where(np.arange(len(ys)) % 2 == 1, step / 2, 0.0)[:, None]
    Y = np.broadcast_to(ys[:, None], X.shape)
    X = X + rng.normal(0, 0.08 * step, X.shape)
    Y = Y + rng.normal(0, 0.08 * step, X.shape)
    keep = (X > -h - 1) & (X < h + 1) & (Y > -h - 1) & (Y < h + 1)
    tx, ty = X[keep], Y[keep]
    n = tx.size
    orig = np.column_stack([np.full(n, xl), ty, np.full(n, sv.z_fly)])
    D = np.column_stack([tx - xl, np.zeros(n), np.full(n, sv.z_ref - sv.z_fly)])
    D /= np.linalg.norm(D, axis=1)[:, None]
    # 60 m/s along track, one strip every 10 minutes, scan position within the line
    tgps = 1.0e5 + 600.0 * k + (ty + h) / 60.0 + (tx - xl) / swath * 1e-3
    angle = np.degrees(np.arctan2(tx - xl, FLIGHT_HEIGHT_M)).astype(np.float32)

    prim, t = _cast(scene, orig, D)
    hit = prim >= 0
    orig, D, tgps, angle, prim, t = (a[hit] for a in (orig, D, tgps, angle, prim, t))
    kind = mesh.kind[prim]

    # ---- vegetation: returns inside the crown, pass-through to the next surface
    veg = (kind == CROWN) | (kind == SHRUB)
    vi = np.flatnonzero(veg)
    # the chord through the crown: cast again from just inside it to its far side
    t_in = t[vi]
    prim_x, t_x = _cast(scene, orig[vi] + D[vi] * (t_in + 1e-3)[:, None], D[vi])
    same = (prim_x >= 0) & (mesh.obj[np.maximum(prim_x, 0)] == mesh.obj[prim[vi]]) & \
        (mesh.kind[np.maximum(prim_x, 0)] == kind[vi])
    chord = np.where(same, t_x + 1e-3, 0.0)
    t_out = t_in + chord
    n_extra = rng.binomial(2, 0.35, vi.size) * (chord > 1.0)
    passes = rng.random(vi.size) < np.exp(-CROWN_EXTINCTION_PER_M * chord)
    pi = vi[passes]
    orig2 = orig[pi] + D[pi] * (t_out[passes] + 0.05)[:, None]
    prim2, t2 = _cast(scene, orig2, D[pi])
    ok2 = prim2 >= 0
    # returns as (pulse index, ray parameter, primitive)
    first_t = t.copy()
    first_t[vi] = t_in + np.minimum(rng.exponential(0.25, vi.size), 0.5 * chord)
    R_pulse, R_t, R_prim = [np.arange(len(t))], [first_t], [prim]
    u = np.sort(rng.random((vi.size, 2)), axis=1)
    for j in (1, 2):
        m = n_extra >= j
        R_pulse.append(vi[m])
        R_t.append((t_in + chord * (0.15 + 0.8 * u[:, j - 1]))[m])
        R_prim.append(prim[vi[m]])
    R_pulse.append(pi[ok2])
    R_t.append((t_out[passes] + 0.05 + t2)[ok2])
    R_prim.append(prim2[ok2])
    R_off = [np.zeros((sum(len(a) for a in R_pulse), 3))]
    # ---- hard edges: a beam footprint across a roof edge echoes twice (roof, then ground)
    hi_ = np.flatnonzero(~veg)
    ang = rng.uniform(0, 2 * np.pi, hi_.size)
    rad = BEAM_RADIUS_M * np.sqrt(rng.random(hi_.size))
    off = np.column_stack([rad * np.cos(ang), rad * np.sin(ang), np.zeros(hi_.size)])
    prim3, t3 = _cast(scene, orig[hi_] + off, D[hi_])
    edge = (prim3 >= 0) & (np.abs(t3 - t[hi_]) > EDGE_SEPARATION_M)
    R_pulse.append(hi_[edge])
    R_t.append(t3[edge])
    R_prim.append(prim3[edge])
    R_off.append(off[edge])
    rp, rt, rprim = np.concatenate(R_pulse), np.concatenate(R_t), np.concatenate(R_prim)
    roff = np.concatenate(R_off)
    order = np.lexsort((rt, rp))
    rp, rt, rprim, roff = rp[order], rt[order], rprim[order], roff[order]
    counts = np.bincount(rp, minlength=len(t))
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ret_no = (np.arange(rp.size) - start[rp] + 1).astype(np.uint8)
    n_ret = counts[rp].astype(np.uint8)

    rkind = mesh.kind[rprim]
    d = D[rp]
    cos_inc = np.abs(np.einsum("ij,ij->i", d, mesh.normal[rprim]))
    # grazing incidence on hard surfaces: weaker echo, often lost
    hard = (rkind == WALL) | (rkind == ROOF) | (rkind == SUPER)
    drop = hard & (rng.random(rp.size) > np.clip(cos_inc / GRAZING_COS, 0.0, 1.0))
    rt_noisy = rt + rng.normal(0.0, sv.noise_m, rt.size)
    local = orig[rp] + roff + d * rt_noisy[:, None]
    inside = (np.abs(local[:, 0]) <= h) & (np.abs(local[:, 1]) <= h) & ~drop
    rp, rt, rprim, rkind, ret_no, n_ret, cos_inc, local = (
        a[inside] for a in (rp, rt, rprim, rkind, ret_no, n_ret, cos_inc, local))
    xyz = local + mesh.origin

    # ---- classes
    cls = np.full(rp.size, 1, np.uint8)
    if not sv.unclassified:
        cls[rkind == TERRAIN] = 2
        cls[(rkind == ROOF) | (rkind == WALL) | (rkind == SUPER)] = 6
        vegk = (rkind == CROWN) | (rkind == SHRUB) | (rkind == TRUNK)
        hag = xyz[vegk, 2] - district.terrain.height(xyz[vegk, 0], xyz[vegk, 1])
        cls[vegk] = np.where(hag < 0.5, 3, np.where(hag < 2.0, 4, 5)).astype(np.uint8)

    # ---- intensity
    obj = mesh.obj[rprim]
    mat = _materials(district, sv.ground, xyz, rkind, obj)
    share = np.where(n_ret > 1, 0.55, 1.0)
    inten = (_REFLECTANCE[mat] * cos_inc * share * (FLIGHT_HEIGHT_M / rt) ** 2 * 60000.0
             * rng.lognormal(0.0, 0.12, rp.size))
    return PointCloud(
        xyz=xyz,
        intensity=np.clip(inten, 1, 65535).astype(np.uint16),
        return_number=ret_no,
        number_of_returns=n_ret,
        classification=cls,
        scan_angle_deg=angle[rp],
        point_source_id=np.full(rp.size, k + 1, np.uint16),
        gps_time=tgps[rp] + (ret_no - 1) * 1e-9,
        kind=rkind.astype(np.int8),
        obj=obj.astype(np.int32),
        plane=mesh.plane[rprim].astype(np.int32),
    )


def _materials(district: District, ground: GroundMaterials, xyz: np.ndarray, rkind: np.ndarray,
               obj: np.ndarray) -> np.ndarray:
    """Material code per return (terrain: asphalt, paving or lawn by position)."""
    mat = np.full(rkind.size, _MAT_PAVING, np.int64)
    ter = rkind == TERRAIN
    if ter.any():
        mat[ter] = ground.at(xyz[ter, 0], xyz[ter, 1])
    roof_mat = np.array([_ROOF_MAT.get(b.roof_material, _MAT_CONCRETE) for b in district.buildings] or [0])
    rm = (rkind == ROOF) | (rkind == SUPER)
    mat[rm] = roof_mat[obj[rm]]
    mat[rkind == WALL] = _MAT_WALL
    mat[(rkind == CROWN) | (rkind == SHRUB)] = _MAT_LEAF
    mat[rkind == TRUNK] = _MAT_BARK
    return mat


def write_laz(cloud: PointCloud, path: str | os.PathLike, epsg: int, *, overwrite: bool = False) -> None:
    """Write a :class:`PointCloud` as LAZ 1.4, point format 6, scale 0.001 m, CRS as WKT VLR.

    Raises
    ------
    OutputExistsError
        When ``path`` exists and ``overwrite`` is False.
    """
    import datetime

    import laspy
    from pyproj import CRS

    header = laspy.LasHeader(point_format=6, version="1.4")
    header.scales = np.array([0.001, 0.001, 0.001])
    mins = cloud.xyz.min(axis=0) if len(cloud) else np.zeros(3)
    header.offsets = np.floor(mins)
    header.add_crs(CRS.from_epsg(int(epsg)))
    header.system_identifier = "citymodel synth"
    header.generating_software = "citymodel synth"
    header.creation_date = datetime.date(2026, 1, 1)
    las = laspy.LasData(header)
    las.x = cloud.xyz[:, 0]
    las.y = cloud.xyz[:, 1]
    las.z = cloud.xyz[:, 2]
    las.intensity = cloud.intensity
    las.return_number = cloud.return_number
    las.number_of_returns = cloud.number_of_returns
    las.classification = cloud.classification
    las.scan_angle = np.round(cloud.scan_angle_deg / 0.006).astype(np.int16)
    las.point_source_id = cloud.point_source_id
    las.gps_time = cloud.gps_time
    with atomic_path(path, overwrite=overwrite) as tmp:
        las.write(str(tmp), do_compress=True, laz_backend=laspy.LazBackend.Lazrs)
