"""Green around each building: the ring shares computed by hand on a known grid."""

from __future__ import annotations

import doctest

import numpy as np
import shapely
from affine import Affine

import lidar.vegetation.surroundings as surroundings
from lidar.vegetation.surroundings import surroundings_shares

T = Affine(0.5, 0, 0, 0, -0.5, 100.0)  # 0.5 m cells, 200 x 200


def _grid():
    codes = np.full((200, 200), 1, np.uint8)  # paved
    return codes


def test_ring_shares_by_hand():
    codes = _grid()
    fp = shapely.box(40, 40, 60, 60)  # 20 x 20 m building
    rows = slice(int((100 - 60) / 0.5), int((100 - 40) / 0.5))
    cols = slice(int(40 / 0.5), int(60 / 0.5))
    codes[rows, cols] = 2
    # grass strip north of the building, y 60..65 over x 40..60 (inside the ring): 20 x 5 m = 100 m2
    codes[int((100 - 65) / 0.5):int((100 - 60) / 0.5), cols] = 5
    # canopy everywhere west of x = 30 (partly in the ring: x 30..40 minus nothing)
    codes[:, : int(30 / 0.5)] = 3
    out = surroundings_shares(codes, T, [fp], ring_m=10.0)
    ring = fp.buffer(10.0).difference(fp)
    west = ring.intersection(shapely.box(0, 0, 30, 100)).area
    # cell-centre sampling of a curved ring: exact to about one cell row along its edge
    np.testing.assert_allclose(out[0, 0], west / ring.area, atol=0.01)
    np.testing.assert_allclose(out[0, 1], (west + 100.0) / ring.area, atol=0.01)


def test_neighbour_buildings_are_left_out_and_outside_is_nan():
    codes = _grid()
    codes[:, 130:] = 2  # a wall of buildings east of x = 65
    fp = shapely.box(40, 40, 60, 60)
    out = surroundings_shares(codes, T, [fp, shapely.box(500, 500, 510, 510)], ring_m=10.0)
    assert out[0, 0] == 0.0 and out[0, 1] == 0.0  # only paved cells counted (buildings excluded)
    assert np.isnan(out[1]).all()  # outside the grid


def test_docstring_example():
    failures, attempted = doctest.testmod(surroundings)
    assert failures == 0 and attempted > 0
