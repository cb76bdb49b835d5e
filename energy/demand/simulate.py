"""``simulate``: hourly heating and cooling demand of every building of a city model.

Geometry from the model's semantic surfaces (:mod:`energy.demand.geometry`), constructions and
operation from the archetypes (:mod:`energy.demand.archetypes`), solar gains from the solar
solver's shaded irradiance when given (else unshaded Perez irradiance per orientation), and the
thermal network of :mod:`energy.demand.model` run block by block by
:func:`energy.demand.engine.run_thermal`.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from citymodel._fileutil import atomic_path
from citymodel.errors import CityModelWarning, InputError
from citymodel.model import CityModel
from citymodel.progress import progress_bar
from citymodel.surfaces import surface_table
from energy.demand.archetypes import (
    MIN_FLOOR_AREA_M2,
    building_parameters,
    layers_from_u_kappa,
    schedule_tables,
)
from energy.demand.engine import forcing_from_weather, run_thermal
from energy.demand.geometry import Envelope, building_envelope
from energy.demand.glazing import DIFFUSE, double_glazing, glazing_modifier
from energy.demand.irradiance import orientation_irradiance
from energy.demand.model import Constructions, Films
from energy.demand.shading import window_shading
from energy.demand.window_rays import ray_window_shading
from energy.weather import check_weather_site, load_weather

__all__ = ["simulate", "EnergyResult", "RESULT_COLUMNS", "build_constructions", "window_irradiance",
           "films_for_weather"]

#: Per-building result columns written back as CityJSON attributes.
RESULT_COLUMNS = (
    "heating_demand_kwh",
    "cooling_demand_kwh",
    "heating_demand_kwh_m2",
    "cooling_demand_kwh_m2",
    "peak_heating_kw",
    "peak_cooling_kw",
    "floor_area_m2",
    "overheating_hours",
)
_HOURLY_NAMES = ("heating_w", "cooling_w", "t_air_c", "t_operative_c")


class EnergyWarning(CityModelWarning):
    """A building or input was handled with a fallback."""


@dataclass
class EnergyResult:
    """Per-building results of :func:`simulate`.

    Attributes
    ----------
    table : DataFrame
        Indexed by building id: :data:`RESULT_COLUMNS` plus ``t_air_max_c``, ``t_air_min_c``,
        ``t_air_mean_c``, ``t_op_max_c``, ``archetype_id``, ``archetype_default``,
        ``window_area_m2``, ``party_wall_area_m2``, ``volume_m3``.
    hourly : (4, nb, nh) float32 or None
        Heating [W], cooling [W], air and operative temperature [degC] per hour, in
        ``table.index`` order (only when asked for).
    times : DatetimeIndex
        Hour-ending stamps of the weather.
    weather_meta : dict
    skipped : dict[str, str]
        Buildings left out and why (no envelope, or unconditioned: sheds, garages, tiny).
    provenance : DataFrame
        Every building's ``archetype``, ``archetype_from``, ``archetype_why`` (simulated or not).
    summary : dict
        Archetype counts, fallbacks and the weather-site check (see
        :func:`energy.demand.archetypes.archetype_summary`).
    """

    table: pd.DataFrame
    hourly: np.ndarray | None
    times: pd.DatetimeIndex
    weather_meta: dict
    skipped: dict[str, str] = field(default_factory=dict)
    provenance: pd.DataFrame | None = None
    summary: dict = field(default_factory=dict)

    def write_attributes(self, model: CityModel, *, decimals: int = 2) -> int:
        """Write the result columns onto the buildings' attributes; returns the count."""
        cols = list(RESULT_COLUMNS) + ["archetype_id", "archetype_default"]
        recs = self.table[cols].to_dict("index")
        for bid, rec in recs.items():  # one dict update per building (CityJSON objects)
            a = model.city_objects[bid].setdefault("attributes", {})
            for k, v in rec.items():
                name = k if k in RESULT_COLUMNS else f"energy_{k}"
                a[name] = round(float(v), decimals) if isinstance(v, (float, np.floating)) else (
                    int(v) if isinstance(v, (np.integer,)) else v)
        for bid, why in self.skipped.items():
            model.city_objects[bid].setdefault("attributes", {})["energy_skipped"] = why
        if self.provenance is not None:
            for bid, rec in self.provenance.to_dict("index").items():  # one dict per building
                model.city_objects[bid].setdefault("attributes", {}).update(rec)
        if self.summary:
            model.extra["+energyArchetypes"] = self.summary
        return len(recs)

    def hourly_frame(self) -> pd.DataFrame:
        """Long table ``building_id, time, heating_w, cooling_w, t_air_c, t_operative_c``."""
        if self.hourly is None:
            raise InputError("no hourly series: run simulate(..., hourly=True)")
        nb_, nh = self.hourly.shape[1:]
        data = {
            "building_id": np.repeat(self.table.index.to_numpy(dtype=object), nh),
            "time": np.tile(self.times.to_numpy(), nb_),
        }
        for k, name in enumerate(_HOURLY_NAMES):
            data[name] = self.hourly[k].reshape(-1)
        return pd.DataFrame(data)

    def to_parquet(self, path: str | os.PathLike, *, overwrite: bool = False) -> None:
        """Hourly series as Parquet (long table, see :meth:`hourly_frame`)."""
        df = self.hourly_frame()
        with atomic_path(path, overwrite=overwrite) as tmp:
            df.to_parquet(tmp, index=False)

    def to_gpkg(self, path: str | os.PathLike, model: CityModel, *, overwrite: bool = False,
                layer: str = "energy") -> None:
        """Per-building results with the building footprints (2D) as a GeoPackage."""
        import pyogrio
        import shapely


        ids = list(self.table.index)
        t = surface_table(model, object_types=("Building", "BuildingPart"), object_ids=None)
        pos = {r: k for k, r in enumerate(ids)}
        rb = np.array([pos.get(r, -1) for r in t.root_ids], dtype=np.int64)
        rows = np.flatnonzero(t.is_type("GroundSurface") | t.is_type("RoofSurface"))
        rows = rows[rb[t.root_index[rows]] >= 0]
        sub = t.select(rows)
        tri = sub.vertices[sub.triangles][:, :, :2]
        tb = rb[sub.root_index[sub.triangle_surface]]
        polys = shapely.polygons(np.concatenate([tri, tri[:, :1]], axis=1))
        polys = shapely.make_valid(polys)
        order = np.argsort(tb, kind="stable")
        groups = np.split(polys[order], np.flatnonzero(np.diff(tb[order])) + 1)
        gid = tb[order][np.r_[0, np.flatnonzero(np.diff(tb[order])) + 1]] if len(order) else []
        geoms = np.full(len(ids), None, dtype=object)
        for g, k in zip(groups, gid, strict=True):  # union of each building's triangles
            geoms[k] = shapely.union_all(g, grid_size=1e-3)
        geoms = np.array([
            g if g is None or g.geom_type == "MultiPolygon" else shapely.MultiPolygon(
                [p for p in getattr(g, "geoms", [g]) if p.geom_type == "Polygon"])
            for g in geoms
        ], dtype=object)
        df = self.table.reset_index()
        names = list(df.columns)
        arrays = [df[c].to_numpy().astype(str) if df[c].dtype == object else df[c].to_numpy() for c in names]
        with atomic_path(path, overwrite=overwrite) as tmp:
            pyogrio.raw.write(str(tmp), shapely.to_wkb(geoms), arrays, names, layer=layer, driver="GPKG",
                              geometry_type="MultiPolygon", crs=f"EPSG:{model.epsg}" if model.epsg else None)


# ------------------------------------------------------------------------------ helpers


def _pad_layers(layer_list: list[Any], fallback: np.ndarray, what: str, ids: list[str]) -> np.ndarray:
    """Per-building layer tables: overrides (lists) where given, ``fallback (nb, L, 4)`` else."""
    given = [i for i, v in enumerate(layer_list) if v is not None and not (isinstance(v, float) and np.isnan(v))]
    if not given:
        return fallback
    arrs = {}
    for i in given:
        a = np.asarray(layer_list[i], float)
        if a.ndim != 2 or a.shape[1] != 4 or len(a) == 0 or np.any(a < 0):
            raise InputError(
                f"building {ids[i]!r}: attribute energy_{what}_layers must be a list of "
                "[thickness_m, k_w_mk, rho_kg_m3, cp_j_kgk] (non-negative), outside to inside"
            )
        arrs[i] = a
    nl = max(fallback.shape[1], max(len(a) for a in arrs.values()))
    out = np.zeros((fallback.shape[0], nl, 4))
    out[:, : fallback.shape[1]] = fallback
    for i, a in arrs.items():  # only the overridden buildings
        out[i] = 0.0
        out[i, : len(a)] = a
    return out


def build_constructions(env: Envelope, params: pd.DataFrame, films: Films) -> tuple[Constructions, np.ndarray]:
    """Constructions of the buildings of ``env`` from their archetype parameters.

    Returns
    -------
    Constructions, (nb,) float64
        And the floor area used [m2].
    """
    ids = env.building_ids
    nb_ = len(ids)
    sh = params["storey_height_m"].to_numpy(float)
    storeys = np.where(env.storeys_given, env.storeys, np.maximum(1.0, np.round(env.height_m / sh)))
    if "storeys" in params:  # a storeys attribute (b3_bouwlagen, building:levels, ...) wins
        st = params["storeys"].to_numpy(float)
        storeys = np.where(np.isfinite(st), st, storeys)
    floor_area = env.ground_area_m2 * storeys
    wwr = params[["wwr_n", "wwr_e", "wwr_s", "wwr_w"]].to_numpy(float)
    win = np.where(env.has_windows[:, None], env.window_area_m2, np.clip(wwr, 0, 0.95) * env.wall_area_m2)
    opaque = np.maximum(env.wall_area_m2 - win, 0.0)
    r_wall = 1.0 / (films.h_ci_wall + films.h_ri) + 1.0 / (films.h_ce_wall + films.h_re)
    r_roof = 1.0 / (films.h_ci_roof + films.h_ri) + 1.0 / (films.h_ce_wall + films.h_re)
    r_floor = 1.0 / (films.h_ci_floor + films.h_ri) + films.r_ground_m2k_w
    wall_l = layers_from_u_kappa(params["u_wall_w_m2k"].to_numpy(float), params["kappa_wall_kj_m2k"].to_numpy(float), r_wall)
    roof_l = layers_from_u_kappa(params["u_roof_w_m2k"].to_numpy(float), params["kappa_roof_kj_m2k"].to_numpy(float), r_roof)
    floor_l = layers_from_u_kappa(params["u_floor_w_m2k"].to_numpy(float), params["kappa_floor_kj_m2k"].to_numpy(float), r_floor)
    wall_l = _pad_layers(list(params["wall_layers"]), wall_l, "wall", ids)
    roof_l = _pad_layers(list(params["roof_layers"]), roof_l, "roof", ids)
    floor_l = _pad_layers(list(params["floor_layers"]), floor_l, "floor", ids)
    # party walls: the wall's inner (massive) half, adiabatic on the other side
    party_l = wall_l[:, -1:, :].copy()
    party_l[:, :, 0] *= 0.5 if wall_l.shape[1] > 1 else 1.0
    vol = np.maximum(env.volume_m3, 1.0)
    vent_attr = params["vent_m3_h"].to_numpy(float) if "vent_m3_h" in params else np.full(nb_, np.nan)
    vent = np.where(np.isfinite(vent_attr), vent_attr, params["night_vent_ach"].to_numpy(float) * vol)
    gain_attr = params["internal_gain_w"].to_numpy(float) if "internal_gain_w" in params else np.full(nb_, np.nan)
    gains = np.where(np.isfinite(gain_attr), gain_attr, params["internal_gain_w_m2"].to_numpy(float) * floor_area)
    _, absorbed, g0 = double_glazing(0.0)
    c = Constructions(
        area_wall_m2=opaque,
        area_window_m2=win,
        area_roof_m2=env.roof_area_m2,
        area_floor_m2=env.ground_area_m2,
        area_party_m2=env.party_wall_area_m2,
        volume_m3=vol,
        wall_layers=wall_l,
        roof_layers=roof_l,
        floor_layers=floor_l,
        party_layers=party_l,
        u_window_w_m2k=params["u_window_w_m2k"].to_numpy(float),
        g_window=params["g_window"].to_numpy(float),
        window_absorbed_share=np.full(nb_, float(absorbed[0] / g0[0])),
        alpha_wall=params["alpha_wall"].to_numpy(float),
        alpha_roof=params["alpha_roof"].to_numpy(float),
        infiltration_ach=params["infiltration_ach"].to_numpy(float),
        vent_m3_h=vent,
        internal_gain_w=gains,
        radiant_share=params["radiant_share"].to_numpy(float),
        floor_to_ground=np.ones(nb_, bool),
    )
    return c, floor_area


def _extra_numeric(model: CityModel, ids: list[str], name: str) -> np.ndarray:
    return pd.to_numeric(
        pd.Series([(model.city_objects[i].get("attributes") or {}).get(name) for i in ids], dtype=object),
        errors="coerce",
    ).to_numpy(float)


def solar_shading_factors(solar_model: CityModel, ids: list[str], oi) -> np.ndarray:
    """Shaded / unshaded annual irradiation per building and group (roof, N, E, S, W).

    Reads ``irradiation_kwh_m2`` from the semantic surfaces that ``citymodel solar`` wrote
    and divides its area-weighted mean per group by the unshaded annual irradiation of the
    same orientation. Buildings or groups without values get 1.

    Returns
    -------
    (nb, 5) float64
    """

    t = surface_table(solar_model, object_types=("Building", "BuildingPart"))
    vals = np.full(len(t), np.nan)
    objs = [solar_model.city_objects[o] for o in t.object_ids]
    for r in np.flatnonzero(t.semantic_index >= 0):  # read the attribute off each semantic surface
        g = objs[t.object_index[r]]["geometry"][t.geometry_index[r]]
        v = g["semantics"]["surfaces"][t.semantic_index[r]].get("irradiation_kwh_m2")
        if isinstance(v, (int, float)):
            vals[r] = float(v)
    pos = {b: k for k, b in enumerate(ids)}
    rb = np.array([pos.get(x, -1) for x in t.root_ids], dtype=np.int64)
    b = rb[t.root_index] if len(t) else np.zeros(0, np.int64)
    grp = np.where(t.semantic_type == "RoofSurface", 0,
                   np.where((t.semantic_type == "WallSurface") & (np.abs(t.tilt_deg - 90) <= 30),
                            1 + np.round(t.azimuth_deg / 90.0).astype(np.int64) % 4, -1))
    ok = (b >= 0) & (grp >= 0) & np.isfinite(vals) & (t.area_m2 > 0)
    key = b[ok] * 5 + grp[ok]
    num = np.bincount(key, weights=t.area_m2[ok] * vals[ok], minlength=len(ids) * 5)
    den = np.bincount(key, weights=t.area_m2[ok], minlength=len(ids) * 5)
    unshaded = oi.total_w_m2.sum(axis=1) / 1e3  # kWh/m2 per group
    with np.errstate(invalid="ignore", divide="ignore"):
        sf = (num / den).reshape(len(ids), 5) / unshaded[None, :]
    return np.clip(np.where(np.isfinite(sf), sf, 1.0), 0.0, 1.5)


def _irradiance_sources(model, ids, oi, solar):
    """Irradiance rows (n_src, 5, nh), window rows (n_src, 4, nh) and each building's row."""
    nh = oi.total_w_m2.shape[1]
    base_irr = oi.total_w_m2[None].astype(np.float32)
    base_win = oi.window_w_m2[None].astype(np.float32)
    src = np.zeros(len(ids), np.int64)
    irr, irw = base_irr, base_win
    if solar is not None and not isinstance(solar, CityModel):
        arr = np.asarray(solar.irradiance_w_m2, dtype=np.float32)
        if arr.ndim != 3 or arr.shape[1] != 5 or arr.shape[2] != nh:
            raise InputError(
                f"solar irradiance must have shape (n_buildings, 5, {nh}) to match the weather, "
                f"got {arr.shape}; compute it with the same weather"
            )
        pos = {b: k for k, b in enumerate(solar.building_ids)}
        rows = np.array([pos.get(b, -1) for b in ids], dtype=np.int64)
        ratio = oi.window_ratio().astype(np.float32)
        irr = np.concatenate([base_irr, arr], axis=0)
        irw = np.concatenate([base_win, arr[:, 1:] * ratio[None]], axis=0)
        src = np.where(rows >= 0, rows + 1, 0)
    shade = [(model.city_objects[b].get("attributes") or {}).get("energy_window_shading") for b in ids]
    sk = np.array([isinstance(s, dict) for s in shade])
    if sk.any():
        specs = [shade[i] for i in np.flatnonzero(sk)]
        n_s = len(specs)

        def col(key, default):
            return np.repeat(np.array([float(s.get(key, default)) for s in specs]), 4)

        waz = np.tile(np.array([0.0, 90.0, 180.0, 270.0]), n_s)
        sunlit, fsky, fgnd = window_shading(
            oi.sun_azimuth_deg, oi.sun_elevation_deg, waz, col("window_width_m", 1.0),
            col("window_height_m", 1.5), col("overhang_depth_m", 0.0), col("overhang_gap_m", 0.0),
            col("overhang_extension_m", np.inf), col("fin_depth_m", 0.0),
        )

        beam = oi.beam_w_m2[1:]
        mod_b = glazing_modifier(oi.aoi_deg[1:].ravel()).reshape(4, nh)
        mod_d = float(glazing_modifier(DIFFUSE)[0])
        sunlit, fsky, fgnd = sunlit.reshape(n_s, 4, nh), fsky.reshape(n_s, 4), fgnd.reshape(n_s, 4)
        fhor = fsky.copy()  # analytic: the horizon band shaded like the dome
        for k, bi in enumerate(np.flatnonzero(sk)):  # {"method": "raycast"}: the model's own geometry
            if specs[k].get("method") == "raycast":
                sunlit[k], fsky[k], fgnd[k], fhor[k] = ray_window_shading(
                    model, ids[bi], oi.sun_azimuth_deg, oi.sun_elevation_deg, with_horizon=True)
        # Perez parts of the sky diffuse: circumsolar shaded like the beam, the horizon band by
        # the horizon's obstruction, the isotropic dome by the sky factor (as EnergyPlus does)
        circ = oi.circumsolar_w_m2[1:] if oi.circumsolar_w_m2 is not None else np.zeros_like(beam)
        hor = oi.horizon_w_m2[1:] if oi.horizon_w_m2 is not None else np.zeros_like(beam)
        dome = oi.sky_diffuse_w_m2[1:] - circ - hor
        win_s = (beam * mod_b)[None] * sunlit + mod_d * (
            dome[None] * fsky.reshape(n_s, 4, 1) + circ[None] * sunlit + hor[None] * fhor.reshape(n_s, 4, 1)
            + oi.ground_diffuse_w_m2[1:][None] * fgnd.reshape(n_s, 4, 1)
        )
        opaque_rows = irr[src[sk]]
        irr = np.concatenate([irr, opaque_rows], axis=0)
        irw = np.concatenate([irw, win_s.astype(np.float32)], axis=0)
        src = src.copy()
        src[sk] = irr.shape[0] - n_s + np.arange(n_s)
    return irr, irw, src


def window_irradiance(model: CityModel, building_ids: list[str], oi, solar: Any = None) -> np.ndarray:
    """Irradiance on each building's windows after shading, ``(nb, 4, nh)`` float32 [W/m2].

    Orientations N, E, S, W; angular glazing losses included; shading from ``solar``, the
    ``energy_window_shading`` attribute (analytic, or ``{"method": "raycast"}``), else none.
    """
    _, irw, src = _irradiance_sources(model, building_ids, oi, solar)
    return irw[src]


def films_for_weather(weather: pd.DataFrame) -> tuple[Films, str]:
    """Surface coefficients with the exterior convection of walls and roof from the weather.

    ISO 6946:2017 Annex C: ``h_c = 4 + 4 v`` with ``v`` the file's mean wind speed (Denver TMY3:
    3.9 m/s, 19.7 W/m2K; EnergyPlus's DOE-2 coefficients average 18-20 there). Without a
    usable wind column the :class:`Films` default stays, and the returned note says so.

    Returns
    -------
    Films, str
        The coefficients and where ``h_ce_wall`` came from (for the summary).
    """
    v = weather["wind_speed_m_s"].to_numpy(float) if "wind_speed_m_s" in weather else np.array([np.nan])
    v = v[np.isfinite(v) & (v >= 0) & (v < 60)]
    if not len(v):
        note = f"default {Films().h_ce_wall:g} W/m2K (no wind speed in the weather)"
        warnings.warn(f"exterior convection: {note}; add wind_speed_m_s to the weather or pass films",
                      EnergyWarning, stacklevel=3)
        return Films(), note
    return Films(h_ce_wall=4.0 + 4.0 * float(v.mean())), f"ISO 6946 4 + 4 v, mean wind {v.mean():.2f} m/s"


def simulate(
    model: CityModel,
    weather: Any,
    *,
    archetypes: str | os.PathLike | pd.DataFrame = "IT",
    country: str | None = None,
    year_field: str | None = None,
    use_field: str | None = None,
    storeys_field: str | None = None,
    min_floor_area_m2: float = MIN_FLOOR_AREA_M2,
    solar: Any = None,
    hourly: bool = False,
    block_size: int = 4096,
    ground_temperature_c: float | str | None = None,
    air_density_kg_m3: float | None = None,
    overheating_threshold_c: float = 26.0,
    free_running_twin: bool = True,
    max_site_distance_km: float | None = 200.0,
    films: Films | None = None,
    progress: bool = False,
) -> EnergyResult:
    """Hourly heating and cooling demand of every building of ``model`` over the weather year.

    Parameters
    ----------
    model : CityModel
        Buildings with semantic surfaces (LoD1.2/1.3/2.2), attributes ``use`` and
        ``construction_year`` (optional), and optional ``energy_*`` overrides.
    weather : str, PathLike or (DataFrame, dict)
        An EPW path, ``"clearsky"``, or the result of :func:`energy.weather.read_epw`.
    archetypes : "IT", "NL", "DE", path or DataFrame
        A shipped archetype table, the user's table, or a CSV of per-building overrides (with
        ``building_id``) applied on top of the ``country`` table.
    country : "IT", "NL" or "DE", optional
        Shipped table under per-building overrides (default IT).
    year_field, use_field, storeys_field : str, optional
        Attributes with the construction year, use and storeys; default: the recognised names
        of :mod:`energy.demand.attributes` (3DBAG, BAG, CityGML, OSM).
    min_floor_area_m2 : float
        Buildings with less floor area are unconditioned and not simulated [m2].
    solar : BuildingIrradiance or CityModel, optional
        Shaded hourly irradiance from :func:`energy.solar.building_irradiance` (same weather),
        or the model written by ``citymodel solar`` (``irradiation_kwh_m2`` on roofs and walls),
        which scales the unshaded irradiance per building and orientation. Without it,
        unshaded Perez irradiance per orientation is used.
    hourly : bool
        Keep hourly series (memory ``4 x buildings x hours`` float32).
    block_size : int
        Buildings per block of the thermal model.
    ground_temperature_c : float or "air", optional
        A constant ground temperature [degC] instead of the seasonal one derived from the air;
        ``"air"``: the floor's outer side sees the outdoor air (a raised floor, ASHRAE 140-2020).
    air_density_kg_m3 : float, optional
        Air density of infiltration, ventilation and the zone air [kg/m3]; default: the
        weather's mean pressure at 20 degC.
    overheating_threshold_c : float
        Operative temperature above which a free-running hour counts as overheating [degC].
    free_running_twin : bool
        Count overheating hours on a twin of every building run without cooling (heating as
        scheduled); False counts them in the conditioned run (half the cost).
    max_site_distance_km : float or None
        Largest distance between the model and the weather site; None disables the check
        (see :func:`energy.weather.check_weather_site`).
    films : Films, optional
        Surface coefficients of the network; otherwise :func:`films_for_weather` (the
        :class:`Films` defaults with the exterior convection from the weather's wind).
    progress : bool
        Show a progress bar.

    Returns
    -------
    EnergyResult

    Raises
    ------
    WeatherError
        Unreadable weather, or a site farther than ``max_site_distance_km`` from the model.
    InputError
        No building can be simulated, bad archetype table, bad overrides.
    """

    df, meta = load_weather(weather, model)
    h_ce_from = "films argument"
    if films is None:
        films, h_ce_from = films_for_weather(df)
    site = check_weather_site(meta, model, max_site_distance_km, option_name="max_site_distance_km=")
    env = building_envelope(model)
    skipped = dict(env.problems)
    if skipped:
        warnings.warn(
            f"{len(skipped)} buildings skipped (e.g. {next(iter(skipped))!r}: "
            f"{next(iter(skipped.values()))}); see EnergyResult.skipped",
            EnergyWarning, stacklevel=2,
        )
    keep = np.array([b not in skipped for b in env.building_ids], dtype=bool)
    ids = [b for b, k in zip(env.building_ids, keep, strict=True) if k]
    if not ids:
        raise InputError(
            f"{model.source or 'model'}: no building can be simulated "
            f"({len(env.building_ids)} buildings; problems: {list(skipped.items())[:3]})"
        )
    env = Envelope(
        building_ids=ids,
        **{k: v[keep] for k, v in env.__dict__.items() if isinstance(v, np.ndarray)},
        problems={},
    )
    params, summary = building_parameters(
        model, ids, env, archetypes=archetypes, country=country, year_field=year_field,
        use_field=use_field, storeys_field=storeys_field, min_floor_area_m2=min_floor_area_m2)
    summary["weather_site"] = site
    summary["h_ce_wall_w_m2k"] = round(float(films.h_ce_wall), 2)
    summary["h_ce_wall_from"] = h_ce_from
    prov = params[["archetype", "archetype_from", "archetype_why"]].copy()
    cond = params["conditioned"].to_numpy(bool)
    skipped.update({b: w for b, w in zip(ids, params["archetype_why"], strict=True) if w.startswith("unconditioned")})
    ids = [b for b, c in zip(ids, cond, strict=True) if c]
    params = params[cond].copy()
    if not ids:
        raise InputError(
            f"{model.source or 'model'}: no building can be simulated: all {len(cond)} are "
            f"unconditioned (e.g. {list(skipped.items())[-1]}); see --min-floor-area-m2 and the use attribute"
        )
    env = Envelope(
        building_ids=ids,
        **{k: v[cond] for k, v in env.__dict__.items() if isinstance(v, np.ndarray)},
        problems={},
    )
    params["vent_m3_h"] = _extra_numeric(model, ids, "energy_vent_m3_h")
    params["internal_gain_w"] = _extra_numeric(model, ids, "energy_internal_gain_w")
    constructions, floor_area = build_constructions(env, params, films)
    forcing = forcing_from_weather(df)
    if isinstance(ground_temperature_c, str):
        if ground_temperature_c != "air":
            raise InputError(f"ground_temperature_c {ground_temperature_c!r}: give degC or 'air'")
        forcing.t_ground_c = forcing.t_out_c.copy()
    elif ground_temperature_c is not None:
        forcing.t_ground_c = np.full_like(forcing.t_out_c, float(ground_temperature_c))
    if air_density_kg_m3 is not None:
        forcing.rho_air_kg_m3 = float(air_density_kg_m3)
    oi = orientation_irradiance(df, meta)
    irr, irw, src = _irradiance_sources(model, ids, oi, solar)
    if isinstance(solar, CityModel):
        constructions.shading_factor = solar_shading_factors(solar, ids, oi)
    sched, sched_id = schedule_tables(params)

    with progress_bar(enabled=progress) as bar:
        task = bar.add_task("Energy demand", total=len(ids))
        res = run_thermal(
            constructions, forcing, sched, sched_id, irr, irw, src,
            hourly=hourly, free_running_twin=free_running_twin,
            t_overheat_c=overheating_threshold_c, block_size=block_size, films=films,
            progress=lambda n: bar.advance(task, n),
        )
    fa = np.where(floor_area > 0, floor_area, np.nan)
    out = pd.DataFrame(
        {
            "heating_demand_kwh": res.heating_wh / 1e3,
            "cooling_demand_kwh": res.cooling_wh / 1e3,
            "heating_demand_kwh_m2": res.heating_wh / 1e3 / fa,
            "cooling_demand_kwh_m2": res.cooling_wh / 1e3 / fa,
            "peak_heating_kw": res.peak_heating_w / 1e3,
            "peak_cooling_kw": res.peak_cooling_w / 1e3,
            "floor_area_m2": floor_area,
            "overheating_hours": res.overheating_h,
            "t_air_max_c": res.t_air_max_c,
            "t_air_min_c": res.t_air_min_c,
            "t_air_mean_c": res.t_air_mean_c,
            "t_op_max_c": res.t_op_max_c,
            "archetype_id": params["archetype_id"].to_numpy(),
            "archetype_default": params["archetype_default"].to_numpy(),
            "archetype_from": params["archetype_from"].to_numpy(),
            "building_type": params["building_type"].to_numpy(),
            "window_area_m2": constructions.area_window_m2.sum(axis=1),
            "party_wall_area_m2": env.party_wall_area_m2,
            "volume_m3": env.volume_m3,
        },
        index=pd.Index(ids, name="building_id"),
    )
    return EnergyResult(table=out, hourly=res.hourly, times=df.index, weather_meta=meta, skipped=skipped,
                        provenance=prov, summary=summary)
