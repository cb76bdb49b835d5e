"""The demo report in words: readable numbers, labels with units, the clear-sky note."""

from __future__ import annotations

import pandas as pd

from citymodel.report import (
    SYNTHETIC_WEATHER_NOTE,
    SYNTHETIC_WEATHER_SHORT,
    Report,
    readable_number,
)


def test_numbers_are_never_scientific_and_years_are_years():
    assert readable_number(1953.0, "category") == "1953"  # was 1.95e+03
    assert readable_number(4929480.3) == "4,929,480"
    assert readable_number(1234.4) == "1,234"
    assert readable_number(0.1234) == "0.123"
    assert readable_number(float("nan")) == ""


def test_table_headers_in_words_technical_name_once(tmp_path):
    r = Report("t")
    df = pd.DataFrame({"building_id": ["a"], "heating_demand_kwh_m2": [87.25], "construction_year": [1953.0],
                       "my_col": [2.0]})
    r.table(df)
    r.table(df)
    first, second = (b.content for b in r.blocks)
    assert list(first.columns) == ["Building identifier (building_id)",
                                   "Heating demand per floor area [kWh/m²/a] (heating_demand_kwh_m2)",
                                   "Year of construction (construction_year)", "my_col"]
    assert list(second.columns)[1] == "Heating demand per floor area [kWh/m²/a]"
    assert first.iloc[0, 1] == "87.2" and first.iloc[0, 2] == "1953"


def test_clear_sky_note_on_every_affected_block(tmp_path):
    r = Report("t")
    png = tmp_path / "f.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    r.image(png, "a map", synthetic_weather=True)
    r.table(pd.DataFrame({"x": [1.0]}), "a table", synthetic_weather=True)
    r.table(pd.DataFrame({"x": [1.0]}), "real weather")
    md = r.to_markdown(tmp_path)
    html = r.to_html()
    assert md.count(SYNTHETIC_WEATHER_NOTE) == 1 and md.count(SYNTHETIC_WEATHER_SHORT) == 1
    assert html.count("class='note'") == 2
    assert [b.note != "" for b in r.blocks] == [True, True, False]
