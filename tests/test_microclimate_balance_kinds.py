"""The raster ground balance by slab kind (``surface_temperatures_by_kind``) against the
general per-surface balance (``surface_energy_balance``): same equations, other kernel."""

from __future__ import annotations

import numpy as np
import pytest

from citymodel.errors import InputError
from microclimate.conduction import Nodes, discretise
from microclimate.layers import land_cover_layers
from microclimate.surface_balance import surface_energy_balance, surface_temperatures_by_kind

#: Both kernels solve the same linear systems and Newton equation; only the order of
#: floating-point operations differs [K].
SAME_RESULT_ATOL_K = 1e-9


def _case(n: int, hours: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    names = ["asphalt", "grass", "water", "concrete"]
    lay, props = land_cover_layers(names)
    kind = rng.integers(0, len(names), n)
    hr = np.arange(hours)
    day = np.clip(np.sin((hr % 24 - 6) / 12 * np.pi), 0, None)
    return dict(
        lay=lay, props=props, kind=kind,
        k_abs=700.0 * day[:, None] * rng.uniform(0.0, 1.0, n),
        t_air=26.0 + 6.0 * np.sin((hr % 24 - 9) / 24 * 2 * np.pi),
        wind=rng.uniform(0.5, 4.0, hours), rh=rng.uniform(30.0, 70.0, hours),
        ldown=rng.uniform(320.0, 400.0, (hours, n)), svf=rng.uniform(0.1, 1.0, n))


@pytest.mark.parametrize("n", [1, 7, 8, 53])  # a partial block, one full block, several
def test_equals_general_balance(n):
    c = _case(n, 30)
    kind, lay, props = c["kind"], c["lay"], c["props"]
    by_kind = discretise(lay, 0.02, growth=1.3)
    per_cell = Nodes(by_kind.dx_m[kind], by_kind.conductivity_w_mk[kind],
                     by_kind.heat_capacity_j_m3k[kind], by_kind.layer_index)
    kw = dict(emissivity=props.emissivity[kind], sky_view=c["svf"],
              evap_beta=props.evap_beta[kind], t_inner_c=21.0, substeps=2, spinup_days=1,
              t_init_c=24.0)
    ref = surface_energy_balance(per_cell, c["k_abs"],
                                 c["t_air"][:, None], c["wind"][:, None], c["ldown"],
                                 rh_percent=c["rh"][:, None], **kw)
    ts, t_end = surface_temperatures_by_kind(by_kind, kind,
                                             c["k_abs"], c["t_air"], c["wind"], c["ldown"],
                                             rh_percent=c["rh"], **kw)
    np.testing.assert_allclose(ts, ref.t_surface_c, rtol=0, atol=SAME_RESULT_ATOL_K)
    np.testing.assert_allclose(t_end, ref.t_nodes_end_c, rtol=0, atol=SAME_RESULT_ATOL_K)
    # a continued run from the end state equals one longer run
    ts2, _ = surface_temperatures_by_kind(by_kind, kind,
                                          c["k_abs"][:5], c["t_air"][:5], c["wind"][:5],
                                          c["ldown"][:5], rh_percent=c["rh"][:5],
                                          **dict(kw, t_init_c=t_end, spinup_days=0))
    assert np.all(np.isfinite(ts2))


def test_bad_kind_is_refused():
    c = _case(4, 3)
    with pytest.raises(InputError, match="kind must lie"):
        surface_temperatures_by_kind(discretise(c["lay"], 0.02), np.array([0, 1, 2, 9]),
                                     c["k_abs"], c["t_air"], c["wind"], c["ldown"],
                                     emissivity=0.9, sky_view=1.0, evap_beta=0.0,
                                     rh_percent=c["rh"], t_inner_c=20.0)


def test_spinup_with_its_own_substeps():
    """The spin-up days may step differently from the period: the same as running them first
    on their own, and after a few days of spin-up the period hardly depends on their steps."""
    c = _case(53, 24, seed=5)
    kind, lay, props = c["kind"], c["lay"], c["props"]
    nodes = discretise(lay, 0.02, growth=1.3)
    day = (c["k_abs"], c["t_air"], c["wind"], c["ldown"])
    kw = dict(emissivity=props.emissivity[kind], sky_view=c["svf"],
              evap_beta=props.evap_beta[kind], rh_percent=c["rh"], t_inner_c=21.0)
    ts, t_end = surface_temperatures_by_kind(nodes, kind, *day, substeps=2, spinup_days=1,
                                             spinup_substeps=1, t_init_c=24.0, **kw)
    _, spun = surface_temperatures_by_kind(nodes, kind, *day, substeps=1, spinup_days=0,
                                           t_init_c=24.0, **kw)
    ts_ref, end_ref = surface_temperatures_by_kind(nodes, kind, *day, substeps=2,
                                                   spinup_days=0, t_init_c=spun, **kw)
    np.testing.assert_allclose(ts, ts_ref, rtol=0, atol=SAME_RESULT_ATOL_K)
    np.testing.assert_allclose(t_end, end_ref, rtol=0, atol=SAME_RESULT_ATOL_K)
    # four spin-up days of one-hour steps against four of 15-minute steps
    runs = {sub: surface_temperatures_by_kind(nodes, kind, *day, substeps=2, spinup_days=4,
                                              spinup_substeps=sub, t_init_c=24.0, **kw)[0]
            for sub in (1, 4)}
    no_spin = surface_temperatures_by_kind(nodes, kind, *day, substeps=2, spinup_days=0,
                                           t_init_c=24.0, **kw)[0]
    d_steps = np.abs(runs[1] - runs[4]).max(axis=1)  # per hour of the period
    d_spin = np.abs(runs[4] - no_spin).max()
    # the end state differs near the face (0.2 K in the first hour here), then fades
    assert d_steps[0] < 0.1 * d_spin
    assert d_steps[12:].max() < 0.01
    with pytest.raises(InputError, match="spinup_substeps"):
        surface_temperatures_by_kind(nodes, kind, *day, spinup_substeps=0, **kw)
