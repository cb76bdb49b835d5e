"""Canopy air temperature per neighbourhood (microclimate.canopy, .neighbourhoods)."""

from __future__ import annotations

import numpy as np
import pytest

from citymodel.errors import InputError
from citymodel.synth import district_to_citymodel, make_district
from energy.weather import clearsky_weather
from microclimate.canopy import Neighbourhoods, canopy_air_temperature, waste_heat_w
from microclimate.neighbourhoods import grid_blocks, neighbourhoods, surface_heat_by_zone
from microclimate.surfaces import cool_roofs, surface_temperatures

#: No buildings and the station's own grass: the canopy is the station [K].
OPEN_TOL_K = 0.05
#: Night-time (22-05 h) heat island of a dense district in a clear summer week [K]:
#: "a few kelvin" (issue 13; Oke et al. 2017 ch. 7: 1-6 K for mid-latitude cities).
NIGHT_UHI_K = (1.0, 6.0)
#: Roof albedo 0.2 -> 0.7 over a block with 50 % roofs: canopy air cooler at peak sun by
#: (local scale, no city-wide advection; Santamouris 2014 reviews 0.1-0.33 K per +0.1 city
#: albedo at city scale, a bound from above) [K].
COOL_ROOF_AIR_K = (0.02, 1.0)
#: A street tree over the ground changes the canopy air by less than this [K] (issue 13).
TREE_AIR_MAX_K = 1.0


@pytest.fixture(scope="module")
def week():
    wx, meta = clearsky_weather(45.07, 7.68)  # Torino
    return wx.loc["2025-07-08":"2025-07-16"], meta


def _nbhd(**kw):
    base = dict(zone_id=["z"], site_area_m2=40000.0, building_fraction=0.5, height_m=15.0,
                wall_area_m2=40000.0 * 1.2, veg_fraction=0.1, tree_fraction=0.0,
                paved_albedo=0.1, veg_beta=0.5)
    base.update(kw)
    return Neighbourhoods(**base)


def test_no_buildings_is_the_rural_station(week):
    wx, meta = week
    nb = _nbhd(building_fraction=0.0, height_m=0.0, wall_area_m2=0.0, veg_fraction=1.0)
    r = canopy_air_temperature(nb, wx, meta, n_spin=48, traffic_w_m2=5.0)
    assert np.abs(r.uhi_k).max() < OPEN_TOL_K
    assert r.t_canopy_c.shape == (1, len(wx) - 48)


def test_more_sensible_heat_is_warmer(week):
    wx, meta = week
    nb = _nbhd()
    nt = len(wx) - 48
    a = canopy_air_temperature(nb, wx, meta, n_spin=48)
    b = canopy_air_temperature(nb, wx, meta, n_spin=48, q_walls_w=np.full((1, nt), 2.0e6))
    diff = b.t_canopy_c - a.t_canopy_c
    assert np.all(diff > 0.05)
    # twice the extra heat: about twice the warming where the resistances are unchanged
    c = canopy_air_temperature(nb, wx, meta, n_spin=48, q_walls_w=np.full((1, nt), 4.0e6))
    assert np.all(c.t_canopy_c - b.t_canopy_c > 0.5 * diff)


def test_night_heat_island_of_a_dense_district(week):
    wx, meta = week
    nb = _nbhd()
    nt = len(wx) - 48
    # walls releasing stored heat at night, 10 W/m2 of wall (Oke et al. 2017, Fig. 6.12)
    r = canopy_air_temperature(nb, wx, meta, n_spin=48, q_walls_w=np.full((1, nt), 10.0 * 48000))
    night = np.isin(r.times.hour, [22, 23, 0, 1, 2, 3, 4, 5])
    uhi = float(r.uhi_k[0, night].mean())
    assert NIGHT_UHI_K[0] <= uhi <= NIGHT_UHI_K[1], uhi
    # and by day the canopy is within a kelvin or two of the station
    noon = r.times.hour == 13
    assert abs(float(r.uhi_k[0, noon].mean())) < 2.0


def test_night_heat_island_of_a_dense_box_district():
    """The whole chain: 5 x 5 blocks of 20 x 20 x 15 m, streets 8.3 m (density 0.5, H/W 1.8),
    roofs and walls from the surface model, clear summer week at Torino."""
    from tests.solids import model_with_boxes

    p = 28.28
    x0, y0 = 395000.0, 4990000.0
    m = model_with_boxes(*[(x0 + i * p, y0 + j * p, 20.0, 20.0, 15.0)
                           for i in range(5) for j in range(5)])
    st = surface_temperatures(m, "clearsky", period="2025-07-10:2025-07-16", spinup_days=2)
    zones = grid_blocks([x0 - 4.14, y0 - 4.14, x0 - 4.14 + 5 * p, y0 - 4.14 + 5 * p], 5 * p)
    nb, bz = neighbourhoods(m, st, zones=zones)
    assert nb.building_fraction[0] == pytest.approx(0.5, abs=0.01)
    assert nb.height_m[0] == pytest.approx(15.0, abs=0.1)
    inp = st.inputs
    qw, qr = surface_heat_by_zone(st, bz, 1)
    r = canopy_air_temperature(nb, inp.weather.iloc[inp.sequence], inp.meta,
                               n_spin=inp.n_spin, q_walls_w=qw, q_roofs_w=qr)
    night = np.isin(r.times.hour, [23, 0, 1, 2, 3, 4, 5])
    uhi = float(r.uhi_k[0, night].mean())
    assert NIGHT_UHI_K[0] <= uhi <= NIGHT_UHI_K[1], uhi


def test_greener_and_lighter_ground_is_cooler_by_day(week):
    wx, meta = week
    base = canopy_air_temperature(_nbhd(), wx, meta, n_spin=48)
    green = canopy_air_temperature(_nbhd(veg_fraction=0.6), wx, meta, n_spin=48)
    light = canopy_air_temperature(_nbhd(paved_albedo=0.4), wx, meta, n_spin=48)
    trees = canopy_air_temperature(_nbhd(tree_fraction=0.3), wx, meta, n_spin=48)
    noon = base.times.hour == 13
    for r in (green, light, trees):
        d = float((r.t_canopy_c - base.t_canopy_c)[0, noon].mean())
        assert -TREE_AIR_MAX_K < d < -0.01, d


def test_waste_heat():
    assert float(waste_heat_w(1000.0, 0.0)) == pytest.approx(1000.0 / 0.9 - 1000.0)
    with pytest.raises(InputError):
        waste_heat_w(1.0, 1.0, cop=0.0)


def test_bad_inputs(week):
    wx, meta = week
    with pytest.raises(InputError, match="building_fraction"):
        _nbhd(building_fraction=1.5)
    with pytest.raises(InputError, match="q_walls_w"):
        canopy_air_temperature(_nbhd(), wx, meta, q_walls_w=np.ones((2, 3)))
    with pytest.raises(InputError, match="t_air_c"):
        canopy_air_temperature(_nbhd(), wx.drop(columns="t_air_c"), meta)
    with pytest.raises(InputError, match="blending_height_m"):
        canopy_air_temperature(_nbhd(height_m=60.0), wx, meta)


@pytest.fixture(scope="module")
def district():
    m = district_to_citymodel(make_district(seed=3, size_m=100.0))
    base = surface_temperatures(m, "clearsky", period="2025-07-15:2025-07-15", spinup_days=2,
                                overrides=cool_roofs(0.2))
    cool = surface_temperatures(m, overrides=cool_roofs(0.7), prepared=base.inputs)
    return m, base, cool


def test_cool_roofs_cool_the_canopy_of_a_model(district):
    m, base, cool = district
    nb, bz = neighbourhoods(m, base, block_m=100.0)
    assert nb.building_fraction.max() > 0.02 and nb.height_m.max() > 3.0
    inp = base.inputs
    wx = inp.weather.iloc[inp.sequence]
    out = []
    for s in (base, cool):
        qw, qr = surface_heat_by_zone(s, bz, len(nb))
        out.append(canopy_air_temperature(nb, wx, inp.meta, n_spin=inp.n_spin, q_walls_w=qw,
                                          q_roofs_w=qr))
    built = int(np.argmax(nb.building_fraction))
    peak = int(np.argmax(out[0].q_roof_w_m2[built]))
    d = float(out[0].t_canopy_c[built, peak] - out[1].t_canopy_c[built, peak])
    # scaled to a 50 % roof cover, as the published figure
    d50 = d * 0.5 / nb.building_fraction[built]
    assert COOL_ROOF_AIR_K[0] <= d50 <= COOL_ROOF_AIR_K[1], (d, nb.building_fraction[built])
    # determinism and the do-nothing scenario: same inputs, same numbers exactly
    again = surface_temperatures(m, overrides=cool_roofs(0.2), prepared=inp)
    qw, qr = surface_heat_by_zone(again, bz, len(nb))
    r = canopy_air_temperature(nb, wx, inp.meta, n_spin=inp.n_spin, q_walls_w=qw, q_roofs_w=qr)
    assert np.array_equal(r.t_canopy_c, out[0].t_canopy_c)
    frame = r.to_frame()
    assert list(frame.columns) == ["zone_id", "time", "t_canopy_c", "t_rural_c", "uhi_k"]
    assert len(frame) == len(nb) * 24
