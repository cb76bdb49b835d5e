"""energy.weather: EPW reading (pvlib underneath), clear-sky year, site of a model, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from citymodel.errors import CRSError, WeatherError
from energy.weather import (
    WEATHER_COLUMNS,
    clearsky_weather,
    load_weather,
    mid_hour_times,
    read_epw,
    site_of_model,
)
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def denver():
    return read_epw(shared_path("weather", "725650TYCST.epw"))


@pytest.mark.shared_data
def test_read_epw_denver(denver):
    df, meta = denver
    assert list(df.columns) == list(WEATHER_COLUMNS)
    assert len(df) == 8760
    assert meta["latitude"] == pytest.approx(39.83)
    assert meta["longitude"] == pytest.approx(-104.65)
    assert meta["altitude_m"] == pytest.approx(1650.0)
    assert meta["tz_offset_h"] == -7.0
    # hour-ending stamps: EPW hour 1 of Jan 1 is stamped 01:00 local standard time
    assert df.index[0] == pd.Timestamp("2025-01-01 01:00", tz="Etc/GMT+7")
    assert df.index[-1] == pd.Timestamp("2026-01-01 00:00", tz="Etc/GMT+7")
    assert df.index.is_monotonic_increasing
    # first data record of the file: -18.0 C, dew -19.7, RH 85, 83700 Pa, IR 181
    first = df.iloc[0]
    assert first["t_air_c"] == -18.0
    assert first["t_dew_c"] == -19.7
    assert first["rh_percent"] == 85
    assert first["pressure_pa"] == 83700
    assert first["ir_horizontal_w_m2"] == 181
    assert first["albedo"] == pytest.approx(0.22)
    # published totals of this TMY3 file: GHI ~1670 kWh/m2a, mean temperature ~10.9 C
    assert df["ghi_w_m2"].sum() / 1000 == pytest.approx(1670.2, abs=0.5)
    assert df["t_air_c"].mean() == pytest.approx(10.88, abs=0.05)


@pytest.mark.shared_data
def test_noon_is_noon(denver):
    import pvlib

    df, meta = denver
    # Independent solar noon: pvlib's SPA transit for every day at the EPW site, in the file's
    # standard time (UTC-7). Denver (-104.65 E) is 0.35 deg east of the -105 meridian, so the
    # transit is 11:42..12:13 over the year, mean 11:59 (11.977 h, computed here).
    days = pd.date_range("2025-01-01", periods=365, freq="D", tz="Etc/GMT+7")
    transit = pvlib.solarposition.sun_rise_set_transit_spa(days, meta["latitude"], meta["longitude"])
    transit_h = ((transit["transit"] - days).dt.total_seconds() / 3600).to_numpy()
    assert transit_h.mean() == pytest.approx(11.977, abs=0.01)
    # EPW hour h covers (h-1, h]: mean solar noon 11.977 h lies in the hour ENDING at 12, so the
    # annual-mean GHI peaks in the hour stamped 12 (636.9 W/m2 vs 625.8 at 13); a one-hour
    # shift of the time stamps moves the peak to 11 or 13.
    noon_hour = int(np.ceil(transit_h.mean()))
    assert noon_hour == 12
    by_hour = df["ghi_w_m2"].groupby(df.index.hour).mean()
    assert by_hour.idxmax() == noon_hour
    # GHI-weighted centroid of each hour's mid-point (stamp - 30 min, computed here, not with
    # mid_hour_times) relative to that day's transit: -0.106 h for this TMY (morning-biased
    # clouds); a one-hour shift gives ~+-1 h, a 30-min mid-hour error ~+-0.5 h.
    mid = df.index - pd.Timedelta(minutes=30)
    mid_h = ((mid - mid.normalize()).total_seconds() / 3600).to_numpy()
    day_of_year = (mid.normalize() - days[0]).days.to_numpy()
    ghi = df["ghi_w_m2"].to_numpy()
    centroid_h = np.sum(ghi * (mid_h - transit_h[day_of_year])) / ghi.sum()
    assert abs(centroid_h) < 0.25
    # mid_hour_times against literal instants: EPW hour 1 of Jan 1 (00:00-01:00) -> 00:30
    mid = mid_hour_times(df.index)
    assert mid[0] == pd.Timestamp("2025-01-01 00:30", tz="Etc/GMT+7")
    assert mid[-1] == pd.Timestamp("2025-12-31 23:30", tz="Etc/GMT+7")


@pytest.mark.shared_data
def test_short_epw_records_are_padded():
    df, meta = read_epw(shared_path("weather", "DRYCOLDTMY.epw"))
    assert len(df) == 8760
    assert df["ghi_w_m2"].sum() / 1000 == pytest.approx(1832, abs=1)  # SOURCES.md
    assert df["albedo"].isna().all()


def test_clearsky_weather_against_pvlib():
    import pvlib

    df, meta = clearsky_weather(45.07, 7.68, year=2025, altitude_m=240.0)
    assert len(df) == 8760 and list(df.columns) == list(WEATHER_COLUMNS)
    assert meta["tz_offset_h"] == 1.0 and meta["source"] == "clearsky"
    # independent recomputation at mid-hour
    times = df.index - pd.Timedelta(minutes=30)
    loc = pvlib.location.Location(45.07, 7.68, altitude=240.0)
    cs = loc.get_clearsky(times, model="ineichen")
    np.testing.assert_allclose(df["ghi_w_m2"].to_numpy(), cs["ghi"].fillna(0).to_numpy(), atol=1e-6)
    # clear-sky GHI at 45 N: 1600..1900 kWh/m2a (no clouds)
    assert 1600 < df["ghi_w_m2"].sum() / 1000 < 1900
    # solar-noon hours are the brightest, summer warmer than winter
    assert df["ghi_w_m2"].groupby(df.index.hour).mean().idxmax() in (12, 13)
    t = df["t_air_c"]
    assert t[df.index.month == 7].mean() > t[df.index.month == 1].mean() + 10


def test_site_of_model_and_no_crs():
    from citymodel.model import CityModel

    m = CityModel(vertices=np.array([[395000.0, 4990000.0, 240.0], [395200.0, 4990200.0, 260.0]]), epsg=32632)
    lat, lon, alt = site_of_model(m)
    assert lat == pytest.approx(45.06, abs=0.02) and lon == pytest.approx(7.66, abs=0.02) and alt == 240.0
    m.epsg = None
    with pytest.raises(CRSError, match="referenceSystem"):
        site_of_model(m)
    with pytest.raises(CRSError):
        load_weather("clearsky", m)


def _write(tmp_path, text, name="bad.epw"):
    p = tmp_path / name
    p.write_text(text, encoding="latin-1")
    return p


def test_not_epw(tmp_path):
    p = _write(tmp_path, "time,ghi\n2020-01-01,0\n", "x.csv")
    with pytest.raises(WeatherError, match=r"x\.csv, line 1: not an EPW file"):
        read_epw(p)


@pytest.mark.shared_data
def test_missing_hours_names_line(tmp_path):
    src = shared_path("weather", "725650TYCST.epw").read_text(encoding="latin-1").splitlines()
    lines = src[:8] + src[8:100] + src[101:]  # drop the 93rd record (line 101)
    p = _write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(WeatherError, match=r"8759 hourly records.*line 101"):
        read_epw(p)


@pytest.mark.shared_data
def test_wrong_header(tmp_path):
    src = shared_path("weather", "725650TYCST.epw").read_text(encoding="latin-1").splitlines()
    bad = list(src)
    bad[7] = "COMMENTS 3,nothing"
    with pytest.raises(WeatherError, match="line 8: wrong EPW header"):
        read_epw(_write(tmp_path, "\n".join(bad) + "\n"))
    bad = list(src)
    bad[0] = "LOCATION,X,,,,,north,-104.65,-7.0,1650.0"
    with pytest.raises(WeatherError, match="line 1: LOCATION latitude"):
        read_epw(_write(tmp_path, "\n".join(bad) + "\n"))


@pytest.mark.shared_data
def test_clearsky_temperature_model_near_turin_climate():
    """The synthetic clear-sky temperatures track a real year in Turin within a few kelvin."""
    df, meta = read_epw(shared_path("weather", "ITA_PM_Torino.AF.160595_TMYx.epw"))
    cs, _ = clearsky_weather(meta["latitude"], meta["longitude"], altitude_m=meta["altitude_m"])
    real = df["t_air_c"].groupby(df.index.month).mean().to_numpy()
    model = cs["t_air_c"].groupby(cs.index.month).mean().to_numpy()
    np.testing.assert_allclose(model, real, atol=3.5)
    assert abs(model.mean() - real.mean()) < 1.5
    july = cs["t_air_c"][cs.index.month == 7]
    assert 28 < july.max() < 34  # a summer afternoon, not a mild spring day
