"""Spin-up of the heat grid on the forcing rows that precede the period (microclimate.spinup)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from affine import Affine

from microclimate.grid import HeatRasters, prepare_grid, run_grid
from microclimate.spinup import spinup_plan

TR = Affine(1.0, 0.0, 500000.0, 0.0, -1.0, 5000.0)
SITE = dict(lat_deg=45.0, lon_deg=10.0, tz_offset_h=1.0)


def _forcing(n_days: int, t_shift_c=None) -> pd.DataFrame:
    """Hourly clear-sky-like forcing, the same every day (plus a per-day air-temperature shift)."""
    idx = pd.date_range("2021-06-20 01:00", periods=24 * n_days, freq="h")
    hour = (np.arange(idx.size) % 24) + 0.5
    day = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None)
    shift = np.repeat(np.zeros(n_days) if t_shift_c is None else t_shift_c, 24)
    df = pd.DataFrame({"ghi_w_m2": 700 * day, "dhi_w_m2": 120 * day, "dni_w_m2": 750 * day,
                       "t_air_c": 20 + 6 * np.sin((hour - 9) / 24 * 2 * np.pi) + shift,
                       "rh_percent": 50.0, "wind_speed_m_s": 2.0,
                       "ir_horizontal_w_m2": 340.0 + 5.0 * shift}, index=idx)
    df["time_mid"] = idx - pd.Timedelta(minutes=30)
    return df


@pytest.fixture(scope="module")
def flat():
    n = 9
    ground = np.full((n, n), 5.0)
    return prepare_grid(HeatRasters(ground, ground.copy(), None, np.full((n, n), 1), TR, None),
                        n_rays=64)


def test_plan_splits_preceding_rows_and_repeated_days():
    assert spinup_plan(24, 24, 24) == spinup_plan(24, 24, 24)
    p = spinup_plan(48, 30, 24)
    assert (p.preceding_rows, p.repeated_days, p.days) == (30, 1, 2.25)
    assert "repeated 1 time(s), then the 30 forcing rows" in p.describe()
    p = spinup_plan(24, 0, 24)
    assert (p.preceding_rows, p.repeated_days) == (0, 1) and "no forcing rows" in p.describe()
    assert spinup_plan(0, 0, 24).describe() == "no spin-up"


def test_preceding_rows_equal_a_repeated_day_when_the_weather_repeats(flat):
    """A periodic forcing: spinning up on the real day before or on a repeat of the first day
    must give the same period (only the sun moves by a day: < 0.01 K)."""
    f = _forcing(2)
    pts = np.array([[4, 4]])
    real = run_grid(flat, f.iloc[24:], SITE, points_rc=pts, spinup_forcing=f.iloc[:24])
    rep = run_grid(flat, f.iloc[24:], SITE, points_rc=pts)
    assert real.attrs["spinup_preceding_rows"] == 24 and real.attrs["spinup_repeated_days"] == 0
    assert "real weather" in real.attrs["spinup"]
    assert rep.attrs["spinup_preceding_rows"] == 0 and rep.attrs["spinup_repeated_days"] == 1
    assert "no forcing rows precede" in rep.attrs["spinup"]
    np.testing.assert_allclose(real.points["tmrt_c"], rep.points["tmrt_c"], atol=0.01)
    np.testing.assert_allclose(real.t_surface_max_c, rep.t_surface_max_c, atol=0.01,
                               equal_nan=True)


def test_a_hotter_preceding_day_warms_the_ground_at_the_start(flat):
    """The rows before the period are really used: after a day 6 K hotter the ground (and so
    Lup and Tmrt) starts warmer, and the memory fades over the period's day."""
    f = _forcing(2, t_shift_c=np.array([6.0, 0.0]))
    pts = np.array([[4, 4]])
    hot = run_grid(flat, f.iloc[24:], SITE, points_rc=pts, spinup_forcing=f.iloc[:24])
    rep = run_grid(flat, f.iloc[24:], SITE, points_rc=pts)
    d_lup = hot.points["lup_w_m2"][0] - rep.points["lup_w_m2"][0]
    # first hour: a surface ~ 3-6 K warmer emits ~ 5.5 W/m2 per K more
    assert 10.0 < d_lup[0] < 40.0
    assert np.all(d_lup > 0) and d_lup[-1] < 0.5 * d_lup[0]
    assert np.all(hot.points["tmrt_c"][0] >= rep.points["tmrt_c"][0])
