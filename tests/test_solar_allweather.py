"""Perez (1993) all-weather sky over the patches: normalisation, shapes, the published table."""

from __future__ import annotations

import numpy as np
import pytest

from citymodel.errors import InputError
from energy.sky import (
    allweather_coefficients,
    allweather_radiance,
    element_strengths,
    perez_sky,
    sky_patches,
)
from energy.sun import direction_vectors


def _sky(dni, dhi, zen, az=180.0, sub=1, k=None):
    dni, dhi, zen = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (dni, dhi, zen))
    az = np.broadcast_to(np.asarray(az, dtype=float), zen.shape)
    sky = perez_sky(dni, dhi, zen, np.full(zen.shape, 1361.0), sky_model="perez-allweather")
    p = sky_patches(sub)
    sun = direction_vectors(zen, az)
    return sky, p, sun, allweather_radiance(sky, p, sun, points_per_side=k)


@pytest.mark.parametrize("sub, k", [(1, 1), (1, 3), (2, None), (3, None)])
def test_horizontal_integral_is_dhi(sub, k):
    rng = np.random.default_rng(3)
    n = 500
    zen = rng.uniform(0, 100, n)  # some hours with the sun below the horizon (isotropic)
    dhi = rng.uniform(0, 400, n)
    dni = rng.uniform(0, 950, n) * (zen < 90)
    sky, p, _, rad = _sky(dni, dhi, zen, rng.uniform(0, 360, n), sub, k)
    assert rad.shape == (len(p), n)
    assert np.all(rad >= 0)
    horiz = (p.directions[:, 2] * p.solid_angle_sr) @ rad
    np.testing.assert_allclose(horiz, dhi, rtol=1e-10, atol=1e-9)


def test_clear_sky_shape():
    # epsilon ~ 8.8 (bin 8): circumsolar peak, horizon brightening, darkest ~ 90 deg from the sun
    sky, p, sun, rad = _sky(850.0, 80.0, 40.0)
    assert sky.epsilon[0] > 6.2
    L = rad[:, 0]
    gamma = np.degrees(np.arccos(np.clip(p.directions @ sun[0], -1, 1)))
    assert gamma[np.argmax(L)] < 8.0  # the brightest patch holds the sun
    assert 60.0 < gamma[np.argmin(L)] < 100.0
    alt = np.degrees(np.arcsin(p.directions[:, 2]))
    row0, zen_patch = L[alt < 12].mean(), L[-1]
    assert row0 > 2.0 * zen_patch  # clear skies brighten towards the horizon
    # the anti-sun horizon is brighter than the sky 90 deg from the sun higher up
    anti = (alt < 12) & (gamma > 120)
    ninety = (alt > 40) & (np.abs(gamma - 90) < 15)
    assert L[anti].mean() > 1.5 * L[ninety].mean()


def test_overcast_shape_matches_table():
    # epsilon = 1 (bin 1): brightest at the zenith, nearly symmetric in azimuth
    zen, dhi = 30.0, 100.0
    sky, p, _, rad = _sky(0.0, dhi, zen)
    assert sky.epsilon[0] == pytest.approx(1.0)
    L = rad[:, 0]
    alt = np.degrees(np.arcsin(p.directions[:, 2]))
    rows = [L[(alt >= a) & (alt < a + 12)].mean() for a in range(0, 84, 12)] + [L[-1]]
    assert np.all(np.diff(rows) > 0)  # monotonic towards the zenith
    row0 = L[alt < 12]
    assert row0.max() / row0.min() < 1.1
    # gradation by hand from Perez et al. (1993) Table 1, bin 1: a = 1.3525 - 0.2576 Z +
    # Delta (-0.2690 - 1.4366 Z), b = -0.7670 + 0.0007 Z + Delta (1.2734 - 0.1233 Z); the
    # zenith / horizon ratio is about 1 + a exp(b) (~1.6, flatter than CIE overcast's 3)
    z, d = np.radians(zen), sky.delta[0]
    a = 1.3525 - 0.2576 * z + d * (-0.2690 - 1.4366 * z)
    b = -0.7670 + 0.0007 * z + d * (1.2734 - 0.1233 * z)
    ratio = L[-1] / row0.mean()
    expect = (1 + a * np.exp(b)) / (1 + a * np.exp(b / np.cos(np.radians(90 - 6.0))))
    assert ratio == pytest.approx(expect, rel=0.05)
    assert 1.3 < ratio < 2.0


def test_coefficients_from_table():
    # bin 8 (epsilon >= 6.2), Z = 0.5 rad, Delta = 0.1, by hand from Perez et al. (1993) Table 1
    par = allweather_coefficients(np.array([7.0]), np.array([0.1]), np.degrees([0.5]))[:, 0]
    z, d = 0.5, 0.1
    a = -1.0500 + 0.0289 * z + d * (0.4260 + 0.3590 * z)
    e = 1.5000 - 0.6426 * z + d * (1.8564 + 0.5636 * z)
    assert par[0] == pytest.approx(a, rel=1e-12)
    assert par[4] == pytest.approx(e, rel=1e-12)
    # bin 2 raises Delta to 0.2; bin 1 uses the exponential forms of c and d
    p2 = allweather_coefficients(np.array([1.1]), np.array([0.05]), np.degrees([0.5]))[:, 0]
    assert p2[0] == pytest.approx(-1.2219 - 0.7730 * z + 0.2 * (1.4148 + 1.1016 * z), rel=1e-12)
    p1 = allweather_coefficients(np.array([1.0]), np.array([0.1]), np.degrees([0.5]))[:, 0]
    c = np.exp((d * (2.8000 + 0.6004 * z)) ** 1.2375) - 1.0
    dd = -np.exp(d * (1.8734 + 0.6297 * z)) + 0.9738 + d * 0.2809
    assert p1[2] == pytest.approx(c, rel=1e-12)
    assert p1[3] == pytest.approx(dd, rel=1e-12)


def test_allweather_sky_elements_and_errors():
    sky, p, sun, rad = _sky([600.0, 0.0], [120.0, 50.0], [50.0, 95.0])
    # no circumsolar or horizon parts: the beam is the DNI alone, the horizon band is 0
    np.testing.assert_allclose(sky.beam_normal_w_m2, [600.0, 0.0])
    r = element_strengths(sky, len(p), 36, patches=p, sun_dir=sun)
    np.testing.assert_allclose(r[: len(p)], rad)
    assert np.all(r[len(p) :] == 0)
    with pytest.raises(InputError, match="patches"):
        element_strengths(sky, len(p), 36)
    with pytest.raises(InputError, match="sky_model"):
        perez_sky(np.ones(1), np.ones(1), np.ones(1), np.ones(1), sky_model="cie")
