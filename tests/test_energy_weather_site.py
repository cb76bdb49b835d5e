"""One weather-site check for solar, energy (and heat): refuses far weather the same way, and
says when a model without a CRS cannot be checked."""

from __future__ import annotations

import json
import logging

import pytest

from citymodel.errors import WeatherError
from energy.demand.boxes import box_rows_model
from energy.weather import check_weather_site
from tests.conftest import shared_path

pytestmark = pytest.mark.shared_data

DENVER = {"latitude": 39.83, "longitude": -104.65, "city": "Denver", "source": "denver.epw"}


def test_check_refuses_far_weather_names_the_option_first_and_records_distance(caplog):
    rome = box_rows_model(1, 1)  # UTM 33N, Rome (41.9 N, 12.5 E)
    with pytest.raises(WeatherError) as e:
        check_weather_site(DENVER, rome, 200.0)
    msg = str(e.value)
    assert msg.startswith("--max-site-distance-km 200: weather denver.epw is for Denver")
    # great-circle distance Rome - Denver: about 9,100 km
    d = float(msg.split(" km from")[0].rsplit(" ", 1)[1])
    assert 8900 < d < 9300
    rec = check_weather_site(DENVER, rome, 20000.0)
    assert rec["checked"] and 8900 < rec["distance_km"] < 9300
    assert check_weather_site(DENVER, rome, None) == {"checked": False, "distance_km": None,
                                                      "max_distance_km": None, "note": ""}  # check off
    api = pytest.raises(WeatherError, match=r"^max_site_distance_km=200: ")
    with api:
        check_weather_site(DENVER, rome, 200.0, option_name="max_site_distance_km=")
    nocrs = box_rows_model(1, 1, epsg=None)
    with caplog.at_level(logging.WARNING, logger="energy.weather"):
        rec = check_weather_site(DENVER, nocrs, 200.0)
    assert not rec["checked"] and "has no CRS" in rec["note"] and "cannot be checked" in caplog.text


@pytest.mark.parametrize("command", [("solar",), ("energy", "simulate")])
def test_solar_and_energy_refuse_and_warn_the_same(tmp_path, cli_runner, command):
    from citymodel.io import write

    w = shared_path("weather", "725650TYCST.epw")
    src = tmp_path / "rome.city.json"
    write(box_rows_model(1, 1), src)
    res = cli_runner("-q", *command, src, "--weather", w, "--out", tmp_path / "o.city.json")
    assert res.exit_code == 1
    assert "--max-site-distance-km 200: weather" in res.output and "km from the model" in res.output
    # without a CRS: runs, says the site cannot be checked, and records it in the output
    src2 = tmp_path / "nocrs.city.json"
    write(box_rows_model(1, 1, epsg=None, origin=(0.0, 0.0), height_m=3.0), src2)
    out = tmp_path / "o2.city.json"
    extra = ("--sensor-spacing-m", "4", "--sun-resolution-deg", "5") if command == ("solar",) else ()
    res = cli_runner(*command, src2, "--weather", w, "--out", out, *extra)
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())  # the console wraps long lines
    assert "weather site not checked: the model" in text and "has no CRS" in text and "cannot be checked" in text
    doc = json.loads(out.read_text())
    site = doc["+weatherSite"] if command == ("solar",) else doc["+energyArchetypes"]["weather_site"]
    assert site["checked"] is False and "has no CRS" in site["note"]
    if command == ("solar",):  # the sun sampling (on by default) is recorded with the figures
        method = doc["+solarMethod"]
        assert method["sun_sampling_step"] == 4 and "--sun-sampling-step 1" in method["sun_sampling_note"]
        assert method["sun_resolution_deg"] == 5.0
