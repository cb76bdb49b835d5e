"""Terrain of the build from ground points that arrive block by block (lidar._terrain, refine_tin)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.tri import LinearTriInterpolator, Triangulation

from citymodel.errors import InputError
from lidar._terrain import TerrainAccumulator
from lidar.dtm import make_dtm
from lidar.tin import refine_tin


def _independent_errors(points, vertices, triangles):
    """|z - TIN| through matplotlib's linear interpolator (not the kernels under test)."""
    tri = Triangulation(vertices[:, 0], vertices[:, 1], triangles)
    zi = LinearTriInterpolator(tri, vertices[:, 2])(points[:, 0], points[:, 1])
    return np.abs(points[:, 2] - np.ma.filled(zi, np.nan))


@pytest.fixture(scope="module")
def rough_ground() -> np.ndarray:
    """120 000 ground points over 300 m x 200 m: hills, a 1 m kerb, 5 cm noise, points on the box edges."""
    rng = np.random.default_rng(4)
    n = 120_000
    xy = rng.uniform((1000.0, 5000.0), (1300.0, 5200.0), (n, 2))
    xy[:200, 0] = 1000.0  # on the west edge of the box
    xy[200:400, 1] = 5200.0  # on the north edge
    xy = np.round(xy, 3)  # LAS-like mm coordinates: ties and collinear points happen
    z = 3 * np.sin(xy[:, 0] / 40) + 2 * np.cos(xy[:, 1] / 25) + np.where(xy[:, 0] > 1150, 1.0, 0.0)
    return np.column_stack([xy, z + rng.normal(0, 0.05, n)])


@pytest.mark.parametrize("blocks", [1, 7])
def test_tin_bound_holds_for_every_ground_point(rough_ground, blocks):
    g = rough_ground
    acc = TerrainAccumulator((1000.0, 5000.0, 1300.0, 5200.0))
    # blocks in x (as the build's blocks own their points), added in an arbitrary order
    edges = np.linspace(1000, 1300, blocks + 1)
    k = np.clip(np.searchsorted(edges, g[:, 0], side="right") - 1, 0, blocks - 1)
    for b in np.random.default_rng(0).permutation(blocks):
        acc.add(g[k == b])
    assert acc.n_points == len(g)
    st: dict = {}
    v, t = acc.tin(0.2, stats=st)
    err = _independent_errors(g, v, t)
    assert not np.isnan(err).any()  # every point is covered, those on the box edges included
    assert err.max() <= 0.2 + 1e-6
    assert st["max_error_m"] <= 0.2 and st["n_outside"] == 0
    np.testing.assert_allclose(st["max_error_m"], err.max(), atol=1e-6)
    assert len(v) < 0.25 * len(g)  # a real simplification of noisy ground
    a, b, c = v[t[:, 0]], v[t[:, 1]], v[t[:, 2]]
    nz = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    assert (nz > 0).all()  # counter-clockwise, none flat
    ext = np.ptp(g[:, :2], axis=0)
    np.testing.assert_allclose(nz.sum() / 2, ext[0] * ext[1], rtol=1e-9)  # the triangles tile the box exactly


def test_refine_tin_from_a_bad_start_reaches_the_bound():
    rng = np.random.default_rng(2)
    xy = rng.uniform(0, 50, (20_000, 2))
    p = np.column_stack([xy, np.where(xy[:, 0] > 25, 1.0, 0.0) + 0.1 * np.sin(xy[:, 1])])
    corners = np.array([[0, 0, 5.0], [50, 0, 5.0], [50, 50, 5.0], [0, 50, 5.0]])  # 5 m too high
    lo, hi = p[:, :2].min(axis=0), p[:, :2].max(axis=0)
    corners[:, :2] = [[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]]
    batches = lambda: (p[i::3] for i in range(3))  # noqa: E731
    v, t = refine_tin(corners, batches, 0.1)
    assert _independent_errors(p, v, t).max() <= 0.1 + 1e-6
    with pytest.raises(InputError, match="max_error_m"):
        refine_tin(corners, batches, 0.0)
    with pytest.raises(InputError, match="vertices"):
        refine_tin(corners[:2], batches, 0.1)


def test_dtm_is_the_cell_mean_grid_of_all_blocks(rough_ground):
    """Block sums on the aligned grid give make_dtm's grid on the same (aligned) bounds."""
    g = rough_ground[rough_ground[:, 0] < 1299.5]  # stay inside the last aligned cell column
    acc = TerrainAccumulator((1000.0, 5000.0, 1300.0, 5200.0), dtm_resolution_m=2.0, tin=False)
    for part in np.array_split(g[np.argsort(g[:, 1])], 5):
        acc.add(part)
    grid, tr = acc.dtm()
    # cells are [x, x + 2) in x and (y - 2, y] in y (north-up rows), lines on multiples of 2 m
    (xmin, ymin), (xmax, ymax) = g[:, :2].min(axis=0), g[:, :2].max(axis=0)
    left, right = np.floor(xmin / 2) * 2, np.floor(xmax / 2) * 2 + 2
    bottom, top = np.ceil(ymin / 2) * 2 - 2, np.ceil(ymax / 2) * 2
    want, wtr = make_dtm(g, 2.0, bounds=(left, bottom, right - 1e-9, top - 1e-9))
    assert grid.shape == want.shape and tr == wtr
    np.testing.assert_allclose(grid, want, atol=1e-5)
