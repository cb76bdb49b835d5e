"""A synthetic clear summer day as heat-grid forcing, shared by the microclimate tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def summer_day(n: int = 24, t_mean_c: float = 20.0, t_amplitude_k: float = 6.0) -> pd.DataFrame:
    """``n`` hourly rows from 2021-06-21 01:00: a sine-shaped sun (GHI up to 700 W/m2), air
    ``t_mean_c`` +- ``t_amplitude_k`` peaking at 15 h, 50 % RH, 2 m/s wind, 340 W/m2 sky
    long-wave; ``time_mid`` half an hour before each row's stamp."""
    idx = pd.date_range("2021-06-21 01:00", periods=n, freq="h")
    hour = np.arange(n) + 0.5
    day = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None)
    df = pd.DataFrame({"ghi_w_m2": 700 * day, "dhi_w_m2": 120 * day, "dni_w_m2": 750 * day,
                       "t_air_c": t_mean_c + t_amplitude_k * np.sin((hour - 9) / 24 * 2 * np.pi),
                       "rh_percent": 50.0, "wind_speed_m_s": 2.0,
                       "ir_horizontal_w_m2": 340.0}, index=idx)
    df["time_mid"] = idx - pd.Timedelta(minutes=30)
    return df
