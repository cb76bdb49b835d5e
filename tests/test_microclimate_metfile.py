"""UMEP/SUEWS met files: the Kronenhuset forcing file and synthetic broken files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from citymodel.errors import InputError, WeatherError
from microclimate.metfile import UMEP_MET_COLUMNS, read_umep_met, require_complete
from tests.conftest import shared_path

HEADER = (
    "iy id it imin qn qh qe qs qf U RH Tair pres rain kdown snow ldown fcld wuh xsmd lai "
    "kdiff kdir wdir"
)


def _row(year=2020, doy=172, hour=12, minute=0, t_air="25.0", kdown="700.0", pres="101.3"):
    values = ["-999"] * 5 + ["3.0", "45.0", t_air, pres, "0.0", kdown] + ["-999"] * 6
    values += ["150.0", "650.0", "180.0"]
    return f"{year} {doy} {hour} {minute} " + " ".join(values)


def _write(tmp_path, lines, name="met.txt"):
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n")
    return p


@pytest.mark.shared_data
def test_kronenhuset_file():
    path = shared_path("heat_gothenburg", "kronenhuset", "MetFile_Prepared.txt")
    df, meta = read_umep_met(path, tz_offset_h=1)
    assert len(df) == meta["n_rows"] == 24
    assert meta["step_min"] == 60.0
    # day of year 280 of 2005 is 7 October; it = 0..23, imin = 7
    assert (df.index.date == pd.Timestamp("2005-10-07").date()).all()
    assert df.index[0] == pd.Timestamp("2005-10-07 00:07", tz="Etc/GMT-1")
    assert df.index[-1] == pd.Timestamp("2005-10-07 23:07", tz="Etc/GMT-1")
    assert (df["time_mid"] == df.index - pd.Timedelta(minutes=30)).all()
    # raw line 14: "2005 280 12 7 -999.00 x5 2.00000 59.00 18.90 -999.00 -999.00 419.90
    #               -999.00 x6 59.80 802.20 -999.00"
    raw = path.read_text().splitlines()[13].split()
    assert raw[:4] == ["2005", "280", "12", "7"]
    row = df.loc[pd.Timestamp("2005-10-07 12:07", tz="Etc/GMT-1")]
    assert row["wind_speed_m_s"] == float(raw[9]) == 2.0
    assert row["rh_percent"] == float(raw[10]) == 59.0
    assert row["t_air_c"] == float(raw[11]) == 18.9
    assert row["ghi_w_m2"] == float(raw[14]) == 419.9
    assert row["dhi_w_m2"] == float(raw[21]) == 59.8
    assert row["dni_w_m2"] == float(raw[22]) == 802.2
    assert np.isnan(row["pressure_pa"]) and np.isnan(row["ir_horizontal_w_m2"])
    require_complete(df, ("t_air_c", "rh_percent", "wind_speed_m_s", "ghi_w_m2"), path)
    with pytest.raises(WeatherError, match="ir_horizontal_w_m2.*24 rows"):
        require_complete(df, ("ir_horizontal_w_m2",), path)


def test_synthetic_file_units_and_missing(tmp_path):
    p = _write(tmp_path, [HEADER, _row(hour=12), _row(hour=13, kdown="-999.00")])
    df, meta = read_umep_met(p)
    assert list(df.columns) == [*UMEP_MET_COLUMNS, "time_mid"]
    assert df.index[0] == pd.Timestamp("2020-06-20 12:00")  # 2020 is a leap year: doy 172
    assert df["pressure_pa"].iloc[0] == pytest.approx(101300.0)  # kPa in the file
    assert df["t_air_c"].iloc[0] == 25.0
    assert df["dni_w_m2"].iloc[1] == 650.0 and df["wind_dir_deg"].iloc[0] == 180.0
    assert np.isnan(df["ghi_w_m2"].iloc[1])
    assert df["time_mid"].iloc[1] == pd.Timestamp("2020-06-20 12:30")
    assert meta["years"] == [2020] and meta["tz_offset_h"] is None


def test_require_complete_names_file_column_and_times(tmp_path):
    p = _write(tmp_path, [HEADER, _row(hour=12), _row(hour=13, t_air="-999")])
    df, _ = read_umep_met(p)
    with pytest.raises(InputError, match=r"met\.txt.*'t_air_c'.*1 rows.*2020-06-20 13:00"):
        require_complete(df, ["t_air_c"], p)
    with pytest.raises(WeatherError, match="'utci_c' is absent"):
        require_complete(df, ["utci_c"], p)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="nope.txt: met file not found"):
        read_umep_met(tmp_path / "nope.txt")


def test_wrong_column_count_in_row_names_line(tmp_path):
    p = _write(tmp_path, [HEADER, _row(hour=1), _row(hour=2) + " 7.0"])
    with pytest.raises(WeatherError, match=r"met\.txt, line 3: 25 values, expected 24"):
        read_umep_met(p)


def test_header_with_missing_column(tmp_path):
    short_header = HEADER.replace(" kdiff", "")
    p = _write(tmp_path, [short_header, _row()])
    with pytest.raises(WeatherError, match="header has 23 columns"):
        read_umep_met(p)


def test_header_with_wrong_column_name(tmp_path):
    p = _write(tmp_path, [HEADER.replace("Tair", "Tdew"), _row()])
    with pytest.raises(WeatherError, match=r"column 12 .*'Tdew'.*'tair' \(t_air_c\)"):
        read_umep_met(p)


def test_not_a_number_and_empty_and_time_order(tmp_path):
    with pytest.raises(WeatherError, match="not a number"):
        read_umep_met(_write(tmp_path, [HEADER, _row(t_air="warm")], "a.txt"))
    with pytest.raises(WeatherError, match="empty"):
        read_umep_met(_write(tmp_path, [""], "b.txt"))
    with pytest.raises(WeatherError, match="no data rows"):
        read_umep_met(_write(tmp_path, [HEADER], "c.txt"))
    with pytest.raises(WeatherError, match="line 3: time .* does not come after"):
        read_umep_met(_write(tmp_path, [HEADER, _row(hour=5), _row(hour=4)], "d.txt"))
