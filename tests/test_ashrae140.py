"""ASHRAE Standard 140-2020 through the city engine: every reference row inside its range.

The reference ranges are read from ../shared/data/ashrae140/REFERENCE_600_900.md (six
reference programs' min..max); the other cases are checked for the physical order of their
results (overhangs and fins cut cooling, night setback cuts heating, ...).
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import shared_path

pytestmark = pytest.mark.shared_data

_METRIC = {
    "annual_heating": "annual_heating_mwh",
    "annual_sensible_cooling": "annual_cooling_mwh",
    "peak_heating": "peak_heating_kw",
    "peak_sensible_cooling": "peak_cooling_kw",
    "ff_max_zone_temp": "ff_max_c",
    "ff_min_zone_temp": "ff_min_c",
    "ff_mean_zone_temp": "ff_mean_c",
}


def _reference_rows():
    p = shared_path("ashrae140", "REFERENCE_600_900.md")
    rows = []
    for line in p.read_text().splitlines():
        m = re.match(r"\|\s*(\d{3}(?:FF)?)\s*\|\s*(\w+)\s*\|\s*\w+\s*\|\s*(-?[\d.]+)\s*\|\s*(-?[\d.]+)\s*\|", line)
        if m:
            rows.append((m.group(1), m.group(2), float(m.group(3)), float(m.group(4))))
    return rows


@pytest.fixture(scope="module")
def weather():
    from energy.weather import read_epw

    return read_epw(shared_path("weather", "725650TYCST.epw"))


@pytest.fixture(scope="module")
def results(weather):
    from energy.demand.bestest import CASES, run_case

    return {c: run_case(c, weather) for c in sorted(CASES)}


def test_reference_file_has_all_rows():
    rows = _reference_rows()
    assert len(rows) == 14
    assert {r[0] for r in rows} == {"600", "900", "600FF", "900FF"}


@pytest.mark.parametrize("row", range(14))
def test_case_within_reference_range(results, row):
    case, metric, lo, hi = _reference_rows()[row]
    value = results[case][_METRIC[metric]]
    assert lo <= value <= hi, f"Case {case} {metric}: {value:.3f} outside the ASHRAE 140 range {lo}..{hi}"


def test_other_cases_are_physically_ordered(results):
    r = results
    for s in ("6", "9"):
        base = r[f"{s}00"]
        # a south overhang cuts cooling, and heating rises a little (less winter sun)
        assert r[f"{s}10"]["annual_cooling_mwh"] < base["annual_cooling_mwh"]
        assert r[f"{s}10"]["annual_heating_mwh"] >= base["annual_heating_mwh"]
        # east/west windows: less winter sun, so more heating
        assert r[f"{s}20"]["annual_heating_mwh"] > base["annual_heating_mwh"]
        # shading devices on the east/west windows cut cooling further
        assert r[f"{s}30"]["annual_cooling_mwh"] < r[f"{s}20"]["annual_cooling_mwh"]
        assert r[f"{s}30"]["annual_heating_mwh"] > r[f"{s}20"]["annual_heating_mwh"]
        # night setback: less heating, a higher morning peak
        assert r[f"{s}40"]["annual_heating_mwh"] < base["annual_heating_mwh"]
        assert r[f"{s}40"]["peak_heating_kw"] > base["peak_heating_kw"]
        # no heating at all in 650; night ventilation and day-only cooling cut cooling
        assert r[f"{s}50"]["annual_heating_mwh"] == 0.0
        assert 0.0 < r[f"{s}50"]["annual_cooling_mwh"] < base["annual_cooling_mwh"]
        # night ventilation cools the free-float zone on average
        assert r[f"{s}50FF"]["ff_mean_c"] < r[f"{s}00FF"]["ff_mean_c"]
        assert r[f"{s}50FF"]["ff_max_c"] <= r[f"{s}00FF"]["ff_max_c"] + 1e-6
    # light box: east/west windows need less cooling than south ones (in the reference
    # programs too; the heavy box stores the south gains, so 920 > 900 there)
    assert r["620"]["annual_cooling_mwh"] < r["600"]["annual_cooling_mwh"]
    # thermal mass damps the swings
    assert r["950FF"]["ff_max_c"] < r["650FF"]["ff_max_c"]
    assert r["950FF"]["ff_min_c"] > r["650FF"]["ff_min_c"]
    assert r["900"]["annual_cooling_mwh"] < r["600"]["annual_cooling_mwh"]
    assert r["950"]["annual_cooling_mwh"] < r["650"]["annual_cooling_mwh"]


def test_free_float_cases_have_no_hvac(results):
    for c in ("600FF", "900FF", "650FF", "950FF"):
        assert results[c]["annual_heating_mwh"] == 0.0
        assert results[c]["annual_cooling_mwh"] == 0.0


def test_cli_bestest_json(cli_runner):
    import json

    w = shared_path("weather", "725650TYCST.epw")
    res = cli_runner("energy", "bestest", "--case", "900FF", "--weather", w, "--json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    for k in ("annual_heating_mwh", "annual_cooling_mwh", "peak_heating_kw", "peak_cooling_kw",
              "ff_max_c", "ff_min_c", "ff_mean_c"):
        assert k in d
    assert 43.252 <= d["ff_max_c"] <= 46.0
