"""Surface energy balance over conducting slabs (microclimate.surface_balance, .layers)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from citymodel.errors import InputError
from microclimate.conduction import Layers, discretise
from microclimate.layers import LAND_COVER, building_layers, land_cover_layers
from microclimate.surface_balance import (
    SIGMA_W_M2K4,
    convective_coefficient_w_m2k,
    surface_energy_balance,
)

#: Tolerances (one place).
CLOSURE_RTOL = 0.01
STEP_RESIDUAL_W_M2 = 1e-6
EQUILIBRIUM_ATOL_K = 1e-6
BRENTQ_ATOL_K = 1e-4
#: Sanity bound, not a reference: white (albedo 0.7) minus dark (0.2) roof at peak sun [K].
COOL_ROOF_MIN_K, COOL_ROOF_MAX_K = 10.0, 40.0


def _sunny_day(hours=24):
    """Synthetic clear summer day: hour means of global irradiance, air, wind, sky."""
    h = np.arange(hours) % 24 + 0.5
    ghi = np.clip(900.0 * np.sin(np.pi * (h - 6) / 14), 0, None)  # sun 6:00-20:00
    t_air = 26.0 + 6.0 * np.sin(np.pi * (h - 9) / 12)  # min ~5:00, max 15:00
    wind = np.full(hours, 2.0)
    ldown = 0.8 * SIGMA_W_M2K4 * (t_air + 273.15) ** 4  # clear-sky emissivity ~0.8
    return ghi, t_air, wind, ldown


def test_asphalt_day_closes_energy_balance():
    layers, props = land_cover_layers(["asphalt"])
    nodes = discretise(layers, max_node_m=0.01)
    ghi, t_air, wind, ldown = _sunny_day()
    k_abs = ((1 - props.albedo) * ghi[:, None])
    res = surface_energy_balance(nodes, k_abs, t_air, wind, ldown,
                                 emissivity=props.emissivity, sky_view=0.7,
                                 t_inner_c=20.0, h_inner_w_m2k=np.inf, spinup_days=2)
    dt_s = 3600.0
    fluxes_in = dt_s * (res.q_sw_w_m2 + res.q_lw_w_m2 + res.q_conv_w_m2
                        + res.q_latent_w_m2).sum(axis=0)
    stored = (nodes.cap_j_m2k * (res.t_nodes_end_c - res.t_nodes_start_c)).sum(axis=1)
    out = dt_s * res.q_inner_w_m2.sum(axis=0)
    scale = dt_s * res.q_sw_w_m2.sum(axis=0)  # the day's absorbed shortwave
    assert np.abs(fluxes_in - (stored + out)) / scale < CLOSURE_RTOL
    # hour by hour: the surface temperature is solved to convergence each step
    assert np.abs(res.residual_w_m2).max() < STEP_RESIDUAL_W_M2
    # plausible asphalt: well above air at noon, peak around 50-65 degC
    i = int(np.argmax(ghi))
    assert 45.0 < res.t_surface_c[i, 0] < 70.0
    assert res.t_surface_c[i, 0] - t_air[i] > 10.0


def test_no_sun_sky_at_air_temperature_relaxes_to_air():
    # svf = 1, L_down = sigma T_air^4: the only steady state is Ts = T_air, from any start
    layers = Layers([[0.02]], [[1.0]], [[2e6]])
    nodes = discretise(layers, max_node_m=0.005)
    n_hours = 24 * 5
    t_air = 12.0
    res = surface_energy_balance(
        nodes, np.zeros(n_hours), t_air, 1.0, SIGMA_W_M2K4 * (t_air + 273.15) ** 4,
        emissivity=0.9, sky_view=1.0, h_inner_w_m2k=0.0, t_init_c=35.0, spinup_days=0)
    assert res.t_surface_c[0, 0] < 35.0
    assert res.t_surface_c[-1, 0] == pytest.approx(t_air, abs=EQUILIBRIUM_ATOL_K)
    np.testing.assert_allclose(res.t_nodes_end_c, t_air, atol=EQUILIBRIUM_ATOL_K)


def test_white_roof_cooler_than_dark_roof_at_peak_sun():
    # a 1970s Italian roof as the energy model builds it (U 1.2 W/m2K, kappa 150 kJ/m2K)
    layers = building_layers([1.2, 1.2], [150.0, 150.0])
    nodes = discretise(layers, max_node_m=0.01)
    ghi, t_air, wind, ldown = _sunny_day()
    albedo = np.array([0.7, 0.2])
    res = surface_energy_balance(nodes, (1 - albedo) * ghi[:, None], t_air, wind, ldown,
                                 emissivity=0.9, sky_view=1.0, t_inner_c=26.0,
                                 h_inner_w_m2k=7.7, spinup_days=3)
    i = int(np.argmax(ghi))
    diff = res.t_surface_c[i, 1] - res.t_surface_c[i, 0]
    assert COOL_ROOF_MIN_K < diff < COOL_ROOF_MAX_K


def test_adiabatic_thin_slab_steady_state_matches_brentq():
    layers = Layers([[0.01, 0.01, 0.01]], [[1.0, 1.0, 1.0]], [[1e6, 1e6, 1e6]])
    nodes = discretise(layers, max_node_m=0.01)
    eps = np.array([0.95, 0.9, 0.95])
    svf = np.array([1.0, 0.6, 0.8])
    beta = np.array([0.0, 0.0, 0.6])
    k_abs = np.array([500.0, 300.0, 600.0])
    t_air, wind, ldown, t_sur, rh = 25.0, 1.5, 350.0, 30.0, 40.0
    nodes3 = discretise(Layers(np.repeat(layers.thickness_m, 3, axis=0),
                               np.repeat(layers.conductivity_w_mk, 3, axis=0),
                               np.repeat(layers.heat_capacity_j_m3k, 3, axis=0)), 0.01)
    n_hours = 72
    res = surface_energy_balance(
        nodes3, np.broadcast_to(k_abs, (n_hours, 3)), t_air, wind, ldown, emissivity=eps,
        sky_view=svf, t_surround_c=t_sur, emissivity_surround=0.9, evap_beta=beta,
        rh_percent=rh, h_inner_w_m2k=0.0, spinup_days=0)

    # independent flux balance: all terms written out here
    h_c = 5.7 + 3.8 * wind
    gamma = 1005.0 * 101325.0 / (0.622 * 2.45e6)

    def e_sat(t):
        return 610.94 * np.exp(17.625 * t / (t + 243.04))

    for s in range(3):
        def net(ts, s=s):
            l_in = eps[s] * (svf[s] * ldown + (1 - svf[s]) * 5.670374419e-8 * 0.9
                             * (t_sur + 273.15) ** 4)
            return (k_abs[s] + l_in - eps[s] * 5.670374419e-8 * (ts + 273.15) ** 4
                    + h_c * (t_air - ts) - beta[s] * h_c / gamma * (e_sat(ts) - rh / 100
                                                                    * e_sat(t_air)))
        root = brentq(net, -20.0, 120.0, xtol=1e-10)
        assert res.t_surface_c[-1, s] == pytest.approx(root, abs=BRENTQ_ATOL_K)
        assert abs(res.q_cond_w_m2[-1, s]) < 1e-3
    assert nodes.dx_m.shape == (1, 3)


def test_inputs_checked_and_correlation_documented():
    assert convective_coefficient_w_m2k(0.0) == pytest.approx(5.7)
    assert set(LAND_COVER) >= {"asphalt", "concrete", "bare_soil", "grass", "water"}
    layers, _ = land_cover_layers(["grass", "asphalt"])
    nodes = discretise(layers, max_node_m=0.1)
    with pytest.raises(InputError):
        land_cover_layers(["lava"])
    with pytest.raises(InputError):
        surface_energy_balance(nodes, np.zeros((5, 2)), np.zeros(4), 1.0, 300.0)
    with pytest.raises(InputError):
        surface_energy_balance(nodes, np.zeros((5, 2)), 20.0, 1.0, 300.0, sky_view=1.5)


def test_land_cover_stacks_two_metres_deep_and_aligned():
    classes = sorted(LAND_COVER)
    layers, props = land_cover_layers(classes)
    np.testing.assert_allclose(layers.thickness_m.sum(axis=1), 2.0)
    soil = classes.index("grass")
    np.testing.assert_allclose(layers.thickness_m[soil], layers.thickness_m[classes.index(
        "asphalt")])
    assert np.all((props.albedo > 0) & (props.albedo < 0.5))
    assert np.all((props.emissivity >= 0.9) & (props.emissivity <= 1))
