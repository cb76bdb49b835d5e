"""One reading path (lidar.points): files and an in-memory cloud read the same way, chunk by chunk."""

from __future__ import annotations

import laspy
import numpy as np
import pytest
from pyproj import CRS

from citymodel._optional import require
from citymodel.errors import MissingDependencyError, PointCloudError
from lidar.points.pointcloud import PointCloud, read_points
from lidar.points.route import route_points
from lidar.points.source import open_points


def _write_las(path, xyz, cls):
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.scales = np.array([0.001, 0.001, 0.001])
    header.offsets = np.floor(xyz.min(axis=0))
    header.add_crs(CRS.from_epsg(28992))
    las = laspy.LasData(header)
    las.x, las.y, las.z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    las.classification = cls
    las.write(path)
    return path


@pytest.fixture
def two_files(tmp_path):
    rng = np.random.default_rng(3)
    out = []
    for k in range(2):
        xyz = np.column_stack([rng.uniform(1000 + 50 * k, 1050 + 50 * k, 2500), rng.uniform(2000, 2050, 2500),
                               rng.uniform(0, 20, 2500)])
        cls = rng.choice(np.array([1, 2, 6], np.uint8), 2500)
        out.append(_write_las(tmp_path / f"t{k}.las", xyz, cls))
    return out


def test_chunks_of_files_stack_to_the_points_read(two_files):
    src = open_points(two_files)
    assert not src.in_memory and src.n_points == 5000 and src.epsg == 28992
    whole = read_points(two_files)
    parts = [arrs for _info, arrs, _n in src.chunks(chunk_size=700)]
    xyz = np.concatenate([p[0] for p in parts])
    np.testing.assert_array_equal(xyz, whole.xyz)  # same points, same order, exact
    np.testing.assert_array_equal(np.concatenate([p[1] for p in parts]), whole.classification)
    assert sum(n for _i, _a, n in src.chunks(chunk_size=700)) == 5000


def test_read_box_equals_read_points_box(two_files):
    box = (1020.0, 2010.0, 1070.0, 2030.0)
    got = open_points(two_files).read(box)
    ref = read_points(two_files, bbox=box)
    np.testing.assert_array_equal(got.xyz, ref.xyz)
    inside = ((got.xyz[:, 0] >= box[0]) & (got.xyz[:, 0] <= box[2]) & (got.xyz[:, 1] >= box[1])
              & (got.xyz[:, 1] <= box[3]))
    assert inside.all() and 0 < len(got) < 5000


def test_an_in_memory_cloud_is_one_chunk(two_files):
    pc = read_points(two_files)
    src = open_points(pc)
    assert src.in_memory and src.files == [] and src.n_points == len(pc)
    chunks = list(src.chunks(chunk_size=10))
    assert len(chunks) == 1 and chunks[0][0] is None and chunks[0][2] == len(pc)
    np.testing.assert_array_equal(chunks[0][1][0], pc.xyz)
    assert src.read() is pc
    np.testing.assert_allclose(src.extents[0], (*pc.xyz[:, :2].min(axis=0), *pc.xyz[:, :2].max(axis=0)))


def test_empty_cloud_is_refused():
    empty = PointCloud(np.zeros((0, 3)), np.zeros(0, np.uint8), np.zeros(0, np.uint8), np.zeros(0, np.uint8),
                       np.zeros(0, np.uint16), 28992, [])
    with pytest.raises(PointCloudError, match="empty"):
        open_points(empty)


def test_route_points_matches_a_direct_box_test():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (4000, 2))
    boxes = np.array([[0, 0, 40, 40], [30, 30, 70, 90], [60, 0, 100, 50], [95, 95, 99, 99]], float)
    routed = route_points(xy, boxes)
    for b, bb in enumerate(boxes):
        ref = np.flatnonzero((xy[:, 0] >= bb[0]) & (xy[:, 0] <= bb[2]) & (xy[:, 1] >= bb[1]) & (xy[:, 1] <= bb[3]))
        np.testing.assert_array_equal(routed.get(b, np.zeros(0, np.int64)), ref)


def test_require_names_the_extra():
    assert require("math", feature="x").sqrt(9.0) == 3.0
    with pytest.raises(MissingDependencyError, match=r"method='csf' needs no_such_pkg_xyz .*pip install 'citymodel\[lidar\]', or use"):
        require("no_such_pkg_xyz", extra="lidar", feature="method='csf'", hint="or use method='smrf'")
    with pytest.raises(ImportError, match="pip install no_such_pkg_xyz"):  # also an ImportError
        require("no_such_pkg_xyz.sub", feature="a base feature")
