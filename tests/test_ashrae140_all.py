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

#: Values outside their 2020 range (see the report of issue #15). With the 2020 pane, the glass's
#: inward absorbed solar entering the room, exterior convection from ISO 6946 and the Perez
#: circumsolar part shaded like the beam, the misses are small: 640 heating +0.010 MWh, 910 peak
#: cooling -0.014 kW, 930 heating +0.028 MWh, and the night-ventilated heavy cases (950 cooling
#: +0.043 MWh, 950FF maximum +0.5 K): constant surface coefficients cool the mass too little at
#: night (EnergyPlus's interior convection grows with the surface-air difference).
KNOWN_OUT = {("640", "annual_heating_mwh"), ("910", "peak_cooling_kw"), ("930", "annual_heating_mwh"),
             ("950", "annual_cooling_mwh"), ("950FF", "ff_max_c")}
#: How far outside its range a KNOWN_OUT value may be, as a share of the range's mean (or 0.6 K).
KNOWN_OUT_TOL = 0.08


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
            tol = 0.6 if r.unit == "C" else KNOWN_OUT_TOL * r.mean
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
