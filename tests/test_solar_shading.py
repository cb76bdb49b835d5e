"""Solar shading against a brute-force reference and closed-form cases."""

from __future__ import annotations

import numpy as np
import pytest

from citymodel.model import CityModel
from energy.sky import perez_sky
from energy.solar import irradiate
from energy.solar.scene import build_scene
from energy.sun import sun_vectors, weather_sun_positions
from energy.weather import read_epw
from tests.conftest import shared_path
from tests.solids import model_with_boxes

ALBEDO = 0.2


@pytest.fixture(scope="module")
def denver():
    return read_epw(shared_path("weather", "725650TYCST.epw"))


def district() -> CityModel:
    """A small district of boxes of 6..30 m with narrow streets (strong mutual shading)."""
    rng = np.random.default_rng(3)
    specs = []
    for i in range(4):
        for j in range(4):
            specs.append((i * 18.0, j * 18.0, 12.0, 12.0, float(rng.uniform(6, 30))))
    return model_with_boxes(*specs)


def fibonacci_hemisphere(n: int) -> np.ndarray:
    """``n`` nearly uniform directions on the upper hemisphere (equal solid angle 2 pi / n)."""
    k = np.arange(n) + 0.5
    z = 1.0 - k / n
    phi = k * np.pi * (3.0 - np.sqrt(5.0))
    r = np.sqrt(1 - z**2)
    return np.column_stack([r * np.cos(phi), r * np.sin(phi), z])


def _sky_and_sun(df, meta):
    """Perez 1990 sky and unit sun vectors of every hour of a weather year."""
    pos = weather_sun_positions(df, meta)
    sky = perez_sky(df["dni_w_m2"].to_numpy(), df["dhi_w_m2"].to_numpy(), pos["zenith_deg"].to_numpy(),
                    pos["dni_extra_w_m2"].to_numpy())
    return sky, sun_vectors(pos)


def brute_force_annual(model, weather, points, normals, n_dirs=20000, n_az=720):
    """Slow reference: a ray to the exact sun every hour, dense hemisphere and horizon sampling."""
    df, meta = weather
    sky, sun = _sky_and_sun(df, meta)
    scene = build_scene(model, n_threads=2)
    hours = np.flatnonzero((sky.beam_normal_w_m2 > 0) & (sun[:, 2] > 0))
    hemi = fibonacci_hemisphere(n_dirs)
    az = (np.arange(n_az) + 0.5) * 2 * np.pi / n_az
    hz_cos = np.column_stack([np.sin(az), np.cos(az), np.zeros(n_az)])
    hz_ray = hz_cos * np.cos(np.radians(3.0))
    hz_ray[:, 2] = np.sin(np.radians(3.0))
    out = np.zeros(len(points))
    for s in range(len(points)):  # the slow reference loops; the solver does not
        p, n = points[s], normals[s]
        c = sun[hours] @ n
        front = c > 1e-6
        of, tf = scene.visibility(np.repeat(p[None], front.sum(), 0), sun[hours][front])
        beam = (sky.beam_normal_w_m2[hours][front] * c[front] * (of & tf)).sum()
        ch = hemi @ n
        fr = ch > 1e-6
        of, tf = scene.visibility(np.repeat(p[None], fr.sum(), 0), hemi[fr])
        vis_cos = (ch[fr] * (of & tf)).sum() * 2 * np.pi / n_dirs  # sr-weighted visible cosine
        iso = sky.iso_radiance_w_m2_sr.sum() * vis_cos
        svf = vis_cos / np.pi
        chz = hz_cos @ n
        frh = (chz > 1e-6) & (hz_ray @ n > 1e-6)
        of, tf = scene.visibility(np.repeat(p[None], frh.sum(), 0), hz_ray[frh])
        hz = sky.horizon_w_m2_rad.sum() * (chz[frh] * (of & tf)).sum() * 2 * np.pi / n_az
        refl = ALBEDO * sky.ghi_w_m2.sum() * (1 - svf)
        out[s] = (beam + iso + hz + refl) / 1000.0
    return out


@pytest.fixture(scope="module")
def district_result(denver):
    return irradiate(district(), denver, sensor_spacing_m=1.5, albedo=ALBEDO, building_hourly=True)


@pytest.mark.shared_data
def test_shading_matches_brute_force(denver, district_result):
    res = district_result
    rng = np.random.default_rng(0)
    # a sample of sensors, at least half of them in shade for part of the year
    sample = rng.choice(len(res.sensors), 60, replace=False)
    ref = brute_force_annual(
        district(), denver, res.sensors.points[sample], res.sensors.normals[sample]
    )
    mine = res.sensor_annual_kwh_m2[sample]
    err = np.abs(mine / ref - 1.0)
    print(
        f"shading vs brute force (60 sensors): median {np.median(err):.2%}, 95th pct {np.percentile(err, 95):.2%}, "
        f"max {err.max():.2%}; irradiation {ref.min():.0f}..{ref.max():.0f} kWh/m2a"
    )
    assert ref.min() < 0.6 * ref.max()  # the sample really contains shaded sensors
    assert np.median(err) <= 0.03
    assert np.percentile(err, 95) <= 0.05


@pytest.mark.shared_data
def test_sun_bins_error_vs_exact(denver, district_result):
    """The binned sun visibility (1 deg) against one ray per hour, over all sensors."""
    exact = irradiate(
        district(),
        denver,
        sensor_spacing_m=1.5,
        albedo=ALBEDO,
        building_hourly=False,
        sun_resolution_deg=0,
    )
    err = np.abs(district_result.sensor_annual_kwh_m2 / exact.sensor_annual_kwh_m2 - 1)
    print(
        f"1-deg sun bins vs exact per-hour visibility: median {np.median(err):.3%}, 95th {np.percentile(err, 95):.3%},"
        f" max {err.max():.2%} ({district_result.stats['n_sun_bins']} bins for {exact.stats['n_sun_bins']} hours)"
    )
    assert np.median(err) < 0.005 and np.percentile(err, 95) < 0.02


@pytest.mark.shared_data
def test_building_groups_match_surfaces(district_result):
    """Hourly building-group irradiance sums to the per-surface annual values."""
    res = district_result
    b = res.buildings
    t = res.table
    annual_group = b.irradiance_w_m2.astype(np.float64).sum(axis=2) / 1000.0  # kWh/m2a
    for k, bid in enumerate(b.building_ids[:4]):
        rows = np.flatnonzero((np.asarray(t.root_ids)[t.root_index] == bid) & (res.kind == 0))
        roof = np.average(res.surface_annual_kwh_m2[rows], weights=t.area_m2[rows])
        assert annual_group[k, 0] == pytest.approx(roof, rel=2e-3)
        walls = np.flatnonzero((np.asarray(t.root_ids)[t.root_index] == bid) & (res.kind == 1))
        south = walls[np.abs(t.azimuth_deg[walls] - 180) < 1]
        assert annual_group[k, 3] == pytest.approx(
            res.surface_annual_kwh_m2[south].mean(), rel=2e-3
        )
        assert b.area_m2[k, 0] == pytest.approx(t.area_m2[rows].sum())
    assert b.irradiance_w_m2.shape == (16, 5, 8760) and b.irradiance_w_m2.dtype == np.float32


def _occluder(m: CityModel, oid: str) -> CityModel:
    """Turn a box building into a GenericCityObject: it casts shadows but carries no sensors."""
    m.city_objects[oid]["type"] = "GenericCityObject"
    return m


def _wall_with_feet(h_wall=100.0):
    """A long east-west wall (400 m x 1 m x h) with a 1 m x 1 m x 0.5 m box at each foot."""
    m = model_with_boxes(
        (-200.0, 0.0, 400.0, 1.0, h_wall), (-0.5, -1.0, 1.0, 1.0, 0.5), (-0.5, 1.0, 1.0, 1.0, 0.5)
    )
    return _occluder(m, "b0")


@pytest.mark.shared_data
def test_foot_of_south_and_north_wall(denver):
    """Roof points at the foot of a tall wall: half the sky, the sun only on its own side."""
    df, meta = denver
    res = irradiate(
        _wall_with_feet(),
        denver,
        sensor_spacing_m=0.25,
        albedo=ALBEDO,
        building_hourly=False,
        sun_resolution_deg=0,
        rays_per_side=2,  # 1 ray per patch: patch centres lie on the wall plane, SVF +6 %
    )
    sky, sun = _sky_and_sun(df, meta)
    t = res.table
    for bid, side in (("b1", -1.0), ("b2", 1.0)):  # b1 south of the wall (south-facing facade)
        row = np.flatnonzero((np.asarray(t.object_ids)[t.object_index] == bid) & (res.kind == 0))[0]
        sel = res.sensors.surface == row
        pts = res.sensors.points[sel]
        d = np.abs(pts[:, 1] - (0.0 if side < 0 else 1.0))  # distance to the wall face [m]
        # closed form for an infinitely long wall of height H - z at distance d
        hh = 100.0 - pts[:, 2]
        svf = 1.0 - 0.5 * (1.0 - d / np.sqrt(d**2 + hh**2))
        on_side = np.sign(sun[:, 1]) == side
        beam = (sky.beam_normal_w_m2 * np.clip(sun[:, 2], 0, None) * on_side).sum()
        expect = (
            beam
            + sky.iso_radiance_w_m2_sr.sum() * np.pi * svf
            + ALBEDO * sky.ghi_w_m2.sum() * (1 - svf)
        ) / 1000
        mine = res.sensor_annual_kwh_m2[sel]
        np.testing.assert_allclose(mine, expect, rtol=0.03)
        np.testing.assert_allclose(res.sensor_sky_view[sel], svf, atol=0.02)
    oid = np.asarray(t.object_ids)[t.object_index]
    south = res.surface_annual_kwh_m2[(oid == "b1") & (res.kind == 0)][0]
    north = res.surface_annual_kwh_m2[(oid == "b2") & (res.kind == 0)][0]
    assert south > 2.5 * north  # Denver: the south foot gets the sun, the north foot hardly


def test_street_canyon_sky_view_factor():
    """Centre of an infinite canyon (H = 10 m, W = 10 m): SVF = cos(atan(2H/W)) = 0.447."""
    h, w = 10.0, 10.0
    m = model_with_boxes(
        (-300.0, -w / 2 - 10.0, 600.0, 10.0, h),  # south block
        (-300.0, w / 2, 600.0, 10.0, h),  # north block
        (-10.0, -0.25, 20.0, 0.5, 0.01),  # a 1 cm "floor" strip on the canyon axis
    )
    _occluder(_occluder(m, "b0"), "b1")
    from energy.weather import clearsky_weather

    weather = clearsky_weather(45.0, 9.0, year=2025, altitude_m=100.0)
    res = irradiate(
        m, weather, sensor_spacing_m=0.5, building_hourly=False, sky_subdivision=2, rays_per_side=3
    )
    t = res.table
    row = np.flatnonzero((np.asarray(t.object_ids)[t.object_index] == "b2") & (res.kind == 0))[0]
    sel = res.sensors.surface == row
    expect = np.cos(np.arctan(2 * (h - 0.01 - 0.05) / w))
    got = float(res.sensor_sky_view[sel].mean())
    print(f"canyon SVF: solver {got:.4f}, closed form {expect:.4f}")
    assert got == pytest.approx(expect, rel=0.02)
