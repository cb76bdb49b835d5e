"""Implicit layered-slab conduction against closed forms (microclimate.conduction)."""

from __future__ import annotations

import numpy as np
import pytest

from citymodel.errors import InputError
from microclimate.conduction import Layers, discretise, simulate_conduction, step_conduction

#: Tolerances of the closed-form checks (one place).
STEADY_RTOL = 1e-6
AMPLITUDE_RTOL = 0.02
PHASE_ATOL_RAD = 0.1
ENERGY_RTOL = 1e-9


def test_steady_two_layer_wall_linear_profile_and_flux():
    # 0.05 m insulation (k 0.04) outside, 0.2 m brick (k 0.8, rho c 1.6e6) inside
    layers = Layers([[0.05, 0.2]], [[0.04, 0.8]], [[3e4, 1.6e6]])
    nodes = discretise(layers, max_node_m=0.01)
    t_out, t_in = -5.0, 20.0
    res = simulate_conduction(nodes, 10.0, 1e7, 200, h_outer_w_m2k=np.inf, t_outer_c=t_out,
                              h_inner_w_m2k=np.inf, t_inner_c=t_in, keep_nodes=True)
    q_exact = (t_out - t_in) / layers.resistance_m2k_w[0]  # into the slab at the outer face
    assert res.q_outer_w_m2[-1, 0] == pytest.approx(q_exact, rel=STEADY_RTOL)
    assert res.q_inner_w_m2[-1, 0] == pytest.approx(q_exact, rel=STEADY_RTOL)
    # linear per layer: T(z) = t_out - q z / k within each layer
    z = nodes.depth_m[0]
    k_layer = layers.conductivity_w_mk[0]
    interface_c = t_out - q_exact * 0.05 / 0.04
    expected = np.where(z < 0.05, t_out - q_exact * z / k_layer[0],
                        interface_c - q_exact * (z - 0.05) / k_layer[1])
    np.testing.assert_allclose(res.t_nodes_c[-1, 0], expected, rtol=STEADY_RTOL, atol=1e-9)
    assert res.t_surface_c[-1, 0] == pytest.approx(t_out)


@pytest.mark.parametrize(("max_node_m", "growth"), [(0.005, 1.0), (0.005, 1.08)])
def test_semi_infinite_periodic_surface_temperature(max_node_m, growth):
    k, rho_c = 1.0, 2.0e6  # moist soil
    alpha = k / rho_c
    period_s = 86400.0
    omega = 2 * np.pi / period_s
    d_m = np.sqrt(2 * alpha / omega)  # damping depth, ~0.117 m
    layers = Layers([[2.0]], [[k]], [[rho_c]])  # 17 damping depths: semi-infinite
    nodes = discretise(layers, max_node_m=max_node_m, growth=growth)
    dt_s = 120.0
    n_days = 6
    n_steps = int(n_days * period_s / dt_s)
    time_s = (np.arange(n_steps) + 1) * dt_s
    t0_c, amp_k = 15.0, 10.0
    t_surf = t0_c + amp_k * np.sin(omega * time_s)
    res = simulate_conduction(nodes, t0_c, dt_s, n_steps, h_outer_w_m2k=np.inf,
                              t_outer_c=t_surf[:, None], h_inner_w_m2k=np.inf,
                              t_inner_c=t0_c, keep_nodes=True)
    last = time_s > (n_days - 1) * period_s  # last day, after spin-up
    basis = np.column_stack([np.ones(last.sum()), np.sin(omega * time_s[last]),
                             np.cos(omega * time_s[last])])
    for depth in (0.1, 0.2):
        i = int(np.argmin(np.abs(nodes.depth_m[0] - depth)))
        z = nodes.depth_m[0, i]
        coef, *_ = np.linalg.lstsq(basis, res.t_nodes_c[last, 0, i], rcond=None)
        amp = np.hypot(coef[1], coef[2])
        lag = -np.arctan2(coef[2], coef[1])  # T = A sin(wt - lag)
        assert amp / amp_k == pytest.approx(np.exp(-z / d_m), rel=AMPLITUDE_RTOL)
        assert lag == pytest.approx(z / d_m, abs=PHASE_ATOL_RAD)


def test_energy_conservation_stored_heat_equals_boundary_fluxes():
    rng = np.random.default_rng(3)
    n = 5
    layers = Layers(rng.uniform(0.02, 0.3, (n, 3)), rng.uniform(0.1, 2.0, (n, 3)),
                    rng.uniform(0.5e6, 2.5e6, (n, 3)))
    nodes = discretise(layers, max_node_m=0.03)
    n_steps, dt_s = 500, 900.0
    t_init = rng.uniform(5, 25, (n, nodes.dx_m.shape[1]))
    res = simulate_conduction(
        nodes, t_init, dt_s, n_steps,
        q_outer_w_m2=rng.uniform(-100, 600, (n_steps, n)),
        h_outer_w_m2k=rng.uniform(5, 25, (n_steps, n)), t_outer_c=rng.uniform(0, 35, (n_steps, n)),
        h_inner_w_m2k=np.array([0.0, 7.7, np.inf, 2.0, 7.7]),
        t_inner_c=rng.uniform(15, 25, (n_steps, n)))
    stored = (nodes.cap_j_m2k * (res.t_final_c - t_init)).sum(axis=1)
    through = dt_s * (res.q_outer_w_m2 - res.q_inner_w_m2).sum(axis=0)
    scale = dt_s * np.abs(res.q_outer_w_m2).sum(axis=0)
    np.testing.assert_allclose(stored, through, rtol=0, atol=ENERGY_RTOL * scale.max())
    assert np.all(res.q_inner_w_m2[:, 0] == 0.0)  # adiabatic


def test_discretise_shares_node_count_and_rejects_bad_layers():
    layers = Layers([[0.1, 0.5], [0.05, 0.02]], [[1, 1], [1, 1]], [[1e6, 1e6], [1e6, 1e6]])
    nodes = discretise(layers, max_node_m=0.05)
    assert nodes.dx_m.shape == (2, 12)
    np.testing.assert_allclose(nodes.dx_m.sum(axis=1), [0.6, 0.07])
    with pytest.raises(InputError):
        Layers([[0.0, 0.1]], [[1, 1]], [[1e6, 1e6]])
    with pytest.raises(InputError):
        simulate_conduction(nodes, 10.0, 60.0, 3, t_outer_c=np.zeros((4, 2)))


def test_graded_mesh_keeps_thin_surface_cells_and_step_matches_run():
    layers = Layers([[0.05, 1.95]], [[0.75, 1.0]], [[1.94e6, 2.2e6]])
    graded = discretise(layers, max_node_m=0.01, growth=1.2)
    uniform = discretise(layers, max_node_m=0.01)
    assert graded.dx_m.shape[1] < uniform.dx_m.shape[1] / 5
    assert graded.dx_m[0, 0] <= 0.01
    np.testing.assert_allclose(graded.dx_m.sum(), 2.0)
    kw = dict(q_outer_w_m2=300.0, h_outer_w_m2k=15.0, t_outer_c=30.0, h_inner_w_m2k=np.inf,
              t_inner_c=15.0)
    run = simulate_conduction(graded, 15.0, 600.0, 2, **kw)
    t = np.full(graded.dx_m.shape, 15.0)
    for _ in range(2):
        t, t_surf, q_out, q_in = step_conduction(graded, t, 600.0, **kw)
    np.testing.assert_allclose(t, run.t_final_c, rtol=1e-13)
    np.testing.assert_allclose(t_surf, run.t_surface_c[-1], rtol=1e-13)
    np.testing.assert_allclose(q_out, run.q_outer_w_m2[-1], rtol=1e-13)
