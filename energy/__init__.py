"""Solar irradiance on every roof and wall, PV potential, and hourly building energy."""

import citymodel  # noqa: F401  (first: it points numba's cache at a user folder in a read-only install)
