"""A real peer side by side: ASHRAE 140 Case 600 in EnergyPlus and in citymodel's energy model.

EnergyPlus runs through the ``pyenergyplus-lbnl`` wheel (its shared library, no separate
install; ``pip install -e .[bench]``). Case 600 is written as an IDF from the same inputs as
``energy.demand.bestest`` (CASE_SPEC.md of the shared ASHRAE 140 data: the layer tables, 12 m2
of south windows, 200 W of gains 60 % radiant, 0.5 ach, 20/27 C ideal loads, a 10 C ground
under the floor). The window is BESTEST's double pane (two 3.175 mm clear panes, 13 mm of air;
the spectral averages of the EnergyPlus BESTEST input files). Both read ``725650TYCST.epw``;
EnergyPlus runs 4 time steps an hour with full interior and exterior solar distribution and
its default convection models (TARP inside, DOE-2 outside).

The script reports, per building-year: EnergyPlus wall time (one run, one building), our
time for the same single building (weather read once, excluded), our time per building in a
block of ``--block`` copies (how a city is run), and the annual heating / cooling and peak
loads of both with their differences; then prints the markdown row for docs/benchmarks.md.

Usage::

    .venv/bin/python benchmarks/energyplus.py [--weather ../shared/data/weather/725650TYCST.epw]
        [--block 1000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_LX, _LY, _LZ = 8.0, 6.0, 2.7


def _surface(name, kind, cons, bc, obj, verts, sun="SunExposed", wind="WindExposed"):
    v = ",\n    ".join(f"{x:.4f}, {y:.4f}, {z:.4f}" for x, y, z in verts)
    return (f"BuildingSurface:Detailed,\n  {name}, {kind}, {cons}, Zone1, , {bc}, {obj}, {sun}, {wind}, , {len(verts)},\n"
            f"    {v};\n")


def case600_idf() -> str:
    """Case 600 as an EnergyPlus IDF (counter-clockwise vertices seen from outside)."""
    lx, ly, lz = _LX, _LY, _LZ
    s = ["Version, 25.2;",
         "SimulationControl, No, No, No, No, Yes, No, 1;",
         "Building, Case600, 0, Suburbs, 0.04, 0.4, FullInteriorAndExterior, 25, 6;",
         "Timestep, 4;",
         "GlobalGeometryRules, UpperLeftCorner, Counterclockwise, World;",
         "RunPeriod, year, 1, 1, , 12, 31, , Sunday, Yes, Yes, No, Yes, Yes;",
         "Site:GroundTemperature:BuildingSurface, 10,10,10,10,10,10,10,10,10,10,10,10;",
         "ScheduleTypeLimits, any, , , Continuous;",
         "Schedule:Constant, always1, any, 1;",
         "Schedule:Constant, heatsp, any, 20;",
         "Schedule:Constant, coolsp, any, 27;",
         "Schedule:Constant, ctrltype, any, 4;",
         # materials (thickness, conductivity, density, specific heat), BESTEST light mass
         "Material, plaster, Smooth, 0.012, 0.16, 950, 840, 0.9, 0.6, 0.6;",
         "Material, fiberglass, Rough, 0.066, 0.04, 12, 840, 0.9, 0.6, 0.6;",
         "Material, siding, Rough, 0.009, 0.14, 530, 900, 0.9, 0.6, 0.6;",
         "Material, plaster_roof, Smooth, 0.010, 0.16, 950, 840, 0.9, 0.6, 0.6;",
         "Material, fiberglass_roof, Rough, 0.1118, 0.04, 12, 840, 0.9, 0.6, 0.6;",
         "Material, roofdeck, Rough, 0.019, 0.14, 530, 900, 0.9, 0.6, 0.6;",
         "Material, timber, Smooth, 0.025, 0.14, 650, 1200, 0.9, 0.6, 0.6;",
         "Material:NoMass, floor_insulation, Rough, 25.075, 0.9, 0.6, 0.6;",
         "Construction, wall, siding, fiberglass, plaster;",
         "Construction, roof, roofdeck, fiberglass_roof, plaster_roof;",
         "Construction, floor, floor_insulation, timber;",
         # BESTEST double pane: two 3.175 mm clear panes, 13 mm air gap (spectral averages)
         "WindowMaterial:Glazing, glass, SpectralAverage, , 0.003175, 0.86156, 0.07846, 0.07846, 0.91325, "
         "0.08200, 0.08200, 0.0, 0.84, 0.84, 1.06;",
         "WindowMaterial:Gas, airgap, Air, 0.013;",
         "Construction, window, glass, airgap, glass;",
         "Zone, Zone1, 0, 0, 0, 0, 1, 1, 2.7, 129.6;",
         "ZoneInfiltration:DesignFlowRate, infil, Zone1, always1, AirChanges/Hour, , , , 0.5, 1, 0, 0, 0;",
         "OtherEquipment, gains, None, Zone1, always1, EquipmentLevel, 200, , , 0, 0.6, 0;",
         "ZoneControl:Thermostat, tstat, Zone1, ctrltype, ThermostatSetpoint:DualSetpoint, dual;",
         "ThermostatSetpoint:DualSetpoint, dual, heatsp, coolsp;",
         "ZoneHVAC:EquipmentConnections, Zone1, Zone1 equipment, Zone1 inlets, , Zone1 air node, Zone1 return node;",
         "ZoneHVAC:EquipmentList, Zone1 equipment, SequentialLoad, ZoneHVAC:IdealLoadsAirSystem, ideal, 1, 1, , ;",
         "NodeList, Zone1 inlets, ideal supply node;",
         "ZoneHVAC:IdealLoadsAirSystem, ideal, , ideal supply node, , , 50, 13, 0.0156, 0.0077, NoLimit, , , "
         "NoLimit, , , , , ConstantSensibleHeatRatio, 0.7, None, , , None, NoEconomizer, None, 0.7, 0.65;",
         "Output:Variable, Zone1, Zone Mean Air Temperature, Timestep;"]
    g = [(0, 0, 0), (lx, 0, 0), (lx, ly, 0), (0, ly, 0)]
    s.append(_surface("floor", "Floor", "floor", "Ground", "", [g[0], g[3], g[2], g[1]], "NoSun", "NoWind"))
    s.append(_surface("roof", "Roof", "roof", "Outdoors", "", [(0, ly, lz), (0, 0, lz), (lx, 0, lz), (lx, ly, lz)]))
    s.append(_surface("south", "Wall", "wall", "Outdoors", "", [(0, 0, lz), (0, 0, 0), (lx, 0, 0), (lx, 0, lz)]))
    s.append(_surface("east", "Wall", "wall", "Outdoors", "", [(lx, 0, lz), (lx, 0, 0), (lx, ly, 0), (lx, ly, lz)]))
    s.append(_surface("north", "Wall", "wall", "Outdoors", "", [(lx, ly, lz), (lx, ly, 0), (0, ly, 0), (0, ly, lz)]))
    s.append(_surface("west", "Wall", "wall", "Outdoors", "", [(0, ly, lz), (0, ly, 0), (0, 0, 0), (0, 0, lz)]))
    for k, x0 in enumerate((0.5, 4.5)):
        v = [(x0, 0, 2.2), (x0, 0, 0.2), (x0 + 3, 0, 0.2), (x0 + 3, 0, 2.2)]
        vs = ",\n    ".join(f"{x:.4f}, {y:.4f}, {z:.4f}" for x, y, z in v)
        s.append(f"FenestrationSurface:Detailed,\n  win{k}, Window, window, south, , , , 1, 4,\n    {vs};\n")
    return "\n".join(s) + "\n"


#: The heavy (900-series) layers of CASE_SPEC.md, as EnergyPlus materials and constructions.
_HEAVY_IDF = ["Material, foam, Rough, 0.0615, 0.04, 10, 1400, 0.9, 0.6, 0.6;",
              "Material, concrete, Rough, 0.100, 0.51, 1400, 1000, 0.9, 0.6, 0.6;",
              "Material, slab, Rough, 0.080, 1.13, 1400, 1000, 0.9, 0.6, 0.6;",
              "Material:NoMass, floor_insulation9, Rough, 25.175, 0.9, 0.6, 0.6;",
              "Construction, hwall, siding, foam, concrete;",
              "Construction, hfloor, floor_insulation9, slab;"]
#: Glass panes: CASE_SPEC.md's (ASHRAE 140-2017: 3.175 mm, tau 0.86156, 13 mm air) and the 2020
#: edition's (3.048 mm, tau 0.834, rho 0.075, k 1.0, 12 mm air; lbl-srg/modelica-buildings#3005).
GLASS = {
    "2017": ("0.003175, 0.86156, 0.07846, 0.07846, 0.91325, 0.08200, 0.08200, 0.0, 0.84, 0.84, 1.06", 0.013),
    "2020": ("0.003048, 0.834, 0.075, 0.075, 0.91325, 0.08200, 0.08200, 0.0, 0.84, 0.84, 1.0", 0.012),
}


def _shade(name: str, verts) -> str:
    v = ",\n    ".join(f"{x:.4f}, {y:.4f}, {z:.4f}" for x, y, z in verts)
    return f"Shading:Building:Detailed,\n  {name}, , {len(verts)},\n    {v};\n"


def bestest_idf(case: str, glass: str = "2017") -> str:
    """ASHRAE 140 Case 600/610/620/630 or 900/910/920/930 as an IDF: heavy layers for the 900s,
    east/west windows for x20/x30, the 1 m south overhang at roof level over the whole wall for
    x10, 1 m overhangs over the window width plus 1 m fins from the ground to the roof for x30
    (the geometry of :func:`energy.demand.bestest.bestest_model`), polygon-clipping shadows."""
    import re

    if case not in ("600", "610", "620", "630", "900", "910", "920", "930"):
        raise ValueError(f"case {case!r}: one of 600, 610, 620, 630, 900, 910, 920, 930")
    s = case600_idf()
    pane, gap = GLASS[glass]
    s = s.replace(GLASS["2017"][0], pane).replace("WindowMaterial:Gas, airgap, Air, 0.013;",
                                                   f"WindowMaterial:Gas, airgap, Air, {gap};")
    s = s.replace("FullInteriorAndExterior, 25, 6;",
                  "FullInteriorAndExterior, 25, 6;\nShadowCalculation, PolygonClipping, Periodic, 1;")
    if case.startswith("9"):
        s = s.replace("Construction, floor, floor_insulation, timber;",
                      "Construction, floor, floor_insulation, timber;\n" + "\n".join(_HEAVY_IDF))
        s = s.replace("Wall, wall, Zone1", "Wall, hwall, Zone1").replace("Floor, floor, Zone1", "Floor, hfloor, Zone1")
    if case[1] in "23":  # windows to the east and west walls
        s = re.sub(r"FenestrationSurface:Detailed,.*?;\n", "", s, flags=re.S)
        for name, base, v in (("winE", "east", [(8, 1.5, 2.2), (8, 1.5, 0.2), (8, 4.5, 0.2), (8, 4.5, 2.2)]),
                              ("winW", "west", [(0, 4.5, 2.2), (0, 4.5, 0.2), (0, 1.5, 0.2), (0, 1.5, 2.2)])):
            vs = ",\n    ".join(f"{x:.4f}, {y:.4f}, {z:.4f}" for x, y, z in v)
            s += f"FenestrationSurface:Detailed,\n  {name}, Window, window, {base}, , , , 1, 4,\n    {vs};\n"
    if case[1] == "1":
        s += _shade("overhang", [(0, 0, _LZ), (_LX, 0, _LZ), (_LX, -1, _LZ), (0, -1, _LZ)])
    if case[1] == "3":
        for side, x in (("E", _LX), ("W", 0.0)):
            sg = 1.0 if side == "E" else -1.0
            s += _shade(f"overhang{side}", [(x, 1.5, _LZ), (x, 4.5, _LZ), (x + sg, 4.5, _LZ), (x + sg, 1.5, _LZ)])
            for k, y in enumerate((1.5, 4.5)):
                s += _shade(f"fin{side}{k}", [(x, y, 0), (x + sg, y, 0), (x + sg, y, _LZ), (x, y, _LZ)])
    return s


_TRANSMITTED = "Enclosure Windows Total Transmitted Solar Radiation Rate"


def run_energyplus(idf: Path, epw: Path, out_dir: Path, systems: tuple[str, ...] = ("IDEAL",),
                   transmitted: bool = False) -> tuple[dict[str, float], float]:
    """Run EnergyPlus on ``idf``; annual results of the ideal-load ``systems`` (summed; peaks of
    the sum) and per system (``per_system``: (n, 2) heating, cooling MWh), and the wall time [s].
    ``transmitted``: also the solar transmitted by the windows of Zone1 (``transmitted_kwh``)."""
    from pyenergyplus.api import EnergyPlusAPI

    api = EnergyPlusAPI()
    state = api.state_manager.new_state()
    api.runtime.set_console_output_status(state, False)
    rows: list[list[float]] = []
    handles: list[int] = []
    keys = ("Zone Ideal Loads Zone Sensible Heating Rate", "Zone Ideal Loads Zone Sensible Cooling Rate")

    def step(st) -> None:
        if not api.exchange.api_data_fully_ready(st) or api.exchange.warmup_flag(st):
            return
        if not handles:
            handles.extend(api.exchange.get_variable_handle(st, k, s_) for s_ in systems for k in keys)
        rows.append([api.exchange.get_variable_value(st, h) for h in handles])
        if transmitted:
            if not t_handle:
                t_handle.append(api.exchange.get_variable_handle(st, _TRANSMITTED, "Zone1"))
            trans.append(api.exchange.get_variable_value(st, t_handle[0]))

    trans: list[float] = []
    t_handle: list[int] = []
    if transmitted:
        api.exchange.request_variable(state, _TRANSMITTED, "Zone1")
    for s_ in systems:
        for key in keys:
            api.exchange.request_variable(state, key, s_)
    api.runtime.callback_end_zone_timestep_after_zone_reporting(state, step)
    t0 = time.perf_counter()
    rc = api.runtime.run_energyplus(state, ["-d", str(out_dir), "-w", str(epw), str(idf)])
    wall = time.perf_counter() - t0
    api.state_manager.delete_state(state)
    if rc != 0:
        err = (out_dir / "eplusout.err")
        raise RuntimeError(f"EnergyPlus failed (exit {rc}); see {err}:\n"
                           + (err.read_text()[-3000:] if err.exists() else ""))
    a = np.asarray(rows, float)
    n_ts = len(a) // 8760
    hourly = a[: 8760 * n_ts].reshape(8760, n_ts, len(systems), 2).mean(axis=1)  # W, hour means
    tot = hourly.sum(axis=1)
    return {"annual_heating_mwh": tot[:, 0].sum() / 1e6, "annual_cooling_mwh": tot[:, 1].sum() / 1e6,
            "peak_heating_kw": tot[:, 0].max() / 1e3, "peak_cooling_kw": tot[:, 1].max() / 1e3,
            "per_system": hourly.sum(axis=0) / 1e6,
            "transmitted_kwh": float(np.sum(trans) / max(n_ts, 1) / 1e3)}, wall


def run_ours(epw: Path, block: int) -> tuple[dict[str, float], float, float]:
    """Case 600 through ``simulate``: one building, and a block of ``block`` copies."""
    from energy.demand.bestest import BESTEST_GROUND_C, bestest_model, run_case
    from energy.demand.simulate import simulate
    from energy.weather import read_epw

    wx = read_epw(epw)
    run_case("600", wx)  # compile / warm caches
    t0 = time.perf_counter()
    r = run_case("600", wx)
    one = time.perf_counter() - t0
    m = bestest_model("600")
    src = m.city_objects["bestest_600"]
    for k in range(1, block):  # copies of the same box, side by side (no shading between them)
        m.add_object(f"b{k}", {**src, "attributes": dict(src["attributes"])})
    t0 = time.perf_counter()
    simulate(m, wx, ground_temperature_c=BESTEST_GROUND_C, free_running_twin=False, max_site_distance_km=None)
    per = (time.perf_counter() - t0) / block
    return {k: r[k] for k in ("annual_heating_mwh", "annual_cooling_mwh", "peak_heating_kw", "peak_cooling_kw")}, one, per


#: Denver, UTM 13N: the block stands at the weather's site.
_DENVER_UTM13 = (529900.0, 4408900.0)


def block_model(n: int = 4):
    """A terraced row of ``n`` one-storey 8 x 10 x 3 m boxes (1970 Italian archetype), constant
    gains and setpoints 20 / 26 C in both programs, no night ventilation."""
    from energy.demand.boxes import box_rows_model

    m = box_rows_model(1, n, height_m=3.0, epsg=32613, origin=_DENVER_UTM13, years=(1970,))
    for o in m.city_objects.values():
        o["attributes"].update(storeysAboveGround=1, energy_schedule={
            "gain_frac": 1.0, "t_heat_c": 20.0, "t_cool_c": 26.0, "vent_frac": 0.0})
    return m


def block_idf(m) -> str:
    """The block as an EnergyPlus IDF with our model's own constructions (layers, windows by the
    archetype's window-to-wall ratios, centred, sill 0.8 m), party walls adiabatic."""
    from energy.demand.archetypes import building_parameters
    from energy.demand.geometry import building_envelope
    from energy.demand.model import Films
    from energy.demand.simulate import build_constructions

    films = Films()
    env = building_envelope(m)
    params, _ = building_parameters(m, env.building_ids, env, log=False)
    c, _ = build_constructions(env, params, films)
    head = case600_idf().split("Material, plaster,")[0]  # version, controls, schedules
    head = head.replace("Building, Case600,", "Building, Block,").replace("coolsp, any, 27", "coolsp, any, 26")
    s = [head, "ThermostatSetpoint:DualSetpoint, dual, heatsp, coolsp;"]
    names = []
    for b, bid in enumerate(env.building_ids):  # one zone per building
        z = f"Z{b}"
        names.append(f"IDEAL{b}")
        for part, lay, alpha in (("wall", c.wall_layers[b], c.alpha_wall[b]), ("roof", c.roof_layers[b], c.alpha_roof[b]),
                                 ("floor", c.floor_layers[b], 0.6)):
            mats = []
            for k, (d, kk, rho, cp) in enumerate(lay):
                if d <= 0:
                    continue
                s.append(f"Material, {part}{b}_{k}, Rough, {d:.5f}, {kk:.5f}, {max(rho, 1.0):.2f}, {max(cp, 100.0):.1f}, "
                         f"0.9, {alpha:.3f}, {alpha:.3f};")
                mats.append(f"{part}{b}_{k}")
            if part == "floor":  # our floor sees the ground through r_ground_m2k_w
                s.append(f"Material:NoMass, soil{b}, Rough, {films.r_ground_m2k_w}, 0.9, 0.6, 0.6;")
                mats.insert(0, f"soil{b}")
            s.append(f"Construction, {part}{b}, {', '.join(mats)};")
        s.append(f"WindowMaterial:SimpleGlazingSystem, glz{b}, {c.u_window_w_m2k[b]:.3f}, {c.g_window[b]:.3f};")
        s.append(f"Construction, window{b}, glz{b};")
        src = m.city_objects[bid]["geometry"][0]["boundaries"][0][0][0]
        x0, y0, _ = m.vertices[src[0]]
        x0, y0 = x0 - _DENVER_UTM13[0], y0 - _DENVER_UTM13[1]
        lx, ly, lz = 8.0, 10.0, 3.0
        s.append(f"Zone, {z}, 0, 0, 0, 0, 1, 1, {lz}, {lx * ly * lz};")
        s.append(f"ZoneInfiltration:DesignFlowRate, inf{b}, {z}, always1, AirChanges/Hour, , , , "
                 f"{c.infiltration_ach[b]:.3f}, 1, 0, 0, 0;")
        s.append(f"OtherEquipment, gain{b}, None, {z}, always1, EquipmentLevel, {c.internal_gain_w[b]:.2f}, , , 0, "
                 f"{c.radiant_share[b]:.2f}, 0;")
        s.append(f"ZoneControl:Thermostat, tstat{b}, {z}, ctrltype, ThermostatSetpoint:DualSetpoint, dual;")
        s.append(f"ZoneHVAC:EquipmentConnections, {z}, {z} eq, {z} in, , {z} node, {z} ret;")
        s.append(f"ZoneHVAC:EquipmentList, {z} eq, SequentialLoad, ZoneHVAC:IdealLoadsAirSystem, IDEAL{b}, 1, 1, , ;")
        s.append(f"NodeList, {z} in, {z} supply;")
        s.append(f"ZoneHVAC:IdealLoadsAirSystem, IDEAL{b}, , {z} supply, , , 50, 13, 0.0156, 0.0077, NoLimit, , , "
                 "NoLimit, , , , , ConstantSensibleHeatRatio, 0.7, None, , , None, NoEconomizer, None, 0.7, 0.65;")

        def surf(name, kind, cons, bc, v, sun="SunExposed", wind="WindExposed", z=z):
            vs = ",\n    ".join(f"{x:.4f}, {y:.4f}, {zz:.4f}" for x, y, zz in v)
            return (f"BuildingSurface:Detailed,\n  {name}, {kind}, {cons}, {z}, , {bc}, , {sun}, {wind}, , {len(v)},"
                    f"\n    {vs};\n")

        X0, X1, Y0, Y1 = x0, x0 + lx, y0, y0 + ly
        s.append(surf(f"fl{b}", "Floor", f"floor{b}", "Ground", [(X0, Y0, 0), (X0, Y1, 0), (X1, Y1, 0), (X1, Y0, 0)],
                      "NoSun", "NoWind"))
        s.append(surf(f"rf{b}", "Roof", f"roof{b}", "Outdoors", [(X0, Y1, lz), (X0, Y0, lz), (X1, Y0, lz), (X1, Y1, lz)]))
        walls = {  # orientation index N, E, S, W -> outer-CCW vertices (upper-left first)
            2: [(X0, Y0, lz), (X0, Y0, 0), (X1, Y0, 0), (X1, Y0, lz)],
            1: [(X1, Y0, lz), (X1, Y0, 0), (X1, Y1, 0), (X1, Y1, lz)],
            0: [(X1, Y1, lz), (X1, Y1, 0), (X0, Y1, 0), (X0, Y1, lz)],
            3: [(X0, Y1, lz), (X0, Y1, 0), (X0, Y0, 0), (X0, Y0, lz)],
        }
        n_b = len(env.building_ids)
        for o, v in walls.items():
            party = (o == 1 and b < n_b - 1) or (o == 3 and b > 0)
            s.append(surf(f"w{b}_{o}", "Wall", f"wall{b}", "Adiabatic" if party else "Outdoors", v,
                          *(("NoSun", "NoWind") if party else ())))
            a_win = float(c.area_window_m2[b, o])
            if party or a_win <= 0:
                continue
            (xa, ya, _), (xb, yb, _) = v[1], v[2]
            wlen = float(np.hypot(xb - xa, yb - ya))
            h = min(1.5, 0.9 * lz - 0.8)
            w = min(a_win / h, 0.95 * wlen)
            h = a_win / w
            f0, f1 = 0.5 - 0.5 * w / wlen, 0.5 + 0.5 * w / wlen
            p0 = (xa + f0 * (xb - xa), ya + f0 * (yb - ya))
            p1 = (xa + f1 * (xb - xa), ya + f1 * (yb - ya))
            wv = [(p0[0], p0[1], 0.8 + h), (p0[0], p0[1], 0.8), (p1[0], p1[1], 0.8), (p1[0], p1[1], 0.8 + h)]
            vs = ",\n    ".join(f"{x:.4f}, {y:.4f}, {zz:.4f}" for x, y, zz in wv)
            s.append(f"FenestrationSurface:Detailed,\n  win{b}_{o}, Window, window{b}, w{b}_{o}, , , , 1, 4,\n    {vs};\n")
    return "\n".join(s) + "\n", tuple(names)


def run_block(epw: Path, out: Path, n: int) -> dict:
    """The terraced block in EnergyPlus and in ``simulate`` (10 C ground in both)."""
    from energy.demand.simulate import simulate
    from energy.weather import read_epw

    m = block_model(n)
    text, systems = block_idf(m)
    idf = out / "block.idf"
    idf.write_text(text)
    ep, t_ep = run_energyplus(idf, epw, out, systems)
    wx = read_epw(epw)
    simulate(m, wx, ground_temperature_c=10.0, free_running_twin=False)  # warm
    t0 = time.perf_counter()
    r = simulate(m, wx, ground_temperature_c=10.0, free_running_twin=False).table
    t_ours = time.perf_counter() - t0
    return {"n": n, "ep": ep, "t_ep": t_ep, "t_ours": t_ours,
            "ours_heating": r["heating_demand_kwh"].to_numpy() / 1e3, "ours_cooling": r["cooling_demand_kwh"].to_numpy() / 1e3}


def run_cases(epw: Path, out: Path, cases: list[str], glass: str) -> list[dict]:
    """ASHRAE 140 cases in EnergyPlus (``glass`` panes) and in ``bestest.run_case``, with the
    2020 reference range of each annual load."""
    from energy.demand.bestest import reference_ranges, run_case
    from energy.weather import read_epw

    wx = read_epw(epw)
    ref = reference_ranges().set_index(["case", "metric"])
    rows = []
    for c in cases:
        d = out / f"case{c}"
        d.mkdir(parents=True, exist_ok=True)
        idf = d / "in.idf"
        idf.write_text(bestest_idf(c, glass))
        ep, _ = run_energyplus(idf, epw, d, transmitted=True)
        ours = run_case(c, wx)
        rows.append({"case": c, "ep": ep, "ours": ours,
                     "ref": {k: (ref.loc[(c, k), "min"], ref.loc[(c, k), "max"])
                             for k in ("annual_heating_mwh", "annual_cooling_mwh", "peak_cooling_kw")}})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weather", default=str(ROOT.parent / "shared" / "data" / "weather" / "725650TYCST.epw"))
    ap.add_argument("--block", type=int, default=1000, help="Buildings in our block run.")
    ap.add_argument("--keep", default=None, help="Keep the IDF and EnergyPlus outputs in this folder.")
    ap.add_argument("--terraced", type=int, default=4, help="Houses in the terraced block (0: skip it).")
    ap.add_argument("--cases", default=None, metavar="600,620,...",
                    help="Only compare these ASHRAE 140 cases (600-630, 900-930) with EnergyPlus.")
    ap.add_argument("--glass", default="2017", choices=sorted(GLASS),
                    help="Glass panes of the EnergyPlus windows with --cases.")
    a = ap.parse_args(argv)
    epw = Path(a.weather).resolve()
    out = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="eplus_"))
    out.mkdir(parents=True, exist_ok=True)
    if a.cases:
        rows = run_cases(epw, out, a.cases.split(","), a.glass)
        print(f"EnergyPlus ({a.glass} glass) beside citymodel; [2020 range]; transmitted solar of E+ [kWh/m2 window]")
        print(f"{'case':5s} {'heating E+ / ours [range]':>34s} {'cooling E+ / ours [range]':>34s} "
              f"{'peak cooling E+ / ours [range]':>34s} {'trans':>6s}")
        for r in rows:
            cells = [f"{r['ep'][k]:6.3f} / {r['ours'][k]:6.3f} [{r['ref'][k][0]:.3f}-{r['ref'][k][1]:.3f}]"
                     for k in ("annual_heating_mwh", "annual_cooling_mwh", "peak_cooling_kw")]
            print(f"{r['case']:5s} " + " ".join(f"{c:>34s}" for c in cells) + f" {r['ep']['transmitted_kwh'] / 12.0:6.0f}")
        return 0
    idf = out / "case600.idf"
    idf.write_text(case600_idf())
    ep, t_ep = run_energyplus(idf, epw, out)
    ours, t_one, t_per = run_ours(epw, a.block)
    print(f"{'':22s} {'EnergyPlus':>11s} {'citymodel':>11s} {'diff':>8s}")
    for k in ours:
        d = 100.0 * (ours[k] - ep[k]) / ep[k]
        print(f"{k:22s} {ep[k]:11.3f} {ours[k]:11.3f} {d:+7.1f}%")
    print(f"time per building-year: EnergyPlus {t_ep:.2f} s; citymodel {t_one:.3f} s alone, "
          f"{t_per * 1e3:.2f} ms in a block of {a.block} ({t_ep / t_per:,.0f}x)")
    dh = 100.0 * (ours["annual_heating_mwh"] - ep["annual_heating_mwh"]) / ep["annual_heating_mwh"]
    dc = 100.0 * (ours["annual_cooling_mwh"] - ep["annual_cooling_mwh"]) / ep["annual_cooling_mwh"]
    print("\n| case | EnergyPlus s/bldg-yr | citymodel s/bldg-yr (alone / in a block) | ratio | heating E+ / ours | "
          "cooling E+ / ours |")
    print(f"| ASHRAE 140 Case 600 | {t_ep:.2f} | {t_one:.3f} / {t_per * 1e3:.2f} ms (block {a.block}) | "
          f"{t_ep / t_per:,.0f}x | {ep['annual_heating_mwh']:.3f} / {ours['annual_heating_mwh']:.3f} MWh ({dh:+.1f} %) | "
          f"{ep['annual_cooling_mwh']:.3f} / {ours['annual_cooling_mwh']:.3f} MWh ({dc:+.1f} %) |")
    if a.terraced:
        blk = out / "block"
        blk.mkdir(exist_ok=True)
        r = run_block(epw, blk, a.terraced)
        ps = r["ep"]["per_system"]
        print(f"\nterraced block of {r['n']} (IT 1961-1975 archetype, our constructions in both):")
        print(f"{'house':6s} {'heat E+':>8s} {'ours':>8s} {'cool E+':>8s} {'ours':>8s}  [MWh/a]")
        for k in range(r["n"]):
            print(f"{k:<6d} {ps[k, 0]:8.3f} {r['ours_heating'][k]:8.3f} {ps[k, 1]:8.3f} {r['ours_cooling'][k]:8.3f}")
        hh, hc = r["ours_heating"].sum(), r["ours_cooling"].sum()
        eh, ec = r["ep"]["annual_heating_mwh"], r["ep"]["annual_cooling_mwh"]
        print(f"block: heating {eh:.3f} / {hh:.3f} MWh ({100 * (hh - eh) / eh:+.1f} %), cooling {ec:.3f} / {hc:.3f} MWh "
              f"({100 * (hc - ec) / ec:+.1f} %); time per building-year EnergyPlus {r['t_ep'] / r['n']:.2f} s, "
              f"citymodel {r['t_ours'] / r['n'] * 1e3:.1f} ms")
        print(f"| terraced block of {r['n']} (IT 1970 archetype) | {r['t_ep'] / r['n']:.2f} | "
              f"{r['t_ours'] / r['n'] * 1e3:.1f} ms (block {r['n']}) | {r['t_ep'] / r['t_ours']:,.0f}x | "
              f"{eh:.3f} / {hh:.3f} MWh ({100 * (hh - eh) / eh:+.1f} %) | {ec:.3f} / {hc:.3f} MWh ({100 * (hc - ec) / ec:+.1f} %) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
