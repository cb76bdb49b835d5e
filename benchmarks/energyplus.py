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


def run_energyplus(idf: Path, epw: Path, out_dir: Path) -> tuple[dict[str, float], float]:
    """Run EnergyPlus on ``idf``; annual results from the ideal loads, and the wall time [s]."""
    from pyenergyplus.api import EnergyPlusAPI

    api = EnergyPlusAPI()
    state = api.state_manager.new_state()
    api.runtime.set_console_output_status(state, False)
    rows: list[tuple[float, float]] = []
    handles: dict[str, int] = {}

    def step(st) -> None:
        if not api.exchange.api_data_fully_ready(st) or api.exchange.warmup_flag(st):
            return
        if not handles:
            for key in ("Zone Ideal Loads Zone Sensible Heating Rate", "Zone Ideal Loads Zone Sensible Cooling Rate"):
                handles[key] = api.exchange.get_variable_handle(st, key, "IDEAL")
        rows.append((api.exchange.get_variable_value(st, handles["Zone Ideal Loads Zone Sensible Heating Rate"]),
                     api.exchange.get_variable_value(st, handles["Zone Ideal Loads Zone Sensible Cooling Rate"])))

    for key in ("Zone Ideal Loads Zone Sensible Heating Rate", "Zone Ideal Loads Zone Sensible Cooling Rate"):
        api.exchange.request_variable(state, key, "IDEAL")
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
    hourly = a[: 8760 * n_ts].reshape(8760, n_ts, 2).mean(axis=1)  # W, hour means
    return {"annual_heating_mwh": hourly[:, 0].sum() / 1e6, "annual_cooling_mwh": hourly[:, 1].sum() / 1e6,
            "peak_heating_kw": hourly[:, 0].max() / 1e3, "peak_cooling_kw": hourly[:, 1].max() / 1e3}, wall


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weather", default=str(ROOT.parent / "shared" / "data" / "weather" / "725650TYCST.epw"))
    ap.add_argument("--block", type=int, default=1000, help="Buildings in our block run.")
    ap.add_argument("--keep", default=None, help="Keep the IDF and EnergyPlus outputs in this folder.")
    a = ap.parse_args(argv)
    epw = Path(a.weather).resolve()
    out = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="eplus_"))
    out.mkdir(parents=True, exist_ok=True)
    idf = out / "case600.idf"
    idf.write_text(case600_idf())
    ep, t_ep = run_energyplus(idf, epw, out)
    ours, t_one, t_per = run_ours(epw, a.block)
    print(f"{'':22s} {'EnergyPlus':>11s} {'citymodel':>11s} {'diff':>8s}")
    for k in ep:
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
