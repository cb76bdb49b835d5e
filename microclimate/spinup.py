"""Spin-up of the heat grid's ground temperatures on the forcing rows that precede the period.

The ground slabs of :func:`microclimate.grid.run_grid` are 2 m deep: started from a uniform
temperature they need about a day of forcing before their surface follows the weather. The
best forcing for that day is the weather that really preceded the period. When the forcing
holds such rows (:class:`microclimate.forcing.Forcing` keeps ``spinup_steps`` of them),
:func:`ground_spinup_state` runs the same ground energy balance over them, with the sun and
the cast shadows of each row, and returns the slabs' node temperatures at the start of the
period. When fewer rows precede the period than the spin-up asks for, the first day of what
is given is repeated for the rest (:func:`spinup_plan`), as it is when no row precedes it.

Differences from the period's steps, on purpose (the spin-up only sets the initial slab
temperatures): the walls a ground cell sees reflect the diffuse light only (no sunlit walls),
the sun is cast at the interval midpoint, and the slabs step an hour at a time
(:data:`microclimate.grid.GROUND_SPINUP_SUBSTEPS`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from microclimate.conduction import Nodes
from microclimate.ground import WALL_ALBEDO
from microclimate.shadows import ground_sunlit
from microclimate.surface_balance import surface_temperatures_by_kind

__all__ = ["SpinupPlan", "spinup_plan", "ground_spinup_state"]


@dataclass(frozen=True)
class SpinupPlan:
    """How the ground and walls are spun up before the period.

    Attributes
    ----------
    preceding_rows : int
        Forcing rows before the period that are run (real weather).
    repeated_days : int
        Days of the first given day repeated before those rows (or before the period).
    steps_per_day : int
        Rows per day of the forcing.
    """

    preceding_rows: int
    repeated_days: int
    steps_per_day: int

    @property
    def days(self) -> float:
        """Spin-up length [days]: preceding rows plus repeated days."""
        return self.repeated_days + self.preceding_rows / self.steps_per_day

    def describe(self) -> str:
        """One sentence for the log, the summary and the result's attributes."""
        if self.preceding_rows and not self.repeated_days:
            return (f"{self.days:g} spin-up day(s) on the {self.preceding_rows} forcing rows "
                    "that precede the period (real weather)")
        if self.preceding_rows:
            return (f"{self.days:g} spin-up day(s): the first day of the forcing repeated "
                    f"{self.repeated_days} time(s), then the {self.preceding_rows} forcing rows "
                    "that precede the period (fewer rows precede it than the spin-up asks for)")
        if self.repeated_days:
            return (f"{self.repeated_days} spin-up day(s) repeating the period's first day (no "
                    "forcing rows precede the period)")
        return "no spin-up"


def spinup_plan(spinup_steps: int, preceding_rows: int, steps_per_day: int) -> SpinupPlan:
    """Split a spin-up of ``spinup_steps`` rows into real preceding rows and repeated days.

    Parameters
    ----------
    spinup_steps : int
        Spin-up asked for [rows]; rounded up to whole days when days must be repeated.
    preceding_rows : int
        Rows of the forcing before the period (all are used).
    steps_per_day : int
        Rows per day.

    Returns
    -------
    SpinupPlan

    Examples
    --------
    >>> spinup_plan(24, 24, 24).describe()
    '1 spin-up day(s) on the 24 forcing rows that precede the period (real weather)'
    >>> spinup_plan(48, 0, 24).repeated_days
    2
    """
    spd = max(1, int(steps_per_day))
    pre = max(0, int(preceding_rows))
    missing = max(0, int(spinup_steps) - pre)
    return SpinupPlan(pre, int(math.ceil(missing / spd)), spd)


def ground_spinup_state(
    nodes: Nodes,
    kind: np.ndarray,
    geom,
    forcing: dict,
    band_factors: np.ndarray,
    albedo: np.ndarray,
    emissivity: np.ndarray,
    evap_beta: np.ndarray,
    *,
    t_deep_c: float,
    repeated_days: int,
    steps_per_day: int,
    substeps: int,
    chunk_steps: int = 24,
) -> np.ndarray:
    """Ground slab node temperatures after running the spin-up rows, ``(n, m)`` [degC].

    Parameters
    ----------
    nodes : Nodes
        The ``k`` discretised ground slabs (one per land-cover class present).
    kind : (n,) int
        Slab of each of the ``n`` ground cells, ``0 .. k-1``.
    geom : GridGeometry
        The grid (:func:`microclimate.grid.prepare_grid`): scene, ground origins and views.
    forcing : dict
        Per-row arrays of the spin-up rows, ``(h,)``: ``ghi_w_m2``, ``dhi_w_m2``,
        ``dni_w_m2`` (0 with the sun down), ``t_air_c``, ``wind_speed_m_s``, ``rh_percent``,
        ``ldown_sky_w_m2`` (hemispheric sky long-wave) and ``sun`` ``(h, 3)`` unit vectors
        towards the sun.
    band_factors : (h, b) float64
        Relative sky radiance per zenith band (:func:`microclimate.ground.sky_band_factors`).
    albedo, emissivity, evap_beta : (n,) float64
        Ground surface properties.
    t_deep_c : float
        Deep-ground (and initial) temperature [degC].
    repeated_days : int
        Days of the first ``steps_per_day`` rows repeated before the rows.
    steps_per_day, substeps : int
        As in :func:`microclimate.surface_balance.surface_energy_balance` (``substeps`` for
        every spin-up row: the spin-up only has to reach the period's heat content).
    chunk_steps : int
        Rows per batch (bounds the memory: ``chunk_steps x n`` per array).

    Returns
    -------
    (n, m) float64
        Node temperatures at the end of the last spin-up row [degC].
    """
    g = geom.ground
    tau = geom.transmissivity
    sky_g = np.clip(g.sky[0], 0.0, 1.0)
    svf_sw = g.svf_shortwave(tau)[0].astype(np.float64)
    h = len(forcing["t_air_c"])
    l_sky_g = (np.asarray(forcing["ldown_sky_w_m2"])[:, None] * (band_factors @ g.sky_band[0])
               / np.maximum(sky_g, 1e-6)[None, :])
    state = None
    for c0 in range(0, h, chunk_steps):
        steps = np.arange(c0, min(h, c0 + chunk_steps))
        sun_g = np.zeros((steps.size, geom.n))
        for i, t in enumerate(steps):
            s = forcing["sun"][t]
            if s[2] > 0 and forcing["dni_w_m2"][t] > 0:
                sun_g[i] = ground_sunlit(geom, s)
        dni, dhi = forcing["dni_w_m2"][steps], forcing["dhi_w_m2"][steps]
        cosz = np.clip(forcing["sun"][steps, 2], 0.0, None)
        k_ground = (dni[:, None] * cosz[:, None] * sun_g + dhi[:, None] * svf_sw[None, :]
                    + g.wall[0][None, :] * WALL_ALBEDO * dhi[:, None])
        _, state = surface_temperatures_by_kind(
            nodes, kind, (1.0 - albedo)[None, :] * k_ground, forcing["t_air_c"][steps],
            forcing["wind_speed_m_s"][steps], l_sky_g[steps],
            emissivity=emissivity, sky_view=sky_g, evap_beta=evap_beta,
            rh_percent=forcing["rh_percent"][steps], t_inner_c=t_deep_c,
            t_init_c=t_deep_c if state is None else state, substeps=substeps,
            spinup_days=repeated_days if state is None else 0, steps_per_day=steps_per_day)
    return state
