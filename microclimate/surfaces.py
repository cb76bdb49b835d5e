"""Hourly outer surface temperatures of every roof and wall of a city model.

Per surface (a polygon row of the solar solver's building surface table) and hour, the energy
balance of :func:`microclimate.surface_balance.surface_energy_balance` over the surface's
construction, with every flux positive towards the surface [W/m2]::

    q_sw + q_lw + q_conv + q_latent = q_cond       (q_cond: into the slab)

- ``q_sw = (1 - albedo) K``: ``K`` the shaded global irradiance from the solar solver
  (:mod:`microclimate.surface_inputs`); albedo ``1 - alpha_roof`` / ``1 - alpha_wall`` of the
  building's energy archetype unless given.
- ``q_lw = eps (svf L_down + (1 - svf) sigma eps_s T_surr^4) - eps sigma Ts^4`` with ``svf`` the
  surface's cosine-weighted open-sky view from the same ray casting and ``L_down`` the
  weather's horizontal long-wave. Approximations, stated: the sky a tilted surface sees
  radiates like the horizontal's hemisphere (a wall sees the warmer horizon sky, so walls
  lose slightly too much); whatever is not sky (ground, other buildings, tree crowns) is a
  black-ish body (``eps_s = 0.95``) at the **air temperature** by default (so sunlit ground and
  facades in view are too cold by day and too warm at night: surfaces in deep canyons are
  biased towards the air temperature); ``surround="surfaces"`` puts it at the hourly mean of
  the open walls' own temperatures instead (a second pass).
- ``q_conv = h_c (T_air - Ts)`` with Watmuff, Charters & Proctor's (1977) ``h_c = 2.8 + 3.0 v``
  (Duffie & Beckman, *Solar Engineering of Thermal Processes*, 4th ed., eq. 3.15.2:
  McAdams' ``5.7 + 3.8 v`` with the radiation and free convection it contains removed; the
  long-wave exchange is computed on its own here, so McAdams would count it twice) and ``v``
  the weather's wind speed as given (10 m for an EPW, not reduced to roof or street level).
- ``q_latent``: zero on building materials; the bulk ``beta`` form on vegetated surfaces
  (green roofs through ``overrides``).
- ``q_cond``: implicit finite differences through the archetype's two layers (insulation
  outside, masonry inside, :func:`microclimate.layers.building_layers`: the energy model's
  U-value and heat capacity; ``energy_roof_layers`` / ``energy_wall_layers`` lists when set),
  the inner face coupled to the building's hourly indoor air temperature from the energy model
  (its conditioned run, setpoints and schedules of the archetype) through ISO 6946's inside
  film ``1 / 0.13`` = 7.7 W/m2K. A scenario that changes an albedo runs the energy model
  again with the new absorptances (``indoor_feedback``); its other overrides (emissivity,
  layers, evaporation) change the surfaces, not the indoor temperature they see.

Windows are not separated: a wall is its opaque construction over its whole area.
Surfaces closed off from the sky (party walls, ``sky_view < 0.005``) are computed as well but
flagged ``enclosed`` and left out of the per-building maxima.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from citymodel.errors import InputError
from citymodel.model import CityModel
from citymodel.surfaces import SurfaceTable
from microclimate.conduction import Layers, discretise
from microclimate.layers import LAND_COVER, building_layers
from microclimate.surface_balance import surface_energy_balance
from microclimate.surface_inputs import SurfaceInputs, indoor_air_c, prepare_surfaces

__all__ = [
    "SurfaceOverride",
    "SurfaceTemperatures",
    "cool_roofs",
    "green_roofs",
    "surface_temperatures",
    "write_surface_attributes",
    "BUILDING_EMISSIVITY",
    "H_INSIDE_W_M2K",
    "GREEN_ROOF_SUBSTRATE",
    "convection_w_m2k",
]

log = logging.getLogger(__name__)

#: Long-wave emissivity of roofs and walls: brick 0.90-0.92, concrete 0.71-0.90, tar/gravel
#: roofs 0.92 (Oke 1987, Table 1.1); one value for every construction.
BUILDING_EMISSIVITY = 0.90
#: Emissivity of what a surface sees that is not sky (ground, facades, crowns).
EMISSIVITY_SURROUNDINGS = 0.95
#: Inside film coefficient, ISO 6946 ``1 / R_si`` with ``R_si = 0.13`` m2K/W [W/m2K].
H_INSIDE_W_M2K = 1.0 / 0.13
#: Watmuff et al. (1977) wind convection ``a + b v`` [W/m2K], [W s/m3K].
WATMUFF_A_W_M2K, WATMUFF_B_W_S_M3K = 2.8, 3.0
#: Largest finite-difference cell of a construction layer [m].
MAX_NODE_M = 0.02
#: Green-roof substrate (outside first): 10 cm of moist soil, an extensive green roof's depth
#: (FLL 2018: 6-15 cm); soil properties of :data:`microclimate.layers.LAND_COVER` ``grass``.
GREEN_ROOF_SUBSTRATE = ((0.10, *LAND_COVER["grass"]["layers"][0][1:]),)
#: Largest tilt of a roof a green roof can go on [deg] (flat roofs).
FLAT_ROOF_MAX_TILT_DEG = 10.0


def convection_w_m2k(wind_speed_m_s):
    """Outside convective coefficient without radiation, Watmuff et al. (1977) [W/m2K].

    ``2.8 + 3.0 v`` (Duffie & Beckman eq. 3.15.2), ``v`` wind speed [m/s] (negatives -> 0).

    Examples
    --------
    >>> float(convection_w_m2k(2.0))
    8.8
    """
    v = np.maximum(np.asarray(wind_speed_m_s, dtype=np.float64), 0.0)
    return WATMUFF_A_W_M2K + WATMUFF_B_W_S_M3K * v


@dataclass(frozen=True)
class SurfaceOverride:
    """A change of surface properties for a scenario (applied in order; later ones win).

    Attributes
    ----------
    where : str, (n,) bool array or collection of str
        ``"roof"``, ``"wall"``, ``"flat-roof"`` (roofs tilted at most 10 deg), ``"all"``; a
        boolean mask over the result's surfaces; or building ids.
    albedo, emissivity, evap_beta : float, optional
        New values (0..1); None leaves them.
    top_layers : tuple of (thickness_m, conductivity_w_mk, heat_capacity_j_m3k)
        Layers added outside the construction (a green roof's substrate).
    """

    where: Any = "roof"
    albedo: float | None = None
    emissivity: float | None = None
    evap_beta: float | None = None
    top_layers: tuple = ()


def cool_roofs(albedo: float = 0.7) -> SurfaceOverride:
    """Every roof painted to ``albedo`` (issue 13's ``cool-roofs``: 0.7)."""
    return SurfaceOverride("roof", albedo=albedo)


def green_roofs() -> SurfaceOverride:
    """Flat roofs vegetated: grass albedo, emissivity and ``beta`` over a 10 cm substrate.

    Grass: albedo 0.23, emissivity 0.95, moisture availability 0.5 (watered grass in summer,
    :data:`microclimate.layers.LAND_COVER`); a dry roof in a drought evaporates far less.
    """
    g = LAND_COVER["grass"]
    return SurfaceOverride("flat-roof", albedo=g["albedo"], emissivity=g["emissivity"],
                           evap_beta=g["evap_beta"], top_layers=GREEN_ROOF_SUBSTRATE)


@dataclass
class SurfaceTemperatures:
    """Hourly surface temperatures and energy-balance terms of ``n`` roofs and walls.

    Attributes
    ----------
    times : DatetimeIndex
        ``(n_times,)`` hour-ending stamps of the period.
    building_id, object_id : (n,) object
        Top-level building and the (Building or BuildingPart) object of each surface.
    semantic_index : (n,) int64
        Index of the surface's semantic object in its geometry (-1 without semantics).
    surface_type : (n,) object
        ``"RoofSurface"`` or ``"WallSurface"``.
    table_row : (n,) int64
        Row of ``table``.
    area_m2, tilt_deg, azimuth_deg, sky_view : (n,) float64
    albedo, emissivity, evap_beta : (n,) float64
        Properties used (after overrides).
    enclosed : (n,) bool
        Closed off from the sky (party walls).
    t_surface_c : (n, n_times) float32
        Outer surface temperature, hour mean [degC].
    q_sw_w_m2, q_lw_w_m2, q_conv_w_m2, q_latent_w_m2 : (n, n_times) float32
        Absorbed shortwave, net long-wave, convection, latent heat, towards the surface [W/m2].
    q_cond_w_m2 : (n, n_times) float32
        Heat into the construction through its outer face [W/m2].
    q_inner_w_m2 : (n, n_times) float32
        Heat leaving the construction to the indoor air [W/m2].
    storage_j_m2 : (n,) float64
        Change of heat stored in the construction over the period [J/m2].
    table : SurfaceTable
        The building surface table ``table_row`` indexes (for writing back).
    inputs : SurfaceInputs
        The scenario-independent inputs (pass as ``prepared=`` to run a scenario).
    attrs : dict
        Sources, approximations, fallbacks, overrides, timings.
    """

    times: pd.DatetimeIndex
    building_id: np.ndarray
    object_id: np.ndarray
    semantic_index: np.ndarray
    surface_type: np.ndarray
    table_row: np.ndarray
    area_m2: np.ndarray
    tilt_deg: np.ndarray
    azimuth_deg: np.ndarray
    sky_view: np.ndarray
    albedo: np.ndarray
    emissivity: np.ndarray
    evap_beta: np.ndarray
    enclosed: np.ndarray
    t_surface_c: np.ndarray
    q_sw_w_m2: np.ndarray
    q_lw_w_m2: np.ndarray
    q_conv_w_m2: np.ndarray
    q_latent_w_m2: np.ndarray
    q_cond_w_m2: np.ndarray
    q_inner_w_m2: np.ndarray
    storage_j_m2: np.ndarray
    table: SurfaceTable
    inputs: SurfaceInputs
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def t_surface_max_c(self) -> np.ndarray:
        """(n,) float64: the period's highest hourly surface temperature [degC]."""
        return self.t_surface_c.max(axis=1).astype(np.float64)

    def sensible_heat_w(self, *, by_building: bool = False) -> np.ndarray:
        """Sensible heat given to the air, ``-q_conv x area`` summed over surfaces [W].

        Returns ``(n_times,)``, or ``(n_buildings, n_times)`` in ``inputs.building_ids``
        order with ``by_building`` (the canopy air model's surface source term).
        """
        q = -self.q_conv_w_m2.astype(np.float64) * self.area_m2[:, None]
        if not by_building:
            return q.sum(axis=0)
        out = np.zeros((len(self.inputs.building_ids), q.shape[1]))
        np.add.at(out, self.inputs.building_index, q)
        return out

    def to_frame(self) -> pd.DataFrame:
        """Long table ``building_id, object_id, semantic_index, surface_type, time,
        t_surface_c`` (one row per surface and hour)."""
        n, nt = self.t_surface_c.shape
        return pd.DataFrame({
            "building_id": np.repeat(self.building_id, nt),
            "object_id": np.repeat(self.object_id, nt),
            "semantic_index": np.repeat(self.semantic_index, nt),
            "surface_type": np.repeat(self.surface_type, nt),
            "time": np.tile(self.times.to_numpy(), n),
            "t_surface_c": self.t_surface_c.ravel(),
        })


def _select(where: Any, inp: SurfaceInputs, tilt: np.ndarray) -> np.ndarray:
    n = inp.rows.size
    if isinstance(where, str):
        sel = {"roof": inp.kind == 0, "wall": inp.kind == 1, "all": np.ones(n, bool),
               "flat-roof": (inp.kind == 0) & (tilt <= FLAT_ROOF_MAX_TILT_DEG)}.get(where)
        if sel is None:
            raise InputError(f"override where={where!r}: use one of 'roof', 'wall', "
                             "'flat-roof', 'all', a boolean mask or building ids")
        return sel
    a = np.asarray(where) if not isinstance(where, (set, frozenset)) else None
    if a is not None and a.dtype == bool:
        if a.shape != (n,):
            raise InputError(f"override mask must have shape ({n},) (one per surface), "
                             f"got {a.shape}")
        return a
    if isinstance(where, Collection):
        ids = set(map(str, where))
        unknown = ids - set(inp.building_ids)
        if unknown:
            raise InputError(f"override names unknown buildings {sorted(unknown)[:5]}")
        hit = np.array([b in ids for b in inp.building_ids], dtype=bool)
        return hit[inp.building_index]
    raise InputError(f"override where={where!r} not understood")


def _properties(inp: SurfaceInputs, albedo: Any, emissivity: float,
                overrides: Sequence[SurfaceOverride], tilt: np.ndarray):
    """Albedo, emissivity, beta (n,) and per-surface layer stacks (list of (L, 3) arrays)."""
    n = inp.rows.size
    if albedo is None:
        alb = 1.0 - inp.alpha
    elif isinstance(albedo, dict):
        unknown = set(albedo) - {"roof", "wall"}
        if unknown:
            raise InputError(f"albedo keys must be 'roof' and/or 'wall', got {sorted(unknown)}")
        alb = 1.0 - inp.alpha
        for k, code in (("roof", 0), ("wall", 1)):
            if k in albedo:
                alb = np.where(inp.kind == code, float(albedo[k]), alb)
    else:
        alb = np.full(n, float(albedo))
    alb = np.asarray(alb, dtype=np.float64).copy()
    eps = np.full(n, float(emissivity))
    beta = np.zeros(n)
    base = building_layers(inp.u_w_m2k, inp.kappa_kj_m2k)
    base_arr = np.stack([base.thickness_m, base.conductivity_w_mk, base.heat_capacity_j_m3k],
                        axis=-1)
    stacks = [base_arr[i] for i in range(n)]
    for i, ll in enumerate(inp.layer_lists):
        if ll is not None:
            a = np.asarray(ll, dtype=np.float64)
            if a.ndim != 2 or a.shape[1] != 4 or np.any(a <= 0):
                raise InputError(f"building {inp.building_ids[inp.building_index[i]]!r}: "
                                 "energy_*_layers must be [[d_m, k_w_mk, rho_kg_m3, cp_j_kgk], "
                                 "...] with positive values, outside first")
            stacks[i] = np.column_stack([a[:, 0], a[:, 1], a[:, 2] * a[:, 3]])
    for ov in overrides:
        if not isinstance(ov, SurfaceOverride):
            raise InputError(f"overrides must be SurfaceOverride objects, got {type(ov).__name__}")
        sel = _select(ov.where, inp, tilt)
        for name, arr in (("albedo", alb), ("emissivity", eps), ("evap_beta", beta)):
            v = getattr(ov, name)
            if v is not None:
                if not 0.0 <= float(v) <= 1.0:
                    raise InputError(f"override {name}={v} must lie in 0..1")
                arr[sel] = float(v)
        if ov.top_layers:
            top = np.asarray(ov.top_layers, dtype=np.float64).reshape(-1, 3)
            if np.any(top <= 0):
                raise InputError("override top_layers need positive (thickness_m, "
                                 "conductivity_w_mk, heat_capacity_j_m3k)")
            for i in np.flatnonzero(sel):
                stacks[i] = np.concatenate([top, stacks[i]])
    if np.any((alb < 0) | (alb > 1)):
        raise InputError("albedo must lie in 0..1")
    return alb, eps, beta, stacks


def _balance(inp: SurfaceInputs, alb, eps, beta, stacks, substeps: int, t_surround):
    """Run every construction group through spin-up and period.

    Returns the period's ``(n, nt)`` float32 outputs, the storage change ``(n,)`` and the
    surface temperature over spin-up and period ``(n, n_seq)`` float64.
    """
    wx = inp.weather
    seq = inp.sequence
    ns = inp.n_spin
    n = inp.rows.size
    t_air = wx["t_air_c"].to_numpy(float)[seq][:, None]
    wind = wx["wind_speed_m_s"].to_numpy(float)[seq][:, None]
    h_conv = convection_w_m2k(wind)
    rh = (wx["rh_percent"].to_numpy(float) if "rh_percent" in wx else np.full(len(wx), 50.0))
    rh = np.where(np.isfinite(rh), rh, 50.0)[seq][:, None]
    p = wx["pressure_pa"].to_numpy(float) if "pressure_pa" in wx else np.array([101325.0])
    pressure = float(np.nanmean(p)) if np.any(np.isfinite(p)) else 101325.0
    ldown = inp.ldown_w_m2[seq][:, None]
    t_sur = t_air if t_surround is None else np.asarray(t_surround, dtype=np.float64)[:, None]

    nt = seq.size - ns
    out = {k: np.empty((n, nt), dtype=np.float32) for k in (
        "t_surface_c", "q_sw_w_m2", "q_lw_w_m2", "q_conv_w_m2", "q_latent_w_m2", "q_cond_w_m2",
        "q_inner_w_m2")}
    storage = np.empty(n)
    t_all = np.empty((n, seq.size))
    n_layers = np.array([s.shape[0] for s in stacks])
    for nl in np.unique(n_layers):  # surfaces with as many layers share one run
        g = np.flatnonzero(n_layers == nl)
        arr = np.stack([stacks[i] for i in g])
        nodes = discretise(Layers(arr[:, :, 0], arr[:, :, 1], arr[:, :, 2]), MAX_NODE_M)
        k_abs = ((1.0 - alb[g])[:, None] * inp.irradiance_w_m2[g][:, seq].astype(np.float64)).T
        t_in = inp.t_indoor_c[inp.building_index[g]][:, seq].astype(np.float64).T
        kw = dict(emissivity=eps[g], sky_view=inp.sky_view[g], evap_beta=beta[g],
                  pressure_pa=pressure, h_inner_w_m2k=H_INSIDE_W_M2K, substeps=substeps,
                  emissivity_surround=EMISSIVITY_SURROUNDINGS, spinup_days=0)
        t_init = None
        if ns:
            sp = slice(None, ns)
            spin = surface_energy_balance(nodes, k_abs[sp], t_air[sp], wind[sp], ldown[sp],
                                          rh_percent=rh[sp], t_inner_c=t_in[sp],
                                          h_conv_w_m2k=h_conv[sp], t_surround_c=t_sur[sp], **kw)
            t_init = spin.t_nodes_end_c
            t_all[g, :ns] = spin.t_surface_c.T
        pe = slice(ns, None)
        res = surface_energy_balance(nodes, k_abs[pe], t_air[pe], wind[pe], ldown[pe],
                                     rh_percent=rh[pe], t_inner_c=t_in[pe], t_init_c=t_init,
                                     h_conv_w_m2k=h_conv[pe], t_surround_c=t_sur[pe], **kw)
        for k in out:
            out[k][g] = getattr(res, k).T
        t_all[g, ns:] = res.t_surface_c.T
        storage[g] = (nodes.cap_j_m2k * (res.t_nodes_end_c - res.t_nodes_start_c)).sum(axis=1)
    return out, storage, t_all


def _indoor_feedback(model: CityModel, inp: SurfaceInputs, alb: np.ndarray,
                     area_m2: np.ndarray) -> tuple[SurfaceInputs, str]:
    """Inputs whose indoor air comes from the energy model run with the albedo ``alb``."""
    alpha = 1.0 - alb
    changed = np.abs(alpha - inp.alpha) > 1e-9
    if not changed.any():
        return inp, inp.attrs.get("indoor", "")
    nb = len(inp.building_ids)
    per = {}
    for name, code in (("roof", 0), ("wall", 1)):
        m = (inp.kind == code) & ~inp.enclosed
        w = np.bincount(inp.building_index[m], weights=area_m2[m], minlength=nb)
        a = np.bincount(inp.building_index[m], weights=area_m2[m] * alpha[m], minlength=nb)
        hit = np.bincount(inp.building_index[m & changed], minlength=nb) > 0
        per[name] = np.where(hit & (w > 0), a / np.where(w > 0, w, 1.0), np.nan)
    if not (np.isfinite(per["roof"]).any() or np.isfinite(per["wall"]).any()):
        return inp, inp.attrs.get("indoor", "")
    t_in, src, msgs = indoor_air_c(
        model, inp.weather, inp.meta, inp.building_ids, inp.building_index, indoor="energy",
        archetypes=inp.archetypes, solar=inp.solar_buildings, alpha_roof=per["roof"],
        alpha_wall=per["wall"])
    attrs = dict(inp.attrs)
    attrs["fallbacks"] = list(attrs.get("fallbacks", [])) + msgs
    return dataclasses.replace(inp, t_indoor_c=t_in, attrs=attrs), src


def surface_temperatures(
    model: CityModel,
    weather: Any = "clearsky",
    meta: dict[str, Any] | None = None,
    *,
    period: Any = None,
    spinup_days: int = 2,
    albedo: float | dict[str, float] | None = None,
    overrides: SurfaceOverride | Sequence[SurfaceOverride] | None = None,
    prepared: SurfaceInputs | None = None,
    indoor: str | float = "energy",
    emissivity: float = BUILDING_EMISSIVITY,
    sensor_spacing_m: float = 2.0,
    surround: str = "air",
    indoor_feedback: bool = True,
    substeps: int = 4,
    progress: Any = None,
) -> SurfaceTemperatures:
    """Hourly outer surface temperature of every roof and wall, with its energy balance.

    Parameters
    ----------
    model : CityModel
        Buildings with roof/wall semantics (or tilts), in a projected metric CRS; terrain and
        trees in it shade the surfaces.
    weather : DataFrame, str or PathLike
        Hourly weather in :mod:`energy.weather`'s glossary columns (with ``meta``), an EPW path
        or ``"clearsky"``.
    meta : dict, optional
        The weather's metadata (needed with a DataFrame).
    period : None, "START:END", "hottest-3d" or (start, end)
        Reported days (:func:`microclimate.surface_inputs.select_period`); None: all rows.
    spinup_days : int
        Days run before the period from the weather's own preceding rows (the first day
        repeated where the weather starts later; recorded in ``attrs["fallbacks"]``).
    albedo : float or {"roof": float, "wall": float}, optional
        Shortwave albedo (0..1) replacing the archetypes' ``1 - alpha``.
    overrides : SurfaceOverride or sequence, optional
        Scenario changes (:func:`cool_roofs`, :func:`green_roofs`, or custom ones).
    prepared : SurfaceInputs, optional
        Inputs of an earlier run on the same model and weather (``result.inputs``): the solar
        solve and the energy model are not run again; ``weather``, ``period``,
        ``spinup_days``, ``indoor`` and ``sensor_spacing_m`` are then ignored.
    indoor : "energy" or float
        Indoor air from the energy model on the same weather, or a constant [degC]. The energy
        model runs once with the baseline constructions: scenario overrides do not feed back
        into the indoor temperature.
    emissivity : float
        Long-wave emissivity of roofs and walls before overrides.
    sensor_spacing_m : float
        Spacing of the solar solver's sensors [m].
    surround : {"air", "surfaces"}
        Temperature of the non-sky part of each surface's view: the air (one pass), or the
        hourly mean of the open walls' own temperatures (weighted by area x (1 - sky view))
        from a first pass with air (a second pass; the ground, which the model does not
        compute, is assumed to be like the walls).
    indoor_feedback : bool
        When the albedo used differs from the archetypes' (``albedo=``, overrides) and the
        indoor air comes from the energy model, run the energy model again with each
        building's area-weighted roof and wall absorptance (``energy_alpha_roof`` /
        ``energy_alpha_wall`` on a copy), so a cool roof also cools the room under it. Other
        overrides (emissivity, layers, evaporation) do not reach the energy model.
    substeps : int
        Implicit steps per hour.
    progress : bool or callable, optional
        True shows progress bars; a callable is called as ``progress(stage, done, total)``
        after each stage (``"solar"``, ``"indoor"``, ``"balance"``; total 3).

    Returns
    -------
    SurfaceTemperatures

    Raises
    ------
    WeatherError
        Period outside the weather, missing values in the period, weather far from the model.
    InputError
        A model without roofs, bad overrides.
    """
    import time

    t0 = time.perf_counter()
    inp = prepared if prepared is not None else prepare_surfaces(
        model, weather, meta, period=period, spinup_days=spinup_days, indoor=indoor,
        sensor_spacing_m=sensor_spacing_m, progress=progress)
    if prepared is not None and list(prepared.building_ids) != model.building_ids():
        raise InputError(f"{model.source or 'model'}: prepared= inputs were computed on "
                         "another model (its buildings differ); prepare them on this model")
    if isinstance(overrides, SurfaceOverride):
        overrides = [overrides]
    overrides = list(overrides or [])
    table = inp.table
    rows = inp.rows
    n = rows.size
    tilt = table.tilt_deg[rows]
    alb, eps, beta, stacks = _properties(inp, albedo, emissivity, overrides, tilt)

    if surround not in ("air", "surfaces"):
        raise InputError(f"surround must be 'air' or 'surfaces', got {surround!r}")
    run_inp, indoor_src = inp, inp.attrs.get("indoor", "")
    if indoor_feedback and inp.indoor == "energy":
        run_inp, indoor_src = _indoor_feedback(model, inp, alb, table.area_m2[rows])
    t1 = time.perf_counter()
    out, storage, t_all = _balance(run_inp, alb, eps, beta, stacks, int(substeps), None)
    if surround == "surfaces":
        # second pass: what is not sky radiates at the hourly mean of the open walls
        walls = (inp.kind == 1) & ~inp.enclosed
        if walls.any():
            w = table.area_m2[rows][walls] * (1.0 - inp.sky_view[walls])
            t_sur = (w[:, None] * t_all[walls]).sum(axis=0) / max(float(w.sum()), 1e-12)
            out, storage, _ = _balance(run_inp, alb, eps, beta, stacks, int(substeps), t_sur)
    t_bal = time.perf_counter() - t1
    if callable(progress):
        progress("balance", 3, 3)

    log.info("surface temperatures: %d surfaces x %d h (+%d spin-up) in %.1f s", n,
             inp.sequence.size - inp.n_spin, inp.n_spin, time.perf_counter() - t0)
    obj_ids = np.asarray(table.object_ids, dtype=object)[table.object_index[rows]]
    attrs = dict(run_inp.attrs)
    attrs.update({
        "albedo": "archetype 1 - alpha" if albedo is None else f"given: {albedo}",
        "emissivity": float(emissivity),
        "surroundings": ("non-sky part of the view at the air temperature" if surround == "air"
                         else "non-sky part of the view at the hourly mean temperature of the "
                         "open walls (second pass)") + f", emissivity {EMISSIVITY_SURROUNDINGS}",
        "sky_longwave": "horizontal L_down weighted by the surface's sky view",
        "convection": "Watmuff et al. (1977) 2.8 + 3.0 v, v = weather wind speed",
        "inside_film_w_m2k": H_INSIDE_W_M2K,
        "indoor": indoor_src,
        "overrides": [repr(o) for o in overrides],
        "n_surfaces": int(n),
        "n_enclosed": int(inp.enclosed.sum()),
        "balance_s": t_bal,
        "total_s": time.perf_counter() - t0,
    })
    return SurfaceTemperatures(
        times=inp.times,
        building_id=np.asarray(inp.building_ids, dtype=object)[inp.building_index],
        object_id=obj_ids,
        semantic_index=table.semantic_index[rows].astype(np.int64),
        surface_type=np.where(inp.kind == 0, "RoofSurface", "WallSurface").astype(object),
        table_row=rows,
        area_m2=table.area_m2[rows].astype(np.float64),
        tilt_deg=tilt.astype(np.float64),
        azimuth_deg=table.azimuth_deg[rows].astype(np.float64),
        sky_view=inp.sky_view,
        albedo=alb, emissivity=eps, evap_beta=beta,
        enclosed=inp.enclosed,
        storage_j_m2=storage, table=table, inputs=inp, attrs=attrs, **out,
    )


def write_surface_attributes(model: CityModel, result: SurfaceTemperatures, *,
                             decimals: int = 1) -> int:
    """Write ``t_surface_max_c`` on every semantic roof/wall and per-building maxima.

    Each semantic surface object gets the highest hourly temperature of the polygons that
    share it; each building's attributes get ``t_roof_max_c`` and ``t_wall_max_c`` (the
    highest over its roofs / its walls open to the sky). ``model`` must be the model the
    result was computed on. Returns the number of semantic surfaces written.
    """
    table = result.table
    tmax = result.t_surface_max_c
    sem = result.semantic_index >= 0
    key = table.semantic_key[result.table_row[sem]]
    uniq, inv = np.unique(key, return_inverse=True)
    best = np.full(uniq.size, -np.inf)
    np.maximum.at(best, inv, tmax[sem])
    first = np.zeros(uniq.size, dtype=np.int64)
    first[inv[::-1]] = np.arange(inv.size)[::-1]
    rows = result.table_row[sem][first]
    for r, v in zip(rows, best, strict=True):
        obj = model.city_objects[table.object_ids[table.object_index[r]]]
        s = obj["geometry"][table.geometry_index[r]]["semantics"]["surfaces"][
            table.semantic_index[r]]
        s["t_surface_max_c"] = round(float(v), decimals)
    open_ = ~result.enclosed
    for name, code in (("t_roof_max_c", "RoofSurface"), ("t_wall_max_c", "WallSurface")):
        m = (result.surface_type == code) & open_
        if not m.any():
            continue
        ids, binv = np.unique(result.building_id[m].astype(str), return_inverse=True)
        bmax = np.full(ids.size, -np.inf)
        np.maximum.at(bmax, binv, tmax[m])
        for b, v in zip(ids, bmax, strict=True):
            model.city_objects[b].setdefault("attributes", {})[name] = round(float(v), decimals)
    return int(uniq.size)
