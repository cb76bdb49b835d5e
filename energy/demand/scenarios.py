"""Retrofit scenarios: wall/roof insulation, window replacement, setpoints, cool roofs.

A :class:`Retrofit` describes the measures; :func:`run_scenarios` simulates the baseline and
every scenario on the same weather and returns per-building results and deltas. Measures are
applied as ``energy_*`` override attributes on a copy of the model, on top of each building's
archetype (or its own overrides), so the scenario runs through the very same engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from citymodel.errors import InputError
from citymodel.model import CityModel
from energy.demand.archetypes import assign_archetypes, load_archetypes
from energy.demand.simulate import simulate
from energy.weather import load_weather

__all__ = ["Retrofit", "apply_retrofit", "run_scenarios", "INSULATION_K_W_MK"]

#: Conductivity of the added insulation (EPS/mineral wool) [W/mK].
INSULATION_K_W_MK = 0.035


@dataclass
class Retrofit:
    """One retrofit scenario.

    Attributes
    ----------
    name : str
    wall_insulation_m, roof_insulation_m : float
        Insulation added on the outside of walls / roofs [m] (k = 0.035 W/mK).
    window_u_w_m2k, window_g : float, optional
        New windows: U-value [W/m2K] and g-value.
    t_heat_c, t_cool_c : float, optional
        New heating / cooling setpoints [degC].
    roof_albedo : float, optional
        Cool roof: solar reflectance of the roof (absorptance = 1 - albedo).
    building_ids : list[str], optional
        Apply only to these buildings (default: all).
    """

    name: str
    wall_insulation_m: float = 0.0
    roof_insulation_m: float = 0.0
    window_u_w_m2k: float | None = None
    window_g: float | None = None
    t_heat_c: float | None = None
    t_cool_c: float | None = None
    roof_albedo: float | None = None
    building_ids: list[str] | None = None

    def __post_init__(self) -> None:
        if self.wall_insulation_m < 0 or self.roof_insulation_m < 0:
            raise InputError(f"scenario {self.name!r}: insulation thickness must be >= 0")
        if self.roof_albedo is not None and not 0.0 <= self.roof_albedo <= 1.0:
            raise InputError(f"scenario {self.name!r}: roof_albedo must be in 0..1")
        if self.window_u_w_m2k is not None and self.window_u_w_m2k <= 0:
            raise InputError(f"scenario {self.name!r}: window_u_w_m2k must be > 0")


def _add_outer_layer(layers: Any, d_m: float) -> list[list[float]]:
    return [[d_m, INSULATION_K_W_MK, 30.0, 1400.0]] + [list(map(float, x)) for x in layers]


def apply_retrofit(model: CityModel, retrofit: Retrofit, archetypes: Any = "IT") -> CityModel:
    """A copy of ``model`` whose buildings carry the retrofit as ``energy_*`` overrides."""

    out = model.copy()
    ids = retrofit.building_ids if retrofit.building_ids is not None else out.building_ids()
    unknown = [b for b in ids if b not in out.city_objects]
    if unknown:
        raise InputError(f"scenario {retrofit.name!r}: unknown buildings {unknown[:5]}")
    table = load_archetypes(archetypes)
    overrides = None
    if "archetype_id" not in table.columns:
        overrides, table = table, load_archetypes("IT")
    p = assign_archetypes(out, list(ids), table, overrides)
    u_wall = 1.0 / (1.0 / p["u_wall_w_m2k"].to_numpy(float) + retrofit.wall_insulation_m / INSULATION_K_W_MK)
    u_roof = 1.0 / (1.0 / p["u_roof_w_m2k"].to_numpy(float) + retrofit.roof_insulation_m / INSULATION_K_W_MK)
    for k, bid in enumerate(ids):  # attribute edits, one dict per building
        a = out.city_objects[bid].setdefault("attributes", {})
        if retrofit.wall_insulation_m > 0:
            if a.get("energy_wall_layers") is not None:
                a["energy_wall_layers"] = _add_outer_layer(a["energy_wall_layers"], retrofit.wall_insulation_m)
            else:
                a["energy_u_wall_w_m2k"] = float(u_wall[k])
        if retrofit.roof_insulation_m > 0:
            if a.get("energy_roof_layers") is not None:
                a["energy_roof_layers"] = _add_outer_layer(a["energy_roof_layers"], retrofit.roof_insulation_m)
            else:
                a["energy_u_roof_w_m2k"] = float(u_roof[k])
        if retrofit.window_u_w_m2k is not None:
            a["energy_u_window_w_m2k"] = float(retrofit.window_u_w_m2k)
        if retrofit.window_g is not None:
            a["energy_g_window"] = float(retrofit.window_g)
        if retrofit.t_heat_c is not None:
            a["energy_t_heat_c"] = float(retrofit.t_heat_c)
        if retrofit.t_cool_c is not None:
            a["energy_t_cool_c"] = float(retrofit.t_cool_c)
        if retrofit.roof_albedo is not None:
            a["energy_alpha_roof"] = 1.0 - float(retrofit.roof_albedo)
    return out


def run_scenarios(model: CityModel, weather: Any, scenarios: list[Retrofit], **simulate_kw: Any) -> pd.DataFrame:
    """Simulate the baseline and each scenario; per-building results and deltas.

    Parameters
    ----------
    model : CityModel
    weather : str, PathLike or (DataFrame, dict)
        Read once and reused for every run.
    scenarios : list of Retrofit
    **simulate_kw
        Passed to :func:`energy.demand.simulate.simulate` (``archetypes``, ``solar``, ...).

    Returns
    -------
    DataFrame
        One row per (scenario, building) with ``heating_demand_kwh``, ``cooling_demand_kwh``,
        ``overheating_hours``, ``floor_area_m2``, and ``delta_heating_kwh``,
        ``delta_cooling_kwh``, ``delta_heating_pct``, ``delta_cooling_pct``,
        ``delta_overheating_hours`` against the baseline (scenario ``"baseline"``, deltas 0).
    """

    if not scenarios:
        raise InputError("give at least one Retrofit scenario")
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names) or "baseline" in names:
        raise InputError(f"scenario names must be unique and not 'baseline': {names}")
    wx = load_weather(weather, model)
    cols = ["heating_demand_kwh", "cooling_demand_kwh", "overheating_hours", "floor_area_m2"]
    base = simulate(model, wx, **simulate_kw).table[cols]
    frames = [base.assign(scenario="baseline")]
    arche = simulate_kw.get("archetypes", "IT")
    for s in scenarios:
        r = simulate(apply_retrofit(model, s, arche), wx, **simulate_kw).table[cols]
        frames.append(r.assign(scenario=s.name))
    out = pd.concat(frames).reset_index()
    b = base.reindex(out["building_id"])
    out["delta_heating_kwh"] = out["heating_demand_kwh"].to_numpy() - b["heating_demand_kwh"].to_numpy()
    out["delta_cooling_kwh"] = out["cooling_demand_kwh"].to_numpy() - b["cooling_demand_kwh"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["delta_heating_pct"] = 100.0 * out["delta_heating_kwh"] / b["heating_demand_kwh"].to_numpy()
        out["delta_cooling_pct"] = 100.0 * out["delta_cooling_kwh"] / b["cooling_demand_kwh"].to_numpy()
    out["delta_overheating_hours"] = out["overheating_hours"].to_numpy() - b["overheating_hours"].to_numpy()
    return out[["scenario", "building_id", *cols, "delta_heating_kwh", "delta_cooling_kwh",
                "delta_heating_pct", "delta_cooling_pct", "delta_overheating_hours"]]
