"""Sky patches and the Perez sky elements against closed forms and pvlib."""

from __future__ import annotations

import numpy as np
import pytest

from energy.sky import horizon_rays, patch_rays, perez_sky, sky_patches


@pytest.mark.parametrize("mf, n", [(1, 145), (2, 577), (3, 1297), (4, 2305)])
def test_patch_counts_and_solid_angles(mf, n):
    p = sky_patches(mf)
    assert len(p) == n  # Radiance reinhart.cal counts (Tregenza for MF:1)
    assert p.solid_angle_sr.sum() == pytest.approx(2 * np.pi, rel=1e-12)
    np.testing.assert_allclose(np.linalg.norm(p.directions, axis=1), 1.0)


@pytest.mark.parametrize("tilt", [0.0, 30.0, 90.0])
def test_cosine_integral_over_patches(tilt):
    d, _, om = patch_rays(sky_patches(1), 2)
    t = np.radians(tilt)
    n = np.array([0.0, -np.sin(t), np.cos(t)])
    got = (np.clip(d @ n, 0, None) * om).sum()
    assert got == pytest.approx(np.pi * (1 + np.cos(t)) / 2, rel=0.01)  # view factor to the sky
    ray, cosd, w = horizon_rays(36)
    assert (np.clip(cosd @ n, 0, None) * w).sum() == pytest.approx(
        2 * np.sin(t), rel=0.01, abs=1e-12
    )


def test_perez_elements_reproduce_pvlib_components():
    import pvlib

    rng = np.random.default_rng(1)
    zen = rng.uniform(5, 84, 200)
    dni = rng.uniform(0, 900, 200)
    dhi = rng.uniform(20, 300, 200)
    extra = np.full(200, 1361.0)
    sky = perez_sky(dni, dhi, zen, extra)
    am = pvlib.atmosphere.get_relative_airmass(zen)
    comp = pvlib.irradiance.perez(90, 180, dhi, dni, extra, zen, 180.0, am, return_components=True)
    # vertical plane: isotropic = dhi (1 - F1) / 2 = pi * L_iso / 2, horizon = dhi F2 = 2 x strength
    np.testing.assert_allclose(
        np.pi * sky.iso_radiance_w_m2_sr / 2, comp["poa_isotropic"], rtol=1e-9, atol=1e-9
    )
    np.testing.assert_allclose(2 * sky.horizon_w_m2_rad, comp["poa_horizon"], rtol=1e-9, atol=1e-9)
    # circumsolar on a plane facing the sun = dhi F1 / max(cos 85, cos z) = beam - dni
    cs = pvlib.irradiance.perez(zen, 180.0, dhi, dni, extra, zen, 180.0, am, return_components=True)
    np.testing.assert_allclose(
        sky.beam_normal_w_m2 - dni, cs["poa_circumsolar"], rtol=1e-9, atol=1e-9
    )
