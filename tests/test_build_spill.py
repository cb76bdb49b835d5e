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
    with pytest.raises(RuntimeError, match="stop"):
        lb.build_model([las], footprints=[shapely.box(1040, 2040, 1060, 2060)], crs="EPSG:28992",
                       terrain=False, progress=False)
    assert seen == [[]]  # the block was spilled, loaded and its file deleted before classifying
    assert list(spill_root.iterdir()) == []
