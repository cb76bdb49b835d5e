"""The Italian archetype table, the choice per building, defaults and overrides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from citymodel.errors import InputError
from energy.demand.archetypes import (
    ARCHETYPE_COLUMNS,
    DEFAULT_YEAR,
    USES,
    assign_archetypes,
    layers_from_u_kappa,
    load_archetypes,
    schedule_tables,
)
from energy.demand.boxes import box_rows_model


def test_shipped_table_is_complete_and_sourced():
    t = load_archetypes("IT")
    assert list(t.columns)[: len(ARCHETYPE_COLUMNS)] == list(ARCHETYPE_COLUMNS)
    assert set(t["use"]) == set(USES)
    assert t["source"].str.len().min() > 0
    for use, g in t.groupby("use"):
        g = g.sort_values("year_from")
        # periods tile the years without gaps
        assert g["year_from"].iloc[0] <= 1800 and g["year_to"].iloc[-1] >= 2030
        np.testing.assert_array_equal(g["year_from"].to_numpy()[1:], g["year_to"].to_numpy()[:-1] + 1)
        # newer periods are never worse insulated
        for c in ("u_wall_w_m2k", "u_roof_w_m2k", "u_window_w_m2k"):
            assert np.all(np.diff(g[c].to_numpy()) <= 0), (use, c)
    assert t[["u_wall_w_m2k", "u_roof_w_m2k", "u_floor_w_m2k"]].to_numpy().min() > 0.1
    assert t["g_window"].between(0.2, 0.9).all()


def test_choice_by_year_and_use_with_documented_defaults():
    m = box_rows_model(1, 4, uses=("residential", "office", "spaceport", "school"),
                       years=(1890, 1999, 1980, 2020))
    m.city_objects["b3"]["attributes"].pop("construction_year")
    p = assign_archetypes(m, m.building_ids(), load_archetypes("IT"))
    assert list(p["archetype_id"]) == ["IT_RES_0000_1900", "IT_OFF_1991_2005", "IT_RES_1976_1990",
                                       "IT_SCH_1946_1975"]
    assert list(p["archetype_default"]) == ["", "", "use", "year"]
    assert 1946 <= DEFAULT_YEAR <= 1975


def test_attribute_and_csv_overrides(tmp_path):
    m = box_rows_model(1, 2)
    m.city_objects["b0"]["attributes"]["energy_u_wall_w_m2k"] = 0.2
    csv = tmp_path / "ov.csv"
    pd.DataFrame({"building_id": ["b1"], "t_heat_c": [18.5]}).to_csv(csv, index=False)
    ov = load_archetypes(csv)
    p = assign_archetypes(m, m.building_ids(), load_archetypes("IT"), ov)
    assert p.loc["b0", "u_wall_w_m2k"] == 0.2
    assert p.loc["b1", "u_wall_w_m2k"] == pytest.approx(1.10)
    assert p.loc["b1", "t_heat_c"] == 18.5


def test_missing_columns_are_listed(tmp_path):
    t = load_archetypes("IT").drop(columns=["g_window", "wwr_s"])
    p = tmp_path / "bad.csv"
    t.to_csv(p, index=False)
    with pytest.raises(InputError, match="g_window, wwr_s"):
        load_archetypes(p)
    with pytest.raises(InputError, match="not found"):
        load_archetypes(tmp_path / "nope.csv")


def test_layers_reproduce_u_value_and_heat_capacity():
    u = np.array([1.48, 0.26, 3.0])
    kappa = np.array([220.0, 80.0, 150.0])
    r_films = 0.17
    lay = layers_from_u_kappa(u, kappa, r_films)
    r = (lay[:, :, 0] / lay[:, :, 1]).sum(axis=1) + r_films
    np.testing.assert_allclose(1.0 / r, u, rtol=1e-9)
    cap = lay[:, 1, 0] * lay[:, 1, 2] * lay[:, 1, 3] / 1e3
    np.testing.assert_allclose(cap, kappa, rtol=1e-9)


def test_schedules_share_rows_and_apply_setbacks():
    m = box_rows_model(1, 4, uses=("residential", "residential", "office", "office"))
    p = assign_archetypes(m, m.building_ids(), load_archetypes("IT"))
    for c in ("wall_layers", "roof_layers", "floor_layers"):
        assert p[c].isna().all()
    s, sid = schedule_tables(p)
    assert len(s.names) == 2 and sid[0] == sid[1] and sid[2] == sid[3] != sid[0]
    off = sid[2]
    assert s.t_heat_c[off, 0, 10] == 20.0 and s.t_heat_c[off, 0, 2] == 15.0  # weekday 10:00 / 02:00
    assert s.t_cool_c[off, 1, 12] >= 999.0  # no cooling at the weekend
