"""Who is exposed: person-hours of strong heat stress per zone and their concentration.

Per zone: the mean, over its street-level ground cells, of the hours of strong heat stress
(UTCI > 32 degC, :data:`microclimate.grid.STRONG_HEAT_UTCI_C`; the grid engine's
``strong_heat_hours`` raster), times the zone's population (``population_field``): the
person-hours a resident population would spend in strong heat stress if it stayed outdoors in
its own zone (an exposure index, not a count of people outdoors). The concentration index of
that exposure across the fragility ranking (:func:`citymodel.civic.concentration_index`,
population-weighted) says whether the fragile zones carry more of it (positive) or less.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citymodel.civic.equity import concentration_index
from citymodel.civic.zones import Zones
from citymodel.errors import InputError

__all__ = ["check_zone_fields", "zone_index_raster", "zone_means", "zone_exposure",
           "exposure_concentration"]


def check_zone_fields(zones: Zones, *, fragility: str | None = None,
                      population: str | None = None) -> None:
    """Raise when ``zones`` lacks a named field (naming the fields it has)."""
    have = [str(c) for c in zones.attributes.columns]
    for opt, name in (("--fragility", fragility), ("--population-field", population)):
        if name is not None and name not in have:
            raise InputError(f"{zones.source or 'zones'}: {opt} {name!r} is not a field of the "
                             f"zone layer; its fields are {', '.join(have) or '(none)'}")
        if name is not None and not pd.api.types.is_numeric_dtype(zones.attributes[name]):
            raise InputError(f"{zones.source or 'zones'}: field {name!r} ({opt}) is not numeric")


def zone_index_raster(zones: Zones, transform, shape: tuple[int, int]) -> np.ndarray:
    """(ny, nx) int64: the zone holding each cell centre, -1 outside every zone.

    Where zones overlap, the first one listed wins.
    """
    from rasterio import features

    if len(zones) == 0:
        return np.full(shape, -1, dtype=np.int64)
    # burn in reverse order so that the first zone wins an overlap
    shapes = [(g, k + 1) for k, g in reversed(list(enumerate(zones.geometry)))]
    burnt = features.rasterize(shapes, out_shape=shape, transform=transform, fill=0,
                               dtype="int32")
    return burnt.astype(np.int64) - 1


def zone_means(raster: np.ndarray, zone_idx: np.ndarray, n_zones: int, *,
               how: str = "mean") -> np.ndarray:
    """(z,) mean (or max) of the finite cells of ``raster`` per zone; NaN for an empty zone."""
    v = np.asarray(raster, dtype=np.float64).ravel()
    zi = zone_idx.ravel()
    ok = (zi >= 0) & np.isfinite(v)
    if how == "mean":
        s = np.bincount(zi[ok], weights=v[ok], minlength=n_zones)
        n = np.bincount(zi[ok], minlength=n_zones)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, s / np.maximum(n, 1), np.nan)
    if how == "max":
        out = np.full(n_zones, -np.inf)
        np.maximum.at(out, zi[ok], v[ok])
        return np.where(np.isfinite(out), out, np.nan)
    raise InputError(f"zone_means: how must be 'mean' or 'max', got {how!r}")


def zone_exposure(strong_heat_hours: np.ndarray, zone_idx: np.ndarray, zones: Zones, *,
                  population: str | None = None, fragility: str | None = None
                  ) -> pd.DataFrame:
    """Per zone: ``zone_id``, ``strong_heat_hours`` (ground-cell mean [h]), and with the fields
    ``population``, ``person_hours_strong_heat`` [person h], and ``fragility``."""
    check_zone_fields(zones, fragility=fragility, population=population)
    z = len(zones)
    hours = zone_means(strong_heat_hours, zone_idx, z)
    df = pd.DataFrame({"zone_id": zones.ids, "strong_heat_hours": hours})
    if population is not None:
        pop = zones.attributes[population].to_numpy(float)
        df["population"] = pop
        df["person_hours_strong_heat"] = pop * hours
    if fragility is not None:
        df["fragility"] = zones.attributes[fragility].to_numpy(float)
    return df


def exposure_concentration(frame: pd.DataFrame) -> float:
    """Concentration index of exposure across fragility (NaN without a fragility column).

    The indicator is ``strong_heat_hours`` weighted by ``population`` when present (so it is
    the person-hours' concentration), else unweighted.
    """
    if "fragility" not in frame:
        return float("nan")
    w = frame["population"].to_numpy(float) if "population" in frame else None
    return float(concentration_index(frame["strong_heat_hours"].to_numpy(float),
                                     frame["fragility"].to_numpy(float), w))
