"""ASHRAE 140-2020: every case the tool runs against the 2020 ranges (``energy bestest --all``),
and the ray-cast window shading against the exact analytic solution of a continuous overhang."""

from __future__ import annotations

import re

import numpy as np
import pytest

from energy.demand.bestest import ALL_CASES, bestest_model, reference_ranges
from energy.demand.shading import window_shading
from energy.demand.window_rays import ray_window_shading
from tests.conftest import shared_path

#: Values outside their 2020 range (see the report of issue #15), with how far outside they may be
#: (MWh or K). With the 2020 edition's raised floor over outdoor air, its glazing (U from the 12 mm
#: gap's 5.208 W/m2K, about 2.67 instead of the old pane's 3.0) and its air density (1.0156 kg/m3)
#: heating lands near the reference means (600: 4.23 vs 4.21 MWh, 900: 1.66 vs 1.63); what stays out
#: is heavy-mass cooling and the night-ventilated cases (910 cooling +0.014 MWh, 950 cooling
#: +0.073 MWh, 650FF mean +0.2 K, 950FF maximum +0.8 K): constant interior surface coefficients
#: couple the mass to the air too weakly when the air is far colder than the mass (EnergyPlus's
#: interior convection grows with the surface-air difference).
KNOWN_OUT = {("910", "annual_cooling_mwh"): 0.03, ("950", "annual_cooling_mwh"): 0.1,
             ("650FF", "ff_mean_c"): 0.3, ("950FF", "ff_max_c"): 1.0}


def test_reference_ranges_cover_every_case_and_agree_with_the_shared_file():
    ref = reference_ranges()
    assert len(ref) == 60 and set(ref["case"]) == set(ALL_CASES)
    assert (ref["min"] <= ref["mean"]).all() and (ref["mean"] <= ref["max"]).all()


@pytest.mark.shared_data
def test_reference_ranges_agree_with_the_shared_600_900_file():
    ref = reference_ranges().set_index(["case", "metric"])
    names = {"annual_heating": "annual_heating_mwh", "annual_sensible_cooling": "annual_cooling_mwh",
             "peak_heating": "peak_heating_kw", "peak_sensible_cooling": "peak_cooling_kw",
             "ff_max_zone_temp": "ff_max_c", "ff_min_zone_temp": "ff_min_c", "ff_mean_zone_temp": "ff_mean_c"}
    n = 0
    for line in shared_path("ashrae140", "REFERENCE_600_900.md").read_text().splitlines():
        m = re.match(r"\|\s*(\d{3}(?:FF)?)\s*\|\s*(\w+)\s*\|\s*\w+\s*\|\s*(-?[\d.]+)\s*\|\s*(-?[\d.]+)\s*\|", line)
        if m:
            row = ref.loc[(m.group(1), names[m.group(2)])]
            assert row["min"] == pytest.approx(float(m.group(3)), abs=0.051)
            assert row["max"] == pytest.approx(float(m.group(4)), abs=0.051)
            n += 1
    assert n == 14


@pytest.fixture(scope="module")
def table():
    from energy.demand.bestest import run_all
    from energy.weather import read_epw

    return run_all(read_epw(shared_path("weather", "725650TYCST.epw")))


@pytest.mark.shared_data
def test_every_case_against_its_2020_range(table):
    assert len(table) == 60
    for r in table.itertuples():
        if (r.case, r.metric) in KNOWN_OUT:
            tol = KNOWN_OUT[(r.case, r.metric)]
            assert abs(r.off) <= tol, f"{r.case} {r.metric}: {r.value:.3f} is {r.off:+.3f} outside {r.min}..{r.max}"
        else:
            assert r.inside, f"{r.case} {r.metric}: {r.value:.3f} outside {r.min}..{r.max}"
    assert int(table.inside.sum()) >= 60 - len(KNOWN_OUT)


@pytest.mark.shared_data
def test_cli_bestest_all_prints_the_table(cli_runner, monkeypatch, table):
    import energy.demand.bestest as b

    monkeypatch.setattr(b, "run_all", lambda weather: table)  # the table is computed once, above
    w = shared_path("weather", "725650TYCST.epw")
    res = cli_runner("energy", "bestest", "--all", "--weather", w)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert len(lines) == 62 and lines[-1].endswith("of 60 values inside the ASHRAE 140-2020 ranges")
    assert any(ln.startswith("950FF  ff_max_c") and "NO (" in ln for ln in lines)
    res = cli_runner("energy", "bestest", "--weather", w)
    assert res.exit_code == 1 and "--case CASE or --all" in res.output


def test_ray_cast_shading_matches_a_continuous_overhang_exactly():
    """A 1 m overhang 0.5 m above 2 m high south windows, 400 m long: the 2D profile-angle
    shadow and the crossed-strings sky factor are exact."""
    m = bestest_model("610")
    inst = m.city_objects["bestest_610_shading"]["geometry"][0]["boundaries"][0][0]
    v = m.vertices[inst]
    v[:, 0] = np.where(v[:, 0] < 4.0, -200.0, 208.0)
    m.vertices[inst] = v
    az = np.array([180.0, 150.0, 210.0, 180.0, 120.0, 240.0])
    el = np.array([20.0, 35.0, 50.0, 65.0, 30.0, 10.0])
    sunlit, sky, ground = ray_window_shading(m, "bestest_610", az, el, subdivision=16, n_directions=8192)
    ref, ref_sky, ref_ground = window_shading(az, el, np.array([180.0]), np.array([3.0]), np.array([2.0]),
                                              np.array([1.0]), np.array([0.5]), np.array([np.inf]),
                                              np.array([0.0]))
    np.testing.assert_allclose(sunlit[2], ref[0], atol=0.02)
    assert sky[2] == pytest.approx(ref_sky[0], abs=0.02)  # 0.787
    assert ground[2] == pytest.approx(1.0, abs=1e-9) and ref_ground[0] == 1.0
    np.testing.assert_array_equal(sunlit[[0, 1, 3]], 1.0)  # no windows there


@pytest.mark.shared_data
@pytest.mark.parametrize("shading", ["raycast", "analytic"])
def test_window_shading_coefficients_within_the_2020_range(shading):
    """ASHRAE 140-2020 Table B8-12: 1 - shaded / unshaded transmitted solar, 610/600 south
    0.176-0.224 and 630/620 west 0.268-0.342 (six reference programs)."""
    from energy.demand.irradiance import orientation_irradiance
    from energy.demand.simulate import window_irradiance
    from energy.weather import read_epw

    oi = orientation_irradiance(*read_epw(shared_path("weather", "725650TYCST.epw")))
    trans = {}
    for c in ("600", "610", "620", "630"):
        m = bestest_model(c, shading)
        trans[c] = window_irradiance(m, m.building_ids(), oi)[0].sum(axis=1)  # N, E, S, W [Wh/m2]
    assert 0.176 <= 1.0 - trans["610"][2] / trans["600"][2] <= 0.224
    assert 0.268 <= 1.0 - trans["630"][3] / trans["620"][3] <= 0.342


@pytest.mark.shared_data
def test_2020_glass_reproduces_the_reference_transmitted_solar():
    """ASHRAE 140-2020 Tables B8-14 / B8-11: unshaded transmitted solar 804-826 kWh/m2 (600
    south) and 569-624 kWh/m2 (620 west), transmissivity 0.587-0.627 and 0.600-0.640. The 2020
    pane (tau 0.834; lbl-srg/modelica-buildings#3005) lands inside; CASE_SPEC.md's 2017 pane
    (tau 0.86156) transmits about 8 % more, above every reference program."""
    from energy.demand.glazing import double_glazing
    from energy.demand.irradiance import orientation_irradiance
    from energy.weather import read_epw

    oi = orientation_irradiance(*read_epw(shared_path("weather", "725650TYCST.epw")))
    grid = np.linspace(0.0, 89.9, 400)
    w = np.sin(2 * np.radians(grid))

    def transmitted(tau_pane):
        tb = double_glazing(oi.aoi_deg[1:].ravel(), tau_pane=tau_pane)[0].reshape(4, -1)
        td = float(np.sum(double_glazing(grid, tau_pane=tau_pane)[0] * w) / np.sum(w))
        diffuse = oi.sky_diffuse_w_m2[1:] + oi.ground_diffuse_w_m2[1:]
        return (oi.beam_w_m2[1:] * tb + diffuse * td).sum(axis=1) / 1e3  # N, E, S, W [kWh/m2]

    incident = oi.total_w_m2[1:].sum(axis=1) / 1e3
    new, old = transmitted(0.834), transmitted(0.86156)
    assert 804 <= new[2] <= 826 and 569 <= new[3] <= 624
    assert 0.587 <= new[2] / incident[2] <= 0.627 and 0.600 <= new[3] / incident[3] <= 0.640
    assert old[2] > 826 and old[3] > 624


def test_2020_glazing_u_from_its_layers():
    """The 2020 pane pair (2 x 3.048 mm, k 1.0) and its 12 mm gap (5.208 W/m2K) with the network's
    films: the steady conductance inner pane -> outdoor air is that of the layers in series, and
    the old pane's 6.297 W/m2K gap in the same films gives back its published U = 3.0 within 5 %."""
    from energy.demand.bestest import BESTEST_U_WINDOW
    from energy.demand.model import Films

    f = Films()
    r_si = 1.0 / (f.h_ci_window + f.h_ri)
    r_se = 1.0 / (f.h_ce_window + f.h_re * f.eps_window / 0.9)
    assert 1.0 / BESTEST_U_WINDOW - r_si == pytest.approx(r_se + 2 * 0.003048 / 1.0 + 1 / 5.208, rel=1e-9)
    u_old = 1.0 / (r_se + 2 * 0.003175 / 1.06 + 1 / 6.297 + r_si)
    assert u_old == pytest.approx(3.0, rel=0.05)
    assert 2.5 < BESTEST_U_WINDOW < u_old


@pytest.mark.shared_data
def test_raised_floor_sees_the_outdoor_air():
    """Case 600 with the floor over outdoor air ('air') vs over a constant 10 C: the heating
    changes by the floor's UA times the hours' (10 C - outdoor) sum while heating runs (30 %)."""
    from energy.demand.simulate import simulate
    from energy.weather import read_epw

    wx = read_epw(shared_path("weather", "725650TYCST.epw"))
    m = bestest_model("600")
    kw = dict(free_running_twin=False, max_site_distance_km=None, hourly=True)
    a = simulate(m, wx, ground_temperature_c="air", **kw)
    b = simulate(m, wx, ground_temperature_c=10.0, **kw)
    ua = 48.0 / (1.0 / (2.2 + 5.0) + 1.003 / 0.04 + 0.025 / 0.14 + 1.0)  # films, layers, soil film [W/K]
    heat = b.hourly[0, 0] > 0  # hours the 10 C run heats
    t_out = wx[0]["t_air_c"].to_numpy()
    expect_kwh = ua * np.sum((10.0 - t_out)[heat]) / 1e3
    got_kwh = float(a.table.iloc[0]["heating_demand_kwh"] - b.table.iloc[0]["heating_demand_kwh"])
    assert expect_kwh > 20.0
    assert got_kwh == pytest.approx(expect_kwh, rel=0.3)
    with pytest.raises(Exception, match="degC or 'air'"):
        simulate(m, wx, ground_temperature_c="soil", **kw)


@pytest.mark.shared_data
def test_air_density_scales_infiltration():
    """Case 600 at the Standard's 1.0156 kg/m3 vs the weather's density at 20 C: the heating
    changes by the infiltration conductance difference times the heating hours' (20 C - outdoor)
    sum (30 %)."""
    from energy.demand.bestest import BESTEST_AIR_DENSITY_KG_M3
    from energy.demand.engine import forcing_from_weather
    from energy.demand.simulate import simulate
    from energy.weather import read_epw

    wx = read_epw(shared_path("weather", "725650TYCST.epw"))
    rho0 = forcing_from_weather(wx[0]).rho_air_kg_m3
    assert 0.97 < rho0 < 1.0  # 83.5 kPa at 20 C
    m = bestest_model("600")
    kw = dict(free_running_twin=False, max_site_distance_km=None, hourly=True, ground_temperature_c="air")
    a = simulate(m, wx, air_density_kg_m3=BESTEST_AIR_DENSITY_KG_M3, **kw)
    b = simulate(m, wx, **kw)
    heat = b.hourly[0, 0] > 0
    t_out = wx[0]["t_air_c"].to_numpy()
    dua = 0.5 * 129.6 / 3600 * 1005.0 * (BESTEST_AIR_DENSITY_KG_M3 - rho0)  # [W/K]
    expect_kwh = dua * np.sum((20.0 - t_out)[heat]) / 1e3
    got_kwh = float(a.table.iloc[0]["heating_demand_kwh"] - b.table.iloc[0]["heating_demand_kwh"])
    assert expect_kwh > 10.0
    assert got_kwh == pytest.approx(expect_kwh, rel=0.3)
