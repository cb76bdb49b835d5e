"""Height-field sun rays (microclimate.sunrays) against the Embree ray cast of the same scene,
against analytic box shadows, and the grid's result independent of the thread count."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from affine import Affine

from citymodel.errors import InputError
from energy.sun import direction_vectors
from microclimate import _sunray_kernels as _sk
from microclimate.grid import HeatRasters, prepare_grid, run_grid
from microclimate.heightfield import raster_scene
from microclimate.sunrays import _prepared, column_sun_share, height_field, sun_codes, sunlit_share
from tests.heat_forcing import summer_day

TR = Affine(1.0, 0.0, 500000.0, 0.0, -1.0, 5000.0)
#: Share of rays allowed to differ from Embree (rays grazing a cell edge in float32).
MISMATCH_SHARE = 1e-4
#: Sun positions (zenith, azimuth) [deg]: grid-aligned, diagonal and generic.
SUNS = [(20.0, 180.0), (60.0, 100.0), (85.0, 270.0), (45.0, 33.3), (70.0, 0.0), (30.0, 90.0),
        (50.0, 225.0), (80.0, 301.7), (5.0, 12.0)]


def _city(seed: int = 3, n: int = 90):
    """Sloping terrain, random boxes 3-30 m high, random canopy patches."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n]
    dem = 40.0 + 0.05 * xx - 0.03 * yy + 0.3 * np.sin(xx / 7.0)
    dsm = dem.copy()
    for _ in range(40):
        r, c = rng.integers(0, n - 4, 2)
        h, w = rng.integers(2, 12, 2)
        dsm[r:r + h, c:c + w] = dem[r:r + h, c:c + w].max() + rng.uniform(3.0, 30.0)
    cdsm = np.zeros((n, n))
    for _ in range(25):
        r, c = rng.integers(0, n - 3, 2)
        s = rng.integers(2, 7)
        cdsm[r:r + s, c:c + s] = rng.uniform(4.0, 15.0)
    cdsm[dsm > dem + 1.0] = 0.0
    return dem, dsm, cdsm


@pytest.fixture(scope="module")
def city():
    dem, dsm, cdsm = _city()
    sc = raster_scene(dsm, TR, dem_m=dem, cdsm_m=cdsm)
    hf = height_field(dsm, TR, sc.origin, dem_m=dem, cdsm_m=cdsm)
    rng = np.random.default_rng(11)
    m = 30000
    n = dsm.shape[0]
    col, row = rng.uniform(0, n, m), rng.uniform(0, n, m)
    x = TR.c + col - sc.origin[0]
    y = TR.f - row - sc.origin[1]
    z = dsm[row.astype(int), col.astype(int)] + rng.uniform(0.05, 20.0, m)
    return sc, hf, np.column_stack([x, y, z]).astype(np.float32)


@pytest.mark.parametrize("zenith, azimuth", SUNS)
def test_codes_equal_the_embree_ray_cast(city, zenith, azimuth):
    sc, hf, o = city
    s = direction_vectors(np.array([zenith]), np.array([azimuth]))[0]
    embree = sc.codes_local(o, np.broadcast_to(s.astype(np.float32), o.shape))
    ours = sun_codes(hf, o[:, :2], o[:, 2:3], s)[:, 0]
    assert np.bincount(embree, minlength=3).min() > 100  # all three outcomes occur
    assert np.mean(ours != embree) <= MISMATCH_SHARE


def test_points_on_a_vertical_share_one_walk(city):
    sc, hf, o = city
    zs = np.sort(o[:, 2:3] + np.array([0.0, 0.7, 3.0, 9.0], np.float32), axis=1)
    for zen, az in SUNS[:4]:
        s = direction_vectors(np.array([zen]), np.array([az]))[0]
        together = sun_codes(hf, o[:, :2], zs, s)
        for k in range(zs.shape[1]):
            assert np.array_equal(together[:, k], sun_codes(hf, o[:, :2], zs[:, k:k + 1], s)[:, 0])
        share = column_sun_share(hf, o[:, :2], zs, s, 0.03)
        np.testing.assert_allclose(share, sunlit_share(together, 0.03).mean(axis=1), atol=1e-7)


def test_codes_do_not_depend_on_the_thread_count(city):
    sc, hf, o = city
    s = direction_vectors(np.array([63.0]), np.array([141.0]))[0]
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = sun_codes(hf, o[:, :2], o[:, 2:3], s)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = sun_codes(hf, o[:, :2], o[:, 2:3], s)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one, two)


def test_stopping_above_the_clear_height_changes_no_code(city):
    """A ray stops once it is above its block's clear height (the highest occluder it can
    still reach, less its rise on the way): the codes equal those of rays walked to the
    raster edge or the highest occluder, bit for bit, also for points on cell edges and
    corners and for suns along the raster axes and diagonals."""
    sc, hf, o = city
    n = hf.occ.shape[0]
    edge = np.arange(0.0, n, 1.0)
    xy = np.concatenate([o[:, :2].astype(np.float64), np.column_stack(
        [hf.x0_m + edge, hf.y0_m - np.roll(edge, 7) - 0.5]), np.column_stack(
        [hf.x0_m + edge, hf.y0_m - np.roll(edge, 3)])])
    z0 = np.concatenate([o[:, 2], np.full(2 * n, float(np.median(hf.dsm_m)))]).astype(np.float64)
    zs = z0[:, None] + np.array([0.0, 1.1, 6.0])
    for zen, az in SUNS + [(40.0, 45.0), (85.0, 135.0), (1.0, 200.0)]:
        s = direction_vectors(np.array([zen]), np.array([az]))[0]
        uv, zz, d, shift, clear = _prepared(hf, xy, zs, s)
        assert np.mean(clear < hf.z_max_m) > 0.3  # the exit does happen
        walked = np.zeros(zz.shape, np.int8)
        _sk.sun_codes_columns(uv, zz, d, hf.occ, shift, np.full_like(clear, np.inf), hf.z_max_m,
                              walked)
        assert np.array_equal(sun_codes(hf, xy, zs, s), walked)


def test_the_walk_reads_no_cell_outside_the_raster(city):
    """A block jump lands on the row (column) where the ray crosses the block's face, kept
    inside the block; where the block sticks out of the raster (90 cells: not a multiple of 8)
    and the ray leaves through a corner on the raster's edge, rounding (sin 45 deg differs
    from cos 45 deg by one ulp) must not put it a column past the edge (as it did: cell
    (63, 90) from (65.5, 88.5) under a 5 deg sun at 45 deg). The raster sits in a larger
    array whose extra cells are 1 km towers: a read there would block the ray."""
    sc, hf, o = city
    n = hf.occ.shape[0]
    big = np.zeros((n + 8, n + 8, 4), np.float32)
    big[:] = np.array([1000.0, -np.inf, np.inf, 1000.0], np.float32)
    big[:n, :n] = hf.occ
    c, r = np.meshgrid(np.arange(n) + 0.5, np.arange(n) + 0.5)
    xy = np.column_stack([hf.x0_m + c.ravel(), hf.y0_m - r.ravel()])
    zs = hf.dsm_m.ravel()[:, None] + np.array([0.0, 1.1, 5.0])
    for zen, az in SUNS + [(85.0, 45.0), (85.0, 135.0), (85.0, 225.0), (85.0, 315.0)]:
        s = direction_vectors(np.array([zen]), np.array([az]))[0]
        uv, zz, d, shift, clear = _prepared(hf, xy, zs, s)
        inside = np.zeros(zz.shape, np.int8)
        _sk.sun_codes_columns(uv, zz, d, big[:n, :n], shift, clear, hf.z_max_m, inside)
        assert np.array_equal(inside, sun_codes(hf, xy, zs, s))


@pytest.mark.parametrize("zenith, azimuth", [(60.0, 180.0), (45.0, 215.0), (75.0, 123.0)])
def test_box_shadow_is_the_analytic_one(zenith, azimuth):
    """One box on flat ground: a point is shaded iff its sun ray meets the box, which a slab
    test decides in closed form; exact except within 1e-6 m of the box's edges."""
    n, h = 80, 12.0
    x0, x1, r0, r1 = 30, 42, 35, 45  # box columns x0..x1, rows r0..r1
    dsm = np.zeros((n, n))
    dsm[r0:r1, x0:x1] = h
    sc = raster_scene(dsm, TR)
    hf = height_field(dsm, TR, sc.origin)
    s = direction_vectors(np.array([zenith]), np.array([azimuth]))[0]
    rng = np.random.default_rng(5)
    col, row = rng.uniform(0, n, 20000), rng.uniform(0, n, 20000)
    outside = ~((col >= x0) & (col < x1) & (row >= r0) & (row < r1))
    col, row = col[outside], row[outside]
    z = rng.uniform(0.05, 6.0, col.size)
    # slab test in (col, row, z): the box spans col x0..x1, row r0..r1, z below h
    d = np.array([s[0], -s[1], s[2]])
    lo = np.full(col.size, 0.0)
    hi = np.full(col.size, np.inf)
    for p, dp, a, b in ((col, d[0], x0, x1), (row, d[1], r0, r1)):
        if dp == 0.0:
            inside = (p >= a) & (p <= b)
            hi = np.where(inside, hi, -1.0)
            continue
        ta, tb = (a - p) / dp, (b - p) / dp
        lo = np.maximum(lo, np.minimum(ta, tb))
        hi = np.minimum(hi, np.maximum(ta, tb))
    hits = (lo < hi) & (z + d[2] * lo < h)
    margin = np.minimum(np.abs(z + d[2] * lo - h), np.abs(hi - lo))
    clear = margin > 1e-6
    o = np.column_stack([TR.c + col - sc.origin[0], TR.f - row - sc.origin[1], z])
    code = sun_codes(hf, o[:, :2], o[:, 2:3], s)[:, 0]
    assert hits[clear].sum() > 200
    assert np.array_equal(code[clear] == 0, hits[clear])
    assert np.all(code[~hits & clear] == 1)


def _forcing(n=24):
    return summer_day(n)


def test_grid_run_is_bit_identical_on_one_and_two_threads():
    dem, dsm, cdsm = _city(seed=8, n=40)
    geom = prepare_grid(HeatRasters(dsm, dem, cdsm, np.ones(dsm.shape, int), TR, None),
                        n_rays=64)
    site = dict(lat_deg=57.7, lon_deg=12.0, tz_offset_h=1.0)
    before = numba.get_num_threads()
    out = []
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            out.append(run_grid(geom, _forcing(), site, points_rc=np.array([[3, 3]])))
    finally:
        numba.set_num_threads(before)
    for key in ("tmrt_max_c", "utci_max_c", "t_surface_max_c", "strong_heat_hours"):
        assert np.array_equal(getattr(out[0], key), getattr(out[1], key), equal_nan=True)
    assert np.array_equal(out[0].points["tmrt_c"], out[1].points["tmrt_c"], equal_nan=True)


def test_a_point_on_a_wall_face_is_in_its_block_as_for_embree():
    """A wall-strip point can sit exactly on a facade plane (a cell edge): Embree hits that
    face at t = 0, and the walk counts the point as inside the block behind the edge."""
    dsm = np.zeros((20, 20))
    dsm[5:15, 5:10] = 10.0  # box columns 5..9: its east face at column edge 10
    sc = raster_scene(dsm, TR)
    hf = height_field(dsm, TR, sc.origin)
    y = TR.f - np.array([7.3, 9.5, 12.25]) - sc.origin[1]
    o = np.column_stack([np.full(3, TR.c + 10.0 - sc.origin[0]), y, [1.0, 4.0, 9.0]])
    o = o.astype(np.float32)
    for az in (90.0, 120.0, 250.0):
        s = direction_vectors(np.array([40.0]), np.array([az]))[0]
        embree = sc.codes_local(o, np.broadcast_to(s.astype(np.float32), o.shape))
        ours = sun_codes(hf, o[:, :2], o[:, 2:3], s)[:, 0]
        assert np.all(embree == 0) and np.array_equal(ours, embree)


def test_grid_run_with_embree_sun_rays_matches_the_walk():
    """`prepare_grid(sun_rays="embree")` casts the steps' sun rays in the Embree scene, as the
    solar solver does: the maps equal the walk's except where a ray grazes a cell edge, and the
    result says which engine cast them."""
    dem, dsm, cdsm = _city(seed=5, n=40)
    rasters = HeatRasters(dsm, dem, cdsm, np.ones(dsm.shape, int), TR, None)
    site = dict(lat_deg=57.7, lon_deg=12.0, tz_offset_h=1.0)
    walk = run_grid(prepare_grid(rasters, n_rays=64), _forcing(), site)
    embree = run_grid(prepare_grid(rasters, n_rays=64, sun_rays="embree"), _forcing(), site)
    assert walk.attrs["sun_rays"].startswith("cell walk") and embree.attrs["sun_rays"].startswith("Embree")
    d = np.abs(walk.tmrt_max_c - embree.tmrt_max_c)
    ok = np.isfinite(d)
    assert ok.sum() > 500
    assert np.mean(d[ok] > 0.01) < 0.01  # at most 1 % of the cells differ by more than 0.01 K
    assert np.nanmax(walk.tmrt_max_c) > 40  # a sunny day: the comparison is not between shadows only
    with pytest.raises(InputError, match="'walk' or 'embree'"):
        prepare_grid(rasters, sun_rays="radiance")
