"""Analytic shading of windows by overhangs and side fins (ASHRAE 140 Cases 610/630 style).

Beam: the overhang's shadow depth on the window follows the profile angle
(``tan(profile) = tan(elevation) / cos(gamma)``, gamma the sun azimuth relative to the wall
normal), a fin's shadow width follows ``depth x |tan(gamma)|``; the sunlit fraction is the
product of the vertical and horizontal sunlit fractions (exact when the overhang spans the
window and the fins its height). Diffuse: view factors by Hottel's crossed strings in the
vertical section (overhang) and in plan (fins).
"""

from __future__ import annotations

import numpy as np

__all__ = ["window_shading"]


def window_shading(
    sun_azimuth_deg: np.ndarray,
    sun_elevation_deg: np.ndarray,
    window_azimuth_deg: np.ndarray,
    window_width_m: np.ndarray,
    window_height_m: np.ndarray,
    overhang_depth_m: np.ndarray,
    overhang_gap_m: np.ndarray,
    overhang_extension_m: np.ndarray,
    fin_depth_m: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sunlit fraction of the beam and shading factors of sky and ground diffuse.

    Parameters
    ----------
    sun_azimuth_deg, sun_elevation_deg : (nh,) float64
        Sun position [deg].
    window_azimuth_deg, window_width_m, window_height_m : (nw,) float64
        Window orientation and size [deg, m].
    overhang_depth_m, overhang_gap_m : (nw,) float64
        Overhang projection and its height above the window top [m] (depth 0: none).
    overhang_extension_m : (nw,) float64
        How far the overhang extends beyond each side of the window [m] (``inf``: a
        continuous overhang).
    fin_depth_m : (nw,) float64
        Projection of the fins on both sides of the window [m] (0: none).

    Returns
    -------
    beam_sunlit : (nw, nh) float64
        Sunlit fraction of the window for the beam, 0..1.
    sky_factor, ground_factor : (nw,) float64
        Fractions of the unshaded sky and ground diffuse that reach the window.
    """
    az = np.asarray(sun_azimuth_deg, float)[None, :]
    el = np.radians(np.clip(np.asarray(sun_elevation_deg, float), 0.0, 89.9))[None, :]
    waz = np.asarray(window_azimuth_deg, float)[:, None]
    w = np.asarray(window_width_m, float)[:, None]
    h = np.asarray(window_height_m, float)[:, None]
    po = np.asarray(overhang_depth_m, float)[:, None]
    g = np.asarray(overhang_gap_m, float)[:, None]
    ext = np.asarray(overhang_extension_m, float)[:, None]
    pf = np.asarray(fin_depth_m, float)[:, None]
    gamma = np.radians((az - waz + 180.0) % 360.0 - 180.0)
    facing = np.cos(gamma) > 1e-6
    cosg = np.where(facing, np.cos(gamma), 1.0)
    tan_prof = np.tan(el) / cosg
    tan_g = np.abs(np.tan(np.where(facing, gamma, 0.0)))
    shadow_v = np.clip(po * tan_prof - g, 0.0, h)
    # lateral shift of a finite overhang's shadow
    cover_w = np.clip(w + 2 * np.where(np.isfinite(ext), ext, 1e6) - po * tan_g, 0.0, w)
    shaded_o = shadow_v * cover_w / (w * h)
    shadow_f = np.clip(pf * tan_g, 0.0, w) / w
    sunlit = np.where(facing, (1.0 - shaded_o) * (1.0 - shadow_f), 0.0)
    # diffuse: crossed strings
    hh, gg, pp = h[:, 0], g[:, 0], po[:, 0]
    ad = np.hypot(pp, hh + gg)  # window bottom -> overhang tip
    bc = gg  # window top -> overhang root
    ac = hh + gg
    bd = np.hypot(pp, gg)
    f_ov = np.where(pp > 0, (ac + bd - bc - ad) / (2 * hh), 0.0)
    ww, ff = w[:, 0], pf[:, 0]
    f_fin = np.where(ff > 0, (ww + ff - np.hypot(ww, ff)) / (2 * ww), 0.0)
    sky = np.clip(1.0 - 2.0 * f_ov, 0.0, 1.0) * (1.0 - 2.0 * f_fin)
    ground = 1.0 - 2.0 * f_fin
    return sunlit, sky, ground
