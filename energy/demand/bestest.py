"""ASHRAE Standard 140 (BESTEST) test cases as city models, run through :func:`simulate`.

The test box (8 m E-W x 6 m N-S x 2.7 m) is an ordinary ``Building`` with an LoD2 ``Solid``:
ground, roof and four walls as semantic surfaces, the windows as ``Window`` surfaces filling
holes in their walls, constructions, operation and shading devices as ``energy_*`` attributes
(the same overrides any building may carry), and the overhangs and fins also as a
``BuildingInstallation`` child with their geometry. Inputs: ``CASE_SPEC.md`` of the shared
ASHRAE 140 data (layers, windows, gains, infiltration, thermostat).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from citymodel.errors import InputError
from citymodel.model import CityModel
from energy.demand.glazing import double_glazing
from energy.demand.model import Films
from energy.demand.simulate import simulate

__all__ = ["CASES", "ALL_CASES", "bestest_model", "run_case", "run_all", "reference_ranges", "BESTEST_GROUND_C",
           "BESTEST_FLOOR_BOUNDARY", "BESTEST_AIR_DENSITY_KG_M3", "BESTEST_SHGC", "BESTEST_U_WINDOW", "BESTEST_VENT_M3_H"]

#: Normal-incidence SHGC of the ASHRAE 140-2020 double pane (:func:`double_glazing`, 0.761).
BESTEST_SHGC = float(double_glazing(0.0)[2][0])

#: Temperature under the (R = 25 m2K/W) floor insulation of the pre-2020 editions' slab, as the
#: Modelica Buildings BESTEST models had it before lbl-srg/modelica-buildings#3005 [degC]; kept for
#: the like-for-like EnergyPlus cross-check (``benchmarks/energyplus.py``), not used by :func:`run_case`.
BESTEST_GROUND_C = 10.0

#: What the floor's outer side sees in :func:`run_case`: the 2020 edition's floor is a raised floor
#: exposed to the outdoor air temperature below (no sun, no wind; Case 600 "raised floor"; the
#: Modelica Buildings models changed to it in #3005), passed to ``simulate`` as ``"air"``.
BESTEST_FLOOR_BOUNDARY = "air"

#: Air density the Standard's flows refer to at the site [kg/m3]: its altitude adjustment of the
#: 0.5 ach infiltration (0.414 ach at sea level, factor 0.829) and of the 1700 m3/h fan (1409 m3/h)
#: is 1.0156 / 1.2255 (modelica-buildings#3005's Case600FF / Case650FF; the Standard's Case 650 text
#: as summarised in VICUS-Software/vicus-validation). The weather's mean pressure at 20 C gives 0.99.
BESTEST_AIR_DENSITY_KG_M3 = 1.0156

#: Night-ventilation fan flow of Cases 650/950 (and FF), 2020 edition: 1700 m3/h at site
#: conditions (the 2017 text's 1703.16; modelica-buildings#3005 "changed the ventilation fan
#: capacity from 1703.16 m3/h to 1700 m3/h") [m3/h].
BESTEST_VENT_M3_H = 1700.0

#: The 2020 glazing's panes: thickness [m], conductivity [W/mK], and the Standard's
#: calculated air-gap conductance of the 12 mm gap between the eps 0.84 panes [W/m2K].
_PANE_M, _PANE_K, _GAP_H = 0.003048, 1.0, 5.208


def _window_u(f: Films) -> float:
    """Air-to-air U of the 2020 double pane with the network's own films [W/m2K].

    The network holds a window as its inner pane surface node, tied to the outside by
    ``1/U - 1/(h_ci_window + h_ri)`` (:func:`energy.demand.model.build_modal_model`); the
    construction between that surface and the outdoor air is the outer film (the window's
    exterior convection plus long-wave, as in the window's sol-air term), two 3.048 mm panes
    and the gap. The 1995-2017 pane gave U = 3.0 with its 6.297 W/m2K gap (eps 0.9 glass); the
    2020 glass's lower emissivity lowers the gap's radiative exchange (5.208 W/m2K).
    """
    h_rw = f.h_re * f.eps_window / 0.9
    r = 1.0 / (f.h_ce_window + h_rw) + 2.0 * _PANE_M / _PANE_K + 1.0 / _GAP_H + 1.0 / (f.h_ci_window + f.h_ri)
    return 1.0 / r


#: Air-to-air U of the ASHRAE 140-2020 glazing in this network (:func:`_window_u`, 2.67) [W/m2K].
BESTEST_U_WINDOW = _window_u(Films())

_LIGHT = {
    "wall": [[0.009, 0.14, 530, 900], [0.066, 0.04, 12, 840], [0.012, 0.16, 950, 840]],
    "roof": [[0.019, 0.14, 530, 900], [0.1118, 0.04, 12, 840], [0.010, 0.16, 950, 840]],
    "floor": [[1.003, 0.04, 0, 0], [0.025, 0.14, 650, 1200]],
}
_HEAVY = {
    "wall": [[0.009, 0.14, 530, 900], [0.0615, 0.04, 10, 1400], [0.100, 0.51, 1400, 1000]],
    "roof": _LIGHT["roof"],
    "floor": [[1.007, 0.04, 0, 0], [0.080, 1.13, 1400, 1000]],
}


def _h(a: int, b: int) -> np.ndarray:
    h = np.arange(24)
    return (h >= a) & (h < b) if a < b else (h >= a) | (h < b)


def _case_table() -> dict[str, dict[str, Any]]:
    cases: dict[str, dict[str, Any]] = {}
    base = {"windows": "S", "overhang": None, "fins": False, "heat": 20.0, "cool": 27.0, "vent": False}
    for series, mass in (("6", "light"), ("9", "heavy")):
        cases[f"{series}00"] = {**base, "mass": mass}
        cases[f"{series}10"] = {**base, "mass": mass, "overhang": "wall"}
        cases[f"{series}20"] = {**base, "mass": mass, "windows": "EW"}
        cases[f"{series}30"] = {**base, "mass": mass, "windows": "EW", "overhang": "window", "fins": True}
        cases[f"{series}40"] = {**base, "mass": mass, "heat": "setback"}
        cases[f"{series}50"] = {**base, "mass": mass, "heat": None, "cool": "day", "vent": True}
        cases[f"{series}00FF"] = {**base, "mass": mass, "heat": None, "cool": None}
        cases[f"{series}50FF"] = {**base, "mass": mass, "heat": None, "cool": None, "vent": True}
    return cases


#: Case name -> definition (mass, window placement, shading, thermostat, night ventilation).
CASES = _case_table()


def _schedule(case: dict[str, Any]) -> dict[str, Any]:
    heat = case["heat"]
    if heat is None:
        t_heat = -999.0
    elif heat == "setback":  # 10 C from 23:00 to 07:00, else 20 C
        t_heat = np.where(_h(23, 7), 10.0, 20.0).tolist()
    else:
        t_heat = float(heat)
    cool = case["cool"]
    if cool is None:
        t_cool = 999.0
    elif cool == "day":  # cooling above 27 C from 07:00 to 18:00 only
        t_cool = np.where(_h(7, 18), 27.0, 999.0).tolist()
    else:
        t_cool = float(cool)
    vent = np.where(_h(18, 7), 1.0, 0.0).tolist() if case["vent"] else 0.0
    return {"gain_frac": 1.0, "t_heat_c": t_heat, "t_cool_c": t_cool, "vent_frac": vent,
            "vent_when_cooler": False}


def bestest_model(case: str, shading: str = "raycast") -> CityModel:
    """The ASHRAE 140 test box of ``case`` as a one-building :class:`CityModel`.

    Parameters
    ----------
    case : str
        One of :data:`CASES` (``"600"``, ``"900FF"``, ``"630"``, ...).
    shading : "raycast" or "analytic"
        Window shading by the overhangs and fins: ray casting on their geometry (the
        ``BuildingInstallation``, the solar solver's scene) or the analytic factors.

    Returns
    -------
    CityModel
        Building ``"bestest_<case>"`` with an LoD2 Solid (walls, roof, ground, windows) and
        the case's constructions and operation as ``energy_*`` attributes.
    """
    key = str(case).upper()
    if key not in CASES:
        raise InputError(f"unknown ASHRAE 140 case {case!r}; known: {', '.join(sorted(CASES))}")
    c = CASES[key]
    lx, ly, lz = 8.0, 6.0, 2.7
    m = CityModel(metadata={"title": f"ASHRAE Standard 140 Case {key}"}, source=f"bestest:{key}")
    corners = np.array([[0, 0, 0], [lx, 0, 0], [lx, ly, 0], [0, ly, 0],
                        [0, 0, lz], [lx, 0, lz], [lx, ly, lz], [0, ly, lz]], float)
    v = list(m.add_vertices(corners))
    g0, g1, g2, g3, r0, r1, r2, r3 = v
    win_rings: dict[str, list[list[int]]] = {"S": [], "E": [], "W": []}
    if c["windows"] == "S":
        for x0 in (0.5, 4.5):
            win_rings["S"].append(list(m.add_vertices(
                [[x0, 0, 0.2], [x0 + 3, 0, 0.2], [x0 + 3, 0, 2.2], [x0, 0, 2.2]])))
    else:
        win_rings["E"].append(list(m.add_vertices([[lx, 1.5, 0.2], [lx, 4.5, 0.2], [lx, 4.5, 2.2], [lx, 1.5, 2.2]])))
        win_rings["W"].append(list(m.add_vertices([[0, 4.5, 0.2], [0, 1.5, 0.2], [0, 1.5, 2.2], [0, 4.5, 2.2]])))

    def wall(ring, side):
        return [ring] + [list(reversed(w)) for w in win_rings.get(side, [])]

    shell = [
        [[g0, g3, g2, g1]],  # ground (normal down)
        [[r0, r1, r2, r3]],  # roof
        wall([g0, g1, r1, r0], "S"),
        wall([g2, g3, r3, r2], "N"),
        wall([g1, g2, r2, r1], "E"),
        wall([g3, g0, r0, r3], "W"),
    ]
    values = [0, 1, 2, 2, 2, 2]
    for side in ("S", "E", "W"):
        for w in win_rings[side]:
            shell.append([w])
            values.append(3)
    mass = _LIGHT if c["mass"] == "light" else _HEAVY
    attrs: dict[str, Any] = {
        "use": "residential",
        "construction_year": 2020,
        "storeysAboveGround": 1,
        "energy_wall_layers": mass["wall"],
        "energy_roof_layers": mass["roof"],
        "energy_floor_layers": mass["floor"],
        "energy_u_window_w_m2k": BESTEST_U_WINDOW,
        "energy_g_window": BESTEST_SHGC,
        "energy_alpha_wall": 0.6,
        "energy_alpha_roof": 0.6,
        "energy_infiltration_ach": 0.5,
        "energy_internal_gain_w": 200.0,
        "energy_radiant_share": 0.6,
        "energy_vent_m3_h": BESTEST_VENT_M3_H if c["vent"] else 0.0,
        "energy_schedule": _schedule(c),
    }
    if shading not in ("raycast", "analytic"):
        raise InputError(f"shading {shading!r}: give 'raycast' or 'analytic'")
    if c["overhang"] is not None and shading == "raycast":
        attrs["energy_window_shading"] = {"method": "raycast"}
    elif c["overhang"] == "wall":
        attrs["energy_window_shading"] = {"window_width_m": 3.0, "window_height_m": 2.0,
                                          "overhang_depth_m": 1.0, "overhang_gap_m": 0.5,
                                          "overhang_extension_m": 0.5}
    elif c["overhang"] == "window":
        attrs["energy_window_shading"] = {"window_width_m": 3.0, "window_height_m": 2.0,
                                          "overhang_depth_m": 1.0, "overhang_gap_m": 0.5,
                                          "overhang_extension_m": 0.0,
                                          "fin_depth_m": 1.0 if c["fins"] else 0.0}
    bid = f"bestest_{key}"
    m.add_object(bid, {
        "type": "Building",
        "attributes": attrs,
        "geometry": [{
            "type": "Solid",
            "lod": "2.2",
            "boundaries": [shell],
            "semantics": {
                "surfaces": [{"type": "GroundSurface"}, {"type": "RoofSurface"},
                             {"type": "WallSurface"}, {"type": "Window"}],
                "values": [values],
            },
        }],
    })
    if c["overhang"] is not None:
        _add_shading_geometry(m, bid, c)
    return m


def _add_shading_geometry(m: CityModel, bid: str, c: dict[str, Any]) -> None:
    """Overhangs and fins as a BuildingInstallation (geometry for viewers and ray casters)."""
    polys = []
    z = 2.7
    if c["overhang"] == "wall":  # along the whole south wall
        q = m.add_vertices([[0, 0, z], [0, -1, z], [8, -1, z], [8, 0, z]])
        polys.append([list(q)])
    else:
        for side, x in (("E", 8.0), ("W", 0.0)):
            s = 1.0 if side == "E" else -1.0
            q = m.add_vertices([[x, 1.5, z], [x, 4.5, z], [x + s, 4.5, z], [x + s, 1.5, z]])
            polys.append([list(q)])
            if c["fins"]:
                for y in (1.5, 4.5):
                    f = m.add_vertices([[x, y, 0], [x + s, y, 0], [x + s, y, z], [x, y, z]])
                    polys.append([list(f)])
    m.add_object(f"{bid}_shading", {
        "type": "BuildingInstallation",
        "geometry": [{"type": "MultiSurface", "lod": "2", "boundaries": polys}],
    }, parent=bid)


def run_case(case: str, weather: Any, shading: str = "raycast") -> dict[str, float]:
    """Run one ASHRAE 140 case through :func:`energy.demand.simulate.simulate`.

    Parameters
    ----------
    case : str
        A key of :data:`CASES`.
    weather : str, PathLike or (DataFrame, dict)
        The case's weather (``725650TYCST.epw`` for ASHRAE 140-2020).
    shading : "raycast" or "analytic"
        See :func:`bestest_model`.

    Returns
    -------
    dict
        ``annual_heating_mwh``, ``annual_cooling_mwh``, ``peak_heating_kw``,
        ``peak_cooling_kw``, and ``ff_max_c``, ``ff_min_c``, ``ff_mean_c`` (zone air) for the
        free-float cases.
    """

    model = bestest_model(case, shading)
    r = simulate(model, weather, ground_temperature_c=BESTEST_FLOOR_BOUNDARY,
                 air_density_kg_m3=BESTEST_AIR_DENSITY_KG_M3, free_running_twin=False,
                 max_site_distance_km=None)
    row = r.table.iloc[0]
    out = {
        "case": str(case).upper(),
        "annual_heating_mwh": float(row["heating_demand_kwh"]) / 1e3,
        "annual_cooling_mwh": float(row["cooling_demand_kwh"]) / 1e3,
        "peak_heating_kw": float(row["peak_heating_kw"]),
        "peak_cooling_kw": float(row["peak_cooling_kw"]),
    }
    if str(case).upper().endswith("FF"):
        out.update(ff_max_c=float(row["t_air_max_c"]), ff_min_c=float(row["t_air_min_c"]),
                   ff_mean_c=float(row["t_air_mean_c"]))
    return out


#: The cases :func:`run_all` runs (every case of :data:`CASES`), in the Standard's order.
ALL_CASES = ("600", "610", "620", "630", "640", "650", "900", "910", "920", "930", "940", "950",
             "600FF", "650FF", "900FF", "950FF")


def reference_ranges() -> pd.DataFrame:
    """The ASHRAE 140-2020 example-program ranges of every case :func:`run_all` runs.

    Returns
    -------
    DataFrame
        ``case``, ``metric`` (a key of :func:`run_case`'s result), ``unit``, ``min``, ``max``,
        ``mean`` and ``table`` (the Standard's table), 60 rows; sources in the CSV's header
        (``data/ashrae140_2020_ranges.csv``).
    """
    df = pd.read_csv(Path(__file__).with_name("data") / "ashrae140_2020_ranges.csv", comment="#", dtype={"case": str})
    return df


def run_all(weather: Any, cases: tuple[str, ...] = ALL_CASES, shading: str = "raycast") -> pd.DataFrame:
    """Run the cases and compare every result with its 2020 reference range.

    Parameters
    ----------
    weather : str, PathLike or (DataFrame, dict)
        ``725650TYCST.epw`` (read once, reused for every case).
    cases : tuple of str
    shading : "raycast" or "analytic"
        See :func:`bestest_model`.

    Returns
    -------
    DataFrame
        One row per (case, metric): ``value``, ``min``, ``max``, ``mean``, ``unit``,
        ``inside`` (bool, min <= value <= max after rounding the value to the reference's
        decimals) and ``off`` (distance outside the range, 0 inside).
    """
    from energy.weather import load_weather

    wx = load_weather(weather)
    ref = reference_ranges()
    rows = []
    for c in cases:  # one annual run per case
        r = run_case(c, wx, shading)
        for _, q in ref[ref["case"] == c].iterrows():
            rows.append({"case": c, "metric": q["metric"], "value": float(r[q["metric"]])})
    out = pd.DataFrame(rows).merge(ref, on=["case", "metric"], how="left")
    dec = np.where(out["unit"] == "C", 1, 3)
    v = np.array([round(x, int(d)) for x, d in zip(out["value"], dec, strict=True)])
    out["inside"] = (v >= out["min"].to_numpy()) & (v <= out["max"].to_numpy())
    out["off"] = np.where(out["inside"], 0.0, np.where(v < out["min"], v - out["min"], v - out["max"]))
    return out[["case", "metric", "unit", "value", "min", "max", "mean", "inside", "off"]]
