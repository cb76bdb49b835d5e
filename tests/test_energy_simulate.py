"""simulate(): results on a terraced district, outputs, solar shading, scenarios, bad input, CLI."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from citymodel.errors import InputError, OutputExistsError, WeatherError
from citymodel.model import CityModel
from energy.demand.boxes import box_rows_model
from energy.demand.simulate import RESULT_COLUMNS, simulate
from tests.conftest import shared_path

pytestmark = pytest.mark.shared_data

DENVER_UTM13 = (529900.0, 4408900.0)


@pytest.fixture(scope="module")
def weather():
    from energy.weather import read_epw

    return read_epw(shared_path("weather", "725650TYCST.epw"))


def _district(**kw) -> CityModel:
    return box_rows_model(2, 4, epsg=32613, origin=DENVER_UTM13, **kw)


@pytest.fixture(scope="module")
def ages(weather):
    m = _district(years=(1900, 1970, 1995, 2020))
    return m, simulate(m, weather, hourly=True)


def test_results_per_building(ages):
    m, r = ages
    t = r.table
    assert list(t.index) == m.building_ids()
    for c in RESULT_COLUMNS:
        assert np.all(np.isfinite(t[c])) and np.all(t[c] >= 0), c
    np.testing.assert_allclose(t.heating_demand_kwh_m2, t.heating_demand_kwh / t.floor_area_m2)
    # same geometry, newer construction period -> less heating per m2 (row ends: b0, b3 differ
    # from mid-row houses, so compare b1 (1970) with b2 (1995) and b5 (1970) with b6 (1995))
    assert t.loc["b1", "heating_demand_kwh_m2"] > t.loc["b2", "heating_demand_kwh_m2"]
    assert t.loc["b5", "heating_demand_kwh_m2"] > t.loc["b6", "heating_demand_kwh_m2"]
    # old stock in a Denver climate: between 50 and 400 kWh/m2 of heating
    assert 50 < t.loc["b0", "heating_demand_kwh_m2"] < 400
    assert (t.overheating_hours <= 8760).all()


def test_hourly_series_sum_to_annual(ages, tmp_path):
    _, r = ages
    assert r.hourly.shape == (4, 8, 8760)
    np.testing.assert_allclose(r.hourly[0].sum(axis=1, dtype=np.float64) / 1e3, r.table.heating_demand_kwh, rtol=1e-4)
    np.testing.assert_allclose(r.hourly[1].max(axis=1) / 1e3, r.table.peak_cooling_kw, rtol=1e-4)
    p = tmp_path / "h.parquet"
    r.to_parquet(p)
    df = pd.read_parquet(p)
    assert len(df) == 8 * 8760 and {"building_id", "time", "heating_w", "t_operative_c"} <= set(df.columns)
    with pytest.raises(OutputExistsError):
        r.to_parquet(p)


def test_attributes_and_geopackage(ages, tmp_path):
    import pyogrio

    m, r = ages
    m = m.copy()
    assert r.write_attributes(m) == 8
    a = m.city_objects["b0"]["attributes"]
    assert a["heating_demand_kwh"] == pytest.approx(r.table.loc["b0", "heating_demand_kwh"], abs=0.01)
    assert a["energy_archetype_id"] == "IT_RES_0000_1900"
    g = tmp_path / "e.gpkg"
    r.to_gpkg(g, m)
    import shapely

    meta, _, wkb, fields = pyogrio.raw.read(g)[:4]
    assert len(wkb) == 8 and "heating_demand_kwh" in list(meta["fields"])
    assert shapely.area(shapely.from_wkb(wkb)) == pytest.approx(np.full(8, 80.0), rel=1e-6)


def test_memory_without_hourly_output(weather):
    r = simulate(_district(), weather, hourly=False, block_size=3)
    assert r.hourly is None
    r2 = simulate(_district(), weather, hourly=False, block_size=4096)
    np.testing.assert_allclose(r.table.heating_demand_kwh, r2.table.heating_demand_kwh, rtol=1e-6)


def test_shared_walls_save_heating(weather):
    t = simulate(_district(), weather).table
    # the mid-row houses lose less than the row ends
    assert t.loc["b1", "heating_demand_kwh"] < t.loc["b0", "heating_demand_kwh"]


def test_solar_shading_from_solar_model(weather):
    from citymodel.surfaces import split_semantic_surfaces
    from energy.demand.irradiance import orientation_irradiance

    m = _district()
    base = simulate(m, weather).table
    sol = m.copy()
    split_semantic_surfaces(sol)
    unshaded = orientation_irradiance(*weather).total_w_m2.sum(axis=1) / 1e3
    for o in sol.city_objects.values():  # half the unshaded irradiation on every surface
        for s in o["geometry"][0]["semantics"]["surfaces"]:
            if s["type"] == "RoofSurface":
                s["irradiation_kwh_m2"] = 0.5 * unshaded[0]
            elif s["type"] == "WallSurface":
                s["irradiation_kwh_m2"] = 0.5 * unshaded[3]
    shaded = simulate(m, weather, solar=sol).table
    assert (shaded.cooling_demand_kwh < base.cooling_demand_kwh).all()
    assert (shaded.heating_demand_kwh > base.heating_demand_kwh).all()
    # Size of the effect: the solar model above means, per orientation group (roof, N, E, S, W),
    # shading factors 0.5 (roof, S) and 0.5 * S / N, E, W (every wall got half the south value;
    # clipped to the documented 0..1.5). The same factors applied to the unshaded hourly
    # irradiance (the hourly solar input, checked equal to annual factors to 1e-4 in
    # test_hourly_solar_irradiance_matches_annual_factors) must give the same demand.
    from types import SimpleNamespace

    oi = orientation_irradiance(*weather)
    f = np.clip(np.array([0.5, 0.5 * unshaded[3] / unshaded[1], 0.5 * unshaded[3] / unshaded[2], 0.5,
                          0.5 * unshaded[3] / unshaded[4]]), 0.0, 1.5)
    ids = m.building_ids()
    arr = np.repeat((f[:, None] * oi.total_w_m2)[None].astype(np.float32), len(ids), axis=0)
    expected = simulate(m, weather, solar=SimpleNamespace(building_ids=ids, irradiance_w_m2=arr)).table
    np.testing.assert_allclose(shaded.heating_demand_kwh, expected.heating_demand_kwh, rtol=1e-4)
    np.testing.assert_allclose(shaded.cooling_demand_kwh, expected.cooling_demand_kwh, rtol=1e-4)


def test_hourly_solar_irradiance_matches_annual_factors(weather):
    """Hourly shaded irradiance (the solar solver's BuildingIrradiance) at a constant 60 % of
    the unshaded one gives the same demand as the annual shading factor 0.6."""
    from types import SimpleNamespace

    from energy.demand.irradiance import orientation_irradiance

    m = _district()
    oi = orientation_irradiance(*weather)
    ids = m.building_ids()
    arr = np.repeat((0.6 * oi.total_w_m2)[None].astype(np.float32), len(ids), axis=0)
    hourly = simulate(m, weather, solar=SimpleNamespace(building_ids=ids, irradiance_w_m2=arr)).table
    sol = m.copy()  # a solar model; its factors are set exactly to 0.6 below
    from energy.demand import simulate as sim

    orig = sim.solar_shading_factors
    sim.solar_shading_factors = lambda *a, **k: np.full((len(ids), 5), 0.6)
    try:
        annual = simulate(m, weather, solar=sol).table
    finally:
        sim.solar_shading_factors = orig
    np.testing.assert_allclose(hourly.heating_demand_kwh, annual.heating_demand_kwh, rtol=1e-4)
    np.testing.assert_allclose(hourly.cooling_demand_kwh, annual.cooling_demand_kwh, rtol=1e-4)


def test_weather_far_from_model_is_refused(weather):
    rome = box_rows_model(1, 2)  # UTM 33N, Rome
    with pytest.raises(WeatherError, match=r"km from the model") as e:
        simulate(rome, weather)
    assert "39.8" in str(e.value) and "41." in str(e.value)
    simulate(rome, weather, max_site_distance_km=None)  # explicitly allowed


def test_bad_buildings_are_skipped_with_a_warning(weather):
    m = _district()
    v = m.add_vertices([[DENVER_UTM13[0], DENVER_UTM13[1] - 50, 3.0], [DENVER_UTM13[0] + 5, DENVER_UTM13[1] - 50, 3.0],
                        [DENVER_UTM13[0] + 5, DENVER_UTM13[1] - 45, 3.0]])
    m.add_object("roof_only", {"type": "Building", "geometry": [{
        "type": "MultiSurface", "lod": "2.2", "boundaries": [[list(map(int, v))]],
        "semantics": {"surfaces": [{"type": "RoofSurface"}], "values": [0]}}]})
    with pytest.warns(UserWarning, match="skipped"):
        r = simulate(m, weather)
    assert "roof_only" in r.skipped and "roof_only" not in r.table.index
    only_bad = CityModel(epsg=32613)
    only_bad.vertices = m.vertices.copy()
    only_bad.add_object("roof_only", m.city_objects["roof_only"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InputError, match="no building can be simulated"):
            simulate(only_bad, weather)


def test_retrofit_scenarios(weather):
    from energy.demand.scenarios import Retrofit, run_scenarios

    m = _district(years=(1965,))
    out = run_scenarios(m, weather, [
        Retrofit("insulation", wall_insulation_m=0.10, roof_insulation_m=0.12),
        Retrofit("windows", window_u_w_m2k=1.3, window_g=0.6),
        Retrofit("cool_roof", roof_albedo=0.8),
        Retrofit("setpoint", t_heat_c=19.0),
    ])
    d = out.set_index(["scenario", "building_id"])
    assert (d.loc["baseline", "delta_heating_kwh"] == 0).all()
    assert (d.loc["insulation", "delta_heating_pct"] < -20).all()
    assert (d.loc["windows", "delta_heating_kwh"] < 0).all()
    assert (d.loc["cool_roof", "delta_cooling_kwh"] < 0).all()
    assert (d.loc["setpoint", "delta_heating_kwh"] < 0).all()
    with pytest.raises(InputError):
        Retrofit("bad", roof_albedo=1.5)


def test_cli_simulate(cli_runner, tmp_path):
    from citymodel.io import write

    src = tmp_path / "d.city.json"
    write(_district(), src)
    out = tmp_path / "o.city.json"
    w = shared_path("weather", "725650TYCST.epw")
    res = cli_runner("-q", "energy", "simulate", src, "--weather", w, "--out", out,
                     "--hourly", tmp_path / "h.parquet", "--gpkg", tmp_path / "e.gpkg")
    assert res.exit_code == 0, res.output
    from citymodel.io import read

    m = read(out)
    assert all("heating_demand_kwh" in m.city_objects[b]["attributes"] for b in m.building_ids())
    assert (tmp_path / "h.parquet").exists() and (tmp_path / "e.gpkg").exists()
    res = cli_runner("-q", "energy", "simulate", src, "--weather", w, "--out", out)
    assert res.exit_code == 1 and "overwrite" in res.output


def test_combined_solar_series_equal_the_nine_series(weather):
    """combine_solar hands the kernel 3 weighted series; results equal the 9-series hand-over."""
    from energy.demand.engine import Schedules, combine_solar, forcing_from_weather, run_thermal
    from energy.demand.irradiance import orientation_irradiance
    from tests.test_energy_kernel import _constructions

    n = 12
    c = _constructions(n, 5, party_walls=False)
    rng = np.random.default_rng(5)
    oi = orientation_irradiance(*weather)
    sf = rng.uniform(0.3, 1.0, (n, 5, 1)).astype(np.float32)
    irr = (oi.total_w_m2[None] * sf).astype(np.float32)
    irw = (oi.window_w_m2[None] * sf[:, 1:]).astype(np.float32)
    forcing = forcing_from_weather(weather[0])
    sched = Schedules.constant("t", 20.0, 26.0)
    sid = np.zeros(n, np.int64)
    nine = run_thermal(c, forcing, sched, sid, irr, irw, np.arange(n), free_running_twin=False)
    three = run_thermal(c, forcing, sched, sid, combine_solar(c, irr, irw), None, np.arange(n),
                        free_running_twin=False)
    for name in ("heating_wh", "cooling_wh", "peak_heating_w", "peak_cooling_w"):
        a, b = getattr(nine, name), getattr(three, name)
        # bit-identical today (measured); 1e-9 relative leaves room only for summation order
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=0)
    assert nine.heating_wh.sum() > 0 and nine.cooling_wh.sum() > 0
