"""Trees of big inputs tile by tile (lidar.vegetation.trees_tiled): the same trees as the whole
cloud, whatever the tile size, with memory bounded by a tile."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from citymodel import synth
from lidar.points.las import scan_las
from lidar.points.pointcloud import read_points
from lidar.vegetation.trees import detect_trees
from lidar.vegetation.trees_tiled import detect_trees_in_files

CLASSES = (1, 2, 3, 4, 5)


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    o = synth.generate(tmp_path_factory.mktemp("trees_tiled"), seed=11, size_m=220.0)
    info = scan_las([o.laz])[0]
    whole = detect_trees(read_points([o.laz], classes=CLASSES), grid_anchor_m=tuple(info.bounds[:2]))
    return o, whole


@pytest.mark.parametrize("tile_m", [70.0, 110.0])
def test_tiles_give_the_whole_cloud_trees(district, tile_m):
    """Forced into tiles (max_points=1) of 70 m and 110 m, whose edges cut through crowns: every
    tree of the whole-cloud detection comes back once, at the same top and height. Crown
    outlines come from a watershed whose flooding priorities are scaled to the grid's tallest
    crown and whose ties are flooded in an order that depends on the grid's extent (scipy's
    ``watershed_ift``), so crown sizes agree closely (most exactly), not all exactly."""
    o, whole = district
    tiled = detect_trees_in_files([o.laz], classes=CLASSES, max_points=1, tile_m=tile_m)
    assert len(whole) > 40
    assert len(tiled) == len(whole)
    d, j = cKDTree(tiled[["x_m", "y_m"]].to_numpy()).query(whole[["x_m", "y_m"]].to_numpy())
    assert np.all(d < 1e-6)
    assert len(np.unique(j)) == len(whole)  # one to one
    np.testing.assert_allclose(tiled.height_m.to_numpy()[j], whole.height_m.to_numpy(), atol=1e-5)
    np.testing.assert_allclose(tiled.h_ground_m.to_numpy()[j], whole.h_ground_m.to_numpy(), atol=0.02)
    dd = tiled.crown_diameter_m.to_numpy()[j] - whole.crown_diameter_m.to_numpy()
    assert np.median(np.abs(dd)) < 0.02 and np.percentile(np.abs(dd), 90) < 0.3
    assert abs(dd.sum()) < 0.01 * whole.crown_diameter_m.sum()
    assert list(tiled.tree_id) == [f"tree_{i + 1:04d}" for i in range(len(tiled))]


def test_small_input_is_read_whole(district):
    o, whole = district
    at_once = detect_trees_in_files([o.laz], classes=CLASSES)
    assert at_once.equals(whole)
