"""Sunlit share of the walls a cell sees (microclimate.seen_walls) against a closed form."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from energy.sun import direction_vectors
from microclimate.grid import HeatRasters, prepare_grid
from microclimate.seen_walls import N_STRIP_POINTS, strip_sunlit_fraction
from microclimate.skyview import sunlit_fraction

TR = Affine(1.0, 0.0, 500000.0, 0.0, -1.0, 5000.0)


@pytest.fixture(scope="module")
def courtyard():
    """An E-W street 8 m wide between a 10 m block to the south and a 12 m block to the north."""
    ny, nx = 30, 80
    dsm = np.zeros((ny, nx))
    dsm[:11, :] = 12.0   # north block (rows 0-10), its south-facing wall at row 11
    dsm[19:, :] = 10.0   # south block (rows 19-29); the street: rows 11-18, 8 m
    geom = prepare_grid(HeatRasters(dsm, np.zeros_like(dsm), None, None, TR, None), n_rays=256)
    cell = int(np.flatnonzero(geom.cells == 15 * nx + 40)[0])
    return geom, cell


@pytest.mark.parametrize("tan_elev, expected", [(0.25, 0.25), (0.5, 0.5), (0.9, 0.75), (1.2, 1.0)])
def test_sunlit_share_of_the_wall_seen_northwards(courtyard, tan_elev, expected):
    """Sun due south at elevation e: the south block's shadow on the north wall reaches
    ``z = 10 - 8 tan e`` (points 0.3 m in front: 7.7 m of street), so the lit share of the
    12 m wall is ``1 - z / 12`` quantised by the strip's points at 1.5, 4.5, 7.5, 10.5 m."""
    geom, cell = courtyard
    elev = np.degrees(np.arctan(tan_elev))
    sun = direction_vectors(np.array([90.0 - elev]), np.array([180.0]))[0]
    strip = geom.wall_strip[0][:, [cell]]  # looking north
    np.testing.assert_allclose(strip[:, 0, 2], (np.arange(N_STRIP_POINTS) + 0.5) * 3.0, atol=1e-4)
    assert abs(strip[0, 0, 1] - (5000.0 - 11.0 - 0.3 - geom.scene.origin[1])) < 0.5
    z_shadow = 10.0 - 7.7 * tan_elev
    lit_heights = strip[:, 0, 2] > z_shadow
    assert lit_heights.mean() == expected
    got = strip_sunlit_fraction(geom.scene, strip, sun, 0.03)
    assert got[0] == pytest.approx(expected)
    # the single mean hit point (the former test) can only say 0 or 1
    one = sunlit_fraction(geom.scene, geom.body.wall_point[0, [cell]] - [0, 0.3, 0], sun, 0.03)
    assert one[0] in (0.0, 1.0)


def test_no_wall_no_strip(courtyard):
    geom, cell = courtyard
    # looking east or west along the street: walls only far off or none: NaN where none
    has = np.isfinite(geom.body.wall_point[:, :, 0])
    assert np.array_equal(np.isfinite(geom.wall_strip[:, 0, :, 0]), has)
