"""Reconstruction on exact synthetic roofs: planes, solids, steps, attributes, fallbacks."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import Polygon, box

from citymodel.validation import validate
from lidar.build import build_model
from lidar.pointcloud import PointCloud
from lidar.reconstruct.extrude import shell_is_closed, signed_volume_m3
from lidar.roofplanes import detect_roof_planes

SPACING_M = 0.35  # ~8 pts/m2, like AHN3


def _grid(x0, y0, x1, y1, rng, margin=0.0):
    xs = np.arange(x0 + margin, x1 - margin, SPACING_M)
    ys = np.arange(y0 + margin, y1 - margin, SPACING_M)
    gx, gy = np.meshgrid(xs, ys)
    xy = np.column_stack([gx.ravel(), gy.ravel()])
    return xy + rng.uniform(-0.1, 0.1, xy.shape)


def _cloud(roof_fn, footprint: Polygon, rng, ground_z=0.0, extent=6.0) -> PointCloud:
    """Roof points (class 6) from ``roof_fn(xy) -> z`` inside the footprint, ground (class 2) around."""
    x0, y0, x1, y1 = footprint.bounds
    xy = _grid(x0 - extent, y0 - extent, x1 + extent, y1 + extent, rng)
    import shapely

    inside = shapely.contains_xy(footprint, xy[:, 0], xy[:, 1])
    z = np.where(inside, roof_fn(xy), ground_z) + rng.normal(0, 0.02, len(xy))
    cls = np.where(inside, 6, 2).astype(np.uint8)
    return PointCloud.from_xyz(np.column_stack([xy, z]), classification=cls, epsg=32632)


def gable(xy):  # ridge along x at y = 5, eaves 8 m, ridge 11 m
    return 11.0 - 0.6 * np.abs(xy[:, 1] - 5.0)


def two_flat(step_m):
    return lambda xy: np.where(xy[:, 0] < 10.0, 6.0, 6.0 + step_m)


def _solid(model, bid, lod):
    for g in model.city_objects[bid]["geometry"]:
        if g["lod"] == lod:
            return g
    return None


def _surfaces(model, g, kind):
    types = [s["type"] for s in g["semantics"]["surfaces"]]
    return [s for s, v in zip(g["boundaries"][0], g["semantics"]["values"][0], strict=True) if types[v] == kind]


def test_roof_planes_of_a_gable():
    rng = np.random.default_rng(1)
    xy = _grid(0, 0, 20, 10, rng, margin=0.05)
    xyz = np.column_stack([xy, gable(xy) + rng.normal(0, 0.02, len(xy))])
    pl = detect_roof_planes(xyz)
    assert pl.n_planes == 2
    slopes = np.sort(pl.coef[:, 1])
    np.testing.assert_allclose(slopes, [-0.6, 0.6], atol=0.02)
    assert (pl.labels >= 0).mean() > 0.9
    np.testing.assert_allclose(pl.tilt_deg, np.degrees(np.arctan(0.6)), atol=1.0)


@pytest.fixture(scope="module")
def gable_model():
    rng = np.random.default_rng(2)
    fp = box(0, 0, 20, 10)
    pc = _cloud(gable, fp, rng)
    return build_model(pc, footprints=[fp], terrain=False, progress=False)


def test_gable_lod22_solid(gable_model):
    m = gable_model
    assert validate(m).valid
    a = m.city_objects["fp0"]["attributes"]
    assert a["status"] == "ok"
    assert a["roof_type"] == "slanted"
    assert a["h_ground_m"] == pytest.approx(0.0, abs=0.05)
    assert a["h_roof_max_m"] == pytest.approx(11.0, abs=0.1)
    # 70th percentile of z = 11 - 0.6 |y - 5| over a uniform rectangle: |y-5| at its 30th pct = 1.5
    assert a["h_roof_70p_m"] == pytest.approx(11.0 - 0.6 * 1.5, abs=0.05)
    assert a["rmse_lod22_m"] < 0.05
    assert a["point_density_pts_m2"] == pytest.approx(1 / SPACING_M**2, rel=0.1)
    g = _solid(m, "fp0", "2.2")
    surfaces = g["boundaries"][0]
    assert shell_is_closed(surfaces)
    vol = signed_volume_m3(m.vertices, surfaces)
    assert vol == pytest.approx(20 * 10 * 8 + 20 * 10 * 3 / 2, rel=0.02)  # box + prism: 1900 m3
    roofs = _surfaces(m, g, "RoofSurface")
    assert len(roofs) == 2
    # the two roof planes meet at the ridge: every wall touches the ground (no step walls)
    for w in _surfaces(m, g, "WallSurface"):
        assert m.vertices[w[0], 2].min() == pytest.approx(0.0, abs=0.05)
    ridge = m.vertices[np.unique(np.concatenate([np.ravel(r) for r in roofs]))]
    assert ridge[:, 2].max() == pytest.approx(11.0, abs=0.05)


def test_lod12_and_lod13(gable_model):
    m = gable_model
    g12 = _solid(m, "fp0", "1.2")
    assert signed_volume_m3(m.vertices, g12["boundaries"][0]) == pytest.approx(200 * 10.1, rel=0.01)
    g13 = _solid(m, "fp0", "1.3")
    assert len(_surfaces(m, g13, "RoofSurface")) == 1  # a 3 m tall gable is one LoD1.3 part


@pytest.mark.parametrize("step_m, parts13", [(6.0, 2), (1.5, 1)])
def test_steps(step_m, parts13):
    rng = np.random.default_rng(3)
    fp = box(0, 0, 20, 10)
    m = build_model(_cloud(two_flat(step_m), fp, rng), footprints=[fp], terrain=False, progress=False)
    assert validate(m).valid
    a = m.city_objects["fp0"]["attributes"]
    assert a["roof_type"] == "multiple horizontal"
    g13 = _solid(m, "fp0", "1.3")
    assert len(_surfaces(m, g13, "RoofSurface")) == parts13
    g22 = _solid(m, "fp0", "2.2")
    roofs = _surfaces(m, g22, "RoofSurface")
    assert len(roofs) == 2
    heights = sorted(float(m.vertices[r[0], 2].mean()) for r in roofs)
    np.testing.assert_allclose(heights, [6.0, 6.0 + step_m], atol=0.05)
    # the step is a wall from the low roof to the high roof
    inner = [w for w in _surfaces(m, g22, "WallSurface") if m.vertices[w[0], 2].min() > 1.0]
    assert inner and m.vertices[inner[0][0], 2].max() == pytest.approx(6.0 + step_m, abs=0.05)
    assert signed_volume_m3(m.vertices, g22["boundaries"][0]) == pytest.approx(100 * 6 + 100 * (6 + step_m), rel=0.02)


def test_time_limit_falls_back():
    rng = np.random.default_rng(4)
    fp = box(0, 0, 20, 10)
    m = build_model(_cloud(gable, fp, rng), footprints=[fp], terrain=False, progress=False, time_limit_s=0.0)
    a = m.city_objects["fp0"]["attributes"]
    assert a["status"] == "fallback" and "time limit" in a["status_reason"]
    assert [g["lod"] for g in m.city_objects["fp0"]["geometry"]] == ["1.2"]
    assert validate(m).valid


def test_result_does_not_depend_on_other_buildings():
    rng = np.random.default_rng(5)
    fa, fb = box(0, 0, 20, 10), box(32, 0, 45, 12)
    pc_a = _cloud(gable, fa, rng)  # points up to x = 26
    pc_b = _cloud(lambda xy: np.full(len(xy), 9.0), fb, rng, extent=2.0)  # from x = 30: outside a's 3 m ring
    both = PointCloud.from_xyz(np.vstack([pc_b.xyz, pc_a.xyz]),
                               classification=np.concatenate([pc_b.classification, pc_a.classification]), epsg=32632)
    alone = build_model(pc_a, footprints=[fa], terrain=False, progress=False)
    # other building present, points in another order, extra ground around
    together = build_model(both, footprints=[fb, fa], terrain=False, progress=False)
    ga, gb = _solid(alone, "fp0", "2.2"), _solid(together, "fp1", "2.2")
    va = alone.vertices[np.unique(np.concatenate([np.ravel(r) for s in ga["boundaries"][0] for r in s]))]
    vb = together.vertices[np.unique(np.concatenate([np.ravel(r) for s in gb["boundaries"][0] for r in s]))]
    # identical up to the ground ring: the ring's ground points are the same here
    np.testing.assert_allclose(np.sort(va, axis=0), np.sort(vb, axis=0), atol=1e-9)


def test_multipolygon_footprint_gives_building_parts():
    import shapely

    rng = np.random.default_rng(6)
    fa, fb = box(0, 0, 12, 10), box(20, 0, 30, 10)
    mp = shapely.MultiPolygon([fa, fb])
    pc = _cloud(lambda xy: np.where(xy[:, 0] < 16, 7.0, 10.0), box(0, 0, 30, 10), rng)
    m = build_model(pc, footprints=[mp], terrain=False, progress=False)
    b = m.city_objects["fp0"]
    assert len(b["children"]) == 2
    assert validate(m).valid
    for cid in b["children"]:
        assert {g["lod"] for g in m.city_objects[cid]["geometry"]} == {"1.2", "1.3", "2.2"}


def three_building_cloud() -> tuple[PointCloud, list]:
    """A gable, a two-level flat roof and a flat roof, with their ground (seeded)."""
    rng = np.random.default_rng(7)
    fps = [box(0, 0, 20, 10), box(30, 0, 42, 9), box(0, 20, 15, 32)]
    xyz, cls = [], []
    for fp, fn in zip(fps, [gable, two_flat(4.0), lambda xy: np.full(len(xy), 7.5)], strict=True):
        pc = _cloud(fn, fp, rng, extent=2.0)
        xyz.append(pc.xyz)
        cls.append(pc.classification)
    return PointCloud.from_xyz(np.vstack(xyz), classification=np.concatenate(cls), epsg=32632), fps


def test_workers_give_the_same_model():
    pc, fps = three_building_cloud()
    one = build_model(pc, footprints=fps, terrain=False, progress=False, workers=1)
    two = build_model(pc, footprints=fps, terrain=False, progress=False, workers=2)
    np.testing.assert_array_equal(one.vertices, two.vertices)
    assert one.city_objects == two.city_objects


def test_bad_footprints_are_repaired_or_skipped():
    rng = np.random.default_rng(8)
    good = box(0, 0, 20, 10)
    pc = _cloud(gable, box(0, 0, 40, 10), rng)
    bowtie = Polygon([(22, 0), (38, 10), (38, 0), (22, 10)])  # self-intersecting
    sliver = Polygon([(0, 20), (10, 20), (20, 20)])  # zero area
    far = box(500, 500, 510, 510)  # outside the cloud
    m = build_model(pc, footprints=[good, bowtie, sliver, far], terrain=False, progress=False)
    a = [m.city_objects[f"fp{i}"]["attributes"] for i in range(4)]
    assert a[0]["status"] == "ok"
    assert a[1]["status"] in ("ok", "fallback") and "make_valid" in a[1]["status_reason"]
    assert m.city_objects["fp1"].get("children")  # the repaired bow-tie is two triangles: two parts
    assert a[2]["status"] == "skipped" and "zero area" in a[2]["status_reason"]
    assert a[3]["status"] == "skipped" and "outside the point cloud" in a[3]["status_reason"]
    assert not m.city_objects["fp2"]["geometry"] and not m.city_objects["fp3"]["geometry"]
    assert validate(m).valid


def test_partition_helpers():
    import shapely

    from lidar.reconstruct.partition import (
        partition_from_polygons,
        remove_checkerboards,
        straighten_inner_chains,
    )

    lab = np.array([[0, 1, 1], [1, 0, 1], [1, 1, 1]])
    out = remove_checkerboards(lab)
    a, b, c, d = out[:-1, :-1], out[:-1, 1:], out[1:, :-1], out[1:, 1:]
    assert not np.any((a == d) & (b == c) & (a != b))
    # two faces split by a staircase (steps of 0.4 m) along y = 5: the chain becomes straight
    xs = np.arange(0, 10.01, 2.0)
    stair = [(x, 5.0 + 0.4 * (i % 2)) for i, x in enumerate(xs)]
    line = []
    for i, (x, y) in enumerate(stair):
        line.append((x, y))
        if i + 1 < len(stair):
            line.append((stair[i + 1][0], y))
    lower = Polygon([(0, 0), (10, 0), *line[::-1]])
    upper = Polygon(line + [(10, 10), (0, 10)])
    part = partition_from_polygons([lower, upper], np.array([0, 1]))
    st = straighten_inner_chains(part, 0.6)
    assert st is not part
    assert sum(len(r) for f in st.faces for r in f) < sum(len(r) for f in part.faces for r in f)
    polys = st.polygons()
    assert all(p.is_valid for p in polys)
    assert sum(p.area for p in polys) == pytest.approx(100.0)
    assert shapely.union_all(polys).equals(box(0, 0, 10, 10))
