"""The one exception tree of the toolkit.

Every error raised on purpose by citymodel and by the packages built on it (reconstruction,
solar and energy, microclimate, the viewer) derives from :class:`CityModelError`. Subclasses
also inherit the matching built-in exception, so a caller may catch either
(``except ValueError`` still works), the way rasterio does it.

A message names the file, the object or tile, what is wrong and what to do.
"""

from __future__ import annotations

__all__ = [
    "CityModelError",
    "InputError",
    "CityJSONError",
    "CRSError",
    "WeatherError",
    "PointCloudError",
    "FootprintError",
    "ReconstructionError",
    "OutputExistsError",
    "MissingDependencyError",
    "DisplayError",
    "CityModelWarning",
    "ReconstructionWarning",
]


class CityModelError(Exception):
    """Root of every error raised on purpose by the toolkit."""


class InputError(CityModelError, ValueError):
    """Input data (a file, an argument, an attribute) is unusable as given."""


class CityJSONError(InputError):
    """A CityJSON / CityJSONSeq file cannot be read or does not follow the specification."""


class CRSError(InputError):
    """A coordinate reference system is missing, unknown or inconsistent."""


class WeatherError(InputError):
    """A weather file (EPW, TMY) is malformed, incomplete, or does not fit the site."""


class PointCloudError(InputError):
    """A LAS/LAZ file is corrupt, truncated, empty or lacks what the step needs."""


class FootprintError(InputError):
    """A footprint layer or footprint cannot be used (CRS, geometry, id field)."""


class ReconstructionError(CityModelError, RuntimeError):
    """A reconstruction step failed for a building or tile."""


class OutputExistsError(CityModelError, FileExistsError):
    """An output exists and ``overwrite`` was not requested."""


class MissingDependencyError(CityModelError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""


class DisplayError(CityModelError, RuntimeError):
    """No display is available for an interactive window."""


class CityModelWarning(UserWarning):
    """Root of the toolkit's warnings."""


class ReconstructionWarning(CityModelWarning):
    """A building was reconstructed at a lower LoD or with a fallback."""
