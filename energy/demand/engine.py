"""Run the thermal model over blocks of buildings: weather forcing, schedules, the kernel.

:func:`run_thermal` is the one entry point below :func:`energy.demand.simulate.simulate` and
:func:`energy.demand.bestest.run_case`: it builds the modal model of a block of buildings,
steps it through the year in the numba kernel, and keeps only per-building sums unless hourly
series are asked for (memory ``O(block)``, not ``O(buildings x hours)``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from citymodel.errors import InputError, WeatherError
from energy.demand import _kernels
from energy.demand.model import Constructions, Films, build_modal_model, solar_weights

__all__ = ["Forcing", "Schedules", "ThermalResult", "combine_solar", "forcing_from_weather", "run_thermal", "OFF_HEAT_C", "OFF_COOL_C"]

#: Largest block when nine irradiance series per building are combined block by block
#: (the block's (block, 3, nh) float32 buffer: 105 MB for a year).
MAX_COMBINED_BLOCK = 1024
#: Setpoints meaning "no heating" / "no cooling" [degC].
OFF_HEAT_C = -999.0
OFF_COOL_C = 999.0


@dataclass
class Forcing:
    """Weather series shared by all buildings (length nh).

    Attributes
    ----------
    t_out_c, t_sky_c, t_ground_c : (nh,) float64
        Outdoor air, effective sky and ground temperature [degC].
    hour_of_day : (nh,) int64
        Hour starting the interval, local standard time (0..23).
    day_type : (nh,) int64
        0 weekday, 1 weekend.
    rho_air_kg_m3 : float
        Mean air density at the site [kg/m3].
    index : DatetimeIndex
        The weather's hour-ending stamps.
    """

    t_out_c: np.ndarray
    t_sky_c: np.ndarray
    t_ground_c: np.ndarray
    hour_of_day: np.ndarray
    day_type: np.ndarray
    rho_air_kg_m3: float
    index: pd.DatetimeIndex


@dataclass
class Schedules:
    """Hourly schedule tables, one row per schedule (weekday/weekend x 24 hours).

    Attributes
    ----------
    names : list[str]
    gain_frac, t_heat_c, t_cool_c, vent_frac : (n_sched, 2, 24) float64
        Internal gains fraction, heating/cooling setpoints [degC] (:data:`OFF_HEAT_C`,
        :data:`OFF_COOL_C` = off), ventilation fraction.
    vent_when_cooler : (n_sched,) int64
        1: ventilate only while outdoor air is cooler than zone air (night cooling).
    """

    names: list[str]
    gain_frac: np.ndarray
    t_heat_c: np.ndarray
    t_cool_c: np.ndarray
    vent_frac: np.ndarray
    vent_when_cooler: np.ndarray

    @classmethod
    def constant(cls, name: str, t_heat_c: float, t_cool_c: float) -> Schedules:
        """One schedule: full gains all day, fixed setpoints, no ventilation."""
        ones = np.ones((1, 2, 24))
        return cls([name], ones.copy(), ones * t_heat_c, ones * t_cool_c, np.zeros((1, 2, 24)),
                   np.zeros(1, np.int64))


@dataclass
class ThermalResult:
    """Per-building results of :func:`run_thermal` (arrays of length nb).

    ``hourly`` is ``(4, nb, nh) float32`` (heating W, cooling W, air degC, operative degC)
    when asked for, else None. ``seconds_setup`` / ``seconds_kernel``: wall time spent
    building the modal models and stepping them.
    """

    heating_wh: np.ndarray
    cooling_wh: np.ndarray
    peak_heating_w: np.ndarray
    peak_cooling_w: np.ndarray
    overheating_h: np.ndarray
    t_air_max_c: np.ndarray
    t_air_min_c: np.ndarray
    t_air_mean_c: np.ndarray
    t_op_max_c: np.ndarray
    t_op_min_c: np.ndarray
    t_op_mean_c: np.ndarray
    hourly: np.ndarray | None = None
    seconds_setup: float = 0.0
    seconds_kernel: float = 0.0


def forcing_from_weather(weather: pd.DataFrame, *, ground: str = "ground") -> Forcing:
    """Derive the shared forcing from a weather table.

    The sky temperature comes from the long-wave horizontal irradiance
    (``(IR / sigma)^0.25``; Swinbank's ``0.0552 T^1.5`` where missing). The ground temperature
    is the outdoor air filtered with a 30-day running mean and lagged by 30 days, damped by half
    around the annual mean (a simple stand-in for ISO 13370's seasonal ground response).

    Parameters
    ----------
    weather : DataFrame
        From :func:`energy.weather.read_epw` or :func:`energy.weather.clearsky_weather`.
    ground : {"ground", "air"}
        ``"air"`` makes the ground temperature the outdoor air (ASHRAE 140's raised floor).
    """
    if "t_air_c" not in weather:
        raise WeatherError("weather lacks t_air_c; read it with energy.weather.read_epw")
    t = weather["t_air_c"].to_numpy(float)
    if not np.all(np.isfinite(t)):
        t = pd.Series(t).interpolate(limit_direction="both").to_numpy()
    if not np.all(np.isfinite(t)):
        raise WeatherError("weather has no usable air temperature")
    ir = weather["ir_horizontal_w_m2"].to_numpy(float) if "ir_horizontal_w_m2" in weather else np.full(len(t), np.nan)
    t_sky_k = np.where(np.isfinite(ir) & (ir > 50), (np.maximum(ir, 1.0) / 5.670374419e-8) ** 0.25,
                       0.0552 * (t + 273.15) ** 1.5)
    if ground == "air":
        t_ground = t.copy()
    else:
        n = len(t)
        win = min(720, n)
        run = np.convolve(np.concatenate([t[-win:], t]), np.ones(win) / win, mode="valid")[1:]
        lag = np.roll(run, min(720, n - 1))
        t_ground = t.mean() + 0.5 * (lag - t.mean())
    p = weather["pressure_pa"].to_numpy(float) if "pressure_pa" in weather else np.full(len(t), 101325.0)
    p_mean = float(np.nanmean(p)) if np.any(np.isfinite(p)) else 101325.0
    rho = p_mean / (287.05 * (273.15 + 20.0))
    start = weather.index - pd.Timedelta(hours=1)
    return Forcing(
        t_out_c=np.ascontiguousarray(t),
        t_sky_c=t_sky_k - 273.15,
        t_ground_c=np.ascontiguousarray(t_ground),
        hour_of_day=np.asarray(start.hour, np.int64),
        day_type=(np.asarray(start.day_of_week) >= 5).astype(np.int64),
        rho_air_kg_m3=rho,
        index=weather.index,
    )


def combine_solar(
    constructions: Constructions,
    irradiance_w_m2: np.ndarray,
    window_irradiance_w_m2: np.ndarray,
    source_index: np.ndarray | None = None,
    *,
    films: Films | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """The three solar inputs of the model per building, for :func:`run_thermal`.

    Same physics as handing over the nine irradiance series: the wall and roof sol-air
    increments [K] and the window solar gain [W] are the per-surface series weighted by
    :func:`energy.demand.model.solar_weights`, computed once here (in parallel over the
    buildings, no intermediate arrays) instead of in the kernel. :func:`run_thermal` does the
    same block by block when it is handed the nine series per building.

    Parameters
    ----------
    constructions : Constructions
        nb buildings.
    irradiance_w_m2 : (n_src, 5, nh) float32
        Opaque irradiance roof, N, E, S, W [W/m2].
    window_irradiance_w_m2 : (n_src, 4, nh) float32
        SHGC-weighted window irradiance N, E, S, W [W/m2].
    source_index : (nb,) int, optional
        Row of the irradiance arrays of each building (default: the building's own row,
        ``n_src == nb``). Rows shared by several buildings (e.g. one unshaded series with
        ``Constructions.shading_factor`` per building) are read in place, never copied.
    out : (nb, 3, nh) float32, optional
        Buffer to write into.

    Returns
    -------
    (nb, 3, nh) float32
        Wall solar [K], roof solar [K], window solar [W].
    """
    w = np.ascontiguousarray(solar_weights(constructions, films=films), dtype=np.float32)
    irr = np.ascontiguousarray(irradiance_w_m2, np.float32)
    irw = np.ascontiguousarray(window_irradiance_w_m2, np.float32)
    nb_ = constructions.n
    if irr.ndim != 3 or irr.shape[1] != 5 or irw.shape != (irr.shape[0], 4, irr.shape[2]):
        raise InputError(f"irradiance must be (n_src, 5, nh) and (n_src, 4, nh), got {irr.shape} and {irw.shape}")
    if source_index is None:
        if irr.shape[0] != nb_:
            raise InputError(f"irradiance has {irr.shape[0]} rows for {nb_} buildings; give source_index")
        source_index = np.arange(nb_, dtype=np.int64)
    source_index = np.ascontiguousarray(source_index, dtype=np.int64)
    if source_index.shape != (nb_,) or (nb_ and (source_index.min() < 0 or source_index.max() >= irr.shape[0])):
        raise InputError("source_index must give every building a row of the irradiance arrays")
    if out is None:
        out = np.empty((nb_, 3, irr.shape[2]), np.float32)
    elif out.shape != (nb_, 3, irr.shape[2]) or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise InputError(f"out must be a C-contiguous float32 array of shape ({nb_}, 3, {irr.shape[2]}), got {out.shape}")
    _kernels.combine_rows(w, source_index, irr, irw, out)
    return out


def _take(c: Constructions, sl: slice) -> Constructions:
    return Constructions(**{k: (None if v is None else np.asarray(v)[sl]) for k, v in c.__dict__.items()})


def run_thermal(
    constructions: Constructions,
    forcing: Forcing,
    schedules: Schedules,
    schedule_id: np.ndarray,
    irradiance_w_m2: np.ndarray,
    window_irradiance_w_m2: np.ndarray,
    source_index: np.ndarray | None = None,
    *,
    hourly: bool = False,
    free_running_twin: bool = True,
    t_overheat_c: float = 26.0,
    block_size: int = 4096,
    films: Films | None = None,
    n_warmup_h: int = 720,
    lam_min: float = 0.1,
    dtype: type = np.float32,
    hour_major: bool = False,
    progress=None,
) -> ThermalResult:
    """Simulate ``nb`` buildings through the weather's hours, block by block.

    Parameters
    ----------
    constructions : Constructions
        Envelope of nb buildings.
    forcing : Forcing
        Shared weather series (nh hours).
    schedules : Schedules
        Schedule tables; ``schedule_id (nb,) int`` picks each building's row.
    irradiance_w_m2 : (n_src, 5, nh) float32
        Opaque-surface irradiance roof, N, E, S, W [W/m2]; or ``(nb, 3, nh)``: the combined
        solar forcing of :func:`combine_solar` (one row per building, fewer bytes to read).
    window_irradiance_w_m2 : (n_src, 4, nh) float32
        SHGC(theta)/SHGC(0)-weighted window irradiance N, E, S, W [W/m2] (ignored with the
        combined forcing).
    source_index : (nb,) int, optional
        Row of the irradiance arrays for each building (default: all 0 when n_src == 1, else
        the building's own row).
    hourly : bool
        Keep hourly series (``(4, nb, nh) float32``).
    free_running_twin : bool
        Also run every building without cooling to count overheating hours (doubles the cost).
    block_size : int
        Buildings per block (memory ``O(block_size x nodes^2)``).
    lam_min : float
        Modes decaying faster than this per hour are treated as instantaneous (quasi-steady
        feed-through). 0.1 moves the ASHRAE 140 results by at most 0.04 % of annual demand
        and peaks (0.1 % of the 0.77 C minimum of Case 900FF) against 0.05, and steps a
        quarter fewer modes.
    dtype : numpy float type
        Precision of the modal state in the kernel (sums are always float64).
    hour_major : bool
        The irradiance arrays are given hour-major, ``(nh, 5, n_src)`` and ``(nh, 4, n_src)``
        (copied to building-major per block).
    progress : callable, optional
        Called with the number of buildings done after each block.
    """
    nb_ = constructions.n
    nh = len(forcing.t_out_c)
    irr = np.asarray(irradiance_w_m2, dtype=np.float32)
    irw = np.asarray(window_irradiance_w_m2, dtype=np.float32)
    if hour_major:
        irr = irr.transpose(2, 1, 0)
        irw = irw.transpose(2, 1, 0)
    irr = np.ascontiguousarray(irr)
    irw = np.ascontiguousarray(irw)
    combined = irr.ndim == 3 and irr.shape[1] == 3
    if combined:  # pre-weighted wall, roof, window solar (combine_solar): no window rows
        if irr.shape[2] != nh:
            raise InputError(f"combined solar forcing must have shape (n_src, 3, {nh}), got {irr.shape}")
        irw = np.zeros((0, 4, nh), np.float32)
    elif irr.ndim != 3 or irr.shape[1:] != (5, nh):
        raise InputError(f"irradiance must have shape (n_src, 5, {nh}), got {irr.shape}")
    if not combined and irw.shape != (irr.shape[0], 4, nh):
        raise InputError(f"window irradiance must have shape ({irr.shape[0]}, 4, {nh}), got {irw.shape}")
    if source_index is None:
        source_index = np.zeros(nb_, np.int64) if irr.shape[0] == 1 else np.arange(nb_)
    source_index = np.asarray(source_index, np.int64)
    if source_index.shape != (nb_,) or (nb_ and (source_index.min() < 0 or source_index.max() >= irr.shape[0])):
        raise InputError("source_index must give every building a row of the irradiance arrays")
    schedule_id = np.asarray(schedule_id, np.int64)
    if schedule_id.shape != (nb_,) or (nb_ and (schedule_id.min() < 0 or schedule_id.max() >= len(schedules.names))):
        raise InputError("schedule_id must give every building a row of the schedule tables")
    out = np.zeros((12, nb_))
    hourly_arr = np.zeros((4, nb_, nh), np.float32) if hourly else np.zeros((4, 1, 1), np.float32)
    sched = [np.ascontiguousarray(a, dtype=np.float64) for a in
             (schedules.gain_frac, schedules.t_heat_c, schedules.t_cool_c, schedules.vent_frac)]
    timing = [0.0, 0.0]
    shared = irr.shape[0] == 1
    if shared and combined:
        raise InputError("combined solar forcing is per building; give one row per building")
    irr_s = np.ascontiguousarray(np.concatenate([irr[0], irw[0]], axis=0).T) if shared else np.zeros((nh, 9), np.float32)
    empty = np.zeros((0, 5, nh), np.float32), np.zeros((0, 4, nh), np.float32)
    if not shared and not combined:
        # the nine series are combined block by block into (block, 3, nh) (memory-bounded blocks)
        block_size = min(block_size, MAX_COMBINED_BLOCK)
        comb_buf = np.empty((min(block_size, nb_), 3, nh), np.float32)
    for b0 in range(0, nb_, block_size):  # blocks of buildings, not single buildings
        sl = slice(b0, min(nb_, b0 + block_size))
        t0 = time.perf_counter()
        cb = _take(constructions, sl)
        mm = build_modal_model(cb, rho_air_kg_m3=forcing.rho_air_kg_m3, films=films, lam_min=lam_min)
        t1 = time.perf_counter()
        timing[0] += t1 - t0
        res = np.zeros((12, sl.stop - b0))
        hv = np.zeros((4, sl.stop - b0, nh), np.float32) if hourly else hourly_arr
        # order the block by its number of slow modes, so that each chunk of the kernel
        # steps only as many modes as its slowest building needs
        order = np.argsort((mm.lam > 0).sum(axis=0), kind="stable")
        if shared:
            irr_b, irw_b, src_b = empty[0], empty[1], np.zeros(sl.stop - b0, np.int64)
        elif combined:  # per-building rows, read in place
            irr_b, irw_b, src_b = irr, irw, np.ascontiguousarray(source_index[sl][order])
        else:  # nine series per building: this block's three weighted series (combine_solar)
            irr_b, irw_b = comb_buf[: sl.stop - b0], empty[1]
            src_b = np.arange(sl.stop - b0, dtype=np.int64)
            w = solar_weights(cb, films=films)[:, order]
            _kernels.combine_rows(np.ascontiguousarray(w, dtype=np.float32),
                                  np.ascontiguousarray(source_index[sl][order]), irr, irw, irr_b)
        _kernels.simulate_block(
            *(np.ascontiguousarray(a[..., order], dtype=dtype)
              for a in (mm.lam, mm.gin, mm.gq, mm.cout, mm.dfeed, mm.dq, mm.coef)),
            np.ascontiguousarray(schedule_id[sl][order]), irr_s, src_b, irr_b, irw_b,
            forcing.t_out_c, forcing.t_sky_c, forcing.t_ground_c, forcing.hour_of_day, forcing.day_type,
            sched[0], sched[1], sched[2], sched[3], np.asarray(schedules.vent_when_cooler, np.int64),
            bool(free_running_twin), float(t_overheat_c), int(min(n_warmup_h, nh)),
            res, bool(hourly), hv,
        )
        if hourly:
            hourly_arr[:, b0 + order] = hv
        out[:, b0 + order] = res
        timing[1] += time.perf_counter() - t1
        if progress is not None:
            progress(sl.stop - b0)
    n_rec = np.maximum(out[11], 1.0)
    return ThermalResult(
        heating_wh=out[0], cooling_wh=out[1], peak_heating_w=out[2], peak_cooling_w=out[3],
        overheating_h=out[4], t_air_max_c=out[5], t_air_min_c=out[6], t_air_mean_c=out[7] / n_rec,
        t_op_max_c=out[8], t_op_min_c=out[9], t_op_mean_c=out[10] / n_rec,
        hourly=hourly_arr if hourly else None,
        seconds_setup=timing[0],
        seconds_kernel=timing[1],
    )
