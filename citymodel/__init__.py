"""citymodel: the geometric and physical layer of a city's digital twin.

The city model in memory (:class:`CityModel`), CityJSON I/O, geometry, the surface table,
validation, civic layers, the synthetic district generator and the CLI.
"""

from citymodel.errors import CityModelError
from citymodel.io import read, write
from citymodel.model import CityModel

__version__ = "0.1.0"

__all__ = ["CityModel", "CityModelError", "read", "write", "__version__"]
