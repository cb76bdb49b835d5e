"""Per-building attributes with fixed names (see docs/glossary.md, section lidar).

Heights are absolute, in the point cloud's vertical datum [m]. RMSE values are the vertical
root-mean-square distance of the building's roof points to each model's roof [m].
"""

from __future__ import annotations

import numpy as np

__all__ = ["ATTRIBUTE_NAMES", "GROUND_PERCENTILE", "height_attributes", "roof_type", "rmse_m"]

#: Attribute names every reconstructed building carries.
ATTRIBUTE_NAMES = (
    "h_ground_m",
    "h_roof_min_m",
    "h_roof_50p_m",
    "h_roof_70p_m",
    "h_roof_max_m",
    "roof_type",
    "rmse_lod12_m",
    "rmse_lod13_m",
    "rmse_lod22_m",
    "point_density_pts_m2",
    "status",
    "status_reason",
)

#: Percentile of the ground points around a footprint taken as its ground height.
GROUND_PERCENTILE = 10.0


def height_attributes(roof_z: np.ndarray, ground_z: np.ndarray, footprint_area_m2: float) -> dict[str, float]:
    """Ground and roof height statistics of one building.

    Parameters
    ----------
    roof_z : (n,) float64
        Heights of the roof points inside the footprint [m].
    ground_z : (g,) float64
        Heights of the ground points in and around the footprint [m].
    footprint_area_m2 : float
        Footprint area [m2].

    Returns
    -------
    dict
        ``h_ground_m``, ``h_roof_min_m``, ``h_roof_50p_m``, ``h_roof_70p_m``, ``h_roof_max_m``,
        ``point_density_pts_m2`` (NaN where there are no points).
    """
    out: dict[str, float] = {}
    out["h_ground_m"] = float(np.percentile(ground_z, GROUND_PERCENTILE)) if len(ground_z) else float("nan")
    if len(roof_z):
        p = np.percentile(roof_z, [0, 50, 70, 100])
        out.update(h_roof_min_m=float(p[0]), h_roof_50p_m=float(p[1]), h_roof_70p_m=float(p[2]),
                   h_roof_max_m=float(p[3]))
    else:
        out.update(h_roof_min_m=float("nan"), h_roof_50p_m=float("nan"), h_roof_70p_m=float("nan"),
                   h_roof_max_m=float("nan"))
    out["point_density_pts_m2"] = float(len(roof_z) / footprint_area_m2) if footprint_area_m2 > 0 else float("nan")
    return out


def roof_type(tilt_deg: np.ndarray, height_m: np.ndarray, area_m2: np.ndarray, flat_tilt_deg: float = 4.0,
              step_m: float = 0.5, min_share: float = 0.1) -> str:
    """``"flat"``, ``"multiple horizontal"`` or ``"slanted"`` from the LoD2.2 roof faces.

    Parameters
    ----------
    tilt_deg, height_m, area_m2 : (f,) float64
        Tilt [deg], mean height [m] and area [m2] of each roof face.
    flat_tilt_deg : float
        Faces tilted less than this are horizontal [deg].
    step_m : float
        Horizontal faces whose heights differ by more than this are distinct levels [m].
    min_share : float
        Slanted faces must cover at least this share of the roof for ``"slanted"``.
    """
    if len(tilt_deg) == 0:
        return "flat"
    total = float(np.sum(area_m2)) or 1.0
    slanted = tilt_deg >= flat_tilt_deg
    if np.sum(area_m2[slanted]) / total >= min_share:
        return "slanted"
    h = np.sort(height_m[~slanted])
    if len(h) > 1 and np.any(np.diff(h) > step_m):
        return "multiple horizontal"
    return "flat"


def rmse_m(z_points: np.ndarray, z_model: np.ndarray) -> float:
    """Root-mean-square of ``z_points - z_model`` [m] (NaN entries are ignored); with distances
    and ``z_model = 0``, the RMS distance."""
    d = np.asarray(z_points) - np.asarray(z_model)
    d = d[np.isfinite(d)]
    return float(np.sqrt(np.mean(d**2))) if len(d) else float("nan")
