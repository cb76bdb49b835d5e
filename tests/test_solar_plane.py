"""Solar solver on isolated planes against pvlib's Perez transposition (Denver TMY3)."""

from __future__ import annotations

import numpy as np
import pytest

from citymodel.model import CityModel
from energy.solar import irradiate
from energy.sun import weather_sun_positions
from energy.weather import read_epw
from tests.conftest import shared_path

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def denver():
    df, meta = read_epw(shared_path("weather", "725650TYCST.epw"))
    pos = weather_sun_positions(df, meta)
    return df, meta, pos


def plane_model(tilt_deg: float, azimuth_deg: float, size_m: float = 4.0) -> CityModel:
    """One square roof polygon (MultiSurface) with the given tilt and azimuth, 10 m up."""
    t, a = np.radians(tilt_deg), np.radians(azimuth_deg)
    n = np.array([np.sin(t) * np.sin(a), np.sin(t) * np.cos(a), np.cos(t)])
    u = np.cross([0, 0, 1.0], n) if tilt_deg > 1e-6 else np.array([1.0, 0, 0])
    u /= np.linalg.norm(u)
    v = np.cross(n, u)
    c = np.array([500000.0, 4400000.0, 10.0])
    h = size_m / 2
    m = CityModel(epsg=32613)
    m.add_vertices(
        np.array([c - u * h - v * h, c + u * h - v * h, c + u * h + v * h, c - u * h + v * h])
    )
    m.add_object(
        "plane",
        {
            "type": "Building",
            "geometry": [
                {
                    "type": "MultiSurface",
                    "lod": "2.2",
                    "boundaries": [[[0, 1, 2, 3]]],
                    "semantics": {"surfaces": [{"type": "RoofSurface"}], "values": [0]},
                }
            ],
        },
    )
    return m


def pvlib_annual_kwh_m2(denver, tilt: float, azimuth: float) -> float:
    """Annual POA irradiation of pvlib's Perez transposition [kWh/m2]."""
    import pvlib

    df, meta, pos = denver
    zen = pos["zenith_deg"].to_numpy()
    up = zen < 90
    ghi = np.where(up, df["dni_w_m2"] * np.cos(np.radians(zen)), 0) + df["dhi_w_m2"]
    ref = (
        pvlib.irradiance.get_total_irradiance(
            tilt,
            azimuth,
            pos["zenith_deg"],
            pos["azimuth_deg"],
            df["dni_w_m2"],
            ghi,
            df["dhi_w_m2"],
            dni_extra=pos["dni_extra_w_m2"],
            albedo=0.2,
            model="perez",
        )["poa_global"]
        .fillna(0)
        .sum()
        / 1000.0
    )
    return float(ref)


PLANES = [(0, 180), (30, 180), (45, 90), (60, 270), (90, 180), (90, 0), (90, 90), (20, 135)]


@pytest.mark.parametrize("tilt, azimuth", PLANES)
def test_plane_matches_pvlib_perez(denver, tilt, azimuth):
    df, meta, pos = denver
    res = irradiate(
        plane_model(tilt, azimuth),
        (df, meta),
        sensor_spacing_m=2.0,
        albedo=0.2,
        building_hourly=False,
    )
    mine = float(res.surface_annual_kwh_m2[0])
    ref = pvlib_annual_kwh_m2(denver, tilt, azimuth)
    assert mine == pytest.approx(ref, rel=0.02)
    # the solver is in fact much closer than the 2% the issue asks for
    assert mine == pytest.approx(ref, rel=0.005)
    # monthly values sum to the annual value and the sensors agree (no shading)
    np.testing.assert_allclose(res.sensor_annual_kwh_m2, mine, rtol=1e-4)


# measured differences of the all-weather sky from pvlib's Perez (1990) transposition, Denver
# TMY3, Tregenza patches: 0 -> +0.04%, 30/180 -0.3%, 45/90 -0.9%, 60/270 -0.6%, 90/180 +0.6%,
# 90/0 -2.0%, 90/90 -1.1%, 20/135 -0.4% (two different models of the same sky: the all-weather
# radiance distribution vs the 1990 irradiance model)
@pytest.mark.parametrize("tilt, azimuth", PLANES)
def test_plane_allweather_close_to_pvlib_perez(denver, tilt, azimuth):
    df, meta, pos = denver
    res = irradiate(
        plane_model(tilt, azimuth),
        (df, meta),
        sensor_spacing_m=2.0,
        albedo=0.2,
        building_hourly=False,
        sky_model="perez-allweather",
    )
    mine = float(res.surface_annual_kwh_m2[0])
    ref = pvlib_annual_kwh_m2(denver, tilt, azimuth)
    assert mine == pytest.approx(ref, rel=0.025)
    if tilt == 0:  # horizontal: the distribution integrates to DHI, so it equals DNI cos z + DHI
        assert mine == pytest.approx(ref, rel=0.002)


def test_horizontal_is_dni_cosz_plus_dhi(denver):
    df, meta, pos = denver
    res = irradiate(
        plane_model(0, 180), (df, meta), sensor_spacing_m=2.0, building_hourly=True, sun_resolution_deg=0
    )
    zen = pos["zenith_deg"].to_numpy()
    closure = np.where(zen < 90, df["dni_w_m2"] * np.cos(np.radians(zen)), 0) + df["dhi_w_m2"]
    expect = closure.sum() / 1000.0
    assert float(res.surface_annual_kwh_m2[0]) == pytest.approx(expect, rel=1e-3)
    # hourly roof irradiance of the building equals the closure GHI hour by hour, except with
    # the sun within 5 deg of the horizon where Perez caps the circumsolar term (as pvlib does)
    hourly = res.buildings.irradiance_w_m2[0, 0].astype(np.float64)
    high = zen < 85
    np.testing.assert_allclose(hourly[high], closure[high], atol=0.5)
    assert np.all(hourly[~high] <= closure[~high] + 0.5)
    # the EPW's own GHI differs from DNI cos(z) + DHI by the file's closure error
    epw = df["ghi_w_m2"].sum() / 1000.0
    closure_error = epw / expect - 1.0
    print(
        f"Denver TMY3 closure: EPW GHI {epw:.1f} vs DNI cos z + DHI {expect:.1f} kWh/m2a ({closure_error:+.2%})"
    )
    assert abs(closure_error) < 0.02
