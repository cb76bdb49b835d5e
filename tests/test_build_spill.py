"""Spilling big inputs into blocks (lidar.spill): routing, round trip, cleanup."""

from __future__ import annotations

import numpy as np
import pytest

from citymodel.errors import InputError, PointCloudError
from lidar.pointcloud import iter_chunks, read_points, scan_las
from lidar.spill import load_block, route_points, spill_blocks


def _write_las(path, n=5000, seed=0):
    import laspy

    rng = np.random.default_rng(seed)
    h = laspy.LasHeader(point_format=1, version="1.2")
    h.scales = np.array([0.001, 0.001, 0.001])
    h.offsets = np.array([1000.0, 2000.0, 0.0])
    las = laspy.LasData(h)
    las.x = rng.uniform(1000, 1100, n)
    las.y = rng.uniform(2000, 2100, n)
    las.z = rng.uniform(0, 30, n)
    las.classification = rng.choice([1, 2, 6], n).astype(np.uint8)
    las.return_number = np.ones(n, np.uint8)
    las.number_of_returns = np.ones(n, np.uint8)
    las.intensity = rng.integers(0, 60000, n).astype(np.uint16)
    las.write(str(path))
    return path


def test_route_points_matches_brute_force():
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 100, (20000, 2))
    xy[:50] = np.round(xy[:50])  # points on box edges are in both boxes
    lo = rng.uniform(-10, 90, (25, 2))
    boxes = np.column_stack([lo, lo + rng.uniform(1, 40, (25, 2))])
    boxes[0] = (10, 10, 20, 20)
    boxes[1] = (20, 10, 30, 20)
    boxes[2] = (-50, -50, 200, 200)  # one box much larger than the others
    got = route_points(xy, boxes)
    for b, bb in enumerate(boxes):
        want = np.flatnonzero((xy[:, 0] >= bb[0]) & (xy[:, 0] <= bb[2]) & (xy[:, 1] >= bb[1]) & (xy[:, 1] <= bb[3]))
        np.testing.assert_array_equal(got.get(b, np.zeros(0, np.int64)), want)
    assert len(got[2]) == len(xy)


def test_route_points_rejects_bad_boxes():
    with pytest.raises(InputError, match="bounding boxes"):
        route_points(np.zeros((3, 2)), [(1, 0, 0, 1)])


def test_spill_equals_read_with_bbox(tmp_path):
    las = [_write_las(tmp_path / "a.las", seed=1), _write_las(tmp_path / "b.las", seed=2)]
    infos = scan_las(las, crs="EPSG:28992")
    boxes = np.array([(1000, 2000, 1030, 2030), (1020, 2020, 1060, 2100), (1090, 2090, 1200, 2200), (1500, 0, 1600, 10)])
    (tmp_path / "spill").mkdir()
    seen = []
    paths = spill_blocks(infos, boxes, tmp_path / "spill", chunk_size=777, advance=seen.append)
    assert sum(seen) == 10000
    for bb, p in zip(boxes, paths, strict=True):
        got = load_block(p, epsg=28992)
        want = read_points(las, crs="EPSG:28992", bbox=bb, engine="laspy")
        np.testing.assert_array_equal(got.xyz, want.xyz)  # same points, same order
        for name in ("classification", "return_number", "number_of_returns", "intensity"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
    assert len(load_block(paths[3])) == 0
    # classes filter
    paths = spill_blocks(infos, boxes[:1], tmp_path / "spill", classes=(2, 6))
    got = load_block(paths[0])
    want = read_points(las, crs="EPSG:28992", bbox=boxes[0], classes=(2, 6), engine="laspy")
    assert set(np.unique(got.classification)) == {2, 6}
    np.testing.assert_array_equal(got.xyz, want.xyz)


def test_iter_chunks_names_a_truncated_file(tmp_path):
    p = _write_las(tmp_path / "a.las")
    infos = scan_las([p], crs="EPSG:28992")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) - 5000])  # truncated after the header was scanned
    with pytest.raises(PointCloudError, match="a.las"):
        for _ in iter_chunks(infos, chunk_size=1000):
            pass


def test_spill_folder_removed_on_error(tmp_path, monkeypatch):
    import tempfile

    import shapely

    import lidar.build as lb

    las = _write_las(tmp_path / "a.las")
    spill_root = tmp_path / "tmp"
    spill_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spill_root))
    monkeypatch.setattr(lb, "SINGLE_READ_POINTS", 0)
    seen = []

    def boom(pc, ortho=None):
        seen.append(sorted(p.name for p in next(spill_root.iterdir()).iterdir()))
        raise RuntimeError("stop")

    monkeypatch.setattr(lb, "_classes", boom)
    st: dict = {}
    # in this process (hard_time_limit=False): the patched classifier is not sent to worker processes
    m = lb.build_model([las], footprints=[shapely.box(1040, 2040, 1060, 2060)], crs="EPSG:28992",
                       terrain=False, progress=False, stats=st, hard_time_limit=False)
    assert seen == [[]]  # the block was spilled, loaded and its file deleted before classifying
    assert list(spill_root.iterdir()) == []
    # the tile's error is reported, not raised (a failed tile never stops the others)
    assert [t["reason"] for t in st["failed_tiles"]] == ["RuntimeError: stop"]
    assert m.city_objects["fp0"]["attributes"]["status"] == "skipped"
    assert "failed: RuntimeError: stop" in m.city_objects["fp0"]["attributes"]["status_reason"]


def test_owned_ground_stacks_to_the_unique_points():
    from lidar.build import _owned_ground

    rng = np.random.default_rng(5)
    g = np.round(rng.uniform(0, 100, (6000, 3)), 1)
    g[3000:3100] = g[:100]  # duplicated points
    boxes = np.array([(0, 0, 50, 50), (45, 0, 100, 55), (0, 40, 60, 100), (50, 50, 100, 100), (20, 20, 80, 80)])
    parts = []
    for k, bb in enumerate(boxes):
        inside = (g[:, 0] >= bb[0]) & (g[:, 0] <= bb[2]) & (g[:, 1] >= bb[1]) & (g[:, 1] <= bb[3])
        parts.append(_owned_ground(g[inside], boxes, k))
    stacked = np.vstack(parts)
    np.testing.assert_array_equal(np.unique(stacked, axis=0), np.unique(g, axis=0))
    assert len(stacked) == len(np.unique(g, axis=0))


def test_spilled_terrain_equals_one_read(tmp_path, monkeypatch):
    """The TIN and the DTM of a spilled run (30 m blocks) equal those of one read (up to the order
    of float sums), and the TIN is within its 0.2 m bound of every ground point of the file."""
    import laspy
    import rasterio
    import shapely
    from matplotlib.tri import LinearTriInterpolator, Triangulation

    import lidar.build as lb

    rng = np.random.default_rng(9)
    n = 40000
    x, y = rng.uniform(0, 120, n), rng.uniform(0, 120, n)
    fps = [shapely.box(x0, y0, x0 + 10, y0 + 8) for x0 in (10, 50, 90) for y0 in (15, 60, 100)]
    roof = shapely.contains_xy(shapely.union_all(fps), x, y)
    h = laspy.LasHeader(point_format=1, version="1.2")
    h.scales, h.offsets = np.array([0.001] * 3), np.zeros(3)
    las = laspy.LasData(h)
    las.x, las.y = x, y
    las.z = 0.02 * x + 0.5 * np.sin(y / 15) + np.where(roof, 6.0, 0.0)
    las.classification = np.where(roof, 6, 2).astype(np.uint8)
    las.write(str(tmp_path / "g.las"))

    def run(single: int, name: str):
        monkeypatch.setattr(lb, "SINGLE_READ_POINTS", single)
        monkeypatch.setattr(lb, "BLOCK_M", 30.0)
        st: dict = {}
        m = lb.build_model([tmp_path / "g.las"], footprints=fps, crs="EPSG:28992", lods=("1.2",), progress=False,
                           dtm_path=tmp_path / f"{name}.tif", stats=st)
        tin = m.city_objects[m.ids_of_type("TINRelief")[0]]["geometry"][0]["boundaries"]
        t = np.array([r[0] for r in tin])
        v = m.vertices[np.unique(t)]
        g = np.column_stack([las.x, las.y, las.z])[~roof]
        lo, hi = v[:, :2].min(axis=0), v[:, :2].max(axis=0)  # the ground the build read: footprints' box + 3 m
        g = g[((g[:, :2] >= lo) & (g[:, :2] <= hi)).all(axis=1)]
        assert len(g) > 0.5 * (~roof).sum()
        zi = LinearTriInterpolator(Triangulation(m.vertices[:, 0], m.vertices[:, 1], t), m.vertices[:, 2])(g[:, 0], g[:, 1])
        err = np.abs(g[:, 2] - np.ma.filled(zi, np.nan))
        assert not np.isnan(err).any() and err.max() <= 0.2 + 1e-6, (name, np.nanmax(err))
        with rasterio.open(tmp_path / f"{name}.tif") as r:
            return np.unique(v, axis=0), r.read(1), st["spilled"], m

    v1, d1, s1, m1 = run(10**9, "one")
    v2, d2, s2, m2 = run(0, "spilled")
    assert (s1, s2) == (False, True)
    assert len(v1) >= 10
    np.testing.assert_allclose(v1, v2, rtol=0, atol=1e-9)
    np.testing.assert_allclose(d1, d2, rtol=0, atol=1e-5)  # float32 of sums taken in another order
    for bid in m1.building_ids():
        assert m1.city_objects[bid]["attributes"] == m2.city_objects[bid]["attributes"]


def test_grid_index_sorts_by_cell_like_a_stable_argsort():
    """The index's counting sort gives np.argsort(cell, kind="stable") and the cells' starts."""
    from lidar.points.select import GridIndex

    rng = np.random.default_rng(3)
    xy = np.vstack([rng.uniform(-50, 130, (20_000, 2)), np.full((50, 2), 7.0)])  # and 50 equal points
    idx = GridIndex(xy, cell_m=7.5)
    ij = np.floor((xy - xy.min(axis=0)) / 7.5).astype(np.int64)
    cell = ij[:, 1] * idx.nx + ij[:, 0]
    np.testing.assert_array_equal(idx.order, np.argsort(cell, kind="stable"))
    np.testing.assert_array_equal(idx.starts, np.concatenate([[0], np.cumsum(np.bincount(cell, minlength=idx.nx * idx.ny))]))
    box = (0.0, 10.0, 40.0, 33.0)
    want = np.flatnonzero((xy[:, 0] >= 0) & (xy[:, 0] <= 40) & (xy[:, 1] >= 10) & (xy[:, 1] <= 33))
    np.testing.assert_array_equal(np.sort(idx.query_bbox(*box)), want)
