"""Archetypes of real building stocks: attribute names of 3DBAG/BAG/CityGML/OSM, the TABULA
tables of IT/NL/DE, user tables, defaults that say so, unconditioned sheds, bad input."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from citymodel.errors import InputError
from energy.demand.archetypes import (
    COUNTRIES,
    DEFAULT_YEAR,
    SIZE_CLASSES,
    building_parameters,
    load_archetypes,
    summary_lines,
)
from energy.demand.attributes import map_use, parse_year, read_building_facts
from energy.demand.boxes import add_box, box_rows_model
from energy.demand.geometry import building_envelope
from tests.conftest import shared_path


def _params(model, **kw):
    env = building_envelope(model)
    return building_parameters(model, env.building_ids, env, **kw)


@pytest.mark.shared_data
def test_3dbag_sample_gets_archetypes_by_its_construction_year():
    from citymodel.io import read

    m = read(shared_path("cityjson_samples", "3dbag_multi_lod_10buildings.city.json"), crs=7415)
    p, summary = _params(m, archetypes="NL")
    # oorspronkelijk_bouwjaar of the file: 6751773 1965, 2128302 1963, 596872 2017, 2499572 1948
    assert p.loc["6751773", "archetype"] == "NL_RES_SFH_1965_1974"
    assert p.loc["2128302", "archetype"] == "NL_RES_SFH_1946_1964"
    assert p.loc["596872", "archetype"] == "NL_RES_SFH_2015_2100"
    assert p.loc["2499572", "archetype"] == "NL_RES_SFH_1946_1964"
    assert "year 1965 from oorspronkelijk_bouwjaar" in p.loc["6751773", "archetype_why"]
    assert p.loc["6751773", "u_wall_w_m2k"] == pytest.approx(1.6)  # NL.N.SFH.02.Gen (TABULA class 1965-1974)
    assert (p.loc[p.conditioned, "archetype_from"] == "attribute").all()
    # the file has no use attribute: every building says the use is a default
    assert summary["fallbacks"] == {"no use attribute": int(p.conditioned.sum())}
    assert summary["fields"]["year"] == {"oorspronkelijk_bouwjaar": 10}
    # 3194274 is a 3DBAG building under 20 m2 of floor: a shed, not simulated
    env = building_envelope(m)
    k = env.building_ids.index("3194274")
    assert env.ground_area_m2[k] < 20.0
    assert not p.loc["3194274", "conditioned"] and p.loc["3194274", "archetype"] == "unconditioned"
    assert summary["unconditioned"]["by floor area"] == 1 and summary["simulated"] == 9


def test_shipped_tables_are_complete_and_sourced():
    for c in COUNTRIES:
        t = load_archetypes(c)
        assert t["source"].str.len().min() > 0
        if c != "IT":
            assert set(t.loc[t.use == "residential", "building_type"]) == set(SIZE_CLASSES)
            assert t["tabula_code"].str.match(rf"{c}\.N\.(SFH|TH|MFH|AB)\.\d\d\.Gen").all()
            res = t[(t.use == "residential") & (t.building_type == "SFH")].sort_values("year_from")
            # the newest period is the best insulated, the oldest no better than the median period;
            # walls fall monotonically. TABULA's example buildings are not strictly monotonic in
            # roofs and windows (DE.N.SFH.03 roof 1.4 after DE.02's 1.3, DE.07 window 4.3).
            for col in ("u_wall_w_m2k", "u_roof_w_m2k", "u_window_w_m2k"):
                u = res[col].to_numpy()
                assert u[-1] == u.min() and u[0] >= np.median(u), (c, col)
            assert np.all(np.diff(res["u_wall_w_m2k"].to_numpy()) <= 0), c


def test_user_table_overrides_the_country_table(tmp_path):
    m = box_rows_model(1, 3, years=(1900, 1970, 2010))
    t = load_archetypes("IT").drop(columns=["building_type"])
    t.loc[t.archetype_id == "IT_RES_1961_1975", "u_wall_w_m2k"] = 0.77
    t.loc[t.archetype_id == "IT_RES_1961_1975", "archetype_id"] = "MY_RES_60s"
    path = tmp_path / "mine.csv"
    t.to_csv(path, index=False)
    p, summary = _params(m, archetypes=str(path))
    assert p.loc["b1", "archetype"] == "MY_RES_60s" and p.loc["b1", "u_wall_w_m2k"] == 0.77
    assert p.loc["b0", "archetype"] == "IT_RES_0000_1900"
    assert set(p["archetype_from"]) == {"user table"}
    assert summary["table"] == str(path)
    # a per-building override table on top of the NL table
    ov = tmp_path / "ov.csv"
    pd.DataFrame({"building_id": ["b2"], "u_wall_w_m2k": [0.11]}).to_csv(ov, index=False)
    p2, _ = _params(m, archetypes=str(ov), country="NL")
    assert p2.loc["b2", "u_wall_w_m2k"] == 0.11 and p2.loc["b2", "archetype_from"] == "user table"
    assert p2.loc["b0", "archetype"].startswith("NL_RES_") and p2.loc["b0", "archetype_from"] == "attribute"


def test_model_without_fields_gets_the_default_and_says_so(caplog):
    m = box_rows_model(1, 3)
    for o in m.city_objects.values():
        o["attributes"] = {}
    with caplog.at_level(logging.WARNING, logger="energy.demand.archetypes"):
        p, summary = _params(m, archetypes="DE")
    assert (p["archetype_from"] == "default").all()
    assert (p["archetype_default"] == "use,year").all()
    assert p["archetype_why"].str.contains(f"year {DEFAULT_YEAR} \\(default: no year attribute\\)").all()
    assert summary["fallbacks"] == {"no year attribute": 3, "no use attribute": 3}
    assert "fell back to a default" in caplog.text and "no year attribute 3" in caplog.text
    # 8 x 10 m terraced boxes, 3 storeys (9 m): the end houses share one wall, the middle two
    assert set(p["building_type"]) == {"TH"}
    assert set(p["archetype"]) == {"DE_RES_TH_1969_1978"}


def test_sheds_and_garages_are_not_simulated():
    from energy.demand.simulate import simulate

    m = box_rows_model(1, 2)
    add_box(m, "shed", 291100.0, 4640100.0, 3.0, 2.5, 2.2, {})               # 7.5 m2, no use
    add_box(m, "garage", 291120.0, 4640100.0, 6.0, 5.0, 2.5, {"building": "garage"})  # 30 m2 OSM garage
    add_box(m, "alkis", 291140.0, 4640100.0, 6.0, 5.0, 2.5, {"function": "31001_2463"})  # ALKIS Garage
    r = simulate(m, "clearsky", max_site_distance_km=None)
    assert list(r.table.index) == ["b0", "b1"]
    assert r.skipped["shed"].startswith("unconditioned: floor area below 20 m2")
    assert "'garage' from building" in r.skipped["garage"]
    assert "alkis" in r.skipped
    assert r.provenance.loc["shed", "archetype"] == "unconditioned"
    assert r.summary["unconditioned"] == {"by use": 2, "by floor area": 1}
    r.write_attributes(m)
    assert m.city_objects["garage"]["attributes"]["archetype"] == "unconditioned"
    assert m.city_objects["b0"]["attributes"]["archetype_from"] == "attribute"
    assert m.extra["+energyArchetypes"]["simulated"] == 2


def test_common_attribute_names_of_cityjson_osm_and_bag():
    m = box_rows_model(1, 5)
    attrs = [
        {"yearOfConstruction": "1958", "function": "1010", "storeysAboveGround": 4},
        {"start_date": "~1890", "building": "terrace", "building:levels": "2"},
        {"oorspronkelijkbouwjaar": 1999, "gebruiksdoel": ["kantoorfunctie", "woonfunctie"], "b3_bouwlagen": 5},
        {"oorspronkelijk_bouwjaar": 2005, "gebruiksdoel": "industriefunctie"},
        {"construction_year": 1970, "building": "yes"},
    ]
    for k, a in enumerate(attrs):
        m.city_objects[f"b{k}"]["attributes"] = a
    f = read_building_facts(m, m.building_ids())
    np.testing.assert_array_equal(f.year, [1958, 1890, 1999, 2005, 1970])
    assert list(f.use) == ["residential", "residential", "office", "", ""]
    assert list(f.type_hint) == ["", "TH", "", "", ""]
    np.testing.assert_array_equal(f.storeys, [4, 2, 5, np.nan, np.nan])
    assert dict(f.unmapped_uses) == {"industriefunctie": 1}  # "yes" says nothing: missing, not unmapped
    p, summary = _params(m, archetypes="NL")
    assert summary["unmapped_uses"] == {"industriefunctie": 1}
    assert summary["fallbacks"] == {"no use attribute": 1, "use not mapped": 1}
    assert p.loc["b3", "archetype_why"] == ("year 2005 from oorspronkelijk_bouwjaar; use residential (default: "
                                            "'industriefunctie' from gebruiksdoel maps to no use); type TH from geometry")
    assert p.loc["b2", "archetype"] == "NL_OFF_1992_2005" and p.loc["b2", "storeys"] == 5
    assert p.loc["b1", "building_type"] == "TH"
    assert any("industriefunctie" in line and "x1" in line for line in summary_lines(summary))


def test_parse_year_and_map_use():
    np.testing.assert_array_equal(parse_year([1965, "1965-03-01", "c. 1900", "1960s", "old", None, 3000]),
                                  [1965, 1965, 1900, 1960, np.nan, np.nan, np.nan])
    assert map_use("woonfunctie,winkelfunctie")[0] == "residential"
    assert map_use("31001_3021")[0] == "school"
    assert map_use("spaceport") == ("", "", True)
    assert map_use("yes") == ("", "", False)


def test_bad_input_says_what_and_where(tmp_path):
    t = load_archetypes("NL")
    bad = t.assign(colour="red")
    p = tmp_path / "cols.csv"
    bad.to_csv(p, index=False)
    with pytest.raises(InputError, match="unknown columns colour"):
        load_archetypes(p)
    gap = t[t.archetype_id != "NL_OFF_1965_1974"]
    p = tmp_path / "gap.csv"
    gap.to_csv(p, index=False)
    with pytest.raises(InputError, match=r"use 'office' has no row for the years 1965-1974 .*NL_OFF_1946_1964 and NL_OFF_1975_1991"):
        load_archetypes(p)
    m = box_rows_model(1, 2)
    with pytest.raises(InputError, match=r"--year-field status: the attribute holds text.*'in use'"):
        for o in m.city_objects.values():
            o["attributes"]["status"] = "in use"
        read_building_facts(m, m.building_ids(), year_field="status")
    with pytest.raises(InputError, match=r"--use-field gebruiksdoel: no building has an attribute.*construction_year"):
        read_building_facts(m, m.building_ids(), use_field="gebruiksdoel")
    with pytest.raises(InputError, match="--country XX"):
        _params(m, country="XX")


def test_retrofit_changes_attributes_without_copying_geometry():
    from energy.demand.scenarios import Retrofit, apply_retrofit, run_scenarios
    from energy.demand.simulate import simulate

    m = box_rows_model(1, 2, years=(1970,))
    m.city_objects["b1"]["attributes"]["energy_roof_layers"] = [[0.2, 1.0, 1800.0, 1000.0]]
    r = apply_retrofit(m, Retrofit("env", wall_insulation_m=0.1, roof_insulation_m=0.1))
    assert r.vertices is m.vertices
    assert r.city_objects["b0"]["geometry"] is m.city_objects["b0"]["geometry"]
    a0, a1 = r.city_objects["b0"]["attributes"], r.city_objects["b1"]["attributes"]
    # IT_RES_1961_1975: U 1.10 wall; +0.1 m at 0.035 W/mK: 1 / (1/1.1 + 0.1/0.035) = 0.2655
    assert a0["energy_u_wall_w_m2k"] == pytest.approx(1.0 / (1.0 / 1.1 + 0.1 / 0.035), rel=1e-12)
    assert a1["energy_roof_layers"][0] == [0.1, 0.035, 30.0, 1400.0] and len(a1["energy_roof_layers"]) == 2
    # the original model is untouched
    assert "energy_u_wall_w_m2k" not in m.city_objects["b0"]["attributes"]
    assert m.city_objects["b1"]["attributes"]["energy_roof_layers"] == [[0.2, 1.0, 1800.0, 1000.0]]
    base = simulate(m, "clearsky", max_site_distance_km=None)
    d1 = run_scenarios(m, "clearsky", [Retrofit("env", wall_insulation_m=0.1)], max_site_distance_km=None)
    d2 = run_scenarios(m, "clearsky", [Retrofit("env", wall_insulation_m=0.1)], baseline=base,
                       max_site_distance_km=None)
    pd.testing.assert_frame_equal(d1, d2)
    assert (d1.loc[d1.scenario == "env", "delta_heating_kwh"] < 0).all()


def test_cli_names_the_fields_prints_the_summary_and_stores_it(tmp_path, cli_runner):
    import json

    from citymodel.io import write

    m = box_rows_model(1, 3)
    for k, o in enumerate(m.city_objects.values()):
        o["attributes"] = {"bouwjaar_x": [1930, 1980, "unknown"][k], "functie": ["woonfunctie", "kantoorfunctie",
                                                                                 "sporthal"][k]}
    add_box(m, "shed", 291100.0, 4640100.0, 3.0, 2.0, 2.2, {"bouwjaar_x": 1990})
    src, out = tmp_path / "in.city.json", tmp_path / "out.city.json"
    write(m, src)
    res = cli_runner("energy", "simulate", src, "--weather", "clearsky", "--country", "NL", "--year-field",
                     "bouwjaar_x", "--use-field", "functie", "--out", out)
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "archetypes (NL): 3 of 4 buildings simulated" in text
    assert "use values that map to nothing (default used): 'sporthal' x1" in text
    assert "year values without a year (default used): 'unknown' x1" in text
    doc = json.loads(out.read_text())
    a = {k: v["attributes"] for k, v in doc["CityObjects"].items()}
    assert a["b0"]["archetype"] == "NL_RES_TH_0000_1945" and a["b0"]["archetype_from"] == "attribute"
    assert a["b1"]["archetype"] == "NL_OFF_1975_1991"
    assert a["b2"]["archetype_from"] == "default" and "'unknown' unreadable" not in a["b2"]["archetype_why"]
    assert "bouwjaar_x unreadable" in a["b2"]["archetype_why"]
    assert a["shed"]["archetype"] == "unconditioned" and "heating_demand_kwh" not in a["shed"]
    s = doc["+energyArchetypes"]
    assert s["fields"] == {"year": {"bouwjaar_x": 3}, "use": {"functie": 3}, "storeys": {}} and s["simulated"] == 3
    res = cli_runner("energy", "simulate", src, "--weather", "clearsky", "--year-field", "bouwjaar", "--out",
                     tmp_path / "x.city.json")
    assert res.exit_code == 1 and "--year-field bouwjaar: no building has an attribute 'bouwjaar'" in res.output
