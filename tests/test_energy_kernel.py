"""The fast paths of the energy kernel against plain references.

The modal reduction against the matrix exponential, the parallel solar combination against a
numpy weighted sum, and the kernel's per-chunk shortcuts (a chunk with one schedule reads it
as scalars; per-building irradiance rows read in place through their source rows) against
runs that cannot take them.
"""

from __future__ import annotations

import numpy as np
import pytest

from energy.demand.archetypes import layers_from_u_kappa
from energy.demand.engine import Schedules, combine_solar, forcing_from_weather, run_thermal
from energy.demand.model import Constructions, _modal_project, solar_weights


def _constructions(n: int, seed: int, party_walls: bool = True) -> Constructions:
    """``n`` random archetype-like buildings (seeded); ``party_walls=False``: no adiabatic walls."""
    rng = np.random.default_rng(seed)
    foot = rng.uniform(60.0, 600.0, n)
    h = rng.integers(1, 7, n) * 3.0
    wall = np.column_stack([np.sqrt(foot) * h] * 4) * rng.uniform(0.4, 1.0, (n, 4))
    wwr = rng.uniform(0.1, 0.3, (n, 4))
    u = rng.choice([1.48, 0.76, 0.34], n)
    return Constructions(
        area_wall_m2=wall * (1 - wwr), area_window_m2=wall * wwr, area_roof_m2=foot, area_floor_m2=foot,
        area_party_m2=rng.uniform(0.0, 100.0, n) if party_walls else np.zeros(n), volume_m3=foot * h,
        wall_layers=layers_from_u_kappa(u, rng.uniform(80, 220, n), 0.17),
        roof_layers=layers_from_u_kappa(u * 1.2, rng.uniform(60, 120, n), 0.14),
        floor_layers=layers_from_u_kappa(u * 1.1, rng.uniform(90, 150, n), 0.2),
        party_layers=layers_from_u_kappa(np.full(n, 1.5), np.full(n, 150.0), 0.26)[:, 1:],
        u_window_w_m2k=rng.choice([4.9, 2.2, 1.4], n), g_window=rng.uniform(0.5, 0.85, n),
        window_absorbed_share=np.full(n, 0.05), alpha_wall=np.full(n, 0.6), alpha_roof=np.full(n, 0.7),
        infiltration_ach=rng.uniform(0.3, 0.8, n), vent_m3_h=foot * h * 2.0,
        internal_gain_w=foot * 8.0, radiant_share=np.full(n, 0.5), floor_to_ground=np.ones(n, bool),
    )


@pytest.fixture(scope="module")
def weather():
    from energy.weather import read_epw
    from tests.conftest import shared_path

    return read_epw(shared_path("weather", "725650TYCST.epw"))


def test_modal_projection_matches_matrix_exponential():
    """One zero-order-hold step and the steady state of the modal form against scipy's expm.

    Graded RC networks (conductances and capacities spanning 1e-7..1e4 /s, as in buildings):
    ``x(dt) = (I - expm(-A dt)) A^-1 C^-1 B u`` with ``A = C^-1 K`` from rest, and the steady
    gain ``W K^-1 B``, both computed without any eigen-decomposition.
    """
    from scipy.linalg import expm

    rng = np.random.default_rng(3)
    dt = 3600.0
    for n, nb_ in ((21, 3), (7, 2), (1, 1)):
        k = np.empty((n, n, nb_))
        c = rng.uniform(1e2, 1e7, (n, nb_)) * 10.0 ** rng.uniform(-2, 2, (n, nb_))
        for q in range(nb_):  # a chain with links to the outside (weighted Laplacian + diagonal)
            g = 10.0 ** rng.uniform(-1, 3, n)
            kq = np.diag(g)
            for i in range(n - 1):
                gl = 10.0 ** rng.uniform(0, 3)
                kq[i, i] += gl
                kq[i + 1, i + 1] += gl
                kq[i, i + 1] = kq[i + 1, i] = -gl
            k[:, :, q] = kq
        b = rng.uniform(0, 50, (n, 3, nb_))
        w = rng.uniform(0, 1, (2, n, nb_))
        lam, g_, cout = _modal_project(k, c, b, w, dt)
        assert np.all(np.diff(lam, axis=1) <= 0)  # slowest mode first
        for q in range(nb_):
            a = k[:, :, q] / c[:, q, None]
            step = (np.eye(n) - expm(-a * dt)) @ np.linalg.solve(a, b[:, :, q] / c[:, q, None])
            ref_step = w[:, :, q] @ step
            np.testing.assert_allclose(cout[q] @ g_[q], ref_step, rtol=1e-8, atol=1e-12 * np.abs(ref_step).max())
            ref_ss = w[:, :, q] @ np.linalg.solve(k[:, :, q], b[:, :, q])
            modal_ss = cout[q] @ (g_[q] / (1.0 - lam[q])[:, None])
            np.testing.assert_allclose(modal_ss, ref_ss, rtol=1e-8)


@pytest.mark.shared_data
def test_combine_solar_equals_weighted_sum(weather):
    from energy.demand.irradiance import orientation_irradiance

    n = 9
    c = _constructions(n, 1)
    c.shading_factor = np.random.default_rng(2).uniform(0.5, 1.0, (n, 5))
    oi = orientation_irradiance(*weather)
    sf = np.random.default_rng(4).uniform(0.3, 1.0, (n, 5, 1))
    irr = (oi.total_w_m2[None] * sf).astype(np.float32)
    irw = (oi.window_w_m2[None] * sf[:, 1:]).astype(np.float32)
    w = solar_weights(c)
    ref = np.stack([np.einsum("kb,bkh->bh", w[1:5], irr[:, 1:5].astype(float)),
                    w[0][:, None] * irr[:, 0], np.einsum("kb,bkh->bh", w[5:9], irw.astype(float))], axis=1)
    got = combine_solar(c, irr, irw)
    assert got.shape == (n, 3, irr.shape[2]) and got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=2e-6, atol=1e-4 * np.abs(ref).max())


@pytest.mark.shared_data
def test_mixed_schedule_chunks_equal_single_schedule_runs(weather):
    """Buildings of two schedules interleaved in one chunk give the results of separate runs."""
    n = 40
    c = _constructions(n, 7)
    forcing = forcing_from_weather(weather[0])
    a = Schedules.constant("a", 20.0, 26.0)
    b = Schedules.constant("b", 17.0, 24.0)
    b.gain_frac[0, :, :8] = 0.3
    b.vent_frac[0, :, :6] = 1.0  # night ventilation in schedule b only
    b.vent_when_cooler[0] = 1
    both = Schedules(["a", "b"], *(np.concatenate([getattr(a, k), getattr(b, k)]) for k in
                                   ("gain_frac", "t_heat_c", "t_cool_c", "vent_frac", "vent_when_cooler")))
    sid = np.arange(n) % 2
    irr = np.zeros((1, 5, len(forcing.t_out_c)), np.float32) + 100.0
    irw = np.zeros((1, 4, len(forcing.t_out_c)), np.float32) + 50.0
    mixed = run_thermal(c, forcing, both, sid, irr, irw, free_running_twin=True)
    for s, sch in ((0, a), (1, b)):
        pick = np.flatnonzero(sid == s)
        cs = Constructions(**{k: (None if v is None else np.asarray(v)[pick]) for k, v in c.__dict__.items()})
        alone = run_thermal(cs, forcing, sch, np.zeros(len(pick), np.int64), irr, irw, free_running_twin=True)
        # The same arithmetic per building whichever chunk it sits in: the results are
        # bit-identical today (measured); 1e-9 relative leaves room only for summation order.
        # Hour counts are integers and must match exactly.
        np.testing.assert_array_equal(mixed.overheating_h[pick], alone.overheating_h)
        for name in ("heating_wh", "cooling_wh", "peak_heating_w", "t_air_mean_c"):
            np.testing.assert_allclose(getattr(mixed, name)[pick], getattr(alone, name), rtol=1e-9, atol=0)
    assert mixed.heating_wh[sid == 0].mean() > mixed.heating_wh[sid == 1].mean()  # 20 C vs 17 C


@pytest.mark.shared_data
def test_source_rows_equal_repeated_rows(weather):
    """Buildings pointing at shared irradiance rows equal the same rows handed over per building."""
    from energy.demand.irradiance import orientation_irradiance

    n = 70
    c = _constructions(n, 11)
    oi = orientation_irradiance(*weather)
    rng = np.random.default_rng(12)
    sf = rng.uniform(0.3, 1.0, (3, 5, 1))
    irr = (oi.total_w_m2[None] * sf).astype(np.float32)
    irw = (oi.window_w_m2[None] * sf[:, 1:]).astype(np.float32)
    src = rng.integers(0, 3, n)
    forcing = forcing_from_weather(weather[0])
    sched = Schedules.constant("t", 20.0, 26.0)
    sid = np.zeros(n, np.int64)
    shared_rows = run_thermal(c, forcing, sched, sid, irr, irw, src, free_running_twin=False, block_size=32)
    own_rows = run_thermal(c, forcing, sched, sid, combine_solar(c, irr[src], irw[src]), None,
                           free_running_twin=False)
    for name in ("heating_wh", "cooling_wh", "peak_cooling_w"):
        # bit-identical today (measured); 1e-9 relative leaves room only for summation order
        np.testing.assert_allclose(getattr(shared_rows, name), getattr(own_rows, name), rtol=1e-9, atol=0)
    assert shared_rows.cooling_wh.min() > 0
