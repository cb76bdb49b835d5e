"""The thermal network of a building and its modal (state-space) form.

Each building is one thermal zone, modelled as a linear RC network in the ISO 52016-1 family:

* every opaque construction (external walls, roof, ground floor, adiabatic party walls) is a
  chain of finite-difference nodes through its actual layers (each layer split into
  ``SUBLAYERS`` slices), outer surface to inner surface;
* the outer surface of walls and roof exchanges with an equivalent outdoor temperature that
  carries convection, long-wave exchange with the sky and absorbed solar
  (``h_e (T_eq - T_s) = h_c (T_out - T_s) + h_r F_sky (T_sky - T_s) + h_r (1 - F_sky)(T_out - T_s)
  + alpha I``); the floor's outer surface exchanges with the ground (or outdoor air);
* windows are one node (the inner pane surface) with the glazing's conductance to the outside;
* the inner surface nodes exchange by convection with the air node and by long-wave radiation
  through a radiant star node (``h_r A`` links: the linearised two-surface exchange);
* the air node has the air's heat capacity (times a furniture factor), infiltration to the
  outdoor air, the convective share of the internal gains, and the heat delivered by the
  ideal system and by ventilation (solved implicitly each hour by the kernel);
* transmitted solar lands on the floor (``solar_to_floor``) and the rest of the opaque inner
  surfaces by area; the absorbed-and-inward part of the glazing's gain enters the room from the
  inner pane (convective share to the air, radiant share to the radiant star node);
  radiant internal gains go to all inner surfaces by area.

The network ``C dT/dt = -K T + B u`` is symmetric, so ``C^-1/2 K C^-1/2`` is diagonalised
(batched over buildings) and integrated exactly over each hour for inputs held constant in
the hour (zero-order hold). Modes faster than ``lam_min`` per hour are folded into a
feed-through term; the slow ones are stepped by :func:`energy.demand._kernels.simulate_block`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from citymodel.errors import InputError

__all__ = [
    "Constructions",
    "ModalModel",
    "build_modal_model",
    "solar_weights",
    "INPUT_NAMES",
    "COEF_NAMES",
    "SUBLAYERS",
    "STEFAN_BOLTZMANN",
]

STEFAN_BOLTZMANN = 5.670374419e-8
#: Slices per construction layer in the finite-difference chain.
SUBLAYERS = 2
#: Smallest node heat capacity [J/m2K] (massless layers and surface nodes).
_MIN_CAP_J_M2K = 50.0

INPUT_NAMES = (
    "t_eq_wall_c",
    "t_eq_roof_c",
    "t_eq_window_c",
    "t_out_c",
    "t_ground_c",
    "solar_gain_w",
    "internal_gain_w",
)
COEF_NAMES = (
    "wall_sol_n", "wall_sol_e", "wall_sol_s", "wall_sol_w",  # alpha A_o / (h_e A_wall) [K m2/W]
    "wall_sky",  # F_sky h_r / h_e of walls
    "roof_sol",  # alpha / h_e of the roof [K m2/W]
    "roof_sky",
    "window_sky",
    "window_g_n", "window_g_e", "window_g_s", "window_g_w",  # A_win g [m2]
    "internal_gain_w",
    "vent_w_k",  # ventilation conductance at schedule fraction 1 [W/K]
    "unused_14", "unused_15",
)


@dataclass
class Constructions:
    """Per-building envelope and constructions: the input of :func:`build_modal_model`.

    Every array has the buildings on its first axis (``nb``). Layer tables list layers from
    outside to inside; pad unused layers with thickness 0.

    Attributes
    ----------
    area_wall_m2 : (nb, 4) float64
        Opaque external wall area by orientation N, E, S, W (windows excluded) [m2].
    area_window_m2 : (nb, 4) float64
        Window area by orientation N, E, S, W [m2].
    area_roof_m2, area_floor_m2, area_party_m2 : (nb,) float64
        Roof, ground floor, and adiabatic (shared) wall area [m2].
    volume_m3 : (nb,) float64
        Air volume [m3].
    wall_layers, roof_layers, floor_layers, party_layers : (nb, L, 4) float64
        Layers: thickness [m], conductivity [W/mK], density [kg/m3], specific heat [J/kgK].
    u_window_w_m2k : (nb,) float64
        Glazing U-value including surface films [W/m2K].
    g_window : (nb,) float64
        Solar heat gain coefficient at normal incidence.
    window_absorbed_share : (nb,) float64
        Part of the window gain that is absorbed in the panes and flows inward (not
        transmitted), 0..1.
    alpha_wall, alpha_roof : (nb,) float64
        Solar absorptance of the outer wall and roof surfaces.
    infiltration_ach : (nb,) float64
        Air changes per hour of infiltration.
    vent_m3_h : (nb,) float64
        Ventilation air flow at schedule fraction 1 [m3/h].
    internal_gain_w : (nb,) float64
        Internal gains at schedule fraction 1 [W].
    radiant_share : (nb,) float64
        Radiant part of the internal gains.
    floor_to_ground : (nb,) bool
        True: the floor's outer side sees the ground temperature through ``r_ground_m2k_w``;
        False: it sees the outdoor air through ``h_floor_air``.
    shading_factor : (nb, 5) float64 or None
        Multiplies the irradiance of roof, N, E, S, W (opaque and windows), e.g. the shaded
        over unshaded annual irradiation from the solar solver; None = 1.
    """

    area_wall_m2: np.ndarray
    area_window_m2: np.ndarray
    area_roof_m2: np.ndarray
    area_floor_m2: np.ndarray
    area_party_m2: np.ndarray
    volume_m3: np.ndarray
    wall_layers: np.ndarray
    roof_layers: np.ndarray
    floor_layers: np.ndarray
    party_layers: np.ndarray
    u_window_w_m2k: np.ndarray
    g_window: np.ndarray
    window_absorbed_share: np.ndarray
    alpha_wall: np.ndarray
    alpha_roof: np.ndarray
    infiltration_ach: np.ndarray
    vent_m3_h: np.ndarray
    internal_gain_w: np.ndarray
    radiant_share: np.ndarray
    floor_to_ground: np.ndarray
    shading_factor: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(np.asarray(self.area_roof_m2).shape[0])


@dataclass
class Films:
    """Surface heat transfer coefficients [W/m2K], view factors and the solar distribution.

    The defaults were calibrated once against ASHRAE Standard 140-2020 Cases 600/900/600FF/
    900FF (Denver TMY3) within physically plausible ranges (``tests/test_ashrae140.py``) and
    are used unchanged for every building.
    """

    h_ce_wall: float = 30.0  # exterior convection, walls and roof; simulate() uses ISO 6946 from the wind
    h_ce_window: float = 16.0
    h_re: float = 3.9  # exterior long-wave, linearised about a cold sky (eps 0.9)
    eps_window: float = 0.84
    f_sky_wall: float = 0.354  # 0.5 sky view x EnergyPlus' sky/air split sqrt(0.5)
    f_sky_roof: float = 1.0
    h_ci_wall: float = 2.0
    h_ci_roof: float = 1.0
    h_ci_floor: float = 2.2
    h_ci_window: float = 3.0
    h_ri: float = 5.0  # interior long-wave to the radiant star
    r_ground_m2k_w: float = 1.0  # soil between the floor and the ground temperature
    h_floor_air: float = 25.0  # floor underside to its boundary temperature (raised floor)
    solar_to_floor: float = 0.95
    solar_lost: float = 0.0
    air_cp_j_kgk: float = 1005.0
    furniture_factor: float = 1.0


@dataclass
class ModalModel:
    """Modal form of a block of buildings, laid out for the kernel (building index last)."""

    lam: np.ndarray  # (m, nb)
    gin: np.ndarray  # (m, n_inputs, nb)
    gq: np.ndarray  # (m, nb)
    cout: np.ndarray  # (2, m, nb)
    dfeed: np.ndarray  # (2, n_inputs, nb)
    dq: np.ndarray  # (2, nb)
    coef: np.ndarray  # (n_coef, nb)
    n_nodes: int


def _chain(layers: np.ndarray, area: np.ndarray):
    """Conductances between consecutive nodes (nb, n-1) [W/K] and node capacities (nb, n) [J/K]."""
    d = np.repeat(layers[:, :, 0] / SUBLAYERS, SUBLAYERS, axis=1)
    k = np.repeat(layers[:, :, 1], SUBLAYERS, axis=1)
    rc = np.repeat(layers[:, :, 2] * layers[:, :, 3], SUBLAYERS, axis=1)
    thin = d <= 0
    d = np.where(thin, 1e-4, d)
    k = np.where(thin | (k <= 0), np.where(thin, 10.0, 1e-3), k)
    g = k / d * area[:, None]
    cap_slice = rc * d * area[:, None]
    n = d.shape[1] + 1
    cap = np.zeros((d.shape[0], n))
    cap[:, :-1] += 0.5 * cap_slice
    cap[:, 1:] += 0.5 * cap_slice
    cap = np.maximum(cap, _MIN_CAP_J_M2K * np.maximum(area, 1e-3)[:, None])
    return g, cap


def solar_weights(c: Constructions, *, films: Films | None = None) -> np.ndarray:
    """Weights that turn per-surface irradiance into the model's three solar inputs.

    With ``irr`` the opaque irradiance roof, N, E, S, W and ``irw`` the SHGC-weighted window
    irradiance N, E, S, W [W/m2], the inputs are: wall sol-air increment
    ``sum_k w[1 + k] irr[1 + k]`` [K], roof sol-air increment ``w[0] irr[0]`` [K] and window
    solar gain ``sum_k w[5 + k] irw[k]`` [W] (``Constructions.shading_factor`` included).
    :func:`energy.demand.engine.combine_solar` applies them; the kernel then reads three
    series per building instead of nine.

    Returns
    -------
    (9, nb) float64
        Rows: roof [K m2/W], wall N, E, S, W [K m2/W], window N, E, S, W [m2].
    """
    f = films or Films()
    h_e = f.h_ce_wall + f.h_re
    a_wall = np.asarray(c.area_wall_m2, float)
    a_win = np.asarray(c.area_window_m2, float)
    a_wall_tot = np.maximum(a_wall.sum(axis=1), 1e-3)
    w = np.empty((9, a_wall.shape[0]))
    w[0] = np.asarray(c.alpha_roof, float) / h_e
    w[1:5] = (np.asarray(c.alpha_wall, float)[:, None] * a_wall / (h_e * a_wall_tot[:, None])).T
    w[5:9] = (a_win * np.asarray(c.g_window, float)[:, None]).T
    if c.shading_factor is not None:
        sf = np.asarray(c.shading_factor, float)
        w[0] *= sf[:, 0]
        w[1:5] *= sf[:, 1:5].T
        w[5:9] *= sf[:, 1:5].T
    return w


def build_modal_model(
    c: Constructions,
    *,
    rho_air_kg_m3: float = 1.2,
    films: Films | None = None,
    lam_min: float = 1e-4,
    dt_s: float = 3600.0,
) -> ModalModel:
    """Assemble the RC network of every building and reduce it to modal form.

    Parameters
    ----------
    c : Constructions
        Envelope and constructions of ``nb`` buildings.
    rho_air_kg_m3 : float
        Air density at the site (lower at altitude) [kg/m3].
    films : Films, optional
        Surface coefficients (defaults as in :class:`Films`).
    lam_min : float
        Modes whose hourly decay factor is below this are treated as instantaneous.
    dt_s : float
        Time step [s].

    Returns
    -------
    ModalModel
    """
    f = films or Films()
    nb_ = c.n
    if nb_ == 0:
        raise InputError("no buildings to model")
    a_wall = np.asarray(c.area_wall_m2, float)
    a_win = np.asarray(c.area_window_m2, float)
    a_wall_tot = np.maximum(a_wall.sum(axis=1), 1e-3)
    a_roof = np.maximum(np.asarray(c.area_roof_m2, float), 1e-3)
    a_floor = np.maximum(np.asarray(c.area_floor_m2, float), 1e-3)
    a_party = np.maximum(np.asarray(c.area_party_m2, float), 1e-3)
    a_win_tot = np.maximum(a_win.sum(axis=1), 1e-3)

    chains = []  # (g, cap, kind)
    for layers, area, kind in (
        (c.wall_layers, a_wall_tot, "wall"),
        (c.roof_layers, a_roof, "roof"),
        (c.floor_layers, a_floor, "floor"),
        (c.party_layers, a_party, "party"),
    ):
        g, cap = _chain(np.asarray(layers, float), area)
        chains.append((g, cap, kind, area))
    n = sum(cap.shape[1] for _, cap, _, _ in chains) + 3  # + window, air, star
    # building index last: every update below is one contiguous row
    K = np.zeros((n, n, nb_))
    C = np.zeros((n, nb_))
    B = np.zeros((n, len(INPUT_NAMES) + 1, nb_))

    def link(i, j, g):
        K[i, i] += g
        K[j, j] += g
        K[i, j] -= g
        K[j, i] -= g

    def to_input(i, col, g):
        K[i, i] += g
        B[i, col] += g

    h_e = f.h_ce_wall + f.h_re
    i_win, i_air, i_star = n - 3, n - 2, n - 1
    inner_nodes = []
    pos = 0
    for g, cap, kind, area in chains:
        nn = cap.shape[1]
        idx = np.arange(pos, pos + nn)
        C[idx] = cap.T
        for s in range(nn - 1):
            link(idx[s], idx[s + 1], g[:, s])
        outer, inner = idx[0], idx[-1]
        if kind == "wall":
            to_input(outer, 0, h_e * area)
            hci = f.h_ci_wall
        elif kind == "roof":
            to_input(outer, 1, h_e * area)
            hci = f.h_ci_roof
        elif kind == "floor":
            hg = np.where(np.asarray(c.floor_to_ground, bool), 1.0 / f.r_ground_m2k_w, f.h_floor_air)
            to_input(outer, 4, hg * area)
            hci = f.h_ci_floor
        else:
            hci = f.h_ci_wall
        link(inner, i_air, hci * area)
        link(inner, i_star, f.h_ri * area)
        inner_nodes.append((inner, kind, area))
        pos += nn
    # window: inner pane surface node
    r_si = 1.0 / (f.h_ci_window + f.h_ri)
    u_win = np.asarray(c.u_window_w_m2k, float)
    if np.any(1.0 / u_win <= r_si):
        raise InputError(f"window U-value above {1 / r_si:.1f} W/m2K is not physical here")
    to_input(i_win, 2, a_win_tot / (1.0 / u_win - r_si))
    link(i_win, i_air, f.h_ci_window * a_win_tot)
    link(i_win, i_star, f.h_ri * a_win_tot)
    C[i_win] = 13e3 * a_win_tot  # two 3 mm panes
    # air
    vol = np.asarray(c.volume_m3, float)
    rho_cp = rho_air_kg_m3 * f.air_cp_j_kgk
    C[i_air] = rho_cp * vol * f.furniture_factor
    to_input(i_air, 3, rho_cp * vol * np.asarray(c.infiltration_ach, float) / 3600.0)
    B[i_air, 7] = 1.0
    C[i_star] = 1.0
    # solar distribution
    absorbed = np.clip(np.asarray(c.window_absorbed_share, float), 0, 1)
    transmitted = (1.0 - absorbed) * (1.0 - f.solar_lost)
    # the absorbed part is already the share that flows inward (double_glazing): it enters the
    # room from the inner pane, convective to the air, radiant to the surfaces; put on the pane
    # node it would be split between inside and outside a second time
    conv = f.h_ci_window / (f.h_ci_window + f.h_ri)
    B[i_air, 5] += absorbed * conv
    B[i_star, 5] += absorbed * (1.0 - conv)
    opaque_inner = [(i, a) for i, kind, a in inner_nodes if kind != "floor"]
    a_op = sum(a for _, a in opaque_inner)
    for i, kind, area in inner_nodes:
        if kind == "floor":
            B[i, 5] += transmitted * f.solar_to_floor
        else:
            B[i, 5] += transmitted * (1 - f.solar_to_floor) * area / a_op
    # internal gains: convective to air, radiant to all inner surfaces by area
    rad = np.clip(np.asarray(c.radiant_share, float), 0, 1)
    a_in = sum(a for _, _, a in inner_nodes) + a_win_tot
    B[i_air, 6] += 1.0 - rad
    for i, _, area in inner_nodes:
        B[i, 6] += rad * area / a_in
    B[i_win, 6] += rad * a_win_tot / a_in
    # outputs: air and operative (0.5 air + 0.5 area-weighted inner surface temperature)
    W = np.zeros((2, n, nb_))
    W[0, i_air] = 1.0
    W[1, i_air] = 0.5
    for i, _, area in inner_nodes:
        W[1, i] += 0.5 * area / a_in
    W[1, i_win] += 0.5 * a_win_tot / a_in

    # ---- modal reduction (batched symmetric eigen-decomposition)
    lam_all, G, Cout = _modal_project(K, C, B, W, float(dt_s))
    slow = lam_all >= lam_min
    m = max(int(slow.sum(axis=1).max()), 1)
    # fast modes: quasi-steady z = g u / (1 - lam)
    fast_w = np.where(slow, 0.0, 1.0 / (1.0 - lam_all))
    D = np.einsum("boi,bi,bik->bok", Cout, fast_w, G)  # (nb, 2, n_in+1)
    keep = slow[:, :m]
    lam = np.where(keep, lam_all[:, :m], 0.0)
    Gm = np.where(keep[:, :, None], G[:, :m, :], 0.0)
    Cm = np.where(keep[:, None, :], Cout[:, :, :m], 0.0)
    # air response to phi_air within the step: slow modes' gains + fast feed-through
    dq = D[:, :, 7] + np.einsum("boi,bi->bo", Cm, Gm[:, :, 7])
    dfeed = D[:, :, :7]
    # per-building forcing coefficients
    coef = np.zeros((len(COEF_NAMES), nb_))
    sw = solar_weights(c, films=f)
    coef[0:4] = sw[1:5]
    coef[4] = f.f_sky_wall * f.h_re / h_e
    coef[5] = sw[0]
    coef[6] = f.f_sky_roof * f.h_re / h_e
    h_rw = f.h_re * f.eps_window / 0.9
    coef[7] = f.f_sky_wall * h_rw / (f.h_ce_window + h_rw)
    coef[8:12] = sw[5:9]
    coef[12] = np.asarray(c.internal_gain_w, float)
    coef[13] = rho_cp * np.asarray(c.vent_m3_h, float) / 3600.0
    return ModalModel(
        lam=np.ascontiguousarray(lam.T),
        gin=np.ascontiguousarray(Gm[:, :, :7].transpose(1, 2, 0)),
        gq=np.ascontiguousarray(Gm[:, :, 7].T),
        cout=np.ascontiguousarray(Cm.transpose(1, 2, 0)),
        dfeed=np.ascontiguousarray(dfeed.transpose(1, 2, 0)),
        dq=np.ascontiguousarray(dq.T),
        coef=np.ascontiguousarray(coef),
        n_nodes=n,
    )


def _modal_project(
    k: np.ndarray, c: np.ndarray, b: np.ndarray, w: np.ndarray, dt_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Modal form of a stack of symmetric RC networks ``C dT/dt = -K T + B u``.

    One batched ``numpy.linalg.eigh`` (LAPACK ``dsyevd``, one call per building inside
    numpy's C loop) of ``C^-1/2 K C^-1/2``; no JIT compilation, so a cold start does not wait
    for a kernel (measured in docs/testing.md).

    Parameters
    ----------
    k : (n, n, nb) float64
        Conductance matrices [W/K] (building index last), symmetric.
    c : (n, nb) float64
        Node heat capacities [J/K].
    b : (n, n_in, nb) float64
        Input matrices.
    w : (n_out, n, nb) float64
        Output rows (weights of the node temperatures).
    dt_s : float
        Time step [s].

    Returns
    -------
    lam : (nb, n) float64
        Hourly decay factor ``exp(-omega dt)`` of each mode, slowest first.
    g : (nb, n, n_in) float64
        Modal input gains for inputs held over the step, ``(1 - lam)/omega V^T C^-1/2 B``.
    cout : (nb, n_out, n) float64
        Output rows in modal coordinates, ``W C^-1/2 V``.
    """
    cm = 1.0 / np.sqrt(c.T)  # (nb, n)
    s = k.transpose(2, 0, 1) * cm[:, :, None] * cm[:, None, :]
    om, v = np.linalg.eigh(s)  # ascending: slowest mode first; columns are the vectors
    om = np.maximum(om, 1e-12)
    lam = np.exp(-om * dt_s)
    zoh = (1.0 - lam) / om
    vc = v * cm[:, :, None]  # C^-1/2 V, (nb, node, mode)
    g = np.matmul(vc.transpose(0, 2, 1), b.transpose(2, 0, 1)) * zoh[:, :, None]
    cout = np.matmul(w.transpose(2, 0, 1), vc)
    return lam, g, cout
