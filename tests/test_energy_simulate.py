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
    assert (t.overheating_hours <= 8760).all()


def test_results_per_building_equal_hand_steady_state(weather):
    """Each building's annual heating in a constant climate (no sun, no gains, 20 degC all year)
    against the hand sum UA * 20 K * 8760 h over its own envelope (8 different insulations,
    row ends vs mid-row houses with adiabatic party walls, N/S windows, infiltration)."""
    from energy.demand.model import Films

    wx = _steady_weather(weather, T_OUT_C, sun=False)
    t = simulate(_steady_district(wwr=0.2), wx, films=Films(**STEADY_FILMS_KW), ground_temperature_c=T_OUT_C,
                 max_site_distance_km=None).table
    hand_kwh = np.array([_steady_ua_w_k(k, wwr=0.2) * 20.0 * 8.760 for k in range(8)])
    np.testing.assert_allclose(t.window_area_m2, 0.2 * 144.0, rtol=1e-9)
    np.testing.assert_allclose(t.floor_area_m2, 240.0, rtol=1e-9)  # 3 storeys of 80 m2
    # measured 6e-6 (the first hours settle from the initial state); a 0.1 % change fails
    np.testing.assert_allclose(t.heating_demand_kwh, hand_kwh, rtol=1e-4)
    np.testing.assert_allclose(t.peak_heating_kw * 1e3, hand_kwh / 8.760, rtol=1e-4)
    assert (t.cooling_demand_kwh == 0).all()
    np.testing.assert_allclose(t.t_air_mean_c, 20.0, atol=1e-3)


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
    """Each measure's effect against its closed-form size in a steady climate (see above).

    Dark year (no sun): insulation changes only wall/roof U, new windows only the window U
    (g unchanged): delta = dUA * (T_set - T_out) * 8760 h. Sunny year without windows (always
    heating at -10 degC): the cool roof changes only the roof's absorbed solar, delta =
    UA_roof * d(alpha) * sum(I_roof) / h_e (sol-air temperature), and the insulation's delta
    carries the sol-air term of walls and roof too. Setpoint: 19 degC day and night
    (setback 19 already) makes the run steady again: heating = UA * 19 K * 8760 h.
    """
    from energy.demand.irradiance import orientation_irradiance
    from energy.demand.model import Films
    from energy.demand.scenarios import INSULATION_K_W_MK, Retrofit

    f = Films(**STEADY_FILMS_KW)
    h_e = f.h_ce_wall + f.h_re
    r_wall_add, r_roof_add = 0.10 / INSULATION_K_W_MK, 0.12 / INSULATION_K_W_MK
    ins = Retrofit("insulation", wall_insulation_m=0.10, roof_insulation_m=0.12)
    ids = [f"b{k}" for k in range(8)]

    # dark year, N/S windows
    d = _steady_run(_steady_district(wwr=0.2), _steady_weather(weather, T_OUT_C, sun=False),
                    [ins, Retrofit("windows", window_u_w_m2k=1.3)])
    dh = 20.0 * 8.760  # K * kh
    base = np.array([_steady_ua_w_k(k, wwr=0.2) for k in range(8)])
    exp_ins = np.array([_steady_ua_w_k(k, wwr=0.2, wall_extra_r=r_wall_add, roof_extra_r=r_roof_add)
                        for k in range(8)]) - base
    exp_win = np.array([_steady_ua_w_k(k, wwr=0.2, u_win=1.3) for k in range(8)]) - base
    assert (d.loc["baseline", "delta_heating_kwh"] == 0).all()
    # measured 6e-5 and 5e-5 relative (settling of the first hours, as the absolute values)
    np.testing.assert_allclose(d.loc["insulation"].loc[ids, "delta_heating_kwh"], exp_ins * dh, rtol=5e-4)
    np.testing.assert_allclose(d.loc["windows"].loc[ids, "delta_heating_kwh"], exp_win * dh, rtol=5e-4)

    # sunny year at -10 degC, no windows: cool roof and insulation with the sol-air terms
    t_out = -10.0
    wx = _steady_weather(weather, t_out, sun=True)
    oi = orientation_irradiance(*wx)
    kh_roof = oi.total_w_m2[0].sum(dtype=np.float64) / 1e3  # sum of I_roof [kWh/m2]
    kh_ns = (oi.total_w_m2[1].sum(dtype=np.float64) + oi.total_w_m2[3].sum(dtype=np.float64)) / 1e3  # N + S
    kh_end = oi.total_w_m2[2].sum(dtype=np.float64) / 1e3, oi.total_w_m2[4].sum(dtype=np.float64) / 1e3  # E, W
    s = _steady_run(_steady_district(wwr=0.0), wx, [ins, Retrofit("cool_roof", roof_albedo=0.8)])
    exp_cool, exp_ins_sun = [], []
    for k in range(8):
        r = _r_layers(_layers(INS_M[k]))
        u_roof = 1.0 / (1 / 2.5 + r + 1 / h_e)
        u_roof2 = 1.0 / (1 / 2.5 + r + r_roof_add + 1 / h_e)
        u_wall, u_wall2 = u_roof, 1.0 / (1 / 2.5 + r + r_wall_add + 1 / h_e)  # same layers and films
        # exterior wall irradiation [m2 kWh/m2]: N and S walls 72 m2; the end wall faces W (b0, b4)
        # or E (b3, b7)
        wall_irr = 72.0 * kh_ns + (90.0 * kh_end[1] if k % 4 == 0 else 90.0 * kh_end[0] if k % 4 == 3 else 0.0)
        a_wall = 144.0 + (90.0 if k % 4 in (0, 3) else 0.0)
        exp_cool.append(80.0 * u_roof * (0.7 - 0.2) * kh_roof / h_e)
        # heating = sum_h UA (T_set - T_out) - U A alpha I / h_e over walls and roof
        d_wall = (u_wall2 - u_wall) * (a_wall * (20.0 - t_out) * 8.760 - 0.6 * wall_irr / h_e)
        d_roof = (u_roof2 - u_roof) * (80.0 * (20.0 - t_out) * 8.760 - 0.7 * 80.0 * kh_roof / h_e)
        exp_ins_sun.append(d_wall + d_roof)
    assert (s.loc["baseline", "cooling_demand_kwh"] == 0).all()  # heating all year: linear regime
    # measured 1.5e-5 and 3e-5 relative
    np.testing.assert_allclose(s.loc["cool_roof"].loc[ids, "delta_heating_kwh"], exp_cool, rtol=5e-4)
    np.testing.assert_allclose(s.loc["insulation"].loc[ids, "delta_heating_kwh"], exp_ins_sun, rtol=5e-4)

    # setpoint: the setback is 19 already, 19 by day makes the year steady
    p = _steady_run(_steady_district(wwr=0.2, setback_c=19.0), _steady_weather(weather, T_OUT_C, sun=False),
                    [Retrofit("setpoint", t_heat_c=19.0)])
    np.testing.assert_allclose(p.loc["setpoint"].loc[ids, "heating_demand_kwh"], base * 19.0 * 8.760, rtol=1e-4)
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


# --------------------------------------------------------------------------- steady climates
# A climate where the answer is closed-form: outdoor air, sky and ground at one constant
# temperature, so every construction carries UA (T_set - T_out) once the year has settled, and
# the per-building demand is a hand sum over the envelope (the textbook steady-state / sol-air
# balance; the same formulas as tests/test_energy_model.py). Identical inner films and no
# inner long-wave exchange (h_ri ~ 0) make the surfaces' conductances add up exactly.
SIGMA = 5.670374419e-8
T_OUT_C = 0.0
STEADY_FILMS_KW = dict(h_ci_wall=2.5, h_ci_roof=2.5, h_ci_floor=2.5, h_ri=1e-4, r_ground_m2k_w=1.0 / 33.9,
                       solar_to_floor=1.0)
#: Insulation thickness of building k (its own UA): 4 ... 18 cm.
INS_M = [0.04, 0.06, 0.08, 0.10, 0.12, 0.14, 0.16, 0.18]
RHO_AIR = 101325.0 / (287.05 * 293.15)  # the model's air density at the weather's mean pressure


def _layers(ins_m: float) -> list[list[float]]:
    return [[0.02, 0.7, 1800.0, 900.0], [ins_m, 0.04, 30.0, 1400.0], [0.15, 0.8, 1800.0, 1000.0]]


def _steady_weather(weather, t_out_c: float, sun: bool):
    """The Denver year with constant air/sky temperature; its irradiance kept or zeroed."""
    df, meta = weather
    df = df.copy()
    df["t_air_c"] = t_out_c
    df["t_dew_c"] = t_out_c - 5.0
    df["pressure_pa"] = 101325.0
    df["ir_horizontal_w_m2"] = SIGMA * (t_out_c + 273.15) ** 4  # sky at air temperature
    if not sun:
        df[["ghi_w_m2", "dni_w_m2", "dhi_w_m2"]] = 0.0
    return df, meta


def _steady_district(*, wwr: float, setback_c: float = 20.0) -> CityModel:
    m = _district()
    for k, b in enumerate(m.building_ids()):
        m.city_objects[b]["attributes"].update({
            "energy_wall_layers": _layers(INS_M[k]), "energy_roof_layers": _layers(INS_M[k]),
            "energy_floor_layers": _layers(INS_M[k]), "energy_wwr_n": wwr, "energy_wwr_s": wwr,
            "energy_wwr_e": 0.0, "energy_wwr_w": 0.0, "energy_u_window_w_m2k": 2.8,
            "energy_infiltration_ach": 0.5, "energy_internal_gain_w": 0.0, "energy_alpha_roof": 0.7,
            "energy_alpha_wall": 0.6, "energy_t_heat_c": 20.0, "energy_t_heat_setback_c": setback_c,
            "energy_schedule": {"gain_frac": 0.0, "t_cool_c": 999.0, "vent_frac": 0.0},
        })
    return m


def _r_layers(layers) -> float:
    return sum(d / k for d, k, _, _ in layers)


def _steady_ua_w_k(k: int, *, wwr: float, u_win: float = 2.8, wall_extra_r: float = 0.0,
                   roof_extra_r: float = 0.0) -> float:
    """Hand UA of building k of the 2 x 4 rows (8 x 10 x 9 m boxes; ends k = 0, 3, 4, 7)."""
    from energy.demand.model import Films

    f = Films(**STEADY_FILMS_KW)
    r = _r_layers(_layers(INS_M[k]))
    r_out = 1.0 / (f.h_ce_wall + f.h_re)
    ext_wall = 2 * 8.0 * 9.0 + (10.0 * 9.0 if k % 4 in (0, 3) else 0.0)  # N + S (+ the end wall)
    a_win = wwr * 2 * 8.0 * 9.0  # windows on N and S only
    ua = (ext_wall - a_win) / (1 / 2.5 + r + wall_extra_r + r_out)
    ua += 80.0 / (1 / 2.5 + r + roof_extra_r + r_out)  # roof
    ua += 80.0 / (1 / 2.5 + r + f.r_ground_m2k_w)  # floor on the ground (party walls adiabatic)
    ua += u_win * a_win
    return ua + RHO_AIR * 1005.0 * 0.5 * (8.0 * 10.0 * 9.0) / 3600.0  # infiltration


def _steady_run(model, wx, scenarios):
    from energy.demand.model import Films
    from energy.demand.scenarios import run_scenarios

    return run_scenarios(model, wx, scenarios, films=Films(**STEADY_FILMS_KW), ground_temperature_c=T_OUT_C,
                         max_site_distance_km=None).set_index(["scenario", "building_id"])
