"""What the surface temperature model needs that no scenario changes: period, sun, sky, indoors.

:func:`prepare_surfaces` does the expensive, scenario-independent work once:

- the **period** (``None``, ``"START:END"`` ISO dates inclusive, ``"hottest-3d"`` or a
  ``(start, end)`` pair) and the **spin-up** rows before it: the weather's own preceding days
  when the file has them, else the first day of the file repeated (a recorded fallback);
- the **shaded hourly irradiance** on every roof and wall from the solar solver
  (:func:`energy.solar.irradiate`, its ``hourly_path`` per-surface series, the same Embree
  solve as ``citymodel solar``: nothing is ray-cast twice) and each surface's cosine-weighted
  **sky view** (area mean of its sensors' ``sensor_sky_view``);
- the **indoor air temperature** per building and hour from the energy model
  (:func:`energy.demand.simulate.simulate` on the same weather rows, fed with the shaded
  irradiance per building group), or a constant given by the caller;
- the **constructions** per surface from the archetypes (U-value, areal heat capacity, solar
  absorptance ``alpha_roof`` / ``alpha_wall``; per-building ``energy_roof_layers`` /
  ``energy_wall_layers`` lists when set);
- the **sky long-wave** ``L_down`` from the weather's ``ir_horizontal_w_m2``; hours where it is
  missing (NaN or <= 50 W/m2) use the Berdahl & Martin (1984) clear-sky emissivity
  ``0.711 + 0.0056 T_dew + 7.3e-5 T_dew^2`` times ``sigma T_air^4`` (the formula of
  :func:`energy.weather.clearsky_weather`), counted in ``attrs["fallbacks"]``.

Scenarios (:func:`microclimate.surfaces.surface_temperatures` with ``overrides``) reuse one
:class:`SurfaceInputs`.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from citymodel.errors import InputError, WeatherError
from citymodel.model import CityModel
from citymodel.surfaces import SurfaceTable
from energy.demand.archetypes import assign_archetypes, load_archetypes
from energy.demand.simulate import simulate
from energy.solar import irradiate
from energy.weather import load_weather

__all__ = ["SurfaceInputs", "indoor_air_c", "prepare_surfaces", "select_period",
           "sky_longwave_w_m2"]

log = logging.getLogger(__name__)

SIGMA_W_M2K4 = 5.670374419e-8
#: Sky view below which a surface is closed off (a party wall): as the solar solver.
ENCLOSED_SKY_VIEW = 0.005
#: Weather columns the surface balance reads.
REQUIRED_COLUMNS = ("ghi_w_m2", "dni_w_m2", "dhi_w_m2", "t_air_c", "wind_speed_m_s",
                    "pressure_pa")


@dataclass
class SurfaceInputs:
    """Scenario-independent inputs of :func:`microclimate.surfaces.surface_temperatures`.

    ``n`` surfaces (the building roofs and walls of the solar solver's surface table),
    ``h`` weather rows (spin-up rows found in the weather, then the period).

    Attributes
    ----------
    table : SurfaceTable
        The solar solver's building surface table; ``rows`` index it.
    rows : (n,) int64
        Table row of each surface.
    kind : (n,) int8
        0 roof, 1 wall.
    building_index : (n,) int64
        Index into ``building_ids`` of each surface's top-level building.
    building_ids : list[str]
    weather : DataFrame
        The ``h`` weather rows used (glossary columns of :mod:`energy.weather`).
    meta : dict
        Weather metadata.
    sequence : (n_spin + n_times,) int64
        Weather rows in the order they are run: spin-up, then the period.
    n_spin : int
        Spin-up steps at the start of ``sequence``.
    irradiance_w_m2 : (n, h) float32
        Shaded global irradiance on each surface, hour means [W/m2].
    sky_view : (n,) float64
        Cosine-weighted open-sky view of each surface (0..1).
    ldown_w_m2 : (h,) float64
        Long-wave sky irradiance on the horizontal [W/m2].
    t_indoor_c : (n_buildings, h) float32
        Indoor air temperature [degC].
    u_w_m2k, kappa_kj_m2k, alpha : (n,) float64
        The archetype's U-value [W/m2K], internal areal heat capacity [kJ/m2K] and solar
        absorptance of each surface's construction (roof or wall).
    layer_lists : list
        Per surface, an ``energy_*_layers`` list ``[[d_m, k_w_mk, rho_kg_m3, cp_j_kgk], ...]``
        overriding ``u``/``kappa``, or None.
    attrs : dict
        Sources, fallbacks and timings.
    indoor, archetypes : as given to :func:`prepare_surfaces`
    solar_buildings : BuildingIrradiance
        The solar solver's hourly irradiance per building group (to re-run the energy model).
    """

    table: SurfaceTable
    rows: np.ndarray
    kind: np.ndarray
    building_index: np.ndarray
    building_ids: list[str]
    weather: pd.DataFrame
    meta: dict[str, Any]
    sequence: np.ndarray
    n_spin: int
    irradiance_w_m2: np.ndarray
    sky_view: np.ndarray
    ldown_w_m2: np.ndarray
    t_indoor_c: np.ndarray
    u_w_m2k: np.ndarray
    kappa_kj_m2k: np.ndarray
    alpha: np.ndarray
    layer_lists: list
    attrs: dict[str, Any] = field(default_factory=dict)
    indoor: Any = "energy"
    archetypes: Any = "IT"
    solar_buildings: Any = None

    @property
    def times(self) -> pd.DatetimeIndex:
        """Hour-ending stamps of the reported period."""
        return self.weather.index[self.sequence[self.n_spin:]]

    @property
    def enclosed(self) -> np.ndarray:
        """(n,) bool: closed-off surfaces (party walls, sky view < 0.005)."""
        return self.sky_view < ENCLOSED_SKY_VIEW


def _day_of_rows(index: pd.DatetimeIndex) -> np.ndarray:
    """Calendar day each hour-ending row belongs to (its start of hour), as datetime64[D]."""
    start = index - pd.Timedelta(hours=1)
    return np.asarray(start.tz_localize(None) if start.tz is not None else start,
                      dtype="datetime64[h]").astype("datetime64[D]")


def select_period(weather: pd.DataFrame, period: Any, *, source: str = "weather"
                  ) -> tuple[int, int]:
    """Rows ``[a, b)`` of ``weather`` in ``period``.

    Parameters
    ----------
    weather : DataFrame
        Hourly rows with hour-ending stamps (a day's hours end at 01:00 .. 24:00).
    period : None, str or (start, end)
        None: every row. ``"START:END"``: ISO dates, both days included. ``"hottest-Nd"``
        (e.g. ``"hottest-3d"``): the ``N`` consecutive whole days with the highest mean daily
        maximum air temperature (the first such run on a tie). A ``(start, end)`` pair of
        dates or timestamps, both included.
    source : str
        Name of the weather for messages.

    Returns
    -------
    (a, b) : int
    """
    n = len(weather)
    if n == 0:
        raise WeatherError(f"{source}: the weather has no rows")
    if period is None:
        return 0, n
    day = _day_of_rows(weather.index)
    if isinstance(period, str) and period.strip().lower().startswith("hottest-"):
        txt = period.strip().lower()[len("hottest-"):]
        try:
            nd = int(txt.rstrip("d"))
        except ValueError:
            raise InputError(f"--period {period!r}: use hottest-3d (a number of days)") from None
        days, first, counts = np.unique(day, return_index=True, return_counts=True)
        t = weather["t_air_c"].to_numpy(float)
        tmax = np.maximum.reduceat(t, first)
        whole = counts == 24
        if nd < 1 or days.size < nd:
            raise WeatherError(f"{source}: --period {period}: the weather has {days.size} days")
        run = np.convolve(np.where(whole, tmax, np.nan), np.ones(nd) / nd, mode="valid")
        consecutive = (days[nd - 1:] - days[: days.size - nd + 1]).astype(int) == nd - 1
        run = np.where(consecutive & np.isfinite(run), run, -np.inf)
        if not np.isfinite(run).any():
            raise WeatherError(f"{source}: --period {period}: no {nd} consecutive whole days")
        k = int(np.argmax(run))
        lo, hi = days[k], days[k + nd - 1]
    else:
        if isinstance(period, str):
            parts = period.split(":") if period.count(":") == 1 else period.split("/")
            if len(parts) != 2:
                raise InputError(f"--period {period!r}: use START:END (ISO dates) or hottest-3d")
            period = tuple(parts)
        try:
            lo, hi = (np.datetime64(pd.Timestamp(p).date(), "D") for p in period)
        except (ValueError, TypeError):
            raise InputError(f"--period {period!r}: START and END must be ISO dates") from None
    sel = np.flatnonzero((day >= lo) & (day <= hi))
    if sel.size == 0 or lo > hi:
        raise WeatherError(
            f"{source}: --period {lo}:{hi} is outside the weather, which covers {day[0]} to "
            f"{day[-1]}; choose dates inside it")
    if day[0] > lo or day[-1] < hi:
        raise WeatherError(
            f"{source}: --period {lo}:{hi} is not fully inside the weather ({day[0]} to "
            f"{day[-1]}); choose dates inside it")
    return int(sel[0]), int(sel[-1]) + 1


def sky_longwave_w_m2(weather: pd.DataFrame) -> tuple[np.ndarray, int]:
    """Long-wave sky irradiance on the horizontal ``(h,)`` [W/m2] and the count of filled hours.

    ``ir_horizontal_w_m2`` where it is finite and > 50 W/m2, else Berdahl & Martin's clear-sky
    emissivity (from ``t_dew_c``, or from ``t_air_c`` and ``rh_percent``) times
    ``sigma T_air^4``.
    """
    t = weather["t_air_c"].to_numpy(float)
    if "ir_horizontal_w_m2" in weather:
        ir = weather["ir_horizontal_w_m2"].to_numpy(float)
    else:
        ir = np.full(t.size, np.nan)
    bad = ~(np.isfinite(ir) & (ir > 50.0))
    if bad.any():
        if "t_dew_c" in weather and np.isfinite(weather["t_dew_c"].to_numpy(float)[bad]).all():
            td = weather["t_dew_c"].to_numpy(float)
        elif "rh_percent" in weather:
            rh = np.clip(weather["rh_percent"].to_numpy(float), 1.0, 100.0)
            g = np.log(rh / 100.0) + 17.625 * t / (243.04 + t)
            td = 243.04 * g / (17.625 - g)
        else:
            td = t - 8.0
        eps = 0.711 + 0.0056 * td + 7.3e-5 * td ** 2
        ir = np.where(bad, eps * SIGMA_W_M2K4 * (t + 273.15) ** 4, ir)
    return ir, int(bad.sum())


def _check_columns(df: pd.DataFrame, rows: slice, source: str) -> None:
    for c in REQUIRED_COLUMNS:
        if c not in df:
            raise WeatherError(f"{source}: the weather lacks column {c!r}; read it with "
                               "energy.weather.read_epw / load_weather")
        v = df[c].to_numpy(float)[rows]
        if not np.all(np.isfinite(v)):
            k = int(np.flatnonzero(~np.isfinite(v))[0])
            raise WeatherError(f"{source}: column {c!r} is missing (NaN/-999) at "
                               f"{df.index[rows][k]}; fill the gap or choose another --period")


def _hourly_per_surface(path: Path, n_rows: int, nh: int) -> np.ndarray:
    """(n_rows, nh) float32 from the solar solver's per-surface hourly Parquet file."""
    import pyarrow.parquet as pq

    tab = pq.read_table(path, columns=["surface", "irradiance_w_m2"])
    surf = tab.column("surface").to_numpy()
    val = tab.column("irradiance_w_m2").to_numpy()
    out = np.full((n_rows, nh), np.nan, dtype=np.float32)
    out[surf.reshape(-1, nh)[:, 0]] = val.reshape(-1, nh)
    return out


def _layer_list(v: Any) -> list | None:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return v


def prepare_surfaces(
    model: CityModel,
    weather: Any,
    meta: dict[str, Any] | None = None,
    *,
    period: Any = None,
    spinup_days: int = 2,
    indoor: str | float = "energy",
    archetypes: Any = "IT",
    sensor_spacing_m: float = 2.0,
    ground_albedo: float = 0.2,
    progress: Any = None,
) -> SurfaceInputs:
    """Period, shaded irradiance, sky views, indoor temperatures and constructions per surface.

    Parameters
    ----------
    model : CityModel
        Buildings with roof and wall semantics (terrain and trees, when present, shade them),
        in a projected metric CRS.
    weather : DataFrame, str or PathLike
        Hourly weather with the glossary columns of :mod:`energy.weather` (hour-ending stamps),
        or an EPW path, or ``"clearsky"`` (then ``meta`` is not needed).
    meta : dict, optional
        The weather's metadata (``latitude``, ``longitude``, ``tz_offset_h``, ...); required
        with a DataFrame.
    period : None, str or (start, end)
        Reported period, see :func:`select_period`.
    spinup_days : int
        Days run before the period and discarded (>= 0).
    indoor : "energy" or float
        ``"energy"``: run the energy model on the same weather rows; a number: a constant
        indoor air temperature [degC].
    archetypes : "IT", path or DataFrame
        Archetype table for the constructions (as :func:`energy.demand.simulate.simulate`).
    sensor_spacing_m : float
        Spacing of the solar solver's sensors on roofs and walls [m].
    ground_albedo : float
        Albedo of what a surface sees that is not sky, for reflected shortwave (0..1).
    progress : bool or callable, optional
        True shows the solvers' progress bars; a callable is called as
        ``progress(stage, done, total)`` (the heat engine's convention) after each stage
        (``"solar"``, ``"indoor"``; ``total`` 3, the balance being the third).

    Returns
    -------
    SurfaceInputs
    """
    import time

    t0 = time.perf_counter()
    say = progress if callable(progress) else (lambda stage, done, total: None)
    bars = bool(progress) and not callable(progress)
    src = str(weather) if not isinstance(weather, pd.DataFrame) else (
        (meta or {}).get("source") or "weather")
    if isinstance(weather, pd.DataFrame):
        if meta is None:
            raise InputError("surface_temperatures: a weather DataFrame needs its meta dict "
                             "(latitude, longitude, tz_offset_h)")
        df = weather
        if not isinstance(df.index, pd.DatetimeIndex) or df.index.tz is None:
            raise WeatherError(f"{src}: the weather needs a timezone-aware DatetimeIndex of "
                               "hour-ending stamps (local standard time, e.g. UTC+01:00), as "
                               "energy.weather.read_epw returns; localise it first")
    else:
        df, meta = load_weather(weather, model)
    if int(spinup_days) < 0:
        raise InputError(f"spinup_days must be >= 0, got {spinup_days}")
    fallbacks: list[str] = []
    a, b = select_period(df, period, source=src)
    want = 24 * int(spinup_days)
    a0 = max(0, a - want)
    n_repeat_days = int(np.ceil((want - (a - a0)) / 24)) if want > a - a0 else 0
    if n_repeat_days:
        msg = (f"{src}: {a - a0} h of weather before the period, {want} h of spin-up asked: "
               f"the first day of the rows used is repeated {n_repeat_days} time(s) first")
        log.info(msg)
        fallbacks.append(msg)
    frame = df.iloc[a0:b]
    _check_columns(df, slice(a0, b), src)
    first_day = np.arange(min(24, len(frame)))
    seq = np.concatenate([np.tile(first_day, n_repeat_days), np.arange(len(frame))])
    n_spin = int(seq.size - (b - a))
    ldown, n_filled = sky_longwave_w_m2(frame)
    if n_filled:
        msg = (f"{src}: {n_filled} h without ir_horizontal_w_m2: Berdahl-Martin clear-sky "
               "long-wave used (too cold under clouds)")
        log.warning(msg)
        fallbacks.append(msg)

    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="citymodel_surf_") as tmp:
        hp = Path(tmp) / "hourly.parquet"
        sol = irradiate(model, (frame, meta), sensor_spacing_m=sensor_spacing_m,
                        albedo=ground_albedo, building_hourly=True, hourly_path=hp,
                        progress=bars)
        table = sol.table
        irr_all = _hourly_per_surface(hp, len(table), len(frame))
    t_solar = time.perf_counter() - t1
    say("solar", 1, 3)
    rows = np.flatnonzero(sol.kind >= 0).astype(np.int64)
    kind = sol.kind[rows].astype(np.int8)
    irr = np.ascontiguousarray(irr_all[rows])
    if not np.all(np.isfinite(irr)):
        raise InputError(f"{model.source or 'model'}: the solar solver returned no hourly "
                         "irradiance for some surfaces")
    s_surf = sol.sensors.surface
    wsum = np.bincount(s_surf, weights=sol.sensors.area_m2, minlength=len(table))
    vsum = np.bincount(s_surf, weights=sol.sensors.area_m2 * sol.sensor_sky_view,
                       minlength=len(table))
    sky_view = np.clip(vsum[rows] / np.where(wsum[rows] > 0, wsum[rows], 1.0), 0.0, 1.0)

    bids = model.building_ids()
    pos = {r: i for i, r in enumerate(bids)}
    root_b = np.array([pos.get(r, -1) for r in table.root_ids], dtype=np.int64)
    b_index = root_b[table.root_index[rows]]
    if np.any(b_index < 0):
        keep = b_index >= 0
        msg = f"{int((~keep).sum())} surfaces belong to no top-level Building and are left out"
        log.warning(msg)
        fallbacks.append(msg)
        rows, kind, irr, sky_view, b_index = (x[keep] for x in (rows, kind, irr, sky_view,
                                                                 b_index))

    # constructions from the archetypes
    tab = load_archetypes(archetypes) if not isinstance(archetypes, pd.DataFrame) else archetypes
    overrides = None
    if "archetype_id" not in tab.columns:
        overrides, tab = tab, load_archetypes("IT")
    params = assign_archetypes(model, bids, tab, overrides)
    roof = kind == 0
    col = {k: params[k].to_numpy(float)[b_index] for k in (
        "u_roof_w_m2k", "u_wall_w_m2k", "kappa_roof_kj_m2k", "kappa_wall_kj_m2k",
        "alpha_roof", "alpha_wall")}
    u = np.where(roof, col["u_roof_w_m2k"], col["u_wall_w_m2k"])
    kappa = np.where(roof, col["kappa_roof_kj_m2k"], col["kappa_wall_kj_m2k"])
    alpha = np.where(roof, col["alpha_roof"], col["alpha_wall"])
    rl, wl = list(params["roof_layers"]), list(params["wall_layers"])
    layer_lists = [_layer_list(rl[bi] if r else wl[bi]) for bi, r in zip(b_index, roof,
                                                                       strict=True)]

    # indoor air
    t2 = time.perf_counter()
    if isinstance(indoor, str) and indoor != "energy":
        raise InputError(f"indoor must be 'energy' or a temperature in degC, got {indoor!r}")
    t_in, indoor_src, msgs = indoor_air_c(model, frame, meta, bids, b_index, indoor=indoor,
                                          archetypes=archetypes, solar=sol.buildings,
                                          params=params)
    fallbacks += msgs
    say("indoor", 2, 3)
    attrs = {
        "weather_source": meta.get("source", src),
        "period": [str(df.index[a]), str(df.index[b - 1])],
        "spinup_hours": n_spin,
        "spinup_rows_from_weather": a - a0,
        "irradiance": "energy.solar.irradiate (Embree, Perez 1990 sky, shading by buildings, "
                      f"terrain, trees), sensors every {sensor_spacing_m} m, ground albedo "
                      f"{ground_albedo}",
        "sky_view": "area mean of the solar sensors' cosine-weighted open-sky view",
        "ldown": "weather ir_horizontal_w_m2" + (
            f"; {n_filled} h Berdahl-Martin clear-sky" if n_filled else ""),
        "indoor": indoor_src,
        "constructions": "energy archetypes (u, kappa, alpha) via microclimate.layers."
                         "building_layers",
        "fallbacks": fallbacks,
        "solar_s": t_solar,
        "indoor_s": time.perf_counter() - t2,
        "prepare_s": time.perf_counter() - t0,
    }
    return SurfaceInputs(
        table=table, rows=rows, kind=kind, building_index=b_index, building_ids=bids,
        weather=frame, meta=meta, sequence=seq.astype(np.int64), n_spin=n_spin,
        irradiance_w_m2=irr, sky_view=sky_view, ldown_w_m2=ldown, t_indoor_c=t_in,
        u_w_m2k=u, kappa_kj_m2k=kappa, alpha=alpha, layer_lists=layer_lists, attrs=attrs,
        indoor=indoor, archetypes=archetypes, solar_buildings=sol.buildings,
    )


def _with_attributes(model: CityModel, changes: dict[str, dict[str, Any]]) -> CityModel:
    """A shallow copy of ``model`` whose listed objects get extra attributes."""
    objs = dict(model.city_objects)
    for oid, extra in changes.items():
        o = dict(objs[oid])
        o["attributes"] = {**(o.get("attributes") or {}), **extra}
        objs[oid] = o
    return dataclasses.replace(model, city_objects=objs)


def indoor_air_c(
    model: CityModel,
    weather: pd.DataFrame,
    meta: dict[str, Any],
    building_ids: list[str],
    building_index: np.ndarray,
    *,
    indoor: str | float = "energy",
    archetypes: Any = "IT",
    solar: Any = None,
    params: pd.DataFrame | None = None,
    alpha_roof: np.ndarray | None = None,
    alpha_wall: np.ndarray | None = None,
) -> tuple[np.ndarray, str, list[str]]:
    """Hourly indoor air temperature per building ``(n_buildings, h)`` float32 [degC].

    ``indoor="energy"`` runs :func:`energy.demand.simulate.simulate` (its conditioned run,
    archetype setpoints and schedules) on ``weather`` with the shaded irradiance ``solar``;
    ``alpha_roof`` / ``alpha_wall`` ``(n_buildings,)`` (NaN: unchanged) set the buildings'
    solar absorptances first (a scenario's albedo). Buildings the energy model skips get the
    others' hourly mean; if it cannot run at all, each building's cooling setpoint
    ``t_cool_c``. A number gives a constant. Returns the temperatures, a description of the
    source and the fallback messages.
    """
    nb = len(building_ids)
    nh = len(weather)
    if not isinstance(indoor, str):
        return (np.full((nb, nh), float(indoor), dtype=np.float32),
                f"constant {float(indoor)} degC (given)", [])
    changes: dict[str, dict[str, Any]] = {}
    for name, arr in (("energy_alpha_roof", alpha_roof), ("energy_alpha_wall", alpha_wall)):
        if arr is not None:
            for k in np.flatnonzero(np.isfinite(arr)):
                changes.setdefault(building_ids[k], {})[name] = float(arr[k])
    run_model = _with_attributes(model, changes) if changes else model
    msgs: list[str] = []
    try:
        res = simulate(run_model, (weather, meta), archetypes=archetypes, solar=solar,
                       hourly=True, free_running_twin=False)
    except WeatherError:
        raise
    except InputError as exc:  # no building the energy model can take: its setpoints
        if params is None:
            params = assign_archetypes(model, building_ids, load_archetypes("IT"))
        t_cool = params["t_cool_c"].to_numpy(float)
        msg = (f"the energy model could not run ({exc}); the indoor air is each building's "
               "cooling setpoint t_cool_c instead")
        log.warning(msg)
        return (np.repeat(t_cool[:, None], nh, axis=1).astype(np.float32),
                "archetype cooling setpoint t_cool_c (energy model failed)", [msg])
    pos = {b: i for i, b in enumerate(building_ids)}
    t_in = np.full((nb, nh), np.nan, dtype=np.float32)
    got = np.array([pos[i] for i in res.table.index], dtype=np.int64)
    t_in[got] = res.hourly[2]
    missing = np.setdiff1d(np.unique(building_index), got)
    if missing.size:
        t_in[missing] = np.nanmean(res.hourly[2], axis=0)
        first = building_ids[int(missing[0])]
        msg = (f"{missing.size} buildings the energy model skipped get the mean indoor air "
               f"temperature of the others (e.g. {first!r}: "
               f"{res.skipped.get(first, 'not simulated')})")
        log.warning(msg)
        msgs.append(msg)
    src = "energy.demand.simulate (hourly indoor air, same weather rows)"
    if changes:
        src += f", solar absorptance changed on {len(changes)} buildings"
    return t_in, src, msgs
