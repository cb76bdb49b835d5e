"""Implicit 1-D conduction through layered slabs, vectorised over many surfaces.

A surface is a slab of layers (outside first) discretised into finite-volume cells
(:func:`discretise`); every surface has the same number of cells so that a run is a set of
``(n, m)`` arrays. Time stepping is backward Euler (unconditionally stable, exactly
conservative: the change of stored heat equals the boundary fluxes of the same step), one
tridiagonal solve per surface per step in a numba kernel (:mod:`._conduction_kernels`).

Boundaries: the outer face receives a flux ``q_outer_w_m2`` plus an exchange
``h_outer_w_m2k (t_outer_c - T_face)``; the inner face exchanges
``h_inner_w_m2k (T_face - t_inner_c)``. ``h = inf`` imposes the face temperature (deep ground,
a measured surface temperature), ``h = 0`` makes the face adiabatic, a finite value is a film
coefficient (indoor air: ISO 6946 ``1 / R_si`` = 7.7 W/m2K for walls).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from citymodel.errors import InputError
from microclimate import _conduction_kernels as _k

__all__ = [
    "Layers", "Nodes", "discretise", "simulate_conduction", "step_conduction",
    "ConductionResult",
]


@dataclass(frozen=True)
class Layers:
    """Layered slabs, outside first, the same number of layers on every surface.

    Attributes
    ----------
    thickness_m : (n, n_layers) float64
        Layer thickness [m], > 0.
    conductivity_w_mk : (n, n_layers) float64
        Thermal conductivity [W/mK], > 0.
    heat_capacity_j_m3k : (n, n_layers) float64
        Volumetric heat capacity rho c [J/m3K], > 0.
    """

    thickness_m: np.ndarray
    conductivity_w_mk: np.ndarray
    heat_capacity_j_m3k: np.ndarray

    def __post_init__(self) -> None:
        arrs = [np.atleast_2d(np.asarray(a, dtype=np.float64)) for a in
                (self.thickness_m, self.conductivity_w_mk, self.heat_capacity_j_m3k)]
        try:
            arrs = np.broadcast_arrays(*arrs)
        except ValueError as exc:
            raise InputError(f"Layers: thickness, conductivity and heat capacity must have one "
                             f"shape (n, n_layers): {exc}") from None
        for name, a in zip(("thickness_m", "conductivity_w_mk", "heat_capacity_j_m3k"), arrs,
                           strict=True):
            if a.ndim != 2 or a.shape[1] == 0:
                raise InputError(f"Layers.{name} must be (n, n_layers), got {a.shape}")
            if not np.all(np.isfinite(a) & (a > 0)):
                raise InputError(f"Layers.{name} must be finite and > 0; pad a thinner stack "
                                 "by splitting a layer, not with zero thickness")
            object.__setattr__(self, name, np.ascontiguousarray(a))

    @property
    def n(self) -> int:
        """Number of surfaces."""
        return self.thickness_m.shape[0]

    @property
    def resistance_m2k_w(self) -> np.ndarray:
        """(n,) float64: conduction resistance of each slab, face to face [m2K/W]."""
        return (self.thickness_m / self.conductivity_w_mk).sum(axis=1)


@dataclass(frozen=True)
class Nodes:
    """A discretised slab: per surface ``m`` cells, cell 0 at the outer face.

    Attributes
    ----------
    dx_m, conductivity_w_mk, heat_capacity_j_m3k : (n, m) float64
        Cell thickness [m], conductivity [W/mK], volumetric heat capacity [J/m3K].
    layer_index : (m,) int64
        Layer each cell belongs to.
    """

    dx_m: np.ndarray
    conductivity_w_mk: np.ndarray
    heat_capacity_j_m3k: np.ndarray
    layer_index: np.ndarray

    @property
    def cap_j_m2k(self) -> np.ndarray:
        """(n, m) float64: heat capacity of each cell per m2 of surface [J/m2K]."""
        return self.dx_m * self.heat_capacity_j_m3k

    @property
    def depth_m(self) -> np.ndarray:
        """(n, m) float64: depth of each cell centre below the outer face [m]."""
        return np.cumsum(self.dx_m, axis=1) - 0.5 * self.dx_m

    @property
    def g_internal_w_m2k(self) -> np.ndarray:
        """(n, m-1) float64: conductance between neighbouring cell centres [W/m2K]."""
        r = 0.5 * self.dx_m / self.conductivity_w_mk
        return 1.0 / (r[:, :-1] + r[:, 1:])

    @property
    def g_outer_face_w_m2k(self) -> np.ndarray:
        """(n,) float64: conductance outer face -> first cell centre, ``2 k / dx`` [W/m2K]."""
        return 2.0 * self.conductivity_w_mk[:, 0] / self.dx_m[:, 0]

    @property
    def g_inner_face_w_m2k(self) -> np.ndarray:
        """(n,) float64: conductance last cell centre -> inner face [W/m2K]."""
        return 2.0 * self.conductivity_w_mk[:, -1] / self.dx_m[:, -1]


def discretise(layers: Layers, max_node_m: float = 0.02, min_nodes_per_layer: int = 1,
               growth: float = 1.0) -> Nodes:
    """Split each layer into cells, the same count per layer on every surface.

    With ``growth = 1`` layer ``j`` gets ``N_j = max(min_nodes_per_layer, ceil(max_n
    thickness_m[:, j] / max_node_m))`` equal cells. With ``growth > 1`` the cells of a layer
    grow geometrically inwards (sizes proportional to ``growth**i``) and ``N_j`` is the
    fewest cells whose first (outermost) one is no thicker than ``max_node_m`` on any
    surface: thin cells where the diurnal wave is, few cells deep down.

    Parameters
    ----------
    layers : Layers
        ``n`` slabs of ``n_layers`` layers.
    max_node_m : float
        Largest cell (``growth = 1``) or largest first cell of a layer [m].
    min_nodes_per_layer : int
        Fewest cells per layer.
    growth : float
        Ratio of neighbouring cell sizes inside a layer (>= 1).

    Returns
    -------
    Nodes
        ``(n, m)`` cell arrays.

    Examples
    --------
    >>> nodes = discretise(Layers([[0.05, 1.0]], [[0.75, 1.0]], [[1.9e6, 2.2e6]]), 0.01, 1, 1.2)
    >>> nodes.dx_m.shape, round(float(nodes.dx_m.sum()), 12)
    ((1, 21), 1.05)
    """
    if not (max_node_m > 0) or not (growth >= 1.0):
        raise InputError(f"max_node_m must be > 0 and growth >= 1, got {max_node_m}, {growth}")
    thick = layers.thickness_m.max(axis=0)
    if growth == 1.0:
        counts = np.ceil(thick / max_node_m - 1e-9).astype(int)
    else:
        # first cell d0 = D (g - 1) / (g^N - 1) <= max_node_m
        counts = np.ceil(np.log1p(thick * (growth - 1.0) / max_node_m) / np.log(growth)
                         - 1e-9).astype(int)
    counts = np.maximum(int(min_nodes_per_layer), counts)
    idx = np.repeat(np.arange(len(counts)), counts)
    frac = np.concatenate([growth ** np.arange(c) / np.sum(growth ** np.arange(c))
                           for c in counts])
    dx = layers.thickness_m[:, idx] * frac
    return Nodes(np.ascontiguousarray(dx), np.ascontiguousarray(layers.conductivity_w_mk[:, idx]),
                 np.ascontiguousarray(layers.heat_capacity_j_m3k[:, idx]), idx)


@dataclass(frozen=True)
class ConductionResult:
    """Output of :func:`simulate_conduction`.

    Attributes
    ----------
    t_surface_c : (n_steps, n) float64
        Outer face temperature at the end of each step [degC].
    q_outer_w_m2 : (n_steps, n) float64
        Heat flux into the slab through the outer face over each step [W/m2].
    q_inner_w_m2 : (n_steps, n) float64
        Heat flux out of the slab through the inner face over each step [W/m2].
    t_nodes_c : (n_steps, n, m) float64 or None
        Cell temperatures at the end of each step (``keep_nodes=True``) [degC].
    t_final_c : (n, m) float64
        Cell temperatures after the last step [degC].
    """

    t_surface_c: np.ndarray
    q_outer_w_m2: np.ndarray
    q_inner_w_m2: np.ndarray
    t_nodes_c: np.ndarray | None
    t_final_c: np.ndarray


def _forcing(value, n_steps: int, n: int, name: str) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    try:
        return np.ascontiguousarray(np.broadcast_to(a, (n_steps, n)))
    except ValueError:
        raise InputError(f"{name} must broadcast to (n_steps, n) = ({n_steps}, {n}), "
                         f"got shape {a.shape}") from None


def simulate_conduction(
    nodes: Nodes,
    t_init_c,
    dt_s: float,
    n_steps: int,
    *,
    q_outer_w_m2=0.0,
    h_outer_w_m2k=0.0,
    t_outer_c=0.0,
    h_inner_w_m2k=0.0,
    t_inner_c=0.0,
    keep_nodes: bool = False,
) -> ConductionResult:
    """Step layered slabs through time with backward Euler.

    Every forcing is one value or an array broadcastable to ``(n_steps, n)``.

    Parameters
    ----------
    nodes : Nodes
        Discretised slabs (:func:`discretise`), ``(n, m)``.
    t_init_c : float or (n,) or (n, m) float64
        Initial cell temperatures [degC].
    dt_s : float
        Time step [s].
    n_steps : int
        Number of steps.
    q_outer_w_m2 : float or array
        Flux imposed on the outer face, positive into the slab [W/m2].
    h_outer_w_m2k, t_outer_c : float or array
        Outer exchange coefficient [W/m2K] (``inf``: face temperature = ``t_outer_c``) and
        temperature [degC].
    h_inner_w_m2k, t_inner_c : float or array
        Inner exchange coefficient [W/m2K] (``inf`` fixed, ``0`` adiabatic) and
        temperature [degC].
    keep_nodes : bool
        Keep every cell temperature of every step (``(n_steps, n, m)`` memory).

    Returns
    -------
    ConductionResult
    """
    if not (dt_s > 0):
        raise InputError(f"dt_s must be > 0, got {dt_s}")
    n, m = nodes.dx_m.shape
    t0 = np.asarray(t_init_c, dtype=np.float64)
    if t0.ndim == 1:
        t0 = t0[:, None]
    t0 = np.ascontiguousarray(np.broadcast_to(t0, (n, m)), dtype=np.float64)
    f = {k: _forcing(v, n_steps, n, k) for k, v in (
        ("q_outer_w_m2", q_outer_w_m2), ("h_outer_w_m2k", h_outer_w_m2k),
        ("t_outer_c", t_outer_c), ("h_inner_w_m2k", h_inner_w_m2k), ("t_inner_c", t_inner_c))}
    if np.any(f["h_outer_w_m2k"] < 0) or np.any(f["h_inner_w_m2k"] < 0):
        raise InputError("exchange coefficients h_outer_w_m2k / h_inner_w_m2k must be >= 0")
    t_surface = np.empty((n_steps, n))
    q_surf = np.empty((n_steps, n))
    q_in = np.empty((n_steps, n))
    t_nodes = np.empty((n_steps, n, m) if keep_nodes else (1, 1, 1))
    t_final = np.empty((n, m))
    _k.run_slabs(t0, nodes.cap_j_m2k, np.ascontiguousarray(nodes.g_internal_w_m2k),
                 nodes.g_outer_face_w_m2k, nodes.g_inner_face_w_m2k, float(dt_s),
                 f["q_outer_w_m2"], f["h_outer_w_m2k"], f["t_outer_c"], f["h_inner_w_m2k"],
                 f["t_inner_c"], bool(keep_nodes), t_surface, q_surf, q_in, t_nodes, t_final)
    return ConductionResult(t_surface, q_surf, q_in, t_nodes if keep_nodes else None, t_final)


def step_conduction(
    nodes: Nodes,
    t_c,
    dt_s: float,
    *,
    q_outer_w_m2=0.0,
    h_outer_w_m2k=0.0,
    t_outer_c=0.0,
    h_inner_w_m2k=0.0,
    t_inner_c=0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One backward-Euler step of every slab (for callers that couple other models per step).

    Boundary arguments are one value or ``(n,)``, as in :func:`simulate_conduction`.

    Parameters
    ----------
    nodes : Nodes
        ``(n, m)`` discretised slabs.
    t_c : (n, m) float64
        Cell temperatures at the start of the step [degC].
    dt_s : float
        Step [s].

    Returns
    -------
    t_new_c : (n, m) float64
        Cell temperatures at the end of the step [degC].
    t_surface_c, q_outer_w_m2, q_inner_w_m2 : (n,) float64
        Outer face temperature [degC], flux into the slab at the outer face and out of it
        at the inner face [W/m2].
    """
    res = simulate_conduction(nodes, t_c, dt_s, 1, q_outer_w_m2=q_outer_w_m2,
                              h_outer_w_m2k=h_outer_w_m2k, t_outer_c=t_outer_c,
                              h_inner_w_m2k=h_inner_w_m2k, t_inner_c=t_inner_c)
    return res.t_final_c, res.t_surface_c[0], res.q_outer_w_m2[0], res.q_inner_w_m2[0]
