"""Adaptive direct-sun visibility (every 4th sun bin cast, the rest inferred where samples agree)
against one ray per bin and one ray per hour, on two shaded scenes."""

from __future__ import annotations

import numpy as np
import pytest

from citymodel.synth import district_to_citymodel, make_district
from energy.solar import irradiate
from energy.solar.irradiate import SUN_SAMPLING_STEP
from energy.solar.scene import build_scene
from energy.solar.shading import sun_bins, sun_visibility
from energy.solar.sunsampling import adaptive_sun_visibility, sun_sampling
from energy.sun import sun_vectors, weather_sun_positions
from energy.weather import clearsky_weather, read_epw
from tests.conftest import shared_path
from tests.test_solar_shading import district


def _rel_err(got, ref):
    ok = ref > 1.0  # kWh/m2a: leave out closed-off sensors (party walls)
    return np.abs(got[ok] / ref[ok] - 1.0)


@pytest.mark.shared_data
def test_default_sampling_against_one_ray_per_hour():
    """Box district, Denver TMY: the default (1 deg bins, every 4th cast) against an exact ray
    to the sun every hour; the error budget is stated in energy.solar.sunsampling."""
    wx = read_epw(shared_path("weather", "725650TYCST.epw"))
    kw = dict(sensor_spacing_m=1.5, building_hourly=False, n_threads=2)
    exact = irradiate(district(), wx, sun_resolution_deg=0, sun_sampling_step=1, **kw)
    full = irradiate(district(), wx, sun_sampling_step=1, **kw)
    fast = irradiate(district(), wx, **kw)
    assert SUN_SAMPLING_STEP == fast.stats["sun_sampling_step"] == 4
    assert fast.stats["n_sun_inferred"] > 0
    e_fast = _rel_err(fast.sensor_annual_kwh_m2, exact.sensor_annual_kwh_m2)
    e_full = _rel_err(full.sensor_annual_kwh_m2, exact.sensor_annual_kwh_m2)
    print(f"vs one ray per hour: sampled median {np.median(e_fast):.3%} p95 {np.percentile(e_fast, 95):.3%} "
          f"p99 {np.percentile(e_fast, 99):.3%} max {e_fast.max():.2%}; every bin: p95 "
          f"{np.percentile(e_full, 95):.3%} max {e_full.max():.2%}; rays {fast.stats['n_rays']:,} vs "
          f"{full.stats['n_rays']:,}")
    assert exact.sensor_annual_kwh_m2.min() < 0.5 * exact.sensor_annual_kwh_m2.max()  # shaded
    assert np.median(e_fast) < 0.001
    assert np.percentile(e_fast, 95) < 0.01
    assert np.percentile(e_fast, 99) < 0.02
    assert e_fast.max() < 0.05
    total = fast.sensor_annual_kwh_m2.sum() / exact.sensor_annual_kwh_m2.sum() - 1.0
    assert abs(total) < 0.001
    assert fast.stats["n_rays"] < 0.5 * full.stats["n_rays"]


def test_synthetic_district_with_trees_against_every_bin():
    """The synthetic district (buildings, terrain, tree crowns), clear sky: inferred sun bins
    against a ray per bin. Rays that are cast give the same codes; inferred ones rarely differ."""
    model = district_to_citymodel(make_district(11, 200.0))
    wx = clearsky_weather(52.0, 5.0, year=2025, altitude_m=10.0)
    kw = dict(sensor_spacing_m=2.0, building_hourly=False, n_threads=2)
    full = irradiate(model, wx, sun_sampling_step=1, **kw)
    fast = irradiate(model, wx, sun_sampling_step=4, **kw)
    e = _rel_err(fast.sensor_annual_kwh_m2, full.sensor_annual_kwh_m2)
    print(f"vs every bin: median {np.median(e):.3%} p95 {np.percentile(e, 95):.3%} p99 "
          f"{np.percentile(e, 99):.3%} max {e.max():.2%}")
    assert fast.stats["n_tree_triangles"] > 0
    assert np.percentile(e, 95) < 0.01 and np.percentile(e, 99) < 0.02 and e.max() < 0.1
    assert abs(fast.sensor_annual_kwh_m2.sum() / full.sensor_annual_kwh_m2.sum() - 1) < 0.001
    np.testing.assert_array_equal(fast.sensor_sky_view, full.sensor_sky_view)  # sky rays unchanged

    # the visibility codes themselves, sensor by sensor and bin by bin
    pos = weather_sun_positions(*wx)
    sun = sun_vectors(pos)
    bins = sun_bins(sun, sun[:, 2] > 0, 1.0)
    plan = sun_sampling(bins, np.asarray(wx[0].index.hour), 4)
    scene = build_scene(model, n_threads=2)
    pts, nrm = full.sensors.points, full.sensors.normals
    ref = sun_visibility(scene, pts, nrm, bins)
    got, n_inf = adaptive_sun_visibility(scene, pts, nrm, bins, plan)
    np.testing.assert_array_equal(got[:, plan.samples], ref[:, plan.samples])
    wrong = (got != ref).sum()
    print(f"inferred (sensor, bin) pairs {n_inf:,}, of which differ from their ray {wrong / n_inf:.3%}")
    assert 0 < n_inf and wrong <= 0.005 * n_inf
    assert np.any(ref == 2) and np.any(got == 2)  # through crowns, inferred too
    one, zero = adaptive_sun_visibility(scene, pts, nrm, bins, sun_sampling(bins, wx[0].index.hour, 1))
    np.testing.assert_array_equal(one, ref)
    assert zero == 0


def test_sampling_plan_follows_the_analemmas():
    wx = clearsky_weather(45.0, 9.0, year=2025, altitude_m=100.0)
    sun = sun_vectors(weather_sun_positions(*wx))
    bins = sun_bins(sun, sun[:, 2] > 0, 1.0)
    hour = np.asarray(wx[0].index.hour)
    for step in (2, 4, 8):
        p = sun_sampling(bins, hour, step)
        dep = p.sample_col < 0
        assert p.samples.size < len(bins) / step * 1.5 + 2 * p.n_chains
        counts = np.diff(p.dep_offsets)
        assert np.all(counts[dep] >= 1) and np.all(counts[~dep] == 0)
        assert np.all(p.sample_col[p.dep_bins] >= 0)  # depends on samples only
        # every dependent bin is within `step` chain steps (each < 2.5 deg) of its samples
        j = np.repeat(np.arange(len(bins)), counts)
        cosang = np.einsum("ij,ij->i", bins.directions[j], bins.directions[p.dep_bins])
        assert np.degrees(np.arccos(np.clip(cosang, -1, 1))).max() < 2.5 * step
    one = sun_sampling(bins, hour, 1)
    assert one.samples.size == len(bins) and one.dep_bins.size == 0
    # labels that put two analemmas (15 deg apart) in one sequence: the chains split at the
    # jumps, so no bin is inferred across them
    mixed = sun_sampling(bins, hour // 2, 4)
    j = np.repeat(np.arange(len(bins)), np.diff(mixed.dep_offsets))
    cosang = np.einsum("ij,ij->i", bins.directions[j], bins.directions[mixed.dep_bins])
    assert np.degrees(np.arccos(np.clip(cosang, -1, 1))).max() < 10.0
    assert mixed.n_chains > 2 * sun_sampling(bins, hour, 4).n_chains
