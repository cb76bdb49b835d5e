"""citymodel: the geometric and physical layer of a city's digital twin.

The city model in memory (:class:`CityModel`), CityJSON I/O, geometry, the surface table,
validation, civic layers, the synthetic district generator and the CLI.
"""

from citymodel import jitcache

jitcache.configure()  # before any kernel module imports numba: a read-only install caches per user

from citymodel.errors import CityModelError  # noqa: E402
from citymodel.io import read, write  # noqa: E402
from citymodel.model import CityModel  # noqa: E402

__version__ = "0.1.0"

__all__ = ["CityModel", "CityModelError", "read", "write", "__version__"]
