"""Raster heat grid: height-field mesh, view factors and shadows against analytic answers,
and the grid solver's flux assembly on open ground against the six-direction formula."""

import numpy as np
import pandas as pd
import pytest
from affine import Affine

from citymodel.errors import CRSError, InputError
from energy.sun import direction_vectors
from microclimate.grid import HeatRasters, prepare_grid, run_grid
from microclimate.ground import sky_band_factors
from microclimate.heightfield import (
    canopy_triangles,
    cell_centres,
    heightfield_triangles,
    raster_scene,
)
from microclimate.skyview import (
    check_memory,
    direction_weights,
    hemisphere_directions,
    sunlit_fraction,
    view_fractions,
)
from microclimate.tmrt import STEFAN_BOLTZMANN_W_M2K4, tmrt_with_beam_c
from tests.heat_forcing import summer_day

TR = Affine(1.0, 0.0, 1000.0, 0.0, -1.0, 5000.0)
SVF_TOL = 0.01


def _local(scene, x, y, z):
    return np.array([[x - scene.origin[0], y - scene.origin[1], z]], np.float32)


def test_heightfield_is_a_block_mesh():
    dsm = np.zeros((4, 5))
    dsm[1:3, 1:3] = 10.0
    tris = heightfield_triangles(dsm, TR)
    # 2 per cell top + a 2 x 2 box has 8 wall quads (2 triangles each)
    assert tris.shape == (2 * 20 + 16, 3, 3)
    walls = tris[40:]
    assert np.allclose(walls[..., 2].max(axis=1), 10.0)
    # every wall triangle is vertical: its corners span one x or one y
    flat_x = np.ptp(walls[..., 0], axis=1) < 1e-9
    flat_y = np.ptp(walls[..., 1], axis=1) < 1e-9
    assert np.all(flat_x | flat_y)


def test_canopy_boxes_keep_the_trunk_open():
    dem = np.zeros((3, 3))
    cdsm = np.zeros((3, 3))
    cdsm[1, 1] = 8.0
    tris = canopy_triangles(dem, cdsm, TR)
    assert tris.shape == (12, 3, 3)  # a closed box
    assert np.isclose(tris[..., 2].min(), 2.0) and np.isclose(tris[..., 2].max(), 8.0)


def test_rotated_transform_is_refused():
    with pytest.raises(CRSError, match="north-up"):
        cell_centres(Affine(1, 0.2, 0, 0, -1, 0), (2, 2))


def test_direction_weights_normalised():
    w = direction_weights(hemisphere_directions(512))
    assert np.isclose(w[0].sum(), 1.0) and np.allclose(w[1:].sum(axis=1), 0.5)


def test_open_flat_sky_view():
    sc = raster_scene(np.zeros((20, 20)), TR)
    vf = view_fractions(sc, _local(sc, 1010.0, 4990.0, 0.1))
    assert np.allclose(vf.sky[:, 0], [1.0, 0.5, 0.5, 0.5, 0.5], atol=1e-6)
    assert np.allclose(vf.wall[:, 0], 0.0)


@pytest.mark.parametrize("h_over_w", [0.5, 1.0, 2.0])
def test_infinite_canyon_centre_svf(h_over_w):
    w = 10
    h = h_over_w * w
    dsm = np.zeros((300, 40))
    dsm[:, :15] = h
    dsm[:, 15 + w:] = h
    sc = raster_scene(dsm, TR)
    vf = view_fractions(sc, _local(sc, 1000.0 + 15 + w / 2, 5000.0 - 150.0, 0.01))
    expected = np.cos(np.arctan(2.0 * h / w))
    print(f"H/W {h_over_w}: svf {vf.sky[0, 0]:.4f}, analytic {expected:.4f}")
    assert abs(vf.sky[0, 0] - expected) < SVF_TOL
    # walls east and west: the E and W planes see as much wall as each other
    assert abs(vf.wall[2, 0] - vf.wall[4, 0]) < SVF_TOL


def test_tree_crown_lets_transmissivity_through():
    dem = np.zeros((30, 30))
    cdsm = np.zeros((30, 30))
    cdsm[5:25, 5:25] = 10.0
    sc = raster_scene(dem, TR, dem_m=dem, cdsm_m=cdsm)
    o = _local(sc, 1015.0, 4985.0, 1.1)
    vf = view_fractions(sc, o)
    assert vf.veg[0, 0] > 0.8 and np.isclose(vf.svf_shortwave(0.03)[0, 0],
                                             vf.sky[0, 0] + 0.03 * vf.veg[0, 0])
    assert np.isclose(sunlit_fraction(sc, o, np.array([0.0, 0.0, 1.0]), 0.03)[0], 0.03)


@pytest.mark.parametrize("elevation_deg", [20.0, 30.0, 45.0])
def test_box_shadow_length(elevation_deg):
    ny, nx, h = 100, 40, 10.0
    dsm = np.zeros((ny, nx))
    dsm[70:80, 15:25] = h  # north face of the box at y = 5000 - 70
    sc = raster_scene(dsm, TR)
    x, y = cell_centres(TR, dsm.shape)
    o = np.column_stack([np.full(70, x[20]) - sc.origin[0], y[:70] - sc.origin[1],
                         np.full(70, 0.01)]).astype(np.float32)
    sun = direction_vectors(np.array([90.0 - elevation_deg]), np.array([180.0]))[0]
    lit = sunlit_fraction(sc, o, sun, 0.03)
    shaded = np.flatnonzero(lit == 0.0)
    length = y[shaded.min()] + 0.5 - (5000.0 - 70.0)  # to the far edge of the last cell
    expected = h / np.tan(np.radians(elevation_deg))
    print(f"elevation {elevation_deg}: shadow {length:.1f} m, analytic {expected:.2f} m")
    assert abs(length - expected) <= 1.0
    assert np.all(lit[shaded.min():] == 0.0) and np.all(lit[:shaded.min()] == 1.0)


def test_sky_band_factors_keep_the_hemispheric_flux():
    dirs = hemisphere_directions(1024)
    from microclimate.skyview import N_ZENITH_BANDS, zenith_band

    band = zenith_band(dirs)
    w = direction_weights(dirs)
    w0 = np.array([w[0, band == b].sum() for b in range(N_ZENITH_BANDS)])
    mu = np.array([dirs[band == b, 2].mean() for b in range(N_ZENITH_BANDS)])
    g = sky_band_factors(np.array([300.0, 380.0]), np.array([15.0, 15.0]), mu, w0)
    assert np.allclose(g @ w0, 1.0)
    assert np.all(np.diff(g, axis=1) < 0)  # brightest at the horizon (band 0)


def test_memory_check_names_the_option():
    with pytest.raises(InputError, match="--grid-m"):
        check_memory(4_000_000, 8760, limit_bytes=1 << 30)


def _forcing(n=24):
    return summer_day(n)


def test_open_ground_fluxes_match_six_direction_formula():
    n = 15
    flat = np.full((n, n), 5.0)
    r = HeatRasters(flat, flat.copy(), None, np.full((n, n), 1), TR, None)
    geom = prepare_grid(r, n_rays=256)
    forcing = _forcing()
    site = dict(lat_deg=45.0, lon_deg=10.0, tz_offset_h=1.0)
    res = run_grid(geom, forcing, site, points_rc=np.array([[7, 7]]), spinup_steps=24)
    p = {k: v[0] for k, v in res.points.items()}
    assert res.attrs["ldown_source"].startswith("forcing")
    assert np.allclose(p["ldown_w_m2"], 340.0)
    # open ground: each side sees half sky (brighter towards the horizon), half ground
    g = sky_band_factors(np.full(24, 340.0), forcing["t_air_c"].to_numpy(),
                         geom.body.band_cos_zenith, geom.body.open_band_weight[0])
    for k, d in enumerate(("north", "east", "south", "west")):
        side_sky = 340.0 * (g @ geom.body.open_band_weight[1 + k])
        assert np.all(side_sky > 0.5 * 340.0) and np.all(side_sky < 340.0)
        assert np.allclose(p[f"l{d}_w_m2"], side_sky + 0.5 * p["lup_w_m2"], rtol=1e-6)
    kside_diffuse = 0.5 * forcing["dhi_w_m2"].to_numpy() + 0.5 * p["kup_w_m2"]
    assert np.all(p["ksouth_w_m2"] >= kside_diffuse - 1e-9)
    ghi = p["kdown_w_m2"]
    assert np.allclose(p["kup_w_m2"], 0.10 * ghi)  # asphalt albedo
    import datetime as dt

    from energy.sun import sun_positions
    tm = pd.DatetimeIndex(forcing["time_mid"]).tz_localize(dt.timezone(dt.timedelta(hours=1)))
    elev = sun_positions(tm, 45.0, 10.0, hour_ending=False)["elevation_deg"].to_numpy()
    up = elev > 0
    dni = np.where(up, forcing["dni_w_m2"], 0.0)
    assert np.allclose(ghi, dni * np.sin(np.radians(np.clip(elev, 0, None)))
                       + forcing["dhi_w_m2"], rtol=1e-6)
    expected = tmrt_with_beam_c(ghi, p["kup_w_m2"], np.vstack([kside_diffuse] * 4),
                                p["ldown_w_m2"], p["lup_w_m2"],
                                np.vstack([p[f"l{d}_w_m2"] for d in ("north", "east", "south",
                                                                     "west")]), dni, elev,
                                sunlit=(elev > 0).astype(float))
    assert np.allclose(p["tmrt_c"], expected, atol=1e-6)
    # ground emission: Lup between sigma T^4 of the air at night and of a hot surface by day
    t_lup = (p["lup_w_m2"] / STEFAN_BOLTZMANN_W_M2K4) ** 0.25 - 273.15
    assert t_lup.max() > forcing["t_air_c"].max() + 5 and t_lup.min() > 5
    assert res.tmrt_max_c.shape == (n, n) and np.isfinite(res.tmrt_max_c).all()
    assert np.all(res.strong_heat_hours >= 0)


def test_points_outside_and_on_buildings_are_refused():
    dsm = np.zeros((10, 10))
    dsm[2:4, 2:4] = 10
    r = HeatRasters(dsm, np.zeros((10, 10)), None, None, TR, None)
    geom = prepare_grid(r, n_rays=64)
    with pytest.raises(InputError, match="outside"):
        run_grid(geom, _forcing(), dict(lat_deg=45, lon_deg=10), points_rc=np.array([[11, 0]]))
    with pytest.raises(InputError, match="building"):
        run_grid(geom, _forcing(), dict(lat_deg=45, lon_deg=10), points_rc=np.array([[2, 2]]))


def test_chunked_run_equals_one_chunk(monkeypatch):
    import microclimate.grid as grid_mod

    dsm = np.zeros((12, 12))
    dsm[4:7, 4:7] = 8.0
    r = HeatRasters(dsm, np.zeros((12, 12)), None, np.full((12, 12), 1), TR, None)
    geom = prepare_grid(r, n_rays=64)
    forcing = _forcing(48)
    site = dict(lat_deg=45.0, lon_deg=10.0, tz_offset_h=1.0)
    pts = np.array([[8, 5], [2, 2]])
    monkeypatch.setattr(grid_mod, "CHUNK_STEPS", 48)
    one = run_grid(geom, forcing, site, points_rc=pts)
    monkeypatch.setattr(grid_mod, "CHUNK_STEPS", 24)
    two = run_grid(geom, forcing, site, points_rc=pts)
    for key in ("tmrt_max_c", "t_surface_max_c", "utci_max_c", "strong_heat_hours"):
        assert np.allclose(getattr(one, key), getattr(two, key), equal_nan=True, atol=1e-6)
    assert np.allclose(one.points["tmrt_c"], two.points["tmrt_c"], atol=1e-6)


def test_bad_rasters_are_refused():
    dsm = np.zeros((5, 5))
    dsm[0, 0] = -3.4e38  # an unmasked GeoTIFF nodata value
    with pytest.raises(InputError, match="nodata"):
        prepare_grid(HeatRasters(dsm, np.zeros((5, 5)), None, None, TR, None))
    with pytest.raises(InputError, match="aligned"):
        prepare_grid(HeatRasters(np.zeros((5, 5)), np.zeros((5, 6)), None, None, TR, None))
    with pytest.raises(InputError, match="land-cover code"):
        prepare_grid(HeatRasters(np.zeros((5, 5)), np.zeros((5, 5)), None,
                                 np.full((5, 5), 9), TR, None), n_rays=64)
